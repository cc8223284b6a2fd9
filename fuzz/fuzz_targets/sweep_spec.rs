#![no_main]
//! Fuzz target `sweep_spec`: see `fuzz/README.md` and the harness `harness::sweep_spec`.

#[path = "../harness/mod.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::sweep_spec(data));
