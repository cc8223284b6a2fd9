//! Where workloads and the files they reference come from.
//!
//! - A workload named on the command line or in a sweep spec ([`resolve_workload`],
//!   [`locate_workload`]): a path if that file exists, else the name of a workload
//!   embedded in the binary, else an error listing the embedded names and the `.toml`
//!   files of `workloads/` (one rule for `run`, `sim`, `trace`, `sweep` and sweep specs).
//! - The files a workload references (policy TOML, sensitivity CSVs, `config.json`): the
//!   directory of the workload file, or, for the embedded workloads, the embedded copies of
//!   the repository files (so `edgesim run` works from any directory).

use crate::error::{Error, Result};
use crate::toml_util::Section;
use std::path::{Component, Path, PathBuf};

/// Repository files compiled into the binary: the Table 1 workloads and the data they use.
const EMBEDDED: &[(&str, &str)] = &[
    (
        "workloads/llama7b_lora.toml",
        include_str!("../../workloads/llama7b_lora.toml"),
    ),
    (
        "workloads/llama7b_edge_llm_b5.toml",
        include_str!("../../workloads/llama7b_edge_llm_b5.toml"),
    ),
    (
        "workloads/llama7b_edge_llm_b4.toml",
        include_str!("../../workloads/llama7b_edge_llm_b4.toml"),
    ),
    (
        "workloads/llama7b_edge_llm_b3.toml",
        include_str!("../../workloads/llama7b_edge_llm_b3.toml"),
    ),
    (
        "workloads/llama7b_partial_b5.toml",
        include_str!("../../workloads/llama7b_partial_b5.toml"),
    ),
    (
        "workloads/llama7b_partial_b4.toml",
        include_str!("../../workloads/llama7b_partial_b4.toml"),
    ),
    (
        "workloads/llama7b_partial_b3.toml",
        include_str!("../../workloads/llama7b_partial_b3.toml"),
    ),
    (
        "workloads/llama7b_lst.toml",
        include_str!("../../workloads/llama7b_lst.toml"),
    ),
    (
        "data/llama7b_layerwise_pruning_mse.csv",
        include_str!("../../data/llama7b_layerwise_pruning_mse.csv"),
    ),
];

/// The text of an embedded workload by name (`llama7b_lora` or `llama7b_lora.toml`).
/// Available: the eight Table 1 workloads `llama7b_lora`, `llama7b_edge_llm_b{5,4,3}`,
/// `llama7b_partial_b{5,4,3}`, `llama7b_lst`.
pub fn embedded_default(name: &str) -> Option<&'static str> {
    let name = name.strip_suffix(".toml").unwrap_or(name);
    embedded_file(&format!("workloads/{name}.toml"))
}

/// Names of the embedded workloads.
pub fn embedded_names() -> Vec<&'static str> {
    EMBEDDED
        .iter()
        .filter_map(|(p, _)| p.strip_prefix("workloads/")?.strip_suffix(".toml"))
        .collect()
}

/// Where a workload name leads ([`locate_workload`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkloadRef {
    /// An existing file.
    File(PathBuf),
    /// An embedded workload, by name (without `.toml`).
    Embedded(String),
}

/// Resolves a workload name: `name` as a path (against `base` when relative and `base`
/// is given, e.g. a sweep spec's directory) if that file exists, else an embedded
/// workload of that name (`llama7b_lora` or `llama7b_lora.toml`).
///
/// Errors ([`Error::Input`], key `workload`): neither; the message lists the embedded
/// names and the `.toml` files of `workloads/` (under `base`, else the current
/// directory), with the closest of them when one is near (edit distance).
pub fn locate_workload(base: Option<&Path>, name: &str) -> Result<WorkloadRef> {
    let as_path = match base {
        Some(dir) if Path::new(name).is_relative() => dir.join(name),
        _ => PathBuf::from(name),
    };
    if as_path.exists() {
        return Ok(WorkloadRef::File(as_path));
    }
    if embedded_default(name).is_some() {
        let stem = name.strip_suffix(".toml").unwrap_or(name);
        return Ok(WorkloadRef::Embedded(stem.to_string()));
    }
    let dir = base.unwrap_or(Path::new("")).join("workloads");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
                .map(|p| p.display().to_string())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let embedded = embedded_names();
    let mut candidates: Vec<&str> = embedded.clone();
    candidates.extend(files.iter().map(String::as_str));
    let hint = crate::toml_util::closest(name, &candidates)
        .map(|c| format!("did you mean `{c}`? "))
        .unwrap_or_default();
    let listed = if files.is_empty() {
        format!("no .toml files in {}", dir.display())
    } else {
        format!("files in {}: {}", dir.display(), files.join(", "))
    };
    Err(Error::input(
        name,
        "workload",
        format!(
            "no such file {}, and not an embedded workload; {hint}embedded: {}; {listed}",
            as_path.display(),
            embedded.join(", "),
        ),
    ))
}

/// Reads the workload `name` resolves to ([`locate_workload`] against the current
/// directory): the file, or the embedded workload.
pub fn resolve_workload(name: &Path) -> Result<super::Workload> {
    let text = name.to_string_lossy();
    match locate_workload(None, &text)? {
        WorkloadRef::File(p) => super::Workload::from_file(&p),
        WorkloadRef::Embedded(n) => super::Workload::embedded(&n),
    }
}

fn embedded_file(path: &str) -> Option<&'static str> {
    EMBEDDED.iter().find(|(p, _)| *p == path).map(|(_, t)| *t)
}

/// Base against which relative paths in a workload resolve.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// A directory on disk (the workload file's directory).
    Dir(PathBuf),
    /// The embedded repository copy; the workload lives in `workloads/`.
    Embedded,
}

impl Source {
    /// The base for a workload read from `file`.
    pub fn for_file(file: &str) -> Source {
        Source::Dir(
            Path::new(file)
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default(),
        )
    }

    /// Reads `rel` (relative to the base, or absolute); returns (name for messages, text).
    pub fn read(&self, rel: &str) -> Result<(String, String)> {
        match self {
            Source::Dir(dir) => {
                let p = if Path::new(rel).is_absolute() {
                    PathBuf::from(rel)
                } else {
                    dir.join(rel)
                };
                Ok((p.display().to_string(), crate::io_util::read_to_string(&p)?))
            }
            Source::Embedded => {
                if Path::new(rel).is_absolute() {
                    let p = PathBuf::from(rel);
                    return Ok((rel.to_string(), crate::io_util::read_to_string(&p)?));
                }
                let key = normalise(&Path::new("workloads").join(rel));
                embedded_file(&key)
                    .map(|t| (format!("<embedded>/{key}"), t.to_string()))
                    .ok_or_else(|| {
                        Error::input(
                            format!("<embedded>/{key}"),
                            "path",
                            "not among the embedded files",
                        )
                    })
            }
        }
    }
}

impl Source {
    /// Reads the file that key `key` of `s` names (`rel`, as written there); a failure
    /// names the workload file and key that referenced the file, then the reason.
    pub fn read_key(&self, s: &Section, key: &str, rel: &str) -> Result<(String, String)> {
        self.read(rel).map_err(|e| {
            let why = match e {
                Error::Input { file, key, msg } => format!("{file}: {key}: {msg}"),
                other => other.to_string(),
            };
            s.err(
                key,
                format!("cannot read the file it names, {rel:?}: {why}"),
            )
        })
    }
}

/// Lexically resolves `.` and `..` into a `/`-separated relative path.
fn normalise(p: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                parts.pop();
            }
            Component::Normal(s) => parts.push(s.to_string_lossy().to_string()),
            _ => {}
        }
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_lookup_and_normalisation() {
        assert!(embedded_default("llama7b_lora").is_some());
        assert!(embedded_default("llama7b_edge_llm_b5.toml").is_some());
        assert!(embedded_default("nope").is_none());
        assert_eq!(embedded_names().len(), 8);
        let (name, text) = Source::Embedded
            .read("../data/llama7b_layerwise_pruning_mse.csv")
            .unwrap();
        assert!(name.ends_with("data/llama7b_layerwise_pruning_mse.csv"));
        assert!(text.starts_with("layer,sparsity,sample,mse"));
        assert!(Source::Embedded.read("../data/missing.csv").is_err());
    }
}
