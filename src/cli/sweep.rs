//! `edgesim sweep`: runs the schedule search on every point of a sweep spec for every
//! workload, in parallel, and writes `sweep.csv` plus plots.

use crate::dse::{self, Shard, SweepSpec, evaluate};
use crate::error::Result;
use crate::report::{csv_table, sweep_plots};
use std::path::PathBuf;

/// Arguments of `edgesim sweep`.
#[derive(clap::Args, Debug)]
pub struct SweepArgs {
    /// Sweep spec TOML: `base` hardware file, `workloads` list, `combine = "product" | "zip"`
    /// and a `[sweep]` table of value lists per dotted hardware key, e.g.
    /// `"sram.capacity_kib" = [256, 512, 1024]`. Paths are relative to the spec file.
    /// See hw_configs/sweeps/ and docs/hw_keys.md.
    #[arg(long)]
    pub spec: PathBuf,
    /// Output directory: sweep.csv (one row per point and workload) and the plots
    /// time_vs_<key>_<workload>.{png,svg} and pareto_<workload>.{png,svg}.
    #[arg(long)]
    pub out: PathBuf,
    /// Cost-model mode of the search: `paper` (eq. 3, max of the overlapped terms),
    /// `chained` (FlexGen's chained transfers add up) or `shared-bus` (all DRAM-side
    /// traffic shares the one LPDDR4 bus). Default: the search's default.
    #[arg(long)]
    pub mode: Option<String>,
    /// Time slack in percent (0 to 100): per point, the schedule with the least memory
    /// among those at most this much slower than the fastest is chosen (`optimal_seconds`
    /// keeps the fastest time). Default: the search's (1%).
    #[arg(long)]
    pub time_slack: Option<f64>,
    /// Only schedules whose total tuning memory (DRAM + SSD) is at most this many GiB; points
    /// where no schedule fits the budget are reported infeasible.
    #[arg(long)]
    pub max_memory_gib: Option<f64>,
    /// `analytic` (the search's cost model) or `cycle` (also replay each point's chosen
    /// schedule on the cycle-level simulator; its seconds go to the `sim_seconds` column).
    #[arg(long, default_value = "analytic", value_parser = ["analytic", "cycle"])]
    pub engine: String,
    /// Run only shard i of n (points whose index mod n == i), e.g. `--shard 0/4`; join the
    /// shards' sweep.csv files with `edgesim merge`.
    #[arg(long)]
    pub shard: Option<String>,
    /// Skip drawing plots.
    #[arg(long)]
    pub no_plots: bool,
    /// Print a JSON summary (per workload: best point, front size) on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Runs `edgesim sweep`.
pub fn run(a: &SweepArgs) -> Result<()> {
    let shard = match &a.shard {
        Some(s) => Shard::parse(s)?,
        None => Shard::ALL,
    };
    // Everything is validated before the first search starts.
    let opts =
        evaluate::with_memory_limit(evaluate::options(a.mode.as_deref())?, a.max_memory_gib)?;
    let spec = SweepSpec::from_file(&a.spec)?;
    let workloads = evaluate::load_traces(&spec.workloads)?;
    let jobs = dse::sweep::job_count(&spec, workloads.len(), shard);

    let bar = indicatif::ProgressBar::new(jobs as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{bar:40}] {pos}/{len} searches, {elapsed} elapsed, eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(format!("sweep {}", a.spec.display()));
    let table = dse::sweep::run(
        &spec,
        &workloads,
        shard,
        |hw, t| evaluate::outcome_with(hw, t, &opts, a.engine == "cycle"),
        || bar.inc(1),
    )?;
    bar.finish_and_clear();

    let csv_path = a.out.join("sweep.csv");
    csv_table::write_sweep_table(&csv_path, &table)?;
    let mut files = vec![csv_path];
    if !a.no_plots {
        files.extend(sweep_plots::write_sweep_plots(&a.out, &table)?);
    }
    summarise(a, &spec, shard, &table, &files)
}

fn summarise(
    a: &SweepArgs,
    spec: &SweepSpec,
    shard: Shard,
    t: &dse::SweepTable,
    files: &[PathBuf],
) -> Result<()> {
    let wl = t.column("workload")?;
    let secs = t.column("seconds_per_step")?;
    let feas = t.column("feasible")?;
    let par = t.column("pareto")?;
    let keys = t.key_columns();
    let mut per_wl = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    for r in &t.rows {
        if !names.contains(&r[wl].as_str()) {
            names.push(&r[wl]);
        }
    }
    for w in names {
        let rows: Vec<usize> = (0..t.rows.len()).filter(|&i| t.rows[i][wl] == w).collect();
        let best = rows
            .iter()
            .filter(|&&i| t.rows[i][feas] == "true")
            .min_by(|&&i, &&j| {
                let (x, y) = (
                    t.num(i, secs).unwrap_or(f64::INFINITY),
                    t.num(j, secs).unwrap_or(f64::INFINITY),
                );
                x.total_cmp(&y)
            })
            .copied();
        per_wl.push(serde_json::json!({
            "workload": w,
            "rows": rows.len(),
            "feasible": rows.iter().filter(|&&i| t.rows[i][feas] == "true").count(),
            "pareto": rows.iter().filter(|&&i| t.rows[i][par] == "true").count(),
            "best": best.map(|i| {
                let mut m = serde_json::Map::new();
                m.insert("point".into(), t.rows[i][0].clone().into());
                for k in &keys {
                    if let Ok(c) = t.column(k) {
                        m.insert(k.clone(), t.rows[i][c].clone().into());
                    }
                }
                m.insert("seconds_per_step".into(), t.num(i, secs).unwrap_or(f64::NAN).into());
                serde_json::Value::Object(m)
            }),
        }));
    }
    if a.json {
        let v = serde_json::json!({
            "spec": a.spec,
            "points": spec.points.len(),
            "shard": format!("{}/{}", shard.index, shard.count),
            "rows": t.rows.len(),
            "workloads": per_wl,
            "files": files,
        });
        println!("{v}");
    } else {
        println!(
            "{} points x {} workloads (shard {}/{}): {} rows",
            spec.points.len(),
            spec.workloads.len(),
            shard.index,
            shard.count,
            t.rows.len()
        );
        for w in &per_wl {
            let best = match w["best"].as_object() {
                Some(b) => {
                    let keys: Vec<String> = b
                        .iter()
                        .filter(|(k, _)| k.contains('.'))
                        .map(|(k, v)| format!("{k} = {}", v.as_str().unwrap_or("")))
                        .collect();
                    format!(
                        "fastest: point {} ({}) at {:.4} s/step",
                        b["point"].as_str().unwrap_or(""),
                        keys.join(", "),
                        b["seconds_per_step"].as_f64().unwrap_or(f64::NAN)
                    )
                }
                None => "no feasible point".into(),
            };
            println!(
                "  {}: {} feasible, {} on the Pareto front; {best}",
                w["workload"].as_str().unwrap_or(""),
                w["feasible"],
                w["pareto"],
            );
        }
        for f in files {
            println!("wrote {}", f.display());
        }
    }
    Ok(())
}
