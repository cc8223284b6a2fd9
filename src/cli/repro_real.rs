//! `edgesim repro --real`: Table 2 (the LUC ablation) on the fetched SmolLM2-135M and
//! Jane Austen texts, into `<out>/real/`.

use crate::data::RealData;
use crate::error::{Error, Result};
use crate::llm::checkpoint::Checkpoint;
use crate::llm::tokenizer::{CalibFormat, Tokenizer, load_calibration};
use crate::luc::sensitivity::SensitivityOptions;
use crate::luc::table2::{self, Stage, Table2, Table2Options};
use crate::report::table2_report::{Setup, write_table2};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::Path;
use std::time::Instant;

/// Novel the policies are calibrated on.
pub const CALIB_NOVEL: &str = "emma";
/// Novel the perplexity is measured on (held out from calibration).
pub const EVAL_NOVEL: &str = "pride_and_prejudice";

/// Settings of the real-model Table 2 run.
#[derive(Debug, Clone)]
pub struct RealOptions {
    /// Evaluation chunks, spread evenly over the novel.
    pub chunks: usize,
    /// Tokens per evaluation chunk (the paper: 128).
    pub chunk_tokens: usize,
    /// Calibration samples, spread evenly over the calibration novel.
    pub calib_samples: usize,
    /// Tokens per calibration sample.
    pub calib_tokens: usize,
    /// Rows to build.
    pub table: Table2Options,
    /// Sensitivity measure.
    pub sensitivity: SensitivityOptions,
}

/// `n` items taken at evenly spaced indices of `v` (all of them when `n >= len`), so a
/// few chunks still cover the whole book rather than its first pages.
pub fn spread<T: Clone>(v: &[T], n: usize) -> Vec<T> {
    if n >= v.len() {
        return v.to_vec();
    }
    (0..n).map(|i| v[i * v.len() / n].clone()).collect()
}

/// Windows of `tokens` tokens of `novel`, `n` of them spread over the book.
fn windows(
    data: &RealData,
    tok: &Tokenizer,
    vocab: usize,
    novel: &str,
    tokens: usize,
    n: usize,
) -> Result<Vec<Vec<u32>>> {
    let all = load_calibration(
        &data.novel(novel),
        CalibFormat::Text,
        tok,
        vocab,
        tokens,
        usize::MAX,
    )?;
    Ok(spread(&all.samples, n))
}

/// Runs the table on the real data in `data` and writes it to `out` (the `real/`
/// directory). Returns the table and the written files.
pub fn run_real(
    data: &RealData,
    out: &Path,
    o: &RealOptions,
    quiet: bool,
) -> Result<(Table2, Vec<std::path::PathBuf>)> {
    if o.chunks == 0 || o.chunk_tokens < 2 || o.calib_samples == 0 || o.calib_tokens == 0 {
        return Err(Error::input(
            "repro --real",
            "--chunks/--chunk/--calib-samples",
            "need at least 1 chunk of at least 2 tokens and 1 calibration sample",
        ));
    }
    let start = Instant::now();
    let ckpt = Checkpoint::load(&data.gguf)?;
    let tok = Tokenizer::for_checkpoint(&data.gguf)?;
    let vocab = ckpt.config.vocab_size;
    let calib = windows(
        data,
        &tok,
        vocab,
        CALIB_NOVEL,
        o.calib_tokens,
        o.calib_samples,
    )?;
    let chunks = windows(data, &tok, vocab, EVAL_NOVEL, o.chunk_tokens, o.chunks)?;
    let layers = ckpt.config.num_hidden_layers;
    let rows = 3 + o.table.bits.len() * if o.table.ablations { 5 } else { 3 };
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        crate::cli::out::progress(ProgressBar::new((layers + rows * chunks.len()) as u64))
    };
    if let Ok(style) =
        ProgressStyle::with_template("{msg:24} [{bar:30}] {pos}/{len} ({elapsed}, eta {eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message("sensitivity");
    let progress = |s: Stage| match s {
        Stage::Sensitivity(_) | Stage::Chunk => bar.inc(1),
        Stage::Row(label) => bar.set_message(label),
    };
    let sens = table2::layer_sensitivity(&ckpt, &calib, &o.table, &o.sensitivity, &progress)?;
    let t = table2::run(&ckpt, &calib, &chunks, &sens, &o.table, &progress)?;
    bar.finish_and_clear();
    let name = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let setup = Setup {
        model: name(&data.gguf),
        calib: format!("{CALIB_NOVEL}.txt"),
        eval: format!("{EVAL_NOVEL}.txt"),
        sensitivity: super::luc::describe(&o.sensitivity),
        seconds: start.elapsed().as_secs_f64(),
    };
    let files = write_table2(out, &t, &setup)?;
    Ok((t, files))
}
