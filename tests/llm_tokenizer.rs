//! The SmolLM2 tokenizer built from the fetched GGUF file: ids pinned against sources
//! independent of the BPE code under test, special tokens, round trips on the novels, and
//! `edgesim luc tokenize`.

mod common;

use edgesim::data::NOVELS;
use edgesim::llm::tokenizer::Tokenizer;
use std::process::Command;

fn smollm2(test: &str) -> Option<Tokenizer> {
    let path = common::real_gguf_or_skip(test)?;
    Some(Tokenizer::for_checkpoint(&path).expect("the SmolLM2 GGUF tokenizer builds"))
}

/// A published SmolLM2 tokenisation: radxa-docs/docs,
/// `docs/aicore/ax-m1/LLM/smolLM2-360m.md` prints the ids that Hugging Face
/// `transformers` 4.53.3 gives for the chat template around "hello world" (SmolLM2-360M
/// shares the 135M model's tokenizer). It covers the control tokens, newlines, and words
/// that need merges: " SmolLM" -> " Sm" "ol" "LM" (3511 308 34519), " Hugging" -> " H"
/// "ugging" (407 19712).
#[test]
fn published_chat_prompt_ids() {
    let Some(tok) = smollm2("published_chat_prompt_ids") else {
        return;
    };
    let prompt = "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by \
                  Hugging Face<|im_end|>\n<|im_start|>user\nhello world<|im_end|>\n\
                  <|im_start|>assistant\n";
    let expected = [
        1, 9690, 198, 2683, 359, 253, 5356, 5646, 11173, 3365, 3511, 308, 34519, 28, 7018, 411,
        407, 19712, 8182, 2, 198, 1, 4093, 198, 28120, 905, 2, 198, 1, 520, 9531, 198,
    ];
    let ids = tok.encode(prompt).unwrap();
    assert_eq!(ids, expected);
    assert_eq!(tok.decode(&ids).unwrap(), prompt);
}

/// Pins derived without the BPE code under test, from the GGUF token list read by the
/// Python `gguf` package (`GGUFReader`, `tokenizer.ggml.tokens`):
/// - the sentence is cut by hand with SmolLM2's pre-tokenizer rules (each digit alone,
///   the space before a digit run alone as `Ġ`, otherwise a word with its leading
///   space); every piece but the two names is itself a vocabulary entry, so its id is
///   the index of that string in the list (`The` 504, `Ġhouse` 2291, `Ġ` 216, `1` 33,
///   `7` 39, `9` 41, `2` 34, `,` 28, `.` 30, ...);
/// - " Elinor" and " Dashwood" are not entries: their ids come from a naive Python BPE
///   (openai/gpt-2 `encoder.py`'s loop: merge the lowest-rank adjacent pair of
///   `tokenizer.ggml.merges` until none applies) -> `ĠEl` `in` `or` (3906 254 270) and
///   `ĠDash` `wood` (39924 5463). The same naive BPE reproduces the published
///   " SmolLM" and " Hugging" splits above.
#[test]
fn pinned_sentence_ids() {
    let Some(tok) = smollm2("pinned_sentence_ids") else {
        return;
    };
    let text = "The house was built in 1797 and it had 12 rooms, said Elinor Dashwood.";
    let expected = [
        504,   // The
        2291,  // Ġhouse
        436,   // Ġwas
        2837,  // Ġbuilt
        281,   // Ġin
        216,   // Ġ
        33,    // 1
        39,    // 7
        41,    // 9
        39,    // 7
        284,   // Ġand
        357,   // Ġit
        761,   // Ġhad
        216,   // Ġ
        33,    // 1
        34,    // 2
        10357, // Ġrooms
        28,    // ,
        1137,  // Ġsaid
        3906,  // ĠEl
        254,   // in
        270,   // or
        39924, // ĠDash
        5463,  // wood
        30,    // .
    ];
    assert_eq!(tok.encode(text).unwrap(), expected);
    // The vocabulary lookups agree with the Python reading of the token list.
    for (s, id) in [
        ("The", 504),
        ("Ġhouse", 2291),
        ("Ġ", 216),
        ("1", 33),
        ("ĠDash", 39924),
    ] {
        assert_eq!(tok.token_to_id(s), Some(id), "{s}");
        assert_eq!(tok.id_to_token(id).as_deref(), Some(s));
    }
    // Two spaces before a word: GPT-2's `\s+(?!\S)` leaves the last space to the word.
    assert_eq!(tok.encode("  leading spaces").unwrap(), [216, 2899, 5600]);
}

#[test]
fn special_tokens_are_single_ids() {
    let Some(tok) = smollm2("special_tokens_are_single_ids") else {
        return;
    };
    // Ids 0..=2 are the control tokens of the GGUF (token_type 3).
    assert_eq!(tok.encode("<|endoftext|>").unwrap(), [0]);
    assert_eq!(tok.encode("<|im_start|>").unwrap(), [1]);
    assert_eq!(tok.encode("<|im_end|>").unwrap(), [2]);
    assert_eq!(tok.encode("x<|im_start|>y").unwrap().len(), 3);
    assert_eq!(tok.token_to_id("<|im_start|>"), Some(1));
    assert_eq!(tok.vocab_size(), 49152);
    assert_eq!(tok.name(), "bpe");
}

/// English with what novels contain: punctuation, quotes, dashes, accents, digits, blank
/// lines, indentation, tabs, trailing spaces.
const PARAGRAPH: &str = "CHAPTER I.\n\n\n  The family of Dashwood had long been settled in \
Sussex.  Their estate was large, and their residence was at Norland Park, in the centre \
of their property, where, for many generations, they had lived in so respectable a manner \
as to engage the general good opinion of their surrounding acquaintance.\n\n\"I am sure,\" \
said she -- \u{201c}it would be \u{2014} na\u{ef}ve, n'est-ce pas?\u{201d}\tThey owed \
\u{a3}3,000 (or 4500 francs) in 1811; it's 50% more than Mrs. Dashwood's caf\u{e9} bill!   \n\
\r\nEnd \u{1F600}.\n";

/// [`PARAGRAPH`]'s ids from a second, independent implementation: a Python script
/// reading the GGUF with the `gguf` package, cutting the text as SmolLM2's pre-tokenizer
/// does (control tokens first; `str.isnumeric` characters alone; then the GPT-2 regex
/// with the `regex` package), mapping bytes with GPT-2's `bytes_to_unicode` and merging
/// with the naive lowest-rank loop of openai/gpt-2 `encoder.py`. (The same script gives
/// ids identical to this crate's for the whole of each of the six novels.)
const PARAGRAPH_IDS: [u32; 142] = [
    5229, 41958, 339, 30, 1116, 3805, 378, 1564, 282, 39924, 5463, 761, 986, 719, 9700, 281, 37036,
    30, 216, 3855, 9757, 436, 1507, 28, 284, 480, 14096, 436, 418, 6334, 1219, 4173, 28, 281, 260,
    8560, 282, 480, 3501, 28, 837, 28, 327, 800, 4902, 28, 502, 761, 4161, 281, 588, 37949, 253,
    5710, 347, 288, 4555, 260, 2210, 1123, 6022, 282, 480, 3990, 41141, 30, 198, 198, 18, 57, 744,
    2090, 1627, 1137, 1041, 3009, 619, 269, 736, 325, 1841, 15486, 46494, 28, 304, 23, 381, 29,
    319, 40113, 6491, 197, 4948, 30178, 10257, 35, 28, 32, 32, 32, 365, 270, 216, 36, 37, 32, 32,
    34525, 99, 25, 281, 216, 33, 40, 33, 33, 43, 357, 506, 216, 37, 32, 21, 540, 670, 10721, 30,
    39924, 5463, 506, 37366, 3093, 17, 333, 198, 201, 198, 13182, 40303, 218, 30, 198,
];

#[test]
fn round_trip_english_text() {
    let Some(tok) = smollm2("round_trip_english_text") else {
        return;
    };
    let ids = tok.encode(PARAGRAPH).unwrap();
    assert_eq!(PARAGRAPH.len(), 490);
    assert_eq!(ids, PARAGRAPH_IDS);
    assert!(ids.iter().all(|&i| (i as usize) < tok.vocab_size()));
    assert_eq!(tok.decode(&ids).unwrap(), PARAGRAPH);
    // Fewer tokens than bytes (the merges do work) yet at least one per word.
    assert!(ids.len() < PARAGRAPH.len() / 2, "{} tokens", ids.len());
    assert!(ids.len() > PARAGRAPH.split_whitespace().count());
    // A byte without a vocabulary entry (U+0004; SmolLM2 lacks 21 of the 256) is dropped,
    // as by the model's own tokenizer.json (BPE without an unknown token).
    assert_eq!(tok.decode(&tok.encode("a\u{4}b").unwrap()).unwrap(), "ab");
}

#[test]
fn novels_round_trip() {
    let Some(data) = common::real_data_or_skip("novels_round_trip") else {
        return;
    };
    let tok = Tokenizer::for_checkpoint(&data.gguf).unwrap();
    for name in NOVELS {
        let path = data.novel(name);
        let text = std::fs::read_to_string(&path).unwrap();
        let ids = tok.encode(&text).unwrap();
        assert!(!ids.is_empty(), "{name}");
        assert_eq!(
            tok.decode(&ids).unwrap(),
            text,
            "{name}: decode(encode(text)) != text"
        );
    }
}

fn edgesim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_edgesim"))
        .args(args)
        .output()
        .expect("edgesim runs")
}

#[test]
fn cli_tokenize_gguf_matches_encode() {
    let Some(gguf) = common::real_gguf_or_skip("cli_tokenize_gguf_matches_encode") else {
        return;
    };
    let tok = Tokenizer::for_checkpoint(&gguf).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("p.txt");
    std::fs::write(&data, PARAGRAPH).unwrap();
    let out = dir.path().join("ids.txt");
    let o = edgesim(&[
        "luc",
        "tokenize",
        "--checkpoint",
        gguf.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--chunk",
        "16",
        "--chunks",
        "3",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["chunks"], 3);
    assert_eq!(summary["tokens"], 48);
    assert_eq!(summary["tokenizer"], "bpe");
    let ids = tok.encode(PARAGRAPH).unwrap();
    let want: String = ids[..48]
        .chunks(16)
        .map(|c| c.iter().map(u32::to_string).collect::<Vec<_>>().join(" ") + "\n")
        .collect();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), want);
}

#[test]
fn cli_tokenize_bytes_to_stdout_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("t.txt");
    std::fs::write(&data, "abcdefg").unwrap();
    // A directory without tokenizer.json: one token per byte; the 1-token tail is dropped.
    let ckpt = dir.path().to_str().unwrap();
    let o = edgesim(&[
        "luc",
        "tokenize",
        "--checkpoint",
        ckpt,
        "--data",
        data.to_str().unwrap(),
        "--chunk",
        "3",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "97 98 99\n100 101 102\n"
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("2 chunks of 3 tokens"));
    // Errors: missing checkpoint, text shorter than one chunk, missing data file; exit 2,
    // the file named, no output file left behind.
    let out = dir.path().join("never.txt");
    let cases: [(&str, &str, &str, &str); 3] = [
        (
            "/nonexistent/ckpt.gguf",
            data.to_str().unwrap(),
            "3",
            "/nonexistent/ckpt.gguf",
        ),
        (ckpt, data.to_str().unwrap(), "100", "--chunk"),
        (ckpt, "/nonexistent/t.txt", "3", "/nonexistent/t.txt"),
    ];
    for (c, d, n, needle) in cases {
        let o = edgesim(&[
            "luc",
            "tokenize",
            "--checkpoint",
            c,
            "--data",
            d,
            "--chunk",
            n,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(2), "{needle}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(needle), "{needle}: {err}");
        assert!(!out.exists());
    }
}

/// A checkpoint written beside the GGUF's tokenizer (as `luc compress` does) reads back
/// the same tokenizer from `tokenizer.json`: identical ids, specials included.
#[test]
fn tokenizer_saved_beside_a_checkpoint_reads_back() {
    let Some(tok) = smollm2("tokenizer_saved_beside_a_checkpoint_reads_back") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = tok.save_beside(dir.path()).unwrap().unwrap();
    assert!(file.ends_with("tokenizer.json"));
    let back = Tokenizer::for_checkpoint(dir.path()).unwrap();
    let text = "<|im_start|>user\nIt is a truth universally acknowledged, in 1813.<|im_end|>";
    assert_eq!(back.encode(text).unwrap(), tok.encode(text).unwrap());
    assert_eq!(back.vocab_size(), tok.vocab_size());
    // Bytes write nothing: a directory without tokenizer.json means bytes.
    let empty = tempfile::tempdir().unwrap();
    assert_eq!(Tokenizer::Bytes.save_beside(empty.path()).unwrap(), None);
    assert!(matches!(
        Tokenizer::for_checkpoint(empty.path()).unwrap(),
        Tokenizer::Bytes
    ));
}
