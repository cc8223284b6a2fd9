//! Harnesses on the raw bytes of one input file each, as a user could hand it over.

use super::files::{put, repo_root, scratch};
use super::tokenizer_struct::{PROBE_TEXT, tiny_metadata};
use edgesim::dse::SweepSpec;
use edgesim::hw::HwConfig;
use edgesim::llm::checkpoint::{Checkpoint, LlamaConfig, gguf};
use edgesim::llm::tokenizer::{CalibFormat, Tokenizer, parse_calibration};
use edgesim::policy::{
    LucOptions, Policy, REFERENCE_SAMPLES, SensitivityKind, SensitivityTable, luc,
};
use edgesim::workload::{Trace, Workload};
use std::collections::HashMap;
use std::sync::OnceLock;

/// Largest Trace file (entries) the `trace_json` harness searches and simulates.
pub const DEEP_TRACE_ENTRIES: usize = 600;

/// The configuration of the seed checkpoints of the safetensors and GGUF corpora: one
/// layer, hidden 32 (a whole Q8_0 block), 2 heads of 16, 1 KV head, MLP 32, vocabulary 16.
pub fn tiny_config() -> LlamaConfig {
    LlamaConfig {
        hidden_size: 32,
        intermediate_size: 32,
        num_hidden_layers: 1,
        num_attention_heads: 2,
        num_key_value_heads: 1,
        vocab_size: 16,
        rms_norm_eps: 1e-5,
        rope_theta: 10000.0,
        tie_word_embeddings: false,
        head_dim: 16,
    }
}

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// Hardware TOML -> `HwConfig` (the derived peaks must be finite).
pub fn hw_toml(data: &[u8]) {
    let Some(t) = text(data) else { return };
    if let Ok(hw) = HwConfig::from_toml_str("hw_toml.toml", t) {
        assert!(hw.dram.peak_bytes_per_s().is_finite() && hw.clock_hz().is_finite());
    }
}

/// Workload TOML (relative paths against `workloads/`) -> `Workload` -> Trace, checked
/// as in `workload_struct`.
pub fn workload_toml(data: &[u8]) {
    let Some(t) = text(data) else { return };
    let file = repo_root().join("workloads/fuzz_raw.toml");
    let Ok(w) = Workload::from_toml_str(&file.display().to_string(), t) else {
        return;
    };
    if let Ok(trace) = w.trace() {
        super::workload_struct::check_trace(&trace, w.model.layers);
    }
}

/// Sweep spec (relative paths against `hw_configs/sweeps/`) -> `SweepSpec` (points are
/// lazy, so any point count loads in bounded memory) -> the first, middle and last
/// points' hardware, and the `--max-points` check.
pub fn sweep_spec(data: &[u8]) {
    let Some(t) = text(data) else { return };
    let file = repo_root().join("hw_configs/sweeps/fuzz_raw.toml");
    if let Ok(spec) = SweepSpec::from_toml_str(&file, t) {
        let n = spec.point_count;
        for i in [0, n / 2, n.saturating_sub(1)] {
            if i < n {
                let _ = spec.point(i);
            }
        }
        let _ = spec.check_max_points(1_000_000);
    }
}

/// Policy TOML -> `Policy`; a policy read must write back to text that reads back equal.
pub fn policy_toml(data: &[u8]) {
    let Some(t) = text(data) else { return };
    let Ok(p) = Policy::from_toml_str("policy_toml.toml", t) else {
        return;
    };
    assert!(p.avg_w_bits().is_finite() && p.mean_sparsity().is_finite());
    let back = Policy::from_toml_str("round-trip.toml", &p.to_toml_string())
        .unwrap_or_else(|e| panic!("a policy read does not read back: {e}"));
    assert_eq!(back, p, "policy TOML round trip changed the policy");
}

/// Sensitivity CSV, read as pruning and as quantisation sensitivity -> per-layer means
/// -> the LUC policy of a 32-layer model (bits and sparsity must be in range).
pub fn sensitivity_csv(data: &[u8]) {
    let Some(t) = text(data) else { return };
    let prune = SensitivityTable::from_csv_str("prune.csv", t, SensitivityKind::Pruning);
    let quant = SensitivityTable::from_csv_str("quant.csv", t, SensitivityKind::Quantization);
    for table in [&prune, &quant].into_iter().flatten() {
        if let Ok(means) = table.per_layer_mean(32, REFERENCE_SAMPLES) {
            assert!(means.iter().flatten().all(|m| m.is_finite()), "{means:?}");
        }
    }
    if let Ok(prune) = &prune {
        for bits in [2, 4, 16] {
            for sparsity in [0.0, 0.5, edgesim::policy::MAX_SPARSITY] {
                let Ok(out) = luc(
                    prune,
                    quant.as_ref().ok(),
                    32,
                    &LucOptions::new(bits, sparsity),
                ) else {
                    continue;
                };
                for l in &out.policy.layers {
                    assert!(
                        (1..=32).contains(&l.w_bits)
                            && (0.0..=edgesim::policy::MAX_SPARSITY).contains(&l.sparsity),
                        "LUC layer out of range: {l:?}"
                    );
                }
            }
        }
    }
}

/// Trace file JSON -> `Trace` (the file checks); a trace read must write back equal, and
/// a small one is searched, costed and simulated on the paper's hardware.
pub fn trace_json(data: &[u8]) {
    let Some(t) = text(data) else { return };
    let Ok(trace) = Trace::from_json_str("trace_json.json", t) else {
        return;
    };
    let back = Trace::from_json_str("round-trip.json", &trace.to_json_string())
        .unwrap_or_else(|e| panic!("a trace read does not read back: {e}"));
    assert_eq!(back, trace, "Trace JSON round trip changed the trace");
    if trace.entries.len() <= DEEP_TRACE_ENTRIES {
        super::deep::search_and_simulate(&HwConfig::paper_default(), &trace);
    }
}

/// `config.json` -> `LlamaConfig`; a configuration read must write back equal.
pub fn llama_config(data: &[u8]) {
    let Some(t) = text(data) else { return };
    if let Ok(c) = LlamaConfig::from_json_str("config.json", t) {
        let back = LlamaConfig::from_json_str("round-trip.json", &c.to_json_string())
            .unwrap_or_else(|e| panic!("a config read does not read back: {e}"));
        assert_eq!(back, c);
    }
}

/// `model.safetensors` (beside the `config.json` of [`tiny_config`]) -> `Checkpoint`.
pub fn safetensors(data: &[u8]) {
    let dir = scratch("safetensors");
    put(
        &dir,
        "config.json",
        tiny_config().to_json_string().as_bytes(),
    );
    put(&dir, "model.safetensors", data);
    if let Ok(c) = Checkpoint::load_dir(&dir) {
        c.check_shapes()
            .expect("a loaded checkpoint has the configured shapes");
    }
}

/// A `.gguf` file -> checkpoint (`gguf::load`) and the tokenizer in its metadata.
pub fn gguf(data: &[u8]) {
    let dir = scratch("gguf");
    let path = put(&dir, "model.gguf", data);
    if let Ok(g) = gguf::load(&path) {
        g.checkpoint
            .check_shapes()
            .expect("a loaded checkpoint has the configured shapes");
    }
    if let Ok(tok) = Tokenizer::from_gguf(&path)
        && let Ok(ids) = tok.encode(PROBE_TEXT)
    {
        let _ = tok.decode(&ids);
    }
}

/// `tokenizer.json` -> `Tokenizer`, which encodes and decodes a probe text.
pub fn tokenizer_json(data: &[u8]) {
    let dir = scratch("tokenizer_json");
    let path = put(&dir, "tokenizer.json", data);
    if let Ok(tok) = Tokenizer::from_file(&path) {
        let _ = tok.vocab_size();
        if let Ok(ids) = tok.encode(PROBE_TEXT) {
            let _ = tok.decode(&ids);
        }
    }
}

/// The tokenizer of the seed `tokenizer.json` (a byte-level BPE with specials).
fn tiny_tokenizer() -> &'static Tokenizer {
    static T: OnceLock<Tokenizer> = OnceLock::new();
    T.get_or_init(|| {
        let md: HashMap<_, _> = tiny_metadata().into_iter().collect();
        let t = edgesim::llm::tokenizer::gguf::from_metadata("tiny", &md).expect("tiny tokenizer");
        Tokenizer::Hf(Box::new(t))
    })
}

/// Header bytes of a `calib` input before the file text.
pub const CALIB_HEADER: usize = 5;

/// A calibration file. The first [`CALIB_HEADER`] bytes choose the reading: byte 0 the
/// format (`% 3`: auto, ids, text) and tokenizer (bit 2: the tiny BPE, else bytes), bytes
/// 1-2 `seq_len` (u16 LE), byte 3 `max_samples`, byte 4 the vocabulary (`256 << (b % 8)`
/// or, when b = 255, 0); the rest is the file.
pub fn calib(data: &[u8]) {
    if data.len() < CALIB_HEADER {
        return;
    }
    let (h, body) = data.split_at(CALIB_HEADER);
    let format = [CalibFormat::Auto, CalibFormat::Ids, CalibFormat::Text][usize::from(h[0] % 3)];
    let tok = if h[0] & 4 != 0 {
        tiny_tokenizer()
    } else {
        &Tokenizer::Bytes
    };
    let seq_len = usize::from(u16::from_le_bytes([h[1], h[2]]));
    let max_samples = usize::from(h[3]);
    let vocab = if h[4] == 255 {
        0
    } else {
        256usize << (h[4] % 8)
    };
    let text = String::from_utf8_lossy(body);
    if let Ok(c) = parse_calibration("calib.txt", &text, format, tok, vocab, seq_len, max_samples) {
        assert!(!c.samples.is_empty() && c.samples.len() <= max_samples);
        for s in &c.samples {
            assert!(s.len() <= seq_len && s.iter().all(|&id| (id as usize) < vocab));
        }
    }
}

/// `--schedule SPEC` text, read as the one-line form and as a `[schedule]` TOML table: an
/// accepted one-line schedule prints back as the same schedule; every accepted schedule
/// evaluates on the tiny LoRA workload to finite figures or a reason.
pub fn schedule_spec(data: &[u8]) {
    use edgesim::cost::{Mode, Schedule};
    use edgesim::search::{evaluate_given, schedule_spec::schedule_from_toml};
    static TINY: OnceLock<Trace> = OnceLock::new();
    let Some(t) = text(data) else { return };
    let mut accepted = Vec::new();
    if let Ok(s) = t.parse::<Schedule>() {
        assert_eq!(s.to_string().parse::<Schedule>().ok(), Some(s));
        accepted.push(s);
    }
    if let Ok(s) = schedule_from_toml("schedule_spec.toml", t) {
        accepted.push(s);
    }
    let trace = TINY.get_or_init(|| {
        Workload::from_file(&repo_root().join("workloads/tiny_lora.toml"))
            .and_then(|w| w.trace())
            .expect("workloads/tiny_lora.toml")
    });
    let hw = HwConfig::paper_default();
    for s in accepted {
        let r = evaluate_given(&hw, trace, &s, Mode::Paper);
        match r.best {
            Some(e) => assert!(
                e.seconds_per_iteration.is_finite()
                    && e.memory_bytes.is_finite()
                    && e.energy_joules.is_finite(),
                "{s}"
            ),
            None => assert!(r.reason.is_some(), "{s}"),
        }
    }
}
