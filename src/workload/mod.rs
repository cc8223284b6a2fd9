//! Workloads: tuning method, batch and compression policy applied to a model shape,
//! producing the per-layer [`Trace`]. File format: see [`spec`](self) docs in `spec.rs`;
//! trace assumptions: `build.rs`; saved tensors: [`saved`]; weight compression:
//! [`compress`]; Trace files (JSON): `trace_file.rs` ([`Trace::from_json_file`]).

mod build;
pub mod compress;
pub mod saved;
mod source;
mod spec;
mod trace;
mod trace_file;

pub use build::{
    ACT_BYTES, GRAD_BYTES_PER_PARAM, OPTIMIZER_BYTES_PER_PARAM, TRAINABLE_BYTES_PER_PARAM,
    lst_side_shape,
};
pub use saved::Attention;
pub use source::{
    WorkloadRef, embedded_default, embedded_names, locate_workload, resolve_workload,
};
pub use spec::{Batch, EdgeLlm, Lora, Method};
pub use trace::{BOperand, EntryKind, GemmOp, Pass, Trace, TraceEntry, VectorOp};

use crate::error::Result;
use crate::model::ModelShape;
use crate::policy::Policy;
use source::Source;
use std::path::Path;

/// A parsed, validated workload.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Workload {
    /// Name (the `name` key or the file stem).
    pub name: String,
    /// The file it was read from (for messages).
    pub file: String,
    /// Model shape.
    pub model: ModelShape,
    /// Batch shape.
    pub batch: Batch,
    /// Tuning method.
    pub method: Method,
    /// Per-layer compression policy (one entry per decoder layer).
    pub policy: Policy,
    /// Warnings from building the policy (missing sensitivity layers, proxies), for the
    /// caller to show.
    pub warnings: Vec<String>,
}

impl Workload {
    /// Reads a workload file; relative paths inside it resolve against its directory.
    pub fn from_file(path: &Path) -> Result<Workload> {
        let text = crate::io_util::read_to_string(path)?;
        let file = path.display().to_string();
        spec::parse(&file, &text, &Source::for_file(&file))
    }

    /// Parses workload text; `file` names it in errors and its directory is the base for
    /// relative paths.
    pub fn from_toml_str(file: &str, text: &str) -> Result<Workload> {
        spec::parse(file, text, &Source::for_file(file))
    }

    /// One of the workloads embedded in the binary (see [`embedded_names`]); its relative
    /// paths resolve to the embedded data, so it works from any directory.
    pub fn embedded(name: &str) -> Result<Workload> {
        let text = embedded_default(name).ok_or_else(|| {
            crate::Error::input(
                name,
                "workload",
                format!(
                    "no embedded workload of that name; available: {}",
                    embedded_names().join(", ")
                ),
            )
        })?;
        let stem = name.strip_suffix(".toml").unwrap_or(name);
        spec::parse(
            &format!("<embedded>/workloads/{stem}.toml"),
            text,
            &Source::Embedded,
        )
    }

    /// The per-layer trace of one micro-batch, checked like a Trace file
    /// ([`Trace::validate`]), so that what the hardware side receives from a workload
    /// satisfies the same contract as a Trace file.
    ///
    /// Errors: the built trace breaks a Trace file limit (e.g. a byte count above 1 PiB
    /// for an absurd shape), naming the workload file.
    pub fn trace(&self) -> Result<Trace> {
        let t = build::build(self);
        t.validate(&self.file)?;
        Ok(t)
    }
}

#[cfg(test)]
mod tests;
