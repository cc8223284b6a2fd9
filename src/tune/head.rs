//! An exit head: RMSNorm, LM head and the mean next-token cross-entropy over the `T`
//! rows, with its backward; and the log-softmax for evaluation.
//!
//! The loss keeps its input, the per-row `1/rms` and the `[T, vocab]` probabilities in
//! the engine's scalar (fp32 in training, as the reference upcasts the logits before the
//! cross-entropy): `dL/dz = (softmax(z) - onehot(target)) / T`.
//!
//! Softmax rows are max-subtracted and summed in f64; rows run in parallel (each row's
//! arithmetic is fixed, so the result does not depend on the thread count).

use super::base::FrozenLinear;
use super::gemms;
use super::model::ExitHead;
use super::ops::{rms_norm, rms_norm_apply, rms_norm_backward};
use super::real::{Real, f64_of, gemm};
use super::record::Recorder;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use rayon::prelude::*;

/// The weights an exit applies: the model's own final norm and LM head (frozen, shared)
/// or a trained copy.
#[derive(Clone, Copy)]
pub(crate) enum HeadWeights<'a, T: Real> {
    /// Frozen: the final norm and the packed LM head.
    Frozen {
        norm: &'a Array1<T>,
        head: &'a FrozenLinear<T>,
    },
    /// A trained exit head.
    Trained(&'a ExitHead<T>),
}

impl<'a, T: Real> HeadWeights<'a, T> {
    fn norm(&self) -> ArrayView1<'a, T> {
        match *self {
            HeadWeights::Frozen { norm, .. } => norm.view(),
            HeadWeights::Trained(e) => e.norm.view(),
        }
    }

    /// Logits `[T, vocab]` of normed rows `n`.
    fn logits(&self, n: ArrayView2<T>) -> Array2<T> {
        match *self {
            HeadWeights::Frozen { head, .. } => T::matmul(n, &head.w),
            // A trained head changes every step: packed for this one product.
            HeadWeights::Trained(e) => T::matmul(n, &T::pack(e.head.view())),
        }
    }
}

/// What the head keeps for its backward.
pub(crate) struct HeadCache<T> {
    x: Array2<T>,
    rstd: Array1<T>,
    /// Softmax probabilities `[T, vocab]` (the logits, normalised in place).
    probs: Array2<T>,
    ids: [usize; 3],
}

/// Forward of the head on `x` (`[T, hidden]`) with `targets` (`T` ids below the
/// vocabulary size, checked by the caller): the mean NLL (nats) and, with `keep`, the
/// cache. `None` if a logit is not finite.
pub(crate) fn forward<T: Real>(
    hw: HeadWeights<T>,
    x: Array2<T>,
    targets: &[u32],
    eps: f64,
    keep: bool,
    rec: &mut Recorder,
) -> Option<(f64, Option<HeadCache<T>>)> {
    let (n, rstd) = rms_norm(x.view(), hw.norm(), eps);
    let mut z = hw.logits(n.view());
    let (t, hidden, vocab) = (x.nrows(), x.ncols(), z.ncols());
    rec.gemm(gemms::weight16("lm_head", t, hidden, vocab));
    let nll: Vec<Option<f64>> = z
        .axis_iter_mut(Axis(0))
        .into_par_iter()
        .zip(targets.par_iter())
        .map(|(mut row, &tgt)| {
            let zt = f64_of(row[tgt as usize]);
            let max = row.iter().fold(T::neg_infinity(), |m, &v| m.max(v));
            if !row.iter().all(|v| v.is_finite()) {
                return None;
            }
            let mut sum = 0.0f64;
            for v in row.iter_mut() {
                *v = (*v - max).exp();
                sum += f64_of(*v);
            }
            let inv = T::from_f64(1.0 / sum);
            row.mapv_inplace(|v| v * inv);
            Some(f64_of(max) + sum.ln() - zt)
        })
        .collect();
    let loss = nll.into_iter().sum::<Option<f64>>()? / t as f64;
    let cache = keep.then(|| {
        let b = std::mem::size_of::<T>() as u64;
        let ids = [
            rec.save("head_in", (t * hidden) as u64, (t * hidden) as u64 * b),
            rec.save("rstd_head", t as u64, t as u64 * b),
            rec.save("logits", (t * vocab) as u64, (t * vocab) as u64 * b),
        ];
        HeadCache {
            x,
            rstd,
            probs: z,
            ids,
        }
    });
    Some((loss, cache))
}

/// Backward of the head: `d loss / d x` scaled by `grad_scale`; for a trained head adds
/// the gradients of its norm and LM head into `grad`.
pub(crate) fn backward<T: Real>(
    hw: HeadWeights<T>,
    c: HeadCache<T>,
    targets: &[u32],
    grad_scale: f64,
    grad: Option<&mut ExitHead<T>>,
    rec: &mut Recorder,
) -> Array2<T> {
    let HeadCache {
        x,
        rstd,
        probs: mut dz,
        ids,
    } = c;
    let (t, hidden, vocab) = (x.nrows(), x.ncols(), dz.ncols());
    let s = T::from_f64(grad_scale / t as f64);
    dz.axis_iter_mut(Axis(0))
        .into_par_iter()
        .zip(targets.par_iter())
        .for_each(|(mut row, &tgt)| {
            row[tgt as usize] = row[tgt as usize] - T::one();
            row.mapv_inplace(|v| v * s);
        });
    rec.free(ids[2]);
    let dn = match hw {
        HeadWeights::Frozen { head, .. } => T::matmul(dz.view(), &head.wt),
        HeadWeights::Trained(e) => dz.dot(&e.head),
    };
    rec.gemm(gemms::weight16("dgrad_lm_head", t, vocab, hidden));
    let mut dx = Array2::zeros((t, hidden));
    match (hw, grad) {
        (HeadWeights::Trained(e), Some(g)) => {
            let n = rms_norm_apply(x.view(), rstd.view(), e.norm.view());
            gemm(
                T::one(),
                &dz.t(),
                &n.view(),
                T::one(),
                &mut g.head.view_mut(),
            );
            rec.gemm(gemms::activation("wgrad_lm_head", vocab, t, hidden, 1, 16));
            rms_norm_backward(
                x.view(),
                rstd.view(),
                e.norm.view(),
                dn.view(),
                dx.view_mut(),
                Some(g.norm.view_mut()),
            );
        }
        _ => rms_norm_backward(
            x.view(),
            rstd.view(),
            hw.norm(),
            dn.view(),
            dx.view_mut(),
            None,
        ),
    }
    rec.free(ids[0]);
    rec.free(ids[1]);
    dx
}

/// Log-softmax `[T, vocab]` of the head on `x` (evaluation: nothing kept or recorded),
/// in f32.
pub(crate) fn log_probs<T: Real>(hw: HeadWeights<T>, x: ArrayView2<T>, eps: f64) -> Array2<f32> {
    let (n, _) = rms_norm(x, hw.norm(), eps);
    let z = hw.logits(n.view());
    let mut out = Array2::<f32>::zeros(z.raw_dim());
    out.axis_iter_mut(Axis(0))
        .into_par_iter()
        .zip(z.axis_iter(Axis(0)).into_par_iter())
        .for_each(|(mut o, zr)| {
            let max = zr.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(f64_of(v)));
            let sum: f64 = zr.iter().map(|&v| (f64_of(v) - max).exp()).sum();
            let lse = max + sum.ln();
            for (o, &v) in o.iter_mut().zip(zr.iter()) {
                *o = (f64_of(v) - lse) as f32;
            }
        });
    out
}

/// Logits `[T, vocab]` of the head on `x` (tests compare them with `llm::forward`).
#[cfg(test)]
pub(crate) fn logits<T: Real>(hw: HeadWeights<T>, x: ArrayView2<T>, eps: f64) -> Array2<T> {
    let (n, _) = rms_norm(x, hw.norm(), eps);
    hw.logits(n.view())
}
