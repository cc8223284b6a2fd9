//! The per-(hardware, trace) model: mapper costs precomputed for every block size, tables
//! of combinations, full evaluations and the lower bound.

use super::ADAM_OPS_PER_PARAM;
use super::energy::{Activity, EnergyBreakdown, EnergyPerAccess, StaticPower, energy};
use super::table::{A, Detail, G, MemAgg, O, Rates, S, Table, W};
use super::types::*;
use crate::error::{Error, Result};
use crate::grid::forward_partners;
use crate::hw::HwConfig;
use crate::mapper::{ColumnCost, GemmShape, Mapper};
use crate::workload::{EntryKind, Pass, Trace, TraceEntry};

/// The search space's lower bound on seconds per iteration.
///
/// - compute: array + vector cycles of every column with all sequences of the step in one
///   block (fill/drain paid once per fold: the fewest any schedule pays), no
///   recomputation, plus the optimizer's vector cycles;
/// - DRAM: the least traffic / DRAM bandwidth. Per GEMM, the larger of the compulsory
///   traffic (what every schedule of the model moves: each column's weights once, each
///   GEMM operand read once and output written once, the model keeping nothing in SRAM
///   between GEMMs) and the I/O lower bound of that GEMM under the SRAM
///   ([`crate::mapper::bound`]: red-blue pebble game, all sequences of the step as one
///   GEMM, the whole SRAM as fast memory, which also covers double-buffered tilings that
///   use half of it per buffer); its excess over the compulsory traffic is all reads
///   (`dram_sram_excess_bytes`). Plus gradient accumulators read and written once, and
///   the optimizer's reads and writes. Reads and writes are separate links in modes
///   paper/chained (the bound takes the larger), one bus in shared-bus (the sum);
/// - SSD: what cannot be in DRAM must be read from the SSD at least once per iteration:
///   `max(0, weights + gradients + optimizer state + the least saved tensors (one
///   sequence per step, all recomputable columns recomputed) + the least activation
///   working set (one sequence) - DRAM capacity)` / SSD read bandwidth. Every SSD-resident
///   byte of those classes is read back at least once (weights by their columns, saved
///   tensors by their backward, gradients and state by the optimizer).
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct LowerBound {
    /// Compute term (s).
    pub compute_seconds: f64,
    /// DRAM term (s).
    pub dram_seconds: f64,
    /// SSD term (s).
    pub ssd_seconds: f64,
    /// Their maximum (s).
    pub seconds: f64,
    /// The DRAM term with compulsory traffic only (each operand once, no SRAM limit), the
    /// bound before the SRAM-aware GEMM term (s); `dram_seconds` is never below it.
    pub dram_compulsory_seconds: f64,
    /// DRAM read bytes of the bound (compulsory plus the SRAM excess).
    pub dram_read_bytes: f64,
    /// DRAM write bytes of the bound.
    pub dram_write_bytes: f64,
    /// Read bytes the SRAM-aware GEMM bound ([`crate::mapper::bound`]) adds to the
    /// compulsory reads.
    pub dram_sram_excess_bytes: f64,
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
    /// Read bytes the SRAM-aware GEMM bound adds to `lb_read` (compulsory).
    lb_read_excess: f64,
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
            lb_read_excess: 0.0,
            lb_ssd: 0.0,
        };
        m.init_lower_bound();
        Ok(m)
    }

    fn init_lower_bound(&mut self) {
        let all = self.costs.len() - 1; // the largest divisor = all sequences
        let all_seqs = self.trace.sequences_per_step as f64;
        let sram = self.hw.sram.capacity_bytes() as f64;
        let (mut cyc, mut rd, mut wr, mut excess) = (0.0, 0.0, 0.0, 0.0);
        for (e, c) in self.trace.entries.iter().zip(&self.costs[all][0]) {
            cyc += c.array_cycles + c.vector_cycles;
            rd += weights_streamed(e, all_seqs) + c.act_read_compulsory + e.grad_bytes as f64;
            wr += c.act_write_compulsory + e.grad_bytes as f64;
            excess += sram_read_excess(e, c, self.trace.sequences_per_step, sram);
        }
        self.lb_read_excess = excess;
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
        let dram_seconds = |rd: f64, wr: f64| match mode {
            Mode::SharedBus => (rd + wr) / self.rates.dram,
            _ => rd.max(wr) / self.rates.dram,
        };
        let rd = self.lb_read + self.lb_read_excess;
        let dram = dram_seconds(rd, self.lb_write);
        LowerBound {
            compute_seconds: self.lb_compute,
            dram_seconds: dram,
            ssd_seconds: self.lb_ssd,
            seconds: self.lb_compute.max(dram).max(self.lb_ssd),
            dram_compulsory_seconds: dram_seconds(self.lb_read, self.lb_write),
            dram_read_bytes: rd,
            dram_write_bytes: self.lb_write,
            dram_sram_excess_bytes: self.lb_read_excess,
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

    /// Sum over the trace's entries of `bytes` of each (accumulated in f64).
    fn entries_sum(&self, bytes: impl Fn(&TraceEntry) -> u64) -> f64 {
        self.trace.entries.iter().map(|e| bytes(e) as f64).sum()
    }

    fn grad_opt_total(&self) -> f64 {
        self.entries_sum(|e| e.grad_bytes + e.optimizer_bytes)
    }

    fn optimizer_detail(&self) -> Detail {
        let t = self.entries_sum(|e| e.trainable_bytes);
        let g = self.entries_sum(|e| e.grad_bytes);
        let o = self.entries_sum(|e| e.optimizer_bytes);
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
            let mut d = base_detail(c, cc, prefetch);
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
            trainable: self.entries_sum(|e| e.trainable_bytes),
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
                let mut d = base_detail(c, cc, prefetch);
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
                        d.stall_cycles += fd.stall_cycles;
                        d.sram_port_cycles += fd.sram_port_cycles;
                        d.vector_cycles += fd.vector_cycles;
                        d.native_macs += fd.native_macs;
                        d.fp16_macs += fd.fp16_macs;
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
        let opt = self.optimizer_detail();
        mem.max_weights = mem.max_weights.max(opt.ssd_r[W]);
        let n = self.trace.sequences_per_step / sequences;
        Ok(Table::new(
            sequences,
            n,
            prefetch,
            details,
            opt,
            mem,
            self.rates,
            [
                self.hw.sram.capacity_bytes() as f64,
                self.hw.dram.capacity_bytes() as f64,
                self.hw.ssd.capacity_bytes() as f64,
            ],
        ))
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
        let energy = self
            .energy_breakdown(t, p)
            .with_static(&StaticPower::of(&self.hw), seconds);
        let (ssd_read_bytes, ssd_write_bytes) = t.ssd_bytes_per_iteration(p);
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
            memory: super::memory::MemoryMetrics::of(t, p),
            bound: breakdown.first().map_or(Bound::Compute, |b| b.0),
            bound_seconds: breakdown,
            energy_joules: energy.total(),
            energy_breakdown: energy,
            ssd_write_bytes,
            ssd_read_bytes,
            ssd_wear_out_steps: self.hw.ssd.steps_to_wear_out(ssd_write_bytes),
            lower_bound_seconds: lb,
            gap: if lb > 0.0 { seconds / lb - 1.0 } else { 0.0 },
            steps: t.details.len() * t.blocks as usize + 1,
        }
    }

    /// Dynamic energy by component: the activity of every step (the squares of one block,
    /// times the blocks, plus the optimizer update) under the one rule of
    /// [`super::energy`] (static parts 0: they need the time, see [`Self::evaluate_table`]).
    pub fn energy_breakdown(&self, t: &Table, p: &Placement) -> EnergyBreakdown {
        let one = |d: &Detail| {
            let (mut rd, mut ws) = (0.0, 0.0);
            for c in 0..5 {
                rd += Detail::frac(p, c) * d.ssd_r[c];
                ws += Detail::frac(p, c) * d.ssd_w[c];
            }
            Activity {
                native_macs: d.native_macs,
                fp16_macs: d.fp16_macs,
                vector_ops: d.vector_ops,
                sram_port_bytes: d.sram_port_bytes,
                dram_to_sram: d.r_sram.iter().sum(),
                sram_to_dram: d.w_dram.iter().sum(),
                ssd_to_dram: rd,
                dram_to_ssd: ws,
            }
        };
        let mut a = Activity::default();
        for d in &t.details {
            a += one(d);
        }
        let mut a = a.times(t.blocks as f64);
        a += one(&t.opt);
        energy(&EnergyPerAccess::of(&self.hw), &a)
    }
}

/// The mapper's figures of column `c`. Stall cycles enter only with prefetching (double
/// buffered tiles): a step without prefetching loads, computes and stores in sequence, so
/// its loads are already charged in full by the step's serial sum.
fn base_detail(c: usize, cc: &ColumnCost, prefetch: bool) -> Detail {
    Detail {
        column: Some(c),
        array_cycles: cc.array_cycles,
        stall_cycles: if prefetch { cc.stall_cycles } else { 0.0 },
        sram_port_cycles: cc.sram_port_cycles,
        vector_cycles: cc.vector_cycles,
        native_macs: cc.native_macs,
        fp16_macs: cc.fp16_macs,
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

/// Read bytes the SRAM-aware I/O bound of column `e`'s GEMMs ([`crate::mapper::bound`])
/// adds to their compulsory reads, all `sequences` of the step in one GEMM each. The cost
/// model reads weights as the trace stores them: the mapper's weight reads times
/// `f = weights_streamed / weight_size` (see [`weights_read`]). So a weight GEMM's excess
/// counts `min(1, f)` times: for `f >= 1` the model's extra reads are at least the
/// mapper's; for `f < 1` they are at least `f` times the mapper's extra traffic, A and
/// output traffic never being below their compulsory part. Valid for every block size: the
/// blocks of a step run one after the other form one execution of the whole GEMM.
fn sram_read_excess(e: &TraceEntry, c: &ColumnCost, sequences: u64, sram: f64) -> f64 {
    let f = if c.weight_size > 0.0 {
        (weights_streamed(e, sequences as f64) / c.weight_size).min(1.0)
    } else {
        1.0
    };
    e.gemms
        .iter()
        .map(|op| {
            let g = GemmShape::of(op, sequences);
            let x = crate::mapper::bound::gemm_io_bound(&g, sram).excess_read();
            if g.b_is_weight { f * x } else { x }
        })
        .sum()
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
    use crate::cost::table::GIB;

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
    fn closed_form_energy_equals_the_energy_of_the_expanded_steps() {
        // model(): 4 sequences per step. Row = 4 blocks of 1, zigzag:2 = 2 blocks of 2.
        let m = model();
        let hw = HwConfig::paper_default();
        for traversal in [
            crate::grid::Traversal::Row,
            crate::grid::Traversal::Zigzag(2),
        ] {
            let s = Schedule {
                traversal,
                micro_batch_size: 1,
                prefetch: true,
                recompute: 1,
                placement: Placement {
                    weights_on_ssd: 0.25,
                    saved_on_ssd: 0.5,
                    optimizer_on_ssd: 1.0,
                },
            };
            let e = m.evaluate(&s, Mode::Paper).unwrap();
            let steps = crate::cost::expand(&hw, m.trace(), &s).unwrap();
            let by_steps = energy(&EnergyPerAccess::of(&hw), &Activity::of_steps(&steps));
            let b = e.energy_breakdown;
            for (k, x, y) in [
                ("mac", b.mac, by_steps.mac),
                ("vector", b.vector, by_steps.vector),
                ("sram", b.sram, by_steps.sram),
                ("dram", b.dram, by_steps.dram),
                ("ssd", b.ssd, by_steps.ssd),
            ] {
                // Steps round each class's bytes to whole bytes.
                assert!((x - y).abs() <= 1e-9 * x.max(y) + 1e-9, "{k}: {x} vs {y}");
                assert!(x > 0.0, "{k} is zero");
            }
            assert!((e.energy_joules - b.total()).abs() < 1e-12);
        }
    }

    fn ssd_schedule(prefetch: bool) -> Schedule {
        Schedule {
            traversal: crate::grid::Traversal::Row,
            micro_batch_size: 1,
            prefetch,
            recompute: 0,
            placement: Placement {
                weights_on_ssd: 0.5,
                saved_on_ssd: 0.5,
                optimizer_on_ssd: 1.0,
            },
        }
    }

    #[test]
    fn energy_is_dynamic_plus_static_power_times_time() {
        let m = model();
        let hw = HwConfig::paper_default();
        for mode in Mode::ALL {
            let e = m.evaluate(&ssd_schedule(true), mode).unwrap();
            let b = e.energy_breakdown;
            // By hand: 25 + 30 + 120 + 30 mW (hw_configs/edge_llm_paper.toml) x time.
            let static_j = (25.0 + 30.0 + 120.0 + 30.0) * 1e-3 * e.seconds_per_iteration;
            assert_eq!(hw.static_mw(), 205.0);
            assert!((b.static_total() - static_j).abs() <= 1e-12 * static_j);
            let dynamic = b.mac + b.vector + b.sram + b.dram + b.ssd;
            assert!((e.energy_joules - (dynamic + static_j)).abs() <= 1e-12 * e.energy_joules);
            assert!(b.static_total() > 0.0 && b.dynamic() > 0.0);
        }
    }

    #[test]
    fn ssd_writes_per_step_and_wear_out_by_hand() {
        let m = model();
        let hw = HwConfig::paper_default();
        let s = ssd_schedule(true);
        let e = m.evaluate(&s, Mode::Paper).unwrap();
        // Independently: the DRAM -> SSD bytes of every expanded step.
        let steps = crate::cost::expand(&hw, m.trace(), &s).unwrap();
        let written: f64 = steps.iter().map(|x| x.w_to_ssd.total() as f64).sum();
        let read: f64 = steps.iter().map(|x| x.r_to_dram.total() as f64).sum();
        assert!(written > 0.0);
        assert!((e.ssd_write_bytes - written).abs() <= 1e-9 * written + steps.len() as f64);
        assert!((e.ssd_read_bytes - read).abs() <= 1e-9 * read + steps.len() as f64);
        // 150 TB (10^12 B) rated endurance / bytes per step.
        let steps_to_wear = 150.0e12 / e.ssd_write_bytes;
        assert_eq!(e.ssd_wear_out_steps, Some(steps_to_wear));
        // The figure: 122 GB per step wears a 150 TBW drive out in 1229.5 steps.
        assert!((hw.ssd.steps_to_wear_out(122e9).unwrap() - 1229.508).abs() < 1e-3);
        assert_eq!(hw.ssd.steps_to_wear_out(0.0), None);
        let in_dram = m.evaluate(&Schedule::vanilla(1), Mode::Paper).unwrap();
        assert_eq!(in_dram.ssd_write_bytes, 0.0);
        assert_eq!(in_dram.ssd_wear_out_steps, None);
    }

    #[test]
    fn a_shared_ssd_link_is_never_faster_than_full_duplex() {
        let mut duplex_hw = HwConfig::paper_default();
        duplex_hw.ssd.full_duplex = true;
        let shared = model();
        let duplex = Model::new(&duplex_hw, shared.trace()).unwrap();
        let mut strictly = 0;
        for prefetch in [false, true] {
            for k in 0..=10 {
                let f = k as f64 / 10.0;
                let mut s = ssd_schedule(prefetch);
                s.placement = Placement {
                    weights_on_ssd: f,
                    saved_on_ssd: 1.0 - f,
                    optimizer_on_ssd: f,
                };
                for mode in Mode::ALL {
                    let a = shared.evaluate(&s, mode).unwrap().seconds_per_iteration;
                    let b = duplex.evaluate(&s, mode).unwrap().seconds_per_iteration;
                    assert!(a >= b, "{mode} {s}: shared {a} < duplex {b}");
                    // Expanded steps agree with the closed form under both links.
                    let st = crate::cost::expand(&duplex_hw, shared.trace(), &s).unwrap();
                    let sum = crate::cost::steps_seconds(&duplex_hw, mode, prefetch, &st);
                    // Steps round each class's bytes to whole bytes.
                    assert!((sum - b).abs() <= 1e-6 * b, "{sum} vs {b}");
                    if a > b * (1.0 + 1e-9) {
                        strictly += 1;
                    }
                }
            }
        }
        // Without prefetch a step's SSD reads and writes are serial on either link; with
        // prefetch, steps moving both directions take longer on the shared link.
        assert!(strictly > 0);
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
