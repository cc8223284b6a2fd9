//! Reports: text tables, JSON, CSV and plots built from search, cost and DSE results.

pub mod run_report;
