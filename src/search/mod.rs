//! Schedule search: the fastest feasible schedule of the discrete space, its lower bound
//! and optimality gap.
//!
//! Variables: traversal (row, column, zigzag:B for every B dividing the micro-batch
//! count), micro-batch size (divisors of the sequences per step), prefetch on/off, the
//! number of recomputed forward columns (0 ..= all, in the model's fixed ranking), and the
//! SSD fractions of weights, saved activations and gradients+optimizer state on a grid of
//! `placement_step` (5% by default).
//!
//! Pruning, all exact:
//! - The cost model depends on micro-batch size and block size only through their product
//!   (sequences per step), so equal products are evaluated once (the first in enumeration
//!   order represents them).
//! - Time never decreases when a fraction moves to the SSD (every SSD term is >= 0), so
//!   for each (weights, saved) fraction pair only the smallest feasible gradients+optimizer
//!   fraction is evaluated (solved in closed form, DRAM use being linear in it).
//! - A combination's all-in-DRAM time (capacity ignored) bounds all its placements from
//!   below; combinations are visited in increasing bound and dropped when the bound
//!   exceeds the incumbent.
//!
//! Determinism: the incumbent used for pruning comes from a sequential first phase; the
//! parallel phase shares nothing; ties are broken by enumeration order.

use crate::cost::{Evaluation, LowerBound, Mode, Model, Placement, Schedule, Table};
use crate::grid::Traversal;
use crate::hw::HwConfig;
use crate::workload::Trace;
use rayon::prelude::*;

/// Which micro-batch sizes the search may use.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum MicroBatches {
    /// Every divisor of the sequences per step.
    All,
    /// Only the workload's own micro-batch size.
    Workload,
    /// An explicit list (values not dividing the sequences per step are skipped).
    List(Vec<u64>),
}

/// How placement fractions are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum PlacementPolicy {
    /// Search the fraction grid for the fastest feasible placement.
    Search,
    /// Keep everything that fits in DRAM: the first feasible placement in the order
    /// weights, then saved activations, then gradients+optimizer moved to the SSD.
    Greedy,
}

/// What the search may vary.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SearchOptions {
    /// Step-time mode.
    pub mode: Mode,
    /// Allow the row traversal.
    pub row: bool,
    /// Allow the column traversal.
    pub column: bool,
    /// Allow zig-zag blocks (block sizes strictly between 1 and the micro-batch count).
    pub zigzag: bool,
    /// Micro-batch sizes.
    pub micro_batches: MicroBatches,
    /// Prefetch settings to try.
    pub prefetch: Vec<bool>,
    /// Search the number of recomputed columns (else none).
    pub recompute: bool,
    /// Grid step of the placement fractions, in (0, 1].
    pub placement_step: f64,
    /// Placement policy.
    pub placement: PlacementPolicy,
    /// Only schedules whose total tuning memory (see `Evaluation::memory_bytes`) is at most
    /// this many bytes; `None`: no limit.
    pub max_memory_bytes: Option<f64>,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            mode: Mode::Paper,
            row: true,
            column: true,
            zigzag: true,
            micro_batches: MicroBatches::All,
            prefetch: vec![false, true],
            recompute: true,
            placement_step: 0.05,
            placement: PlacementPolicy::Search,
            max_memory_bytes: None,
        }
    }
}

impl SearchOptions {
    /// "No complementary scheduling": row traversal at the workload's micro-batch size, no
    /// prefetch, no recomputation, everything that fits kept in DRAM and the rest on SSD.
    pub fn vanilla() -> Self {
        SearchOptions {
            mode: Mode::Paper,
            row: true,
            column: false,
            zigzag: false,
            micro_batches: MicroBatches::Workload,
            prefetch: vec![false],
            recompute: false,
            placement_step: 0.05,
            placement: PlacementPolicy::Greedy,
            max_memory_bytes: None,
        }
    }

    /// The same options under another mode.
    pub fn with_mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }
}

/// The outcome of a search.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SearchResult {
    /// The fastest feasible schedule, if any.
    pub best: Option<Evaluation>,
    /// Why nothing is feasible (the most relaxed candidate's overflow), when `best` is None.
    pub reason: Option<String>,
    /// The lower bound of the space.
    pub lower_bound: LowerBound,
    /// `best / lower bound - 1`.
    pub gap: Option<f64>,
    /// Candidate schedules evaluated (placements timed plus combination bounds).
    pub candidates_evaluated: u64,
    /// Size of the discrete space before pruning.
    pub space_size: u64,
}

/// One (block size, prefetch, recomputation) combination and the schedule representing it.
#[derive(Debug, Clone, Copy)]
struct Combo {
    sequences: u64,
    micro_batch_size: u64,
    traversal: Traversal,
    prefetch: bool,
    recompute: u32,
}

impl Combo {
    fn schedule(&self, p: Placement) -> Schedule {
        Schedule {
            traversal: self.traversal,
            micro_batch_size: self.micro_batch_size,
            prefetch: self.prefetch,
            recompute: self.recompute,
            placement: p,
        }
    }
}

fn combos(model: &Model, o: &SearchOptions) -> (Vec<Combo>, u64) {
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

/// A combination's best placement (seconds, placement), evaluations, combination index.
type CombinationBest = (Option<(f64, Placement)>, u64, usize);

/// Fractions 0, step, 2 step, ..., 1.
fn grid(step: f64) -> Vec<f64> {
    let step = if step > 0.0 && step <= 1.0 {
        step
    } else {
        0.05
    };
    let n = (1.0 / step).round().max(1.0) as usize;
    (0..=n).map(|i| (i as f64 * step).min(1.0)).collect()
}

/// Best placement of one combination: (seconds, placement, evaluations).
fn best_placement(t: &Table, o: &SearchOptions, limit: f64) -> (Option<(f64, Placement)>, u64) {
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

/// Searches the schedule space of `trace` on `hw`.
pub fn search(hw: &HwConfig, trace: &Trace, o: &SearchOptions) -> SearchResult {
    match Model::new(hw, trace) {
        Ok(m) => search_model(&m, o),
        Err(e) => SearchResult {
            best: None,
            reason: Some(e.to_string()),
            lower_bound: LowerBound {
                compute_seconds: 0.0,
                dram_seconds: 0.0,
                ssd_seconds: 0.0,
                seconds: 0.0,
            },
            gap: None,
            candidates_evaluated: 0,
            space_size: 0,
        },
    }
}

/// Searches with a prepared model (reuse it across modes and option sets).
pub fn search_model(model: &Model, o: &SearchOptions) -> SearchResult {
    let lb = model.lower_bound(o.mode);
    let (combos, space) = combos(model, o);
    // Phase 0: every combination's all-in-DRAM bound (parallel, deterministic).
    let zero = Placement::default();
    // Combinations over the memory limit get an infinite bound and are never visited.
    let limit = o.max_memory_bytes.unwrap_or(f64::INFINITY);
    let mut order: Vec<(f64, usize)> = combos
        .par_iter()
        .enumerate()
        .map(|(i, c)| {
            let t = model
                .table(c.sequences, c.prefetch, c.recompute)
                .ok()
                .filter(|t| t.memory_bytes() <= limit)
                .map_or(f64::INFINITY, |t| t.seconds(o.mode, &zero));
            (t, i)
        })
        .collect();
    let mut evaluated = combos.len() as u64;
    let over_limit = order.iter().all(|(b, _)| b.is_infinite()) && !combos.is_empty();
    order.retain(|(b, _)| b.is_finite());
    if o.placement == PlacementPolicy::Search {
        order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    }
    // Phase 1: sequential until a feasible incumbent exists.
    let mut best: Option<(f64, usize, Placement)> = None;
    let mut next = 0;
    while next < order.len() && best.is_none() {
        let i = order[next].1;
        next += 1;
        let c = &combos[i];
        if let Ok(t) = model.table(c.sequences, c.prefetch, c.recompute) {
            let (b, e) = best_placement(&t, o, f64::INFINITY);
            evaluated += e;
            if let Some((s, p)) = b {
                best = Some((s, i, p));
            }
        }
    }
    // Phase 2: the remaining combinations whose bound does not exceed the incumbent.
    if let Some((inc, _, _)) = best
        && o.placement == PlacementPolicy::Search
    {
        let rest: Vec<usize> = order[next..]
            .iter()
            .take_while(|(b, _)| *b <= inc)
            .map(|(_, i)| *i)
            .collect();
        let found: Vec<CombinationBest> = rest
            .par_iter()
            .map(|&i| {
                let c = &combos[i];
                match model.table(c.sequences, c.prefetch, c.recompute) {
                    Ok(t) => {
                        let (b, e) = best_placement(&t, o, inc);
                        (b, e, i)
                    }
                    Err(_) => (None, 0, i),
                }
            })
            .collect();
        for (b, e, i) in found {
            evaluated += e;
            if let Some((s, p)) = b {
                let better = match best {
                    None => true,
                    Some((bs, bi, _)) => s < bs || (s == bs && i < bi),
                };
                if better {
                    best = Some((s, i, p));
                }
            }
        }
    }
    match best {
        Some((_, i, p)) => {
            let s = combos[i].schedule(p);
            let ev = model.evaluate(&s, o.mode).ok();
            let gap = ev.as_ref().map(|e| e.gap);
            SearchResult {
                best: ev,
                reason: None,
                lower_bound: lb,
                gap,
                candidates_evaluated: evaluated,
                space_size: space,
            }
        }
        None => SearchResult {
            best: None,
            reason: Some(if over_limit && o.max_memory_bytes.is_some() {
                format!(
                    "no schedule needs at most {:.3} GiB of tuning memory",
                    limit / (1u64 << 30) as f64
                )
            } else {
                infeasible_reason(model, o, &combos)
            }),
            lower_bound: lb,
            gap: None,
            candidates_evaluated: evaluated,
            space_size: space,
        },
    }
}

/// The overflow of the most relaxed candidate: smallest block, most recomputation,
/// no prefetch, everything on the SSD.
fn infeasible_reason(model: &Model, o: &SearchOptions, combos: &[Combo]) -> String {
    let relaxed = combos
        .iter()
        .min_by_key(|c| (c.sequences, c.prefetch, std::cmp::Reverse(c.recompute)));
    let Some(c) = relaxed else {
        return "no candidate schedule: no micro-batch size divides the sequences per step \
                or no traversal is allowed"
            .to_string();
    };
    let all_ssd = Placement {
        weights_on_ssd: 1.0,
        saved_on_ssd: 1.0,
        optimizer_on_ssd: 1.0,
    };
    match model.table(c.sequences, c.prefetch, c.recompute) {
        Ok(t) => t
            .infeasibility(&all_ssd)
            .unwrap_or_else(|| format!("no feasible placement on the {} grid", o.placement_step)),
        Err(e) => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::synthetic::{SyntheticSpec, synthetic_trace};

    fn small() -> Trace {
        synthetic_trace(&SyntheticSpec {
            layers: 3,
            backprop_layers: 2,
            hidden: 256,
            ffn: 688,
            heads: 4,
            seq: 64,
            sequences_per_step: 4,
            w_bits: 4,
            a_bits: 8,
            sparsity: 0.5,
            lora_rank: 4,
        })
    }

    /// Exhaustive minimum over every combination and every placement of the grid.
    fn brute_force(model: &Model, o: &SearchOptions) -> Option<f64> {
        let (combos, _) = combos(model, o);
        let fr = grid(o.placement_step);
        let mut best: Option<f64> = None;
        for c in &combos {
            let t = model.table(c.sequences, c.prefetch, c.recompute).unwrap();
            for &w in &fr {
                for &s in &fr {
                    for &f in &fr {
                        let p = Placement {
                            weights_on_ssd: w,
                            saved_on_ssd: s,
                            optimizer_on_ssd: f,
                        };
                        if t.feasible(&p) {
                            let secs = t.seconds(o.mode, &p);
                            best = Some(best.map_or(secs, |b: f64| b.min(secs)));
                        }
                    }
                }
            }
        }
        best
    }

    #[test]
    fn pruned_search_finds_the_exhaustive_optimum() {
        let tr = small();
        let mut hw = HwConfig::paper_default();
        // Tight tiers so placement and recomputation matter: a few MiB of DRAM, slow SSD.
        hw.ssd.read_gbps = 0.05;
        hw.ssd.write_gbps = 0.02;
        for (dram_mib, dram_x) in [
            (2.5, 1.0),
            (2.0, 0.05),
            (1.6, 0.01),
            (1.3, 1.0),
            (1.0, 0.1),
            (64.0, 1.0),
        ] {
            hw.dram.capacity_gib = dram_mib / 1024.0;
            hw.dram.data_rate_mtps = 3200.0 * dram_x;
            let model = Model::new(&hw, &tr).unwrap();
            for mode in Mode::ALL {
                let o = SearchOptions::default().with_mode(mode);
                let r = search_model(&model, &o);
                let brute = brute_force(&model, &o);
                match (r.best.as_ref(), brute) {
                    (Some(b), Some(x)) => {
                        assert!(b.feasible);
                        assert!(
                            (b.seconds_per_iteration - x).abs() <= 1e-12 * x,
                            "{dram_mib} MiB {mode}: search {} vs exhaustive {x}",
                            b.seconds_per_iteration
                        );
                        assert!(r.candidates_evaluated < r.space_size);
                    }
                    (None, None) => assert!(r.reason.is_some()),
                    (a, b) => panic!(
                        "search {:?} vs exhaustive {b:?}",
                        a.map(|e| e.seconds_per_iteration)
                    ),
                }
            }
        }
    }

    #[test]
    fn vanilla_is_row_no_prefetch_and_keeps_what_fits_in_dram() {
        let tr = small();
        let mut hw = HwConfig::paper_default();
        hw.dram.capacity_gib = 4.0 / 1024.0;
        let r = search(&hw, &tr, &SearchOptions::vanilla());
        let b = r.best.unwrap();
        let s = b.schedule;
        assert_eq!(s.traversal, crate::grid::Traversal::Row);
        assert_eq!(s.micro_batch_size, tr.micro_batch_size);
        assert!(!s.prefetch && s.recompute == 0);
        // Greedy: the weights fraction is the smallest that allows a feasible placement.
        let model = Model::new(&hw, &tr).unwrap();
        let t = model.table_for(&s).unwrap();
        if s.placement.weights_on_ssd > 0.0 {
            let fewer = s.placement.weights_on_ssd - 0.05;
            let any = grid(0.05).iter().any(|&fs| {
                let p = Placement {
                    weights_on_ssd: fewer,
                    saved_on_ssd: fs,
                    optimizer_on_ssd: 1.0,
                };
                t.feasible(&p)
            });
            assert!(!any);
        }
        assert!(b.peak_bytes.dram <= hw.dram.capacity_bytes() as f64);
    }

    #[test]
    fn memory_limit_is_respected_and_costs_time() {
        let tr = small();
        let hw = HwConfig::paper_default();
        let free = search(&hw, &tr, &SearchOptions::default()).best.unwrap();
        let mut o = SearchOptions {
            max_memory_bytes: Some(free.memory_bytes * 0.6),
            ..SearchOptions::default()
        };
        let r = search(&hw, &tr, &o);
        let capped = r.best.unwrap();
        assert!(capped.memory_bytes <= free.memory_bytes * 0.6);
        assert!(capped.seconds_per_iteration >= free.seconds_per_iteration);
        o.max_memory_bytes = Some(1.0);
        let r = search(&hw, &tr, &o);
        assert!(r.best.is_none() && r.reason.unwrap().contains("tuning memory"));
    }

    #[test]
    fn nothing_fits_reports_the_tier() {
        let tr = small();
        let mut hw = HwConfig::paper_default();
        hw.dram.capacity_gib = 0.1 / 1024.0;
        let r = search(&hw, &tr, &SearchOptions::default());
        assert!(r.best.is_none() && r.gap.is_none());
        assert!(r.reason.unwrap().contains("DRAM"));
    }
}
