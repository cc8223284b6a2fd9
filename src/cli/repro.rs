//! `edgesim repro`: regenerates the paper's comparisons (Table 1 memory, speed-ups over
//! LoRA on the paper accelerator and the hardware baseline, component ablation) into
//! `results/`.

use crate::cost::Mode;
use crate::dse::evaluate;
use crate::dse::repro::{self, ScheduleKind};
use crate::error::Result;
use crate::hw::HwConfig;
use crate::report::repro_report;
use crate::workload::Workload;
use std::path::{Path, PathBuf};

/// The hardware baseline, embedded so repro runs from any directory.
pub const SHAO_HW_TOML: &str = include_str!("../../hw_configs/shao_vlsi23.toml");

/// The memory-bound variant of the paper accelerator (128x128 array), embedded likewise.
pub const MEMORY_BOUND_HW_TOML: &str = include_str!("../../hw_configs/edge_llm_memory_bound.toml");

/// Arguments of `edgesim repro`.
#[derive(clap::Args, Debug)]
pub struct ReproArgs {
    /// Figure width and text size.
    #[command(flatten)]
    pub figure: super::FigureArgs,
    /// Output directory for table1.csv, ablation.csv, repro.md and the bar charts
    /// speedup/memory/ablation.{png,svg}.
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    /// Read the Table 1 workload files (llama7b_*.toml) from this directory instead of the
    /// copies embedded in the binary.
    #[arg(long)]
    pub workloads: Option<PathBuf>,
    /// Print the figures as JSON on stdout instead of the Markdown report.
    #[arg(long)]
    pub json: bool,
    /// Table 2 (the LUC ablation) on the real SmolLM2-135M and Jane Austen texts fetched
    /// by `scripts/fetch-real-data.sh`, into <out>/real/ (table2.csv, .md, .png, .svg):
    /// sensitivity and SparseGPT calibrated on Emma, perplexity on Pride and Prejudice.
    #[arg(long)]
    pub real: bool,
    /// With --real: evaluation chunks, spread evenly over the novel.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub chunks: u32,
    /// With --real: tokens per evaluation chunk (the paper: 128).
    #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(u32).range(2..=8192))]
    pub chunk: u32,
    /// With --real: calibration samples (128 tokens each), spread over the novel.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub calib_samples: u32,
    /// With --real: target bits B of the uniform / random / LUC groups.
    #[arg(long, value_delimiter = ',', default_value = "8,5,4,3", value_parser = clap::value_parser!(u32).range(2..=16))]
    pub bits: Vec<u32>,
    /// With --real: leave out the eq1-only and eq2-only ablation rows.
    #[arg(long)]
    pub no_ablations: bool,
    /// With --real: seed of the random policy's layer permutation.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// With --real: where the sensitivity that drives eq. 1 / eq. 2 is measured.
    #[arg(long, value_enum, default_value = "layer")]
    pub measure: super::luc::MeasureArg,
    /// With --real: leading positions of each calibration sample left out of the
    /// sensitivity MSE (1 leaves out the attention-sink token).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(0..=127))]
    pub skip_positions: u32,
    /// Adaptive layer tuning on the real SmolLM2-135M, into <out>/real/ (tune.csv, .md,
    /// .png, .svg): `lora` on the dense base, `partial` and `edge-llm` on LUC bases at
    /// each --tune-bits, trained on Emma and Sense and Sensibility, scored on Persuasion
    /// per exit and voted, with the recorded traces simulated on the paper accelerator.
    #[arg(long)]
    pub real_tune: bool,
    /// With --real-tune: optimizer steps of every run.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub tune_steps: u32,
    /// With --real-tune: micro-batches (one 128-token sequence each) per step.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub tune_accumulation: u32,
    /// With --real-tune: held-out chunks of 128 tokens.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub tune_chunks: u32,
    /// With --real-tune: target bits B of the LUC bases (50% mean sparsity).
    #[arg(long, value_delimiter = ',', default_value = "5,4", value_parser = clap::value_parser!(u32).range(2..=16))]
    pub tune_bits: Vec<u32>,
    /// With --real-tune: the edge-llm forward runs every layer, as the reference code
    /// does (default: it stops at the active exit).
    #[arg(long)]
    pub full_forward: bool,
}

/// The two accelerators of the reproduction: the paper's (embedded default) and the
/// hardware baseline (Shao et al., TVLSI'23).
pub fn repro_hardware() -> Result<Vec<HwConfig>> {
    Ok(vec![
        HwConfig::paper_default(),
        HwConfig::from_toml_str("hw_configs/shao_vlsi23.toml", SHAO_HW_TOML)?,
        HwConfig::from_toml_str(
            "hw_configs/edge_llm_memory_bound.toml",
            MEMORY_BOUND_HW_TOML,
        )?,
    ])
}

/// A Table 1 workload by file stem: from `dir` when given, else the embedded copy.
pub fn table1_workload(dir: Option<&Path>, stem: &str) -> Result<Workload> {
    match dir {
        Some(d) => Workload::from_file(&d.join(format!("{stem}.toml"))),
        None => Workload::embedded(stem),
    }
}

/// Computes the reproduction with the real search; workloads come from `dir` when given,
/// else from the embedded copies.
///
/// The tables are computed under mode `paper` (eq. 3 as printed, for comparison with the
/// paper); [`repro::Repro::modes`] holds the speed-ups under `paper` and under
/// `shared-bus` (the physical, half-duplex LPDDR4 bus).
pub fn compute(dir: Option<&Path>) -> Result<repro::Repro> {
    let hws = repro_hardware()?;
    let under = |mode: Mode| -> Result<repro::Repro> {
        let searched = evaluate::options(None)?.with_mode(mode);
        let vanilla = evaluate::vanilla_options().with_mode(mode);
        repro::compute(
            &hws,
            |label| repro::compose(label, |stem| table1_workload(dir, stem))?.trace(),
            |hw, t, kind| match kind {
                ScheduleKind::Searched => evaluate::outcome(hw, t, &searched),
                ScheduleKind::Vanilla => evaluate::outcome(hw, t, &vanilla),
                k => evaluate::outcome(hw, t, &k.options(&searched)),
            },
        )
    };
    let mut r = under(Mode::Paper)?;
    let shared = under(Mode::SharedBus)?;
    r.modes = vec![
        repro::ModeFigures::of(&r, Mode::Paper),
        repro::ModeFigures::of(&shared, Mode::SharedBus),
    ];
    Ok(r)
}

/// Runs `edgesim repro --real`.
fn run_real(a: &ReproArgs) -> Result<()> {
    let data = crate::data::RealData::locate()?;
    let o = super::repro_real::RealOptions {
        chunks: a.chunks as usize,
        chunk_tokens: a.chunk as usize,
        calib_samples: a.calib_samples as usize,
        calib_tokens: 128,
        table: crate::luc::table2::Table2Options {
            bits: a.bits.clone(),
            ablations: !a.no_ablations,
            seed: a.seed,
            ..Default::default()
        },
        sensitivity: crate::luc::sensitivity::SensitivityOptions {
            measure: a.measure.into(),
            skip_positions: a.skip_positions as usize,
            ..Default::default()
        },
    };
    let (table, files) = super::repro_real::run_real(&data, &a.out.join("real"), &o, a.json)?;
    if a.json {
        crate::outln!("{}", serde_json::json!({ "table2": table, "files": files }))?;
    } else {
        for f in files {
            crate::outln!("wrote {}", f.display())?;
        }
    }
    Ok(())
}

/// Runs `edgesim repro --real-tune`.
fn run_real_tune(a: &ReproArgs) -> Result<()> {
    let data = crate::data::RealData::locate()?;
    let o = super::repro_tune::RealTuneOptions {
        steps: a.tune_steps as usize,
        accumulation: a.tune_accumulation as usize,
        seq_len: 128,
        chunks: a.tune_chunks as usize,
        bits: a.tune_bits.clone(),
        sparsity: 0.5,
        calib_samples: a.calib_samples as usize,
        seed: a.seed,
        full_forward: a.full_forward,
    };
    let (rows, files) = super::repro_tune::run_real_tune(&data, &a.out.join("real"), &o, a.json)?;
    if a.json {
        crate::outln!("{}", serde_json::json!({ "tune": rows, "files": files }))?;
    } else {
        for f in files {
            crate::outln!("wrote {}", f.display())?;
        }
    }
    Ok(())
}

/// Runs `edgesim repro`.
pub fn run(a: &ReproArgs) -> Result<()> {
    a.figure.apply()?;
    if a.real_tune {
        return run_real_tune(a);
    }
    if a.real {
        return run_real(a);
    }
    let spinner = crate::cli::out::progress(indicatif::ProgressBar::new_spinner());
    spinner.set_message("searching schedules for the Table 1 and ablation workloads");
    spinner.enable_steady_tick(std::time::Duration::from_millis(200));
    let r = compute(a.workloads.as_deref());
    spinner.finish_and_clear();
    let r = r?;
    // The report's files are one output set: --out is locked while they are written and
    // receives all of them at once; other entries there (e.g. real/) stay.
    let set = crate::io_util::OutputSet::begin(&a.out)?;
    let written = repro_report::write_repro(set.dir(), &r)?;
    set.commit()?;
    let files: Vec<std::path::PathBuf> = super::sweep::file_names(&written)
        .iter()
        .map(|n| a.out.join(n))
        .collect();
    if a.json {
        let v = serde_json::json!({ "repro": r, "files": files });
        crate::outln!("{v}")?;
    } else {
        crate::cli::out::print(&repro_report::markdown(&r))?;
        for f in files {
            crate::outln!("wrote {}", f.display())?;
        }
    }
    Ok(())
}
