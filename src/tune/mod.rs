//! The training half of the tensor engine: LoRA tuning of a (possibly LUC-compressed)
//! LLaMA checkpoint with early-exit heads, a backprop window moving bottom-up in phases and
//! voting over exits (Edge-LLM's adaptive layer tuning, PAPER.md), with a hand-written
//! backward. While it trains it records what one optimizer step does (GEMMs, tensors kept
//! for backward, trainable state) as a [`crate::workload::Trace`], the only thing the
//! simulator sees of it.

pub mod record;
pub mod trace;
pub use record::{Column, Recorder, SavedRecord};
pub use trace::{HeadWeights, LayerWeights, LinearWeights, TraceMeta, TraceWeights, to_trace};
