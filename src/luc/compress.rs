//! Compresses a checkpoint per a per-layer policy (LUC): each decoder layer's seven
//! linears are pruned to the layer's sparsity (method selectable, SparseGPT by default)
//! and then fake-quantised to its weight bits (symmetric round-to-nearest per output
//! channel, any width 2..=16, e.g. the 9-bit layers eq. 1 gives at B = 8; pruned zeros
//! stay zero). Weight bits above 16 keep the float weights (not quantised). Embeddings, norms and the LM head are untouched
//! (PAPER.md). Activation and KV bit-widths of the policy are runtime settings and are
//! not applied to the stored weights.
//!
//! Layers are compressed bottom-up as in SparseGPT: the calibration inputs of layer `j`
//! are captured with layers `0..j` already compressed, so each layer corrects for the
//! error of those below.
//!
//! The stored checkpoint keeps dequantised values in a float dtype (so any LLaMA loader
//! can read it); the report gives the bytes the compressed form would really take, with
//! the storage format of [`crate::workload::compress`] (the one the Trace charges):
//! packed values at `b` bits for the weights that are actually nonzero (16 bits when not
//! quantised), one fp16 scale per output channel when quantised (also at 16 bits:
//! [`quantized_weight_bytes`]), and the smaller of a bitmap and CSR indices when any
//! weight is zero. Zeros created by rounding small kept
//! weights to code 0 count as pruned.

use crate::error::{Error, Result};
use crate::llm::checkpoint::{Checkpoint, LayerWeights, Linear};
use crate::llm::forward::{calibration_batch, decoder_layer_batch, rms_norm};
use crate::luc::prune::{PruneMethod, SparsityPattern, prune};
use crate::luc::quant::{Granularity, MAX_BITS, MIN_BITS, quantize};
use crate::luc::sensitivity::{LayerCalibration, py_float, segment_mse};
use crate::policy::Policy;
use crate::workload::compress::{WeightBytes, quantized_weight_bytes, weight_bytes};
use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;
use std::collections::BTreeSet;

/// Bits of a stored weight that is not quantised (f16/bf16), charged for layers whose
/// policy bits exceed [`MAX_BITS`].
pub const FLOAT_BITS: u32 = 16;

/// Storage of one compressed linear.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LinearReport {
    /// Module name, e.g. `self_attn.q_proj`.
    pub name: &'static str,
    /// Weights (`out x in`).
    pub params: usize,
    /// Nonzero weights after pruning and quantisation.
    pub nonzeros: usize,
    /// Largest number of distinct nonzero values in one output channel.
    pub max_levels: usize,
    /// Bits per stored value.
    pub value_bits: u32,
    /// Bytes by part (values, scales, sparse metadata).
    pub storage: WeightBytes,
    /// Bytes of values + scales + sparse metadata.
    pub bytes: u64,
}

/// Outcome for one decoder layer.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LayerReport {
    /// Decoder layer.
    pub layer: usize,
    /// Weight bits from the policy (2..=16 quantised, above 16 = not quantised).
    pub w_bits: u32,
    /// Bits needed for the values actually stored: `ceil(log2(levels + 1))` where
    /// `levels` is the largest count of distinct nonzero values in a channel (+1 for zero).
    pub achieved_bits: u32,
    /// Target sparsity from the policy.
    pub target_sparsity: f64,
    /// Fraction of the seven linears' weights that are zero.
    pub achieved_sparsity: f64,
    /// Weights of the seven linears.
    pub params: usize,
    /// Their bytes at f16, uncompressed.
    pub dense_f16_bytes: u64,
    /// Their bytes in the compressed form.
    pub compressed_bytes: u64,
    /// MSE of the layer's output, compressed vs dense, on the calibration inputs it saw.
    pub output_mse: f64,
    /// Per linear.
    pub linears: Vec<LinearReport>,
}

/// Outcome for the whole model.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CompressReport {
    /// Per decoder layer.
    pub layers: Vec<LayerReport>,
    /// Parameter-weighted mean of `w_bits` over the compressed linears.
    pub avg_w_bits: f64,
    /// Zero fraction over all compressed linears.
    pub achieved_sparsity: f64,
    /// Decoder linears at f16.
    pub dense_f16_bytes: u64,
    /// Decoder linears compressed.
    pub compressed_bytes: u64,
    /// Embedding, LM head and norms at f16 (never compressed).
    pub uncompressed_bytes: u64,
    /// MSE of the model's final hidden states (after the last RMSNorm, the LM head's
    /// input), compressed vs dense model, averaged over calibration samples: the
    /// end-to-end error of the whole policy.
    pub model_output_mse: f64,
}

/// Number of distinct nonzero values in the fullest row.
fn max_levels(w: ArrayView2<f32>) -> usize {
    w.rows()
        .into_iter()
        .map(|r| {
            r.iter()
                .filter(|v| **v != 0.0)
                .map(|v| v.to_bits())
                .collect::<BTreeSet<_>>()
                .len()
        })
        .max()
        .unwrap_or(0)
}

/// Checks that `policy` fits `ckpt`; `file` names the policy in errors.
pub fn check_policy(ckpt: &Checkpoint, policy: &Policy, file: &str) -> Result<()> {
    let l = ckpt.config.num_hidden_layers;
    if policy.layers.len() != l {
        return Err(Error::input(
            file,
            "layers",
            format!(
                "the policy has {} layers, the checkpoint {l}",
                policy.layers.len()
            ),
        ));
    }
    for (j, lp) in policy.layers.iter().enumerate() {
        if lp.w_bits < MIN_BITS {
            return Err(Error::input(
                file,
                format!("layer {j}: w_bits"),
                format!(
                    "{} not supported: {MIN_BITS}..={MAX_BITS} quantise, above {MAX_BITS} \
                     keeps the float weights",
                    lp.w_bits
                ),
            ));
        }
        if !(0.0..1.0).contains(&lp.sparsity) {
            return Err(Error::input(
                file,
                format!("layer {j}: sparsity"),
                "must be in [0, 1)",
            ));
        }
    }
    Ok(())
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

/// Compresses `ckpt` per `policy` with calibration `samples`. `policy_file` names the
/// policy in errors; `on_layer(j)` reports progress.
pub fn compress(
    ckpt: &Checkpoint,
    policy: &Policy,
    policy_file: &str,
    samples: &[Vec<u32>],
    method: PruneMethod,
    on_layer: &(dyn Fn(usize) + Sync),
) -> Result<(Checkpoint, CompressReport)> {
    check_policy(ckpt, policy, policy_file)?;
    let cfg = &ckpt.config;
    let (mut x, lens, rope) = calibration_batch(ckpt, samples)?;
    // The dense model's stream, for the end-to-end error.
    let mut dense_x = x.clone();
    let mut out = ckpt.clone();
    let mut layers = Vec::new();
    for (j, lw) in ckpt.weights.layers.iter().enumerate() {
        let lp = policy.layers[j];
        let calibrate = lp.sparsity > 0.0 && method.needs_calibration();
        let (dense_y, captured) = decoder_layer_batch(cfg, lw, &rope, x.view(), &lens, calibrate);
        let calib = match captured {
            Some(inputs) => Some(LayerCalibration::new(&inputs)?),
            None => None,
        };
        let quantised = lp.w_bits <= MAX_BITS;
        let compressed: Vec<(Array2<f32>, LinearReport)> = Linear::ALL
            .par_iter()
            .map(|&l| {
                let w = lw.linear(l).view();
                let mut c = match &calib {
                    _ if lp.sparsity == 0.0 => w.to_owned(),
                    Some(cal) => cal.prune(l, w, method, lp.sparsity)?,
                    None => {
                        prune(w, None, method, lp.sparsity, SparsityPattern::Unstructured)?.weights
                    }
                };
                if quantised {
                    c = quantize(c.view(), lp.w_bits, Granularity::PerChannel)?.dequantize();
                }
                let nonzeros = c.iter().filter(|v| **v != 0.0).count();
                let zero_fraction = 1.0 - nonzeros as f64 / c.len().max(1) as f64;
                let (cols, rows) = (c.ncols() as u64, c.nrows() as u64);
                let storage = if quantised {
                    quantized_weight_bytes(cols, rows, lp.w_bits, zero_fraction)
                } else {
                    weight_bytes(cols, rows, FLOAT_BITS, zero_fraction)
                };
                let report = LinearReport {
                    name: l.module(),
                    params: c.len(),
                    nonzeros,
                    max_levels: max_levels(c.view()),
                    value_bits: lp.w_bits.min(FLOAT_BITS),
                    storage,
                    bytes: storage.total(),
                };
                Ok((c, report))
            })
            .collect::<Result<_>>()?;
        drop(calib);
        let mut cw: LayerWeights = lw.clone();
        let mut linears = Vec::new();
        for (&l, (c, r)) in Linear::ALL.iter().zip(compressed) {
            *cw.linear_mut(l) = c;
            linears.push(r);
        }
        let y = decoder_layer_batch(cfg, &cw, &rope, x.view(), &lens, false).0;
        let output_mse = mean(&segment_mse(y.view(), dense_y.view(), &lens));
        let params: usize = linears.iter().map(|r| r.params).sum();
        let nonzeros: usize = linears.iter().map(|r| r.nonzeros).sum();
        let levels = linears.iter().map(|r| r.max_levels).max().unwrap_or(0);
        layers.push(LayerReport {
            layer: j,
            w_bits: lp.w_bits,
            achieved_bits: if quantised {
                usize::BITS - levels.leading_zeros()
            } else {
                FLOAT_BITS
            },
            target_sparsity: lp.sparsity,
            achieved_sparsity: 1.0 - nonzeros as f64 / params.max(1) as f64,
            params,
            dense_f16_bytes: params as u64 * 2,
            compressed_bytes: linears.iter().map(|r| r.bytes).sum(),
            output_mse,
            linears,
        });
        out.weights.layers[j] = cw;
        x = y;
        dense_x = decoder_layer_batch(cfg, lw, &rope, dense_x.view(), &lens, false).0;
        on_layer(j);
    }
    let params: usize = layers.iter().map(|l| l.params).sum();
    let w = &ckpt.weights;
    let other = w.embed.len()
        + w.lm_head.as_ref().map_or(0, |h| h.len())
        + w.norm.len()
        + w.layers
            .iter()
            .map(|l| l.input_norm.len() + l.post_norm.len())
            .sum::<usize>();
    let eps = cfg.rms_norm_eps;
    let final_c = rms_norm(x.view(), w.norm.view(), eps);
    let final_d = rms_norm(dense_x.view(), w.norm.view(), eps);
    let model_output_mse = mean(&segment_mse(final_c.view(), final_d.view(), &lens));
    let report = CompressReport {
        model_output_mse,
        avg_w_bits: layers
            .iter()
            .map(|l| l.w_bits.min(FLOAT_BITS) as f64 * l.params as f64)
            .sum::<f64>()
            / params.max(1) as f64,
        achieved_sparsity: layers
            .iter()
            .map(|l| l.achieved_sparsity * l.params as f64)
            .sum::<f64>()
            / params.max(1) as f64,
        dense_f16_bytes: layers.iter().map(|l| l.dense_f16_bytes).sum(),
        compressed_bytes: layers.iter().map(|l| l.compressed_bytes).sum(),
        uncompressed_bytes: other as u64 * 2,
        layers,
    };
    Ok((out, report))
}

impl CompressReport {
    /// CSV, one row per layer (numbers in the sensitivity CSVs' Python-compatible format).
    pub fn to_csv(&self) -> String {
        let mut s = String::from(
            "layer,w_bits,achieved_bits,target_sparsity,achieved_sparsity,params,\
             dense_f16_bytes,compressed_bytes,output_mse\n",
        );
        for l in &self.layers {
            s += &format!(
                "{},{},{},{},{},{},{},{},{}\n",
                l.layer,
                l.w_bits,
                l.achieved_bits,
                py_float(l.target_sparsity),
                py_float(l.achieved_sparsity),
                l.params,
                l.dense_f16_bytes,
                l.compressed_bytes,
                py_float(l.output_mse)
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::llm::checkpoint::linear_shape;
    use crate::llm::synth::{SynthShape, synth};

    fn samples() -> Vec<Vec<u32>> {
        let text = "Some calibration bytes for compressing the tiny synthetic model. ".repeat(4);
        crate::llm::tokenizer::ByteTokenizer::encode(&text)
            .chunks_exact(48)
            .take(4)
            .map(<[u32]>::to_vec)
            .collect()
    }

    #[test]
    fn uniform_four_bits_half_sparse() {
        let (ck, traits) = synth(SynthShape::Tiny, 11);
        let pol = Policy::uniform(ck.config.num_hidden_layers, 4, 0.5);
        let (out, r) = compress(
            &ck,
            &pol,
            "p.toml",
            &samples(),
            PruneMethod::SparseGpt,
            &|_| {},
        )
        .unwrap();
        for (j, l) in r.layers.iter().enumerate() {
            // Exactly half pruned by the pruner; rounding to 4 bits zeros a few more (many
            // more in the synthetic outlier layers, whose scale is set by 12x outliers).
            assert!(l.achieved_sparsity >= 0.5 - 1e-9, "{l:?}");
            if traits[j].outliers {
                continue;
            }
            assert!(l.achieved_sparsity < 0.6, "{l:?}");
            // Symmetric 4-bit codes: at most 14 nonzero levels per channel -> 4 bits.
            assert_eq!(l.achieved_bits, 4);
            assert!(l.linears.iter().all(|x| x.max_levels <= 14));
            // The stored weights agree with the report.
            let lw = &out.weights.layers[j];
            let zeros: usize = Linear::ALL
                .iter()
                .map(|&x| lw.linear(x).iter().filter(|v| **v == 0.0).count())
                .sum();
            assert_eq!(
                zeros,
                l.params - l.linears.iter().map(|x| x.nonzeros).sum::<usize>()
            );
            // Per linear: 4-bit values of the nonzeros, 1-bit bitmap per weight (CSR is
            // larger below 1 - 1/ceil(log2 in) = 83% sparsity), one 2-byte scale per row.
            for (&x, r) in Linear::ALL.iter().zip(&l.linears) {
                let rows = linear_shape(x, &ck.config)[0];
                let want = (4 * r.nonzeros).div_ceil(8) + r.params.div_ceil(8) + 2 * rows;
                assert_eq!(r.bytes, want as u64, "{r:?}");
            }
            assert_eq!(
                l.linears.iter().map(|r| r.bytes).sum::<u64>(),
                l.compressed_bytes
            );
            assert!(l.compressed_bytes * 4 < l.dense_f16_bytes);
            assert!(l.output_mse > 0.0);
        }
        assert_eq!(out.weights.embed, ck.weights.embed);
        assert_eq!(out.weights.lm_head, ck.weights.lm_head);
        assert!((r.avg_w_bits - 4.0).abs() < 1e-12);
    }

    #[test]
    fn float_dense_policy_is_the_identity() {
        let (ck, _) = synth(SynthShape::Tiny, 12);
        let pol = Policy::uniform(ck.config.num_hidden_layers, 32, 0.0);
        let (out, r) =
            compress(&ck, &pol, "p.toml", &samples(), PruneMethod::Wanda, &|_| {}).unwrap();
        assert_eq!(out, ck);
        assert!(
            r.layers
                .iter()
                .all(|l| l.output_mse == 0.0 && l.achieved_bits == 16)
        );
        assert_eq!(r.compressed_bytes, r.dense_f16_bytes);
    }

    #[test]
    fn policy_errors_name_the_file() {
        let (ck, _) = synth(SynthShape::Tiny, 13);
        let pol = Policy::uniform(3, 4, 0.5);
        let e = compress(
            &ck,
            &pol,
            "my/policy.toml",
            &samples(),
            PruneMethod::Magnitude,
            &|_| {},
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("my/policy.toml") && e.is_input(),
            "{e}"
        );
        let pol = Policy::uniform(ck.config.num_hidden_layers, 1, 0.5);
        let e = compress(
            &ck,
            &pol,
            "q.toml",
            &samples(),
            PruneMethod::Magnitude,
            &|_| {},
        )
        .unwrap_err();
        let m = e.to_string();
        assert!(
            m.contains("w_bits") && m.contains("2..=16") && e.is_input(),
            "{m}"
        );
    }

    /// Eq. 1 at B = 8 gives 9-bit layers, at B = 15 16-bit ones: both compress, on the
    /// b-bit grid (re-quantising at b bits is the identity, the top code is 2^(b-1) - 1),
    /// within half a step of the dense weights where nothing is pruned, with the stored
    /// size of b-bit codes plus scales.
    #[test]
    fn nine_and_sixteen_bit_policies_compress() {
        let (ck, _) = synth(SynthShape::Tiny, 16);
        let l = ck.config.num_hidden_layers;
        let mut pol = Policy::uniform(l, 9, 0.0);
        for j in 0..l {
            pol.layers[j].w_bits = if j % 2 == 0 { 9 } else { 16 };
            pol.layers[j].sparsity = if j % 4 < 2 { 0.0 } else { 0.5 };
        }
        let (out, r) = compress(
            &ck,
            &pol,
            "p.toml",
            &samples(),
            PruneMethod::SparseGpt,
            &|_| {},
        )
        .unwrap();
        for (j, lr) in r.layers.iter().enumerate() {
            let bits = pol.layers[j].w_bits;
            let qmax = crate::luc::quant::max_level(bits).unwrap();
            assert_eq!(lr.w_bits, bits);
            for (&x, rep) in Linear::ALL.iter().zip(&lr.linears) {
                let stored = out.weights.layers[j].linear(x);
                let q = quantize(stored.view(), bits, Granularity::PerChannel).unwrap();
                assert_eq!(&q.dequantize(), stored, "layer {j} {x:?}: not on the grid");
                for (row, codes) in stored.rows().into_iter().zip(q.codes.rows()) {
                    if row.iter().any(|v| *v != 0.0) {
                        let top = codes.iter().map(|c| i32::from(*c).abs()).max();
                        assert_eq!(top, Some(qmax));
                    }
                }
                if pol.layers[j].sparsity == 0.0 {
                    let dense = ck.weights.layers[j].linear(x);
                    for (d, s) in dense.rows().into_iter().zip(stored.rows()) {
                        let m = d.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                        let half_step = m / qmax as f32 / 2.0 * (1.0 + 1.0 / 256.0);
                        for (a, b) in d.iter().zip(s) {
                            assert!((a - b).abs() <= half_step, "layer {j}: {a} -> {b}");
                        }
                    }
                }
                let rows = rep.params / stored.ncols();
                let meta = if rep.nonzeros < rep.params {
                    rep.params.div_ceil(8)
                } else {
                    0
                };
                let want = (bits as usize * rep.nonzeros).div_ceil(8) + 2 * rows + meta;
                assert_eq!(rep.bytes, want as u64, "layer {j} {x:?}");
                assert_eq!(rep.value_bits, bits);
            }
            assert!(lr.output_mse > 0.0);
        }
        // 16-bit codes are ~128x finer than 9-bit ones: the dense 16-bit layers' output
        // error is far below the dense 9-bit layers'.
        let (m9, m16) = (r.layers[0].output_mse, r.layers[1].output_mse);
        assert!(m16 * 1000.0 < m9, "{m16} vs {m9}");
        assert!((r.avg_w_bits - 12.5).abs() < 1e-12);
    }

    #[test]
    fn end_to_end_error_grows_with_compression() {
        let (ck, _) = synth(SynthShape::Tiny, 14);
        let l = ck.config.num_hidden_layers;
        let err = |bits, sp| {
            let pol = Policy::uniform(l, bits, sp);
            compress(&ck, &pol, "p", &samples(), PruneMethod::SparseGpt, &|_| {})
                .unwrap()
                .1
                .model_output_mse
        };
        let (light, mid, heavy) = (err(8, 0.1), err(4, 0.5), err(3, 0.7));
        assert!(
            0.0 < light && light < mid && mid < heavy,
            "{light} {mid} {heavy}"
        );
    }

    #[test]
    fn report_csv_has_one_row_per_layer() {
        let (ck, _) = synth(SynthShape::Tiny, 15);
        let pol = Policy::uniform(ck.config.num_hidden_layers, 8, 0.2);
        let (_, r) = compress(&ck, &pol, "p", &samples(), PruneMethod::Magnitude, &|_| {}).unwrap();
        let csv = r.to_csv();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 1 + 8);
        assert!(lines[0].starts_with("layer,w_bits,achieved_bits,target_sparsity"));
        let f: Vec<&str> = lines[3].split(',').collect();
        assert_eq!((f[0], f[1], f[3]), ("2", "8", "0.2"));
        assert_eq!(f[5], "46080");
    }
}
