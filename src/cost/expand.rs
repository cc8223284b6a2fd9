//! Expansion of a schedule into its ordered steps (plain data), and the step times.

use super::table::{Detail, Rates, Table, combine};
use super::types::*;
use crate::hw::HwConfig;
use crate::workload::Trace;

fn class_bytes(v: &[f64; 5], f: impl Fn(usize) -> f64) -> ClassBytes {
    let r = |c: usize| (v[c] * f(c)).round().max(0.0) as u64;
    ClassBytes {
        weights: r(0),
        activations: r(1),
        saved: r(2),
        gradients: r(3),
        optimizer: r(4),
    }
}

fn step_of(d: &Detail, p: &Placement, index: usize, kind: StepKind) -> Step {
    Step {
        index,
        kind,
        column: d.column,
        first_micro_batch: 0,
        micro_batches: 0,
        sequences: 0,
        recomputes: d.recomputes,
        r_to_sram: class_bytes(&d.r_sram, |_| 1.0),
        w_to_dram: class_bytes(&d.w_dram, |_| 1.0),
        r_to_dram: class_bytes(&d.ssd_r, |c| Detail::frac(p, c)),
        w_to_ssd: class_bytes(&d.ssd_w, |c| Detail::frac(p, c)),
        array_cycles: d.array_cycles.round() as u64,
        stall_cycles: d.stall_cycles.round() as u64,
        sram_port_cycles: d.sram_port_cycles.round() as u64,
        vector_cycles: d.vector_cycles.round() as u64,
        native_macs: d.native_macs,
        fp16_macs: d.fp16_macs,
        vector_ops: d.vector_ops,
        sram_port_bytes: d.sram_port_bytes.round() as u64,
        sram_bytes: d.sram_bytes.round() as u64,
        dram_bytes: 0,
        ssd_bytes: 0,
        deps: Vec::new(),
    }
}

/// Expands `schedule` into its steps: for each block of micro-batches (in traversal
/// order), one step per column, then the optimizer step. Dependencies: the previous column
/// of the same block (data), the forward step of the same block whose saved tensors a
/// backward step reads, the same column's step of the previous block (gradient
/// accumulation into the same buffer), and for the optimizer step the last step of every
/// block.
pub fn expand(hw: &HwConfig, trace: &Trace, schedule: &Schedule) -> crate::Result<Vec<Step>> {
    let model = super::Model::new(hw, trace)?;
    let table = model.table_for(schedule)?;
    Ok(expand_table(&model, &table, schedule))
}

/// Expansion from an already built table.
pub fn expand_table(model: &super::Model, t: &Table, schedule: &Schedule) -> Vec<Step> {
    let cols = t.details.len();
    let n = model.trace().sequences_per_step / schedule.micro_batch_size;
    let blocks = schedule.traversal.blocks(n);
    let partners = model.partners();
    let mut steps = Vec::with_capacity(blocks.len() * cols + 1);
    let occupancy = Occupancy::new(t, &schedule.placement);
    for (b, &(first, count)) in blocks.iter().enumerate() {
        let base = b * cols;
        let mut saved_live = 0.0;
        for (c, d) in t.details.iter().enumerate() {
            let mut s = step_of(d, &schedule.placement, base + c, StepKind::Square);
            // Saved tensors are live from their forward step through their backward step.
            saved_live += d.ssd_w[2];
            (s.dram_bytes, s.ssd_bytes) = occupancy.at(d, saved_live);
            saved_live -= d.ssd_r[2];
            s.first_micro_batch = first;
            s.micro_batches = count;
            s.sequences = count * schedule.micro_batch_size;
            if c > 0 {
                s.deps.push(base + c - 1);
            }
            if let Some(f) = partners[c]
                && f + 1 != c
            {
                s.deps.push(base + f);
            }
            if b > 0 && (d.r_sram[3] > 0.0 || d.w_dram[3] > 0.0) {
                s.deps.push(base + c - cols);
            }
            steps.push(s);
        }
    }
    let mut opt = step_of(
        &t.opt,
        &schedule.placement,
        steps.len(),
        StepKind::Optimizer,
    );
    opt.deps = (0..blocks.len()).map(|b| b * cols + cols - 1).collect();
    steps.push(opt);
    steps
}

/// Per-step tier occupancy (the traversal-level view of `Table::dram_peak`, which bounds
/// it from above).
struct Occupancy {
    p: Placement,
    stage: f64,
    weights: f64,
    grad_opt: f64,
}

impl Occupancy {
    fn new(t: &Table, p: &Placement) -> Self {
        Occupancy {
            p: *p,
            stage: t.stage(),
            weights: t.mem.weights,
            grad_opt: t.mem.grad_opt,
        }
    }

    /// (DRAM, SSD) bytes during a step with `saved_live` saved bytes held.
    fn at(&self, d: &Detail, saved_live: f64) -> (u64, u64) {
        let p = &self.p;
        let staged = |f: f64, unit: f64| if f > 0.0 { self.stage * f * unit } else { 0.0 };
        let dram = (1.0 - p.weights_on_ssd) * self.weights
            + staged(p.weights_on_ssd, d.ssd_r[0])
            + (1.0 - p.saved_on_ssd) * saved_live
            + staged(p.saved_on_ssd, d.ssd_r[2].max(d.ssd_w[2]))
            + (1.0 - p.optimizer_on_ssd) * self.grad_opt
            + staged(p.optimizer_on_ssd, d.grad_opt_unit)
            + d.dram_transient;
        let ssd = p.weights_on_ssd * self.weights
            + p.saved_on_ssd * saved_live
            + p.optimizer_on_ssd * self.grad_opt;
        (dram.round() as u64, ssd.round() as u64)
    }
}

/// Seconds of one step under `mode`, and its bounding term.
pub fn step_seconds(hw: &HwConfig, mode: Mode, prefetch: bool, s: &Step) -> (f64, Bound) {
    let r = Rates::of(hw);
    let rs = s.r_to_sram.total() as f64;
    let wd = s.w_to_dram.total() as f64;
    let rd = s.r_to_dram.total() as f64;
    let ws = s.w_to_ssd.total() as f64;
    let t_rd = r.ssd_read_seconds(rd);
    let t_ws = r.ssd_write_seconds(ws);
    let t_c = (((s.array_cycles + s.stall_cycles).max(s.sram_port_cycles) + s.vector_cycles)
        as f64)
        / r.clock;
    combine(
        mode,
        prefetch,
        r.ssd_duplex,
        rs / r.dram,
        wd / r.dram,
        t_rd,
        t_ws,
        t_c,
        (rs + wd + rd + ws) / r.dram,
    )
}

/// Seconds of a whole expanded schedule: the sum of step times, plus with prefetching the
/// pipeline fill (the first step's SSD reads) and drain (the last step's SSD writes).
pub fn steps_seconds(hw: &HwConfig, mode: Mode, prefetch: bool, steps: &[Step]) -> f64 {
    let r = Rates::of(hw);
    let sum: f64 = steps
        .iter()
        .map(|s| step_seconds(hw, mode, prefetch, s).0)
        .sum();
    if !prefetch || steps.is_empty() {
        return sum;
    }
    let first = &steps[0];
    let last = &steps[steps.len() - 1];
    let fill = r.ssd_read_seconds(first.r_to_dram.total() as f64);
    let drain = r.ssd_write_seconds(last.w_to_ssd.total() as f64);
    sum + fill + drain
}
