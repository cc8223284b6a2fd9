//! Per-layer compression policies: weight/activation/KV bit-widths and pruning sparsity
//! for each decoder layer, built explicitly, uniformly, by Edge-LLM's layer-wise unified
//! compression (LUC, eq. 1 and eq. 2) from sensitivities, or at random (seeded): the
//! LUC policy's layer settings in a random layer order (Table 2's "Random",
//! [`random_permutation`]) or freshly drawn ones ([`random_draw`]).
//! Embeddings and LM heads are never compressed (PAPER.md), so a policy covers decoder
//! layers only.

mod eq;
mod luc;
mod random;
mod rng;
mod sensitivity;
mod stats;
mod toml_io;

pub use eq::{Eq2, MAX_SPARSITY, eq1_bits, eq2_sparsity, top_k_bits};
pub use luc::{LucOptions, LucOutcome, MissingLayers, luc};
pub use random::{layer_permutation, random_draw, random_permutation};
pub use rng::SplitMix64;
pub use sensitivity::{REFERENCE_SAMPLES, SensitivityKind, SensitivityRow, SensitivityTable};

/// Compression of one decoder layer. The reference quantiser uses one (w, a, kv)
/// bit-width per layer; they are separate here so other schemes can be described.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct LayerPolicy {
    /// Bits per stored weight value of the seven linears. `luc compress` quantises
    /// 2..=16 and keeps float weights above 16; the Trace reads 16 as f16/bf16 storage
    /// (the uncompressed model, no scales).
    pub w_bits: u32,
    /// Bits of the linear-layer inputs (activations, quantised per token).
    pub a_bits: u32,
    /// Bits of the cached keys and values (quantised per token).
    pub kv_bits: u32,
    /// Fraction of the seven linears' weights pruned (unstructured), in [0, 0.99].
    pub sparsity: f64,
}

/// One [`LayerPolicy`] per decoder layer, with a note of how it was made.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Policy {
    /// Per-layer settings, index = decoder layer.
    pub layers: Vec<LayerPolicy>,
    /// Human-readable origin (method, parameters, input files).
    pub provenance: String,
}

impl Policy {
    /// Every layer with the same bits (w = a = kv = `bits`) and sparsity.
    pub fn uniform(layers: usize, bits: u32, sparsity: f64) -> Policy {
        Policy {
            layers: vec![
                LayerPolicy {
                    w_bits: bits,
                    a_bits: bits,
                    kv_bits: bits,
                    sparsity,
                };
                layers
            ],
            provenance: format!("uniform: {bits} bits, sparsity {sparsity}"),
        }
    }

    /// Mean weight bits over layers.
    pub fn avg_w_bits(&self) -> f64 {
        mean(self.layers.iter().map(|l| l.w_bits as f64))
    }

    /// Mean sparsity over layers.
    pub fn mean_sparsity(&self) -> f64 {
        mean(self.layers.iter().map(|l| l.sparsity))
    }

    /// Sets every layer's activation and KV bits (e.g. 16 to keep them uncompressed).
    pub fn with_act_bits(mut self, a_bits: Option<u32>, kv_bits: Option<u32>) -> Policy {
        for l in &mut self.layers {
            if let Some(a) = a_bits {
                l.a_bits = a;
            }
            if let Some(k) = kv_bits {
                l.kv_bits = k;
            }
        }
        self
    }
}

fn mean(it: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = it.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    if n == 0 { 0.0 } else { s / n as f64 }
}
