//! `--schedule SPEC`: a schedule the user gives is evaluated instead of searched.
//!
//! Round trip: for every shipped workload and hardware file, the schedule a search prints,
//! read back and evaluated, gives the search's figures bit for bit, and prints back as
//! the same line. CLI: `run`, `sim` and `sweep` accept the one-line form and the
//! `[schedule]` TOML file; bad specs exit 2 naming the token; infeasible schedules carry
//! their reason.

use edgesim::cost::{Mode, Schedule};
use edgesim::hw::HwConfig;
use edgesim::search::{SearchOptions, evaluate_given, search};
use edgesim::workload::Workload;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn toml_files(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    v.sort();
    v
}

#[test]
fn printed_schedules_of_every_shipped_workload_and_hardware_round_trip_exactly() {
    let workloads = toml_files("workloads");
    let hws = toml_files("hw_configs");
    assert!(workloads.len() >= 10 && hws.len() >= 3);
    let mut checked = 0;
    let mut on_ssd = 0;
    for hw_path in &hws {
        let hw = HwConfig::from_file(hw_path).unwrap();
        for w in &workloads {
            let trace = Workload::from_file(w).unwrap().trace().unwrap();
            // The default mode and the shared bus (schedules differ between them).
            for mode in [SearchOptions::default().mode, Mode::SharedBus] {
                let r = search(&hw, &trace, &SearchOptions::default().with_mode(mode));
                let what = format!("{} on {} ({mode})", w.display(), hw_path.display());
                let Some(b) = r.best else {
                    panic!("{what}: no feasible schedule: {:?}", r.reason)
                };
                let text = b.schedule.to_string();
                let s: Schedule = text.parse().unwrap();
                assert_eq!(s.to_string(), text, "{what}");
                let g = evaluate_given(&hw, &trace, &s, mode);
                let e = g.best.unwrap_or_else(|| panic!("{what}: {:?}", g.reason));
                assert_eq!(
                    e.seconds_per_iteration.to_bits(),
                    b.seconds_per_iteration.to_bits(),
                    "{what}: {text}"
                );
                assert_eq!(e.memory_bytes.to_bits(), b.memory_bytes.to_bits(), "{what}");
                assert_eq!(
                    e.energy_joules.to_bits(),
                    b.energy_joules.to_bits(),
                    "{what}"
                );
                for (x, y) in [
                    (e.peak_bytes.sram, b.peak_bytes.sram),
                    (e.peak_bytes.dram, b.peak_bytes.dram),
                    (e.peak_bytes.ssd, b.peak_bytes.ssd),
                    (e.lower_bound_seconds, b.lower_bound_seconds),
                    (e.gap, b.gap),
                ] {
                    assert_eq!(x.to_bits(), y.to_bits(), "{what}");
                }
                // The whole evaluation, bounding terms and energy breakdown included.
                assert_eq!(e, b, "{what}");
                let p = s.placement;
                if p.weights_on_ssd + p.saved_on_ssd + p.optimizer_on_ssd > 0.0 {
                    on_ssd += 1;
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 2 * workloads.len() * hws.len());
    // Placements on the SSD are where the percentages must read back as grid points.
    assert!(
        on_ssd > 0,
        "no searched schedule placed anything on the SSD"
    );
}

fn edgesim(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_edgesim"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    assert!(o.status.success(), "{}", stderr(o));
    serde_json::from_slice(&o.stdout).unwrap()
}

const TINY: &str = "workloads/tiny_lora.toml";

/// The schedule line of `run`'s text report.
fn printed_schedule(text: &str) -> String {
    text.lines()
        .find_map(|l| l.trim().strip_prefix("schedule "))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| panic!("no schedule line in\n{text}"))
}

#[test]
fn run_evaluates_the_printed_schedule_to_the_searched_figures() {
    let r = root();
    let searched = edgesim(&r, &["run", "--workload", TINY, "--mode", "paper"]);
    assert!(searched.status.success(), "{}", stderr(&searched));
    let line = printed_schedule(&stdout(&searched));
    let a = json(&edgesim(
        &r,
        &["run", "--workload", TINY, "--mode", "paper", "--json"],
    ));
    let b = json(&edgesim(
        &r,
        &[
            "run",
            "--workload",
            TINY,
            "--mode",
            "paper",
            "--json",
            "--schedule",
            &line,
        ],
    ));
    let (a, b) = (&a["results"][0], &b["results"][0]);
    assert_eq!(a["schedule_source"], "search");
    assert_eq!(b["schedule_source"], "given");
    for k in [
        "seconds_per_iteration",
        "memory_bytes",
        "energy_joules",
        "lower_bound_seconds",
        "gap_pct",
        "peak_bytes",
        "schedule",
        "feasible",
        "bound",
    ] {
        assert!(!a[k].is_null(), "{k}");
        assert_eq!(a[k], b[k], "{k}");
    }
    assert_eq!(b["candidates_evaluated"], 1);
    // The text report of the given schedule prints the same line.
    let given = edgesim(&r, &["run", "--workload", TINY, "--schedule", &line]);
    assert!(given.status.success(), "{}", stderr(&given));
    let text = stdout(&given);
    assert!(
        text.starts_with(&format!(
            "given schedule (--schedule, not searched): {line}\n"
        )),
        "{text}"
    );
    assert_eq!(printed_schedule(&text), line);
}

#[test]
fn a_toml_schedule_file_is_the_same_schedule() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("mine.toml");
    std::fs::write(
        &f,
        "[schedule]\ntraversal = \"column\"\nmicro_batch_size = 1\nprefetch = true\n\
         recompute = 2\nsaved_on_ssd = \"70%\"\noptimizer_on_ssd = 0.25\n",
    )
    .unwrap();
    let r = root();
    let hw = r.join("hw_configs/edge_llm_paper.toml");
    let tiny = r.join(TINY);
    let args = |spec: &str| {
        vec![
            "run".to_string(),
            "--hw".into(),
            hw.display().to_string(),
            "--workload".into(),
            tiny.display().to_string(),
            "--json".into(),
            "--schedule".into(),
            spec.to_string(),
        ]
    };
    let run = |spec: &str| {
        let a = args(spec);
        json(&edgesim(
            dir.path(),
            &a.iter().map(String::as_str).collect::<Vec<_>>(),
        ))
    };
    let from_file = run("mine.toml");
    let line = "column micro-batch 1 prefetch on recompute 2 ssd w/s/o 0%/70%/25%";
    let from_line = run(line);
    assert_eq!(from_file, from_line);
    assert_eq!(from_file["given_schedule"], line);
    let e = &from_file["results"][0];
    assert_eq!(e["schedule"]["traversal"], "column");
    assert_eq!(e["schedule"]["recomputed_columns"], 2);
    assert_eq!(e["schedule"]["saved_on_ssd"], 14.0 * 0.05);
    assert_eq!(e["schedule"]["optimizer_on_ssd"], 0.25);
    assert!(e["seconds_per_iteration"].as_f64().unwrap() > 0.0);
}

#[test]
fn bad_specs_exit_2_naming_the_token_and_the_allowed_values() {
    let r = root();
    let cases: [(&[&str], &str); 6] = [
        (
            &[
                "run",
                "--workload",
                TINY,
                "--schedule",
                "row micro-batch 1 prefetch yes recompute 0 ssd w/s/o 0%/0%/0%",
            ],
            "--schedule: prefetch: `yes`: expected on or off",
        ),
        (
            &[
                "run",
                "--workload",
                TINY,
                "--schedule",
                "row micro-batch 1 prefetch on recompute 0 ssd w/s/o 0%/120%/0%",
            ],
            "--schedule: w/s/o saved: `120%`: expected a whole percentage from 0% to 100%",
        ),
        (
            &[
                "sim",
                "--workload",
                TINY,
                "--schedule",
                "spiral micro-batch 1 prefetch on recompute 0 ssd w/s/o 0%/0%/0%",
            ],
            "--schedule: traversal: `spiral`: expected row, column or zigzag:B with B >= 1",
        ),
        (
            &["run", "--workload", TINY, "--schedule", "missing.toml"],
            "missing.toml",
        ),
        (
            &[
                "run",
                "--workload",
                TINY,
                "--pareto",
                "--schedule",
                "row micro-batch 1 prefetch on recompute 0 ssd w/s/o 0%/0%/0%",
            ],
            "cannot be used with",
        ),
        (
            &[
                "sim",
                "--workload",
                TINY,
                "--vanilla",
                "--schedule",
                "row micro-batch 1 prefetch on recompute 0 ssd w/s/o 0%/0%/0%",
            ],
            "cannot be used with",
        ),
    ];
    for (args, needle) in cases {
        let o = edgesim(&r, args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
        assert!(stdout(&o).is_empty(), "{args:?}");
    }
}

#[test]
fn schedules_a_workload_does_not_admit_are_infeasible_with_the_reason() {
    let r = root();
    // tiny_lora: 4 sequences per step.
    let o = edgesim(
        &r,
        &[
            "run",
            "--workload",
            TINY,
            "--json",
            "--schedule",
            "row micro-batch 3 prefetch on recompute 0 ssd w/s/o 0%/0%/0%",
        ],
    );
    let v = json(&o);
    let e = &v["results"][0];
    assert_eq!(e["feasible"], false);
    assert_eq!(e["schedule_source"], "given");
    assert_eq!(
        e["infeasible_reason"],
        "micro-batch 3 does not divide the 4 sequences per step (allowed: 1, 2, 4)"
    );
    assert!(e["seconds_per_iteration"].is_null());
    let o = edgesim(
        &r,
        &[
            "run",
            "--workload",
            TINY,
            "--schedule",
            "row micro-batch 1 prefetch on recompute 999 ssd w/s/o 0%/0%/0%",
        ],
    );
    assert!(o.status.success());
    let text = stdout(&o);
    assert!(
        text.contains("infeasible: recompute 999 is beyond the"),
        "{text}"
    );
    // On the simulator there is nothing to replay: an input error.
    let o = edgesim(
        &r,
        &[
            "sim",
            "--workload",
            TINY,
            "--schedule",
            "zigzag:3 micro-batch 1 prefetch on recompute 0 ssd w/s/o 0%/0%/0%",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("block size must divide the 4 micro-batches"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn over_capacity_names_the_tier_and_the_excess() {
    let dir = tempfile::tempdir().unwrap();
    let r = root();
    // The paper hardware with a DRAM of 1 MiB: the tiny workload needs more.
    let hw = std::fs::read_to_string(r.join("hw_configs/edge_llm_paper.toml")).unwrap();
    let mut out = String::new();
    let mut section = String::new();
    for line in hw.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            section = t.to_string();
        }
        if section == "[dram]" && t.starts_with("capacity_gib") {
            out.push_str("capacity_gib = 0.0009765625\n");
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    std::fs::write(dir.path().join("small.toml"), out).unwrap();
    let tiny = r.join(TINY);
    let o = edgesim(
        dir.path(),
        &[
            "run",
            "--hw",
            "small.toml",
            "--workload",
            tiny.to_str().unwrap(),
            "--json",
            "--schedule",
            "column micro-batch 4 prefetch on recompute 0 ssd w/s/o 0%/0%/0%",
        ],
    );
    let v = json(&o);
    let reason = v["results"][0]["infeasible_reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(reason.starts_with("DRAM: peak "), "{reason}");
    assert!(
        reason.contains("(DRAM capacity 1048576 bytes exceeded by "),
        "{reason}"
    );
}

#[test]
fn sim_replays_the_given_schedule() {
    let r = root();
    let line = "zigzag:2 micro-batch 1 prefetch on recompute 1 ssd w/s/o 0%/50%/0%";
    let v = json(&edgesim(
        &r,
        &["sim", "--workload", TINY, "--json", "--schedule", line],
    ));
    assert_eq!(v["schedule"], line);
    assert_eq!(v["schedule_source"], "given");
    let analytic = v["comparison"]["analytic_paper_seconds"].as_f64().unwrap();
    // The analytic time of the replayed steps is the given schedule's (paper mode).
    let run = json(&edgesim(
        &r,
        &[
            "run",
            "--workload",
            TINY,
            "--mode",
            "paper",
            "--json",
            "--schedule",
            line,
        ],
    ));
    let t = run["results"][0]["seconds_per_iteration"].as_f64().unwrap();
    assert!((analytic - t).abs() <= 1e-9 * t, "{analytic} vs {t}");
    assert!(v["sim"]["seconds"].as_f64().unwrap() > 0.0);
    let text = stdout(&edgesim(
        &r,
        &["sim", "--workload", TINY, "--schedule", line],
    ));
    assert!(text.contains("(given schedule, not searched)"), "{text}");
    assert!(text.contains(&format!("schedule: {line}")), "{text}");
}

#[test]
fn sweep_evaluates_the_given_schedule_at_every_point() {
    let dir = tempfile::tempdir().unwrap();
    let r = root();
    let spec = dir.path().join("spec.toml");
    std::fs::write(
        &spec,
        format!(
            "base = \"{}\"\nworkloads = [\"{}\", \"{}\"]\ncombine = \"product\"\n\n[sweep]\n\
             \"dram.capacity_gib\" = [0.0009765625, 8]\n",
            r.join("hw_configs/edge_llm_paper.toml").display(),
            r.join(TINY).display(),
            r.join("workloads/tiny_full.toml").display(),
        ),
    )
    .unwrap();
    // Over 1 MiB of DRAM on the tiny workloads (see `over_capacity_names_the_tier_and_the_excess`).
    let line = "column micro-batch 4 prefetch on recompute 0 ssd w/s/o 0%/0%/0%";
    let out = dir.path().join("out");
    let o = edgesim(
        dir.path(),
        &[
            "sweep",
            "--spec",
            spec.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--no-plots",
            "--json",
            "--mode",
            "paper",
            "--schedule",
            line,
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["schedule_source"], "given");
    let mut rd = csv::Reader::from_path(out.join("sweep.csv")).unwrap();
    let header = rd.headers().unwrap().clone();
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    let rows: Vec<csv::StringRecord> = rd.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 4);
    let hw = HwConfig::from_file(&r.join("hw_configs/edge_llm_paper.toml")).unwrap();
    let s: Schedule = line.parse().unwrap();
    let (mut feasible, mut infeasible) = (0, 0);
    for row in &rows {
        let w = &row[col("workload")];
        let trace = Workload::from_file(&r.join(format!("workloads/{w}.toml")))
            .unwrap()
            .trace()
            .unwrap();
        let mut hw = hw.clone();
        hw.dram.capacity_gib = row[col("dram.capacity_gib")].parse().unwrap();
        let g = evaluate_given(&hw, &trace, &s, Mode::Paper);
        match g.best {
            Some(e) => {
                feasible += 1;
                assert_eq!(&row[col("schedule")], line);
                assert_eq!(
                    row[col("step_s")].parse::<f64>().unwrap(),
                    e.seconds_per_iteration
                );
                assert_eq!(
                    row[col("energy_j")].parse::<f64>().unwrap(),
                    e.energy_joules
                );
            }
            None => {
                infeasible += 1;
                assert!(g.reason.as_deref().unwrap().starts_with("DRAM: peak"));
                assert_eq!(&row[col("feasible")], "false");
                assert!(
                    row.iter().any(|c| Some(c) == g.reason.as_deref()),
                    "{row:?}"
                );
            }
        }
    }
    assert_eq!((feasible, infeasible), (2, 2));
}
