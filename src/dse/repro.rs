//! Reproduction of the paper's comparisons (`edgesim repro`): Table 1's normalised memory
//! for every row, the speed-up of each row over LoRA on the paper accelerator and on the
//! hardware baseline, and an ablation that attributes the speed-up to each of Edge-LLM's
//! three components.
//!
//! The numbers here are pure functions of the workloads, the hardware files and the
//! evaluator (the schedule search); `report::repro_report` turns them into CSV, Markdown
//! and a bar chart.

use super::Outcome;
use crate::cost::MemoryMetrics;
use crate::error::{Error, Result};
use crate::hw::HwConfig;
use crate::search::{PlacementPolicy, SearchOptions};
use crate::workload::{BOperand, EntryKind, Pass, Trace, Workload};
use rayon::prelude::*;

/// One row of the paper's Table 1 (MMLU, LLaMA-7B; Yu et al., DAC'24) and the workload
/// file (stem, under `workloads/`) that models it.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct PaperRow {
    /// Method as printed.
    pub method: &'static str,
    /// Workload file stem.
    pub workload: &'static str,
    /// Average weight bits.
    pub avg_bits: f64,
    /// Mean sparsity.
    pub sparsity: f64,
    /// Normalised memory vs LoRA.
    pub norm_mem: f64,
    /// MMLU accuracy (%), for reference only: the simulator does not model accuracy.
    pub mmlu: f64,
}

/// Table 1 of the paper, row by row (PAPER.md).
pub const TABLE1: [PaperRow; 8] = [
    PaperRow {
        method: "LoRA",
        workload: "llama7b_lora",
        avg_bits: 8.0,
        sparsity: 0.0,
        norm_mem: 1.00,
        mmlu: 33.60,
    },
    PaperRow {
        method: "Partial tuning",
        workload: "llama7b_partial_b5",
        avg_bits: 5.0,
        sparsity: 0.5,
        norm_mem: 0.25,
        mmlu: 30.94,
    },
    PaperRow {
        method: "Edge-LLM",
        workload: "llama7b_edge_llm_b5",
        avg_bits: 5.1,
        sparsity: 0.5,
        norm_mem: 0.25,
        mmlu: 31.64,
    },
    PaperRow {
        method: "LST",
        workload: "llama7b_lst",
        avg_bits: 4.0,
        sparsity: 0.0,
        norm_mem: 0.29,
        mmlu: 29.04,
    },
    PaperRow {
        method: "Partial tuning",
        workload: "llama7b_partial_b4",
        avg_bits: 4.0,
        sparsity: 0.5,
        norm_mem: 0.25,
        mmlu: 28.70,
    },
    PaperRow {
        method: "Edge-LLM",
        workload: "llama7b_edge_llm_b4",
        avg_bits: 4.1,
        sparsity: 0.5,
        norm_mem: 0.25,
        mmlu: 29.89,
    },
    PaperRow {
        method: "Partial tuning",
        workload: "llama7b_partial_b3",
        avg_bits: 3.0,
        sparsity: 0.5,
        norm_mem: 0.25,
        mmlu: 26.61,
    },
    PaperRow {
        method: "Edge-LLM",
        workload: "llama7b_edge_llm_b3",
        avg_bits: 3.1,
        sparsity: 0.5,
        norm_mem: 0.25,
        mmlu: 27.68,
    },
];

/// The paper's headline: Edge-LLM is 2.92x faster than vanilla tuning (LoRA) (abstract,
/// Sec. 5). The paper does not say at which bit-width; we compare it with every Edge-LLM row.
pub const PAPER_SPEEDUP: f64 = 2.92;

/// The paper's headline memory saving: 4x lower memory than vanilla tuning (0.25x).
pub const PAPER_MEMORY: f64 = 0.25;

/// Which schedule the evaluator returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ScheduleKind {
    /// The full search (complementary scheduling).
    Searched,
    /// The vanilla schedule (`SearchOptions::vanilla()`: no complementary scheduling).
    Vanilla,
    /// Vanilla with prefetching (double-buffered tiles, overlapped SSD staging) forced on.
    Prefetch,
    /// Vanilla with the placement search (fastest DRAM/SSD fractions instead of greedy).
    Placement,
    /// Vanilla with the traversal search (row, column, zig-zag blocks at the workload's
    /// micro-batch size; the fastest, greedy placement per traversal).
    Traversal,
    /// Vanilla with the recomputation search (the fastest number of recomputed columns,
    /// greedy placement per level).
    Recompute,
}

impl ScheduleKind {
    /// `searched`, `vanilla`, or the one knob enabled over vanilla.
    pub fn as_str(self) -> &'static str {
        match self {
            ScheduleKind::Searched => "searched",
            ScheduleKind::Vanilla => "vanilla",
            ScheduleKind::Prefetch => "vanilla+prefetch",
            ScheduleKind::Placement => "vanilla+placement",
            ScheduleKind::Traversal => "vanilla+traversal",
            ScheduleKind::Recompute => "vanilla+recompute",
        }
    }

    /// The search options of this kind: `searched` is `full` (the full search's
    /// options); every other kind is [`SearchOptions::vanilla`] under `full`'s mode, with
    /// at most one knob enabled, so each knob's speed-up is measured alone.
    pub fn options(self, full: &SearchOptions) -> SearchOptions {
        let mut o = SearchOptions::vanilla().with_mode(full.mode);
        match self {
            ScheduleKind::Searched => return full.clone(),
            ScheduleKind::Vanilla => {}
            ScheduleKind::Prefetch => o.prefetch = vec![true],
            ScheduleKind::Placement => o.placement = PlacementPolicy::Search,
            ScheduleKind::Traversal => {
                o.column = true;
                o.zigzag = true;
            }
            ScheduleKind::Recompute => o.recompute = true,
        }
        o
    }
}

/// One component of the ablation and the (workload, schedule) that isolates it.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct AblationCase {
    /// Short name.
    pub component: &'static str,
    /// What is switched on, in words.
    pub description: &'static str,
    /// Workload file stem (under `workloads/`).
    pub workload: &'static str,
    /// Schedule.
    pub schedule: ScheduleKind,
}

/// The ablation, on the paper accelerator; every case is compared with the first
/// (vanilla LoRA: 8-bit dense weights, full backprop depth, vanilla schedule).
/// The two single-component workloads are built in code from the shipped ones (see
/// [`compose`]): `A+policy:B` is workload `A` (model, batch, tuning method) with the
/// compression policy of workload `B`, so the policies are exactly the shipped ones.
pub const ABLATION: [AblationCase; 10] = [
    AblationCase {
        component: "baseline",
        description: "LoRA, 8-bit dense weights, full backprop depth, vanilla schedule",
        workload: "llama7b_lora",
        schedule: ScheduleKind::Vanilla,
    },
    AblationCase {
        component: "compression only",
        description: "LoRA's backprop depth with the Edge-LLM 5.1-bit / 50% LUC policy, vanilla schedule",
        workload: "llama7b_lora+policy:llama7b_edge_llm_b5",
        schedule: ScheduleKind::Vanilla,
    },
    AblationCase {
        component: "adaptive layer tuning only",
        description: "Edge-LLM's windowed backprop with LoRA's 8-bit dense weights, vanilla schedule",
        workload: "llama7b_edge_llm_b5+policy:llama7b_lora",
        schedule: ScheduleKind::Vanilla,
    },
    AblationCase {
        component: "scheduling only",
        description: "LoRA with the full searched schedule",
        workload: "llama7b_lora",
        schedule: ScheduleKind::Searched,
    },
    AblationCase {
        component: "prefetch only",
        description: "LoRA, vanilla schedule with prefetching on (double-buffered tiles, overlapped SSD staging)",
        workload: "llama7b_lora",
        schedule: ScheduleKind::Prefetch,
    },
    AblationCase {
        component: "placement only",
        description: "LoRA, vanilla schedule with the fastest DRAM/SSD placement instead of greedy",
        workload: "llama7b_lora",
        schedule: ScheduleKind::Placement,
    },
    AblationCase {
        component: "traversal only",
        description: "LoRA, vanilla schedule with the fastest traversal (row, column, zig-zag blocks)",
        workload: "llama7b_lora",
        schedule: ScheduleKind::Traversal,
    },
    AblationCase {
        component: "recomputation only",
        description: "LoRA, vanilla schedule with the fastest number of recomputed columns",
        workload: "llama7b_lora",
        schedule: ScheduleKind::Recompute,
    },
    AblationCase {
        component: "compression + layer tuning",
        description: "Edge-LLM 5.1-bit workload, vanilla schedule",
        workload: "llama7b_edge_llm_b5",
        schedule: ScheduleKind::Vanilla,
    },
    AblationCase {
        component: "all three",
        description: "Edge-LLM 5.1-bit workload with the full searched schedule",
        workload: "llama7b_edge_llm_b5",
        schedule: ScheduleKind::Searched,
    },
];

/// Splits a workload label `A` or `A+policy:B` into (A, Some(B)).
pub fn split_label(label: &str) -> (&str, Option<&str>) {
    match label.split_once("+policy:") {
        Some((a, b)) => (a, Some(b)),
        None => (label, None),
    }
}

/// Builds the workload named by `label` (see [`ABLATION`]): `get` returns a workload by
/// file stem; for `A+policy:B` the result is `A` with `B`'s compression policy, named by
/// the label.
pub fn compose<G>(label: &str, get: G) -> Result<Workload>
where
    G: Fn(&str) -> Result<Workload>,
{
    let (a, b) = split_label(label);
    let mut w = get(a)?;
    if let Some(b) = b {
        let donor = get(b)?;
        if donor.policy.layers.len() != w.policy.layers.len() {
            return Err(Error::Other(format!(
                "{label}: policy of {b} has {} layers, {a} has {}",
                donor.policy.layers.len(),
                w.policy.layers.len()
            )));
        }
        w.policy = donor.policy;
        w.name = label.to_string();
    }
    Ok(w)
}

/// Our figures for one Table 1 row.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Table1Line {
    /// The paper's row.
    pub paper: PaperRow,
    /// Average weight bits over decoder layers, read from the trace.
    pub avg_bits: f64,
    /// Mean weight sparsity over decoder layers, read from the trace.
    pub sparsity: f64,
    /// Outcome of the searched schedule per hardware (same order as [`Repro::hw_names`]).
    pub outcomes: Vec<Outcome>,
    /// Memory / LoRA's memory under the searched schedules, per hardware. The search
    /// minimises time, so it may hold several micro-batches' activations at once.
    pub norm_mem: Vec<f64>,
    /// The method's own footprint: memory under the vanilla schedule (one micro-batch of
    /// the workload at a time, row traversal) on the paper accelerator. This is what the
    /// paper's "Norm. mem." column compares.
    pub vanilla_memory_bytes: u64,
    /// `vanilla_memory_bytes` / LoRA's.
    pub norm_mem_vanilla: f64,
    /// Every memory figure ([`crate::cost::memory`]) under the vanilla schedule on the
    /// paper accelerator.
    pub vanilla_memory: MemoryMetrics,
    /// `vanilla_memory` / LoRA's, figure by figure. Its `activation_bytes` (the tensors
    /// saved for backward, which scale with the backprop depth) is what the paper's
    /// "Norm. mem." column most plausibly compares: 0.25x for every Edge-LLM and partial
    /// row whatever the bits (so it excludes the compressed weights), 8 / 32 backprop
    /// layers.
    pub norm_vanilla: MemoryMetrics,
    /// Every memory figure of the searched schedule / LoRA's, per hardware.
    pub norm_searched: Vec<MemoryMetrics>,
    /// LoRA's seconds / this row's seconds, per hardware.
    pub speedup: Vec<f64>,
}

/// Our figures for one ablation case.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AblationLine {
    /// The case.
    pub case: AblationCase,
    /// Outcome per hardware.
    pub outcomes: Vec<Outcome>,
    /// Baseline seconds / this case's seconds, per hardware.
    pub speedup: Vec<f64>,
    /// Memory / baseline memory, per hardware.
    pub norm_mem: Vec<f64>,
}

/// Everything `edgesim repro` reports.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Repro {
    /// Hardware names, in column order (the paper accelerator first).
    pub hw_names: Vec<String>,
    /// Table 1, row by row.
    pub table1: Vec<Table1Line>,
    /// The ablation, case by case.
    pub ablation: Vec<AblationLine>,
    /// Edge-LLM (5.1 bit, searched) on the paper accelerator vs vanilla LoRA on the
    /// hardware baseline (second hardware): algorithm, schedule and hardware together.
    pub end_to_end_speedup: f64,
    /// The speed-ups of the same comparisons under each step-time mode the caller ran
    /// ([`ModeFigures::of`]); empty unless filled in by the caller.
    pub modes: Vec<ModeFigures>,
}

/// The speed-ups of a reproduction under one step-time mode: `paper` (eq. 3 as printed,
/// DRAM reads and writes each at the full bandwidth at once) or `shared-bus` (LPDDR4's
/// one half-duplex bus, the physical one).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ModeFigures {
    /// The mode's name (`paper`, `chained`, `shared-bus`).
    pub mode: String,
    /// Per Table 1 row, seconds per optimizer step per hardware.
    pub table1_seconds: Vec<Vec<f64>>,
    /// Per Table 1 row, LoRA's seconds / the row's, per hardware.
    pub table1_speedup: Vec<Vec<f64>>,
    /// Per ablation case, the baseline's seconds / the case's, per hardware.
    pub ablation_speedup: Vec<Vec<f64>>,
    /// [`Repro::end_to_end_speedup`] under the mode.
    pub end_to_end_speedup: f64,
}

impl ModeFigures {
    /// The speed-ups of `r`, a reproduction computed under `mode`.
    pub fn of(r: &Repro, mode: crate::cost::Mode) -> Self {
        ModeFigures {
            mode: mode.to_string(),
            table1_seconds: r
                .table1
                .iter()
                .map(|l| l.outcomes.iter().map(|o| o.seconds_per_step).collect())
                .collect(),
            table1_speedup: r.table1.iter().map(|l| l.speedup.clone()).collect(),
            ablation_speedup: r.ablation.iter().map(|l| l.speedup.clone()).collect(),
            end_to_end_speedup: r.end_to_end_speedup,
        }
    }
}

/// Mean weight bits and mean weight sparsity over the decoder layers of `t`: per layer,
/// those of its largest weight GEMM (a projection, not a LoRA adapter), as the paper's
/// "Avg. bit" and "Sparsity" columns average per-layer values.
pub fn layer_bits_and_sparsity(t: &Trace) -> (f64, f64) {
    let mut n = 0usize;
    let (mut bits, mut sp) = (0.0, 0.0);
    for e in t
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::Decoder && e.pass == Pass::Fwd)
    {
        if let Some(g) = e
            .gemms
            .iter()
            .filter(|g| g.b_operand == BOperand::Weight)
            .max_by(|a, b| (a.k * a.n).cmp(&(b.k * b.n)))
        {
            bits += g.w_bits as f64;
            sp += g.sparsity;
            n += 1;
        }
    }
    if n == 0 {
        (f64::NAN, f64::NAN)
    } else {
        (bits / n as f64, sp / n as f64)
    }
}

/// Runs every evaluation of the reproduction (in parallel) and assembles the tables.
/// `hws[0]` is the paper accelerator, `hws[1]` the hardware baseline. `load` returns the
/// trace of a workload label (a file stem or `A+policy:B`, see [`compose`]); `eval` runs the search with the given schedule kind.
pub fn compute<L, E>(hws: &[HwConfig], load: L, eval: E) -> Result<Repro>
where
    L: Fn(&str) -> Result<Trace>,
    E: Fn(&HwConfig, &Trace, ScheduleKind) -> Result<Outcome> + Sync,
{
    if hws.len() < 2 {
        return Err(Error::Other(
            "repro needs the paper and the baseline hardware".into(),
        ));
    }
    // Distinct workloads, loaded once.
    let mut stems: Vec<&str> = TABLE1.iter().map(|r| r.workload).collect();
    stems.extend(ABLATION.iter().map(|c| c.workload));
    stems.sort_unstable();
    stems.dedup();
    let traces: Vec<(&str, Trace)> = stems
        .iter()
        .map(|s| Ok((*s, load(s)?)))
        .collect::<Result<_>>()?;
    let trace = |stem: &str| -> &Trace {
        &traces
            .iter()
            .find(|(s, _)| *s == stem)
            .expect("loaded above")
            .1
    };

    // Every (hardware, workload, schedule) evaluation needed, deduplicated.
    let mut jobs: Vec<(usize, &str, ScheduleKind)> = Vec::new();
    for h in 0..hws.len() {
        for r in &TABLE1 {
            jobs.push((h, r.workload, ScheduleKind::Searched));
            jobs.push((h, r.workload, ScheduleKind::Vanilla));
        }
        for c in &ABLATION {
            jobs.push((h, c.workload, c.schedule));
        }
    }
    jobs.sort_by(|a, b| (a.0, a.1, a.2.as_str()).cmp(&(b.0, b.1, b.2.as_str())));
    jobs.dedup();
    let results: Vec<Outcome> = jobs
        .par_iter()
        .map(|&(h, w, s)| eval(&hws[h], trace(w), s))
        .collect::<Result<_>>()?;
    let get = |h: usize, w: &str, s: ScheduleKind| -> &Outcome {
        let i = jobs
            .iter()
            .position(|j| *j == (h, w, s))
            .expect("every needed job was queued");
        &results[i]
    };
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
    // Per hardware: memory relative to the baseline, and the baseline's time over ours.
    let norm_mem = |outcomes: &[Outcome], base: &[&Outcome]| -> Vec<f64> {
        outcomes
            .iter()
            .zip(base)
            .map(|(o, b)| ratio(o.memory_bytes as f64, b.memory_bytes as f64))
            .collect()
    };
    let speedup = |outcomes: &[Outcome], base: &[&Outcome]| -> Vec<f64> {
        outcomes
            .iter()
            .zip(base)
            .map(|(o, b)| ratio(b.seconds_per_step, o.seconds_per_step))
            .collect()
    };

    let lora = TABLE1[0].workload;
    let table1 = TABLE1
        .iter()
        .map(|r| {
            let (avg_bits, sparsity) = layer_bits_and_sparsity(trace(r.workload));
            let outcomes: Vec<Outcome> = (0..hws.len())
                .map(|h| get(h, r.workload, ScheduleKind::Searched).clone())
                .collect();
            let base: Vec<&Outcome> = (0..hws.len())
                .map(|h| get(h, lora, ScheduleKind::Searched))
                .collect();
            let vanilla = get(0, r.workload, ScheduleKind::Vanilla).memory_bytes;
            let lora_vanilla = get(0, lora, ScheduleKind::Vanilla).memory_bytes;
            let vanilla_memory = get(0, r.workload, ScheduleKind::Vanilla).memory;
            let norm_vanilla = vanilla_memory.ratio_to(&get(0, lora, ScheduleKind::Vanilla).memory);
            let norm_searched = outcomes
                .iter()
                .zip(&base)
                .map(|(o, b)| o.memory.ratio_to(&b.memory))
                .collect();
            Table1Line {
                paper: *r,
                avg_bits,
                sparsity,
                vanilla_memory_bytes: vanilla,
                norm_mem_vanilla: ratio(vanilla as f64, lora_vanilla as f64),
                vanilla_memory,
                norm_vanilla,
                norm_searched,
                norm_mem: norm_mem(&outcomes, &base),
                speedup: speedup(&outcomes, &base),
                outcomes,
            }
        })
        .collect();

    let b = ABLATION[0];
    let ablation = ABLATION
        .iter()
        .map(|c| {
            let outcomes: Vec<Outcome> = (0..hws.len())
                .map(|h| get(h, c.workload, c.schedule).clone())
                .collect();
            let base: Vec<&Outcome> = (0..hws.len())
                .map(|h| get(h, b.workload, b.schedule))
                .collect();
            AblationLine {
                case: *c,
                speedup: speedup(&outcomes, &base),
                norm_mem: norm_mem(&outcomes, &base),
                outcomes,
            }
        })
        .collect();

    let all = ABLATION[ABLATION.len() - 1];
    let end_to_end_speedup = ratio(
        get(1, b.workload, b.schedule).seconds_per_step,
        get(0, all.workload, all.schedule).seconds_per_step,
    );
    Ok(Repro {
        hw_names: hws.iter().map(|h| h.name.clone()).collect(),
        table1,
        ablation,
        end_to_end_speedup,
        modes: Vec::new(),
    })
}

#[cfg(test)]
mod knob_tests {
    use super::*;
    use crate::cost::Mode;

    #[test]
    fn each_knob_enables_exactly_one_setting_over_vanilla() {
        let full = SearchOptions::default().with_mode(Mode::SharedBus);
        let v = SearchOptions::vanilla().with_mode(Mode::SharedBus);
        assert_eq!(ScheduleKind::Vanilla.options(&full), v);
        assert_eq!(ScheduleKind::Searched.options(&full), full);
        let knobs = [
            ScheduleKind::Prefetch,
            ScheduleKind::Placement,
            ScheduleKind::Traversal,
            ScheduleKind::Recompute,
        ];
        for k in knobs {
            let o = k.options(&full);
            let changed = [
                o.prefetch != v.prefetch,
                o.placement != v.placement,
                o.column != v.column || o.zigzag != v.zigzag,
                o.recompute != v.recompute,
            ];
            assert_eq!(changed.iter().filter(|c| **c).count(), 1, "{k:?}");
            // Everything else stays vanilla: the workload's micro-batch, no slack.
            assert_eq!(o.micro_batches, v.micro_batches);
            assert_eq!(o.time_slack, 0.0);
            assert_eq!(o.mode, Mode::SharedBus);
        }
        // Each knob row of the ablation measures one of these against the vanilla baseline.
        for k in knobs {
            assert_eq!(ABLATION.iter().filter(|c| c.schedule == k).count(), 1);
        }
        assert_eq!(ABLATION[0].schedule, ScheduleKind::Vanilla);
    }
}
