//! The syntax of restructuring: NumPy indexing `x[...]` after any primary
//! expression, the bracketed slice items of `slice_grad`, lists of
//! expressions (`concat`, `stack`) and `pad`'s widths.

use crate::graph::{GraphError, NodeId, Op, Origin, SliceItem};

use super::error::{Expected, ParseError, ParseErrorKind};
use super::lexer::Token;
use super::parser::Parser;

/// A slice item as written: `None` is `...`.
pub(super) type RawItem = Option<SliceItem>;

impl Parser<'_> {
    /// Applies every `[...]` that follows `x` (`x[0][1:]`).
    pub(super) fn postfix(&mut self, mut x: NodeId) -> Result<NodeId, ParseError> {
        while *self.peek() == Token::LBracket {
            let at = self.origin(0);
            let raw = self.slice_items()?;
            let items = self.expand_ellipsis(&raw, x, at)?;
            x = self.node(Op::Slice { items }, &[x], at)?;
        }
        Ok(x)
    }

    /// `[item, ...]`: at least one item, at most one `...`.
    pub(super) fn slice_items(&mut self) -> Result<Vec<RawItem>, ParseError> {
        self.enter()?;
        self.expect(Token::LBracket)?;
        let mut items = Vec::new();
        loop {
            let at = self.origin(0);
            let item = self.slice_item()?;
            if item.is_none() && items.iter().any(Option::is_none) {
                return Err(ParseError::at(at, ParseErrorKind::RepeatedEllipsis));
            }
            items.push(item);
            match self.peek() {
                Token::Comma => self.advance(),
                Token::RBracket => {
                    self.advance();
                    self.leave();
                    return Ok(items);
                }
                _ => return Err(self.unexpected(Expected::ListSeparator)),
            }
        }
    }

    fn slice_item(&mut self) -> Result<RawItem, ParseError> {
        if *self.peek() == Token::Ellipsis {
            self.advance();
            return Ok(None);
        }
        let bound = |p: &mut Self| -> Result<Option<i64>, ParseError> {
            match p.peek() {
                Token::Colon | Token::Comma | Token::RBracket => Ok(None),
                _ => Ok(Some(p.integer(Expected::SliceItem)?.0)),
            }
        };
        let start = bound(self)?;
        if *self.peek() != Token::Colon {
            return match start {
                Some(i) => Ok(Some(SliceItem::Index(i))),
                None => Err(self.unexpected(Expected::SliceItem)),
            };
        }
        self.advance();
        let stop = bound(self)?;
        let mut step = 1;
        if *self.peek() == Token::Colon {
            self.advance();
            let at = self.origin(0);
            if let Some(s) = bound(self)? {
                if s == 0 {
                    return Err(ParseError::at(at, ParseErrorKind::ZeroStep));
                }
                step = s;
            }
        }
        Ok(Some(SliceItem::Range { start, stop, step }))
    }

    /// The items with `...` replaced by whole axes, which needs `x`'s rank.
    pub(super) fn expand_ellipsis(
        &self,
        raw: &[RawItem],
        x: NodeId,
        at: Origin,
    ) -> Result<Vec<SliceItem>, ParseError> {
        let Some(pos) = raw.iter().position(Option::is_none) else {
            return Ok(raw.iter().flatten().copied().collect());
        };
        let rank = self.graph.node(x).shape.rank().ok_or_else(|| {
            let e = GraphError::UnknownRank {
                op: "slice",
                detail: "`...` needs the operand's rank",
            };
            ParseError::at(at, e.into())
        })?;
        let named = raw.len() - 1;
        if named > rank {
            let e = GraphError::SliceItems { items: named, rank };
            return Err(ParseError::at(at, e.into()));
        }
        let mut items: Vec<SliceItem> = raw[..pos].iter().flatten().copied().collect();
        items.extend(std::iter::repeat_n(SliceItem::ALL, rank - named));
        items.extend(raw[pos + 1..].iter().flatten().copied());
        Ok(items)
    }

    /// `[a, b, ...]`: one or more expressions.
    pub(super) fn expr_list(&mut self) -> Result<Vec<NodeId>, ParseError> {
        if *self.peek() != Token::LBracket {
            return Err(self.unexpected(Expected::ExpressionList));
        }
        self.enter()?;
        self.advance();
        let mut xs = Vec::new();
        loop {
            xs.push(self.expr()?);
            match self.peek() {
                Token::Comma => self.advance(),
                Token::RBracket => {
                    self.advance();
                    self.leave();
                    return Ok(xs);
                }
                _ => return Err(self.unexpected(Expected::ListSeparator)),
            }
        }
    }

    /// `[[before, after], ...]`, non-negative widths.
    pub(super) fn pad_widths(&mut self) -> Result<Vec<(usize, usize)>, ParseError> {
        if *self.peek() != Token::LBracket {
            return Err(self.unexpected(Expected::PadWidths));
        }
        self.advance();
        let mut widths = Vec::new();
        if *self.peek() == Token::RBracket {
            self.advance();
            return Ok(widths);
        }
        loop {
            let (pair, origins) = self.ints()?;
            let at = origins.first().copied().unwrap_or(self.origin(0));
            let (&[b, a], &[bat, aat]) = (&pair[..], &origins[..]) else {
                return Err(ParseError::at(at, ParseErrorKind::PadPair(pair.len())));
            };
            let width = |v: i64, at: Origin| {
                usize::try_from(v).map_err(|_| {
                    let kind = ParseErrorKind::NegativeEntry {
                        function: "pad".to_string(),
                        value: v,
                    };
                    ParseError::at(at, kind)
                })
            };
            widths.push((width(b, bat)?, width(a, aat)?));
            match self.peek() {
                Token::Comma => self.advance(),
                Token::RBracket => {
                    self.advance();
                    return Ok(widths);
                }
                _ => return Err(self.unexpected(Expected::ListSeparator)),
            }
        }
    }

    /// `stack(xs, axis)`: each operand with a new axis there, concatenated along it.
    pub(super) fn stack(
        &mut self,
        xs: &[NodeId],
        axis: Option<(i64, Origin)>,
        at: Origin,
    ) -> Result<NodeId, ParseError> {
        let rank = xs.first().and_then(|&x| self.graph.node(x).shape.rank());
        let (axis, axis_at) = axis.unwrap_or((0, at));
        let axis = crate::graph::normalize_axes("stack", &[axis], rank.map(|r| r + 1))
            .map_err(|e| ParseError::at(axis_at, e.into()))?[0];
        let mut parts = Vec::with_capacity(xs.len());
        for &x in xs {
            if let (Some(a), Some(b)) = (
                self.graph.node(xs[0]).shape.concrete(),
                self.graph.node(x).shape.concrete(),
            ) {
                if a != b {
                    let e = GraphError::ShapesDiffer {
                        op: "stack",
                        lhs: self.graph.node(xs[0]).shape,
                        rhs: self.graph.node(x).shape,
                    };
                    return Err(ParseError::at(at, e.into()));
                }
            }
            parts.push(self.node(Op::ExpandDims { axes: vec![axis] }, &[x], at)?);
        }
        self.node(Op::Concat { axis }, &parts, at)
    }
}
