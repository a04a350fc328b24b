//! What kind of routine computes each library step (a step that is not
//! fused into a native kernel): `gradjit show` marks steps by it. Every one
//! is native code in the whole-program function (`crate::driver`).

use crate::graph::{Op, ReduceOp};

/// What runs a library step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Routine {
    /// A matrix product, through the GEMM.
    Gemm,
    /// Data movement: the input copied in some order, or a fill.
    Copy,
    /// A loop of its own over lanes of one axis (`cumsum`, `argmax`).
    Scan,
    /// Elements combined into the result element they reduce to
    /// (reductions no kernel absorbs, `sum_to`, `count`).
    Reduce,
    /// Windows walked over an image (pooling and its gradients).
    Window,
    /// Elements moved by index (`gather`, its gradient, `one_hot`), every
    /// index checked before anything is read.
    Index,
}

/// The routine that computes the library step `op`; `None` for the
/// operations that never are one (leaves; elementwise work, which kernels
/// do; the composites `fuse` writes out as kernels).
pub fn routine(op: &Op) -> Option<Routine> {
    Some(match op {
        Op::MatMul
        | Op::Conv2d { .. }
        | Op::Conv2dBackpropInput { .. }
        | Op::Conv2dBackpropFilter { .. } => Routine::Gemm,
        Op::MaxPool2d { .. }
        | Op::MaxPoolGrad { .. }
        | Op::MaxPoolGradGrad { .. }
        | Op::AvgPool2d { .. }
        | Op::AvgPoolGrad { .. } => Routine::Window,
        Op::Reshape { .. }
        | Op::ReshapeLike
        | Op::ExpandDims { .. }
        | Op::StopGradient
        | Op::Identity
        | Op::Bind { .. }
        | Op::Transpose { .. }
        | Op::BroadcastTo { .. }
        | Op::BroadcastLike
        | Op::OnesLike
        | Op::ZerosLike
        | Op::Reverse { .. }
        | Op::Tile { .. }
        | Op::Slice { .. }
        | Op::SliceGrad { .. }
        | Op::Pad { .. }
        | Op::Concat { .. } => Routine::Copy,
        Op::Gather { .. } | Op::GatherGrad { .. } | Op::OneHot { .. } | Op::LabelOneHot { .. } => {
            Routine::Index
        }
        Op::Cumsum { .. } | Op::Cumprod { .. } | Op::ArgExtreme { .. } => Routine::Scan,
        Op::Reduce {
            op: ReduceOp::Sum | ReduceOp::Mean | ReduceOp::Max | ReduceOp::Min | ReduceOp::Prod,
            ..
        }
        | Op::SumTo
        | Op::Count { .. } => Routine::Reduce,
        Op::Placeholder { .. }
        | Op::Constant(_)
        | Op::Unary(_)
        | Op::Binary(_)
        | Op::Where
        | Op::Reduce {
            op: ReduceOp::LogSumExp,
            ..
        }
        | Op::Softmax { .. }
        | Op::LogSoftmax { .. }
        | Op::SoftmaxCrossEntropy
        | Op::SparseSoftmaxCrossEntropy => return None,
    })
}
