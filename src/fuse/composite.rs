//! Operations with a gradient of their own but no native code of their
//! own: `logsumexp`, `softmax`, `log_softmax` and the two softmax
//! cross-entropies are written out as reductions and elementwise work, which
//! fusion turns into kernels — a max pass, then a sum-of-exp pass, per lane
//! — so that compiled code never runs the interpreter's routines for them.
//!
//! The expansions are the formulas of TensorFlow's kernels (shift by the
//! lane's maximum; for `logsumexp`, a maximum that is not finite shifts by
//! 0, as `tf.reduce_logsumexp`), so values change only by summation order.
//! They run after differentiation: the gradients were built from the
//! composite operations' own rules.
//!
//! A reduction whose operand no kernel computes (`sum(x)` of an input, the
//! maximum of the logits) reads it through an `identity`, which fusion
//! makes a kernel that the reduction joins: a native loop rather than a
//! library step.

use super::kernel_reduction;
use crate::graph::{
    normalize_axes, BinaryOp, Graph, GraphError, Node, NodeId, Op, ReduceOp, UnaryOp,
};

/// Copies `graph` with every composite operation written out; returns the
/// new graph and the images of `roots`.
///
/// # Errors
/// A [`GraphError`] if an expansion does not fit (a bug: each has the
/// operation's shape), or if an axis is out of range.
pub fn expand_composites(
    graph: &Graph,
    roots: &[NodeId],
) -> Result<(Graph, Vec<NodeId>), GraphError> {
    let nodes = graph.nodes();
    let out = Graph::new();
    let mut map: Vec<NodeId> = Vec::with_capacity(nodes.len());
    for (i, node) in nodes.iter().enumerate() {
        let ins: Vec<NodeId> = node.inputs.iter().map(|x| map[x.index()]).collect();
        let e = Expand { g: &out, node };
        let new = match &node.op {
            Op::Placeholder { name } => {
                out.add_placeholder(name, node.dtype, node.shape.clone())?
            }
            Op::Constant(lit) => out.add_constant(lit.clone(), node.dtype),
            Op::Reduce {
                op: ReduceOp::LogSumExp,
                axes,
                keepdims,
            } => e.logsumexp(ins[0], axes.clone(), *keepdims)?,
            Op::Softmax { axis } => {
                let (x, ax) = (ins[0], e.axis("softmax", ins[0], *axis)?);
                let ex = e.un(UnaryOp::Exp, e.shifted(x, ax)?)?;
                let s = e.reduce(ReduceOp::Sum, ex, Some(vec![ax]), true)?;
                e.bin(BinaryOp::Div, ex, s)?
            }
            Op::LogSoftmax { axis } => {
                let (x, ax) = (ins[0], e.axis("log_softmax", ins[0], *axis)?);
                let sh = e.shifted(x, ax)?;
                e.bin(BinaryOp::Sub, sh, e.log_sum_exp(sh, ax)?)?
            }
            // sum(labels * (log(sum(exp(shifted))) - shifted)) over the last axis
            Op::SoftmaxCrossEntropy => {
                let (labels, logits) = (ins[0], ins[1]);
                let ax = e.axis("softmax_cross_entropy", logits, -1)?;
                let sh = e.shifted(logits, ax)?;
                let terms = e.bin(BinaryOp::Sub, e.log_sum_exp(sh, ax)?, sh)?;
                let p = e.bin(BinaryOp::Mul, labels, terms)?;
                e.reduce(ReduceOp::Sum, p, Some(vec![ax]), false)?
            }
            // log(sum(exp(shifted))) - shifted[label], the label's term
            // picked by a select (so no 0 * inf elsewhere)
            Op::SparseSoftmaxCrossEntropy => {
                let (labels, logits) = (ins[0], ins[1]);
                let ax = e.axis("sparse_softmax_cross_entropy", logits, -1)?;
                let depth = out.node(logits).shape.dims().and_then(|d| d[ax]).ok_or(
                    GraphError::UnknownSize {
                        op: "sparse_softmax_cross_entropy",
                        detail: "native code needs the number of classes",
                    },
                )?;
                let hot = out.add_node(Op::LabelOneHot { depth }, &[labels])?;
                let sh = e.shifted(logits, ax)?;
                let zero = out.add_scalar(0.0, node.dtype);
                let at_label = out.add_node(Op::Where, &[hot, sh, zero])?;
                let picked = e.reduce(ReduceOp::Sum, at_label, Some(vec![ax]), true)?;
                let r = e.bin(BinaryOp::Sub, e.log_sum_exp(sh, ax)?, picked)?;
                e.drop_kept(r, "sparse_softmax_cross_entropy")?
            }
            Op::Reduce { op, axes, keepdims } => e.reduce(*op, ins[0], axes.clone(), *keepdims)?,
            op => out.add_node(op.clone(), &ins)?,
        };
        if let Some(o) = graph.origin(NodeId(i as u32)) {
            out.set_origin(new, o);
        }
        map.push(new);
    }
    let roots = roots.iter().map(|r| map[r.index()]).collect();
    Ok((out, roots))
}

/// Builds one node's expansion in the new graph.
struct Expand<'a> {
    g: &'a Graph,
    node: &'a Node,
}

impl Expand<'_> {
    fn un(&self, op: UnaryOp, x: NodeId) -> Result<NodeId, GraphError> {
        self.g.add_node(Op::Unary(op), &[x])
    }

    fn bin(&self, op: BinaryOp, a: NodeId, b: NodeId) -> Result<NodeId, GraphError> {
        self.g.add_node(Op::Binary(op), &[a, b])
    }

    fn reduce(
        &self,
        op: ReduceOp,
        x: NodeId,
        axes: Option<Vec<usize>>,
        keepdims: bool,
    ) -> Result<NodeId, GraphError> {
        let reduction = Op::Reduce { op, axes, keepdims };
        let computed = super::fusible(&self.g.node(x).op);
        let x = match kernel_reduction(&reduction) {
            Some(_) if !computed => self.g.add_node(Op::Identity, &[x])?,
            _ => x,
        };
        self.g.add_node(reduction, &[x])
    }

    fn axis(&self, op: &'static str, x: NodeId, axis: i64) -> Result<usize, GraphError> {
        let rank = self.g.node(x).shape.rank();
        Ok(normalize_axes(op, &[axis], rank)?[0])
    }

    /// `x - max(x)` along `ax`.
    fn shifted(&self, x: NodeId, ax: usize) -> Result<NodeId, GraphError> {
        let m = self.reduce(ReduceOp::Max, x, Some(vec![ax]), true)?;
        self.bin(BinaryOp::Sub, x, m)
    }

    /// `log(sum(exp(sh)))` along `ax`, kept as a size-1 axis.
    fn log_sum_exp(&self, sh: NodeId, ax: usize) -> Result<NodeId, GraphError> {
        let ex = self.un(UnaryOp::Exp, sh)?;
        let s = self.reduce(ReduceOp::Sum, ex, Some(vec![ax]), true)?;
        self.un(UnaryOp::Log, s)
    }

    /// `log(sum(exp(x - m))) + m`, `m` the maximum where it is finite and 0
    /// elsewhere (so all `-inf` gives `-inf`, any `+inf` gives `+inf`).
    fn logsumexp(
        &self,
        x: NodeId,
        axes: Option<Vec<usize>>,
        keepdims: bool,
    ) -> Result<NodeId, GraphError> {
        let dtype = self.node.dtype;
        let zero = self.g.add_scalar(0.0, dtype);
        let m = self.reduce(ReduceOp::Max, x, axes.clone(), true)?;
        // m - m is 0 exactly where m is finite
        let finite = self.bin(BinaryOp::Eq, self.bin(BinaryOp::Sub, m, m)?, zero)?;
        let m = self.g.add_node(Op::Where, &[finite, m, zero])?;
        let ex = self.un(UnaryOp::Exp, self.bin(BinaryOp::Sub, x, m)?)?;
        let s = self.reduce(ReduceOp::Sum, ex, axes, true)?;
        let r = self.bin(BinaryOp::Add, self.un(UnaryOp::Log, s)?, m)?;
        if keepdims {
            return Ok(r);
        }
        self.drop_kept(r, "logsumexp")
    }

    /// `r` reshaped to the node's shape, without the reduced axes it kept.
    fn drop_kept(&self, r: NodeId, op: &'static str) -> Result<NodeId, GraphError> {
        let dims = self.node.shape.concrete().ok_or(GraphError::UnknownSize {
            op,
            detail: "native code needs its concrete shape",
        })?;
        self.g.add_node(
            Op::Reshape {
                dims: dims.iter().map(|&d| d as i64).collect(),
            },
            &[r],
        )
    }
}
