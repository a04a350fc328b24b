//! Where every value of a compiled plan lives, decided once at compile time:
//! in a caller's feed, a caller's output, a constant, or a reusable
//! temporary buffer (planned by liveness, so values never alive together
//! share memory).

use crate::fuse::{Layout, Plan, ReduceClass, Step};
use crate::graph::kernel::reduce_identity;
use crate::graph::{Node, NodeId, Op, Real};

/// The home of one value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loc {
    /// The k-th feed.
    Input(usize),
    /// The j-th output.
    Output(usize),
    /// A temporary buffer of the workspace.
    Temp(usize),
    /// A constant owned by the executable.
    Const(usize),
}

/// A reduction computed by a kernel, and how to finish it.
#[derive(Clone, Debug)]
pub struct RedCall {
    /// Where the result goes.
    pub loc: Loc,
    /// How the kernel produces it.
    pub class: ReduceClass,
    /// `Sum`, `Max` or `Min`: how partial results combine.
    pub op: crate::graph::ReduceOp,
    /// The identity to start per-column accumulation from.
    pub identity: f64,
    /// `1/count` for a mean.
    pub scale: Option<f64>,
}

/// An operand of a library step: a buffer of a given shape, read through a
/// permutation of its axes when a transpose was folded into the reader.
#[derive(Clone, Debug)]
pub struct LibInput {
    /// The buffer.
    pub loc: Loc,
    /// The shape of the value stored there.
    pub shape: Vec<usize>,
    /// Axes permutation to read it through (a strided view, never a copy).
    pub perm: Option<Vec<usize>>,
}

/// One step, with its operands resolved to locations.
#[derive(Clone, Debug)]
pub enum Call {
    /// A native kernel.
    Kernel {
        /// Index into the compiled kernels.
        code: usize,
        /// Input locations, in the kernel's order.
        inputs: Vec<Loc>,
        /// Output locations.
        outputs: Vec<Loc>,
        /// Reductions computed in the loop.
        reductions: Vec<RedCall>,
        /// Operations per element (how much work splitting would share).
        ops: usize,
        /// The iteration space.
        layout: Layout,
    },
    /// A non-elementwise node computed by a library routine.
    Library {
        /// The operation.
        op: Op,
        /// Input locations with their shapes, each maybe read transposed.
        inputs: Vec<LibInput>,
        /// Where the result goes.
        output: Loc,
        /// The result's shape.
        shape: Vec<usize>,
    },
}

/// The value homes of a plan.
#[derive(Debug)]
pub struct Homes<T> {
    /// The steps with resolved operands.
    pub calls: Vec<Call>,
    /// Constants, materialized once.
    pub consts: Vec<Vec<T>>,
    /// Sizes of the temporary buffers.
    pub temps: Vec<usize>,
    /// Fetches whose value is copied into its output after the steps (an
    /// input, a constant, or a node fetched twice).
    pub copies: Vec<(usize, Loc)>,
}

fn numel(n: &Node) -> usize {
    n.shape.concrete().map_or(0, |d| d.iter().product())
}

/// Decides every value's home. `inputs` are the placeholders in feed order;
/// `code_of[i]` is the compiled-kernel index of the plan's i-th kernel step.
pub fn plan_homes<T: Real>(
    nodes: &[Node],
    plan: &Plan,
    inputs: &[NodeId],
    code_of: &[usize],
) -> Homes<T> {
    let n = nodes.len();
    let mut home: Vec<Option<Loc>> = vec![None; n];
    for (k, id) in inputs.iter().enumerate() {
        home[id.index()] = Some(Loc::Input(k));
    }
    let view_of = transposes_as_views(nodes, plan);
    let source = |r: NodeId| view_of[r.index()].as_ref().map_or(r, |(s, _)| *s);
    // last step that reads each node (fetches live to the end)
    let mut last_use = vec![0usize; n];
    for (s, step) in plan.steps.iter().enumerate() {
        let reads: Vec<NodeId> = match step {
            Step::Kernel(k) => k.inputs.clone(),
            Step::Library(id) => nodes[id.index()].inputs.clone(),
        };
        for r in reads {
            last_use[source(r).index()] = s;
        }
    }
    let mut copies = Vec::new();
    let mut consts: Vec<Vec<T>> = Vec::new();
    let mut const_home = |id: NodeId, home: &mut Vec<Option<Loc>>| {
        if home[id.index()].is_none() {
            if let Op::Constant(lit) = &nodes[id.index()].op {
                consts.push(lit.values().iter().map(|&v| T::from_f64(v)).collect());
                home[id.index()] = Some(Loc::Const(consts.len() - 1));
            }
        }
    };
    // fetched computed nodes write straight into the caller's output
    let mut out_of: Vec<Option<usize>> = vec![None; n];
    for (j, f) in plan.fetches.iter().enumerate() {
        let computed = nodes[f.index()].op.is_computation() && home[f.index()].is_none();
        if computed && out_of[f.index()].is_none() {
            out_of[f.index()] = Some(j);
        } else {
            copies.push((j, *f));
        }
    }
    let mut temps: Vec<usize> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut calls = Vec::with_capacity(plan.steps.len());
    let mut kernel_no = 0;
    for (s, step) in plan.steps.iter().enumerate() {
        if let Step::Library(id) = step {
            if view_of[id.index()].is_some() {
                continue;
            }
        }
        let (reads, writes): (Vec<NodeId>, Vec<NodeId>) = match step {
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
                    .map(|&r| source(r))
                    .collect(),
                vec![*id],
            ),
        };
        for &r in &reads {
            const_home(r, &mut home);
        }
        for &w in &writes {
            let loc = match out_of[w.index()] {
                Some(j) => Loc::Output(j),
                None => {
                    let need = numel(&nodes[w.index()]);
                    // best fit among free temps, else a new one
                    let best = free
                        .iter()
                        .enumerate()
                        .filter(|(_, &t)| temps[t] >= need)
                        .min_by_key(|(_, &t)| temps[t])
                        .map(|(i, _)| i);
                    let t = match best {
                        Some(i) => free.swap_remove(i),
                        None => match free.pop() {
                            Some(t) => {
                                temps[t] = need;
                                t
                            }
                            None => {
                                temps.push(need);
                                temps.len() - 1
                            }
                        },
                    };
                    Loc::Temp(t)
                }
            };
            home[w.index()] = Some(loc);
        }
        let at = |id: &NodeId| home[id.index()].unwrap_or(Loc::Const(usize::MAX));
        calls.push(match step {
            Step::Kernel(k) => {
                let c = Call::Kernel {
                    code: code_of[kernel_no],
                    inputs: k.inputs.iter().map(at).collect(),
                    outputs: k.outputs.iter().map(at).collect(),
                    reductions: k
                        .reductions
                        .iter()
                        .zip(&k.spec.reductions)
                        .map(|(r, kr)| RedCall {
                            loc: at(&r.node),
                            class: r.class,
                            op: kr.op,
                            identity: reduce_identity(kr.op).unwrap_or(0.0),
                            scale: r.mean.then(|| 1.0 / r.count as f64),
                        })
                        .collect(),
                    ops: k.spec.op_count().max(1),
                    layout: k.layout.clone(),
                };
                kernel_no += 1;
                c
            }
            Step::Library(id) => {
                let node = &nodes[id.index()];
                Call::Library {
                    op: node.op.clone(),
                    inputs: node
                        .inputs
                        .iter()
                        .map(|&i| {
                            let (src, perm) = match &view_of[i.index()] {
                                Some((src, perm)) => (*src, Some(perm.clone())),
                                None => (i, None),
                            };
                            LibInput {
                                loc: at(&src),
                                shape: nodes[src.index()].shape.concrete().unwrap_or_default(),
                                perm,
                            }
                        })
                        .collect(),
                    output: at(id),
                    shape: node.shape.concrete().unwrap_or_default(),
                }
            }
        });
        // temps whose last reader was this step are free for later steps
        for &r in &reads {
            if last_use[r.index()] == s && out_of[r.index()].is_none() {
                if let Some(Loc::Temp(t)) = home[r.index()] {
                    if !free.contains(&t) {
                        free.push(t);
                    }
                }
            }
        }
        // a temp written but never read (cannot happen for needed nodes) is freed too
        for &w in &writes {
            if let Some(Loc::Temp(t)) = home[w.index()] {
                if last_use[w.index()] < s && !free.contains(&t) {
                    free.push(t);
                }
            }
        }
    }
    let copies = copies
        .into_iter()
        .map(|(j, f)| {
            const_home(f, &mut home);
            (j, home[f.index()].unwrap_or(Loc::Const(usize::MAX)))
        })
        .collect();
    Homes {
        calls,
        consts,
        temps,
        copies,
    }
}

/// Transposes read only by matrix products (and not fetched) need no step:
/// the product reads their input through a strided view. Returns, per node,
/// the input and permutation of such a transpose.
fn transposes_as_views(nodes: &[Node], plan: &Plan) -> Vec<Option<(NodeId, Vec<usize>)>> {
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
