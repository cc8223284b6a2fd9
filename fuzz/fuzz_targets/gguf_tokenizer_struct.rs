#![no_main]
//! Fuzz target `gguf_tokenizer_struct`: see `fuzz/README.md` and the harness `harness::gguf_tokenizer_struct`.

#[path = "../harness/mod.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::gguf_tokenizer_struct(data));
