//! The parser: statements, expressions and names, by recursive descent, one
//! function per precedence level. Nodes go straight into the graph (hash-
//! consing shares repeated subexpressions); function calls are in `calls.rs`,
//! list literals in `lists.rs`.

use std::collections::{HashMap, HashSet};

use crate::graph::{DType, Graph, Literal, NodeId, Op, Origin, Shape, UnaryOp};

use super::error::{Expected, ParseError, ParseErrorKind};
use super::lexer::{lex, Spanned, Token};
use super::syntax::{function, infix_token, Level, GRAD};

/// How deeply parentheses, brackets, calls, unary minus and `**` may nest.
///
/// A limit keeps hostile input from overflowing the stack; the printer binds
/// subexpressions to names long before it.
pub const MAX_DEPTH: usize = 128;

/// How to parse: the program's dtype and the static shapes of inputs.
#[derive(Clone, Debug, PartialEq)]
pub struct ParseOptions {
    /// The dtype of every input and constant.
    pub dtype: DType,
    /// Static shapes of inputs. An input not listed takes the shape of a
    /// placeholder of that name already in the graph, if there is one of
    /// the program's dtype, else [`Shape::unknown`].
    pub input_shapes: HashMap<String, Shape>,
    /// Bound names that gradients will be taken with respect to (or stopped
    /// at): their bindings become nodes of their own, as if written
    /// `name := expr`, so that hash-consing does not merge them with equal
    /// expressions elsewhere. Names used as the second argument of `grad`
    /// in the program are added automatically. An alias (`k = h`) is `h`'s
    /// node, so a target `k` makes `h` a target.
    pub targets: HashSet<String>,
}

impl ParseOptions {
    /// Options for `dtype` with no input shapes.
    pub fn new(dtype: DType) -> Self {
        ParseOptions {
            dtype,
            input_shapes: HashMap::new(),
            targets: HashSet::new(),
        }
    }
}

impl Default for ParseOptions {
    /// `f32` (TensorFlow's default) and no input shapes.
    fn default() -> Self {
        ParseOptions::new(DType::F32)
    }
}

/// One statement of a program.
#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    /// The bound name; `None` for a bare expression.
    pub name: Option<String>,
    /// The statement's value.
    pub node: NodeId,
    /// Where the statement starts.
    pub origin: Origin,
}

/// A parsed program: its statements and the graph nodes they computed.
#[derive(Clone, Debug, PartialEq)]
pub struct Program {
    /// The statements, in order.
    pub statements: Vec<Statement>,
    /// The value of the last statement.
    pub output: NodeId,
    /// The inputs (placeholders), in order of first appearance.
    pub inputs: Vec<(String, NodeId)>,
    /// The latest binding of each bound name.
    pub bindings: HashMap<String, NodeId>,
}

/// Parses `src` into `graph`.
///
/// The graph may already hold nodes: hash-consing then reuses them, so
/// parsing a printed program into the graph it came from returns the very
/// nodes that were printed. Every node the parser creates gets its origin
/// (see [`Graph::set_origin`]); nodes made by `grad(...)` get the call's.
pub fn parse(graph: &Graph, src: &str, opts: &ParseOptions) -> Result<Program, ParseError> {
    let toks = lex(src)?;
    Parser::new(graph, src, toks, opts).program()
}

pub(super) struct Parser<'a> {
    pub(super) graph: &'a Graph,
    pub(super) src: &'a str,
    toks: Vec<Spanned>,
    pos: usize,
    opts: &'a ParseOptions,
    /// Current binding of each name bound so far.
    env: HashMap<String, NodeId>,
    /// Every name bound anywhere in the program, with the line of its first binding.
    bound: HashMap<String, u32>,
    /// Bound names whose bindings are nodes of their own.
    targets: HashSet<String>,
    inputs: Vec<(String, NodeId)>,
    /// The inputs by name.
    input_ids: HashMap<String, NodeId>,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn new(graph: &'a Graph, src: &'a str, mut toks: Vec<Spanned>, opts: &'a ParseOptions) -> Self {
        if toks.is_empty() {
            toks.push(Spanned {
                tok: Token::Eof,
                line: 1,
                column: 1,
                start: src.len(),
                end: src.len(),
            });
        }
        Parser {
            graph,
            src,
            toks,
            pos: 0,
            opts,
            env: HashMap::new(),
            bound: HashMap::new(),
            targets: opts.targets.clone(),
            inputs: Vec::new(),
            input_ids: HashMap::new(),
            depth: 0,
        }
    }

    // ---- tokens ----

    /// The token `k` places ahead (the final `Eof` when past the end).
    pub(super) fn tok(&self, k: usize) -> &Spanned {
        let last = self.toks.len() - 1;
        &self.toks[(self.pos + k).min(last)]
    }

    pub(super) fn peek(&self) -> &Token {
        &self.tok(0).tok
    }

    /// Where the token `k` places ahead starts.
    pub(super) fn origin(&self, k: usize) -> Origin {
        let t = self.tok(k);
        Origin {
            line: t.line,
            column: t.column,
        }
    }

    pub(super) fn advance(&mut self) {
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
    }

    /// The byte offset where the last consumed token ends.
    pub(super) fn prev_end(&self) -> usize {
        self.pos
            .checked_sub(1)
            .and_then(|i| self.toks.get(i))
            .map_or(0, |t| t.end)
    }

    /// An error at the current token: `expected` was wanted.
    pub(super) fn unexpected(&self, expected: Expected) -> ParseError {
        self.unexpected_at(0, expected)
    }

    /// An error at the token `k` places ahead: `expected` was wanted.
    pub(super) fn unexpected_at(&self, k: usize, expected: Expected) -> ParseError {
        ParseError::at(
            self.origin(k),
            ParseErrorKind::UnexpectedToken {
                expected,
                found: self.tok(k).tok.clone(),
            },
        )
    }

    /// Consumes `tok`, or fails.
    pub(super) fn expect(&mut self, tok: Token) -> Result<(), ParseError> {
        if *self.peek() == tok {
            self.advance();
            Ok(())
        } else {
            Err(self.unexpected(Expected::Symbol(tok.symbol().unwrap_or("?"))))
        }
    }

    /// Enters one more level of nesting, failing past [`MAX_DEPTH`].
    pub(super) fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError::at(
                self.origin(0),
                ParseErrorKind::TooDeep(MAX_DEPTH),
            ));
        }
        Ok(())
    }

    pub(super) fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    // ---- nodes ----

    /// Adds `op(inputs)`, recording `at` as its origin; a graph error is reported at `at`.
    pub(super) fn node(&self, op: Op, inputs: &[NodeId], at: Origin) -> Result<NodeId, ParseError> {
        let id = self
            .graph
            .add_node(op, inputs)
            .map_err(|e| ParseError::at(at, e.into()))?;
        self.graph.set_origin(id, at);
        Ok(id)
    }

    /// Adds a constant of the program's dtype.
    pub(super) fn constant(&self, lit: Literal, at: Origin) -> NodeId {
        let id = self.graph.add_constant(lit, self.opts.dtype);
        self.graph.set_origin(id, at);
        id
    }

    // ---- statements ----

    /// Records every name that a statement binds, so that a use before the
    /// binding statement is an error rather than a new input.
    fn prescan(&mut self) {
        let mut at_start = true;
        for pair in self.toks.windows(2) {
            if let (true, Token::Ident(name), Token::Assign | Token::BindAssign) =
                (at_start, &pair[0].tok, &pair[1].tok)
            {
                self.bound.entry(name.clone()).or_insert(pair[0].line);
            }
            at_start = matches!(pair[0].tok, Token::Newline | Token::Semicolon);
        }
        // `grad(y, name)`: name's binding must be a node of its own
        for (i, t) in self.toks.iter().enumerate() {
            if !matches!(&t.tok, Token::Ident(n) if n == GRAD)
                || !matches!(self.toks.get(i + 1).map(|t| &t.tok), Some(Token::LParen))
            {
                continue;
            }
            let mut depth = 0usize;
            for (j, u) in self.toks.iter().enumerate().skip(i + 1) {
                match &u.tok {
                    Token::LParen | Token::LBracket => depth += 1,
                    Token::RParen | Token::RBracket => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            break;
                        }
                    }
                    Token::Comma if depth == 1 => {
                        if let (Some(Token::Ident(name)), Some(Token::RParen)) = (
                            self.toks.get(j + 1).map(|t| &t.tok),
                            self.toks.get(j + 2).map(|t| &t.tok),
                        ) {
                            self.targets.insert(name.clone());
                        }
                        break;
                    }
                    _ => {}
                }
            }
        }
        // `k = h` makes k an alias of h: a target k makes h's binding a
        // node of its own (a name bound twice may get one more than it needs,
        // which changes no value)
        let aliases: Vec<(String, String)> = self
            .toks
            .windows(4)
            .enumerate()
            .filter_map(
                |(i, w)| match (&w[0].tok, &w[1].tok, &w[2].tok, &w[3].tok) {
                    (Token::Ident(k), Token::Assign, Token::Ident(h), end)
                        if matches!(end, Token::Newline | Token::Semicolon | Token::Eof)
                            && (i == 0
                                || matches!(
                                    self.toks[i - 1].tok,
                                    Token::Newline | Token::Semicolon
                                )) =>
                    {
                        Some((k.clone(), h.clone()))
                    }
                    _ => None,
                },
            )
            .collect();
        while let Some(h) = aliases
            .iter()
            .find(|(k, h)| self.targets.contains(k) && !self.targets.contains(h))
            .map(|(_, h)| h.clone())
        {
            self.targets.insert(h);
        }
    }

    fn program(mut self) -> Result<Program, ParseError> {
        self.prescan();
        let mut statements = Vec::new();
        loop {
            while matches!(self.peek(), Token::Newline | Token::Semicolon) {
                self.advance();
            }
            if *self.peek() == Token::Eof {
                break;
            }
            let origin = self.origin(0);
            let mut own_node = false;
            let name = match (&self.tok(0).tok, &self.tok(1).tok) {
                (Token::Ident(name), assign @ (Token::Assign | Token::BindAssign)) => {
                    own_node = *assign == Token::BindAssign || self.targets.contains(name);
                    if function(name).is_some() {
                        return Err(ParseError::at(
                            origin,
                            ParseErrorKind::BindFunction(name.clone()),
                        ));
                    }
                    let name = name.clone();
                    self.advance();
                    self.advance();
                    Some(name)
                }
                _ => None,
            };
            let start = self.pos;
            let mut node = self.expr()?;
            if !matches!(self.peek(), Token::Newline | Token::Semicolon | Token::Eof) {
                return Err(self.unexpected(Expected::EndOfStatement));
            }
            // `k = h` binds the same tensor, as Python binds a TensorFlow tensor
            let alias = self.pos == start + 1
                && matches!(self.toks[start].tok, Token::Ident(_))
                && matches!(self.toks[start.saturating_sub(1)].tok, Token::Assign);
            if let (true, false, Some(name)) = (own_node, alias, &name) {
                node = self.node(Op::Bind { name: name.clone() }, &[node], origin)?;
            }
            if let Some(name) = &name {
                self.env.insert(name.clone(), node);
            }
            statements.push(Statement { name, node, origin });
        }
        let output = match statements.last() {
            Some(s) => s.node,
            None => return Err(ParseError::at(self.origin(0), ParseErrorKind::EmptyProgram)),
        };
        Ok(Program {
            statements,
            output,
            inputs: self.inputs,
            bindings: self.env,
        })
    }

    // ---- expressions, loosest first ----

    /// A whole expression.
    pub(super) fn expr(&mut self) -> Result<NodeId, ParseError> {
        self.binary(Level::Compare)
    }

    /// A left-associative chain of the binary operators of `level`.
    fn binary(&mut self, level: Level) -> Result<NodeId, ParseError> {
        let mut lhs = self.operand(level)?;
        while let Some((l, op)) = infix_token(self.peek()) {
            if l != level {
                break;
            }
            let at = self.origin(0);
            self.advance();
            let rhs = self.operand(level)?;
            lhs = self.node(op, &[lhs, rhs], at)?;
        }
        Ok(lhs)
    }

    /// An operand of the binary operators of `level`: the next tighter level.
    fn operand(&mut self, level: Level) -> Result<NodeId, ParseError> {
        match level {
            Level::Top | Level::Compare => self.binary(Level::Sum),
            Level::Sum => self.binary(Level::Product),
            Level::Product | Level::Unary | Level::Power | Level::Atom => self.unary(),
        }
    }

    /// `-x`, `--x`, and `-3` (a negative constant: unary minus directly on a
    /// number literal that is not the base of `**`).
    fn unary(&mut self) -> Result<NodeId, ParseError> {
        if *self.peek() != Token::Minus {
            return self.power();
        }
        let at = self.origin(0);
        if let (Token::Number(text), false) = (&self.tok(1).tok, self.tok(2).tok == Token::StarStar)
        {
            let value = -self.number_value(text, self.origin(1))?;
            self.advance();
            self.advance();
            return Ok(self.constant(Literal::scalar(value), at));
        }
        self.enter()?;
        self.advance();
        let x = self.unary()?;
        self.leave();
        self.node(Op::Unary(UnaryOp::Neg), &[x], at)
    }

    /// `base ** exponent`: right-associative, and the exponent may start with
    /// a minus (`2 ** -1`).
    fn power(&mut self) -> Result<NodeId, ParseError> {
        let base = self.primary()?;
        if *self.peek() != Token::StarStar {
            return Ok(base);
        }
        let at = self.origin(0);
        let Some((_, op)) = infix_token(self.peek()) else {
            return Err(self.unexpected(Expected::Expression));
        };
        self.enter()?;
        self.advance();
        let exponent = self.unary()?;
        self.leave();
        self.node(op, &[base, exponent], at)
    }

    /// A primary expression and the `[...]` indexing that follows it.
    fn primary(&mut self) -> Result<NodeId, ParseError> {
        let x = self.atom()?;
        self.postfix(x)
    }

    /// A number, a name, a call, a list literal or a parenthesized expression.
    fn atom(&mut self) -> Result<NodeId, ParseError> {
        let at = self.origin(0);
        match self.peek().clone() {
            Token::Number(text) => {
                let value = self.number_value(&text, at)?;
                self.advance();
                Ok(self.constant(Literal::scalar(value), at))
            }
            Token::Ident(name) => {
                self.advance();
                if *self.peek() == Token::LParen {
                    self.call(name, at)
                } else {
                    self.name_value(&name, at)
                }
            }
            Token::LParen => {
                self.enter()?;
                self.advance();
                let e = self.expr()?;
                self.expect(Token::RParen)?;
                self.leave();
                Ok(e)
            }
            Token::LBracket => self.list_literal(),
            _ => Err(self.unexpected(Expected::Expression)),
        }
    }

    /// The value of a number literal's text, as `f64`.
    pub(super) fn number_value(&self, text: &str, at: Origin) -> Result<f64, ParseError> {
        text.parse::<f64>()
            .map_err(|_| ParseError::at(at, ParseErrorKind::MalformedNumber(text.to_string())))
    }

    /// The node a name stands for: its current binding, or the input of that
    /// name (created at its first use).
    pub(super) fn name_value(&mut self, name: &str, at: Origin) -> Result<NodeId, ParseError> {
        if function(name).is_some() {
            return Err(ParseError::at(
                at,
                ParseErrorKind::FunctionAsValue(name.to_string()),
            ));
        }
        if let Some(&id) = self.env.get(name) {
            return Ok(id);
        }
        if let Some(&line) = self.bound.get(name) {
            return Err(ParseError::at(
                at,
                ParseErrorKind::UseBeforeBind {
                    name: name.to_string(),
                    bound_at: line,
                },
            ));
        }
        if let Some(&id) = self.input_ids.get(name) {
            return Ok(id);
        }
        let dtype = self.opts.dtype;
        let shape = match self.opts.input_shapes.get(name) {
            Some(s) => s.clone(),
            None => self
                .graph
                .placeholder_named(name)
                .and_then(|id| self.graph.get(id))
                .filter(|n| n.dtype == dtype)
                .map_or_else(Shape::unknown, |n| n.shape),
        };
        let id = self
            .graph
            .add_placeholder(name, dtype, shape)
            .map_err(|e| ParseError::at(at, e.into()))?;
        self.graph.set_origin(id, at);
        self.inputs.push((name.to_string(), id));
        self.input_ids.insert(name.to_string(), id);
        Ok(id)
    }
}
