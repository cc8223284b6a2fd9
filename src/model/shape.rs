//! Model dimensions, presets and parameter counts.
//!
//! Parameter counts follow the stored tensors of a Hugging Face checkpoint: per decoder
//! layer the seven linears, two RMSNorm weight vectors and, for Qwen2-style models, the
//! q/k/v biases; then the token embedding, the final RMSNorm and the LM head, which a
//! model with tied embeddings (SmolLM2) does not store: its head is the embedding matrix,
//! counted once.

use crate::error::Result;
use crate::toml_util::Section;

/// Names accepted by [`ModelShape::preset`].
pub const PRESET_NAMES: &[&str] = &[
    "llama-7b",
    "llama-13b",
    "llama-2-7b",
    "llama-2-13b",
    "llama-3-8b",
    "mistral-7b",
    "qwen2.5-7b",
    "tinyllama-1.1b",
    "smollm2-135m",
    "smollm2-360m",
    "smollm2-1.7b",
    "tiny",
    "tiny-8l",
];

/// Dimensions of a LLaMA-family decoder-only transformer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ModelShape {
    /// Preset name, or `custom`.
    pub name: String,
    /// Decoder layers.
    pub layers: u32,
    /// Hidden (model) dimension.
    pub hidden: u64,
    /// FFN intermediate dimension (gate/up outputs).
    pub ffn: u64,
    /// Query heads.
    pub heads: u64,
    /// Key/value heads (grouped-query attention when fewer than `heads`).
    pub kv_heads: u64,
    /// Vocabulary size.
    pub vocab: u64,
    /// The LM head is the token-embedding matrix (`tie_word_embeddings`): stored once.
    pub tied_embeddings: bool,
    /// The q, k and v projections carry a bias vector each (Qwen2; `attention_bias` of a
    /// LLaMA config): `hidden + 2 kv_dim` parameters per layer, counted in the totals.
    /// The Trace neither streams nor adds them (0.002% of a Qwen2.5-7B layer's weights).
    pub qkv_bias: bool,
}

impl ModelShape {
    /// A named preset, each from its published `config.json` (the Hugging Face model
    /// repository named below; sizes as released):
    /// - `llama-7b`, `llama-13b`: LLaMA (Touvron et al. 2023, Table 2, and the released
    ///   `params.json`); `llama-2-7b`, `llama-2-13b` have the same shapes
    ///   (huggingface.co/meta-llama/Llama-2-7b-hf/blob/main/config.json,
    ///   .../Llama-2-13b-hf/blob/main/config.json): 6.74 B and 13.0 B parameters.
    /// - `llama-3-8b`: huggingface.co/meta-llama/Meta-Llama-3-8B/blob/main/config.json
    ///   (8 K/V heads, vocabulary 128,256): 8.03 B.
    /// - `mistral-7b`: huggingface.co/mistralai/Mistral-7B-v0.1/blob/main/config.json
    ///   (sliding-window attention is not modelled: full causal attention): 7.24 B.
    /// - `qwen2.5-7b`: huggingface.co/Qwen/Qwen2.5-7B/blob/main/config.json (q/k/v
    ///   biases, untied head, vocabulary 152,064): 7.62 B (Hugging Face's count of the
    ///   safetensors, 7,615,616,512; the model card truncates it to 7.61 B).
    /// - `tinyllama-1.1b`: huggingface.co/TinyLlama/TinyLlama-1.1B-Chat-v1.0/blob/main/config.json: 1.10 B.
    /// - `smollm2-135m`, `smollm2-360m`, `smollm2-1.7b`:
    ///   huggingface.co/HuggingFaceTB/SmolLM2-135M/blob/main/config.json (and -360M,
    ///   -1.7B; tied embeddings): 134.5 M, 361.8 M, 1.71 B. SmolLM2-135M is also the GGUF
    ///   the real-model runs read.
    ///
    /// `tiny` (4 layers) and `tiny-8l` (8 layers, so that an Edge-LLM window of 2 layers
    /// and 4 exits fits) are small test shapes.
    pub fn preset(name: &str) -> Option<ModelShape> {
        // (layers, hidden, intermediate, heads, kv heads, vocab, tied, q/k/v bias)
        let (layers, hidden, ffn, heads, kv_heads, vocab, tied, bias) = match name {
            "llama-7b" | "llama-2-7b" => (32, 4096, 11008, 32, 32, 32000, false, false),
            "llama-13b" | "llama-2-13b" => (40, 5120, 13824, 40, 40, 32000, false, false),
            "llama-3-8b" => (32, 4096, 14336, 32, 8, 128256, false, false),
            "mistral-7b" => (32, 4096, 14336, 32, 8, 32000, false, false),
            "qwen2.5-7b" => (28, 3584, 18944, 28, 4, 152064, false, true),
            "tinyllama-1.1b" => (22, 2048, 5632, 32, 4, 32000, false, false),
            "smollm2-135m" => (30, 576, 1536, 9, 3, 49152, true, false),
            "smollm2-360m" => (32, 960, 2560, 15, 5, 49152, true, false),
            "smollm2-1.7b" => (24, 2048, 8192, 32, 32, 49152, true, false),
            "tiny" => (4, 64, 176, 4, 2, 256, false, false),
            "tiny-8l" => (8, 64, 176, 4, 2, 256, false, false),
            _ => return None,
        };
        Some(ModelShape {
            name: name.to_string(),
            layers,
            hidden,
            ffn,
            heads,
            kv_heads,
            vocab,
            tied_embeddings: tied,
            qkv_bias: bias,
        })
    }

    /// Reads the `[model]` table: either `preset = "llama-7b"`, or `hf_config =
    /// "config.json"` (a Hugging Face config, see [`super::hf_config`]; `read` gives the
    /// file's name and text for the path as written, relative to the workload file), or
    /// all of `layers`, `hidden`, `ffn`, `heads`, `kv_heads` (default `heads`), `vocab`,
    /// `tied_embeddings` (default false), `qkv_bias` (default false) (+ optional `name`).
    /// `hidden` must be a multiple of `heads`, and `heads` a multiple of `kv_heads`.
    pub fn from_section_with(
        s: &Section,
        read: &dyn Fn(&str) -> Result<(String, String)>,
    ) -> Result<ModelShape> {
        if s.has("hf_config") {
            let rel = s.str("hf_config")?;
            let name = s.opt_name("name")?;
            s.deny_unknown()?;
            let (file, text) = read(rel)?;
            let mut m = super::hf_config::shape_from_json(&file, &text)?;
            if let Some(n) = name {
                m.name = n.to_string();
            }
            return Ok(m);
        }
        Self::from_section(s)
    }

    /// [`ModelShape::from_section_with`] without `hf_config` (a preset or the keys).
    pub fn from_section(s: &Section) -> Result<ModelShape> {
        if let Some(p) = s.opt_choice("preset", PRESET_NAMES)? {
            s.deny_unknown()?;
            // opt_choice has validated the name.
            return ModelShape::preset(p).ok_or_else(|| s.err("preset", "unknown preset"));
        }
        let name = s.opt_str("name")?.unwrap_or("custom").to_string();
        let layers = s.u64_in("layers", 1, 4096)? as u32;
        let hidden = s.u64_in("hidden", 1, 1 << 20)?;
        let ffn = s.u64_in("ffn", 1, 1 << 22)?;
        let heads = s.u64_in("heads", 1, 4096)?;
        let kv_heads = s.u64_or("kv_heads", heads, 1, 4096)?;
        let vocab = s.u64_in("vocab", 1, 1 << 24)?;
        let tied_embeddings = s.opt_bool("tied_embeddings")?.unwrap_or(false);
        let qkv_bias = s.opt_bool("qkv_bias")?.unwrap_or(false);
        s.deny_unknown()?;
        if hidden % heads != 0 {
            return Err(s.err(
                "heads",
                format!("hidden = {hidden} must be a multiple of heads = {heads}"),
            ));
        }
        if heads % kv_heads != 0 || kv_heads > heads {
            return Err(s.err(
                "kv_heads",
                format!("must divide heads = {heads}; got {kv_heads}"),
            ));
        }
        Ok(ModelShape {
            name,
            layers,
            hidden,
            ffn,
            heads,
            kv_heads,
            vocab,
            tied_embeddings,
            qkv_bias,
        })
    }

    /// Per-head dimension `hidden / heads`.
    pub fn head_dim(&self) -> u64 {
        self.hidden / self.heads
    }

    /// Output width of the k and v projections, `kv_heads * head_dim`.
    pub fn kv_dim(&self) -> u64 {
        self.kv_heads * self.head_dim()
    }

    /// Weights of the seven linears of one decoder layer.
    pub fn linear_params_per_layer(&self) -> u64 {
        super::Linear::ALL.iter().map(|l| l.params(self)).sum()
    }

    /// Bias parameters of one decoder layer: `hidden + 2 kv_dim` (q, k, v) with
    /// [`ModelShape::qkv_bias`], else 0.
    pub fn bias_params_per_layer(&self) -> u64 {
        if self.qkv_bias {
            self.hidden + 2 * self.kv_dim()
        } else {
            0
        }
    }

    /// All parameters of one decoder layer: the seven linears, their biases (Qwen2) and
    /// two RMSNorm vectors.
    pub fn params_per_layer(&self) -> u64 {
        self.linear_params_per_layer() + self.bias_params_per_layer() + 2 * self.hidden
    }

    /// Token-embedding parameters `vocab x hidden`.
    pub fn embedding_params(&self) -> u64 {
        self.vocab * self.hidden
    }

    /// LM-head parameters `hidden x vocab` (the matrix an LM head multiplies by, tied or
    /// not).
    pub fn lm_head_params(&self) -> u64 {
        self.vocab * self.hidden
    }

    /// LM-head parameters stored apart from the embedding: 0 when tied.
    pub fn untied_lm_head_params(&self) -> u64 {
        if self.tied_embeddings {
            0
        } else {
            self.lm_head_params()
        }
    }

    /// Total stored parameters: embedding + layers + final RMSNorm + LM head, the head
    /// counted only when untied (a tied head is the embedding matrix).
    pub fn total_params(&self) -> u64 {
        self.embedding_params()
            + self.layers as u64 * self.params_per_layer()
            + self.hidden
            + self.untied_lm_head_params()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llama7b_parameter_counts_match_closed_form() {
        let m = ModelShape::preset("llama-7b").unwrap();
        // 4*4096^2 + 3*4096*11008 + 2*4096 = 67,108,864 + 135,266,304 + 8,192.
        assert_eq!(m.params_per_layer(), 202_383_360);
        // 32 * 202,383,360 + 2 * 32000 * 4096 + 4096 (final norm).
        assert_eq!(m.total_params(), 6_738_415_616);
        assert_eq!(m.head_dim(), 128);
    }

    #[test]
    fn llama13b_is_13_billion() {
        let m = ModelShape::preset("llama-13b").unwrap();
        // 4*5120^2 + 3*5120*13824 + 2*5120 = 104,857,600 + 212,336,640 + 10,240.
        assert_eq!(m.params_per_layer(), 317_204_480);
        // 40 layers + 2 * 32000 * 5120 + 5120: 13.0e9, the published size.
        assert_eq!(m.total_params(), 13_015_864_320);
    }

    #[test]
    fn gqa_shrinks_kv_projections() {
        let m = ModelShape::preset("tinyllama-1.1b").unwrap();
        assert_eq!(m.head_dim(), 64);
        assert_eq!(m.kv_dim(), 256);
        // 2*2048^2 (q,o) + 2*2048*256 (k,v) + 3*2048*5632 (gate,up,down).
        assert_eq!(
            m.linear_params_per_layer(),
            8_388_608 + 1_048_576 + 34_603_008
        );
        // TinyLlama-1.1B is published as 1.1e9 parameters.
        let total = m.total_params() as f64;
        assert!((1.0e9..1.2e9).contains(&total), "{total}");
    }

    #[test]
    fn smollm2_135m_layer() {
        let m = ModelShape::preset("smollm2-135m").unwrap();
        assert_eq!(m.head_dim(), 64);
        assert_eq!(m.kv_dim(), 192);
        // 2*576^2 (q,o) + 2*576*192 (k,v) + 3*576*1536 (gate,up,down) + 2*576 (norms).
        assert_eq!(m.params_per_layer(), 663_552 + 221_184 + 2_654_208 + 1_152);
        // 30 layers + one tied 49152 x 576 embedding + final norm = 134,515,008, the
        // published "135M" (134.5 M): the tied head is not counted twice.
        let tied = 30 * m.params_per_layer() + 49_152 * 576 + 576;
        assert_eq!(tied, 134_515_008);
        assert_eq!(m.total_params(), 134_515_008);
        let untied = ModelShape {
            tied_embeddings: false,
            ..m.clone()
        };
        assert_eq!(untied.total_params(), 134_515_008 + 49_152 * 576);
    }

    /// Totals by hand from each published `config.json` (per layer: 2 h^2 for q, o;
    /// 2 h kv for k, v; 3 h f for the MLP; 2 h of norms; Qwen2 adds h + 2 kv of biases;
    /// then V h for the embedding, h for the final norm and V h for an untied head),
    /// against the totals the model cards publish, to their printed digits.
    #[test]
    fn preset_totals_match_the_published_sizes() {
        let per_layer = |h: u64, kv: u64, f: u64, bias: bool| {
            2 * h * h + 2 * h * kv + 3 * h * f + 2 * h + if bias { h + 2 * kv } else { 0 }
        };
        let total = |l: u64, h: u64, kv: u64, f: u64, v: u64, tied: bool, bias: bool| {
            l * per_layer(h, kv, f, bias) + v * h + h + if tied { 0 } else { v * h }
        };
        // (preset, hand total, published size, its unit, its decimals)
        let cases = [
            (
                "llama-2-7b",
                total(32, 4096, 4096, 11008, 32000, false, false),
                6.74,
                1e9,
                2,
            ),
            (
                "llama-2-13b",
                total(40, 5120, 5120, 13824, 32000, false, false),
                13.0,
                1e9,
                1,
            ),
            (
                "llama-3-8b",
                total(32, 4096, 1024, 14336, 128256, false, false),
                8.03,
                1e9,
                2,
            ),
            (
                "mistral-7b",
                total(32, 4096, 1024, 14336, 32000, false, false),
                7.24,
                1e9,
                2,
            ),
            (
                "qwen2.5-7b",
                total(28, 3584, 512, 18944, 152064, false, true),
                7.62,
                1e9,
                2,
            ),
            (
                "tinyllama-1.1b",
                total(22, 2048, 256, 5632, 32000, false, false),
                1.10,
                1e9,
                2,
            ),
            (
                "smollm2-135m",
                total(30, 576, 192, 1536, 49152, true, false),
                134.5,
                1e6,
                1,
            ),
            (
                "smollm2-360m",
                total(32, 960, 320, 2560, 49152, true, false),
                361.8,
                1e6,
                1,
            ),
            (
                "smollm2-1.7b",
                total(24, 2048, 2048, 8192, 49152, true, false),
                1.71,
                1e9,
                2,
            ),
        ];
        for (name, hand, published, unit, decimals) in cases {
            let m = ModelShape::preset(name).unwrap();
            assert_eq!(m.total_params(), hand, "{name}");
            let scale = 10f64.powi(decimals);
            let shown = (hand as f64 / unit * scale).round() / scale;
            assert_eq!(shown, published, "{name}: {hand}");
        }
        // Exact totals of the safetensors files as Hugging Face lists them.
        assert_eq!(
            ModelShape::preset("qwen2.5-7b").unwrap().total_params(),
            7_615_616_512
        );
        assert_eq!(
            ModelShape::preset("mistral-7b").unwrap().total_params(),
            7_241_732_096
        );
        assert_eq!(
            ModelShape::preset("llama-3-8b").unwrap().total_params(),
            8_030_261_248
        );
        // Qwen2's biases: h + 2 kv = 3584 + 1024 per layer.
        assert_eq!(
            ModelShape::preset("qwen2.5-7b")
                .unwrap()
                .bias_params_per_layer(),
            4608
        );
    }

    #[test]
    fn old_preset_names_keep_their_shapes() {
        let a = ModelShape::preset("llama-7b").unwrap();
        let b = ModelShape::preset("llama-2-7b").unwrap();
        assert_eq!(
            (a.layers, a.hidden, a.ffn, a.total_params()),
            (b.layers, b.hidden, b.ffn, b.total_params())
        );
        for n in PRESET_NAMES {
            assert!(ModelShape::preset(n).is_some(), "{n}");
        }
    }

    /// The error message of loading the `[model]` table of workload text `text`.
    fn model_table_error(text: &str) -> String {
        let t = crate::toml_util::parse("w.toml", text).unwrap();
        let root = Section::root("w.toml", &t);
        ModelShape::from_section(&root.section("model").unwrap())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn custom_table_is_validated() {
        let e =
            model_table_error("[model]\nlayers = 2\nhidden = 60\nffn = 8\nheads = 7\nvocab = 10\n");
        assert!(e.contains("model.heads"), "{e}");
        let e =
            model_table_error("[model]\nlayers = 0\nhidden = 64\nffn = 8\nheads = 4\nvocab = 10\n");
        assert!(e.contains("model.layers") && e.contains("[1, 4096]"), "{e}");
        let e = model_table_error("[model]\npreset = \"llama-70x\"\n");
        assert!(e.contains("llama-7b"), "{e}");
        // With hf_config, the dimension keys are unknown (the config gives them).
        let t = crate::toml_util::parse("w.toml", "[model]\nhf_config = \"c.json\"\nlayers = 2\n")
            .unwrap();
        let root = Section::root("w.toml", &t);
        let e = ModelShape::from_section_with(&root.section("model").unwrap(), &|_| {
            unreachable!("not read after an unknown key")
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("model.layers: unknown key"), "{e}");
    }
}
