//! AdamW: Adam with decoupled weight decay (Loshchilov & Hutter, "Decoupled Weight Decay
//! Regularization", ICLR 2019), in the form of PyTorch's `torch.optim.AdamW`
//! (non-AMSGrad), per parameter tensor with gradient `g` at its `t`-th update:
//!
//! ```text
//! p  <- p * (1 - lr * weight_decay)            (decoupled: independent of g)
//! m  <- beta1 * m + (1 - beta1) * g
//! v  <- beta2 * v + (1 - beta2) * g^2
//! p  <- p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
//! ```
//!
//! As in PyTorch, the step count `t` and the moments are kept per tensor, and a tensor
//! without a gradient in a step (PyTorch: `.grad is None`; here: absent from `grads`) is
//! left untouched, moments and decay included. Under Edge-LLM only the active window's
//! adapters get gradients, so the others keep their state until their window comes.
//!
//! The per-step scalars are computed in f64; the element loop is f32 only.

use crate::error::{Error, Result};
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, Zip};
use std::collections::BTreeMap;

/// AdamW hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AdamWConfig {
    /// Learning rate (PAPER.md reference setting: 4e-4).
    pub lr: f64,
    /// First-moment decay (PyTorch default 0.9).
    pub beta1: f64,
    /// Second-moment decay (PyTorch default 0.999).
    pub beta2: f64,
    /// Denominator term (PyTorch default 1e-8).
    pub eps: f64,
    /// Decoupled weight decay per unit learning rate (Hugging Face
    /// `TrainingArguments.weight_decay` default 0.0; PyTorch's own default is 0.01).
    pub weight_decay: f64,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        AdamWConfig {
            lr: 4e-4,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
}

impl AdamWConfig {
    /// Checks the ranges; `file` names the source (a flag or a config file) in errors.
    ///
    /// Errors (input): `lr` not finite or `< 0`; `beta1`, `beta2` outside `[0, 1)`;
    /// `eps` not finite or `<= 0`; `weight_decay` not finite or `< 0`.
    pub fn validate(&self, file: &str) -> Result<()> {
        let finite_nonneg = |k: &str, v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(Error::input(file, k, format!("{v}; allowed: finite, >= 0")))
            }
        };
        finite_nonneg("lr", self.lr)?;
        finite_nonneg("weight_decay", self.weight_decay)?;
        for (k, b) in [("beta1", self.beta1), ("beta2", self.beta2)] {
            if !(0.0..1.0).contains(&b) {
                return Err(Error::input(file, k, format!("{b}; allowed [0, 1)")));
            }
        }
        if !(self.eps.is_finite() && self.eps > 0.0) {
            return Err(Error::input(
                file,
                "eps",
                format!("{}; allowed: finite, > 0", self.eps),
            ));
        }
        Ok(())
    }
}

/// Optimizer state of one tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct Moments {
    /// First moment (same shape as the tensor).
    pub m: ArrayD<f32>,
    /// Second moment (same shape as the tensor).
    pub v: ArrayD<f32>,
    /// Updates applied to this tensor so far (`t` of the bias correction).
    pub step: u64,
}

/// AdamW over named f32 tensors.
#[derive(Debug, Clone, PartialEq)]
pub struct AdamW {
    /// Hyper-parameters.
    pub cfg: AdamWConfig,
    /// State per tensor name (absent until the tensor's first update).
    pub state: BTreeMap<String, Moments>,
    /// Calls to [`AdamW::step`] so far.
    pub steps: u64,
}

impl AdamW {
    /// An optimizer with empty state.
    pub fn new(cfg: AdamWConfig) -> Self {
        AdamW {
            cfg,
            state: BTreeMap::new(),
            steps: 0,
        }
    }

    /// One update: every tensor named in `grads` is updated with its gradient; params
    /// absent from `grads` are left untouched (see the module doc).
    ///
    /// Errors (nothing is updated): a gradient name that is not among `params`, a name
    /// repeated in either list, a gradient whose shape differs from its parameter's, or
    /// existing moments of another shape.
    pub fn step(
        &mut self,
        params: &mut [(String, ArrayViewMutD<'_, f32>)],
        grads: &[(String, ArrayViewD<'_, f32>)],
    ) -> Result<()> {
        let mut index: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, (name, _)) in params.iter().enumerate() {
            if index.insert(name.as_str(), i).is_some() {
                return Err(Error::Other(format!(
                    "AdamW: parameter {name} listed twice"
                )));
            }
        }
        let mut pairs = Vec::with_capacity(grads.len());
        let mut seen = std::collections::BTreeSet::new();
        for (name, g) in grads {
            if !seen.insert(name.as_str()) {
                return Err(Error::Other(format!("AdamW: gradient {name} listed twice")));
            }
            let &i = index
                .get(name.as_str())
                .ok_or_else(|| Error::Other(format!("AdamW: gradient {name} has no parameter")))?;
            let p_shape = params[i].1.shape();
            if g.shape() != p_shape {
                return Err(Error::Other(format!(
                    "AdamW: gradient {name} has shape {:?}, its parameter {p_shape:?}",
                    g.shape()
                )));
            }
            if let Some(s) = self.state.get(name)
                && (s.m.shape() != p_shape || s.v.shape() != p_shape)
            {
                return Err(Error::Other(format!(
                    "AdamW: state of {name} has shape {:?}, the parameter {p_shape:?}",
                    s.m.shape()
                )));
            }
            pairs.push((i, g));
        }

        let c = self.cfg;
        let decay = (1.0 - c.lr * c.weight_decay) as f32;
        let (b1, b2) = (c.beta1 as f32, c.beta2 as f32);
        let (one_b1, one_b2) = ((1.0 - c.beta1) as f32, (1.0 - c.beta2) as f32);
        let eps = c.eps as f32;
        for (i, g) in pairs {
            let (name, p) = &mut params[i];
            let s = self.state.entry(name.clone()).or_insert_with(|| Moments {
                m: ArrayD::zeros(g.raw_dim()),
                v: ArrayD::zeros(g.raw_dim()),
                step: 0,
            });
            s.step += 1;
            let t = s.step as f64;
            let bc1 = 1.0 - c.beta1.powf(t);
            let bc2 = 1.0 - c.beta2.powf(t);
            let step_size = (c.lr / bc1) as f32;
            let inv_sqrt_bc2 = (1.0 / bc2.sqrt()) as f32;
            Zip::from(p.view_mut())
                .and(&mut s.m)
                .and(&mut s.v)
                .and(g)
                .for_each(|p, m, v, &g| {
                    *p *= decay;
                    *m = b1 * *m + one_b1 * g;
                    *v = b2 * *v + one_b2 * g * g;
                    *p -= step_size * *m / (v.sqrt() * inv_sqrt_bc2 + eps);
                });
        }
        self.steps += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::SplitMix64;
    use ndarray::{ArrayD, IxDyn, arr1};

    fn step_one(opt: &mut AdamW, p: &mut ArrayD<f32>, g: &ArrayD<f32>) -> Result<()> {
        let mut params = vec![("w".to_string(), p.view_mut())];
        opt.step(&mut params, &[("w".to_string(), g.view())])
    }

    #[test]
    fn first_step_by_hand() {
        // t = 1: m = 0.1 g, v = 0.001 g^2, bias-corrected m/(1-0.9) = g and
        // v/(1-0.999) = g^2, so p <- p - lr * g / (|g| + eps) = p - lr * sign(g) (up to eps).
        let cfg = AdamWConfig {
            lr: 0.1,
            ..AdamWConfig::default()
        };
        let mut opt = AdamW::new(cfg);
        let mut p = arr1(&[1.0f32, -2.0, 0.5]).into_dyn();
        let g = arr1(&[0.5f32, -3.0, 0.0]).into_dyn();
        step_one(&mut opt, &mut p, &g).unwrap();
        let want = [
            1.0 - 0.1 * 0.5 / (0.5 + 1e-8),
            -2.0 + 0.1 * 3.0 / (3.0 + 1e-8),
            0.5,
        ];
        for (a, b) in p.iter().zip(want) {
            assert!((f64::from(*a) - b).abs() < 1e-6, "{a} vs {b}");
        }
        let s = &opt.state["w"];
        assert_eq!(s.step, 1);
        assert!((s.m[0] - 0.05).abs() < 1e-7 && (s.v[1] - 0.009).abs() < 1e-7);
        // t = 2 with g = 0.5 again on element 0: m = 0.09 * 0.5 + 0.1 * 0.5 = 0.095,
        // m_hat = 0.095 / 0.19 = 0.5; v = 0.999e-3 * 0.25 + 1e-3 * 0.25,
        // v_hat = 0.25 * 1.999e-3 / (1 - 0.999^2) = 0.25: step lr * 0.5 / 0.5 = lr again.
        let before = p[0];
        step_one(&mut opt, &mut p, &g).unwrap();
        assert!((f64::from(before - p[0]) - 0.1).abs() < 1e-6);
    }

    /// Independent f64 AdamW on flat vectors, written from the paper's algorithm 2.
    fn naive(cfg: AdamWConfig, p: &mut [f64], m: &mut [f64], v: &mut [f64], g: &[f64], t: u64) {
        for i in 0..p.len() {
            p[i] -= cfg.lr * cfg.weight_decay * p[i];
            m[i] = cfg.beta1 * m[i] + (1.0 - cfg.beta1) * g[i];
            v[i] = cfg.beta2 * v[i] + (1.0 - cfg.beta2) * g[i] * g[i];
            let mh = m[i] / (1.0 - cfg.beta1.powi(t as i32));
            let vh = v[i] / (1.0 - cfg.beta2.powi(t as i32));
            p[i] -= cfg.lr * mh / (vh.sqrt() + cfg.eps);
        }
    }

    #[test]
    fn matches_a_naive_f64_implementation_over_many_steps() {
        let cfg = AdamWConfig {
            lr: 1e-2,
            weight_decay: 0.1,
            ..AdamWConfig::default()
        };
        let mut rng = SplitMix64::new(11);
        let mut uni = || rng.next_f64() * 2.0 - 1.0;
        let shape = [3, 4];
        let n = 12;
        let init: Vec<f64> = (0..n).map(|_| uni()).collect();
        let mut p32 =
            ArrayD::from_shape_vec(IxDyn(&shape), init.iter().map(|&x| x as f32).collect())
                .unwrap();
        let mut q32 = arr1(&[0.3f32, -0.7]).into_dyn();
        let (mut p64, mut m64, mut v64) = (init.clone(), vec![0.0; n], vec![0.0; n]);
        let mut opt = AdamW::new(cfg);
        for t in 1..=50u64 {
            let g64: Vec<f64> = (0..n)
                .map(|_| uni() * 10f64.powi((t % 4) as i32 - 2))
                .collect();
            let g32 =
                ArrayD::from_shape_vec(IxDyn(&shape), g64.iter().map(|&x| x as f32).collect())
                    .unwrap();
            // Give the naive version the f32-rounded gradient the optimizer sees.
            let g_seen: Vec<f64> = g32.iter().map(|&x| f64::from(x)).collect();
            naive(cfg, &mut p64, &mut m64, &mut v64, &g_seen, t);
            // A second tensor updated only every third step keeps its own count.
            let gq = arr1(&[1.0f32, -0.5]).into_dyn();
            let mut params = vec![
                ("a".to_string(), p32.view_mut()),
                ("b".to_string(), q32.view_mut()),
            ];
            let mut grads = vec![("a".to_string(), g32.view())];
            if t % 3 == 0 {
                grads.push(("b".to_string(), gq.view()));
            }
            opt.step(&mut params, &grads).unwrap();
        }
        for (a, b) in p32.iter().zip(&p64) {
            assert!((f64::from(*a) - b).abs() < 2e-5, "{a} vs {b}");
        }
        assert_eq!(opt.steps, 50);
        assert_eq!(opt.state["a"].step, 50);
        assert_eq!(opt.state["b"].step, 16);
    }

    #[test]
    fn weight_decay_is_decoupled() {
        // Zero gradient: Adam's term is 0 / (0 + eps) = 0 and only the decay acts,
        // p <- p (1 - lr wd) per step.
        let cfg = AdamWConfig {
            lr: 0.1,
            weight_decay: 0.5,
            ..AdamWConfig::default()
        };
        let mut opt = AdamW::new(cfg);
        let mut p = arr1(&[2.0f32, -4.0]).into_dyn();
        let g = arr1(&[0.0f32, 0.0]).into_dyn();
        for _ in 0..3 {
            step_one(&mut opt, &mut p, &g).unwrap();
        }
        let f = 0.95f64.powi(3);
        assert!((f64::from(p[0]) - 2.0 * f).abs() < 1e-6);
        assert!((f64::from(p[1]) + 4.0 * f).abs() < 1e-6);
        // Without a gradient entry the tensor is not touched at all.
        let mut params = vec![("w".to_string(), p.view_mut())];
        let before = params[0].1.to_owned();
        opt.step(&mut params, &[]).unwrap();
        assert_eq!(params[0].1, before);
        assert_eq!(opt.state["w"].step, 3);
    }

    #[test]
    fn mismatches_are_errors_and_change_nothing() {
        let mut opt = AdamW::new(AdamWConfig::default());
        let mut p = arr1(&[1.0f32, 2.0]).into_dyn();
        let g3 = arr1(&[1.0f32, 2.0, 3.0]).into_dyn();
        let err = step_one(&mut opt, &mut p, &g3).unwrap_err().to_string();
        assert!(
            err.contains("w") && err.contains("[3]") && err.contains("[2]"),
            "{err}"
        );
        let g = arr1(&[1.0f32, 2.0]).into_dyn();
        let mut params = vec![("w".to_string(), p.view_mut())];
        let err = opt
            .step(&mut params, &[("x".to_string(), g.view())])
            .unwrap_err()
            .to_string();
        assert!(err.contains("x") && err.contains("no parameter"), "{err}");
        let err = opt
            .step(
                &mut params,
                &[("w".to_string(), g.view()), ("w".to_string(), g.view())],
            )
            .unwrap_err()
            .to_string();
        assert!(err.contains("twice"), "{err}");
        assert!(opt.state.is_empty() && opt.steps == 0);
        assert_eq!(p, arr1(&[1.0f32, 2.0]).into_dyn());
    }

    #[test]
    fn config_ranges() {
        assert!(AdamWConfig::default().validate("--lr").is_ok());
        let bad = AdamWConfig {
            beta2: 1.0,
            ..AdamWConfig::default()
        };
        assert!(
            bad.validate("f.toml")
                .unwrap_err()
                .to_string()
                .contains("beta2")
        );
        let bad = AdamWConfig {
            lr: f64::NAN,
            ..AdamWConfig::default()
        };
        assert!(bad.validate("--lr").unwrap_err().to_string().contains("lr"));
    }
}
