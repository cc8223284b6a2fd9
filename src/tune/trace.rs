//! A recorded micro-batch ([`Recorder`]) as a [`Trace`], the simulator's input, with the
//! byte conventions of the analytic builder (`workload/build.rs`, `workload/saved.rs`), so
//! a measured and an analytic Trace of the same run are comparable figure by figure:
//!
//! - GEMMs: exactly the recorded products, in order (shape, bits, measured sparsity);
//! - vector ops: the recorder does not record them; they are derived per column with the
//!   analytic builder's rules (element counts from the model shape and `seq_len`), the
//!   optional ones from the recorded GEMMs: `lora_add_{n}` per `lora_b_{n}`,
//!   `lora_grad_add_{n}` per `lora_dgrad_a_{n}`, `softmax_recompute` with
//!   `attn_score_recompute`, `rmsnorm_attn_bwd` when any `dgrad_{q,k,v}` was computed;
//! - `saved_bytes` (forward columns): the recorded saved tensors' ELEMENT counts at the
//!   conventions' bit-widths ([`saved::tensor_by_name`]: 16-bit activations, `k`/`v` at
//!   `kv_bits` and the linear inputs at `a_bits` with per-token fp16 scales, fp32 rsqrt,
//!   log-sum-exp and logits), not the engine's own (f32) bytes; `checkpoint_bytes` = the
//!   column's 16-bit input when it saves anything (token ids for the embedding);
//! - `weight_bytes`: decoder layers: each linear by [`weight_bytes`] at its `w_bits` and
//!   measured sparsity, two 16-bit norm vectors, every stored 16-bit LoRA adapter of the
//!   layer; LM heads: 16-bit `[vocab, hidden]` matrix plus norm;
//! - `act_in/out_bytes`: 16-bit hidden states per token; an LM head outputs its fp32
//!   loss (4 B); the embedding reads its int32 ids and its tokens' rows; a backward column
//!   that computed no input gradient (the bottom of the backprop window) outputs nothing;
//! - trainable state: the tensors that receive gradients this step (the LoRA adapters of
//!   layers with a backward column, a trained exit head with a backward column) at
//!   [`TRAINABLE_BYTES_PER_PARAM`] and [`OPTIMIZER_BYTES_PER_PARAM`] on the forward
//!   column, [`GRAD_BYTES_PER_PARAM`] on the backward column; adapters of layers outside
//!   the window are stored weights only;
//! - `idle_weight_bytes`: the token-embedding table (unless tied to an LM head a column
//!   reads), stored LM heads no column read (the frozen final head, or trained exit-head
//!   copies), and every decoder layer with no forward column (with its adapters).
//!
//! Differences from the analytic model are the engine's: untrained exit heads share the
//! frozen final head (the analytic model stores one head per exit), Edge-LLM keeps the
//! adapters of every window (the analytic model those of the active window), and one
//! sequence per micro-batch (`micro_batch_size` 1).

use super::record::{Column, Recorder};
use crate::model::{Linear, ModelShape, layer_forward_vector_ops};
use crate::policy::LayerPolicy;
use crate::workload::compress::weight_bytes;
use crate::workload::saved;
use crate::workload::{
    ACT_BYTES, EntryKind, GRAD_BYTES_PER_PARAM, OPTIMIZER_BYTES_PER_PARAM, Pass,
    TRAINABLE_BYTES_PER_PARAM, Trace, TraceEntry, VectorOp,
};

/// Names and step sizes of the run, for the Trace header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceMeta {
    /// Workload name (the Trace's `workload`).
    pub workload: String,
    /// Model name.
    pub model: String,
    /// Tuning method (`lora`, `partial`, `edge-llm`).
    pub method: String,
    /// Tokens per sequence (`T`, the rows of every per-token GEMM).
    pub seq_len: u64,
    /// Sequences per optimizer step (the gradient-accumulation count).
    pub sequences_per_step: u64,
    /// Trainable parameters of the whole run (`Adapters::parameter_count`), for reference:
    /// the Trace's trainable bytes count, per column, only what receives gradients in the
    /// recorded step.
    pub trainable_params: u64,
}

/// One frozen linear as stored (from `FrozenLinear`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinearWeights {
    /// Input features.
    pub inp: u64,
    /// Output features.
    pub out: u64,
    /// Bits per stored value (16: f16/bf16, no scales).
    pub w_bits: u32,
    /// Measured fraction of zero weights, in [0, 1).
    pub sparsity: f64,
}

/// One decoder layer as stored and run.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerWeights {
    /// The layer's policy: `a_bits` and `kv_bits` set the saved tensors' widths.
    pub policy: LayerPolicy,
    /// The seven linears, in [`Linear::ALL`] order.
    pub linears: [LinearWeights; 7],
    /// LoRA rank (0 without adapters).
    pub lora_rank: u64,
    /// Linears carrying a LoRA adapter (`A: r x in`, `B: out x r`, 16-bit); empty when
    /// the layer has none.
    pub lora_targets: Vec<Linear>,
}

impl LayerWeights {
    /// LoRA parameters of the layer: `rank * (in + out)` per adapter.
    pub fn lora_params(&self) -> u64 {
        self.lora_targets
            .iter()
            .map(|l| {
                let w = &self.linears[linear_index(*l)];
                self.lora_rank * (w.inp + w.out)
            })
            .sum()
    }

    /// Stored bytes: compressed linears, two 16-bit norm vectors, 16-bit adapters.
    pub fn stored_bytes(&self, hidden: u64) -> u64 {
        let linears: u64 = self
            .linears
            .iter()
            .map(|w| weight_bytes(w.inp, w.out, w.w_bits, w.sparsity).total())
            .sum();
        linears + 2 * hidden * ACT_BYTES + self.lora_params() * TRAINABLE_BYTES_PER_PARAM
    }
}

/// One exit's LM head (norm + `[vocab, hidden]`, 16-bit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadWeights {
    /// Decoder layer it sits after (the last exit is `L - 1`, the model's own head).
    pub layer: u32,
    /// A trained copy of its own (Edge-LLM `train_exit_heads`); otherwise it is the frozen
    /// final norm and LM head, shared by every untrained exit.
    pub trainable: bool,
}

/// What the engine ran with, per decoder layer and head: the weight side of [`to_trace`].
#[derive(Debug, Clone, PartialEq)]
pub struct TraceWeights {
    /// Model shape (vector-op sizes, head and embedding sizes).
    pub shape: ModelShape,
    /// One per decoder layer, in order.
    pub layers: Vec<LayerWeights>,
    /// One per exit, in order.
    pub heads: Vec<HeadWeights>,
    /// The frozen LM head is the token-embedding table (SmolLM2).
    pub tied_embeddings: bool,
}

fn linear_index(l: Linear) -> usize {
    Linear::ALL.iter().position(|x| *x == l).unwrap_or(0)
}

fn vop(name: impl Into<String>, elements: u64, ops: f64) -> VectorOp {
    VectorOp {
        name: name.into(),
        elements,
        ops_per_element: ops,
    }
}

/// Stored bytes of one LM head: `[vocab, hidden]` plus its norm, 16-bit.
fn head_bytes(m: &ModelShape) -> u64 {
    (m.vocab * m.hidden + m.hidden) * ACT_BYTES
}

/// Converts one recorded micro-batch to a [`Trace`] (module doc for every convention).
/// Columns keep the recorder's order; decoder columns index `weights.layers` by their
/// layer, head columns find their exit in `weights.heads` by layer (none: a frozen head).
/// Side columns (LST, which the engine does not run) keep their GEMMs only.
pub fn to_trace(rec: &Recorder, weights: &TraceWeights, meta: &TraceMeta) -> Trace {
    let m = &weights.shape;
    let s = meta.seq_len;
    let (h, v) = (m.hidden, m.vocab);
    let has_bwd = |kind: EntryKind, layer: u32| {
        rec.columns
            .iter()
            .any(|c| c.pass == Pass::Bwd && c.kind == kind && c.layer == layer)
    };
    let head_of = |layer: u32| weights.heads.iter().find(|x| x.layer == layer);
    let default_policy = LayerPolicy {
        w_bits: 16,
        a_bits: 16,
        kv_bits: 16,
        sparsity: 0.0,
    };
    let mut entries = Vec::with_capacity(rec.columns.len());
    for c in &rec.columns {
        let mut e = TraceEntry::empty(c.label.clone(), c.kind, c.layer, c.pass);
        e.gemms = c.gemms.clone();
        let layer = weights.layers.get(c.layer as usize);
        let lp = layer.map_or(default_policy, |l| l.policy);
        match (c.kind, c.pass) {
            (EntryKind::Decoder, Pass::Fwd) => {
                for g in &c.gemms {
                    if let Some(n) = g.name.strip_prefix("lora_b_") {
                        e.vector_ops
                            .push(vop(format!("lora_add_{n}"), g.m * g.n, 2.0));
                    }
                }
                e.vector_ops.extend(layer_forward_vector_ops(m, s));
                e.weight_bytes = layer.map_or(0, |l| l.stored_bytes(h));
                e.act_in_bytes = s * h * ACT_BYTES;
                e.act_out_bytes = s * h * ACT_BYTES;
                if has_bwd(EntryKind::Decoder, c.layer) {
                    let p = layer.map_or(0, LayerWeights::lora_params);
                    e.trainable_bytes = p * TRAINABLE_BYTES_PER_PARAM;
                    e.optimizer_bytes = p * OPTIMIZER_BYTES_PER_PARAM;
                }
            }
            (EntryKind::Decoder, Pass::Bwd) => {
                e.vector_ops = decoder_bwd_vector_ops(c, m, s);
                e.weight_bytes = layer.map_or(0, |l| l.stored_bytes(h));
                e.act_in_bytes = s * h * ACT_BYTES;
                if computes_input_grad(c) {
                    e.act_out_bytes = s * h * ACT_BYTES;
                }
                e.grad_bytes = layer.map_or(0, LayerWeights::lora_params) * GRAD_BYTES_PER_PARAM;
            }
            (EntryKind::Head, pass) => {
                let trained = head_of(c.layer).is_some_and(|x| x.trainable)
                    && has_bwd(EntryKind::Head, c.layer);
                let params = if trained { v * h + h } else { 0 };
                e.weight_bytes = head_bytes(m);
                if pass == Pass::Fwd {
                    e.vector_ops.push(vop("final_rmsnorm", s * h, 4.0));
                    e.vector_ops.push(vop("cross_entropy", s * v, 5.0));
                    e.act_in_bytes = s * h * ACT_BYTES;
                    // The loss: one fp32 value per sequence.
                    e.act_out_bytes = 4;
                    e.trainable_bytes = params * TRAINABLE_BYTES_PER_PARAM;
                    e.optimizer_bytes = params * OPTIMIZER_BYTES_PER_PARAM;
                } else {
                    e.vector_ops.push(vop("cross_entropy_bwd", s * v, 2.0));
                    e.vector_ops.push(vop("final_rmsnorm_bwd", s * h, 8.0));
                    e.act_in_bytes = 4;
                    e.act_out_bytes = s * h * ACT_BYTES;
                    e.grad_bytes = params * GRAD_BYTES_PER_PARAM;
                }
            }
            (EntryKind::Embedding, Pass::Fwd) => {
                e.vector_ops.push(vop("embed_gather", s * h, 1.0));
                // int32 token ids and the rows of the sequence's tokens.
                e.act_in_bytes = s * 4 + s * h * ACT_BYTES;
                e.act_out_bytes = s * h * ACT_BYTES;
                if has_bwd(EntryKind::Embedding, c.layer) {
                    e.trainable_bytes = v * h * TRAINABLE_BYTES_PER_PARAM;
                    e.optimizer_bytes = v * h * OPTIMIZER_BYTES_PER_PARAM;
                }
            }
            (EntryKind::Embedding, Pass::Bwd) => {
                e.vector_ops.push(vop("embed_scatter_add", s * h, 1.0));
                e.act_in_bytes = s * h * ACT_BYTES;
                e.grad_bytes = v * h * GRAD_BYTES_PER_PARAM;
            }
            (EntryKind::Side, _) => {}
        }
        if c.pass == Pass::Fwd && !c.saved.is_empty() {
            e.saved_bytes = c
                .saved
                .iter()
                .map(|r| saved::tensor_by_name(r.name, r.elements, &lp, s).bytes())
                .sum();
            e.checkpoint_bytes = if c.kind == EntryKind::Embedding {
                s * 4
            } else {
                e.act_in_bytes
            };
        }
        e.flops_by_precision = e.computed_flops_by_precision();
        entries.push(e);
    }
    Trace {
        workload: meta.workload.clone(),
        model: meta.model.clone(),
        method: meta.method.clone(),
        seq_len: s,
        sequences_per_step: meta.sequences_per_step,
        micro_batch_size: 1,
        idle_weight_bytes: idle_bytes(rec, weights),
        entries,
    }
}

/// The column computed the gradient w.r.t. its input (the q/k/v input gradients).
fn computes_input_grad(c: &Column) -> bool {
    c.gemms
        .iter()
        .any(|g| matches!(g.name.as_str(), "dgrad_q" | "dgrad_k" | "dgrad_v"))
}

/// The vector ops of a decoder backward column, in the analytic builder's order.
fn decoder_bwd_vector_ops(c: &Column, m: &ModelShape, s: u64) -> Vec<VectorOp> {
    let (h, nh) = (m.hidden, m.heads);
    let mut out = Vec::new();
    let lora_add = |out: &mut Vec<VectorOp>, l: Linear| {
        let name = format!("lora_dgrad_a_{}", l.name());
        if let Some(g) = c.gemms.iter().find(|g| g.name == name) {
            out.push(vop(format!("lora_grad_add_{}", l.name()), g.m * g.n, 1.0));
        }
    };
    out.push(vop("residual_ffn_grad", s * h, 1.0));
    lora_add(&mut out, Linear::Down);
    out.push(vop("silu_mul_bwd", s * m.ffn, 8.0));
    lora_add(&mut out, Linear::Up);
    lora_add(&mut out, Linear::Gate);
    out.push(vop("rmsnorm_ffn_bwd", s * h, 8.0));
    out.push(vop("residual_attn_grad", s * h, 1.0));
    lora_add(&mut out, Linear::O);
    if c.gemms.iter().any(|g| g.name == "attn_score_recompute") {
        out.push(vop("softmax_recompute", nh * s * s, 5.0));
    }
    out.push(vop("softmax_bwd", nh * s * s, 4.0));
    out.push(vop("rope_bwd", s * (h + m.kv_dim()), 3.0));
    for l in [Linear::V, Linear::K, Linear::Q] {
        lora_add(&mut out, l);
    }
    if computes_input_grad(c) {
        out.push(vop("rmsnorm_attn_bwd", s * h, 8.0));
    }
    out
}

/// Stored weights no column streams: the embedding table, unread LM heads, layers not run.
fn idle_bytes(rec: &Recorder, w: &TraceWeights) -> u64 {
    let m = &w.shape;
    let ran = |kind: EntryKind, layer: u32| {
        rec.columns
            .iter()
            .any(|c| c.pass == Pass::Fwd && c.kind == kind && c.layer == layer)
    };
    let table = m.vocab * m.hidden * ACT_BYTES;
    let mut frozen_head_read = false;
    let mut idle = 0;
    for hw in &w.heads {
        let read = ran(EntryKind::Head, hw.layer);
        if hw.trainable && !read {
            idle += head_bytes(m);
        }
        frozen_head_read |= read && !hw.trainable;
    }
    // A head column without an exit entry runs the frozen head.
    frozen_head_read |= rec.columns.iter().any(|c| {
        c.kind == EntryKind::Head
            && c.pass == Pass::Fwd
            && !w.heads.iter().any(|x| x.layer == c.layer)
    });
    if !frozen_head_read {
        // The frozen final norm and LM head (its matrix is the table when tied).
        idle += if w.tied_embeddings {
            m.hidden * ACT_BYTES
        } else {
            head_bytes(m)
        };
    }
    if !(w.tied_embeddings && frozen_head_read) {
        idle += table;
    }
    for (j, l) in w.layers.iter().enumerate() {
        if !ran(EntryKind::Decoder, j as u32) {
            idle += l.stored_bytes(m.hidden);
        }
    }
    idle
}

#[cfg(test)]
mod tests;
