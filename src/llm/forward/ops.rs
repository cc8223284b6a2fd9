//! The building blocks of a LLaMA decoder layer on `[tokens, features]` matrices:
//! RMSNorm, rotary position embedding, causal grouped-query attention and SiLU.
//! Matrix products go through the packed GEMM of [`super::gemm`].

use super::gemm::{PackedWeight, matmul, matmul_into};
use ndarray::{Array2, ArrayView1, ArrayView2, ArrayViewMut2, Axis, s};

/// `x @ w^T` for a weight stored `[out, in]` as in Hugging Face checkpoints (packs `w`
/// for this one product; see [`PackedWeight`] to pack once and reuse).
pub fn linear(x: ArrayView2<f32>, w: ArrayView2<f32>) -> Array2<f32> {
    matmul(x, &PackedWeight::new(w))
}

/// RMSNorm per row: `x / sqrt(mean(x^2) + eps) * w` (the mean in f64 to keep small
/// models bit-stable; Hugging Face computes it in f32).
pub fn rms_norm(x: ArrayView2<f32>, w: ArrayView1<f32>, eps: f64) -> Array2<f32> {
    let mut out = Array2::zeros(x.dim());
    for (xr, mut or) in x.outer_iter().zip(out.outer_iter_mut()) {
        rms_norm_row(xr, w, eps, or.as_slice_mut().expect("fresh array"));
    }
    out
}

/// [`rms_norm`] of one row into `out` (the same arithmetic).
pub fn rms_norm_row(x: ArrayView1<f32>, w: ArrayView1<f32>, eps: f64, out: &mut [f32]) {
    let ms = x.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() / x.len() as f64;
    let inv = (1.0 / (ms + eps).sqrt()) as f32;
    match (x.as_slice(), w.as_slice()) {
        // Contiguous rows (the usual case) vectorise.
        (Some(x), Some(w)) => {
            for ((o, &v), &g) in out.iter_mut().zip(x).zip(w) {
                *o = v * inv * g;
            }
        }
        _ => {
            for ((o, &v), &g) in out.iter_mut().zip(x).zip(w) {
                *o = v * inv * g;
            }
        }
    }
}

/// SiLU (swish): `x * sigmoid(x)`.
pub fn silu(x: f32) -> f32 {
    x / (1.0 + (-x).exp())
}

/// SwiGLU of one row: `out = SiLU(gate) * up`.
pub fn swiglu_row(gate: &[f32], up: &[f32], out: &mut [f32]) {
    for ((o, &g), &u) in out.iter_mut().zip(gate).zip(up) {
        *o = silu(g) * u;
    }
}

/// Precomputed RoPE rotation angles for positions `0..seq_len`.
pub struct Rope {
    cos: Array2<f32>,
    sin: Array2<f32>,
}

impl Rope {
    /// Angles `pos * theta^(-2i/head_dim)` for `i < head_dim/2` (the LLaMA / Hugging Face
    /// `rotate_half` convention: dimension `i` pairs with `i + head_dim/2`).
    pub fn new(seq_len: usize, head_dim: usize, theta: f64) -> Self {
        let half = head_dim / 2;
        let mut cos = Array2::zeros((seq_len, half));
        let mut sin = Array2::zeros((seq_len, half));
        for p in 0..seq_len {
            for i in 0..half {
                let inv_freq = theta.powf(-((2 * i) as f64) / head_dim as f64);
                let a = p as f64 * inv_freq;
                cos[[p, i]] = a.cos() as f32;
                sin[[p, i]] = a.sin() as f32;
            }
        }
        Rope { cos, sin }
    }

    /// Rotates every head of `x` (`[tokens, heads * head_dim]`, positions `0..tokens`) in
    /// place.
    pub fn apply(&self, x: &mut Array2<f32>, head_dim: usize) {
        let n = x.nrows();
        self.apply_segments(x, head_dim, &[n]);
    }

    /// Like [`Rope::apply`] on rows holding several sequences one after the other, of
    /// lengths `lens` (positions restart at 0 for each).
    pub fn apply_segments(&self, x: &mut Array2<f32>, head_dim: usize, lens: &[usize]) {
        self.apply_segments_view(x.view_mut(), head_dim, lens);
    }

    /// [`Rope::apply_segments`] on a view (e.g. the query columns of a fused q/k/v
    /// product).
    pub fn apply_segments_view(&self, mut x: ArrayViewMut2<f32>, head_dim: usize, lens: &[usize]) {
        let half = head_dim / 2;
        let positions = lens.iter().flat_map(|&l| 0..l);
        for (p, mut row) in positions.zip(x.axis_iter_mut(Axis(0))) {
            let (c, s) = (self.cos.row(p), self.sin.row(p));
            for mut head in row.exact_chunks_mut(head_dim) {
                for i in 0..half {
                    let (a, b) = (head[i], head[i + half]);
                    head[i] = a * c[i] - b * s[i];
                    head[i + half] = b * c[i] + a * s[i];
                }
            }
        }
    }
}

/// Causal scaled-dot-product attention with grouped-query heads: query head `h` reads
/// key/value head `h / (n_heads / n_kv_heads)`. `q` is `[T, n_heads*hd]`, `k` and `v`
/// are `[T, n_kv_heads*hd]`; returns the context `[T, n_heads*hd]`.
pub fn causal_attention(
    q: ArrayView2<f32>,
    k: ArrayView2<f32>,
    v: ArrayView2<f32>,
    n_heads: usize,
    n_kv_heads: usize,
    head_dim: usize,
) -> Array2<f32> {
    let mut ctx = Array2::zeros((q.nrows(), n_heads * head_dim));
    causal_attention_into(q, k, v, n_heads, n_kv_heads, head_dim, ctx.view_mut());
    ctx
}

/// [`causal_attention`] written into `ctx` (`[T, n_heads*hd]`, contiguous rows).
pub fn causal_attention_into(
    q: ArrayView2<f32>,
    k: ArrayView2<f32>,
    v: ArrayView2<f32>,
    n_heads: usize,
    n_kv_heads: usize,
    head_dim: usize,
    mut ctx: ArrayViewMut2<f32>,
) {
    let t = q.nrows();
    let group = n_heads / n_kv_heads;
    let scale = 1.0 / (head_dim as f32).sqrt();
    let mut scores = Array2::zeros((t, t));
    for kv in 0..n_kv_heads {
        let cols = s![.., kv * head_dim..(kv + 1) * head_dim];
        // Keys as the weight of `q k^T`; values transposed as the weight of `p v`.
        let kh = PackedWeight::new(k.slice(cols));
        let vh = PackedWeight::new(v.slice(cols).t());
        for h in kv * group..(kv + 1) * group {
            let qh = q.slice(s![.., h * head_dim..(h + 1) * head_dim]);
            matmul_into(qh, &kh, 0..kh.panels(), scores.view_mut(), false);
            for (i, mut row) in scores.axis_iter_mut(Axis(0)).enumerate() {
                // Causal mask: position i sees positions 0..=i; softmax over those only.
                let visible = row.slice(s![..=i]);
                let max = visible
                    .iter()
                    .fold(f32::NEG_INFINITY, |m, &x| m.max(x * scale));
                let mut sum = 0.0f32;
                for (j, x) in row.iter_mut().enumerate() {
                    if j <= i {
                        *x = (*x * scale - max).exp();
                        sum += *x;
                    } else {
                        *x = 0.0;
                    }
                }
                row.mapv_inplace(|x| x / sum);
            }
            let out = ctx.slice_mut(s![.., h * head_dim..(h + 1) * head_dim]);
            matmul_into(scores.view(), &vh, 0..vh.panels(), out, false);
        }
    }
}
