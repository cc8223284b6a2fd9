//! Command-line interface: parses flags, calls the library, prints results. I/O lives
//! here and in `report`; everything below is pure.

pub mod data;
pub mod dram;
pub mod gemm;
pub mod luc;
pub mod luc_eval;
pub mod luc_policy;
pub mod luc_tokenize;
pub mod merge;
pub mod out;
pub mod repro;
pub mod repro_real;
pub mod repro_tune;
pub mod run;
pub mod sim;
pub mod sweep;
pub mod trace;
pub mod tune;

use clap::{Parser, Subcommand};

/// `edgesim --version`: the crate version and the git commit it was built from
/// (`unknown` outside a git checkout; see `build.rs`).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("EDGESIM_GIT_COMMIT"),
    ")"
);

/// edgesim: how fast, and in how much memory, can an edge accelerator fine-tune an LLM?
#[derive(Parser, Debug)]
#[command(name = "edgesim", version = VERSION, about, long_about = None)]
#[command(after_help = "Examples:\n  \
    edgesim run                      # the paper's LoRA vs Edge-LLM comparison\n  \
    edgesim run --help               # every command has examples in its --help\n  \
    edgesim -v sweep --spec hw_configs/sweeps/sram_dram.toml --out out/sweep\n\n\
    Diagnostics go to standard error: warnings and `wrote FILE` notes by default, only \
    errors with -q, details with -v (-vv for more); RUST_LOG (e.g. RUST_LOG=debug) is \
    read when neither flag is given.")]
pub struct Cli {
    /// Only errors on standard error (no warnings, notes or progress).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More diagnostics on standard error: -v debug details, -vv trace.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The values of `--mode` (`run`, `sim`, `sweep`), as `cost::Mode` parses them; shown
/// by `--help` as possible values and checked by clap before any work.
pub const MODE_VALUES: [&str; 3] = crate::cost::Mode::NAMES;

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Validate a hardware file and print its derived figures.
    Hw(HwArgs),
    /// Real model and corpus: write the Jane Austen texts from the janeaustenr R
    /// dataset; show the data directory and check the pinned sums.
    ///
    /// Example: edgesim data status
    Data(data::DataArgs),
    /// Tensor engine: synthetic checkpoints, per-layer sensitivity, LUC policy,
    /// compression.
    ///
    /// Example: edgesim luc synth --out out/synth  (each subcommand's --help has more)
    Luc(luc::LucArgs),
    /// Search the best schedule of workloads on a hardware configuration and compare them.
    ///
    /// For each workload the search varies the grid traversal (row, column, zigzag:B),
    /// micro-batch size, prefetching, activation recomputation and the DRAM/SSD placement
    /// of weights, saved activations and optimizer state. It finds the fastest feasible
    /// time, then reports the schedule with the least total tuning memory among those
    /// within --time-slack (default 1%) of it: seconds per optimizer step (and the fastest
    /// time when they differ), peak bytes per tier, total tuning memory, the bounding
    /// term, energy, the lower bound and the optimality gap; --pareto adds the time/memory
    /// trade-off. The last workload is compared with the first (speed-up, normalised
    /// memory).
    ///
    /// Example: edgesim run --hw hw_configs/shao_vlsi23.toml --mode shared-bus --json
    ///
    /// Example (a Trace file, analytic or measured by the tensor engine): edgesim run
    /// --workload workloads/llama7b_lora.toml --trace measured.trace.json
    ///
    /// Example (fastest schedule and the whole trade-off): edgesim run --time-slack 0 --pareto
    Run(run::RunArgs),
    /// Replay the best schedule of a workload on the cycle-level simulator (engines,
    /// double-buffered SRAM, LPDDR4 timing, SSD) and compare it with the analytic model.
    ///
    /// The search picks the schedule as `edgesim run` does; the simulator then runs its
    /// steps on six engines (DMA in/out, MAC array, vector unit, SSD in/out) in integer
    /// cycles, with SRAM tiles double-buffered, all DRAM-side transfers sharing one LPDDR4
    /// bus whose efficiency depends on the read/write mix (refresh, turnaround, row
    /// misses), and SSD latency. It prints cycles, per-engine utilisation and stall
    /// reasons, peak occupancy and energy beside the analytic times; `--attribute` splits
    /// the difference by effect, `--disable ideal` reproduces the analytic assumptions.
    ///
    /// Example: edgesim sim --workload llama7b_edge_llm_b5 --attribute --timeline t.json
    ///
    /// Example (a Trace file): edgesim sim --trace measured.trace.json
    Sim(sim::SimArgs),
    /// Print the per-layer Trace (FLOPs, weight, saved-activation, gradient and optimizer
    /// bytes) of a workload as a table, CSV or JSON, or write it as a Trace file.
    ///
    /// Example: edgesim trace --workload llama7b_lora --out lora.trace.json  (then
    /// edgesim run --trace lora.trace.json)
    Trace(trace::TraceArgs),
    /// Sweep hardware keys (SRAM, DRAM, array size...) over workloads in parallel: CSV with
    /// the Pareto front, plus plots.
    ///
    /// Example: edgesim sweep --spec hw_configs/sweeps/sram_dram.toml --out out/sweep
    Sweep(sweep::SweepArgs),
    /// Join the sweep.csv files of `sweep --shard i/n` runs into the single-run table.
    ///
    /// Example: edgesim merge --out out/merged/sweep.csv out/s0/sweep.csv out/s1/sweep.csv
    Merge(merge::MergeArgs),
    /// Tensor engine: LoRA tuning of a real (or LUC-compressed) checkpoint with `lora`,
    /// `partial` or `edge-llm` (early exits, a backprop window moving bottom-up, voting),
    /// held-out perplexity and accuracy per exit and voted, before and after, and the
    /// measured Trace of a step for `run --trace` / `sim --trace`.
    ///
    /// Example: edgesim tune --method edge-llm --steps 32 --trace-out edge.trace.json
    Tune(tune::TuneArgs),
    /// Regenerate the paper's comparisons (Table 1 memory, speed-ups, ablation) into results/.
    ///
    /// Example: edgesim repro --out results
    Repro(repro::ReproArgs),
    /// Drive the LPDDR4 controller model with one synthetic stream: bandwidth, efficiency
    /// vs peak, read latency (unloaded and loaded), row-hit rate, activates, refreshes.
    ///
    /// Example: edgesim dram --pattern random --request-bytes 64 --read-fraction 1
    Dram(dram::DramArgs),
    /// One GEMM, or each layer of a SCALE-Sim GEMM topology CSV, on the array and SRAM of
    /// a hardware file: cycles (SCALE-Sim 3.0's WS/OS/IS closed form), DRAM stall cycles,
    /// utilisation, mapping efficiency, SRAM and DRAM bytes, energy.
    ///
    /// Example: edgesim gemm --m 256 --n 128 --k 256 --dataflow is
    Gemm(gemm::GemmArgs),
}

/// Figure size flags of the commands that plot (`sweep`, `merge`, `repro`, `sim`).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct FigureArgs {
    /// Width of the figures as printed, in inches (1 to 20; default 3.4, one column of a
    /// two-column page). PNG at 300 dpi; SVG and PDF carry the width.
    #[arg(long, value_name = "IN")]
    pub figure_width_in: Option<f64>,
    /// Text size in the figures as printed, in points (5 to 36; default 8: axis and tick
    /// labels 8 pt, titles 9 pt, annotations 7 pt).
    #[arg(long, value_name = "PT")]
    pub font_pt: Option<f64>,
}

impl FigureArgs {
    /// Sets the style of every figure this process draws from the flags.
    ///
    /// # Errors
    /// An input error naming the flag and its range for a value out of range.
    pub fn apply(&self) -> crate::Result<()> {
        let style = crate::report::plot::FigureStyle::new(self.figure_width_in, self.font_pt)?;
        crate::report::plot::set_figure_style(style);
        Ok(())
    }
}

/// Arguments of `edgesim hw`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    edgesim hw\n  \
    edgesim hw --hw hw_configs/shao_vlsi23.toml")]
pub struct HwArgs {
    /// Hardware TOML (default: the embedded hw_configs/edge_llm_paper.toml).
    #[arg(long)]
    pub hw: Option<std::path::PathBuf>,
}

/// Runs the CLI and returns the process exit code: 0 success, 2 bad input, 1 other errors.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => {
            out::init_logging(out::Verbosity::from_flags(c.quiet, c.verbose));
            c
        }
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            if let Err(io) = e.print() {
                // --help / --version into a full disk: report it instead of exit 0.
                let stream = if e.use_stderr() {
                    "<stderr>"
                } else {
                    out::STDOUT
                };
                out::error(format_args!("{stream}: {io}"));
                return 2;
            }
            return code;
        }
    };
    let result = match cli.command {
        Command::Hw(a) => hw_cmd(&a),
        Command::Data(a) => data::run(&a),
        Command::Luc(a) => luc::run(&a),
        Command::Run(a) => run::run_cmd(&a),
        Command::Sim(a) => sim::sim_cmd(&a),
        Command::Trace(a) => trace::run(&a),
        Command::Sweep(a) => sweep::run(&a),
        Command::Merge(a) => merge::run(&a),
        Command::Tune(a) => tune::run(&a),
        Command::Repro(a) => repro::run(&a),
        Command::Dram(a) => dram::run(&a),
        Command::Gemm(a) => gemm::run(&a),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            out::error(format_args!("{e}"));
            if e.is_input() { 2 } else { 1 }
        }
    }
}

/// Loads `--hw` or the embedded default.
pub fn load_hw(path: Option<&std::path::Path>) -> crate::Result<crate::hw::HwConfig> {
    let hw = match path {
        Some(p) => crate::hw::HwConfig::from_file(p)?,
        None => crate::hw::HwConfig::paper_default(),
    };
    if let Some(p) = path {
        for w in crate::hw::plausible::warnings(&hw) {
            out::warn(format_args!("{}: {w}", p.display()));
        }
    }
    Ok(hw)
}

fn hw_cmd(a: &HwArgs) -> crate::Result<()> {
    let hw = load_hw(a.hw.as_deref())?;
    crate::outln!(
        "{}: {} x {} PEs at {} GHz = {:.3e} native MAC/s",
        hw.name,
        hw.compute.pe_rows,
        hw.compute.pe_cols,
        hw.clock_ghz,
        hw.peak_macs_per_s()
    )?;
    crate::outln!(
        "SRAM {} KiB, {:.1} GB/s",
        hw.sram.capacity_kib,
        hw.sram_bytes_per_s() / 1e9
    )?;
    crate::outln!(
        "DRAM {} GiB, {:.1} GB/s peak",
        hw.dram.capacity_gib,
        hw.dram.peak_bytes_per_s() / 1e9
    )?;
    crate::outln!(
        "SSD  {} GiB, {} GB/s read, {} GB/s write",
        hw.ssd.capacity_gib,
        hw.ssd.read_gbps,
        hw.ssd.write_gbps
    )?;
    Ok(())
}
