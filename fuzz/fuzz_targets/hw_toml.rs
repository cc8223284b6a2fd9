#![no_main]
//! Fuzz target `hw_toml`: see `fuzz/README.md` and the harness `harness::hw_toml`.

#[path = "../harness/mod.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::hw_toml(data));
