//! The expression language: lexer, parser and printer.
//!
//! The language is specified in the project's `language-and-cli.md`: a
//! program is statements (`name = expr` or a bare `expr`) separated by `;`
//! or new lines (not inside brackets), `#` comments, operators from loosest
//! to tightest `< <= > >= == !=`, `+ -`, `* / @`, unary `-`, `**` (right
//! associative; the others left associative), number and list literals,
//! and function calls. A name never bound in the program is an input.
//!
//! ```
//! use gradjit::graph::{DType, Graph};
//! use gradjit::text::{parse, print_program, ParseOptions};
//!
//! let g = Graph::new();
//! let prog = parse(&g, "y = x*x + 3*x\ndy = grad(y, x)", &ParseOptions::new(DType::F32))?;
//! let dy = prog.bindings["dy"];
//! let text = print_program(&g, &[("dy", dy)]);
//! // parsing the printed program into the same graph gives the same node back
//! let again = parse(&g, &text, &ParseOptions::new(DType::F32))?;
//! assert_eq!(again.bindings["dy"], dy);
//! # Ok::<(), gradjit::text::ParseError>(())
//! ```
//!
//! A unary minus directly on a number literal (`-3`, but not `-(3)` or
//! `-3**2`) makes a negative constant rather than a negation: the values
//! are the same, and printed negative constants read back as constants.
//!
//! # Extensions beyond the specified language
//!
//! So that every operation of the graph can be printed and read back:
//!
//! * Internal operations, which gradients create, are functions named by
//!   [`crate::graph::Op::name`]: `identity(x)`, `ones_like(x)`,
//!   `zeros_like(x)`, `sum_to(g, like)` (sums `g` down to the shape of
//!   `like`), `broadcast_like(g, like)`, `reshape_like(g, like)`,
//!   `expand_dims(x, [axes])` (axes are positions in the output),
//!   `count(x)` / `count(x, [axes])` (how many elements a reduction over
//!   those axes combines), `relu_grad(g, y)`, `mul_no_nan(a, b)` and
//!   `xdivy(a, b)` (0 where `a` is 0, else `a / b`), `slice_grad(g, like,
//!   [items])` (zeros of `like`'s shape with `g` where `like[items]`
//!   reads), `gather_grad(g, indices, like, axis)` (zeros of `like`'s shape
//!   with `g`'s slices added at the indices) and `label_one_hot(labels,
//!   depth)` (`one_hot` whose index out of range is an error).
//! * Every binary operator also has a function name: `add sub mul div less
//!   less_equal greater greater_equal equal not_equal`.
//! * `fill(value, [dims])` is a constant of shape `dims` holding one value
//!   (optionally negative), at most [`FILL_LIMIT`] elements; the printer
//!   uses it for uniform constants of more than 4 elements and for empty
//!   constants of rank other than 1. `[]` is the empty constant of shape `[0]`.
//! * In the axis argument of a reduction or of `count`, `None` means all
//!   axes, so that a full reduction with keepdims prints as `sum(x, None, 1)`.
//! * Parentheses, brackets, calls, unary minus and `**` nest at most
//!   [`MAX_DEPTH`] deep.
//!
//! # Round trip, and what cannot round-trip
//!
//! [`print_program`] prints a program that [`parse`] reads back, into the
//! same graph, as exactly the printed nodes (hash-consing finds them). The
//! exceptions:
//!
//! * a NaN constant prints as `(0/0)`, a division rather than a constant
//!   (inside a tensor constant, as `where(mask, 0/0, values)`);
//! * inputs whose names are not identifiers, or are function names, cannot
//!   be written;
//! * an output named like an input that the program reads would bind that
//!   name, making the input's uses errors: choose output names apart from
//!   input names.

mod calls;
mod error;
mod lexer;
mod lists;
mod parser;
mod printer;
mod structure;
mod syntax;
mod transforms;

pub use calls::FILL_LIMIT;
pub use error::{Blocker, Expected, NoGradientReason, ParseError, ParseErrorKind};
pub use lexer::Token;
pub use parser::{parse, ParseOptions, Program, Statement, MAX_DEPTH};
pub use printer::print_program;
