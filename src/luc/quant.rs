//! Symmetric round-to-nearest quantiser of the Edge-LLM reference code, at any integer
//! width from 2 to 16 bits.
//!
//! For `b` bits the integer levels are `-(2^(b-1)-1) ..= 2^(b-1)-1` (no zero point, the
//! most negative two's-complement code is unused, so the grid is symmetric). Each row of
//! the matrix (or each group of `g` consecutive columns within a row) gets one scale
//! `s = max|x| / (2^(b-1)-1)`; a value is coded as `round(x / s)` (ties to even, like
//! `torch.round`) clamped to the levels, and dequantised as `code * s`. Codes are stored
//! as `i16` (16-bit codes reach +-32767).
//!
//! How the scale is stored decides what holds exactly. Up to [`EXACT_MAX_BITS`] = 12
//! bits, everything is exact:
//! - the scale is rounded **up** to [`scale_significant_bits`]`(b) = min(16, 25 - b)`
//!   significant bits (16 up to 9 bits, 13 at 12 bits). A `b`-bit code has at most
//!   `b - 1` significant bits, so `code * s` needs at most 24 bits and is exact in f32:
//!   dequantisation has no rounding error. The scale grows by less than `2^-(sig-1)`
//!   relative, so the row maximum still codes to the top level (`qmax * 2^-(sig-1)` is
//!   below 1/2 for every `b <= 12`), the dequantised maximum is exactly `qmax * s`,
//!   re-quantising a dequantised matrix recovers the same codes and the same scale, and
//!   [`fake_quant`] is exactly idempotent.
//!
//! From 13 to 16 bits exact products and the top level cannot both be had: an exact
//! product leaves at most `25 - b` scale bits, whose round-up (up to `2^-(24-b)`) would
//! push the row maximum 2 (13 bits) to 128 (16 bits) codes below the top level and break
//! idempotence. So for wide codes:
//! - the scale is `max|x| / qmax` rounded to the **nearest** value with
//!   [`WIDE_SCALE_BITS`] = 20 significant bits (relative change at most `2^-20`, so the
//!   step is round-to-nearest's to within one part in a million; when the scale rounds
//!   down, the row maximum is clamped to the top level, off by at most `qmax * 2^-20`,
//!   1/32 of a step at 16 bits);
//! - dequantisation `code * s` is rounded once to f32 (relative error at most `2^-24`,
//!   i.e. at most `qmax * 2^-24 < 2^-9` of a step);
//! - re-quantising still recovers the same codes and scales and [`fake_quant`] stays
//!   exactly idempotent: the rounded maximum `fl(qmax * s) / qmax` is within `2^-24` of
//!   `s`, far inside half the 20-bit scale grid (`2^-21`), and every dequantised value
//!   divided by `s` is within `32767 * 2^-23 < 0.004` of its code.
//!
//! At every width:
//! - the division `x / s` and the rounding to the nearest code are done in f64, so the
//!   chosen code is the nearest one even for 16-bit codes (an f32 quotient near 32767
//!   carries an error of up to 0.002 of a step): every value is within half a step of
//!   `code * s` (plus the one f32 rounding of the product for wide codes).
//! - a row or group that is all zeros gets scale 0 and codes 0, so zeros stay zero and
//!   no division by zero happens.
//!
//! Which rows are "channels" or "tokens" is the caller's layout: per output channel is per
//! row of a weight `W[out, in]`, per token is per row of an activation `X[tokens, in]`.

use ndarray::{Array2, ArrayView2, Axis, Zip};

use crate::{Error, Result};

/// Smallest supported bit-width (three levels: -1, 0, 1).
pub const MIN_BITS: u32 = 2;
/// Largest supported bit-width (codes are stored as `i16`).
pub const MAX_BITS: u32 = 16;

/// Widest codes whose dequantised values `code * scale` are exact in f32 (module docs).
pub const EXACT_MAX_BITS: u32 = 12;

/// Significant bits of the scale of 13- to 16-bit codes: at least `b + 2` so the row
/// maximum keeps the top level with margin, at most 21 so the f32 rounding of a
/// dequantised value (`2^-24`) stays well inside half the scale grid (module docs).
pub const WIDE_SCALE_BITS: u32 = 20;

/// Largest magnitude accepted for a quantised value: `2^126`. Above it the scale of a
/// 2-bit row (`max|x| / 1`, rounded up) could overflow to infinity.
pub const MAX_ABS: f32 = (1u128 << 126) as f32;

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
    pub codes: Array2<i16>,
    /// Scales shaped `[rows, groups per row]` (one column unless [`Granularity::PerGroup`]),
    /// each with at most [`scale_significant_bits`]`(bits)` significant bits.
    pub scales: Array2<f32>,
    /// Bit-width of the codes.
    pub bits: u32,
    /// How scales are shared.
    pub granularity: Granularity,
}

impl Quantized {
    /// The dequantised matrix `code * scale` (exact in f32 up to 12 bits, one rounding
    /// above; see the module docs).
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

/// Largest code magnitude for `bits`: `2^(bits-1) - 1`. Errors outside `2..=16`.
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

/// Significant bits kept in a scale for `bits`-bit codes: `min(16, 25 - bits)` up to
/// [`EXACT_MAX_BITS`] (the most that keeps every `code * scale` exact in f32's 24-bit
/// significand), [`WIDE_SCALE_BITS`] above (module docs).
pub fn scale_significant_bits(bits: u32) -> u32 {
    if bits <= EXACT_MAX_BITS {
        16.min(25u32.saturating_sub(bits))
    } else {
        WIDE_SCALE_BITS
    }
}

/// Rounds a positive finite scale up to `sig` significant bits (1..=24; module docs).
fn round_scale_up(s: f32, sig: u32) -> f32 {
    // f32 has 23 stored mantissa bits + the implicit one; keep the top `sig - 1` stored.
    let low: u32 = (1 << (24 - sig)) - 1;
    let bits = s.to_bits();
    if bits & low == 0 {
        s
    } else {
        // Adding one unit of the kept precision carries into the exponent correctly for
        // positive floats; the result stays finite because the input is at most
        // MAX_ABS = 2^126 (checked by `quantize`).
        f32::from_bits((bits | low) + 1)
    }
}

/// Rounds a positive finite `t` to the nearest value with `sig` significant bits
/// (1..=24; halfway cases away from zero), as f32 (exact: `sig <= 24` and `t` is a
/// quotient of f32 values, inside f32's normal range or rounded into its subnormals).
fn round_scale_nearest(t: f64, sig: u32) -> f32 {
    // f64 has 52 stored mantissa bits; adding half a unit of the kept precision then
    // truncating rounds to nearest (a carry into the exponent is correct for positive
    // floats).
    let drop = 53 - sig;
    let low: u64 = (1 << drop) - 1;
    f64::from_bits((t.to_bits() + (1 << (drop - 1))) & !low) as f32
}

/// `v.round_ties_even()` for `|v| <= 2^51`, without a libm call (8x slower here):
/// adding and subtracting `1.5 * 2^52` makes the FPU round to an integer in its default
/// round-to-nearest-even mode (the sum has no fractional mantissa bits left). Codes are
/// at most 32767 in size.
#[inline]
fn round_ties_even_small(v: f64) -> f64 {
    const MAGIC: f64 = 6_755_399_441_055_744.0; // 1.5 * 2^52
    (v + MAGIC) - MAGIC
}

/// The scale of a row or group with largest magnitude `max_abs > 0` (module docs).
fn scale_of(max_abs: f32, qmax: i32, bits: u32) -> f32 {
    let sig = scale_significant_bits(bits);
    if bits <= EXACT_MAX_BITS {
        round_scale_up(max_abs / qmax as f32, sig)
    } else {
        round_scale_nearest(f64::from(max_abs) / f64::from(qmax), sig)
    }
}

/// Quantises `x` to `bits`-bit symmetric codes with one scale per row or per group.
///
/// Errors when `bits` is outside `2..=16`, when a group size is 0, or when `x` holds a
/// non-finite value or one above [`MAX_ABS`] in magnitude.
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
    if let Some(((r, c), v)) = x.indexed_iter().find(|(_, v)| v.abs() > MAX_ABS) {
        return Err(Error::input(
            "quantiser",
            format!("x[{r}, {c}]"),
            format!("|{v}| is above {MAX_ABS:e} (2^126), the largest quantisable magnitude"),
        ));
    }
    let cols = x.ncols();
    let group = granularity.group_len(cols);
    let groups = cols.div_ceil(group).max(1);
    let qmax_d = f64::from(qmax);
    let mut codes = Array2::<i16>::zeros(x.raw_dim());
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
                let s = scale_of(max_abs, qmax, bits);
                scale_row[gi] = s;
                let s_d = f64::from(s);
                for (c, &v) in code_row
                    .slice_mut(ndarray::s![start..end])
                    .iter_mut()
                    .zip(xs.iter())
                {
                    // |code| <= 32767 fits i16; the f64 quotient is within 2^-38 of a
                    // step of the exact one, so the nearest code is chosen.
                    *c = round_ties_even_small((f64::from(v) / s_d).clamp(-qmax_d, qmax_d)) as i16;
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
                    // Half a step (plus, for wide codes, one f32 rounding of the product).
                    assert!(
                        (v - d[[r, c]]).abs() <= max_error(bits, s),
                        "bits {bits} {g:?} ({r},{c}): {v} -> {}",
                        d[[r, c]]
                    );
                }
            }
        }
    }

    /// The largest admissible |x - dequantised| for a scale `s` (module docs): half a
    /// step, plus `qmax * 2^-24` of a step for the rounded product of wide codes, plus a
    /// relative 1e-6 for the f32 subtraction in the check.
    pub(super) fn max_error(bits: u32, s: f32) -> f32 {
        let rounding = if bits > EXACT_MAX_BITS {
            max_level(bits).unwrap() as f32 * 2f32.powi(-24)
        } else {
            0.0
        };
        s * (0.5 + rounding) * (1.0 + 1e-6)
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
        for bits in [0, 1, 17, 32] {
            let e = quantize(x.view(), bits, Granularity::PerChannel).unwrap_err();
            assert!(e.to_string().contains("2..=16"), "{e}");
            assert!(e.is_input());
        }
        assert!(quantize(x.view(), 4, Granularity::PerGroup(0)).is_err());
        let bad = array![[1.0f32, f32::NAN]];
        let e = quantize(bad.view(), 4, Granularity::PerChannel).unwrap_err();
        assert!(e.to_string().contains("x[0, 1]"), "{e}");
        // 2^126 itself is accepted (its 2-bit scale is exactly 2^126), 2^127 is not.
        let edge = array![[MAX_ABS, -1.0]];
        let q = quantize(edge.view(), 2, Granularity::PerChannel).unwrap();
        assert_eq!(q.scales[[0, 0]], MAX_ABS);
        assert_eq!(q.dequantize()[[0, 0]], MAX_ABS);
        let huge = array![[1.0f32, -2.0 * MAX_ABS]];
        let e = quantize(huge.view(), 2, Granularity::PerChannel).unwrap_err();
        assert!(e.to_string().contains("x[0, 1]") && e.is_input(), "{e}");
    }

    #[test]
    fn magic_rounding_is_ties_to_even() {
        let mut v = -33000.0f64;
        while v <= 33000.0 {
            assert_eq!(round_ties_even_small(v), v.round_ties_even(), "{v}");
            v += 0.125; // hits every tie (x.5) exactly
        }
        for v in [
            0.49999999999999994f64,
            -0.49999999999999994,
            2.5000000000000004,
            32766.5,
            -32765.5,
            1e-300,
            -0.0,
        ] {
            assert_eq!(round_ties_even_small(v), v.round_ties_even(), "{v}");
        }
    }

    #[test]
    fn scale_rounding_keeps_products_exact_up_to_12_bits() {
        assert_eq!(scale_significant_bits(2), 16);
        assert_eq!(scale_significant_bits(9), 16);
        assert_eq!(scale_significant_bits(10), 15);
        assert_eq!(scale_significant_bits(12), 13);
        assert_eq!(scale_significant_bits(13), WIDE_SCALE_BITS);
        for bits in MIN_BITS..=EXACT_MAX_BITS {
            let sig = scale_significant_bits(bits);
            let qmax = max_level(bits).unwrap();
            for &s in &[0.2f32, 1.0 / 7.0, 3.3e-5, 123.456, 1.0, 0.999_999_9] {
                let r = round_scale_up(s, sig);
                // Rounded up by less than one unit in the last kept bit ...
                assert!(r >= s, "{bits} {s}");
                assert!(
                    f64::from(r - s) / f64::from(s) < 2f64.powi(1 - sig as i32),
                    "{bits} {s} -> {r}"
                );
                // ... to at most `sig` significant bits (the low 24 - sig stored bits are 0).
                assert_eq!(r.to_bits() & ((1 << (24 - sig)) - 1), 0, "{bits} {s}");
                for code in -qmax..=qmax {
                    let p = code as f32 * r;
                    assert_eq!(
                        f64::from(p),
                        f64::from(code) * f64::from(r),
                        "{bits} {code}"
                    );
                }
                // The value that sets the scale keeps the top level.
                let q = quantize(
                    ndarray::aview2(&[[s * qmax as f32, 0.0]]),
                    bits,
                    Granularity::PerChannel,
                )
                .unwrap();
                assert_eq!(i32::from(q.codes[[0, 0]]), qmax, "{bits} {s}");
            }
        }
    }

    #[test]
    fn wide_scales_round_to_nearest_20_bits() {
        for &t in &[
            0.2f64,
            1.0 / 7.0,
            3.3e-5,
            123.456,
            1.0,
            1.0 - 1e-9,
            1.5 - 2f64.powi(-21),
        ] {
            let r = round_scale_nearest(t, WIDE_SCALE_BITS);
            // Within half a unit of the 20th significant bit ...
            assert!((f64::from(r) - t).abs() <= t * 2f64.powi(-20), "{t} -> {r}");
            // ... with at most 20 significant bits.
            assert_eq!(r.to_bits() & 0xf, 0, "{t} -> {r}");
        }
        // Halfway between two 20-bit values (1 + 2^-20 lies between 1 and 1 + 2^-19):
        // away from zero.
        assert_eq!(
            round_scale_nearest(1.0 + 2f64.powi(-20), 20),
            1.0 + 2f32.powi(-19)
        );
        assert_eq!(round_scale_nearest(1.0 + 2f64.powi(-21), 20), 1.0);
        // The dequantised product is the correctly rounded f32 of code * scale.
        let x = uniform(4, 64, 21);
        for bits in EXACT_MAX_BITS + 1..=MAX_BITS {
            let q = quantize(x.view(), bits, Granularity::PerChannel).unwrap();
            let d = q.dequantize();
            for ((r, c), &v) in d.indexed_iter() {
                let exact = f64::from(q.codes[[r, c]]) * f64::from(q.scales[[r, 0]]);
                assert_eq!(v, exact as f32);
            }
        }
    }

    /// Uniform values (f64 draws rounded to f32) in `[-1, 1)`, row `r` scaled by `1 + r`.
    fn uniform(rows: usize, cols: usize, seed: u64) -> Array2<f32> {
        let mut rng = crate::policy::SplitMix64::new(seed);
        Array2::from_shape_fn((rows, cols), |(r, _)| {
            ((2.0 * rng.next_f64() - 1.0) * (1.0 + r as f64)) as f32
        })
    }

    fn mse_of(a: &Array2<f32>, b: &Array2<f32>) -> f64 {
        a.iter()
            .zip(b)
            .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
            .sum::<f64>()
            / a.len() as f64
    }

    /// For values spread uniformly over the cells, the rounding error is uniform on
    /// `[-step/2, step/2]`: mean squared error `step^2 / 12` (Widrow & Kollar,
    /// "Quantization Noise", 2008, ch. 4), at every width including 2 bits (cells
    /// `[-max, -s/2)`, `[-s/2, s/2]`, `(s/2, max]` with `s = max`).
    #[test]
    fn mse_decreases_with_width_and_matches_step_squared_over_12() {
        let x = uniform(32, 1024, 5);
        let mut last = f64::INFINITY;
        for bits in MIN_BITS..=MAX_BITS {
            let q = quantize(x.view(), bits, Granularity::PerChannel).unwrap();
            let d = q.dequantize();
            let mse = mse_of(&x, &d);
            assert!(mse < last, "bits {bits}: {mse} not below {last}");
            last = mse;
            let mean_step_sq =
                q.scales.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / x.nrows() as f64;
            // Hard bound: every error is at most half a step (plus the product rounding
            // of wide codes).
            let half = f64::from(max_error(bits, 1.0));
            assert!(mse <= mean_step_sq * half * half, "bits {bits}");
            // Closed form step^2 / 12: over 32,768 values the sample mean of the squared
            // error is within ~0.5% (one standard deviation) of it.
            let closed = mean_step_sq / 12.0;
            assert!(
                (mse / closed - 1.0).abs() < 0.03,
                "bits {bits}: mse {mse:e}, step^2/12 {closed:e}"
            );
        }
    }

    /// The stored scale costs nothing measurable against round-to-nearest with the exact
    /// scale max|x| / qmax computed in f64: the step is larger by less than
    /// `2^-(sig-1)` (2^-15 at 9 bits, 2^-12 at 12; at most +-2^-20 for wide codes), so
    /// the MSE is within `(1 + 2^-(sig-1))^2` of the reference's, up to sampling: a
    /// relative scale change moves the cells near the top level by up to half a step, so
    /// the errors there are redrawn (squared uniform error: relative standard deviation
    /// `sqrt(9/5 - 1) = 0.89` per value, 0.25% over 131,072 values; allow 4 sigma).
    #[test]
    fn wide_codes_stay_close_to_exact_scale_rtn() {
        let x = uniform(32, 4096, 9);
        for bits in [8, 9, 12, 13, 16] {
            let qmax = f64::from(max_level(bits).unwrap());
            let reference: f64 = x
                .rows()
                .into_iter()
                .map(|row| {
                    let m = row.iter().fold(0.0f64, |m, v| m.max(f64::from(v.abs())));
                    let s = m / qmax;
                    row.iter()
                        .map(|&v| {
                            let v = f64::from(v);
                            (v - (v / s).round_ties_even().clamp(-qmax, qmax) * s).powi(2)
                        })
                        .sum::<f64>()
                })
                .sum::<f64>()
                / x.len() as f64;
            let d = fake_quant(x.view(), bits, Granularity::PerChannel).unwrap();
            let ours = mse_of(&x, &d);
            let inflation = 2f64.powi(1 - scale_significant_bits(bits) as i32);
            let sampling = 4.0 * 0.9 / (x.len() as f64).sqrt();
            let allowed = (1.0 + inflation).powi(2) * (1.0 + sampling);
            assert!(
                ours <= reference * allowed && ours >= reference / allowed,
                "bits {bits}: {ours:e} vs exact-scale {reference:e} (ratio {})",
                ours / reference
            );
        }
    }

    #[test]
    fn codes_stay_within_symmetric_levels_at_every_width() {
        // Extremes of both signs in every row: the max maps to +qmax, the min to -qmax,
        // never to the unused two's-complement code -2^(b-1).
        let mut x = uniform(6, 300, 13);
        for r in 0..x.nrows() {
            x[[r, 0]] = 10.0 * (r + 1) as f32;
            x[[r, 1]] = -10.0 * (r + 1) as f32;
        }
        for bits in MIN_BITS..=MAX_BITS {
            let qmax = max_level(bits).unwrap();
            assert_eq!(qmax, (1 << (bits - 1)) - 1);
            for g in [Granularity::PerChannel, Granularity::PerGroup(7)] {
                let q = quantize(x.view(), bits, g).unwrap();
                assert!(
                    q.codes.iter().all(|&c| i32::from(c).abs() <= qmax),
                    "{bits}"
                );
                if g == Granularity::PerChannel {
                    assert!(q.codes.column(0).iter().all(|&c| i32::from(c) == qmax));
                    assert!(q.codes.column(1).iter().all(|&c| i32::from(c) == -qmax));
                }
            }
        }
    }

    #[test]
    fn sixteen_bit_codes_round_to_nearest_even() {
        // 16 bits: row max 32767 -> scale exactly 1, so the codes are the values rounded
        // to the nearest integer, ties to even.
        let x = array![[32767.0f32, 32766.5, -32765.5, 0.5, 1.5, -2.5, 12345.25]];
        let q = quantize(x.view(), 16, Granularity::PerChannel).unwrap();
        assert_eq!(q.scales[[0, 0]], 1.0);
        assert_eq!(
            q.codes.row(0).to_vec(),
            vec![32767, 32766, -32766, 0, 2, -2, 12345]
        );
        // Row max 1.0: s = 1/32767 rounded to the nearest 20-significant-bit value; the
        // top value codes to 32767 and every value is within half a step (plus the
        // product's rounding).
        let y = array![[1.0f32, 0.3, -0.7, 1e-6]];
        let q = quantize(y.view(), 16, Granularity::PerChannel).unwrap();
        let s = q.scales[[0, 0]];
        let exact = 1.0 / 32767.0;
        assert!(
            (f64::from(s) - exact).abs() <= exact * 2f64.powi(-20),
            "{s}"
        );
        assert_eq!(q.codes[[0, 0]], 32767);
        let d = q.dequantize();
        for (a, b) in y.iter().zip(&d) {
            assert!((a - b).abs() <= max_error(16, s), "{a} -> {b}");
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
        fn bounded_error_idempotence_and_zeros(x in matrix(), bits in 2u32..=16, g in granularity()) {
            let q = quantize(x.view(), bits, g).unwrap();
            let d = q.dequantize();
            let group = g.group_len(x.ncols());
            for ((r, c), &v) in x.indexed_iter() {
                let s = q.scales[[r, c / group]];
                prop_assert!((v - d[[r, c]]).abs() <= super::tests::max_error(bits, s));
                if v == 0.0 {
                    prop_assert_eq!(d[[r, c]], 0.0);
                }
            }
            prop_assert_eq!(fake_quant(d.view(), bits, g).unwrap(), d);
        }
    }
}
