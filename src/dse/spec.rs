//! Sweep specifications (`hw_configs/sweeps/*.toml`): a base hardware file, the workloads
//! to run on every point, and value lists per dotted hardware key, combined as a cartesian
//! product or zipped.
//!
//! Points are never materialised: point `i` is decoded from its index on demand
//! ([`SweepSpec::assignment`], [`SweepSpec::point`]), so a spec of any size costs the
//! memory of its value lists. While the spec is loaded, every value of every list is
//! validated by the hardware reader [`HwConfig::from_table`] on the first point that uses
//! it (a bad key or an out-of-range value is reported with file, key, allowed range and
//! that point before any work starts); a point that is invalid only through a
//! combination of values is reported when it is reached ([`SweepSpec::point`]). The
//! hardware reader owns every range check; this module only expands the points.

use crate::error::{Error, Result};
use crate::hw::{HwConfig, apply_override};
use crate::toml_util::{self, Section};
use std::path::{Path, PathBuf};

/// How the value lists of `[sweep]` combine into points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Combine {
    /// Cartesian product; keys in alphabetical order, the last key varies fastest.
    Product,
    /// The i-th point takes the i-th value of every list; all lists have equal length.
    Zip,
}

/// One swept hardware key and its values, in the order the spec lists them.
#[derive(Debug, Clone, PartialEq)]
pub struct SweptKey {
    /// Dotted hardware key, e.g. `sram.capacity_kib`.
    pub key: String,
    /// Values (numbers, strings or booleans as written in the spec).
    pub values: Vec<toml::Value>,
}

/// One design point: the overrides applied to the base table and the validated hardware.
#[derive(Debug, Clone)]
pub struct SweepPoint {
    /// Index in the full expansion (0-based); stable across shards.
    pub index: usize,
    /// `(key, value)` per swept key, in [`SweepSpec::keys`] order.
    pub values: Vec<(String, toml::Value)>,
    /// The hardware of this point, validated by the hardware reader.
    pub hw: HwConfig,
}

/// A parsed sweep specification; its points are expanded lazily from their index.
#[derive(Debug, Clone)]
pub struct SweepSpec {
    /// The spec file.
    pub file: PathBuf,
    /// The base hardware file (resolved against the spec's directory).
    pub base: PathBuf,
    /// Workload files (resolved against the spec's directory), in spec order.
    pub workloads: Vec<PathBuf>,
    /// Product or zip.
    pub combine: Combine,
    /// Swept keys in alphabetical order.
    pub keys: Vec<SweptKey>,
    /// Number of points: the product of the list lengths (saturating at `usize::MAX`)
    /// or, zipped, the common length.
    pub point_count: usize,
    /// The base hardware table every point overrides.
    base_table: toml::Table,
}

/// Resolves `p` against `dir` unless it is absolute.
pub fn resolve(dir: &Path, p: &str) -> PathBuf {
    let path = Path::new(p);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        dir.join(path)
    }
}

/// Formats a swept value for CSV cells, labels and messages: integers and strings as
/// written, floats in Rust's shortest round-trip form.
pub fn value_label(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        other => other.to_string(),
    }
}

impl SweepSpec {
    /// Reads a spec file, resolves its paths and validates every point.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = crate::io_util::read_to_string(path)?;
        Self::from_toml_str(path, &text)
    }

    /// Parses spec text; `path` names the file in errors and anchors relative paths.
    pub fn from_toml_str(path: &Path, text: &str) -> Result<Self> {
        let file = path.display().to_string();
        let dir = path.parent().unwrap_or(Path::new("."));
        let table = toml_util::parse(&file, text)?;
        toml_util::expect_kind(&file, &table, toml_util::FileKind::SweepSpec)?;
        let root = Section::root(&file, &table);

        let base_rel = root.str("base")?;
        let base = resolve(dir, base_rel);
        let base_text = crate::io_util::read_to_string(&base).map_err(|e| {
            root.err(
                "base",
                format!("cannot read base hardware file {}: {e}", base.display()),
            )
        })?;
        let base_name = base.display().to_string();
        let base_table = toml_util::parse(&base_name, &base_text)?;
        // The base itself must be valid, so that any later error is the override's.
        HwConfig::from_table(&base_name, &base_table)?;

        let workloads = match root.raw("workloads") {
            Some(toml::Value::Array(a)) if !a.is_empty() => a
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    // A file relative to the spec, else an embedded workload name (kept
                    // as the bare name, which `evaluate::load_trace` resolves the same way).
                    toml::Value::String(s) => {
                        match crate::workload::locate_workload(Some(dir), s) {
                            Ok(crate::workload::WorkloadRef::File(p)) => Ok(p),
                            Ok(crate::workload::WorkloadRef::Embedded(n)) => Ok(PathBuf::from(n)),
                            Err(e) => Err(root.err(
                                &format!("workloads[{i}]"),
                                match e {
                                    Error::Input { msg, .. } => msg,
                                    other => other.to_string(),
                                },
                            )),
                        }
                    }
                    other => Err(root.err(
                        &format!("workloads[{i}]"),
                        format!("expected a file path string, got {}", other.type_str()),
                    )),
                })
                .collect::<Result<Vec<_>>>()?,
            Some(toml::Value::Array(_)) | None => {
                return Err(root.err(
                    "workloads",
                    "missing or empty; expected an array of workload file paths",
                ));
            }
            Some(other) => {
                return Err(root.err(
                    "workloads",
                    format!("expected an array of file paths, got {}", other.type_str()),
                ));
            }
        };

        let combine = match root.choice_or("combine", "product", &["product", "zip"])? {
            "zip" => Combine::Zip,
            _ => Combine::Product,
        };

        let sweep = root.section("sweep")?;
        let mut keys = Vec::new();
        for key in table
            .get("sweep")
            .and_then(|v| v.as_table())
            .map(|t| t.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default()
        {
            let values = match sweep.raw(&key) {
                Some(toml::Value::Array(a)) if !a.is_empty() => a.clone(),
                Some(toml::Value::Array(_)) => {
                    return Err(sweep.err(&format!("\"{key}\""), "empty value list"));
                }
                Some(v) => {
                    return Err(sweep.err(
                        &format!("\"{key}\""),
                        format!(
                            "expected an array of values, got {}; quote dotted keys, e.g. \"sram.capacity_kib\" = [512, 1024]",
                            v.type_str()
                        ),
                    ));
                }
                // The key was listed from this very table, so it is present.
                None => continue,
            };
            keys.push(SweptKey { key, values });
        }
        if keys.is_empty() {
            return Err(sweep.err(
                "",
                "no keys to sweep; add e.g. \"sram.capacity_kib\" = [512, 1024]",
            ));
        }
        root.deny_unknown()?;

        if combine == Combine::Zip {
            let n = keys[0].values.len();
            if let Some(k) = keys.iter().find(|k| k.values.len() != n) {
                return Err(sweep.err(
                    &format!("\"{}\"", k.key),
                    format!(
                        "combine = \"zip\" needs equal-length lists: \"{}\" has {n} values, \"{}\" has {}",
                        keys[0].key,
                        k.key,
                        k.values.len()
                    ),
                ));
            }
        }

        let point_count = count(&keys, combine);
        let spec = SweepSpec {
            file: path.to_path_buf(),
            base,
            workloads,
            combine,
            keys,
            point_count,
            base_table,
        };
        // Every value on the first point that uses it, in point order, so the first
        // error reported is the lowest-indexed point's among these.
        let mut firsts: Vec<usize> = Vec::new();
        let mut stride = 1usize;
        for k in spec.keys.iter().rev() {
            for j in 0..k.values.len() {
                firsts.push(match combine {
                    Combine::Zip => j,
                    Combine::Product => j.saturating_mul(stride),
                });
            }
            stride = stride.saturating_mul(k.values.len());
        }
        firsts.sort_unstable();
        firsts.dedup();
        for i in firsts {
            spec.point(i)?;
        }
        Ok(spec)
    }

    /// The `(key, value)` overrides of point `index` (`index < point_count`): the
    /// product's mixed-radix digits (last key fastest) or the zip's `index`-th values.
    pub fn assignment(&self, index: usize) -> Vec<(String, toml::Value)> {
        let mut digits = vec![0usize; self.keys.len()];
        match self.combine {
            Combine::Zip => digits.iter_mut().for_each(|d| *d = index),
            Combine::Product => {
                let mut rest = index;
                for (d, k) in digits.iter_mut().zip(&self.keys).rev() {
                    *d = rest % k.values.len();
                    rest /= k.values.len();
                }
            }
        }
        self.keys
            .iter()
            .zip(digits)
            .map(|(k, d)| (k.key.clone(), k.values[d].clone()))
            .collect()
    }

    /// Point `index` with its hardware validated by the hardware reader. Errors name the
    /// spec file, the swept key, the allowed range and the point with its values.
    pub fn point(&self, index: usize) -> Result<SweepPoint> {
        let file = self.file.display().to_string();
        let values = self.assignment(index);
        let mut t = self.base_table.clone();
        for (k, v) in &values {
            apply_override(&mut t, k, v.clone()).map_err(|e| rename_file(e, &file))?;
        }
        let hw = HwConfig::from_table(&file, &t).map_err(|e| {
            let desc: Vec<String> = values
                .iter()
                .map(|(k, v)| format!("{k} = {}", value_label(v)))
                .collect();
            match e {
                Error::Input { file, key, msg } => Error::input(
                    file,
                    format!("sweep.\"{key}\""),
                    format!("{msg} (point {index}: {})", desc.join(", ")),
                ),
                other => other,
            }
        })?;
        Ok(SweepPoint { index, values, hw })
    }

    /// Indices of the points of `shard` in increasing order, lazily.
    pub fn shard_indices(&self, shard: super::Shard) -> impl Iterator<Item = usize> + use<> {
        (shard.index..self.point_count).step_by(shard.count)
    }

    /// Number of points of `shard`.
    pub fn shard_point_count(&self, shard: super::Shard) -> usize {
        if shard.index >= self.point_count {
            0
        } else {
            (self.point_count - shard.index).div_ceil(shard.count)
        }
    }

    /// Refuses a spec of more than `max` points, with the flag that raises the limit.
    pub fn check_max_points(&self, max: usize) -> Result<()> {
        if self.point_count > max {
            let sizes: Vec<String> = self
                .keys
                .iter()
                .map(|k| format!("{} ({})", k.key, k.values.len()))
                .collect();
            let how = match self.combine {
                Combine::Product => "the product of the list lengths",
                Combine::Zip => "the common list length",
            };
            let n = if self.point_count == usize::MAX {
                "more than 2^64".to_string()
            } else {
                self.point_count.to_string()
            };
            return Err(Error::input(
                self.file.display().to_string(),
                "sweep",
                format!(
                    "{n} points ({how} of {}) exceed --max-points {max}; \
                     pass --max-points {n} or more to run them all, or shard the sweep",
                    sizes.join(", ")
                ),
            ));
        }
        Ok(())
    }

    /// Swept key names in column order.
    pub fn key_names(&self) -> Vec<String> {
        self.keys.iter().map(|k| k.key.clone()).collect()
    }
}

fn rename_file(e: Error, file: &str) -> Error {
    match e {
        Error::Input { key, msg, .. } => Error::input(file, format!("sweep.\"{key}\""), msg),
        other => other,
    }
}

/// Number of points of `keys` combined by `combine` (saturating at `usize::MAX`).
fn count(keys: &[SweptKey], combine: Combine) -> usize {
    match combine {
        Combine::Zip => keys.iter().map(|k| k.values.len()).min().unwrap_or(0),
        Combine::Product if keys.is_empty() => 0,
        Combine::Product => keys
            .iter()
            .fold(1usize, |n, k| n.saturating_mul(k.values.len())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes a spec into a temp dir next to a dummy workload file; the base is the
    /// shipped paper hardware (absolute path).
    fn spec_with(body: &str) -> (tempfile::TempDir, PathBuf, Result<SweepSpec>) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("w.toml"), "# dummy\n").unwrap();
        let base = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/hw_configs/edge_llm_paper.toml"
        );
        let text = format!("base = \"{base}\"\nworkloads = [\"w.toml\"]\n{body}");
        let path = dir.path().join("s.toml");
        std::fs::write(&path, &text).unwrap();
        let r = SweepSpec::from_file(&path);
        (dir, path, r)
    }

    #[test]
    fn product_and_zip_expand_to_the_right_counts() {
        let (_d, _p, s) = spec_with(
            "[sweep]\n\"sram.capacity_kib\" = [256, 512, 1024, 2048, 4096]\n\"dram.data_rate_mtps\" = [1600, 3200, 4266]\n",
        );
        let s = s.unwrap();
        assert_eq!(s.point_count, 15);
        assert_eq!(s.combine, Combine::Product);
        // Alphabetical key order, last key fastest: dram outer, sram inner.
        assert_eq!(
            s.key_names(),
            vec!["dram.data_rate_mtps", "sram.capacity_kib"]
        );
        assert_eq!(s.point(1).unwrap().hw.sram.capacity_kib, 512.0);
        assert_eq!(s.point(1).unwrap().hw.dram.data_rate_mtps, 1600.0);
        assert_eq!(s.point(5).unwrap().hw.dram.data_rate_mtps, 3200.0);
        assert_eq!(s.point(14).unwrap().index, 14);
        // Unswept keys keep the base value.
        assert!((0..15).all(|i| s.point(i).unwrap().hw.compute.pe_rows == 32));

        let (_d, _p, s) = spec_with(
            "combine = \"zip\"\n[sweep]\n\"compute.pe_rows\" = [16, 32, 64]\n\"compute.pe_cols\" = [16, 32, 64]\n",
        );
        let s = s.unwrap();
        assert_eq!(s.point_count, 3);
        assert!((0..3).all(|i| {
            let p = s.point(i).unwrap();
            p.hw.compute.pe_rows == p.hw.compute.pe_cols
        }));
        assert_eq!(s.point(2).unwrap().hw.compute.pes(), 64 * 64);

        // A string-valued key sweeps too.
        let (_d, _p, s) = spec_with(
            "[sweep]\n\"compute.precision_scaling\" = [\"bit-flexible\", \"fixed\"]\n\"sram.capacity_kib\" = [512, 1024]\n",
        );
        assert_eq!(s.unwrap().point_count, 4);
    }

    #[test]
    fn unknown_key_names_file_and_key() {
        let (_d, p, s) = spec_with("[sweep]\n\"sram.capacit_kib\" = [256]\n");
        let e = s.unwrap_err().to_string();
        assert!(e.starts_with(&p.display().to_string()), "{e}");
        assert!(
            e.contains("sram.capacit_kib") && e.contains("unknown key"),
            "{e}"
        );
        assert!(e.contains("capacity_kib"), "lists the known keys: {e}");
    }

    #[test]
    fn out_of_range_value_names_file_key_range_and_point() {
        let (_d, p, s) =
            spec_with("[sweep]\n\"sram.capacity_kib\" = [256, 0]\n\"dram.channels\" = [4]\n");
        let e = s.unwrap_err().to_string();
        assert!(e.starts_with(&p.display().to_string()), "{e}");
        assert!(e.contains("sram.capacity_kib"), "{e}");
        assert!(e.contains("allowed [1, 1000000000]"), "{e}");
        assert!(e.contains("point 1"), "{e}");
        // A wrong type is caught by the hardware reader as well.
        let (_d, _p, s) = spec_with("[sweep]\n\"compute.pe_rows\" = [\"many\"]\n");
        let e = s.unwrap_err().to_string();
        assert!(
            e.contains("compute.pe_rows") && e.contains("[1, 65536]"),
            "{e}"
        );
    }

    #[test]
    fn zip_length_mismatch_is_an_error() {
        let (_d, p, s) = spec_with(
            "combine = \"zip\"\n[sweep]\n\"compute.pe_rows\" = [16, 32]\n\"compute.pe_cols\" = [16, 32, 64]\n",
        );
        let e = s.unwrap_err().to_string();
        assert!(e.starts_with(&p.display().to_string()), "{e}");
        assert!(e.contains("equal-length") && e.contains("3 values"), "{e}");
    }

    #[test]
    fn missing_base_and_workload_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.toml");
        let text = "base = \"nope.toml\"\nworkloads = [\"w.toml\"]\n[sweep]\n\"sram.capacity_kib\" = [1]\n";
        let e = SweepSpec::from_toml_str(&path, text)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("s.toml: base:") && e.contains("nope.toml"),
            "{e}"
        );

        let base = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/hw_configs/edge_llm_paper.toml"
        );
        let text = format!(
            "base = \"{base}\"\nworkloads = [\"gone.toml\"]\n[sweep]\n\"sram.capacity_kib\" = [1]\n"
        );
        let e = SweepSpec::from_toml_str(&path, &text)
            .unwrap_err()
            .to_string();
        assert!(e.contains("workloads[0]") && e.contains("gone.toml"), "{e}");
    }

    #[test]
    fn other_spec_errors() {
        let (_d, _p, s) = spec_with("combine = \"cross\"\n[sweep]\n\"sram.capacity_kib\" = [1]\n");
        assert!(s.unwrap_err().to_string().contains("product, zip"));
        let (_d, _p, s) = spec_with("[sweep]\n\"sram.capacity_kib\" = []\n");
        assert!(s.unwrap_err().to_string().contains("empty value list"));
        let (_d, _p, s) = spec_with("[sweep]\nsram.capacity_kib = [1]\n");
        assert!(s.unwrap_err().to_string().contains("quote dotted keys"));
        let (_d, _p, s) = spec_with("extra = 1\n[sweep]\n\"sram.capacity_kib\" = [1]\n");
        assert!(s.unwrap_err().to_string().contains("extra: unknown key"));
    }

    /// The expansion of the old eager code, written out as nested loops: cartesian
    /// product with the last key fastest.
    fn naive_product(lists: &[Vec<i64>]) -> Vec<Vec<i64>> {
        let mut out = vec![Vec::new()];
        for l in lists {
            let mut next = Vec::new();
            for prefix in &out {
                for v in l {
                    let mut p = prefix.clone();
                    p.push(*v);
                    next.push(p);
                }
            }
            out = next;
        }
        out
    }

    #[test]
    fn lazy_points_equal_the_nested_loop_expansion() {
        let (_d, _p, s) = spec_with(
            "[sweep]\n\"sram.capacity_kib\" = [256, 512]\n\"dram.data_rate_mtps\" = [1600, 3200, 4266]\n\"compute.pe_rows\" = [8, 16, 32, 64]\n",
        );
        let s = s.unwrap();
        // Alphabetical: compute.pe_rows, dram.data_rate_mtps, sram.capacity_kib.
        let expected =
            naive_product(&[vec![8, 16, 32, 64], vec![1600, 3200, 4266], vec![256, 512]]);
        assert_eq!(s.point_count, expected.len());
        for (i, e) in expected.iter().enumerate() {
            let got: Vec<i64> = s
                .assignment(i)
                .iter()
                .map(|(_, v)| v.as_integer().unwrap())
                .collect();
            assert_eq!(&got, e, "point {i}");
        }
        // Shards partition the points, in increasing order.
        let shard = crate::dse::Shard { index: 2, count: 5 };
        let idx: Vec<usize> = s.shard_indices(shard).collect();
        assert_eq!(idx, vec![2, 7, 12, 17, 22]);
        assert_eq!(s.shard_point_count(shard), 5);
        let total: usize = (0..5)
            .map(|i| s.shard_point_count(crate::dse::Shard { index: i, count: 5 }))
            .sum();
        assert_eq!(total, 24);
        assert_eq!(
            s.shard_point_count(crate::dse::Shard {
                index: 30,
                count: 31
            }),
            0
        );
    }

    #[test]
    fn a_million_point_spec_loads_in_bounded_work_and_is_refused_above_the_limit() {
        // 1024 x 1024 = 2^20 points; loading validates each value once (2048 points).
        let list = |from: usize| {
            (from..from + 1024)
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (_d, p, s) = spec_with(&format!(
            "[sweep]\n\"sram.capacity_kib\" = [{}]\n\"dram.data_rate_mtps\" = [{}]\n",
            list(1),
            list(1000)
        ));
        let s = s.unwrap();
        assert_eq!(s.point_count, 1 << 20);
        let last = s.point((1 << 20) - 1).unwrap();
        assert_eq!(last.hw.sram.capacity_kib, 1024.0);
        assert_eq!(last.hw.dram.data_rate_mtps, 2023.0);
        let e = s.check_max_points(1_000_000).unwrap_err().to_string();
        assert!(e.starts_with(&p.display().to_string()), "{e}");
        assert!(
            e.contains("1048576 points") && e.contains("--max-points 1048576"),
            "{e}"
        );
        assert!(s.check_max_points(1 << 20).is_ok());
        // Lists whose product overflows are counted as "more than 2^64", not wrapped.
        let keys: Vec<SweptKey> = (0..8)
            .map(|i| SweptKey {
                key: format!("k{i}"),
                values: vec![toml::Value::Integer(1); 1 << 10],
            })
            .collect();
        assert_eq!(count(&keys, Combine::Product), usize::MAX);
    }

    #[test]
    fn a_point_invalid_only_in_combination_is_reported_when_reached() {
        // 36 bits splits into 4 channels but not 8: every value is valid on its first
        // point, the combination (36, 8) of point 3 is not.
        let (_d, p, s) =
            spec_with("[sweep]\n\"dram.bus_width_bits\" = [64, 36]\n\"dram.channels\" = [4, 8]\n");
        let s = s.unwrap();
        for i in 0..3 {
            assert!(s.point(i).is_ok(), "point {i}");
        }
        let e = s.point(3).unwrap_err().to_string();
        assert!(e.starts_with(&p.display().to_string()), "{e}");
        assert!(
            e.contains("channels") && e.contains("must divide") && e.contains("point 3"),
            "{e}"
        );
    }
}
