//! Structure-aware workload files: model (preset or custom shape), batch, each tuning
//! method with its keys, and each inline policy kind, every key with a boundary value
//! (see [`super::values`]). A valid workload is built into its Trace, which must pass
//! the Trace file checks and survive a JSON round trip; a small one (at most
//! [`DEEP_LAYERS`] layers) then goes through the search, the cost model and a few
//! simulator steps on the paper's hardware.

use super::deep;
use super::values::{Kind, list, maybe_unknown, set, set_all, value};
use arbitrary::Unstructured;
use edgesim::hw::HwConfig;
use edgesim::workload::{Trace, Workload};
use std::sync::OnceLock;
use toml::{Table, Value};

/// Largest model (decoder layers) searched and simulated; larger ones are only built.
pub const DEEP_LAYERS: u32 = 64;

const PRESETS: &[&str] = &["tiny", "tiny-8l", "tinyllama-1.1b", "llama-7b", "llama-13b"];
const LINEARS: &[&str] = &["q", "k", "v", "o", "gate", "up", "down"];
const MAX_SPARSITY: f64 = edgesim::policy::MAX_SPARSITY;

const SHAPE_KEYS: &[(&str, Kind)] = &[
    ("layers", Kind::Int(1, 4096, 4)),
    ("hidden", Kind::Int(1, 1 << 20, 64)),
    ("ffn", Kind::Int(1, 1 << 22, 176)),
    ("heads", Kind::Int(1, 4096, 4)),
    ("kv_heads", Kind::Int(1, 4096, 2)),
    ("vocab", Kind::Int(1, 1 << 24, 256)),
];

const BATCH_KEYS: &[(&str, Kind)] = &[
    ("seq_len", Kind::Int(1, 1 << 20, 16)),
    ("micro_batch_size", Kind::Int(1, 1 << 16, 2)),
    ("sequences_per_step", Kind::Int(1, 1 << 24, 4)),
    ("attention", Kind::Choice(&["eager", "flash"])),
];

const LORA_KEYS: &[(&str, Kind)] = &[
    ("rank", Kind::Int(1, 1 << 16, 4)),
    ("alpha", Kind::Float(0.0, 1e9, 16.0)),
];

/// Sensitivity CSVs shipped in `data/` (paths relative to `workloads/`).
const PRUNING_CSV: &[&str] = &[
    "../data/smollm2/pruning_mse.csv",
    "../data/llama7b_layerwise_pruning_mse.csv",
    "../data/smollm2/quant_mse.csv",
    "missing.csv",
];

/// Layers of the model the table describes (presets by name), for list lengths.
fn layers_of(model: &Value) -> i64 {
    match model {
        Value::Table(t) => match t.get("preset").and_then(Value::as_str) {
            Some("tiny") => 4,
            Some("tiny-8l") => 8,
            Some("tinyllama-1.1b") => 22,
            Some("llama-7b") => 32,
            Some("llama-13b") => 40,
            _ => t.get("layers").and_then(Value::as_integer).unwrap_or(4),
        },
        _ => 4,
    }
}

fn model(u: &mut Unstructured) -> arbitrary::Result<Value> {
    let mut t = Table::new();
    if u.int_in_range(0u8..=3)? < 2 {
        set(u, &mut t, "preset", Kind::Choice(PRESETS))?;
    } else {
        set_all(u, &mut t, SHAPE_KEYS)?;
    }
    maybe_unknown(u, &mut t)?;
    Ok(Value::Table(t))
}

fn lora(u: &mut Unstructured, t: &mut Table) -> arbitrary::Result<()> {
    set_all(u, t, LORA_KEYS)?;
    if u.int_in_range(0u8..=3)? == 3 {
        let n = u.int_in_range(0..=8)?;
        t.insert("targets".into(), list(u, n, Kind::Choice(LINEARS))?);
    }
    Ok(())
}

fn method(u: &mut Unstructured, layers: i64) -> arbitrary::Result<Value> {
    let mut t = Table::new();
    let kind = *u.choose(&["lora", "edge-llm", "partial", "lst", "full"])?;
    if u.int_in_range(0u8..=63)? == 63 {
        set(u, &mut t, "kind", Kind::Choice(&["lora"]))?;
    } else {
        t.insert("kind".into(), Value::String(kind.into()));
    }
    match kind {
        "lora" => lora(u, &mut t)?,
        "partial" => {
            set(
                u,
                &mut t,
                "last_layers",
                Kind::Int(1, layers, layers.min(2)),
            )?;
            lora(u, &mut t)?;
        }
        "lst" => set(u, &mut t, "reduction", Kind::Int(1, 1 << 20, 8))?,
        "edge-llm" => {
            lora(u, &mut t)?;
            if u.int_in_range(0u8..=1)? == 1 {
                // Exits: strictly increasing from a start, with boundary steps.
                let n = u.int_in_range(1..=6)?;
                let mut exits = Vec::new();
                let mut at: i64 = u.int_in_range(-1..=2)?;
                for _ in 0..n {
                    exits.push(Value::Integer(at.min(layers)));
                    at += u.int_in_range(0..=layers.max(1))?;
                }
                t.insert("exits".into(), Value::Array(exits));
            }
            set(u, &mut t, "window", Kind::Int(1, layers, 2))?;
            set(u, &mut t, "phase", Kind::Int(0, 5, 1))?;
            set(u, &mut t, "skip_forward_beyond_exit", Kind::Bool)?;
            set(u, &mut t, "train_exit_heads", Kind::Bool)?;
        }
        _ => {}
    }
    maybe_unknown(u, &mut t)?;
    Ok(Value::Table(t))
}

fn policy(u: &mut Unstructured, layers: i64) -> arbitrary::Result<Option<Value>> {
    let kind = *u.choose(&[
        "none",
        "uniform",
        "random-draw",
        "luc",
        "random",
        "explicit",
    ])?;
    if kind == "none" {
        return Ok(None);
    }
    let mut t = Table::new();
    t.insert("kind".into(), Value::String(kind.into()));
    let bits = Kind::Int(2, 16, 4);
    let act_bits = Kind::Int(1, 32, 8);
    match kind {
        "uniform" => {
            set(u, &mut t, "bits", bits)?;
            set(u, &mut t, "sparsity", Kind::Float(0.0, MAX_SPARSITY, 0.5))?;
        }
        "random-draw" => {
            set(u, &mut t, "bits", bits)?;
            set(u, &mut t, "extra_bit_layers", Kind::Int(0, layers, 1))?;
            set(u, &mut t, "sparsity", Kind::Float(0.0, MAX_SPARSITY, 0.5))?;
            set(u, &mut t, "seed", Kind::Int(0, i64::MAX, 7))?;
        }
        "luc" | "random" => {
            let csv = *u.choose(PRUNING_CSV)?;
            t.insert("sensitivity".into(), Value::String(csv.into()));
            if u.int_in_range(0u8..=1)? == 1 {
                let q = *u.choose(&[
                    "../data/smollm2/quant_mse.csv",
                    "../data/smollm2/pruning_mse.csv",
                ])?;
                t.insert("quant_sensitivity".into(), Value::String(q.into()));
            }
            set(u, &mut t, "bits", bits)?;
            set(u, &mut t, "sparsity", Kind::Float(0.0, MAX_SPARSITY, 0.5))?;
            set(u, &mut t, "eq2", Kind::Choice(&["code", "paper"]))?;
            if u.int_in_range(0u8..=1)? == 1 {
                set(u, &mut t, "extra_bit_layers", Kind::Int(0, layers, 1))?;
            }
            set(u, &mut t, "missing", Kind::Choice(&["mean", "zero"]))?;
            if kind == "random" {
                set(u, &mut t, "seed", Kind::Int(0, i64::MAX, 3))?;
            }
        }
        _ => {
            // explicit: one entry per layer (sometimes one more or one fewer).
            let n: i64 = layers + i64::from(u.int_in_range(0u8..=15)?.saturating_sub(13))
                - i64::from(u.int_in_range(0u8..=15)? == 15);
            let n = n.clamp(0, 4096) as usize;
            t.insert("layers".into(), Value::Integer(layers));
            t.insert("w_bits".into(), list(u, n, Kind::Int(1, 32, 4))?);
            if u.int_in_range(0u8..=1)? == 1 {
                t.insert("a_bits".into(), list(u, n, Kind::Int(1, 32, 8))?);
            }
            t.insert(
                "sparsity".into(),
                list(u, n, Kind::Float(0.0, MAX_SPARSITY, 0.5))?,
            );
        }
    }
    if kind != "explicit" {
        set(u, &mut t, "a_bits", act_bits)?;
        set(u, &mut t, "kv_bits", act_bits)?;
    }
    maybe_unknown(u, &mut t)?;
    Ok(Some(Value::Table(t)))
}

/// The workload text the bytes describe.
pub fn workload_text(u: &mut Unstructured) -> arbitrary::Result<String> {
    let mut root = Table::new();
    if let Some(v) = value(u, Kind::Choice(&["fuzz"]))? {
        root.insert("name".into(), v);
    }
    let m = model(u)?;
    let layers = layers_of(&m).clamp(1, 4096);
    root.insert("model".into(), m);
    let mut b = Table::new();
    set_all(u, &mut b, BATCH_KEYS)?;
    maybe_unknown(u, &mut b)?;
    root.insert("batch".into(), Value::Table(b));
    root.insert("method".into(), method(u, layers)?);
    if let Some(p) = policy(u, layers)? {
        root.insert("policy".into(), p);
    }
    maybe_unknown(u, &mut root)?;
    Ok(toml::to_string(&root).expect("a TOML table serialises"))
}

fn paper_hw() -> &'static HwConfig {
    static HW: OnceLock<HwConfig> = OnceLock::new();
    HW.get_or_init(HwConfig::paper_default)
}

/// Checks a built trace: it passes the Trace file checks; a small one's JSON reads back
/// equal, and it is searched and simulated.
pub fn check_trace(trace: &Trace, layers: u32) {
    if let Err(e) = trace.validate("built") {
        panic!("the builder's trace fails the Trace file checks: {e}");
    }
    // A large model's Trace file is large (4096 layers: 87 MB of JSON), so only a small
    // one makes the round trip.
    if layers > DEEP_LAYERS {
        return;
    }
    let back = Trace::from_json_str("round-trip.json", &trace.to_json_string())
        .unwrap_or_else(|e| panic!("the builder's trace does not read back: {e}"));
    assert_eq!(&back, trace, "Trace JSON round trip changed the trace");
    deep::search_and_simulate(paper_hw(), trace);
}

/// Harness: generated workload file -> reader -> trace builder -> search, cost model,
/// simulator.
pub fn workload_struct(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(text) = workload_text(&mut u) else {
        return;
    };
    // Relative paths resolve against `workloads/`, where the shipped files live.
    let file = super::files::repo_root().join("workloads/fuzz_struct.toml");
    let Ok(w) = Workload::from_toml_str(&file.display().to_string(), &text) else {
        return;
    };
    if let Ok(trace) = w.trace() {
        check_trace(&trace, w.model.layers);
    }
}
