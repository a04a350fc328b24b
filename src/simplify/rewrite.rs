//! The rule engine every rewriting pass shares: a bottom-up rebuild with a
//! memo `old -> new`, smart construction of the nodes rules build, and the
//! facts rules use as guards (splat constants, shapes, signs of zero).

use crate::graph::{BinaryOp, DType, Graph, Node, NodeId, Op, Shape};

use super::extract::live;
use super::{Exactness, Options, PassOutcome, SimplifyError, Work};

/// What a rule returns: the node to use instead, or `None` when it does not apply.
pub(crate) type Outcome = Result<Option<NodeId>, SimplifyError>;

/// A rule: looks at node `id` (whose inputs are already simplified) and
/// may return an equivalent node.
pub(crate) type RuleFn = fn(&mut Rewriter<'_>, NodeId, &Node) -> Outcome;

/// One named rewrite rule.
#[derive(Clone, Copy)]
pub(crate) struct Rule {
    /// Short name, reported in statistics.
    pub name: &'static str,
    /// How faithfully it keeps values.
    pub exactness: Exactness,
    /// The identity, for documentation: `x * 1 -> x`.
    pub identity: &'static str,
    /// The rule itself.
    pub apply: RuleFn,
}

/// Builds a rule table: `name, Exactness, "identity" => function;` per line.
macro_rules! rules {
    ($($name:literal, $exact:ident, $identity:literal => $apply:path;)*) => {
        &[$($crate::simplify::rewrite::Rule {
            name: $name,
            exactness: $crate::simplify::Exactness::$exact,
            identity: $identity,
            apply: $apply,
        },)*]
    };
}
pub(crate) use rules;

/// How deep rules may nest smart constructions before a node is left as it
/// is (the next round of a fixpoint picks it up).
const MAX_DEPTH: u32 = 48;

/// Rewrites the live nodes of `work` with the given rule tables, in place
/// (appending nodes).
pub(crate) fn rewrite(
    work: &mut Work,
    options: &Options,
    tables: &[&'static [Rule]],
) -> Result<PassOutcome, SimplifyError> {
    let g = &work.graph;
    let n = g.len();
    let live = live(g, &work.roots);
    let mut uses = vec![0u32; n];
    {
        let nodes = g.nodes();
        for (node, _) in nodes.iter().zip(&live).filter(|(_, l)| **l) {
            for inp in &node.inputs {
                uses[inp.index()] += 1;
            }
        }
    }
    for r in &work.roots {
        uses[r.index()] += 1;
    }
    let mut rw = Rewriter {
        g,
        options,
        tables,
        norm: Vec::new(),
        reps: Vec::new(),
        uses,
        fired: Vec::new(),
        depth: 0,
    };
    let mut memo: Vec<NodeId> = (0..n as u32).map(NodeId).collect();
    let mut changed = false;
    for i in (0..n).filter(|&i| live[i]) {
        let id = NodeId(i as u32);
        let (op, inputs) = {
            let nodes = g.nodes();
            (nodes[i].op.clone(), nodes[i].inputs.clone())
        };
        let mapped: Vec<NodeId> = inputs.iter().map(|x| memo[x.index()]).collect();
        let candidate = if mapped == inputs {
            id
        } else {
            g.add_node(op, &mapped)?
        };
        let out = rw.simplify(candidate)?;
        if out != id {
            changed = true;
            // the replacement serves the old node's users
            rw.inherit_uses(out, id);
        }
        memo[i] = out;
    }
    for r in &mut work.roots {
        *r = memo[r.index()];
    }
    Ok(PassOutcome {
        changed,
        fired: rw.fired,
    })
}

/// The state of one rewriting pass over a graph.
pub(crate) struct Rewriter<'a> {
    /// The graph being rewritten (nodes are only ever appended).
    pub g: &'a Graph,
    /// What the pipeline allows.
    pub options: &'a Options,
    tables: &'a [&'static [Rule]],
    /// The simplified form of each node seen in this pass.
    norm: Vec<Option<NodeId>>,
    /// A node whose run-time shape is provably this node's (see [`Rewriter::rep`]).
    reps: Vec<NodeId>,
    /// How many live nodes (and roots) use each node, as the pass began.
    uses: Vec<u32>,
    fired: Vec<(&'static str, usize)>,
    depth: u32,
}

impl Rewriter<'_> {
    /// Applies the rule tables to `id` until none fires; returns the result.
    pub fn simplify(&mut self, id: NodeId) -> Result<NodeId, SimplifyError> {
        if let Some(Some(done)) = self.norm.get(id.index()) {
            return Ok(*done);
        }
        if self.norm.len() <= id.index() {
            self.norm.resize(self.g.len().max(id.index() + 1), None);
        }
        // while in progress a node is its own normal form, which breaks cycles
        self.norm[id.index()] = Some(id);
        if self.depth >= MAX_DEPTH {
            return Ok(id);
        }
        self.depth += 1;
        let result = self.apply_rules(id);
        self.depth -= 1;
        let out = result?;
        self.norm[id.index()] = Some(out);
        Ok(out)
    }

    fn apply_rules(&mut self, id: NodeId) -> Result<NodeId, SimplifyError> {
        let node = self.g.node(id);
        let tables = self.tables;
        for table in tables {
            for rule in table.iter() {
                if !self.options.allows(rule.exactness) {
                    continue;
                }
                if let Some(m) = (rule.apply)(self, id, &node)? {
                    if m != id {
                        self.record(rule.name);
                        return self.simplify(m);
                    }
                }
            }
        }
        Ok(id)
    }

    fn record(&mut self, name: &'static str) {
        match self.fired.iter_mut().find(|(n, _)| *n == name) {
            Some((_, k)) => *k += 1,
            None => self.fired.push((name, 1)),
        }
    }

    /// Whether `id` had more than one user when the pass began (a node that
    /// replaced another counts its users; other nodes built during the pass
    /// count as used once); a rule that would duplicate a shared node's work
    /// checks this.
    pub fn shared(&self, id: NodeId) -> bool {
        self.uses.get(id.index()).is_some_and(|&u| u > 1)
    }

    fn inherit_uses(&mut self, new: NodeId, old: NodeId) {
        let u = self.uses.get(old.index()).copied().unwrap_or(0);
        if self.uses.len() <= new.index() {
            self.uses.resize(new.index() + 1, 0);
        }
        self.uses[new.index()] += u;
    }

    /// Builds `op(inputs)` and simplifies it.
    pub fn mk(&mut self, op: Op, inputs: &[NodeId]) -> Result<NodeId, SimplifyError> {
        let id = self.g.add_node(op, inputs)?;
        self.simplify(id)
    }

    /// Builds `op(inputs)` without simplifying it; `None` if its shapes do not fit.
    pub fn raw(&self, op: Op, inputs: &[NodeId]) -> Option<NodeId> {
        self.g.add_node(op, inputs).ok()
    }

    /// A scalar constant.
    pub fn konst(&self, v: f64, dtype: DType) -> NodeId {
        self.g.add_scalar(v, dtype)
    }

    /// A copy of node `id`.
    pub fn node(&self, id: NodeId) -> Node {
        self.g.node(id)
    }

    /// The operation of node `id`.
    pub fn op(&self, id: NodeId) -> Op {
        self.g.nodes()[id.index()].op.clone()
    }

    /// The single input of a node of the given arity-1 kind, e.g. `unary_of(id, Op::Unary(Neg))`.
    pub fn arg_of(&self, id: NodeId, op: &Op) -> Option<NodeId> {
        let nodes = self.g.nodes();
        let n = &nodes[id.index()];
        (n.op == *op).then(|| n.inputs.first().copied()).flatten()
    }

    /// The static shape of node `id`.
    pub fn shape(&self, id: NodeId) -> Shape {
        self.g.nodes()[id.index()].shape.clone()
    }

    /// The dtype of node `id`.
    pub fn dtype(&self, id: NodeId) -> DType {
        self.g.nodes()[id.index()].dtype
    }

    /// True for a constant node.
    pub fn is_const(&self, id: NodeId) -> bool {
        matches!(self.g.nodes()[id.index()].op, Op::Constant(_))
    }

    /// The value of a rank-0 constant.
    pub fn scalar(&self, id: NodeId) -> Option<f64> {
        match &self.g.nodes()[id.index()].op {
            Op::Constant(lit) if lit.shape().is_empty() => lit.splat_value(),
            _ => None,
        }
    }

    /// The value every element of `id` has, when it is a constant with all
    /// elements equal, a broadcast of one, `ones_like` or `zeros_like`.
    pub fn splat(&self, id: NodeId) -> Option<f64> {
        let nodes = self.g.nodes();
        let mut cur = id;
        loop {
            let n = &nodes[cur.index()];
            match &n.op {
                Op::Constant(lit) => return lit.splat_value(),
                Op::OnesLike => return Some(1.0),
                Op::ZerosLike => return Some(0.0),
                Op::BroadcastTo { .. } | Op::BroadcastLike => cur = n.inputs[0],
                _ => return None,
            }
        }
    }

    /// `a op b` on scalars of `dtype`, with the operation's one definition.
    pub fn eval2(op: BinaryOp, a: f64, b: f64, dtype: DType) -> f64 {
        match dtype {
            DType::F32 => f64::from(op.eval(a as f32, b as f32)),
            DType::F64 => op.eval(a, b),
        }
    }

    /// A node whose run-time shape equals `id`'s in every run, computed
    /// structurally: an elementwise result has the shape of its operands
    /// when all those that are not rank-0 share one; `ones_like(x)` and
    /// friends have x's; `sum_to(g, x)` has x's. Otherwise the node itself.
    pub fn rep(&mut self, id: NodeId) -> NodeId {
        let g = self.g;
        let nodes = g.nodes();
        while self.reps.len() <= id.index() {
            let i = self.reps.len();
            let n = &nodes[i];
            let r = match &n.op {
                Op::Unary(_)
                | Op::Identity
                | Op::Bind { .. }
                | Op::StopGradient
                | Op::OnesLike
                | Op::ZerosLike => self.reps[n.inputs[0].index()],
                Op::SumTo | Op::BroadcastLike | Op::ReshapeLike => self.reps[n.inputs[1].index()],
                Op::Binary(_) | Op::Where => {
                    let mut shared: Option<NodeId> = None;
                    let mut agree = true;
                    for inp in &n.inputs {
                        if nodes[inp.index()].shape.rank() == Some(0) {
                            continue;
                        }
                        let r = self.reps[inp.index()];
                        match shared {
                            None => shared = Some(r),
                            Some(s) if s == r => {}
                            Some(_) => agree = false,
                        }
                    }
                    match (agree, shared) {
                        (true, Some(s)) => s,
                        _ => NodeId(i as u32),
                    }
                }
                _ => NodeId(i as u32),
            };
            self.reps.push(r);
        }
        self.reps[id.index()]
    }

    /// Whether `a` and `b` have the same static shape and, in every run, the
    /// same run-time shape.
    pub fn same_shape(&mut self, a: NodeId, b: NodeId) -> bool {
        let (sa, sb) = (self.shape(a), self.shape(b));
        sa == sb && (sa.is_concrete() || self.rep(a) == self.rep(b))
    }

    /// Whether `new` can stand in for `old`: same dtype, same static and run-time shape.
    pub fn fits(&mut self, old: NodeId, new: NodeId) -> bool {
        self.dtype(old) == self.dtype(new) && self.same_shape(old, new)
    }

    /// `Some(new)` when it can stand in for `old`.
    pub fn replace(&mut self, old: NodeId, new: NodeId) -> Outcome {
        Ok(self.fits(old, new).then_some(new))
    }

    /// Stands `v` in for `old`, where `v` broadcast to `old`'s shape has
    /// `old`'s values: `v` itself if the shapes match, else a broadcast of it
    /// to `old`'s static shape or to the shape of one of `old`'s inputs that
    /// provably has `old`'s shape; `None` if neither is possible.
    pub fn fit(&mut self, old: NodeId, v: NodeId) -> Outcome {
        if self.fits(old, v) {
            return Ok(Some(v));
        }
        if self.dtype(old) != self.dtype(v) {
            return Ok(None);
        }
        if let Some(dims) = self.shape(old).concrete() {
            return Ok(self
                .raw(Op::BroadcastTo { dims }, &[v])
                .filter(|&b| self.shape(b) == self.shape(old)));
        }
        let inputs = self.g.nodes()[old.index()].inputs.clone();
        for like in inputs {
            if self.fits(old, like) {
                if let Some(b) = self.raw(Op::BroadcastLike, &[v, like]) {
                    if self.fits(old, b) {
                        return Ok(Some(b));
                    }
                }
            }
        }
        Ok(None)
    }

    /// True when no element of `id` can be `-0` (so `id + 0` is `id`).
    pub fn never_neg_zero(&self, id: NodeId) -> bool {
        self.never_neg_zero_within(id, 6)
    }

    fn never_neg_zero_within(&self, id: NodeId, depth: u32) -> bool {
        if depth == 0 {
            return false;
        }
        let n = self.node(id);
        let sub = |k: usize| self.never_neg_zero_within(n.inputs[k], depth - 1);
        match &n.op {
            Op::Constant(lit) => lit
                .values()
                .iter()
                .all(|v| *v != 0.0 || v.is_sign_positive()),
            Op::OnesLike | Op::ZerosLike | Op::Count { .. } => true,
            Op::Unary(u) => u.facts().never_neg_zero,
            Op::Binary(b) if b.is_comparison() => true,
            Op::Binary(BinaryOp::Mul) => n.inputs[0] == n.inputs[1],
            // -0 + -0 is the only sum that is -0
            Op::Binary(BinaryOp::Add) => sub(0) || sub(1),
            Op::Binary(BinaryOp::Maximum | BinaryOp::Minimum) => sub(0) && sub(1),
            Op::Where => sub(1) && sub(2),
            Op::Reduce { .. }
            | Op::Reshape { .. }
            | Op::Transpose { .. }
            | Op::BroadcastTo { .. }
            | Op::StopGradient
            | Op::Identity
            | Op::Bind { .. }
            | Op::BroadcastLike
            | Op::ReshapeLike
            | Op::ExpandDims { .. } => sub(0),
            _ => false,
        }
    }
}
