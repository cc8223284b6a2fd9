//! llama.cpp's tensor names for the LLaMA architecture (`gguf-py/gguf/constants.py`,
//! `MODEL_TENSOR` names for `MODEL_ARCH.LLAMA`).

use crate::llm::checkpoint::Linear;

/// Token embedding `[vocab, hidden]` (Hugging Face `model.embed_tokens`).
pub const EMBED: &str = "token_embd.weight";
/// Final RMSNorm weight (Hugging Face `model.norm`).
pub const OUTPUT_NORM: &str = "output_norm.weight";
/// LM head `[vocab, hidden]`; absent when tied to the embedding.
pub const OUTPUT: &str = "output.weight";
/// Per-layer RMSNorm before attention (Hugging Face `input_layernorm`).
pub const ATTN_NORM: &str = "attn_norm";
/// Per-layer RMSNorm before the MLP (Hugging Face `post_attention_layernorm`).
pub const FFN_NORM: &str = "ffn_norm";
/// Prefix of every per-layer tensor.
pub const BLOCK_PREFIX: &str = "blk.";
/// Per-dimension RoPE frequency factors (LLaMA 3.1 style scaling): not supported.
pub const ROPE_FREQS: &str = "rope_freqs.weight";

/// The GGUF module name of linear `l` (`attn_q`, ..., `ffn_down`).
pub fn linear(l: Linear) -> &'static str {
    match l {
        Linear::Q => "attn_q",
        Linear::K => "attn_k",
        Linear::V => "attn_v",
        Linear::O => "attn_output",
        Linear::Gate => "ffn_gate",
        Linear::Up => "ffn_up",
        Linear::Down => "ffn_down",
    }
}

/// Name of the weight of `module` in decoder layer `i`: `blk.{i}.{module}.weight`.
pub fn layer(i: usize, module: &str) -> String {
    format!("{BLOCK_PREFIX}{i}.{module}.weight")
}

/// The layer index of a per-layer tensor name (`blk.{i}.…`), if it is one.
pub fn layer_index(name: &str) -> Option<usize> {
    name.strip_prefix(BLOCK_PREFIX)?
        .split('.')
        .next()?
        .parse()
        .ok()
}
