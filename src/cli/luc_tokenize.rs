//! `edgesim luc tokenize`: text to token ids with a checkpoint's tokenizer, in the ids
//! format that `--calib` (and any other ids input) reads: one chunk per line, ids
//! separated by spaces.

use crate::error::{Error, Result};
use crate::llm::tokenizer::{CalibFormat, Tokenizer, parse_calibration};
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `edgesim luc tokenize`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    edgesim luc tokenize --checkpoint ~/.cache/edgesim/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf \\\n    \
    --data ~/.cache/edgesim/austen/emma.txt --chunk 128 --chunks 10 --out calib_ids.txt\n  \
    edgesim luc tokenize --checkpoint /tmp/es/ckpt --data notes.txt --chunk 64 --json")]
pub struct LucTokenizeArgs {
    /// Checkpoint whose tokenizer to use: a GGUF file (its embedded byte-level BPE), a
    /// directory with tokenizer.json, or a directory without one (one token per byte).
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// UTF-8 text file to tokenise (as one running stream).
    #[arg(long)]
    pub data: PathBuf,
    /// Tokens per output line; the tail shorter than one chunk is dropped.
    #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(u64).range(1..=1_048_576))]
    pub chunk: u64,
    /// Keep at most this many chunks (default: all).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub chunks: Option<u64>,
    /// Output file (written atomically); `-` or absent: standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print the summary as JSON (on standard error when the ids go to standard output).
    #[arg(long)]
    pub json: bool,
}

/// Summary of one `tokenize` run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TokenizeSummary {
    /// The checkpoint whose tokenizer was used.
    pub checkpoint: PathBuf,
    /// The text file.
    pub data: PathBuf,
    /// `bpe` or `bytes`.
    pub tokenizer: &'static str,
    /// Ids the tokenizer can produce (special tokens included).
    pub vocab_size: usize,
    /// Size of the text in bytes.
    pub text_bytes: usize,
    /// Tokens per chunk.
    pub chunk: usize,
    /// Chunks written.
    pub chunks: usize,
    /// Tokens written (`chunks x chunk`).
    pub tokens: usize,
    /// Where the ids went (`-` = standard output).
    pub out: String,
    /// Wall-clock seconds for tokenisation and writing.
    pub seconds: f64,
}

/// Runs `edgesim luc tokenize`.
pub fn run(a: &LucTokenizeArgs) -> Result<()> {
    if !a.checkpoint.exists() {
        return Err(Error::input(
            a.checkpoint.display().to_string(),
            "--checkpoint",
            "no such file or directory (a GGUF file or a checkpoint directory)",
        ));
    }
    let start = Instant::now();
    let tok = Tokenizer::for_checkpoint(&a.checkpoint)?;
    let text = crate::io_util::read_to_string(&a.data)?;
    let chunk = a.chunk as usize;
    let calib = parse_calibration(
        &a.data.display().to_string(),
        &text,
        CalibFormat::Text,
        &tok,
        tok.vocab_size(),
        chunk,
        a.chunks.map_or(usize::MAX, |c| c as usize),
    )
    .map_err(|e| match e {
        // The shared reader names its window flag --seq-len; here it is --chunk.
        Error::Input { file, key, msg } if key == "--seq-len" => Error::Input {
            file,
            key: "--chunk".to_string(),
            msg,
        },
        e => e,
    })?;
    let mut body = String::with_capacity(calib.samples.len() * chunk * 6);
    for s in &calib.samples {
        let line: Vec<String> = s.iter().map(u32::to_string).collect();
        body.push_str(&line.join(" "));
        body.push('\n');
    }
    let to_stdout = a.out.as_ref().is_none_or(|p| p.as_os_str() == "-");
    if to_stdout {
        crate::cli::out::print(&body)?;
    } else if let Some(p) = &a.out {
        crate::io_util::write_atomic(p, body.as_bytes())?;
    }
    let summary = TokenizeSummary {
        checkpoint: a.checkpoint.clone(),
        data: a.data.clone(),
        tokenizer: tok.name(),
        vocab_size: tok.vocab_size(),
        text_bytes: text.len(),
        chunk,
        chunks: calib.samples.len(),
        tokens: calib.samples.len() * chunk,
        out: a
            .out
            .as_ref()
            .map_or_else(|| "-".to_string(), |p| p.display().to_string()),
        seconds: start.elapsed().as_secs_f64(),
    };
    let report = if a.json {
        serde_json::to_string_pretty(&summary)
            .map_err(|e| Error::Other(format!("JSON encoding: {e}")))?
    } else {
        format!(
            "{} chunks of {} tokens ({} tokens, {} tokenizer, vocabulary {}) from {} ({} bytes) -> {} in {:.2} s",
            summary.chunks,
            summary.chunk,
            summary.tokens,
            summary.tokenizer,
            summary.vocab_size,
            summary.data.display(),
            summary.text_bytes,
            summary.out,
            summary.seconds
        )
    };
    if to_stdout {
        crate::cli::out::note(&report);
    } else {
        crate::outln!("{report}")?;
    }
    Ok(())
}
