//! Edge-LLM's layer-wise unified compression equations (PAPER.md, "LUC").
//!
//! eq. 1: `b_j = B + 1[s_quant_j >= mean_i s_quant_i]`.
//! eq. 2 has two readings, both offered:
//! - [`Eq2::Code`] (default, the released code's and the intended semantics): the input
//!   is each layer's mean MSE; min-max scale over layers, invert (`r_j = 1 - scaled_j`),
//!   `p_j = P * L * r_j / sum_i r_i`. The most sensitive layer gets 0; the mean is P.
//! - [`Eq2::Paper`] (as printed): `p_j = P * L * s_j / sum_i s_i` (sensitive layers are
//!   pruned MORE).
//!
//! The reference code does not clamp. We clamp to `[0, MAX_SPARSITY]` and hand the
//! clipped excess to the unclamped layers in proportion to their sparsity, so the mean
//! stays exactly P whenever P <= MAX_SPARSITY (no-op when nothing exceeds the bound).

/// Largest per-layer sparsity a policy may assign.
pub const MAX_SPARSITY: f64 = 0.99;

/// Which reading of eq. 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Eq2 {
    /// Released-code semantics (inverted min-max scaled sensitivity).
    Code,
    /// Paper-literal semantics (proportional to sensitivity).
    Paper,
}

impl Eq2 {
    /// `code` or `paper`.
    pub fn name(self) -> &'static str {
        match self {
            Eq2::Code => "code",
            Eq2::Paper => "paper",
        }
    }

    /// Parses `code` / `paper`.
    pub fn from_name(s: &str) -> Option<Eq2> {
        match s {
            "code" => Some(Eq2::Code),
            "paper" => Some(Eq2::Paper),
            _ => None,
        }
    }
}

/// eq. 1: per-layer weight bits from quantisation sensitivities (one extra bit for layers
/// at or above the mean).
pub fn eq1_bits(s_quant: &[f64], base_bits: u32) -> Vec<u32> {
    if s_quant.is_empty() {
        return Vec::new();
    }
    // Overflow-free mean: with `sum / n`, MSEs near f64::MAX give an infinite mean and
    // no layer would get the extra bit.
    let mean = super::stats::finite_mean(s_quant);
    s_quant
        .iter()
        .map(|&s| base_bits + u32::from(s >= mean))
        .collect()
}

/// The alternative to eq. 1's mean threshold: the `k` most sensitive layers get
/// `base_bits + 1` (ties broken towards the lower layer index), the rest `base_bits`.
pub fn top_k_bits(s: &[f64], base_bits: u32, k: usize) -> Vec<u32> {
    let mut order: Vec<usize> = (0..s.len()).collect();
    order.sort_by(|&a, &b| s[b].total_cmp(&s[a]).then(a.cmp(&b)));
    let mut bits = vec![base_bits; s.len()];
    for &j in order.iter().take(k) {
        bits[j] = base_bits + 1;
    }
    bits
}

/// eq. 2: per-layer sparsity with mean `target` from pruning sensitivities (one value per
/// layer, e.g. the mean MSE). Degenerate inputs (all layers equal, or all zero in paper
/// semantics) give every layer `target`. Finite inputs always give finite outputs (both
/// readings are scale-invariant, so sensitivities are divided by their largest magnitude
/// before any difference or sum); a NaN or infinite sensitivity gives NaN for every layer,
/// which the caller must reject, never a plausible sparsity.
pub fn eq2_sparsity(s_prune: &[f64], target: f64, mode: Eq2) -> Vec<f64> {
    let l = s_prune.len();
    if l == 0 {
        return Vec::new();
    }
    if s_prune.iter().any(|s| !s.is_finite()) {
        return vec![f64::NAN; l];
    }
    // Rescaling only when a sum or a difference could overflow keeps the usual results
    // bit for bit; |s| <= 1e300 leaves 1e8 headroom for differences and sums of up to 1e8
    // layers.
    let m = super::stats::max_abs(s_prune);
    let scaled: Vec<f64>;
    let s_prune = if m > 1e300 {
        scaled = s_prune.iter().map(|&s| s / m).collect();
        &scaled[..]
    } else {
        s_prune
    };
    let weights: Vec<f64> = match mode {
        Eq2::Code => {
            let lo = s_prune.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = s_prune.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if hi <= lo {
                return vec![target; l];
            }
            s_prune
                .iter()
                .map(|&s| 1.0 - (s - lo) / (hi - lo))
                .collect()
        }
        Eq2::Paper => s_prune.to_vec(),
    };
    let sum: f64 = weights.iter().sum();
    if sum <= 0.0 {
        return vec![target; l];
    }
    let raw: Vec<f64> = weights
        .iter()
        .map(|&w| target * l as f64 * (w / sum))
        .collect();
    clamp_keeping_mean(&raw, target)
}

/// Clamps to `[0, MAX_SPARSITY]`, redistributing what is cut off over the layers below
/// the bound in proportion to their value (equally if they are all zero).
pub(crate) fn clamp_keeping_mean(raw: &[f64], target: f64) -> Vec<f64> {
    let l = raw.len();
    // `x.max(0.0)` would turn NaN into 0; the comparison keeps NaN visible.
    let mut p: Vec<f64> = raw.iter().map(|&x| if x < 0.0 { 0.0 } else { x }).collect();
    let mut fixed = vec![false; l];
    let goal = target.min(MAX_SPARSITY) * l as f64;
    for _ in 0..l {
        let over: Vec<usize> = (0..l)
            .filter(|&j| !fixed[j] && p[j] > MAX_SPARSITY)
            .collect();
        if over.is_empty() {
            break;
        }
        for j in over {
            p[j] = MAX_SPARSITY;
            fixed[j] = true;
        }
        let fixed_sum: f64 = (0..l).filter(|&j| fixed[j]).map(|j| p[j]).sum();
        let free: Vec<usize> = (0..l).filter(|&j| !fixed[j]).collect();
        let free_sum: f64 = free.iter().map(|&j| p[j]).sum();
        let need = (goal - fixed_sum).max(0.0);
        if free.is_empty() {
            break;
        }
        if free_sum > 0.0 {
            for &j in &free {
                // Share first: p/free_sum <= 1, while need/free_sum overflows for a
                // subnormal free_sum (and 0 * inf is NaN).
                p[j] = p[j] / free_sum * need;
            }
        } else {
            for &j in &free {
                p[j] = need / free.len() as f64;
            }
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

    #[test]
    fn eq1_by_hand() {
        // s = [1, 2, 3, 10]: mean = 16/4 = 4; only 10 >= 4, so bits = [4, 4, 4, 5].
        assert_eq!(eq1_bits(&[1.0, 2.0, 3.0, 10.0], 4), vec![4, 4, 4, 5]);
        // s = [1, 3]: mean 2; 3 >= 2 -> [3, 4]. Equal values are all ">= mean".
        assert_eq!(eq1_bits(&[1.0, 3.0], 3), vec![3, 4]);
        assert_eq!(eq1_bits(&[2.0, 2.0], 3), vec![4, 4]);
    }

    #[test]
    fn top_k_by_hand() {
        assert_eq!(top_k_bits(&[0.1, 0.9, 0.5, 0.9], 4, 2), vec![4, 5, 4, 5]);
        assert_eq!(top_k_bits(&[0.1, 0.9, 0.5], 4, 0), vec![4, 4, 4]);
    }

    #[test]
    fn eq2_code_by_hand() {
        // s = [1, 2, 3, 5], P = 0.5, L = 4.
        // min-max scaled: [0, 0.25, 0.5, 1]; r = 1 - scaled = [1, 0.75, 0.5, 0]; sum r = 2.25.
        // p_j = 0.5 * 4 * r_j / 2.25 = r_j * 0.888...: [0.8889, 0.6667, 0.4444, 0].
        let p = eq2_sparsity(&[1.0, 2.0, 3.0, 5.0], 0.5, Eq2::Code);
        let want = [8.0 / 9.0, 6.0 / 9.0, 4.0 / 9.0, 0.0];
        for (a, b) in p.iter().zip(want) {
            assert_abs_diff_eq!(*a, b, epsilon = 1e-12);
        }
        assert_abs_diff_eq!(p.iter().sum::<f64>() / 4.0, 0.5, epsilon = 1e-12);
    }

    #[test]
    fn eq2_paper_by_hand() {
        // s = [1, 2, 3, 4] (sum 10), P = 0.4, L = 4: p_j = 0.4*4*s_j/10 = 0.16 s_j
        // = [0.16, 0.32, 0.48, 0.64]. Sensitive layers are pruned more.
        let p = eq2_sparsity(&[1.0, 2.0, 3.0, 4.0], 0.4, Eq2::Paper);
        for (a, b) in p.iter().zip([0.16, 0.32, 0.48, 0.64]) {
            assert_abs_diff_eq!(*a, b, epsilon = 1e-12);
        }
    }

    #[test]
    fn eq2_clamps_and_keeps_the_mean() {
        // Paper semantics, s = [1, 1, 8], P = 0.6, L = 3: raw = 1.8 * [0.1, 0.1, 0.8]
        // = [0.18, 0.18, 1.44]. Clamp 1.44 -> 0.99; the other two must carry
        // 1.8 - 0.99 = 0.81 in proportion 1:1 -> 0.405 each.
        let p = eq2_sparsity(&[1.0, 1.0, 8.0], 0.6, Eq2::Paper);
        assert_abs_diff_eq!(p[2], 0.99, epsilon = 1e-12);
        assert_abs_diff_eq!(p[0], 0.405, epsilon = 1e-12);
        assert_abs_diff_eq!(p[1], 0.405, epsilon = 1e-12);
    }

    #[test]
    fn eq2_degenerate_inputs_give_the_target() {
        assert_eq!(eq2_sparsity(&[3.0, 3.0], 0.5, Eq2::Code), vec![0.5, 0.5]);
        assert_eq!(eq2_sparsity(&[0.0, 0.0], 0.5, Eq2::Paper), vec![0.5, 0.5]);
        assert!(eq2_sparsity(&[], 0.5, Eq2::Code).is_empty());
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn eq2_keeps_the_mean_and_the_bounds(
            s in proptest::collection::vec(0.0f64..10.0, 1..40),
            p in 0.0f64..0.99,
            paper in any::<bool>(),
        ) {
            let mode = if paper { Eq2::Paper } else { Eq2::Code };
            let out = eq2_sparsity(&s, p, mode);
            prop_assert_eq!(out.len(), s.len());
            let mean = out.iter().sum::<f64>() / out.len() as f64;
            prop_assert!((mean - p).abs() < 1e-9, "mean {} target {}", mean, p);
            prop_assert!(out.iter().all(|&x| (0.0..=MAX_SPARSITY + 1e-12).contains(&x)));
        }

        #[test]
        fn eq1_adds_at_most_one_bit(s in proptest::collection::vec(0.0f64..1.0, 1..40), b in 1u32..9) {
            let bits = eq1_bits(&s, b);
            prop_assert!(bits.iter().all(|&x| x == b || x == b + 1));
            // The most sensitive layer is always at or above the mean.
            let jmax = (0..s.len()).max_by(|&i, &j| s[i].total_cmp(&s[j])).unwrap();
            prop_assert_eq!(bits[jmax], b + 1);
        }
    }
}
