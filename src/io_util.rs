//! File helpers shared by every reader and writer: read text inputs whole with the path
//! in the error and a size limit, and write atomically (temp file in the same directory,
//! then rename) so that a failure never leaves a partial output file behind.
//!
//! Text inputs (hardware, workload, sweep and policy TOML, sensitivity CSV, checkpoint
//! JSON, token and corpus files) are read whole into memory, so only regular files are
//! accepted (`/dev/zero` or a FIFO would be read forever or block), and at most
//! [`DEFAULT_MAX_TEXT_BYTES`] unless [`MAX_TEXT_BYTES_ENV`] says otherwise. Large binary
//! inputs (GGUF, safetensors, R data) have their own streaming or mapped readers and no
//! such limit.

use crate::error::{Error, Result};
use std::path::Path;

/// Default largest text input read whole: 256 MiB, about 40x the largest text this
/// project reads (the six Austen novels together are under 5 MiB; a LLaMA-7B
/// `model.safetensors.index.json` is under 30 KiB).
pub const DEFAULT_MAX_TEXT_BYTES: u64 = 256 << 20;

/// Environment variable that sets the text input limit in bytes (e.g.
/// `EDGESIM_MAX_TEXT_BYTES=1073741824` for 1 GiB).
pub const MAX_TEXT_BYTES_ENV: &str = "EDGESIM_MAX_TEXT_BYTES";

/// The text input limit: [`MAX_TEXT_BYTES_ENV`] when set, else [`DEFAULT_MAX_TEXT_BYTES`].
///
/// # Errors
/// [`Error::Input`] naming the variable when it is not an integer >= 1.
pub fn max_text_bytes() -> Result<u64> {
    match std::env::var(MAX_TEXT_BYTES_ENV) {
        Err(std::env::VarError::NotPresent) => Ok(DEFAULT_MAX_TEXT_BYTES),
        Ok(v) => v
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|&n| n >= 1)
            .ok_or_else(|| {
                Error::input(
                    MAX_TEXT_BYTES_ENV,
                    "value",
                    format!(
                        "{v:?} is not a byte count; expected an integer in [1, {}]",
                        u64::MAX
                    ),
                )
            }),
        Err(e) => Err(Error::input(MAX_TEXT_BYTES_ENV, "value", e.to_string())),
    }
}

/// Reads a whole text file as UTF-8, naming the file on failure; refuses anything but a
/// regular file and files above [`max_text_bytes`].
///
/// # Errors
/// [`Error::Io`] when the file cannot be read or is not UTF-8; [`Error::Input`] when it
/// is not a regular file or is larger than the limit (the message names the limit and
/// [`MAX_TEXT_BYTES_ENV`]).
pub fn read_to_string(path: &Path) -> Result<String> {
    read_to_string_capped(path, max_text_bytes()?)
}

/// [`read_to_string`] with an explicit limit of `cap` bytes.
pub fn read_to_string_capped(path: &Path, cap: u64) -> Result<String> {
    use std::io::Read;
    let name = path.display().to_string();
    // stat before open: opening a FIFO blocks until a writer appears.
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        let kind = if meta.is_dir() {
            "a directory"
        } else {
            "a device, FIFO or socket"
        };
        return Err(Error::input(
            &name,
            "file",
            format!("is {kind}, not a regular file; text inputs are read from files"),
        ));
    }
    let too_big = |len: String| {
        Error::input(
            &name,
            "size",
            format!(
                "{len} exceeds the limit of {} for text inputs; set \
                 {MAX_TEXT_BYTES_ENV}=<bytes> to raise it",
                bytes_text(cap)
            ),
        )
    };
    if meta.len() > cap {
        return Err(too_big(format!("{} bytes", meta.len())));
    }
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // The file may grow between stat and read: never read more than cap + 1 bytes.
    f.take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > cap {
        return Err(too_big(format!("more than {cap} bytes")));
    }
    String::from_utf8(bytes).map_err(|e| {
        Error::io(
            path,
            std::io::Error::new(std::io::ErrorKind::InvalidData, e.utf8_error()),
        )
    })
}

/// `268435456 bytes (256 MiB)`, or `64 bytes` when not a whole number of MiB.
fn bytes_text(n: u64) -> String {
    const MIB: u64 = 1 << 20;
    if n >= MIB && n.is_multiple_of(MIB) {
        format!("{n} bytes ({} MiB)", n / MIB)
    } else {
        format!("{n} bytes")
    }
}

/// Writes `bytes` to `path` atomically: a sibling temp file is written, synced and renamed.
/// A symbolic link is followed (its target is replaced, the link kept); an existing path
/// that is not a regular file (a device such as `/dev/full`, a FIFO) is written in place,
/// since renaming over it would replace the device itself, and its write error (e.g. no
/// space left) is the error.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    if let Ok(meta) = std::fs::metadata(path) {
        if !meta.is_file() && !meta.is_dir() {
            let result = (|| {
                let mut f = std::fs::OpenOptions::new().write(true).open(path)?;
                f.write_all(bytes)?;
                f.flush()
            })();
            return result.map_err(|e| Error::io(path, e));
        }
        if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
            let target = std::fs::canonicalize(path).map_err(|e| Error::io(path, e))?;
            return write_atomic(&target, bytes);
        }
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let file_name = path
        .file_name()
        .ok_or_else(|| Error::input(path.display().to_string(), "path", "not a file path"))?;
    let tmp = path.with_file_name(format!(
        ".{}.{}.tmp",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    remove_stale_temps(path);
    Ok(())
}

/// Removes the temporaries `.NAME.PID.tmp` beside `path` (NAME its file name) that
/// earlier writers killed mid-write left behind: only those whose process is gone.
fn remove_stale_temps(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let name = name.to_string_lossy();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if let Some(pid) = temp_pid(&e.file_name().to_string_lossy(), &name)
            && pid != std::process::id()
            && !process_alive(pid)
        {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// The PID of `entry` when it is named `.{name}.{pid}.tmp`, the pattern of this module's
/// temporaries, else `None`.
fn temp_pid(entry: &str, name: &str) -> Option<u32> {
    entry
        .strip_prefix('.')?
        .strip_prefix(name)?
        .strip_prefix('.')?
        .strip_suffix(".tmp")?
        .parse()
        .ok()
}

/// True when a process with this PID exists (`kill(pid, 0)`: success or EPERM).
fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists; nothing is delivered.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Name of the list of an output set's files, written inside the set directory last.
pub const SET_MANIFEST: &str = ".edgesim-output-set";

/// A set of files a command writes into one output directory, made visible all at once.
///
/// [`OutputSet::begin`] takes an exclusive lock on the target directory (the file
/// `.NAME.lock` beside it, held until the set is committed or dropped) so that a second
/// concurrent writer fails at once with a clear message, removes what earlier runs killed
/// mid-way left behind, and creates the staging directory `.NAME.PID.tmp` beside the
/// target. The command writes every file into [`OutputSet::dir`] (with
/// [`OutputSet::write`] or its own writers). [`OutputSet::commit`] lists the staged files
/// in [`SET_MANIFEST`] and swaps the staging directory with the target in one
/// `renameat2(RENAME_EXCHANGE)` (a plain rename when the target does not exist yet), then
/// removes the old set. Readers therefore see either the whole old set or the whole new
/// one, whatever instant the process dies at.
///
/// Entries of the target that neither the old set (its manifest) nor the new one name are
/// not the command's (e.g. `results/real/` beside the `repro` files, shard tables beside
/// a merged table): they are moved into the staging directory before the swap, so they
/// stay in place. A process killed after that move and before the swap leaves them in its
/// staging directory, and the next `begin` on the target moves them back. Stale
/// temporaries (`.X.PID.tmp`) inside the target are dropped with the old set.
#[derive(Debug)]
pub struct OutputSet {
    target: std::path::PathBuf,
    staging: std::path::PathBuf,
    lock_path: std::path::PathBuf,
    /// Holds the lock until the set is committed or dropped.
    _lock: std::fs::File,
    committed: bool,
}

impl OutputSet {
    /// Locks `target` (a directory, created on commit if missing), recovers what earlier
    /// killed runs left, and creates an empty staging directory beside it.
    ///
    /// Errors: the target exists and is not a directory, another process holds the lock
    /// (the message names the lock file), or a directory cannot be created.
    pub fn begin(target: &Path) -> Result<OutputSet> {
        let mut target = absolute(target)?;
        // A link to a directory: the set goes where it points, the link stays.
        if std::fs::symlink_metadata(&target).is_ok_and(|m| m.file_type().is_symlink())
            && let Ok(real) = std::fs::canonicalize(&target)
        {
            target = real;
        }
        let not_dir = || {
            Error::input(
                target.display().to_string(),
                "--out",
                "not a directory path",
            )
        };
        let parent = target.parent().ok_or_else(not_dir)?.to_path_buf();
        let name = target
            .file_name()
            .ok_or_else(not_dir)?
            .to_string_lossy()
            .into_owned();
        if target.exists() && !target.is_dir() {
            return Err(Error::input(
                target.display().to_string(),
                "--out",
                "exists and is not a directory",
            ));
        }
        if std::env::current_dir().is_ok_and(|cwd| {
            std::fs::canonicalize(&cwd)
                .unwrap_or(cwd)
                .starts_with(&target)
        }) {
            return Err(Error::input(
                target.display().to_string(),
                "--out",
                "is the current directory or one of its parents; an output set replaces its \
                 directory whole, so give a directory of its own (e.g. out/)",
            ));
        }
        std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
        if let (Ok(t), Ok(p)) = (std::fs::metadata(&target), std::fs::metadata(&parent)) {
            use std::os::unix::fs::MetadataExt;
            if t.dev() != p.dev() {
                return Err(Error::input(
                    target.display().to_string(),
                    "--out",
                    "is a mount point; an output set is swapped in by a rename beside it, so \
                     give a directory inside it",
                ));
            }
        }
        let lock_path = parent.join(format!(".{name}.lock"));
        let lock = lock_exclusive(&lock_path, &target)?;
        // Under the lock no other writer of this target runs: every staging directory
        // of ours beside it is stale, whatever its PID.
        if let Ok(entries) = std::fs::read_dir(&parent) {
            for e in entries.flatten() {
                if temp_pid(&e.file_name().to_string_lossy(), &name).is_some() {
                    recover(&e.path(), &target);
                }
            }
        }
        if let Ok(entries) = std::fs::read_dir(&target) {
            for e in entries.flatten() {
                if is_temp_name(&e.file_name().to_string_lossy()) {
                    let _ = remove_any(&e.path());
                }
            }
        }
        let staging = parent.join(format!(".{name}.{}.tmp", std::process::id()));
        let _ = remove_any(&staging);
        std::fs::create_dir(&staging).map_err(|e| Error::io(&staging, e))?;
        Ok(OutputSet {
            target,
            staging,
            lock_path,
            _lock: lock,
            committed: false,
        })
    }

    /// The staging directory: write the set's files here (they appear in the target on
    /// [`OutputSet::commit`]).
    pub fn dir(&self) -> &Path {
        &self.staging
    }

    /// The directory the set is committed to (absolute).
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The final path of `name` once committed (`target/name`), for messages.
    pub fn final_path(&self, name: &str) -> std::path::PathBuf {
        self.target.join(name)
    }

    /// Writes `bytes` to `name` (a path relative to the set) in the staging directory.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<std::path::PathBuf> {
        let p = self.staging.join(name);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
        }
        std::fs::write(&p, bytes).map_err(|e| Error::io(&p, e))?;
        Ok(p)
    }

    /// Makes the staged files the target's content at once (see [`OutputSet`]); the old
    /// set is removed, entries that are not the command's stay. Returns the target.
    pub fn commit(mut self) -> Result<std::path::PathBuf> {
        let io = |p: &Path| {
            let p = p.to_path_buf();
            move |e| Error::io(&p, e)
        };
        let mut names: Vec<String> = std::fs::read_dir(&self.staging)
            .map_err(io(&self.staging))?
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != SET_MANIFEST)
            .collect();
        names.sort();
        for n in &names {
            let p = self.staging.join(n);
            if p.is_file() {
                std::fs::File::open(&p)
                    .and_then(|f| f.sync_all())
                    .map_err(io(&p))?;
            }
        }
        let mut list = names.join("\n");
        list.push('\n');
        let manifest_tmp = self.staging.join(format!("{SET_MANIFEST}.tmp"));
        let manifest = self.staging.join(SET_MANIFEST);
        (|| {
            use std::io::Write;
            let mut f = std::fs::File::create(&manifest_tmp)?;
            f.write_all(list.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&manifest_tmp, &manifest)
        })()
        .map_err(io(&manifest))?;

        if !self.target.exists() {
            std::fs::rename(&self.staging, &self.target).map_err(io(&self.target))?;
        } else {
            let old = read_manifest(&self.target);
            for e in std::fs::read_dir(&self.target)
                .map_err(io(&self.target))?
                .flatten()
            {
                let n = e.file_name().to_string_lossy().into_owned();
                let ours = n == SET_MANIFEST
                    || is_temp_name(&n)
                    || names.contains(&n)
                    || old.as_ref().is_some_and(|o| o.contains(&n));
                if !ours {
                    // On failure the entries moved so far go back (`Drop` -> `recover`).
                    std::fs::rename(e.path(), self.staging.join(&n)).map_err(io(&e.path()))?;
                }
            }
            exchange(&self.staging, &self.target)?;
            // The staging path now holds the old set.
            let _ = std::fs::remove_dir_all(&self.staging);
        }
        if let Some(parent) = self.target.parent() {
            let _ = std::fs::File::open(parent).and_then(|d| d.sync_all());
        }
        self.committed = true;
        Ok(self.target.clone())
    }
}

impl Drop for OutputSet {
    /// An uncommitted set (an error stopped the command) leaves no trace: the staging
    /// directory is removed and the target keeps the old set.
    fn drop(&mut self) {
        if !self.committed {
            // Entries carried over from the target before a failed swap go back.
            recover(&self.staging, &self.target);
        }
        // Removed while still held, so no lock file is left behind; a waiting opener of
        // the old file notices (see `lock_exclusive`).
        let _ = std::fs::remove_file(&self.lock_path);
    }
}

/// Opens (creating) and locks `lock_path` exclusively without waiting (`flock`, through
/// `std::fs::File::try_lock`). A lock file is removed by its holder when done, so after
/// locking, the path must still name the locked file; otherwise the lock was taken on a
/// removed file and is retried on the new one.
fn lock_exclusive(lock_path: &Path, target: &Path) -> Result<std::fs::File> {
    use std::os::unix::fs::MetadataExt;
    loop {
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(lock_path)
            .map_err(|e| Error::io(lock_path, e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::input(
                    target.display().to_string(),
                    "--out",
                    format!(
                        "another edgesim process is writing this directory (it holds {}); \
                         wait for it to finish or choose another --out",
                        lock_path.display()
                    ),
                ));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(lock_path, e)),
        }
        let held = lock.metadata().map_err(|e| Error::io(lock_path, e))?;
        if std::fs::metadata(lock_path)
            .is_ok_and(|m| m.dev() == held.dev() && m.ino() == held.ino())
        {
            return Ok(lock);
        }
    }
}

/// `path` made absolute against the current directory, with `.`/`..` of the last
/// component resolved (so that its parent and name are the real ones).
fn absolute(path: &Path) -> Result<std::path::PathBuf> {
    let abs = std::path::absolute(path).map_err(|e| Error::io(path, e))?;
    match abs.file_name() {
        Some(_) if !abs.ends_with("..") => Ok(abs),
        _ => std::fs::canonicalize(&abs).map_err(|e| Error::io(path, e)),
    }
}

/// True for names of this module's temporaries: `.X.PID.tmp` (and the manifest's own).
fn is_temp_name(n: &str) -> bool {
    n.ends_with(".tmp")
        && n.starts_with('.')
        && n.trim_end_matches(".tmp")
            .rsplit_once('.')
            .is_some_and(|(_, pid)| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
}

/// Refuses to write a command's output set into `target` when the set already there
/// (its [`SET_MANIFEST`]) is another command's: one that does not list `own`, the file
/// every set of this command holds (`sweep.csv` for `sweep`, the table's name for
/// `merge`). A commit replaces the whole old set, so without this check a merge into a
/// sweep's directory would delete the sweep's table and plots.
///
/// Errors: [`Error::Input`] naming `flag` and the files of the set found.
pub fn check_set_owner(target: &Path, own: &str, flag: &str) -> Result<()> {
    match read_manifest(target) {
        Some(names) if !names.iter().any(|n| n == own) => Err(Error::input(
            target.display().to_string(),
            flag,
            format!(
                "holds the output of another command ({}), which writing here would \
                 replace; choose another {flag}",
                names.join(", ")
            ),
        )),
        _ => Ok(()),
    }
}

/// The names listed in `dir`'s manifest, `None` without one.
fn read_manifest(dir: &Path) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(dir.join(SET_MANIFEST)).ok()?;
    Some(text.lines().map(str::to_string).collect())
}

/// Cleans up the stale staging directory `stale` of a killed writer of `target`: entries
/// its manifest does not list were carried over from the target before a swap that never
/// happened, so they go back; the rest is removed. Without a manifest nothing was
/// carried over (it is written first) and everything is removed.
fn recover(stale: &Path, target: &Path) {
    if stale.is_dir()
        && let Some(listed) = read_manifest(stale)
        && target.is_dir()
        && let Ok(entries) = std::fs::read_dir(stale)
    {
        for e in entries.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            let back = target.join(&n);
            if n != SET_MANIFEST
                && !is_temp_name(&n)
                && !listed.contains(&n)
                && std::fs::symlink_metadata(&back).is_err()
            {
                let _ = std::fs::rename(e.path(), back);
            }
        }
    }
    let _ = remove_any(stale);
}

/// Removes a file or a directory tree.
fn remove_any(p: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(p),
        Ok(_) => std::fs::remove_file(p),
        Err(e) => Err(e),
    }
}

/// Swaps two directory entries atomically (Linux `renameat2(RENAME_EXCHANGE)`).
fn exchange(a: &Path, b: &Path) -> Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        std::ffi::CString::new(p.as_os_str().as_bytes())
            .map_err(|_| Error::input(p.display().to_string(), "path", "contains a NUL byte"))
    };
    let (ca, cb) = (c(a)?, c(b)?);
    // SAFETY: both pointers are valid NUL-terminated strings for the call's duration.
    let r = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if r != 0 {
        return Err(Error::io(b, std::io::Error::last_os_error()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_are_written_in_place_and_links_followed() {
        // /dev/full: the write fails with "no space left", the device stays a device.
        let full = Path::new("/dev/full");
        if full.exists() {
            let e = write_atomic(full, b"x").unwrap_err().to_string();
            assert!(e.contains("/dev/full"), "{e}");
            assert!(!std::fs::metadata(full).unwrap().is_file());
        }
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target.json");
        std::fs::write(&target, "old").unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
    }

    #[test]
    fn atomic_write_creates_dirs_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b/out.csv");
        write_atomic(&p, b"x,y\n").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "x,y\n");
        let names: Vec<_> = std::fs::read_dir(p.parent().unwrap()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn devices_directories_and_oversized_files_are_refused() {
        let e = read_to_string(Path::new("/dev/zero")).unwrap_err();
        assert!(e.is_input());
        assert_eq!(
            e.to_string(),
            "/dev/zero: file: is a device, FIFO or socket, not a regular file; text inputs are read from files"
        );
        let dir = tempfile::tempdir().unwrap();
        let e = read_to_string(dir.path()).unwrap_err().to_string();
        assert!(e.contains("is a directory"), "{e}");
        let p = dir.path().join("big.toml");
        std::fs::write(&p, "x".repeat(101)).unwrap();
        let e = read_to_string_capped(&p, 100).unwrap_err().to_string();
        assert!(
            e.contains("size: 101 bytes exceeds the limit of 100 bytes for text inputs")
                && e.contains("EDGESIM_MAX_TEXT_BYTES"),
            "{e}"
        );
        assert_eq!(read_to_string_capped(&p, 101).unwrap().len(), 101);
        assert_eq!(
            bytes_text(DEFAULT_MAX_TEXT_BYTES),
            "268435456 bytes (256 MiB)"
        );
        std::fs::write(&p, [0xffu8, 0xfe]).unwrap();
        let e = read_to_string_capped(&p, 100).unwrap_err();
        assert!(e.to_string().contains("big.toml"), "{e}");
    }

    #[test]
    fn missing_file_names_the_path() {
        let err = read_to_string(Path::new("/nonexistent/edgesim.toml")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/edgesim.toml"));
        assert!(err.is_input());
    }
}

#[cfg(test)]
mod output_set_tests {
    use super::*;
    use std::collections::BTreeSet;

    fn names(dir: &Path) -> BTreeSet<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    }

    fn set(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// The PID of a process that has exited (a finished child).
    fn dead_pid() -> u32 {
        let mut c = std::process::Command::new("true").spawn().unwrap();
        let pid = c.id();
        c.wait().unwrap();
        pid
    }

    #[test]
    fn commit_replaces_the_old_set_whole_and_keeps_other_entries() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("out");
        let s = OutputSet::begin(&target).unwrap();
        s.write("a.csv", b"old a").unwrap();
        s.write("b.png", b"old b").unwrap();
        assert!(!target.exists(), "nothing is visible before commit");
        s.commit().unwrap();
        assert_eq!(names(&target), set(&["a.csv", "b.png", SET_MANIFEST]));
        // Entries that are not the set's: a file and a directory of the user's.
        std::fs::write(target.join("notes.txt"), "mine").unwrap();
        std::fs::create_dir(target.join("real")).unwrap();
        std::fs::write(target.join("real/x.csv"), "x").unwrap();

        let s = OutputSet::begin(&target).unwrap();
        s.write("a.csv", b"new a").unwrap();
        s.write("c.svg", b"new c").unwrap();
        s.commit().unwrap();
        assert_eq!(
            names(&target),
            set(&["a.csv", "c.svg", "notes.txt", "real", SET_MANIFEST])
        );
        assert_eq!(std::fs::read(target.join("a.csv")).unwrap(), b"new a");
        assert_eq!(std::fs::read(target.join("real/x.csv")).unwrap(), b"x");
        assert_eq!(
            std::fs::read_to_string(target.join(SET_MANIFEST)).unwrap(),
            "a.csv\nc.svg\n"
        );
        // Nothing is left beside the target: no staging directory, no lock file.
        assert_eq!(names(d.path()), set(&["out"]));
    }

    #[test]
    fn a_dropped_set_leaves_the_old_one_and_the_lock_excludes_a_second_writer() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("out");
        let s = OutputSet::begin(&target).unwrap();
        s.write("a.csv", b"a").unwrap();
        s.commit().unwrap();

        let s = OutputSet::begin(&target).unwrap();
        s.write("a.csv", b"half").unwrap();
        let e = OutputSet::begin(&target).unwrap_err().to_string();
        assert!(
            e.contains("another edgesim process") && e.contains(".out.lock"),
            "{e}"
        );
        drop(s);
        assert_eq!(std::fs::read(target.join("a.csv")).unwrap(), b"a");
        assert_eq!(names(d.path()), set(&["out"]));
        // Released: the next writer gets the lock.
        OutputSet::begin(&target).unwrap().commit().unwrap();
        assert_eq!(names(&target), set(&[SET_MANIFEST]));
    }

    #[test]
    fn begin_recovers_what_killed_writers_left() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("out");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("a.csv"), "old").unwrap();
        std::fs::write(target.join(".a.csv.123.tmp"), "partial").unwrap();
        let pid = dead_pid();
        // Killed before its manifest: only new files, all dropped.
        let early = d.path().join(format!(".out.{pid}.tmp"));
        std::fs::create_dir(&early).unwrap();
        std::fs::write(early.join("a.csv"), "new").unwrap();
        // Killed while carrying the user's file over (manifest written, swap not done):
        // the carried file goes back.
        let mid = d.path().join(format!(".out.{}.tmp", pid.wrapping_add(1)));
        std::fs::create_dir(&mid).unwrap();
        std::fs::write(mid.join("a.csv"), "new").unwrap();
        std::fs::write(mid.join(SET_MANIFEST), "a.csv\n").unwrap();
        std::fs::write(mid.join("notes.txt"), "mine").unwrap();

        let s = OutputSet::begin(&target).unwrap();
        assert_eq!(names(&target), set(&["a.csv", "notes.txt"]));
        assert_eq!(std::fs::read(target.join("a.csv")).unwrap(), b"old");
        drop(s);
        assert_eq!(names(d.path()), set(&["out"]));
        assert_eq!(std::fs::read(target.join("notes.txt")).unwrap(), b"mine");
    }

    #[test]
    fn write_atomic_removes_temporaries_of_dead_writers_only() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.json");
        let dead = d.path().join(format!(".x.json.{}.tmp", dead_pid()));
        // This test process is alive: its temporary of another file name is kept too.
        let live = d.path().join(format!(".x.json.{}.tmp", 1));
        let other = d.path().join(format!(".y.json.{}.tmp", dead_pid()));
        for f in [&dead, &live, &other] {
            std::fs::write(f, "partial").unwrap();
        }
        write_atomic(&p, b"{}").unwrap();
        assert!(!dead.exists());
        // PID 1 exists (init), so its temporary may still be written.
        assert!(live.exists());
        assert!(
            other.exists(),
            "temporaries of other files are theirs to clean"
        );
    }

    #[test]
    fn the_current_directory_and_files_are_refused_as_targets() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("file");
        std::fs::write(&f, "x").unwrap();
        let e = OutputSet::begin(&f).unwrap_err().to_string();
        assert!(e.contains("not a directory"), "{e}");
        let cwd = std::env::current_dir().unwrap();
        let e = OutputSet::begin(&cwd).unwrap_err().to_string();
        assert!(e.contains("current directory"), "{e}");
        let e = OutputSet::begin(Path::new("/")).unwrap_err().to_string();
        assert!(
            e.contains("current directory") || e.contains("not a directory"),
            "{e}"
        );
    }
}
