//! The graph arena: nodes in creation order, hash-consed.

use std::cell::{Ref, RefCell};
use std::collections::HashMap;
use std::fmt;

use super::error::GraphError;
use super::infer::{infer, InputInfo};
use super::literal::Literal;
use super::op::Op;
use super::shape::Shape;
use super::DType;

/// A node's index in its graph. Inputs always have smaller ids than the nodes
/// that use them, so id order is a topological order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u32);

impl NodeId {
    /// The index as `usize`.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "%{}", self.0)
    }
}

/// Where a node came from in program text: line and column, from 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Origin {
    /// Line, counted from 1.
    pub line: u32,
    /// Column, counted from 1.
    pub column: u32,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// One node: an operation, its inputs, and its inferred dtype and shape.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// What the node computes.
    pub op: Op,
    /// Its inputs, in the operation's order.
    pub inputs: Vec<NodeId>,
    /// Element type.
    pub dtype: DType,
    /// Static shape (may hold unknowns).
    pub shape: Shape,
}

#[derive(Default)]
struct Inner {
    nodes: Vec<Node>,
    index: HashMap<(Op, Vec<NodeId>, DType), NodeId>,
    placeholders: HashMap<String, NodeId>,
    origins: Vec<Option<Origin>>,
    poison: Option<GraphError>,
}

/// A computation graph: an append-only arena of hash-consed nodes.
///
/// Identical operations on identical inputs are the same node, so common
/// subexpressions are shared from the start. Building takes `&self` (the
/// arena uses interior mutability) so that [`super::Tensor`] handles can be
/// `Copy` and combined with operators.
#[derive(Default)]
pub struct Graph {
    inner: RefCell<Inner>,
}

impl fmt::Debug for Graph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Graph").field("nodes", &self.len()).finish()
    }
}

impl Graph {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of nodes.
    pub fn len(&self) -> usize {
        self.inner.borrow().nodes.len()
    }

    /// True when the graph has no nodes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds (or finds) the node `op(inputs)`, inferring its dtype and shape.
    ///
    /// Returns the existing node when an identical one exists (hash-consing).
    pub fn add_node(&self, op: Op, inputs: &[NodeId]) -> Result<NodeId, GraphError> {
        if let Op::Placeholder { .. } = op {
            // placeholders carry a dtype and shape of their own: use `placeholder`
            return Err(GraphError::Arity {
                op: "placeholder",
                expected: 0,
                got: inputs.len(),
            });
        }
        let dtype = match &op {
            Op::Constant(_) => DType::F64,
            _ => DType::F32,
        };
        self.add_typed(op, inputs, dtype, None)
    }

    /// Adds (or finds) a constant of the given dtype; values are rounded to it.
    pub fn add_constant(&self, lit: Literal, dtype: DType) -> NodeId {
        let lit = lit.rounded(dtype);
        self.add_typed(Op::Constant(lit), &[], dtype, None)
            .unwrap_or_else(|e| unreachable!("a constant has no inputs to mismatch: {e}"))
    }

    /// Adds a scalar constant.
    pub fn add_scalar(&self, value: f64, dtype: DType) -> NodeId {
        self.add_constant(Literal::scalar(value), dtype)
    }

    /// Adds (or finds) the placeholder `name`.
    ///
    /// A second call with the same name, dtype and shape returns the same
    /// node; with a different dtype or shape it is an error.
    pub fn add_placeholder(
        &self,
        name: &str,
        dtype: DType,
        shape: Shape,
    ) -> Result<NodeId, GraphError> {
        let existing = self.inner.borrow().placeholders.get(name).copied();
        if let Some(id) = existing {
            let n = self.node(id);
            return if n.dtype == dtype && n.shape == shape {
                Ok(id)
            } else {
                Err(GraphError::DuplicatePlaceholder { name: name.into() })
            };
        }
        let op = Op::Placeholder { name: name.into() };
        let id = self.add_typed(op, &[], dtype, Some(&shape))?;
        self.inner
            .borrow_mut()
            .placeholders
            .insert(name.to_string(), id);
        Ok(id)
    }

    fn add_typed(
        &self,
        op: Op,
        inputs: &[NodeId],
        dtype: DType,
        placeholder_shape: Option<&Shape>,
    ) -> Result<NodeId, GraphError> {
        let key = (op, inputs.to_vec(), dtype_key(inputs, dtype));
        if let Some(&id) = self.inner.borrow().index.get(&key) {
            return Ok(id);
        }
        let (op, inputs, _) = key;
        let (out_dtype, shape) = {
            let inner = self.inner.borrow();
            let mut infos: Vec<InputInfo<'_>> = Vec::with_capacity(inputs.len());
            for &i in &inputs {
                let n = inner
                    .nodes
                    .get(i.index())
                    .ok_or(GraphError::UnknownNode(i))?;
                infos.push((n.dtype, &n.shape));
            }
            infer(&op, &infos, dtype, placeholder_shape)?
        };
        let mut inner = self.inner.borrow_mut();
        let id = NodeId(
            u32::try_from(inner.nodes.len()).map_err(|_| GraphError::TooLarge {
                op: "graph",
                shape: Shape::unknown(),
            })?,
        );
        inner.index.insert(
            (op.clone(), inputs.clone(), dtype_key(&inputs, out_dtype)),
            id,
        );
        inner.nodes.push(Node {
            op,
            inputs,
            dtype: out_dtype,
            shape,
        });
        inner.origins.push(None);
        Ok(id)
    }

    /// A copy of node `id`.
    ///
    /// # Panics
    /// If `id` is not a node of this graph; use [`Graph::get`] for ids from
    /// elsewhere.
    pub fn node(&self, id: NodeId) -> Node {
        self.get(id)
            .unwrap_or_else(|| panic!("node {id} is not in this graph"))
    }

    /// A copy of node `id`, or `None` if it is not in this graph.
    pub fn get(&self, id: NodeId) -> Option<Node> {
        self.inner.borrow().nodes.get(id.index()).cloned()
    }

    /// Borrows all nodes, in id (topological) order.
    pub fn nodes(&self) -> Ref<'_, [Node]> {
        Ref::map(self.inner.borrow(), |i| i.nodes.as_slice())
    }

    /// Whether `id` is a node of this graph.
    pub fn contains(&self, id: NodeId) -> bool {
        id.index() < self.len()
    }

    /// The placeholder called `name`, if any.
    pub fn placeholder_named(&self, name: &str) -> Option<NodeId> {
        self.inner.borrow().placeholders.get(name).copied()
    }

    /// Records where a node came from in program text (the first origin wins,
    /// since hash-consing may hand the same node to several expressions).
    pub fn set_origin(&self, id: NodeId, origin: Origin) {
        if let Some(slot) = self.inner.borrow_mut().origins.get_mut(id.index()) {
            slot.get_or_insert(origin);
        }
    }

    /// Where node `id` came from in program text, if known.
    pub fn origin(&self, id: NodeId) -> Option<Origin> {
        self.inner
            .borrow()
            .origins
            .get(id.index())
            .copied()
            .flatten()
    }

    /// A short description of a node for messages: its op, and its place in
    /// the program when known.
    pub fn describe(&self, id: NodeId) -> String {
        let Some(n) = self.get(id) else {
            return format!("node {id}");
        };
        let what = match &n.op {
            Op::Placeholder { name } => format!("input `{name}`"),
            op => format!("`{}`", op.name()),
        };
        match self.origin(id) {
            Some(o) => format!("{what} at line {}, column {}", o.line, o.column),
            None => what,
        }
    }

    /// Records the first error of an operator expression (operators cannot
    /// return `Result`); every fallible call on the graph reports it.
    pub(crate) fn poison(&self, err: GraphError) {
        self.inner.borrow_mut().poison.get_or_insert(err);
    }

    /// `Err` with the first error recorded by an operator expression, if any.
    pub fn check(&self) -> Result<(), GraphError> {
        match &self.inner.borrow().poison {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }
}

/// Constants differ by dtype; every other node's dtype follows from its inputs.
fn dtype_key(inputs: &[NodeId], dtype: DType) -> DType {
    if inputs.is_empty() {
        dtype
    } else {
        DType::F32
    }
}
