//! The training half of the tensor engine: LoRA tuning of a (possibly LUC-compressed)
//! LLaMA checkpoint with early-exit heads, a backprop window moving bottom-up in phases and
//! voting over exits (Edge-LLM's adaptive layer tuning, PAPER.md), with a hand-written
//! backward. While it trains it records what one optimizer step does (GEMMs, tensors kept
//! for backward, trainable state) as a [`crate::workload::Trace`], the only thing the
//! simulator sees of it.

pub mod base;
mod gemms;
pub mod head;
pub mod layer;
pub mod lora;
pub mod model;
pub mod ops;
pub mod real;
pub mod record;
#[cfg(test)]
mod tests;

pub use base::{Base, FrozenLayer, FrozenLinear};
pub use lora::{LayerAdapters, Lora, LoraConfig};
pub use model::{Adapters, ExitHead, Tuner};
pub use real::Real;
pub use record::{Column, Recorder, SavedRecord};
pub mod plan;
pub use plan::{Method, StepPlan, adapter_layers, default_exits, step_plan};
pub mod adamw;
pub use adamw::{AdamW, AdamWConfig};
pub mod vote;
pub use vote::{ExitScore, Scores};
pub mod store;
pub use store::{StateMeta, load_state, save_adapters, save_state};
pub mod data;
pub use data::{Order, TrainStream, eval_chunks};
pub mod summary;
pub mod train;
pub mod eval;
pub mod recorded;
