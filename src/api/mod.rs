//! The library API of edgesim: the stable surface for Rust programs, the Python package
//! and the examples. Everything else in the crate is internal and may change.
//!
//! # In one page
//!
//! **Inputs.** Hardware is a [`HwConfig`]: [`default_hardware`] (the Edge-LLM paper's
//! accelerator, `hw_configs/edge_llm_paper.toml`, embedded), [`hardware_from_file`],
//! [`hardware_from_toml`] (text plus an origin name that errors quote), or any of them
//! with dotted-key overrides as sweep specs write them, [`hardware_with_overrides`]
//! (`("sram.capacity_kib", 512)`; `docs/hw_keys.md` lists every key, unit and range). A
//! [`Workload`] (model shape, tuning method, batch, compression policy) comes from
//! [`workload`] (a file, else an embedded name such as `llama7b_lora`), [`workload_in`]
//! (relative to a directory) or [`workload_from_toml`]; [`trace`] turns it into the
//! per-layer [`Trace`] every analysis reads, which also comes from a Trace file
//! ([`trace_from_json_file`], [`trace_from_json`]). A [`Schedule`] reads from the line
//! `run` prints ([`parse_schedule`], [`load_schedule`]); a [`SweepSpec`] from a file or
//! text ([`sweep_spec_from_file`], [`sweep_spec_from_toml`]).
//!
//! **Analyses.**
//! - [`run`] / [`run_workloads`]: the schedule search of several workloads, the last
//!   compared with the first: a [`RunDocument`], whose `serde_json` serialisation is the
//!   `edgesim run --json` document. [`search`] is one workload's [`RunEntry`];
//!   [`evaluate`] evaluates a given schedule instead of searching. [`RunOptions`] holds
//!   the flags of `edgesim run` (mode, time slack, memory and SSD-write budgets, Pareto
//!   front, engine).
//! - [`simulate`]: one schedule (searched or given) replayed on the cycle-level simulator
//!   beside the analytic figures, a [`SimReport`] (the `edgesim sim --json` document).
//! - [`sweep`]: every point of a sweep spec on every workload, [`SweepRecord`]s named like
//!   the columns of `sweep.csv` (numbers as numbers, empty cells as `null`).
//!
//! **Reports.** Plain structs deriving `serde::Serialize` and `schemars::JsonSchema`;
//! every figure's unit is in its doc (seconds per optimizer step, bytes, joules,
//! fractions). The JSON Schemas in `schemas/` are generated from these types
//! ([`schemas`]) and checked against the committed files by `tests/api.rs`.
//!
//! **Errors.** Every function returns [`Result`]; an [`Error`] names the file (or origin),
//! the key and the allowed range.
//!
//! ```
//! use edgesim::api;
//! let hw = api::default_hardware();
//! let lora = api::trace(&api::workload("llama7b_lora")?)?;
//! let edge = api::trace(&api::workload("llama7b_edge_llm_b5")?)?;
//! let doc = api::run(&hw, &[lora, edge], &api::RunOptions::default())?;
//! let speedup = doc.speedup.expect("both feasible");
//! assert!(speedup > 1.0, "Edge-LLM is faster than LoRA: {speedup}");
//! let json = serde_json::to_value(&doc).unwrap(); // the `run --json` document
//! assert_eq!(json["results"][0]["workload"], "llama7b_lora");
//! # Ok::<(), edgesim::Error>(())
//! ```
//!
//! A smaller SRAM never makes a step faster:
//!
//! ```
//! use edgesim::api::{self, HardwareSource, RunOptions};
//! let t = api::trace(&api::workload("llama7b_edge_llm_b5")?)?;
//! let small = api::hardware_with_overrides(&HardwareSource::Default, [("sram.capacity_kib", 256)])?;
//! let large = api::default_hardware(); // 1024 KiB
//! let (s, l) = (
//!     api::search(&small, &t, &RunOptions::default())?,
//!     api::search(&large, &t, &RunOptions::default())?,
//! );
//! assert!(s.optimal_seconds.unwrap() >= l.optimal_seconds.unwrap());
//! # Ok::<(), edgesim::Error>(())
//! ```
//!
//! # What it may import
//! Everything in the crate; nothing imports it but `cli`, the Python package, the
//! examples and `report::run_report::run_json` (a thin wrapper the benches call).

#![deny(missing_docs)]

mod load;
mod report;
mod run;
mod schema;
mod sim;
mod sweep;
mod trace_schema;

pub use crate::cost::{Mode, Placement, Schedule};
pub use crate::dse::{Shard, SweepSpec};
pub use crate::error::{Error, Result};
pub use crate::grid::Traversal;
pub use crate::hw::HwConfig;
pub use crate::workload::{Trace, Workload};

pub use load::{
    DEFAULT_HARDWARE_ORIGIN, DEFAULT_HARDWARE_TOML, HardwareSource, default_hardware,
    embedded_workloads, hardware, hardware_from_file, hardware_from_toml, hardware_with_overrides,
    load_schedule, parse_schedule, sweep_spec_from_file, sweep_spec_from_toml, trace,
    trace_from_json, trace_from_json_file, workload, workload_from_toml, workload_in,
};
pub use report::{
    EnergyFigures, LowerBoundTerms, MemoryRatios, ParetoPoint, RunDocument, RunEntry,
    ScheduleFigures, ScheduleSource, SimSummary, TierPeaks,
};
pub use run::{Engine, RunOptions, evaluate, run, run_workloads, search, workload_notes};
pub use schema::{SchemaFile, schemas};
pub use sim::{
    DramEffects, EFFECTS, EngineAccount, Occupancy, SimAttribution, SimComparison, SimDetail,
    SimEffect, SimReport, SimSwitches, SimulateOptions, sim_options_without, simulate,
};
pub use sweep::{DEFAULT_MAX_POINTS, SweepOptions, SweepRecord, sweep, sweep_columns};

pub(crate) use run::document as run_document;
pub(crate) use sim::search_options as sim_search_options;
