//! End-to-end checks of `edgesim trace` and the LUC policy command: exit codes, output
//! formats, and that a failure leaves no output file.

use std::path::Path;
use std::process::Command;

fn edgesim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_edgesim"))
        .args(args)
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap()
}

/// `edgesim luc policy` from pruning sensitivities `csv` at `bits` and sparsity 0.5.
fn luc_policy(csv: &Path, bits: &str, out: &Path) -> std::process::Output {
    edgesim(&[
        "luc",
        "policy",
        "--sensitivity",
        csv.to_str().unwrap(),
        "--bits",
        bits,
        "--sparsity",
        "0.5",
        "--out",
        out.to_str().unwrap(),
    ])
}

#[test]
fn trace_of_an_embedded_workload_runs_from_any_directory() {
    let o = edgesim(&["trace", "--workload", "llama7b_edge_llm_b5", "--csv"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8(o.stdout).unwrap();
    // embed + 32 layers + exit head forward, exit head + 8 layers backward, + header.
    assert_eq!(out.lines().count(), 1 + 34 + 9);
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(err.contains("warning:") && err.contains("31"), "{err}");

    let o = edgesim(&["trace", "--workload", "llama7b_lora", "--json"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["method"], "lora");
    assert_eq!(v["seq_len"], 1280);
}

#[test]
fn bad_inputs_exit_with_code_2() {
    let o = edgesim(&["trace", "--workload", "/no/such/workload.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/no/such/workload.toml"));

    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("s.csv");
    std::fs::write(&csv, "layer,sparsity,sample,mse\n0,0.5,0,1\n1,0.5,0,-2\n").unwrap();
    let out = dir.path().join("p.toml");
    let o = luc_policy(&csv, "4", &out);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("line 3, column mse"), "{err}");
    assert!(!out.exists());

    let o = luc_policy(&csv, "0", &out);
    assert_eq!(o.status.code(), Some(2));
}
