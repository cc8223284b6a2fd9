//! Magnitude pruning: drop the weights of smallest `|W_ij|`.
//!
//! Unstructured selection is over the whole matrix (one threshold per layer, as in the
//! magnitude baseline of the SparseGPT paper), N:M selection within each group.

use ndarray::{Array2, ArrayView2};

use super::{SparsityPattern, mask};

/// Keep-mask of magnitude pruning (`true` = kept).
pub fn magnitude_mask(w: ArrayView2<f32>, sparsity: f64, pattern: SparsityPattern) -> Array2<bool> {
    let scores = w.mapv(f32::abs);
    match pattern {
        SparsityPattern::Unstructured => {
            mask::whole_matrix(scores.view(), mask::pruned_count(sparsity, w.len()))
        }
        SparsityPattern::NM { n, m } => mask::n_of_m(scores.view(), n, m),
    }
}
