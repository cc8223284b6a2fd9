//! Calibration statistics of a linear layer's inputs, accumulated batch by batch.
//!
//! Both data-aware pruners need only second moments of the inputs: SparseGPT the
//! Hessian of the layer-wise reconstruction loss `H = 2 X^T X / n`, Wanda the column
//! norms `||X_j||_2`, which are `sqrt((X^T X)_jj)`. Accumulating `X^T X` lets a caller
//! stream many calibration windows (the reference uses 128 x 2048 tokens) without
//! holding them all in memory.

use ndarray::{Array1, Array2, ArrayView2};

use crate::llm::linalg::add_gram;
use crate::{Error, Result};

/// Running `X^T X` and token count of a layer's calibration inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct Hessian {
    xtx: Array2<f32>,
    tokens: usize,
}

impl Hessian {
    /// Empty statistics for a layer with `features` inputs.
    pub fn new(features: usize) -> Self {
        Hessian {
            xtx: Array2::zeros((features, features)),
            tokens: 0,
        }
    }

    /// Statistics of one batch `X: [tokens, features]`.
    pub fn from_inputs(x: ArrayView2<f32>) -> Result<Self> {
        let mut h = Hessian::new(x.ncols());
        h.add_batch(x)?;
        Ok(h)
    }

    /// Adds a batch `X: [tokens, features]`. Errors when the feature count differs or a
    /// value is not finite.
    pub fn add_batch(&mut self, x: ArrayView2<f32>) -> Result<()> {
        check_inputs(x, self.features())?;
        add_gram(x, &mut self.xtx)?;
        self.tokens += x.nrows();
        Ok(())
    }

    /// Number of input features (columns of `X`, rows and columns of `H`).
    pub fn features(&self) -> usize {
        self.xtx.nrows()
    }

    /// Number of calibration tokens seen.
    pub fn tokens(&self) -> usize {
        self.tokens
    }

    /// SparseGPT's Hessian `H = 2 X^T X / n` (n = tokens). Zero when no token was added.
    pub fn matrix(&self) -> Array2<f32> {
        if self.tokens == 0 {
            return self.xtx.clone();
        }
        &self.xtx * (2.0 / self.tokens as f32)
    }

    /// [`Hessian::matrix`] reusing the accumulator's buffer.
    pub fn into_matrix(mut self) -> Array2<f32> {
        if self.tokens > 0 {
            self.xtx *= 2.0 / self.tokens as f32;
        }
        self.xtx
    }

    /// Wanda's input-feature norms `||X_j||_2` over all tokens.
    pub fn column_norms(&self) -> Array1<f32> {
        self.xtx.diag().mapv(|v| v.max(0.0).sqrt())
    }
}

/// Checks a calibration batch: `features` columns, at least one token, finite values.
pub(crate) fn check_inputs(x: ArrayView2<f32>, features: usize) -> Result<()> {
    if x.ncols() != features {
        return Err(Error::input(
            "calibration",
            "inputs",
            format!(
                "calibration inputs have {} features per token but the layer has {features} input features",
                x.ncols()
            ),
        ));
    }
    if x.nrows() == 0 {
        return Err(Error::input(
            "calibration",
            "inputs",
            "at least one calibration token is needed",
        ));
    }
    if let Some(((r, c), v)) = crate::llm::first_non_finite(x) {
        return Err(Error::input(
            "calibration",
            format!("inputs[{r}, {c}]"),
            format!("value {v} is not finite"),
        ));
    }
    Ok(())
}

/// Column norms `||X_j||_2` straight from the inputs (no `features^2` matrix).
pub(crate) fn column_norms(x: ArrayView2<f32>) -> Array1<f32> {
    let mut sq = Array1::<f64>::zeros(x.ncols());
    for row in x.rows() {
        sq.zip_mut_with(&row, |s, &v| *s += f64::from(v) * f64::from(v));
    }
    sq.mapv(|v| v.sqrt() as f32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Axis, array, concatenate};

    #[test]
    fn accumulates_batches_like_one_big_batch() {
        let a = array![[1.0f32, 2.0], [0.0, 1.0]];
        let b = array![[3.0f32, -1.0]];
        let mut h = Hessian::new(2);
        h.add_batch(a.view()).unwrap();
        h.add_batch(b.view()).unwrap();
        let all = concatenate![Axis(0), a, b];
        assert_eq!(h, Hessian::from_inputs(all.view()).unwrap());
        // X^T X = [[1+0+9, 2+0-3], [., 4+1+1]] = [[10, -1], [-1, 6]], n = 3.
        let m = h.matrix();
        assert_eq!(h.clone().into_matrix(), m);
        assert!((m[[0, 0]] - 20.0 / 3.0).abs() < 1e-6);
        assert!((m[[0, 1]] + 2.0 / 3.0).abs() < 1e-6);
        assert!((m[[1, 1]] - 4.0).abs() < 1e-6);
        let norms = h.column_norms();
        assert!((norms[0] - 10f32.sqrt()).abs() < 1e-6);
        assert!((norms[1] - 6f32.sqrt()).abs() < 1e-6);
        let direct = column_norms(all.view());
        assert!((&direct - &norms).iter().all(|d| d.abs() < 1e-6));
    }

    #[test]
    fn rejects_bad_batches() {
        let mut h = Hessian::new(3);
        assert!(h.add_batch(Array2::<f32>::zeros((2, 4)).view()).is_err());
        assert!(h.add_batch(Array2::<f32>::zeros((0, 3)).view()).is_err());
        let e = h
            .add_batch(array![[0.0f32, f32::INFINITY, 1.0]].view())
            .unwrap_err();
        assert!(e.to_string().contains("inputs[0, 1]"), "{e}");
        assert_eq!(h.tokens(), 0);
    }
}
