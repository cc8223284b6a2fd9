#![no_main]
//! Fuzz target `trace_json`: see `fuzz/README.md` and the harness `harness::trace_json`.

#[path = "../harness/mod.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::trace_json(data));
