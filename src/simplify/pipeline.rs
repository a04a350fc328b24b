//! The pipeline: an explicit, ordered list of steps, each a pass or a group
//! of passes run to a fixpoint under a round limit, with statistics.

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

use crate::graph::{Graph, NodeId};

use super::extract::{count_ops, extract, live};
use super::pass::{Algebra, Cse, Dce, Fold, Pass, Stabilize, Work};
use super::{Options, SimplifyError};

/// One step of a [`Pipeline`].
pub enum Step {
    /// A pass run once.
    Once(Box<dyn Pass>),
    /// Passes run in order, round after round, until a round changes
    /// nothing or `limit` rounds have run.
    Fixpoint {
        /// The group's name, as reported in [`GroupReport`].
        name: &'static str,
        /// The passes of one round, in order.
        passes: Vec<Box<dyn Pass>>,
        /// The most rounds to run.
        limit: usize,
    },
}

impl fmt::Debug for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Once(p) => write!(f, "{}", p.name()),
            Step::Fixpoint {
                name,
                passes,
                limit,
            } => {
                let names: Vec<&str> = passes.iter().map(|p| p.name()).collect();
                write!(f, "{name}({}) x{limit}", names.join(", "))
            }
        }
    }
}

/// Statistics of one run of one pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PassStats {
    /// The pass's name.
    pub name: &'static str,
    /// The fixpoint group it ran in, if any.
    pub group: Option<&'static str>,
    /// The round of that group, from 1 (1 for a pass run once).
    pub round: usize,
    /// Operations the roots needed before ([`count_ops`]).
    pub nodes_before: usize,
    /// Operations the roots needed after.
    pub nodes_after: usize,
    /// Time the pass took.
    pub time: Duration,
    /// How often each rule fired.
    pub fired: Vec<(&'static str, usize)>,
}

/// Why a fixpoint group stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// A round changed nothing.
    Saturated,
    /// The round limit was reached while passes still made changes.
    RoundLimit,
}

/// How a fixpoint group ran.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupReport {
    /// The group's name.
    pub name: &'static str,
    /// Rounds run; 0 when the group was skipped because a group of the same
    /// name saturated and no pass has changed anything since.
    pub rounds: usize,
    /// Why it stopped.
    pub stop: Stop,
}

/// The result of [`Pipeline::run`].
#[derive(Debug)]
pub struct Simplified {
    /// A fresh graph holding only what the roots need.
    pub graph: Graph,
    /// The roots, in the order given, as nodes of `graph`.
    pub roots: Vec<NodeId>,
    /// One entry per pass run, in order.
    pub stats: Vec<PassStats>,
    /// One entry per fixpoint group, in order.
    pub groups: Vec<GroupReport>,
    /// Operations the roots needed in the input graph.
    pub nodes_before: usize,
    /// Total time, copying included.
    pub time: Duration,
}

impl Simplified {
    /// Operations the roots need in the simplified graph.
    pub fn nodes_after(&self) -> usize {
        count_ops(&self.graph, &self.roots)
    }

    /// Total time and final node count per pass name, in first-run order
    /// (the shape `show` prints: one line per pass).
    pub fn per_pass(&self) -> Vec<(&'static str, usize, Duration)> {
        let mut out: Vec<(&'static str, usize, Duration)> = Vec::new();
        for s in &self.stats {
            match out.iter_mut().find(|(n, _, _)| *n == s.name) {
                Some(e) => {
                    e.1 = s.nodes_after;
                    e.2 += s.time;
                }
                None => out.push((s.name, s.nodes_after, s.time)),
            }
        }
        out
    }
}

/// An ordered list of simplification steps and the options they run under.
///
/// ```
/// use gradjit::simplify::Pipeline;
/// let p = Pipeline::standard().with_inexact(false).with_stabilize(true);
/// assert_eq!(format!("{p:?}"), "Pipeline [canonicalize(cse, fold, algebra) x8, dce, \
///     stabilize, canonicalize(cse, fold, algebra) x8, dce]");
/// ```
pub struct Pipeline {
    steps: Vec<Step>,
    options: Options,
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pipeline ")?;
        f.debug_list().entries(&self.steps).finish()
    }
}

impl Default for Pipeline {
    fn default() -> Self {
        Self::standard()
    }
}

/// The round limit of the standard fixpoint groups.
const ROUNDS: usize = 8;

fn canonicalize() -> Step {
    Step::Fixpoint {
        name: "canonicalize",
        passes: vec![Box::new(Cse), Box::new(Fold), Box::new(Algebra)],
        limit: ROUNDS,
    }
}

impl Pipeline {
    /// An empty pipeline with default options (`Pipeline::default()` is
    /// [`Pipeline::standard`]).
    pub fn new() -> Self {
        Pipeline {
            steps: Vec::new(),
            options: Options::default(),
        }
    }

    /// The pass list of every engine: canonicalize to a fixpoint, drop dead
    /// nodes, stabilize (when turned on), canonicalize again, drop dead
    /// nodes. `exec::CompileOptions::pipeline` sets its options.
    pub fn standard() -> Self {
        Pipeline::new()
            .then_step(canonicalize())
            .then(Dce)
            .then(Stabilize)
            .then_step(canonicalize())
            .then(Dce)
    }

    /// Only the `stabilize` pass (and a final copy): safe to run on a
    /// forward graph before differentiating it, since it keeps every
    /// differentiable path and `stop_gradient`.
    pub fn stabilize_only() -> Self {
        Pipeline::new()
            .then(Stabilize)
            .then(Dce)
            .with_stabilize(true)
    }

    /// Appends a pass run once.
    pub fn then(self, pass: impl Pass + 'static) -> Self {
        self.then_step(Step::Once(Box::new(pass)))
    }

    /// Appends a step.
    pub fn then_step(mut self, step: Step) -> Self {
        self.steps.push(step);
        self
    }

    /// Turns the [`super::Exactness::Inexact`] rules on or off (off by default).
    pub fn with_inexact(mut self, on: bool) -> Self {
        self.options.inexact = on;
        self
    }

    /// Turns the `stabilize` pass on or off (off by default). With it off and
    /// inexact rules off, simplification keeps every bit of every value.
    pub fn with_stabilize(mut self, on: bool) -> Self {
        self.options.stabilize = on;
        self
    }

    /// Sets the largest constant folding may produce, in elements (default 4096).
    pub fn with_fold_limit(mut self, elements: usize) -> Self {
        self.options.fold_limit = elements;
        self
    }

    /// Replaces all options.
    pub fn with_options(mut self, options: Options) -> Self {
        self.options = options;
        self
    }

    /// The options the passes run under.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The steps, in order.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Runs the pipeline; the result lives in a fresh graph (dead nodes
    /// removed), roots remapped. `graph` is not modified.
    ///
    /// # Errors
    /// A root outside the graph, a graph holding an error from building it,
    /// or (a bug) a rewrite whose shapes do not fit.
    pub fn run(&self, graph: &Graph, roots: &[NodeId]) -> Result<Simplified, SimplifyError> {
        self.run_with_shapes(graph, roots, &HashMap::new())
    }

    /// Specializes placeholder shapes as [`extract`] does, then runs the
    /// pipeline: what a compiling engine does once it knows the shapes it
    /// is fed (the time includes the specialization).
    ///
    /// # Errors
    /// Those of [`extract`] and of [`Pipeline::run`].
    pub fn run_with_shapes(
        &self,
        graph: &Graph,
        roots: &[NodeId],
        shapes: &HashMap<String, crate::graph::Shape>,
    ) -> Result<Simplified, SimplifyError> {
        let start = Instant::now();
        let (g, r) = extract(graph, roots, shapes)?;
        let mut work = Work { graph: g, roots: r };
        let nodes_before = count_ops(&work.graph, &work.roots);
        let mut stats = Vec::new();
        let mut groups = Vec::new();
        // groups that saturated since the last change: running one again
        // would change nothing (groups of one name run the same passes)
        let mut saturated: Vec<&'static str> = Vec::new();
        for step in &self.steps {
            match step {
                Step::Once(pass) => {
                    if pass.enabled(&self.options)
                        && self.run_pass(pass.as_ref(), &mut work, None, 1, &mut stats)?
                    {
                        saturated.clear();
                    }
                }
                Step::Fixpoint {
                    name,
                    passes,
                    limit,
                } => {
                    let mut report = GroupReport {
                        name,
                        rounds: 0,
                        stop: Stop::Saturated,
                    };
                    if saturated.contains(name) {
                        groups.push(report);
                        continue;
                    }
                    report.stop = Stop::RoundLimit;
                    for round in 1..=*limit {
                        report.rounds = round;
                        let mut changed = false;
                        for pass in passes.iter().filter(|p| p.enabled(&self.options)) {
                            changed |= self.run_pass(
                                pass.as_ref(),
                                &mut work,
                                Some(name),
                                round,
                                &mut stats,
                            )?;
                        }
                        if !changed {
                            report.stop = Stop::Saturated;
                            break;
                        }
                        saturated.clear();
                    }
                    if report.stop == Stop::Saturated {
                        saturated.push(name);
                    }
                    groups.push(report);
                }
            }
        }
        // a fresh graph of live nodes only (the last step may have left one)
        let live = count_live(&work.graph, &work.roots);
        let (graph, roots) = if live == work.graph.len() {
            (work.graph, work.roots)
        } else {
            extract(&work.graph, &work.roots, &HashMap::new())?
        };
        Ok(Simplified {
            graph,
            roots,
            stats,
            groups,
            nodes_before,
            time: start.elapsed(),
        })
    }

    fn run_pass(
        &self,
        pass: &dyn Pass,
        work: &mut Work,
        group: Option<&'static str>,
        round: usize,
        stats: &mut Vec<PassStats>,
    ) -> Result<bool, SimplifyError> {
        let nodes_before = count_ops(&work.graph, &work.roots);
        let t = Instant::now();
        let outcome = pass.run(work, &self.options)?;
        let time = t.elapsed();
        stats.push(PassStats {
            name: pass.name(),
            group,
            round,
            nodes_before,
            nodes_after: count_ops(&work.graph, &work.roots),
            time,
            fired: outcome.fired,
        });
        Ok(outcome.changed)
    }
}

fn count_live(graph: &Graph, roots: &[NodeId]) -> usize {
    live(graph, roots).iter().filter(|l| **l).count()
}
