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
mod layout;

use std::collections::{HashMap, HashSet};

use crate::graph::kernel::KernelSpec;
use crate::graph::{Graph, NodeId, Op};

pub use layout::{layout, layout_with, reduction_strides, Layout};

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
    /// Every node computed by the kernel.
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

/// A step of a plan being built: a kernel, or the library node it computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum StepRef {
    Kernel(usize),
    Library(usize),
}

/// Whether step `from` depends, directly or not, on kernel `target`.
fn reaches(
    from: StepRef,
    target: usize,
    kernel_reads: &[Vec<StepRef>],
    library_reads: &HashMap<usize, Vec<StepRef>>,
) -> bool {
    let mut seen: HashSet<StepRef> = HashSet::new();
    let mut stack = vec![from];
    while let Some(s) = stack.pop() {
        if s == StepRef::Kernel(target) {
            return true;
        }
        if !seen.insert(s) {
            continue;
        }
        let next = match s {
            StepRef::Kernel(k) => kernel_reads.get(k),
            StepRef::Library(i) => library_reads.get(&i),
        };
        stack.extend(next.into_iter().flatten().copied());
    }
    false
}

fn fusible(op: &Op) -> bool {
    op.is_elementwise() || matches!(op, Op::Identity | Op::StopGradient)
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
    // group[i]: the kernel of node i. The steps built so far (kernels and
    // library nodes) and what each reads directly: a node may join kernel k
    // only if no input outside k comes from a step that reaches k, which
    // keeps every group convex. Reachability is over whole steps, not
    // single nodes: a kernel depends on what any of its members reads.
    let mut group: Vec<Option<usize>> = vec![None; n];
    let mut kernel_shapes: Vec<Vec<usize>> = Vec::new();
    let mut kernel_reads: Vec<Vec<StepRef>> = Vec::new();
    let mut library_reads: HashMap<usize, Vec<StepRef>> = HashMap::new();
    let step_of = |group: &[Option<usize>], i: usize| match group[i] {
        Some(k) => Some(StepRef::Kernel(k)),
        None if nodes[i].op.is_computation() => Some(StepRef::Library(i)),
        None => None,
    };
    for i in 0..n {
        if !needed[i] {
            continue;
        }
        let node = &nodes[i];
        let reads: Vec<StepRef> = node
            .inputs
            .iter()
            .filter_map(|inp| step_of(&group, inp.index()))
            .collect();
        if !fusible(&node.op) {
            library_reads.insert(i, reads);
            continue;
        }
        let shape = node.shape.concrete().unwrap_or_default();
        let joinable = |k: usize| {
            kernel_shapes[k] == shape
                && reads.iter().all(|&s| {
                    s == StepRef::Kernel(k) || !reaches(s, k, &kernel_reads, &library_reads)
                })
        };
        let chosen = match mode {
            Fusion::Unfused => None,
            Fusion::Fused => node
                .inputs
                .iter()
                .filter_map(|inp| group[inp.index()])
                .find(|&k| joinable(k)),
        };
        let k = chosen.unwrap_or_else(|| {
            kernel_shapes.push(shape.clone());
            kernel_reads.push(Vec::new());
            kernel_shapes.len() - 1
        });
        group[i] = Some(k);
        for s in reads {
            if s != StepRef::Kernel(k) && !kernel_reads[k].contains(&s) {
                kernel_reads[k].push(s);
            }
        }
    }
    let steps = order_steps(graph, &nodes, &needed, &group, fetches, kernel_shapes.len())
        .ok_or(FuseError::Cycle)?;
    Ok(Plan {
        steps,
        fetches: fetches.to_vec(),
    })
}

/// Orders kernels and library nodes so every step follows its inputs
/// (Kahn's algorithm over steps, smallest first member first), then builds
/// each kernel's spec. Convex groups make the step graph acyclic; `None` if
/// it is not (a step would be left out).
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
