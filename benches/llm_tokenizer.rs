//! Encoding speed of the SmolLM2 byte-level BPE tokenizer built from the fetched GGUF
//! file (release build), in bytes/s and tokens/s of one running text: the first novel of
//! `edgesim::data::NOVELS` when present, else a generated English-like text of the same
//! size class (800 kB). Without the GGUF file the bench prints why and measures nothing.
//!
//! Target: >= 1 MB/s on one thread, i.e. a whole novel tokenised in under a second
//! (measured: Sense and Sensibility, 672 kB, in 0.3-0.45 s of CPU time; 0.69 s wall on
//! the 2-core machine shared with other builds).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use edgesim::data::{NOVELS, RealData, SMOLLM2_GGUF, data_dir};
use edgesim::llm::tokenizer::Tokenizer;
use std::hint::black_box;
use std::time::Duration;

/// Bytes of the generated text.
const GENERATED_BYTES: usize = 800_000;

/// Deterministic English-like prose: sentences of common words with capitals, commas,
/// quotes, numbers and paragraph breaks (a 64-bit LCG, Knuth's MMIX constants).
fn generated_text(bytes: usize) -> String {
    const WORDS: [&str; 64] = [
        "the",
        "of",
        "and",
        "to",
        "a",
        "in",
        "was",
        "her",
        "that",
        "it",
        "not",
        "she",
        "be",
        "as",
        "had",
        "with",
        "for",
        "his",
        "you",
        "he",
        "but",
        "have",
        "at",
        "all",
        "by",
        "so",
        "which",
        "on",
        "my",
        "would",
        "no",
        "very",
        "could",
        "been",
        "were",
        "their",
        "from",
        "this",
        "what",
        "is",
        "any",
        "sister",
        "mother",
        "house",
        "letter",
        "morning",
        "felt",
        "happiness",
        "acquaintance",
        "Elinor",
        "Marianne",
        "Edward",
        "Willoughby",
        "Barton",
        "cottage",
        "affection",
        "immediately",
        "herself",
        "nothing",
        "though",
        "believe",
        "opinion",
        "manner",
        "cannot",
    ];
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = |n: u64| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) % n
    };
    let mut s = String::with_capacity(bytes + 64);
    let mut sentence_start = true;
    while s.len() < bytes {
        let r = next(100);
        let w = WORDS[next(WORDS.len() as u64) as usize];
        if sentence_start {
            let mut c = w.chars();
            if let Some(f) = c.next() {
                s.extend(f.to_uppercase());
                s.push_str(c.as_str());
            }
            sentence_start = false;
        } else if r < 3 {
            s.push_str(&format!(" {}", 1800 + next(40)));
        } else {
            s.push(' ');
            s.push_str(w);
        }
        match r {
            3..=8 => s.push(','),
            9..=13 => {
                s.push('.');
                sentence_start = true;
                if next(6) == 0 {
                    s.push_str("\n\n");
                } else {
                    s.push(' ');
                }
            }
            14 => {
                s.push_str("; \"");
                s.push_str(w);
                s.push('"');
            }
            _ => {}
        }
    }
    s
}

fn encode(c: &mut Criterion) {
    let gguf = data_dir().join("smollm2").join(SMOLLM2_GGUF);
    if !gguf.is_file() {
        eprintln!(
            "llm_tokenizer: {} not found (run scripts/fetch-real-data.sh); nothing measured",
            gguf.display()
        );
        return;
    }
    let tok = Tokenizer::for_checkpoint(&gguf).expect("SmolLM2 tokenizer builds");
    let novel = RealData::locate()
        .ok()
        .and_then(|d| std::fs::read_to_string(d.novel(NOVELS[0])).ok());
    let (what, text) = match novel {
        Some(t) => (NOVELS[0].to_string(), t),
        None => ("generated".to_string(), generated_text(GENERATED_BYTES)),
    };
    let tokens = tok.encode(&text).expect("encodes").len();
    eprintln!(
        "llm_tokenizer: {what} text, {} bytes, {tokens} tokens ({:.2} bytes/token)",
        text.len(),
        text.len() as f64 / tokens as f64
    );
    let mut g = c.benchmark_group("smollm2 encode");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function(format!("{what} (bytes)"), |b| {
        b.iter(|| black_box(tok.encode(black_box(&text)).unwrap()))
    });
    g.throughput(Throughput::Elements(tokens as u64));
    g.bench_function(format!("{what} (tokens)"), |b| {
        b.iter(|| black_box(tok.encode(black_box(&text)).unwrap()))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = encode
}
criterion_main!(benches);
