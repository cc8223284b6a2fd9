//! Speed of perplexity evaluation (release build) on the SmolLM2-135M shape: 30 layers,
//! hidden 576, MLP 1536, 9 heads / 3 KV heads of 64, vocabulary 49,152, tied head
//! (its `config.json`, HuggingFaceTB/SmolLM2-135M), at 128-token chunks.
//!
//! Benchmarks (criterion reports tokens/s as elements/s):
//! - `eval smollm2-135m shape, 8 x 128 tokens`: `perplexity` end to end (weight packing,
//!   forward, fused LM head + log-softmax) on synthetic weights of that shape;
//! - `pack smollm2-135m shape`: the one-off weight packing inside it;
//! - `eval smollm2-135m gguf, 8 x 128 tokens`: the same on the real model through
//!   `Checkpoint::load`, skipped with the reason printed when the file is missing or does
//!   not load.
//!
//! Target (idle 2-core machine): >= 500 tokens/s end to end, i.e. a 2,000-chunk
//! evaluation (256 k tokens) in under 9 minutes. Measured on a 2-core machine shared with
//! other builds (about one core available): 325 tokens/s, 275-330 tokens per CPU-second
//! (the previous forward, `forward::logits` + a separate log-softmax: 130-165).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use edgesim::llm::checkpoint::{Checkpoint, LlamaConfig};
use edgesim::llm::eval::perplexity;
use edgesim::llm::forward::PackedModel;
use edgesim::llm::synth::synth_config;
use std::hint::black_box;
use std::time::Duration;

const CHUNK: usize = 128;
const CHUNKS: usize = 8;

/// Token chunks spread over the vocabulary (ids `(7919 c + 104729 i) mod vocab`).
fn chunks(vocab: usize) -> Vec<Vec<u32>> {
    (0..CHUNKS)
        .map(|c| {
            (0..CHUNK)
                .map(|i| ((c * 7919 + i * 104729) % vocab) as u32)
                .collect()
        })
        .collect()
}

fn bench_eval(c: &mut Criterion, name: &str, ck: &Checkpoint) {
    let data = chunks(ck.config.vocab_size);
    let mut g = c.benchmark_group("llm_eval");
    g.throughput(Throughput::Elements((CHUNK * CHUNKS) as u64));
    g.bench_function(format!("eval {name}, {CHUNKS} x {CHUNK} tokens"), |b| {
        b.iter(|| black_box(perplexity(ck, &data, &|_| {}).unwrap()))
    });
    g.finish();
}

fn synthetic(c: &mut Criterion) {
    let (ck, _) = synth_config(LlamaConfig::smollm2_135m(), 1).unwrap();
    bench_eval(c, "smollm2-135m shape", &ck);
    c.bench_function("pack smollm2-135m shape", |b| {
        b.iter(|| black_box(PackedModel::new(&ck)))
    });
}

fn real(c: &mut Criterion) {
    let path = edgesim::data::data_dir()
        .join("smollm2")
        .join(edgesim::data::SMOLLM2_GGUF);
    match Checkpoint::load(&path) {
        Ok(ck) => bench_eval(c, "smollm2-135m gguf", &ck),
        Err(e) => eprintln!("skipping the real-model benchmark: {e}"),
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().without_plots().sample_size(10).measurement_time(Duration::from_secs(20));
    targets = synthetic, real
}
criterion_main!(benches);
