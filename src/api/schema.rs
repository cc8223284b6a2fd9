//! The JSON Schemas of the reports, generated from the types (`schemars`, draft
//! 2020-12) and committed in `schemas/`, where `tests/api.rs` checks they are current.

use super::{RunDocument, SimReport, SweepRecord};
use schemars::JsonSchema;

/// One schema file of `schemas/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaFile {
    /// File name inside `schemas/` (e.g. `run.schema.json`).
    pub file: &'static str,
    /// The schema, pretty-printed JSON ending in a newline.
    pub text: String,
}

fn schema_text<T: JsonSchema>(absent: Option<&[&str]>) -> String {
    let mut schema = schemars::schema_for!(T).to_value();
    if let Some(absent) = absent {
        require_written_keys(&mut schema, absent);
    }
    let mut text = serde_json::to_string_pretty(&schema)
        .expect("a generated JSON Schema serialises (string keys only)");
    text.push('\n');
    text
}

/// Keys of `run --json` that appear only when asked for: `given_schedule` (a given
/// schedule), `pareto` (`--pareto`) and `sim` (`--engine cycle`); the fields with
/// `skip_serializing_if` in `report.rs`. Every other key of every report is always
/// written, `null` where there is no figure.
const RUN_KEYS_ON_REQUEST: [&str; 3] = ["given_schedule", "pareto", "sim"];

/// Marks every property of every object schema in `schema` required except those named
/// in `absent`. schemars leaves `Option` fields optional, but the reports always write
/// them (as `null`), and a schema that requires them catches a document that drops one.
fn require_written_keys(schema: &mut serde_json::Value, absent: &[&str]) {
    match schema {
        serde_json::Value::Object(map) => {
            if let Some(serde_json::Value::Object(props)) = map.get("properties") {
                let required: Vec<serde_json::Value> = props
                    .keys()
                    .filter(|k| !absent.contains(&k.as_str()))
                    .map(|k| serde_json::Value::String(k.clone()))
                    .collect();
                map.insert("required".into(), serde_json::Value::Array(required));
            }
            for v in map.values_mut() {
                require_written_keys(v, absent);
            }
        }
        serde_json::Value::Array(items) => {
            for v in items {
                require_written_keys(v, absent);
            }
        }
        _ => {}
    }
}

/// Every report's schema: `run.schema.json` ([`RunDocument`], `edgesim run --json`),
/// `sim_report.schema.json` ([`SimReport`], `edgesim sim --json`) and
/// `sweep_record.schema.json` ([`SweepRecord`], one row of `sweep.csv`) and
/// `trace.schema.json` (a Trace file, [`super::Trace`]).
pub fn schemas() -> Vec<SchemaFile> {
    vec![
        SchemaFile {
            file: "run.schema.json",
            text: schema_text::<RunDocument>(Some(&RUN_KEYS_ON_REQUEST)),
        },
        SchemaFile {
            file: "sim_report.schema.json",
            text: schema_text::<SimReport>(Some(&[])),
        },
        SchemaFile {
            file: "sweep_record.schema.json",
            text: schema_text::<SweepRecord>(Some(&[])),
        },
        SchemaFile {
            file: "trace.schema.json",
            // A Trace file is an input too: its optional keys (`a_on_chip`, ...) stay optional.
            text: schema_text::<super::trace_schema::TraceFile>(None),
        },
    ]
}
