//! Plausibility of hardware values: ranges that catch unit slips before they are
//! computed with. An implausible DRAM data rate is an error naming the likely slip
//! (`data_rate_mtps = 3.2` is a rate in GT/s); values that are possible but far beyond
//! today's parts are warnings, returned as data for the caller to show.

use super::{DramKind, HwConfig};
use crate::error::Result;
use crate::toml_util::{Section, float_as_written};

/// A value as written: integral values without a fraction (`3200`), others in Rust's
/// shortest round-trip form (`3.2`).
fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        float_as_written(v)
    }
}

/// Allowed `dram.data_rate_mtps` per DRAM kind, in MT/s. LPDDR4: the JESD209-4 speed bins
/// run from LPDDR4-533 to LPDDR4-3200, and JESD209-4-1 (LPDDR4X) adds 3733 and 4266. An
/// ideal memory is only a bandwidth: any positive rate up to 10^9 MT/s.
pub fn data_rate_range(kind: DramKind) -> (f64, f64) {
    match kind {
        DramKind::Lpddr4 => (533.0, 4266.0),
        DramKind::Ideal => (1.0, 1.0e9),
    }
}

/// SSD bandwidth above which a warning is given (GB/s): an NVMe drive on PCIe 5.0 x4
/// moves at most 4 x 3.94 = 15.8 GB/s, and even a x16 link 63 GB/s; 50 GB/s for one
/// drive is more often a slip (MB/s written as GB/s) than a design.
pub const SSD_WARN_GBPS: f64 = 50.0;

/// SRAM capacity above which a warning is given (KiB): 1 GiB of on-chip SRAM is two
/// orders of magnitude beyond edge accelerators (a few MiB); more often bytes written
/// as KiB.
pub const SRAM_WARN_KIB: f64 = 1024.0 * 1024.0;

/// Reads `data_rate_mtps` of the `[dram]` section `d` for a memory of `kind`.
///
/// Errors: missing, or outside [`data_rate_range`]; the message names the key, the
/// value, the allowed range and, when the value times 1000 (GT/s), divided by 10^6
/// (T/s) or times 2 (a clock in MHz) falls in range, that likely unit slip.
pub fn read_data_rate(d: &Section, kind: DramKind) -> Result<f64> {
    let key = "data_rate_mtps";
    let (lo, hi) = data_rate_range(kind);
    let v = d.opt_f64_in(key, f64::MIN, f64::MAX)?.ok_or_else(|| {
        d.missing(
            key,
            format!("missing; expected a number in [{lo}, {hi}] (MT/s)"),
        )
    })?;
    if (lo..=hi).contains(&v) {
        return Ok(v);
    }
    let shown = num(v);
    let what = match kind {
        DramKind::Lpddr4 => {
            "for LPDDR4; allowed [533, 4266] MT/s (JESD209-4 speed bins LPDDR4-533 to \
             LPDDR4X-4266)"
        }
        DramKind::Ideal => "for an ideal memory; allowed [1, 1000000000] MT/s",
    };
    let inside = |x: f64| (lo..=hi).contains(&x);
    let slip = if inside(v * 1000.0) {
        format!(
            "; {shown} looks like GT/s: {shown} GT/s is data_rate_mtps = {}",
            num(v * 1000.0)
        )
    } else if inside(v / 1.0e6) {
        format!(
            "; {shown} looks like transfers per second: data_rate_mtps = {}",
            num(v / 1.0e6)
        )
    } else if kind == DramKind::Lpddr4 && inside(v * 2.0) {
        format!(
            "; {shown} looks like the clock in MHz: LPDDR4 moves two transfers per clock, \
             data_rate_mtps = {}",
            num(v * 2.0)
        )
    } else {
        String::new()
    };
    Err(d.err(key, format!("{shown} is out of range {what}{slip}")))
}

/// Warnings for values that are possible but implausible: SSD read or write bandwidth
/// above [`SSD_WARN_GBPS`], SRAM above [`SRAM_WARN_KIB`]. Each names the key and value.
pub fn warnings(hw: &HwConfig) -> Vec<String> {
    let mut out = Vec::new();
    for (key, v) in [
        ("ssd.read_gbps", hw.ssd.read_gbps),
        ("ssd.write_gbps", hw.ssd.write_gbps),
    ] {
        if v > SSD_WARN_GBPS {
            out.push(format!(
                "{key} = {} GB/s is above {SSD_WARN_GBPS} GB/s, beyond any single SSD link \
                 (PCIe 5.0 x4 NVMe: 15.8 GB/s); was it given in MB/s?",
                num(v)
            ));
        }
    }
    if hw.sram.capacity_kib > SRAM_WARN_KIB {
        out.push(format!(
            "sram.capacity_kib = {} KiB is above 1 GiB of on-chip SRAM (edge accelerators \
             hold a few MiB); was it given in bytes?",
            num(hw.sram.capacity_kib)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hw::DEFAULT_HW_TOML;

    fn with_rate(rate: &str) -> String {
        DEFAULT_HW_TOML.replace("data_rate_mtps = 3200", &format!("data_rate_mtps = {rate}"))
    }

    #[test]
    fn lpddr4_rates_outside_the_speed_bins_name_the_unit_slip() {
        let e = HwConfig::from_toml_str("t.toml", &with_rate("3.2"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "t.toml: dram.data_rate_mtps: 3.2 is out of range for LPDDR4; allowed [533, 4266] \
             MT/s (JESD209-4 speed bins LPDDR4-533 to LPDDR4X-4266); 3.2 looks like GT/s: \
             3.2 GT/s is data_rate_mtps = 3200"
        );
        let e = HwConfig::from_toml_str("t.toml", &with_rate("3200000000"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("looks like transfers per second: data_rate_mtps = 3200"),
            "{e}"
        );
        let e = HwConfig::from_toml_str("t.toml", &with_rate("400"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("clock in MHz") && e.contains("= 800"), "{e}");
        let e = HwConfig::from_toml_str("t.toml", &with_rate("100"))
            .unwrap_err()
            .to_string();
        assert!(e.ends_with("LPDDR4X-4266)"), "no slip guessed: {e}");
        // The ends of the range are allowed.
        for ok in ["533", "4266"] {
            assert!(
                HwConfig::from_toml_str("t.toml", &with_rate(ok)).is_ok(),
                "{ok}"
            );
        }
        let e = HwConfig::from_toml_str("t.toml", &with_rate("4267"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("4267 is out of range for LPDDR4"), "{e}");
    }

    #[test]
    fn implausible_ssd_and_sram_sizes_are_warnings() {
        let hw = HwConfig::paper_default();
        assert!(warnings(&hw).is_empty());
        let mut big = hw.clone();
        big.ssd.read_gbps = 2100.0;
        big.sram.capacity_kib = 2.0 * 1024.0 * 1024.0;
        let w = warnings(&big);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(
            w[0].starts_with("ssd.read_gbps = 2100 GB/s is above 50 GB/s"),
            "{w:?}"
        );
        assert!(w[1].starts_with("sram.capacity_kib = 2097152 KiB"), "{w:?}");
        // Exactly at the limits: no warning.
        big.ssd.read_gbps = SSD_WARN_GBPS;
        big.sram.capacity_kib = SRAM_WARN_KIB;
        assert!(warnings(&big).is_empty());
    }
}
