//! Shape operations that change nothing, compose, or can be resolved once
//! shapes are known: `ones_like`, broadcasts, `sum_to`, reshapes, transposes.
//!
//! Broadcasting commutes with every elementwise operation, so a broadcast
//! can be dropped from an operand when the result's shape does not change,
//! and hoisted above an operation whose other operands are rank-0. A
//! `ones_like(x)` of a known shape becomes `broadcast_to(1, shape)` (never a
//! materialized constant), which then disappears into the operation using it.

use crate::graph::{Node, NodeId, Op, ReduceOp};

use super::rewrite::{rules, Outcome, Rewriter, Rule};
use super::SimplifyError;

/// The shape rules of the `algebra` pass; all exact.
pub(crate) const RULES: &[Rule] = rules![
    "ones-zeros-like",      Exact, "ones_like(x) -> broadcast(1, shape(x)), zeros_like likewise" => ones_zeros_like;
    "broadcast-like-known", Exact, "broadcast_like(x, y) -> broadcast_to(x, shape(y)) when known" => broadcast_like_known;
    "broadcast-noop",       Exact, "broadcast_to(x, shape(x)) -> x"                     => broadcast_noop;
    "broadcast-broadcast",  Exact, "broadcast(broadcast(x, s1), s2) -> broadcast(x, s2)" => broadcast_broadcast;
    "broadcast-operand",    Exact, "f(broadcast(x), y) -> f(x, y) if the shape of the result is unchanged" => broadcast_operand;
    "broadcast-hoist",      Exact, "f(broadcast(x, s), c) -> broadcast(f(x, c), s) for rank-0 c" => broadcast_hoist;
    "like-operand",         Exact, "sum_to(x, broadcast_like(y, z)) -> sum_to(x, z), likewise for every shape-lending operand" => like_operand;
    "sum-to-noop",          Exact, "sum_to(x, y) -> x if shape(x) = shape(y)"            => sum_to_noop;
    "sum-to-reduce",        Exact, "sum_to(x, y) -> sum(x, axes) when one reduction gives shape(y)" => sum_to_reduce;
    "reshape-noop",         Exact, "reshape(x, shape(x)) -> x"                           => reshape_noop;
    "reshape-known",        Exact, "reshape_like(x, y), expand_dims(x, a) -> reshape(x, dims) when known" => reshape_known;
    "reshape-reshape",      Exact, "reshape(reshape(x, s1), s2) -> reshape(x, s2)"       => reshape_reshape;
    "transpose-noop",       Exact, "transpose(x, identity) -> x, transpose(x, reversal) -> transpose(x)" => transpose_noop;
    "transpose-transpose",  Exact, "transpose(transpose(x, p), q) -> transpose(x, p[q])" => transpose_transpose;
];

/// A broadcast: its operand and how to broadcast something else the same way.
struct Broadcast {
    arg: NodeId,
    op: Op,
    like: Option<NodeId>,
}

fn as_broadcast(rw: &Rewriter<'_>, id: NodeId) -> Option<Broadcast> {
    let n = rw.node(id);
    match n.op {
        Op::BroadcastTo { .. } => Some(Broadcast {
            arg: n.inputs[0],
            op: n.op,
            like: None,
        }),
        Op::BroadcastLike => Some(Broadcast {
            arg: n.inputs[0],
            op: n.op,
            like: Some(n.inputs[1]),
        }),
        _ => None,
    }
}

impl Broadcast {
    /// Broadcasts `x` the way this broadcast does.
    fn apply(&self, rw: &mut Rewriter<'_>, x: NodeId) -> Result<NodeId, SimplifyError> {
        match self.like {
            Some(like) => rw.mk(self.op.clone(), &[x, like]),
            None => rw.mk(self.op.clone(), &[x]),
        }
    }
}

fn ones_zeros_like(rw: &mut Rewriter<'_>, _id: NodeId, n: &Node) -> Outcome {
    let v = match n.op {
        Op::OnesLike => 1.0,
        Op::ZerosLike => 0.0,
        _ => return Ok(None),
    };
    let x = n.inputs[0];
    let c = rw.konst(v, n.dtype);
    let shape = rw.shape(x);
    Ok(Some(match shape.concrete() {
        Some(dims) if dims.is_empty() => c,
        Some(dims) => rw.mk(Op::BroadcastTo { dims }, &[c])?,
        None => rw.mk(Op::BroadcastLike, &[c, x])?,
    }))
}

fn broadcast_like_known(rw: &mut Rewriter<'_>, id: NodeId, n: &Node) -> Outcome {
    if n.op != Op::BroadcastLike {
        return Ok(None);
    }
    match rw.shape(n.inputs[1]).concrete() {
        Some(dims) => {
            let r = rw.mk(Op::BroadcastTo { dims }, &[n.inputs[0]])?;
            rw.replace(id, r)
        }
        None => Ok(None),
    }
}

fn broadcast_noop(rw: &mut Rewriter<'_>, id: NodeId, n: &Node) -> Outcome {
    match n.op {
        Op::BroadcastTo { .. } | Op::BroadcastLike => rw.replace(id, n.inputs[0]),
        _ => Ok(None),
    }
}

fn broadcast_broadcast(rw: &mut Rewriter<'_>, id: NodeId, n: &Node) -> Outcome {
    let Some(outer) = as_broadcast(rw, id) else {
        return Ok(None);
    };
    let Some(inner) = as_broadcast(rw, n.inputs[0]) else {
        return Ok(None);
    };
    // broadcasting is transitive: x reaches s2 directly
    let r = outer.apply(rw, inner.arg)?;
    rw.replace(id, r)
}

fn broadcast_operand(rw: &mut Rewriter<'_>, id: NodeId, n: &Node) -> Outcome {
    if !matches!(n.op, Op::Binary(_) | Op::Where) {
        return Ok(None);
    }
    for k in 0..n.inputs.len() {
        let Some(b) = as_broadcast(rw, n.inputs[k]) else {
            continue;
        };
        let mut inputs = n.inputs.clone();
        inputs[k] = b.arg;
        if let Some(m) = rw.raw(n.op.clone(), &inputs) {
            if rw.fits(id, m) {
                return Ok(Some(m));
            }
        }
    }
    Ok(None)
}

fn broadcast_hoist(rw: &mut Rewriter<'_>, id: NodeId, n: &Node) -> Outcome {
    // a broadcast others still use would be computed twice
    if n.inputs
        .iter()
        .any(|&i| rw.shared(i) && as_broadcast(rw, i).is_some())
    {
        return Ok(None);
    }
    let (b, inputs) = match n.op {
        Op::Unary(_) => match as_broadcast(rw, n.inputs[0]) {
            Some(b) => {
                let arg = b.arg;
                (b, vec![arg])
            }
            None => return Ok(None),
        },
        Op::Binary(_) => {
            let (x, y) = (n.inputs[0], n.inputs[1]);
            let rank0 = |id: NodeId| rw.shape(id).rank() == Some(0);
            match (as_broadcast(rw, x), as_broadcast(rw, y)) {
                (Some(b), _) if rank0(y) => {
                    let arg = b.arg;
                    (b, vec![arg, y])
                }
                (_, Some(b)) if rank0(x) => {
                    let arg = b.arg;
                    (b, vec![x, arg])
                }
                _ => return Ok(None),
            }
        }
        _ => return Ok(None),
    };
    let inner = rw.mk(n.op.clone(), &inputs)?;
    let r = b.apply(rw, inner)?;
    rw.replace(id, r)
}

/// A node with `like`'s static and run-time shape that `like` is computed
/// from (`broadcast_like(_, l)`, `ones_like(l)`, ...), if any.
fn shape_source(rw: &mut Rewriter<'_>, like: NodeId) -> Option<NodeId> {
    let m = rw.node(like);
    let l = match m.op {
        Op::BroadcastLike | Op::SumTo | Op::ReshapeLike => m.inputs[1],
        Op::OnesLike | Op::ZerosLike => m.inputs[0],
        _ => return None,
    };
    rw.fits(like, l).then_some(l)
}

fn like_operand(rw: &mut Rewriter<'_>, id: NodeId, n: &Node) -> Outcome {
    // the second operand lends only its shape: any node of that shape will do
    if !matches!(n.op, Op::SumTo | Op::BroadcastLike | Op::ReshapeLike) {
        return Ok(None);
    }
    match shape_source(rw, n.inputs[1]) {
        Some(l) => {
            let r = rw.mk(n.op.clone(), &[n.inputs[0], l])?;
            rw.replace(id, r)
        }
        None => Ok(None),
    }
}

fn sum_to_noop(rw: &mut Rewriter<'_>, id: NodeId, n: &Node) -> Outcome {
    match n.op {
        Op::SumTo => rw.replace(id, n.inputs[0]),
        _ => Ok(None),
    }
}

fn sum_to_reduce(rw: &mut Rewriter<'_>, id: NodeId, n: &Node) -> Outcome {
    if n.op != Op::SumTo {
        return Ok(None);
    }
    let (g, like) = (n.inputs[0], n.inputs[1]);
    let (Some(gs), Some(ls)) = (rw.shape(g).concrete(), rw.shape(like).concrete()) else {
        return Ok(None);
    };
    let Some(lead) = gs.len().checked_sub(ls.len()) else {
        return Ok(None);
    };
    // the axes the interpreter's sum_to reduces
    let axes: Vec<usize> = (0..gs.len())
        .filter(|&i| i < lead || (ls[i - lead] == 1 && gs[i] != 1))
        .collect();
    let keepdims = if axes.iter().all(|&a| a < lead) {
        false
    } else if lead == 0 {
        true
    } else {
        // needs a reshape after the reduction: keep the one operation
        return Ok(None);
    };
    if axes.is_empty() {
        return Ok(None);
    }
    let sum = Op::Reduce {
        op: ReduceOp::Sum,
        axes: Some(axes),
        keepdims,
    };
    let r = rw.mk(sum, &[g])?;
    rw.replace(id, r)
}

fn is_reshape(op: &Op) -> bool {
    matches!(
        op,
        Op::Reshape { .. } | Op::ReshapeLike | Op::ExpandDims { .. }
    )
}

fn reshape_noop(rw: &mut Rewriter<'_>, id: NodeId, n: &Node) -> Outcome {
    if is_reshape(&n.op) {
        rw.replace(id, n.inputs[0])
    } else {
        Ok(None)
    }
}

fn reshape_known(rw: &mut Rewriter<'_>, id: NodeId, n: &Node) -> Outcome {
    if !is_reshape(&n.op) {
        return Ok(None);
    }
    let Some(dims) = n.shape.concrete() else {
        return Ok(None);
    };
    let op = Op::Reshape {
        dims: dims.iter().map(|&d| d as i64).collect(),
    };
    if op == n.op {
        return Ok(None);
    }
    let r = rw.mk(op, &[n.inputs[0]])?;
    rw.replace(id, r)
}

fn reshape_reshape(rw: &mut Rewriter<'_>, id: NodeId, n: &Node) -> Outcome {
    // the outer reshape's result depends only on its operand's element
    // count, unless it infers a -1 beside a 0 (then the operand's nonzero
    // dimensions count, as in TensorFlow)
    let inputs_after = match &n.op {
        Op::Reshape { dims } if dims.contains(&-1) && dims.contains(&0) => return Ok(None),
        Op::Reshape { .. } => vec![],
        Op::ReshapeLike => vec![n.inputs[1]],
        _ => return Ok(None),
    };
    let inner = rw.node(n.inputs[0]);
    if !is_reshape(&inner.op) {
        return Ok(None);
    }
    let mut inputs = vec![inner.inputs[0]];
    inputs.extend(inputs_after);
    let r = rw.mk(n.op.clone(), &inputs)?;
    rw.replace(id, r)
}

/// A transpose's permutation, with `None` resolved to the reversal when the rank is known.
fn permutation(rw: &Rewriter<'_>, n: &Node) -> Option<Vec<usize>> {
    match &n.op {
        Op::Transpose { perm: Some(p) } => Some(p.clone()),
        Op::Transpose { perm: None } => {
            let rank = rw.shape(n.inputs[0]).rank()?;
            Some((0..rank).rev().collect())
        }
        _ => None,
    }
}

fn transpose_noop(rw: &mut Rewriter<'_>, id: NodeId, n: &Node) -> Outcome {
    let Some(p) = permutation(rw, n) else {
        return Ok(None);
    };
    if p.iter().enumerate().all(|(i, &a)| a == i) {
        return rw.replace(id, n.inputs[0]);
    }
    let reversal = p.iter().enumerate().all(|(i, &a)| a == p.len() - 1 - i);
    if reversal && n.op != (Op::Transpose { perm: None }) {
        let r = rw.mk(Op::Transpose { perm: None }, &[n.inputs[0]])?;
        return rw.replace(id, r);
    }
    Ok(None)
}

fn transpose_transpose(rw: &mut Rewriter<'_>, id: NodeId, n: &Node) -> Outcome {
    let Some(q) = permutation(rw, n) else {
        return Ok(None);
    };
    let inner = rw.node(n.inputs[0]);
    let Some(p) = permutation(rw, &inner) else {
        return Ok(None);
    };
    if p.len() != q.len() {
        return Ok(None);
    }
    // output axis i is the inner's axis q[i], which is x's axis p[q[i]]
    let perm: Vec<usize> = q.iter().map(|&i| p[i]).collect();
    let r = rw.mk(Op::Transpose { perm: Some(perm) }, &[inner.inputs[0]])?;
    rw.replace(id, r)
}
