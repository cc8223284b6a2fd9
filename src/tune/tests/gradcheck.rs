//! Every trainable gradient entry against central finite differences of the loss, in f64
//! on a compressed (pruned + 4-bit) base, with non-zero adapters, dropout on (fixed seed:
//! the loss is a deterministic function of the parameters) and several plans.
//!
//! Step `h = 1e-5`: the truncation error of a central difference is `h^2 |L'''| / 6`
//! (about 1e-10 here) and the rounding error about `eps |L| / h` = 4e-11, both far below
//! the bound. Error measure per tensor: `max_i |g_i - fd_i| / max(max_i |g_i|,
//! max_i |fd_i|, 1e-8)`; the test requires it below 1e-6 for every tensor.

use super::fixtures::{compressed_checkpoint, randomise, sample, small_lora, tuner};
use crate::tune::{Recorder, StepPlan, Tuner};

const H: f64 = 1e-5;
const BOUND: f64 = 1e-6;

fn loss(t: &Tuner<f64>, ids: &[u32], plan: &StepPlan, seed: Option<u64>) -> f64 {
    let mut g = t.adapters.zeros_like();
    t.loss_and_grad(ids, plan, seed, 1.0, &mut g, &mut Recorder::new(false))
        .unwrap()
}

/// Checks every entry of every trainable tensor; entries of layers below the window
/// (whose true gradient is not zero but is by design not computed) must get exactly
/// zero. Returns the worst per-tensor error.
fn check(t: &mut Tuner<f64>, ids: &[u32], plan: &StepPlan, seed: Option<u64>) -> f64 {
    let mut grads = t.adapters.zeros_like();
    // A scale other than 1 checks that it multiplies every gradient.
    let scale = 0.5;
    t.loss_and_grad(
        ids,
        plan,
        seed,
        scale,
        &mut grads,
        &mut Recorder::new(false),
    )
    .unwrap();
    let below = |name: &str| {
        (0..plan.backprop_from)
            .any(|j| name.starts_with(&format!("base_model.model.model.layers.{j}.")))
    };
    let g: Vec<(String, Vec<f64>)> = grads
        .named()
        .into_iter()
        .map(|(n, a)| (n, a.iter().map(|v| v / scale).collect()))
        .collect();
    let mut worst = 0.0f64;
    let mut nonzero = 0;
    for (ti, (name, gt)) in g.iter().enumerate() {
        if below(name) {
            assert!(gt.iter().all(|v| *v == 0.0), "{name}: below the window");
            continue;
        }
        let mut fd = vec![0.0; gt.len()];
        for (e, f) in fd.iter_mut().enumerate() {
            let orig = t.adapters.named_mut()[ti].1.as_slice_mut().unwrap()[e];
            let set = |t: &mut Tuner<f64>, v: f64| {
                t.adapters.named_mut()[ti].1.as_slice_mut().unwrap()[e] = v;
            };
            set(t, orig + H);
            let lp = loss(t, ids, plan, seed);
            set(t, orig - H);
            let lm = loss(t, ids, plan, seed);
            set(t, orig);
            *f = (lp - lm) / (2.0 * H);
        }
        let diff = gt
            .iter()
            .zip(&fd)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        let mag = gt.iter().chain(&fd).map(|v| v.abs()).fold(1e-8, f64::max);
        let err = diff / mag;
        assert!(
            err < BOUND,
            "{name}: error {err:e} (max |diff| {diff:e}, scale {mag:e})"
        );
        worst = worst.max(err);
        nonzero += usize::from(mag > 1e-8);
    }
    assert!(nonzero > 0);
    worst
}

fn run(
    adapter_layers: &[usize],
    exits: Vec<usize>,
    train_heads: bool,
    plan: StepPlan,
    dropout_seed: Option<u64>,
) -> f64 {
    let (ck, policy) = compressed_checkpoint(5);
    let mut t = tuner::<f64>(
        &ck,
        Some(&policy),
        small_lora(),
        adapter_layers,
        exits,
        train_heads,
    );
    randomise(&mut t.adapters, 3, 0.4);
    let ids = sample(6, 32, 17);
    let worst = check(&mut t, &ids, &plan, dropout_seed);
    eprintln!("gradient check {plan:?} dropout {dropout_seed:?}: worst relative error {worst:.2e}");
    worst
}

#[test]
fn gradients_lora_full_depth_with_dropout() {
    let plan = StepPlan {
        exit: 0,
        backprop_from: 0,
        forward_to: 2,
    };
    run(&[0, 1, 2], vec![2], false, plan, Some(7));
}

#[test]
fn gradients_partial_window_without_dropout() {
    let plan = StepPlan {
        exit: 0,
        backprop_from: 1,
        forward_to: 2,
    };
    run(&[1, 2], vec![2], false, plan, None);
}

#[test]
fn gradients_middle_exit_trained_heads_forward_beyond() {
    // Edge-LLM: exit after layer 1, window of one layer, forward to the top (reference),
    // adapters everywhere (layer 0's are below the window: zero gradient), trained heads.
    let plan = StepPlan {
        exit: 0,
        backprop_from: 1,
        forward_to: 2,
    };
    run(&[0, 1, 2], vec![1, 2], true, plan, Some(9));
}

#[test]
fn gradients_middle_exit_full_window_stops_at_exit() {
    let plan = StepPlan {
        exit: 1,
        backprop_from: 0,
        forward_to: 1,
    };
    run(&[0, 1, 2], vec![0, 1, 2], true, plan, Some(21));
}

#[test]
fn gradients_final_exit_of_three_trained_heads() {
    let plan = StepPlan {
        exit: 2,
        backprop_from: 0,
        forward_to: 2,
    };
    run(&[0, 1, 2], vec![0, 1, 2], true, plan, Some(4));
}
