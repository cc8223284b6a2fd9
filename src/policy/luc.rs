//! Layer-wise unified compression (LUC): a per-layer policy from measured sensitivities.
//!
//! Sparsity: eq. 2 (code semantics by default) on each layer's mean pruning MSE over all
//! sparsity levels and the first [`REFERENCE_SAMPLES`] samples.
//!
//! Bits: eq. 1 on each layer's mean quantisation MSE (all bit-widths, first 7 samples).
//! The authors did not release quantisation sensitivities; without them the pruning
//! sensitivity stands in as a proxy (with a warning). On the shared LLaMA-7B data the
//! proxy puts 12 layers (20-31) at or above the mean because pruning MSE grows steadily
//! with depth, i.e. B + 0.375 average bits, not the paper's B + 0.125. Setting
//! `extra_bit_layers = k` replaces eq. 1's mean threshold by "the k most sensitive layers"
//! (k = 4 reproduces the paper's reported 4-of-32 count and average bits).
//!
//! Missing layers (no rows, or all-zero MSE, like layer 31 of the shared file) are
//! reported as warnings to the caller. With [`MissingLayers::Mean`] (default) a missing
//! layer's pruning sensitivity is the mean of the measured layers, which under both eq. 2
//! readings gives it exactly the target sparsity P, and it is given the extra bit
//! (unknown sensitivity is treated as sensitive; in top-k mode it ranks first).
//! [`MissingLayers::Zero`] instead uses the zeros as if measured (the authors' own run:
//! the layer then looks least sensitive, gets the highest sparsity and no extra bit).

use super::eq::{Eq2, eq1_bits, eq2_sparsity, top_k_bits};
use super::sensitivity::{REFERENCE_SAMPLES, SensitivityTable};
use super::{LayerPolicy, Policy};
use crate::error::{Error, Result};

/// How layers without sensitivity data are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MissingLayers {
    /// Impute the mean of the measured layers (target sparsity, extra bit).
    Mean,
    /// Use the zeros as measured values (reproduces the reference run).
    Zero,
}

/// Parameters of [`luc`].
#[derive(Debug, Clone, PartialEq)]
pub struct LucOptions {
    /// Target bits B.
    pub bits: u32,
    /// Target mean sparsity P in [0, 0.99].
    pub sparsity: f64,
    /// Reading of eq. 2.
    pub eq2: Eq2,
    /// `Some(k)`: the k most sensitive layers get B + 1 instead of eq. 1's mean threshold.
    pub extra_bit_layers: Option<usize>,
    /// Treatment of missing layers.
    pub missing: MissingLayers,
    /// Samples averaged per (layer, level): those with index below this.
    pub max_samples: u32,
}

impl LucOptions {
    /// Reference defaults: code semantics, eq. 1 threshold, missing = mean, 7 samples.
    pub fn new(bits: u32, sparsity: f64) -> LucOptions {
        LucOptions {
            bits,
            sparsity,
            eq2: Eq2::Code,
            extra_bit_layers: None,
            missing: MissingLayers::Mean,
            max_samples: REFERENCE_SAMPLES,
        }
    }
}

/// The result of [`luc`]: the policy plus what the caller should tell the user.
#[derive(Debug, Clone, PartialEq)]
pub struct LucOutcome {
    /// The per-layer policy (a = kv = w bits, as in the reference quantiser).
    pub policy: Policy,
    /// Warnings (missing layers, proxy use); never printed by the library.
    pub warnings: Vec<String>,
    /// Per-layer pruning sensitivity used (after imputation).
    pub prune_sensitivity: Vec<f64>,
    /// Per-layer quantisation sensitivity used for eq. 1 (the proxy if none was given).
    pub quant_sensitivity: Vec<f64>,
}

/// Builds the LUC policy for a `layers`-layer model.
pub fn luc(
    prune: &SensitivityTable,
    quant: Option<&SensitivityTable>,
    layers: u32,
    opts: &LucOptions,
) -> Result<LucOutcome> {
    let mut warnings = Vec::new();
    let (s_prune, missing_p) = fill(prune, layers, opts, &mut warnings)?;
    let sparsity = eq2_sparsity(&s_prune, opts.sparsity, opts.eq2);
    if let Some(j) = sparsity.iter().position(|p| !p.is_finite()) {
        // Unreachable for validated (finite) MSEs; kept so a NaN can never be written
        // into a policy as a sparsity.
        return Err(Error::input(
            &prune.file,
            format!("layer {j}"),
            format!(
                "sensitivity {:e} gives no finite sparsity under eq. 2",
                s_prune[j]
            ),
        ));
    }

    let (s_quant, missing_q, quant_src) = match quant {
        Some(q) => {
            let (s, m) = fill(q, layers, opts, &mut warnings)?;
            (s, m, q.file.clone())
        }
        None => {
            warnings.push(format!(
                "no quantisation sensitivity given: eq. 1 uses the pruning sensitivity of \
                 {} as a proxy",
                prune.file
            ));
            (
                s_prune.clone(),
                missing_p.clone(),
                format!("proxy {}", prune.file),
            )
        }
    };
    let protect_missing = opts.missing == MissingLayers::Mean;
    let bits = match opts.extra_bit_layers {
        None => {
            let mut b = eq1_bits(&s_quant, opts.bits);
            if protect_missing {
                for &j in &missing_q {
                    b[j] = opts.bits + 1;
                }
            }
            b
        }
        Some(k) => {
            let mut ranked = s_quant.clone();
            if protect_missing {
                for &j in &missing_q {
                    ranked[j] = f64::INFINITY;
                }
            }
            top_k_bits(&ranked, opts.bits, k)
        }
    };
    let threshold = match opts.extra_bit_layers {
        None => "eq. 1 mean threshold".to_string(),
        Some(k) => format!("top {k} layers"),
    };
    let policy = Policy {
        layers: bits
            .iter()
            .zip(&sparsity)
            .map(|(&b, &p)| LayerPolicy {
                w_bits: b,
                a_bits: b,
                kv_bits: b,
                sparsity: p,
            })
            .collect(),
        provenance: format!(
            "luc: B = {}, P = {}, eq. 2 {} semantics on {}; bits by {} on {}; missing layers: {}",
            opts.bits,
            opts.sparsity,
            opts.eq2.name(),
            prune.file,
            threshold,
            quant_src,
            match opts.missing {
                MissingLayers::Mean => "mean",
                MissingLayers::Zero => "zero",
            }
        ),
    };
    Ok(LucOutcome {
        policy,
        warnings,
        prune_sensitivity: s_prune,
        quant_sensitivity: s_quant,
    })
}

/// Per-layer means with missing layers filled; returns the filled values and the
/// indices that were missing.
fn fill(
    t: &SensitivityTable,
    layers: u32,
    opts: &LucOptions,
    warnings: &mut Vec<String>,
) -> Result<(Vec<f64>, Vec<usize>)> {
    let means = t.per_layer_mean(layers, opts.max_samples)?;
    let present: Vec<f64> = means.iter().flatten().copied().collect();
    if present.is_empty() {
        return Err(Error::input(
            &t.file,
            "mse",
            format!(
                "no layer in [0, {}] has a non-zero MSE among samples < {}",
                layers.saturating_sub(1),
                opts.max_samples
            ),
        ));
    }
    let missing: Vec<usize> = (0..means.len()).filter(|&j| means[j].is_none()).collect();
    let avg = super::stats::finite_mean(&present);
    let fill_value = match opts.missing {
        MissingLayers::Mean => avg,
        MissingLayers::Zero => 0.0,
    };
    if !missing.is_empty() {
        let list: Vec<String> = missing.iter().map(|j| j.to_string()).collect();
        warnings.push(format!(
            "{}: layer(s) {} have no data or only zero MSE; treated as missing: {}",
            t.file,
            list.join(", "),
            match opts.missing {
                MissingLayers::Mean => format!(
                    "sensitivity set to the mean of the measured layers ({avg:.4e}), \
                     i.e. target sparsity and one extra bit"
                ),
                MissingLayers::Zero => "sensitivity taken as 0 (as measured)".to_string(),
            }
        ));
    }
    Ok((
        means.iter().map(|m| m.unwrap_or(fill_value)).collect(),
        missing,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::SensitivityKind;
    use approx::assert_abs_diff_eq;

    const SHARED: &str = include_str!("../../data/llama7b_layerwise_pruning_mse.csv");

    fn shared() -> SensitivityTable {
        SensitivityTable::from_csv_str("llama7b.csv", SHARED, SensitivityKind::Pruning).unwrap()
    }

    #[test]
    fn shared_data_code_semantics_matches_paper_facts() {
        let out = luc(&shared(), None, 32, &LucOptions::new(5, 0.5)).unwrap();
        let p: Vec<f64> = out.policy.layers.iter().map(|l| l.sparsity).collect();
        // PAPER.md: layer 30 (the most sensitive) gets 0.0; mean sparsity = P.
        assert_eq!(p[30], 0.0);
        assert_abs_diff_eq!(out.policy.mean_sparsity(), 0.5, epsilon = 1e-12);
        // Layers 0-28 fall between 0.44 and 0.55 in the paper's run (which used layer 31's
        // zeros as data). With layer 31 missing (set to P), the others rise by ~0.2%:
        // layer 0 gets 0.5553, layer 28 gets 0.4422.
        for (j, &x) in p.iter().enumerate().take(29) {
            assert!((0.44..0.556).contains(&x), "layer {j}: {x}");
        }
        assert_abs_diff_eq!(p[31], 0.5, epsilon = 1e-9);
        // Sparsity decreases with depth for 0..=30 (MSE grows with depth).
        assert!(p[..31].windows(2).all(|w| w[0] >= w[1]));
        assert!(
            out.warnings
                .iter()
                .any(|w| w.contains("31") && w.contains("missing"))
        );
        assert!(out.warnings.iter().any(|w| w.contains("proxy")));
        // Proxy eq. 1: layers 20..=30 are at or above the mean MSE, plus missing 31.
        let extra: Vec<usize> = (0..32)
            .filter(|&j| out.policy.layers[j].w_bits == 6)
            .collect();
        assert_eq!(extra, (20..32).collect::<Vec<_>>());
    }

    #[test]
    fn shared_data_as_measured_reproduces_the_reference_range() {
        let mut o = LucOptions::new(4, 0.5);
        o.missing = MissingLayers::Zero;
        let out = luc(&shared(), None, 32, &o).unwrap();
        let p: Vec<f64> = out.policy.layers.iter().map(|l| l.sparsity).collect();
        assert_eq!(p[30], 0.0);
        // PAPER.md quotes the range to two decimals: 0.4407 .. 0.5534.
        for &x in &p[..29] {
            let r = (x * 100.0).round() / 100.0;
            assert!((0.44..=0.55).contains(&r), "{x}");
        }
        assert_abs_diff_eq!(out.policy.mean_sparsity(), 0.5, epsilon = 1e-12);
    }

    #[test]
    fn top_k_gives_the_papers_average_bits() {
        let mut o = LucOptions::new(5, 0.5);
        o.extra_bit_layers = Some(4);
        let out = luc(&shared(), None, 32, &o).unwrap();
        // 4 of 32 layers get 6 bits: 5 + 4/32 = 5.125 (Table 1's "5.1").
        assert_abs_diff_eq!(out.policy.avg_w_bits(), 5.125, epsilon = 1e-12);
        let extra: Vec<usize> = (0..32)
            .filter(|&j| out.policy.layers[j].w_bits == 6)
            .collect();
        // Missing layer 31 first, then the three largest MSEs: 30, 29, 28.
        assert_eq!(extra, vec![28, 29, 30, 31]);
    }

    #[test]
    fn quant_csv_drives_eq1() {
        // Hand example, 3 layers: quant means [1, 5, 3] -> mean 3 -> layers 1, 2 get B+1.
        let q = SensitivityTable::from_csv_str(
            "q.csv",
            "layer,bits,sample,mse\n0,4,0,1\n1,4,0,5\n2,4,0,3\n",
            SensitivityKind::Quantization,
        )
        .unwrap();
        let pr = SensitivityTable::from_csv_str(
            "p.csv",
            "layer,sparsity,sample,mse\n0,0.5,0,1\n1,0.5,0,2\n2,0.5,0,3\n",
            SensitivityKind::Pruning,
        )
        .unwrap();
        let out = luc(&pr, Some(&q), 3, &LucOptions::new(3, 0.3)).unwrap();
        let bits: Vec<u32> = out.policy.layers.iter().map(|l| l.w_bits).collect();
        assert_eq!(bits, vec![3, 4, 4]);
        // eq. 2 code: scaled [0, .5, 1], r = [1, .5, 0], sum 1.5: p = 0.9 * r / 1.5.
        let p: Vec<f64> = out.policy.layers.iter().map(|l| l.sparsity).collect();
        assert_abs_diff_eq!(p[0], 0.6, epsilon = 1e-12);
        assert_abs_diff_eq!(p[1], 0.3, epsilon = 1e-12);
        assert_abs_diff_eq!(p[2], 0.0, epsilon = 1e-12);
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    }

    #[test]
    fn all_zero_file_is_an_error() {
        let pr = SensitivityTable::from_csv_str(
            "p.csv",
            "layer,sparsity,sample,mse\n0,0.5,0,0\n",
            SensitivityKind::Pruning,
        )
        .unwrap();
        let e = luc(&pr, None, 1, &LucOptions::new(3, 0.3))
            .unwrap_err()
            .to_string();
        assert!(e.contains("p.csv") && e.contains("non-zero"), "{e}");
    }
}

#[cfg(test)]
mod extreme {
    use super::*;
    use crate::policy::{MAX_SPARSITY, SensitivityKind};
    use approx::assert_abs_diff_eq;
    use proptest::prelude::*;

    #[test]
    fn overflowing_layer_sums_keep_the_requested_mean() {
        // Layer 0's sum 1e308 + 1e308 overflows; before, inf / inf = NaN reached eq. 2 and
        // every layer came out at sparsity 0 (requested 0.5).
        let pr = SensitivityTable::from_csv_str(
            "huge.csv",
            "layer,sparsity,sample,mse\n0,0.5,0,1e308\n0,0.5,1,1e308\n1,0.5,0,0.1\n",
            SensitivityKind::Pruning,
        )
        .unwrap();
        for eq2 in [Eq2::Code, Eq2::Paper] {
            let mut o = LucOptions::new(4, 0.5);
            o.eq2 = eq2;
            let out = luc(&pr, None, 2, &o).unwrap();
            let p: Vec<f64> = out.policy.layers.iter().map(|l| l.sparsity).collect();
            assert_abs_diff_eq!(out.policy.mean_sparsity(), 0.5, epsilon = 1e-12);
            match eq2 {
                // Code: layer 0 is the most sensitive -> 0, layer 1 carries 2 * 0.5 = 1.0,
                // clamped to 0.99 with the excess 0.01 handed to the free layer 0.
                Eq2::Code => {
                    assert_abs_diff_eq!(p[1], MAX_SPARSITY, epsilon = 1e-12);
                    assert_abs_diff_eq!(p[0], 1.0 - MAX_SPARSITY, epsilon = 1e-12);
                }
                // Paper: proportional to 1e308 : 0.1, so layer 0 gets the cap.
                Eq2::Paper => assert_abs_diff_eq!(p[0], MAX_SPARSITY, epsilon = 1e-12),
            }
            // eq. 1 (proxy): mean (1e308 + 0.1) / 2 = 5e307; only layer 0 is above it.
            let bits: Vec<u32> = out.policy.layers.iter().map(|l| l.w_bits).collect();
            assert_eq!(bits, vec![5, 4]);
            assert!(out.prune_sensitivity.iter().all(|s| s.is_finite()));
        }
    }

    fn mse() -> impl Strategy<Value = f64> {
        prop_oneof![
            Just(0.0),
            Just(f64::MAX),
            Just(f64::MIN_POSITIVE),
            Just(5e-324),
            0.0f64..=f64::MAX,
            (0.0f64..10.0).prop_map(|x| x * 1e307),
            (0.0f64..1.0).prop_map(|x| x * 1e-300),
        ]
    }

    proptest! {
        /// Any file the reader accepts (finite MSE >= 0) gives finite per-layer
        /// settings inside the bounds with the requested mean, or a clean error.
        #[test]
        fn accepted_extreme_inputs_give_finite_policies_or_an_error(
            rows in proptest::collection::vec((0u32..6, 0u32..9, mse()), 1..40),
            p in 0.0f64..=0.99,
            paper in any::<bool>(),
            zero in any::<bool>(),
            top_k in proptest::option::of(0usize..6),
        ) {
            let mut csv = String::from("layer,sparsity,sample,mse\n");
            for (layer, sample, mse) in &rows {
                csv.push_str(&format!("{layer},0.5,{sample},{mse:e}\n"));
            }
            let t = SensitivityTable::from_csv_str("x.csv", &csv, SensitivityKind::Pruning)
                .unwrap();
            let mut o = LucOptions::new(4, p);
            o.eq2 = if paper { Eq2::Paper } else { Eq2::Code };
            o.missing = if zero { MissingLayers::Zero } else { MissingLayers::Mean };
            o.extra_bit_layers = top_k;
            match luc(&t, None, 6, &o) {
                Ok(out) => {
                    for l in &out.policy.layers {
                        prop_assert!(l.sparsity.is_finite());
                        prop_assert!((0.0..=MAX_SPARSITY + 1e-12).contains(&l.sparsity));
                        prop_assert!(l.w_bits == 4 || l.w_bits == 5);
                    }
                    let mean = out.policy.mean_sparsity();
                    prop_assert!((mean - p).abs() < 1e-9, "mean {} target {}", mean, p);
                    prop_assert!(out.prune_sensitivity.iter().all(|s| s.is_finite()));
                }
                Err(e) => prop_assert!(e.is_input() && e.to_string().contains("x.csv")),
            }
        }
    }
}
