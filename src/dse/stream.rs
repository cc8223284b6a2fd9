//! Streaming a sweep table to disk in bounded memory.
//!
//! [`SweepWriter`] appends each row to a spool file as it arrives and keeps, per workload,
//! only the current Pareto archive (the rows no earlier row dominates, pruned as later
//! rows dominate them) plus counts and the fastest feasible row. At the end it copies the
//! spool into the final CSV, marking the `pareto` cell of the archive's rows, through a
//! temporary beside the destination that is renamed into place.
//!
//! The archive is exactly the batch front of [`SweepTable::mark_pareto`]: dominance over
//! finite objectives is a strict partial order, so a row is dropped or refused only when
//! some row dominates it, and every row kept was checked against every row that could
//! dominate it (an earlier dominator either is in the archive or is dominated by a row
//! that is, by transitivity). Memory: O(front size) per workload (the worst case is every
//! row on the front, e.g. time and memory exactly anti-correlated), plus one row.
//!
//! [`SweepTable::mark_pareto`]: super::SweepTable::mark_pareto

use super::pareto::dominates;
use super::table::{OBJECTIVE_COLUMNS, header};
use super::{SweepRow, SweepTable};
use crate::error::{Error, Result};
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// The fastest feasible row of a workload.
#[derive(Debug, Clone, PartialEq)]
pub struct BestPoint {
    /// The `point` cell.
    pub point: String,
    /// `(swept key, cell)` per swept key, in column order.
    pub values: Vec<(String, String)>,
    /// Its seconds per optimizer step.
    pub seconds_per_step: f64,
}

/// Counts of one workload's rows.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadSummary {
    /// Workload label.
    pub workload: String,
    /// Rows of this workload.
    pub rows: u64,
    /// Feasible rows.
    pub feasible: u64,
    /// Rows on the Pareto front.
    pub pareto: u64,
    /// The fastest feasible row (the first of equals), `None` when none is feasible.
    pub best: Option<BestPoint>,
}

/// What [`SweepWriter::finish`] reports: rows written and per-workload counts, workloads
/// in order of first appearance.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepSummary {
    /// Rows written.
    pub rows: u64,
    /// Per workload.
    pub workloads: Vec<WorkloadSummary>,
}

struct Acc {
    summary: WorkloadSummary,
    /// (row number, objectives) of the rows on the front so far.
    front: Vec<(u64, [f64; 4])>,
}

/// Writes a sweep table row by row (see the module documentation).
pub struct SweepWriter {
    dest: PathBuf,
    spool_path: PathBuf,
    spool: csv::Writer<BufWriter<std::fs::File>>,
    header: Vec<String>,
    keys: Vec<String>,
    objective_cols: [usize; 4],
    feasible_col: usize,
    rows: u64,
    accs: Vec<Acc>,
}

/// `.{name}.{tag}{pid}.tmp` beside `dest`: this process's temporary for `dest`, named so
/// that a later run removes it if this one is killed (see `crate::io_util`).
fn temp_beside(dest: &Path, tag: &str) -> PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dest.with_file_name(format!(".{name}{tag}.{}.tmp", std::process::id()))
}

fn csv_err(path: &Path, e: csv::Error) -> Error {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => Error::io(path, io),
        other => Error::Other(format!("{}: CSV: {other:?}", path.display())),
    }
}

impl SweepWriter {
    /// Starts a table over the swept `keys` that [`SweepWriter::finish`] writes to `dest`;
    /// the spool file is created beside `dest`.
    pub fn create(dest: &Path, keys: &[String]) -> Result<SweepWriter> {
        if let Some(d) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
        }
        let spool_path = temp_beside(dest, ".spool");
        let file = std::fs::File::create(&spool_path).map_err(|e| Error::io(&spool_path, e))?;
        let spool = csv::Writer::from_writer(BufWriter::new(file));
        let header = header(keys);
        let col = |n: &str| header.iter().position(|h| h == n).unwrap_or(0);
        let objective_cols = OBJECTIVE_COLUMNS.map(col);
        let feasible_col = col("feasible");
        Ok(SweepWriter {
            dest: dest.to_path_buf(),
            spool_path,
            spool,
            keys: keys.to_vec(),
            header,
            objective_cols,
            feasible_col,
            rows: 0,
            accs: Vec::new(),
        })
    }

    /// Appends one row (rows arrive in table order).
    pub fn push(&mut self, row: &SweepRow) -> Result<()> {
        self.push_cells(&row.cells())
    }

    /// Appends one row given as its cells in [`header`] order (exactly
    /// [`SweepRow::cells`], e.g. read back from a resumed sweep's chunk file).
    ///
    /// Errors: the row has another number of cells than the header (naming the spool),
    /// or the spool cannot be written.
    pub fn push_cells(&mut self, cells: &[String]) -> Result<()> {
        if cells.len() != self.header.len() {
            return Err(Error::input(
                self.spool_path.display().to_string(),
                "row",
                format!(
                    "{} cells, but the table has {} columns",
                    cells.len(),
                    self.header.len()
                ),
            ));
        }
        if self.rows == 0 {
            let h = self.header.clone();
            self.spool
                .write_record(&h)
                .map_err(|e| csv_err(&self.spool_path, e))?;
        }
        self.spool
            .write_record(cells)
            .map_err(|e| csv_err(&self.spool_path, e))?;
        let n = self.rows;
        self.rows += 1;

        let workload = &cells[1];
        let acc = match self
            .accs
            .iter()
            .position(|a| a.summary.workload == *workload)
        {
            Some(i) => &mut self.accs[i],
            None => {
                self.accs.push(Acc {
                    summary: WorkloadSummary {
                        workload: workload.clone(),
                        rows: 0,
                        feasible: 0,
                        pareto: 0,
                        best: None,
                    },
                    front: Vec::new(),
                });
                self.accs.last_mut().expect("just pushed")
            }
        };
        acc.summary.rows += 1;
        if cells[self.feasible_col] != "true" {
            return Ok(());
        }
        acc.summary.feasible += 1;
        // The cells as the table holds them, read back exactly as `mark_pareto` and the
        // summary of a whole table read them.
        let num = |c: usize| cells[c].parse::<f64>().unwrap_or(f64::NAN);
        let key = cells[self.objective_cols[0]]
            .parse::<f64>()
            .unwrap_or(f64::INFINITY);
        if acc
            .summary
            .best
            .as_ref()
            .is_none_or(|b| key.total_cmp(&b.seconds_per_step).is_lt())
        {
            acc.summary.best = Some(BestPoint {
                point: cells[0].clone(),
                values: self
                    .keys
                    .iter()
                    .enumerate()
                    .map(|(i, k)| (k.clone(), cells[2 + i].clone()))
                    .collect(),
                seconds_per_step: key,
            });
        }
        let obj = self.objective_cols.map(num);
        if obj.iter().all(|x| x.is_finite()) && !acc.front.iter().any(|(_, f)| dominates(f, &obj)) {
            acc.front.retain(|(_, f)| !dominates(&obj, f));
            acc.front.push((n, obj));
        }
        Ok(())
    }

    /// Writes the final table to the destination (the spool copied with the `pareto`
    /// cells of the front set, through a temporary renamed into place), removes the spool
    /// and returns the summary.
    pub fn finish(mut self) -> Result<SweepSummary> {
        if self.rows == 0 {
            let h = self.header.clone();
            self.spool
                .write_record(&h)
                .map_err(|e| csv_err(&self.spool_path, e))?;
        }
        self.spool
            .flush()
            .map_err(|e| Error::io(&self.spool_path, e))?;
        let mut on_front: Vec<u64> = self
            .accs
            .iter()
            .flat_map(|a| a.front.iter().map(|(n, _)| *n))
            .collect();
        on_front.sort_unstable();
        let par = self.header.len() - 1;
        let tmp = temp_beside(&self.dest, "");
        let result = (|| -> Result<()> {
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(true)
                .from_path(&self.spool_path)
                .map_err(|e| csv_err(&self.spool_path, e))?;
            let file = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
            let mut w = csv::Writer::from_writer(BufWriter::new(file));
            w.write_record(&self.header).map_err(|e| csv_err(&tmp, e))?;
            let mut next = on_front.iter().peekable();
            let mut rec = csv::StringRecord::new();
            let mut n = 0u64;
            let mut cells: Vec<String> = Vec::with_capacity(self.header.len());
            while reader
                .read_record(&mut rec)
                .map_err(|e| csv_err(&self.spool_path, e))?
            {
                cells.clear();
                cells.extend(rec.iter().map(str::to_string));
                if next.peek() == Some(&&n) {
                    next.next();
                    cells[par] = "true".to_string();
                }
                w.write_record(&cells).map_err(|e| csv_err(&tmp, e))?;
                n += 1;
            }
            let file = w
                .into_inner()
                .map_err(|e| Error::io(&tmp, e.into_error()))?
                .into_inner()
                .map_err(|e| Error::io(&tmp, e.into_error()))?;
            file.sync_all().map_err(|e| Error::io(&tmp, e))?;
            std::fs::rename(&tmp, &self.dest).map_err(|e| Error::io(&self.dest, e))
        })();
        let _ = std::fs::remove_file(&self.spool_path);
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result?;
        Ok(SweepSummary {
            rows: self.rows,
            workloads: self
                .accs
                .into_iter()
                .map(|mut a| {
                    a.summary.pareto = a.front.len() as u64;
                    a.summary
                })
                .collect(),
        })
    }
}

impl SweepSummary {
    /// The summary of a table held in memory (what [`SweepWriter`] computes while
    /// streaming), e.g. of a merged table.
    pub fn of_table(t: &SweepTable) -> Result<SweepSummary> {
        let mut b = SummaryBuilder::new(&t.header, "sweep table")?;
        for r in &t.rows {
            b.add(r);
        }
        Ok(b.finish())
    }

    /// The summary of the table in CSV file `path`, read one row at a time (memory of
    /// one row), e.g. of a finished sweep that is not run again.
    ///
    /// Errors: the file cannot be read, is not CSV, or lacks a column of the table,
    /// naming the file.
    pub fn of_csv(path: &Path) -> Result<SweepSummary> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_path(path)
            .map_err(|e| csv_err(path, e))?;
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| csv_err(path, e))?
            .iter()
            .map(str::to_string)
            .collect();
        let mut b = SummaryBuilder::new(&header, &path.display().to_string())?;
        let mut rec = csv::StringRecord::new();
        let mut cells: Vec<String> = Vec::with_capacity(header.len());
        while reader.read_record(&mut rec).map_err(|e| csv_err(path, e))? {
            cells.clear();
            cells.extend(rec.iter().map(str::to_string));
            b.add(&cells);
        }
        Ok(b.finish())
    }
}

/// Builds a [`SweepSummary`] row by row from a table's cells.
struct SummaryBuilder {
    wl: usize,
    feas: usize,
    par: usize,
    secs: usize,
    keys: Vec<(String, usize)>,
    rows: u64,
    out: Vec<WorkloadSummary>,
}

impl SummaryBuilder {
    /// Column positions of `header`; `name` labels the table in errors.
    fn new(header: &[String], name: &str) -> Result<SummaryBuilder> {
        let col = |c: &str| {
            header
                .iter()
                .position(|h| h == c)
                .ok_or_else(|| Error::input(name, c, "missing column"))
        };
        let end = header
            .iter()
            .position(|h| h == super::table::TAIL_COLUMNS[0])
            .unwrap_or(header.len());
        Ok(SummaryBuilder {
            wl: col("workload")?,
            feas: col("feasible")?,
            par: col("pareto")?,
            secs: col("step_s")?,
            keys: (2.min(end)..end).map(|c| (header[c].clone(), c)).collect(),
            rows: 0,
            out: Vec::new(),
        })
    }

    fn add(&mut self, r: &[String]) {
        self.rows += 1;
        let pos = match self.out.iter().position(|w| w.workload == r[self.wl]) {
            Some(p) => p,
            None => {
                self.out.push(WorkloadSummary {
                    workload: r[self.wl].clone(),
                    rows: 0,
                    feasible: 0,
                    pareto: 0,
                    best: None,
                });
                self.out.len() - 1
            }
        };
        let w = &mut self.out[pos];
        w.rows += 1;
        w.pareto += (r[self.par] == "true") as u64;
        if r[self.feas] != "true" {
            return;
        }
        w.feasible += 1;
        let s = r[self.secs].parse::<f64>().unwrap_or(f64::INFINITY);
        if w.best
            .as_ref()
            .is_none_or(|b| s.total_cmp(&b.seconds_per_step).is_lt())
        {
            w.best = Some(BestPoint {
                point: r[0].clone(),
                values: self
                    .keys
                    .iter()
                    .map(|(k, c)| (k.clone(), r[*c].clone()))
                    .collect(),
                seconds_per_step: s,
            });
        }
    }

    fn finish(self) -> SweepSummary {
        SweepSummary {
            rows: self.rows,
            workloads: self.out,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dse::Outcome;

    /// Rows over two workloads with objectives drawn from a few small values (so that
    /// ties, dominated and non-dominated rows all occur), some infeasible, some infinite.
    fn rows(n: usize, seed: u64) -> Vec<SweepRow> {
        let mut x = seed;
        let mut next = |m: u64| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) % m
        };
        (0..n)
            .flat_map(|p| ["a", "b"].map(|w| (p, w)))
            .map(|(p, w)| {
                let s = 1.0 + next(6) as f64 * 0.5;
                let inf = next(20) == 0;
                SweepRow {
                    point: p,
                    workload: w.into(),
                    values: vec![format!("{}", 100 + p)],
                    sram_kib: [256.0, 512.0, 1024.0][next(3) as usize],
                    dram_gbps: 25.6,
                    pe_count: 1024,
                    outcome: Outcome {
                        feasible: next(8) != 0,
                        seconds_per_step: if inf { f64::INFINITY } else { s },
                        optimal_seconds: s,
                        memory_bytes: 1000 * (1 + next(5)),
                        peak_bytes: [1, 2, 3],
                        memory: crate::cost::MemoryMetrics::default(),
                        energy_j: 0.1 * (1 + next(4)) as f64,
                        energy_dynamic_j: 0.1,
                        energy_static_j: 0.0,
                        ssd_write_bytes: 0.0,
                        ssd_wear_out_steps: None,
                        bound: "dram".into(),
                        schedule: "row, mb=1".into(),
                        lower_bound_s: s * 0.9,
                        gap_pct: 10.0,
                        lower_bound_terms: Default::default(),
                        sim_seconds: None,
                    },
                }
            })
            .collect()
    }

    #[test]
    fn streamed_table_equals_the_in_memory_table_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let keys = vec!["sram.capacity_kib".to_string()];
        for (n, seed) in [(0, 1), (1, 2), (7, 3), (300, 4), (2000, 5)] {
            let rs = rows(n, seed);
            let table = SweepTable::from_rows(&keys, &rs);
            let dest = dir.path().join(format!("t{n}.csv"));
            let mut w = SweepWriter::create(&dest, &keys).unwrap();
            for r in &rs {
                w.push(r).unwrap();
            }
            let summary = w.finish().unwrap();
            let expected =
                crate::report::csv_table::to_csv_bytes(&table.header, &table.rows).unwrap();
            assert_eq!(std::fs::read(&dest).unwrap(), expected, "{n} points");
            assert_eq!(
                summary,
                SweepSummary::of_table(&table).unwrap(),
                "{n} points"
            );
            assert_eq!(summary, SweepSummary::of_csv(&dest).unwrap(), "{n} points");
            if n >= 300 {
                let front: u64 = summary.workloads.iter().map(|w| w.pareto).sum();
                assert!(front > 1 && front < summary.rows / 4, "front of {front}");
            }
            // Only the table is left: spool and temporaries are gone.
            let left: Vec<_> = std::fs::read_dir(dir.path())
                .unwrap()
                .flatten()
                .map(|e| e.file_name())
                .collect();
            assert!(left.iter().all(|f| !f.to_string_lossy().starts_with('.')));
        }
    }
}
