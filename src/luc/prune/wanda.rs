//! Wanda (Sun et al., "A Simple and Effective Pruning Approach for Large Language
//! Models", ICLR'24): score `S_ij = |W_ij| * ||X_j||_2`, where `||X_j||_2` is the norm of
//! input feature `j` over all calibration tokens; weights are compared **per output row**
//! (the paper's per-output comparison group), with no weight update.
//!
//! Unstructured: row `r` prunes its lowest scores; the per-row counts are `floor` or `ceil`
//! of `p * in_features`, distributed so the matrix total is exactly
//! `round(p * rows * in_features)` (see [`super::mask::distribute`]). N:M: per group.

use ndarray::{Array2, ArrayView1, ArrayView2, Axis};

use super::{SparsityPattern, mask};

/// Keep-mask of Wanda pruning (`true` = kept) given the input-feature norms.
pub fn wanda_mask(
    w: ArrayView2<f32>,
    column_norms: ArrayView1<f32>,
    sparsity: f64,
    pattern: SparsityPattern,
) -> Array2<bool> {
    let scores = w.mapv(f32::abs) * column_norms.insert_axis(Axis(0));
    match pattern {
        SparsityPattern::Unstructured => {
            let counts = mask::distribute(sparsity, std::iter::repeat_n(w.ncols(), w.nrows()));
            mask::per_row(scores.view(), &counts)
        }
        SparsityPattern::NM { n, m } => mask::n_of_m(scores.view(), n, m),
    }
}
