//! Writing a [`Checkpoint`] as a llama.cpp-compatible GGUF file: llama.cpp tensor names,
//! q/k rows in ggml's interleaved RoPE order, linears and embedding in one storage type
//! (quantised by candle), 1-D norm weights in f32 (as llama.cpp's converter keeps them).

use super::meta::{ARCH_KEY, ARCHITECTURE};
use super::names;
use super::rope_order;
use crate::error::{Error, Result};
use crate::llm::checkpoint::{Checkpoint, Linear};
use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use ndarray::{Array1, Array2};
use std::path::Path;

/// The metadata and tensors of a GGUF file, in writing order.
pub struct GgufParts {
    /// Metadata key-value pairs.
    pub metadata: Vec<(String, Value)>,
    /// Tensors by GGUF name.
    pub tensors: Vec<(String, QTensor)>,
}

impl GgufParts {
    /// The GGUF encoding (version 2, 32-byte alignment: candle's writer).
    ///
    /// Errors: candle's writer fails (an internal inconsistency).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let md: Vec<(&str, &Value)> = self.metadata.iter().map(|(k, v)| (k.as_str(), v)).collect();
        let ts: Vec<(&str, &QTensor)> = self.tensors.iter().map(|(k, t)| (k.as_str(), t)).collect();
        let mut out = std::io::Cursor::new(Vec::new());
        gguf_file::write(&mut out, &md, &ts)
            .map_err(|e| Error::Other(format!("cannot encode GGUF: {e}")))?;
        Ok(out.into_inner())
    }
}

/// Builds the metadata and tensors of `ckpt` as a GGUF file with linears and embedding
/// stored as `dtype` and training context length `context_length` (GGUF requires one; it
/// does not affect the weights).
///
/// Metadata: `general.architecture = "llama"` and the `llama.*` keys read back by
/// `meta::read_config` (integers u32, floats f32 as llama.cpp writes them, so `rms_norm_eps`
/// and `rope_theta` survive exactly when their shortest decimal has at most 7 significant
/// digits). The LM head is written as `output.weight` unless tied.
///
/// Errors: inconsistent shapes; a dimension above `u32::MAX`; an in-feature count that is
/// not a multiple of `dtype`'s block size (32 for Q4_0/Q4_1/Q8_0, 256 for the K-quants),
/// naming the tensor.
pub fn gguf_parts(ckpt: &Checkpoint, dtype: GgmlDType, context_length: usize) -> Result<GgufParts> {
    ckpt.check_shapes()?;
    let c = &ckpt.config;
    let u32v = |key: &str, n: usize| -> Result<Value> {
        u32::try_from(n)
            .map(Value::U32)
            .map_err(|_| Error::Other(format!("GGUF {key}: {n} exceeds u32")))
    };
    let k = |s: &str| format!("{ARCHITECTURE}.{s}");
    let metadata = vec![
        (ARCH_KEY.to_string(), Value::String(ARCHITECTURE.into())),
        ("general.name".into(), Value::String("edgesim".into())),
        (k("block_count"), u32v("block_count", c.num_hidden_layers)?),
        (k("context_length"), u32v("context_length", context_length)?),
        (
            k("embedding_length"),
            u32v("embedding_length", c.hidden_size)?,
        ),
        (
            k("feed_forward_length"),
            u32v("feed_forward_length", c.intermediate_size)?,
        ),
        (
            k("attention.head_count"),
            u32v("head_count", c.num_attention_heads)?,
        ),
        (
            k("attention.head_count_kv"),
            u32v("head_count_kv", c.num_key_value_heads)?,
        ),
        (k("rope.freq_base"), Value::F32(c.rope_theta as f32)),
        (
            k("attention.layer_norm_rms_epsilon"),
            Value::F32(c.rms_norm_eps as f32),
        ),
        (k("vocab_size"), u32v("vocab_size", c.vocab_size)?),
        (
            k("rope.dimension_count"),
            u32v("dimension_count", c.head_dim)?,
        ),
    ];
    let w = &ckpt.weights;
    let mut tensors = vec![(
        names::EMBED.to_string(),
        matrix(names::EMBED, &w.embed, dtype, None)?,
    )];
    for (i, lw) in w.layers.iter().enumerate() {
        tensors.push((names::layer(i, names::ATTN_NORM), vector(&lw.input_norm)?));
        for l in Linear::ALL {
            let name = names::layer(i, names::linear(l));
            let rope = matches!(l, Linear::Q | Linear::K).then_some(c.head_dim);
            let t = matrix(&name, lw.linear(l), dtype, rope)?;
            tensors.push((name, t));
        }
        tensors.push((names::layer(i, names::FFN_NORM), vector(&lw.post_norm)?));
    }
    tensors.push((names::OUTPUT_NORM.to_string(), vector(&w.norm)?));
    if let Some(head) = &w.lm_head {
        tensors.push((
            names::OUTPUT.to_string(),
            matrix(names::OUTPUT, head, dtype, None)?,
        ));
    }
    Ok(GgufParts { metadata, tensors })
}

/// Writes `ckpt` to `path` as GGUF (see [`gguf_parts`]), atomically.
pub fn write(
    ckpt: &Checkpoint,
    path: &Path,
    dtype: GgmlDType,
    context_length: usize,
) -> Result<()> {
    let bytes = gguf_parts(ckpt, dtype, context_length)?.to_bytes()?;
    crate::io_util::write_atomic(path, &bytes)
}

/// `a` (`[out, in]`) as a GGUF tensor of `dtype`; with `rope = Some(head_dim)` the rows
/// are first put in ggml's interleaved RoPE order.
fn matrix(name: &str, a: &Array2<f32>, dtype: GgmlDType, rope: Option<usize>) -> Result<QTensor> {
    let (rows, cols) = a.dim();
    if !cols.is_multiple_of(dtype.block_size()) {
        return Err(Error::Other(format!(
            "GGUF {name}: {dtype:?} stores blocks of {} values; {cols} in-features is not a \
             multiple",
            dtype.block_size()
        )));
    }
    let mut values: Vec<f32> = Vec::with_capacity(rows * cols);
    for g in 0..rows {
        let r = rope.map_or(g, |d| rope_order::hf_row(g, d));
        values.extend(a.row(r).iter());
    }
    let cerr = |e: candle_core::Error| Error::Other(format!("GGUF {name}: {e}"));
    let t = Tensor::from_vec(values, (rows, cols), &Device::Cpu).map_err(cerr)?;
    QTensor::quantize(&t, dtype).map_err(cerr)
}

fn vector(a: &Array1<f32>) -> Result<QTensor> {
    let cerr = |e: candle_core::Error| Error::Other(format!("GGUF norm weight: {e}"));
    let t = Tensor::from_vec(a.to_vec(), a.len(), &Device::Cpu).map_err(cerr)?;
    QTensor::quantize(&t, GgmlDType::F32).map_err(cerr)
}
