//! Speed of one LoRA training micro-batch against the evaluation forward, on SmolLM2-135M
//! (30 layers, hidden 576, MLP 1536, 9 heads / 3 KV heads of 64, vocabulary 49,152,
//! tied head) at 128 tokens: the real GGUF when fetched (`RealData::locate`), otherwise
//! synthetic weights of that shape.
//!
//! Benchmarks (criterion reports tokens/s as elements/s):
//! - `train step lora full depth, 128 tokens`: `Tuner::<f32>::loss_and_grad`, LoRA rank
//!   8 on all seven linears of every layer, dropout 0.1, backprop through all 30 layers,
//!   recorder on (what a training run does);
//! - `eval forward, 128 tokens`: `llm::eval::perplexity` on one 129-token chunk with the
//!   weights packed once (`PackedModel`), i.e. the forward alone.
//!
//! Target: the training micro-batch within 3x the forward's time per token (a frozen
//! layer's backward is one more product per weight plus attention; LoRA adds little).
//! Measured on the real GGUF, 2-core machine shared with other builds (load average 4-9),
//! release build: criterion wall time 0.35-0.41 s per forward, 1.12-1.59 s per training
//! micro-batch (3.2-3.9x, dominated by the load); the two interleaved in one process, CPU
//! time (`CLOCK_PROCESS_CPUTIME_ID`) over 5 iterations each: 1 thread 0.51 s vs 1.26 s
//! (2.5x; 251 vs 102 tokens per CPU-second), 2 threads 0.40 s vs 1.17 s CPU (2.9x), wall
//! 2.9x. On the machine idle: 295 ms per forward (434 tokens/s), 856 ms per training
//! micro-batch (150 tokens/s): 2.90x.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use edgesim::llm::checkpoint::{Checkpoint, LlamaConfig};
use edgesim::llm::forward::{
    PackedModel, Rope, decoder_layer_packed, embed, next_token_nll, rms_norm,
};
use edgesim::llm::synth::synth_config;
use edgesim::tune::{Base, LoraConfig, Recorder, StepPlan, Tuner};
use std::hint::black_box;
use std::time::Duration;

const T: usize = 128;

fn checkpoint() -> (Checkpoint, &'static str) {
    match edgesim::data::RealData::locate().and_then(|d| Checkpoint::load(&d.gguf)) {
        Ok(ck) => (ck, "smollm2-135m gguf"),
        Err(e) => {
            eprintln!("real model unavailable ({e}); using synthetic weights of its shape");
            (
                synth_config(LlamaConfig::smollm2_135m(), 1).unwrap().0,
                "smollm2-135m shape",
            )
        }
    }
}

/// `T + 1` ids spread over the vocabulary.
fn sample(vocab: usize) -> Vec<u32> {
    (0..=T)
        .map(|i| ((i * 104_729 + 7_919) % vocab) as u32)
        .collect()
}

fn bench(c: &mut Criterion) {
    let (ck, name) = checkpoint();
    let ids = sample(ck.config.vocab_size);
    let n = ck.config.num_hidden_layers;
    let mut g = c.benchmark_group("tune_step");
    g.throughput(Throughput::Elements(T as u64));

    // The evaluation forward on packed weights (the inner loop of `llm::eval`).
    let model = PackedModel::new(&ck);
    let cfg = &ck.config;
    let rope = Rope::new(T, cfg.head_dim, cfg.rope_theta);
    g.bench_function(format!("eval forward {name}, {T} tokens"), |b| {
        b.iter(|| {
            let mut x = embed(&ck, &ids[..T], "bench").unwrap();
            for layer in &model.layers {
                x = decoder_layer_packed(cfg, layer, &rope, x.view(), &[T], false).0;
            }
            let h = rms_norm(x.view(), ck.weights.norm.view(), cfg.rms_norm_eps);
            black_box(next_token_nll(h.view(), &model.head, &ids[1..]).unwrap())
        })
    });
    drop(model);

    let base = Base::<f32>::from_checkpoint(&ck, None).unwrap();
    drop(ck);
    let all: Vec<usize> = (0..n).collect();
    let tuner = Tuner::new(base, LoraConfig::default(), &all, vec![n - 1], false, 1).unwrap();
    let plan = StepPlan {
        exit: 0,
        backprop_from: 0,
        forward_to: n - 1,
    };
    let mut grads = tuner.adapters.zeros_like();
    let mut seed = 0;
    g.bench_function(
        format!("train step lora full depth {name}, {T} tokens"),
        |b| {
            b.iter(|| {
                seed += 1;
                let mut rec = Recorder::new(true);
                black_box(
                    tuner
                        .loss_and_grad(&ids, &plan, Some(seed), 1.0, &mut grads, &mut rec)
                        .unwrap(),
                )
            })
        },
    );
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().without_plots().sample_size(10).measurement_time(Duration::from_secs(15));
    targets = bench
}
criterion_main!(benches);
