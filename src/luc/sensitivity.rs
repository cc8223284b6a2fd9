//! Per-layer compression sensitivity (Edge-LLM, PAPER.md "LUC"): for each decoder layer
//! `j`, compress only that layer and measure the mean squared error of its output hidden
//! state against the dense model's, per calibration sample.
//!
//! - Inputs of layer `j` are the dense model's hidden states after layer `j-1`, so layers
//!   below are uncompressed and the error is the layer's own.
//! - Quantisation: the seven linears fake-quantised at `b` bits, symmetric round-to-nearest
//!   with one scale per output channel (the reference quantiser). Only weights: the
//!   activation and KV bit-widths of a policy are not applied here.
//! - Pruning: the seven linears pruned to sparsity `p` (unstructured) by the chosen method
//!   (SparseGPT by default, as the reference). Calibration inputs of each linear are the
//!   dense model's inputs to that linear, captured in the forward, over all samples.
//! - MSE of a sample = mean over its `tokens x hidden` output elements of the squared
//!   difference (f64 accumulation).
//!
//! The layers are processed bottom-up streaming the dense hidden states, so memory holds
//! one layer's calibration activations at a time. All samples go through a layer as one
//! stacked batch (one GEMM per linear); the four distinct linear inputs of a layer give
//! four Hessians `X^T X`, computed once and shared by every sparsity level; the
//! (bits, sparsity) variants of a layer run in parallel (rayon).

use crate::error::{Error, Result};
use crate::luc::checkpoint::{Checkpoint, LayerWeights, Linear};
use crate::luc::model::{LinearInputs, Rope, decoder_layer_batch, embed_batch};
use crate::luc::prune::{
    Hessian, PruneMethod, SparseGptOptions, SparsityPattern, prune_with_hessian,
};
use crate::luc::quant::{Granularity, fake_quant};
use ndarray::{Array2, ArrayView2, s};
use rayon::prelude::*;

/// The sparsity levels of the reference code (PAPER.md): {.05, .1, .2, .3, .5, .7, .9}.
pub const PAPER_SPARSITIES: [f64; 7] = [0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9];

/// What to measure.
#[derive(Debug, Clone)]
pub struct SensitivityOptions {
    /// Weight bit-widths to measure quantisation at (each in 2..=8).
    pub bits: Vec<u32>,
    /// Sparsities to measure pruning at (each in [0, 1)).
    pub sparsities: Vec<f64>,
    /// Pruning method.
    pub method: PruneMethod,
}

impl Default for SensitivityOptions {
    fn default() -> Self {
        SensitivityOptions {
            bits: vec![4],
            sparsities: PAPER_SPARSITIES.to_vec(),
            method: PruneMethod::SparseGpt,
        }
    }
}

/// One pruning measurement (a row of `pruning_mse.csv`).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct PruneMse {
    /// Decoder layer.
    pub layer: usize,
    /// Target sparsity of the layer's seven linears.
    pub sparsity: f64,
    /// Calibration sample index.
    pub sample: usize,
    /// Mean squared error of the layer output.
    pub mse: f64,
}

/// One quantisation measurement (a row of `quant_mse.csv`).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct QuantMse {
    /// Decoder layer.
    pub layer: usize,
    /// Weight bits of the layer's seven linears.
    pub bits: u32,
    /// Calibration sample index.
    pub sample: usize,
    /// Mean squared error of the layer output.
    pub mse: f64,
}

/// All measurements, ordered by layer, then level (as given), then sample.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Sensitivity {
    /// Pruning rows.
    pub pruning: Vec<PruneMse>,
    /// Quantisation rows.
    pub quant: Vec<QuantMse>,
}

impl SensitivityOptions {
    /// Checks the levels; `flag` names the source in errors.
    pub fn validate(&self) -> Result<()> {
        for &b in &self.bits {
            if !(crate::luc::quant::MIN_BITS..=crate::luc::quant::MAX_BITS).contains(&b) {
                return Err(Error::input(
                    "--bits",
                    b.to_string(),
                    format!(
                        "bit-width must be in {}..={}",
                        crate::luc::quant::MIN_BITS,
                        crate::luc::quant::MAX_BITS
                    ),
                ));
            }
        }
        for &p in &self.sparsities {
            if !(0.0..1.0).contains(&p) {
                return Err(Error::input(
                    "--sparsities",
                    p.to_string(),
                    "sparsity must be in [0, 1)",
                ));
            }
        }
        if self.bits.is_empty() && self.sparsities.is_empty() {
            return Err(Error::input(
                "--bits/--sparsities",
                "",
                "nothing to measure",
            ));
        }
        Ok(())
    }
}

/// A compression of one layer's seven linears.
#[derive(Debug, Clone, Copy)]
enum Variant {
    Quant(u32),
    Prune(f64),
}

/// Calibration statistics of one decoder layer: the Hessian `X^T X` of each distinct
/// linear input (q/k/v share one, gate/up share one), from the captured dense inputs.
pub struct LayerCalibration {
    attn_in: Hessian,
    o_in: Hessian,
    mlp_in: Hessian,
    down_in: Hessian,
}

impl LayerCalibration {
    /// Accumulates the four Hessians of `inputs` (in parallel).
    pub fn new(inputs: &LinearInputs) -> Result<Self> {
        let mats = [
            &inputs.attn_in,
            &inputs.o_in,
            &inputs.mlp_in,
            &inputs.down_in,
        ];
        let mut h: Vec<Hessian> = mats
            .par_iter()
            .map(|x| Hessian::from_inputs(x.view()))
            .collect::<Result<_>>()?;
        let down_in = h.pop().expect("four");
        let mlp_in = h.pop().expect("four");
        let o_in = h.pop().expect("four");
        let attn_in = h.pop().expect("four");
        Ok(LayerCalibration {
            attn_in,
            o_in,
            mlp_in,
            down_in,
        })
    }

    /// The Hessian of linear `l`'s input.
    pub fn of(&self, l: Linear) -> &Hessian {
        match l {
            Linear::Q | Linear::K | Linear::V => &self.attn_in,
            Linear::O => &self.o_in,
            Linear::Gate | Linear::Up => &self.mlp_in,
            Linear::Down => &self.down_in,
        }
    }

    /// Prunes linear `l`'s weight `w` to `sparsity` (unstructured) with `method`.
    pub fn prune(
        &self,
        l: Linear,
        w: ArrayView2<f32>,
        method: PruneMethod,
        sparsity: f64,
    ) -> Result<Array2<f32>> {
        Ok(prune_with_hessian(
            w,
            self.of(l),
            method,
            sparsity,
            SparsityPattern::Unstructured,
            &SparseGptOptions::default(),
        )?
        .weights)
    }
}

/// MSE per sequence of two row-stacked batches with sequence lengths `lens`.
pub fn segment_mse(a: ArrayView2<f32>, b: ArrayView2<f32>, lens: &[usize]) -> Vec<f64> {
    let mut start = 0;
    lens.iter()
        .map(|&len| {
            let rows = s![start..start + len, ..];
            start += len;
            mse(a.slice(rows), b.slice(rows))
        })
        .collect()
}

/// Mean squared difference of two equally shaped matrices (f64 accumulation).
pub fn mse(a: ArrayView2<f32>, b: ArrayView2<f32>) -> f64 {
    let n = a.len().max(1) as f64;
    a.iter()
        .zip(b.iter())
        .map(|(&x, &y)| {
            let d = f64::from(x) - f64::from(y);
            d * d
        })
        .sum::<f64>()
        / n
}

/// Applies `variant` to the seven linears of `w`.
fn compress_layer(
    w: &LayerWeights,
    variant: Variant,
    calib: Option<&LayerCalibration>,
    method: PruneMethod,
) -> Result<LayerWeights> {
    let mut out = w.clone();
    for l in Linear::ALL {
        let dense = w.linear(l).view();
        *out.linear_mut(l) = match (variant, calib) {
            (Variant::Quant(b), _) => fake_quant(dense, b, Granularity::PerChannel)?,
            (Variant::Prune(p), Some(c)) => c.prune(l, dense, method, p)?,
            (Variant::Prune(p), None) => {
                crate::luc::prune::prune(dense, None, method, p, SparsityPattern::Unstructured)?
                    .weights
            }
        };
    }
    Ok(out)
}

/// Measures the sensitivity of every decoder layer of `ckpt` on `samples` (token ids).
/// `on_layer(j)` is called after layer `j` is done (progress reporting).
pub fn measure(
    ckpt: &Checkpoint,
    samples: &[Vec<u32>],
    opts: &SensitivityOptions,
    on_layer: &(dyn Fn(usize) + Sync),
) -> Result<Sensitivity> {
    opts.validate()?;
    if samples.is_empty() || samples.iter().any(Vec::is_empty) {
        return Err(Error::input(
            "calibration",
            "samples",
            "need at least one non-empty sample",
        ));
    }
    let cfg = &ckpt.config;
    let max_len = samples.iter().map(Vec::len).max().unwrap_or(0);
    let rope = Rope::new(max_len, cfg.head_dim, cfg.rope_theta);
    let (mut x, lens) = embed_batch(ckpt, samples, "calibration")?;
    let variants: Vec<Variant> = opts
        .bits
        .iter()
        .map(|&b| Variant::Quant(b))
        .chain(opts.sparsities.iter().map(|&p| Variant::Prune(p)))
        .collect();
    let needs_calib = opts.method.needs_calibration() && !opts.sparsities.is_empty();
    let mut result = Sensitivity::default();
    for (j, lw) in ckpt.weights.layers.iter().enumerate() {
        let (y, captured) = decoder_layer_batch(cfg, lw, &rope, x.view(), &lens, needs_calib);
        let calib = match captured {
            Some(inputs) => Some(LayerCalibration::new(&inputs)?),
            None => None,
        };
        let per_variant: Vec<Vec<f64>> = variants
            .par_iter()
            .map(|&v| {
                let cw = compress_layer(lw, v, calib.as_ref(), opts.method)?;
                let yc = decoder_layer_batch(cfg, &cw, &rope, x.view(), &lens, false).0;
                Ok(segment_mse(yc.view(), y.view(), &lens))
            })
            .collect::<Result<_>>()?;
        for (v, mses) in variants.iter().zip(per_variant) {
            for (sample, mse) in mses.into_iter().enumerate() {
                match *v {
                    Variant::Quant(bits) => result.quant.push(QuantMse {
                        layer: j,
                        bits,
                        sample,
                        mse,
                    }),
                    Variant::Prune(sparsity) => result.pruning.push(PruneMse {
                        layer: j,
                        sparsity,
                        sample,
                        mse,
                    }),
                }
            }
        }
        x = y;
        on_layer(j);
    }
    Ok(result)
}

/// Formats a float like Python's `repr`, the number format of the authors'
/// `llama7b_layerwise_pruning_mse.csv` (`0.0`, `0.05`, `4.655122756958008e-05`): the
/// shortest digit count that round-trips, ties between two such digit strings broken to
/// even (Python's correctly rounded repr; Rust's shortest formatter breaks them upward,
/// which shows on f32-valued MSEs such as `0.0005807876586914062`), positional notation
/// for exponents -4..16 and scientific with a signed two-digit exponent otherwise.
pub fn py_float(v: f64) -> String {
    if v == 0.0 {
        return if v.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    if !v.is_finite() {
        return if v.is_nan() {
            "nan".into()
        } else if v > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    let shortest = format!("{:e}", v.abs()); // e.g. "5.807876586914063e-4"
    let digits = shortest
        .split('e')
        .next()
        .unwrap_or("")
        .replace('.', "")
        .len()
        .max(1);
    // Same digit count, exact decimal expansion rounded half-to-even.
    let exact = format!("{:.*e}", digits - 1, v.abs());
    let (mantissa, exp) = exact.split_once('e').unwrap_or((&exact, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut d: String = mantissa.replace('.', "");
    while d.len() > 1 && d.ends_with('0') {
        d.pop();
    }
    let sign = if v < 0.0 { "-" } else { "" };
    let body = if (-4..16).contains(&exp) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            if d.len() <= int_len {
                format!("{d}{}.0", "0".repeat(int_len - d.len()))
            } else {
                format!("{}.{}", &d[..int_len], &d[int_len..])
            }
        } else {
            format!("0.{}{d}", "0".repeat((-exp - 1) as usize))
        }
    } else {
        let m = if d.len() > 1 {
            format!("{}.{}", &d[..1], &d[1..])
        } else {
            d.clone()
        };
        format!("{m}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    };
    format!("{sign}{body}")
}

impl Sensitivity {
    /// `pruning_mse.csv`: header `layer,sparsity,sample,mse`, CRLF line ends and Python
    /// float formatting, byte-compatible with the authors' LLaMA-7B file.
    pub fn pruning_csv(&self) -> String {
        let mut s = String::from("layer,sparsity,sample,mse\r\n");
        for r in &self.pruning {
            s += &format!(
                "{},{},{},{}\r\n",
                r.layer,
                py_float(r.sparsity),
                r.sample,
                py_float(r.mse)
            );
        }
        s
    }

    /// `quant_mse.csv`: header `layer,bits,sample,mse`, same conventions.
    pub fn quant_csv(&self) -> String {
        let mut s = String::from("layer,bits,sample,mse\r\n");
        for r in &self.quant {
            s += &format!(
                "{},{},{},{}\r\n",
                r.layer,
                r.bits,
                r.sample,
                py_float(r.mse)
            );
        }
        s
    }

    /// Mean pruning MSE per layer over all sparsities and samples.
    pub fn pruning_layer_means(&self, layers: usize) -> Vec<f64> {
        layer_means(layers, self.pruning.iter().map(|r| (r.layer, r.mse)))
    }

    /// Mean quantisation MSE per layer at `bits` over samples.
    pub fn quant_layer_means(&self, layers: usize, bits: u32) -> Vec<f64> {
        layer_means(
            layers,
            self.quant
                .iter()
                .filter(|r| r.bits == bits)
                .map(|r| (r.layer, r.mse)),
        )
    }

    /// Mean pruning MSE per layer at one `sparsity` over samples.
    pub fn pruning_layer_means_at(&self, layers: usize, sparsity: f64) -> Vec<f64> {
        layer_means(
            layers,
            self.pruning
                .iter()
                .filter(|r| r.sparsity == sparsity)
                .map(|r| (r.layer, r.mse)),
        )
    }
}

fn layer_means(layers: usize, rows: impl Iterator<Item = (usize, f64)>) -> Vec<f64> {
    let mut sum = vec![0.0; layers];
    let mut n = vec![0usize; layers];
    for (l, m) in rows {
        if l < layers {
            sum[l] += m;
            n[l] += 1;
        }
    }
    sum.iter()
        .zip(&n)
        .map(|(s, &k)| if k == 0 { f64::NAN } else { s / k as f64 })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_float_format() {
        assert_eq!(py_float(0.0), "0.0");
        assert_eq!(py_float(0.05), "0.05");
        assert_eq!(py_float(0.1), "0.1");
        assert_eq!(py_float(4.655122756958008e-05), "4.655122756958008e-05");
        assert_eq!(py_float(0.00012), "0.00012");
        assert_eq!(py_float(0.17), "0.17");
        assert_eq!(py_float(3.0), "3.0");
        assert_eq!(py_float(1.5e20), "1.5e+20");
        assert_eq!(py_float(1e16), "1e+16");
        assert_eq!(py_float(123456.5), "123456.5");
        assert_eq!(py_float(-0.25), "-0.25");
        assert_eq!(py_float(0.0005807876586914062), "0.0005807876586914062");
        assert_eq!(py_float(1e-5), "1e-05");
    }

    /// Every line of the authors' file re-formats to itself (the writer's number format
    /// is theirs).
    #[test]
    fn reproduces_the_shared_file_format() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("data/llama7b_layerwise_pruning_mse.csv");
        let Ok(text) = std::fs::read_to_string(&path) else {
            panic!("{} is shipped with the crate", path.display());
        };
        let mut s = Sensitivity::default();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            s.pruning.push(PruneMse {
                layer: f[0].parse().unwrap(),
                sparsity: f[1].parse().unwrap(),
                sample: f[2].parse().unwrap(),
                mse: f[3].parse().unwrap(),
            });
        }
        let ours = s.pruning_csv();
        for (a, b) in ours.split("\r\n").zip(text.split("\r\n")) {
            assert_eq!(a, b);
        }
        assert_eq!(ours, text);
    }

    use crate::luc::model::{decoder_layer, embed};
    use crate::luc::prune::prune;
    use crate::luc::synth::{SynthShape, synth};
    use crate::policy::{SensitivityKind, SensitivityTable};
    use ndarray::{Axis, concatenate};

    /// Four samples of 32 byte-tokens of fixed text.
    fn samples() -> Vec<Vec<u32>> {
        let text = "Calibration text for the sensitivity tests: it only has to be varied bytes. "
            .repeat(3);
        crate::luc::tokenizer::ByteTokenizer::encode(&text)
            .chunks_exact(32)
            .take(4)
            .map(<[u32]>::to_vec)
            .collect()
    }

    fn means(s: &Sensitivity, layers: usize, sp: f64) -> Vec<f64> {
        s.pruning_layer_means_at(layers, sp)
    }

    #[test]
    fn zero_at_no_compression_and_growing_with_sparsity() {
        let (ck, _) = synth(SynthShape::Tiny, 3);
        let layers = ck.config.num_hidden_layers;
        let levels = [0.0, 0.1, 0.3, 0.5, 0.7, 0.9];
        for method in [
            PruneMethod::SparseGpt,
            PruneMethod::Wanda,
            PruneMethod::Magnitude,
        ] {
            let opts = SensitivityOptions {
                bits: vec![],
                sparsities: levels.to_vec(),
                method,
            };
            let s = measure(&ck, &samples(), &opts, &|_| {}).unwrap();
            assert_eq!(s.pruning.len(), layers * levels.len() * 4);
            // Sparsity 0 leaves the weights untouched: the error is exactly 0.
            assert!(
                s.pruning
                    .iter()
                    .filter(|r| r.sparsity == 0.0)
                    .all(|r| r.mse == 0.0)
            );
            for j in 0..layers {
                let m: Vec<f64> = levels.iter().map(|&p| means(&s, layers, p)[j]).collect();
                assert!(
                    m.windows(2).all(|w| w[1] > w[0]),
                    "{method:?} layer {j}: {m:?}"
                );
            }
        }
    }

    #[test]
    fn eight_bits_beat_four_bits() {
        let (ck, _) = synth(SynthShape::Tiny, 4);
        let layers = ck.config.num_hidden_layers;
        let opts = SensitivityOptions {
            bits: vec![2, 4, 8],
            sparsities: vec![],
            method: PruneMethod::SparseGpt,
        };
        let s = measure(&ck, &samples(), &opts, &|_| {}).unwrap();
        let (q2, q4, q8) = (
            s.quant_layer_means(layers, 2),
            s.quant_layer_means(layers, 4),
            s.quant_layer_means(layers, 8),
        );
        for j in 0..layers {
            // Step size shrinks by (2^7-1)/(2^3-1) = 18 from 4 to 8 bits: error variance by
            // ~300; require a factor 50 to leave room for the nonlinearity.
            assert!(
                q8[j] > 0.0 && q8[j] * 50.0 < q4[j],
                "layer {j}: {} vs {}",
                q8[j],
                q4[j]
            );
            assert!(q4[j] < q2[j], "layer {j}");
        }
    }

    /// Layer j's pruning is calibrated on the dense model's inputs of that layer: the same
    /// number comes out of a hand-assembled pipeline for the last layer.
    #[test]
    fn calibration_uses_dense_inputs_of_the_layer() {
        let (ck, _) = synth(SynthShape::Tiny, 5);
        let cfg = &ck.config;
        let smp = samples();
        let opts = SensitivityOptions {
            bits: vec![],
            sparsities: vec![0.5],
            method: PruneMethod::SparseGpt,
        };
        let s = measure(&ck, &smp, &opts, &|_| {}).unwrap();
        let last = cfg.num_hidden_layers - 1;
        let rope = Rope::new(32, cfg.head_dim, cfg.rope_theta);
        let mut xs: Vec<Array2<f32>> = smp.iter().map(|t| embed(&ck, t, "t").unwrap()).collect();
        for lw in &ck.weights.layers[..last] {
            xs = xs
                .iter()
                .map(|x| decoder_layer(cfg, lw, &rope, x.view(), false).0)
                .collect();
        }
        let lw = &ck.weights.layers[last];
        let caps: Vec<_> = xs
            .iter()
            .map(|x| decoder_layer(cfg, lw, &rope, x.view(), true))
            .collect();
        let mut cw = lw.clone();
        for l in Linear::ALL {
            let views: Vec<_> = caps
                .iter()
                .map(|c| c.1.as_ref().unwrap().of(l).view())
                .collect();
            let x = concatenate(Axis(0), &views).unwrap();
            *cw.linear_mut(l) = prune(
                lw.linear(l).view(),
                Some(x.view()),
                PruneMethod::SparseGpt,
                0.5,
                SparsityPattern::Unstructured,
            )
            .unwrap()
            .weights;
        }
        for (i, x) in xs.iter().enumerate() {
            let y = decoder_layer(cfg, &cw, &rope, x.view(), false).0;
            let want = mse(y.view(), caps[i].0.view());
            let got = s
                .pruning
                .iter()
                .find(|r| r.layer == last && r.sample == i)
                .unwrap()
                .mse;
            assert!((got - want).abs() <= 1e-9 * want, "{got} vs {want}");
        }
    }

    #[test]
    fn csv_round_trips_through_the_policy_reader() {
        let (ck, _) = synth(SynthShape::Tiny, 6);
        let layers = ck.config.num_hidden_layers;
        let opts = SensitivityOptions {
            bits: vec![3, 4],
            sparsities: PAPER_SPARSITIES.to_vec(),
            method: PruneMethod::Wanda,
        };
        let s = measure(&ck, &samples()[..2], &opts, &|_| {}).unwrap();
        let p = SensitivityTable::from_csv_str(
            "pruning_mse.csv",
            &s.pruning_csv(),
            SensitivityKind::Pruning,
        )
        .unwrap();
        assert_eq!(p.rows.len(), s.pruning.len());
        for (a, b) in p.rows.iter().zip(&s.pruning) {
            assert_eq!(
                (a.layer as usize, a.level, a.sample as usize, a.mse),
                (b.layer, b.sparsity, b.sample, b.mse)
            );
        }
        let q = SensitivityTable::from_csv_str(
            "quant_mse.csv",
            &s.quant_csv(),
            SensitivityKind::Quantization,
        )
        .unwrap();
        assert_eq!(q.rows.len(), layers * 2 * 2);
        for (a, b) in q.rows.iter().zip(&s.quant) {
            assert_eq!(
                (a.layer as usize, a.level, a.sample as usize, a.mse),
                (b.layer, b.bits as f64, b.sample, b.mse)
            );
        }
        // The reader's per-layer mean over all levels equals ours.
        let theirs = p.per_layer_mean(layers as u32, 10).unwrap();
        let ours = s.pruning_layer_means(layers);
        for j in 0..layers {
            assert!((theirs[j].unwrap() - ours[j]).abs() <= 1e-12 * ours[j]);
        }
    }

    /// The synthetic model's outlier layers are quantisation-sensitive relative to their
    /// pruning sensitivity (see `synth`): their quant/prune MSE ratio is higher.
    #[test]
    fn synthetic_layers_differ_between_quantisation_and_pruning() {
        let (ck, traits) = synth(SynthShape::Tiny, 7);
        let layers = ck.config.num_hidden_layers;
        let opts = SensitivityOptions {
            bits: vec![4],
            sparsities: vec![0.5],
            method: PruneMethod::SparseGpt,
        };
        let s = measure(&ck, &samples(), &opts, &|_| {}).unwrap();
        let (q, p) = (
            s.quant_layer_means(layers, 4),
            s.pruning_layer_means(layers),
        );
        let ratio = |outl: bool| {
            let r: Vec<f64> = (0..layers)
                .filter(|&j| traits[j].outliers == outl)
                .map(|j| q[j] / p[j])
                .collect();
            r.iter().sum::<f64>() / r.len() as f64
        };
        assert!(traits.iter().any(|t| t.outliers) && traits.iter().any(|t| !t.outliers));
        assert!(
            ratio(true) > 2.0 * ratio(false),
            "{} vs {}",
            ratio(true),
            ratio(false)
        );
    }

    #[test]
    fn bad_levels_are_input_errors() {
        let bad = SensitivityOptions {
            bits: vec![9],
            ..Default::default()
        };
        assert!(bad.validate().unwrap_err().to_string().contains("--bits"));
        let bad = SensitivityOptions {
            sparsities: vec![1.0],
            ..Default::default()
        };
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("--sparsities")
        );
    }
}
