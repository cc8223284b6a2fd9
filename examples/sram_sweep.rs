//! SRAM capacity swept in a plain loop: the default hardware with `sram.capacity_kib`
//! overridden (the dotted key a sweep spec would use), one schedule search per size.
//!
//! `cargo run --release --example sram_sweep [-- WORKLOAD]` (default
//! `llama7b_edge_llm_b5`).

use edgesim::api::{self, HardwareSource, RunEntry, RunOptions};
use std::process::ExitCode;

/// SRAM sizes swept (KiB): a quarter of the paper's 1 MiB to four times it, and the
/// smaller sizes where the SRAM-limited GEMM reads start to dominate DRAM traffic.
pub const SRAM_KIB: [i64; 6] = [64, 128, 256, 1024, 2048, 4096];

/// The search of `workload` on the default hardware at each SRAM size (KiB).
pub fn sram_sweep(workload: &str, sizes_kib: &[i64]) -> edgesim::Result<Vec<(i64, RunEntry)>> {
    let trace = api::trace(&api::workload(workload)?)?;
    sizes_kib
        .iter()
        .map(|&kib| {
            let hw = api::hardware_with_overrides(
                &HardwareSource::Default,
                [("sram.capacity_kib", kib)],
            )?;
            Ok((kib, api::search(&hw, &trace, &RunOptions::default())?))
        })
        .collect()
}

fn main() -> ExitCode {
    let workload = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "llama7b_edge_llm_b5".to_string());
    let rows = match sram_sweep(&workload, &SRAM_KIB) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    println!("{workload} on the Edge-LLM paper accelerator, SRAM swept");
    println!(
        "{:>9} {:>10} {:>10} {:>14} {:>10}  schedule",
        "SRAM KiB", "s/step", "bound", "DRAM bound s", "energy J"
    );
    for (kib, e) in &rows {
        match (e.seconds_per_iteration, &e.schedule) {
            (Some(t), Some(_)) => println!(
                "{kib:>9} {t:>10.3} {:>10} {:>14.3} {:>10.1}  {}",
                e.bound.as_deref().unwrap_or(""),
                e.lower_bound.dram_seconds,
                e.energy_joules.unwrap_or(f64::NAN),
                e.chosen_schedule()
                    .map(|s| s.to_string())
                    .unwrap_or_default()
            ),
            _ => println!(
                "{kib:>9} infeasible: {}",
                e.infeasible_reason.as_deref().unwrap_or("")
            ),
        }
    }
    ExitCode::SUCCESS
}
