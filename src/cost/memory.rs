//! Memory figures of one schedule, each named by what it counts.
//!
//! "Memory" meant one number before (every tensor on every tier, which depends on the
//! schedule and is dominated by the 8-bit base weights); a reader comparing with a paper
//! needs to know which tensors a ratio covers. [`MemoryMetrics`] reports five figures of
//! the same evaluated schedule (a [`Table`] under a [`Placement`]), all in bytes:
//!
//! - `device_bytes`: what must fit on the device: the peak DRAM occupancy
//!   ([`Table::dram_peak`]: DRAM-resident fractions of weights, saved tensors, gradients
//!   and optimizer state, the SSD staging buffers and the activation working set) plus the
//!   peak SRAM occupancy ([`Table::sram_peak`]: the largest GEMM's tiles, double-buffered
//!   when prefetching);
//! - `activation_bytes`: the peak bytes saved in forward for backward, on any tier: the
//!   tensors of `workload::saved` (or the 16-bit checkpoint of a recomputed column) of
//!   every forward column, for the sequences of one block, at their peak (the end of the
//!   block's forward). These are the tensors adaptive layer tuning shrinks: they scale
//!   with the backprop depth;
//! - `tuning_state_bytes`: trainable weights (16-bit working copy) + weight gradients
//!   (fp32 accumulators) + optimizer state (Adam m, v and the fp32 master copy), on any
//!   tier (`workload::build`'s byte conventions);
//! - `total_bytes`: every tensor of tuning once, wherever it lives (DRAM or SSD): stored
//!   weights, saved tensors, gradients, optimizer state and the activation working set
//!   ([`Table::memory_bytes`], the "total tuning memory" the search minimises); SRAM tiles
//!   and SSD staging buffers are copies and not counted;
//! - `ssd_bytes`: the peak SSD occupancy ([`Table::ssd_peak`]: the SSD-resident fractions).
//!
//! Relations that hold by construction (tested): `activation_bytes + tuning_state_bytes
//! <= total_bytes` (trainable weights are part of the stored weights); `ssd_bytes <=
//! total_bytes`; `device_bytes - sram + ssd_bytes = total_bytes + staging buffers` (each
//! tensor is on DRAM or SSD, plus the staging copies of SSD-resident classes), so
//! `device_bytes` exceeds `total_bytes` only by SRAM tiles and staging copies.

use super::table::Table;
use super::types::Placement;

/// Memory figures of one evaluated schedule (bytes; see the module doc for each).
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct MemoryMetrics {
    /// Peak DRAM + peak SRAM occupancy: what must fit on the device.
    pub device_bytes: f64,
    /// Peak bytes saved in forward for backward (any tier).
    pub activation_bytes: f64,
    /// Trainable weights + weight gradients + optimizer state (any tier).
    pub tuning_state_bytes: f64,
    /// Every tensor of tuning once, DRAM and SSD (the total tuning memory).
    pub total_bytes: f64,
    /// Peak SSD occupancy.
    pub ssd_bytes: f64,
}

impl MemoryMetrics {
    /// The metrics of table `t` under placement `p`.
    pub fn of(t: &Table, p: &Placement) -> Self {
        let m = &t.mem;
        MemoryMetrics {
            device_bytes: t.dram_peak(p) + t.sram_peak(),
            activation_bytes: m.saved_peak,
            tuning_state_bytes: m.trainable + m.grad_opt,
            total_bytes: t.memory_bytes(),
            ssd_bytes: t.ssd_peak(p),
        }
    }

    /// Each figure of `self` divided by the same figure of `base` (NaN where `base` is 0).
    pub fn ratio_to(&self, base: &MemoryMetrics) -> MemoryMetrics {
        let r = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
        MemoryMetrics {
            device_bytes: r(self.device_bytes, base.device_bytes),
            activation_bytes: r(self.activation_bytes, base.activation_bytes),
            tuning_state_bytes: r(self.tuning_state_bytes, base.tuning_state_bytes),
            total_bytes: r(self.total_bytes, base.total_bytes),
            ssd_bytes: r(self.ssd_bytes, base.ssd_bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::Model;
    use crate::hw::HwConfig;
    use crate::workload::{Pass, Workload};

    /// The tiny LoRA workload (4 layers of `tiny`, 16 tokens, 2 sequences per
    /// micro-batch, 4 per step).
    fn tiny_lora() -> crate::workload::Trace {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/workloads/tiny_lora.toml");
        Workload::from_file(std::path::Path::new(path))
            .unwrap()
            .trace()
            .unwrap()
    }

    #[test]
    fn activation_bytes_are_the_saved_tensors_of_the_backprop_window() {
        let tr = tiny_lora();
        let hw = HwConfig::paper_default();
        let m = Model::new(&hw, &tr).unwrap();
        // Independently: tiny = hidden 64, ffn 176, 4 heads, 2 KV heads (kv_dim 32), 16
        // tokens, uniform 8-bit policy (workloads/tiny_lora.toml), eager attention, lean.
        // Per decoder layer and sequence (workload::saved):
        //   16-bit x, q, h: 3 * 16*64*2 = 6,144; gate, up: 2 * 16*176*2 = 11,264;
        //   rstd_attn, rstd_ffn fp32: 2 * 16*4 = 128;
        //   probs 4*16*16*2 = 2,048;
        //   8-bit + 16 tokens * 2 B scales: k, v: 2 * (16*32 + 32) = 1,088;
        //   x_norm, attn_out, h_norm: 3 * (16*64 + 32) = 3,168; ffn_act 16*176 + 32 = 2,848;
        //   LoRA mids (rank 4, 7 adapters): 7 * 16*4*2 = 896.
        let layer = 6_144 + 11_264 + 128 + 2_048 + 1_088 + 3_168 + 2_848 + 896;
        assert_eq!(layer, 27_584);
        // Final head: head_in 16*64*2 = 2,048, rstd_head 16*4 = 64, fp32 logits
        // 16*256*4 = 16,384.
        let head = 2_048 + 64 + 16_384;
        let per_seq = 4 * layer + head;
        assert_eq!(tr.saved_bytes_per_sequence(), per_seq as u64);
        for seqs in [1u64, 2, 4] {
            let t = m.table(seqs, false, 0).unwrap();
            let mm = MemoryMetrics::of(&t, &Placement::default());
            assert_eq!(mm.activation_bytes, (per_seq as u64 * seqs) as f64);
        }
        // Recomputation ranks the layers (saving 27,584 - 2,048 each) before the head
        // (18,496 - 2,048); recomputing the four layers keeps their 16-bit inputs
        // instead: 16*64*2 = 2,048 B each.
        assert_eq!(m.recompute_order().len(), 5);
        let t = m.table(1, false, 4).unwrap();
        let mm = MemoryMetrics::of(&t, &Placement::default());
        assert_eq!(mm.activation_bytes, (4 * 2_048 + head) as f64);
        // Tuning state: 7 adapters per layer of r (in + out) params: q, o: 4*128;
        // k, v: 4*(64+32); gate, up: 4*(64+176); down 4*(176+64) = 4,672 params per
        // layer, 18,688 in all, at 2 (weights) + 4 (gradients) + 12 (Adam) bytes.
        let params = 4 * (2 * 4 * 128 + 2 * 4 * 96 + 3 * 4 * 240);
        assert_eq!(params, 18_688);
        assert_eq!(mm.tuning_state_bytes, (params * 18) as f64);
        let fwd_trainable: u64 = tr
            .entries
            .iter()
            .filter(|e| e.pass == Pass::Fwd)
            .map(|e| e.trainable_bytes)
            .sum();
        assert_eq!(fwd_trainable, (params * 2) as u64);
    }

    #[test]
    fn figures_are_consistent_over_placements_and_schedules() {
        let tr = tiny_lora();
        let hw = HwConfig::paper_default();
        let m = Model::new(&hw, &tr).unwrap();
        for seqs in [1u64, 2, 4] {
            for prefetch in [false, true] {
                for rec in [0u32, 2] {
                    let t = m.table(seqs, prefetch, rec).unwrap();
                    for (w, s, o) in [(0.0, 0.0, 0.0), (0.5, 0.25, 1.0), (1.0, 1.0, 0.3)] {
                        let p = Placement {
                            weights_on_ssd: w,
                            saved_on_ssd: s,
                            optimizer_on_ssd: o,
                        };
                        let mm = MemoryMetrics::of(&t, &p);
                        let tol = 1e-9 * mm.total_bytes;
                        assert!(mm.ssd_bytes <= mm.total_bytes + tol);
                        assert!(
                            mm.activation_bytes + mm.tuning_state_bytes <= mm.total_bytes + tol
                        );
                        assert!(mm.device_bytes >= t.sram_peak());
                        // Each tensor on DRAM or SSD once, plus staging copies of the
                        // SSD-resident classes (one per class, two with prefetching).
                        let st = if prefetch { 2.0 } else { 1.0 };
                        let a = &t.mem;
                        let staging = [(w, a.max_weights), (s, a.max_saved), (o, a.max_grad_opt)]
                            .iter()
                            .map(|&(f, col)| if f > 0.0 { st * f * col } else { 0.0 })
                            .sum::<f64>();
                        let lhs = mm.device_bytes - t.sram_peak() + mm.ssd_bytes;
                        assert!(
                            (lhs - mm.total_bytes - staging).abs() <= tol,
                            "{lhs} vs {} + {staging}",
                            mm.total_bytes
                        );
                        if (w, s, o) == (0.0, 0.0, 0.0) {
                            assert_eq!(mm.ssd_bytes, 0.0);
                            assert!(
                                (mm.device_bytes - t.sram_peak() - mm.total_bytes).abs() <= tol
                            );
                        }
                    }
                }
            }
        }
    }
}
