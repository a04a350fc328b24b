//! Derivative transforms built on [`gradients`]: the forward-mode
//! directional derivative (`jvp`), the full Jacobian and the Hessian. Each
//! result is an ordinary graph node, so it can be simplified, compiled and
//! differentiated again.
//!
//! * `jvp(y, x, v)` applies the pullback twice (PyTensor's trick, no new
//!   gradient rules): `g(u) = d<y, u>/dx` is linear in a dummy cotangent
//!   `u`, so `d<g(u), v>/du = J v`. The dummy is a bound zero that the
//!   result does not depend on, so simplification removes it: the JVP of
//!   an elementwise function costs what its derivative costs.
//! * `jacobian(y, x)` is one vector-Jacobian product per element of `y`,
//!   with a one-hot upstream gradient, stacked: `size(y)` gradient builds,
//!   which hash-consing shares where they coincide (for an elementwise `y`
//!   most rows simplify to a product with a one-hot constant). Both shapes
//!   must be known when the graph is built, and `size(y)` at most
//!   [`MAX_ROWS`].
//! * `hessian(y, x)` is the Jacobian of the gradient of `sum(y)`.

use super::{gradients, AutodiffError, GradientOptions};
use crate::graph::{Graph, GraphError, Literal, NodeId, Op, Shape, Tensor};

/// The most rows (elements of `y`) a Jacobian or Hessian is built from.
pub const MAX_ROWS: usize = 4096;

/// The concrete shape of `id`, or an error naming `op`.
fn dims(graph: &Graph, id: NodeId, op: &'static str) -> Result<Vec<usize>, GraphError> {
    graph
        .node(id)
        .shape
        .concrete()
        .ok_or(GraphError::UnknownSize {
            op,
            detail: "it builds one gradient per element",
        })
}

/// The derivative of `y` at `x` in the direction `v` (of `x`'s shape), of
/// `y`'s shape; `None` when `y` does not depend on `x` through a
/// differentiable path.
///
/// # Errors
/// `v` of another shape or dtype than `x`, or a failure building nodes.
pub fn jvp(
    graph: &Graph,
    y: NodeId,
    x: NodeId,
    v: NodeId,
) -> Result<Option<NodeId>, AutodiffError> {
    let (xs, vs) = (graph.node(x), graph.node(v));
    let same = xs.dtype == vs.dtype
        && crate::graph::may_broadcast_to(&xs.shape, &vs.shape)
        && crate::graph::may_broadcast_to(&vs.shape, &xs.shape);
    if !same {
        return Err(GraphError::ShapesDiffer {
            op: "jvp",
            lhs: xs.shape,
            rhs: vs.shape,
        }
        .into());
    }
    // a name of its own, so that the second pullback concerns this use only
    let zero = graph.add_node(Op::ZerosLike, &[y])?;
    let dummy = Op::Bind {
        name: format!("__jvp_cotangent{}", graph.len()),
    };
    let u = graph.add_node(dummy, &[zero])?;
    let first = GradientOptions {
        grad_ys: vec![u],
        ..GradientOptions::default()
    };
    let Some(gx) = gradients(graph, &[y], &[x], &first)?[0] else {
        return Ok(None);
    };
    let second = GradientOptions {
        grad_ys: vec![v],
        ..GradientOptions::default()
    };
    match gradients(graph, &[gx], &[u], &second)?[0] {
        Some(jv) => Ok(Some(jv)),
        // connected, but the pullback ignores the cotangent: a zero
        None => Ok(Some(graph.add_node(Op::ZerosLike, &[y])?)),
    }
}

/// `d y[i...] / d x[j...]`, of shape `y.shape + x.shape`; `None` when no
/// element of `y` depends on `x` through a differentiable path.
///
/// # Errors
/// Shapes not known when the graph is built, `y` of more than
/// [`MAX_ROWS`] elements, or a failure building nodes.
pub fn jacobian(graph: &Graph, y: NodeId, x: NodeId) -> Result<Option<NodeId>, AutodiffError> {
    let (ydims, xdims) = (dims(graph, y, "jacobian")?, dims(graph, x, "jacobian")?);
    let m: usize = ydims.iter().product();
    if m > MAX_ROWS {
        return Err(GraphError::TooLarge {
            op: "jacobian",
            shape: Shape::known(&ydims),
        }
        .into());
    }
    let dtype = graph.node(y).dtype;
    let mut out_dims = ydims.clone();
    out_dims.extend_from_slice(&xdims);
    let mut row_dims = vec![1usize];
    row_dims.extend_from_slice(&xdims);
    if gradients(graph, &[y], &[x], &GradientOptions::default())?[0].is_none() {
        return Ok(None);
    }
    let mut rows = Vec::with_capacity(m);
    for j in 0..m {
        let mut hot = vec![0.0; m];
        hot[j] = 1.0;
        let lit = Literal::new(ydims.clone(), hot).ok_or(GraphError::ConstantShape {
            shape: ydims.clone(),
            len: m,
        })?;
        let e = graph.add_constant(lit, dtype);
        let opts = GradientOptions {
            grad_ys: vec![e],
            ..GradientOptions::default()
        };
        let row = match gradients(graph, &[y], &[x], &opts)?[0] {
            Some(r) => r,
            None => graph.add_node(Op::ZerosLike, &[x])?,
        };
        let shaped = Op::Reshape {
            dims: row_dims.iter().map(|&d| d as i64).collect(),
        };
        rows.push(graph.add_node(shaped, &[row])?);
    }
    if rows.is_empty() {
        // no element of y: an empty Jacobian
        let zero = graph.add_scalar(0.0, dtype);
        let op = Op::BroadcastTo { dims: out_dims };
        return Ok(Some(graph.add_node(op, &[zero])?));
    }
    let stacked = graph.add_node(Op::Concat { axis: 0 }, &rows)?;
    let shaped = Op::Reshape {
        dims: out_dims.iter().map(|&d| d as i64).collect(),
    };
    Ok(Some(graph.add_node(shaped, &[stacked])?))
}

/// The second derivatives of `sum(y)` with respect to `x`, of shape
/// `x.shape + x.shape` (`tf.hessians(y, x)[0]`).
///
/// # Errors
/// As [`jacobian`]; `Ok(None)` when `y` does not depend on `x`, or its
/// gradient does not depend on `x`, through a differentiable path.
pub fn hessian(graph: &Graph, y: NodeId, x: NodeId) -> Result<Option<NodeId>, AutodiffError> {
    let Some(g) = gradients(graph, &[y], &[x], &GradientOptions::default())?[0] else {
        return Ok(None);
    };
    jacobian(graph, g, x)
}

impl Graph {
    /// `jvp(y, x, v)`: the derivative of `y` at `x` in the direction `v`
    /// (see [`jvp`]); `None` when `y` does not depend on `x`.
    ///
    /// # Errors
    /// As [`jvp`], and a tensor of another graph.
    pub fn jvp<'g>(
        &'g self,
        y: Tensor<'g>,
        x: Tensor<'g>,
        v: Tensor<'g>,
    ) -> Result<Option<Tensor<'g>>, AutodiffError> {
        let [y, x, v] = self.owned_ids([y, x, v])?;
        Ok(jvp(self, y, x, v)?.map(|id| self.tensor(id)))
    }

    /// The Jacobian of `y` with respect to `x`, shape `y.shape + x.shape`
    /// (see [`jacobian`], which says what it costs).
    ///
    /// # Errors
    /// As [`jacobian`], and a tensor of another graph.
    pub fn jacobian<'g>(
        &'g self,
        y: Tensor<'g>,
        x: Tensor<'g>,
    ) -> Result<Option<Tensor<'g>>, AutodiffError> {
        let [y, x] = self.owned_ids([y, x])?;
        Ok(jacobian(self, y, x)?.map(|id| self.tensor(id)))
    }

    /// `tf.hessians(y, x)[0]`: the second derivatives of `sum(y)`, shape
    /// `x.shape + x.shape` (see [`hessian`]).
    ///
    /// # Errors
    /// As [`hessian`], and a tensor of another graph.
    pub fn hessians<'g>(
        &'g self,
        y: Tensor<'g>,
        x: Tensor<'g>,
    ) -> Result<Option<Tensor<'g>>, AutodiffError> {
        let [y, x] = self.owned_ids([y, x])?;
        Ok(hessian(self, y, x)?.map(|id| self.tensor(id)))
    }

    /// The ids of tensors that must belong to this graph.
    fn owned_ids<const N: usize>(&self, ts: [Tensor<'_>; N]) -> Result<[NodeId; N], AutodiffError> {
        let mut out = [NodeId(0); N];
        for (o, t) in out.iter_mut().zip(ts) {
            if !std::ptr::eq(t.graph(), self) {
                return Err(GraphError::ForeignTensor.into());
            }
            *o = t.id();
        }
        Ok(out)
    }
}
