//! Search a schedule, write it in the one-line form, read it back and replay it on the
//! cycle-level simulator: analytic against simulated seconds per optimizer step.
//!
//! `cargo run --release --example replay_schedule [-- WORKLOAD]` (default
//! `llama7b_edge_llm_b5`, about a second).

use edgesim::api::{self, RunEntry, RunOptions, SimReport, SimulateOptions};
use std::process::ExitCode;

/// The searched entry of `workload` on the default hardware, its schedule's one-line
/// form, and that line read back and replayed on the cycle-level simulator.
pub fn replay(workload: &str) -> edgesim::Result<(RunEntry, String, SimReport)> {
    let hw = api::default_hardware();
    let trace = api::trace(&api::workload(workload)?)?;
    let found = api::search(&hw, &trace, &RunOptions::default())?;
    let schedule = found.chosen_schedule().ok_or_else(|| {
        edgesim::Error::Other(format!(
            "{workload}: no feasible schedule: {}",
            found.infeasible_reason.as_deref().unwrap_or("")
        ))
    })?;
    // The line `edgesim run` prints and `--schedule` reads; it reads back bit for bit.
    let line = schedule.to_string();
    let given = api::parse_schedule(&line)?;
    let sim = api::simulate(&hw, &trace, Some(&given), &SimulateOptions::default())?;
    Ok((found, line, sim))
}

fn main() -> ExitCode {
    let workload = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "llama7b_edge_llm_b5".to_string());
    let (found, line, sim) = match replay(&workload) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let analytic = found.seconds_per_iteration.unwrap_or(f64::NAN);
    let c = &sim.comparison;
    println!("{workload} on {}", sim.hw);
    println!("schedule (searched, replayed as given): {line}");
    println!("analytic shared-bus  {analytic:>12.6} s");
    println!("analytic paper       {:>12.6} s", c.analytic_paper_seconds);
    println!(
        "cycle-level          {:>12.6} s ({} cycles, {:+.2}% vs analytic)",
        c.sim_seconds,
        sim.sim.cycles,
        100.0 * (c.sim_seconds / analytic - 1.0)
    );
    println!(
        "cycle-level, ideal   {:>12.6} s (the analytic model's assumptions)",
        c.sim_ideal_seconds
    );
    println!("lower bound          {:>12.6} s", c.lower_bound_seconds);
    ExitCode::SUCCESS
}
