//! `run`, `search` and `evaluate`: the schedule search (or one given schedule) of
//! workloads on one hardware configuration, as the report of `edgesim run --json`.

use super::report::{RunDocument, RunEntry, ScheduleSource, SimSummary};
use crate::cost::{Mode, Schedule};
use crate::error::{Error, Result};
use crate::hw::HwConfig;
use crate::search::{DEFAULT_TIME_SLACK, SearchOptions, SearchResult};
use crate::workload::{Trace, Workload};

/// Which engine produces the figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Engine {
    /// The analytic cost model only (milliseconds per workload).
    #[default]
    Analytic,
    /// Also replay each chosen schedule on the cycle-level simulator (seconds per
    /// workload), adding [`RunEntry::sim`].
    Cycle,
}

impl std::str::FromStr for Engine {
    type Err = Error;
    /// `analytic` or `cycle`.
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "analytic" => Ok(Engine::Analytic),
            "cycle" => Ok(Engine::Cycle),
            _ => Err(Error::input(
                "--engine",
                "engine",
                format!("`{s}`: expected analytic or cycle"),
            )),
        }
    }
}

/// What [`run`], [`search`] and [`evaluate`] may vary (the flags of `edgesim run`).
#[derive(Debug, Clone, PartialEq)]
pub struct RunOptions {
    /// Step-time model (default `shared-bus`, the physical one-bus LPDDR4 model; `paper`
    /// is Edge-LLM's eq. 3 as printed; `chained` adds FlexGen's chained transfers).
    pub mode: Mode,
    /// Time slack (fraction, 0..=1; default 0.01): the reported schedule is the one with
    /// the least total tuning memory among those at most `(1 + time_slack)` x the fastest.
    pub time_slack: f64,
    /// Only schedules whose total tuning memory is at most this many GiB (2^30 bytes).
    pub max_memory_gib: Option<f64>,
    /// Also compute each workload's time/memory Pareto front ([`RunEntry::pareto`]).
    pub pareto: bool,
    /// Evaluate this schedule instead of searching (every workload; one its grid does not
    /// admit, or that does not fit, is an infeasible entry with the reason). The time
    /// slack and the Pareto front then do not apply.
    pub schedule: Option<Schedule>,
    /// Only schedules writing at most this many GB (10^9 bytes) to the SSD per optimizer
    /// step; not combined with `schedule`.
    pub ssd_write_budget_gb_per_step: Option<f64>,
    /// Analytic only, or also the cycle-level replay.
    pub engine: Engine,
}

impl Default for RunOptions {
    /// The defaults of `edgesim run`.
    fn default() -> Self {
        RunOptions {
            mode: Mode::SharedBus,
            time_slack: DEFAULT_TIME_SLACK,
            max_memory_gib: None,
            pareto: false,
            schedule: None,
            ssd_write_budget_gb_per_step: None,
            engine: Engine::Analytic,
        }
    }
}

impl RunOptions {
    /// The search options these options stand for.
    ///
    /// # Errors
    /// [`Error::Input`] naming the option and its allowed range: `time_slack` outside
    /// 0..=1, `max_memory_gib` not positive, `ssd_write_budget_gb_per_step` negative or
    /// given with a schedule.
    pub fn search_options(&self) -> Result<SearchOptions> {
        if !(self.time_slack.is_finite() && (0.0..=1.0).contains(&self.time_slack)) {
            return Err(Error::input(
                "RunOptions",
                "time_slack",
                format!("{}: must be a fraction in 0..=1", self.time_slack),
            ));
        }
        if self.schedule.is_some() && self.ssd_write_budget_gb_per_step.is_some() {
            return Err(Error::input(
                "RunOptions",
                "ssd_write_budget_gb_per_step",
                "a search constraint: not combined with a given schedule",
            ));
        }
        let mut o = SearchOptions::default().with_mode(self.mode);
        o = crate::dse::evaluate::with_memory_limit(o, self.max_memory_gib)?;
        o = crate::dse::evaluate::with_ssd_write_budget(o, self.ssd_write_budget_gb_per_step)?;
        o.time_slack = self.time_slack;
        o.pareto = self.pareto;
        o.schedule = self.schedule;
        Ok(o)
    }

    fn source(&self) -> ScheduleSource {
        if self.schedule.is_some() {
            ScheduleSource::Given
        } else {
            ScheduleSource::Search
        }
    }
}

/// Searches (or evaluates the given schedule of) every trace on `hw` and compares the
/// last with the first: the `edgesim run --json` document. `notes` is empty (traces carry
/// no workload notes; [`run_workloads`] fills it).
///
/// ```
/// use edgesim::api::{RunOptions, default_hardware, run, trace, workload};
/// let hw = default_hardware();
/// let traces = [trace(&workload("llama7b_lora")?)?, trace(&workload("llama7b_edge_llm_b5")?)?];
/// let doc = run(&hw, &traces, &RunOptions::default())?;
/// assert!(doc.speedup.unwrap() > 1.0); // Edge-LLM is faster than LoRA
/// assert!(doc.norm_mem.unwrap() < 1.0); // and needs less memory
/// # Ok::<(), edgesim::Error>(())
/// ```
///
/// # Errors
/// Invalid options ([`RunOptions::search_options`]); with [`Engine::Cycle`], the
/// simulator's watchdog error.
pub fn run(hw: &HwConfig, traces: &[Trace], opts: &RunOptions) -> Result<RunDocument> {
    let so = opts.search_options()?;
    let results: Vec<SearchResult> = traces
        .iter()
        .map(|t| crate::search::search(hw, t, &so))
        .collect();
    let sims = match opts.engine {
        Engine::Analytic => None,
        Engine::Cycle => Some(
            traces
                .iter()
                .zip(&results)
                .map(|(t, r)| replay(hw, t, r))
                .collect::<Result<Vec<_>>>()?,
        ),
    };
    let names: Vec<&str> = traces.iter().map(|t| t.workload.as_str()).collect();
    let refs: Vec<&SearchResult> = results.iter().collect();
    Ok(document(
        &hw.name,
        &names,
        &refs,
        sims.as_deref(),
        Vec::new(),
        opts,
    ))
}

/// [`run`] on workloads: their traces, and the facts their readers noted (missing
/// sensitivity layers, proxies) as [`RunDocument::notes`], as `edgesim run` states them.
///
/// # Errors
/// As [`run`], and a trace that cannot be built ([`super::trace`]).
pub fn run_workloads(
    hw: &HwConfig,
    workloads: &[Workload],
    opts: &RunOptions,
) -> Result<RunDocument> {
    let traces = workloads
        .iter()
        .map(Workload::trace)
        .collect::<Result<Vec<_>>>()?;
    let mut doc = run(hw, &traces, opts)?;
    doc.notes = workload_notes(workloads);
    Ok(doc)
}

/// The facts the workload readers noted, `name: fact`, each once, in order.
pub fn workload_notes(workloads: &[Workload]) -> Vec<String> {
    let mut notes = Vec::new();
    for w in workloads {
        for msg in &w.warnings {
            crate::report::notes::push_unique(&mut notes, format!("{}: {msg}", w.name));
        }
    }
    notes
}

/// The schedule search of one trace on `hw` (or the evaluation of
/// [`RunOptions::schedule`]): one `results[]` entry of `run --json`.
///
/// # Errors
/// As [`run`].
pub fn search(hw: &HwConfig, trace: &Trace, opts: &RunOptions) -> Result<RunEntry> {
    let doc = run(hw, std::slice::from_ref(trace), opts)?;
    doc.results
        .into_iter()
        .next()
        .ok_or_else(|| Error::Other("run of one trace gave no entry".to_string()))
}

/// Evaluates one given schedule of `trace` on `hw` instead of searching: [`search`] with
/// [`RunOptions::schedule`] set to `schedule` (the other options as far as they restrict
/// one schedule: mode, memory limit, engine). The figures of a searched schedule,
/// evaluated again, are the search's bit for bit.
///
/// ```
/// use edgesim::api::{RunOptions, default_hardware, evaluate, search, trace, workload};
/// let hw = default_hardware();
/// let t = trace(&workload("llama7b_edge_llm_b5")?)?;
/// let found = search(&hw, &t, &RunOptions::default())?;
/// let again = evaluate(&hw, &t, &found.chosen_schedule().unwrap(), &RunOptions::default())?;
/// assert_eq!(again.seconds_per_iteration, found.seconds_per_iteration);
/// assert_eq!(again.memory_bytes, found.memory_bytes);
/// # Ok::<(), edgesim::Error>(())
/// ```
///
/// # Errors
/// As [`run`]. A schedule the workload's grid does not admit or that does not fit is not
/// an error: the entry is infeasible with `infeasible_reason`.
pub fn evaluate(
    hw: &HwConfig,
    trace: &Trace,
    schedule: &Schedule,
    opts: &RunOptions,
) -> Result<RunEntry> {
    let o = RunOptions {
        schedule: Some(*schedule),
        pareto: false,
        ssd_write_budget_gb_per_step: None,
        ..opts.clone()
    };
    search(hw, trace, &o)
}

/// The cycle-level replay of a search's chosen schedule with every effect on (`None`
/// when nothing is feasible).
fn replay(hw: &HwConfig, trace: &Trace, r: &SearchResult) -> Result<Option<SimSummary>> {
    let Some(e) = &r.best else {
        return Ok(None);
    };
    let rp = crate::sim::replay::replay_evaluation(
        hw,
        trace,
        r.clone(),
        e.clone(),
        crate::sim::SimOptions::full(),
    )?;
    Ok(Some((&rp.sim.report).into()))
}

/// The document of search results already computed (the CLI's `run --json`, which also
/// draws timelines from its replays): `results[i]` is workload `names[i]`'s outcome on
/// the hardware named `hw`; `sims` is `Some` with [`Engine::Cycle`], one replay per
/// result.
pub(crate) fn document(
    hw: &str,
    names: &[&str],
    results: &[&SearchResult],
    sims: Option<&[Option<SimSummary>]>,
    notes: Vec<String>,
    opts: &RunOptions,
) -> RunDocument {
    let entries = names
        .iter()
        .zip(results)
        .enumerate()
        .map(|(i, (name, r))| {
            let mut e = RunEntry::from_search(name, hw, r, opts.mode, opts.source(), opts.pareto);
            if let Some(s) = sims {
                e.sim = Some(s.get(i).cloned().flatten());
            }
            e
        })
        .collect();
    RunDocument::new(entries, notes, opts.schedule.as_ref())
}
