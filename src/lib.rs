//! edgesim: a cycle-level simulator and design-space explorer for fine-tuning LLMs on edge
//! accelerators. See `ARCHITECTURE.md` for the data path and module responsibilities.
//!
//! # Stable surface: [`api`]
//!
//! [`api`] is the library API: hardware, workloads and traces from files, strings or
//! structs; `run`, `search`, `evaluate`, `simulate`, `sweep`; serialisable reports whose
//! JSON is what the command prints (`run --json`, `sim --json`, the rows of `sweep.csv`),
//! with JSON Schemas in `schemas/`. Start there.
//!
//! # Internal modules (unstable)
//!
//! The other modules are public so that the benches, the fuzz harnesses and the
//! integration tests can reach the internals; they are not a stable interface and change
//! without notice. `cli`, `io_util` and `toml_util` are hidden from the documentation.

pub mod api;
#[doc(hidden)]
pub mod cli;
pub mod cost;
pub mod data;
pub mod dse;
pub mod error;
pub mod grid;
pub mod hw;
#[doc(hidden)]
pub mod io_util;
pub mod llm;
pub mod luc;
pub mod mapper;
pub mod model;
pub mod policy;
pub mod report;
pub mod search;
pub mod sim;
#[doc(hidden)]
pub mod toml_util;
pub mod tune;
pub mod workload;

pub use error::{Error, Result};
