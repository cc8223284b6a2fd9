//! The scalar of the training engine: `f32` for training runs, `f64` for finite-difference
//! checks of the hand-written backward.
//!
//! Products against a frozen weight go through [`Real::pack`] / [`Real::matmul`]: for f32
//! the packed AVX-512 GEMM of [`crate::llm::forward::gemm`] (the forward's own kernel, so
//! the engine's forward matches `llm::forward` bit for bit on those products; very wide
//! inputs are split into cache-sized blocks, [`PackedF32`]); for f64 a plain ndarray
//! `dot`. Products between run-time tensors (attention, LoRA, weight
//! gradients) use ndarray's `general_mat_mul` for both.

use crate::llm::forward::gemm::{PackedWeight, matmul, matmul_into};
use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, ArrayViewMut2, s};

/// f32 for training runs (frozen GEMMs on the packed AVX-512 kernel of
/// `llm::forward::gemm`), f64 for finite-difference checks (ndarray `dot`).
pub trait Real:
    num_traits::Float
    + ndarray::LinalgScalar
    + ndarray::ScalarOperand
    + std::ops::AddAssign
    + std::iter::Sum
    + Send
    + Sync
    + std::fmt::Debug
    + Default
    + 'static
{
    /// A weight `[out, in]` prepared for repeated `x w^T` products.
    type Packed: Send + Sync + std::fmt::Debug;
    /// Packs `w` (`[out, in]`, any strides; pass `w.t()` to get `dX = dY W`).
    fn pack(w: ArrayView2<Self>) -> Self::Packed;
    /// `x w^T`: `[rows, in] -> [rows, out]`.
    fn matmul(x: ArrayView2<Self>, w: &Self::Packed) -> Array2<Self>;
    /// `out += x w^T` in place (`out`: `[rows, out]`, contiguous rows): residual adds
    /// without a temporary.
    fn matmul_add(x: ArrayView2<Self>, w: &Self::Packed, out: ArrayViewMut2<Self>);
    /// Conversion from f64 (rounding to nearest).
    fn from_f64(v: f64) -> Self;
    /// Conversion to f64 (exact).
    fn to_f64(self) -> f64;
}

/// Widest input block of one packed f32 product. The packed kernel keeps a whole
/// `[in][48]` weight panel streaming through the cache per 8-row block; a wider input
/// (the LM head's `dX = dZ W`, 49,152 inputs: 9.4 MB panels) is split into blocks whose
/// panels (2,048 x 48 x 4 B = 384 KiB) stay in a 2 MiB L2, and the blocks' products are
/// summed. Every decoder linear (and the forward LM head) is narrower: one block, the
/// forward's exact arithmetic.
pub const K_BLOCK: usize = 2048;

/// An f32 weight packed for [`crate::llm::forward::gemm`], split along its input into
/// blocks of at most [`K_BLOCK`].
#[derive(Debug, Clone, PartialEq)]
pub struct PackedF32 {
    /// (first input index, packed `[out, block]` columns), in input order.
    parts: Vec<(usize, PackedWeight)>,
}

impl PackedF32 {
    /// Packs `w` (`[out, in]`, any strides).
    pub fn new(w: ArrayView2<f32>) -> Self {
        let inp = w.ncols();
        let parts = (0..inp.max(1))
            .step_by(K_BLOCK)
            .map(|k0| {
                let k1 = (k0 + K_BLOCK).min(inp);
                (k0, PackedWeight::new(w.slice(s![.., k0..k1])))
            })
            .collect();
        PackedF32 { parts }
    }

    fn accumulate(&self, x: ArrayView2<f32>, mut out: ArrayViewMut2<f32>, mut add: bool) {
        for (k0, p) in &self.parts {
            let cols = s![.., *k0..*k0 + p.in_features()];
            matmul_into(x.slice(cols), p, 0..p.panels(), out.view_mut(), add);
            add = true;
        }
    }
}

impl Real for f32 {
    type Packed = PackedF32;

    fn pack(w: ArrayView2<f32>) -> PackedF32 {
        PackedF32::new(w)
    }

    fn matmul(x: ArrayView2<f32>, w: &PackedF32) -> Array2<f32> {
        match w.parts.as_slice() {
            [(_, p)] => matmul(x, p),
            _ => {
                let out = w.parts[0].1.out_features();
                let mut y = Array2::zeros((x.nrows(), out));
                w.accumulate(x, y.view_mut(), false);
                y
            }
        }
    }

    fn matmul_add(x: ArrayView2<f32>, w: &PackedF32, out: ArrayViewMut2<f32>) {
        w.accumulate(x, out, true);
    }

    fn from_f64(v: f64) -> f32 {
        v as f32
    }

    fn to_f64(self) -> f64 {
        f64::from(self)
    }
}

impl Real for f64 {
    /// The weight itself, `[out, in]`.
    type Packed = Array2<f64>;

    fn pack(w: ArrayView2<f64>) -> Array2<f64> {
        w.to_owned()
    }

    fn matmul(x: ArrayView2<f64>, w: &Array2<f64>) -> Array2<f64> {
        x.dot(&w.t())
    }

    fn matmul_add(x: ArrayView2<f64>, w: &Array2<f64>, mut out: ArrayViewMut2<f64>) {
        general_mat_mul(1.0, &x, &w.t(), 1.0, &mut out);
    }

    fn from_f64(v: f64) -> f64 {
        v
    }

    fn to_f64(self) -> f64 {
        self
    }
}

/// [`Real::to_f64`] as a function (the method name is shared with `num_traits`'
/// `ToPrimitive`, a supertrait of `Float`, so method-call syntax is ambiguous).
#[inline(always)]
pub fn f64_of<T: Real>(v: T) -> f64 {
    <T as Real>::to_f64(v)
}

/// `c = alpha a b + beta c` on run-time tensors (any strides).
#[inline]
pub fn gemm<T: Real>(
    alpha: T,
    a: &ArrayView2<T>,
    b: &ArrayView2<T>,
    beta: T,
    c: &mut ArrayViewMut2<T>,
) {
    general_mat_mul(alpha, a, b, beta, c);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_products_agree_between_f32_and_f64() {
        let w64 = Array2::from_shape_fn((5, 3), |(i, j)| (i as f64 - 2.0) * 0.5 + j as f64);
        let x64 = Array2::from_shape_fn((4, 3), |(i, j)| (i * 3 + j) as f64 * 0.25 - 1.0);
        let y64 = <f64 as Real>::matmul(x64.view(), &<f64 as Real>::pack(w64.view()));
        let want = x64.dot(&w64.t());
        assert_eq!(y64, want);
        let (w32, x32) = (w64.mapv(|v| v as f32), x64.mapv(|v| v as f32));
        let y32 = <f32 as Real>::matmul(x32.view(), &<f32 as Real>::pack(w32.view()));
        // Small integers and quarters: every product and sum is exact in f32.
        assert_eq!(y32.mapv(f64::from), want);
        // W^T packed gives dX = dY W.
        let dy = Array2::from_shape_fn((4, 5), |(i, j)| (i + j) as f64);
        let dx = <f64 as Real>::matmul(dy.view(), &<f64 as Real>::pack(w64.t()));
        assert_eq!(dx, dy.dot(&w64));
        let mut acc = Array2::<f32>::ones((4, 5));
        <f32 as Real>::matmul_add(x32.view(), &<f32 as Real>::pack(w32.view()), acc.view_mut());
        assert_eq!(acc.mapv(f64::from), want + 1.0);
    }

    #[test]
    fn wide_inputs_are_split_into_blocks_with_the_same_product() {
        let k = 2 * K_BLOCK + 37;
        let w = Array2::from_shape_fn((50, k), |(i, j)| ((i * 7 + j * 3) % 11) as f32 - 5.0);
        let x = Array2::from_shape_fn((9, k), |(i, j)| ((i + j) % 5) as f32 * 0.5);
        let p = <f32 as Real>::pack(w.view());
        assert_eq!(p.parts.len(), 3);
        // Small integers and halves: exact in f32 whatever the summation order.
        let want = x.mapv(f64::from).dot(&w.mapv(f64::from).t());
        assert_eq!(<f32 as Real>::matmul(x.view(), &p).mapv(f64::from), want);
        let mut acc = Array2::<f32>::ones((9, 50));
        <f32 as Real>::matmul_add(x.view(), &p, acc.view_mut());
        assert_eq!(acc.mapv(f64::from), want + 1.0);
    }
}
