//! Two workloads on one hardware configuration: time per optimizer step, memory and
//! energy of each, and the second's speed-up and memory against the first.
//!
//! `cargo run --release --example compare_workloads [-- WORKLOAD_A WORKLOAD_B [HW.toml]]`
//! (workload files or embedded names; default: LoRA vs Edge-LLM on LLaMA-7B, on the
//! Edge-LLM paper's accelerator).

use edgesim::api;
use std::process::ExitCode;

/// The `run` document of workloads `a` (the reference) and `b` on `hw` (a hardware file;
/// the embedded default when `None`).
pub fn compare(a: &str, b: &str, hw: Option<&str>) -> edgesim::Result<api::RunDocument> {
    let hw = match hw {
        Some(p) => api::hardware_from_file(p.as_ref())?,
        None => api::default_hardware(),
    };
    let workloads = [api::workload(a)?, api::workload(b)?];
    api::run_workloads(&hw, &workloads, &api::RunOptions::default())
}

const GIB: f64 = (1u64 << 30) as f64;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let a = args.first().map_or("llama7b_lora", String::as_str);
    let b = args.get(1).map_or("llama7b_edge_llm_b5", String::as_str);
    let doc = match compare(a, b, args.get(2).map(String::as_str)) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    println!(
        "{:<24} {:>12} {:>12} {:>12} {:>10}",
        "workload", "s/step", "total GiB", "device GiB", "energy J"
    );
    for e in &doc.results {
        match (e.seconds_per_iteration, e.memory_bytes, e.device_bytes) {
            (Some(t), Some(m), Some(d)) => println!(
                "{:<24} {:>12.3} {:>12.2} {:>12.2} {:>10.1}",
                e.workload,
                t,
                m / GIB,
                d / GIB,
                e.energy_joules.unwrap_or(f64::NAN)
            ),
            _ => println!(
                "{:<24} infeasible: {}",
                e.workload,
                e.infeasible_reason.as_deref().unwrap_or("")
            ),
        }
    }
    if let (Some(s), Some(m)) = (doc.speedup, doc.norm_mem) {
        println!("{b} vs {a}: speed-up {s:.2}x, total memory {m:.2}x");
    }
    for n in &doc.notes {
        println!("note: {n}");
    }
    ExitCode::SUCCESS
}
