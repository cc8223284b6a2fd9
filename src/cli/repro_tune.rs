//! `edgesim repro --real-tune`: SmolLM2-135M adapted to Jane Austen with `lora` (dense
//! base), `partial` and `edge-llm` (LUC-compressed bases), the same training tokens each;
//! held-out scores per exit and voted, measured activation memory, CPU time, and the
//! recorded traces' simulated time and memory on the paper's accelerator, into
//! `<out>/real/tune.{csv,md,png,svg}`.

use super::tune::{TuneOptions, tune_checkpoint};
use crate::data::RealData;
use crate::error::{Error, Result};
use crate::hw::HwConfig;
use crate::llm::checkpoint::Checkpoint;
use crate::llm::tokenizer::Tokenizer;
use crate::luc::compress::compress;
use crate::luc::prune::PruneMethod;
use crate::policy::{LucOptions, Policy, luc};
use crate::policy::{SensitivityKind, SensitivityTable};
use crate::report::tune_report::{Simulated, TuneRow, TuneSetup, write_tune};
use crate::tune::adamw::AdamWConfig;
use crate::tune::data::{TrainStream, eval_chunks, gguf_eos_id, tokenize_file};
use crate::tune::lora::LoraConfig;
use crate::tune::plan::{self, Method};
use crate::tune::train::TrainOptions;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Training novels.
pub const TRAIN_NOVELS: [&str; 2] = ["emma", "sense_and_sensibility"];
/// Held-out novel (not trained on, not used for calibration).
pub const EVAL_NOVEL: &str = "persuasion";
/// SmolLM2-135M's layer sensitivities measured by `edgesim luc sensitivity` (see
/// docs/luc.md), embedded so the experiment needs no earlier run.
const PRUNE_CSV: &str = include_str!("../../data/smollm2/pruning_mse.csv");
const QUANT_CSV: &str = include_str!("../../data/smollm2/quant_mse.csv");

/// Settings of the experiment.
#[derive(Debug, Clone)]
pub struct RealTuneOptions {
    /// Optimizer steps of every run.
    pub steps: usize,
    /// Micro-batches per step.
    pub accumulation: usize,
    /// Tokens per sequence and per held-out chunk.
    pub seq_len: usize,
    /// Held-out chunks.
    pub chunks: usize,
    /// Target bits B of the LUC bases (the paper's Table 1: 5, 4, 3).
    pub bits: Vec<u32>,
    /// Mean sparsity P of the LUC bases (the paper: 0.5).
    pub sparsity: f64,
    /// Calibration samples (Emma) for SparseGPT.
    pub calib_samples: usize,
    /// Seed of every run.
    pub seed: u64,
    /// Edge-LLM forward through every layer (the reference) instead of stopping at the
    /// active exit.
    pub full_forward: bool,
}

/// The LUC policy at `bits`, `sparsity` from the embedded SmolLM2 sensitivities.
pub fn smollm2_policy(layers: u32, bits: u32, sparsity: f64) -> Result<Policy> {
    let prune = SensitivityTable::from_csv_str(
        "data/smollm2/pruning_mse.csv",
        PRUNE_CSV,
        SensitivityKind::Pruning,
    )?;
    let quant = SensitivityTable::from_csv_str(
        "data/smollm2/quant_mse.csv",
        QUANT_CSV,
        SensitivityKind::Quantization,
    )?;
    Ok(luc(
        &prune,
        Some(&quant),
        layers,
        &LucOptions::new(bits, sparsity),
    )?
    .policy)
}

fn simulate(hw: &HwConfig, trace: &crate::workload::Trace) -> Simulated {
    let r = super::run::run_workloads(
        hw,
        std::slice::from_ref(trace),
        crate::cost::Mode::SharedBus,
    );
    let best = r.first().and_then(|r| r.best());
    Simulated {
        hw: hw.name.clone(),
        seconds_per_step: best.map(|e| e.seconds_per_iteration),
        memory_bytes: best.map(|e| e.memory_bytes),
        saved_bytes_per_sequence: trace.saved_bytes_per_sequence(),
    }
}

/// Runs the experiment on `data` and writes it to `out` (the `real/` directory).
pub fn run_real_tune(
    data: &RealData,
    out: &Path,
    o: &RealTuneOptions,
    quiet: bool,
) -> Result<(Vec<TuneRow>, Vec<PathBuf>)> {
    let start = Instant::now();
    let ckpt = Checkpoint::load(&data.gguf)?;
    let tok = Tokenizer::for_checkpoint(&data.gguf)?;
    let layers = ckpt.config.num_hidden_layers;
    let eos = gguf_eos_id(&data.gguf)?;
    let train_files: Vec<PathBuf> = TRAIN_NOVELS.iter().map(|n| data.novel(n)).collect();
    let stream = TrainStream::from_files(&train_files, &tok, eos, o.seq_len)?;
    let held = tokenize_file(&data.novel(EVAL_NOVEL), &tok)?;
    let chunks = eval_chunks(&held.name, &held.ids, o.seq_len, o.chunks)?;
    let calib_doc = tokenize_file(&data.novel("emma"), &tok)?;
    let calib = eval_chunks(&calib_doc.name, &calib_doc.ids, o.seq_len, o.calib_samples)?;
    let hw = HwConfig::paper_default();
    let base_opts = |method: Method| TuneOptions {
        method,
        lora: LoraConfig::default(),
        adamw: AdamWConfig::default(),
        train: TrainOptions {
            steps: o.steps,
            accumulation: o.accumulation,
            seed: o.seed,
            stop_after: None,
        },
        seq_len: o.seq_len,
    };
    let name = data
        .gguf
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut rows = Vec::new();
    let mut push =
        |label: String, ckpt: &Checkpoint, pol: Option<&Policy>, m: Method| -> Result<()> {
            if !quiet {
                crate::cli::out::note(format_args!("{label}: {}", m.describe()));
            }
            let r = tune_checkpoint(
                ckpt,
                &name,
                pol,
                &stream,
                &chunks,
                &base_opts(m),
                None,
                false,
                1,
                quiet,
            )?;
            let rec = r
                .recorded
                .as_ref()
                .ok_or_else(|| Error::Other(format!("{label}: no step recorded")))?;
            let trace = crate::tune::recorded::recorded_trace(rec, &r.tuner, &r.summary, &label)?;
            rows.push(TuneRow {
                label,
                sim: simulate(&hw, &trace),
                summary: r.summary,
            });
            Ok(())
        };
    push("lora".into(), &ckpt, None, Method::Lora)?;
    for &b in &o.bits {
        let pol = smollm2_policy(layers as u32, b, o.sparsity)?;
        let (c, _) = compress(
            &ckpt,
            &pol,
            &format!("luc B={b}"),
            &calib,
            PruneMethod::SparseGpt,
            &|_| {},
        )?;
        push(
            format!("partial B={b}"),
            &c,
            Some(&pol),
            Method::Partial { layers: 8 },
        )?;
        push(
            format!("edge-llm B={b}"),
            &c,
            Some(&pol),
            Method::EdgeLlm {
                exits: plan::default_exits(layers),
                window: 8,
                full_forward: o.full_forward,
                train_exit_heads: false,
            },
        )?;
    }
    let setup = TuneSetup {
        model: name.clone(),
        train: TRAIN_NOVELS.iter().map(|n| format!("{n}.txt")).collect(),
        eval: format!("{EVAL_NOVEL}.txt"),
        chunks: chunks.len(),
        chunk_tokens: o.seq_len,
        compression: format!(
            "LUC policy (eq. 1 + eq. 2, code semantics, P = {}) from the measured SmolLM2 \
             sensitivities in data/smollm2/, SparseGPT pruning calibrated on {} x {} tokens \
             of Emma, per-channel round-to-nearest",
            o.sparsity, o.calib_samples, o.seq_len
        ),
        forward: if o.full_forward {
            "all layers (the reference code)".into()
        } else {
            "stops at the active exit".into()
        },
        seconds: start.elapsed().as_secs_f64(),
    };
    let files = write_tune(out, &rows, &setup)?;
    Ok((rows, files))
}
