//! `edgesim sim`: search the best schedule of a workload, replay it on the cycle-level
//! simulator and print a per-engine account beside the analytic figures.

use crate::cost::Mode;
use crate::error::{Error, Result};
use crate::sim::attribution::{ATTRIBUTION_RUNS, Attribution, attribute_with_progress};
use crate::sim::replay::{Comparison, Replay, replay_best};
use crate::sim::{SimOptions, gantt, timeline};
use crate::workload::Trace;
use std::path::{Path, PathBuf};

/// Arguments of `edgesim sim`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    edgesim sim --workload llama7b_edge_llm_b5 --attribute\n  \
    edgesim trace --workload workloads/tiny_lora.toml --out tiny.trace.json\n  \
    edgesim sim --trace tiny.trace.json --json   # a Trace file (analytic or measured)")]
#[command(group(clap::ArgGroup::new("input").required(true).args(["workload", "trace"])))]
pub struct SimArgs {
    /// Figure width and text size.
    #[command(flatten)]
    pub figure: super::FigureArgs,
    /// Hardware TOML (default: the embedded hw_configs/edge_llm_paper.toml).
    #[arg(long)]
    pub hw: Option<PathBuf>,
    /// Workload TOML, or the name of an embedded workload (e.g. `llama7b_lora`).
    #[arg(long)]
    pub workload: Option<String>,
    /// Trace file (JSON, as `edgesim trace --out` or the tensor engine writes it) instead
    /// of a workload.
    #[arg(long, value_name = "FILE.json")]
    pub trace: Option<PathBuf>,
    /// Step-time model the schedule search optimises and the simulation is compared with:
    /// `shared-bus` (default; one half-duplex LPDDR4 bus for all DRAM-side traffic: the
    /// physical model), `paper` (Edge-LLM's eq. 3 as printed, DRAM reads and writes each at
    /// the full bandwidth at once: for reproducing the paper) or `chained` (eq. 3 plus
    /// FlexGen's chained-transfer sums).
    #[arg(long, default_value = "shared-bus", value_parser = Mode::NAMES)]
    pub mode: String,
    /// Replay the vanilla schedule (row traversal, workload micro-batch, no prefetch)
    /// instead of the searched best.
    #[arg(long)]
    pub vanilla: bool,
    /// Replay this schedule instead of the searched best: the line `edgesim run` prints
    /// after `schedule` (e.g. "zigzag:4 micro-batch 1 prefetch on recompute 0 ssd w/s/o
    /// 0%/70%/0%") or a TOML file with a `[schedule]` table (docs/schedule.md). A schedule
    /// the workload does not admit or that does not fit is an error naming the reason.
    #[arg(long, value_name = "SPEC", conflicts_with = "vanilla")]
    pub schedule: Option<String>,
    /// Switch simulator effects off (comma-separated): `shared-bus`, `dram-timing`,
    /// `refresh`, `turnaround`, `row-misses`, `dependencies`, `capacity`, `ssd-latency`;
    /// or `ideal` for all of the analytic model's assumptions at once.
    #[arg(long, value_delimiter = ',')]
    pub disable: Vec<String>,
    /// Bytes per DMA request to DRAM, a power of two from 32 to 4096: sets the access size
    /// the LPDDR4 model is characterised with.
    #[arg(long, default_value_t = 256)]
    pub dma_request_bytes: u32,
    /// Also explain the gap to the analytic model effect by effect (8 simulations).
    #[arg(long)]
    pub attribute: bool,
    /// Write a Chrome/Perfetto trace (Trace Event Format JSON; open in ui.perfetto.dev).
    #[arg(long, value_name = "FILE.json")]
    pub timeline: Option<PathBuf>,
    /// Write a Gantt chart of the first steps as FILE.png and FILE.svg.
    #[arg(long, value_name = "FILE.png")]
    pub gantt: Option<PathBuf>,
    /// Steps shown in the Gantt chart (at least 1).
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..))]
    pub gantt_steps: u32,
    /// Print one JSON document instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// Names accepted by `--disable` ([`crate::api::EFFECTS`]).
pub use crate::api::EFFECTS;

/// Full options with the named effects switched off ([`crate::api::sim_options_without`]).
pub use crate::api::sim_options_without as options_without;

/// Loads a workload file, or an embedded workload by name
/// ([`crate::workload::resolve_workload`]).
pub fn load_workload(spec: &str) -> Result<Trace> {
    crate::workload::resolve_workload(Path::new(spec))?.trace()
}

/// Writes the optional timeline outputs of a replay.
pub fn write_outputs(
    r: &Replay,
    title: &str,
    timeline_path: Option<&Path>,
    gantt_path: Option<&Path>,
    gantt_steps: u32,
) -> Result<()> {
    if let Some(p) = timeline_path {
        timeline::write_trace(&r.sim, title, p)?;
        crate::cli::out::note(format_args!("wrote {}", p.display()));
    }
    if let Some(p) = gantt_path {
        for w in gantt::write_gantt(&r.sim, gantt_steps, title, p)? {
            crate::cli::out::note(format_args!("wrote {}", w.display()));
        }
    }
    Ok(())
}

/// The command.
pub fn sim_cmd(a: &SimArgs) -> Result<()> {
    a.figure.apply()?;
    let mode: Mode = a.mode.parse()?;
    let sim_opts = crate::api::SimulateOptions {
        mode,
        vanilla: a.vanilla,
        disable: a.disable.clone(),
        dma_request_bytes: a.dma_request_bytes,
        attribute: a.attribute,
    };
    let opts = sim_opts.sim_options()?;
    let given = match &a.schedule {
        Some(spec) => Some(crate::search::load_schedule(spec)?),
        None => None,
    };
    let hw = super::load_hw(a.hw.as_deref())?;
    let trace = match (&a.trace, &a.workload) {
        (Some(p), _) => Trace::from_json_file(p)?,
        (None, Some(w)) => load_workload(w)?,
        (None, None) => {
            return Err(Error::input(
                "--workload",
                "workload",
                "give --workload FILE|NAME or --trace FILE",
            ));
        }
    };
    // Refused or over capacity: an error, nothing meaningful to replay.
    let search_opts = crate::api::sim_search_options(&hw, &trace, given.as_ref(), &sim_opts)?;
    let spinner = crate::cli::out::progress(indicatif::ProgressBar::new_spinner());
    spinner.set_message(format!("searching and simulating {}", trace.workload));
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let replay = replay_best(&hw, &trace, &search_opts, opts)?;
    let comparison = replay.comparison(&hw)?;
    let attribution = if a.attribute {
        let mut i = 0;
        let a = attribute_with_progress(&hw, &trace, &replay, &mut |name| {
            i += 1;
            spinner.set_message(format!("attribution {i}/{ATTRIBUTION_RUNS}: {name}"));
        })?;
        Some(a)
    } else {
        None
    };
    spinner.finish_and_clear();
    let title = format!("{} on {}", trace.workload, hw.name);
    write_outputs(
        &replay,
        &title,
        a.timeline.as_deref(),
        a.gantt.as_deref(),
        a.gantt_steps,
    )?;
    if a.json {
        let doc = crate::api::SimReport::of_replay(
            &hw,
            &trace,
            mode,
            given.is_some(),
            &replay,
            &comparison,
            attribution.as_ref(),
        );
        // Through a `Value`: its keys print sorted, as they always have.
        let value = serde_json::to_value(&doc).map_err(|e| Error::Other(e.to_string()))?;
        let text = serde_json::to_string_pretty(&value).map_err(|e| Error::Other(e.to_string()))?;
        crate::outln!("{text}")?;
    } else {
        let title = match given {
            Some(_) => format!("{title} (given schedule, not searched)"),
            None => title,
        };
        crate::cli::out::print(&text_report(
            &title,
            &replay,
            &comparison,
            attribution.as_ref(),
        ))?;
    }
    Ok(())
}

/// Bytes with a binary unit that keeps 3 significant figures readable.
fn bytes(b: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.2} {}", units[u])
}

/// Energy in J, mJ or uJ.
fn joules(j: f64) -> String {
    if j >= 1.0 || j == 0.0 {
        format!("{j:.3} J")
    } else if j >= 1e-3 {
        format!("{:.3} mJ", j * 1e3)
    } else {
        format!("{:.3} uJ", j * 1e6)
    }
}

fn pct(x: u64, of: u64) -> f64 {
    100.0 * x as f64 / of.max(1) as f64
}

/// The readable report: totals, analytic comparison, per-engine table, attribution.
pub fn text_report(title: &str, r: &Replay, c: &Comparison, attr: Option<&Attribution>) -> String {
    use std::fmt::Write;
    let s = &r.sim.report;
    let mut o = String::new();
    let _ = writeln!(o, "== {title}");
    let _ = writeln!(o, "   schedule: {}", r.evaluation.schedule);
    let _ = writeln!(
        o,
        "   simulated {:.6} s ({} cycles; {} steps, {} chunks, {} events)",
        s.seconds, s.cycles, s.steps, s.chunks, s.events
    );
    let rel = |x: f64| (s.seconds / x - 1.0) * 100.0;
    let _ = writeln!(
        o,
        "   analytic paper {:.6} s (sim {:+.2}%), shared-bus {:.6} s (sim {:+.2}%); sim with analytic assumptions {:.6} s",
        c.analytic_paper_seconds,
        rel(c.analytic_paper_seconds),
        c.analytic_shared_bus_seconds,
        rel(c.analytic_shared_bus_seconds),
        c.sim_ideal_seconds
    );
    let e = &s.energy;
    let _ = writeln!(
        o,
        "   energy {} = dynamic {} (MAC {}, vector {}, SRAM {}, DRAM {}, SSD {}) + static {} (static_mw x simulated time)",
        joules(s.energy_joules),
        joules(e.dynamic()),
        joules(e.mac),
        joules(e.vector),
        joules(e.sram),
        joules(e.dram),
        joules(e.ssd),
        joules(e.static_total())
    );
    let _ = writeln!(
        o,
        "   energy rule shared with the analytic model (dynamic: activity; static: power x time); analytic {} = dynamic {} + static {}",
        joules(r.evaluation.energy_joules),
        joules(r.evaluation.energy_breakdown.dynamic()),
        joules(r.evaluation.energy_breakdown.static_total())
    );
    let _ = writeln!(
        o,
        "   {:<18} {:>6} {:>16} {:>8} {:>7} {:>7} {:>7} {:>7} {:>8}",
        "engine", "busy%", "work", "GB/s", "input%", "buffer%", "dep%", "idle%", "bwloss%"
    );
    for en in &s.engines {
        let st = |k: &str| pct(en.stalls.get(k).copied().unwrap_or(0), s.cycles);
        let work = if en.name.contains("dma") || en.name.contains("ssd") {
            bytes(en.work)
        } else {
            format!("{} cyc", en.work)
        };
        let _ = writeln!(
            o,
            "   {:<18} {:>6.1} {:>16} {:>8} {:>7.1} {:>7.1} {:>7.1} {:>7.1} {:>8.1}",
            en.name,
            en.utilization * 100.0,
            work,
            en.achieved_gbps
                .map_or("-".to_string(), |g| format!("{g:.2}")),
            st("input"),
            st("buffer_full"),
            st("dependency"),
            st("idle"),
            pct(en.bandwidth_loss_cycles, s.cycles)
        );
    }
    let peak =
        |v: &[crate::sim::report::OccupancySample]| v.iter().map(|x| x.bytes).max().unwrap_or(0);
    let _ = writeln!(
        o,
        "   peak occupancy: SRAM {}, DRAM {}, SSD {}",
        bytes(peak(&s.sram_occupancy)),
        bytes(peak(&s.dram_occupancy)),
        bytes(peak(&s.ssd_occupancy))
    );
    if let Some(a) = attr {
        let _ = writeln!(
            o,
            "   gap to analytic paper, by effect (lower bound with one shared bus: {:.6} s):",
            a.shared_bus_lower_bound_seconds
        );
        for ef in &a.effects {
            let _ = writeln!(
                o,
                "     {:<24} {:>+12.6} s {:>+8.2}%",
                ef.name,
                ef.seconds,
                ef.fraction_of_analytic * 100.0
            );
        }
    }
    o
}

/// `edgesim run --engine cycle`: replays each result's best schedule (None when the
/// result is infeasible), writing a trace per workload when `timeline` is given.
pub fn simulate_results(
    hw: &crate::hw::HwConfig,
    traces: &[Trace],
    results: &[crate::report::run_report::RunResult],
    timeline_path: Option<&Path>,
) -> Result<Vec<Option<Replay>>> {
    let bar = crate::cli::out::progress(indicatif::ProgressBar::new(results.len() as u64));
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} simulating {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut out = Vec::with_capacity(results.len());
    for (t, r) in traces.iter().zip(results) {
        bar.set_message(t.workload.clone());
        let replay = match r.best() {
            Some(e) => Some(crate::sim::replay::replay_evaluation(
                hw,
                t,
                r.search.clone(),
                e.clone(),
                SimOptions::full(),
            )?),
            None => None,
        };
        if let (Some(rp), Some(p)) = (&replay, timeline_path) {
            let path = if results.len() > 1 {
                let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("json");
                p.with_extension(format!("{}.{ext}", t.workload))
            } else {
                p.to_path_buf()
            };
            write_outputs(
                rp,
                &format!("{} on {}", t.workload, hw.name),
                Some(&path),
                None,
                0,
            )?;
        }
        out.push(replay);
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(out)
}

/// Text lines of `edgesim run --engine cycle`.
pub fn sims_text(sims: &[Option<Replay>]) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    for r in sims.iter().flatten() {
        let s = &r.sim.report;
        let u = |k: &str| s.utilization.get(k).copied().unwrap_or(0.0) * 100.0;
        let _ = writeln!(
            o,
            "== cycle-level: {} cycles = {:.6} s, energy {:.3} J; busy: array {:.1}%, DMA in {:.1}%, DMA out {:.1}%, SSD in {:.1}%, SSD out {:.1}%",
            s.cycles,
            s.seconds,
            s.energy_joules,
            u("mac_array"),
            u("dma_dram_to_sram"),
            u("dma_sram_to_dram"),
            u("ssd_to_dram"),
            u("dram_to_ssd")
        );
    }
    o
}
