//! The simulator's result: cycles, seconds, per-engine utilisation and stall reasons,
//! sampled tier occupancy and energy. Plain serialisable data.

use super::engine::{RawRun, Span, StallReason};
use super::machine::Machine;
use super::step::{Engine, SimStep};
use crate::cost::energy::{self, Activity};
use serde::Serialize;
use std::collections::BTreeMap;

/// Occupancy samples kept per tier (bucket maxima over the run).
pub const OCCUPANCY_SAMPLES: usize = 512;

/// One engine's account.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EngineReport {
    /// Engine name.
    pub name: String,
    /// Cycles busy (transfers: from start to end of each chunk's flow, incl. SSD latency).
    pub busy_cycles: u64,
    /// busy / total cycles.
    pub utilization: f64,
    /// Work done: bytes for transfers, cycles for compute.
    pub work: u64,
    /// Achieved bandwidth while busy, GB/s (transfers only).
    pub achieved_gbps: Option<f64>,
    /// Idle cycles by reason (`input`, `buffer_full`, `dependency`, `idle`).
    pub stalls: BTreeMap<String, u64>,
    /// Cycles transfers took beyond their link's uncontended ideal time (bus sharing,
    /// DRAM timing, SSD latency).
    pub bandwidth_loss_cycles: u64,
}

/// One occupancy sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OccupancySample {
    /// Start cycle of the sample's bucket.
    pub cycle: u64,
    /// Highest occupancy within the bucket, bytes.
    pub bytes: u64,
}

/// Energy by component (J): the analytic model's breakdown type and rule
/// ([`crate::cost::energy`]).
pub use crate::cost::EnergyBreakdown;

/// Result of one simulation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimReport {
    /// Total accelerator cycles.
    pub cycles: u64,
    /// Seconds at the accelerator clock.
    pub seconds: f64,
    /// Engine name -> busy fraction.
    pub utilization: BTreeMap<String, f64>,
    /// Total energy (J).
    pub energy_joules: f64,
    /// Energy by component, [`crate::cost::energy::energy`] of the steps' compute activity
    /// and the bytes the transfer engines moved, plus static power x the simulated
    /// seconds. Timing effects change when bytes move, not how many, so the dynamic part
    /// equals the analytic energy of the same steps; the static part follows the time.
    pub energy: EnergyBreakdown,
    /// Per-engine detail.
    pub engines: Vec<EngineReport>,
    /// Sampled SRAM occupancy (double-buffered chunks in flight).
    pub sram_occupancy: Vec<OccupancySample>,
    /// Sampled DRAM occupancy (resident bytes of the step being computed).
    pub dram_occupancy: Vec<OccupancySample>,
    /// Sampled SSD occupancy.
    pub ssd_occupancy: Vec<OccupancySample>,
    /// Steps replayed.
    pub steps: usize,
    /// Chunks the steps were cut into.
    pub chunks: u64,
    /// Events processed by the event queue.
    pub events: u64,
}

/// Bucket maxima of a step function given by change points.
pub fn downsample(points: &[(u64, u64)], cycles: u64, n: usize) -> Vec<OccupancySample> {
    if points.is_empty() || cycles == 0 || n == 0 {
        return Vec::new();
    }
    let width = cycles.div_ceil(n as u64).max(1);
    let buckets = cycles.div_ceil(width) as usize;
    let mut out = Vec::with_capacity(buckets);
    let mut value = 0u64;
    let mut k = 0usize;
    for b in 0..buckets {
        let lo = b as u64 * width;
        let hi = lo + width;
        let mut peak = value;
        while k < points.len() && points[k].0 < hi {
            value = points[k].1;
            peak = peak.max(value);
            k += 1;
        }
        out.push(OccupancySample {
            cycle: lo,
            bytes: peak,
        });
    }
    out
}

/// Builds the report.
pub fn build(raw: &RawRun, steps: &[SimStep], m: &Machine) -> SimReport {
    let cycles = raw.cycles;
    let total = cycles.max(1) as f64;
    let mut utilization = BTreeMap::new();
    let mut engines = Vec::new();
    for e in Engine::ALL {
        let i = e.idx();
        let u = raw.busy[i] as f64 / total;
        utilization.insert(e.name().to_string(), u);
        let stalls = StallReason::ALL
            .iter()
            .map(|r| {
                let name = serde_json::to_value(r)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                (name, raw.stall[i][*r as usize])
            })
            .collect();
        let achieved_gbps = (e.is_transfer() && raw.busy[i] > 0)
            .then(|| raw.work[i] as f64 / raw.busy[i] as f64 * m.clock_hz / 1e9);
        engines.push(EngineReport {
            name: e.name().to_string(),
            busy_cycles: raw.busy[i],
            utilization: u,
            work: raw.work[i],
            achieved_gbps,
            stalls,
            bandwidth_loss_cycles: raw.bandwidth_loss[i],
        });
    }
    let w = |e: Engine| raw.work[e.idx()] as f64;
    let mut activity = Activity {
        dram_to_sram: w(Engine::DmaIn),
        sram_to_dram: w(Engine::DmaOut),
        ssd_to_dram: w(Engine::SsdIn),
        dram_to_ssd: w(Engine::SsdOut),
        ..Activity::default()
    };
    for s in steps {
        activity.native_macs += s.macs;
        activity.fp16_macs += s.fp16_macs;
        activity.vector_ops += s.vector_ops;
        activity.sram_port_bytes += s.sram_port_bytes as f64;
    }
    let seconds = cycles as f64 / m.clock_hz;
    let energy = energy::energy(&m.energy_pj, &activity).with_static(&m.static_power, seconds);
    SimReport {
        cycles,
        seconds,
        utilization,
        energy_joules: energy.total(),
        energy,
        engines,
        sram_occupancy: downsample(&raw.sram_occupancy, cycles, OCCUPANCY_SAMPLES),
        dram_occupancy: downsample(&raw.dram_occupancy, cycles, OCCUPANCY_SAMPLES),
        ssd_occupancy: downsample(&raw.ssd_occupancy, cycles, OCCUPANCY_SAMPLES),
        steps: steps.len(),
        chunks: raw.chunks,
        events: raw.events,
    }
}

/// A report plus what the timeline writers need.
#[derive(Debug, Clone)]
pub struct Simulation {
    /// The report.
    pub report: SimReport,
    /// Busy spans per (engine, step), sorted by engine then start.
    pub spans: Vec<Span>,
    /// Busy intervals per engine (the engine working), sorted by engine then start; per
    /// engine they sum to the report's `busy_cycles`.
    pub busy_spans: Vec<Span>,
    /// Step labels, indexed by `Span::step`.
    pub labels: Vec<String>,
    /// SRAM occupancy change points (full resolution, for the trace counters).
    pub sram_points: Vec<(u64, u64)>,
    /// DRAM occupancy change points.
    pub dram_points: Vec<(u64, u64)>,
    /// Accelerator clock (Hz).
    pub clock_hz: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downsample_keeps_bucket_peaks() {
        // 0..10: value 5 from 0, 9 from 3, 1 from 4, 7 from 8; two buckets of 5.
        let pts = [(0, 5), (3, 9), (4, 1), (8, 7)];
        let s = downsample(&pts, 10, 2);
        assert_eq!(
            s,
            vec![
                OccupancySample { cycle: 0, bytes: 9 },
                OccupancySample { cycle: 5, bytes: 7 }
            ]
        );
    }
}
