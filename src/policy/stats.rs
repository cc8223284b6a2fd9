//! Overflow-free reductions over finite values.
//!
//! A plain `sum / n` of values near `f64::MAX` overflows to infinity, and the `inf / inf`
//! or `inf - inf` that follows is NaN, which comparisons and `f64::max` silently turn into
//! an arbitrary answer. Every mean and every proportional split in this module's users
//! first divides by the largest magnitude, so each term is in `[-1, 1]` and no partial
//! sum of `n` terms can exceed `n` in magnitude.

/// The largest `|x|` of `xs` (0 for an empty slice); NaN if any value is NaN.
pub(crate) fn max_abs(xs: &[f64]) -> f64 {
    let mut m = 0.0f64;
    for &x in xs {
        if x.is_nan() {
            return f64::NAN;
        }
        if x.abs() > m {
            m = x.abs();
        }
    }
    m
}

/// The arithmetic mean of `xs`, finite whenever every value is finite: `sum / n` when the
/// sum is finite, else `m * mean(x / m)` with `m` the largest magnitude, so neither the sum nor the result can
/// overflow (the mean of values in `[-m, m]` lies in `[-m, m]`). NaN for an empty slice or
/// when any value is NaN or infinite, so a caller cannot mistake it for a measurement.
pub(crate) fn finite_mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let plain = xs.iter().sum::<f64>();
    if plain.is_finite() {
        // The usual case, bit for bit the reference code's `sum / n`.
        return plain / xs.len() as f64;
    }
    let m = max_abs(xs);
    if !m.is_finite() {
        return f64::NAN;
    }
    if m == 0.0 {
        return 0.0;
    }
    let scaled = xs.iter().map(|&x| x / m).sum::<f64>() / xs.len() as f64;
    // |scaled| <= 1 up to rounding; the product cannot exceed m in magnitude by more
    // than an ulp, and min/max keep it inside [-m, m] (both finite, neither NaN).
    (scaled * m).clamp(-m, m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_of_huge_values_is_finite_and_right() {
        // (1e308 + 1e308) / 2 = 1e308; the plain sum is +inf.
        assert!([1e308, 1e308].iter().sum::<f64>().is_infinite());
        let m = finite_mean(&[1e308, 1e308]);
        assert!((m - 1e308).abs() <= 1e308 * 1e-15, "{m}");
        let m = finite_mean(&[f64::MAX, f64::MAX, f64::MAX]);
        assert_eq!(m, f64::MAX);
        // By hand: (1 + 2 + 3 + 10) / 4 = 4.
        assert!((finite_mean(&[1.0, 2.0, 3.0, 10.0]) - 4.0).abs() < 1e-15);
        assert_eq!(finite_mean(&[0.0, 0.0]), 0.0);
    }

    #[test]
    fn non_finite_inputs_give_nan_not_a_number_that_looks_measured() {
        assert!(finite_mean(&[]).is_nan());
        assert!(finite_mean(&[1.0, f64::NAN]).is_nan());
        assert!(finite_mean(&[1.0, f64::INFINITY]).is_nan());
        assert!(max_abs(&[f64::NAN, 1.0]).is_nan());
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn mean_is_finite_and_between_min_and_max(
            xs in proptest::collection::vec(-f64::MAX..=f64::MAX, 1..64),
        ) {
            let m = finite_mean(&xs);
            prop_assert!(m.is_finite(), "{:?} -> {}", xs, m);
            let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            // Rounding of the scaled sum: allow a relative slack of n ulps of the scale.
            let slack = max_abs(&xs) * 1e-15 * xs.len() as f64;
            prop_assert!(m >= lo - slack && m <= hi + slack, "{} not in [{}, {}]", m, lo, hi);
        }
    }
}
