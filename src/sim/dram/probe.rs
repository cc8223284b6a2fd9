//! `edgesim dram`: drive the controller with one synthetic stream and report what a
//! memory-system tool reports (bandwidth, efficiency, read latency distribution,
//! row-hit rate, command counts), so the model can be checked against DRAMsim3,
//! Ramulator or a measurement.
//!
//! Two simulations per probe:
//! - loaded: `requests` requests all arriving at clock 0 (a saturating source blocked
//!   only by full queues); bandwidth, efficiency and counters come from it, and its read
//!   latency runs from a request's admission into the controller's queue to its last data
//!   beat (queueing inside the controller included, waiting in the source not);
//! - unloaded: the first `min(requests, 2000)` requests, each arriving after the
//!   previous one has certainly finished (spacing below), so a read pays only the device
//!   (row hit, miss or conflict, and a refresh if one falls on it).

use super::controller::{DramFeatures, simulate};
use super::params::DramParams;
use super::traffic::{Pattern, stream};
use crate::error::{Error, Result};
use crate::hw::{Dram, DramKind};

/// Requests of the unloaded measurement.
const UNLOADED_REQUESTS: u64 = 2000;
/// Where flag errors point.
const SRC: &str = "edgesim dram";

/// Largest request: AMBA AXI (ARM IHI 0022) forbids a burst to cross a 4 KiB address
/// boundary, so a DMA engine on an AXI fabric never issues more than 4 KiB at once (and
/// the controller's per-request burst bookkeeping grows with the square of its size).
pub const MAX_REQUEST_BYTES: u32 = 4096;

/// Most requests of one loaded run: a million 64 B reads simulate in a few seconds and
/// keep every latency sample in a few tens of MB.
pub const MAX_REQUESTS: u64 = 1_000_000;

/// What to drive the controller with.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ProbeSpec {
    /// Address pattern.
    pub pattern: Pattern,
    /// Fraction of requests (or, for blocks, of blocks) that read, in [0, 1].
    pub read_fraction: f64,
    /// Bytes per request: a multiple of the burst (32 B on x16 BL16), at most 64 KiB.
    pub request_bytes: u32,
    /// Requests of the loaded run, in [1, 10^7].
    pub requests: u64,
    /// Seed of the random addresses.
    pub seed: u64,
}

impl Default for ProbeSpec {
    /// Random 64 B reads, 20,000 requests (~40 refresh intervals at LPDDR4-3200), seed 1.
    fn default() -> Self {
        ProbeSpec {
            pattern: Pattern::Random,
            read_fraction: 1.0,
            request_bytes: 64,
            requests: 20_000,
            seed: 1,
        }
    }
}

impl ProbeSpec {
    /// Checks the spec against a device with `burst_bytes` per burst.
    ///
    /// # Errors
    /// [`Error::Input`] naming the flag (`--read-fraction`, `--request-bytes`,
    /// `--requests`, `--pattern`) and its allowed range.
    pub fn check(&self, burst_bytes: u32) -> Result<()> {
        let bb = burst_bytes.max(1);
        if !(0.0..=1.0).contains(&self.read_fraction) {
            return Err(Error::input(
                SRC,
                "--read-fraction",
                format!("{} is out of range; allowed [0, 1]", self.read_fraction),
            ));
        }
        if self.request_bytes == 0
            || !self.request_bytes.is_multiple_of(bb)
            || self.request_bytes > MAX_REQUEST_BYTES
        {
            return Err(Error::input(
                SRC,
                "--request-bytes",
                format!(
                    "{} is not allowed; allowed multiples of the {bb} B burst in [{bb}, {MAX_REQUEST_BYTES}] (an AXI burst may not cross a 4 KiB boundary)",
                    self.request_bytes
                ),
            ));
        }
        if !(1..=MAX_REQUESTS).contains(&self.requests) {
            return Err(Error::input(
                SRC,
                "--requests",
                format!(
                    "{} is out of range; allowed [1, {MAX_REQUESTS}]",
                    self.requests
                ),
            ));
        }
        if let Pattern::Block { bytes } = self.pattern
            && (bytes < self.request_bytes
                || !bytes.is_multiple_of(self.request_bytes)
                || bytes > 1 << 30)
        {
            return Err(Error::input(
                SRC,
                "--pattern",
                format!(
                    "block:{bytes} is not allowed; the block must be a multiple of --request-bytes ({}) and at most 1 GiB",
                    self.request_bytes
                ),
            ));
        }
        Ok(())
    }
}

/// Read latency distribution, nanoseconds (last data beat minus admission).
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct LatencyStats {
    /// Read requests measured.
    pub samples: u64,
    /// Mean.
    pub mean_ns: f64,
    /// Median (nearest rank).
    pub p50_ns: f64,
    /// 99th percentile (nearest rank).
    pub p99_ns: f64,
}

impl LatencyStats {
    /// Nearest-rank statistics of `clocks` (read latencies in memory clocks of `p`).
    pub fn of(mut clocks: Vec<u64>, p: &DramParams) -> Self {
        if clocks.is_empty() {
            return LatencyStats::default();
        }
        clocks.sort_unstable();
        let n = clocks.len();
        let ns = |c: u64| p.seconds(c) * 1e9;
        let rank = |q: f64| clocks[((q * n as f64).ceil() as usize).clamp(1, n) - 1];
        LatencyStats {
            samples: n as u64,
            mean_ns: clocks.iter().map(|&c| ns(c)).sum::<f64>() / n as f64,
            p50_ns: ns(rank(0.5)),
            p99_ns: ns(rank(0.99)),
        }
    }
}

/// The result of [`probe`]: plain data, serialisable as the `--json` output.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DramProbe {
    /// What was driven.
    pub spec: ProbeSpec,
    /// Data rate, MT/s.
    pub data_rate_mtps: f64,
    /// Channels.
    pub channels: u32,
    /// Ranks per channel.
    pub ranks: u32,
    /// Banks per rank.
    pub banks: u32,
    /// The controller settings used (`[dram.controller]`).
    pub controller: crate::hw::DramController,
    /// Peak bandwidth, GB/s (decimal).
    pub peak_gbps: f64,
    /// Achieved bandwidth of the loaded run, GB/s.
    pub achieved_gbps: f64,
    /// Achieved over peak.
    pub efficiency: f64,
    /// Read latency with the queues full.
    pub loaded: LatencyStats,
    /// Read latency of isolated requests.
    pub unloaded: LatencyStats,
    /// Bursts that found their row open.
    pub row_hit_rate: f64,
    /// ACT commands (loaded run).
    pub activates: u64,
    /// REF commands (loaded run).
    pub refreshes: u64,
    /// Read/write data-bus turnarounds (loaded run).
    pub turnarounds: u64,
    /// Most refreshes a rank owed at once (loaded run).
    pub postponed_max: u64,
    /// Simulated time of the loaded run, us.
    pub simulated_us: f64,
}

/// Drives the LPDDR4 model of `d` with `spec` (every timing effect on).
///
/// # Errors
/// [`Error::Input`] for a spec out of range ([`ProbeSpec::check`]) or an ideal DRAM
/// (nothing to probe); the controller's watchdog error.
pub fn probe(d: &Dram, spec: &ProbeSpec) -> Result<DramProbe> {
    if d.kind != DramKind::Lpddr4 {
        return Err(Error::input(
            SRC,
            "--hw",
            "the hardware's [dram] kind is `ideal`: no timing model to probe; use kind = \"lpddr4\"",
        ));
    }
    let (p, map, cfg) = super::controller::device(d);
    spec.check(p.burst_bytes)?;
    let f = DramFeatures::ALL;
    let reqs: Vec<_> = stream(
        &map,
        spec.pattern,
        spec.requests,
        spec.request_bytes,
        spec.read_fraction,
        spec.seed,
    )
    .collect();
    let run = simulate(&p, &map, f, &cfg, reqs.iter().copied())?;
    let loaded: Vec<u64> = reqs
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.write)
        .map(|(i, _)| run.completion_nck[i] - run.admit_nck[i])
        .collect();
    // Spacing that outlasts any isolated request: a write's recovery, a precharge, an
    // activation, the bursts on one channel, the read latency and a refresh.
    let bursts = spec.request_bytes.div_ceil(p.burst_bytes.max(1)) as u64;
    let gap = p.wr_to_pre()
        + p.rp
        + p.rcd
        + bursts * p.ccd.max(p.burst_nck)
        + p.rl
        + p.wr_to_rd()
        + p.rfc
        + p.rpab
        + 64;
    let n_un = spec.requests.min(UNLOADED_REQUESTS) as usize;
    let spaced = reqs[..n_un]
        .iter()
        .enumerate()
        .map(|(k, r)| super::Request {
            arrival_nck: k as u64 * gap,
            ..*r
        });
    let un = simulate(&p, &map, f, &cfg, spaced)?;
    let unloaded: Vec<u64> = reqs[..n_un]
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.write)
        .map(|(i, _)| un.completion_nck[i] - un.admit_nck[i])
        .collect();
    let s = &run.stats;
    let seconds = p.seconds(s.cycles);
    Ok(DramProbe {
        spec: *spec,
        data_rate_mtps: d.data_rate_mtps,
        channels: p.channels,
        ranks: p.ranks,
        banks: p.banks,
        controller: d.controller.clone(),
        peak_gbps: p.peak_bytes_per_s() / 1e9,
        achieved_gbps: if seconds > 0.0 {
            (s.read_bytes + s.write_bytes) as f64 / seconds / 1e9
        } else {
            0.0
        },
        efficiency: s.efficiency(&p),
        loaded: LatencyStats::of(loaded, &p),
        unloaded: LatencyStats::of(unloaded, &p),
        row_hit_rate: s.row_hit_rate(),
        activates: s.activates,
        refreshes: s.refreshes,
        turnarounds: s.turnarounds,
        postponed_max: s.postponed_max,
        simulated_us: seconds * 1e6,
    })
}
