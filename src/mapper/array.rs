//! Array cycles of one GEMM `out[M x N] = A[M x K] . B[K x N]`, the SCALE-Sim analytical
//! model (Samajdar et al., ISPASS'20, Sec. III; SCALE-Sim 3.0, `scalesim/compute/
//! systolic_compute_{ws,os,is}.py` and `topology_utils.calc_spatio_temporal_params`).
//!
//! Each dataflow maps the GEMM to spatial rows `Sr`, spatial columns `Sc` and a temporal
//! extent `T` (SCALE-Sim's names; A is its ifmap operand matrix, `M x K`, B its filter
//! matrix, `K x N`):
//!
//! | dataflow | stationary | `Sr` | `Sc` | `T` | cycles per fold |
//! |---|---|---|---|---|---|
//! | weight-stationary | B tile `R x C` | K | N | M | `2R + C + T - 2` |
//! | output-stationary | C tile `R x C` | M | N | K | `R + C + T - 2` |
//! | input-stationary | A tile `R x C` (K x M) | K | M | N | `2R + C + T - 2` |
//!
//! and runs `ceil(Sr/R) x ceil(Sc/C)` folds. Per fold, WS and IS spend `R` cycles
//! preloading the stationary tile (SCALE-Sim's `inter_fold_gap_prefix = arr_row` rows of
//! the streaming operand's demand matrix), `T` cycles streaming, `C - 1` cycles draining
//! (`inter_fold_gap_suffix = arr_col - 1`) and `R - 1` cycles of skew (`skew_matrix` adds
//! `cols - 1` rows): `2R + C + T - 2`. OS has no preload (both operands stream; its demand
//! matrix is `T` rows + `C - 1` suffix, skewed by `R - 1`): `R + C + T - 2`. Edge folds
//! are padded to the full array (SCALE-Sim's null requests), so they cost as much as a
//! full fold: the ceilings are the under-utilisation of edge tiles.
//!
//! Convention: edgesim counts cycles; SCALE-Sim prints the index of the last cycle, one
//! less. Its golden reports `test/general/golden_trace_user_{ws,os,is}/COMPUTE_REPORT.csv`
//! (M = 256, N = 128, K = 256 on 32 x 32) give `Total Cycles - Stall Cycles` = 11199
//! (WS), 10175 (OS), 14207 (IS); the formulas above give 11200, 10176 and 14208.
//!
//! Precision and sparsity shorten only the streaming phase `T`: a bit-flexible PE fuses
//! `1 / mac_cost` narrow MACs per cycle (Bit Fusion) and zero-skipping removes the
//! `sparse_fraction` of weight MACs; preload and fill/drain are paid in full.
//! Compute cycles do not depend on the SRAM tiling (as in SCALE-Sim, where the SRAM size
//! only changes the DRAM bandwidth demand; its stalls are [`super::stall`]).

use super::GemmShape;
use crate::hw::{Compute, Dataflow};

/// A GEMM as the array sees it under one dataflow: `sr` spatial rows, `sc` spatial columns,
/// `t` temporal steps (SCALE-Sim's `S_r`, `S_c`, `T`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spatial {
    /// Extent mapped onto the array rows.
    pub sr: u64,
    /// Extent mapped onto the array columns.
    pub sc: u64,
    /// Temporal extent streamed per fold.
    pub t: u64,
}

/// The `(Sr, Sc, T)` of an `m x k x n` GEMM under `df` (table in the module doc; source
/// SCALE-Sim 3.0 `topology_utils.calc_spatio_temporal_params`, GEMM mode: ofmap pixels
/// = M, window = K, filters = N).
pub fn spatial(df: Dataflow, m: u64, k: u64, n: u64) -> Spatial {
    match df {
        Dataflow::WeightStationary => Spatial { sr: k, sc: n, t: m },
        Dataflow::OutputStationary => Spatial { sr: m, sc: n, t: k },
        Dataflow::InputStationary => Spatial { sr: k, sc: m, t: n },
    }
}

/// Cycles of one fold streaming `t` steps (may be fractional after precision/sparsity
/// scaling) on an `r x c` array: `2r + c + t - 2` for WS and IS (stationary-tile preload
/// of `r` cycles), `r + c + t - 2` for OS (no preload). Source: module doc.
pub fn fold_cycles(df: Dataflow, r: u64, c: u64, t: f64) -> f64 {
    let preload = match df {
        Dataflow::OutputStationary => 0,
        Dataflow::WeightStationary | Dataflow::InputStationary => r,
    };
    (preload + r + c - 2) as f64 + t
}

/// Folds `(row folds, column folds)` = `(ceil(Sr/R), ceil(Sc/C))`.
pub fn folds(c: &Compute, m: u64, k: u64, n: u64) -> (u64, u64) {
    let s = spatial(c.dataflow, m, k, n);
    (
        s.sr.div_ceil(c.pe_rows as u64),
        s.sc.div_ceil(c.pe_cols as u64),
    )
}

/// Cycles of one `m x k x n` GEMM instance; `stream_scale = mac_cost x sparse_fraction`
/// multiplies the streaming phase `T`. Zero for an empty GEMM.
pub fn cycles(c: &Compute, m: u64, k: u64, n: u64, stream_scale: f64) -> f64 {
    if m == 0 || k == 0 || n == 0 {
        return 0.0;
    }
    let s = spatial(c.dataflow, m, k, n);
    let (rf, cf) = folds(c, m, k, n);
    let per_fold = fold_cycles(
        c.dataflow,
        c.pe_rows as u64,
        c.pe_cols as u64,
        s.t as f64 * stream_scale,
    );
    (rf * cf) as f64 * per_fold
}

/// SCALE-Sim's mapping efficiency: the mean over folds of the used fraction of the PEs,
/// `Sr Sc / (ceil(Sr/R) R ceil(Sc/C) C)` (the per-fold mean factorises over the row and
/// column folds). 1 when both extents divide the array; 0 for an empty GEMM.
pub fn mapping_efficiency(c: &Compute, m: u64, k: u64, n: u64) -> f64 {
    if m == 0 || k == 0 || n == 0 {
        return 0.0;
    }
    let s = spatial(c.dataflow, m, k, n);
    let (rf, cf) = folds(c, m, k, n);
    (s.sr as f64 * s.sc as f64) / ((rf * c.pe_rows as u64) as f64 * (cf * c.pe_cols as u64) as f64)
}

/// Bytes moved between SRAM and the array for one GEMM instance, `(operand reads,
/// output writes)`.
/// - Weight-stationary: each weight once (preloaded), A once per column fold (every fold
///   streams all M rows of its K slice), each output once (partial sums over K folds stay
///   in the array's accumulator buffer, TPU-style).
/// - Output-stationary: A once per column fold, B once per row fold, outputs once.
/// - Input-stationary: the mirror of WS with A and B exchanged: each input element is
///   preloaded once (the A tiles of the folds partition A), B once per column fold (each
///   of the `ceil(M/C)` column folds streams all N columns of its K slice), outputs once
///   (partial sums over the K folds accumulate as in WS).
pub fn sram_port_traffic(c: &Compute, g: &GemmShape) -> (f64, f64) {
    let (m, k, n) = (g.m as f64, g.k as f64, g.n as f64);
    let a = m * k * g.a_bytes_per_element();
    let b = k * n * g.b_bytes_per_element();
    let out = m * n * g.a_bytes_per_element();
    let (row_folds, col_folds) = folds(c, g.m, g.k, g.n);
    let (row_folds, col_folds) = (row_folds as f64, col_folds as f64);
    let reads = match c.dataflow {
        Dataflow::WeightStationary => b + a * col_folds,
        Dataflow::OutputStationary => a * col_folds + b * row_folds,
        Dataflow::InputStationary => a + b * col_folds,
    };
    (reads, out)
}

/// Total bytes between SRAM and the array for one GEMM instance (both directions of
/// [`sram_port_traffic`]).
pub fn sram_port_bytes(c: &Compute, g: &GemmShape) -> f64 {
    let (r, w) = sram_port_traffic(c, g);
    r + w
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hw::HwConfig;

    fn array(df: Dataflow, r: u32, c: u32) -> Compute {
        let mut comp = HwConfig::paper_default().compute;
        comp.dataflow = df;
        comp.pe_rows = r;
        comp.pe_cols = c;
        comp
    }

    const ALL: [Dataflow; 3] = [
        Dataflow::WeightStationary,
        Dataflow::OutputStationary,
        Dataflow::InputStationary,
    ];

    #[test]
    fn weight_stationary_by_hand() {
        let c = array(Dataflow::WeightStationary, 32, 32);
        // 64 x 64 x 64: folds = 2 x 2 = 4, each 2*32 + 32 + 64 - 2 = 158 cycles.
        assert_eq!(cycles(&c, 64, 64, 64, 1.0), 4.0 * 158.0);
        // Edge tiles: K = 33 needs 2 row folds although the second uses one row.
        assert_eq!(cycles(&c, 64, 33, 32, 1.0), 2.0 * 158.0);
        // Half-cost MACs halve only the streaming phase: 4 x (94 + 32).
        assert_eq!(cycles(&c, 64, 64, 64, 0.5), 4.0 * 126.0);
        // M = 5, K = 7, N = 3 on 4 x 2: Sr = 7 -> 2 row folds, Sc = 3 -> 2 column folds,
        // each 2*4 + 2 + 5 - 2 = 13.
        assert_eq!(
            cycles(&array(Dataflow::WeightStationary, 4, 2), 5, 7, 3, 1.0),
            52.0
        );
    }

    #[test]
    fn output_stationary_by_hand() {
        let c = array(Dataflow::OutputStationary, 32, 32);
        // 64 x 128 x 32 (m x k x n): folds = ceil(64/32) x ceil(32/32) = 2, each
        // 32 + 32 + 128 - 2 = 190 (no stationary-tile preload).
        assert_eq!(cycles(&c, 64, 128, 32, 1.0), 2.0 * 190.0);
        // M = 5, K = 7, N = 3 on 4 x 2: Sr = M = 5 -> 2, Sc = N = 3 -> 2, each 4 + 2 + 7 - 2.
        assert_eq!(
            cycles(&array(Dataflow::OutputStationary, 4, 2), 5, 7, 3, 1.0),
            44.0
        );
    }

    #[test]
    fn input_stationary_by_hand() {
        let c = array(Dataflow::InputStationary, 32, 32);
        // 64 x 128 x 32: Sr = K = 128 -> 4 folds, Sc = M = 64 -> 2, T = N = 32:
        // 8 x (64 + 32 + 32 - 2) = 8 x 126.
        assert_eq!(cycles(&c, 64, 128, 32, 1.0), 8.0 * 126.0);
        // M = 5, K = 7, N = 3 on 4 x 2: Sr = 7 -> 2, Sc = 5 -> 3, each 8 + 2 + 3 - 2 = 11.
        assert_eq!(
            cycles(&array(Dataflow::InputStationary, 4, 2), 5, 7, 3, 1.0),
            66.0
        );
    }

    #[test]
    fn scale_sim_golden_reports_plus_one() {
        // SCALE-Sim 3.0 test/general/golden_trace_user_{ws,os,is}/COMPUTE_REPORT.csv,
        // topologies/GEMM_mnk/test_mnk_input.csv (M 256, N 128, K 256), 32 x 32 array:
        // Total Cycles - Stall Cycles = 52447 - 41248, 52447 - 42272, 19984 - 5777.
        let golden = [
            (Dataflow::WeightStationary, 52447 - 41248),
            (Dataflow::OutputStationary, 52447 - 42272),
            (Dataflow::InputStationary, 19984 - 5777),
        ];
        for (df, printed) in golden {
            let c = array(df, 32, 32);
            assert_eq!(
                cycles(&c, 256, 256, 128, 1.0),
                (printed + 1) as f64,
                "{df:?}"
            );
        }
    }

    /// Cycle-by-cycle timing of SCALE-Sim's folds, written from the array's event times
    /// rather than from the closed form: in each fold (padded to the full `R x C` array)
    /// PE `(r, c)` performs step `t` at `start + preload + t + r + c` (operands enter
    /// skewed by row and column), WS and IS first spend `R` cycles shifting the
    /// stationary tile in, and the next fold starts after the last event. Returns the
    /// number of cycles (last index + 1).
    fn naive(df: Dataflow, r: u64, c: u64, m: u64, k: u64, n: u64) -> u64 {
        let (sr, sc, t) = match df {
            Dataflow::WeightStationary => (k, n, m),
            Dataflow::OutputStationary => (m, n, k),
            Dataflow::InputStationary => (k, m, n),
        };
        let preload = if df == Dataflow::OutputStationary {
            0
        } else {
            r
        };
        let mut start = 0u64;
        let mut row0 = 0;
        while row0 < sr {
            let mut col0 = 0;
            while col0 < sc {
                let mut last = start;
                for step in 0..t {
                    for pr in 0..r {
                        for pc in 0..c {
                            last = last.max(start + preload + step + pr + pc);
                        }
                    }
                }
                start = last + 1;
                col0 += c;
            }
            row0 += r;
        }
        start
    }

    #[test]
    fn closed_form_equals_naive_fold_timing_on_random_shapes() {
        // Deterministic LCG (Knuth's MMIX constants) for shapes and arrays, incl. dims
        // smaller than, equal to and not divisible by the array.
        let mut s: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |lo: u64, hi: u64| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            lo + (s >> 33) % (hi - lo + 1)
        };
        for _ in 0..300 {
            let (r, c) = (next(1, 9), next(1, 9));
            let (m, k, n) = (next(1, 40), next(1, 40), next(1, 40));
            for df in ALL {
                let comp = array(df, r as u32, c as u32);
                assert_eq!(
                    cycles(&comp, m, k, n, 1.0),
                    naive(df, r, c, m, k, n) as f64,
                    "{df:?} {r}x{c} m={m} k={k} n={n}"
                );
            }
        }
    }

    #[test]
    fn mapping_efficiency_is_mean_used_fraction_over_folds() {
        // WS 5 x 7 x 3 on 4 x 2: row folds use 4 and 3 rows, column folds 2 and 1 columns:
        // mean over the 4 folds of used/(8) = (8 + 4 + 6 + 3) / 4 / 8 = 21/32.
        let c = array(Dataflow::WeightStationary, 4, 2);
        assert!((mapping_efficiency(&c, 5, 7, 3) - 21.0 / 32.0).abs() < 1e-12);
        let c = array(Dataflow::OutputStationary, 32, 32);
        assert_eq!(mapping_efficiency(&c, 64, 5, 32), 1.0);
    }

    #[test]
    fn input_stationary_port_bytes_mirror_weight_stationary() {
        let g = GemmShape {
            m: 64,
            k: 128,
            n: 96,
            batch: 1,
            w_bits: 8,
            a_bits: 8,
            sparsity: 0.0,
            b_is_weight: true,
        };
        // IS on 32 x 32: A (64 x 128) once, B (128 x 96) once per ceil(64/32) = 2 column
        // folds, output 64 x 96 once.
        let is = array(Dataflow::InputStationary, 32, 32);
        assert_eq!(sram_port_bytes(&is, &g), 8192.0 + 2.0 * 12288.0 + 6144.0);
        // WS: B once, A once per ceil(96/32) = 3 column folds.
        let ws = array(Dataflow::WeightStationary, 32, 32);
        assert_eq!(sram_port_bytes(&ws, &g), 12288.0 + 3.0 * 8192.0 + 6144.0);
    }
}
