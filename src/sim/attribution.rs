//! Why the simulation differs from the analytic model: re-run the replay with each
//! effect switched off in turn and report how much time it accounted for.
//!
//! - `pipeline` = simulated with the analytic assumptions (ideal DRAM, independent
//!   links, no dependency stalls) minus analytic `paper`: chunk-level pipeline fill and
//!   drain and alternating bottlenecks between neighbouring steps (negative when the
//!   analytic fill/drain terms are more pessimistic than the replay).
//! - each named effect = full simulation minus full simulation with that effect off;
//! - `interaction` = what the single-effect deltas leave unexplained of (full - ideal),
//!   since effects overlap (e.g. turnaround only costs where the bus is shared).

use super::dram::DramFeatures;
use super::options::SimOptions;
use super::replay::{Replay, options_for};
use super::step::SimStep;
use crate::cost::{self, Mode, Model};
use crate::hw::HwConfig;
use crate::workload::Trace;
use serde::Serialize;

/// One effect's share of the simulated time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Effect {
    /// Effect name.
    pub name: String,
    /// Seconds it adds (full minus full-without-it).
    pub seconds: f64,
    /// As a fraction of the analytic `paper` time.
    pub fraction_of_analytic: f64,
}

/// Analytic vs simulated times of one schedule and the effects behind the difference.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attribution {
    /// Analytic, mode `paper` (s).
    pub analytic_paper_seconds: f64,
    /// Analytic, mode `shared-bus` (s).
    pub analytic_shared_bus_seconds: f64,
    /// Lower bound of the trace on this hardware with one shared DRAM bus (s): total
    /// compute, all DRAM-side compulsory traffic at peak, compulsory SSD traffic.
    pub shared_bus_lower_bound_seconds: f64,
    /// Simulated with the analytic assumptions (s).
    pub sim_ideal_seconds: f64,
    /// Simulated with every effect (s).
    pub sim_seconds: f64,
    /// `sim_ideal / analytic_paper - 1`.
    pub ideal_vs_paper: f64,
    /// `sim / analytic_paper - 1`.
    pub sim_vs_paper: f64,
    /// Effects, `pipeline` first and `interaction` last.
    pub effects: Vec<Effect>,
}

/// The effect switches: name and the full options with that effect off.
pub fn effect_switches(full: SimOptions) -> Vec<(&'static str, SimOptions)> {
    let dram = |f: DramFeatures| SimOptions {
        dram_features: f,
        ..full
    };
    vec![
        (
            "shared_bus_contention",
            SimOptions {
                shared_bus: false,
                ..full
            },
        ),
        (
            "read_write_turnaround",
            dram(DramFeatures {
                turnaround: false,
                ..full.dram_features
            }),
        ),
        (
            "refresh",
            dram(DramFeatures {
                refresh: false,
                ..full.dram_features
            }),
        ),
        (
            "row_misses",
            dram(DramFeatures {
                row_misses: false,
                ..full.dram_features
            }),
        ),
        (
            "dependency_fill_drain",
            SimOptions {
                dependency_sync: false,
                ..full
            },
        ),
        (
            "capacity_stalls",
            SimOptions {
                finite_buffers: false,
                ..full
            },
        ),
    ]
}

/// Simulations [`attribute`] runs: full, ideal and one per effect switch.
pub const ATTRIBUTION_RUNS: usize = 8;

/// Attributes the difference for the replayed schedule (runs [`ATTRIBUTION_RUNS`]
/// simulations).
pub fn attribute(hw: &HwConfig, trace: &Trace, r: &Replay) -> crate::Result<Attribution> {
    attribute_with_progress(hw, trace, r, &mut |_| {})
}

/// [`attribute`], calling `progress(name)` before each simulation.
pub fn attribute_with_progress(
    hw: &HwConfig,
    trace: &Trace,
    r: &Replay,
    progress: &mut dyn FnMut(&str),
) -> crate::Result<Attribution> {
    let prefetch = r.evaluation.schedule.prefetch;
    let paper = cost::steps_seconds(hw, Mode::Paper, prefetch, &r.steps);
    let shared = cost::steps_seconds(hw, Mode::SharedBus, prefetch, &r.steps);
    let lb = Model::new(hw, trace)?.lower_bound(Mode::SharedBus).seconds;
    attribute_steps(
        hw,
        &r.sim_steps,
        prefetch,
        r.options,
        [paper, shared, lb],
        progress,
    )
}

/// Attribution from simulator steps and the analytic figures `[paper, shared-bus,
/// shared-bus lower bound]` (s).
pub fn attribute_steps(
    hw: &HwConfig,
    steps: &[SimStep],
    prefetch: bool,
    full: SimOptions,
    [analytic_paper, analytic_shared_bus, lower_bound]: [f64; 3],
    progress: &mut dyn FnMut(&str),
) -> crate::Result<Attribution> {
    let full = options_for(prefetch, full);
    let mut run = |name: &str, o: &SimOptions| -> crate::Result<f64> {
        progress(name);
        Ok(super::simulate(hw, steps, o)?.report.seconds)
    };
    let sim = run("full", &full)?;
    let ideal = run("ideal", &options_for(prefetch, SimOptions::ideal()))?;
    let scale = analytic_paper.max(f64::MIN_POSITIVE);
    let effect = |name: &str, seconds: f64| Effect {
        name: name.to_string(),
        seconds,
        fraction_of_analytic: seconds / scale,
    };
    let mut effects = vec![effect("pipeline", ideal - analytic_paper)];
    let mut explained = 0.0;
    for (name, o) in effect_switches(full) {
        let d = sim - run(name, &o)?;
        explained += d;
        effects.push(effect(name, d));
    }
    effects.push(effect("interaction", (sim - ideal) - explained));
    Ok(Attribution {
        analytic_paper_seconds: analytic_paper,
        analytic_shared_bus_seconds: analytic_shared_bus,
        shared_bus_lower_bound_seconds: lower_bound,
        sim_ideal_seconds: ideal,
        sim_seconds: sim,
        ideal_vs_paper: ideal / scale - 1.0,
        sim_vs_paper: sim / scale - 1.0,
        effects,
    })
}
