//! Model dimensions, presets and parameter counts.

use crate::error::Result;
use crate::toml_util::Section;

/// Names accepted by [`ModelShape::preset`].
pub const PRESET_NAMES: &[&str] = &[
    "llama-7b",
    "llama-13b",
    "tinyllama-1.1b",
    "smollm2-135m",
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
}

impl ModelShape {
    /// A named preset. Sources: LLaMA-7B/13B from Touvron et al. 2023 (Table 2) and the
    /// released `params.json`; TinyLlama-1.1B and SmolLM2-135M from their Hugging Face
    /// `config.json` (SmolLM2-135M: 30 layers, hidden 576, intermediate 1536, 9 heads,
    /// 3 KV heads, vocab 49152, as also read from the GGUF the real-model runs use).
    /// `tiny` (4 layers) and `tiny-8l` (8 layers, so that an Edge-LLM window of 2 layers
    /// and 4 exits fits) are small test shapes.
    pub fn preset(name: &str) -> Option<ModelShape> {
        let (layers, hidden, ffn, heads, kv_heads, vocab) = match name {
            "llama-7b" => (32, 4096, 11008, 32, 32, 32000),
            "llama-13b" => (40, 5120, 13824, 40, 40, 32000),
            "tinyllama-1.1b" => (22, 2048, 5632, 32, 4, 32000),
            "smollm2-135m" => (30, 576, 1536, 9, 3, 49152),
            "tiny" => (4, 64, 176, 4, 2, 256),
            "tiny-8l" => (8, 64, 176, 4, 2, 256),
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
        })
    }

    /// Reads the `[model]` table: either `preset = "llama-7b"` or all of `layers`,
    /// `hidden`, `ffn`, `heads`, `kv_heads` (default `heads`), `vocab` (+ optional `name`).
    /// `hidden` must be a multiple of `heads`, and `heads` a multiple of `kv_heads`.
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

    /// All parameters of one decoder layer: the seven linears plus two RMSNorm vectors.
    pub fn params_per_layer(&self) -> u64 {
        self.linear_params_per_layer() + 2 * self.hidden
    }

    /// Token-embedding parameters `vocab x hidden`.
    pub fn embedding_params(&self) -> u64 {
        self.vocab * self.hidden
    }

    /// LM-head parameters `hidden x vocab` (untied from the embedding, as in LLaMA).
    pub fn lm_head_params(&self) -> u64 {
        self.vocab * self.hidden
    }

    /// Total parameters: embedding + layers + final RMSNorm + LM head.
    pub fn total_params(&self) -> u64 {
        self.embedding_params()
            + self.layers as u64 * self.params_per_layer()
            + self.hidden
            + self.lm_head_params()
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
        // published "135M"; total_params counts the head separately (untied).
        let tied = 30 * m.params_per_layer() + 49_152 * 576 + 576;
        assert_eq!(tied, 134_515_008);
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
    }
}
