//! `edgesim dram` end to end, and the hardware files that used to make the cycle-level
//! simulator run for ever: each must now return (an error naming the key, or a result).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn edgesim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_edgesim"))
        .args(args)
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn repo(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(rel)
        .display()
        .to_string()
}

/// The embedded default hardware with `from` replaced by `to`, written into `dir`.
fn hw_file(dir: &Path, name: &str, from: &str, to: &str) -> PathBuf {
    let base = std::fs::read_to_string(repo("hw_configs/edge_llm_paper.toml")).unwrap();
    assert!(base.contains(from));
    let p = dir.join(name);
    std::fs::write(&p, base.replace(from, to)).unwrap();
    p
}

const TIMING_LINE: &str = "# [dram.timing] omitted";

fn json(args: &[&str]) -> serde_json::Value {
    let mut a = vec!["dram", "--json", "--requests", "4000"];
    a.extend_from_slice(args);
    let o = edgesim(&a);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn help_shows_examples() {
    let o = edgesim(&["dram", "--help"]);
    let (out, _) = text(&o);
    assert!(o.status.success());
    assert!(out.contains("edgesim dram --pattern random --request-bytes 64"));
    assert!(out.contains("block:BYTES"));
}

#[test]
fn text_report_has_bandwidth_latency_and_counts() {
    let o = edgesim(&["dram", "--pattern", "sequential", "--request-bytes", "256"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    for needle in [
        "25.6 GB/s peak",
        "queue 32, write drain 24/8, interleave 256 B",
        "traffic: sequential, 256 B requests",
        "% of peak",
        "read latency unloaded: mean",
        "read latency loaded: mean",
        "row-hit rate",
        "refreshes",
    ] {
        assert!(out.contains(needle), "{needle} missing in\n{out}");
    }
}

#[test]
fn json_figures_are_consistent_and_follow_the_pattern() {
    let seq = json(&["--pattern", "sequential", "--request-bytes", "256"]);
    let rnd = json(&["--pattern", "random", "--request-bytes", "64"]);
    let f = |v: &serde_json::Value, k: &str| v[k].as_f64().unwrap();
    // Bandwidth = efficiency x peak (25.6 GB/s).
    for v in [&seq, &rnd] {
        assert!((f(v, "achieved_gbps") - f(v, "efficiency") * 25.6).abs() < 1e-6);
        assert!(v["loaded"]["p99_ns"].as_f64().unwrap() >= v["loaded"]["p50_ns"].as_f64().unwrap());
    }
    // Sequential streams hit open rows; random 64 B reads open a row for every request.
    assert!(f(&seq, "row_hit_rate") > 0.95);
    assert!(f(&rnd, "row_hit_rate") < 0.55);
    assert!(f(&seq, "efficiency") > f(&rnd, "efficiency") + 0.1);
    // A 50/50 block mix turns the bus around; a pure read stream never does.
    let mix = json(&["--pattern", "block:4096", "--read-fraction", "0.5"]);
    assert!(mix["turnarounds"].as_u64().unwrap() > 0);
    assert_eq!(rnd["turnarounds"].as_u64().unwrap(), 0);
    assert_eq!(
        mix["spec"]["pattern"]["block"]["bytes"].as_u64().unwrap(),
        4096
    );
}

#[test]
fn controller_keys_of_the_hardware_file_reach_the_probe() {
    // DDR-style 1-clock commands relieve the CA bus of random 32 B reads: ACT + RD + PRE
    // take 10 of every 8 data clocks with JESD209-4 occupancy, 3 with one clock each.
    let dir = tempfile::tempdir().unwrap();
    let hw = hw_file(
        dir.path(),
        "ca1.toml",
        TIMING_LINE,
        "[dram.controller]\nca_nck = 1\n#",
    );
    let args = ["--pattern", "random", "--request-bytes", "32"];
    let jedec = json(&args);
    let mut a = args.to_vec();
    a.extend(["--hw", hw.to_str().unwrap()]);
    let ddr = json(&a);
    assert_eq!(ddr["controller"]["ca_nck"].as_u64().unwrap(), 1);
    assert!(
        ddr["efficiency"].as_f64().unwrap() > jedec["efficiency"].as_f64().unwrap(),
        "{ddr} vs {jedec}"
    );
}

#[test]
fn bad_flags_exit_2_naming_flag_and_range() {
    for (args, flag, range) in [
        (vec!["--read-fraction", "1.5"], "--read-fraction", "[0, 1]"),
        (
            vec!["--request-bytes", "48"],
            "--request-bytes",
            "[32, 4096]",
        ),
        (vec!["--requests", "0"], "--requests", "[1, 1000000]"),
        (vec!["--pattern", "zigzag"], "--pattern", "block:BYTES"),
        (
            vec!["--pattern", "block:96"],
            "--pattern",
            "multiple of --request-bytes",
        ),
    ] {
        let mut a = vec!["dram"];
        a.extend(args.iter().copied());
        let o = edgesim(&a);
        let (out, err) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}: partial output {out}");
        assert!(err.contains(flag) && err.contains(range), "{args:?}: {err}");
    }
}

#[test]
fn refresh_filling_trefi_is_rejected_by_sim_run_and_dram() {
    // The 1-layer full-tuning workload that used to run for ever with tRFC 3900 / 3840 ns.
    let dir = tempfile::tempdir().unwrap();
    let wl = dir.path().join("one.toml");
    std::fs::write(
        &wl,
        "[model]\nlayers = 1\nhidden = 1\nffn = 1\nheads = 1\nvocab = 1\n\n[batch]\nseq_len = 1\nmicro_batch_size = 1\nsequences_per_step = 1\n\n[method]\nkind = \"full\"\n",
    )
    .unwrap();
    for rfc in ["3900", "3840"] {
        let hw = hw_file(
            dir.path(),
            &format!("rfc{rfc}.toml"),
            TIMING_LINE,
            &format!("[dram.timing]\nt_rfc_ns = {rfc}\n#"),
        );
        let (hw, wl) = (hw.to_str().unwrap(), wl.to_str().unwrap());
        for args in [
            vec!["sim", "--hw", hw, "--workload", wl],
            vec!["run", "--engine", "cycle", "--hw", hw, "--workload", wl],
            vec!["dram", "--hw", hw],
        ] {
            let o = edgesim(&args);
            let (_, err) = text(&o);
            assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
            assert!(err.contains("dram.timing.t_rfc_ns"), "{args:?}: {err}");
            assert!(err.contains("t_refi_ns"), "{args:?}: {err}");
        }
    }
}

#[test]
fn absurd_data_rates_are_rejected_and_plausible_low_ones_finish() {
    let dir = tempfile::tempdir().unwrap();
    let wl = repo("workloads/tiny_full.toml");
    for rate in ["1", "2", "3", "5"] {
        let hw = hw_file(
            dir.path(),
            &format!("r{rate}.toml"),
            "data_rate_mtps = 3200",
            &format!("data_rate_mtps = {rate}"),
        );
        let hw = hw.to_str().unwrap();
        for args in [
            vec!["sim", "--hw", hw, "--workload", &wl],
            vec!["run", "--engine", "cycle", "--hw", hw, "--workload", &wl],
        ] {
            let o = edgesim(&args);
            let (_, err) = text(&o);
            assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
            assert!(
                err.contains("dram.data_rate_mtps") && err.contains("allowed [533, 4266] MT/s"),
                "{err}"
            );
        }
    }
    // The sweep reports the bad point instead of hanging.
    let spec = dir.path().join("spec.toml");
    std::fs::write(
        &spec,
        format!(
            "base = \"{}\"\nworkloads = [\"{wl}\"]\n[sweep]\n\"dram.data_rate_mtps\" = [5, 3200]\n",
            repo("hw_configs/edge_llm_paper.toml")
        ),
    )
    .unwrap();
    let out = dir.path().join("sweep");
    let o = edgesim(&[
        "sweep",
        "--engine",
        "cycle",
        "--spec",
        spec.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let (stdout, err) = text(&o);
    assert!(
        format!("{stdout}{err}").contains("data_rate_mtps"),
        "exit {:?}: {stdout} {err}",
        o.status.code()
    );
    // LPDDR4 at its slowest speed bin, 533 MT/s (JESD209-4), runs to the end.
    let hw = hw_file(
        dir.path(),
        "r533.toml",
        "data_rate_mtps = 3200",
        "data_rate_mtps = 533",
    );
    let o = edgesim(&["sim", "--hw", hw.to_str().unwrap(), "--workload", &wl]);
    let (_, err) = text(&o);
    assert!(o.status.success(), "{err}");
}
