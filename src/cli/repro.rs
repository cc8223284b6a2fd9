//! `edgesim repro`: regenerates the paper's comparisons (Table 1 memory, speed-ups over
//! LoRA on the paper accelerator and the hardware baseline, component ablation) into
//! `results/`.

use crate::dse::repro::{self, ScheduleKind};
use crate::dse::evaluate;
use crate::error::Result;
use crate::hw::HwConfig;
use crate::report::repro_report;
use std::path::PathBuf;

/// The hardware baseline, embedded so repro runs from any directory.
pub const SHAO_HW_TOML: &str = include_str!("../../hw_configs/shao_vlsi23.toml");

/// Arguments of `edgesim repro`.
#[derive(clap::Args, Debug)]
pub struct ReproArgs {
    /// Output directory for table1.csv, ablation.csv, repro.md and the bar charts
    /// speedup/memory/ablation.{png,svg}.
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    /// Directory holding the Table 1 workload files (llama7b_*.toml) and ablation/.
    #[arg(long, default_value = "workloads")]
    pub workloads: PathBuf,
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

/// Computes the reproduction with the real search; `workloads` is the workload directory.
pub fn compute(workloads: &std::path::Path) -> Result<repro::Repro> {
    let hws = repro_hardware()?;
    let searched = evaluate::options(None)?;
    let vanilla = evaluate::vanilla_options();
    repro::compute(
        &hws,
        |stem| evaluate::load_trace(&workloads.join(format!("{stem}.toml"))),
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
    let r = compute(&a.workloads);
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
