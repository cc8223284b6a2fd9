//! Analytic evaluations per second: the closed-form cost model over candidate schedules
//! (every placement on the 5% grid for every (block size, prefetch, recomputation)
//! combination of the default LoRA workload), in parallel, as the search's inner loop
//! runs it. Target: >= 1e6 candidate schedules/s on 2 cores.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use edgesim::cost::{Mode, Model, Placement, Table};
use edgesim::hw::HwConfig;
use edgesim::workload::Workload;
use rayon::prelude::*;
use std::hint::black_box;
use std::time::Instant;

fn tables(model: &Model) -> Vec<Table> {
    let mut v = Vec::new();
    for &s in model.block_sequences() {
        for prefetch in [false, true] {
            for k in [0u32, 4, 16] {
                v.push(model.table(s, prefetch, k).expect("valid combination"));
            }
        }
    }
    v
}

fn placements() -> Vec<Placement> {
    let g: Vec<f64> = (0..=20).map(|i| i as f64 * 0.05).collect();
    let mut v = Vec::with_capacity(g.len().pow(3));
    for &w in &g {
        for &s in &g {
            for &o in &g {
                v.push(Placement {
                    weights_on_ssd: w,
                    saved_on_ssd: s,
                    optimizer_on_ssd: o,
                });
            }
        }
    }
    v
}

/// Evaluates every (table, placement) pair: time and feasibility of each candidate.
fn sweep(tables: &[Table], ps: &[Placement], mode: Mode) -> f64 {
    tables
        .par_iter()
        .map(|t| {
            let mut acc = 0.0;
            for p in ps {
                let secs = t.seconds(mode, p);
                acc += if t.feasible(p) { secs } else { 0.0 };
            }
            acc
        })
        .sum()
}

fn bench(c: &mut Criterion) {
    let hw = HwConfig::paper_default();
    let trace = Workload::embedded("llama7b_lora")
        .and_then(|w| w.trace())
        .expect("embedded workload");
    let model = Model::new(&hw, &trace).expect("model");
    let ts = tables(&model);
    let ps = placements();
    let n = (ts.len() * ps.len()) as u64;

    // A plain wall-clock figure, printed for the report.
    let start = Instant::now();
    let mut reps = 0u64;
    while start.elapsed().as_secs_f64() < 2.0 {
        black_box(sweep(&ts, &ps, Mode::Paper));
        reps += 1;
    }
    let rate = (reps * n) as f64 / start.elapsed().as_secs_f64();
    println!(
        "analytic: {rate:.3e} candidate schedules/s ({} columns per candidate, {} threads)",
        trace.entries.len(),
        rayon::current_num_threads()
    );

    let mut g = c.benchmark_group("analytic");
    g.throughput(Throughput::Elements(n));
    for mode in Mode::ALL {
        g.bench_function(format!("evaluate_{mode}"), |b| {
            b.iter(|| black_box(sweep(&ts, &ps, mode)))
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().without_plots().sample_size(20);
    targets = bench
}
criterion_main!(benches);
