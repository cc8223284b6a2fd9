//! One LLaMA decoder layer:
//! `h = x + o(attn(rope(q(n1 x)), rope(k(n1 x)), v(n1 x)))`,
//! `y = h + down(SiLU(gate(n2 h)) * up(n2 h))` (SwiGLU; note SiLU applies to the gate
//! alone, not to `gate * up` as in the Edge-LLM evaluation code).

use super::ops::{Rope, causal_attention, linear, rms_norm, silu};
use crate::llm::checkpoint::{LayerWeights, Linear, LlamaConfig};
use ndarray::{Array2, ArrayView2, Zip, s};

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
/// calibration matrix per linear).
pub fn decoder_layer_batch(
    cfg: &LlamaConfig,
    w: &LayerWeights,
    rope: &Rope,
    x: ArrayView2<f32>,
    lens: &[usize],
    capture: bool,
) -> (Array2<f32>, Option<LinearInputs>) {
    debug_assert_eq!(lens.iter().sum::<usize>(), x.nrows());
    let hd = cfg.head_dim;
    let n1 = rms_norm(x, w.input_norm.view(), cfg.rms_norm_eps);
    let mut q = linear(n1.view(), w.q.view());
    let mut k = linear(n1.view(), w.k.view());
    let v = linear(n1.view(), w.v.view());
    rope.apply_segments(&mut q, hd, lens);
    rope.apply_segments(&mut k, hd, lens);
    let mut ctx = Array2::zeros((x.nrows(), cfg.q_dim()));
    let mut start = 0;
    for &len in lens {
        let rows = s![start..start + len, ..];
        let c = causal_attention(
            q.slice(rows),
            k.slice(rows),
            v.slice(rows),
            cfg.num_attention_heads,
            cfg.num_key_value_heads,
            hd,
        );
        ctx.slice_mut(rows).assign(&c);
        start += len;
    }
    let h = &x + &linear(ctx.view(), w.o.view());
    let n2 = rms_norm(h.view(), w.post_norm.view(), cfg.rms_norm_eps);
    let mut act = linear(n2.view(), w.gate.view());
    let up = linear(n2.view(), w.up.view());
    Zip::from(&mut act)
        .and(&up)
        .for_each(|g, &u| *g = silu(*g) * u);
    let y = &h + &linear(act.view(), w.down.view());
    let inputs = capture.then(|| LinearInputs {
        attn_in: n1,
        o_in: ctx,
        mlp_in: n2,
        down_in: act,
    });
    (y, inputs)
}
