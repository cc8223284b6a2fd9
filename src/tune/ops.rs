//! Element-wise pieces of a LLaMA decoder layer and their derivatives, generic over the
//! scalar: RMSNorm, rotary position embedding (rotate-half convention), SiLU, causal
//! softmax. The forward arithmetic is that of `llm::forward::ops` (same operation order),
//! so in f32 it reproduces the forward bit for bit.

use super::real::{Real, f64_of};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2, Axis, Zip};

/// RMSNorm per row: `y = x r w`, `r = 1/sqrt(mean(x^2) + eps)` (the mean in f64, as the
/// forward computes it). Returns `y` and `r` per row.
pub fn rms_norm<T: Real>(x: ArrayView2<T>, w: ArrayView1<T>, eps: f64) -> (Array2<T>, Array1<T>) {
    let mut y = Array2::zeros(x.raw_dim());
    let mut rstd = Array1::zeros(x.nrows());
    let n = x.ncols() as f64;
    for ((xr, mut yr), r) in x.outer_iter().zip(y.outer_iter_mut()).zip(rstd.iter_mut()) {
        let ms = xr.iter().map(|&v| f64_of(v) * f64_of(v)).sum::<f64>() / n;
        let inv = T::from_f64(1.0 / (ms + eps).sqrt());
        *r = inv;
        Zip::from(&mut yr)
            .and(&xr)
            .and(&w)
            .for_each(|y, &v, &g| *y = v * inv * g);
    }
    (y, rstd)
}

/// `x r w` again from a saved input and its `r` (the normed input, for a weight gradient).
pub fn rms_norm_apply<T: Real>(
    x: ArrayView2<T>,
    rstd: ArrayView1<T>,
    w: ArrayView1<T>,
) -> Array2<T> {
    let mut y = x.to_owned();
    for (mut yr, &r) in y.outer_iter_mut().zip(rstd.iter()) {
        Zip::from(&mut yr).and(&w).for_each(|y, &g| *y = *y * r * g);
    }
    y
}

/// Backward of [`rms_norm`]: adds `dL/dx` into `dx` and, when given, `dL/dw` into `dw`.
///
/// With `y_i = w_i x_i r`, `dr/dx_j = -r^3 x_j / n`:
/// `dx_j = r w_j dy_j - (r^3 x_j / n) sum_i w_i dy_i x_i`; `dw_i = sum_rows dy_i x_i r`.
pub fn rms_norm_backward<T: Real>(
    x: ArrayView2<T>,
    rstd: ArrayView1<T>,
    w: ArrayView1<T>,
    dy: ArrayView2<T>,
    mut dx: ArrayViewMut2<T>,
    mut dw: Option<ArrayViewMut1<T>>,
) {
    let n = T::from_f64(x.ncols() as f64);
    for (((xr, dyr), mut dxr), &r) in x
        .outer_iter()
        .zip(dy.outer_iter())
        .zip(dx.outer_iter_mut())
        .zip(rstd.iter())
    {
        let mut c = T::zero();
        Zip::from(&xr)
            .and(&dyr)
            .and(&w)
            .for_each(|&x, &d, &g| c += g * d * x);
        let k = r * r * r * c / n;
        Zip::from(&mut dxr)
            .and(&xr)
            .and(&dyr)
            .and(&w)
            .for_each(|o, &x, &d, &g| *o += r * g * d - k * x);
        if let Some(dw) = dw.as_mut() {
            Zip::from(dw)
                .and(&xr)
                .and(&dyr)
                .for_each(|o, &x, &d| *o += d * x * r);
        }
    }
}

/// SiLU `x sigmoid(x)`, computed as `x / (1 + exp(-x))` like the forward.
#[inline(always)]
pub fn silu<T: Real>(x: T) -> T {
    x / (T::one() + (-x).exp())
}

/// `SiLU(gate) * up` element-wise (`[T, ffn]`).
pub fn swiglu<T: Real>(gate: ArrayView2<T>, up: ArrayView2<T>) -> Array2<T> {
    let mut out = Array2::zeros(gate.raw_dim());
    Zip::from(&mut out)
        .and(&gate)
        .and(&up)
        .for_each(|o, &g, &u| *o = silu(g) * u);
    out
}

/// Backward of [`swiglu`]: `(d gate, d up)` from `d out`.
/// `d up = d out SiLU(g)`, `d gate = d out u s (1 + g (1 - s))` with `s = sigmoid(g)`.
pub fn swiglu_backward<T: Real>(
    gate: ArrayView2<T>,
    up: ArrayView2<T>,
    dout: ArrayView2<T>,
) -> (Array2<T>, Array2<T>) {
    let mut dg = Array2::zeros(gate.raw_dim());
    let mut du = Array2::zeros(gate.raw_dim());
    Zip::from(&mut dg)
        .and(&mut du)
        .and(&gate)
        .and(&up)
        .and(&dout)
        .for_each(|dg, du, &g, &u, &d| {
            let s = T::one() / (T::one() + (-g).exp());
            *du = d * g * s;
            *dg = d * u * s * (T::one() + g * (T::one() - s));
        });
    (dg, du)
}

/// Rotary tables for positions `0..len` (angles `pos theta^(-2i/hd)` computed in f64,
/// as `llm::forward::Rope` does).
#[derive(Debug, Clone)]
pub struct Rope<T> {
    cos: Array2<T>,
    sin: Array2<T>,
}

impl<T: Real> Rope<T> {
    /// Tables for `len` positions and heads of `head_dim`.
    pub fn new(len: usize, head_dim: usize, theta: f64) -> Self {
        let half = head_dim / 2;
        let angle = |p: usize, i: usize| {
            let inv_freq = theta.powf(-((2 * i) as f64) / head_dim as f64);
            p as f64 * inv_freq
        };
        Rope {
            cos: Array2::from_shape_fn((len, half), |(p, i)| T::from_f64(angle(p, i).cos())),
            sin: Array2::from_shape_fn((len, half), |(p, i)| T::from_f64(angle(p, i).sin())),
        }
    }

    /// Rotates every head of `x` (`[T, heads * head_dim]`) in place: dimension `i` pairs
    /// with `i + hd/2`, `(a, b) -> (a c - b s, b c + a s)`.
    pub fn apply(&self, x: ArrayViewMut2<T>, head_dim: usize) {
        self.rotate(x, head_dim, false);
    }

    /// The transpose (inverse) rotation, `(a, b) -> (a c + b s, b c - a s)`: the backward
    /// of [`Rope::apply`].
    pub fn apply_inverse(&self, x: ArrayViewMut2<T>, head_dim: usize) {
        self.rotate(x, head_dim, true);
    }

    fn rotate(&self, mut x: ArrayViewMut2<T>, head_dim: usize, inverse: bool) {
        let half = head_dim / 2;
        for (p, mut row) in x.axis_iter_mut(Axis(0)).enumerate() {
            let (c, s) = (self.cos.row(p), self.sin.row(p));
            for mut head in row.exact_chunks_mut(head_dim) {
                for i in 0..half {
                    let (a, b) = (head[i], head[i + half]);
                    if inverse {
                        head[i] = a * c[i] + b * s[i];
                        head[i + half] = b * c[i] - a * s[i];
                    } else {
                        head[i] = a * c[i] - b * s[i];
                        head[i + half] = b * c[i] + a * s[i];
                    }
                }
            }
        }
    }
}

/// Causal softmax of raw scores in place: row `i` becomes `softmax(scale z[i, ..=i])`
/// on its first `i + 1` entries and 0 beyond (the forward's arithmetic).
pub fn causal_softmax<T: Real>(mut s: ArrayViewMut2<T>, scale: T) {
    for (i, mut row) in s.axis_iter_mut(Axis(0)).enumerate() {
        let max = row
            .iter()
            .take(i + 1)
            .fold(T::neg_infinity(), |m, &x| m.max(x * scale));
        let mut sum = T::zero();
        for (j, x) in row.iter_mut().enumerate() {
            if j <= i {
                *x = (*x * scale - max).exp();
                sum += *x;
            } else {
                *x = T::zero();
            }
        }
        row.mapv_inplace(|x| x / sum);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn rope_inverse_undoes_rotation_and_matches_forward() {
        let mut x = Array2::from_shape_fn((5, 8), |(i, j)| (i as f64 + 1.0) * 0.3 - j as f64 * 0.2);
        let orig = x.clone();
        let r = Rope::<f64>::new(5, 4, 10000.0);
        r.apply(x.view_mut(), 4);
        let mut x32 = orig.mapv(|v| v as f32);
        crate::llm::forward::Rope::new(5, 4, 10000.0).apply(&mut x32, 4);
        assert!(
            x.iter()
                .zip(x32.iter())
                .all(|(a, &b)| (a - f64::from(b)).abs() < 1e-6)
        );
        r.apply_inverse(x.view_mut(), 4);
        assert!(
            x.iter()
                .zip(orig.iter())
                .all(|(a, b)| (a - b).abs() < 1e-14)
        );
    }

    #[test]
    fn rms_norm_backward_matches_finite_differences() {
        let x = array![[0.3, -1.2, 0.7, 2.0], [1.5, 0.1, -0.4, 0.9]];
        let w = array![1.1, 0.9, -0.5, 1.3];
        let dy = array![[0.2, -0.7, 1.0, 0.4], [-0.3, 0.5, 0.8, -1.1]];
        let eps = 1e-5;
        let loss =
            |x: &Array2<f64>, w: &Array1<f64>| (rms_norm(x.view(), w.view(), eps).0 * &dy).sum();
        let (_, r) = rms_norm(x.view(), w.view(), eps);
        let mut dx = Array2::zeros((2, 4));
        let mut dw = Array1::zeros(4);
        rms_norm_backward(
            x.view(),
            r.view(),
            w.view(),
            dy.view(),
            dx.view_mut(),
            Some(dw.view_mut()),
        );
        let h = 1e-6;
        for i in 0..2 {
            for j in 0..4 {
                let (mut p, mut m) = (x.clone(), x.clone());
                p[[i, j]] += h;
                m[[i, j]] -= h;
                let fd = (loss(&p, &w) - loss(&m, &w)) / (2.0 * h);
                assert!((fd - dx[[i, j]]).abs() < 1e-8, "{fd} {}", dx[[i, j]]);
            }
        }
        for j in 0..4 {
            let (mut p, mut m) = (w.clone(), w.clone());
            p[j] += h;
            m[j] -= h;
            let fd = (loss(&x, &p) - loss(&x, &m)) / (2.0 * h);
            assert!((fd - dw[j]).abs() < 1e-8);
        }
    }

    #[test]
    fn swiglu_backward_matches_finite_differences() {
        let g = array![[-2.0, -0.3, 0.0, 0.8, 3.0]];
        let u = array![[0.5, -1.0, 2.0, 0.7, -0.2]];
        let d = array![[1.0, 0.3, -0.6, 2.0, 0.9]];
        let (dg, du) = swiglu_backward(g.view(), u.view(), d.view());
        let f = |g: &Array2<f64>, u: &Array2<f64>| (swiglu(g.view(), u.view()) * &d).sum();
        let h = 1e-6;
        for j in 0..5 {
            let (mut p, mut m) = (g.clone(), g.clone());
            p[[0, j]] += h;
            m[[0, j]] -= h;
            assert!(((f(&p, &u) - f(&m, &u)) / (2.0 * h) - dg[[0, j]]).abs() < 1e-8);
            let (mut p, mut m) = (u.clone(), u.clone());
            p[[0, j]] += h;
            m[[0, j]] -= h;
            assert!(((f(&g, &p) - f(&g, &m)) / (2.0 * h) - du[[0, j]]).abs() < 1e-8);
        }
    }
}
