//! The fuzz harnesses: one function per target, taking the raw input bytes. The
//! cargo-fuzz targets (`fuzz/fuzz_targets/*.rs`) and the corpus replay test
//! (`tests/fuzz_corpus.rs`) both include this module with `#[path]`, so a corpus file
//! replays exactly as the fuzzer ran it.
//!
//! The property every harness checks: the reader returns a clean `Error` or a value, and
//! a value's numeric results are finite; no panic, no hang. Structure-aware harnesses
//! (`*_struct`) decode the bytes with `arbitrary::Unstructured` into whole, valid-looking
//! files with boundary values, so that the code behind the parser (trace builder, mapper,
//! search and cost model, a few steps of the cycle simulator) is reached.

#![allow(dead_code, unused_imports)]

mod deep;
mod files;
mod hw_struct;
mod raw;
mod tokenizer_struct;
mod values;
mod workload_struct;

pub use hw_struct::hw_struct;
pub use raw::{
    calib, gguf, hw_toml, llama_config, policy_toml, safetensors, schedule_spec, sensitivity_csv,
    sweep_spec, tokenizer_json, trace_json, workload_toml,
};
pub use tokenizer_struct::gguf_tokenizer_struct;
pub use workload_struct::workload_struct;

/// A harness: runs one input.
pub type Harness = fn(&[u8]);

/// Every target: its name (the directory under `fuzz/corpus/`) and harness.
pub const TARGETS: &[(&str, Harness)] = &[
    ("hw_toml", hw_toml),
    ("workload_toml", workload_toml),
    ("sweep_spec", sweep_spec),
    ("policy_toml", policy_toml),
    ("sensitivity_csv", sensitivity_csv),
    ("trace_json", trace_json),
    ("llama_config", llama_config),
    ("safetensors", safetensors),
    ("gguf", gguf),
    ("tokenizer_json", tokenizer_json),
    ("calib", calib),
    ("gguf_tokenizer_struct", gguf_tokenizer_struct),
    ("hw_struct", hw_struct),
    ("workload_struct", workload_struct),
    ("schedule_spec", schedule_spec),
];

pub use hw_struct::hw_text;
pub use raw::tiny_config;
pub use tokenizer_struct::tiny_metadata;
pub use workload_struct::workload_text;
