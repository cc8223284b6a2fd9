//! Perplexity of a checkpoint on token chunks.
//!
//! Every chunk is an independent sequence (positions from 0, no context carried over): a
//! chunk of `T` tokens gives `T - 1` predictions, position `t` predicting token `t + 1`.
//! The negative log-likelihood of a prediction is `logsumexp(z) - z[target]` over the
//! logits `z` (LM head included, log-softmax max-subtracted: [`next_token_nll`]); it is
//! summed in f64 per chunk in position order, then over chunks in chunk order, so the
//! result does not depend on the thread count. `ppl = exp(mean nll)` (nats).
//!
//! Chunks run in parallel on the rayon pool, one forward per chunk, on weights packed
//! once ([`PackedModel`]).

use crate::error::{Error, Result};
use crate::llm::checkpoint::Checkpoint;
use crate::llm::forward::{
    PackedModel, Rope, decoder_layer_packed, embed, next_token_nll, rms_norm,
};
use rayon::prelude::*;
use serde::Serialize;

/// Source named in input errors about the chunks.
const SOURCE: &str = "perplexity";

/// Perplexity of a model on a set of chunks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Perplexity {
    /// `exp(nll)`.
    pub ppl: f64,
    /// Mean negative log-likelihood per prediction (nats).
    pub nll: f64,
    /// Number of predictions: the sum over chunks of (tokens - 1).
    pub predictions: usize,
    /// Number of chunks.
    pub chunks: usize,
    /// Tokens per chunk (the longest chunk's when lengths differ).
    pub chunk_tokens: usize,
    /// Summed negative log-likelihood of each chunk (nats), in chunk order: the per-chunk
    /// terms of paired comparisons between models evaluated on the same chunks.
    pub chunk_nll: Vec<f64>,
}

impl Perplexity {
    /// Whether every chunk has `chunk_tokens` tokens.
    pub fn uniform_chunks(&self) -> bool {
        self.predictions == self.chunks * self.chunk_tokens.saturating_sub(1)
    }
}

/// Perplexity of `ckpt` on `chunks` (token ids). `progress` is called with a chunk's index
/// when it is done (from worker threads, in any order).
///
/// Errors (input, naming the chunk): no chunks, a chunk shorter than 2 tokens, an id
/// outside the vocabulary. A model that produces non-finite values on a chunk is an
/// [`Error::Other`] naming it.
pub fn perplexity(
    ckpt: &Checkpoint,
    chunks: &[Vec<u32>],
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Perplexity> {
    validate(chunks, ckpt.config.vocab_size)?;
    let cfg = &ckpt.config;
    let longest = chunks.iter().map(Vec::len).max().unwrap_or(0);
    let rope = Rope::new(longest, cfg.head_dim, cfg.rope_theta);
    let model = PackedModel::new(ckpt);
    let chunk_nll = chunks
        .par_iter()
        .enumerate()
        .map(|(i, c)| {
            let nll = chunk_nll(ckpt, &model, &rope, c)?.ok_or_else(|| {
                Error::Other(format!(
                    "{SOURCE}: chunk {i}: the model produced non-finite values"
                ))
            })?;
            progress(i);
            Ok(nll)
        })
        .collect::<Result<Vec<f64>>>()?;
    let predictions: usize = chunks.iter().map(|c| c.len() - 1).sum();
    let nll = chunk_nll.iter().sum::<f64>() / predictions as f64;
    Ok(Perplexity {
        ppl: nll.exp(),
        nll,
        predictions,
        chunks: chunks.len(),
        chunk_tokens: longest,
        chunk_nll,
    })
}

fn validate(chunks: &[Vec<u32>], vocab: usize) -> Result<()> {
    if chunks.is_empty() {
        return Err(Error::input(SOURCE, "chunks", "need at least one chunk"));
    }
    for (i, c) in chunks.iter().enumerate() {
        if c.len() < 2 {
            return Err(Error::input(
                SOURCE,
                format!("chunk {i}"),
                format!("{} tokens; need at least 2 (one prediction)", c.len()),
            ));
        }
        if let Some((j, t)) = c.iter().enumerate().find(|(_, t)| **t as usize >= vocab) {
            return Err(Error::input(
                SOURCE,
                format!("chunk {i}, token {j}"),
                format!("id {t} out of the vocabulary [0, {vocab})"),
            ));
        }
    }
    Ok(())
}

/// Summed NLL of one chunk's `T - 1` predictions, `None` if a value is not finite.
fn chunk_nll(
    ckpt: &Checkpoint,
    model: &PackedModel,
    rope: &Rope,
    tokens: &[u32],
) -> Result<Option<f64>> {
    let cfg = &ckpt.config;
    let t = tokens.len();
    let mut x = embed(ckpt, tokens, SOURCE)?;
    for layer in &model.layers {
        x = decoder_layer_packed(cfg, layer, rope, x.view(), &[t], false).0;
    }
    // The last position predicts nothing inside the chunk.
    let h = rms_norm(
        x.slice(ndarray::s![..t - 1, ..]),
        ckpt.weights.norm.view(),
        cfg.rms_norm_eps,
    );
    if crate::llm::first_non_finite(h.view()).is_some() {
        return Ok(None);
    }
    Ok(next_token_nll(h.view(), &model.head, &tokens[1..]).map(|v| v.iter().sum()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::synth::{SynthShape, synth};

    #[test]
    fn errors_name_the_chunk() {
        let (ck, _) = synth(SynthShape::Tiny, 1);
        let e = perplexity(&ck, &[], &|_| {}).unwrap_err().to_string();
        assert!(e.contains("chunks"), "{e}");
        let e = perplexity(&ck, &[vec![1, 2], vec![3]], &|_| {})
            .unwrap_err()
            .to_string();
        assert!(e.contains("chunk 1") && e.contains("at least 2"), "{e}");
        let e = perplexity(&ck, &[vec![1, 2], vec![3, 4, 256]], &|_| {})
            .unwrap_err()
            .to_string();
        assert!(e.contains("chunk 1, token 2") && e.contains("256"), "{e}");
    }

    #[test]
    fn non_finite_model_is_an_error_naming_the_chunk() {
        let (mut ck, _) = synth(SynthShape::Tiny, 1);
        ck.weights.layers[3].down[[0, 0]] = f32::INFINITY;
        let e = perplexity(&ck, &[vec![1, 2, 3]], &|_| {}).unwrap_err();
        assert!(!e.is_input());
        assert!(e.to_string().contains("chunk 0"), "{e}");
    }
}
