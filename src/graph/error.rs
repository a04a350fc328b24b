//! Errors found while building a graph.

use super::dtype::DType;
use super::shape::Shape;
use super::NodeId;

/// Why a node could not be added to a graph.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum GraphError {
    /// Two shapes cannot broadcast together.
    #[error("`{op}`: shapes {lhs} and {rhs} cannot broadcast together ({a} against {b})")]
    Broadcast {
        /// The operation.
        op: &'static str,
        /// Shape of the first operand.
        lhs: Shape,
        /// Shape of the second operand.
        rhs: Shape,
        /// The first mismatching size.
        a: usize,
        /// The size it does not match.
        b: usize,
    },
    /// `squeeze` of an axis whose size is not 1.
    #[error("`squeeze`: axis {axis} has size {size}, not 1")]
    Squeeze {
        /// The axis.
        axis: usize,
        /// Its size.
        size: usize,
    },
    /// `tile` with a number of multiples other than the operand's rank.
    #[error("`tile`: {got} multiples for a tensor of rank {rank} (one per axis)")]
    Multiples {
        /// Multiples given.
        got: usize,
        /// The operand's rank.
        rank: usize,
    },
    /// More slice items than the operand has axes.
    #[error("`slice`: {items} indices for a tensor of rank {rank}")]
    SliceItems {
        /// Items given (the ellipsis expanded).
        items: usize,
        /// The operand's rank.
        rank: usize,
    },
    /// An integer index outside its axis.
    #[error("`slice`: index {index} is outside axis {axis} of size {size}")]
    SliceIndex {
        /// The index as written.
        index: i64,
        /// The axis.
        axis: usize,
        /// Its size.
        size: usize,
    },
    /// A slice step of 0.
    #[error("`slice`: the step of axis {axis} is 0")]
    SliceStep {
        /// The axis.
        axis: usize,
    },
    /// `pad` with a number of widths other than the operand's rank.
    #[error("`pad`: {got} pairs of widths for a tensor of rank {rank} (one per axis)")]
    PadWidths {
        /// Pairs given.
        got: usize,
        /// The operand's rank.
        rank: usize,
    },
    /// `concat` operands whose shapes differ off the axis.
    #[error("`concat`: operand {index} has shape {rhs}, which does not match {lhs} except along axis {axis}")]
    ConcatShapes {
        /// The axis.
        axis: usize,
        /// The first operand's shape.
        lhs: Shape,
        /// The mismatching operand's shape.
        rhs: Shape,
        /// Its position in the list.
        index: usize,
    },
    /// `sparse_softmax_cross_entropy` labels not of the logits' shape without its last axis.
    #[error("`sparse_softmax_cross_entropy`: labels of shape {labels} for logits of shape {logits} (labels must have the logits' shape without the last axis)")]
    SparseLabels {
        /// The labels' shape.
        labels: Shape,
        /// The logits' shape.
        logits: Shape,
    },
    /// A convolution or pooling whose shapes or window do not fit.
    #[error("`{op}`: {detail}")]
    Window {
        /// The operation.
        op: &'static str,
        /// What does not fit.
        detail: String,
    },
    /// Operands that must have one shape and do not.
    #[error("`{op}`: operands must have the same shape, got {lhs} and {rhs}")]
    ShapesDiffer {
        /// The operation.
        op: &'static str,
        /// Shape of the first operand.
        lhs: Shape,
        /// Shape of the second operand.
        rhs: Shape,
    },
    /// Operands of different dtypes.
    #[error("`{op}`: operands have different dtypes ({a} and {b})")]
    DType {
        /// The operation.
        op: &'static str,
        /// The first dtype.
        a: DType,
        /// The other dtype.
        b: DType,
    },
    /// An axis outside the tensor's rank.
    #[error("`{op}`: axis {axis} is out of range for a tensor of rank {rank}")]
    Axis {
        /// The operation.
        op: &'static str,
        /// The axis as given.
        axis: i64,
        /// The operand's rank.
        rank: usize,
    },
    /// An axis named twice.
    #[error("`{op}`: axis {axis} is repeated")]
    RepeatedAxis {
        /// The operation.
        op: &'static str,
        /// The repeated axis.
        axis: i64,
    },
    /// An operation that needs to know its operand's rank at build time.
    #[error("`{op}` needs an operand of known rank here ({detail})")]
    UnknownRank {
        /// The operation.
        op: &'static str,
        /// What it needed the rank for.
        detail: &'static str,
    },
    /// An operation that needs sizes known when the graph is built (a
    /// gradient that slices or reshapes by them).
    #[error("`{op}` needs operand sizes known when the graph is built ({detail})")]
    UnknownSize {
        /// The operation.
        op: &'static str,
        /// What it needed the sizes for.
        detail: &'static str,
    },
    /// A reshape whose sizes cannot match.
    #[error("`reshape`: cannot reshape {from} into {to:?}")]
    Reshape {
        /// The operand's shape.
        from: Shape,
        /// The requested dimensions.
        to: Vec<i64>,
    },
    /// A malformed permutation.
    #[error("`transpose`: {perm:?} is not a permutation of the axes of a tensor of rank {rank}")]
    Permutation {
        /// The permutation given.
        perm: Vec<usize>,
        /// The operand's rank.
        rank: usize,
    },
    /// `broadcast_to` to a shape the operand cannot broadcast to.
    #[error("`{op}`: cannot broadcast {from} to {to}")]
    BroadcastTo {
        /// The operation.
        op: &'static str,
        /// The operand's shape.
        from: Shape,
        /// The target shape.
        to: Shape,
    },
    /// `matmul` on an operand of rank below 2.
    #[error("`matmul`: operands must be at least 2-D, got shape {shape}")]
    MatMulRank {
        /// The offending operand's shape.
        shape: Shape,
    },
    /// `matmul` with mismatched inner dimensions.
    #[error("`matmul`: inner dimensions do not match ({a} @ {b})")]
    MatMulInner {
        /// The left operand's shape.
        a: Shape,
        /// The right operand's shape.
        b: Shape,
    },
    /// A placeholder name used twice with different dtype or shape.
    #[error("placeholder `{name}` already exists with another dtype or shape")]
    DuplicatePlaceholder {
        /// The name.
        name: String,
    },
    /// A node id that does not belong to this graph.
    #[error("node {0} is not in this graph")]
    UnknownNode(NodeId),
    /// A tensor handle from another graph.
    #[error("a tensor from another graph was used in this one")]
    ForeignTensor,
    /// Wrong number of inputs for an operation.
    #[error("`{op}` takes {expected} inputs, got {got}")]
    Arity {
        /// The operation.
        op: &'static str,
        /// Inputs it takes.
        expected: usize,
        /// Inputs given.
        got: usize,
    },
    /// A constant whose data does not fill its shape, or a shape too large.
    #[error("constant of shape {shape:?} has {len} values")]
    ConstantShape {
        /// The shape.
        shape: Vec<usize>,
        /// The number of values given.
        len: usize,
    },
    /// A shape whose element count overflows.
    #[error("`{op}`: shape {shape} has more elements than fit in memory")]
    TooLarge {
        /// The operation.
        op: &'static str,
        /// The shape.
        shape: Shape,
    },
}
