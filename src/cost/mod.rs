//! Analytic cost model: a [`Schedule`] over (hardware, Trace) -> time, capacity, energy.
//!
//! A schedule is expanded into ordered steps; each step computes one column for one block
//! of micro-batches (one square under the row traversal) while, with prefetching, the next
//! step's weights/activations load and the previous step's outputs store. Per step the
//! bytes on four links are counted by tensor class: DRAM->SRAM (`r_to_sram`), SRAM->DRAM
//! (`w_to_dram`), SSD->DRAM (`r_to_dram`), DRAM->SSD (`w_to_ssd`), plus array and vector
//! cycles from the [`mapper`](crate::mapper). The step time depends on the [`Mode`].
//!
//! Two views of the same numbers:
//! - [`expand`] returns the steps as plain data (the cycle simulator replays them);
//! - [`Model`] evaluates a candidate in closed form over columns (all blocks of a
//!   traversal share a column's costs), allocation-free, for the search's inner loop.
//!
//! Assumptions of the step model:
//! - A step streams its operands tile by tile through the SRAM (see the mapper); with
//!   prefetching, tiles are double-buffered, so DRAM<->SRAM traffic overlaps compute
//!   within the step, and SSD<->DRAM transfers of neighbouring steps overlap the current
//!   step (FlexGen's overlap). Without prefetching a step loads, computes, then stores:
//!   its link and compute times add up.
//! - `T_comp = (max(array cycles, SRAM-port cycles) + vector cycles) / clock`: vector ops
//!   sit between GEMMs in the dependency chain of a square, so they do not overlap the
//!   array.
//! - Each SSD transfer direction of a step pays the SSD latency once when it moves bytes.
//! - Saved tensors are among the column's GEMM outputs (forward) / inputs (backward),
//!   whose traffic the mapper already counts: they are tagged `Saved`, not added, unless
//!   the trace's saved bytes exceed that traffic.
//! - Weight gradients accumulate in a buffer zero-initialised at the start of the step;
//!   every backward step reads and writes its column's `grad_bytes`.
//! - Recomputing a column's activations keeps only its `checkpoint_bytes`; its backward
//!   step first re-runs the column's forward (compute and traffic), writing the saved
//!   tensors to DRAM transiently and reading them back.
//! - The optimizer update (Adam) is a final step on the vector unit:
//!   [`ADAM_OPS_PER_PARAM`] element operations per trainable (16-bit) parameter; it reads
//!   parameters, gradients and optimizer state and writes parameters and optimizer state.
//! - Energy follows the one rule of [`energy`], which the simulator's report uses too.

pub mod energy;
mod expand;
pub mod memory;
mod model;
pub mod synthetic;
mod table;
mod types;

pub use energy::{Activity, EnergyBreakdown, EnergyPerAccess, StaticPower};
pub use expand::{expand, step_seconds, steps_seconds};
pub use memory::MemoryMetrics;
pub use model::{LowerBound, Model, divisors};
pub use table::Table;
pub use types::*;

use crate::hw::HwConfig;
use crate::workload::Trace;

/// Element operations of one Adam update per parameter: m (3), v (4), two bias
/// corrections (2), sqrt (1), + eps (1), divide (1), x lr (1), subtract (1).
pub const ADAM_OPS_PER_PARAM: f64 = 14.0;

/// Evaluates one schedule (convenience wrapper building a [`Model`]).
pub fn evaluate(
    hw: &HwConfig,
    trace: &Trace,
    schedule: &Schedule,
    mode: Mode,
) -> crate::Result<Evaluation> {
    let model = Model::new(hw, trace)?;
    model.evaluate(schedule, mode)
}
