//! edgesim: a cycle-level simulator and design-space explorer for fine-tuning LLMs on edge
//! accelerators. See `ARCHITECTURE.md` for the data path and module responsibilities.

pub mod cli;
pub mod cost;
pub mod data;
pub mod dse;
pub mod error;
pub mod grid;
pub mod hw;
pub mod io_util;
pub mod llm;
pub mod luc;
pub mod mapper;
pub mod model;
pub mod policy;
pub mod report;
pub mod search;
pub mod sim;
pub mod toml_util;
pub mod tune;
pub mod workload;

pub use error::{Error, Result};
