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

fn schema_text<T: JsonSchema>() -> String {
    let schema = schemars::schema_for!(T);
    let mut text = serde_json::to_string_pretty(&schema)
        .expect("a generated JSON Schema serialises (string keys only)");
    text.push('\n');
    text
}

/// Every report's schema: `run.schema.json` ([`RunDocument`], `edgesim run --json`),
/// `sim_report.schema.json` ([`SimReport`], `edgesim sim --json`) and
/// `sweep_record.schema.json` ([`SweepRecord`], one row of `sweep.csv`) and
/// `trace.schema.json` (a Trace file, [`super::Trace`]).
pub fn schemas() -> Vec<SchemaFile> {
    vec![
        SchemaFile {
            file: "run.schema.json",
            text: schema_text::<RunDocument>(),
        },
        SchemaFile {
            file: "sim_report.schema.json",
            text: schema_text::<SimReport>(),
        },
        SchemaFile {
            file: "sweep_record.schema.json",
            text: schema_text::<SweepRecord>(),
        },
        SchemaFile {
            file: "trace.schema.json",
            text: schema_text::<super::trace_schema::TraceFile>(),
        },
    ]
}
