//! Checkpoint loading and the LLaMA forward, checked against an independent naive
//! implementation written here with plain loops (no code shared with `edgesim::luc`).
//! Checkpoints are written by this file with the `safetensors` crate directly.

use edgesim::llm::checkpoint::{Checkpoint, StoreDtype};
use edgesim::llm::forward;
use safetensors::{Dtype, tensor::TensorView};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

// ---------------------------------------------------------------- test model -----

struct Shape {
    layers: usize,
    hidden: usize,
    ffn: usize,
    heads: usize,
    kv_heads: usize,
    vocab: usize,
    eps: f64,
    theta: f64,
    tied: bool,
}

const SHAPE: Shape = Shape {
    layers: 2,
    hidden: 16,
    ffn: 24,
    heads: 4,
    kv_heads: 2,
    vocab: 40,
    eps: 1e-5,
    theta: 10000.0,
    tied: false,
};

fn config_json(s: &Shape) -> String {
    format!(
        r#"{{"hidden_size": {}, "intermediate_size": {}, "num_hidden_layers": {},
            "num_attention_heads": {}, "num_key_value_heads": {}, "vocab_size": {},
            "rms_norm_eps": {:e}, "rope_theta": {}, "tie_word_embeddings": {}}}"#,
        s.hidden, s.ffn, s.layers, s.heads, s.kv_heads, s.vocab, s.eps, s.theta, s.tied
    )
}

/// Name -> (shape, row-major values).
type Tensors = BTreeMap<String, (Vec<usize>, Vec<f32>)>;

/// Deterministic pseudo-random values in [-1, 1) (64-bit LCG, Knuth's MMIX constants).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

fn make_tensors(s: &Shape, seed: u64) -> Tensors {
    let mut r = Lcg(seed);
    let mut t = Tensors::new();
    let hd = s.hidden / s.heads;
    let mut add = |name: String, shape: Vec<usize>, scale: f32, offset: f32| {
        let n = shape.iter().product();
        let v = (0..n).map(|_| offset + scale * r.next()).collect();
        t.insert(name, (shape, v));
    };
    add(
        "model.embed_tokens.weight".into(),
        vec![s.vocab, s.hidden],
        1.0,
        0.0,
    );
    for i in 0..s.layers {
        let p = |m: &str| format!("model.layers.{i}.{m}.weight");
        let w = 1.0 / (s.hidden as f32).sqrt() * 1.7;
        add(p("input_layernorm"), vec![s.hidden], 0.2, 1.0);
        add(p("self_attn.q_proj"), vec![s.heads * hd, s.hidden], w, 0.0);
        add(
            p("self_attn.k_proj"),
            vec![s.kv_heads * hd, s.hidden],
            w,
            0.0,
        );
        add(
            p("self_attn.v_proj"),
            vec![s.kv_heads * hd, s.hidden],
            w,
            0.0,
        );
        add(p("self_attn.o_proj"), vec![s.hidden, s.heads * hd], w, 0.0);
        add(p("post_attention_layernorm"), vec![s.hidden], 0.2, 1.0);
        add(p("mlp.gate_proj"), vec![s.ffn, s.hidden], w, 0.0);
        add(p("mlp.up_proj"), vec![s.ffn, s.hidden], w, 0.0);
        add(
            p("mlp.down_proj"),
            vec![s.hidden, s.ffn],
            1.0 / (s.ffn as f32).sqrt() * 1.7,
            0.0,
        );
    }
    add("model.norm.weight".into(), vec![s.hidden], 0.2, 1.0);
    if !s.tied {
        add(
            "lm_head.weight".into(),
            vec![s.vocab, s.hidden],
            w_head(s),
            0.0,
        );
    }
    t
}

fn w_head(s: &Shape) -> f32 {
    1.0 / (s.hidden as f32).sqrt()
}

fn encode(dtype: Dtype, v: &[f32]) -> Vec<u8> {
    match dtype {
        Dtype::F32 => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Dtype::F16 => v
            .iter()
            .flat_map(|x| half::f16::from_f32(*x).to_le_bytes())
            .collect(),
        Dtype::BF16 => v
            .iter()
            .flat_map(|x| half::bf16::from_f32(*x).to_le_bytes())
            .collect(),
        Dtype::I32 => v.iter().flat_map(|x| (*x as i32).to_le_bytes()).collect(),
        _ => unreachable!(),
    }
}

/// The values a reader must see after storing in `dtype`.
fn rounded(dtype: Dtype, t: &Tensors) -> Tensors {
    t.iter()
        .map(|(k, (s, v))| {
            let v = v
                .iter()
                .map(|&x| match dtype {
                    Dtype::F16 => half::f16::from_f32(x).to_f32(),
                    Dtype::BF16 => half::bf16::from_f32(x).to_f32(),
                    _ => x,
                })
                .collect();
            (k.clone(), (s.clone(), v))
        })
        .collect()
}

fn write_file(path: &Path, t: &Tensors, dtype: impl Fn(&str) -> Dtype) {
    let bytes: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = t
        .iter()
        .map(|(k, (s, v))| (k.clone(), dtype(k), s.clone(), encode(dtype(k), v)))
        .collect();
    let views: Vec<(String, TensorView)> = bytes
        .iter()
        .map(|(k, d, s, b)| (k.clone(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    let data = safetensors::serialize(views, None).unwrap();
    std::fs::write(path, data).unwrap();
}

fn write_ckpt(dir: &Path, s: &Shape, t: &Tensors, dtype: Dtype) {
    std::fs::write(dir.join("config.json"), config_json(s)).unwrap();
    write_file(&dir.join("model.safetensors"), t, |_| dtype);
}

/// Writes `t` in `n` shards (round-robin by name) with an index.
fn write_sharded(dir: &Path, s: &Shape, t: &Tensors, n: usize) -> HashMap<String, String> {
    std::fs::write(dir.join("config.json"), config_json(s)).unwrap();
    let mut groups: Vec<Tensors> = (0..n).map(|_| Tensors::new()).collect();
    let mut map = HashMap::new();
    for (i, (k, v)) in t.iter().enumerate() {
        groups[i % n].insert(k.clone(), v.clone());
        map.insert(k.clone(), format!("part-{}.safetensors", i % n));
    }
    for (i, g) in groups.iter().enumerate() {
        write_file(&dir.join(format!("part-{i}.safetensors")), g, |_| {
            Dtype::BF16
        });
    }
    let index = serde_json::json!({"metadata": {}, "weight_map": map});
    std::fs::write(dir.join("model.safetensors.index.json"), index.to_string()).unwrap();
    map
}

// ---------------------------------------------------------------- naive forward ---

fn get<'a>(t: &'a Tensors, name: &str) -> &'a [f32] {
    &t[name].1
}

/// y[r][o] = sum_i x[r][i] * w[o][i], w row-major [out, in].
fn naive_linear(x: &[Vec<f64>], w: &[f32], out: usize) -> Vec<Vec<f64>> {
    x.iter()
        .map(|row| {
            let inn = row.len();
            (0..out)
                .map(|o| (0..inn).map(|i| row[i] * w[o * inn + i] as f64).sum())
                .collect()
        })
        .collect()
}

fn naive_rms(x: &[Vec<f64>], w: &[f32], eps: f64) -> Vec<Vec<f64>> {
    x.iter()
        .map(|row| {
            let ms: f64 = row.iter().map(|v| v * v).sum::<f64>() / row.len() as f64;
            let inv = 1.0 / (ms + eps).sqrt();
            row.iter()
                .zip(w)
                .map(|(v, g)| v * inv * *g as f64)
                .collect()
        })
        .collect()
}

/// Rotary embedding, Hugging Face rotate_half: dims (i, i + hd/2) rotate by pos*theta^(-2i/hd).
fn naive_rope(x: &mut [Vec<f64>], heads: usize, hd: usize, theta: f64) {
    for (pos, row) in x.iter_mut().enumerate() {
        for h in 0..heads {
            for i in 0..hd / 2 {
                let ang = pos as f64 / theta.powf(2.0 * i as f64 / hd as f64);
                let (a, b) = (row[h * hd + i], row[h * hd + i + hd / 2]);
                row[h * hd + i] = a * ang.cos() - b * ang.sin();
                row[h * hd + i + hd / 2] = b * ang.cos() + a * ang.sin();
            }
        }
    }
}

fn naive_logits(s: &Shape, t: &Tensors, tokens: &[u32]) -> Vec<Vec<f64>> {
    let hd = s.hidden / s.heads;
    let emb = get(t, "model.embed_tokens.weight");
    let mut x: Vec<Vec<f64>> = tokens
        .iter()
        .map(|&tok| {
            (0..s.hidden)
                .map(|j| emb[tok as usize * s.hidden + j] as f64)
                .collect()
        })
        .collect();
    let n = tokens.len();
    for l in 0..s.layers {
        let p = |m: &str| format!("model.layers.{l}.{m}.weight");
        let a = naive_rms(&x, get(t, &p("input_layernorm")), s.eps);
        let mut q = naive_linear(&a, get(t, &p("self_attn.q_proj")), s.heads * hd);
        let mut k = naive_linear(&a, get(t, &p("self_attn.k_proj")), s.kv_heads * hd);
        let v = naive_linear(&a, get(t, &p("self_attn.v_proj")), s.kv_heads * hd);
        naive_rope(&mut q, s.heads, hd, s.theta);
        naive_rope(&mut k, s.kv_heads, hd, s.theta);
        let mut ctx = vec![vec![0.0; s.heads * hd]; n];
        for h in 0..s.heads {
            let g = h / (s.heads / s.kv_heads);
            for i in 0..n {
                let scores: Vec<f64> = (0..=i)
                    .map(|j| {
                        (0..hd)
                            .map(|d| q[i][h * hd + d] * k[j][g * hd + d])
                            .sum::<f64>()
                            / (hd as f64).sqrt()
                    })
                    .collect();
                let m = scores.iter().cloned().fold(f64::MIN, f64::max);
                let z: f64 = scores.iter().map(|x| (x - m).exp()).sum();
                for (j, sc) in scores.iter().enumerate() {
                    let pj = (sc - m).exp() / z;
                    for d in 0..hd {
                        ctx[i][h * hd + d] += pj * v[j][g * hd + d];
                    }
                }
            }
        }
        let o = naive_linear(&ctx, get(t, &p("self_attn.o_proj")), s.hidden);
        for i in 0..n {
            for j in 0..s.hidden {
                x[i][j] += o[i][j];
            }
        }
        let b = naive_rms(&x, get(t, &p("post_attention_layernorm")), s.eps);
        let gate = naive_linear(&b, get(t, &p("mlp.gate_proj")), s.ffn);
        let up = naive_linear(&b, get(t, &p("mlp.up_proj")), s.ffn);
        // SwiGLU: SiLU(gate) * up.
        let act: Vec<Vec<f64>> = gate
            .iter()
            .zip(&up)
            .map(|(gr, ur)| {
                gr.iter()
                    .zip(ur)
                    .map(|(g, u)| g / (1.0 + (-g).exp()) * u)
                    .collect()
            })
            .collect();
        let down = naive_linear(&act, get(t, &p("mlp.down_proj")), s.hidden);
        for i in 0..n {
            for j in 0..s.hidden {
                x[i][j] += down[i][j];
            }
        }
    }
    let f = naive_rms(&x, get(t, "model.norm.weight"), s.eps);
    let head = if s.tied {
        "model.embed_tokens.weight"
    } else {
        "lm_head.weight"
    };
    naive_linear(&f, get(t, head), s.vocab)
}

fn assert_close(got: &ndarray::Array2<f32>, want: &[Vec<f64>], tol: f64) {
    assert_eq!(got.nrows(), want.len());
    let mut max_err: f64 = 0.0;
    let mut max_ref: f64 = 0.0;
    for (i, row) in want.iter().enumerate() {
        assert_eq!(got.ncols(), row.len());
        for (j, w) in row.iter().enumerate() {
            max_err = max_err.max((got[[i, j]] as f64 - w).abs());
            max_ref = max_ref.max(w.abs());
        }
    }
    assert!(max_ref > 0.1, "degenerate reference");
    assert!(
        max_err <= tol * max_ref,
        "max |err| {max_err} vs max |ref| {max_ref}"
    );
}

const TOKENS: [u32; 9] = [3, 17, 0, 39, 5, 5, 22, 11, 30];

// ---------------------------------------------------------------- tests -----------

#[test]
fn forward_matches_naive_f32() {
    let dir = tempfile::tempdir().unwrap();
    let t = make_tensors(&SHAPE, 1);
    write_ckpt(dir.path(), &SHAPE, &t, Dtype::F32);
    let ck = Checkpoint::load(dir.path()).unwrap();
    let got = forward::logits(&ck, &TOKENS).unwrap();
    assert_close(&got, &naive_logits(&SHAPE, &t, &TOKENS), 1e-5);
}

#[test]
fn forward_matches_naive_f16_bf16_and_tied_mha() {
    for (dtype, tied, kv) in [(Dtype::F16, false, 2), (Dtype::BF16, true, 4)] {
        let s = Shape {
            tied,
            kv_heads: kv,
            ..SHAPE
        };
        let dir = tempfile::tempdir().unwrap();
        let t = make_tensors(&s, 2);
        write_ckpt(dir.path(), &s, &t, dtype);
        let ck = Checkpoint::load(dir.path()).unwrap();
        assert!(ck.weights.lm_head.is_none() == tied);
        let got = forward::logits(&ck, &TOKENS).unwrap();
        // The reader must see exactly the rounded values: compare with those.
        assert_close(&got, &naive_logits(&s, &rounded(dtype, &t), &TOKENS), 1e-5);
        // And the rounding itself is visible (the test is not vacuous).
        let unrounded = naive_logits(&s, &t, &TOKENS);
        let diff = (got[[8, 3]] as f64 - unrounded[8][3]).abs();
        assert!(diff > 1e-6, "{dtype:?} rounding not observed");
    }
}

#[test]
fn sharded_equals_single_file() {
    let t = make_tensors(&SHAPE, 3);
    let single = tempfile::tempdir().unwrap();
    write_ckpt(single.path(), &SHAPE, &rounded(Dtype::BF16, &t), Dtype::F32);
    let sharded = tempfile::tempdir().unwrap();
    write_sharded(sharded.path(), &SHAPE, &t, 3);
    let a = Checkpoint::load(single.path()).unwrap();
    let b = Checkpoint::load(sharded.path()).unwrap();
    assert_eq!(a, b);
}

#[test]
fn save_round_trips_single_and_sharded() {
    let src = tempfile::tempdir().unwrap();
    let t = make_tensors(&SHAPE, 4);
    write_ckpt(src.path(), &SHAPE, &t, Dtype::F32);
    let ck = Checkpoint::load(src.path()).unwrap();
    for shards in [1, 4] {
        let out = tempfile::tempdir().unwrap();
        ck.save(out.path(), StoreDtype::F32, shards).unwrap();
        assert_eq!(
            out.path().join("model.safetensors.index.json").exists(),
            shards > 1
        );
        assert_eq!(Checkpoint::load(out.path()).unwrap(), ck);
    }
    // Re-saving into the same directory in the other layout leaves no stale file behind.
    let out = tempfile::tempdir().unwrap();
    ck.save(out.path(), StoreDtype::F32, 3).unwrap();
    ck.save(out.path(), StoreDtype::F32, 1).unwrap();
    assert!(!out.path().join("model.safetensors.index.json").exists());
    ck.save(out.path(), StoreDtype::F32, 2).unwrap();
    assert!(!out.path().join("model.safetensors").exists());
    assert_eq!(Checkpoint::load(out.path()).unwrap(), ck);
    let out = tempfile::tempdir().unwrap();
    ck.save(out.path(), StoreDtype::F16, 1).unwrap();
    let back = Checkpoint::load(out.path()).unwrap();
    let w = &t["model.layers.1.mlp.up_proj.weight"].1;
    assert_eq!(
        back.weights.layers[1].up[[2, 3]],
        half::f16::from_f32(w[2 * 16 + 3]).to_f32()
    );
}

fn load_err(dir: &Path) -> String {
    let e = Checkpoint::load(dir).unwrap_err();
    assert!(e.is_input(), "{e}");
    e.to_string()
}

/// Writes `t` as a single-file checkpoint in `dtype` and returns the load error.
fn load_err_of(t: &Tensors, dtype: Dtype) -> String {
    let dir = tempfile::tempdir().unwrap();
    write_ckpt(dir.path(), &SHAPE, t, dtype);
    load_err(dir.path())
}

#[test]
fn missing_tensor_is_named_with_file() {
    let mut t = make_tensors(&SHAPE, 5);
    t.remove("model.layers.1.self_attn.k_proj.weight");
    let e = load_err_of(&t, Dtype::F32);
    assert!(e.contains("model.safetensors"), "{e}");
    assert!(
        e.contains("model.layers.1.self_attn.k_proj.weight") && e.contains("missing"),
        "{e}"
    );
}

#[test]
fn wrong_shape_reports_expected_and_found() {
    let mut t = make_tensors(&SHAPE, 6);
    t.insert(
        "model.layers.0.mlp.down_proj.weight".into(),
        (vec![24, 16], vec![0.0; 384]),
    );
    let e = load_err_of(&t, Dtype::F32);
    assert!(
        e.contains("model.safetensors") && e.contains("model.layers.0.mlp.down_proj.weight"),
        "{e}"
    );
    assert!(
        e.contains("expected [16, 24]") && e.contains("found [24, 16]"),
        "{e}"
    );
}

#[test]
fn bad_dtype_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let t = make_tensors(&SHAPE, 7);
    std::fs::write(dir.path().join("config.json"), config_json(&SHAPE)).unwrap();
    write_file(&dir.path().join("model.safetensors"), &t, |k| {
        if k == "model.norm.weight" {
            Dtype::I32
        } else {
            Dtype::F32
        }
    });
    let e = load_err(dir.path());
    assert!(
        e.contains("model.norm.weight") && e.contains("I32") && e.contains("model.safetensors"),
        "{e}"
    );
}

#[test]
fn non_finite_weights_and_biases_are_refused() {
    let mut t = make_tensors(&SHAPE, 11);
    t.get_mut("model.layers.1.mlp.up_proj.weight").unwrap().1[5] = f32::NAN;
    let e = load_err_of(&t, Dtype::F16);
    assert!(
        e.contains("model.layers.1.mlp.up_proj.weight") && e.contains("index 5"),
        "{e}"
    );

    let mut t = make_tensors(&SHAPE, 12);
    t.insert(
        "model.layers.0.self_attn.q_proj.bias".into(),
        (vec![16], vec![0.0; 16]),
    );
    let e = load_err_of(&t, Dtype::F32);
    assert!(
        e.contains("model.layers.0.self_attn.q_proj.bias") && e.contains("bias"),
        "{e}"
    );
}

#[test]
fn bad_config_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let t = make_tensors(&SHAPE, 8);
    write_ckpt(dir.path(), &SHAPE, &t, Dtype::F32);
    std::fs::write(
        dir.path().join("config.json"),
        config_json(&SHAPE).replace(
            "\"num_attention_heads\": 4",
            "\"num_attention_heads\": \"four\"",
        ),
    )
    .unwrap();
    let e = load_err(dir.path());
    assert!(
        e.contains("config.json") && e.contains("num_attention_heads"),
        "{e}"
    );
    std::fs::write(dir.path().join("config.json"), "[1, 2").unwrap();
    let e = load_err(dir.path());
    assert!(e.contains("config.json"), "{e}");
    std::fs::remove_file(dir.path().join("config.json")).unwrap();
    let e = load_err(dir.path());
    assert!(e.contains("config.json"), "{e}");
}

#[test]
fn missing_shard_and_corrupt_file_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let t = make_tensors(&SHAPE, 9);
    let map = write_sharded(dir.path(), &SHAPE, &t, 3);
    std::fs::remove_file(dir.path().join("part-1.safetensors")).unwrap();
    let e = load_err(dir.path());
    assert!(
        e.contains("part-1.safetensors") && e.contains("model.safetensors.index.json"),
        "{e}"
    );
    let in_part1 = map
        .iter()
        .filter(|(_, f)| *f == "part-1.safetensors")
        .map(|(k, _)| k)
        .min()
        .unwrap();
    assert!(e.contains(in_part1.as_str()), "{e}");

    let dir = tempfile::tempdir().unwrap();
    write_ckpt(dir.path(), &SHAPE, &t, Dtype::F32);
    std::fs::write(
        dir.path().join("model.safetensors"),
        b"\x10\x00\x00\x00\x00\x00\x00\x00{garbage",
    )
    .unwrap();
    let e = load_err(dir.path());
    assert!(
        e.contains("model.safetensors") && e.contains("not a safetensors"),
        "{e}"
    );
}

#[test]
fn out_of_vocabulary_token_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    write_ckpt(dir.path(), &SHAPE, &make_tensors(&SHAPE, 10), Dtype::F32);
    let ck = Checkpoint::load(dir.path()).unwrap();
    let e = forward::logits(&ck, &[1, 40]).unwrap_err();
    assert!(e.is_input() && e.to_string().contains("40"), "{e}");
}

// ---------------------------------------------------------------- CLI ------------

fn edgesim(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_edgesim"))
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

#[test]
fn synth_is_deterministic_per_seed() {
    let d = tempfile::tempdir().unwrap();
    let p = |s: &str| d.path().join(s).display().to_string();
    for (dir, seed) in [("a", "7"), ("b", "7"), ("c", "8")] {
        ok(&[
            "luc",
            "synth",
            "--shape",
            "tiny",
            "--seed",
            seed,
            "--out",
            &p(dir),
        ]);
    }
    let read = |dir: &str| std::fs::read(d.path().join(dir).join("model.safetensors")).unwrap();
    assert_eq!(read("a"), read("b"));
    assert_ne!(read("a"), read("c"));
    // Sharded bf16 output loads and matches the f32 one up to bf16 rounding.
    ok(&[
        "luc",
        "synth",
        "--seed",
        "7",
        "--out",
        &p("s"),
        "--dtype",
        "bf16",
        "--shards",
        "3",
    ]);
    assert!(d.path().join("s/model.safetensors.index.json").exists());
    let a = Checkpoint::load(&d.path().join("a")).unwrap();
    let s = Checkpoint::load(&d.path().join("s")).unwrap();
    let x = a.weights.layers[5].gate[[7, 9]];
    assert_eq!(
        s.weights.layers[5].gate[[7, 9]],
        half::bf16::from_f32(x).to_f32()
    );
}

#[test]
fn synth_sensitivity_policy_compress_pipeline() {
    let d = tempfile::tempdir().unwrap();
    let p = |s: &str| d.path().join(s).display().to_string();
    let calib = concat!(env!("CARGO_MANIFEST_DIR"), "/data/calibration_text.txt");
    ok(&["luc", "synth", "--seed", "7", "--out", &p("ckpt")]);
    let json = ok(&[
        "luc",
        "sensitivity",
        "--checkpoint",
        &p("ckpt"),
        "--calib",
        calib,
        "--out",
        &p("sens"),
        "--seq-len",
        "64",
        "--samples",
        "4",
        "--bits",
        "4,8",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["layers"].as_array().unwrap().len(), 8);
    let prune_csv = std::fs::read_to_string(d.path().join("sens/pruning_mse.csv")).unwrap();
    assert!(prune_csv.starts_with("layer,sparsity,sample,mse\r\n"));
    // 8 layers x 7 sparsities x 4 samples + header.
    assert_eq!(prune_csv.lines().count(), 1 + 8 * 7 * 4);
    let quant_csv = std::fs::read_to_string(d.path().join("sens/quant_mse.csv")).unwrap();
    assert_eq!(quant_csv.lines().count(), 1 + 8 * 2 * 4);
    ok(&[
        "luc",
        "policy",
        "--sensitivity",
        &p("sens/pruning_mse.csv"),
        "--bits",
        "4",
        "--sparsity",
        "0.5",
        "--out",
        &p("policy.toml"),
    ]);
    let json = ok(&[
        "luc",
        "compress",
        "--checkpoint",
        &p("ckpt"),
        "--policy",
        &p("policy.toml"),
        "--calib",
        calib,
        "--seq-len",
        "64",
        "--samples",
        "4",
        "--out",
        &p("small"),
        "--json",
    ]);
    let r: serde_json::Value = serde_json::from_str(&json).unwrap();
    let sp = r["achieved_sparsity"].as_f64().unwrap();
    assert!((0.5..0.6).contains(&sp), "{sp}");
    assert!(r["compressed_bytes"].as_u64().unwrap() * 3 < r["dense_f16_bytes"].as_u64().unwrap());
    let back = Checkpoint::load(&d.path().join("small")).unwrap();
    let zeros = back.weights.layers[3]
        .up
        .iter()
        .filter(|x| **x == 0.0)
        .count();
    assert_eq!(
        zeros as u64,
        r["layers"][3]["linears"][5]["params"].as_u64().unwrap()
            - r["layers"][3]["linears"][5]["nonzeros"].as_u64().unwrap()
    );
    assert!(d.path().join("small/compression_report.csv").exists());
}

/// Eq. 1 at B = 8 gives 9-bit layers: the whole chain (8-bit sensitivity, policy at
/// B = 8, compress) runs, with the final-state measure and the first position skipped.
#[test]
fn compress_cli_accepts_an_eq1_policy_at_b8() {
    let d = tempfile::tempdir().unwrap();
    let p = |s: &str| d.path().join(s).display().to_string();
    let calib = concat!(env!("CARGO_MANIFEST_DIR"), "/data/calibration_text.txt");
    ok(&["luc", "synth", "--seed", "7", "--out", &p("ckpt")]);
    let json = ok(&[
        "luc",
        "sensitivity",
        "--checkpoint",
        &p("ckpt"),
        "--calib",
        calib,
        "--out",
        &p("sens"),
        "--seq-len",
        "64",
        "--samples",
        "4",
        "--bits",
        "8",
        "--sparsities",
        "0.5",
        "--skip-positions",
        "1",
        "--measure",
        "final",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["measure"], "final");
    assert_eq!(v["skip_positions"], 1);
    // The CSV format does not change with the options.
    let quant_csv = std::fs::read_to_string(d.path().join("sens/quant_mse.csv")).unwrap();
    assert!(quant_csv.starts_with("layer,bits,sample,mse\r\n"));
    assert_eq!(quant_csv.lines().count(), 1 + 8 * 4);
    ok(&[
        "luc",
        "policy",
        "--sensitivity",
        &p("sens/pruning_mse.csv"),
        "--quant-sensitivity",
        &p("sens/quant_mse.csv"),
        "--bits",
        "8",
        "--sparsity",
        "0.3",
        "--out",
        &p("policy.toml"),
    ]);
    let policy = edgesim::policy::Policy::from_file(&d.path().join("policy.toml")).unwrap();
    let nine: Vec<usize> = (0..8).filter(|&j| policy.layers[j].w_bits == 9).collect();
    assert!(!nine.is_empty() && nine.len() < 8, "{nine:?}");
    assert!(policy.layers.iter().all(|l| l.w_bits == 8 || l.w_bits == 9));
    let json = ok(&[
        "luc",
        "compress",
        "--checkpoint",
        &p("ckpt"),
        "--policy",
        &p("policy.toml"),
        "--calib",
        calib,
        "--seq-len",
        "64",
        "--samples",
        "4",
        "--out",
        &p("out"),
        "--json",
    ]);
    let r: serde_json::Value = serde_json::from_str(&json).unwrap();
    for j in 0..8 {
        assert_eq!(
            r["layers"][j]["w_bits"].as_u64().unwrap(),
            u64::from(policy.layers[j].w_bits)
        );
    }
    assert!((r["avg_w_bits"].as_f64().unwrap() - policy.avg_w_bits()).abs() < 1e-12);
    assert!(d.path().join("out/compression_report.csv").exists());
}

#[test]
fn bad_cli_input_exits_2_without_output() {
    let d = tempfile::tempdir().unwrap();
    let p = |s: &str| d.path().join(s).display().to_string();
    let calib = concat!(env!("CARGO_MANIFEST_DIR"), "/data/calibration_text.txt");
    ok(&["luc", "synth", "--seed", "1", "--out", &p("ckpt")]);
    let cases: [Vec<String>; 7] = [
        vec!["--bits".into(), "17".into()],
        vec!["--bits".into(), "1".into()],
        vec!["--skip-positions".into(), "128".into()],
        vec!["--measure".into(), "logits".into()],
        vec!["--sparsities".into(), "0.5,1.5".into()],
        vec!["--seq-len".into(), "100000".into()],
        vec!["--calib-format".into(), "ids".into()],
    ];
    for extra in cases {
        let (ck, c) = (p("ckpt"), p("c"));
        let mut args = vec!["luc", "sensitivity", "--checkpoint", &ck];
        args.extend(["--calib", calib, "--out", &c]);
        args.extend(extra.iter().map(String::as_str));
        let out = edgesim(&args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{extra:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!d.path().join("c").exists(), "{extra:?} left output");
    }
    let out = edgesim(&[
        "luc",
        "sensitivity",
        "--checkpoint",
        &p("nope"),
        "--calib",
        calib,
        "--out",
        &p("c"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope"));
}

/// The claim of docs/luc.md: on `synth --shape tiny --seed 7` with the shipped text, the
/// quantisation-sensitive layers (>= mean at 4 bits) are 0, 2, 3 and the
/// pruning-sensitive ones (>= mean over the reference sparsities) are 1, 6, 7.
#[test]
fn documented_example_sensitive_layers() {
    use edgesim::llm::synth::{SynthShape, synth};
    use edgesim::llm::tokenizer::{CalibFormat, Tokenizer, load_calibration};
    use edgesim::luc::sensitivity::{SensitivityOptions, measure};
    let (ck, _) = synth(SynthShape::Tiny, 7);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/calibration_text.txt");
    let calib =
        load_calibration(&path, CalibFormat::Auto, &Tokenizer::Bytes, 256, 128, 10).unwrap();
    assert_eq!(calib.samples.len(), 10);
    let s = measure(&ck, &calib.samples, &SensitivityOptions::default(), &|_| {}).unwrap();
    let above = |v: Vec<f64>| {
        let m = v.iter().sum::<f64>() / v.len() as f64;
        (0..v.len()).filter(|&j| v[j] >= m).collect::<Vec<_>>()
    };
    assert_eq!(above(s.quant_layer_means(8, 4)), vec![0, 2, 3]);
    assert_eq!(above(s.pruning_layer_means(8)), vec![1, 6, 7]);
}
