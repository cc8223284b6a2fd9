//! The discrete-event core: steps are cut into SRAM-sized chunks that flow through six
//! engines; an event queue (a binary heap of timestamped events) jumps from one
//! completion to the next, so idle time costs nothing.
//!
//! Pipeline per chunk `g` (chunks numbered globally in step order):
//! - DMA DRAM->SRAM of chunk `g` may start once the array has finished chunk
//!   `g - depth` (its buffer slot is free) and, for a step's first chunk, once the steps
//!   it depends on have stored their last chunk;
//! - the array computes chunk `g` once its load is done, the vector unit has finished
//!   chunk `g - 1` (vector ops sit between GEMMs in a square's dependency chain, so
//!   compute time is array + vector, as in the analytic model) and the store of chunk
//!   `g - depth` has drained (its output slot is free);
//! - the vector unit post-processes chunk `g` after the array;
//! - DMA SRAM->DRAM and DRAM->SSD of chunk `g` follow the vector unit.
//!
//! SSD traffic is staging for other steps, so it is coupled per step, not per chunk:
//! step s's SSD->DRAM prefetch runs while step s computes (from the end of step s - 1)
//! and must land before step s + 1 starts; step s's write-back must also finish before
//! step s + 1 starts (one staging region per step in DRAM).
//!
//! Without prefetching (`overlap` off) every step is one chunk whose parts run in
//! sequence: SSD read, load, compute, vector, store, SSD write.
//!
//! Each engine works on one chunk at a time, in order. Compute takes its cycles;
//! transfers are fluid flows whose rates are re-divided whenever a flow starts or ends:
//! with a shared bus, all DRAM-side flows split the LPDDR4 bandwidth (times the
//! efficiency of their read/write mix) by water-filling, each capped by its own link
//! (SSD bandwidth, SRAM port); with independent links each flow gets its link alone.
//! SSD reads and writes share one SSD link in time unless the hardware file says
//! `ssd.full_duplex = true`.

use super::machine::Machine;
use super::options::SimOptions;
use super::step::{Engine, SimStep};
use crate::error::Error;
use serde::Serialize;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

const NOT_DONE: u64 = u64::MAX;
/// Chunk size of steps that do not state a tile footprint: a 4 KiB DMA page.
const STREAM_CHUNK_BYTES: u64 = 4096;
const N: usize = 6;

/// Why an engine was idle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StallReason {
    /// Waiting for its input (a load, or the upstream compute) to finish.
    Input,
    /// Waiting for a free SRAM (or staging) buffer slot: a capacity stall.
    BufferFull,
    /// Waiting for a depended-on step's data to reach DRAM.
    Dependency,
    /// Nothing left to do (before its first or after its last chunk).
    Idle,
}

impl StallReason {
    /// All reasons, in report order.
    pub const ALL: [StallReason; 4] = [
        StallReason::Input,
        StallReason::BufferFull,
        StallReason::Dependency,
        StallReason::Idle,
    ];
}

/// A step's busy span on one engine (first chunk start to last chunk end).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Span {
    /// Engine.
    pub engine: Engine,
    /// Step index.
    pub step: u32,
    /// Start cycle.
    pub start: u64,
    /// End cycle.
    pub end: u64,
}

/// Raw result of one replay.
#[derive(Debug, Clone, Default)]
pub struct RawRun {
    /// Total cycles.
    pub cycles: u64,
    /// Events processed.
    pub events: u64,
    /// Chunks simulated.
    pub chunks: u64,
    /// Busy cycles per engine.
    pub busy: [u64; N],
    /// Stall cycles per engine and [`StallReason`].
    pub stall: [[u64; 4]; N],
    /// Extra cycles transfers took beyond their uncontended ideal link time.
    pub bandwidth_loss: [u64; N],
    /// Work per engine (bytes or cycles).
    pub work: [u64; N],
    /// Busy spans per (engine, step).
    pub spans: Vec<Span>,
    /// Busy intervals per engine: each chunk's busy time (a transfer from its start to
    /// its end, compute for its work cycles), chunks of one step that follow each other
    /// without a gap joined; sorted by engine then start. Per engine they sum to
    /// [`RawRun::busy`] exactly.
    pub busy_spans: Vec<Span>,
    /// SRAM occupancy change points (cycle, bytes).
    pub sram_occupancy: Vec<(u64, u64)>,
    /// DRAM occupancy change points (cycle, bytes): each step's resident bytes (which
    /// include its staging regions), set when the array starts the step.
    pub dram_occupancy: Vec<(u64, u64)>,
    /// SSD occupancy change points (cycle, bytes).
    pub ssd_occupancy: Vec<(u64, u64)>,
}

struct Chunk {
    step: u32,
    work: [u64; N],
    first: bool,
    /// SRAM held by the chunk's inputs and outputs: a chunk standing for several tiles
    /// (a step with more tiles than `max_chunks_per_step`) holds one tile at a time.
    sram_in: u64,
    sram_out: u64,
}

#[derive(Clone, Copy, Default)]
struct Flow {
    remaining: f64,
    rate: f64,
    last: u64,
    active: bool,
    version: u64,
    total: f64,
    started: u64,
}

#[derive(Clone, Copy)]
struct EngState {
    next: usize,
    running: Option<usize>,
    idle_since: u64,
    reason: StallReason,
    span: Option<Span>,
    /// The busy interval being extended (flushed to `busy_spans` at a gap or a new step).
    busy_span: Option<Span>,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Done,
    Activate,
}

type Event = Reverse<(u64, u64, Kind, usize, u64)>;

fn cut(steps: &[SimStep], m: &Machine, o: &SimOptions) -> (Vec<Chunk>, Vec<usize>) {
    // Steps without a mapper tile (element-wise streams such as the optimizer update)
    // stream in DMA-page-sized chunks, bounded by the SRAM share of one buffer.
    let default_tile =
        STREAM_CHUNK_BYTES.min((m.sram_capacity / o.buffer_depth.max(1) as u64).max(1));
    let mut chunks = Vec::new();
    let mut last_of = Vec::with_capacity(steps.len());
    for (s, st) in steps.iter().enumerate() {
        let sram_bytes = st.get(Engine::DmaIn) + st.get(Engine::DmaOut);
        let tile = if st.sram_tile_bytes > 0 {
            st.sram_tile_bytes
        } else {
            default_tile
        };
        let k = if o.overlap {
            sram_bytes
                .div_ceil(tile)
                .clamp(1, o.max_chunks_per_step.max(1))
        } else {
            1
        };
        let (din, dout) = (st.get(Engine::DmaIn), st.get(Engine::DmaOut));
        let share = |b: u64| (tile as u128 * b as u128 / sram_bytes.max(1) as u128) as u64;
        for c in 0..k {
            let mut work = [0u64; N];
            for (e, w) in work.iter_mut().enumerate() {
                let t = st.work[e] as u128;
                *w = (t * (c as u128 + 1) / k as u128 - t * c as u128 / k as u128) as u64;
            }
            chunks.push(Chunk {
                step: s as u32,
                work,
                first: c == 0,
                sram_in: work[Engine::DmaIn.idx()].min(share(din).max(1)),
                sram_out: work[Engine::DmaOut.idx()].min(share(dout).max(1)),
            });
        }
        last_of.push(chunks.len() - 1);
    }
    (chunks, last_of)
}

struct Sim<'a> {
    m: &'a Machine,
    o: &'a SimOptions,
    steps: &'a [SimStep],
    chunks: Vec<Chunk>,
    last_of: Vec<usize>,
    done: Vec<[u64; N]>,
    eng: [EngState; N],
    flows: [Flow; N],
    heap: BinaryHeap<Event>,
    seq: u64,
    now: u64,
    out: RawRun,
    sram: u64,
    resident: u64,
    /// Last cycle at which an engine finished a chunk (the watchdog's reference).
    retired_at: u64,
}

impl<'a> Sim<'a> {
    fn push(&mut self, t: u64, kind: Kind, e: usize, version: u64) {
        self.seq += 1;
        self.heap.push(Reverse((t, self.seq, kind, e, version)));
    }

    fn done_at(&self, g: usize, e: Engine) -> bool {
        self.done[g][e.idx()] != NOT_DONE
    }

    /// Checks whether engine `e` may start chunk `g` now.
    fn ready(&self, e: Engine, g: usize) -> Result<(), StallReason> {
        if !self.o.overlap {
            return self.ready_serial(e, g);
        }
        let d = self.o.buffer_depth.max(1);
        let fb = self.o.finite_buffers;
        let c = &self.chunks[g];
        let s = c.step as usize;
        match e {
            Engine::DmaIn => {
                if fb && g >= d && !self.done_at(g - d, Engine::Array) {
                    return Err(StallReason::BufferFull);
                }
                self.deps_stored(g)
            }
            Engine::SsdIn => {
                // Prefetch for step s runs while step s computes: it may start once the
                // array has finished step s - 1 (the staging slot step s - 1 used is free).
                if s >= 1 && !self.done_at(self.last_of[s - 1], Engine::Array) {
                    return Err(StallReason::BufferFull);
                }
                Ok(())
            }
            Engine::Array => {
                if !self.done_at(g, Engine::DmaIn) {
                    return Err(StallReason::Input);
                }
                // Vector ops sit between GEMMs in a square's dependency chain: the array
                // does not run ahead of the vector unit.
                if g >= 1 && !self.done_at(g - 1, Engine::Vector) {
                    return Err(StallReason::Input);
                }
                if c.first && s >= 1 {
                    // Step s - 1's prefetch must have landed, and its write-back drained
                    // (a staging region per step), before step s starts.
                    let prev = self.last_of[s - 1];
                    if !self.done_at(prev, Engine::SsdIn) {
                        return Err(StallReason::Input);
                    }
                    if !self.done_at(prev, Engine::SsdOut) {
                        return Err(StallReason::BufferFull);
                    }
                }
                if fb && g >= d && !self.done_at(g - d, Engine::DmaOut) {
                    return Err(StallReason::BufferFull);
                }
                Ok(())
            }
            Engine::Vector => self.after(g, Engine::Array),
            Engine::DmaOut | Engine::SsdOut => self.after(g, Engine::Vector),
        }
    }

    /// Without prefetching a step runs its parts in sequence: SSD read, load, compute,
    /// vector, store, SSD write, then the next step.
    fn ready_serial(&self, e: Engine, g: usize) -> Result<(), StallReason> {
        match e {
            Engine::SsdIn => {
                if g >= 1 {
                    self.after(g - 1, Engine::SsdOut)?;
                }
                self.deps_stored(g)
            }
            Engine::DmaIn => self.after(g, Engine::SsdIn),
            Engine::Array => self.after(g, Engine::DmaIn),
            Engine::Vector => self.after(g, Engine::Array),
            Engine::DmaOut => self.after(g, Engine::Vector),
            Engine::SsdOut => self.after(g, Engine::DmaOut),
        }
    }

    fn after(&self, g: usize, e: Engine) -> Result<(), StallReason> {
        if self.done_at(g, e) {
            Ok(())
        } else {
            Err(StallReason::Input)
        }
    }

    /// A step's first load waits until the steps it depends on have stored their data.
    fn deps_stored(&self, g: usize) -> Result<(), StallReason> {
        let c = &self.chunks[g];
        if self.o.dependency_sync && c.first {
            let s = c.step as usize;
            for &dep in &self.steps[s].deps {
                if dep < s && !self.done_at(self.last_of[dep], Engine::DmaOut) {
                    return Err(StallReason::Dependency);
                }
            }
        }
        Ok(())
    }

    fn sample(series: &mut Vec<(u64, u64)>, t: u64, v: u64) {
        match series.last_mut() {
            Some(last) if last.0 == t => last.1 = v,
            Some(last) if last.1 == v => {}
            _ => series.push((t, v)),
        }
    }

    fn record_dram(&mut self) {
        Self::sample(&mut self.out.dram_occupancy, self.now, self.resident);
    }

    /// Starts every task that can start; returns true if any transfer flow changed.
    fn start_ready(&mut self) -> bool {
        let mut flows_changed = false;
        loop {
            let mut progress = false;
            for e in Engine::ALL {
                let i = e.idx();
                let st = self.eng[i];
                if st.running.is_some() || st.next >= self.chunks.len() {
                    continue;
                }
                let g = st.next;
                if let Err(r) = self.ready(e, g) {
                    self.eng[i].reason = r;
                    continue;
                }
                progress = true;
                let now = self.now;
                let gap = now - st.idle_since;
                let reason = if g == 0 && e != Engine::DmaIn && e != Engine::SsdIn {
                    StallReason::Input
                } else {
                    st.reason
                };
                self.out.stall[i][reason as usize] += gap;
                let work = self.chunks[g].work[i];
                let step = self.chunks[g].step;
                // Occupancy bookkeeping at task start.
                match e {
                    Engine::DmaIn => {
                        self.sram += self.chunks[g].sram_in;
                        Self::sample(&mut self.out.sram_occupancy, now, self.sram);
                    }
                    Engine::Array => {
                        self.sram += self.chunks[g].sram_out;
                        Self::sample(&mut self.out.sram_occupancy, now, self.sram);
                        if self.chunks[g].first {
                            let s = &self.steps[step as usize];
                            if let Some(r) = s.dram_resident_bytes {
                                self.resident = r;
                                self.record_dram();
                            }
                            if let Some(r) = s.ssd_resident_bytes {
                                Self::sample(&mut self.out.ssd_occupancy, now, r);
                            }
                        }
                    }
                    _ => {}
                }
                // Timeline span per (engine, step) with work.
                match &mut self.eng[i].span {
                    _ if work == 0 => {}
                    Some(sp) if sp.step == step => {}
                    slot => {
                        if let Some(sp) = slot.take() {
                            self.out.spans.push(sp);
                        }
                        *slot = Some(Span {
                            engine: e,
                            step,
                            start: now,
                            end: now,
                        });
                    }
                }
                if work == 0 {
                    self.finish(e, g);
                    continue;
                }
                self.eng[i].running = Some(g);
                if e.is_transfer() {
                    let f = &mut self.flows[i];
                    f.remaining = work as f64;
                    f.total = work as f64;
                    f.rate = 0.0;
                    f.last = now;
                    f.started = now;
                    f.version += 1;
                    let latency = self.o.ssd_latency
                        && self.chunks[g].first
                        && matches!(e, Engine::SsdIn | Engine::SsdOut)
                        && self.m.ssd_latency > 0;
                    if latency {
                        f.active = false;
                        let v = f.version;
                        self.push(now + self.m.ssd_latency, Kind::Activate, i, v);
                    } else {
                        f.active = true;
                        flows_changed = true;
                    }
                } else {
                    self.push(now + work, Kind::Done, i, 0);
                }
            }
            if !progress {
                return flows_changed;
            }
        }
    }

    /// Marks chunk `g` of engine `e` finished at `now`.
    fn finish(&mut self, e: Engine, g: usize) {
        let i = e.idx();
        let now = self.now;
        self.retired_at = now;
        self.done[g][i] = now;
        let work = self.chunks[g].work[i];
        self.out.work[i] += work;
        if let Some(sp) = &mut self.eng[i].span
            && work > 0
        {
            sp.end = now;
        }
        match e {
            Engine::Array => {
                self.sram -= self.chunks[g].sram_in;
                Self::sample(&mut self.out.sram_occupancy, now, self.sram);
            }
            Engine::DmaOut => {
                self.sram -= self.chunks[g].sram_out;
                Self::sample(&mut self.out.sram_occupancy, now, self.sram);
            }
            _ => {}
        }
        let st = &mut self.eng[i];
        st.running = None;
        st.next = g + 1;
        st.idle_since = now;
        st.reason = StallReason::Input;
        if st.next >= self.chunks.len() {
            st.reason = StallReason::Idle;
        }
    }

    /// Uncontended ideal rate of a transfer engine (its link alone at DRAM peak).
    fn ideal_rate(&self, e: Engine) -> f64 {
        match e {
            Engine::DmaIn | Engine::DmaOut => self.m.dram_peak.min(self.m.sram_port),
            Engine::SsdIn => self.m.ssd_read,
            Engine::SsdOut => self.m.ssd_write,
            _ => f64::INFINITY,
        }
    }

    /// Re-divides bandwidth among the active flows and reschedules their completions.
    fn rerate(&mut self) {
        let now = self.now;
        let mut active: Vec<usize> = Vec::with_capacity(4);
        for e in Engine::ALL {
            let i = e.idx();
            if e.is_transfer() && self.eng[i].running.is_some() && self.flows[i].active {
                let f = &mut self.flows[i];
                f.remaining = (f.remaining - f.rate * (now - f.last) as f64).max(0.0);
                f.last = now;
                active.push(i);
            }
        }
        // One shared SSD link (not full duplex): while both SSD directions move, each gets
        // half the link's time, so the pair takes `read bytes / read rate + written bytes /
        // write rate` in all, as in the analytic model (any work-conserving split does).
        let ssd_share = if !self.m.ssd_full_duplex
            && active.contains(&Engine::SsdIn.idx())
            && active.contains(&Engine::SsdOut.idx())
        {
            0.5
        } else {
            1.0
        };
        let cap = |e: Engine, m: &Machine| match e {
            Engine::DmaIn | Engine::DmaOut => m.sram_port,
            Engine::SsdIn => m.ssd_read * ssd_share,
            _ => m.ssd_write * ssd_share,
        };
        let mut rates = [0.0f64; N];
        if self.o.shared_bus {
            // Read fraction of the DRAM traffic in flight, weighted by chunk size.
            let (mut rd, mut all) = (0.0, 0.0);
            for &i in &active {
                all += self.flows[i].total;
                if Engine::ALL[i].reads_dram() {
                    rd += self.flows[i].total;
                }
            }
            let bus = self.m.dram_peak * self.m.dram_eff.at(if all > 0.0 { rd / all } else { 1.0 });
            // Water-filling: smallest caps first.
            let mut order = active.clone();
            order.sort_by(|&a, &b| {
                cap(Engine::ALL[a], self.m).total_cmp(&cap(Engine::ALL[b], self.m))
            });
            let mut left = bus;
            let mut n = order.len();
            for &i in &order {
                let share = left / n as f64;
                let r = cap(Engine::ALL[i], self.m).min(share);
                rates[i] = r;
                left -= r;
                n -= 1;
            }
        } else {
            for &i in &active {
                let e = Engine::ALL[i];
                rates[i] = match e {
                    Engine::DmaIn | Engine::DmaOut => {
                        let eff = self.m.dram_eff.at(if e.reads_dram() { 1.0 } else { 0.0 });
                        (self.m.dram_peak * eff).min(self.m.sram_port)
                    }
                    _ => cap(e, self.m),
                };
            }
        }
        for &i in &active {
            let f = &mut self.flows[i];
            f.rate = rates[i].max(1e-12);
            f.version += 1;
            let dt = (f.remaining / f.rate).ceil() as u64;
            let (v, t) = (f.version, now + dt);
            self.push(t, Kind::Done, i, v);
        }
    }

    /// The engines' state for an error: which chunk (and step) each runs or waits for.
    fn stuck(&self, what: &str) -> Error {
        let mut parts = Vec::new();
        for e in Engine::ALL {
            let st = &self.eng[e.idx()];
            if let Some(g) = st.running {
                let step = self.chunks[g].step as usize;
                parts.push(format!(
                    "{} running chunk {g} of step {step} ({}), {:.0} of {} left",
                    e.name(),
                    self.steps[step].label,
                    self.flows[e.idx()].remaining,
                    self.chunks[g].work[e.idx()],
                ));
            } else if st.next < self.chunks.len() {
                let step = self.chunks[st.next].step as usize;
                parts.push(format!(
                    "{} waiting ({:?}) for chunk {} of step {step} ({})",
                    e.name(),
                    st.reason,
                    st.next,
                    self.steps[step].label,
                ));
            }
        }
        Error::Other(format!(
            "simulation watchdog: {what} at cycle {} (last chunk finished at cycle {}); engines: {}",
            self.now,
            self.retired_at,
            parts.join("; ")
        ))
    }

    fn run(mut self) -> crate::Result<RawRun> {
        if self.start_ready() {
            self.rerate();
        }
        while let Some(Reverse((t, _, kind, i, version))) = self.heap.pop() {
            let e = Engine::ALL[i];
            if e.is_transfer() && version != self.flows[i].version {
                continue;
            }
            if t.saturating_sub(self.retired_at) > self.o.watchdog_cycles {
                self.now = t;
                return Err(self.stuck(&format!(
                    "no chunk finished for more than {} cycles",
                    self.o.watchdog_cycles
                )));
            }
            self.out.events += 1;
            self.now = t;
            let mut flows_changed = false;
            match kind {
                Kind::Activate => {
                    self.flows[i].active = true;
                    self.flows[i].last = t;
                    flows_changed = true;
                }
                Kind::Done => {
                    let Some(g) = self.eng[i].running else {
                        continue;
                    };
                    if e.is_transfer() {
                        let f = self.flows[i];
                        let ideal = (f.total / self.ideal_rate(e)).ceil() as u64;
                        self.out.bandwidth_loss[i] += (t - f.started).saturating_sub(ideal);
                        self.flows[i].version += 1;
                        flows_changed = true;
                    }
                    let busy = if e.is_transfer() {
                        t - self.flows[i].started
                    } else {
                        self.chunks[g].work[i]
                    };
                    self.out.busy[i] += busy;
                    let step = self.chunks[g].step;
                    record_busy(
                        &mut self.eng[i].busy_span,
                        &mut self.out.busy_spans,
                        e,
                        step,
                        t - busy,
                        t,
                    );
                    self.finish(e, g);
                }
            }
            flows_changed |= self.start_ready();
            if flows_changed {
                self.rerate();
            }
        }
        if self.eng.iter().any(|st| st.next < self.chunks.len()) {
            return Err(self.stuck("no event left but chunks unfinished"));
        }
        let end = self.now;
        self.out.cycles = end;
        for e in Engine::ALL {
            let i = e.idx();
            let st = self.eng[i];
            self.out.stall[i][StallReason::Idle as usize] += end - st.idle_since;
            if let Some(sp) = st.span {
                self.out.spans.push(sp);
            }
            self.out.busy_spans.extend(st.busy_span);
        }
        self.out.spans.sort_by_key(|s| (s.engine, s.start));
        self.out.busy_spans.sort_by_key(|s| (s.engine, s.start));
        self.out.chunks = self.chunks.len() as u64;
        Ok(self.out)
    }
}

/// Adds the busy interval `[start, end)` of `engine` on `step`: extends `open` when it is
/// the same step and starts where `open` ends, else flushes `open` into `out`.
fn record_busy(
    open: &mut Option<Span>,
    out: &mut Vec<Span>,
    engine: Engine,
    step: u32,
    start: u64,
    end: u64,
) {
    if end == start {
        return;
    }
    match open {
        Some(sp) if sp.step == step && sp.end == start => sp.end = end,
        _ => {
            out.extend(open.take());
            *open = Some(Span {
                engine,
                step,
                start,
                end,
            });
        }
    }
}

/// Replays `steps` on the machine. Deterministic.
///
/// # Errors
/// [`Error::Other`] from the watchdog, naming each engine's chunk, step and stall
/// reason, when simulated time advances by more than `o.watchdog_cycles` without a
/// chunk finishing, or when the events run out before every chunk has finished.
pub fn replay(steps: &[SimStep], m: &Machine, o: &SimOptions) -> crate::Result<RawRun> {
    let (chunks, last_of) = cut(steps, m, o);
    let n = chunks.len();
    let idle = EngState {
        next: 0,
        running: None,
        idle_since: 0,
        reason: StallReason::Input,
        span: None,
        busy_span: None,
    };
    let sim = Sim {
        m,
        o,
        steps,
        chunks,
        last_of,
        done: vec![[NOT_DONE; N]; n],
        eng: [idle; N],
        flows: [Flow::default(); N],
        heap: BinaryHeap::with_capacity(64),
        seq: 0,
        now: 0,
        out: RawRun::default(),
        sram: 0,
        resident: 0,
        retired_at: 0,
    };
    sim.run()
}
