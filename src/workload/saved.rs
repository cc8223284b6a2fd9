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
//! A quantised tensor also stores one fp16 scale per token.
//!
//! Two conventions ([`Saved`], the workload's `saved` key):
//! - `lean` (above; what the tensor engine `tune` keeps): probabilities once at 16 bit,
//!   LoRA dropout masks regenerated in backward from a counter-based hash (never stored),
//!   the LoRA A-gradient taken from the `a_bits` copy of the linear input;
//! - `reference` (what the reference PyTorch code keeps; PyTorch autograd saves the inputs
//!   each backward formula needs): eager attention computes the softmax in fp32 and casts
//!   it to fp16 (`softmax(..., dtype=torch.float32).to(query.dtype)` in Hugging Face's
//!   LLaMA), so softmax backward keeps the fp32 output and the probabilities-times-values
//!   GEMM keeps the fp16 copy: `heads x S x S` at 4 + 2 bytes (6 a S^2 bytes per layer, not
//!   2 a S^2); every LoRA adapter applies its own dropout (PEFT's `lora_dropout`, p = 0.1
//!   in the reference, [`REFERENCE_LORA_DROPOUT`]) to the linear input, keeping the
//!   dropout mask (`torch.native_dropout`: one bool byte per element) and the dropped
//!   16-bit input, which `lora_A`'s backward uses for the A-gradient: the input the forward
//!   used, not an `a_bits` copy. A linear whose base weight is frozen keeps no input copy
//!   of its own; a trained base weight (full tuning, side network) keeps its `a_bits`
//!   input as in `lean`. Not modelled: the reference's defect of computing (never applied)
//!   gradients of the window's frozen base weights (a known defect of the reference code).

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

/// Which tensors a layer keeps for backward (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Saved {
    /// The reference PyTorch code: fp32 + fp16 probabilities, per-adapter dropout masks and
    /// 16-bit dropped inputs.
    Reference,
    /// The least the backward needs: fp16 probabilities, masks regenerated, LoRA
    /// A-gradients from the `a_bits` input copy (the tensor engine's convention).
    Lean,
}

impl Saved {
    /// Name as in the workload file.
    pub fn name(self) -> &'static str {
        match self {
            Saved::Reference => "reference",
            Saved::Lean => "lean",
        }
    }
}

/// LoRA dropout probability of the reference tuning recipe (Edge-LLM's released training
/// scripts: `lora_dropout = 0.1`). Any p > 0 keeps a mask; its value does not change the
/// stored bytes.
pub const REFERENCE_LORA_DROPOUT: f64 = 0.1;

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
/// `rstd_attn`, `rstd_ffn`, the log-sum-exp `lse`, the reference's fp32 softmax output
/// `probs_fp32` and, on an LM head, `rstd_head` and the `logits` fp32 (the reference
/// upcasts before cross-entropy); a dropout mask `lora_mask` at 8 bits (a bool byte);
/// everything else (`x`, `q`, `probs`, `h`, `gate`, `up`, `lora_mid`, the dropped adapter
/// input `lora_drop`, the head input `head_in`, any other name) 16-bit like activations in
/// flight.
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
        "rstd_attn" | "rstd_ffn" | "lse" | "rstd_head" | "logits" | "probs_fp32" => {
            plain(name, elements, 32)
        }
        "lora_mask" => plain(name, elements, 8),
        _ => plain(name, elements, 16),
    }
}

/// The saved tensors of one decoder layer in the backprop window under the `lean`
/// convention ([`decoder_saved_as`] with [`Saved::Lean`]). `trained` lists the linears
/// whose weights get gradients; `lora_rank` > 0 adds adapter intermediates for the
/// `adapters`.
pub fn decoder_saved(
    m: &ModelShape,
    seq: u64,
    lp: &LayerPolicy,
    attention: Attention,
    trained: &[Linear],
    adapters: &[Linear],
    lora_rank: u64,
) -> Vec<SavedTensor> {
    decoder_saved_as(
        m,
        seq,
        lp,
        attention,
        trained,
        adapters,
        lora_rank,
        Saved::Lean,
    )
}

/// The saved tensors of one decoder layer in the backprop window under convention `saved`
/// (module doc), per sequence of `seq` tokens. `trained` lists the linears whose weights
/// get gradients (a LoRA target counts as trained; a linear in `trained` but not in
/// `adapters` has its base weight trained); `lora_rank` > 0 adds adapter intermediates for
/// the `adapters`.
#[allow(clippy::too_many_arguments)]
pub fn decoder_saved_as(
    m: &ModelShape,
    seq: u64,
    lp: &LayerPolicy,
    attention: Attention,
    trained: &[Linear],
    adapters: &[Linear],
    lora_rank: u64,
    saved: Saved,
) -> Vec<SavedTensor> {
    let h = m.hidden;
    let reference = saved == Saved::Reference;
    let t = |name: &'static str, elements: u64| tensor_by_name(name, elements, lp, seq);
    let mut v = vec![
        t("x", seq * h),
        t("rstd_attn", seq),
        t("q", seq * h),
        t("k", seq * m.kv_dim()),
        t("v", seq * m.kv_dim()),
    ];
    match attention {
        Attention::Eager => {
            if reference {
                v.push(t("probs_fp32", m.heads * seq * seq));
            }
            v.push(t("probs", m.heads * seq * seq));
        }
        Attention::Flash => v.push(t("lse", m.heads * seq)),
    }
    v.push(t("h", seq * h));
    v.push(t("rstd_ffn", seq));
    v.push(t("gate", seq * m.ffn));
    v.push(t("up", seq * m.ffn));
    // The linears whose input copy (at `a_bits`) the backward reads: every trained one in
    // `lean`; in `reference` only those whose base weight is trained (LoRA's A-gradient
    // reads the adapter's own dropped input instead).
    let needs_input = |l: &Linear| trained.contains(l) && !(reference && adapters.contains(l));
    let has = |ls: &[Linear]| ls.iter().any(needs_input);
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
    for l in adapters {
        if reference {
            let (i, _) = l.dims(m);
            v.push(t("lora_mask", seq * i));
            v.push(t("lora_drop", seq * i));
        }
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
    fn llama7b_lora_layer_by_hand_reference() {
        let m = ModelShape::preset("llama-7b").unwrap();
        let lp = LayerPolicy {
            w_bits: 8,
            a_bits: 8,
            kv_bits: 8,
            sparsity: 0.0,
        };
        let at = |saved| {
            total_bytes(&decoder_saved_as(
                &m,
                1280,
                &lp,
                Attention::Eager,
                &Linear::ALL,
                &Linear::ALL,
                8,
                saved,
            ))
        };
        // S = 1280, h = 4096, ffn = 11008, 32 heads.
        // 16-bit x, q, h: 3 * 10,485,760; gate, up: 2 * 28,180,480; rstd: 2 * 5,120;
        // k, v at 8 bits + 2,560 B scales: 2 * 5,245,440.
        // Probabilities 32 * 1280^2 = 52,428,800 elements at fp32 + fp16: 6 B each.
        // No a_bits input copies (every trained linear is a LoRA target). Per adapter: a
        // 1-byte mask and a 16-bit dropped input of S x in: q, k, v, o, gate, up read
        // S * 4096 = 5,242,880 elements (3 B each: 15,728,640); down S * 11008 =
        // 14,090,240 (42,270,720). LoRA mids 7 * 1280 * 8 * 2 = 143,360.
        let want = 3 * 10_485_760
            + 2 * 28_180_480
            + 2 * 5_120
            + 2 * 5_245_440
            + 6 * 52_428_800
            + 6 * 15_728_640
            + 42_270_720
            + 143_360;
        assert_eq!(at(Saved::Reference), want);
        // Against lean: + 4 a S^2 (the fp32 copy), - the four a_bits input copies,
        // + the seven masks and dropped inputs.
        let lean = at(Saved::Lean);
        let inputs8 = 3 * 5_245_440 + 14_092_800; // x_norm, attn_out, h_norm; ffn_act
        assert_eq!(
            want + inputs8,
            lean + 4 * 52_428_800 + 6 * 15_728_640 + 42_270_720
        );
    }

    #[test]
    fn reference_keeps_trained_base_inputs_and_flash_has_no_square() {
        // Tiny shape by hand: hidden 64, ffn 176 (see model::shape), S = 8.
        let m = ModelShape::preset("tiny").unwrap();
        let lp = LayerPolicy {
            w_bits: 4,
            a_bits: 16,
            kv_bits: 16,
            sparsity: 0.5,
        };
        let names = |saved, attention, trained: &[Linear], adapters: &[Linear]| {
            decoder_saved_as(&m, 8, &lp, attention, trained, adapters, 2, saved)
                .iter()
                .map(|t| t.name)
                .collect::<Vec<_>>()
        };
        // Full tuning (no adapters): the same linear inputs in both conventions.
        let full_ref = names(Saved::Reference, Attention::Eager, &Linear::ALL, &[]);
        for n in ["x_norm", "attn_out", "h_norm", "ffn_act", "probs_fp32"] {
            assert!(full_ref.contains(&n), "{n}");
        }
        assert!(!full_ref.contains(&"lora_mask"));
        // Flash: no probabilities at any precision, whatever the convention.
        let f = names(
            Saved::Reference,
            Attention::Flash,
            &[Linear::Q],
            &[Linear::Q],
        );
        assert!(!f.iter().any(|n| n.starts_with("probs")));
        assert_eq!(f.iter().filter(|n| **n == "lora_mask").count(), 1);
        // The q adapter's mask and dropped input: 8 * 64 elements at 1 + 2 bytes.
        let bytes = |saved| {
            total_bytes(&decoder_saved_as(
                &m,
                8,
                &lp,
                Attention::Flash,
                &[Linear::Q],
                &[Linear::Q],
                2,
                saved,
            ))
        };
        // Lean keeps x_norm at a_bits = 16 (8 * 64 * 2 B) instead.
        assert_eq!(
            bytes(Saved::Reference),
            bytes(Saved::Lean) + 8 * 64 * 3 - 8 * 64 * 2
        );
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
