//! Chrome / Perfetto trace (Trace Event Format JSON) of a simulation.
//!
//! Process 1, `engines (busy)`: one thread per engine with a complete event (`"ph":"X"`)
//! per busy interval (`Simulation::busy_spans`), named by its step (`L12 bwd mb0-3`), so
//! the slices of an engine add up to the busy time the report's utilisation counts; and
//! counter tracks (`"ph":"C"`) for SRAM and DRAM occupancy. Process 2, `step windows`:
//! each step from its first engine starting to its last finishing, on as many lanes
//! (threads) as overlapping steps need. Opens in ui.perfetto.dev and chrome://tracing.
//! Timestamps are microseconds, as the format requires.

use super::gantt::{lanes, step_windows};
use super::report::{Simulation, downsample};
use super::step::Engine;
use serde_json::{Value, json};

/// Counter samples per occupancy track (bucket maxima), to keep traces of long runs small.
const COUNTER_SAMPLES: usize = 4096;

/// Process id of the engines' busy intervals.
pub const ENGINES_PID: u64 = 1;
/// Process id of the step windows.
pub const STEPS_PID: u64 = 2;

/// Builds the trace document.
pub fn trace_json(sim: &Simulation, title: &str) -> Value {
    let us = |cycles: u64| cycles as f64 / sim.clock_hz * 1e6;
    let label = |step: u32| sim.labels.get(step as usize).map_or("", String::as_str);
    let windows = step_windows(&sim.spans);
    let lane = lanes(&windows);
    let mut ev: Vec<Value> =
        Vec::with_capacity(sim.busy_spans.len() + windows.len() + 2 * COUNTER_SAMPLES + 16);
    for (pid, name) in [
        (ENGINES_PID, format!("{title}: engines (busy)")),
        (STEPS_PID, format!("{title}: step windows")),
    ] {
        ev.push(
            json!({"name": "process_name", "ph": "M", "pid": pid, "tid": 0,
                       "args": {"name": name}}),
        );
        ev.push(
            json!({"name": "process_sort_index", "ph": "M", "pid": pid, "tid": 0,
                       "args": {"sort_index": pid}}),
        );
    }
    for e in Engine::ALL {
        let tid = e.idx() + 1;
        ev.push(
            json!({"name": "thread_name", "ph": "M", "pid": ENGINES_PID, "tid": tid,
                       "args": {"name": e.name()}}),
        );
        ev.push(
            json!({"name": "thread_sort_index", "ph": "M", "pid": ENGINES_PID, "tid": tid,
                       "args": {"sort_index": tid}}),
        );
    }
    for sp in &sim.busy_spans {
        ev.push(json!({
            "name": label(sp.step),
            "cat": sp.engine.name(),
            "ph": "X",
            "ts": us(sp.start),
            "dur": us(sp.end - sp.start),
            "pid": ENGINES_PID,
            "tid": sp.engine.idx() + 1,
            "args": {"step": sp.step}
        }));
    }
    let n_lanes = lane.iter().max().map_or(0, |l| l + 1);
    for l in 0..n_lanes {
        let name = if l == 0 {
            "steps".to_string()
        } else {
            format!("steps ({})", l + 1)
        };
        ev.push(
            json!({"name": "thread_name", "ph": "M", "pid": STEPS_PID, "tid": l + 1,
                       "args": {"name": name}}),
        );
        ev.push(
            json!({"name": "thread_sort_index", "ph": "M", "pid": STEPS_PID,
                       "tid": l + 1, "args": {"sort_index": l + 1}}),
        );
    }
    for (&(step, a, b), &l) in windows.iter().zip(&lane) {
        ev.push(json!({
            "name": label(step),
            "cat": "step",
            "ph": "X",
            "ts": us(a),
            "dur": us(b - a),
            "pid": STEPS_PID,
            "tid": l + 1,
            "args": {"step": step}
        }));
    }
    let cycles = sim.report.cycles;
    for (name, points) in [
        ("sram_bytes", &sim.sram_points),
        ("dram_bytes", &sim.dram_points),
    ] {
        for s in downsample(points, cycles, COUNTER_SAMPLES) {
            ev.push(
                json!({"name": name, "ph": "C", "ts": us(s.cycle), "pid": ENGINES_PID,
                           "args": {"bytes": s.bytes}}),
            );
        }
    }
    json!({"traceEvents": ev, "displayTimeUnit": "ns"})
}

/// Writes the trace to `path` atomically.
pub fn write_trace(sim: &Simulation, title: &str, path: &std::path::Path) -> crate::Result<()> {
    let v = trace_json(sim, title);
    let bytes =
        serde_json::to_vec(&v).map_err(|e| crate::Error::Other(format!("trace JSON: {e}")))?;
    crate::io_util::write_atomic(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hw::HwConfig;
    use crate::sim::{SimOptions, SimStep, simulate};

    #[test]
    fn trace_parses_and_events_nest_per_engine() {
        let steps: Vec<SimStep> = (0..8)
            .map(|i| SimStep {
                label: format!("L{i}.fwd"),
                work: [
                    2_000_000,
                    40_000 + 10_000 * i,
                    3_000,
                    500_000,
                    100_000 * (i % 2),
                    0,
                ],
                deps: if i > 0 { vec![i as usize - 1] } else { vec![] },
                ..Default::default()
            })
            .collect();
        let sim = simulate(&HwConfig::paper_default(), &steps, &SimOptions::full()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json");
        write_trace(&sim, "test", &path).unwrap();
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let events = v["traceEvents"].as_array().unwrap();
        let mut last_end = [f64::NEG_INFINITY; 7];
        let mut per_tid = [0usize; 7];
        for e in events
            .iter()
            .filter(|e| e["ph"] == "X" && e["pid"] == ENGINES_PID)
        {
            for k in ["name", "ts", "dur", "pid", "tid"] {
                assert!(!e[k].is_null(), "missing {k}");
            }
            let tid = e["tid"].as_u64().unwrap() as usize;
            let ts = e["ts"].as_f64().unwrap();
            let dur = e["dur"].as_f64().unwrap();
            assert!(dur >= 0.0);
            // Events of one engine never overlap (each engine does one thing at a time).
            assert!(ts >= last_end[tid] - 1e-9, "overlap on tid {tid}");
            last_end[tid] = ts + dur;
            per_tid[tid] += 1;
        }
        // The array computed all 8 steps; the SSD read engine only the odd ones.
        let steps_on = |e: Engine| {
            let mut s: Vec<u64> = events
                .iter()
                .filter(|x| {
                    x["ph"] == "X" && x["pid"] == ENGINES_PID && x["tid"] == e.idx() as u64 + 1
                })
                .map(|x| x["args"]["step"].as_u64().unwrap())
                .collect();
            s.dedup();
            s.len()
        };
        assert_eq!(steps_on(Engine::Array), 8);
        assert_eq!(steps_on(Engine::SsdIn), 4);
        assert!(per_tid[Engine::Array.idx() + 1] >= 8);
        // One step window per step, on the steps process.
        let windows = events
            .iter()
            .filter(|e| e["ph"] == "X" && e["pid"] == STEPS_PID)
            .count();
        assert_eq!(windows, 8);
        assert!(
            events
                .iter()
                .any(|e| e["ph"] == "C" && e["name"] == "sram_bytes")
        );
        // The trace ends when the simulation does.
        let end_us = sim.report.cycles as f64 / 1e3;
        assert!(last_end.iter().all(|&t| t <= end_us + 1e-6));
    }

    /// The slices of each engine add up to the busy time the report counts (within
    /// 0.1%), and the DMA's slices cover much less than its step windows when it idles.
    #[test]
    fn slices_sum_to_the_reported_busy_time() {
        let steps: Vec<SimStep> = (0..12)
            .map(|i| SimStep {
                label: format!("L{i} fwd mb0-1"),
                work: [
                    300_000 + 50_000 * (i % 3),
                    400_000,
                    20_000,
                    100_000,
                    200_000 * (i % 2),
                    50_000 * (i % 3),
                ],
                deps: if i > 0 { vec![i as usize - 1] } else { vec![] },
                ..Default::default()
            })
            .collect();
        let sim = simulate(&HwConfig::paper_default(), &steps, &SimOptions::full()).unwrap();
        let v = trace_json(&sim, "t");
        let events = v["traceEvents"].as_array().unwrap();
        for e in Engine::ALL {
            let sum_us: f64 = events
                .iter()
                .filter(|x| {
                    x["ph"] == "X" && x["pid"] == ENGINES_PID && x["tid"] == e.idx() as u64 + 1
                })
                .map(|x| x["dur"].as_f64().unwrap())
                .sum();
            let rep = &sim.report.engines[e.idx()];
            assert_eq!(rep.name, e.name());
            let busy_us = rep.busy_cycles as f64 / sim.clock_hz * 1e6;
            assert!(
                (sum_us - busy_us).abs() <= 1e-3 * busy_us.max(1e-9),
                "{}: slices {sum_us} us, reported busy {busy_us} us",
                e.name()
            );
            // The old picture: per-step windows, which overstate the busy time.
            let window_us: f64 = sim
                .spans
                .iter()
                .filter(|s| s.engine == e)
                .map(|s| (s.end - s.start) as f64 / sim.clock_hz * 1e6)
                .sum();
            assert!(sum_us <= window_us * (1.0 + 1e-9), "{}", e.name());
        }
        let dma = Engine::DmaIn.idx();
        let util = sim.report.engines[dma].utilization;
        assert!(util < 0.9, "DMA in utilisation {util}");
    }
}
