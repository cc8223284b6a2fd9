//! Bandwidth stalls of one GEMM: cycles the array waits because the SRAM fill from DRAM
//! cannot keep up with it.
//!
//! The unit of filling is the SRAM tile step of the tiling [`super::tiling`] picks: the
//! loop nest over `(tm, tk, tn)` tiles in its loop order. At each step the array computes
//! the tile's sub-GEMM in its folds (dataflow-dependent, [`super::array`]) while the
//! operand tiles of the next step arrive (double buffering, the x2 footprint the tiling
//! pays). The bytes a step needs from DRAM are those the reuse analysis does not keep:
//! - A (`tm x tk`, `a_bits`) when a loop at or outside A's innermost indexing loop (M or
//!   K) advanced, i.e. whenever the tiling counts a re-fetch of A;
//! - B (`tk x tn`, stored bits incl. sparse metadata) likewise for loops K or N;
//! - 32-bit partial sums of the C tile (`tm x tn`) when a C tile is revisited after an
//!   earlier K tile (the K loop outside C's innermost loop), as in `tiling::traffic`.
//!
//! Output and spill writes drain through the write path (the cost model's separate
//! DRAM-write term) and do not stall the array. The dataflow enters through the compute
//! time of each step: the step's share of the GEMM's SCALE-Sim cycles, in proportion to
//! the closed-form cycles of its sub-GEMM under the dataflow (edge tiles with few rows,
//! columns or steps are charged their fill and drain), so the step times sum to the
//! array cycles exactly.
//!
//! Timing, with `L_j` the load of step `j` in cycles (bytes / bandwidth) and `C_j` its
//! compute: double-buffered, step `j > 0` stalls `max(0, L_j - C_{j-1})` (the load runs
//! during the previous step); single-buffered, every step stalls `L_j` (nothing overlaps).
//! The first step's load `L_0` is the prologue, reported apart: a standalone GEMM pays it,
//! while inside a schedule it overlaps the previous GEMM of the step (the cost model
//! charges it through its DRAM term, not through the compute term). The `batch`
//! repetitions run back to back: each one after the first starts with a full load that
//! overlaps the previous repetition's last step.
//!
//! Bandwidth (assumption): the fills of one GEMM get the whole DRAM peak read bandwidth,
//! `data_rate x bus width / 8 / clock` bytes per accelerator cycle, as the read link of
//! the cost model's modes `paper`/`chained`. Concurrent traffic of the step (SSD
//! staging, writes on a shared bus) is the cost model's max over links, not a stall.
//! With infinite bandwidth every term is zero.
//!
//! Cost: every loop takes three index classes (the first, the middle ones, the last, which
//! alone may be ragged), and a step's load and compute depend only on the classes of its
//! and its predecessor's indices, so at most 27 representative steps are evaluated,
//! weighted by how many steps they stand for.

use super::array;
use super::tiling::{Dim, LoopOrder, Tile};
use super::{GemmShape, PARTIAL_SUM_BITS};
use crate::hw::Compute;

/// Stall cycles of one GEMM (all batch repetitions).
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct Stalls {
    /// Cycles of the first step's load (exposed only when nothing precedes the GEMM).
    pub prologue_cycles: f64,
    /// Cycles the array waits after the first step.
    pub stall_cycles: f64,
}

/// Inputs of the stall model besides the shape and the tiling.
#[derive(Debug, Clone, Copy)]
pub struct Fill {
    /// DRAM bytes per accelerator cycle available to the fills (may be infinite).
    pub bytes_per_cycle: f64,
    /// True when the next step's tiles load during the current step.
    pub double_buffered: bool,
    /// `mac_cost x sparse_fraction`, as for [`array::cycles`].
    pub stream_scale: f64,
}

/// Tile sizes and trip count along one dimension.
#[derive(Clone, Copy)]
struct Axis {
    dim: Dim,
    trips: u64,
    tile: u64,
    last: u64,
}

impl Axis {
    fn new(dim: Dim, extent: u64, tile: u64) -> Self {
        let tile = tile.clamp(1, extent.max(1));
        let trips = extent.div_ceil(tile).max(1);
        Axis {
            dim,
            trips,
            tile,
            last: extent - (trips - 1) * tile,
        }
    }
    fn size(&self, i: u64) -> u64 {
        if i + 1 == self.trips {
            self.last
        } else {
            self.tile
        }
    }
    /// Representative indices (first, a middle one, last) with the steps each stands for
    /// (0 steps for classes a short loop lacks).
    fn classes(&self) -> [(u64, u64); 3] {
        match self.trips {
            1 => [(0, 1), (0, 0), (0, 0)],
            2 => [(0, 1), (1, 1), (0, 0)],
            t => [(0, 1), (1, t - 2), (t - 1, 1)],
        }
    }
}

/// Stalls of `g` (all `g.batch` repetitions) under `tile` and `order` on array `c`.
pub fn stalls(c: &Compute, g: &GemmShape, tile: Tile, order: &LoopOrder, f: &Fill) -> Stalls {
    if g.m == 0 || g.k == 0 || g.n == 0 || g.batch == 0 {
        return Stalls::default();
    }
    let axis = |d: Dim| match d {
        Dim::M => Axis::new(d, g.m, tile.m),
        Dim::K => Axis::new(d, g.k, tile.k),
        Dim::N => Axis::new(d, g.n, tile.n),
    };
    let ax = [axis(order[0]), axis(order[1]), axis(order[2])];
    let level = |d: Dim| ax.iter().position(|a| a.dim == d).unwrap_or(0);
    // Innermost loop level indexing each operand.
    let inner = |a: Dim, b: Dim| level(a).max(level(b));
    let (la, lb, lc) = (
        inner(Dim::M, Dim::K),
        inner(Dim::K, Dim::N),
        inner(Dim::M, Dim::N),
    );
    let a_b = g.a_bytes_per_element();
    let b_b = g.b_bytes_per_element();
    let p_b = PARTIAL_SUM_BITS / 8.0;
    // (m, k, n) sizes and the K index of a step given its loop indices.
    let dims = |idx: [u64; 3]| {
        let mut s = [0u64; 3];
        let mut ik = 0;
        for (l, a) in ax.iter().enumerate() {
            let v = a.size(idx[l]);
            match a.dim {
                Dim::M => s[0] = v,
                Dim::K => {
                    s[1] = v;
                    ik = idx[l];
                }
                Dim::N => s[2] = v,
            }
        }
        (s, ik)
    };
    // Raw cycles of a step depend only on which of its dims are the ragged last tile:
    // eight values, computed once.
    let mut table = [0.0f64; 8];
    for (bits, v) in table.iter_mut().enumerate() {
        let pick = |d: Dim, bit: usize| {
            let a = ax.iter().find(|a| a.dim == d).unwrap_or(&ax[0]);
            if bits & bit != 0 { a.last } else { a.tile }
        };
        *v = array::cycles(
            c,
            pick(Dim::M, 1),
            pick(Dim::K, 2),
            pick(Dim::N, 4),
            f.stream_scale,
        );
    }
    let raw = |idx: [u64; 3]| {
        let mut bits = 0;
        for (l, a) in ax.iter().enumerate() {
            if idx[l] + 1 == a.trips {
                bits |= match a.dim {
                    Dim::M => 1,
                    Dim::K => 2,
                    Dim::N => 4,
                };
            }
        }
        table[bits]
    };
    // Bytes loaded by step `idx` entered through a change at loop level `lvl` (0 = the
    // outermost; None = the first step of a repetition: everything loads).
    let load = |idx: [u64; 3], lvl: Option<usize>| {
        let (s, ik) = dims(idx);
        let (m, k, n) = (s[0] as f64, s[1] as f64, s[2] as f64);
        let moved = |l: usize| lvl.is_none_or(|v| v <= l);
        let mut bytes = 0.0;
        if moved(la) {
            bytes += m * k * a_b;
        }
        if moved(lb) {
            bytes += k * n * b_b;
        }
        if moved(lc) && ik > 0 {
            bytes += m * n * p_b;
        }
        bytes
    };
    // The step before `idx` and the level that changed into `idx`.
    let prev = |idx: [u64; 3]| -> Option<([u64; 3], usize)> {
        for l in (0..3).rev() {
            if idx[l] > 0 {
                let mut p = idx;
                p[l] -= 1;
                for (q, a) in p.iter_mut().zip(&ax).skip(l + 1) {
                    *q = a.trips - 1;
                }
                return Some((p, l));
            }
        }
        None
    };
    // Representative steps with their weights, `f(idx, weight)` for each.
    let each = |f: &mut dyn FnMut([u64; 3], f64)| {
        for (i0, w0) in ax[0].classes() {
            for (i1, w1) in ax[1].classes() {
                for (i2, w2) in ax[2].classes() {
                    let w = w0 * w1 * w2;
                    if w > 0 {
                        f([i0, i1, i2], w as f64);
                    }
                }
            }
        }
    };
    // The step times sum to the GEMM's array cycles: raw sub-GEMM cycles times `scale`.
    let mut total_raw = 0.0;
    each(&mut |idx, w| total_raw += w * raw(idx));
    let scale = array::cycles(c, g.m, g.k, g.n, f.stream_scale) / total_raw.max(f64::MIN_POSITIVE);
    let bw = f.bytes_per_cycle;
    let secs = |bytes: f64| if bytes > 0.0 { bytes / bw } else { 0.0 };
    let wait = |load: f64, prev_raw: f64| {
        if f.double_buffered {
            (load - prev_raw * scale).max(0.0)
        } else {
            load
        }
    };
    let mut stall = 0.0;
    each(&mut |idx, w| {
        if let Some((p, l)) = prev(idx) {
            stall += w * wait(secs(load(idx, Some(l))), raw(p));
        }
    });
    let first_load = secs(load([0, 0, 0], None));
    let last_raw = raw([ax[0].trips - 1, ax[1].trips - 1, ax[2].trips - 1]);
    let batch = g.batch as f64;
    Stalls {
        prologue_cycles: first_load,
        stall_cycles: batch * stall + (batch - 1.0) * wait(first_load, last_raw),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hw::{Dataflow, HwConfig};

    use crate::mapper::dense8 as shape;

    fn fill(bw: f64, db: bool) -> Fill {
        Fill {
            bytes_per_cycle: bw,
            double_buffered: db,
            stream_scale: 1.0,
        }
    }

    /// Step-by-step reference: walks every SRAM tile step of the loop nest in order.
    fn brute(c: &Compute, g: &GemmShape, t: Tile, order: &LoopOrder, f: &Fill) -> Stalls {
        let ext = |d: Dim| match d {
            Dim::M => (g.m, t.m),
            Dim::K => (g.k, t.k),
            Dim::N => (g.n, t.n),
        };
        let trips = order.map(|d| ext(d).0.div_ceil(ext(d).1));
        let mut steps = Vec::new(); // (bytes, raw cycles)
        let mut total_bytes = 0.0;
        for _ in 0..g.batch {
            let mut prev: Option<[u64; 3]> = None;
            for i0 in 0..trips[0] {
                for i1 in 0..trips[1] {
                    for i2 in 0..trips[2] {
                        let idx = [i0, i1, i2];
                        let mut tile = [0u64; 3]; // (m, k, n) sizes
                        let mut start = [0u64; 3];
                        for l in 0..3 {
                            let (e, s) = ext(order[l]);
                            let k = match order[l] {
                                Dim::M => 0,
                                Dim::K => 1,
                                Dim::N => 2,
                            };
                            start[k] = idx[l] * s;
                            tile[k] = s.min(e - idx[l] * s);
                        }
                        // The tiling's reuse rule, step by step: an operand tile is loaded
                        // when the loop indices up to its innermost indexing loop differ
                        // from the previous step's (or at the first step); a C tile entered
                        // after K tile 0 reads its partial sums back.
                        let lvl = |d: Dim| order.iter().position(|&o| o == d).unwrap();
                        let changed = |a: Dim, b: Dim| {
                            let l = lvl(a).max(lvl(b));
                            prev.is_none_or(|p| p[..=l] != idx[..=l])
                        };
                        let (m, k, n) = (tile[0] as f64, tile[1] as f64, tile[2] as f64);
                        let mut bytes = 0.0;
                        if changed(Dim::M, Dim::K) {
                            bytes += m * k * g.a_bytes_per_element();
                        }
                        if changed(Dim::K, Dim::N) {
                            bytes += k * n * g.b_bytes_per_element();
                        }
                        if changed(Dim::M, Dim::N) && start[1] > 0 {
                            bytes += m * n * 4.0;
                        }
                        total_bytes += bytes;
                        let raw = array::cycles(c, tile[0], tile[1], tile[2], f.stream_scale);
                        steps.push((bytes, raw));
                        prev = Some(idx);
                    }
                }
            }
        }
        // The loads add up to the tiling's DRAM reads.
        let tr = super::super::tiling::traffic(g, t, order);
        let reads = (tr.a_read + tr.b_read + tr.c_read) * g.batch as f64;
        assert!(
            (total_bytes - reads).abs() <= 1e-9 * reads,
            "{total_bytes} vs {reads}"
        );
        let per_instance = steps.len() / g.batch as usize;
        let raw_one: f64 = steps[..per_instance].iter().map(|s| s.1).sum();
        let scale = array::cycles(c, g.m, g.k, g.n, f.stream_scale) / raw_one;
        let mut out = Stalls {
            prologue_cycles: steps[0].0 / f.bytes_per_cycle,
            stall_cycles: 0.0,
        };
        for j in 1..steps.len() {
            let l = steps[j].0 / f.bytes_per_cycle;
            out.stall_cycles += if f.double_buffered {
                (l - steps[j - 1].1 * scale).max(0.0)
            } else {
                l
            };
        }
        out
    }

    #[test]
    fn whole_gemm_in_one_tile_only_has_a_prologue() {
        let c = HwConfig::paper_default().compute; // 32 x 32 WS
        let g = shape(64, 64, 64);
        let t = Tile {
            m: 64,
            k: 64,
            n: 64,
        };
        // A and B: 2 x 4096 bytes at 8 B/cycle = 1024 cycles, nothing after.
        let s = stalls(&c, &g, t, &[Dim::M, Dim::N, Dim::K], &fill(8.0, true));
        assert_eq!(s.prologue_cycles, 1024.0);
        assert_eq!(s.stall_cycles, 0.0);
    }

    #[test]
    fn two_n_tiles_by_hand() {
        // M = K = 64, N = 64 in two tn = 32 tiles, order (M, K, N): A (64 x 64) stays, the
        // second step loads one B tile 64 x 32 = 2048 B. WS on 32 x 32: each step's sub-GEMM
        // 64 x 64 x 32 = 2 folds x (64 + 32 + 64 - 2) = 316 cycles (half of 632).
        let c = HwConfig::paper_default().compute;
        let g = shape(64, 64, 64);
        let t = Tile {
            m: 64,
            k: 64,
            n: 32,
        };
        let order = [Dim::M, Dim::K, Dim::N];
        // 2 B/cycle: load 1024 cycles during a 316-cycle step: 708 stall cycles; prologue
        // (4096 + 2048) / 2 = 3072.
        let s = stalls(&c, &g, t, &order, &fill(2.0, true));
        assert_eq!(s.prologue_cycles, 3072.0);
        assert_eq!(s.stall_cycles, 708.0);
        // Single-buffered: the whole load is exposed.
        let s = stalls(&c, &g, t, &order, &fill(2.0, false));
        assert_eq!(s.stall_cycles, 1024.0);
        // 8 B/cycle: 256 cycles hide behind 316.
        assert_eq!(
            stalls(&c, &g, t, &order, &fill(8.0, true)).stall_cycles,
            0.0
        );
        // Two repetitions: the second starts with the full 3072-cycle load, overlapping the
        // first one's last 316-cycle step, then pays the 708 again.
        let mut g2 = g;
        g2.batch = 2;
        let s = stalls(&c, &g2, t, &order, &fill(2.0, true));
        assert_eq!(s.stall_cycles, 708.0 + (3072.0 - 316.0) + 708.0);
    }

    #[test]
    fn partial_sums_read_back_on_revisits() {
        // Order (K, M, N), tk = 32 of K = 64, whole M and N: step 2 (k tile 1) reloads A
        // (64 x 32) and B (32 x 64) and reads the 64 x 64 4-byte partial sums: 4096 + 2048
        // + 2048 + 16384 = 20480 B... A and B are 2048 each: 2048 + 2048 + 16384 = 20480.
        let c = HwConfig::paper_default().compute;
        let g = shape(64, 64, 64);
        let t = Tile {
            m: 64,
            k: 32,
            n: 64,
        };
        // Step compute: 64 x 32 x 64 on 32 x 32 WS = 2 folds x 158 = 316.
        let s = stalls(&c, &g, t, &[Dim::K, Dim::M, Dim::N], &fill(1.0, true));
        assert_eq!(s.prologue_cycles, 4096.0);
        assert_eq!(s.stall_cycles, 20480.0 - 316.0);
    }

    #[test]
    fn infinite_bandwidth_never_stalls() {
        let c = HwConfig::paper_default().compute;
        let g = shape(1000, 777, 513);
        let t = Tile {
            m: 100,
            k: 64,
            n: 96,
        };
        for db in [false, true] {
            let s = stalls(
                &c,
                &g,
                t,
                &[Dim::N, Dim::K, Dim::M],
                &fill(f64::INFINITY, db),
            );
            assert_eq!(s, Stalls::default());
        }
    }

    #[test]
    fn class_grouping_equals_walking_every_step() {
        let mut s: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |lo: u64, hi: u64| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            lo + (s >> 33) % (hi - lo + 1)
        };
        let orders = [
            [Dim::M, Dim::N, Dim::K],
            [Dim::N, Dim::M, Dim::K],
            [Dim::M, Dim::K, Dim::N],
            [Dim::K, Dim::M, Dim::N],
            [Dim::N, Dim::K, Dim::M],
            [Dim::K, Dim::N, Dim::M],
        ];
        for case in 0..200 {
            let mut c = HwConfig::paper_default().compute;
            c.dataflow = [
                Dataflow::WeightStationary,
                Dataflow::OutputStationary,
                Dataflow::InputStationary,
            ][case % 3];
            c.pe_rows = next(1, 8) as u32;
            c.pe_cols = next(1, 8) as u32;
            let mut g = shape(next(1, 60), next(1, 60), next(1, 60));
            g.batch = next(1, 3);
            g.w_bits = [4, 8][case % 2];
            let t = Tile {
                m: next(1, g.m),
                k: next(1, g.k),
                n: next(1, g.n),
            };
            let order = orders[case % 6];
            let f = Fill {
                bytes_per_cycle: [0.5, 2.0, 16.0][case % 3],
                double_buffered: case % 4 != 0,
                stream_scale: [1.0, 0.5][case % 2],
            };
            let (a, b) = (stalls(&c, &g, t, &order, &f), brute(&c, &g, t, &order, &f));
            let close = |x: f64, y: f64| (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0);
            assert!(
                close(a.prologue_cycles, b.prologue_cycles)
                    && close(a.stall_cycles, b.stall_cycles),
                "case {case}: {g:?} {t:?} {order:?} {f:?}: {a:?} vs {b:?}"
            );
        }
    }
}
