#![no_main]
//! Fuzz target `safetensors`: see `fuzz/README.md` and the harness `harness::safetensors`.

#[path = "../harness/mod.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::safetensors(data));
