//! The JSON Schema of a Trace file (`edgesim trace --json`, `--out`; [`super::Trace`]'s
//! serde serialisation, `schemas/trace.schema.json`).
//!
//! The Trace types live in the workload module and carry no schema derive; these
//! schema-only mirrors repeat their fields, units and serde attributes. `tests/api.rs`
//! validates real Trace files against the generated schema with unknown keys refused and
//! every key required, so a field added to or removed from the Trace without its mirror
//! fails there.

use schemars::JsonSchema;
use std::collections::BTreeMap;

/// A Trace file: the per-layer workload of one optimizer step.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields, rename = "Trace")]
#[allow(dead_code)]
pub(crate) struct TraceFile {
    /// Workload name.
    workload: String,
    /// Model preset or shape name.
    model: String,
    /// Tuning method (`lora`, `partial`, `lst`, `edge-llm`, `full`).
    method: String,
    /// Tokens per sequence (count).
    seq_len: u64,
    /// Sequences per optimizer step (count).
    sequences_per_step: u64,
    /// Sequences per micro-batch requested by the workload (count).
    micro_batch_size: u64,
    /// Grid columns in execution order for one micro-batch; forward entries first.
    entries: Vec<TraceEntryFile>,
    /// Stored weights no column streams this step (bytes per step).
    idle_weight_bytes: u64,
}

/// Direction of a grid column.
#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum Pass {
    /// Forward pass.
    Fwd,
    /// Backward pass.
    Bwd,
}

/// Which part of the model a column computes.
#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum EntryKind {
    /// Token embedding lookup.
    Embedding,
    /// One decoder layer.
    Decoder,
    /// An LM head (final or early-exit) with its norm and loss.
    Head,
    /// A side network (LST) or other non-backbone block.
    Side,
}

/// Where the second (B) operand of a GEMM comes from.
#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum BOperand {
    /// A stored weight matrix.
    Weight,
    /// An activation produced at run time.
    Activation,
}

/// One grid column: a (part of the model, pass) pair.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields, rename = "TraceEntry")]
#[allow(dead_code)]
struct TraceEntryFile {
    /// Label, e.g. `L3.fwd`, unique in the trace.
    label: String,
    /// Kind of block.
    kind: EntryKind,
    /// Decoder layer index (heads: the layer they follow).
    layer: u32,
    /// Pass.
    pass: Pass,
    /// Matrix multiplies, per sequence.
    gemms: Vec<GemmOpFile>,
    /// Vector-unit ops, per sequence.
    vector_ops: Vec<VectorOpFile>,
    /// Stored weight bytes the column reads (bytes per step).
    weight_bytes: u64,
    /// Activation bytes entering the column (bytes per sequence).
    act_in_bytes: u64,
    /// Activation bytes leaving the column (bytes per sequence).
    act_out_bytes: u64,
    /// Forward only: bytes kept for backward (bytes per sequence).
    saved_bytes: u64,
    /// Forward only: bytes kept instead when recomputed (bytes per sequence).
    checkpoint_bytes: u64,
    /// Backward only: weight-gradient bytes over the step (bytes).
    grad_bytes: u64,
    /// Trainable parameter bytes of the block (bytes; on the forward entry).
    trainable_bytes: u64,
    /// Optimizer state bytes of the block (bytes; on the forward entry).
    optimizer_bytes: u64,
    /// FLOPs per sequence by precision class (`w4a8`, `w16a16`, `vector`).
    flops_by_precision: BTreeMap<String, f64>,
}

/// One matrix multiply `out[m x n] = A[m x k] . B[k x n]`, `batch` times per sequence.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields, rename = "GemmOp")]
#[allow(dead_code)]
struct GemmOpFile {
    /// Name, e.g. `q`, `attn_score`, `dgrad_down`.
    name: String,
    /// Rows of A and of the output (count, >= 1).
    m: u64,
    /// Reduction dimension (count, >= 1).
    k: u64,
    /// Columns of B and of the output (count, >= 1).
    n: u64,
    /// Independent repetitions (heads) per sequence (count, >= 1).
    batch: u64,
    /// Bits of the B operand (1..=32).
    w_bits: u32,
    /// Bits of the A operand (1..=32).
    a_bits: u32,
    /// Fraction of B's values that are zero (0 <= s < 1).
    sparsity: f64,
    /// Source of B.
    b_operand: BOperand,
    /// Independent per sequence (rows do not stack across the micro-batch).
    per_sequence: bool,
    /// A is produced on chip by the previous GEMM of a fused kernel (absent: false).
    #[serde(default)]
    a_on_chip: bool,
    /// The output is consumed on chip by the next GEMM (absent: false).
    #[serde(default)]
    c_on_chip: bool,
}

/// An element-wise or reduction op on the vector unit, per sequence.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields, rename = "VectorOp")]
#[allow(dead_code)]
struct VectorOpFile {
    /// Name, e.g. `rmsnorm`, `softmax`.
    name: String,
    /// Elements touched per sequence (count).
    elements: u64,
    /// Vector-unit operations per element.
    ops_per_element: f64,
}
