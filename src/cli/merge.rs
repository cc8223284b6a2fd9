//! `edgesim merge`: joins the `sweep.csv` files of `edgesim sweep --shard i/n` runs into
//! the table a single run writes (same rows, same order, Pareto front recomputed over all
//! rows), and redraws the sweep plots next to it. The table and the plots are one output
//! set in the table's directory (`io_util::OutputSet`): locked while written, replaced
//! whole; other files there (e.g. the shard tables) stay. Shards whose records
//! (`sweep.shard.toml`) carry different fingerprints (`dse::fingerprint`: another spec,
//! input or option) are refused, naming the field, both values and both tables.

use super::sweep::{dir_or_dot, file_names, print_workloads};
use crate::cli::out::note;
use crate::dse::{self, SweepSummary};
use crate::error::{Error, Result};
use crate::io_util::OutputSet;
use crate::report::{csv_table, sweep_plots};
use std::path::PathBuf;

/// Arguments of `edgesim merge`.
#[derive(clap::Args, Debug)]
pub struct MergeArgs {
    /// Figure width and text size.
    #[command(flatten)]
    pub figure: super::FigureArgs,
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
    a.figure.apply()?;
    let tables = a
        .inputs
        .iter()
        .map(|p| Ok((p.display().to_string(), csv_table::read_sweep_table(p)?)))
        .collect::<Result<Vec<_>>>()?;
    let records = a
        .inputs
        .iter()
        .map(|p| {
            Ok((
                p.display().to_string(),
                dse::shard::ShardRecord::for_table(p)?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    dse::shard::check_complete(&records)?;
    let merged = dse::merge(tables)?;
    let name = a
        .out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| {
            Error::input(
                a.out.display().to_string(),
                "--out",
                "expected a file path, e.g. out/sweep.csv",
            )
        })?;
    let dir = dir_or_dot(a.out.parent());
    // The merged set replaces what its directory held before: never an input, nor
    // another command's output (a shard's sweep.csv and plots).
    let canonical = |p: &std::path::Path| std::fs::canonicalize(p).ok();
    if let Some(out_dir) = canonical(&dir) {
        for input in &a.inputs {
            if canonical(&dir_or_dot(input.parent())).as_ref() == Some(&out_dir) {
                return Err(Error::input(
                    a.out.display().to_string(),
                    "--out",
                    format!(
                        "{} is in the merged table's directory, whose set the merge \
                         replaces; write the merged table to another directory, e.g. \
                         out/merged/sweep.csv",
                        input.display()
                    ),
                ));
            }
        }
    }
    crate::io_util::check_set_owner(&dir, &name, "--out")?;
    let set = OutputSet::begin(&dir)?;
    csv_table::write_sweep_table(&set.dir().join(&name), &merged)?;
    // The merged table is the whole sweep: shard 0 of 1.
    let record = dse::shard::ShardRecord {
        shard: dse::Shard::ALL,
        points: records.first().map_or(0, |(_, r)| r.points),
        rows: Some(merged.rows.len() as u64),
        // The shards' common fingerprint (checked above), as the whole sweep's.
        fingerprint: records
            .first()
            .and_then(|(_, r)| r.fingerprint.clone())
            .map(|f| f.with_shard(dse::Shard::ALL)),
    };
    let record_path = dse::shard::ShardRecord::sidecar_path(&set.dir().join(&name));
    crate::io_util::write_atomic(&record_path, record.to_toml_string().as_bytes())?;
    let mut names = vec![name];
    names.extend(file_names(&[record_path]));
    if !a.no_plots {
        names.extend(file_names(&sweep_plots::write_sweep_plots(
            set.dir(),
            &merged,
        )?));
    }
    set.commit()?;
    let files: Vec<PathBuf> = names.iter().map(|n| dir.join(n)).collect();
    let summary = SweepSummary::of_table(&merged)?;
    let on_front: u64 = summary.workloads.iter().map(|w| w.pareto).sum();
    if a.json {
        let v = serde_json::json!({
            "inputs": a.inputs,
            "rows": merged.rows.len(),
            "pareto_rows": on_front,
            "workloads": super::sweep::workload_json(&summary),
            "files": files,
        });
        crate::outln!("{v}")?;
    } else {
        crate::outln!(
            "merged {} tables: {} rows, {} on the Pareto front",
            a.inputs.len(),
            merged.rows.len(),
            on_front
        )?;
        print_workloads(&summary)?;
        for f in files {
            note(format!("wrote {}", f.display()));
        }
    }
    Ok(())
}
