//! The forward op list of one decoder layer for one sequence of `seq_len` tokens, as
//! shapes only (bit-widths and sparsity are attached by the workload from the policy).
//!
//! Causal masking: the attention score (`Q K^T`) and context (`P V`) GEMMs are counted as
//! the FULL `seq_len x seq_len` square per head, and softmax over the full square. This is
//! what a dense array computes when the mask is applied after the score GEMM (the
//! reference HF eager attention does exactly this); a causal block-skipping kernel would
//! do about half of this work. Counting the full square keeps every op a plain GEMM.

use super::ModelShape;
use crate::workload::VectorOp;

/// The seven linear projections of a decoder layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Linear {
    /// Query projection `hidden -> hidden`.
    Q,
    /// Key projection `hidden -> kv_dim`.
    K,
    /// Value projection `hidden -> kv_dim`.
    V,
    /// Attention output projection `hidden -> hidden`.
    O,
    /// FFN gate projection `hidden -> ffn`.
    Gate,
    /// FFN up projection `hidden -> ffn`.
    Up,
    /// FFN down projection `ffn -> hidden`.
    Down,
}

impl Linear {
    /// All seven, in execution order.
    pub const ALL: [Linear; 7] = [
        Linear::Q,
        Linear::K,
        Linear::V,
        Linear::O,
        Linear::Gate,
        Linear::Up,
        Linear::Down,
    ];

    /// Lower-case name (`q`, `gate`, ...), as used in workload files.
    pub fn name(self) -> &'static str {
        match self {
            Linear::Q => "q",
            Linear::K => "k",
            Linear::V => "v",
            Linear::O => "o",
            Linear::Gate => "gate",
            Linear::Up => "up",
            Linear::Down => "down",
        }
    }

    /// Hugging Face module path inside a decoder layer, e.g. `self_attn.q_proj`.
    pub fn module(self) -> &'static str {
        match self {
            Linear::Q => "self_attn.q_proj",
            Linear::K => "self_attn.k_proj",
            Linear::V => "self_attn.v_proj",
            Linear::O => "self_attn.o_proj",
            Linear::Gate => "mlp.gate_proj",
            Linear::Up => "mlp.up_proj",
            Linear::Down => "mlp.down_proj",
        }
    }

    /// Parses a name produced by [`Linear::name`].
    pub fn from_name(s: &str) -> Option<Linear> {
        Linear::ALL.iter().copied().find(|l| l.name() == s)
    }

    /// `(in_features, out_features)`.
    pub fn dims(self, m: &ModelShape) -> (u64, u64) {
        match self {
            Linear::Q | Linear::O => (m.hidden, m.hidden),
            Linear::K | Linear::V => (m.hidden, m.kv_dim()),
            Linear::Gate | Linear::Up => (m.hidden, m.ffn),
            Linear::Down => (m.ffn, m.hidden),
        }
    }

    /// Weight count `in * out`.
    pub fn params(self, m: &ModelShape) -> u64 {
        let (i, o) = self.dims(m);
        i * o
    }
}

/// What a forward matrix multiply is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum MatMulKind {
    /// A weight projection (B operand = the stored weight).
    Linear(Linear),
    /// Attention scores `Q K^T` per head (B operand = keys).
    AttnScore,
    /// Attention context `P V` per head (B operand = values).
    AttnContext,
}

/// Shape of one forward matrix multiply `[m x k] . [k x n]`, `batch` times, per sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct MatMul {
    /// What it computes.
    pub kind: MatMulKind,
    /// Rows of A / output.
    pub m: u64,
    /// Reduction dimension.
    pub k: u64,
    /// Columns of B / output.
    pub n: u64,
    /// Repetitions (heads) per sequence.
    pub batch: u64,
}

impl MatMul {
    /// Name used in the Trace (`q`, ..., `attn_score`, `attn_context`).
    pub fn name(&self) -> &'static str {
        match self.kind {
            MatMulKind::Linear(l) => l.name(),
            MatMulKind::AttnScore => "attn_score",
            MatMulKind::AttnContext => "attn_context",
        }
    }

    /// FLOPs per sequence (2 per MAC).
    pub fn flops(&self) -> f64 {
        2.0 * self.m as f64 * self.k as f64 * self.n as f64 * self.batch as f64
    }
}

/// The forward matrix multiplies of one decoder layer for one sequence, in execution
/// order: q, k, v, attention score, attention context, o, gate, up, down.
pub fn layer_forward_matmuls(m: &ModelShape, seq_len: u64) -> Vec<MatMul> {
    let lin = |l: Linear| {
        let (i, o) = l.dims(m);
        MatMul {
            kind: MatMulKind::Linear(l),
            m: seq_len,
            k: i,
            n: o,
            batch: 1,
        }
    };
    vec![
        lin(Linear::Q),
        lin(Linear::K),
        lin(Linear::V),
        // Full square per query head (see the module doc); GQA shares K/V between heads
        // but every query head still does its own product.
        MatMul {
            kind: MatMulKind::AttnScore,
            m: seq_len,
            k: m.head_dim(),
            n: seq_len,
            batch: m.heads,
        },
        MatMul {
            kind: MatMulKind::AttnContext,
            m: seq_len,
            k: seq_len,
            n: m.head_dim(),
            batch: m.heads,
        },
        lin(Linear::O),
        lin(Linear::Gate),
        lin(Linear::Up),
        lin(Linear::Down),
    ]
}

/// Vector-unit ops of one decoder layer's forward for one sequence. Operation counts
/// per element (assumptions, counting one op per arithmetic step):
/// RMSNorm 4 (square, accumulate, scale by rsqrt, multiply by weight); RoPE 3 on q and k
/// (`x*cos + rot(x)*sin`); softmax 5 on the full score square (max, subtract, exp, sum,
/// divide; the causal mask is folded into the max/subtract); SiLU-times-up 5 (exp, add,
/// divide, multiply by x, multiply by up); residual add 1.
pub fn layer_forward_vector_ops(m: &ModelShape, seq_len: u64) -> Vec<VectorOp> {
    let s = seq_len;
    let v = |name: &str, elements: u64, ops: f64| VectorOp {
        name: name.to_string(),
        elements,
        ops_per_element: ops,
    };
    vec![
        v("rmsnorm_attn", s * m.hidden, 4.0),
        v("rope", s * (m.hidden + m.kv_dim()), 3.0),
        v("softmax", m.heads * s * s, 5.0),
        v("residual_attn", s * m.hidden, 1.0),
        v("rmsnorm_ffn", s * m.hidden, 4.0),
        v("silu_mul", s * m.ffn, 5.0),
        v("residual_ffn", s * m.hidden, 1.0),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_gemm_flops_per_token_are_twice_the_linear_parameters() {
        for name in ["llama-7b", "tinyllama-1.1b", "tiny"] {
            let m = ModelShape::preset(name).unwrap();
            let per_token: f64 = layer_forward_matmuls(&m, 1)
                .iter()
                .filter(|g| matches!(g.kind, MatMulKind::Linear(_)))
                .map(MatMul::flops)
                .sum();
            assert_eq!(
                per_token,
                2.0 * m.linear_params_per_layer() as f64,
                "{name}"
            );
        }
    }

    #[test]
    fn attention_counts_the_full_square() {
        let m = ModelShape::preset("llama-7b").unwrap();
        let ops = layer_forward_matmuls(&m, 1280);
        let score = ops
            .iter()
            .find(|o| o.kind == MatMulKind::AttnScore)
            .unwrap();
        // 2 * S^2 * hidden: 2 * 1280^2 * 4096 = 13,421,772,800.
        assert_eq!(score.flops(), 13_421_772_800.0);
        let ctx = ops
            .iter()
            .find(|o| o.kind == MatMulKind::AttnContext)
            .unwrap();
        assert_eq!(ctx.flops(), score.flops());
    }

    #[test]
    fn names_round_trip() {
        for l in Linear::ALL {
            assert_eq!(Linear::from_name(l.name()), Some(l));
        }
        assert_eq!(Linear::from_name("qkv"), None);
    }
}
