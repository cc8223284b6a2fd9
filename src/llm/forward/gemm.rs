//! Single-precision matrix products `y = x w^T` (`x: [rows, in]`, `w: [out, in]`), the
//! arithmetic of the forward pass.
//!
//! The weight is packed ([`PackedWeight`]) into panels of [`NR`] output features, each
//! panel stored input-major (`[in][NR]`, zero-padded past `out`), so the inner loop reads
//! it as one contiguous stream; a model's weights are packed once and reused for every
//! sequence (see `forward::PackedModel`). The activations are read in place, [`MR`] rows
//! at a time (any row stride, unit column stride; other layouts are copied first).
//!
//! The micro-kernel keeps an `MR x NR` tile of sums in registers (24 AVX-512 registers of
//! 16 lanes) over the whole input dimension: per input index it loads three weight vectors
//! and broadcasts eight activations (GotoBLAS's register blocking; Goto & van de Geijn,
//! ACM TOMS 34(3), 2008). There is no blocking of the input dimension, so every output is
//! one fused-multiply-add chain `fma(x[i][in-1], w[j][in-1], ... fma(x[i][0], w[j][0], 0))`
//! in input order: the result depends neither on the thread count, nor on how rows or
//! panels are grouped, nor on which kernel runs (the AVX-512, AVX2+FMA and portable
//! kernels are bitwise identical; `mul_add` is a correctly rounded fused multiply-add).
//!
//! Large products are split over panel ranges with `rayon::join` (disjoint column strips of
//! the output), so a weight panel is read once per product whatever the thread count.

use ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis, CowArray, Ix2, s};
use std::marker::PhantomData;
use std::ops::Range;

/// Rows of `x` per register tile.
pub const MR: usize = 8;
/// Output features per weight panel (three 16-lane AVX-512 registers).
pub const NR: usize = 48;

/// Fewest multiply-adds worth a separate rayon task (about 50 us of one core).
const MIN_TASK_FMAS: usize = 1 << 22;

/// A weight matrix `[out, in]` packed into panels of [`NR`] output features.
#[derive(Debug, Clone, PartialEq)]
pub struct PackedWeight {
    out: usize,
    inp: usize,
    data: Vec<f32>,
}

impl PackedWeight {
    /// Packs `w` (`[out, in]`, any strides).
    pub fn new(w: ArrayView2<f32>) -> Self {
        Self::stacked(&[w])
    }

    /// Packs the row-wise concatenation of `ws` (each `[out_i, in]`): one product then
    /// computes all of them (fused q/k/v or gate/up projections), output columns in order.
    ///
    /// Panics if `ws` is empty or the input widths differ (a programming error).
    pub fn stacked(ws: &[ArrayView2<f32>]) -> Self {
        let inp = ws.first().expect("at least one matrix").ncols();
        assert!(ws.iter().all(|w| w.ncols() == inp), "input widths differ");
        let out: usize = ws.iter().map(|w| w.nrows()).sum();
        let mut data = vec![0.0f32; out.div_ceil(NR) * inp * NR];
        let pack_panel = |(p, panel): (usize, &mut [f32])| {
            // Stacked rows lo..hi, matrix by matrix (a panel may straddle two).
            let (lo, hi) = (p * NR, out.min((p + 1) * NR));
            let mut first = 0;
            for w in ws {
                let (a, b) = (lo.max(first), hi.min(first + w.nrows()));
                if a < b {
                    transpose_into(
                        w.slice(s![a - first..b - first, ..]),
                        &mut panel[a - lo..],
                        NR,
                    );
                }
                first += w.nrows();
            }
        };
        if out * inp >= MIN_TASK_FMAS {
            use rayon::prelude::*;
            data.par_chunks_mut((inp * NR).max(1))
                .enumerate()
                .for_each(pack_panel);
        } else {
            data.chunks_mut((inp * NR).max(1))
                .enumerate()
                .for_each(pack_panel);
        }
        PackedWeight { out, inp, data }
    }

    /// Output features (rows of the unpacked matrix).
    pub fn out_features(&self) -> usize {
        self.out
    }

    /// Input features (columns of the unpacked matrix).
    pub fn in_features(&self) -> usize {
        self.inp
    }

    /// Number of panels of [`NR`] output features.
    pub fn panels(&self) -> usize {
        self.out.div_ceil(NR)
    }

    fn panel(&self, p: usize) -> &[f32] {
        &self.data[p * self.inp * NR..(p + 1) * self.inp * NR]
    }
}

/// Writes `src` (`[n, k]`, `n <= ld`) transposed into `dst` as `k` rows of stride `ld`:
/// `dst[kk * ld + j] = src[j][kk]`.
fn transpose_into(src: ArrayView2<f32>, dst: &mut [f32], ld: usize) {
    let n = src.nrows();
    if src.strides()[1] == 1 || src.ncols() <= 1 {
        // Row-major source: gather one element from each row per output row.
        let rows: Vec<&[f32]> = src
            .outer_iter()
            .map(|r| r.to_slice().expect("unit column stride"))
            .collect();
        for (kk, d) in dst.chunks_mut(ld).take(src.ncols()).enumerate() {
            for (dj, r) in d.iter_mut().zip(&rows) {
                *dj = r[kk];
            }
        }
    } else if src.strides()[0] == 1 {
        // Column-major source (a transposed view): columns copy as slices.
        for (d, c) in dst.chunks_mut(ld).zip(src.axis_iter(Axis(1))) {
            d[..n].copy_from_slice(c.to_slice().expect("unit row stride"));
        }
    } else {
        for (d, c) in dst.chunks_mut(ld).zip(src.axis_iter(Axis(1))) {
            d[..n].iter_mut().zip(c).for_each(|(dj, &v)| *dj = v);
        }
    }
}

/// `MR` consecutive rows of an activation matrix, read in place by the kernels: row `i`
/// is the `k` values at `ptr + i * stride` (unit column stride).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowBlock<'a> {
    ptr: *const f32,
    stride: usize,
    k: usize,
    _rows: PhantomData<&'a f32>,
}

// SAFETY: a RowBlock only reads f32 values borrowed for 'a, as a `&'a [f32]` would.
unsafe impl Send for RowBlock<'_> {}
// SAFETY: as above; nothing is written through it.
unsafe impl Sync for RowBlock<'_> {}

impl<'a> RowBlock<'a> {
    /// Rows `r0..r0 + MR` of `x` (`x.strides()[1] == 1`, non-negative row stride).
    fn of(x: &ArrayView2<'a, f32>, r0: usize) -> Self {
        assert!(r0 + MR <= x.nrows() && (x.ncols() <= 1 || x.strides()[1] == 1));
        RowBlock {
            // In bounds: r0 < nrows.
            ptr: x.row(r0).as_ptr(),
            stride: usize::try_from(x.strides()[0]).expect("non-negative row stride"),
            k: x.ncols(),
            _rows: PhantomData,
        }
    }

    /// The rows of a row-major `[MR, k]` buffer.
    fn dense(buf: &'a [f32], k: usize) -> Self {
        assert_eq!(buf.len(), MR * k);
        RowBlock {
            ptr: buf.as_ptr(),
            stride: k,
            k,
            _rows: PhantomData,
        }
    }
}

/// `x` with unit column stride and non-negative row stride, copying it only if needed.
fn readable(x: ArrayView2<f32>) -> CowArray<f32, Ix2> {
    let unit = x.ncols() <= 1 || x.strides()[1] == 1;
    if unit && x.strides()[0] >= 0 {
        CowArray::from(x)
    } else {
        CowArray::from(x.as_standard_layout().into_owned())
    }
}

/// `x w^T` as a new `[rows, out]` matrix.
///
/// Panics if the input widths differ (a programming error).
pub fn matmul(x: ArrayView2<f32>, w: &PackedWeight) -> Array2<f32> {
    let mut y = Array2::zeros((x.nrows(), w.out));
    matmul_into(x, w, 0..w.panels(), y.view_mut(), false);
    y
}

/// Writes (or with `add`, adds) the output columns of weight panels `panels` of `x w^T`
/// into `out`, shaped `[rows, columns of those panels]` (the last panel may be partial).
/// Rows of `out` must be contiguous.
///
/// Panics on a shape mismatch (a programming error).
pub fn matmul_into(
    x: ArrayView2<f32>,
    w: &PackedWeight,
    panels: Range<usize>,
    out: ArrayViewMut2<f32>,
    add: bool,
) {
    assert_eq!(x.ncols(), w.inp, "input widths differ");
    assert!(panels.end <= w.panels());
    let cols = (panels.end * NR)
        .min(w.out)
        .saturating_sub(panels.start * NR);
    assert_eq!(out.dim(), (x.nrows(), cols), "output shape");
    let x = readable(x);
    // The last, partial row block, zero-padded to MR rows.
    let full = x.nrows() / MR * MR;
    let mut tail = vec![0.0f32; if full < x.nrows() { MR * x.ncols() } else { 0 }];
    for (dst, row) in tail
        .chunks_mut(x.ncols().max(1))
        .zip(x.slice(s![full.., ..]).outer_iter())
    {
        dst.iter_mut().zip(row).for_each(|(d, &v)| *d = v);
    }
    let blocks: Vec<RowBlock> = (0..full)
        .step_by(MR)
        .map(|r0| RowBlock::of(&x.view(), r0))
        .chain((full < x.nrows()).then(|| RowBlock::dense(&tail, x.ncols())))
        .collect();
    split(&blocks, w, panels, out, add);
}

fn split(
    blocks: &[RowBlock],
    w: &PackedWeight,
    panels: Range<usize>,
    mut out: ArrayViewMut2<f32>,
    add: bool,
) {
    let n = panels.len();
    if n >= 2 && out.nrows() * w.inp * NR * n >= 2 * MIN_TASK_FMAS {
        let mid = panels.start + n / 2;
        let (left, right) = out.view_mut().split_at(Axis(1), (n / 2) * NR);
        rayon::join(
            || split(blocks, w, panels.start..mid, left, add),
            || split(blocks, w, mid..panels.end, right, add),
        );
        return;
    }
    let width = out.ncols();
    // Row slices once: slicing the view per tile would cost as much as a small kernel.
    let mut rows: Vec<&mut [f32]> = out
        .outer_iter_mut()
        .map(|r| r.into_slice().expect("contiguous output rows"))
        .collect();
    let mut tile = [[0.0f32; NR]; MR];
    for (pi, p) in panels.enumerate() {
        let wp = w.panel(p);
        let c0 = pi * NR;
        let cols = NR.min(width - c0);
        for (&block, block_rows) in blocks.iter().zip(rows.chunks_mut(MR)) {
            kernel(block, wp, &mut tile);
            for (row, t) in block_rows.iter_mut().zip(&tile) {
                let dst = &mut row[c0..c0 + cols];
                // Full panels as fixed-size arrays: inline vector moves, no memcpy call.
                match (<&mut [f32; NR]>::try_from(&mut *dst), add) {
                    (Ok(d), false) => *d = *t,
                    (Ok(d), true) => d.iter_mut().zip(t).for_each(|(d, &v)| *d += v),
                    (Err(_), false) => dst.copy_from_slice(&t[..cols]),
                    (Err(_), true) => dst.iter_mut().zip(t).for_each(|(d, &v)| *d += v),
                }
            }
        }
    }
}

/// The micro-kernels. All compute the same fused-multiply-add chains, so they agree bit
/// for bit; the fastest one the CPU supports is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kernel {
    /// AVX-512F intrinsics (x86-64).
    #[cfg(target_arch = "x86_64")]
    Avx512,
    /// The portable kernel compiled for AVX2 + FMA (x86-64).
    #[cfg(target_arch = "x86_64")]
    Avx2Fma,
    /// The portable kernel for the build's baseline target.
    Portable,
}

impl Kernel {
    /// The kernels this CPU can run, fastest first.
    #[cfg(test)]
    pub(crate) fn available() -> Vec<Kernel> {
        let mut v = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                v.push(Kernel::Avx512);
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                v.push(Kernel::Avx2Fma);
            }
        }
        v.push(Kernel::Portable);
        v
    }

    /// `tile = a w^T` for one row block `a` and one weight panel `w` (`[k][NR]`).
    pub(crate) fn run(self, a: RowBlock, w: &[f32], tile: &mut [[f32; NR]; MR]) {
        assert!(w.len() >= a.k * NR);
        match self {
            // SAFETY: the variant exists only when the CPU reported the feature; `a` reads
            // MR rows of k values (its invariant) and `w` holds k rows (asserted above).
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => unsafe { avx512::kernel(a, w.as_ptr(), tile) },
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2Fma => unsafe { kernel_avx2_fma(a, w, tile) },
            Kernel::Portable => kernel_portable(a, w, tile),
        }
    }
}

fn kernel(a: RowBlock, w: &[f32], tile: &mut [[f32; NR]; MR]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return Kernel::Avx512.run(a, w, tile);
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return Kernel::Avx2Fma.run(a, w, tile);
        }
    }
    Kernel::Portable.run(a, w, tile)
}

#[inline(always)]
fn kernel_generic(a: RowBlock, w: &[f32], tile: &mut [[f32; NR]; MR]) {
    let rows: [&[f32]; MR] = std::array::from_fn(|i| {
        // SAFETY: a RowBlock's row i holds k readable values at ptr + i * stride.
        unsafe { std::slice::from_raw_parts(a.ptr.add(i * a.stride), a.k) }
    });
    let mut c = [[0.0f32; NR]; MR];
    for (kk, wk) in w.chunks_exact(NR).take(a.k).enumerate() {
        for (ci, row) in c.iter_mut().zip(&rows) {
            let ai = row[kk];
            for (cij, &wj) in ci.iter_mut().zip(wk) {
                *cij = ai.mul_add(wj, *cij);
            }
        }
    }
    *tile = c;
}

fn kernel_portable(a: RowBlock, w: &[f32], tile: &mut [[f32; NR]; MR]) {
    kernel_generic(a, w, tile)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn kernel_avx2_fma(a: RowBlock, w: &[f32], tile: &mut [[f32; NR]; MR]) {
    kernel_generic(a, w, tile)
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{MR, NR, RowBlock};
    use std::arch::x86_64::{
        __m512, _MM_HINT_T0, _mm_prefetch, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_set1_ps,
        _mm512_setzero_ps, _mm512_storeu_ps,
    };

    /// Lanes per register.
    const L: usize = 16;
    /// Registers per panel row.
    const V: usize = NR / L;
    /// Prefetch distance in the weight panel: 16 input indices (3 KiB) ahead, which hides
    /// the DRAM latency of a panel's first pass (measured: +10-15% on the 49,152 x 576
    /// LM head, no change on the layer shapes).
    const PREFETCH: usize = 16 * NR;

    /// # Safety
    /// The CPU supports AVX-512F; `a` reads MR rows of `a.k` values (its invariant) and `w`
    /// holds `a.k * NR` floats.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn kernel(a: RowBlock, w: *const f32, tile: &mut [[f32; NR]; MR]) {
        let rows: [*const f32; MR] = std::array::from_fn(|i| a.ptr.wrapping_add(i * a.stride));
        let mut c: [[__m512; V]; MR] = [[_mm512_setzero_ps(); V]; MR];
        for kk in 0..a.k {
            // SAFETY: kk < k, so the weight reads are inside `w` (caller contract).
            let wp = unsafe { w.add(kk * NR) };
            let mut wv = [_mm512_setzero_ps(); V];
            for (v, wr) in wv.iter_mut().enumerate() {
                // A prefetch never faults; past the panel's end it only wastes a load slot.
                _mm_prefetch::<_MM_HINT_T0>(wp.wrapping_add(PREFETCH + v * L).cast());
                *wr = unsafe { _mm512_loadu_ps(wp.add(v * L)) };
            }
            for (ci, row) in c.iter_mut().zip(&rows) {
                // SAFETY: row i holds k values (RowBlock invariant), kk < k.
                let ai = _mm512_set1_ps(unsafe { *row.add(kk) });
                for (cv, &wr) in ci.iter_mut().zip(&wv) {
                    *cv = _mm512_fmadd_ps(ai, wr, *cv);
                }
            }
        }
        for (ti, ci) in tile.iter_mut().zip(&c) {
            for (v, &cv) in ci.iter().enumerate() {
                // SAFETY: a tile row holds NR = V * L floats.
                unsafe { _mm512_storeu_ps(ti.as_mut_ptr().add(v * L), cv) };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pseudo(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    fn naive(x: ArrayView2<f32>, w: ArrayView2<f32>) -> Array2<f64> {
        Array2::from_shape_fn((x.nrows(), w.nrows()), |(i, j)| {
            (0..x.ncols())
                .map(|k| f64::from(x[[i, k]]) * f64::from(w[[j, k]]))
                .sum()
        })
    }

    #[test]
    fn matches_naive_on_ragged_shapes_and_strides() {
        for &(m, k, n) in &[(1, 1, 1), (7, 5, 3), (9, 33, 50), (17, 64, 97), (8, 16, 48)] {
            let x = Array2::from_shape_vec((m, k), pseudo(m * k, 1)).unwrap();
            let w = Array2::from_shape_vec((n, k), pseudo(n * k, 2)).unwrap();
            let want = naive(x.view(), w.view());
            let wp = PackedWeight::new(w.view());
            let got = matmul(x.view(), &wp);
            // Each output is a sum of k products of values in [-1, 1]: f32 rounding error
            // is at most about k * 2^-24 * k in absolute terms.
            let tol = (k * k) as f64 * 6e-8 + 1e-7;
            for ((i, j), &g) in got.indexed_iter() {
                assert!(
                    (f64::from(g) - want[[i, j]]).abs() <= tol,
                    "{m}x{k}x{n} at {i},{j}"
                );
            }
            // Activations in other layouts (column-major, strided rows) give the same bits.
            let xt = x.t().to_owned();
            assert_eq!(matmul(xt.t(), &wp), got);
            let wide = ndarray::concatenate(Axis(1), &[x.view(), x.view()]).unwrap();
            assert_eq!(matmul(wide.slice(s![.., ..k]), &wp), got);
            // A transposed (strided) view packs to the same weight.
            let wt = w.t().to_owned();
            assert_eq!(PackedWeight::new(wt.t()), PackedWeight::new(w.view()));
        }
    }

    #[test]
    fn kernels_agree_bitwise_and_panels_compose() {
        let (m, k, n) = (19, 70, 150);
        let x = Array2::from_shape_vec((m, k), pseudo(m * k, 3)).unwrap();
        let w = Array2::from_shape_vec((n, k), pseudo(n * k, 4)).unwrap();
        let wp = PackedWeight::new(w.view());
        let kernels = Kernel::available();
        assert!(kernels.contains(&Kernel::Portable));
        for r0 in (0..m - MR).step_by(5) {
            let block = RowBlock::of(&x.view(), r0);
            for p in 0..wp.panels() {
                let mut first = [[0.0; NR]; MR];
                kernels[0].run(block, wp.panel(p), &mut first);
                for kern in &kernels[1..] {
                    let mut t = [[0.0; NR]; MR];
                    kern.run(block, wp.panel(p), &mut t);
                    assert_eq!(t, first, "{kern:?} differs from {:?}", kernels[0]);
                }
            }
        }
        // Panel ranges and accumulation compose to the whole product.
        let full = matmul(x.view(), &wp);
        let mut parts = Array2::from_elem((m, n), 1.0f32);
        matmul_into(x.view(), &wp, 0..1, parts.slice_mut(s![.., ..NR]), true);
        matmul_into(
            x.view(),
            &wp,
            1..wp.panels(),
            parts.slice_mut(s![.., NR..]),
            false,
        );
        parts.slice_mut(s![.., ..NR]).mapv_inplace(|v| v - 1.0);
        let diff = (&parts - &full)
            .mapv(f32::abs)
            .fold(0.0f32, |a, &b| a.max(b));
        assert!(diff <= 1e-6, "{diff}");
        assert_eq!(parts.slice(s![.., NR..]), full.slice(s![.., NR..]));
    }

    #[test]
    fn stacked_equals_concatenated_and_thread_count_is_irrelevant() {
        // Large enough (200 x 192 x 600 multiply-adds) to be split over threads.
        let (m, k) = (200, 192);
        let x = Array2::from_shape_vec((m, k), pseudo(m * k, 5)).unwrap();
        let a = Array2::from_shape_vec((100, k), pseudo(100 * k, 6)).unwrap();
        let b = Array2::from_shape_vec((500, k), pseudo(500 * k, 7)).unwrap();
        let cat = ndarray::concatenate(Axis(0), &[a.view(), b.view()]).unwrap();
        let ws = PackedWeight::stacked(&[a.view(), b.view()]);
        assert_eq!(ws, PackedWeight::new(cat.view()));
        let run = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| matmul(x.view(), &ws))
        };
        assert_eq!(run(1), run(2));
        assert_eq!(run(1), run(3));
    }
}
