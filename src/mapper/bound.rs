//! A lower bound on the DRAM traffic of one GEMM under an SRAM of `S` bytes, whatever
//! tiling, loop order or schedule maps it: the red-blue pebble game of Hong and Kung
//! ("I/O complexity: the red-blue pebble game", STOC 1981) with the segment argument and
//! tight leading constant of Smith, Lowery, Langou and van de Geijn ("A Tight I/O Lower
//! Bound for Matrix Multiplication", arXiv:1702.02017, 2019), adapted to bytes and to
//! operands of different widths.
//!
//! Smith et al. show that computing `C := A B + C` (`m x k` by `k x n`, every element one
//! word) with a fast memory of `M` words takes at least `2mnk / sqrt(M)` word transfers to
//! leading order, and that an algorithm attains that term. Their lower-order terms depend
//! on their counting (reads of `C` included); the statement used here is therefore derived
//! below, by their steps, for the mapper's model, so that every term is exact for it.
//!
//! Model (the mapper's, see `super::tiling`): all `M K N` multiply-accumulates
//! `C[i,j] += A[i,k] B[k,j]` are executed once (no recomputation), each with `A[i,k]`,
//! `B[k,j]` and the accumulator of `C[i,j]` in SRAM. An element of A occupies `alpha` =
//! `a_bits / 8` bytes, an element of B `beta` (its stored width, compressed for a pruned
//! weight: [`GemmShape::b_bytes_per_element`]), an accumulator `gamma` = 4 bytes (32-bit
//! partial sums, [`PARTIAL_SUM_BITS`]); everything resident at any instant fits in `S`
//! bytes. Reads move A, B and spilled partial sums (4 bytes) from DRAM; an accumulator is
//! created in SRAM (zero) without a read when its element is first touched.
//!
//! Derivation. Count a virtual read of `gamma` bytes at each accumulator's creation, so
//! that every operand used is either resident or read; there are exactly `M N` of them.
//! Cut the execution into segments, each closed by the read that brings its read bytes
//! (real and virtual) to at least `T`; so every segment but the last reads at least `T`
//! bytes and each reads less than `T + e`, `e = max(alpha, beta, gamma)`. In one segment
//! let `A_s`, `B_s`, `C_s` be the elements of A, B and C its multiply-accumulates touch.
//! Each is resident at the segment's start (at most `S` bytes in all) or read in it, so
//! `alpha |A_s| + beta |B_s| + gamma |C_s| < S + T + e`. By the Loomis-Whitney inequality
//! the segment executes at most `sqrt(|A_s| |B_s| |C_s|)` multiply-accumulates, and by the
//! inequality of arithmetic and geometric means (on the three byte counts) at most
//! `F(T) = ((S + T + e) / 3)^(3/2) / sqrt(alpha beta gamma)`. So there are at least
//! `h >= M N K / F(T)` segments and at least `(h - 1) T` read bytes:
//!
//! `reads + gamma M N >= T (M N K / F(T) - 1)` for every `T > 0`.
//!
//! At `T = 2S` (the maximiser of the leading term, as in Smith et al.) this is
//! `2 M N K sqrt(alpha beta gamma) / sqrt(S) - 2S` up to the `e` terms: with one-byte
//! elements throughout it is Smith et al.'s `2mnk / sqrt(S)`. Mixed widths enter through
//! `sqrt(alpha beta gamma)`, i.e. the uniform bound in units of the geometric-mean element
//! size `(alpha beta gamma)^(1/3)`; no element is assumed smaller than it is, so the bound
//! stays valid (a narrower operand only packs more elements into `S`, which `F` charges).
//! [`gemm_io_bound`] takes the best `T` on a fine geometric grid (any `T` is valid).
//!
//! Writes: every output element is written at least once at `a_bits` (the compulsory
//! writes); spilled partial sums are written and read back, so their reads are already in
//! the read bound and their writes only add. The bound therefore puts its excess over
//! compulsory traffic on the reads alone, which keeps it valid for each link of the cost
//! model's modes (reads and writes on separate links, or one bus).
//!
//! SRAM size: the mapper doubles the tile footprint with double buffering (the next tiles
//! load while the current ones compute), so a double-buffered tiling uses at most `S / 2`
//! per buffer; the bound is evaluated at the whole `S`, valid (and conservative) for both.
//!
//! Large SRAM: when `S` holds the whole GEMM (`alpha M K + beta K N + gamma M N <= S`),
//! `F(T) >= M N K` for every `T` (arithmetic and geometric means again), the SRAM term is
//! negative and the bound is exactly the compulsory traffic.

use super::{GemmShape, PARTIAL_SUM_BITS};

/// The DRAM-traffic lower bound of one GEMM over all its batch repetitions (bytes).
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct GemmIoBound {
    /// A and B each read once.
    pub compulsory_read: f64,
    /// The output written once at `a_bits`.
    pub compulsory_write: f64,
    /// The SRAM-limited read bound of the module doc (may be below the compulsory reads,
    /// or negative, for small GEMMs or a large SRAM).
    pub sram_read: f64,
}

impl GemmIoBound {
    /// Lower bound on read bytes: the larger of the compulsory and the SRAM-limited reads.
    pub fn read(&self) -> f64 {
        self.compulsory_read.max(self.sram_read)
    }

    /// Lower bound on write bytes (the compulsory writes).
    pub fn write(&self) -> f64 {
        self.compulsory_write
    }

    /// Lower bound on all DRAM bytes, reads and writes.
    pub fn total(&self) -> f64 {
        self.read() + self.write()
    }

    /// Read bytes the SRAM limit adds to the compulsory traffic (>= 0).
    pub fn excess_read(&self) -> f64 {
        self.read() - self.compulsory_read
    }
}

/// Grid of segment read sizes: `T = S' x 2^(j / 16)` for `j` in this range, `S' = S + e`
/// (covers 1/16 S' .. 64 S'; the leading-order optimum is `2 S`).
const T_GRID: std::ops::RangeInclusive<i32> = -64..=96;

/// The SRAM-limited read bound of one GEMM instance `m x k x n` (bytes), before the
/// virtual accumulator reads are taken off: `max_T T (m n k / F(T) - 1)` (module doc).
fn segment_bound(mnk: f64, widths: [f64; 3], sram_bytes: f64) -> f64 {
    let [alpha, beta, gamma] = widths;
    let e = alpha.max(beta).max(gamma);
    let s1 = sram_bytes.max(0.0) + e;
    let root = (alpha * beta * gamma).sqrt();
    if root <= 0.0 || mnk <= 0.0 {
        return 0.0;
    }
    T_GRID
        .map(|j| {
            let t = s1 * 2f64.powf(j as f64 / 16.0);
            let f = ((s1 + t) / 3.0).powf(1.5) / root;
            t * (mnk / f - 1.0)
        })
        .fold(f64::NEG_INFINITY, f64::max)
}

/// The DRAM-traffic lower bound of GEMM `g` (all `g.batch` repetitions, each an
/// independent GEMM) when at most `sram_bytes` bytes are resident at any time. Element
/// widths as the mapper stores them: A and C at `a_bits`, B at its stored width,
/// accumulators at [`PARTIAL_SUM_BITS`]. Valid for every tiling and loop order (see the
/// module doc for the derivation and its assumptions).
pub fn gemm_io_bound(g: &GemmShape, sram_bytes: f64) -> GemmIoBound {
    let (m, k, n) = (g.m as f64, g.k as f64, g.n as f64);
    let alpha = g.a_bytes_per_element();
    let beta = g.b_bytes_per_element();
    let gamma = PARTIAL_SUM_BITS / 8.0;
    let batch = g.batch as f64;
    let sram = segment_bound(m * n * k, [alpha, beta, gamma], sram_bytes) - gamma * m * n;
    GemmIoBound {
        compulsory_read: batch * (m * k * alpha + k * n * beta),
        compulsory_write: batch * m * n * alpha,
        sram_read: batch * sram,
    }
}

#[cfg(test)]
mod tests;
