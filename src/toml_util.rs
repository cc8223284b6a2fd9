//! Typed, range-checked reading of TOML tables with errors that name the file and the full
//! key (`dram.data_rate_mtps`), and a check that rejects unknown keys (typos are errors,
//! not silently ignored settings). Shared by the hardware, workload and sweep readers.

use crate::error::{Error, Result};
use std::cell::RefCell;
use std::collections::BTreeSet;

/// Parses TOML text, mapping syntax errors to an input error naming the file. The toml
/// crate's message is kept whole: its first line gives line and column, the next ones
/// quote the line with a caret under the fault.
pub fn parse(file: &str, text: &str) -> Result<toml::Table> {
    text.parse::<toml::Table>()
        .map_err(|e| Error::input(file, "syntax", e.to_string().trim_end()))
}

/// The candidate closest to `word` by Damerau-Levenshtein distance (`strsim`), when it
/// is near enough to be a likely typo: at most 2 edits, or a quarter of the longer
/// word's length; ties go to the first candidate.
pub fn closest<'c>(word: &str, candidates: &[&'c str]) -> Option<&'c str> {
    candidates
        .iter()
        .filter(|c| **c != word)
        .map(|c| (strsim::damerau_levenshtein(word, c), *c))
        .filter(|(d, c)| *d <= 2.max(word.len().max(c.len()) / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// What an edgesim TOML file is, told apart by its tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// Hardware (`[compute]`, `[sram]`, `[dram]`, `[ssd]`).
    Hardware,
    /// Workload (`[model]`, `[batch]`, `[method]`).
    Workload,
    /// Sweep spec (`base`, `workloads`, `[sweep]`).
    SweepSpec,
}

impl FileKind {
    fn noun(self) -> &'static str {
        match self {
            FileKind::Hardware => "a hardware file",
            FileKind::Workload => "a workload file",
            FileKind::SweepSpec => "a sweep spec",
        }
    }

    /// The keys that mark a file of this kind.
    fn marks(self) -> &'static [&'static str] {
        match self {
            FileKind::Hardware => &["compute", "sram", "dram", "ssd"],
            FileKind::Workload => &["batch", "method"],
            FileKind::SweepSpec => &["base", "sweep"],
        }
    }
}

/// Fails when `table` (of `file`) is plainly another kind of edgesim file than
/// `expected`: it has a marking key of another kind and none of `expected`'s (a
/// workload given to `--hw`, a hardware file given as a workload). Error key: `file kind`.
pub fn expect_kind(file: &str, table: &toml::Table, expected: FileKind) -> Result<()> {
    let has = |k: FileKind| -> Vec<&str> {
        k.marks()
            .iter()
            .copied()
            .filter(|m| table.contains_key(*m))
            .collect()
    };
    if !has(expected).is_empty() {
        return Ok(());
    }
    for other in [FileKind::Hardware, FileKind::Workload, FileKind::SweepSpec] {
        let found = has(other);
        if other != expected && !found.is_empty() {
            return Err(Error::input(
                file,
                "file kind",
                format!(
                    "this is {} (it has {}), not {}; {} needs {}",
                    other.noun(),
                    found
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    expected.noun(),
                    match expected {
                        FileKind::Hardware => "--hw",
                        FileKind::Workload => "--workload",
                        FileKind::SweepSpec => "--spec",
                    },
                    match expected {
                        FileKind::Hardware =>
                            "a hardware file such as hw_configs/edge_llm_paper.toml",
                        FileKind::Workload =>
                            "a workload file such as workloads/llama7b_lora.toml or an embedded workload name",
                        FileKind::SweepSpec =>
                            "a sweep spec such as hw_configs/sweeps/sram_vs_dram.toml",
                    }
                ),
            ));
        }
    }
    Ok(())
}

/// A view of one TOML table that remembers which keys were read.
pub struct Section<'a> {
    file: &'a str,
    prefix: String,
    table: &'a toml::Table,
    used: RefCell<BTreeSet<String>>,
}

impl<'a> Section<'a> {
    /// The top-level table of `file`.
    pub fn root(file: &'a str, table: &'a toml::Table) -> Self {
        Section {
            file,
            prefix: String::new(),
            table,
            used: RefCell::new(BTreeSet::new()),
        }
    }

    /// The file this section came from.
    pub fn file(&self) -> &str {
        self.file
    }

    /// Full dotted name of `key` in this section.
    pub fn key_path(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}.{}", self.prefix, key)
        }
    }

    /// An input error on `key` of this section.
    pub fn err(&self, key: &str, msg: impl Into<String>) -> Error {
        Error::input(self.file, self.key_path(key), msg)
    }

    /// The error for a required `key` that is absent (`msg` says what was expected). An
    /// unread key of this table that is a likely typo of `key` (`capacity_kb` for
    /// `capacity_kib`: one edit, or two in a key of 10 or more characters) is reported
    /// instead, as unknown: the typo is the user's mistake, the missing key only its
    /// consequence.
    pub fn missing(&self, key: &str, msg: impl Into<String>) -> Error {
        let unread: Vec<String> = {
            let used = self.used.borrow();
            self.table
                .keys()
                .filter(|k| !used.contains(*k))
                .cloned()
                .collect()
        };
        // Stricter than `closest`: an unread key may still be read later (`a_bits` is
        // read after `bits`), so only a one-edit slip, or two edits in a long key, counts.
        for k in &unread {
            let d = strsim::damerau_levenshtein(k, key);
            if d == 1 || (d == 2 && k.len().max(key.len()) >= 10) {
                return self.err(k, format!("unknown key; did you mean `{key}`?"));
            }
        }
        self.err(key, msg)
    }

    fn get(&self, key: &str) -> Option<&'a toml::Value> {
        self.used.borrow_mut().insert(key.to_string());
        self.table.get(key)
    }

    /// True when the key is present.
    pub fn has(&self, key: &str) -> bool {
        self.table.contains_key(key)
    }

    /// A required sub-table.
    pub fn section(&self, key: &str) -> Result<Section<'a>> {
        self.opt_section(key)?
            .ok_or_else(|| self.missing(key, "missing table"))
    }

    /// An optional sub-table.
    pub fn opt_section(&self, key: &str) -> Result<Option<Section<'a>>> {
        match self.get(key) {
            None => Ok(None),
            Some(toml::Value::Table(t)) => Ok(Some(Section {
                file: self.file,
                prefix: self.key_path(key),
                table: t,
                used: RefCell::new(BTreeSet::new()),
            })),
            Some(_) => Err(self.err(key, "must be a table")),
        }
    }

    /// The raw value of an optional key.
    pub fn raw(&self, key: &str) -> Option<&'a toml::Value> {
        self.get(key)
    }

    /// A required number (integer or float) in `[lo, hi]`.
    pub fn f64_in(&self, key: &str, lo: f64, hi: f64) -> Result<f64> {
        self.opt_f64_in(key, lo, hi)?
            .ok_or_else(|| self.missing(key, format!("missing; expected a number in [{lo}, {hi}]")))
    }

    /// An optional number in `[lo, hi]`.
    pub fn opt_f64_in(&self, key: &str, lo: f64, hi: f64) -> Result<Option<f64>> {
        let v = match self.get(key) {
            None => return Ok(None),
            Some(toml::Value::Float(f)) => *f,
            Some(toml::Value::Integer(i)) => *i as f64,
            Some(other) => {
                return Err(self.err(
                    key,
                    format!(
                        "expected a number in [{lo}, {hi}], got {}",
                        other.type_str()
                    ),
                ));
            }
        };
        if !v.is_finite() || v < lo || v > hi {
            return Err(self.err(
                key,
                format!(
                    "{} is out of range; allowed [{lo}, {hi}]",
                    float_as_written(v)
                ),
            ));
        }
        Ok(Some(v))
    }

    /// A number in `[lo, hi]` with a default when absent.
    pub fn f64_or(&self, key: &str, default: f64, lo: f64, hi: f64) -> Result<f64> {
        Ok(self.opt_f64_in(key, lo, hi)?.unwrap_or(default))
    }

    /// A required integer in `[lo, hi]`.
    pub fn u64_in(&self, key: &str, lo: u64, hi: u64) -> Result<u64> {
        self.opt_u64_in(key, lo, hi)?.ok_or_else(|| {
            self.missing(key, format!("missing; expected an integer in [{lo}, {hi}]"))
        })
    }

    /// An optional integer in `[lo, hi]`. A float is accepted only when it is integral and
    /// in range (`4.0`); `32.5`, `1e308` and `-1e308` are errors quoting the value as
    /// written, never rounded or saturated into range.
    pub fn opt_u64_in(&self, key: &str, lo: u64, hi: u64) -> Result<Option<u64>> {
        let out_of_range = |shown: String| {
            self.err(
                key,
                format!("{shown} is out of range; allowed [{lo}, {hi}]"),
            )
        };
        let v = match self.get(key) {
            None => return Ok(None),
            Some(toml::Value::Integer(i)) => {
                u64::try_from(*i).map_err(|_| out_of_range(i.to_string()))?
            }
            Some(toml::Value::Float(f)) => {
                if !f.is_finite() || f.fract() != 0.0 {
                    return Err(self.err(
                        key,
                        format!(
                            "{} is not an integer; expected an integer in [{lo}, {hi}]",
                            float_as_written(*f)
                        ),
                    ));
                }
                // 2^64 is the first float above u64::MAX; `as` would saturate to it.
                if *f < 0.0 || *f >= 18_446_744_073_709_551_616.0 {
                    return Err(out_of_range(float_as_written(*f)));
                }
                let v = *f as u64;
                if v < lo || v > hi {
                    return Err(out_of_range(float_as_written(*f)));
                }
                v
            }
            Some(other) => {
                return Err(self.err(
                    key,
                    format!(
                        "expected an integer in [{lo}, {hi}], got {} {}",
                        other.type_str(),
                        other
                    ),
                ));
            }
        };
        if v < lo || v > hi {
            return Err(out_of_range(v.to_string()));
        }
        Ok(Some(v))
    }

    /// An integer in `[lo, hi]` with a default when absent.
    pub fn u64_or(&self, key: &str, default: u64, lo: u64, hi: u64) -> Result<u64> {
        Ok(self.opt_u64_in(key, lo, hi)?.unwrap_or(default))
    }

    /// An optional string.
    pub fn opt_str(&self, key: &str) -> Result<Option<&'a str>> {
        match self.get(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s.as_str())),
            Some(other) => {
                Err(self.err(key, format!("expected a string, got {}", other.type_str())))
            }
        }
    }

    /// A required string.
    pub fn str(&self, key: &str) -> Result<&'a str> {
        self.opt_str(key)?
            .ok_or_else(|| self.missing(key, "missing; expected a string"))
    }

    /// An optional name: a string with at least one non-whitespace character (an empty
    /// name would leave blank labels in tables, plots and file names).
    pub fn opt_name(&self, key: &str) -> Result<Option<&'a str>> {
        match self.opt_str(key)? {
            Some(s) if s.trim().is_empty() => {
                Err(self.err(key, format!("{s:?} is blank; expected a non-empty name")))
            }
            other => Ok(other),
        }
    }

    /// A required name (see [`Section::opt_name`]).
    pub fn name(&self, key: &str) -> Result<&'a str> {
        self.opt_name(key)?
            .ok_or_else(|| self.missing(key, "missing; expected a non-empty name"))
    }

    /// An optional string that must be one of `allowed`.
    pub fn opt_choice(&self, key: &str, allowed: &[&str]) -> Result<Option<&'a str>> {
        match self.opt_str(key)? {
            None => Ok(None),
            Some(s) if allowed.contains(&s) => Ok(Some(s)),
            Some(s) => Err(self.err(
                key,
                format!("unknown value \"{s}\"; allowed: {}", allowed.join(", ")),
            )),
        }
    }

    /// A string that must be one of `allowed`, with a default when absent.
    pub fn choice_or(&self, key: &str, default: &'a str, allowed: &[&str]) -> Result<&'a str> {
        Ok(self.opt_choice(key, allowed)?.unwrap_or(default))
    }

    /// An optional boolean.
    pub fn opt_bool(&self, key: &str) -> Result<Option<bool>> {
        match self.get(key) {
            None => Ok(None),
            Some(toml::Value::Boolean(b)) => Ok(Some(*b)),
            Some(other) => Err(self.err(
                key,
                format!("expected true or false, got {}", other.type_str()),
            )),
        }
    }

    /// An optional array of numbers, each in `[lo, hi]`.
    pub fn opt_f64_list(&self, key: &str, lo: f64, hi: f64) -> Result<Option<Vec<f64>>> {
        let arr = match self.get(key) {
            None => return Ok(None),
            Some(toml::Value::Array(a)) => a,
            Some(other) => {
                return Err(self.err(
                    key,
                    format!("expected an array of numbers, got {}", other.type_str()),
                ));
            }
        };
        let mut out = Vec::with_capacity(arr.len());
        for (i, v) in arr.iter().enumerate() {
            let x = match v {
                toml::Value::Float(f) => *f,
                toml::Value::Integer(n) => *n as f64,
                other => {
                    return Err(self.err(
                        &format!("{key}[{i}]"),
                        format!("expected a number, got {}", other.type_str()),
                    ));
                }
            };
            if !x.is_finite() || x < lo || x > hi {
                return Err(self.err(
                    &format!("{key}[{i}]"),
                    format!(
                        "{} is out of range; allowed [{lo}, {hi}]",
                        float_as_written(x)
                    ),
                ));
            }
            out.push(x);
        }
        Ok(Some(out))
    }

    /// Fails on any key of this table that was never read (a typo or an unsupported key).
    pub fn deny_unknown(&self) -> Result<()> {
        let used = self.used.borrow();
        for k in self.table.keys() {
            if !used.contains(k) {
                let known: Vec<&str> = used.iter().map(|s| s.as_str()).collect();
                let hint = closest(k, &known)
                    .map(|c| format!("did you mean `{c}`? "))
                    .unwrap_or_default();
                return Err(self.err(
                    k,
                    format!("unknown key; {hint}known keys here: {}", known.join(", ")),
                ));
            }
        }
        Ok(())
    }
}

/// A TOML float as a person writes it: Rust's shortest round-trip form, in exponent
/// notation beyond 1e16 or below 1e-4 (`1e308`, `32.5`, `4.0`), never the 309-digit
/// expansion of `{}`.
pub fn float_as_written(f: f64) -> String {
    format!("{f:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_and_type_errors_name_file_and_key() {
        let t = parse(
            "hw.toml",
            "[dram]\nchannels = 0\nkind = \"ddr9\"\nx = 1.5\n",
        )
        .unwrap();
        let root = Section::root("hw.toml", &t);
        let d = root.section("dram").unwrap();
        let e = d.u64_in("channels", 1, 16).unwrap_err().to_string();
        assert!(e.starts_with("hw.toml: dram.channels:"), "{e}");
        assert!(e.contains("[1, 16]"));
        let e = d
            .opt_choice("kind", &["lpddr4", "ideal"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("lpddr4, ideal"), "{e}");
        let e = d.u64_in("x", 1, 4).unwrap_err().to_string();
        assert!(e.contains("dram.x"), "{e}");
        let e = d.deny_unknown();
        assert!(e.is_ok(), "all keys were read");
        let e = root.u64_in("missing", 1, 2).unwrap_err().to_string();
        assert!(e.contains("missing"), "{e}");
    }

    #[test]
    fn integer_keys_refuse_floats_that_are_not_integers() {
        let t = parse(
            "hw.toml",
            "seed = 1e308\npe_rows = -1e308\nhalf = 32.5\nfour = 4.0\nneg = -3\nbig = 9e18\n\
             two64 = 18446744073709551616.0\nnan = nan\n",
        )
        .unwrap();
        let root = Section::root("hw.toml", &t);
        let e = root
            .u64_in("seed", 0, u64::MAX >> 1)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            format!(
                "hw.toml: seed: 1e308 is out of range; allowed [0, {}]",
                u64::MAX >> 1
            )
        );
        let e = root.u64_in("pe_rows", 1, 65536).unwrap_err().to_string();
        assert_eq!(
            e,
            "hw.toml: pe_rows: -1e308 is out of range; allowed [1, 65536]"
        );
        let e = root.u64_in("half", 1, 65536).unwrap_err().to_string();
        assert_eq!(
            e,
            "hw.toml: half: 32.5 is not an integer; expected an integer in [1, 65536]"
        );
        assert_eq!(root.u64_in("four", 1, 8).unwrap(), 4);
        let e = root.u64_in("neg", 0, 8).unwrap_err().to_string();
        assert!(e.contains("-3 is out of range"), "{e}");
        // 9e18 is an integer and below 2^63: accepted when the range allows it.
        assert_eq!(
            root.u64_in("big", 0, u64::MAX).unwrap(),
            9_000_000_000_000_000_000
        );
        let e = root.u64_in("two64", 0, u64::MAX).unwrap_err().to_string();
        assert!(e.contains("1.8446744073709552e19 is out of range"), "{e}");
        let e = root.u64_in("nan", 0, 8).unwrap_err().to_string();
        assert!(e.contains("NaN is not an integer"), "{e}");
    }

    #[test]
    fn blank_names_are_refused() {
        let t = parse("w.toml", "a = \"\"\nb = \" \\t\"\nc = \"x\"\n").unwrap();
        let root = Section::root("w.toml", &t);
        let e = root.name("a").unwrap_err().to_string();
        assert_eq!(e, "w.toml: a: \"\" is blank; expected a non-empty name");
        let e = root.opt_name("b").unwrap_err().to_string();
        assert!(e.contains("is blank"), "{e}");
        assert_eq!(root.name("c").unwrap(), "x");
        assert_eq!(root.opt_name("d").unwrap(), None);
        assert!(root.name("d").unwrap_err().to_string().contains("missing"));
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let t = parse("w.toml", "a = 1\nb = 2\n").unwrap();
        let root = Section::root("w.toml", &t);
        root.u64_in("a", 0, 9).unwrap();
        let e = root.deny_unknown().unwrap_err().to_string();
        assert!(e.contains("w.toml: b: unknown key"), "{e}");
    }

    #[test]
    fn a_typo_is_reported_before_the_key_it_leaves_missing() {
        let t = parse("hw.toml", "[sram]\ncapacity_kb = 1024\na_bits = 4\n").unwrap();
        let root = Section::root("hw.toml", &t);
        let s = root.section("sram").unwrap();
        let e = s.f64_in("capacity_kib", 1.0, 1e9).unwrap_err().to_string();
        assert_eq!(
            e,
            "hw.toml: sram.capacity_kb: unknown key; did you mean `capacity_kib`?"
        );
        // `a_bits` is two edits from `bits` in a short key: it may be read later, so the
        // missing key is reported.
        let e = s.u64_in("bits", 2, 16).unwrap_err().to_string();
        assert_eq!(
            e,
            "hw.toml: sram.bits: missing; expected an integer in [2, 16]"
        );
        // The unknown-key check suggests the closest known key.
        let t = parse("w.toml", "rank = 4\nalpah = 8\n").unwrap();
        let root = Section::root("w.toml", &t);
        root.u64_in("rank", 1, 64).unwrap();
        root.opt_f64_in("alpha", 0.0, 1e3).unwrap();
        let e = root.deny_unknown().unwrap_err().to_string();
        assert_eq!(
            e,
            "w.toml: alpah: unknown key; did you mean `alpha`? known keys here: alpha, rank"
        );
        assert_eq!(
            closest("llama7b_lorra", &["tiny", "llama7b_lora"]),
            Some("llama7b_lora")
        );
        assert_eq!(closest("zzz", &["llama7b_lora"]), None);
    }

    #[test]
    fn file_kinds_are_told_apart() {
        let w = parse("w.toml", "[model]\npreset = \"tiny\"\n[batch]\n[method]\n").unwrap();
        let e = expect_kind("w.toml", &w, FileKind::Hardware)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("w.toml: file kind: this is a workload file (it has `batch`, `method`), not a hardware file"),
            "{e}"
        );
        assert!(expect_kind("w.toml", &w, FileKind::Workload).is_ok());
        let h: toml::Table = crate::hw::DEFAULT_HW_TOML.parse().unwrap();
        let e = expect_kind("h.toml", &h, FileKind::SweepSpec)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("this is a hardware file") && e.contains("not a sweep spec"),
            "{e}"
        );
        // A file of no known kind is left to the reader's own errors.
        let x = parse("x.toml", "a = 1\n").unwrap();
        assert!(expect_kind("x.toml", &x, FileKind::Hardware).is_ok());
    }

    #[test]
    fn syntax_error_names_file() {
        let e = parse("bad.toml", "a = [").unwrap_err().to_string();
        assert!(e.starts_with("bad.toml: syntax"), "{e}");
        // The toml crate's caret diagram is kept on its own lines.
        let e = parse("bad.toml", "x = 1\n[compute\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2, column 9\n"), "{e}");
        assert!(e.contains("\n2 | [compute\n"), "{e}");
        assert!(e.contains("|         ^"), "{e}");
    }
}
