//! `edgesim gemm` end to end: cycles against SCALE-Sim 3.0's closed form derived by hand,
//! a SCALE-Sim GEMM topology file read unchanged, and bad input rejected with exit 2.

use std::process::{Command, Output};

fn edgesim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_edgesim"))
        .args(args)
        .output()
        .expect("run edgesim")
}

fn json(args: &[&str]) -> serde_json::Value {
    let out = edgesim(args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

#[test]
fn output_stationary_edge_tiles_by_hand() {
    // Default hardware: 32 x 32 PEs. OS maps Sr = M = 100 (4 row folds, the last uses 4
    // rows), Sc = N = 70 (3 column folds, the last uses 6 columns), T = K = 33; each fold
    // R + C + T - 2 = 32 + 32 + 33 - 2 = 95 cycles: 12 x 95 = 1140.
    let v = json(&[
        "gemm",
        "--m",
        "100",
        "--n",
        "70",
        "--k",
        "33",
        "--dataflow",
        "os",
        "--json",
    ]);
    assert_eq!(v["cycles"], 1140.0);
    assert_eq!(
        (v["row_folds"].as_u64(), v["col_folds"].as_u64()),
        (Some(4), Some(3))
    );
    // Mapping efficiency: 100 x 70 used of 128 x 96 PE-folds.
    let eff = v["mapping_efficiency"].as_f64().unwrap();
    assert!((eff - 7000.0 / 12288.0).abs() < 1e-12, "{eff}");
    // Energy is reported and the total is the sum of its parts.
    let e = &v["energy"];
    let parts: f64 = ["mac", "vector", "sram", "dram", "ssd"]
        .iter()
        .map(|k| e[k].as_f64().unwrap())
        .sum();
    assert!((parts - v["energy_joules"].as_f64().unwrap()).abs() < 1e-18);
    // Input-stationary, same GEMM: Sr = K = 33 (2 folds), Sc = M = 100 (4), T = N = 70:
    // 8 x (2*32 + 32 + 70 - 2) = 8 x 164.
    let v = json(&[
        "gemm",
        "--m",
        "100",
        "--n",
        "70",
        "--k",
        "33",
        "--dataflow",
        "is",
        "--json",
    ]);
    assert_eq!(v["cycles"], 1312.0);
}

#[test]
fn scale_sim_topology_file_with_trailing_commas() {
    let dir = tempfile::tempdir().unwrap();
    let topo = dir.path().join("mnk.csv");
    // SCALE-Sim's topologies/GEMM_mnk/test_mnk_input.csv row, plus rows with spaces, no
    // trailing comma, a blank line and an N:M sparsity column.
    std::fs::write(
        &topo,
        "Layer Name, M, N, K,\nTest 1, 256, 128, 256,\n\n  qkv ,  64 , 96 , 40\nsp, 32, 32, 32, 1:1,\n",
    )
    .unwrap();
    let t = topo.to_str().unwrap();
    let out = edgesim(&["gemm", "--topology", t, "--csv"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 4, "{text}");
    let col = |name: &str| rows[0].iter().position(|h| *h == name).unwrap();
    let (name, cycles) = (col("name"), col("cycles"));
    // Weight-stationary 32 x 32 (the default): SCALE-Sim's golden report prints 11199.
    assert_eq!((rows[1][name], rows[1][cycles]), ("Test 1", "11200"));
    // qkv: Sr = K = 40 -> 2 folds, Sc = N = 96 -> 3, T = M = 64: 6 x (64 + 32 + 64 - 2).
    assert_eq!((rows[2][name], rows[2][cycles]), ("qkv", "948"));
    // sp: one fold, 64 + 32 + 32 - 2.
    assert_eq!((rows[3][name], rows[3][cycles]), ("sp", "126"));
    // The same file as a JSON array, with another dataflow.
    let v = json(&[
        "gemm",
        "--topology",
        t,
        "--dataflow",
        "output-stationary",
        "--json",
    ]);
    let layers = v.as_array().unwrap();
    assert_eq!(layers.len(), 3);
    // OS: 8 x 4 folds of 32 + 32 + 256 - 2 (SCALE-Sim's golden report prints 10175).
    assert_eq!(layers[0]["cycles"], 10176.0);
}

#[test]
fn small_dram_bandwidth_stalls_a_large_array() {
    // A 128 x 128 array on 1/100 of the default LPDDR4 bandwidth (0.256 B/cycle) cannot be
    // fed: the stalls exceed the array cycles; the default bandwidth feeds a 256^3 GEMM
    // with stalls below the array cycles.
    let dir = tempfile::tempdir().unwrap();
    let base = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/hw_configs/edge_llm_paper.toml"
    ))
    .unwrap();
    let big = base
        .replace("pe_rows = 32", "pe_rows = 128")
        .replace("pe_cols = 32", "pe_cols = 128");
    // 32 MT/s is below LPDDR4's slowest speed bin (533): an ideal memory of that rate.
    let slow = big
        .replace("data_rate_mtps = 3200", "data_rate_mtps = 32")
        .replace("kind = \"lpddr4\"", "kind = \"ideal\"");
    let (fast_f, slow_f) = (dir.path().join("fast.toml"), dir.path().join("slow.toml"));
    std::fs::write(&fast_f, big).unwrap();
    std::fs::write(&slow_f, slow).unwrap();
    let args = |f: &std::path::Path| {
        json(&[
            "gemm",
            "--hw",
            f.to_str().unwrap(),
            "--m",
            "256",
            "--n",
            "256",
            "--k",
            "256",
            "--json",
        ])
    };
    let (fast, slow) = (args(&fast_f), args(&slow_f));
    let f = |v: &serde_json::Value, k: &str| v[k].as_f64().unwrap();
    // Same array cycles: 2 x 2 folds of 2*128 + 128 + 256 - 2.
    assert_eq!(f(&fast, "cycles"), 4.0 * 638.0);
    assert_eq!(f(&slow, "cycles"), 4.0 * 638.0);
    // Every operand byte must arrive at least once: 2 x 65536 B at 0.256 B/cycle.
    assert!(f(&slow, "stall_cycles") >= 131072.0 / 0.256 - f(&slow, "cycles"));
    assert!(f(&fast, "stall_cycles") < f(&slow, "stall_cycles") / 50.0);
    assert!(f(&slow, "utilisation") < f(&fast, "utilisation") / 10.0);
}

#[test]
fn bad_rows_and_flags_exit_2_naming_the_place() {
    let dir = tempfile::tempdir().unwrap();
    let topo = dir.path().join("bad.csv");
    std::fs::write(&topo, "Layer, M, N, K,\nok, 1, 2, 3,\nbad, 4, x, 6,\n").unwrap();
    let out = edgesim(&["gemm", "--topology", topo.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.csv") && err.contains("row 3, column 3 (N)") && err.contains("1..="),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "no partial output");
    std::fs::write(&topo, "Layer, M, N, K,\nshort, 1, 2,\n").unwrap();
    let out = edgesim(&["gemm", "--topology", topo.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("row 2"));
    for (flag, value) in [
        ("--bits-w", "0"),
        ("--sparsity", "1.5"),
        ("--dataflow", "diag"),
    ] {
        let out = edgesim(&["gemm", "--m", "8", "--n", "8", "--k", "8", flag, value]);
        assert_eq!(out.status.code(), Some(2), "{flag}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(flag),
            "{flag}"
        );
    }
    let out = edgesim(&["gemm", "--m", "0", "--n", "8", "--k", "8"]);
    assert_eq!(out.status.code(), Some(2));
    let out = edgesim(&["gemm", "--topology", "/nonexistent/x.csv"]);
    assert_eq!(out.status.code(), Some(2));
    let help = edgesim(&["gemm", "--help"]);
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("Examples"));
}
