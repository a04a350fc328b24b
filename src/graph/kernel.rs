//! The description of a fused elementwise kernel: what the planner (`fuse`)
//! produces and the code generator (`jit`) consumes, so that neither needs
//! the other.
//!
//! A kernel runs over a 2-D iteration space `outer × inner`. Each output is
//! written contiguously; each input is read, within a row, either
//! contiguously or as one value splatted over the row, and advances by its
//! own stride (in elements) from one row to the next. Broadcast inputs are
//! read through these strides, never materialized.

use super::op::{BinaryOp, ReduceOp, UnaryOp};
use super::DType;

/// An SSA value of a kernel body: an index into [`KernelSpec::body`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KValue(pub u32);

impl KValue {
    /// The index as `usize`.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// One instruction of a kernel body. Operands refer to earlier instructions.
#[derive(Clone, Debug, PartialEq)]
pub enum KInst {
    /// The current element of input `k`.
    Input(usize),
    /// A scalar constant (already rounded to the kernel's dtype).
    Const(f64),
    /// An elementwise unary operation.
    Unary(UnaryOp, KValue),
    /// An elementwise binary operation.
    Binary(BinaryOp, KValue, KValue),
    /// `where(cond, a, b)`.
    Select(KValue, KValue, KValue),
}

/// How an input is read along a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InnerAccess {
    /// One element per position of the row.
    Contiguous,
    /// One element for the whole row (broadcast along it).
    Splat,
}

/// Which way a reduction output runs through a kernel's `rows × inner` space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReduceKind {
    /// One result per row, written at `ptr[r]`: the row's values combined in
    /// a fixed order (vector accumulators, then lanes left to right, then the
    /// scalar tail).
    PerRow,
    /// One result per column, accumulated at `ptr[c]` across rows in row
    /// order; the caller fills the buffer with the identity first.
    PerColumn,
}

/// A reduction computed inside a kernel, from a body value.
#[derive(Clone, Debug, PartialEq)]
pub struct KReduction {
    /// The value reduced.
    pub value: KValue,
    /// `Sum`, `Max` or `Min` (a mean is a sum the caller scales).
    pub op: ReduceOp,
    /// Along rows or columns.
    pub kind: ReduceKind,
}

/// The identity of a reduction that kernels can compute, or `None`.
pub fn reduce_identity(op: ReduceOp) -> Option<f64> {
    match op {
        ReduceOp::Sum | ReduceOp::Mean => Some(0.0),
        ReduceOp::Max => Some(f64::NEG_INFINITY),
        ReduceOp::Min => Some(f64::INFINITY),
        // products stay out of kernels: a library step (`driver::reduce`)
        ReduceOp::LogSumExp | ReduceOp::Prod => None,
    }
}

/// A fused elementwise kernel.
#[derive(Clone, Debug, PartialEq)]
pub struct KernelSpec {
    /// A name for listings (`k0`, `k1`, ...).
    pub name: String,
    /// The element type of every value.
    pub dtype: DType,
    /// How each input is read along a row.
    pub inputs: Vec<InnerAccess>,
    /// The instructions, in order.
    pub body: Vec<KInst>,
    /// The values written to the outputs, in order.
    pub outputs: Vec<KValue>,
    /// Reductions, after the outputs in the pointer table.
    pub reductions: Vec<KReduction>,
}

impl KernelSpec {
    /// The number of operations: those of the body (not inputs or
    /// constants) and the reductions (a kernel may be a reduction alone).
    pub fn op_count(&self) -> usize {
        self.body
            .iter()
            .filter(|i| !matches!(i, KInst::Input(_) | KInst::Const(_)))
            .count()
            + self.reductions.len()
    }

    /// Whether the body is a few cheap operations: at most 12 instructions,
    /// none of them a function lowered to an inline approximation (`exp`,
    /// `tanh`, ... or `pow`). Such a kernel is limited by memory traffic, not
    /// arithmetic: the code generator unrolls it further, and the executor
    /// streams its large outputs.
    pub fn is_light(&self) -> bool {
        self.body.len() <= 12
            && self.body.iter().all(|i| match i {
                KInst::Unary(u, _) => !u.facts().approximated,
                KInst::Binary(op, _, _) => !op.facts().approximated,
                _ => true,
            })
    }

    /// Whether the code for `self` also serves `other`: the same body,
    /// dtype and access patterns (names may differ).
    pub fn same_code(&self, other: &KernelSpec) -> bool {
        self.dtype == other.dtype
            && self.inputs == other.inputs
            && self.body == other.body
            && self.outputs == other.outputs
            && self.reductions == other.reductions
    }

    /// Checks the body's internal consistency: operands refer to earlier
    /// values, inputs and outputs exist. The code generator relies on it.
    pub fn validate(&self) -> Result<(), String> {
        let n = self.body.len();
        for (i, inst) in self.body.iter().enumerate() {
            let before = |v: &KValue| v.index() < i;
            let ok = match inst {
                KInst::Input(k) => *k < self.inputs.len(),
                KInst::Const(_) => true,
                KInst::Unary(_, a) => before(a),
                KInst::Binary(_, a, b) => before(a) && before(b),
                KInst::Select(c, a, b) => before(c) && before(a) && before(b),
            };
            if !ok {
                return Err(format!(
                    "kernel {}: instruction {i} is malformed",
                    self.name
                ));
            }
        }
        let written = self.outputs.len() + self.reductions.len();
        if written == 0
            || self.outputs.iter().any(|v| v.index() >= n)
            || self.reductions.iter().any(|r| {
                r.value.index() >= n || matches!(r.op, ReduceOp::Mean | ReduceOp::LogSumExp)
            })
        {
            return Err(format!("kernel {}: bad outputs", self.name));
        }
        Ok(())
    }
}
