//! Next-token negative log-likelihood with the LM head fused into the log-softmax.
//!
//! `nll = logsumexp(z) - z[target]` per position, `z = h W^T` (`W` the `[vocab, hidden]`
//! head). The vocabulary is walked in slabs of [`SLAB_PANELS`] GEMM panels (1,536 logits
//! per row), so the `[T, vocab]` logits are never all alive (at SmolLM2's 49,152 ids and
//! 128 tokens they would be 25 MB, far beyond the L2 cache). Each slab updates a running
//! log-sum-exp per row, max-subtracted so no exponent is positive (the online softmax of
//! Milakov & Gimelshein, arXiv:1805.02867): with running max `m` and sum
//! `s = sum exp(z - m)`, a slab with max `m' > m` rescales `s` by `exp(m - m')`.
//! Sums and the result are f64; logits are f32 (the GEMM's output).

use super::gemm::{NR, PackedWeight, matmul_into};
use ndarray::{Array2, ArrayView2, s};

/// GEMM panels per vocabulary slab: 32 x 48 = 1,536 logits per row, a `[128, 1536]` f32
/// slab (768 KiB) that stays in a 2 MiB L2 cache between the GEMM and the reduction.
const SLAB_PANELS: usize = 32;

/// Lanes of the reductions (one AVX-512 register of f32); fixed, so the summation order,
/// hence the result, is the same on every CPU.
const LANES: usize = 16;

/// Per-position negative log-likelihood (nats) of `targets[t]` under the next-token
/// distribution `softmax(h[t] W^T)`, for `h: [T, hidden]` (final-normed hidden states),
/// `head` the packed `[vocab, hidden]` LM head and `targets: [T]`.
///
/// Returns `None` if a logit is not finite (a broken model), so that no NaN reaches a
/// mean. Panics if a target is outside the vocabulary or the shapes differ (the caller
/// validates both).
pub fn next_token_nll(
    h: ArrayView2<f32>,
    head: &PackedWeight,
    targets: &[u32],
) -> Option<Vec<f64>> {
    let rows = h.nrows();
    assert_eq!(rows, targets.len(), "one target per row");
    let vocab = head.out_features();
    assert!(
        targets.iter().all(|&t| (t as usize) < vocab),
        "target outside the vocabulary"
    );
    // Running (max, sum of exp(z - max)) per row, and the target logit.
    let mut max = vec![f32::NEG_INFINITY; rows];
    let mut sum = vec![0.0f64; rows];
    let mut target = vec![0.0f32; rows];
    let mut slab = Array2::<f32>::zeros((rows, (SLAB_PANELS * NR).min(vocab)));
    let mut p0 = 0;
    while p0 < head.panels() {
        let p1 = (p0 + SLAB_PANELS).min(head.panels());
        let (c0, c1) = (p0 * NR, (p1 * NR).min(vocab));
        let mut z = slab.slice_mut(s![.., ..c1 - c0]);
        matmul_into(h, head, p0..p1, z.view_mut(), false);
        for (r, row) in z.outer_iter().enumerate() {
            let row = row.to_slice().expect("contiguous slab rows");
            if !row.iter().all(|v| v.is_finite()) {
                return None;
            }
            let m = lanes_max(row);
            if m > max[r] {
                // The difference is exact in f64; exp(-inf) = 0 on the first slab, where
                // the empty sum stays 0.
                sum[r] *= (f64::from(max[r]) - f64::from(m)).exp();
                max[r] = m;
            }
            sum[r] += sum_exp_shifted(row, max[r]);
            let t = targets[r] as usize;
            if (c0..c1).contains(&t) {
                target[r] = row[t - c0];
            }
        }
        p0 = p1;
    }
    Some(
        (0..rows)
            .map(|r| f64::from(max[r]) + sum[r].ln() - f64::from(target[r]))
            .collect(),
    )
}

/// Largest value of `v` (lane-wise, then across lanes).
fn lanes_max(v: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; LANES];
    let mut chunks = v.chunks_exact(LANES);
    for c in &mut chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a = if x > *a { x } else { *a };
        }
    }
    for (a, &x) in acc.iter_mut().zip(chunks.remainder()) {
        *a = if x > *a { x } else { *a };
    }
    acc.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x))
}

/// `sum_j exp(v[j] - m)` in f64 for `m >= max(v)`, with [`exp_nonpositive`] per term:
/// multiversioned for AVX-512, the same arithmetic (and bits) either way.
fn sum_exp_shifted(v: &[f32], m: f32) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU supports the enabled feature.
        return unsafe { sum_exp_shifted_avx512(v, m) };
    }
    sum_exp_shifted_generic(v, m)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn sum_exp_shifted_avx512(v: &[f32], m: f32) -> f64 {
    sum_exp_shifted_generic(v, m)
}

#[inline(always)]
fn sum_exp_shifted_generic(v: &[f32], m: f32) -> f64 {
    let mut acc = [0.0f64; LANES];
    let mut chunks = v.chunks_exact(LANES);
    for c in &mut chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a += f64::from(exp_nonpositive(x - m));
        }
    }
    for (a, &x) in acc.iter_mut().zip(chunks.remainder()) {
        *a += f64::from(exp_nonpositive(x - m));
    }
    acc.iter().sum()
}

/// `exp(x)` for `x <= 0` in f32, branch-free and without float-to-integer conversions so
/// that it vectorises; relative error below 4 * 2^-23 (tested against f64 `exp`). Inputs
/// below -87 return `exp(-87) = 1.6e-38` instead of a smaller value, which changes a sum
/// of up to 10^9 terms that contains `exp(0) = 1` (the max) by less than 1e-28 relative.
///
/// Cody-Waite reduction `x = n ln 2 + r`, `|r| <= ln(2)/2`, with `ln 2` split into
/// `355/512` (exact: `n * 355/512` is exact for `|n| < 2^15`) plus the remainder; then
/// `exp(r)` by its Taylor polynomial to degree 7 (truncation `|r|^8/8! < 6e-9`, 0.05 ulp)
/// in Horner form, scaled by `2^n` built in the exponent bits (`n >= -126`: normal).
/// `n = round(x log2 e)` by adding `1.5 * 2^23`, which leaves `n` in the low mantissa
/// bits (exact for `|x log2 e| < 2^22`).
#[inline(always)]
pub(crate) fn exp_nonpositive(x: f32) -> f32 {
    const LN2_HI: f32 = 355.0 / 512.0;
    const LN2_LO: f32 = (std::f64::consts::LN_2 - 355.0 / 512.0) as f32;
    const ROUND: f32 = 12_582_912.0;
    let x = if x < -87.0 { -87.0 } else { x };
    let t = x * std::f32::consts::LOG2_E + ROUND;
    let nf = t - ROUND;
    let n = t.to_bits().wrapping_sub(ROUND.to_bits());
    let r = (x - nf * LN2_HI) - nf * LN2_LO;
    let mut p = 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    p * f32::from_bits(n.wrapping_add(127) << 23)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_nonpositive_is_within_4_ulp() {
        let mut worst = 0.0f64;
        for i in 0..=2_000_000 {
            let x = -87.0 * f64::from(i) / 2e6;
            let x32 = x as f32;
            let want = f64::from(x32).exp();
            let got = f64::from(exp_nonpositive(x32));
            // One ulp of f32 at `want` is want * 2^-23 at most.
            worst = worst.max((got - want).abs() / (want * f64::from(f32::EPSILON)));
        }
        assert!(worst <= 4.0, "{worst} ulp");
        assert_eq!(exp_nonpositive(0.0), 1.0);
        assert_eq!(exp_nonpositive(-1000.0), exp_nonpositive(-87.0));
    }

    #[test]
    fn fused_nll_matches_two_pass_log_softmax() {
        // 5 rows, hidden 7, vocab 3 slabs + a partial panel.
        let (rows, hidden, vocab) = (5, 7, 2 * SLAB_PANELS * NR + 50);
        let mut s = 9u64;
        let mut r = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 8.0 - 4.0
        };
        let h = Array2::from_shape_simple_fn((rows, hidden), &mut r);
        let w = Array2::from_shape_simple_fn((vocab, hidden), &mut r);
        let targets = [0u32, 1535, 1536, (vocab - 1) as u32, 2000];
        let got = next_token_nll(h.view(), &PackedWeight::new(w.view()), &targets).unwrap();
        for (i, &t) in targets.iter().enumerate() {
            let z: Vec<f64> = (0..vocab)
                .map(|v| {
                    (0..hidden)
                        .map(|k| f64::from(h[[i, k]]) * f64::from(w[[v, k]]))
                        .sum()
                })
                .collect();
            let m = z.iter().cloned().fold(f64::MIN, f64::max);
            let lse = m + z.iter().map(|x| (x - m).exp()).sum::<f64>().ln();
            let want = lse - z[t as usize];
            assert!(
                (got[i] - want).abs() <= 1e-5 * want.abs().max(1.0),
                "row {i}: {} vs {want}",
                got[i]
            );
        }
        let mut bad = w.clone();
        bad[[3000, 0]] = f32::NAN;
        assert!(next_token_nll(h.view(), &PackedWeight::new(bad.view()), &targets).is_none());
    }
}
