//! Simplification: from a raw gradient graph to what a person would write.
//!
//! A raw reverse-mode gradient is full of `ones_like(y)` seeds, `g * x` next
//! to `x * g`, sums back to shapes that never broadcast, and constants that
//! were never combined. [`Pipeline::standard`] reduces it in named phases, as
//! PyTensor does:
//!
//! | step | passes | what it does |
//! |---|---|---|
//! | copy | [`extract`] | a fresh graph with only what the roots need |
//! | `canonicalize` (to a fixpoint, at most 8 rounds) | `cse`, `fold`, `algebra` | commutative operands in one order (so `g*x` and `x*g` are one node), constant folding, algebraic identities, shape ops that change nothing |
//! | `dce` | | drops dead nodes |
//! | `stabilize` | | numerically safe forms: `log(1+x) -> log1p(x)`, ... (only when turned on) |
//! | `canonicalize` again | `cse`, `fold`, `algebra` | cleans up after stabilize (skipped when stabilize changed nothing) |
//! | `dce` | | |
//!
//! For example the gradient of `x*x + 3*x` with respect to `x`, raw
//! `(3*ones_like(y) + ones_like(y)*x) + x*ones_like(y)` (plus the sums back
//! to x's shape where shapes are not known), becomes `(3 + x) + x`: two
//! operations.
//!
//! ```
//! use gradjit::{simplify, DType, Graph, Shape};
//!
//! let g = Graph::new();
//! let x = g.placeholder("x", DType::F32, Shape::known(&[1024]));
//! let y = x * x + 3.0 * x;
//! let grad = g.gradients(&[y], &[x])?[0].expect("connected").id();
//! let out = simplify::Pipeline::standard().run(&g, &[grad])?;
//! assert_eq!(simplify::count_ops(&out.graph, &out.roots), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Rules and exactness
//!
//! Every pass that rewrites is a table of named rules (see [`rules`]), each
//! with its identity written out (`x * 1 -> x`) and an [`Exactness`]:
//!
//! * [`Exactness::Exact`] rules give bitwise-identical results for every
//!   input, including ±0, ±inf and NaN (a NaN's sign and payload aside). So
//!   `x + 0 -> x` fires only where `x` cannot be `-0` (`-0 + 0` is `+0`),
//!   `x - 0 -> x` always; `x + x -> 2*x` always; `3*(2*x) -> 6*x` only when
//!   the inner constant is a power of two at least 1 (so `2*x` is exact)
//!   and the outer one is at least 1 in magnitude (so an overflow of `2*x`
//!   is an overflow of `6*x`); `k1*x + k2*x -> (k1+k2)*x` only when both
//!   coefficients are powers of two (at least 1) of one sign and both
//!   products were computed exactly, as in `x + x`, `2*x + x`, or
//!   `(-x)*e - e*x -> -2*(x*e)`. `x*2 + x*3` stays as it is.
//! * [`Exactness::Inexact`] rules are wrong for some inputs, named in their
//!   identity (`x * 0 -> 0` is wrong for inf and NaN; `x ** 2 -> x*x`
//!   differs from libm's `pow`, which is not correctly rounded, in the last
//!   bit). They are off unless [`Pipeline::with_inexact`] turns them on.
//! * [`Exactness::Stabilizing`] rules change values on purpose, where the
//!   naive form loses accuracy or overflows; only the `stabilize` pass uses
//!   them (off unless [`Pipeline::with_stabilize`] turns it on).
//!
//! Every rule keeps the dtype and the exact static shape of the node it
//! replaces, and, where shapes are not known statically, a rule that could
//! change the run-time shape fires only when a small analysis proves the
//! shapes equal (an elementwise result has its operand's shape when every
//! other operand is a scalar, `ones_like(y)` has y's, ...). Specialize
//! shapes first ([`extract`], or [`Pipeline::run_with_shapes`]) and every
//! shape rule can fire.
//!
//! Constant folding evaluates with the interpreter's kernel for each
//! operation ([`crate::interp::eval_op`]), so folding and interpreting
//! cannot disagree; this module therefore uses `interp` as well as `graph`.
//!
//! # Invariants of a pass
//!
//! A pass takes a [`Work`] (a graph and its roots) and leaves one whose
//! roots compute the same values (up to the rule classes it is allowed to
//! use), with the same dtypes and static shapes. Rewriting passes rebuild the
//! live nodes bottom-up in id order with a memo `old -> new`: every node's
//! inputs are already rewritten when it is visited, and each node a rule
//! builds is simplified in turn before it is used. The arena is append-only
//! and hash-consed, so a rewrite that produces an existing expression *is*
//! that node (structural CSE); compaction (`dce`) copies the live nodes into
//! a fresh graph.
//!
//! Gradients must be taken before simplifying: the `algebra` pass removes
//! `stop_gradient` (a value identity). [`Pipeline::stabilize_only`] is safe
//! to run on a forward graph before differentiating it, so that gradients
//! through `log(sigmoid(x))` and friends stay finite.

mod algebra;
mod extract;
mod fold;
mod inexact;
mod pass;
mod pipeline;
mod rewrite;
mod shapes;
mod stabilize;

use std::fmt;

use crate::graph::{GraphError, NodeId, Shape};

pub use extract::{count_ops, extract};
pub use pass::{Algebra, Cse, Dce, Fold, Pass, PassOutcome, Stabilize, Work};
pub use pipeline::{GroupReport, PassStats, Pipeline, Simplified, Step, Stop};

/// Why a graph could not be simplified or specialized.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SimplifyError {
    /// The graph holds an error from building it, or a rewrite could not be built.
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// A root that is not a node of the graph.
    #[error("node {0} is not in this graph")]
    UnknownNode(NodeId),
    /// A shape given for a placeholder contradicts its declared shape.
    #[error("input `{name}` is declared with shape {declared}, which contradicts the shape {given} it is given")]
    ShapeContradiction {
        /// The placeholder's name.
        name: String,
        /// Its declared static shape.
        declared: Shape,
        /// The shape given to [`extract`].
        given: Shape,
    },
    /// Re-inferring a node's shape failed once placeholders were given shapes.
    #[error("with the given input shapes, {what}: {source}")]
    Specialize {
        /// The node, with its place in the program when known.
        what: String,
        /// Why its shape cannot be inferred.
        source: GraphError,
    },
}

/// How faithfully a rule keeps the values it rewrites.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Exactness {
    /// Bitwise-identical results for every input, including ±0, ±inf and
    /// NaN (a NaN's sign and payload aside). Always on.
    Exact,
    /// Wrong for some inputs, which the rule's identity names. Off by default.
    Inexact,
    /// Replaces a naive form with a numerically safer one: values change
    /// where the naive form loses accuracy, underflows or overflows. Used by
    /// the `stabilize` pass, off by default.
    Stabilizing,
}

impl fmt::Display for Exactness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Exactness::Exact => "exact",
            Exactness::Inexact => "inexact",
            Exactness::Stabilizing => "stabilizing",
        })
    }
}

/// What a pipeline is allowed to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Run [`Exactness::Inexact`] rules too (default `false`).
    pub inexact: bool,
    /// Run the `stabilize` pass (default `false`: values stay TensorFlow's,
    /// overflow included; `gradjit --stabilize` turns it on).
    pub stabilize: bool,
    /// The largest number of elements constant folding may produce (default
    /// 4096), so that a fold never materializes a huge constant.
    pub fold_limit: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            inexact: false,
            stabilize: false,
            fold_limit: 4096,
        }
    }
}

impl Options {
    /// Whether rules of this class may fire.
    pub fn allows(&self, exactness: Exactness) -> bool {
        match exactness {
            Exactness::Exact => true,
            Exactness::Inexact => self.inexact,
            Exactness::Stabilizing => self.stabilize,
        }
    }
}

/// One rewrite rule, as documentation: which pass uses it, its name, its
/// identity and how exact it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuleInfo {
    /// The pass whose table holds the rule.
    pub pass: &'static str,
    /// The rule's name, as reported in [`PassStats::fired`].
    pub name: &'static str,
    /// The identity it applies, e.g. `x * 1 -> x`.
    pub identity: &'static str,
    /// How faithfully it keeps values.
    pub exactness: Exactness,
}

/// Every rule of every built-in pass, in the order the passes try them.
pub fn rules() -> Vec<RuleInfo> {
    let tables: [(&'static str, &[rewrite::Rule]); 6] = [
        ("cse", pass::COMMUTE),
        ("fold", fold::RULES),
        ("algebra", algebra::RULES),
        ("algebra", shapes::RULES),
        ("algebra", inexact::RULES),
        ("stabilize", stabilize::RULES),
    ];
    tables
        .iter()
        .flat_map(|(pass, table)| {
            table.iter().map(move |r| RuleInfo {
                pass,
                name: r.name,
                identity: r.identity,
                exactness: r.exactness,
            })
        })
        .collect()
}
