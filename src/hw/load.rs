//! Reading and validating hardware TOML, with dotted-key overrides for sweeps.

use super::*;
use crate::error::{Error, Result};
use crate::toml_util::{self, Section};
use std::path::Path;

/// The embedded default hardware (`hw_configs/edge_llm_paper.toml`), used when `--hw` is
/// not given, so the tool runs from any directory.
pub const DEFAULT_HW_TOML: &str = include_str!("../../hw_configs/edge_llm_paper.toml");

/// Rated endurance when `ssd.endurance_tbw` is not given: 150 TB written, Samsung 970 EVO
/// Plus 250 GB (consumer NVMe, TLC V-NAND; Samsung data sheet, "Total Bytes Written
/// 150 TB", five-year limited warranty, JESD218 endurance test).
pub const DEFAULT_SSD_ENDURANCE_TBW: f64 = 150.0;

/// Sets `key` (dotted, e.g. `sram.capacity_kib`) in `table`, creating sub-tables as needed.
/// Validation happens when the table is read, so an unknown key is reported then.
pub fn apply_override(table: &mut toml::Table, key: &str, value: toml::Value) -> Result<()> {
    let parts: Vec<&str> = key.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(Error::input(
            "override",
            key,
            "empty component in dotted key",
        ));
    }
    let mut t = table;
    for p in &parts[..parts.len() - 1] {
        let entry = t
            .entry(p.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        t = match entry {
            toml::Value::Table(inner) => inner,
            _ => {
                return Err(Error::input(
                    "override",
                    key,
                    format!("`{p}` is not a table"),
                ));
            }
        };
    }
    t.insert(parts[parts.len() - 1].to_string(), value);
    Ok(())
}

impl HwConfig {
    /// Reads a hardware file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = crate::io_util::read_to_string(path)?;
        Self::from_toml_str(&path.display().to_string(), &text)
    }

    /// The embedded default (`edge_llm_paper.toml`).
    pub fn paper_default() -> Self {
        Self::from_toml_str("hw_configs/edge_llm_paper.toml", DEFAULT_HW_TOML)
            .expect("embedded default hardware file is valid")
    }

    /// Parses hardware TOML text; `file` names it in errors.
    pub fn from_toml_str(file: &str, text: &str) -> Result<Self> {
        let table = toml_util::parse(file, text)?;
        Self::from_table(file, &table)
    }

    /// Reads a parsed table (after any overrides have been applied).
    pub fn from_table(file: &str, table: &toml::Table) -> Result<Self> {
        toml_util::expect_kind(file, table, toml_util::FileKind::Hardware)?;
        let root = Section::root(file, table);
        let name = root.name("name")?.to_string();
        let clock_ghz = root.f64_in("clock_ghz", 1e-3, 100.0)?;

        let c = root.section("compute")?;
        let mut compute = Compute {
            pe_rows: c.u64_in("pe_rows", 1, 65536)? as u32,
            pe_cols: c.u64_in("pe_cols", 1, 65536)? as u32,
            native_bits: c.u64_in("native_bits", 1, 32)? as u32,
            precision_scaling: match c.choice_or(
                "precision_scaling",
                "bit-flexible",
                &["bit-flexible", "fixed"],
            )? {
                "fixed" => PrecisionScaling::Fixed,
                _ => PrecisionScaling::BitFlexible,
            },
            sparsity: match c.choice_or("sparsity", "dense", &["skip-zeros", "dense"])? {
                "skip-zeros" => SparsitySupport::SkipZeros,
                _ => SparsitySupport::Dense,
            },
            sparse_efficiency: c.f64_or("sparse_efficiency", 1.0, 0.0, 1.0)?,
            vector_lanes: c.u64_in("vector_lanes", 1, 1 << 20)? as u32,
            dataflow: match c.choice_or(
                "dataflow",
                "weight-stationary",
                &["weight-stationary", "output-stationary", "input-stationary"],
            )? {
                "output-stationary" => Dataflow::OutputStationary,
                "input-stationary" => Dataflow::InputStationary,
                _ => Dataflow::WeightStationary,
            },
            mac_energy_pj: c.f64_in("mac_energy_pj", 0.0, 1e6)?,
            vector_energy_pj: c.f64_or("vector_energy_pj", 0.0, 0.0, 1e6)?,
            fp16_mac_energy_pj: 0.0,
            fp16_mac_cost: 0.0,
            static_mw: c.f64_or("static_mw", 0.0, 0.0, 1e9)?,
        };
        // Without fp16 keys, an fp16 MAC costs what the integer rule gives 16 x 16-bit
        // operands (time and energy), as before these keys existed.
        let int16 = compute.mac_cost(16, 16);
        compute.fp16_mac_cost = c.f64_or("fp16_mac_cost", int16, 1e-3, 1e6)?;
        compute.fp16_mac_energy_pj = c.f64_or(
            "fp16_mac_energy_pj",
            int16 * compute.mac_energy_pj,
            0.0,
            1e6,
        )?;
        c.deny_unknown()?;

        let s = root.section("sram")?;
        let sram = Sram {
            capacity_kib: s.f64_in("capacity_kib", 1.0, 1.0e9)?,
            bandwidth_bytes_per_cycle: s.f64_in("bandwidth_bytes_per_cycle", 1.0, 1.0e9)?,
            energy_pj_per_byte: s.f64_in("energy_pj_per_byte", 0.0, 1e6)?,
            static_mw: s.f64_or("static_mw", 0.0, 0.0, 1e9)?,
        };
        s.deny_unknown()?;

        let d = root.section("dram")?;
        let timing_section = d.opt_section("timing")?;
        let controller_section = d.opt_section("controller")?;
        let kind = match d.choice_or("kind", "lpddr4", &["lpddr4", "ideal"])? {
            "ideal" => DramKind::Ideal,
            _ => DramKind::Lpddr4,
        };
        let capacity_gib = d.f64_in("capacity_gib", 1.0 / 1024.0, 1.0e6)?;
        // Plausible per kind (LPDDR4: its speed bins), unit slips named.
        let data_rate_mtps = super::plausible::read_data_rate(&d, kind)?;
        let bus_width_bits = d.u64_in("bus_width_bits", 1, 1 << 20)? as u32;
        let channels = d.u64_in("channels", 1, 1024)? as u32;
        let energy_pj_per_byte = d.f64_in("energy_pj_per_byte", 0.0, 1e6)?;
        let dram_static_mw = d.f64_or("static_mw", 0.0, 0.0, 1e9)?;
        let timing = DramTiming::from_section(timing_section.as_ref())?;
        if !bus_width_bits.is_multiple_of(channels) {
            return Err(d.err(
                "channels",
                format!("must divide bus_width_bits ({bus_width_bits})"),
            ));
        }
        let burst_bytes = (bus_width_bits / channels * timing.burst_length / 8).max(1);
        let controller = DramController::from_section(
            controller_section.as_ref(),
            timing.page_bytes,
            burst_bytes,
        )?;
        let dram = Dram {
            kind,
            capacity_gib,
            data_rate_mtps,
            bus_width_bits,
            channels,
            energy_pj_per_byte,
            static_mw: dram_static_mw,
            timing,
            controller,
        };
        d.deny_unknown()?;
        if dram.kind == DramKind::Lpddr4 {
            let p = crate::sim::dram::DramParams::from_dram(&dram);
            if let Some(msg) = p.refresh_gap_problem() {
                return Err(Error::input(file, "dram.timing.t_rfc_ns", msg));
            }
        }

        let f = root.section("ssd")?;
        let read_pj = f.f64_in("energy_pj_per_byte", 0.0, 1e6)?;
        let ssd = Ssd {
            capacity_gib: f.f64_in("capacity_gib", 0.0, 1.0e9)?,
            read_gbps: f.f64_in("read_gbps", 1e-6, 1.0e9)?,
            write_gbps: f.f64_in("write_gbps", 1e-6, 1.0e9)?,
            latency_us: f.f64_in("latency_us", 0.0, 1.0e9)?,
            energy_pj_per_byte: read_pj,
            write_energy_pj_per_byte: f.f64_or("write_energy_pj_per_byte", read_pj, 0.0, 1e6)?,
            static_mw: f.f64_or("static_mw", 0.0, 0.0, 1e9)?,
            endurance_tbw: f.f64_or("endurance_tbw", DEFAULT_SSD_ENDURANCE_TBW, 1e-6, 1e9)?,
            full_duplex: f.opt_bool("full_duplex")?.unwrap_or(false),
        };
        f.deny_unknown()?;
        root.deny_unknown()?;
        Ok(HwConfig {
            name,
            clock_ghz,
            compute,
            sram,
            dram,
            ssd,
        })
    }
}
