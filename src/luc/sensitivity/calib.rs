//! Per-layer calibration statistics and the error measure shared by sensitivity and
//! compression.

use crate::error::Result;
use crate::llm::checkpoint::Linear;
use crate::llm::forward::LinearInputs;
use crate::luc::prune::{
    Hessian, PruneMethod, SparseGptOptions, SparsityPattern, prune_with_hessian,
};
use ndarray::{Array2, ArrayView2, s};
use rayon::prelude::*;

/// Calibration statistics of one decoder layer: the Hessian `X^T X` of each distinct
/// linear input (q/k/v share one, gate/up share one), from the captured dense inputs.
pub struct LayerCalibration {
    attn_in: Hessian,
    o_in: Hessian,
    mlp_in: Hessian,
    down_in: Hessian,
}

impl LayerCalibration {
    /// Accumulates the four Hessians of `inputs` (in parallel).
    pub fn new(inputs: &LinearInputs) -> Result<Self> {
        let mats = [
            &inputs.attn_in,
            &inputs.o_in,
            &inputs.mlp_in,
            &inputs.down_in,
        ];
        let mut h: Vec<Hessian> = mats
            .par_iter()
            .map(|x| Hessian::from_inputs(x.view()))
            .collect::<Result<_>>()?;
        let down_in = h.pop().expect("four");
        let mlp_in = h.pop().expect("four");
        let o_in = h.pop().expect("four");
        let attn_in = h.pop().expect("four");
        Ok(LayerCalibration {
            attn_in,
            o_in,
            mlp_in,
            down_in,
        })
    }

    /// The Hessian of linear `l`'s input.
    pub fn of(&self, l: Linear) -> &Hessian {
        match l {
            Linear::Q | Linear::K | Linear::V => &self.attn_in,
            Linear::O => &self.o_in,
            Linear::Gate | Linear::Up => &self.mlp_in,
            Linear::Down => &self.down_in,
        }
    }

    /// Prunes linear `l`'s weight `w` to `sparsity` (unstructured) with `method`.
    pub fn prune(
        &self,
        l: Linear,
        w: ArrayView2<f32>,
        method: PruneMethod,
        sparsity: f64,
    ) -> Result<Array2<f32>> {
        Ok(prune_with_hessian(
            w,
            self.of(l),
            method,
            sparsity,
            SparsityPattern::Unstructured,
            &SparseGptOptions::default(),
        )?
        .weights)
    }
}

/// MSE per sequence of two row-stacked batches with sequence lengths `lens`.
pub fn segment_mse(a: ArrayView2<f32>, b: ArrayView2<f32>, lens: &[usize]) -> Vec<f64> {
    segment_mse_skip(a, b, lens, 0)
}

/// MSE per sequence of two row-stacked batches with sequence lengths `lens`, leaving
/// out the first `skip` rows (positions) of every sequence: the attention-sink tokens
/// whose massive activations would otherwise dominate the mean (see
/// [`super::SensitivityOptions::skip_positions`]). A sequence of `skip` rows or fewer
/// has no rows left and gets NaN (callers check the lengths first).
pub fn segment_mse_skip(
    a: ArrayView2<f32>,
    b: ArrayView2<f32>,
    lens: &[usize],
    skip: usize,
) -> Vec<f64> {
    let mut start = 0;
    lens.iter()
        .map(|&len| {
            let rows = s![(start + skip).min(start + len)..start + len, ..];
            start += len;
            if len <= skip {
                f64::NAN
            } else {
                mse(a.slice(rows), b.slice(rows))
            }
        })
        .collect()
}

/// Mean squared difference of two equally shaped matrices (f64 accumulation).
pub fn mse(a: ArrayView2<f32>, b: ArrayView2<f32>) -> f64 {
    let n = a.len().max(1) as f64;
    a.iter()
        .zip(b.iter())
        .map(|(&x, &y)| {
            let d = f64::from(x) - f64::from(y);
            d * d
        })
        .sum::<f64>()
        / n
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn skipping_positions_by_hand() {
        // Two sequences (3 and 2 rows, 2 columns). Differences: sequence 0 rows
        // [100, 0], [1, 1], [0, 2]; sequence 1 rows [3, 0], [0, 4].
        let a = array![
            [100.0f32, 0.0],
            [1.0, 1.0],
            [0.0, 2.0],
            [3.0, 0.0],
            [0.0, 4.0]
        ];
        let b = ndarray::Array2::<f32>::zeros((5, 2));
        let lens = [3, 2];
        // All positions: (10000 + 1 + 1 + 0 + 4) / 6 = 1667.67; (9 + 16) / 4 = 6.25.
        let all = segment_mse(a.view(), b.view(), &lens);
        assert!((all[0] - 10006.0 / 6.0).abs() < 1e-9 && all[1] == 6.25);
        // Skip 1: (1 + 1 + 0 + 4) / 4 = 1.5; 16 / 2 = 8.
        assert_eq!(
            segment_mse_skip(a.view(), b.view(), &lens, 1),
            vec![1.5, 8.0]
        );
        // Skip 2 leaves sequence 1 without rows.
        let s2 = segment_mse_skip(a.view(), b.view(), &lens, 2);
        assert_eq!(s2[0], 2.0);
        assert!(s2[1].is_nan());
    }
}
