//! LLaMA checkpoints in llama.cpp's GGUF format (one `.gguf` file: metadata, tokenizer
//! and weights), loaded into the same f32 [`Checkpoint`] as the safetensors layout.
//!
//! - container and dequantisation: candle-core's `gguf_file::Content` and
//!   `QTensor::dequantize` (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 and the K-quants
//!   Q2_K..Q6_K; nothing is decoded by hand here);
//! - [`meta`]: metadata -> [`LlamaConfig`](crate::llm::checkpoint::LlamaConfig);
//! - [`names`]: llama.cpp tensor names (`token_embd.weight`, `blk.{i}.attn_q.weight`, ...);
//! - [`rope_order`]: the q/k row permutation llama.cpp's converter applies, undone on load;
//! - [`file`]: one open file, tensors read with shape checks into `[out, in]` f32 arrays;
//! - [`write`]: the converse, a checkpoint written as GGUF.
//!
//! GGUF lists dimensions fastest-first (`ne0` = in-features), the reverse of the row-major
//! `[out, in]` used everywhere here; shapes in messages are row-major unless marked "GGUF
//! ne order".

pub mod file;
pub mod meta;
pub mod names;
pub mod rope_order;
pub mod write;

pub use candle_core::quantized::GgmlDType;
pub use file::{GgufFile, MAGIC, RowOrder, has_gguf_magic};
pub use meta::GgufConfig;
pub use write::{GgufParts, gguf_parts, write};

use super::{Checkpoint, LayerWeights, Linear, LlamaWeights, linear_shape};
use crate::error::{Error, Result};
use crate::llm::checkpoint::LlamaConfig;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

/// A checkpoint loaded from GGUF, with what the file says beyond the weights.
#[derive(Debug, Clone, PartialEq)]
pub struct GgufCheckpoint {
    /// Configuration and f32 weights (q/k rows in Hugging Face order).
    pub checkpoint: Checkpoint,
    /// Training context length in tokens (`llama.context_length`).
    pub context_length: usize,
    /// Storage type of every tensor, by GGUF name.
    pub tensor_types: BTreeMap<String, GgmlDType>,
}

/// Loads the LLaMA checkpoint in the GGUF file `path`: configuration from the metadata
/// ([`meta::read_config`]), every tensor dequantised to f32 and checked against it, q and
/// k rows restored to Hugging Face order. Peak memory: the f32 weights plus one tensor's
/// quantised bytes.
///
/// Errors (input errors naming the file and the key or tensor): not GGUF, truncated or
/// malformed; unsupported architecture or features (see [`meta::read_config`]); linear
/// biases or RoPE frequency factors (`rope_freqs.weight`), which the forward does not
/// implement; a tensor of a layer beyond `llama.block_count`; a missing tensor, wrong
/// shape, unsupported storage type or non-finite value.
pub fn load(path: &Path) -> Result<GgufCheckpoint> {
    let f = GgufFile::open(path)?;
    let file = path.display().to_string();
    let refuse = |tensor: &str, msg: &str| Err(Error::input(&file, tensor, msg));
    let cfg = meta::read_config(&file, &f.content().metadata, f.contains(names::OUTPUT))?;
    let c = &cfg.config;
    for name in f.tensor_names() {
        if name.starts_with(names::BLOCK_PREFIX) && name.ends_with(".bias") {
            return refuse(
                name,
                "bias tensors are not part of the LLaMA layout (linears have no bias); this \
                 model family is not supported",
            );
        }
        if name == names::ROPE_FREQS {
            return refuse(
                name,
                "per-dimension RoPE frequency factors (scaled RoPE) are not supported",
            );
        }
        if let Some(i) = names::layer_index(name)
            && i >= c.num_hidden_layers
        {
            return Err(Error::input(
                &file,
                name,
                format!(
                    "layer {i} is beyond llama.block_count = {}",
                    c.num_hidden_layers
                ),
            ));
        }
    }
    let tensor_types = f
        .content()
        .tensor_infos
        .iter()
        .map(|(n, t)| (n.clone(), t.ggml_dtype))
        .collect();
    let (h, v) = (c.hidden_size, c.vocab_size);
    // Presence, shapes and extents first, in file-independent order, so that the error
    // reported for a bad file does not depend on the parallel reads below.
    f.check(names::EMBED, &[v, h])?;
    for i in 0..c.num_hidden_layers {
        for module in [names::ATTN_NORM, names::FFN_NORM] {
            f.check(&names::layer(i, module), &[h])?;
        }
        for l in Linear::ALL {
            f.check(&names::layer(i, names::linear(l)), &linear_shape(l, c))?;
        }
    }
    f.check(names::OUTPUT_NORM, &[h])?;
    if !c.tie_word_embeddings {
        f.check(names::OUTPUT, &[v, h])?;
    }
    // The embedding and the layers are read in parallel (each read opens its own handle);
    // every worker holds one quantised tensor and one chunk besides the results.
    let (embed, layers) = rayon::join(
        || f.read_matrix(names::EMBED, [v, h], RowOrder::Stored),
        || {
            (0..c.num_hidden_layers)
                .into_par_iter()
                .map(|i| read_layer(&f, c, i))
                .collect::<Result<Vec<_>>>()
        },
    );
    let (embed, layers) = (embed?, layers?);
    let norm = f.read_vector(names::OUTPUT_NORM, h)?;
    let lm_head = if c.tie_word_embeddings {
        None
    } else {
        Some(f.read_matrix(names::OUTPUT, [v, h], RowOrder::Stored)?)
    };
    Ok(GgufCheckpoint {
        checkpoint: Checkpoint {
            config: cfg.config,
            weights: LlamaWeights {
                embed,
                layers,
                norm,
                lm_head,
            },
        },
        context_length: cfg.context_length,
        tensor_types,
    })
}

/// Reads decoder layer `i` (q and k rows restored to Hugging Face order).
fn read_layer(f: &GgufFile, c: &LlamaConfig, i: usize) -> Result<LayerWeights> {
    let lin = |l: Linear| {
        let order = match l {
            Linear::Q | Linear::K => RowOrder::RopeInterleaved {
                head_dim: c.head_dim,
            },
            _ => RowOrder::Stored,
        };
        f.read_matrix(
            &names::layer(i, names::linear(l)),
            linear_shape(l, c),
            order,
        )
    };
    let norm = |module: &str| f.read_vector(&names::layer(i, module), c.hidden_size);
    Ok(LayerWeights {
        input_norm: norm(names::ATTN_NORM)?,
        q: lin(Linear::Q)?,
        k: lin(Linear::K)?,
        v: lin(Linear::V)?,
        o: lin(Linear::O)?,
        post_norm: norm(names::FFN_NORM)?,
        gate: lin(Linear::Gate)?,
        up: lin(Linear::Up)?,
        down: lin(Linear::Down)?,
    })
}
