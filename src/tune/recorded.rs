//! The measured Trace of a tuning run: the weight side of [`super::trace::to_trace`] read
//! off the tuner (bits, measured sparsity, adapters, exit heads) and the run's header.

use super::model::Tuner;
use super::record::Recorder;
use super::summary::TuneSummary;
use super::trace::{HeadWeights, LayerWeights, LinearWeights, TraceMeta, TraceWeights, to_trace};
use crate::error::{Error, Result};
use crate::model::{Linear, ModelShape};
use crate::workload::Trace;

/// The model shape of the tuner's checkpoint (`name` as given).
pub fn model_shape(t: &Tuner<f32>, name: &str) -> ModelShape {
    let c = &t.base.cfg;
    ModelShape {
        name: name.to_string(),
        layers: c.num_hidden_layers as u32,
        hidden: c.hidden_size as u64,
        ffn: c.intermediate_size as u64,
        heads: c.num_attention_heads as u64,
        kv_heads: c.num_key_value_heads as u64,
        vocab: c.vocab_size as u64,
        tied_embeddings: c.tie_word_embeddings,
        qkv_bias: false,
    }
}

/// What the tuner stores and runs, per decoder layer and exit.
pub fn trace_weights(t: &Tuner<f32>, model: &str) -> TraceWeights {
    let layers = t
        .base
        .layers
        .iter()
        .zip(&t.adapters.layers)
        .map(|(fl, ad)| {
            let targets: Vec<Linear> = Linear::ALL
                .iter()
                .copied()
                .filter(|&l| ad.get(l).is_some())
                .collect();
            LayerWeights {
                policy: fl.policy,
                linears: Linear::ALL.map(|l| {
                    let f = fl.linear(l);
                    LinearWeights {
                        inp: f.inp as u64,
                        out: f.out as u64,
                        w_bits: f.w_bits,
                        sparsity: f.sparsity,
                    }
                }),
                lora_rank: if targets.is_empty() {
                    0
                } else {
                    t.lora.rank as u64
                },
                lora_targets: targets,
            }
        })
        .collect();
    let heads = t
        .exits
        .iter()
        .zip(&t.adapters.exit_heads)
        .map(|(&layer, h)| HeadWeights {
            layer: layer as u32,
            trainable: h.is_some(),
        })
        .collect();
    TraceWeights {
        shape: model_shape(t, model),
        layers,
        heads,
        tied_embeddings: t.base.lm_head.is_none(),
    }
}

/// The Trace of the recorded micro-batch `rec` of a run summarised by `s`, named
/// `workload`. Errors: an empty recording (no step ran).
pub fn recorded_trace(
    rec: &Recorder,
    t: &Tuner<f32>,
    s: &TuneSummary,
    workload: &str,
) -> Result<Trace> {
    if rec.columns.is_empty() {
        return Err(Error::Other(format!(
            "{workload}: the recording is empty (no training step ran)"
        )));
    }
    let meta = TraceMeta {
        workload: workload.to_string(),
        model: s.checkpoint.clone(),
        method: s.method.clone(),
        seq_len: s.seq_len as u64,
        sequences_per_step: s.accumulation as u64,
        trainable_params: s.trainable_parameters,
    };
    Ok(to_trace(rec, &trace_weights(t, &s.checkpoint), &meta))
}
