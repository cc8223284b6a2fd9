//! The workload TOML: model, batch, tuning method and compression policy.
//!
//! ```toml
//! name = "llama7b_lora"                 # optional; default: the file stem
//! policy = "policy.toml"                # either a policy file (relative to this file) ...
//!
//! [model]
//! preset = "llama-7b"                   # or layers/hidden/ffn/heads/kv_heads/vocab,
//!                                       # or hf_config = "config.json" (relative to
//!                                       # this file; `model::hf_config`)
//!
//! [batch]
//! seq_len = 1280                        # tokens per sequence
//! micro_batch_size = 1                  # sequences per micro-batch
//! sequences_per_step = 16               # sequences per optimizer step (multiple of the above)
//! attention = "eager"                   # or "flash" (see workload::saved)
//! saved = "lean"                        # or "reference": what backward keeps (workload::saved)
//!
//! [method]
//! kind = "lora"                         # full | lora | partial | lst | edge-llm
//! rank = 8                              # lora, partial, edge-llm
//! alpha = 16.0
//! targets = ["q", "k", "v", "o", "gate", "up", "down"]
//! # partial:  last_layers = 8
//! # lst:      reduction = 8
//! # edge-llm: exits = [7, 15, 23, 31], window = 8, phase = 3,
//! #           skip_forward_beyond_exit = false, train_exit_heads = false
//!
//! [policy]                              # ... or an inline policy
//! kind = "uniform"                      # uniform | luc | random | random-draw | explicit
//! bits = 8
//! sparsity = 0.0
//! ```
//! Inline policy keys (`bits` is the target B, an integer in 2..=16): `uniform`: `bits`,
//! `sparsity` (default 0); `luc`: `sensitivity` (pruning CSV, relative to this file),
//! `quant_sensitivity` (optional), `bits`, `sparsity`, `eq2` (`code` | `paper`, default
//! code), `extra_bit_layers` (optional), `missing` (`mean` | `zero`, default mean);
//! `random` (Table 2's "Random": the LUC policy's layer settings in a seeded random layer
//! order, `policy::random_permutation`): the `luc` keys plus `seed` (default 0);
//! `random-draw` (freshly drawn settings, `policy::random_draw`): `bits`,
//! `extra_bit_layers` (default 0), `sparsity`, `seed` (default 0); `explicit`: the
//! policy-file keys. All kinds but `explicit` accept `a_bits` and `kv_bits` to override
//! the activation / KV bits (default: equal to the weight bits). Without a policy the
//! model is uncompressed (16-bit, dense).

use super::Attention;
use super::saved::Saved;
use super::source::Source;
use crate::error::Result;
use crate::model::{Linear, ModelShape};
use crate::policy::{
    Eq2, LucOptions, MAX_SPARSITY, MissingLayers, Policy, SensitivityKind, SensitivityTable,
};
use crate::toml_util::{self, Section};

/// Batch shape of one optimizer step.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Batch {
    /// Tokens per sequence.
    pub seq_len: u64,
    /// Sequences per micro-batch.
    pub micro_batch_size: u64,
    /// Sequences per optimizer step.
    pub sequences_per_step: u64,
    /// Attention implementation.
    pub attention: Attention,
    /// Which tensors backward keeps (`saved = "lean" | "reference"`, default `lean`; the
    /// Table 1 workloads set `reference`).
    pub saved: Saved,
}

/// LoRA settings.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Lora {
    /// Rank r.
    pub rank: u64,
    /// Scaling numerator alpha (the update is scaled by alpha / r; no cost effect).
    pub alpha: f64,
    /// Linears that get adapters.
    pub targets: Vec<Linear>,
}

/// Edge-LLM's windowed tuning with early exits.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EdgeLlm {
    /// LoRA on the window's layers.
    pub lora: Lora,
    /// Decoder layers after which an exit head sits (ascending).
    pub exits: Vec<u32>,
    /// Layers per window (ending at the active exit).
    pub window: u32,
    /// Index into `exits` of the active exit (training phase).
    pub phase: usize,
    /// Stop the forward at the active exit (the reference runs all layers).
    pub skip_forward_beyond_exit: bool,
    /// Train the active exit head's norm and LM head as well (default: frozen).
    pub train_exit_heads: bool,
}

impl EdgeLlm {
    /// The active exit layer.
    pub fn exit(&self) -> u32 {
        self.exits[self.phase]
    }

    /// First layer of the window.
    pub fn window_start(&self) -> u32 {
        self.exit() + 1 - self.window
    }
}

/// Tuning method.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Method {
    /// Every parameter trained (embedding, layers, norms, LM head).
    Full,
    /// LoRA adapters on every layer; backprop through all layers.
    Lora(Lora),
    /// LoRA on the last `last_layers` layers only; backprop only through them.
    Partial {
        /// Trainable layers at the top.
        last_layers: u32,
        /// Adapter settings.
        lora: Lora,
    },
    /// Ladder side tuning (see `workload::build` for the side network).
    Lst {
        /// Width reduction factor of the side network.
        reduction: u64,
    },
    /// Edge-LLM adaptive layer tuning.
    EdgeLlm(EdgeLlm),
}

impl Method {
    /// Name as in the workload file.
    pub fn name(&self) -> &'static str {
        match self {
            Method::Full => "full",
            Method::Lora(_) => "lora",
            Method::Partial { .. } => "partial",
            Method::Lst { .. } => "lst",
            Method::EdgeLlm(_) => "edge-llm",
        }
    }
}

pub(super) fn read_batch(s: &Section) -> Result<Batch> {
    let seq_len = s.u64_in("seq_len", 1, 1 << 20)?;
    let micro_batch_size = s.u64_or("micro_batch_size", 1, 1, 1 << 16)?;
    let sequences_per_step = s.u64_in("sequences_per_step", 1, 1 << 24)?;
    let attention = match s.choice_or("attention", "eager", &["eager", "flash"])? {
        "flash" => Attention::Flash,
        _ => Attention::Eager,
    };
    let saved = match s.choice_or("saved", "lean", &["lean", "reference"])? {
        "reference" => Saved::Reference,
        _ => Saved::Lean,
    };
    s.deny_unknown()?;
    if !sequences_per_step.is_multiple_of(micro_batch_size) {
        return Err(s.err(
            "sequences_per_step",
            format!(
                "{sequences_per_step} must be a multiple of micro_batch_size = {micro_batch_size}"
            ),
        ));
    }
    Ok(Batch {
        seq_len,
        micro_batch_size,
        sequences_per_step,
        attention,
        saved,
    })
}

fn read_lora(s: &Section) -> Result<Lora> {
    let rank = s.u64_or("rank", 8, 1, 1 << 16)?;
    let alpha = s.f64_or("alpha", 16.0, 0.0, 1e9)?;
    let targets = match s.raw("targets") {
        None => Linear::ALL.to_vec(),
        Some(toml::Value::Array(a)) => {
            let mut t = Vec::new();
            for (i, v) in a.iter().enumerate() {
                let l = v.as_str().and_then(Linear::from_name).ok_or_else(|| {
                    s.err(
                        &format!("targets[{i}]"),
                        format!("`{v}` is not one of q, k, v, o, gate, up, down"),
                    )
                })?;
                if !t.contains(&l) {
                    t.push(l);
                }
            }
            if t.is_empty() {
                return Err(s.err("targets", "must name at least one linear"));
            }
            t.sort();
            t
        }
        Some(_) => return Err(s.err("targets", "expected a list of linear names")),
    };
    Ok(Lora {
        rank,
        alpha,
        targets,
    })
}

pub(super) fn read_method(s: &Section, m: &ModelShape) -> Result<Method> {
    let kind = s.opt_choice("kind", &["full", "lora", "partial", "lst", "edge-llm"])?;
    let kind = kind.ok_or_else(|| {
        s.err(
            "kind",
            "missing; expected one of full, lora, partial, lst, edge-llm",
        )
    })?;
    let layers = m.layers as u64;
    let method = match kind {
        "full" => Method::Full,
        "lora" => Method::Lora(read_lora(s)?),
        "partial" => Method::Partial {
            last_layers: s.u64_or("last_layers", 8.min(layers), 1, layers)? as u32,
            lora: read_lora(s)?,
        },
        "lst" => {
            let r = s.u64_or("reduction", 8, 1, m.hidden)?;
            if !m.hidden.is_multiple_of(r) || !m.ffn.is_multiple_of(r) {
                return Err(s.err(
                    "reduction",
                    format!("{r} must divide hidden = {} and ffn = {}", m.hidden, m.ffn),
                ));
            }
            Method::Lst { reduction: r }
        }
        _ => {
            let lora = read_lora(s)?;
            let exits: Vec<u32> = match s.opt_f64_list("exits", 0.0, (layers - 1) as f64)? {
                Some(v) => {
                    let mut out = Vec::new();
                    for (i, x) in v.iter().enumerate() {
                        if x.fract() != 0.0 || out.last().is_some_and(|&p| *x as u32 <= p) {
                            return Err(s.err(
                                &format!("exits[{i}]"),
                                "exits must be strictly increasing integer layer indices",
                            ));
                        }
                        out.push(*x as u32);
                    }
                    if out.is_empty() {
                        return Err(s.err("exits", "must list at least one exit layer"));
                    }
                    out
                }
                None => {
                    // Reference: 4 exits splitting the layers evenly (7, 15, 23, 31 for 32).
                    if layers < 4 {
                        return Err(s.err(
                            "exits",
                            format!("the default 4 exits need at least 4 layers; the model has {layers}: list `exits`"),
                        ));
                    }
                    (1..=4).map(|i| (i * layers / 4 - 1) as u32).collect()
                }
            };
            let phase =
                s.u64_or("phase", exits.len() as u64 - 1, 0, exits.len() as u64 - 1)? as usize;
            let default_window = exits[0] + 1;
            let window =
                s.u64_or("window", default_window as u64, 1, exits[phase] as u64 + 1)? as u32;
            Method::EdgeLlm(EdgeLlm {
                lora,
                exits,
                window,
                phase,
                skip_forward_beyond_exit: s.opt_bool("skip_forward_beyond_exit")?.unwrap_or(false),
                train_exit_heads: s.opt_bool("train_exit_heads")?.unwrap_or(false),
            })
        }
    };
    s.deny_unknown()?;
    Ok(method)
}

/// Reads the `policy` key: a file path (string) or an inline table. Returns the policy
/// and any warnings (from LUC).
pub(super) fn read_policy(
    root: &Section,
    m: &ModelShape,
    src: &Source,
) -> Result<(Policy, Vec<String>)> {
    let layers = m.layers as usize;
    let (policy, warnings) = match root.raw("policy") {
        None => (
            Policy {
                provenance: "uncompressed (no policy given)".into(),
                ..Policy::uniform(layers, 16, 0.0)
            },
            vec![],
        ),
        Some(toml::Value::String(rel)) => {
            let (file, text) = src.read_key(root, "policy", rel)?;
            (Policy::from_toml_str(&file, &text)?, vec![])
        }
        Some(toml::Value::Table(_)) => {
            let s = root.section("policy")?;
            let out = read_inline_policy(&s, m, src)?;
            s.deny_unknown()?;
            out
        }
        Some(_) => {
            return Err(root.err(
                "policy",
                "expected a policy file path (string) or a [policy] table",
            ));
        }
    };
    if policy.layers.len() != layers {
        return Err(root.err(
            "policy",
            format!(
                "the policy has {} layers but the model has {layers}",
                policy.layers.len()
            ),
        ));
    }
    Ok((policy, warnings))
}

/// Policy kinds of an inline `[policy]` table.
const POLICY_KINDS: [&str; 5] = ["uniform", "luc", "random", "random-draw", "explicit"];

fn read_inline_policy(s: &Section, m: &ModelShape, src: &Source) -> Result<(Policy, Vec<String>)> {
    let kind = s.opt_choice("kind", &POLICY_KINDS)?.ok_or_else(|| {
        s.err(
            "kind",
            format!("missing; expected one of {}", POLICY_KINDS.join(", ")),
        )
    })?;
    let layers = m.layers as usize;
    if kind == "explicit" {
        return Ok((Policy::from_section(s)?, vec![]));
    }
    let bits = s.u64_in("bits", 2, 16)? as u32;
    let a_bits = s.opt_u64_in("a_bits", 1, 32)?.map(|x| x as u32);
    let kv_bits = s.opt_u64_in("kv_bits", 1, 32)?.map(|x| x as u32);
    let (policy, warnings) = match kind {
        "uniform" => (
            Policy::uniform(layers, bits, s.f64_or("sparsity", 0.0, 0.0, MAX_SPARSITY)?),
            vec![],
        ),
        "random-draw" => (
            crate::policy::random_draw(
                layers,
                bits,
                s.u64_or("extra_bit_layers", 0, 0, layers as u64)? as usize,
                s.f64_in("sparsity", 0.0, MAX_SPARSITY)?,
                s.u64_or("seed", 0, 0, u64::MAX >> 1)?,
            ),
            vec![],
        ),
        "random" => {
            let (luc, warnings) = read_luc(s, m, src, bits)?;
            let seed = s.u64_or("seed", 0, 0, u64::MAX >> 1)?;
            (crate::policy::random_permutation(&luc, seed), warnings)
        }
        _ => read_luc(s, m, src, bits)?,
    };
    Ok((policy.with_act_bits(a_bits, kv_bits), warnings))
}

/// The LUC policy of an inline `luc` or `random` table (target bits `bits` already read)
/// and LUC's warnings.
fn read_luc(s: &Section, m: &ModelShape, src: &Source, bits: u32) -> Result<(Policy, Vec<String>)> {
    let layers = m.layers as usize;
    let (pf, ptext) = src.read_key(s, "sensitivity", s.str("sensitivity")?)?;
    let prune = SensitivityTable::from_csv_str(&pf, &ptext, SensitivityKind::Pruning)?;
    let quant = match s.opt_str("quant_sensitivity")? {
        Some(rel) => {
            let (qf, qtext) = src.read_key(s, "quant_sensitivity", rel)?;
            Some(SensitivityTable::from_csv_str(
                &qf,
                &qtext,
                SensitivityKind::Quantization,
            )?)
        }
        None => None,
    };
    let mut o = LucOptions::new(bits, s.f64_in("sparsity", 0.0, MAX_SPARSITY)?);
    o.eq2 = Eq2::from_name(s.choice_or("eq2", "code", &["code", "paper"])?).unwrap_or(Eq2::Code);
    o.extra_bit_layers = s
        .opt_u64_in("extra_bit_layers", 0, layers as u64)?
        .map(|k| k as usize);
    o.missing = match s.choice_or("missing", "mean", &["mean", "zero"])? {
        "zero" => MissingLayers::Zero,
        _ => MissingLayers::Mean,
    };
    let out = crate::policy::luc(&prune, quant.as_ref(), m.layers, &o)?;
    Ok((out.policy, out.warnings))
}

/// Reads the model table, accepting `[model]` or a top-level `model = "preset"` string.
pub(super) fn read_model(root: &Section, src: &Source) -> Result<ModelShape> {
    match root.raw("model") {
        Some(toml::Value::String(p)) => ModelShape::preset(p).ok_or_else(|| {
            root.err(
                "model",
                format!(
                    "unknown preset `{p}`; allowed: {}",
                    crate::model::PRESET_NAMES.join(", ")
                ),
            )
        }),
        _ => {
            let s = root.section("model")?;
            ModelShape::from_section_with(&s, &|rel| src.read_key(&s, "hf_config", rel))
        }
    }
}

/// Parses the whole file.
pub(super) fn parse(file: &str, text: &str, src: &Source) -> Result<super::Workload> {
    let table = toml_util::parse(file, text)?;
    toml_util::expect_kind(file, &table, toml_util::FileKind::Workload)?;
    let root = Section::root(file, &table);
    let stem = std::path::Path::new(file)
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "workload".into());
    let name = root.opt_name("name")?.map(str::to_string).unwrap_or(stem);
    let model = read_model(&root, src)?;
    let batch = read_batch(&root.section("batch")?)?;
    let method = read_method(&root.section("method")?, &model)?;
    let (policy, warnings) = read_policy(&root, &model, src)?;
    root.deny_unknown()?;
    Ok(super::Workload {
        name,
        file: file.to_string(),
        model,
        batch,
        method,
        policy,
        warnings,
    })
}
