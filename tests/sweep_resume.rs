//! Resumable, observable sweeps: a sweep killed with SIGKILL mid-run leaves no table and
//! resumes from its finished chunks to the table an uninterrupted run writes, byte for
//! byte, evaluating only the points it had not finished; a resume under another
//! fingerprint is refused naming the differing field; a complete shard is skipped;
//! `merge` refuses shards of different fingerprints; progress lines reach a log.

use edgesim::dse::fingerprint::Fingerprint;
use edgesim::dse::resume::{Found, PartialStore};
use edgesim::dse::sweep::{ChunkPlan, run_chunked, run_streaming};
use edgesim::dse::{Shard, SweepSpec, SweepWriter, evaluate, table};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn edgesim() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_edgesim"));
    c.current_dir(root());
    c
}

fn run(args: &[&str]) -> Output {
    edgesim().args(args).output().expect("edgesim runs")
}

fn ok(args: &[&str]) -> Output {
    let o = run(args);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn err_text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).expect("JSON summary")
}

/// Writes a spec over the paper accelerator: `workloads` (names under `workloads/`) and
/// the `[sweep]` lines `sweep`.
fn spec(dir: &Path, name: &str, workloads: &[&str], sweep: &str) -> String {
    let wl: Vec<String> = workloads
        .iter()
        .map(|w| format!("\"{}\"", root().join("workloads").join(w).display()))
        .collect();
    let text = format!(
        "base = \"{}\"\nworkloads = [{}]\n[sweep]\n{sweep}",
        root().join("hw_configs/edge_llm_paper.toml").display(),
        wl.join(", ")
    );
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// 20 points of two LLaMA-7B workloads: a few seconds of searches, so a run can be
/// killed after its first chunks and before its end.
fn slow_spec(dir: &Path) -> String {
    spec(
        dir,
        "slow.toml",
        &["llama7b_lora.toml", "llama7b_edge_llm_b5.toml"],
        "\"sram.capacity_kib\" = [128, 256, 512, 1024, 2048]\n\"dram.data_rate_mtps\" = [800, 1600, 3200, 4266]\n",
    )
}

/// Every file under `dir` (relative path -> bytes).
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, d: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let rel = p.strip_prefix(base).unwrap().display().to_string();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The chunk files of `out`'s resume state and the data rows they hold.
fn chunk_rows(out: &Path) -> (usize, usize) {
    let dir = out.join(".sweep.partial");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return (0, 0);
    };
    let mut files = 0;
    let mut rows = 0;
    for e in entries.flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if n.starts_with("chunk-") && n.ends_with(".csv") {
            files += 1;
            // No cell of these tables holds a line break: one line per row.
            rows += std::fs::read_to_string(e.path()).unwrap().lines().count() - 1;
        }
    }
    (files, rows)
}

/// The progress lines `sweep: N/T points, P%, ...` of `stderr`, as (N, T, P).
fn progress_lines(stderr: &str) -> Vec<(u64, u64, u64)> {
    stderr
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("sweep: ")?;
            let (counts, rest) = rest.split_once(" points, ")?;
            let (n, t) = counts.split_once('/')?;
            let (p, _) = rest.split_once("%, ")?;
            Some((n.parse().ok()?, t.parse().ok()?, p.parse().ok()?))
        })
        .collect()
}

#[test]
fn a_killed_sweep_resumes_to_the_uninterrupted_table_byte_for_byte() {
    let d = tempfile::tempdir().unwrap();
    let spec = slow_spec(d.path());
    let whole = d.path().join("whole");
    let w = whole.to_str().unwrap();
    let o = ok(&[
        "sweep",
        "--spec",
        &spec,
        "--out",
        w,
        "--json",
        "--progress-interval",
        "0.05",
    ]);
    let s = json(&o);
    assert_eq!(
        (s["evaluated_points"].as_u64(), s["resumed_points"].as_u64()),
        (Some(20), Some(0))
    );
    // Progress reaches the log (stderr is a pipe here, not a terminal): counts never go
    // back, the total is the 20 points, and the last line says the run is done.
    let e = err_text(&o);
    let lines = progress_lines(&e);
    assert!(lines.len() >= 2, "{e}");
    assert!(
        lines
            .windows(2)
            .all(|p| p[0].0 <= p[1].0 && p[0].2 <= p[1].2),
        "{e}"
    );
    assert!(lines.iter().all(|l| l.1 == 20), "{e}");
    assert_eq!(*lines.last().unwrap(), (20, 20, 100), "{e}");
    assert!(e.contains("sweep: 20/20 points, 100%, done in"), "{e}");
    let expected = snapshot(&whole);
    assert!(expected.contains_key("sweep.csv") && expected.contains_key("sweep.shard.toml"));
    assert!(!whole.join(".sweep.partial").exists());

    // Kill a run once it has written a chunk (SIGKILL: nothing runs after it).
    let out = d.path().join("out");
    let o_ = out.to_str().unwrap();
    let mut child = edgesim()
        .args(["sweep", "--spec", &spec, "--out", o_, "-q"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while chunk_rows(&out).0 == 0 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before its first chunk"
        );
        assert!(t0.elapsed() < Duration::from_secs(120), "no chunk written");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // No final file of a killed run: only the resume state.
    assert!(!out.join("sweep.csv").exists());
    assert!(!out.join("sweep.shard.toml").exists());
    let (files, rows) = chunk_rows(&out);
    assert!(
        files >= 1 && rows >= 2 && rows % 2 == 0,
        "{files} chunks, {rows} rows"
    );
    let finished = rows / 2;
    assert!(
        finished < 20,
        "the kill came after every chunk: {finished} points"
    );

    // Another fingerprint is refused, naming the field and both values; nothing changes.
    let before = snapshot(&out);
    for (flags, field, theirs, ours) in [
        (vec!["--mode", "paper"], "mode", "shared-bus", "paper"),
        (vec!["--time-slack", "5"], "time_slack", "0.01", "0.05"),
        (vec!["--shard", "0/2"], "shard", "0/1", "0/2"),
    ] {
        let mut args = vec!["sweep", "--spec", &spec, "--out", o_];
        args.extend(flags);
        let r = run(&args);
        let e = err_text(&r);
        assert_eq!(r.status.code(), Some(2), "{e}");
        let manifest = out.join(".sweep.partial/manifest.toml");
        assert!(
            e.contains(&format!(
                "{}: fingerprint.{field}: an unfinished sweep with another fingerprint is in \
                 this directory: `{theirs}` there, `{ours}` in this run; rerun it with its \
                 spec, inputs and options to resume it, or add --force",
                manifest.display()
            )),
            "{e}"
        );
        assert_eq!(snapshot(&out), before);
    }

    // The same command resumes: the chunks are read back, only the rest is evaluated,
    // and the set is the uninterrupted run's, byte for byte.
    let r = ok(&[
        "sweep",
        "--spec",
        &spec,
        "--out",
        o_,
        "--json",
        "--progress-interval",
        "0.05",
    ]);
    let s = json(&r);
    assert_eq!(s["resumed_points"].as_u64(), Some(finished as u64));
    assert_eq!(s["evaluated_points"].as_u64(), Some(20 - finished as u64));
    let e = err_text(&r);
    assert!(
        e.contains(&format!("resuming: {finished} of 20 points read back")),
        "{e}"
    );
    // Counts include the resumed points from the first line on.
    let lines = progress_lines(&e);
    assert!(lines.iter().all(|l| l.0 >= finished as u64), "{e}");
    assert_eq!(snapshot(&out), expected);
    assert!(!out.join(".sweep.partial").exists());
}

#[test]
fn a_complete_shard_is_skipped_and_force_or_other_options_recompute() {
    let d = tempfile::tempdir().unwrap();
    let spec = spec(
        d.path(),
        "tiny.toml",
        &["tiny_lora.toml", "tiny_lst.toml"],
        "\"sram.capacity_kib\" = [256, 512, 1024, 2048, 4096, 8192]\n",
    );
    let out = d.path().join("shard-2");
    let o_ = out.to_str().unwrap();
    let args = |extra: &[&'static str]| {
        let mut a = vec![
            "sweep", "--spec", &spec, "--out", o_, "--shard", "2/4", "--json",
        ];
        a.extend_from_slice(extra);
        a
    };
    // Shard 2 of 4 of 6 points (indices 0..=5) holds the points i % 4 == 2: point 2 only.
    let first = json(&ok(&args(&[])));
    assert_eq!(first["evaluated_points"].as_u64(), Some(1));
    assert_eq!(first["rows"].as_u64(), Some(2));
    let set = snapshot(&out);
    let csv_meta = std::fs::metadata(out.join("sweep.csv")).unwrap();
    let again = ok(&args(&[]));
    let e = err_text(&again);
    assert!(
        e.contains(&format!(
            "shard 2/4 already complete: {}; --force recomputes",
            out.join("sweep.csv").display()
        )),
        "{e}"
    );
    let s = json(&again);
    assert_eq!(s["skipped_complete"], true);
    assert_eq!(s["evaluated_points"].as_u64(), Some(0));
    // The summary is the finished run's, read from its table.
    assert_eq!(s["workloads"], first["workloads"]);
    assert_eq!(snapshot(&out), set);
    let same_inode = |m: &std::fs::Metadata| {
        use std::os::unix::fs::MetadataExt;
        (m.ino(), m.mtime(), m.mtime_nsec())
    };
    assert_eq!(
        same_inode(&std::fs::metadata(out.join("sweep.csv")).unwrap()),
        same_inode(&csv_meta),
        "the complete table was rewritten"
    );
    // A run killed after its set was in place and before its resume state was removed:
    // the rerun skips the complete table and removes that state.
    let rec = std::fs::read_to_string(out.join("sweep.shard.toml")).unwrap();
    let fp = &rec[rec.find("[fingerprint]").unwrap()..];
    std::fs::create_dir_all(out.join(".sweep.partial")).unwrap();
    std::fs::write(out.join(".sweep.partial/manifest.toml"), fp).unwrap();
    let s = json(&ok(&args(&[])));
    assert_eq!(s["skipped_complete"], true);
    assert!(!out.join(".sweep.partial").exists());
    assert_eq!(snapshot(&out), set);
    let forced = json(&ok(&args(&["--force"])));
    assert_eq!(
        (
            forced["skipped_complete"].as_bool(),
            forced["evaluated_points"].as_u64()
        ),
        (Some(false), Some(1))
    );
    assert_eq!(snapshot(&out), set);
    // Other options are another sweep, whose complete table is not replaced silently:
    // refused naming the field and the record, the table untouched; --force replaces it.
    let refused = run(&args(&["--mode", "paper"]));
    assert_eq!(refused.status.code(), Some(2));
    let e = err_text(&refused);
    assert!(
        e.contains(&format!(
            "{}: fingerprint.mode: the output directory holds the table of another sweep: \
             `shared-bus` there, `paper` in this run; choose another --out, or add --force \
             to replace it",
            out.join("sweep.shard.toml").display()
        )),
        "{e}"
    );
    assert_eq!(snapshot(&out), set);
    let paper = json(&ok(&args(&["--mode", "paper", "--force"])));
    assert_eq!(paper["evaluated_points"].as_u64(), Some(1));
    let rec = std::fs::read_to_string(out.join("sweep.shard.toml")).unwrap();
    assert!(
        rec.contains("mode = \"paper\"") && rec.contains("shard = \"2/4\""),
        "{rec}"
    );
    // A table whose record lost its fingerprint (an older edgesim's) is recomputed.
    std::fs::write(
        out.join("sweep.shard.toml"),
        "shard = 2\ncount = 4\npoints = 6\n",
    )
    .unwrap();
    let old = json(&ok(&args(&["--mode", "paper"])));
    assert_eq!(old["evaluated_points"].as_u64(), Some(1));
}

#[test]
fn merge_refuses_shards_of_different_fingerprints_naming_field_and_files() {
    let d = tempfile::tempdir().unwrap();
    let spec = spec(
        d.path(),
        "tiny.toml",
        &["tiny_lora.toml"],
        "\"sram.capacity_kib\" = [512, 1024, 2048, 4096]\n",
    );
    let shard = |i: usize, extra: &[&str]| {
        let out = d.path().join(format!("s{i}{}", extra.concat()));
        let mut a = vec![
            "sweep".to_string(),
            "--spec".into(),
            spec.clone(),
            "--out".into(),
            out.display().to_string(),
            "--shard".into(),
            format!("{i}/2"),
            "--no-plots".into(),
        ];
        a.extend(extra.iter().map(|x| x.to_string()));
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        ok(&a);
        out.join("sweep.csv").display().to_string()
    };
    let s0 = shard(0, &[]);
    let s1 = shard(1, &[]);
    let s1_paper = shard(1, &["--mode", "paper"]);
    let s1_cycle = shard(1, &["--engine", "cycle"]);
    let merged = d.path().join("m/sweep.csv");
    let m = merged.to_str().unwrap();
    for (odd, field, here, there) in [
        (&s1_paper, "mode", "paper", "shared-bus"),
        (&s1_cycle, "engine", "cycle", "analytic"),
    ] {
        let o = run(&["merge", &s0, odd, "--out", m, "--no-plots"]);
        let e = err_text(&o);
        assert_eq!(o.status.code(), Some(2), "{e}");
        assert!(
            e.contains(&format!(
                "{odd}: fingerprint.{field}: `{here}`, but {s0} has `{there}`: the shards were \
                 not computed by one sweep"
            )),
            "{e}"
        );
        assert!(!merged.exists());
    }
    // A shard of an older edgesim (no fingerprint) beside a fingerprinted one.
    let old = d.path().join("old");
    std::fs::create_dir_all(&old).unwrap();
    std::fs::copy(&s1, old.join("sweep.csv")).unwrap();
    std::fs::write(
        old.join("sweep.shard.toml"),
        "shard = 1\ncount = 2\npoints = 4\n",
    )
    .unwrap();
    let old_csv = old.join("sweep.csv").display().to_string();
    let e = err_text(&run(&["merge", &s0, &old_csv, "--out", m, "--no-plots"]));
    assert!(
        e.contains(&format!(
            "{old_csv}: fingerprint: missing (written by an older edgesim)"
        )),
        "{e}"
    );
    // Shards of one sweep merge, and the merged record is the whole sweep's.
    ok(&["merge", &s1, &s0, "--out", m, "--no-plots"]);
    let rec = std::fs::read_to_string(d.path().join("m/sweep.shard.toml")).unwrap();
    assert!(
        rec.contains("shard = 0\ncount = 1\npoints = 4\nrows = 4\n"),
        "{rec}"
    );
    assert!(rec.contains("shard = \"0/1\""), "{rec}");
    // ... and equal the record of a single run of the whole sweep.
    let single = d.path().join("single");
    ok(&[
        "sweep",
        "--spec",
        &spec,
        "--out",
        single.to_str().unwrap(),
        "--no-plots",
    ]);
    assert_eq!(
        std::fs::read_to_string(single.join("sweep.shard.toml")).unwrap(),
        rec
    );
    assert_eq!(
        std::fs::read(single.join("sweep.csv")).unwrap(),
        std::fs::read(&merged).unwrap()
    );
}

#[test]
fn quiet_sweeps_print_no_progress() {
    let d = tempfile::tempdir().unwrap();
    let spec = spec(
        d.path(),
        "tiny.toml",
        &["tiny_lora.toml"],
        "\"sram.capacity_kib\" = [512, 1024]\n",
    );
    let out = d.path().join("q");
    let o = ok(&[
        "-q",
        "sweep",
        "--spec",
        &spec,
        "--out",
        out.to_str().unwrap(),
        "--no-plots",
        "--progress-interval",
        "0.001",
    ]);
    assert_eq!(err_text(&o), "");
    let r = run(&[
        "sweep",
        "--spec",
        &spec,
        "--out",
        out.to_str().unwrap(),
        "--progress-interval",
        "0",
    ]);
    let e = err_text(&r);
    assert_eq!(r.status.code(), Some(2), "{e}");
    assert!(
        e.contains(
            "--progress-interval: progress_interval: 0: must be a positive number of seconds, at most 32000000 (a year)"
        ),
        "{e}"
    );
}

/// The library path: a run that fails part-way keeps its finished chunks; the rerun reads
/// them back, evaluates exactly the other points (counted), and writes the table of an
/// uninterrupted run byte for byte. A damaged chunk is dropped and its points evaluated
/// again.
#[test]
fn resumed_runs_evaluate_only_unfinished_points_and_write_the_same_table() {
    let d = tempfile::tempdir().unwrap();
    let spec_path = spec(
        d.path(),
        "lib.toml",
        &["tiny_lora.toml", "tiny_lst.toml"],
        "\"sram.capacity_kib\" = [256, 512, 1024, 2048]\n\"dram.data_rate_mtps\" = [1600, 3200, 4266]\n",
    );
    let spec_text = std::fs::read_to_string(&spec_path).unwrap();
    let spec = SweepSpec::from_file(Path::new(&spec_path)).unwrap();
    assert_eq!(spec.point_count, 12);
    let wls = evaluate::load_traces(&spec.workloads).unwrap();
    let names: Vec<String> = wls.iter().map(|w| w.name.clone()).collect();
    let opts = evaluate::options(None).unwrap();
    let base = std::fs::read_to_string(&spec.base).unwrap();
    let fp = Fingerprint::new(&spec_text, &base, &wls, &opts, "analytic", Shard::ALL);
    let keys = spec.key_names();
    let header = table::header(&keys);

    // The uninterrupted table.
    let whole = d.path().join("whole.csv");
    let mut w = SweepWriter::create(&whole, &keys).unwrap();
    run_streaming(
        &spec,
        &wls,
        Shard::ALL,
        |hw, t| evaluate::outcome(hw, t, &opts),
        || (),
        |r| w.push(&r),
    )
    .unwrap();
    w.finish().unwrap();

    // Two points per chunk; the ninth evaluation fails (in the third chunk), so two
    // chunks (points 0-3) are on disk.
    let plan = ChunkPlan {
        max_points: 2,
        target: None,
    };
    let out = d.path().join("out");
    let count = AtomicUsize::new(0);
    let failing = |hw: &edgesim::hw::HwConfig, t: &edgesim::workload::Trace| {
        if count.fetch_add(1, Ordering::SeqCst) + 1 == 9 {
            return Err(edgesim::Error::Other("killed".into()));
        }
        evaluate::outcome(hw, t, &opts)
    };
    let (store, found) = PartialStore::open(&out, &fp, &header, false).unwrap();
    assert_eq!(found, Found::Nothing);
    let e = run_chunked(
        &spec,
        &wls,
        Shard::ALL,
        0,
        plan,
        failing,
        || (),
        |rows| store.write_chunk(&rows),
    )
    .unwrap_err();
    assert!(e.to_string().contains("killed"));
    drop(store);

    // Resume: 4 points read back, (12 - 4) x 2 = 16 evaluations.
    let resume = |expect_points: usize, expect_evals: usize| {
        let (store, found) = PartialStore::open(&out, &fp, &header, false).unwrap();
        assert_eq!(found, Found::Same);
        let dest = d.path().join("resumed.csv");
        let mut w = SweepWriter::create(&dest, &keys).unwrap();
        let replay = store
            .replay(&spec, Shard::ALL, &names, |c| w.push_cells(c))
            .unwrap();
        assert_eq!(replay.points, expect_points);
        assert_eq!(replay.rows, 2 * expect_points as u64);
        let evals = AtomicUsize::new(0);
        let n = run_chunked(
            &spec,
            &wls,
            Shard::ALL,
            replay.points,
            plan,
            |hw, t| {
                evals.fetch_add(1, Ordering::SeqCst);
                evaluate::outcome(hw, t, &opts)
            },
            || (),
            |rows| {
                store.write_chunk(&rows)?;
                rows.iter().try_for_each(|r| w.push(r))
            },
        )
        .unwrap();
        assert_eq!(n, 12 - expect_points);
        assert_eq!(evals.load(Ordering::SeqCst), expect_evals);
        w.finish().unwrap();
        assert_eq!(
            std::fs::read(&dest).unwrap(),
            std::fs::read(&whole).unwrap()
        );
        (store, replay)
    };
    let (store, _) = resume(4, 16);
    // Every point is on disk now: a second resume evaluates nothing.
    let _ = resume(12, 0);
    // A chunk whose rows are not its points' (here: the chunk of points 4-5 holding the
    // rows of points 2-3) is dropped with the later ones, and their points evaluated again.
    let dir = store.dir().to_path_buf();
    std::fs::copy(dir.join("chunk-2.csv"), dir.join("chunk-4.csv")).unwrap();
    let (_, replay) = resume(4, 16);
    assert_eq!(replay.dropped.len(), 1, "{:?}", replay.dropped);
    assert!(
        replay.dropped[0].contains("chunk-4.csv: row 2 is point 2 workload tiny_lora, expected point 4 workload tiny_lora; it and 3 later chunk(s) are evaluated again"),
        "{:?}",
        replay.dropped
    );
    // Another fingerprint is refused without force and discarded with it.
    let other = fp.clone().with_shard(Shard { index: 0, count: 2 });
    let e = PartialStore::open(&out, &other, &header, false)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("fingerprint.shard: an unfinished sweep with another fingerprint"),
        "{e}"
    );
    let (store, found) = PartialStore::open(&out, &other, &header, true).unwrap();
    assert_eq!(found, Found::Discarded);
    assert_eq!(
        store
            .replay(&spec, Shard::ALL, &names, |_| Ok(()))
            .unwrap()
            .points,
        0
    );
    store.remove().unwrap();
    assert!(!out.join(".sweep.partial").exists());
}

/// One output set per directory: a merge never replaces its own inputs or another
/// command's set, a sweep never replaces a merge's; a damaged complete table is computed
/// again; an absurd progress interval is refused, not a panic.
#[test]
fn output_directories_of_other_commands_and_damaged_tables_are_handled() {
    let d = tempfile::tempdir().unwrap();
    let spec = spec(
        d.path(),
        "tiny.toml",
        &["tiny_lora.toml"],
        "\"sram.capacity_kib\" = [512, 1024, 2048]\n",
    );
    let dir = |n: &str| d.path().join(n).to_str().unwrap().to_string();
    for (i, n) in ["s0", "s1"].iter().enumerate() {
        let shard = format!("{i}/2");
        ok(&[
            "-q",
            "sweep",
            "--no-plots",
            "--spec",
            &spec,
            "--out",
            &dir(n),
            "--shard",
            &shard,
        ]);
    }
    let s0 = snapshot(Path::new(&dir("s0")));
    let inputs = [
        format!("{}/sweep.csv", dir("s0")),
        format!("{}/sweep.csv", dir("s1")),
    ];
    // Into an input's directory: refused, the shard untouched.
    let into_input = format!("{}/merged.csv", dir("s0"));
    let o = run(&[
        "merge",
        "--no-plots",
        "--out",
        &into_input,
        &inputs[0],
        &inputs[1],
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", err_text(&o));
    assert!(
        err_text(&o).contains(&format!(
            "{into_input}: --out: {} is in the merged table's directory",
            inputs[0]
        )),
        "{}",
        err_text(&o)
    );
    assert_eq!(snapshot(Path::new(&dir("s0"))), s0);
    // Into a complete sweep's directory (not an input): refused naming its files.
    ok(&[
        "-q",
        "sweep",
        "--no-plots",
        "--spec",
        &spec,
        "--out",
        &dir("whole"),
    ]);
    let whole = snapshot(Path::new(&dir("whole")));
    let into_sweep = format!("{}/merged.csv", dir("whole"));
    let o = run(&[
        "merge",
        "--no-plots",
        "--out",
        &into_sweep,
        &inputs[0],
        &inputs[1],
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err_text(&o).contains(&format!(
            "{}: --out: holds the output of another command (sweep.csv, sweep.shard.toml)",
            dir("whole")
        )),
        "{}",
        err_text(&o)
    );
    assert_eq!(snapshot(Path::new(&dir("whole"))), whole);
    // A merged set, then a sweep into its directory: refused.
    let merged = format!("{}/merged.csv", dir("m"));
    ok(&[
        "-q",
        "merge",
        "--no-plots",
        "--out",
        &merged,
        &inputs[0],
        &inputs[1],
    ]);
    let o = run(&["sweep", "--no-plots", "--spec", &spec, "--out", &dir("m")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err_text(&o).contains("holds the output of another command (merged.csv"));
    assert!(Path::new(&merged).is_file());
    // The merged table equals the single run's.
    assert_eq!(
        std::fs::read(&merged).unwrap(),
        std::fs::read(format!("{}/sweep.csv", dir("whole"))).unwrap()
    );
    // A complete table cut mid-row: computed again (a warning), back to the same bytes.
    let csv = format!("{}/sweep.csv", dir("whole"));
    let full = std::fs::read(&csv).unwrap();
    std::fs::write(&csv, &full[..full.len() - 7]).unwrap();
    let o = ok(&[
        "sweep",
        "--no-plots",
        "--json",
        "--spec",
        &spec,
        "--out",
        &dir("whole"),
    ]);
    assert_eq!(json(&o)["evaluated_points"].as_u64(), Some(3));
    assert!(
        err_text(&o).contains("computing the table again"),
        "{}",
        err_text(&o)
    );
    assert_eq!(std::fs::read(&csv).unwrap(), full);
    // Past a year of seconds: refused with the range (Duration would panic).
    let o = run(&[
        "sweep",
        "--spec",
        &spec,
        "--out",
        &dir("p"),
        "--progress-interval",
        "1e30",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err_text(&o).contains("at most 32000000 (a year)"),
        "{}",
        err_text(&o)
    );
}
