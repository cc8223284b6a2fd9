//! Tensor engine for layer-wise unified compression (LUC): checkpoints, forward pass,
//! sensitivity measurement and compression of LLaMA-layout models.

pub mod checkpoint;
pub mod model;
pub mod synth;
pub mod tokenizer;
pub mod compress;
pub mod sensitivity;
