//! Standard output and standard error for the CLI, without panics.
//!
//! `println!` panics when stdout cannot be written (a full disk, `> /dev/full`, a closed
//! pipe). Every command prints through [`print`] (or the [`outln!`](crate::outln) macro)
//! instead, so a write failure becomes the usual [`Error::Io`] naming `<stdout>` (exit
//! code 2). Diagnostics go through [`warn`] / [`note`], which ignore stderr failures: a
//! warning that cannot be shown must not turn a successful run into a failure.

use crate::error::{Error, Result};
use std::io::Write;
use std::path::Path;

/// The name write errors on standard output carry.
pub const STDOUT: &str = "<stdout>";

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

/// Writes `warning: {msg}` to standard error; a failing stderr is ignored.
pub fn warn(msg: impl std::fmt::Display) {
    note(format_args!("warning: {msg}"));
}

/// Writes `msg` and a newline to standard error (progress, `wrote FILE`); a failing
/// stderr is ignored.
pub fn note(msg: impl std::fmt::Display) {
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
