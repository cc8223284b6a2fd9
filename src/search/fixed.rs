//! One given schedule evaluated instead of searched (`--schedule` of `run`, `sim` and
//! `sweep`; [`SearchOptions::schedule`]).
//!
//! The schedule goes through exactly the search's arithmetic: the combination's
//! [`Table`](crate::cost::Table) from [`Model::table_for`] and [`Model::evaluate_table`],
//! which is how the search evaluates the schedule it chooses. So the printed schedule of a
//! search, read back ([`super::schedule_spec`]) and evaluated here, gives the search's
//! seconds, memory and energy bit for bit.
//!
//! A schedule is refused for a workload, with the reason, when its grid does not admit
//! it: a micro-batch size not dividing the sequences per step, a zig-zag block size not
//! dividing the micro-batches, more recomputed columns than the workload has
//! recomputable forward columns (the table would silently cap them), or a fraction outside
//! [0, 1]. An admitted schedule is evaluated in full; when a tier's peak exceeds its
//! capacity it is infeasible, and the reason names the tier and the excess in bytes.

use super::{SearchOptions, SearchResult};
use crate::cost::{Evaluation, Mode, Model, Schedule};
use crate::hw::HwConfig;
use crate::workload::Trace;

/// Why `s` is not a schedule of `model`'s workload, or `None` when its grid admits it.
pub fn invalid_reason(model: &Model, s: &Schedule) -> Option<String> {
    let seqs = model.trace().sequences_per_step;
    let mb = s.micro_batch_size;
    if mb == 0 || !seqs.is_multiple_of(mb) {
        return Some(format!(
            "micro-batch {mb} does not divide the {seqs} sequences per step (allowed: {})",
            list(&crate::cost::divisors(seqs))
        ));
    }
    let n = seqs / mb;
    if !s.traversal.valid_for(n) {
        return Some(format!(
            "{}: the block size must divide the {n} micro-batches of {mb} sequences \
             (allowed: zigzag:B for B in {})",
            s.traversal,
            list(&crate::cost::divisors(n))
        ));
    }
    let recomputable = model.recompute_order().len();
    if s.recompute as usize > recomputable {
        return Some(format!(
            "recompute {} is beyond the {recomputable} recomputable forward columns of {} \
             (allowed 0..={recomputable})",
            s.recompute,
            model.trace().workload
        ));
    }
    let p = &s.placement;
    for (k, v) in [
        ("weights_on_ssd", p.weights_on_ssd),
        ("saved_on_ssd", p.saved_on_ssd),
        ("optimizer_on_ssd", p.optimizer_on_ssd),
    ] {
        if !(0.0..=1.0).contains(&v) {
            return Some(format!("{k} = {v} is outside [0, 1]"));
        }
    }
    None
}

fn list(v: &[u64]) -> String {
    v.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
}

/// The evaluation of `s` under `mode` (feasible or not: an over-capacity schedule keeps
/// its figures, `feasible == false` and an `infeasible_reason` ending in the excess in
/// bytes), or the reason the workload's grid does not admit it ([`invalid_reason`]).
pub fn evaluate_schedule(
    model: &Model,
    s: &Schedule,
    mode: Mode,
) -> std::result::Result<Evaluation, String> {
    if let Some(why) = invalid_reason(model, s) {
        return Err(why);
    }
    let table = model.table_for(s).map_err(|e| e.to_string())?;
    let mut e = model.evaluate_table(&table, s, mode);
    if let Some(r) = &e.infeasible_reason {
        e.infeasible_reason = Some(with_excess(model.hw(), &e, r));
    }
    Ok(e)
}

/// `reason` with the excess of the tier it names (peak minus capacity, whole bytes
/// rounded up), when that tier's peak is above its capacity.
fn with_excess(hw: &HwConfig, e: &Evaluation, reason: &str) -> String {
    let tiers = [
        ("SRAM", e.peak_bytes.sram, hw.sram.capacity_bytes()),
        ("DRAM", e.peak_bytes.dram, hw.dram.capacity_bytes()),
        ("SSD", e.peak_bytes.ssd, hw.ssd.capacity_bytes()),
    ];
    match tiers
        .iter()
        .find(|(name, peak, cap)| reason.starts_with(name) && *peak > *cap as f64)
    {
        Some((name, peak, cap)) => format!(
            "{reason} ({name} capacity {cap} bytes exceeded by {} bytes)",
            (peak - *cap as f64).ceil() as u64
        ),
        None => reason.to_string(),
    }
}

/// The search result of the space holding only `s` (what [`super::search_model`] returns
/// when [`SearchOptions::schedule`] is set): `best` is `s`'s evaluation when it is
/// admitted, fits every tier and stays within `o.max_memory_bytes`; otherwise `best` is
/// `None` and `reason` says why. The time optimum is `s` itself, the slack 0; the lower
/// bound and the gap are the search's. One candidate evaluated (none when refused) of a
/// space of one.
pub fn given_result(model: &Model, s: &Schedule, o: &SearchOptions) -> SearchResult {
    let mut r = SearchResult {
        best: None,
        reason: None,
        optimal_seconds: None,
        optimal_memory_bytes: None,
        optimal_schedule: None,
        time_slack: 0.0,
        pareto: Vec::new(),
        lower_bound: model.lower_bound(o.mode),
        gap: None,
        candidates_evaluated: 0,
        space_size: 1,
    };
    let e = match evaluate_schedule(model, s, o.mode) {
        Ok(e) => e,
        Err(why) => {
            r.reason = Some(why);
            return r;
        }
    };
    r.candidates_evaluated = 1;
    if let Some(why) = e.infeasible_reason {
        r.reason = Some(why);
        return r;
    }
    if let Some(limit) = o.max_memory_bytes
        && e.memory_bytes > limit
    {
        r.reason = Some(format!(
            "the schedule needs {:.3} GiB of tuning memory, above the limit of {:.3} GiB",
            e.memory_bytes / (1u64 << 30) as f64,
            limit / (1u64 << 30) as f64
        ));
        return r;
    }
    r.optimal_seconds = Some(e.seconds_per_iteration);
    r.optimal_memory_bytes = Some(e.memory_bytes);
    r.optimal_schedule = Some(*s);
    r.gap = Some(e.gap);
    r.best = Some(e);
    r
}

/// Evaluates the given schedule `s` of `trace` on `hw` under `mode`: [`super::search`]
/// with [`SearchOptions::schedule`] set (a model that cannot be built, e.g. an empty
/// trace, gives `best == None` with the reason).
pub fn evaluate_given(hw: &HwConfig, trace: &Trace, s: &Schedule, mode: Mode) -> SearchResult {
    let o = SearchOptions {
        schedule: Some(*s),
        ..SearchOptions::default().with_mode(mode)
    };
    super::search(hw, trace, &o)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::Placement;
    use crate::grid::Traversal;

    use crate::search::tests::small;

    fn sched(traversal: Traversal, mb: u64, recompute: u32) -> Schedule {
        Schedule {
            traversal,
            micro_batch_size: mb,
            prefetch: true,
            recompute,
            placement: Placement::default(),
        }
    }

    #[test]
    fn every_schedule_of_the_search_space_evaluates_as_the_cost_model_does() {
        let tr = small();
        let hw = HwConfig::paper_default();
        let model = Model::new(&hw, &tr).unwrap();
        let all = model.recompute_order().len() as u32;
        let mut n = 0;
        for mb in [1, 2, 4] {
            let blocks = 4 / mb;
            let mut travs = vec![Traversal::Row, Traversal::Column];
            travs.extend(
                (1..=blocks)
                    .filter(|b| blocks % b == 0)
                    .map(Traversal::Zigzag),
            );
            for t in travs {
                for k in 0..=all {
                    for prefetch in [false, true] {
                        let s = Schedule {
                            prefetch,
                            placement: Placement {
                                weights_on_ssd: 0.25,
                                saved_on_ssd: 0.5,
                                optimizer_on_ssd: 1.0,
                            },
                            ..sched(t, mb, k)
                        };
                        for mode in Mode::ALL {
                            let e = evaluate_schedule(&model, &s, mode).unwrap();
                            assert_eq!(e, model.evaluate(&s, mode).unwrap(), "{s}");
                            let r =
                                given_result(&model, &s, &SearchOptions::default().with_mode(mode));
                            assert_eq!(r.best.as_ref(), Some(&e));
                            assert_eq!(r.optimal_seconds, Some(e.seconds_per_iteration));
                            assert_eq!(r.lower_bound, model.lower_bound(mode));
                            assert_eq!((r.candidates_evaluated, r.space_size), (1, 1));
                            n += 1;
                        }
                    }
                }
            }
        }
        assert!(n > 100);
    }

    #[test]
    fn schedules_outside_the_grid_are_refused_with_the_reason() {
        let tr = small();
        let model = Model::new(&HwConfig::paper_default(), &tr).unwrap();
        let all = model.recompute_order().len() as u32;
        let cases = [
            (
                sched(Traversal::Row, 3, 0),
                "micro-batch 3 does not divide the 4 sequences per step (allowed: 1, 2, 4)",
            ),
            (
                sched(Traversal::Zigzag(3), 1, 0),
                "zigzag:3: the block size must divide the 4 micro-batches of 1 sequences (allowed: zigzag:B for B in 1, 2, 4)",
            ),
            (
                sched(Traversal::Zigzag(4), 2, 0),
                "allowed: zigzag:B for B in 1, 2)",
            ),
            (
                sched(Traversal::Row, 1, all + 1),
                "recompute 3 is beyond the 2 recomputable forward columns",
            ),
        ];
        assert_eq!(all, 2);
        for (s, needle) in cases {
            let why = evaluate_schedule(&model, &s, Mode::Paper).unwrap_err();
            assert!(why.contains(needle), "{s}: {why}");
            let r = given_result(&model, &s, &SearchOptions::default());
            assert!(r.best.is_none() && r.gap.is_none());
            assert_eq!(r.reason.as_deref(), Some(why.as_str()));
            assert_eq!(r.candidates_evaluated, 0);
        }
        let mut bad = sched(Traversal::Row, 1, 0);
        bad.placement.saved_on_ssd = 1.5;
        assert!(
            evaluate_schedule(&model, &bad, Mode::Paper)
                .unwrap_err()
                .contains("saved_on_ssd = 1.5")
        );
        // At the limit: all recomputable columns recomputed is admitted.
        assert!(evaluate_schedule(&model, &sched(Traversal::Row, 1, all), Mode::Paper).is_ok());
    }

    #[test]
    fn over_capacity_names_the_tier_and_the_excess_in_bytes() {
        let tr = small();
        let mut hw = HwConfig::paper_default();
        let s = sched(Traversal::Column, 1, 0);
        let free = evaluate_schedule(&Model::new(&hw, &tr).unwrap(), &s, Mode::Paper).unwrap();
        // DRAM one MiB below the schedule's peak (capacity in GiB, so in whole bytes).
        let cap = free.peak_bytes.dram.ceil() as u64 - (1 << 20);
        hw.dram.capacity_gib = cap as f64 / (1u64 << 30) as f64;
        assert_eq!(hw.dram.capacity_bytes(), cap);
        let model = Model::new(&hw, &tr).unwrap();
        let e = evaluate_schedule(&model, &s, Mode::Paper).unwrap();
        assert!(!e.feasible);
        let expect = (e.peak_bytes.dram - cap as f64).ceil() as u64;
        assert!(((1 << 20) - 1..=1 << 20).contains(&expect), "{expect}");
        let why = e.infeasible_reason.clone().unwrap();
        assert!(why.starts_with("DRAM"), "{why}");
        assert!(
            why.ends_with(&format!(
                "(DRAM capacity {cap} bytes exceeded by {expect} bytes)"
            )),
            "{why}"
        );
        // Figures are still those of the schedule.
        assert_eq!(e.seconds_per_iteration, free.seconds_per_iteration);
        let r = given_result(&model, &s, &SearchOptions::default());
        assert!(r.best.is_none());
        assert_eq!(r.reason, Some(why));
        assert_eq!(r.candidates_evaluated, 1);
        // A tuning-memory limit below the schedule's memory refuses it too.
        let model = Model::new(&HwConfig::paper_default(), &tr).unwrap();
        let o = SearchOptions {
            max_memory_bytes: Some(free.memory_bytes / 2.0),
            ..SearchOptions::default()
        };
        assert!(
            given_result(&model, &s, &o)
                .reason
                .unwrap()
                .contains("tuning memory")
        );
    }

    #[test]
    fn the_searched_schedule_printed_and_read_back_gives_the_same_figures() {
        let tr = small();
        let mut hw = HwConfig::paper_default();
        // Tight DRAM so the search places fractions on the SSD (grid values such as 0.7).
        hw.ssd.read_gbps = 0.05;
        hw.ssd.write_gbps = 0.02;
        let mut on_ssd = 0;
        for dram_mib in [1.3, 1.6, 2.0, 64.0] {
            hw.dram.capacity_gib = dram_mib / 1024.0;
            for mode in Mode::ALL {
                let o = SearchOptions::default().with_mode(mode);
                let r = super::super::search(&hw, &tr, &o);
                let Some(b) = r.best else { continue };
                let text = b.schedule.to_string();
                let s: Schedule = text.parse().unwrap();
                assert_eq!(s.to_string(), text);
                let g = evaluate_given(&hw, &tr, &s, mode);
                let e = g.best.unwrap();
                assert_eq!(
                    e.seconds_per_iteration.to_bits(),
                    b.seconds_per_iteration.to_bits()
                );
                assert_eq!(e.memory_bytes.to_bits(), b.memory_bytes.to_bits());
                assert_eq!(e.energy_joules.to_bits(), b.energy_joules.to_bits());
                assert_eq!(e, b, "{text}");
                assert_eq!(g.gap, r.gap);
                let p = s.placement;
                if p.weights_on_ssd + p.saved_on_ssd + p.optimizer_on_ssd > 0.0 {
                    on_ssd += 1;
                }
            }
        }
        assert!(on_ssd > 0, "no searched schedule used the SSD");
    }
}
