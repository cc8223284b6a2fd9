//! Table 2 of the paper (the LUC ablation, PAPER.md) on a real checkpoint: compress the
//! model under each policy, evaluate perplexity on the same chunks, and compare rows
//! with paired standard errors over chunks.
//!
//! Rows, each a policy applied by [`crate::luc::compress::compress`] (weights only: the
//! tensor engine quantises weights, per output channel; activations and KV stay f32):
//! - `dense`: the checkpoint as loaded;
//! - `sparsegpt`: SparseGPT at the target sparsity in every layer, weights unquantised
//!   (the paper's SparseGPT row);
//! - `quant-only`: `B` bits in every layer, no pruning (the paper's 8-bit LLM-QAT row is
//!   trained, ours is round-to-nearest);
//! - per target `B`: `uniform` (B bits, target sparsity everywhere), `random` (the LUC
//!   policy's per-layer bits and sparsities in a seeded random order of layers: same
//!   averages and spread), `luc` (eq. 1 bits from the quantisation sensitivity at B bits,
//!   eq. 2 sparsity from the pruning sensitivity averaged over the reference levels, code
//!   semantics), and the ablations `eq1-only` (eq. 1 bits, uniform sparsity) and
//!   `eq2-only` (B bits, eq. 2 sparsity).
//!
//! Comparisons: for rows `a` and `b` on the same `n` chunks of `T` tokens, the per-chunk
//! difference of mean NLL per prediction `d_i = (NLL_a,i - NLL_b,i) / (T - 1)` gives the
//! mean difference `d` (= ln(ppl_a / ppl_b)) and its paired standard error
//! `sd(d_i) / sqrt(n)`; chunks differ in difficulty far more than models differ, so
//! pairing removes most of the variance.

mod run;

pub use run::{Comparison, Stage, Table2, Table2Row, layer_sensitivity, run};

use crate::error::{Error, Result};
use crate::policy::{Eq2, Policy, eq1_bits, eq2_sparsity, random_permutation};

/// What a row of the table is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RowKind {
    /// The checkpoint as loaded.
    Dense,
    /// SparseGPT at the target sparsity, weights unquantised.
    SparseGpt,
    /// Round-to-nearest at B bits, no pruning.
    QuantOnly,
    /// B bits and the target sparsity in every layer.
    Uniform,
    /// The LUC policy's per-layer settings in a seeded random order of layers.
    Random,
    /// Eq. 1 bits and eq. 2 sparsities.
    Luc,
    /// Eq. 1 bits, uniform sparsity.
    Eq1Only,
    /// B bits, eq. 2 sparsities.
    Eq2Only,
}

impl RowKind {
    /// Short name used in files (`dense`, `sparsegpt`, `quant-only`, `uniform`, ...).
    pub fn name(self) -> &'static str {
        match self {
            RowKind::Dense => "dense",
            RowKind::SparseGpt => "sparsegpt",
            RowKind::QuantOnly => "quant-only",
            RowKind::Uniform => "uniform",
            RowKind::Random => "random",
            RowKind::Luc => "luc",
            RowKind::Eq1Only => "eq1-only",
            RowKind::Eq2Only => "eq2-only",
        }
    }
}

/// Which rows to build.
#[derive(Debug, Clone, PartialEq)]
pub struct Table2Options {
    /// Target bits B of the uniform / random / LUC groups (paper: 5, 4, 3; 8 added).
    pub bits: Vec<u32>,
    /// Target mean sparsity P (paper: 0.5).
    pub sparsity: f64,
    /// Bits of the quantisation-only row.
    pub quant_only_bits: u32,
    /// Seed of the random permutation.
    pub seed: u64,
    /// Whether to add the eq1-only and eq2-only ablation rows.
    pub ablations: bool,
}

impl Default for Table2Options {
    fn default() -> Self {
        Table2Options {
            bits: vec![8, 5, 4, 3],
            sparsity: 0.5,
            quant_only_bits: 8,
            seed: 0,
            ablations: true,
        }
    }
}

/// One planned row: what it is and the policy that makes it (`None` for dense).
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedRow {
    /// Row kind.
    pub kind: RowKind,
    /// Target bits B of its group (`None` for dense and SparseGPT).
    pub target_bits: Option<u32>,
    /// The policy; `None` = evaluate the checkpoint unchanged.
    pub policy: Option<Policy>,
}

impl PlannedRow {
    /// Display label, e.g. `luc B=4` or `dense`.
    pub fn label(&self) -> String {
        match self.target_bits {
            Some(b) => format!("{} B={b}", self.kind.name()),
            None => self.kind.name().to_string(),
        }
    }
}

/// Per-layer sensitivities that drive eq. 1 and eq. 2 (one value per decoder layer).
#[derive(Debug, Clone, PartialEq)]
pub struct LayerSensitivity {
    /// Quantisation sensitivity per target B: `(B, per-layer value)`.
    pub quant: Vec<(u32, Vec<f64>)>,
    /// Pruning sensitivity per layer (mean over the reference sparsity levels).
    pub prune: Vec<f64>,
}

/// Plans every row of the table for a `layers`-layer model. `float_bits` is a policy
/// width the compressor leaves unquantised (above [`crate::luc::quant::MAX_BITS`]).
///
/// Errors: a target B without a quantisation sensitivity, or sensitivities of the wrong
/// length.
pub fn plan(
    layers: usize,
    sens: &LayerSensitivity,
    opts: &Table2Options,
    float_bits: u32,
) -> Result<Vec<PlannedRow>> {
    if sens.prune.len() != layers {
        return Err(Error::Other(format!(
            "pruning sensitivity has {} layers, the model {layers}",
            sens.prune.len()
        )));
    }
    let p = opts.sparsity;
    let eq2 = eq2_sparsity(&sens.prune, p, Eq2::Code);
    let mut rows = vec![
        PlannedRow {
            kind: RowKind::Dense,
            target_bits: None,
            policy: None,
        },
        PlannedRow {
            kind: RowKind::SparseGpt,
            target_bits: None,
            policy: Some(Policy::uniform(layers, float_bits, p)),
        },
        PlannedRow {
            kind: RowKind::QuantOnly,
            target_bits: Some(opts.quant_only_bits),
            policy: Some(Policy::uniform(layers, opts.quant_only_bits, 0.0)),
        },
    ];
    for &b in &opts.bits {
        let sq = sens
            .quant
            .iter()
            .find(|(qb, _)| *qb == b)
            .map(|(_, v)| v)
            .ok_or_else(|| Error::Other(format!("no quantisation sensitivity at {b} bits")))?;
        if sq.len() != layers {
            return Err(Error::Other(format!(
                "quantisation sensitivity at {b} bits has {} layers, the model {layers}",
                sq.len()
            )));
        }
        let bits = eq1_bits(sq, b);
        let make = |bits: &[u32], sp: &[f64], what: &str| {
            let mut pol = Policy::uniform(layers, b, p);
            for ((l, &bj), &pj) in pol.layers.iter_mut().zip(bits).zip(sp) {
                l.w_bits = bj;
                l.a_bits = bj;
                l.kv_bits = bj;
                l.sparsity = pj;
            }
            pol.provenance = format!("{what}: B = {b}, P = {p}");
            pol
        };
        let uniform_b = vec![b; layers];
        let uniform_p = vec![p; layers];
        let luc = make(&bits, &eq2, "luc (eq. 1 + eq. 2, code semantics)");
        let mut group = vec![
            (RowKind::Uniform, make(&uniform_b, &uniform_p, "uniform")),
            (RowKind::Random, random_permutation(&luc, opts.seed)),
            (RowKind::Luc, luc),
        ];
        if opts.ablations {
            group.push((RowKind::Eq1Only, make(&bits, &uniform_p, "eq. 1 only")));
            group.push((RowKind::Eq2Only, make(&uniform_b, &eq2, "eq. 2 only")));
        }
        rows.extend(group.into_iter().map(|(kind, pol)| PlannedRow {
            kind,
            target_bits: Some(b),
            policy: Some(pol),
        }));
    }
    Ok(rows)
}

/// A paired comparison of two rows on the same chunks.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Paired {
    /// Mean over chunks of the difference in mean NLL per prediction, `a - b` (nats);
    /// `exp` of it is the perplexity ratio `ppl_a / ppl_b`.
    pub delta_nll: f64,
    /// Paired standard error of `delta_nll` (nats); 0 for one chunk.
    pub se: f64,
}

/// Paired difference of two rows' per-chunk NLL sums, each chunk giving
/// `predictions_per_chunk` predictions.
///
/// Errors: different chunk counts, no chunk, or no prediction per chunk.
pub fn paired(a: &[f64], b: &[f64], predictions_per_chunk: usize) -> Result<Paired> {
    if a.len() != b.len() || a.is_empty() || predictions_per_chunk == 0 {
        return Err(Error::Other(format!(
            "paired comparison needs the same non-zero number of chunks with predictions \
             (got {} and {}, {predictions_per_chunk} predictions per chunk)",
            a.len(),
            b.len()
        )));
    }
    let n = a.len() as f64;
    let d: Vec<f64> = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y) / predictions_per_chunk as f64)
        .collect();
    let mean = d.iter().sum::<f64>() / n;
    let se = if a.len() < 2 {
        0.0
    } else {
        let var = d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
        (var / n).sqrt()
    };
    Ok(Paired {
        delta_nll: mean,
        se,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sens(layers: usize) -> LayerSensitivity {
        // Layer 1 is the most quantisation-sensitive, layer 2 the most pruning-sensitive.
        let mut q = vec![1.0; layers];
        q[1] = 10.0;
        let mut pr = vec![1.0; layers];
        pr[2] = 5.0;
        LayerSensitivity {
            quant: vec![(4, q)],
            prune: pr,
        }
    }

    #[test]
    fn plan_builds_the_paper_rows() {
        let opts = Table2Options {
            bits: vec![4],
            ..Default::default()
        };
        let rows = plan(4, &sens(4), &opts, 32).unwrap();
        let labels: Vec<String> = rows.iter().map(PlannedRow::label).collect();
        assert_eq!(
            labels,
            [
                "dense",
                "sparsegpt",
                "quant-only B=8",
                "uniform B=4",
                "random B=4",
                "luc B=4",
                "eq1-only B=4",
                "eq2-only B=4"
            ]
        );
        let luc = rows[5].policy.as_ref().unwrap();
        // Eq. 1: mean of [1, 10, 1, 1] is 3.25, only layer 1 is at or above it.
        let bits: Vec<u32> = luc.layers.iter().map(|l| l.w_bits).collect();
        assert_eq!(bits, [4, 5, 4, 4]);
        // Eq. 2 (code): scaled [0,0,1,0] -> r = [1,1,0,1], p_j = 0.5*4*r_j/3.
        let sp: Vec<f64> = luc.layers.iter().map(|l| l.sparsity).collect();
        for (got, want) in sp.iter().zip([2.0 / 3.0, 2.0 / 3.0, 0.0, 2.0 / 3.0]) {
            assert!((got - want).abs() < 1e-12, "{sp:?}");
        }
        // Ablations take one half each.
        let e1 = rows[6].policy.as_ref().unwrap();
        assert!(e1.layers.iter().all(|l| l.sparsity == 0.5));
        assert_eq!(e1.layers[1].w_bits, 5);
        let e2 = rows[7].policy.as_ref().unwrap();
        assert!(e2.layers.iter().all(|l| l.w_bits == 4));
        assert_eq!(e2.layers[2].sparsity, 0.0);
        // SparseGPT is unquantised; quant-only unpruned.
        assert!(rows[1].policy.as_ref().unwrap().layers[0].w_bits == 32);
        assert!(rows[2].policy.as_ref().unwrap().layers[0].sparsity == 0.0);
    }

    #[test]
    fn random_is_a_permutation_of_luc() {
        let s = LayerSensitivity {
            quant: vec![(3, (0..12).map(|i| (i * 7 % 12) as f64).collect())],
            prune: (0..12).map(|i| (i * 5 % 12) as f64 + 1.0).collect(),
        };
        let opts = Table2Options {
            bits: vec![3],
            ablations: false,
            ..Default::default()
        };
        let rows = plan(12, &s, &opts, 32).unwrap();
        let (rnd, luc) = (
            rows[4].policy.as_ref().unwrap(),
            rows[5].policy.as_ref().unwrap(),
        );
        let key = |p: &Policy| {
            let mut v: Vec<(u32, u64)> = p
                .layers
                .iter()
                .map(|l| (l.w_bits, l.sparsity.to_bits()))
                .collect();
            v.sort_unstable();
            v
        };
        assert_eq!(key(rnd), key(luc));
        assert_ne!(rnd.layers, luc.layers, "seed 0 left 12 layers in place");
    }

    #[test]
    fn paired_se_by_hand() {
        // Chunks of 5 tokens = 4 predictions; differences per prediction 0.25, 0.5, 0.75.
        let a = [2.0, 3.0, 4.0];
        let b = [1.0, 1.0, 1.0];
        let p = paired(&a, &b, 4).unwrap();
        assert!((p.delta_nll - 0.5).abs() < 1e-15);
        // sd = 0.25 (sample), se = 0.25 / sqrt(3).
        assert!((p.se - 0.25 / 3f64.sqrt()).abs() < 1e-15);
        assert_eq!(paired(&[1.0], &[0.5], 2).unwrap().se, 0.0);
        assert!(paired(&a, &b[..2], 4).is_err());
        assert!(paired(&[], &[], 4).is_err());
    }

    #[test]
    fn plan_errors() {
        let opts = Table2Options::default(); // needs B = 8, 5, 4, 3
        assert!(plan(4, &sens(4), &opts, 32).is_err());
        assert!(plan(5, &sens(4), &Table2Options::default(), 32).is_err());
    }
}
