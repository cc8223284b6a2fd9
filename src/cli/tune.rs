//! `edgesim tune`: LoRA tuning of a (possibly LUC-compressed) checkpoint with `lora`,
//! `partial` or `edge-llm` (exits, a backprop window moving bottom-up, voting), held-out
//! evaluation before and after, a resumable state, and the measured Trace of a step.

use crate::data::RealData;
use crate::error::{Error, Result};
use crate::llm::checkpoint::Checkpoint;
use crate::llm::tokenizer::Tokenizer;
use crate::policy::Policy;
use crate::tune::adamw::{AdamW, AdamWConfig};
use crate::tune::base::Base;
use crate::tune::data::{Order, TrainStream, eval_chunks, tokenize_file};
use crate::tune::eval::evaluate;
use crate::tune::lora::LoraConfig;
use crate::tune::model::Tuner;
use crate::tune::plan::{self, Method};
use crate::tune::record::Recorder;
use crate::tune::store::{self, StateMeta};
use crate::tune::summary::TuneSummary;
use crate::tune::train::{StepLog, TrainOptions, train};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};

/// Tuning method flag.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum MethodArg {
    /// LoRA on every layer, full backprop depth.
    Lora,
    /// LoRA on the last --partial-layers layers only; backprop stops there.
    Partial,
    /// Edge-LLM: exits, a backprop window per phase moving bottom-up, one exit loss per
    /// step, voting at evaluation.
    EdgeLlm,
}

/// Arguments of `edgesim tune`.
#[derive(clap::Args, Debug, Clone)]
#[command(
    after_help = "Training samples are windows of --seq-len + 1 tokens at seeded random \
    offsets of the training texts (concatenated, EOS between them); one optimizer step \
    averages --accumulation such samples (batch 1 with gradient accumulation). The held-out \
    text gives --eval-chunks chunks spread over it, scored per exit and by the vote (per \
    vocabulary entry the maximum probability over exits) before and after tuning.\n\n\
    Examples:\n  \
    edgesim tune --method edge-llm --steps 32 --json\n  \
    edgesim tune --checkpoint model.gguf --data emma.txt --data sense_and_sensibility.txt \
    --eval persuasion.txt --method lora --steps 64 --out runs/lora\n  \
    edgesim tune --checkpoint ckpt_luc_b4/ --policy policy_b4.toml --method partial \
    --partial-layers 8 --trace-out runs/partial.trace.json\n  \
    edgesim run --trace runs/partial.trace.json"
)]
pub struct TuneArgs {
    /// Checkpoint: a GGUF file or a safetensors directory (e.g. a `luc compress` output).
    /// Default: the fetched SmolLM2-135M (`bash scripts/fetch-real-data.sh`).
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Training text (repeatable). Default: Emma and Sense and Sensibility.
    #[arg(long)]
    pub data: Vec<PathBuf>,
    /// Held-out text. Default: Persuasion.
    #[arg(long)]
    pub eval: Option<PathBuf>,
    /// Tuning method.
    #[arg(long, value_enum, default_value = "edge-llm")]
    pub method: MethodArg,
    /// LUC policy the checkpoint was compressed with (bits of the frozen weights in the
    /// trace; the sparsity is measured from the weights).
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Optimizer steps (edge-llm: split into one equal phase per exit).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub steps: u64,
    /// Micro-batches (one sequence each) per optimizer step (the reference: 16).
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub accumulation: u64,
    /// Tokens per training sequence and per held-out chunk.
    #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(u64).range(2..=8192))]
    pub seq_len: u64,
    /// LoRA rank r.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub rank: u64,
    /// LoRA alpha (the update is scaled by alpha / r).
    #[arg(long, default_value_t = 16.0)]
    pub alpha: f64,
    /// LoRA dropout probability on the adapter input, in [0, 1).
    #[arg(long, default_value_t = 0.1)]
    pub dropout: f64,
    /// AdamW learning rate (the reference: 4e-4).
    #[arg(long, default_value_t = 4e-4)]
    pub lr: f64,
    /// AdamW decoupled weight decay.
    #[arg(long, default_value_t = 0.0)]
    pub weight_decay: f64,
    /// partial: trained layers at the top [default: 8].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub partial_layers: Option<u64>,
    /// edge-llm: decoder layers (0-based) after which exits sit, the last being the last
    /// layer. Default: 4 exits splitting the layers evenly.
    #[arg(long, value_delimiter = ',')]
    pub exits: Vec<u64>,
    /// edge-llm: layers per backprop window, ending at the active exit [default: 8].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub window: Option<u64>,
    /// edge-llm: run the forward through every layer, as the reference code does
    /// (default: stop at the active exit, whose loss is all the step needs).
    #[arg(long)]
    pub full_forward: bool,
    /// edge-llm: train the active exit's norm and LM head too (copies of the final ones).
    #[arg(long)]
    pub train_exit_heads: bool,
    /// Held-out chunks, spread evenly over the held-out text.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub eval_chunks: u64,
    /// Seed of the adapters' initialisation, the sample order and dropout.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output directory: state.safetensors (resumable), adapters.safetensors, steps.csv,
    /// summary.json.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue from <out>/state.safetensors.
    #[arg(long)]
    pub resume: bool,
    /// Stop after step N of the schedule (the state is saved; `--resume` continues).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub stop_after: Option<u64>,
    /// Save the resumable state every N steps (and at the end).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..))]
    pub save_every: u64,
    /// Write the measured Trace of one micro-batch of the last step (JSON, the format of
    /// `edgesim run --trace`).
    #[arg(long)]
    pub trace_out: Option<PathBuf>,
    /// Print one JSON summary on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Everything a tuning run needs besides the model: method, hyper-parameters, schedule.
#[derive(Debug, Clone)]
pub struct TuneOptions {
    /// The method.
    pub method: Method,
    /// LoRA settings.
    pub lora: LoraConfig,
    /// Optimizer settings.
    pub adamw: AdamWConfig,
    /// Steps, accumulation, seed.
    pub train: TrainOptions,
    /// Tokens per sequence.
    pub seq_len: usize,
}

/// What a run returns besides its summary.
pub struct TuneRun {
    /// The summary (`--json`).
    pub summary: TuneSummary,
    /// Every step's log.
    pub log: Vec<StepLog>,
    /// The recording of one micro-batch of the last step.
    pub recorded: Option<Recorder>,
    /// The tuner after training.
    pub tuner: Tuner<f32>,
}

fn bar(len: u64, quiet: bool) -> ProgressBar {
    let b = if quiet {
        ProgressBar::hidden()
    } else {
        crate::cli::out::progress(ProgressBar::new(len))
    };
    if let Ok(style) =
        ProgressStyle::with_template("{msg:40} [{bar:30}] {pos}/{len} ({elapsed}, eta {eta})")
    {
        b.set_style(style.progress_chars("=> "));
    }
    b
}

/// Tunes `ckpt` (compressed per `policy`, when given) on `stream`, evaluating on `chunks`
/// before and after. With `out`, a resumable state is saved every `save_every` steps and
/// `resume` continues from it. `name` is the checkpoint's name in the summary.
#[allow(clippy::too_many_arguments)]
pub fn tune_checkpoint(
    ckpt: &Checkpoint,
    name: &str,
    policy: Option<&Policy>,
    stream: &TrainStream,
    chunks: &[Vec<u32>],
    o: &TuneOptions,
    out: Option<&Path>,
    resume: bool,
    save_every: usize,
    quiet: bool,
) -> Result<TuneRun> {
    let layers = ckpt.config.num_hidden_layers;
    o.method.validate(layers)?;
    let base = Base::<f32>::from_checkpoint(ckpt, policy)?;
    let (avg_bits, sparsity) = base.compression();
    let mut tuner = Tuner::new(
        base,
        o.lora.clone(),
        &plan::adapter_layers(&o.method, layers),
        plan::exits(&o.method, layers),
        matches!(
            o.method,
            Method::EdgeLlm {
                train_exit_heads: true,
                ..
            }
        ),
        o.train.seed,
    )?;
    let steps = o.train.steps;
    let end = o.train.stop_after.map_or(steps, |s| s.min(steps));
    let config = run_config(o);
    let state_path = out.map(|d| d.join("state.safetensors"));
    // A resumed state is read and checked before any work, into a copy of the adapters:
    // the untuned evaluation below still sees the freshly initialised ones.
    let mut resumed = None;
    if resume {
        let p = state_path.as_ref().ok_or_else(|| {
            Error::input(
                "--resume",
                "--out",
                "resuming needs --out DIR holding state.safetensors",
            )
        })?;
        let file = p.display().to_string();
        let mut adapters = tuner.adapters.zeros_like();
        let (opt, meta) = {
            let mut params = adapters.named_mut();
            store::load_state(p, &mut params)?
        };
        if meta.method != o.method.describe() || meta.seed != o.train.seed {
            return Err(Error::input(
                file,
                "method/seed",
                format!(
                    "the state is of `{}` seed {}; this run is `{}` seed {}: resume with the \
                     flags of the run that saved it",
                    meta.method,
                    meta.seed,
                    o.method.describe(),
                    o.train.seed
                ),
            ));
        }
        if meta.config != config {
            return Err(Error::input(
                file,
                "config",
                format!(
                    "the state was saved by a run with {}; this run has {}: resume with the \
                     same flags",
                    meta.config, config
                ),
            ));
        }
        if meta.step as usize >= end {
            return Err(Error::input(
                file,
                "step",
                format!(
                    "the state is at step {} and this run would stop at step {end}: nothing \
                     to resume (raise --stop-after, or --steps for a new run)",
                    meta.step
                ),
            ));
        }
        resumed = Some((adapters, opt, meta.step as usize));
    }
    let b = bar(chunks.len() as u64, quiet);
    b.set_message("held-out, untuned");
    let untuned = evaluate(&tuner, chunks, &|| b.inc(1))?;
    b.finish_and_clear();
    let mut optimizer = AdamW::new(o.adamw);
    let mut start = 0;
    if let Some((adapters, opt, step)) = resumed {
        tuner.adapters = adapters;
        optimizer = opt;
        start = step;
    }
    let b = bar(steps as u64, quiet);
    b.set_position(start as u64);
    b.set_message("training");
    let order = Order::Random { seed: o.train.seed };
    let accum = o.train.accumulation as u64;
    let sample = |step: usize, micro: usize| -> Result<Vec<u32>> {
        Ok(stream
            .sample(order, step as u64 * accum + micro as u64)
            .to_vec())
    };
    let on_step = |l: &StepLog| {
        b.set_message(format!(
            "loss {:.3} exit L{} {:.0} tok/s",
            l.loss,
            l.exit_layer,
            l.tokens as f64 / l.seconds.max(1e-9)
        ));
        b.inc(1);
    };
    let mut save = |step: usize, t: &Tuner<f32>, opt: &AdamW| -> Result<()> {
        let Some(p) = &state_path else {
            return Ok(());
        };
        let last = step + 1 == end;
        if (step + 1).is_multiple_of(save_every.max(1)) || last {
            store::save_state(
                p,
                &t.adapters.named(),
                opt,
                &StateMeta {
                    step: step as u64 + 1,
                    seed: o.train.seed,
                    method: o.method.describe(),
                    config: config.clone(),
                },
            )?;
        }
        Ok(())
    };
    let run = train(
        &mut tuner,
        &o.method,
        &mut optimizer,
        &o.train,
        start,
        crate::tune::train::Hooks {
            sample: &sample,
            on_step: &on_step,
            after_step: &mut save,
        },
    )?;
    b.finish_and_clear();
    let b = bar(chunks.len() as u64, quiet);
    b.set_message("held-out, tuned");
    let tuned = evaluate(&tuner, chunks, &|| b.inc(1))?;
    b.finish_and_clear();
    let tokens: u64 = run.log.iter().map(|l| l.tokens).sum();
    let summary = TuneSummary {
        method: match o.method {
            Method::Lora => "lora",
            Method::Partial { .. } => "partial",
            Method::EdgeLlm { .. } => "edge-llm",
        }
        .to_string(),
        setup: o.method.describe(),
        checkpoint: name.to_string(),
        avg_bits,
        sparsity,
        steps,
        first_step: start,
        steps_run: run.log.len(),
        accumulation: o.train.accumulation,
        seq_len: o.seq_len,
        training_tokens: tokens,
        trainable_parameters: tuner.adapters.parameter_count() as u64,
        first_loss: run.log.first().map_or(f64::NAN, |l| l.loss),
        last_loss: run.log.last().map_or(f64::NAN, |l| l.loss),
        tokens_per_second: tokens as f64 / run.wall_seconds.max(1e-9),
        cpu_seconds_per_step: run.cpu_seconds / run.log.len().max(1) as f64,
        peak_activation_bytes: run.peak_activation_host_bytes,
        untuned,
        tuned,
    };
    if let Some(d) = out {
        store::save_adapters(&d.join("adapters.safetensors"), &tuner.adapters.named())?;
    }
    Ok(TuneRun {
        summary,
        log: run.log,
        recorded: run.recorded,
        tuner,
    })
}

/// The settings a resumed run must share with the run that saved the state (JSON text,
/// stored in the state's metadata).
fn run_config(o: &TuneOptions) -> String {
    serde_json::json!({
        "steps": o.train.steps,
        "accumulation": o.train.accumulation,
        "seq_len": o.seq_len,
        "rank": o.lora.rank,
        "alpha": o.lora.alpha,
        "dropout": o.lora.dropout,
        "lr": o.adamw.lr,
        "weight_decay": o.adamw.weight_decay,
    })
    .to_string()
}

/// The options of the flags (validated).
pub fn options(a: &TuneArgs, cfg: &crate::llm::checkpoint::LlamaConfig) -> Result<TuneOptions> {
    let layers = cfg.num_hidden_layers;
    // A flag of another method would be silently ignored: refuse it.
    let edge_only = [
        ("--exits", !a.exits.is_empty()),
        ("--window", a.window.is_some()),
        ("--full-forward", a.full_forward),
        ("--train-exit-heads", a.train_exit_heads),
    ];
    let (method_name, foreign) = match a.method {
        MethodArg::EdgeLlm => (
            "edge-llm",
            vec![("--partial-layers", a.partial_layers.is_some())],
        ),
        MethodArg::Partial => ("partial", edge_only.to_vec()),
        MethodArg::Lora => {
            let mut v = edge_only.to_vec();
            v.push(("--partial-layers", a.partial_layers.is_some()));
            ("lora", v)
        }
    };
    if let Some((flag, _)) = foreign.iter().find(|(_, given)| *given) {
        return Err(Error::input(
            *flag,
            "--method",
            format!("{flag} does not apply to --method {method_name}"),
        ));
    }
    let method = match a.method {
        MethodArg::Lora => Method::Lora,
        MethodArg::Partial => Method::Partial {
            layers: a.partial_layers.unwrap_or(8) as usize,
        },
        MethodArg::EdgeLlm => Method::EdgeLlm {
            exits: if a.exits.is_empty() {
                plan::default_exits(layers)
            } else {
                a.exits.iter().map(|&e| e as usize).collect()
            },
            window: a.window.unwrap_or(8) as usize,
            full_forward: a.full_forward,
            train_exit_heads: a.train_exit_heads,
        },
    };
    method.validate(layers)?;
    if let Method::EdgeLlm { exits, .. } = &method
        && (a.steps as usize) < exits.len()
    {
        return Err(Error::input(
            "--steps",
            "steps",
            format!(
                "{}; edge-llm splits the steps into one phase per exit and needs at least \
                 {} (one per exit)",
                a.steps,
                exits.len()
            ),
        ));
    }
    // The adapter's rank cannot exceed the smaller side of the narrowest linear (K/V).
    let max_rank = cfg.kv_dim().min(cfg.hidden_size) as u64;
    if a.rank > max_rank {
        return Err(Error::input(
            "--rank",
            "rank",
            format!("{}; allowed 1..={max_rank} for this model", a.rank),
        ));
    }
    if !(0.0..1.0).contains(&a.dropout) {
        return Err(Error::input(
            "--dropout",
            "dropout",
            format!("{}; allowed [0, 1)", a.dropout),
        ));
    }
    if !a.alpha.is_finite() || a.alpha <= 0.0 {
        return Err(Error::input(
            "--alpha",
            "alpha",
            format!("{}; allowed > 0", a.alpha),
        ));
    }
    let adamw = AdamWConfig {
        lr: a.lr,
        weight_decay: a.weight_decay,
        ..AdamWConfig::default()
    };
    adamw.validate("--lr/--weight-decay")?;
    Ok(TuneOptions {
        method,
        lora: LoraConfig {
            rank: a.rank as usize,
            alpha: a.alpha,
            dropout: a.dropout,
            ..LoraConfig::default()
        },
        adamw,
        train: TrainOptions {
            steps: a.steps as usize,
            accumulation: a.accumulation as usize,
            seed: a.seed,
            stop_after: a.stop_after.map(|s| s as usize),
        },
        seq_len: a.seq_len as usize,
    })
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

/// Runs `edgesim tune`.
pub fn run(a: &TuneArgs) -> Result<()> {
    if a.resume && a.out.is_none() {
        return Err(Error::input(
            "--resume",
            "--out",
            "resuming needs --out DIR holding state.safetensors",
        ));
    }
    let real = || RealData::locate();
    let ckpt_path = match &a.checkpoint {
        Some(p) => p.clone(),
        None => real()?.gguf,
    };
    let train_files = if a.data.is_empty() {
        let r = real()?;
        vec![r.novel("emma"), r.novel("sense_and_sensibility")]
    } else {
        a.data.clone()
    };
    if let Some(t) = &a.trace_out
        && t.is_dir()
    {
        return Err(Error::input(
            t.display().to_string(),
            "--trace-out",
            "is a directory; give the Trace file to write",
        ));
    }
    let eval_file = match &a.eval {
        Some(p) => p.clone(),
        None => real()?.novel("persuasion"),
    };
    let ckpt = Checkpoint::load(&ckpt_path)?;
    let o = options(a, &ckpt.config)?;
    let policy = match &a.policy {
        Some(p) => {
            let pol = Policy::from_file(p)?;
            crate::luc::compress::check_policy(&ckpt, &pol, &p.display().to_string())?;
            // The policy gives the bits (the weights are stored dequantised); the sparsity
            // is measured. A large gap means the policy does not describe this checkpoint.
            let (mut zeros, mut n) = (0usize, 0usize);
            for lw in &ckpt.weights.layers {
                for l in crate::model::Linear::ALL {
                    let w = lw.linear(l);
                    zeros += w.iter().filter(|v| **v == 0.0).count();
                    n += w.len();
                }
            }
            let measured = zeros as f64 / n.max(1) as f64;
            if (measured - pol.mean_sparsity()).abs() > 0.05 {
                crate::cli::out::warn(format_args!(
                    "{}: the policy's mean sparsity is {:.3} but the checkpoint's \
                     decoder linears are {:.3} zeros; was it compressed with this policy \
                     (`edgesim luc compress`)? Its bits are taken as given.",
                    p.display(),
                    pol.mean_sparsity(),
                    measured
                ));
            }
            Some(pol)
        }
        None => None,
    };
    let tok = Tokenizer::for_checkpoint(&ckpt_path)?;
    let eos = crate::tune::data::gguf_eos_id(&ckpt_path).ok().flatten();
    let stream = TrainStream::from_files(&train_files, &tok, eos, o.seq_len)?;
    let held = tokenize_file(&eval_file, &tok)?;
    let chunks = eval_chunks(&held.name, &held.ids, o.seq_len, a.eval_chunks as usize)?;
    if let Some(d) = &a.out {
        std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
    }
    let r = tune_checkpoint(
        &ckpt,
        &file_name(&ckpt_path),
        policy.as_ref(),
        &stream,
        &chunks,
        &o,
        a.out.as_deref(),
        a.resume,
        a.save_every as usize,
        a.json,
    )?;
    if let Some(t) = &a.trace_out {
        let rec = r.recorded.as_ref().ok_or_else(|| {
            Error::input(
                "--trace-out",
                "--steps",
                "no step ran (resumed at the end?)",
            )
        })?;
        let trace = crate::tune::recorded::recorded_trace(
            rec,
            &r.tuner,
            &r.summary,
            &file_name(&ckpt_path),
        )?;
        trace.write_json_file(t)?;
    }
    let json = serde_json::to_string_pretty(&r.summary)
        .map_err(|e| Error::Other(format!("summary JSON: {e}")))?;
    if let Some(d) = &a.out {
        crate::io_util::write_atomic(&d.join("summary.json"), json.as_bytes())?;
        let rows: Vec<Vec<String>> = r
            .log
            .iter()
            .map(|l| {
                vec![
                    l.step.to_string(),
                    format!("{:.6}", l.loss),
                    l.exit_layer.to_string(),
                    l.backprop_from.to_string(),
                    l.tokens.to_string(),
                    format!("{:.3}", l.seconds),
                ]
            })
            .collect();
        let header = [
            "step",
            "loss",
            "exit_layer",
            "backprop_from",
            "tokens",
            "seconds",
        ]
        .map(String::from)
        .to_vec();
        crate::report::csv_table::write_csv(&d.join("steps.csv"), &header, &rows)?;
    }
    let body = if a.json {
        json + "\n"
    } else {
        text(&r.summary)
    };
    crate::cli::out::print(&body)
}

/// The text summary.
pub fn text(s: &TuneSummary) -> String {
    use std::fmt::Write as _;
    let mut t = String::new();
    let _ = writeln!(
        t,
        "{} on {} ({:.2} bits, {:.1}% zeros): steps {}..{} of {}, each {} x {} tokens, {} trainable parameters",
        s.setup,
        s.checkpoint,
        s.avg_bits,
        100.0 * s.sparsity,
        s.first_step,
        s.first_step + s.steps_run,
        s.steps,
        s.accumulation,
        s.seq_len,
        s.trainable_parameters
    );
    let _ = writeln!(
        t,
        "training loss (at each step's exit) {:.3} -> {:.3}; {:.0} tokens/s, {:.2} CPU s/step; peak saved activations {:.1} MiB",
        s.first_loss,
        s.last_loss,
        s.tokens_per_second,
        s.cpu_seconds_per_step,
        s.peak_activation_bytes as f64 / 1048576.0
    );
    let _ = writeln!(
        t,
        "held-out ({} predictions): perplexity / accuracy, untuned -> tuned",
        s.tuned.predictions
    );
    for (u, v) in s.untuned.exits.iter().zip(&s.tuned.exits) {
        let _ = writeln!(
            t,
            "  exit after layer {:>3}: {:9.3} -> {:9.3}   {:5.1}% -> {:5.1}%",
            u.layer,
            u.metric.perplexity,
            v.metric.perplexity,
            100.0 * u.metric.accuracy,
            100.0 * v.metric.accuracy
        );
    }
    if s.tuned.exits.len() > 1 {
        let _ = writeln!(
            t,
            "  vote over exits:       {:9.3} -> {:9.3}   {:5.1}% -> {:5.1}%",
            s.untuned.vote.perplexity,
            s.tuned.vote.perplexity,
            100.0 * s.untuned.vote.accuracy,
            100.0 * s.tuned.vote.accuracy
        );
    }
    t
}
