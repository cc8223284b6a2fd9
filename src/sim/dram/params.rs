//! LPDDR4 timing converted to integer memory-clock cycles (nCK) for one channel.
//!
//! tCK = 2000 / data_rate_mtps ns (LPDDR4 is double data rate: two transfers per clock),
//! so LPDDR4-3200 has tCK = 0.625 ns and a BL16 burst occupies the data bus for
//! BL/2 = 8 tCK. Every ns parameter is rounded UP to whole clocks (a controller may never
//! issue early) and floored at the JESD209-4 minimum in nCK where the standard gives one.

use crate::hw::{Dram, DramTiming};

/// Timing of one channel in memory-clock cycles, plus the geometry the model needs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct DramParams {
    /// Independent channels.
    pub channels: u32,
    /// Ranks per channel (each with `banks` banks, its own tRRD/tFAW and refresh).
    pub ranks: u32,
    /// Banks per rank.
    pub banks: u32,
    /// Row (page) size per channel, bytes.
    pub page_bytes: u32,
    /// Bytes moved by one burst on one channel: channel width / 8 x BL (x16, BL16: 32 B).
    pub burst_bytes: u32,
    /// Data-bus cycles of one burst: BL / 2 (DDR).
    pub burst_nck: u64,
    /// Memory clock period in picoseconds (integer, for exact arithmetic).
    pub t_ck_ps: u64,
    /// ACT to column command.
    pub rcd: u64,
    /// PRE to ACT, same bank.
    pub rp: u64,
    /// All-bank PRE to REF.
    pub rpab: u64,
    /// ACT to PRE, same bank.
    pub ras: u64,
    /// Read latency (RD command to first data beat).
    pub rl: u64,
    /// Write latency (WR command to first data beat is WL + 1: tDQSS).
    pub wl: u64,
    /// Write recovery (end of write data to PRE).
    pub wr: u64,
    /// End of write data to RD command.
    pub wtr: u64,
    /// RD to WR command.
    pub rtw: u64,
    /// ACT to ACT, different banks.
    pub rrd: u64,
    /// Window in which at most four ACTs may issue.
    pub faw: u64,
    /// Column to column, same direction.
    pub ccd: u64,
    /// Read to precharge.
    pub rtp: u64,
    /// Refresh cycle time (all banks).
    pub rfc: u64,
    /// Average refresh interval.
    pub refi: u64,
    /// Rank-to-rank switch on the data bus (clocks between bursts of different ranks).
    pub rtrs: u64,
}

/// `ceil(ns / tck)` but at least `min_nck`. Works in picoseconds to stay exact.
fn nck(ns: f64, t_ck_ps: u64, min_nck: u64) -> u64 {
    let ps = (ns * 1000.0).round() as u64;
    ps.div_ceil(t_ck_ps).max(min_nck)
}

impl DramParams {
    /// Converts the hardware description. Channel width = `bus_width_bits / channels`.
    pub fn from_dram(d: &Dram) -> Self {
        let mut p = Self::from_timing(d.data_rate_mtps, d.bus_width_bits, d.channels, &d.timing);
        p.ranks = d.controller.ranks.max(1);
        p.rtrs = d.controller.t_rtrs_nck as u64;
        p
    }

    /// Converts timing for `channels` channels sharing `bus_width_bits` at `data_rate_mtps`,
    /// one rank per channel (tRTRS = 1, the [`crate::hw::DramController`] default).
    pub fn from_timing(
        data_rate_mtps: f64,
        bus_width_bits: u32,
        channels: u32,
        t: &DramTiming,
    ) -> Self {
        let channels = channels.max(1);
        // tCK (ps) = 2e6 / MT/s; 625 ps at 3200 MT/s.
        let t_ck_ps = ((2.0e6 / data_rate_mtps).round() as u64).max(1);
        let ch_bits = (bus_width_bits / channels).max(1);
        let burst_bytes = (ch_bits * t.burst_length / 8).max(1);
        let burst_nck = (t.burst_length as u64 / 2).max(1);
        // nCK floors: JESD209-4 Table "AC timing": tRCD, tRP(ab) >= 4, tRAS >= 3, tWR >= 6
        // (3200 bin), tWTR >= 8, tRRD >= 4, tRTP >= 8.
        DramParams {
            channels,
            ranks: 1,
            banks: t.banks.max(1),
            page_bytes: t.page_bytes,
            burst_bytes,
            burst_nck,
            t_ck_ps,
            rcd: nck(t.t_rcd_ns, t_ck_ps, 4),
            rp: nck(t.t_rp_ns, t_ck_ps, 4),
            rpab: nck(t.t_rpab_ns, t_ck_ps, 4),
            ras: nck(t.t_ras_ns, t_ck_ps, 3),
            rl: t.rl_nck as u64,
            wl: t.wl_nck as u64,
            wr: nck(t.t_wr_ns, t_ck_ps, 6),
            wtr: nck(t.t_wtr_ns, t_ck_ps, 8),
            rtw: t.t_rtw_nck as u64,
            rrd: nck(t.t_rrd_ns, t_ck_ps, 4),
            faw: nck(t.t_faw_ns, t_ck_ps, 0),
            ccd: (t.t_ccd_nck as u64).max(burst_nck),
            rtp: nck(t.t_rtp_ns, t_ck_ps, 8),
            rfc: nck(t.t_rfc_ns, t_ck_ps, 1),
            refi: nck(t.t_refi_ns, t_ck_ps, 1),
            rtrs: 1,
        }
    }

    /// Why no access could issue between two refreshes, if so. After a REF the bank
    /// needs tRFC, then ACT and tRCD before a column command; the refresh that follows
    /// may have waited for the last access's write recovery (WR to PRE) or tRAS, then
    /// tRPab. All of it, plus two 4-clock commands, must fit in tREFI:
    /// tRFC + tRPab + tRCD + max(WR-to-PRE, tRAS - tRCD) + 8 <= tREFI (clocks).
    pub fn refresh_gap_problem(&self) -> Option<String> {
        let need = self.rfc
            + self.rpab
            + self.rcd
            + self.wr_to_pre().max(self.ras.saturating_sub(self.rcd))
            + 8;
        if need <= self.refi {
            return None;
        }
        let ns = |c: u64| c as f64 * self.t_ck_ps as f64 / 1000.0;
        let room = ns(self.rfc) - ns(need - self.refi);
        let fix = if room > 0.0 {
            format!("lower t_rfc_ns (<= {room:.1} ns here) or raise t_refi_ns")
        } else {
            "raise t_refi_ns or data_rate_mtps (the nCK floors of tRPab, tRCD and tWR fill tREFI at this clock)".to_string()
        };
        Some(format!(
            "no access fits between refreshes: t_rfc_ns + t_rpab_ns + t_rcd_ns + write-to-precharge + 2 commands = {need} clocks ({:.1} ns) must be <= t_refi_ns = {} clocks ({:.1} ns) at tCK = {:.3} ns; {fix}",
            ns(need),
            self.refi,
            ns(self.refi),
            self.t_ck_ps as f64 / 1000.0,
        ))
    }

    /// Row cycle time tRC = tRAS + tRP: the minimum spacing of two ACTs to one bank.
    pub fn rc(&self) -> u64 {
        self.ras + self.rp
    }

    /// RD command to PRE, same bank: BL/2 + max(8, tRTP) - 8 (JESD209-4).
    pub fn rd_to_pre(&self) -> u64 {
        self.burst_nck + self.rtp.max(8) - 8
    }

    /// WR command to first write data beat: WL + 1 (tDQSS).
    pub fn wr_data_delay(&self) -> u64 {
        self.wl + 1
    }

    /// WR command to PRE, same bank: WL + 1 + BL/2 + tWR.
    pub fn wr_to_pre(&self) -> u64 {
        self.wr_data_delay() + self.burst_nck + self.wr
    }

    /// WR command to RD command, any bank: WL + 1 + BL/2 + tWTR.
    pub fn wr_to_rd(&self) -> u64 {
        self.wr_data_delay() + self.burst_nck + self.wtr
    }

    /// Peak bytes per memory clock over all channels.
    pub fn peak_bytes_per_ck(&self) -> f64 {
        self.channels as f64 * self.burst_bytes as f64 / self.burst_nck as f64
    }

    /// Peak bandwidth in bytes per second over all channels.
    pub fn peak_bytes_per_s(&self) -> f64 {
        self.peak_bytes_per_ck() * 1e12 / self.t_ck_ps as f64
    }

    /// Converts memory-clock cycles to seconds.
    pub fn seconds(&self, nck: u64) -> f64 {
        nck as f64 * self.t_ck_ps as f64 * 1e-12
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lpddr4_3200_in_clocks() {
        let p = DramParams::from_dram(&crate::hw::HwConfig::paper_default().dram);
        // tCK = 2000/3200 ns = 625 ps.
        assert_eq!(p.t_ck_ps, 625);
        // x16 channel (64 bit / 4), BL16: 32 B per burst in 8 clocks.
        assert_eq!((p.burst_bytes, p.burst_nck), (32, 8));
        // 18 ns / 0.625 = 28.8 -> 29; 42 / 0.625 = 67.2 -> 68; 21 / .625 = 33.6 -> 34.
        assert_eq!((p.rcd, p.rp, p.ras, p.rpab), (29, 29, 68, 34));
        // tRC = 68 + 29 = 97; tRRD 10 ns = 16; tFAW 40 ns = 64; tWTR 10 ns = 16.
        assert_eq!((p.rc(), p.rrd, p.faw, p.wtr), (97, 16, 64, 16));
        // tRFC 280 ns = 448; tREFI 3904 ns = 6246.4 -> 6247.
        assert_eq!((p.rfc, p.refi), (448, 6247));
        // 4 ch x 32 B / (8 x 0.625 ns) = 25.6 GB/s.
        assert!((p.peak_bytes_per_s() - 25.6e9).abs() < 1.0);
        // RD->PRE = 8 + max(8, 12) - 8 = 12; WR->RD = 14 + 1 + 8 + 16 = 39.
        assert_eq!((p.rd_to_pre(), p.wr_to_rd()), (12, 39));
    }
}
