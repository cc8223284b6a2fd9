//! The bridge from DSE to the schedule search and the workload reader: search options
//! from `--mode`, workloads to traces, and a search result to a table [`Outcome`]. No
//! modelling happens here; every number comes from `search::search`.

use super::Outcome;
use super::sweep::NamedTrace;
use crate::cost::Mode;
use crate::error::{Error, Result};
use crate::hw::HwConfig;
use crate::search::{SearchOptions, search};
use crate::workload::Trace;
use std::path::{Path, PathBuf};

/// The full search's options, under `mode` (`paper`, `chained`, `shared-bus`) when given,
/// else under the search's default, `shared-bus`.
pub fn options(mode: Option<&str>) -> Result<SearchOptions> {
    let o = SearchOptions::default();
    Ok(match mode {
        Some(m) => o.with_mode(m.parse::<Mode>()?),
        None => o,
    })
}

/// Sets the search's time slack from `--time-slack` in percent (0 to 100): the chosen
/// schedule is the least-memory one within `(1 + slack)` x the fastest time.
pub fn with_time_slack(mut o: SearchOptions, pct: Option<f64>) -> Result<SearchOptions> {
    if let Some(p) = pct {
        if !(p.is_finite() && (0.0..=100.0).contains(&p)) {
            return Err(Error::input(
                "--time-slack",
                "time_slack",
                format!("{p} is out of range; allowed [0, 100] percent"),
            ));
        }
        o.time_slack = p / 100.0;
    }
    Ok(o)
}

/// Limits the search to schedules whose total tuning memory is at most `gib` GiB
/// (`--max-memory-gib`), e.g. a device's DRAM when no SSD may be used.
pub fn with_memory_limit(mut o: SearchOptions, gib: Option<f64>) -> Result<SearchOptions> {
    if let Some(g) = gib {
        if !(g.is_finite() && g > 0.0) {
            return Err(Error::input(
                "--max-memory-gib",
                "max_memory_gib",
                format!("{g} must be a positive number of GiB"),
            ));
        }
        o.max_memory_bytes = Some(g * (1u64 << 30) as f64);
    }
    Ok(o)
}

/// Evaluates only the schedule of `--schedule SPEC` (the one-line form `run` prints, or
/// a `[schedule]` TOML file; see [`crate::search::schedule_spec`]) instead of searching:
/// every point and workload evaluates that schedule, and one a workload does not admit or
/// that does not fit is an infeasible row carrying the reason.
pub fn with_schedule(mut o: SearchOptions, spec: Option<&str>) -> Result<SearchOptions> {
    if let Some(s) = spec {
        o.schedule = Some(crate::search::load_schedule(s)?);
    }
    Ok(o)
}

/// Limits the search to schedules writing at most `gb` GB (10^9 B) to the SSD per
/// optimizer step (`--ssd-write-budget-gb-per-step`); 0 allows no SSD writes.
pub fn with_ssd_write_budget(mut o: SearchOptions, gb: Option<f64>) -> Result<SearchOptions> {
    if let Some(g) = gb {
        if !(g.is_finite() && g >= 0.0) {
            return Err(Error::input(
                "--ssd-write-budget-gb-per-step",
                "ssd_write_budget_gb_per_step",
                format!("{g}: must be a number of GB >= 0"),
            ));
        }
        o.ssd_write_budget_bytes = Some(g * 1e9);
    }
    Ok(o)
}

/// "No complementary scheduling" (`SearchOptions::vanilla()`).
pub fn vanilla_options() -> SearchOptions {
    SearchOptions::vanilla()
}

/// Reads a workload file (or an embedded workload by name,
/// [`crate::workload::resolve_workload`]) and builds its trace.
pub fn load_trace(path: &Path) -> Result<Trace> {
    crate::workload::resolve_workload(path)?.trace()
}

/// Reads workload files; each is labelled by its file stem, which must be unique.
pub fn load_traces(paths: &[PathBuf]) -> Result<Vec<NamedTrace>> {
    let mut out: Vec<NamedTrace> = Vec::with_capacity(paths.len());
    for p in paths {
        let name = p
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| p.display().to_string());
        if out.iter().any(|w| w.name == name) {
            return Err(Error::input(
                p.display().to_string(),
                "workloads",
                format!("two workload files share the name `{name}`; rename one"),
            ));
        }
        out.push(NamedTrace {
            name,
            trace: load_trace(p)?,
        });
    }
    Ok(out)
}

/// Searches `trace` on `hw` and records the best schedule. When nothing fits, the
/// outcome is infeasible with infinite time, and `schedule` carries the search's reason.
pub fn outcome(hw: &HwConfig, trace: &Trace, opts: &SearchOptions) -> Result<Outcome> {
    outcome_with(hw, trace, opts, false)
}

/// Like [`outcome`]; with `simulate`, the chosen schedule is also replayed on the
/// cycle-level simulator (all effects on, `SimOptions::default()`) and its seconds are
/// recorded in [`Outcome::sim_seconds`].
pub fn outcome_with(
    hw: &HwConfig,
    trace: &Trace,
    opts: &SearchOptions,
    simulate: bool,
) -> Result<Outcome> {
    let r = search(hw, trace, opts);
    let sim_seconds = match (&r.best, simulate) {
        (Some(e), true) => Some(
            crate::sim::replay::replay_evaluation(
                hw,
                trace,
                r.clone(),
                e.clone(),
                crate::sim::SimOptions::default(),
            )?
            .sim
            .report
            .seconds,
        ),
        _ => None,
    };
    Ok(match &r.best {
        Some(e) => Outcome {
            feasible: e.feasible,
            seconds_per_step: e.seconds_per_iteration,
            optimal_seconds: r.optimal_seconds.unwrap_or(e.seconds_per_iteration),
            memory_bytes: e.memory_bytes.round() as u64,
            peak_bytes: [
                e.peak_bytes.sram.round() as u64,
                e.peak_bytes.dram.round() as u64,
                e.peak_bytes.ssd.round() as u64,
            ],
            memory: e.memory,
            energy_j: e.energy_joules,
            energy_dynamic_j: e.energy_breakdown.dynamic(),
            energy_static_j: e.energy_breakdown.static_total(),
            ssd_write_bytes: e.ssd_write_bytes,
            ssd_wear_out_steps: e.ssd_wear_out_steps,
            bound: e.bound.to_string(),
            schedule: e.schedule.to_string(),
            lower_bound_s: e.lower_bound_seconds,
            gap_pct: 100.0 * e.gap,
            lower_bound_terms: r.lower_bound,
            sim_seconds,
        },
        None => Outcome {
            feasible: false,
            seconds_per_step: f64::INFINITY,
            optimal_seconds: f64::INFINITY,
            memory_bytes: 0,
            peak_bytes: [0; 3],
            memory: crate::cost::MemoryMetrics::default(),
            energy_j: f64::INFINITY,
            energy_dynamic_j: f64::INFINITY,
            energy_static_j: f64::INFINITY,
            ssd_write_bytes: f64::INFINITY,
            ssd_wear_out_steps: None,
            bound: "infeasible".into(),
            schedule: r
                .reason
                .clone()
                .unwrap_or_else(|| "no feasible schedule".into()),
            lower_bound_s: r.lower_bound.seconds,
            gap_pct: f64::INFINITY,
            lower_bound_terms: r.lower_bound,
            sim_seconds: None,
        },
    })
}
