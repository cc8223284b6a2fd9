//! The bound against brute force: every tiling of an independent naive enumerator (all
//! tile sizes, all loop orders, traffic counted by simulating the loop nest) and every
//! tiling of the mapper's own space stays at or above it; it reduces to the compulsory
//! traffic when the SRAM holds the whole GEMM.

use super::*;
use crate::hw::HwConfig;
use crate::mapper::tiling::{self, Dim, LoopOrder, ORDERS, Tile};

fn shape(m: u64, k: u64, n: u64, a_bits: u32, w_bits: u32, sparsity: f64) -> GemmShape {
    GemmShape {
        m,
        k,
        n,
        batch: 1,
        w_bits,
        a_bits,
        sparsity,
        b_is_weight: true,
    }
}

/// Bytes read and written by the loop nest `order` over tiles `t`, simulated step by step
/// with one SRAM buffer per operand: a tile is read when it differs from the resident one
/// of its operand; an output tile leaving SRAM is written (its final values at `a_bits`
/// when all its reduction steps are done, else 32-bit partial sums, which are read back
/// when it returns). Independent of `tiling::traffic`.
fn simulate(g: &GemmShape, t: Tile, order: &LoopOrder) -> (f64, f64) {
    let (alpha, beta) = (g.a_bytes_per_element(), g.b_bytes_per_element());
    let trips = |d: Dim| match d {
        Dim::M => g.m.div_ceil(t.m),
        Dim::K => g.k.div_ceil(t.k),
        Dim::N => g.n.div_ceil(t.n),
    };
    let len = |i: u64, size: u64, dim: u64| size.min(dim - i * size) as f64;
    let (tm, tk, tn) = (trips(Dim::M), trips(Dim::K), trips(Dim::N));
    let mut done = vec![0u64; (tm * tn) as usize];
    type Resident = Option<(u64, u64)>;
    let (mut ra, mut rb, mut rc): (Resident, Resident, Resident) = (None, None, None);
    let (mut reads, mut writes) = (0.0, 0.0);
    let evict = |c: (u64, u64), done: &[u64], writes: &mut f64| {
        let elems = len(c.0, t.m, g.m) * len(c.1, t.n, g.n);
        *writes += if done[(c.0 * tn + c.1) as usize] == tk {
            elems * alpha
        } else {
            elems * PARTIAL_SUM_BITS / 8.0
        };
    };
    let [d0, d1, d2] = *order;
    for i0 in 0..trips(d0) {
        for i1 in 0..trips(d1) {
            for i2 in 0..trips(d2) {
                let mut idx = [0u64; 3];
                for (d, i) in [(d0, i0), (d1, i1), (d2, i2)] {
                    idx[d as usize] = i;
                }
                let [im, ik, i_n] = idx;
                if ra != Some((im, ik)) {
                    reads += len(im, t.m, g.m) * len(ik, t.k, g.k) * alpha;
                    ra = Some((im, ik));
                }
                if rb != Some((ik, i_n)) {
                    reads += len(ik, t.k, g.k) * len(i_n, t.n, g.n) * beta;
                    rb = Some((ik, i_n));
                }
                if rc != Some((im, i_n)) {
                    if let Some(c) = rc {
                        evict(c, &done, &mut writes);
                    }
                    if done[(im * tn + i_n) as usize] > 0 {
                        reads += len(im, t.m, g.m) * len(i_n, t.n, g.n) * PARTIAL_SUM_BITS / 8.0;
                    }
                    rc = Some((im, i_n));
                }
                done[(im * tn + i_n) as usize] += 1;
            }
        }
    }
    if let Some(c) = rc {
        evict(c, &done, &mut writes);
    }
    (reads, writes)
}

/// Every tile size `1..=dim` per axis whose single-buffered footprint fits `sram`, with
/// every loop order: (min reads, min total) over them, checking each against `b`.
fn brute_force(g: &GemmShape, sram: f64, b: &GemmIoBound) -> (f64, f64, usize) {
    let (mut min_r, mut min_t, mut count) = (f64::INFINITY, f64::INFINITY, 0);
    for tm in 1..=g.m {
        for tk in 1..=g.k {
            for tn in 1..=g.n {
                let t = Tile {
                    m: tm,
                    k: tk,
                    n: tn,
                };
                if tiling::footprint(g, t, false) > sram {
                    continue;
                }
                for order in &ORDERS {
                    let (r, w) = simulate(g, t, order);
                    assert!(
                        r >= b.read() * (1.0 - 1e-12),
                        "{g:?} S={sram} {t:?} {order:?}: reads {r} < bound {}",
                        b.read()
                    );
                    assert!(w >= b.write() * (1.0 - 1e-12));
                    min_r = min_r.min(r);
                    min_t = min_t.min(r + w);
                    count += 1;
                }
            }
        }
    }
    (min_r, min_t, count)
}

#[test]
fn no_tiling_of_a_naive_enumerator_beats_the_bound() {
    // (m, k, n, a_bits, w_bits, sparsity, SRAM bytes): 8-bit, 16-bit activations with
    // 4-bit weights, and a pruned (compressed) weight, with SRAMs small enough that the
    // SRAM term exceeds the compulsory reads.
    let cases = [
        (8, 64, 8, 8, 8, 0.0, 48.0),
        (8, 64, 8, 8, 8, 0.0, 64.0),
        (6, 96, 10, 8, 8, 0.0, 100.0),
        (8, 96, 8, 16, 4, 0.0, 80.0),
        (8, 96, 6, 8, 8, 0.5, 64.0),
    ];
    for (m, k, n, a, w, p, sram) in cases {
        let g = shape(m, k, n, a, w, p);
        let b = gemm_io_bound(&g, sram);
        assert!(
            b.sram_read > b.compulsory_read,
            "{g:?} S={sram}: the SRAM term must bite for the test to mean something ({b:?})"
        );
        let (min_r, min_t, count) = brute_force(&g, sram, &b);
        assert!(count > 0);
        // Not vacuous either: the best tiling is within a small factor of the bound.
        assert!(
            min_r <= 4.0 * b.read(),
            "{g:?}: best {min_r} vs bound {b:?}"
        );
        assert!(min_t >= b.total() * (1.0 - 1e-12));
    }
}

#[test]
fn no_tiling_of_the_mapper_beats_the_bound() {
    let hw = HwConfig::paper_default();
    for (m, k, n, a, w, p) in [
        (256, 1024, 512, 8, 8, 0.0),
        (1280, 4096, 688, 8, 4, 0.5),
        (512, 2048, 1024, 16, 16, 0.0),
        (96, 11008, 4096, 8, 3, 0.0),
    ] {
        let g = shape(m, k, n, a, w, p);
        for sram in [4u64 << 10, 16 << 10, 64 << 10, 1 << 20] {
            let b = gemm_io_bound(&g, sram as f64);
            let ms = tiling::candidates(g.m, 1);
            let ks = tiling::candidates(g.k, hw.compute.pe_rows as u64);
            let ns = tiling::candidates(g.n, hw.compute.pe_cols as u64);
            for db in [false, true] {
                for &tm in &ms {
                    for &tk in &ks {
                        for &tn in &ns {
                            let t = Tile {
                                m: tm,
                                k: tk,
                                n: tn,
                            };
                            if tiling::footprint(&g, t, db) > sram as f64 {
                                continue;
                            }
                            for order in &ORDERS {
                                let tr = tiling::traffic(&g, t, order);
                                let r = tr.a_read + tr.b_read + tr.c_read;
                                assert!(r >= b.read() * (1.0 - 1e-12), "{g:?} {t:?} {order:?}");
                                assert!(tr.c_write >= b.write() * (1.0 - 1e-12));
                            }
                        }
                    }
                }
                let c = tiling::best_tile(&hw, &g, sram, db);
                if c.fits {
                    assert!(c.traffic.total() >= b.total() * (1.0 - 1e-12));
                }
            }
        }
    }
}

#[test]
fn the_bound_is_the_compulsory_traffic_when_the_sram_holds_the_gemm() {
    for g in [
        shape(64, 64, 64, 8, 8, 0.0),
        shape(1280, 4096, 11008, 8, 4, 0.5),
        shape(8, 64, 8, 16, 4, 0.0),
    ] {
        let whole = tiling::footprint(
            &g,
            Tile {
                m: g.m,
                k: g.k,
                n: g.n,
            },
            false,
        );
        for s in [whole, 2.0 * whole, 1e15] {
            let b = gemm_io_bound(&g, s);
            assert!(b.sram_read < b.compulsory_read, "{g:?} S={s}: {b:?}");
            assert_eq!(b.read(), b.compulsory_read);
            assert_eq!(b.excess_read(), 0.0);
            let c = tiling::compulsory(&g);
            assert_eq!(b.read(), c.a_read + c.b_read);
            assert_eq!(b.write(), c.c_write);
        }
    }
}

#[test]
fn leading_term_by_hand() {
    // One-byte A and B, 4-byte accumulators: sqrt(1 x 1 x 4) = 2, so the leading term is
    // 2 M N K x 2 / sqrt(S) - 2 S - 4 M N. M = N = K = 4096, S = 1 MiB: 2 x 2^36 x 2 / 2^10
    // = 2^28, minus 2^21 and 2^26.
    let g = shape(4096, 4096, 4096, 8, 8, 0.0);
    let s = (1u64 << 20) as f64;
    let b = gemm_io_bound(&g, s);
    let hand = 2f64.powi(28) - 2f64.powi(21) - 2f64.powi(26);
    // The grid contains T = 2 S' (j = 16) and the e = 4-byte terms are relatively tiny.
    assert!(
        (b.sram_read - hand).abs() <= 1e-4 * hand,
        "{} vs {hand}",
        b.sram_read
    );
    assert!(b.sram_read >= hand * (1.0 - 1e-5));
    // Batch repetitions are independent GEMMs: the bound scales with them.
    let g2 = GemmShape { batch: 3, ..g };
    let b2 = gemm_io_bound(&g2, s);
    assert_eq!(b2.sram_read, 3.0 * b.sram_read);
    assert_eq!(b2.compulsory_read, 3.0 * b.compulsory_read);
}
