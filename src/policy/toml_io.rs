//! The policy TOML file (written by `edgesim luc policy`, referenced by a workload with
//! `policy = "policy.toml"`):
//!
//! ```toml
//! provenance = "luc: ..."          # free text
//! layers = 4                       # decoder layers; every list below has this length
//! w_bits = [5, 5, 6, 5]            # integers in [1, 32]
//! a_bits = [5, 5, 6, 5]
//! kv_bits = [5, 5, 6, 5]
//! sparsity = [0.55, 0.5, 0.0, 0.45]   # each in [0, 0.99]
//! ```
//! `a_bits` and `kv_bits` default to `w_bits` when absent (one bit-width per layer, as in
//! the reference quantiser).

use super::{LayerPolicy, MAX_SPARSITY, Policy};
use crate::error::Result;
use crate::toml_util::{self, Section};
use std::path::Path;

impl Policy {
    /// Serialises to the policy TOML format (round-trips through [`Policy::from_toml_str`]).
    pub fn to_toml_string(&self) -> String {
        let list = |f: &dyn Fn(&LayerPolicy) -> String| {
            self.layers.iter().map(f).collect::<Vec<_>>().join(", ")
        };
        format!(
            "# edgesim compression policy: one entry per decoder layer (index = layer).\n\
             provenance = {}\n\
             layers = {}\n\
             w_bits = [{}]\n\
             a_bits = [{}]\n\
             kv_bits = [{}]\n\
             sparsity = [{}]\n",
            toml::Value::String(self.provenance.clone()),
            self.layers.len(),
            list(&|l| l.w_bits.to_string()),
            list(&|l| l.a_bits.to_string()),
            list(&|l| l.kv_bits.to_string()),
            list(&|l| format!("{:?}", l.sparsity)),
        )
    }

    /// Reads a policy file.
    pub fn from_file(path: &Path) -> Result<Policy> {
        let text = crate::io_util::read_to_string(path)?;
        Policy::from_toml_str(&path.display().to_string(), &text)
    }

    /// Parses policy TOML text; `file` names it in errors.
    pub fn from_toml_str(file: &str, text: &str) -> Result<Policy> {
        let table = toml_util::parse(file, text)?;
        let root = Section::root(file, &table);
        let policy = Policy::from_section(&root)?;
        root.deny_unknown()?;
        Ok(policy)
    }

    /// Reads the policy keys (`provenance`, `layers`, `w_bits`, `a_bits`, `kv_bits`,
    /// `sparsity`) from a table; the caller checks for unknown keys.
    pub fn from_section(s: &Section) -> Result<Policy> {
        let provenance = s.opt_str("provenance")?.unwrap_or("explicit").to_string();
        let layers = s.u64_in("layers", 1, 4096)? as usize;
        let w = bits_list(s, "w_bits", layers)?
            .ok_or_else(|| s.err("w_bits", "missing; expected a list of integers in [1, 32]"))?;
        let a = bits_list(s, "a_bits", layers)?.unwrap_or_else(|| w.clone());
        let kv = bits_list(s, "kv_bits", layers)?.unwrap_or_else(|| w.clone());
        let p = s
            .opt_f64_list("sparsity", 0.0, MAX_SPARSITY)?
            .ok_or_else(|| {
                s.err(
                    "sparsity",
                    "missing; expected a list of numbers in [0, 0.99]",
                )
            })?;
        check_len(s, "sparsity", p.len(), layers)?;
        Ok(Policy {
            layers: (0..layers)
                .map(|j| LayerPolicy {
                    w_bits: w[j],
                    a_bits: a[j],
                    kv_bits: kv[j],
                    sparsity: p[j],
                })
                .collect(),
            provenance,
        })
    }
}

fn check_len(s: &Section, key: &str, got: usize, layers: usize) -> Result<()> {
    if got != layers {
        return Err(s.err(
            key,
            format!("has {got} entries; expected one per layer ({layers})"),
        ));
    }
    Ok(())
}

fn bits_list(s: &Section, key: &str, layers: usize) -> Result<Option<Vec<u32>>> {
    let Some(v) = s.opt_f64_list(key, 1.0, 32.0)? else {
        return Ok(None);
    };
    check_len(s, key, v.len(), layers)?;
    v.iter()
        .enumerate()
        .map(|(i, &x)| {
            if x.fract() == 0.0 {
                Ok(x as u32)
            } else {
                Err(s.err(
                    &format!("{key}[{i}]"),
                    format!("{x} is not an integer in [1, 32]"),
                ))
            }
        })
        .collect::<Result<Vec<u32>>>()
        .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let mut p = Policy::uniform(3, 4, 0.5);
        p.layers[1].w_bits = 5;
        p.layers[2].sparsity = 0.123456789012345;
        p.provenance = "test \"quoted\"".into();
        let back = Policy::from_toml_str("p.toml", &p.to_toml_string()).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn bad_policies_are_rejected_with_key_and_range() {
        let e = |t: &str| Policy::from_toml_str("p.toml", t).unwrap_err().to_string();
        let s = e("layers = 2\nw_bits = [4, 4.5]\nsparsity = [0, 0]\n");
        assert!(
            s.contains("p.toml: w_bits[1]") && s.contains("[1, 32]"),
            "{s}"
        );
        let s = e("layers = 2\nw_bits = [4]\nsparsity = [0, 0]\n");
        assert!(
            s.contains("w_bits") && s.contains("expected one per layer (2)"),
            "{s}"
        );
        let s = e("layers = 2\nw_bits = [4, 4]\nsparsity = [0, 1.0]\n");
        assert!(s.contains("sparsity[1]") && s.contains("[0, 0.99]"), "{s}");
        let s = e("layers = 2\nw_bits = [4, 4]\n");
        assert!(s.contains("sparsity: missing"), "{s}");
        let s = e("layers = 2\nw_bits = [4, 4]\nsparsity = [0, 0]\nsparsty = 1\n");
        assert!(s.contains("sparsty: unknown key"), "{s}");
        let s = e("w_bits = [4, 4]\nsparsity = [0, 0]\n");
        assert!(s.contains("layers: missing"), "{s}");
    }
}
