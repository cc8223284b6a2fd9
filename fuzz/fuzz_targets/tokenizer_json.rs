#![no_main]
//! Fuzz target `tokenizer_json`: see `fuzz/README.md` and the harness `harness::tokenizer_json`.

#[path = "../harness/mod.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::tokenizer_json(data));
