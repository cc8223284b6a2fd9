//! Workloads: tuning method, batch and compression policy applied to a model shape,
//! producing the per-layer [`Trace`].

mod trace;

pub use trace::{BOperand, EntryKind, GemmOp, Pass, Trace, TraceEntry, VectorOp};
