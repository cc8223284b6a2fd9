#![no_main]
//! Fuzz target `workload_toml`: see `fuzz/README.md` and the harness `harness::workload_toml`.

#[path = "../harness/mod.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::workload_toml(data));
