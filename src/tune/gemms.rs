//! The [`GemmOp`] records of the products the engine performs, built with the conventions
//! of `workload/build.rs` (names, `m x k x n`, batch, operand bits, sparsity), so that a
//! recorded micro-batch and the analytic Trace describe the same products.

use super::base::FrozenLinear;
use super::real::Real;
use crate::workload::{BOperand, GemmOp};

/// A product against a frozen decoder linear: `w_bits` and measured sparsity of the
/// weight, `a_bits` of the activation operand, rows stacked over the micro-batch.
pub fn frozen<T: Real>(
    name: impl Into<String>,
    m: usize,
    k: usize,
    n: usize,
    w: &FrozenLinear<T>,
    a_bits: u32,
) -> GemmOp {
    GemmOp {
        name: name.into(),
        m: m as u64,
        k: k as u64,
        n: n as u64,
        batch: 1,
        w_bits: w.w_bits,
        a_bits,
        sparsity: w.sparsity,
        b_operand: BOperand::Weight,
        per_sequence: false,
        a_on_chip: false,
        c_on_chip: false,
    }
}

/// A dense 16-bit product against a stored weight (LoRA adapters, LM heads).
pub fn weight16(name: impl Into<String>, m: usize, k: usize, n: usize) -> GemmOp {
    GemmOp {
        name: name.into(),
        m: m as u64,
        k: k as u64,
        n: n as u64,
        batch: 1,
        w_bits: 16,
        a_bits: 16,
        sparsity: 0.0,
        b_operand: BOperand::Weight,
        per_sequence: false,
        a_on_chip: false,
        c_on_chip: false,
    }
}

/// A product whose B operand is a run-time tensor of `b_bits` (K/V, probabilities, saved
/// inputs of weight gradients), per sequence, `batch` times.
pub fn activation(
    name: impl Into<String>,
    m: usize,
    k: usize,
    n: usize,
    batch: usize,
    b_bits: u32,
) -> GemmOp {
    GemmOp {
        name: name.into(),
        m: m as u64,
        k: k as u64,
        n: n as u64,
        batch: batch as u64,
        w_bits: b_bits,
        a_bits: 16,
        sparsity: 0.0,
        b_operand: BOperand::Activation,
        per_sequence: true,
        a_on_chip: false,
        c_on_chip: false,
    }
}
