//! Running the planned Table 2 rows on a checkpoint: sensitivity, then compress and
//! evaluate each row on the same chunks.

use super::{LayerSensitivity, Paired, PlannedRow, RowKind, Table2Options, paired, plan};
use crate::error::Result;
use crate::llm::checkpoint::Checkpoint;
use crate::llm::eval::{Perplexity, perplexity};
use crate::luc::compress::{FLOAT_BITS, compress};
use crate::luc::prune::PruneMethod;
use crate::luc::quant::MAX_BITS;
use crate::luc::sensitivity::{PAPER_SPARSITIES, SensitivityOptions, measure};

/// Progress of [`run`], for a progress bar: what is starting, and how many of the
/// total units of work are done.
#[derive(Debug, Clone)]
pub enum Stage {
    /// Sensitivity of layer `j` measured.
    Sensitivity(usize),
    /// Row `label` started (compression, then evaluation).
    Row(String),
    /// One evaluation chunk done.
    Chunk,
}

/// One evaluated row.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Table2Row {
    /// `dense`, `luc B=4`, ...
    pub label: String,
    /// Row kind.
    pub kind: RowKind,
    /// Target bits of its group.
    pub target_bits: Option<u32>,
    /// Parameter-weighted mean weight bits actually applied (float rows: 16 = f16 storage).
    pub avg_bits: f64,
    /// Fraction of the decoder linears' weights that are zero after compression.
    pub sparsity: f64,
    /// Perplexity on the evaluation chunks.
    pub ppl: f64,
    /// Mean NLL per prediction (nats).
    pub nll: f64,
    /// Paired difference to the dense row (`this - dense`).
    pub vs_dense: Paired,
    /// Per-layer (w_bits, sparsity) of the policy (empty for dense).
    pub policy: Vec<(u32, f64)>,
    /// Per-chunk NLL sums, in chunk order (for further paired comparisons).
    #[serde(skip)]
    pub chunk_nll: Vec<f64>,
}

/// A named paired comparison `a - b`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Comparison {
    /// Row compared.
    pub a: String,
    /// Row compared against.
    pub b: String,
    /// Difference and its paired standard error.
    pub diff: Paired,
}

/// The whole table.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Table2 {
    /// Evaluated rows in plan order.
    pub rows: Vec<Table2Row>,
    /// For each B: luc vs uniform, luc vs random, random vs uniform, and the ablations
    /// against uniform.
    pub comparisons: Vec<Comparison>,
    /// Evaluation chunks.
    pub chunks: usize,
    /// Tokens per evaluation chunk.
    pub chunk_tokens: usize,
    /// Calibration samples (sensitivity and SparseGPT).
    pub calib_samples: usize,
    /// Tokens per calibration sample.
    pub calib_tokens: usize,
    /// The per-layer sensitivities that drove eq. 1 / eq. 2.
    pub quant_sensitivity: Vec<(u32, Vec<f64>)>,
    /// Per-layer pruning sensitivity.
    pub prune_sensitivity: Vec<f64>,
}

/// Measures per-layer sensitivities of `ckpt` on `calib`: quantisation MSE at each
/// target B, pruning MSE averaged over the reference sparsity levels, with `sens`
/// choosing the measure (layer output or final hidden state, skipped positions).
pub fn layer_sensitivity(
    ckpt: &Checkpoint,
    calib: &[Vec<u32>],
    opts: &Table2Options,
    sens: &SensitivityOptions,
    progress: &(dyn Fn(Stage) + Sync),
) -> Result<LayerSensitivity> {
    let o = SensitivityOptions {
        bits: opts.bits.clone(),
        sparsities: PAPER_SPARSITIES.to_vec(),
        ..sens.clone()
    };
    let s = measure(ckpt, calib, &o, &|j| progress(Stage::Sensitivity(j)))?;
    let l = ckpt.config.num_hidden_layers;
    Ok(LayerSensitivity {
        quant: opts
            .bits
            .iter()
            .map(|&b| (b, s.quant_layer_means(l, b)))
            .collect(),
        prune: s.pruning_layer_means(l),
    })
}

/// Compresses `ckpt` per each planned row (SparseGPT with `calib`) and evaluates it on
/// `chunks`.
pub fn run(
    ckpt: &Checkpoint,
    calib: &[Vec<u32>],
    chunks: &[Vec<u32>],
    sensitivity: &LayerSensitivity,
    opts: &Table2Options,
    progress: &(dyn Fn(Stage) + Sync),
) -> Result<Table2> {
    // Any width above the quantiser's range keeps the weights in float.
    let planned = plan(
        ckpt.config.num_hidden_layers,
        sensitivity,
        opts,
        MAX_BITS + 1,
    )?;
    let mut evaluated: Vec<(PlannedRow, f64, f64, Perplexity)> = Vec::new();
    for row in planned {
        progress(Stage::Row(row.label()));
        let tick = |_: usize| progress(Stage::Chunk);
        let (avg_bits, sparsity, ppl) = match &row.policy {
            None => (FLOAT_BITS as f64, 0.0, perplexity(ckpt, chunks, &tick)?),
            Some(pol) => {
                let (c, rep) = compress(
                    ckpt,
                    pol,
                    &row.label(),
                    calib,
                    PruneMethod::SparseGpt,
                    &|_| {},
                )?;
                // Unquantised layers are stored at f16.
                (
                    rep.avg_w_bits.min(FLOAT_BITS as f64),
                    rep.achieved_sparsity,
                    perplexity(&c, chunks, &tick)?,
                )
            }
        };
        evaluated.push((row, avg_bits, sparsity, ppl));
    }
    let per_chunk = evaluated
        .first()
        .map(|e| e.3.chunk_tokens.saturating_sub(1))
        .unwrap_or(0);
    let dense = evaluated
        .iter()
        .find(|e| e.0.kind == RowKind::Dense)
        .map(|e| e.3.chunk_nll.clone())
        .unwrap_or_default();
    let rows = evaluated
        .into_iter()
        .map(|(r, avg_bits, sparsity, p)| {
            Ok(Table2Row {
                label: r.label(),
                kind: r.kind,
                target_bits: r.target_bits,
                avg_bits,
                sparsity,
                ppl: p.ppl,
                nll: p.nll,
                vs_dense: paired(&p.chunk_nll, &dense, per_chunk)?,
                policy: r
                    .policy
                    .map(|pol| pol.layers.iter().map(|l| (l.w_bits, l.sparsity)).collect())
                    .unwrap_or_default(),
                chunk_nll: p.chunk_nll,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let comparisons = compare(&rows, opts, per_chunk)?;
    Ok(Table2 {
        comparisons,
        chunks: chunks.len(),
        chunk_tokens: per_chunk + 1,
        calib_samples: calib.len(),
        calib_tokens: calib.first().map(Vec::len).unwrap_or(0),
        quant_sensitivity: sensitivity.quant.clone(),
        prune_sensitivity: sensitivity.prune.clone(),
        rows,
    })
}

/// The comparisons of each B group that the paper's ordering claims.
fn compare(rows: &[Table2Row], opts: &Table2Options, per_chunk: usize) -> Result<Vec<Comparison>> {
    let find = |k: RowKind, b: u32| {
        rows.iter()
            .find(|r| r.kind == k && r.target_bits == Some(b))
    };
    let mut out = Vec::new();
    for &b in &opts.bits {
        for (ka, kb) in [
            (RowKind::Luc, RowKind::Uniform),
            (RowKind::Luc, RowKind::Random),
            (RowKind::Random, RowKind::Uniform),
            (RowKind::Eq1Only, RowKind::Uniform),
            (RowKind::Eq2Only, RowKind::Uniform),
        ] {
            if let (Some(a), Some(c)) = (find(ka, b), find(kb, b)) {
                out.push(Comparison {
                    a: a.label.clone(),
                    b: c.label.clone(),
                    diff: paired(&a.chunk_nll, &c.chunk_nll, per_chunk)?,
                });
            }
        }
    }
    Ok(out)
}
