//! One LLaMA decoder layer:
//! `h = x + o(attn(rope(q(n1 x)), rope(k(n1 x)), v(n1 x)))`,
//! `y = h + down(SiLU(gate(n2 h)) * up(n2 h))` (SwiGLU; note SiLU applies to the gate
//! alone, not to `gate * up` as in the Edge-LLM evaluation code).

use super::gemm::{PackedWeight, matmul, matmul_into};
use super::ops::{Rope, causal_attention_into, rms_norm, swiglu_row};
use crate::llm::checkpoint::{LayerWeights, Linear, LlamaConfig};
use ndarray::{Array1, Array2, ArrayView2, s};

/// The inputs of the seven linears of one layer for one sequence, as seen during a
/// forward pass: calibration data for Wanda / SparseGPT (`[tokens, in]` each).
#[derive(Debug, Clone)]
pub struct LinearInputs {
    /// Input of q, k and v: the attention RMSNorm output `[T, hidden]`.
    pub attn_in: Array2<f32>,
    /// Input of o: the attention context `[T, q_dim]`.
    pub o_in: Array2<f32>,
    /// Input of gate and up: the MLP RMSNorm output `[T, hidden]`.
    pub mlp_in: Array2<f32>,
    /// Input of down: `SiLU(gate) * up` `[T, intermediate]`.
    pub down_in: Array2<f32>,
}

impl LinearInputs {
    /// The input matrix of linear `l`.
    pub fn of(&self, l: Linear) -> &Array2<f32> {
        match l {
            Linear::Q | Linear::K | Linear::V => &self.attn_in,
            Linear::O => &self.o_in,
            Linear::Gate | Linear::Up => &self.mlp_in,
            Linear::Down => &self.down_in,
        }
    }
}

/// Runs one decoder layer on `x` (`[T, hidden]`, positions `0..T`). With `capture`, also
/// returns the inputs of its linears.
pub fn decoder_layer(
    cfg: &LlamaConfig,
    w: &LayerWeights,
    rope: &Rope,
    x: ArrayView2<f32>,
    capture: bool,
) -> (Array2<f32>, Option<LinearInputs>) {
    decoder_layer_batch(cfg, w, rope, x, &[x.nrows()], capture)
}

/// Runs one decoder layer on several sequences stacked row-wise in `x` (lengths `lens`,
/// summing to the rows of `x`): the linears run as one GEMM over all tokens, RoPE and
/// causal attention per sequence. Captured linear inputs are stacked the same way (one
/// calibration matrix per linear). Packs the layer's weights for this one call; see
/// [`decoder_layer_packed`] to pack once.
pub fn decoder_layer_batch(
    cfg: &LlamaConfig,
    w: &LayerWeights,
    rope: &Rope,
    x: ArrayView2<f32>,
    lens: &[usize],
    capture: bool,
) -> (Array2<f32>, Option<LinearInputs>) {
    decoder_layer_packed(cfg, &PackedLayer::new(w), rope, x, lens, capture)
}

/// One decoder layer's weights packed for the GEMM: q/k/v stacked into one product,
/// gate/up into another.
#[derive(Debug, Clone, PartialEq)]
pub struct PackedLayer {
    /// RMSNorm weight before attention `[hidden]`.
    pub input_norm: Array1<f32>,
    /// q, k and v stacked: `[q_dim + 2 kv_dim, hidden]`.
    pub qkv: PackedWeight,
    /// Output projection `[hidden, q_dim]`.
    pub o: PackedWeight,
    /// RMSNorm weight before the MLP `[hidden]`.
    pub post_norm: Array1<f32>,
    /// gate and up stacked: `[2 intermediate, hidden]`.
    pub gate_up: PackedWeight,
    /// Down projection `[hidden, intermediate]`.
    pub down: PackedWeight,
}

impl PackedLayer {
    /// Packs the weights of `w`.
    pub fn new(w: &LayerWeights) -> Self {
        PackedLayer {
            input_norm: w.input_norm.clone(),
            qkv: PackedWeight::stacked(&[w.q.view(), w.k.view(), w.v.view()]),
            o: PackedWeight::new(w.o.view()),
            post_norm: w.post_norm.clone(),
            gate_up: PackedWeight::stacked(&[w.gate.view(), w.up.view()]),
            down: PackedWeight::new(w.down.view()),
        }
    }
}

/// [`decoder_layer_batch`] on packed weights (the same arithmetic: every output of a
/// linear is the same multiply-add chain either way).
pub fn decoder_layer_packed(
    cfg: &LlamaConfig,
    w: &PackedLayer,
    rope: &Rope,
    x: ArrayView2<f32>,
    lens: &[usize],
    capture: bool,
) -> (Array2<f32>, Option<LinearInputs>) {
    debug_assert_eq!(lens.iter().sum::<usize>(), x.nrows());
    let hd = cfg.head_dim;
    let (qd, kvd, ffn) = (cfg.q_dim(), cfg.kv_dim(), cfg.intermediate_size);
    let eps = cfg.rms_norm_eps;
    let n1 = rms_norm(x, w.input_norm.view(), eps);
    let mut qkv = matmul(n1.view(), &w.qkv);
    rope.apply_segments_view(qkv.slice_mut(s![.., ..qd + kvd]), hd, lens);
    let mut ctx = Array2::zeros((x.nrows(), qd));
    let mut start = 0;
    for &len in lens {
        let rows = s![start..start + len, ..];
        let part = qkv.slice(rows);
        causal_attention_into(
            part.slice(s![.., ..qd]),
            part.slice(s![.., qd..qd + kvd]),
            part.slice(s![.., qd + kvd..]),
            cfg.num_attention_heads,
            cfg.num_key_value_heads,
            hd,
            ctx.slice_mut(rows),
        );
        start += len;
    }
    // Residual adds in the GEMM's store: h = x + o(ctx), y = h + down(act).
    let mut h = x.to_owned();
    matmul_into(ctx.view(), &w.o, 0..w.o.panels(), h.view_mut(), true);
    let n2 = rms_norm(h.view(), w.post_norm.view(), eps);
    let gu = matmul(n2.view(), &w.gate_up);
    let mut act = Array2::zeros((x.nrows(), ffn));
    for (g, mut a) in gu.outer_iter().zip(act.outer_iter_mut()) {
        let g = g.to_slice().expect("fresh array");
        swiglu_row(&g[..ffn], &g[ffn..], a.as_slice_mut().expect("fresh array"));
    }
    let mut y = h;
    matmul_into(act.view(), &w.down, 0..w.down.panels(), y.view_mut(), true);
    let inputs = capture.then(|| LinearInputs {
        attn_in: n1,
        o_in: ctx,
        mlp_in: n2,
        down_in: act,
    });
    (y, inputs)
}
