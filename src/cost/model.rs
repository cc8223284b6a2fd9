//! The closed-form evaluator: per-column step quantities for one (block size, prefetch,
//! recomputation) combination, evaluated over placements without allocating.

use super::ADAM_OPS_PER_PARAM;
use super::types::*;
use crate::error::{Error, Result};
use crate::grid::forward_partners;
use crate::hw::HwConfig;
use crate::mapper::{ColumnCost, Mapper};
use crate::workload::{EntryKind, Pass, Trace, TraceEntry};

/// Class indices of the per-class arrays below.
const W: usize = 0;
const A: usize = 1;
const S: usize = 2;
const G: usize = 3;
const O: usize = 4;

/// Link rates derived from the hardware.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rates {
    pub dram: f64,
    pub ssd_r: f64,
    pub ssd_w: f64,
    pub ssd_lat: f64,
    pub clock: f64,
}

impl Rates {
    pub fn of(hw: &HwConfig) -> Self {
        Rates {
            dram: hw.dram.peak_bytes_per_s(),
            ssd_r: hw.ssd.read_bytes_per_s(),
            ssd_w: hw.ssd.write_bytes_per_s(),
            ssd_lat: hw.ssd.latency_us * 1e-6,
            clock: hw.clock_hz(),
        }
    }
}

/// Combines a step's per-link times by mode (see [`Mode`]); `bus` is the time of all its
/// DRAM-side bytes on one bus. Returns the time and the bounding term.
#[inline]
#[allow(clippy::too_many_arguments)]
pub(crate) fn combine(
    mode: Mode,
    prefetch: bool,
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
    pub sram_port_cycles: f64,
    pub vector_cycles: f64,
    pub native_macs: f64,
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
        (self.array_cycles.max(self.sram_port_cycles) + self.vector_cycles) / clock
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
        let t_rd = if rb > 0.0 {
            rb / r.ssd_r + r.ssd_lat
        } else {
            0.0
        };
        let t_ws = if wb > 0.0 {
            wb / r.ssd_w + r.ssd_lat
        } else {
            0.0
        };
        (t_rd, t_ws, (rb + wb) / r.dram)
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
        let ssd = t_rd.max(t_ws);
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
    dram_cap: f64,
    ssd_cap: f64,
    sram_cap: f64,
}

impl Table {
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
        let d = self.dram_peak(p);
        if d > self.dram_cap {
            return Some(format!(
                "DRAM: peak {:.3} GiB exceeds {:.3} GiB",
                d / GIB,
                self.dram_cap / GIB
            ));
        }
        let s = self.ssd_peak(p);
        if s > self.ssd_cap {
            return Some(format!(
                "SSD: peak {:.3} GiB exceeds {:.3} GiB",
                s / GIB,
                self.ssd_cap / GIB
            ));
        }
        None
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

const GIB: f64 = (1u64 << 30) as f64;

/// The search space's lower bound on seconds per iteration.
///
/// - compute: array + vector cycles of every column with all sequences of the step in one
///   block (fill/drain paid once per fold: the fewest any schedule pays), no
///   recomputation, plus the optimizer's vector cycles;
/// - DRAM: compulsory traffic / DRAM bandwidth, where compulsory means what every
///   schedule of the model moves: each column's weights once, each GEMM operand read
///   once and output written once (the model keeps nothing in SRAM between GEMMs),
///   gradient accumulators read and written once, and the optimizer's reads and writes.
///   Reads and writes are separate links in modes paper/chained (the bound takes the
///   larger), one bus in shared-bus (the sum);
/// - SSD: what cannot be in DRAM must be read from the SSD at least once per iteration:
///   `max(0, weights + gradients + optimizer state + the least saved tensors (one
///   sequence per step, all recomputable columns recomputed) + the least activation
///   working set (one sequence) - DRAM capacity)` / SSD read bandwidth. Every SSD-resident
///   byte of those classes is read back at least once (weights by their columns, saved
///   tensors by their backward, gradients and state by the optimizer).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct LowerBound {
    /// Compute term (s).
    pub compute_seconds: f64,
    /// DRAM term (s).
    pub dram_seconds: f64,
    /// SSD term (s).
    pub ssd_seconds: f64,
    /// Their maximum (s).
    pub seconds: f64,
}

/// Per-hardware, per-trace precomputation shared by all candidates.
#[derive(Debug, Clone)]
pub struct Model {
    hw: HwConfig,
    trace: Trace,
    rates: Rates,
    partners: Vec<Option<usize>>,
    recompute_order: Vec<usize>,
    /// Divisors of the sequences per step, ascending.
    divisors: Vec<u64>,
    /// costs[divisor index][prefetch as usize][column].
    costs: Vec<[Vec<ColumnCost>; 2]>,
    lb_compute: f64,
    lb_read: f64,
    lb_write: f64,
    lb_ssd: f64,
}

/// Divisors of `n`, ascending.
pub fn divisors(n: u64) -> Vec<u64> {
    (1..=n).filter(|d| n.is_multiple_of(*d)).collect()
}

impl Model {
    /// Precomputes mapper costs of every column for every block size the search can use
    /// (divisors of the sequences per step), with and without double buffering.
    pub fn new(hw: &HwConfig, trace: &Trace) -> Result<Self> {
        if trace.sequences_per_step == 0 {
            return Err(Error::input(
                &trace.workload,
                "sequences_per_step",
                "must be >= 1",
            ));
        }
        if trace.entries.is_empty() {
            return Err(Error::input(
                &trace.workload,
                "entries",
                "the trace has no columns",
            ));
        }
        let mut mapper = Mapper::new(hw);
        let cap = hw.sram.capacity_bytes();
        let divisors = divisors(trace.sequences_per_step);
        let costs = divisors
            .iter()
            .map(|&s| {
                let col = |db: bool, m: &mut Mapper| {
                    trace
                        .entries
                        .iter()
                        .map(|e| m.column(e, s, cap, db))
                        .collect::<Vec<_>>()
                };
                let a = col(false, &mut mapper);
                let b = col(true, &mut mapper);
                [a, b]
            })
            .collect::<Vec<_>>();
        let partners = forward_partners(trace);
        let mut recompute_order: Vec<usize> = (0..trace.entries.len())
            .filter(|&f| {
                let e = &trace.entries[f];
                e.pass == Pass::Fwd
                    && e.saved_bytes > e.checkpoint_bytes
                    && partners.contains(&Some(f))
            })
            .collect();
        recompute_order.sort_by_key(|&f| {
            let e = &trace.entries[f];
            (std::cmp::Reverse(e.saved_bytes - e.checkpoint_bytes), f)
        });
        let mut m = Model {
            hw: hw.clone(),
            trace: trace.clone(),
            rates: Rates::of(hw),
            partners,
            recompute_order,
            divisors,
            costs,
            lb_compute: 0.0,
            lb_read: 0.0,
            lb_write: 0.0,
            lb_ssd: 0.0,
        };
        m.init_lower_bound();
        Ok(m)
    }

    fn init_lower_bound(&mut self) {
        let all = self.costs.len() - 1; // the largest divisor = all sequences
        let all_seqs = self.trace.sequences_per_step as f64;
        let (mut cyc, mut rd, mut wr) = (0.0, 0.0, 0.0);
        for (e, c) in self.trace.entries.iter().zip(&self.costs[all][0]) {
            cyc += c.array_cycles + c.vector_cycles;
            rd += weights_streamed(e, all_seqs) + c.act_read_compulsory + e.grad_bytes as f64;
            wr += c.act_write_compulsory + e.grad_bytes as f64;
        }
        let opt = self.optimizer_detail();
        cyc += opt.vector_cycles;
        rd += opt.r_sram.iter().sum::<f64>();
        wr += opt.w_dram.iter().sum::<f64>();
        self.lb_compute = cyc / self.rates.clock;
        self.lb_read = rd;
        self.lb_write = wr;
        // The least DRAM any schedule needs besides weights, gradients and optimizer
        // state: one sequence per step, every recomputable column recomputed (saved
        // tensors), and the smallest activation working set (one sequence).
        let saved_min: f64 = self
            .trace
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.pass == Pass::Fwd)
            .map(|(c, e)| {
                if self.recompute_order.contains(&c) {
                    e.checkpoint_bytes as f64
                } else {
                    e.saved_bytes as f64
                }
            })
            .sum();
        let ws_min = self
            .trace
            .entries
            .iter()
            .zip(&self.costs[0][0])
            .map(|(e, c)| (e.act_in_bytes + e.act_out_bytes) as f64 + c.dram_transient)
            .fold(0.0, f64::max);
        let persistent = self.stored_weights() + self.grad_opt_total() + saved_min + ws_min;
        let excess = (persistent - self.hw.dram.capacity_bytes() as f64).max(0.0);
        self.lb_ssd = excess / self.rates.ssd_r;
    }

    /// The lower bound for `mode`.
    pub fn lower_bound(&self, mode: Mode) -> LowerBound {
        let dram = match mode {
            Mode::SharedBus => (self.lb_read + self.lb_write) / self.rates.dram,
            _ => self.lb_read.max(self.lb_write) / self.rates.dram,
        };
        LowerBound {
            compute_seconds: self.lb_compute,
            dram_seconds: dram,
            ssd_seconds: self.lb_ssd,
            seconds: self.lb_compute.max(dram).max(self.lb_ssd),
        }
    }

    /// The hardware.
    pub fn hw(&self) -> &HwConfig {
        &self.hw
    }

    /// The trace.
    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// Forward columns in the order recomputation takes them (largest saving first).
    pub fn recompute_order(&self) -> &[usize] {
        &self.recompute_order
    }

    /// For each column, its forward partner (backward columns only).
    pub fn partners(&self) -> &[Option<usize>] {
        &self.partners
    }

    /// Stored weights: forward entries' weights (backward entries re-read them), weights
    /// of backward entries without a forward partner, and idle weights (stored, unread).
    fn stored_weights(&self) -> f64 {
        let unpaired: u64 = self
            .trace
            .entries
            .iter()
            .enumerate()
            .filter(|(c, e)| e.pass == Pass::Bwd && self.partners[*c].is_none())
            .map(|(_, e)| e.weight_bytes)
            .sum();
        (self.trace.stored_weight_bytes() + unpaired) as f64
    }

    fn grad_opt_total(&self) -> f64 {
        self.trace
            .entries
            .iter()
            .map(|e| (e.grad_bytes + e.optimizer_bytes) as f64)
            .sum()
    }

    fn optimizer_detail(&self) -> Detail {
        let t: f64 = self
            .trace
            .entries
            .iter()
            .map(|e| e.trainable_bytes as f64)
            .sum();
        let g: f64 = self.trace.entries.iter().map(|e| e.grad_bytes as f64).sum();
        let o: f64 = self
            .trace
            .entries
            .iter()
            .map(|e| e.optimizer_bytes as f64)
            .sum();
        // Trainable parameters are 16-bit in the trace (workload::TRAINABLE_BYTES_PER_PARAM).
        let params = t / crate::workload::TRAINABLE_BYTES_PER_PARAM as f64;
        let ops = if o > 0.0 {
            params * ADAM_OPS_PER_PARAM
        } else {
            0.0
        };
        let mut d = Detail {
            vector_cycles: ops / self.hw.compute.vector_lanes.max(1) as f64,
            vector_ops: ops,
            ..Detail::default()
        };
        d.r_sram[W] = t;
        d.r_sram[G] = g;
        d.r_sram[O] = o;
        d.w_dram[W] = t;
        d.w_dram[O] = o;
        d.ssd_r[W] = t;
        d.ssd_r[G] = g;
        d.ssd_r[O] = o;
        d.ssd_w[W] = t;
        d.ssd_w[O] = o;
        d
    }

    /// Index of `sequences` among the precomputed block sizes.
    fn divisor_index(&self, sequences: u64) -> Option<usize> {
        self.divisors.binary_search(&sequences).ok()
    }

    /// Block sizes (sequences per step) the model has precomputed.
    pub fn block_sequences(&self) -> &[u64] {
        &self.divisors
    }

    /// The table of one combination; `recompute` counts columns of [`Self::recompute_order`].
    pub fn table(&self, sequences: u64, prefetch: bool, recompute: u32) -> Result<Table> {
        let di = self.divisor_index(sequences).ok_or_else(|| {
            Error::input(
                &self.trace.workload,
                "micro_batch_size",
                format!(
                    "{sequences} sequences per step must divide sequences_per_step = {}",
                    self.trace.sequences_per_step
                ),
            )
        })?;
        let costs = &self.costs[di][prefetch as usize];
        let n_rec = (recompute as usize).min(self.recompute_order.len());
        let mut recomputed = vec![false; self.trace.entries.len()];
        for &f in &self.recompute_order[..n_rec] {
            recomputed[f] = true;
        }
        let sq = sequences as f64;
        let kept = |f: usize| {
            let e = &self.trace.entries[f];
            if recomputed[f] {
                e.checkpoint_bytes as f64
            } else {
                e.saved_bytes as f64
            }
        };
        let fwd_detail = |c: usize| -> Detail {
            let e = &self.trace.entries[c];
            let cc = &costs[c];
            let mut d = base_detail(c, cc);
            d.r_sram[W] = weights_read(e, sq, cc);
            d.r_sram[A] = cc.act_read.max(e.act_in_bytes as f64 * sq);
            let k = kept(c) * sq;
            let w_total = cc.act_write.max(e.act_out_bytes as f64 * sq);
            d.w_dram[S] = k;
            d.w_dram[A] = (w_total - k).max(0.0);
            d.ssd_r[W] = weights_streamed(e, sq);
            d.ssd_w[S] = k;
            d
        };
        let mut details = Vec::with_capacity(self.trace.entries.len());
        let mut mem = MemAgg {
            weights: self.stored_weights(),
            grad_opt: self.grad_opt_total(),
            sram_fits: true,
            ..MemAgg::default()
        };
        for (c, e) in self.trace.entries.iter().enumerate() {
            let cc = &costs[c];
            let mut transient = (e.act_in_bytes + e.act_out_bytes) as f64 * sq + cc.dram_transient;
            let d = if e.pass == Pass::Fwd {
                mem.saved_peak += kept(c) * sq;
                fwd_detail(c)
            } else {
                let mut d = base_detail(c, cc);
                let partner = self.partners[c];
                let k = partner.map_or(0.0, &kept) * sq;
                let act_r = cc.act_read.max(e.act_in_bytes as f64 * sq);
                d.r_sram[W] = weights_read(e, sq, cc);
                d.r_sram[S] = k;
                d.r_sram[G] = e.grad_bytes as f64;
                d.w_dram[A] = cc.act_write.max(e.act_out_bytes as f64 * sq);
                d.w_dram[G] = e.grad_bytes as f64;
                d.ssd_r[W] = weights_streamed(e, sq);
                d.ssd_r[S] = k;
                d.ssd_r[G] = e.grad_bytes as f64;
                d.ssd_w[G] = e.grad_bytes as f64;
                match partner.filter(|&f| recomputed[f]) {
                    Some(f) => {
                        // Re-run the forward: its traffic and compute join this step; its
                        // saved tensors are written and read back as transient activations.
                        let fd = fwd_detail(f);
                        let full = self.trace.entries[f].saved_bytes as f64 * sq;
                        d.recomputes = true;
                        d.r_sram[W] += fd.r_sram[W];
                        d.r_sram[A] = act_r.max(full) + fd.r_sram[A];
                        d.w_dram[A] += fd.w_dram.iter().sum::<f64>();
                        d.ssd_r[W] += fd.ssd_r[W];
                        d.array_cycles += fd.array_cycles;
                        d.sram_port_cycles += fd.sram_port_cycles;
                        d.vector_cycles += fd.vector_cycles;
                        d.native_macs += fd.native_macs;
                        d.vector_ops += fd.vector_ops;
                        d.sram_port_bytes += fd.sram_port_bytes;
                        d.sram_bytes = d.sram_bytes.max(fd.sram_bytes);
                        transient += full + costs[f].dram_transient;
                    }
                    None => d.r_sram[A] = (act_r - k).max(0.0),
                }
                d
            };
            mem.max_weights = mem.max_weights.max(d.ssd_r[W]);
            mem.max_saved = mem.max_saved.max(d.ssd_r[S].max(d.ssd_w[S]));
            mem.max_grad_opt = mem
                .max_grad_opt
                .max((e.grad_bytes + e.optimizer_bytes) as f64);
            mem.act_working_set = mem.act_working_set.max(transient);
            let mut d = d;
            d.dram_transient = transient;
            d.grad_opt_unit = (e.grad_bytes + e.optimizer_bytes) as f64;
            mem.sram_peak = mem.sram_peak.max(cc.sram_peak);
            mem.sram_fits &= cc.fits;
            details.push(d);
        }
        let rows = details.iter().map(|d| Row::of(d, &self.rates)).collect();
        let opt = self.optimizer_detail();
        mem.max_weights = mem.max_weights.max(opt.ssd_r[W]);
        let n = self.trace.sequences_per_step / sequences;
        Ok(Table {
            sequences,
            blocks: n,
            prefetch,
            rows,
            details,
            opt_row: Row::of(&opt, &self.rates),
            opt,
            mem,
            rates: self.rates,
            dram_cap: self.hw.dram.capacity_bytes() as f64,
            ssd_cap: self.hw.ssd.capacity_bytes() as f64,
            sram_cap: self.hw.sram.capacity_bytes() as f64,
        })
    }

    /// Validates a schedule and returns its table.
    pub fn table_for(&self, s: &Schedule) -> Result<Table> {
        let seqs = self.trace.sequences_per_step;
        let file = &self.trace.workload;
        if s.micro_batch_size == 0 || !seqs.is_multiple_of(s.micro_batch_size) {
            return Err(Error::input(
                file,
                "micro_batch_size",
                format!(
                    "{} must divide sequences_per_step = {seqs}",
                    s.micro_batch_size
                ),
            ));
        }
        let n = seqs / s.micro_batch_size;
        if !s.traversal.valid_for(n) {
            return Err(Error::input(
                file,
                "traversal",
                format!(
                    "{}: block size must divide the {n} micro-batches",
                    s.traversal
                ),
            ));
        }
        let p = &s.placement;
        for (k, v) in [
            ("weights_on_ssd", p.weights_on_ssd),
            ("saved_on_ssd", p.saved_on_ssd),
            ("optimizer_on_ssd", p.optimizer_on_ssd),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(Error::input(file, k, format!("{v} outside [0, 1]")));
            }
        }
        self.table(
            s.micro_batch_size * s.traversal.block_size(n),
            s.prefetch,
            s.recompute,
        )
    }

    /// Full evaluation of one schedule.
    pub fn evaluate(&self, s: &Schedule, mode: Mode) -> Result<Evaluation> {
        let t = self.table_for(s)?;
        Ok(self.evaluate_table(&t, s, mode))
    }

    /// Full evaluation of a schedule whose table is already built.
    pub fn evaluate_table(&self, t: &Table, s: &Schedule, mode: Mode) -> Evaluation {
        let p = &s.placement;
        let seconds = t.seconds(mode, p);
        let breakdown = t.bound_breakdown(mode, p);
        let lb = self.lower_bound(mode).seconds;
        let reason = t.infeasibility(p);
        Evaluation {
            schedule: *s,
            mode,
            feasible: reason.is_none(),
            infeasible_reason: reason,
            seconds_per_iteration: seconds,
            peak_bytes: TierBytes {
                sram: t.sram_peak(),
                dram: t.dram_peak(p),
                ssd: t.ssd_peak(p),
            },
            memory_bytes: t.memory_bytes(),
            bound: breakdown.first().map_or(Bound::Compute, |b| b.0),
            bound_seconds: breakdown,
            energy_joules: self.energy(t, p),
            lower_bound_seconds: lb,
            gap: if lb > 0.0 { seconds / lb - 1.0 } else { 0.0 },
            steps: t.details.len() * t.blocks as usize + 1,
        }
    }

    /// Energy (J): MACs x mac energy, vector ops x vector energy, SRAM bytes (array port
    /// and DRAM fills/spills), DRAM bytes (every transfer touching DRAM), SSD bytes.
    fn energy(&self, t: &Table, p: &Placement) -> f64 {
        let hw = &self.hw;
        let one = |d: &Detail| {
            let rs: f64 = d.r_sram.iter().sum();
            let wd: f64 = d.w_dram.iter().sum();
            let (mut rd, mut ws) = (0.0, 0.0);
            for c in 0..5 {
                rd += Detail::frac(p, c) * d.ssd_r[c];
                ws += Detail::frac(p, c) * d.ssd_w[c];
            }
            d.native_macs * hw.compute.mac_energy_pj
                + d.vector_ops * hw.compute.vector_energy_pj
                + (rs + wd + d.sram_port_bytes) * hw.sram.energy_pj_per_byte
                + (rs + wd + rd + ws) * hw.dram.energy_pj_per_byte
                + (rd + ws) * hw.ssd.energy_pj_per_byte
        };
        let squares: f64 = t.details.iter().map(one).sum();
        (squares * t.blocks as f64 + one(&t.opt)) * 1e-12
    }
}

fn base_detail(c: usize, cc: &ColumnCost) -> Detail {
    Detail {
        column: Some(c),
        array_cycles: cc.array_cycles,
        sram_port_cycles: cc.sram_port_cycles,
        vector_cycles: cc.vector_cycles,
        native_macs: cc.native_macs,
        vector_ops: cc.vector_ops,
        sram_port_bytes: cc.sram_port_bytes,
        sram_bytes: cc.sram_peak,
        ..Detail::default()
    }
}

/// Weight bytes a step of column `e` needs from DRAM (or from the SSD when streamed): all
/// of them, except for an embedding lookup, which gathers one table row per token (at most
/// its output activation bytes).
fn weights_streamed(e: &TraceEntry, sequences: f64) -> f64 {
    let w = e.weight_bytes as f64;
    if e.kind == EntryKind::Embedding {
        w.min(e.act_out_bytes as f64 * sequences)
    } else {
        w
    }
}

/// Weight bytes moved DRAM -> SRAM: [`weights_streamed`] times the mapper's re-fetch factor
/// of the column's weight operands (1 without weight GEMMs).
fn weights_read(e: &TraceEntry, sequences: f64, cc: &ColumnCost) -> f64 {
    let w = weights_streamed(e, sequences);
    if cc.weight_size > 0.0 {
        w * cc.weight_read / cc.weight_size
    } else {
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::synthetic::{SyntheticSpec, synthetic_trace};

    fn model() -> Model {
        let mut s = SyntheticSpec::llama7b_like();
        s.layers = 4;
        s.backprop_layers = 4;
        s.seq = 256;
        s.sequences_per_step = 4;
        Model::new(&HwConfig::paper_default(), &synthetic_trace(&s)).unwrap()
    }

    #[test]
    fn recomputation_trades_memory_for_compute() {
        let m = model();
        let all = m.recompute_order().len() as u32;
        assert_eq!(all, 4);
        let a = m.table(2, false, 0).unwrap();
        let b = m.table(2, false, all).unwrap();
        assert!(b.memory_bytes() < a.memory_bytes());
        let comp = |t: &Table| t.details.iter().map(|d| d.array_cycles).sum::<f64>();
        // Each recomputed layer re-runs its forward GEMMs once per backward step.
        let fwd: f64 = a.details[..4].iter().map(|d| d.array_cycles).sum();
        assert!((comp(&b) - comp(&a) - fwd).abs() <= 1e-9 * fwd);
    }

    #[test]
    fn placement_moves_bytes_between_tiers_and_never_speeds_up() {
        let m = model();
        let t = m.table(1, true, 0).unwrap();
        let p0 = Placement::default();
        let p1 = Placement {
            weights_on_ssd: 0.5,
            ..p0
        };
        assert!(t.dram_peak(&p1) < t.dram_peak(&p0));
        assert!(t.ssd_peak(&p1) > t.ssd_peak(&p0));
        for mode in Mode::ALL {
            assert!(t.seconds(mode, &p1) >= t.seconds(mode, &p0));
        }
    }

    #[test]
    fn modes_only_add_constraints_to_eq3() {
        let m = model();
        for prefetch in [false, true] {
            let t = m.table(2, prefetch, 1).unwrap();
            let p = Placement {
                weights_on_ssd: 0.3,
                saved_on_ssd: 0.6,
                optimizer_on_ssd: 0.2,
            };
            let paper = t.seconds(Mode::Paper, &p);
            assert!(t.seconds(Mode::Chained, &p) >= paper);
            assert!(t.seconds(Mode::SharedBus, &p) >= paper);
        }
    }

    #[test]
    fn minimal_optimizer_fraction_is_exact_on_the_grid() {
        let mut hw = HwConfig::paper_default();
        let tr = {
            let mut s = SyntheticSpec::llama7b_like();
            s.layers = 2;
            s.backprop_layers = 2;
            s.seq = 128;
            s.sequences_per_step = 2;
            s.lora_rank = 4096; // large trainable state so the optimizer fraction matters
            synthetic_trace(&s)
        };
        let probe = Model::new(&hw, &tr).unwrap().table(1, false, 0).unwrap();
        let p = Placement::default();
        // DRAM just below the all-in-DRAM peak.
        hw.dram.capacity_gib = probe.dram_peak(&p) * 0.97 / GIB;
        let t = Model::new(&hw, &tr).unwrap().table(1, false, 0).unwrap();
        let f = t.min_optimizer_on_ssd(&p, 0.05).unwrap();
        assert!(f > 0.0);
        let at = |x: f64| Placement {
            optimizer_on_ssd: x,
            ..p
        };
        assert!(t.dram_peak(&at(f)) <= t.dram_cap);
        assert!(t.dram_peak(&at(f - 0.05)) > t.dram_cap);
    }
}
