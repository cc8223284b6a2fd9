//! The engine's forward against `llm::forward` (the evaluation forward), in f32.

use super::fixtures::{randomise, sample, small_config, tuner};
use crate::llm::checkpoint::Checkpoint;
use crate::llm::forward::logits;
use crate::llm::synth::{SynthShape, synth, synth_config};
use crate::model::Linear;
use crate::tune::{LoraConfig, Real};
use ndarray::Array2;

/// `max |a - b| / max |b|`.
fn rel(a: &Array2<f32>, b: &Array2<f32>) -> f64 {
    let d = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from((x - y).abs()))
        .fold(0.0, f64::max);
    d / b.iter().map(|v| f64::from(v.abs())).fold(1e-30, f64::max)
}

fn no_dropout() -> LoraConfig {
    LoraConfig {
        dropout: 0.0,
        ..LoraConfig::default()
    }
}

#[test]
fn base_forward_matches_llm_forward() {
    for ck in [
        synth(SynthShape::Tiny, 2).0,
        synth_config(small_config(true), 4).unwrap().0,
    ] {
        let n = ck.config.num_hidden_layers;
        let t = tuner::<f32>(&ck, None, no_dropout(), &[], vec![n - 1], false);
        let ids = sample(40, ck.config.vocab_size, 1);
        let want = logits(&ck, &ids[..40]).unwrap();
        let got = t.exit_logits(&ids, 0);
        let e = rel(&got, &want);
        assert!(e < 1e-5, "relative error {e:e}");
        // The log-probabilities are the log-softmax of those logits.
        let lp = t.exit_log_probs(&ids).unwrap();
        assert_eq!(lp.len(), 1);
        for (row, z) in lp[0].outer_iter().zip(want.outer_iter()) {
            let m = z.iter().fold(f64::MIN, |m, &v| m.max(f64::from(v)));
            let lse = m + z
                .iter()
                .map(|&v| (f64::from(v) - m).exp())
                .sum::<f64>()
                .ln();
            for (&p, &v) in row.iter().zip(z) {
                assert!((f64::from(p) - (f64::from(v) - lse)).abs() < 1e-4);
            }
        }
    }
}

/// The base with `W + (alpha / r) B A` merged into every adapted linear.
fn merged<T: Real>(ck: &Checkpoint, t: &crate::tune::Tuner<T>) -> Checkpoint {
    let mut m = ck.clone();
    let s = t.lora.scale();
    for (j, la) in t.adapters.layers.iter().enumerate() {
        for l in Linear::ALL {
            if let Some(lo) = la.get(l) {
                let f = |a: &Array2<T>| a.mapv(|v| <T as Real>::to_f64(v));
                let delta = f(&lo.b).dot(&f(&lo.a)) * s;
                let w = m.weights.layers[j].linear_mut(l);
                *w = (w.mapv(f64::from) + delta).mapv(|v| v as f32);
            }
        }
    }
    m
}

#[test]
fn lora_forward_matches_merged_weights() {
    let (ck, _) = synth(SynthShape::Tiny, 3);
    let mut t = tuner::<f32>(&ck, None, no_dropout(), &[1, 4, 7], vec![3, 7], false);
    randomise(&mut t.adapters, 8, 0.05);
    let ids = sample(24, 256, 2);
    let m = merged(&ck, &t);
    let want = logits(&m, &ids[..24]).unwrap();
    let e = rel(&t.exit_logits(&ids, 1), &want);
    assert!(e < 1e-5, "relative error {e:e}");
    // And the change is real: the unmerged base differs by far more.
    let base = logits(&ck, &ids[..24]).unwrap();
    assert!(rel(&base, &want) > 1e-3);
}
