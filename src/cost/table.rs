//! One (block size, prefetch, recomputation) combination of a schedule: per-column step
//! quantities evaluated over placements in closed form, without allocating.

use super::types::*;
use crate::hw::HwConfig;

/// Class indices of the per-class arrays below.
pub(crate) const W: usize = 0;
pub(crate) const A: usize = 1;
pub(crate) const S: usize = 2;
pub(crate) const G: usize = 3;
pub(crate) const O: usize = 4;

/// Link rates derived from the hardware.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rates {
    pub dram: f64,
    pub ssd_r: f64,
    pub ssd_w: f64,
    pub ssd_lat: f64,
    pub clock: f64,
    /// `ssd.full_duplex`: reads and writes of a step overlap; else they share one link.
    pub ssd_duplex: bool,
}

impl Rates {
    pub fn of(hw: &HwConfig) -> Self {
        Rates {
            dram: hw.dram.peak_bytes_per_s(),
            ssd_r: hw.ssd.read_bytes_per_s(),
            ssd_w: hw.ssd.write_bytes_per_s(),
            ssd_lat: hw.ssd.latency_us * 1e-6,
            clock: hw.clock_hz(),
            ssd_duplex: hw.ssd.full_duplex,
        }
    }

    /// Time of a step's SSD traffic when it overlaps the step (prefetching): the larger
    /// direction on a full-duplex drive, the sum on one shared link (each direction at its
    /// own rate, one after the other in time).
    #[inline]
    pub fn ssd_link_seconds(&self, t_rd: f64, t_ws: f64) -> f64 {
        if self.ssd_duplex {
            t_rd.max(t_ws)
        } else {
            t_rd + t_ws
        }
    }

    /// Seconds to read `bytes` from the SSD (see [`Rates::ssd_seconds`]).
    #[inline]
    pub fn ssd_read_seconds(&self, bytes: f64) -> f64 {
        self.ssd_seconds(bytes, self.ssd_r)
    }

    /// Seconds to write `bytes` to the SSD (see [`Rates::ssd_seconds`]).
    #[inline]
    pub fn ssd_write_seconds(&self, bytes: f64) -> f64 {
        self.ssd_seconds(bytes, self.ssd_w)
    }

    /// Seconds of one SSD transfer of `bytes` at `rate` B/s: the transfer plus one access
    /// latency, nothing when no bytes move.
    #[inline]
    fn ssd_seconds(&self, bytes: f64, rate: f64) -> f64 {
        if bytes > 0.0 {
            bytes / rate + self.ssd_lat
        } else {
            0.0
        }
    }
}

/// Combines a step's per-link times by mode (see [`Mode`]); `bus` is the time of all its
/// DRAM-side bytes on one bus; `ssd_duplex` says whether SSD reads and writes overlap
/// (else they add up on one link, bound [`Bound::SsdLink`]). Returns the time and the
/// bounding term.
#[inline]
#[allow(clippy::too_many_arguments)]
pub(crate) fn combine(
    mode: Mode,
    prefetch: bool,
    ssd_duplex: bool,
    t_rs: f64,
    t_wd: f64,
    t_rd: f64,
    t_ws: f64,
    t_c: f64,
    bus: f64,
) -> (f64, Bound) {
    let mut best = (t_c, Bound::Compute);
    let mut take = |t: f64, b: Bound| {
        if t > best.0 {
            best = (t, b);
        }
    };
    if !prefetch {
        // Load, compute, store in sequence: attribute the step to its largest part.
        let total = t_rs + t_rd + t_c + t_wd + t_ws;
        take(t_rs, Bound::DramRead);
        take(t_wd, Bound::DramWrite);
        take(t_rd, Bound::SsdRead);
        take(t_ws, Bound::SsdWrite);
        return (total, best.1);
    }
    if !ssd_duplex && t_rd > 0.0 && t_ws > 0.0 {
        take(t_rd + t_ws, Bound::SsdLink);
    }
    match mode {
        Mode::Paper | Mode::Chained => {
            take(t_rs, Bound::DramRead);
            take(t_wd, Bound::DramWrite);
            take(t_rd, Bound::SsdRead);
            take(t_ws, Bound::SsdWrite);
            if mode == Mode::Chained {
                take(t_rs + t_rd, Bound::ChainedRead);
                take(t_wd + t_ws, Bound::ChainedWrite);
            }
        }
        Mode::SharedBus => {
            take(bus, Bound::DramBus);
            take(t_rd, Bound::SsdRead);
            take(t_ws, Bound::SsdWrite);
        }
    }
    best
}

/// Placement-independent per-step quantities of one column (or the optimizer update).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Detail {
    pub column: Option<usize>,
    pub recomputes: bool,
    /// DRAM -> SRAM bytes per class.
    pub r_sram: [f64; 5],
    /// SRAM -> DRAM bytes per class.
    pub w_dram: [f64; 5],
    /// SSD -> DRAM bytes per class if that class were entirely on the SSD.
    pub ssd_r: [f64; 5],
    /// DRAM -> SSD bytes per class if that class were entirely on the SSD.
    pub ssd_w: [f64; 5],
    pub array_cycles: f64,
    /// Bandwidth stalls of the step's GEMMs ([`crate::mapper::ColumnCost::stall_cycles`]),
    /// charged with prefetching only: without it the step already pays every load in
    /// sequence with its compute.
    pub stall_cycles: f64,
    pub sram_port_cycles: f64,
    pub vector_cycles: f64,
    pub native_macs: f64,
    pub fp16_macs: f64,
    pub vector_ops: f64,
    pub sram_port_bytes: f64,
    pub sram_bytes: f64,
    /// DRAM bytes of the step's own activations (inputs, outputs, largest GEMM transient,
    /// recomputed saved tensors).
    pub dram_transient: f64,
    /// Gradient + optimizer bytes of the step's column (staging unit when on the SSD).
    pub grad_opt_unit: f64,
}

impl Detail {
    /// Fraction of class `c` on the SSD under `p`.
    pub fn frac(p: &Placement, c: usize) -> f64 {
        match c {
            W => p.weights_on_ssd,
            S => p.saved_on_ssd,
            G | O => p.optimizer_on_ssd,
            _ => 0.0,
        }
    }

    fn compute_seconds(&self, clock: f64) -> f64 {
        ((self.array_cycles + self.stall_cycles).max(self.sram_port_cycles) + self.vector_cycles)
            / clock
    }
}

/// The compact, time-only view of a [`Detail`] used in the search's inner loop.
#[derive(Debug, Clone, Copy, Default)]
struct Row {
    t_rs: f64,
    t_wd: f64,
    t_c: f64,
    /// max(t_rs, t_wd, t_c): the placement-independent part of eq. 3.
    fixed: f64,
    /// t_rs + t_wd + t_c: the placement-independent part without prefetch.
    serial: f64,
    /// (r_sram + w_dram) / DRAM bandwidth.
    bus0: f64,
    /// SSD read bytes coefficients for (weights, saved, gradients+optimizer) fractions.
    rd: [f64; 3],
    /// SSD write bytes coefficients.
    wr: [f64; 3],
    /// `rd` in seconds of SSD read bandwidth.
    rd_t: [f64; 3],
    /// `wr` in seconds of SSD write bandwidth.
    wr_t: [f64; 3],
    /// `rd + wr` in seconds of DRAM bandwidth (their DRAM side, for the shared bus).
    bus_t: [f64; 3],
}

impl Row {
    fn of(d: &Detail, r: &Rates) -> Self {
        let rs: f64 = d.r_sram.iter().sum();
        let wd: f64 = d.w_dram.iter().sum();
        let (t_rs, t_wd, t_c) = (rs / r.dram, wd / r.dram, d.compute_seconds(r.clock));
        let rd = [d.ssd_r[W], d.ssd_r[S], d.ssd_r[G] + d.ssd_r[O]];
        let wr = [d.ssd_w[W], d.ssd_w[S], d.ssd_w[G] + d.ssd_w[O]];
        Row {
            t_rs,
            t_wd,
            t_c,
            fixed: t_rs.max(t_wd).max(t_c),
            serial: t_rs + t_wd + t_c,
            bus0: (rs + wd) / r.dram,
            rd,
            wr,
            rd_t: rd.map(|b| b / r.ssd_r),
            wr_t: wr.map(|b| b / r.ssd_w),
            bus_t: [0, 1, 2].map(|i| (rd[i] + wr[i]) / r.dram),
        }
    }

    #[inline]
    fn ssd_bytes(&self, f: &[f64; 3]) -> (f64, f64) {
        (
            f[0] * self.rd[0] + f[1] * self.rd[1] + f[2] * self.rd[2],
            f[0] * self.wr[0] + f[1] * self.wr[1] + f[2] * self.wr[2],
        )
    }

    #[inline]
    fn ssd_times(&self, f: &[f64; 3], r: &Rates) -> (f64, f64, f64) {
        let (rb, wb) = self.ssd_bytes(f);
        (
            r.ssd_read_seconds(rb),
            r.ssd_write_seconds(wb),
            (rb + wb) / r.dram,
        )
    }

    /// Step time only: the same function as [`combine`], specialised for the inner loop
    /// (the agreement with the expanded steps is tested).
    #[inline]
    fn time(&self, mode: Mode, prefetch: bool, f: &[f64; 3], r: &Rates) -> f64 {
        let dot = |c: &[f64; 3]| f[0] * c[0] + f[1] * c[1] + f[2] * c[2];
        let (rt, wt) = (dot(&self.rd_t), dot(&self.wr_t));
        let t_rd = if rt > 0.0 { rt + r.ssd_lat } else { 0.0 };
        let t_ws = if wt > 0.0 { wt + r.ssd_lat } else { 0.0 };
        if !prefetch {
            return self.serial + t_rd + t_ws;
        }
        let ssd = r.ssd_link_seconds(t_rd, t_ws);
        match mode {
            Mode::Paper => self.fixed.max(ssd),
            Mode::Chained => self
                .fixed
                .max(ssd)
                .max(self.t_rs + t_rd)
                .max(self.t_wd + t_ws),
            Mode::SharedBus => self.t_c.max(ssd).max(self.bus0 + dot(&self.bus_t)),
        }
    }

    #[inline]
    fn seconds(&self, mode: Mode, prefetch: bool, f: &[f64; 3], r: &Rates) -> (f64, Bound) {
        let (t_rd, t_ws, bus_ssd) = self.ssd_times(f, r);
        combine(
            mode,
            prefetch,
            r.ssd_duplex,
            self.t_rs,
            self.t_wd,
            t_rd,
            t_ws,
            self.t_c,
            self.bus0 + bus_ssd,
        )
    }
}

/// Capacity aggregates of a table (see [`Table::dram_peak`]).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct MemAgg {
    pub weights: f64,
    /// Trainable weight bytes (part of `weights`; for `cost::memory`).
    pub trainable: f64,
    pub max_weights: f64,
    pub saved_peak: f64,
    pub max_saved: f64,
    pub grad_opt: f64,
    pub max_grad_opt: f64,
    pub act_working_set: f64,
    pub sram_peak: f64,
    pub sram_fits: bool,
}

/// All steps of one (sequences per step, prefetch, recomputation) combination. Every
/// block of a traversal repeats the same column rows, so the iteration time is
/// `blocks x sum(rows) + optimizer step (+ fill and drain with prefetching)`.
#[derive(Debug, Clone)]
pub struct Table {
    /// Sequences computed per step (micro-batch size x block size).
    pub sequences: u64,
    /// Blocks per optimizer step.
    pub blocks: u64,
    /// Prefetching.
    pub prefetch: bool,
    rows: Vec<Row>,
    pub(crate) details: Vec<Detail>,
    pub(crate) opt: Detail,
    opt_row: Row,
    pub(crate) mem: MemAgg,
    rates: Rates,
    pub(crate) dram_cap: f64,
    ssd_cap: f64,
    sram_cap: f64,
}

impl Table {
    /// Assembles a table from its column details and the optimizer step.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        sequences: u64,
        blocks: u64,
        prefetch: bool,
        details: Vec<Detail>,
        opt: Detail,
        mem: MemAgg,
        rates: Rates,
        caps: [f64; 3],
    ) -> Self {
        Table {
            sequences,
            blocks,
            prefetch,
            rows: details.iter().map(|d| Row::of(d, &rates)).collect(),
            opt_row: Row::of(&opt, &rates),
            details,
            opt,
            mem,
            rates,
            sram_cap: caps[0],
            dram_cap: caps[1],
            ssd_cap: caps[2],
        }
    }

    fn fracs(p: &Placement) -> [f64; 3] {
        [p.weights_on_ssd, p.saved_on_ssd, p.optimizer_on_ssd]
    }

    /// Pipeline fill (the first step's SSD reads, which nothing overlaps) and drain (the
    /// last step's SSD writes). The first/last SRAM tile (at most the SRAM, ~40 us at
    /// 25.6 GB/s for 1 MiB) is neglected, which keeps time independent of the tile size.
    fn fill_drain(&self, f: &[f64; 3]) -> (f64, f64) {
        if !self.prefetch {
            return (0.0, 0.0);
        }
        let first = self.rows.first().copied().unwrap_or(self.opt_row);
        let (t_rd, _, _) = first.ssd_times(f, &self.rates);
        let (_, t_ws, _) = self.opt_row.ssd_times(f, &self.rates);
        (t_rd, t_ws)
    }

    /// Seconds per iteration under `mode` and placement `p` (closed form, no allocation).
    pub fn seconds(&self, mode: Mode, p: &Placement) -> f64 {
        let f = Self::fracs(p);
        let mut sum = 0.0;
        for r in &self.rows {
            sum += r.time(mode, self.prefetch, &f, &self.rates);
        }
        let (fill, drain) = self.fill_drain(&f);
        sum * self.blocks as f64
            + self.opt_row.time(mode, self.prefetch, &f, &self.rates)
            + fill
            + drain
    }

    /// Seconds per bounding term, summed over the iteration.
    pub fn bound_breakdown(&self, mode: Mode, p: &Placement) -> Vec<(Bound, f64)> {
        let f = Self::fracs(p);
        let mut acc: Vec<(Bound, f64)> = Vec::new();
        let mut add = |b: Bound, t: f64| {
            if t <= 0.0 {
                return;
            }
            match acc.iter_mut().find(|(x, _)| *x == b) {
                Some(e) => e.1 += t,
                None => acc.push((b, t)),
            }
        };
        for r in &self.rows {
            let (t, b) = r.seconds(mode, self.prefetch, &f, &self.rates);
            add(b, t * self.blocks as f64);
        }
        let (t, b) = self.opt_row.seconds(mode, self.prefetch, &f, &self.rates);
        add(b, t);
        let (fill, drain) = self.fill_drain(&f);
        add(Bound::SsdRead, fill);
        add(Bound::SsdWrite, drain);
        acc.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        acc
    }

    /// Staging copies per SSD-resident class: 2 with prefetching (current and next), else 1.
    pub(crate) fn stage(&self) -> f64 {
        if self.prefetch { 2.0 } else { 1.0 }
    }

    /// Peak DRAM bytes: resident fractions of weights, saved activations (at their peak,
    /// the end of a block's forward), gradients and optimizer state, plus staging buffers
    /// for SSD-resident classes (one per class, two when prefetching: current and next
    /// step), plus the activation working set of the largest step. The per-class peaks
    /// are summed (they coincide at a block's forward/backward turn), an upper bound.
    pub fn dram_peak(&self, p: &Placement) -> f64 {
        let m = &self.mem;
        let st = self.stage();
        let part = |total: f64, max_col: f64, f: f64| {
            (1.0 - f) * total + if f > 0.0 { st * f * max_col } else { 0.0 }
        };
        part(m.weights, m.max_weights, p.weights_on_ssd)
            + part(m.saved_peak, m.max_saved, p.saved_on_ssd)
            + part(m.grad_opt, m.max_grad_opt, p.optimizer_on_ssd)
            + m.act_working_set
    }

    /// Bytes (read from, written to) the SSD per optimizer step under placement `p`:
    /// every block's squares plus the optimizer update.
    pub fn ssd_bytes_per_iteration(&self, p: &Placement) -> (f64, f64) {
        let f = Self::fracs(p);
        let (mut rd, mut wr) = (0.0, 0.0);
        for r in &self.rows {
            let (a, b) = r.ssd_bytes(&f);
            rd += a;
            wr += b;
        }
        let (a, b) = self.opt_row.ssd_bytes(&f);
        (rd * self.blocks as f64 + a, wr * self.blocks as f64 + b)
    }

    /// Bytes written to the SSD per optimizer step under placement `p`.
    pub fn ssd_write_bytes(&self, p: &Placement) -> f64 {
        self.ssd_bytes_per_iteration(p).1
    }

    /// Peak SSD bytes: the SSD-resident fractions.
    pub fn ssd_peak(&self, p: &Placement) -> f64 {
        let m = &self.mem;
        p.weights_on_ssd * m.weights
            + p.saved_on_ssd * m.saved_peak
            + p.optimizer_on_ssd * m.grad_opt
    }

    /// Peak SRAM bytes (largest tile footprint, incl. double buffering).
    pub fn sram_peak(&self) -> f64 {
        self.mem.sram_peak
    }

    /// Total tuning memory (see [`Evaluation::memory_bytes`]).
    pub fn memory_bytes(&self) -> f64 {
        let m = &self.mem;
        m.weights + m.saved_peak + m.grad_opt + m.act_working_set
    }

    /// `None` when every tier fits, else which one overflows and by how much.
    pub fn infeasibility(&self, p: &Placement) -> Option<String> {
        if !self.mem.sram_fits || self.mem.sram_peak > self.sram_cap {
            return Some(format!(
                "SRAM: a GEMM tile needs {:.0} B of {:.0} B",
                self.mem.sram_peak, self.sram_cap
            ));
        }
        overflow("DRAM", self.dram_peak(p), self.dram_cap)
            .or_else(|| overflow("SSD", self.ssd_peak(p), self.ssd_cap))
    }

    /// True when every tier fits.
    #[inline]
    pub fn feasible(&self, p: &Placement) -> bool {
        self.mem.sram_fits
            && self.mem.sram_peak <= self.sram_cap
            && self.dram_peak(p) <= self.dram_cap
            && self.ssd_peak(p) <= self.ssd_cap
    }

    /// Smallest fraction of gradients+optimizer state on the SSD, on a grid of `step`,
    /// that makes DRAM fit given the other two fractions, or `None` if none does.
    /// Exact because the DRAM peak is linear in the fraction above zero.
    pub fn min_optimizer_on_ssd(&self, p: &Placement, step: f64) -> Option<f64> {
        let mut q = *p;
        q.optimizer_on_ssd = 0.0;
        if self.dram_peak(&q) <= self.dram_cap {
            return Some(0.0);
        }
        let m = &self.mem;
        // dram(f) = base + (1-f) GO + st f maxGO for f > 0.
        let base = self.dram_peak(&q) - m.grad_opt;
        let slope = m.grad_opt - self.stage() * m.max_grad_opt;
        if slope <= 0.0 {
            return None;
        }
        let need = (base + m.grad_opt - self.dram_cap) / slope;
        let steps = (1.0 / step).round() as i64;
        let mut k = ((need / step) - 1e-9).ceil().max(1.0) as i64;
        while k <= steps {
            q.optimizer_on_ssd = (k as f64 * step).min(1.0);
            if self.dram_peak(&q) <= self.dram_cap {
                return Some(q.optimizer_on_ssd);
            }
            k += 1;
        }
        None
    }
}

pub(crate) const GIB: f64 = (1u64 << 30) as f64;

/// Why a memory tier does not fit: `None` unless `peak` exceeds `cap` (bytes).
/// Both sides are printed with the fewest decimals (at least 3) that tell them apart, so
/// the message never reads "peak 0.001 GiB exceeds 0.001 GiB".
fn overflow(tier: &str, peak: f64, cap: f64) -> Option<String> {
    (peak > cap).then(|| {
        let (p, c) = (peak / GIB, cap / GIB);
        // Dividing by 2^30 is exact, so p > c, and the shortest round-trip forms differ.
        let (p, c) = (3..=9)
            .map(|d| (format!("{p:.d$}"), format!("{c:.d$}")))
            .find(|(a, b)| a != b)
            .unwrap_or_else(|| (format!("{p}"), format!("{c}")));
        format!("{tier}: peak {p} GiB exceeds {c} GiB")
    })
}

#[cfg(test)]
mod overflow_message {
    #[test]
    fn both_sides_of_an_overflow_differ() {
        let gib = super::GIB;
        // 1 MiB + 1 B over 1 MiB: 0.001 GiB at 3 decimals on both sides before.
        let m = super::overflow("DRAM", 1048577.0, 1048576.0).unwrap();
        assert_eq!(m, "DRAM: peak 0.000976563 GiB exceeds 0.000976562 GiB");
        let m = super::overflow("SRAM", 1.5 * gib, gib).unwrap();
        assert_eq!(m, "SRAM: peak 1.500 GiB exceeds 1.000 GiB");
        let m = super::overflow("SSD", 2.0 * gib + 1e-3, 2.0 * gib).unwrap();
        let (a, b) = m.split_once(" exceeds ").unwrap();
        assert_ne!(a.trim_start_matches("SSD: peak "), b, "{m}");
        assert!(super::overflow("SSD", gib, gib).is_none());
    }
}
