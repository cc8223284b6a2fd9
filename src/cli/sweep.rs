//! `edgesim sweep`: runs the schedule search on every point of a sweep spec for every
//! workload, in parallel, and writes `sweep.csv` plus plots.
//!
//! Points are expanded lazily and rows streamed to disk (`dse::sweep::run_chunked`,
//! `dse::SweepWriter`), so memory stays flat whatever the number of points; plots are
//! drawn for up to [`PLOT_MAX_ROWS`] rows. The files form one output set
//! (`io_util::OutputSet`): `--out` is locked while the sweep runs and receives the whole
//! new set at once when it ends.
//!
//! Sweeps resume: finished chunks of points (about `dse::sweep::RESUME_CHUNK_SECONDS`
//! seconds of work each) are written to `OUT/.sweep.partial/` as they finish
//! (`dse::resume`), and a rerun with the same fingerprint (`dse::fingerprint`) reads them
//! back instead of evaluating their points. A directory that already holds the complete
//! table of the same fingerprint is not computed again (`--force` recomputes). Progress
//! goes to stderr: a bar on a terminal, a plain line every `--progress-interval` seconds
//! otherwise (batch jobs' logs).

use crate::cli::out::{note, notes_enabled, warn};
use crate::dse::fingerprint::Fingerprint;
use crate::dse::progress::{Progress, clock};
use crate::dse::resume::{Found, PartialStore};
use crate::dse::sweep::ChunkPlan;
use crate::dse::{self, Shard, SweepSpec, SweepSummary, SweepWriter, evaluate};
use crate::error::Result;
use crate::io_util::OutputSet;
use crate::report::{csv_table, sweep_plots};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Largest table the plots are drawn for: drawing reads the table back into memory
/// (about 1 KiB per row with its cells), and a chart of more points than a figure has
/// pixels shows nothing more. Larger sweeps keep every row in sweep.csv.
pub const PLOT_MAX_ROWS: u64 = 20_000;

/// Default of `--max-points`: 10^6 points run in bounded memory but take hours of
/// searches; a larger spec is more often a typo (one list too many) than intended.
pub const DEFAULT_MAX_POINTS: usize = 1_000_000;

/// Arguments of `edgesim sweep`.
#[derive(clap::Args, Debug)]
pub struct SweepArgs {
    /// Figure width and text size.
    #[command(flatten)]
    pub figure: super::FigureArgs,
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
    /// Cost-model mode of the search: `shared-bus` (default; all DRAM-side traffic
    /// shares the one half-duplex LPDDR4 bus: the physical model), `paper` (Edge-LLM's
    /// eq. 3 as printed, max of the overlapped terms, DRAM reads and writes each at the
    /// full bandwidth at once: for reproducing the paper) or `chained` (eq. 3 plus
    /// FlexGen's chained transfers adding up).
    #[arg(long, value_parser = crate::cost::Mode::NAMES)]
    pub mode: Option<String>,
    /// Time slack in percent (0 to 100): per point, the schedule with the least memory
    /// among those at most this much slower than the fastest is chosen (`optimal_step_s`
    /// keeps the fastest time). Default: the search's (1%).
    #[arg(long)]
    pub time_slack: Option<f64>,
    /// Only schedules whose total tuning memory (DRAM + SSD) is at most this many GiB; points
    /// where no schedule fits the budget are reported infeasible.
    #[arg(long)]
    pub max_memory_gib: Option<f64>,
    /// Only schedules writing at most this many GB (10^9 B) to the SSD per optimizer step
    /// (an endurance budget); points where none does are infeasible, with the reason.
    /// A search constraint: not combined with `--schedule` (a given schedule's writes are
    /// reported, not limited).
    #[arg(long, value_name = "GB", conflicts_with = "schedule")]
    pub ssd_write_budget_gb_per_step: Option<f64>,
    /// `analytic` (the search's cost model) or `cycle` (also replay each point's chosen
    /// schedule on the cycle-level simulator; its seconds go to the `sim_step_s` column).
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
    /// Refuse specs of more points than this (the whole spec, before sharding).
    #[arg(long, default_value_t = DEFAULT_MAX_POINTS)]
    pub max_points: usize,
    /// Evaluate this schedule at every point instead of searching: the line `edgesim run`
    /// prints after `schedule` (e.g. "zigzag:4 micro-batch 1 prefetch on recompute 0 ssd
    /// w/s/o 0%/70%/0%") or a TOML file with a `[schedule]` table (docs/schedule.md).
    /// Points where it does not fit are infeasible rows carrying the reason.
    #[arg(long, value_name = "SPEC", conflicts_with_all = ["time_slack", "max_memory_gib"])]
    pub schedule: Option<String>,
    /// Recompute even when --out already holds this sweep's complete table (same spec,
    /// inputs, options and shard), and discard the resume state of an unfinished run in
    /// --out instead of resuming it (needed when that run had another spec or options).
    #[arg(long)]
    pub force: bool,
    /// Seconds between progress lines on stderr when it is not a terminal (e.g. a Slurm
    /// log); a terminal gets a progress bar instead. `-q` shows neither.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    pub progress_interval: f64,
}

/// How a run got its rows, for the summary.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    /// Points read back from an interrupted run.
    resumed: usize,
    /// Points evaluated by this run.
    evaluated: usize,
    /// The directory held the complete table already; nothing was computed.
    skipped: bool,
}

/// Runs `edgesim sweep`.
pub fn run(a: &SweepArgs) -> Result<()> {
    a.figure.apply()?;
    let shard = match &a.shard {
        Some(s) => Shard::parse(s)?,
        None => Shard::ALL,
    };
    check_out_dir(&a.out)?;
    // Capped at a year: Duration::from_secs_f64 panics on values past u64 seconds.
    if !(a.progress_interval.is_finite()
        && a.progress_interval > 0.0
        && a.progress_interval <= 3.2e7)
    {
        return Err(crate::Error::input(
            "--progress-interval",
            "progress_interval",
            format!(
                "{}: must be a positive number of seconds, at most 32000000 (a year)",
                a.progress_interval
            ),
        ));
    }
    // Everything that can be checked before the first search is checked here.
    let opts =
        evaluate::with_memory_limit(evaluate::options(a.mode.as_deref())?, a.max_memory_gib)?;
    let opts = evaluate::with_time_slack(opts, a.time_slack)?;
    let opts = evaluate::with_schedule(opts, a.schedule.as_deref())?;
    let opts = evaluate::with_ssd_write_budget(opts, a.ssd_write_budget_gb_per_step)?;
    let spec_text = crate::io_util::read_to_string(&a.spec)?;
    let spec = SweepSpec::from_toml_str(&a.spec, &spec_text)?;
    spec.check_max_points(a.max_points)?;
    let workloads = evaluate::load_traces(&spec.workloads)?;
    let base_text = crate::io_util::read_to_string(&spec.base)?;
    let fingerprint = Fingerprint::new(&spec_text, &base_text, &workloads, &opts, &a.engine, shard);
    let jobs = dse::sweep::job_count(&spec, workloads.len(), shard);
    let shard_points = spec.shard_point_count(shard);
    note(format!(
        "sweep {}: {} points x {} workloads; shard {}/{}: {shard_points} points, {jobs} searches",
        a.spec.display(),
        spec.point_count,
        workloads.len(),
        shard.index,
        shard.count,
    ));

    crate::io_util::check_set_owner(&a.out, "sweep.csv", "--out")?;
    let set = OutputSet::begin(&a.out)?;
    let target = set.target().to_path_buf();
    let header = dse::table::header(&spec.key_names());
    if !a.force
        && let Some(summary) = complete_table(&target, &fingerprint, jobs as u64)?
    {
        let what = if shard == Shard::ALL {
            "sweep".to_string()
        } else {
            format!("shard {}/{}", shard.index, shard.count)
        };
        note(format!(
            "{what} already complete: {}; --force recomputes",
            a.out.join("sweep.csv").display()
        ));
        // A run killed after its set was in place and before its resume state was
        // removed leaves that state behind; another fingerprint's state stays.
        if PartialStore::dir_for(&target).is_dir()
            && let Ok((store, _)) = PartialStore::open(&target, &fingerprint, &header, false)
        {
            store.remove()?;
        }
        drop(set);
        let names = crate::io_util::read_to_string(&target.join(crate::io_util::SET_MANIFEST))
            .map(|t| t.lines().map(str::to_string).collect::<Vec<_>>())
            .unwrap_or_else(|_| vec!["sweep.csv".to_string()]);
        let files: Vec<PathBuf> = names.iter().map(|n| a.out.join(n)).collect();
        let counts = Counts {
            skipped: true,
            ..Counts::default()
        };
        return summarise(a, &spec, shard, &summary, &files, counts);
    }

    // The resume state lives in the output directory itself, beside the old set (the
    // set's commit carries it over; it is removed once the new set is in place).
    std::fs::create_dir_all(&target).map_err(|e| crate::Error::io(&target, e))?;
    let (store, found) = PartialStore::open(&target, &fingerprint, &header, a.force)?;
    if found == Found::Discarded {
        note(format!(
            "--force: discarded the unfinished run in {}",
            store.dir().display()
        ));
    }
    let csv_path = set.dir().join("sweep.csv");
    let mut writer = SweepWriter::create(&csv_path, &spec.key_names())?;
    let names: Vec<String> = workloads.iter().map(|w| w.name.clone()).collect();
    let replay = store.replay(&spec, shard, &names, |cells| writer.push_cells(cells))?;
    for d in &replay.dropped {
        warn(d);
    }
    if replay.points > 0 {
        note(format!(
            "resuming: {} of {shard_points} points read back from {} ({} chunks); {} to evaluate",
            replay.points,
            store.dir().display(),
            replay.chunks,
            shard_points - replay.points
        ));
    }
    let reporter = Reporter::new(
        jobs as u64,
        workloads.len() as u64,
        replay.rows,
        Duration::from_secs_f64(a.progress_interval),
    );
    let evaluated = dse::sweep::run_chunked(
        &spec,
        &workloads,
        shard,
        replay.points,
        ChunkPlan::RESUMABLE,
        |hw, t| evaluate::outcome_with(hw, t, &opts, a.engine == "cycle"),
        || reporter.tick(),
        |rows| {
            store.write_chunk(&rows)?;
            rows.iter().try_for_each(|r| writer.push(r))
        },
    )?;
    reporter.finish(replay.points);
    let summary = writer.finish()?;
    // Which shard this table is and what computed it: `merge` checks a set is complete
    // and of one sweep, and a rerun skips a complete table.
    let record = dse::shard::ShardRecord {
        shard,
        points: spec.point_count,
        rows: Some(summary.rows),
        fingerprint: Some(fingerprint),
    };
    let record_path = dse::shard::ShardRecord::sidecar_path(&csv_path);
    crate::io_util::write_atomic(&record_path, record.to_toml_string().as_bytes())?;

    let mut names = vec!["sweep.csv".to_string()];
    names.extend(file_names(&[record_path]));
    if !a.no_plots {
        if summary.rows <= PLOT_MAX_ROWS {
            let table = csv_table::read_sweep_table(&csv_path)?;
            names.extend(file_names(&sweep_plots::write_sweep_plots(
                set.dir(),
                &table,
            )?));
        } else {
            warn(format!(
                "{} rows exceed the {PLOT_MAX_ROWS} rows plots are drawn for; no plots \
                 written (sweep.csv has every row; plot a subset or a shard)",
                summary.rows
            ));
        }
    }
    set.commit()?;
    store.remove()?;
    let files: Vec<PathBuf> = names.iter().map(|n| a.out.join(n)).collect();
    let counts = Counts {
        resumed: replay.points,
        evaluated,
        skipped: false,
    };
    summarise(a, &spec, shard, &summary, &files, counts)
}

/// The summary of `target/sweep.csv` when it is the complete table of a run with
/// `fingerprint`: its record carries that fingerprint and `rows` rows, and the table
/// holds that many. `None` otherwise (no table, an older record, another run's table).
fn complete_table(
    target: &Path,
    fingerprint: &Fingerprint,
    rows: u64,
) -> Result<Option<SweepSummary>> {
    let csv = target.join("sweep.csv");
    if !csv.is_file() {
        return Ok(None);
    }
    let Ok(record) = dse::shard::ShardRecord::for_table(&csv) else {
        return Ok(None);
    };
    // A table of another run (other spec, options, shard or build) is somebody's result:
    // replacing it takes --force, as discarding an unfinished run does. A record of an
    // edgesim without fingerprints is recomputed.
    if let Some(theirs) = record.fingerprint.as_ref().filter(|f| *f != fingerprint) {
        let file = csv.with_file_name("sweep.shard.toml");
        return Err(dse::fingerprint::mismatch_error(
            &file.display().to_string(),
            theirs,
            fingerprint,
            "the output directory holds the table of another sweep",
            "choose another --out, or add --force to replace it",
        ));
    }
    if record.fingerprint.is_none() || record.rows != Some(rows) {
        return Ok(None);
    }
    // A damaged table (cut mid-row, edited) is recomputed, not an error: the run that
    // wrote it is this one.
    match SweepSummary::of_csv(&csv) {
        Ok(summary) => Ok((summary.rows == rows).then_some(summary)),
        Err(e) => {
            warn(format!("{e}; computing the table again"));
            Ok(None)
        }
    }
}

/// Progress on stderr: a bar on a terminal, else a plain line
/// ([`Progress::line`]) at most every `interval`; nothing with `-q`. Counts evaluations
/// (points x workloads), resumed ones included.
struct Reporter {
    bar: Option<indicatif::ProgressBar>,
    lines: bool,
    interval: Duration,
    total: u64,
    workloads: u64,
    resumed: u64,
    done: AtomicU64,
    start: Instant,
    /// When the bar's message or the last line was written.
    last: Mutex<Instant>,
}

impl Reporter {
    fn new(total: u64, workloads: u64, resumed: u64, interval: Duration) -> Reporter {
        let shown = notes_enabled();
        let tty = std::io::stderr().is_terminal();
        let bar = (shown && tty).then(|| {
            let b = indicatif::ProgressBar::new(total);
            b.set_style(
                indicatif::ProgressStyle::with_template("sweep [{bar:30}] {msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            b.set_position(resumed);
            b
        });
        let start = Instant::now();
        let r = Reporter {
            bar,
            lines: shown && !tty,
            interval,
            total,
            workloads,
            resumed,
            done: AtomicU64::new(resumed),
            start,
            last: Mutex::new(start),
        };
        if let Some(b) = &r.bar {
            b.set_message(r.progress(resumed).summary(Duration::ZERO));
        }
        r
    }

    fn progress(&self, done: u64) -> Progress {
        Progress {
            total: self.total,
            done,
            resumed: self.resumed,
            workloads: self.workloads,
        }
    }

    /// One evaluation finished (called from the worker threads).
    fn tick(&self) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if self.bar.is_none() && !self.lines {
            return;
        }
        // The bar's text is refreshed a few times a second, lines every `interval`.
        let every = if self.bar.is_some() {
            Duration::from_millis(250)
        } else {
            self.interval
        };
        let Ok(mut last) = self.last.try_lock() else {
            if let Some(b) = &self.bar {
                b.set_position(done);
            }
            return;
        };
        if let Some(b) = &self.bar {
            b.set_position(done);
        }
        if last.elapsed() < every {
            return;
        }
        *last = Instant::now();
        // Read under the lock, so that shown counts never go back.
        let text = self.progress(self.done.load(Ordering::Relaxed));
        match &self.bar {
            Some(b) => b.set_message(text.summary(self.start.elapsed())),
            None => note(text.line(self.start.elapsed())),
        }
    }

    /// The run ended: the bar is cleared; a log gets a last line with the time taken.
    fn finish(&self, resumed_points: usize) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
        if self.lines {
            let p = self.progress(self.done.load(Ordering::Relaxed));
            note(format!(
                "sweep: {}/{} points, {}%, done in {} ({resumed_points} points read back)",
                p.points_done(),
                p.points_total(),
                p.percent(),
                clock(self.start.elapsed())
            ));
        }
    }
}

/// `--out` names a directory: refuses an existing file and a new name ending in `.csv`
/// (the table is always `sweep.csv` inside the directory).
fn check_out_dir(out: &Path) -> Result<()> {
    let is_file = out.exists() && !out.is_dir();
    let csv_name = !out.exists()
        && out
            .extension()
            .is_some_and(|x| x.eq_ignore_ascii_case("csv"));
    if is_file || csv_name {
        return Err(crate::Error::input(
            out.display().to_string(),
            "--out",
            format!(
                "must be a directory (sweep writes sweep.csv and the plots into it); {}",
                if is_file {
                    "this is an existing file".to_string()
                } else {
                    let dir = out.with_extension("");
                    format!(
                        "a name ending in .csv looks like the table; give e.g. --out {} to \
                         write {}",
                        dir.display(),
                        dir.join("sweep.csv").display()
                    )
                }
            ),
        ));
    }
    Ok(())
}

/// The file names of `paths` (written into a staging directory, reported at their final
/// place).
pub(crate) fn file_names(paths: &[PathBuf]) -> Vec<String> {
    paths
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect()
}

/// The per-workload summary as JSON values (`--json`) and text lines.
pub(crate) fn workload_json(s: &SweepSummary) -> Vec<serde_json::Value> {
    s.workloads
        .iter()
        .map(|w| {
            serde_json::json!({
                "workload": w.workload,
                "rows": w.rows,
                "feasible": w.feasible,
                "pareto": w.pareto,
                "best": w.best.as_ref().map(|b| {
                    let mut m = serde_json::Map::new();
                    m.insert("point".into(), b.point.clone().into());
                    for (k, v) in &b.values {
                        m.insert(k.clone(), v.clone().into());
                    }
                    m.insert("seconds_per_step".into(), b.seconds_per_step.into());
                    serde_json::Value::Object(m)
                }),
            })
        })
        .collect()
}

fn summarise(
    a: &SweepArgs,
    spec: &SweepSpec,
    shard: Shard,
    s: &SweepSummary,
    files: &[PathBuf],
    counts: Counts,
) -> Result<()> {
    if a.json {
        let v = serde_json::json!({
            "spec": a.spec,
            "points": spec.point_count,
            "shard": format!("{}/{}", shard.index, shard.count),
            "rows": s.rows,
            "resumed_points": counts.resumed,
            "evaluated_points": counts.evaluated,
            "skipped_complete": counts.skipped,
            "schedule_source": if a.schedule.is_some() { "given" } else { "search" },
            "workloads": workload_json(s),
            "files": files,
        });
        crate::outln!("{v}")?;
    } else {
        crate::outln!(
            "{} points x {} workloads (shard {}/{}): {} rows",
            spec.point_count,
            spec.workloads.len(),
            shard.index,
            shard.count,
            s.rows
        )?;
        print_workloads(s)?;
        // A skipped run wrote nothing: its files are the complete run's, left as they were.
        let verb = if counts.skipped { "kept" } else { "wrote" };
        for f in files {
            note(format!("{verb} {}", f.display()));
        }
    }
    Ok(())
}

/// One line per workload: feasible rows, front size and the fastest point.
pub(crate) fn print_workloads(s: &SweepSummary) -> Result<()> {
    for w in &s.workloads {
        let best = match &w.best {
            Some(b) => {
                let keys: Vec<String> = b
                    .values
                    .iter()
                    .filter(|(k, _)| k.contains('.'))
                    .map(|(k, v)| format!("{k} = {v}"))
                    .collect();
                format!(
                    "fastest: point {} ({}) at {:.4} s/step",
                    b.point,
                    keys.join(", "),
                    b.seconds_per_step
                )
            }
            None => "no feasible point".into(),
        };
        crate::outln!(
            "  {}: {} feasible, {} on the Pareto front; {best}",
            w.workload,
            w.feasible,
            w.pareto,
        )?;
    }
    Ok(())
}

/// `dir` for messages: `.` when empty.
pub(crate) fn dir_or_dot(dir: Option<&Path>) -> PathBuf {
    dir.filter(|d| !d.as_os_str().is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}
