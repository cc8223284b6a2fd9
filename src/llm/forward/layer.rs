//! One LLaMA decoder layer:
//! `h = x + o(attn(rope(q(n1 x)), rope(k(n1 x)), v(n1 x)))`,
//! `y = h + down(SiLU(gate(n2 h)) * up(n2 h))` (SwiGLU; note SiLU applies to the gate
//! alone, not to `gate * up` as in the Edge-LLM evaluation code).

use super::gemm::{PackedRows, PackedWeight, matmul, matmul_into};
use super::ops::{Rope, causal_attention, rms_norm_row, swiglu_row};
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
    let (eps, t) = (cfg.rms_norm_eps, x.nrows());
    // Without capture, the norms and SwiGLU go straight into the packed GEMM inputs (the
    // same row functions either way, so the same bits).
    let (n1, n1p) = packed_input(capture, t, x.ncols(), |r, out| {
        rms_norm_row(x.row(r), w.input_norm.view(), eps, out)
    });
    let mut qkv = matmul(&n1p, &w.qkv);
    rope.apply_segments_view(qkv.slice_mut(s![.., ..qd + kvd]), hd, lens);
    let mut ctx = Array2::zeros((x.nrows(), qd));
    let mut start = 0;
    for &len in lens {
        let rows = s![start..start + len, ..];
        let part = qkv.slice(rows);
        let c = causal_attention(
            part.slice(s![.., ..qd]),
            part.slice(s![.., qd..qd + kvd]),
            part.slice(s![.., qd + kvd..]),
            cfg.num_attention_heads,
            cfg.num_key_value_heads,
            hd,
        );
        ctx.slice_mut(rows).assign(&c);
        start += len;
    }
    // Residual adds in the GEMM's store: h = x + o(ctx), y = h + down(act).
    let mut h = x.to_owned();
    matmul_into(
        &PackedRows::new(ctx.view()),
        &w.o,
        0..w.o.panels(),
        h.view_mut(),
        true,
    );
    let (n2, n2p) = packed_input(capture, t, h.ncols(), |r, out| {
        rms_norm_row(h.row(r), w.post_norm.view(), eps, out)
    });
    let gu = matmul(&n2p, &w.gate_up);
    let (act, actp) = packed_input(capture, t, ffn, |r, out| {
        let row = gu.row(r);
        let row = row.as_slice().expect("fresh array");
        swiglu_row(&row[..ffn], &row[ffn..], out)
    });
    let mut y = h;
    matmul_into(&actp, &w.down, 0..w.down.panels(), y.view_mut(), true);
    let inputs = match (n1, n2, act) {
        (Some(attn_in), Some(mlp_in), Some(down_in)) => Some(LinearInputs {
            attn_in,
            o_in: ctx,
            mlp_in,
            down_in,
        }),
        _ => None,
    };
    (y, inputs)
}

/// The packed `[rows, width]` GEMM input whose row `r` is `row(r, ..)`, and with
/// `capture` the matrix itself.
fn packed_input(
    capture: bool,
    rows: usize,
    width: usize,
    mut row: impl FnMut(usize, &mut [f32]),
) -> (Option<Array2<f32>>, PackedRows) {
    if !capture {
        return (None, PackedRows::from_row_fn(rows, width, row));
    }
    let mut m = Array2::zeros((rows, width));
    for (r, mut out) in m.outer_iter_mut().enumerate() {
        row(r, out.as_slice_mut().expect("fresh array"));
    }
    let p = PackedRows::new(m.view());
    (Some(m), p)
}
