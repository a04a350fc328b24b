//! `Session`: run fetches with feeds, TensorFlow 1 style.

use std::collections::HashMap;

use crate::graph::{Graph, GraphError, NodeId, Op, Tensor};
use crate::interp::{self, InterpError};
use crate::value::{AsFeed, Value, ValueView};

/// Why a session could not run.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ExecError {
    /// The graph holds an error from building it.
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// Evaluation failed (unfed input, bad feed, run-time shape mismatch).
    #[error(transparent)]
    Interp(#[from] InterpError),
    /// A fetch or feed from another graph.
    #[error("{role} is a tensor of another graph")]
    ForeignTensor {
        /// `fetch` or `feed`.
        role: &'static str,
    },
    /// A feed for a node that is not a placeholder.
    #[error("only placeholders can be fed, but {what} was")]
    NotAPlaceholder {
        /// The node fed.
        what: String,
    },
    /// The same placeholder fed twice.
    #[error("input `{name}` is fed twice")]
    FedTwice {
        /// The placeholder's name.
        name: String,
    },
}

/// Runs fetches of one graph with feeds, TensorFlow 1 style.
///
/// ```
/// use gradjit::{DType, Graph, Session, Shape};
/// use ndarray::arr0;
///
/// let g = Graph::new();
/// let x = g.placeholder("x", DType::F32, Shape::unknown());
/// let y = x * x + 3.0 * x;
/// let grad = g.gradients(&[y], &[x])?[0].expect("connected");
/// let mut sess = Session::new(&g);
/// let out = sess.run(&[grad], &[(x, arr0(2.0f32).into_dyn())])?;
/// assert_eq!(out[0].to_f64_vec(), vec![7.0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Session<'g> {
    graph: &'g Graph,
}

impl<'g> Session<'g> {
    /// A session over `graph`.
    pub fn new(graph: &'g Graph) -> Self {
        Session { graph }
    }

    /// The graph this session runs.
    pub fn graph(&self) -> &'g Graph {
        self.graph
    }

    /// Computes `fetches` given values for placeholders.
    ///
    /// Errors, never panics, for an unfed placeholder (naming it), a fed
    /// value of the wrong dtype or of a shape that contradicts the
    /// placeholder, a shape mismatch at run time (naming the op), and a
    /// fetch or feed from another graph.
    pub fn run<F: AsFeed>(
        &mut self,
        fetches: &[Tensor<'_>],
        feeds: &[(Tensor<'_>, F)],
    ) -> Result<Vec<Value>, ExecError> {
        self.graph.check()?;
        let fetch_ids = fetches
            .iter()
            .map(|t| self.own(*t, "fetch"))
            .collect::<Result<Vec<_>, _>>()?;
        let views: Vec<(Tensor<'_>, ValueView<'_>)> =
            feeds.iter().map(|(t, v)| (*t, v.as_feed())).collect();
        let feed_map = self.feed_map(&views)?;
        Ok(interp::evaluate(self.graph, &fetch_ids, &feed_map)?)
    }

    fn own(&self, t: Tensor<'_>, role: &'static str) -> Result<NodeId, ExecError> {
        if std::ptr::eq(t.graph(), self.graph) {
            Ok(t.id())
        } else {
            Err(ExecError::ForeignTensor { role })
        }
    }

    fn feed_map<'v>(
        &self,
        feeds: &[(Tensor<'_>, ValueView<'v>)],
    ) -> Result<HashMap<NodeId, ValueView<'v>>, ExecError> {
        let mut map = HashMap::with_capacity(feeds.len());
        for (t, v) in feeds {
            let id = self.own(*t, "feed")?;
            let node = self.graph.node(id);
            let Op::Placeholder { name } = &node.op else {
                return Err(ExecError::NotAPlaceholder {
                    what: self.graph.describe(id),
                });
            };
            interp::check_feed(&node, v)?;
            if map.insert(id, v.clone()).is_some() {
                return Err(ExecError::FedTwice { name: name.clone() });
            }
        }
        Ok(map)
    }
}
