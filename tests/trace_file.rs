//! End-to-end checks of Trace files: `edgesim trace --out` writes the analytic Trace that
//! `edgesim run --trace` and `edgesim sim --trace` then simulate with exactly the figures
//! of `--workload`; bad Trace files exit with code 2 naming the file and the key.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn edgesim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_edgesim"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("edgesim runs")
}

fn ok(o: Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

fn write_trace(workload: &str, out: &Path) {
    ok(edgesim(&[
        "trace",
        "--workload",
        workload,
        "--out",
        out.to_str().unwrap(),
    ]));
}

#[test]
fn run_and_sim_on_a_written_trace_equal_the_workload() {
    let dir = tempfile::tempdir().unwrap();
    let b5 = dir.path().join("b5.trace.json");
    write_trace("workloads/llama7b_edge_llm_b5.toml", &b5);
    let b5s = b5.to_str().unwrap();
    // `--json` prints the same document as the file.
    let json = ok(edgesim(&[
        "trace",
        "--workload",
        "workloads/llama7b_edge_llm_b5.toml",
        "--json",
    ]));
    assert_eq!(json, std::fs::read_to_string(&b5).unwrap());

    let by_workload = ok(edgesim(&[
        "run",
        "--workload",
        "workloads/llama7b_lora.toml",
        "--workload",
        "workloads/llama7b_edge_llm_b5.toml",
        "--json",
    ]));
    let mixed = ok(edgesim(&[
        "run",
        "--workload",
        "workloads/llama7b_lora.toml",
        "--trace",
        b5s,
        "--json",
    ]));
    // The figures are equal; only the notes on the inputs differ (a Trace file carries no
    // sensitivity table to note facts about).
    let without_notes = |s: &str| {
        let mut v: serde_json::Value = serde_json::from_str(s).unwrap();
        v.as_object_mut().unwrap().remove("notes");
        v
    };
    assert_eq!(without_notes(&mixed), without_notes(&by_workload));
    let v: serde_json::Value = serde_json::from_str(&mixed).unwrap();
    assert!(v["speedup"].as_f64().unwrap() > 1.0, "{v}");

    let tiny = dir.path().join("tiny.trace.json");
    write_trace("workloads/tiny_lora.toml", &tiny);
    let a = ok(edgesim(&[
        "sim",
        "--workload",
        "workloads/tiny_lora.toml",
        "--json",
    ]));
    let b = ok(edgesim(&[
        "sim",
        "--trace",
        tiny.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(a, b);
    // One of --workload / --trace is required, not both.
    let o = edgesim(&["sim"]);
    assert_eq!(o.status.code(), Some(2));
    let o = edgesim(&[
        "sim",
        "--workload",
        "llama7b_lora",
        "--trace",
        tiny.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn bad_trace_files_exit_2_naming_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let good_path = dir.path().join("good.json");
    write_trace("workloads/tiny_lora.toml", &good_path);
    let good = std::fs::read_to_string(&good_path).unwrap();
    let first_k = good.find("\"k\": ").unwrap() + 5;
    let first_sp = good.find("\"sparsity\": ").unwrap() + 12;
    let sp_end = first_sp + good[first_sp..].find([',', '\n']).unwrap();
    let idle = good.find("\"idle_weight_bytes\": ").unwrap() + 21;
    let cases: Vec<(&str, String, &str)> = vec![
        ("syntax", good[..good.len() / 2].to_string(), "line"),
        (
            "missing",
            good.replacen("\"seq_len\"", "\"seq_length\"", 1),
            "seq_len",
        ),
        (
            "negative",
            format!("{}-{}", &good[..first_k], &good[first_k..]),
            "entries[1].gemms[0].k",
        ),
        (
            "zero",
            format!("{}0{}", &good[..first_k], &good[first_k + 2..]),
            "entries[1].gemms[0].k",
        ),
        (
            "sparsity",
            format!("{}1.5{}", &good[..first_sp], &good[sp_end..]),
            "entries[1].gemms[0].sparsity",
        ),
        // Bounded like the workload TOML's [batch]: the search enumerates its divisors.
        (
            "huge_step",
            good.replacen(
                "\"sequences_per_step\": 4",
                "\"sequences_per_step\": 1000000000000000000",
                1,
            ),
            "sequences_per_step",
        ),
        (
            "huge_bytes",
            format!(
                "{}18446744073709551615{}",
                &good[..idle],
                &good[idle + good[idle..].find([',', '\n']).unwrap()..]
            ),
            "idle_weight_bytes",
        ),
    ];
    for (name, text, key) in cases {
        let p = dir.path().join(format!("{name}.json"));
        std::fs::write(&p, text).unwrap();
        let ps = p.to_str().unwrap();
        for args in [vec!["run", "--trace", ps], vec!["sim", "--trace", ps]] {
            let o = edgesim(&args);
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{name}: {err}");
            assert!(err.contains(ps) && err.contains(key), "{name}: {err}");
            assert!(!err.contains("panicked"), "{name}: {err}");
        }
    }
    let o = edgesim(&["run", "--trace", "/no/such/trace.json"]);
    assert_eq!(o.status.code(), Some(2));
}
