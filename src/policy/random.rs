//! Seeded random policies, the "Random" baselines of the paper's Table 2.
//!
//! - [`random_permutation`] (what `random` means everywhere a policy is named: workload
//!   `[policy] kind = "random"`, `edgesim luc policy --kind random`): the LUC policy's
//!   per-layer (bits, sparsity) assignments dealt to the layers in a seeded random order.
//!   One permutation of the layers is applied to whole layer settings, so the policy has
//!   exactly LUC's multiset of bit-widths and of sparsities: the same averages and the
//!   same spread, only the match between layer and setting is lost. This isolates what
//!   Table 2 credits to LUC, the use of the sensitivities (random 16.21 vs LUC 15.71
//!   WikiText-2 perplexity at 5.1 bits), and it is never far from LUC in spread: no layer
//!   gets a sparsity LUC did not give some layer.
//! - [`random_draw`] (`random-draw`): bits and sparsities drawn afresh, sparsity
//!   proportional to `U(0, 1)` draws. It matches LUC's averages only; its spread is that
//!   of the uniform draws (about `[0, 2P]`), so at P = 0.5 some layers are pruned to
//!   0.86-0.99, far beyond any LUC layer, which on a real model destroys it. Kept as a
//!   separate, harsher baseline.

use super::eq::clamp_keeping_mean;
use super::rng::SplitMix64;
use super::{LayerPolicy, Policy};

/// A uniformly random permutation of `0..n` from `seed` (Fisher-Yates, Knuth TAOCP vol. 2,
/// Algorithm 3.4.2P, with unbiased draws by rejection).
pub fn layer_permutation(n: usize, seed: u64) -> Vec<usize> {
    let mut rng = SplitMix64::new(seed);
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        order.swap(i, j);
    }
    order
}

/// The permutation ablation of `policy` (Table 2's "Random"): layer `j` gets the whole
/// setting (w, a, kv bits and sparsity) of layer `perm[j]` of `policy`, where
/// `perm = layer_permutation(L, seed)`. Deterministic per seed; averages and multisets of
/// bits and sparsities equal those of `policy`.
pub fn random_permutation(policy: &Policy, seed: u64) -> Policy {
    let perm = layer_permutation(policy.layers.len(), seed);
    Policy {
        layers: perm.iter().map(|&src| policy.layers[src]).collect(),
        provenance: format!(
            "random: layers of [{}] in seeded random order (seed {seed})",
            policy.provenance
        ),
    }
}

/// A freshly drawn random policy for `layers` layers, deterministic per `seed`
/// (`random-draw`; see the module docs for how it differs from [`random_permutation`]).
///
/// Distribution: bits: `extra_bit_layers` distinct layers chosen uniformly at random
/// (partial Fisher-Yates shuffle) get `base_bits + 1`, the others `base_bits`, so the
/// average is exactly `base_bits + extra_bit_layers / layers`, as for LUC's eq. 1.
/// Sparsity: `u_j ~ U(0, 1)` i.i.d., `p_j = P * L * u_j / sum_i u_i` (so `p_j` spreads
/// over about `[0, 2P]` with mean exactly `P`), then clamped to `[0, 0.99]` with the excess
/// redistributed as in eq. 2, keeping the mean `P`. a and kv bits equal the weight bits.
pub fn random_draw(
    layers: usize,
    base_bits: u32,
    extra_bit_layers: usize,
    sparsity: f64,
    seed: u64,
) -> Policy {
    let mut rng = SplitMix64::new(seed);
    let mut order: Vec<usize> = (0..layers).collect();
    let k = extra_bit_layers.min(layers);
    for i in 0..k {
        let j = i + rng.below((layers - i) as u64) as usize;
        order.swap(i, j);
    }
    let mut bits = vec![base_bits; layers];
    for &j in &order[..k] {
        bits[j] = base_bits + 1;
    }
    let u: Vec<f64> = (0..layers).map(|_| rng.next_f64()).collect();
    let sum: f64 = u.iter().sum();
    let raw: Vec<f64> = if sum > 0.0 {
        u.iter()
            .map(|x| sparsity * layers as f64 * x / sum)
            .collect()
    } else {
        vec![sparsity; layers]
    };
    let p = clamp_keeping_mean(&raw, sparsity);
    Policy {
        layers: bits
            .iter()
            .zip(p)
            .map(|(&b, s)| LayerPolicy {
                w_bits: b,
                a_bits: b,
                kv_bits: b,
                sparsity: s,
            })
            .collect(),
        provenance: format!(
            "random-draw: seed {seed}, {base_bits} bits + 1 on {k} layers, mean sparsity {sparsity}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Eq2, eq1_bits, eq2_sparsity};
    use approx::assert_abs_diff_eq;

    #[test]
    fn draw_has_the_target_averages_and_is_deterministic() {
        let a = random_draw(32, 5, 4, 0.5, 42);
        assert_abs_diff_eq!(a.avg_w_bits(), 5.125, epsilon = 1e-12);
        assert_abs_diff_eq!(a.mean_sparsity(), 0.5, epsilon = 1e-12);
        assert!(a.layers.iter().all(|l| (0.0..=0.99).contains(&l.sparsity)));
        assert_eq!(a, random_draw(32, 5, 4, 0.5, 42));
        let b = random_draw(32, 5, 4, 0.5, 43);
        assert_ne!(a.layers, b.layers);
        assert_abs_diff_eq!(b.mean_sparsity(), 0.5, epsilon = 1e-12);
    }

    #[test]
    fn draw_caps_extra_bits_at_layer_count() {
        let p = random_draw(3, 4, 10, 0.0, 1);
        assert!(p.layers.iter().all(|l| l.w_bits == 5 && l.sparsity == 0.0));
    }

    /// A LUC-like policy with distinct sparsities and mixed bits: eq. 1 and eq. 2 on a
    /// sensitivity that grows with depth (sensitivity `1 + j^2`).
    fn luc_like(layers: usize) -> Policy {
        let s: Vec<f64> = (0..layers).map(|j| 1.0 + (j * j) as f64).collect();
        let bits = eq1_bits(&s, 4);
        let p = eq2_sparsity(&s, 0.5, Eq2::Code);
        Policy {
            layers: bits
                .iter()
                .zip(&p)
                .map(|(&b, &sp)| LayerPolicy {
                    w_bits: b,
                    a_bits: b,
                    kv_bits: 16,
                    sparsity: sp,
                })
                .collect(),
            provenance: "luc: test".into(),
        }
    }

    fn sorted<T: PartialOrd + Copy>(mut v: Vec<T>) -> Vec<T> {
        v.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
        v
    }

    #[test]
    fn permutation_keeps_the_multisets_and_the_means() {
        for layers in [1, 2, 5, 32] {
            let luc = luc_like(layers);
            for seed in 0..20 {
                let r = random_permutation(&luc, seed);
                assert_eq!(r.layers.len(), layers);
                let bits = |p: &Policy| sorted(p.layers.iter().map(|l| l.w_bits).collect());
                let sp = |p: &Policy| sorted(p.layers.iter().map(|l| l.sparsity).collect());
                assert_eq!(bits(&r), bits(&luc));
                assert_eq!(sp(&r), sp(&luc));
                assert_abs_diff_eq!(r.avg_w_bits(), luc.avg_w_bits(), epsilon = 1e-12);
                assert_abs_diff_eq!(r.mean_sparsity(), luc.mean_sparsity(), epsilon = 1e-12);
                // Whole layer settings move together: each permuted layer is some LUC layer.
                assert!(r.layers.iter().all(|l| luc.layers.contains(l)));
                assert!(r.provenance.starts_with("random:") && r.provenance.contains("luc: test"));
            }
        }
    }

    #[test]
    fn permutation_is_seeded_and_not_the_identity() {
        let luc = luc_like(32);
        assert_eq!(random_permutation(&luc, 7), random_permutation(&luc, 7));
        assert_ne!(
            random_permutation(&luc, 7).layers,
            random_permutation(&luc, 8).layers
        );
        // Distinct orders over seeds; for 32 layers the identity has probability 1/32!.
        let orders: std::collections::BTreeSet<Vec<usize>> =
            (0..50).map(|s| layer_permutation(32, s)).collect();
        assert_eq!(orders.len(), 50);
        assert!(!orders.contains(&(0..32).collect::<Vec<_>>()));
        // Every L >= 2: some seed moves a layer, and every output is a permutation.
        for n in 2..=8 {
            let identity: Vec<usize> = (0..n).collect();
            let perms: Vec<Vec<usize>> = (0..64).map(|s| layer_permutation(n, s)).collect();
            assert!(perms.iter().any(|p| *p != identity), "n = {n}");
            assert!(perms.iter().all(|p| sorted(p.clone()) == identity));
        }
        assert_eq!(layer_permutation(1, 3), vec![0]);
        assert!(layer_permutation(0, 3).is_empty());
    }

    /// Fisher-Yates is uniform: for 3 layers all 6 orders appear, each near 1/6 of 6,000
    /// seeds (binomial standard deviation 29; allow 5 sigma).
    #[test]
    fn permutation_orders_are_uniform() {
        let mut count = std::collections::BTreeMap::new();
        for s in 0..6000 {
            *count.entry(layer_permutation(3, s)).or_insert(0) += 1;
        }
        assert_eq!(count.len(), 6);
        assert!(
            count.values().all(|&c| (855..=1145).contains(&c)),
            "{count:?}"
        );
    }
}
