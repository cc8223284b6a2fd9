//! A Hugging Face byte-level BPE tokenizer built from a GGUF file's `tokenizer.ggml.*`
//! metadata (vocabulary, merges, pre-tokenizer type, special tokens).

use crate::error::{Error, Result};
use std::path::Path;

/// Builds the tokenizer embedded in the GGUF file `path`.
///
/// Errors: the file is not GGUF, or its tokenizer metadata is missing or of an
/// unsupported kind; the message names the file and the metadata key.
pub fn from_gguf(path: &Path) -> Result<tokenizers::Tokenizer> {
    Err(Error::input(
        path.display().to_string(),
        "tokenizer.ggml.model",
        "GGUF tokenizers are not built yet",
    ))
}
