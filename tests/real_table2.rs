//! Table 2 (the LUC ablation) on the real SmolLM2-135M, reduced to a few chunks and one
//! target width so it fits the test budget; `edgesim repro --real` runs the whole table.

mod common;

use edgesim::cli::luc::MeasureArg;
use edgesim::cli::repro_real::{RealOptions, run_real, spread};
use edgesim::luc::sensitivity::SensitivityOptions;
use edgesim::luc::table2::{RowKind, Table2Options};

#[test]
fn spread_covers_the_whole_sequence() {
    let v: Vec<usize> = (0..10).collect();
    assert_eq!(spread(&v, 3), [0, 3, 6]);
    assert_eq!(spread(&v, 20), v);
    assert_eq!(spread(&v, 1), [0]);
}

#[test]
fn reduced_table2_on_the_real_model() {
    let Some(data) = common::real_data_or_skip("reduced_table2_on_the_real_model") else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let o = RealOptions {
        chunks: 3,
        chunk_tokens: 64,
        calib_samples: 2,
        calib_tokens: 64,
        table: Table2Options {
            bits: vec![4],
            ablations: false,
            ..Default::default()
        },
        sensitivity: SensitivityOptions {
            measure: MeasureArg::Layer.into(),
            skip_positions: 1,
            ..Default::default()
        },
    };
    let (t, files) = run_real(&data, out.path(), &o, true).unwrap();
    let labels: Vec<&str> = t.rows.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "dense",
            "sparsegpt",
            "quant-only B=8",
            "uniform B=4",
            "random B=4",
            "luc B=4"
        ]
    );
    for name in ["table2.csv", "table2.md", "table2.png", "table2.svg"] {
        assert!(
            files.iter().any(|f| f.ends_with(name)),
            "{name} not written"
        );
        assert!(out.path().join(name).is_file());
    }
    assert_eq!((t.chunks, t.chunk_tokens), (3, 64));
    let row = |k: RowKind| t.rows.iter().find(|r| r.kind == k).unwrap();
    let dense = row(RowKind::Dense);
    // The dense row is compared with itself: exactly zero.
    assert_eq!((dense.vs_dense.delta_nll, dense.vs_dense.se), (0.0, 0.0));
    // A 135M model on English prose: perplexity well above 1 and far below the uniform
    // 49152 of an untrained model.
    assert!((5.0..200.0).contains(&dense.ppl), "dense ppl {}", dense.ppl);
    // The perplexity is exp of the mean NLL, and the paired difference to dense is the
    // difference of the mean NLLs (equal-length chunks).
    for r in &t.rows {
        assert!((r.ppl - r.nll.exp()).abs() <= 1e-9 * r.ppl, "{}", r.label);
        assert!(
            (r.vs_dense.delta_nll - (r.nll - dense.nll)).abs() < 1e-9,
            "{}",
            r.label
        );
    }
    // Pruning at 50% removes half of the decoder weights (SparseGPT's exact counts).
    let sg = row(RowKind::SparseGpt);
    assert!((sg.sparsity - 0.5).abs() < 0.005, "{}", sg.sparsity);
    // Random is LUC's per-layer settings in another layer order: same averages.
    let (luc, rnd) = (row(RowKind::Luc), row(RowKind::Random));
    assert!((luc.avg_bits - rnd.avg_bits).abs() < 1e-9);
    let key = |p: &[(u32, f64)]| {
        let mut v: Vec<(u32, u64)> = p.iter().map(|(b, s)| (*b, s.to_bits())).collect();
        v.sort_unstable();
        v
    };
    assert_eq!(key(&luc.policy), key(&rnd.policy));
    assert_ne!(luc.policy, rnd.policy);
    // Eq. 1 gives one extra bit to the layers at or above the mean sensitivity.
    assert!(luc.avg_bits > 4.0 && luc.avg_bits < 5.0, "{}", luc.avg_bits);
    // Compressing to 4 bits and 50% sparsity costs perplexity on top of the 4-bit base.
    assert!(row(RowKind::Uniform).ppl > dense.ppl);
}
