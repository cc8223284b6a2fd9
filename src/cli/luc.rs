//! `edgesim luc ...`: the tensor engine from the command line. Make a synthetic
//! checkpoint, measure per-layer sensitivity, turn it into a policy (the `policy`
//! handler lives in `luc_policy.rs`), compress a checkpoint per a policy.

use crate::error::{Error, Result};
use crate::llm::checkpoint::{Checkpoint, StoreDtype};
use crate::llm::synth::{SynthShape, synth};
use crate::llm::tokenizer::{CalibFormat, Calibration, Tokenizer, load_calibration};
use crate::luc::compress::{CompressReport, compress};
use crate::luc::prune::PruneMethod;
use crate::luc::sensitivity::{
    MeasureAt, PAPER_SPARSITIES, Sensitivity, SensitivityOptions, measure,
};
use crate::policy::Policy;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Arguments of `edgesim luc`.
#[derive(clap::Args, Debug)]
pub struct LucArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: LucCommand,
}

/// Subcommands of `edgesim luc`.
#[derive(clap::Subcommand, Debug)]
pub enum LucCommand {
    /// Write a small random LLaMA-layout checkpoint (config.json + model.safetensors)
    /// whose layers differ in sensitivity.
    Synth(SynthArgs),
    /// Measure per-layer sensitivity: the MSE of each decoder layer's output when only
    /// that layer is quantised (quant_mse.csv) or pruned (pruning_mse.csv).
    Sensitivity(SensitivityArgs),
    /// Compute a layer-wise unified compression (LUC) policy from sensitivity CSVs
    /// (eq. 1 bits, eq. 2 sparsity), or a random baseline of it (Table 2), and write it
    /// as policy TOML.
    Policy(super::luc_policy::LucPolicyArgs),
    /// Prune and quantise a checkpoint layer by layer per a policy TOML; write the
    /// compressed checkpoint and a size report.
    Compress(CompressArgs),
    /// Turn text into token ids with a checkpoint's tokenizer: one chunk of --chunk ids
    /// per line, the format --calib reads.
    Tokenize(super::luc_tokenize::LucTokenizeArgs),
    /// Perplexity of a checkpoint on a text or token-id file, in non-overlapping chunks.
    Eval(super::luc_eval::EvalArgs),
}

/// Element type for written checkpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DtypeArg {
    /// 32-bit float (exact for fake-quantised weights).
    F32,
    /// IEEE half.
    F16,
    /// bfloat16.
    Bf16,
}

impl From<DtypeArg> for StoreDtype {
    fn from(d: DtypeArg) -> Self {
        match d {
            DtypeArg::F32 => StoreDtype::F32,
            DtypeArg::F16 => StoreDtype::F16,
            DtypeArg::Bf16 => StoreDtype::BF16,
        }
    }
}

/// Pruning method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MethodArg {
    /// SparseGPT (OBS updates with the calibration Hessian; the reference pruner).
    Sparsegpt,
    /// Wanda (|w| times input-feature norm, per output row).
    Wanda,
    /// Magnitude (smallest |w|; no calibration needed).
    Magnitude,
}

impl From<MethodArg> for PruneMethod {
    fn from(m: MethodArg) -> Self {
        match m {
            MethodArg::Sparsegpt => PruneMethod::SparseGpt,
            MethodArg::Wanda => PruneMethod::Wanda,
            MethodArg::Magnitude => PruneMethod::Magnitude,
        }
    }
}

/// Where `luc sensitivity` measures the error of a compressed layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MeasureArg {
    /// MSE of the compressed layer's own output (the paper's measure).
    Layer,
    /// MSE of the final hidden state (after the final RMSNorm) with only that layer
    /// compressed and the layers above it run dense.
    Final,
}

impl From<MeasureArg> for MeasureAt {
    fn from(m: MeasureArg) -> Self {
        match m {
            MeasureArg::Layer => MeasureAt::Layer,
            MeasureArg::Final => MeasureAt::Final,
        }
    }
}

/// Arguments of `edgesim luc synth`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    edgesim luc synth --shape tiny --seed 7 --out /tmp/es/ckpt\n  \
    edgesim luc synth --shape small --seed 1 --dtype bf16 --shards 3 --out /tmp/es/small")]
pub struct SynthArgs {
    /// Model shape: tiny (8 layers, hidden 64, 0.40 M parameters) or small (12 layers,
    /// hidden 256, 9.0 M parameters). Both take byte-level text (vocabulary >= 256).
    #[arg(long, value_enum, default_value = "tiny")]
    pub shape: SynthShape,
    /// Random seed: the same seed always gives the same bytes.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output directory (created if needed).
    #[arg(long)]
    pub out: PathBuf,
    /// Element type of the stored tensors.
    #[arg(long, value_enum, default_value = "f32")]
    pub dtype: DtypeArg,
    /// Split the weights over this many safetensors files plus
    /// model.safetensors.index.json (1 = a single model.safetensors).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub shards: u64,
    /// Print a JSON summary on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Calibration-data arguments shared by sensitivity and compress.
#[derive(clap::Args, Debug)]
pub struct CalibArgs {
    /// Calibration file: token ids (one sample per line, integers separated by spaces or
    /// commas) or plain text (tokenised byte-level, cut into --seq-len windows).
    #[arg(long)]
    pub calib: PathBuf,
    /// How to read --calib; auto = ids if every non-empty line is integers, else text.
    #[arg(long, value_enum, default_value = "auto")]
    pub calib_format: CalibFormat,
    /// Tokens per calibration sample (id lines are truncated to it).
    #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(u64).range(1..=65536))]
    pub seq_len: u64,
    /// Maximum number of calibration samples (the paper uses ~10).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=100000))]
    pub samples: u64,
    /// Pruning method.
    #[arg(long, value_enum, default_value = "sparsegpt")]
    pub method: MethodArg,
}

/// Arguments of `edgesim luc sensitivity`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    edgesim luc sensitivity --checkpoint /tmp/es/ckpt --calib data/calibration_text.txt --out /tmp/es/sens\n  \
    edgesim luc sensitivity --checkpoint DIR --calib ids.txt --seq-len 512 --bits 3,4,8 --method wanda --out DIR --json\n  \
    edgesim luc sensitivity --checkpoint DIR --calib text.txt --skip-positions 1 --measure final --out DIR\n\n\
    Then: edgesim luc policy --sensitivity DIR/pruning_mse.csv --quant-sensitivity DIR/quant_mse.csv --bits 4 --sparsity 0.5 --out policy.toml")]
pub struct SensitivityArgs {
    /// Checkpoint directory or .gguf file: a directory holds config.json +
    /// model.safetensors (or sharded with model.safetensors.index.json), f32/f16/bf16,
    /// Hugging Face LLaMA tensor names; a .gguf file is llama.cpp's format (LLaMA
    /// architecture; F32/F16/BF16, Q4_0/Q4_1/Q5_0/Q5_1/Q8_0 and K-quants dequantised).
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Calibration data.
    #[command(flatten)]
    pub calib: CalibArgs,
    /// Output directory for pruning_mse.csv and quant_mse.csv.
    #[arg(long)]
    pub out: PathBuf,
    /// Weight bit-width(s) for quantisation sensitivity, comma-separated, each 2..=16.
    #[arg(long, value_delimiter = ',', default_value = "4")]
    pub bits: Vec<u32>,
    /// Sparsities for pruning sensitivity, comma-separated, each in [0, 1)
    /// (default: the reference levels 0.05,0.1,0.2,0.3,0.5,0.7,0.9).
    #[arg(long, value_delimiter = ',')]
    pub sparsities: Option<Vec<f64>>,
    /// Leave the first K positions of every sample out of the MSE (attention-sink tokens
    /// with massive activations; 0 = all positions, the paper's measure). K must be below
    /// the shortest sample's length.
    #[arg(long, value_name = "K", default_value_t = 0)]
    pub skip_positions: usize,
    /// Hidden state the error is measured on: the compressed layer's output, or the final
    /// hidden state (after the final RMSNorm) with the layers above run dense.
    #[arg(long, value_enum, default_value = "layer")]
    pub measure: MeasureArg,
    /// Print a JSON summary on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `edgesim luc compress`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Example:\n  \
    edgesim luc compress --checkpoint /tmp/es/ckpt --policy /tmp/es/policy.toml --calib data/calibration_text.txt --out /tmp/es/ckpt_luc")]
pub struct CompressArgs {
    /// Checkpoint to compress: directory or .gguf file (as for `luc sensitivity`).
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Policy TOML (as written by `edgesim luc policy`): one (w_bits, a_bits, kv_bits,
    /// sparsity) per decoder layer. w_bits 2..=16 quantise (integer codes, one scale
    /// per output channel); w_bits above 16 keep the float weights.
    #[arg(long)]
    pub policy: PathBuf,
    /// Calibration data.
    #[command(flatten)]
    pub calib: CalibArgs,
    /// Output directory: compressed checkpoint + compression_report.csv.
    #[arg(long)]
    pub out: PathBuf,
    /// Element type of the stored (dequantised) weights; f32 keeps them exact.
    #[arg(long, value_enum, default_value = "f32")]
    pub dtype: DtypeArg,
    /// Print the report as JSON on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// Runs `edgesim luc ...`.
pub fn run(args: &LucArgs) -> Result<()> {
    match &args.command {
        LucCommand::Synth(a) => synth_cmd(a),
        LucCommand::Sensitivity(a) => sensitivity_cmd(a),
        LucCommand::Policy(a) => super::luc_policy::run(a),
        LucCommand::Compress(a) => compress_cmd(a),
        LucCommand::Tokenize(a) => super::luc_tokenize::run(a),
        LucCommand::Eval(a) => super::luc_eval::run(a),
    }
}

fn to_json(v: &impl serde::Serialize) -> Result<String> {
    serde_json::to_string_pretty(v).map_err(|e| Error::Other(format!("JSON encoding: {e}")))
}

fn synth_cmd(a: &SynthArgs) -> Result<()> {
    let (ckpt, traits) = synth(a.shape, a.seed);
    ckpt.save(&a.out, a.dtype.into(), a.shards as usize)?;
    let c = &ckpt.config;
    let params: usize = ckpt.weights.embed.len()
        + ckpt.weights.lm_head.as_ref().map_or(0, |h| h.len())
        + ckpt
            .weights
            .layers
            .iter()
            .map(|l| {
                l.q.len()
                    + l.k.len()
                    + l.v.len()
                    + l.o.len()
                    + l.gate.len()
                    + l.up.len()
                    + l.down.len()
                    + 2 * c.hidden_size
            })
            .sum::<usize>()
        + c.hidden_size;
    if a.json {
        let layers: Vec<_> = traits
            .iter()
            .enumerate()
            .map(|(i, t)| serde_json::json!({"layer": i, "residual_scale": t.residual_scale, "outliers": t.outliers}))
            .collect();
        let v = serde_json::json!({"out": a.out, "params": params, "layers": layers});
        crate::outln!("{}", to_json(&v)?)?;
    } else {
        crate::outln!(
            "wrote {}: {} layers, hidden {}, {} heads ({} KV), MLP {}, vocab {}, {} parameters",
            a.out.display(),
            c.num_hidden_layers,
            c.hidden_size,
            c.num_attention_heads,
            c.num_key_value_heads,
            c.intermediate_size,
            c.vocab_size,
            params
        )?;
        crate::outln!("layer  residual_scale  outliers")?;
        for (i, t) in traits.iter().enumerate() {
            crate::outln!(
                "{i:>5}  {:>14.3}  {}",
                t.residual_scale,
                if t.outliers { "yes" } else { "no" }
            )?;
        }
    }
    Ok(())
}

/// Calibration samples of `a`, text tokenised by the tokenizer of the checkpoint at
/// `ckpt_path` (byte-level when it carries none).
fn load_calib(a: &CalibArgs, ckpt_path: &Path, ckpt: &Checkpoint) -> Result<Calibration> {
    let tok = Tokenizer::for_checkpoint(ckpt_path)?;
    load_calibration(
        &a.calib,
        a.calib_format,
        &tok,
        ckpt.config.vocab_size,
        a.seq_len as usize,
        a.samples as usize,
    )
}

fn layer_bar(layers: usize, what: &str) -> ProgressBar {
    let bar = crate::cli::out::progress(ProgressBar::new(layers as u64));
    if let Ok(style) =
        ProgressStyle::with_template("{msg} [{bar:30}] layer {pos}/{len} ({elapsed}, eta {eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar
}

/// Indices of the layers whose value is at or above the mean of `v`: the layers eq. 1
/// would call sensitive.
fn above_mean(v: &[f64]) -> Vec<usize> {
    let mean = v.iter().sum::<f64>() / v.len().max(1) as f64;
    v.iter()
        .enumerate()
        .filter(|(_, x)| **x >= mean)
        .map(|(i, _)| i)
        .collect()
}

fn sensitivity_cmd(a: &SensitivityArgs) -> Result<()> {
    let ckpt = Checkpoint::load(&a.checkpoint)?;
    let calib = load_calib(&a.calib, &a.checkpoint, &ckpt)?;
    let opts = SensitivityOptions {
        bits: a.bits.clone(),
        sparsities: a
            .sparsities
            .clone()
            .unwrap_or_else(|| PAPER_SPARSITIES.to_vec()),
        method: a.calib.method.into(),
        skip_positions: a.skip_positions,
        measure: a.measure.into(),
    };
    opts.validate()?;
    let layers = ckpt.config.num_hidden_layers;
    let tokens: usize = calib.samples.iter().map(Vec::len).sum();
    crate::cli::out::note(format_args!(
        "{} calibration samples ({:?}), {tokens} tokens; {} layers x ({} bit-widths + {} sparsities); {}",
        calib.samples.len(),
        calib.format,
        layers,
        opts.bits.len(),
        opts.sparsities.len(),
        describe(&opts)
    ));
    let bar = layer_bar(layers, "sensitivity");
    let start = Instant::now();
    let s = measure(&ckpt, &calib.samples, &opts, &|_| bar.inc(1))?;
    bar.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();
    let prune_path = a.out.join("pruning_mse.csv");
    let quant_path = a.out.join("quant_mse.csv");
    crate::io_util::write_atomic(&prune_path, s.pruning_csv().as_bytes())?;
    crate::io_util::write_atomic(&quant_path, s.quant_csv().as_bytes())?;
    print_sensitivity(a, &opts, &s, layers, seconds, &prune_path, &quant_path)
}

fn print_sensitivity(
    a: &SensitivityArgs,
    opts: &SensitivityOptions,
    s: &Sensitivity,
    layers: usize,
    seconds: f64,
    prune_path: &Path,
    quant_path: &Path,
) -> Result<()> {
    let prune_mean = s.pruning_layer_means(layers);
    let quant_means: Vec<(u32, Vec<f64>)> = opts
        .bits
        .iter()
        .map(|&b| (b, s.quant_layer_means(layers, b)))
        .collect();
    let prune_sensitive = if opts.sparsities.is_empty() {
        vec![]
    } else {
        above_mean(&prune_mean)
    };
    let quant_sensitive = quant_means
        .first()
        .map(|(_, v)| above_mean(v))
        .unwrap_or_default();
    if a.json {
        let per_layer: Vec<_> = (0..layers)
            .map(|j| {
                let q: serde_json::Map<String, serde_json::Value> =
                    quant_means.iter().map(|(b, v)| (b.to_string(), serde_json::json!(v[j]))).collect();
                let p: serde_json::Map<String, serde_json::Value> = opts
                    .sparsities
                    .iter()
                    .map(|&sp| (sp.to_string(), serde_json::json!(s.pruning_layer_means_at(layers, sp)[j])))
                    .collect();
                serde_json::json!({"layer": j, "quant_mse_by_bits": q, "prune_mse_by_sparsity": p,
                                   "prune_mse_mean": if opts.sparsities.is_empty() { f64::NAN } else { prune_mean[j] }})
            })
            .collect();
        let v = serde_json::json!({
            "pruning_csv": prune_path, "quant_csv": quant_path, "seconds": seconds,
            "method": format!("{:?}", opts.method), "measure": opts.measure,
            "skip_positions": opts.skip_positions, "layers": per_layer,
            "quant_sensitive_layers": quant_sensitive, "prune_sensitive_layers": prune_sensitive,
        });
        crate::outln!("{}", to_json(&v)?)?;
        return Ok(());
    }
    crate::outln!(
        "wrote {} and {} in {seconds:.2} s ({})",
        prune_path.display(),
        quant_path.display(),
        describe(opts)
    )?;
    crate::cli::out::print("layer")?;
    for (b, _) in &quant_means {
        crate::cli::out::print(&format!("  quant_mse@{b}b"))?;
    }
    crate::outln!("  prune_mse@0.5  prune_mse_mean")?;
    let at_half = s.pruning_layer_means_at(layers, 0.5);
    for j in 0..layers {
        crate::cli::out::print(&format!("{j:>5}"))?;
        for (b, v) in &quant_means {
            crate::cli::out::print(&format!(
                "  {:>width$.3e}",
                v[j],
                width = 10 + b.to_string().len()
            ))?;
        }
        crate::outln!("  {:>13.3e}  {:>14.3e}", at_half[j], prune_mean[j])?;
    }
    crate::outln!(
        "quantisation-sensitive layers (>= mean at {} bits): {quant_sensitive:?}",
        opts.bits.first().copied().unwrap_or(0)
    )?;
    crate::outln!("pruning-sensitive layers (>= mean over sparsities): {prune_sensitive:?}")?;
    Ok(())
}

/// One line naming what the MSEs measure (the options beside the CSVs, whose format is
/// fixed).
pub(crate) fn describe(opts: &SensitivityOptions) -> String {
    let what = match opts.measure {
        MeasureAt::Layer => "MSE of the layer output",
        MeasureAt::Final => "MSE of the final hidden state",
    };
    match opts.skip_positions {
        0 => format!("measure {}: {what} over all positions", opts.measure.name()),
        k => format!(
            "measure {}: {what}, first {k} position(s) of each sample skipped",
            opts.measure.name()
        ),
    }
}

fn compress_cmd(a: &CompressArgs) -> Result<()> {
    let ckpt = Checkpoint::load(&a.checkpoint)?;
    let policy = Policy::from_file(&a.policy)?;
    let calib = load_calib(&a.calib, &a.checkpoint, &ckpt)?;
    let bar = layer_bar(ckpt.config.num_hidden_layers, "compress");
    let start = Instant::now();
    let (out, report) = compress(
        &ckpt,
        &policy,
        &a.policy.display().to_string(),
        &calib.samples,
        a.calib.method.into(),
        &|_| bar.inc(1),
    )?;
    bar.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();
    // Checkpoint, tokenizer and report are one output set: --out is locked while they
    // are written and receives all of them at once (crate::io_util::OutputSet).
    let set = crate::io_util::OutputSet::begin(&a.out)?;
    out.save(set.dir(), a.dtype.into(), 1)?;
    // The compressed checkpoint keeps the source's tokenizer, so text evaluation and
    // calibration on it tokenise as the original model does.
    Tokenizer::for_checkpoint(&a.checkpoint)?.save_beside(set.dir())?;
    set.write("compression_report.csv", report.to_csv().as_bytes())?;
    set.commit()?;
    if a.json {
        crate::outln!("{}", to_json(&report)?)?;
    } else {
        print_compress(&report, &a.out, seconds)?;
    }
    Ok(())
}

fn print_compress(r: &CompressReport, out: &Path, seconds: f64) -> Result<()> {
    crate::outln!(
        "wrote {} (checkpoint + compression_report.csv) in {seconds:.2} s",
        out.display()
    )?;
    crate::outln!(
        "layer  w_bits  achieved_bits  target_sp  achieved_sp  f16_bytes  compressed_bytes  output_mse"
    )?;
    for l in &r.layers {
        crate::outln!(
            "{:>5}  {:>6}  {:>13}  {:>9.3}  {:>11.4}  {:>9}  {:>16}  {:>10.3e}",
            l.layer,
            l.w_bits,
            l.achieved_bits,
            l.target_sparsity,
            l.achieved_sparsity,
            l.dense_f16_bytes,
            l.compressed_bytes,
            l.output_mse
        )?;
    }
    crate::outln!(
        "decoder linears: avg {:.3} bits, sparsity {:.4}, {} -> {} bytes ({:.2}x); embeddings/head/norms {} bytes at f16",
        r.avg_w_bits,
        r.achieved_sparsity,
        r.dense_f16_bytes,
        r.compressed_bytes,
        r.dense_f16_bytes as f64 / r.compressed_bytes.max(1) as f64,
        r.uncompressed_bytes
    )?;
    crate::outln!(
        "model output MSE (final hidden state, compressed vs dense): {:.4e}",
        r.model_output_mse
    )?;
    Ok(())
}
