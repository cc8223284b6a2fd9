//! The default `edgesim run` end to end (target < 2 s in release): load the embedded
//! hardware and the two embedded workloads, build their traces, search, render JSON.
//!
//! `run/search_layers/N`: the full schedule search of an N-layer LoRA model (SmolLM2
//! shape, 256-token sequences, 4 per step) on the paper accelerator, for N = 64 to 512:
//! the search's scaling in the layer count. The number of (block size, prefetch,
//! recomputation) combinations grows with N (one recomputation level per layer) and
//! every evaluation sums N-proportional rows, so the time grows as N^2 (see
//! ARCHITECTURE.md, "Search complexity"); 1024 and 4096 layers are timed with
//! `edgesim run` (docs there).

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use edgesim::cli::run::{load_traces, run_workloads};
use edgesim::cost::Mode;
use edgesim::hw::HwConfig;
use edgesim::report::run_report::run_json;
use edgesim::search::{SearchOptions, search};
use edgesim::workload::{Trace, Workload};
use std::hint::black_box;

fn default_run() -> String {
    let hw = HwConfig::paper_default();
    let traces = load_traces(&[]).expect("embedded workloads");
    let results = run_workloads(&hw, &traces, Mode::Paper);
    run_json(&results).to_string()
}

/// The trace of an N-layer model of SmolLM2-135M's layer shape with LoRA on every layer.
fn layered(layers: u32) -> Trace {
    let text = format!(
        "[model]\nlayers = {layers}\nhidden = 576\nffn = 1536\nheads = 9\nkv_heads = 3\nvocab = 49152\n\
         [batch]\nseq_len = 256\nmicro_batch_size = 1\nsequences_per_step = 4\n\
         [method]\nkind = \"lora\"\nrank = 8\n[policy]\nkind = \"uniform\"\nbits = 8\n"
    );
    Workload::from_toml_str("bench_layers.toml", &text)
        .and_then(|w| w.trace())
        .expect("valid layered workload")
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("run");
    g.sample_size(10);
    g.bench_function("default", |b| b.iter(|| black_box(default_run())));
    let hw = HwConfig::paper_default();
    let opts = SearchOptions::default();
    for layers in [64u32, 128, 256, 512] {
        let trace = layered(layers);
        g.bench_with_input(BenchmarkId::new("search_layers", layers), &trace, |b, t| {
            b.iter(|| black_box(search(&hw, t, &opts).best.is_some()))
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = bench
}
criterion_main!(benches);
