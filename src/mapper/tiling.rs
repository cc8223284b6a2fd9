//! SRAM tiling of one GEMM instance: choose tile sizes `(tm, tk, tn)` and a loop order of
//! the three tile loops that minimise DRAM<->SRAM traffic while the tiles fit the SRAM
//! budget.
//!
//! Objective: the least DRAM traffic, or with double buffering the least GEMM time
//! including bandwidth stalls (see [`best_tile`]).
//!
//! Reuse analysis (Timeloop-style, one buffer per operand): an operand tile stays in SRAM
//! across consecutive iterations of the loops inside its innermost indexing loop that do
//! not index it, and is re-fetched whenever an outer loop that does not index it advances.
//! So operand X moves `|X| x prod(trips of loops outside X's innermost indexing loop that
//! do not index X)` bytes. The output C is revisited `ceil(K/tk)` times when the K loop is
//! outside its innermost output loop: every visit but the last spills 32-bit partial sums
//! and every visit but the first reads them back.
//!
//! Footprint: `tm*tk` A bytes + `tk*tn` B bytes + `tm*tn` 32-bit accumulators, doubled when
//! double-buffered (the next tiles load while the current ones compute). Candidate tile
//! sizes are powers of two times the array dimension along that axis (1 for M) and even
//! splits of the dimension into 1..=8 tiles. Ties are broken by the smaller footprint, then by enumeration order,
//! so the choice is deterministic.

use super::stall::{self, Fill};
use super::{GemmShape, GemmTraffic, PARTIAL_SUM_BITS};
use crate::hw::HwConfig;
use std::cmp::Ordering;

/// A GEMM loop dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Dim {
    /// Output rows.
    M,
    /// Reduction.
    K,
    /// Output columns.
    N,
}

/// Tile loop order, outermost first.
pub type LoopOrder = [Dim; 3];

/// SRAM tile sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Tile {
    /// Rows of the A/C tile.
    pub m: u64,
    /// Reduction depth of the A/B tile.
    pub k: u64,
    /// Columns of the B/C tile.
    pub n: u64,
}

/// The tiling chosen for one GEMM instance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TileChoice {
    /// Tile sizes.
    pub tile: Tile,
    /// Loop order.
    pub order: LoopOrder,
    /// False when no candidate fits (the smallest candidate is returned).
    pub fits: bool,
    /// SRAM footprint (bytes, incl. double buffering).
    pub sram_bytes: f64,
    /// DRAM traffic of one instance.
    pub traffic: GemmTraffic,
}

/// The six loop orders the mapper searches.
pub const ORDERS: [LoopOrder; 6] = [
    [Dim::M, Dim::N, Dim::K],
    [Dim::N, Dim::M, Dim::K],
    [Dim::M, Dim::K, Dim::N],
    [Dim::K, Dim::M, Dim::N],
    [Dim::N, Dim::K, Dim::M],
    [Dim::K, Dim::N, Dim::M],
];

/// A fitting tiling.
#[derive(Clone, Copy)]
struct Cand {
    tile: Tile,
    order: usize,
    traffic: GemmTraffic,
}

fn cmp_key(a: &[f64; 4], b: &[f64; 4]) -> Ordering {
    a.iter()
        .zip(b)
        .map(|(x, y)| x.total_cmp(y))
        .find(|o| *o != Ordering::Equal)
        .unwrap_or(Ordering::Equal)
}

/// Each operand read once and the output written once, for one instance.
pub fn compulsory(g: &GemmShape) -> GemmTraffic {
    let (m, k, n) = (g.m as f64, g.k as f64, g.n as f64);
    GemmTraffic {
        a_read: m * k * g.a_bytes_per_element(),
        b_read: k * n * g.b_bytes_per_element(),
        c_read: 0.0,
        c_write: m * n * g.a_bytes_per_element(),
    }
}

/// Tile sizes the mapper tries along one dimension of `dim` elements on an array side of
/// `base` PEs (1 for M): see the module doc.
pub fn candidates(dim: u64, base: u64) -> Vec<u64> {
    let base = base.max(1);
    let mut v = Vec::new();
    // Powers of two times the array dimension ...
    let mut t = base;
    while t < dim {
        v.push(t);
        t *= 2;
    }
    // ... and even splits of the dimension into 1..=8 tiles (rounded up to the array
    // dimension), which avoid ragged last tiles for sizes such as 1280 or 11008.
    for parts in 1..=8 {
        let t = dim.div_ceil(parts).div_ceil(base) * base;
        v.push(t.clamp(1, dim.max(1)));
    }
    v.sort_unstable();
    v.dedup();
    v
}

fn indexes(operand: [bool; 3], d: Dim) -> bool {
    match d {
        Dim::M => operand[0],
        Dim::K => operand[1],
        Dim::N => operand[2],
    }
}

/// Re-fetch factor of an operand indexed by `operand` = (M, K, N) flags.
fn refetch(order: &LoopOrder, trips: [u64; 3], operand: [bool; 3]) -> f64 {
    let trip = |d: Dim| match d {
        Dim::M => trips[0],
        Dim::K => trips[1],
        Dim::N => trips[2],
    };
    let innermost = order
        .iter()
        .rposition(|&d| indexes(operand, d))
        .unwrap_or(0);
    order[..innermost]
        .iter()
        .filter(|&&d| !indexes(operand, d))
        .map(|&d| trip(d) as f64)
        .product()
}

/// Traffic of one instance for a tile and order.
pub fn traffic(g: &GemmShape, tile: Tile, order: &LoopOrder) -> GemmTraffic {
    let trips = [
        g.m.div_ceil(tile.m.max(1)),
        g.k.div_ceil(tile.k.max(1)),
        g.n.div_ceil(tile.n.max(1)),
    ];
    let once = compulsory(g);
    let visits = refetch(order, trips, [true, false, true]);
    let partial = g.m as f64 * g.n as f64 * PARTIAL_SUM_BITS / 8.0;
    GemmTraffic {
        a_read: once.a_read * refetch(order, trips, [true, true, false]),
        b_read: once.b_read * refetch(order, trips, [false, true, true]),
        c_read: (visits - 1.0) * partial,
        c_write: once.c_write + (visits - 1.0) * partial,
    }
}

/// SRAM footprint of a tile.
pub fn footprint(g: &GemmShape, tile: Tile, double_buffered: bool) -> f64 {
    let (m, k, n) = (tile.m as f64, tile.k as f64, tile.n as f64);
    let bytes = m * k * g.a_bytes_per_element()
        + k * n * g.b_bytes_per_element()
        + m * n * PARTIAL_SUM_BITS / 8.0;
    if double_buffered { 2.0 * bytes } else { bytes }
}

/// The tiling that fits `budget` bytes with
/// - single buffering: the least DRAM traffic (a step loads, computes and stores in
///   sequence, so its time grows with the traffic alone);
/// - double buffering: the least GEMM time `max(array + stall cycles, reads / bandwidth,
///   writes / bandwidth)` (stalls of [`super::stall`] without the first load; reads and
///   writes on their own links, as the cost model's mode `paper`), then the least
///   traffic. A larger SRAM keeps every smaller tiling available, so this time never
///   grows with the budget, which minimum traffic alone does not guarantee once stalls
///   count (a larger tile can load in longer bursts).
///
/// Ties go to the smaller footprint, then to enumeration order.
pub fn best_tile(hw: &HwConfig, g: &GemmShape, budget: u64, double_buffered: bool) -> TileChoice {
    let ms = candidates(g.m, 1);
    let ks = candidates(g.k, hw.compute.pe_rows as u64);
    let ns = candidates(g.n, hw.compute.pe_cols as u64);
    let budget = budget as f64;
    let fill = Fill {
        bytes_per_cycle: super::dram_bytes_per_cycle(hw),
        double_buffered,
        stream_scale: super::stream_scale(hw, g),
    };
    // Over all batch repetitions, as the stalls.
    let batch = g.batch as f64;
    let array = super::array::cycles(&hw.compute, g.m, g.k, g.n, fill.stream_scale) * batch;
    let bw = fill.bytes_per_cycle;
    // Keys (time, traffic, footprint, enumeration index), compared lexicographically;
    // the time is 0 for single buffering. The key without stalls is a lower bound (stalls
    // are >= 0). Pass 1 finds the least bound; when that candidate has no stall (the
    // usual case) it wins outright, else pass 2 evaluates, best bound first, every
    // candidate whose bound beats it until no remaining bound beats the best found.
    let each = |f: &mut dyn FnMut([f64; 4], Cand)| {
        let mut index = 0.0;
        for &tm in &ms {
            for &tk in &ks {
                for &tn in &ns {
                    let tile = Tile {
                        m: tm,
                        k: tk,
                        n: tn,
                    };
                    let fp = footprint(g, tile, double_buffered);
                    if fp > budget {
                        continue;
                    }
                    for (oi, order) in ORDERS.iter().enumerate() {
                        let t = traffic(g, tile, order);
                        let reads = (t.a_read + t.b_read + t.c_read) / bw;
                        let link = batch * reads.max(t.c_write / bw);
                        let time = if double_buffered {
                            array.max(link)
                        } else {
                            0.0
                        };
                        f(
                            [time, t.total(), fp, index],
                            Cand {
                                tile,
                                order: oi,
                                traffic: t,
                            },
                        );
                        index += 1.0;
                    }
                }
            }
        }
    };
    let actual = |key: [f64; 4], c: &Cand| {
        let mut key = key;
        if double_buffered {
            let st = stall::stalls(&hw.compute, g, c.tile, &ORDERS[c.order], &fill);
            key[0] = key[0].max(array + st.stall_cycles);
        }
        key
    };
    let mut least: Option<([f64; 4], Cand)> = None;
    each(&mut |k, c| {
        if least
            .as_ref()
            .is_none_or(|(lk, _)| cmp_key(&k, lk) == Ordering::Less)
        {
            least = Some((k, c));
        }
    });
    let mut best = least.map(|(k, c)| (actual(k, &c), c, k));
    if let Some((bk, _, bound)) = best
        && cmp_key(&bk, &bound) != Ordering::Equal
    {
        let mut rest: Vec<([f64; 4], Cand)> = Vec::new();
        each(&mut |k, c| {
            if cmp_key(&k, &bk) == Ordering::Less && cmp_key(&k, &bound) != Ordering::Equal {
                rest.push((k, c));
            }
        });
        rest.sort_unstable_by(|a, b| cmp_key(&a.0, &b.0));
        for (k, c) in rest {
            let cur = best.as_ref().map_or(bk, |b| b.0);
            if cmp_key(&k, &cur) != Ordering::Less {
                break;
            }
            let a = actual(k, &c);
            if cmp_key(&a, &cur) == Ordering::Less {
                best = Some((a, c, k));
            }
        }
    }
    let best = best.map(|(k, c, _)| (k, c));
    let best = best.map(|(k, c)| {
        (
            k,
            TileChoice {
                tile: c.tile,
                order: ORDERS[c.order],
                fits: true,
                sram_bytes: k[2],
                traffic: c.traffic,
            },
        )
    });
    match best {
        Some((_, c)) => c,
        None => {
            let tile = Tile {
                m: ms[0],
                k: ks[0],
                n: ns[0],
            };
            TileChoice {
                tile,
                order: ORDERS[0],
                fits: false,
                sram_bytes: footprint(g, tile, double_buffered),
                traffic: traffic(g, tile, &ORDERS[0]),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::mapper::dense8 as shape;

    #[test]
    fn whole_gemm_in_sram_moves_each_operand_once() {
        let hw = HwConfig::paper_default();
        let g = shape(64, 64, 64);
        let c = best_tile(&hw, &g, 1 << 20, false);
        assert_eq!(c.traffic, compulsory(&g));
    }

    #[test]
    fn reuse_analysis_by_hand() {
        // M=N=K=256 at 8 bit, tiles 64^3, order (m, n, k): A re-read per n tile (x4),
        // B re-read per m tile (x4), C written once (k innermost).
        let g = shape(256, 256, 256);
        let tile = Tile {
            m: 64,
            k: 64,
            n: 64,
        };
        let t = traffic(&g, tile, &[Dim::M, Dim::N, Dim::K]);
        assert_eq!(t.a_read, 4.0 * 65536.0);
        assert_eq!(t.b_read, 4.0 * 65536.0);
        assert_eq!((t.c_read, t.c_write), (0.0, 65536.0));
        // Order (k, m, n): C visited 4 times: 3 spills + 3 reloads of 4-byte partials.
        let t = traffic(&g, tile, &[Dim::K, Dim::M, Dim::N]);
        assert_eq!(t.a_read, 65536.0);
        assert_eq!(t.b_read, 4.0 * 65536.0);
        assert_eq!(t.c_read, 3.0 * 65536.0 * 4.0);
        assert_eq!(t.c_write, 65536.0 + 3.0 * 65536.0 * 4.0);
    }

    #[test]
    fn chosen_tile_fits_budget() {
        let hw = HwConfig::paper_default();
        let g = shape(1280, 4096, 11008);
        for db in [false, true] {
            let c = best_tile(&hw, &g, 1 << 20, db);
            assert!(c.fits && c.sram_bytes <= (1 << 20) as f64);
            assert!(c.traffic.total() >= compulsory(&g).total());
        }
    }
}
