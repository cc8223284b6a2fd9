//! Held-out evaluation of a tuner: every exit alone and the vote over exits, on the same
//! chunks, in one forward per chunk.

use super::model::Tuner;
use super::summary::{Evaluation, ExitMetric, Metric};
use super::vote::{ExitScore, Scores};
use crate::error::Result;

fn metric(s: &ExitScore) -> Metric {
    Metric {
        perplexity: s.perplexity(),
        accuracy: s.accuracy(),
    }
}

/// The scores of `tuner` on `chunks` (each `T + 1` ids: `T` predictions), every exit and
/// the vote; `on_chunk` is called after each chunk (progress). Errors: ids outside the
/// vocabulary or a chunk of fewer than 2 ids (input).
pub fn evaluate(
    tuner: &Tuner<f32>,
    chunks: &[Vec<u32>],
    on_chunk: &dyn Fn(),
) -> Result<Evaluation> {
    let mut scores = Scores::new(tuner.exits.len());
    for c in chunks {
        let lp = tuner.exit_log_probs(c)?;
        let views: Vec<_> = lp.iter().map(|a| a.view()).collect();
        scores.add(&views, &c[1..])?;
        on_chunk();
    }
    Ok(Evaluation {
        predictions: scores.tokens,
        exits: tuner
            .exits
            .iter()
            .zip(&scores.per_exit)
            .map(|(&layer, s)| ExitMetric {
                layer,
                metric: metric(s),
            })
            .collect(),
        vote: metric(&scores.vote),
    })
}
