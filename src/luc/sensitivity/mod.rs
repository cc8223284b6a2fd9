//! Per-layer compression sensitivity (Edge-LLM, PAPER.md "LUC"): for each decoder layer
//! `j`, compress only that layer and measure the mean squared error of its output hidden
//! state against the dense model's, per calibration sample.
//!
//! - Inputs of layer `j` are the dense model's hidden states after layer `j-1`, so layers
//!   below are uncompressed and the error is the layer's own.
//! - Where the error is measured ([`MeasureAt`]): `Layer` (the paper's measure) compares
//!   layer `j`'s output; `Final` runs the dense layers `j+1..L` on from the compressed
//!   output and compares the final hidden state after the final RMSNorm (the LM head's
//!   input), so each layer is judged by what reaches the output. The dense inputs of all
//!   layers are computed once up front (`L + 1` hidden-state matrices in memory) and every
//!   compressed variant of layer `j` runs the remaining `L - j - 1` layers on the whole
//!   calibration batch: `L (L + 1) / 2` layer passes per variant instead of `L`.
//! - Attention sinks: real LLaMAs put massive activations on the first token (Sun et al.,
//!   "Massive Activations in Large Language Models", 2024: single values thousands of
//!   times the typical magnitude, from an early-to-middle layer on). A compression error
//!   scales with the magnitude it perturbs, so a plain mean over all positions ranks the
//!   layers by that one token. [`SensitivityOptions::skip_positions`] leaves the first
//!   `K` positions of every sample out of the mean (in both measures; the skipped tokens
//!   still run through the model, so later positions attend to them as usual).
//! - Quantisation: the seven linears fake-quantised at `b` bits, symmetric round-to-nearest
//!   with one scale per output channel (the reference quantiser). Only weights: the
//!   activation and KV bit-widths of a policy are not applied here.
//! - Pruning: the seven linears pruned to sparsity `p` (unstructured) by the chosen method
//!   (SparseGPT by default, as the reference). Calibration inputs of each linear are the
//!   dense model's inputs to that linear, captured in the forward, over all samples.
//! - MSE of a sample = mean over its `(tokens - K) x hidden` output elements of the
//!   squared difference (f64 accumulation; `K = 0` unless skipped).
//!
//! The layers are processed bottom-up streaming the dense hidden states, so memory holds
//! one layer's calibration activations at a time. All samples go through a layer as one
//! stacked batch (one GEMM per linear); the four distinct linear inputs of a layer give
//! four Hessians `X^T X`, computed once and shared by every sparsity level; the
mod calib;
mod csv;
#[cfg(test)]
mod tests;

pub use calib::{LayerCalibration, mse, segment_mse, segment_mse_skip};
pub use csv::py_float;

use crate::error::{Error, Result};
use crate::llm::checkpoint::{Checkpoint, LayerWeights, Linear, LlamaConfig};
use crate::llm::forward::{LinearInputs, Rope, calibration_batch, decoder_layer_batch, rms_norm};
use crate::luc::prune::{PruneMethod, SparsityPattern};
use crate::luc::quant::{Granularity, fake_quant};
use rayon::prelude::*;

/// The sparsity levels of the reference code (PAPER.md): {.05, .1, .2, .3, .5, .7, .9}.
pub const PAPER_SPARSITIES: [f64; 7] = [0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9];

/// Which hidden state the error of a compressed layer is measured on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MeasureAt {
    /// The output of the compressed layer itself (the paper's measure).
    #[default]
    Layer,
    /// The final hidden state after the final RMSNorm, with the layers above run dense.
    Final,
}

impl MeasureAt {
    /// `layer` or `final`.
    pub fn name(self) -> &'static str {
        match self {
            MeasureAt::Layer => "layer",
            MeasureAt::Final => "final",
        }
    }
}

/// What to measure.
#[derive(Debug, Clone)]
pub struct SensitivityOptions {
    /// Weight bit-widths to measure quantisation at (each in 2..=16).
    pub bits: Vec<u32>,
    /// Sparsities to measure pruning at (each in [0, 1)).
    pub sparsities: Vec<f64>,
    /// Pruning method.
    pub method: PruneMethod,
    /// Positions left out of every MSE: the first `skip_positions` tokens of each sample
    /// (0 = all positions, the paper's measure). Must be below the shortest sample's
    /// length.
    pub skip_positions: usize,
    /// Hidden state the error is measured on.
    pub measure: MeasureAt,
}

impl Default for SensitivityOptions {
    fn default() -> Self {
        SensitivityOptions {
            bits: vec![4],
            sparsities: PAPER_SPARSITIES.to_vec(),
            method: PruneMethod::SparseGpt,
            skip_positions: 0,
            measure: MeasureAt::Layer,
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
    /// Mean squared error of the measured hidden state (layer output or final state,
    /// see [`MeasureAt`]), positions from `skip_positions` on.
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
    /// Mean squared error of the measured hidden state (layer output or final state,
    /// see [`MeasureAt`]), positions from `skip_positions` on.
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

/// Builds the calibration statistics of a layer from its captured inputs, if any.
fn calibration(captured: Option<LinearInputs>) -> Result<Option<LayerCalibration>> {
    captured.as_ref().map(LayerCalibration::new).transpose()
}

/// The forward pieces every variant shares.
struct Batch<'a> {
    cfg: &'a LlamaConfig,
    rope: Rope,
    lens: Vec<usize>,
    skip: usize,
}

impl Batch<'_> {
    fn layer(&self, w: &LayerWeights, x: ndarray::ArrayView2<f32>) -> ndarray::Array2<f32> {
        decoder_layer_batch(self.cfg, w, &self.rope, x, &self.lens, false).0
    }
}

/// Measures the sensitivity of every decoder layer of `ckpt` on `samples` (token ids).
/// `on_layer(j)` is called after layer `j` is done (progress reporting).
///
/// Errors: invalid options ([`SensitivityOptions::validate`]), no or empty samples, a
/// token outside the vocabulary, `skip_positions` not below the shortest sample's length,
/// or a compression kernel's error.
pub fn measure(
    ckpt: &Checkpoint,
    samples: &[Vec<u32>],
    opts: &SensitivityOptions,
    on_layer: &(dyn Fn(usize) + Sync),
) -> Result<Sensitivity> {
    opts.validate()?;
    let cfg = &ckpt.config;
    let (x0, lens, rope) = calibration_batch(ckpt, samples)?;
    let shortest = lens.iter().copied().min().unwrap_or(0);
    if opts.skip_positions >= shortest {
        return Err(Error::input(
            "--skip-positions",
            opts.skip_positions.to_string(),
            format!(
                "must leave at least one position of every sample: allowed 0..={} (the \
                 shortest calibration sample has {shortest} tokens)",
                shortest.saturating_sub(1)
            ),
        ));
    }
    let variants: Vec<Variant> = opts
        .bits
        .iter()
        .map(|&b| Variant::Quant(b))
        .chain(opts.sparsities.iter().map(|&p| Variant::Prune(p)))
        .collect();
    let needs_calib = opts.method.needs_calibration() && !opts.sparsities.is_empty();
    let batch = Batch {
        cfg,
        rope,
        lens,
        skip: opts.skip_positions,
    };
    let layers = &ckpt.weights.layers;
    let mut result = Sensitivity::default();
    match opts.measure {
        MeasureAt::Layer => {
            let mut x = x0;
            for (j, lw) in layers.iter().enumerate() {
                let (y, captured) =
                    decoder_layer_batch(cfg, lw, &batch.rope, x.view(), &batch.lens, needs_calib);
                let calib = calibration(captured)?;
                let per_variant: Vec<Vec<f64>> = variants
                    .par_iter()
                    .map(|&v| {
                        let cw = compress_layer(lw, v, calib.as_ref(), opts.method)?;
                        let yc = batch.layer(&cw, x.view());
                        Ok(segment_mse_skip(
                            yc.view(),
                            y.view(),
                            &batch.lens,
                            batch.skip,
                        ))
                    })
                    .collect::<Result<_>>()?;
                result.push_layer(j, &variants, per_variant)?;
                x = y;
                on_layer(j);
            }
        }
        MeasureAt::Final => {
            // The dense run once: the input of every layer and the final hidden state.
            let mut inputs = Vec::with_capacity(layers.len() + 1);
            inputs.push(x0);
            for lw in layers {
                let y = batch.layer(lw, inputs[inputs.len() - 1].view());
                inputs.push(y);
            }
            let norm = |x: &ndarray::Array2<f32>| {
                rms_norm(x.view(), ckpt.weights.norm.view(), cfg.rms_norm_eps)
            };
            let reference = norm(&inputs[layers.len()]);
            for (j, lw) in layers.iter().enumerate() {
                let calib = if needs_calib {
                    let captured = decoder_layer_batch(
                        cfg,
                        lw,
                        &batch.rope,
                        inputs[j].view(),
                        &batch.lens,
                        true,
                    )
                    .1;
                    calibration(captured)?
                } else {
                    None
                };
                let per_variant: Vec<Vec<f64>> = variants
                    .par_iter()
                    .map(|&v| {
                        let cw = compress_layer(lw, v, calib.as_ref(), opts.method)?;
                        let mut y = batch.layer(&cw, inputs[j].view());
                        for later in &layers[j + 1..] {
                            y = batch.layer(later, y.view());
                        }
                        let f = norm(&y);
                        Ok(segment_mse_skip(
                            f.view(),
                            reference.view(),
                            &batch.lens,
                            batch.skip,
                        ))
                    })
                    .collect::<Result<_>>()?;
                result.push_layer(j, &variants, per_variant)?;
                on_layer(j);
            }
        }
    }
    Ok(result)
}

impl Sensitivity {
    /// Appends the rows of layer `j`: `per_variant[i][sample]` is the MSE of
    /// `variants[i]`.
    ///
    /// # Errors
    /// A NaN or infinite MSE (an f32 overflow in the dense or compressed forward pass)
    /// is an error naming the layer, the variant and the sample: it would otherwise be
    /// written to the CSV as `nan` and only refused later by the policy reader.
    fn push_layer(
        &mut self,
        j: usize,
        variants: &[Variant],
        per_variant: Vec<Vec<f64>>,
    ) -> Result<()> {
        for (v, mses) in variants.iter().zip(per_variant) {
            for (sample, mse) in mses.into_iter().enumerate() {
                if !mse.is_finite() {
                    let what = match *v {
                        Variant::Quant(bits) => format!("{bits}-bit quantisation"),
                        Variant::Prune(p) => format!("sparsity {p}"),
                    };
                    return Err(Error::Other(format!(
                        "sensitivity of layer {j} at {what}, calibration sample {sample}: the \
                         MSE is {mse} (the layer's output overflowed f32); check the \
                         checkpoint's weights"
                    )));
                }
                match *v {
                    Variant::Quant(bits) => self.quant.push(QuantMse {
                        layer: j,
                        bits,
                        sample,
                        mse,
                    }),
                    Variant::Prune(sparsity) => self.pruning.push(PruneMse {
                        layer: j,
                        sparsity,
                        sample,
                        mse,
                    }),
                }
            }
        }
        Ok(())
    }

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
