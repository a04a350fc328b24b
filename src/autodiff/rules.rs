//! The gradient rules: one arm per operation, each written with
//! differentiable operations so that gradients of gradients work to any order.
//!
//! Conventions follow TensorFlow's registered gradients.

use crate::graph::{
    normalize_axes, BinaryOp, Graph, GraphError, NodeId, Op, ReduceOp, UnaryOp, SELU_SCALE,
    SELU_SCALE_ALPHA,
};

mod restructure;

/// Builds gradient expressions in a graph; every method adds (or finds) a node.
pub(crate) struct Builder<'g> {
    pub g: &'g Graph,
}

impl Builder<'_> {
    fn op(&self, op: Op, inputs: &[NodeId]) -> Result<NodeId, GraphError> {
        self.g.add_node(op, inputs)
    }
    fn un(&self, u: UnaryOp, x: NodeId) -> Result<NodeId, GraphError> {
        self.op(Op::Unary(u), &[x])
    }
    fn bin(&self, b: BinaryOp, x: NodeId, y: NodeId) -> Result<NodeId, GraphError> {
        self.op(Op::Binary(b), &[x, y])
    }
    pub fn add(&self, x: NodeId, y: NodeId) -> Result<NodeId, GraphError> {
        self.bin(BinaryOp::Add, x, y)
    }
    fn sub(&self, x: NodeId, y: NodeId) -> Result<NodeId, GraphError> {
        self.bin(BinaryOp::Sub, x, y)
    }
    fn mul(&self, x: NodeId, y: NodeId) -> Result<NodeId, GraphError> {
        self.bin(BinaryOp::Mul, x, y)
    }
    fn div(&self, x: NodeId, y: NodeId) -> Result<NodeId, GraphError> {
        self.bin(BinaryOp::Div, x, y)
    }
    fn neg(&self, x: NodeId) -> Result<NodeId, GraphError> {
        self.un(UnaryOp::Neg, x)
    }
    /// A scalar constant of `like`'s dtype.
    fn c(&self, v: f64, like: NodeId) -> NodeId {
        self.g.add_scalar(v, self.g.node(like).dtype)
    }
    fn select(&self, c: NodeId, a: NodeId, b: NodeId) -> Result<NodeId, GraphError> {
        self.op(Op::Where, &[c, a, b])
    }
    /// `zeros_like(x)`: a connected zero gradient.
    pub fn zeros_like(&self, x: NodeId) -> Result<NodeId, GraphError> {
        self.op(Op::ZerosLike, &[x])
    }
    /// `ones_like(x)`: the default upstream gradient.
    pub fn ones_like(&self, x: NodeId) -> Result<NodeId, GraphError> {
        self.op(Op::OnesLike, &[x])
    }

    /// Sums a gradient back to the shape of the operand it flows to, undoing
    /// broadcasting; omitted where both shapes are known and equal.
    fn unbroadcast(&self, grad: NodeId, x: NodeId) -> Result<NodeId, GraphError> {
        let (gs, xs) = (self.g.node(grad).shape, self.g.node(x).shape);
        if gs.is_concrete() && gs == xs {
            Ok(grad)
        } else {
            self.op(Op::SumTo, &[grad, x])
        }
    }

    /// Puts reduced axes back (as size 1) on the gradient of a reduction.
    fn restore_axes(
        &self,
        g: NodeId,
        axes: Option<&[usize]>,
        keepdims: bool,
    ) -> Result<NodeId, GraphError> {
        match (axes, keepdims) {
            (Some(ax), false) if !ax.is_empty() => {
                self.op(Op::ExpandDims { axes: ax.to_vec() }, &[g])
            }
            // a full reduction gives a scalar, which broadcasts as it is
            _ => Ok(g),
        }
    }

    /// The number of elements a reduction combines, as a constant when known.
    fn count(&self, x: NodeId, axes: Option<&[usize]>) -> Result<NodeId, GraphError> {
        let node = self.g.node(x);
        let known = node.shape.concrete().map(|dims| match axes {
            None => dims.iter().product::<usize>(),
            Some(ax) => ax
                .iter()
                .map(|&a| dims.get(a).copied().unwrap_or(1))
                .product(),
        });
        match known {
            Some(n) => Ok(self.c(n as f64, x)),
            None => self.op(
                Op::Count {
                    axes: axes.map(<[usize]>::to_vec),
                },
                &[x],
            ),
        }
    }

    /// `axis` of `x` counted from 0 (negative counts from the end); the
    /// rank must be known.
    fn axis(&self, op: &'static str, x: NodeId, axis: i64) -> Result<usize, GraphError> {
        let rank = self.g.node(x).shape.rank().ok_or(GraphError::UnknownRank {
            op,
            detail: "its gradient sums along the axis",
        })?;
        Ok(normalize_axes(op, &[axis], Some(rank))?[0])
    }

    /// `sum(x, axis, keepdims = 1)`.
    fn sum_kept(&self, x: NodeId, axis: usize) -> Result<NodeId, GraphError> {
        let sum = Op::Reduce {
            op: ReduceOp::Sum,
            axes: Some(vec![axis]),
            keepdims: true,
        };
        self.op(sum, &[x])
    }

    /// Swaps the last two axes (the adjoint of a real matrix).
    fn swap_last(&self, x: NodeId) -> Result<NodeId, GraphError> {
        let rank = self.g.node(x).shape.rank().ok_or(GraphError::UnknownRank {
            op: "matmul",
            detail: "its gradient transposes the operands",
        })?;
        let mut perm: Vec<usize> = (0..rank).collect();
        perm.swap(rank - 2, rank - 1);
        self.op(Op::Transpose { perm: Some(perm) }, &[x])
    }
}

/// The gradients of node `id`'s inputs given `g`, the gradient of its output.
///
/// `y` is the tensor that stands for the output: `id` itself, or the bound
/// name that is this instance of `id`'s operation (see [`super::instance`]);
/// rules that TensorFlow builds from the output read `y`.
/// `want[k]` says whether input `k`'s gradient is needed; the result has one
/// entry per input, `None` where no gradient flows (or none was wanted).
pub(crate) fn input_grads(
    b: &Builder<'_>,
    id: NodeId,
    y: NodeId,
    g: NodeId,
    want: &[bool],
) -> Result<Vec<Option<NodeId>>, GraphError> {
    let node = b.g.node(id);
    let ins = &node.inputs;
    let x = ins.first().copied().unwrap_or(y);
    let w = |k: usize| want.get(k).copied().unwrap_or(false);
    // `one(k, f)` builds input k's gradient only when it is wanted
    macro_rules! one {
        ($k:expr, $e:expr) => {
            if w($k) {
                Some($e)
            } else {
                None
            }
        };
    }
    let grads: Vec<Option<NodeId>> = match &node.op {
        // leaves and ops without a gradient: nothing flows
        Op::Placeholder { .. } | Op::Constant(_) => vec![],
        Op::StopGradient | Op::OnesLike | Op::ZerosLike | Op::Count { .. } => vec![None],
        Op::Unary(u) => vec![if w(0) {
            unary_grad(b, *u, x, y, g)?
        } else {
            None
        }],
        Op::Binary(op) => {
            let (a, c) = (ins[0], ins[1]);
            let (ga, gc) = binary_grad(b, *op, a, c, y, g, w(0), w(1))?;
            vec![ga, gc]
        }
        // d/da where(c, a, b) = where(c, g, 0); d/db = where(c, 0, g); c: none
        Op::Where => {
            let (c, a, e) = (ins[0], ins[1], ins[2]);
            let zero = b.c(0.0, g);
            vec![
                None,
                one!(1, b.unbroadcast(b.select(c, g, zero)?, a)?),
                one!(2, b.unbroadcast(b.select(c, zero, g)?, e)?),
            ]
        }
        Op::Reduce { op, axes, keepdims } => {
            let ax = axes.as_deref();
            let gk = b.restore_axes(g, ax, *keepdims)?;
            let gx = match op {
                // d/dx sum(x) = 1, broadcast back over the reduced axes
                ReduceOp::Sum => b.op(Op::BroadcastLike, &[gk, x])?,
                // d/dx mean(x) = 1/n
                ReduceOp::Mean => {
                    let n = b.count(x, ax)?;
                    b.op(Op::BroadcastLike, &[b.div(gk, n)?, x])?
                }
                // d/dx max(x) = [x == max] / (number of ties): ties share evenly
                ReduceOp::Max | ReduceOp::Min => {
                    let yk = b.restore_axes(y, ax, *keepdims)?;
                    let hit = b.bin(BinaryOp::Eq, yk, x)?;
                    let ties = b.op(
                        Op::Reduce {
                            op: ReduceOp::Sum,
                            axes: axes.clone(),
                            keepdims: true,
                        },
                        &[hit],
                    )?;
                    b.mul(b.div(hit, ties)?, gk)?
                }
                // d/dx prod(x) = the product of the other elements, built
                // from exclusive running products: right where x has zeros
                ReduceOp::Prod => {
                    b.mul(b.op(Op::BroadcastLike, &[gk, x])?, b.others_product(x, ax)?)?
                }
                // d/dx logsumexp(x) = exp(x - logsumexp(x)), the softmax
                ReduceOp::LogSumExp => {
                    let yk = b.restore_axes(y, ax, *keepdims)?;
                    b.mul(gk, b.un(UnaryOp::Exp, b.sub(x, yk)?)?)?
                }
            };
            vec![Some(gx)]
        }
        // reshape back to the operand's shape
        Op::Reshape { .. } | Op::ExpandDims { .. } => {
            vec![one!(0, b.op(Op::ReshapeLike, &[g, x])?)]
        }
        // transpose by the inverse permutation
        Op::Transpose { perm } => {
            let inv = perm.as_ref().map(|p| {
                let mut inv = vec![0; p.len()];
                for (i, &a) in p.iter().enumerate() {
                    inv[a] = i;
                }
                inv
            });
            vec![one!(0, b.op(Op::Transpose { perm: inv }, &[g])?)]
        }
        // d/dx broadcast_to(x) sums over the broadcast axes
        Op::BroadcastTo { .. } => vec![one!(0, b.unbroadcast(g, x)?)],
        // d/da (a @ c) = g @ c^T, d/dc = a^T @ g, summed over broadcast batch axes
        Op::MatMul => {
            let (a, c) = (ins[0], ins[1]);
            vec![
                one!(
                    0,
                    b.unbroadcast(b.op(Op::MatMul, &[g, b.swap_last(c)?])?, a)?
                ),
                one!(
                    1,
                    b.unbroadcast(b.op(Op::MatMul, &[b.swap_last(a)?, g])?, c)?
                ),
            ]
        }
        // d/dx x = 1
        Op::Identity | Op::Bind { .. } => vec![one!(0, g)],
        // d softmax = (g - sum(g y)) y along the axis, from the output (SoftmaxGrad)
        Op::Softmax { axis } => {
            let ax = b.axis("softmax", x, *axis)?;
            let s = b.sum_kept(b.mul(g, y)?, ax)?;
            vec![one!(0, b.mul(b.sub(g, s)?, y)?)]
        }
        // d log_softmax = g - sum(g) exp(y) along the axis (LogSoftmaxGrad)
        Op::LogSoftmax { axis } => {
            let ax = b.axis("log_softmax", x, *axis)?;
            let s = b.sum_kept(g, ax)?;
            vec![one!(0, b.sub(g, b.mul(s, b.un(UnaryOp::Exp, y)?)?)?)]
        }
        // d/dlogits = g (softmax(logits) - labels), d/dlabels = -g log_softmax(logits),
        // g broadcast over the class axis (SoftmaxCrossEntropyWithLogits's gradient)
        Op::SoftmaxCrossEntropy => {
            let (labels, logits) = (ins[0], ins[1]);
            let last = b.axis("softmax_cross_entropy", logits, -1)?;
            let gk = b.op(Op::ExpandDims { axes: vec![last] }, &[g])?;
            vec![
                one!(
                    0,
                    b.mul(gk, b.neg(b.op(Op::LogSoftmax { axis: -1 }, &[logits])?)?)?
                ),
                one!(1, {
                    let p = b.op(Op::Softmax { axis: -1 }, &[logits])?;
                    b.mul(gk, b.sub(p, labels)?)?
                }),
            ]
        }
        // the sums run the other way (TensorFlow's CumsumGrad)
        Op::Cumsum {
            axis,
            exclusive,
            reverse,
        } => {
            let back = Op::Cumsum {
                axis: *axis,
                exclusive: *exclusive,
                reverse: !*reverse,
            };
            vec![one!(0, b.op(back, &[g])?)]
        }
        // (TensorFlow's _CumprodGrad) cumsum(cumprod(x) g) the other way,
        // over x: NaN or inf where x is 0, as TensorFlow's
        Op::Cumprod {
            axis,
            exclusive,
            reverse,
        } => {
            let (axis, exclusive, reverse) = (*axis, *exclusive, *reverse);
            let back = Op::Cumsum {
                axis,
                exclusive,
                reverse: !reverse,
            };
            vec![one!(0, b.div(b.op(back, &[b.mul(y, g)?])?, x)?)]
        }
        // indices have no gradient
        Op::ArgExtreme { .. } => vec![None],
        // reverse the gradient along the same axes
        Op::Reverse { axes } => vec![one!(0, b.op(Op::Reverse { axes: axes.clone() }, &[g])?)],
        // each copy's gradient summed back: g as [m0, d0, m1, d1, ...] summed
        // over the multiples' axes (TensorFlow's TileGrad)
        Op::Tile { multiples } => vec![one!(0, {
            let dims =
                b.g.node(x)
                    .shape
                    .concrete()
                    .ok_or(GraphError::UnknownSize {
                        op: "tile",
                        detail: "its gradient needs the operand's shape",
                    })?;
            let split: Vec<i64> = multiples
                .iter()
                .zip(&dims)
                .flat_map(|(&m, &d)| [m as i64, d as i64])
                .collect();
            let copies = b.op(Op::Reshape { dims: split }, &[g])?;
            let sum = Op::Reduce {
                op: ReduceOp::Sum,
                axes: Some((0..dims.len()).map(|i| 2 * i).collect()),
                keepdims: false,
            };
            b.op(sum, &[copies])?
        })],
        // sum_to and broadcast_like are each other's adjoints; `like` lends only its shape
        Op::SumTo => vec![one!(0, b.op(Op::BroadcastLike, &[g, x])?), None],
        Op::BroadcastLike => vec![one!(0, b.op(Op::SumTo, &[g, x])?), None],
        Op::ReshapeLike => vec![one!(0, b.op(Op::ReshapeLike, &[g, x])?), None],
        Op::Slice { items } => vec![one!(0, b.slice_grad(items, g, x)?)],
        Op::SliceGrad { items } => vec![one!(0, b.slice_of(items, g)?), None],
        Op::Pad { widths } => vec![one!(0, b.pad_grad(widths, g)?)],
        Op::Concat { axis } => b.concat_grads(*axis, ins, g, w)?,
        // the upstream gradient added up at each index; none to the indices
        Op::Gather { axis } => {
            let back = Op::GatherGrad { axis: *axis };
            vec![one!(0, b.op(back, &[g, ins[1], x])?), None]
        }
        Op::GatherGrad { axis } => {
            let back = Op::Gather { axis: *axis };
            vec![one!(0, b.op(back, &[g, ins[1]])?), None, None]
        }
        Op::OneHot { .. } | Op::LabelOneHot { .. } => vec![None],
        &Op::Conv2d { strides, padding }
        | &Op::Conv2dBackpropInput { strides, padding }
        | &Op::Conv2dBackpropFilter { strides, padding } => {
            b.conv_grads(&node.op, (strides, padding), ins, g, w)?
        }
        Op::MaxPool2d { window } => {
            vec![one!(0, b.op(Op::MaxPoolGrad { window: *window }, &[x, g])?)]
        }
        // to x a connected zero (TensorFlow's _MaxPoolGradGrad, _MaxPoolGradGradGrad)
        Op::MaxPoolGrad { window } => vec![
            one!(0, b.zeros_like(x)?),
            one!(1, b.op(Op::MaxPoolGradGrad { window: *window }, &[x, g])?),
        ],
        Op::MaxPoolGradGrad { window } => vec![
            one!(0, b.zeros_like(x)?),
            one!(1, b.op(Op::MaxPoolGrad { window: *window }, &[x, g])?),
        ],
        Op::AvgPool2d { window } => {
            vec![one!(0, b.op(Op::AvgPoolGrad { window: *window }, &[g, x])?)]
        }
        Op::AvgPoolGrad { window } => {
            vec![
                one!(0, b.op(Op::AvgPool2d { window: *window }, &[g])?),
                None,
            ]
        }
        Op::SparseSoftmaxCrossEntropy => vec![
            None,
            one!(1, b.sparse_cross_entropy_grad(ins[0], ins[1], g)?),
        ],
    };
    Ok(grads)
}

fn unary_grad(
    b: &Builder<'_>,
    u: UnaryOp,
    x: NodeId,
    y: NodeId,
    g: NodeId,
) -> Result<Option<NodeId>, GraphError> {
    let one = || b.c(1.0, x);
    Ok(Some(match u {
        // d/dx -x = -1
        UnaryOp::Neg => b.neg(g)?,
        // d/dx |x| = sign(x)
        UnaryOp::Abs => b.mul(g, b.un(UnaryOp::Sign, x)?)?,
        // d/dx sign(x) = 0 (a connected zero, as TensorFlow)
        UnaryOp::Sign => b.zeros_like(x)?,
        // d/dx e^x = e^x
        UnaryOp::Exp => b.mul(g, y)?,
        // d/dx ln x = 1/x (0 * inf stays NaN at x = 0, as TensorFlow)
        UnaryOp::Log => b.div(g, x)?,
        // d/dx ln(1+x) = 1/(1+x)
        UnaryOp::Log1p => b.div(g, b.add(one(), x)?)?,
        // d/dx (e^x - 1) = e^x
        UnaryOp::Expm1 => b.mul(g, b.un(UnaryOp::Exp, x)?)?,
        // d/dx sqrt x = 0.5/sqrt x, and 0 where g is 0 (TensorFlow's SqrtGrad)
        UnaryOp::Sqrt => b.bin(BinaryOp::MulNoNan, b.div(b.c(0.5, x), y)?, g)?,
        // d/dx x^-1/2 = -0.5 x^-3/2 = -0.5 y^3, and 0 where g is 0 (RsqrtGrad)
        UnaryOp::Rsqrt => {
            let y3 = b.mul(b.mul(y, y)?, y)?;
            b.bin(BinaryOp::MulNoNan, b.mul(b.c(-0.5, x), y3)?, g)?
        }
        // d/dx x^2 = 2x
        UnaryOp::Square => b.mul(g, b.mul(b.c(2.0, x), x)?)?,
        // d/dx 1/x = -1/x^2 = -y^2, and 0 where g is 0 (ReciprocalGrad)
        UnaryOp::Reciprocal => b.bin(BinaryOp::MulNoNan, b.neg(b.mul(y, y)?)?, g)?,
        // d/dx sin x = cos x
        UnaryOp::Sin => b.mul(g, b.un(UnaryOp::Cos, x)?)?,
        // d/dx cos x = -sin x
        UnaryOp::Cos => b.mul(g, b.neg(b.un(UnaryOp::Sin, x)?)?)?,
        // d/dx tanh x = 1 - tanh^2 x
        UnaryOp::Tanh => b.mul(g, b.sub(one(), b.mul(y, y)?)?)?,
        // d/dx sigmoid x = sigmoid x (1 - sigmoid x)
        UnaryOp::Sigmoid => b.mul(g, b.mul(y, b.sub(one(), y)?)?)?,
        // d/dx ln(1 + e^x) = sigmoid x
        UnaryOp::Softplus => b.mul(g, b.un(UnaryOp::Sigmoid, x)?)?,
        // d/dx max(x, 0) = [y > 0], read from the output and multiplied (0 at
        // the kink, NaN for an infinite g there), as TensorFlow's ReluGrad
        UnaryOp::Relu => b.bin(BinaryOp::ReluGrad, g, y)?,
        // floor, ceil and round have no gradient (TensorFlow registers none)
        UnaryOp::Floor | UnaryOp::Ceil | UnaryOp::Round => return Ok(None),
        // d/dx min(max(x, 0), 6) = [0 < y < 6], from the output and multiplied
        // (0 at both kinks), as TensorFlow's Relu6Grad
        UnaryOp::Relu6 => {
            let below_six = b.bin(BinaryOp::Lt, y, b.c(6.0, x))?;
            b.mul(b.bin(BinaryOp::ReluGrad, g, y)?, below_six)?
        }
        // d/dx x/(1 + |x|) = 1/(1 + |x|)^2 (SoftsignGrad)
        UnaryOp::Softsign => {
            let d = b.add(one(), b.un(UnaryOp::Abs, x)?)?;
            b.div(g, b.un(UnaryOp::Square, d)?)?
        }
        // d/dx elu = y + 1 where y < 0, else 1, from the output (EluGrad: 1 at 0)
        UnaryOp::Elu => {
            let neg = b.bin(BinaryOp::Lt, y, b.c(0.0, x))?;
            b.select(neg, b.mul(g, b.add(y, one())?)?, g)?
        }
        // d/dx x sigmoid(x) = s (1 + x (1 - s)), s = sigmoid(x), as TensorFlow's
        // custom gradient of silu
        UnaryOp::Silu => {
            let s = b.un(UnaryOp::Sigmoid, x)?;
            let inner = b.add(one(), b.mul(x, b.sub(one(), s)?)?)?;
            b.mul(g, b.mul(s, inner)?)?
        }
        // d/dx selu = y + scale*alpha where y < 0, else scale (SeluGrad)
        UnaryOp::Selu => {
            let neg = b.bin(BinaryOp::Lt, y, b.c(0.0, x))?;
            let left = b.mul(g, b.add(y, b.c(SELU_SCALE_ALPHA, x))?)?;
            b.select(neg, left, b.mul(g, b.c(SELU_SCALE, x))?)?
        }
        // d/dx tan x = sec^2 x = (1 / cos x)^2 (TanGrad: secx2 * grad)
        UnaryOp::Tan => {
            let sec = b.un(UnaryOp::Reciprocal, b.un(UnaryOp::Cos, x)?)?;
            b.mul(b.un(UnaryOp::Square, sec)?, g)?
        }
        // d/dx asin x = 1 / sqrt(1 - x^2) (AsinGrad)
        UnaryOp::Asin => b.mul(g, inv_sqrt_one_minus_sq(b, x)?)?,
        // d/dx acos x = -1 / sqrt(1 - x^2) (AcosGrad: -grad * inv)
        UnaryOp::Acos => b.mul(b.neg(g)?, inv_sqrt_one_minus_sq(b, x)?)?,
        // d/dx atan x = 1 / (1 + x^2) (AtanGrad)
        UnaryOp::Atan => {
            let d = b.add(one(), b.un(UnaryOp::Square, x)?)?;
            b.mul(g, b.un(UnaryOp::Reciprocal, d)?)?
        }
        // d/dx sinh x = cosh x, d/dx cosh x = sinh x (SinhGrad, CoshGrad)
        UnaryOp::Sinh => b.mul(g, b.un(UnaryOp::Cosh, x)?)?,
        UnaryOp::Cosh => b.mul(g, b.un(UnaryOp::Sinh, x)?)?,
        // d/dx asinh x = 1 / cosh(y), from the output (AsinhGrad)
        UnaryOp::Asinh => b.div(g, b.un(UnaryOp::Cosh, y)?)?,
        // d/dx acosh x = 1 / sinh(y), from the output (AcoshGrad: inf at 1)
        UnaryOp::Acosh => b.div(g, b.un(UnaryOp::Sinh, y)?)?,
        // d/dx atanh x = 1 / (1 - x^2) (AtanhGrad)
        UnaryOp::Atanh => {
            let d = b.sub(one(), b.un(UnaryOp::Square, x)?)?;
            b.mul(g, b.un(UnaryOp::Reciprocal, d)?)?
        }
        // d/dx erf x = 2/sqrt(pi) e^(-x^2); erfc's is its negation (ErfGrad,
        // ErfcGrad: grad * constant * exp(-square(x)))
        UnaryOp::Erf | UnaryOp::Erfc => {
            let k = if u == UnaryOp::Erf {
                std::f64::consts::FRAC_2_SQRT_PI
            } else {
                -std::f64::consts::FRAC_2_SQRT_PI
            };
            let e = b.un(UnaryOp::Exp, b.neg(b.un(UnaryOp::Square, x)?)?)?;
            b.mul(b.mul(g, b.c(k, x))?, e)?
        }
        // TensorFlow differentiates gelu's formula: d/dx 0.5 x (1 + erf(x/sqrt 2))
        // = 0.5 (1 + erf(x/sqrt 2)) + x e^(-x^2/2) / sqrt(2 pi), with
        // 1 + erf(s) as erfc(-s), as the value (see `UnaryOp::Gelu`)
        UnaryOp::Gelu => {
            let s = b.div(x, b.c(std::f64::consts::SQRT_2, x))?;
            let cdf = b.mul(b.c(0.5, x), b.un(UnaryOp::Erfc, b.neg(s)?)?)?;
            let e = b.un(UnaryOp::Exp, b.neg(b.un(UnaryOp::Square, s)?)?)?;
            // 1/sqrt(2 pi)
            let pdf = b.mul(b.c(0.398_942_280_401_432_7, x), e)?;
            b.mul(g, b.add(cdf, b.mul(x, pdf)?)?)?
        }
    }))
}

/// `1 / sqrt(1 - x^2)`, as TensorFlow's AsinGrad and AcosGrad build it.
fn inv_sqrt_one_minus_sq(b: &Builder<'_>, x: NodeId) -> Result<NodeId, GraphError> {
    let d = b.sub(b.c(1.0, x), b.un(UnaryOp::Square, x)?)?;
    b.un(UnaryOp::Reciprocal, b.un(UnaryOp::Sqrt, d)?)
}

#[allow(clippy::too_many_arguments)]
fn binary_grad(
    b: &Builder<'_>,
    op: BinaryOp,
    a: NodeId,
    c: NodeId,
    y: NodeId,
    g: NodeId,
    want_a: bool,
    want_c: bool,
) -> Result<(Option<NodeId>, Option<NodeId>), GraphError> {
    // builds a gradient only when wanted, then sums it to the operand's shape
    let side = |want: bool, x: NodeId, f: &dyn Fn() -> Result<NodeId, GraphError>| {
        if want {
            b.unbroadcast(f()?, x).map(Some)
        } else {
            Ok(None)
        }
    };
    let zero = || b.c(0.0, g);
    Ok(match op {
        // d(a+c) = da + dc
        BinaryOp::Add => (side(want_a, a, &|| Ok(g))?, side(want_c, c, &|| Ok(g))?),
        // d(a-c) = da - dc
        BinaryOp::Sub => (side(want_a, a, &|| Ok(g))?, side(want_c, c, &|| b.neg(g))?),
        // d(a*c) = c da + a dc
        BinaryOp::Mul => (
            side(want_a, a, &|| b.mul(g, c))?,
            side(want_c, c, &|| b.mul(a, g))?,
        ),
        // d(a/c) = da/c - a/c^2 dc
        BinaryOp::Div => (
            side(want_a, a, &|| b.div(g, c))?,
            side(want_c, c, &|| b.mul(g, b.div(b.div(b.neg(a)?, c)?, c)?))?,
        ),
        // d(a^c) = c a^(c-1) da + a^c ln(a) dc, with ln(a) taken as 0 where
        // a <= 0, and the log of a safe base there (TensorFlow's PowGrad), so
        // that its own derivative in a is 0 there, not 0 * inf
        BinaryOp::Pow => (
            side(want_a, a, &|| {
                let cm1 = b.sub(c, b.c(1.0, c))?;
                b.mul(b.mul(g, c)?, b.bin(BinaryOp::Pow, a, cm1)?)
            })?,
            side(want_c, c, &|| {
                let pos = b.bin(BinaryOp::Gt, a, zero())?;
                let safe_a = b.select(pos, a, b.c(1.0, a))?;
                let log_a = b.select(pos, b.un(UnaryOp::Log, safe_a)?, zero())?;
                b.mul(b.mul(g, y)?, log_a)
            })?,
        ),
        // the gradient goes to the larger (smaller) operand; ties go to `a`
        BinaryOp::Maximum | BinaryOp::Minimum => {
            let cmp = if op == BinaryOp::Maximum {
                BinaryOp::Ge
            } else {
                BinaryOp::Le
            };
            let mask = b.bin(cmp, a, c)?;
            (
                side(want_a, a, &|| b.select(mask, g, zero()))?,
                side(want_c, c, &|| b.select(mask, zero(), g))?,
            )
        }
        // comparisons have no gradient
        BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge | BinaryOp::Eq | BinaryOp::Ne => {
            (None, None)
        }
        // relu_grad(g0, y) is linear in g0; with respect to y it is flat: a
        // connected zero (TensorFlow's ReluGradGrad)
        BinaryOp::ReluGrad => (
            side(want_a, a, &|| b.bin(BinaryOp::ReluGrad, g, c))?,
            side(want_c, c, &|| b.zeros_like(c))?,
        ),
        // d div_no_nan(a, c) = div_no_nan(g, c) da + g div_no_nan(div_no_nan(-a, c), c) dc
        // (TensorFlow's DivNoNanGrad)
        BinaryOp::DivNoNan => {
            let dnn = |p: NodeId, q: NodeId| b.bin(BinaryOp::DivNoNan, p, q);
            (
                side(want_a, a, &|| dnn(g, c))?,
                side(want_c, c, &|| b.mul(g, dnn(dnn(b.neg(a)?, c)?, c)?))?,
            )
        }
        // d xlogy(a, c) = xlogy([a != 0], c) da + xdivy(a, c) dc (XlogyGrad)
        BinaryOp::Xlogy => (
            side(want_a, a, &|| {
                let nonzero = b.bin(BinaryOp::Ne, a, zero())?;
                b.mul(b.bin(BinaryOp::Xlogy, nonzero, c)?, g)
            })?,
            side(want_c, c, &|| b.mul(b.bin(BinaryOp::Xdivy, a, c)?, g))?,
        ),
        // d xdivy(a, c) = xdivy([a != 0], c) da + xdivy(-a, c^2) dc (XdivyGrad)
        BinaryOp::Xdivy => (
            side(want_a, a, &|| {
                let nonzero = b.bin(BinaryOp::Ne, a, zero())?;
                b.mul(b.bin(BinaryOp::Xdivy, nonzero, c)?, g)
            })?,
            side(want_c, c, &|| {
                let c2 = b.un(UnaryOp::Square, c)?;
                b.mul(b.bin(BinaryOp::Xdivy, b.neg(a)?, c2)?, g)
            })?,
        ),
        // d atan2(a, c) = c / (a^2 + c^2) da - a / (a^2 + c^2) dc, NaN at
        // (0, 0) (TensorFlow's Atan2Grad: grad_inv = g / (x^2 + y^2))
        BinaryOp::Atan2 => {
            let grad_inv = || {
                let r2 = b.add(b.un(UnaryOp::Square, c)?, b.un(UnaryOp::Square, a)?)?;
                b.div(g, r2)
            };
            (
                side(want_a, a, &|| b.mul(c, grad_inv()?))?,
                side(want_c, c, &|| b.mul(b.neg(a)?, grad_inv()?))?,
            )
        }
        // d mul_no_nan(a, c) = mul_no_nan(g, c) da + mul_no_nan(a, g) dc (TensorFlow's MulNoNanGrad)
        BinaryOp::MulNoNan => (
            side(want_a, a, &|| b.bin(BinaryOp::MulNoNan, g, c))?,
            side(want_c, c, &|| b.bin(BinaryOp::MulNoNan, a, g))?,
        ),
    })
}
