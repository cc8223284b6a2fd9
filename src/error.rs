//! One error type for every user-facing failure.
//!
//! Bad input (a TOML key out of range, an unknown enum value, a missing file, a malformed
//! CSV row or checkpoint tensor) is [`Error::Input`] and always names the file, the key and
//! what is allowed; the CLI maps it to exit code 2. Everything else is exit code 1.

use std::path::Path;

/// The crate's error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Invalid user input: `file: key: message`.
    #[error("{file}: {key}: {msg}")]
    Input {
        /// The file (or `--flag`) the value came from.
        file: String,
        /// The key, column or tensor name that is wrong.
        key: String,
        /// What is wrong and what is allowed.
        msg: String,
    },
    /// An I/O failure on a named file.
    #[error("{file}: {source}")]
    Io {
        /// The file being read or written.
        file: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A failure that is not the user's input (internal invariant, numeric breakdown).
    #[error("{0}")]
    Other(String),
}

impl Error {
    /// A bad-input error naming the file, key and allowed range.
    pub fn input(file: impl AsRef<str>, key: impl AsRef<str>, msg: impl Into<String>) -> Self {
        Error::Input {
            file: file.as_ref().to_string(),
            key: key.as_ref().to_string(),
            msg: msg.into(),
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            file: path.display().to_string(),
            source,
        }
    }

    /// True when the error is the user's input (CLI exit code 2).
    pub fn is_input(&self) -> bool {
        matches!(self, Error::Input { .. } | Error::Io { .. })
    }
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;
