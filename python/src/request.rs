//! The requests the Python package sends, one JSON document per call (built by
//! `edgesim/__init__.py`): inputs as paths, text or tables, and the options of the
//! matching command. Unknown keys are refused so that the two sides cannot drift apart
//! silently.

use serde::Deserialize;
use serde_json::{Map, Value};

/// One input document as Python gave it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Input {
    /// An `os.PathLike`: always a file path.
    Path(String),
    /// A `str`: TOML (or JSON for a Trace) when it looks like a document, else a path or
    /// an embedded name (see [`crate::inputs::looks_like_document`]).
    Text(String),
    /// A `dict` of TOML tables (hardware, workload, sweep spec).
    Table(Map<String, Value>),
    /// A Trace `dict`, serialised by Python's `json` (Traces only).
    Json(String),
}

/// Hardware: a source (default: the embedded paper accelerator) and dotted-key overrides.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HwRequest {
    /// The base document.
    #[serde(default)]
    pub source: Option<Input>,
    /// `{"sram.capacity_kib": 512}`: set on the base before validation, in key order.
    #[serde(default)]
    pub overrides: Map<String, Value>,
}

/// `edgesim.hardware(...)`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HardwareRequest {
    /// The hardware.
    pub hw: HwRequest,
}

/// `edgesim.run(...)`: the flags of `edgesim run`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// `--hw`.
    pub hw: HwRequest,
    /// `--workload`, in order.
    pub workloads: Vec<Input>,
    /// `--trace`, compared after the workloads.
    pub traces: Vec<Input>,
    /// `--mode`.
    pub mode: String,
    /// `--engine`.
    pub engine: String,
    /// `--schedule`.
    pub schedule: Option<String>,
    /// `--time-slack` (percent).
    pub time_slack_pct: Option<f64>,
    /// `--max-memory-gib`.
    pub max_memory_gib: Option<f64>,
    /// `--pareto`.
    pub pareto: bool,
    /// `--ssd-write-budget-gb-per-step` (GB = 10^9 B).
    pub ssd_write_budget_gb_per_step: Option<f64>,
}

/// `edgesim.sweep(...)`: the flags of `edgesim sweep` that shape the table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepRequest {
    /// `--spec`.
    pub spec: Input,
    /// `--shard i/n`.
    pub shard: Option<String>,
    /// `--mode`.
    pub mode: Option<String>,
    /// `--engine`.
    pub engine: String,
    /// `--schedule`.
    pub schedule: Option<String>,
    /// `--time-slack` (percent).
    pub time_slack_pct: Option<f64>,
    /// `--max-memory-gib`.
    pub max_memory_gib: Option<f64>,
    /// `--ssd-write-budget-gb-per-step`.
    pub ssd_write_budget_gb_per_step: Option<f64>,
    /// `--max-points`.
    pub max_points: usize,
}

/// `edgesim.trace(...)`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceRequest {
    /// `--workload`.
    pub workload: Input,
}

/// `edgesim.simulate(...)`: the flags of `edgesim sim` that shape its JSON document.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulateRequest {
    /// `--hw`.
    pub hw: HwRequest,
    /// `--workload` (exactly one of this and `trace`).
    pub workload: Option<Input>,
    /// `--trace`.
    pub trace: Option<Input>,
    /// `--schedule`.
    pub schedule: Option<String>,
    /// `--mode`.
    pub mode: String,
    /// `--disable`.
    pub disable: Vec<String>,
    /// `--dma-request-bytes`.
    pub dma_request_bytes: u32,
    /// `--vanilla`.
    pub vanilla: bool,
    /// `--attribute`.
    pub attribute: bool,
}

/// Parses a request; a malformed one is an error of the binding (the Python side built
/// it), reported as such.
pub fn parse<T: for<'de> Deserialize<'de>>(what: &str, text: &str) -> edgesim::Result<T> {
    serde_json::from_str(text)
        .map_err(|e| edgesim::Error::Other(format!("edgesim.{what}: malformed request: {e}")))
}
