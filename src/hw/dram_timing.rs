//! LPDDR4 device timing, read from `[dram.timing]`. Defaults are JESD209-4 (LPDDR4)
//! speed-bin values for LPDDR4-3200 (tCK = 0.625 ns), 8 Gb per channel die, x16 channel.

use crate::error::Result;
use crate::toml_util::Section;

/// Timing parameters of one LPDDR4 channel. Times in ns; `*_nck` in memory-clock cycles.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DramTiming {
    /// Banks per channel (LPDDR4: 8).
    pub banks: u32,
    /// Row (page) size per channel in bytes (LPDDR4 x16: 2 KiB).
    pub page_bytes: u32,
    /// Burst length in beats (LPDDR4: BL16, 32 bytes on a x16 channel).
    pub burst_length: u32,
    /// ACT to RD/WR (ns): max(18 ns, 4 nCK).
    pub t_rcd_ns: f64,
    /// Precharge, per bank (ns): max(18 ns, 4 nCK).
    pub t_rp_ns: f64,
    /// Precharge, all banks (ns): max(21 ns, 4 nCK) (JESD209-4, tRPab); paid before each
    /// all-bank refresh.
    pub t_rpab_ns: f64,
    /// ACT to PRE, same bank (ns): max(42 ns, 3 nCK).
    pub t_ras_ns: f64,
    /// Read latency (nCK): RL = 28 at 3200 MT/s, DBI off (JESD209-4 Table "RL/WL").
    pub rl_nck: u32,
    /// Write latency (nCK): WL = 14 at 3200 MT/s, set A.
    pub wl_nck: u32,
    /// Write recovery (ns): max(18 ns, 6 nCK).
    pub t_wr_ns: f64,
    /// Write-to-read turnaround (ns): max(10 ns, 8 nCK).
    pub t_wtr_ns: f64,
    /// Read-to-write turnaround (nCK): RL + BL/2 + ceil(tDQSCKmax/tCK) - WL + tWPRE + tRPST
    /// = 28 + 8 + 6 - 14 + 2 + 1 = 31 nCK (tDQSCKmax = 3.5 ns).
    pub t_rtw_nck: u32,
    /// ACT to ACT, different banks (ns): max(10 ns, 4 nCK).
    pub t_rrd_ns: f64,
    /// Four-activate window (ns): 40 ns.
    pub t_faw_ns: f64,
    /// Column-to-column delay (nCK): BL16 / 2 = 8.
    pub t_ccd_nck: u32,
    /// Read to precharge (ns): max(7.5 ns, 8 nCK).
    pub t_rtp_ns: f64,
    /// All-bank refresh cycle time (ns): 280 ns for 8 Gb dies.
    pub t_rfc_ns: f64,
    /// Average refresh interval (ns): 3904 ns (tREFW 32 ms / 8192), normal temperature.
    pub t_refi_ns: f64,
}

impl Default for DramTiming {
    fn default() -> Self {
        DramTiming {
            banks: 8,
            page_bytes: 2048,
            burst_length: 16,
            t_rcd_ns: 18.0,
            t_rp_ns: 18.0,
            t_rpab_ns: 21.0,
            t_ras_ns: 42.0,
            rl_nck: 28,
            wl_nck: 14,
            t_wr_ns: 18.0,
            t_wtr_ns: 10.0,
            t_rtw_nck: 31,
            t_rrd_ns: 10.0,
            t_faw_ns: 40.0,
            t_ccd_nck: 8,
            t_rtp_ns: 7.5,
            t_rfc_ns: 280.0,
            t_refi_ns: 3904.0,
        }
    }
}

impl DramTiming {
    /// Reads `[dram.timing]`; absent keys take the LPDDR4-3200 defaults above.
    pub fn from_section(s: Option<&Section>) -> Result<Self> {
        let d = DramTiming::default();
        let Some(s) = s else { return Ok(d) };
        let t = DramTiming {
            banks: s.u64_or("banks", d.banks as u64, 1, 64)? as u32,
            page_bytes: s.u64_or("page_bytes", d.page_bytes as u64, 64, 65536)? as u32,
            burst_length: s.u64_or("burst_length", d.burst_length as u64, 1, 64)? as u32,
            t_rcd_ns: s.f64_or("t_rcd_ns", d.t_rcd_ns, 0.0, 1000.0)?,
            t_rp_ns: s.f64_or("t_rp_ns", d.t_rp_ns, 0.0, 1000.0)?,
            t_rpab_ns: s.f64_or("t_rpab_ns", d.t_rpab_ns, 0.0, 1000.0)?,
            t_ras_ns: s.f64_or("t_ras_ns", d.t_ras_ns, 0.0, 1000.0)?,
            rl_nck: s.u64_or("rl_nck", d.rl_nck as u64, 1, 256)? as u32,
            wl_nck: s.u64_or("wl_nck", d.wl_nck as u64, 1, 256)? as u32,
            t_wr_ns: s.f64_or("t_wr_ns", d.t_wr_ns, 0.0, 1000.0)?,
            t_wtr_ns: s.f64_or("t_wtr_ns", d.t_wtr_ns, 0.0, 1000.0)?,
            t_rtw_nck: s.u64_or("t_rtw_nck", d.t_rtw_nck as u64, 0, 256)? as u32,
            t_rrd_ns: s.f64_or("t_rrd_ns", d.t_rrd_ns, 0.0, 1000.0)?,
            t_faw_ns: s.f64_or("t_faw_ns", d.t_faw_ns, 0.0, 1000.0)?,
            t_ccd_nck: s.u64_or("t_ccd_nck", d.t_ccd_nck as u64, 1, 64)? as u32,
            t_rtp_ns: s.f64_or("t_rtp_ns", d.t_rtp_ns, 0.0, 1000.0)?,
            t_rfc_ns: s.f64_or("t_rfc_ns", d.t_rfc_ns, 0.0, 10000.0)?,
            t_refi_ns: s.f64_or("t_refi_ns", d.t_refi_ns, 1.0, 1.0e6)?,
        };
        s.deny_unknown()?;
        if t.t_ras_ns < t.t_rcd_ns {
            return Err(s.err("t_ras_ns", format!("must be >= t_rcd_ns ({})", t.t_rcd_ns)));
        }
        if t.t_rfc_ns >= t.t_refi_ns {
            return Err(s.err("t_rfc_ns", format!("must be < t_refi_ns ({})", t.t_refi_ns)));
        }
        Ok(t)
    }
}
