//! Chrome / Perfetto trace (Trace Event Format JSON) of a simulation: one thread per
//! engine with a complete event (`"ph":"X"`) per step it worked on, and counter tracks
//! (`"ph":"C"`) for SRAM and DRAM occupancy. Opens in ui.perfetto.dev and
//! chrome://tracing. Timestamps are microseconds, as the format requires.

use super::report::{Simulation, downsample};
use super::step::Engine;
use serde_json::{Value, json};

/// Counter samples per occupancy track (bucket maxima), to keep traces of long runs small.
const COUNTER_SAMPLES: usize = 4096;

/// Builds the trace document.
pub fn trace_json(sim: &Simulation, title: &str) -> Value {
    let us = |cycles: u64| cycles as f64 / sim.clock_hz * 1e6;
    let mut ev: Vec<Value> = Vec::with_capacity(sim.spans.len() + 2 * COUNTER_SAMPLES + 8);
    ev.push(
        json!({"name": "process_name", "ph": "M", "pid": 1, "tid": 0,
                   "args": {"name": title}}),
    );
    for e in Engine::ALL {
        let tid = e.idx() + 1;
        ev.push(
            json!({"name": "thread_name", "ph": "M", "pid": 1, "tid": tid,
                       "args": {"name": e.name()}}),
        );
        ev.push(
            json!({"name": "thread_sort_index", "ph": "M", "pid": 1, "tid": tid,
                       "args": {"sort_index": tid}}),
        );
    }
    for sp in &sim.spans {
        let label = sim.labels.get(sp.step as usize).map_or("", String::as_str);
        ev.push(json!({
            "name": label,
            "cat": sp.engine.name(),
            "ph": "X",
            "ts": us(sp.start),
            "dur": us(sp.end - sp.start),
            "pid": 1,
            "tid": sp.engine.idx() + 1,
            "args": {"step": sp.step}
        }));
    }
    let cycles = sim.report.cycles;
    for (name, points) in [
        ("sram_bytes", &sim.sram_points),
        ("dram_bytes", &sim.dram_points),
    ] {
        for s in downsample(points, cycles, COUNTER_SAMPLES) {
            ev.push(json!({"name": name, "ph": "C", "ts": us(s.cycle), "pid": 1,
                           "args": {"bytes": s.bytes}}));
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
        for e in events.iter().filter(|e| e["ph"] == "X") {
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
        assert_eq!(per_tid[Engine::Array.idx() + 1], 8);
        assert_eq!(per_tid[Engine::SsdIn.idx() + 1], 4);
        assert!(
            events
                .iter()
                .any(|e| e["ph"] == "C" && e["name"] == "sram_bytes")
        );
        // The trace ends when the simulation does.
        let end_us = sim.report.cycles as f64 / 1e3;
        assert!(last_end.iter().all(|&t| t <= end_us + 1e-6));
    }
}
