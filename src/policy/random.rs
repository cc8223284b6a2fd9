//! Seeded random policies: the "Random" baseline of the paper's Table 2, with the same
//! average bits and sparsity as the LUC policy it is compared with.

use super::eq::clamp_keeping_mean;
use super::rng::SplitMix64;
use super::{LayerPolicy, Policy};

/// A random policy for `layers` layers, deterministic per `seed`.
///
/// Distribution: bits: `extra_bit_layers` distinct layers chosen uniformly at random
/// (partial Fisher-Yates shuffle) get `base_bits + 1`, the others `base_bits`, so the
/// average is exactly `base_bits + extra_bit_layers / layers`, as for LUC's eq. 1.
/// Sparsity: `u_j ~ U(0, 1)` i.i.d., `p_j = P * L * u_j / sum_i u_i` (so `p_j` spreads
/// over about `[0, 2P]` with mean exactly `P`), then clamped to `[0, 0.99]` with the excess
/// redistributed as in eq. 2, keeping the mean `P`. a and kv bits equal the weight bits.
pub fn random(
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
            "random: seed {seed}, {base_bits} bits + 1 on {k} layers, mean sparsity {sparsity}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

    #[test]
    fn same_averages_as_target_and_deterministic() {
        let a = random(32, 5, 4, 0.5, 42);
        assert_abs_diff_eq!(a.avg_w_bits(), 5.125, epsilon = 1e-12);
        assert_abs_diff_eq!(a.mean_sparsity(), 0.5, epsilon = 1e-12);
        assert!(a.layers.iter().all(|l| (0.0..=0.99).contains(&l.sparsity)));
        assert_eq!(a, random(32, 5, 4, 0.5, 42));
        let b = random(32, 5, 4, 0.5, 43);
        assert_ne!(a.layers, b.layers);
        assert_abs_diff_eq!(b.mean_sparsity(), 0.5, epsilon = 1e-12);
    }

    #[test]
    fn extra_bits_capped_at_layer_count() {
        let p = random(3, 4, 10, 0.0, 1);
        assert!(p.layers.iter().all(|l| l.w_bits == 5 && l.sparsity == 0.0));
    }
}
