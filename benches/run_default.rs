//! The default `edgesim run` end to end (target < 2 s in release): load the embedded
//! hardware and the two embedded workloads, build their traces, search, render JSON.

use criterion::{Criterion, criterion_group, criterion_main};
use edgesim::cli::run::{load_traces, run_workloads};
use edgesim::cost::Mode;
use edgesim::hw::HwConfig;
use edgesim::report::run_report::run_json;
use std::hint::black_box;

fn default_run() -> String {
    let hw = HwConfig::paper_default();
    let traces = load_traces(&[]).expect("embedded workloads");
    let results = run_workloads(&hw, &traces, Mode::Paper);
    run_json(&results).to_string()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("run");
    g.sample_size(10);
    g.bench_function("default", |b| b.iter(|| black_box(default_run())));
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = bench
}
criterion_main!(benches);
