//! Running a sweep: every (point, workload) pair of the selected shard goes through the
//! evaluator (the schedule search) in parallel on the rayon pool; rows come back in
//! point order then workload order regardless of which thread finished first.

use super::spec::value_label;
use super::{Outcome, Shard, SweepRow, SweepSpec, SweepTable};
use crate::error::Result;
use crate::hw::HwConfig;
use crate::workload::Trace;
use rayon::prelude::*;

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
    spec.points
        .iter()
        .filter(|p| shard.contains(p.index))
        .count()
        * workloads
}

/// Runs the points of `shard` on every workload with `eval` and returns the table
/// (Pareto front marked over the rows of this run). `tick` is called once per finished
/// evaluation (progress reporting).
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
    let jobs: Vec<(usize, usize)> = spec
        .points
        .iter()
        .enumerate()
        .filter(|(_, p)| shard.contains(p.index))
        .flat_map(|(pi, _)| (0..workloads.len()).map(move |wi| (pi, wi)))
        .collect();
    let rows: Vec<SweepRow> = jobs
        .par_iter()
        .map(|&(pi, wi)| {
            let p = &spec.points[pi];
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
    Ok(SweepTable::from_rows(&spec.key_names(), &rows))
}
