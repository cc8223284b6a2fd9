//! Array cycles of one GEMM, the SCALE-Sim analytical model (Samajdar et al., ISPASS'20,
//! Sec. III): an `R x C` systolic array processes the GEMM in folds; each fold costs
//! `2R + C + T - 2` cycles, where for weight-stationary `R` cycles preload a `R x C` weight
//! tile, `R + C - 2` cycles fill and drain the pipeline and `T = M` input rows stream
//! through, and for output-stationary `T = K` reduction steps stream while `R x C` outputs
//! accumulate in place. Folds are `ceil(K/R) ceil(N/C)` (WS) or `ceil(M/R) ceil(N/C)` (OS):
//! the ceilings are the under-utilisation of edge tiles.
//!
//! Precision and sparsity shorten only the streaming phase `T`: a bit-flexible PE fuses
//! `1 / mac_cost` narrow MACs per cycle (Bit Fusion) and zero-skipping removes the
//! `sparse_fraction` of weight MACs; preload and fill/drain are paid in full.
//! Compute cycles do not depend on the SRAM tiling (as in SCALE-Sim, where the SRAM size
//! only changes the DRAM bandwidth demand).

use super::GemmShape;
use crate::hw::{Compute, Dataflow};

/// Cycles of one `m x k x n` GEMM instance; `stream_scale = mac_cost x sparse_fraction`.
pub fn cycles(c: &Compute, m: u64, k: u64, n: u64, stream_scale: f64) -> f64 {
    if m == 0 || k == 0 || n == 0 {
        return 0.0;
    }
    let r = c.pe_rows as u64;
    let cols = c.pe_cols as u64;
    let fill = (2 * r + cols - 2) as f64;
    match c.dataflow {
        Dataflow::WeightStationary => {
            let folds = (k.div_ceil(r) * n.div_ceil(cols)) as f64;
            folds * (fill + m as f64 * stream_scale)
        }
        Dataflow::OutputStationary => {
            let folds = (m.div_ceil(r) * n.div_ceil(cols)) as f64;
            folds * (fill + k as f64 * stream_scale)
        }
    }
}

/// Bytes moved between SRAM and the array for one GEMM instance. Weight-stationary: each
/// weight once, each input row once per column fold, each output once (partial sums over
/// K folds stay in the array's accumulator buffer, TPU-style). Output-stationary: A once
/// per column fold, B once per row fold, outputs once.
pub fn sram_port_bytes(c: &Compute, g: &GemmShape) -> f64 {
    let (m, k, n) = (g.m as f64, g.k as f64, g.n as f64);
    let a = m * k * g.a_bytes_per_element();
    let b = k * n * g.b_bytes_per_element();
    let out = m * n * g.a_bytes_per_element();
    let col_folds = g.n.div_ceil(c.pe_cols as u64) as f64;
    match c.dataflow {
        Dataflow::WeightStationary => b + a * col_folds + out,
        Dataflow::OutputStationary => {
            let row_folds = g.m.div_ceil(c.pe_rows as u64) as f64;
            a * col_folds + b * row_folds + out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hw::HwConfig;

    #[test]
    fn weight_stationary_matches_scale_sim_formula() {
        let hw = HwConfig::paper_default(); // 32 x 32, weight-stationary
        // 64 x 64 x 64: folds = 2 x 2 = 4, each 2*32 + 32 + 64 - 2 = 158 cycles.
        assert_eq!(cycles(&hw.compute, 64, 64, 64, 1.0), 4.0 * 158.0);
        // Edge tiles: K = 33 needs 2 row folds although the second uses one row.
        assert_eq!(cycles(&hw.compute, 64, 33, 32, 1.0), 2.0 * 158.0);
        // Half-cost MACs halve only the streaming phase: 4 x (94 + 32).
        assert_eq!(cycles(&hw.compute, 64, 64, 64, 0.5), 4.0 * 126.0);
    }

    #[test]
    fn output_stationary_streams_k() {
        let mut hw = HwConfig::paper_default();
        hw.compute.dataflow = Dataflow::OutputStationary;
        // 64 x 128 x 32: folds = 2 x 1, each 94 + 128.
        assert_eq!(cycles(&hw.compute, 64, 128, 32, 1.0), 2.0 * 222.0);
    }
}
