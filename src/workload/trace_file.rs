//! Trace files: a [`Trace`] as JSON, exactly its serde serialisation (the document
//! `edgesim trace --json` prints and `edgesim trace --out FILE` writes), so an analytic
//! Trace and one measured by the tensor engine (`tune::trace`) reach the simulator the same
//! way (`edgesim run --trace FILE`, `edgesim sim --trace FILE`).
//!
//! Reading checks what serde cannot and what the hardware side relies on (`grid`, `cost`,
//! `search`, `sim`): a non-empty workload name; `seq_len`, `sequences_per_step` and
//! `micro_batch_size` >= 1 with the micro-batch size dividing the sequences per step (the
//! vanilla schedule uses it); at least one entry; unique, non-empty labels; every forward
//! entry before every backward entry (the grid links each column to the previous one and a
//! backward column to its forward partner, which must come first); GEMM `m`, `k`, `n`,
//! `batch` >= 1, `w_bits` and `a_bits` in 1..=32, `sparsity` in [0, 1); vector-op
//! `ops_per_element` and every `flops_by_precision` value finite and >= 0. Every failure is
//! an [`Error::input`] naming the file, the key path (`entries[3].gemms[0].m`) and the
//! allowed range; JSON syntax and type errors also give serde_json's line and column.

use super::{Pass, Trace};
use crate::error::{Error, Result};
use std::collections::HashSet;
use std::path::Path;

impl Trace {
    /// Reads and validates a Trace file (module doc). Errors: [`Error::Io`] when the file
    /// cannot be read, [`Error::Input`] naming the file and key otherwise.
    pub fn from_json_file(path: &Path) -> Result<Trace> {
        let text = crate::io_util::read_to_string(path)?;
        Trace::from_json_str(&path.display().to_string(), &text)
    }

    /// Parses and validates Trace JSON; `file` names it in errors.
    pub fn from_json_str(file: &str, text: &str) -> Result<Trace> {
        let t: Trace = serde_json::from_str(text).map_err(|e| {
            let key = if e.line() == 0 {
                String::new()
            } else {
                json_path_at(text, e.line(), e.column())
            };
            let key = if key.is_empty() {
                "(document)".to_string()
            } else {
                key
            };
            Error::input(file, key, format!("{e} (the serde JSON form of a Trace)"))
        })?;
        t.validate(file)?;
        Ok(t)
    }

    /// The Trace as pretty-printed JSON with a final newline: the Trace file format.
    pub fn to_json_string(&self) -> String {
        // A Trace holds only strings, integers, finite floats and string-keyed maps, all of
        // which serde_json serialises without error.
        serde_json::to_string_pretty(self).expect("a Trace always serialises to JSON") + "\n"
    }

    /// Writes [`Trace::to_json_string`] to `path` atomically (no partial file on failure).
    pub fn write_json_file(&self, path: &Path) -> Result<()> {
        crate::io_util::write_atomic(path, self.to_json_string().as_bytes())
    }

    /// Checks what serde cannot (module doc); `file` names the source in errors.
    pub fn validate(&self, file: &str) -> Result<()> {
        let bad = |key: String, msg: String| Err(Error::input(file, key, msg));
        if self.workload.is_empty() {
            return bad("workload".into(), "empty: must name the workload".into());
        }
        // The ranges of the workload TOML's [batch] (`workload::spec`): the search
        // enumerates divisors and blocks of these, so they must stay bounded.
        for (key, v, max) in [
            ("seq_len", self.seq_len, 1u64 << 20),
            ("sequences_per_step", self.sequences_per_step, 1 << 24),
            ("micro_batch_size", self.micro_batch_size, 1 << 16),
        ] {
            if !(1..=max).contains(&v) {
                return bad(key.into(), format!("{v}: allowed 1..={max}"));
            }
        }
        // Byte counts: at most 1 PiB each, so sums over columns cannot overflow u64.
        const MAX_BYTES: u64 = 1 << 50;
        if self.idle_weight_bytes > MAX_BYTES {
            return bad(
                "idle_weight_bytes".into(),
                format!("{}: allowed 0..={MAX_BYTES}", self.idle_weight_bytes),
            );
        }
        if !self
            .sequences_per_step
            .is_multiple_of(self.micro_batch_size)
        {
            return bad(
                "micro_batch_size".into(),
                format!(
                    "{}: must divide sequences_per_step = {}",
                    self.micro_batch_size, self.sequences_per_step
                ),
            );
        }
        if self.entries.is_empty() {
            return bad(
                "entries".into(),
                "empty: a Trace needs at least one column".into(),
            );
        }
        let mut labels = HashSet::new();
        let mut seen_bwd = None;
        for (i, e) in self.entries.iter().enumerate() {
            let at = format!("entries[{i}]");
            if e.label.is_empty() || !labels.insert(e.label.as_str()) {
                return bad(
                    format!("{at}.label"),
                    format!("`{}`: labels must be non-empty and unique", e.label),
                );
            }
            match (e.pass, seen_bwd) {
                (Pass::Bwd, None) => seen_bwd = Some(i),
                (Pass::Fwd, Some(b)) => {
                    return bad(
                        format!("{at}.pass"),
                        format!(
                            "forward column `{}` after the backward column entries[{b}]: all \
                             forward entries must come first",
                            e.label
                        ),
                    );
                }
                _ => {}
            }
            for (key, v) in [
                ("weight_bytes", e.weight_bytes),
                ("act_in_bytes", e.act_in_bytes),
                ("act_out_bytes", e.act_out_bytes),
                ("saved_bytes", e.saved_bytes),
                ("checkpoint_bytes", e.checkpoint_bytes),
                ("grad_bytes", e.grad_bytes),
                ("trainable_bytes", e.trainable_bytes),
                ("optimizer_bytes", e.optimizer_bytes),
            ] {
                if v > MAX_BYTES {
                    return bad(
                        format!("{at}.{key}"),
                        format!("{v}: allowed 0..={MAX_BYTES}"),
                    );
                }
            }
            for (j, g) in e.gemms.iter().enumerate() {
                let gat = format!("{at}.gemms[{j}]");
                let what = format!("{} GEMM `{}`", e.label, g.name);
                for (key, v) in [("m", g.m), ("k", g.k), ("n", g.n), ("batch", g.batch)] {
                    // 2^30: far above any model dimension, low enough that products of
                    // three stay exact in f64 and the mapper's tile loops stay short.
                    if !(1..=1 << 30).contains(&v) {
                        return bad(
                            format!("{gat}.{key}"),
                            format!("{v} in {what}: allowed 1..={}", 1u64 << 30),
                        );
                    }
                }
                for (key, v) in [("w_bits", g.w_bits), ("a_bits", g.a_bits)] {
                    if !(1..=32).contains(&v) {
                        return bad(
                            format!("{gat}.{key}"),
                            format!("{v} in {what}: allowed 1..=32"),
                        );
                    }
                }
                if !(0.0..1.0).contains(&g.sparsity) {
                    return bad(
                        format!("{gat}.sparsity"),
                        format!("{} in {what}: allowed [0, 1)", g.sparsity),
                    );
                }
            }
            for (j, v) in e.vector_ops.iter().enumerate() {
                if !(v.ops_per_element.is_finite() && v.ops_per_element >= 0.0) {
                    return bad(
                        format!("{at}.vector_ops[{j}].ops_per_element"),
                        format!(
                            "{} in {}: must be finite and >= 0",
                            v.ops_per_element, e.label
                        ),
                    );
                }
            }
            for (k, v) in &e.flops_by_precision {
                if !(v.is_finite() && *v >= 0.0) {
                    return bad(
                        format!("{at}.flops_by_precision.{k}"),
                        format!("{v} in {}: must be finite and >= 0", e.label),
                    );
                }
            }
        }
        Ok(())
    }
}

/// The JSON key path (`entries[3].gemms[0].m`) at 1-based `line` and `column` of `text`:
/// the containers open at that point and, in an object, the last key read. Used to name
/// the key of a serde_json error, which gives only the position.
fn json_path_at(text: &str, line: usize, column: usize) -> String {
    enum Frame {
        Object {
            key: Option<String>,
            expect_key: bool,
        },
        Array {
            index: usize,
        },
    }
    let start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let end = text[start.min(text.len())..]
        .char_indices()
        .nth(column.saturating_sub(1))
        .map_or(text.len(), |(o, _)| start + o);
    let mut stack: Vec<Frame> = Vec::new();
    let mut chars = text[..end].chars();
    while let Some(c) = chars.next() {
        match c {
            '{' => stack.push(Frame::Object {
                key: None,
                expect_key: true,
            }),
            '[' => stack.push(Frame::Array { index: 0 }),
            '}' | ']' => {
                stack.pop();
            }
            ',' => match stack.last_mut() {
                Some(Frame::Array { index }) => *index += 1,
                Some(Frame::Object { key, expect_key }) => {
                    *key = None;
                    *expect_key = true;
                }
                None => {}
            },
            ':' => {
                if let Some(Frame::Object { expect_key, .. }) = stack.last_mut() {
                    *expect_key = false;
                }
            }
            '"' => {
                let mut s = String::new();
                let mut escaped = false;
                for c in chars.by_ref() {
                    match (escaped, c) {
                        (false, '\\') => escaped = true,
                        (false, '"') => break,
                        _ => {
                            escaped = false;
                            s.push(c);
                        }
                    }
                }
                if let Some(Frame::Object {
                    key,
                    expect_key: true,
                }) = stack.last_mut()
                {
                    *key = Some(s);
                }
            }
            _ => {}
        }
    }
    let mut path = String::new();
    for f in &stack {
        match f {
            Frame::Object { key: Some(k), .. } => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
            }
            Frame::Object { key: None, .. } => {}
            Frame::Array { index } => path.push_str(&format!("[{index}]")),
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::Workload;

    fn tiny() -> Trace {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("workloads/tiny_edge_llm.toml");
        Workload::from_file(&p).unwrap().trace().unwrap()
    }

    fn err(text: &str) -> String {
        let e = Trace::from_json_str("t.json", text).unwrap_err();
        assert!(e.is_input(), "{e}");
        e.to_string()
    }

    #[test]
    fn round_trip_is_exact() {
        for name in crate::workload::embedded_names() {
            let t = Workload::embedded(name).unwrap().trace().unwrap();
            let back = Trace::from_json_str("x.json", &t.to_json_string()).unwrap();
            assert_eq!(back, t, "{name}");
        }
        let t = tiny();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/t.json");
        t.write_json_file(&p).unwrap();
        assert_eq!(Trace::from_json_file(&p).unwrap(), t);
    }

    #[test]
    fn key_paths_of_serde_errors() {
        let text = "{\n  \"a\": [1, {\"b\": 2, \"c\": [3, 4]}],\n  \"d\": {\"e\\\"x\": 5}\n}";
        // Line 2 column 30 is the `4`; line 3 column 17 the `5`.
        assert_eq!(json_path_at(text, 2, 30), "a[1].c[1]");
        assert_eq!(json_path_at(text, 3, 17), "d.e\"x");
        assert_eq!(json_path_at(text, 1, 1), "");
    }

    #[test]
    fn bad_files_name_the_key_and_the_range() {
        let good = tiny().to_json_string();
        let e = err("{\"workload\": ");
        assert!(e.starts_with("t.json: ") && e.contains("line 1"), "{e}");
        let e = err(&good.replacen("\"seq_len\"", "\"seq_length\"", 1));
        assert!(e.contains("seq_length"), "{e}");
        // A negative dimension is a type error at the key.
        let first_m = good.find("\"m\": ").unwrap();
        let mut neg = good.clone();
        neg.insert(first_m + 5, '-');
        let e = err(&neg);
        assert!(
            e.contains("entries[1].gemms[0].m") && e.contains("line"),
            "{e}"
        );
        let mut zero = tiny();
        zero.entries[2].gemms[1].k = 0;
        let e = err(&zero.to_json_string());
        assert!(
            e.contains("entries[2].gemms[1].k") && e.contains("allowed 1..="),
            "{e}"
        );
        let mut sp = tiny();
        sp.entries[1].gemms[0].sparsity = 1.5;
        let e = err(&sp.to_json_string());
        assert!(
            e.contains("entries[1].gemms[0].sparsity") && e.contains("[0, 1)"),
            "{e}"
        );
        let mut bits = tiny();
        bits.entries[1].gemms[0].w_bits = 33;
        assert!(err(&bits.to_json_string()).contains("1..=32"));
        let mut order = tiny();
        let f = order.entries.remove(1);
        order.entries.push(f);
        assert!(err(&order.to_json_string()).contains("must come first"));
        let mut mb = tiny();
        mb.micro_batch_size = mb.sequences_per_step + 1;
        assert!(err(&mb.to_json_string()).contains("must divide"));
        let mut empty = tiny();
        empty.entries.clear();
        assert!(err(&empty.to_json_string()).contains("entries"));
        let mut dup = tiny();
        dup.entries[2].label = dup.entries[1].label.clone();
        assert!(err(&dup.to_json_string()).contains("unique"));
        let e = Trace::from_json_file(Path::new("/no/such/trace.json")).unwrap_err();
        assert!(e.to_string().contains("/no/such/trace.json"));
    }
}
