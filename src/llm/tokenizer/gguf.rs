//! A Hugging Face byte-level BPE tokenizer built from a GGUF file's `tokenizer.ggml.*`
//! metadata (vocabulary, merges, pre-tokenizer type, special tokens).
//!
//! The keys and their meaning are those of the GGUF specification
//! (ggml-org/ggml `docs/gguf.md`, "Tokenizer") and of llama.cpp, which writes them
//! (`convert_hf_to_gguf.py`) and reads them (`src/llama-vocab.cpp`):
//!
//! - [`KEY_MODEL`] `tokenizer.ggml.model`: must be `gpt2` (byte-level BPE); llama.cpp's
//!   other kinds (`llama` SentencePiece, `bert` WordPiece, `t5` Unigram, `rwkv`,
//!   `plamo2`, `none`) are rejected.
//! - [`KEY_TOKENS`]: token text by id, already in the GPT-2 byte alphabet (space is `Ġ`),
//!   except control and user-defined tokens, which are stored as their raw text.
//! - [`KEY_MERGES`]: merge rules `"left right"`, highest priority first.
//! - [`KEY_TOKEN_TYPE`] (optional): `llama_token_type` per id; control (3) tokens become
//!   special added tokens and user-defined (4) ones plain added tokens, both matched in
//!   the raw text before pre-tokenisation (so `<|im_start|>` is one id).
//! - [`KEY_PRE`]: the pre-tokenizer ([`super::pre`]).
//! - [`KEY_ADD_BOS`] / [`KEY_BOS_ID`], [`KEY_ADD_EOS`] / [`KEY_EOS_ID`] (optional): a
//!   template post-processor adding BOS / EOS, used only when encoding with special
//!   tokens (`Tokenizer::encode` never does).
//!
//! The BPE model has no unknown token and no dropout, like the `tokenizer.json` of the
//! models llama.cpp converts: a byte whose single-byte token is missing from the
//! vocabulary is dropped (SmolLM2 lacks 21 of the 256, e.g. U+0004 and the UTF-8 lead
//! bytes 0xF1, 0xF2), exactly as the model's own Hugging Face tokenizer does.

use super::pre::{KNOWN, pre_tokenizer};
use crate::error::{Error, Result};
use candle_core::quantized::gguf_file::{Content, Value};
use std::collections::HashMap;
use std::path::Path;
use tokenizers::AddedToken;
use tokenizers::decoders::DecoderWrapper;
use tokenizers::models::bpe::{BPE, Vocab};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::processors::template::{SpecialToken, TemplateProcessing};

/// Tokenizer kind (`gpt2` = byte-level BPE).
pub const KEY_MODEL: &str = "tokenizer.ggml.model";
/// Pre-tokenizer type (see [`super::pre`]).
pub const KEY_PRE: &str = "tokenizer.ggml.pre";
/// Token strings by id.
pub const KEY_TOKENS: &str = "tokenizer.ggml.tokens";
/// Token types by id (`llama_token_type`).
pub const KEY_TOKEN_TYPE: &str = "tokenizer.ggml.token_type";
/// BPE merges, `"left right"`, by priority.
pub const KEY_MERGES: &str = "tokenizer.ggml.merges";
/// Whether encoding with special tokens prepends BOS.
pub const KEY_ADD_BOS: &str = "tokenizer.ggml.add_bos_token";
/// Id of the BOS token.
pub const KEY_BOS_ID: &str = "tokenizer.ggml.bos_token_id";
/// Whether encoding with special tokens appends EOS.
pub const KEY_ADD_EOS: &str = "tokenizer.ggml.add_eos_token";
/// Id of the EOS token.
pub const KEY_EOS_ID: &str = "tokenizer.ggml.eos_token_id";

/// `llama_token_type` of a control token (llama.cpp `LLAMA_TOKEN_TYPE_CONTROL`).
pub const TOKEN_TYPE_CONTROL: i32 = 3;
/// `llama_token_type` of a user-defined token (`LLAMA_TOKEN_TYPE_USER_DEFINED`).
pub const TOKEN_TYPE_USER_DEFINED: i32 = 4;

/// Builds the tokenizer embedded in the GGUF file `path` (only the metadata is read).
///
/// Errors: the file is unreadable or not GGUF; its tokenizer metadata is missing, of the
/// wrong type or of an unsupported kind. Messages name the file and the metadata key.
pub fn from_gguf(path: &Path) -> Result<tokenizers::Tokenizer> {
    let file = path.display().to_string();
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut reader = std::io::BufReader::new(f);
    let content = Content::read(&mut reader)
        .map_err(|e| Error::input(&file, "gguf", format!("not a readable GGUF file: {e}")))?;
    from_metadata(&file, &content.metadata)
}

/// [`from_gguf`] on metadata already read; `file` names it in errors.
pub fn from_metadata(
    file: &str,
    metadata: &HashMap<String, Value>,
) -> Result<tokenizers::Tokenizer> {
    let md = Meta { file, metadata };
    let kind = md.string(KEY_MODEL)?;
    if kind != "gpt2" {
        return Err(md.err(
            KEY_MODEL,
            format!(
                "{kind:?}{} is not supported; only \"gpt2\" (byte-level BPE) is",
                model_kind(kind)
            ),
        ));
    }
    let pre_name = md.string(KEY_PRE)?;
    let spec = pre_tokenizer(pre_name).ok_or_else(|| {
        md.err(
            KEY_PRE,
            format!(
                "pre-tokenizer {pre_name:?} is not supported; known: {}",
                KNOWN.join(", ")
            ),
        )
    })?;

    let tokens = md.strings(KEY_TOKENS)?;
    let n = tokens.len();
    if n == 0 || n > u32::MAX as usize {
        return Err(md.err(KEY_TOKENS, format!("{n} tokens; must be 1..=2^32-1")));
    }
    let types = md.token_types(n)?;
    let mut vocab = Vocab::with_capacity(n);
    for (id, t) in tokens.iter().enumerate() {
        if let Some(prev) = vocab.insert((*t).to_string(), id as u32) {
            return Err(md.err(
                KEY_TOKENS,
                format!("token {id} {t:?} repeats token {prev}; token strings must be unique"),
            ));
        }
    }
    let merges = md
        .strings(KEY_MERGES)?
        .iter()
        .enumerate()
        .map(|(i, m)| {
            split_merge(m).ok_or_else(|| {
                md.err(
                    KEY_MERGES,
                    format!("merge {i} {m:?} is not two tokens separated by a space"),
                )
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .ignore_merges(spec.ignore_merges)
        .build()
        .map_err(|e| md.err(KEY_MERGES, format!("not a valid BPE vocabulary: {e}")))?;

    let mut tok = tokenizers::Tokenizer::new(bpe);
    tok.with_pre_tokenizer(Some(spec.pre));
    tok.with_decoder(Some(DecoderWrapper::ByteLevel(ByteLevel::default())));
    let added = |kind: i32, special: bool| -> Vec<AddedToken> {
        types
            .iter()
            .zip(&tokens)
            .filter(|(t, _)| **t == kind)
            .map(|(_, s)| AddedToken::from(*s, special))
            .collect()
    };
    tok.add_special_tokens(&added(TOKEN_TYPE_CONTROL, true));
    tok.add_tokens(&added(TOKEN_TYPE_USER_DEFINED, false));

    if let Some(post) = post_processor(&md, &tokens, spec.add_bos_default)? {
        tok.with_post_processor(Some(post));
    }
    Ok(tok)
}

/// The BOS/EOS template (`BOS $A EOS`, each part only when its `add_*` flag is true), or
/// `None` when neither is added. `add_bos_default` applies when the flag is absent.
fn post_processor(
    md: &Meta<'_>,
    tokens: &[&str],
    add_bos_default: bool,
) -> Result<Option<TemplateProcessing>> {
    let add_bos = md.opt_bool(KEY_ADD_BOS)?.unwrap_or(add_bos_default);
    let add_eos = md.opt_bool(KEY_ADD_EOS)?.unwrap_or(false);
    if !(add_bos || add_eos) {
        return Ok(None);
    }
    let n = tokens.len();
    let special = |flag: &str, key: &str, name: &str| -> Result<SpecialToken> {
        let id = md
            .opt_u32(key)?
            .ok_or_else(|| md.err(key, format!("missing, but {flag} is true")))?;
        let text = tokens
            .get(id as usize)
            .ok_or_else(|| md.err(key, format!("token id {id} out of the vocabulary [0, {n})")))?;
        SpecialToken::new(name.to_string(), vec![id], vec![(*text).to_string()])
            .map_err(|e| md.err(key, e.to_string()))
    };
    let mut single = Vec::new();
    let mut specials = Vec::new();
    if add_bos {
        specials.push(special(KEY_ADD_BOS, KEY_BOS_ID, "BOS")?);
        single.push("BOS");
    }
    single.push("$A:0");
    if add_eos {
        specials.push(special(KEY_ADD_EOS, KEY_EOS_ID, "EOS")?);
        single.push("EOS");
    }
    // Pair: the same frame around each sequence, the second with type id 1.
    let pair: Vec<String> = single
        .iter()
        .map(|p| p.to_string())
        .chain(single.iter().map(|p| match *p {
            "$A:0" => "$B:1".to_string(),
            s => format!("{s}:1"),
        }))
        .collect();
    let post = TemplateProcessing::builder()
        .try_single(single)
        .and_then(|b| b.try_pair(pair))
        .map_err(|e| md.err(KEY_ADD_BOS, e.to_string()))?
        .special_tokens(specials)
        .build()
        .map_err(|e| md.err(KEY_ADD_BOS, e.to_string()))?;
    Ok(Some(post))
}

/// What llama.cpp calls each `tokenizer.ggml.model` value (`src/llama-vocab.cpp`,
/// `llama_vocab::impl::load`), for the error message.
fn model_kind(kind: &str) -> &'static str {
    match kind {
        "llama" => " (SentencePiece)",
        "bert" => " (WordPiece)",
        "t5" => " (Unigram)",
        "rwkv" => " (RWKV)",
        "plamo2" => " (PLaMo-2)",
        "no_vocab" | "none" => " (no vocabulary)",
        _ => "",
    }
}

/// `"left right"` -> (left, right). The split is at the first space after the first
/// character, as llama.cpp does (`word.find(' ', 1)`), so a left part may be a space.
fn split_merge(m: &str) -> Option<(String, String)> {
    let first = m.chars().next()?.len_utf8();
    let pos = first + m[first..].find(' ')?;
    let (l, r) = (&m[..pos], &m[pos + 1..]);
    (!r.is_empty()).then(|| (l.to_string(), r.to_string()))
}

/// Typed access to GGUF metadata with errors naming the file and key.
struct Meta<'a> {
    file: &'a str,
    metadata: &'a HashMap<String, Value>,
}

impl Meta<'_> {
    fn err(&self, key: &str, msg: impl Into<String>) -> Error {
        Error::input(self.file, key, msg)
    }

    fn get(&self, key: &str) -> Result<&Value> {
        self.metadata.get(key).ok_or_else(|| {
            self.err(
                key,
                "missing from the GGUF metadata (needed to build the tokenizer)",
            )
        })
    }

    fn mistyped(&self, key: &str, want: &str, got: &Value) -> Error {
        self.err(key, format!("expected {want}, found {}", type_name(got)))
    }

    fn string(&self, key: &str) -> Result<&str> {
        match self.get(key)? {
            Value::String(s) => Ok(s),
            v => Err(self.mistyped(key, "a string", v)),
        }
    }

    fn strings(&self, key: &str) -> Result<Vec<&str>> {
        let v = self.get(key)?;
        let Value::Array(items) = v else {
            return Err(self.mistyped(key, "an array of strings", v));
        };
        items
            .iter()
            .map(|x| match x {
                Value::String(s) => Ok(s.as_str()),
                x => Err(self.mistyped(key, "an array of strings", x)),
            })
            .collect()
    }

    /// Token types for `n` tokens; all normal (1) when the key is absent.
    fn token_types(&self, n: usize) -> Result<Vec<i32>> {
        let Some(v) = self.metadata.get(KEY_TOKEN_TYPE) else {
            return Ok(vec![1; n]);
        };
        let Value::Array(items) = v else {
            return Err(self.mistyped(KEY_TOKEN_TYPE, "an array of integers", v));
        };
        if items.len() != n {
            return Err(self.err(
                KEY_TOKEN_TYPE,
                format!("{} entries for {n} tokens in {KEY_TOKENS}", items.len()),
            ));
        }
        items
            .iter()
            .map(|x| {
                integer(x)
                    .and_then(|i| i32::try_from(i).ok())
                    .ok_or_else(|| self.mistyped(KEY_TOKEN_TYPE, "an array of integers", x))
            })
            .collect()
    }

    fn opt_bool(&self, key: &str) -> Result<Option<bool>> {
        match self.metadata.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(self.mistyped(key, "a bool", v)),
        }
    }

    fn opt_u32(&self, key: &str) -> Result<Option<u32>> {
        match self.metadata.get(key) {
            None => Ok(None),
            Some(v) => integer(v)
                .and_then(|i| u32::try_from(i).ok())
                .map(Some)
                .ok_or_else(|| self.mistyped(key, "an integer in [0, 2^32)", v)),
        }
    }
}

/// The value of an integer GGUF value of any width.
fn integer(v: &Value) -> Option<i128> {
    Some(match v {
        Value::U8(x) => i128::from(*x),
        Value::I8(x) => i128::from(*x),
        Value::U16(x) => i128::from(*x),
        Value::I16(x) => i128::from(*x),
        Value::U32(x) => i128::from(*x),
        Value::I32(x) => i128::from(*x),
        Value::U64(x) => i128::from(*x),
        Value::I64(x) => i128::from(*x),
        _ => return None,
    })
}

fn type_name(v: &Value) -> String {
    match v {
        Value::Array(items) => match items.first() {
            Some(x) => format!("an array of {}", type_name(x)),
            None => "an empty array".to_string(),
        },
        Value::String(_) => "a string".to_string(),
        Value::Bool(_) => "a bool".to_string(),
        v => format!("{:?}", v.value_type()).to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::quantized::gguf_file;

    /// The GPT-2 byte alphabet (openai/gpt-2 `encoder.py`, `bytes_to_unicode`): printable
    /// Latin-1 bytes map to themselves, the other 68 to U+0100.. in byte order.
    fn byte_char(b: u8) -> char {
        let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
        if printable(b) {
            char::from(b)
        } else {
            let rank = (0..b).filter(|&x| !printable(x)).count() as u32;
            char::from_u32(256 + rank).unwrap()
        }
    }

    /// A tiny vocabulary: the 256 byte tokens (id = byte), then merged tokens, then
    /// `<|im_start|>` (control) and `<|user|>` (user-defined).
    fn tiny_tokens() -> Vec<String> {
        let mut t: Vec<String> = (0..=255u8).map(|b| byte_char(b).to_string()).collect();
        for s in ["he", "Ġt", "Ġthe", "12", "Ġ12"] {
            t.push(s.to_string());
        }
        t.push("<|im_start|>".to_string());
        t.push("<|user|>".to_string());
        t
    }
    const HE: u32 = 256;
    const G_T: u32 = 257;
    const G_THE: u32 = 258;
    const TWELVE: u32 = 259;
    const G_TWELVE: u32 = 260;
    const IM_START: u32 = 261;
    const USER: u32 = 262;

    fn tiny_metadata(pre: &str) -> Vec<(String, Value)> {
        let tokens = tiny_tokens();
        let mut types = vec![Value::I32(1); tokens.len()];
        types[IM_START as usize] = Value::I32(TOKEN_TYPE_CONTROL);
        types[USER as usize] = Value::I32(TOKEN_TYPE_USER_DEFINED);
        let strings =
            |v: Vec<&str>| Value::Array(v.into_iter().map(|s| Value::String(s.into())).collect());
        vec![
            (KEY_MODEL.into(), Value::String("gpt2".into())),
            (KEY_PRE.into(), Value::String(pre.into())),
            (
                KEY_TOKENS.into(),
                Value::Array(tokens.into_iter().map(Value::String).collect()),
            ),
            (KEY_TOKEN_TYPE.into(), Value::Array(types)),
            (
                KEY_MERGES.into(),
                strings(vec!["h e", "Ġ t", "Ġt he", "1 2", "Ġ 12"]),
            ),
            (KEY_ADD_BOS.into(), Value::Bool(false)),
            (KEY_BOS_ID.into(), Value::U32(IM_START)),
        ]
    }

    fn build(md: &[(String, Value)]) -> Result<tokenizers::Tokenizer> {
        let map: HashMap<String, Value> = md.iter().cloned().collect();
        from_metadata("tiny.gguf", &map)
    }

    fn with(mut md: Vec<(String, Value)>, key: &str, v: Option<Value>) -> Vec<(String, Value)> {
        md.retain(|(k, _)| k != key);
        if let Some(v) = v {
            md.push((key.to_string(), v));
        }
        md
    }

    fn ids(t: &tokenizers::Tokenizer, text: &str) -> Vec<u32> {
        t.encode_fast(text, false).unwrap().get_ids().to_vec()
    }

    /// Writes `md` as a GGUF file (no tensors) and reads it back through [`from_gguf`].
    fn via_file(md: &[(String, Value)]) -> Result<tokenizers::Tokenizer> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tiny.gguf");
        let mut f = std::fs::File::create(&path).unwrap();
        let refs: Vec<(&str, &Value)> = md.iter().map(|(k, v)| (k.as_str(), v)).collect();
        gguf_file::write(&mut f, &refs, &[]).unwrap();
        drop(f);
        from_gguf(&path)
    }

    #[test]
    fn gguf_file_merges_and_round_trip() {
        let t = via_file(&tiny_metadata("smollm")).unwrap();
        assert_eq!(t.get_vocab_size(true), 263);
        // " the": merges "Ġ t" then "Ġt he"... the lowest-rank pair first: "h e" (rank 0)
        // -> [Ġ, t, he]; "Ġ t" (rank 1) -> [Ġt, he]; "Ġt he" (rank 2) -> [Ġthe].
        assert_eq!(ids(&t, " the"), vec![G_THE]);
        // " t": only "Ġ t" applies.
        assert_eq!(ids(&t, " t"), vec![G_T]);
        // "the": no leading space, so only "h e" applies: [t, he].
        assert_eq!(ids(&t, "the"), vec![u32::from(b't'), HE]);
        // Byte tokens carry the byte as id in this vocabulary: "é" is C3 A9.
        assert_eq!(ids(&t, "é"), vec![0xC3, 0xA9]);
        for text in ["the theme, 12 és\n\n  x", "", " ", "\u{1F600} ok"] {
            let e = ids(&t, text);
            assert_eq!(t.decode(&e, false).unwrap(), text);
        }
    }

    #[test]
    fn digits_split_or_merge_by_pre_tokenizer() {
        // smollm isolates every digit (and the space before it): no "1 2" merge applies.
        let t = build(&tiny_metadata("smollm")).unwrap();
        assert_eq!(ids(&t, " 12"), vec![byte_id(' '), 0x31, 0x32]);
        // gpt-2 keeps " 12" whole: "1 2" (rank 3) then "Ġ 12" (rank 4) -> [Ġ12].
        let t = build(&tiny_metadata("gpt-2")).unwrap();
        assert_eq!(ids(&t, " 12"), vec![G_TWELVE]);
        assert_eq!(ids(&t, "12"), vec![TWELVE]);
        // qwen2: single digits, the space alone.
        let t = build(&tiny_metadata("qwen2")).unwrap();
        assert_eq!(ids(&t, " 12"), vec![byte_id(' '), 0x31, 0x32]);
    }

    /// The id of the byte token of an ASCII character in the tiny vocabulary.
    fn byte_id(c: char) -> u32 {
        u32::from(c as u8)
    }

    #[test]
    fn control_and_user_tokens_are_single_ids() {
        let t = build(&tiny_metadata("smollm")).unwrap();
        assert_eq!(ids(&t, "<|im_start|>"), vec![IM_START]);
        assert_eq!(
            ids(&t, "a<|im_start|>the<|user|>"),
            vec![u32::from(b'a'), IM_START, u32::from(b't'), HE, USER]
        );
        let e = ids(&t, "x<|im_start|><|user|>");
        assert_eq!(t.decode(&e, false).unwrap(), "x<|im_start|><|user|>");
        // Only the control token is special (dropped when skipping special tokens).
        assert_eq!(t.decode(&e, true).unwrap(), "x<|user|>");
    }

    #[test]
    fn bos_template_only_when_asked() {
        let md = with(
            tiny_metadata("smollm"),
            KEY_ADD_BOS,
            Some(Value::Bool(true)),
        );
        let t = build(&md).unwrap();
        let with_specials = t.encode_fast("the", true).unwrap().get_ids().to_vec();
        assert_eq!(with_specials, vec![IM_START, u32::from(b't'), HE]);
        assert_eq!(ids(&t, "the"), vec![u32::from(b't'), HE]);
        // add_bos false: nothing added even with special tokens.
        let t = build(&tiny_metadata("smollm")).unwrap();
        assert_eq!(
            t.encode_fast("the", true).unwrap().get_ids(),
            &[u32::from(b't'), HE]
        );
        // llama-bpe adds BOS by default (llama.cpp), when the flag is absent.
        let md = with(tiny_metadata("llama-bpe"), KEY_ADD_BOS, None);
        let t = build(&md).unwrap();
        assert_eq!(t.encode_fast("the", true).unwrap().get_ids()[0], IM_START);
        // add_bos without a BOS id names the missing key.
        let md = with(
            with(
                tiny_metadata("smollm"),
                KEY_ADD_BOS,
                Some(Value::Bool(true)),
            ),
            KEY_BOS_ID,
            None,
        );
        let e = build(&md).unwrap_err().to_string();
        assert!(e.contains(KEY_BOS_ID) && e.contains(KEY_ADD_BOS), "{e}");
        let md = with(
            with(
                tiny_metadata("smollm"),
                KEY_ADD_BOS,
                Some(Value::Bool(true)),
            ),
            KEY_BOS_ID,
            Some(Value::U32(999)),
        );
        let e = build(&md).unwrap_err().to_string();
        assert!(e.contains(KEY_BOS_ID) && e.contains("999"), "{e}");
    }

    #[test]
    fn unsupported_kinds_name_key_and_value() {
        let md = with(
            tiny_metadata("smollm"),
            KEY_MODEL,
            Some(Value::String("llama".into())),
        );
        let e = build(&md).unwrap_err().to_string();
        assert!(
            e.contains("tiny.gguf")
                && e.contains(KEY_MODEL)
                && e.contains("\"llama\" (SentencePiece) is not supported"),
            "{e}"
        );
        let e = build(&tiny_metadata("tekken")).unwrap_err().to_string();
        assert!(
            e.contains("tiny.gguf") && e.contains(KEY_PRE) && e.contains("\"tekken\""),
            "{e}"
        );
    }

    #[test]
    fn missing_and_mistyped_keys_are_named() {
        for key in [KEY_MODEL, KEY_PRE, KEY_TOKENS, KEY_MERGES] {
            let e = build(&with(tiny_metadata("smollm"), key, None))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("tiny.gguf") && e.contains(key) && e.contains("missing"),
                "{e}"
            );
        }
        let cases = [
            (KEY_MODEL, Value::U32(2)),
            (KEY_TOKENS, Value::Array(vec![Value::U32(1)])),
            (KEY_MERGES, Value::String("h e".into())),
            (KEY_TOKEN_TYPE, Value::Array(vec![Value::I32(1); 3])),
            (KEY_ADD_BOS, Value::U8(1)),
            (KEY_BOS_ID, Value::I32(-1)),
        ];
        for (key, v) in cases {
            let md = with(
                with(
                    tiny_metadata("smollm"),
                    KEY_ADD_BOS,
                    Some(Value::Bool(true)),
                ),
                key,
                Some(v),
            );
            let e = build(&md).unwrap_err().to_string();
            assert!(e.contains("tiny.gguf") && e.contains(key), "{key}: {e}");
        }
        // A merge of an unknown token, a malformed merge, a repeated token.
        let strings =
            |v: Vec<&str>| Value::Array(v.into_iter().map(|s| Value::String(s.into())).collect());
        for merges in [vec!["h e", "q zz"], vec!["he"]] {
            let md = with(tiny_metadata("smollm"), KEY_MERGES, Some(strings(merges)));
            let e = build(&md).unwrap_err().to_string();
            assert!(e.contains(KEY_MERGES), "{e}");
        }
        let mut toks = tiny_tokens();
        toks[HE as usize] = "Ġt".into();
        let md = with(
            tiny_metadata("smollm"),
            KEY_TOKENS,
            Some(Value::Array(toks.into_iter().map(Value::String).collect())),
        );
        let e = build(&md).unwrap_err().to_string();
        assert!(e.contains(KEY_TOKENS) && e.contains("repeats"), "{e}");
    }

    #[test]
    fn not_a_gguf_file_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junk.gguf");
        std::fs::write(&path, b"definitely not gguf").unwrap();
        let e = from_gguf(&path).unwrap_err().to_string();
        assert!(e.contains("junk.gguf") && e.contains("GGUF"), "{e}");
        let e = from_gguf(&dir.path().join("absent.gguf"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("absent.gguf"), "{e}");
    }

    #[test]
    fn merge_split_rule() {
        assert_eq!(split_merge("a b"), Some(("a".into(), "b".into())));
        assert_eq!(split_merge("  b"), Some((" ".into(), "b".into())));
        assert_eq!(split_merge("Ġt he"), Some(("Ġt".into(), "he".into())));
        assert_eq!(split_merge("ab"), None);
        assert_eq!(split_merge("a "), None);
        assert_eq!(split_merge(""), None);
    }
}
