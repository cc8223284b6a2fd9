//! LPDDR4 timing model (JESD209-4): channels, banks, row buffers, FR-FCFS scheduling,
//! read/write turnaround and refresh, simulated command by command in memory clocks.
//!
//! - [`params`]: timing converted to integer memory clocks (tCK = 2000 / MT/s ns).
//! - [`mapping`]: address mapping `row:bank:column-high:channel:column-low`, 256 B
//!   channel interleave (the module doc says why).
//! - [`controller`]: the event-driven FR-FCFS controller ([`simulate`]).
//! - [`traffic`]: synthetic sequential / random streams.
//! - [`table`]: effective bandwidth by (read fraction, access pattern, request size),
//!   characterised and cached, which is what the system simulator charges DRAM
//!   transfers with (sequential DMA requests).

pub mod controller;
pub mod mapping;
pub mod params;
pub mod table;
pub mod traffic;

#[cfg(test)]
mod tests;

pub use controller::{ControllerConfig, DramFeatures, DramRun, DramStats, Request, simulate};
pub use mapping::{AddressMapping, Location};
pub use params::DramParams;
pub use table::{Access, EfficiencyTable};
pub use traffic::{Pattern, stream};
