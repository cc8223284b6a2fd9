//! Simulator speed.
//!
//! - `sim/llama7b_lora_step`: one optimizer step of `llama7b_lora` (16 micro-batches,
//!   all 32 layers forward and backward, the LM head and the optimizer update) on
//!   `edge_llm_paper`, replaying the searched best schedule with every effect on. Target:
//!   <= 5 s in release on 2 cores. Throughput is events per second (criterion's
//!   elements/s); the search and step expansion run once outside the timed loop.
//! - `sim/llama7b_lora_row_prefetch_jetson`: the largest replay of the shipped cases
//!   (row traversal with prefetch on the Jetson-class board: 1,073 steps, ~275k chunks).
//! - `dram/*`: the LPDDR4 controller model, in requests per second, on a sequential
//!   256 B stream, random 64 B reads and a 50/50 read/write mix; and the one-off
//!   characterisation of the efficiency table (11 read fractions); `dram/probe_random_64B`
//!   is one `edgesim dram` run at its defaults (loaded and unloaded simulations).
//!
//! Run: `cargo bench --bench sim`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use edgesim::hw::HwConfig;
use edgesim::search::SearchOptions;
use edgesim::sim::dram::{
    Access, AddressMapping, ControllerConfig, DramFeatures, DramParams, EfficiencyTable, Pattern,
    ProbeSpec, probe, simulate as dram_sim, stream,
};
use edgesim::sim::replay::replay_best;
use edgesim::sim::{SimOptions, simulate};
use edgesim::workload::Workload;
use std::path::Path;
use std::time::{Duration, Instant};

fn replay_case(c: &mut Criterion, name: &str, hw: &HwConfig, workload: &str) {
    let trace = Workload::embedded(workload).unwrap().trace().unwrap();
    let r = replay_best(hw, &trace, &SearchOptions::default(), SimOptions::full()).unwrap();
    let t0 = Instant::now();
    let report = simulate(hw, &r.sim_steps, &r.options).unwrap().report;
    let wall = t0.elapsed();
    eprintln!(
        "{name}: schedule {}; {} steps, {} chunks, {} events; one replay {:.3} s = {:.2} M events/s; simulated {:.3} s",
        r.evaluation.schedule,
        report.steps,
        report.chunks,
        report.events,
        wall.as_secs_f64(),
        report.events as f64 / wall.as_secs_f64() / 1e6,
        report.seconds
    );
    let mut g = c.benchmark_group("sim");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    g.throughput(Throughput::Elements(report.events));
    g.bench_function(name, |b| {
        b.iter(|| {
            simulate(hw, &r.sim_steps, &r.options)
                .unwrap()
                .report
                .cycles
        })
    });
    g.finish();
}

fn bench_replay(c: &mut Criterion) {
    replay_case(
        c,
        "llama7b_lora_step",
        &HwConfig::paper_default(),
        "llama7b_lora",
    );
    let jetson = HwConfig::from_file(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("hw_configs/jetson_tx2_class.toml"),
    )
    .unwrap();
    replay_case(
        c,
        "llama7b_lora_row_prefetch_jetson",
        &jetson,
        "llama7b_lora",
    );
}

fn bench_dram(c: &mut Criterion) {
    let p = DramParams::from_dram(&HwConfig::paper_default().dram);
    let m = AddressMapping::new(p.channels, p.banks, p.page_bytes);
    let cfg = ControllerConfig::default();
    let n = 100_000u64;
    let mut g = c.benchmark_group("dram");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n));
    for (name, pattern, bytes, rf) in [
        ("sequential_256B_reads", Pattern::Sequential, 256u32, 1.0),
        ("random_64B_reads", Pattern::Random, 64, 1.0),
        ("sequential_64B_rw_mix", Pattern::Sequential, 64, 0.5),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                dram_sim(
                    &p,
                    &m,
                    DramFeatures::ALL,
                    &cfg,
                    stream(&m, pattern, n, bytes, rf, 3),
                )
                .unwrap()
                .stats
                .cycles
            })
        });
    }
    g.throughput(Throughput::Elements(11));
    g.bench_function("characterise_efficiency_table", |b| {
        b.iter(|| {
            EfficiencyTable::characterise(&p, &m, &cfg, DramFeatures::ALL, Access::DMA)
                .unwrap()
                .efficiency[5]
        })
    });
    // `edgesim dram --pattern random --request-bytes 64` at its default size.
    let spec = ProbeSpec::default();
    g.throughput(Throughput::Elements(spec.requests));
    let dram = HwConfig::paper_default().dram;
    g.bench_function("probe_random_64B", |b| {
        b.iter(|| probe(&dram, &spec).unwrap().efficiency)
    });
    g.finish();
}

criterion_group! {
    name = benches;
    // No HTML plots: criterion's plotters backend needs a system font.
    config = Criterion::default().without_plots();
    targets = bench_replay, bench_dram
}
criterion_main!(benches);
