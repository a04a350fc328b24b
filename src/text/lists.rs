//! Bracketed lists: constant tensors (`[[1, -2], [3, 4]]`) and the integer
//! lists of axes, dimensions and permutations.

use crate::graph::{GraphError, Literal, NodeId, Origin};

use super::error::{Expected, ParseError, ParseErrorKind};
use super::lexer::Token;
use super::parser::Parser;

impl Parser<'_> {
    /// A list literal: a constant tensor. The current token is `[`.
    pub(super) fn list_literal(&mut self) -> Result<NodeId, ParseError> {
        let at = self.origin(0);
        let mut values = Vec::new();
        let shape = self.list(&mut values)?;
        let len = values.len();
        match Literal::new(shape.clone(), values) {
            Some(lit) => Ok(self.constant(lit, at)),
            None => Err(ParseError::at(
                at,
                GraphError::ConstantShape { shape, len }.into(),
            )),
        }
    }

    /// One level of a list literal, appending its numbers to `values`;
    /// returns its shape.
    fn list(&mut self, values: &mut Vec<f64>) -> Result<Vec<usize>, ParseError> {
        self.enter()?;
        self.expect(Token::LBracket)?;
        let mut len = 0;
        // the shape of the first element list, if the elements are lists
        let mut inner: Option<Vec<usize>> = None;
        let mut of_lists: Option<bool> = None;
        if *self.peek() == Token::RBracket {
            self.advance();
            self.leave();
            return Ok(vec![0]);
        }
        loop {
            let at = self.origin(0);
            let is_list = *self.peek() == Token::LBracket;
            if of_lists.is_some_and(|l| l != is_list) {
                return Err(ParseError::at(at, ParseErrorKind::MixedList));
            }
            of_lists = Some(is_list);
            if is_list {
                let shape = self.list(values)?;
                match &inner {
                    None => inner = Some(shape),
                    Some(first) if *first != shape => {
                        return Err(ParseError::at(
                            at,
                            ParseErrorKind::RaggedList {
                                expected: first.clone(),
                                found: shape,
                            },
                        ))
                    }
                    Some(_) => {}
                }
            } else {
                values.push(self.signed_number(Expected::ListElement)?);
            }
            len += 1;
            match self.peek() {
                Token::Comma => self.advance(),
                Token::RBracket => {
                    self.advance();
                    break;
                }
                _ => return Err(self.unexpected(Expected::ListSeparator)),
            }
        }
        self.leave();
        let mut shape = vec![len];
        shape.extend(inner.unwrap_or_default());
        Ok(shape)
    }

    /// A number literal, optionally preceded by `-`.
    pub(super) fn signed_number(&mut self, expected: Expected) -> Result<f64, ParseError> {
        let negative = *self.peek() == Token::Minus;
        let k = usize::from(negative);
        let Token::Number(text) = &self.tok(k).tok else {
            return Err(if negative {
                self.unexpected_at(1, expected)
            } else {
                self.unexpected(expected)
            });
        };
        let v = self.number_value(text, self.origin(k))?;
        for _ in 0..=k {
            self.advance();
        }
        Ok(if negative { -v } else { v })
    }

    /// An integer literal, optionally preceded by `-`, and where it starts.
    pub(super) fn integer(&mut self, expected: Expected) -> Result<(i64, Origin), ParseError> {
        let at = self.origin(0);
        let negative = *self.peek() == Token::Minus;
        let k = usize::from(negative);
        let text = match &self.tok(k).tok {
            Token::Number(t) if t.bytes().all(|b| b.is_ascii_digit()) => t.clone(),
            _ => return Err(self.unexpected_at(k, expected)),
        };
        let v: i64 = text
            .parse()
            .map_err(|_| ParseError::at(at, ParseErrorKind::IntegerTooLarge(text.clone())))?;
        for _ in 0..=k {
            self.advance();
        }
        Ok((if negative { -v } else { v }, at))
    }

    /// `[i, j, ...]`: a list of integers, with where each starts.
    pub(super) fn ints(&mut self) -> Result<(Vec<i64>, Vec<Origin>), ParseError> {
        if *self.peek() != Token::LBracket {
            return Err(self.unexpected(Expected::IntegerList));
        }
        self.advance();
        let (mut ints, mut origins) = (Vec::new(), Vec::new());
        if *self.peek() == Token::RBracket {
            self.advance();
            return Ok((ints, origins));
        }
        loop {
            let (v, at) = self.integer(Expected::Integer)?;
            ints.push(v);
            origins.push(at);
            match self.peek() {
                Token::Comma => self.advance(),
                Token::RBracket => {
                    self.advance();
                    return Ok((ints, origins));
                }
                _ => return Err(self.unexpected(Expected::ListSeparator)),
            }
        }
    }
}
