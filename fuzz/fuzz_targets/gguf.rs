#![no_main]
//! Fuzz target `gguf`: see `fuzz/README.md` and the harness `harness::gguf`.

#[path = "../harness/mod.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::gguf(data));
