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
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
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
