//! The training loop: optimizer steps of `accumulation` micro-batches (one sequence each,
//! batch 1 with gradient accumulation as in the reference), the method's plan per step
//! (which exit, which backprop window), AdamW on the tensors the step trained, and the
//! recording of what a micro-batch does.
//!
//! Determinism: the samples and dropout masks of micro-batch `(step, micro)` depend only on
//! the seed and those indices, and every reduction in the engine has a fixed order, so a
//! run gives the same losses and adapters for a given thread count, and a run resumed from
//! a saved state continues exactly as if it had not stopped.

use super::adamw::AdamW;
use super::model::{Adapters, Tuner};
use super::plan::{Method, StepPlan, step_plan};
use super::record::Recorder;
use crate::error::Result;
use std::time::Instant;

/// Settings of a training run.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    /// Optimizer steps of the whole schedule (the phases of `edge-llm` split these).
    pub steps: usize,
    /// Micro-batches per optimizer step (the reference: 16).
    pub accumulation: usize,
    /// Seed of the sample order and of the dropout masks.
    pub seed: u64,
    /// Stop after this many steps of the schedule (`None`: run to the end), leaving a state
    /// that a later run resumes (a time-limited session).
    pub stop_after: Option<usize>,
}

/// One optimizer step as it ran.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StepLog {
    /// Step index (0-based) in the whole schedule.
    pub step: usize,
    /// Mean training loss over the step's micro-batches (nats per token).
    pub loss: f64,
    /// Decoder layer whose exit took the loss.
    pub exit_layer: usize,
    /// Lowest layer backprop reached.
    pub backprop_from: usize,
    /// Tokens trained on in this step.
    pub tokens: u64,
    /// Wall-clock seconds of the step.
    pub seconds: f64,
}

/// What a call of [`train`] did.
#[derive(Debug, Clone)]
pub struct TrainOutcome {
    /// Every step run, in order.
    pub log: Vec<StepLog>,
    /// Wall-clock seconds of the steps run.
    pub wall_seconds: f64,
    /// Process CPU seconds (all threads) of the steps run.
    pub cpu_seconds: f64,
    /// Largest peak of saved-for-backward bytes (engine bytes) over all micro-batches.
    pub peak_activation_host_bytes: u64,
    /// The recording of the first micro-batch of the last step run (`None` if no step
    /// ran).
    pub recorded: Option<Recorder>,
}

/// Seed of the dropout masks of micro-batch `(step, micro)` (splitmix64 of the three, so
/// neighbouring indices give unrelated masks).
pub fn micro_seed(seed: u64, step: usize, micro: usize) -> u64 {
    let mut z = seed
        ^ (step as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (micro as u64).wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Process CPU time (user + system, all threads) in seconds.
pub fn process_cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes the struct we pass.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) } != 0 {
        return f64::NAN;
    }
    let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 * 1e-6;
    t(u.ru_utime) + t(u.ru_stime)
}

/// Whether tensor `name` (an [`Adapters::named`] name) is trained by a step of `plan`:
/// adapters of layers in the backprop window `backprop_from..=exit`, and the active
/// exit's head. Tensors outside are left untouched by the optimizer (as PyTorch skips
/// parameters without a gradient), so an earlier phase's adapters keep their values.
pub fn trained_by(name: &str, plan: &StepPlan, exits: &[usize]) -> bool {
    let index_after = |key: &str| {
        name.split_once(key)
            .and_then(|(_, rest)| rest.split('.').next())
            .and_then(|i| i.parse::<usize>().ok())
    };
    if let Some(k) = index_after("exits.") {
        return k == plan.exit;
    }
    match index_after("layers.") {
        Some(l) => l >= plan.backprop_from && l <= exits[plan.exit],
        None => false,
    }
}

/// The callbacks of [`train`]: where samples come from, and what happens after a step.
pub struct Hooks<'a> {
    /// The `T + 1` ids of micro-batch `(step, micro)`.
    pub sample: &'a dyn Fn(usize, usize) -> Result<Vec<u32>>,
    /// Sees each finished step (progress).
    pub on_step: &'a dyn Fn(&StepLog),
    /// Called after each step with the tuner and optimizer (saving a resumable state).
    pub after_step: &'a mut AfterStep<'a>,
}

/// See [`Hooks::after_step`].
pub type AfterStep<'a> = dyn FnMut(usize, &Tuner<f32>, &AdamW) -> Result<()> + 'a;

/// Runs steps `start..opts.steps` (or up to `stop_after`) of the schedule on `tuner`, updating its adapters with
/// `optimizer`, calling the [`Hooks`]. Errors: a sample's ids out of the vocabulary, an optimizer name or
/// shape mismatch, or the callbacks' errors.
pub fn train(
    tuner: &mut Tuner<f32>,
    method: &Method,
    optimizer: &mut AdamW,
    opts: &TrainOptions,
    start: usize,
    hooks: Hooks<'_>,
) -> Result<TrainOutcome> {
    let Hooks {
        sample,
        on_step,
        after_step,
    } = hooks;
    let layers = tuner.base.layers.len();
    let (wall0, cpu0) = (Instant::now(), process_cpu_seconds());
    let mut out = TrainOutcome {
        log: vec![],
        wall_seconds: 0.0,
        cpu_seconds: 0.0,
        peak_activation_host_bytes: 0,
        recorded: None,
    };
    let accum = opts.accumulation.max(1);
    let end = opts.stop_after.map_or(opts.steps, |s| s.min(opts.steps));
    for step in start..end {
        let t0 = Instant::now();
        let plan = step_plan(method, layers, step, opts.steps);
        let mut grads: Adapters<f32> = tuner.adapters.zeros_like();
        let mut loss = 0.0;
        let mut tokens = 0u64;
        for micro in 0..accum {
            let ids = sample(step, micro)?;
            tokens += ids.len().saturating_sub(1) as u64;
            let mut rec = Recorder::new(true);
            loss += tuner.loss_and_grad(
                &ids,
                &plan,
                Some(micro_seed(opts.seed, step, micro)),
                1.0 / accum as f64,
                &mut grads,
                &mut rec,
            )?;
            out.peak_activation_host_bytes = out
                .peak_activation_host_bytes
                .max(rec.peak_saved_host_bytes());
            if micro == 0 {
                out.recorded = Some(rec);
            }
        }
        let exits = tuner.exits.clone();
        {
            let mut params: Vec<_> = tuner
                .adapters
                .named_mut()
                .into_iter()
                .filter(|(n, _)| trained_by(n, &plan, &exits))
                .collect();
            let g: Vec<_> = grads
                .named()
                .into_iter()
                .filter(|(n, _)| trained_by(n, &plan, &exits))
                .collect();
            optimizer.step(&mut params, &g)?;
        }
        let log = StepLog {
            step,
            loss: loss / accum as f64,
            exit_layer: exits[plan.exit],
            backprop_from: plan.backprop_from,
            tokens,
            seconds: t0.elapsed().as_secs_f64(),
        };
        on_step(&log);
        out.log.push(log);
        after_step(step, tuner, optimizer)?;
    }
    out.wall_seconds = wall0.elapsed().as_secs_f64();
    out.cpu_seconds = process_cpu_seconds() - cpu0;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_membership_by_name() {
        let exits = [7, 15, 23, 29];
        let plan = StepPlan {
            exit: 1,
            backprop_from: 8,
            forward_to: 15,
        };
        let n = |s: &str| trained_by(s, &plan, &exits);
        assert!(n(
            "base_model.model.model.layers.8.self_attn.q_proj.lora_A.weight"
        ));
        assert!(n(
            "base_model.model.model.layers.15.mlp.down_proj.lora_B.weight"
        ));
        assert!(!n(
            "base_model.model.model.layers.7.mlp.down_proj.lora_B.weight"
        ));
        assert!(!n(
            "base_model.model.model.layers.16.mlp.up_proj.lora_A.weight"
        ));
        assert!(n("exits.1.norm.weight") && !n("exits.0.lm_head.weight"));
    }

    #[test]
    fn micro_seeds_differ() {
        let s: std::collections::BTreeSet<u64> = (0..4)
            .flat_map(|st| (0..4).map(move |m| micro_seed(1, st, m)))
            .collect();
        assert_eq!(s.len(), 16);
        assert_eq!(micro_seed(1, 2, 3), micro_seed(1, 2, 3));
    }
}
