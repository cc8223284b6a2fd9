#![no_main]
//! Fuzz target `calib`: see `fuzz/README.md` and the harness `harness::calib`.

#[path = "../harness/mod.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::calib(data));
