//! Tests of the training engine: forward against `llm::forward`, every gradient against
//! central finite differences (f64), what the recorder sees, f32 against f64,
//! determinism, and a loss that falls under plain SGD.

mod fixtures;
mod forward;
mod gradcheck;
mod record;
mod train;
mod vs_analytic;
