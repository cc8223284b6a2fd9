#![no_main]
//! Fuzz target `sensitivity_csv`: see `fuzz/README.md` and the harness `harness::sensitivity_csv`.

#[path = "../harness/mod.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::sensitivity_csv(data));
