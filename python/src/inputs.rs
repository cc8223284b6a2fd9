//! Inputs from Python to edgesim's types: hardware (a file, TOML text, a dict, dotted-key
//! overrides), workloads (a name, a file, TOML text, a dict), Traces (a file, JSON text,
//! a dict) and sweep specs.
//!
//! A `dict` becomes TOML here (serde_json -> toml), so a dict is read by exactly the
//! code that reads the file it stands for, and its errors name `<hw dict>`,
//! `<workload 1 dict>`, ... in place of a file.

use crate::request::{HwRequest, Input};
use edgesim::error::{Error, Result};
use serde_json::{Map, Value};
use std::path::Path;

/// Whether a Python string is a document rather than a path or a name: a path or an
/// embedded name never holds a newline or `=`, a TOML document of one key or more
/// always has `=` (and JSON starts with `{`).
pub fn looks_like_document(s: &str) -> bool {
    s.contains('\n') || s.contains('=') || s.trim_start().starts_with('{')
}

/// JSON data (from a Python dict) as a TOML table; `origin` and the key path name what
/// cannot be written in TOML (a null, an integer beyond 64 bits).
pub fn toml_table(origin: &str, map: &Map<String, Value>) -> Result<toml::Table> {
    let mut out = toml::Table::new();
    for (k, v) in map {
        out.insert(k.clone(), toml_value(origin, k, v)?);
    }
    Ok(out)
}

/// One JSON value as TOML (see [`toml_table`]); `key` is its dotted path.
pub fn toml_value(origin: &str, key: &str, v: &Value) -> Result<toml::Value> {
    Ok(match v {
        Value::Null => {
            return Err(Error::input(
                origin,
                key,
                "None has no TOML form; leave the key out",
            ));
        }
        Value::Bool(b) => toml::Value::Boolean(*b),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => toml::Value::Integer(i),
            (None, Some(f)) if n.is_f64() => toml::Value::Float(f),
            _ => {
                return Err(Error::input(
                    origin,
                    key,
                    format!("{n} does not fit a TOML integer (64-bit signed)"),
                ));
            }
        },
        Value::String(s) => toml::Value::String(s.clone()),
        Value::Array(a) => toml::Value::Array(
            a.iter()
                .enumerate()
                .map(|(i, x)| toml_value(origin, &format!("{key}[{i}]"), x))
                .collect::<Result<_>>()?,
        ),
        Value::Object(m) => {
            let mut t = toml::Table::new();
            for (k, x) in m {
                t.insert(k.clone(), toml_value(origin, &format!("{key}.{k}"), x)?);
            }
            toml::Value::Table(t)
        }
    })
}

/// A TOML table as JSON data (for `edgesim.hardware()`): datetimes become strings.
pub fn json_of_toml(v: &toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => {
            serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
        }
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.iter().map(json_of_toml).collect()),
        toml::Value::Table(t) => Value::Object(
            t.iter()
                .map(|(k, x)| (k.clone(), json_of_toml(x)))
                .collect(),
        ),
    }
}

/// The text of a TOML input and the name its errors carry (a file's path, `<NAME
/// string>`, `<NAME dict>`), or `None` for a string that is a path or an embedded name.
fn document(input: &Input, what: &str) -> Result<Option<(String, String)>> {
    Ok(match input {
        Input::Path(p) => Some((p.clone(), edgesim::io_util::read_to_string(Path::new(p))?)),
        Input::Text(s) if looks_like_document(s) => Some((format!("<{what} string>"), s.clone())),
        Input::Text(_) => None,
        Input::Table(m) => {
            let origin = format!("<{what} dict>");
            let table = toml_table(&origin, m)?;
            let text =
                toml::to_string(&table).map_err(|e| Error::input(&origin, what, e.to_string()))?;
            Some((origin, text))
        }
        Input::Json(_) => {
            return Err(Error::input(
                format!("<{what}>"),
                what,
                "a Trace document where a TOML one is expected",
            ));
        }
    })
}

/// The hardware document after the overrides, as a TOML table, and the name errors carry.
/// Default: the embedded `hw_configs/edge_llm_paper.toml`.
pub fn hw_table(req: &HwRequest) -> Result<(String, toml::Table)> {
    let (origin, text) = match &req.source {
        None => (
            "hw_configs/edge_llm_paper.toml".to_string(),
            edgesim::hw::DEFAULT_HW_TOML.to_string(),
        ),
        Some(Input::Text(s)) if !looks_like_document(s) => {
            (s.clone(), edgesim::io_util::read_to_string(Path::new(s))?)
        }
        Some(input) => document(input, "hw")?.expect("paths and documents are read"),
    };
    let mut table = edgesim::toml_util::parse(&origin, &text)?;
    for (key, value) in &req.overrides {
        let v = toml_value("hw_overrides", key, value)?;
        edgesim::hw::apply_override(&mut table, key, v)?;
    }
    // Name the overrides in errors when there are any: the bad value is most likely one.
    let origin = if req.overrides.is_empty() {
        origin
    } else {
        format!("{origin} with hw_overrides")
    };
    Ok((origin, table))
}

/// The validated hardware of a request.
pub fn hw(req: &HwRequest) -> Result<edgesim::hw::HwConfig> {
    let (origin, table) = hw_table(req)?;
    edgesim::hw::HwConfig::from_table(&origin, &table)
}

/// A workload: a name or path ([`edgesim::workload::resolve_workload`]), or a document
/// whose relative paths resolve against the current directory. `what` names it in
/// errors (`workload`, `workloads[1]`).
pub fn workload(input: &Input, what: &str) -> Result<edgesim::workload::Workload> {
    match input {
        Input::Text(s) if !looks_like_document(s) => {
            edgesim::workload::resolve_workload(Path::new(s))
        }
        Input::Path(p) => edgesim::workload::Workload::from_file(Path::new(p)),
        other => {
            let (origin, text) = document(other, what)?.expect("documents are read");
            edgesim::workload::Workload::from_toml_str(&origin, &text)
        }
    }
}

/// A Trace document: a Trace file, JSON text or a Trace dict (sent as JSON).
pub fn trace(input: &Input, what: &str) -> Result<edgesim::workload::Trace> {
    use edgesim::workload::Trace;
    match input {
        Input::Path(p) => Trace::from_json_file(Path::new(p)),
        Input::Text(s) if looks_like_document(s) => {
            Trace::from_json_str(&format!("<{what} string>"), s)
        }
        Input::Text(s) => Trace::from_json_file(Path::new(s)),
        Input::Json(s) => Trace::from_json_str(&format!("<{what} dict>"), s),
        Input::Table(_) => Err(Error::input(
            format!("<{what}>"),
            what,
            "expected a Trace (path, JSON string or dict)",
        )),
    }
}

/// A sweep spec: a file (paths relative to it), TOML text or a dict (paths relative to
/// the current directory).
pub fn sweep_spec(input: &Input) -> Result<edgesim::dse::SweepSpec> {
    use edgesim::dse::SweepSpec;
    match input {
        Input::Path(p) => SweepSpec::from_file(Path::new(p)),
        Input::Text(s) if !looks_like_document(s) => SweepSpec::from_file(Path::new(s)),
        other => {
            let (origin, text) = document(other, "spec")?.expect("documents are read");
            SweepSpec::from_toml_str(Path::new(&origin), &text)
        }
    }
}
