#![no_main]
//! Fuzz target `workload_struct`: see `fuzz/README.md` and the harness `harness::workload_struct`.

#[path = "../harness/mod.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::workload_struct(data));
