//! `edgesim run`: search the best schedule of one or more workloads on one hardware
//! configuration and compare them against the first. "Best" is the least total tuning
//! memory within `--time-slack` of the fastest time (see [`crate::search`]).

use crate::cost::Mode;
use crate::error::Result;
use crate::hw::HwConfig;
use crate::report::run_report::{self, RunResult};
use crate::search::{DEFAULT_TIME_SLACK, SearchOptions, search};
use crate::workload::Trace;
use std::path::PathBuf;

/// Arguments of `edgesim run`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    edgesim run\n  \
    edgesim run --workload workloads/llama7b_lora.toml --workload workloads/llama7b_edge_llm_b3.toml\n  \
    edgesim trace --workload workloads/llama7b_edge_llm_b5.toml --out b5.trace.json\n  \
    edgesim run --workload workloads/llama7b_lora.toml --trace b5.trace.json   # a Trace file (analytic or measured)\n\n\
    The reference (first) is the first --workload, or the first --trace when there is none.")]
pub struct RunArgs {
    /// Hardware TOML (default: the embedded hw_configs/edge_llm_paper.toml).
    #[arg(long)]
    pub hw: Option<PathBuf>,
    /// Workload TOML; repeat to compare several, the first is the reference for speed-up
    /// and normalised memory (default: the embedded llama7b_lora and llama7b_edge_llm_b5).
    #[arg(long = "workload")]
    pub workloads: Vec<PathBuf>,
    /// Trace file (JSON, as `edgesim trace --out` or the tensor engine writes it); repeat
    /// for several. Compared after the --workload files, in the order given.
    #[arg(long = "trace", value_name = "FILE.json")]
    pub traces: Vec<PathBuf>,
    /// Step-time model: `shared-bus` (default; all DRAM-side traffic on the one
    /// half-duplex LPDDR4 bus: the physical model), `paper` (Edge-LLM's eq. 3 as printed,
    /// max of the four transfers and compute, DRAM reads and writes each at the full
    /// bandwidth at once: for reproducing the paper) or `chained` (eq. 3 plus FlexGen's
    /// chained-transfer sums).
    #[arg(long, default_value = "shared-bus", value_parser = Mode::NAMES)]
    pub mode: String,
    /// Print one JSON document instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Only consider schedules whose total tuning memory (all tensors in DRAM and SSD)
    /// is at most this many GiB: a memory budget (the fastest time and the slack are then
    /// measured among the schedules within it).
    #[arg(long, value_name = "GIB")]
    pub max_memory_gib: Option<f64>,
    /// Time slack in percent (0..=100): report the schedule with the least total tuning
    /// memory among those at most this much slower than the fastest. Near-tied schedules
    /// can differ several-fold in memory; 0 gives the fastest schedule (ties broken by
    /// memory). The fastest time is reported too.
    #[arg(long, value_name = "PCT", default_value_t = 100.0 * DEFAULT_TIME_SLACK)]
    pub time_slack: f64,
    /// Also compute and print the time/memory Pareto front of each workload (every
    /// schedule no other beats in both time and tuning memory); in JSON as `"pareto"`.
    #[arg(long)]
    pub pareto: bool,
    /// `analytic` (the cost model only) or `cycle` (also replay each best schedule on the
    /// cycle-level simulator and add its cycles, seconds, utilisation and energy).
    #[arg(long, default_value = "analytic", value_parser = ["analytic", "cycle"])]
    pub engine: String,
    /// With `--engine cycle`: write a Chrome/Perfetto trace of each simulation (the
    /// workload name is inserted before the extension when there are several).
    #[arg(long, value_name = "FILE.json")]
    pub timeline: Option<PathBuf>,
    /// Evaluate this schedule instead of searching: the line `run` prints after
    /// `schedule`, e.g. "zigzag:4 micro-batch 1 prefetch on recompute 0 ssd w/s/o
    /// 0%/70%/0%", or a TOML file with a `[schedule]` table (docs/schedule.md). Every
    /// workload is evaluated with it; one its grid does not admit, or that does not fit,
    /// is reported infeasible with the reason.
    #[arg(long, value_name = "SPEC", conflicts_with_all = ["pareto", "time_slack", "max_memory_gib"])]
    pub schedule: Option<String>,
    /// Only consider schedules writing at most this many GB (10^9 B) to the SSD per
    /// optimizer step: an endurance budget (e.g. `ssd.endurance_tbw` x 1000 / planned
    /// steps). A workload that cannot meet it is infeasible, with the reason.
    /// A search constraint: not combined with `--schedule` (a given schedule's writes are
    /// reported, not limited).
    #[arg(long, value_name = "GB", conflicts_with = "schedule")]
    pub ssd_write_budget_gb_per_step: Option<f64>,
}

/// The workloads of a run: the given files, or the embedded defaults.
pub fn load_traces(paths: &[PathBuf]) -> Result<Vec<Trace>> {
    load_inputs(paths, &[])
}

/// The traces of a run: each workload file's, then each Trace file's; the embedded
/// defaults when both lists are empty.
pub fn load_inputs(workloads: &[PathBuf], trace_files: &[PathBuf]) -> Result<Vec<Trace>> {
    if workloads.is_empty() && trace_files.is_empty() {
        return default_traces();
    }
    let mut out: Vec<Trace> = workloads
        .iter()
        .map(|p| load_trace(p))
        .collect::<Result<_>>()?;
    for p in trace_files {
        out.push(Trace::from_json_file(p)?);
    }
    Ok(out)
}

/// Runs the search for every workload (the unit the cycle engine extends).
pub fn run_workloads(hw: &HwConfig, traces: &[Trace], mode: Mode) -> Vec<RunResult> {
    run_with(hw, traces, &SearchOptions::default().with_mode(mode))
}

/// Runs the search with explicit options for every workload.
pub fn run_with(hw: &HwConfig, traces: &[Trace], opts: &SearchOptions) -> Vec<RunResult> {
    let mode = opts.mode;
    traces
        .iter()
        .map(|t| RunResult::new(hw, t, mode, search(hw, t, opts)))
        .collect()
}

/// The command.
pub fn run_cmd(a: &RunArgs) -> Result<()> {
    if a.timeline.is_some() && a.engine != "cycle" {
        return Err(crate::Error::input(
            "--timeline",
            "--engine",
            "a timeline is drawn from the cycle-level simulation; add --engine cycle",
        ));
    }
    let mode: Mode = a.mode.parse()?;
    let mut opts = SearchOptions::default().with_mode(mode);
    if let Some(g) = a.max_memory_gib {
        if !(g > 0.0 && g.is_finite()) {
            return Err(crate::Error::input(
                "--max-memory-gib",
                "max_memory_gib",
                format!("{g}: must be a positive number of GiB"),
            ));
        }
        opts.max_memory_bytes = Some(g * (1u64 << 30) as f64);
    }
    opts.time_slack = time_slack_fraction(a.time_slack)?;
    opts = crate::dse::evaluate::with_ssd_write_budget(opts, a.ssd_write_budget_gb_per_step)?;
    opts.pareto = a.pareto;
    if let Some(spec) = &a.schedule {
        opts.schedule = Some(crate::search::load_schedule(spec)?);
    }
    let hw = super::load_hw(a.hw.as_deref())?;
    take_input_notes();
    let traces = load_inputs(&a.workloads, &a.traces)?;
    let notes = take_input_notes();
    let results = run_with(&hw, &traces, &opts);
    let sims = if a.engine == "cycle" {
        super::sim::simulate_results(&hw, &traces, &results, a.timeline.as_deref())?
    } else {
        Vec::new()
    };
    if a.json {
        let ropts = crate::api::RunOptions {
            mode,
            time_slack: opts.time_slack,
            max_memory_gib: a.max_memory_gib,
            pareto: a.pareto,
            schedule: opts.schedule,
            ssd_write_budget_gb_per_step: a.ssd_write_budget_gb_per_step,
            engine: a.engine.parse()?,
        };
        let names: Vec<&str> = results.iter().map(|r| r.workload.as_str()).collect();
        let searches: Vec<&crate::search::SearchResult> =
            results.iter().map(|r| &r.search).collect();
        let summaries: Vec<Option<crate::api::SimSummary>> = sims
            .iter()
            .map(|s| s.as_ref().map(|r| (&r.sim.report).into()))
            .collect();
        let cycle = ropts.engine == crate::api::Engine::Cycle;
        let doc = crate::api::run_document(
            &hw.name,
            &names,
            &searches,
            cycle.then_some(summaries.as_slice()),
            notes,
            &ropts,
        );
        // Through a `Value`: its keys print sorted, as they always have.
        let value = serde_json::to_value(&doc).map_err(|e| crate::Error::Other(e.to_string()))?;
        crate::outln!(
            "{}",
            serde_json::to_string_pretty(&value).map_err(|e| crate::Error::Other(e.to_string()))?
        )?;
    } else {
        if let Some(s) = &opts.schedule {
            crate::outln!("given schedule (--schedule, not searched): {s}")?;
        }
        crate::cli::out::print(&run_report::run_text(&results))?;
        crate::cli::out::print(&super::sim::sims_text(&sims))?;
        crate::cli::out::print(&crate::report::notes::notes_text(&notes))?;
    }
    Ok(())
}

/// Validates `--time-slack` (percent, 0..=100) and returns it as a fraction.
fn time_slack_fraction(pct: f64) -> Result<f64> {
    if (0.0..=100.0).contains(&pct) {
        Ok(pct / 100.0)
    } else {
        Err(crate::Error::input(
            "--time-slack",
            "time_slack",
            format!("{pct}: must be a percentage in 0..=100"),
        ))
    }
}

/// Facts the workload reader reported while this process loaded workloads (missing
/// sensitivity layers, proxies), each once, for the report body (see
/// [`take_input_notes`]).
static INPUT_NOTES: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Takes the notes recorded by the workload loads since the last call: `run` states them
/// once in its report (text and `--json` `"notes"`); other callers may ignore them (they
/// are also logged at debug level, `-v`).
pub fn take_input_notes() -> Vec<String> {
    INPUT_NOTES
        .lock()
        .map(|mut v| std::mem::take(&mut *v))
        .unwrap_or_default()
}

/// Builds a workload's trace. The reader's warnings (missing sensitivity layers,
/// proxies) are facts about the policy, not mistakes: they go to the report body through
/// [`take_input_notes`] and to the debug log, never as warnings before the output.
fn trace_of(w: &crate::workload::Workload) -> Result<Trace> {
    for msg in &w.warnings {
        crate::cli::out::debug(format_args!("{}: {msg}", w.file));
        if let Ok(mut v) = INPUT_NOTES.lock() {
            crate::report::notes::push_unique(&mut v, format!("{}: {msg}", w.name));
        }
    }
    w.trace()
}

fn load_trace(path: &std::path::Path) -> Result<Trace> {
    trace_of(&crate::workload::resolve_workload(path)?)
}

fn default_traces() -> Result<Vec<Trace>> {
    ["llama7b_lora", "llama7b_edge_llm_b5"]
        .iter()
        .map(|n| trace_of(&crate::workload::Workload::embedded(n)?))
        .collect()
}
