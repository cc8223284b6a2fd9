//! Builds the [`Trace`] of a [`Workload`]: one entry per grid column, forward then
//! backward, for one micro-batch (quantities per sequence or per step as documented in
//! `trace.rs`).
//!
//! Assumptions (every figure derived from these):
//! - activations and activation gradients in flight are 16-bit; what is kept for backward
//!   follows `workload::saved`; the checkpoint of a layer (kept instead when it is
//!   recomputed) is its 16-bit input;
//! - a frozen (compressed) layer's backward computes activation gradients only,
//!   `dX = dY W^T`, with W at the policy's bits and sparsity; LoRA adds its adapter
//!   gradients; full tuning adds `dW = dY^T X`; attention backward is four batched GEMMs
//!   (`dP = dO V^T`, `dV = P^T dO`, `dQ = dS K`, `dK = dS^T Q`), plus the score GEMM again
//!   for flash attention, whose `S x S` tiles (scores, probabilities and their gradients)
//!   stay in SRAM (`GemmOp::{a_on_chip, c_on_chip}`, FlashAttention's fused kernel);
//! - with `saved = "reference"`, each LoRA A-gradient reads the adapter's 16-bit dropped
//!   input (`workload::saved`), with `lean` the `a_bits` copy;
//! - the lowest backward decoder column does not compute the gradient w.r.t. its input,
//!   which nothing consumes: no `dgrad_{q,k,v}`, no `lora_dgrad_a_{q,k,v}` (nor the
//!   `lora_grad_add_{q,k,v}` that adds it), no `rmsnorm_attn_bwd`, and no output gradient
//!   (`act_out_bytes = 0`); weight gradients (`lora_wgrad_*`, full tuning's `wgrad_*`)
//!   remain. This is layer 0 for LoRA and the window start for partial tuning and
//!   Edge-LLM. Full tuning trains the embedding, whose backward consumes layer 0's input
//!   gradient, so every layer computes it; in LST each side layer's input gradient is the
//!   output gradient of its trained down-projection, needed for that projection's weight
//!   gradient (the gradient into the backbone is never computed), so every side layer
//!   computes it too. The tensor engine (`tune`) does the same;
//! - LoRA adapters (`A: r x in`, `B: out x r`) are 16-bit dense and stored with their layer;
//! - embedding and LM heads are never compressed (16-bit); the LM head's loss keeps the
//!   fp32 logits (the reference upcasts before cross-entropy);
//! - optimizer: Adam with two fp32 moments plus an fp32 master copy for every trainable
//!   parameter (12 B/param, on the forward entry); trainable parameters are 16-bit
//!   (2 B/param; also part of the `weight_bytes` of the forward entry that holds them);
//!   weight gradients accumulate over the step's micro-batches in fp32 (4 B/param, on the
//!   backward entry);
//! - LST side network (Sung et al., NeurIPS 2022, adapted to LLaMA): one side layer per
//!   backbone layer, a LLaMA decoder layer of width `hidden/r`, FFN `ffn/r`,
//!   `max(1, heads/r)` heads and `max(1, kv_heads/r)` KV heads, fed by a trainable
//!   down-projection `hidden -> hidden/r` of the backbone layer's output; after the last
//!   side layer an up-projection `hidden/r -> hidden` feeds the frozen final norm and LM
//!   head. All side weights are 16-bit, dense and trained; the gate scalars are
//!   negligible and not counted. The backbone runs forward only.
//! - Edge-LLM: every exit's window carries LoRA adapters (trained in its phase, kept and
//!   applied in every later forward: their forward GEMMs and stored bytes count outside the
//!   active window too, their gradients and optimizer state only inside it);
//!   the forward runs all layers (reference) unless `skip_forward_beyond_exit`;
//!   only the active exit's head computes (one exit loss per step), right after its exit
//!   layer (the wasted forward beyond the exit follows it); the other exit heads (each its own norm + LM head) and any
//!   skipped layers are stored but idle: [`Trace::idle_weight_bytes`];
//! - the embedding column reads only its tokens' rows (in `act_in_bytes`); the table is
//!   in `idle_weight_bytes`.

use super::compress::weight_bytes;
use super::saved::{self, Attention};
use super::{BOperand, EntryKind, GemmOp, Pass, Trace, TraceEntry, VectorOp};
use super::{Method, Workload};
use crate::model::{
    Linear, MatMulKind, ModelShape, layer_forward_matmuls, layer_forward_vector_ops,
};
use crate::policy::LayerPolicy;

/// Bytes per element of activations and gradients in flight.
pub const ACT_BYTES: u64 = 2;
/// Bytes per trainable parameter (16-bit working copy).
pub const TRAINABLE_BYTES_PER_PARAM: u64 = 2;
/// Bytes per weight-gradient element (fp32 accumulation over micro-batches).
pub const GRAD_BYTES_PER_PARAM: u64 = 4;
/// Optimizer bytes per trainable parameter: Adam m and v (fp32) + fp32 master copy.
pub const OPTIMIZER_BYTES_PER_PARAM: u64 = 12;

const DENSE16: LayerPolicy = LayerPolicy {
    w_bits: 16,
    a_bits: 16,
    kv_bits: 16,
    sparsity: 0.0,
};

/// How a decoder (or side) layer takes part in the step.
#[derive(Debug, Clone)]
struct Role {
    /// Backprop passes through it (it saves tensors and has a backward entry).
    backprop: bool,
    /// Every weight trained (full tuning, side network).
    full: bool,
    /// Linears with LoRA adapters.
    adapters: Vec<Linear>,
    /// LoRA rank.
    rank: u64,
}

impl Role {
    fn forward_only() -> Role {
        Role {
            backprop: false,
            full: false,
            adapters: vec![],
            rank: 0,
        }
    }

    fn full() -> Role {
        Role {
            backprop: true,
            full: true,
            adapters: vec![],
            rank: 0,
        }
    }

    fn lora(l: &super::Lora) -> Role {
        Role {
            backprop: true,
            full: false,
            adapters: l.targets.clone(),
            rank: l.rank,
        }
    }

    fn trained(&self) -> Vec<Linear> {
        if self.full {
            Linear::ALL.to_vec()
        } else {
            self.adapters.clone()
        }
    }

    fn trainable_params(&self, m: &ModelShape) -> u64 {
        if self.full {
            m.params_per_layer()
        } else {
            self.adapters
                .iter()
                .map(|l| {
                    let (i, o) = l.dims(m);
                    self.rank * (i + o)
                })
                .sum()
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn gemm(
    name: impl Into<String>,
    m: u64,
    k: u64,
    n: u64,
    batch: u64,
    w_bits: u32,
    a_bits: u32,
    sparsity: f64,
    b_operand: BOperand,
    per_sequence: bool,
) -> GemmOp {
    GemmOp {
        name: name.into(),
        m,
        k,
        n,
        batch,
        w_bits,
        a_bits,
        sparsity,
        b_operand,
        per_sequence,
        a_on_chip: false,
        c_on_chip: false,
    }
}

/// A GEMM against a decoder linear compressed per the layer policy (`w_bits`, `sparsity`)
/// with `a_bits` activations, rows stacked over the micro-batch.
fn policy_weight_gemm(
    name: impl Into<String>,
    m: u64,
    k: u64,
    n: u64,
    lp: &LayerPolicy,
    a_bits: u32,
) -> GemmOp {
    gemm(
        name,
        m,
        k,
        n,
        1,
        lp.w_bits,
        a_bits,
        lp.sparsity,
        BOperand::Weight,
        false,
    )
}

/// A dense 16-bit GEMM against a stored weight (adapters, LM heads, side projections),
/// rows stacked over the micro-batch.
fn weight16_gemm(name: impl Into<String>, m: u64, k: u64, n: u64) -> GemmOp {
    gemm(name, m, k, n, 1, 16, 16, 0.0, BOperand::Weight, false)
}

/// A GEMM whose B operand is a run-time activation of `b_bits` (attention K/V,
/// probabilities, saved inputs for weight gradients) against 16-bit A, independent per
/// sequence.
fn activation_gemm(
    name: impl Into<String>,
    m: u64,
    k: u64,
    n: u64,
    batch: u64,
    b_bits: u32,
) -> GemmOp {
    gemm(
        name,
        m,
        k,
        n,
        batch,
        b_bits,
        16,
        0.0,
        BOperand::Activation,
        true,
    )
}

/// An attention GEMM inside FlashAttention's fused kernel (Dao et al., NeurIPS 2022,
/// Algorithms 1 and 2): with `Attention::Flash`, its `S x S` operand is a tile produced
/// and consumed in SRAM: `a_tile` when A is the probability (or score-gradient) tile,
/// `c_tile` when the output is the score (or probability-gradient) tile. Only Q, K, V, O,
/// dO and the gradients cross the DRAM interface (the mapper's `fused`); the backward
/// recomputes the score tiles (`attn_score_recompute`, extra FLOPs). Eager attention
/// materialises every `S x S` tensor in DRAM.
fn flash(mut g: GemmOp, attention: Attention, a_tile: bool, c_tile: bool) -> GemmOp {
    if attention == Attention::Flash {
        g.a_on_chip = a_tile;
        g.c_on_chip = c_tile;
    }
    g
}

fn vop(name: &str, elements: u64, ops: f64) -> VectorOp {
    VectorOp {
        name: name.to_string(),
        elements,
        ops_per_element: ops,
    }
}

/// Fills `flops_by_precision` from the ops
/// ([`TraceEntry::computed_flops_by_precision`]).
fn finish(mut e: TraceEntry) -> TraceEntry {
    e.flops_by_precision = e.computed_flops_by_precision();
    e
}

/// Stored bytes of a decoder layer: compressed linears, two 16-bit norm vectors, adapters.
fn decoder_weight_bytes(m: &ModelShape, lp: &LayerPolicy, role: &Role) -> u64 {
    let linears: u64 = Linear::ALL
        .iter()
        .map(|l| {
            let (i, o) = l.dims(m);
            weight_bytes(i, o, lp.w_bits, lp.sparsity).total()
        })
        .sum();
    let adapters: u64 = role
        .adapters
        .iter()
        .map(|l| {
            let (i, o) = l.dims(m);
            role.rank * (i + o) * 2
        })
        .sum();
    linears + 2 * m.hidden * 2 + adapters
}

struct Ctx {
    seq: u64,
    attention: Attention,
    saved: saved::Saved,
}

fn decoder_fwd(
    c: &Ctx,
    m: &ModelShape,
    label: String,
    kind: EntryKind,
    j: u32,
    lp: &LayerPolicy,
    role: &Role,
) -> TraceEntry {
    let s = c.seq;
    let mut e = TraceEntry::empty(label, kind, j, Pass::Fwd);
    for mm in layer_forward_matmuls(m, s) {
        match mm.kind {
            MatMulKind::Linear(l) => {
                e.gemms.push(policy_weight_gemm(
                    l.name(),
                    mm.m,
                    mm.k,
                    mm.n,
                    lp,
                    lp.a_bits,
                ));
                if role.adapters.contains(&l) {
                    let (i, o) = l.dims(m);
                    let r = role.rank;
                    e.gemms
                        .push(weight16_gemm(format!("lora_a_{}", l.name()), s, i, r));
                    e.gemms
                        .push(weight16_gemm(format!("lora_b_{}", l.name()), s, r, o));
                    e.vector_ops
                        .push(vop(&format!("lora_add_{}", l.name()), s * o, 2.0));
                }
            }
            // B = keys / values at kv_bits; A = queries / probabilities (16-bit). Flash
            // attention fuses the two: score tiles stay in SRAM (see `flash`).
            MatMulKind::AttnScore | MatMulKind::AttnContext => e.gemms.push(flash(
                activation_gemm(mm.name(), mm.m, mm.k, mm.n, mm.batch, lp.kv_bits),
                c.attention,
                mm.kind == MatMulKind::AttnContext,
                mm.kind == MatMulKind::AttnScore,
            )),
        }
    }
    e.vector_ops.extend(layer_forward_vector_ops(m, s));
    e.weight_bytes = decoder_weight_bytes(m, lp, role);
    e.act_in_bytes = s * m.hidden * ACT_BYTES;
    e.act_out_bytes = s * m.hidden * ACT_BYTES;
    if role.backprop {
        let t = saved::decoder_saved_as(
            m,
            s,
            lp,
            c.attention,
            &role.trained(),
            &role.adapters,
            role.rank,
            c.saved,
        );
        e.saved_bytes = saved::total_bytes(&t);
        e.checkpoint_bytes = s * m.hidden * ACT_BYTES;
    }
    // A layer outside the backprop window trains nothing this step, even when it carries
    // adapters (Edge-LLM keeps every window's adapters in the forward).
    let p = if role.backprop {
        role.trainable_params(m)
    } else {
        0
    };
    e.trainable_bytes = p * TRAINABLE_BYTES_PER_PARAM;
    e.optimizer_bytes = p * OPTIMIZER_BYTES_PER_PARAM;
    e
}

/// The backward column of a decoder (or side) layer. `input_grad`: whether it computes the
/// gradient w.r.t. its input (false for the lowest backward column, whose input gradient
/// nothing consumes; see the module doc).
#[allow(clippy::too_many_arguments)]
fn decoder_bwd(
    c: &Ctx,
    m: &ModelShape,
    label: String,
    kind: EntryKind,
    j: u32,
    lp: &LayerPolicy,
    role: &Role,
    input_grad: bool,
) -> TraceEntry {
    let s = c.seq;
    let (h, d, nh) = (m.hidden, m.head_dim(), m.heads);
    let mut e = TraceEntry::empty(label, kind, j, Pass::Bwd);
    let saved_in_bits = lp.a_bits.min(16);
    // `dx`: the linear's input gradient is computed (inside the layer it always is; q, k
    // and v take the layer input, so theirs only when `input_grad`).
    let linear_bwd = |e: &mut TraceEntry, l: Linear, dx: bool| {
        let (i, o) = l.dims(m);
        let n = l.name();
        if dx {
            e.gemms
                .push(policy_weight_gemm(format!("dgrad_{n}"), s, o, i, lp, 16));
        }
        if role.full {
            e.gemms.push(activation_gemm(
                format!("wgrad_{n}"),
                o,
                s,
                i,
                1,
                saved_in_bits,
            ));
        }
        if role.adapters.contains(&l) {
            let r = role.rank;
            e.gemms
                .push(weight16_gemm(format!("lora_dgrad_b_{n}"), s, o, r));
            e.gemms
                .push(activation_gemm(format!("lora_wgrad_b_{n}"), o, s, r, 1, 16));
            // The reference keeps the adapter's 16-bit dropped input for this GEMM
            // (workload::saved); lean reads the `a_bits` copy.
            let a_in_bits = if c.saved == saved::Saved::Reference {
                16
            } else {
                saved_in_bits
            };
            e.gemms.push(activation_gemm(
                format!("lora_wgrad_a_{n}"),
                r,
                s,
                i,
                1,
                a_in_bits,
            ));
            if dx {
                e.gemms
                    .push(weight16_gemm(format!("lora_dgrad_a_{n}"), s, r, i));
                e.vector_ops
                    .push(vop(&format!("lora_grad_add_{n}"), s * i, 1.0));
            }
        }
    };
    e.vector_ops.push(vop("residual_ffn_grad", s * h, 1.0));
    linear_bwd(&mut e, Linear::Down, true);
    e.vector_ops.push(vop("silu_mul_bwd", s * m.ffn, 8.0));
    linear_bwd(&mut e, Linear::Up, true);
    linear_bwd(&mut e, Linear::Gate, true);
    e.vector_ops.push(vop("rmsnorm_ffn_bwd", s * h, 8.0));
    e.vector_ops.push(vop("residual_attn_grad", s * h, 1.0));
    linear_bwd(&mut e, Linear::O, true);
    let at = c.attention;
    if at == Attention::Flash {
        e.gemms.push(flash(
            activation_gemm("attn_score_recompute", s, d, s, nh, lp.kv_bits),
            at,
            false,
            true,
        ));
        e.vector_ops.push(vop("softmax_recompute", nh * s * s, 5.0));
    }
    // dP = dO V^T (a score-sized tile); dV = P^T dO, dQ = dS K, dK = dS^T Q read the
    // probability / score-gradient tiles.
    e.gemms.push(flash(
        activation_gemm("attn_dprobs", s, d, s, nh, lp.kv_bits),
        at,
        false,
        true,
    ));
    e.gemms.push(flash(
        activation_gemm("attn_dv", s, s, d, nh, 16),
        at,
        true,
        false,
    ));
    e.vector_ops.push(vop("softmax_bwd", nh * s * s, 4.0));
    e.gemms.push(flash(
        activation_gemm("attn_dq", s, s, d, nh, lp.kv_bits),
        at,
        true,
        false,
    ));
    e.gemms.push(flash(
        activation_gemm("attn_dk", s, s, d, nh, 16),
        at,
        true,
        false,
    ));
    e.vector_ops
        .push(vop("rope_bwd", s * (h + m.kv_dim()), 3.0));
    for l in [Linear::V, Linear::K, Linear::Q] {
        linear_bwd(&mut e, l, input_grad);
    }
    if input_grad {
        e.vector_ops.push(vop("rmsnorm_attn_bwd", s * h, 8.0));
        e.act_out_bytes = s * h * ACT_BYTES;
    }
    e.weight_bytes = decoder_weight_bytes(m, lp, role);
    e.act_in_bytes = s * h * ACT_BYTES;
    e.grad_bytes = role.trainable_params(m) * GRAD_BYTES_PER_PARAM;
    e
}

/// Head of the model or of an exit: final RMSNorm + LM head + cross-entropy loss.
struct HeadSpec {
    label: String,
    layer: u32,
    trainable: bool,
    backprop: bool,
    /// LST: width of the side network feeding the head through a trained up-projection.
    side_width: Option<u64>,
}

fn head_fwd(c: &Ctx, m: &ModelShape, hs: &HeadSpec) -> TraceEntry {
    let (s, h, v) = (c.seq, m.hidden, m.vocab);
    let mut e = TraceEntry::empty(
        format!("{}.fwd", hs.label),
        EntryKind::Head,
        hs.layer,
        Pass::Fwd,
    );
    let mut params_trained = 0;
    e.act_in_bytes = s * h * ACT_BYTES;
    if let Some(w) = hs.side_width {
        e.gemms.push(weight16_gemm("side_up", s, w, h));
        e.weight_bytes += w * h * 2;
        params_trained += w * h;
        e.act_in_bytes = s * w * ACT_BYTES;
    }
    e.vector_ops.push(vop("final_rmsnorm", s * h, 4.0));
    e.gemms.push(weight16_gemm("lm_head", s, h, v));
    e.vector_ops.push(vop("cross_entropy", s * v, 5.0));
    e.weight_bytes += (v * h + h) * 2;
    if hs.trainable {
        params_trained += v * h + h;
    }
    // The loss: one fp32 value per sequence.
    e.act_out_bytes = 4;
    if hs.backprop {
        let mut saved_b = s * h * ACT_BYTES + s * 4 + s * v * 4;
        if hs.trainable {
            saved_b += s * h * ACT_BYTES;
        }
        if let Some(w) = hs.side_width {
            saved_b += s * w * ACT_BYTES;
        }
        e.saved_bytes = saved_b;
        e.checkpoint_bytes = e.act_in_bytes;
    }
    e.trainable_bytes = params_trained * TRAINABLE_BYTES_PER_PARAM;
    e.optimizer_bytes = params_trained * OPTIMIZER_BYTES_PER_PARAM;
    finish(e)
}

fn head_bwd(c: &Ctx, m: &ModelShape, hs: &HeadSpec) -> TraceEntry {
    let (s, h, v) = (c.seq, m.hidden, m.vocab);
    let mut e = TraceEntry::empty(
        format!("{}.bwd", hs.label),
        EntryKind::Head,
        hs.layer,
        Pass::Bwd,
    );
    let mut params_trained = 0;
    e.vector_ops.push(vop("cross_entropy_bwd", s * v, 2.0));
    e.gemms.push(weight16_gemm("dgrad_lm_head", s, v, h));
    if hs.trainable {
        e.gemms
            .push(activation_gemm("wgrad_lm_head", v, s, h, 1, 16));
        params_trained += v * h + h;
    }
    e.vector_ops.push(vop("final_rmsnorm_bwd", s * h, 8.0));
    e.weight_bytes = (v * h + h) * 2;
    e.act_in_bytes = 4;
    e.act_out_bytes = s * h * ACT_BYTES;
    if let Some(w) = hs.side_width {
        e.gemms.push(weight16_gemm("dgrad_side_up", s, h, w));
        e.gemms
            .push(activation_gemm("wgrad_side_up", h, s, w, 1, 16));
        e.weight_bytes += w * h * 2;
        params_trained += w * h;
        e.act_out_bytes = s * w * ACT_BYTES;
    }
    e.grad_bytes = params_trained * GRAD_BYTES_PER_PARAM;
    finish(e)
}

fn embed_fwd(c: &Ctx, m: &ModelShape, trainable: bool) -> TraceEntry {
    let s = c.seq;
    let mut e = TraceEntry::empty("embed.fwd", EntryKind::Embedding, 0, Pass::Fwd);
    e.vector_ops.push(vop("embed_gather", s * m.hidden, 1.0));
    // The lookup reads only the rows of the sequence's tokens, not the whole table: they
    // are its input (with the int32 token ids). The table itself is stored but not
    // streamed: it is counted in `Trace::idle_weight_bytes`.
    e.act_in_bytes = s * 4 + s * m.hidden * ACT_BYTES;
    e.act_out_bytes = s * m.hidden * ACT_BYTES;
    if trainable {
        e.saved_bytes = s * 4;
        e.checkpoint_bytes = s * 4;
        // A tied table is the LM head's matrix: trained and counted by the head.
        let own = if m.tied_embeddings {
            0
        } else {
            m.embedding_params()
        };
        e.trainable_bytes = own * TRAINABLE_BYTES_PER_PARAM;
        e.optimizer_bytes = own * OPTIMIZER_BYTES_PER_PARAM;
    }
    finish(e)
}

fn embed_bwd(c: &Ctx, m: &ModelShape) -> TraceEntry {
    let s = c.seq;
    let mut e = TraceEntry::empty("embed.bwd", EntryKind::Embedding, 0, Pass::Bwd);
    e.vector_ops
        .push(vop("embed_scatter_add", s * m.hidden, 1.0));
    e.act_in_bytes = s * m.hidden * ACT_BYTES;
    // A tied table's gradient is the LM head's (accumulated into it).
    e.grad_bytes = if m.tied_embeddings {
        0
    } else {
        m.embedding_params()
    } * GRAD_BYTES_PER_PARAM;
    finish(e)
}

/// The side network's layer shape for LST with reduction `r`.
pub fn lst_side_shape(m: &ModelShape, r: u64) -> ModelShape {
    let heads = (m.heads / r).max(1);
    let mut kv = (m.kv_heads / r).max(1);
    while !heads.is_multiple_of(kv) {
        kv -= 1;
    }
    ModelShape {
        name: format!("{}-side/{}", m.name, r),
        layers: m.layers,
        hidden: m.hidden / r,
        ffn: m.ffn / r,
        heads,
        kv_heads: kv,
        vocab: m.vocab,
        tied_embeddings: false,
        qkv_bias: false,
    }
}

fn head_bytes(m: &ModelShape) -> u64 {
    (m.vocab * m.hidden + m.hidden) * 2
}

/// Builds the trace.
pub(super) fn build(w: &Workload) -> Trace {
    let m = &w.model;
    let c = Ctx {
        seq: w.batch.seq_len,
        attention: w.batch.attention,
        saved: w.batch.saved,
    };
    let l = m.layers;
    let lp = |j: u32| w.policy.layers[j as usize];
    let mut fwd: Vec<TraceEntry> = Vec::new();
    let mut bwd: Vec<TraceEntry> = Vec::new();
    // The embedding table: stored, never streamed as a whole (see `embed_fwd`).
    let mut idle = m.embedding_params() * 2;
    let dec_fwd = |j: u32, role: &Role| {
        finish(decoder_fwd(
            &c,
            m,
            format!("L{j}.fwd"),
            EntryKind::Decoder,
            j,
            &lp(j),
            role,
        ))
    };
    // `bottom`: the lowest backward decoder column, whose input gradient nothing consumes.
    let dec_bwd = |j: u32, role: &Role, bottom: u32| {
        finish(decoder_bwd(
            &c,
            m,
            format!("L{j}.bwd"),
            EntryKind::Decoder,
            j,
            &lp(j),
            role,
            j != bottom,
        ))
    };
    let final_head = |trainable: bool, backprop: bool| HeadSpec {
        label: "head".into(),
        layer: l - 1,
        trainable,
        backprop,
        side_width: None,
    };
    match &w.method {
        Method::Full => {
            let role = Role::full();
            fwd.push(embed_fwd(&c, m, true));
            fwd.extend((0..l).map(|j| dec_fwd(j, &role)));
            let hs = final_head(true, true);
            fwd.push(head_fwd(&c, m, &hs));
            bwd.push(head_bwd(&c, m, &hs));
            // The embedding is trained: its backward consumes layer 0's input gradient.
            bwd.extend((0..l).rev().map(|j| dec_bwd(j, &role, u32::MAX)));
            bwd.push(embed_bwd(&c, m));
        }
        Method::Lora(lora) => {
            let role = Role::lora(lora);
            fwd.push(embed_fwd(&c, m, false));
            fwd.extend((0..l).map(|j| dec_fwd(j, &role)));
            let hs = final_head(false, true);
            fwd.push(head_fwd(&c, m, &hs));
            bwd.push(head_bwd(&c, m, &hs));
            bwd.extend((0..l).rev().map(|j| dec_bwd(j, &role, 0)));
        }
        Method::Partial { last_layers, lora } => {
            let first = l - last_layers;
            let role = Role::lora(lora);
            fwd.push(embed_fwd(&c, m, false));
            for j in 0..l {
                let r = if j >= first {
                    role.clone()
                } else {
                    Role::forward_only()
                };
                fwd.push(dec_fwd(j, &r));
            }
            let hs = final_head(false, true);
            fwd.push(head_fwd(&c, m, &hs));
            bwd.push(head_bwd(&c, m, &hs));
            bwd.extend((first..l).rev().map(|j| dec_bwd(j, &role, first)));
        }
        Method::Lst { reduction } => {
            let sm = lst_side_shape(m, *reduction);
            let role = Role::full();
            fwd.push(embed_fwd(&c, m, false));
            for j in 0..l {
                fwd.push(dec_fwd(j, &Role::forward_only()));
                fwd.push(side_fwd(&c, m, &sm, j, &role));
            }
            let hs = HeadSpec {
                side_width: Some(sm.hidden),
                ..final_head(false, true)
            };
            fwd.push(head_fwd(&c, m, &hs));
            bwd.push(head_bwd(&c, m, &hs));
            bwd.extend((0..l).rev().map(|j| side_bwd(&c, m, &sm, j, &role)));
        }
        Method::EdgeLlm(el) => {
            let exit = el.exit();
            let start = el.window_start();
            let role = Role::lora(&el.lora);
            let last_fwd = if el.skip_forward_beyond_exit {
                exit
            } else {
                l - 1
            };
            // Every window's adapters stay in the model (trained in their phase, applied in
            // every forward after it), so a layer outside the active window that belongs
            // to some window runs its adapters forward-only.
            let in_some_window = |j: u32| {
                el.exits
                    .iter()
                    .any(|&e| (e + 1).saturating_sub(el.window) <= j && j <= e)
            };
            let outside = |j: u32| {
                if in_some_window(j) {
                    Role {
                        backprop: false,
                        ..role.clone()
                    }
                } else {
                    Role::forward_only()
                }
            };
            let hs = HeadSpec {
                label: format!("exit{exit}"),
                layer: exit,
                trainable: el.train_exit_heads,
                backprop: true,
                side_width: None,
            };
            fwd.push(embed_fwd(&c, m, false));
            for j in 0..=last_fwd {
                let r = if (start..=exit).contains(&j) {
                    role.clone()
                } else {
                    outside(j)
                };
                fwd.push(dec_fwd(j, &r));
                // The exit head consumes the exit layer's output directly.
                if j == exit {
                    fwd.push(head_fwd(&c, m, &hs));
                }
            }
            // Skipped layers are stored but never read this step.
            for j in last_fwd + 1..l {
                idle += decoder_weight_bytes(m, &lp(j), &outside(j));
            }
            bwd.push(head_bwd(&c, m, &hs));
            bwd.extend((start..=exit).rev().map(|j| dec_bwd(j, &role, start)));
            // One head per exit plus the model's own head after the last layer.
            let mut heads: Vec<u32> = el.exits.clone();
            if !heads.contains(&(l - 1)) {
                heads.push(l - 1);
            }
            idle += (heads.len() as u64 - 1) * head_bytes(m);
        }
    }
    // A tied LM head is the embedding table, stored once: the final head column streams
    // it (not idle), and an unread tied head stores only its final norm.
    if m.tied_embeddings {
        idle -= m.vocab * m.hidden * 2;
    }
    fwd.extend(bwd);
    Trace {
        workload: w.name.clone(),
        model: m.name.clone(),
        method: w.method.name().to_string(),
        seq_len: w.batch.seq_len,
        sequences_per_step: w.batch.sequences_per_step,
        micro_batch_size: w.batch.micro_batch_size,
        entries: fwd,
        idle_weight_bytes: idle,
    }
}

fn side_fwd(c: &Ctx, m: &ModelShape, sm: &ModelShape, j: u32, role: &Role) -> TraceEntry {
    let s = c.seq;
    let mut e = decoder_fwd(
        c,
        sm,
        format!("S{j}.fwd"),
        EntryKind::Side,
        j,
        &DENSE16,
        role,
    );
    e.gemms
        .insert(0, weight16_gemm("side_down", s, m.hidden, sm.hidden));
    let down = m.hidden * sm.hidden;
    e.weight_bytes += down * 2;
    e.trainable_bytes += down * TRAINABLE_BYTES_PER_PARAM;
    e.optimizer_bytes += down * OPTIMIZER_BYTES_PER_PARAM;
    // Inputs: the backbone layer's output and the previous side layer's output.
    e.act_in_bytes = s * (m.hidden + sm.hidden) * ACT_BYTES;
    // Keeps the backbone output for the down-projection's weight gradient.
    e.saved_bytes += s * m.hidden * ACT_BYTES;
    e.checkpoint_bytes = e.act_in_bytes;
    finish(e)
}

fn side_bwd(c: &Ctx, m: &ModelShape, sm: &ModelShape, j: u32, role: &Role) -> TraceEntry {
    let s = c.seq;
    let mut e = decoder_bwd(
        c,
        sm,
        format!("S{j}.bwd"),
        EntryKind::Side,
        j,
        &DENSE16,
        role,
        // Consumed by the down-projection's weight gradient below.
        true,
    );
    // No gradient flows into the backbone: the down-projection gets dW only.
    e.gemms.push(activation_gemm(
        "wgrad_side_down",
        sm.hidden,
        s,
        m.hidden,
        1,
        16,
    ));
    let down = m.hidden * sm.hidden;
    e.weight_bytes += down * 2;
    e.grad_bytes += down * GRAD_BYTES_PER_PARAM;
    finish(e)
}
