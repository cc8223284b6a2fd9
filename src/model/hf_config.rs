//! A model shape from a Hugging Face `config.json` (`[model] hf_config = "config.json"`
//! in a workload).
//!
//! Accepted: LLaMA-family decoders, whose block is the one [`super`] models (pre-norm
//! RMSNorm, grouped-query attention with RoPE, SwiGLU MLP): `model_type` `llama` (LLaMA
//! 1-3, TinyLlama, SmolLM2), `mistral` (sliding-window attention is modelled as full
//! causal attention) and `qwen2` (q/k/v biases, see [`ModelShape::qkv_bias`]). Keys read
//! (the names of `transformers`' `LlamaConfig`, `MistralConfig`, `Qwen2Config`):
//! `num_hidden_layers`, `hidden_size`, `intermediate_size`, `num_attention_heads`,
//! `num_key_value_heads` (default: `num_attention_heads`), `vocab_size`,
//! `tie_word_embeddings` (default false, as in those classes), `head_dim` (must equal
//! `hidden_size / num_attention_heads`: the op list assumes query width = hidden),
//! `hidden_act` (must be `silu`), `attention_bias` and `mlp_bias` (LLaMA; must be false).
//! Other keys (RoPE settings, dropout, token ids) do not change the shape and are ignored.
//!
//! The tensor engine reads `config.json` too (`llm::checkpoint::LlamaConfig`), but `model`
//! sits below `llm` (which imports `model::Linear`), and that reader refuses settings the
//! forward cannot run (RoPE scaling) that do not matter for a shape; so this reader is
//! its own, checked against the same published configs in the tests.

use super::ModelShape;
use crate::error::{Error, Result};
use serde_json::{Map, Value};

/// `model_type` values whose decoder block is the LLaMA block.
pub const MODEL_TYPES: &[&str] = &["llama", "mistral", "qwen2"];

/// Reads the shape from the text of a `config.json`; `file` names it in errors.
///
/// Errors (naming `file` and the key): not a JSON object; `model_type` missing or not one
/// of [`MODEL_TYPES`] (the message names it); a dimension missing, not an integer or out
/// of the ranges of a `[model]` table; heads not dividing `hidden_size`, K/V heads not
/// dividing the heads; `head_dim` other than `hidden_size / num_attention_heads`; an
/// activation other than SiLU; LLaMA `attention_bias` or `mlp_bias` set.
pub fn shape_from_json(file: &str, text: &str) -> Result<ModelShape> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| Error::input(file, "json", format!("not valid JSON: {e}")))?;
    let obj = value
        .as_object()
        .ok_or_else(|| Error::input(file, "json", "expected a JSON object"))?;
    let model_type = match obj.get("model_type") {
        Some(Value::String(s)) => s.as_str(),
        Some(v) => {
            return Err(Error::input(
                file,
                "model_type",
                format!("expected a string, found {v}"),
            ));
        }
        None => {
            return Err(Error::input(
                file,
                "model_type",
                format!("missing; expected one of {}", MODEL_TYPES.join(", ")),
            ));
        }
    };
    if !MODEL_TYPES.contains(&model_type) {
        return Err(Error::input(
            file,
            "model_type",
            format!(
                "`{model_type}` is not a LLaMA-family decoder edgesim can model; supported \
                 model_type values: {} (or give the dimensions in a [model] table)",
                MODEL_TYPES.join(", ")
            ),
        ));
    }
    let int = |k: &str, lo: u64, hi: u64| required(file, obj, k, lo, hi);
    let layers = int("num_hidden_layers", 1, 4096)?;
    let hidden = int("hidden_size", 1, 1 << 20)?;
    let ffn = int("intermediate_size", 1, 1 << 22)?;
    let heads = int("num_attention_heads", 1, 4096)?;
    let kv_heads = optional(file, obj, "num_key_value_heads", 1, 4096)?.unwrap_or(heads);
    let vocab = int("vocab_size", 1, 1 << 24)?;
    let tied_embeddings = flag(file, obj, "tie_word_embeddings")?;
    if hidden % heads != 0 {
        return Err(Error::input(
            file,
            "num_attention_heads",
            format!("{heads} must divide hidden_size = {hidden}"),
        ));
    }
    if heads % kv_heads != 0 {
        return Err(Error::input(
            file,
            "num_key_value_heads",
            format!("{kv_heads} must divide num_attention_heads = {heads}"),
        ));
    }
    if let Some(d) = optional(file, obj, "head_dim", 1, 1 << 20)?
        && d != hidden / heads
    {
        return Err(Error::input(
            file,
            "head_dim",
            format!(
                "{d} differs from hidden_size / num_attention_heads = {}; query and output \
                 projections wider or narrower than the hidden size are not modelled",
                hidden / heads
            ),
        ));
    }
    if let Some(act) = obj.get("hidden_act").filter(|v| !v.is_null())
        && act.as_str() != Some("silu")
    {
        return Err(Error::input(
            file,
            "hidden_act",
            format!("only \"silu\" (the SwiGLU MLP of the LLaMA block) is modelled, found {act}"),
        ));
    }
    let qkv_bias = match model_type {
        "qwen2" => true,
        "llama" => {
            for k in ["attention_bias", "mlp_bias"] {
                if flag(file, obj, k)? {
                    return Err(Error::input(
                        file,
                        k,
                        "true: biases on the o projection or the MLP are not modelled",
                    ));
                }
            }
            false
        }
        _ => false,
    };
    let name = match obj.get("_name_or_path").and_then(Value::as_str) {
        Some(p) if !p.trim().is_empty() => p.trim_end_matches('/').rsplit('/').next().unwrap_or(p),
        _ => model_type,
    };
    Ok(ModelShape {
        name: name.to_string(),
        layers: layers as u32,
        hidden,
        ffn,
        heads,
        kv_heads,
        vocab,
        tied_embeddings,
        qkv_bias,
    })
}

/// The `config.json` text of `m` (Hugging Face key names; `model_type` `qwen2` when
/// `m` has q/k/v biases, else `llama`): what [`shape_from_json`] reads back as `m`.
pub fn to_json_string(m: &ModelShape) -> String {
    let v = serde_json::json!({
        "_name_or_path": m.name,
        "architectures": [if m.qkv_bias { "Qwen2ForCausalLM" } else { "LlamaForCausalLM" }],
        "model_type": if m.qkv_bias { "qwen2" } else { "llama" },
        "hidden_act": "silu",
        "num_hidden_layers": m.layers,
        "hidden_size": m.hidden,
        "intermediate_size": m.ffn,
        "num_attention_heads": m.heads,
        "num_key_value_heads": m.kv_heads,
        "head_dim": m.head_dim(),
        "vocab_size": m.vocab,
        "tie_word_embeddings": m.tied_embeddings,
    });
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}

fn optional(
    file: &str,
    obj: &Map<String, Value>,
    key: &str,
    lo: u64,
    hi: u64,
) -> Result<Option<u64>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64() {
            Some(n) if (lo..=hi).contains(&n) => Ok(Some(n)),
            _ => Err(Error::input(
                file,
                key,
                format!("{v} is out of range; expected an integer in [{lo}, {hi}]"),
            )),
        },
    }
}

fn required(file: &str, obj: &Map<String, Value>, key: &str, lo: u64, hi: u64) -> Result<u64> {
    optional(file, obj, key, lo, hi)?.ok_or_else(|| {
        Error::input(
            file,
            key,
            format!("missing; expected an integer in [{lo}, {hi}]"),
        )
    })
}

fn flag(file: &str, obj: &Map<String, Value>, key: &str) -> Result<bool> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(v) => Err(Error::input(
            file,
            key,
            format!("expected true or false, found {v}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape-relevant keys of published `config.json` files, as released (other keys
    /// trimmed).
    const LLAMA2_7B: &str = r#"{"_name_or_path": "meta-llama/Llama-2-7b-hf",
        "architectures": ["LlamaForCausalLM"], "hidden_act": "silu", "hidden_size": 4096,
        "intermediate_size": 11008, "model_type": "llama", "num_attention_heads": 32,
        "num_hidden_layers": 32, "num_key_value_heads": 32, "rope_scaling": null,
        "tie_word_embeddings": false, "vocab_size": 32000}"#;
    const MISTRAL_7B: &str = r#"{"architectures": ["MistralForCausalLM"],
        "hidden_act": "silu", "hidden_size": 4096, "intermediate_size": 14336,
        "model_type": "mistral", "num_attention_heads": 32, "num_hidden_layers": 32,
        "num_key_value_heads": 8, "sliding_window": 4096, "tie_word_embeddings": false,
        "vocab_size": 32000}"#;
    const QWEN25_7B: &str = r#"{"architectures": ["Qwen2ForCausalLM"],
        "hidden_act": "silu", "hidden_size": 3584, "intermediate_size": 18944,
        "model_type": "qwen2", "num_attention_heads": 28, "num_hidden_layers": 28,
        "num_key_value_heads": 4, "rope_scaling": null, "tie_word_embeddings": false,
        "vocab_size": 152064}"#;
    const SMOLLM2_135M: &str = r#"{"architectures": ["LlamaForCausalLM"],
        "head_dim": 64, "hidden_act": "silu", "hidden_size": 576,
        "intermediate_size": 1536, "model_type": "llama", "num_attention_heads": 9,
        "num_hidden_layers": 30, "num_key_value_heads": 3, "tie_word_embeddings": true,
        "vocab_size": 49152}"#;
    const LLAMA3_8B: &str = r#"{"hidden_act": "silu", "hidden_size": 4096,
        "intermediate_size": 14336, "model_type": "llama", "num_attention_heads": 32,
        "num_hidden_layers": 32, "num_key_value_heads": 8, "rope_theta": 500000.0,
        "tie_word_embeddings": false, "vocab_size": 128256}"#;

    fn same_dims(a: &ModelShape, b: &ModelShape) {
        let dims = |m: &ModelShape| {
            (
                m.layers,
                m.hidden,
                m.ffn,
                m.heads,
                m.kv_heads,
                m.vocab,
                m.tied_embeddings,
                m.qkv_bias,
            )
        };
        assert_eq!(dims(a), dims(b), "{} vs {}", a.name, b.name);
    }

    #[test]
    fn published_configs_give_the_presets() {
        for (text, preset) in [
            (LLAMA2_7B, "llama-2-7b"),
            (MISTRAL_7B, "mistral-7b"),
            (QWEN25_7B, "qwen2.5-7b"),
            (SMOLLM2_135M, "smollm2-135m"),
            (LLAMA3_8B, "llama-3-8b"),
        ] {
            let m = shape_from_json("config.json", text).unwrap();
            same_dims(&m, &ModelShape::preset(preset).unwrap());
        }
        let m = shape_from_json("config.json", LLAMA2_7B).unwrap();
        assert_eq!(m.name, "Llama-2-7b-hf");
        assert_eq!(
            shape_from_json("c.json", MISTRAL_7B).unwrap().name,
            "mistral"
        );
    }

    #[test]
    fn every_preset_round_trips_through_config_json() {
        for name in crate::model::PRESET_NAMES {
            let m = ModelShape::preset(name).unwrap();
            let back = shape_from_json("c.json", &to_json_string(&m)).unwrap();
            assert_eq!(back, m, "{name}");
        }
    }

    #[test]
    fn unknown_architectures_and_unmodelled_settings_are_named() {
        let e = shape_from_json("c.json", r#"{"model_type": "gpt2", "n_layer": 12}"#)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("c.json: model_type: `gpt2` is not a LLaMA-family decoder")
                && e.contains("llama, mistral, qwen2"),
            "{e}"
        );
        let e = shape_from_json("c.json", "[1]").unwrap_err().to_string();
        assert!(e.contains("expected a JSON object"), "{e}");
        let e = shape_from_json("c.json", &LLAMA2_7B.replace("\"hidden_size\": 4096,", ""))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("c.json: hidden_size: missing"), "{e}");
        let e = shape_from_json("c.json", &MISTRAL_7B.replace("\"silu\"", "\"gelu\""))
            .unwrap_err()
            .to_string();
        assert!(e.contains("hidden_act") && e.contains("gelu"), "{e}");
        let e = shape_from_json(
            "c.json",
            &LLAMA2_7B.replace("\"vocab_size\"", "\"head_dim\": 96, \"vocab_size\""),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("head_dim: 96 differs") && e.contains("= 128"),
            "{e}"
        );
        let e = shape_from_json(
            "c.json",
            &LLAMA2_7B.replace("\"vocab_size\"", "\"attention_bias\": true, \"vocab_size\""),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("attention_bias"), "{e}");
        let e = shape_from_json("c.json", &LLAMA2_7B.replace("32000", "-1"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("vocab_size: -1 is out of range"), "{e}");
        let e = shape_from_json(
            "c.json",
            &MISTRAL_7B.replace("\"num_key_value_heads\": 8", "\"num_key_value_heads\": 5"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("num_key_value_heads: 5 must divide"), "{e}");
    }
}
