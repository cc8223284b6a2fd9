//! Joining shard tables into the table a single run writes: rows ordered by point index
//! (each shard already holds its points' workloads in spec order), the Pareto front
//! recomputed over all rows.

use super::SweepTable;
use crate::error::{Error, Result};

/// Merges shard tables. `names` label the inputs in errors. Fails when headers differ, a
/// (point, workload) pair appears twice, or point indices have a gap (a missing shard).
pub fn merge(tables: Vec<(String, SweepTable)>) -> Result<SweepTable> {
    let Some((first_name, first)) = tables.first() else {
        return Err(Error::input("merge", "inputs", "no input tables"));
    };
    let header = first.header.clone();
    let point_col = first.column("point")?;
    let wl_col = first.column("workload")?;
    let mut rows: Vec<(usize, Vec<String>)> = Vec::new();
    for (name, t) in &tables {
        if t.header != header {
            return Err(Error::input(
                name,
                "header",
                format!("columns differ from {first_name}; shards must come from the same spec"),
            ));
        }
        for (i, r) in t.rows.iter().enumerate() {
            let p: usize = r[point_col].parse().map_err(|_| {
                Error::input(
                    name,
                    format!("line {} column point", i + 2),
                    format!("`{}` is not a point index", r[point_col]),
                )
            })?;
            rows.push((p, r.clone()));
        }
    }
    // Stable: rows of one point keep their (spec) workload order.
    rows.sort_by_key(|(p, _)| *p);
    for w in rows.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        if a.0 == b.0 && a.1[wl_col] == b.1[wl_col] {
            return Err(Error::input(
                "merge",
                format!("point {} workload {}", a.0, a.1[wl_col]),
                "appears in more than one input; each shard must be given once",
            ));
        }
    }
    let mut expected = 0usize;
    for (p, _) in &rows {
        if *p > expected {
            return Err(Error::input(
                "merge",
                format!("point {expected}"),
                "missing from every input; is a shard missing?",
            ));
        }
        expected = p + 1;
    }
    let mut out = SweepTable {
        header,
        rows: rows.into_iter().map(|(_, r)| r).collect(),
    };
    out.mark_pareto()?;
    Ok(out)
}
