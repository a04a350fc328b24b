//! "Why is my gradient None?": the reason an x has no gradient.

use std::collections::HashSet;

use crate::graph::{Graph, NodeId, Op};

use super::between;

/// Why an x is unconnected to the ys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unconnected {
    /// It is connected: a gradient does flow.
    Connected,
    /// No path at all leads from x to any y.
    NoPath,
    /// Every path passes through an op without a gradient or a stopped node.
    Blocked {
        /// Nodes whose op has no gradient toward the path (e.g. `floor`, a
        /// comparison, the condition of `where`).
        no_gradient: Vec<NodeId>,
        /// Stopped nodes on the paths: `stop_gradient(...)` or members of the stop set.
        stopped: Vec<NodeId>,
    },
}

/// Explains why `x` gets no gradient from `ys` under the stop set `stop`.
///
/// Looks at every path from x to the ys ignoring differentiability; the
/// nodes on them that block the gradient are reported (first along the
/// paths first).
pub fn explain_unconnected(
    graph: &Graph,
    ys: &[NodeId],
    x: NodeId,
    stop: &[NodeId],
) -> Unconnected {
    if !graph.contains(x) || ys.iter().any(|y| !graph.contains(*y)) {
        return Unconnected::NoPath;
    }
    let stop: HashSet<NodeId> = stop.iter().copied().collect();
    if between(graph, ys, &[x], &stop, false)[x.index()] {
        return Unconnected::Connected;
    }
    let plain = between(graph, ys, &[x], &stop, true);
    if !plain[x.index()] {
        return Unconnected::NoPath;
    }
    let nodes = graph.nodes();
    let mut no_gradient = Vec::new();
    let mut stopped = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let id = NodeId(i as u32);
        if !plain[i] || id == x {
            continue;
        }
        let path_inputs: Vec<usize> = node
            .inputs
            .iter()
            .enumerate()
            .filter(|(_, inp)| plain[inp.index()])
            .map(|(k, _)| k)
            .collect();
        if path_inputs.is_empty() {
            continue;
        }
        if stop.contains(&id) || matches!(node.op, Op::StopGradient) {
            stopped.push(id);
        } else if path_inputs.iter().any(|&k| !node.op.passes_gradient(k)) {
            no_gradient.push(id);
        }
    }
    Unconnected::Blocked {
        no_gradient,
        stopped,
    }
}
