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
    let mut start = 0;
    lens.iter()
        .map(|&len| {
            let rows = s![start..start + len, ..];
            start += len;
            mse(a.slice(rows), b.slice(rows))
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
