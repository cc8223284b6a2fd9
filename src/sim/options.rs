//! Which physical effects the simulator applies. Switching effects off one at a time is
//! how [`super::attribution`] explains the gap to the analytic model.

use super::dram::DramFeatures;
use serde::Serialize;

/// Simulator switches.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SimOptions {
    /// All DRAM-side transfers (DMA in/out, both SSD directions) share one LPDDR4 bus;
    /// off: each link has the full DRAM bandwidth to itself (the analytic `paper`
    /// assumption of independent links).
    pub shared_bus: bool,
    /// Charge DRAM transfers the LPDDR4 efficiency of their read/write mix; off: peak.
    pub dram_timing: bool,
    /// Which LPDDR4 effects the efficiency characterisation includes.
    pub dram_features: DramFeatures,
    /// Bytes per DMA request to DRAM (sequential streams; a multiple of 32 B).
    pub dma_request_bytes: u32,
    /// A step's first load waits for the stores of the steps it depends on (data that
    /// round-trips through DRAM); off: dependencies are ignored beyond program order.
    pub dependency_sync: bool,
    /// Double-buffered SRAM: loads may run at most `buffer_depth` chunks ahead of the
    /// array and the array at most that far ahead of the stores. Off: unbounded buffers.
    pub finite_buffers: bool,
    /// Buffers per direction (2 = double buffering).
    pub buffer_depth: usize,
    /// Overlap transfers with compute (the schedule's `prefetch`); off: each step's parts
    /// run in sequence.
    pub overlap: bool,
    /// Pay the SSD access latency once per step and direction.
    pub ssd_latency: bool,
    /// Upper bound of chunks a step is split into (simulation resolution vs speed).
    pub max_chunks_per_step: u64,
    /// Watchdog: the replay stops with an error when simulated time advances by more
    /// than this many accelerator cycles without any engine finishing a chunk (default
    /// 2^42, 73 minutes at 1 GHz: no chunk of a shipped workload comes near it, while a
    /// livelocked or starved model is caught instead of running for ever).
    pub watchdog_cycles: u64,
}

impl SimOptions {
    /// Every modelled effect on.
    pub fn full() -> Self {
        SimOptions {
            shared_bus: true,
            dram_timing: true,
            dram_features: DramFeatures::ALL,
            dma_request_bytes: 256,
            dependency_sync: true,
            finite_buffers: true,
            buffer_depth: 2,
            overlap: true,
            ssd_latency: true,
            max_chunks_per_step: 256,
            watchdog_cycles: 1 << 42,
        }
    }

    /// The analytic `paper` model's assumptions: ideal DRAM at peak, independent links,
    /// no dependency stalls. Buffers stay finite (double-buffered), since overlap within
    /// a step needs them.
    pub fn ideal() -> Self {
        SimOptions {
            shared_bus: false,
            dram_timing: false,
            dependency_sync: false,
            ..Self::full()
        }
    }
}

impl Default for SimOptions {
    fn default() -> Self {
        Self::full()
    }
}
