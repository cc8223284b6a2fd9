//! CSV reading and writing of string tables (sweep tables, repro tables). Writes go through
//! [`crate::io_util::write_atomic`]; quoting is the csv crate's minimal quoting, so output
//! is a pure function of the cells.

use crate::dse::SweepTable;
use crate::error::{Error, Result};
use std::path::Path;

/// Serialises a header and rows to CSV bytes.
pub fn to_csv_bytes(header: &[String], rows: &[Vec<String>]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let wrap = |e: csv::Error| Error::Other(format!("CSV encoding: {e}"));
    w.write_record(header).map_err(wrap)?;
    for r in rows {
        w.write_record(r).map_err(wrap)?;
    }
    w.into_inner()
        .map_err(|e| Error::Other(format!("CSV encoding: {e}")))
}

/// Writes a header and rows to `path` atomically.
pub fn write_csv(path: &Path, header: &[String], rows: &[Vec<String>]) -> Result<()> {
    crate::io_util::write_atomic(path, &to_csv_bytes(header, rows)?)
}

/// Writes a sweep table to `path` atomically.
pub fn write_sweep_table(path: &Path, t: &SweepTable) -> Result<()> {
    write_csv(path, &t.header, &t.rows)
}

/// Reads a sweep table written by [`write_sweep_table`]; every row must have the header's
/// width, and the header must hold the sweep columns.
pub fn read_sweep_table(path: &Path) -> Result<SweepTable> {
    let file = path.display().to_string();
    let text = crate::io_util::read_to_string(path)?;
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(text.as_bytes());
    let header: Vec<String> = r
        .headers()
        .map_err(|e| Error::input(&file, "header", e.to_string()))?
        .iter()
        .map(str::to_string)
        .collect();
    let mut rows = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| Error::input(&file, format!("line {}", i + 2), e.to_string()))?;
        rows.push(rec.iter().map(str::to_string).collect());
    }
    let t = SweepTable { header, rows };
    for col in ["point", "workload"]
        .iter()
        .chain(crate::dse::table::TAIL_COLUMNS.iter())
    {
        if t.column(col).is_err() {
            return Err(Error::input(
                &file,
                *col,
                "missing column; is this a sweep.csv written by `edgesim sweep`?",
            ));
        }
    }
    Ok(t)
}
