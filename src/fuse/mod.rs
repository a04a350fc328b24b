//! Fusion: partitions a graph into a plan of steps — fused elementwise
//! kernels and library steps for everything else.
//!
//! A kernel is a **convex** group of elementwise nodes of one shape: no path
//! leaves the group and comes back into it (PyTensor's definition). A
//! counterexample: with `a = tanh(x)`, `s = sum(a)`, `b = a * s`, the nodes
//! `a` and `b` cannot share a kernel, because `b` needs `s`, which needs all
//! of `a` first. Values used outside the group (or fetched) are its outputs;
//! everything else stays in registers. Inputs of other shapes are read
//! through their broadcast pattern (see [`Layout`]).

mod build;
mod composite;
mod convex;
mod layout;
mod products;
mod regroup;

use crate::graph::kernel::KernelSpec;
use crate::graph::{Graph, Node, NodeId, Op};
use convex::Convexity;

pub(crate) use build::{classify, kernel_reduction};
pub use composite::expand_composites;
pub use layout::{layout, layout_with, reduction_strides, Layout};
pub use products::unit_products;

/// How much to fuse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fusion {
    /// Convex groups of elementwise nodes.
    Fused,
    /// One kernel per elementwise node, for comparison.
    Unfused,
}

/// Why a graph cannot be planned.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum FuseError {
    /// A node whose shape is not fully known: executables are specialized
    /// to concrete shapes first.
    #[error("{what} has a shape that is not fully known; specialize the graph to its feeds first")]
    UnknownShape {
        /// The node, described.
        what: String,
    },
    /// A fetch that is not in the graph.
    #[error("fetch {0} is not in the graph")]
    UnknownNode(NodeId),
    /// The kernels depend on each other in a cycle (a bug of the planner:
    /// please report it).
    #[error("internal error: the planned kernels depend on each other in a cycle")]
    Cycle,
}

/// A fused kernel and where its operands live.
#[derive(Clone, Debug)]
pub struct KernelStep {
    /// The code to run.
    pub spec: KernelSpec,
    /// The fusion group it was built from.
    pub group: usize,
    /// The graph nodes read, one per kernel input.
    pub inputs: Vec<NodeId>,
    /// The graph nodes written, one per kernel output.
    pub outputs: Vec<NodeId>,
    /// Every elementwise node computed by the kernel (the reductions it
    /// computes are in `reductions`).
    pub members: Vec<NodeId>,
    /// Reductions computed in the kernel's loop, in the spec's order.
    pub reductions: Vec<FusedReduction>,
    /// The iteration space.
    pub layout: Layout,
}

/// How the caller assembles a fused reduction's result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReduceClass {
    /// One value for the whole iteration space: the kernel writes one
    /// partial per row, the caller combines them in row order.
    All,
    /// One value per row, written by the kernel.
    PerRow,
    /// One value per column, accumulated by the kernel.
    PerColumn,
}

/// A reduction node computed inside a kernel.
#[derive(Clone, Debug)]
pub struct FusedReduction {
    /// The graph node (a `sum`, `mean`, `max` or `min`).
    pub node: NodeId,
    /// How its result is assembled.
    pub class: ReduceClass,
    /// The number of elements combined into each result (a mean divides by it).
    pub count: usize,
    /// Whether the result is a mean (a sum scaled by `1/count`).
    pub mean: bool,
}

/// One step of a plan.
// a plan holds few steps, built once per compile: boxing would buy nothing
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum Step {
    /// A fused elementwise kernel.
    Kernel(KernelStep),
    /// One non-elementwise node, computed by a library routine.
    Library(NodeId),
}

/// The steps that compute a graph's fetches, in an order that respects
/// every dependency.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The steps, in execution order.
    pub steps: Vec<Step>,
    /// The nodes to return.
    pub fetches: Vec<NodeId>,
}

impl Plan {
    /// The kernel steps.
    pub fn kernels(&self) -> impl Iterator<Item = &KernelStep> {
        self.steps.iter().filter_map(|s| match s {
            Step::Kernel(k) => Some(k),
            Step::Library(_) => None,
        })
    }
}

/// What a graph becomes before it is planned with `mode`: composite
/// operations are written out as reductions and elementwise work
/// ([`expand_composites`]); then, with [`Fusion::Fused`], products with a
/// unit dimension are rewritten as elementwise work ([`unit_products`]).
/// `exec::compile` and `gradjit show` both plan what this returns, so they
/// show and run the same plan.
///
/// # Errors
/// As [`expand_composites`] and [`unit_products`].
pub fn prepare(
    graph: Graph,
    roots: Vec<NodeId>,
    mode: Fusion,
) -> Result<(Graph, Vec<NodeId>), crate::graph::GraphError> {
    let (graph, roots) = expand_composites(&graph, &roots)?;
    match mode {
        Fusion::Fused => unit_products(&graph, &roots),
        Fusion::Unfused => Ok((graph, roots)),
    }
}

fn fusible(op: &Op) -> bool {
    op.is_elementwise() || matches!(op, Op::Identity | Op::StopGradient | Op::Bind { .. })
}

/// Partitions the nodes `fetches` need into steps.
pub fn plan(graph: &Graph, fetches: &[NodeId], mode: Fusion) -> Result<Plan, FuseError> {
    if let Some(&bad) = fetches.iter().find(|f| !graph.contains(**f)) {
        return Err(FuseError::UnknownNode(bad));
    }
    let nodes = graph.nodes().to_vec();
    let n = nodes.len();
    let mut needed = vec![false; n];
    for f in fetches {
        needed[f.index()] = true;
    }
    for i in (0..n).rev() {
        if needed[i] {
            for inp in &nodes[i].inputs {
                needed[inp.index()] = true;
            }
            if nodes[i].shape.concrete().is_none() {
                return Err(FuseError::UnknownShape {
                    what: graph.describe(NodeId(i as u32)),
                });
            }
        }
    }
    let (group, n_kernels) = match mode {
        Fusion::Fused => {
            let (group, n) = group_fused(&nodes, &needed);
            regroup::regroup(&nodes, &needed, fetches, group, n)
        }
        Fusion::Unfused => group_unfused(&nodes, &needed),
    };
    let steps =
        order_steps(graph, &nodes, &needed, &group, fetches, n_kernels).ok_or(FuseError::Cycle)?;
    Ok(Plan {
        steps,
        fetches: fetches.to_vec(),
    })
}

/// One kernel per fusible node.
fn group_unfused(nodes: &[Node], needed: &[bool]) -> (Vec<Option<usize>>, usize) {
    let mut group = vec![None; nodes.len()];
    let mut k = 0;
    for (i, node) in nodes.iter().enumerate() {
        if needed[i] && fusible(&node.op) {
            group[i] = Some(k);
            k += 1;
        }
    }
    (group, k)
}

/// Groups fusible nodes of one shape into convex kernels, visiting nodes in
/// topological order. A node joins (and merges) the kernels of its inputs
/// when the union stays convex: a kernel runs as one step, after everything
/// any of its members reads, so no value read from outside the union may
/// depend — through any step, kernel or library — on a kernel of the union.
/// (Node-level dependencies are not enough: a kernel that reads the union
/// through one member delays all its members.) Returns each node's kernel
/// (dense numbers) and the number of kernels.
fn group_fused(nodes: &[Node], needed: &[bool]) -> (Vec<Option<usize>>, usize) {
    let n = nodes.len();
    let mut group: Vec<Option<usize>> = vec![None; n];
    let mut members: Vec<Vec<usize>> = Vec::new();
    let mut shapes: Vec<Vec<usize>> = Vec::new();
    let mut conv = Convexity::new(n);
    for i in 0..n {
        if !needed[i] || !fusible(&nodes[i].op) {
            continue;
        }
        let shape = nodes[i].shape.concrete().unwrap_or_default();
        let mut cands: Vec<usize> = Vec::new();
        for inp in &nodes[i].inputs {
            if let Some(k) = group[inp.index()] {
                if shapes[k] == shape && !cands.contains(&k) {
                    cands.push(k);
                }
            }
        }
        // whether `set` plus node i is convex
        let mut convex = |set: &[usize], group: &[Option<usize>], members: &[Vec<usize>]| {
            let inside = |x: usize| group[x].is_some_and(|k| set.contains(&k)) || x == i;
            let readers = set
                .iter()
                .flat_map(|&k| members[k].iter().copied())
                .chain(std::iter::once(i));
            conv.holds(nodes, group, members, inside, readers)
        };
        let chosen: Vec<usize> = if convex(&cands, &group, &members) {
            cands
        } else {
            let mut one = Vec::new();
            for &k in &cands {
                if convex(&[k], &group, &members) {
                    one.push(k);
                    break;
                }
            }
            one
        };
        let k = match chosen.split_first() {
            Some((&keep, rest)) => {
                for &gone in rest {
                    let moved = std::mem::take(&mut members[gone]);
                    for &m in &moved {
                        group[m] = Some(keep);
                    }
                    members[keep].extend(moved);
                }
                keep
            }
            None => {
                shapes.push(shape);
                members.push(Vec::new());
                shapes.len() - 1
            }
        };
        group[i] = Some(k);
        members[k].push(i);
    }
    let n = renumber(&mut group, shapes.len());
    (group, n)
}

/// Renumbers kernels `0..n` densely, in order of first member, and returns
/// how many there are.
fn renumber(group: &mut [Option<usize>], n: usize) -> usize {
    let mut number: Vec<Option<usize>> = vec![None; n];
    let mut next = 0;
    for g in group.iter_mut() {
        if let Some(k) = *g {
            let m = *number[k].get_or_insert_with(|| {
                next += 1;
                next - 1
            });
            *g = Some(m);
        }
    }
    next
}

/// Orders kernels and library nodes so every step follows its inputs
/// (Kahn's algorithm over steps, smallest first member first), then builds
/// each kernel's spec. Convex groups make the step graph acyclic.
fn order_steps(
    graph: &Graph,
    nodes: &[crate::graph::Node],
    needed: &[bool],
    group: &[Option<usize>],
    fetches: &[NodeId],
    n_kernels: usize,
) -> Option<Vec<Step>> {
    // step ids: kernels 0..n_kernels, then one per library node
    let mut members: Vec<Vec<NodeId>> = vec![Vec::new(); n_kernels];
    let mut step_of: Vec<Option<usize>> = vec![None; nodes.len()];
    for i in 0..nodes.len() {
        if !needed[i] {
            continue;
        }
        match group[i] {
            Some(k) => {
                members[k].push(NodeId(i as u32));
                step_of[i] = Some(k);
            }
            None if nodes[i].op.is_computation() => {
                members.push(vec![NodeId(i as u32)]);
                step_of[i] = Some(members.len() - 1);
            }
            None => {}
        }
    }
    let n_steps = members.len();
    let mut succs: Vec<Vec<usize>> = vec![Vec::new(); n_steps];
    let mut indegree = vec![0usize; n_steps];
    for (s, ms) in members.iter().enumerate() {
        let mut preds: Vec<usize> = Vec::new();
        for m in ms {
            for inp in &nodes[m.index()].inputs {
                if let Some(p) = step_of[inp.index()] {
                    if p != s && !preds.contains(&p) {
                        preds.push(p);
                    }
                }
            }
        }
        indegree[s] = preds.len();
        for p in preds {
            succs[p].push(s);
        }
    }
    let mut ready: std::collections::BTreeSet<(NodeId, usize)> = (0..n_steps)
        .filter(|&s| indegree[s] == 0)
        .map(|s| (members[s][0], s))
        .collect();
    let ctx = build::Context {
        graph,
        nodes,
        needed,
        group,
        fetches,
    };
    let mut steps = Vec::with_capacity(n_steps);
    while let Some(first) = ready.pop_first() {
        let s = first.1;
        steps.push(if s < n_kernels {
            Step::Kernel(
                ctx.kernel(s, &members[s], &[])
                    .unwrap_or_else(|| unreachable!("a kernel without reductions always builds")),
            )
        } else {
            Step::Library(members[s][0])
        });
        for &t in &succs[s] {
            indegree[t] -= 1;
            if indegree[t] == 0 {
                ready.insert((members[t][0], t));
            }
        }
    }
    // convex groups make the step graph acyclic; a plan missing steps
    // would compute nothing for them, so a cycle is an error, never a plan
    if steps.len() != n_steps {
        return None;
    }
    let mut steps = ctx.absorb_reductions(steps, &members);
    // kernels are named in execution order
    let mut n = 0;
    for step in &mut steps {
        if let Step::Kernel(k) = step {
            k.spec.name = format!("k{n}");
            n += 1;
        }
    }
    Some(steps)
}
