//! Tokenizers: text <-> token ids for a checkpoint.
//!
//! - [`Tokenizer::Hf`]: the model's own tokenizer, through the Hugging Face `tokenizers`
//!   crate (the reference implementation of the byte-level BPE that LLaMA-family models
//!   such as SmolLM2 use), read from `tokenizer.json` beside a checkpoint or built from a
//!   GGUF file's `tokenizer.ggml.*` metadata ([`gguf`]: vocabulary, merges, control and
//!   user-defined tokens, BOS/EOS template; [`pre`]: the pre-tokenizer named by
//!   `tokenizer.ggml.pre`, e.g. SmolLM2's `smollm`, which isolates every digit).
//! - [`Tokenizer::Bytes`]: one token per UTF-8 byte, id = byte value (0..=255), for
//!   checkpoints that carry no tokenizer (those of `edgesim luc synth`, whose vocabulary
//!   is bytes). On any other checkpoint the ids are valid, deterministic inputs for
//!   sensitivity measurement, but mean nothing to the model.
//!
//! [`Tokenizer::encode`] never adds BOS/EOS and [`Tokenizer::decode`] keeps special
//! tokens, so `decode(encode(text)) == text` for any text whose bytes all have a token
//! (for SmolLM2: all text without the control characters U+0004, U+0006, U+0013,
//! U+0014, U+0016, U+001D and without code points U+40000..=U+BFFFF, whose bytes its
//! vocabulary lacks and its tokenizer drops).
//!
//! [`calib`] reads calibration samples and evaluation chunks (text or ids) through one.

mod calib;
pub mod gguf;
pub mod pre;

pub use calib::{CalibFormat, Calibration, load_calibration, parse_calibration};

use crate::error::{Error, Result};
use std::path::Path;

/// File name of a Hugging Face tokenizer beside a checkpoint's `config.json`.
pub const TOKENIZER_FILE: &str = "tokenizer.json";

/// Byte-level tokenizer: one token per UTF-8 byte.
pub struct ByteTokenizer;

impl ByteTokenizer {
    /// Number of distinct ids this tokenizer produces.
    pub const VOCAB: usize = 256;

    /// Token ids of `text` (its bytes).
    pub fn encode(text: &str) -> Vec<u32> {
        text.bytes().map(u32::from).collect()
    }

    /// Text of `ids` (invalid UTF-8 replaced); ids above 255 become U+FFFD.
    pub fn decode(ids: &[u32]) -> String {
        let bytes: Vec<u8> = ids
            .iter()
            .map(|&i| u8::try_from(i).unwrap_or(0xFF))
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// A checkpoint's tokenizer.
#[derive(Debug, Clone)]
pub enum Tokenizer {
    /// One token per UTF-8 byte (checkpoints without a tokenizer).
    Bytes,
    /// A Hugging Face tokenizer (from `tokenizer.json` or a GGUF's metadata).
    Hf(Box<tokenizers::Tokenizer>),
}

impl Tokenizer {
    /// The tokenizer that belongs to the checkpoint at `path`: a `.gguf` file's embedded
    /// vocabulary, `tokenizer.json` in a checkpoint directory, else [`Tokenizer::Bytes`].
    ///
    /// Errors: an unreadable or malformed tokenizer, naming the file.
    pub fn for_checkpoint(path: &Path) -> Result<Self> {
        if path.is_file() {
            return Self::from_gguf(path);
        }
        let file = path.join(TOKENIZER_FILE);
        if file.is_file() {
            Self::from_file(&file)
        } else {
            Ok(Tokenizer::Bytes)
        }
    }

    /// The tokenizer embedded in the GGUF file `path` ([`gguf::from_gguf`]).
    ///
    /// Errors: unreadable file, missing/mistyped/unsupported `tokenizer.ggml.*` metadata,
    /// naming the file and the key.
    pub fn from_gguf(path: &Path) -> Result<Self> {
        Ok(Tokenizer::Hf(Box::new(gguf::from_gguf(path)?)))
    }

    /// Reads a Hugging Face `tokenizer.json`. Errors name the file.
    pub fn from_file(file: &Path) -> Result<Self> {
        let text = crate::io_util::read_to_string(file)?;
        // tokenizers 0.22 panics (`expect("Helper")` in its decoder deserialiser) on a JSON
        // syntax error inside the "decoder" value; checking the syntax first makes that an
        // error (found by the `tokenizer_json` fuzz target).
        serde_json::from_str::<serde::de::IgnoredAny>(&text).map_err(|e| {
            Error::input(
                file.display().to_string(),
                "tokenizer",
                format!("not a readable Hugging Face tokenizer.json: not valid JSON: {e}"),
            )
        })?;
        let t = <tokenizers::Tokenizer as std::str::FromStr>::from_str(&text).map_err(|e| {
            Error::input(
                file.display().to_string(),
                "tokenizer",
                format!("not a readable Hugging Face tokenizer.json: {e}"),
            )
        })?;
        Ok(Tokenizer::Hf(Box::new(t)))
    }

    /// Short name for messages: `bytes` or `bpe`.
    pub fn name(&self) -> &'static str {
        match self {
            Tokenizer::Bytes => "bytes",
            Tokenizer::Hf(_) => "bpe",
        }
    }

    /// Number of distinct ids the tokenizer can produce (special tokens included).
    pub fn vocab_size(&self) -> usize {
        match self {
            Tokenizer::Bytes => ByteTokenizer::VOCAB,
            Tokenizer::Hf(t) => t.get_vocab_size(true),
        }
    }

    /// Id of the token whose vocabulary string is `token` (byte-level alphabet for BPE
    /// pieces, e.g. `"Ġthe"`; raw text for special tokens, e.g. `"<|im_start|>"`). For
    /// [`Tokenizer::Bytes`], the byte of a one-byte string.
    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        match self {
            Tokenizer::Bytes => match token.as_bytes() {
                [b] => Some(u32::from(*b)),
                _ => None,
            },
            Tokenizer::Hf(t) => t.token_to_id(token),
        }
    }

    /// Vocabulary string of `id` (the inverse of [`Tokenizer::token_to_id`]); `None` out
    /// of the vocabulary, and for byte ids that are not ASCII under [`Tokenizer::Bytes`].
    pub fn id_to_token(&self, id: u32) -> Option<String> {
        match self {
            Tokenizer::Bytes => u8::try_from(id)
                .ok()
                .filter(u8::is_ascii)
                .map(|b| char::from(b).to_string()),
            Tokenizer::Hf(t) => t.id_to_token(id),
        }
    }

    /// Token ids of `text`, without added special tokens (no BOS: the perplexity and
    /// calibration windows are cut from one running stream).
    ///
    /// Errors: the tokenizer's own message (as a string, for the caller to name the file).
    pub fn encode(&self, text: &str) -> std::result::Result<Vec<u32>, String> {
        match self {
            Tokenizer::Bytes => Ok(ByteTokenizer::encode(text)),
            Tokenizer::Hf(t) => t
                .encode_fast(text, false)
                .map(|e| e.get_ids().to_vec())
                .map_err(|e| e.to_string()),
        }
    }

    /// Writes the tokenizer as `dir/tokenizer.json` (atomically), so that a checkpoint
    /// saved into `dir` (e.g. by `luc compress`) keeps its tokenizer; [`Tokenizer::Bytes`]
    /// writes nothing, since a directory without the file means bytes. Returns the path
    /// written, if any.
    ///
    /// Errors: serialisation or the write, naming the file.
    pub fn save_beside(&self, dir: &Path) -> Result<Option<std::path::PathBuf>> {
        let Tokenizer::Hf(t) = self else {
            return Ok(None);
        };
        let file = dir.join(TOKENIZER_FILE);
        let json = t.to_string(false).map_err(|e| {
            Error::Other(format!(
                "{}: serialising the tokenizer: {e}",
                file.display()
            ))
        })?;
        crate::io_util::write_atomic(&file, json.as_bytes())?;
        Ok(Some(file))
    }

    /// Text of `ids` (special tokens kept, so that decode(encode(x)) == x).
    pub fn decode(&self, ids: &[u32]) -> std::result::Result<String, String> {
        match self {
            Tokenizer::Bytes => Ok(ByteTokenizer::decode(ids)),
            Tokenizer::Hf(t) => t.decode(ids, false).map_err(|e| e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_tokenizer_json_is_an_error_naming_the_file() {
        // A JSON syntax error inside "decoder" (tokenizers' own parser panics on it).
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tokenizer.json");
        std::fs::write(
            &file,
            r#"{"version":"1.0","decoder":{"type":"ByteLevel","add_prefix_space":tr"#,
        )
        .unwrap();
        let e = Tokenizer::from_file(&file).unwrap_err().to_string();
        assert!(
            e.contains("tokenizer.json") && e.contains("not valid JSON"),
            "{e}"
        );
    }

    #[test]
    fn bytes_round_trip() {
        let ids = ByteTokenizer::encode("Hé!");
        assert_eq!(ids, vec![72, 0xC3, 0xA9, 33]);
        assert_eq!(ByteTokenizer::decode(&ids), "Hé!");
        let t = Tokenizer::Bytes;
        assert_eq!(t.encode("Hé!").unwrap(), ids);
        assert_eq!(t.decode(&ids).unwrap(), "Hé!");
    }
}
