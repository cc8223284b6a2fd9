//! Pruning of one linear layer: magnitude, Wanda and SparseGPT, unstructured or N:M.
//!
//! Entry points: [`prune`] (calibration tokens given directly) and
//! [`prune_with_hessian`] (calibration statistics accumulated batch by batch in a
//! [`Hessian`]). Both return a [`Pruned`]: the new weights, the keep-mask and the
//! achieved sparsity. Linears that read the same input (q/k/v, gate/up) can share one
//! [`Hessian`]; building it (`X^T X`, about `tokens * in^2` flops) is the largest cost of
//! SparseGPT on a 4096-wide layer.
//!
//! Exactness of the sparsity (`p` in `[0, 1]`, `count = rows * in_features`):
//! - unstructured: every method prunes exactly `round(p * count)` weights (halves away
//!   from zero). Magnitude selects over the whole matrix; Wanda per output row, each row
//!   getting `floor` or `ceil` of `p * in_features` with the rows' counts summing to the
//!   matrix target; SparseGPT per column block across rows (see [`sparsegpt`]). Ties are
//!   broken by position, so results are deterministic.
//! - N:M (`n` pruned out of every `m` consecutive input columns of each row): exactly `n`
//!   zeros per group; `m` must divide `in_features` and `sparsity` must equal `n / m`.
//! - `p = 0` (or `n = 0`) prunes nothing and returns the weights bit-identical (no
//!   SparseGPT update, no dead-column zeroing).
//!
//! The mask counts pruned positions. A weight that was already 0 is pruned first by
//! every score (its score is 0) but still counts once; SparseGPT also zeroes the columns
//! of dead inputs, which are then among the first pruned.

mod calib;
pub mod magnitude;
pub mod mask;
pub mod sparsegpt;
pub mod wanda;

use ndarray::{Array2, ArrayView2};

pub use calib::Hessian;
pub use sparsegpt::SparseGptOptions;

use crate::{Error, Result};

/// Which saliency decides the pruned weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PruneMethod {
    /// `|W_ij|`, no calibration data, no weight update.
    Magnitude,
    /// `|W_ij| * ||X_j||_2`, compared per output row, no weight update.
    Wanda,
    /// OBS saliency with Hessian-based weight reconstruction (Algorithm 1 of SparseGPT).
    SparseGpt,
}

impl PruneMethod {
    /// Whether the method needs calibration inputs.
    pub fn needs_calibration(self) -> bool {
        !matches!(self, PruneMethod::Magnitude)
    }

    /// The lower-case name used on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            PruneMethod::Magnitude => "magnitude",
            PruneMethod::Wanda => "wanda",
            PruneMethod::SparseGpt => "sparsegpt",
        }
    }
}

impl std::fmt::Display for PruneMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for PruneMethod {
    type Err = Error;

    /// Parses `magnitude`, `wanda` or `sparsegpt` (case-insensitive).
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "magnitude" => Ok(PruneMethod::Magnitude),
            "wanda" => Ok(PruneMethod::Wanda),
            "sparsegpt" => Ok(PruneMethod::SparseGpt),
            _ => Err(Error::input(
                "pruner",
                "method",
                format!("unknown pruning method {s:?}; allowed: magnitude, wanda, sparsegpt"),
            )),
        }
    }
}

/// Which positions may be pruned together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SparsityPattern {
    /// Any weight (exact count per matrix, see the module docs).
    Unstructured,
    /// `n` pruned out of every `m` consecutive input columns of each row (2:4 = `n: 2,
    /// m: 4`).
    NM {
        /// Weights pruned per group.
        n: usize,
        /// Group length along the input features.
        m: usize,
    },
}

impl std::fmt::Display for SparsityPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SparsityPattern::Unstructured => f.write_str("unstructured"),
            SparsityPattern::NM { n, m } => write!(f, "{n}:{m}"),
        }
    }
}

impl std::str::FromStr for SparsityPattern {
    type Err = Error;

    /// Parses `unstructured` or `N:M` (e.g. `2:4`: 2 pruned out of every 4).
    fn from_str(s: &str) -> Result<Self> {
        if s.eq_ignore_ascii_case("unstructured") {
            return Ok(SparsityPattern::Unstructured);
        }
        let bad = || {
            Error::input(
                "pruner",
                "pattern",
                format!(
                    "unknown sparsity pattern {s:?}; allowed: unstructured or N:M with 0 <= N <= M, M >= 1 (e.g. 2:4)"
                ),
            )
        };
        let (n, m) = s.split_once(':').ok_or_else(bad)?;
        let n: usize = n.trim().parse().map_err(|_| bad())?;
        let m: usize = m.trim().parse().map_err(|_| bad())?;
        if m == 0 || n > m {
            return Err(bad());
        }
        Ok(SparsityPattern::NM { n, m })
    }
}

/// A pruned weight matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Pruned {
    /// The new weights `[out, in]` (pruned entries exactly 0; SparseGPT also updates the
    /// kept ones).
    pub weights: Array2<f32>,
    /// `true` where the weight is kept.
    pub mask: Array2<bool>,
    /// Pruned positions / all positions.
    pub achieved_sparsity: f64,
}

impl Pruned {
    fn new(weights: Array2<f32>, mask: Array2<bool>) -> Self {
        let pruned = mask.iter().filter(|k| !**k).count();
        let achieved_sparsity = if mask.is_empty() {
            0.0
        } else {
            pruned as f64 / mask.len() as f64
        };
        Pruned {
            weights,
            mask,
            achieved_sparsity,
        }
    }

    /// Number of pruned positions.
    pub fn pruned_count(&self) -> usize {
        self.mask.iter().filter(|k| !**k).count()
    }
}

/// Checks the weight, sparsity and pattern; returns true when nothing is to be pruned.
fn validate(w: ArrayView2<f32>, sparsity: f64, pattern: SparsityPattern) -> Result<bool> {
    if !(0.0..=1.0).contains(&sparsity) {
        return Err(Error::input(
            "pruner",
            "sparsity",
            format!("must be a fraction in [0, 1], got {sparsity}"),
        ));
    }
    if let Some(((r, c), v)) = crate::llm::first_non_finite(w) {
        return Err(Error::input(
            "pruner",
            format!("weight[{r}, {c}]"),
            format!("value {v} is not finite"),
        ));
    }
    match pattern {
        SparsityPattern::Unstructured => Ok(mask::pruned_count(sparsity, w.len()) == 0),
        SparsityPattern::NM { n, m } => {
            if m == 0 || n > m {
                return Err(Error::input(
                    "pruner",
                    "pattern",
                    format!("N:M needs 1 <= m and 0 <= n <= m, got {n}:{m}"),
                ));
            }
            if !w.ncols().is_multiple_of(m) {
                return Err(Error::input(
                    "pruner",
                    "pattern",
                    format!(
                        "N:M group length m = {m} must divide the {} input features",
                        w.ncols()
                    ),
                ));
            }
            let implied = n as f64 / m as f64;
            if (sparsity - implied).abs() > 1e-9 {
                return Err(Error::input(
                    "pruner",
                    "sparsity",
                    format!("an {n}:{m} pattern has sparsity {implied}, got {sparsity}"),
                ));
            }
            Ok(n == 0 || w.is_empty())
        }
    }
}

fn unpruned(w: ArrayView2<f32>) -> Pruned {
    Pruned::new(w.to_owned(), Array2::from_elem(w.raw_dim(), true))
}

fn missing_calibration(method: PruneMethod) -> Error {
    Error::input(
        "pruner",
        "calibration",
        format!("{method:?} pruning needs calibration inputs [tokens, in_features]"),
    )
}

/// Prunes `w` (`[out, in]`) to `sparsity` with `method` and `pattern`, using calibration
/// inputs `calib` (`[tokens, in]`) for Wanda and SparseGPT (ignored by magnitude).
///
/// Errors on a sparsity outside `[0, 1]`, an invalid N:M pattern, missing or mis-shaped
/// calibration data, non-finite values, or a Hessian that is not positive definite after
/// dampening.
pub fn prune(
    w: ArrayView2<f32>,
    calib: Option<ArrayView2<f32>>,
    method: PruneMethod,
    sparsity: f64,
    pattern: SparsityPattern,
) -> Result<Pruned> {
    let nothing = validate(w, sparsity, pattern)?;
    let calib = match (method.needs_calibration(), calib) {
        (false, _) => None,
        (true, None) => return Err(missing_calibration(method)),
        (true, Some(x)) => {
            calib::check_inputs(x, w.ncols())?;
            Some(x)
        }
    };
    if nothing {
        return Ok(unpruned(w));
    }
    match (method, calib) {
        (PruneMethod::Magnitude, _) => Ok(apply_mask(
            w,
            magnitude::magnitude_mask(w, sparsity, pattern),
        )),
        (PruneMethod::Wanda, Some(x)) => {
            let norms = calib::column_norms(x);
            Ok(apply_mask(
                w,
                wanda::wanda_mask(w, norms.view(), sparsity, pattern),
            ))
        }
        (PruneMethod::SparseGpt, Some(x)) => {
            let h = Hessian::from_inputs(x)?;
            sparsegpt::sparsegpt_owned(
                w,
                h.into_matrix(),
                sparsity,
                pattern,
                &SparseGptOptions::default(),
            )
        }
        (m, None) => Err(missing_calibration(m)),
    }
}

/// Like [`prune`], with calibration statistics accumulated in a [`Hessian`] (which
/// magnitude ignores) and explicit SparseGPT options.
pub fn prune_with_hessian(
    w: ArrayView2<f32>,
    hessian: &Hessian,
    method: PruneMethod,
    sparsity: f64,
    pattern: SparsityPattern,
    options: &SparseGptOptions,
) -> Result<Pruned> {
    let nothing = validate(w, sparsity, pattern)?;
    if method.needs_calibration() {
        if hessian.features() != w.ncols() {
            return Err(Error::input(
                "pruner",
                "calibration",
                format!(
                    "calibration statistics have {} features but the layer has {} input features",
                    hessian.features(),
                    w.ncols()
                ),
            ));
        }
        if hessian.tokens() == 0 {
            return Err(missing_calibration(method));
        }
    }
    if nothing {
        return Ok(unpruned(w));
    }
    match method {
        PruneMethod::Magnitude => Ok(apply_mask(
            w,
            magnitude::magnitude_mask(w, sparsity, pattern),
        )),
        PruneMethod::Wanda => {
            let norms = hessian.column_norms();
            Ok(apply_mask(
                w,
                wanda::wanda_mask(w, norms.view(), sparsity, pattern),
            ))
        }
        PruneMethod::SparseGpt => {
            sparsegpt::sparsegpt_owned(w, hessian.matrix(), sparsity, pattern, options)
        }
    }
}

/// Zeroes the pruned positions of `w`.
fn apply_mask(w: ArrayView2<f32>, keep: Array2<bool>) -> Pruned {
    let mut weights = w.to_owned();
    weights.zip_mut_with(&keep, |v, &k| {
        if !k {
            *v = 0.0;
        }
    });
    Pruned::new(weights, keep)
}

#[cfg(test)]
mod tests;
