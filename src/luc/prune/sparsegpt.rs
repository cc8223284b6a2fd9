//! SparseGPT (Frantar & Alistarh, "SparseGPT: Massive Language Models Can Be Accurately
//! Pruned in One-Shot", ICML'23), Algorithm 1 as in the authors' `fasterprune`:
//!
//! 1. `H = 2 X^T X / n` (given). Dead inputs (`H_jj = 0`: the feature is zero on every
//!    calibration token) get `H_jj = 1` and their weight column is set to 0, as in the
//!    reference (the column cannot affect the calibration output).
//! 2. Dampening: `H += lambda I` with `lambda = damp_ratio * mean(diag H)` (0.01).
//! 3. `Hinv = U`, the upper Cholesky factor of `H^-1`
//!    ([`crate::llm::linalg::upper_cholesky_of_inverse`]).
//!    Row `c` of `U`, divided by `U_cc`, is the OBS update direction for column `c`
//!    restricted to the not-yet-processed columns `c..`, and `U_cc^2` is
//!    `[(H_{c:,c:})^-1]_00`.
//! 4. Columns are processed in blocks of `B = 128`. For unstructured sparsity the block's
//!    mask is chosen once at the block start from the current weights, by the OBS saliency
//!    `w^2 / U_cc^2`, across all rows and the block's columns (adaptive mask selection).
//!    Within the block, column by column: `q = w` masked, `err = (w - q) / U_cc`, the
//!    block's later columns get `w -= err * U[c, c+1..]` (every row independently, in
//!    parallel); the pruned weights are set to exactly 0.
//! 5. Lazy batch update: once per block, `W[:, i2..] -= Err · U[i1..i2, i2..]` (one GEMM).
//!
//! Exactness of the sparsity. The reference thresholds each block at the
//! `int(p * rows * B)`-th smallest saliency and prunes everything `<=` it, which prunes
//! one weight more than `p` asks (more on ties) and lets the rounding drift across blocks.
//! Here block `b` prunes exactly `round(p * e_b) - round(p * s_b)` weights (`s_b`, `e_b`
//! the number of matrix elements before and up to the end of the block, column-block
//! order), chosen as the lowest saliencies with ties broken by position. So each block
//! gets `floor` or `ceil` of `p * rows * B`, the choice across rows and columns within a
//! block stays adaptive as in the paper, and **the matrix total is exactly
//! `round(p * rows * cols)`**; individual rows are not equalised.
//!
//! N:M: at every column `c` with `c % m == 0` inside a block, each row prunes the `n`
//! lowest saliencies `w^2 / U_cc^2` among columns `c..c+m`, using the weights as updated by
//! the earlier columns (as in the reference). The block size is rounded down to a
//! multiple of `m` (or raised to `m` when `m > 128`) so no group straddles two blocks.

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, Zip, s};

use super::{Pruned, SparsityPattern, mask};
use crate::llm::linalg::upper_cholesky_of_inverse_into;
use crate::{Error, Result};

/// Tuning knobs of SparseGPT; the defaults are the paper's and the reference code's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SparseGptOptions {
    /// Columns per lazy-update block (`B`, default 128).
    pub block_size: usize,
    /// Dampening as a fraction of the mean Hessian diagonal (default 0.01).
    pub damp_ratio: f64,
}

impl Default for SparseGptOptions {
    fn default() -> Self {
        SparseGptOptions {
            block_size: 128,
            damp_ratio: 0.01,
        }
    }
}

/// Block size actually used for a pattern (a multiple of `m` for N:M).
fn effective_block(block: usize, pattern: SparsityPattern) -> usize {
    match pattern {
        SparsityPattern::Unstructured => block,
        SparsityPattern::NM { m, .. } if m > block => m,
        SparsityPattern::NM { m, .. } => block - block % m,
    }
}

/// Prunes `w` (`[out, in]`) with SparseGPT given the Hessian `h = 2 X^T X / n`
/// (`[in, in]`), e.g. from [`super::Hessian::matrix`].
///
/// Errors like [`super::prune`], and when `h` has the wrong shape, is not finite or is
/// not positive definite after dampening.
pub fn sparsegpt(
    w: ArrayView2<f32>,
    h: ArrayView2<f32>,
    sparsity: f64,
    pattern: SparsityPattern,
    options: &SparseGptOptions,
) -> Result<Pruned> {
    if super::validate(w, sparsity, pattern)? {
        return Ok(super::unpruned(w));
    }
    sparsegpt_owned(w, h.to_owned(), sparsity, pattern, options)
}

/// [`sparsegpt`] taking the Hessian by value (it is damped and factored in place); the
/// caller has validated `w`, `sparsity` and `pattern` and handled the nothing-to-prune
/// case.
pub(crate) fn sparsegpt_owned(
    w: ArrayView2<f32>,
    mut h: Array2<f32>,
    sparsity: f64,
    pattern: SparsityPattern,
    options: &SparseGptOptions,
) -> Result<Pruned> {
    let (rows, cols) = w.dim();
    if h.dim() != (cols, cols) {
        return Err(Error::Other(format!(
            "SparseGPT: Hessian is {:?} but the weight has {cols} input features",
            h.dim()
        )));
    }
    if options.block_size == 0 || !(options.damp_ratio >= 0.0 && options.damp_ratio.is_finite()) {
        return Err(Error::input(
            "sparsegpt",
            "options",
            format!(
                "block_size must be >= 1 and damp_ratio finite and >= 0, got {} and {}",
                options.block_size, options.damp_ratio
            ),
        ));
    }
    let mut wk = w.as_standard_layout().into_owned();

    // Dead inputs: as in the reference, H_jj = 1 and the weight column is zeroed.
    for j in 0..cols {
        if h[[j, j]] == 0.0 {
            h[[j, j]] = 1.0;
            wk.column_mut(j).fill(0.0);
        }
    }
    let mean_diag = h.diag().iter().map(|&v| f64::from(v)).sum::<f64>() / cols.max(1) as f64;
    let damp = (options.damp_ratio * mean_diag) as f32;
    h.diag_mut().mapv_inplace(|v| v + damp);
    let u = upper_cholesky_of_inverse_into(h).map_err(|e| {
        Error::Other(format!(
            "SparseGPT: the Hessian is not positive definite after dampening by {} x mean(diag H): {e}",
            options.damp_ratio
        ))
    })?;

    let block = effective_block(options.block_size, pattern);
    let block_counts = mask::distribute(
        sparsity,
        (0..cols)
            .step_by(block)
            .map(|i1| rows * ((i1 + block).min(cols) - i1)),
    );
    let mut keep = Array2::from_elem((rows, cols), true);
    let mut err = Array2::<f32>::zeros((rows, block.min(cols)));

    for (bi, i1) in (0..cols).step_by(block).enumerate() {
        let i2 = (i1 + block).min(cols);
        let count = i2 - i1;
        let u_blk: Vec<f32> = u.slice(s![i1..i2, i1..i2]).iter().copied().collect();
        let diag: Vec<f32> = (0..count).map(|i| u_blk[i * count + i]).collect();

        if pattern == SparsityPattern::Unstructured {
            let mut saliency = wk.slice(s![.., i1..i2]).mapv(|v| v * v);
            for mut row in saliency.rows_mut() {
                for (v, d) in row.iter_mut().zip(&diag) {
                    *v /= d * d;
                }
            }
            let block_keep = mask::whole_matrix(saliency.view(), block_counts[bi]);
            keep.slice_mut(s![.., i1..i2]).assign(&block_keep);
        }

        Zip::from(wk.slice_mut(s![.., i1..i2]).rows_mut())
            .and(keep.slice_mut(s![.., i1..i2]).rows_mut())
            .and(err.slice_mut(s![.., ..count]).rows_mut())
            .par_for_each(|mut w_row, mut keep_row, mut err_row| {
                let mut wv = w_row.to_vec();
                let mut kv = keep_row.to_vec();
                let (mut sal, mut idx) = (Vec::new(), Vec::new());
                for i in 0..count {
                    if let SparsityPattern::NM { n, m } = pattern
                        && i % m == 0
                    {
                        sal.clear();
                        sal.extend((i..i + m).map(|c| wv[c] * wv[c] / (diag[c] * diag[c])));
                        mask::smallest_into(&sal, n, &mut idx);
                        for &j in &idx {
                            kv[i + j] = false;
                        }
                    }
                    let wi = wv[i];
                    let q = if kv[i] { wi } else { 0.0 };
                    let e = (wi - q) / diag[i];
                    err_row[i] = e;
                    if e != 0.0 {
                        let u_row = &u_blk[i * count + i + 1..(i + 1) * count];
                        for (x, &uij) in wv[i + 1..].iter_mut().zip(u_row) {
                            *x -= e * uij;
                        }
                    }
                    wv[i] = q;
                }
                for (dst, v) in w_row.iter_mut().zip(wv) {
                    *dst = v;
                }
                for (dst, k) in keep_row.iter_mut().zip(kv) {
                    *dst = k;
                }
            });

        if i2 < cols {
            let mut rest = wk.slice_mut(s![.., i2..]);
            general_mat_mul(
                -1.0,
                &err.slice(s![.., ..count]),
                &u.slice(s![i1..i2, i2..]),
                1.0,
                &mut rest,
            );
        }
    }
    Ok(Pruned::new(wk, keep))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_is_a_multiple_of_m() {
        assert_eq!(effective_block(128, SparsityPattern::Unstructured), 128);
        assert_eq!(
            effective_block(128, SparsityPattern::NM { n: 2, m: 4 }),
            128
        );
        assert_eq!(
            effective_block(128, SparsityPattern::NM { n: 1, m: 3 }),
            126
        );
        assert_eq!(
            effective_block(128, SparsityPattern::NM { n: 1, m: 200 }),
            200
        );
    }
}
