//! Parse errors: every one carries the line and column (from 1) where it was found.

use std::fmt;

use crate::autodiff::AutodiffError;
use crate::graph::{GraphError, Origin};

use super::lexer::Token;

/// Why a program could not be parsed, and where.
///
/// Displays as one line: `line L, column C: <message>`.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("line {line}, column {column}: {kind}")]
pub struct ParseError {
    /// Line, counted from 1.
    pub line: u32,
    /// Column in characters, counted from 1.
    pub column: u32,
    /// What went wrong.
    pub kind: ParseErrorKind,
}

impl ParseError {
    /// An error of `kind` at `line`, `column`.
    pub fn new(line: u32, column: u32, kind: ParseErrorKind) -> Self {
        ParseError { line, column, kind }
    }

    /// An error of `kind` at a position.
    pub fn at(origin: Origin, kind: ParseErrorKind) -> Self {
        ParseError::new(origin.line, origin.column, kind)
    }

    /// The position as an [`Origin`].
    pub fn origin(&self) -> Origin {
        Origin {
            line: self.line,
            column: self.column,
        }
    }
}

/// The kinds of parse error.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ParseErrorKind {
    /// A character that starts no token.
    #[error("unexpected character `{0}`")]
    UnexpectedChar(char),
    /// A number literal that does not parse (`1e`, `1.2.3`, `2x`).
    #[error("malformed number `{0}`")]
    MalformedNumber(String),
    /// A token where another was expected.
    #[error("expected {expected}, found {found}")]
    UnexpectedToken {
        /// What the parser wanted.
        expected: Expected,
        /// What it found.
        found: Token,
    },
    /// Parentheses, brackets, unary minus or `**` nested beyond the limit.
    #[error("expression nested too deeply (more than {0} levels)")]
    TooDeep(usize),
    /// A call of a function the language does not have.
    #[error("unknown function `{0}`")]
    UnknownFunction(String),
    /// A call with too few or too many arguments.
    #[error("`{function}` takes {}, got {got}", arg_range(*min, *max))]
    ArgCount {
        /// The function.
        function: String,
        /// The fewest arguments it takes.
        min: usize,
        /// The most arguments it takes.
        max: usize,
        /// How many were given.
        got: usize,
    },
    /// A flag argument (cumsum's exclusive, reverse) other than `1` or `0`.
    #[error("`{function}`: a flag must be 1 or 0, got {value}")]
    BadFlag {
        /// The function.
        function: String,
        /// The value given.
        value: i64,
    },
    /// Strides or a window size that is not one positive integer or two.
    #[error(
        "`{0}`: strides and window sizes are a positive integer or a list [height, width] of them"
    )]
    BadPair(String),
    /// A `"` without its closing `"` on the same line.
    #[error("a string has no closing `\"`")]
    UnterminatedString,
    /// A padding other than `"VALID"` or `"SAME"`.
    #[error("padding must be \"VALID\" or \"SAME\", got \"{0}\"")]
    BadPadding(String),
    /// A second `...` in one index.
    #[error("an index may hold `...` only once")]
    RepeatedEllipsis,
    /// A slice step of 0.
    #[error("a slice step cannot be 0")]
    ZeroStep,
    /// A `pad` width entry that is not a `[before, after]` pair.
    #[error("`pad`: each axis takes a pair [before, after], got {0} numbers")]
    PadPair(usize),
    /// A keepdims argument other than `1` or `0`.
    #[error("keepdims must be 1 or 0, got {0}")]
    BadKeepdims(i64),
    /// A negative entry where only sizes or axes in `0..` are allowed.
    #[error("`{function}`: {value} is negative, expected a non-negative integer")]
    NegativeEntry {
        /// The function.
        function: String,
        /// The entry.
        value: i64,
    },
    /// A reshape dimension below -1, or a second -1.
    #[error(
        "`reshape`: {0} is not allowed here (dimensions are sizes, and one of them may be -1)"
    )]
    BadReshapeDim(i64),
    /// An integer literal too large for an axis or a size.
    #[error("integer `{0}` is too large")]
    IntegerTooLarge(String),
    /// A list literal whose elements differ in shape.
    #[error("ragged list: this list has shape {found:?}, the first one beside it {expected:?}")]
    RaggedList {
        /// The shape of the first sibling list.
        expected: Vec<usize>,
        /// The shape of this one.
        found: Vec<usize>,
    },
    /// A list literal holding both numbers and lists.
    #[error("a list holds numbers or lists, not both")]
    MixedList,
    /// A constant (from `fill`) with too many elements to build.
    #[error("constant of shape {dims:?} is too large (at most {limit} elements)")]
    ConstantTooLarge {
        /// The requested shape.
        dims: Vec<usize>,
        /// The largest element count allowed.
        limit: usize,
    },
    /// `exp = ...`: function names cannot be bound.
    #[error("`{0}` is a function and cannot be bound")]
    BindFunction(String),
    /// A function name used without a call.
    #[error("`{0}` is a function: call it as `{0}(...)`")]
    FunctionAsValue(String),
    /// A name used before the statement that binds it.
    #[error("`{name}` is used before the statement that binds it (line {bound_at})")]
    UseBeforeBind {
        /// The name.
        name: String,
        /// The line of its first binding.
        bound_at: u32,
    },
    /// The second argument of `grad` is not a plain name.
    #[error("the second argument of `grad` must be an input or a bound name, found {0}")]
    GradWrtNotName(Token),
    /// `grad(y, x)` where TensorFlow's gradient would be `None`.
    #[error("no gradient of `{y}` with respect to `{x}` (TensorFlow gives None): {reason}")]
    NoGradient {
        /// The source text of `y`.
        y: String,
        /// The name `x`.
        x: String,
        /// Why no gradient flows.
        reason: NoGradientReason,
    },
    /// Building a node failed: shapes that cannot broadcast, a bad axis, ...
    #[error("{0}")]
    Graph(#[from] GraphError),
    /// Building a gradient failed.
    #[error("{0}")]
    Autodiff(#[from] AutodiffError),
    /// A program without any statement.
    #[error("the program has no statement")]
    EmptyProgram,
}

fn arg_range(min: usize, max: usize) -> String {
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    if min == max {
        format!("{min} argument{}", plural(min))
    } else if max == min + 1 {
        format!("{min} or {max} arguments")
    } else {
        format!("{min} to {max} arguments")
    }
}

/// What the parser expected where it found something else.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expected {
    /// An expression.
    Expression,
    /// This exact token (`)`, `]`, ...).
    Symbol(&'static str),
    /// `,` or `)` after a function argument.
    ArgSeparator,
    /// `,` or `]` after a list element.
    ListSeparator,
    /// `;`, a new line or the end of the program after a statement.
    EndOfStatement,
    /// A number, optionally negative.
    Number,
    /// An integer literal, optionally negative.
    Integer,
    /// An axis argument: an integer, a list of integers or `None`.
    Axes,
    /// A keepdims argument: `1` or `0`.
    Keepdims,
    /// A list of integers.
    IntegerList,
    /// A number or a list literal (a list element).
    ListElement,
    /// A slice item: an integer, `start:stop:step` or `...`.
    SliceItem,
    /// A list of tensor expressions, `[a, b, ...]`.
    ExpressionList,
    /// A list of `[before, after]` pairs, one per axis.
    PadWidths,
    /// A non-negative integer.
    Size,
    /// A padding, `"VALID"` or `"SAME"`.
    Padding,
    /// A positive integer or a list `[height, width]`.
    Pair,
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expected::Expression => f.write_str("an expression"),
            Expected::Symbol(s) => write!(f, "`{s}`"),
            Expected::ArgSeparator => f.write_str("`,` or `)`"),
            Expected::ListSeparator => f.write_str("`,` or `]`"),
            Expected::EndOfStatement => f.write_str("`;` or a new line after the statement"),
            Expected::Number => f.write_str("a number"),
            Expected::Integer => f.write_str("an integer"),
            Expected::Axes => {
                f.write_str("an axis (an integer, a list of integers, or `None` for all axes)")
            }
            Expected::Keepdims => f.write_str("keepdims (`1` or `0`)"),
            Expected::IntegerList => f.write_str("a list of integers"),
            Expected::ListElement => f.write_str("a number or a list"),
            Expected::SliceItem => f.write_str("an index (an integer, `start:stop:step` or `...`)"),
            Expected::ExpressionList => f.write_str("a list of expressions `[a, b, ...]`"),
            Expected::PadWidths => f.write_str("a list of `[before, after]` pairs"),
            Expected::Size => f.write_str("a non-negative integer"),
            Expected::Padding => f.write_str("a padding, \"VALID\" or \"SAME\""),
            Expected::Pair => f.write_str("an integer or a list [height, width]"),
        }
    }
}

/// Why `grad(y, x)` has no gradient, from [`crate::autodiff::explain_unconnected`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoGradientReason {
    /// `y` does not depend on `x` at all.
    NoPath,
    /// Every path from `x` to `y` passes through a node that blocks gradients.
    Blocked {
        /// Operations without a gradient on the paths (`floor`, comparisons, ...).
        no_gradient: Vec<Blocker>,
        /// `stop_gradient` nodes on the paths.
        stopped: Vec<Blocker>,
    },
}

/// A node that blocks gradients: its operation and its place in the program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blocker {
    /// The operation's name.
    pub op: &'static str,
    /// Where it was written (or, for gradient nodes, the `grad` call that made it).
    pub origin: Option<Origin>,
}

impl fmt::Display for Blocker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`", self.op)?;
        match self.origin {
            Some(o) => write!(f, " at line {}, column {}", o.line, o.column),
            None => Ok(()),
        }
    }
}

/// Lists at most three blockers, then how many more.
fn list(f: &mut fmt::Formatter<'_>, items: &[Blocker]) -> fmt::Result {
    const SHOWN: usize = 3;
    for (i, b) in items.iter().take(SHOWN).enumerate() {
        if i > 0 {
            f.write_str("; ")?;
        }
        write!(f, "{b}")?;
    }
    if items.len() > SHOWN {
        write!(f, " and {} more", items.len() - SHOWN)?;
    }
    Ok(())
}

impl fmt::Display for NoGradientReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoGradientReason::NoPath => f.write_str("it does not depend on it"),
            NoGradientReason::Blocked {
                no_gradient,
                stopped,
            } => {
                f.write_str("every path between them passes through ")?;
                if !no_gradient.is_empty() {
                    f.write_str("an operation without a gradient (")?;
                    list(f, no_gradient)?;
                    f.write_str(")")?;
                }
                if !no_gradient.is_empty() && !stopped.is_empty() {
                    f.write_str(" or ")?;
                }
                if !stopped.is_empty() {
                    f.write_str("a stopped node (")?;
                    list(f, stopped)?;
                    f.write_str(")")?;
                }
                Ok(())
            }
        }
    }
}
