//! The training half of the tensor engine: LoRA tuning of a (possibly LUC-compressed)
//! LLaMA checkpoint with early-exit heads, a backprop window moving bottom-up in phases and
//! voting over exits (Edge-LLM's adaptive layer tuning, PAPER.md), with a hand-written
//! backward. While it trains it records what one optimizer step does (GEMMs, tensors kept
//! for backward, trainable state) as a [`crate::workload::Trace`], the only thing the
//! simulator sees of it.
//!
//! Engine: `real` (the f32 / f64 scalar), `base` (frozen, possibly compressed weights),
//! `lora`, `ops`, `layer`, `head`, `model` (one micro-batch's loss and gradients),
//! `record` (what it did). Loop: `plan` (method -> per-step exit and window), `adamw`,
//! `train`, `store` (resumable state), `data` (token streams), `vote` and `eval`
//! (held-out scores per exit and voted), `summary`. Trace: `trace` (recording -> Trace),
//! `recorded` (the tuner's side of it).

pub mod adamw;
pub mod base;
pub mod data;
pub mod eval;
mod gemms;
pub mod head;
pub mod layer;
pub mod lora;
pub mod model;
pub mod ops;
pub mod plan;
pub mod real;
pub mod record;
pub mod recorded;
pub mod store;
pub mod summary;
#[cfg(test)]
mod tests;
pub mod trace;
pub mod train;
pub mod vote;

pub use adamw::{AdamW, AdamWConfig};
pub use base::{Base, FrozenLayer, FrozenLinear};
pub use data::{Order, TrainStream, eval_chunks};
pub use lora::{LayerAdapters, Lora, LoraConfig};
pub use model::{Adapters, ExitHead, Tuner};
pub use plan::{Method, StepPlan, adapter_layers, default_exits, step_plan};
pub use real::Real;
pub use record::{Column, Recorder, SavedRecord};
pub use store::{StateMeta, load_state, save_adapters, save_state};
pub use trace::{HeadWeights, LayerWeights, LinearWeights, TraceMeta, TraceWeights, to_trace};
pub use vote::{ExitScore, Scores};
