//! Cycle-level simulation: the LPDDR4 model ([`dram`]) and the event-driven replay of a
//! schedule on the modelled accelerator.

pub mod dram;
