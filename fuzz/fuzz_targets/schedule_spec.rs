#![no_main]
//! Fuzz target `schedule_spec`: see `fuzz/README.md` and the harness `harness::schedule_spec`.

#[path = "../harness/mod.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::schedule_spec(data));
