//! A synthetic LLaMA-like Trace built from a handful of shape numbers, for tests and
//! benches of the hardware-side model independent of the workload reader. Real traces
//! come from `workload`; this one only needs to be plausible and fully controlled.
//!
//! Per decoder layer and sequence of `seq` tokens: projections q,k,v,o (`h x h`),
//! gate/up (`h x f`), down (`f x h`) on the weights; attention scores and context as
//! per-sequence batched GEMMs over `heads`. Backward: activation gradients through every
//! linear (`dX = dY W^T`) and the attention GEMMs; LoRA rank `lora_rank` adapters on the
//! 7 linears are the trainable parameters (16-bit, Adam fp32 moments).

use crate::workload::{BOperand, EntryKind, GemmOp, Pass, Trace, TraceEntry, VectorOp};

/// Shape numbers of a synthetic trace.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SyntheticSpec {
    /// Decoder layers.
    pub layers: u32,
    /// Layers with backward (the last `backprop_layers`).
    pub backprop_layers: u32,
    /// Hidden size.
    pub hidden: u64,
    /// FFN size.
    pub ffn: u64,
    /// Attention heads.
    pub heads: u64,
    /// Tokens per sequence.
    pub seq: u64,
    /// Sequences per optimizer step.
    pub sequences_per_step: u64,
    /// Weight bits.
    pub w_bits: u32,
    /// Activation bits.
    pub a_bits: u32,
    /// Weight sparsity.
    pub sparsity: f64,
    /// LoRA rank (0: no trainable parameters).
    pub lora_rank: u64,
}

impl SyntheticSpec {
    /// A LLaMA-7B-shaped spec: 32 layers, 4096/11008, 32 heads, 1024 tokens, 16 sequences,
    /// 8-bit dense, LoRA r=8 on all layers.
    pub fn llama7b_like() -> Self {
        SyntheticSpec {
            layers: 32,
            backprop_layers: 32,
            hidden: 4096,
            ffn: 11008,
            heads: 32,
            seq: 1024,
            sequences_per_step: 16,
            w_bits: 8,
            a_bits: 8,
            sparsity: 0.0,
            lora_rank: 8,
        }
    }
}

fn gemm(name: &str, m: u64, k: u64, n: u64, s: &SyntheticSpec, b: BOperand, batch: u64) -> GemmOp {
    GemmOp {
        name: name.into(),
        m,
        k,
        n,
        batch,
        w_bits: if b == BOperand::Weight {
            s.w_bits
        } else {
            s.a_bits
        },
        a_bits: s.a_bits,
        sparsity: if b == BOperand::Weight {
            s.sparsity
        } else {
            0.0
        },
        b_operand: b,
        per_sequence: b == BOperand::Activation,
        a_on_chip: false,
        c_on_chip: false,
    }
}

/// Builds the trace.
pub fn synthetic_trace(s: &SyntheticSpec) -> Trace {
    let (t, h, f, nh) = (s.seq, s.hidden, s.ffn, s.heads.max(1));
    let dh = h / nh;
    let linears = [
        ("q", h, h),
        ("k", h, h),
        ("v", h, h),
        ("o", h, h),
        ("gate", h, f),
        ("up", h, f),
        ("down", f, h),
    ];
    let wbits = crate::mapper::weight_bits_per_element(s.w_bits, s.sparsity);
    let lin_params: u64 = linears.iter().map(|(_, i, o)| i * o).sum();
    let weight_bytes = (lin_params as f64 * wbits / 8.0).round() as u64;
    let lora_params: u64 = linears.iter().map(|(_, i, o)| s.lora_rank * (i + o)).sum();
    let abytes = s.a_bits as u64 / 8;
    let hidden_bytes = t * h * 2;
    let vec_ops = |bwd: bool| {
        let k = if bwd { 2.0 } else { 1.0 };
        vec![
            VectorOp {
                name: "rmsnorm".into(),
                elements: 2 * t * h,
                ops_per_element: 4.0 * k,
            },
            VectorOp {
                name: "softmax".into(),
                elements: nh * t * t,
                ops_per_element: 5.0 * k,
            },
            VectorOp {
                name: "silu_mul".into(),
                elements: t * f,
                ops_per_element: 5.0 * k,
            },
            VectorOp {
                name: "rope".into(),
                elements: 2 * t * h,
                ops_per_element: 3.0 * k,
            },
        ]
    };
    let mut entries = Vec::new();
    let first_bwd = s.layers - s.backprop_layers.min(s.layers);
    for l in 0..s.layers {
        let mut gemms: Vec<GemmOp> = linears
            .iter()
            .map(|(n, i, o)| gemm(n, t, *i, *o, s, BOperand::Weight, 1))
            .collect();
        gemms.push(gemm("attn_score", t, dh, t, s, BOperand::Activation, nh));
        gemms.push(gemm("attn_ctx", t, t, dh, s, BOperand::Activation, nh));
        let trains = l >= first_bwd && s.lora_rank > 0;
        let saved = if l >= first_bwd {
            t * (4 * h + 3 * f) * abytes + nh * t * t * abytes
        } else {
            0
        };
        entries.push(TraceEntry {
            gemms,
            vector_ops: vec_ops(false),
            weight_bytes: weight_bytes + if trains { lora_params * 2 } else { 0 },
            act_in_bytes: hidden_bytes,
            act_out_bytes: hidden_bytes,
            saved_bytes: saved,
            checkpoint_bytes: if saved > 0 { hidden_bytes } else { 0 },
            trainable_bytes: if trains { lora_params * 2 } else { 0 },
            optimizer_bytes: if trains { lora_params * 8 } else { 0 },
            ..TraceEntry::empty(format!("L{l}.fwd"), EntryKind::Decoder, l, Pass::Fwd)
        });
    }
    for l in (first_bwd..s.layers).rev() {
        let mut gemms: Vec<GemmOp> = linears
            .iter()
            .map(|(n, i, o)| gemm(&format!("dgrad_{n}"), t, *o, *i, s, BOperand::Weight, 1))
            .collect();
        for n in ["dscore", "dctx_p", "dctx_v", "dscore_q"] {
            gemms.push(gemm(
                n,
                t,
                if n.starts_with("dctx") { dh } else { t },
                if n.starts_with("dctx") { t } else { dh },
                s,
                BOperand::Activation,
                nh,
            ));
        }
        entries.push(TraceEntry {
            gemms,
            vector_ops: vec_ops(true),
            weight_bytes: weight_bytes + lora_params * 2,
            act_in_bytes: hidden_bytes,
            act_out_bytes: hidden_bytes,
            grad_bytes: if s.lora_rank > 0 { lora_params * 2 } else { 0 },
            ..TraceEntry::empty(format!("L{l}.bwd"), EntryKind::Decoder, l, Pass::Bwd)
        });
    }
    Trace {
        workload: format!("synthetic-{}L-w{}-p{}", s.layers, s.w_bits, s.sparsity),
        model: "synthetic".into(),
        method: "lora".into(),
        seq_len: t,
        sequences_per_step: s.sequences_per_step,
        micro_batch_size: 1,
        entries,
        idle_weight_bytes: 0,
    }
}
