//! Mapper: one grid square's GEMMs and vector ops on the MAC array and the SRAM.
//!
//! For every [`GemmOp`] of a column, scaled to the number of sequences a step computes,
//! the mapper
//! 1. picks SRAM tile sizes and a loop order that minimise DRAM<->SRAM traffic subject to
//!    the SRAM budget ([`tiling`], Timeloop-style loop-nest reuse analysis), and
//! 2. counts array cycles from the array size and the dataflow ([`array`](mod@array), the
//!    SCALE-Sim analytical model of the weight-, output- and input-stationary dataflows),
//!    independently of the SRAM tiling, and
//! 3. counts the cycles the array stalls because the tiles of that tiling cannot arrive
//!    from DRAM while the previous tile computes ([`stall`]); the cost model adds them to
//!    the array cycles of a prefetching step (see `cost::table`).
//!
//! Assumptions (the model's, stated once here):
//! - Every GEMM reads its operands from DRAM and writes its output to DRAM: no tensor stays
//!   in SRAM from one GEMM to the next (a 1 MB SRAM holds far less than one layer's
//!   activations of a 7B model), so each operand crosses the DRAM interface at least once.
//!   The exception is a fused kernel (FlashAttention, Dao et al. 2022), whose GEMMs the
//!   Trace marks: an operand marked on chip (`GemmOp::a_on_chip`, `GemmOp::c_on_chip`)
//!   is a tile produced and consumed in SRAM and moves no DRAM bytes ([`fused`]); its
//!   tiles still count in the SRAM footprint, and the GEMM's stall cycles stay those of
//!   the unfused GEMM (an upper bound: the on-chip operand needs no fill).
//! - Operand widths: A (activations) at `a_bits`; B at `w_bits`, compressed when it is a
//!   pruned weight (values of the kept fraction plus sparse metadata, see
//!   [`weight_bits_per_element`]); the output C at `a_bits`; partial sums at 32 bits.
//! - Vector ops (norms, softmax, activation functions, RoPE, residuals) are fused with the
//!   GEMM that produces their input: they operate on tiles already in SRAM and add vector
//!   cycles but no DRAM traffic.
//! - Results are memoised per (effective shape, precision, sparsity, SRAM budget,
//!   double-buffering): a search evaluates the same squares many times.

pub mod array;
pub mod bound;
pub mod probe;
pub mod stall;
pub mod tiling;

use crate::hw::HwConfig;
use crate::workload::{BOperand, GemmOp, TraceEntry, VectorOp};
use std::collections::HashMap;

pub use tiling::{LoopOrder, Tile};

/// Bits of accumulated partial sums spilled to DRAM when the K loop is split.
pub const PARTIAL_SUM_BITS: f64 = 32.0;

/// A GEMM scaled to the sequences of one step: `out[m x n] = A[m x k] . B[k x n]`,
/// repeated `batch` times.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GemmShape {
    /// Rows of A and C.
    pub m: u64,
    /// Reduction dimension.
    pub k: u64,
    /// Columns of B and C.
    pub n: u64,
    /// Independent repetitions.
    pub batch: u64,
    /// Bits of B.
    pub w_bits: u32,
    /// Bits of A and C.
    pub a_bits: u32,
    /// Zero fraction of B (weights only).
    pub sparsity: f64,
    /// True when B is a stored weight.
    pub b_is_weight: bool,
}

impl GemmShape {
    /// Scales a per-sequence [`GemmOp`] to `sequences` sequences: rows stack for shared
    /// weights, the batch multiplies for per-sequence GEMMs (see the GemmOp doc).
    pub fn of(op: &GemmOp, sequences: u64) -> Self {
        let s = sequences.max(1);
        let (m, batch) = if op.per_sequence {
            (op.m, op.batch * s)
        } else {
            (op.m * s, op.batch)
        };
        GemmShape {
            m,
            k: op.k,
            n: op.n,
            batch,
            w_bits: op.w_bits,
            a_bits: op.a_bits,
            sparsity: if op.b_operand == BOperand::Weight {
                op.sparsity.clamp(0.0, 1.0)
            } else {
                0.0
            },
            b_is_weight: op.b_operand == BOperand::Weight,
        }
    }

    /// Dense multiply-accumulates.
    pub fn macs(&self) -> f64 {
        self.m as f64 * self.k as f64 * self.n as f64 * self.batch as f64
    }

    /// Bytes per element of A (and of the final output C).
    pub fn a_bytes_per_element(&self) -> f64 {
        self.a_bits as f64 / 8.0
    }

    /// Bytes per element of B as stored (compressed for pruned weights).
    pub fn b_bytes_per_element(&self) -> f64 {
        if self.b_is_weight {
            weight_bits_per_element(self.w_bits, self.sparsity) / 8.0
        } else {
            self.w_bits as f64 / 8.0
        }
    }
}

/// Stored bits per weight element: dense `w_bits`, or for a pruned matrix the kept values
/// plus the cheaper of a 1-bit-per-element bitmap and an 8-bit relative index per kept
/// value (the two formats the workload model also considers).
pub fn weight_bits_per_element(w_bits: u32, sparsity: f64) -> f64 {
    let p = sparsity.clamp(0.0, 1.0);
    if p <= 0.0 {
        return w_bits as f64;
    }
    let kept = 1.0 - p;
    (kept * w_bits as f64) + (1.0f64).min(kept * 8.0)
}

/// A dense 8-bit GEMM with a weight B operand, one repetition: the shape the mapper's
/// hand-derived tests use.
#[cfg(test)]
pub(crate) fn dense8(m: u64, k: u64, n: u64) -> GemmShape {
    GemmShape {
        m,
        k,
        n,
        batch: 1,
        w_bits: 8,
        a_bits: 8,
        sparsity: 0.0,
        b_is_weight: true,
    }
}

/// Bytes one operand moves across the DRAM interface.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct GemmTraffic {
    /// A read from DRAM (incl. re-reads).
    pub a_read: f64,
    /// B read from DRAM (incl. re-reads).
    pub b_read: f64,
    /// Partial sums read back when the K loop is outside the output loops.
    pub c_read: f64,
    /// Output (and spilled partial sums) written to DRAM.
    pub c_write: f64,
}

impl GemmTraffic {
    /// Total DRAM bytes.
    pub fn total(&self) -> f64 {
        self.a_read + self.b_read + self.c_read + self.c_write
    }
}

/// One GEMM mapped on the array and the SRAM.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GemmMapping {
    /// The chosen SRAM tile.
    pub tile: Tile,
    /// The chosen loop order (outer to inner).
    pub order: LoopOrder,
    /// False when even the smallest tile overflows the SRAM budget.
    pub fits: bool,
    /// SRAM bytes occupied by the tile (x2 when double-buffered).
    pub sram_bytes: f64,
    /// DRAM<->SRAM traffic over all batch repetitions.
    pub traffic: GemmTraffic,
    /// Bytes of each operand read once (the compulsory traffic).
    pub compulsory: GemmTraffic,
    /// Array cycles over all batch repetitions.
    pub array_cycles: f64,
    /// Cycles the array waits for DRAM fills after the first tile ([`stall`]), over all
    /// repetitions; 0 with infinite DRAM bandwidth.
    pub stall_cycles: f64,
    /// Cycles of the first tile's load, exposed when nothing precedes the GEMM.
    pub prologue_cycles: f64,
    /// Bytes moved between SRAM and the array over all repetitions.
    pub sram_port_bytes: f64,
    /// Native-MAC equivalents executed (MACs x mac_cost x the fraction that fires,
    /// [`crate::hw::Compute::mac_energy_fraction`]), for energy; 0 for an fp16 GEMM.
    pub native_macs: f64,
    /// fp16 MACs executed (MACs x the fraction that fires) of an fp16 GEMM
    /// ([`crate::hw::Compute::is_fp16`]), for energy; 0 otherwise.
    pub fp16_macs: f64,
}

/// The cost of one grid column computed for `sequences` sequences in one step.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ColumnCost {
    /// MAC-array cycles.
    pub array_cycles: f64,
    /// Cycles the array waits for DRAM fills within its GEMMs ([`GemmMapping::stall_cycles`]).
    pub stall_cycles: f64,
    /// Sum of the GEMMs' first-tile loads ([`GemmMapping::prologue_cycles`]), reported but
    /// not charged by the cost model (the DRAM term covers those bytes).
    pub prologue_cycles: f64,
    /// Vector-unit cycles.
    pub vector_cycles: f64,
    /// Cycles the SRAM port needs for the array's operand traffic plus DRAM fills.
    pub sram_port_cycles: f64,
    /// Bytes between SRAM and the array (energy; DRAM fills are counted separately).
    pub sram_port_bytes: f64,
    /// DRAM->SRAM bytes of B operands that are weights.
    pub weight_read: f64,
    /// Stored bytes of weight B operands read once (for scaling to the trace's bytes).
    pub weight_size: f64,
    /// DRAM->SRAM bytes of activations (A, activation B, partial sums).
    pub act_read: f64,
    /// SRAM->DRAM bytes (outputs and spilled partial sums).
    pub act_write: f64,
    /// Activation bytes each operand read once / output written once (compulsory).
    pub act_read_compulsory: f64,
    /// Output bytes written once (compulsory).
    pub act_write_compulsory: f64,
    /// Largest transient DRAM footprint of one GEMM (A + activation B + C).
    pub dram_transient: f64,
    /// Largest SRAM footprint of one GEMM's tiles.
    pub sram_peak: f64,
    /// False when a GEMM does not fit the SRAM budget.
    pub fits: bool,
    /// Native-MAC equivalents (energy).
    pub native_macs: f64,
    /// fp16 MACs (energy).
    pub fp16_macs: f64,
    /// Vector element operations (energy).
    pub vector_ops: f64,
}

/// Key of the memo table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    m: u64,
    k: u64,
    n: u64,
    batch: u64,
    w_bits: u32,
    a_bits: u32,
    sparsity: u64,
    b_is_weight: bool,
    budget: u64,
    double_buffered: bool,
}

/// Maps GEMMs for one hardware configuration, memoising results.
#[derive(Debug, Clone)]
pub struct Mapper {
    hw: HwConfig,
    /// What of `hw` a mapping depends on (the array and the DRAM bandwidth), the key of
    /// the process-wide memo.
    fingerprint: String,
    cache: HashMap<Key, GemmMapping>,
}

/// Process-wide memo of mappings, shared by every [`Mapper`]: a search, a sweep or `repro`
/// builds many cost models of the same hardware and GEMMs, and the stall-aware tiling
/// search costs microseconds per candidate. Results are a pure function of the key, so
/// sharing them changes no figure. Cleared when it exceeds [`GLOBAL_MEMO_LIMIT`] entries.
static GLOBAL_MEMO: std::sync::OnceLock<std::sync::Mutex<HashMap<(String, Key), GemmMapping>>> =
    std::sync::OnceLock::new();

/// Entries of the process-wide memo before it is cleared (~200 B each: ~25 MB).
const GLOBAL_MEMO_LIMIT: usize = 1 << 17;

impl Mapper {
    /// A mapper for `hw`.
    pub fn new(hw: &HwConfig) -> Self {
        Mapper {
            hw: hw.clone(),
            fingerprint: format!("{:?} {:e}", hw.compute, dram_bytes_per_cycle(hw)),
            cache: HashMap::new(),
        }
    }

    /// The hardware this mapper targets.
    pub fn hw(&self) -> &HwConfig {
        &self.hw
    }

    /// Number of distinct GEMMs mapped so far.
    pub fn cached(&self) -> usize {
        self.cache.len()
    }

    /// Maps one scaled GEMM within `sram_budget` bytes; `double_buffered` doubles the
    /// tile footprint (prefetching the next tile while computing the current one).
    pub fn map(&mut self, g: &GemmShape, sram_budget: u64, double_buffered: bool) -> GemmMapping {
        let key = Key {
            m: g.m,
            k: g.k,
            n: g.n,
            batch: g.batch,
            w_bits: g.w_bits,
            a_bits: g.a_bits,
            sparsity: g.sparsity.to_bits(),
            b_is_weight: g.b_is_weight,
            budget: sram_budget,
            double_buffered,
        };
        if let Some(m) = self.cache.get(&key) {
            return *m;
        }
        let memo = GLOBAL_MEMO.get_or_init(Default::default);
        let global = (self.fingerprint.clone(), key);
        let hit = memo.lock().ok().and_then(|m| m.get(&global).copied());
        let mapping = match hit {
            Some(m) => m,
            None => {
                let m = map_uncached(&self.hw, g, sram_budget, double_buffered);
                if let Ok(mut memo) = memo.lock() {
                    if memo.len() >= GLOBAL_MEMO_LIMIT {
                        memo.clear();
                    }
                    memo.insert(global, m);
                }
                m
            }
        };
        self.cache.insert(key, mapping);
        mapping
    }

    /// Vector-unit cycles of `op` for `sequences` sequences: elements x ops / lanes.
    pub fn vector_cycles(&self, op: &VectorOp, sequences: u64) -> f64 {
        op.elements as f64 * sequences as f64 * op.ops_per_element
            / self.hw.compute.vector_lanes.max(1) as f64
    }

    /// The cost of column `entry` computed for `sequences` sequences in one step.
    pub fn column(
        &mut self,
        entry: &TraceEntry,
        sequences: u64,
        sram_budget: u64,
        double_buffered: bool,
    ) -> ColumnCost {
        let mut c = ColumnCost {
            fits: true,
            ..ColumnCost::default()
        };
        let sram_bw = self.hw.sram.bandwidth_bytes_per_cycle.max(1e-9);
        for op in &entry.gemms {
            let g = GemmShape::of(op, sequences);
            let mp = fused(self.map(&g, sram_budget, double_buffered), op);
            c.array_cycles += mp.array_cycles;
            c.stall_cycles += mp.stall_cycles;
            c.prologue_cycles += mp.prologue_cycles;
            c.sram_port_cycles += (mp.sram_port_bytes + mp.traffic.total()) / sram_bw;
            c.sram_port_bytes += mp.sram_port_bytes;
            if g.b_is_weight {
                c.weight_read += mp.traffic.b_read;
                c.weight_size += mp.compulsory.b_read;
                c.act_read_compulsory += mp.compulsory.a_read;
            } else {
                c.act_read += mp.traffic.b_read;
                c.act_read_compulsory += mp.compulsory.a_read + mp.compulsory.b_read;
            }
            c.act_read += mp.traffic.a_read + mp.traffic.c_read;
            c.act_write += mp.traffic.c_write;
            c.act_write_compulsory += mp.compulsory.c_write;
            let transient = mp.compulsory.a_read
                + if g.b_is_weight {
                    0.0
                } else {
                    mp.compulsory.b_read
                }
                + mp.compulsory.c_write;
            c.dram_transient = c.dram_transient.max(transient);
            c.sram_peak = c.sram_peak.max(mp.sram_bytes);
            c.fits &= mp.fits;
            c.native_macs += mp.native_macs;
            c.fp16_macs += mp.fp16_macs;
        }
        for v in &entry.vector_ops {
            c.vector_cycles += self.vector_cycles(v, sequences);
            c.vector_ops += v.elements as f64 * sequences as f64 * v.ops_per_element;
        }
        c
    }
}

/// Maps one GEMM without the memo table.
pub fn map_uncached(
    hw: &HwConfig,
    g: &GemmShape,
    budget: u64,
    double_buffered: bool,
) -> GemmMapping {
    let choice = tiling::best_tile(hw, g, budget, double_buffered);
    let fp16 = hw.compute.is_fp16(g.w_bits, g.a_bits);
    let cost = hw.compute.mac_cost(g.w_bits, g.a_bits);
    let fired = if g.b_is_weight {
        hw.compute.mac_energy_fraction(g.sparsity)
    } else {
        1.0
    };
    let batch = g.batch as f64;
    let st = stall::stalls(
        &hw.compute,
        g,
        choice.tile,
        &choice.order,
        &stall::Fill {
            bytes_per_cycle: dram_bytes_per_cycle(hw),
            double_buffered,
            stream_scale: stream_scale(hw, g),
        },
    );
    GemmMapping {
        tile: choice.tile,
        order: choice.order,
        fits: choice.fits,
        sram_bytes: choice.sram_bytes,
        traffic: scale(choice.traffic, batch),
        compulsory: scale(tiling::compulsory(g), batch),
        array_cycles: array::cycles(&hw.compute, g.m, g.k, g.n, stream_scale(hw, g)) * batch,
        stall_cycles: st.stall_cycles,
        prologue_cycles: st.prologue_cycles,
        sram_port_bytes: array::sram_port_bytes(&hw.compute, g) * batch,
        native_macs: if fp16 { 0.0 } else { g.macs() * cost * fired },
        fp16_macs: if fp16 { g.macs() * fired } else { 0.0 },
    }
}

/// `mac_cost x sparse_fraction`: the factor on the streaming phase of every fold (see
/// [`array`](mod@array)).
pub fn stream_scale(hw: &HwConfig, g: &GemmShape) -> f64 {
    let sf = if g.b_is_weight {
        hw.compute.sparse_fraction(g.sparsity)
    } else {
        1.0
    };
    hw.compute.gemm_mac_cost(g.w_bits, g.a_bits) * sf
}

/// DRAM bytes per accelerator cycle available to one GEMM's fills: the peak bandwidth
/// (see the bandwidth assumption in [`stall`]).
pub fn dram_bytes_per_cycle(hw: &HwConfig) -> f64 {
    hw.dram.peak_bytes_per_s() / hw.clock_hz()
}

/// `mp` with the DRAM traffic of the operands `op` keeps on chip removed (actual and
/// compulsory): no A read when A is produced in SRAM, no output write (nor partial-sum
/// spill) when the output is consumed in SRAM.
pub fn fused(mut mp: GemmMapping, op: &GemmOp) -> GemmMapping {
    for t in [&mut mp.traffic, &mut mp.compulsory] {
        if op.a_on_chip {
            t.a_read = 0.0;
        }
        if op.c_on_chip {
            t.c_read = 0.0;
            t.c_write = 0.0;
        }
    }
    mp
}

fn scale(t: GemmTraffic, f: f64) -> GemmTraffic {
    GemmTraffic {
        a_read: t.a_read * f,
        b_read: t.b_read * f,
        c_read: t.c_read * f,
        c_write: t.c_write * f,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hw::HwConfig;

    #[test]
    fn fp16_gemms_take_their_own_slots_and_energy_by_hand() {
        let hw = HwConfig::paper_default();
        let shape = |bits: u32| GemmShape {
            m: 256,
            k: 128,
            n: 64,
            batch: 1,
            w_bits: bits,
            a_bits: bits,
            sparsity: 0.0,
            b_is_weight: true,
        };
        let (f, i) = (shape(16), shape(8));
        let mf = map_uncached(&hw, &f, hw.sram.capacity_bytes(), false);
        let mi = map_uncached(&hw, &i, hw.sram.capacity_bytes(), false);
        let macs = 256.0 * 128.0 * 64.0;
        // fp16: every MAC at fp16_mac_energy_pj, none on the integer bricks.
        assert_eq!((mf.fp16_macs, mf.native_macs), (macs, 0.0));
        assert_eq!((mi.fp16_macs, mi.native_macs), (0.0, macs));
        // Weight-stationary on 32 x 32: (Sr, Sc, T) = (K, N, M) = (128, 64, 256): 4 x 2
        // folds of 2R + C - 2 = 94 fill cycles + T x stream scale (9.4 fp16, 1 int8).
        assert_eq!(mi.array_cycles, 8.0 * (94.0 + 256.0));
        assert!((mf.array_cycles - 8.0 * (94.0 + 256.0 * 9.4)).abs() < 1e-6);
        assert_eq!(stream_scale(&hw, &f), 9.4);
    }

    fn op(m: u64, k: u64, n: u64, per_sequence: bool) -> GemmOp {
        GemmOp {
            name: "t".into(),
            m,
            k,
            n,
            batch: 2,
            w_bits: 8,
            a_bits: 8,
            sparsity: 0.0,
            b_operand: BOperand::Weight,
            per_sequence,
            a_on_chip: false,
            c_on_chip: false,
        }
    }

    #[test]
    fn micro_batch_scaling_stacks_rows_or_multiplies_batch() {
        let g = GemmShape::of(&op(128, 64, 32, false), 4);
        assert_eq!((g.m, g.batch), (512, 2));
        let g = GemmShape::of(&op(128, 64, 32, true), 4);
        assert_eq!((g.m, g.batch), (128, 8));
    }

    #[test]
    fn sparse_weights_store_values_plus_cheaper_metadata() {
        // 50% of 4-bit values = 2 bits + min(1-bit bitmap, 0.5 x 8-bit index = 4) = 3 bits.
        assert!((weight_bits_per_element(4, 0.5) - 3.0).abs() < 1e-12);
        // 95% sparse: 0.05 x 8 = 0.4 + min(1, 0.4) = 0.8 bits.
        assert!((weight_bits_per_element(8, 0.95) - 0.8).abs() < 1e-12);
        assert_eq!(weight_bits_per_element(8, 0.0), 8.0);
    }

    #[test]
    fn memo_returns_identical_mapping() {
        let hw = HwConfig::paper_default();
        let mut m = Mapper::new(&hw);
        let g = GemmShape::of(&op(1024, 4096, 4096, false), 1);
        let a = m.map(&g, 1 << 20, false);
        let b = m.map(&g, 1 << 20, false);
        assert_eq!(a, b);
        assert_eq!(m.cached(), 1);
    }

    #[test]
    fn traffic_never_below_compulsory_and_shrinks_with_sram() {
        let hw = HwConfig::paper_default();
        let g = GemmShape::of(&op(1280, 4096, 11008, false), 1);
        let small = map_uncached(&hw, &g, 64 << 10, false);
        let big = map_uncached(&hw, &g, 4 << 20, false);
        for mp in [small, big] {
            assert!(mp.fits);
            assert!(mp.traffic.total() >= mp.compulsory.total() * (1.0 - 1e-12));
        }
        assert!(big.traffic.total() <= small.traffic.total());
        // Compute does not depend on the SRAM tiling (SCALE-Sim model).
        assert_eq!(small.array_cycles, big.array_cycles);
    }
}
