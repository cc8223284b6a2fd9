//! The library API (`edgesim::api`): its reports are what the command prints, its JSON
//! Schemas are current and describe the real outputs, its inputs behave as files do, and
//! the examples' calls give what they claim.
//!
//! Schemas: `EDGESIM_BLESS=1 cargo test --release --test api schemas` rewrites
//! `schemas/*.json` from the types.

use edgesim::api::{self, HardwareSource, RunOptions, SimulateOptions, SweepOptions};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

#[allow(dead_code)]
#[path = "../examples/compare_workloads.rs"]
mod compare_workloads;
#[allow(dead_code)]
#[path = "../examples/replay_schedule.rs"]
mod replay_schedule;
#[allow(dead_code)]
#[path = "../examples/sram_sweep.rs"]
mod sram_sweep;

const TINY: &str = "workloads/tiny_lora.toml";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the command in the repository root; its standard output parsed as JSON.
fn cli_json(args: &[&str]) -> Value {
    let o = Command::new(env!("CARGO_BIN_EXE_edgesim"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "edgesim {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

fn schema(file: &str) -> Value {
    let text = std::fs::read_to_string(root().join("schemas").join(file)).unwrap();
    serde_json::from_str(&text).unwrap()
}

// ---------------------------------------------------------------------------------------
// A small JSON Schema checker: the keywords the generated schemas use ($ref into $defs,
// type, properties, required, additionalProperties, items, anyOf, oneOf, enum, const,
// minimum). Written here rather than taken from a crate: it is short, and a test of the
// schema should not share code with what generated it.

fn resolve<'a>(root: &'a Value, s: &'a Value) -> &'a Value {
    match s.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.strip_prefix("#/$defs/").expect("local $defs reference");
            resolve(root, &root["$defs"][name])
        }
        None => s,
    }
}

fn type_ok(t: &str, v: &Value) -> bool {
    match t {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "string" => v.is_string(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        "number" => v.is_number(),
        "integer" => v.is_u64() || v.is_i64(),
        other => panic!("unknown type {other}"),
    }
}

/// Errors of `v` against schema `s` (inside the document `root`), each with its path.
fn check(root: &Value, s: &Value, v: &Value, path: &str, errs: &mut Vec<String>) {
    let s = resolve(root, s);
    if s == &Value::Bool(true) {
        return;
    }
    if let Some(t) = s.get("type") {
        let ok = match t {
            Value::String(t) => type_ok(t, v),
            Value::Array(ts) => ts.iter().any(|t| type_ok(t.as_str().unwrap(), v)),
            _ => panic!("bad type keyword at {path}"),
        };
        if !ok {
            errs.push(format!("{path}: {v} is not of type {t}"));
            return;
        }
    }
    if let Some(c) = s.get("const")
        && c != v
    {
        errs.push(format!("{path}: {v} is not {c}"));
    }
    if let Some(e) = s.get("enum").and_then(Value::as_array)
        && !e.contains(v)
    {
        errs.push(format!("{path}: {v} is not one of {e:?}"));
    }
    if let (Some(m), Some(x)) = (s.get("minimum").and_then(Value::as_f64), v.as_f64())
        && x < m
    {
        errs.push(format!("{path}: {x} < minimum {m}"));
    }
    for (kw, exactly_one) in [("anyOf", false), ("oneOf", true)] {
        if let Some(alts) = s.get(kw).and_then(Value::as_array) {
            let passing = alts
                .iter()
                .filter(|a| {
                    let mut e = Vec::new();
                    check(root, a, v, path, &mut e);
                    e.is_empty()
                })
                .count();
            if passing == 0 || (exactly_one && passing > 1) {
                errs.push(format!("{path}: {v} matches {passing} of the {kw} schemas"));
            }
        }
    }
    if let Some(obj) = v.as_object() {
        let props = s.get("properties").and_then(Value::as_object);
        for r in s
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let r = r.as_str().unwrap();
            if !obj.contains_key(r) {
                errs.push(format!("{path}: missing required key `{r}`"));
            }
        }
        for (k, x) in obj {
            let p = format!("{path}.{k}");
            match props.and_then(|p| p.get(k)) {
                Some(ps) => check(root, ps, x, &p, errs),
                None => match s.get("additionalProperties") {
                    Some(Value::Bool(false)) => errs.push(format!("{p}: key not in the schema")),
                    Some(a) => check(root, a, x, &p, errs),
                    None => {}
                },
            }
        }
    }
    if let (Some(items), Some(arr)) = (s.get("items"), v.as_array()) {
        for (i, x) in arr.iter().enumerate() {
            check(root, items, x, &format!("{path}[{i}]"), errs);
        }
    }
}

fn assert_valid(schema: &Value, v: &Value, what: &str) {
    let mut errs = Vec::new();
    check(schema, schema, v, "$", &mut errs);
    assert!(
        errs.is_empty(),
        "{what} against its schema:\n{}",
        errs.join("\n")
    );
}

#[test]
fn the_checker_refuses_what_the_schema_forbids() {
    let s = schema("run.schema.json");
    let good = cli_json(&["run", "--json", "--workload", TINY]);
    assert_valid(&s, &good, "run --json");
    let mut errs = Vec::new();
    // A missing key, a wrong type, an unknown key, a wrong enum value, a null figure in a
    // non-nullable key: each is caught.
    let mut bad = good.clone();
    bad["results"][0]
        .as_object_mut()
        .unwrap()
        .remove("feasible");
    bad["results"][0]["seconds_per_iteration"] = Value::from("fast");
    bad["results"][0]["reason"] = Value::from("old key");
    bad["results"][0]["schedule_source"] = Value::from("guessed");
    bad["results"][0]["time_slack"] = Value::Null;
    check(&s, &s, &bad, "$", &mut errs);
    let all = errs.join("\n");
    for expect in [
        "missing required key `feasible`",
        "seconds_per_iteration",
        "reason: key not in the schema",
        "schedule_source",
        "time_slack",
    ] {
        assert!(all.contains(expect), "{expect} not caught:\n{all}");
    }
}

// ---------------------------------------------------------------------------------------

#[test]
fn schemas_are_current() {
    let dir = root().join("schemas");
    let bless = std::env::var_os("EDGESIM_BLESS").is_some_and(|v| v == "1");
    let mut stale = Vec::new();
    for f in api::schemas() {
        let path = dir.join(f.file);
        if bless {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &f.text).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(f.text.as_str()) {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "stale schema files (regenerate with EDGESIM_BLESS=1 cargo test --release --test api schemas): {stale:?}"
    );
}

#[test]
fn every_run_json_output_matches_the_schema() {
    let s = schema("run.schema.json");
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small.toml");
    std::fs::write(
        &small,
        api::DEFAULT_HARDWARE_TOML
            .replace("capacity_gib = 8 ", "capacity_gib = 1 ")
            .replace("capacity_gib = 256", "capacity_gib = 1"),
    )
    .unwrap();
    let small = small.to_str().unwrap();
    let line = "row micro-batch 1 prefetch on recompute 0 ssd w/s/o 0%/0%/0%";
    let cases: Vec<Vec<&str>> = vec![
        vec!["run", "--json"],
        vec!["run", "--json", "--hw", small],
        vec!["run", "--json", "--workload", TINY, "--engine", "cycle"],
        vec!["run", "--json", "--workload", TINY, "--schedule", line],
        vec!["run", "--json", "--workload", TINY, "--pareto"],
        vec![
            "run", "--json", "--hw", small, "--pareto", "--engine", "cycle",
        ],
    ];
    for args in &cases {
        let v = cli_json(args);
        assert_valid(&s, &v, &format!("{args:?}"));
    }
    // The infeasible entries carry every key an entry has (figures null), and the reason
    // under `infeasible_reason`.
    let feasible = cli_json(&cases[0]);
    let infeasible = cli_json(&cases[1]);
    let keys = |e: &Value| {
        let mut k: Vec<String> = e.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    let e = &infeasible["results"][0];
    assert_eq!(keys(e), keys(&feasible["results"][0]));
    assert_eq!(e["feasible"], false);
    assert!(
        e["infeasible_reason"].as_str().unwrap().contains("GiB"),
        "{e}"
    );
    for k in [
        "seconds_per_iteration",
        "energy_breakdown",
        "schedule",
        "gap_pct",
    ] {
        assert!(e[k].is_null(), "{k}: {e}");
    }
    // Cycle engine: `sim` on every entry, null where infeasible; given schedule marked.
    let cyc = cli_json(&cases[2]);
    assert!(cyc["results"][0]["sim"]["seconds"].as_f64().unwrap() > 0.0);
    let cyc_bad = cli_json(&cases[5]);
    assert!(cyc_bad["results"][0]["sim"].is_null());
    assert_eq!(cyc_bad["results"][0]["pareto"], Value::Array(vec![]));
    let given = cli_json(&cases[3]);
    assert_eq!(given["given_schedule"], line);
    assert_eq!(given["results"][0]["schedule_source"], "given");
}

#[test]
fn trace_files_match_the_trace_schema() {
    let s = schema("trace.schema.json");
    // Every key of the schema is one the Trace writes (all written keys are required or
    // defaulted, unknown keys refused), on workloads of every method.
    for w in api::embedded_workloads()
        .into_iter()
        .map(String::from)
        .chain([
            "workloads/tiny_lst.toml".to_string(),
            "workloads/tiny_full.toml".to_string(),
        ])
    {
        let t = api::trace(&api::workload(&w).unwrap()).unwrap();
        let v: Value = serde_json::from_str(&t.to_json_string()).unwrap();
        assert_valid(&s, &v, &w);
    }
    assert_valid(
        &s,
        &cli_json(&["trace", "--workload", TINY, "--json"]),
        "trace --json",
    );
    // The fields the schema requires are exactly the Trace's.
    let t = api::trace(&api::workload(TINY).unwrap()).unwrap();
    let v: Value = serde_json::from_str(&t.to_json_string()).unwrap();
    let mut written: Vec<&String> = v.as_object().unwrap().keys().collect();
    written.sort();
    let mut required: Vec<&str> = s["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    required.sort();
    assert_eq!(written, required);
}

#[test]
fn sim_json_and_sweep_records_match_their_schemas() {
    let s = schema("sim_report.schema.json");
    for args in [
        vec!["sim", "--json", "--workload", TINY],
        vec!["sim", "--json", "--workload", TINY, "--attribute"],
    ] {
        assert_valid(&s, &cli_json(&args), &format!("{args:?}"));
    }
    let s = schema("sweep_record.schema.json");
    let (spec, _dir) = small_spec();
    for r in api::sweep(&spec, &SweepOptions::default()).unwrap() {
        assert_valid(&s, &serde_json::to_value(&r).unwrap(), "sweep record");
    }
}

// ---------------------------------------------------------------------------------------

#[test]
fn api_run_is_what_the_command_prints() {
    let hw = api::default_hardware();
    let w = [
        api::workload("llama7b_lora").unwrap(),
        api::workload("llama7b_edge_llm_b5").unwrap(),
    ];
    let doc = api::run_workloads(&hw, &w, &RunOptions::default()).unwrap();
    assert_eq!(
        serde_json::to_value(&doc).unwrap(),
        cli_json(&["run", "--json"])
    );
    assert!(
        !doc.notes.is_empty(),
        "the b5 policy's proxy sensitivity is noted"
    );

    // Options: mode, slack and the front, as the flags.
    let opts = RunOptions {
        mode: api::Mode::Paper,
        time_slack: 0.05,
        pareto: true,
        ..RunOptions::default()
    };
    let t = api::trace(&api::workload(TINY).unwrap()).unwrap();
    let doc = api::run(&hw, std::slice::from_ref(&t), &opts).unwrap();
    let cli = cli_json(&[
        "run",
        "--json",
        "--workload",
        TINY,
        "--mode",
        "paper",
        "--time-slack",
        "5",
        "--pareto",
    ]);
    assert_eq!(serde_json::to_value(&doc).unwrap(), cli);
    // The speed-up is the first's time over the last's, computed here from the entries.
    let doc = api::run(&hw, &[t.clone(), t], &RunOptions::default()).unwrap();
    assert_eq!(doc.speedup, Some(1.0));
    assert_eq!(doc.norm_mem, Some(1.0));
}

#[test]
fn api_simulate_is_what_sim_prints() {
    let hw = api::default_hardware();
    let t = api::trace(&api::workload(TINY).unwrap()).unwrap();
    let r = api::simulate(&hw, &t, None, &SimulateOptions::default()).unwrap();
    assert_eq!(
        serde_json::to_value(&r).unwrap(),
        cli_json(&["sim", "--json", "--workload", TINY])
    );
    // A given schedule is replayed as given; a refused one is an error naming the key.
    let s = api::parse_schedule("row micro-batch 2 prefetch off recompute 0 ssd w/s/o 0%/0%/0%")
        .unwrap();
    let g = api::simulate(&hw, &t, Some(&s), &SimulateOptions::default()).unwrap();
    assert_eq!(g.schedule, s.to_string());
    assert_eq!(g.schedule_source, api::ScheduleSource::Given);
    let bad = api::parse_schedule("row micro-batch 3 prefetch off recompute 0 ssd w/s/o 0%/0%/0%")
        .unwrap();
    let e = api::simulate(&hw, &t, Some(&bad), &SimulateOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("schedule") && e.contains("does not divide"),
        "{e}"
    );
    let opts = SimulateOptions {
        disable: vec!["refresh".into(), "warp-drive".into()],
        ..SimulateOptions::default()
    };
    let e = api::simulate(&hw, &t, None, &opts).unwrap_err().to_string();
    assert!(e.contains("warp-drive") && e.contains("row-misses"), "{e}");
}

#[test]
fn an_override_changes_exactly_its_field() {
    let base = api::default_hardware();
    let hw = api::hardware_with_overrides(&HardwareSource::Default, [("sram.capacity_kib", 512)])
        .unwrap();
    let mut expected = base.clone();
    expected.sram.capacity_kib = 512.0;
    assert_eq!(hw, expected);
    assert_ne!(hw, base);
    // Floats, several keys, and a base given as text or a file.
    let hw = api::hardware_with_overrides(
        &HardwareSource::Toml {
            origin: "cell 3".into(),
            text: api::DEFAULT_HARDWARE_TOML.into(),
        },
        [("clock_ghz", 1.5), ("sram.capacity_kib", 2048.0)],
    )
    .unwrap();
    expected.clock_ghz = 1.5;
    expected.sram.capacity_kib = 2048.0;
    assert_eq!(hw, expected);
    let file = root().join("hw_configs/edge_llm_paper.toml");
    let none: [(&str, i64); 0] = [];
    assert_eq!(
        api::hardware_with_overrides(&HardwareSource::File(file.clone()), none).unwrap(),
        base
    );
    assert_eq!(api::hardware_from_file(&file).unwrap(), base);
    assert_eq!(
        api::hardware(&HardwareSource::Default).unwrap(),
        api::hardware_from_toml("x", api::DEFAULT_HARDWARE_TOML).unwrap()
    );
}

#[test]
fn override_errors_name_the_key_and_the_range() {
    let e = api::hardware_with_overrides(&HardwareSource::Default, [("sram.capacity_kib", -1)])
        .unwrap_err()
        .to_string();
    assert!(e.contains("sram.capacity_kib"), "{e}");
    assert!(e.contains("allowed [1, 1000000000]"), "{e}");
    assert!(e.contains(api::DEFAULT_HARDWARE_ORIGIN), "{e}");
    // An unknown key is named with the closest known one.
    let e = api::hardware_with_overrides(&HardwareSource::Default, [("sram.capacity_kb", 512)])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("capacity_kb") && e.contains("capacity_kib"),
        "{e}"
    );
    // The origin of text is quoted.
    let e = api::hardware_from_toml("notebook cell 7", "name = 3")
        .unwrap_err()
        .to_string();
    assert!(e.contains("notebook cell 7"), "{e}");
}

#[test]
fn workloads_and_traces_from_files_strings_and_names_agree() {
    let from_name = api::trace(&api::workload("llama7b_lora").unwrap()).unwrap();
    let file = root().join("workloads/llama7b_lora.toml");
    let from_file = api::trace(&api::workload(file.to_str().unwrap()).unwrap()).unwrap();
    assert_eq!(from_name, from_file);
    // Text with a base directory: the relative policy paths resolve against it.
    let text = std::fs::read_to_string(root().join("workloads/llama7b_edge_llm_b5.toml")).unwrap();
    let w = api::workload_from_toml("b5.toml", &text, Some(&root().join("workloads"))).unwrap();
    let by_name = api::workload("llama7b_edge_llm_b5").unwrap();
    assert_eq!(api::trace(&w).unwrap(), api::trace(&by_name).unwrap());
    assert_eq!(
        api::workload_in(&root(), "workloads/tiny_lora.toml")
            .unwrap()
            .name,
        api::workload(TINY).unwrap().name
    );
    assert!(api::embedded_workloads().contains(&"llama7b_lora"));
    // A Trace file round-trips through its JSON.
    let json = from_name.to_json_string();
    assert_eq!(api::trace_from_json("t.json", &json).unwrap(), from_name);
    let e = api::workload("no_such_workload").unwrap_err().to_string();
    assert!(
        e.contains("llama7b_lora"),
        "the error lists the embedded names: {e}"
    );
}

#[test]
fn evaluating_the_searched_schedule_gives_the_search_figures() {
    let hw = api::default_hardware();
    for name in [TINY, "llama7b_edge_llm_b5", "llama7b_lora"] {
        let t = api::trace(&api::workload(name).unwrap()).unwrap();
        let found = api::search(&hw, &t, &RunOptions::default()).unwrap();
        let s = found.chosen_schedule().unwrap();
        // Through its printed line, as a user would pass it.
        let s = api::parse_schedule(&s.to_string()).unwrap();
        let e = api::evaluate(&hw, &t, &s, &RunOptions::default()).unwrap();
        assert_eq!(e.schedule_source, api::ScheduleSource::Given);
        assert_eq!(e.candidates_evaluated, 1);
        for (a, b) in [
            (e.seconds_per_iteration, found.seconds_per_iteration),
            (e.memory_bytes, found.memory_bytes),
            (e.device_bytes, found.device_bytes),
            (e.energy_joules, found.energy_joules),
            (e.ssd_write_bytes, found.ssd_write_bytes),
        ] {
            assert_eq!(a, b, "{name}");
        }
        assert_eq!(e.schedule, found.schedule, "{name}");
        assert_eq!(e.peak_bytes, found.peak_bytes, "{name}");
        assert_eq!(e.lower_bound, found.lower_bound, "{name}");
    }
}

#[test]
fn run_options_out_of_range_name_the_option() {
    let hw = api::default_hardware();
    let t = api::trace(&api::workload(TINY).unwrap()).unwrap();
    for (opts, key) in [
        (
            RunOptions {
                time_slack: 1.5,
                ..RunOptions::default()
            },
            "time_slack",
        ),
        (
            RunOptions {
                max_memory_gib: Some(0.0),
                ..RunOptions::default()
            },
            "max_memory_gib",
        ),
        (
            RunOptions {
                ssd_write_budget_gb_per_step: Some(-1.0),
                ..RunOptions::default()
            },
            "ssd_write_budget_gb_per_step",
        ),
    ] {
        let e = api::search(&hw, &t, &opts).unwrap_err().to_string();
        assert!(e.contains(key), "{key}: {e}");
    }
}

// ---------------------------------------------------------------------------------------

/// A sweep spec in a temporary directory: SRAM 1 KiB (too small for any tile: every row
/// infeasible), 64 and 1024 KiB, on the tiny workload.
fn small_spec() -> (api::SweepSpec, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "base = \"{}\"\nworkloads = [\"{}\"]\ncombine = \"product\"\n\n[sweep]\n\"sram.capacity_kib\" = [1, 64, 1024]\n",
        root().join("hw_configs/edge_llm_paper.toml").display(),
        root().join(TINY).display()
    );
    std::fs::write(dir.path().join("spec.toml"), &text).unwrap();
    let spec = api::sweep_spec_from_toml("spec.toml", &text, dir.path()).unwrap();
    (spec, dir)
}

#[test]
fn api_sweep_records_are_the_rows_of_the_command_s_sweep_csv() {
    let (spec, dir) = small_spec();
    let records = api::sweep(&spec, &SweepOptions::default()).unwrap();
    let out = dir.path().join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_edgesim"))
        .args(["-q", "sweep", "--no-plots", "--spec"])
        .arg(dir.path().join("spec.toml"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut rd = csv::Reader::from_path(out.join("sweep.csv")).unwrap();
    let header: Vec<String> = rd.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header, api::sweep_columns(&spec));
    let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), records.len());
    assert_eq!(rows.len(), 3);
    let mut infeasible = 0;
    for (row, rec) in rows.iter().zip(&records) {
        let v = serde_json::to_value(rec).unwrap();
        let obj = v.as_object().unwrap();
        let mut keys: Vec<&String> = obj.keys().collect();
        keys.sort();
        let mut cols: Vec<&String> = header.iter().collect();
        cols.sort();
        assert_eq!(keys, cols, "a record's keys are the CSV columns");
        for (col, cell) in header.iter().zip(row.iter()) {
            let x = &obj[col];
            match x {
                Value::Null => assert_eq!(cell, "", "{col}"),
                Value::Bool(b) => assert_eq!(cell, b.to_string(), "{col}"),
                Value::String(s) => assert_eq!(cell, s, "{col}"),
                Value::Number(n) => {
                    assert_eq!(cell.parse::<f64>().unwrap(), n.as_f64().unwrap(), "{col}")
                }
                other => panic!("{col}: unexpected {other}"),
            }
        }
        if !rec.feasible {
            infeasible += 1;
            assert!(rec.infeasible_reason.as_deref().unwrap().contains("SRAM"));
            assert!(rec.step_s.is_none() && rec.schedule.is_none());
        }
    }
    assert_eq!(infeasible, 1, "only the 1 KiB SRAM is too small");
    assert_eq!(records[1].values["sram.capacity_kib"], 64);
    assert_eq!(records[1].sram_kib, 64.0);
    // A smaller SRAM never makes the step faster.
    assert!(records[1].step_s.unwrap() >= records[2].step_s.unwrap());
    // Shards split the records by point index mod n.
    let opts = SweepOptions {
        shard: api::Shard::parse("1/2").unwrap(),
        ..SweepOptions::default()
    };
    let shard = api::sweep(&spec, &opts).unwrap();
    assert_eq!(shard, vec![records[1].clone()]);
}

// ---------------------------------------------------------------------------------------
// The examples' calls.

#[test]
fn compare_workloads_example_is_the_default_run() {
    let doc = compare_workloads::compare("llama7b_lora", "llama7b_edge_llm_b5", None).unwrap();
    assert_eq!(
        serde_json::to_value(&doc).unwrap(),
        cli_json(&["run", "--json"])
    );
    let (a, b) = (&doc.results[0], &doc.results[1]);
    let speedup = a.seconds_per_iteration.unwrap() / b.seconds_per_iteration.unwrap();
    assert_eq!(doc.speedup, Some(speedup));
    assert!(
        speedup > 2.0,
        "Edge-LLM's speed-up on the paper accelerator: {speedup}"
    );
    assert!(b.memory_bytes.unwrap() < a.memory_bytes.unwrap());
}

#[test]
fn sram_sweep_example_overrides_the_sram_and_nothing_else() {
    let rows = sram_sweep::sram_sweep(TINY, &[64, 1024]).unwrap();
    let hw = api::default_hardware();
    let t = api::trace(&api::workload(TINY).unwrap()).unwrap();
    let at_1024 = api::search(&hw, &t, &RunOptions::default()).unwrap();
    assert_eq!(rows[1].1, at_1024, "1024 KiB is the default hardware");
    let mut small = hw.clone();
    small.sram.capacity_kib = 64.0;
    assert_eq!(
        rows[0].1,
        api::search(&small, &t, &RunOptions::default()).unwrap()
    );
    assert!(
        rows[0].1.lower_bound.dram_seconds >= rows[1].1.lower_bound.dram_seconds,
        "a smaller SRAM re-reads more GEMM operands"
    );
}

#[test]
fn replay_schedule_example_replays_the_searched_schedule() {
    let (found, line, sim) = replay_schedule::replay(TINY).unwrap();
    assert_eq!(line, found.chosen_schedule().unwrap().to_string());
    assert_eq!(sim.schedule, line);
    assert_eq!(sim.schedule_source, api::ScheduleSource::Given);
    // The analytic figure the search reports is the one the replay is compared with: the
    // same steps under mode shared-bus, the expanded steps timed in whole cycles (at most
    // one cycle apart per step).
    let hw = api::default_hardware();
    let analytic = found.seconds_per_iteration.unwrap();
    let c = sim.comparison.analytic_shared_bus_seconds;
    let cycle = 1.0 / hw.clock_hz();
    assert!(
        (analytic - c).abs() <= sim.sim.steps as f64 * cycle,
        "{analytic} vs {c}"
    );
    // And the replay of the given schedule is the replay of the searched one.
    let t = api::trace(&api::workload(TINY).unwrap()).unwrap();
    let searched = api::simulate(&hw, &t, None, &SimulateOptions::default()).unwrap();
    assert_eq!(searched.sim, sim.sim);
    assert!(Path::new(&root().join("examples/replay_schedule.rs")).exists());
}
