//! An FR-FCFS LPDDR4 memory controller, simulated command by command.
//!
//! Model (per channel, channels are independent apart from the shared request source):
//! - Open-page policy: a row stays open until a request for another row of the bank
//!   needs the bank (or refresh closes it).
//! - Requests are split into BL16 bursts (one column command each) and queued in a read
//!   queue and a write queue of `queue_depth` bursts each.
//! - FR-FCFS: among the commands that can issue earliest, column commands (row hits)
//!   win over ACT/PRE, then the oldest request. A row with pending hits is never
//!   precharged for a miss (hit-first).
//! - Writes are posted and drained in batches: the controller serves reads until the
//!   write queue reaches `write_high` (or no read is pending), then writes until it falls
//!   to `write_low` (or no write is pending). Batching amortises the read/write
//!   turnaround, as every real LPDDR controller does.
//! - All-bank refresh every tREFI: when due, no new column or ACT command issues; all
//!   banks are precharged (PREab), REF issues tRPab later and blocks the channel for tRFC.
//! - The command/address bus carries one command at a time: ACT and RD/WR are two-part
//!   commands (ACT-1/ACT-2, RD-1/CAS-2) of 4 tCK, PRE and REF take 2 tCK (JESD209-4
//!   command truth table: each part is 2 clock edges of the 6-bit SDR CA bus).
//! - The data bus carries one burst at a time: read data starts RL after RD, write data
//!   WL + 1 after WR, and lasts BL/2 clocks.
//!
//! The simulation is event driven: each channel computes the earliest time its next
//! command can legally issue, and time jumps straight to the earliest event; idle clocks
//! cost nothing.

use super::mapping::AddressMapping;
use super::params::DramParams;

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

/// Queue sizes and write-drain watermarks, in bursts per channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct ControllerConfig {
    /// Read queue and write queue capacity per channel (bursts).
    pub queue_depth: usize,
    /// Enter write-drain mode at this many queued write bursts.
    pub write_high: usize,
    /// Leave write-drain mode at this many queued write bursts.
    pub write_low: usize,
}

impl Default for ControllerConfig {
    /// 32-entry queues with 3/4 and 1/4 watermarks: typical of mobile controllers and of
    /// the defaults of DRAMSim3/Ramulator. Drain batches are 24 - 8 = 16 bursts.
    fn default() -> Self {
        ControllerConfig {
            queue_depth: 32,
            write_high: 24,
            write_low: 8,
        }
    }
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
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    req: u32,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmd {
    Act { bank: u32, row: u64 },
    Pre { bank: u32 },
    Col { write: bool, idx: usize },
    PreAll,
    Ref,
}

const CA_TWO_PART: u64 = 4;
const CA_ONE_PART: u64 = 2;

#[derive(Debug, Clone)]
struct Channel {
    banks: Vec<Bank>,
    rq: Vec<Entry>,
    wq: Vec<Entry>,
    write_mode: bool,
    ca_free: u64,
    data_free: u64,
    rd_ok: u64,
    wr_ok: u64,
    rrd_ok: u64,
    acts: [u64; 4],
    n_acts: u64,
    refresh_due: u64,
    last_write: Option<bool>,
    hits: Vec<bool>,
}

impl Channel {
    fn new(p: &DramParams) -> Self {
        Channel {
            banks: vec![Bank::default(); p.banks as usize],
            rq: Vec::new(),
            wq: Vec::new(),
            write_mode: false,
            ca_free: 0,
            data_free: 0,
            rd_ok: 0,
            wr_ok: 0,
            rrd_ok: 0,
            acts: [0; 4],
            n_acts: 0,
            refresh_due: p.refi,
            last_write: None,
            hits: vec![false; p.banks as usize],
        }
    }

    fn is_empty(&self) -> bool {
        self.rq.is_empty() && self.wq.is_empty()
    }

    /// Earliest ACT allowed by tFAW: the fourth-last ACT + tFAW.
    fn faw_ok(&self, p: &DramParams) -> u64 {
        if self.n_acts < 4 {
            0
        } else {
            self.acts[(self.n_acts % 4) as usize] + p.faw
        }
    }

    /// Chooses the next command and the clock it issues at (>= now).
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
        for e in q {
            if self.banks[e.bank as usize].open == Some(e.row) {
                self.hits[e.bank as usize] = true;
            }
        }
        let (lat, dir_ok) = if write {
            (p.wr_data_delay(), self.wr_ok)
        } else {
            (p.rl, self.rd_ok)
        };
        let col_floor = now
            .max(self.ca_free)
            .max(dir_ok)
            .max(self.data_free.saturating_sub(lat));
        let act_floor = now.max(self.ca_free).max(self.rrd_ok).max(self.faw_ok(p));
        let mut best: Option<(u64, bool, Cmd)> = None;
        for (idx, e) in q.iter().enumerate() {
            let bank = &self.banks[e.bank as usize];
            let (t, is_col, cmd) = if !f.row_misses || bank.open == Some(e.row) {
                (col_floor.max(bank.col_ok), true, Cmd::Col { write, idx })
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
                (
                    act_floor.max(bank.act_ok),
                    false,
                    Cmd::Act {
                        bank: e.bank,
                        row: e.row,
                    },
                )
            };
            // Earliest first; at equal time row hits first; then oldest (queue order).
            let better = match best {
                None => true,
                Some((bt, bcol, _)) => t < bt || (t == bt && is_col && !bcol),
            };
            if better {
                best = Some((t, is_col, cmd));
            }
        }
        let regular = best.map(|(t, _, c)| (t, c));
        if !f.refresh || regular.is_some_and(|(t, _)| t < self.refresh_due) {
            return regular;
        }
        // Refresh is due before the next regular command could issue.
        let due = now.max(self.refresh_due).max(self.ca_free);
        if f.row_misses && self.banks.iter().any(|b| b.open.is_some()) {
            let t = self
                .banks
                .iter()
                .filter(|b| b.open.is_some())
                .map(|b| b.pre_ok)
                .fold(due, u64::max);
            Some((t, Cmd::PreAll))
        } else {
            let t = self.banks.iter().map(|b| b.act_ok).fold(due, u64::max);
            Some((t, Cmd::Ref))
        }
    }

    /// Issues `cmd` at `t`; returns `Some((request, data_end, write))` for a column command.
    fn issue(
        &mut self,
        t: u64,
        cmd: Cmd,
        p: &DramParams,
        f: DramFeatures,
        s: &mut DramStats,
    ) -> Option<(u32, u64, bool)> {
        match cmd {
            Cmd::Act { bank, row } => {
                let b = &mut self.banks[bank as usize];
                b.open = Some(row);
                b.col_ok = t + p.rcd;
                b.pre_ok = t + p.ras;
                self.rrd_ok = t + p.rrd;
                self.acts[(self.n_acts % 4) as usize] = t;
                self.n_acts += 1;
                self.ca_free = t + CA_TWO_PART;
                s.activates += 1;
                None
            }
            Cmd::Pre { bank } => {
                let b = &mut self.banks[bank as usize];
                b.open = None;
                b.act_ok = b.act_ok.max(t + p.rp);
                self.ca_free = t + CA_ONE_PART;
                s.precharges += 1;
                None
            }
            Cmd::PreAll => {
                for b in &mut self.banks {
                    b.open = None;
                    b.act_ok = b.act_ok.max(t + p.rpab);
                }
                self.ca_free = t + CA_ONE_PART;
                None
            }
            Cmd::Ref => {
                for b in &mut self.banks {
                    b.act_ok = t + p.rfc;
                    b.col_ok = t + p.rfc;
                }
                self.refresh_due += p.refi;
                self.ca_free = t + CA_ONE_PART;
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
                    self.wr_ok = t + p.ccd;
                    let turn = if f.turnaround { p.wr_to_rd() } else { 0 };
                    self.rd_ok = self.rd_ok.max(t + turn);
                    s.write_bytes += p.burst_bytes as u64;
                    t + p.wr_data_delay()
                } else {
                    b.pre_ok = b.pre_ok.max(t + p.rd_to_pre());
                    self.rd_ok = t + p.ccd;
                    let turn = if f.turnaround { p.rtw } else { 0 };
                    self.wr_ok = self.wr_ok.max(t + turn);
                    s.read_bytes += p.burst_bytes as u64;
                    t + p.rl
                };
                if self.last_write.is_some_and(|w| w != write) {
                    s.turnarounds += 1;
                }
                self.last_write = Some(write);
                self.data_free = start + p.burst_nck;
                self.ca_free = t + CA_TWO_PART;
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
pub fn simulate(
    p: &DramParams,
    map: &AddressMapping,
    f: DramFeatures,
    cfg: &ControllerConfig,
    requests: impl IntoIterator<Item = Request>,
) -> DramRun {
    let nch = p.channels as usize;
    let mut chans: Vec<Channel> = (0..nch).map(|_| Channel::new(p)).collect();
    let mut cached: Vec<Option<Option<(u64, Cmd)>>> = vec![None; nch];
    let mut src = requests.into_iter().peekable();
    let mut stats = DramStats::default();
    let mut remaining: Vec<u32> = Vec::new();
    let mut arrival: Vec<u64> = Vec::new();
    let mut completion: Vec<u64> = Vec::new();
    let mut per_ch = vec![0usize; nch];
    let bb = p.burst_bytes as u64;
    let mut now = 0u64;
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
            let id = remaining.len() as u32;
            for burst in first..=last {
                let loc = map.locate(burst * bb);
                let ch = &mut chans[loc.channel as usize];
                let e = Entry {
                    req: id,
                    bank: loc.bank,
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
                now = t;
                let Some(Some((_, cmd))) = cached[c].take() else {
                    unreachable!("cached command present")
                };
                if let Some((req, end, write)) = chans[c].issue(t, cmd, p, f, &mut stats) {
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
    DramRun {
        stats,
        completion_nck: completion,
    }
}
