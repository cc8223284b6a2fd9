//! Hardware model: an edge accelerator as a MAC array plus three bandwidth- and
//! capacity-constrained memory tiers (SRAM, DRAM, SSD), read from `hw_configs/*.toml`.
//!
//! Units are in the key names (`_kib`, `_gib`, `_gbps` = GB/s decimal, `_ns`, `_ghz`,
//! `_pj`). Every derived quantity below states its formula; every default in the shipped
//! TOML files states its source or assumption.

mod dram_controller;
mod dram_timing;
mod load;
pub mod plausible;

pub use dram_controller::DramController;
pub use dram_timing::DramTiming;
pub use load::{DEFAULT_HW_TOML, DEFAULT_SSD_ENDURANCE_TBW, apply_override};

/// How a MAC's cost depends on operand bit-widths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PrecisionScaling {
    /// Bit Fusion-style 2-bit bricks: a `b_w x b_a` MAC costs
    /// `ceil(b_w/2) * ceil(b_a/2) / (native_bits/2)^2` native MACs (never more than
    /// one native MAC per operand pair narrower than native; wider operands cost more).
    BitFlexible,
    /// Every MAC at or below `native_bits` costs one native MAC; wider operands are
    /// decomposed into `ceil(b/native)` passes per operand.
    Fixed,
}

/// Whether the array skips zero weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SparsitySupport {
    /// Zero weights are skipped with efficiency `sparse_efficiency`.
    SkipZeros,
    /// Zeros are computed like any other value.
    Dense,
}

/// Which operand stays in the PEs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Dataflow {
    /// Weights are preloaded into the array; inputs stream through (TPU-style).
    WeightStationary,
    /// Each PE accumulates one output; both operands stream.
    OutputStationary,
    /// Inputs (activations, the A operand) are preloaded into the array; weights stream
    /// (SCALE-Sim's `is`).
    InputStationary,
}

/// DRAM technology, selecting the timing model of the cycle-level simulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DramKind {
    /// LPDDR4 / LPDDR4X (JESD209-4).
    Lpddr4,
    /// An ideal memory: peak bandwidth at all times, no timing effects.
    Ideal,
}

/// The MAC array and vector unit.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Compute {
    /// Rows of the PE array.
    pub pe_rows: u32,
    /// Columns of the PE array.
    pub pe_cols: u32,
    /// Operand width (bits) of one native MAC.
    pub native_bits: u32,
    /// Cost of narrower/wider MACs.
    pub precision_scaling: PrecisionScaling,
    /// Zero skipping.
    pub sparsity: SparsitySupport,
    /// Fraction of the ideal zero-skipping speed-up achieved (load imbalance), in (0, 1].
    pub sparse_efficiency: f64,
    /// Elements per cycle of the vector unit (softmax, norms, activations, optimizer).
    pub vector_lanes: u32,
    /// Array dataflow.
    pub dataflow: Dataflow,
    /// Energy of one native MAC (pJ).
    pub mac_energy_pj: f64,
    /// Energy of one vector-unit element operation (pJ).
    pub vector_energy_pj: f64,
    /// Energy of one fp16 multiply-accumulate (pJ), charged instead of the integer rule
    /// for GEMMs whose operands are both 16-bit (see [`Compute::is_fp16`]).
    pub fp16_mac_energy_pj: f64,
    /// Array time of one fp16 MAC in native-MAC slots (see [`Compute::gemm_mac_cost`]).
    pub fp16_mac_cost: f64,
    /// Static (leakage and clock) power of the MAC array and vector unit (mW), charged
    /// for the whole step time.
    pub static_mw: f64,
}

impl Compute {
    /// Number of PEs.
    pub fn pes(&self) -> u64 {
        self.pe_rows as u64 * self.pe_cols as u64
    }

    /// Cost of one `w_bits x a_bits` MAC in native-MAC units (see [`PrecisionScaling`]).
    pub fn mac_cost(&self, w_bits: u32, a_bits: u32) -> f64 {
        let nb = self.native_bits.max(1);
        match self.precision_scaling {
            PrecisionScaling::BitFlexible => {
                let brick = |b: u32| b.max(1).div_ceil(2) as f64;
                let native = (nb as f64 / 2.0).max(1.0);
                brick(w_bits) * brick(a_bits) / (native * native)
            }
            PrecisionScaling::Fixed => {
                (w_bits.max(1).div_ceil(nb) * a_bits.max(1).div_ceil(nb)) as f64
            }
        }
    }

    /// True when a `w_bits x a_bits` GEMM runs in fp16: both operands 16-bit. Every
    /// 16-bit tensor of a Trace is an fp16 value (`workload::build`: activations in
    /// flight, LoRA adapters, LM and exit heads, side networks); a GEMM with a narrower
    /// (quantised integer) operand runs on the integer bricks.
    pub fn is_fp16(&self, w_bits: u32, a_bits: u32) -> bool {
        w_bits == 16 && a_bits == 16
    }

    /// Array time of one MAC of a `w_bits x a_bits` GEMM in native-MAC slots:
    /// `fp16_mac_cost` for fp16 GEMMs ([`Compute::is_fp16`]), else [`Compute::mac_cost`].
    pub fn gemm_mac_cost(&self, w_bits: u32, a_bits: u32) -> f64 {
        if self.is_fp16(w_bits, a_bits) {
            self.fp16_mac_cost
        } else {
            self.mac_cost(w_bits, a_bits)
        }
    }

    /// Fraction of MACs that remain after zero skipping of weights with `sparsity`.
    /// With `skip-zeros`: `1 - sparsity * sparse_efficiency`; with `dense`: 1.
    pub fn sparse_fraction(&self, sparsity: f64) -> f64 {
        match self.sparsity {
            SparsitySupport::SkipZeros => 1.0 - sparsity.clamp(0.0, 1.0) * self.sparse_efficiency,
            SparsitySupport::Dense => 1.0,
        }
    }

    /// Fraction of the dense MACs of a weight GEMM that fire, and so cost energy, at weight
    /// `sparsity`: `1 - sparsity` with zero skipping (imperfect skipping efficiency costs
    /// idle cycles, see [`Compute::sparse_fraction`], not extra MACs), 1 on a dense array.
    pub fn mac_energy_fraction(&self, sparsity: f64) -> f64 {
        match self.sparsity {
            SparsitySupport::SkipZeros => 1.0 - sparsity.clamp(0.0, 1.0),
            SparsitySupport::Dense => 1.0,
        }
    }
}

/// On-chip SRAM (global buffer).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Sram {
    /// Capacity (KiB).
    pub capacity_kib: f64,
    /// Read+write port bandwidth (bytes per accelerator cycle).
    pub bandwidth_bytes_per_cycle: f64,
    /// Access energy (pJ/byte).
    pub energy_pj_per_byte: f64,
    /// Static (leakage) power (mW).
    pub static_mw: f64,
}

impl Sram {
    /// Capacity in bytes.
    pub fn capacity_bytes(&self) -> u64 {
        (self.capacity_kib * 1024.0) as u64
    }
}

/// Off-chip DRAM.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Dram {
    /// Technology.
    pub kind: DramKind,
    /// Capacity (GiB).
    pub capacity_gib: f64,
    /// Transfer rate (MT/s).
    pub data_rate_mtps: f64,
    /// Total data bus width over all channels (bits).
    pub bus_width_bits: u32,
    /// Independent channels sharing `bus_width_bits`.
    pub channels: u32,
    /// Access energy incl. I/O (pJ/byte).
    pub energy_pj_per_byte: f64,
    /// Static power: background (standby) and refresh (mW).
    pub static_mw: f64,
    /// Device timing for the cycle-level model.
    pub timing: DramTiming,
    /// Controller and rank organisation for the cycle-level model (`[dram.controller]`).
    pub controller: DramController,
}

impl Dram {
    /// Capacity in bytes.
    pub fn capacity_bytes(&self) -> u64 {
        (self.capacity_gib * (1u64 << 30) as f64) as u64
    }

    /// Peak bandwidth (bytes/s) = data_rate x bus width / 8; LPDDR4-3200 x 64 bit = 25.6 GB/s.
    pub fn peak_bytes_per_s(&self) -> f64 {
        self.data_rate_mtps * 1e6 * self.bus_width_bits as f64 / 8.0
    }
}

/// Flash storage, the third tier.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Ssd {
    /// Capacity (GiB).
    pub capacity_gib: f64,
    /// Sequential read bandwidth (GB/s, decimal).
    pub read_gbps: f64,
    /// Sequential write bandwidth (GB/s, decimal).
    pub write_gbps: f64,
    /// Access latency (us), paid once per transfer.
    pub latency_us: f64,
    /// Read energy (pJ/byte), the whole drive (NAND, controller, its DRAM, link).
    pub energy_pj_per_byte: f64,
    /// Write (program) energy (pJ/byte); `energy_pj_per_byte` when not given.
    pub write_energy_pj_per_byte: f64,
    /// Idle power of the drive (mW), charged for the whole step time.
    pub static_mw: f64,
    /// Rated endurance: terabytes (10^12 B) the drive may be written before wear-out.
    pub endurance_tbw: f64,
    /// True when reads and writes move at the same time at their full rates (separate
    /// links); false (default): one link shared in time, a step's SSD reads and writes
    /// add up (`bytes_read / read rate + bytes_written / write rate`).
    pub full_duplex: bool,
}

impl Ssd {
    /// Capacity in bytes.
    pub fn capacity_bytes(&self) -> u64 {
        (self.capacity_gib * (1u64 << 30) as f64) as u64
    }
    /// Read bandwidth (bytes/s).
    pub fn read_bytes_per_s(&self) -> f64 {
        self.read_gbps * 1e9
    }
    /// Write bandwidth (bytes/s).
    pub fn write_bytes_per_s(&self) -> f64 {
        self.write_gbps * 1e9
    }

    /// Tuning steps until the rated endurance is written, at `bytes_per_step` bytes
    /// written per step: `endurance_tbw x 10^12 / bytes_per_step`; `None` when a step
    /// writes nothing (no wear from tuning).
    pub fn steps_to_wear_out(&self, bytes_per_step: f64) -> Option<f64> {
        (bytes_per_step > 0.0).then(|| self.endurance_tbw * 1e12 / bytes_per_step)
    }
}

/// A complete hardware description.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HwConfig {
    /// Short name (`name` key).
    pub name: String,
    /// Accelerator clock (GHz).
    pub clock_ghz: f64,
    /// MAC array and vector unit.
    pub compute: Compute,
    /// On-chip buffer.
    pub sram: Sram,
    /// Main memory.
    pub dram: Dram,
    /// Storage.
    pub ssd: Ssd,
}

impl HwConfig {
    /// Accelerator cycles per second.
    pub fn clock_hz(&self) -> f64 {
        self.clock_ghz * 1e9
    }

    /// Peak native MACs per second.
    pub fn peak_macs_per_s(&self) -> f64 {
        self.compute.pes() as f64 * self.clock_hz()
    }

    /// SRAM bandwidth (bytes/s).
    pub fn sram_bytes_per_s(&self) -> f64 {
        self.sram.bandwidth_bytes_per_cycle * self.clock_hz()
    }

    /// Static power of the whole device (mW): array + SRAM + DRAM + SSD `static_mw`.
    pub fn static_mw(&self) -> f64 {
        self.compute.static_mw + self.sram.static_mw + self.dram.static_mw + self.ssd.static_mw
    }
}
