//! `edgesim merge`: joins the `sweep.csv` files of `edgesim sweep --shard i/n` runs into
//! the table a single run writes (same rows, same order, Pareto front recomputed over all
//! rows), and redraws the sweep plots next to it.

use crate::dse;
use crate::error::Result;
use crate::report::{csv_table, sweep_plots};
use std::path::PathBuf;

/// Arguments of `edgesim merge`.
#[derive(clap::Args, Debug)]
pub struct MergeArgs {
    /// Shard tables written by `edgesim sweep --shard i/n` (all shards of one spec, any order).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Merged table to write, e.g. `out/sweep.csv`; plots are drawn into its directory.
    #[arg(long)]
    pub out: PathBuf,
    /// Skip drawing plots.
    #[arg(long)]
    pub no_plots: bool,
    /// Print a JSON summary on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `edgesim merge`.
pub fn run(a: &MergeArgs) -> Result<()> {
    let tables = a
        .inputs
        .iter()
        .map(|p| Ok((p.display().to_string(), csv_table::read_sweep_table(p)?)))
        .collect::<Result<Vec<_>>>()?;
    let merged = dse::merge(tables)?;
    csv_table::write_sweep_table(&a.out, &merged)?;
    let mut files = vec![a.out.clone()];
    if !a.no_plots {
        let dir = a
            .out
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."));
        files.extend(sweep_plots::write_sweep_plots(&dir, &merged)?);
    }
    let pareto = merged.column("pareto")?;
    let on_front = merged.rows.iter().filter(|r| r[pareto] == "true").count();
    if a.json {
        let v = serde_json::json!({
            "inputs": a.inputs,
            "rows": merged.rows.len(),
            "pareto_rows": on_front,
            "files": files,
        });
        println!("{v}");
    } else {
        println!(
            "merged {} tables: {} rows, {} on the Pareto front",
            a.inputs.len(),
            merged.rows.len(),
            on_front
        );
        for f in files {
            println!("wrote {}", f.display());
        }
    }
    Ok(())
}
