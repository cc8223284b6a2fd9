//! Inputs are refused cleanly instead of being silently bent: overflowing sensitivity
//! sums, floats in integer keys, devices and oversized files as text inputs, blank names,
//! a zero Gantt length.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn edgesim(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_edgesim"));
    c.args(args)
        .current_dir(dir)
        .env_remove("EDGESIM_MAX_TEXT_BYTES");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The paper hardware file with `key = value` lines replaced (or added) in `[section]`.
fn paper_hw_with(section: &str, key: &str, value: &str) -> String {
    let text = std::fs::read_to_string(root().join("hw_configs/edge_llm_paper.toml")).unwrap();
    let mut out = String::new();
    let mut current = String::new();
    let mut done = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            current = t.trim_matches(|c| c == '[' || c == ']').to_string();
        }
        let k = t.split('=').next().unwrap_or("").trim();
        if current == section && k == key {
            out.push_str(&format!("{key} = {value}\n"));
            done = true;
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    assert!(done, "{section}.{key} not in the paper hardware file");
    out
}

#[test]
fn overflowing_sensitivity_sums_keep_the_requested_mean() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("huge.csv"),
        "layer,sparsity,sample,mse\n0,0.5,0,1e308\n0,0.5,1,1e308\n1,0.5,0,0.1\n",
    )
    .unwrap();
    let o = edgesim(
        d,
        &[
            "luc",
            "policy",
            "--sensitivity",
            "huge.csv",
            "--bits",
            "4",
            "--sparsity",
            "0.5",
            "--out",
            "p.toml",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(d.join("p.toml")).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("sparsity"))
        .unwrap()
        .to_string();
    let p: Vec<f64> = line
        .trim_start_matches("sparsity = [")
        .trim_end_matches(']')
        .split(',')
        .map(|x| x.trim().parse().unwrap())
        .collect();
    // Layer 0 (mean MSE 1e308) is the most sensitive: eq. 2 gives it 0 and layer 1 the
    // whole 2 x 0.5 = 1.0, clamped to 0.99 with the 0.01 handed back to layer 0. Before,
    // the overflowing sum gave NaN and every layer 0.
    assert_eq!(p.len(), 2);
    assert!(
        (p[0] - 0.01).abs() < 1e-12 && (p[1] - 0.99).abs() < 1e-12,
        "{p:?}"
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("mean sparsity 0.5000"), "{out}");
    assert!(
        !out.to_lowercase().contains("nan") && !out.contains("inf"),
        "{out}"
    );
}

#[test]
fn floats_in_integer_keys_are_refused_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (value, want) in [
        (
            "-1e308",
            "compute.pe_rows: -1e308 is out of range; allowed [1, ",
        ),
        (
            "32.5",
            "compute.pe_rows: 32.5 is not an integer; expected an integer in [1, ",
        ),
        (
            "1e308",
            "compute.pe_rows: 1e308 is out of range; allowed [1, ",
        ),
    ] {
        std::fs::write(
            d.join("hw.toml"),
            paper_hw_with("compute", "pe_rows", value),
        )
        .unwrap();
        let o = edgesim(d, &["hw", "--hw", "hw.toml"], &[]);
        assert_eq!(o.status.code(), Some(2), "{value}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{value}: {}", stderr(&o));
    }
    // An integral float is still an integer.
    std::fs::write(
        d.join("hw.toml"),
        paper_hw_with("compute", "pe_rows", "32.0"),
    )
    .unwrap();
    let o = edgesim(d, &["hw", "--hw", "hw.toml"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains(": 32 x "));

    // A workload seed of 1e308 used to become i64::MAX silently.
    let w = "[model]\npreset = \"tiny\"\n[batch]\nseq_len = 16\nmicro_batch_size = 2\n\
             sequences_per_step = 4\n[method]\nkind = \"lora\"\nrank = 4\n[policy]\n\
             kind = \"random-draw\"\nbits = 4\nsparsity = 0.5\nseed = 1e308\n";
    std::fs::write(d.join("w.toml"), w).unwrap();
    let o = edgesim(d, &["trace", "--workload", "w.toml"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(
            "w.toml: policy.seed: 1e308 is out of range; allowed [0, 9223372036854775807]"
        ),
        "{}",
        stderr(&o)
    );
}

#[test]
fn devices_and_oversized_text_inputs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let start = Instant::now();
    let o = edgesim(d, &["hw", "--hw", "/dev/zero"], &[]);
    assert!(start.elapsed() < Duration::from_secs(10));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "error: /dev/zero: file: is a device, FIFO or socket, not a regular file; \
         text inputs are read from files\n"
    );
    let o = edgesim(d, &["trace", "--workload", "/dev/zero"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // The base hardware file of a sweep spec is read the same way.
    let w = root().join("workloads/tiny_lora.toml");
    std::fs::write(
        d.join("spec.toml"),
        format!(
            "base = \"/dev/zero\"\nworkloads = [\"{}\"]\n[sweep]\n\"sram.capacity_kib\" = [256]\n",
            w.display()
        ),
    )
    .unwrap();
    let start = Instant::now();
    let o = edgesim(d, &["sweep", "--spec", "spec.toml", "--out", "o"], &[]);
    assert!(start.elapsed() < Duration::from_secs(10));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("base: cannot read base hardware file /dev/zero")
            && stderr(&o).contains("not a regular file"),
        "{}",
        stderr(&o)
    );

    let hw = root().join("hw_configs/edge_llm_paper.toml");
    let len = std::fs::metadata(&hw).unwrap().len();
    let hw = hw.to_str().unwrap();
    let o = edgesim(d, &["hw", "--hw", hw], &[("EDGESIM_MAX_TEXT_BYTES", "64")]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains(&format!(
            "size: {len} bytes exceeds the limit of 64 bytes for text inputs"
        )) && e.contains("set EDGESIM_MAX_TEXT_BYTES=<bytes> to raise it"),
        "{e}"
    );
    // The limit is inclusive, and a bad limit is named.
    let cap = len.to_string();
    let o = edgesim(d, &["hw", "--hw", hw], &[("EDGESIM_MAX_TEXT_BYTES", &cap)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = edgesim(
        d,
        &["hw", "--hw", hw],
        &[("EDGESIM_MAX_TEXT_BYTES", "lots")],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("EDGESIM_MAX_TEXT_BYTES: value: \"lots\""),
        "{}",
        stderr(&o)
    );
}

#[test]
fn blank_names_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for name in ["\"\"", "\"  \\t \""] {
        std::fs::write(d.join("hw.toml"), paper_hw_with("", "name", name)).unwrap();
        let o = edgesim(d, &["hw", "--hw", "hw.toml"], &[]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(
            stderr(&o).contains("hw.toml: name: ") && stderr(&o).contains("is blank"),
            "{}",
            stderr(&o)
        );
        let w = std::fs::read_to_string(root().join("workloads/tiny_lora.toml")).unwrap();
        std::fs::write(d.join("w.toml"), format!("name = {name}\n{w}")).unwrap();
        let o = edgesim(d, &["trace", "--workload", "w.toml"], &[]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains("w.toml: name: "), "{}", stderr(&o));
    }
}

#[test]
fn zero_gantt_steps_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let w = root().join("workloads/tiny_lora.toml");
    let o = edgesim(
        dir.path(),
        &[
            "sim",
            "--workload",
            w.to_str().unwrap(),
            "--gantt",
            "g.png",
            "--gantt-steps",
            "0",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--gantt-steps"), "{}", stderr(&o));
    assert!(!dir.path().join("g.png").exists());
}
