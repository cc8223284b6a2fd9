//! Pre-tokenizers of byte-level BPE vocabularies, chosen by a GGUF file's
//! `tokenizer.ggml.pre` value.
//!
//! A pre-tokenizer cuts text into the pieces that BPE merges never cross, then maps each
//! piece's bytes into the GPT-2 byte alphabet (space -> `Ġ`, newline -> `Ċ`, ...). The
//! names and the split rules are llama.cpp's (`src/llama-vocab.cpp`, the
//! `tokenizer_pre == ...` arms and the `regex_exprs` of `llm_tokenizer_bpe`): a list of
//! regular expressions applied one after the other, each cutting every piece of the
//! previous one into its matches and the stretches between them. That is exactly a
//! Hugging Face `Sequence` of `Split(regex, Isolated)` steps; where the model's own
//! `tokenizer.json` is known, the same steps are written as it writes them:
//!
//! | `tokenizer.ggml.pre` | pieces | source |
//! |---|---|---|
//! | `smollm`, `starcoder` | every digit alone, then the GPT-2 regex | SmolLM2 `tokenizer.json`: `Sequence[Digits(individual_digits), ByteLevel(add_prefix_space=false, use_regex=true)]`; llama.cpp: `\p{N}` then the GPT-2 regex |
//! | `gpt-2` | the GPT-2 regex | GPT-2 `tokenizer.json`: `ByteLevel(add_prefix_space=false)`; llama.cpp `LLAMA_VOCAB_PRE_TYPE_GPT2` |
//! | `llama-bpe`, `llama3`, `llama-v3` | the Llama 3 regex (1-3 digit groups), merges skipped for whole-vocabulary pieces, BOS added by default | llama.cpp `LLAMA_VOCAB_PRE_TYPE_LLAMA3`, its "original regex from tokenizer.json" |
//! | `qwen2` | the Qwen2 regex (single digits) | llama.cpp `LLAMA_VOCAB_PRE_TYPE_QWEN2`, its "original regex from tokenizer.json" |
//! | `default` | llama.cpp's default cascade of four regexes | llama.cpp `llm_tokenizer_bpe`, `default:` arm |
//!
//! The GPT-2 regex is `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
//! (openai/gpt-2 `encoder.py`, as the `ByteLevel` pre-tokenizer of the `tokenizers` crate
//! applies it).

use tokenizers::SplitDelimiterBehavior;
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};

/// The Llama 3 split regex, as its `tokenizer.json` gives it (quoted in llama.cpp
/// `src/llama-vocab.cpp`, case `LLAMA_VOCAB_PRE_TYPE_LLAMA3`).
pub const LLAMA3_REGEX: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// The Qwen2 split regex, as its `tokenizer.json` gives it (quoted in llama.cpp
/// `src/llama-vocab.cpp`, case `LLAMA_VOCAB_PRE_TYPE_QWEN2`).
pub const QWEN2_REGEX: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// llama.cpp's `default` cascade (`src/llama-vocab.cpp`, `llm_tokenizer_bpe`, `default:`):
/// punctuation runs, then the GPT-2 regex without its last `\s+` branch (the unmatched
/// stretches are kept anyway), then digit runs, then three-digit groups.
pub const DEFAULT_REGEXES: [&str; 4] = [
    r"[\p{P}\$\+<=>\^~\|]+",
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)",
    r"\p{N}+",
    r"[0-9][0-9][0-9]",
];

/// The `tokenizer.ggml.pre` values [`pre_tokenizer`] knows.
pub const KNOWN: [&str; 8] = [
    "smollm",
    "starcoder",
    "gpt-2",
    "llama-bpe",
    "llama3",
    "llama-v3",
    "qwen2",
    "default",
];

/// How a vocabulary's text is cut before BPE, and the per-type defaults llama.cpp
/// attaches to it.
#[derive(Debug, Clone)]
pub struct PreTokenizerSpec {
    /// The Hugging Face pre-tokenizer (splitting, then the byte-level mapping).
    pub pre: PreTokenizerWrapper,
    /// A piece that is itself a vocabulary entry becomes that token without merging
    /// (llama.cpp `ignore_merges`, the `tokenizers` BPE option of the same name).
    pub ignore_merges: bool,
    /// Whether a BOS token is added when `tokenizer.ggml.add_bos_token` is absent
    /// (llama.cpp `add_bos`).
    pub add_bos_default: bool,
}

/// The pre-tokenizer for the `tokenizer.ggml.pre` value `name`, or `None` when `name` is
/// not one of [`KNOWN`].
pub fn pre_tokenizer(name: &str) -> Option<PreTokenizerSpec> {
    let spec = |pre, ignore_merges, add_bos_default| PreTokenizerSpec {
        pre,
        ignore_merges,
        add_bos_default,
    };
    Some(match name {
        "smollm" | "starcoder" => spec(
            seq(vec![
                Digits::new(true).into(),
                ByteLevel::new(false, true, true).into(),
            ]),
            false,
            false,
        ),
        "gpt-2" => spec(ByteLevel::new(false, true, true).into(), false, false),
        "llama-bpe" | "llama3" | "llama-v3" => spec(split_then_bytes(&[LLAMA3_REGEX]), true, true),
        "qwen2" => spec(split_then_bytes(&[QWEN2_REGEX]), false, false),
        "default" => spec(split_then_bytes(&DEFAULT_REGEXES), false, false),
        _ => return None,
    })
}

fn seq(steps: Vec<PreTokenizerWrapper>) -> PreTokenizerWrapper {
    Sequence::new(steps).into()
}

/// `Split(regex, Isolated)` for each regex in turn, then the byte-level mapping alone.
fn split_then_bytes(regexes: &[&str]) -> PreTokenizerWrapper {
    let mut steps: Vec<PreTokenizerWrapper> = regexes
        .iter()
        .map(|r| {
            // The patterns are constants of this module, compiled by the unit tests.
            Split::new(
                SplitPattern::Regex((*r).to_string()),
                SplitDelimiterBehavior::Isolated,
                false,
            )
            .expect("constant pre-tokenizer regex compiles")
            .into()
        })
        .collect();
    steps.push(ByteLevel::new(false, true, false).into());
    seq(steps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokenizers::{OffsetReferential, OffsetType, PreTokenizedString, PreTokenizer};

    /// The pieces of `text` (in the byte alphabet) under the pre-tokenizer `name`.
    fn pieces(name: &str, text: &str) -> Vec<String> {
        let spec = pre_tokenizer(name).unwrap();
        let mut p = PreTokenizedString::from(text);
        spec.pre.pre_tokenize(&mut p).unwrap();
        p.get_splits(OffsetReferential::Original, OffsetType::Byte)
            .into_iter()
            .map(|(s, _, _)| s.to_string())
            .collect()
    }

    #[test]
    fn every_known_name_builds() {
        for name in KNOWN {
            assert!(pre_tokenizer(name).is_some(), "{name}");
        }
        assert!(pre_tokenizer("tekken").is_none());
        assert!(pre_tokenizer("").is_none());
    }

    #[test]
    fn digits_per_type() {
        // Hand-applied rules on "in 2024, 7 cats": `Ġ` is the byte alphabet's space.
        // smollm: each digit alone, the space before a digit run is its own piece.
        assert_eq!(
            pieces("smollm", "in 2024, 7 cats"),
            ["in", "Ġ", "2", "0", "2", "4", ",", "Ġ", "7", "Ġcats"]
        );
        // gpt-2: ` ?\p{N}+` keeps the space and the whole digit run.
        assert_eq!(
            pieces("gpt-2", "in 2024, 7 cats"),
            ["in", "Ġ2024", ",", "Ġ7", "Ġcats"]
        );
        // llama3: `\p{N}{1,3}` groups from the left, the space stands alone.
        assert_eq!(
            pieces("llama-bpe", "in 2024, 7 cats"),
            ["in", "Ġ", "202", "4", ",", "Ġ", "7", "Ġcats"]
        );
        // qwen2: single digits.
        assert_eq!(
            pieces("qwen2", "in 2024, 7 cats"),
            ["in", "Ġ", "2", "0", "2", "4", ",", "Ġ", "7", "Ġcats"]
        );
        // default: punctuation runs first, then the GPT-2 rule (" 2024"), then digit
        // runs cut the space off, then three-digit groups from the left.
        assert_eq!(
            pieces("default", "in 2024, 7 cats"),
            ["in", "Ġ", "202", "4", ",", "Ġ", "7", "Ġcats"]
        );
    }

    #[test]
    fn contractions_and_whitespace() {
        // GPT-2 rule: contractions are pieces; a run of spaces leaves its last space to
        // the next word (`\s+(?!\S)`), a newline stands alone before a word.
        assert_eq!(
            pieces("smollm", "I'm  here\nnow"),
            ["I", "'m", "Ġ", "Ġhere", "Ċ", "now"]
        );
        // Llama 3 rule: contractions are case-insensitive, a newline run is one piece and
        // a non-letter may lead a word.
        assert_eq!(
            pieces("llama3", "I'M  here\n\nnow"),
            ["I", "'M", "Ġ", "Ġhere", "ĊĊ", "now"]
        );
    }
}
