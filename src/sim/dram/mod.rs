//! LPDDR4 timing model (JESD209-4): channels, banks, row buffers, FR-FCFS scheduling,
//! read/write turnaround and refresh, simulated command by command in memory clocks.
//!
//! - [`params`]: timing converted to integer memory clocks (tCK = 2000 / MT/s ns).
//! - [`mapping`]: address mapping `row:rank:bank:column-high:channel:column-low`, 256 B
//!   channel interleave by default (the module doc says why).
//! - [`controller`]: the event-driven FR-FCFS controller ([`simulate`]), configured by
//!   `[dram.controller]` (ranks, queue depth, write watermarks, CA occupancy, refresh
//!   postponement, watchdog).
//! - [`traffic`]: synthetic sequential / random / block streams.
//! - [`probe`]: one stream through the controller, reported as `edgesim dram` prints it.
//! - [`table`]: effective bandwidth by (read fraction, access pattern, request size),
//!   characterised and cached, which is what the system simulator charges DRAM
//!   transfers with (sequential DMA requests).

pub mod controller;
pub mod mapping;
pub mod params;
pub mod probe;
pub mod table;
pub mod traffic;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_keys;

pub use controller::{
    ControllerConfig, DramFeatures, DramRun, DramStats, Request, device, simulate,
};
pub use mapping::{AddressMapping, Location};
pub use params::DramParams;
pub use probe::{DramProbe, LatencyStats, ProbeSpec, probe};
pub use table::{Access, EfficiencyTable};
pub use traffic::{Pattern, stream};
