//! The tensor engine of Layer-wise Unified Compression (LUC): the numerical kernels that
//! compress one linear layer, and the method's passes that apply them to a LLaMA model
//! loaded by [`crate::llm`].
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
//! - [`sensitivity`]: per-layer quantisation / pruning MSE (the input of eq. 1 / eq. 2);
//! - [`compress`]: policy-driven compression of a checkpoint with a size report;
//! - [`table2`]: the paper's LUC ablation (Table 2) on a real checkpoint.

pub mod compress;
pub mod prune;
pub mod quant;
pub mod sensitivity;
pub mod table2;
