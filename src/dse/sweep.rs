//! Running a sweep: every (point, workload) pair of the selected shard goes through the
//! evaluator (the schedule search) in parallel on the rayon pool; rows come back in
//! point order then workload order regardless of which thread finished first.
//!
//! Points are expanded and evaluated [`POINTS_PER_CHUNK`] at a time and each chunk's rows
//! are handed to a sink before the next chunk starts, so memory does not grow with the
//! number of points ([`run_streaming`]); [`run`] collects the rows into a table for
//! callers that want it in memory. [`run_chunked`] hands whole chunks on, sized to take a
//! few seconds each ([`ChunkPlan::RESUMABLE`]), and can skip the points an interrupted run
//! finished: the unit a resumable sweep writes to disk (`super::resume`).

use super::spec::value_label;
use super::{Outcome, Shard, SweepRow, SweepSpec, SweepTable};
use crate::error::Result;
use crate::hw::HwConfig;
use crate::workload::Trace;
use rayon::prelude::*;

/// Points expanded and evaluated together. Large enough to keep two to a few dozen
/// threads busy between the chunk barriers, small enough that a chunk's rows (a few
/// hundred bytes each) stay well under a megabyte per workload.
pub const POINTS_PER_CHUNK: usize = 512;

/// A workload's trace with the label used in the `workload` column.
#[derive(Debug, Clone)]
pub struct NamedTrace {
    /// Label (the workload file's stem).
    pub name: String,
    /// The per-layer workload.
    pub trace: Trace,
}

/// Number of (point, workload) evaluations `shard` runs.
pub fn job_count(spec: &SweepSpec, workloads: usize, shard: Shard) -> usize {
    spec.shard_point_count(shard).saturating_mul(workloads)
}

/// How many points are evaluated together before their rows are handed on (and, in a
/// resumable sweep, written to disk as one chunk).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChunkPlan {
    /// At most this many points per chunk.
    pub max_points: usize,
    /// With `Some(t)`, chunks are sized from the time the previous chunk took per point so
    /// that one takes about `t` (at least enough points to give every thread a job, at
    /// most four times the previous chunk, at most `max_points`); the first chunk is the
    /// smallest. With `None`, every chunk is `max_points` points.
    pub target: Option<std::time::Duration>,
}

/// Seconds of work a resumable sweep puts in one chunk (so a kill loses about this much
/// wall-clock time of evaluations, plus the one evaluation in flight per thread when a
/// single point takes longer): short enough that an interrupted cluster job loses little,
/// long enough that a chunk's barrier (threads waiting for the chunk's slowest point)
/// and its file (one `fsync`) cost little against a chunk's work.
pub const RESUME_CHUNK_SECONDS: u64 = 5;

impl ChunkPlan {
    /// Fixed chunks of [`POINTS_PER_CHUNK`] points (what [`run_streaming`] uses).
    pub const FIXED: ChunkPlan = ChunkPlan {
        max_points: POINTS_PER_CHUNK,
        target: None,
    };

    /// Chunks of about [`RESUME_CHUNK_SECONDS`] seconds, at most [`POINTS_PER_CHUNK`]
    /// points: a resumable sweep's unit of work written to disk.
    pub const RESUMABLE: ChunkPlan = ChunkPlan {
        max_points: POINTS_PER_CHUNK,
        target: Some(std::time::Duration::from_secs(RESUME_CHUNK_SECONDS)),
    };

    /// Points of the next chunk: `min_points` (one job per thread) for the first, then
    /// sized from the previous chunk's `prev_points` and `prev_elapsed` (see [`ChunkPlan`]).
    pub fn next_points(
        &self,
        min_points: usize,
        prev: Option<(usize, std::time::Duration)>,
    ) -> usize {
        let max = self.max_points.max(1);
        let min = min_points.clamp(1, max);
        let Some(target) = self.target else {
            return max;
        };
        let Some((n, took)) = prev else {
            return min;
        };
        let per_point = took.as_secs_f64() / n.max(1) as f64;
        let want = if per_point > 0.0 {
            (target.as_secs_f64() / per_point).floor()
        } else {
            f64::INFINITY
        };
        let grown = (4 * n.max(1)) as f64;
        (want.min(grown).min(max as f64) as usize).max(min)
    }
}

/// Runs the points of `shard` on every workload with `eval` and hands every row to
/// `sink` in point order then workload order. Points are validated when their chunk is
/// reached; the first error (an invalid point, a failed evaluation, a failed sink) stops
/// the run. `tick` is called once per finished evaluation (progress reporting).
pub fn run_streaming<E, T, S>(
    spec: &SweepSpec,
    workloads: &[NamedTrace],
    shard: Shard,
    eval: E,
    tick: T,
    mut sink: S,
) -> Result<()>
where
    E: Fn(&HwConfig, &Trace) -> Result<Outcome> + Sync,
    T: Fn() + Sync,
    S: FnMut(SweepRow) -> Result<()>,
{
    run_chunked(
        spec,
        workloads,
        shard,
        0,
        ChunkPlan::FIXED,
        eval,
        tick,
        |rows| rows.into_iter().try_for_each(&mut sink),
    )?;
    Ok(())
}

/// Like [`run_streaming`], but skips the first `skip` points of the shard (in shard
/// order: e.g. points a resumed sweep read back) and hands the rows to `sink` one chunk
/// at a time, chunks sized by `plan`; a chunk holds whole points (every workload), in
/// order. Returns the number of points evaluated.
#[allow(clippy::too_many_arguments)]
pub fn run_chunked<E, T, S>(
    spec: &SweepSpec,
    workloads: &[NamedTrace],
    shard: Shard,
    skip: usize,
    plan: ChunkPlan,
    eval: E,
    tick: T,
    mut sink: S,
) -> Result<usize>
where
    E: Fn(&HwConfig, &Trace) -> Result<Outcome> + Sync,
    T: Fn() + Sync,
    S: FnMut(Vec<SweepRow>) -> Result<()>,
{
    let mut indices = spec.shard_indices(shard).skip(skip).peekable();
    let min_points = rayon::current_num_threads().div_ceil(workloads.len().max(1));
    let mut prev = None;
    let mut evaluated = 0usize;
    while indices.peek().is_some() {
        let started = std::time::Instant::now();
        let n = plan.next_points(min_points, prev);
        let chunk: Vec<usize> = indices.by_ref().take(n).collect();
        let points = chunk
            .par_iter()
            .map(|&i| spec.point(i))
            .collect::<Result<Vec<_>>>()?;
        let jobs: Vec<(usize, usize)> = (0..points.len())
            .flat_map(|pi| (0..workloads.len()).map(move |wi| (pi, wi)))
            .collect();
        let rows: Vec<SweepRow> = jobs
            .par_iter()
            .map(|&(pi, wi)| {
                let p = &points[pi];
                let w = &workloads[wi];
                let outcome = eval(&p.hw, &w.trace)?;
                tick();
                Ok(SweepRow {
                    point: p.index,
                    workload: w.name.clone(),
                    values: p.values.iter().map(|(_, v)| value_label(v)).collect(),
                    sram_kib: p.hw.sram.capacity_kib,
                    dram_gbps: p.hw.dram.peak_bytes_per_s() / 1e9,
                    pe_count: p.hw.compute.pes(),
                    outcome,
                })
            })
            .collect::<Result<_>>()?;
        evaluated += chunk.len();
        prev = Some((chunk.len(), started.elapsed()));
        sink(rows)?;
    }
    Ok(evaluated)
}

/// Runs the points of `shard` on every workload with `eval` and returns the table
/// (Pareto front marked over the rows of this run). `tick` is called once per finished
/// evaluation (progress reporting). Holds every row in memory: for large sweeps use
/// [`run_streaming`] with a [`super::stream::SweepWriter`].
pub fn run<E, T>(
    spec: &SweepSpec,
    workloads: &[NamedTrace],
    shard: Shard,
    eval: E,
    tick: T,
) -> Result<SweepTable>
where
    E: Fn(&HwConfig, &Trace) -> Result<Outcome> + Sync,
    T: Fn() + Sync,
{
    let mut rows = Vec::new();
    run_streaming(spec, workloads, shard, eval, tick, |r| {
        rows.push(r);
        Ok(())
    })?;
    Ok(SweepTable::from_rows(&spec.key_names(), &rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn chunks_grow_at_most_fourfold_towards_the_target_time() {
        let ms = Duration::from_millis;
        let p = ChunkPlan::RESUMABLE;
        assert_eq!(p.target, Some(Duration::from_secs(5)));
        // The first chunk gives each thread one job.
        assert_eq!(p.next_points(3, None), 3);
        // 100 ms per point: 50 points make 5 s, reached by growing 4x per chunk.
        assert_eq!(p.next_points(1, Some((1, ms(100)))), 4);
        assert_eq!(p.next_points(1, Some((4, ms(400)))), 16);
        assert_eq!(p.next_points(1, Some((16, ms(1600)))), 50);
        assert_eq!(p.next_points(1, Some((50, ms(5000)))), 50);
        // Slower points than expected shrink the next chunk at once.
        assert_eq!(p.next_points(1, Some((50, ms(25_000)))), 10);
        // Fast points stop at the point limit; a point slower than the target is a
        // chunk of the minimum.
        assert_eq!(p.next_points(1, Some((512, ms(500)))), POINTS_PER_CHUNK);
        assert_eq!(p.next_points(2, Some((2, ms(20_000)))), 2);
        assert_eq!(p.next_points(1, Some((8, Duration::ZERO))), 32);
        // Fixed chunks ignore the timing.
        assert_eq!(ChunkPlan::FIXED.next_points(2, None), POINTS_PER_CHUNK);
        assert_eq!(
            ChunkPlan::FIXED.next_points(2, Some((512, ms(90_000)))),
            POINTS_PER_CHUNK
        );
        let small = ChunkPlan {
            max_points: 2,
            target: None,
        };
        assert_eq!(small.next_points(5, None), 2);
    }
}
