//! `edgesim data`: the real model and corpus (`src/data`): turn the janeaustenr R dataset
//! into the novels' text files, and check a data directory against the pinned sums.

use crate::data::austen::{self, NovelText};
use crate::data::pinned::{self, FileState};
use crate::data::rlazy::LazyLoadDb;
use crate::data::{DATA_ENV, data_dir};
use crate::error::{Error, Result};
use std::path::PathBuf;

/// Arguments of `edgesim data`.
#[derive(clap::Args, Debug)]
pub struct DataArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: DataCommand,
}

/// Subcommands of `edgesim data`.
#[derive(clap::Subcommand, Debug)]
pub enum DataCommand {
    /// Write Jane Austen's six novels as UTF-8 text from the janeaustenr R dataset.
    ///
    /// Reads the R lazy-load database (`Rdata.rdx` + `Rdata.rdb` of the R package
    /// janeaustenr), takes each novel's character vector (one element per line of the
    /// Project Gutenberg text), joins the hard-wrapped lines of each paragraph with one
    /// space (lines trimmed; one blank line between paragraphs) and writes
    /// `<novel>.txt` atomically. Prints lines, paragraphs, characters and SHA-256 per
    /// novel, and whether the sum is the pinned one.
    Austen(AustenArgs),
    /// Show the data directory and whether each pinned file is present with its sum.
    ///
    /// Exit code 0 when every file matches, 1 otherwise.
    Status(StatusArgs),
}

/// Arguments of `edgesim data austen`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    edgesim data austen --rdb /tmp/deb/usr/lib/R/site-library/janeaustenr/data/Rdata \
    --out ~/.cache/edgesim/austen\n  \
    edgesim data austen --rdb ~/.cache/edgesim/janeaustenr/data/Rdata --json\n\n\
    Normally run by scripts/fetch-real-data.sh, which downloads the package first.")]
pub struct AustenArgs {
    /// The dataset's base path, without extension (`.../janeaustenr/data/Rdata`; a path
    /// ending in `.rdx` or `.rdb` is accepted too).
    #[arg(long, value_name = "PATH")]
    pub rdb: PathBuf,
    /// Directory to write the six `.txt` files into (default: `austen/` in the data
    /// directory, `$EDGESIM_DATA`).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print one JSON document instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `edgesim data status`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    edgesim data status\n  \
    EDGESIM_DATA=/srv/edgesim edgesim data status --json")]
pub struct StatusArgs {
    /// Print one JSON document instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// Runs `edgesim data`.
pub fn run(args: &DataArgs) -> Result<()> {
    match &args.command {
        DataCommand::Austen(a) => austen_cmd(a),
        DataCommand::Status(a) => status_cmd(a),
    }
}

fn austen_cmd(a: &AustenArgs) -> Result<()> {
    let out = a.out.clone().unwrap_or_else(|| data_dir().join("austen"));
    let db = LazyLoadDb::open(&a.rdb)?;
    let novels = austen::extract(&db)?;
    for n in &novels {
        crate::io_util::write_atomic(&out.join(format!("{}.txt", n.name)), n.text.as_bytes())?;
    }
    let rows: Vec<(&NovelText, String, Option<String>)> = novels
        .iter()
        .map(|n| {
            let sum = pinned::sha256_hex(n.text.as_bytes());
            (
                n,
                sum,
                pinned::pinned_sum(&format!("austen/{}.txt", n.name)),
            )
        })
        .collect();
    if a.json {
        let v = serde_json::json!({
            "out": out.display().to_string(),
            "novels": rows.iter().map(|(n, sum, pin)| serde_json::json!({
                "name": n.name,
                "r_object": n.r_object,
                "lines": n.lines,
                "paragraphs": n.paragraphs,
                "chars": n.chars(),
                "bytes": n.text.len(),
                "sha256": sum,
                "pinned": pin.as_ref().map(|p| p == sum),
            })).collect::<Vec<_>>(),
        });
        crate::outln!("{}", serde_json::to_string_pretty(&v).map_err(other)?)?;
    } else {
        crate::outln!("wrote {} novels to {}", rows.len(), out.display())?;
        crate::outln!(
            "{:<22} {:<17} {:>6} {:>6} {:>8}  {:<64}  pinned",
            "novel",
            "r object",
            "lines",
            "paras",
            "chars",
            "sha256"
        )?;
        for (n, sum, pin) in &rows {
            let pin = match pin {
                Some(p) if p == sum => "ok",
                Some(_) => "DIFFERS",
                None => "-",
            };
            crate::outln!(
                "{:<22} {:<17} {:>6} {:>6} {:>8}  {sum}  {pin}",
                n.name,
                n.r_object,
                n.lines,
                n.paragraphs,
                n.chars()
            )?;
        }
    }
    Ok(())
}

fn status_cmd(a: &StatusArgs) -> Result<()> {
    let dir = data_dir();
    let source = if std::env::var_os(DATA_ENV).is_some_and(|v| !v.is_empty()) {
        format!("${DATA_ENV}")
    } else {
        "default".to_string()
    };
    let st = pinned::status(&dir)?;
    let bad = st.iter().filter(|s| s.state != FileState::Ok).count();
    if a.json {
        let v = serde_json::json!({
            "data_dir": dir.display().to_string(),
            "from": source,
            "ok": bad == 0,
            "files": st.iter().map(|s| {
                let (state, actual) = match &s.state {
                    FileState::Ok => ("ok", Some(s.pinned.sha256.to_string())),
                    FileState::Mismatch(x) => ("mismatch", Some(x.clone())),
                    FileState::Missing => ("missing", None),
                };
                serde_json::json!({
                    "path": s.pinned.path,
                    "state": state,
                    "pinned_sha256": s.pinned.sha256,
                    "sha256": actual,
                })
            }).collect::<Vec<_>>(),
        });
        crate::outln!("{}", serde_json::to_string_pretty(&v).map_err(other)?)?;
    } else {
        crate::outln!("data directory: {} ({source})", dir.display())?;
        for s in &st {
            let state = match &s.state {
                FileState::Ok => "ok".to_string(),
                FileState::Mismatch(x) => format!("MISMATCH (sha256 {x})"),
                FileState::Missing => "missing".to_string(),
            };
            crate::outln!("  {:<42} {state}", s.pinned.path)?;
        }
    }
    if bad == 0 {
        Ok(())
    } else {
        Err(Error::Other(format!(
            "{bad} of {} files missing or changed in {}; run `bash scripts/fetch-real-data.sh`",
            st.len(),
            dir.display()
        )))
    }
}

fn other(e: serde_json::Error) -> Error {
    Error::Other(e.to_string())
}
