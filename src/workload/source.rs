//! Where a workload's referenced files (policy TOML, sensitivity CSVs) come from: the
//! directory of the workload file, or, for the workloads embedded in the binary, the
//! embedded copies of the repository files (so `edgesim run` works from any directory).

use crate::error::{Error, Result};
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
