//! LoRA adapters (Hu et al., ICLR 2022) as PEFT implements them: a linear `y = x W^T`
//! becomes `y = x W^T + (alpha / r) dropout(x) A^T B^T`, `A: [r, in]`, `B: [out, r]`.
//!
//! Initialisation (PEFT's default `init_lora_weights=True`): `A` Kaiming-uniform with
//! `a = sqrt(5)`, which for a `[r, in]` matrix is `U(-1/sqrt(in), 1/sqrt(in))`
//! (gain `sqrt(2 / (1 + 5))`, bound `gain * sqrt(3 / in)`), `B` zero, so training starts
//! at the base model.
//!
//! Dropout (inverted, as `torch.nn.Dropout`: kept values scaled by `1/(1-p)`): the keep
//! decision of element `e` (row-major index into the linear's `[T, in]` input) is a pure
//! function of `(seed, layer, linear, e)` (a SplitMix64 finaliser over the key, Steele et
//! al., OOPSLA 2014), so backward regenerates the masks instead of storing them. Element
//! `e` is dropped when the high 32 bits of its hash are below `round(p 2^32)`: the drop
//! probability is `p` to within 2^-33.

use super::real::Real;
use crate::model::Linear;
use crate::policy::SplitMix64;
use ndarray::{Array2, ArrayView2};

/// LoRA hyper-parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct LoraConfig {
    /// Rank `r` (>= 1).
    pub rank: usize,
    /// Scaling numerator: the update is `alpha / r` times `B A`.
    pub alpha: f64,
    /// Dropout probability on the adapter's input, in `[0, 1)`.
    pub dropout: f64,
    /// Linears that get adapters.
    pub targets: Vec<Linear>,
}

impl Default for LoraConfig {
    /// Rank 8, alpha 16, dropout 0.1, all seven linears (PAPER.md's reference setting).
    fn default() -> Self {
        LoraConfig {
            rank: 8,
            alpha: 16.0,
            dropout: 0.1,
            targets: Linear::ALL.to_vec(),
        }
    }
}

impl LoraConfig {
    /// `alpha / r`.
    pub fn scale(&self) -> f64 {
        self.alpha / self.rank as f64
    }
}

/// One adapter.
#[derive(Debug, Clone, PartialEq)]
pub struct Lora<T> {
    /// Down-projection `[r, in]`.
    pub a: Array2<T>,
    /// Up-projection `[out, r]`.
    pub b: Array2<T>,
}

impl<T: Real> Lora<T> {
    /// PEFT initialisation: `A ~ U(-1/sqrt(in), 1/sqrt(in))` from `seed`, `B = 0`.
    pub fn init(rank: usize, inp: usize, out: usize, seed: u64) -> Self {
        let mut rng = SplitMix64::new(seed);
        let bound = 1.0 / (inp as f64).sqrt();
        Lora {
            a: Array2::from_shape_simple_fn((rank, inp), || {
                T::from_f64((2.0 * rng.next_f64() - 1.0) * bound)
            }),
            b: Array2::zeros((out, rank)),
        }
    }

    /// Same shapes, zeros.
    pub fn zeros_like(&self) -> Self {
        Lora {
            a: Array2::zeros(self.a.raw_dim()),
            b: Array2::zeros(self.b.raw_dim()),
        }
    }
}

/// The adapters of one decoder layer.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerAdapters<T> {
    /// One per linear in [`Linear::ALL`] order; `None` where the linear is not a target.
    pub lora: [Option<Lora<T>>; 7],
}

impl<T> LayerAdapters<T> {
    /// No adapters.
    pub fn none() -> Self {
        LayerAdapters {
            lora: std::array::from_fn(|_| None),
        }
    }

    /// The adapter of `l`, if any.
    pub fn get(&self, l: Linear) -> Option<&Lora<T>> {
        self.lora[l as usize].as_ref()
    }
}

/// SplitMix64's output function.
#[inline(always)]
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// SplitMix64's increment (the golden ratio in 64 bits).
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// A seed for one (layer, linear) pair derived from a run seed (distinct streams).
pub(crate) fn derive_seed(seed: u64, layer: usize, linear: usize, salt: u64) -> u64 {
    let mut h = mix64(seed ^ salt);
    h = mix64(h.wrapping_add(GOLDEN.wrapping_mul(layer as u64 + 1)));
    mix64(h.wrapping_add(GOLDEN.wrapping_mul(linear as u64 + 101)))
}

/// The dropout mask of one adapter input, regenerated on demand.
#[derive(Debug, Clone, Copy)]
pub struct Dropout {
    key: u64,
    threshold: u64,
    inv_keep: f64,
}

impl Dropout {
    /// The mask of adapter (`layer`, `linear`) under `seed` with drop probability `p`
    /// (`None` when `p == 0`: nothing is dropped).
    pub fn new(seed: u64, layer: usize, linear: Linear, p: f64) -> Option<Self> {
        (p > 0.0).then(|| Dropout {
            key: derive_seed(seed, layer, linear as usize, 0xD50F),
            threshold: (p * 4_294_967_296.0).round() as u64,
            inv_keep: 1.0 / (1.0 - p),
        })
    }

    /// Whether element `e` is kept.
    #[inline(always)]
    pub fn keep(&self, e: usize) -> bool {
        mix64(self.key.wrapping_add(GOLDEN.wrapping_mul(e as u64 + 1))) >> 32 >= self.threshold
    }

    /// `x * mask / (1 - p)` (elements indexed row-major over `x`'s shape).
    pub fn apply<T: Real>(&self, x: ArrayView2<T>) -> Array2<T> {
        let s = T::from_f64(self.inv_keep);
        let cols = x.ncols();
        let mut out = Array2::zeros(x.raw_dim());
        for (i, (xr, mut or)) in x.outer_iter().zip(out.outer_iter_mut()).enumerate() {
            for (j, (o, &v)) in or.iter_mut().zip(xr.iter()).enumerate() {
                if self.keep(i * cols + j) {
                    *o = v * s;
                }
            }
        }
        out
    }

    /// Applies the mask and scale in place (the backward of [`Dropout::apply`]).
    pub fn apply_in_place<T: Real>(&self, x: &mut Array2<T>) {
        let s = T::from_f64(self.inv_keep);
        let cols = x.ncols();
        for (i, mut r) in x.outer_iter_mut().enumerate() {
            for (j, v) in r.iter_mut().enumerate() {
                *v = if self.keep(i * cols + j) {
                    *v * s
                } else {
                    T::zero()
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_is_peft_kaiming_uniform_and_zero_b() {
        let l = Lora::<f64>::init(8, 400, 30, 5);
        let bound = 1.0 / 20.0;
        assert!(l.a.iter().all(|v| v.abs() <= bound));
        // U(-b, b) has variance b^2/3; 3,200 draws: standard error of the variance ~2.5%.
        let var = l.a.iter().map(|v| v * v).sum::<f64>() / l.a.len() as f64;
        assert!((var / (bound * bound / 3.0) - 1.0).abs() < 0.1, "{var}");
        assert!(l.b.iter().all(|v| *v == 0.0));
        assert_eq!(Lora::<f64>::init(8, 400, 30, 5), l);
        assert_ne!(Lora::<f64>::init(8, 400, 30, 6).a, l.a);
    }

    #[test]
    fn dropout_rate_scale_and_determinism() {
        let p = 0.1;
        let d = Dropout::new(42, 3, Linear::Up, p).unwrap();
        let x = Array2::<f64>::ones((100, 1000));
        let y = d.apply(x.view());
        let dropped = y.iter().filter(|v| **v == 0.0).count() as f64 / 1e5;
        // Binomial(1e5, 0.1): standard deviation 0.00095.
        assert!((dropped - p).abs() < 0.005, "{dropped}");
        assert!(
            y.iter()
                .all(|v| *v == 0.0 || (v - 1.0 / 0.9).abs() < 1e-15)
        );
        assert_eq!(d.apply(x.view()), y);
        let mut z = x.clone();
        d.apply_in_place(&mut z);
        assert_eq!(z, y);
        // Other layer, linear or seed: another mask.
        for other in [
            Dropout::new(42, 4, Linear::Up, p),
            Dropout::new(42, 3, Linear::Gate, p),
            Dropout::new(43, 3, Linear::Up, p),
        ] {
            assert_ne!(other.unwrap().apply(x.view()), y);
        }
        assert!(Dropout::new(1, 0, Linear::Q, 0.0).is_none());
    }
}
