//! `sweep`: every point of a sweep spec on every workload, as records named exactly like
//! the columns of `sweep.csv` (`schemas/sweep_record.schema.json`).

use crate::cost::{Mode, Schedule};
use crate::dse::{Shard, SweepSpec, SweepTable};
use crate::error::{Error, Result};
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::BTreeMap;

use super::run::Engine;

/// Default [`SweepOptions::max_points`]: 10^6, as `edgesim sweep --max-points` (a spec
/// larger than that is more often a typo, one list too many, than intended).
pub const DEFAULT_MAX_POINTS: usize = 1_000_000;

/// What [`sweep`] may vary (the flags of `edgesim sweep`).
#[derive(Debug, Clone, PartialEq)]
pub struct SweepOptions {
    /// Step-time model (default `shared-bus`).
    pub mode: Mode,
    /// Time slack (fraction, 0..=1; `None`: the search's default, 0.01).
    pub time_slack: Option<f64>,
    /// Only schedules whose total tuning memory is at most this many GiB (2^30 bytes).
    pub max_memory_gib: Option<f64>,
    /// Only schedules writing at most this many GB (10^9 bytes) to the SSD per step.
    pub ssd_write_budget_gb_per_step: Option<f64>,
    /// Evaluate this schedule at every point instead of searching.
    pub schedule: Option<Schedule>,
    /// [`Engine::Cycle`] also replays each chosen schedule (`sim_step_s`).
    pub engine: Engine,
    /// Run only this shard of the points: `Shard::parse("i/n")` takes the points whose
    /// index is `i` mod `n` (`i` from 0, as `edgesim sweep --shard`); default all.
    pub shard: Shard,
    /// Refuse specs of more points than this (default 10^6, as `edgesim sweep`).
    pub max_points: usize,
}

impl Default for SweepOptions {
    /// The defaults of `edgesim sweep`.
    fn default() -> Self {
        SweepOptions {
            mode: Mode::SharedBus,
            time_slack: None,
            max_memory_gib: None,
            ssd_write_budget_gb_per_step: None,
            schedule: None,
            engine: Engine::Analytic,
            shard: Shard::ALL,
            max_points: DEFAULT_MAX_POINTS,
        }
    }
}

/// One (point, workload) row of a sweep, with exactly the column names of `sweep.csv`:
/// numbers as numbers, empty cells as `null` (the chosen schedule's figures of an
/// infeasible row), the swept keys under their dotted names (`"sram.capacity_kib"`).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct SweepRecord {
    /// Point index in the full expansion of the spec.
    pub point: u64,
    /// Workload label (the workload file's stem, or the embedded name).
    pub workload: String,
    /// The swept hardware keys and their values at this point (dotted key -> value, in
    /// the units of `docs/hw_keys.md`).
    #[serde(flatten)]
    pub values: BTreeMap<String, serde_json::Value>,
    /// SRAM capacity (KiB).
    pub sram_kib: f64,
    /// DRAM peak bandwidth (GB/s, 10^9 bytes per second).
    pub dram_gbps: f64,
    /// Processing elements of the MAC array (count).
    pub pe_count: u64,
    /// True when a schedule fits.
    pub feasible: bool,
    /// Why no schedule fits; `null` when feasible.
    pub infeasible_reason: Option<String>,
    /// Seconds per optimizer step of the chosen schedule (s).
    pub step_s: Option<f64>,
    /// Seconds per step of the fastest feasible schedule (s).
    pub optimal_step_s: Option<f64>,
    /// Total tuning memory (bytes).
    pub memory_bytes: Option<u64>,
    /// Peak SRAM occupancy (bytes).
    pub sram_peak_bytes: Option<u64>,
    /// Peak DRAM occupancy (bytes).
    pub dram_peak_bytes: Option<u64>,
    /// Peak SSD occupancy (bytes).
    pub ssd_peak_bytes: Option<u64>,
    /// Peak DRAM + peak SRAM (bytes).
    pub device_bytes: Option<u64>,
    /// Peak bytes saved for backward (bytes).
    pub activation_bytes: Option<u64>,
    /// Trainable weights + gradients + optimizer state (bytes).
    pub tuning_state_bytes: Option<u64>,
    /// Every tensor of tuning once (bytes).
    pub total_bytes: Option<u64>,
    /// Peak SSD occupancy of the memory metrics (bytes).
    pub ssd_bytes: Option<u64>,
    /// Energy per step (J).
    pub energy_j: Option<f64>,
    /// Dynamic energy per step (J).
    pub energy_dynamic_j: Option<f64>,
    /// Static energy per step (J).
    pub energy_static_j: Option<f64>,
    /// Bytes written to the SSD per step (bytes).
    pub ssd_write_bytes: Option<f64>,
    /// Steps until the SSD's rated endurance is written (steps).
    pub ssd_wear_out_steps: Option<f64>,
    /// The bounding term (`compute`, `dram-bus`, ...).
    pub bound: Option<String>,
    /// The chosen schedule in the one-line form [`super::parse_schedule`] reads.
    pub schedule: Option<String>,
    /// Lower bound on the step time (s).
    pub lower_bound_s: f64,
    /// Optimality gap, `100 (step / lower bound - 1)` (percent).
    pub gap_pct: Option<f64>,
    /// Compute term of the lower bound (s).
    pub lower_bound_compute_s: f64,
    /// DRAM term of the lower bound (s).
    pub lower_bound_dram_s: f64,
    /// DRAM term with compulsory traffic only (s).
    pub lower_bound_dram_compulsory_s: f64,
    /// SSD term of the lower bound (s).
    pub lower_bound_ssd_s: f64,
    /// Seconds per step on the cycle-level simulator, with [`Engine::Cycle`] (s).
    pub sim_step_s: Option<f64>,
    /// On the per-workload Pareto front of time, memory, energy and SRAM size (over the
    /// rows of this run or shard).
    pub pareto: bool,
}

/// The `sweep.csv` column names of `spec`, in order (`point`, `workload`, the swept
/// keys, then the fixed columns): the keys of every [`SweepRecord`].
pub fn sweep_columns(spec: &SweepSpec) -> Vec<String> {
    crate::dse::table::header(&spec.key_names())
}

/// Runs every point of `opts.shard` of `spec` on every workload of the spec (in
/// parallel on the rayon pool): the rows `edgesim sweep` writes to `sweep.csv`, in the
/// same order, as records.
///
/// ```no_run
/// use edgesim::api::{SweepOptions, sweep, sweep_spec_from_file};
/// let spec = sweep_spec_from_file("hw_configs/sweeps/sram.toml".as_ref())?;
/// for r in sweep(&spec, &SweepOptions::default())? {
///     println!("{} {} KiB: {:?} s", r.workload, r.sram_kib, r.step_s);
/// }
/// # Ok::<(), edgesim::Error>(())
/// ```
///
/// # Errors
/// Invalid options ([`Error::Input`] naming the option and its range), more points than
/// `opts.max_points`, a workload that cannot be read, a point invalid in combination.
pub fn sweep(spec: &SweepSpec, opts: &SweepOptions) -> Result<Vec<SweepRecord>> {
    use crate::dse::evaluate;
    let mut so = evaluate::with_memory_limit(evaluate::options(None)?, opts.max_memory_gib)?;
    so.mode = opts.mode;
    so = evaluate::with_time_slack(so, opts.time_slack.map(|f| 100.0 * f))?;
    if opts.schedule.is_some() && opts.ssd_write_budget_gb_per_step.is_some() {
        return Err(Error::input(
            "SweepOptions",
            "ssd_write_budget_gb_per_step",
            "a search constraint: not combined with a given schedule",
        ));
    }
    so = evaluate::with_ssd_write_budget(so, opts.ssd_write_budget_gb_per_step)?;
    so.schedule = opts.schedule;
    spec.check_max_points(opts.max_points)?;
    let workloads = evaluate::load_traces(&spec.workloads)?;
    let cycle = opts.engine == Engine::Cycle;
    let table = crate::dse::sweep::run(
        spec,
        &workloads,
        opts.shard,
        |hw, t| evaluate::outcome_with(hw, t, &so, cycle),
        || {},
    )?;
    records(spec, &table)
}

/// The records of a sweep table's rows (cells parsed by column name).
pub(crate) fn records(spec: &SweepSpec, t: &SweepTable) -> Result<Vec<SweepRecord>> {
    let keys = spec.key_names();
    t.rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let cell = |name: &str| -> Result<&str> {
                let c = t.column(name)?;
                Ok(row[c].as_str())
            };
            let bad = |name: &str, v: &str| {
                Error::input(
                    "sweep table",
                    format!("row {} column {name}", i + 2),
                    format!("`{v}` is not a number"),
                )
            };
            let f = |name: &str| -> Result<Option<f64>> {
                let v = cell(name)?;
                if v.is_empty() {
                    return Ok(None);
                }
                v.parse::<f64>().map(Some).map_err(|_| bad(name, v))
            };
            let u = |name: &str| -> Result<Option<u64>> {
                let v = cell(name)?;
                if v.is_empty() {
                    return Ok(None);
                }
                v.parse::<u64>().map(Some).map_err(|_| bad(name, v))
            };
            let req_f = |name: &str| f(name)?.ok_or_else(|| bad(name, ""));
            let s = |name: &str| -> Result<Option<String>> {
                let v = cell(name)?;
                Ok((!v.is_empty()).then(|| v.to_string()))
            };
            let point = u("point")?.ok_or_else(|| bad("point", ""))?;
            let values = spec
                .assignment(point as usize)
                .into_iter()
                .filter(|(k, _)| keys.contains(k))
                .map(|(k, v)| (k, toml_to_json(&v)))
                .collect();
            Ok(SweepRecord {
                point,
                workload: cell("workload")?.to_string(),
                values,
                sram_kib: req_f("sram_kib")?,
                dram_gbps: req_f("dram_gbps")?,
                pe_count: u("pe_count")?.ok_or_else(|| bad("pe_count", ""))?,
                feasible: cell("feasible")? == "true",
                infeasible_reason: s("infeasible_reason")?,
                step_s: f("step_s")?,
                optimal_step_s: f("optimal_step_s")?,
                memory_bytes: u("memory_bytes")?,
                sram_peak_bytes: u("sram_peak_bytes")?,
                dram_peak_bytes: u("dram_peak_bytes")?,
                ssd_peak_bytes: u("ssd_peak_bytes")?,
                device_bytes: u("device_bytes")?,
                activation_bytes: u("activation_bytes")?,
                tuning_state_bytes: u("tuning_state_bytes")?,
                total_bytes: u("total_bytes")?,
                ssd_bytes: u("ssd_bytes")?,
                energy_j: f("energy_j")?,
                energy_dynamic_j: f("energy_dynamic_j")?,
                energy_static_j: f("energy_static_j")?,
                ssd_write_bytes: f("ssd_write_bytes")?,
                ssd_wear_out_steps: f("ssd_wear_out_steps")?,
                bound: s("bound")?,
                schedule: s("schedule")?,
                lower_bound_s: req_f("lower_bound_s")?,
                gap_pct: f("gap_pct")?,
                lower_bound_compute_s: req_f("lower_bound_compute_s")?,
                lower_bound_dram_s: req_f("lower_bound_dram_s")?,
                lower_bound_dram_compulsory_s: req_f("lower_bound_dram_compulsory_s")?,
                lower_bound_ssd_s: req_f("lower_bound_ssd_s")?,
                sim_step_s: f("sim_step_s")?,
                pareto: cell("pareto")? == "true",
            })
        })
        .collect()
}

/// A swept TOML value as JSON (integers and floats as numbers, strings, booleans; other
/// kinds as their TOML text).
fn toml_to_json(v: &toml::Value) -> serde_json::Value {
    match v {
        toml::Value::Integer(i) => (*i).into(),
        toml::Value::Float(x) => serde_json::Number::from_f64(*x)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null),
        toml::Value::Boolean(b) => (*b).into(),
        toml::Value::String(s) => s.clone().into(),
        other => other.to_string().into(),
    }
}
