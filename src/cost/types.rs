//! Plain data of the cost model: schedules, steps, evaluations.

use crate::error::{Error, Result};
use crate::grid::Traversal;
use std::fmt;
use std::str::FromStr;

/// How a step's transfers and compute combine into its time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Edge-LLM eq. 3: `max(r_to_sram, w_to_dram, r_to_dram, w_to_ssd, T_comp)`, each
    /// link at its own bandwidth.
    Paper,
    /// Eq. 3 plus FlexGen's code constraints: transfers chained through DRAM add up,
    /// `T >= r_to_sram + r_to_dram` and `T >= w_to_dram + w_to_ssd`.
    Chained,
    /// All DRAM-side traffic of the step (both directions, and the DRAM side of SSD
    /// transfers) shares one half-duplex DRAM bus, as on LPDDR4: the physical model and
    /// the default of the search ([`crate::search::SearchOptions::default`]).
    SharedBus,
}

impl Mode {
    /// All modes.
    pub const ALL: [Mode; 3] = [Mode::Paper, Mode::Chained, Mode::SharedBus];
    /// Their names, as `--mode` takes them (the default, `shared-bus`, first).
    pub const NAMES: [&'static str; 3] = ["shared-bus", "paper", "chained"];
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Paper => "paper",
            Mode::Chained => "chained",
            Mode::SharedBus => "shared-bus",
        })
    }
}

impl FromStr for Mode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "paper" => Ok(Mode::Paper),
            "chained" => Ok(Mode::Chained),
            "shared-bus" => Ok(Mode::SharedBus),
            _ => Err(Error::input(
                "--mode",
                "mode",
                format!("`{s}`: expected paper, chained or shared-bus"),
            )),
        }
    }
}

/// Fractions of each tensor class kept on the SSD (the rest lives in DRAM).
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct Placement {
    /// Fraction of stored weights on the SSD, streamed to DRAM by every step that uses them.
    pub weights_on_ssd: f64,
    /// Fraction of saved activations written to the SSD in forward, read back in backward.
    pub saved_on_ssd: f64,
    /// Fraction of weight gradients and optimizer state on the SSD.
    pub optimizer_on_ssd: f64,
}

/// One point of the schedule space.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Schedule {
    /// Traversal of the grid.
    pub traversal: Traversal,
    /// Sequences per micro-batch (divides the sequences per optimizer step).
    pub micro_batch_size: u64,
    /// Overlap transfers with compute (double-buffered SRAM tiles and DRAM staging).
    pub prefetch: bool,
    /// Number of forward columns whose activations are recomputed in backward, taken in
    /// the model's fixed ranking (largest memory saving first, see `Model::recompute_order`).
    pub recompute: u32,
    /// Tensor placement over DRAM/SSD.
    pub placement: Placement,
}

impl Schedule {
    /// Row traversal, no prefetch, no recomputation, everything in DRAM.
    pub fn vanilla(micro_batch_size: u64) -> Self {
        Schedule {
            traversal: Traversal::Row,
            micro_batch_size,
            prefetch: false,
            recompute: 0,
            placement: Placement::default(),
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} micro-batch {} prefetch {} recompute {} ssd w/s/o {:.0}%/{:.0}%/{:.0}%",
            self.traversal,
            self.micro_batch_size,
            if self.prefetch { "on" } else { "off" },
            self.recompute,
            self.placement.weights_on_ssd * 100.0,
            self.placement.saved_on_ssd * 100.0,
            self.placement.optimizer_on_ssd * 100.0
        )
    }
}

/// Tensor classes a transfer is tagged with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TensorClass {
    /// Stored (compressed) weights and LoRA adapters.
    Weights,
    /// Activations flowing between and inside columns (and transient recomputed tensors).
    Activations,
    /// Tensors saved in forward for backward (or checkpoints when recomputing).
    Saved,
    /// Weight gradients.
    Gradients,
    /// Optimizer state.
    Optimizer,
}

/// Bytes per tensor class on one link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct ClassBytes {
    /// Weights.
    pub weights: u64,
    /// Activations.
    pub activations: u64,
    /// Saved tensors.
    pub saved: u64,
    /// Gradients.
    pub gradients: u64,
    /// Optimizer state.
    pub optimizer: u64,
}

impl ClassBytes {
    /// Sum over classes.
    pub fn total(&self) -> u64 {
        self.weights + self.activations + self.saved + self.gradients + self.optimizer
    }

    /// Bytes of one class.
    pub fn get(&self, c: TensorClass) -> u64 {
        match c {
            TensorClass::Weights => self.weights,
            TensorClass::Activations => self.activations,
            TensorClass::Saved => self.saved,
            TensorClass::Gradients => self.gradients,
            TensorClass::Optimizer => self.optimizer,
        }
    }
}

/// What a step computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepKind {
    /// One column for one block of micro-batches.
    Square,
    /// The optimizer update of all trainable parameters.
    Optimizer,
}

/// One step of an expanded schedule: what the cycle simulator replays.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Step {
    /// Position in the step list.
    pub index: usize,
    /// Square step or optimizer update.
    pub kind: StepKind,
    /// Trace entry (grid column); `None` for the optimizer step.
    pub column: Option<usize>,
    /// First micro-batch of the block.
    pub first_micro_batch: u64,
    /// Micro-batches of the block (its squares are `(first..first+count, column)`).
    pub micro_batches: u64,
    /// Sequences computed (micro-batches x micro-batch size).
    pub sequences: u64,
    /// True when this backward step first recomputes its forward column.
    pub recomputes: bool,
    /// DRAM -> SRAM bytes.
    pub r_to_sram: ClassBytes,
    /// SRAM -> DRAM bytes.
    pub w_to_dram: ClassBytes,
    /// SSD -> DRAM bytes.
    pub r_to_dram: ClassBytes,
    /// DRAM -> SSD bytes.
    pub w_to_ssd: ClassBytes,
    /// MAC-array cycles.
    pub array_cycles: u64,
    /// Cycles the array waits for DRAM fills within the step's GEMMs (prefetching steps
    /// only, see `mapper::stall`).
    pub stall_cycles: u64,
    /// Cycles the SRAM port is busy (array operands + DRAM fills); compute time is
    /// `max(array + stall, sram_port) + vector`.
    pub sram_port_cycles: u64,
    /// Vector-unit cycles.
    pub vector_cycles: u64,
    /// Native-MAC equivalents executed by integer GEMMs (energy).
    pub native_macs: f64,
    /// MACs executed by fp16 GEMMs (energy).
    pub fp16_macs: f64,
    /// Vector element operations (energy).
    pub vector_ops: f64,
    /// SRAM<->array bytes (energy).
    pub sram_port_bytes: u64,
    /// SRAM footprint of the step's tiles (double-buffered when prefetching).
    pub sram_bytes: u64,
    /// DRAM occupancy during the step: resident weights, saved tensors live at this point
    /// of the traversal, gradients and optimizer state, staging buffers of SSD-resident
    /// classes and the step's own activations.
    pub dram_bytes: u64,
    /// SSD occupancy during the step.
    pub ssd_bytes: u64,
    /// Steps whose results this step consumes (data, saved tensors, gradients).
    pub deps: Vec<usize>,
}

/// The term that bounds a step (or, summed, the iteration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Bound {
    /// MAC array / vector unit / SRAM port.
    Compute,
    /// DRAM -> SRAM transfers.
    DramRead,
    /// SRAM -> DRAM transfers.
    DramWrite,
    /// SSD -> DRAM transfers.
    SsdRead,
    /// DRAM -> SSD transfers.
    SsdWrite,
    /// SSD -> DRAM -> SRAM chained reads (mode chained).
    ChainedRead,
    /// SRAM -> DRAM -> SSD chained writes (mode chained).
    ChainedWrite,
    /// The shared DRAM bus (mode shared-bus).
    DramBus,
    /// SSD reads and writes on one shared SSD link (`ssd.full_duplex = false`).
    SsdLink,
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Bound::Compute => "compute",
            Bound::DramRead => "dram-read",
            Bound::DramWrite => "dram-write",
            Bound::SsdRead => "ssd-read",
            Bound::SsdWrite => "ssd-write",
            Bound::ChainedRead => "chained-read",
            Bound::ChainedWrite => "chained-write",
            Bound::DramBus => "dram-bus",
            Bound::SsdLink => "ssd-link",
        })
    }
}

/// Bytes per memory tier.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct TierBytes {
    /// On-chip SRAM.
    pub sram: f64,
    /// DRAM.
    pub dram: f64,
    /// SSD.
    pub ssd: f64,
}

/// Everything known about one schedule.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Evaluation {
    /// The schedule.
    pub schedule: Schedule,
    /// Step-time mode.
    pub mode: Mode,
    /// True when every tier's peak fits its capacity.
    pub feasible: bool,
    /// Which capacity is exceeded, when infeasible.
    pub infeasible_reason: Option<String>,
    /// Seconds per optimizer step (iteration).
    pub seconds_per_iteration: f64,
    /// Peak bytes held per tier.
    pub peak_bytes: TierBytes,
    /// Total tuning memory: peak of all tensors live in DRAM or SSD (weights, saved
    /// activations, gradients, optimizer state, the activation working set), counting
    /// each tensor once wherever it is placed (staging copies excluded).
    pub memory_bytes: f64,
    /// The memory figures by what they count (device, activations, tuning state, total,
    /// SSD; `memory.total_bytes == memory_bytes`).
    pub memory: super::memory::MemoryMetrics,
    /// The term that accounts for the most time, summed over steps.
    pub bound: Bound,
    /// Seconds attributed to each bounding term (only non-zero terms).
    pub bound_seconds: Vec<(Bound, f64)>,
    /// Energy (J) from per-MAC, per-element and per-byte energies
    /// ([`super::energy`]): `energy_breakdown.total()`.
    pub energy_joules: f64,
    /// Energy by component (J), dynamic and static (static = `static_mw` x
    /// `seconds_per_iteration`).
    pub energy_breakdown: super::energy::EnergyBreakdown,
    /// Bytes written to the SSD per optimizer step (all SSD-resident tensors' write-backs).
    pub ssd_write_bytes: f64,
    /// Bytes read from the SSD per optimizer step.
    pub ssd_read_bytes: f64,
    /// Optimizer steps until the SSD's rated endurance (`ssd.endurance_tbw`) is written
    /// at `ssd_write_bytes` per step; `None` when nothing is written.
    pub ssd_wear_out_steps: Option<f64>,
    /// The search space's lower bound (see [`LowerBound`](super::LowerBound)).
    pub lower_bound_seconds: f64,
    /// `seconds / lower_bound - 1`.
    pub gap: f64,
    /// Steps in the expanded schedule.
    pub steps: usize,
}
