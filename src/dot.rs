//! Graphviz export: forward nodes, gradient nodes and fused kernels drawn
//! differently, so a picture shows what the compiler did.

use std::collections::HashSet;
use std::fmt::Write;

use crate::graph::{Graph, NodeId, Op};

/// What to draw: the graph's nodes needed by `forward` and `gradient`
/// roots, and kernels as clusters.
pub struct DotSpec<'a> {
    /// Outputs of the forward program (drawn as plain boxes).
    pub forward: &'a [(String, NodeId)],
    /// Gradient outputs (nodes only they need are drawn filled).
    pub gradient: &'a [(String, NodeId)],
    /// Groups of nodes fused into one kernel, each drawn as a cluster.
    pub kernels: &'a [(String, Vec<NodeId>)],
}

fn needed(graph: &Graph, roots: &[NodeId]) -> Vec<bool> {
    let nodes = graph.nodes();
    let mut need = vec![false; nodes.len()];
    for r in roots {
        if let Some(slot) = need.get_mut(r.index()) {
            *slot = true;
        }
    }
    for i in (0..nodes.len()).rev() {
        if need[i] {
            for inp in &nodes[i].inputs {
                need[inp.index()] = true;
            }
        }
    }
    need
}

/// A DOT string's contents: backslashes and quotes escaped, line breaks as `\n`.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn label(graph: &Graph, id: NodeId) -> String {
    let n = graph.node(id);
    match &n.op {
        Op::Placeholder { name } => name.clone(),
        Op::Constant(lit) => match lit.splat_value() {
            Some(v) if lit.shape().is_empty() => format!("{v}"),
            _ => format!("const {:?}", lit.shape()),
        },
        op => format!("{}\n{}", op.name(), n.shape),
    }
}

/// Renders the graph as a Graphviz `digraph`.
pub fn render(graph: &Graph, spec: &DotSpec<'_>) -> String {
    let fwd_roots: Vec<NodeId> = spec.forward.iter().map(|(_, id)| *id).collect();
    let grad_roots: Vec<NodeId> = spec.gradient.iter().map(|(_, id)| *id).collect();
    let fwd = needed(graph, &fwd_roots);
    let grad = needed(graph, &grad_roots);
    let in_kernel: HashSet<NodeId> = spec
        .kernels
        .iter()
        .flat_map(|(_, ns)| ns.iter().copied())
        .collect();
    let mut out = String::from(
        "digraph gradjit {\n  rankdir=TB;\n  graph [fontname=\"Helvetica\", fontsize=11];\n  node [shape=box, fontname=\"Helvetica\", fontsize=10];\n",
    );
    let style = |id: NodeId| {
        let n = graph.node(id);
        match (&n.op, fwd[id.index()]) {
            (Op::Placeholder { .. }, _) => "shape=ellipse, style=filled, fillcolor=\"#ffe9a8\"",
            (Op::Constant(_), _) => "shape=plaintext",
            (_, true) => "style=filled, fillcolor=\"#dbe9ff\"",
            (_, false) => "style=filled, fillcolor=\"#ffd6d6\"",
        }
    };
    for (k, (name, members)) in spec.kernels.iter().enumerate() {
        let _ = writeln!(
            out,
            "  subgraph cluster_{k} {{\n    label=\"{}\"; style=dashed; color=\"#2a7d2a\";",
            escape(name)
        );
        for id in members {
            let _ = writeln!(
                out,
                "    n{} [label=\"{}\", {}];",
                id.0,
                escape(&label(graph, *id)),
                style(*id)
            );
        }
        out.push_str("  }\n");
    }
    let nodes = graph.nodes().to_vec();
    for (i, n) in nodes.iter().enumerate() {
        let id = NodeId(i as u32);
        if !(fwd[i] || grad[i]) {
            continue;
        }
        if !in_kernel.contains(&id) {
            let _ = writeln!(
                out,
                "  n{i} [label=\"{}\", {}];",
                escape(&label(graph, id)),
                style(id)
            );
        }
        for inp in &n.inputs {
            let _ = writeln!(out, "  n{} -> n{i};", inp.0);
        }
    }
    for (k, (name, id)) in spec.forward.iter().chain(spec.gradient.iter()).enumerate() {
        let _ = writeln!(
            out,
            "  out{k} [label=\"{}\", shape=note];\n  n{} -> out{k};",
            escape(name),
            id.0
        );
    }
    out.push_str("  legend [shape=plaintext, label=\"blue: forward  red: gradient  yellow: inputs  dashed clusters: fused kernels\"];\n}\n");
    out
}
