//! What the recorder sees: no frozen weight gradient, no input gradient below the window,
//! columns in execution order, every saved tensor freed.

use super::fixtures::{compressed_checkpoint, sample, small_lora, tuner};
use crate::tune::{Recorder, StepPlan};
use crate::workload::Pass;

#[test]
fn frozen_weights_get_no_gradient() {
    let (ck, policy) = compressed_checkpoint(2);
    for train_heads in [false, true] {
        let t = tuner::<f64>(
            &ck,
            Some(&policy),
            small_lora(),
            &[0, 1, 2],
            vec![1, 2],
            train_heads,
        );
        let mut g = t.adapters.zeros_like();
        // Only adapters and (when trained) exit heads: no base tensor has a gradient slot.
        for (name, _) in g.named() {
            let lora = name.starts_with("base_model.model.model.layers.")
                && (name.ends_with(".lora_A.weight") || name.ends_with(".lora_B.weight"));
            let exit = train_heads && name.starts_with("exits.");
            assert!(lora || exit, "{name}");
        }
        assert_eq!(g.named().len(), 3 * 7 * 2 + if train_heads { 4 } else { 0 });
        let plan = StepPlan {
            exit: 1,
            backprop_from: 1,
            forward_to: 2,
        };
        let mut rec = Recorder::new(true);
        t.loss_and_grad(&sample(6, 32, 1), &plan, Some(3), 1.0, &mut g, &mut rec)
            .unwrap();
        let labels: Vec<&str> = rec.columns.iter().map(|c| c.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "embed.fwd",
                "L0.fwd",
                "L1.fwd",
                "L2.fwd",
                "exit2.fwd",
                "exit2.bwd",
                "L2.bwd",
                "L1.bwd"
            ]
        );
        for c in rec.columns.iter().filter(|c| c.pass == Pass::Bwd) {
            for g in &c.gemms {
                assert!(
                    !g.name.starts_with("wgrad_") || (train_heads && g.name == "wgrad_lm_head"),
                    "{}: {}",
                    c.label,
                    g.name
                );
            }
        }
        let names = |label: &str| -> Vec<String> {
            let c = rec.columns.iter().find(|c| c.label == label).unwrap();
            c.gemms.iter().map(|g| g.name.clone()).collect()
        };
        let (top, bottom) = (names("L2.bwd"), names("L1.bwd"));
        for n in ["q", "k", "v"] {
            for p in ["dgrad_", "lora_dgrad_a_"] {
                assert!(top.contains(&format!("{p}{n}")), "{p}{n}");
                assert!(
                    !bottom.contains(&format!("{p}{n}")),
                    "{p}{n} in the bottom layer"
                );
            }
            assert!(bottom.contains(&format!("lora_wgrad_a_{n}")));
        }
        assert!(bottom.contains(&"dgrad_o".to_string()));
        assert_eq!(top.len(), 7 * 5 + 4);
        assert_eq!(bottom.len(), 7 * 5 + 4 - 6);
        assert_eq!(rec.live_saved_host_bytes(), 0);
        assert!(rec.peak_saved_host_bytes() > 0);
        // Layer 0 (below the window) and layer 2 forward-only keep nothing; L1 and L2
        // keep 14 tensors + 7 adapter intermediates, the head 3.
        let saved = |label: &str| {
            rec.columns
                .iter()
                .find(|c| c.label == label)
                .unwrap()
                .saved
                .len()
        };
        assert_eq!(saved("L0.fwd"), 0);
        assert_eq!(saved("L1.fwd"), 21);
        assert_eq!(saved("exit2.fwd"), 3);
    }
}

#[test]
fn recorded_shapes_and_bits_follow_the_layer() {
    let (ck, policy) = compressed_checkpoint(2);
    let t = tuner::<f32>(&ck, Some(&policy), small_lora(), &[0, 1, 2], vec![2], false);
    let mut g = t.adapters.zeros_like();
    let mut rec = Recorder::new(true);
    let plan = StepPlan {
        exit: 0,
        backprop_from: 0,
        forward_to: 2,
    };
    t.loss_and_grad(&sample(6, 32, 1), &plan, None, 1.0, &mut g, &mut rec)
        .unwrap();
    let l1 = rec.columns.iter().find(|c| c.label == "L1.fwd").unwrap();
    let gate = l1.gemms.iter().find(|g| g.name == "gate").unwrap();
    assert_eq!((gate.m, gate.k, gate.n), (6, 16, 24));
    // Layer 1 has a_bits 8 (fixtures); 4-bit weights, 30% pruned (measured).
    assert_eq!((gate.w_bits, gate.a_bits), (4, 8));
    // The pruned 30% (115 of 384, rounded down); 4-bit rounding may zero a few more.
    assert!((0.29..0.5).contains(&gate.sparsity), "{}", gate.sparsity);
    let score = l1.gemms.iter().find(|g| g.name == "attn_score").unwrap();
    assert_eq!((score.m, score.k, score.n, score.batch), (6, 4, 6, 4));
    let b1 = rec.columns.iter().find(|c| c.label == "L1.bwd").unwrap();
    let wa = b1
        .gemms
        .iter()
        .find(|g| g.name == "lora_wgrad_a_down")
        .unwrap();
    assert_eq!((wa.m, wa.k, wa.n, wa.w_bits), (2, 6, 24, 8));
    let head = rec.columns.iter().find(|c| c.label == "head.bwd").unwrap();
    assert_eq!(head.gemms.len(), 1);
    assert_eq!(
        (head.gemms[0].m, head.gemms[0].k, head.gemms[0].n),
        (6, 32, 16)
    );
}
