//! The fingerprint of a sweep run: everything that decides the rows of its table (the
//! spec text, the base hardware, the workloads' traces, the search options, the engine,
//! the shard and the edgesim version), written beside a table (`sweep.shard.toml`) and
//! into the resume state of an unfinished run (`.sweep.partial/manifest.toml`).
//!
//! Two runs with equal fingerprints write byte-identical tables, so a finished one can
//! be skipped and an unfinished one resumed; `merge` refuses shards whose fingerprints
//! differ (apart from the shard itself). File contents enter as SHA-256 digests (hex),
//! options as the values the search uses (the default mode and `--mode shared-bus` are
//! one fingerprint), so a message can name the option that differs.

use super::sweep::NamedTrace;
use crate::error::{Error, Result};
use crate::search::SearchOptions;
use crate::toml_util::Section;
use sha2::{Digest, Sha256};

/// The build of this binary as the fingerprint names it: `0.1.0 (commit 66c7416bb52f)`.
pub fn build_id() -> String {
    format!(
        "{} (commit {})",
        env!("CARGO_PKG_VERSION"),
        env!("EDGESIM_GIT_COMMIT")
    )
}

/// The fingerprint of one sweep run (see the module documentation). Every field is text,
/// compared exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// The edgesim build that computed the rows: `CARGO_PKG_VERSION` and the commit
    /// `--version` prints (`build.rs`), so a binary rebuilt after a model change does not
    /// resume or merge rows of the old one.
    pub edgesim: String,
    /// SHA-256 (hex) of the sweep spec's text.
    pub spec: String,
    /// SHA-256 (hex) of the base hardware file's text.
    pub base: String,
    /// SHA-256 (hex) over the workloads' labels and Trace JSON, in spec order (a workload
    /// file, a policy it reads or an embedded workload that changed shows here).
    pub workloads: String,
    /// Cost-model mode of the search (`shared-bus`, `paper`, `chained`).
    pub mode: String,
    /// Time slack of the search, as a fraction of the fastest time.
    pub time_slack: String,
    /// Memory budget of the search in bytes, `none` without one.
    pub max_memory_bytes: String,
    /// SSD write budget per optimizer step in bytes, `none` without one.
    pub ssd_write_budget_bytes: String,
    /// `search`, or the given schedule's line and a digest of all its fields.
    pub schedule: String,
    /// `analytic` or `cycle`.
    pub engine: String,
    /// The shard, `i/n` (`0/1` for the whole sweep).
    pub shard: String,
}

/// The field names, in file order.
pub const FIELDS: [&str; 11] = [
    "edgesim",
    "spec",
    "base",
    "workloads",
    "mode",
    "time_slack",
    "max_memory_bytes",
    "ssd_write_budget_bytes",
    "schedule",
    "engine",
    "shard",
];

/// SHA-256 of `bytes` as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn opt_number(x: Option<f64>) -> String {
    x.map_or_else(|| "none".to_string(), |v| v.to_string())
}

impl Fingerprint {
    /// The fingerprint of running `spec_text` (the spec file's bytes as read), over the base
    /// hardware text `base_text` and `workloads`, with the search options `opts` on
    /// `engine` for `shard`.
    pub fn new(
        spec_text: &str,
        base_text: &str,
        workloads: &[NamedTrace],
        opts: &SearchOptions,
        engine: &str,
        shard: super::Shard,
    ) -> Fingerprint {
        let mut h = Sha256::new();
        for w in workloads {
            // Lengths first, so that no two lists hash alike by moving a boundary.
            let json = w.trace.to_json_string();
            h.update((w.name.len() as u64).to_le_bytes());
            h.update(w.name.as_bytes());
            h.update((json.len() as u64).to_le_bytes());
            h.update(json.as_bytes());
        }
        let workloads: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        Fingerprint {
            edgesim: build_id(),
            spec: sha256_hex(spec_text.as_bytes()),
            base: sha256_hex(base_text.as_bytes()),
            workloads,
            mode: opts.mode.to_string(),
            time_slack: opts.time_slack.to_string(),
            max_memory_bytes: opt_number(opts.max_memory_bytes),
            ssd_write_budget_bytes: opt_number(opts.ssd_write_budget_bytes),
            schedule: match &opts.schedule {
                None => "search".to_string(),
                // The line rounds the SSD fractions; the digest of every field does not.
                Some(s) => format!("{s} ({})", &sha256_hex(format!("{s:?}").as_bytes())[..16]),
            },
            engine: engine.to_string(),
            shard: format!("{}/{}", shard.index, shard.count),
        }
    }

    /// The values in [`FIELDS`] order.
    pub fn values(&self) -> [&str; 11] {
        [
            &self.edgesim,
            &self.spec,
            &self.base,
            &self.workloads,
            &self.mode,
            &self.time_slack,
            &self.max_memory_bytes,
            &self.ssd_write_budget_bytes,
            &self.schedule,
            &self.engine,
            &self.shard,
        ]
    }

    /// The fields whose values differ, as `(field, self's value, other's value)`, in
    /// [`FIELDS`] order; `shard` is left out with `ignore_shard` (shards of one sweep).
    pub fn differences(
        &self,
        other: &Fingerprint,
        ignore_shard: bool,
    ) -> Vec<(&'static str, String, String)> {
        FIELDS
            .iter()
            .zip(self.values().iter().zip(other.values()))
            .filter(|(f, (a, b))| *a != b && !(ignore_shard && **f == "shard"))
            .map(|(f, (a, b))| (*f, a.to_string(), b.to_string()))
            .collect()
    }

    /// The fingerprint with another shard (a merged table is shard `0/1`).
    pub fn with_shard(mut self, shard: super::Shard) -> Fingerprint {
        self.shard = format!("{}/{}", shard.index, shard.count);
        self
    }

    /// The `[fingerprint]` table as TOML text (header line included), values quoted.
    pub fn to_toml_table(&self) -> String {
        let mut s = String::from("[fingerprint]\n");
        for (f, v) in FIELDS.iter().zip(self.values()) {
            s.push_str(&format!("{f} = {}\n", toml::Value::String(v.to_string())));
        }
        s
    }

    /// Reads a `[fingerprint]` section: every field a string, no other key.
    ///
    /// Errors: a field missing, not a string, or an unknown key, naming the file and
    /// `fingerprint.<field>`.
    pub fn from_section(sec: &Section) -> Result<Fingerprint> {
        let get = |k: &str| sec.str(k).map(str::to_string);
        let f = Fingerprint {
            edgesim: get("edgesim")?,
            spec: get("spec")?,
            base: get("base")?,
            workloads: get("workloads")?,
            mode: get("mode")?,
            time_slack: get("time_slack")?,
            max_memory_bytes: get("max_memory_bytes")?,
            ssd_write_budget_bytes: get("ssd_write_budget_bytes")?,
            schedule: get("schedule")?,
            engine: get("engine")?,
            shard: get("shard")?,
        };
        sec.deny_unknown()?;
        Ok(f)
    }
}

/// The error for a fingerprint `found` in `file` that differs from the run's `wanted`:
/// names the first differing field with both values, and lists the others.
pub fn mismatch_error(
    file: &str,
    found: &Fingerprint,
    wanted: &Fingerprint,
    what: &str,
    remedy: &str,
) -> Error {
    let diffs = wanted.differences(found, false);
    let Some((field, now, then)) = diffs.first() else {
        return Error::input(file, "fingerprint", format!("{what}; {remedy}"));
    };
    let others: Vec<&str> = diffs[1..].iter().map(|d| d.0).collect();
    Error::input(
        file,
        format!("fingerprint.{field}"),
        format!(
            "{what}: `{then}` there, `{now}` in this run{}; {remedy}",
            if others.is_empty() {
                String::new()
            } else {
                format!(" (also differ: {})", others.join(", "))
            }
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dse::Shard;

    fn trace(name: &str, seq: u64) -> NamedTrace {
        NamedTrace {
            name: name.into(),
            trace: crate::workload::Trace {
                workload: name.into(),
                model: "tiny".into(),
                method: "lora".into(),
                seq_len: seq,
                sequences_per_step: 1,
                micro_batch_size: 1,
                entries: Vec::new(),
                idle_weight_bytes: 0,
            },
        }
    }

    #[test]
    fn sha256_of_abc_is_the_published_vector() {
        // FIPS 180-2, appendix B.1.
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn every_input_that_changes_rows_changes_the_fingerprint_and_round_trips() {
        let o = SearchOptions::default();
        let w = [trace("a", 8)];
        let f = Fingerprint::new("s", "b", &w, &o, "analytic", Shard::ALL);
        assert_eq!(f.mode, "shared-bus");
        assert_eq!(f.schedule, "search");
        assert_eq!(f.max_memory_bytes, "none");
        assert_eq!(f.spec, sha256_hex(b"s"));
        let same = Fingerprint::new("s", "b", &[trace("a", 8)], &o, "analytic", Shard::ALL);
        assert_eq!(f, same);
        let mut paper = o.clone();
        paper.mode = crate::cost::Mode::Paper;
        let mut slack = o.clone();
        slack.time_slack = 0.05;
        let changed = [
            (
                "spec",
                Fingerprint::new("t", "b", &w, &o, "analytic", Shard::ALL),
            ),
            (
                "base",
                Fingerprint::new("s", "c", &w, &o, "analytic", Shard::ALL),
            ),
            (
                "workloads",
                Fingerprint::new("s", "b", &[trace("a", 16)], &o, "analytic", Shard::ALL),
            ),
            (
                "mode",
                Fingerprint::new("s", "b", &w, &paper, "analytic", Shard::ALL),
            ),
            (
                "time_slack",
                Fingerprint::new("s", "b", &w, &slack, "analytic", Shard::ALL),
            ),
            (
                "engine",
                Fingerprint::new("s", "b", &w, &o, "cycle", Shard::ALL),
            ),
            (
                "shard",
                Fingerprint::new("s", "b", &w, &o, "analytic", Shard { index: 1, count: 2 }),
            ),
        ];
        for (field, g) in &changed {
            let d = f.differences(g, false);
            assert_eq!(d.len(), 1, "{field}: {d:?}");
            assert_eq!(d[0].0, *field);
        }
        assert!(f.differences(&changed[6].1, true).is_empty());
        // Round trip through the TOML table.
        let text = changed[4].1.to_toml_table();
        let t = crate::toml_util::parse("f.toml", &text).unwrap();
        let root = Section::root("f.toml", &t);
        let back = Fingerprint::from_section(&root.section("fingerprint").unwrap()).unwrap();
        assert_eq!(back, changed[4].1);
        let e = mismatch_error(
            "m.toml",
            &changed[3].1,
            &f,
            "an unfinished sweep with other inputs",
            "use --force",
        )
        .to_string();
        assert_eq!(
            e,
            "m.toml: fingerprint.mode: an unfinished sweep with other inputs: `paper` there, \
             `shared-bus` in this run; use --force"
        );
    }
}
