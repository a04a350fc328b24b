//! `grad`'s siblings in the language: `hessian(y, x)`, `jacobian(y, x)`
//! and `jvp(y, x, v)` ([`crate::autodiff::transforms`]), with `grad`'s
//! errors where TensorFlow would have no gradient.

use crate::autodiff::{gradients, hessian, jacobian, jvp, GradientOptions};
use crate::graph::{NodeId, Origin};

use super::error::{ParseError, ParseErrorKind};
use super::parser::Parser;
use super::syntax::Transform;

impl Parser<'_> {
    /// Builds `kind(y, x[, v])`; `texts` are `y`'s and `x`'s source text.
    pub(super) fn transform(
        &mut self,
        kind: Transform,
        (y, x, v): (NodeId, NodeId, Option<NodeId>),
        texts: (String, String),
        at: Origin,
    ) -> Result<NodeId, ParseError> {
        let before = self.graph.len();
        let err = |e: crate::autodiff::AutodiffError| ParseError::at(at, e.into());
        // the node whose missing derivative in x is the error: y, or at
        // second order y's gradient
        let (result, blocked_at) = match (kind, v) {
            (Transform::Jvp, Some(v)) => (jvp(self.graph, y, x, v).map_err(err)?, y),
            (Transform::Jacobian, _) => (jacobian(self.graph, y, x).map_err(err)?, y),
            _ => {
                let first =
                    gradients(self.graph, &[y], &[x], &GradientOptions::default()).map_err(err)?[0];
                match first {
                    None => (None, y),
                    Some(g) => (hessian(self.graph, y, x).map_err(err)?, g),
                }
            }
        };
        for i in before..self.graph.len() {
            if let Ok(i) = u32::try_from(i) {
                self.graph.set_origin(NodeId(i), at);
            }
        }
        result.ok_or_else(|| {
            ParseError::at(
                at,
                ParseErrorKind::NoGradient {
                    y: texts.0,
                    x: texts.1,
                    reason: self.why_unconnected(blocked_at, x),
                },
            )
        })
    }
}
