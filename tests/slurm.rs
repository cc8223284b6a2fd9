//! Sweeps as Slurm job arrays, on a real single-node Slurm: Debian's slurmctld, slurmd
//! and munge, installed with apt-get when missing (as root, as CI runs), started by the
//! test with a `slurm.conf` it writes into a temporary directory, and stopped again
//! whatever happens (a `Drop` guard). The sweep is submitted with `scripts/slurm/submit.sh`
//! exactly as a cluster user would: a 4-task array of `edgesim sweep --shard i/4` and the
//! merge job depending on it (`afterok`).
//!
//! Checked: every task and the merge complete; each shard holds exactly the points whose
//! index mod 4 is its task id; the merged `sweep.csv` is byte-identical to a
//! single-machine `edgesim sweep` of the spec; one deleted shard re-run alone with
//! `EDGESIM_ARRAY=2` (how the README resumes failed shards) comes back byte-identical and
//! the merge again equals the single run; a spec that fails in every task leaves the merge
//! cancelled (the dependency holds) and no merged table.
//!
//! Skips, printing why, only when Slurm cannot be installed: not root, no apt-get, or the
//! install failed.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Debian packages providing the daemons and the client commands (`slurm-client` comes
/// with `slurmctld`).
const PACKAGES: [&str; 3] = ["slurmctld", "slurmd", "munge"];

/// Programs the test and `scripts/slurm/submit.sh` run.
const PROGRAMS: [&str; 9] = [
    "slurmctld",
    "slurmd",
    "munged",
    "mungekey",
    "sbatch",
    "scontrol",
    "sinfo",
    "scancel",
    "squeue",
];

/// Array tasks of the test sweep.
const SHARDS: usize = 4;

/// Longest wait for a job or the node (the jobs take seconds; the machine may be busy).
const WAIT: Duration = Duration::from_secs(300);

/// Job states after which a job no longer changes (Slurm's `scontrol show job` names).
const FINAL_STATES: [&str; 9] = [
    "COMPLETED",
    "FAILED",
    "CANCELLED",
    "TIMEOUT",
    "NODE_FAIL",
    "OUT_OF_MEMORY",
    "BOOT_FAIL",
    "DEADLINE",
    "PREEMPTED",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Directories searched for the programs: `PATH`, then the system directories a root
/// shell has (Debian puts the daemons in /usr/sbin).
fn search_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    for d in [
        "/usr/local/sbin",
        "/usr/local/bin",
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
    ] {
        dirs.push(PathBuf::from(d));
    }
    dirs
}

fn find(program: &str) -> Option<PathBuf> {
    search_dirs()
        .into_iter()
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// Runs `cmd`, returning (success, stdout + stderr).
fn run(cmd: &mut Command) -> (bool, String) {
    match cmd.output() {
        Ok(o) => (
            o.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        ),
        Err(e) => (false, format!("{cmd:?}: {e}")),
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The programs, installing the packages when one is missing; `Err` says why Slurm
/// cannot be had here.
fn slurm_programs() -> Result<Vec<(String, PathBuf)>, String> {
    let found = || -> Option<Vec<(String, PathBuf)>> {
        PROGRAMS
            .iter()
            .map(|p| find(p).map(|path| (p.to_string(), path)))
            .collect()
    };
    if let Some(all) = found() {
        return Ok(all);
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Err("Slurm is not installed and installing it needs root".into());
    }
    let apt = find("apt-get").ok_or("Slurm is not installed and there is no apt-get")?;
    let install = || {
        let mut c = Command::new(&apt);
        c.args(["install", "-y", "--no-install-recommends"])
            // Wait for another apt-get instead of failing on its lock.
            .args(["-o", "DPkg::Lock::Timeout=300"])
            .args(PACKAGES)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null());
        run(&mut c)
    };
    let t0 = Instant::now();
    let (mut ok, mut log) = install();
    if !ok {
        // A stale package list is the usual cause; refresh it once.
        let (_, update) = run(Command::new(&apt)
            .args(["update", "-o", "DPkg::Lock::Timeout=300"])
            .stdin(Stdio::null()));
        (ok, log) = install();
        log = format!("{update}\n{log}");
    }
    if !ok {
        return Err(format!(
            "apt-get install {} failed:\n{}",
            PACKAGES.join(" "),
            tail(&log, 15)
        ));
    }
    eprintln!(
        "installed {} in {:.1} s",
        PACKAGES.join(" "),
        t0.elapsed().as_secs_f64()
    );
    found().ok_or_else(|| format!("installed {PACKAGES:?} but some of {PROGRAMS:?} are missing"))
}

/// Two free TCP ports for slurmctld and slurmd, so that daemons left by a killed earlier
/// run cannot collide with this one.
fn free_ports() -> (u16, u16) {
    let a = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let b = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    (
        a.local_addr().unwrap().port(),
        b.local_addr().unwrap().port(),
    )
}

/// One record of `scontrol -o show job`: the array task id (none for a job that is not
/// an array task, or for the record of an array's tasks not yet started) and the state.
#[derive(Debug)]
struct JobRecord {
    task: Option<usize>,
    state: String,
}

/// A running single-node cluster; dropping it cancels the jobs and stops the daemons.
struct Cluster {
    dir: tempfile::TempDir,
    conf: PathBuf,
    path: OsString,
    programs: Vec<(String, PathBuf)>,
    daemons: Vec<(&'static str, Child)>,
}

impl Cluster {
    fn program(&self, name: &str) -> &Path {
        &self.programs.iter().find(|(n, _)| n == name).unwrap().1
    }

    /// A command of the cluster: its config and the programs' directories on `PATH`.
    fn cmd(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(program);
        c.env("SLURM_CONF", &self.conf)
            .env("PATH", &self.path)
            .stdin(Stdio::null());
        c
    }

    fn spawn(&mut self, name: &'static str, args: &[&str]) {
        let out = std::fs::File::create(self.dir.path().join(format!("{name}.out"))).unwrap();
        let err = out.try_clone().unwrap();
        let child = self
            .cmd(self.program(name))
            .args(args)
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name}: {e}"));
        self.daemons.push((name, child));
    }

    /// The daemons' output, for failure messages.
    fn logs(&self) -> String {
        let mut s = String::new();
        for name in ["munged", "slurmctld", "slurmd"] {
            for ext in ["out", "log"] {
                let p = self.dir.path().join(format!("{name}.{ext}"));
                if let Ok(t) = std::fs::read_to_string(&p) {
                    s += &format!("--- {}\n{}\n", p.display(), tail(&t, 20));
                }
            }
        }
        s
    }

    /// Polls `check` until it returns `Some`, failing after `WAIT` or when a daemon exits.
    fn wait_for<T>(&mut self, what: &str, mut check: impl FnMut(&Cluster) -> Option<T>) -> T {
        let t0 = Instant::now();
        loop {
            if let Some(v) = check(self) {
                return v;
            }
            for (name, child) in &mut self.daemons {
                if let Ok(Some(status)) = child.try_wait() {
                    let name = *name;
                    panic!(
                        "{name} exited ({status}) while waiting for {what}\n{}",
                        self.logs()
                    );
                }
            }
            assert!(
                t0.elapsed() < WAIT,
                "timed out after {WAIT:?} waiting for {what}\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// Writes the config and a munge key, starts munged, slurmctld and slurmd, and waits
    /// for the node to be idle.
    fn start(programs: Vec<(String, PathBuf)>) -> Cluster {
        let dir = tempfile::Builder::new()
            .prefix("edgesim-slurm-")
            .tempdir()
            .unwrap();
        let d = dir.path().to_path_buf();
        // munged requires every directory up to its socket to be searchable by all.
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
        for sub in ["run", "munge", "state", "spool"] {
            std::fs::create_dir(d.join(sub)).unwrap();
        }
        std::fs::set_permissions(d.join("munge"), std::fs::Permissions::from_mode(0o700)).unwrap();
        let mut path_dirs: Vec<PathBuf> = programs
            .iter()
            .filter_map(|(_, p)| p.parent().map(Path::to_path_buf))
            .collect();
        path_dirs.dedup();
        path_dirs.extend(search_dirs());
        let path = std::env::join_paths(path_dirs).unwrap();
        let mut c = Cluster {
            conf: d.join("slurm.conf"),
            dir,
            path,
            programs,
            daemons: Vec::new(),
        };

        let key = d.join("munge/munge.key");
        let (ok, out) = run(c
            .cmd(c.program("mungekey"))
            .arg("--create")
            .arg("--keyfile")
            .arg(&key));
        assert!(ok, "mungekey: {out}");
        let socket = d.join("run/munge.socket");
        c.spawn(
            "munged",
            &[
                "--foreground",
                &format!("--key-file={}", key.display()),
                &format!("--socket={}", socket.display()),
                &format!("--pid-file={}", d.join("run/munged.pid").display()),
                &format!("--seed-file={}", d.join("munge/munged.seed").display()),
                &format!("--log-file={}", d.join("munged.log").display()),
            ],
        );
        c.wait_for("the munge socket", |_| socket.exists().then_some(()));

        // The node as slurmd sees it (CPUs, sockets, memory), so it registers as configured.
        let (ok, out) = run(c.cmd(c.program("slurmd")).arg("-C"));
        assert!(ok, "slurmd -C: {out}");
        let node = out
            .lines()
            .find(|l| l.starts_with("NodeName="))
            .unwrap_or_else(|| panic!("slurmd -C printed no NodeName line: {out}"))
            .to_string();
        let (ok, host) = run(Command::new("hostname").arg("-s"));
        assert!(ok, "hostname -s: {host}");
        let (ctld_port, slurmd_port) = free_ports();
        // Addresses are given, so neither daemon has to resolve the host name.
        let conf = format!(
            "# Written by tests/slurm.rs: one node, no accounting, no cgroups.\n\
             ClusterName=edgesim-test\n\
             SlurmctldHost={host}(127.0.0.1)\n\
             SlurmctldPort={ctld_port}\n\
             SlurmdPort={slurmd_port}\n\
             SlurmUser=root\n\
             SlurmdUser=root\n\
             AuthType=auth/munge\n\
             AuthInfo=socket={socket}\n\
             CredType=cred/munge\n\
             StateSaveLocation={d}/state\n\
             SlurmdSpoolDir={d}/spool\n\
             SlurmctldPidFile={d}/run/slurmctld.pid\n\
             SlurmdPidFile={d}/run/slurmd.pid\n\
             SlurmctldLogFile={d}/slurmctld.log\n\
             SlurmdLogFile={d}/slurmd.log\n\
             ProctrackType=proctrack/linuxproc\n\
             TaskPlugin=task/none\n\
             JobAcctGatherType=jobacct_gather/none\n\
             AccountingStorageType=accounting_storage/none\n\
             JobCompType=jobcomp/none\n\
             MpiDefault=none\n\
             SelectType=select/cons_tres\n\
             SelectTypeParameters=CR_Core\n\
             ReturnToService=2\n\
             {node} NodeAddr=127.0.0.1 State=UNKNOWN\n\
             PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP\n",
            host = host.trim(),
            socket = socket.display(),
            d = d.display(),
        );
        std::fs::write(&c.conf, conf).unwrap();

        c.spawn("slurmctld", &["-D"]);
        c.spawn("slurmd", &["-D"]);
        c.wait_for("the node to be idle", |c| {
            let (ok, out) = run(c.cmd("sinfo").args(["-h", "-N", "-o", "%T"]));
            (ok && out.trim() == "idle").then_some(())
        });
        c
    }

    /// Runs `scripts/slurm/submit.sh` in the test directory with `env`; returns the array
    /// and merge job ids it prints.
    fn submit(&self, env: &[(&str, &str)]) -> (u64, u64) {
        let mut cmd = self.cmd(root().join("scripts/slurm/submit.sh"));
        cmd.current_dir(self.dir.path())
            .env("EDGESIM_BIN", env!("CARGO_BIN_EXE_edgesim"))
            .env("EDGESIM_SHARDS", SHARDS.to_string())
            // One CPU per task: the node's two CPUs then run two shards at once.
            .args(["--cpus-per-task=1", "--time=00:10:00"]);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let (ok, out) = run(&mut cmd);
        assert!(ok, "submit.sh failed:\n{out}\n{}", self.logs());
        let id = |key: &str| -> u64 {
            out.lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or_else(|| panic!("submit.sh printed no {key}<id>:\n{out}"))
        };
        (id("array_job="), id("merge_job="))
    }

    /// The records of job `id` (an array job gives one per task).
    fn jobs(&self, id: u64) -> Vec<JobRecord> {
        let (ok, out) = run(self
            .cmd("scontrol")
            .args(["-o", "show", "job", &id.to_string()]));
        assert!(ok, "scontrol show job {id}: {out}");
        out.lines()
            .filter(|l| l.contains("JobState="))
            .map(|l| {
                let field = |k: &str| {
                    l.split_whitespace()
                        .find_map(|f| f.strip_prefix(k))
                        .unwrap_or("")
                        .to_string()
                };
                JobRecord {
                    task: field("ArrayTaskId=").parse().ok(),
                    state: field("JobState="),
                }
            })
            .collect()
    }

    /// Waits until every record of job `id` is in a final state; returns the records.
    fn wait_done(&mut self, id: u64) -> Vec<JobRecord> {
        self.wait_for(&format!("job {id}"), |c| {
            let jobs = c.jobs(id);
            // A pending array also has a record for its tasks not yet started (task id
            // `1-3`), so all records final means every task is.
            (!jobs.is_empty()
                && jobs
                    .iter()
                    .all(|j| FINAL_STATES.contains(&j.state.as_str())))
            .then_some(jobs)
        })
    }

    /// Waits for array `array` and its merge `merge`; returns (task id, state) sorted, and
    /// the merge's state.
    fn wait_sweep(&mut self, array: u64, merge: u64) -> (Vec<(usize, String)>, String) {
        let mut merge_jobs = self.wait_done(merge);
        let merge_state = merge_jobs.pop().map(|j| j.state).unwrap_or_default();
        let mut tasks: Vec<(usize, String)> = self
            .wait_done(array)
            .into_iter()
            .map(|j| {
                let t = j
                    .task
                    .unwrap_or_else(|| panic!("array record without a task id: {j:?}"));
                (t, j.state)
            })
            .collect();
        tasks.sort();
        (tasks, merge_state)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Cancel what is left (a failed assertion may leave jobs) and let the job steps
        // end before their slurmd does, so that no job process outlives the cluster.
        if self.daemons.iter().any(|(n, _)| *n == "slurmctld") {
            let _ = run(self.cmd("scancel").args(["--user=root"]));
            let t0 = Instant::now();
            while t0.elapsed() < Duration::from_secs(20) {
                match run(self.cmd("squeue").args(["-h", "-o", "%i"])) {
                    (true, out) if out.trim().is_empty() => break,
                    (true, _) => std::thread::sleep(Duration::from_millis(300)),
                    (false, _) => break,
                }
            }
        }
        // Daemons in reverse start order: slurmd, slurmctld, munged.
        while let Some((name, mut child)) = self.daemons.pop() {
            if let Ok(None) = child.try_wait() {
                // SAFETY: kill(2) on the id of a child this process started and has not
                // yet reaped, so the id cannot have been reused.
                unsafe {
                    libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
                }
                let t0 = Instant::now();
                while matches!(child.try_wait(), Ok(None)) && t0.elapsed() < Duration::from_secs(15)
                {
                    std::thread::sleep(Duration::from_millis(100));
                }
                if matches!(child.try_wait(), Ok(None)) {
                    eprintln!("{name} ignored SIGTERM for 15 s; killing it");
                    let _ = child.kill();
                }
            }
            let _ = child.wait();
        }
    }
}

/// The sweep spec of the test: 5 SRAM sizes x 3 DRAM rates x 2 array heights = 30
/// points (shards of 8, 8, 7 and 7 points) over the two small test workloads; seconds of
/// searches.
fn write_spec(dir: &Path, name: &str, extra: &str) -> PathBuf {
    let r = root();
    let spec = format!(
        "base = \"{}/hw_configs/edge_llm_paper.toml\"\n\
         workloads = [\"{}/workloads/tiny_lora.toml\", \"{}/workloads/tiny_edge_llm.toml\"]\n\
         combine = \"product\"\n\
         [sweep]\n\
         \"sram.capacity_kib\" = [64, 256, 512, 1024, 2048]\n\
         \"dram.data_rate_mtps\" = [1600, 3200, 4266]\n\
         \"compute.pe_rows\" = [16, 32]\n{extra}",
        r.display(),
        r.display(),
        r.display()
    );
    let path = dir.join(name);
    std::fs::write(&path, spec).unwrap();
    path
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Asserts two tables are byte-identical, naming the first differing line.
fn assert_same_table(got: &Path, want: &Path) {
    let (g, w) = (read(got), read(want));
    if g != w {
        let (gs, ws) = (String::from_utf8_lossy(&g), String::from_utf8_lossy(&w));
        let line = gs.lines().zip(ws.lines()).position(|(a, b)| a != b).map_or(
            "(one is a prefix of the other)".to_string(),
            |i| {
                format!(
                    "line {}:\n  {}\n  {}",
                    i + 1,
                    gs.lines().nth(i).unwrap(),
                    ws.lines().nth(i).unwrap()
                )
            },
        );
        panic!(
            "{} differs from {} ({} vs {} bytes) at {line}",
            got.display(),
            want.display(),
            g.len(),
            w.len()
        );
    }
}

/// The point indices of a sweep table's rows.
fn points(csv: &Path) -> Vec<usize> {
    let text = String::from_utf8(read(csv)).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    assert!(header.starts_with("point,"), "{header}");
    lines
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect()
}

#[test]
fn array_sweep_on_slurm_merges_to_the_single_machine_table() {
    let programs = match slurm_programs() {
        Ok(p) => p,
        Err(why) => {
            eprintln!("skipping the Slurm test: {why}");
            return;
        }
    };
    let t0 = Instant::now();
    let mut cluster = Cluster::start(programs);
    eprintln!("cluster up in {:.1} s", t0.elapsed().as_secs_f64());
    let dir = cluster.dir.path().to_path_buf();
    let spec = write_spec(&dir, "sweep.toml", "");

    // The reference: one process, the whole spec.
    let single = dir.join("single");
    let (ok, out) = run(Command::new(env!("CARGO_BIN_EXE_edgesim"))
        .args(["-q", "sweep", "--no-plots", "--spec"])
        .arg(&spec)
        .arg("--out")
        .arg(&single));
    assert!(ok, "single sweep: {out}");
    let single_csv = single.join("sweep.csv");
    let all_points = points(&single_csv);
    assert_eq!(all_points.len(), 30 * 2, "30 points x 2 workloads");

    // The array and the merge, as a user submits them.
    let t1 = Instant::now();
    let (array, merge) = cluster.submit(&[("EDGESIM_SPEC", "sweep.toml"), ("EDGESIM_OUT", "out")]);
    let (tasks, merge_state) = cluster.wait_sweep(array, merge);
    eprintln!(
        "array of {SHARDS} + merge on Slurm: {:.1} s",
        t1.elapsed().as_secs_f64()
    );
    let out = dir.join("out");
    let want: Vec<(usize, String)> = (0..SHARDS).map(|i| (i, "COMPLETED".into())).collect();
    assert_eq!(tasks, want, "array tasks\n{}", cluster.logs());
    assert_eq!(merge_state, "COMPLETED", "merge\n{}", cluster.logs());
    for i in 0..SHARDS {
        // The shard holds exactly its residue class of points, each with both workloads.
        let got = points(&out.join(format!("shard-{i}/sweep.csv")));
        let expected: Vec<usize> = all_points
            .iter()
            .copied()
            .filter(|p| p % SHARDS == i)
            .collect();
        assert_eq!(got, expected, "shard {i}");
        let log =
            String::from_utf8(read(&out.join(format!("logs/sweep-{array}_{i}.out")))).unwrap();
        assert!(
            log.contains(&format!("shard {i}/{SHARDS} done")),
            "log of task {i}:\n{log}"
        );
    }
    assert_same_table(&out.join("merged/sweep.csv"), &single_csv);
    // The merge draws the plots (the shards do not).
    assert!(out.join("merged/pareto_tiny_lora.png").is_file());
    assert!(!out.join("shard-0/pareto_tiny_lora.png").exists());

    // A lost shard re-run alone (the README's way of resuming failed shards): the task
    // count is then 1, so the shard count comes from EDGESIM_SHARDS.
    let shard2 = read(&out.join("shard-2/sweep.csv"));
    std::fs::remove_dir_all(out.join("shard-2")).unwrap();
    std::fs::remove_dir_all(out.join("merged")).unwrap();
    let (array, merge) = cluster.submit(&[
        ("EDGESIM_SPEC", "sweep.toml"),
        ("EDGESIM_OUT", "out"),
        ("EDGESIM_ARRAY", "2"),
    ]);
    let (tasks, merge_state) = cluster.wait_sweep(array, merge);
    assert_eq!(
        tasks,
        vec![(2, "COMPLETED".to_string())],
        "{}",
        cluster.logs()
    );
    assert_eq!(merge_state, "COMPLETED", "{}", cluster.logs());
    assert_eq!(read(&out.join("shard-2/sweep.csv")), shard2);
    assert_same_table(&out.join("merged/sweep.csv"), &single_csv);

    // A spec every task refuses: the tasks fail and the merge never runs.
    write_spec(&dir, "bad.toml", "\"sram.capacity_kb\" = [64]\n");
    let (array, merge) = cluster.submit(&[("EDGESIM_SPEC", "bad.toml"), ("EDGESIM_OUT", "bad")]);
    let (tasks, merge_state) = cluster.wait_sweep(array, merge);
    let failed: Vec<(usize, String)> = (0..SHARDS).map(|i| (i, "FAILED".into())).collect();
    assert_eq!(tasks, failed, "{}", cluster.logs());
    assert_eq!(merge_state, "CANCELLED", "{}", cluster.logs());
    assert!(!dir.join("bad/merged").exists());
    let log = String::from_utf8(read(&dir.join(format!("bad/logs/sweep-{array}_0.out")))).unwrap();
    assert!(
        log.contains("sram.capacity_kb"),
        "the task log names the bad key:\n{log}"
    );
    eprintln!("Slurm test: {:.1} s", t0.elapsed().as_secs_f64());
}

/// The closing comparison of the README's "Sweeps on a Slurm cluster": the 270-point
/// `scripts/slurm/examples/sram_dram_array.toml` as one process (2 rayon threads, the
/// machine's cores) and as a 4-task array of 1 CPU each plus the merge, wall seconds of
/// each printed. Minutes of work, so not part of the suite: run it on an otherwise idle
/// machine with `cargo test --release --test slurm -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement (minutes), run by hand on an idle machine"]
fn measure_one_process_against_a_four_task_array() {
    let programs = match slurm_programs() {
        Ok(p) => p,
        Err(why) => {
            eprintln!("skipping the Slurm measurement: {why}");
            return;
        }
    };
    let mut cluster = Cluster::start(programs);
    let dir = cluster.dir.path().to_path_buf();
    let spec = root().join("scripts/slurm/examples/sram_dram_array.toml");
    let single = dir.join("single");
    let t0 = Instant::now();
    let (ok, out) = run(Command::new(env!("CARGO_BIN_EXE_edgesim"))
        .args(["-q", "sweep", "--no-plots", "--spec"])
        .arg(&spec)
        .arg("--out")
        .arg(&single));
    assert!(ok, "single sweep: {out}");
    let one = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let spec_arg = spec.to_string_lossy().into_owned();
    let (array, merge) = cluster.submit(&[("EDGESIM_SPEC", &spec_arg), ("EDGESIM_OUT", "out")]);
    let (tasks, merge_state) = cluster.wait_sweep(array, merge);
    let four = t1.elapsed().as_secs_f64();
    assert!(tasks.iter().all(|(_, s)| s == "COMPLETED"), "{tasks:?}");
    assert_eq!(merge_state, "COMPLETED", "merge\n{}", cluster.logs());
    assert_same_table(&dir.join("out/merged/sweep.csv"), &single.join("sweep.csv"));
    eprintln!(
        "270 points: one process {one:.1} s; {SHARDS}-task array + merge, submit to merged table, {four:.1} s"
    );
}
