//! Schedule search: the fastest feasible time of the discrete space, and the schedule
//! that reaches it (within a time slack) with the least total tuning memory; the lower
//! bound, the optimality gap and, on request, the time/memory Pareto front.
//!
//! Variables: traversal (row, column, zigzag:B for every B dividing the micro-batch
//! count), micro-batch size (divisors of the sequences per step), prefetch on/off, the
//! number of recomputed forward columns (0 ..= all, in the model's fixed ranking), and the
//! SSD fractions of weights, saved activations and gradients+optimizer state on a grid of
//! `placement_step` (5% by default).
//!
//! Objective: let `T*` be the least time of any feasible schedule (`optimal_seconds`).
//! The chosen schedule is the one with the least total tuning memory among the feasible
//! schedules taking at most `(1 + time_slack) x T*`; ties by time, then enumeration order.
//! A pure time minimum picks among near-ties arbitrarily (e.g. 8 sequences' saved
//! activations live to gain 0.3%), so the reported memory would not reflect the method;
//! `time_slack = 0` gives the time optimum, ties broken by memory.
//!
//! Pruning, all exact:
//! - The cost model depends on micro-batch size and block size only through their product
//!   (sequences per step), so equal products are evaluated once (the first in enumeration
//!   order represents them).
//! - Total tuning memory depends on the combination (block size, prefetch, recomputation)
//!   only, not on the placement; so within a combination the chosen placement is simply
//!   the fastest.
//! - Time never decreases when a fraction moves to the SSD (every SSD term is >= 0), so
//!   for each (weights, saved) fraction pair only the smallest feasible gradients+optimizer
//!   fraction is evaluated (solved in closed form, DRAM use being linear in it).
//! - A combination's all-in-DRAM time (capacity ignored) bounds all its placements from
//!   below. Combinations are visited in increasing bound and dropped when the bound
//!   exceeds the incumbent (for `T*`); for the choice, only combinations whose bound is at
//!   most `(1 + slack) x T*` and whose memory is at most that of the time-optimal one
//!   (which qualifies) are visited, in increasing memory, stopping at the first memory
//!   above the best found.
//!
//! Determinism: the incumbent used for pruning comes from a sequential first phase; the
//! parallel phases share nothing and their results are reduced in a fixed order; ties are
//! broken by enumeration order.

mod explore;
pub mod fixed;
pub mod schedule_spec;
mod space;

use crate::cost::{Evaluation, LowerBound, Mode, Model, Placement, Schedule};
use crate::hw::HwConfig;
use crate::workload::Trace;
use explore::Explorer;
use space::combos;

pub use fixed::{evaluate_given, evaluate_schedule};
pub use schedule_spec::{load_schedule, parse_schedule};

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
    /// weights, then saved activations, then gradients+optimizer moved to the SSD. Each
    /// combination gets that one placement; the fastest combination is chosen.
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
    /// Time slack (fraction, >= 0): the chosen schedule is the one with the least total
    /// tuning memory among those at most `(1 + time_slack)` x the fastest time. 0: the
    /// fastest, ties broken by memory. Negative or non-finite values count as 0. Applies
    /// to [`PlacementPolicy::Search`]; the greedy policy takes its first feasible schedule.
    pub time_slack: f64,
    /// Also compute the time/memory Pareto front ([`SearchResult::pareto`]).
    pub pareto: bool,
    /// Evaluate only this schedule instead of searching (`--schedule`; see [`fixed`]).
    /// The other options then apply only as far as they restrict the one schedule
    /// (`mode`, `max_memory_bytes`).
    pub schedule: Option<Schedule>,
    /// Only schedules writing at most this many bytes to the SSD per optimizer step
    /// (`--ssd-write-budget-gb-per-step`, an endurance budget); `None`: no limit. Exact:
    /// SSD writes grow with every SSD fraction, so the smallest feasible
    /// gradients+optimizer fraction the search evaluates also writes the least.
    pub ssd_write_budget_bytes: Option<f64>,
}

/// Default [`SearchOptions::time_slack`]: 1%, about the spread of near-tied schedules
/// (block sizes and placements whose times differ by well under a percent).
pub const DEFAULT_TIME_SLACK: f64 = 0.01;

/// The default options: the whole space under mode `shared-bus` (LPDDR4's one
/// half-duplex bus, the physical model; `paper` is eq. 3 as printed, for reproduction).
impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            mode: Mode::SharedBus,
            row: true,
            column: true,
            zigzag: true,
            micro_batches: MicroBatches::All,
            prefetch: vec![false, true],
            recompute: true,
            placement_step: 0.05,
            placement: PlacementPolicy::Search,
            max_memory_bytes: None,
            time_slack: DEFAULT_TIME_SLACK,
            pareto: false,
            schedule: None,
            ssd_write_budget_bytes: None,
        }
    }
}

impl SearchOptions {
    /// "No complementary scheduling": row traversal at the workload's micro-batch size, no
    /// prefetch, no recomputation, everything that fits kept in DRAM and the rest on SSD.
    /// Under mode `shared-bus`, as [`SearchOptions::default`].
    pub fn vanilla() -> Self {
        SearchOptions {
            mode: Mode::SharedBus,
            row: true,
            column: false,
            zigzag: false,
            micro_batches: MicroBatches::Workload,
            prefetch: vec![false],
            recompute: false,
            placement_step: 0.05,
            placement: PlacementPolicy::Greedy,
            max_memory_bytes: None,
            time_slack: 0.0,
            pareto: false,
            schedule: None,
            ssd_write_budget_bytes: None,
        }
    }

    /// The same options with another time slack (fraction).
    pub fn with_time_slack(mut self, time_slack: f64) -> Self {
        self.time_slack = time_slack;
        self
    }

    /// The slack actually applied: `time_slack`, or 0 when negative or not finite.
    pub fn effective_slack(&self) -> f64 {
        if self.time_slack.is_finite() && self.time_slack > 0.0 {
            self.time_slack
        } else {
            0.0
        }
    }

    /// The same options under another mode.
    pub fn with_mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }
}

/// A schedule with its time and total tuning memory (a point of the time/memory plane).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SchedulePoint {
    /// Seconds per optimizer step.
    pub seconds: f64,
    /// Total tuning memory (see [`Evaluation::memory_bytes`]).
    pub memory_bytes: f64,
    /// The schedule.
    pub schedule: Schedule,
}

/// The outcome of a search.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SearchResult {
    /// The chosen schedule: the least total tuning memory among feasible schedules within
    /// `(1 + time_slack)` x `optimal_seconds` (see the module doc), if any is feasible.
    pub best: Option<Evaluation>,
    /// Why no schedule is feasible (the most relaxed candidate's overflow).
    pub reason: Option<String>,
    /// Seconds per optimizer step of the fastest feasible schedule (the time optimum the
    /// slack is measured from; equal to `best`'s time when the slack is 0).
    pub optimal_seconds: Option<f64>,
    /// Total tuning memory of that fastest schedule (the first in enumeration order among
    /// equally fast ones).
    pub optimal_memory_bytes: Option<f64>,
    /// That fastest schedule.
    pub optimal_schedule: Option<Schedule>,
    /// The time slack applied (fraction; see [`SearchOptions::time_slack`]).
    pub time_slack: f64,
    /// The time/memory Pareto front in ascending memory, when requested
    /// ([`SearchOptions::pareto`]); else empty.
    pub pareto: Vec<SchedulePoint>,
    /// The search space's lower bound.
    pub lower_bound: LowerBound,
    /// Optimality gap of `best` against the lower bound.
    pub gap: Option<f64>,
    /// Candidate schedules evaluated (placements timed plus combination bounds).
    pub candidates_evaluated: u64,
    /// Size of the discrete space before pruning.
    pub space_size: u64,
}

/// Searches the schedule space of `trace` on `hw`.
pub fn search(hw: &HwConfig, trace: &Trace, o: &SearchOptions) -> SearchResult {
    match Model::new(hw, trace) {
        Ok(m) => search_model(&m, o),
        Err(e) => SearchResult {
            best: None,
            reason: Some(e.to_string()),
            optimal_seconds: None,
            optimal_memory_bytes: None,
            optimal_schedule: None,
            time_slack: o.effective_slack(),
            pareto: Vec::new(),
            lower_bound: LowerBound::default(),
            gap: None,
            candidates_evaluated: 0,
            space_size: 0,
        },
    }
}

/// Searches with a prepared model (reuse it across modes and option sets).
pub fn search_model(model: &Model, o: &SearchOptions) -> SearchResult {
    if let Some(s) = &o.schedule {
        return fixed::given_result(model, s, o);
    }
    let lb = model.lower_bound(o.mode);
    let (combos, space) = combos(model, o);
    let mut ex = Explorer::new(model, o, combos);
    let choice = ex.choose();
    let pareto = match (&choice, o.pareto) {
        (Some(_), true) => ex.pareto(),
        _ => Vec::new(),
    };
    let mut r = SearchResult {
        best: None,
        reason: None,
        optimal_seconds: None,
        optimal_memory_bytes: None,
        optimal_schedule: None,
        time_slack: o.effective_slack(),
        pareto,
        lower_bound: lb,
        gap: None,
        candidates_evaluated: ex.evaluated,
        space_size: space,
    };
    match choice {
        Some(c) => {
            let (t_opt, i_opt, p_opt) = c.optimal;
            r.optimal_seconds = Some(t_opt);
            r.optimal_memory_bytes = Some(ex.memory[i_opt]);
            r.optimal_schedule = Some(ex.combos[i_opt].schedule(p_opt));
            let (_, i, p) = c.chosen;
            r.best = model.evaluate(&ex.combos[i].schedule(p), o.mode).ok();
            r.gap = r.best.as_ref().map(|e| e.gap);
        }
        None => {
            if let Some(budget) = o.ssd_write_budget_bytes {
                // Feasible without the budget: the budget is why.
                let free = SearchOptions {
                    ssd_write_budget_bytes: None,
                    pareto: false,
                    ..o.clone()
                };
                if let Some(e) = search_model(model, &free).best {
                    r.reason = Some(format!(
                        "no feasible schedule writes at most {:.3} GB to the SSD per step (the \
                         SSD write budget); without it the chosen schedule writes {:.3} GB per \
                         step",
                        budget / 1e9,
                        e.ssd_write_bytes / 1e9
                    ));
                    return r;
                }
            }
            r.reason = Some(if !ex.any_within_limit() && !ex.combos.is_empty() {
                match o.max_memory_bytes {
                    Some(limit) => format!(
                        "no schedule needs at most {:.3} GiB of tuning memory",
                        limit / (1u64 << 30) as f64
                    ),
                    None => infeasible_reason(model, o, &ex.combos),
                }
            } else {
                infeasible_reason(model, o, &ex.combos)
            });
        }
    }
    r
}

/// The overflow of the most relaxed candidate: smallest block, most recomputation,
/// no prefetch, everything on the SSD.
fn infeasible_reason(model: &Model, o: &SearchOptions, combos: &[space::Combo]) -> String {
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
    use super::space::grid;
    use super::*;
    use crate::cost::Mode;
    use crate::cost::synthetic::{SyntheticSpec, synthetic_trace};

    /// A three-layer synthetic workload small enough for exhaustive enumeration (also used
    /// by `fixed`'s tests).
    pub(crate) fn small() -> Trace {
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

    /// Exhaustive answer: every feasible placement of every combination (no pruning).
    struct Exhaustive {
        optimal: f64,
        /// (memory, seconds) of the least-memory schedule within the slack.
        chosen: (f64, f64),
        /// (seconds, memory) of the Pareto front, ascending memory.
        front: Vec<(f64, f64)>,
    }

    fn exhaustive(model: &Model, o: &SearchOptions) -> Option<Exhaustive> {
        let (combos, _) = combos(model, o);
        let fr = grid(o.placement_step);
        // (memory, fastest seconds, index) per combination with a feasible placement.
        let mut per: Vec<(f64, f64, usize)> = Vec::new();
        for (i, c) in combos.iter().enumerate() {
            let t = c.table(model).unwrap();
            let mut fastest: Option<f64> = None;
            for &w in &fr {
                for &s in &fr {
                    for &f in &fr {
                        let p = Placement {
                            weights_on_ssd: w,
                            saved_on_ssd: s,
                            optimizer_on_ssd: f,
                        };
                        let within = o
                            .ssd_write_budget_bytes
                            .is_none_or(|b| t.ssd_write_bytes(&p) <= b);
                        if t.feasible(&p) && within {
                            let secs = t.seconds(o.mode, &p);
                            fastest = Some(fastest.map_or(secs, |b: f64| b.min(secs)));
                        }
                    }
                }
            }
            if let Some(secs) = fastest {
                per.push((t.memory_bytes(), secs, i));
            }
        }
        let optimal = per.iter().map(|x| x.1).min_by(f64::total_cmp)?;
        let tau = (1.0 + o.effective_slack()) * optimal;
        let chosen = per
            .iter()
            .filter(|x| x.1 <= tau)
            .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)))
            .map(|x| (x.0, x.1))?;
        per.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
        let mut front = Vec::new();
        let mut t_min = f64::INFINITY;
        for (m, s, _) in per {
            if s < t_min {
                t_min = s;
                front.push((s, m));
            }
        }
        Some(Exhaustive {
            optimal,
            chosen,
            front,
        })
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs()
    }

    #[test]
    fn pruned_search_equals_exhaustive_enumeration() {
        let tr = small();
        let mut hw = HwConfig::paper_default();
        // Tight tiers so placement and recomputation matter: a few MiB of DRAM, slow SSD.
        hw.ssd.read_gbps = 0.05;
        hw.ssd.write_gbps = 0.02;
        let mut traded = 0;
        for (dram_mib, dram_x) in [
            (2.5, 1.0),
            (2.0, 0.05),
            (1.6, 0.01),
            (1.3, 1.0),
            (1.0, 0.1),
            (64.0, 1.0),
            (8192.0, 1.0),
        ] {
            hw.dram.capacity_gib = dram_mib / 1024.0;
            hw.dram.data_rate_mtps = 3200.0 * dram_x;
            let model = Model::new(&hw, &tr).unwrap();
            for mode in Mode::ALL {
                for slack in [0.0, 0.01, 0.1, 0.5] {
                    let o = SearchOptions {
                        pareto: true,
                        ..SearchOptions::default()
                            .with_mode(mode)
                            .with_time_slack(slack)
                    };
                    let r = search_model(&model, &o);
                    let what = format!("{dram_mib} MiB {mode} slack {slack}");
                    match (r.best.as_ref(), exhaustive(&model, &o)) {
                        (Some(b), Some(x)) => {
                            assert!(b.feasible);
                            let opt = r.optimal_seconds.unwrap();
                            assert!(
                                close(opt, x.optimal),
                                "{what}: optimum {opt} vs {}",
                                x.optimal
                            );
                            assert!(
                                close(b.memory_bytes, x.chosen.0)
                                    && close(b.seconds_per_iteration, x.chosen.1),
                                "{what}: chosen ({}, {}) vs exhaustive {:?}",
                                b.memory_bytes,
                                b.seconds_per_iteration,
                                x.chosen
                            );
                            let front: Vec<(f64, f64)> = r
                                .pareto
                                .iter()
                                .map(|p| (p.seconds, p.memory_bytes))
                                .collect();
                            assert_eq!(
                                front.len(),
                                x.front.len(),
                                "{what}: {front:?} vs {:?}",
                                x.front
                            );
                            for (a, e) in front.iter().zip(&x.front) {
                                assert!(
                                    close(a.0, e.0) && close(a.1, e.1),
                                    "{what}: {a:?} vs {e:?}"
                                );
                            }
                            assert!(r.candidates_evaluated < r.space_size);
                            if b.memory_bytes < r.optimal_memory_bytes.unwrap() {
                                traded += 1;
                            }
                        }
                        (None, None) => assert!(r.reason.is_some() && r.optimal_seconds.is_none()),
                        (a, x) => panic!(
                            "{what}: search {:?} vs exhaustive {:?}",
                            a.map(|e| e.seconds_per_iteration),
                            x.map(|x| x.optimal)
                        ),
                    }
                }
            }
        }
        // The slack must actually buy memory somewhere, or this test checks nothing new.
        assert!(traded > 0);
    }

    #[test]
    fn ssd_write_budget_is_met_exactly_or_explained() {
        let tr = small();
        let mut hw = HwConfig::paper_default();
        hw.ssd.read_gbps = 0.05;
        hw.ssd.write_gbps = 0.02;
        hw.dram.capacity_gib = 1.6 / 1024.0;
        let model = Model::new(&hw, &tr).unwrap();
        let free = search_model(&model, &SearchOptions::default());
        let written = free.best.as_ref().unwrap().ssd_write_bytes;
        assert!(
            written > 0.0,
            "the tight DRAM must push something to the SSD"
        );
        let mut met = 0;
        for frac in [1.0, 0.5, 0.25, 0.1, 0.0] {
            let o = SearchOptions {
                ssd_write_budget_bytes: Some(written * frac),
                ..SearchOptions::default().with_time_slack(0.0)
            };
            let r = search_model(&model, &o);
            let x = exhaustive(&model, &o);
            match (&r.best, &x) {
                (Some(b), Some(x)) => {
                    met += 1;
                    assert!(b.ssd_write_bytes <= written * frac);
                    assert!(close(r.optimal_seconds.unwrap(), x.optimal));
                    assert!(b.seconds_per_iteration >= free.optimal_seconds.unwrap());
                }
                (None, None) => {
                    let why = r.reason.unwrap();
                    assert!(why.contains("SSD write budget"), "{why}");
                }
                (a, x) => panic!(
                    "budget {frac}: search {:?} vs exhaustive {:?}",
                    a.as_ref().map(|e| e.seconds_per_iteration),
                    x.as_ref().map(|x| x.optimal)
                ),
            }
        }
        assert!(met > 0);
    }

    #[test]
    fn slack_bounds_time_and_never_costs_memory() {
        let tr = small();
        let hw = HwConfig::paper_default();
        let model = Model::new(&hw, &tr).unwrap();
        let pure = search_model(&model, &SearchOptions::default().with_time_slack(0.0));
        let b0 = pure.best.clone().unwrap();
        // Slack 0: the time optimum itself.
        assert_eq!(Some(b0.seconds_per_iteration), pure.optimal_seconds);
        assert_eq!(pure.time_slack, 0.0);
        let mut last_mem = b0.memory_bytes;
        for slack in [0.001, 0.01, 0.05, 0.2, 1.0] {
            let r = search_model(&model, &SearchOptions::default().with_time_slack(slack));
            let b = r.best.unwrap();
            let opt = r.optimal_seconds.unwrap();
            assert_eq!(opt, b0.seconds_per_iteration);
            assert!(b.seconds_per_iteration <= (1.0 + slack) * opt);
            assert!(b.memory_bytes <= r.optimal_memory_bytes.unwrap());
            // More slack never needs more memory.
            assert!(b.memory_bytes <= last_mem, "slack {slack}");
            last_mem = b.memory_bytes;
        }
        assert!(last_mem < b0.memory_bytes);
        // Negative or NaN slack counts as 0.
        for bad in [-0.5, f64::NAN] {
            let r = search_model(&model, &SearchOptions::default().with_time_slack(bad));
            assert_eq!(r.best, pure.best);
            assert_eq!(r.time_slack, 0.0);
        }
    }

    #[test]
    fn search_with_front_is_deterministic() {
        let tr = small();
        let hw = HwConfig::paper_default();
        let o = SearchOptions {
            pareto: true,
            ..SearchOptions::default()
        };
        let a = search(&hw, &tr, &o);
        assert_eq!(a, search(&hw, &tr, &o));
        // The front descends in time as memory grows and contains the chosen schedule's
        // (memory, time) or something better on both.
        assert!(a.pareto.len() >= 2);
        for w in a.pareto.windows(2) {
            assert!(w[0].memory_bytes < w[1].memory_bytes && w[0].seconds > w[1].seconds);
        }
        let b = a.best.unwrap();
        assert!(
            a.pareto
                .iter()
                .any(|p| p.memory_bytes <= b.memory_bytes && p.seconds <= b.seconds_per_iteration)
        );
        // The fastest point of the front is the optimum.
        assert_eq!(a.pareto.last().map(|p| p.seconds), a.optimal_seconds);
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
        let free = search(&hw, &tr, &SearchOptions::default());
        let opt = free.optimal_seconds.unwrap();
        let free = free.best.unwrap();
        let mut o = SearchOptions {
            max_memory_bytes: Some(free.memory_bytes * 0.6),
            ..SearchOptions::default()
        };
        let r = search(&hw, &tr, &o);
        assert!(r.optimal_seconds.unwrap() >= opt);
        let capped = r.best.unwrap();
        assert!(capped.memory_bytes <= free.memory_bytes * 0.6);
        assert!(capped.seconds_per_iteration >= opt);
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
