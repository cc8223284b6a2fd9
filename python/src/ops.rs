//! The operations behind the Python functions: each takes a parsed request and returns
//! the JSON document of the matching command (`run --json`, `sim --json`, `trace
//! --json`, the rows of `sweep.csv`).

use crate::inputs;
use crate::request::{HardwareRequest, RunRequest, SimulateRequest, SweepRequest, TraceRequest};
use edgesim::error::{Error, Result};
use serde_json::{Value, json};

/// `edgesim.workload_names()`.
pub fn workload_names() -> Value {
    json!(edgesim::workload::embedded_names())
}

/// `edgesim.hardware(...)`: the validated hardware document as JSON data.
pub fn hardware(r: &HardwareRequest) -> Result<Value> {
    let (origin, table) = inputs::hw_table(&r.hw)?;
    edgesim::hw::HwConfig::from_table(&origin, &table)?;
    Ok(inputs::json_of_toml(&toml::Value::Table(table)))
}

/// `edgesim.trace(...)`: the Trace document.
pub fn trace(r: &TraceRequest) -> Result<Value> {
    let t = inputs::workload(&r.workload, "workload")?.trace()?;
    serde_json::to_value(&t).map_err(|e| Error::Other(e.to_string()))
}

fn search_options(
    mode: Option<&str>,
    time_slack_pct: Option<f64>,
    max_memory_gib: Option<f64>,
    schedule: Option<&str>,
    ssd_gb: Option<f64>,
) -> Result<edgesim::search::SearchOptions> {
    use edgesim::dse::evaluate as ev;
    let o = ev::options(mode)?;
    let o = ev::with_time_slack(o, time_slack_pct)?;
    let o = ev::with_memory_limit(o, max_memory_gib)?;
    let o = ev::with_schedule(o, schedule)?;
    ev::with_ssd_write_budget(o, ssd_gb)
}

fn check_engine(engine: &str) -> Result<bool> {
    match engine {
        "analytic" => Ok(false),
        "cycle" => Ok(true),
        other => Err(Error::input(
            "engine",
            "engine",
            format!("`{other}`; allowed: analytic, cycle"),
        )),
    }
}

/// `edgesim.run(...)`: the `run --json` document.
pub fn run(r: &RunRequest) -> Result<Value> {
    let cycle = check_engine(&r.engine)?;
    if r.schedule.is_some() && (r.pareto || r.max_memory_gib.is_some()) {
        return Err(Error::input(
            "schedule",
            "schedule",
            "a given schedule is evaluated, not searched: pareto and max_memory_gib do not apply",
        ));
    }
    let mut opts = search_options(
        Some(&r.mode),
        r.time_slack_pct,
        r.max_memory_gib,
        r.schedule.as_deref(),
        r.ssd_write_budget_gb_per_step,
    )?;
    opts.pareto = r.pareto;
    let hw = inputs::hw(&r.hw)?;
    let mut notes = Vec::new();
    let mut traces = Vec::new();
    if r.workloads.is_empty() && r.traces.is_empty() {
        for n in ["llama7b_lora", "llama7b_edge_llm_b5"] {
            let w = edgesim::workload::Workload::embedded(n)?;
            for m in &w.warnings {
                edgesim::report::notes::push_unique(&mut notes, format!("{}: {m}", w.name));
            }
            traces.push(w.trace()?);
        }
    }
    for (i, input) in r.workloads.iter().enumerate() {
        let w = inputs::workload(input, &format!("workload {}", i + 1))?;
        for m in &w.warnings {
            edgesim::report::notes::push_unique(&mut notes, format!("{}: {m}", w.name));
        }
        traces.push(w.trace()?);
    }
    for (i, input) in r.traces.iter().enumerate() {
        traces.push(inputs::trace(input, &format!("trace {}", i + 1))?);
    }
    let results = edgesim::cli::run::run_with(&hw, &traces, &opts);
    let sims = if cycle {
        edgesim::cli::sim::simulate_results(&hw, &traces, &results, None)?
    } else {
        Vec::new()
    };
    let mut doc = edgesim::report::run_report::run_json(&results);
    edgesim::cli::sim::add_sim_json(&mut doc, &sims);
    edgesim::cli::run::add_schedule_source(&mut doc, opts.schedule.as_ref());
    doc["notes"] = json!(notes);
    Ok(doc)
}

/// `edgesim.simulate(...)`: the `sim --json` document.
pub fn simulate(r: &SimulateRequest) -> Result<Value> {
    use edgesim::search::SearchOptions;
    let mode: edgesim::cost::Mode = r.mode.parse()?;
    let mut opts = edgesim::cli::sim::options_without(&r.disable)?;
    let b = r.dma_request_bytes;
    if !(32..=4096).contains(&b) || !b.is_power_of_two() {
        return Err(Error::input(
            "dma_request_bytes",
            "dma_request_bytes",
            format!("{b}: must be a power of two from 32 to 4096"),
        ));
    }
    opts.dma_request_bytes = b;
    let given = match &r.schedule {
        Some(s) => Some(edgesim::search::load_schedule(s)?),
        None => None,
    };
    let hw = inputs::hw(&r.hw)?;
    let trace = match (&r.workload, &r.trace) {
        (Some(w), None) => inputs::workload(w, "workload")?.trace()?,
        (None, Some(t)) => inputs::trace(t, "trace")?,
        _ => {
            return Err(Error::input(
                "simulate",
                "workload",
                "give exactly one of workload= and trace=",
            ));
        }
    };
    if let Some(s) = &given {
        let e = edgesim::search::evaluate_given(&hw, &trace, s, mode);
        if let Some(why) = e.reason.filter(|_| e.best.is_none()) {
            return Err(Error::input(
                "schedule",
                "schedule",
                format!("`{s}` on {} with {}: {why}", hw.name, trace.workload),
            ));
        }
    }
    let search_opts = SearchOptions {
        schedule: given,
        ..SearchOptions::default().with_mode(mode)
    };
    let replay = edgesim::sim::replay::replay_best(&hw, &trace, &search_opts, opts)?;
    let comparison = replay.comparison(&hw)?;
    Ok(json!({
        "workload": trace.workload,
        "hw": hw.name,
        "mode": mode.to_string(),
        "schedule": replay.evaluation.schedule.to_string(),
        "schedule_source": if given.is_some() { "given" } else { "search" },
        "options": replay.options,
        "sim": replay.sim.report,
        "comparison": comparison,
        "attribution": Value::Null,
    }))
}

/// One `sweep.csv` cell as JSON: empty -> null, `true`/`false` -> booleans, numbers ->
/// numbers (the shortest round-trip text reads back to the same f64), else the string.
fn cell(s: &str) -> Value {
    match s {
        "" => Value::Null,
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ => {
            if let Ok(i) = s.parse::<i64>() {
                return Value::from(i);
            }
            match s.parse::<f64>() {
                Ok(f) if f.is_finite() => json!(f),
                _ => Value::String(s.to_string()),
            }
        }
    }
}

/// `edgesim.sweep(...)`: `{"columns": [...], "rows": [[...], ...]}`, the cells of the
/// `sweep.csv` the command writes for the same spec and options.
pub fn sweep(r: &SweepRequest) -> Result<Value> {
    let cycle = check_engine(&r.engine)?;
    if r.schedule.is_some() && (r.time_slack_pct.is_some() || r.max_memory_gib.is_some()) {
        return Err(Error::input(
            "schedule",
            "schedule",
            "a given schedule is evaluated, not searched: time_slack_pct and max_memory_gib do not apply",
        ));
    }
    let opts = search_options(
        r.mode.as_deref(),
        r.time_slack_pct,
        r.max_memory_gib,
        r.schedule.as_deref(),
        r.ssd_write_budget_gb_per_step,
    )?;
    let shard = match &r.shard {
        Some(s) => edgesim::dse::Shard::parse(s)?,
        None => edgesim::dse::Shard::ALL,
    };
    let spec = inputs::sweep_spec(&r.spec)?;
    spec.check_max_points(r.max_points)?;
    let workloads = edgesim::dse::evaluate::load_traces(&spec.workloads)?;
    let table = edgesim::dse::sweep::run(
        &spec,
        &workloads,
        shard,
        |hw, t| edgesim::dse::evaluate::outcome_with(hw, t, &opts, cycle),
        || {},
    )?;
    Ok(json!({
        "columns": table.header,
        "rows": table.rows.iter().map(|row| row.iter().map(|c| cell(c)).collect::<Vec<_>>()).collect::<Vec<_>>(),
    }))
}
