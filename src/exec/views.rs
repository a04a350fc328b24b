//! Transposes that matrix products read as strided views (no step of
//! their own), and what each step reads and writes through them: what the
//! buffer homes (`layout`) and the row-blocked runs (`rows`) both need.

use crate::fuse::{Plan, Step};
use crate::graph::{Node, NodeId, Op};

/// Per node, the input and axes permutation of a transpose that matrix
/// products read as a strided view (see [`transposes_as_views`]).
pub(crate) type Views = Vec<Option<(NodeId, Vec<usize>)>>;

/// The value `id` names, through a transpose read as a view, with the
/// view's permutation.
pub(crate) fn view_source(views: &Views, id: NodeId) -> (NodeId, Option<&[usize]>) {
    match views.get(id.index()).and_then(Option::as_ref) {
        Some((src, perm)) => (*src, Some(perm.as_slice())),
        None => (id, None),
    }
}

/// The values a step reads (through views) and writes: a kernel's inputs,
/// and its outputs then its reductions; a library node's inputs, and the
/// node.
pub(crate) fn reads_writes(
    nodes: &[Node],
    views: &Views,
    step: &Step,
) -> (Vec<NodeId>, Vec<NodeId>) {
    match step {
        Step::Kernel(k) => (
            k.inputs.clone(),
            k.outputs
                .iter()
                .copied()
                .chain(k.reductions.iter().map(|r| r.node))
                .collect(),
        ),
        Step::Library(id) => (
            nodes[id.index()]
                .inputs
                .iter()
                .map(|&r| view_source(views, r).0)
                .collect(),
            vec![*id],
        ),
    }
}

/// Transposes read only by matrix products (and not fetched) need no step:
/// the product reads their input through a strided view. Returns, per node,
/// the input and permutation of such a transpose.
pub(crate) fn transposes_as_views(
    nodes: &[Node],
    plan: &Plan,
) -> Vec<Option<(NodeId, Vec<usize>)>> {
    let n = nodes.len();
    let mut only_matmul = vec![true; n];
    for f in &plan.fetches {
        only_matmul[f.index()] = false;
    }
    for step in &plan.steps {
        let (reads, by_matmul): (&[NodeId], bool) = match step {
            Step::Kernel(k) => (&k.inputs, false),
            Step::Library(id) => (
                &nodes[id.index()].inputs,
                matches!(nodes[id.index()].op, Op::MatMul),
            ),
        };
        if !by_matmul {
            for r in reads {
                only_matmul[r.index()] = false;
            }
        }
    }
    let mut view_of = vec![None; n];
    for step in &plan.steps {
        let Step::Library(id) = step else { continue };
        let node = &nodes[id.index()];
        let (Op::Transpose { perm }, Some(&src)) = (&node.op, node.inputs.first()) else {
            continue;
        };
        if !only_matmul[id.index()] {
            continue;
        }
        let rank = node.shape.rank().unwrap_or(0);
        let perm = perm.clone().unwrap_or_else(|| (0..rank).rev().collect());
        view_of[id.index()] = Some((src, perm));
    }
    view_of
}
