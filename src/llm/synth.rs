//! Small random LLaMA-layout checkpoints for tests, examples and benchmarks.
//!
//! Weights are Gaussian with variance `1/fan_in`, so with RMS-normalised inputs every
//! projection output has unit variance and activations stay O(1). To make per-layer
//! sensitivity non-flat (as it is in real models, PAPER.md), two per-layer factors are
//! drawn from the seed:
//! - `residual_scale` (log-uniform in [1/sqrt 2, sqrt 2]) multiplies `o_proj` and
//!   `down_proj`: the size of the layer's update to the residual stream. Any compression
//!   error of the layer is scaled by it, so among layers without outliers the high-scale
//!   ones are the sensitive ones, to pruning and to quantisation alike.
//! - `outliers` (true for about a third of the layers): 1% of the weights of every linear
//!   are multiplied by 12, then the matrix is rescaled so that the expected output
//!   variance is unchanged (the bulk shrinks by 1/sqrt(1 + 0.01 (144 - 1)) = 0.64).
//!   Per-channel round-to-nearest then wastes its range on the outliers (step =
//!   max|w| / (2^(b-1)-1)) and quantises the bulk coarsely, while pruning keeps the
//!   outliers and removes only (now smaller) bulk weights: these layers are
//!   quantisation-sensitive without being pruning-sensitive, as in real LLMs where the
//!   two sets of sensitive layers differ (PAPER.md).
//!
//! Deterministic per seed: a SplitMix64 stream (Steele et al., OOPSLA 2014) consumed in a
//! fixed order, Box-Muller normals.

use crate::error::{Error, Result};
use crate::llm::checkpoint::{
    Checkpoint, LayerWeights, Linear, LlamaConfig, LlamaWeights, linear_shape,
};
use crate::policy::SplitMix64;
use ndarray::{Array1, Array2};

/// A named synthetic model shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SynthShape {
    /// 8 layers, hidden 64, 4 heads (2 KV heads), MLP 176, byte vocabulary (256):
    /// 0.40 M parameters; sensitivity in about a second.
    Tiny,
    /// 12 layers, hidden 256, 8 heads (4 KV heads), MLP 688, vocabulary 512: 9.0 M
    /// parameters.
    Small,
}

impl SynthShape {
    /// The `config.json` of this shape.
    pub fn config(self) -> LlamaConfig {
        let (layers, hidden, heads, kv, ffn, vocab) = match self {
            SynthShape::Tiny => (8, 64, 4, 2, 176, 256),
            SynthShape::Small => (12, 256, 8, 4, 688, 512),
        };
        LlamaConfig {
            hidden_size: hidden,
            intermediate_size: ffn,
            num_hidden_layers: layers,
            num_attention_heads: heads,
            num_key_value_heads: kv,
            vocab_size: vocab,
            rms_norm_eps: 1e-5,
            rope_theta: 10000.0,
            tie_word_embeddings: false,
            head_dim: hidden / heads,
        }
    }
}

/// Per-layer factors drawn from the seed (reported by the CLI, documented above).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayerTraits {
    /// Multiplier of `o_proj` and `down_proj`.
    pub residual_scale: f32,
    /// Whether 1% of the layer's weights are 12x outliers.
    pub outliers: bool,
}

/// Fraction of weights turned into outliers in an outlier layer.
const OUTLIER_FRACTION: f64 = 0.01;
/// Outlier magnification.
const OUTLIER_GAIN: f32 = 12.0;

/// Normal and uniform draws from the shared SplitMix64 stream (Box-Muller normals).
pub struct Rng {
    bits: SplitMix64,
    spare: Option<f64>,
}

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Rng {
            bits: SplitMix64::new(seed),
            spare: None,
        }
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        self.bits.next_f64()
    }

    /// Standard normal.
    pub fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        let u1 = 1.0 - self.uniform(); // (0, 1]: ln is finite
        let u2 = self.uniform();
        let r = (-2.0 * u1.ln()).sqrt();
        let t = std::f64::consts::TAU * u2;
        self.spare = Some(r * t.sin());
        r * t.cos()
    }
}

fn gaussian(rng: &mut Rng, shape: [usize; 2], std: f64) -> Array2<f32> {
    Array2::from_shape_simple_fn(shape, || (rng.normal() * std) as f32)
}

fn norm_weight(rng: &mut Rng, n: usize) -> Array1<f32> {
    Array1::from_shape_simple_fn(n, || (1.0 + 0.1 * rng.normal()) as f32)
}

/// Builds the synthetic checkpoint of `shape` for `seed`, and the per-layer traits used.
pub fn synth(shape: SynthShape, seed: u64) -> (Checkpoint, Vec<LayerTraits>) {
    synth_config(shape.config(), seed).expect("built-in shapes are valid")
}

/// Builds a synthetic checkpoint for any valid configuration.
pub fn synth_config(config: LlamaConfig, seed: u64) -> Result<(Checkpoint, Vec<LayerTraits>)> {
    if !config
        .num_attention_heads
        .is_multiple_of(config.num_key_value_heads)
        || !config.head_dim.is_multiple_of(2)
    {
        return Err(Error::Other(
            "synth: inconsistent head configuration".into(),
        ));
    }
    let mut rng = Rng::new(seed);
    let (h, v) = (config.hidden_size, config.vocab_size);
    let traits: Vec<LayerTraits> = (0..config.num_hidden_layers)
        .map(|_| LayerTraits {
            residual_scale: 2f64.powf(rng.uniform() - 0.5) as f32,
            outliers: rng.uniform() < 1.0 / 3.0,
        })
        .collect();
    let embed = gaussian(&mut rng, [v, h], 1.0);
    let layers = traits
        .iter()
        .map(|t| {
            let mut lin = |l: Linear| {
                let shape = linear_shape(l, &config);
                let mut w = gaussian(&mut rng, shape, 1.0 / (shape[1] as f64).sqrt());
                if matches!(l, Linear::O | Linear::Down) {
                    w *= t.residual_scale;
                }
                if t.outliers {
                    for x in w.iter_mut() {
                        if rng.uniform() < OUTLIER_FRACTION {
                            *x *= OUTLIER_GAIN;
                        }
                    }
                    // Keep the expected output variance: E[w^2] grew by 1 + f (g^2 - 1).
                    let growth =
                        1.0 + OUTLIER_FRACTION * f64::from(OUTLIER_GAIN * OUTLIER_GAIN - 1.0);
                    w /= growth.sqrt() as f32;
                }
                w
            };
            let (q, k, vv, o) = (
                lin(Linear::Q),
                lin(Linear::K),
                lin(Linear::V),
                lin(Linear::O),
            );
            let (gate, up, down) = (lin(Linear::Gate), lin(Linear::Up), lin(Linear::Down));
            LayerWeights {
                input_norm: norm_weight(&mut rng, h),
                q,
                k,
                v: vv,
                o,
                post_norm: norm_weight(&mut rng, h),
                gate,
                up,
                down,
            }
        })
        .collect();
    let norm = norm_weight(&mut rng, h);
    let lm_head =
        (!config.tie_word_embeddings).then(|| gaussian(&mut rng, [v, h], 1.0 / (h as f64).sqrt()));
    Ok((
        Checkpoint {
            config,
            weights: LlamaWeights {
                embed,
                layers,
                norm,
                lm_head,
            },
        },
        traits,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_per_seed_and_seed_sensitive() {
        let (a, ta) = synth(SynthShape::Tiny, 7);
        let (b, tb) = synth(SynthShape::Tiny, 7);
        assert_eq!(a, b);
        assert_eq!(ta, tb);
        let (c, _) = synth(SynthShape::Tiny, 8);
        assert_ne!(a.weights.embed, c.weights.embed);
        a.check_shapes().unwrap();
    }

    #[test]
    fn normals_have_unit_variance() {
        let mut r = Rng::new(1);
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|_| r.normal()).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        // Standard error of the mean is 1/sqrt(n) = 0.0022; of the variance sqrt(2/n) = 0.0032.
        assert!(mean.abs() < 0.01, "{mean}");
        assert!((var - 1.0).abs() < 0.015, "{var}");
    }

    #[test]
    fn layers_differ() {
        let (_, t) = synth(SynthShape::Small, 7);
        let scales: Vec<f32> = t.iter().map(|x| x.residual_scale).collect();
        let max = scales.iter().cloned().fold(0.0, f32::max);
        let min = scales.iter().cloned().fold(9.0, f32::min);
        assert!(max / min > 1.3, "{scales:?}");
        assert!(scales.iter().all(|s| (0.707..=1.415).contains(s)));
    }
}
