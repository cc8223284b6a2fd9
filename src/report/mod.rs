//! Reports: CSV tables and plots (PNG + SVG). Everything here writes files atomically via
//! [`crate::io_util::write_atomic`]; the numbers come from `dse`, `search` and `cost`.

pub mod csv_table;
pub mod plot;
pub mod repro_report;
pub mod sweep_plots;
