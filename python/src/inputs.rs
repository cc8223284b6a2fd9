//! Inputs from Python to the facade's types (`edgesim::api`): hardware (a file, TOML
//! text, a dict, dotted-key overrides), workloads (a name, a file, TOML text, a dict),
//! Traces (a file, JSON text, a dict) and sweep specs.
//!
//! A `dict` becomes TOML text here (JSON data -> `toml::Table` -> text), so a dict is
//! read by exactly the code that reads the file it stands for, and its errors name
//! `<hw dict>`, `<workload 1 dict>`, ... in place of a file.

use crate::request::{HwRequest, Input};
use edgesim::api::{self, HardwareSource};
use edgesim::{Error, Result};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// Whether a Python string is a document rather than a path or a name: a path or an
/// embedded name never holds a newline or `=`, a TOML document of one key or more always
/// has `=`, and Trace JSON starts with `{`.
pub fn looks_like_document(s: &str) -> bool {
    s.contains('\n') || s.contains('=') || s.trim_start().starts_with('{')
}

/// JSON data (from a Python dict) as a TOML table; `origin` and the key path name what
/// cannot be written in TOML (a null, an integer beyond 64 bits).
pub fn toml_table(origin: &str, map: &Map<String, Value>) -> Result<toml::Table> {
    map.iter()
        .map(|(k, v)| Ok((k.clone(), toml_value(origin, k, v)?)))
        .collect()
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
        Value::Object(m) => toml::Value::Table(
            m.iter()
                .map(|(k, x)| Ok((k.clone(), toml_value(origin, &format!("{key}.{k}"), x)?)))
                .collect::<Result<_>>()?,
        ),
    })
}

/// A TOML value as JSON data (for `edgesim.hardware()`); datetimes become strings.
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

/// The TOML text of a dict input, named `<WHAT dict>`.
fn dict_text(what: &str, map: &Map<String, Value>) -> Result<(String, String)> {
    let origin = format!("<{what} dict>");
    let table = toml_table(&origin, map)?;
    let text = toml::to_string(&table).map_err(|e| Error::input(&origin, what, e.to_string()))?;
    Ok((origin, text))
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::io(path, e))
}

fn not_trace(what: &str) -> Error {
    Error::input(
        format!("<{what}>"),
        what,
        "a Trace where a TOML document (path, TOML string or dict) is expected",
    )
}

/// Where a hardware input comes from: the embedded default, a file, or TOML text with
/// the origin errors quote.
pub fn hw_source(req: &HwRequest) -> Result<HardwareSource> {
    Ok(match &req.source {
        None => HardwareSource::Default,
        Some(Input::Path(p)) => HardwareSource::File(PathBuf::from(p)),
        Some(Input::Text(s)) if looks_like_document(s) => HardwareSource::Toml {
            origin: "<hw string>".to_string(),
            text: s.clone(),
        },
        Some(Input::Text(s)) => HardwareSource::File(PathBuf::from(s)),
        Some(Input::Table(m)) => {
            let (origin, text) = dict_text("hw", m)?;
            HardwareSource::Toml { origin, text }
        }
        Some(Input::Json(_)) => return Err(not_trace("hw")),
    })
}

/// The overrides of a request as (dotted key, TOML value), in the order given.
fn overrides(req: &HwRequest) -> Result<Vec<(String, toml::Value)>> {
    req.overrides
        .iter()
        .map(|(k, v)| Ok((k.clone(), toml_value("hw_overrides", k, v)?)))
        .collect()
}

/// The validated hardware of a request ([`api::hardware_with_overrides`]).
pub fn hw(req: &HwRequest) -> Result<api::HwConfig> {
    api::hardware_with_overrides(&hw_source(req)?, overrides(req)?)
}

/// The hardware document of a request after its overrides, validated first by
/// [`hw`] (so errors are the facade's), as a TOML table.
pub fn hw_table(req: &HwRequest) -> Result<toml::Table> {
    hw(req)?;
    let text = match hw_source(req)? {
        HardwareSource::Default => api::DEFAULT_HARDWARE_TOML.to_string(),
        HardwareSource::File(p) => read(&p)?,
        HardwareSource::Toml { text, .. } => text,
    };
    let mut table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| Error::Other(e.to_string()))?;
    for (key, value) in overrides(req)? {
        set_dotted(&mut table, &key, value);
    }
    Ok(table)
}

/// Sets `a.b.c` in `table` as the facade's overrides do (the key was validated there).
fn set_dotted(table: &mut toml::Table, key: &str, value: toml::Value) {
    let mut parts: Vec<&str> = key.split('.').collect();
    let last = parts.pop().unwrap_or(key);
    let mut t = table;
    for p in parts {
        let entry = t
            .entry(p.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        match entry {
            toml::Value::Table(inner) => t = inner,
            _ => return,
        }
    }
    t.insert(last.to_string(), value);
}

/// A workload: a name or path ([`api::workload`]), or a document whose relative paths
/// resolve against the current directory. `what` names it in errors (`workload`,
/// `workload 2`).
pub fn workload(input: &Input, what: &str) -> Result<api::Workload> {
    match input {
        Input::Text(s) if looks_like_document(s) => {
            api::workload_from_toml(&format!("<{what} string>"), s, None)
        }
        Input::Text(s) => api::workload(s),
        // A file: relative paths inside it resolve against its directory.
        Input::Path(p) => api::workload_from_toml(p, &read(Path::new(p))?, None),
        Input::Table(m) => {
            let (origin, text) = dict_text(what, m)?;
            api::workload_from_toml(&origin, &text, None)
        }
        Input::Json(_) => Err(not_trace(what)),
    }
}

/// A Trace: a Trace file, JSON text or a Trace dict (sent as JSON text).
pub fn trace(input: &Input, what: &str) -> Result<api::Trace> {
    match input {
        Input::Path(p) => api::trace_from_json_file(Path::new(p)),
        Input::Text(s) if looks_like_document(s) => {
            api::trace_from_json(&format!("<{what} string>"), s)
        }
        Input::Text(s) => api::trace_from_json_file(Path::new(s)),
        Input::Json(s) => api::trace_from_json(&format!("<{what} dict>"), s),
        Input::Table(_) => Err(Error::input(
            format!("<{what}>"),
            what,
            "expected a Trace (path, JSON string or dict)",
        )),
    }
}

/// A sweep spec: a file (paths relative to it), TOML text or a dict (paths relative to
/// the current directory).
pub fn sweep_spec(input: &Input) -> Result<api::SweepSpec> {
    match input {
        Input::Path(p) => api::sweep_spec_from_file(Path::new(p)),
        Input::Text(s) if looks_like_document(s) => {
            api::sweep_spec_from_toml("<spec string>", s, Path::new("."))
        }
        Input::Text(s) => api::sweep_spec_from_file(Path::new(s)),
        Input::Table(m) => {
            let (origin, text) = dict_text("spec", m)?;
            api::sweep_spec_from_toml(&origin, &text, Path::new("."))
        }
        Input::Json(_) => Err(not_trace("spec")),
    }
}
