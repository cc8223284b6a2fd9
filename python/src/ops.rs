//! The operations behind the Python functions, on the facade `edgesim::api`: each takes
//! a parsed request and returns the JSON document of the matching command (`run --json`,
//! `sim --json`, `trace --json`, the rows of `sweep.csv`).

use crate::inputs;
use crate::request::{HardwareRequest, RunRequest, SimulateRequest, SweepRequest, TraceRequest};
use edgesim::api::{self, Engine, Mode, RunOptions, Shard, SimulateOptions, SweepOptions};
use edgesim::{Error, Result};
use serde_json::{Value, json};

fn to_json<T: serde::Serialize>(v: &T) -> Result<Value> {
    serde_json::to_value(v).map_err(|e| Error::Other(e.to_string()))
}

/// A percentage (0..=100) as the facade's fraction; the range error names the argument.
fn fraction(pct: f64, key: &str) -> Result<f64> {
    if pct.is_finite() && (0.0..=100.0).contains(&pct) {
        Ok(pct / 100.0)
    } else {
        Err(Error::input(
            key,
            key,
            format!("{pct} is out of range; allowed [0, 100] percent"),
        ))
    }
}

fn schedule(spec: &Option<String>) -> Result<Option<api::Schedule>> {
    spec.as_deref().map(api::load_schedule).transpose()
}

/// `edgesim.workload_names()`.
pub fn workload_names() -> Value {
    json!(api::embedded_workloads())
}

/// `edgesim.hardware(...)`: the validated hardware document as JSON data.
pub fn hardware(r: &HardwareRequest) -> Result<Value> {
    Ok(inputs::json_of_toml(&toml::Value::Table(inputs::hw_table(
        &r.hw,
    )?)))
}

/// `edgesim.trace(...)`: the Trace document.
pub fn trace(r: &TraceRequest) -> Result<Value> {
    to_json(&api::trace(&inputs::workload(&r.workload, "workload")?)?)
}

/// `edgesim.run(...)`: the `run --json` document ([`api::RunDocument`]).
pub fn run(r: &RunRequest) -> Result<Value> {
    let opts = RunOptions {
        mode: r.mode.parse::<Mode>()?,
        time_slack: match r.time_slack_pct {
            Some(p) => fraction(p, "time_slack_pct")?,
            None => RunOptions::default().time_slack,
        },
        max_memory_gib: r.max_memory_gib,
        pareto: r.pareto,
        schedule: schedule(&r.schedule)?,
        ssd_write_budget_gb_per_step: r.ssd_write_budget_gb_per_step,
        engine: r.engine.parse::<Engine>()?,
    };
    let hw = inputs::hw(&r.hw)?;
    let mut workloads = Vec::new();
    if r.workloads.is_empty() && r.traces.is_empty() {
        // The defaults of `edgesim run`.
        for name in ["llama7b_lora", "llama7b_edge_llm_b5"] {
            workloads.push(api::workload(name)?);
        }
    }
    for (i, input) in r.workloads.iter().enumerate() {
        workloads.push(inputs::workload(input, &format!("workload {}", i + 1))?);
    }
    let mut traces = workloads
        .iter()
        .map(api::trace)
        .collect::<Result<Vec<_>>>()?;
    for (i, input) in r.traces.iter().enumerate() {
        traces.push(inputs::trace(input, &format!("trace {}", i + 1))?);
    }
    let mut doc = api::run(&hw, &traces, &opts)?;
    doc.notes = api::workload_notes(&workloads);
    to_json(&doc)
}

/// `edgesim.simulate(...)`: the `sim --json` document ([`api::SimReport`]).
pub fn simulate(r: &SimulateRequest) -> Result<Value> {
    let opts = SimulateOptions {
        mode: r.mode.parse::<Mode>()?,
        vanilla: r.vanilla,
        disable: r.disable.clone(),
        dma_request_bytes: r.dma_request_bytes,
        attribute: r.attribute,
    };
    let given = schedule(&r.schedule)?;
    let hw = inputs::hw(&r.hw)?;
    let trace = match (&r.workload, &r.trace) {
        (Some(w), None) => api::trace(&inputs::workload(w, "workload")?)?,
        (None, Some(t)) => inputs::trace(t, "trace")?,
        _ => {
            return Err(Error::input(
                "simulate",
                "workload",
                "give exactly one of workload= and trace=",
            ));
        }
    };
    to_json(&api::simulate(&hw, &trace, given.as_ref(), &opts)?)
}

/// `edgesim.sweep(...)`: `{"columns": [...], "rows": [[...], ...]}`, the cells of the
/// `sweep.csv` the command writes for the same spec and options, in its column order
/// ([`api::sweep_columns`]; a record's JSON object has the same names).
pub fn sweep(r: &SweepRequest) -> Result<Value> {
    let opts = SweepOptions {
        mode: match &r.mode {
            Some(m) => m.parse::<Mode>()?,
            None => SweepOptions::default().mode,
        },
        time_slack: r
            .time_slack_pct
            .map(|p| fraction(p, "time_slack_pct"))
            .transpose()?,
        max_memory_gib: r.max_memory_gib,
        ssd_write_budget_gb_per_step: r.ssd_write_budget_gb_per_step,
        schedule: schedule(&r.schedule)?,
        engine: r.engine.parse::<Engine>()?,
        shard: match &r.shard {
            Some(s) => Shard::parse(s)?,
            None => Shard::ALL,
        },
        max_points: r.max_points,
    };
    let spec = inputs::sweep_spec(&r.spec)?;
    let columns = api::sweep_columns(&spec);
    let records = api::sweep(&spec, &opts)?;
    let rows = records
        .iter()
        .map(|rec| {
            let obj = to_json(rec)?;
            columns
                .iter()
                .map(|c| {
                    obj.get(c)
                        .cloned()
                        .ok_or_else(|| Error::Other(format!("sweep record has no column `{c}`")))
                })
                .collect::<Result<Vec<_>>>()
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(json!({ "columns": columns, "rows": rows }))
}
