//! `edgesim tune` on the fetched SmolLM2-135M and Jane Austen texts: a few-step run whose
//! loss falls on a fixed batch, a run resumed from its saved state that ends bit-equal to
//! an uninterrupted one, the measured trace simulated by `run --trace`, and bad flags.

mod common;

use std::path::Path;
use std::process::Command;

fn edgesim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_edgesim"))
        .args(args)
        .output()
        .expect("edgesim runs")
}

fn json(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON document")
}

/// A training text of exactly `seq_len + 1` tokens would make every sample the same; a
/// short text and `--seq-len` close to its length give few distinct windows. Here: one
/// sentence repeated, so every window is nearly the same batch.
fn fixed_text(dir: &Path) -> String {
    let p = dir.join("fixed.txt");
    let s = "It is a truth universally acknowledged, that a single man in possession of a \
             good fortune, must be in want of a wife. ";
    std::fs::write(&p, s.repeat(3)).unwrap();
    p.display().to_string()
}

#[test]
fn loss_falls_and_the_trace_runs_on_the_simulator() {
    let Some(data) = common::real_data_or_skip("loss_falls_and_the_trace_runs_on_the_simulator")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let text = fixed_text(dir.path());
    let eval = data.novel("persuasion").display().to_string();
    let trace = dir.path().join("t.json").display().to_string();
    for (method, extra) in [
        ("lora", vec![]),
        ("edge-llm", vec!["--exits", "14,29", "--window", "4"]),
    ] {
        let mut args = vec![
            "tune",
            "--method",
            method,
            "--data",
            &text,
            "--eval",
            &eval,
            "--steps",
            "6",
            "--accumulation",
            "1",
            "--seq-len",
            "24",
            "--eval-chunks",
            "1",
            "--lr",
            "3e-3",
            "--dropout",
            "0",
            "--json",
            "--trace-out",
            &trace,
        ];
        args.extend(extra.iter());
        let s = json(&edgesim(&args));
        let (first, last) = (
            s["first_loss"].as_f64().unwrap(),
            s["last_loss"].as_f64().unwrap(),
        );
        // Edge-LLM: 3 steps per phase; the last phase is the final exit. Its last loss
        // must be below the first step of the run for lora; for edge-llm the phases take
        // their loss at different exits, so compare the model's own head only for lora.
        if method == "lora" {
            assert!(last < first - 0.5, "{method}: loss {first} -> {last}");
        }
        assert!(s["peak_activation_bytes"].as_u64().unwrap() > 0);
        assert!(s["trainable_parameters"].as_u64().unwrap() > 0);
        let exits = s["tuned"]["exits"].as_array().unwrap().len();
        assert_eq!(exits, if method == "lora" { 1 } else { 2 });
        // The recorded trace runs on the simulator.
        let r = json(&edgesim(&["run", "--trace", &trace, "--json"]));
        let secs = r["results"][0]["seconds_per_iteration"].as_f64().unwrap();
        assert!(secs > 0.0 && secs.is_finite(), "{r}");
    }
}

#[test]
fn resumed_run_equals_uninterrupted_run() {
    let Some(data) = common::real_data_or_skip("resumed_run_equals_uninterrupted_run") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let text = data.novel("emma").display().to_string();
    let eval = data.novel("persuasion").display().to_string();
    let args = |out: &str, extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = [
            "tune",
            "--method",
            "partial",
            "--partial-layers",
            "2",
            "--data",
            &text,
            "--eval",
            &eval,
            "--steps",
            "4",
            "--accumulation",
            "2",
            "--seq-len",
            "16",
            "--eval-chunks",
            "1",
            "--out",
            out,
            "--json",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let run = |out: &str, extra: &[&str]| {
        let a = args(out, extra);
        json(&edgesim(&a.iter().map(String::as_str).collect::<Vec<_>>()))
    };
    let a = dir.path().join("a").display().to_string();
    let b = dir.path().join("b").display().to_string();
    run(&a, &[]);
    run(&b, &["--stop-after", "2"]);
    // Other settings than the saved run's are refused before any work.
    let changed_args = args(&b, &["--resume", "--lr", "0.1"]);
    let mut changed: Vec<&str> = changed_args.iter().map(String::as_str).collect();
    let out = edgesim(&changed);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("config") && err.contains("\"lr\":0.1"),
        "{err}"
    );
    let resumed = run(&b, &["--resume"]);
    assert_eq!(resumed["training_tokens"].as_u64(), Some(2 * 2 * 16));
    assert_eq!(resumed["first_step"].as_u64(), Some(2));
    let read = |d: &str| std::fs::read(Path::new(d).join("adapters.safetensors")).unwrap();
    assert!(read(&a) == read(&b), "adapters differ after resuming");
    // A finished state has nothing to resume.
    changed.truncate(changed.len() - 2);
    let out = edgesim(&changed);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("nothing to resume"), "{err}");
}

#[test]
fn bad_flags_exit_2_naming_the_flag() {
    for (args, needle) in [
        (vec!["tune", "--dropout", "1.5"], "--dropout"),
        (
            vec!["tune", "--method", "edge-llm", "--exits", "3,2"],
            "--exits",
        ),
        (
            vec!["tune", "--method", "edge-llm", "--exits", "5,10"],
            "--exits",
        ),
        (vec!["tune", "--resume"], "--out"),
        (
            vec!["tune", "--method", "edge-llm", "--steps", "3"],
            "--steps",
        ),
        (vec!["tune", "--rank", "1000"], "--rank"),
        (
            vec!["tune", "--method", "lora", "--exits", "14,29"],
            "--exits",
        ),
        (
            vec!["tune", "--method", "edge-llm", "--partial-layers", "4"],
            "--partial-layers",
        ),
        (vec!["tune", "--trace-out", "/tmp"], "--trace-out"),
        (
            vec!["tune", "--method", "partial", "--partial-layers", "31"],
            "--partial-layers",
        ),
        (
            vec!["tune", "--checkpoint", "/nonexistent/model.gguf"],
            "model.gguf",
        ),
    ] {
        let out = edgesim(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        if err.contains("real data") || err.contains("fetch-real-data") {
            // Without the fetched data the defaults cannot be resolved; the flag checks
            // that need no data are still exercised by the --checkpoint case.
            continue;
        }
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}
