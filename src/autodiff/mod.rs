//! Symbolic gradients with the semantics of TensorFlow 1's `tf.gradients`.
//!
//! [`gradients`] walks the graph backward from the ys to the xs, visiting
//! only the nodes between them, and adds new nodes for the derivatives. No
//! number is computed: the gradients are nodes, so they can be simplified,
//! compiled, and differentiated again.

mod explain;
mod rules;
pub mod transforms;

use std::collections::HashSet;

use crate::graph::{Graph, GraphError, NodeId, Op, Shape, Tensor};

pub use explain::{explain_unconnected, Unconnected};
use rules::{input_grads, Builder};
pub use transforms::{hessian, jacobian, jvp};

/// What an x with no differentiable path to the ys gets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UnconnectedGradients {
    /// `None`, as `tf.gradients` returns by default.
    #[default]
    None,
    /// Zeros of x's shape.
    Zero,
}

/// Options of [`gradients`], as `tf.gradients`' keyword arguments.
#[derive(Clone, Debug, Default)]
pub struct GradientOptions {
    /// One upstream gradient per y, of y's shape; empty means ones.
    pub grad_ys: Vec<NodeId>,
    /// Nodes through which no gradient flows back to what they were computed
    /// from (a stopped x still gets its own gradient).
    pub stop_gradients: Vec<NodeId>,
    /// What an unconnected x gets.
    pub unconnected: UnconnectedGradients,
}

/// Why gradients could not be built.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum AutodiffError {
    /// No ys were given.
    #[error("gradients of an empty list of ys")]
    NoYs,
    /// No xs were given.
    #[error("gradients with respect to an empty list of xs")]
    NoXs,
    /// A y, x, grad_y or stop node not in the graph.
    #[error("{role} {id} is not a node of this graph")]
    NotInGraph {
        /// Which argument it was.
        role: &'static str,
        /// The id given.
        id: NodeId,
    },
    /// `grad_ys` of the wrong length.
    #[error("{got} grad_ys given for {ys} ys")]
    GradYsCount {
        /// Number of ys.
        ys: usize,
        /// Number of grad_ys.
        got: usize,
    },
    /// A grad_y whose shape or dtype does not match its y.
    #[error("grad_y for y #{index} has shape {got} ({got_dtype}), but y has shape {expected} ({expected_dtype})")]
    GradYShape {
        /// Which y.
        index: usize,
        /// y's shape.
        expected: Shape,
        /// y's dtype.
        expected_dtype: crate::graph::DType,
        /// The grad_y's shape.
        got: Shape,
        /// The grad_y's dtype.
        got_dtype: crate::graph::DType,
    },
    /// Building a gradient node failed (or the graph holds an earlier error).
    #[error(transparent)]
    Graph(#[from] GraphError),
}

/// Edges along which gradient can flow: from node `i` to its input at
/// position `k`, unless `i` is stopped or its op has no gradient there.
fn flows(op: &Op, k: usize, stopped: bool) -> bool {
    !stopped && op.passes_gradient(k)
}

/// Marks the nodes from which a gradient can reach the ys (`backward`) and
/// those a gradient can reach from the xs (`forward`), over ids below `n`.
pub(crate) fn between(
    graph: &Graph,
    ys: &[NodeId],
    xs: &[NodeId],
    stop: &HashSet<NodeId>,
    all_edges: bool,
) -> Vec<bool> {
    let nodes = graph.nodes();
    let n = nodes.len();
    let edge =
        |i: usize, k: usize| all_edges || flows(&nodes[i].op, k, stop.contains(&NodeId(i as u32)));
    let mut fwd = vec![false; n];
    for x in xs {
        fwd[x.index()] = true;
    }
    let start = xs.iter().map(|x| x.index()).min().unwrap_or(n);
    for i in start..n {
        if !fwd[i] {
            fwd[i] = nodes[i]
                .inputs
                .iter()
                .enumerate()
                .any(|(k, inp)| fwd[inp.index()] && edge(i, k));
        }
    }
    let mut bwd = vec![false; n];
    for y in ys {
        bwd[y.index()] = true;
    }
    for i in (0..n).rev() {
        if bwd[i] && fwd[i] {
            for (k, inp) in nodes[i].inputs.iter().enumerate() {
                if edge(i, k) {
                    bwd[inp.index()] = true;
                }
            }
        }
    }
    fwd.iter().zip(&bwd).map(|(f, b)| *f && *b).collect()
}

/// The node whose operation `id`'s gradient rule is: `id` itself, or, for
/// a bound name `name := op(inputs)`, the bound operation.
///
/// A bound name is a tensor of its own, as a TensorFlow op's output is,
/// while hash-consing gives every equal expression one node. So the bound
/// node is the op's instance: its gradient goes straight to the op's
/// inputs, through the op's rule with the bound node as the output, and a
/// rule that reads the output (`exp`, `tanh`, `relu`, ...) reads the name.
/// A gradient with respect to the name then sees every use of it, the
/// gradient's own included. A name bound to an input or a constant, which
/// have no rule, passes its gradient on unchanged.
fn instance(graph: &Graph, id: NodeId) -> NodeId {
    let node = graph.node(id);
    match (&node.op, node.inputs.first()) {
        (Op::Bind { .. }, Some(&op_id)) => {
            let inner = graph.node(op_id);
            if inner.inputs.is_empty() || matches!(inner.op, Op::Bind { .. }) {
                id
            } else {
                op_id
            }
        }
        _ => id,
    }
}

/// The symbolic gradients of `sum(ys)` with respect to each x, as new nodes.
///
/// Exactly `tf.gradients(ys, xs, grad_ys, stop_gradients=...,
/// unconnected_gradients=...)`: several ys are summed (even when one depends
/// on another), a node reached by several paths adds its gradients, and an x
/// with no differentiable path gets `None` (or zeros).
pub fn gradients(
    graph: &Graph,
    ys: &[NodeId],
    xs: &[NodeId],
    opts: &GradientOptions,
) -> Result<Vec<Option<NodeId>>, AutodiffError> {
    graph.check()?;
    if ys.is_empty() {
        return Err(AutodiffError::NoYs);
    }
    if xs.is_empty() {
        return Err(AutodiffError::NoXs);
    }
    for (role, list) in [
        ("y", ys),
        ("x", xs),
        ("grad_y", &opts.grad_ys[..]),
        ("stop node", &opts.stop_gradients[..]),
    ] {
        if let Some(&id) = list.iter().find(|id| !graph.contains(**id)) {
            return Err(AutodiffError::NotInGraph { role, id });
        }
    }
    if !opts.grad_ys.is_empty() && opts.grad_ys.len() != ys.len() {
        return Err(AutodiffError::GradYsCount {
            ys: ys.len(),
            got: opts.grad_ys.len(),
        });
    }
    for (index, (&y, &gy)) in ys.iter().zip(&opts.grad_ys).enumerate() {
        let (yn, gn) = (graph.node(y), graph.node(gy));
        if yn.dtype != gn.dtype || !shapes_may_match(&yn.shape, &gn.shape) {
            return Err(AutodiffError::GradYShape {
                index,
                expected: yn.shape,
                expected_dtype: yn.dtype,
                got: gn.shape,
                got_dtype: gn.dtype,
            });
        }
    }

    let stop: HashSet<NodeId> = opts.stop_gradients.iter().copied().collect();
    let on_path = between(graph, ys, xs, &stop, false);
    let b = Builder { g: graph };
    let n = on_path.len();
    // gradient contributions per node, summed when the node is reached
    let mut parts: Vec<Vec<NodeId>> = vec![Vec::new(); n];
    for (i, &y) in ys.iter().enumerate() {
        if on_path[y.index()] {
            let gy = match opts.grad_ys.get(i) {
                Some(&gy) => gy,
                None => b.ones_like(y)?,
            };
            parts[y.index()].push(gy);
        }
    }
    let mut total: Vec<Option<NodeId>> = vec![None; n];
    for i in (0..n).rev() {
        if !on_path[i] || parts[i].is_empty() {
            continue;
        }
        let mut acc = parts[i][0];
        for &p in &parts[i][1..] {
            acc = b.add(acc, p)?;
        }
        total[i] = Some(acc);
        let id = NodeId(i as u32);
        let stopped = stop.contains(&id);
        let op_id = instance(graph, id);
        let node = graph.node(op_id);
        let want: Vec<bool> = node
            .inputs
            .iter()
            .enumerate()
            .map(|(k, inp)| on_path[inp.index()] && flows(&node.op, k, stopped))
            .collect();
        if !want.iter().any(|&w| w) {
            continue;
        }
        for (k, gi) in input_grads(&b, op_id, id, acc, &want)?
            .into_iter()
            .enumerate()
        {
            if let (Some(gi), true) = (gi, want.get(k).copied().unwrap_or(false)) {
                parts[node.inputs[k].index()].push(gi);
            }
        }
    }
    xs.iter()
        .map(|&x| match (total[x.index()], opts.unconnected) {
            (Some(g), _) => Ok(Some(g)),
            (None, UnconnectedGradients::None) => Ok(None),
            (None, UnconnectedGradients::Zero) => Ok(Some(b.zeros_like(x)?)),
        })
        .collect()
}

fn shapes_may_match(a: &Shape, b: &Shape) -> bool {
    match (a.dims(), b.dims()) {
        (Some(x), Some(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|(p, q)| p.is_none() || q.is_none() || p == q)
        }
        _ => true,
    }
}

/// Options of [`Graph::gradients_with`], in terms of tensor handles.
#[derive(Clone, Debug, Default)]
pub struct GradOptions<'g> {
    /// One upstream gradient per y; empty means ones.
    pub grad_ys: Vec<Tensor<'g>>,
    /// Tensors through which no gradient flows back.
    pub stop_gradients: Vec<Tensor<'g>>,
    /// What an unconnected x gets.
    pub unconnected: UnconnectedGradients,
}

impl Graph {
    /// `tf.gradients(ys, xs)`: the gradient of `sum(ys)` with respect to each
    /// x, as graph nodes; `None` where an x has no differentiable path.
    pub fn gradients<'g>(
        &'g self,
        ys: &[Tensor<'g>],
        xs: &[Tensor<'g>],
    ) -> Result<Vec<Option<Tensor<'g>>>, AutodiffError> {
        self.gradients_with(ys, xs, &GradOptions::default())
    }

    /// `tf.gradients` with `grad_ys`, `stop_gradients` and `unconnected_gradients`.
    pub fn gradients_with<'g>(
        &'g self,
        ys: &[Tensor<'g>],
        xs: &[Tensor<'g>],
        opts: &GradOptions<'g>,
    ) -> Result<Vec<Option<Tensor<'g>>>, AutodiffError> {
        let ids = |ts: &[Tensor<'g>]| -> Result<Vec<NodeId>, AutodiffError> {
            ts.iter()
                .map(|t| {
                    if std::ptr::eq(t.graph(), self) {
                        Ok(t.id())
                    } else {
                        Err(GraphError::ForeignTensor.into())
                    }
                })
                .collect()
        };
        let raw = GradientOptions {
            grad_ys: ids(&opts.grad_ys)?,
            stop_gradients: ids(&opts.stop_gradients)?,
            unconnected: opts.unconnected,
        };
        let out = gradients(self, &ids(ys)?, &ids(xs)?, &raw)?;
        Ok(out
            .into_iter()
            .map(|g| g.map(|id| self.tensor(id)))
            .collect())
    }
}
