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
