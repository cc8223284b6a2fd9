//! Perplexity evaluation: the forward and the per-chunk negative log-likelihood against an
//! independent naive implementation written here (scalar f64 loops over the checkpoint's
//! weights, no code shared with `edgesim::llm::forward`), closed forms, chunking and
//! thread-count invariants, and `edgesim luc eval`.

mod common;

use edgesim::llm::checkpoint::{Checkpoint, LlamaConfig, StoreDtype};
use edgesim::llm::eval::{Perplexity, perplexity};
use edgesim::llm::forward;
use edgesim::llm::synth::{SynthShape, synth, synth_config};
use edgesim::llm::tokenizer::ByteTokenizer;
use ndarray::Array2;
use std::path::Path;
use std::process::Command;

// ---------------------------------------------------------------- naive model -----

/// `y[r][o] = sum_i x[r][i] w[o][i]` in f64.
fn lin(x: &[Vec<f64>], w: &Array2<f32>) -> Vec<Vec<f64>> {
    x.iter()
        .map(|row| {
            (0..w.nrows())
                .map(|o| (0..w.ncols()).map(|i| row[i] * f64::from(w[[o, i]])).sum())
                .collect()
        })
        .collect()
}

fn rms(x: &[Vec<f64>], g: &ndarray::Array1<f32>, eps: f64) -> Vec<Vec<f64>> {
    x.iter()
        .map(|row| {
            let ms = row.iter().map(|v| v * v).sum::<f64>() / row.len() as f64;
            let inv = 1.0 / (ms + eps).sqrt();
            row.iter()
                .zip(g)
                .map(|(v, &w)| v * inv * f64::from(w))
                .collect()
        })
        .collect()
}

/// Hugging Face rotate-half RoPE: dims (i, i + hd/2) of every head rotate by
/// `pos * theta^(-2i/hd)`.
fn rope(x: &mut [Vec<f64>], heads: usize, hd: usize, theta: f64) {
    for (pos, row) in x.iter_mut().enumerate() {
        for h in 0..heads {
            for i in 0..hd / 2 {
                let a = pos as f64 / theta.powf(2.0 * i as f64 / hd as f64);
                let (u, v) = (row[h * hd + i], row[h * hd + i + hd / 2]);
                row[h * hd + i] = u * a.cos() - v * a.sin();
                row[h * hd + i + hd / 2] = v * a.cos() + u * a.sin();
            }
        }
    }
}

/// Logits `[T][vocab]` of `tokens` under `ck`, all in f64.
fn naive_logits(ck: &Checkpoint, tokens: &[u32]) -> Vec<Vec<f64>> {
    let c = &ck.config;
    let w = &ck.weights;
    let (hd, n) = (c.head_dim, tokens.len());
    let group = c.num_attention_heads / c.num_key_value_heads;
    let mut x: Vec<Vec<f64>> = tokens
        .iter()
        .map(|&t| {
            w.embed
                .row(t as usize)
                .iter()
                .map(|&v| f64::from(v))
                .collect()
        })
        .collect();
    for l in &w.layers {
        let a = rms(&x, &l.input_norm, c.rms_norm_eps);
        let (mut q, mut k, v) = (lin(&a, &l.q), lin(&a, &l.k), lin(&a, &l.v));
        rope(&mut q, c.num_attention_heads, hd, c.rope_theta);
        rope(&mut k, c.num_key_value_heads, hd, c.rope_theta);
        let mut ctx = vec![vec![0.0; c.num_attention_heads * hd]; n];
        for h in 0..c.num_attention_heads {
            let g = h / group;
            for i in 0..n {
                let sc: Vec<f64> = (0..=i)
                    .map(|j| {
                        (0..hd)
                            .map(|d| q[i][h * hd + d] * k[j][g * hd + d])
                            .sum::<f64>()
                            / (hd as f64).sqrt()
                    })
                    .collect();
                let m = sc.iter().cloned().fold(f64::MIN, f64::max);
                let z: f64 = sc.iter().map(|s| (s - m).exp()).sum();
                for (j, s) in sc.iter().enumerate() {
                    for d in 0..hd {
                        ctx[i][h * hd + d] += (s - m).exp() / z * v[j][g * hd + d];
                    }
                }
            }
        }
        let o = lin(&ctx, &l.o);
        for (xi, oi) in x.iter_mut().zip(&o) {
            xi.iter_mut().zip(oi).for_each(|(a, b)| *a += b);
        }
        let b = rms(&x, &l.post_norm, c.rms_norm_eps);
        let (gate, up) = (lin(&b, &l.gate), lin(&b, &l.up));
        let act: Vec<Vec<f64>> = gate
            .iter()
            .zip(&up)
            .map(|(g, u)| {
                g.iter()
                    .zip(u)
                    .map(|(g, u)| g / (1.0 + (-g).exp()) * u)
                    .collect()
            })
            .collect();
        let d = lin(&act, &l.down);
        for (xi, di) in x.iter_mut().zip(&d) {
            xi.iter_mut().zip(di).for_each(|(a, b)| *a += b);
        }
    }
    let f = rms(&x, &w.norm, c.rms_norm_eps);
    lin(&f, w.lm_head.as_ref().unwrap_or(&w.embed))
}

/// Summed NLL of a chunk's predictions (position t predicts token t+1), log-softmax in
/// f64 with the max subtracted.
fn naive_chunk_nll(ck: &Checkpoint, tokens: &[u32]) -> f64 {
    let z = naive_logits(ck, tokens);
    (0..tokens.len() - 1)
        .map(|t| {
            let m = z[t].iter().cloned().fold(f64::MIN, f64::max);
            let lse = m + z[t].iter().map(|v| (v - m).exp()).sum::<f64>().ln();
            lse - z[t][tokens[t + 1] as usize]
        })
        .sum()
}

// ---------------------------------------------------------------- models ----------

fn config(tied: bool, heads: usize, kv: usize, vocab: usize, theta: f64) -> LlamaConfig {
    LlamaConfig {
        hidden_size: 32,
        intermediate_size: 56,
        num_hidden_layers: 2,
        num_attention_heads: heads,
        num_key_value_heads: kv,
        vocab_size: vocab,
        rms_norm_eps: 1e-5,
        rope_theta: theta,
        tie_word_embeddings: tied,
        head_dim: 32 / heads,
    }
}

/// Untied grouped-query model whose vocabulary (1,700) spans two LM-head slabs and ends
/// in a partial GEMM panel; tied multi-head model with another RoPE base.
fn models() -> Vec<(&'static str, Checkpoint)> {
    vec![
        (
            "untied gqa",
            synth_config(config(false, 4, 2, 1700, 10000.0), 3)
                .unwrap()
                .0,
        ),
        (
            "tied mha",
            synth_config(config(true, 4, 4, 260, 500.0), 4).unwrap().0,
        ),
    ]
}

/// Deterministic token chunks (64-bit LCG, Knuth's MMIX constants).
fn chunks(vocab: usize, lens: &[usize], seed: u64) -> Vec<Vec<u32>> {
    let mut s = seed;
    lens.iter()
        .map(|&n| {
            (0..n)
                .map(|_| {
                    s = s
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    ((s >> 33) % vocab as u64) as u32
                })
                .collect()
        })
        .collect()
}

fn eval(ck: &Checkpoint, c: &[Vec<u32>]) -> Perplexity {
    perplexity(ck, c, &|_| {}).unwrap()
}

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

// ---------------------------------------------------------------- tests -----------

#[test]
fn forward_logits_match_naive_f64() {
    for (name, ck) in models() {
        let tokens = &chunks(ck.config.vocab_size, &[13], 1)[0];
        let got = forward::logits(&ck, tokens).unwrap();
        let want = naive_logits(&ck, tokens);
        let max_ref = want.iter().flatten().fold(0.0f64, |m, v| m.max(v.abs()));
        let max_err = got
            .indexed_iter()
            .map(|((i, j), &g)| (f64::from(g) - want[i][j]).abs())
            .fold(0.0, f64::max);
        assert!(max_ref > 1.0, "{name}: degenerate reference");
        // f32 arithmetic through 2 layers: observed 3e-7 of the largest logit; 10x margin.
        assert!(
            max_err <= 3e-6 * max_ref,
            "{name}: max |err| {max_err} vs max |logit| {max_ref}"
        );
    }
}

#[test]
fn chunk_nll_matches_naive_f64() {
    for (name, ck) in models() {
        let c = chunks(ck.config.vocab_size, &[13, 7, 2, 20], 2);
        let p = eval(&ck, &c);
        for (i, chunk) in c.iter().enumerate() {
            let want = naive_chunk_nll(&ck, chunk);
            // Relative tolerance 2e-6 (f32 forward; observed at most 1.3e-7).
            assert!(
                (p.chunk_nll[i] - want).abs() <= 2e-6 * want.abs(),
                "{name}, chunk {i}: {} vs {want}",
                p.chunk_nll[i]
            );
        }
        let total: f64 = c.iter().map(|t| naive_chunk_nll(&ck, t)).sum();
        let preds = (13 - 1) + (7 - 1) + (2 - 1) + (20 - 1);
        assert_eq!(p.predictions, preds);
        assert!((p.nll - total / preds as f64).abs() <= 2e-6 * p.nll);
        assert!((p.ppl - p.nll.exp()).abs() <= 1e-12 * p.ppl);
        assert_eq!((p.chunks, p.chunk_tokens), (4, 20));
    }
}

#[test]
fn zero_lm_head_predicts_uniformly_so_ppl_is_the_vocabulary_size() {
    let (mut ck, _) = synth_config(config(false, 4, 2, 300, 10000.0), 5).unwrap();
    ck.weights.lm_head = Some(Array2::zeros((300, 32)));
    let p = eval(&ck, &chunks(300, &[9, 5, 16], 6));
    // Every logit is 0: nll = ln(300) per prediction, up to f64 rounding of the sums.
    assert!((p.nll - 300f64.ln()).abs() <= 1e-13, "{}", p.nll);
    assert!((p.ppl - 300.0).abs() <= 1e-10, "{}", p.ppl);
    for (c, n) in p.chunk_nll.iter().zip([8.0, 4.0, 15.0]) {
        assert!((c - n * 300f64.ln()).abs() <= 1e-12, "{c}");
    }
}

#[test]
fn chunking_counts_sums_and_independence() {
    let (ck, _) = synth(SynthShape::Tiny, 7);
    let t = 24;
    let c = chunks(256, &[t; 6], 8);
    let p = eval(&ck, &c);
    assert_eq!(p.predictions, 6 * (t - 1));
    assert_eq!((p.chunks, p.chunk_tokens, p.chunk_nll.len()), (6, t, 6));
    let sum: f64 = p.chunk_nll.iter().sum();
    assert!((sum - p.nll * p.predictions as f64).abs() <= 1e-12 * sum);
    // Chunks are independent sequences: each alone gives the same bits, in any order.
    for (i, chunk) in c.iter().enumerate() {
        assert_eq!(
            eval(&ck, std::slice::from_ref(chunk)).chunk_nll[0],
            p.chunk_nll[i]
        );
    }
    let rev: Vec<_> = c.iter().rev().cloned().collect();
    let mut back = eval(&ck, &rev).chunk_nll;
    back.reverse();
    assert_eq!(back, p.chunk_nll);
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    // Big enough for the GEMMs to split over threads (the `small` shape, hidden 256).
    let (ck, _) = synth(SynthShape::Small, 2);
    let c = chunks(512, &[64, 64, 33, 64, 2], 9);
    let one = in_pool(1, || eval(&ck, &c));
    assert_eq!(one, in_pool(2, || eval(&ck, &c)));
    assert_eq!(one, in_pool(3, || eval(&ck, &c)));
}

// ---------------------------------------------------------------- CLI -------------

fn edgesim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_edgesim"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = edgesim(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn bad(args: &[&str]) -> String {
    let out = edgesim(args);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stderr).unwrap()
}

const TEXT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/calibration_text.txt");

/// serde_json's default float parser is within one ulp, not always correctly rounded.
fn assert_ulp_close(got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert!(
            (g - w).abs() <= 2.0 * f64::EPSILON * w.abs(),
            "{got:?} vs {want:?}"
        );
    }
}

fn saved_tiny(dir: &Path) -> Checkpoint {
    let (ck, _) = synth(SynthShape::Tiny, 11);
    ck.save(dir, StoreDtype::F32, 1).unwrap();
    ck
}

#[test]
fn cli_json_on_text_and_ids_agrees_with_the_library() {
    let d = tempfile::tempdir().unwrap();
    let ck = saved_tiny(&d.path().join("ck"));
    let ckp = d.path().join("ck").display().to_string();
    // Text: byte tokens cut into 3 chunks of 32.
    let text = std::fs::read_to_string(TEXT).unwrap();
    let want_chunks: Vec<Vec<u32>> = ByteTokenizer::encode(&text)
        .chunks_exact(32)
        .take(3)
        .map(<[u32]>::to_vec)
        .collect();
    let want = eval(&ck, &want_chunks);
    let out = ok(&[
        "luc",
        "eval",
        "--checkpoint",
        &ckp,
        "--data",
        TEXT,
        "--chunk",
        "32",
        "--chunks",
        "3",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["predictions"], 3 * 31);
    assert_eq!(
        (v["chunks"].as_u64(), v["chunk_tokens"].as_u64()),
        (Some(3), Some(32))
    );
    let num = |k: &str| v[k].as_f64().unwrap();
    assert_ulp_close(&[num("ppl"), num("nll")], &[want.ppl, want.nll]);
    let cn: Vec<f64> = serde_json::from_value(v["chunk_nll"].clone()).unwrap();
    assert_ulp_close(&cn, &want.chunk_nll);
    assert_eq!(v["data_format"], "text");
    // The same chunks as id lines (ragged: a 4th, shorter line) read as ids.
    let ids = d.path().join("ids.txt");
    let mut lines: Vec<String> = want_chunks
        .iter()
        .map(|c| c.iter().map(u32::to_string).collect::<Vec<_>>().join(" "))
        .collect();
    lines.push("5, 6, 7".into());
    std::fs::write(&ids, lines.join("\n") + "\n").unwrap();
    let idp = ids.display().to_string();
    let v: serde_json::Value = serde_json::from_str(&ok(&[
        "luc",
        "eval",
        "--checkpoint",
        &ckp,
        "--data",
        &idp,
        "--chunk",
        "32",
        "--json",
    ]))
    .unwrap();
    assert_eq!(v["data_format"], "ids");
    assert_eq!(v["predictions"], 3 * 31 + 2);
    let cn: Vec<f64> = serde_json::from_value(v["chunk_nll"].clone()).unwrap();
    assert_ulp_close(&cn[..3], &want.chunk_nll);
    // --chunks keeps the first N lines; --chunk truncates them.
    let v: serde_json::Value = serde_json::from_str(&ok(&[
        "luc",
        "eval",
        "--checkpoint",
        &ckp,
        "--data",
        &idp,
        "--chunk",
        "10",
        "--chunks",
        "2",
        "--json",
    ]))
    .unwrap();
    assert_eq!(
        (v["chunks"].as_u64(), v["predictions"].as_u64()),
        (Some(2), Some(18))
    );
}

#[test]
fn cli_text_output_says_what_it_counts() {
    let d = tempfile::tempdir().unwrap();
    saved_tiny(d.path());
    let ckp = d.path().display().to_string();
    let out = ok(&[
        "luc",
        "eval",
        "--checkpoint",
        &ckp,
        "--data",
        TEXT,
        "--chunk",
        "64",
        "--chunks",
        "4",
    ]);
    assert!(
        out.contains("perplexity over 4 chunks of 64 tokens = 252 predictions"),
        "{out}"
    );
    assert!(
        out.contains("text, bytes tokenizer") && out.contains("ppl "),
        "{out}"
    );
    // Without --chunks: every whole chunk of the text (the tail is dropped).
    let out = ok(&[
        "luc",
        "eval",
        "--checkpoint",
        &ckp,
        "--data",
        TEXT,
        "--chunk",
        "256",
    ]);
    let n = std::fs::read(TEXT).unwrap().len() / 256;
    assert!(
        out.contains(&format!("perplexity over {n} chunks of 256 tokens")),
        "{out}"
    );
}

#[test]
fn cli_rejects_bad_input_with_exit_2() {
    let d = tempfile::tempdir().unwrap();
    saved_tiny(d.path());
    let ckp = d.path().display().to_string();
    let e = bad(&[
        "luc",
        "eval",
        "--checkpoint",
        &ckp,
        "--data",
        TEXT,
        "--chunk",
        "1",
    ]);
    assert!(e.contains("--chunk") && e.contains("2..=65536"), "{e}");
    let e = bad(&[
        "luc",
        "eval",
        "--checkpoint",
        &ckp,
        "--data",
        TEXT,
        "--chunks",
        "0",
    ]);
    assert!(e.contains("--chunks") && e.contains("1.."), "{e}");
    let missing = d.path().join("nope.txt").display().to_string();
    let e = bad(&["luc", "eval", "--checkpoint", &ckp, "--data", &missing]);
    assert!(e.contains("nope.txt"), "{e}");
    let ids = d.path().join("ids.txt");
    std::fs::write(&ids, "1 2 3\n4 999\n").unwrap();
    let idp = ids.display().to_string();
    let e = bad(&["luc", "eval", "--checkpoint", &ckp, "--data", &idp]);
    assert!(
        e.contains("ids.txt") && e.contains("line 2") && e.contains("999"),
        "{e}"
    );
    std::fs::write(&ids, "1 2 3\n\n4\n").unwrap();
    let e = bad(&["luc", "eval", "--checkpoint", &ckp, "--data", &idp]);
    assert!(
        e.contains("ids.txt") && e.contains("chunk 1") && e.contains("at least 2"),
        "{e}"
    );
    let e = bad(&["luc", "eval", "--checkpoint", &missing, "--data", TEXT]);
    assert!(e.contains("nope.txt"), "{e}");
}

#[test]
fn real_model_perplexity_is_plausible() {
    let Some(data) = common::real_data_or_skip("real_model_perplexity_is_plausible") else {
        return;
    };
    let ck = match Checkpoint::load(&data.gguf) {
        Ok(ck) => ck,
        Err(e) => {
            eprintln!("skipping real_model_perplexity_is_plausible: cannot load the GGUF: {e}");
            return;
        }
    };
    let tok = edgesim::llm::tokenizer::Tokenizer::for_checkpoint(&data.gguf).unwrap();
    let text = std::fs::read_to_string(data.novel("emma")).unwrap();
    let ids = tok.encode(&text).unwrap();
    let c: Vec<Vec<u32>> = ids.chunks_exact(128).take(8).map(<[u32]>::to_vec).collect();
    let p = eval(&ck, &c);
    // A 135M-parameter model on English prose: far better than uniform (49,152) and
    // than a unigram model (a few hundred), worse than 1.
    assert!(p.ppl > 1.0 && p.ppl < 200.0, "{p:?}");
}
