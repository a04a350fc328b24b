//! The reference interpreter: evaluates exactly the nodes the fetches need,
//! one operation at a time, on `ndarray`. It is the oracle every other engine
//! is tested against, so it favours obvious correctness over speed.
//!
//! So that the oracle is not the subject, it shares no arithmetic with
//! native code: its matrix product is a loop of its own (not the GEMM), and
//! its sums (reductions, softmax, the cross-entropies, each product's dot)
//! are pairwise ([`crate::graph::pairwise_sum`]), so a long f32 sum in the
//! oracle is not the outlier the native engines are compared with.

mod kernels;
mod scan;
mod softmax;
mod structure;
mod window;

use std::collections::HashMap;

use ndarray::ArrayViewD;

use crate::graph::{infer, DType, Graph, GraphError, Node, NodeId, Op, Shape};
use crate::value::{Element, Value, ValueView};

pub use kernels::{eval_op, reduce, resolve_reshape};

/// Why a graph could not be evaluated.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum InterpError {
    /// A placeholder the fetches need was not fed.
    #[error("input `{name}` is not fed")]
    Unfed {
        /// The placeholder's name.
        name: String,
    },
    /// A feed of the wrong dtype.
    #[error("input `{name}` is {expected}, but was fed {got}")]
    FeedDType {
        /// The placeholder's name.
        name: String,
        /// Its dtype.
        expected: DType,
        /// The fed value's dtype.
        got: DType,
    },
    /// A feed whose shape contradicts the placeholder's.
    #[error("input `{name}` has shape {expected}, but was fed shape {got:?}")]
    FeedShape {
        /// The placeholder's name.
        name: String,
        /// Its static shape.
        expected: Shape,
        /// The fed value's shape.
        got: Vec<usize>,
    },
    /// A shape mismatch found at run time.
    #[error("{what}: {detail}")]
    Shape {
        /// The op, with its place in the program when known.
        what: String,
        /// What did not match.
        detail: String,
    },
    /// A fetch or feed that is not a node of the graph.
    #[error("node {0} is not in this graph")]
    UnknownNode(NodeId),
    /// The memory for a result could not be allocated.
    #[error("{what}: cannot allocate {bytes} bytes for its result")]
    OutOfMemory {
        /// The op, with its place in the program when known.
        what: String,
        /// The size asked for.
        bytes: usize,
    },
}

/// Results at least this large are allocated on trial first, so that a
/// shape too large for the machine is an error, not an abort.
const PROBE_BYTES: usize = 1 << 30;

/// Checks a fed value against its placeholder's dtype and static shape.
pub fn check_feed(node: &Node, value: &ValueView<'_>) -> Result<(), InterpError> {
    let name = match &node.op {
        Op::Placeholder { name } => name.clone(),
        _ => String::new(),
    };
    if value.dtype() != node.dtype {
        return Err(InterpError::FeedDType {
            name,
            expected: node.dtype,
            got: value.dtype(),
        });
    }
    if !node.shape.accepts(value.shape()) {
        return Err(InterpError::FeedShape {
            name,
            expected: node.shape.clone(),
            got: value.shape().to_vec(),
        });
    }
    Ok(())
}

/// Evaluates `fetches` given values for placeholders.
///
/// Only the nodes the fetches depend on are computed; each value is dropped
/// after its last use. Fed nodes are not computed from their inputs.
pub fn evaluate(
    graph: &Graph,
    fetches: &[NodeId],
    feeds: &HashMap<NodeId, ValueView<'_>>,
) -> Result<Vec<Value>, InterpError> {
    let nodes = graph.nodes();
    for &f in fetches.iter().chain(feeds.keys()) {
        if f.index() >= nodes.len() {
            return Err(InterpError::UnknownNode(f));
        }
    }
    // which nodes are needed, and how many times each is still to be read
    let mut uses = vec![0usize; nodes.len()];
    let mut needed = vec![false; nodes.len()];
    for &f in fetches {
        needed[f.index()] = true;
    }
    for i in (0..nodes.len()).rev() {
        if !needed[i] || feeds.contains_key(&NodeId(i as u32)) {
            continue;
        }
        for &inp in &nodes[i].inputs {
            needed[inp.index()] = true;
            uses[inp.index()] += 1;
        }
    }
    for &f in fetches {
        uses[f.index()] += 1;
    }
    let mut values: Vec<Option<Value>> = vec![None; nodes.len()];
    for i in 0..nodes.len() {
        if !needed[i] {
            continue;
        }
        let id = NodeId(i as u32);
        let node = &nodes[i];
        let value = if let Some(v) = feeds.get(&id) {
            check_feed(node, v)?;
            v.to_owned()
        } else {
            let inputs: Vec<&Value> = node
                .inputs
                .iter()
                .map(|inp| {
                    values[inp.index()]
                        .as_ref()
                        .unwrap_or_else(|| unreachable!("inputs are computed first"))
                })
                .collect();
            compute(graph, id, node, &inputs)?
        };
        values[i] = Some(value);
        if !feeds.contains_key(&id) {
            for inp in &node.inputs {
                uses[inp.index()] -= 1;
                if uses[inp.index()] == 0 {
                    values[inp.index()] = None;
                }
            }
        }
    }
    Ok(fetches
        .iter()
        .map(|f| {
            values[f.index()]
                .clone()
                .unwrap_or_else(|| unreachable!("fetches are computed"))
        })
        .collect())
}

fn compute(
    graph: &Graph,
    id: NodeId,
    node: &Node,
    inputs: &[&Value],
) -> Result<Value, InterpError> {
    match &node.op {
        Op::Placeholder { name } => Err(InterpError::Unfed { name: name.clone() }),
        Op::Constant(lit) => Ok(match node.dtype {
            DType::F32 => Value::F32(lit.to_array()),
            DType::F64 => Value::F64(lit.to_array()),
        }),
        op => {
            check_size(graph, id, node, inputs)?;
            let result = match node.dtype {
                DType::F32 => typed::<f32>(op, inputs),
                DType::F64 => typed::<f64>(op, inputs),
            };
            result.map_err(|detail| InterpError::Shape {
                what: graph.describe(id),
                detail,
            })
        }
    }
}

/// Refuses, before computing it, a result whose shape (inferred from the
/// inputs' actual shapes) has more elements than fit in memory (allocating
/// it would panic), or that the allocator refuses (which would abort the
/// process). Other problems are left to the kernel to describe.
fn check_size(
    graph: &Graph,
    id: NodeId,
    node: &Node,
    inputs: &[&Value],
) -> Result<(), InterpError> {
    let shapes: Vec<Shape> = inputs.iter().map(|v| Shape::known(v.shape())).collect();
    let info: Vec<(DType, &Shape)> = inputs
        .iter()
        .zip(&shapes)
        .map(|(v, s)| (v.dtype(), s))
        .collect();
    match infer(&node.op, &info, node.dtype, None) {
        Err(e @ GraphError::TooLarge { .. }) => Err(InterpError::Shape {
            what: graph.describe(id),
            detail: e.to_string(),
        }),
        Ok((dtype, shape)) => {
            let n = shape.num_elements().unwrap_or(0);
            let bytes = n.saturating_mul(dtype.size());
            if bytes >= PROBE_BYTES && Vec::<u8>::new().try_reserve_exact(bytes).is_err() {
                return Err(InterpError::OutOfMemory {
                    what: graph.describe(id),
                    bytes,
                });
            }
            Ok(())
        }
        Err(_) => Ok(()),
    }
}

fn typed<T: Element>(op: &Op, inputs: &[&Value]) -> Result<Value, String> {
    let arrays: Vec<ArrayViewD<'_, T>> = inputs
        .iter()
        .map(|v| {
            T::unwrap(v)
                .map(|a| a.view())
                .ok_or_else(|| "input of another dtype".to_string())
        })
        .collect::<Result<_, _>>()?;
    Ok(T::wrap(kernels::eval_op(op, &arrays)?))
}
