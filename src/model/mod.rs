//! LLaMA-family model shapes: dimensions, parameter counts and the per-layer op list.
//!
//! A decoder layer is pre-norm: `h = x + o(attn(rope(q(n1(x))), rope(k(n1(x))), v(n1(x))))`,
//! `y = h + down(silu(gate(n2(h))) * up(n2(h)))`, with RMSNorms `n1`, `n2` (one weight
//! vector of `hidden` each), no biases (Qwen2's q/k/v biases are counted in the
//! parameter totals only), grouped-query attention when `kv_heads < heads`.
//! The model is a token embedding, `layers` decoder layers, a final RMSNorm and
//! an LM head `hidden x vocab`
//! (the embedding matrix itself when tied, as in SmolLM2).

pub mod hf_config;
mod ops;
mod shape;

pub use ops::{Linear, MatMul, MatMulKind, layer_forward_matmuls, layer_forward_vector_ops};
pub use shape::{ModelShape, PRESET_NAMES};
