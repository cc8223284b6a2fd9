//! Token streams from files: calibration samples and evaluation chunks, given as text
//! (tokenised by the checkpoint's [`Tokenizer`]) or as token ids.
//!
//! Id format: one sample per line, integers separated by whitespace and/or commas.

use super::Tokenizer;
use crate::error::{Error, Result};
use std::path::Path;

/// How a calibration file is to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CalibFormat {
    /// Ids when every non-empty line is a list of integers, text otherwise.
    Auto,
    /// Token ids, one sample per line.
    Ids,
    /// Text, tokenised byte-level and cut into windows of `seq_len` tokens.
    Text,
}

/// Calibration samples: token sequences of equal purpose, each at most `seq_len` long.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// One token sequence per sample.
    pub samples: Vec<Vec<u32>>,
    /// Whether the file was read as ids or as text.
    pub format: CalibFormat,
}

/// Reads calibration samples from `path`.
///
/// Ids: each non-empty line is one sample, truncated to its first `seq_len` tokens.
/// Text: the whole file is tokenised by `tok` and cut into consecutive, non-overlapping
/// windows of exactly `seq_len` tokens (a shorter tail is dropped). At most `max_samples`
/// samples are kept. Every id must be `< vocab_size` (the model's vocabulary).
pub fn load_calibration(
    path: &Path,
    format: CalibFormat,
    tok: &Tokenizer,
    vocab_size: usize,
    seq_len: usize,
    max_samples: usize,
) -> Result<Calibration> {
    let text = crate::io_util::read_to_string(path)?;
    parse_calibration(
        &path.display().to_string(),
        &text,
        format,
        tok,
        vocab_size,
        seq_len,
        max_samples,
    )
}

/// [`load_calibration`] on text already read; `file` names it in errors.
pub fn parse_calibration(
    file: &str,
    text: &str,
    format: CalibFormat,
    tok: &Tokenizer,
    vocab_size: usize,
    seq_len: usize,
    max_samples: usize,
) -> Result<Calibration> {
    if seq_len == 0 || max_samples == 0 {
        return Err(Error::input(
            file,
            "--seq-len/--samples",
            "must be at least 1",
        ));
    }
    let as_ids = match format {
        CalibFormat::Ids => true,
        CalibFormat::Text => false,
        CalibFormat::Auto => {
            let mut lines = text.lines().filter(|l| !l.trim().is_empty()).peekable();
            lines.peek().is_some() && lines.all(|l| split_ids(l).all(|t| t.parse::<u64>().is_ok()))
        }
    };
    let samples = if as_ids {
        let mut samples = Vec::new();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            if samples.len() == max_samples {
                break;
            }
            let mut ids = Vec::new();
            for tok in split_ids(line).take(seq_len) {
                let id: u64 = tok.parse().map_err(|_| {
                    Error::input(
                        file,
                        format!("line {}", n + 1),
                        format!("{tok:?} is not a token id (non-negative integer)"),
                    )
                })?;
                if id >= vocab_size as u64 {
                    return Err(Error::input(
                        file,
                        format!("line {}", n + 1),
                        format!("token id {id} out of the vocabulary [0, {vocab_size})"),
                    ));
                }
                ids.push(id as u32);
            }
            samples.push(ids);
        }
        samples
    } else {
        if tok.vocab_size() > vocab_size {
            return Err(Error::input(
                file,
                "vocab_size",
                format!(
                    "the {} tokenizer has {} ids but the model's vocabulary has \
                     {vocab_size}; give token ids instead (one sample per line)",
                    tok.name(),
                    tok.vocab_size()
                ),
            ));
        }
        let ids = tok
            .encode(text)
            .map_err(|e| Error::input(file, "text", e))?;
        if ids.len() < seq_len {
            return Err(Error::input(
                file,
                "--seq-len",
                format!(
                    "the text has {} tokens, fewer than one sample of {seq_len} tokens",
                    ids.len()
                ),
            ));
        }
        ids.chunks_exact(seq_len)
            .take(max_samples)
            .map(<[u32]>::to_vec)
            .collect()
    };
    if samples.is_empty() {
        return Err(Error::input(
            file,
            "samples",
            "no calibration sample (the file is empty)",
        ));
    }
    Ok(Calibration {
        samples,
        format: if as_ids {
            CalibFormat::Ids
        } else {
            CalibFormat::Text
        },
    })
}

fn split_ids(line: &str) -> impl Iterator<Item = &str> {
    line.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_one_sample_per_line_truncated() {
        let c = parse_calibration(
            "c.txt",
            "1, 2 3,4\n\n5 6\n7\n",
            CalibFormat::Auto,
            &Tokenizer::Bytes,
            10,
            3,
            2,
        )
        .unwrap();
        assert_eq!(c.format, CalibFormat::Ids);
        assert_eq!(c.samples, vec![vec![1, 2, 3], vec![5, 6]]);
    }

    #[test]
    fn text_windows_drop_the_tail() {
        let c = parse_calibration(
            "c.txt",
            "abcdefg",
            CalibFormat::Auto,
            &Tokenizer::Bytes,
            256,
            3,
            10,
        )
        .unwrap();
        assert_eq!(c.format, CalibFormat::Text);
        assert_eq!(c.samples, vec![vec![97, 98, 99], vec![100, 101, 102]]);
        // Forced text reading of digits.
        let c = parse_calibration(
            "c.txt",
            "12",
            CalibFormat::Text,
            &Tokenizer::Bytes,
            256,
            2,
            10,
        )
        .unwrap();
        assert_eq!(c.samples, vec![vec![49, 50]]);
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = parse_calibration(
            "ids.txt",
            "1 2\n3 99\n",
            CalibFormat::Ids,
            &Tokenizer::Bytes,
            10,
            8,
            8,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("ids.txt") && e.contains("line 2") && e.contains("99"),
            "{e}"
        );
        let e = parse_calibration(
            "t.txt",
            "hello",
            CalibFormat::Text,
            &Tokenizer::Bytes,
            100,
            2,
            8,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("vocab_size"), "{e}");
        let e = parse_calibration(
            "t.txt",
            "hi",
            CalibFormat::Text,
            &Tokenizer::Bytes,
            256,
            8,
            8,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("--seq-len"), "{e}");
        let e = parse_calibration(
            "e.txt",
            "\n\n",
            CalibFormat::Ids,
            &Tokenizer::Bytes,
            256,
            8,
            8,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("e.txt"), "{e}");
        let e = parse_calibration(
            "x.txt",
            "1 a\n",
            CalibFormat::Ids,
            &Tokenizer::Bytes,
            256,
            8,
            8,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("line 1"), "{e}");
    }
}
