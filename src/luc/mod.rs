//! The tensor engine of Layer-wise Unified Compression (LUC): the numerical kernels that
//! compress one linear layer, and the model side that applies them to LLaMA-layout
//! checkpoints.
//!
//! Conventions shared by every kernel here:
//! - a weight matrix `W: Array2<f32>` is shaped `[out_features, in_features]` (Hugging
//!   Face layout, `y = x W^T`), so one row is one output channel;
//! - calibration inputs `X: Array2<f32>` are shaped `[tokens, in_features]`, one row per
//!   token.
//!
//! Submodules:
//! - [`quant`]: symmetric round-to-nearest quantiser (per channel, per token, per group),
//!   integer codes + scales and the fake-quantised (dequantised) matrix;
//! - [`prune`]: magnitude, Wanda and SparseGPT pruners, unstructured or N:M, with exact
//!   pruned counts;
//! - [`linalg`]: blocked Cholesky, triangular inverse, SPD inverse and the upper Cholesky
//!   factor of the inverse (SparseGPT's `H^-1`), all on optimised GEMMs.
//! - [`checkpoint`]: `config.json` + safetensors (f32/f16/bf16, sharded) loading and
//!   writing in Hugging Face LLaMA naming;
//! - [`model`]: the LLaMA forward (RMSNorm, RoPE, grouped-query attention, SwiGLU);
//! - [`tokenizer`]: byte-level tokenizer and calibration-file reading;
//! - [`sensitivity`]: per-layer quantisation / pruning MSE (the input of eq. 1 / eq. 2);
//! - [`compress`]: policy-driven compression of a checkpoint with a size report;
//! - [`synth`]: small random LLaMA-layout checkpoints with layer-dependent sensitivity.

pub mod checkpoint;
pub mod compress;
pub mod linalg;
pub mod model;
pub mod prune;
pub mod quant;
pub mod sensitivity;
pub mod synth;
pub mod tokenizer;

use ndarray::ArrayView2;

/// Position and value of the first non-finite entry (row-major), if any. The common
/// all-finite case is one vectorisable pass without index bookkeeping.
pub(crate) fn first_non_finite(a: ArrayView2<f32>) -> Option<((usize, usize), f32)> {
    if a.iter().all(|v| v.is_finite()) {
        return None;
    }
    a.indexed_iter()
        .find(|(_, v)| !v.is_finite())
        .map(|(ij, v)| (ij, *v))
}
