//! The architect's workflow end to end: workload names resolved the same way by every
//! command, models read from a Hugging Face `config.json`, and input mistakes caught
//! with messages that name the file, the key and the likely slip (exit code 2), never
//! computed with.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(rel)
        .display()
        .to_string()
}

/// Runs edgesim in `dir`.
fn edgesim_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_edgesim"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

/// Runs edgesim in the repository root (so `workloads/` is listed in name errors).
fn edgesim(args: &[&str]) -> Output {
    edgesim_in(Path::new(env!("CARGO_MANIFEST_DIR")), args)
}

fn err_text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts exit code 2 and returns stderr.
fn bad_input(o: &Output) -> String {
    let e = err_text(o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    e
}

/// The embedded default hardware with `from` replaced by `to`, written into `dir`.
fn hw_file(dir: &Path, name: &str, from: &str, to: &str) -> String {
    let base = std::fs::read_to_string(repo("hw_configs/edge_llm_paper.toml")).unwrap();
    assert!(base.contains(from), "{from}");
    let p = dir.join(name);
    std::fs::write(&p, base.replace(from, to)).unwrap();
    p.display().to_string()
}

/// A one-point sweep spec over the paper hardware with `workloads` (TOML array text).
fn spec_file(dir: &Path, workloads: &str) -> PathBuf {
    let p = dir.join("spec.toml");
    std::fs::write(
        &p,
        format!(
            "base = \"{}\"\nworkloads = {workloads}\n[sweep]\n\"sram.capacity_kib\" = [512, 1024, 2048]\n",
            repo("hw_configs/edge_llm_paper.toml")
        ),
    )
    .unwrap();
    p
}

// ---------------------------------------------------------------- one workload resolver

#[test]
fn run_trace_and_sweep_specs_accept_embedded_workload_names() {
    // Before: `run --workload llama7b_lora` failed ("No such file") while `sim` took it.
    let o = edgesim(&["run", "--workload", "llama7b_lora", "--json"]);
    assert!(o.status.success(), "{}", err_text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["results"][0]["workload"], "llama7b_lora", "{v}");
    let o = edgesim(&["trace", "--workload", "llama7b_lst.toml", "--csv"]);
    assert!(o.status.success(), "{}", err_text(&o));
    // A sweep spec names an embedded workload the same way.
    let d = tempfile::tempdir().unwrap();
    let spec = spec_file(d.path(), "[\"llama7b_lora\"]");
    let out = d.path().join("out");
    let o = edgesim(&[
        "sweep",
        "--spec",
        spec.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--no-plots",
    ]);
    assert!(o.status.success(), "{}", err_text(&o));
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    assert_eq!(
        csv.lines().filter(|l| l.contains("llama7b_lora")).count(),
        3
    );
}

#[test]
fn an_unknown_workload_name_lists_the_choices_in_every_command() {
    for cmd in ["run", "sim", "trace"] {
        let e = bad_input(&edgesim(&[cmd, "--workload", "llama7b_lorra"]));
        assert!(
            e.contains("llama7b_lorra: workload: no such file llama7b_lorra, and not an embedded workload; did you mean `llama7b_lora`?"),
            "{cmd}: {e}"
        );
        assert!(
            e.contains("embedded: llama7b_lora, llama7b_edge_llm_b5,")
                && e.contains("files in workloads: workloads/llama7b_edge_llm_b3.toml,")
                && e.contains("workloads/tiny_lora.toml"),
            "{cmd}: {e}"
        );
    }
    let d = tempfile::tempdir().unwrap();
    let spec = spec_file(d.path(), "[\"tiny_lroa\"]");
    let e = bad_input(&edgesim(&[
        "sweep",
        "--spec",
        spec.to_str().unwrap(),
        "--out",
        d.path().join("o").to_str().unwrap(),
    ]));
    assert!(
        e.contains("spec.toml: workloads[0]: no such file")
            && e.contains("not an embedded workload")
            && e.contains("embedded: llama7b_lora"),
        "{e}"
    );
}

// ---------------------------------------------------------------- models from config.json

#[test]
fn a_workload_reads_its_model_from_a_hugging_face_config() {
    let o = edgesim(&[
        "trace",
        "--workload",
        "workloads/smollm2_360m_hf_lora.toml",
        "--json",
    ]);
    assert!(o.status.success(), "{}", err_text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["model"], "smollm2-360m");
    // 32 decoder layers: one forward and one backward column each, plus embedding and
    // head forward and the head backward.
    let entries = v["entries"].as_array().unwrap();
    let decoder_fwd = entries
        .iter()
        .filter(|e| e["kind"] == "decoder" && e["pass"] == "fwd")
        .count();
    assert_eq!(decoder_fwd, 32);
    // q projection of one 512-token sequence: 512 x 960 x 960.
    let q = entries
        .iter()
        .flat_map(|e| e["gemms"].as_array().unwrap())
        .find(|g| g["name"] == "q")
        .unwrap();
    assert_eq!(
        (&q["m"], &q["k"], &q["n"]),
        (&512.into(), &960.into(), &960.into()),
        "{q}"
    );

    // An architecture that is not a LLaMA-family decoder is named.
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("config.json"),
        r#"{"model_type": "gpt2", "n_layer": 12, "n_embd": 768}"#,
    )
    .unwrap();
    let w = std::fs::read_to_string(repo("workloads/smollm2_360m_hf_lora.toml"))
        .unwrap()
        .replace("hf/SmolLM2-360M/config.json", "config.json");
    std::fs::write(d.path().join("w.toml"), w).unwrap();
    let e = bad_input(&edgesim_in(d.path(), &["trace", "--workload", "w.toml"]));
    assert!(
        e.contains("config.json: model_type: `gpt2` is not a LLaMA-family decoder")
            && e.contains("llama, mistral, qwen2"),
        "{e}"
    );
    // A missing config.json names the workload key that referenced it.
    std::fs::remove_file(d.path().join("config.json")).unwrap();
    let e = bad_input(&edgesim_in(d.path(), &["trace", "--workload", "w.toml"]));
    assert!(
        e.contains("w.toml: model.hf_config: cannot read the file it names, \"config.json\""),
        "{e}"
    );
}

// ---------------------------------------------------------------- mistakes caught

#[test]
fn an_lpddr4_data_rate_in_gt_per_s_is_refused_with_the_slip_named() {
    let d = tempfile::tempdir().unwrap();
    let hw = hw_file(
        d.path(),
        "hw.toml",
        "data_rate_mtps = 3200 ",
        "data_rate_mtps = 3.2 ",
    );
    let e = bad_input(&edgesim(&[
        "run",
        "--hw",
        &hw,
        "--workload",
        "workloads/tiny_lora.toml",
    ]));
    assert!(
        e.contains(
            "hw.toml: dram.data_rate_mtps: 3.2 is out of range for LPDDR4; allowed [533, 4266] MT/s"
        ) && e.contains("3.2 looks like GT/s: 3.2 GT/s is data_rate_mtps = 3200"),
        "{e}"
    );
}

#[test]
fn an_unknown_key_is_reported_before_the_missing_one_with_the_closest_name() {
    let d = tempfile::tempdir().unwrap();
    let hw = hw_file(
        d.path(),
        "hw.toml",
        "capacity_kib = 1024 ",
        "capacity_kb = 1024 ",
    );
    let e = bad_input(&edgesim(&["hw", "--hw", &hw]));
    assert!(
        e.contains("hw.toml: sram.capacity_kb: unknown key; did you mean `capacity_kib`?"),
        "{e}"
    );
    // A typo of an optional key is caught by the unknown-key check, with the suggestion.
    let hw = hw_file(
        d.path(),
        "hw2.toml",
        "sparse_efficiency = 0.8",
        "sparse_eficiency = 0.8",
    );
    let e = bad_input(&edgesim(&["hw", "--hw", &hw]));
    assert!(
        e.contains("compute.sparse_eficiency: unknown key; did you mean `sparse_efficiency`?"),
        "{e}"
    );
}

#[test]
fn implausible_ssd_and_sram_sizes_are_warned_about() {
    let d = tempfile::tempdir().unwrap();
    let hw = hw_file(d.path(), "hw.toml", "read_gbps = 2.1", "read_gbps = 2100");
    let o = edgesim(&["hw", "--hw", &hw]);
    let e = err_text(&o);
    assert!(o.status.success(), "{e}");
    assert!(
        e.contains("warning: ")
            && e.contains("hw.toml: ssd.read_gbps = 2100 GB/s is above 50 GB/s"),
        "{e}"
    );
    let hw = hw_file(
        d.path(),
        "hw2.toml",
        "capacity_kib = 1024 ",
        "capacity_kib = 4194304 ",
    );
    let o = edgesim(&["hw", "--hw", &hw]);
    let e = err_text(&o);
    assert!(o.status.success(), "{e}");
    assert!(
        e.contains("sram.capacity_kib = 4194304 KiB is above 1 GiB"),
        "{e}"
    );
    // The shipped hardware gives no warning.
    let o = edgesim(&["hw", "--hw", "hw_configs/edge_llm_paper.toml"]);
    assert!(o.status.success() && !err_text(&o).contains("warning"));
}

#[test]
fn toml_syntax_errors_keep_the_caret_diagram() {
    let d = tempfile::tempdir().unwrap();
    let hw = d.path().join("bad.toml");
    std::fs::write(&hw, "name = \"x\"\n[compute\npe_rows = 4\n").unwrap();
    let e = bad_input(&edgesim(&["hw", "--hw", hw.to_str().unwrap()]));
    assert!(
        e.contains("bad.toml: syntax: TOML parse error at line 2, column 9\n")
            && e.contains("\n2 | [compute\n")
            && e.contains("|         ^"),
        "{e}"
    );
}

#[test]
fn a_workload_given_as_hardware_and_the_reverse_say_so() {
    let e = bad_input(&edgesim(&["run", "--hw", "workloads/tiny_lora.toml"]));
    assert!(
        e.contains("workloads/tiny_lora.toml: file kind: this is a workload file (it has `batch`, `method`), not a hardware file; --hw needs a hardware file"),
        "{e}"
    );
    let e = bad_input(&edgesim(&[
        "run",
        "--workload",
        "hw_configs/edge_llm_paper.toml",
    ]));
    assert!(
        e.contains("file kind: this is a hardware file (it has `compute`, `sram`, `dram`, `ssd`), not a workload file"),
        "{e}"
    );
}

#[test]
fn missing_policy_and_sensitivity_files_name_the_workload_key() {
    let d = tempfile::tempdir().unwrap();
    let body = "[model]\npreset = \"tiny\"\n[batch]\nseq_len = 16\nmicro_batch_size = 2\n\
                sequences_per_step = 4\n[method]\nkind = \"lora\"\nrank = 4\n";
    std::fs::write(
        d.path().join("pol.toml"),
        format!("policy = \"policies/nope.toml\"\n{body}"),
    )
    .unwrap();
    let e = bad_input(&edgesim_in(d.path(), &["run", "--workload", "pol.toml"]));
    assert!(
        e.contains("pol.toml: policy: cannot read the file it names, \"policies/nope.toml\": ")
            && e.contains("No such file"),
        "{e}"
    );
    std::fs::write(
        d.path().join("sens.toml"),
        format!(
            "{body}[policy]\nkind = \"luc\"\nbits = 4\nsparsity = 0.5\nsensitivity = \"data/nope.csv\"\n"
        ),
    )
    .unwrap();
    let e = bad_input(&edgesim_in(d.path(), &["run", "--workload", "sens.toml"]));
    assert!(
        e.contains(
            "sens.toml: policy.sensitivity: cannot read the file it names, \"data/nope.csv\""
        ),
        "{e}"
    );
}

#[test]
fn timeline_without_the_cycle_engine_is_an_error() {
    let d = tempfile::tempdir().unwrap();
    let t = d.path().join("t.json");
    let e = bad_input(&edgesim(&[
        "run",
        "--workload",
        "workloads/tiny_lora.toml",
        "--timeline",
        t.to_str().unwrap(),
    ]));
    assert!(
        e.contains("--timeline: --engine: a timeline is drawn from the cycle-level simulation; add --engine cycle"),
        "{e}"
    );
    assert!(!t.exists());
}

#[test]
fn sweep_out_must_be_a_directory() {
    let d = tempfile::tempdir().unwrap();
    let spec = spec_file(
        d.path(),
        &format!("[\"{}\"]", repo("workloads/tiny_lora.toml")),
    );
    let file = d.path().join("table.csv");
    std::fs::write(&file, "x").unwrap();
    let e = bad_input(&edgesim(&[
        "sweep",
        "--spec",
        spec.to_str().unwrap(),
        "--out",
        file.to_str().unwrap(),
    ]));
    assert!(
        e.contains("table.csv: --out: must be a directory (sweep writes sweep.csv and the plots into it); this is an existing file"),
        "{e}"
    );
    let new = d.path().join("results.csv");
    let e = bad_input(&edgesim(&[
        "sweep",
        "--spec",
        spec.to_str().unwrap(),
        "--out",
        new.to_str().unwrap(),
    ]));
    assert!(e.contains("results.csv: --out: must be a directory"), "{e}");
    assert!(!new.exists());
}

#[test]
fn merge_refuses_a_missing_or_duplicated_shard() {
    let d = tempfile::tempdir().unwrap();
    let spec = spec_file(
        d.path(),
        &format!("[\"{}\"]", repo("workloads/tiny_lora.toml")),
    );
    let mut csvs = Vec::new();
    for i in 0..3 {
        let out = d.path().join(format!("s{i}"));
        let o = edgesim(&[
            "sweep",
            "--spec",
            spec.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--shard",
            &format!("{i}/3"),
            "--no-plots",
        ]);
        assert!(o.status.success(), "{}", err_text(&o));
        let rec = std::fs::read_to_string(out.join("sweep.shard.toml")).unwrap();
        assert!(
            rec.contains(&format!("shard = {i}\ncount = 3\npoints = 3\n")),
            "{rec}"
        );
        csvs.push(out.join("sweep.csv").display().to_string());
    }
    let merged = d.path().join("m/sweep.csv");
    let m = merged.to_str().unwrap();
    // Before: without the last shard the merge succeeded with 2 of 3 rows.
    let e = bad_input(&edgesim(&[
        "merge",
        &csvs[0],
        &csvs[1],
        "--out",
        m,
        "--no-plots",
    ]));
    assert!(
        e.contains(
            "merge: shard: incomplete set: shard 2/3 missing (run `edgesim sweep --shard 2/3`"
        ),
        "{e}"
    );
    assert!(!merged.exists());
    let e = bad_input(&edgesim(&[
        "merge",
        &csvs[0],
        &csvs[1],
        &csvs[1],
        &csvs[2],
        "--out",
        m,
        "--no-plots",
    ]));
    assert!(
        e.contains(&format!(
            "shard 1/3 is given twice: {} and {}",
            csvs[1], csvs[1]
        )),
        "{e}"
    );
    let o = edgesim(&[
        "merge",
        &csvs[2],
        &csvs[0],
        &csvs[1],
        "--out",
        m,
        "--no-plots",
    ]);
    assert!(o.status.success(), "{}", err_text(&o));
    let merged_rec = std::fs::read_to_string(d.path().join("m/sweep.shard.toml")).unwrap();
    assert!(merged_rec.contains("shard = 0\ncount = 1\npoints = 3\n"));
}
