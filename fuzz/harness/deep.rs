//! The path behind the readers: schedule search and cost model on a hardware/trace pair,
//! then the first few steps of the best schedule on the cycle-level simulator.

use edgesim::cost;
use edgesim::hw::HwConfig;
use edgesim::search::{SearchOptions, search};
use edgesim::sim::{self, SimOptions, replay};
use edgesim::workload::Trace;

/// Steps of the best schedule replayed on the cycle simulator (the simulator's cost grows
/// with the steps; a prefix reaches every engine and the DRAM model).
pub const SIM_STEPS: usize = 6;
/// Chunks per simulated step (the default is 256).
pub const SIM_CHUNKS: u64 = 4;
/// Placement grid of the search (the default is 0.05: 21^3 placements per combination).
pub const PLACEMENT_STEP: f64 = 0.25;

/// Searches, expands and simulates; asserts that every reported time, memory and energy
/// is finite.
pub fn search_and_simulate(hw: &HwConfig, trace: &Trace) {
    let opts = SearchOptions {
        placement_step: PLACEMENT_STEP,
        ..SearchOptions::default()
    };
    let r = search(hw, trace, &opts);
    assert!(
        r.lower_bound.seconds.is_finite(),
        "lower bound {}",
        r.lower_bound.seconds
    );
    if let Some(t) = r.optimal_seconds {
        assert!(t.is_finite(), "optimal seconds {t}");
    }
    let Some(best) = r.best else { return };
    assert!(
        best.seconds_per_iteration.is_finite()
            && best.memory_bytes.is_finite()
            && best.energy_joules.is_finite(),
        "best schedule: {} s, {} B, {} J",
        best.seconds_per_iteration,
        best.memory_bytes,
        best.energy_joules
    );
    let Ok(steps) = cost::expand(hw, trace, &best.schedule) else {
        return;
    };
    let prefetch = best.schedule.prefetch;
    let mut sim_steps = replay::sim_steps(&steps, prefetch, Some(&best));
    sim_steps.truncate(SIM_STEPS);
    for s in &mut sim_steps {
        s.deps.retain(|&d| d < SIM_STEPS);
    }
    let opts = SimOptions {
        max_chunks_per_step: SIM_CHUNKS,
        ..replay::options_for(prefetch, SimOptions::full())
    };
    // A clean error (the watchdog, a timing set the controller refuses) is a pass.
    let Ok(s) = sim::simulate(hw, &sim_steps, &opts) else {
        return;
    };
    assert!(
        s.report.seconds.is_finite(),
        "simulated {} s",
        s.report.seconds
    );
}
