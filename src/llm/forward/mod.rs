//! LLaMA-layout forward pass in f32 on the CPU: embedding, decoder layers (RMSNorm,
//! RoPE, grouped-query causal attention, SwiGLU MLP), final RMSNorm and LM head.
//! One sequence at a time (`[tokens, hidden]`), or several stacked row-wise; batch over
//! sequences with rayon. Matrix products: [`gemm`] (packed weights, see [`PackedModel`]).

pub mod gemm;
mod layer;
mod loss;
mod ops;

pub use gemm::PackedWeight;
pub use layer::{
    LinearInputs, PackedLayer, decoder_layer, decoder_layer_batch, decoder_layer_packed,
};
pub use loss::next_token_nll;
pub use ops::{
    Rope, causal_attention, causal_attention_into, linear, rms_norm, rms_norm_row, silu, swiglu_row,
};

use crate::error::{Error, Result};
use crate::llm::checkpoint::Checkpoint;
use ndarray::Array2;

/// A checkpoint's linears packed once for repeated forwards (evaluation over many
/// sequences): the decoder layers and the LM head. Costs one more copy of the linear
/// weights (f32) in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct PackedModel {
    /// Decoder layers, bottom to top.
    pub layers: Vec<PackedLayer>,
    /// The LM head `[vocab, hidden]` (the embedding when tied).
    pub head: PackedWeight,
}

impl PackedModel {
    /// Packs the linears of `ckpt` (layers in parallel).
    pub fn new(ckpt: &Checkpoint) -> Self {
        use rayon::prelude::*;
        PackedModel {
            layers: ckpt
                .weights
                .layers
                .par_iter()
                .map(PackedLayer::new)
                .collect(),
            head: PackedWeight::new(ckpt.lm_head().view()),
        }
    }
}

/// Looks up the embedding rows of `tokens` (`[T, hidden]`); an id outside the vocabulary
/// is an input error naming `source`.
pub fn embed(ckpt: &Checkpoint, tokens: &[u32], source: &str) -> Result<Array2<f32>> {
    let v = ckpt.config.vocab_size;
    let h = ckpt.config.hidden_size;
    let mut x = Array2::zeros((tokens.len(), h));
    for (i, &t) in tokens.iter().enumerate() {
        if t as usize >= v {
            return Err(Error::input(
                source,
                format!("token {i}"),
                format!("id {t} out of the vocabulary [0, {v})"),
            ));
        }
        x.row_mut(i).assign(&ckpt.weights.embed.row(t as usize));
    }
    Ok(x)
}

/// Embeds several sequences stacked row-wise (`[sum of lengths, hidden]`) and returns
/// their lengths, the layout of [`decoder_layer_batch`].
pub fn embed_batch(
    ckpt: &Checkpoint,
    samples: &[Vec<u32>],
    source: &str,
) -> Result<(Array2<f32>, Vec<usize>)> {
    let parts = samples
        .iter()
        .map(|s| embed(ckpt, s, source))
        .collect::<Result<Vec<_>>>()?;
    let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
    let x = ndarray::concatenate(ndarray::Axis(0), &views)
        .map_err(|e| Error::Other(format!("embedding batch: {e}")))?;
    Ok((x, samples.iter().map(Vec::len).collect()))
}

/// The start of every per-layer calibration pass: the `samples` embedded and stacked
/// row-wise (see [`embed_batch`]), their lengths, and the rotary table for the longest.
/// No samples, or an empty one, is an input error (there would be nothing to measure).
pub fn calibration_batch(
    ckpt: &Checkpoint,
    samples: &[Vec<u32>],
) -> Result<(Array2<f32>, Vec<usize>, Rope)> {
    if samples.is_empty() || samples.iter().any(Vec::is_empty) {
        return Err(Error::input(
            "calibration",
            "samples",
            "need at least one non-empty sample",
        ));
    }
    let cfg = &ckpt.config;
    let max_len = samples.iter().map(Vec::len).max().unwrap_or(0);
    let rope = Rope::new(max_len, cfg.head_dim, cfg.rope_theta);
    let (x, lens) = embed_batch(ckpt, samples, "calibration")?;
    Ok((x, lens, rope))
}

/// Hidden states after every decoder layer and the final RMSNorm (`[T, hidden]`).
pub fn forward_hidden(ckpt: &Checkpoint, tokens: &[u32]) -> Result<Array2<f32>> {
    let cfg = &ckpt.config;
    let rope = Rope::new(tokens.len(), cfg.head_dim, cfg.rope_theta);
    let mut x = embed(ckpt, tokens, "tokens")?;
    for lw in &ckpt.weights.layers {
        x = decoder_layer(cfg, lw, &rope, x.view(), false).0;
    }
    Ok(rms_norm(
        x.view(),
        ckpt.weights.norm.view(),
        cfg.rms_norm_eps,
    ))
}

/// Next-token logits `[T, vocab]` of a sequence.
pub fn logits(ckpt: &Checkpoint, tokens: &[u32]) -> Result<Array2<f32>> {
    let h = forward_hidden(ckpt, tokens)?;
    Ok(linear(h.view(), ckpt.lm_head().view()))
}
