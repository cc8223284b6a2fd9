//! The hardware as the simulator sees it: rates in bytes per accelerator cycle, derived
//! once from the [`HwConfig`].

use super::dram::{Access, EfficiencyTable, Pattern};
use super::options::SimOptions;
use crate::hw::{DramKind, HwConfig};
use std::sync::Arc;

/// Link rates and capacities in accelerator-clock units.
#[derive(Debug, Clone)]
pub struct Machine {
    /// Accelerator clock (Hz).
    pub clock_hz: f64,
    /// DRAM peak bandwidth, bytes per accelerator cycle (25.6 GB/s at 1 GHz = 25.6).
    pub dram_peak: f64,
    /// SSD read bandwidth, bytes per cycle.
    pub ssd_read: f64,
    /// SSD write bandwidth, bytes per cycle.
    pub ssd_write: f64,
    /// SRAM port bandwidth, bytes per cycle (caps each DMA direction).
    pub sram_port: f64,
    /// SSD access latency, cycles.
    pub ssd_latency: u64,
    /// SRAM capacity, bytes.
    pub sram_capacity: u64,
    /// DRAM efficiency by read fraction (all ones when DRAM timing is off or the DRAM is
    /// declared ideal).
    pub dram_eff: Arc<EfficiencyTable>,
    /// Energy per byte of DRAM, SRAM and SSD traffic and per MAC / vector op (pJ).
    pub energy_pj: EnergyPerAccess,
    /// Static power per component (mW).
    pub static_power: crate::cost::StaticPower,
    /// `ssd.full_duplex`: SSD reads and writes each at their full rate at once; else they
    /// share one link in time.
    pub ssd_full_duplex: bool,
}

/// Per-access energies (pJ), shared with the analytic model.
pub use crate::cost::EnergyPerAccess;

impl Machine {
    /// Derives the rates; characterises the DRAM (cached) when `opts.dram_timing` is on.
    ///
    /// # Errors
    /// The DRAM controller's watchdog error when the characterisation cannot finish.
    pub fn new(hw: &HwConfig, opts: &SimOptions) -> crate::Result<Self> {
        let clock_hz = hw.clock_hz();
        let dram_eff = if opts.dram_timing && hw.dram.kind == DramKind::Lpddr4 {
            let access = Access {
                pattern: Pattern::Sequential,
                request_bytes: opts.dma_request_bytes,
            };
            let (p, map, cfg) = super::dram::device(&hw.dram);
            EfficiencyTable::cached(&p, &map, &cfg, opts.dram_features, access)?
        } else {
            Arc::new(EfficiencyTable::ideal())
        };
        Ok(Machine {
            clock_hz,
            dram_peak: hw.dram.peak_bytes_per_s() / clock_hz,
            ssd_read: hw.ssd.read_bytes_per_s() / clock_hz,
            ssd_write: hw.ssd.write_bytes_per_s() / clock_hz,
            sram_port: hw.sram.bandwidth_bytes_per_cycle,
            ssd_latency: (hw.ssd.latency_us * 1e-6 * clock_hz).round() as u64,
            sram_capacity: hw.sram.capacity_bytes(),
            dram_eff,
            energy_pj: EnergyPerAccess::of(hw),
            static_power: crate::cost::StaticPower::of(hw),
            ssd_full_duplex: hw.ssd.full_duplex,
        })
    }
}
