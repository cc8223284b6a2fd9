//! Tests of workload parsing and trace building against hand-derived figures.

use super::*;
use crate::model::ModelShape;

fn repo_workload(name: &str) -> Workload {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("workloads")
        .join(name);
    Workload::from_file(&p).unwrap()
}

fn bad(text: &str) -> String {
    Workload::from_toml_str("w.toml", text)
        .unwrap_err()
        .to_string()
}

const TINY: &str = "[model]\npreset = \"tiny\"\n[batch]\nseq_len = 16\nsequences_per_step = 4\n";

#[test]
fn lora_trainable_parameters_of_llama7b() {
    let t = Workload::embedded("llama7b_lora").unwrap().trace().unwrap();
    // 32 * 8 * (4 * (4096 + 4096) + 3 * (4096 + 11008)) = 19,988,480 LoRA parameters.
    let p = 19_988_480u64;
    assert_eq!(t.trainable_bytes(), p * TRAINABLE_BYTES_PER_PARAM);
    assert_eq!(t.optimizer_bytes(), p * OPTIMIZER_BYTES_PER_PARAM);
    assert_eq!(t.grad_bytes(), p * GRAD_BYTES_PER_PARAM);
    // Backprop through all 32 layers + the head.
    let bwd = t.entries.iter().filter(|e| e.pass == Pass::Bwd).count();
    assert_eq!(bwd, 33);
    // Only the embedding table (32000 * 4096 * 2 B) is stored but not streamed.
    assert_eq!(t.idle_weight_bytes, 262_144_000);
}

#[test]
fn lora_stored_weights_at_8_bits_by_hand() {
    let t = Workload::embedded("llama7b_lora").unwrap().trace().unwrap();
    // Per layer: 202,375,168 linear weights at 1 B + fp16 scales for 42,496 output
    // channels (84,992 B) + norms 2 * 4096 * 2 B (16,384) + adapters 624,640 * 2 B.
    let layer = 202_375_168 + 84_992 + 16_384 + 1_249_280;
    // Embedding and LM head 32000 * 4096 * 2 B each, final norm 4096 * 2 B.
    let want = 32 * layer + 2 * 262_144_000 + 8_192;
    assert_eq!(t.stored_weight_bytes(), want);
}

#[test]
fn layer_weight_bytes_at_4_bits_half_sparse_by_hand() {
    let w = repo_workload("llama7b_partial_b4.toml");
    let t = w.trace().unwrap();
    let l0 = t.entries.iter().find(|e| e.label == "L0.fwd").unwrap();
    // 202,375,168 linear weights: values at 4 bits for half of them = N/4 = 50,593,792 B;
    // bitmap N/8 = 25,296,896 B; fp16 scales 2 * 42,496 = 84,992 B; norms 16,384 B.
    assert_eq!(l0.weight_bytes, 50_593_792 + 25_296_896 + 84_992 + 16_384);
    // Layer 0 is below the 8 tuned layers: no adapters, nothing saved.
    assert_eq!(l0.saved_bytes, 0);
    assert_eq!(l0.trainable_bytes, 0);
}

#[test]
fn edge_llm_saves_activations_for_the_window_only() {
    let t = Workload::embedded("llama7b_edge_llm_b5")
        .unwrap()
        .trace()
        .unwrap();
    let saving: Vec<u32> = t
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::Decoder && e.pass == Pass::Fwd && e.saved_bytes > 0)
        .map(|e| e.layer)
        .collect();
    assert_eq!(saving, (24..32).collect::<Vec<_>>());
    let bwd: Vec<u32> = t
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::Decoder && e.pass == Pass::Bwd)
        .map(|e| e.layer)
        .collect();
    assert_eq!(bwd, (24..32).rev().collect::<Vec<_>>());
    // The forward still runs all 32 layers (reference behaviour).
    let fwd = t
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::Decoder && e.pass == Pass::Fwd)
        .count();
    assert_eq!(fwd, 32);
    // LoRA on 8 layers: 8 * 624,640 parameters.
    assert_eq!(t.trainable_bytes(), 8 * 624_640 * 2);
    // Three idle exit heads (exits 7, 15, 23): (32000 * 4096 + 4096) * 2 B each.
    // plus the embedding table.
    assert_eq!(t.idle_weight_bytes, 3 * 262_152_192 + 262_144_000);
    let lora = Workload::embedded("llama7b_lora").unwrap().trace().unwrap();
    // Saved activations per sequence: the window's 8 layers + head vs 32 layers + head.
    let per_layer = |tr: &Trace, j: u32| {
        tr.entries
            .iter()
            .find(|e| e.label == format!("L{j}.fwd"))
            .unwrap()
            .saved_bytes
    };
    assert!(t.saved_bytes_per_sequence() * 3 < lora.saved_bytes_per_sequence());
    assert!(
        per_layer(&t, 30) < per_layer(&lora, 30),
        "fewer bits -> smaller saved K/V"
    );
}

#[test]
fn edge_llm_policy_is_luc_with_paper_average_bits() {
    for (b, want) in [(5, 5.125), (4, 4.125), (3, 3.125)] {
        let w = Workload::embedded(&format!("llama7b_edge_llm_b{b}")).unwrap();
        assert!((w.policy.avg_w_bits() - want).abs() < 1e-12);
        assert!((w.policy.mean_sparsity() - 0.5).abs() < 1e-12);
        assert_eq!(w.policy.layers[30].sparsity, 0.0);
        assert!(w.warnings.iter().any(|s| s.contains("31")));
    }
}

#[test]
fn repository_and_embedded_workloads_agree() {
    for name in embedded_names() {
        let a = repo_workload(&format!("{name}.toml"));
        let b = Workload::embedded(name).unwrap();
        assert_eq!(a.policy.layers, b.policy.layers, "{name}");
        assert_eq!(a.method, b.method, "{name}");
        let (ta, tb) = (a.trace().unwrap(), b.trace().unwrap());
        assert_eq!(ta.entries, tb.entries, "{name}");
    }
    assert!(
        Workload::embedded("nope")
            .unwrap_err()
            .to_string()
            .contains("llama7b_lora")
    );
}

#[test]
fn frozen_backward_has_no_weight_gradient_of_base_weights() {
    let t = repo_workload("tiny_lora.toml").trace().unwrap();
    let b = t.entries.iter().find(|e| e.label == "L1.bwd").unwrap();
    assert!(b.gemms.iter().any(|g| g.name == "dgrad_q"));
    assert!(b.gemms.iter().any(|g| g.name == "lora_wgrad_a_q"));
    assert!(!b.gemms.iter().any(|g| g.name.starts_with("wgrad_")));
    let f = repo_workload("tiny_full.toml").trace().unwrap();
    let b = f.entries.iter().find(|e| e.label == "L1.bwd").unwrap();
    assert!(b.gemms.iter().any(|g| g.name == "wgrad_down"));
    let m = ModelShape::preset("tiny").unwrap();
    // Full tuning trains every parameter.
    assert_eq!(f.trainable_bytes(), m.total_params() * 2);
    assert_eq!(f.grad_bytes(), m.total_params() * 4);
    assert_eq!(f.entries.last().unwrap().label, "embed.bwd");
}

#[test]
fn backward_gemm_flops_of_a_full_layer_are_twice_forward_linears() {
    // dgrad and wgrad each cost as much as the forward product of a linear.
    let f = repo_workload("tiny_full.toml").trace().unwrap();
    let lin = |e: &TraceEntry, pre: &str| -> f64 {
        e.gemms
            .iter()
            .filter(|g| g.b_operand == BOperand::Weight || g.name.starts_with("wgrad_"))
            .filter(|g| pre.is_empty() || g.name.starts_with(pre))
            .map(GemmOp::flops)
            .sum()
    };
    let fw = f.entries.iter().find(|e| e.label == "L2.fwd").unwrap();
    let bw = f.entries.iter().find(|e| e.label == "L2.bwd").unwrap();
    assert_eq!(lin(bw, ""), 2.0 * lin(fw, ""));
}

#[test]
fn lst_never_backpropagates_through_the_backbone() {
    let t = repo_workload("tiny_lst.toml").trace().unwrap();
    assert!(
        t.entries
            .iter()
            .all(|e| !(e.kind == EntryKind::Decoder && (e.pass == Pass::Bwd || e.saved_bytes > 0)))
    );
    let side_bwd = t
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::Side && e.pass == Pass::Bwd)
        .count();
    assert_eq!(side_bwd, 4);
    // Side network of tiny / 4: hidden 16, ffn 44, 1 head, 1 KV head (head_dim 16):
    // per layer 2*16*16 + 2*16*16 + 3*16*44 + 2*16 = 3,168 plus down-projection 64*16 =
    // 1,024; plus the up-projection 16*64 = 1,024 on the head.
    let params = 4 * (3_168 + 1_024) + 1_024;
    assert_eq!(t.trainable_bytes(), params * 2);
}

#[test]
fn tiny_edge_llm_window_and_skip_flag() {
    let w = repo_workload("tiny_edge_llm.toml");
    let t = w.trace().unwrap();
    let bwd: Vec<&str> = t
        .entries
        .iter()
        .filter(|e| e.pass == Pass::Bwd)
        .map(|e| e.label.as_str())
        .collect();
    assert_eq!(bwd, vec!["exit3.bwd", "L3.bwd", "L2.bwd"]);
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("workloads/tiny_edge_llm.toml"),
    )
    .unwrap()
    .replace("phase = 1", "phase = 1\nskip_forward_beyond_exit = true");
    let s = Workload::from_toml_str("workloads/tiny_edge_llm.toml", &text)
        .unwrap()
        .trace()
        .unwrap();
    let fwd_layers = s
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::Decoder && e.pass == Pass::Fwd)
        .count();
    assert_eq!(fwd_layers, 4);
    // Every stored byte is still accounted for: skipped layers move to idle.
    assert_eq!(s.stored_weight_bytes(), t.stored_weight_bytes());
    assert!(s.idle_weight_bytes > t.idle_weight_bytes);
}

#[test]
fn per_sequence_quantities_follow_seq_len() {
    let w = repo_workload("tiny_lora.toml");
    let t = w.trace().unwrap();
    let l0 = t.entries.iter().find(|e| e.label == "L0.fwd").unwrap();
    // 16 tokens * 64 hidden * 2 B.
    assert_eq!(l0.act_in_bytes, 2048);
    assert_eq!(l0.checkpoint_bytes, 2048);
    assert_eq!(t.micro_batch_size, 2);
    assert_eq!(t.sequences_per_step, 4);
    // flops_by_precision sums to GEMM + vector FLOPs.
    let total: f64 = l0.flops_by_precision.values().sum();
    let vec: f64 = l0
        .vector_ops
        .iter()
        .map(|v| v.elements as f64 * v.ops_per_element)
        .sum();
    assert!((total - l0.gemm_flops() - vec).abs() < 1e-6);
    assert!(l0.flops_by_precision.contains_key("w8a8"));
    assert!(l0.flops_by_precision.contains_key("w16a16"));
}

#[test]
fn policy_file_resolves_relative_to_the_workload() {
    let dir = tempfile::tempdir().unwrap();
    let p = crate::policy::Policy::uniform(4, 3, 0.25);
    std::fs::create_dir_all(dir.path().join("pol")).unwrap();
    std::fs::write(dir.path().join("pol/p.toml"), p.to_toml_string()).unwrap();
    let wfile = dir.path().join("w.toml");
    std::fs::write(
        &wfile,
        format!("policy = \"pol/p.toml\"\n{TINY}[method]\nkind = \"lora\"\n"),
    )
    .unwrap();
    let w = Workload::from_file(&wfile).unwrap();
    assert_eq!(w.policy.layers, p.layers);
    // Wrong layer count.
    let p8 = crate::policy::Policy::uniform(8, 3, 0.25);
    std::fs::write(dir.path().join("pol/p.toml"), p8.to_toml_string()).unwrap();
    let e = Workload::from_file(&wfile).unwrap_err().to_string();
    assert!(e.contains("8 layers but the model has 4"), "{e}");
    // Missing file names the resolved path.
    std::fs::remove_file(dir.path().join("pol/p.toml")).unwrap();
    let e = Workload::from_file(&wfile).unwrap_err().to_string();
    assert!(e.contains("pol/p.toml"), "{e}");
}

#[test]
fn luc_policy_with_bad_csv_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("s.csv"),
        "layer,sparsity,sample,mse\n0,0.5,0,1\n9,0.5,0,1\n",
    )
    .unwrap();
    let wfile = dir.path().join("w.toml");
    std::fs::write(
        &wfile,
        format!("{TINY}[method]\nkind = \"lora\"\n[policy]\nkind = \"luc\"\nsensitivity = \"s.csv\"\nbits = 4\nsparsity = 0.5\n"),
    )
    .unwrap();
    let e = Workload::from_file(&wfile).unwrap_err().to_string();
    assert!(
        e.contains("s.csv: line 3, column layer") && e.contains("[0, 3]"),
        "{e}"
    );
}

/// `kind = "random"` is Table 2's ablation: the `luc` policy of the same keys with its
/// layers in a seeded random order; the fresh draw is `random-draw`.
#[test]
fn random_policy_is_the_luc_policy_in_random_layer_order() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("s.csv"),
        "layer,sparsity,sample,mse\n0,0.5,0,1\n1,0.5,0,2\n2,0.5,0,4\n3,0.5,0,8\n",
    )
    .unwrap();
    let read = |policy: &str| {
        let wfile = dir.path().join("w.toml");
        std::fs::write(
            &wfile,
            format!("{TINY}[method]\nkind = \"lora\"\n[policy]\n{policy}"),
        )
        .unwrap();
        Workload::from_file(&wfile)
    };
    let keys = "sensitivity = \"s.csv\"\nbits = 8\nsparsity = 0.5\n";
    let luc = read(&format!("kind = \"luc\"\n{keys}")).unwrap().policy;
    // Eq. 1 on the pruning proxy at B = 8: layers 2 and 3 (MSE >= mean 3.75) get 9 bits.
    let bits: Vec<u32> = luc.layers.iter().map(|l| l.w_bits).collect();
    assert_eq!(bits, vec![8, 8, 9, 9]);
    let mut orders = std::collections::BTreeSet::new();
    for seed in 0..8u64 {
        let r = read(&format!("kind = \"random\"\n{keys}seed = {seed}\n")).unwrap();
        assert_eq!(r.policy, crate::policy::random_permutation(&luc, seed));
        assert!((r.policy.avg_w_bits() - luc.avg_w_bits()).abs() < 1e-12);
        assert!((r.policy.mean_sparsity() - luc.mean_sparsity()).abs() < 1e-12);
        // The proxy warning of LUC is passed on.
        assert!(r.warnings.iter().any(|w| w.contains("proxy")));
        orders.insert(format!("{:?}", r.policy.layers));
    }
    assert!(orders.len() > 1);
    let e = read("kind = \"random\"\nbits = 4\nsparsity = 0.5\nseed = 1\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("policy.sensitivity: missing"), "{e}");
}

#[test]
fn empty_workload_name_is_refused() {
    // The Trace names its workload, and the Trace reader refuses an empty name.
    for name in ["\"\"", "\"  \""] {
        let e = bad(&format!("name = {name}\n{TINY}[method]\nkind = \"lora\"\n"));
        assert!(e.contains("w.toml: name:") && e.contains("is blank"), "{e}");
    }
}

#[test]
fn bad_workloads_name_the_key_and_range() {
    let e = bad(
        "[model]\npreset = \"tiny\"\n[batch]\nsequences_per_step = 4\n[method]\nkind = \"lora\"\n",
    );
    assert!(e.contains("w.toml: batch.seq_len: missing"), "{e}");
    let e = bad(
        "[model]\npreset = \"tiny\"\n[batch]\nseq_len = 0\nsequences_per_step = 4\n[method]\nkind = \"lora\"\n",
    );
    assert!(
        e.contains("batch.seq_len") && e.contains("[1, 1048576]"),
        "{e}"
    );
    let e = bad(
        "[model]\npreset = \"tiny\"\n[batch]\nseq_len = -5\nsequences_per_step = 4\n[method]\nkind = \"lora\"\n",
    );
    assert!(e.contains("batch.seq_len"), "{e}");
    let e = bad(&format!("{TINY}[method]\nkind = \"qlora\"\n"));
    assert!(e.contains("method.kind") && e.contains("edge-llm"), "{e}");
    let e = bad(&format!(
        "{TINY}[method]\nkind = \"lora\"\n[policy]\nkind = \"best\"\nbits = 4\n"
    ));
    assert!(e.contains("policy.kind") && e.contains("uniform"), "{e}");
    let e = bad(&format!(
        "{TINY}[method]\nkind = \"lora\"\n[policy]\nkind = \"uniform\"\nbits = 0\n"
    ));
    assert!(e.contains("policy.bits") && e.contains("[2, 16]"), "{e}");
    let e = bad(&format!(
        "{TINY}[method]\nkind = \"lora\"\ntargets = [\"q\", \"qkv\"]\n"
    ));
    assert!(e.contains("method.targets[1]"), "{e}");
    let e = bad(&format!(
        "{TINY}[method]\nkind = \"partial\"\nlast_layers = 5\n"
    ));
    assert!(
        e.contains("method.last_layers") && e.contains("[1, 4]"),
        "{e}"
    );
    let e = bad(&format!(
        "{TINY}[method]\nkind = \"edge-llm\"\nexits = [1, 1]\n"
    ));
    assert!(e.contains("method.exits[1]"), "{e}");
    let e = bad(&format!(
        "{TINY}[method]\nkind = \"edge-llm\"\nexits = [1, 3]\nwindow = 3\nphase = 0\n"
    ));
    assert!(e.contains("method.window") && e.contains("[1, 2]"), "{e}");
    let e = bad(&format!("{TINY}[method]\nkind = \"lora\"\nrnak = 4\n"));
    assert!(e.contains("method.rnak: unknown key"), "{e}");
    let e = bad(
        "[model]\npreset = \"tiny\"\n[batch]\nseq_len = 8\nmicro_batch_size = 3\nsequences_per_step = 4\n[method]\nkind = \"lora\"\n",
    );
    assert!(
        e.contains("batch.sequences_per_step") && e.contains("multiple"),
        "{e}"
    );
    let e = bad(TINY);
    assert!(e.contains("method: missing table"), "{e}");
    let e = bad(
        "model = \"llama-99b\"\n[batch]\nseq_len = 8\nsequences_per_step = 1\n[method]\nkind = \"full\"\n",
    );
    assert!(e.contains("w.toml: model: unknown preset"), "{e}");
    let e = bad(&format!("{TINY}[method]\nkind = \"lst\"\nreduction = 3\n"));
    assert!(
        e.contains("method.reduction") && e.contains("must divide"),
        "{e}"
    );
    let e = Workload::from_file(Path::new("/no/such/workload.toml")).unwrap_err();
    assert!(e.is_input() && e.to_string().contains("/no/such/workload.toml"));
}

#[test]
fn forward_linear_flops_are_twice_parameters_per_token() {
    let t = repo_workload("tiny_full.toml").trace().unwrap();
    let m = ModelShape::preset("tiny").unwrap();
    let lin: f64 = t
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::Decoder && e.pass == Pass::Fwd)
        .flat_map(|e| e.gemms.iter())
        .filter(|g| crate::model::Linear::from_name(&g.name).is_some())
        .map(GemmOp::flops)
        .sum();
    // 16 tokens * 2 * linear parameters * 4 layers.
    assert_eq!(lin, 16.0 * 2.0 * (m.linear_params_per_layer() * 4) as f64);
}

#[test]
fn custom_model_with_explicit_and_random_policies() {
    let base = "[model]\nname = \"mini\"\nlayers = 2\nhidden = 32\nffn = 64\nheads = 4\nkv_heads = 2\nvocab = 100\n\
                [batch]\nseq_len = 8\nsequences_per_step = 2\n[method]\nkind = \"lora\"\nrank = 2\n";
    let w = Workload::from_toml_str(
        "w.toml",
        &format!("{base}[policy]\nkind = \"explicit\"\nlayers = 2\nw_bits = [4, 6]\nsparsity = [0.5, 0.25]\n"),
    )
    .unwrap();
    assert_eq!(w.model.name, "mini");
    assert_eq!(w.policy.layers[1].w_bits, 6);
    assert_eq!(w.policy.layers[1].a_bits, 6);
    assert_eq!(w.policy.layers[0].sparsity, 0.5);
    let t = w.trace().unwrap();
    let l1 = t.entries.iter().find(|e| e.label == "L1.fwd").unwrap();
    assert!(l1.flops_by_precision.contains_key("w6a6"));
    // k/v project to kv_heads * head_dim = 2 * 8 = 16.
    let k = l1.gemms.iter().find(|g| g.name == "k").unwrap();
    assert_eq!((k.m, k.k, k.n), (8, 32, 16));
    let e = bad(&format!(
        "{base}[policy]\nkind = \"explicit\"\nlayers = 3\nw_bits = [4, 6, 4]\nsparsity = [0.5, 0.25, 0]\n"
    ));
    assert!(e.contains("3 layers but the model has 2"), "{e}");
    let r = Workload::from_toml_str(
        "w.toml",
        &format!("{base}[policy]\nkind = \"random-draw\"\nbits = 4\nextra_bit_layers = 1\nsparsity = 0.3\nseed = 5\na_bits = 16\n"),
    )
    .unwrap();
    assert!((r.policy.avg_w_bits() - 4.5).abs() < 1e-12);
    assert!((r.policy.mean_sparsity() - 0.3).abs() < 1e-12);
    assert!(
        r.policy
            .layers
            .iter()
            .all(|l| l.a_bits == 16 && l.kv_bits == l.w_bits)
    );
}

#[test]
fn trace_invariants_hold_for_every_shipped_workload() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("workloads");
    let mut n = 0;
    for f in std::fs::read_dir(&dir).unwrap() {
        let p = f.unwrap().path();
        if p.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        n += 1;
        let t = Workload::from_file(&p).unwrap().trace().unwrap();
        let name = p.display().to_string();
        let stem = |l: &str| l.rsplit_once('.').unwrap().0.to_string();
        let first_bwd = t.entries.iter().position(|e| e.pass == Pass::Bwd).unwrap();
        // Forward columns, then backward columns.
        assert!(
            t.entries[first_bwd..].iter().all(|e| e.pass == Pass::Bwd),
            "{name}"
        );
        for e in &t.entries {
            match e.pass {
                Pass::Fwd => {
                    assert_eq!(e.grad_bytes, 0, "{name} {}", e.label);
                    let has_bwd = t.entries[first_bwd..]
                        .iter()
                        .any(|b| stem(&b.label) == stem(&e.label));
                    // A column saves tensors exactly when it is backpropagated through.
                    assert_eq!(e.saved_bytes > 0, has_bwd, "{name} {}", e.label);
                    // Recomputation needs the column input exactly when tensors are saved.
                    assert_eq!(e.checkpoint_bytes > 0, has_bwd, "{name} {}", e.label);
                }
                Pass::Bwd => {
                    assert_eq!(e.saved_bytes + e.checkpoint_bytes, 0, "{name} {}", e.label);
                    assert_eq!(e.trainable_bytes + e.optimizer_bytes, 0, "{name}");
                }
            }
        }
        // Adam + master copy = 12 B per 2-byte trainable parameter; fp32 gradients.
        assert_eq!(t.optimizer_bytes(), 6 * t.trainable_bytes(), "{name}");
        assert_eq!(t.grad_bytes(), 2 * t.trainable_bytes(), "{name}");
        // Backward decoder/side layers run top-down.
        let layers: Vec<u32> = t.entries[first_bwd..]
            .iter()
            .filter(|e| matches!(e.kind, EntryKind::Decoder | EntryKind::Side))
            .map(|e| e.layer)
            .collect();
        assert!(layers.windows(2).all(|w| w[0] > w[1]), "{name}: {layers:?}");
        assert!(t.trainable_bytes() <= t.stored_weight_bytes(), "{name}");
    }
    assert_eq!(n, 16);
}

#[test]
fn early_exit_head_follows_its_exit_layer() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("workloads/tiny_edge_llm.toml"),
    )
    .unwrap();
    let t = Workload::from_toml_str("workloads/tiny_edge_llm.toml", &text)
        .unwrap()
        .trace()
        .unwrap();
    let labels: Vec<&str> = t.entries.iter().map(|e| e.label.as_str()).collect();
    // Phase 1: exit after layer 3; the reference forward continues to layer 7.
    assert_eq!(
        &labels[..7],
        &[
            "embed.fwd",
            "L0.fwd",
            "L1.fwd",
            "L2.fwd",
            "L3.fwd",
            "exit3.fwd",
            "L4.fwd"
        ]
    );
    assert_eq!(labels[9], "L7.fwd");
    assert_eq!(labels[10], "exit3.bwd");
}

/// The backward column's GEMM names.
fn bwd_gemms(t: &Trace, label: &str) -> Vec<String> {
    t.entries
        .iter()
        .find(|e| e.label == label)
        .unwrap_or_else(|| panic!("{label}"))
        .gemms
        .iter()
        .map(|g| g.name.clone())
        .collect()
}

fn computes_input_grad(t: &Trace, label: &str) -> bool {
    let e = t.entries.iter().find(|e| e.label == label).unwrap();
    let names = bwd_gemms(t, label);
    let has = |n: &str| names.iter().any(|x| x == n);
    let all = ["dgrad_q", "dgrad_k", "dgrad_v"].iter().all(|n| has(n))
        && e.vector_ops.iter().any(|v| v.name == "rmsnorm_attn_bwd")
        && e.act_out_bytes > 0;
    let none = ![
        "dgrad_q",
        "dgrad_k",
        "dgrad_v",
        "lora_dgrad_a_q",
        "lora_dgrad_a_k",
        "lora_dgrad_a_v",
    ]
    .iter()
    .any(|n| has(n))
        && !e.vector_ops.iter().any(|v| v.name == "rmsnorm_attn_bwd")
        && e.act_out_bytes == 0;
    assert!(all ^ none, "{label}: partly computes its input gradient");
    all
}

#[test]
fn lowest_backward_column_computes_no_input_gradient() {
    // LoRA stops at layer 0; its weight gradients remain.
    let t = repo_workload("tiny_lora.toml").trace().unwrap();
    assert!(computes_input_grad(&t, "L1.bwd"));
    assert!(!computes_input_grad(&t, "L0.bwd"));
    assert!(bwd_gemms(&t, "L0.bwd").contains(&"lora_wgrad_a_q".to_string()));
    assert!(bwd_gemms(&t, "L0.bwd").contains(&"dgrad_o".to_string()));
    // Uniform 8-bit policy, so layers 0 and 1 differ only by the input gradient. Tiny:
    // S = 16, h = 64, kv_dim = 32, r = 4: dgrad_q 2 * 16 * 64 * 64 = 131,072, dgrad_k and
    // dgrad_v 2 * 16 * 64 * 32 = 65,536 each, lora_dgrad_a_{q,k,v} 2 * 16 * 4 * 64 = 8,192
    // each; vector: lora_grad_add_{q,k,v} 3 * 16 * 64 = 3,072, rmsnorm_attn_bwd
    // 16 * 64 * 8 = 8,192.
    let e = |l: &str| t.entries.iter().find(|e| e.label == l).unwrap().clone();
    let (l0, l1) = (e("L0.bwd"), e("L1.bwd"));
    assert_eq!(l1.gemm_flops() - l0.gemm_flops(), 286_720.0);
    let vf = |x: &TraceEntry| x.flops_by_precision["vector"];
    assert_eq!(vf(&l1) - vf(&l0), 11_264.0);
    assert_eq!((l1.act_out_bytes, l0.act_out_bytes), (16 * 64 * 2, 0));
    // Edge-LLM: the window start (layer 2 of the window 2-3).
    let t = repo_workload("tiny_edge_llm.toml").trace().unwrap();
    assert!(computes_input_grad(&t, "L3.bwd"));
    assert!(!computes_input_grad(&t, "L2.bwd"));
    // Partial tuning: the first tuned layer.
    let w = Workload::from_toml_str(
        "w.toml",
        &format!("{TINY}[method]\nkind = \"partial\"\nlast_layers = 2\n[policy]\nkind = \"uniform\"\nbits = 8\n"),
    )
    .unwrap();
    let t = w.trace().unwrap();
    assert!(computes_input_grad(&t, "L3.bwd"));
    assert!(!computes_input_grad(&t, "L2.bwd"));
    // Full tuning trains the embedding, which consumes layer 0's input gradient; LST's
    // bottom side layer's input gradient feeds its down-projection's weight gradient.
    let t = repo_workload("tiny_full.toml").trace().unwrap();
    assert!(computes_input_grad(&t, "L0.bwd"));
    assert!(bwd_gemms(&t, "L0.bwd").contains(&"wgrad_q".to_string()));
    let t = repo_workload("tiny_lst.toml").trace().unwrap();
    assert!(computes_input_grad(&t, "S0.bwd"));
    let s0 = bwd_gemms(&t, "S0.bwd");
    assert!(s0.contains(&"wgrad_side_down".to_string()));
    assert!(!s0.iter().any(|n| n == "dgrad_side_down"));
}
