//! What each training step runs: the tuning method, the layers that carry adapters, the
//! exits, and per step which exit's loss is taken, how far backprop reaches and how far
//! the forward runs.
//!
//! Methods (PAPER.md; the same three as `workload::spec::Method`):
//! - [`Method::Lora`]: LoRA on every decoder layer, loss at the final head, backprop to
//!   layer 0.
//! - [`Method::Partial`]: LoRA on the last `k` layers only; backprop stops at layer `L - k`.
//! - [`Method::EdgeLlm`]: adaptive layer tuning. The training steps are split into
//!   `exits.len()` phases; phase `p` takes its loss at exit `p` (an RMSNorm + LM head after
//!   decoder layer `exits[p]`) and back-propagates through the `window` layers ending at
//!   that exit, so the window moves bottom-up once over the run. Adapters sit on the union
//!   of all windows.
//!
//! Phase split: step `s` of `N` belongs to phase `floor(s * P / N)` for `P` phases, so
//! phases differ in length by at most one step and the remainder is spread over them
//! (phase `p` runs steps `ceil(p N / P) .. ceil((p + 1) N / P)`). Steps at or beyond `N`
//! (and every step when `N = 0`) belong to the last phase.

use crate::error::{Error, Result};

/// Tuning method.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Method {
    /// LoRA adapters on every decoder layer; loss at the final head.
    Lora,
    /// LoRA adapters on the last `layers` decoder layers only.
    Partial {
        /// Number of trained layers at the top (`1..=L`).
        layers: usize,
    },
    /// Edge-LLM's windowed tuning with early exits.
    EdgeLlm {
        /// Decoder layers (0-based, strictly increasing) after which an exit head sits; the
        /// last must be `L - 1` (the final head).
        exits: Vec<usize>,
        /// Layers per backprop window, ending at the active exit (`>= 1`; clamped at
        /// layer 0).
        window: usize,
        /// Run the forward through all layers (the reference) instead of stopping at the
        /// active exit.
        full_forward: bool,
        /// Train the exit heads' norm and LM head as well (default: frozen copies of the
        /// final norm and head).
        train_exit_heads: bool,
    },
}

impl Method {
    /// One-line description for logs and saved states, e.g. `lora`, `partial(layers=4)`,
    /// `edge-llm(exits=[6, 14, 21, 29], window=7, full_forward=true, train_exit_heads=false)`.
    pub fn describe(&self) -> String {
        match self {
            Method::Lora => "lora".to_string(),
            Method::Partial { layers } => format!("partial(layers={layers})"),
            Method::EdgeLlm {
                exits,
                window,
                full_forward,
                train_exit_heads,
            } => format!(
                "edge-llm(exits={exits:?}, window={window}, full_forward={full_forward}, \
                 train_exit_heads={train_exit_heads})"
            ),
        }
    }

    /// Checks the method against a model of `n_layers` decoder layers.
    ///
    /// Errors (input, naming the flag and the allowed range): no decoder layers
    /// (`--checkpoint`); `--partial-layers` outside `1..=L`; `--exits` empty, not strictly
    /// increasing, `>= L`, or not ending at `L - 1`; `--window` outside `1..=L`.
    pub fn validate(&self, n_layers: usize) -> Result<()> {
        if n_layers == 0 {
            return Err(Error::input(
                "--checkpoint",
                "num_hidden_layers",
                "the model has no decoder layers; at least 1 is needed to tune",
            ));
        }
        match self {
            Method::Lora => Ok(()),
            Method::Partial { layers } => {
                if (1..=n_layers).contains(layers) {
                    Ok(())
                } else {
                    Err(Error::input(
                        "--partial-layers",
                        "layers",
                        format!(
                            "{layers} trained layers; allowed 1..={n_layers} (the model's layers)"
                        ),
                    ))
                }
            }
            Method::EdgeLlm { exits, window, .. } => {
                let last = n_layers - 1;
                if exits.is_empty() {
                    return Err(Error::input(
                        "--exits",
                        "exits",
                        format!(
                            "no exit listed; give strictly increasing layers in 0..={last} ending at {last} (the final head)"
                        ),
                    ));
                }
                for (i, &e) in exits.iter().enumerate() {
                    if e > last {
                        return Err(Error::input(
                            "--exits",
                            format!("exits[{i}]"),
                            format!("layer {e} out of range; allowed 0..={last}"),
                        ));
                    }
                    if i > 0 && e <= exits[i - 1] {
                        return Err(Error::input(
                            "--exits",
                            format!("exits[{i}]"),
                            format!(
                                "layer {e} after {}: exits must be strictly increasing",
                                exits[i - 1]
                            ),
                        ));
                    }
                }
                if exits[exits.len() - 1] != last {
                    return Err(Error::input(
                        "--exits",
                        format!("exits[{}]", exits.len() - 1),
                        format!(
                            "the last exit is layer {}; it must be {last} (the final head)",
                            exits[exits.len() - 1]
                        ),
                    ));
                }
                if !(1..=n_layers).contains(window) {
                    return Err(Error::input(
                        "--window",
                        "window",
                        format!("{window} layers; allowed 1..={n_layers}"),
                    ));
                }
                Ok(())
            }
        }
    }
}

/// What one micro-batch runs (from [`step_plan`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepPlan {
    /// Index into the tuner's exits ([`exits`]) whose loss is taken.
    pub exit: usize,
    /// Lowest decoder layer that backprop reaches (the window's first layer).
    pub backprop_from: usize,
    /// Last decoder layer run forward (`>=` the active exit's layer).
    pub forward_to: usize,
}

/// Default exits: 4 exits splitting `n_layers` evenly, exit `i` (1..=4) after layer
/// `i * L / 4 - 1` (integer division), the rule of `workload::spec` (7, 15, 23, 31 for
/// 32 layers; 6, 14, 21, 29 for 30). A model with fewer than 4 layers gets one exit per
/// layer (`0..L`); none for 0 layers.
pub fn default_exits(n_layers: usize) -> Vec<usize> {
    let k = n_layers.min(4);
    (1..=k).map(|i| i * n_layers / k - 1).collect()
}

/// Default Edge-LLM window: `exits[0] + 1` layers, so that evenly spaced exits give
/// windows that tile the model (the default of `workload::spec`); 1 when `exits` is empty.
pub fn default_window(exits: &[usize]) -> usize {
    exits.first().map_or(1, |e| e + 1)
}

/// The decoder layers after which the tuner places an exit head: `[L - 1]` (the final
/// head alone) for LoRA and partial tuning, the method's exits for Edge-LLM. Indices in
/// [`StepPlan::exit`] point into this list.
pub fn exits(method: &Method, n_layers: usize) -> Vec<usize> {
    match method {
        Method::Lora | Method::Partial { .. } => vec![n_layers.saturating_sub(1)],
        Method::EdgeLlm { exits, .. } => exits.clone(),
    }
}

/// The `window` layers ending at `exit`, clamped at layer 0.
fn window_range(exit: usize, window: usize) -> std::ops::RangeInclusive<usize> {
    (exit + 1).saturating_sub(window)..=exit
}

/// Decoder layers (ascending) that carry adapters: all for LoRA, the last `k` for
/// partial tuning, the union of the backprop windows of all exits for Edge-LLM.
/// Meaningful for a method that passes [`Method::validate`].
pub fn adapter_layers(method: &Method, n_layers: usize) -> Vec<usize> {
    match method {
        Method::Lora => (0..n_layers).collect(),
        Method::Partial { layers } => (n_layers.saturating_sub(*layers)..n_layers).collect(),
        Method::EdgeLlm { exits, window, .. } => {
            let mut on = vec![false; n_layers];
            for &e in exits.iter().filter(|&&e| e < n_layers) {
                for l in window_range(e, *window) {
                    on[l] = true;
                }
            }
            (0..n_layers).filter(|&l| on[l]).collect()
        }
    }
}

/// Phase (`0..phases`) of training step `step` of `total_steps`: `floor(step * phases /
/// total_steps)`, the last phase for `step >= total_steps` (see the module doc).
pub fn phase(phases: usize, step: usize, total_steps: usize) -> usize {
    if phases == 0 {
        return 0;
    }
    if step >= total_steps {
        return phases - 1;
    }
    // u128: step * phases cannot overflow.
    (step as u128 * phases as u128 / total_steps as u128) as usize
}

/// What training step `step` (0-based) of `total_steps` runs.
///
/// LoRA: exit 0 of [`exits`] (= layer `L - 1`), backprop from 0, forward to `L - 1`.
/// Partial: the same with backprop from `L - k`. Edge-LLM: phase `p` = [`phase`] uses exit
/// `p`, backprop from `max(0, exits[p] + 1 - window)`, forward to `exits[p]` (or `L - 1`
/// with `full_forward`).
///
/// # Panics
/// If `method` fails [`Method::validate`] for `n_layers` (callers validate the flags once
/// before training).
pub fn step_plan(method: &Method, n_layers: usize, step: usize, total_steps: usize) -> StepPlan {
    if let Err(e) = method.validate(n_layers) {
        panic!("step_plan on a method that fails validation: {e}");
    }
    let last = n_layers - 1;
    match method {
        Method::Lora => StepPlan {
            exit: 0,
            backprop_from: 0,
            forward_to: last,
        },
        Method::Partial { layers } => StepPlan {
            exit: 0,
            backprop_from: n_layers - layers,
            forward_to: last,
        },
        Method::EdgeLlm {
            exits,
            window,
            full_forward,
            ..
        } => {
            let p = phase(exits.len(), step, total_steps);
            let e = exits[p];
            StepPlan {
                exit: p,
                backprop_from: *window_range(e, *window).start(),
                forward_to: if *full_forward { last } else { e },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(exits: Vec<usize>, window: usize, full_forward: bool) -> Method {
        Method::EdgeLlm {
            exits,
            window,
            full_forward,
            train_exit_heads: false,
        }
    }

    #[test]
    fn default_exits_follow_the_workload_rule() {
        assert_eq!(default_exits(32), vec![7, 15, 23, 31]);
        // 30 * i / 4 - 1 for i = 1..=4: 7 - 1, 15 - 1, 22 - 1, 30 - 1.
        assert_eq!(default_exits(30), vec![6, 14, 21, 29]);
        assert_eq!(default_exits(4), vec![0, 1, 2, 3]);
        assert_eq!(default_exits(3), vec![0, 1, 2]);
        assert_eq!(default_exits(1), vec![0]);
        assert!(default_exits(0).is_empty());
        for l in 1..80 {
            let e = default_exits(l);
            assert!(edge(e.clone(), 1, false).validate(l).is_ok(), "{l}: {e:?}");
        }
        assert_eq!(default_window(&default_exits(32)), 8);
    }

    #[test]
    fn lora_and_partial_plans() {
        for step in [0, 5, 99, 150] {
            assert_eq!(
                step_plan(&Method::Lora, 30, step, 100),
                StepPlan {
                    exit: 0,
                    backprop_from: 0,
                    forward_to: 29
                }
            );
            assert_eq!(
                step_plan(&Method::Partial { layers: 4 }, 30, step, 100),
                StepPlan {
                    exit: 0,
                    backprop_from: 26,
                    forward_to: 29
                }
            );
        }
        assert_eq!(adapter_layers(&Method::Lora, 3), vec![0, 1, 2]);
        assert_eq!(
            adapter_layers(&Method::Partial { layers: 4 }, 30),
            vec![26, 27, 28, 29]
        );
        assert_eq!(
            adapter_layers(&Method::Partial { layers: 30 }, 30),
            (0..30).collect::<Vec<_>>()
        );
        assert_eq!(exits(&Method::Lora, 30), vec![29]);
    }

    #[test]
    fn edge_llm_30_layers_100_steps() {
        // Exits 6, 14, 21, 29, window 8: 4 phases of 25 steps. Windows (first layer =
        // exit + 1 - 8, clamped at 0): 0..=6, 7..=14, 14..=21, 22..=29.
        let m = edge(default_exits(30), 8, false);
        let table = [
            (0, 0, 0, 6),
            (24, 0, 0, 6),
            (25, 1, 7, 14),
            (49, 1, 7, 14),
            (50, 2, 14, 21),
            (74, 2, 14, 21),
            (75, 3, 22, 29),
            (99, 3, 22, 29),
            (100, 3, 22, 29),
        ];
        for (step, exit, from, to) in table {
            assert_eq!(
                step_plan(&m, 30, step, 100),
                StepPlan {
                    exit,
                    backprop_from: from,
                    forward_to: to
                },
                "step {step}"
            );
        }
        assert_eq!(adapter_layers(&m, 30), (0..30).collect::<Vec<_>>());
        // Full forward: same exits and windows, forward always to 29.
        let f = edge(default_exits(30), 8, true);
        for step in 0..100 {
            let (a, b) = (step_plan(&m, 30, step, 100), step_plan(&f, 30, step, 100));
            assert_eq!(
                (a.exit, a.backprop_from, b.forward_to),
                (b.exit, b.backprop_from, 29)
            );
        }
    }

    #[test]
    fn edge_llm_narrow_window_adapters_are_the_union() {
        // Window 4 ending at 6, 14, 21, 29: 3..=6, 11..=14, 18..=21, 26..=29.
        let m = edge(default_exits(30), 4, false);
        let want: Vec<usize> = [3..=6, 11..=14, 18..=21, 26..=29]
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(adapter_layers(&m, 30), want);
        assert_eq!(step_plan(&m, 30, 60, 100).backprop_from, 18);
        // A window wider than the first exit is clamped at layer 0.
        let w = edge(vec![2, 9], 5, false);
        assert_eq!(step_plan(&w, 10, 0, 10).backprop_from, 0);
        assert_eq!(step_plan(&w, 10, 5, 10).backprop_from, 5);
        assert_eq!(adapter_layers(&w, 10), vec![0, 1, 2, 5, 6, 7, 8, 9]);
    }

    #[test]
    fn remainder_steps_are_spread_over_the_phases() {
        // floor(s * 4 / 10) for s = 0..10: 0 0 0 1 1 2 2 2 3 3 (lengths 3, 2, 3, 2).
        let got: Vec<usize> = (0..10).map(|s| phase(4, s, 10)).collect();
        assert_eq!(got, vec![0, 0, 0, 1, 1, 2, 2, 2, 3, 3]);
        // Fewer steps than phases: phases are skipped, the last one is always reached.
        let got: Vec<usize> = (0..3).map(|s| phase(4, s, 3)).collect();
        assert_eq!(got, vec![0, 1, 2]);
        assert_eq!(phase(4, 2, 2), 3);
        assert_eq!(phase(4, 0, 0), 3);
        // Every phase length is floor or ceil of N / P, and they sum to N.
        for n in 1..60 {
            for p in 1..7 {
                let mut len = vec![0usize; p];
                for s in 0..n {
                    len[phase(p, s, n)] += 1;
                }
                assert_eq!(len.iter().sum::<usize>(), n);
                assert!(
                    len.iter().all(|&l| l == n / p || l == n.div_ceil(p)),
                    "{n} {p} {len:?}"
                );
            }
        }
    }

    #[test]
    fn validation_names_the_flag_and_range() {
        let msg = |m: Method, l: usize| m.validate(l).unwrap_err().to_string();
        assert!(msg(Method::Partial { layers: 0 }, 30).contains("--partial-layers"));
        assert!(msg(Method::Partial { layers: 31 }, 30).contains("1..=30"));
        let e = msg(edge(vec![], 4, false), 30);
        assert!(e.contains("--exits") && e.contains("0..=29"), "{e}");
        let e = msg(edge(vec![6, 6, 29], 4, false), 30);
        assert!(
            e.contains("exits[1]") && e.contains("strictly increasing"),
            "{e}"
        );
        let e = msg(edge(vec![6, 30], 4, false), 30);
        assert!(e.contains("exits[1]") && e.contains("0..=29"), "{e}");
        let e = msg(edge(vec![6, 14], 4, false), 30);
        assert!(e.contains("final head") && e.contains("29"), "{e}");
        let e = msg(edge(vec![29], 0, false), 30);
        assert!(e.contains("--window") && e.contains("1..=30"), "{e}");
        assert!(msg(Method::Lora, 0).contains("no decoder layers"));
        assert!(edge(vec![29], 30, true).validate(30).is_ok());
    }

    #[test]
    #[should_panic(expected = "fails validation")]
    fn step_plan_rejects_an_invalid_method() {
        step_plan(&edge(vec![3], 2, false), 30, 0, 10);
    }
}
