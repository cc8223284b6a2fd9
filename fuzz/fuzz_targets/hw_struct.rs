#![no_main]
//! Fuzz target `hw_struct`: see `fuzz/README.md` and the harness `harness::hw_struct`.

#[path = "../harness/mod.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::hw_struct(data));
