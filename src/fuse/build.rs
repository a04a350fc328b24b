//! Building one kernel's spec from its group of nodes, and absorbing
//! reductions of a kernel's values into its loop (XLA's reduce fusion).

use std::collections::HashMap;

use super::layout::{layout_with, reduction_strides};
use super::{FusedReduction, KernelStep, ReduceClass, Step};
use crate::graph::kernel::{
    reduce_identity, InnerAccess, KInst, KReduction, KValue, KernelSpec, ReduceKind,
};
use crate::graph::{Graph, Node, NodeId, Op, ReduceOp};

/// What kernel building needs to know about the graph and the grouping.
pub(super) struct Context<'a> {
    pub graph: &'a Graph,
    pub nodes: &'a [Node],
    pub needed: &'a [bool],
    pub group: &'a [Option<usize>],
    pub fetches: &'a [NodeId],
}

/// A constant with a single element, which a kernel takes as an immediate.
fn immediate(graph: &Graph, id: NodeId) -> Option<f64> {
    match &graph.node(id).op {
        Op::Constant(lit) if lit.values().len() == 1 => lit.splat_value(),
        _ => None,
    }
}

/// A reduction a kernel can compute: `sum`, `mean`, `max`, `min`.
pub(crate) fn kernel_reduction(op: &Op) -> Option<(ReduceOp, Option<&[usize]>)> {
    match op {
        Op::Reduce { op, axes, .. } if reduce_identity(*op).is_some() => {
            Some((*op, axes.as_deref()))
        }
        _ => None,
    }
}

/// Classifies a reduction by its result's strides in a layout.
///
/// A per-row result is written, not accumulated, by the kernel: each slab
/// of the leading outer dimensions must then have results of its own (no
/// zero stride there), or later slabs would overwrite earlier ones.
pub(crate) fn classify(outer: &[isize], inner: isize) -> Option<ReduceClass> {
    let lead_distinct = |o: &[isize]| {
        o.split_last()
            .is_some_and(|(_, l)| l.iter().all(|&s| s != 0))
    };
    match (inner, outer.last()) {
        (0, _) if outer.iter().all(|&s| s == 0) => Some(ReduceClass::All),
        (0, Some(1)) if lead_distinct(outer) => Some(ReduceClass::PerRow),
        (1, Some(0)) => Some(ReduceClass::PerColumn),
        _ => None,
    }
}

impl Context<'_> {
    /// Builds kernel `k` from its members, computing the reduction nodes
    /// `reds` in its loop; `None` if those reductions cannot share the
    /// kernel's iteration space.
    pub fn kernel(&self, k: usize, members: &[NodeId], reds: &[NodeId]) -> Option<KernelStep> {
        let (graph, nodes) = (self.graph, self.nodes);
        let mut body: Vec<KInst> = Vec::new();
        let mut value_of: HashMap<NodeId, KValue> = HashMap::new();
        let mut inputs: Vec<NodeId> = Vec::new();
        let push = |body: &mut Vec<KInst>, inst: KInst| {
            body.push(inst);
            KValue(body.len() as u32 - 1)
        };
        for &m in members {
            let node = &nodes[m.index()];
            let mut operands = Vec::with_capacity(node.inputs.len());
            for &inp in &node.inputs {
                let v = match value_of.get(&inp) {
                    Some(&v) => v,
                    None => {
                        let inst = match immediate(graph, inp) {
                            Some(c) => KInst::Const(c),
                            None => {
                                inputs.push(inp);
                                KInst::Input(inputs.len() - 1)
                            }
                        };
                        let v = push(&mut body, inst);
                        value_of.insert(inp, v);
                        v
                    }
                };
                operands.push(v);
            }
            let v = match &node.op {
                Op::Unary(u) => push(&mut body, KInst::Unary(*u, operands[0])),
                Op::Binary(b) => push(&mut body, KInst::Binary(*b, operands[0], operands[1])),
                Op::Where => push(
                    &mut body,
                    KInst::Select(operands[0], operands[1], operands[2]),
                ),
                // identity and stop_gradient compute nothing
                _ => operands[0],
            };
            value_of.insert(m, v);
        }
        // outputs: members fetched or used by a needed node outside the
        // kernel (reductions computed in the loop are inside)
        let inside = |j: usize| self.group[j] == Some(k) || reds.iter().any(|r| r.index() == j);
        let mut outputs: Vec<NodeId> = Vec::new();
        for &m in members {
            let used_outside = self.fetches.contains(&m)
                || nodes
                    .iter()
                    .enumerate()
                    .any(|(j, n)| self.needed[j] && !inside(j) && n.inputs.contains(&m));
            if used_outside {
                outputs.push(m);
            }
        }
        let out_shape = nodes[members[0].index()]
            .shape
            .concrete()
            .unwrap_or_default();
        let in_shapes: Vec<Vec<usize>> = inputs
            .iter()
            .map(|i| nodes[i.index()].shape.concrete().unwrap_or_default())
            .collect();
        let in_refs: Vec<&[usize]> = in_shapes.iter().map(Vec::as_slice).collect();
        let mut red_strides = Vec::new();
        let mut red_info = Vec::new();
        for r in reds {
            let node = &nodes[r.index()];
            let (op, axes) = kernel_reduction(&node.op)?;
            let src = *node.inputs.first()?;
            let value = *value_of.get(&src)?;
            red_strides.push(reduction_strides(&out_shape, axes));
            let count = match axes {
                None => out_shape.iter().product(),
                Some(ax) => ax
                    .iter()
                    .map(|&a| out_shape.get(a).copied().unwrap_or(1))
                    .product(),
            };
            red_info.push((*r, op, value, count));
        }
        let layout = layout_with(&out_shape, &in_refs, &red_strides);
        let mut reductions = Vec::new();
        let mut fused = Vec::new();
        for (j, (node, op, value, count)) in red_info.into_iter().enumerate() {
            let class = classify(&layout.reduce_strides[j], layout.reduce_inner[j])?;
            fused.push(FusedReduction {
                node,
                class,
                count,
                mean: op == ReduceOp::Mean,
            });
            reductions.push(KReduction {
                value,
                op: if op == ReduceOp::Mean {
                    ReduceOp::Sum
                } else {
                    op
                },
                kind: if class == ReduceClass::PerColumn {
                    ReduceKind::PerColumn
                } else {
                    ReduceKind::PerRow
                },
            });
        }
        // one direction per kernel: rows or columns
        let columns = fused
            .iter()
            .filter(|f| f.class == ReduceClass::PerColumn)
            .count();
        if columns != 0 && columns != fused.len() {
            return None;
        }
        if outputs.is_empty() && reductions.is_empty() {
            return None;
        }
        let access = layout
            .input_inner
            .iter()
            .map(|&s| {
                if s == 0 {
                    InnerAccess::Splat
                } else {
                    InnerAccess::Contiguous
                }
            })
            .collect();
        Some(KernelStep {
            spec: KernelSpec {
                name: format!("k{k}"),
                dtype: nodes[members[0].index()].dtype,
                inputs: access,
                outputs: outputs.iter().map(|o| value_of[o]).collect(),
                reductions,
                body,
            },
            group: k,
            inputs,
            outputs,
            members: members.to_vec(),
            reductions: fused,
            layout,
        })
    }

    /// Moves each library reduction of a kernel's value into that kernel's
    /// loop when the iteration spaces agree, so its input is read once (and
    /// not written at all when nothing else needs it).
    pub fn absorb_reductions(&self, steps: Vec<Step>, members: &[Vec<NodeId>]) -> Vec<Step> {
        // kernel number of each member node
        let mut kernel_of: HashMap<NodeId, usize> = HashMap::new();
        for (k, ms) in members.iter().enumerate() {
            for m in ms {
                if self.group[m.index()] == Some(k) {
                    kernel_of.insert(*m, k);
                }
            }
        }
        let mut absorbed: HashMap<usize, Vec<NodeId>> = HashMap::new();
        let mut kernels: HashMap<usize, KernelStep> = HashMap::new();
        let mut keep = Vec::with_capacity(steps.len());
        for step in steps {
            let Step::Library(id) = step else {
                keep.push(step);
                continue;
            };
            let node = &self.nodes[id.index()];
            let target = kernel_reduction(&node.op)
                .and_then(|_| node.inputs.first())
                .and_then(|src| kernel_of.get(src).copied());
            let Some(k) = target else {
                keep.push(step);
                continue;
            };
            let mut reds = absorbed.get(&k).cloned().unwrap_or_default();
            reds.push(id);
            match self.kernel(k, &members[k], &reds) {
                Some(built) => {
                    absorbed.insert(k, reds);
                    kernels.insert(k, built);
                }
                None => keep.push(step),
            }
        }
        keep.into_iter()
            .map(|step| match step {
                Step::Kernel(kst) => Step::Kernel(kernels.remove(&kst.group).unwrap_or(kst)),
                other => other,
            })
            .collect()
    }
}
