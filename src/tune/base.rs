//! The frozen base model of a tuning run: a checkpoint (possibly a `luc compress` output,
//! dequantised values with exact zeros stored as f32) converted to the engine's scalar,
//! every linear packed twice, as `W` for the forward `y = x W^T` and as `W^T` for the
//! backward `dX = dY W` (no weight gradient is ever formed for these weights).
//!
//! Bit-widths come from the LUC policy (`None`: the uncompressed 16-bit model); sparsity
//! is measured on the weights (fraction of exact zeros), since that is what the products
//! can skip whatever the policy asked for.

use super::real::Real;
use crate::error::{Error, Result};
use crate::llm::checkpoint::{Checkpoint, LlamaConfig};
use crate::model::Linear;
use crate::policy::{LayerPolicy, Policy};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use rayon::prelude::*;

/// The uncompressed model's layer setting: 16-bit weights, activations and K/V, dense.
pub const DENSE16: LayerPolicy = LayerPolicy {
    w_bits: 16,
    a_bits: 16,
    kv_bits: 16,
    sparsity: 0.0,
};

/// One frozen weight `[out, in]`, packed both ways.
#[derive(Debug)]
pub struct FrozenLinear<T: Real> {
    /// `W` (`[out, in]`) for `y = x W^T`.
    pub w: T::Packed,
    /// `W^T` (`[in, out]`) for `dX = dY W`.
    pub wt: T::Packed,
    /// Output features.
    pub out: usize,
    /// Input features.
    pub inp: usize,
    /// Bits per stored value (from the policy; 16 for the uncompressed model and heads).
    pub w_bits: u32,
    /// Measured fraction of exactly-zero weights.
    pub sparsity: f64,
}

impl<T: Real> FrozenLinear<T> {
    /// Packs `w` (`[out, in]`, f32 as checkpoints hold it).
    pub fn new(w: ArrayView2<f32>, w_bits: u32) -> Self {
        let zeros = w.iter().filter(|v| **v == 0.0).count();
        let wt: Array2<T> = convert2(w);
        FrozenLinear {
            w: T::pack(wt.view()),
            wt: T::pack(wt.t()),
            out: w.nrows(),
            inp: w.ncols(),
            w_bits,
            sparsity: zeros as f64 / w.len().max(1) as f64,
        }
    }
}

/// One frozen decoder layer.
#[derive(Debug)]
pub struct FrozenLayer<T: Real> {
    /// RMSNorm weight before attention `[hidden]`.
    pub input_norm: Array1<T>,
    /// RMSNorm weight before the MLP `[hidden]`.
    pub post_norm: Array1<T>,
    /// The seven linears in [`Linear::ALL`] order.
    pub linears: [FrozenLinear<T>; 7],
    /// The layer's compression setting (bits of weights, activations, K/V).
    pub policy: LayerPolicy,
}

impl<T: Real> FrozenLayer<T> {
    /// The frozen linear `l`.
    pub fn linear(&self, l: Linear) -> &FrozenLinear<T> {
        &self.linears[l as usize]
    }
}

/// The frozen base model.
#[derive(Debug)]
pub struct Base<T: Real> {
    /// Model configuration.
    pub cfg: LlamaConfig,
    /// Token embedding `[vocab, hidden]`.
    pub embed: Array2<T>,
    /// Decoder layers, bottom to top.
    pub layers: Vec<FrozenLayer<T>>,
    /// Final RMSNorm weight `[hidden]`.
    pub norm: Array1<T>,
    /// LM head `[vocab, hidden]` (the embedding when tied), 16-bit.
    pub head: FrozenLinear<T>,
    /// The LM head's values when untied (`None`: tied, the values are `embed`), the
    /// initial value of trained exit heads.
    pub lm_head: Option<Array2<T>>,
}

pub(crate) fn convert2<T: Real>(w: ArrayView2<f32>) -> Array2<T> {
    w.mapv(|v| T::from_f64(f64::from(v)))
}

pub(crate) fn convert1<T: Real>(w: ArrayView1<f32>) -> Array1<T> {
    w.mapv(|v| T::from_f64(f64::from(v)))
}

impl<T: Real> Base<T> {
    /// Bits from `policy` (None = 16-bit dense: w_bits = a_bits = kv_bits = 16); sparsity
    /// measured.
    ///
    /// Errors: a policy whose layer count differs from the checkpoint's (input error on
    /// the policy's `layers`), a checkpoint whose tensors disagree with its config.
    pub fn from_checkpoint(ckpt: &Checkpoint, policy: Option<&Policy>) -> Result<Self> {
        ckpt.check_shapes()?;
        let n = ckpt.config.num_hidden_layers;
        if let Some(p) = policy
            && p.layers.len() != n
        {
            return Err(Error::input(
                "policy",
                "layers",
                format!(
                    "{} layer settings for a {n}-layer checkpoint; need exactly {n}",
                    p.layers.len()
                ),
            ));
        }
        let layers = ckpt
            .weights
            .layers
            .par_iter()
            .enumerate()
            .map(|(j, lw)| {
                let lp = policy.map_or(DENSE16, |p| p.layers[j]);
                FrozenLayer {
                    input_norm: convert1(lw.input_norm.view()),
                    post_norm: convert1(lw.post_norm.view()),
                    linears: Linear::ALL.map(|l| FrozenLinear::new(lw.linear(l).view(), lp.w_bits)),
                    policy: lp,
                }
            })
            .collect();
        Ok(Base {
            cfg: ckpt.config.clone(),
            embed: convert2(ckpt.weights.embed.view()),
            layers,
            norm: convert1(ckpt.weights.norm.view()),
            head: FrozenLinear::new(ckpt.lm_head().view(), 16),
            lm_head: ckpt.weights.lm_head.as_ref().map(|w| convert2(w.view())),
        })
    }

    /// The LM head's values `[vocab, hidden]`.
    pub fn head_matrix(&self) -> &Array2<T> {
        self.lm_head.as_ref().unwrap_or(&self.embed)
    }

    /// Number of decoder layers.
    pub fn n_layers(&self) -> usize {
        self.layers.len()
    }

    /// `(mean bits, fraction of zeros)` of the decoder linears, each weighted by its
    /// element count: what the compressed base stores (16 bits for an uncompressed one).
    pub fn compression(&self) -> (f64, f64) {
        let (mut n, mut bits, mut zeros) = (0.0, 0.0, 0.0);
        for f in self.layers.iter().flat_map(|l| l.linears.iter()) {
            let e = (f.out * f.inp) as f64;
            n += e;
            bits += e * f64::from(f.w_bits);
            zeros += e * f.sparsity;
        }
        if n == 0.0 {
            return (16.0, 0.0);
        }
        (bits / n, zeros / n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::synth::{SynthShape, synth};

    #[test]
    fn measures_sparsity_and_takes_bits_from_the_policy() {
        let (mut ck, _) = synth(SynthShape::Tiny, 3);
        // Zero the first 16 of 64 columns of q in layer 2: a quarter of its weights.
        ck.weights.layers[2]
            .q
            .slice_mut(ndarray::s![.., ..16])
            .fill(0.0);
        let mut p = Policy::uniform(8, 4, 0.5);
        p.layers[2].w_bits = 3;
        let b = Base::<f64>::from_checkpoint(&ck, Some(&p)).unwrap();
        let q = b.layers[2].linear(Linear::Q);
        assert_eq!((q.out, q.inp, q.w_bits), (64, 64, 3));
        assert_eq!(q.sparsity, 0.25);
        assert_eq!(b.layers[2].linear(Linear::K).sparsity, 0.0);
        assert_eq!(b.layers[0].linear(Linear::Down).w_bits, 4);
        // W^T packed for f64 is the transpose.
        assert_eq!(q.wt, q.w.t());
        let dense = Base::<f32>::from_checkpoint(&ck, None).unwrap();
        assert_eq!(dense.layers[5].policy, DENSE16);
        let e = Base::<f32>::from_checkpoint(&ck, Some(&Policy::uniform(7, 4, 0.0)))
            .unwrap_err()
            .to_string();
        assert!(e.contains("layers") && e.contains("8"), "{e}");
    }
}
