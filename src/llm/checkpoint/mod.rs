//! LLaMA-layout checkpoints in Hugging Face naming: `config.json` plus safetensors
//! (single file or sharded with `model.safetensors.index.json`), f32 / f16 / bf16 on
//! disk, f32 in memory.
//!
//! Tensor names and shapes (`[out, in]` for linears, as PyTorch `nn.Linear` stores them):
//! `model.embed_tokens.weight [vocab, hidden]`,
//! `model.layers.{i}.self_attn.{q,k,v,o}_proj.weight`,
//! `model.layers.{i}.mlp.{gate,up,down}_proj.weight`,
//! `model.layers.{i}.{input,post_attention}_layernorm.weight [hidden]`,
//! `model.norm.weight [hidden]`, `lm_head.weight [vocab, hidden]` (absent when
//! `tie_word_embeddings`).
//!
//! A single `.gguf` file (llama.cpp's format, quantised or not) loads into the same
//! [`Checkpoint`] through [`gguf`]; [`Checkpoint::load`] picks the loader.

mod config;
pub mod gguf;
mod store;

pub use config::LlamaConfig;
pub use store::{EncodedTensor, INDEX_FILE, RawTensor, SINGLE_FILE, StoreDtype, TensorStore};

use crate::error::{Error, Result};
use ndarray::{Array1, Array2};
use std::path::Path;

/// File name of the model configuration.
pub const CONFIG_FILE: &str = "config.json";

/// The seven linear layers of a decoder layer (the ones LUC compresses): the model's own
/// projection list, so a checkpoint and the workload model name them the same way.
pub use crate::model::Linear;

/// `[out, in]` shape of linear `l` under `cfg` (Hugging Face `nn.Linear` weight layout).
pub fn linear_shape(l: Linear, cfg: &LlamaConfig) -> [usize; 2] {
    let (h, f) = (cfg.hidden_size, cfg.intermediate_size);
    match l {
        Linear::Q => [cfg.q_dim(), h],
        Linear::K | Linear::V => [cfg.kv_dim(), h],
        Linear::O => [h, cfg.q_dim()],
        Linear::Gate | Linear::Up => [f, h],
        Linear::Down => [h, f],
    }
}

/// Weights of one decoder layer (f32, linears `[out, in]`).
#[derive(Debug, Clone, PartialEq)]
pub struct LayerWeights {
    /// RMSNorm weight before attention `[hidden]`.
    pub input_norm: Array1<f32>,
    /// Query projection.
    pub q: Array2<f32>,
    /// Key projection.
    pub k: Array2<f32>,
    /// Value projection.
    pub v: Array2<f32>,
    /// Output projection.
    pub o: Array2<f32>,
    /// RMSNorm weight before the MLP `[hidden]`.
    pub post_norm: Array1<f32>,
    /// MLP gate projection.
    pub gate: Array2<f32>,
    /// MLP up projection.
    pub up: Array2<f32>,
    /// MLP down projection.
    pub down: Array2<f32>,
}

impl LayerWeights {
    /// The weight of linear `l`.
    pub fn linear(&self, l: Linear) -> &Array2<f32> {
        match l {
            Linear::Q => &self.q,
            Linear::K => &self.k,
            Linear::V => &self.v,
            Linear::O => &self.o,
            Linear::Gate => &self.gate,
            Linear::Up => &self.up,
            Linear::Down => &self.down,
        }
    }

    /// Mutable access to the weight of linear `l`.
    pub fn linear_mut(&mut self, l: Linear) -> &mut Array2<f32> {
        match l {
            Linear::Q => &mut self.q,
            Linear::K => &mut self.k,
            Linear::V => &mut self.v,
            Linear::O => &mut self.o,
            Linear::Gate => &mut self.gate,
            Linear::Up => &mut self.up,
            Linear::Down => &mut self.down,
        }
    }
}

/// All weights of a LLaMA-layout model.
#[derive(Debug, Clone, PartialEq)]
pub struct LlamaWeights {
    /// Token embedding `[vocab, hidden]`.
    pub embed: Array2<f32>,
    /// Decoder layers, bottom to top.
    pub layers: Vec<LayerWeights>,
    /// Final RMSNorm weight `[hidden]`.
    pub norm: Array1<f32>,
    /// LM head `[vocab, hidden]`; `None` when tied to the embedding.
    pub lm_head: Option<Array2<f32>>,
}

/// A loaded checkpoint: configuration and weights.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// Hyper-parameters from `config.json`.
    pub config: LlamaConfig,
    /// Weights in f32.
    pub weights: LlamaWeights,
}

fn layer_name(i: usize, module: &str) -> String {
    format!("model.layers.{i}.{module}.weight")
}

impl Checkpoint {
    /// Loads the checkpoint at `path`: a directory holding `config.json` and safetensors
    /// weights, or a file starting with the GGUF magic ([`gguf::load`]). Every tensor's
    /// presence and shape is checked against the configuration.
    ///
    /// Errors: `path` is neither a directory nor a GGUF file, or the loader's errors
    /// (naming the file and the key or tensor).
    pub fn load(path: &Path) -> Result<Self> {
        if path.is_file() {
            return gguf::load(path).map(|g| g.checkpoint);
        }
        Self::load_dir(path)
    }

    /// Loads `dir/config.json` and the safetensors weights of `dir`, checking every
    /// tensor's presence and shape against the configuration.
    pub fn load_dir(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            return Err(Error::input(
                dir.display().to_string(),
                "--checkpoint",
                "neither a directory (config.json and model.safetensors[.index.json]) nor a \
                 .gguf file",
            ));
        }
        let config = LlamaConfig::from_file(&dir.join(CONFIG_FILE))?;
        let store = TensorStore::open(dir)?;
        // Linear biases (Qwen-style q/k/v biases) are not part of the LLaMA layout: refuse
        // them instead of silently computing a different model.
        if let Some(bias) = store
            .names()
            .into_iter()
            .find(|n| n.starts_with("model.layers.") && n.ends_with(".bias"))
        {
            return Err(Error::input(
                store.listing().display().to_string(),
                bias,
                "bias tensors are not part of the LLaMA layout (linears have no bias); this model family is not supported",
            ));
        }
        let (h, v) = (config.hidden_size, config.vocab_size);
        let mat = |name: &str, shape: [usize; 2]| -> Result<Array2<f32>> {
            let t = store.get(name, &shape)?;
            Array2::from_shape_vec(shape, t.data).map_err(|e| Error::Other(e.to_string()))
        };
        let vec = |name: &str| -> Result<Array1<f32>> {
            Ok(Array1::from_vec(store.get(name, &[h])?.data))
        };
        let embed = mat("model.embed_tokens.weight", [v, h])?;
        let layers = (0..config.num_hidden_layers)
            .map(|i| {
                let lin = |l: Linear| mat(&layer_name(i, l.module()), linear_shape(l, &config));
                Ok(LayerWeights {
                    input_norm: vec(&layer_name(i, "input_layernorm"))?,
                    q: lin(Linear::Q)?,
                    k: lin(Linear::K)?,
                    v: lin(Linear::V)?,
                    o: lin(Linear::O)?,
                    post_norm: vec(&layer_name(i, "post_attention_layernorm"))?,
                    gate: lin(Linear::Gate)?,
                    up: lin(Linear::Up)?,
                    down: lin(Linear::Down)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let norm = vec("model.norm.weight")?;
        // A tied checkpoint may still carry a copy of the head; it must then match.
        let lm_head = if config.tie_word_embeddings && !store.contains("lm_head.weight") {
            None
        } else if config.tie_word_embeddings {
            mat("lm_head.weight", [v, h])?;
            None
        } else {
            Some(mat("lm_head.weight", [v, h])?)
        };
        Ok(Checkpoint {
            config,
            weights: LlamaWeights {
                embed,
                layers,
                norm,
                lm_head,
            },
        })
    }

    /// Writes `config.json` and the weights in `dtype` to `dir` (created if needed), as one
    /// file (`shards <= 1`) or `shards` files plus the index. Every file is atomic.
    pub fn save(&self, dir: &Path, dtype: StoreDtype, shards: usize) -> Result<()> {
        self.check_shapes()?;
        let enc2 = |a: &Array2<f32>| {
            let v: Vec<f32> = a.iter().copied().collect();
            EncodedTensor::new(dtype, a.shape().to_vec(), &v)
        };
        let enc1 = |a: &Array1<f32>| {
            let v: Vec<f32> = a.iter().copied().collect();
            EncodedTensor::new(dtype, vec![a.len()], &v)
        };
        let w = &self.weights;
        let mut tensors = vec![("model.embed_tokens.weight".to_string(), enc2(&w.embed))];
        for (i, lw) in w.layers.iter().enumerate() {
            tensors.push((layer_name(i, "input_layernorm"), enc1(&lw.input_norm)));
            for l in Linear::ALL {
                tensors.push((layer_name(i, l.module()), enc2(lw.linear(l))));
            }
            tensors.push((
                layer_name(i, "post_attention_layernorm"),
                enc1(&lw.post_norm),
            ));
        }
        tensors.push(("model.norm.weight".to_string(), enc1(&w.norm)));
        if let Some(head) = &w.lm_head {
            tensors.push(("lm_head.weight".to_string(), enc2(head)));
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        store::write_tensors(dir, &tensors, shards)?;
        crate::io_util::write_atomic(
            &dir.join(CONFIG_FILE),
            self.config.to_json_string().as_bytes(),
        )
    }

    /// The LM head matrix `[vocab, hidden]` (the embedding when tied).
    pub fn lm_head(&self) -> &Array2<f32> {
        self.weights.lm_head.as_ref().unwrap_or(&self.weights.embed)
    }

    /// Checks that the in-memory weights agree with the configuration (used before
    /// writing, so that a bad model never reaches disk).
    pub fn check_shapes(&self) -> Result<()> {
        let c = &self.config;
        let (h, v) = (c.hidden_size, c.vocab_size);
        let bad = |name: String, exp: &[usize], found: &[usize]| {
            Err(Error::Other(format!(
                "{name}: shape mismatch: expected {exp:?}, found {found:?}"
            )))
        };
        let w = &self.weights;
        if w.embed.shape() != [v, h] {
            return bad("model.embed_tokens.weight".into(), &[v, h], w.embed.shape());
        }
        if w.layers.len() != c.num_hidden_layers {
            return Err(Error::Other(format!(
                "{} decoder layers but config has num_hidden_layers = {}",
                w.layers.len(),
                c.num_hidden_layers
            )));
        }
        for (i, lw) in w.layers.iter().enumerate() {
            for l in Linear::ALL {
                let exp = linear_shape(l, c);
                if lw.linear(l).shape() != exp {
                    return bad(layer_name(i, l.module()), &exp, lw.linear(l).shape());
                }
            }
            for (n, a) in [
                ("input_layernorm", &lw.input_norm),
                ("post_attention_layernorm", &lw.post_norm),
            ] {
                if a.len() != h {
                    return bad(layer_name(i, n), &[h], a.shape());
                }
            }
        }
        if w.norm.len() != h {
            return bad("model.norm.weight".into(), &[h], w.norm.shape());
        }
        match (&w.lm_head, c.tie_word_embeddings) {
            (Some(head), false) if head.shape() == [v, h] => Ok(()),
            (Some(head), false) => bad("lm_head.weight".into(), &[v, h], head.shape()),
            (None, true) => Ok(()),
            (Some(_), true) => Err(Error::Other(
                "lm_head.weight present but tie_word_embeddings = true".into(),
            )),
            (None, false) => Err(Error::Other(
                "lm_head.weight missing but tie_word_embeddings = false".into(),
            )),
        }
    }
}
