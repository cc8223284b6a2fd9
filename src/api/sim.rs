//! `simulate`: one schedule (searched or given) replayed on the cycle-level simulator,
//! beside the analytic figures; the report is the `edgesim sim --json` document
//! (`schemas/sim_report.schema.json`).

use super::report::{EnergyFigures, ScheduleSource};
use crate::cost::{Mode, Schedule};
use crate::error::{Error, Result};
use crate::hw::HwConfig;
use crate::search::SearchOptions;
use crate::sim::SimOptions;
use crate::workload::Trace;
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::BTreeMap;

/// Names of the simulator effects [`SimulateOptions::disable`] accepts (`ideal`: all of
/// the analytic model's assumptions at once).
pub const EFFECTS: [&str; 9] = [
    "shared-bus",
    "dram-timing",
    "refresh",
    "turnaround",
    "row-misses",
    "dependencies",
    "capacity",
    "ssd-latency",
    "ideal",
];

/// What [`simulate`] may vary (the flags of `edgesim sim`).
#[derive(Debug, Clone, PartialEq)]
pub struct SimulateOptions {
    /// Step-time model the search optimises and the replay is compared with.
    pub mode: Mode,
    /// Replay the vanilla schedule (row traversal, workload micro-batch, no prefetch)
    /// instead of the searched best; ignored when a schedule is given.
    pub vanilla: bool,
    /// Effects switched off, names from [`EFFECTS`].
    pub disable: Vec<String>,
    /// Bytes per DMA request to DRAM, a power of two from 32 to 4096 (bytes; default 256).
    pub dma_request_bytes: u32,
    /// Also explain the gap to the analytic model effect by effect (8 more simulations).
    pub attribute: bool,
}

impl Default for SimulateOptions {
    /// The defaults of `edgesim sim`.
    fn default() -> Self {
        SimulateOptions {
            mode: Mode::SharedBus,
            vanilla: false,
            disable: Vec::new(),
            dma_request_bytes: 256,
            attribute: false,
        }
    }
}

impl SimulateOptions {
    /// The simulator switches: every effect on except the disabled ones.
    ///
    /// # Errors
    /// [`Error::Input`] naming an unknown effect (key `--disable`, listing [`EFFECTS`]) or
    /// a DMA request size outside the powers of two from 32 to 4096.
    pub fn sim_options(&self) -> Result<SimOptions> {
        let mut o = sim_options_without(&self.disable)?;
        let b = self.dma_request_bytes;
        if !(32..=4096).contains(&b) || !b.is_power_of_two() {
            return Err(Error::input(
                "--dma-request-bytes",
                "dma_request_bytes",
                format!("{b}: must be a power of two from 32 to 4096"),
            ));
        }
        o.dma_request_bytes = b;
        Ok(o)
    }
}

/// Full simulator options with the named effects ([`EFFECTS`]) switched off.
///
/// # Errors
/// [`Error::Input`] naming an unknown effect and listing the allowed ones.
pub fn sim_options_without(names: &[String]) -> Result<SimOptions> {
    let mut o = SimOptions::full();
    for n in names {
        let f = &mut o.dram_features;
        match n.trim() {
            "shared-bus" => o.shared_bus = false,
            "dram-timing" => o.dram_timing = false,
            "refresh" => f.refresh = false,
            "turnaround" => f.turnaround = false,
            "row-misses" => f.row_misses = false,
            "dependencies" => o.dependency_sync = false,
            "capacity" => o.finite_buffers = false,
            "ssd-latency" => o.ssd_latency = false,
            "ideal" => {
                let keep = o.ssd_latency;
                o = SimOptions {
                    ssd_latency: keep,
                    ..SimOptions::ideal()
                };
            }
            other => {
                return Err(Error::input(
                    "--disable",
                    other,
                    format!("unknown effect; allowed: {}", EFFECTS.join(", ")),
                ));
            }
        }
    }
    Ok(o)
}

/// The `edgesim sim --json` document: one schedule of one workload replayed on the
/// cycle-level simulator.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct SimReport {
    /// Workload name.
    pub workload: String,
    /// Hardware name.
    pub hw: String,
    /// Step-time model of the search and of `comparison.analytic_*`.
    pub mode: String,
    /// The replayed schedule in the one-line form [`super::parse_schedule`] reads.
    pub schedule: String,
    /// `search` or `given`.
    pub schedule_source: ScheduleSource,
    /// The simulator switches used.
    pub options: SimSwitches,
    /// The simulation.
    pub sim: SimDetail,
    /// Analytic and simulated times of the schedule.
    pub comparison: SimComparison,
    /// The gap to the analytic model effect by effect, when requested
    /// ([`SimulateOptions::attribute`]); else `null`.
    pub attribution: Option<SimAttribution>,
}

/// Simulator switches (which physical effects are modelled).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct SimSwitches {
    /// All DRAM-side transfers share one LPDDR4 bus.
    pub shared_bus: bool,
    /// DRAM transfers run at the LPDDR4 efficiency of their read/write mix.
    pub dram_timing: bool,
    /// LPDDR4 effects in the efficiency characterisation.
    pub dram_features: DramEffects,
    /// Bytes per DMA request to DRAM (bytes).
    pub dma_request_bytes: u32,
    /// A step's first load waits for the stores of the steps it depends on.
    pub dependency_sync: bool,
    /// Finite (double-buffered) SRAM buffers.
    pub finite_buffers: bool,
    /// Buffers per direction (count; 2 = double buffering).
    pub buffer_depth: u64,
    /// Transfers overlap compute (the schedule's prefetch).
    pub overlap: bool,
    /// SSD access latency paid once per step and direction.
    pub ssd_latency: bool,
    /// Upper bound of chunks a step is cut into (count).
    pub max_chunks_per_step: u64,
    /// Watchdog: accelerator cycles without a finished chunk before the replay stops
    /// with an error (cycles).
    pub watchdog_cycles: u64,
}

/// LPDDR4 effects of the DRAM efficiency characterisation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct DramEffects {
    /// Periodic all-bank refresh.
    pub refresh: bool,
    /// Read/write bus turnaround.
    pub turnaround: bool,
    /// Row buffer misses.
    pub row_misses: bool,
}

impl From<&SimOptions> for SimSwitches {
    fn from(o: &SimOptions) -> Self {
        SimSwitches {
            shared_bus: o.shared_bus,
            dram_timing: o.dram_timing,
            dram_features: DramEffects {
                refresh: o.dram_features.refresh,
                turnaround: o.dram_features.turnaround,
                row_misses: o.dram_features.row_misses,
            },
            dma_request_bytes: o.dma_request_bytes,
            dependency_sync: o.dependency_sync,
            finite_buffers: o.finite_buffers,
            buffer_depth: o.buffer_depth as u64,
            overlap: o.overlap,
            ssd_latency: o.ssd_latency,
            max_chunks_per_step: o.max_chunks_per_step,
            watchdog_cycles: o.watchdog_cycles,
        }
    }
}

/// The result of one simulation.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct SimDetail {
    /// Total accelerator cycles (cycles).
    pub cycles: u64,
    /// Seconds per optimizer step at the accelerator clock (s).
    pub seconds: f64,
    /// Busy fraction per engine name (0..=1).
    pub utilization: BTreeMap<String, f64>,
    /// Energy per optimizer step (J).
    pub energy_joules: f64,
    /// Energy by component (J): the analytic model's rule on the simulated activity, plus
    /// static power x simulated time.
    pub energy: EnergyFigures,
    /// Per-engine account.
    pub engines: Vec<EngineAccount>,
    /// Sampled SRAM occupancy (bucket maxima).
    pub sram_occupancy: Vec<Occupancy>,
    /// Sampled DRAM occupancy.
    pub dram_occupancy: Vec<Occupancy>,
    /// Sampled SSD occupancy.
    pub ssd_occupancy: Vec<Occupancy>,
    /// Steps replayed (count).
    pub steps: u64,
    /// Chunks the steps were cut into (count).
    pub chunks: u64,
    /// Events processed (count).
    pub events: u64,
}

/// One engine's account.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct EngineAccount {
    /// Engine name (`mac_array`, `vector_unit`, `dma_dram_to_sram`, ...).
    pub name: String,
    /// Cycles busy (cycles).
    pub busy_cycles: u64,
    /// Busy over total cycles (0..=1).
    pub utilization: f64,
    /// Work done: bytes for transfers, cycles for compute.
    pub work: u64,
    /// Achieved bandwidth while busy (GB/s; transfers only, else `null`).
    pub achieved_gbps: Option<f64>,
    /// Idle cycles by reason (`input`, `buffer_full`, `dependency`, `idle`; cycles).
    pub stalls: BTreeMap<String, u64>,
    /// Cycles transfers took beyond their link's uncontended ideal time (cycles).
    pub bandwidth_loss_cycles: u64,
}

/// One occupancy sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Occupancy {
    /// Start cycle of the sample's bucket (cycles).
    pub cycle: u64,
    /// Highest occupancy within the bucket (bytes).
    pub bytes: u64,
}

impl From<&crate::sim::SimReport> for SimDetail {
    fn from(r: &crate::sim::SimReport) -> Self {
        let occ = |v: &[crate::sim::report::OccupancySample]| {
            v.iter()
                .map(|s| Occupancy {
                    cycle: s.cycle,
                    bytes: s.bytes,
                })
                .collect()
        };
        SimDetail {
            cycles: r.cycles,
            seconds: r.seconds,
            utilization: r.utilization.clone(),
            energy_joules: r.energy_joules,
            energy: (&r.energy).into(),
            engines: r
                .engines
                .iter()
                .map(|e| EngineAccount {
                    name: e.name.clone(),
                    busy_cycles: e.busy_cycles,
                    utilization: e.utilization,
                    work: e.work,
                    achieved_gbps: e.achieved_gbps,
                    stalls: e.stalls.clone(),
                    bandwidth_loss_cycles: e.bandwidth_loss_cycles,
                })
                .collect(),
            sram_occupancy: occ(&r.sram_occupancy),
            dram_occupancy: occ(&r.dram_occupancy),
            ssd_occupancy: occ(&r.ssd_occupancy),
            steps: r.steps as u64,
            chunks: r.chunks,
            events: r.events,
        }
    }
}

/// Analytic and simulated times of one schedule (s).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct SimComparison {
    /// Analytic, mode `paper` (s).
    pub analytic_paper_seconds: f64,
    /// Analytic, mode `shared-bus` (s).
    pub analytic_shared_bus_seconds: f64,
    /// The search space's lower bound (s).
    pub lower_bound_seconds: f64,
    /// Simulated with the analytic model's assumptions (s).
    pub sim_ideal_seconds: f64,
    /// Simulated with every effect (s).
    pub sim_seconds: f64,
}

impl From<&crate::sim::replay::Comparison> for SimComparison {
    fn from(c: &crate::sim::replay::Comparison) -> Self {
        SimComparison {
            analytic_paper_seconds: c.analytic_paper_seconds,
            analytic_shared_bus_seconds: c.analytic_shared_bus_seconds,
            lower_bound_seconds: c.lower_bound_seconds,
            sim_ideal_seconds: c.sim_ideal_seconds,
            sim_seconds: c.sim_seconds,
        }
    }
}

/// The gap between the analytic model and the simulation, effect by effect.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct SimAttribution {
    /// Analytic, mode `paper` (s).
    pub analytic_paper_seconds: f64,
    /// Analytic, mode `shared-bus` (s).
    pub analytic_shared_bus_seconds: f64,
    /// Lower bound with one shared DRAM bus (s).
    pub shared_bus_lower_bound_seconds: f64,
    /// Simulated with the analytic assumptions (s).
    pub sim_ideal_seconds: f64,
    /// Simulated with every effect (s).
    pub sim_seconds: f64,
    /// `sim_ideal / analytic_paper - 1` (fraction).
    pub ideal_vs_paper: f64,
    /// `sim / analytic_paper - 1` (fraction).
    pub sim_vs_paper: f64,
    /// Effects, `pipeline` first and `interaction` last.
    pub effects: Vec<SimEffect>,
}

/// One effect's share of the simulated time.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct SimEffect {
    /// Effect name.
    pub name: String,
    /// Seconds it adds: full minus full without it (s).
    pub seconds: f64,
    /// As a fraction of the analytic `paper` time.
    pub fraction_of_analytic: f64,
}

impl From<&crate::sim::attribution::Attribution> for SimAttribution {
    fn from(a: &crate::sim::attribution::Attribution) -> Self {
        SimAttribution {
            analytic_paper_seconds: a.analytic_paper_seconds,
            analytic_shared_bus_seconds: a.analytic_shared_bus_seconds,
            shared_bus_lower_bound_seconds: a.shared_bus_lower_bound_seconds,
            sim_ideal_seconds: a.sim_ideal_seconds,
            sim_seconds: a.sim_seconds,
            ideal_vs_paper: a.ideal_vs_paper,
            sim_vs_paper: a.sim_vs_paper,
            effects: a
                .effects
                .iter()
                .map(|e| SimEffect {
                    name: e.name.clone(),
                    seconds: e.seconds,
                    fraction_of_analytic: e.fraction_of_analytic,
                })
                .collect(),
        }
    }
}

impl SimReport {
    /// The report of a replay (`given`: the schedule was given, not searched).
    pub(crate) fn of_replay(
        hw: &HwConfig,
        trace: &Trace,
        mode: Mode,
        given: bool,
        replay: &crate::sim::replay::Replay,
        comparison: &crate::sim::replay::Comparison,
        attribution: Option<&crate::sim::attribution::Attribution>,
    ) -> Self {
        SimReport {
            workload: trace.workload.clone(),
            hw: hw.name.clone(),
            mode: mode.to_string(),
            schedule: replay.evaluation.schedule.to_string(),
            schedule_source: if given {
                ScheduleSource::Given
            } else {
                ScheduleSource::Search
            },
            options: (&replay.options).into(),
            sim: (&replay.sim.report).into(),
            comparison: comparison.into(),
            attribution: attribution.map(SimAttribution::from),
        }
    }
}

/// The search options of a simulation: the full search (or the vanilla schedule) under
/// `opts.mode`, or only `schedule` when given.
///
/// # Errors
/// [`Error::Input`] (key `schedule`) when the given schedule is refused by the workload's
/// grid or does not fit: there is nothing meaningful to replay.
pub(crate) fn search_options(
    hw: &HwConfig,
    trace: &Trace,
    schedule: Option<&Schedule>,
    opts: &SimulateOptions,
) -> Result<SearchOptions> {
    let base = if opts.vanilla && schedule.is_none() {
        SearchOptions::vanilla()
    } else {
        SearchOptions::default()
    }
    .with_mode(opts.mode);
    if let Some(s) = schedule {
        let r = crate::search::evaluate_given(hw, trace, s, opts.mode);
        if let Some(why) = r.reason.filter(|_| r.best.is_none()) {
            return Err(Error::input(
                "--schedule",
                "schedule",
                format!("`{s}` on {} with {}: {why}", hw.name, trace.workload),
            ));
        }
    }
    Ok(SearchOptions {
        schedule: schedule.copied(),
        ..base
    })
}

/// Searches the best schedule of `trace` on `hw` (or takes `schedule`), replays it on the
/// cycle-level simulator and compares it with the analytic model: the `edgesim sim
/// --json` document.
///
/// ```
/// use edgesim::api::{SimulateOptions, default_hardware, simulate, trace, workload};
/// let t = trace(&workload("workloads/tiny_lora.toml")?)?;
/// let r = simulate(&default_hardware(), &t, None, &SimulateOptions::default())?;
/// // Bus sharing, DRAM timing and dependencies slow this replay down against the
/// // same replay under the analytic model's assumptions.
/// assert!(r.comparison.sim_seconds >= r.comparison.sim_ideal_seconds);
/// assert_eq!(r.sim.seconds, r.comparison.sim_seconds);
/// # Ok::<(), edgesim::Error>(())
/// ```
///
/// # Errors
/// Invalid options ([`SimulateOptions::sim_options`]); a given schedule refused or not
/// fitting ([`Error::Input`], key `schedule`); no feasible schedule; the simulator's
/// watchdog error.
pub fn simulate(
    hw: &HwConfig,
    trace: &Trace,
    schedule: Option<&Schedule>,
    opts: &SimulateOptions,
) -> Result<SimReport> {
    let sim_opts = opts.sim_options()?;
    let so = search_options(hw, trace, schedule, opts)?;
    let replay = crate::sim::replay::replay_best(hw, trace, &so, sim_opts)?;
    let comparison = replay.comparison(hw)?;
    let attribution = if opts.attribute {
        Some(crate::sim::attribution::attribute(hw, trace, &replay)?)
    } else {
        None
    };
    Ok(SimReport::of_replay(
        hw,
        trace,
        opts.mode,
        schedule.is_some(),
        &replay,
        &comparison,
        attribution.as_ref(),
    ))
}
