//! Simplification of gradient graphs. This first version extracts the
//! nodes the roots need into a fresh graph (dead-node removal and shape
//! specialization); the rewrite passes land with the simplify branch.
#![allow(missing_docs)]
use crate::graph::{Graph, GraphError, NodeId, Op, Shape};
use std::collections::HashMap;

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SimplifyError {
    #[error(transparent)]
    Graph(#[from] GraphError),
}
#[derive(Clone, Debug)]
pub struct PassStats {
    pub name: &'static str,
    pub nodes_before: usize,
    pub nodes_after: usize,
    pub time: std::time::Duration,
}
pub struct Simplified {
    pub graph: Graph,
    pub roots: Vec<NodeId>,
    pub stats: Vec<PassStats>,
}
pub struct Pipeline;
impl Pipeline {
    pub fn standard() -> Self {
        Pipeline
    }
    pub fn run(&self, graph: &Graph, roots: &[NodeId]) -> Result<Simplified, SimplifyError> {
        let (g, r) = extract(graph, roots, &HashMap::new())?;
        Ok(Simplified {
            graph: g,
            roots: r,
            stats: vec![],
        })
    }
}
pub fn count_ops(graph: &Graph, roots: &[NodeId]) -> usize {
    let nodes = graph.nodes();
    let mut need = vec![false; nodes.len()];
    for r in roots {
        need[r.index()] = true;
    }
    let mut c = 0;
    for i in (0..nodes.len()).rev() {
        if need[i] {
            if nodes[i].op.is_computation() {
                c += 1;
            }
            for x in &nodes[i].inputs {
                need[x.index()] = true;
            }
        }
    }
    c
}
pub fn extract(
    graph: &Graph,
    roots: &[NodeId],
    shapes: &HashMap<String, Shape>,
) -> Result<(Graph, Vec<NodeId>), SimplifyError> {
    let g = Graph::new();
    let nodes = graph.nodes().to_vec();
    let mut map: HashMap<NodeId, NodeId> = HashMap::new();
    let mut need = vec![false; nodes.len()];
    for r in roots {
        need[r.index()] = true;
    }
    for i in (0..nodes.len()).rev() {
        if need[i] {
            for x in &nodes[i].inputs {
                need[x.index()] = true;
            }
        }
    }
    for (i, n) in nodes.iter().enumerate() {
        if !need[i] {
            continue;
        }
        let id = match &n.op {
            Op::Placeholder { name } => g.add_placeholder(
                name,
                n.dtype,
                shapes.get(name).cloned().unwrap_or(n.shape.clone()),
            )?,
            Op::Constant(l) => g.add_constant(l.clone(), n.dtype),
            op => {
                let ins: Vec<NodeId> = n.inputs.iter().map(|x| map[x]).collect();
                g.add_node(op.clone(), &ins)?
            }
        };
        map.insert(NodeId(i as u32), id);
    }
    Ok((g, roots.iter().map(|r| map[r]).collect()))
}
