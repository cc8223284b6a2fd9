//! Symmetric round-to-nearest quantiser of the Edge-LLM reference code.
//!
//! For `b` bits the integer levels are `-(2^(b-1)-1) ..= 2^(b-1)-1` (no zero point, the
//! most negative two's-complement code is unused, so the grid is symmetric). Each row of
//! the matrix (or each group of `g` consecutive columns within a row) gets one scale
//! `s = max|x| / (2^(b-1)-1)`; a value is coded as `round(x / s)` (ties to even, like
//! `torch.round`) clamped to the levels, and dequantised as `code * s`.
//!
//! Two details make the quantiser exact rather than approximately right:
//! - the scale is rounded **up** to 16 significant bits. A code has at most 8 bits, so
//!   `code * s` is then exact in f32: dequantisation has no rounding error, re-quantising
//!   a dequantised matrix recovers the same codes and the same scale, and
//!   [`fake_quant`] is exactly idempotent. The relative change of the scale is below
//!   `2^-15`, far under any quantisation step.
//! - a row or group that is all zeros gets scale 0 and codes 0, so zeros stay zero and
//!   no division by zero happens.
//!
//! Which rows are "channels" or "tokens" is the caller's layout: per output channel is per
//! row of a weight `W[out, in]`, per token is per row of an activation `X[tokens, in]`.

use ndarray::{Array2, ArrayView2, Axis, Zip};

use crate::{Error, Result};

/// Smallest supported bit-width.
pub const MIN_BITS: u32 = 2;
/// Largest supported bit-width (codes are stored as `i8`).
pub const MAX_BITS: u32 = 8;

/// Which elements share one scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    /// One scale per output channel = per row of a weight matrix `[out, in]`.
    PerChannel,
    /// One scale per token = per row of an activation matrix `[tokens, features]`.
    PerToken,
    /// One scale per group of `g` consecutive columns within each row (the last group of a
    /// row is shorter when `g` does not divide the row length).
    PerGroup(usize),
}

impl Granularity {
    /// Columns per scale for rows of length `cols`.
    fn group_len(self, cols: usize) -> usize {
        match self {
            Granularity::PerChannel | Granularity::PerToken => cols.max(1),
            Granularity::PerGroup(g) => g,
        }
    }
}

impl std::fmt::Display for Granularity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Granularity::PerChannel => f.write_str("per-channel"),
            Granularity::PerToken => f.write_str("per-token"),
            Granularity::PerGroup(g) => write!(f, "per-group:{g}"),
        }
    }
}

impl std::str::FromStr for Granularity {
    type Err = Error;

    /// Parses `per-channel`, `per-token` or `per-group:G` (G >= 1 columns).
    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            Error::input(
                "quantiser",
                "granularity",
                format!(
                    "unknown granularity {s:?}; allowed: per-channel, per-token, per-group:G (G >= 1)"
                ),
            )
        };
        match s.to_ascii_lowercase().as_str() {
            "per-channel" => Ok(Granularity::PerChannel),
            "per-token" => Ok(Granularity::PerToken),
            other => {
                let g = other.strip_prefix("per-group:").ok_or_else(bad)?;
                match g.trim().parse::<usize>() {
                    Ok(g) if g >= 1 => Ok(Granularity::PerGroup(g)),
                    _ => Err(bad()),
                }
            }
        }
    }
}

/// Integer codes and scales of a quantised matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantized {
    /// One code per element, in `-(2^(bits-1)-1) ..= 2^(bits-1)-1`.
    pub codes: Array2<i8>,
    /// Scales shaped `[rows, groups per row]` (one column unless [`Granularity::PerGroup`]).
    pub scales: Array2<f32>,
    /// Bit-width of the codes.
    pub bits: u32,
    /// How scales are shared.
    pub granularity: Granularity,
}

impl Quantized {
    /// The dequantised matrix `code * scale` (exact in f32, see the module docs).
    pub fn dequantize(&self) -> Array2<f32> {
        let cols = self.codes.ncols();
        let group = self.granularity.group_len(cols);
        let mut out = Array2::<f32>::zeros(self.codes.raw_dim());
        Zip::from(out.rows_mut())
            .and(self.codes.rows())
            .and(self.scales.rows())
            .par_for_each(|mut out_row, code_row, scale_row| {
                let (Some(out), Some(codes)) = (out_row.as_slice_mut(), code_row.as_slice()) else {
                    unreachable!("freshly allocated standard-layout arrays have contiguous rows")
                };
                for ((o, c), &s) in out
                    .chunks_mut(group)
                    .zip(codes.chunks(group))
                    .zip(scale_row.iter())
                {
                    for (o, &c) in o.iter_mut().zip(c) {
                        *o = f32::from(c) * s;
                    }
                }
            });
        out
    }
}

/// Largest code magnitude for `bits`: `2^(bits-1) - 1`. Errors outside `2..=8`.
pub fn max_level(bits: u32) -> Result<i32> {
    if !(MIN_BITS..=MAX_BITS).contains(&bits) {
        return Err(Error::input(
            "quantiser",
            "bits",
            format!("must be an integer in {MIN_BITS}..={MAX_BITS}, got {bits}"),
        ));
    }
    Ok((1i32 << (bits - 1)) - 1)
}

/// Rounds a positive finite scale up to 16 significant bits (see the module docs).
fn round_scale_up(s: f32) -> f32 {
    // f32 has 23 stored mantissa bits; keep the top 15 (+ the implicit one = 16 bits).
    const DROP: u32 = 23 - 15;
    const LOW: u32 = (1 << DROP) - 1;
    let bits = s.to_bits();
    if bits & LOW == 0 {
        s
    } else {
        // Adding one unit of the kept precision carries into the exponent correctly for
        // positive floats; the result stays finite because the input is at most
        // f32::MAX / 3.
        f32::from_bits((bits | LOW) + 1)
    }
}

/// `v.round_ties_even()` for `|v| <= 2^22`, without a libm call: adding and subtracting
/// `1.5 * 2^23` makes the FPU round to an integer in its default round-to-nearest-even
/// mode (the sum has no fractional mantissa bits left). Codes are at most 127 in size.
#[inline]
fn round_ties_even_small(v: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0; // 1.5 * 2^23
    (v + MAGIC) - MAGIC
}

/// Quantises `x` to `bits`-bit symmetric codes with one scale per row or per group.
///
/// Errors when `bits` is outside `2..=8`, when a group size is 0, or when `x` holds a
/// non-finite value.
pub fn quantize(x: ArrayView2<f32>, bits: u32, granularity: Granularity) -> Result<Quantized> {
    let qmax = max_level(bits)?;
    if granularity == Granularity::PerGroup(0) {
        return Err(Error::input(
            "quantiser",
            "group_size",
            "must be at least 1 column per group",
        ));
    }
    if let Some(((r, c), v)) = crate::llm::first_non_finite(x) {
        return Err(Error::input(
            "quantiser",
            format!("x[{r}, {c}]"),
            format!("value {v} is not finite; only finite values can be quantised"),
        ));
    }
    let cols = x.ncols();
    let group = granularity.group_len(cols);
    let groups = cols.div_ceil(group).max(1);
    let qmax_f = qmax as f32;
    let mut codes = Array2::<i8>::zeros(x.raw_dim());
    let mut scales = Array2::<f32>::zeros((x.nrows(), groups));
    Zip::from(x.rows())
        .and(codes.rows_mut())
        .and(scales.rows_mut())
        .par_for_each(|x_row, mut code_row, mut scale_row| {
            for (gi, start) in (0..cols).step_by(group).enumerate() {
                let end = (start + group).min(cols);
                let xs = x_row.slice(ndarray::s![start..end]);
                let max_abs = xs.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                if max_abs == 0.0 {
                    continue; // scale 0, codes 0: zeros stay zero.
                }
                let s = round_scale_up(max_abs / qmax_f);
                scale_row[gi] = s;
                for (c, &v) in code_row
                    .slice_mut(ndarray::s![start..end])
                    .iter_mut()
                    .zip(xs.iter())
                {
                    *c = round_ties_even_small((v / s).clamp(-qmax_f, qmax_f)) as i8;
                }
            }
        });
    debug_assert_eq!(scales.len_of(Axis(1)), groups);
    Ok(Quantized {
        codes,
        scales,
        bits,
        granularity,
    })
}

/// Quantise-then-dequantise ("fake quantisation", the forward of quantisation-aware
/// training): the matrix the compressed layer actually computes with.
pub fn fake_quant(x: ArrayView2<f32>, bits: u32, granularity: Granularity) -> Result<Array2<f32>> {
    Ok(quantize(x, bits, granularity)?.dequantize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, array};

    /// Deterministic pseudo-random matrix with a wide dynamic range per row.
    fn sample(rows: usize, cols: usize, seed: u64) -> Array2<f32> {
        let mut state = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        Array2::from_shape_fn((rows, cols), |(r, _)| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = ((state >> 40) as f32) / ((1u64 << 24) as f32) - 0.5;
            u * (1.0 + r as f32 * 3.7)
        })
    }

    #[test]
    fn hand_computed_4bit_example() {
        // 4 bits: levels -7..=7. Row 0: max |x| = 1.4 -> scale 1.4 / 7 = 0.2, stored
        // rounded up to 16 significant bits (0.20000076). The exact ties of the ideal
        // scale (0.1/0.2 = 0.5, 0.3/0.2 = 1.5, 0.7/0.2 = 3.5) therefore sit a hair below
        // .5 and round down: codes 0, 1, -7, 3, 0.
        let x = array![[0.1f32, 0.3, -1.4, 0.7, 0.0], [2.0, -1.0, 0.5, 0.0, 0.25]];
        let q = quantize(x.view(), 4, Granularity::PerChannel).unwrap();
        assert_eq!(q.codes.row(0).to_vec(), vec![0, 1, -7, 3, 0]);
        // Row 1: max 2.0 -> s = 2/7 = 0.285714..; -1.0/s = -3.5 -> -3 after scale
        // round-up; 0.5/s = 1.75 -> 2; 0.25/s = 0.875 -> 1.
        assert_eq!(q.codes.row(1).to_vec(), vec![7, -3, 2, 0, 1]);
        assert!((q.scales[[0, 0]] - 0.2).abs() < 0.2 * 1e-4);
        assert!((q.scales[[1, 0]] - 2.0 / 7.0).abs() < 1e-4);
        let d = q.dequantize();
        assert!((d[[0, 2]] + 1.4).abs() < 1e-4);
        assert_eq!(d[[1, 3]], 0.0);
    }

    #[test]
    fn two_bit_has_three_levels() {
        let x = array![[-1.0f32, -0.4, 0.0, 0.6, 1.0]];
        let q = quantize(x.view(), 2, Granularity::PerToken).unwrap();
        assert_eq!(q.codes.row(0).to_vec(), vec![-1, 0, 0, 1, 1]);
    }

    #[test]
    fn error_within_half_a_step_for_every_width_and_granularity() {
        let x = sample(13, 70, 7);
        for bits in MIN_BITS..=MAX_BITS {
            for g in [
                Granularity::PerChannel,
                Granularity::PerToken,
                Granularity::PerGroup(16),
                Granularity::PerGroup(7),
            ] {
                let q = quantize(x.view(), bits, g).unwrap();
                let d = q.dequantize();
                let group = g.group_len(x.ncols());
                let qmax = max_level(bits).unwrap();
                for ((r, c), &v) in x.indexed_iter() {
                    let s = q.scales[[r, c / group]];
                    let code = i32::from(q.codes[[r, c]]);
                    assert!(code.abs() <= qmax, "code {code} outside +-{qmax}");
                    // Half a step, plus one f32 rounding of the division.
                    assert!(
                        (v - d[[r, c]]).abs() <= s * 0.5 * (1.0 + 1e-6),
                        "bits {bits} {g:?} ({r},{c}): {v} -> {}",
                        d[[r, c]]
                    );
                }
            }
        }
    }

    #[test]
    fn fake_quant_is_idempotent_bit_for_bit() {
        let x = sample(9, 50, 3);
        for bits in MIN_BITS..=MAX_BITS {
            for g in [Granularity::PerChannel, Granularity::PerGroup(8)] {
                let once = fake_quant(x.view(), bits, g).unwrap();
                let twice = fake_quant(once.view(), bits, g).unwrap();
                assert_eq!(once, twice, "bits {bits} {g:?}");
                // Re-quantising recovers the same codes and scales.
                let q1 = quantize(x.view(), bits, g).unwrap();
                let q2 = quantize(once.view(), bits, g).unwrap();
                assert_eq!(q1, q2);
            }
        }
    }

    #[test]
    fn zeros_stay_zero_and_zero_rows_get_zero_scale() {
        let mut x = sample(4, 12, 11);
        x.row_mut(2).fill(0.0);
        x[[0, 5]] = 0.0;
        x[[3, 0]] = -0.0;
        let q = quantize(x.view(), 3, Granularity::PerChannel).unwrap();
        assert_eq!(q.scales[[2, 0]], 0.0);
        let d = q.dequantize();
        assert!(d.row(2).iter().all(|&v| v == 0.0));
        assert_eq!(d[[0, 5]], 0.0);
        assert_eq!(d[[3, 0]], 0.0);
    }

    #[test]
    fn per_group_scales_follow_their_own_group() {
        // Group 1 (scale 0.01; codes 1, -2, 3, 1.6 -> 2) is tiny, group 2 is large: per-row quantisation at 3 bits flushes the
        // small group to zero, per-group keeps it.
        let x = array![[0.01f32, -0.02, 0.03, 0.016, 5.0, -3.0, 1.0, 2.0]];
        let per_row = fake_quant(x.view(), 3, Granularity::PerChannel).unwrap();
        assert!(per_row.slice(ndarray::s![0, ..4]).iter().all(|&v| v == 0.0));
        let q = quantize(x.view(), 3, Granularity::PerGroup(4)).unwrap();
        assert_eq!(q.scales.dim(), (1, 2));
        assert!((q.scales[[0, 0]] - 0.01).abs() < 1e-6); // 0.03 / 3
        assert!((q.scales[[0, 1]] - 5.0 / 3.0).abs() < 1e-4);
        assert_eq!(q.codes.row(0).to_vec(), vec![1, -2, 3, 2, 3, -2, 1, 1]);
    }

    #[test]
    fn ragged_last_group() {
        let x = array![[1.0f32, 2.0, 3.0, 4.0, 5.0, 100.0, -50.0]];
        let q = quantize(x.view(), 8, Granularity::PerGroup(3)).unwrap();
        assert_eq!(q.scales.dim(), (1, 3));
        // Last group is the single value -50: code -127.
        assert_eq!(q.codes[[0, 6]], -127);
        assert_eq!(q.codes[[0, 5]], 127);
    }

    #[test]
    fn per_token_equals_per_row() {
        let x = sample(6, 20, 5);
        let a = fake_quant(x.view(), 5, Granularity::PerToken).unwrap();
        let b = fake_quant(x.t().t(), 5, Granularity::PerChannel).unwrap();
        assert_eq!(a, b);
        // Per token on X is per channel on X^T's columns: quantising the transpose per row
        // gives the per-column variant, which generally differs.
        let c = fake_quant(x.t(), 5, Granularity::PerToken).unwrap();
        assert_ne!(c.t().to_owned(), a);
    }

    #[test]
    fn granularity_names_round_trip() {
        for g in [
            Granularity::PerChannel,
            Granularity::PerToken,
            Granularity::PerGroup(128),
        ] {
            assert_eq!(g.to_string().parse::<Granularity>().unwrap(), g);
        }
        for bad in ["per-group:0", "per-row", "per-group:x"] {
            assert!(bad.parse::<Granularity>().is_err(), "{bad}");
        }
    }

    #[test]
    fn rejects_bad_bits_group_and_non_finite() {
        let x = array![[1.0f32, 2.0]];
        for bits in [0, 1, 9, 16] {
            let e = quantize(x.view(), bits, Granularity::PerChannel).unwrap_err();
            assert!(e.to_string().contains("2..=8"), "{e}");
            assert!(e.is_input());
        }
        assert!(quantize(x.view(), 4, Granularity::PerGroup(0)).is_err());
        let bad = array![[1.0f32, f32::NAN]];
        let e = quantize(bad.view(), 4, Granularity::PerChannel).unwrap_err();
        assert!(e.to_string().contains("x[0, 1]"), "{e}");
    }

    #[test]
    fn magic_rounding_is_ties_to_even() {
        let mut v = -130.0f32;
        while v <= 130.0 {
            assert_eq!(round_ties_even_small(v), v.round_ties_even(), "{v}");
            v += 0.125; // hits every tie (x.5) exactly
        }
        for v in [0.49999997f32, -0.49999997, 2.5000002, 1e-30, -0.0] {
            assert_eq!(round_ties_even_small(v), v.round_ties_even(), "{v}");
        }
    }

    #[test]
    fn scale_rounding_keeps_products_exact() {
        for &s in &[0.2f32, 1.0 / 7.0, 3.3e-5, 123.456, 1.0] {
            let r = round_scale_up(s);
            assert!(r >= s && (r - s) / s < 1.0 / 32768.0);
            for code in -127i32..=127 {
                let p = code as f32 * r;
                assert_eq!(f64::from(p), f64::from(code) * f64::from(r));
            }
        }
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn matrix() -> impl Strategy<Value = Array2<f32>> {
        (1usize..6, 1usize..40).prop_flat_map(|(r, c)| {
            proptest::collection::vec(
                prop_oneof![Just(0.0f32), -1e3f32..1e3, -1e-3f32..1e-3],
                r * c,
            )
            .prop_map(move |v| Array2::from_shape_vec((r, c), v).expect("r * c values"))
        })
    }

    fn granularity() -> impl Strategy<Value = Granularity> {
        prop_oneof![
            Just(Granularity::PerChannel),
            Just(Granularity::PerToken),
            (1usize..20).prop_map(Granularity::PerGroup),
        ]
    }

    proptest! {
        #[test]
        fn bounded_error_idempotence_and_zeros(x in matrix(), bits in 2u32..=8, g in granularity()) {
            let q = quantize(x.view(), bits, g).unwrap();
            let d = q.dequantize();
            let group = g.group_len(x.ncols());
            for ((r, c), &v) in x.indexed_iter() {
                let s = q.scales[[r, c / group]];
                prop_assert!((v - d[[r, c]]).abs() <= s * 0.5 * (1.0 + 1e-6));
                if v == 0.0 {
                    prop_assert_eq!(d[[r, c]], 0.0);
                }
            }
            prop_assert_eq!(fake_quant(d.view(), bits, g).unwrap(), d);
        }
    }
}
