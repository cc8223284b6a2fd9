//! Properties of the sensitivity measurement on synthetic checkpoints.

use super::*;
use crate::llm::forward::Rope;
use crate::llm::forward::{decoder_layer, embed};
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
