//! `edgesim repro`: regenerates the paper's comparisons (Table 1 memory, speed-ups over
//! LoRA on the paper accelerator and the hardware baseline, component ablation) into
//! `results/`.

use crate::dse::evaluate;
use crate::dse::repro::{self, ScheduleKind};
use crate::error::Result;
use crate::hw::HwConfig;
use crate::report::repro_report;
use crate::workload::Workload;
use std::path::{Path, PathBuf};

/// The hardware baseline, embedded so repro runs from any directory.
pub const SHAO_HW_TOML: &str = include_str!("../../hw_configs/shao_vlsi23.toml");

/// Arguments of `edgesim repro`.
#[derive(clap::Args, Debug)]
pub struct ReproArgs {
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
}

/// The two accelerators of the reproduction: the paper's (embedded default) and the
/// hardware baseline (Shao et al., TVLSI'23).
pub fn repro_hardware() -> Result<Vec<HwConfig>> {
    Ok(vec![
        HwConfig::paper_default(),
        HwConfig::from_toml_str("hw_configs/shao_vlsi23.toml", SHAO_HW_TOML)?,
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
pub fn compute(dir: Option<&Path>) -> Result<repro::Repro> {
    let hws = repro_hardware()?;
    let searched = evaluate::options(None)?;
    let vanilla = evaluate::vanilla_options();
    repro::compute(
        &hws,
        |label| repro::compose(label, |stem| table1_workload(dir, stem))?.trace(),
        |hw, t, kind| match kind {
            ScheduleKind::Searched => evaluate::outcome(hw, t, &searched),
            ScheduleKind::Vanilla => evaluate::outcome(hw, t, &vanilla),
        },
    )
}

/// Runs `edgesim repro`.
pub fn run(a: &ReproArgs) -> Result<()> {
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.set_message("searching schedules for the Table 1 and ablation workloads");
    spinner.enable_steady_tick(std::time::Duration::from_millis(200));
    let r = compute(a.workloads.as_deref());
    spinner.finish_and_clear();
    let r = r?;
    let files = repro_report::write_repro(&a.out, &r)?;
    if a.json {
        let v = serde_json::json!({ "repro": r, "files": files });
        println!("{v}");
    } else {
        print!("{}", repro_report::markdown(&r));
        for f in files {
            println!("wrote {}", f.display());
        }
    }
    Ok(())
}
