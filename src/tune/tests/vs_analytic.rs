//! The recorded Trace of a training micro-batch against the analytic Trace builder for the
//! same model, method and policy: GEMM FLOPs equal exactly, column by column; saved bytes
//! equal exactly (both count the tensors of `workload::saved` at its bit-widths under the
//! `lean` convention, and the engine keeps exactly those); stored weights differ only by what the engine shares.

use crate::llm::checkpoint::LlamaConfig;
use crate::llm::synth::synth_config;
use crate::model::Linear;
use crate::policy::Policy;
use crate::tune::recorded::trace_weights;
use crate::tune::{Base, LoraConfig, Method, Recorder, TraceMeta, Tuner, to_trace};
use crate::tune::{adapter_layers, plan, step_plan};
use crate::workload::{Pass, Trace, Workload};
use std::collections::BTreeMap;

const LAYERS: usize = 8;
const SEQ: usize = 16;

fn config() -> LlamaConfig {
    LlamaConfig {
        hidden_size: 32,
        intermediate_size: 48,
        num_hidden_layers: LAYERS,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        vocab_size: 64,
        rms_norm_eps: 1e-5,
        rope_theta: 10000.0,
        tie_word_embeddings: true,
        head_dim: 8,
    }
}

/// The recorded trace of the last step of a 40-step schedule of `method` (Edge-LLM: its
/// last phase), on a base compressed per `policy` (bits; the synthetic weights are dense,
/// so the measured sparsity is 0 and only FLOPs and saved bytes are compared).
fn recorded(method: &Method, policy: &Policy) -> Trace {
    let (ck, _) = synth_config(config(), 3).unwrap();
    let base = Base::<f32>::from_checkpoint(&ck, Some(policy)).unwrap();
    let lora = LoraConfig {
        rank: 4,
        alpha: 8.0,
        dropout: 0.1,
        targets: Linear::ALL.to_vec(),
    };
    let exits = plan::exits(method, LAYERS);
    let t = Tuner::new(base, lora, &adapter_layers(method, LAYERS), exits, false, 5).unwrap();
    let p = step_plan(method, LAYERS, 39, 40);
    let mut grads = t.adapters.zeros_like();
    let mut rec = Recorder::new(true);
    let ids: Vec<u32> = (0..=SEQ as u32).map(|i| (i * 7 + 3) % 64).collect();
    t.loss_and_grad(&ids, &p, Some(1), 1.0, &mut grads, &mut rec)
        .unwrap();
    let meta = TraceMeta {
        workload: "recorded".into(),
        model: "custom".into(),
        method: "x".into(),
        seq_len: SEQ as u64,
        sequences_per_step: 1,
        trainable_params: t.adapters.parameter_count() as u64,
    };
    to_trace(&rec, &trace_weights(&t, "custom"), &meta)
}

fn analytic(method_toml: &str, bits: u32) -> Trace {
    let toml = format!(
        "name = \"analytic\"\n[model]\nlayers = {LAYERS}\nhidden = 32\nffn = 48\nheads = 4\n\
         kv_heads = 2\nvocab = 64\n[batch]\nseq_len = {SEQ}\nmicro_batch_size = 1\n\
         sequences_per_step = 1\nattention = \"eager\"\nsaved = \"lean\"\n[method]\n{method_toml}\n\
         [policy]\nkind = \"uniform\"\nbits = {bits}\nsparsity = 0.0\n"
    );
    Workload::from_toml_str("analytic.toml", &toml)
        .unwrap()
        .trace()
        .unwrap()
}

/// Per column label: (GEMM FLOPs, saved bytes).
fn by_column(t: &Trace) -> BTreeMap<String, (f64, u64)> {
    t.entries
        .iter()
        .map(|e| (e.label.clone(), (e.gemm_flops(), e.saved_bytes)))
        .collect()
}

fn compare(method: Method, method_toml: &str, bits: u32) {
    let rec = recorded(&method, &Policy::uniform(LAYERS, bits, 0.0));
    let ana = analytic(method_toml, bits);
    let (r, a) = (by_column(&rec), by_column(&ana));
    assert_eq!(
        r.keys().collect::<Vec<_>>(),
        a.keys().collect::<Vec<_>>(),
        "{method_toml}: the same columns"
    );
    for (label, (rf, rs)) in &r {
        let (af, as_) = a[label];
        assert_eq!(*rf, af, "{method_toml}: GEMM FLOPs of {label}");
        assert_eq!(*rs, as_, "{method_toml}: saved bytes of {label}");
    }
    assert_eq!(rec.gemm_flops_per_sequence(), ana.gemm_flops_per_sequence());
    assert_eq!(
        rec.saved_bytes_per_sequence(),
        ana.saved_bytes_per_sequence()
    );
    // Trained state: the same adapters receive gradients.
    assert_eq!(
        rec.trainable_bytes(),
        ana.trainable_bytes(),
        "{method_toml}"
    );
    assert_eq!(rec.grad_bytes(), ana.grad_bytes(), "{method_toml}");
    // Every GEMM of a backward column carries the bits of its layer's policy.
    assert!(
        rec.entries
            .iter()
            .filter(|e| e.pass == Pass::Bwd)
            .flat_map(|e| &e.gemms)
            .all(|g| g.w_bits == bits || g.w_bits == 16)
    );
}

#[test]
fn lora_recorded_equals_analytic() {
    compare(Method::Lora, "kind = \"lora\"\nrank = 4\nalpha = 8.0", 4);
}

#[test]
fn partial_recorded_equals_analytic() {
    compare(
        Method::Partial { layers: 3 },
        "kind = \"partial\"\nrank = 4\nalpha = 8.0\nlast_layers = 3",
        5,
    );
}

#[test]
fn edge_llm_recorded_equals_analytic_with_and_without_the_wasted_forward() {
    for full in [false, true] {
        compare(
            Method::EdgeLlm {
                exits: vec![1, 3, 5, 7],
                window: 2,
                full_forward: full,
                train_exit_heads: false,
            },
            &format!(
                "kind = \"edge-llm\"\nrank = 4\nalpha = 8.0\nexits = [1, 3, 5, 7]\nwindow = 2\n\
                 phase = 3\nskip_forward_beyond_exit = {}",
                !full
            ),
            4,
        );
    }
    // A middle phase: recorded at step 15 of 40 (phase 1, exit 3, window 2-3).
    let m = Method::EdgeLlm {
        exits: vec![1, 3, 5, 7],
        window: 2,
        full_forward: true,
        train_exit_heads: false,
    };
    assert_eq!(step_plan(&m, LAYERS, 15, 40).exit, 1);
}
