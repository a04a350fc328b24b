//! The pass trait and the built-in passes.

use crate::graph::{BinaryOp, Graph, Node, NodeId, Op};

use super::extract::extract;
use super::rewrite::{rewrite, rules, Outcome, Rewriter, Rule};
use super::{algebra, fold, inexact, shapes, stabilize, Options, SimplifyError};

/// A graph being simplified and the nodes it must compute.
#[derive(Debug)]
pub struct Work {
    /// The graph; passes append to it or replace it with a fresh one.
    pub graph: Graph,
    /// The nodes whose values must be kept, in the caller's order.
    pub roots: Vec<NodeId>,
}

/// What one run of a pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PassOutcome {
    /// Whether some root now computes through a different node structure
    /// (renumbering alone is not a change).
    pub changed: bool,
    /// How many times each rule fired, by name, in first-fired order.
    pub fired: Vec<(&'static str, usize)>,
}

/// One step of simplification.
///
/// A pass leaves `work.roots` computing the same values, with the same
/// dtypes and static shapes, up to the rule classes [`Options`] allows.
pub trait Pass: Send + Sync {
    /// The pass's name, as reported in statistics.
    fn name(&self) -> &'static str;

    /// Whether the pass runs at all under these options.
    fn enabled(&self, _options: &Options) -> bool {
        true
    }

    /// Rewrites `work` in place.
    fn run(&self, work: &mut Work, options: &Options) -> Result<PassOutcome, SimplifyError>;
}

fn run_tables(
    work: &mut Work,
    options: &Options,
    tables: &[&'static [Rule]],
) -> Result<PassOutcome, SimplifyError> {
    rewrite(work, options, tables)
}

/// Copies the live nodes into a fresh graph.
fn compact(work: &mut Work) -> Result<(), SimplifyError> {
    let (graph, roots) = extract(&work.graph, &work.roots, &Default::default())?;
    *work = Work { graph, roots };
    Ok(())
}

/// `cse`: common-subexpression elimination. Puts the operands of commutative
/// operations in one order (constants first, then by id), so that `g*x` and
/// `x*g` hash-cons to one node, then copies the live nodes into a fresh graph.
#[derive(Clone, Copy, Debug, Default)]
pub struct Cse;

impl Pass for Cse {
    fn name(&self) -> &'static str {
        "cse"
    }
    fn run(&self, work: &mut Work, options: &Options) -> Result<PassOutcome, SimplifyError> {
        let out = run_tables(work, options, &[COMMUTE])?;
        compact(work)?;
        Ok(out)
    }
}

/// `dce`: dead-node removal; copies what the roots need into a fresh graph.
#[derive(Clone, Copy, Debug, Default)]
pub struct Dce;

impl Pass for Dce {
    fn name(&self) -> &'static str {
        "dce"
    }
    fn run(&self, work: &mut Work, _options: &Options) -> Result<PassOutcome, SimplifyError> {
        compact(work)?;
        Ok(PassOutcome::default())
    }
}

/// `fold`: constant folding, with the interpreter's kernels (one definition
/// of each operation's math), never producing more than
/// [`Options::fold_limit`] elements or a non-finite constant.
#[derive(Clone, Copy, Debug, Default)]
pub struct Fold;

impl Pass for Fold {
    fn name(&self) -> &'static str {
        "fold"
    }
    fn run(&self, work: &mut Work, options: &Options) -> Result<PassOutcome, SimplifyError> {
        run_tables(work, options, &[fold::RULES])
    }
}

/// `algebra`: algebraic identities and shape operations that change nothing;
/// also folds and orders commutative operands of the nodes it builds.
#[derive(Clone, Copy, Debug, Default)]
pub struct Algebra;

impl Pass for Algebra {
    fn name(&self) -> &'static str {
        "algebra"
    }
    fn run(&self, work: &mut Work, options: &Options) -> Result<PassOutcome, SimplifyError> {
        run_tables(
            work,
            options,
            &[
                COMMUTE,
                fold::RULES,
                algebra::RULES,
                shapes::RULES,
                inexact::RULES,
            ],
        )
    }
}

/// `stabilize`: numerically safe forms of what users write naively.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stabilize;

impl Pass for Stabilize {
    fn name(&self) -> &'static str {
        "stabilize"
    }
    fn enabled(&self, options: &Options) -> bool {
        options.stabilize
    }
    fn run(&self, work: &mut Work, options: &Options) -> Result<PassOutcome, SimplifyError> {
        run_tables(work, options, &[stabilize::RULES])
    }
}

/// The canonical-order rule of `cse`.
pub(crate) const COMMUTE: &[Rule] = rules![
    // a + b, a * b, a == b, a != b: constants first, then by id
    "commute", Exact, "b + a -> a + b (likewise *, ==, !=)" => commute;
];

fn commute(rw: &mut Rewriter<'_>, _id: NodeId, n: &Node) -> Outcome {
    let Op::Binary(b) = n.op else {
        return Ok(None);
    };
    if !matches!(
        b,
        BinaryOp::Add | BinaryOp::Mul | BinaryOp::Eq | BinaryOp::Ne
    ) {
        return Ok(None);
    }
    let key = |id: NodeId| (!rw.is_const(id), id);
    let (x, y) = (n.inputs[0], n.inputs[1]);
    if key(x) <= key(y) {
        return Ok(None);
    }
    Ok(Some(rw.mk(n.op.clone(), &[y, x])?))
}
