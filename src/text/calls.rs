//! Function calls: arguments parsed by the function's signature, then the
//! node built; `grad(y, x)` and `fill(value, [dims])` are here too.

use crate::autodiff::{explain_unconnected, gradients, GradientOptions, Unconnected};
use crate::graph::{
    checked_product, normalize_axes, BinaryOp, GraphError, Literal, NodeId, Op, Origin, Padding,
    UnaryOp, Window,
};

use super::error::{Blocker, Expected, NoGradientReason, ParseError, ParseErrorKind};
use super::lexer::Token;
use super::parser::Parser;
use super::structure::RawItem;
use super::syntax::{function, Arg, Func, Sugar, ALL_AXES};

/// The most elements a `fill(...)` constant may have.
pub const FILL_LIMIT: usize = 1 << 24;

/// One parsed argument: its value, where it starts, and its source text's byte range.
struct ArgValue {
    value: Value,
    at: Origin,
    span: (usize, usize),
}

enum Value {
    Node(NodeId),
    /// `None` means all axes.
    Axes(Option<Vec<i64>>),
    Ints(Vec<i64>),
    Sizes(Vec<usize>),
    Keepdims(bool),
    Number(f64),
    Nodes(Vec<NodeId>),
    Items(Vec<RawItem>),
    Widths(Vec<(usize, usize)>),
    Pair([usize; 2]),
    Padding(Padding),
}

/// The tensor arguments of a call, in order.
fn tensor_args(args: &[ArgValue]) -> Vec<NodeId> {
    args.iter()
        .flat_map(|a| match &a.value {
            Value::Node(id) => vec![*id],
            Value::Nodes(ids) => ids.clone(),
            _ => Vec::new(),
        })
        .collect()
}

impl Parser<'_> {
    /// A call of the function `name` written at `at`; the current token is `(`.
    pub(super) fn call(&mut self, name: String, at: Origin) -> Result<NodeId, ParseError> {
        let Some(func) = function(&name) else {
            return Err(ParseError::at(at, ParseErrorKind::UnknownFunction(name)));
        };
        let (sig, min) = func.signature();
        let count_error = |got: usize| {
            ParseError::at(
                at,
                ParseErrorKind::ArgCount {
                    function: name.clone(),
                    min,
                    max: sig.len(),
                    got,
                },
            )
        };
        self.enter()?;
        self.expect(Token::LParen)?;
        let mut args = Vec::new();
        if *self.peek() == Token::RParen {
            self.advance();
        } else {
            loop {
                let Some(&kind) = sig.get(args.len()) else {
                    if *self.peek() == Token::RParen {
                        // a trailing comma
                        return Err(self.unexpected(Expected::Expression));
                    }
                    return Err(count_error(args.len() + self.skip_args()));
                };
                args.push(self.arg(kind, &name)?);
                match self.peek() {
                    Token::Comma => self.advance(),
                    Token::RParen => {
                        self.advance();
                        break;
                    }
                    _ => return Err(self.unexpected(Expected::ArgSeparator)),
                }
            }
        }
        self.leave();
        if args.len() < min {
            return Err(count_error(args.len()));
        }
        match func {
            // the signatures guarantee the argument kinds matched below
            Func::Grad => match (args.first(), args.get(1)) {
                (Some(y), Some(x)) => self.grad(y, x, at),
                _ => Err(count_error(args.len())),
            },
            Func::Fill => match args.first().zip(args.get(1)) {
                Some((
                    ArgValue {
                        value: Value::Number(v),
                        ..
                    },
                    ArgValue {
                        value: Value::Sizes(dims),
                        at: dims_at,
                        ..
                    },
                )) => self.fill(*v, dims, *dims_at, at),
                _ => Err(count_error(args.len())),
            },
            Func::Transform(kind) => {
                let nodes = tensor_args(&args);
                match (&nodes[..], args.first(), args.get(1)) {
                    ([y, x, rest @ ..], Some(ya), Some(xa)) => {
                        let text = |a: &ArgValue| {
                            self.src.get(a.span.0..a.span.1).unwrap_or("").to_string()
                        };
                        let texts = (text(ya), text(xa));
                        self.transform(kind, (*y, *x, rest.first().copied()), texts, at)
                    }
                    _ => Err(count_error(args.len())),
                }
            }
            Func::Unary(u) => self.build(Op::Unary(u), &args, at),
            Func::Binary(b) => self.build(Op::Binary(b), &args, at),
            Func::Reduce(op) => {
                let template = Op::Reduce {
                    op,
                    axes: None,
                    keepdims: false,
                };
                self.build(template, &args, at)
            }
            Func::Op(op) => self.build(op, &args, at),
            Func::Sugar(sugar) => {
                let nodes = tensor_args(&args);
                let number = args.iter().find_map(|a| match a.value {
                    Value::Number(v) => Some(v),
                    _ => None,
                });
                match (sugar, &nodes[..]) {
                    (Sugar::SquaredDifference, &[a, b]) => {
                        let d = self.node(Op::Binary(BinaryOp::Sub), &[a, b], at)?;
                        self.node(Op::Unary(UnaryOp::Square), &[d], at)
                    }
                    (Sugar::LeakyRelu, &[x]) => self.leaky_relu(x, number, at),
                    (Sugar::Squeeze, &[x]) => {
                        let axes =
                            self.axes("squeeze", &nodes, args.get(1).map(|a| (&a.value, a.at)), 0)?;
                        self.squeeze(x, axes, at)
                    }
                    (Sugar::SigmoidCrossEntropy, &[labels, logits]) => {
                        self.sigmoid_cross_entropy(labels, logits, at)
                    }
                    (Sugar::Stack, xs) if !xs.is_empty() => {
                        let axis = match args.get(1) {
                            Some(ArgValue {
                                value: Value::Ints(a),
                                at,
                                ..
                            }) => a.first().map(|&v| (v, *at)),
                            _ => None,
                        };
                        self.stack(xs, axis, at)
                    }
                    _ => Err(count_error(args.len())),
                }
            }
        }
    }

    /// TensorFlow's `sigmoid_cross_entropy_with_logits`, op for op; labels
    /// and logits of one shape.
    fn sigmoid_cross_entropy(
        &mut self,
        labels: NodeId,
        z: NodeId,
        at: Origin,
    ) -> Result<NodeId, ParseError> {
        let (ls, zs) = (self.graph.node(labels).shape, self.graph.node(z).shape);
        if let (Some(a), Some(b)) = (ls.concrete(), zs.concrete()) {
            if a != b {
                let e = GraphError::ShapesDiffer {
                    op: "sigmoid_cross_entropy",
                    lhs: ls,
                    rhs: zs,
                };
                return Err(ParseError::at(at, e.into()));
            }
        }
        let b =
            |s: &mut Self, op: BinaryOp, x: NodeId, y: NodeId| s.node(Op::Binary(op), &[x, y], at);
        let zero = self.constant(Literal::scalar(0.0), at);
        let cond = b(self, BinaryOp::Ge, z, zero)?;
        let relu_z = self.node(Op::Where, &[cond, z, zero], at)?;
        let neg_z = self.node(Op::Unary(UnaryOp::Neg), &[z], at)?;
        let neg_abs = self.node(Op::Where, &[cond, neg_z, z], at)?;
        let zl = b(self, BinaryOp::Mul, z, labels)?;
        let left = b(self, BinaryOp::Sub, relu_z, zl)?;
        let e = self.node(Op::Unary(UnaryOp::Exp), &[neg_abs], at)?;
        let right = self.node(Op::Unary(UnaryOp::Log1p), &[e], at)?;
        b(self, BinaryOp::Add, left, right)
    }

    /// `reshape(x, dims)`, `dims` `x`'s dimensions without the squeezed
    /// size-1 axes (every size-1 axis when `axes` is `None`).
    fn squeeze(
        &mut self,
        x: NodeId,
        axes: Option<Vec<usize>>,
        at: Origin,
    ) -> Result<NodeId, ParseError> {
        let err = |e: GraphError| ParseError::at(at, e.into());
        let dims = self.graph.node(x).shape.concrete().ok_or_else(|| {
            err(GraphError::UnknownSize {
                op: "squeeze",
                detail: "it needs the operand's shape",
            })
        })?;
        let squeezed = |a: usize| axes.as_ref().is_none_or(|ax| ax.contains(&a));
        if let Some(&axis) = axes.iter().flatten().find(|&&a| dims[a] != 1) {
            return Err(err(GraphError::Squeeze {
                axis,
                size: dims[axis],
            }));
        }
        let kept: Vec<i64> = dims
            .iter()
            .enumerate()
            .filter(|&(a, &d)| !(d == 1 && squeezed(a)))
            .map(|(_, &d)| d as i64)
            .collect();
        self.node(Op::Reshape { dims: kept }, &[x], at)
    }

    /// `where(x > 0, x, alpha * x)`.
    fn leaky_relu(
        &mut self,
        x: NodeId,
        alpha: Option<f64>,
        at: Origin,
    ) -> Result<NodeId, ParseError> {
        // TensorFlow's alpha is a 32-bit float attribute, in f64 too
        let alpha = alpha.unwrap_or(0.2) as f32 as f64;
        let zero = self.constant(Literal::scalar(0.0), at);
        let alpha = self.constant(Literal::scalar(alpha), at);
        let pos = self.node(Op::Binary(BinaryOp::Gt), &[x, zero], at)?;
        let scaled = self.node(Op::Binary(BinaryOp::Mul), &[alpha, x], at)?;
        self.node(Op::Where, &[pos, x, scaled], at)
    }

    /// Skips the surplus arguments of a call, returning how many there are.
    fn skip_args(&mut self) -> usize {
        let (mut count, mut depth) = (1, 0usize);
        loop {
            match self.peek() {
                Token::LParen | Token::LBracket => depth += 1,
                Token::RParen | Token::RBracket if depth > 0 => depth -= 1,
                Token::Comma if depth == 0 => count += 1,
                Token::RParen | Token::Eof | Token::Newline | Token::Semicolon => return count,
                _ => {}
            }
            self.advance();
        }
    }

    fn arg(&mut self, kind: Arg, function: &str) -> Result<ArgValue, ParseError> {
        let at = self.origin(0);
        let start = self.tok(0).start;
        let value = match kind {
            Arg::Expr => Value::Node(self.expr()?),
            Arg::Name => Value::Node(self.wrt_name()?),
            Arg::Axes => match self.peek() {
                Token::Ident(w) if w == ALL_AXES => {
                    self.advance();
                    Value::Axes(None)
                }
                Token::LBracket => Value::Axes(Some(self.ints()?.0)),
                Token::Minus | Token::Number(_) => {
                    Value::Axes(Some(vec![self.integer(Expected::Axes)?.0]))
                }
                _ => return Err(self.unexpected(Expected::Axes)),
            },
            Arg::AxisList => match self.peek() {
                Token::LBracket => Value::Ints(self.ints()?.0),
                _ => Value::Ints(vec![self.integer(Expected::Axes)?.0]),
            },
            Arg::Keepdims => match self.integer(Expected::Keepdims)? {
                (1, _) => Value::Keepdims(true),
                (0, _) => Value::Keepdims(false),
                (v, at) => return Err(ParseError::at(at, ParseErrorKind::BadKeepdims(v))),
            },
            Arg::Dims | Arg::Perm => Value::Sizes(self.sizes(function)?),
            Arg::ReshapeDims => Value::Ints(self.reshape_dims()?),
            Arg::Number => Value::Number(self.signed_number(Expected::Number)?),
            Arg::Axis => Value::Ints(vec![self.integer(Expected::Axes)?.0]),
            Arg::ExprList => Value::Nodes(self.expr_list()?),
            Arg::Pair => Value::Pair(self.pair(function)?),
            Arg::Padding => match self.peek().clone() {
                Token::Str(s) => match Padding::from_name(&s) {
                    Some(p) => {
                        self.advance();
                        Value::Padding(p)
                    }
                    None => return Err(ParseError::at(at, ParseErrorKind::BadPadding(s))),
                },
                _ => return Err(self.unexpected(Expected::Padding)),
            },
            Arg::SliceItems => Value::Items(self.slice_items()?),
            Arg::PadWidths => Value::Widths(self.pad_widths()?),
            Arg::Size => match self.integer(Expected::Size)? {
                (v, at) if v < 0 => {
                    let kind = ParseErrorKind::NegativeEntry {
                        function: function.to_string(),
                        value: v,
                    };
                    return Err(ParseError::at(at, kind));
                }
                (v, _) => Value::Sizes(vec![v as usize]),
            },
            Arg::Flag => match self.integer(Expected::Keepdims)? {
                (1, _) => Value::Keepdims(true),
                (0, _) => Value::Keepdims(false),
                (value, at) => {
                    let kind = ParseErrorKind::BadFlag {
                        function: function.to_string(),
                        value,
                    };
                    return Err(ParseError::at(at, kind));
                }
            },
        };
        Ok(ArgValue {
            value,
            at,
            span: (start, self.prev_end().max(start)),
        })
    }

    /// The `x` of `grad(y, x)`: a plain name.
    fn wrt_name(&mut self) -> Result<NodeId, ParseError> {
        let at = self.origin(0);
        match (&self.tok(0).tok, &self.tok(1).tok) {
            (Token::Ident(name), Token::Comma | Token::RParen) => {
                let name = name.clone();
                self.advance();
                self.name_value(&name, at)
            }
            (found, _) => Err(ParseError::at(
                at,
                ParseErrorKind::GradWrtNotName(found.clone()),
            )),
        }
    }

    /// A positive integer for both axes, or `[height, width]`.
    fn pair(&mut self, function: &str) -> Result<[usize; 2], ParseError> {
        let at = self.origin(0);
        let values = if *self.peek() == Token::LBracket {
            self.sizes(function)?
        } else {
            let (v, at) = self.integer(Expected::Pair)?;
            let v = usize::try_from(v).map_err(|_| {
                let kind = ParseErrorKind::NegativeEntry {
                    function: function.to_string(),
                    value: v,
                };
                ParseError::at(at, kind)
            })?;
            vec![v, v]
        };
        match values[..] {
            [h, w] if h > 0 && w > 0 => Ok([h, w]),
            _ => Err(ParseError::at(
                at,
                ParseErrorKind::BadPair(function.to_string()),
            )),
        }
    }

    /// A list of non-negative integers.
    fn sizes(&mut self, function: &str) -> Result<Vec<usize>, ParseError> {
        let (ints, origins) = self.ints()?;
        ints.iter()
            .zip(origins)
            .map(|(&v, at)| {
                usize::try_from(v).map_err(|_| {
                    ParseError::at(
                        at,
                        ParseErrorKind::NegativeEntry {
                            function: function.to_string(),
                            value: v,
                        },
                    )
                })
            })
            .collect()
    }

    /// The dimensions of `reshape`: sizes, one of which may be -1.
    fn reshape_dims(&mut self) -> Result<Vec<i64>, ParseError> {
        let (ints, origins) = self.ints()?;
        let mut wildcard = false;
        for (&v, at) in ints.iter().zip(origins) {
            if v < -1 || (v == -1 && wildcard) {
                return Err(ParseError::at(at, ParseErrorKind::BadReshapeDim(v)));
            }
            wildcard |= v == -1;
        }
        Ok(ints)
    }

    /// Builds the node of a call from its parsed arguments: `template` is the
    /// operation with its parameters (axes, dims, permutation) still to fill in.
    fn build(&mut self, template: Op, args: &[ArgValue], at: Origin) -> Result<NodeId, ParseError> {
        let inputs = tensor_args(args);
        let param = |i: usize| args.get(i).map(|a| (&a.value, a.at));
        let pair = |p: Option<(&Value, Origin)>| match p {
            Some((Value::Pair(v), _)) => Some(*v),
            _ => None,
        };
        let padding = |p: Option<(&Value, Origin)>| match p {
            Some((Value::Padding(v), _)) => *v,
            _ => Padding::Valid,
        };
        // strides default to the window's size, as TensorFlow's pooling
        let window = |k, s, p| {
            let ksize = pair(k).unwrap_or([1, 1]);
            Window {
                ksize,
                strides: pair(s).unwrap_or(ksize),
                padding: padding(p),
            }
        };
        let op = match template {
            Op::Reduce { op, .. } => Op::Reduce {
                op,
                axes: self.axes(op.name(), &inputs, param(1), 0)?,
                keepdims: matches!(param(2), Some((Value::Keepdims(true), _))),
            },
            Op::Reshape { .. } => Op::Reshape {
                dims: match param(1) {
                    Some((Value::Ints(d), _)) => d.clone(),
                    _ => Vec::new(),
                },
            },
            Op::Transpose { .. } => Op::Transpose {
                perm: match param(1) {
                    Some((Value::Sizes(p), _)) => Some(p.clone()),
                    _ => None,
                },
            },
            Op::BroadcastTo { .. } => Op::BroadcastTo {
                dims: match param(1) {
                    Some((Value::Sizes(d), _)) => d.clone(),
                    _ => Vec::new(),
                },
            },
            Op::ExpandDims { .. } => {
                let added = match param(1) {
                    Some((Value::Ints(a), _)) => a.len(),
                    _ => 0,
                };
                let name = template.name();
                Op::ExpandDims {
                    axes: self
                        .axes(name, &inputs, param(1), added)?
                        .unwrap_or_default(),
                }
            }
            Op::Softmax { axis } => Op::Softmax {
                axis: match param(1) {
                    Some((Value::Ints(a), _)) => a.first().copied().unwrap_or(axis),
                    _ => axis,
                },
            },
            Op::LogSoftmax { axis } => Op::LogSoftmax {
                axis: match param(1) {
                    Some((Value::Ints(a), _)) => a.first().copied().unwrap_or(axis),
                    _ => axis,
                },
            },
            Op::Reverse { .. } => Op::Reverse {
                axes: self
                    .axes(template.name(), &inputs, param(1), 0)?
                    .unwrap_or_default(),
            },
            Op::Tile { .. } => Op::Tile {
                multiples: match param(1) {
                    Some((Value::Sizes(m), _)) => m.clone(),
                    _ => Vec::new(),
                },
            },
            Op::Cumsum { .. } => Op::Cumsum {
                axis: self.one_axis(template.name(), &inputs, param(1))?,
                exclusive: matches!(param(2), Some((Value::Keepdims(true), _))),
                reverse: matches!(param(3), Some((Value::Keepdims(true), _))),
            },
            Op::Cumprod { .. } => Op::Cumprod {
                axis: self.one_axis(template.name(), &inputs, param(1))?,
                exclusive: matches!(param(2), Some((Value::Keepdims(true), _))),
                reverse: matches!(param(3), Some((Value::Keepdims(true), _))),
            },
            Op::ArgExtreme { min, .. } => Op::ArgExtreme {
                axis: self.one_axis(template.name(), &inputs, param(1))?,
                min,
            },
            Op::Count { .. } => Op::Count {
                axes: self.axes(template.name(), &inputs, param(1), 0)?,
            },
            Op::Conv2d { .. } => Op::Conv2d {
                strides: pair(param(2)).unwrap_or([1, 1]),
                padding: padding(param(3)),
            },
            Op::Conv2dBackpropInput { .. } => Op::Conv2dBackpropInput {
                strides: pair(param(3)).unwrap_or([1, 1]),
                padding: padding(param(4)),
            },
            Op::Conv2dBackpropFilter { .. } => Op::Conv2dBackpropFilter {
                strides: pair(param(3)).unwrap_or([1, 1]),
                padding: padding(param(4)),
            },
            Op::MaxPool2d { .. } => Op::MaxPool2d {
                window: window(param(1), param(2), param(3)),
            },
            Op::AvgPool2d { .. } => Op::AvgPool2d {
                window: window(param(1), param(2), param(3)),
            },
            Op::MaxPoolGrad { .. } => Op::MaxPoolGrad {
                window: window(param(2), param(3), param(4)),
            },
            Op::MaxPoolGradGrad { .. } => Op::MaxPoolGradGrad {
                window: window(param(2), param(3), param(4)),
            },
            Op::AvgPoolGrad { .. } => Op::AvgPoolGrad {
                window: window(param(2), param(3), param(4)),
            },
            Op::SliceGrad { .. } => {
                let raw = match param(2) {
                    Some((Value::Items(r), _)) => r.clone(),
                    _ => Vec::new(),
                };
                let like = inputs.get(1).copied().unwrap_or(NodeId(0));
                Op::SliceGrad {
                    items: self.expand_ellipsis(&raw, like, at)?,
                }
            }
            Op::Pad { .. } => Op::Pad {
                widths: match param(1) {
                    Some((Value::Widths(w), _)) => w.clone(),
                    _ => Vec::new(),
                },
            },
            Op::Concat { .. } => Op::Concat {
                axis: self.one_axis(template.name(), &inputs, param(1))?,
            },
            Op::Gather { .. } => Op::Gather {
                axis: match param(2) {
                    Some(p) => self.one_axis(template.name(), &inputs, Some(p))?,
                    None => 0,
                },
            },
            Op::GatherGrad { .. } => Op::GatherGrad {
                axis: self.one_axis(template.name(), inputs.get(2..).unwrap_or(&[]), param(3))?,
            },
            Op::OneHot { .. } => Op::OneHot {
                depth: match param(1) {
                    Some((Value::Sizes(d), _)) => d.first().copied().unwrap_or(0),
                    _ => 0,
                },
            },
            Op::LabelOneHot { .. } => Op::LabelOneHot {
                depth: match param(1) {
                    Some((Value::Sizes(d), _)) => d.first().copied().unwrap_or(0),
                    _ => 0,
                },
            },
            other => other,
        };
        self.node(op, &inputs, at)
    }

    /// Normalizes an axis argument against the rank of the first input plus
    /// `added` (the new axes of `expand_dims`); no argument means all axes.
    fn axes(
        &self,
        op: &'static str,
        inputs: &[NodeId],
        arg: Option<(&Value, Origin)>,
        added: usize,
    ) -> Result<Option<Vec<usize>>, ParseError> {
        let raw = match arg {
            Some((Value::Axes(Some(a)) | Value::Ints(a), at)) => (a, at),
            _ => return Ok(None),
        };
        let rank = inputs
            .first()
            .and_then(|&x| self.graph.get(x))
            .and_then(|n| n.shape.rank())
            .map(|r| r + added);
        normalize_axes(op, raw.0, rank)
            .map(Some)
            .map_err(|e| ParseError::at(raw.1, e.into()))
    }

    /// The one axis of `cumsum`, `argmax`, ...: it needs the operand's rank
    /// where it is negative.
    fn one_axis(
        &self,
        op: &'static str,
        inputs: &[NodeId],
        arg: Option<(&Value, Origin)>,
    ) -> Result<usize, ParseError> {
        let at = arg.map_or(Origin { line: 1, column: 1 }, |(_, at)| at);
        match self.axes(op, inputs, arg, 0)?.as_deref() {
            Some(&[a]) => Ok(a),
            _ => Err(ParseError::at(
                at,
                ParseErrorKind::UnexpectedToken {
                    expected: Expected::Axes,
                    found: Token::Eof,
                },
            )),
        }
    }

    /// `grad(y, x)`: the symbolic gradient of `sum(y)` with respect to `x`.
    fn grad(&mut self, y: &ArgValue, x: &ArgValue, at: Origin) -> Result<NodeId, ParseError> {
        let (Value::Node(yid), Value::Node(xid)) = (&y.value, &x.value) else {
            return Err(ParseError::at(
                x.at,
                ParseErrorKind::GradWrtNotName(Token::Eof),
            ));
        };
        let (yid, xid) = (*yid, *xid);
        let before = self.graph.len();
        let result = gradients(self.graph, &[yid], &[xid], &GradientOptions::default());
        // the gradient's nodes come from this call
        for i in before..self.graph.len() {
            if let Ok(i) = u32::try_from(i) {
                self.graph.set_origin(NodeId(i), at);
            }
        }
        let text = |a: &ArgValue| self.src.get(a.span.0..a.span.1).unwrap_or("").to_string();
        match result {
            Ok(g) => match g.first().copied().flatten() {
                Some(g) => Ok(g),
                None => Err(ParseError::at(
                    at,
                    ParseErrorKind::NoGradient {
                        y: text(y),
                        x: text(x),
                        reason: self.why_unconnected(yid, xid),
                    },
                )),
            },
            Err(e) => Err(ParseError::at(at, e.into())),
        }
    }

    pub(super) fn why_unconnected(&self, y: NodeId, x: NodeId) -> NoGradientReason {
        let blockers = |ids: Vec<NodeId>| {
            ids.into_iter()
                .filter_map(|id| {
                    let op = self.graph.get(id)?.op.name();
                    Some(Blocker {
                        op,
                        origin: self.graph.origin(id),
                    })
                })
                .collect()
        };
        match explain_unconnected(self.graph, &[y], x, &[]) {
            Unconnected::Connected | Unconnected::NoPath => NoGradientReason::NoPath,
            Unconnected::Blocked {
                no_gradient,
                stopped,
            } => NoGradientReason::Blocked {
                no_gradient: blockers(no_gradient),
                stopped: blockers(stopped),
            },
        }
    }

    /// `fill(value, [dims])`: a constant of `dims` holding `value` everywhere.
    fn fill(
        &mut self,
        v: f64,
        dims: &[usize],
        dims_at: Origin,
        at: Origin,
    ) -> Result<NodeId, ParseError> {
        let too_large = || {
            ParseError::at(
                dims_at,
                ParseErrorKind::ConstantTooLarge {
                    dims: dims.to_vec(),
                    limit: FILL_LIMIT,
                },
            )
        };
        let n = checked_product(dims)
            .filter(|&n| n <= FILL_LIMIT)
            .ok_or_else(too_large)?;
        let lit = Literal::new(dims.to_vec(), vec![v; n]).ok_or_else(too_large)?;
        Ok(self.constant(lit, at))
    }
}
