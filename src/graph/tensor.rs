//! `Tensor` handles: the builder API, with operator overloading.

use std::ops::{Add, Div, Mul, Neg, Sub};

use ndarray::ArrayD;

use super::arena::{Graph, NodeId};
use super::dtype::Real;
use super::error::GraphError;
use super::infer::normalize_axes;
use super::literal::Literal;
use super::op::{BinaryOp, Op, ReduceOp, UnaryOp};
use super::shape::Shape;
use super::DType;

/// A handle to a node of a graph: `Copy`, and combinable with `+ - * /`.
///
/// Operators cannot return `Result`, so an invalid expression (say, shapes
/// that cannot broadcast) records its error in the graph; every later
/// fallible call — [`Graph::check`], gradients, a session run — returns it.
/// The `try_*` methods on [`Graph`] return the error at once instead.
#[derive(Clone, Copy)]
pub struct Tensor<'g> {
    id: NodeId,
    graph: &'g Graph,
}

impl std::fmt::Debug for Tensor<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tensor({})", self.id)
    }
}

impl PartialEq for Tensor<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id && std::ptr::eq(self.graph, other.graph)
    }
}

impl Eq for Tensor<'_> {}

impl<'g> Tensor<'g> {
    /// The node this handle refers to.
    pub fn id(self) -> NodeId {
        self.id
    }

    /// The graph the node belongs to.
    pub fn graph(self) -> &'g Graph {
        self.graph
    }

    /// The static shape.
    pub fn shape(self) -> Shape {
        self.graph.node(self.id).shape
    }

    /// The element type.
    pub fn dtype(self) -> DType {
        self.graph.node(self.id).dtype
    }

    fn or_poison(self, r: Result<Tensor<'g>, GraphError>) -> Tensor<'g> {
        r.unwrap_or_else(|e| {
            self.graph.poison(e);
            self
        })
    }

    /// Applies an elementwise unary operation.
    pub fn unary(self, op: UnaryOp) -> Tensor<'g> {
        self.or_poison(self.graph.try_unary(op, self))
    }

    /// Applies an elementwise binary operation with broadcasting.
    pub fn binary(self, op: BinaryOp, rhs: Tensor<'g>) -> Tensor<'g> {
        self.or_poison(self.graph.try_binary(op, self, rhs))
    }

    /// `self ** rhs`.
    pub fn pow(self, rhs: Tensor<'g>) -> Tensor<'g> {
        self.binary(BinaryOp::Pow, rhs)
    }

    /// `self ** p` for a scalar exponent.
    pub fn powf(self, p: f64) -> Tensor<'g> {
        let c = self.scalar_like(p);
        self.binary(BinaryOp::Pow, c)
    }

    /// Elementwise maximum (ties pick `self`).
    pub fn maximum(self, rhs: Tensor<'g>) -> Tensor<'g> {
        self.binary(BinaryOp::Maximum, rhs)
    }

    /// Elementwise minimum (ties pick `self`).
    pub fn minimum(self, rhs: Tensor<'g>) -> Tensor<'g> {
        self.binary(BinaryOp::Minimum, rhs)
    }

    /// `self < rhs`, elementwise: 1.0 where true, else 0.0 (no gradient).
    pub fn less(self, rhs: Tensor<'g>) -> Tensor<'g> {
        self.binary(BinaryOp::Lt, rhs)
    }

    /// `self <= rhs`, elementwise: 1.0 where true, else 0.0 (no gradient).
    pub fn less_equal(self, rhs: Tensor<'g>) -> Tensor<'g> {
        self.binary(BinaryOp::Le, rhs)
    }

    /// `self > rhs`, elementwise: 1.0 where true, else 0.0 (no gradient).
    ///
    /// ```
    /// use gradjit::{DType, Graph, Session, Shape};
    /// use ndarray::arr1;
    ///
    /// let g = Graph::new();
    /// let x = g.placeholder("x", DType::F32, Shape::unknown());
    /// let positive = x.greater(x.scalar_like(0.0));
    /// let out = Session::new(&g).run(&[positive], &[(x, arr1(&[-1.0f32, 0.0, 2.0]))])?;
    /// assert_eq!(out[0].to_f64_vec(), [0.0, 0.0, 1.0]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn greater(self, rhs: Tensor<'g>) -> Tensor<'g> {
        self.binary(BinaryOp::Gt, rhs)
    }

    /// `self >= rhs`, elementwise: 1.0 where true, else 0.0 (no gradient).
    pub fn greater_equal(self, rhs: Tensor<'g>) -> Tensor<'g> {
        self.binary(BinaryOp::Ge, rhs)
    }

    /// `self == rhs`, elementwise: 1.0 where true, else 0.0 (no gradient).
    pub fn equal(self, rhs: Tensor<'g>) -> Tensor<'g> {
        self.binary(BinaryOp::Eq, rhs)
    }

    /// `self != rhs`, elementwise: 1.0 where true, else 0.0 (no gradient).
    pub fn not_equal(self, rhs: Tensor<'g>) -> Tensor<'g> {
        self.binary(BinaryOp::Ne, rhs)
    }

    /// `where(self, a, b)`: `a` where `self` is nonzero, else `b`.
    pub fn select(self, a: Tensor<'g>, b: Tensor<'g>) -> Tensor<'g> {
        self.or_poison(self.graph.try_select(self, a, b))
    }

    /// Reduces over all axes.
    pub fn reduce(self, op: ReduceOp) -> Tensor<'g> {
        self.or_poison(self.graph.try_reduce(op, self, None, false))
    }

    /// Reduces over the given axes (negative counts from the end).
    pub fn reduce_axes(self, op: ReduceOp, axes: &[i64], keepdims: bool) -> Tensor<'g> {
        self.or_poison(self.graph.try_reduce(op, self, Some(axes), keepdims))
    }

    /// Sum of all elements.
    pub fn sum(self) -> Tensor<'g> {
        self.reduce(ReduceOp::Sum)
    }

    /// Mean of all elements.
    pub fn mean(self) -> Tensor<'g> {
        self.reduce(ReduceOp::Mean)
    }

    /// Matrix product over the last two axes.
    pub fn matmul(self, rhs: Tensor<'g>) -> Tensor<'g> {
        self.or_poison(self.graph.try_matmul(self, rhs))
    }

    /// Reshape (one dimension may be -1).
    pub fn reshape(self, dims: &[i64]) -> Tensor<'g> {
        self.or_poison(self.graph.try_reshape(self, dims))
    }

    /// Permutes axes; `None` reverses them.
    pub fn transpose(self, perm: Option<&[usize]>) -> Tensor<'g> {
        self.or_poison(self.graph.try_transpose(self, perm))
    }

    /// Broadcasts to a shape.
    pub fn broadcast_to(self, dims: &[usize]) -> Tensor<'g> {
        self.or_poison(self.graph.try_op(
            Op::BroadcastTo {
                dims: dims.to_vec(),
            },
            &[self],
        ))
    }

    /// `softmax(x, axis)` (negative counts from the end).
    pub fn softmax(self, axis: i64) -> Tensor<'g> {
        self.or_poison(self.graph.try_op(Op::Softmax { axis }, &[self]))
    }

    /// `log_softmax(x, axis)` (negative counts from the end).
    pub fn log_softmax(self, axis: i64) -> Tensor<'g> {
        self.or_poison(self.graph.try_op(Op::LogSoftmax { axis }, &[self]))
    }

    /// `softmax_cross_entropy(self, logits)`: `self` are the labels, one
    /// distribution per row of the last axis.
    pub fn softmax_cross_entropy(self, logits: Tensor<'g>) -> Tensor<'g> {
        self.or_poison(self.graph.try_op(Op::SoftmaxCrossEntropy, &[self, logits]))
    }

    /// The same value as a node of its own, named `name` (the language's
    /// `name := expr`): hash-consing merges equal expressions, so take
    /// gradients with respect to (or stop at) an intermediate value through
    /// its binding, as TensorFlow does with an op instance. The binding is
    /// differentiated as an instance of this tensor's operation (rules that
    /// read the output read the binding); build on the binding, not on
    /// `self`, for gradients with respect to it to see every use.
    pub fn bind(self, name: &str) -> Tensor<'g> {
        self.or_poison(self.graph.try_op(Op::Bind { name: name.into() }, &[self]))
    }

    /// The same value, through which no gradient flows.
    pub fn stop_gradient(self) -> Tensor<'g> {
        self.or_poison(self.graph.try_op(Op::StopGradient, &[self]))
    }

    /// A scalar constant of this tensor's dtype.
    pub fn scalar_like(self, v: f64) -> Tensor<'g> {
        self.graph.scalar(v, self.dtype())
    }
}

impl Graph {
    /// Wraps a node id of this graph as a handle.
    pub fn tensor(&self, id: NodeId) -> Tensor<'_> {
        Tensor { id, graph: self }
    }

    fn own(&self, t: Tensor<'_>) -> Result<NodeId, GraphError> {
        if std::ptr::eq(self, t.graph) {
            Ok(t.id)
        } else {
            Err(GraphError::ForeignTensor)
        }
    }

    /// Adds `op` applied to tensors of this graph.
    pub fn try_op(&self, op: Op, inputs: &[Tensor<'_>]) -> Result<Tensor<'_>, GraphError> {
        let ids = inputs
            .iter()
            .map(|&t| self.own(t))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self.tensor(self.add_node(op, &ids)?))
    }

    /// A placeholder (an input fed at run time). Shape dimensions may be unknown.
    ///
    /// A clash with an existing placeholder of the same name is recorded in
    /// the graph (see [`Tensor`]); [`Graph::try_placeholder`] returns it.
    pub fn placeholder(&self, name: &str, dtype: DType, shape: Shape) -> Tensor<'_> {
        match self.add_placeholder(name, dtype, shape) {
            Ok(id) => self.tensor(id),
            Err(e) => {
                self.poison(e);
                let id = self
                    .placeholder_named(name)
                    .unwrap_or_else(|| unreachable!("a clash means the name exists"));
                self.tensor(id)
            }
        }
    }

    /// A placeholder, or the error if the name is taken with another dtype or shape.
    pub fn try_placeholder(
        &self,
        name: &str,
        dtype: DType,
        shape: Shape,
    ) -> Result<Tensor<'_>, GraphError> {
        Ok(self.tensor(self.add_placeholder(name, dtype, shape)?))
    }

    /// A scalar constant.
    pub fn scalar(&self, v: f64, dtype: DType) -> Tensor<'_> {
        self.tensor(self.add_scalar(v, dtype))
    }

    /// A constant tensor with the array's dtype.
    pub fn constant<T: Real>(&self, value: &ArrayD<T>) -> Tensor<'_> {
        self.tensor(self.add_constant(Literal::from_array(value), T::DTYPE))
    }

    /// An elementwise unary operation.
    pub fn try_unary(&self, op: UnaryOp, x: Tensor<'_>) -> Result<Tensor<'_>, GraphError> {
        self.try_op(Op::Unary(op), &[x])
    }

    /// An elementwise binary operation with broadcasting.
    pub fn try_binary(
        &self,
        op: BinaryOp,
        a: Tensor<'_>,
        b: Tensor<'_>,
    ) -> Result<Tensor<'_>, GraphError> {
        self.try_op(Op::Binary(op), &[a, b])
    }

    /// `where(cond, a, b)` with broadcasting.
    pub fn try_select(
        &self,
        cond: Tensor<'_>,
        a: Tensor<'_>,
        b: Tensor<'_>,
    ) -> Result<Tensor<'_>, GraphError> {
        self.try_op(Op::Where, &[cond, a, b])
    }

    /// A reduction over `axes` (all when `None`; negative axes count from the end).
    pub fn try_reduce(
        &self,
        op: ReduceOp,
        x: Tensor<'_>,
        axes: Option<&[i64]>,
        keepdims: bool,
    ) -> Result<Tensor<'_>, GraphError> {
        let axes = match axes {
            None => None,
            Some(a) => Some(normalize_axes(op.name(), a, x.shape().rank())?),
        };
        self.try_op(Op::Reduce { op, axes, keepdims }, &[x])
    }

    /// Reshape to `dims` (one may be -1).
    pub fn try_reshape(&self, x: Tensor<'_>, dims: &[i64]) -> Result<Tensor<'_>, GraphError> {
        self.try_op(
            Op::Reshape {
                dims: dims.to_vec(),
            },
            &[x],
        )
    }

    /// Transpose by `perm`, or reverse the axes when `None`.
    pub fn try_transpose(
        &self,
        x: Tensor<'_>,
        perm: Option<&[usize]>,
    ) -> Result<Tensor<'_>, GraphError> {
        let perm = perm.map(<[usize]>::to_vec);
        self.try_op(Op::Transpose { perm }, &[x])
    }

    /// Matrix product over the last two axes, batch axes broadcast.
    pub fn try_matmul(&self, a: Tensor<'_>, b: Tensor<'_>) -> Result<Tensor<'_>, GraphError> {
        self.try_op(Op::MatMul, &[a, b])
    }
}

macro_rules! binary_operator {
    ($trait:ident, $method:ident, $op:ident) => {
        impl<'g> $trait<Tensor<'g>> for Tensor<'g> {
            type Output = Tensor<'g>;
            fn $method(self, rhs: Tensor<'g>) -> Tensor<'g> {
                self.binary(BinaryOp::$op, rhs)
            }
        }
        impl<'g> $trait<f64> for Tensor<'g> {
            type Output = Tensor<'g>;
            fn $method(self, rhs: f64) -> Tensor<'g> {
                let c = self.scalar_like(rhs);
                self.binary(BinaryOp::$op, c)
            }
        }
        impl<'g> $trait<f32> for Tensor<'g> {
            type Output = Tensor<'g>;
            fn $method(self, rhs: f32) -> Tensor<'g> {
                let c = self.scalar_like(rhs as f64);
                self.binary(BinaryOp::$op, c)
            }
        }
        impl<'g> $trait<Tensor<'g>> for f64 {
            type Output = Tensor<'g>;
            fn $method(self, rhs: Tensor<'g>) -> Tensor<'g> {
                rhs.scalar_like(self).binary(BinaryOp::$op, rhs)
            }
        }
        impl<'g> $trait<Tensor<'g>> for f32 {
            type Output = Tensor<'g>;
            fn $method(self, rhs: Tensor<'g>) -> Tensor<'g> {
                rhs.scalar_like(self as f64).binary(BinaryOp::$op, rhs)
            }
        }
    };
}

binary_operator!(Add, add, Add);
binary_operator!(Sub, sub, Sub);
binary_operator!(Mul, mul, Mul);
binary_operator!(Div, div, Div);

impl<'g> Neg for Tensor<'g> {
    type Output = Tensor<'g>;
    fn neg(self) -> Tensor<'g> {
        self.unary(UnaryOp::Neg)
    }
}
