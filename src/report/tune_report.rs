//! Files of `edgesim repro --real-tune`: `tune.csv` (one line per run, predictor and
//! stage: tidy for spreadsheets), `tune.md` (the table of accuracy against cost, per-exit
//! tables) and the bar chart `tune.{png,svg}` (held-out perplexity before and after).

use super::csv_table::write_csv;
use super::plot::{self, BarChart};
use super::repro_report::sig;
use crate::error::Result;
use crate::tune::summary::{Evaluation, TuneSummary};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// What the recorded trace of a run costs on an accelerator (the analytic search's best
/// schedule for that trace).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Simulated {
    /// Hardware configuration name.
    pub hw: String,
    /// Seconds per optimizer step of the best schedule (`None`: no feasible schedule).
    pub seconds_per_step: Option<f64>,
    /// Total tuning memory of that schedule (bytes, every tier).
    pub memory_bytes: Option<f64>,
    /// Bytes kept for backward per sequence in the recorded trace (16-bit activation
    /// convention of the Trace).
    pub saved_bytes_per_sequence: u64,
}

/// One tuning run of the experiment.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TuneRow {
    /// Short label, e.g. `lora`, `edge-llm B=4`.
    pub label: String,
    /// The run's summary.
    pub summary: TuneSummary,
    /// Its recorded trace on the accelerator.
    pub sim: Simulated,
}

/// What the experiment ran on, for the report's header.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TuneSetup {
    /// Model file name.
    pub model: String,
    /// Training texts (file names).
    pub train: Vec<String>,
    /// Held-out text (file name).
    pub eval: String,
    /// Held-out chunks and tokens per chunk.
    pub chunks: usize,
    /// Tokens per held-out chunk.
    pub chunk_tokens: usize,
    /// How LUC bases were compressed, in words.
    pub compression: String,
    /// Whether the edge-llm forward stops at the active exit, in words.
    pub forward: String,
    /// Wall-clock seconds of the whole experiment.
    pub seconds: f64,
}

/// `a / b` when both are finite and `b > 0`.
fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 && a.is_finite() => Some(a / b),
        _ => None,
    }
}

fn opt(x: Option<f64>, digits: usize) -> String {
    x.map(|v| sig(v, digits)).unwrap_or_default()
}

/// The LoRA row, the reference of every ratio (the first row of method `lora`).
fn lora_row(rows: &[TuneRow]) -> Option<&TuneRow> {
    rows.iter().find(|r| r.summary.method == "lora")
}

/// A row against the LoRA row: (peak saved activations ratio, simulated speed-up,
/// simulated memory ratio).
fn vs_lora(r: &TuneRow, lora: Option<&TuneRow>) -> (Option<f64>, Option<f64>, Option<f64>) {
    let act = lora
        .map(|l| r.summary.peak_activation_bytes as f64 / l.summary.peak_activation_bytes as f64);
    let speed = ratio(
        lora.and_then(|l| l.sim.seconds_per_step),
        r.sim.seconds_per_step,
    );
    let mem = ratio(r.sim.memory_bytes, lora.and_then(|l| l.sim.memory_bytes));
    (act, speed, mem)
}

/// Header and lines of `tune.csv`: per run, per predictor (each exit, the vote), the
/// untuned and tuned held-out scores, with the run's cost columns repeated.
pub fn csv_rows(rows: &[TuneRow]) -> (Vec<String>, Vec<Vec<String>>) {
    let header = [
        "run",
        "method",
        "avg_bits",
        "sparsity",
        "predictor",
        "exit_layer",
        "untuned_ppl",
        "tuned_ppl",
        "untuned_accuracy",
        "tuned_accuracy",
        "trainable_parameters",
        "training_tokens",
        "first_loss",
        "last_loss",
        "peak_activation_bytes",
        "activation_ratio_vs_lora",
        "cpu_seconds_per_step",
        "tokens_per_second",
        "sim_hw",
        "sim_seconds_per_step",
        "sim_speedup_vs_lora",
        "sim_memory_bytes",
        "sim_memory_ratio_vs_lora",
    ]
    .map(String::from)
    .to_vec();
    let lora = lora_row(rows);
    let mut out = Vec::new();
    for r in rows {
        let s = &r.summary;
        let (act_ratio, speedup, mem) = vs_lora(r, lora);
        let cost = vec![
            s.trainable_parameters.to_string(),
            s.training_tokens.to_string(),
            format!("{:.5}", s.first_loss),
            format!("{:.5}", s.last_loss),
            s.peak_activation_bytes.to_string(),
            opt(act_ratio, 4),
            format!("{:.3}", s.cpu_seconds_per_step),
            format!("{:.1}", s.tokens_per_second),
            r.sim.hw.clone(),
            opt(r.sim.seconds_per_step, 5),
            opt(speedup, 4),
            opt(r.sim.memory_bytes, 6),
            opt(mem, 4),
        ];
        let mut push = |predictor: String, layer: String, u: (f64, f64), t: (f64, f64)| {
            let mut line = vec![
                r.label.clone(),
                s.method.clone(),
                format!("{:.3}", s.avg_bits),
                format!("{:.4}", s.sparsity),
                predictor,
                layer,
                sig(u.0, 5),
                sig(t.0, 5),
                format!("{:.5}", u.1),
                format!("{:.5}", t.1),
            ];
            line.extend(cost.iter().cloned());
            out.push(line);
        };
        for (u, t) in s.untuned.exits.iter().zip(&s.tuned.exits) {
            push(
                format!("exit L{}", u.layer),
                u.layer.to_string(),
                (u.metric.perplexity, u.metric.accuracy),
                (t.metric.perplexity, t.metric.accuracy),
            );
        }
        if s.tuned.exits.len() > 1 {
            push(
                "vote".into(),
                String::new(),
                (s.untuned.vote.perplexity, s.untuned.vote.accuracy),
                (s.tuned.vote.perplexity, s.tuned.vote.accuracy),
            );
        }
    }
    (header, out)
}

fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

fn mib(b: f64) -> String {
    format!("{:.1} MiB", b / (1024.0 * 1024.0))
}

fn exit_table(m: &mut String, label: &str, u: &Evaluation, t: &Evaluation) {
    let _ = writeln!(m, "\n### {label}: each exit and the vote\n");
    let _ = writeln!(
        m,
        "| Predictor | PPL untuned | PPL tuned | Accuracy untuned | Accuracy tuned |"
    );
    let _ = writeln!(m, "|---|---|---|---|---|");
    for (a, b) in u.exits.iter().zip(&t.exits) {
        let _ = writeln!(
            m,
            "| exit after layer {} | {} | {} | {} | {} |",
            a.layer,
            sig(a.metric.perplexity, 4),
            sig(b.metric.perplexity, 4),
            pct(a.metric.accuracy),
            pct(b.metric.accuracy)
        );
    }
    let _ = writeln!(
        m,
        "| vote (max probability over exits) | {} | {} | {} | {} |",
        sig(u.vote.perplexity, 4),
        sig(t.vote.perplexity, 4),
        pct(u.vote.accuracy),
        pct(t.vote.accuracy)
    );
}

/// The Markdown report.
pub fn markdown(rows: &[TuneRow], s: &TuneSetup) -> String {
    let mut m = String::new();
    let _ = writeln!(m, "# Adaptive layer tuning on a real model\n");
    let tokens = rows.first().map_or(0, |r| r.summary.training_tokens);
    let _ = writeln!(
        m,
        "Model `{}` adapted to {} ({} training tokens per run, the same for every run); \
         held out: {} chunks of {} tokens of `{}`. LUC bases: {}. Edge-LLM forward: {}. \
         Simulated cost: the recorded trace of one optimizer step, best schedule found by \
         the analytic search on `{}`. Generated by `edgesim repro --real-tune` in {:.0} s.\n",
        s.model,
        s.train
            .iter()
            .map(|t| format!("`{t}`"))
            .collect::<Vec<_>>()
            .join(" and "),
        tokens,
        s.chunks,
        s.chunk_tokens,
        s.eval,
        s.compression,
        s.forward,
        rows.first().map_or("-", |r| r.sim.hw.as_str()),
        s.seconds
    );
    let _ = writeln!(
        m,
        "| Run | Avg. bit | Sparsity | Trainable | Loss first -> last | Held-out PPL untuned -> tuned (final head) | Vote PPL | Accuracy (final / vote) | Peak saved activations | Norm. mem. (vs LoRA) | CPU s/step | Tokens/s | Sim. s/step | Sim. speed-up | Sim. memory | Sim. mem. ratio |"
    );
    let _ = writeln!(
        m,
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    let lora = lora_row(rows);
    for r in rows {
        let x = &r.summary;
        let (u, t) = (x.untuned.last(), x.tuned.last());
        let (act, speed, mem) = vs_lora(r, lora);
        let _ = writeln!(
            m,
            "| {} | {:.2} | {} | {} | {:.3} -> {:.3} | {} -> {} | {} | {} / {} | {} | {} | {:.2} | {:.0} | {} | {} | {} | {} |",
            r.label,
            x.avg_bits,
            pct(x.sparsity),
            x.trainable_parameters,
            x.first_loss,
            x.last_loss,
            u.map_or("-".into(), |v| sig(v.perplexity, 4)),
            t.map_or("-".into(), |v| sig(v.perplexity, 4)),
            sig(x.tuned.vote.perplexity, 4),
            t.map_or("-".into(), |v| pct(v.accuracy)),
            pct(x.tuned.vote.accuracy),
            mib(x.peak_activation_bytes as f64),
            act.map_or("-".into(), |v| format!("{v:.2}x")),
            x.cpu_seconds_per_step,
            x.tokens_per_second,
            opt(r.sim.seconds_per_step, 4),
            speed.map_or("-".into(), |v| format!("{v:.2}x")),
            r.sim.memory_bytes.map_or("-".into(), |b| format!(
                "{:.2} GiB",
                b / (1u64 << 30) as f64
            )),
            mem.map_or("-".into(), |v| format!("{v:.2}x")),
        );
    }
    let _ = writeln!(
        m,
        "\nPeak saved activations: the largest sum of tensors kept from forward for backward \
         at any moment of a micro-batch, as the engine held them (f32), over every \
         micro-batch of the run; Norm. mem. is its ratio to LoRA's (the quantity the paper's \
         0.25x most plausibly counts: 8 of 32 layers backpropagated). Sim. memory counts \
         every tier (weights, saved activations at 16 bits, gradients, optimizer state)."
    );
    for r in rows.iter().filter(|r| r.summary.tuned.exits.len() > 1) {
        exit_table(&mut m, &r.label, &r.summary.untuned, &r.summary.tuned);
    }
    m
}

/// Writes `tune.csv`, `tune.md` and `tune.{png,svg}` into `dir`; returns the paths.
pub fn write_tune(dir: &Path, rows: &[TuneRow], s: &TuneSetup) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| crate::error::Error::io(dir, e))?;
    let mut files = Vec::new();
    let (h, lines) = csv_rows(rows);
    let p = dir.join("tune.csv");
    write_csv(&p, &h, &lines)?;
    files.push(p);
    let p = dir.join("tune.md");
    crate::io_util::write_atomic(&p, markdown(rows, s).as_bytes())?;
    files.push(p);
    let last = |e: &Evaluation| e.last().map_or(f64::NAN, |v| v.perplexity);
    let series = vec![
        (
            "untuned (final head)".to_string(),
            rows.iter().map(|r| last(&r.summary.untuned)).collect(),
        ),
        (
            "tuned (final head)".to_string(),
            rows.iter().map(|r| last(&r.summary.tuned)).collect(),
        ),
        (
            "tuned (vote over exits)".to_string(),
            rows.iter()
                .map(|r| r.summary.tuned.vote.perplexity)
                .collect(),
        ),
    ];
    files.extend(plot::bar_chart(
        &dir.join("tune"),
        &BarChart {
            title: "Held-out perplexity before and after tuning".into(),
            y_label: format!(
                "perplexity, {} chunks of {} tokens",
                s.chunks, s.chunk_tokens
            ),
            categories: rows.iter().map(|r| r.label.clone()).collect(),
            series,
        },
    )?);
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tune::summary::{ExitMetric, Metric};

    fn eval(ppl: &[f64], vote: f64) -> Evaluation {
        Evaluation {
            predictions: 10,
            exits: ppl
                .iter()
                .enumerate()
                .map(|(i, &p)| ExitMetric {
                    layer: 7 * (i + 1),
                    metric: Metric {
                        perplexity: p,
                        accuracy: 0.25,
                    },
                })
                .collect(),
            vote: Metric {
                perplexity: vote,
                accuracy: 0.3,
            },
        }
    }

    fn row(label: &str, method: &str, act: u64, secs: f64, mem: f64, exits: usize) -> TuneRow {
        let p: Vec<f64> = (0..exits).map(|i| 50.0 - i as f64).collect();
        TuneRow {
            label: label.into(),
            summary: TuneSummary {
                method: method.into(),
                setup: String::new(),
                checkpoint: "m.gguf".into(),
                avg_bits: 16.0,
                sparsity: 0.0,
                steps: 2,
                first_step: 0,
                steps_run: 2,
                accumulation: 2,
                seq_len: 8,
                training_tokens: 32,
                trainable_parameters: 100,
                first_loss: 3.0,
                last_loss: 2.5,
                tokens_per_second: 10.0,
                cpu_seconds_per_step: 1.0,
                peak_activation_bytes: act,
                untuned: eval(&p, 40.0),
                tuned: eval(&p.iter().map(|x| x - 5.0).collect::<Vec<_>>(), 30.0),
            },
            sim: Simulated {
                hw: "paper".into(),
                seconds_per_step: Some(secs),
                memory_bytes: Some(mem),
                saved_bytes_per_sequence: act / 2,
            },
        }
    }

    #[test]
    fn ratios_are_against_the_lora_row() {
        let rows = vec![
            row("lora", "lora", 4000, 10.0, 8.0, 1),
            row("edge-llm B=4", "edge-llm", 1000, 4.0, 2.0, 4),
        ];
        let (h, lines) = csv_rows(&rows);
        // lora: one exit, no vote line; edge-llm: 4 exits + vote.
        assert_eq!(lines.len(), 1 + 5);
        let col = |name: &str| h.iter().position(|c| c == name).unwrap();
        let e = &lines[1];
        assert_eq!(e[col("activation_ratio_vs_lora")], "0.2500");
        assert_eq!(e[col("sim_speedup_vs_lora")], "2.500");
        assert_eq!(e[col("sim_memory_ratio_vs_lora")], "0.2500");
        assert_eq!(lines[5][col("predictor")], "vote");
        assert!(lines.iter().all(|l| l.len() == h.len()));
        let md = markdown(
            &rows,
            &TuneSetup {
                model: "m".into(),
                train: vec!["a.txt".into()],
                eval: "b.txt".into(),
                chunks: 2,
                chunk_tokens: 8,
                compression: "none".into(),
                forward: "stops at the exit".into(),
                seconds: 1.0,
            },
        );
        assert!(md.contains("| edge-llm B=4 |") && md.contains("0.25x") && md.contains("2.50x"));
        assert!(md.contains("### edge-llm B=4: each exit and the vote"));
    }
}
