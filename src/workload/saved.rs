//! Tensors a decoder layer keeps from forward for its backward, and their stored size.
//!
//! Precision (assumption, following the reference quantiser: linear-layer inputs are
//! quantised per token to `a_bits`, K/V per token to `kv_bits`, everything else 16-bit):
//! - always (needed for `dX` through a frozen layer): the layer input `x` (RMSNorm
//!   backward, 16 bit) and its per-token rsqrt (fp32); the rotated queries (16 bit); keys
//!   and values (`kv_bits`); the attention probabilities `heads x S x S` (16 bit, eager
//!   attention as in the reference HF code) or, with `attention = "flash"`, only the
//!   per-row log-sum-exp (fp32) plus the attention output, recomputing the scores in
//!   backward; the mid-layer residual `h` (16 bit) and its rsqrt; the gate and up outputs
//!   (16 bit, for the SiLU-times-up backward);
//! - the input of every linear whose weight receives a gradient (LoRA target or full
//!   tuning), at `a_bits`: normed `x` for q/k/v, the attention output for o, normed `h` for
//!   gate/up, `silu(gate) * up` for down;
//! - the LoRA intermediate `x A^T` (`S x r`, 16 bit) of every adapter (for `dB`).
//!
//! A quantised tensor also stores one fp16 scale per token. LoRA dropout masks are not
//! modelled.

use crate::model::{Linear, ModelShape};
use crate::policy::LayerPolicy;

/// A tensor kept for backward, per sequence.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SavedTensor {
    /// Name (`x`, `q`, `k`, `probs`, ...).
    pub name: &'static str,
    /// Elements per sequence.
    pub elements: u64,
    /// Bits per element.
    pub bits: u32,
    /// Extra bytes per sequence (per-token quantisation scales).
    pub extra_bytes: u64,
}

impl SavedTensor {
    /// Stored bytes per sequence.
    pub fn bytes(&self) -> u64 {
        (self.elements * self.bits as u64).div_ceil(8) + self.extra_bytes
    }
}

/// Attention implementation, which decides whether the probabilities are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Attention {
    /// Scores materialised; probabilities saved for backward (reference HF code).
    Eager,
    /// Fused kernel; only log-sum-exp saved, scores recomputed in backward.
    Flash,
}

/// A tensor of `elements` at `bits` with a per-token fp16 scale over `tokens` tokens when
/// quantised below 16 bits.
fn quantised(name: &'static str, elements: u64, bits: u32, tokens: u64) -> SavedTensor {
    let bits = bits.min(16);
    SavedTensor {
        name,
        elements,
        bits,
        extra_bytes: if bits < 16 { 2 * tokens } else { 0 },
    }
}

fn plain(name: &'static str, elements: u64, bits: u32) -> SavedTensor {
    SavedTensor {
        name,
        elements,
        bits,
        extra_bytes: 0,
    }
}

/// A saved tensor by its name, at the precision the conventions above give it: `k`, `v`
/// at `kv_bits` and the linear inputs `x_norm`, `attn_out`, `h_norm`, `ffn_act` at
/// `a_bits` (per-token fp16 scales over `tokens` when below 16 bits); the rsqrt vectors
/// `rstd_attn`, `rstd_ffn`, the log-sum-exp `lse` and, on an LM head, `rstd_head` and the
/// `logits` fp32 (the reference upcasts before cross-entropy); everything else (`x`, `q`,
/// `probs`, `h`, `gate`, `up`, `lora_mid`, the head input `head_in`, any other name) 16-bit
/// like activations in flight.
pub fn tensor_by_name(
    name: &'static str,
    elements: u64,
    lp: &LayerPolicy,
    tokens: u64,
) -> SavedTensor {
    match name {
        "k" | "v" => quantised(name, elements, lp.kv_bits, tokens),
        "x_norm" | "attn_out" | "h_norm" | "ffn_act" => {
            quantised(name, elements, lp.a_bits, tokens)
        }
        "rstd_attn" | "rstd_ffn" | "lse" | "rstd_head" | "logits" => plain(name, elements, 32),
        _ => plain(name, elements, 16),
    }
}

/// The saved tensors of one decoder layer in the backprop window. `trained` lists the
/// linears whose weights get gradients; `lora_rank` > 0 adds adapter intermediates for
/// the `adapters`.
pub fn decoder_saved(
    m: &ModelShape,
    seq: u64,
    lp: &LayerPolicy,
    attention: Attention,
    trained: &[Linear],
    adapters: &[Linear],
    lora_rank: u64,
) -> Vec<SavedTensor> {
    let h = m.hidden;
    let t = |name: &'static str, elements: u64| tensor_by_name(name, elements, lp, seq);
    let mut v = vec![
        t("x", seq * h),
        t("rstd_attn", seq),
        t("q", seq * h),
        t("k", seq * m.kv_dim()),
        t("v", seq * m.kv_dim()),
    ];
    match attention {
        Attention::Eager => v.push(t("probs", m.heads * seq * seq)),
        Attention::Flash => v.push(t("lse", m.heads * seq)),
    }
    v.push(t("h", seq * h));
    v.push(t("rstd_ffn", seq));
    v.push(t("gate", seq * m.ffn));
    v.push(t("up", seq * m.ffn));
    let has = |ls: &[Linear]| ls.iter().any(|l| trained.contains(l));
    if has(&[Linear::Q, Linear::K, Linear::V]) {
        v.push(t("x_norm", seq * h));
    }
    if has(&[Linear::O]) || attention == Attention::Flash {
        v.push(t("attn_out", seq * h));
    }
    if has(&[Linear::Gate, Linear::Up]) {
        v.push(t("h_norm", seq * h));
    }
    if has(&[Linear::Down]) {
        v.push(t("ffn_act", seq * m.ffn));
    }
    for _ in adapters {
        v.push(t("lora_mid", seq * lora_rank));
    }
    v
}

/// Sum of [`SavedTensor::bytes`].
pub fn total_bytes(v: &[SavedTensor]) -> u64 {
    v.iter().map(SavedTensor::bytes).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llama7b_lora_layer_by_hand() {
        let m = ModelShape::preset("llama-7b").unwrap();
        let lp = LayerPolicy {
            w_bits: 8,
            a_bits: 8,
            kv_bits: 8,
            sparsity: 0.0,
        };
        let v = decoder_saved(
            &m,
            1280,
            &lp,
            Attention::Eager,
            &Linear::ALL,
            &Linear::ALL,
            8,
        );
        // S = 1280, h = 4096 -> S*h = 5,242,880 elements; S*ffn = 14,090,240.
        // 16-bit: x, q, h = 3 * 10,485,760; gate, up = 2 * 28,180,480;
        // probs 32 * 1280^2 * 2 = 104,857,600; rstd 2 * 5,120.
        // 8-bit + 2,560 B scales: k, v, x_norm, attn_out, h_norm = 5 * 5,245,440;
        // ffn_act 14,092,800. LoRA mids: 7 * 1280 * 8 * 2 = 143,360.
        let want = 3 * 10_485_760
            + 2 * 28_180_480
            + 104_857_600
            + 2 * 5_120
            + 5 * 5_245_440
            + 14_092_800
            + 143_360;
        assert_eq!(total_bytes(&v), want);
    }

    #[test]
    fn frozen_layer_without_adapters_keeps_no_linear_inputs() {
        let m = ModelShape::preset("tiny").unwrap();
        let lp = LayerPolicy {
            w_bits: 4,
            a_bits: 16,
            kv_bits: 16,
            sparsity: 0.5,
        };
        let v = decoder_saved(&m, 8, &lp, Attention::Eager, &[], &[], 0);
        assert!(
            v.iter()
                .all(|t| !matches!(t.name, "x_norm" | "attn_out" | "h_norm" | "ffn_act"))
        );
        let f = decoder_saved(&m, 8, &lp, Attention::Flash, &[], &[], 0);
        assert!(total_bytes(&f) < total_bytes(&v) + 8 * 64 * 2);
        assert!(f.iter().any(|t| t.name == "lse"));
    }
}
