//! The discrete schedule space: (block size, prefetch, recomputation) combinations and the
//! placement grid, and the fastest placement of one combination.

use super::{MicroBatches, PlacementPolicy, SearchOptions};
use crate::cost::{Model, Placement, Schedule, Table};
use crate::grid::Traversal;

/// One (block size, prefetch, recomputation) combination and the schedule representing it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Combo {
    pub sequences: u64,
    pub micro_batch_size: u64,
    pub traversal: Traversal,
    pub prefetch: bool,
    pub recompute: u32,
}

impl Combo {
    /// The schedule of this combination with placement `p`.
    pub fn schedule(&self, p: Placement) -> Schedule {
        Schedule {
            traversal: self.traversal,
            micro_batch_size: self.micro_batch_size,
            prefetch: self.prefetch,
            recompute: self.recompute,
            placement: p,
        }
    }

    /// The cost table of this combination.
    pub fn table(&self, model: &Model) -> crate::Result<Table> {
        model.table(self.sequences, self.prefetch, self.recompute)
    }
}

/// The distinct combinations in enumeration order (micro-batch size, traversal, prefetch,
/// recomputation; equal sequences-per-step products represented by the first), and the
/// size of the whole discrete space (every placement of every raw combination).
pub(super) fn combos(model: &Model, o: &SearchOptions) -> (Vec<Combo>, u64) {
    let trace = model.trace();
    let seqs = trace.sequences_per_step;
    let mbs: Vec<u64> = match &o.micro_batches {
        MicroBatches::All => crate::cost::divisors(seqs),
        MicroBatches::Workload => vec![trace.micro_batch_size],
        MicroBatches::List(v) => v.clone(),
    };
    let recomputes: Vec<u32> = if o.recompute {
        (0..=model.recompute_order().len() as u32).collect()
    } else {
        vec![0]
    };
    let mut raw = Vec::new();
    for &s in mbs.iter().filter(|&&s| s >= 1 && seqs.is_multiple_of(s)) {
        let n = seqs / s;
        let mut travs = Vec::new();
        if o.row {
            travs.push(Traversal::Row);
        }
        if o.column {
            travs.push(Traversal::Column);
        }
        if o.zigzag {
            travs.extend(
                (2..n)
                    .filter(|b| n.is_multiple_of(*b))
                    .map(Traversal::Zigzag),
            );
        }
        for t in travs {
            raw.push((s, t));
        }
    }
    let space_per_combo = {
        let g = grid(o.placement_step).len() as u64;
        g * g * g
    };
    let space =
        raw.len() as u64 * o.prefetch.len() as u64 * recomputes.len() as u64 * space_per_combo;
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for (s, t) in raw {
        let n = seqs / s;
        let sequences = s * t.block_size(n);
        for &prefetch in &o.prefetch {
            for &k in &recomputes {
                if seen.insert((sequences, prefetch, k)) {
                    out.push(Combo {
                        sequences,
                        micro_batch_size: s,
                        traversal: t,
                        prefetch,
                        recompute: k,
                    });
                }
            }
        }
    }
    (out, space)
}

/// Fractions 0, step, 2 step, ..., 1.
pub(super) fn grid(step: f64) -> Vec<f64> {
    let step = if step > 0.0 && step <= 1.0 {
        step
    } else {
        0.05
    };
    let n = (1.0 / step).round().max(1.0) as usize;
    (0..=n).map(|i| (i as f64 * step).min(1.0)).collect()
}

/// The fastest feasible placement of one combination whose time is at most `limit`
/// (seconds, placement; ties: the first in grid order), and the placements timed.
/// Under [`PlacementPolicy::Greedy`], the first feasible placement whatever its time.
pub(super) fn best_placement(
    t: &Table,
    o: &SearchOptions,
    limit: f64,
) -> (Option<(f64, Placement)>, u64) {
    let fr = grid(o.placement_step);
    let mut best: Option<(f64, Placement)> = None;
    let mut evals = 0u64;
    for &fw in &fr {
        for &fs in &fr {
            let mut p = Placement {
                weights_on_ssd: fw,
                saved_on_ssd: fs,
                optimizer_on_ssd: 0.0,
            };
            let Some(fo) = t.min_optimizer_on_ssd(&p, o.placement_step) else {
                continue;
            };
            p.optimizer_on_ssd = fo;
            if !t.feasible(&p) {
                continue;
            }
            if o.ssd_write_budget_bytes
                .is_some_and(|b| t.ssd_write_bytes(&p) > b)
            {
                continue;
            }
            evals += 1;
            let secs = t.seconds(o.mode, &p);
            if o.placement == PlacementPolicy::Greedy {
                return (Some((secs, p)), evals);
            }
            if secs <= limit && best.is_none_or(|(b, _)| secs < b) {
                best = Some((secs, p));
            }
        }
    }
    (best, evals)
}
