#![no_main]
//! Fuzz target `llama_config`: see `fuzz/README.md` and the harness `harness::llama_config`.

#[path = "../harness/mod.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::llama_config(data));
