//! The trainable state (LoRA adapters, trained exit heads) and one training micro-batch:
//! embedding, decoder layers up to the plan's `forward_to`, the active exit's head and
//! loss, backward from that exit down to the bottom of the backprop window.
//!
//! Columns recorded, in execution order: `embed.fwd`, `L{j}.fwd` for `j = 0..=exit`
//! (layers from `backprop_from` up keep their tensors), `exit{e}.fwd` (`e` = the exit's
//! layer, as `workload/build.rs` labels exit heads), `L{j}.fwd` for the layers beyond the
//! exit up to `forward_to` (their output reaches nothing: the reference runs them),
//! `exit{e}.bwd`, then `L{j}.bwd` from the exit down to `backprop_from`.

use super::base::Base;
use super::head::{self, HeadWeights};
use super::layer::{self, LayerCtx};
use super::lora::{LayerAdapters, Lora, LoraConfig, derive_seed};
use super::ops::Rope;
use super::real::Real;
use super::record::Recorder;
use crate::error::{Error, Result};
use crate::model::Linear;
use crate::workload::{EntryKind, Pass};
use ndarray::{Array1, Array2, ArrayViewD, ArrayViewMutD};

/// Source named in input errors of the tuner.
const SOURCE: &str = "tune";

/// A trained exit head: its own RMSNorm and LM head (copies of the final ones at start).
#[derive(Debug, Clone, PartialEq)]
pub struct ExitHead<T> {
    /// RMSNorm weight `[hidden]`.
    pub norm: Array1<T>,
    /// LM head `[vocab, hidden]`.
    pub head: Array2<T>,
}

/// Trainable tensors; gradients use the same type (zeros_like).
#[derive(Debug, Clone, PartialEq)]
pub struct Adapters<T> {
    /// One per decoder layer (all `None` when the layer is not adapted).
    pub layers: Vec<LayerAdapters<T>>,
    /// One per exit; `Some` only when exit heads are trained.
    pub exit_heads: Vec<Option<ExitHead<T>>>,
}

fn lora_name(layer: usize, l: Linear, which: &str) -> String {
    format!(
        "base_model.model.model.layers.{layer}.{}.lora_{which}.weight",
        l.module()
    )
}

impl<T: Real> Adapters<T> {
    /// Same structure, all zeros.
    pub fn zeros_like(&self) -> Self {
        Adapters {
            layers: self
                .layers
                .iter()
                .map(|la| LayerAdapters {
                    lora: std::array::from_fn(|i| la.lora[i].as_ref().map(Lora::zeros_like)),
                })
                .collect(),
            exit_heads: self
                .exit_heads
                .iter()
                .map(|e| {
                    e.as_ref().map(|e| ExitHead {
                        norm: Array1::zeros(e.norm.raw_dim()),
                        head: Array2::zeros(e.head.raw_dim()),
                    })
                })
                .collect(),
        }
    }

    /// Stable names (PEFT style):
    /// `base_model.model.model.layers.{i}.self_attn.{q,k,v,o}_proj.lora_{A,B}.weight`,
    /// `...layers.{i}.mlp.{gate,up,down}_proj.lora_{A,B}.weight`, `exits.{k}.norm.weight`,
    /// `exits.{k}.lm_head.weight`; layers bottom-up, linears in [`Linear::ALL`] order.
    pub fn named(&self) -> Vec<(String, ArrayViewD<'_, T>)> {
        let mut v = Vec::new();
        for (j, la) in self.layers.iter().enumerate() {
            for (l, lora) in Linear::ALL.iter().zip(&la.lora) {
                if let Some(lo) = lora {
                    v.push((lora_name(j, *l, "A"), lo.a.view().into_dyn()));
                    v.push((lora_name(j, *l, "B"), lo.b.view().into_dyn()));
                }
            }
        }
        for (k, e) in self.exit_heads.iter().enumerate() {
            if let Some(e) = e {
                v.push((format!("exits.{k}.norm.weight"), e.norm.view().into_dyn()));
                v.push((
                    format!("exits.{k}.lm_head.weight"),
                    e.head.view().into_dyn(),
                ));
            }
        }
        v
    }

    /// [`Adapters::named`], mutable (same names and order).
    pub fn named_mut(&mut self) -> Vec<(String, ArrayViewMutD<'_, T>)> {
        let mut v = Vec::new();
        for (j, la) in self.layers.iter_mut().enumerate() {
            for (l, lora) in Linear::ALL.iter().zip(la.lora.iter_mut()) {
                if let Some(lo) = lora {
                    v.push((lora_name(j, *l, "A"), lo.a.view_mut().into_dyn()));
                    v.push((lora_name(j, *l, "B"), lo.b.view_mut().into_dyn()));
                }
            }
        }
        for (k, e) in self.exit_heads.iter_mut().enumerate() {
            if let Some(e) = e {
                v.push((
                    format!("exits.{k}.norm.weight"),
                    e.norm.view_mut().into_dyn(),
                ));
                v.push((
                    format!("exits.{k}.lm_head.weight"),
                    e.head.view_mut().into_dyn(),
                ));
            }
        }
        v
    }

    /// Number of trainable scalars.
    pub fn parameter_count(&self) -> usize {
        self.named().iter().map(|(_, a)| a.len()).sum()
    }

    /// Whether `other` has the same tensors with the same shapes.
    fn same_structure(&self, other: &Adapters<T>) -> bool {
        let (a, b) = (self.named(), other.named());
        a.len() == b.len()
            && a.iter()
                .zip(&b)
                .all(|((na, ta), (nb, tb))| na == nb && ta.shape() == tb.shape())
    }
}

pub use super::plan::StepPlan;

/// The frozen base, the adapters and the exits of one tuning run.
#[derive(Debug)]
pub struct Tuner<T: Real> {
    /// The frozen (possibly compressed) base model.
    pub base: Base<T>,
    /// LoRA hyper-parameters.
    pub lora: LoraConfig,
    /// Trainable state.
    pub adapters: Adapters<T>,
    /// Decoder layers (0-based) after which an exit head sits, ascending; the last is
    /// `L-1` (the model's own head).
    pub exits: Vec<usize>,
}

impl<T: Real> Tuner<T> {
    /// Adapters (LoRA per `lora`) on `adapter_layers`; exit heads at `exits` (last =
    /// L-1), trained copies when `train_exit_heads`; A initialised from `seed`
    /// (deterministic).
    ///
    /// Errors (input, naming the key): rank 0, a non-finite alpha, dropout outside
    /// `[0, 1)`, an adapter layer or exit outside the model, exits not strictly
    /// ascending or not ending at the last layer.
    pub fn new(
        base: Base<T>,
        lora: LoraConfig,
        adapter_layers: &[usize],
        exits: Vec<usize>,
        train_exit_heads: bool,
        seed: u64,
    ) -> Result<Self> {
        let n = base.n_layers();
        if lora.rank == 0 {
            return Err(Error::input(SOURCE, "lora.rank", "must be at least 1"));
        }
        if !lora.alpha.is_finite() {
            return Err(Error::input(SOURCE, "lora.alpha", "must be finite"));
        }
        if !(0.0..1.0).contains(&lora.dropout) {
            return Err(Error::input(
                SOURCE,
                "lora.dropout",
                format!("{} outside [0, 1)", lora.dropout),
            ));
        }
        if let Some(j) = adapter_layers.iter().find(|&&j| j >= n) {
            return Err(Error::input(
                SOURCE,
                "adapter layers",
                format!("layer {j} outside [0, {n})"),
            ));
        }
        if exits.last() != Some(&(n - 1)) || exits.windows(2).any(|w| w[0] >= w[1]) {
            return Err(Error::input(
                SOURCE,
                "exits",
                format!(
                    "{exits:?}: need strictly ascending layers ending at {}",
                    n - 1
                ),
            ));
        }
        let cfg = &base.cfg;
        let layers = (0..n)
            .map(|j| {
                if !adapter_layers.contains(&j) {
                    return LayerAdapters::none();
                }
                LayerAdapters {
                    lora: Linear::ALL.map(|l| {
                        lora.targets.contains(&l).then(|| {
                            let [out, inp] = crate::llm::checkpoint::linear_shape(l, cfg);
                            Lora::init(lora.rank, inp, out, derive_seed(seed, j, l as usize, 0xA))
                        })
                    }),
                }
            })
            .collect();
        let exit_heads = exits
            .iter()
            .map(|_| {
                train_exit_heads.then(|| ExitHead {
                    norm: base.norm.clone(),
                    head: base.head_matrix().clone(),
                })
            })
            .collect();
        Ok(Tuner {
            base,
            lora,
            adapters: Adapters { layers, exit_heads },
            exits,
        })
    }

    fn head_weights(&self, k: usize) -> HeadWeights<'_, T> {
        match &self.adapters.exit_heads[k] {
            Some(e) => HeadWeights::Trained(e),
            None => HeadWeights::Frozen {
                norm: &self.base.norm,
                head: &self.base.head,
            },
        }
    }

    fn check_ids(&self, ids: &[u32]) -> Result<()> {
        if ids.len() < 2 {
            return Err(Error::input(
                SOURCE,
                "tokens",
                format!("{} ids; a sample needs at least 2 (T + 1)", ids.len()),
            ));
        }
        let v = self.base.cfg.vocab_size;
        match ids.iter().position(|&t| t as usize >= v) {
            Some(i) => Err(Error::input(
                SOURCE,
                format!("token {i}"),
                format!("id {} out of the vocabulary [0, {v})", ids[i]),
            )),
            None => Ok(()),
        }
    }

    fn embed(&self, ids: &[u32]) -> Array2<T> {
        let mut x = Array2::zeros((ids.len(), self.base.cfg.hidden_size));
        for (mut r, &t) in x.outer_iter_mut().zip(ids) {
            r.assign(&self.base.embed.row(t as usize));
        }
        x
    }

    fn ctx<'a>(&'a self, rope: &'a Rope<T>, dropout_seed: Option<u64>) -> LayerCtx<'a, T> {
        LayerCtx {
            cfg: &self.base.cfg,
            rope,
            scale: T::from_f64(self.lora.scale()),
            dropout: dropout_seed.map(|s| (self.lora.dropout, s)),
        }
    }

    /// Loss (mean NLL over the T targets, f64) of one micro-batch; adds
    /// d(loss)/d(param) * grad_scale into `grads` (only for tensors that receive
    /// gradients: frozen weights get none computed). `dropout_seed` = None disables
    /// dropout (evaluation, finite differences).
    ///
    /// `ids` is one sample of `T + 1` ids: inputs `ids[..T]`, targets `ids[1..]`.
    /// Errors: fewer than 2 ids or an id outside the vocabulary (input); a plan whose
    /// exit, window or forward range does not fit the exits (input, key `plan`); `grads`
    /// not shaped like the adapters; a non-finite logit.
    pub fn loss_and_grad(
        &self,
        ids: &[u32],
        plan: &StepPlan,
        dropout_seed: Option<u64>,
        grad_scale: f64,
        grads: &mut Adapters<T>,
        rec: &mut Recorder,
    ) -> Result<f64> {
        self.check_ids(ids)?;
        let n = self.base.n_layers();
        let exit_layer = *self.exits.get(plan.exit).ok_or_else(|| {
            Error::input(
                SOURCE,
                "plan",
                format!("exit {} of {} exits", plan.exit, self.exits.len()),
            )
        })?;
        if plan.backprop_from > exit_layer || plan.forward_to < exit_layer || plan.forward_to >= n {
            return Err(Error::input(
                SOURCE,
                "plan",
                format!(
                    "need backprop_from ({}) <= exit layer ({exit_layer}) <= forward_to ({}) < {n}",
                    plan.backprop_from, plan.forward_to
                ),
            ));
        }
        if !self.adapters.same_structure(grads) {
            return Err(Error::Other(
                "tune: gradients not shaped like the adapters".into(),
            ));
        }
        let t = ids.len() - 1;
        let (inputs, targets) = (&ids[..t], &ids[1..]);
        let cfg = &self.base.cfg;
        let rope = Rope::new(t, cfg.head_dim, cfg.rope_theta);
        let ctx = self.ctx(&rope, dropout_seed);
        rec.begin("embed.fwd", EntryKind::Embedding, 0, Pass::Fwd);
        let mut x = self.embed(inputs);
        let mut caches = Vec::with_capacity(exit_layer + 1 - plan.backprop_from);
        for j in 0..=exit_layer {
            rec.begin(format!("L{j}.fwd"), EntryKind::Decoder, j as u32, Pass::Fwd);
            let keep = j >= plan.backprop_from;
            let (y, c) = layer::forward(
                &ctx,
                j,
                &self.base.layers[j],
                &self.adapters.layers[j],
                x,
                keep,
                rec,
            );
            x = y;
            caches.extend(c);
        }
        let hw = self.head_weights(plan.exit);
        // Column names of `workload::build`: the model's own head alone is `head`, the
        // heads of a model with early exits are `exit{layer}`.
        let head_label = if self.exits.len() == 1 {
            "head".to_string()
        } else {
            format!("exit{exit_layer}")
        };
        let beyond = (plan.forward_to > exit_layer).then(|| x.clone());
        rec.begin(
            format!("{head_label}.fwd"),
            EntryKind::Head,
            exit_layer as u32,
            Pass::Fwd,
        );
        let (loss, head_cache) = head::forward(hw, x, targets, cfg.rms_norm_eps, true, rec)
            .ok_or_else(|| Error::Other("tune: the model produced non-finite logits".into()))?;
        // The reference runs the layers beyond the exit; their output reaches nothing.
        if let Some(mut x) = beyond {
            for j in exit_layer + 1..=plan.forward_to {
                rec.begin(format!("L{j}.fwd"), EntryKind::Decoder, j as u32, Pass::Fwd);
                x = layer::forward(
                    &ctx,
                    j,
                    &self.base.layers[j],
                    &self.adapters.layers[j],
                    x,
                    false,
                    rec,
                )
                .0;
            }
            std::hint::black_box(&x);
        }
        rec.begin(
            format!("{head_label}.bwd"),
            EntryKind::Head,
            exit_layer as u32,
            Pass::Bwd,
        );
        let mut dy = head::backward(
            hw,
            head_cache.expect("kept"),
            targets,
            grad_scale,
            grads.exit_heads[plan.exit].as_mut(),
            rec,
        );
        for (i, c) in caches.into_iter().enumerate().rev() {
            let j = plan.backprop_from + i;
            rec.begin(format!("L{j}.bwd"), EntryKind::Decoder, j as u32, Pass::Bwd);
            let need_dx = j > plan.backprop_from;
            match layer::backward(
                &ctx,
                j,
                &self.base.layers[j],
                &self.adapters.layers[j],
                c,
                dy,
                need_dx,
                &mut grads.layers[j],
                rec,
            ) {
                Some(d) => dy = d,
                None => break,
            }
        }
        Ok(loss)
    }

    /// Per-exit log-softmax `[T, vocab]` of the input `ids[..T]` (no dropout, no
    /// recording), `ids` a sample of `T + 1` ids: row `t` is the distribution of
    /// `ids[t + 1]`. Errors as [`Tuner::loss_and_grad`] on the ids.
    pub fn exit_log_probs(&self, ids: &[u32]) -> Result<Vec<Array2<f32>>> {
        self.check_ids(ids)?;
        let t = ids.len() - 1;
        let cfg = &self.base.cfg;
        let rope = Rope::new(t, cfg.head_dim, cfg.rope_theta);
        let ctx = self.ctx(&rope, None);
        let mut rec = Recorder::new(false);
        let mut x = self.embed(&ids[..t]);
        let mut out = Vec::with_capacity(self.exits.len());
        for (j, (w, ad)) in self
            .base
            .layers
            .iter()
            .zip(&self.adapters.layers)
            .enumerate()
        {
            x = layer::forward(&ctx, j, w, ad, x, false, &mut rec).0;
            if let Some(k) = self.exits.iter().position(|&e| e == j) {
                out.push(head::log_probs(
                    self.head_weights(k),
                    x.view(),
                    cfg.rms_norm_eps,
                ));
            }
        }
        Ok(out)
    }

    /// Logits `[T, vocab]` of exit `k` on the inputs `ids[..T]` (no dropout).
    #[cfg(test)]
    pub(crate) fn exit_logits(&self, ids: &[u32], k: usize) -> Array2<T> {
        let t = ids.len() - 1;
        let cfg = &self.base.cfg;
        let rope = Rope::new(t, cfg.head_dim, cfg.rope_theta);
        let ctx = self.ctx(&rope, None);
        let mut rec = Recorder::new(false);
        let mut x = self.embed(&ids[..t]);
        for j in 0..=self.exits[k] {
            x = layer::forward(
                &ctx,
                j,
                &self.base.layers[j],
                &self.adapters.layers[j],
                x,
                false,
                &mut rec,
            )
            .0;
        }
        head::logits(self.head_weights(k), x.view(), cfg.rms_norm_eps)
    }
}
