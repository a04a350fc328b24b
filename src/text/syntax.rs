//! The language's tables, shared by the parser and the printer: which
//! operators are infix and how tightly they bind, and which functions exist.
//!
//! Names come from the operations themselves ([`UnaryOp::name`],
//! [`BinaryOp::name`], [`ReduceOp::name`], [`Op::name`]), so the language
//! cannot drift from the graph.

use crate::graph::{BinaryOp, Op, Padding, ReduceOp, UnaryOp, Window, BINARY_OPS};

use super::lexer::Token;

/// How tightly an expression binds, loosest first: an operand whose level is
/// below what its position needs is printed in parentheses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Level {
    /// A whole expression (statement right-hand side, function argument).
    Top,
    /// `<` `<=` `>` `>=` `==` `!=`
    Compare,
    /// `+` `-`
    Sum,
    /// `*` `/` `@`
    Product,
    /// unary `-`
    Unary,
    /// `**`
    Power,
    /// names, numbers, lists, calls, parenthesized expressions
    Atom,
}

/// The level and symbol of an infix operation, `None` for the others.
pub(crate) fn infix(op: &Op) -> Option<(Level, &'static str)> {
    match op {
        Op::MatMul => Some((Level::Product, "@")),
        Op::Binary(b) => {
            let level = match b {
                BinaryOp::Add | BinaryOp::Sub => Level::Sum,
                BinaryOp::Mul | BinaryOp::Div => Level::Product,
                BinaryOp::Pow => Level::Power,
                b if b.is_comparison() => Level::Compare,
                _ => return None,
            };
            Some((level, b.symbol()?))
        }
        _ => None,
    }
}

/// The infix operation a token stands for, with its level.
pub(crate) fn infix_token(tok: &Token) -> Option<(Level, Op)> {
    let sym = tok.symbol()?;
    BINARY_OPS
        .iter()
        .map(|&b| Op::Binary(b))
        .chain([Op::MatMul])
        .find_map(|op| match infix(&op) {
            Some((level, s)) if s == sym => Some((level, op)),
            _ => None,
        })
}

/// A function of the language.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Func {
    /// `exp(x)`, `neg(x)`, ...
    Unary(UnaryOp),
    /// `pow(a, b)`, `less(a, b)`, `mul_no_nan(a, b)`, ...
    Binary(BinaryOp),
    /// `sum(x)`, `sum(x, axes)`, `sum(x, axes, keepdims)`, ...
    Reduce(ReduceOp),
    /// Every other operation, named by [`Op::name`]; parameters (dims,
    /// axes, permutation) come from the arguments.
    Op(Op),
    /// `grad(y, x)`
    Grad,
    /// `hessian(y, x)`, `jacobian(y, x)`, `jvp(y, x, v)`
    Transform(Transform),
    /// `fill(value, [dims])`: a constant of one value (an extension, so that
    /// large or empty constants print compactly).
    Fill,
    /// A function that is a composition of operations (printed expanded).
    Sugar(Sugar),
}

/// The derivative transforms beside `grad`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transform {
    /// `hessian(y, x)`: the second derivatives of `sum(y)`.
    Hessian,
    /// `jacobian(y, x)`: every element of `y` against every element of `x`.
    Jacobian,
    /// `jvp(y, x, v)`: the derivative of `y` in the direction `v`.
    Jvp,
}

/// The transforms by name.
const TRANSFORMS: [(&str, Transform); 3] = [
    ("hessian", Transform::Hessian),
    ("jacobian", Transform::Jacobian),
    ("jvp", Transform::Jvp),
];

/// Functions built from other operations, whose values and gradients are
/// exactly TensorFlow's with no operation of their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sugar {
    /// `squared_difference(a, b)` is `square(a - b)`: TensorFlow's value
    /// `(a-b)*(a-b)` and gradient `2 g (a - b)`, rounded alike.
    SquaredDifference,
    /// `leaky_relu(x[, alpha])` is `where(x > 0, x, alpha * x)` (alpha 0.2 by
    /// default), TensorFlow's kernel and its select-gradient (alpha at 0).
    LeakyRelu,
    /// `sigmoid_cross_entropy(labels, logits)` is TensorFlow's own
    /// composition: `where(z >= 0, z, 0) - z * labels + log1p(exp(where(z >=
    /// 0, -z, z)))`, its gradient the one autodiff gives that composition.
    SigmoidCrossEntropy,
    /// `squeeze(x[, axes])` is a reshape to `x`'s shape without those size-1
    /// axes (without every size-1 axis when none are named); it needs `x`'s
    /// shape when the program is read.
    Squeeze,
    /// `stack([a, b, ...][, axis])` is `concat` of each operand with a new
    /// axis at `axis` (0 by default), as `tf.stack`.
    Stack,
}

/// The sugar functions by name.
const SUGAR: [(&str, Sugar); 5] = [
    ("stack", Sugar::Stack),
    ("squeeze", Sugar::Squeeze),
    ("squared_difference", Sugar::SquaredDifference),
    ("leaky_relu", Sugar::LeakyRelu),
    ("sigmoid_cross_entropy", Sugar::SigmoidCrossEntropy),
];

/// The name of the gradient function.
pub(crate) const GRAD: &str = "grad";
/// The name of the constant-filling function.
pub(crate) const FILL: &str = "fill";
/// The word for "all axes" in a reduction's axis argument.
pub(crate) const ALL_AXES: &str = "None";

/// The window a pooling's parameters fill in.
const WINDOW: Window = Window {
    ksize: [1, 1],
    strides: [1, 1],
    padding: Padding::Valid,
};

/// The operations callable by name that are not unary, binary or reductions.
fn other_ops() -> [Op; 39] {
    [
        Op::Where,
        Op::MatMul,
        Op::StopGradient,
        Op::Identity,
        Op::SumTo,
        Op::BroadcastLike,
        Op::ReshapeLike,
        Op::OnesLike,
        Op::ZerosLike,
        Op::Reshape { dims: Vec::new() },
        Op::Transpose { perm: None },
        Op::BroadcastTo { dims: Vec::new() },
        Op::ExpandDims { axes: Vec::new() },
        Op::Count { axes: None },
        Op::Softmax { axis: -1 },
        Op::LogSoftmax { axis: -1 },
        Op::SoftmaxCrossEntropy,
        Op::Reverse { axes: Vec::new() },
        Op::Tile {
            multiples: Vec::new(),
        },
        Op::Cumsum {
            axis: 0,
            exclusive: false,
            reverse: false,
        },
        Op::Cumprod {
            axis: 0,
            exclusive: false,
            reverse: false,
        },
        Op::ArgExtreme {
            axis: 0,
            min: false,
        },
        Op::ArgExtreme { axis: 0, min: true },
        Op::SliceGrad { items: Vec::new() },
        Op::Pad { widths: Vec::new() },
        Op::Concat { axis: 0 },
        Op::Gather { axis: 0 },
        Op::GatherGrad { axis: 0 },
        Op::OneHot { depth: 0 },
        Op::LabelOneHot { depth: 0 },
        Op::SparseSoftmaxCrossEntropy,
        Op::Conv2d {
            strides: [1, 1],
            padding: Padding::Valid,
        },
        Op::Conv2dBackpropInput {
            strides: [1, 1],
            padding: Padding::Valid,
        },
        Op::Conv2dBackpropFilter {
            strides: [1, 1],
            padding: Padding::Valid,
        },
        Op::MaxPool2d { window: WINDOW },
        Op::MaxPoolGrad { window: WINDOW },
        Op::MaxPoolGradGrad { window: WINDOW },
        Op::AvgPool2d { window: WINDOW },
        Op::AvgPoolGrad { window: WINDOW },
    ]
}

/// Looks a function up by name.
pub(crate) fn function(name: &str) -> Option<Func> {
    if let Some(u) = UnaryOp::from_name(name) {
        return Some(Func::Unary(u));
    }
    if let Some(b) = BinaryOp::from_name(name) {
        return Some(Func::Binary(b));
    }
    if let Some(r) = ReduceOp::from_name(name) {
        return Some(Func::Reduce(r));
    }
    match name {
        GRAD => return Some(Func::Grad),
        FILL => return Some(Func::Fill),
        _ => {}
    }
    if let Some((_, t)) = TRANSFORMS.iter().find(|(n, _)| *n == name) {
        return Some(Func::Transform(*t));
    }
    if let Some((_, s)) = SUGAR.iter().find(|(n, _)| *n == name) {
        return Some(Func::Sugar(*s));
    }
    other_ops()
        .into_iter()
        .find(|op| op.name() == name)
        .map(Func::Op)
}

/// What one argument of a function is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Arg {
    /// Any expression.
    Expr,
    /// A name (the `x` of `grad`).
    Name,
    /// An integer, a list of integers, or `None` (all axes).
    Axes,
    /// An integer or a list of integers (`expand_dims`).
    AxisList,
    /// `1` or `0`.
    Keepdims,
    /// A list of sizes (`broadcast_to`, `fill`).
    Dims,
    /// A list of sizes, one of which may be -1 (`reshape`).
    ReshapeDims,
    /// A list of axes (`transpose`).
    Perm,
    /// A number, optionally negative (`fill`).
    Number,
    /// One axis, optionally negative (`softmax`).
    Axis,
    /// `1` or `0` (`cumsum`'s exclusive and reverse).
    Flag,
    /// A list of any expressions (`concat`, `stack`).
    ExprList,
    /// Slice items in brackets (`slice_grad`).
    SliceItems,
    /// `[[before, after], ...]` (`pad`).
    PadWidths,
    /// One non-negative integer (`one_hot`'s depth).
    Size,
    /// A positive integer or a list of two (`[height, width]`: strides, window sizes).
    Pair,
    /// `"VALID"` or `"SAME"`.
    Padding,
}

impl Func {
    /// The arguments the function takes, and how many of them are required.
    pub(crate) fn signature(&self) -> (&'static [Arg], usize) {
        use Arg::*;
        match self {
            Func::Unary(_) => (&[Expr], 1),
            Func::Binary(_) => (&[Expr, Expr], 2),
            Func::Reduce(_) => (&[Expr, Axes, Keepdims], 1),
            Func::Grad | Func::Transform(Transform::Hessian | Transform::Jacobian) => {
                (&[Expr, Name], 2)
            }
            Func::Transform(Transform::Jvp) => (&[Expr, Name, Expr], 3),
            Func::Fill => (&[Number, Dims], 2),
            Func::Sugar(Sugar::SquaredDifference | Sugar::SigmoidCrossEntropy) => {
                (&[Expr, Expr], 2)
            }
            Func::Sugar(Sugar::LeakyRelu) => (&[Expr, Number], 1),
            Func::Sugar(Sugar::Squeeze) => (&[Expr, AxisList], 1),
            Func::Sugar(Sugar::Stack) => (&[ExprList, Axis], 1),
            Func::Op(op) => match op {
                // bindings are written `name := expr`, not called
                Op::Placeholder { .. } | Op::Constant(_) | Op::Bind { .. } => (&[], 0),
                Op::Unary(_) | Op::StopGradient | Op::Identity | Op::OnesLike | Op::ZerosLike => {
                    (&[Expr], 1)
                }
                Op::Binary(_)
                | Op::MatMul
                | Op::SumTo
                | Op::BroadcastLike
                | Op::ReshapeLike
                | Op::SoftmaxCrossEntropy => (&[Expr, Expr], 2),
                Op::Softmax { .. } | Op::LogSoftmax { .. } => (&[Expr, Axis], 1),
                Op::Reverse { .. } => (&[Expr, AxisList], 2),
                Op::Tile { .. } => (&[Expr, Dims], 2),
                Op::Cumsum { .. } | Op::Cumprod { .. } => (&[Expr, Axis, Flag, Flag], 2),
                Op::ArgExtreme { .. } => (&[Expr, Axis], 2),
                Op::Where => (&[Expr, Expr, Expr], 3),
                Op::Reduce { .. } => (&[Expr, Axes, Keepdims], 1),
                Op::Reshape { .. } => (&[Expr, ReshapeDims], 2),
                Op::Transpose { .. } => (&[Expr, Perm], 1),
                Op::BroadcastTo { .. } => (&[Expr, Dims], 2),
                Op::ExpandDims { .. } => (&[Expr, AxisList], 2),
                Op::Count { .. } => (&[Expr, Axes], 1),
                // written `x[...]`
                Op::Slice { .. } => (&[], 0),
                Op::SliceGrad { .. } => (&[Expr, Expr, SliceItems], 3),
                Op::Pad { .. } => (&[Expr, PadWidths], 2),
                Op::Concat { .. } => (&[ExprList, Axis], 2),
                Op::Gather { .. } => (&[Expr, Expr, Axis], 2),
                Op::GatherGrad { .. } => (&[Expr, Expr, Expr, Axis], 4),
                Op::OneHot { .. } | Op::LabelOneHot { .. } => (&[Expr, Size], 2),
                Op::SparseSoftmaxCrossEntropy => (&[Expr, Expr], 2),
                Op::Conv2d { .. } => (&[Expr, Expr, Pair, Padding], 2),
                Op::Conv2dBackpropInput { .. } | Op::Conv2dBackpropFilter { .. } => {
                    (&[Expr, Expr, Expr, Pair, Padding], 5)
                }
                Op::MaxPool2d { .. } | Op::AvgPool2d { .. } => (&[Expr, Pair, Pair, Padding], 2),
                Op::MaxPoolGrad { .. } | Op::MaxPoolGradGrad { .. } | Op::AvgPoolGrad { .. } => {
                    (&[Expr, Expr, Pair, Pair, Padding], 5)
                }
            },
        }
    }
}
