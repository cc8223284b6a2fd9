//! The LLaMA model infrastructure shared by the tensor engine's method modules (`luc`,
//! and the coming `tune`): checkpoints, tokenizer, forward pass, linear algebra.
//!
//! Conventions shared by every kernel here:
//! - a weight matrix `W: Array2<f32>` is shaped `[out_features, in_features]` (Hugging
//!   Face layout, `y = x W^T`), so one row is one output channel;
//! - activations `X: Array2<f32>` are shaped `[tokens, features]`, one row per token.
//!
//! Submodules:
//! - [`checkpoint`]: `config.json` + safetensors (f32/f16/bf16, sharded) loading and
//!   writing in Hugging Face LLaMA naming;
//! - [`eval`]: perplexity of a checkpoint on token chunks;
//! - [`forward`]: the LLaMA forward (RMSNorm, RoPE, grouped-query attention, SwiGLU) on
//!   packed-weight GEMMs, and the LM head fused with the log-softmax;
//! - [`tokenizer`]: byte-level tokenizer and calibration-file reading;
//! - [`linalg`]: blocked Cholesky, triangular inverse, SPD inverse and the upper Cholesky
//!   factor of the inverse (SparseGPT's `H^-1`), all on optimised GEMMs;
//! - [`synth`]: small random LLaMA-layout checkpoints with layer-dependent sensitivity.

pub mod checkpoint;
pub mod eval;
pub mod forward;
pub mod linalg;
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
