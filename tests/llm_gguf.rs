//! GGUF checkpoints: every supported storage type against blocks packed here from the
//! format definitions (ggml `block_q4_0`, `block_q4_1`, `block_q8_0`, `block_q4_K`,
//! `block_q6_K`), written into GGUF files by a writer in this file (no code shared with
//! the loader); round trips against the safetensors path; the real SmolLM2-135M file; and
//! input errors.

mod common;

use candle_core::quantized::GgmlDType;
use candle_core::quantized::QTensor;
use candle_core::quantized::gguf_file::{Content, Value};
use candle_core::{Device, Tensor};
use edgesim::llm::checkpoint::gguf::{self, GgufFile, RowOrder};
use edgesim::llm::checkpoint::{Checkpoint, LlamaConfig, StoreDtype};
use edgesim::llm::forward;
use edgesim::llm::synth::{SynthShape, synth, synth_config};
use half::{bf16, f16};
use ndarray::{Array2, Axis};
use std::path::{Path, PathBuf};

// ------------------------------------------------------------- a GGUF writer -----

/// One tensor for [`gguf_v3`]: name, row-major shape, ggml type id, raw data.
struct RawTensor {
    name: String,
    shape: Vec<usize>,
    ggml_type: u32,
    data: Vec<u8>,
}

/// A GGUF v3 file per the specification (ggml `docs/gguf.md`): magic, version, counts,
/// metadata (here only string keys with string values), tensor infos (dimensions
/// fastest-first), data at 32-byte alignment.
fn gguf_v3(metadata: &[(&str, &str)], tensors: &[RawTensor]) -> Vec<u8> {
    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend((s.len() as u64).to_le_bytes());
        out.extend(s.as_bytes());
    }
    let mut out = b"GGUF".to_vec();
    out.extend(3u32.to_le_bytes());
    out.extend((tensors.len() as u64).to_le_bytes());
    out.extend((metadata.len() as u64).to_le_bytes());
    for (k, v) in metadata {
        string(&mut out, k);
        out.extend(8u32.to_le_bytes()); // GGUF_TYPE_STRING
        string(&mut out, v);
    }
    let mut offset = 0u64;
    for t in tensors {
        string(&mut out, &t.name);
        out.extend((t.shape.len() as u32).to_le_bytes());
        for d in t.shape.iter().rev() {
            out.extend((*d as u64).to_le_bytes());
        }
        out.extend(t.ggml_type.to_le_bytes());
        out.extend(offset.to_le_bytes());
        offset += (t.data.len() as u64).div_ceil(32) * 32;
    }
    out.resize(out.len().div_ceil(32) * 32, 0);
    for t in tensors {
        out.extend(&t.data);
        out.resize(out.len().div_ceil(32) * 32, 0);
    }
    out
}

fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

// ------------------------------------------------- blocks from the definitions -----

const ROWS: usize = 2;
const COLS: usize = 256;

fn h(x: f32) -> [u8; 2] {
    f16::from_f32(x).to_le_bytes()
}

/// A tensor of `ROWS x COLS` packed by `pack_block` (one call per block of `block` values,
/// given the flat index of its first value), with the expected values it returns.
fn packed(
    block: usize,
    mut pack_block: impl FnMut(usize, &mut Vec<u8>, &mut Vec<f32>),
) -> (Vec<u8>, Vec<f32>) {
    let (mut bytes, mut expected) = (Vec::new(), Vec::new());
    for start in (0..ROWS * COLS).step_by(block) {
        pack_block(start, &mut bytes, &mut expected);
    }
    (bytes, expected)
}

/// Q8_0 (ggml type 8): f16 scale `d`, 32 x i8 `q`; value = d * q.
fn q8_0() -> (Vec<u8>, Vec<f32>) {
    packed(32, |start, out, exp| {
        let d = 0.25 * (1 + start / 32 % 3) as f32;
        out.extend(h(d));
        for j in 0..32 {
            let q = ((start + j) * 37 % 255) as i32 - 127;
            out.push(q as i8 as u8);
            exp.push(d * q as f32);
        }
    })
}

/// Q4_0 (type 2): f16 `d`, 16 bytes; value j < 16 is the low nibble of byte j, value
/// j + 16 its high nibble; value = d * (q - 8).
fn q4_0() -> (Vec<u8>, Vec<f32>) {
    packed(32, |start, out, exp| {
        let d = 0.5 / (1 << (start / 32 % 4)) as f32;
        let q: Vec<u8> = (0..32).map(|j| ((start + j) * 5 % 16) as u8).collect();
        out.extend(h(d));
        out.extend((0..16).map(|j| q[j] | (q[j + 16] << 4)));
        exp.extend(q.iter().map(|&x| d * (f32::from(x) - 8.0)));
    })
}

/// Q4_1 (type 3): f16 `d`, f16 `m`, 16 bytes of nibbles as Q4_0; value = d * q + m.
fn q4_1() -> (Vec<u8>, Vec<f32>) {
    packed(32, |start, out, exp| {
        let d = 0.125 * (1 + start / 32 % 5) as f32;
        let m = -1.5 + (start / 32 % 3) as f32;
        let q: Vec<u8> = (0..32).map(|j| ((start + j) * 11 % 16) as u8).collect();
        out.extend(h(d));
        out.extend(h(m));
        out.extend((0..16).map(|j| q[j] | (q[j + 16] << 4)));
        exp.extend(q.iter().map(|&x| d * f32::from(x) + m));
    })
}

/// Q4_K (type 12), superblocks of 256: f16 `d`, f16 `dmin`, 12 bytes holding eight 6-bit
/// scales `sc` and mins `mn`, 128 bytes of nibbles. Sub-block `s` (32 values) has value
/// `d * sc[s] * q - dmin * mn[s]`. Packing (`get_scale_min_k4`): for j < 4, byte j =
/// sc[j] | (sc[j+4] >> 4) << 6, byte j+4 = mn[j] | (mn[j+4] >> 4) << 6; for j >= 4,
/// byte j+4 = (sc[j] & 15) | (mn[j] & 15) << 4. Nibbles: 64 values per 32 bytes, the
/// first 32 in the low nibbles, the next 32 in the high nibbles.
fn q4_k() -> (Vec<u8>, Vec<f32>) {
    packed(256, |start, out, exp| {
        let (d, dmin) = (0.03125f32, 0.0625f32 * (1 + start / 256) as f32);
        // Values above 15 exercise the two high bits stored apart.
        let sc: [u8; 8] = [1, 17, 33, 63, 5, 40, 62, 2];
        let mn: [u8; 8] = [60, 3, 18, 47, 63, 0, 31, 16];
        let mut scales = [0u8; 12];
        for j in 0..4 {
            scales[j] = sc[j] | ((sc[j + 4] >> 4) << 6);
            scales[j + 4] = mn[j] | ((mn[j + 4] >> 4) << 6);
        }
        for j in 4..8 {
            scales[j + 4] = (sc[j] & 15) | ((mn[j] & 15) << 4);
        }
        let q: Vec<u8> = (0..256).map(|e| ((start + e) * 7 % 16) as u8).collect();
        out.extend(h(d));
        out.extend(h(dmin));
        out.extend(scales);
        for c in 0..4 {
            out.extend((0..32).map(|l| q[64 * c + l] | (q[64 * c + 32 + l] << 4)));
        }
        for (e, &x) in q.iter().enumerate() {
            let s = e / 32;
            exp.push(d * f32::from(sc[s]) * f32::from(x) - dmin * f32::from(mn[s]));
        }
    })
}

/// Q6_K (type 14), superblocks of 256: `ql` (128 bytes, low 4 bits), `qh` (64 bytes,
/// high 2 bits), 16 x i8 scales, f16 `d`; value `e` = d * sc[e/16] * (q - 32) with q a
/// 6-bit integer. Value e = 128n + 32k + l (k < 4, l < 32): low bits in ql[64n + l + 32
/// (k mod 2)], low nibble for k < 2 else high; high bits in qh[32n + l] at bit 2k.
fn q6_k() -> (Vec<u8>, Vec<f32>) {
    packed(256, |start, out, exp| {
        let d = 0.0078125f32;
        let sc: Vec<i8> = (0..16).map(|i| (i * 17 % 128) as i8 - 64).collect();
        let q: Vec<u8> = (0..256).map(|e| ((start + e) * 13 % 64) as u8).collect();
        let (mut ql, mut qh) = ([0u8; 128], [0u8; 64]);
        for (e, &x) in q.iter().enumerate() {
            let (n, k, l) = (e / 128, e % 128 / 32, e % 32);
            let shift = if k < 2 { 0 } else { 4 };
            ql[64 * n + l + 32 * (k % 2)] |= (x & 15) << shift;
            qh[32 * n + l] |= (x >> 4) << (2 * k);
        }
        out.extend(ql);
        out.extend(qh);
        out.extend(sc.iter().map(|&s| s as u8));
        out.extend(h(d));
        for (e, &x) in q.iter().enumerate() {
            exp.push(d * f32::from(sc[e / 16]) * (f32::from(x) - 32.0));
        }
    })
}

fn floats(ggml_type: u32) -> (Vec<u8>, Vec<f32>) {
    // Multiples of 1/8 in [-16, 16): exact in f16 and bf16.
    let v: Vec<f32> = (0..ROWS * COLS)
        .map(|i| (i as f32 * 3.0 % 256.0 - 128.0) / 8.0)
        .collect();
    let bytes = match ggml_type {
        0 => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        1 => v
            .iter()
            .flat_map(|x| f16::from_f32(*x).to_le_bytes())
            .collect(),
        30 => v
            .iter()
            .flat_map(|x| bf16::from_f32(*x).to_le_bytes())
            .collect(),
        _ => unreachable!(),
    };
    (bytes, v)
}

/// A storage type under test: label, ggml type id, (bytes, expected values), bytes per row.
type Case = (&'static str, u32, (Vec<u8>, Vec<f32>), usize);

#[test]
fn every_storage_type_decodes_hand_packed_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<Case> = vec![
        ("F32", 0, floats(0), 4 * 256),
        ("F16", 1, floats(1), 2 * 256),
        ("BF16", 30, floats(30), 2 * 256),
        ("Q8_0", 8, q8_0(), 8 * 34),
        ("Q4_0", 2, q4_0(), 8 * 18),
        ("Q4_1", 3, q4_1(), 8 * 20),
        ("Q4_K", 12, q4_k(), 144),
        ("Q6_K", 14, q6_k(), 210),
    ];
    for (label, ty, (data, expected), row_bytes) in cases {
        // The packers produce the documented block sizes.
        assert_eq!(data.len(), ROWS * row_bytes, "{label}");
        let t = RawTensor {
            name: "w".into(),
            shape: vec![ROWS, COLS],
            ggml_type: ty,
            data,
        };
        let path = write_file(dir.path(), &format!("{label}.gguf"), &gguf_v3(&[], &[t]));
        let f = GgufFile::open(&path).unwrap();
        let got = f.read_matrix("w", [ROWS, COLS], RowOrder::Stored).unwrap();
        for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
            // The expected values are exact in f32 (dyadic scales, small integers).
            assert_eq!(g, e, "{label}: value {i}");
        }
        // The values span a real range (not all equal, so a wrong layout would show).
        let distinct: std::collections::BTreeSet<u32> = got.iter().map(|x| x.to_bits()).collect();
        assert!(
            distinct.len() > 16,
            "{label}: {} distinct values",
            distinct.len()
        );
    }
}

#[test]
fn a_literal_q4_1_block() {
    // d = 0.5 (f16 0x3800), m = -1 (f16 0xBC00); byte j = j | (15 - j) << 4, so values
    // 0..16 are 0.5 j - 1 and values 16..32 are 0.5 (15 - j) - 1.
    let mut data = vec![0x00, 0x38, 0x00, 0xBC];
    data.extend((0u8..16).map(|j| j | ((15 - j) << 4)));
    let t = RawTensor {
        name: "w".into(),
        shape: vec![1, 32],
        ggml_type: 3,
        data,
    };
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "b.gguf", &gguf_v3(&[], &[t]));
    let got = GgufFile::open(&path)
        .unwrap()
        .read_matrix("w", [1, 32], RowOrder::Stored)
        .unwrap();
    let want: Vec<f32> = (0..16)
        .map(|j| 0.5 * j as f32 - 1.0)
        .chain((0..16).map(|j| 0.5 * (15 - j) as f32 - 1.0))
        .collect();
    assert_eq!(got.iter().copied().collect::<Vec<_>>(), want);
}

// ---------------------------------------------------------------- round trips -----

/// llama.cpp's `LlamaModel.permute` written with array reshapes, as in the converter:
/// `w.reshape(n_head, 2, d/2, in).swapaxes(1, 2).reshape(w.shape)`.
fn llama_cpp_permute(w: &Array2<f32>, n_head: usize) -> Array2<f32> {
    let (rows, cols) = w.dim();
    let d = rows / n_head;
    let mut a = w
        .to_owned()
        .into_shape_with_order((n_head, 2, d / 2, cols))
        .unwrap();
    a.swap_axes(1, 2);
    a.as_standard_layout()
        .to_owned()
        .into_shape_with_order((rows, cols))
        .unwrap()
}

/// A tensor of a GGUF file read with candle alone (no code of the loader).
fn raw_tensor(path: &Path, name: &str) -> Array2<f32> {
    let mut f = std::fs::File::open(path).unwrap();
    let c = Content::read(&mut f).unwrap();
    let t = c.tensor(&mut f, name, &Device::Cpu).unwrap();
    let rows = t
        .dequantize(&Device::Cpu)
        .unwrap()
        .to_vec2::<f32>()
        .unwrap();
    let (r, cl) = (rows.len(), rows[0].len());
    Array2::from_shape_vec((r, cl), rows.concat()).unwrap()
}

fn tokens(n: usize, vocab: usize) -> Vec<u32> {
    (0..n).map(|i| ((i * 7919 + 13) % vocab) as u32).collect()
}

#[test]
fn f32_round_trip_is_exact_and_matches_safetensors() {
    let (ck, _) = synth(SynthShape::Small, 3);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("small.gguf");
    gguf::write(&ck, &path, GgmlDType::F32, 2048).unwrap();

    // The file holds q and k in llama.cpp's order, as its converter would write them.
    let c = &ck.config;
    let l1 = &ck.weights.layers[1];
    assert_eq!(
        raw_tensor(&path, "blk.1.attn_q.weight"),
        llama_cpp_permute(&l1.q, c.num_attention_heads)
    );
    assert_eq!(
        raw_tensor(&path, "blk.1.attn_k.weight"),
        llama_cpp_permute(&l1.k, c.num_key_value_heads)
    );
    assert_eq!(raw_tensor(&path, "blk.1.attn_v.weight"), l1.v);

    let g = gguf::load(&path).unwrap();
    assert_eq!(g.context_length, 2048);
    assert_eq!(g.tensor_types["blk.0.ffn_down.weight"], GgmlDType::F32);
    assert_eq!(g.checkpoint, ck);
    let back = Checkpoint::load(&path).unwrap();
    assert_eq!(back, ck);

    let st = tempfile::tempdir().unwrap();
    ck.save(st.path(), StoreDtype::F32, 1).unwrap();
    let st = Checkpoint::load(st.path()).unwrap();
    let toks = tokens(40, c.vocab_size);
    assert_eq!(
        forward::logits(&back, &toks).unwrap(),
        forward::logits(&st, &toks).unwrap()
    );
}

#[test]
fn tied_head_round_trips_without_output_tensor() {
    let mut cfg = SynthShape::Tiny.config();
    cfg.tie_word_embeddings = true;
    let (ck, _) = synth_config(cfg, 5).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tied.gguf");
    gguf::write(&ck, &path, GgmlDType::F16, 512).unwrap();
    let g = gguf::load(&path).unwrap();
    assert!(!g.tensor_types.contains_key("output.weight"));
    assert!(g.checkpoint.config.tie_word_embeddings);
    assert!(g.checkpoint.weights.lm_head.is_none());
    // F16 storage: every weight is its f16 rounding.
    let w = &ck.weights.layers[2].k;
    let back = &g.checkpoint.weights.layers[2].k;
    for (a, b) in w.iter().zip(back) {
        assert_eq!(f16::from_f32(*a).to_f32(), *b);
    }
}

fn q8_config() -> LlamaConfig {
    // Every in-feature count a multiple of Q8_0's 32-value block.
    LlamaConfig {
        hidden_size: 128,
        intermediate_size: 384,
        num_hidden_layers: 4,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        vocab_size: 320,
        rms_norm_eps: 1e-5,
        rope_theta: 10000.0,
        tie_word_embeddings: false,
        head_dim: 32,
    }
}

#[test]
fn q8_0_round_trip_within_the_format_bound() {
    let (ck, _) = synth_config(q8_config(), 11).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q8.gguf");
    gguf::write(&ck, &path, GgmlDType::Q8_0, 4096).unwrap();
    let g = gguf::load(&path).unwrap();
    assert_eq!(g.tensor_types["blk.3.attn_q.weight"], GgmlDType::Q8_0);
    assert_eq!(g.tensor_types["blk.3.attn_norm.weight"], GgmlDType::F32);
    let back = &g.checkpoint;
    assert_eq!(back.config, ck.config);
    assert_eq!(back.weights.norm, ck.weights.norm);

    // Per block of 32: d = amax / 127 stored in f16 (relative error <= 2^-11), q =
    // round(x / d) in [-127, 127]: |x - f16(d) q| <= d / 2 + 127 d 2^-11 < 0.563 d.
    let check = |a: &Array2<f32>, b: &Array2<f32>| {
        for (ra, rb) in a.rows().into_iter().zip(b.rows()) {
            for (ba, bb) in ra
                .as_slice()
                .unwrap()
                .chunks(32)
                .zip(rb.as_slice().unwrap().chunks(32))
            {
                let d = ba.iter().fold(0f32, |m, x| m.max(x.abs())) / 127.0;
                for (x, y) in ba.iter().zip(bb) {
                    assert!((x - y).abs() <= 0.563 * d + 1e-12, "{x} vs {y}, d {d}");
                }
            }
        }
    };
    for (la, lb) in ck.weights.layers.iter().zip(&back.weights.layers) {
        for l in edgesim::llm::checkpoint::Linear::ALL {
            check(la.linear(l), lb.linear(l));
        }
    }
    check(&ck.weights.embed, &back.weights.embed);

    // Logits: every weight moves by under 0.6 of its block's step; through 4 layers (a
    // third with 12x outliers that coarsen their blocks' step) the logits move by about
    // 2% of their rms (measured 1.9% rms, 7.8% at worst over 48 x 320 logits). Tolerance:
    // 3% rms, 12% at worst.
    let toks = tokens(48, ck.config.vocab_size);
    let a = forward::logits(&ck, &toks).unwrap();
    let b = forward::logits(back, &toks).unwrap();
    let rms = (a.iter().map(|x| x * x).sum::<f32>() / a.len() as f32).sqrt();
    let max_diff = a
        .iter()
        .zip(&b)
        .fold(0f32, |m, (x, y)| m.max((x - y).abs()));
    let rms_diff = (a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f32>()
        / a.len() as f32)
        .sqrt();
    eprintln!("q8_0 logits: max |diff| {max_diff}, rms diff {rms_diff}, rms {rms}");
    assert!(rms_diff < 0.03 * rms, "rms diff {rms_diff}, rms {rms}");
    assert!(max_diff < 0.12 * rms, "max |diff| {max_diff}, rms {rms}");
    assert!(max_diff > 0.0);
}

// ---------------------------------------------------------------- real model -----

/// "The capital of France is Paris. It is a beautiful city with many old buildings, and
/// people from all over the world come to visit it every year." as SmolLM2 token ids:
/// each word looked up in the file's `tokenizer.ggml.tokens` (Python `gguf.GGUFReader`)
/// as `Ġ` + word (byte-level BPE marks a leading space with `Ġ`), the first word and the
/// punctuation without it: The 504, Ġcapital 3575, Ġof 282, ĠFrance 4649, Ġis 314,
/// ĠParis 7042, . 30, ĠIt 657, Ġa 253, Ġbeautiful 3953, Ġcity 2240, Ġwith 351, Ġmany 800,
/// Ġold 1573, Ġbuildings 4789, , 28, Ġand 284, Ġpeople 701, Ġfrom 429, Ġall 511, Ġover
/// 690, Ġthe 260, Ġworld 905, Ġcome 1690, Ġto 288, Ġvisit 3048, Ġit 357, Ġevery 897,
/// Ġyear 713.
const SENTENCE: [u32; 31] = [
    504, 3575, 282, 4649, 314, 7042, 30, 657, 314, 253, 3953, 2240, 351, 800, 1573, 4789, 28, 284,
    701, 429, 511, 690, 260, 905, 1690, 288, 3048, 357, 897, 713, 30,
];

/// Next-token negative log-likelihood (nats) of `toks[t + 1]` after `toks[..=t]`, for
/// every `t`, under `ck`.
fn nll_per_position(ck: &Checkpoint, toks: &[u32]) -> Vec<f64> {
    let logits = forward::logits(ck, toks).unwrap();
    let rows = logits.axis_iter(Axis(0)).take(toks.len() - 1);
    rows.zip(&toks[1..])
        .map(|(row, &next)| {
            let max = f64::from(row.fold(f32::NEG_INFINITY, |m, &x| m.max(x)));
            let lse = max
                + row
                    .iter()
                    .map(|&x| (f64::from(x) - max).exp())
                    .sum::<f64>()
                    .ln();
            lse - f64::from(row[next as usize])
        })
        .collect()
}

#[test]
fn real_smollm2_config_and_rope_order() {
    let Some(data) = common::real_data_or_skip("real_smollm2_config_and_rope_order") else {
        return;
    };
    let g = gguf::load(&data.gguf).unwrap();
    // Published SmolLM2-135M config.json (HuggingFaceTB/SmolLM2-135M-Instruct).
    let published = LlamaConfig::smollm2_135m();
    assert_eq!(g.checkpoint.config, published);
    assert_eq!(g.context_length, 8192);
    assert_eq!(g.tensor_types["token_embd.weight"], GgmlDType::Q8_0);
    assert_eq!(g.tensor_types["blk.0.attn_q.weight"], GgmlDType::Q4_1);
    assert_eq!(g.tensor_types["output_norm.weight"], GgmlDType::F32);
    let ck = g.checkpoint;
    let params: usize = ck.weights.embed.len()
        + ck.weights.norm.len()
        + ck.weights
            .layers
            .iter()
            .map(|l| {
                l.input_norm.len()
                    + l.post_norm.len()
                    + edgesim::llm::checkpoint::Linear::ALL
                        .iter()
                        .map(|&x| l.linear(x).len())
                        .sum::<usize>()
            })
            .sum::<usize>();
    // 134.5 M parameters (the "135M").
    assert_eq!(params, 134_515_008);

    // The same weights with q and k left in the file's order (no restore).
    let mut raw = ck.clone();
    for l in &mut raw.weights.layers {
        l.q = llama_cpp_permute(&l.q, published.num_attention_heads);
        l.k = llama_cpp_permute(&l.k, published.num_key_value_heads);
    }
    // The same weights with the opposite permutation applied (a restore in the wrong
    // direction): the permutation is not an involution, so this differs from both.
    let mut wrong = raw.clone();
    for l in &mut wrong.weights.layers {
        l.q = llama_cpp_permute(&l.q, published.num_attention_heads);
        l.k = llama_cpp_permute(&l.k, published.num_key_value_heads);
    }
    // The sentence twice: a model with working positions copies the second time round
    // (induction heads attend to the token after the previous occurrence, which needs
    // relative positions), so the second copy separates the orders sharply.
    let mut text = SENTENCE.to_vec();
    text.extend(SENTENCE);
    // Mean NLL over all predictions, the first copy and the second copy.
    let n = SENTENCE.len();
    let nll = |c: &Checkpoint| {
        let v = nll_per_position(c, &text);
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        (mean(&v), mean(&v[..n - 1]), mean(&v[n - 1..]))
    };
    let (ok, raw, wrong) = (nll(&ck), nll(&raw), nll(&wrong));
    eprintln!(
        "mean NLL (nats), first copy / second copy: restored {:.3} / {:.3}, file order {:.3} / \
         {:.3}, opposite permutation {:.3} / {:.3}",
        ok.1, ok.2, raw.1, raw.2, wrong.1, wrong.2
    );
    // A 135M model on plain English: a few nats per token (a uniform guess is ln 49152 =
    // 10.8); copying the repeat brings the second copy well under 1 nat.
    assert!(ok.0 < 3.0 && ok.1 < 5.0, "{ok:?}");
    assert!(ok.2 < 1.0, "{ok:?}");
    // Without the restore the relative positions are scrambled: copying fails.
    assert!(raw.2 > ok.2 + 1.5, "{raw:?} vs {ok:?}");
    assert!(raw.0 > ok.0 + 1.0, "{raw:?} vs {ok:?}");
    assert!(wrong.0 > raw.0, "{wrong:?} vs {raw:?}");
}

// --------------------------------------------------------------------- errors -----

fn tiny_parts() -> (Checkpoint, gguf::GgufParts) {
    let (ck, _) = synth(SynthShape::Tiny, 2);
    let parts = gguf::gguf_parts(&ck, GgmlDType::F32, 256).unwrap();
    (ck, parts)
}

/// Writes `parts` to `dir/name` and returns the input error of loading it (checked to
/// name the file).
fn load_err(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = write_file(dir, name, bytes);
    let e = Checkpoint::load(&path).unwrap_err();
    assert!(e.is_input(), "{e}");
    let msg = e.to_string();
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    msg
}

fn set_meta(parts: &mut gguf::GgufParts, key: &str, value: Option<Value>) {
    parts.metadata.retain(|(k, _)| k != key);
    if let Some(v) = value {
        parts.metadata.push((key.to_string(), v));
    }
}

#[test]
fn bad_magic_and_truncation_are_clean_errors() {
    let dir = tempfile::tempdir().unwrap();
    let e = load_err(dir.path(), "text.gguf", b"hello, world: not a model");
    assert!(e.contains("magic"), "{e}");
    let e = load_err(dir.path(), "short.gguf", b"GG");
    assert!(e.contains("magic"), "{e}");
    // A safetensors file given as --checkpoint.
    let e = load_err(
        dir.path(),
        "model.safetensors",
        &[8, 0, 0, 0, 0, 0, 0, 0, b'{', b'}'],
    );
    assert!(e.contains("magic"), "{e}");

    let (_, parts) = tiny_parts();
    let bytes = parts.to_bytes().unwrap();
    let data_start = {
        let mut c = std::io::Cursor::new(&bytes);
        Content::read(&mut c).unwrap().tensor_data_offset as usize
    };
    for cut in [
        4,
        8,
        30,
        200,
        data_start - 40,
        data_start + 10,
        bytes.len() / 2,
        bytes.len() - 1,
    ] {
        let e = load_err(dir.path(), "cut.gguf", &bytes[..cut]);
        if cut > data_start {
            // The directory is intact: the first tensor that runs past the end is named.
            assert!(
                e.contains(".weight") && e.contains("cannot read tensor data"),
                "{cut}: {e}"
            );
        } else {
            assert!(e.contains("header"), "{cut}: {e}");
        }
    }
}

#[test]
fn metadata_errors_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let (_, mut parts) = tiny_parts();
    set_meta(
        &mut parts,
        "general.architecture",
        Some(Value::String("qwen2".into())),
    );
    let e = load_err(dir.path(), "qwen.gguf", &parts.to_bytes().unwrap());
    assert!(
        e.contains("general.architecture") && e.contains("qwen2"),
        "{e}"
    );

    let (_, mut parts) = tiny_parts();
    set_meta(&mut parts, "llama.feed_forward_length", None);
    let e = load_err(dir.path(), "noffn.gguf", &parts.to_bytes().unwrap());
    assert!(
        e.contains("llama.feed_forward_length") && e.contains("missing"),
        "{e}"
    );

    let (_, mut parts) = tiny_parts();
    set_meta(
        &mut parts,
        "llama.attention.layer_norm_rms_epsilon",
        Some(Value::U32(1)),
    );
    let e = load_err(dir.path(), "eps.gguf", &parts.to_bytes().unwrap());
    assert!(e.contains("llama.attention.layer_norm_rms_epsilon"), "{e}");
}

#[test]
fn tensor_errors_name_the_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let (ck, mut parts) = tiny_parts();
    parts.tensors.retain(|(n, _)| n != "blk.5.ffn_up.weight");
    let e = load_err(dir.path(), "missing.gguf", &parts.to_bytes().unwrap());
    assert!(
        e.contains("blk.5.ffn_up.weight") && e.contains("missing"),
        "{e}"
    );

    // k with one head too many.
    let (_, mut parts) = tiny_parts();
    let (kv, hidden) = (ck.config.kv_dim(), ck.config.hidden_size);
    let wrong = Tensor::zeros(
        (kv + ck.config.head_dim, hidden),
        candle_core::DType::F32,
        &Device::Cpu,
    )
    .unwrap();
    for (n, t) in &mut parts.tensors {
        if n == "blk.0.attn_k.weight" {
            *t = QTensor::quantize(&wrong, GgmlDType::F32).unwrap();
        }
    }
    let e = load_err(dir.path(), "shape.gguf", &parts.to_bytes().unwrap());
    assert!(
        e.contains("blk.0.attn_k.weight")
            && e.contains(&format!("expected [{kv}, {hidden}]"))
            && e.contains(&format!("found [{}, {hidden}]", kv + ck.config.head_dim)),
        "{e}"
    );

    let (_, mut parts) = tiny_parts();
    let bias = Tensor::zeros(hidden, candle_core::DType::F32, &Device::Cpu).unwrap();
    parts.tensors.push((
        "blk.0.attn_q.bias".into(),
        QTensor::quantize(&bias, GgmlDType::F32).unwrap(),
    ));
    let e = load_err(dir.path(), "bias.gguf", &parts.to_bytes().unwrap());
    assert!(e.contains("blk.0.attn_q.bias") && e.contains("bias"), "{e}");

    // A file claiming fewer layers than it holds.
    let (_, mut parts) = tiny_parts();
    set_meta(&mut parts, "llama.block_count", Some(Value::U32(7)));
    let e = load_err(dir.path(), "layers.gguf", &parts.to_bytes().unwrap());
    assert!(
        e.contains("blk.7.") && e.contains("llama.block_count"),
        "{e}"
    );

    // A storage type candle does not read (IQ2_XXS, ggml type 16).
    let t = RawTensor {
        name: "w".into(),
        shape: vec![1, 256],
        ggml_type: 16,
        data: vec![0; 66],
    };
    let e = load_err(
        dir.path(),
        "iq2.gguf",
        &gguf_v3(&[("general.architecture", "llama")], &[t]),
    );
    assert!(e.contains("header") && e.contains("16"), "{e}");
}

#[test]
fn neither_directory_nor_file() {
    let dir = tempfile::tempdir().unwrap();
    let e = Checkpoint::load(&dir.path().join("nope")).unwrap_err();
    assert!(e.is_input());
    assert!(e.to_string().contains(".gguf"), "{e}");
}
