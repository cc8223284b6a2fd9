//! Structure-aware GGUF tokenizer metadata (`tokenizer.ggml.*`): the byte-level
//! vocabulary plus generated tokens, token types, merges, BOS/EOS settings with boundary
//! values, built into a tokenizer (`llm::tokenizer::gguf::from_metadata`) that then
//! encodes and decodes text.

use arbitrary::Unstructured;
use candle_core::quantized::gguf_file::Value;
use edgesim::llm::tokenizer::gguf::{
    KEY_ADD_BOS, KEY_ADD_EOS, KEY_BOS_ID, KEY_EOS_ID, KEY_MERGES, KEY_MODEL, KEY_PRE,
    KEY_TOKEN_TYPE, KEY_TOKENS, from_metadata,
};
use edgesim::llm::tokenizer::pre::KNOWN;
use std::collections::HashMap;

/// The GPT-2 byte alphabet (openai/gpt-2 `encoder.py`, `bytes_to_unicode`): printable
/// Latin-1 bytes stand for themselves, the other 68 for U+0100.. in byte order.
pub fn byte_char(b: u8) -> char {
    let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
    if printable(b) {
        char::from(b)
    } else {
        let rank = (0..b).filter(|&x| !printable(x)).count() as u32;
        char::from_u32(256 + rank).unwrap_or('?')
    }
}

/// A small valid vocabulary's metadata: the 256 byte tokens, merged tokens, a control
/// and a user-defined token (the seed shape of the GGUF and tokenizer.json corpora).
pub fn tiny_metadata() -> Vec<(String, Value)> {
    let mut tokens: Vec<String> = (0..=255u8).map(|b| byte_char(b).to_string()).collect();
    let merged = ["he", "Ġt", "Ġthe", "12", "Ġ12"];
    tokens.extend(merged.iter().map(|s| s.to_string()));
    tokens.push("<|im_start|>".into());
    tokens.push("<|user|>".into());
    let mut types = vec![Value::I32(1); tokens.len()];
    let n = types.len();
    types[n - 2] = Value::I32(3);
    types[n - 1] = Value::I32(4);
    let strings =
        |v: &[&str]| Value::Array(v.iter().map(|s| Value::String(s.to_string())).collect());
    vec![
        (KEY_MODEL.into(), Value::String("gpt2".into())),
        (KEY_PRE.into(), Value::String("smollm".into())),
        (
            KEY_TOKENS.into(),
            Value::Array(tokens.into_iter().map(Value::String).collect()),
        ),
        (KEY_TOKEN_TYPE.into(), Value::Array(types)),
        (
            KEY_MERGES.into(),
            strings(&["h e", "Ġ t", "Ġt he", "1 2", "Ġ 12"]),
        ),
        (KEY_ADD_BOS.into(), Value::Bool(false)),
        (KEY_BOS_ID.into(), Value::U32((n - 2) as u32)),
    ]
}

/// Text every built tokenizer encodes: words, digits, specials, non-ASCII.
pub const PROBE_TEXT: &str = "Hello the 12 <|im_start|>user\n12345 héllo ✓\t  end";

fn int_value(u: &mut Unstructured, n: u32) -> arbitrary::Result<Value> {
    Ok(match u.int_in_range(0u8..=9)? {
        0..=3 => Value::U32(u.int_in_range(0..=n.saturating_sub(1))?),
        4 => Value::U32(n),
        5 => Value::U32(u32::MAX),
        6 => Value::I32(-1),
        7 => Value::U64(u64::MAX),
        8 => Value::String("1".into()),
        _ => Value::I64(i64::from(n) - 1),
    })
}

fn metadata(u: &mut Unstructured) -> arbitrary::Result<HashMap<String, Value>> {
    let mut md: HashMap<String, Value> = HashMap::new();
    let model = *u.choose(&["gpt2", "gpt2", "gpt2", "llama", "bert", ""])?;
    md.insert(KEY_MODEL.into(), Value::String(model.into()));
    let pre = match u.int_in_range(0u8..=15)? {
        15 => "unknown-pre".to_string(),
        i => KNOWN[usize::from(i) % KNOWN.len()].to_string(),
    };
    md.insert(KEY_PRE.into(), Value::String(pre));

    let mut tokens: Vec<String> = Vec::new();
    let bytes = u.int_in_range(0u8..=7)?;
    if bytes != 7 {
        tokens.extend((0..=255u8).map(|b| byte_char(b).to_string()));
    } else {
        let n = u.int_in_range(0..=40)?;
        for _ in 0..n {
            tokens.push(u.arbitrary::<String>()?);
        }
    }
    let extra = u.int_in_range(0..=24)?;
    for _ in 0..extra {
        let t = match u.int_in_range(0u8..=3)? {
            0 => u.arbitrary::<String>()?,
            1 => format!("<|{}|>", u.arbitrary::<String>()?),
            _ if !tokens.is_empty() => {
                let a = u.choose(&tokens)?.clone();
                let b = u.choose(&tokens)?.clone();
                a + &b
            }
            _ => String::new(),
        };
        tokens.push(t);
    }
    let n = tokens.len() as u32;
    md.insert(
        KEY_TOKENS.into(),
        Value::Array(tokens.iter().cloned().map(Value::String).collect()),
    );

    match u.int_in_range(0u8..=7)? {
        0 => {}
        1 => {
            md.insert(KEY_TOKEN_TYPE.into(), Value::Array(vec![Value::I32(1)]));
        }
        2 => {
            md.insert(KEY_TOKEN_TYPE.into(), Value::U8(1));
        }
        _ => {
            let mut types = Vec::with_capacity(tokens.len());
            for _ in 0..tokens.len() {
                let t = match u.int_in_range(0u8..=15)? {
                    0..=11 => 1,
                    12 => 3,
                    13 => 4,
                    14 => *u.choose(&[0, 2, 5, 6, -1, i32::MAX, i32::MIN])?,
                    _ => 3,
                };
                types.push(Value::I32(t));
            }
            md.insert(KEY_TOKEN_TYPE.into(), Value::Array(types));
        }
    }

    let merges = u.int_in_range(0..=24)?;
    let mut m = Vec::new();
    for _ in 0..merges {
        let s = match u.int_in_range(0u8..=5)? {
            0 => u.arbitrary::<String>()?,
            1 => String::from(" "),
            _ if !tokens.is_empty() => {
                format!("{} {}", u.choose(&tokens)?, u.choose(&tokens)?)
            }
            _ => String::from("a b"),
        };
        m.push(Value::String(s));
    }
    if u.int_in_range(0u8..=7)? != 0 {
        md.insert(KEY_MERGES.into(), Value::Array(m));
    }
    for key in [KEY_ADD_BOS, KEY_ADD_EOS] {
        match u.int_in_range(0u8..=4)? {
            0 | 1 => {}
            2 => {
                md.insert(key.into(), Value::Bool(true));
            }
            3 => {
                md.insert(key.into(), Value::Bool(false));
            }
            _ => {
                md.insert(key.into(), Value::U8(1));
            }
        }
    }
    for key in [KEY_BOS_ID, KEY_EOS_ID] {
        if u.int_in_range(0u8..=1)? == 1 {
            md.insert(key.into(), int_value(u, n)?);
        }
    }
    Ok(md)
}

/// Harness: generated tokenizer metadata -> tokenizer -> encode, decode.
pub fn gguf_tokenizer_struct(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(md) = metadata(&mut u) else { return };
    let Ok(tok) = from_metadata("gguf_tokenizer_struct.gguf", &md) else {
        return;
    };
    let rest = String::from_utf8_lossy(u.take_rest()).into_owned();
    for text in [PROBE_TEXT, rest.as_str()] {
        if let Ok(enc) = tok.encode_fast(text, true) {
            let _ = tok.decode(enc.get_ids(), false);
        }
    }
}
