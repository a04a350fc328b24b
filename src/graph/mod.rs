//! The computation graph: dtypes, shapes with NumPy broadcasting, the closed
//! set of operations with their scalar math, the hash-consed arena, and the
//! `Tensor` builder API.

mod arena;
mod dtype;
mod error;
mod facts;
mod infer;
pub mod kernel;
mod literal;
mod op;
mod shape;
mod structure;
mod tensor;
mod window;

pub use arena::{Graph, Node, NodeId, Origin};
pub use dtype::{DType, Real};
pub use error::GraphError;
pub use facts::{BinaryFacts, SignRule, UnaryFacts};
pub(crate) use infer::infer;
pub use infer::normalize_axes;
pub use literal::Literal;
pub use op::{
    pairwise_sum, select, BinaryOp, Op, ReduceOp, UnaryOp, BINARY_OPS, REDUCE_OPS, SELU_SCALE,
    SELU_SCALE_ALPHA, UNARY_OPS,
};
pub use shape::{
    broadcast_concrete, broadcast_static, broadcasts_to, checked_product, fits_in_memory,
    may_broadcast_to, reshape_dims, Dim, Shape, MAX_ELEMENTS,
};
pub use structure::{
    hot_index, index_value, resolve_slice, sliced_dims, split_at_axis, AxisSlice, SliceItem,
};
pub use tensor::Tensor;
pub use window::{Geometry, Padding, Window};
