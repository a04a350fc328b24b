//! A tiny expression parser and printer for one-line golden tests (the real
//! text front end lives on another branch). Test code: it panics on errors.
//!
//! Grammar: the language's operators and precedence (`a + b * -c ** 2`,
//! comparisons), numbers, `inf`, `nan`, list literals as constants, and
//! calls of every operation by name, internal ones included:
//! `sum(x, [0], 1)`, `sum_to(g, x)`, `broadcast_to(3, [4])`, `ones_like(x)`.

use std::collections::HashMap;

use gradjit::graph::{BinaryOp, Literal, ReduceOp, UnaryOp};
use gradjit::{DType, Graph, NodeId, Op, Shape};

/// Placeholder shapes by name, and the dtype of a test.
pub struct Env {
    pub dtype: DType,
    pub shapes: HashMap<&'static str, Shape>,
    /// The concrete shapes fed to placeholders whose shape is not fully known.
    pub feeds: HashMap<&'static str, Vec<usize>>,
}

impl Env {
    /// x, y, z: [4]; a, b: [2, 4]; c: [2, 1]; s, t: scalars; m: [4, 3];
    /// n: [3, 2]; u, v, w: unknown (fed [4]); r: [?, 4] (fed [2, 4]).
    pub fn new(dtype: DType) -> Self {
        let mut shapes = HashMap::new();
        for n in ["x", "y", "z"] {
            shapes.insert(n, Shape::known(&[4]));
        }
        for n in ["a", "b"] {
            shapes.insert(n, Shape::known(&[2, 4]));
        }
        shapes.insert("c", Shape::known(&[2, 1]));
        for n in ["s", "t"] {
            shapes.insert(n, Shape::scalar());
        }
        shapes.insert("m", Shape::known(&[4, 3]));
        shapes.insert("n", Shape::known(&[3, 2]));
        for n in ["u", "v", "w"] {
            shapes.insert(n, Shape::unknown());
        }
        shapes.insert("r", Shape::with_dims(vec![None, Some(4)]));
        let feeds = HashMap::from([
            ("u", vec![4]),
            ("v", vec![4]),
            ("w", vec![4]),
            ("r", vec![2, 4]),
        ]);
        Env {
            dtype,
            shapes,
            feeds,
        }
    }

    /// The concrete shape a placeholder is fed.
    pub fn feed_shape(&self, name: &str) -> Vec<usize> {
        if let Some(s) = self.feeds.get(name) {
            return s.clone();
        }
        self.shapes
            .get(name)
            .and_then(Shape::concrete)
            .unwrap_or_else(|| panic!("no shape for input `{name}`"))
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Num(f64),
    Ident(String),
    Sym(&'static str),
}

fn lex(src: &str) -> Vec<Tok> {
    const SYMS: [&str; 17] = [
        "**", "<=", ">=", "==", "!=", "+", "-", "*", "/", "@", "(", ")", "[", "]", ",", "<", ">",
    ];
    let mut out = Vec::new();
    let b = src.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i] as char;
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() || c == '.' {
            let start = i;
            while i < b.len()
                && ((b[i] as char).is_ascii_alphanumeric()
                    || b[i] == b'.'
                    || ((b[i] == b'-' || b[i] == b'+') && (b[i - 1] == b'e' || b[i - 1] == b'E')))
            {
                i += 1;
            }
            out.push(Tok::Num(src[start..i].parse().expect("a number")));
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < b.len() && ((b[i] as char).is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(Tok::Ident(src[start..i].to_string()));
        } else {
            let sym = SYMS
                .iter()
                .find(|s| src[i..].starts_with(*s))
                .unwrap_or_else(|| panic!("unexpected `{c}` in {src:?}"));
            out.push(Tok::Sym(sym));
            i += sym.len();
        }
    }
    out
}

/// A parsed argument: an expression or a list of numbers.
enum Arg {
    Node(NodeId),
    List(Vec<f64>),
}

struct Parser<'a> {
    g: &'a Graph,
    env: &'a Env,
    toks: Vec<Tok>,
    pos: usize,
}

/// Parses `src` into `g`, returning the expression's node.
pub fn parse(g: &Graph, env: &Env, src: &str) -> NodeId {
    let mut p = Parser {
        g,
        env,
        toks: lex(src),
        pos: 0,
    };
    let id = p.expr();
    assert_eq!(p.pos, p.toks.len(), "trailing input in {src:?}");
    id
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn eat(&mut self, s: &str) -> bool {
        if self.peek() == Some(&Tok::Sym(sym(s))) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn expect(&mut self, s: &str) {
        assert!(self.eat(s), "expected `{s}` at token {}", self.pos);
    }
    fn node(&self, op: Op, inputs: &[NodeId]) -> NodeId {
        self.g
            .add_node(op.clone(), inputs)
            .unwrap_or_else(|e| panic!("{op:?}: {e}"))
    }
    fn bin(&self, op: BinaryOp, a: NodeId, b: NodeId) -> NodeId {
        self.node(Op::Binary(op), &[a, b])
    }

    fn expr(&mut self) -> NodeId {
        let mut a = self.sum();
        loop {
            let op = match self.peek() {
                Some(Tok::Sym("<")) => BinaryOp::Lt,
                Some(Tok::Sym("<=")) => BinaryOp::Le,
                Some(Tok::Sym(">")) => BinaryOp::Gt,
                Some(Tok::Sym(">=")) => BinaryOp::Ge,
                Some(Tok::Sym("==")) => BinaryOp::Eq,
                Some(Tok::Sym("!=")) => BinaryOp::Ne,
                _ => return a,
            };
            self.pos += 1;
            let b = self.sum();
            a = self.bin(op, a, b);
        }
    }
    fn sum(&mut self) -> NodeId {
        let mut a = self.product();
        loop {
            let op = if self.eat("+") {
                BinaryOp::Add
            } else if self.eat("-") {
                BinaryOp::Sub
            } else {
                return a;
            };
            let b = self.product();
            a = self.bin(op, a, b);
        }
    }
    fn product(&mut self) -> NodeId {
        let mut a = self.unary();
        loop {
            if self.eat("@") {
                let b = self.unary();
                a = self.node(Op::MatMul, &[a, b]);
                continue;
            }
            let op = if self.eat("*") {
                BinaryOp::Mul
            } else if self.eat("/") {
                BinaryOp::Div
            } else {
                return a;
            };
            let b = self.unary();
            a = self.bin(op, a, b);
        }
    }
    fn unary(&mut self) -> NodeId {
        if self.eat("-") {
            let x = self.unary();
            // a negated number is a negative constant, so `-0` is -0
            if let Op::Constant(lit) = self.g.node(x).op {
                let vals: Vec<f64> = lit.values().iter().map(|v| -v).collect();
                let neg = Literal::new(lit.shape().to_vec(), vals).expect("same shape");
                return self.g.add_constant(neg, self.env.dtype);
            }
            return self.node(Op::Unary(UnaryOp::Neg), &[x]);
        }
        self.power()
    }
    fn power(&mut self) -> NodeId {
        let a = self.atom();
        if self.eat("**") {
            let b = self.unary();
            return self.bin(BinaryOp::Pow, a, b);
        }
        a
    }
    fn list(&mut self) -> Vec<f64> {
        let mut out = Vec::new();
        while !self.eat("]") {
            let neg = self.eat("-");
            match self.peek().cloned() {
                Some(Tok::Num(v)) => out.push(if neg { -v } else { v }),
                t => panic!("expected a number in a list, got {t:?}"),
            }
            self.pos += 1;
            self.eat(",");
        }
        out
    }
    fn arg(&mut self) -> Arg {
        if self.eat("[") {
            Arg::List(self.list())
        } else {
            Arg::Node(self.expr())
        }
    }
    fn atom(&mut self) -> NodeId {
        match self.peek().cloned() {
            Some(Tok::Num(v)) => {
                self.pos += 1;
                self.g.add_scalar(v, self.env.dtype)
            }
            Some(Tok::Sym("(")) => {
                self.pos += 1;
                let e = self.expr();
                self.expect(")");
                e
            }
            Some(Tok::Sym("[")) => {
                self.pos += 1;
                let vals = self.list();
                let lit = Literal::new(vec![vals.len()], vals).expect("a vector");
                self.g.add_constant(lit, self.env.dtype)
            }
            Some(Tok::Ident(name)) => {
                self.pos += 1;
                if self.eat("(") {
                    // the first argument is an expression (`[1, 2]` a constant)
                    let mut args = vec![Arg::Node(self.expr())];
                    self.eat(",");
                    while !self.eat(")") {
                        args.push(self.arg());
                        self.eat(",");
                    }
                    self.call(&name, args)
                } else {
                    self.name(&name)
                }
            }
            t => panic!("unexpected {t:?}"),
        }
    }
    fn name(&self, name: &str) -> NodeId {
        match name {
            "inf" => self.g.add_scalar(f64::INFINITY, self.env.dtype),
            "nan" => self.g.add_scalar(f64::NAN, self.env.dtype),
            _ => {
                let shape = self
                    .env
                    .shapes
                    .get(name)
                    .cloned()
                    .unwrap_or_else(|| panic!("unknown input `{name}`"));
                self.g
                    .add_placeholder(name, self.env.dtype, shape)
                    .expect("a placeholder")
            }
        }
    }
    fn call(&self, f: &str, args: Vec<Arg>) -> NodeId {
        let nodes: Vec<NodeId> = args
            .iter()
            .filter_map(|a| match a {
                Arg::Node(n) => Some(*n),
                Arg::List(_) => None,
            })
            .collect();
        // list parameters follow the first argument
        let lists: Vec<Vec<f64>> = args
            .iter()
            .skip(1)
            .filter_map(|a| match a {
                Arg::List(l) => Some(l.clone()),
                Arg::Node(n) => self
                    .g
                    .node(*n)
                    .op
                    .clone()
                    .constant_scalar()
                    .map(|v| vec![v]),
            })
            .collect();
        let ints = |k: usize| -> Vec<i64> { lists[k].iter().map(|&v| v as i64).collect() };
        let usizes = |k: usize| -> Vec<usize> { lists[k].iter().map(|&v| v as usize).collect() };
        let x = nodes[0];
        if let Some(u) = UnaryOp::from_name(f) {
            return self.node(Op::Unary(u), &[x]);
        }
        if let Some(b) = BinaryOp::from_name(f) {
            return self.bin(b, nodes[0], nodes[1]);
        }
        if let Some(op) = ReduceOp::from_name(f) {
            // sum(x), sum(x, [axes]) or sum(x, [axes], keepdims)
            let axes = (args.len() > 1).then(|| usizes(0));
            let keepdims = args.len() > 2 && lists.get(1).is_some_and(|k| k[0] != 0.0);
            return self.node(Op::Reduce { op, axes, keepdims }, &[x]);
        }
        let op = match f {
            "where" => Op::Where,
            "reshape" => Op::Reshape { dims: ints(0) },
            "transpose" => Op::Transpose {
                perm: (args.len() > 1).then(|| usizes(0)),
            },
            "broadcast_to" => Op::BroadcastTo { dims: usizes(0) },
            "matmul" => Op::MatMul,
            "stop_gradient" => Op::StopGradient,
            "identity" => Op::Identity,
            "sum_to" => Op::SumTo,
            "broadcast_like" => Op::BroadcastLike,
            "reshape_like" => Op::ReshapeLike,
            "expand_dims" => Op::ExpandDims { axes: usizes(0) },
            "ones_like" => Op::OnesLike,
            "zeros_like" => Op::ZerosLike,
            "count" => Op::Count {
                axes: (args.len() > 1).then(|| usizes(0)),
            },
            _ => panic!("unknown function `{f}`"),
        };
        let inputs: Vec<NodeId> = nodes.iter().take(op.arity()).copied().collect();
        self.node(op, &inputs)
    }
}

fn sym(s: &str) -> &'static str {
    const ALL: [&str; 17] = [
        "**", "<=", ">=", "==", "!=", "+", "-", "*", "/", "@", "(", ")", "[", "]", ",", "<", ">",
    ];
    ALL.iter()
        .find(|x| **x == s)
        .copied()
        .unwrap_or_else(|| panic!("not a symbol: {s}"))
}

trait ConstantScalar {
    fn constant_scalar(self) -> Option<f64>;
}

impl ConstantScalar for Op {
    fn constant_scalar(self) -> Option<f64> {
        match self {
            Op::Constant(lit) if lit.shape().is_empty() => lit.splat_value(),
            _ => None,
        }
    }
}

/// Prints node `id` as an expression (shared nodes are printed again).
pub fn render(g: &Graph, id: NodeId) -> String {
    let n = g.node(id);
    let args = |g: &Graph| -> Vec<String> { n.inputs.iter().map(|&i| render(g, i)).collect() };
    match &n.op {
        Op::Placeholder { name } => name.clone(),
        Op::Constant(lit) => match lit.splat_value() {
            Some(v) if lit.shape().is_empty() => format!("{v:?}"),
            _ => format!("const{:?}{:?}", lit.shape(), lit.values()),
        },
        Op::Unary(UnaryOp::Neg) => format!("-{}", args(g)[0]),
        Op::Binary(b) => {
            let a = args(g);
            match b.symbol() {
                Some(s) => format!("({} {s} {})", a[0], a[1]),
                None => format!("{}({}, {})", b.name(), a[0], a[1]),
            }
        }
        op => {
            let detail = match op {
                Op::Reduce { axes, keepdims, .. } => format!(", {axes:?}, {keepdims}"),
                Op::Reshape { dims } => format!(", {dims:?}"),
                Op::Transpose { perm: Some(p) } => format!(", {p:?}"),
                Op::BroadcastTo { dims } => format!(", {dims:?}"),
                Op::ExpandDims { axes } => format!(", {axes:?}"),
                Op::Count { axes: Some(a) } => format!(", {a:?}"),
                _ => String::new(),
            };
            format!("{}({}{detail})", op.name(), args(g).join(", "))
        }
    }
}

/// Structural equality of two nodes of one graph, up to the order of
/// commutative operands.
pub fn equiv(g: &Graph, a: NodeId, b: NodeId) -> bool {
    if a == b {
        return true;
    }
    let (x, y) = (g.node(a), g.node(b));
    if x.op != y.op || x.dtype != y.dtype || x.inputs.len() != y.inputs.len() {
        return false;
    }
    let pairwise = |ins: &[NodeId]| ins.iter().zip(&y.inputs).all(|(p, q)| equiv(g, *p, *q));
    if pairwise(&x.inputs) {
        return true;
    }
    let commutative = matches!(
        x.op,
        Op::Binary(BinaryOp::Add | BinaryOp::Mul | BinaryOp::Eq | BinaryOp::Ne)
    );
    commutative && pairwise(&[x.inputs[1], x.inputs[0]])
}
