//! The cycle-level simulator against the analytic model on the shipped workloads and
//! hardware files, and the `edgesim sim` command's input handling.

use edgesim::cost::{self, Mode, Model};
use edgesim::hw::HwConfig;
use edgesim::search::SearchOptions;
use edgesim::sim::attribution::attribute;
use edgesim::sim::replay::{options_for, replay_best};
use edgesim::sim::{SimOptions, simulate};
use edgesim::workload::{Trace, Workload};
use std::path::Path;

fn hw(name: &str) -> HwConfig {
    HwConfig::from_file(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("hw_configs")
            .join(name),
    )
    .unwrap()
}

fn workload(name: &str) -> Trace {
    let w = if name.ends_with(".toml") {
        Workload::from_file(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("workloads")
                .join(name),
        )
        .unwrap()
    } else {
        Workload::embedded(name).unwrap()
    };
    w.trace().unwrap()
}

/// (hardware, workload, search options) cases: the default LLaMA-7B workloads on the
/// paper's and the Jetson-class hardware, the tiny workloads on all three files; best and
/// vanilla schedules.
fn cases() -> Vec<(HwConfig, Trace, SearchOptions, String)> {
    let mut v = Vec::new();
    let tiny = [
        "tiny_lora.toml",
        "tiny_full.toml",
        "tiny_edge_llm.toml",
        "tiny_partial.toml",
        "tiny_lst.toml",
    ];
    for h in [
        "edge_llm_paper.toml",
        "jetson_tx2_class.toml",
        "shao_vlsi23.toml",
    ] {
        let mut names: Vec<&str> = tiny.to_vec();
        if h != "shao_vlsi23.toml" {
            names.extend(["llama7b_lora", "llama7b_edge_llm_b5"]);
        }
        for n in names {
            for (so, tag) in [
                (SearchOptions::default(), "best"),
                (SearchOptions::vanilla(), "vanilla"),
            ] {
                v.push((hw(h), workload(n), so, format!("{n} on {h} ({tag})")));
            }
        }
    }
    v
}

#[test]
fn simulator_agrees_with_analytic_paper_under_its_assumptions_and_never_beats_the_bound() {
    for (hw, trace, so, name) in cases() {
        let r = match replay_best(&hw, &trace, &so, SimOptions::full()) {
            Ok(r) => r,
            Err(_) => continue, // infeasible on this hardware: nothing to replay
        };
        let prefetch = r.evaluation.schedule.prefetch;
        let paper = cost::steps_seconds(&hw, Mode::Paper, prefetch, &r.steps);
        let ideal = simulate(
            &hw,
            &r.sim_steps,
            &options_for(prefetch, SimOptions::ideal()),
        )
        .unwrap();
        // Ideal DRAM and independent links: the analytic model's assumptions.
        let rel = ideal.report.seconds / paper - 1.0;
        assert!(
            rel.abs() < 0.02,
            "{name}: ideal sim {} vs paper {paper} ({rel:+.4})",
            ideal.report.seconds
        );
        // With contention and LPDDR4 timing: never below the shared-bus lower bound of the
        // trace (compute, all compulsory DRAM-side traffic on one bus, SSD traffic).
        let lb = Model::new(&hw, &trace)
            .unwrap()
            .lower_bound(Mode::SharedBus)
            .seconds;
        let full = r.sim.report.seconds;
        assert!(
            full >= lb * (1.0 - 1e-9),
            "{name}: sim {full} below shared-bus bound {lb}"
        );
        // Every effect only adds time.
        assert!(
            full >= ideal.report.seconds * (1.0 - 1e-9),
            "{name}: full {full} < ideal"
        );
    }
}

/// `a` and `b` agree to `rel` of the larger (or both are below 1 nJ).
fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()) || (a - b).abs() < 1e-9
}

#[test]
fn simulated_energy_equals_analytic_energy_by_component() {
    for (hw, trace, so, name) in cases() {
        let r = match replay_best(&hw, &trace, &so, SimOptions::full()) {
            Ok(r) => r,
            Err(_) => continue,
        };
        let e = &r.evaluation;
        let a = e.energy_breakdown;
        assert!(close(a.total(), e.energy_joules, 1e-12), "{name}: total");
        // The rule re-derived from the expanded steps (cost::energy module doc): SRAM =
        // DMA fills + drains + array port bytes; DRAM = both DMA directions + both SSD
        // directions; SSD = both SSD directions; pJ -> J.
        let sum = |f: &dyn Fn(&cost::Step) -> f64| r.steps.iter().map(f).sum::<f64>();
        let dma = sum(&|s| (s.r_to_sram.total() + s.w_to_dram.total()) as f64);
        let ssd_r = sum(&|s| s.r_to_dram.total() as f64);
        let ssd_w = sum(&|s| s.w_to_ssd.total() as f64);
        let ssd = ssd_r + ssd_w;
        let fp16 = sum(&|s| s.fp16_macs);
        let port = sum(&|s| s.sram_port_bytes as f64);
        let macs = sum(&|s| s.native_macs);
        let ops = sum(&|s| s.vector_ops);
        let c = &hw.compute;
        let hand = [
            macs * c.mac_energy_pj * 1e-12 + fp16 * c.fp16_mac_energy_pj * 1e-12,
            ops * c.vector_energy_pj * 1e-12,
            (dma + port) * hw.sram.energy_pj_per_byte * 1e-12,
            (dma + ssd) * hw.dram.energy_pj_per_byte * 1e-12,
            ssd_r * hw.ssd.energy_pj_per_byte * 1e-12
                + ssd_w * hw.ssd.write_energy_pj_per_byte * 1e-12,
        ];
        let prefetch = e.schedule.prefetch;
        let ideal = simulate(
            &hw,
            &r.sim_steps,
            &options_for(prefetch, SimOptions::ideal()),
        )
        .unwrap();
        // Timing effects change when bytes move, not how many: the ideal and the full
        // replay charge the same energy, equal to the analytic one (up to the rounding of
        // each step's bytes to whole bytes in the expansion).
        for (tag, rep) in [("ideal", &ideal.report), ("full", &r.sim.report)] {
            let b = rep.energy;
            let parts = [
                ("mac", a.mac, b.mac, hand[0]),
                ("vector", a.vector, b.vector, hand[1]),
                ("sram", a.sram, b.sram, hand[2]),
                ("dram", a.dram, b.dram, hand[3]),
                ("ssd", a.ssd, b.ssd, hand[4]),
            ];
            for (k, analytic, sim, by_hand) in parts {
                assert!(
                    close(analytic, sim, 1e-6) && close(sim, by_hand, 1e-9),
                    "{name} {tag} {k}: analytic {analytic} sim {sim} hand {by_hand}"
                );
            }
            // Static energy follows each view's own time: static_mw x seconds.
            let st = hw.static_mw() * 1e-3 * rep.seconds;
            assert!(close(b.static_total(), st, 1e-9), "{name} {tag}: static");
            assert!(
                close(b.dynamic(), e.energy_breakdown.dynamic(), 1e-6),
                "{name} {tag}: sim dynamic {} J vs analytic dynamic {} J",
                b.dynamic(),
                e.energy_breakdown.dynamic()
            );
        }
    }
}

#[test]
fn attribution_explains_the_gap_and_finds_contention_on_a_dram_bound_schedule() {
    let hw = hw("edge_llm_paper.toml");
    let trace = workload("tiny_full.toml");
    let r = replay_best(&hw, &trace, &SearchOptions::default(), SimOptions::full()).unwrap();
    let a = attribute(&hw, &trace, &r).unwrap();
    // pipeline + single effects + interaction = sim - analytic paper, by construction of
    // the interaction term; check the bookkeeping.
    let total: f64 = a.effects.iter().map(|e| e.seconds).sum();
    assert!((total - (a.sim_seconds - a.analytic_paper_seconds)).abs() < 1e-12);
    assert!(a.ideal_vs_paper.abs() < 0.02);
    // This schedule moves more DRAM bytes than it computes for: sharing the bus must be
    // its largest single effect, and every DRAM effect costs something.
    let get = |n: &str| a.effects.iter().find(|e| e.name == n).unwrap().seconds;
    let biggest = a
        .effects
        .iter()
        .filter(|e| e.name != "pipeline" && e.name != "interaction")
        .map(|e| e.seconds)
        .fold(f64::MIN, f64::max);
    assert_eq!(get("shared_bus_contention"), biggest);
    for n in ["read_write_turnaround", "refresh", "row_misses"] {
        assert!(get(n) > 0.0, "{n} costs nothing");
    }
    assert!(a.sim_seconds >= a.analytic_shared_bus_seconds);
}

fn edgesim(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_edgesim"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn sim_command_rejects_bad_input_with_exit_code_2_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let tl = dir.path().join("t.json");
    let tl_s = tl.to_str().unwrap();
    let o = edgesim(&[
        "sim",
        "--workload",
        "llama7b_lora",
        "--disable",
        "warp-drive",
        "--timeline",
        tl_s,
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--disable") && err.contains("warp-drive") && err.contains("refresh"),
        "{err}"
    );
    let o = edgesim(&[
        "sim",
        "--workload",
        "no_such_workload.toml",
        "--timeline",
        tl_s,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!tl.exists());
}

#[test]
fn sim_command_json_and_timeline() {
    let dir = tempfile::tempdir().unwrap();
    let tl = dir.path().join("t.json");
    let g = dir.path().join("g.png");
    let wl = Path::new(env!("CARGO_MANIFEST_DIR")).join("workloads/tiny_lora.toml");
    let o = edgesim(&[
        "sim",
        "--workload",
        wl.to_str().unwrap(),
        "--json",
        "--timeline",
        tl.to_str().unwrap(),
        "--gantt",
        g.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let cycles = v["sim"]["cycles"].as_u64().unwrap();
    assert!(cycles > 0);
    let secs = v["sim"]["seconds"].as_f64().unwrap();
    assert!((secs - cycles as f64 / 1e9).abs() < 1e-12); // 1 GHz clock
    assert!(v["sim"]["utilization"]["mac_array"].as_f64().unwrap() <= 1.0);
    let trace: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&tl).unwrap()).unwrap();
    assert!(
        trace["traceEvents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["ph"] == "X")
    );
    assert!(g.exists() && g.with_extension("svg").exists());
}
