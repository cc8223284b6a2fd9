//! `--shard i/n`: a deterministic slice of a sweep for a cluster's job array. Shard `i` of
//! `n` runs the points whose index satisfies `index % n == i`, so the shards partition the
//! points and [`crate::dse::merge`] restores the single-run order by point index.

use super::fingerprint::Fingerprint;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// Shard `index` of `count` (0-based index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard, in `0..count`.
    pub index: usize,
    /// Number of shards, at least 1.
    pub count: usize,
}

impl Shard {
    /// The whole sweep.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Parses `i/n` with `0 <= i < n`.
    pub fn parse(s: &str) -> Result<Shard> {
        let err = |m: &str| Error::input("--shard", s, m.to_string());
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| err("expected i/n, e.g. 0/4 (shard 0 of 4)"))?;
        let index: usize = i
            .trim()
            .parse()
            .map_err(|_| err("shard index must be an integer >= 0"))?;
        let count: usize = n
            .trim()
            .parse()
            .map_err(|_| err("shard count must be an integer >= 1"))?;
        if count == 0 || index >= count {
            return Err(err("need 0 <= i < n"));
        }
        Ok(Shard { index, count })
    }

    /// True when point `index` belongs to this shard.
    pub fn contains(&self, point: usize) -> bool {
        point % self.count == self.index
    }
}

/// Which slice of a sweep a table holds, written beside the table as `<stem>.shard.toml`
/// (`sweep.csv` -> `sweep.shard.toml`) so that `merge` can tell a complete set of shards
/// from an incomplete one. The table itself stays byte-identical to a single run's rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardRecord {
    /// The shard the table holds.
    pub shard: Shard,
    /// Points of the whole spec (before sharding).
    pub points: usize,
    /// Rows of the table (points of the shard x workloads); `None` in records written
    /// before it was recorded.
    pub rows: Option<u64>,
    /// What computed the table ([`Fingerprint`]); `None` in records written before
    /// fingerprints were recorded.
    pub fingerprint: Option<Fingerprint>,
}

impl ShardRecord {
    /// The record's path for table `csv`: same directory, `<stem>.shard.toml`.
    pub fn sidecar_path(csv: &Path) -> PathBuf {
        let stem = csv
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "sweep".into());
        csv.with_file_name(format!("{stem}.shard.toml"))
    }

    /// The record as TOML text.
    pub fn to_toml_string(&self) -> String {
        let mut s = format!(
            "# Which slice of the sweep the table beside this file holds (edgesim merge \
             checks that shards 0..count are each given once).\nshard = {}\ncount = {}\npoints = {}\n",
            self.shard.index, self.shard.count, self.points
        );
        if let Some(r) = self.rows {
            s.push_str(&format!("rows = {r}\n"));
        }
        if let Some(f) = &self.fingerprint {
            s.push_str(
                "\n# What computed the table: a sweep with this fingerprint skips it as \
                 complete, and merge joins only shards whose fingerprints agree.\n",
            );
            s.push_str(&f.to_toml_table());
        }
        s
    }

    /// Reads the record of table `csv`.
    ///
    /// Errors: the record is missing (the table was not written by `edgesim sweep`, or
    /// was moved without it) or malformed, naming the record's path.
    pub fn for_table(csv: &Path) -> Result<ShardRecord> {
        let path = Self::sidecar_path(csv);
        let file = path.display().to_string();
        if !path.exists() {
            return Err(Error::input(
                &file,
                "shard",
                format!(
                    "missing: `edgesim sweep` writes it beside {}; without it merge cannot \
                     check that every shard is given",
                    csv.display()
                ),
            ));
        }
        let text = crate::io_util::read_to_string(&path)?;
        let table = crate::toml_util::parse(&file, &text)?;
        let root = crate::toml_util::Section::root(&file, &table);
        let count = root.u64_in("count", 1, u64::MAX >> 1)? as usize;
        let index = root.u64_in("shard", 0, count as u64 - 1)? as usize;
        let points = root.u64_in("points", 0, u64::MAX >> 1)? as usize;
        let rows = root.opt_u64_in("rows", 0, u64::MAX >> 1)?;
        let fingerprint = match root.opt_section("fingerprint")? {
            Some(sec) => Some(Fingerprint::from_section(&sec)?),
            None => None,
        };
        root.deny_unknown()?;
        Ok(ShardRecord {
            shard: Shard { index, count },
            points,
            rows,
            fingerprint,
        })
    }
}

/// Checks that `records` (each labelled by its table's name) are exactly the shards
/// `0..n` of one sweep, each once.
///
/// Errors: shard counts or point counts differ (tables of different sweeps), a shard is
/// given twice (both tables named) or missing (its `i/n` named).
pub fn check_complete(records: &[(String, ShardRecord)]) -> Result<()> {
    let Some((first_name, first)) = records.first() else {
        return Ok(());
    };
    let n = first.shard.count;
    let mut given: Vec<Option<&str>> = vec![None; n];
    for (name, r) in records {
        if r.shard.count != n || r.points != first.points {
            return Err(Error::input(
                name,
                "shard",
                format!(
                    "shard {}/{} of a {}-point sweep, but {first_name} is shard {}/{n} of a \
                     {}-point sweep; merge shards of one sweep",
                    r.shard.index, r.shard.count, r.points, first.shard.index, first.points
                ),
            ));
        }
        match (&first.fingerprint, &r.fingerprint) {
            (Some(a), Some(b)) => {
                if let Some((field, here, there)) = b.differences(a, true).into_iter().next() {
                    return Err(Error::input(
                        name,
                        format!("fingerprint.{field}"),
                        format!(
                            "`{here}`, but {first_name} has `{there}`: the shards were not \
                             computed by one sweep (same spec, inputs and options); rerun \
                             the odd shard with the others' options"
                        ),
                    ));
                }
            }
            (None, None) => {}
            (a, _) => {
                let (without, with) = if a.is_none() {
                    (first_name.as_str(), name.as_str())
                } else {
                    (name.as_str(), first_name.as_str())
                };
                return Err(Error::input(
                    without,
                    "fingerprint",
                    format!(
                        "missing (written by an older edgesim), but {with} has one: the \
                         shards cannot be checked to come from one sweep; rerun the older \
                         shards"
                    ),
                ));
            }
        }
        if let Some(other) = given[r.shard.index] {
            return Err(Error::input(
                name,
                "shard",
                format!(
                    "shard {}/{n} is given twice: {other} and {name}",
                    r.shard.index
                ),
            ));
        }
        given[r.shard.index] = Some(name);
    }
    let missing: Vec<String> = (0..n)
        .filter(|&i| given[i].is_none())
        .map(|i| format!("{i}/{n}"))
        .collect();
    if !missing.is_empty() {
        return Err(Error::input(
            "merge",
            "shard",
            format!(
                "incomplete set: shard{} {} missing (run `edgesim sweep --shard {}` and \
                 give its sweep.csv)",
                if missing.len() > 1 { "s" } else { "" },
                missing.join(", "),
                missing[0]
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(index: usize, count: usize) -> (String, ShardRecord) {
        (
            format!("s{index}.csv"),
            ShardRecord {
                shard: Shard { index, count },
                points: 12,
                rows: None,
                fingerprint: None,
            },
        )
    }

    #[test]
    fn complete_sets_pass_and_gaps_and_duplicates_are_named() {
        assert!(check_complete(&[rec(2, 3), rec(0, 3), rec(1, 3)]).is_ok());
        assert!(check_complete(&[rec(0, 1)]).is_ok());
        let e = check_complete(&[rec(0, 4), rec(2, 4)])
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "merge: shard: incomplete set: shards 1/4, 3/4 missing (run `edgesim sweep \
             --shard 1/4` and give its sweep.csv)"
        );
        let e = check_complete(&[rec(0, 2), rec(1, 2), rec(1, 2)])
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "s1.csv: shard: shard 1/2 is given twice: s1.csv and s1.csv"
        );
        let mut other = rec(1, 2);
        other.1.points = 13;
        let e = check_complete(&[rec(0, 2), other]).unwrap_err().to_string();
        assert!(
            e.contains("of a 13-point sweep") && e.contains("merge shards of one sweep"),
            "{e}"
        );
    }

    #[test]
    fn records_round_trip_through_their_file() {
        let d = tempfile::tempdir().unwrap();
        let csv = d.path().join("sweep.csv");
        assert_eq!(
            ShardRecord::sidecar_path(&csv),
            d.path().join("sweep.shard.toml")
        );
        let e = ShardRecord::for_table(&csv).unwrap_err().to_string();
        assert!(e.contains("sweep.shard.toml: shard: missing"), "{e}");
        let r = rec(3, 5).1;
        std::fs::write(ShardRecord::sidecar_path(&csv), r.to_toml_string()).unwrap();
        assert_eq!(ShardRecord::for_table(&csv).unwrap(), r);
        // With the table's rows and the fingerprint of the run that computed it.
        let o = crate::search::SearchOptions::default();
        let fp = Fingerprint::new("s", "b", &[], &o, "cycle", r.shard);
        let full = ShardRecord {
            rows: Some(8),
            fingerprint: Some(fp),
            ..r
        };
        let text = full.to_toml_string();
        assert!(
            text.contains("shard = 3\ncount = 5\npoints = 12\nrows = 8\n"),
            "{text}"
        );
        std::fs::write(ShardRecord::sidecar_path(&csv), &text).unwrap();
        assert_eq!(ShardRecord::for_table(&csv).unwrap(), full);
        std::fs::write(
            ShardRecord::sidecar_path(&csv),
            text.replace("engine = ", "engin = "),
        )
        .unwrap();
        let e = ShardRecord::for_table(&csv).unwrap_err().to_string();
        assert!(
            e.ends_with("sweep.shard.toml: fingerprint.engin: unknown key; did you mean `engine`?"),
            "{e}"
        );
        std::fs::write(
            ShardRecord::sidecar_path(&csv),
            "shard = 5\ncount = 5\npoints = 1\n",
        )
        .unwrap();
        let e = ShardRecord::for_table(&csv).unwrap_err().to_string();
        assert!(
            e.contains("shard: 5 is out of range; allowed [0, 4]"),
            "{e}"
        );
    }

    #[test]
    fn parse_and_partition() {
        let s = Shard::parse("1/3").unwrap();
        assert_eq!(s, Shard { index: 1, count: 3 });
        let taken: Vec<usize> = (0..7).filter(|&p| s.contains(p)).collect();
        assert_eq!(taken, vec![1, 4]);
        for bad in ["3/3", "x/2", "1", "0/0", "-1/2"] {
            let e = Shard::parse(bad).unwrap_err().to_string();
            assert!(e.starts_with("--shard"), "{e}");
        }
        // Every point lands in exactly one shard.
        for p in 0..20 {
            assert_eq!(
                (0..4)
                    .filter(|&i| Shard { index: i, count: 4 }.contains(p))
                    .count(),
                1
            );
        }
    }
}
