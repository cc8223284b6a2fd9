//! `config.json` of a Hugging Face LLaMA-layout checkpoint: the handful of shape and
//! numeric keys the forward needs, validated with errors that name the file and key.

use crate::error::{Error, Result};
use serde_json::{Map, Value};
use std::path::Path;

/// The model hyper-parameters read from `config.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct LlamaConfig {
    /// Width of the residual stream.
    pub hidden_size: usize,
    /// Width of the SwiGLU MLP (gate/up output, down input).
    pub intermediate_size: usize,
    /// Number of decoder layers.
    pub num_hidden_layers: usize,
    /// Number of query heads.
    pub num_attention_heads: usize,
    /// Number of key/value heads (grouped-query attention; equal to the query heads for
    /// plain multi-head attention). Defaults to `num_attention_heads` like Hugging Face.
    pub num_key_value_heads: usize,
    /// Vocabulary size (rows of the embedding and of the LM head).
    pub vocab_size: usize,
    /// RMSNorm epsilon (default 1e-6, the Hugging Face `LlamaConfig` default).
    pub rms_norm_eps: f64,
    /// RoPE base (default 10000, as in the LLaMA paper).
    pub rope_theta: f64,
    /// True when the LM head shares the embedding matrix (no `lm_head.weight`).
    pub tie_word_embeddings: bool,
    /// Per-head width; `hidden_size / num_attention_heads` unless `head_dim` is given.
    pub head_dim: usize,
}

/// Largest accepted size for any dimension: rejects garbage before it allocates.
pub(super) const MAX_DIM: u64 = 1 << 20;

impl LlamaConfig {
    /// Reads and validates `config.json`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = crate::io_util::read_to_string(path)?;
        Self::from_json_str(&path.display().to_string(), &text)
    }

    /// Parses and validates the text of a `config.json`; `file` names it in errors.
    pub fn from_json_str(file: &str, text: &str) -> Result<Self> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| Error::input(file, "json", format!("not valid JSON: {e}")))?;
        let obj = value
            .as_object()
            .ok_or_else(|| Error::input(file, "json", "expected a JSON object"))?;
        let req = |k: &str| required_usize(file, obj, k);
        let hidden_size = req("hidden_size")?;
        let intermediate_size = req("intermediate_size")?;
        let num_hidden_layers = req("num_hidden_layers")?;
        let num_attention_heads = req("num_attention_heads")?;
        let vocab_size = req("vocab_size")?;
        let num_key_value_heads =
            optional_usize(file, obj, "num_key_value_heads")?.unwrap_or(num_attention_heads);
        let rms_norm_eps = optional_f64(file, obj, "rms_norm_eps", 0.0, 1.0)?.unwrap_or(1e-6);
        let rope_theta = optional_f64(file, obj, "rope_theta", 1.0, 1e12)?.unwrap_or(10000.0);
        let tie_word_embeddings = match obj.get("tie_word_embeddings") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(v) => {
                return Err(Error::input(
                    file,
                    "tie_word_embeddings",
                    format!("expected true or false, found {v}"),
                ));
            }
        };
        if let Some(v) = obj.get("rope_scaling").filter(|v| !v.is_null()) {
            return Err(Error::input(
                file,
                "rope_scaling",
                format!("RoPE scaling is not supported (found {v}); only plain RoPE (null)"),
            ));
        }
        if let Some(act) = obj.get("hidden_act").filter(|v| !v.is_null())
            && act.as_str() != Some("silu")
        {
            return Err(Error::input(
                file,
                "hidden_act",
                format!("only \"silu\" (SwiGLU) is supported, found {act}"),
            ));
        }
        if num_attention_heads % num_key_value_heads != 0 {
            return Err(Error::input(
                file,
                "num_key_value_heads",
                format!(
                    "{num_key_value_heads} must divide num_attention_heads = {num_attention_heads}"
                ),
            ));
        }
        let head_dim = match optional_usize(file, obj, "head_dim")? {
            Some(h) => h,
            None => {
                if hidden_size % num_attention_heads != 0 {
                    return Err(Error::input(
                        file,
                        "num_attention_heads",
                        format!(
                            "{num_attention_heads} must divide hidden_size = {hidden_size} \
                             (or give head_dim)"
                        ),
                    ));
                }
                hidden_size / num_attention_heads
            }
        };
        if head_dim % 2 != 0 {
            return Err(Error::input(
                file,
                "head_dim",
                format!("RoPE needs an even head dimension, found {head_dim}"),
            ));
        }
        Ok(LlamaConfig {
            hidden_size,
            intermediate_size,
            num_hidden_layers,
            num_attention_heads,
            num_key_value_heads,
            vocab_size,
            rms_norm_eps,
            rope_theta,
            tie_word_embeddings,
            head_dim,
        })
    }

    /// The `config.json` text for this configuration (Hugging Face key names).
    pub fn to_json_string(&self) -> String {
        let v = serde_json::json!({
            "architectures": ["LlamaForCausalLM"],
            "model_type": "llama",
            "hidden_act": "silu",
            "hidden_size": self.hidden_size,
            "intermediate_size": self.intermediate_size,
            "num_hidden_layers": self.num_hidden_layers,
            "num_attention_heads": self.num_attention_heads,
            "num_key_value_heads": self.num_key_value_heads,
            "head_dim": self.head_dim,
            "vocab_size": self.vocab_size,
            "rms_norm_eps": self.rms_norm_eps,
            "rope_theta": self.rope_theta,
            "rope_scaling": null,
            "tie_word_embeddings": self.tie_word_embeddings,
        });
        let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
        s.push('\n');
        s
    }

    /// SmolLM2-135M as published in its Hugging Face `config.json`
    /// (HuggingFaceTB/SmolLM2-135M-Instruct): 30 layers, hidden 576, MLP 1536, 9 query
    /// heads and 3 K/V heads of 64, vocabulary 49,152, RoPE theta 100,000, tied head.
    pub fn smollm2_135m() -> LlamaConfig {
        LlamaConfig {
            hidden_size: 576,
            intermediate_size: 1536,
            num_hidden_layers: 30,
            num_attention_heads: 9,
            num_key_value_heads: 3,
            vocab_size: 49152,
            rms_norm_eps: 1e-5,
            rope_theta: 100000.0,
            tie_word_embeddings: true,
            head_dim: 64,
        }
    }

    /// Width of the query projection output (`num_attention_heads * head_dim`).
    pub fn q_dim(&self) -> usize {
        self.num_attention_heads * self.head_dim
    }

    /// Width of the key and value projection outputs (`num_key_value_heads * head_dim`).
    pub fn kv_dim(&self) -> usize {
        self.num_key_value_heads * self.head_dim
    }
}

fn optional_usize(file: &str, obj: &Map<String, Value>, key: &str) -> Result<Option<usize>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64() {
            Some(n) if (1..=MAX_DIM).contains(&n) => Ok(Some(n as usize)),
            _ => Err(Error::input(
                file,
                key,
                format!("expected an integer in [1, {MAX_DIM}], found {v}"),
            )),
        },
    }
}

fn required_usize(file: &str, obj: &Map<String, Value>, key: &str) -> Result<usize> {
    optional_usize(file, obj, key)?.ok_or_else(|| {
        Error::input(
            file,
            key,
            format!("missing (an integer in [1, {MAX_DIM}] is required)"),
        )
    })
}

fn optional_f64(
    file: &str,
    obj: &Map<String, Value>,
    key: &str,
    lo: f64,
    hi: f64,
) -> Result<Option<f64>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_f64() {
            Some(x) if x > lo && x <= hi => Ok(Some(x)),
            _ => Err(Error::input(
                file,
                key,
                format!("expected a number in ({lo}, {hi}], found {v}"),
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TINY: &str = r#"{"hidden_size": 8, "intermediate_size": 12, "num_hidden_layers": 2,
        "num_attention_heads": 2, "num_key_value_heads": 1, "vocab_size": 10,
        "rms_norm_eps": 1e-5, "rope_theta": 500.0, "tie_word_embeddings": true}"#;

    #[test]
    fn parses_and_round_trips() {
        let c = LlamaConfig::from_json_str("config.json", TINY).unwrap();
        assert_eq!(c.head_dim, 4);
        assert_eq!(c.kv_dim(), 4);
        assert!(c.tie_word_embeddings);
        let again = LlamaConfig::from_json_str("x", &c.to_json_string()).unwrap();
        assert_eq!(c, again);
    }

    #[test]
    fn defaults_follow_hugging_face() {
        let c = LlamaConfig::from_json_str(
            "c",
            r#"{"hidden_size": 8, "intermediate_size": 12, "num_hidden_layers": 1,
                "num_attention_heads": 2, "vocab_size": 4}"#,
        )
        .unwrap();
        assert_eq!(c.num_key_value_heads, 2);
        assert_eq!(c.rms_norm_eps, 1e-6);
        assert_eq!(c.rope_theta, 10000.0);
        assert!(!c.tie_word_embeddings);
    }

    #[test]
    fn errors_name_file_and_key() {
        let e = LlamaConfig::from_json_str("dir/config.json", r#"{"hidden_size": 8}"#)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("dir/config.json") && e.contains("intermediate_size"),
            "{e}"
        );
        let bad = TINY.replace("\"num_key_value_heads\": 1", "\"num_key_value_heads\": 3");
        let e = LlamaConfig::from_json_str("c.json", &bad)
            .unwrap_err()
            .to_string();
        assert!(e.contains("num_key_value_heads"), "{e}");
        let bad = TINY.replace("\"hidden_size\": 8", "\"hidden_size\": -8");
        let e = LlamaConfig::from_json_str("c.json", &bad)
            .unwrap_err()
            .to_string();
        assert!(e.contains("hidden_size"), "{e}");
        let e = LlamaConfig::from_json_str("c.json", "{not json").unwrap_err();
        assert!(e.is_input() && e.to_string().contains("c.json"));
    }
}
