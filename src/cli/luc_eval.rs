//! `edgesim luc eval`: perplexity of a checkpoint on a text or token-id file.

use crate::error::{Error, Result};
use crate::llm::checkpoint::Checkpoint;
use crate::llm::eval::{Perplexity, perplexity};
use crate::llm::tokenizer::{CalibFormat, Tokenizer, load_calibration};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `edgesim luc eval`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Every chunk is evaluated as its own sequence (positions from 0): a chunk of \
    T tokens gives T-1 predictions. The perplexity is exp(mean negative log-likelihood) over \
    all predictions.\n\n\
    Examples:\n  \
    edgesim luc synth --shape tiny --seed 7 --out /tmp/es/ckpt\n  \
    edgesim luc eval --checkpoint /tmp/es/ckpt --data data/calibration_text.txt\n  \
    edgesim luc eval --checkpoint /tmp/es/ckpt_luc --data ids.txt --data-format ids --chunk 256 --json\n  \
    edgesim luc eval --checkpoint model.gguf --data austen/emma.txt --chunk 128 --chunks 1000"
)]
pub struct EvalArgs {
    /// Checkpoint: a directory (config.json + safetensors) or a model file; text is
    /// tokenised by its tokenizer (tokenizer.json beside config.json, the GGUF's own, or
    /// byte-level when it carries none).
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Evaluation data: text (tokenised, cut into consecutive non-overlapping chunks of
    /// --chunk tokens, the shorter tail dropped) or token ids (one chunk per line,
    /// integers separated by spaces or commas, truncated to --chunk).
    #[arg(long)]
    pub data: PathBuf,
    /// How to read --data; auto = ids if every non-empty line is integers, else text.
    #[arg(long, value_enum, default_value = "auto")]
    pub data_format: CalibFormat,
    /// Tokens per chunk (2..=65536).
    #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(u64).range(2..=65536))]
    pub chunk: u64,
    /// Evaluate only the first N chunks (N >= 1; default: all).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub chunks: Option<u64>,
    /// Print one JSON document on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `edgesim luc eval`.
pub fn run(a: &EvalArgs) -> Result<()> {
    let ckpt = Checkpoint::load(&a.checkpoint)?;
    let tok = Tokenizer::for_checkpoint(&a.checkpoint)?;
    let data = load_calibration(
        &a.data,
        a.data_format,
        &tok,
        ckpt.config.vocab_size,
        a.chunk as usize,
        a.chunks.map_or(usize::MAX, |n| n as usize),
    )?;
    let file = a.data.display().to_string();
    if let Some(i) = data.samples.iter().position(|s| s.len() < 2) {
        return Err(Error::input(
            &file,
            format!("chunk {i} (non-empty line {})", i + 1),
            "a chunk needs at least 2 tokens (one prediction)",
        ));
    }
    let bar = crate::cli::out::progress(ProgressBar::new(data.samples.len() as u64));
    if let Ok(style) =
        ProgressStyle::with_template("eval [{bar:30}] chunk {pos}/{len} ({elapsed}, eta {eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    let start = Instant::now();
    let p = perplexity(&ckpt, &data.samples, &|_| bar.inc(1))?;
    bar.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();
    if a.json {
        let v = serde_json::json!({
            "ppl": p.ppl, "nll": p.nll, "predictions": p.predictions, "chunks": p.chunks,
            "chunk_tokens": p.chunk_tokens, "chunk_nll": p.chunk_nll,
            "checkpoint": a.checkpoint, "data": a.data,
            "data_format": format!("{:?}", data.format).to_lowercase(),
        });
        let s = serde_json::to_string_pretty(&v)
            .map_err(|e| Error::Other(format!("JSON encoding: {e}")))?;
        crate::outln!("{s}")?;
    } else {
        print_text(a, &p, data.format, tok.name(), seconds)?;
    }
    Ok(())
}

fn print_text(
    a: &EvalArgs,
    p: &Perplexity,
    format: CalibFormat,
    tokenizer: &str,
    seconds: f64,
) -> crate::Result<()> {
    let read = match format {
        CalibFormat::Ids => "token ids".to_string(),
        _ => format!("text, {tokenizer} tokenizer"),
    };
    crate::outln!(
        "{} on {} ({read})",
        a.checkpoint.display(),
        a.data.display()
    )?;
    let of = if p.uniform_chunks() { "of" } else { "of up to" };
    crate::outln!(
        "perplexity over {} chunks {of} {} tokens = {} predictions: ppl {:.4}, nll {:.5} nats/prediction",
        p.chunks,
        p.chunk_tokens,
        p.predictions,
        p.ppl,
        p.nll
    )?;
    let tokens = p.predictions + p.chunks;
    crate::outln!(
        "{seconds:.2} s, {:.0} tokens/s",
        tokens as f64 / seconds.max(1e-9)
    )?;
    Ok(())
}
