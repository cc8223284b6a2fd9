//! Every subcommand with its standard output on a full device (`> /dev/full`) ends with
//! the usual error naming `<stdout>` and exit code 2 (bad I/O), never a panic (exit 101)
//! and never a silent success; a full standard error is ignored, not a panic.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn full() -> std::fs::File {
    std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full")
}

/// Runs `edgesim args` in `dir` with stdout on /dev/full and stderr captured.
fn run_full_stdout(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_edgesim"))
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::from(full()))
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

/// Runs `edgesim args` in `dir` normally (fixtures) and asserts success.
fn run_ok(dir: &Path, args: &[&str]) -> Output {
    let o = Command::new(env!("CARGO_BIN_EXE_edgesim"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// The exit code is 1 or 2 (an error, not a panic's 101, not success) and stderr says
/// which stream failed.
fn assert_stdout_error(what: &str, o: &Output) {
    let err = String::from_utf8_lossy(&o.stderr);
    let code = o.status.code();
    assert!(
        matches!(code, Some(1) | Some(2)),
        "{what}: exit {code:?}, stderr: {err}"
    );
    assert!(!err.contains("panicked"), "{what}: {err}");
    assert!(
        err.contains("error: <stdout>: No space left on device"),
        "{what}: {err}"
    );
}

fn check(dir: &Path, args: &[&str]) {
    assert_stdout_error(&args.join(" "), &run_full_stdout(dir, args));
}

fn workload(name: &str) -> String {
    root().join("workloads").join(name).display().to_string()
}

#[test]
fn hw_run_sim_trace_report_a_full_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tiny = workload("tiny_lora.toml");
    check(d, &["hw"]);
    check(d, &["run", "--workload", &tiny]);
    check(d, &["run", "--workload", &tiny, "--json"]);
    check(d, &["run", "--workload", &tiny, "--pareto"]);
    check(d, &["sim", "--workload", &tiny]);
    check(d, &["sim", "--workload", &tiny, "--json"]);
    check(d, &["trace", "--workload", &tiny]);
    check(d, &["dram", "--pattern", "random", "--requests", "200"]);
    check(
        d,
        &["dram", "--pattern", "random", "--requests", "200", "--json"],
    );
    check(d, &["trace", "--workload", &tiny, "--csv"]);
    check(d, &["trace", "--workload", &tiny, "--json"]);
    check(d, &["data", "status"]);
    check(d, &["data", "status", "--json"]);
    // clap's own output (help) must not vanish silently either.
    check(d, &["--help"]);
    check(d, &["hw", "--help"]);
}

#[test]
fn repro_reports_a_full_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("results");
    check(
        dir.path(),
        &["repro", "--out", out.to_str().unwrap(), "--json"],
    );
    check(dir.path(), &["repro", "--out", out.to_str().unwrap()]);
}

/// `luc policy` at 4 bits and sparsity 0.5 over the 8 layers of `s.csv`, into `out`.
fn policy_args(out: &str) -> [&str; 12] {
    [
        "luc",
        "policy",
        "--sensitivity",
        "s.csv",
        "--bits",
        "4",
        "--sparsity",
        "0.5",
        "--layers",
        "8",
        "--out",
        out,
    ]
}

fn luc_fixtures(d: &Path) {
    run_ok(d, &["luc", "synth", "--out", "ck"]);
    std::fs::write(
        d.join("s.csv"),
        "layer,sparsity,sample,mse\n0,0.5,0,1\n1,0.5,0,2\n7,0.5,0,3\n",
    )
    .unwrap();
    run_ok(d, &policy_args("pol.toml"));
    std::fs::write(
        d.join("calib.txt"),
        "It is a truth universally acknowledged, that a single man in possession of a good \
         fortune, must be in want of a wife. "
            .repeat(8),
    )
    .unwrap();
}

#[test]
fn luc_commands_report_a_full_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    luc_fixtures(d);
    check(d, &["luc", "synth", "--out", "ck2"]);
    check(d, &["luc", "synth", "--out", "ck3", "--json"]);
    check(d, &policy_args("pol2.toml"));
    let compress = |out: &str, json: bool| {
        let mut a = vec![
            "luc",
            "compress",
            "--checkpoint",
            "ck",
            "--policy",
            "pol.toml",
            "--method",
            "magnitude",
            "--calib",
            "calib.txt",
            "--samples",
            "2",
            "--seq-len",
            "16",
            "--out",
        ];
        a.push(out);
        if json {
            a.push("--json");
        }
        check(d, &a);
    };
    compress("cmp", false);
    compress("cmp_json", true);
}

fn sweep_spec(d: &Path) -> PathBuf {
    let spec = d.join("spec.toml");
    std::fs::write(
        &spec,
        format!(
            "base = \"{}\"\nworkloads = [\"{}\"]\n[sweep]\n\"sram.capacity_kib\" = [256, 512]\n",
            root().join("hw_configs/edge_llm_paper.toml").display(),
            workload("tiny_lora.toml")
        ),
    )
    .unwrap();
    spec
}

#[test]
fn sweep_reports_a_full_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let spec = sweep_spec(d);
    let spec = spec.to_str().unwrap();
    check(d, &["sweep", "--spec", spec, "--out", "a", "--no-plots"]);
    check(
        d,
        &[
            "sweep",
            "--spec",
            spec,
            "--out",
            "b",
            "--no-plots",
            "--json",
        ],
    );
}

#[test]
fn merge_reports_a_full_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let spec = sweep_spec(d);
    let spec = spec.to_str().unwrap();
    for (i, s) in ["0/2", "1/2"].iter().enumerate() {
        let out = format!("s{i}");
        run_ok(
            d,
            &[
                "sweep",
                "--spec",
                spec,
                "--out",
                &out,
                "--shard",
                s,
                "--no-plots",
            ],
        );
    }
    let shards = ["s0/sweep.csv", "s1/sweep.csv"];
    check(
        d,
        &[
            "merge",
            shards[0],
            shards[1],
            "--out",
            "m/sweep.csv",
            "--no-plots",
        ],
    );
    check(
        d,
        &[
            "merge",
            shards[0],
            shards[1],
            "--out",
            "j/sweep.csv",
            "--no-plots",
            "--json",
        ],
    );
}

/// A warning (and an error) on a full stderr is dropped, not a panic: exit 0 when stdout
/// works, exit 2 when stdout fails too.
#[test]
fn a_full_stderr_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("s.csv"),
        "layer,sparsity,sample,mse\n0,0.5,0,1\n1,0.5,0,2\n",
    )
    .unwrap();
    let args = [
        "luc",
        "policy",
        "--sensitivity",
        "s.csv",
        "--bits",
        "4",
        "--sparsity",
        "0.5",
        "--out",
        "p.toml",
    ];
    // Without --quant-sensitivity the command warns on stderr (the proxy warning).
    let o = run_ok(d, &args);
    assert!(String::from_utf8_lossy(&o.stderr).contains("warning: no quantisation"));
    let o = Command::new(env!("CARGO_BIN_EXE_edgesim"))
        .args(args)
        .current_dir(d)
        .stdout(Stdio::piped())
        .stderr(Stdio::from(full()))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("mean sparsity 0.5000"));
    let o = Command::new(env!("CARGO_BIN_EXE_edgesim"))
        .args(args)
        .current_dir(d)
        .stdout(Stdio::from(full()))
        .stderr(Stdio::from(full()))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    // A bad flag's usage error goes to stderr: still exit 2, no panic.
    let o = Command::new(env!("CARGO_BIN_EXE_edgesim"))
        .args(["hw", "--no-such-flag"])
        .stdout(Stdio::from(full()))
        .stderr(Stdio::from(full()))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}
