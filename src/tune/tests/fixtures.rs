//! Small models shared by the tests.

use crate::llm::checkpoint::{Checkpoint, LlamaConfig};
use crate::llm::synth::synth_config;
use crate::luc::prune::{PruneMethod, SparsityPattern, prune};
use crate::luc::quant::{Granularity, quantize};
use crate::model::Linear;
use crate::policy::{Policy, SplitMix64};
use crate::tune::{Adapters, Base, LoraConfig, Real, Tuner};

/// Hidden 16, 4 heads of 4 (2 K/V heads), MLP 24, vocabulary 32, 3 layers.
pub fn small_config(tied: bool) -> LlamaConfig {
    LlamaConfig {
        hidden_size: 16,
        intermediate_size: 24,
        num_hidden_layers: 3,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        vocab_size: 32,
        rms_norm_eps: 1e-5,
        rope_theta: 10000.0,
        tie_word_embeddings: tied,
        head_dim: 4,
    }
}

/// The small model compressed as `luc compress` does it: every linear magnitude-pruned
/// to 30% then fake-quantised to 4 bits per channel (dequantised values with zeros).
pub fn compressed_checkpoint(seed: u64) -> (Checkpoint, Policy) {
    let (mut ck, _) = synth_config(small_config(false), seed).unwrap();
    for lw in &mut ck.weights.layers {
        for l in Linear::ALL {
            let w = lw.linear_mut(l);
            let pruned = prune(
                w.view(),
                None,
                PruneMethod::Magnitude,
                0.3,
                SparsityPattern::Unstructured,
            )
            .unwrap()
            .weights;
            *w = quantize(pruned.view(), 4, Granularity::PerChannel)
                .unwrap()
                .dequantize();
        }
    }
    let mut p = Policy::uniform(3, 4, 0.3);
    p.layers[1].a_bits = 8;
    (ck, p)
}

/// LoRA rank 2, alpha 4 (scale 2), dropout 0.2, all seven linears.
pub fn small_lora() -> LoraConfig {
    LoraConfig {
        rank: 2,
        alpha: 4.0,
        dropout: 0.2,
        targets: Linear::ALL.to_vec(),
    }
}

/// Overwrites every trainable tensor with seeded noise: B and A uniform in +-`scale`
/// (so that no adapter is zero and the LoRA path is exercised), exit heads perturbed by
/// `scale / 4` relative.
pub fn randomise<T: Real>(a: &mut Adapters<T>, seed: u64, scale: f64) {
    let mut rng = SplitMix64::new(seed);
    for (name, mut t) in a.named_mut() {
        let exit = name.starts_with("exits.");
        t.mapv_inplace(|v| {
            let u = 2.0 * rng.next_f64() - 1.0;
            if exit {
                T::from_f64(<T as Real>::to_f64(v) * (1.0 + 0.25 * scale * u))
            } else {
                T::from_f64(scale * u)
            }
        });
    }
}

/// A tuner on `ck` (f64 or f32) with the small LoRA setting.
pub fn tuner<T: Real>(
    ck: &Checkpoint,
    policy: Option<&Policy>,
    lora: LoraConfig,
    adapter_layers: &[usize],
    exits: Vec<usize>,
    train_heads: bool,
) -> Tuner<T> {
    let base = Base::<T>::from_checkpoint(ck, policy).unwrap();
    Tuner::new(base, lora, adapter_layers, exits, train_heads, 11).unwrap()
}

/// `n + 1` token ids spread over the vocabulary.
pub fn sample(n: usize, vocab: usize, seed: u64) -> Vec<u32> {
    let mut rng = SplitMix64::new(seed);
    (0..=n).map(|_| rng.below(vocab as u64) as u32).collect()
}
