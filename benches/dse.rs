//! Design-space exploration throughput: sweep points per second with the full schedule
//! search on `llama7b_edge_llm_b5`, the time of a 1,000-point sweep (target: < 60 s on 2
//! cores), and the time of `edgesim repro`.
//!
//! `dse/expand_1e6_points`: lazy expansion and validation of every point of a
//! 1000 x 1000 spec (the work a sweep adds per point besides the search; memory stays
//! that of the value lists, see docs/dse.md for peak RSS figures).
//!
//! Run: `cargo bench --bench dse`. The 1,000-point sweep runs once (it is the target, not
//! a micro-benchmark) and prints its wall time and points/s.

use criterion::{Criterion, Throughput, criterion_group};
use edgesim::dse::{Shard, SweepSpec, evaluate, sweep};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Writes a spec of `n_sram x n_rate x n_rows` points around the paper accelerator.
fn spec(dir: &Path, sram: &[u32], rates: &[u32], rows: &[u32]) -> SweepSpec {
    let list = |v: &[u32]| {
        v.iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let text = format!(
        "base = \"{}\"\nworkloads = [\"{}\"]\n[sweep]\n\"sram.capacity_kib\" = [{}]\n\"dram.data_rate_mtps\" = [{}]\n\"compute.pe_rows\" = [{}]\n",
        root().join("hw_configs/edge_llm_paper.toml").display(),
        root().join("workloads/llama7b_edge_llm_b5.toml").display(),
        list(sram),
        list(rates),
        list(rows)
    );
    let p = dir.join("bench_sweep.toml");
    std::fs::write(&p, text).expect("temp spec");
    SweepSpec::from_file(&p).expect("valid bench spec")
}

fn run_sweep(s: &SweepSpec, w: &[sweep::NamedTrace]) -> usize {
    let opts = evaluate::options(None).expect("default options");
    let t = sweep::run(
        s,
        w,
        Shard::ALL,
        |hw, tr| evaluate::outcome(hw, tr, &opts),
        || (),
    )
    .expect("sweep runs");
    t.rows.len()
}

fn bench_sweep(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let small = spec(
        dir.path(),
        &[256, 512, 1024, 2048],
        &[1600, 3200],
        &[16, 32],
    );
    let w = evaluate::load_traces(&small.workloads).expect("workload loads");
    let mut g = c.benchmark_group("dse");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Elements(small.point_count as u64));
    g.bench_function("sweep_16_points_edge_llm_b5", |b| {
        b.iter(|| run_sweep(&small, &w))
    });
    g.finish();

    // The target: 1,000 points (10 SRAM sizes x 10 data rates x 10 array heights), once.
    let sram: Vec<u32> = (0..10)
        .map(|i| (128 << (i / 2)) | ((i % 2) * (64 << (i / 2))))
        .collect();
    let rates: Vec<u32> = (0..10).map(|i| 1600 + 300 * i).collect();
    let rows: Vec<u32> = (0..10).map(|i| 8 + 8 * i).collect();
    let big = spec(dir.path(), &sram, &rates, &rows);
    assert_eq!(big.point_count, 1000);
    let t0 = Instant::now();
    let n = run_sweep(&big, &w);
    let dt = t0.elapsed().as_secs_f64();
    println!(
        "dse/sweep_1000_points_edge_llm_b5: {n} points in {dt:.2} s = {:.1} points/s on {} threads (target < 60 s on 2 cores)",
        n as f64 / dt,
        rayon::current_num_threads()
    );
}

fn bench_expand(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let sram: Vec<u32> = (1..=1000).collect();
    let rates: Vec<u32> = (1000..2000).collect();
    let s = spec(dir.path(), &sram, &rates, &[32]);
    assert_eq!(s.point_count, 1_000_000);
    let mut g = c.benchmark_group("dse");
    g.sample_size(10).measurement_time(Duration::from_secs(30));
    g.throughput(Throughput::Elements(s.point_count as u64));
    g.bench_function("expand_1e6_points", |b| {
        b.iter(|| {
            let mut sram_sum = 0.0;
            for i in s.shard_indices(Shard::ALL) {
                sram_sum += s.point(i).expect("valid point").hw.sram.capacity_kib;
            }
            sram_sum
        })
    });
    g.finish();
}

fn bench_repro(c: &mut Criterion) {
    let mut g = c.benchmark_group("dse");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function("repro", |b| {
        b.iter(|| edgesim::cli::repro::compute(None).expect("repro computes"))
    });
    g.finish();
}

// No criterion plots: its plotters backend needs system fonts, which edge boxes and CI
// images often lack; the numbers are in the text output and target/criterion/.
criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = bench_sweep, bench_expand, bench_repro
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
