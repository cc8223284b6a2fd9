//! Stored size of a compressed weight matrix.
//!
//! Format assumed (the reference quantiser is symmetric per output channel, the pruner
//! unstructured):
//! - values: the `(1 - p) * in * out` kept weights (rounded to the nearest integer) at
//!   `bits` bits each, packed;
//! - scales: one fp16 scale per output channel when `bits < 16` (no zero point). A
//!   16-bit weight is read as f16/bf16 here (the uncompressed model); integer codes at 16
//!   bits (`luc compress` quantises every width 2..=16) carry scales too, which
//!   [`quantized_weight_bytes`] charges at any width;
//! - sparse metadata when `p > 0`: the smaller of a bitmap (1 bit per dense position) and
//!   CSR indices (a column index of `ceil(log2(in))` bits per kept weight, plus one 32-bit
//!   row pointer per output row and one extra). The bitmap is smaller unless
//!   `p > 1 - 1/ceil(log2(in))` (about 92% for `in = 4096`).

/// Bytes of one stored weight matrix, by part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct WeightBytes {
    /// Packed kept values.
    pub values: u64,
    /// Per-output-channel fp16 scales.
    pub scales: u64,
    /// Sparse-position metadata (bitmap or CSR, whichever is smaller).
    pub metadata: u64,
}

impl WeightBytes {
    /// Sum of the parts.
    pub fn total(&self) -> u64 {
        self.values + self.scales + self.metadata
    }
}

/// Bits of one CSR column index for a row of `in_features` columns.
pub fn index_bits(in_features: u64) -> u64 {
    (64 - (in_features.max(2) - 1).leading_zeros()) as u64
}

/// Stored bytes of an `in_features x out_features` weight at `bits` bits and `sparsity`:
/// integer codes with per-channel scales below 16 bits, f16/bf16 values at 16 and above.
pub fn weight_bytes(in_features: u64, out_features: u64, bits: u32, sparsity: f64) -> WeightBytes {
    stored_bytes(in_features, out_features, bits, sparsity, bits < 16)
}

/// Stored bytes of an `in_features x out_features` weight quantised to `bits`-bit integer
/// codes (any width, 16 included) with one fp16 scale per output channel, at `sparsity`.
pub fn quantized_weight_bytes(
    in_features: u64,
    out_features: u64,
    bits: u32,
    sparsity: f64,
) -> WeightBytes {
    stored_bytes(in_features, out_features, bits, sparsity, true)
}

fn stored_bytes(
    in_features: u64,
    out_features: u64,
    bits: u32,
    sparsity: f64,
    scaled: bool,
) -> WeightBytes {
    let n = in_features * out_features;
    let kept = ((1.0 - sparsity) * n as f64).round() as u64;
    let values = (kept * bits as u64).div_ceil(8);
    let scales = if scaled { 2 * out_features } else { 0 };
    let metadata = if sparsity > 0.0 {
        let bitmap = n.div_ceil(8);
        let csr = (kept * index_bits(in_features)).div_ceil(8) + 4 * (out_features + 1);
        bitmap.min(csr)
    } else {
        0
    };
    WeightBytes {
        values,
        scales,
        metadata,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q_projection_at_4_bits_half_sparse_by_hand() {
        // 4096 x 4096 = 16,777,216 weights; kept 8,388,608 at 4 bits = 4,194,304 B;
        // scales 4096 * 2 = 8,192 B; bitmap 16,777,216 / 8 = 2,097,152 B
        // (CSR would be 8,388,608 * 12 / 8 + 4 * 4097 = 12,599,300 B).
        let w = weight_bytes(4096, 4096, 4, 0.5);
        assert_eq!(w.values, 4_194_304);
        assert_eq!(w.scales, 8_192);
        assert_eq!(w.metadata, 2_097_152);
        assert_eq!(w.total(), 6_299_648);
    }

    #[test]
    fn dense_16_bit_has_no_overhead_and_high_sparsity_uses_csr() {
        assert_eq!(weight_bytes(10, 3, 16, 0.0).total(), 60);
        assert_eq!(index_bits(4096), 12);
        assert_eq!(index_bits(11008), 14);
        assert_eq!(index_bits(4097), 13);
        // 95% sparse 4096x4096: kept 838,861 * 12 bits = 1,258,292 (rounded up) + 16,388
        // row pointers = 1,274,680 < bitmap 2,097,152.
        let w = weight_bytes(4096, 4096, 4, 0.95);
        assert_eq!(w.metadata, 1_274_680);
    }

    #[test]
    fn wide_integer_codes_by_hand() {
        // 9 bits, 11008 x 4096 (down projection), 50% sparse: kept 22,544,384 * 9 bits
        // = 25,362,432 B; scales 4096 * 2 = 8,192 B; bitmap 45,088,768 / 8 = 5,636,096 B.
        let w = quantized_weight_bytes(11008, 4096, 9, 0.5);
        assert_eq!(
            (w.values, w.scales, w.metadata),
            (25_362_432, 8_192, 5_636_096)
        );
        assert_eq!(w, weight_bytes(11008, 4096, 9, 0.5));
        // 16-bit codes keep their scales; a 16-bit float weight has none.
        assert_eq!(quantized_weight_bytes(10, 3, 16, 0.0).total(), 60 + 6);
        assert_eq!(weight_bytes(10, 3, 16, 0.0).total(), 60);
    }
}
