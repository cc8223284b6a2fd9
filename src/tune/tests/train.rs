//! f32 against f64, determinism (also across thread counts), and plain SGD lowering the
//! loss on a fixed batch.

use super::fixtures::{compressed_checkpoint, randomise, sample, small_lora, tuner};
use crate::llm::synth::{SynthShape, synth};
use crate::tune::{Adapters, LoraConfig, Real, Recorder, StepPlan, Tuner};

fn grads<T: Real>(
    t: &Tuner<T>,
    ids: &[u32],
    plan: &StepPlan,
    seed: Option<u64>,
) -> (f64, Adapters<T>) {
    let mut g = t.adapters.zeros_like();
    let l = t
        .loss_and_grad(ids, plan, seed, 1.0, &mut g, &mut Recorder::new(false))
        .unwrap();
    (l, g)
}

#[test]
fn f32_agrees_with_f64() {
    let (ck, policy) = compressed_checkpoint(6);
    let mut t64 = tuner::<f64>(
        &ck,
        Some(&policy),
        small_lora(),
        &[0, 1, 2],
        vec![1, 2],
        true,
    );
    let mut t32 = tuner::<f32>(
        &ck,
        Some(&policy),
        small_lora(),
        &[0, 1, 2],
        vec![1, 2],
        true,
    );
    randomise(&mut t64.adapters, 5, 0.4);
    randomise(&mut t32.adapters, 5, 0.4);
    let ids = sample(12, 32, 3);
    for plan in [
        StepPlan {
            exit: 1,
            backprop_from: 0,
            forward_to: 2,
        },
        StepPlan {
            exit: 0,
            backprop_from: 0,
            forward_to: 2,
        },
    ] {
        let (l64, g64) = grads(&t64, &ids, &plan, Some(2));
        let (l32, g32) = grads(&t32, &ids, &plan, Some(2));
        assert!((l64 - l32).abs() < 1e-5 * l64, "{l64} vs {l32}");
        for ((n, a), (_, b)) in g64.named().iter().zip(g32.named()) {
            let mag = a.iter().map(|v| v.abs()).fold(1e-6, f64::max);
            let d = a
                .iter()
                .zip(b.iter())
                .map(|(x, y)| (x - f64::from(*y)).abs())
                .fold(0.0, f64::max);
            assert!(d / mag < 1e-4, "{n}: {d:e} of {mag:e}");
        }
    }
}

#[test]
fn deterministic_per_seed_and_across_thread_counts() {
    let (ck, _) = synth(SynthShape::Tiny, 9);
    let mut t = tuner::<f32>(
        &ck,
        None,
        LoraConfig::default(),
        &[0, 2, 4, 6, 7],
        vec![3, 7],
        true,
    );
    randomise(&mut t.adapters, 1, 0.05);
    let ids = sample(48, 256, 4);
    let plan = StepPlan {
        exit: 1,
        backprop_from: 2,
        forward_to: 7,
    };
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| grads(&t, &ids, &plan, Some(77)))
    };
    let (l1, g1) = run(1);
    let (l2, g2) = run(2);
    let (l3, g3) = grads(&t, &ids, &plan, Some(77));
    assert_eq!(l1.to_bits(), l2.to_bits());
    assert_eq!(l1.to_bits(), l3.to_bits());
    assert_eq!(g1, g2);
    assert_eq!(g1, g3);
    // Another dropout seed changes the loss; no dropout differs from both.
    let (l4, _) = grads(&t, &ids, &plan, Some(78));
    let (l5, _) = grads(&t, &ids, &plan, None);
    assert_ne!(l1, l4);
    assert_ne!(l1, l5);
}

#[test]
fn sgd_lowers_the_loss_on_a_fixed_batch() {
    let (ck, _) = synth(SynthShape::Tiny, 12);
    let mut t = tuner::<f32>(
        &ck,
        None,
        LoraConfig::default(),
        &[0, 1, 2, 3, 4, 5, 6, 7],
        vec![7],
        false,
    );
    let ids = sample(32, 256, 5);
    let plan = StepPlan {
        exit: 0,
        backprop_from: 0,
        forward_to: 7,
    };
    let eval = |t: &Tuner<f32>| grads(t, &ids, &plan, None).0;
    let start = eval(&t);
    let lr = 0.05f32;
    for step in 0..40 {
        let (_, g) = grads(&t, &ids, &plan, Some(step));
        for ((_, mut p), (_, d)) in t.adapters.named_mut().into_iter().zip(g.named()) {
            p.zip_mut_with(&d, |p, &d| *p -= lr * d);
        }
    }
    let end = eval(&t);
    eprintln!("SGD on a fixed batch: loss {start:.4} -> {end:.4}");
    assert!(end < 0.8 * start, "{start} -> {end}");
}
