//! Speed of loading GGUF checkpoints (release build): the real SmolLM2-135M file (Q4_1
//! linears, Q8_0 embedding; 134.5 M parameters dequantised to 538 MB of f32), skipped
//! with a printed reason when the real data is absent, and the synthetic `small` shape
//! (9.0 M parameters) written as F32 and as Q8_0.
//!
//! Target (2-core machine): the real file in <= 2 s.

use criterion::{Criterion, criterion_group, criterion_main};
use edgesim::data::{SMOLLM2_GGUF, data_dir};
use edgesim::llm::checkpoint::gguf::{self, GgmlDType};
use edgesim::llm::checkpoint::{Checkpoint, LlamaConfig};
use edgesim::llm::synth::synth_config;
use std::hint::black_box;
use std::time::Duration;

fn real(c: &mut Criterion) {
    let path = data_dir().join("smollm2").join(SMOLLM2_GGUF);
    if !path.is_file() {
        eprintln!(
            "skipping the real GGUF load: {} not found (bash scripts/fetch-real-data.sh)",
            path.display()
        );
        return;
    }
    c.bench_function("load SmolLM2-135M Q4_1 GGUF", |b| {
        b.iter(|| black_box(Checkpoint::load(&path).unwrap()))
    });
}

fn synthetic(c: &mut Criterion) {
    // The `small` shape with an MLP width of 704 (a multiple of Q8_0's 32-value block).
    let cfg = LlamaConfig {
        hidden_size: 256,
        intermediate_size: 704,
        num_hidden_layers: 12,
        num_attention_heads: 8,
        num_key_value_heads: 4,
        vocab_size: 512,
        rms_norm_eps: 1e-5,
        rope_theta: 10000.0,
        tie_word_embeddings: false,
        head_dim: 32,
    };
    let (ck, _) = synth_config(cfg, 1).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (label, dtype) in [("F32", GgmlDType::F32), ("Q8_0", GgmlDType::Q8_0)] {
        let path = dir.path().join(format!("small-{label}.gguf"));
        gguf::write(&ck, &path, dtype, 2048).unwrap();
        c.bench_function(&format!("load synthetic small {label} GGUF"), |b| {
            b.iter(|| black_box(Checkpoint::load(&path).unwrap()))
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().without_plots().sample_size(10).measurement_time(Duration::from_secs(10));
    targets = real, synthetic
}
criterion_main!(benches);
