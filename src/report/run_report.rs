//! Report of `edgesim run`: one result per workload, as text table or JSON.

use crate::cost::{Evaluation, Mode};
use crate::hw::HwConfig;
use crate::search::{SchedulePoint, SearchResult};
use crate::workload::Trace;
use serde_json::Value;

/// One workload's outcome on one hardware configuration.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// Workload name.
    pub workload: String,
    /// Hardware name.
    pub hw: String,
    /// Step-time mode.
    pub mode: Mode,
    /// The search outcome.
    pub search: SearchResult,
}

impl RunResult {
    /// Bundles a search outcome.
    pub fn new(hw: &HwConfig, trace: &Trace, mode: Mode, search: SearchResult) -> Self {
        RunResult {
            workload: trace.workload.clone(),
            hw: hw.name.clone(),
            mode,
            search,
        }
    }

    /// The chosen evaluation, if feasible.
    pub fn best(&self) -> Option<&Evaluation> {
        self.search.best.as_ref()
    }
}

/// Speed-up and normalised memory of the LAST result against the FIRST (None when either
/// is infeasible or there is only one result).
pub fn comparison(results: &[RunResult]) -> (Option<f64>, Option<f64>) {
    if results.len() < 2 {
        return (None, None);
    }
    match (results[0].best(), results[results.len() - 1].best()) {
        (Some(a), Some(b)) => (
            Some(a.seconds_per_iteration / b.seconds_per_iteration),
            Some(b.memory_bytes / a.memory_bytes),
        ),
        _ => (None, None),
    }
}

/// Every memory figure ([`crate::cost::memory`]) of the LAST result over the FIRST's
/// (None as in [`comparison`]).
pub fn memory_comparison(results: &[RunResult]) -> Option<crate::cost::MemoryMetrics> {
    if results.len() < 2 {
        return None;
    }
    match (results[0].best(), results[results.len() - 1].best()) {
        (Some(a), Some(b)) => Some(b.memory.ratio_to(&a.memory)),
        _ => None,
    }
}

/// The `edgesim run --json` document of `results` (searched, no notes): the
/// serialisation of [`crate::api::RunDocument`], the one definition of that document.
pub fn run_json(results: &[RunResult]) -> Value {
    let names: Vec<&str> = results.iter().map(|r| r.workload.as_str()).collect();
    let searches: Vec<&SearchResult> = results.iter().map(|r| &r.search).collect();
    let opts = crate::api::RunOptions {
        mode: results
            .first()
            .map_or(crate::cost::Mode::SharedBus, |r| r.mode),
        pareto: results.iter().any(|r| !r.search.pareto.is_empty()),
        ..crate::api::RunOptions::default()
    };
    let hw = results.first().map_or("", |r| r.hw.as_str());
    let doc = crate::api::run_document(hw, &names, &searches, None, Vec::new(), &opts);
    serde_json::to_value(&doc).unwrap_or(Value::Null)
}

fn gib(b: f64) -> String {
    format!("{:.2} GiB", b / (1u64 << 30) as f64)
}

/// The time/memory Pareto front as indented rows, the chosen schedule marked `*`.
fn pareto_text(out: &mut String, front: &[SchedulePoint], chosen: &Evaluation) {
    use std::fmt::Write;
    if front.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "   time/memory Pareto front    {} schedules (* chosen)",
        front.len()
    );
    for p in front {
        let mark = if p.schedule == chosen.schedule {
            '*'
        } else {
            ' '
        };
        let _ = writeln!(
            out,
            "    {mark} {:>10.3} s {:>10}  {}",
            p.seconds,
            gib(p.memory_bytes),
            p.schedule
        );
    }
}

/// Human-readable report.
pub fn run_text(results: &[RunResult]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let reference = results.first().and_then(RunResult::best);
    for r in results {
        let _ = writeln!(out, "== {} on {} (mode {})", r.workload, r.hw, r.mode);
        let s = &r.search;
        match &s.best {
            None => {
                let _ = writeln!(
                    out,
                    "   infeasible: {}",
                    s.reason.as_deref().unwrap_or("no feasible schedule")
                );
            }
            Some(e) => {
                let _ = writeln!(
                    out,
                    "   seconds per optimizer step  {:.3} s",
                    e.seconds_per_iteration
                );
                if let (Some(t), Some(m)) = (s.optimal_seconds, s.optimal_memory_bytes)
                    && (t != e.seconds_per_iteration || m != e.memory_bytes)
                {
                    let _ = writeln!(
                        out,
                        "   fastest schedule            {t:.3} s needing {}; reported: least memory within {}% of it",
                        gib(m),
                        (100.0 * s.time_slack * 1e6).round() / 1e6
                    );
                }
                if let Some(base) = reference {
                    let _ = writeln!(
                        out,
                        "   speed-up vs reference       {:.2}x",
                        base.seconds_per_iteration / e.seconds_per_iteration
                    );
                    let r = e.memory.ratio_to(&base.memory);
                    let _ = writeln!(
                        out,
                        "   memory vs reference         {:.2}x total, {:.2}x device, {:.2}x activations, {:.2}x tuning state",
                        r.total_bytes, r.device_bytes, r.activation_bytes, r.tuning_state_bytes
                    );
                }
                let _ = writeln!(
                    out,
                    "   total tuning memory         {} (every tensor once, DRAM + SSD)",
                    gib(e.memory_bytes)
                );
                let _ = writeln!(
                    out,
                    "   device memory               {} (peak DRAM + SRAM)",
                    gib(e.memory.device_bytes)
                );
                let _ = writeln!(
                    out,
                    "   activation memory           {} (peak bytes saved for backward)",
                    gib(e.memory.activation_bytes)
                );
                let _ = writeln!(
                    out,
                    "   tuning state                {} (trainable weights + gradients + optimizer state)",
                    gib(e.memory.tuning_state_bytes)
                );
                let _ = writeln!(
                    out,
                    "   peak SRAM / DRAM / SSD      {:.0} KiB / {} / {}",
                    e.peak_bytes.sram / 1024.0,
                    gib(e.peak_bytes.dram),
                    gib(e.peak_bytes.ssd)
                );
                let terms: Vec<String> = e
                    .bound_seconds
                    .iter()
                    .map(|(b, t)| format!("{b} {:.1}%", 100.0 * t / e.seconds_per_iteration))
                    .collect();
                let _ = writeln!(
                    out,
                    "   bound                       {} ({})",
                    e.bound,
                    terms.join(", ")
                );
                let b = &e.energy_breakdown;
                let _ = writeln!(
                    out,
                    "   energy                      {:.1} J = dynamic {:.1} J (MAC {:.3}, vector {:.3}, SRAM {:.3}, DRAM {:.3}, SSD {:.3} J) + static {:.1} J (array {:.3}, SRAM {:.3}, DRAM {:.3}, SSD {:.3} J)",
                    e.energy_joules,
                    b.dynamic(),
                    b.mac,
                    b.vector,
                    b.sram,
                    b.dram,
                    b.ssd,
                    b.static_total(),
                    b.array_static,
                    b.sram_static,
                    b.dram_static,
                    b.ssd_static
                );
                let _ = writeln!(
                    out,
                    "   SSD traffic per step        {:.2} GB written, {:.2} GB read; {}",
                    e.ssd_write_bytes / 1e9,
                    e.ssd_read_bytes / 1e9,
                    match e.ssd_wear_out_steps {
                        Some(n) => format!("rated wear-out after {n:.0} steps"),
                        None => "no SSD wear".to_string(),
                    }
                );
                let _ = writeln!(out, "   schedule                    {}", e.schedule);
                let _ = writeln!(
                    out,
                    "   lower bound                 {:.3} s (compute {:.3}, DRAM {:.3}, SSD {:.3}); gap {:.2}%",
                    s.lower_bound.seconds,
                    s.lower_bound.compute_seconds,
                    s.lower_bound.dram_seconds,
                    s.lower_bound.ssd_seconds,
                    100.0 * e.gap
                );
                let _ = writeln!(
                    out,
                    "   DRAM bound                  {:.3} s = compulsory {:.3} s + SRAM-limited GEMM reads {}",
                    s.lower_bound.dram_seconds,
                    s.lower_bound.dram_compulsory_seconds,
                    gib(s.lower_bound.dram_sram_excess_bytes)
                );
                let _ = writeln!(
                    out,
                    "   candidates evaluated        {} of {}",
                    s.candidates_evaluated, s.space_size
                );
                pareto_text(&mut out, &s.pareto, e);
            }
        }
    }
    let (speedup, norm_mem) = comparison(results);
    if let (Some(sp), Some(nm), Some(r)) = (speedup, norm_mem, memory_comparison(results)) {
        let _ = writeln!(
            out,
            "{} vs {}: speed-up {:.2}x, normalised memory {:.2}x total, {:.2}x device, {:.2}x activations",
            results[results.len() - 1].workload,
            results[0].workload,
            sp,
            nm,
            r.device_bytes,
            r.activation_bytes
        );
    }
    out
}
