//! From the analytic model to the simulator: converts the cost model's expanded steps
//! into [`SimStep`]s, runs the search's best schedule through the simulator, and sets
//! the result beside the analytic times.

use super::options::SimOptions;
use super::report::Simulation;
use super::step::{Engine, SimStep};
use crate::cost::{self, Evaluation, Mode, Step};
use crate::error::{Error, Result};
use crate::hw::HwConfig;
use crate::search::{SearchOptions, SearchResult, search};
use crate::workload::Trace;
use serde::Serialize;

/// Converts expanded steps. The array's work is `max(array, SRAM-port)` cycles, the
/// vector unit's its own cycles (the analytic `T_comp`); a step is cut into chunks of
/// its tile set, half its double-buffered SRAM footprint when prefetching.
///
/// Tier occupancy per step is reconstructed from the class-tagged traffic: saved
/// tensors written to DRAM stay until written back to the SSD or read by backward, and
/// on the SSD until prefetched back; the constant part (weights, gradients, optimizer
/// state, staging, working set) is calibrated so the profile's peak equals the analytic
/// peak of `eval`.
pub fn sim_steps(steps: &[Step], prefetch: bool, eval: Option<&Evaluation>) -> Vec<SimStep> {
    let mut out: Vec<SimStep> = steps
        .iter()
        .map(|s| {
            let mut work = [0u64; 6];
            work[Engine::DmaIn.idx()] = s.r_to_sram.total();
            work[Engine::Array.idx()] = s.array_cycles.max(s.sram_port_cycles);
            work[Engine::Vector.idx()] = s.vector_cycles;
            work[Engine::DmaOut.idx()] = s.w_to_dram.total();
            work[Engine::SsdIn.idx()] = s.r_to_dram.total();
            work[Engine::SsdOut.idx()] = s.w_to_ssd.total();
            SimStep {
                label: step_label(s),
                work,
                deps: s.deps.clone(),
                sram_tile_bytes: if prefetch {
                    s.sram_bytes / 2
                } else {
                    s.sram_bytes
                },
                macs: s.native_macs,
                fp16_macs: s.fp16_macs,
                vector_ops: s.vector_ops,
                sram_port_bytes: s.sram_port_bytes,
                dram_resident_bytes: None,
                ssd_resident_bytes: None,
            }
        })
        .collect();
    if let Some(e) = eval {
        // Running balance of saved tensors per tier: written to DRAM in forward, moved
        // to the SSD by write-back and back by prefetch, freed when backward reads them.
        let (mut dram, mut ssd) = (0i128, 0i128);
        let mut dyn_dram = Vec::with_capacity(steps.len());
        let mut dyn_ssd = Vec::with_capacity(steps.len());
        for s in steps {
            dram += s.w_to_dram.saved as i128 + s.r_to_dram.saved as i128;
            ssd += s.w_to_ssd.saved as i128;
            dyn_dram.push(dram.max(0) as u64);
            dyn_ssd.push(ssd.max(0) as u64);
            dram = (dram - s.w_to_ssd.saved as i128 - s.r_to_sram.saved as i128).max(0);
            ssd = (ssd - s.r_to_dram.saved as i128).max(0);
        }
        let base = |peak: f64, d: &[u64]| {
            (peak as u64).saturating_sub(d.iter().copied().max().unwrap_or(0))
        };
        let bd = base(e.peak_bytes.dram, &dyn_dram);
        let bs = base(e.peak_bytes.ssd, &dyn_ssd);
        for (i, s) in out.iter_mut().enumerate() {
            s.dram_resident_bytes = Some(bd + dyn_dram[i]);
            s.ssd_resident_bytes = Some(bs + dyn_ssd[i]);
        }
    }
    out
}

fn step_label(s: &Step) -> String {
    match s.column {
        Some(c) => format!(
            "col{c} mb{}-{}{}",
            s.first_micro_batch,
            s.first_micro_batch + s.micro_batches.max(1) - 1,
            if s.recomputes { " recompute" } else { "" }
        ),
        None => "optimizer".to_string(),
    }
}

/// Names each step by its Trace entry, pass and micro-batches for timelines:
/// `L12 bwd mb0-3` (entry label `L12.bwd`), `head fwd mb4-7 recompute`, `optimizer`.
/// `sim` and `steps` are parallel (as [`sim_steps`] returns them).
pub fn label_steps(sim: &mut [SimStep], steps: &[Step], trace: &Trace) {
    for (st, s) in sim.iter_mut().zip(steps) {
        let Some(entry) = s.column.and_then(|c| trace.entries.get(c)) else {
            continue;
        };
        st.label = format!(
            "{} mb{}-{}{}",
            entry.label.replace('.', " "),
            s.first_micro_batch,
            s.first_micro_batch + s.micro_batches.max(1) - 1,
            if s.recomputes { " recompute" } else { "" }
        );
    }
}

/// The simulator's options for a schedule: overlap follows the schedule's prefetching.
pub fn options_for(prefetch: bool, base: SimOptions) -> SimOptions {
    SimOptions {
        overlap: prefetch,
        ..base
    }
}

/// Analytic and simulated times of one schedule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// Analytic, mode `paper` (s).
    pub analytic_paper_seconds: f64,
    /// Analytic, mode `shared-bus` (s).
    pub analytic_shared_bus_seconds: f64,
    /// The search space's lower bound (s).
    pub lower_bound_seconds: f64,
    /// Simulated with the analytic assumptions (ideal DRAM, independent links) (s).
    pub sim_ideal_seconds: f64,
    /// Simulated with every effect (s).
    pub sim_seconds: f64,
}

/// A searched schedule, its steps and its simulation.
#[derive(Debug, Clone)]
pub struct Replay {
    /// The search outcome (its best evaluation is what was replayed).
    pub search: SearchResult,
    /// The best evaluation.
    pub evaluation: Evaluation,
    /// The cost model's steps.
    pub steps: Vec<Step>,
    /// The simulator's steps.
    pub sim_steps: Vec<SimStep>,
    /// The simulation with the requested options.
    pub sim: Simulation,
    /// The options used.
    pub options: SimOptions,
}

/// Searches the best schedule of `trace` on `hw` and replays it with `opts` (overlap set
/// from the schedule). Errors when no schedule is feasible.
pub fn replay_best(
    hw: &HwConfig,
    trace: &Trace,
    search_opts: &SearchOptions,
    opts: SimOptions,
) -> Result<Replay> {
    let result = search(hw, trace, search_opts);
    let Some(eval) = result.best.clone() else {
        return Err(Error::Other(format!(
            "{}: no feasible schedule on {}: {}",
            trace.workload,
            hw.name,
            result.reason.clone().unwrap_or_default()
        )));
    };
    replay_evaluation(hw, trace, result, eval, opts)
}

/// Replays a given evaluation's schedule.
pub fn replay_evaluation(
    hw: &HwConfig,
    trace: &Trace,
    search: SearchResult,
    evaluation: Evaluation,
    opts: SimOptions,
) -> Result<Replay> {
    let steps = cost::expand(hw, trace, &evaluation.schedule)?;
    let prefetch = evaluation.schedule.prefetch;
    let mut sim_steps = sim_steps(&steps, prefetch, Some(&evaluation));
    label_steps(&mut sim_steps, &steps, trace);
    let options = options_for(prefetch, opts);
    let sim = super::simulate(hw, &sim_steps, &options)?;
    Ok(Replay {
        search,
        evaluation,
        steps,
        sim_steps,
        sim,
        options,
    })
}

impl Replay {
    /// Analytic figures of the replayed schedule beside the simulated ones (runs the
    /// ideal replay in addition).
    ///
    /// # Errors
    /// The simulator's watchdog error ([`super::simulate`]).
    pub fn comparison(&self, hw: &HwConfig) -> Result<Comparison> {
        let prefetch = self.evaluation.schedule.prefetch;
        let ideal = super::simulate(
            hw,
            &self.sim_steps,
            &options_for(prefetch, SimOptions::ideal()),
        )?;
        Ok(Comparison {
            analytic_paper_seconds: cost::steps_seconds(hw, Mode::Paper, prefetch, &self.steps),
            analytic_shared_bus_seconds: cost::steps_seconds(
                hw,
                Mode::SharedBus,
                prefetch,
                &self.steps,
            ),
            lower_bound_seconds: self.search.lower_bound.seconds,
            sim_ideal_seconds: ideal.report.seconds,
            sim_seconds: self.sim.report.seconds,
        })
    }
}
