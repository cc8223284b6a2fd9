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
//! al., OOPSLA 2014), so backward regenerates the masks instead of storing them. One
//! 64-bit hash serves four consecutive elements (16-bit lanes); an element is dropped when
//! its lane is below `round(p 2^16)`: the drop probability is `p` to within 2^-17.

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
    /// Drop when a 16-bit lane is below this.
    threshold: u64,
    inv_keep: f64,
}

/// Mask elements per hash (16-bit lanes of one 64-bit hash).
const LANES: usize = 4;

/// `mix64(key + GOLDEN (c + 1))` for `c = 0..n`: multiversioned so that the 64-bit
/// multiplies vectorise on AVX-512DQ; the same values on every CPU.
fn lane_hashes(key: u64, n: usize) -> Vec<u64> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512dq") {
        // SAFETY: the CPU supports the enabled features.
        return unsafe { lane_hashes_avx512(key, n) };
    }
    lane_hashes_generic(key, n)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq")]
fn lane_hashes_avx512(key: u64, n: usize) -> Vec<u64> {
    lane_hashes_generic(key, n)
}

#[inline(always)]
fn lane_hashes_generic(key: u64, n: usize) -> Vec<u64> {
    let mut v = vec![0u64; n];
    for (c, h) in v.iter_mut().enumerate() {
        *h = mix64(key.wrapping_add(GOLDEN.wrapping_mul(c as u64 + 1)));
    }
    v
}

impl Dropout {
    /// The mask of adapter (`layer`, `linear`) under `seed` with drop probability `p`
    /// (`None` when `p == 0`: nothing is dropped).
    pub fn new(seed: u64, layer: usize, linear: Linear, p: f64) -> Option<Self> {
        (p > 0.0).then(|| Dropout {
            key: derive_seed(seed, layer, linear as usize, 0xD50F),
            threshold: (p * 65_536.0).round() as u64,
            inv_keep: 1.0 / (1.0 - p),
        })
    }

    /// The mask factors of a `dim`-shaped input: `1/(1-p)` where kept, 0 where dropped.
    /// Element `e` (row-major) reads 16-bit lane `e mod 4` of the hash of `e / 4`.
    pub fn factors<T: Real>(&self, dim: (usize, usize)) -> Array2<T> {
        let s = T::from_f64(self.inv_keep);
        let n = dim.0 * dim.1;
        let hashes = lane_hashes(self.key, n.div_ceil(LANES));
        // Built by pushing: no zero-fill of a buffer about to be overwritten.
        let mut v = Vec::with_capacity(n);
        for e in 0..n {
            let lane = (hashes[e / LANES] >> (16 * (e % LANES))) & 0xFFFF;
            v.push(if lane >= self.threshold { s } else { T::zero() });
        }
        Array2::from_shape_vec(dim, v).expect("length matches the shape")
    }

    /// `x * mask / (1 - p)`.
    pub fn apply<T: Real>(&self, x: ArrayView2<T>) -> Array2<T> {
        let mut m = self.factors(x.dim());
        ndarray::Zip::from(&mut m)
            .and(&x)
            .for_each(|m, &x| *m = *m * x);
        m
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
        assert!(y.iter().all(|v| *v == 0.0 || (v - 1.0 / 0.9).abs() < 1e-15));
        // Dropped elements are not clustered by lane: each of the 4 lanes drops ~p.
        for lane in 0..4 {
            let n = y
                .iter()
                .skip(lane)
                .step_by(4)
                .filter(|v| **v == 0.0)
                .count();
            assert!((n as f64 / 25_000.0 - p).abs() < 0.01, "lane {lane}: {n}");
        }
        assert_eq!(d.apply(x.view()), y);
        assert_eq!(d.factors::<f64>((100, 1000)), y);
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
