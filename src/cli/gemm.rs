//! `edgesim gemm`: one GEMM (or every layer of a SCALE-Sim GEMM topology file) on the
//! array and the SRAM of a hardware file: cycles, stalls, utilisation, traffic, energy.
//! The numbers come from `mapper::probe`; energy from `cost::energy::energy`, the one
//! energy rule of the cost model and the simulator.

use crate::cost::energy::{Activity, EnergyBreakdown, EnergyPerAccess, energy};
use crate::error::{Error, Result};
use crate::hw::{Dataflow, HwConfig};
use crate::mapper::GemmShape;
use crate::mapper::probe::{self, MAX_DIM, Probe};
use std::path::PathBuf;

/// Arguments of `edgesim gemm`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    edgesim gemm --m 256 --n 128 --k 256 --dataflow os\n  \
    edgesim gemm --hw hw_configs/shao_vlsi23.toml --m 4096 --n 4096 --k 4096 --bits-w 4 --sparsity 0.5 --json\n  \
    edgesim gemm --topology scale-sim-v3/topologies/GEMM_mnk/gpt2.csv --dataflow ws --csv\n\n\
    Cycles are SCALE-Sim 3.0's closed form per fold (WS and IS 2R + C + T - 2, OS R + C + T - 2) \
    times the folds; SCALE-Sim prints one less (the index of the last cycle). Stall cycles are \
    the waits for DRAM fills of the SRAM tiles (the first tile's load included); utilisation \
    is MACs / (PEs x (cycles + stall cycles)). Energy: cost::energy, as in `edgesim run`.")]
pub struct GemmArgs {
    /// Hardware TOML (default: the embedded hw_configs/edge_llm_paper.toml).
    #[arg(long, value_name = "FILE")]
    pub hw: Option<PathBuf>,
    /// Rows of A and of the output (SCALE-Sim's M).
    #[arg(long, required_unless_present = "topology", value_parser = clap::value_parser!(u64).range(1..=MAX_DIM))]
    pub m: Option<u64>,
    /// Columns of B and of the output (SCALE-Sim's N).
    #[arg(long, required_unless_present = "topology", value_parser = clap::value_parser!(u64).range(1..=MAX_DIM))]
    pub n: Option<u64>,
    /// Reduction dimension (SCALE-Sim's K).
    #[arg(long, required_unless_present = "topology", value_parser = clap::value_parser!(u64).range(1..=MAX_DIM))]
    pub k: Option<u64>,
    /// SCALE-Sim GEMM topology CSV (header, then `name, M, N, K,` rows): one result per
    /// layer.
    #[arg(long, value_name = "FILE.csv", conflicts_with_all = ["m", "n", "k"])]
    pub topology: Option<PathBuf>,
    /// Dataflow, overriding the hardware file: weight-stationary (ws), output-stationary
    /// (os) or input-stationary (is).
    #[arg(long, value_name = "D")]
    pub dataflow: Option<String>,
    /// Weight (B) bits, 1..=32.
    #[arg(long, default_value_t = 8)]
    pub bits_w: u32,
    /// Activation (A and output) bits, 1..=32.
    #[arg(long, default_value_t = 8)]
    pub bits_a: u32,
    /// Zero fraction of the weights, in [0, 1) (a topology row's `N:M` column wins).
    #[arg(long, default_value_t = 0.0)]
    pub sparsity: f64,
    /// Print JSON (an object, or an array with --topology).
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print CSV, one row per GEMM.
    #[arg(long)]
    pub csv: bool,
}

/// One reported GEMM: the probe, its layer name and its energy.
#[derive(Debug, Clone, serde::Serialize)]
struct Row {
    name: String,
    #[serde(flatten)]
    probe: Probe,
    energy_joules: f64,
    energy: EnergyBreakdown,
}

fn parse_dataflow(s: &str) -> Result<Dataflow> {
    match s {
        "weight-stationary" | "ws" => Ok(Dataflow::WeightStationary),
        "output-stationary" | "os" => Ok(Dataflow::OutputStationary),
        "input-stationary" | "is" => Ok(Dataflow::InputStationary),
        _ => Err(Error::input(
            "--dataflow",
            "dataflow",
            format!(
                "`{s}`: expected weight-stationary (ws), output-stationary (os) or input-stationary (is)"
            ),
        )),
    }
}

fn check_bits(flag: &str, v: u32) -> Result<u32> {
    if (1..=32).contains(&v) {
        Ok(v)
    } else {
        Err(Error::input(
            flag,
            flag.trim_start_matches('-'),
            format!("{v} outside 1..=32"),
        ))
    }
}

fn row(hw: &HwConfig, name: String, g: &GemmShape) -> Row {
    let p = probe::probe(hw, g);
    let e = energy(
        &EnergyPerAccess::of(hw),
        &Activity {
            native_macs: p.native_macs,
            fp16_macs: p.fp16_macs,
            sram_port_bytes: p.sram_read_bytes + p.sram_write_bytes,
            dram_to_sram: p.dram_read_bytes,
            sram_to_dram: p.dram_write_bytes,
            ..Activity::default()
        },
    );
    Row {
        name,
        probe: p,
        energy_joules: e.total(),
        energy: e,
    }
}

/// Runs `edgesim gemm`.
pub fn run(a: &GemmArgs) -> Result<()> {
    let mut hw = super::load_hw(a.hw.as_deref())?;
    if let Some(d) = &a.dataflow {
        hw.compute.dataflow = parse_dataflow(d)?;
    }
    let w_bits = check_bits("--bits-w", a.bits_w)?;
    let a_bits = check_bits("--bits-a", a.bits_a)?;
    if !(0.0..1.0).contains(&a.sparsity) {
        return Err(Error::input(
            "--sparsity",
            "sparsity",
            format!("{} outside [0, 1)", a.sparsity),
        ));
    }
    let shape = |m, n, k, sparsity| GemmShape {
        m,
        k,
        n,
        batch: 1,
        w_bits,
        a_bits,
        sparsity,
        b_is_weight: true,
    };
    let rows: Vec<Row> = match &a.topology {
        Some(path) => {
            let text = crate::io_util::read_to_string(path)?;
            let file = path.display().to_string();
            probe::parse_topology(&file, &text)?
                .into_iter()
                .map(|l| {
                    let sp = if l.sparsity > 0.0 {
                        l.sparsity
                    } else {
                        a.sparsity
                    };
                    row(&hw, l.name, &shape(l.m, l.n, l.k, sp))
                })
                .collect()
        }
        None => {
            // clap enforces all three without --topology.
            let (m, n, k) = (a.m.unwrap_or(1), a.n.unwrap_or(1), a.k.unwrap_or(1));
            vec![row(&hw, "gemm".into(), &shape(m, n, k, a.sparsity))]
        }
    };
    if a.json {
        let text = if a.topology.is_some() {
            serde_json::to_string_pretty(&rows)
        } else {
            serde_json::to_string_pretty(&rows[0])
        }
        .map_err(|e| Error::Other(format!("JSON: {e}")))?;
        return crate::outln!("{text}");
    }
    if a.csv {
        crate::outln!(
            "name,m,n,k,dataflow,pe_rows,pe_cols,cycles,stall_cycles,total_cycles,utilisation,mapping_efficiency,sram_read_bytes,sram_write_bytes,dram_read_bytes,dram_write_bytes,energy_joules"
        )?;
        for r in &rows {
            let p = &r.probe;
            crate::outln!(
                "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
                r.name,
                p.m,
                p.n,
                p.k,
                dataflow_name(p.dataflow),
                p.pe_rows,
                p.pe_cols,
                p.cycles,
                p.stall_cycles,
                p.total_cycles,
                p.utilisation,
                p.mapping_efficiency,
                p.sram_read_bytes,
                p.sram_write_bytes,
                p.dram_read_bytes,
                p.dram_write_bytes,
                r.energy_joules
            )?;
        }
        return Ok(());
    }
    if a.topology.is_some() {
        crate::outln!(
            "{} on {} ({} x {} {}, {} + {} bit)",
            a.topology
                .as_ref()
                .map_or(String::new(), |p| p.display().to_string()),
            hw.name,
            hw.compute.pe_rows,
            hw.compute.pe_cols,
            dataflow_name(hw.compute.dataflow),
            w_bits,
            a_bits
        )?;
        crate::outln!(
            "{:<20} {:>8} {:>8} {:>8} {:>14} {:>12} {:>7} {:>7} {:>12}",
            "layer",
            "M",
            "N",
            "K",
            "cycles",
            "stalls",
            "util%",
            "map%",
            "energy uJ"
        )?;
        for r in &rows {
            let p = &r.probe;
            crate::outln!(
                "{:<20} {:>8} {:>8} {:>8} {:>14.0} {:>12.0} {:>7.2} {:>7.2} {:>12.3}",
                r.name,
                p.m,
                p.n,
                p.k,
                p.cycles,
                p.stall_cycles,
                100.0 * p.utilisation,
                100.0 * p.mapping_efficiency,
                r.energy_joules * 1e6
            )?;
        }
        return Ok(());
    }
    let r = &rows[0];
    let p = &r.probe;
    let e = &r.energy;
    crate::outln!(
        "GEMM M={} N={} K={} ({} x {} bit, sparsity {}) on {}: {} x {} PEs, {}",
        p.m,
        p.n,
        p.k,
        w_bits,
        a_bits,
        a.sparsity,
        hw.name,
        p.pe_rows,
        p.pe_cols,
        dataflow_name(p.dataflow)
    )?;
    crate::outln!(
        "  folds               {} x {} = {}",
        p.row_folds,
        p.col_folds,
        p.row_folds * p.col_folds
    )?;
    crate::outln!(
        "  cycles              {:.0}  (SCALE-Sim prints one less: the last cycle's index)",
        p.cycles
    )?;
    crate::outln!(
        "  stall cycles        {:.0}  (first tile's load {:.0})",
        p.stall_cycles,
        p.prologue_cycles
    )?;
    let bound = if p.total_cycles > p.cycles + p.stall_cycles {
        "  (bound by the DRAM bus: reads and writes)"
    } else {
        ""
    };
    crate::outln!("  total cycles        {:.0}{bound}", p.total_cycles)?;
    crate::outln!("  utilisation         {:.2}%", 100.0 * p.utilisation)?;
    crate::outln!("  mapping efficiency  {:.2}%", 100.0 * p.mapping_efficiency)?;
    crate::outln!(
        "  SRAM read / written {:.0} / {:.0} B  (array operands / outputs)",
        p.sram_read_bytes,
        p.sram_write_bytes
    )?;
    crate::outln!(
        "  DRAM read / written {:.0} / {:.0} B  (SRAM tile m x k x n = {} x {} x {}{})",
        p.dram_read_bytes,
        p.dram_write_bytes,
        p.tile[0],
        p.tile[1],
        p.tile[2],
        if p.fits {
            ""
        } else {
            ", does NOT fit the SRAM"
        }
    )?;
    crate::outln!(
        "  energy              {:.4} uJ (MAC {:.4}, SRAM {:.4}, DRAM {:.4} uJ)",
        r.energy_joules * 1e6,
        e.mac * 1e6,
        e.sram * 1e6,
        e.dram * 1e6
    )
}

fn dataflow_name(d: Dataflow) -> &'static str {
    match d {
        Dataflow::WeightStationary => "weight-stationary",
        Dataflow::OutputStationary => "output-stationary",
        Dataflow::InputStationary => "input-stationary",
    }
}
