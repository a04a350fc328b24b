//! Copying what the roots need into a fresh graph: dead-node removal, and
//! shape specialization when placeholders are given shapes.

use std::collections::HashMap;

use crate::graph::{Graph, NodeId, Op, Shape};

use super::SimplifyError;

/// Marks the nodes the roots need (roots outside the graph are ignored).
pub(crate) fn live(graph: &Graph, roots: &[NodeId]) -> Vec<bool> {
    let nodes = graph.nodes();
    let mut live = vec![false; nodes.len()];
    for r in roots {
        if let Some(slot) = live.get_mut(r.index()) {
            *slot = true;
        }
    }
    // inputs have smaller ids, so one sweep downward reaches everything
    for i in (0..nodes.len()).rev() {
        if live[i] {
            for inp in &nodes[i].inputs {
                live[inp.index()] = true;
            }
        }
    }
    live
}

/// Number of operations (not placeholders or constants) the roots need.
///
/// Ids that are not nodes of `graph` are ignored.
pub fn count_ops(graph: &Graph, roots: &[NodeId]) -> usize {
    let live = live(graph, roots);
    let nodes = graph.nodes();
    live.iter()
        .zip(nodes.iter())
        .filter(|(l, n)| **l && n.op.is_computation())
        .count()
}

/// Copies the nodes `roots` need into a fresh graph (dead-node removal),
/// giving placeholders the shapes in `shapes` (by name; others keep theirs)
/// and re-inferring every shape, so a graph built with unknown dims becomes
/// fully static ("shape specialization"). Keeps origins.
///
/// A given shape may leave dimensions unknown; it is combined with the
/// declared one. Names that are not placeholders the roots need are ignored.
///
/// # Errors
/// [`SimplifyError::UnknownNode`] for a root outside the graph;
/// [`SimplifyError::ShapeContradiction`] when a given shape contradicts a
/// placeholder's declared shape; [`SimplifyError::Specialize`] when, with
/// the given shapes, some node's inputs no longer fit (say, a matrix product
/// whose inner dimensions now differ); [`SimplifyError::Graph`] when the
/// graph holds an error from building it.
pub fn extract(
    graph: &Graph,
    roots: &[NodeId],
    shapes: &HashMap<String, Shape>,
) -> Result<(Graph, Vec<NodeId>), SimplifyError> {
    graph.check()?;
    if let Some(&bad) = roots.iter().find(|r| !graph.contains(**r)) {
        return Err(SimplifyError::UnknownNode(bad));
    }
    let live = live(graph, roots);
    let out = Graph::new();
    let mut map: Vec<Option<NodeId>> = vec![None; live.len()];
    let nodes = graph.nodes();
    for (i, node) in nodes.iter().enumerate() {
        if !live[i] {
            continue;
        }
        let old = NodeId(i as u32);
        let new = match &node.op {
            Op::Placeholder { name } => {
                let shape = match shapes.get(name) {
                    None => node.shape.clone(),
                    Some(given) => refine(&node.shape, given).ok_or_else(|| {
                        SimplifyError::ShapeContradiction {
                            name: name.clone(),
                            declared: node.shape.clone(),
                            given: given.clone(),
                        }
                    })?,
                };
                out.add_placeholder(name, node.dtype, shape)?
            }
            Op::Constant(lit) => out.add_constant(lit.clone(), node.dtype),
            op => {
                let inputs: Vec<NodeId> = node
                    .inputs
                    .iter()
                    .map(|x| map[x.index()].unwrap_or_else(|| unreachable!("inputs come first")))
                    .collect();
                out.add_node(op.clone(), &inputs)
                    .map_err(|source| SimplifyError::Specialize {
                        what: graph.describe(old),
                        source,
                    })?
            }
        };
        if let Some(o) = graph.origin(old) {
            out.set_origin(new, o);
        }
        map[i] = Some(new);
    }
    let roots = roots
        .iter()
        .map(|r| map[r.index()].unwrap_or_else(|| unreachable!("roots are live")))
        .collect();
    Ok((out, roots))
}

/// The most precise shape that is both `declared` and `given`, if they agree.
fn refine(declared: &Shape, given: &Shape) -> Option<Shape> {
    let (Some(d), Some(g)) = (declared.dims(), given.dims()) else {
        return Some(if declared.dims().is_some() {
            declared.clone()
        } else {
            given.clone()
        });
    };
    if d.len() != g.len() {
        return None;
    }
    d.iter()
        .zip(g)
        .map(|(a, b)| match (a, b) {
            (Some(x), Some(y)) if x != y => Err(()),
            (Some(x), _) | (_, Some(x)) => Ok(Some(*x)),
            (None, None) => Ok(None),
        })
        .collect::<Result<Vec<_>, ()>>()
        .ok()
        .map(Shape::with_dims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::DType;

    #[test]
    fn refine_combines_known_dims_and_rejects_contradictions() {
        let d = Shape::with_dims(vec![None, Some(3)]);
        assert_eq!(
            refine(&d, &Shape::known(&[5, 3])),
            Some(Shape::known(&[5, 3]))
        );
        assert_eq!(
            refine(&d, &Shape::of_rank(2)),
            Some(Shape::with_dims(vec![None, Some(3)]))
        );
        assert_eq!(refine(&d, &Shape::known(&[5, 4])), None);
        assert_eq!(refine(&d, &Shape::known(&[3])), None);
        assert_eq!(
            refine(&Shape::unknown(), &Shape::scalar()),
            Some(Shape::scalar())
        );
    }

    #[test]
    fn extract_drops_dead_nodes_and_specializes() {
        let g = Graph::new();
        let x = g.placeholder("x", DType::F32, Shape::unknown());
        let dead = x.exp();
        let y = x * x + 1.0f64;
        let shapes = HashMap::from([("x".to_string(), Shape::known(&[7]))]);
        let (h, roots) = extract(&g, &[y.id()], &shapes).unwrap();
        assert_eq!(h.len(), 4, "x, x*x, 1, +");
        assert_eq!(h.node(roots[0]).shape, Shape::known(&[7]));
        assert!(g.contains(dead.id()));
        assert_eq!(count_ops(&h, &roots), 2);
    }
}
