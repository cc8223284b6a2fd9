//! Cycle-level simulation: the LPDDR4 model ([`dram`]) and the event-driven replay of a
//! schedule on the modelled accelerator ([`simulate`]).
//!
//! The analytic cost model assumes that in every step the four transfers and the compute
//! overlap perfectly and that each link has its bandwidth to itself. The simulator
//! replays the same steps with engines in integer accelerator cycles, finite
//! double-buffered SRAM, dependencies through DRAM, a shared LPDDR4 bus whose efficiency
//! depends on the read/write mix, and SSD latency, and so shows where that holds.

pub mod attribution;
pub mod dram;
pub mod engine;
pub mod gantt;
pub mod machine;
pub mod options;
pub mod replay;
pub mod report;
pub mod step;
pub mod timeline;

pub use engine::{RawRun, Span, StallReason};
pub use machine::Machine;
pub use options::SimOptions;
pub use report::{SimReport, Simulation};
pub use step::{Engine, SimStep};

use crate::hw::HwConfig;

/// Simulates `steps` on `hw` with the given effects.
///
/// # Errors
/// A watchdog error of the DRAM characterisation ([`dram::simulate`]) or of the replay
/// ([`engine::replay`]) naming what was stuck.
pub fn simulate(hw: &HwConfig, steps: &[SimStep], opts: &SimOptions) -> crate::Result<Simulation> {
    let m = Machine::new(hw, opts)?;
    let raw = engine::replay(steps, &m, opts)?;
    let report = report::build(&raw, steps, &m);
    Ok(Simulation {
        report,
        labels: steps.iter().map(|s| s.label.clone()).collect(),
        sram_points: raw.sram_occupancy,
        dram_points: raw.dram_occupancy,
        spans: raw.spans,
        busy_spans: raw.busy_spans,
        clock_hz: m.clock_hz,
    })
}

#[cfg(test)]
mod tests;
