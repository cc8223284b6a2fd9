//! One test per `[dram.controller]` key, each against a hand-derived figure, plus the
//! progress guarantees (refresh that can never starve access, the watchdog). Clocks of
//! LPDDR4-3200 as in `tests.rs`: tRCD = tRP = 29, tRAS = 68, RL = 28, burst 8 clocks.

use super::*;
use crate::hw::{DramTiming, HwConfig};

const NO_REFRESH: DramFeatures = DramFeatures {
    refresh: false,
    turnaround: true,
    row_misses: true,
};

/// One x16 channel at 3200 MT/s with `timing`, `ranks` ranks of `timing.banks` banks.
fn channel(timing: &DramTiming, ranks: u32) -> (DramParams, AddressMapping) {
    let mut p = DramParams::from_timing(3200.0, 16, 1, timing);
    p.ranks = ranks;
    let m = AddressMapping::with(1, ranks, p.banks, p.page_bytes, 256);
    (p, m)
}

fn sim(
    (p, m): &(DramParams, AddressMapping),
    f: DramFeatures,
    cfg: &ControllerConfig,
    reqs: impl IntoIterator<Item = Request>,
) -> DramRun {
    simulate(p, m, f, cfg, reqs).unwrap()
}

fn random(m: &AddressMapping, n: u64, bytes: u32, rf: f64) -> impl Iterator<Item = Request> {
    stream(m, Pattern::Random, n, bytes, rf, 11)
}

#[test]
fn queue_depth_one_serves_requests_in_order() {
    // With one queue entry there is nothing to reorder: completions follow submission.
    // With 32 entries FR-FCFS serves later row hits first, so some request finishes
    // before an earlier one.
    let d = channel(&DramTiming::default(), 1);
    let one = ControllerConfig {
        queue_depth: 1,
        write_high: 1,
        write_low: 0,
        ..Default::default()
    };
    let r = sim(&d, NO_REFRESH, &one, random(&d.1, 2000, 32, 1.0));
    assert!(r.completion_nck.windows(2).all(|w| w[0] < w[1]));
    // In order and one at a time: each random read is PRE (if another row is open) +
    // ACT + RD + data, at least tRCD + RL + burst = 65 clocks apart from the previous.
    assert!(r.stats.cycles >= 2000 * 65, "{}", r.stats.cycles);
    let deep = sim(
        &d,
        NO_REFRESH,
        &ControllerConfig::default(),
        random(&d.1, 2000, 32, 1.0),
    );
    assert!(deep.completion_nck.windows(2).any(|w| w[0] > w[1]));
    assert!(deep.stats.efficiency(&d.0) > 2.0 * r.stats.efficiency(&d.0));
}

#[test]
fn ca_occupancy_sets_the_command_bound_of_random_reads() {
    // Random 32 B reads, one channel with 32 banks (tRC / 32 = 3 clocks), tRRD at its
    // 4-clock floor and no tFAW: each burst needs PRE + ACT + RD on the CA bus and
    // carries 8 data clocks. With N clocks per command the bound is 8 / 3N: N = 4 ->
    // 66.7%, N = 3 -> 88.9%; JESD209-4 occupancy (4 + 4 + 2 = 10) -> 80%; N = 1 -> the
    // data bus (100%).
    let t = DramTiming {
        banks: 32,
        t_rrd_ns: 0.0,
        t_faw_ns: 0.0,
        ..Default::default()
    };
    let d = channel(&t, 1);
    let eff = |ca_nck| {
        let cfg = ControllerConfig {
            ca_nck,
            ..Default::default()
        };
        let r = sim(&d, NO_REFRESH, &cfg, random(&d.1, 20_000, 32, 1.0));
        assert!(r.stats.row_hit_rate() < 0.01);
        r.stats.efficiency(&d.0)
    };
    let (e4, e3, jedec, e1) = (eff(4), eff(3), eff(0), eff(1));
    for (e, bound) in [(e4, 8.0 / 12.0), (e3, 8.0 / 9.0), (jedec, 0.8)] {
        // The first ACT needs no PRE and the last burst's PRE never comes: +0.1% at most.
        assert!(e <= bound + 1e-3 && e > bound - 0.02, "{e} vs {bound}");
    }
    assert!(((e3 / e4) - 12.0 / 9.0).abs() < 0.03, "{e3} / {e4}");
    assert!(e1 > 0.9, "{e1}");
}

#[test]
fn two_ranks_double_the_activate_rate_allowed_by_tfaw() {
    // Random 32 B reads, one ACT per burst; tFAW = 80 ns = 128 clocks allows 4 ACTs per
    // 128 clocks per rank: one burst (8 clocks) per 32 -> 25%. A second rank has its own
    // window: 50%. (CA bound 80%, tRC / 8 banks = 12 clocks: neither binds.)
    let t = DramTiming {
        t_faw_ns: 80.0,
        ..Default::default()
    };
    let cfg = ControllerConfig::default();
    let one = channel(&t, 1);
    let two = channel(&t, 2);
    let r1 = sim(&one, NO_REFRESH, &cfg, random(&one.1, 20_000, 32, 1.0));
    let r2 = sim(&two, NO_REFRESH, &cfg, random(&two.1, 20_000, 32, 1.0));
    let (e1, e2) = (r1.stats.efficiency(&one.0), r2.stats.efficiency(&two.0));
    // (+0.1%: the first four ACTs need not wait for a window.)
    assert!(e1 <= 0.25 + 1e-3 && e1 > 0.24, "one rank {e1}");
    assert!(e2 <= 0.5 + 1e-3 && e2 > 0.46, "two ranks {e2}");
    // ACTs per clock: 4 / tFAW per rank.
    let rate = |r: &DramRun| r.stats.activates as f64 / r.stats.cycles as f64;
    assert!(rate(&r1) <= 4.0 / 128.0 + 1e-4);
    assert!(rate(&r2) > 1.8 * rate(&r1) && rate(&r2) <= 8.0 / 128.0 + 1e-4);
}

#[test]
fn rank_switch_costs_trtrs_between_bursts_of_different_ranks() {
    // Two reads to open rows of different ranks, both arriving once the rows are open:
    // the second burst's data waits tRTRS after the first's. One channel: rank 1 starts
    // after 8 banks x 2 KiB = 16 KiB.
    let d = channel(&DramTiming::default(), 2);
    let read = |addr, at| Request {
        addr,
        bytes: 32,
        write: false,
        arrival_nck: at,
    };
    let reqs = [
        read(0, 0),
        read(16384, 0),
        read(32, 1000),
        read(16416, 1000),
    ];
    let r = sim(&d, NO_REFRESH, &ControllerConfig::default(), reqs);
    // At 1000 both rows are open: RD (rank 0) at 1000, data 1028..1036; rank 1's data
    // may start at 1036 + tRTRS = 1037, RD at 1009 (CA free at 1004), done 1045.
    assert_eq!(&r.completion_nck[2..], &[1036, 1045]);
}

#[test]
fn write_watermarks_set_the_turnaround_count() {
    // Sequential 50/50 mix of 64 B requests (tests.rs derives the default): one drain
    // round trip moves (high - low) write bursts and as many reads with two turnarounds,
    // so turnarounds per burst = 1 / (high - low). This holds while the batch is at
    // least the 8 bursts a channel's writes arrive in (four 64 B requests fill one 256 B
    // interleave unit before the stream moves to the next channel).
    let p = DramParams::from_dram(&HwConfig::paper_default().dram);
    let m = AddressMapping::new(p.channels, p.banks, p.page_bytes);
    for (high, low) in [(24, 8), (16, 8), (28, 4)] {
        let cfg = ControllerConfig {
            write_high: high,
            write_low: low,
            ..Default::default()
        };
        let r = simulate(
            &p,
            &m,
            NO_REFRESH,
            &cfg,
            stream(&m, Pattern::Sequential, 40_000, 64, 0.5, 1),
        )
        .unwrap();
        let per_burst = r.stats.turnarounds as f64 / r.stats.bursts as f64;
        let derived = 1.0 / (high - low) as f64;
        assert!(
            (per_burst / derived - 1.0).abs() < 0.05,
            "({high}, {low}): {per_burst} vs {derived}"
        );
    }
}

#[test]
fn refresh_postponement_is_bounded_and_delays_refreshes_by_the_limit() {
    // Saturating sequential reads keep every rank busy, so a refresh is issued only when
    // forced: with postponement N at due + N x tREFI. Refreshes in a run of C clocks:
    // floor(C / tREFI) - N per channel (the last one may fall after the last burst).
    let p = DramParams::from_dram(&HwConfig::paper_default().dram);
    let m = AddressMapping::new(p.channels, p.banks, p.page_bytes);
    for n in [0u64, 1, 4, 8] {
        let cfg = ControllerConfig {
            refresh_postpone: n,
            ..Default::default()
        };
        let r = simulate(
            &p,
            &m,
            DramFeatures::ALL,
            &cfg,
            stream(&m, Pattern::Sequential, 60_000, 256, 1.0, 1),
        )
        .unwrap();
        assert_eq!(r.stats.postponed_max, n, "postponement {n}");
        let per_ch = (r.stats.cycles / p.refi) as i64 - n as i64;
        let expected = per_ch * p.channels as i64;
        let got = r.stats.refreshes as i64;
        assert!(
            got <= expected && got >= expected - p.channels as i64,
            "postponement {n}: {got} refreshes vs {expected}"
        );
    }
}

#[test]
fn interleave_granularity_splits_a_request_over_channels() {
    // One 256 B read on an idle 4-channel device. 256 B interleave: 8 bursts on one
    // channel, RD at 29, 37, ..., 85, done 85 + 28 + 8 = 121. 64 B interleave: 2 bursts
    // on each channel, done 37 + 36 = 73.
    let p = DramParams::from_dram(&HwConfig::paper_default().dram);
    let read = Request {
        addr: 0,
        bytes: 256,
        write: false,
        arrival_nck: 0,
    };
    let cfg = ControllerConfig::default();
    for (il, done) in [(256, 121), (64, 73)] {
        let m = AddressMapping::with(4, 1, 8, 2048, il);
        let r = simulate(&p, &m, DramFeatures::ALL, &cfg, [read]).unwrap();
        assert_eq!(r.completion_nck, vec![done], "interleave {il}");
    }
}

#[test]
fn absurd_data_rates_finish_instead_of_livelocking() {
    // At 5 MT/s (tCK 400 ns) tREFI = ceil(3904 / 400) = 10 clocks, and REF (CA 2) +
    // ACT (CA 4) + tRCD (4) filled it exactly: the row opened after each refresh was
    // precharged for the next one before its column command, for ever. 1, 2, 3 MT/s have
    // tREFI of 2, 4, 6 clocks. Each run must retire every request.
    for rate in [1.0, 2.0, 3.0, 5.0, 4.0, 6.0] {
        let p = DramParams::from_timing(rate, 16, 1, &DramTiming::default());
        let m = AddressMapping::new(1, p.banks, p.page_bytes);
        if rate == 5.0 {
            assert_eq!((p.refi, p.rfc, p.rcd), (10, 1, 4));
        }
        for rf in [1.0, 0.5] {
            let r = simulate(
                &p,
                &m,
                DramFeatures::ALL,
                &ControllerConfig::default(),
                stream(&m, Pattern::Random, 300, 64, rf, 3),
            )
            .unwrap();
            assert_eq!(r.stats.requests, 300, "{rate} MT/s, read fraction {rf}");
        }
    }
}

#[test]
fn refresh_filling_trefi_still_lets_each_interval_serve_an_access() {
    // tRFC = 3900 (or 3840) ns of tREFI = 3904 ns: 6240 of 6247 clocks. Refresh holds
    // nothing back until a column command has issued since the last REF, so every
    // interval serves at least one burst and the run finishes.
    for rfc in [3900.0, 3840.0] {
        let t = DramTiming {
            t_rfc_ns: rfc,
            ..Default::default()
        };
        let d = channel(&t, 1);
        let r = sim(
            &d,
            DramFeatures::ALL,
            &ControllerConfig::default(),
            random(&d.1, 3000, 64, 0.5),
        );
        assert_eq!(r.stats.requests, 3000);
        // Nearly all time is refresh: a few bursts per tREFI after the first interval.
        assert!(
            r.stats.efficiency(&d.0) < 0.1,
            "{}",
            r.stats.efficiency(&d.0)
        );
    }
}

#[test]
fn watchdog_stops_a_run_that_retires_nothing() {
    // A read to a closed bank retires its burst tRCD + ... after admission: a 10-clock
    // watchdog must fire, naming the channel and its queue.
    let d = channel(&DramTiming::default(), 1);
    let cfg = ControllerConfig {
        watchdog_nck: 10,
        ..Default::default()
    };
    let err = simulate(
        &d.0,
        &d.1,
        DramFeatures::ALL,
        &cfg,
        random(&d.1, 10, 64, 1.0),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("watchdog"), "{err}");
    assert!(err.contains("channel 0 queue holds"), "{err}");
}

#[test]
fn probe_reports_unloaded_latency_of_a_closed_bank_read() {
    // Unloaded random 64 B reads mostly find their bank closed or idle: the median is
    // ACT + tRCD + RL + 2 bursts = 29 + 28 + 16 = 73 clocks = 45.6 ns; a row conflict
    // adds tRP (29 clocks).
    let spec = ProbeSpec {
        requests: 4000,
        ..Default::default()
    };
    let r = probe(&HwConfig::paper_default().dram, &spec).unwrap();
    assert!(
        (r.unloaded.p50_ns - 73.0 * 0.625).abs() < 1e-9,
        "{:?}",
        r.unloaded
    );
    assert!(r.unloaded.mean_ns >= r.unloaded.p50_ns);
    assert!(r.loaded.mean_ns > r.unloaded.mean_ns);
    assert!(r.efficiency > 0.5 && r.efficiency < 0.95);
    assert!((r.achieved_gbps - r.efficiency * r.peak_gbps).abs() < 1e-6);
    // Bad spec: names the flag and range.
    let bad = ProbeSpec {
        request_bytes: 48,
        ..spec
    };
    let e = probe(&HwConfig::paper_default().dram, &bad)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("--request-bytes") && e.contains("[32, 4096]"),
        "{e}"
    );
}
