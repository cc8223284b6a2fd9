//! Baseline figures: every Table 1 workload on the hardware baseline (`shao_vlsi23`) and
//! on the paper accelerator (`edge_llm_paper`) with the full schedule search. Prints the
//! simulated seconds per step, memory and speed-ups (the numbers the benchmark tracks),
//! then measures how long one search takes per accelerator.
//!
//! Run: `cargo bench --bench baseline`.

use criterion::{Criterion, criterion_group};
use edgesim::dse::evaluate;
use edgesim::dse::repro::TABLE1;
use std::path::PathBuf;
use std::time::Duration;

fn traces() -> Vec<(&'static str, edgesim::workload::Trace)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("workloads");
    TABLE1
        .iter()
        .map(|r| {
            let t = evaluate::load_trace(&root.join(format!("{}.toml", r.workload)))
                .expect("Table 1 workload loads");
            (r.workload, t)
        })
        .collect()
}

fn print_figures() {
    let hws = edgesim::cli::repro::repro_hardware().expect("embedded hardware");
    let (paper, shao) = (&hws[0], &hws[1]);
    let opts = evaluate::options(None).expect("default options");
    let ts = traces();
    let run = |hw, t| evaluate::outcome(hw, t, &opts).expect("search");
    let lora_shao = run(shao, &ts[0].1);
    let lora_paper = run(paper, &ts[0].1);
    println!(
        "{:<22} {:>12} {:>12} {:>10} {:>12} {:>10} {:>12}",
        "workload", "s@shao", "s@paper", "hw x", "vs LoRA@shao", "mem GiB", "mem/LoRA"
    );
    for (name, t) in &ts {
        let s = run(shao, t);
        let p = run(paper, t);
        println!(
            "{:<22} {:>12.4} {:>12.4} {:>10.2} {:>12.2} {:>10.3} {:>12.2}",
            name,
            s.seconds_per_step,
            p.seconds_per_step,
            s.seconds_per_step / p.seconds_per_step,
            lora_shao.seconds_per_step / p.seconds_per_step,
            p.memory_bytes as f64 / (1u64 << 30) as f64,
            p.memory_bytes as f64 / lora_paper.memory_bytes as f64,
        );
    }
}

fn bench_search(c: &mut Criterion) {
    print_figures();
    let hws = edgesim::cli::repro::repro_hardware().expect("embedded hardware");
    let opts = evaluate::options(None).expect("default options");
    let ts = traces();
    let mut g = c.benchmark_group("baseline");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    for hw in &hws {
        for (name, t) in [&ts[0], &ts[2]] {
            g.bench_function(format!("search_{name}_on_{}", hw.name), |b| {
                b.iter(|| evaluate::outcome(hw, t, &opts).expect("search"))
            });
        }
    }
    g.finish();
}

// No criterion plots: its plotters backend needs system fonts, which edge boxes and CI
// images often lack; the numbers are in the text output and target/criterion/.
criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = bench_search
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
