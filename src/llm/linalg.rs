//! Dense linear algebra for the pruners: Gram matrix, Cholesky, triangular inverse, SPD
//! inverse and the upper Cholesky factor of an inverse.
//!
//! All kernels are blocked so that almost every flop runs in ndarray's `dot` /
//! `general_mat_mul` (matrixmultiply, multi-threaded, AVX2/AVX-512 micro-kernels); the
//! small diagonal blocks are factored in f64 so their rounding does not add to the f32
//! GEMM error. Matrices are f32 because SparseGPT's reference runs in float32.
//!
//! Flop counts for an `n x n` matrix: [`cholesky`] `n^3/3` (+ `256 n^2` for the panel
//! solves), [`invert_lower_triangular`] `n^3/3` (recursive halving with
//! triangular-times-dense products), [`upper_cholesky_of_inverse`] `2n^3/3` (one Cholesky
//! and one triangular inverse, see its docs), [`gram`] `(n + GRAM_BLOCK) * n * tokens`
//! (only the lower block triangle is multiplied).

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis, s};

use crate::{Error, Result};

/// Column-block width of the blocked Cholesky (the diagonal blocks are factored unblocked).
const CHOLESKY_BLOCK: usize = 256;
/// Below this size the triangular inverse is done by substitution.
const TRI_INV_LEAF: usize = 128;
/// Column-block width of the symmetric Gram product.
const GRAM_BLOCK: usize = 256;

fn check_square(a: &ArrayView2<f32>, what: &str) -> Result<usize> {
    let (r, c) = a.dim();
    if r != c {
        return Err(Error::Other(format!(
            "{what}: matrix must be square, got {r} x {c}"
        )));
    }
    if let Some(((i, j), v)) = crate::llm::first_non_finite(a.view()) {
        return Err(Error::Other(format!(
            "{what}: entry ({i}, {j}) = {v} is not finite"
        )));
    }
    Ok(r)
}

/// `X^T X` for `X` shaped `[tokens, features]`, shaped `[features, features]`.
///
/// Only the blocks on and below the diagonal are multiplied (each a full GEMM over the
/// tokens), the upper triangle is mirrored, so the result is exactly symmetric and costs
/// a bit over half of a general product.
pub fn gram(x: ArrayView2<f32>) -> Array2<f32> {
    let n = x.ncols();
    let mut g = Array2::<f32>::zeros((n, n));
    add_gram_unchecked(x, &mut g);
    g
}

/// `G += X^T X` for a symmetric `G` (`[features, features]`), in place: the lower block
/// triangle is accumulated by GEMMs with `beta = 1`, then mirrored.
/// Errors when `G` is not `features x features`.
pub fn add_gram(x: ArrayView2<f32>, g: &mut Array2<f32>) -> Result<()> {
    let n = x.ncols();
    if g.dim() != (n, n) {
        return Err(Error::Other(format!(
            "add_gram: G is {:?} but X has {n} features",
            g.dim()
        )));
    }
    add_gram_unchecked(x, g);
    Ok(())
}

fn add_gram_unchecked(x: ArrayView2<f32>, g: &mut Array2<f32>) {
    let n = x.ncols();
    for i0 in (0..n).step_by(GRAM_BLOCK) {
        let i1 = (i0 + GRAM_BLOCK).min(n);
        // One GEMM for the whole block row left of and including the diagonal:
        // G[i0..i1, 0..i1] = X[:, i0..i1]^T X[:, 0..i1].
        let xi = x.slice(s![.., i0..i1]);
        let xj = x.slice(s![.., 0..i1]);
        let mut gij = g.slice_mut(s![i0..i1, 0..i1]);
        general_mat_mul(1.0, &xi.t(), &xj, 1.0, &mut gij);
    }
    // Mirror the strict lower triangle into the upper one, tile by tile so both the rows
    // read and the rows written stay in cache.
    const TILE: usize = 64;
    for i0 in (0..n).step_by(TILE) {
        for j0 in (i0..n).step_by(TILE) {
            for i in i0..(i0 + TILE).min(n) {
                for j in j0.max(i + 1)..(j0 + TILE).min(n) {
                    g[[i, j]] = g[[j, i]];
                }
            }
        }
    }
}

/// `sum_k a[k] * b[k]` with four independent accumulators, so the loop vectorises
/// (a single running sum is one long dependency chain of f64 adds).
fn dot_f64(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let (ac, bc) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = ac
        .remainder()
        .iter()
        .zip(bc.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ac.zip(bc) {
        for i in 0..4 {
            acc[i] += x[i] * y[i];
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// Unblocked Cholesky of a small SPD block in f64; `offset` only labels errors.
fn cholesky_small(a: ArrayView2<f32>, offset: usize, n_total: usize) -> Result<Array2<f64>> {
    let m = a.nrows();
    // Row-major lower factor: row i holds L[i, 0..=i] in l[i*m..].
    let mut l = vec![0.0f64; m * m];
    for j in 0..m {
        let row_j = &mut l[j * m..(j + 1) * m];
        let d = f64::from(a[[j, j]]) - dot_f64(&row_j[..j], &row_j[..j]);
        if !(d > 0.0 && d.is_finite()) {
            return Err(Error::Other(format!(
                "matrix is not symmetric positive definite: Cholesky pivot {d:e} at row {} of {n_total}",
                offset + j
            )));
        }
        let djj = d.sqrt();
        row_j[j] = djj;
        let row_j: Vec<f64> = row_j[..j].to_vec();
        for i in (j + 1)..m {
            let row_i = &mut l[i * m..(i + 1) * m];
            row_i[j] = (f64::from(a[[i, j]]) - dot_f64(&row_i[..j], &row_j)) / djj;
        }
    }
    Ok(Array2::from_shape_vec((m, m), l).expect("m * m entries"))
}

/// Inverse of a small lower-triangular matrix in f64, row by row:
/// `X[i, :] = (e_i - sum_{k<i} L[i, k] X[k, :]) / L[i, i]` (contiguous row updates).
fn invert_lower_small(l: &Array2<f64>) -> Result<Array2<f64>> {
    let m = l.nrows();
    let mut x = vec![0.0f64; m * m];
    for i in 0..m {
        let d = l[[i, i]];
        if d == 0.0 || !d.is_finite() {
            return Err(Error::Other(format!(
                "triangular matrix is singular: diagonal entry {i} is {d}"
            )));
        }
        let (done, rest) = x.split_at_mut(i * m);
        let row_i = &mut rest[..m];
        row_i[i] = 1.0;
        for k in 0..i {
            let f = l[[i, k]];
            if f != 0.0 {
                // Row k of X is zero beyond column k.
                for (xi, xk) in row_i[..=k].iter_mut().zip(&done[k * m..k * m + k + 1]) {
                    *xi -= f * xk;
                }
            }
        }
        for v in &mut row_i[..=i] {
            *v /= d;
        }
    }
    Ok(Array2::from_shape_vec((m, m), x).expect("m * m entries"))
}

fn to_f32(a: &Array2<f64>) -> Array2<f32> {
    a.mapv(|v| v as f32)
}

/// Lower Cholesky factor `L` of a symmetric positive definite `A` (`L L^T = A`), reading
/// only the lower triangle of `A`.
///
/// Left-looking blocked algorithm: for each column block, one GEMM applies all previous
/// blocks, the diagonal block is factored unblocked in f64 and the panel below it is
/// solved with one GEMM against the inverse of the diagonal factor.
///
/// Errors (naming the failing pivot) when `A` is not square, not finite or not positive
/// definite.
pub fn cholesky(a: ArrayView2<f32>) -> Result<Array2<f32>> {
    cholesky_into(a.as_standard_layout().into_owned())
}

/// [`cholesky`] overwriting its (owned) argument: no second `n x n` buffer.
pub fn cholesky_into(a: Array2<f32>) -> Result<Array2<f32>> {
    let n = check_square(&a.view(), "cholesky")?;
    let mut l = standard_layout(a);
    for j0 in (0..n).step_by(CHOLESKY_BLOCK) {
        let j1 = (j0 + CHOLESKY_BLOCK).min(n);
        if j0 > 0 {
            // A[j0.., j0..j1] -= L[j0.., ..j0] L[j0..j1, ..j0]^T
            let (left, mut right) = l.view_mut().split_at(Axis(1), j0);
            let lhs = left.slice(s![j0.., ..]);
            let rhs = left.slice(s![j0..j1, ..]);
            let mut target = right.slice_mut(s![j0.., ..j1 - j0]);
            general_mat_mul(-1.0, &lhs, &rhs.t(), 1.0, &mut target);
        }
        let diag = cholesky_small(l.slice(s![j0..j1, j0..j1]), j0, n)?;
        if j1 < n {
            // L[j1.., j0..j1] = A[j1.., j0..j1] L_jj^-T
            let inv_t = to_f32(&invert_lower_small(&diag)?).reversed_axes();
            let panel = l.slice(s![j1.., j0..j1]).dot(&inv_t);
            l.slice_mut(s![j1.., j0..j1]).assign(&panel);
        }
        l.slice_mut(s![j0..j1, j0..j1]).assign(&to_f32(&diag));
    }
    for i in 0..n {
        for j in (i + 1)..n {
            l[[i, j]] = 0.0;
        }
    }
    Ok(l)
}

/// Inverse of a lower-triangular matrix (only its lower triangle is read).
///
/// Recursive halving `[[A, 0], [B, C]]^-1 = [[A^-1, 0], [-C^-1 B A^-1, C^-1]]`, with
/// substitution in f64 below 128 columns. Both products have a triangular factor and
/// are done by [`trmm_left_lower`] / [`trmm_right_lower`], so the whole inverse costs
/// `n^3/3` flops (the textbook count) instead of `2n^3/3` with dense products. Errors
/// when a diagonal entry is zero.
pub fn invert_lower_triangular(l: ArrayView2<f32>) -> Result<Array2<f32>> {
    check_square(&l, "invert_lower_triangular")?;
    invert_lower_rec(l)
}

fn invert_lower_rec(l: ArrayView2<f32>) -> Result<Array2<f32>> {
    let n = l.nrows();
    if n <= TRI_INV_LEAF {
        let l64 = Array2::from_shape_fn(
            (n, n),
            |(i, j)| {
                if j <= i { f64::from(l[[i, j]]) } else { 0.0 }
            },
        );
        return Ok(to_f32(&invert_lower_small(&l64)?));
    }
    let h = split_point(n);
    let a_inv = invert_lower_rec(l.slice(s![..h, ..h]))?;
    let c_inv = invert_lower_rec(l.slice(s![h.., h..]))?;
    // T = B A^-1, then the lower-left block -C^-1 T.
    let mut t = Array2::<f32>::zeros((n - h, h));
    trmm_right_lower(1.0, l.slice(s![h.., ..h]), a_inv.view(), 0.0, t.view_mut());
    let mut out = Array2::<f32>::zeros((n, n));
    trmm_left_lower(
        -1.0,
        c_inv.view(),
        t.view(),
        0.0,
        out.slice_mut(s![h.., ..h]),
    );
    out.slice_mut(s![..h, ..h]).assign(&a_inv);
    out.slice_mut(s![h.., h..]).assign(&c_inv);
    Ok(out)
}

/// Split of a recursive triangular kernel: half, rounded up to a multiple of the leaf
/// size so the leaves stay aligned.
fn split_point(n: usize) -> usize {
    (n / 2).div_ceil(TRI_INV_LEAF) * TRI_INV_LEAF
}

/// `out = alpha * T M + beta * out` with `T` lower triangular **with exact zeros above
/// the diagonal** (`n x n`) and `M` dense (`n x k`). Splitting `T = [[T1, 0], [T2, T3]]`:
/// top `T1 M1`, bottom `T2 M1 + T3 M2`; the zero block is never multiplied, so the cost is
/// `n^2 k` flops instead of `2 n^2 k`.
fn trmm_left_lower(
    alpha: f32,
    t: ArrayView2<f32>,
    m: ArrayView2<f32>,
    beta: f32,
    mut out: ArrayViewMut2<f32>,
) {
    let n = t.nrows();
    if n <= TRI_INV_LEAF {
        general_mat_mul(alpha, &t, &m, beta, &mut out);
        return;
    }
    let h = split_point(n);
    let (top, mut bottom) = out.view_mut().split_at(Axis(0), h);
    trmm_left_lower(
        alpha,
        t.slice(s![..h, ..h]),
        m.slice(s![..h, ..]),
        beta,
        top,
    );
    general_mat_mul(
        alpha,
        &t.slice(s![h.., ..h]),
        &m.slice(s![..h, ..]),
        beta,
        &mut bottom,
    );
    trmm_left_lower(
        alpha,
        t.slice(s![h.., h..]),
        m.slice(s![h.., ..]),
        1.0,
        bottom,
    );
}

/// `out = alpha * M T + beta * out` with `M` dense (`k x n`) and `T` lower triangular with
/// exact zeros above the diagonal (`n x n`): left `M1 T1 + M2 T2`, right `M2 T3`.
fn trmm_right_lower(
    alpha: f32,
    m: ArrayView2<f32>,
    t: ArrayView2<f32>,
    beta: f32,
    mut out: ArrayViewMut2<f32>,
) {
    let n = t.nrows();
    if n <= TRI_INV_LEAF {
        general_mat_mul(alpha, &m, &t, beta, &mut out);
        return;
    }
    let h = split_point(n);
    let (mut left, right) = out.view_mut().split_at(Axis(1), h);
    trmm_right_lower(
        alpha,
        m.slice(s![.., ..h]),
        t.slice(s![..h, ..h]),
        beta,
        left.view_mut(),
    );
    general_mat_mul(
        alpha,
        &m.slice(s![.., h..]),
        &t.slice(s![h.., ..h]),
        1.0,
        &mut left,
    );
    trmm_right_lower(
        alpha,
        m.slice(s![.., h..]),
        t.slice(s![h.., h..]),
        beta,
        right,
    );
}

/// Inverse of a symmetric positive definite matrix via its Cholesky factor:
/// `A^-1 = L^-T L^-1`.
pub fn inverse_spd(a: ArrayView2<f32>) -> Result<Array2<f32>> {
    let l = cholesky(a)?;
    let l_inv = invert_lower_triangular(l.view())?;
    let inv = l_inv.t().dot(&l_inv);
    // Symmetrise the rounding: the product is symmetric in exact arithmetic.
    let sym = (&inv + &inv.t()) * 0.5;
    Ok(sym)
}

/// Upper Cholesky factor `U` of `A^-1` (`U^T U = A^-1`, positive diagonal) for a
/// symmetric positive definite `A`: SparseGPT's `cholesky(cholesky_inverse(cholesky(H)),
/// upper=True)`.
///
/// Computed without forming `A^-1`: with `P` the order-reversing permutation, factor
/// `P A P = L' L'^T`; then `A = R R^T` with `R = P L' P` upper triangular, so
/// `A^-1 = R^-T R^-1` and `U = R^-1 = P L'^-1 P` is upper triangular with a positive
/// diagonal, i.e. the (unique) upper Cholesky factor of `A^-1`. One Cholesky and one
/// triangular inverse (`2n^3/3` flops) instead of three factorisations, and no rounding from
/// an explicit inverse.
pub fn upper_cholesky_of_inverse(a: ArrayView2<f32>) -> Result<Array2<f32>> {
    upper_cholesky_of_inverse_into(a.as_standard_layout().into_owned())
}

/// [`upper_cholesky_of_inverse`] consuming its argument (the Cholesky factor reuses its
/// buffer; peak memory about `2.75 n^2` floats instead of `4 n^2`).
pub fn upper_cholesky_of_inverse_into(a: Array2<f32>) -> Result<Array2<f32>> {
    check_square(&a.view(), "upper_cholesky_of_inverse")?;
    let mut flipped = standard_layout(a);
    reverse_both_axes(&mut flipped);
    let l = cholesky_into(flipped)?;
    let mut u = invert_lower_triangular(l.view())?;
    drop(l);
    reverse_both_axes(&mut u);
    Ok(u)
}

/// `a` in row-major layout (a no-op for the usual freshly allocated arrays).
fn standard_layout(a: Array2<f32>) -> Array2<f32> {
    if a.is_standard_layout() {
        a
    } else {
        a.as_standard_layout().into_owned()
    }
}

/// `P A P` for the order-reversing permutation `P`, in place: in row-major storage,
/// element `(i, j)` at `i*c + j` moves to `(r-1-i, c-1-j)` at `r*c - 1 - (i*c + j)`, so
/// reversing both axes is reversing the flat buffer.
fn reverse_both_axes(a: &mut Array2<f32>) {
    match a.as_slice_mut() {
        Some(flat) => flat.reverse(),
        None => {
            let flipped = a.slice(s![..;-1, ..;-1]).as_standard_layout().into_owned();
            *a = flipped;
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Deterministic standard-normal-ish samples (Box-Muller over a 64-bit LCG).
    pub(crate) fn gaussian(rows: usize, cols: usize, seed: u64) -> Array2<f32> {
        let mut state = seed ^ 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        Array2::from_shape_fn((rows, cols), |_| {
            let (u1, u2) = (next(), next());
            ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32
        })
    }

    /// A random SPD matrix `Z^T Z / m + 0.1 I`, well enough conditioned for f32.
    pub(crate) fn random_spd(n: usize, seed: u64) -> Array2<f32> {
        let z = gaussian(2 * n, n, seed);
        let mut a = gram(z.view()) / (2 * n) as f32;
        for i in 0..n {
            a[[i, i]] += 0.1;
        }
        a
    }

    fn max_abs_diff(a: &Array2<f32>, b: &Array2<f32>) -> f32 {
        (a - b).iter().fold(0.0f32, |m, v| m.max(v.abs()))
    }

    fn identity(n: usize) -> Array2<f32> {
        Array2::eye(n)
    }

    #[test]
    fn gram_matches_plain_product() {
        let x = gaussian(300, 700, 1);
        let g = gram(x.view());
        let reference = x.t().dot(&x);
        assert!(max_abs_diff(&g, &reference) < 1e-3);
        assert_eq!(g, g.t().to_owned(), "exactly symmetric");
        // Accumulating two halves gives the product of the whole.
        let mut acc = gram(x.slice(s![..100, ..]));
        add_gram(x.slice(s![100.., ..]), &mut acc).unwrap();
        assert!(add_gram(x.view(), &mut Array2::zeros((3, 3))).is_err());
        assert!(max_abs_diff(&acc, &reference) < 1e-3);
        assert_eq!(acc, acc.t().to_owned());
    }

    #[test]
    fn cholesky_reconstructs_spd_matrices() {
        // Sizes below, at and across the block boundary.
        for &n in &[1usize, 5, 200, 256, 257, 520] {
            let a = random_spd(n, n as u64);
            let l = cholesky(a.view()).unwrap();
            for i in 0..n {
                assert!(l[[i, i]] > 0.0);
                for j in (i + 1)..n {
                    assert_eq!(l[[i, j]], 0.0);
                }
            }
            let err = max_abs_diff(&l.dot(&l.t()), &a);
            assert!(err < 2e-5 * n as f32, "n={n}: |L L^T - A| = {err}");
        }
    }

    #[test]
    fn cholesky_hand_example() {
        // [[4, 2], [2, 5]] = [[2, 0], [1, 2]] [[2, 1], [0, 2]]
        let a = ndarray::array![[4.0f32, 2.0], [2.0, 5.0]];
        let l = cholesky(a.view()).unwrap();
        assert_eq!(l, ndarray::array![[2.0f32, 0.0], [1.0, 2.0]]);
    }

    #[test]
    fn cholesky_rejects_indefinite_and_non_square() {
        let a = ndarray::array![[1.0f32, 2.0], [2.0, 1.0]]; // eigenvalues 3, -1
        let e = cholesky(a.view()).unwrap_err().to_string();
        assert!(
            e.contains("not symmetric positive definite") && e.contains("row 1"),
            "{e}"
        );
        // A failure deep inside a blocked factorisation names the right row.
        let mut big = random_spd(300, 3);
        big[[280, 280]] = -5.0;
        let e = cholesky(big.view()).unwrap_err().to_string();
        assert!(e.contains("row 280 of 300"), "{e}");
        assert!(cholesky(Array2::<f32>::zeros((2, 3)).view()).is_err());
    }

    #[test]
    fn triangular_inverse_is_an_inverse() {
        for &n in &[3usize, 128, 129, 333, 700] {
            let l = cholesky(random_spd(n, 10 + n as u64).view()).unwrap();
            let li = invert_lower_triangular(l.view()).unwrap();
            let err = max_abs_diff(&l.dot(&li), &identity(n));
            assert!(err < 1e-4, "n={n}: {err}");
            for i in 0..n {
                for j in (i + 1)..n {
                    assert_eq!(li[[i, j]], 0.0);
                }
            }
        }
    }

    #[test]
    fn triangular_products_equal_dense_products() {
        let n = 600;
        let mut t = gaussian(n, n, 40);
        for i in 0..n {
            for j in (i + 1)..n {
                t[[i, j]] = 0.0;
            }
        }
        let m = gaussian(n, 70, 41);
        let mut left = gaussian(n, 70, 42);
        let expected = t.dot(&m) * 2.0 + &left * 0.5;
        trmm_left_lower(2.0, t.view(), m.view(), 0.5, left.view_mut());
        assert!(max_abs_diff(&left, &expected) < 1e-3);
        let m = gaussian(50, n, 43);
        let mut right = Array2::zeros((50, n));
        trmm_right_lower(-1.0, m.view(), t.view(), 0.0, right.view_mut());
        assert!(max_abs_diff(&right, &(-m.dot(&t))) < 1e-3);
    }

    #[test]
    fn spd_inverse_is_an_inverse() {
        for &n in &[4usize, 150, 300] {
            let a = random_spd(n, 20 + n as u64);
            let inv = inverse_spd(a.view()).unwrap();
            let err = max_abs_diff(&a.dot(&inv), &identity(n));
            assert!(err < 1e-4, "n={n}: |A A^-1 - I| = {err}");
        }
    }

    #[test]
    fn upper_factor_of_inverse_matches_the_three_step_reference() {
        for &n in &[2usize, 130, 257] {
            let a = random_spd(n, 30 + n as u64);
            let u = upper_cholesky_of_inverse(a.view()).unwrap();
            // Upper triangular with a positive diagonal.
            for i in 0..n {
                assert!(u[[i, i]] > 0.0);
                for j in 0..i {
                    assert_eq!(u[[i, j]], 0.0);
                }
            }
            // U^T U = A^-1, i.e. A U^T U = I.
            let err = max_abs_diff(&a.dot(&u.t().dot(&u)), &identity(n));
            assert!(err < 1e-4, "n={n}: {err}");
            // Equals the reference's route: explicit inverse, then its upper Cholesky
            // factor (transpose of the lower factor).
            let reference = cholesky(inverse_spd(a.view()).unwrap().view())
                .unwrap()
                .reversed_axes();
            let scale = reference.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let diff = max_abs_diff(&u, &reference);
            assert!(diff < 1e-4 * scale, "n={n}: {diff} vs scale {scale}");
        }
    }
}
