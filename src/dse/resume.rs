//! The resume state of an unfinished sweep: `OUT/.sweep.partial/` holds `manifest.toml`
//! (the run's [`Fingerprint`]) and one `chunk-<first point>.csv` per finished chunk of
//! points (the table's header and the chunk's rows, exactly the cells the final table
//! gets before its Pareto column is set). Each chunk is written to a temporary and
//! renamed into place (`io_util::write_atomic`), so a killed run leaves whole chunks
//! only and loses at most the chunk in flight (about
//! [`super::sweep::RESUME_CHUNK_SECONDS`] seconds of evaluations).
//!
//! A run with the same fingerprint reads the chunks back instead of evaluating their
//! points ([`PartialStore::replay`]) and evaluates the rest
//! ([`super::sweep::run_chunked`] with `skip`); a run with another fingerprint is refused
//! with the differing field named, unless told to start over. Chunks are written in
//! shard order, so the finished ones are a prefix of the shard's points; a chunk that
//! does not continue that prefix, or whose rows are not the points and workloads it
//! should hold, is dropped with the chunks after it (its points are evaluated again) and
//! reported. Because the final table is built from the same cells in the same order, a
//! resumed sweep's table is byte-identical to an uninterrupted one's.

use super::fingerprint::{Fingerprint, mismatch_error};
use super::{Shard, SweepRow, SweepSpec};
use crate::error::{Error, Result};
use crate::toml_util::Section;
use std::path::{Path, PathBuf};

/// The resume state's directory inside a sweep's output directory.
pub const PARTIAL_DIR: &str = ".sweep.partial";

/// The manifest's file name inside [`PARTIAL_DIR`].
pub const MANIFEST: &str = "manifest.toml";

/// The resume state of one sweep run (see the module documentation).
#[derive(Debug)]
pub struct PartialStore {
    dir: PathBuf,
    header: Vec<String>,
}

/// What [`PartialStore::open`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// No resume state: a fresh start.
    Nothing,
    /// State of a run with the same fingerprint: its chunks are read back.
    Same,
    /// State that `force` discarded (another fingerprint, or the same one recomputed).
    Discarded,
}

/// What [`PartialStore::replay`] read back.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Replay {
    /// Points read back (a prefix of the shard's points, in shard order).
    pub points: usize,
    /// Rows read back (`points` x workloads).
    pub rows: u64,
    /// Chunk files read back.
    pub chunks: usize,
    /// Chunks dropped, each with the reason (their points are evaluated again).
    pub dropped: Vec<String>,
}

/// `chunk-<first point>.csv` -> the first point.
fn chunk_first(name: &str) -> Option<usize> {
    name.strip_prefix("chunk-")?
        .strip_suffix(".csv")?
        .parse()
        .ok()
}

fn io(p: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |e| Error::io(p, e)
}

impl PartialStore {
    /// The resume state's directory for output directory `out`.
    pub fn dir_for(out: &Path) -> PathBuf {
        out.join(PARTIAL_DIR)
    }

    /// Opens the resume state in `out` (the output directory itself, not a staging
    /// directory) for a run with `fingerprint` writing tables with `header`; creates it
    /// when absent. With `force`, existing state is discarded and the run starts over.
    ///
    /// Errors: existing state has another fingerprint and `force` is off (naming the
    /// manifest, the first differing field with both values and the other differing
    /// fields), its manifest is unreadable, or a directory or file cannot be written.
    pub fn open(
        out: &Path,
        fingerprint: &Fingerprint,
        header: &[String],
        force: bool,
    ) -> Result<(PartialStore, Found)> {
        let dir = Self::dir_for(out);
        let manifest = dir.join(MANIFEST);
        let mut found = Found::Nothing;
        if dir.is_dir() {
            if !manifest.exists() {
                // Killed between creating the directory and writing the manifest: no
                // chunk can have been written yet.
                std::fs::remove_dir_all(&dir).map_err(io(&dir))?;
            } else if force {
                std::fs::remove_dir_all(&dir).map_err(io(&dir))?;
                found = Found::Discarded;
            } else {
                let file = manifest.display().to_string();
                let text = crate::io_util::read_to_string(&manifest)?;
                let table = crate::toml_util::parse(&file, &text)?;
                let root = Section::root(&file, &table);
                let theirs = Fingerprint::from_section(&root.section("fingerprint")?)?;
                if theirs != *fingerprint {
                    return Err(mismatch_error(
                        &file,
                        &theirs,
                        fingerprint,
                        "an unfinished sweep with another fingerprint is in this directory",
                        "rerun it with its spec, inputs and options to resume it, or add \
                         --force to discard it and start over",
                    ));
                }
                found = Found::Same;
            }
        }
        if found != Found::Same {
            std::fs::create_dir_all(&dir).map_err(io(&dir))?;
            let text = format!(
                "# The resume state of an unfinished `edgesim sweep`: the chunk-<first \
                 point>.csv files beside this one hold finished rows. A sweep with this \
                 fingerprint reads them back; the directory is removed when the sweep \
                 finishes.\n{}",
                fingerprint.to_toml_table()
            );
            crate::io_util::write_atomic(&manifest, text.as_bytes())?;
        }
        // Anything but the manifest and whole chunks (temporaries of killed writers) goes.
        for e in std::fs::read_dir(&dir).map_err(io(&dir))?.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n != MANIFEST && chunk_first(&n).is_none() {
                let _ = std::fs::remove_file(e.path());
            }
        }
        Ok((
            PartialStore {
                dir,
                header: header.to_vec(),
            },
            found,
        ))
    }

    /// The state's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The chunk files, ordered by first point.
    fn chunks(&self) -> Result<Vec<(usize, PathBuf)>> {
        let mut out: Vec<(usize, PathBuf)> = std::fs::read_dir(&self.dir)
            .map_err(io(&self.dir))?
            .flatten()
            .filter_map(|e| chunk_first(&e.file_name().to_string_lossy()).map(|f| (f, e.path())))
            .collect();
        out.sort();
        Ok(out)
    }

    /// Reads the finished chunks back in shard order and hands their rows' cells to
    /// `sink` (the workloads labelled `workloads`, in spec order). Stops at the first
    /// chunk that does not continue the prefix or does not hold exactly its points'
    /// rows: that chunk and the later ones are removed and reported in
    /// [`Replay::dropped`]. A chunk is checked whole before any of its rows is handed on.
    ///
    /// Errors: a directory cannot be read, or `sink` fails.
    pub fn replay<S>(
        &self,
        spec: &SweepSpec,
        shard: Shard,
        workloads: &[String],
        mut sink: S,
    ) -> Result<Replay>
    where
        S: FnMut(&[String]) -> Result<()>,
    {
        let total = spec.shard_point_count(shard);
        // The k-th point of the shard (see `SweepSpec::shard_indices`).
        let nth = |k: usize| shard.index + k * shard.count;
        let mut r = Replay::default();
        let chunks = self.chunks()?;
        let w = workloads.len().max(1);
        for (i, (first, path)) in chunks.iter().enumerate() {
            let checked = if r.points >= total || *first != nth(r.points) {
                Err(format!(
                    "starts at point {first}, but the finished points end before point {}",
                    if r.points < total {
                        nth(r.points).to_string()
                    } else {
                        "the end of the shard".to_string()
                    }
                ))
            } else {
                self.read_chunk(path).and_then(|rows| {
                    if rows.is_empty() || rows.len() % w != 0 {
                        return Err(format!(
                            "{} rows, not a whole number of points of {w} workloads",
                            rows.len()
                        ));
                    }
                    for (j, row) in rows.iter().enumerate() {
                        let k = r.points + j / w;
                        if k >= total {
                            return Err(format!("row {} is beyond the shard's points", j + 2));
                        }
                        let (p, wl) = (nth(k).to_string(), &workloads[j % w]);
                        if row[0] != p || row[1] != *wl {
                            return Err(format!(
                                "row {} is point {} workload {}, expected point {p} \
                                 workload {wl}",
                                j + 2,
                                row[0],
                                row[1]
                            ));
                        }
                    }
                    Ok(rows)
                })
            };
            match checked {
                Ok(rows) => {
                    for row in &rows {
                        sink(row)?;
                    }
                    r.points += rows.len() / w;
                    r.rows += rows.len() as u64;
                    r.chunks += 1;
                }
                Err(why) => {
                    for (_, p) in &chunks[i..] {
                        let _ = std::fs::remove_file(p);
                    }
                    r.dropped.push(format!(
                        "{}: {why}; it and {} later chunk(s) are evaluated again",
                        path.display(),
                        chunks.len() - i - 1
                    ));
                    break;
                }
            }
        }
        Ok(r)
    }

    /// The rows of a chunk file, checked against the header.
    fn read_chunk(&self, path: &Path) -> std::result::Result<Vec<Vec<String>>, String> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_path(path)
            .map_err(|e| format!("cannot read: {e}"))?;
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| format!("not CSV: {e}"))?
            .iter()
            .map(str::to_string)
            .collect();
        if header != self.header {
            return Err("its columns differ from this sweep's table".to_string());
        }
        reader
            .records()
            .map(|rec| {
                rec.map(|r| r.iter().map(str::to_string).collect())
                    .map_err(|e| format!("not CSV: {e}"))
            })
            .collect()
    }

    /// Writes one finished chunk (whole points, in order) as `chunk-<first point>.csv`,
    /// atomically. Nothing is written for no rows.
    pub fn write_chunk(&self, rows: &[SweepRow]) -> Result<()> {
        let Some(first) = rows.first() else {
            return Ok(());
        };
        let cells: Vec<Vec<String>> = rows.iter().map(SweepRow::cells).collect();
        let bytes = crate::report::csv_table::to_csv_bytes(&self.header, &cells)?;
        let path = self.dir.join(format!("chunk-{}.csv", first.point));
        crate::io_util::write_atomic(&path, &bytes)
    }

    /// Removes the state (the sweep finished and its table is in place).
    pub fn remove(self) -> Result<()> {
        match std::fs::remove_dir_all(&self.dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(&self.dir, e)),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_names_parse_and_other_names_do_not() {
        assert_eq!(chunk_first("chunk-0.csv"), Some(0));
        assert_eq!(chunk_first("chunk-1536.csv"), Some(1536));
        for n in [
            "chunk-.csv",
            "chunk-3.csv.tmp",
            ".chunk-3.csv.77.tmp",
            "manifest.toml",
            "chunk-x.csv",
        ] {
            assert_eq!(chunk_first(n), None, "{n}");
        }
    }
}
