//! File helpers shared by every writer: read with the path in the error, and write
//! atomically (temp file in the same directory, then rename) so that a failure never
//! leaves a partial output file behind.

use crate::error::{Error, Result};
use std::path::Path;

/// Reads a whole file as UTF-8, naming the file on failure.
pub fn read_to_string(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::io(path, e))
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
    fn missing_file_names_the_path() {
        let err = read_to_string(Path::new("/nonexistent/edgesim.toml")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/edgesim.toml"));
        assert!(err.is_input());
    }
}
