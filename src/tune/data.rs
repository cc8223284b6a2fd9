//! Training samples and evaluation chunks from tokenised texts (the Austen novels of
//! `crate::data::RealData`, or any UTF-8 files).
//!
//! A sample is `T + 1` consecutive token ids (inputs `ids[..T]`, targets `ids[1..]`).
//!
//! - [`TrainStream`]: the training texts' ids concatenated in the order given, with the
//!   tokenizer's EOS id between consecutive documents when it has one (so no target
//!   crosses a document boundary unannounced) and nothing between them otherwise (the
//!   byte tokenizer has no EOS). Samples are drawn at seeded random offsets ([`Order::Random`],
//!   the same sample for the same seed and index on every machine) or cut sequentially.
//! - [`eval_chunks`]: `n` non-overlapping chunks evenly spread over a held-out text, fixed
//!   by the text alone, so two runs evaluate the same tokens.

use crate::error::{Error, Result};
use crate::llm::tokenizer::Tokenizer;
use crate::policy::SplitMix64;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One tokenised text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// Where it came from (a file path), for messages.
    pub name: String,
    /// Its token ids (no BOS/EOS added).
    pub ids: Vec<u32>,
}

/// Reads and tokenises the UTF-8 file `path` (no special tokens added).
///
/// Errors: the file is unreadable or not UTF-8, or the tokenizer fails (naming the file).
pub fn tokenize_file(path: &Path, tok: &Tokenizer) -> Result<Document> {
    let text = crate::io_util::read_to_string(path)?;
    let name = path.display().to_string();
    let ids = tok
        .encode(&text)
        .map_err(|e| Error::input(&name, "text", format!("cannot be tokenised: {e}")))?;
    Ok(Document { name, ids })
}

/// The EOS id of the GGUF file `path` (`tokenizer.ggml.eos_token_id`), `None` when the
/// key is absent.
///
/// Errors (naming the file and key): unreadable or not GGUF, or the key is not an
/// unsigned 32-bit integer.
pub fn gguf_eos_id(path: &Path) -> Result<Option<u32>> {
    use crate::llm::tokenizer::gguf::KEY_EOS_ID;
    let file = path.display().to_string();
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let content = candle_core::quantized::gguf_file::Content::read(&mut std::io::BufReader::new(f))
        .map_err(|e| Error::input(&file, "gguf", format!("not a readable GGUF file: {e}")))?;
    match content.metadata.get(KEY_EOS_ID) {
        None => Ok(None),
        Some(v) => v.to_u32().map(Some).map_err(|_| {
            Error::input(&file, KEY_EOS_ID, format!("{v:?}; expected a u32 token id"))
        }),
    }
}

/// How samples are taken from a [`TrainStream`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Sample `i` starts at a uniform offset from the `i`-th output of SplitMix64 seeded
    /// with `seed` (multiply-shift into the range; bias below `range / 2^64`).
    Random {
        /// The run's data seed.
        seed: u64,
    },
    /// Sample `i` starts at `(i mod W) * T`, `W = (len - 1) / T`: consecutive windows
    /// whose targets cover the stream once per `W` samples, then again from the start.
    Sequential,
}

/// The training texts as one id stream, and the sample length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainStream {
    /// All ids, documents in order, separated by the EOS id when there is one.
    pub ids: Vec<u32>,
    /// Each document's name and its range in `ids`.
    pub documents: Vec<(String, Range<usize>)>,
    /// The separator put between documents, if any.
    pub separator: Option<u32>,
    /// Sequence length `T` (a sample has `T + 1` ids).
    pub seq_len: usize,
}

impl TrainStream {
    /// Concatenates `docs` (separated by `separator` when `Some`) for samples of
    /// `seq_len + 1` ids.
    ///
    /// Errors (input): `seq_len` is 0 (`--seq-len`), or the stream has fewer than
    /// `seq_len + 1` ids (naming the documents).
    pub fn new(docs: Vec<Document>, separator: Option<u32>, seq_len: usize) -> Result<Self> {
        let names = || {
            docs.iter()
                .map(|d| d.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        if seq_len == 0 {
            return Err(Error::input(
                "--seq-len",
                "seq_len",
                "0; allowed >= 1 token",
            ));
        }
        let mut ids = Vec::with_capacity(docs.iter().map(|d| d.ids.len() + 1).sum());
        let mut documents = Vec::with_capacity(docs.len());
        for (i, d) in docs.iter().enumerate() {
            if i > 0
                && let Some(s) = separator
            {
                ids.push(s);
            }
            let start = ids.len();
            ids.extend_from_slice(&d.ids);
            documents.push((d.name.clone(), start..ids.len()));
        }
        if ids.len() < seq_len + 1 {
            return Err(Error::input(
                names(),
                "--seq-len",
                format!(
                    "the training texts have {} tokens; one sample needs seq_len + 1 = {}",
                    ids.len(),
                    seq_len + 1
                ),
            ));
        }
        Ok(TrainStream {
            ids,
            documents,
            separator,
            seq_len,
        })
    }

    /// [`TrainStream::new`] over the files `paths`, tokenised by `tok`.
    ///
    /// Errors: those of [`tokenize_file`] and [`TrainStream::new`].
    pub fn from_files(
        paths: &[PathBuf],
        tok: &Tokenizer,
        separator: Option<u32>,
        seq_len: usize,
    ) -> Result<Self> {
        let docs = paths
            .iter()
            .map(|p| tokenize_file(p, tok))
            .collect::<Result<Vec<_>>>()?;
        Self::new(docs, separator, seq_len)
    }

    /// Number of distinct sample offsets, `len - T`.
    pub fn offsets(&self) -> usize {
        self.ids.len() - self.seq_len
    }

    /// Start offset of sample `index` (with gradient accumulation, `index = step * accum +
    /// micro_batch`).
    pub fn offset(&self, order: Order, index: u64) -> usize {
        match order {
            Order::Random { seed } => {
                // The index-th output of SplitMix64(seed): its state after `index` calls
                // is seed + index * gamma, and one more call advances and mixes it.
                let gamma = 0x9E37_79B9_7F4A_7C15u64;
                let x = SplitMix64::new(seed.wrapping_add(index.wrapping_mul(gamma))).next_u64();
                ((u128::from(x) * self.offsets() as u128) >> 64) as usize
            }
            Order::Sequential => {
                let windows = ((self.ids.len() - 1) / self.seq_len) as u64;
                (index % windows) as usize * self.seq_len
            }
        }
    }

    /// Sample `index`: `T + 1` ids from [`TrainStream::offset`].
    pub fn sample(&self, order: Order, index: u64) -> &[u32] {
        let o = self.offset(order, index);
        &self.ids[o..o + self.seq_len + 1]
    }
}

/// `n` non-overlapping chunks of `seq_len + 1` ids spread evenly over `ids` (a held-out
/// text named `file`): chunk `k` starts at `k * floor(len / n)`.
///
/// Errors (input, naming `file`): `seq_len` is 0 (`--seq-len`), `n` is 0
/// (`--eval-chunks`), or the text is shorter than `n * (seq_len + 1)` ids.
pub fn eval_chunks(file: &str, ids: &[u32], seq_len: usize, n: usize) -> Result<Vec<Vec<u32>>> {
    if seq_len == 0 {
        return Err(Error::input(file, "--seq-len", "0; allowed >= 1 token"));
    }
    if n == 0 {
        return Err(Error::input(file, "--eval-chunks", "0; allowed >= 1 chunk"));
    }
    let len = ids.len();
    let stride = len / n;
    if stride < seq_len + 1 {
        return Err(Error::input(
            file,
            "--eval-chunks",
            format!(
                "the text has {len} tokens; {n} chunks of seq_len + 1 = {} need {}",
                seq_len + 1,
                n * (seq_len + 1)
            ),
        ));
    }
    Ok((0..n)
        .map(|k| ids[k * stride..k * stride + seq_len + 1].to_vec())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(name: &str, text: &str) -> Document {
        Document {
            name: name.to_string(),
            ids: Tokenizer::Bytes.encode(text).unwrap(),
        }
    }

    #[test]
    fn documents_are_joined_with_the_separator() {
        let s = TrainStream::new(vec![doc("a", "abc"), doc("b", "de")], Some(300), 2).unwrap();
        assert_eq!(s.ids, vec![97, 98, 99, 300, 100, 101]);
        assert_eq!(s.documents[1], ("b".to_string(), 4..6));
        let s = TrainStream::new(vec![doc("a", "abc"), doc("b", "de")], None, 2).unwrap();
        assert_eq!(s.ids, vec![97, 98, 99, 100, 101]);
        assert_eq!(s.documents[1].1, 3..5);
        assert_eq!(s.offsets(), 3);
    }

    #[test]
    fn sequential_windows_cover_the_stream() {
        // "abcdefghij", T = 3: windows at 0, 3, 6 ((10 - 1) / 3 = 3), then again from 0.
        let s = TrainStream::new(vec![doc("t", "abcdefghij")], None, 3).unwrap();
        let got: Vec<String> = (0..4)
            .map(|i| {
                String::from_utf8(
                    s.sample(Order::Sequential, i)
                        .iter()
                        .map(|&b| b as u8)
                        .collect(),
                )
                .unwrap()
            })
            .collect();
        assert_eq!(got, vec!["abcd", "defg", "ghij", "abcd"]);
    }

    #[test]
    fn random_samples_are_seeded_in_range_and_spread() {
        let text: String = (0..200)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        let s = TrainStream::new(vec![doc("t", &text)], None, 8).unwrap();
        let r = Order::Random { seed: 42 };
        let mut seen = vec![0usize; s.offsets()];
        for i in 0..4000 {
            let o = s.offset(r, i);
            assert!(o + 9 <= 200);
            assert_eq!(s.sample(r, i), &s.ids[o..o + 9]);
            seen[o] += 1;
        }
        // Same seed and index: same sample; another seed: another sequence.
        assert_eq!(s.offset(r, 17), s.offset(Order::Random { seed: 42 }, 17));
        let other: Vec<usize> = (0..20)
            .map(|i| s.offset(Order::Random { seed: 43 }, i))
            .collect();
        let mine: Vec<usize> = (0..20).map(|i| s.offset(r, i)).collect();
        assert_ne!(other, mine);
        // Index i is the i-th draw of the seeded SplitMix64 stream.
        let mut g = SplitMix64::new(42);
        for i in 0..5 {
            let x = g.next_u64();
            assert_eq!(s.offset(r, i), ((u128::from(x) * 192) >> 64) as usize);
        }
        // 4000 draws over 192 offsets: every offset hit, none more than 3x its mean 20.8.
        assert!(seen.iter().all(|&c| c > 0 && c < 63), "{seen:?}");
    }

    #[test]
    fn stream_errors_name_the_flag_and_files() {
        let e = TrainStream::new(vec![doc("emma.txt", "ab")], None, 0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("--seq-len"), "{e}");
        let e = TrainStream::new(vec![doc("emma.txt", "ab"), doc("p.txt", "c")], None, 3)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("emma.txt, p.txt") && e.contains("3 tokens") && e.contains("4"),
            "{e}"
        );
        // Exactly T + 1 ids is enough, with the separator counted.
        let s = TrainStream::new(vec![doc("a", "ab"), doc("b", "c")], Some(0), 3).unwrap();
        assert_eq!(
            (s.offsets(), s.sample(Order::Random { seed: 1 }, 9)),
            (1, &[97, 98, 0, 99][..])
        );
        let e = tokenize_file(Path::new("/nonexistent/emma.txt"), &Tokenizer::Bytes).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/emma.txt"));
    }

    #[test]
    fn eval_chunks_are_spread_and_disjoint() {
        // 20 ids, 3 chunks of 4 (T = 3): stride floor(20 / 3) = 6, starts 0, 6, 12.
        let ids: Vec<u32> = (0..20).collect();
        let c = eval_chunks("p.txt", &ids, 3, 3).unwrap();
        assert_eq!(
            c,
            vec![vec![0, 1, 2, 3], vec![6, 7, 8, 9], vec![12, 13, 14, 15]]
        );
        // Tight fit: 3 chunks of 4 in 12 ids.
        let c = eval_chunks("p.txt", &ids[..12], 3, 3).unwrap();
        assert_eq!(c[2], vec![8, 9, 10, 11]);
        let e = eval_chunks("p.txt", &ids[..11], 3, 3)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("p.txt") && e.contains("--eval-chunks") && e.contains("11 tokens"),
            "{e}"
        );
        assert!(
            eval_chunks("p.txt", &ids, 3, 0)
                .unwrap_err()
                .to_string()
                .contains("--eval-chunks")
        );
        assert!(
            eval_chunks("p.txt", &ids, 0, 2)
                .unwrap_err()
                .to_string()
                .contains("--seq-len")
        );
    }
}
