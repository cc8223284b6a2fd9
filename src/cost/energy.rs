//! Energy of a schedule: THE accounting rule, shared by the analytic cost model and the
//! cycle-level simulator's report so the two cannot drift apart.
//!
//! Energy = dynamic + static. Dynamic energy is activity-based: each event of the step
//! list is charged the per-access energy of the hardware file, once. Static energy is
//! each component's `static_mw` x the step time (seconds per optimizer step of the
//! analytic model, or the simulated seconds): `EnergyBreakdown::with_static`.
//!
//! - **MAC array**: integer GEMMs: `native MACs x mac_energy_pj`, where native MACs are
//!   the dense MACs x `mac_cost(w_bits, a_bits)` (a bit-flexible PE spends energy per
//!   2-bit brick used, a fixed-precision PE per native pass) x [`Compute::mac_energy_fraction`](crate::hw::Compute::mac_energy_fraction) (with zero skipping
//!   only the MACs of non-zero weights fire: `1 - sparsity`; the skipping inefficiency
//!   `sparse_efficiency` costs cycles, i.e. idle PEs, not MACs). fp16 GEMMs (both
//!   operands 16-bit, [`Compute::is_fp16`](crate::hw::Compute::is_fp16): LoRA adapters,
//!   heads, attention on 16-bit keys): `fp16 MACs x fp16_mac_energy_pj`. Floating point
//!   costs more than integer bricks: Horowitz, ISSCC'14 (45 nm) gives fp16 multiply
//!   1.1 pJ + add 0.4 pJ = 1.5 pJ against 8-bit integer multiply 0.2 pJ + add 0.03 pJ
//!   = 0.23 pJ, 6.5x; the 16 x 16 integer brick rule would charge 4 x 0.23 = 0.92 pJ.
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
//! - **SSD**: bytes read x `energy_pj_per_byte` + bytes written x
//!   `write_energy_pj_per_byte` (whole-drive energies: NAND, controller, link).
//! - **Static**: (`compute.static_mw`, `sram.static_mw`, `dram.static_mw`,
//!   `ssd.static_mw`) x seconds, per component.
//!
//! Not modelled by either view: DRAM activate energy beyond the per-byte figure (the
//! simulator's LPDDR4 timing model changes *when* bytes move, not how many, so its
//! dynamic energy equals the analytic energy of the same steps under every option; its
//! static energy follows its own time).

use super::types::Step;
use crate::hw::HwConfig;
use serde::Serialize;

/// Per-access energies from the hardware file (pJ).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EnergyPerAccess {
    /// Per native MAC.
    pub mac: f64,
    /// Per fp16 MAC.
    pub fp16_mac: f64,
    /// Per vector element op.
    pub vector: f64,
    /// Per SRAM byte.
    pub sram_byte: f64,
    /// Per DRAM byte.
    pub dram_byte: f64,
    /// Per SSD byte read.
    pub ssd_byte: f64,
    /// Per SSD byte written.
    pub ssd_write_byte: f64,
}

impl EnergyPerAccess {
    /// The energies of `hw`.
    pub fn of(hw: &HwConfig) -> Self {
        EnergyPerAccess {
            mac: hw.compute.mac_energy_pj,
            fp16_mac: hw.compute.fp16_mac_energy_pj,
            vector: hw.compute.vector_energy_pj,
            sram_byte: hw.sram.energy_pj_per_byte,
            dram_byte: hw.dram.energy_pj_per_byte,
            ssd_byte: hw.ssd.energy_pj_per_byte,
            ssd_write_byte: hw.ssd.write_energy_pj_per_byte,
        }
    }
}

/// Static power per component (mW), from the hardware file's `static_mw` keys.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct StaticPower {
    /// MAC array and vector unit.
    pub array_mw: f64,
    /// SRAM.
    pub sram_mw: f64,
    /// DRAM.
    pub dram_mw: f64,
    /// SSD.
    pub ssd_mw: f64,
}

impl StaticPower {
    /// The static powers of `hw`.
    pub fn of(hw: &HwConfig) -> Self {
        StaticPower {
            array_mw: hw.compute.static_mw,
            sram_mw: hw.sram.static_mw,
            dram_mw: hw.dram.static_mw,
            ssd_mw: hw.ssd.static_mw,
        }
    }
}

/// Activity counts of a schedule (or of one step): what energy is charged for.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Activity {
    /// Native-MAC equivalents executed by integer GEMMs (see the module doc).
    pub native_macs: f64,
    /// MACs executed by fp16 GEMMs.
    pub fp16_macs: f64,
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
                fp16_macs: s.fp16_macs,
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
            fp16_macs: self.fp16_macs * n,
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
        self.fp16_macs += o.fp16_macs;
        self.vector_ops += o.vector_ops;
        self.sram_port_bytes += o.sram_port_bytes;
        self.dram_to_sram += o.dram_to_sram;
        self.sram_to_dram += o.sram_to_dram;
        self.ssd_to_dram += o.ssd_to_dram;
        self.dram_to_ssd += o.dram_to_ssd;
    }
}

/// Energy by component (J): dynamic (`mac` .. `ssd`) and static (`*_static`).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct EnergyBreakdown {
    /// MAC array: native MACs x mac_energy_pj + fp16 MACs x fp16_mac_energy_pj.
    pub mac: f64,
    /// Vector unit: element ops x vector_energy_pj.
    pub vector: f64,
    /// SRAM: DMA fills + DMA drains + array port bytes x SRAM pJ/B.
    pub sram: f64,
    /// DRAM: DMA bytes both ways + DRAM side of SSD transfers both ways x DRAM pJ/B.
    pub dram: f64,
    /// SSD: bytes read x read pJ/B + bytes written x write pJ/B.
    pub ssd: f64,
    /// Static energy of the MAC array and vector unit: `compute.static_mw` x seconds.
    pub array_static: f64,
    /// Static energy of the SRAM.
    pub sram_static: f64,
    /// Static energy of the DRAM.
    pub dram_static: f64,
    /// Static energy of the SSD.
    pub ssd_static: f64,
}

impl EnergyBreakdown {
    /// Total (J): dynamic + static.
    pub fn total(&self) -> f64 {
        self.dynamic() + self.static_total()
    }

    /// Dynamic (activity) energy (J).
    pub fn dynamic(&self) -> f64 {
        self.mac + self.vector + self.sram + self.dram + self.ssd
    }

    /// Static energy (J).
    pub fn static_total(&self) -> f64 {
        self.array_static + self.sram_static + self.dram_static + self.ssd_static
    }

    /// This breakdown with the static energy of `seconds` at power `p` (replacing any
    /// static part it had): `static_mw x 1e-3 x seconds` per component. A non-finite or
    /// negative time (an infeasible schedule) gives no static energy.
    pub fn with_static(mut self, p: &StaticPower, seconds: f64) -> Self {
        let s = if seconds.is_finite() && seconds > 0.0 {
            seconds
        } else {
            0.0
        };
        const W_PER_MW: f64 = 1e-3;
        self.array_static = p.array_mw * W_PER_MW * s;
        self.sram_static = p.sram_mw * W_PER_MW * s;
        self.dram_static = p.dram_mw * W_PER_MW * s;
        self.ssd_static = p.ssd_mw * W_PER_MW * s;
        self
    }
}

/// THE dynamic energy rule (module doc): activity x per-access energies, by component
/// (static parts 0; see [`EnergyBreakdown::with_static`]).
pub fn energy(pj: &EnergyPerAccess, a: &Activity) -> EnergyBreakdown {
    const J_PER_PJ: f64 = 1e-12;
    let dma = a.dram_to_sram + a.sram_to_dram;
    let ssd = a.ssd_to_dram + a.dram_to_ssd;
    let ssd_j =
        a.ssd_to_dram * (pj.ssd_byte * J_PER_PJ) + a.dram_to_ssd * (pj.ssd_write_byte * J_PER_PJ);
    // pJ -> J first: the per-access energies are at most 1e6 pJ (hw/load.rs), so the
    // factor is <= 1e-6 and a finite activity count gives a finite energy.
    EnergyBreakdown {
        mac: a.native_macs * (pj.mac * J_PER_PJ) + a.fp16_macs * (pj.fp16_mac * J_PER_PJ),
        vector: a.vector_ops * (pj.vector * J_PER_PJ),
        sram: (dma + a.sram_port_bytes) * (pj.sram_byte * J_PER_PJ),
        dram: (dma + ssd) * (pj.dram_byte * J_PER_PJ),
        ssd: ssd_j,
        ..EnergyBreakdown::default()
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
            fp16_macs: 1e12,
            vector_ops: 1e12,
            sram_port_bytes: 1e12,
            dram_to_sram: 1e12,
            sram_to_dram: 1e12,
            ssd_to_dram: 1e12,
            dram_to_ssd: 1e12,
        };
        let e = energy(&pj, &a);
        // Paper hardware: 0.23 pJ/MAC, 1.5 pJ/fp16 MAC, 1 pJ/op, 2.5 / 64 pJ/B, SSD read
        // 1430 / write 1830 pJ/B (hw_configs). MAC: 0.23 + 1.5 J; SRAM: fill + drain +
        // port = 3 TB x 2.5 pJ; DRAM: 2 DMA + 2 SSD = 4 TB x 64 pJ; SSD: 1430 + 1830 J.
        assert!((e.mac - 1.73).abs() < 1e-12);
        assert!((e.vector - 1.0).abs() < 1e-12);
        assert!((e.sram - 7.5).abs() < 1e-9);
        assert!((e.dram - 256.0).abs() < 1e-9);
        assert!((e.ssd - 3260.0).abs() < 1e-9);
        assert!((e.total() - (1.73 + 1.0 + 7.5 + 256.0 + 3260.0)).abs() < 1e-9);
        assert_eq!(e.static_total(), 0.0);
    }

    #[test]
    fn static_energy_is_power_times_time_by_component() {
        let hw = HwConfig::paper_default();
        // Paper hardware: array 25, SRAM 30, DRAM 120, SSD 30 mW (hw_configs).
        let e = EnergyBreakdown {
            mac: 2.0,
            ..EnergyBreakdown::default()
        }
        .with_static(&StaticPower::of(&hw), 10.0);
        assert!((e.array_static - 0.25).abs() < 1e-12);
        assert!((e.sram_static - 0.30).abs() < 1e-12);
        assert!((e.dram_static - 1.20).abs() < 1e-12);
        assert!((e.ssd_static - 0.30).abs() < 1e-12);
        assert!((e.static_total() - 2.05).abs() < 1e-12);
        assert!((e.total() - 4.05).abs() < 1e-12);
        assert_eq!(e.dynamic(), 2.0);
        // An infeasible (infinite) time charges no static energy.
        assert_eq!(
            e.with_static(&StaticPower::of(&hw), f64::INFINITY)
                .static_total(),
            0.0
        );
    }

    #[test]
    fn an_fp16_mac_costs_more_than_two_int8_bricks_by_hand() {
        let hw = HwConfig::paper_default();
        let c = &hw.compute;
        // Horowitz, ISSCC'14: fp16 mult 1.1 + add 0.4 = 1.5 pJ; int8 mult 0.2 + add 0.03.
        assert!((c.fp16_mac_energy_pj - (1.1 + 0.4)).abs() < 1e-12);
        assert!((c.mac_energy_pj - (0.2 + 0.03)).abs() < 1e-12);
        assert!(c.fp16_mac_energy_pj > 2.0 * c.mac_energy_pj);
        // Even above the 16x16 brick rule (4 native MACs = 0.92 pJ).
        assert_eq!(c.mac_cost(16, 16), 4.0);
        assert!(c.fp16_mac_energy_pj > c.mac_cost(16, 16) * c.mac_energy_pj);
        // Only 16 x 16 operands are fp16; a quantised operand keeps the integer rule.
        assert!(c.is_fp16(16, 16) && !c.is_fp16(8, 16) && !c.is_fp16(16, 8));
        // Area-consistent throughput: (1640 + 1360) / (282 + 36) um^2 = 9.43 slots.
        assert!((c.gemm_mac_cost(16, 16) - 3000.0 / 318.0).abs() < 0.05);
        assert_eq!(c.gemm_mac_cost(8, 16), c.mac_cost(8, 16));
        // Energy of 1e12 fp16 MACs vs 1e12 int8 MACs: 1.5 J vs 0.23 J.
        let pj = EnergyPerAccess::of(&hw);
        let f = energy(
            &pj,
            &Activity {
                fp16_macs: 1e12,
                ..Activity::default()
            },
        );
        let i = energy(
            &pj,
            &Activity {
                native_macs: 1e12,
                ..Activity::default()
            },
        );
        assert!((f.mac - 1.5).abs() < 1e-12 && (i.mac - 0.23).abs() < 1e-12);
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
            counts in proptest::array::uniform8(0.0f64..=1e300),
            pj in proptest::array::uniform7(0.0f64..=1e6),
        ) {
            let a = Activity {
                native_macs: counts[0],
                fp16_macs: counts[7],
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
                fp16_mac: pj[5],
                ssd_write_byte: pj[6],
            };
            let e = energy(&p, &a);
            for x in [e.mac, e.vector, e.sram, e.dram, e.ssd, e.total()] {
                prop_assert!(x.is_finite() && x >= 0.0, "{:?}", e);
            }
        }
    }
}
