//! GGUF metadata -> [`LlamaConfig`]: the `llama.*` keys that llama.cpp reads for the
//! LLaMA architecture (`llama-arch.cpp`, `llama-model.cpp` `load_hparams`), with the same
//! defaults, and errors that name the file and the key.

use super::super::config::MAX_DIM;
use crate::error::{Error, Result};
use crate::llm::checkpoint::LlamaConfig;
use candle_core::quantized::gguf_file::Value;
use std::collections::HashMap;

/// Key of the architecture name; must be [`ARCHITECTURE`].
pub const ARCH_KEY: &str = "general.architecture";
/// The only supported architecture.
pub const ARCHITECTURE: &str = "llama";
/// Key of the vocabulary (used for the vocabulary size when `llama.vocab_size` is absent).
pub const TOKENS_KEY: &str = "tokenizer.ggml.tokens";

/// Largest accepted training context length (2^31 tokens): rejects garbage only.
const MAX_CONTEXT: u64 = 1 << 31;

/// RoPE base when `llama.rope.freq_base` is absent: llama.cpp's default
/// (`hparams.rope_freq_base_train = 10000.0f`, the LLaMA paper's value).
const DEFAULT_ROPE_BASE: f64 = 10000.0;

/// What the metadata says about the model.
#[derive(Debug, Clone, PartialEq)]
pub struct GgufConfig {
    /// The model hyper-parameters.
    pub config: LlamaConfig,
    /// Training context length in tokens (`llama.context_length`).
    pub context_length: usize,
}

/// Reads the model configuration from GGUF `metadata` (of `file`, for messages).
/// `has_output` tells whether the file holds an `output.weight` tensor: without one the LM
/// head is tied to the token embedding, as in llama.cpp.
///
/// Keys (all `llama.` ones prefixed with the architecture name):
/// `block_count`, `embedding_length`, `feed_forward_length`, `attention.head_count`,
/// `attention.layer_norm_rms_epsilon`, `context_length` (required);
/// `attention.head_count_kv` (default `head_count`), `rope.freq_base` (default 10000),
/// `vocab_size` (default: the length of `tokenizer.ggml.tokens`),
/// `attention.key_length` / `rope.dimension_count` (head width; default
/// `embedding_length / head_count`). f32 values are read as the shortest decimal that
/// rounds to them (the f32 `1e-5` of a converted file is the `1e-5` of its `config.json`).
///
/// Errors (naming `file` and the key): a missing or mistyped key, a value out of range,
/// an architecture other than `llama`, and features the forward does not implement
/// (mixture of experts, RoPE scaling, partial rotary dimensions, `value_length` different
/// from the head width).
pub fn read_config(
    file: &str,
    metadata: &HashMap<String, Value>,
    has_output: bool,
) -> Result<GgufConfig> {
    let m = Meta { file, metadata };
    let arch = m.string(ARCH_KEY)?.ok_or_else(|| {
        Error::input(
            file,
            ARCH_KEY,
            format!("missing (must be \"{ARCHITECTURE}\")"),
        )
    })?;
    if arch != ARCHITECTURE {
        return Err(Error::input(
            file,
            ARCH_KEY,
            format!("architecture \"{arch}\" is not supported (only \"{ARCHITECTURE}\")"),
        ));
    }
    let key = |k: &str| format!("{ARCHITECTURE}.{k}");
    let req = |k: &str| m.required_dim(&key(k), MAX_DIM);
    let num_hidden_layers = req("block_count")?;
    let hidden_size = req("embedding_length")?;
    let intermediate_size = req("feed_forward_length")?;
    let num_attention_heads = req("attention.head_count")?;
    let context_length = m.required_dim(&key("context_length"), MAX_CONTEXT)?;
    let kv_key = key("attention.head_count_kv");
    let num_key_value_heads = m.dim(&kv_key, MAX_DIM)?.unwrap_or(num_attention_heads);
    if !num_attention_heads.is_multiple_of(num_key_value_heads) {
        return Err(Error::input(
            file,
            kv_key,
            format!(
                "{num_key_value_heads} must divide {} = {num_attention_heads}",
                key("attention.head_count")
            ),
        ));
    }
    let eps_key = key("attention.layer_norm_rms_epsilon");
    let rms_norm_eps = m
        .float(&eps_key, 0.0, 1.0)?
        .ok_or_else(|| Error::input(file, &eps_key, "missing (a float in (0, 1] is required)"))?;
    let rope_theta = m
        .float(&key("rope.freq_base"), 1.0, 1e12)?
        .unwrap_or(DEFAULT_ROPE_BASE);
    let vocab_size = match m.dim(&key("vocab_size"), MAX_DIM)? {
        Some(v) => v,
        None => m.token_count(&key("vocab_size"))?,
    };
    let head_dim = head_dim(&m, hidden_size, num_attention_heads)?;
    if let Some(n) = m.dim(&key("expert_count"), MAX_DIM)? {
        return Err(Error::input(
            file,
            key("expert_count"),
            format!("mixture-of-experts models ({n} experts) are not supported"),
        ));
    }
    if let Some(kind) = m.string(&key("rope.scaling.type"))?
        && kind != "none"
    {
        return Err(Error::input(
            file,
            key("rope.scaling.type"),
            format!("RoPE scaling \"{kind}\" is not supported (only \"none\")"),
        ));
    }
    Ok(GgufConfig {
        config: LlamaConfig {
            hidden_size,
            intermediate_size,
            num_hidden_layers,
            num_attention_heads,
            num_key_value_heads,
            vocab_size,
            rms_norm_eps,
            rope_theta,
            tie_word_embeddings: !has_output,
            head_dim,
        },
        context_length,
    })
}

/// The head width: `attention.key_length`, else `rope.dimension_count`, else
/// `embedding_length / head_count`; RoPE must rotate all of it (`rope.dimension_count`),
/// values must have the same width (`attention.value_length`), and it must be even.
fn head_dim(m: &Meta, hidden: usize, heads: usize) -> Result<usize> {
    let key = |k: &str| format!("{ARCHITECTURE}.{k}");
    let (k_key, r_key, v_key) = (
        key("attention.key_length"),
        key("rope.dimension_count"),
        key("attention.value_length"),
    );
    let key_len = m.dim(&k_key, MAX_DIM)?;
    let rot = m.dim(&r_key, MAX_DIM)?;
    let head_dim = match key_len.or(rot) {
        Some(d) => d,
        None if hidden.is_multiple_of(heads) => hidden / heads,
        None => {
            return Err(Error::input(
                m.file,
                key("attention.head_count"),
                format!(
                    "{heads} does not divide {} = {hidden}, and neither {k_key} nor {r_key} \
                     gives the head width",
                    key("embedding_length")
                ),
            ));
        }
    };
    if let Some(r) = rot
        && r != head_dim
    {
        return Err(Error::input(
            m.file,
            r_key,
            format!("partial rotary embedding ({r} of {head_dim} dimensions) is not supported"),
        ));
    }
    if let Some(v) = m.dim(&v_key, MAX_DIM)?
        && v != head_dim
    {
        return Err(Error::input(
            m.file,
            v_key,
            format!("value head width {v} differs from the key head width {head_dim}"),
        ));
    }
    if !head_dim.is_multiple_of(2) {
        return Err(Error::input(
            m.file,
            r_key,
            format!("RoPE needs an even head width, found {head_dim}"),
        ));
    }
    Ok(head_dim)
}

/// Typed, range-checked access to the metadata of one file.
struct Meta<'a> {
    file: &'a str,
    metadata: &'a HashMap<String, Value>,
}

impl Meta<'_> {
    fn mistyped(&self, key: &str, want: &str, v: &Value) -> Error {
        Error::input(
            self.file,
            key,
            format!(
                "expected {want}, found a value of type {:?}",
                v.value_type()
            ),
        )
    }

    /// An unsigned integer of any width in `[1, max]`, if present.
    fn dim(&self, key: &str, max: u64) -> Result<Option<usize>> {
        let Some(v) = self.metadata.get(key) else {
            return Ok(None);
        };
        let n: Option<i128> = match v {
            Value::U8(x) => Some((*x).into()),
            Value::I8(x) => Some((*x).into()),
            Value::U16(x) => Some((*x).into()),
            Value::I16(x) => Some((*x).into()),
            Value::U32(x) => Some((*x).into()),
            Value::I32(x) => Some((*x).into()),
            Value::U64(x) => Some((*x).into()),
            Value::I64(x) => Some((*x).into()),
            _ => None,
        };
        match n {
            None => Err(self.mistyped(key, &format!("an integer in [1, {max}]"), v)),
            Some(n) if (1..=i128::from(max)).contains(&n) => Ok(Some(n as usize)),
            Some(n) => Err(Error::input(
                self.file,
                key,
                format!("expected an integer in [1, {max}], found {n}"),
            )),
        }
    }

    fn required_dim(&self, key: &str, max: u64) -> Result<usize> {
        self.dim(key, max)?.ok_or_else(|| {
            Error::input(
                self.file,
                key,
                format!("missing (an integer in [1, {max}] is required)"),
            )
        })
    }

    /// A float (f32 or f64) in `(lo, hi]`, if present.
    fn float(&self, key: &str, lo: f64, hi: f64) -> Result<Option<f64>> {
        let Some(v) = self.metadata.get(key) else {
            return Ok(None);
        };
        let x = match v {
            // Shortest decimal that rounds to the f32 (Rust's `Display` is round-trip
            // shortest): the value the converter was given, not its f32 neighbour.
            Value::F32(x) => format!("{x}").parse::<f64>().unwrap_or(f64::from(*x)),
            Value::F64(x) => *x,
            _ => return Err(self.mistyped(key, &format!("a float in ({lo}, {hi}]"), v)),
        };
        if x > lo && x <= hi {
            Ok(Some(x))
        } else {
            Err(Error::input(
                self.file,
                key,
                format!("expected a float in ({lo}, {hi}], found {x}"),
            ))
        }
    }

    fn string(&self, key: &str) -> Result<Option<&str>> {
        match self.metadata.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(self.mistyped(key, "a string", v)),
        }
    }

    /// The number of entries of `tokenizer.ggml.tokens`, for the vocabulary size when
    /// `vocab_key` is absent.
    fn token_count(&self, vocab_key: &str) -> Result<usize> {
        match self.metadata.get(TOKENS_KEY) {
            Some(Value::Array(a)) if (1..=MAX_DIM as usize).contains(&a.len()) => Ok(a.len()),
            Some(Value::Array(a)) => Err(Error::input(
                self.file,
                TOKENS_KEY,
                format!("{} tokens; expected [1, {MAX_DIM}]", a.len()),
            )),
            Some(v) => Err(self.mistyped(TOKENS_KEY, "an array of strings", v)),
            None => Err(Error::input(
                self.file,
                vocab_key,
                format!("missing, and no {TOKENS_KEY} to count the vocabulary from"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn smollm2_like() -> HashMap<String, Value> {
        let mut m = HashMap::new();
        let mut put = |k: &str, v: Value| {
            m.insert(k.to_string(), v);
        };
        put(ARCH_KEY, Value::String("llama".into()));
        put("llama.block_count", Value::U32(30));
        put("llama.context_length", Value::U32(8192));
        put("llama.embedding_length", Value::U32(576));
        put("llama.feed_forward_length", Value::U32(1536));
        put("llama.attention.head_count", Value::U32(9));
        put("llama.attention.head_count_kv", Value::U32(3));
        put("llama.rope.freq_base", Value::F32(100000.0));
        put("llama.attention.layer_norm_rms_epsilon", Value::F32(1e-5));
        put("llama.vocab_size", Value::U32(49152));
        put("llama.rope.dimension_count", Value::U32(64));
        m
    }

    fn err(m: &HashMap<String, Value>) -> String {
        let e = read_config("m.gguf", m, false).unwrap_err();
        assert!(e.is_input(), "{e}");
        e.to_string()
    }

    #[test]
    fn reads_every_field() {
        let c = read_config("m.gguf", &smollm2_like(), false).unwrap();
        assert_eq!(c.context_length, 8192);
        let c = c.config;
        assert_eq!(
            (c.num_hidden_layers, c.hidden_size, c.intermediate_size),
            (30, 576, 1536)
        );
        assert_eq!((c.num_attention_heads, c.num_key_value_heads), (9, 3));
        assert_eq!((c.head_dim, c.vocab_size), (64, 49152));
        // Exactly the decimal values, not their f32 neighbours (f32 1e-5 = 9.99999974e-6).
        assert_eq!(c.rms_norm_eps, 1e-5);
        assert_eq!(c.rope_theta, 1e5);
        assert!(c.tie_word_embeddings);
        assert!(
            !read_config("m.gguf", &smollm2_like(), true)
                .unwrap()
                .config
                .tie_word_embeddings
        );
    }

    #[test]
    fn defaults_follow_llama_cpp() {
        let mut m = smollm2_like();
        for k in [
            "llama.attention.head_count_kv",
            "llama.rope.freq_base",
            "llama.rope.dimension_count",
            "llama.vocab_size",
        ] {
            m.remove(k);
        }
        let tokens = (0..7).map(|i| Value::String(format!("t{i}"))).collect();
        m.insert(TOKENS_KEY.into(), Value::Array(tokens));
        let c = read_config("m.gguf", &m, true).unwrap().config;
        assert_eq!(c.num_key_value_heads, 9);
        assert_eq!(c.rope_theta, 10000.0);
        assert_eq!(c.head_dim, 576 / 9);
        assert_eq!(c.vocab_size, 7);
    }

    #[test]
    fn errors_name_the_key() {
        let mut m = smollm2_like();
        m.insert(ARCH_KEY.into(), Value::String("qwen2".into()));
        let e = err(&m);
        assert!(
            e.contains("m.gguf") && e.contains(ARCH_KEY) && e.contains("qwen2"),
            "{e}"
        );

        let mut m = smollm2_like();
        m.remove("llama.attention.layer_norm_rms_epsilon");
        let e = err(&m);
        assert!(e.contains("llama.attention.layer_norm_rms_epsilon") && e.contains("missing"));

        let mut m = smollm2_like();
        m.insert("llama.block_count".into(), Value::String("30".into()));
        let e = err(&m);
        assert!(
            e.contains("llama.block_count") && e.contains("String"),
            "{e}"
        );

        let mut m = smollm2_like();
        m.insert("llama.attention.head_count_kv".into(), Value::U32(2));
        assert!(err(&m).contains("llama.attention.head_count_kv"));

        let mut m = smollm2_like();
        m.insert("llama.embedding_length".into(), Value::I32(-576));
        assert!(err(&m).contains("llama.embedding_length"));

        let mut m = smollm2_like();
        m.remove("llama.vocab_size");
        assert!(err(&m).contains("llama.vocab_size"));

        let mut m = smollm2_like();
        m.insert("llama.rope.dimension_count".into(), Value::U32(32));
        m.insert("llama.attention.key_length".into(), Value::U32(64));
        assert!(err(&m).contains("partial rotary"));

        let mut m = smollm2_like();
        m.insert("llama.expert_count".into(), Value::U32(8));
        assert!(err(&m).contains("llama.expert_count"));

        let mut m = smollm2_like();
        m.insert(
            "llama.rope.scaling.type".into(),
            Value::String("yarn".into()),
        );
        assert!(err(&m).contains("llama.rope.scaling.type"));

        let mut m = smollm2_like();
        m.insert("llama.rope.freq_base".into(), Value::F32(-1.0));
        assert!(err(&m).contains("llama.rope.freq_base"));
    }
}
