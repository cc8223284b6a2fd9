//! The report of `run`, `search` and `evaluate`: plain serialisable structs whose
//! `serde_json` serialisation IS the `edgesim run --json` document (see
//! `schemas/run.schema.json`).
//!
//! Every entry of [`RunDocument::results`] carries every key, feasible or not: a figure the
//! entry does not have (no feasible schedule) is `null`, and the reason is in
//! `infeasible_reason`. Two keys appear only when asked for: `pareto` (the time/memory
//! front, [`super::RunOptions::pareto`]) and `sim` (the cycle-level replay,
//! [`super::Engine::Cycle`]).

use crate::cost::{EnergyBreakdown, Evaluation, LowerBound, MemoryMetrics, Schedule};
use crate::search::{SchedulePoint, SearchResult};
use schemars::JsonSchema;
use serde::Serialize;

/// The `edgesim run --json` document: one entry per workload, and the LAST workload
/// compared with the FIRST (the reference).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RunDocument {
    /// One entry per workload, in the order given.
    pub results: Vec<RunEntry>,
    /// Seconds per step of the first workload over the last's (dimensionless; > 1 when
    /// the last is faster); `null` with fewer than two workloads or when either is
    /// infeasible.
    pub speedup: Option<f64>,
    /// Total tuning memory of the last workload over the first's (dimensionless); `null`
    /// as `speedup`.
    pub norm_mem: Option<f64>,
    /// Every memory figure of the last workload over the first's (dimensionless); `null`
    /// as `speedup`.
    pub norm_memory: Option<MemoryRatios>,
    /// Facts about the inputs stated once (e.g. a sensitivity table missing a layer and
    /// what was assumed), each `workload: fact`.
    pub notes: Vec<String>,
    /// The schedule every workload was evaluated with, in the one-line form
    /// [`super::parse_schedule`] reads, when one was given instead of searched
    /// ([`super::RunOptions::schedule`]); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given_schedule: Option<String>,
}

/// Where an entry's schedule comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ScheduleSource {
    /// Chosen by the schedule search.
    Search,
    /// Given by the caller ([`super::RunOptions::schedule`], `--schedule`).
    Given,
}

/// One workload on one hardware configuration (one `results[]` entry of `run --json`).
///
/// Figures of the chosen schedule are `null` when no schedule is feasible
/// (`feasible == false`, reason in `infeasible_reason`).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RunEntry {
    /// Workload name (the workload's `name` key, file stem or Trace `workload`).
    pub workload: String,
    /// Hardware name (the hardware file's `name` key).
    pub hw: String,
    /// Step-time model: `shared-bus`, `paper` or `chained`.
    pub mode: String,
    /// True when a schedule fits every memory tier (and the budgets given).
    pub feasible: bool,
    /// Why no schedule is feasible (names the tier and the excess in bytes where one
    /// overflows); `null` when feasible.
    pub infeasible_reason: Option<String>,
    /// `search` or `given`.
    pub schedule_source: ScheduleSource,
    /// Seconds per optimizer step of the chosen schedule (s).
    pub seconds_per_iteration: Option<f64>,
    /// Seconds per optimizer step of the fastest feasible schedule, the time optimum the
    /// slack is measured from (s).
    pub optimal_seconds: Option<f64>,
    /// Total tuning memory of that fastest schedule (bytes).
    pub optimal_memory_bytes: Option<f64>,
    /// The time slack applied (fraction of `optimal_seconds`; 0 for a given schedule).
    pub time_slack: f64,
    /// The search space's lower bound on the step time (s).
    pub lower_bound_seconds: f64,
    /// Optimality gap of the chosen schedule, `100 (seconds / lower bound - 1)` (percent).
    pub gap_pct: Option<f64>,
    /// The lower bound's terms.
    pub lower_bound: LowerBoundTerms,
    /// Total tuning memory: every tensor of tuning once, DRAM and SSD (bytes).
    pub memory_bytes: Option<f64>,
    /// Peak DRAM + peak SRAM occupancy: what must fit on the device (bytes).
    pub device_bytes: Option<f64>,
    /// Peak bytes saved in forward for backward, any tier (bytes).
    pub activation_bytes: Option<f64>,
    /// Trainable weights + weight gradients + optimizer state, any tier (bytes).
    pub tuning_state_bytes: Option<f64>,
    /// Every tensor of tuning once (bytes; equals `memory_bytes`).
    pub total_bytes: Option<f64>,
    /// Peak SSD occupancy (bytes).
    pub ssd_bytes: Option<f64>,
    /// Peak occupancy per memory tier (bytes).
    pub peak_bytes: Option<TierPeaks>,
    /// The term bounding most of the time: `compute`, `dram-read`, `dram-write`,
    /// `ssd-read`, `ssd-write`, `chained-read`, `chained-write`, `dram-bus`, `ssd-link`.
    pub bound: Option<String>,
    /// Energy per optimizer step, dynamic + static (J).
    pub energy_joules: Option<f64>,
    /// Energy per optimizer step by component (J).
    pub energy_breakdown: Option<EnergyFigures>,
    /// Dynamic (activity) energy per step (J).
    pub energy_dynamic_j: Option<f64>,
    /// Static energy per step, static power x step time (J).
    pub energy_static_j: Option<f64>,
    /// Bytes written to the SSD per optimizer step (bytes).
    pub ssd_write_bytes: Option<f64>,
    /// Bytes read from the SSD per optimizer step (bytes).
    pub ssd_read_bytes: Option<f64>,
    /// Optimizer steps until the SSD's rated endurance is written (steps); `null` when
    /// nothing is written or no schedule is feasible.
    pub ssd_wear_out_steps: Option<f64>,
    /// The chosen schedule.
    pub schedule: Option<ScheduleFigures>,
    /// Candidate schedules evaluated (placements timed plus combination bounds; count).
    pub candidates_evaluated: u64,
    /// The time/memory Pareto front in ascending memory (empty when no schedule is
    /// feasible); present only when requested ([`super::RunOptions::pareto`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pareto: Option<Vec<ParetoPoint>>,
    /// The chosen schedule replayed on the cycle-level simulator (`null` when no schedule
    /// is feasible); present only with [`super::Engine::Cycle`].
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<SimSummary>")]
    pub sim: Option<Option<SimSummary>>,
}

/// The lower bound on the step time and its terms.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct LowerBoundTerms {
    /// Compute term (s).
    pub compute_seconds: f64,
    /// DRAM term (s).
    pub dram_seconds: f64,
    /// SSD term (s).
    pub ssd_seconds: f64,
    /// Their maximum: the bound (s).
    pub seconds: f64,
    /// The DRAM term with compulsory traffic only, before the SRAM-aware GEMM term (s).
    pub dram_compulsory_seconds: f64,
    /// DRAM read bytes of the bound, compulsory plus the SRAM excess (bytes).
    pub dram_read_bytes: f64,
    /// DRAM write bytes of the bound (bytes).
    pub dram_write_bytes: f64,
    /// Read bytes the SRAM-aware GEMM bound adds to the compulsory reads (bytes).
    pub dram_sram_excess_bytes: f64,
}

impl From<&LowerBound> for LowerBoundTerms {
    fn from(b: &LowerBound) -> Self {
        LowerBoundTerms {
            compute_seconds: b.compute_seconds,
            dram_seconds: b.dram_seconds,
            ssd_seconds: b.ssd_seconds,
            seconds: b.seconds,
            dram_compulsory_seconds: b.dram_compulsory_seconds,
            dram_read_bytes: b.dram_read_bytes,
            dram_write_bytes: b.dram_write_bytes,
            dram_sram_excess_bytes: b.dram_sram_excess_bytes,
        }
    }
}

/// Peak occupancy per memory tier (bytes).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct TierPeaks {
    /// On-chip SRAM (bytes).
    pub sram: f64,
    /// DRAM (bytes).
    pub dram: f64,
    /// SSD (bytes).
    pub ssd: f64,
}

/// Energy by component (J): dynamic (`mac` .. `ssd`) and static (`*_static`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct EnergyFigures {
    /// MAC array, dynamic (J).
    pub mac: f64,
    /// Vector unit, dynamic (J).
    pub vector: f64,
    /// SRAM accesses, dynamic (J).
    pub sram: f64,
    /// DRAM transfers, dynamic (J).
    pub dram: f64,
    /// SSD reads and writes, dynamic (J).
    pub ssd: f64,
    /// MAC array and vector unit, static power x time (J).
    pub array_static: f64,
    /// SRAM, static (J).
    pub sram_static: f64,
    /// DRAM, static (J).
    pub dram_static: f64,
    /// SSD, static (J).
    pub ssd_static: f64,
}

impl From<&EnergyBreakdown> for EnergyFigures {
    fn from(b: &EnergyBreakdown) -> Self {
        EnergyFigures {
            mac: b.mac,
            vector: b.vector,
            sram: b.sram,
            dram: b.dram,
            ssd: b.ssd,
            array_static: b.array_static,
            sram_static: b.sram_static,
            dram_static: b.dram_static,
            ssd_static: b.ssd_static,
        }
    }
}

/// Each memory figure of one schedule over the same figure of another (dimensionless;
/// `null` where the other's figure is 0, e.g. no SSD use), under the figures' names.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct MemoryRatios {
    /// Ratio of peak DRAM + peak SRAM.
    pub device_bytes: Option<f64>,
    /// Ratio of the peak bytes saved for backward.
    pub activation_bytes: Option<f64>,
    /// Ratio of trainable weights + gradients + optimizer state.
    pub tuning_state_bytes: Option<f64>,
    /// Ratio of the total tuning memory.
    pub total_bytes: Option<f64>,
    /// Ratio of the peak SSD occupancy.
    pub ssd_bytes: Option<f64>,
}

impl MemoryRatios {
    /// `a`'s figures over `b`'s (`None` where `b`'s is not positive).
    fn of(a: &MemoryMetrics, b: &MemoryMetrics) -> Self {
        let r = a.ratio_to(b);
        let f = |x: f64| x.is_finite().then_some(x);
        MemoryRatios {
            device_bytes: f(r.device_bytes),
            activation_bytes: f(r.activation_bytes),
            tuning_state_bytes: f(r.tuning_state_bytes),
            total_bytes: f(r.total_bytes),
            ssd_bytes: f(r.ssd_bytes),
        }
    }
}

/// A schedule as figures (the `schedule` object of `run --json`).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ScheduleFigures {
    /// Traversal of the layer x micro-batch grid: `row`, `column` or `zigzag:B`.
    pub traversal: String,
    /// Sequences per micro-batch (count).
    pub micro_batch_size: u64,
    /// Transfers overlapped with compute.
    pub prefetch: bool,
    /// Forward columns recomputed in backward (count, in the model's fixed ranking).
    pub recomputed_columns: u32,
    /// Fraction of stored weights on the SSD (0..=1).
    pub weights_on_ssd: f64,
    /// Fraction of saved activations on the SSD (0..=1).
    pub saved_on_ssd: f64,
    /// Fraction of gradients and optimizer state on the SSD (0..=1).
    pub optimizer_on_ssd: f64,
}

impl From<&Schedule> for ScheduleFigures {
    fn from(s: &Schedule) -> Self {
        ScheduleFigures {
            traversal: s.traversal.to_string(),
            micro_batch_size: s.micro_batch_size,
            prefetch: s.prefetch,
            recomputed_columns: s.recompute,
            weights_on_ssd: s.placement.weights_on_ssd,
            saved_on_ssd: s.placement.saved_on_ssd,
            optimizer_on_ssd: s.placement.optimizer_on_ssd,
        }
    }
}

impl ScheduleFigures {
    /// The schedule these figures describe, to evaluate or simulate again
    /// ([`super::evaluate`], [`super::simulate`]).
    ///
    /// # Errors
    /// An unknown traversal (only possible for figures not made by this crate).
    pub fn to_schedule(&self) -> crate::Result<Schedule> {
        Ok(Schedule {
            traversal: self.traversal.parse()?,
            micro_batch_size: self.micro_batch_size,
            prefetch: self.prefetch,
            recompute: self.recomputed_columns,
            placement: crate::cost::Placement {
                weights_on_ssd: self.weights_on_ssd,
                saved_on_ssd: self.saved_on_ssd,
                optimizer_on_ssd: self.optimizer_on_ssd,
            },
        })
    }
}

/// One point of the time/memory Pareto front.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ParetoPoint {
    /// Seconds per optimizer step (s).
    pub seconds_per_iteration: f64,
    /// Total tuning memory (bytes).
    pub memory_bytes: f64,
    /// The schedule.
    pub schedule: ScheduleFigures,
}

impl From<&SchedulePoint> for ParetoPoint {
    fn from(p: &SchedulePoint) -> Self {
        ParetoPoint {
            seconds_per_iteration: p.seconds,
            memory_bytes: p.memory_bytes,
            schedule: (&p.schedule).into(),
        }
    }
}

/// The cycle-level replay of one entry's schedule (the `sim` object of
/// `run --engine cycle --json`).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct SimSummary {
    /// Total accelerator cycles (cycles).
    pub cycles: u64,
    /// Simulated seconds per optimizer step at the accelerator clock (s).
    pub seconds: f64,
    /// Busy fraction per engine name (0..=1).
    pub utilization: std::collections::BTreeMap<String, f64>,
    /// Energy per optimizer step (J).
    pub energy_joules: f64,
    /// Energy by component (J).
    pub energy_breakdown: EnergyFigures,
}

impl From<&crate::sim::SimReport> for SimSummary {
    fn from(r: &crate::sim::SimReport) -> Self {
        SimSummary {
            cycles: r.cycles,
            seconds: r.seconds,
            utilization: r.utilization.clone(),
            energy_joules: r.energy_joules,
            energy_breakdown: (&r.energy).into(),
        }
    }
}

impl RunEntry {
    /// The entry of one search (or given-schedule) outcome of workload `workload` on
    /// hardware `hw`. `pareto` says whether the front was requested.
    pub fn from_search(
        workload: &str,
        hw: &str,
        r: &SearchResult,
        mode: crate::cost::Mode,
        source: ScheduleSource,
        pareto: bool,
    ) -> RunEntry {
        let front = pareto.then(|| r.pareto.iter().map(ParetoPoint::from).collect());
        match &r.best {
            Some(e) => RunEntry {
                candidates_evaluated: r.candidates_evaluated,
                optimal_seconds: r.optimal_seconds,
                optimal_memory_bytes: r.optimal_memory_bytes,
                time_slack: r.time_slack,
                lower_bound: (&r.lower_bound).into(),
                pareto: front,
                ..Self::of_evaluation(workload, hw, e, source)
            },
            None => RunEntry {
                workload: workload.to_string(),
                hw: hw.to_string(),
                mode: mode.to_string(),
                feasible: false,
                infeasible_reason: Some(
                    r.reason
                        .clone()
                        .unwrap_or_else(|| "no feasible schedule".to_string()),
                ),
                schedule_source: source,
                seconds_per_iteration: None,
                optimal_seconds: None,
                optimal_memory_bytes: None,
                time_slack: r.time_slack,
                lower_bound_seconds: r.lower_bound.seconds,
                gap_pct: None,
                lower_bound: (&r.lower_bound).into(),
                memory_bytes: None,
                device_bytes: None,
                activation_bytes: None,
                tuning_state_bytes: None,
                total_bytes: None,
                ssd_bytes: None,
                peak_bytes: None,
                bound: None,
                energy_joules: None,
                energy_breakdown: None,
                energy_dynamic_j: None,
                energy_static_j: None,
                ssd_write_bytes: None,
                ssd_read_bytes: None,
                ssd_wear_out_steps: None,
                schedule: None,
                candidates_evaluated: r.candidates_evaluated,
                pareto: front,
                sim: None,
            },
        }
    }

    /// The figures of one evaluation alone (no search around it: the time optimum is
    /// the evaluation itself, the slack 0, the lower-bound terms only their maximum).
    fn of_evaluation(workload: &str, hw: &str, e: &Evaluation, source: ScheduleSource) -> Self {
        let m = &e.memory;
        RunEntry {
            workload: workload.to_string(),
            hw: hw.to_string(),
            mode: e.mode.to_string(),
            feasible: e.feasible,
            infeasible_reason: e.infeasible_reason.clone(),
            schedule_source: source,
            seconds_per_iteration: Some(e.seconds_per_iteration),
            optimal_seconds: Some(e.seconds_per_iteration),
            optimal_memory_bytes: Some(e.memory_bytes),
            time_slack: 0.0,
            lower_bound_seconds: e.lower_bound_seconds,
            gap_pct: Some(100.0 * e.gap),
            lower_bound: LowerBoundTerms::from(&LowerBound {
                seconds: e.lower_bound_seconds,
                ..LowerBound::default()
            }),
            memory_bytes: Some(e.memory_bytes),
            device_bytes: Some(m.device_bytes),
            activation_bytes: Some(m.activation_bytes),
            tuning_state_bytes: Some(m.tuning_state_bytes),
            total_bytes: Some(m.total_bytes),
            ssd_bytes: Some(m.ssd_bytes),
            peak_bytes: Some(TierPeaks {
                sram: e.peak_bytes.sram,
                dram: e.peak_bytes.dram,
                ssd: e.peak_bytes.ssd,
            }),
            bound: Some(e.bound.to_string()),
            energy_joules: Some(e.energy_joules),
            energy_breakdown: Some((&e.energy_breakdown).into()),
            energy_dynamic_j: Some(e.energy_breakdown.dynamic()),
            energy_static_j: Some(e.energy_breakdown.static_total()),
            ssd_write_bytes: Some(e.ssd_write_bytes),
            ssd_read_bytes: Some(e.ssd_read_bytes),
            ssd_wear_out_steps: e.ssd_wear_out_steps,
            schedule: Some((&e.schedule).into()),
            candidates_evaluated: 1,
            pareto: None,
            sim: None,
        }
    }

    /// The chosen schedule, ready to evaluate or simulate again; `None` when infeasible.
    pub fn chosen_schedule(&self) -> Option<Schedule> {
        self.schedule.as_ref().and_then(|s| s.to_schedule().ok())
    }
}

impl RunDocument {
    /// The document of `entries` (the first is the reference), with `notes` and the
    /// given schedule, if any.
    pub fn new(entries: Vec<RunEntry>, notes: Vec<String>, given: Option<&Schedule>) -> Self {
        let (speedup, norm_mem, norm_memory) = compare(&entries);
        RunDocument {
            results: entries,
            speedup,
            norm_mem,
            norm_memory,
            notes,
            given_schedule: given.map(Schedule::to_string),
        }
    }
}

/// Speed-up, total-memory ratio and every memory ratio of the last entry against the first
/// (all `None` with fewer than two entries or when either is infeasible).
fn compare(entries: &[RunEntry]) -> (Option<f64>, Option<f64>, Option<MemoryRatios>) {
    let (Some(a), Some(b)) = (entries.first(), entries.last()) else {
        return (None, None, None);
    };
    if entries.len() < 2 {
        return (None, None, None);
    }
    let figures = |e: &RunEntry| -> Option<(f64, MemoryMetrics)> {
        Some((
            e.seconds_per_iteration?,
            MemoryMetrics {
                device_bytes: e.device_bytes?,
                activation_bytes: e.activation_bytes?,
                tuning_state_bytes: e.tuning_state_bytes?,
                total_bytes: e.total_bytes?,
                ssd_bytes: e.ssd_bytes?,
            },
        ))
    };
    match (figures(a), figures(b), a.memory_bytes, b.memory_bytes) {
        (Some((ta, ma)), Some((tb, mb)), Some(xa), Some(xb)) => (
            Some(ta / tb),
            Some(xb / xa),
            Some(MemoryRatios::of(&mb, &ma)),
        ),
        _ => (None, None, None),
    }
}
