//! Sweep specifications (`hw_configs/sweeps/*.toml`): a base hardware file, the workloads
//! to run on every point, and value lists per dotted hardware key, combined as a cartesian
//! product or zipped.
//!
//! Every point's hardware table (the base file's table with that point's overrides) is read
//! by the hardware reader [`HwConfig::from_table`] while the spec is loaded, so a bad key or
//! an out-of-range value is reported (file, key, allowed range) before any work starts.
//! The hardware reader owns every range check; this module only expands the points.

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

/// A parsed and fully validated sweep specification.
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
    /// All points, already validated.
    pub points: Vec<SweepPoint>,
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
                    toml::Value::String(s) => {
                        let p = resolve(dir, s);
                        if p.is_file() {
                            Ok(p)
                        } else {
                            Err(root.err(
                                &format!("workloads[{i}]"),
                                format!("workload file {} does not exist", p.display()),
                            ))
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

        let assignments = expand(&keys, combine);
        let mut points = Vec::with_capacity(assignments.len());
        for (index, values) in assignments.into_iter().enumerate() {
            let mut t = base_table.clone();
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
            points.push(SweepPoint { index, values, hw });
        }
        Ok(SweepSpec {
            file: path.to_path_buf(),
            base,
            workloads,
            combine,
            keys,
            points,
        })
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

/// Expands swept keys into per-point assignments: the cartesian product (last key
/// fastest) or the zip of the lists.
pub fn expand(keys: &[SweptKey], combine: Combine) -> Vec<Vec<(String, toml::Value)>> {
    match combine {
        Combine::Zip => {
            let n = keys.iter().map(|k| k.values.len()).min().unwrap_or(0);
            (0..n)
                .map(|i| {
                    keys.iter()
                        .map(|k| (k.key.clone(), k.values[i].clone()))
                        .collect()
                })
                .collect()
        }
        Combine::Product => {
            let mut out: Vec<Vec<(String, toml::Value)>> = vec![Vec::new()];
            for k in keys {
                let mut next = Vec::with_capacity(out.len() * k.values.len());
                for prefix in &out {
                    for v in &k.values {
                        let mut p = prefix.clone();
                        p.push((k.key.clone(), v.clone()));
                        next.push(p);
                    }
                }
                out = next;
            }
            if keys.is_empty() { Vec::new() } else { out }
        }
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
        assert_eq!(s.points.len(), 15);
        assert_eq!(s.combine, Combine::Product);
        // Alphabetical key order, last key fastest: dram outer, sram inner.
        assert_eq!(
            s.key_names(),
            vec!["dram.data_rate_mtps", "sram.capacity_kib"]
        );
        assert_eq!(s.points[1].hw.sram.capacity_kib, 512.0);
        assert_eq!(s.points[1].hw.dram.data_rate_mtps, 1600.0);
        assert_eq!(s.points[5].hw.dram.data_rate_mtps, 3200.0);
        assert_eq!(s.points[14].index, 14);
        // Unswept keys keep the base value.
        assert!(s.points.iter().all(|p| p.hw.compute.pe_rows == 32));

        let (_d, _p, s) = spec_with(
            "combine = \"zip\"\n[sweep]\n\"compute.pe_rows\" = [16, 32, 64]\n\"compute.pe_cols\" = [16, 32, 64]\n",
        );
        let s = s.unwrap();
        assert_eq!(s.points.len(), 3);
        assert!(
            s.points
                .iter()
                .all(|p| p.hw.compute.pe_rows == p.hw.compute.pe_cols)
        );
        assert_eq!(s.points[2].hw.compute.pes(), 64 * 64);

        // A string-valued key sweeps too.
        let (_d, _p, s) = spec_with(
            "[sweep]\n\"compute.precision_scaling\" = [\"bit-flexible\", \"fixed\"]\n\"sram.capacity_kib\" = [512, 1024]\n",
        );
        assert_eq!(s.unwrap().points.len(), 4);
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
}
