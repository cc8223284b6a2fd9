//! Output sets under SIGKILL: `luc compress` and `sweep` are killed at random instants
//! while they replace an earlier result, and the output directory must then hold either
//! the old set or the new one, whole (same file names, same bytes as a run that was not
//! interrupted). A later run must remove what the killed ones left beside the directory,
//! and two concurrent writers of one directory must not both succeed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn edgesim() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_edgesim"));
    c.current_dir(root())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

fn ok(args: &[String]) {
    let o = edgesim().args(args).output().expect("edgesim runs");
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Every file under `dir` (relative path -> bytes). A killed sweep's resume state
/// (`.sweep.partial/`, beside the set and never part of it) is left out.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, d: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            let p = e.path();
            if e.file_name() == ".sweep.partial" {
                continue;
            }
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

/// A small deterministic generator (64-bit LCG, Knuth's MMIX constants) for kill delays.
struct Lcg(u64);
impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n.max(1)
    }
}

/// Entries beside `target` that a writer of it leaves while it runs.
fn leftovers(target: &Path) -> Vec<String> {
    let name = target.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::read_dir(target.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!(".{name}.")))
        .collect()
}

/// Runs `args_for(i)` (which write into `target`) `kills` times, killing each after a
/// random delay below `span`, and checks after each that `target` is one of `known`.
/// Returns how many runs were killed before finishing.
fn kill_loop(
    target: &Path,
    known: &[BTreeMap<String, Vec<u8>>],
    args_for: &dyn Fn(usize) -> Vec<String>,
    span: Duration,
    kills: usize,
    seed: u64,
) -> usize {
    let mut rng = Lcg(seed);
    let mut interrupted = 0;
    for i in 0..kills {
        let mut child = edgesim().args(args_for(i)).spawn().expect("spawn");
        let delay = Duration::from_micros(rng.below(span.as_micros() as u64));
        std::thread::sleep(delay);
        if child.try_wait().unwrap().is_none() {
            interrupted += 1;
        }
        let _ = child.kill();
        child.wait().unwrap();
        let now = snapshot(target);
        let which = known.iter().position(|k| *k == now);
        assert!(
            which.is_some(),
            "kill {i} after {delay:?} left a mixed or partial set in {}: {:?}",
            target.display(),
            now.keys().collect::<Vec<_>>()
        );
    }
    interrupted
}

#[test]
fn killed_luc_compress_leaves_the_old_or_the_new_checkpoint_whole() {
    let d = tempfile::tempdir().unwrap();
    let p = |s: &str| d.path().join(s).display().to_string();
    let s = |x: &str| x.to_string();
    ok(&[
        s("luc"),
        s("synth"),
        s("--seed"),
        s("7"),
        s("--out"),
        p("ckpt"),
    ]);
    let policy = |name: &str, bits: u32, sp: f64| {
        let text = format!(
            "layers = 8\nw_bits = [{b}, {b}, {b}, {b}, {b}, {b}, {b}, {b}]\nsparsity = [{sp}, {sp}, {sp}, {sp}, {sp}, {sp}, {sp}, {sp}]\n",
            b = bits
        );
        std::fs::write(d.path().join(name), text).unwrap();
    };
    policy("p4.toml", 4, 0.5);
    policy("p8.toml", 8, 0.0);
    let calib = root()
        .join("data/calibration_text.txt")
        .display()
        .to_string();
    let args = |pol: &str, out: &str| -> Vec<String> {
        vec![
            s("luc"),
            s("compress"),
            s("--checkpoint"),
            p("ckpt"),
            s("--policy"),
            p(pol),
            s("--calib"),
            calib.clone(),
            s("--seq-len"),
            s("32"),
            s("--samples"),
            s("2"),
            s("--out"),
            p(out),
        ]
    };
    // Known-good sets, each from an uninterrupted run into a fresh directory.
    // The kill window is twice the faster of two uninterrupted runs: the first run can be
    // much slower (cold caches, a loaded machine), and a window far beyond a run's length
    // would let every run finish before its kill.
    let t0 = Instant::now();
    ok(&args("p4.toml", "good4"));
    let first = t0.elapsed();
    let t1 = Instant::now();
    ok(&args("p8.toml", "good8"));
    let span = first.min(t1.elapsed()) * 2;
    let known = [
        snapshot(&d.path().join("good4")),
        snapshot(&d.path().join("good8")),
    ];
    assert_ne!(known[0], known[1]);
    assert!(known[0].contains_key("model.safetensors") && known[0].contains_key("config.json"));

    let target = d.path().join("out");
    ok(&args("p4.toml", "out"));
    // A stray file of the user's in the directory survives every replacement.
    let stray = target.join("notes.txt");
    std::fs::write(&stray, "mine").unwrap();
    let with_stray: Vec<BTreeMap<String, Vec<u8>>> = known
        .iter()
        .map(|k| {
            let mut k = k.clone();
            k.insert("notes.txt".into(), b"mine".to_vec());
            k
        })
        .collect();
    let interrupted = kill_loop(
        &target,
        &with_stray,
        &|i| args(if i % 2 == 0 { "p8.toml" } else { "p4.toml" }, "out"),
        span,
        12,
        0x5eed,
    );
    assert!(interrupted > 0, "no run was killed before it finished");
    // A finished run leaves nothing beside the directory, killed runs' leftovers included.
    ok(&args("p8.toml", "out"));
    assert_eq!(snapshot(&target), with_stray[1]);
    assert_eq!(leftovers(&target), Vec::<String>::new());
}

/// Writes a sweep spec over the paper accelerator and the tiny LoRA workload.
fn spec(dir: &Path, name: &str, sweep: &str) -> String {
    let text = format!(
        "base = \"{}\"\nworkloads = [\"{}\", \"{}\"]\n[sweep]\n{sweep}",
        root().join("hw_configs/edge_llm_paper.toml").display(),
        root().join("workloads/tiny_lora.toml").display(),
        root().join("workloads/tiny_lst.toml").display(),
    );
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn killed_sweeps_leave_the_old_or_the_new_set_whole() {
    let d = tempfile::tempdir().unwrap();
    let p = |s: &str| d.path().join(s).display().to_string();
    // Different swept keys, so the plot files differ between the two sets.
    let a = spec(
        d.path(),
        "a.toml",
        "\"sram.capacity_kib\" = [256, 512, 1024, 2048]\n",
    );
    let b = spec(
        d.path(),
        "b.toml",
        "\"dram.data_rate_mtps\" = [1600, 3200]\n\"compute.pe_rows\" = [16, 32]\n",
    );
    // `--force`: every run replaces the set (a killed run of the other spec leaves resume
    // state that a plain run would refuse to mix with its own).
    let args = |spec: &str, out: &str| -> Vec<String> {
        ["sweep", "--spec", spec, "--out", &p(out), "--force"]
            .iter()
            .map(|x| x.to_string())
            .collect()
    };
    let t0 = Instant::now();
    ok(&args(&a, "good_a"));
    let span = t0.elapsed() * 2;
    ok(&args(&b, "good_b"));
    let known = [
        snapshot(&d.path().join("good_a")),
        snapshot(&d.path().join("good_b")),
    ];
    assert!(known[0].keys().any(|k| k.contains("sram_capacity_kib")));
    assert!(!known[1].keys().any(|k| k.contains("sram_capacity_kib")));

    let target = d.path().join("out");
    ok(&args(&a, "out"));
    let interrupted = kill_loop(
        &target,
        &known,
        &|i| args(if i % 2 == 0 { &b } else { &a }, "out"),
        span,
        12,
        0xcafe,
    );
    assert!(interrupted > 0, "no run was killed before it finished");
    ok(&args(&b, "out"));
    assert_eq!(snapshot(&target), known[1]);
    assert_eq!(leftovers(&target), Vec::<String>::new());
    assert!(!target.join(".sweep.partial").exists());
}

#[test]
fn a_second_concurrent_writer_of_one_directory_fails_clearly() {
    let d = tempfile::tempdir().unwrap();
    let target = d.path().join("out");
    // The first writer holds the lock (in this process) while a sweep tries the same
    // directory.
    let held = edgesim::io_util::OutputSet::begin(&target).unwrap();
    let spec = spec(d.path(), "s.toml", "\"sram.capacity_kib\" = [512]\n");
    let o = edgesim()
        .args([
            "sweep",
            "--spec",
            &spec,
            "--out",
            target.to_str().unwrap(),
            "--no-plots",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("another edgesim process is writing") && err.contains("out"),
        "{err}"
    );
    assert!(!target.exists(), "the refused writer wrote nothing");
    drop(held);
    let o = edgesim()
        .args([
            "sweep",
            "--spec",
            &spec,
            "--out",
            target.to_str().unwrap(),
            "--no-plots",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(target.join("sweep.csv").is_file());
}
