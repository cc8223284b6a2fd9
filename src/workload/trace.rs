//! The Trace: the contract between the workload model (and the tensor engine that feeds it
//! policies) and everything hardware-side (mapper, grid, cost model, search, simulator).
//!
//! A Trace lists, in execution order for ONE micro-batch, every column of the
//! layer x micro-batch grid: the forward entries (embedding, decoder layers, exit heads)
//! then the backward entries within the backprop depth. Quantities marked "per sequence"
//! scale linearly with the micro-batch size `s` (sequences per micro-batch); quantities
//! marked "per step" do not.
//!
//! File format (`edgesim trace --out`, `edgesim run --trace`, `edgesim sim --trace`,
//! `tune`): exactly the serde JSON serialisation of [`Trace`] (every field required, no
//! others), read and checked by `Trace::from_json_file` (`trace_file.rs`).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Direction of a grid column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pass {
    /// Forward pass.
    Fwd,
    /// Backward pass.
    Bwd,
}

/// Which part of the model a column computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    /// Token embedding lookup.
    Embedding,
    /// One decoder layer.
    Decoder,
    /// An LM head (final head or an early-exit head) with its norm and loss.
    Head,
    /// A side network (LST) or other non-backbone block.
    Side,
}

/// Where the second (B, `k x n`) operand of a GEMM comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BOperand {
    /// A stored weight matrix of the layer (counted in `weight_bytes`).
    Weight,
    /// An activation produced at run time (attention K/V, gradients).
    Activation,
}

/// One matrix multiply `out[m x n] = A[m x k] . B[k x n]`, repeated `batch` times,
/// for ONE sequence of the micro-batch.
///
/// For a micro-batch of `s` sequences: if `per_sequence` is false the rows of all
/// sequences stack (`m * s`, e.g. the q/k/v/o/gate/up/down projections); if true the
/// GEMM is independent per sequence (`batch * s`, e.g. causal attention scores).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GemmOp {
    /// Name, e.g. `q`, `attn_score`, `dgrad_down`, `lora_b_v`.
    pub name: String,
    /// Rows of A and of the output.
    pub m: u64,
    /// Reduction dimension.
    pub k: u64,
    /// Columns of B and of the output.
    pub n: u64,
    /// Independent repetitions (heads) per sequence.
    pub batch: u64,
    /// Bits of the B operand.
    pub w_bits: u32,
    /// Bits of the A operand.
    pub a_bits: u32,
    /// Fraction of B's values that are zero and may be skipped (weights only).
    pub sparsity: f64,
    /// Source of B.
    pub b_operand: BOperand,
    /// See the type doc.
    pub per_sequence: bool,
    /// A is produced in SRAM by the previous GEMM of a fused kernel (FlashAttention's
    /// probability tiles) and is never read from DRAM. Absent in a file: false.
    #[serde(default)]
    pub a_on_chip: bool,
    /// The output is consumed in SRAM by the next GEMM of a fused kernel (FlashAttention's
    /// score tiles) and is never written to DRAM. Absent in a file: false.
    #[serde(default)]
    pub c_on_chip: bool,
}

impl GemmOp {
    /// Multiply-accumulates per sequence (dense, before zero skipping).
    pub fn macs(&self) -> f64 {
        self.m as f64 * self.k as f64 * self.n as f64 * self.batch as f64
    }

    /// FLOPs per sequence (2 per MAC).
    pub fn flops(&self) -> f64 {
        2.0 * self.macs()
    }
}

/// An element-wise or reduction op on the vector unit, per sequence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VectorOp {
    /// Name, e.g. `rmsnorm`, `softmax`, `silu_mul`, `rope`, `residual`.
    pub name: String,
    /// Elements touched per sequence.
    pub elements: u64,
    /// Vector-unit operations per element.
    pub ops_per_element: f64,
}

/// One grid column: a (part of the model, pass) pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceEntry {
    /// Label, e.g. `L3.fwd`, `exit7.bwd`, `embed.fwd`.
    pub label: String,
    /// Kind of block.
    pub kind: EntryKind,
    /// Decoder layer index (for heads: the layer the head is attached after).
    pub layer: u32,
    /// Pass.
    pub pass: Pass,
    /// Matrix multiplies, per sequence.
    pub gemms: Vec<GemmOp>,
    /// Vector-unit ops, per sequence.
    pub vector_ops: Vec<VectorOp>,
    /// Stored weight bytes this column must read (compressed values + sparse metadata,
    /// plus LoRA adapters), per step.
    pub weight_bytes: u64,
    /// Activation bytes entering the column, per sequence (fwd: hidden state; bwd: the
    /// gradient w.r.t. the column's output).
    pub act_in_bytes: u64,
    /// Activation bytes leaving the column, per sequence.
    pub act_out_bytes: u64,
    /// Forward only: bytes this column keeps for its backward, per sequence.
    pub saved_bytes: u64,
    /// Forward only: bytes kept instead when this column's activations are recomputed in
    /// backward (the column input), per sequence.
    pub checkpoint_bytes: u64,
    /// Backward only: weight-gradient bytes produced and accumulated over the step.
    pub grad_bytes: u64,
    /// Trainable parameter bytes of this block (counted once, on the forward entry).
    /// These tensors (LoRA adapters, trained weights, side network, embedding table) are
    /// also part of the stored weights ([`Trace::stored_weight_bytes`]): a memory total
    /// counts them once.
    pub trainable_bytes: u64,
    /// Optimizer state bytes of this block (counted once, on the forward entry).
    pub optimizer_bytes: u64,
    /// FLOPs per sequence keyed by precision class, e.g. `w4a8`, `w16a16`, `vector`.
    pub flops_by_precision: BTreeMap<String, f64>,
}

impl TraceEntry {
    /// A column with no ops and every byte count zero, for builders to fill in.
    pub fn empty(label: impl Into<String>, kind: EntryKind, layer: u32, pass: Pass) -> Self {
        TraceEntry {
            label: label.into(),
            kind,
            layer,
            pass,
            gemms: vec![],
            vector_ops: vec![],
            weight_bytes: 0,
            act_in_bytes: 0,
            act_out_bytes: 0,
            saved_bytes: 0,
            checkpoint_bytes: 0,
            grad_bytes: 0,
            trainable_bytes: 0,
            optimizer_bytes: 0,
            flops_by_precision: BTreeMap::new(),
        }
    }

    /// FLOPs per sequence by precision class, from the ops: GEMMs under
    /// `w{B bits}a{A bits}`, vector ops under `vector` (one FLOP per vector operation,
    /// present only when positive). The rule of every builder's `flops_by_precision`.
    pub fn computed_flops_by_precision(&self) -> BTreeMap<String, f64> {
        let mut f = BTreeMap::new();
        for g in &self.gemms {
            *f.entry(format!("w{}a{}", g.w_bits, g.a_bits))
                .or_insert(0.0) += g.flops();
        }
        let v: f64 = self
            .vector_ops
            .iter()
            .map(|o| o.elements as f64 * o.ops_per_element)
            .sum();
        if v > 0.0 {
            f.insert("vector".to_string(), v);
        }
        f
    }

    /// Total GEMM FLOPs per sequence.
    pub fn gemm_flops(&self) -> f64 {
        self.gemms.iter().map(GemmOp::flops).sum()
    }
}

/// The per-layer workload of one optimizer step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trace {
    /// Workload name.
    pub workload: String,
    /// Model preset or shape name.
    pub model: String,
    /// Tuning method (`lora`, `partial`, `lst`, `edge-llm`, `full`).
    pub method: String,
    /// Tokens per sequence.
    pub seq_len: u64,
    /// Sequences per optimizer step (batch x gradient-accumulation steps).
    pub sequences_per_step: u64,
    /// Sequences per micro-batch requested by the workload (the search may vary it).
    pub micro_batch_size: u64,
    /// Grid columns in execution order for one micro-batch.
    pub entries: Vec<TraceEntry>,
    /// Weights that must be stored but that no column streams as its `weight_bytes` this
    /// step, per step: the token-embedding table (a lookup reads only its tokens' rows,
    /// counted in the embedding column's `act_in_bytes`), Edge-LLM's inactive exit heads
    /// and the layers skipped beyond the active exit.
    pub idle_weight_bytes: u64,
}

impl Trace {
    /// Every stored weight byte: each forward entry's `weight_bytes` plus idle weights.
    /// (Backward entries re-read the same weights and are not counted again.)
    pub fn stored_weight_bytes(&self) -> u64 {
        self.fwd().map(|e| e.weight_bytes).sum::<u64>() + self.idle_weight_bytes
    }

    /// Bytes kept for backward, per sequence (all forward entries).
    pub fn saved_bytes_per_sequence(&self) -> u64 {
        self.fwd().map(|e| e.saved_bytes).sum()
    }

    /// Checkpoint bytes per sequence (all forward entries that save anything).
    pub fn checkpoint_bytes_per_sequence(&self) -> u64 {
        self.fwd().map(|e| e.checkpoint_bytes).sum()
    }

    /// Trainable parameter bytes, per step.
    pub fn trainable_bytes(&self) -> u64 {
        self.fwd().map(|e| e.trainable_bytes).sum()
    }

    /// Optimizer state bytes, per step.
    pub fn optimizer_bytes(&self) -> u64 {
        self.fwd().map(|e| e.optimizer_bytes).sum()
    }

    /// Weight-gradient bytes, per step.
    pub fn grad_bytes(&self) -> u64 {
        self.entries.iter().map(|e| e.grad_bytes).sum()
    }

    /// All FLOPs (GEMM and vector) per sequence, by precision class.
    pub fn flops_by_precision(&self) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        for e in &self.entries {
            for (k, v) in &e.flops_by_precision {
                *out.entry(k.clone()).or_insert(0.0) += v;
            }
        }
        out
    }

    /// GEMM FLOPs per sequence.
    pub fn gemm_flops_per_sequence(&self) -> f64 {
        self.entries.iter().map(TraceEntry::gemm_flops).sum()
    }

    fn fwd(&self) -> impl Iterator<Item = &TraceEntry> {
        self.entries.iter().filter(|e| e.pass == Pass::Fwd)
    }
}
