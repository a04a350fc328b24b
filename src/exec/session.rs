//! `Session`: run fetches with feeds, TensorFlow 1 style.

use std::collections::HashMap;

use std::sync::Arc;

use super::compile::{compile, CompileOptions, Executable};
use super::engine::Engine;
use super::ExecError;
use crate::graph::{Graph, NodeId, Op, Shape, Tensor};
use crate::interp::{self, InterpError};
use crate::value::{AsFeed, Value, ValueView};

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
    engine: Engine,
    threads: Option<usize>,
    stabilize: bool,
    cache: HashMap<CacheKey, Arc<Executable>>,
}

/// Executables are cached per fetch list and shape signature of the feeds.
type CacheKey = (Vec<NodeId>, Vec<(NodeId, Vec<usize>)>);

impl<'g> Session<'g> {
    /// A session over `graph` with the reference interpreter.
    pub fn new(graph: &'g Graph) -> Self {
        Session::with_engine(graph, Engine::Interp)
    }

    /// A session over `graph` that runs on `engine`.
    pub fn with_engine(graph: &'g Graph, engine: Engine) -> Self {
        Session {
            graph,
            engine,
            threads: None,
            stabilize: false,
            cache: HashMap::new(),
        }
    }

    /// Sets the thread count of `jit-mt` (default: all cores).
    pub fn set_threads(&mut self, threads: usize) {
        self.threads = Some(threads.max(1));
        self.cache.clear();
    }

    /// Turns the stabilizing rewrites on or off (off by default) on every
    /// engine: the interpreter then runs the graph that the compiled engines'
    /// pipeline ([`CompileOptions::pipeline`]) returns, so all give the
    /// same values.
    pub fn set_stabilize(&mut self, on: bool) {
        self.stabilize = on;
        self.cache.clear();
    }

    fn options(&self) -> CompileOptions {
        CompileOptions {
            stabilize: self.stabilize,
            ..CompileOptions::for_engine(self.engine, self.threads)
        }
    }

    /// The executable this session would run for `fetches` with feeds of
    /// these shapes, compiled on first use and cached. (An `interp`
    /// session runs no executable; for it, this compiles fused native
    /// code, as `jit` would.)
    pub fn executable(
        &mut self,
        fetches: &[NodeId],
        feed_shapes: &[(NodeId, Vec<usize>)],
    ) -> Result<Arc<Executable>, ExecError> {
        let mut shapes = feed_shapes.to_vec();
        shapes.sort();
        let key = (fetches.to_vec(), shapes);
        if let Some(e) = self.cache.get(&key) {
            return Ok(e.clone());
        }
        let exe = Arc::new(compile(self.graph, fetches, &key.1, &self.options())?);
        self.cache.insert(key, exe.clone());
        Ok(exe)
    }

    /// The engine this session runs on.
    pub fn engine(&self) -> Engine {
        self.engine
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
        if self.engine == Engine::Interp {
            return self.interpret(&fetch_ids, &feed_map);
        }
        let shapes: Vec<(NodeId, Vec<usize>)> = feed_map
            .iter()
            .map(|(id, v)| (*id, v.shape().to_vec()))
            .collect();
        let exe = self.executable(&fetch_ids, &shapes)?;
        let mut ordered = Vec::with_capacity(exe.inputs().len());
        for (name, _) in exe.inputs() {
            let id = self
                .graph
                .placeholder_named(name)
                .ok_or(ExecError::Internal(
                    "input of the executable not in the graph",
                ))?;
            let v = feed_map
                .get(&id)
                .ok_or_else(|| InterpError::Unfed { name: name.clone() })?;
            ordered.push(v.clone());
        }
        exe.run(&ordered)
    }

    /// The interpreter's run: the graph as built, or, with stabilizing
    /// rewrites on, the graph the pipeline makes of it for these shapes.
    fn interpret(
        &self,
        fetches: &[NodeId],
        feeds: &HashMap<NodeId, ValueView<'_>>,
    ) -> Result<Vec<Value>, ExecError> {
        let pipeline = match self.options().pipeline() {
            Some(p) if self.stabilize => p,
            _ => return Ok(interp::evaluate(self.graph, fetches, feeds)?),
        };
        let mut shapes = HashMap::new();
        for (id, v) in feeds {
            if let Op::Placeholder { name } = self.graph.node(*id).op {
                shapes.insert(name, Shape::known(v.shape()));
            }
        }
        let s = pipeline.run_with_shapes(self.graph, fetches, &shapes)?;
        let mut fed = HashMap::with_capacity(feeds.len());
        for (id, v) in feeds {
            if let Op::Placeholder { name } = &self.graph.node(*id).op {
                if let Some(to) = s.graph.placeholder_named(name) {
                    fed.insert(to, v.clone());
                }
            }
        }
        Ok(interp::evaluate(&s.graph, &s.roots, &fed)?)
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
