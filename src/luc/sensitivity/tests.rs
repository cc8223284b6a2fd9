//! Properties of the sensitivity measurement on synthetic checkpoints.

use super::*;
use crate::llm::forward::Rope;
use crate::llm::forward::{decoder_layer, embed, forward_hidden};
use crate::llm::synth::{SynthShape, synth};
use crate::luc::prune::prune;
use crate::policy::{SensitivityKind, SensitivityTable};
use ndarray::{Array2, Axis, concatenate};

/// Four samples of 32 byte-tokens of fixed text.
fn samples() -> Vec<Vec<u32>> {
    let text =
        "Calibration text for the sensitivity tests: it only has to be varied bytes. ".repeat(3);
    crate::llm::tokenizer::ByteTokenizer::encode(&text)
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
            ..Default::default()
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
        ..Default::default()
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
        ..Default::default()
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
        ..Default::default()
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
        ..Default::default()
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
        bits: vec![17],
        ..Default::default()
    };
    let e = bad.validate().unwrap_err().to_string();
    assert!(e.contains("--bits") && e.contains("2..=16"), "{e}");
    // Every width of the quantiser is measurable.
    let wide = SensitivityOptions {
        bits: vec![2, 9, 16],
        ..Default::default()
    };
    assert!(wide.validate().is_ok());
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

// ------------------------------------------------ attention sinks and final measure ---

/// Squared error of every row of two matrices (f64).
fn row_sq(a: &Array2<f32>, b: &Array2<f32>) -> Vec<f64> {
    a.rows()
        .into_iter()
        .zip(b.rows())
        .map(|(x, y)| {
            x.iter()
                .zip(y)
                .map(|(&u, &v)| (f64::from(u) - f64::from(v)).powi(2))
                .sum()
        })
        .collect()
}

/// Mean squared error over the rows from `skip` on.
fn mse_from(a: &Array2<f32>, b: &Array2<f32>, skip: usize) -> f64 {
    let r = row_sq(a, b);
    r[skip..].iter().sum::<f64>() / ((r.len() - skip) * a.ncols()) as f64
}

/// RMSNorm in f64 with plain loops: `x / sqrt(mean(x^2) + eps) * w` per row.
fn naive_rms_norm(x: &Array2<f32>, w: &ndarray::Array1<f32>, eps: f64) -> Array2<f32> {
    let mut out = x.clone();
    for mut row in out.rows_mut() {
        let ms = row.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / row.len() as f64;
        let inv = 1.0 / (ms + eps).sqrt();
        for (v, &g) in row.iter_mut().zip(w) {
            *v = (f64::from(*v) * inv * f64::from(g)) as f32;
        }
    }
    out
}

/// The seven linears of `lw` fake-quantised per output channel.
fn quantised(
    lw: &crate::llm::checkpoint::LayerWeights,
    bits: u32,
) -> crate::llm::checkpoint::LayerWeights {
    let mut out = lw.clone();
    for l in Linear::ALL {
        *out.linear_mut(l) =
            fake_quant(lw.linear(l).view(), bits, Granularity::PerChannel).unwrap();
    }
    out
}

/// The MSE row of (layer, sample) among the quantisation rows at `bits`.
fn quant_row(s: &Sensitivity, layer: usize, bits: u32, sample: usize) -> f64 {
    s.quant
        .iter()
        .find(|r| r.layer == layer && r.bits == bits && r.sample == sample)
        .unwrap()
        .mse
}

/// A massive activation on the first token, built by hand in the tiny model: token 0's
/// embedding is the unit vector of channel 5 and no other token has a channel-5
/// component; layer 0's attention output is switched off (`o = 0`), so its MLP input for
/// token t is the normalised embedding; gate and up row 0 read channel 5 only (weight 4).
/// Hence hidden unit 0 is exactly 0 for every other token and `SiLU(a) * a` with
/// `a = 4 * 8 * post_norm[5]` (about 1,000) for token 0, and `down` writes it, times
/// column 0, into the residual of position 0 only. Quantising `down` perturbs that value
/// in proportion to it.
#[test]
fn skip_positions_removes_a_massive_first_token() {
    const C: usize = 5;
    let (mut ck, _) = synth(SynthShape::Tiny, 8);
    for t in 1..ck.config.vocab_size {
        ck.weights.embed[[t, C]] = 0.0;
    }
    ck.weights.embed.row_mut(0).fill(0.0);
    ck.weights.embed[[0, C]] = 1.0;
    {
        let l0 = &mut ck.weights.layers[0];
        l0.o.fill(0.0);
        for m in [&mut l0.gate, &mut l0.up] {
            m.row_mut(0).fill(0.0);
            m[[0, C]] = 4.0;
        }
    }
    // Every sample starts with token 0 (the byte NUL, absent from the text).
    let smp: Vec<Vec<u32>> = samples()
        .into_iter()
        .map(|mut s| {
            s[0] = 0;
            s
        })
        .collect();
    let layers = ck.config.num_hidden_layers;
    let run = |skip| {
        let opts = SensitivityOptions {
            bits: vec![4],
            sparsities: vec![],
            skip_positions: skip,
            ..Default::default()
        };
        measure(&ck, &smp, &opts, &|_| {}).unwrap()
    };
    let (plain, skipped) = (run(0), run(1));
    // Independently: layer 0 dense and quantised on each sample's embedding.
    let cfg = &ck.config;
    let rope = Rope::new(32, cfg.head_dim, cfg.rope_theta);
    let lw = &ck.weights.layers[0];
    let qw = quantised(lw, 4);
    for (i, t) in smp.iter().enumerate() {
        let x = embed(&ck, t, "t").unwrap();
        let yd = decoder_layer(cfg, lw, &rope, x.view(), false).0;
        let yq = decoder_layer(cfg, &qw, &rope, x.view(), false).0;
        // The first token's output is massive next to the others'.
        let peak = |r: usize| yd.row(r).iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let others = (1..32).map(peak).fold(0.0f32, f32::max);
        assert!(peak(0) > 10.0 * others, "{} vs {others}", peak(0));
        // It dominates the plain MSE ...
        let r = row_sq(&yd, &yq);
        let total: f64 = r.iter().sum();
        assert!(r[0] > 0.9 * total, "share of position 0: {}", r[0] / total);
        let want_plain = total / (32 * yd.ncols()) as f64;
        let want_skip = mse_from(&yd, &yq, 1);
        let (got_plain, got_skip) = (quant_row(&plain, 0, 4, i), quant_row(&skipped, 0, 4, i));
        assert!(
            (got_plain - want_plain).abs() <= 1e-9 * want_plain,
            "{got_plain} vs {want_plain}"
        );
        // ... and skipping position 0 leaves the error of the other 31 positions.
        assert!(
            (got_skip - want_skip).abs() <= 1e-9 * want_skip,
            "{got_skip} vs {want_skip}"
        );
        assert!(got_skip < 0.2 * got_plain);
    }
    // With all positions, the sink makes layer 0 the most quantisation-sensitive layer.
    let m = plain.quant_layer_means(layers, 4);
    assert!((1..layers).all(|j| m[0] > 5.0 * m[j]), "{m:?}");
}

#[test]
fn skip_positions_must_leave_a_position() {
    let (ck, _) = synth(SynthShape::Tiny, 3);
    let opts = |k| SensitivityOptions {
        bits: vec![4],
        sparsities: vec![],
        skip_positions: k,
        ..Default::default()
    };
    let e = measure(&ck, &samples(), &opts(32), &|_| {}).unwrap_err();
    let m = e.to_string();
    assert!(
        e.is_input() && m.contains("--skip-positions") && m.contains("0..=31"),
        "{m}"
    );
    let s = measure(&ck, &samples(), &opts(31), &|_| {}).unwrap();
    assert!(s.quant.iter().all(|r| r.mse.is_finite() && r.mse > 0.0));
}

/// For the last layer nothing runs after it: `final` is its output MSE after the final
/// RMSNorm, positions from K on (computed here with an f64 plain-loop RMSNorm).
#[test]
fn final_of_the_last_layer_is_its_output_through_the_final_norm() {
    let (ck, _) = synth(SynthShape::Tiny, 9);
    let cfg = &ck.config;
    let smp = samples();
    let k = 2;
    let opts = SensitivityOptions {
        bits: vec![3],
        sparsities: vec![0.3],
        method: PruneMethod::Magnitude,
        skip_positions: k,
        measure: MeasureAt::Final,
    };
    let s = measure(&ck, &smp, &opts, &|_| {}).unwrap();
    let last = cfg.num_hidden_layers - 1;
    let rope = Rope::new(32, cfg.head_dim, cfg.rope_theta);
    let lw = &ck.weights.layers[last];
    let qw = quantised(lw, 3);
    let mut pw = lw.clone();
    for l in Linear::ALL {
        *pw.linear_mut(l) = prune(
            lw.linear(l).view(),
            None,
            PruneMethod::Magnitude,
            0.3,
            SparsityPattern::Unstructured,
        )
        .unwrap()
        .weights;
    }
    let (w, eps) = (&ck.weights.norm, cfg.rms_norm_eps);
    for (i, t) in smp.iter().enumerate() {
        let mut x = embed(&ck, t, "t").unwrap();
        for l in &ck.weights.layers[..last] {
            x = decoder_layer(cfg, l, &rope, x.view(), false).0;
        }
        let fd = naive_rms_norm(&decoder_layer(cfg, lw, &rope, x.view(), false).0, w, eps);
        let fq = naive_rms_norm(&decoder_layer(cfg, &qw, &rope, x.view(), false).0, w, eps);
        let fp = naive_rms_norm(&decoder_layer(cfg, &pw, &rope, x.view(), false).0, w, eps);
        let want_q = mse_from(&fd, &fq, k);
        let want_p = mse_from(&fd, &fp, k);
        let got_q = quant_row(&s, last, 3, i);
        let got_p = s
            .pruning
            .iter()
            .find(|r| r.layer == last && r.sample == i)
            .unwrap()
            .mse;
        assert!(
            (got_q - want_q).abs() <= 1e-5 * want_q,
            "{got_q} vs {want_q}"
        );
        assert!(
            (got_p - want_p).abs() <= 1e-5 * want_p,
            "{got_p} vs {want_p}"
        );
    }
}

/// For a middle layer, `final` is the error of a whole forward pass of the checkpoint with
/// only that layer compressed (the crate's full forward, run per sample).
#[test]
fn final_matches_a_full_forward_with_only_that_layer_compressed() {
    let (ck, _) = synth(SynthShape::Tiny, 10);
    let smp = samples();
    let opts = SensitivityOptions {
        bits: vec![4],
        sparsities: vec![],
        skip_positions: 1,
        measure: MeasureAt::Final,
        ..Default::default()
    };
    let s = measure(&ck, &smp, &opts, &|_| {}).unwrap();
    for j in [0, 3] {
        let mut cq = ck.clone();
        cq.weights.layers[j] = quantised(&ck.weights.layers[j], 4);
        for (i, t) in smp.iter().enumerate() {
            let a = forward_hidden(&ck, t).unwrap();
            let b = forward_hidden(&cq, t).unwrap();
            let want = mse_from(&a, &b, 1);
            let got = quant_row(&s, j, 4, i);
            assert!(
                (got - want).abs() <= 1e-6 * want,
                "layer {j}: {got} vs {want}"
            );
        }
    }
}

#[test]
fn final_is_zero_without_compression_and_positive_with_it() {
    let (ck, _) = synth(SynthShape::Tiny, 11);
    for skip in [0, 3] {
        let opts = SensitivityOptions {
            bits: vec![8, 16],
            sparsities: vec![0.0, 0.5],
            method: PruneMethod::SparseGpt,
            skip_positions: skip,
            measure: MeasureAt::Final,
        };
        let s = measure(&ck, &samples(), &opts, &|_| {}).unwrap();
        assert_eq!(s.pruning.len(), 8 * 2 * 4);
        for r in &s.pruning {
            if r.sparsity == 0.0 {
                assert_eq!(r.mse, 0.0, "{r:?}");
            } else {
                assert!(r.mse > 0.0 && r.mse.is_finite(), "{r:?}");
            }
        }
        assert!(s.quant.iter().all(|r| r.mse > 0.0 && r.mse.is_finite()));
        // 16-bit codes perturb the output far less than 8-bit ones.
        for j in 0..8 {
            let (m8, m16) = (s.quant_layer_means(8, 8)[j], s.quant_layer_means(8, 16)[j]);
            assert!(m16 * 1000.0 < m8, "layer {j}: {m16} vs {m8}");
        }
    }
}

#[test]
fn an_overflowing_layer_is_an_error_not_a_nan_row() {
    // Layer 1's down projection at 1e38 everywhere: its output (a sum of 176 such
    // products) overflows f32, so the MSE against it is not finite.
    let (mut ck, _) = synth(SynthShape::Tiny, 3);
    ck.weights.layers[1].down.fill(1e38);
    let opts = SensitivityOptions {
        bits: vec![],
        sparsities: vec![0.5],
        method: PruneMethod::Magnitude,
        ..Default::default()
    };
    let e = measure(&ck, &samples()[..1], &opts, &|_| {})
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("sensitivity of layer 1 at sparsity 0.5, calibration sample 0: the MSE is ")
            && e.contains("overflowed f32"),
        "{e}"
    );
}
