//! LPDDR4 memory-controller settings, read from `[dram.controller]`. Every default keeps
//! the behaviour of a one-rank, 32-entry FR-FCFS controller (see `docs/hw_keys.md` for
//! the source of each value and `docs/check_dram.md` for what each key does).

use crate::error::Result;
use crate::toml_util::Section;

/// Controller and rank organisation of every channel.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct DramController {
    /// Ranks per channel. Ranks share the channel's CA and data buses; each rank has its
    /// own banks, tRRD/tFAW window and (staggered) refresh. Default 1 (one x16 die per
    /// channel, as on the 4 x 16 bit LPDDR4 packages this model targets).
    pub ranks: u32,
    /// Read queue and write queue capacity per channel, in bursts. Default 32
    /// (DRAMsim3 `trans_queue_size = 32` of its DDR4/LPDDR4 configurations).
    pub queue_depth: u32,
    /// Enter write-drain mode at this many queued write bursts. Default 24 (3/4 of the
    /// queue; DRAMsim3/Ramulator drain at a high watermark of the write buffer).
    pub write_high: u32,
    /// Leave write-drain mode at this many queued write bursts. Default 8 (1/4).
    pub write_low: u32,
    /// Channel interleave granularity, bytes (power of two, >= one burst, <= the page).
    /// Default 256 (one maximal 128-bit AXI burst; see `sim::dram::mapping`).
    pub interleave_bytes: u32,
    /// Command/address-bus clocks per command; 0 = JESD209-4 multi-cycle commands (ACT,
    /// RD, WR: two parts of 2 clocks = 4; PRE, REF: 2), `1` = DDR-style single-cycle
    /// commands (DRAMsim3, Ramulator). Default 0.
    pub ca_nck: u32,
    /// Refresh commands a rank may postpone while it has requests queued (JESD209-4:
    /// at most 8). Default 0: refresh when due (DRAMsim3, Ramulator).
    pub refresh_postpone: u32,
    /// Rank-to-rank switch on the data bus, memory clocks. Default 1 (DRAMsim3
    /// `tRTRS = 1` in its LPDDR3/DDR4 configurations).
    pub t_rtrs_nck: u32,
    /// Watchdog: the controller stops with an error when simulated time advances by
    /// more than this (us) with requests queued and no burst retired. Default 10000 us
    /// (10 ms): 30x the longest legitimate stall, 9 postponed refreshes of tRFC <= 10 us
    /// plus an access.
    pub watchdog_us: u64,
}

impl Default for DramController {
    fn default() -> Self {
        DramController {
            ranks: 1,
            queue_depth: 32,
            write_high: 24,
            write_low: 8,
            interleave_bytes: 256,
            ca_nck: 0,
            refresh_postpone: 0,
            t_rtrs_nck: 1,
            watchdog_us: 10_000,
        }
    }
}

impl DramController {
    /// Reads `[dram.controller]`; absent keys take the defaults above. `page_bytes` and
    /// `burst_bytes` bound the interleave granularity.
    ///
    /// # Errors
    /// [`crate::error::Error::Input`] naming the file, `dram.controller.<key>` and the
    /// allowed range for a value out of range, an interleave that is not a power of two,
    /// or watermarks not ordered `write_low < write_high <= queue_depth`.
    pub fn from_section(s: Option<&Section>, page_bytes: u32, burst_bytes: u32) -> Result<Self> {
        let d = DramController::default();
        let Some(s) = s else {
            let il = d
                .interleave_bytes
                .min(page_bytes)
                .max(burst_bytes.min(page_bytes));
            return Ok(DramController {
                interleave_bytes: il,
                ..d
            });
        };
        let queue_depth = s.u64_or("queue_depth", d.queue_depth as u64, 1, 1024)? as u32;
        let c = DramController {
            ranks: s.u64_or("ranks", d.ranks as u64, 1, 4)? as u32,
            queue_depth,
            write_high: s.u64_or("write_high", (queue_depth * 3 / 4).max(1) as u64, 1, 1024)?
                as u32,
            write_low: s.u64_or("write_low", (queue_depth / 4) as u64, 0, 1023)? as u32,
            interleave_bytes: s.u64_or(
                "interleave_bytes",
                d.interleave_bytes.min(page_bytes) as u64,
                burst_bytes.min(page_bytes) as u64,
                page_bytes as u64,
            )? as u32,
            ca_nck: s.u64_or("ca_nck", d.ca_nck as u64, 0, 8)? as u32,
            refresh_postpone: s.u64_or("refresh_postpone", d.refresh_postpone as u64, 0, 8)? as u32,
            t_rtrs_nck: s.u64_or("t_rtrs_nck", d.t_rtrs_nck as u64, 0, 16)? as u32,
            watchdog_us: s.u64_or("watchdog_us", d.watchdog_us, 1, 1_000_000_000)?,
        };
        s.deny_unknown()?;
        if !c.interleave_bytes.is_power_of_two() {
            return Err(s.err(
                "interleave_bytes",
                format!(
                    "{} is not a power of two; allowed powers of two in [{}, {page_bytes}]",
                    c.interleave_bytes,
                    burst_bytes.min(page_bytes)
                ),
            ));
        }
        if c.write_high > c.queue_depth {
            return Err(s.err(
                "write_high",
                format!(
                    "{} exceeds queue_depth ({}); allowed [1, {}]",
                    c.write_high, c.queue_depth, c.queue_depth
                ),
            ));
        }
        if c.write_low >= c.write_high {
            return Err(s.err(
                "write_low",
                format!(
                    "{} must be below write_high ({}); allowed [0, {}]",
                    c.write_low,
                    c.write_high,
                    c.write_high - 1
                ),
            ));
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use crate::hw::{DEFAULT_HW_TOML, HwConfig};

    /// The default hardware with `extra` appended (TOML tables at the end).
    fn load(extra: &str) -> crate::Result<HwConfig> {
        HwConfig::from_toml_str("t.toml", &format!("{DEFAULT_HW_TOML}\n{extra}"))
    }

    fn err(extra: &str) -> String {
        load(extra).expect_err("rejected").to_string()
    }

    #[test]
    fn defaults_keep_the_one_rank_32_entry_controller() {
        let c = &HwConfig::paper_default().dram.controller;
        assert_eq!(
            (c.ranks, c.queue_depth, c.write_high, c.write_low),
            (1, 32, 24, 8)
        );
        assert_eq!(
            (c.interleave_bytes, c.ca_nck, c.refresh_postpone),
            (256, 0, 0)
        );
        let c = load("[dram.controller]\nqueue_depth = 64\nranks = 2\n")
            .unwrap()
            .dram
            .controller;
        // Watermarks follow the depth when not given: 3/4 and 1/4.
        assert_eq!((c.ranks, c.write_high, c.write_low), (2, 48, 16));
    }

    #[test]
    fn each_key_is_range_checked_with_file_key_and_range() {
        for (kv, key, range) in [
            ("ranks = 5", "dram.controller.ranks", "[1, 4]"),
            (
                "queue_depth = 0",
                "dram.controller.queue_depth",
                "[1, 1024]",
            ),
            ("ca_nck = 9", "dram.controller.ca_nck", "[0, 8]"),
            (
                "refresh_postpone = 9",
                "dram.controller.refresh_postpone",
                "[0, 8]",
            ),
            ("t_rtrs_nck = 17", "dram.controller.t_rtrs_nck", "[0, 16]"),
            (
                "interleave_bytes = 16",
                "dram.controller.interleave_bytes",
                "[32, 2048]",
            ),
            (
                "interleave_bytes = 96",
                "dram.controller.interleave_bytes",
                "[32, 2048]",
            ),
            ("write_high = 40", "dram.controller.write_high", "[1, 32]"),
            ("write_low = 24", "dram.controller.write_low", "[0, 23]"),
            (
                "watchdog_us = 0",
                "dram.controller.watchdog_us",
                "[1, 1000000000]",
            ),
            ("bogus = 1", "dram.controller.bogus", ""),
        ] {
            let e = err(&format!("[dram.controller]\n{kv}\n"));
            assert!(e.starts_with("t.toml: "), "{e}");
            assert!(e.contains(key) && e.contains(range), "{kv}: {e}");
        }
    }

    #[test]
    fn timing_without_room_for_an_access_between_refreshes_is_rejected() {
        // tRFC 3900 ns of tREFI 3904 ns: 6240 + 34 + 29 + 52 + 8 = 6363 > 6247 clocks.
        for rfc in [3900, 3840] {
            let e = err(&format!("[dram.timing]\nt_rfc_ns = {rfc}\n"));
            assert!(e.contains("dram.timing.t_rfc_ns"), "{e}");
            assert!(e.contains("must be <= t_refi_ns = 6247 clocks"), "{e}");
        }
        // 3827 ns leaves exactly the gap: 6124 + 123 = 6247.
        assert!(load("[dram.timing]\nt_rfc_ns = 3827\n").is_ok());
    }

    #[test]
    fn lpddr4_data_rates_outside_jesd209_4_are_rejected() {
        let base = DEFAULT_HW_TOML.replace("data_rate_mtps = 3200", "data_rate_mtps = RATE");
        for rate in [1, 2, 3, 5, 4267] {
            let e = HwConfig::from_toml_str("t.toml", &base.replace("RATE", &rate.to_string()))
                .expect_err("rejected")
                .to_string();
            assert!(
                e.contains("dram.data_rate_mtps") && e.contains("allowed [533, 4266] MT/s"),
                "{e}"
            );
        }
        // An ideal memory is only a bandwidth: any positive rate.
        let ideal = base
            .replace("RATE", "5")
            .replace("kind = \"lpddr4\"", "kind = \"ideal\"");
        assert!(HwConfig::from_toml_str("t.toml", &ideal).is_ok());
    }
}
