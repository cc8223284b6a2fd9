//! The command line as a new user meets it: every command's `--help` shows an example,
//! `--mode` lists its values, `--version` names the commit, diagnostics follow `-q` / `-v`,
//! the default `run` prints no warning (its input facts are in the report body), and the
//! simulator's timeline shows busy time.

use clap::CommandFactory;
use std::path::PathBuf;
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn edgesim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_edgesim"))
        .args(args)
        .current_dir(root())
        .env_remove("RUST_LOG")
        .output()
        .expect("edgesim runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Every command and subcommand, by its path of names (`["luc", "policy"]`).
fn command_paths(cmd: &clap::Command, path: Vec<String>, out: &mut Vec<Vec<String>>) {
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let mut p = path.clone();
        p.push(sub.get_name().to_string());
        out.push(p.clone());
        command_paths(sub, p, out);
    }
}

#[test]
fn every_command_help_has_an_example() {
    let mut paths = Vec::new();
    command_paths(&edgesim::cli::Cli::command(), Vec::new(), &mut paths);
    assert!(paths.len() >= 20, "{paths:?}");
    let mut missing = Vec::new();
    for p in &paths {
        let mut args: Vec<&str> = p.iter().map(String::as_str).collect();
        args.push("--help");
        let o = edgesim(&args);
        assert!(o.status.success(), "{args:?}");
        let help = text(&o.stdout);
        if !help.contains("Example") || !help.contains("edgesim ") {
            missing.push(p.join(" "));
        }
    }
    assert!(missing.is_empty(), "help without an example: {missing:?}");
    let top = text(&edgesim(&["--help"]).stdout);
    assert!(
        top.contains("Example") && top.contains("-q, --quiet") && top.contains("-v, --verbose")
    );
}

#[test]
fn mode_lists_its_possible_values_and_refuses_others() {
    for cmd in ["run", "sim", "sweep"] {
        let help = text(&edgesim(&[cmd, "--help"]).stdout);
        assert!(
            help.contains("[possible values: shared-bus, paper, chained]"),
            "{cmd} --help:\n{help}"
        );
    }
    let o = edgesim(&["run", "--mode", "shared_bus"]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(err.contains("shared-bus"), "{err}");
}

#[test]
fn version_names_the_crate_version_and_the_commit() {
    let o = edgesim(&["--version"]);
    assert!(o.status.success());
    let v = text(&o.stdout);
    let expected_commit = std::env::var("EDGESIM_GIT_COMMIT")
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| {
            Command::new("git")
                .args(["rev-parse", "--short=12", "HEAD"])
                .current_dir(root())
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| text(&o.stdout).trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    assert_eq!(
        v.trim(),
        format!(
            "edgesim {} (commit {expected_commit})",
            env!("CARGO_PKG_VERSION")
        )
    );
}

/// The default `run` prints its report and nothing on stderr; the facts about the
/// embedded sensitivity data are stated once in the report body (and in `--json`).
#[test]
fn default_run_prints_no_warning_and_states_input_facts_once() {
    let o = edgesim(&["run"]);
    assert!(o.status.success());
    let err = text(&o.stderr);
    assert!(err.is_empty(), "stderr of the default run:\n{err}");
    let out = text(&o.stdout);
    assert_eq!(out.matches("Notes on the inputs:").count(), 1, "{out}");
    let notes = &out[out.find("Notes on the inputs:").unwrap()..];
    assert!(notes.contains("proxy"), "{notes}");
    let lines: Vec<&str> = notes.lines().filter(|l| l.starts_with("  - ")).collect();
    let mut unique = lines.clone();
    unique.dedup();
    assert_eq!(lines, unique, "a fact stated twice");

    let o = edgesim(&["run", "--json"]);
    assert!(o.status.success() && o.stderr.is_empty());
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let notes = doc["notes"].as_array().expect("notes array");
    assert!(!notes.is_empty() && notes.iter().any(|n| n.as_str().unwrap().contains("proxy")));

    // -v shows the same facts as debug lines on stderr.
    let o = edgesim(&["-v", "run", "--json"]);
    assert!(o.status.success());
    let err = text(&o.stderr);
    assert!(err.contains("debug: ") && err.contains("proxy"), "{err}");
}

/// A warning shows by default and disappears with -q; errors show whatever the flags.
#[test]
fn quiet_silences_warnings_and_notes_but_not_errors() {
    let dir = tempfile::tempdir().unwrap();
    let pol = dir.path().join("p.toml");
    let pol = pol.to_str().unwrap();
    // The LUC policy of the shipped sensitivity table warns about its missing layer.
    let args = [
        "luc",
        "policy",
        "--sensitivity",
        "data/llama7b_layerwise_pruning_mse.csv",
        "--layers",
        "32",
        "--bits",
        "5",
        "--sparsity",
        "0.5",
        "--out",
        pol,
    ];
    let o = edgesim(&args);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let loud = text(&o.stderr);
    assert!(loud.contains("warning: "), "{loud}");
    let mut q = vec!["-q"];
    q.extend(args);
    let o = edgesim(&q);
    assert!(o.status.success());
    assert!(o.stderr.is_empty(), "{}", text(&o.stderr));
    // The flag is global: after the subcommand too.
    let mut q2: Vec<&str> = args.to_vec();
    q2.push("--quiet");
    let o = edgesim(&q2);
    assert!(o.status.success() && o.stderr.is_empty());

    let o = edgesim(&["-q", "hw", "--hw", "no/such/file.toml"]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.starts_with("error: ") && err.contains("no/such/file.toml"),
        "{err}"
    );
    let o = edgesim(&["-q", "-v", "hw"]);
    assert_eq!(o.status.code(), Some(2), "-q and -v conflict");
}

/// The Perfetto trace of a searched schedule: busy slices per engine sum to the busy
/// time the report gives (0.1%), slices are named by layer, pass and micro-batches, and
/// step windows sit on their own process.
#[test]
fn timeline_slices_sum_to_reported_busy_time() {
    let dir = tempfile::tempdir().unwrap();
    let tl = dir.path().join("t.json");
    let o = edgesim(&[
        "sim",
        "--workload",
        "workloads/tiny_lora.toml",
        "--timeline",
        tl.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let trace: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&tl).unwrap()).unwrap();
    let events = trace["traceEvents"].as_array().unwrap();
    let engines = find_engines(&report).expect("engines in sim --json");
    let names: Vec<(u64, String)> = events
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "thread_name" && e["pid"] == 1)
        .map(|e| {
            (
                e["tid"].as_u64().unwrap(),
                e["args"]["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let seconds = report_seconds(&report);
    let mut checked = 0;
    for eng in engines {
        let name = eng["name"].as_str().unwrap();
        let busy_cycles = eng["busy_cycles"].as_f64().unwrap();
        let util = eng["utilization"].as_f64().unwrap();
        let &(tid, _) = names.iter().find(|(_, n)| n == name).expect("engine track");
        let sum_us: f64 = events
            .iter()
            .filter(|e| e["ph"] == "X" && e["pid"] == 1 && e["tid"] == tid)
            .map(|e| e["dur"].as_f64().unwrap())
            .sum();
        let busy_us = util * seconds * 1e6;
        if busy_cycles > 0.0 {
            assert!(
                (sum_us - busy_us).abs() <= 1e-3 * busy_us,
                "{name}: slices {sum_us} us, report {busy_us} us"
            );
            checked += 1;
        }
    }
    assert!(checked >= 3, "{checked} busy engines");
    let labels: Vec<&str> = events
        .iter()
        .filter(|e| e["ph"] == "X")
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert!(
        labels
            .iter()
            .any(|l| l.starts_with('L') && l.contains(" bwd mb")),
        "{:?}",
        &labels[..labels.len().min(10)]
    );
    assert!(events.iter().any(|e| e["ph"] == "X" && e["pid"] == 2));
}

/// The `engines` array of `sim --json`, wherever the document nests it.
fn find_engines(v: &serde_json::Value) -> Option<&Vec<serde_json::Value>> {
    match v {
        serde_json::Value::Object(m) => m
            .get("engines")
            .and_then(|e| e.as_array())
            .or_else(|| m.values().find_map(find_engines)),
        serde_json::Value::Array(a) => a.iter().find_map(find_engines),
        _ => None,
    }
}

/// The simulated seconds next to the engines.
fn report_seconds(v: &serde_json::Value) -> f64 {
    fn walk(v: &serde_json::Value) -> Option<f64> {
        match v {
            serde_json::Value::Object(m) => {
                if m.contains_key("engines") {
                    return m.get("seconds").and_then(|s| s.as_f64());
                }
                m.values().find_map(walk)
            }
            serde_json::Value::Array(a) => a.iter().find_map(walk),
            _ => None,
        }
    }
    walk(v).expect("seconds beside engines")
}

/// `sweep.csv` of a real sweep: one unit spelling, and figures for every format.
#[test]
fn sweep_writes_unit_named_columns_and_pdf_figures() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s");
    let o = edgesim(&[
        "sweep",
        "--spec",
        "hw_configs/sweeps/sram_dram.toml",
        "--out",
        out.to_str().unwrap(),
        "--figure-width-in",
        "3.4",
        "--font-pt",
        "8",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    for c in [
        "step_s",
        "optimal_step_s",
        "gap_pct",
        "infeasible_reason",
        "energy_j",
    ] {
        assert!(header.split(',').any(|h| h == c), "{header}");
    }
    assert!(!header.contains("seconds") && !header.split(',').any(|h| h == "gap"));
    let pdfs: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "pdf"))
        .collect();
    assert!(pdfs.len() >= 2, "{} PDFs", pdfs.len());
    for p in pdfs {
        let b = std::fs::read(p.path()).unwrap();
        assert!(b.starts_with(b"%PDF") && String::from_utf8_lossy(&b).contains("/FontFile2"));
    }
    let o = edgesim(&[
        "sweep",
        "--spec",
        "hw_configs/sweeps/sram_dram.toml",
        "--out",
        out.to_str().unwrap(),
        "--font-pt",
        "0.5",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("--font-pt"));
}
