//! An FR-FCFS LPDDR4 memory controller, simulated command by command.
//!
//! Model (per channel, channels are independent apart from the shared request source;
//! every setting below is a `[dram.controller]` key, defaults in brackets):
//! - Open-page policy: a row stays open until a request for another row of the bank
//!   needs the bank (or refresh closes it).
//! - Requests are split into BL16 bursts (one column command each) and queued in a read
//!   queue and a write queue of `queue_depth` bursts each [32].
//! - FR-FCFS: among the commands that can issue earliest, column commands (row hits)
//!   win over ACT/PRE, then the oldest request. A row with pending hits is never
//!   precharged for a miss (hit-first).
//! - Writes are posted and drained in batches: the controller serves reads until the
//!   write queue reaches `write_high` [24] (or no read is pending), then writes until it
//!   falls to `write_low` [8] (or no write is pending). Batching amortises the read/write
//!   turnaround, as every real LPDDR controller does.
//! - `ranks` [1] per channel share the CA and data buses (a burst of another rank than
//!   the last waits `t_rtrs_nck` [1] more); each rank has its own banks, tRRD/tFAW
//!   window, tWTR and tCCD, and refresh staggered by tREFI / ranks.
//! - All-bank refresh every tREFI per rank: when due (or, with `refresh_postpone` [0] =
//!   N, when N refreshes are owed and requests keep the rank busy), no new column or ACT
//!   command of the rank issues; its banks are precharged (PREab), REF issues tRPab later
//!   and blocks the rank for tRFC.
//! - The command/address bus carries one command at a time: ACT and RD/WR are two-part
//!   commands (ACT-1/ACT-2, RD-1/CAS-2) of 4 tCK, PRE and REF take 2 tCK (JESD209-4
//!   command truth table: each part is 2 clock edges of the 6-bit SDR CA bus);
//!   `ca_nck` = N makes every command N clocks (1: DDR-style simulators).
//! - The data bus carries one burst at a time: read data starts RL after RD, write data
//!   WL + 1 after WR, and lasts BL/2 clocks.
//!
//! The simulation is event driven: each channel computes the earliest time its next
//! command can legally issue, and time jumps straight to the earliest event; idle clocks
//! cost nothing.

use super::mapping::AddressMapping;
use super::params::DramParams;
use crate::error::{Error, Result};
use crate::hw::Dram;

/// One memory request from a client (a DMA engine, a traffic generator).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    /// Byte address.
    pub addr: u64,
    /// Bytes (split into bursts; must not exceed the queue depth per channel).
    pub bytes: u32,
    /// Write (true) or read.
    pub write: bool,
    /// Earliest memory clock at which the request reaches the controller.
    pub arrival_nck: u64,
}

/// Which timing effects the model applies; switching one off isolates its cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct DramFeatures {
    /// Periodic all-bank refresh (tREFI, tRFC, tRPab).
    pub refresh: bool,
    /// Read/write bus turnaround (tRTW, tWTR). Off: only data-bus exclusivity remains.
    pub turnaround: bool,
    /// Row buffer misses (ACT/PRE, tRCD, tRP, tRAS, tRRD, tFAW). Off: every access hits.
    pub row_misses: bool,
}

impl DramFeatures {
    /// Every effect modelled.
    pub const ALL: DramFeatures = DramFeatures {
        refresh: true,
        turnaround: true,
        row_misses: true,
    };
}

impl Default for DramFeatures {
    fn default() -> Self {
        Self::ALL
    }
}

/// Queue sizes, write-drain watermarks, command-bus occupancy, refresh postponement and
/// the watchdog of every channel's controller (from [`crate::hw::DramController`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct ControllerConfig {
    /// Read queue and write queue capacity per channel (bursts).
    pub queue_depth: usize,
    /// Enter write-drain mode at this many queued write bursts.
    pub write_high: usize,
    /// Leave write-drain mode at this many queued write bursts.
    pub write_low: usize,
    /// CA-bus clocks per command; 0 = JESD209-4 (ACT, RD, WR 4; PRE, REF 2).
    pub ca_nck: u64,
    /// Refreshes a rank may postpone while it has requests queued (JESD209-4: <= 8).
    pub refresh_postpone: u64,
    /// Memory clocks without a retired burst (with requests queued) after which
    /// [`simulate`] stops with an error.
    pub watchdog_nck: u64,
}

impl Default for ControllerConfig {
    /// 32-entry queues with 3/4 and 1/4 watermarks (DRAMsim3's `trans_queue_size = 32`;
    /// drain batches of 24 - 8 = 16 bursts), JESD209-4 multi-cycle commands, refresh when
    /// due, and a 10 ms watchdog at LPDDR4-3200 (16e6 clocks of 0.625 ns).
    fn default() -> Self {
        ControllerConfig {
            queue_depth: 32,
            write_high: 24,
            write_low: 8,
            ca_nck: 0,
            refresh_postpone: 0,
            watchdog_nck: 16_000_000,
        }
    }
}

impl ControllerConfig {
    /// The controller of `d` (`[dram.controller]`); the watchdog is converted to clocks
    /// of `p`.
    pub fn from_dram(d: &Dram, p: &DramParams) -> Self {
        let c = &d.controller;
        ControllerConfig {
            queue_depth: c.queue_depth.max(1) as usize,
            write_high: c.write_high.max(1) as usize,
            write_low: c.write_low as usize,
            ca_nck: c.ca_nck as u64,
            refresh_postpone: c.refresh_postpone as u64,
            watchdog_nck: ((c.watchdog_us as u128 * 1_000_000) / p.t_ck_ps.max(1) as u128)
                .clamp(1, u64::MAX as u128) as u64,
        }
    }

    /// CA clocks of a two-part command (ACT, RD, WR).
    fn ca_two(&self) -> u64 {
        if self.ca_nck == 0 {
            CA_TWO_PART
        } else {
            self.ca_nck
        }
    }

    /// CA clocks of a one-part command (PRE, REF).
    fn ca_one(&self) -> u64 {
        if self.ca_nck == 0 {
            CA_ONE_PART
        } else {
            self.ca_nck
        }
    }
}

/// The parameters, address mapping and controller settings of a hardware description.
pub fn device(d: &Dram) -> (DramParams, AddressMapping, ControllerConfig) {
    let p = DramParams::from_dram(d);
    let map = AddressMapping::with(
        p.channels,
        p.ranks,
        p.banks,
        p.page_bytes,
        d.controller.interleave_bytes,
    );
    let cfg = ControllerConfig::from_dram(d, &p);
    (p, map, cfg)
}

/// Counters of one simulation.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct DramStats {
    /// Requests completed.
    pub requests: u64,
    /// Bytes read (whole bursts).
    pub read_bytes: u64,
    /// Bytes written (whole bursts).
    pub write_bytes: u64,
    /// Column commands (bursts).
    pub bursts: u64,
    /// ACT commands.
    pub activates: u64,
    /// PRE commands for row conflicts (not counting refresh's all-bank precharge).
    pub precharges: u64,
    /// REF commands.
    pub refreshes: u64,
    /// Changes of data-bus direction (read <-> write).
    pub turnarounds: u64,
    /// Memory clocks from 0 to the end of the last data beat.
    pub cycles: u64,
    /// Sum over read requests of (last data beat - arrival), clocks.
    pub read_latency_sum: u64,
    /// Read requests.
    pub read_requests: u64,
    /// Most refreshes a rank still owed when it issued a REF (0 when refresh is never
    /// postponed; at most `refresh_postpone` on timing sets that pass validation).
    pub postponed_max: u64,
}

impl DramStats {
    /// Achieved bandwidth over peak: bytes / (cycles x peak bytes per clock).
    pub fn efficiency(&self, p: &DramParams) -> f64 {
        if self.cycles == 0 {
            return 0.0;
        }
        (self.read_bytes + self.write_bytes) as f64 / (self.cycles as f64 * p.peak_bytes_per_ck())
    }

    /// Fraction of bursts that found their row open.
    pub fn row_hit_rate(&self) -> f64 {
        if self.bursts == 0 {
            return 0.0;
        }
        1.0 - self.activates as f64 / self.bursts as f64
    }

    /// Mean read latency in clocks.
    pub fn mean_read_latency(&self) -> f64 {
        self.read_latency_sum as f64 / self.read_requests.max(1) as f64
    }
}

/// The result of [`simulate`]: counters plus each request's completion clock.
#[derive(Debug, Clone)]
pub struct DramRun {
    /// Counters.
    pub stats: DramStats,
    /// Completion clock (end of last data beat) of each request, in submission order.
    pub completion_nck: Vec<u64>,
    /// Clock at which each request entered the controller's queues.
    pub admit_nck: Vec<u64>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    req: u32,
    rank: u32,
    /// Bank index within the channel: rank x banks + bank.
    bank: u32,
    row: u64,
}

#[derive(Debug, Clone, Copy, Default)]
struct Bank {
    open: Option<u64>,
    act_ok: u64,
    col_ok: u64,
    pre_ok: u64,
}

/// Per-rank state: the activate window, the same-rank column spacing and refresh.
#[derive(Debug, Clone, Copy)]
struct Rank {
    rrd_ok: u64,
    acts: [u64; 4],
    n_acts: u64,
    rd_ok: u64,
    wr_ok: u64,
    /// Nominal time of the oldest refresh not yet issued.
    refresh_due: u64,
    /// A column command has issued since the last REF. Until one has, a due refresh
    /// does not hold the rank's commands back (progress guarantee, see [`Channel::next`]).
    col_since_ref: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmd {
    Act { bank: u32, row: u64 },
    Pre { bank: u32 },
    Col { write: bool, idx: usize },
    PreAll { rank: u32 },
    Ref { rank: u32 },
}

/// JESD209-4 command truth table: ACT, RD, WR are two-part commands of 2 clocks each.
const CA_TWO_PART: u64 = 4;
/// PRE and REF are one-part commands of 2 clocks.
const CA_ONE_PART: u64 = 2;

#[derive(Debug, Clone)]
struct Channel {
    banks: Vec<Bank>,
    ranks: Vec<Rank>,
    rq: Vec<Entry>,
    wq: Vec<Entry>,
    write_mode: bool,
    ca_free: u64,
    data_free: u64,
    last_rank: Option<u32>,
    last_write: Option<bool>,
    hits: Vec<bool>,
    rank_busy: Vec<bool>,
}

impl Channel {
    fn new(p: &DramParams) -> Self {
        let nr = p.ranks.max(1) as usize;
        let nb = nr * p.banks.max(1) as usize;
        // Staggered refresh: rank r's first refresh at tREFI x (1 + r / ranks), so the
        // ranks never refresh together (DRAMsim3 RANK_LEVEL_STAGGERED).
        let ranks = (0..nr)
            .map(|r| Rank {
                rrd_ok: 0,
                acts: [0; 4],
                n_acts: 0,
                rd_ok: 0,
                wr_ok: 0,
                refresh_due: p.refi + p.refi * r as u64 / nr as u64,
                col_since_ref: true,
            })
            .collect();
        Channel {
            banks: vec![Bank::default(); nb],
            ranks,
            rq: Vec::new(),
            wq: Vec::new(),
            write_mode: false,
            ca_free: 0,
            data_free: 0,
            last_rank: None,
            last_write: None,
            hits: vec![false; nb],
            rank_busy: vec![false; nr],
        }
    }

    fn is_empty(&self) -> bool {
        self.rq.is_empty() && self.wq.is_empty()
    }

    fn rank_banks(&self, p: &DramParams, rank: u32) -> std::ops::Range<usize> {
        let nb = p.banks.max(1) as usize;
        rank as usize * nb..(rank as usize + 1) * nb
    }

    /// Chooses the next command and the clock it issues at (>= now).
    ///
    /// Refresh: a rank's refresh is due at `refresh_due`; the rank's regular commands are
    /// held back from `refresh_due + refresh_postpone x tREFI` on (with postponement 0,
    /// from the due time: the refresh preempts everything after it), and the refresh
    /// issues once the rank has no command left to issue before that (under load: when
    /// forced; idle: when due). Progress guarantee: until a column command has issued
    /// since the rank's last REF, the refresh holds nothing back. Without that rule a
    /// timing set where REF, ACT and tRCD just fill tREFI (LPDDR4 at 5 MT/s: tREFI = 10
    /// clocks) activated a row after every refresh and precharged it for the next, forever.
    /// With it, a refresh is late by at most one access on such timing sets and never on
    /// the ones validation accepts ([`DramParams::refresh_gap_problem`]).
    fn next(
        &mut self,
        now: u64,
        p: &DramParams,
        f: DramFeatures,
        cfg: &ControllerConfig,
    ) -> Option<(u64, Cmd)> {
        // Write-drain mode hysteresis.
        if self.write_mode {
            if self.wq.is_empty() || (self.wq.len() <= cfg.write_low && !self.rq.is_empty()) {
                self.write_mode = false;
            }
        } else if !self.wq.is_empty() && (self.wq.len() >= cfg.write_high || self.rq.is_empty()) {
            self.write_mode = true;
        }
        let write = self.write_mode;
        let q = if write { &self.wq } else { &self.rq };
        // Banks whose open row has a pending hit (one pass over the queue).
        self.hits.iter_mut().for_each(|h| *h = false);
        self.rank_busy.iter_mut().for_each(|h| *h = false);
        for e in q {
            if self.banks[e.bank as usize].open == Some(e.row) {
                self.hits[e.bank as usize] = true;
            }
        }
        let lat = if write { p.wr_data_delay() } else { p.rl };
        let hold = |r: &Rank| {
            if f.refresh && r.col_since_ref {
                r.refresh_due + cfg.refresh_postpone * p.refi
            } else {
                u64::MAX
            }
        };
        let mut best: Option<(u64, bool, Cmd)> = None;
        for (idx, e) in q.iter().enumerate() {
            let rank = &self.ranks[e.rank as usize];
            let bank = &self.banks[e.bank as usize];
            let (t, is_col, cmd) = if !f.row_misses || bank.open == Some(e.row) {
                let dir_ok = if write { rank.wr_ok } else { rank.rd_ok };
                let switch = match self.last_rank {
                    Some(r) if r != e.rank => p.rtrs,
                    _ => 0,
                };
                let t = now
                    .max(self.ca_free)
                    .max(dir_ok)
                    .max((self.data_free + switch).saturating_sub(lat))
                    .max(bank.col_ok);
                (t, true, Cmd::Col { write, idx })
            } else if bank.open.is_some() {
                if self.hits[e.bank as usize] {
                    continue;
                }
                (
                    now.max(self.ca_free).max(bank.pre_ok),
                    false,
                    Cmd::Pre { bank: e.bank },
                )
            } else {
                let faw_ok = if rank.n_acts < 4 {
                    0
                } else {
                    rank.acts[(rank.n_acts % 4) as usize] + p.faw
                };
                let t = now
                    .max(self.ca_free)
                    .max(rank.rrd_ok)
                    .max(faw_ok)
                    .max(bank.act_ok);
                (
                    t,
                    false,
                    Cmd::Act {
                        bank: e.bank,
                        row: e.row,
                    },
                )
            };
            if t >= hold(rank) {
                continue;
            }
            self.rank_busy[e.rank as usize] = true;
            // Earliest first; at equal time row hits first; then oldest (queue order).
            let better = match best {
                None => true,
                Some((bt, bcol, _)) => t < bt || (t == bt && is_col && !bcol),
            };
            if better {
                best = Some((t, is_col, cmd));
            }
        }
        let mut choice = best.map(|(t, _, c)| (t, c));
        if !f.refresh {
            return choice;
        }
        // Refresh of every rank with nothing left to issue before its hold time.
        for (r, rank) in self.ranks.iter().enumerate() {
            if self.rank_busy[r] {
                continue;
            }
            let due = now.max(rank.refresh_due).max(self.ca_free);
            let banks = &self.banks[self.rank_banks(p, r as u32)];
            let cand = if f.row_misses && banks.iter().any(|b| b.open.is_some()) {
                let t = banks
                    .iter()
                    .filter(|b| b.open.is_some())
                    .map(|b| b.pre_ok)
                    .fold(due, u64::max);
                (t, Cmd::PreAll { rank: r as u32 })
            } else {
                let t = banks.iter().map(|b| b.act_ok).fold(due, u64::max);
                (t, Cmd::Ref { rank: r as u32 })
            };
            // An overdue refresh wins ties.
            if choice.is_none_or(|(t, _)| cand.0 <= t) {
                choice = Some(cand);
            }
        }
        choice
    }

    /// Issues `cmd` at `t`; returns `Some((request, data_end, write))` for a column command.
    fn issue(
        &mut self,
        t: u64,
        cmd: Cmd,
        p: &DramParams,
        f: DramFeatures,
        cfg: &ControllerConfig,
        s: &mut DramStats,
    ) -> Option<(u32, u64, bool)> {
        match cmd {
            Cmd::Act { bank, row } => {
                let b = &mut self.banks[bank as usize];
                b.open = Some(row);
                b.col_ok = t + p.rcd;
                b.pre_ok = t + p.ras;
                let r = &mut self.ranks[bank as usize / p.banks.max(1) as usize];
                r.rrd_ok = t + p.rrd;
                r.acts[(r.n_acts % 4) as usize] = t;
                r.n_acts += 1;
                self.ca_free = t + cfg.ca_two();
                s.activates += 1;
                None
            }
            Cmd::Pre { bank } => {
                let b = &mut self.banks[bank as usize];
                b.open = None;
                b.act_ok = b.act_ok.max(t + p.rp);
                self.ca_free = t + cfg.ca_one();
                s.precharges += 1;
                None
            }
            Cmd::PreAll { rank } => {
                let range = self.rank_banks(p, rank);
                for b in &mut self.banks[range] {
                    b.open = None;
                    b.act_ok = b.act_ok.max(t + p.rpab);
                }
                self.ca_free = t + cfg.ca_one();
                None
            }
            Cmd::Ref { rank } => {
                let range = self.rank_banks(p, rank);
                for b in &mut self.banks[range] {
                    b.act_ok = t + p.rfc;
                    b.col_ok = t + p.rfc;
                }
                let r = &mut self.ranks[rank as usize];
                let owed = t.saturating_sub(r.refresh_due) / p.refi.max(1);
                s.postponed_max = s.postponed_max.max(owed);
                r.refresh_due += p.refi;
                r.col_since_ref = false;
                self.ca_free = t + cfg.ca_one();
                s.refreshes += 1;
                None
            }
            Cmd::Col { write, idx } => {
                let e = if write {
                    self.wq.remove(idx)
                } else {
                    self.rq.remove(idx)
                };
                let b = &mut self.banks[e.bank as usize];
                let start = if write {
                    b.pre_ok = b.pre_ok.max(t + p.wr_to_pre());
                    let r = &mut self.ranks[e.rank as usize];
                    r.wr_ok = t + p.ccd;
                    let turn = if f.turnaround { p.wr_to_rd() } else { 0 };
                    r.rd_ok = r.rd_ok.max(t + turn);
                    s.write_bytes += p.burst_bytes as u64;
                    t + p.wr_data_delay()
                } else {
                    b.pre_ok = b.pre_ok.max(t + p.rd_to_pre());
                    self.ranks[e.rank as usize].rd_ok = t + p.ccd;
                    // Read-to-write is a data-bus (DQ direction) turnaround: every rank.
                    let turn = if f.turnaround { p.rtw } else { 0 };
                    for r in &mut self.ranks {
                        r.wr_ok = r.wr_ok.max(t + turn);
                    }
                    s.read_bytes += p.burst_bytes as u64;
                    t + p.rl
                };
                if self.last_write.is_some_and(|w| w != write) {
                    s.turnarounds += 1;
                }
                self.last_write = Some(write);
                self.last_rank = Some(e.rank);
                self.ranks[e.rank as usize].col_since_ref = true;
                self.data_free = start + p.burst_nck;
                self.ca_free = t + cfg.ca_two();
                s.bursts += 1;
                Some((e.req, self.data_free, write))
            }
        }
    }
}

/// Simulates `requests` (in submission order; arrival clocks non-decreasing) to
/// completion. A request enters the controller at its arrival clock or, if its channel
/// queue is full, as soon as a slot frees; requests enter in order (a full queue blocks
/// the source, as a DMA engine with in-order issue would be blocked).
///
/// # Errors
/// [`Error::Other`] from the watchdog when simulated time advances by more than
/// `cfg.watchdog_nck` clocks with requests queued and no burst retired, naming the
/// channel, its queues and the command it was waiting to issue. No timing set that
/// passes hardware validation triggers it; it bounds the run time of any other.
pub fn simulate(
    p: &DramParams,
    map: &AddressMapping,
    f: DramFeatures,
    cfg: &ControllerConfig,
    requests: impl IntoIterator<Item = Request>,
) -> Result<DramRun> {
    let nch = p.channels as usize;
    let mut chans: Vec<Channel> = (0..nch).map(|_| Channel::new(p)).collect();
    let mut cached: Vec<Option<Option<(u64, Cmd)>>> = vec![None; nch];
    let mut src = requests.into_iter().peekable();
    let mut stats = DramStats::default();
    let mut remaining: Vec<u32> = Vec::new();
    let mut arrival: Vec<u64> = Vec::new();
    let mut admit: Vec<u64> = Vec::new();
    let mut completion: Vec<u64> = Vec::new();
    let mut per_ch = vec![0usize; nch];
    let bb = p.burst_bytes as u64;
    let banks = p.banks.max(1);
    let mut now = 0u64;
    // Last clock at which work was retired (or the queues were empty).
    let mut progress = 0u64;
    loop {
        // Admit every request that has arrived and fits.
        while let Some(r) = src.peek().copied() {
            if r.arrival_nck > now {
                break;
            }
            let first = r.addr / bb;
            let last = (r.addr + r.bytes.max(1) as u64 - 1) / bb;
            per_ch.iter_mut().for_each(|c| *c = 0);
            for burst in first..=last {
                per_ch[map.locate(burst * bb).channel as usize] += 1;
            }
            let fits = per_ch.iter().enumerate().all(|(c, &n)| {
                let q = if r.write { &chans[c].wq } else { &chans[c].rq };
                n == 0 || q.is_empty() || q.len() + n <= cfg.queue_depth
            });
            if !fits {
                break;
            }
            if chans.iter().all(Channel::is_empty) {
                progress = now;
            }
            let id = remaining.len() as u32;
            for burst in first..=last {
                let loc = map.locate(burst * bb);
                let ch = &mut chans[loc.channel as usize];
                let e = Entry {
                    req: id,
                    rank: loc.rank,
                    bank: loc.rank * banks + loc.bank,
                    row: loc.row,
                };
                if r.write {
                    ch.wq.push(e);
                } else {
                    ch.rq.push(e);
                }
                cached[loc.channel as usize] = None;
            }
            remaining.push((last - first + 1) as u32);
            arrival.push(r.arrival_nck);
            admit.push(now);
            completion.push(0);
            src.next();
        }
        if src.peek().is_none() && chans.iter().all(Channel::is_empty) {
            break;
        }
        let mut best: Option<(u64, usize)> = None;
        for c in 0..nch {
            if cached[c].is_none() {
                cached[c] = Some(chans[c].next(now, p, f, cfg));
            }
            if let Some(Some((t, _))) = cached[c]
                && best.is_none_or(|(bt, _)| t < bt)
            {
                best = Some((t, c));
            }
        }
        let admit_at = src.peek().map(|r| r.arrival_nck).filter(|&a| a > now);
        match (best, admit_at) {
            (_, Some(a)) if best.is_none_or(|(t, _)| a <= t) => now = a,
            (Some((t, c)), _) => {
                if t.saturating_sub(progress) > cfg.watchdog_nck
                    && let Some(stuck) = chans.iter().position(|ch| !ch.is_empty())
                {
                    let ch = &chans[stuck];
                    let waiting = cached[stuck].flatten().map(|(_, cmd)| cmd);
                    return Err(Error::Other(format!(
                        "DRAM controller watchdog: no burst retired for {} clocks ({:.0} us) after clock {progress}; channel {stuck} queue holds {} reads and {} writes (write drain {}), next command {waiting:?}; timing: tRFC {} tREFI {} tRCD {} tRPab {} clocks, refresh postponement {} (raise [dram.controller] watchdog_us if this is legitimate)",
                        t - progress,
                        p.seconds(t - progress) * 1e6,
                        ch.rq.len(),
                        ch.wq.len(),
                        if ch.write_mode { "on" } else { "off" },
                        p.rfc,
                        p.refi,
                        p.rcd,
                        p.rpab,
                        cfg.refresh_postpone,
                    )));
                }
                now = t;
                let Some(Some((_, cmd))) = cached[c].take() else {
                    unreachable!("cached command present")
                };
                if let Some((req, end, write)) = chans[c].issue(t, cmd, p, f, cfg, &mut stats) {
                    progress = t;
                    let r = req as usize;
                    remaining[r] -= 1;
                    completion[r] = completion[r].max(end);
                    stats.cycles = stats.cycles.max(end);
                    if remaining[r] == 0 {
                        stats.requests += 1;
                        if !write {
                            stats.read_requests += 1;
                            stats.read_latency_sum += completion[r] - arrival[r];
                        }
                    }
                }
            }
            (None, _) => break,
        }
    }
    Ok(DramRun {
        stats,
        completion_nck: completion,
        admit_nck: admit,
    })
}
