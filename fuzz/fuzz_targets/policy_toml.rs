#![no_main]
//! Fuzz target `policy_toml`: see `fuzz/README.md` and the harness `harness::policy_toml`.

#[path = "../harness/mod.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::policy_toml(data));
