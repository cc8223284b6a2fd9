//! Standard output and standard error for the CLI, without panics.
//!
//! `println!` panics when stdout cannot be written (a full disk, `> /dev/full`, a closed
//! pipe). Every command prints through [`print`] (or the [`outln!`](crate::outln) macro)
//! instead, so a write failure becomes the usual [`Error::Io`] naming `<stdout>` (exit
//! code 2).
//!
//! Diagnostics go through the `log` facade to standard error, printed by `env_logger`
//! (installed once by [`init_logging`]) at the level of the global `-q` / `-v` flags:
//! [`error`] always, [`warn`] and [`note`] (progress, `wrote FILE`) by default, [`debug`]
//! with `-v`. Writing them ignores stderr failures: a warning that cannot be shown must
//! not turn a successful run into a failure. Without an installed logger (the library
//! used from another program, a benchmark) nothing is printed.

use crate::error::{Error, Result};
use std::io::Write;
use std::path::Path;

/// The name write errors on standard output carry.
pub const STDOUT: &str = "<stdout>";

/// The `log` target every CLI diagnostic is sent with, so that `RUST_LOG` filters of
/// dependencies do not touch them.
pub const TARGET: &str = "edgesim";

/// How much goes to standard error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    /// `-q`: errors only.
    Quiet,
    /// No flag: `RUST_LOG` when set, else errors, warnings and notes.
    Default,
    /// `-v`: also debug details.
    Verbose,
    /// `-vv` (or more): everything, including trace.
    Trace,
}

impl Verbosity {
    /// The verbosity of the global flags (`--quiet` wins over nothing, `-v` counts).
    pub fn from_flags(quiet: bool, verbose: u8) -> Verbosity {
        match (quiet, verbose) {
            (true, _) => Verbosity::Quiet,
            (false, 0) => Verbosity::Default,
            (false, 1) => Verbosity::Verbose,
            (false, _) => Verbosity::Trace,
        }
    }

    /// The most detailed level shown.
    pub fn level(self) -> log::LevelFilter {
        match self {
            Verbosity::Quiet => log::LevelFilter::Error,
            Verbosity::Default => log::LevelFilter::Info,
            Verbosity::Verbose => log::LevelFilter::Debug,
            Verbosity::Trace => log::LevelFilter::Trace,
        }
    }
}

/// The prefix of a diagnostic line at `level`: `error: `, `warning: `, nothing for notes,
/// `debug: `, `trace: ` (the prefixes the CLI printed before it used `log`).
pub fn prefix(level: log::Level) -> &'static str {
    match level {
        log::Level::Error => "error: ",
        log::Level::Warn => "warning: ",
        log::Level::Info => "",
        log::Level::Debug => "debug: ",
        log::Level::Trace => "trace: ",
    }
}

/// Installs the stderr logger for `v` (once per process; later calls only change the
/// level). The level applies to this crate's diagnostics; dependencies (e.g. the SVG
/// reader behind PDF output) are shown from errors up, and from warnings with `-vv`.
/// With [`Verbosity::Default`] and `RUST_LOG` set, `RUST_LOG` decides.
pub fn init_logging(v: Verbosity) {
    let mut b = env_logger::Builder::new();
    b.filter_level(if v == Verbosity::Trace {
        log::LevelFilter::Warn
    } else {
        log::LevelFilter::Error
    });
    b.filter_module(TARGET, v.level());
    if v == Verbosity::Default
        && let Ok(spec) = std::env::var("RUST_LOG")
    {
        b.parse_filters(&spec);
    }
    b.format(|buf, rec| writeln!(buf, "{}{}", prefix(rec.level()), rec.args()))
        .target(env_logger::Target::Stderr)
        .write_style(env_logger::WriteStyle::Never);
    if b.try_init().is_err() {
        log::set_max_level(v.level());
    }
}

/// Writes `text` to standard output and flushes it.
///
/// # Errors
/// [`Error::Io`] on `<stdout>` when the write or the flush fails.
pub fn print(text: &str) -> Result<()> {
    // The test harness captures only the print macros; unit tests of commands would
    // otherwise write their tables into the test log.
    #[cfg(test)]
    {
        print!("{text}");
        return Ok(());
    }
    #[cfg_attr(test, allow(unreachable_code))]
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::io(Path::new(STDOUT), e))
}

/// `error: {msg}` on standard error, whatever the verbosity (the reason of a failing exit
/// code). Without a logger (`main` failed before installing it) it is written directly.
pub fn error(msg: impl std::fmt::Display) {
    if log::log_enabled!(target: TARGET, log::Level::Error) {
        log::error!(target: TARGET, "{msg}");
    } else {
        raw(format_args!("error: {msg}"));
    }
}

/// `warning: {msg}` on standard error, unless `-q`: something the user can act on.
pub fn warn(msg: impl std::fmt::Display) {
    #[cfg(test)]
    raw(format_args!("warning: {msg}"));
    #[cfg(not(test))]
    log::warn!(target: TARGET, "{msg}");
}

/// `msg` on standard error, unless `-q`: progress and `wrote FILE` notes.
pub fn note(msg: impl std::fmt::Display) {
    #[cfg(test)]
    raw(format_args!("{msg}"));
    #[cfg(not(test))]
    log::info!(target: TARGET, "{msg}");
}

/// `debug: {msg}` on standard error with `-v`: details nobody needs by default (facts
/// the report body already states, what was read from where).
pub fn debug(msg: impl std::fmt::Display) {
    log::debug!(target: TARGET, "{msg}");
}

/// True when notes are shown (not `-q`): commands draw progress bars only then.
pub fn notes_enabled() -> bool {
    log::log_enabled!(target: TARGET, log::Level::Info)
}

/// `bar` drawn on standard error as usual, or hidden with `-q`.
pub fn progress(bar: indicatif::ProgressBar) -> indicatif::ProgressBar {
    if !notes_enabled() {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar
}

/// One line on standard error, ignoring failures.
fn raw(msg: std::fmt::Arguments<'_>) {
    #[cfg(test)]
    {
        eprintln!("{msg}");
        return;
    }
    #[cfg_attr(test, allow(unreachable_code))]
    let _ = writeln!(std::io::stderr().lock(), "{msg}");
}

/// `println!` that returns a [`crate::Result`] instead of panicking:
/// `outln!("{} s", t)?;` writes the line through [`print`].
#[macro_export]
macro_rules! outln {
    () => {
        $crate::cli::out::print("\n")
    };
    ($($arg:tt)*) => {
        $crate::cli::out::print(&format!("{}\n", format_args!($($arg)*)))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_map_to_levels() {
        assert_eq!(
            Verbosity::from_flags(true, 0).level(),
            log::LevelFilter::Error
        );
        assert_eq!(
            Verbosity::from_flags(false, 0).level(),
            log::LevelFilter::Info
        );
        assert_eq!(
            Verbosity::from_flags(false, 1).level(),
            log::LevelFilter::Debug
        );
        assert_eq!(
            Verbosity::from_flags(false, 3).level(),
            log::LevelFilter::Trace
        );
        assert_eq!(prefix(log::Level::Warn), "warning: ");
        assert_eq!(prefix(log::Level::Info), "");
    }
}
