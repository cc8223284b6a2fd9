//! Tokenizers: text <-> token ids for a checkpoint.
//!
//! - [`Tokenizer::Hf`]: the model's own tokenizer, through the Hugging Face `tokenizers`
//!   crate (the reference implementation of the byte-level BPE that LLaMA-family models
//!   such as SmolLM2 use), read from `tokenizer.json` beside a checkpoint or built from a
//!   GGUF file's `tokenizer.ggml.*` metadata ([`gguf`]).
//! - [`Tokenizer::Bytes`]: one token per UTF-8 byte, id = byte value (0..=255), for
//!   checkpoints that carry no tokenizer (those of `edgesim luc synth`, whose vocabulary
//!   is bytes). On any other checkpoint the ids are valid, deterministic inputs for
//!   sensitivity measurement, but mean nothing to the model.
//!
//! [`calib`] reads calibration samples and evaluation chunks (text or ids) through one.

mod calib;
pub mod gguf;

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
            return Ok(Tokenizer::Hf(Box::new(gguf::from_gguf(path)?)));
        }
        let file = path.join(TOKENIZER_FILE);
        if file.is_file() {
            Self::from_file(&file)
        } else {
            Ok(Tokenizer::Bytes)
        }
    }

    /// Reads a Hugging Face `tokenizer.json`. Errors name the file.
    pub fn from_file(file: &Path) -> Result<Self> {
        let t = tokenizers::Tokenizer::from_file(file).map_err(|e| {
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
    fn bytes_round_trip() {
        let ids = ByteTokenizer::encode("Hé!");
        assert_eq!(ids, vec![72, 0xC3, 0xA9, 33]);
        assert_eq!(ByteTokenizer::decode(&ids), "Hé!");
        let t = Tokenizer::Bytes;
        assert_eq!(t.encode("Hé!").unwrap(), ids);
        assert_eq!(t.decode(&ids).unwrap(), "Hé!");
    }
}
