//! `to_trace` on a hand-made recording (every field derived by hand) and on recordings
//! replayed from analytic Traces (the two byte conventions agree).

use super::*;
use crate::workload::{BOperand, GemmOp, Method, Workload, saved::decoder_saved};
use std::collections::BTreeMap;
use std::path::Path;

#[allow(clippy::too_many_arguments)]
fn g(name: &str, m: u64, k: u64, n: u64, batch: u64, w: u32, a: u32, sp: f64, act: bool) -> GemmOp {
    GemmOp {
        name: name.into(),
        m,
        k,
        n,
        batch,
        w_bits: w,
        a_bits: a,
        sparsity: sp,
        b_operand: if act {
            BOperand::Activation
        } else {
            BOperand::Weight
        },
        per_sequence: act,
        a_on_chip: false,
        c_on_chip: false,
    }
}

fn shape(layers: u32) -> ModelShape {
    ModelShape {
        name: "hand".into(),
        layers,
        hidden: 8,
        ffn: 16,
        heads: 2,
        kv_heads: 1,
        vocab: 32,
        tied_embeddings: false,
        qkv_bias: false,
    }
}

fn lin(inp: u64, out: u64, w_bits: u32, sparsity: f64) -> LinearWeights {
    LinearWeights {
        inp,
        out,
        w_bits,
        sparsity,
    }
}

/// q 8->8, k 8->4, v 8->4, o 8->8, gate 8->16, up 8->16, down 16->8.
fn layer(w_bits: u32, a_bits: u32, q_sp: f64, down_sp: f64, rank: u64) -> LayerWeights {
    LayerWeights {
        policy: LayerPolicy {
            w_bits,
            a_bits,
            kv_bits: a_bits,
            sparsity: 0.0,
        },
        linears: [
            lin(8, 8, w_bits, q_sp),
            lin(8, 4, w_bits, 0.0),
            lin(8, 4, w_bits, 0.0),
            lin(8, 8, w_bits, 0.0),
            lin(8, 16, w_bits, 0.0),
            lin(8, 16, w_bits, 0.0),
            lin(16, 8, w_bits, down_sp),
        ],
        lora_rank: rank,
        lora_targets: if rank > 0 {
            vec![Linear::Q, Linear::V]
        } else {
            vec![]
        },
    }
}

fn meta() -> TraceMeta {
    TraceMeta {
        workload: "hand".into(),
        model: "hand".into(),
        method: "edge-llm".into(),
        seq_len: 4,
        sequences_per_step: 8,
        trainable_params: 0,
    }
}

/// Two decoder layers (layer 0: 4-bit weights, 8-bit activations and K/V, q 50% and down
/// 25% sparse; layer 1: 8-bit dense weights, 16-bit activations), LoRA rank 2 on q and v,
/// T = 4 tokens, an exit head after layer 1 (trained), backprop through both layers.
fn hand_recorder() -> Recorder {
    let mut r = Recorder::new(true);
    r.begin("embed.fwd", EntryKind::Embedding, 0, Pass::Fwd);
    for (j, w, a) in [(0u32, 4u32, 8u32), (1, 8, 16)] {
        r.begin(format!("L{j}.fwd"), EntryKind::Decoder, j, Pass::Fwd);
        let sp = if j == 0 { 0.5 } else { 0.0 };
        r.gemm(g("q", 4, 8, 8, 1, w, a, sp, false));
        r.gemm(g("lora_a_q", 4, 8, 2, 1, 16, 16, 0.0, false));
        r.gemm(g("lora_b_q", 4, 2, 8, 1, 16, 16, 0.0, false));
        r.gemm(g("attn_score", 4, 4, 4, 2, a, 16, 0.0, true));
        for (name, el) in [
            ("x", 32),
            ("rstd_attn", 4),
            ("q", 32),
            ("k", 16),
            ("v", 16),
            ("probs", 32),
            ("h", 32),
            ("rstd_ffn", 4),
            ("gate", 64),
            ("up", 64),
            ("x_norm", 32),
            ("lora_mid", 8),
            ("lora_mid", 8),
        ] {
            // Host bytes (f32) are not what the Trace counts.
            r.save(name, el, 4 * el);
        }
    }
    r.begin("exit0.fwd", EntryKind::Head, 1, Pass::Fwd);
    r.gemm(g("lm_head", 4, 8, 32, 1, 16, 16, 0.0, false));
    for (name, el) in [
        ("head_in", 32),
        ("rstd_head", 4),
        ("logits", 128),
        ("head_norm", 32),
    ] {
        r.save(name, el, 4 * el);
    }
    r.begin("exit0.bwd", EntryKind::Head, 1, Pass::Bwd);
    r.gemm(g("dgrad_lm_head", 4, 32, 8, 1, 16, 16, 0.0, false));
    r.gemm(g("wgrad_lm_head", 32, 4, 8, 1, 16, 16, 0.0, true));
    r.begin("L1.bwd", EntryKind::Decoder, 1, Pass::Bwd);
    r.gemm(g("dgrad_q", 4, 8, 8, 1, 8, 16, 0.0, false));
    r.gemm(g("lora_dgrad_b_q", 4, 8, 2, 1, 16, 16, 0.0, false));
    r.gemm(g("lora_wgrad_b_q", 8, 4, 2, 1, 16, 16, 0.0, true));
    r.gemm(g("lora_wgrad_a_q", 2, 4, 8, 1, 16, 16, 0.0, true));
    r.gemm(g("lora_dgrad_a_q", 4, 2, 8, 1, 16, 16, 0.0, false));
    // The bottom of the window: no input gradient (no dgrad_q, no lora_dgrad_a_q).
    r.begin("L0.bwd", EntryKind::Decoder, 0, Pass::Bwd);
    r.gemm(g("lora_dgrad_b_q", 4, 8, 2, 1, 16, 16, 0.0, false));
    r.gemm(g("lora_wgrad_b_q", 8, 4, 2, 1, 16, 16, 0.0, true));
    r.gemm(g("lora_wgrad_a_q", 2, 4, 8, 1, 8, 16, 0.0, true));
    r
}

fn hand_weights() -> TraceWeights {
    TraceWeights {
        shape: shape(2),
        layers: vec![layer(4, 8, 0.5, 0.25, 2), layer(8, 16, 0.0, 0.0, 2)],
        heads: vec![
            HeadWeights {
                layer: 0,
                trainable: true,
            },
            HeadWeights {
                layer: 1,
                trainable: true,
            },
        ],
        tied_embeddings: false,
    }
}

fn classes(v: &[(&str, f64)]) -> BTreeMap<String, f64> {
    v.iter().map(|(k, x)| (k.to_string(), *x)).collect()
}

#[test]
fn hand_made_recording_every_field_by_hand() {
    let rec = hand_recorder();
    let t = to_trace(&rec, &hand_weights(), &meta());
    assert_eq!(
        (t.workload.as_str(), t.method.as_str(), t.seq_len),
        ("hand", "edge-llm", 4)
    );
    assert_eq!((t.sequences_per_step, t.micro_batch_size), (8, 1));
    let labels: Vec<&str> = t.entries.iter().map(|e| e.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "embed.fwd",
            "L0.fwd",
            "L1.fwd",
            "exit0.fwd",
            "exit0.bwd",
            "L1.bwd",
            "L0.bwd"
        ]
    );
    for (e, c) in t.entries.iter().zip(&rec.columns) {
        assert_eq!(e.gemms, c.gemms, "{}", e.label);
    }
    // (weight, act_in, act_out, saved, checkpoint, grad, trainable, optimizer).
    let bytes = |i: usize| {
        let e = &t.entries[i];
        (
            e.weight_bytes,
            e.act_in_bytes,
            e.act_out_bytes,
            e.saved_bytes,
            e.checkpoint_bytes,
            e.grad_bytes,
            e.trainable_bytes,
            e.optimizer_bytes,
        )
    };
    // Embedding: 4 int32 ids (16 B) + 4 rows of 8 16-bit values (64 B) in, 64 B out.
    assert_eq!(bytes(0), (0, 80, 64, 0, 0, 0, 0, 0));
    // Layer 0 weights at 4 bits: q 64 weights, 32 kept = 16 B + 8 fp16 scales 16 B +
    // bitmap 8 B (CSR: 32 * 3 bits = 12 B + 9 * 4 B = 48 B) = 40; k, v 32 weights:
    // 16 + 8 = 24 each; o 32 + 16 = 48; gate, up 64 + 32 = 96 each; down 128 weights,
    // 96 kept = 48 B + 16 B scales + bitmap 16 B (CSR 96 * 4 bits = 48 + 36) = 80.
    // Linears 408 + norms 2 * 8 * 2 = 32 + adapters (q: 2 * 16 = 32, v: 2 * 12 = 24
    // parameters) 56 * 2 = 112 -> 552.
    // Saved (16-bit unless said): x 64, rstd_attn 4 * 4 = 16, q 64, k and v 16 values
    // at 8 bits + 4 fp16 scales = 24 each, probs 64, h 64, rstd_ffn 16, gate 128, up 128,
    // x_norm 32 + 8 = 40, two lora_mid 16 each -> 664. Checkpoint: the 64 B input.
    // Trainable: the 56 adapter parameters, 2 B and 12 B each.
    assert_eq!(bytes(1), (552, 64, 64, 664, 64, 0, 112, 672));
    // Layer 1 at 8 bits dense: q 64 + 16, k, v 32 + 8, o 80, gate, up 128 + 32, down
    // 128 + 16 = 704 + 32 + 112 = 848. Saved: k, v 32 B each, x_norm 64 B (16-bit, no
    // scales): 664 - 24 - 24 - 40 + 32 + 32 + 64 = 704.
    assert_eq!(bytes(2), (848, 64, 64, 704, 64, 0, 112, 672));
    // Exit head: (32 * 8 + 8) * 2 = 528 B; saves head_in 64, rstd_head 16, fp32 logits
    // 4 * 32 * 4 = 512, head_norm (16-bit) 64 = 656; trained: 264 parameters.
    assert_eq!(bytes(3), (528, 64, 4, 656, 64, 0, 528, 3_168));
    assert_eq!(bytes(4), (528, 4, 64, 0, 0, 1_056, 0, 0));
    assert_eq!(bytes(5), (848, 64, 64, 0, 0, 224, 0, 0));
    // The bottom column outputs no gradient.
    assert_eq!(bytes(6), (552, 64, 0, 0, 0, 224, 0, 0));

    let vec_names = |i: usize| -> Vec<(String, u64, f64)> {
        t.entries[i]
            .vector_ops
            .iter()
            .map(|v| (v.name.clone(), v.elements, v.ops_per_element))
            .collect()
    };
    let v = |n: &str, e: u64, o: f64| (n.to_string(), e, o);
    assert_eq!(vec_names(0), [v("embed_gather", 32, 1.0)]);
    // s * h = 32, s * (h + kv_dim) = 48, heads * s * s = 32, s * ffn = 64.
    let fwd = [
        v("lora_add_q", 32, 2.0),
        v("rmsnorm_attn", 32, 4.0),
        v("rope", 48, 3.0),
        v("softmax", 32, 5.0),
        v("residual_attn", 32, 1.0),
        v("rmsnorm_ffn", 32, 4.0),
        v("silu_mul", 64, 5.0),
        v("residual_ffn", 32, 1.0),
    ];
    assert_eq!(vec_names(1), fwd);
    assert_eq!(
        vec_names(3),
        [v("final_rmsnorm", 32, 4.0), v("cross_entropy", 128, 5.0)]
    );
    assert_eq!(
        vec_names(4),
        [
            v("cross_entropy_bwd", 128, 2.0),
            v("final_rmsnorm_bwd", 32, 8.0)
        ]
    );
    let bwd_bottom = [
        v("residual_ffn_grad", 32, 1.0),
        v("silu_mul_bwd", 64, 8.0),
        v("rmsnorm_ffn_bwd", 32, 8.0),
        v("residual_attn_grad", 32, 1.0),
        v("softmax_bwd", 32, 4.0),
        v("rope_bwd", 48, 3.0),
    ];
    assert_eq!(vec_names(6), bwd_bottom);
    let mut bwd = bwd_bottom.to_vec();
    bwd.push(v("lora_grad_add_q", 32, 1.0));
    bwd.push(v("rmsnorm_attn_bwd", 32, 8.0));
    assert_eq!(vec_names(5), bwd);

    // FLOPs: q 2 * 4 * 8 * 8 = 512; each LoRA product 2 * 64 = 128; attention scores
    // 2 * 4 * 4 * 4 * 2 = 256; LM head 2 * 4 * 8 * 32 = 2,048. Vector: forward layer
    // 64 + 128 + 144 + 160 + 32 + 128 + 320 + 32 = 1,008; head 128 + 640 = 768 and
    // 256 + 256 = 512; backward 32 + 512 + 256 + 32 + 128 + 144 = 1,104 (+ 32 + 256).
    let f = |i: usize| t.entries[i].flops_by_precision.clone();
    assert_eq!(f(0), classes(&[("vector", 32.0)]));
    assert_eq!(
        f(1),
        classes(&[
            ("w4a8", 512.0),
            ("w16a16", 256.0),
            ("w8a16", 256.0),
            ("vector", 1008.0)
        ])
    );
    assert_eq!(
        f(2),
        classes(&[("w8a16", 512.0), ("w16a16", 512.0), ("vector", 1008.0)])
    );
    assert_eq!(f(3), classes(&[("w16a16", 2048.0), ("vector", 768.0)]));
    assert_eq!(f(4), classes(&[("w16a16", 4096.0), ("vector", 512.0)]));
    assert_eq!(
        f(5),
        classes(&[("w8a16", 512.0), ("w16a16", 512.0), ("vector", 1392.0)])
    );
    assert_eq!(
        f(6),
        classes(&[("w16a16", 256.0), ("w8a16", 128.0), ("vector", 1104.0)])
    );

    // Idle: the 32 x 8 embedding table (512 B), the frozen final head nobody read (528 B)
    // and the trained copy of the exit after layer 0 (528 B).
    assert_eq!(t.idle_weight_bytes, 512 + 528 + 528);
    assert_eq!(t.trainable_bytes(), 112 + 112 + 528);
    assert_eq!(t.grad_bytes(), 224 + 224 + 1_056);
    t.validate("hand").unwrap();
}

#[test]
fn idle_weights_of_layers_not_run_and_of_tied_heads() {
    let rec = hand_recorder();
    // A third layer (8-bit dense, no adapters) beyond the exit never runs: 704 + 32 B.
    let mut w = hand_weights();
    w.shape = shape(3);
    w.layers.push(layer(8, 16, 0.0, 0.0, 0));
    assert_eq!(to_trace(&rec, &w, &meta()).idle_weight_bytes, 1_568 + 736);
    // Untrained exits share the frozen head, which the exit column reads: only the table
    // is idle, and nothing is when the head is the table (tied).
    let mut w = hand_weights();
    for h in &mut w.heads {
        h.trainable = false;
    }
    let t = to_trace(&rec, &w, &meta());
    assert_eq!(t.idle_weight_bytes, 512);
    assert_eq!(t.entries[3].trainable_bytes, 0);
    assert_eq!(t.entries[4].grad_bytes, 0);
    w.tied_embeddings = true;
    assert_eq!(to_trace(&rec, &w, &meta()).idle_weight_bytes, 0);
    // Tied, but the trained exit copy is read: the frozen head's norm (16 B) and the
    // table are idle, plus the unread trained copy.
    let mut w = hand_weights();
    w.tied_embeddings = true;
    assert_eq!(
        to_trace(&rec, &w, &meta()).idle_weight_bytes,
        16 + 512 + 528
    );
}

/// Replays an analytic Trace through a Recorder (its GEMMs; saved tensors by element
/// count from `workload::saved`) and converts it back.
fn replay(name: &str) -> (Trace, Trace, ModelShape) {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("workloads")
        .join(name);
    let w = Workload::from_file(&p).unwrap();
    let a = w.trace().unwrap();
    let m = w.model.clone();
    let s = w.batch.seq_len;
    let (lora, heads): (_, Vec<u32>) = match &w.method {
        Method::Lora(l) => (l.clone(), vec![m.layers - 1]),
        Method::EdgeLlm(el) => {
            let mut h = el.exits.clone();
            if !h.contains(&(m.layers - 1)) {
                h.push(m.layers - 1);
            }
            (el.lora.clone(), h)
        }
        other => panic!("{other:?}"),
    };
    let mut rec = Recorder::new(true);
    for e in &a.entries {
        rec.begin(e.label.clone(), e.kind, e.layer, e.pass);
        for g in &e.gemms {
            rec.gemm(g.clone());
        }
        if e.saved_bytes == 0 {
            continue;
        }
        if e.kind == EntryKind::Decoder {
            let lp = w.policy.layers[e.layer as usize];
            let ts = decoder_saved(
                &m,
                s,
                &lp,
                w.batch.attention,
                &lora.targets,
                &lora.targets,
                lora.rank,
            );
            for t in ts {
                rec.save(t.name, t.elements, 0);
            }
        } else {
            rec.save("head_in", s * m.hidden, 0);
            rec.save("rstd_head", s, 0);
            rec.save("logits", s * m.vocab, 0);
        }
    }
    let backprop = |j: u32| {
        a.entries
            .iter()
            .any(|e| e.pass == Pass::Bwd && e.kind == EntryKind::Decoder && e.layer == j)
    };
    let weights = TraceWeights {
        shape: m.clone(),
        layers: (0..m.layers)
            .map(|j| {
                let lp = w.policy.layers[j as usize];
                let mut linears = [lin(0, 0, 0, 0.0); 7];
                for (k, l) in Linear::ALL.iter().enumerate() {
                    let (i, o) = l.dims(&m);
                    linears[k] = lin(i, o, lp.w_bits, lp.sparsity);
                }
                // Adapters: the backprop window's, and (Edge-LLM) every other exit's window,
                // kept in the forward (see `workload::build`).
                let on = backprop(j)
                    || match &w.method {
                        Method::EdgeLlm(el) => el
                            .exits
                            .iter()
                            .any(|&e| (e + 1).saturating_sub(el.window) <= j && j <= e),
                        _ => false,
                    };
                LayerWeights {
                    policy: lp,
                    linears,
                    lora_rank: if on { lora.rank } else { 0 },
                    lora_targets: if on { lora.targets.clone() } else { vec![] },
                }
            })
            .collect(),
        heads: heads
            .iter()
            .map(|&layer| HeadWeights {
                layer,
                trainable: false,
            })
            .collect(),
        tied_embeddings: false,
    };
    let meta = TraceMeta {
        workload: a.workload.clone(),
        model: a.model.clone(),
        method: a.method.clone(),
        seq_len: s,
        sequences_per_step: a.sequences_per_step,
        trainable_params: 0,
    };
    (a, to_trace(&rec, &weights, &meta), m)
}

#[test]
fn analytic_traces_replayed_through_a_recorder_come_back_equal() {
    let (a, t, _) = replay("tiny_lora.toml");
    assert_eq!(t.entries, a.entries);
    assert_eq!(t.idle_weight_bytes, a.idle_weight_bytes);
    // The bottom column (L0.bwd) outputs no gradient in both.
    assert_eq!(t.entries.last().unwrap().act_out_bytes, 0);

    let (a, t, m) = replay("tiny_edge_llm.toml");
    assert_eq!(t.entries, a.entries);
    // The analytic model stores a head per exit; the engine's untrained exits share the
    // frozen final head: 4 exits -> 3 heads fewer.
    let head = (m.vocab * m.hidden + m.hidden) * 2;
    assert_eq!(a.idle_weight_bytes, t.idle_weight_bytes + 3 * head);
}
