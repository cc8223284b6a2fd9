//! Reports: text tables, JSON, CSV and plots (PNG + SVG) built from search, cost and DSE
//! results. Everything here writes files atomically via [`crate::io_util::write_atomic`].

pub mod csv_table;
pub mod notes;
pub mod plot;
pub mod repro_report;
pub mod run_report;
pub mod sweep_plots;
pub mod table2_report;
pub mod tune_report;
