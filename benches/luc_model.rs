//! Speed of the model side of the tensor engine (release build): the LLaMA forward,
//! per-layer sensitivity and policy-driven compression on the synthetic checkpoints.
//!
//! Targets (2-core machine): sensitivity of the `tiny` shape (8 layers, 10 x 128 tokens,
//! 4 bits + the 7 reference sparsities, SparseGPT) in <= 2 s; the `small` shape's forward
//! (12 layers, hidden 256) over 1,280 tokens in <= 0.5 s.

use criterion::{Criterion, criterion_group, criterion_main};
use edgesim::llm::forward::{Rope, decoder_layer_batch, embed_batch};
use edgesim::llm::synth::{SynthShape, synth};
use edgesim::llm::tokenizer::ByteTokenizer;
use edgesim::luc::compress::compress;
use edgesim::luc::prune::PruneMethod;
use edgesim::luc::sensitivity::{SensitivityOptions, measure};
use edgesim::policy::Policy;
use std::hint::black_box;
use std::time::Duration;

/// Ten 128-token samples of the shipped calibration text.
fn samples() -> Vec<Vec<u32>> {
    let text = include_str!("../data/calibration_text.txt");
    ByteTokenizer::encode(text)
        .chunks_exact(128)
        .take(10)
        .map(<[u32]>::to_vec)
        .collect()
}

fn forward_small(c: &mut Criterion) {
    let (ck, _) = synth(SynthShape::Small, 1);
    let smp = samples();
    let cfg = &ck.config;
    let rope = Rope::new(128, cfg.head_dim, cfg.rope_theta);
    c.bench_function("forward small, 12 layers x 1280 tokens", |b| {
        b.iter(|| {
            let (mut x, lens) = embed_batch(&ck, &smp, "bench").unwrap();
            for lw in &ck.weights.layers {
                x = decoder_layer_batch(cfg, lw, &rope, x.view(), &lens, false).0;
            }
            black_box(x)
        })
    });
}

fn sensitivity_tiny(c: &mut Criterion) {
    let (ck, _) = synth(SynthShape::Tiny, 7);
    let smp = samples();
    let opts = SensitivityOptions::default();
    c.bench_function("sensitivity tiny, 4 bits + 7 sparsities, sparsegpt", |b| {
        b.iter(|| black_box(measure(&ck, &smp, &opts, &|_| {}).unwrap()))
    });
}

fn compress_tiny(c: &mut Criterion) {
    let (ck, _) = synth(SynthShape::Tiny, 7);
    let smp = samples();
    let pol = Policy::uniform(ck.config.num_hidden_layers, 4, 0.5);
    c.bench_function("compress tiny, uniform 4 bit 50%, sparsegpt", |b| {
        b.iter(|| {
            black_box(compress(&ck, &pol, "bench", &smp, PruneMethod::SparseGpt, &|_| {}).unwrap())
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().without_plots().sample_size(10).measurement_time(Duration::from_secs(8));
    targets = forward_small, sensitivity_tiny, compress_tiny
}
criterion_main!(benches);
