//! The exact, pruned walk over the schedule space: the time optimum, the smallest-memory
//! schedule within the time slack, and the time/memory Pareto front.
//!
//! Every combination has one total tuning memory (it does not depend on the placement,
//! see [`Table::memory_bytes`](crate::cost::Table::memory_bytes)) and a lower bound on
//! its time (all-in-DRAM, capacity ignored). The fastest placement of a combination is
//! computed at most once per call and cached with the time limit it was computed under:
//! a cached result decides any later question whose limit is not above it.

use super::space::{Combo, best_placement};
use super::{SchedulePoint, SearchOptions};
use crate::cost::{Model, Placement};
use rayon::prelude::*;

/// Combinations evaluated together (in parallel) by the memory-ordered walks. Fixed, so
/// the number of candidates evaluated does not depend on the thread count.
const CHUNK: usize = 8;

/// A combination's fastest placement among those at most `limit` seconds.
#[derive(Debug, Clone, Copy)]
struct Known {
    best: Option<(f64, Placement)>,
    limit: f64,
}

/// The time-optimal and the chosen schedule of a search.
#[derive(Debug, Clone, Copy)]
pub(super) struct Choice {
    /// Time-optimal: (seconds, combination index, placement).
    pub optimal: (f64, usize, Placement),
    /// Chosen within the slack: (seconds, combination index, placement).
    pub chosen: (f64, usize, Placement),
}

/// State of one search.
pub(super) struct Explorer<'a> {
    model: &'a Model,
    o: &'a SearchOptions,
    pub combos: Vec<Combo>,
    /// Per combination: lower bound on its time (infinite when over the memory limit or
    /// without a valid table).
    bound: Vec<f64>,
    /// Per combination: total tuning memory.
    pub memory: Vec<f64>,
    known: Vec<Option<Known>>,
    /// Candidate schedules evaluated (combination bounds plus placements timed).
    pub evaluated: u64,
}

impl<'a> Explorer<'a> {
    /// Phase 0: every combination's bound and memory (parallel, deterministic).
    pub fn new(model: &'a Model, o: &'a SearchOptions, combos: Vec<Combo>) -> Self {
        let zero = Placement::default();
        let limit = o.max_memory_bytes.unwrap_or(f64::INFINITY);
        let (bound, memory): (Vec<f64>, Vec<f64>) = combos
            .par_iter()
            .map(|c| match c.table(model) {
                Ok(t) if t.memory_bytes() <= limit => (t.seconds(o.mode, &zero), t.memory_bytes()),
                Ok(t) => (f64::INFINITY, t.memory_bytes()),
                Err(_) => (f64::INFINITY, f64::INFINITY),
            })
            .unzip();
        Explorer {
            model,
            o,
            evaluated: combos.len() as u64,
            known: vec![None; combos.len()],
            combos,
            bound,
            memory,
        }
    }

    /// True when some combination is within the memory limit.
    pub fn any_within_limit(&self) -> bool {
        self.bound.iter().any(|b| b.is_finite())
    }

    /// The cached answer for combination `i` under `limit`, if the cache decides it.
    fn cached(&self, i: usize, limit: f64) -> Option<Option<(f64, Placement)>> {
        self.known[i]
            .filter(|k| k.best.is_some() || k.limit >= limit)
            .map(|k| k.best.filter(|(s, _)| *s <= limit))
    }

    /// The fastest placement (at most `limit` seconds) of each combination of `ids`;
    /// the ones the cache does not decide are evaluated in parallel.
    fn fastest(&mut self, ids: &[usize], limit: f64) -> Vec<Option<(f64, Placement)>> {
        let todo: Vec<usize> = ids
            .iter()
            .copied()
            .filter(|&i| self.cached(i, limit).is_none())
            .collect();
        let (model, o, combos) = (self.model, self.o, &self.combos);
        let found: Vec<(usize, Known, u64)> = todo
            .par_iter()
            .map(|&i| match combos[i].table(model) {
                Ok(t) => {
                    let (best, e) = best_placement(&t, o, limit);
                    (i, Known { best, limit }, e)
                }
                Err(_) => (
                    i,
                    Known {
                        best: None,
                        limit: f64::INFINITY,
                    },
                    0,
                ),
            })
            .collect();
        for (i, k, e) in found {
            self.known[i] = Some(k);
            self.evaluated += e;
        }
        ids.iter()
            .map(|&i| self.cached(i, limit).flatten())
            .collect()
    }

    /// The time-optimal schedule, then the smallest-memory schedule within the slack.
    /// `None` when no combination has a feasible placement.
    pub fn choose(&mut self) -> Option<Choice> {
        let mut order: Vec<(f64, usize)> = self
            .bound
            .iter()
            .enumerate()
            .filter(|(_, b)| b.is_finite())
            .map(|(i, b)| (*b, i))
            .collect();
        // Under the greedy placement policy each combination has one placement (its first
        // feasible one, whatever its time), and the combinations still compete on time.
        order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        // Phase 1: sequential in increasing bound until a feasible incumbent exists.
        let mut next = 0;
        let mut incumbent = None;
        while next < order.len() && incumbent.is_none() {
            let i = order[next].1;
            next += 1;
            if let Some((s, p)) = self.fastest(&[i], f64::INFINITY)[0] {
                incumbent = Some((s, i, p));
            }
        }
        let first = incumbent?;
        let slack = self.o.effective_slack();
        // Phase 2: every combination whose bound does not exceed the incumbent may be
        // faster; timed up to (1 + slack) x incumbent, which answers phase 3 for them too.
        let rest: Vec<usize> = order[next..]
            .iter()
            .take_while(|(b, _)| *b <= first.0)
            .map(|(_, i)| *i)
            .collect();
        let rs = self.fastest(&rest, (1.0 + slack) * first.0);
        let mut optimal = first;
        for (i, r) in rest.iter().zip(rs) {
            if let Some((s, p)) = r
                && (s < optimal.0 || (s == optimal.0 && *i < optimal.1))
            {
                optimal = (s, *i, p);
            }
        }
        // Phase 3: the least memory among schedules within (1 + slack) x optimum. Only
        // combinations whose bound is within that time and whose memory does not exceed
        // the optimum's (which qualifies) can win; visited in increasing memory, stopping
        // once the best found needs less memory than the next one.
        let tau = (1.0 + slack) * optimal.0;
        let m_opt = self.memory[optimal.1];
        let mut cand: Vec<usize> = (0..self.combos.len())
            .filter(|&i| self.bound[i] <= tau && self.memory[i] <= m_opt)
            .collect();
        cand.sort_by(|&a, &b| self.memory[a].total_cmp(&self.memory[b]).then(a.cmp(&b)));
        let mut chosen: Option<(f64, usize, Placement)> = None;
        for chunk in cand.chunks(CHUNK) {
            if chosen.is_some_and(|(_, c, _)| self.memory[chunk[0]] > self.memory[c]) {
                break;
            }
            let rs = self.fastest(chunk, tau);
            for (&i, r) in chunk.iter().zip(rs) {
                let Some((s, p)) = r else { continue };
                let better = chosen.is_none_or(|(cs, c, _)| {
                    self.memory[i]
                        .total_cmp(&self.memory[c])
                        .then(s.total_cmp(&cs))
                        .then(i.cmp(&c))
                        .is_lt()
                });
                if better {
                    chosen = Some((s, i, p));
                }
            }
        }
        Some(Choice {
            optimal,
            // The optimum itself qualifies, so `chosen` is set; fall back to it regardless.
            chosen: chosen.unwrap_or(optimal),
        })
    }

    /// The time/memory Pareto front of the feasible schedules within the memory limit:
    /// each point is the fastest schedule of its memory, and no point is slower and uses
    /// more memory than another; ascending memory (so descending time). Exact: walked in
    /// increasing memory, a combination whose bound is not below the fastest time found
    /// at smaller memory is dominated and never timed.
    pub fn pareto(&mut self) -> Vec<SchedulePoint> {
        let mut cand: Vec<usize> = (0..self.combos.len())
            .filter(|&i| self.bound[i].is_finite())
            .collect();
        cand.sort_by(|&a, &b| self.memory[a].total_cmp(&self.memory[b]).then(a.cmp(&b)));
        let mut front = Vec::new();
        let mut t_min = f64::INFINITY;
        // Fastest schedule of the current memory value: (seconds, index, placement).
        let mut group: Option<(f64, usize, Placement)> = None;
        let mut group_mem = f64::NAN;
        let mut flush = |g: Option<(f64, usize, Placement)>, t_min: &mut f64, ex: &Self| {
            if let Some((s, i, p)) = g
                && s < *t_min
            {
                *t_min = s;
                front.push(SchedulePoint {
                    seconds: s,
                    memory_bytes: ex.memory[i],
                    schedule: ex.combos[i].schedule(p),
                });
            }
        };
        for chunk in cand.chunks(CHUNK) {
            let lim = t_min;
            let todo: Vec<usize> = chunk
                .iter()
                .copied()
                .filter(|&i| self.bound[i] < lim)
                .collect();
            let rs = self.fastest(&todo, lim);
            for (&i, r) in todo.iter().zip(rs) {
                if self.memory[i] != group_mem {
                    flush(group.take(), &mut t_min, self);
                    group_mem = self.memory[i];
                }
                if let Some((s, p)) = r
                    && group.is_none_or(|(gs, _, _)| s < gs)
                {
                    group = Some((s, i, p));
                }
            }
        }
        flush(group, &mut t_min, self);
        front
    }
}
