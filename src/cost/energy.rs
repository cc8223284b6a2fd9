//! Energy of a schedule: THE accounting rule, shared by the analytic cost model and the
//! cycle-level simulator's report so the two cannot drift apart.
//!
//! Energy is dynamic (activity-based) only: each event of the step list is charged the
//! per-access energy of the hardware file, once.
//!
//! - **MAC array**: `native MACs x mac_energy_pj`, where native MACs are the dense MACs
//!   x `mac_cost(w_bits, a_bits)` (a bit-flexible PE spends energy per 2-bit brick used,
//!   a fixed-precision PE per native pass) x [`Compute::mac_energy_fraction`](crate::hw::Compute::mac_energy_fraction) (with zero skipping
//!   only the MACs of non-zero weights fire: `1 - sparsity`; the skipping inefficiency
//!   `sparse_efficiency` costs cycles, i.e. idle PEs, not MACs).
//! - **Vector unit**: element operations x `vector_energy_pj` (norms, softmax,
//!   activations, residuals, and the optimizer update: `ADAM_OPS_PER_PARAM` per trainable
//!   parameter in the final step).
//! - **SRAM**: every byte written into or read out of the buffer, once per access x
//!   SRAM pJ/B: DMA fills (DRAM -> SRAM), DMA drains (SRAM -> DRAM) and the array port
//!   traffic (operand reads and output writes, `mapper::array::sram_port_bytes`).
//!   `mac_energy_pj` is the arithmetic alone (Horowitz, ISSCC'14: 8-bit multiply + add),
//!   so the array's operand fetches are SRAM accesses and counted here, not in the MAC.
//!   Vector-unit operands are assumed to stream through the DMA tiles already counted.
//! - **DRAM**: every byte crossing the DRAM interface x DRAM pJ/B: both DMA directions
//!   and the DRAM side of both SSD directions (an SSD read is written into DRAM, an SSD
//!   write is read out of it).
//! - **SSD**: bytes read plus bytes written x SSD pJ/B.
//!
//! Not modelled by either view: static / leakage power, DRAM refresh and activate energy
//! (the simulator's LPDDR4 timing model changes *when* bytes move, not how many, so its
//! energy equals the analytic energy of the same steps under every option).

use super::types::Step;
use crate::hw::HwConfig;
use serde::Serialize;

/// Per-access energies from the hardware file (pJ).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EnergyPerAccess {
    /// Per native MAC.
    pub mac: f64,
    /// Per vector element op.
    pub vector: f64,
    /// Per SRAM byte.
    pub sram_byte: f64,
    /// Per DRAM byte.
    pub dram_byte: f64,
    /// Per SSD byte.
    pub ssd_byte: f64,
}

impl EnergyPerAccess {
    /// The energies of `hw`.
    pub fn of(hw: &HwConfig) -> Self {
        EnergyPerAccess {
            mac: hw.compute.mac_energy_pj,
            vector: hw.compute.vector_energy_pj,
            sram_byte: hw.sram.energy_pj_per_byte,
            dram_byte: hw.dram.energy_pj_per_byte,
            ssd_byte: hw.ssd.energy_pj_per_byte,
        }
    }
}

/// Activity counts of a schedule (or of one step): what energy is charged for.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Activity {
    /// Native-MAC equivalents executed (see the module doc).
    pub native_macs: f64,
    /// Vector element operations.
    pub vector_ops: f64,
    /// Bytes between the SRAM and the array.
    pub sram_port_bytes: f64,
    /// DRAM -> SRAM bytes.
    pub dram_to_sram: f64,
    /// SRAM -> DRAM bytes.
    pub sram_to_dram: f64,
    /// SSD -> DRAM bytes.
    pub ssd_to_dram: f64,
    /// DRAM -> SSD bytes.
    pub dram_to_ssd: f64,
}

impl Activity {
    /// Sum of the activity of expanded steps.
    pub fn of_steps(steps: &[Step]) -> Self {
        let mut a = Activity::default();
        for s in steps {
            a += Activity {
                native_macs: s.native_macs,
                vector_ops: s.vector_ops,
                sram_port_bytes: s.sram_port_bytes as f64,
                dram_to_sram: s.r_to_sram.total() as f64,
                sram_to_dram: s.w_to_dram.total() as f64,
                ssd_to_dram: s.r_to_dram.total() as f64,
                dram_to_ssd: s.w_to_ssd.total() as f64,
            };
        }
        a
    }

    /// This activity repeated `n` times.
    pub fn times(self, n: f64) -> Self {
        Activity {
            native_macs: self.native_macs * n,
            vector_ops: self.vector_ops * n,
            sram_port_bytes: self.sram_port_bytes * n,
            dram_to_sram: self.dram_to_sram * n,
            sram_to_dram: self.sram_to_dram * n,
            ssd_to_dram: self.ssd_to_dram * n,
            dram_to_ssd: self.dram_to_ssd * n,
        }
    }
}

impl std::ops::AddAssign for Activity {
    fn add_assign(&mut self, o: Self) {
        self.native_macs += o.native_macs;
        self.vector_ops += o.vector_ops;
        self.sram_port_bytes += o.sram_port_bytes;
        self.dram_to_sram += o.dram_to_sram;
        self.sram_to_dram += o.sram_to_dram;
        self.ssd_to_dram += o.ssd_to_dram;
        self.dram_to_ssd += o.dram_to_ssd;
    }
}

/// Energy by component (J).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct EnergyBreakdown {
    /// MAC array: native MACs x mac_energy_pj.
    pub mac: f64,
    /// Vector unit: element ops x vector_energy_pj.
    pub vector: f64,
    /// SRAM: DMA fills + DMA drains + array port bytes x SRAM pJ/B.
    pub sram: f64,
    /// DRAM: DMA bytes both ways + DRAM side of SSD transfers both ways x DRAM pJ/B.
    pub dram: f64,
    /// SSD: bytes read + written x SSD pJ/B.
    pub ssd: f64,
}

impl EnergyBreakdown {
    /// Total (J).
    pub fn total(&self) -> f64 {
        self.mac + self.vector + self.sram + self.dram + self.ssd
    }
}

/// THE energy rule (module doc): activity x per-access energies, by component.
pub fn energy(pj: &EnergyPerAccess, a: &Activity) -> EnergyBreakdown {
    const J_PER_PJ: f64 = 1e-12;
    let dma = a.dram_to_sram + a.sram_to_dram;
    let ssd = a.ssd_to_dram + a.dram_to_ssd;
    // pJ -> J first: the per-access energies are at most 1e6 pJ (hw/load.rs), so the
    // factor is <= 1e-6 and a finite activity count gives a finite energy.
    EnergyBreakdown {
        mac: a.native_macs * (pj.mac * J_PER_PJ),
        vector: a.vector_ops * (pj.vector * J_PER_PJ),
        sram: (dma + a.sram_port_bytes) * (pj.sram_byte * J_PER_PJ),
        dram: (dma + ssd) * (pj.dram_byte * J_PER_PJ),
        ssd: ssd * (pj.ssd_byte * J_PER_PJ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_byte_is_charged_once_per_tier_it_touches() {
        let hw = HwConfig::paper_default();
        let pj = EnergyPerAccess::of(&hw);
        // One byte on each link, one port byte, 1e12 MACs and vector ops.
        let a = Activity {
            native_macs: 1e12,
            vector_ops: 1e12,
            sram_port_bytes: 1e12,
            dram_to_sram: 1e12,
            sram_to_dram: 1e12,
            ssd_to_dram: 1e12,
            dram_to_ssd: 1e12,
        };
        let e = energy(&pj, &a);
        // Paper hardware: 0.23 pJ/MAC, 1 pJ/op, 2.5 / 64 / 150 pJ/B (hw_configs).
        // SRAM: fill + drain + port = 3 TB x 2.5 pJ; DRAM: 2 DMA + 2 SSD = 4 TB x 64 pJ;
        // SSD: 2 TB x 150 pJ.
        assert!((e.mac - 0.23).abs() < 1e-12);
        assert!((e.vector - 1.0).abs() < 1e-12);
        assert!((e.sram - 7.5).abs() < 1e-9);
        assert!((e.dram - 256.0).abs() < 1e-9);
        assert!((e.ssd - 300.0).abs() < 1e-9);
        assert!((e.total() - (0.23 + 1.0 + 7.5 + 256.0 + 300.0)).abs() < 1e-9);
    }

    #[test]
    fn only_non_zero_weights_cost_mac_energy() {
        let mut hw = HwConfig::paper_default();
        // skip-zeros with 80% efficiency: half the weights zero -> half the MACs fire
        // (cycles shrink only by 40%, see Compute::sparse_fraction).
        assert_eq!(hw.compute.mac_energy_fraction(0.5), 0.5);
        assert!((hw.compute.sparse_fraction(0.5) - 0.6).abs() < 1e-12);
        hw.compute.sparsity = crate::hw::SparsitySupport::Dense;
        assert_eq!(hw.compute.mac_energy_fraction(0.5), 1.0);
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Counts up to 1e300 (far beyond any u64 byte count times any step count) and
        /// the accepted per-access range [0, 1e6] pJ always give finite energies >= 0.
        #[test]
        fn energies_are_finite_for_accepted_inputs(
            counts in proptest::array::uniform7(0.0f64..=1e300),
            pj in proptest::array::uniform5(0.0f64..=1e6),
        ) {
            let a = Activity {
                native_macs: counts[0],
                vector_ops: counts[1],
                sram_port_bytes: counts[2],
                dram_to_sram: counts[3],
                sram_to_dram: counts[4],
                ssd_to_dram: counts[5],
                dram_to_ssd: counts[6],
            };
            let p = EnergyPerAccess {
                mac: pj[0],
                vector: pj[1],
                sram_byte: pj[2],
                dram_byte: pj[3],
                ssd_byte: pj[4],
            };
            let e = energy(&p, &a);
            for x in [e.mac, e.vector, e.sram, e.dram, e.ssd, e.total()] {
                prop_assert!(x.is_finite() && x >= 0.0, "{:?}", e);
            }
        }
    }
}
