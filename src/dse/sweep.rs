//! Running a sweep: every (point, workload) pair of the selected shard goes through the
//! evaluator (the schedule search) in parallel on the rayon pool; rows come back in
//! point order then workload order regardless of which thread finished first.
//!
//! Points are expanded and evaluated [`POINTS_PER_CHUNK`] at a time and each chunk's rows
//! are handed to a sink before the next chunk starts, so memory does not grow with the
//! number of points ([`run_streaming`]); [`run`] collects the rows into a table for
//! callers that want it in memory.

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
    let mut indices = spec.shard_indices(shard).peekable();
    while indices.peek().is_some() {
        let chunk: Vec<usize> = indices.by_ref().take(POINTS_PER_CHUNK).collect();
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
        for r in rows {
            sink(r)?;
        }
    }
    Ok(())
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
