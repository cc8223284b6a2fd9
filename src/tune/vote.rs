//! Next-token scores of every exit and of the vote over exits.
//!
//! Each exit `e` gives a log-softmax row `log p_e(. | x_{<=t})` per position `t`. Per exit
//! we accumulate the negative log-likelihood of the target `-log p_e(y_t)` (nats, f64) and
//! whether the argmax is the target.
//!
//! The vote (Edge-LLM's voting over exits, PAPER.md): for every vocabulary entry `v`, the
//! maximum probability over the exits, `q(v) = max_e p_e(v)`; the voted prediction is
//! `argmax_v q(v)`. `q` is not a distribution (it sums to between 1 and the number of
//! exits), so the vote's perplexity uses `q` renormalised over the vocabulary,
//! `q(v) / sum_u q(u)`; the renormalisation does not change the argmax.
//!
//! Ties: the argmax is the lowest vocabulary index among equal maxima (as `numpy.argmax`
//! and `torch.argmax`), so a tie counts as correct only when the target is that index.

use crate::error::{Error, Result};
use ndarray::{ArrayView1, ArrayView2};

/// Accumulated next-token scores of one predictor (an exit or the vote).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ExitScore {
    /// Summed negative log-likelihood of the targets (nats).
    pub nll: f64,
    /// Targets that were the argmax.
    pub correct: u64,
    /// Targets scored.
    pub tokens: u64,
}

impl ExitScore {
    /// Mean NLL per token (nats); NaN when no token was scored.
    pub fn mean_nll(&self) -> f64 {
        self.nll / self.tokens as f64
    }

    /// `exp(mean NLL)`; NaN when no token was scored.
    pub fn perplexity(&self) -> f64 {
        self.mean_nll().exp()
    }

    /// Fraction of targets predicted by the argmax; NaN when no token was scored.
    pub fn accuracy(&self) -> f64 {
        self.correct as f64 / self.tokens as f64
    }

    fn add(&mut self, other: &ExitScore) {
        self.nll += other.nll;
        self.correct += other.correct;
        self.tokens += other.tokens;
    }
}

/// Scores of every exit and of their vote over the same targets.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scores {
    /// One per exit, in exit order.
    pub per_exit: Vec<ExitScore>,
    /// The vote over all exits.
    pub vote: ExitScore,
    /// Targets scored (each exit's and the vote's `tokens`).
    pub tokens: u64,
}

/// Index of the first maximum of `row` (NaN entries never win); 0 for an empty row.
fn argmax(row: ArrayView1<'_, f32>) -> usize {
    let mut best = 0;
    let mut best_v = f32::NEG_INFINITY;
    for (i, &v) in row.iter().enumerate() {
        if v > best_v {
            best = i;
            best_v = v;
        }
    }
    best
}

impl Scores {
    /// Empty scores for `n_exits` exits.
    pub fn new(n_exits: usize) -> Self {
        Scores {
            per_exit: vec![ExitScore::default(); n_exits],
            vote: ExitScore::default(),
            tokens: 0,
        }
    }

    /// Adds one sequence: `log_probs[e]` is exit `e`'s log-softmax, `[T, vocab]`, and
    /// `targets` the `T` next tokens.
    ///
    /// Errors (nothing is added): the number of exits differs from [`Scores::new`]'s, an
    /// exit's shape is not `[targets.len(), vocab]` with the first exit's vocab, or a
    /// target is `>= vocab`.
    pub fn add(&mut self, log_probs: &[ArrayView2<'_, f32>], targets: &[u32]) -> Result<()> {
        let batch = score(log_probs, targets)?;
        if batch.per_exit.len() != self.per_exit.len() {
            return Err(Error::Other(format!(
                "vote: {} exits given, the scores were made for {}",
                batch.per_exit.len(),
                self.per_exit.len()
            )));
        }
        self.merge(&batch);
        Ok(())
    }

    /// Adds scores over other targets (e.g. computed in parallel); both must have the same
    /// number of exits (extra exits of `other` are ignored).
    pub fn merge(&mut self, other: &Scores) {
        for (a, b) in self.per_exit.iter_mut().zip(&other.per_exit) {
            a.add(b);
        }
        self.vote.add(&other.vote);
        self.tokens += other.tokens;
    }
}

/// The scores of one sequence (see [`Scores::add`] for shapes and errors).
pub fn score(log_probs: &[ArrayView2<'_, f32>], targets: &[u32]) -> Result<Scores> {
    let Some(first) = log_probs.first() else {
        return Err(Error::Other("vote: no exit given".to_string()));
    };
    let vocab = first.ncols();
    let t_len = targets.len();
    for (e, lp) in log_probs.iter().enumerate() {
        if lp.dim() != (t_len, vocab) {
            return Err(Error::Other(format!(
                "vote: exit {e} has log-probs {:?}, expected [{t_len}, {vocab}] \
                 ({t_len} targets, exit 0's vocabulary)",
                lp.shape()
            )));
        }
    }
    if let Some((i, y)) = targets
        .iter()
        .enumerate()
        .find(|(_, y)| **y as usize >= vocab)
    {
        return Err(Error::Other(format!(
            "vote: target {i} is token {y}, outside the vocabulary [0, {vocab})"
        )));
    }
    let mut out = Scores::new(log_probs.len());
    let mut best = vec![f32::NEG_INFINITY; vocab];
    for (t, &y) in targets.iter().enumerate() {
        let y = y as usize;
        best.fill(f32::NEG_INFINITY);
        for (lp, s) in log_probs.iter().zip(&mut out.per_exit) {
            let row = lp.row(t);
            s.nll -= f64::from(row[y]);
            s.correct += u64::from(argmax(row) == y);
            for (b, &v) in best.iter_mut().zip(row) {
                if v > *b {
                    *b = v;
                }
            }
        }
        // log sum_v exp(best[v]), shifted by the maximum for range.
        let m = best.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let m = f64::from(m);
        let z: f64 = best.iter().map(|&v| (f64::from(v) - m).exp()).sum();
        let log_z = m + z.ln();
        out.vote.nll += log_z - f64::from(best[y]);
        out.vote.correct += u64::from(argmax(ArrayView1::from(&best[..])) == y);
    }
    let n = t_len as u64;
    for s in out
        .per_exit
        .iter_mut()
        .chain(std::iter::once(&mut out.vote))
    {
        s.tokens = n;
    }
    out.tokens = n;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, arr2};

    fn log(p: &[[f64; 3]]) -> Array2<f32> {
        Array2::from_shape_fn((p.len(), 3), |(i, j)| p[i][j].ln() as f32)
    }

    #[test]
    fn two_exits_three_tokens_by_hand() {
        // Position 0: exit A = (0.5, 0.3, 0.2), exit B = (0.1, 0.6, 0.3), target 1.
        // Position 1: exit A = (0.2, 0.2, 0.6), exit B = (0.7, 0.2, 0.1), target 0.
        let a = log(&[[0.5, 0.3, 0.2], [0.2, 0.2, 0.6]]);
        let b = log(&[[0.1, 0.6, 0.3], [0.7, 0.2, 0.1]]);
        let s = score(&[a.view(), b.view()], &[1, 0]).unwrap();
        // A: -ln 0.3 - ln 0.2; argmax 0 (wrong), 2 (wrong).
        assert!((s.per_exit[0].nll - (-(0.3f64.ln()) - 0.2f64.ln())).abs() < 1e-6);
        assert_eq!(s.per_exit[0].correct, 0);
        // B: -ln 0.6 - ln 0.7; argmax 1 (right), 0 (right).
        assert!((s.per_exit[1].nll - (-(0.6f64.ln()) - 0.7f64.ln())).abs() < 1e-6);
        assert_eq!(s.per_exit[1].correct, 2);
        // Vote, position 0: max = (0.5, 0.6, 0.3), sum 1.4, target prob 0.6 / 1.4,
        // argmax 1 (right). Position 1: max = (0.7, 0.2, 0.6), sum 1.5, target 0.7 / 1.5,
        // argmax 0 (right).
        let want = -(0.6f64 / 1.4).ln() - (0.7f64 / 1.5).ln();
        assert!((s.vote.nll - want).abs() < 1e-6, "{} vs {want}", s.vote.nll);
        assert_eq!(s.vote.correct, 2);
        assert_eq!((s.tokens, s.vote.tokens, s.per_exit[0].tokens), (2, 2, 2));
        assert!((s.vote.perplexity() - (want / 2.0).exp()).abs() < 1e-6);
        assert!((s.per_exit[1].accuracy() - 1.0).abs() < 1e-12);
        assert!((s.per_exit[0].accuracy() - 0.0).abs() < 1e-12);
    }

    #[test]
    fn vote_of_identical_exits_equals_each_exit() {
        let a = log(&[[0.25, 0.5, 0.25], [0.6, 0.3, 0.1], [0.1, 0.1, 0.8]]);
        let targets = [1, 1, 2];
        let s = score(&[a.view(), a.view(), a.view()], &targets).unwrap();
        for e in &s.per_exit {
            assert_eq!(e.correct, s.vote.correct);
            assert!(
                (e.nll - s.vote.nll).abs() < 1e-6,
                "{} vs {}",
                e.nll,
                s.vote.nll
            );
        }
        assert_eq!(s.vote.correct, 2);
    }

    #[test]
    fn ties_go_to_the_lowest_index() {
        // Exit A ties tokens 0 and 2, exit B ties 1 and 2 at a lower level: the vote's
        // max row is (0.4, 0.3, 0.4), a tie between 0 and 2 resolved to 0.
        let a = log(&[[0.4, 0.2, 0.4]]);
        let b = log(&[[0.1, 0.3, 0.3]]);
        for (target, a_ok, b_ok, vote_ok) in [(0, 1, 0, 1), (1, 0, 1, 0), (2, 0, 0, 0)] {
            let s = score(&[a.view(), b.view()], &[target]).unwrap();
            assert_eq!(
                (s.per_exit[0].correct, s.per_exit[1].correct, s.vote.correct),
                (a_ok, b_ok, vote_ok),
                "target {target}"
            );
        }
        assert_eq!(argmax(ArrayView1::from(&[f32::NAN, 1.0, 1.0][..])), 1);
        assert_eq!(argmax(ArrayView1::from(&[f32::NEG_INFINITY; 3][..])), 0);
    }

    #[test]
    fn accumulates_over_sequences_and_checks_shapes() {
        let a = log(&[[0.5, 0.3, 0.2]]);
        let b = log(&[[0.2, 0.2, 0.6], [0.3, 0.3, 0.4]]);
        let mut s = Scores::new(1);
        s.add(&[a.view()], &[0]).unwrap();
        s.add(&[b.view()], &[2, 0]).unwrap();
        assert_eq!((s.tokens, s.per_exit[0].correct), (3, 2));
        let want = -(0.5f64.ln() + 0.6f64.ln() + 0.3f64.ln());
        assert!((s.per_exit[0].nll - want).abs() < 1e-6);
        // One exit: the vote is that exit.
        assert!((s.vote.nll - want).abs() < 1e-6);

        let err = s.add(&[b.view()], &[0]).unwrap_err().to_string();
        assert!(err.contains("[1, 3]"), "{err}");
        let err = s.add(&[a.view()], &[3]).unwrap_err().to_string();
        assert!(err.contains("token 3") && err.contains("[0, 3)"), "{err}");
        let err = s.add(&[a.view(), a.view()], &[0]).unwrap_err().to_string();
        assert!(err.contains("2 exits"), "{err}");
        let two = arr2(&[[0.0f32, 0.0]]);
        let err = score(&[a.view(), two.view()], &[0])
            .unwrap_err()
            .to_string();
        assert!(err.contains("exit 1"), "{err}");
        assert_eq!(s.tokens, 3);
        assert!(Scores::new(2).vote.perplexity().is_nan());
    }
}
