//! Mapper, grid, cost model, search and `edgesim run`: closed forms, bounds, monotonicity,
//! capacity, determinism and CLI input handling.

use edgesim::cost::synthetic::{SyntheticSpec, synthetic_trace};
use edgesim::cost::{Mode, Model, Placement, Schedule, expand, steps_seconds};
use edgesim::grid::{Grid, Traversal};
use edgesim::hw::HwConfig;
use edgesim::search::{SearchOptions, search};
use edgesim::workload::{BOperand, EntryKind, GemmOp, Pass, Trace, TraceEntry, VectorOp, Workload};
use proptest::prelude::*;

fn entry(label: &str, pass: Pass, gemms: Vec<GemmOp>, vector: Vec<VectorOp>) -> TraceEntry {
    TraceEntry {
        gemms,
        vector_ops: vector,
        ..TraceEntry::empty(label, EntryKind::Decoder, 0, pass)
    }
}

fn gemm(m: u64, k: u64, n: u64, w_bits: u32, a_bits: u32, sparsity: f64) -> GemmOp {
    GemmOp {
        name: "g".into(),
        m,
        k,
        n,
        batch: 1,
        w_bits,
        a_bits,
        sparsity,
        b_operand: BOperand::Weight,
        per_sequence: false,
        a_on_chip: false,
        c_on_chip: false,
    }
}

fn trace(entries: Vec<TraceEntry>, sequences_per_step: u64) -> Trace {
    Trace {
        workload: "test".into(),
        model: "test".into(),
        method: "lora".into(),
        seq_len: 64,
        sequences_per_step,
        micro_batch_size: 1,
        entries,
        idle_weight_bytes: 0,
    }
}

/// Memory and bandwidth effectively unbounded (SSD latency zero).
fn unbounded_memory() -> HwConfig {
    let mut hw = HwConfig::paper_default();
    hw.dram.data_rate_mtps = 1e15;
    hw.ssd.read_gbps = 1e9;
    hw.ssd.write_gbps = 1e9;
    hw.ssd.latency_us = 0.0;
    hw.sram.bandwidth_bytes_per_cycle = 1e12;
    hw
}

fn small_spec() -> SyntheticSpec {
    SyntheticSpec {
        layers: 4,
        backprop_layers: 2,
        hidden: 512,
        ffn: 1376,
        heads: 8,
        seq: 128,
        sequences_per_step: 8,
        w_bits: 4,
        a_bits: 8,
        sparsity: 0.5,
        lora_rank: 8,
    }
}

#[test]
fn unbounded_bandwidth_time_is_the_compute_closed_form() {
    let hw = unbounded_memory();
    // Shapes are multiples of the 32 x 32 array: no edge tiles.
    let g1 = gemm(64, 128, 96, 4, 8, 0.5); // 4x8 bit-flexible: 2*4/16 = 0.5; sparse 1-0.5*0.8 = 0.6
    let g2 = gemm(32, 64, 64, 8, 8, 0.0);
    let vec = VectorOp {
        name: "v".into(),
        elements: 6400,
        ops_per_element: 2.0,
    };
    let tr = trace(
        vec![
            entry("A.fwd", Pass::Fwd, vec![g1.clone()], vec![vec.clone()]),
            entry("A.bwd", Pass::Bwd, vec![g2.clone()], vec![]),
        ],
        4,
    );
    let (r, c, pes, clock) = (32.0, 32.0, 1024.0, 1e9);
    for (s, trav, prefetch) in [
        (1, Traversal::Row, true),
        (1, Traversal::Column, true),
        (2, Traversal::Zigzag(2), false),
        (4, Traversal::Row, true),
    ] {
        let seqs_per_step_block = (s * trav.block_size(4 / s)) as f64;
        let blocks = 4.0 / seqs_per_step_block;
        // Closed form per block: MACs x mac_cost x sparse_fraction / PEs plus the SCALE-Sim
        // preload + fill/drain (2R + C - 2) per fold, folds = (K/R)(N/C); vector elements x
        // ops / 64 lanes.
        let fill = 2.0 * r + c - 2.0;
        let cyc1 = 64.0 * seqs_per_step_block * 128.0 * 96.0 * 0.5 * 0.6 / pes
            + (128.0 / r) * (96.0 / c) * fill;
        let cyc2 =
            32.0 * seqs_per_step_block * 64.0 * 64.0 * 1.0 / pes + (64.0 / r) * (64.0 / c) * fill;
        let vcyc = 6400.0 * seqs_per_step_block * 2.0 / 64.0;
        let expect = blocks * (cyc1 + vcyc + cyc2) / clock;
        let sched = Schedule {
            traversal: trav,
            micro_batch_size: s,
            prefetch,
            recompute: 0,
            placement: Placement::default(),
        };
        let model = Model::new(&hw, &tr).unwrap();
        let got = model
            .evaluate(&sched, Mode::Paper)
            .unwrap()
            .seconds_per_iteration;
        assert!(
            (got - expect).abs() <= 1e-6 * expect,
            "{sched}: {got} vs {expect}"
        );
    }
}

#[test]
fn unbounded_compute_time_is_bytes_over_bandwidth() {
    let mut hw = HwConfig::paper_default();
    hw.clock_ghz = 1e12; // compute and SRAM port take no time
    let mut e = entry(
        "A.fwd",
        Pass::Fwd,
        vec![gemm(64, 128, 96, 8, 8, 0.0)],
        vec![],
    );
    e.weight_bytes = 128 * 96;
    e.act_in_bytes = 64 * 128;
    e.act_out_bytes = 64 * 96;
    let tr = trace(vec![e], 4);
    let bw = hw.dram.peak_bytes_per_s();
    for s in [1u64, 2, 4] {
        // Everything fits the SRAM: A, B, C cross the DRAM interface once per step.
        let reads = (128 * 96 + 64 * s * 128) as f64;
        let writes = (64 * s * 96) as f64;
        let blocks = (4 / s) as f64;
        let sched = Schedule::vanilla(s);
        let got = edgesim::cost::evaluate(&hw, &tr, &sched, Mode::Paper)
            .unwrap()
            .seconds_per_iteration;
        // No prefetch: load then store.
        let expect = blocks * (reads + writes) / bw;
        assert!(
            (got - expect).abs() <= 1e-6 * expect,
            "s={s}: {got} vs {expect}"
        );
        // Prefetch, paper mode: the larger direction per step.
        let mut p = sched;
        p.prefetch = true;
        let ev = edgesim::cost::evaluate(&hw, &tr, &p, Mode::Paper).unwrap();
        let expect = blocks * reads.max(writes) / bw;
        assert!((ev.seconds_per_iteration - expect).abs() <= 1e-6 * expect);
        // Shared bus: both directions on one bus.
        let ev = edgesim::cost::evaluate(&hw, &tr, &p, Mode::SharedBus).unwrap();
        let expect = blocks * (reads + writes) / bw;
        assert!((ev.seconds_per_iteration - expect).abs() <= 1e-6 * expect);
    }
}

fn all_schedules(tr: &Trace, model: &Model) -> Vec<Schedule> {
    let mut v = Vec::new();
    for s in [1u64, 2, 4, 8] {
        let n = tr.sequences_per_step / s;
        let mut travs = vec![Traversal::Row, Traversal::Column];
        travs.extend(
            (2..n)
                .filter(|b| n.is_multiple_of(*b))
                .map(Traversal::Zigzag),
        );
        for t in travs {
            for prefetch in [false, true] {
                for k in [0, model.recompute_order().len() as u32] {
                    for (fw, fs, fo) in [(0.0, 0.0, 0.0), (0.5, 0.25, 1.0), (1.0, 1.0, 0.0)] {
                        v.push(Schedule {
                            traversal: t,
                            micro_batch_size: s,
                            prefetch,
                            recompute: k,
                            placement: Placement {
                                weights_on_ssd: fw,
                                saved_on_ssd: fs,
                                optimizer_on_ssd: fo,
                            },
                        });
                    }
                }
            }
        }
    }
    v
}

#[test]
fn closed_form_agrees_with_expanded_steps() {
    let hw = HwConfig::paper_default();
    let tr = synthetic_trace(&small_spec());
    let model = Model::new(&hw, &tr).unwrap();
    let grid = Grid::new(&tr, 8);
    for s in all_schedules(&tr, &model) {
        let steps = expand(&hw, &tr, &s).unwrap();
        let n = tr.sequences_per_step / s.micro_batch_size;
        assert_eq!(
            steps.len(),
            (n / s.traversal.block_size(n)) as usize * tr.entries.len() + 1
        );
        for mode in Mode::ALL {
            let closed = model.evaluate(&s, mode).unwrap().seconds_per_iteration;
            let summed = steps_seconds(&hw, mode, s.prefetch, &steps);
            assert!(
                (closed - summed).abs() <= 1e-6 * closed,
                "{s} {mode}: {closed} vs {summed}"
            );
        }
        // Every dependency points backwards.
        for st in &steps {
            assert!(st.deps.iter().all(|&d| d < st.index));
        }
        // Occupancy tracked through the traversal never exceeds the reported peaks, and
        // the saved tensors of a block peak at its forward/backward turn.
        let ev = model.evaluate(&s, Mode::Paper).unwrap();
        let max_dram = steps.iter().map(|st| st.dram_bytes).max().unwrap() as f64;
        let max_ssd = steps.iter().map(|st| st.ssd_bytes).max().unwrap() as f64;
        assert!(
            max_dram <= ev.peak_bytes.dram + 2.0,
            "{s}: {max_dram} > {}",
            ev.peak_bytes.dram
        );
        assert!(max_ssd <= ev.peak_bytes.ssd + 2.0);
        if s.placement.saved_on_ssd == 1.0 && s.placement.optimizer_on_ssd == 0.0 {
            assert!((max_ssd - ev.peak_bytes.ssd).abs() <= 2.0);
        }
        // The squares of the steps, in order, form a topological order of the grid when
        // the micro-batch size is 1.
        if s.micro_batch_size == 1 {
            let order: Vec<_> = steps
                .iter()
                .filter_map(|st| st.column.map(|c| (st, c)))
                .flat_map(|(st, c)| {
                    (st.first_micro_batch..st.first_micro_batch + st.micro_batches).map(move |i| {
                        edgesim::grid::Square {
                            micro_batch: i,
                            column: c,
                        }
                    })
                })
                .collect();
            assert!(grid.is_topological(&order));
        }
    }
}

fn real(name: &str) -> Trace {
    Workload::embedded(name).unwrap().trace().unwrap()
}

#[test]
fn traversals_of_real_workloads_are_topological() {
    for name in ["llama7b_lora", "llama7b_edge_llm_b5"] {
        let tr = real(name);
        let g = Grid::new(&tr, 16);
        for t in [
            Traversal::Row,
            Traversal::Column,
            Traversal::Zigzag(2),
            Traversal::Zigzag(4),
            Traversal::Zigzag(8),
        ] {
            assert!(g.is_topological(&g.order(t)), "{name} {t}");
        }
    }
}

#[test]
fn more_dram_bandwidth_or_sram_never_slows_the_time_optimum() {
    for tr in [synthetic_trace(&small_spec()), real("llama7b_edge_llm_b5")] {
        let base = HwConfig::paper_default();
        for mode in Mode::ALL {
            // The time optimum is monotone; the chosen (least-memory within the slack)
            // schedule need not be, its time only stays within the slack.
            let o = SearchOptions::default().with_mode(mode);
            let t0 = search(&base, &tr, &o).optimal_seconds.unwrap();
            let mut bw = base.clone();
            bw.dram.data_rate_mtps *= 2.0;
            let t1 = search(&bw, &tr, &o).optimal_seconds.unwrap();
            let mut sram = base.clone();
            sram.sram.capacity_kib *= 2.0;
            let t2 = search(&sram, &tr, &o).optimal_seconds.unwrap();
            assert!(t1 <= t0 * (1.0 + 1e-12), "{mode} DRAM x2: {t1} > {t0}");
            // Tiles are chosen per GEMM (least GEMM time, then traffic), not per step: with
            // fp16 GEMMs at 9.4 native-MAC slots, doubling the SRAM lets the mapper pick a
            // tile whose extra DRAM traffic surfaces in the chained term (measured +0.015%,
            // chained, Edge-LLM b5). Within 0.1%; a per-step tile objective would be exact.
            assert!(t2 <= t0 * (1.0 + 1e-3), "{mode} SRAM x2: {t2} > {t0}");
        }
    }
}

#[test]
fn dram_overflow_moves_data_to_ssd_or_is_infeasible() {
    let tr = real("llama7b_lora");
    // 8-bit LLaMA-7B weights alone (~6.3 GiB + heads) exceed 4 GiB.
    let mut hw = HwConfig::paper_default();
    hw.dram.capacity_gib = 4.0;
    let r = search(&hw, &tr, &SearchOptions::default());
    let best = r.best.expect("SSD holds the overflow");
    assert!(best.peak_bytes.dram <= hw.dram.capacity_bytes() as f64);
    assert!(best.schedule.placement.weights_on_ssd > 0.0);
    assert!(r.lower_bound.ssd_seconds > 0.0);
    assert!(best.seconds_per_iteration >= r.lower_bound.seconds);
    // Vanilla keeps what fits in DRAM, the rest on the SSD, and stays within capacity.
    let v = search(&hw, &tr, &SearchOptions::vanilla()).best.unwrap();
    assert!(v.peak_bytes.dram <= hw.dram.capacity_bytes() as f64);
    // No SSD room either: infeasible, with the tier named.
    hw.ssd.capacity_gib = 1.0;
    let r = search(&hw, &tr, &SearchOptions::default());
    assert!(r.best.is_none());
    let reason = r.reason.unwrap();
    assert!(
        reason.contains("DRAM") || reason.contains("SSD"),
        "{reason}"
    );
}

#[test]
fn search_is_deterministic_and_within_its_bound() {
    let hw = HwConfig::paper_default();
    let tr = real("llama7b_lora");
    let a = search(&hw, &tr, &SearchOptions::default());
    let b = search(&hw, &tr, &SearchOptions::default());
    assert_eq!(a, b);
    let best = a.best.unwrap();
    assert!(best.feasible);
    assert!(best.seconds_per_iteration >= a.lower_bound.seconds);
    // The full search's optimum is never slower than the vanilla restriction, and the
    // chosen schedule is within the slack of it with no more memory.
    let v = search(&hw, &tr, &SearchOptions::vanilla()).best.unwrap();
    let opt = a.optimal_seconds.unwrap();
    assert!(opt <= v.seconds_per_iteration);
    assert!(best.seconds_per_iteration <= (1.0 + a.time_slack) * opt);
    assert!(best.memory_bytes <= a.optimal_memory_bytes.unwrap());
    assert_eq!(v.schedule.traversal, Traversal::Row);
    assert!(!v.schedule.prefetch);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn every_schedule_is_at_least_the_lower_bound(
        s_exp in 0u32..4, trav in 0u8..3, prefetch: bool, k in 0u32..3,
        fw in 0u32..=20, fs in 0u32..=20, fo in 0u32..=20, mode_i in 0usize..3,
        dram_x in 0.25f64..4.0, sram_x in 0.25f64..4.0,
    ) {
        let mut hw = HwConfig::paper_default();
        hw.dram.data_rate_mtps *= dram_x;
        hw.sram.capacity_kib *= sram_x;
        let tr = synthetic_trace(&small_spec());
        let model = Model::new(&hw, &tr).unwrap();
        let s = 1u64 << s_exp;
        let n = 8 / s;
        let traversal = match trav {
            0 => Traversal::Row,
            1 => Traversal::Column,
            _ => Traversal::Zigzag(if n >= 2 { 2 } else { 1 }),
        };
        let sched = Schedule {
            traversal, micro_batch_size: s, prefetch, recompute: k,
            placement: Placement {
                weights_on_ssd: fw as f64 / 20.0,
                saved_on_ssd: fs as f64 / 20.0,
                optimizer_on_ssd: fo as f64 / 20.0,
            },
        };
        let mode = Mode::ALL[mode_i];
        let ev = model.evaluate(&sched, mode).unwrap();
        let lb = model.lower_bound(mode);
        prop_assert!(ev.seconds_per_iteration >= lb.compute_seconds.max(lb.dram_seconds) * (1.0 - 1e-12));
        if ev.feasible {
            prop_assert!(ev.seconds_per_iteration >= lb.seconds * (1.0 - 1e-12));
            prop_assert!(ev.peak_bytes.dram <= hw.dram.capacity_bytes() as f64);
        }
    }
}

fn edgesim(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_edgesim"))
        .args(args)
        .output()
        .expect("binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn run_default_json_compares_the_paper_workloads() {
    let (code, out, err) = edgesim(&["run", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("one JSON document");
    let rs = v["results"].as_array().unwrap();
    assert_eq!(rs.len(), 2);
    assert_eq!(rs[0]["workload"], "llama7b_lora");
    for r in rs {
        assert_eq!(r["feasible"], true);
        assert!(
            r["seconds_per_iteration"].as_f64().unwrap()
                >= r["lower_bound_seconds"].as_f64().unwrap()
        );
        assert!(r["peak_bytes"]["dram"].as_f64().unwrap() <= 8.0 * (1u64 << 30) as f64);
    }
    let sp = v["speedup"].as_f64().unwrap();
    let t0 = rs[0]["seconds_per_iteration"].as_f64().unwrap();
    let t1 = rs[1]["seconds_per_iteration"].as_f64().unwrap();
    assert!((sp - t0 / t1).abs() < 1e-9 * sp);
    assert!(v["norm_mem"].as_f64().unwrap() > 0.0);
}

#[test]
fn run_time_slack_trades_time_for_memory_and_shows_the_front() {
    let json = |args: &[&str]| -> serde_json::Value {
        let (code, out, err) = edgesim(args);
        assert_eq!(code, 0, "{err}");
        serde_json::from_str(&out).expect("one JSON document")
    };
    let pure = json(&["run", "--json", "--time-slack", "0", "--pareto"]);
    let slack = json(&["run", "--json", "--time-slack", "5"]);
    for (p, s) in pure["results"]
        .as_array()
        .unwrap()
        .iter()
        .zip(slack["results"].as_array().unwrap())
    {
        let f = |v: &serde_json::Value, k: &str| v[k].as_f64().unwrap();
        // Slack 0: the time optimum itself.
        assert_eq!(f(p, "seconds_per_iteration"), f(p, "optimal_seconds"));
        assert_eq!(f(p, "time_slack"), 0.0);
        // 5%: the same optimum, a chosen time within 5% of it and no more memory.
        assert_eq!(f(s, "time_slack"), 0.05);
        assert_eq!(f(s, "optimal_seconds"), f(p, "optimal_seconds"));
        assert!(f(s, "seconds_per_iteration") <= 1.05 * f(s, "optimal_seconds"));
        assert!(f(s, "memory_bytes") <= f(p, "memory_bytes"));
        assert!(s.get("pareto").is_none());
        // The front: memory ascending, time descending, ending at the optimum; every
        // point at or below 5% slack is no smaller than the 5% choice.
        let front = p["pareto"].as_array().unwrap();
        assert!(front.len() >= 2);
        for w in front.windows(2) {
            assert!(f(&w[0], "memory_bytes") < f(&w[1], "memory_bytes"));
            assert!(f(&w[0], "seconds_per_iteration") > f(&w[1], "seconds_per_iteration"));
        }
        let last = front.last().unwrap();
        assert_eq!(f(last, "seconds_per_iteration"), f(p, "optimal_seconds"));
        let least_within = front
            .iter()
            .filter(|q| f(q, "seconds_per_iteration") <= 1.05 * f(p, "optimal_seconds"))
            .map(|q| f(q, "memory_bytes"))
            .fold(f64::INFINITY, f64::min);
        assert_eq!(least_within, f(s, "memory_bytes"));
    }
    // The text report names the fastest time when the choice differs from it.
    let (code, out, _) = edgesim(&["run", "--time-slack", "5"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("fastest schedule") && out.contains("within 5% of it"),
        "{out}"
    );
}

#[test]
fn run_rejects_bad_input_with_exit_2() {
    let (code, _, err) = edgesim(&["run", "--workload", "/nonexistent/w.toml"]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/w.toml"), "{err}");
    let (code, _, err) = edgesim(&["run", "--mode", "fastest"]);
    assert_eq!(code, 2);
    assert!(err.contains("mode") && err.contains("shared-bus"), "{err}");
    let (code, _, err) = edgesim(&["run", "--max-memory-gib=0"]);
    assert_eq!(code, 2);
    assert!(err.contains("--max-memory-gib"), "{err}");
    for bad in ["-1", "100.5", "NaN"] {
        let (code, out, err) = edgesim(&["run", &format!("--time-slack={bad}")]);
        assert_eq!(code, 2, "{bad}");
        assert!(out.is_empty());
        assert!(
            err.contains("--time-slack") && err.contains("0..=100"),
            "{err}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("hw.toml");
    let text = edgesim::hw::DEFAULT_HW_TOML.replace("capacity_kib = 1024", "capacity_kib = -5");
    std::fs::write(&bad, text).unwrap();
    let (code, _, err) = edgesim(&["run", "--hw", bad.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("sram.capacity_kib"), "{err}");
}

#[test]
fn energy_is_the_sum_of_per_access_energies() {
    let mut hw = HwConfig::paper_default();
    let mut e = entry(
        "A.fwd",
        Pass::Fwd,
        vec![gemm(64, 128, 96, 4, 8, 0.5)],
        vec![],
    );
    e.weight_bytes = 128 * 96 * 3 / 8; // 4-bit at 50%: 2 value bits + 1 bitmap bit
    e.act_in_bytes = 64 * 128;
    e.act_out_bytes = 64 * 96;
    let tr = trace(vec![e], 2);
    let s = Schedule::vanilla(1);
    // MACs only: 2 sequences x 64 x 128 x 96 MACs x mac_cost 0.5 x the 1 - 0.5 of MACs
    // whose weight is non-zero (zero skipping at 80% efficiency saves 40% of the cycles,
    // but only the non-zero half of the MACs fire and cost energy; cost::energy).
    hw.sram.energy_pj_per_byte = 0.0;
    hw.dram.energy_pj_per_byte = 0.0;
    hw.ssd.energy_pj_per_byte = 0.0;
    hw.ssd.write_energy_pj_per_byte = 0.0;
    hw.compute.vector_energy_pj = 0.0;
    hw.compute.mac_energy_pj = 1.0;
    // Dynamic energy only: no static power (its own test is in cost::model).
    hw.compute.static_mw = 0.0;
    hw.sram.static_mw = 0.0;
    hw.dram.static_mw = 0.0;
    hw.ssd.static_mw = 0.0;
    let macs = 2.0 * 64.0 * 128.0 * 96.0 * 0.5 * 0.5;
    let got = edgesim::cost::evaluate(&hw, &tr, &s, Mode::Paper)
        .unwrap()
        .energy_joules;
    assert!((got - macs * 1e-12).abs() <= 1e-9 * macs * 1e-12);
    // DRAM only: every byte of every transfer touching DRAM, here A, B, C once per step.
    hw.compute.mac_energy_pj = 0.0;
    hw.dram.energy_pj_per_byte = 1.0;
    let bytes = 2.0 * ((128 * 96 * 3 / 8) as f64 + (64 * 128) as f64 + (64 * 96) as f64);
    let got = edgesim::cost::evaluate(&hw, &tr, &s, Mode::Paper)
        .unwrap()
        .energy_joules;
    assert!((got - bytes * 1e-12).abs() <= 1e-9 * bytes * 1e-12, "{got}");
}

#[test]
fn sram_too_small_for_any_tile_is_infeasible() {
    let mut hw = HwConfig::paper_default();
    // The smallest tile (1 x 32 x 32 at 8 bit + 32-bit accumulators) needs 1,184 bytes.
    hw.sram.capacity_kib = 1.0;
    let tr = synthetic_trace(&small_spec());
    let r = search(&hw, &tr, &SearchOptions::default());
    assert!(r.best.is_none());
    assert!(r.reason.unwrap().contains("SRAM"));
}

#[test]
fn run_reports_infeasible_workloads_without_failing() {
    let dir = tempfile::tempdir().unwrap();
    let hw = dir.path().join("tiny.toml");
    let text = edgesim::hw::DEFAULT_HW_TOML
        .replace("capacity_gib = 8 ", "capacity_gib = 1 ")
        .replace("capacity_gib = 256", "capacity_gib = 1");
    std::fs::write(&hw, text).unwrap();
    let (code, out, err) = edgesim(&["run", "--json", "--hw", hw.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    for r in v["results"].as_array().unwrap() {
        assert_eq!(r["feasible"], false);
        assert!(r["infeasible_reason"].as_str().unwrap().contains("GiB"));
        assert!(r["seconds_per_iteration"].is_null());
    }
    assert!(v["speedup"].is_null() && v["norm_mem"].is_null());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]
    #[test]
    fn doubling_dram_bandwidth_or_sram_never_slows_random_hardware(
        dram_x in 0.02f64..2.0, sram_kib in 16.0f64..2048.0, dram_mib in 1.5f64..64.0,
        ssd_x in 0.01f64..2.0, mode_i in 0usize..3,
    ) {
        let mut hw = HwConfig::paper_default();
        hw.dram.data_rate_mtps *= dram_x;
        hw.sram.capacity_kib = sram_kib;
        hw.dram.capacity_gib = dram_mib / 1024.0;
        hw.ssd.read_gbps *= ssd_x;
        hw.ssd.write_gbps *= ssd_x;
        let tr = synthetic_trace(&small_spec());
        let o = SearchOptions::default().with_mode(Mode::ALL[mode_i]);
        let t0 = search(&hw, &tr, &o).optimal_seconds;
        let mut bw = hw.clone();
        bw.dram.data_rate_mtps *= 2.0;
        let mut sram = hw.clone();
        sram.sram.capacity_kib *= 2.0;
        for faster in [bw, sram] {
            let t1 = search(&faster, &tr, &o).optimal_seconds;
            match (t0, t1) {
                (Some(a), Some(b)) => prop_assert!(b <= a * (1.0 + 1e-12), "{b} > {a}"),
                (Some(_), None) => prop_assert!(false, "feasible became infeasible"),
                _ => {}
            }
        }
    }
}
