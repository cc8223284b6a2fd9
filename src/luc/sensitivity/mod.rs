//! Per-layer compression sensitivity (Edge-LLM, PAPER.md "LUC"): for each decoder layer
//! `j`, compress only that layer and measure the mean squared error of its output hidden
//! state against the dense model's, per calibration sample.
//!
//! - Inputs of layer `j` are the dense model's hidden states after layer `j-1`, so layers
//!   below are uncompressed and the error is the layer's own.
//! - Quantisation: the seven linears fake-quantised at `b` bits, symmetric round-to-nearest
//!   with one scale per output channel (the reference quantiser). Only weights: the
//!   activation and KV bit-widths of a policy are not applied here.
//! - Pruning: the seven linears pruned to sparsity `p` (unstructured) by the chosen method
//!   (SparseGPT by default, as the reference). Calibration inputs of each linear are the
//!   dense model's inputs to that linear, captured in the forward, over all samples.
//! - MSE of a sample = mean over its `tokens x hidden` output elements of the squared
//!   difference (f64 accumulation).
//!
//! The layers are processed bottom-up streaming the dense hidden states, so memory holds
//! one layer's calibration activations at a time. All samples go through a layer as one
//! stacked batch (one GEMM per linear); the four distinct linear inputs of a layer give
//! four Hessians `X^T X`, computed once and shared by every sparsity level; the
mod calib;
mod csv;
#[cfg(test)]
mod tests;

pub use calib::{LayerCalibration, mse, segment_mse};
pub use csv::py_float;

use crate::error::{Error, Result};
use crate::llm::checkpoint::{Checkpoint, LayerWeights, Linear};
use crate::llm::forward::{calibration_batch, decoder_layer_batch};
use crate::luc::prune::{PruneMethod, SparsityPattern};
use crate::luc::quant::{Granularity, fake_quant};
use rayon::prelude::*;

/// The sparsity levels of the reference code (PAPER.md): {.05, .1, .2, .3, .5, .7, .9}.
pub const PAPER_SPARSITIES: [f64; 7] = [0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9];

/// What to measure.
#[derive(Debug, Clone)]
pub struct SensitivityOptions {
    /// Weight bit-widths to measure quantisation at (each in 2..=8).
    pub bits: Vec<u32>,
    /// Sparsities to measure pruning at (each in [0, 1)).
    pub sparsities: Vec<f64>,
    /// Pruning method.
    pub method: PruneMethod,
}

impl Default for SensitivityOptions {
    fn default() -> Self {
        SensitivityOptions {
            bits: vec![4],
            sparsities: PAPER_SPARSITIES.to_vec(),
            method: PruneMethod::SparseGpt,
        }
    }
}

/// One pruning measurement (a row of `pruning_mse.csv`).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct PruneMse {
    /// Decoder layer.
    pub layer: usize,
    /// Target sparsity of the layer's seven linears.
    pub sparsity: f64,
    /// Calibration sample index.
    pub sample: usize,
    /// Mean squared error of the layer output.
    pub mse: f64,
}

/// One quantisation measurement (a row of `quant_mse.csv`).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct QuantMse {
    /// Decoder layer.
    pub layer: usize,
    /// Weight bits of the layer's seven linears.
    pub bits: u32,
    /// Calibration sample index.
    pub sample: usize,
    /// Mean squared error of the layer output.
    pub mse: f64,
}

/// All measurements, ordered by layer, then level (as given), then sample.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Sensitivity {
    /// Pruning rows.
    pub pruning: Vec<PruneMse>,
    /// Quantisation rows.
    pub quant: Vec<QuantMse>,
}

impl SensitivityOptions {
    /// Checks the levels; `flag` names the source in errors.
    pub fn validate(&self) -> Result<()> {
        for &b in &self.bits {
            if !(crate::luc::quant::MIN_BITS..=crate::luc::quant::MAX_BITS).contains(&b) {
                return Err(Error::input(
                    "--bits",
                    b.to_string(),
                    format!(
                        "bit-width must be in {}..={}",
                        crate::luc::quant::MIN_BITS,
                        crate::luc::quant::MAX_BITS
                    ),
                ));
            }
        }
        for &p in &self.sparsities {
            if !(0.0..1.0).contains(&p) {
                return Err(Error::input(
                    "--sparsities",
                    p.to_string(),
                    "sparsity must be in [0, 1)",
                ));
            }
        }
        if self.bits.is_empty() && self.sparsities.is_empty() {
            return Err(Error::input(
                "--bits/--sparsities",
                "",
                "nothing to measure",
            ));
        }
        Ok(())
    }
}

/// A compression of one layer's seven linears.
#[derive(Debug, Clone, Copy)]
enum Variant {
    Quant(u32),
    Prune(f64),
}

/// Applies `variant` to the seven linears of `w`.
fn compress_layer(
    w: &LayerWeights,
    variant: Variant,
    calib: Option<&LayerCalibration>,
    method: PruneMethod,
) -> Result<LayerWeights> {
    let mut out = w.clone();
    for l in Linear::ALL {
        let dense = w.linear(l).view();
        *out.linear_mut(l) = match (variant, calib) {
            (Variant::Quant(b), _) => fake_quant(dense, b, Granularity::PerChannel)?,
            (Variant::Prune(p), Some(c)) => c.prune(l, dense, method, p)?,
            (Variant::Prune(p), None) => {
                crate::luc::prune::prune(dense, None, method, p, SparsityPattern::Unstructured)?
                    .weights
            }
        };
    }
    Ok(out)
}

/// Measures the sensitivity of every decoder layer of `ckpt` on `samples` (token ids).
/// `on_layer(j)` is called after layer `j` is done (progress reporting).
pub fn measure(
    ckpt: &Checkpoint,
    samples: &[Vec<u32>],
    opts: &SensitivityOptions,
    on_layer: &(dyn Fn(usize) + Sync),
) -> Result<Sensitivity> {
    opts.validate()?;
    let cfg = &ckpt.config;
    let (mut x, lens, rope) = calibration_batch(ckpt, samples)?;
    let variants: Vec<Variant> = opts
        .bits
        .iter()
        .map(|&b| Variant::Quant(b))
        .chain(opts.sparsities.iter().map(|&p| Variant::Prune(p)))
        .collect();
    let needs_calib = opts.method.needs_calibration() && !opts.sparsities.is_empty();
    let mut result = Sensitivity::default();
    for (j, lw) in ckpt.weights.layers.iter().enumerate() {
        let (y, captured) = decoder_layer_batch(cfg, lw, &rope, x.view(), &lens, needs_calib);
        let calib = match captured {
            Some(inputs) => Some(LayerCalibration::new(&inputs)?),
            None => None,
        };
        let per_variant: Vec<Vec<f64>> = variants
            .par_iter()
            .map(|&v| {
                let cw = compress_layer(lw, v, calib.as_ref(), opts.method)?;
                let yc = decoder_layer_batch(cfg, &cw, &rope, x.view(), &lens, false).0;
                Ok(segment_mse(yc.view(), y.view(), &lens))
            })
            .collect::<Result<_>>()?;
        for (v, mses) in variants.iter().zip(per_variant) {
            for (sample, mse) in mses.into_iter().enumerate() {
                match *v {
                    Variant::Quant(bits) => result.quant.push(QuantMse {
                        layer: j,
                        bits,
                        sample,
                        mse,
                    }),
                    Variant::Prune(sparsity) => result.pruning.push(PruneMse {
                        layer: j,
                        sparsity,
                        sample,
                        mse,
                    }),
                }
            }
        }
        x = y;
        on_layer(j);
    }
    Ok(result)
}

impl Sensitivity {
    /// Mean pruning MSE per layer over all sparsities and samples.
    pub fn pruning_layer_means(&self, layers: usize) -> Vec<f64> {
        layer_means(layers, self.pruning.iter().map(|r| (r.layer, r.mse)))
    }

    /// Mean quantisation MSE per layer at `bits` over samples.
    pub fn quant_layer_means(&self, layers: usize, bits: u32) -> Vec<f64> {
        layer_means(
            layers,
            self.quant
                .iter()
                .filter(|r| r.bits == bits)
                .map(|r| (r.layer, r.mse)),
        )
    }

    /// Mean pruning MSE per layer at one `sparsity` over samples.
    pub fn pruning_layer_means_at(&self, layers: usize, sparsity: f64) -> Vec<f64> {
        layer_means(
            layers,
            self.pruning
                .iter()
                .filter(|r| r.sparsity == sparsity)
                .map(|r| (r.layer, r.mse)),
        )
    }
}

fn layer_means(layers: usize, rows: impl Iterator<Item = (usize, f64)>) -> Vec<f64> {
    let mut sum = vec![0.0; layers];
    let mut n = vec![0usize; layers];
    for (l, m) in rows {
        if l < layers {
            sum[l] += m;
            n[l] += 1;
        }
    }
    sum.iter()
        .zip(&n)
        .map(|(s, &k)| if k == 0 { f64::NAN } else { s / k as f64 })
        .collect()
}
