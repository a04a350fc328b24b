//! The expression language: lexer, parser and printer.
//!
//! The language is specified in the project's `language-and-cli.md`; this
//! module implements it and adds a few internal functions so that every
//! operation of the graph can be printed and parsed back (see below).
//!
//! ```
//! use gradjit::graph::{DType, Graph};
//! use gradjit::text::{parse, ParseOptions};
//!
//! let g = Graph::new();
//! let prog = parse(&g, "y = x*x + 3*x\ndy = grad(y, x)", &ParseOptions::new(DType::F32))?;
//! assert_eq!(prog.output, prog.bindings["dy"]);
//! assert_eq!(prog.inputs[0].0, "x");
//! # Ok::<(), gradjit::text::ParseError>(())
//! ```
//!
//! # Extensions beyond the specified language
//!
//! Internal operations, which gradients create, are functions too (named by
//! [`crate::graph::Op::name`]): `identity(x)`, `ones_like(x)`,
//! `zeros_like(x)`, `sum_to(g, like)` (sum `g` down to the shape of `like`),
//! `broadcast_like(g, like)`, `reshape_like(g, like)`, `expand_dims(x,
//! [axes])` (axes are positions in the output), `count(x)` / `count(x,
//! [axes])` (the number of elements a reduction combines), `relu_grad(g, x)`
//! and `mul_no_nan(a, b)`. Every binary operator also has a function name:
//! `add sub mul div less less_equal greater greater_equal equal not_equal`.
//!
//! * `fill(value, [dims])` is a constant of the given shape holding one
//!   value (optionally negative), at most [`FILL_LIMIT`] elements; the
//!   printer uses it for large uniform constants and empty ones.
//! * In the axis argument of a reduction or `count`, `None` means all axes,
//!   so that a full reduction with keepdims prints as `sum(x, None, 1)`.
//! * `[]` is an empty constant of shape `[0]`.
//!
//! # Round trip, and what cannot round-trip
//!
//! The printer (next) prints a program that [`parse`] reads back, into the
//! same graph, as exactly the printed nodes. The exceptions: a NaN constant
//! prints as `(0/0)` (a division, not a constant; inside a tensor constant,
//! as `where(mask, 0/0, values)`); input names that are not identifiers or
//! that are function names cannot be written; and output names must not
//! be names of the inputs the program reads.

mod calls;
mod error;
mod lexer;
mod lists;
mod parser;
mod syntax;

pub use calls::FILL_LIMIT;
pub use error::{Blocker, Expected, NoGradientReason, ParseError, ParseErrorKind};
pub use lexer::Token;
pub use parser::{parse, ParseOptions, Program, Statement, MAX_DEPTH};
