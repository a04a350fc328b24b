//! Parse errors: every class, each at the line and column written by hand
//! from the program text.

use gradjit::autodiff::AutodiffError;
use gradjit::graph::{DType, Graph, GraphError, Origin, Shape};
use gradjit::text::{
    parse, Blocker, Expected, NoGradientReason, ParseError, ParseErrorKind as K, ParseOptions,
    Token, MAX_DEPTH,
};

/// `x` has shape [2, 3]; other inputs are unknown.
fn opts() -> ParseOptions {
    let mut o = ParseOptions::new(DType::F32);
    o.input_shapes.insert("x".into(), Shape::known(&[2, 3]));
    o
}

fn err(src: &str) -> ParseError {
    match parse(&Graph::new(), src, &opts()) {
        Ok(_) => panic!("{src:?} should not parse"),
        Err(e) => e,
    }
}

/// Asserts the error of `src`: its position and kind.
fn check(src: &str, line: u32, column: u32, kind: K) {
    let e = err(src);
    assert_eq!(
        (e.line, e.column, &e.kind),
        (line, column, &kind),
        "{src:?}: got `{e}`"
    );
}

/// Asserts the position of the error of `src` and that its kind matches.
fn check_at(src: &str, line: u32, column: u32, matches: impl Fn(&K) -> bool) {
    let e = err(src);
    assert_eq!((e.line, e.column), (line, column), "{src:?}: got `{e}`");
    assert!(matches(&e.kind), "{src:?}: unexpected kind in `{e}`");
}

fn unexpected(expected: Expected, found: Token) -> K {
    K::UnexpectedToken { expected, found }
}

fn name(s: &str) -> Token {
    Token::Ident(s.into())
}

fn number(s: &str) -> Token {
    Token::Number(s.into())
}

#[test]
fn display_is_one_line_with_the_position() {
    assert_eq!(
        err("y = foo(x)").to_string(),
        "line 1, column 5: unknown function `foo`"
    );
    assert_eq!(
        err("a = 1\nexp(a, a)").to_string(),
        "line 2, column 1: `exp` takes 1 argument, got 2"
    );
    assert_eq!(
        err("x +").to_string(),
        "line 1, column 4: expected an expression, found end of input"
    );
}

#[test]
fn lexing_errors() {
    check("x $ y", 1, 3, K::UnexpectedChar('$'));
    check("x ! y", 1, 3, K::UnexpectedChar('!'));
    check("y = 1e + x", 1, 5, K::MalformedNumber("1e".into()));
    check("a = 2\nb = 1.2.3", 2, 5, K::MalformedNumber("1.2.3".into()));
    check("2x", 1, 1, K::MalformedNumber("2x".into()));
    check("y = x . 2", 1, 7, K::UnexpectedChar('.'));
    // columns count characters, not bytes
    check("é = 1 ° 2", 1, 7, K::UnexpectedChar('°'));
}

#[test]
fn unexpected_tokens() {
    check("x +", 1, 4, unexpected(Expected::Expression, Token::Eof));
    check(
        "x + * y",
        1,
        5,
        unexpected(Expected::Expression, Token::Star),
    );
    check(
        "(x + 1",
        1,
        7,
        unexpected(Expected::Symbol(")"), Token::Eof),
    );
    check("x y", 1, 3, unexpected(Expected::EndOfStatement, name("y")));
    check(
        "x)",
        1,
        2,
        unexpected(Expected::EndOfStatement, Token::RParen),
    );
    check(
        "3 = x",
        1,
        3,
        unexpected(Expected::EndOfStatement, Token::Assign),
    );
    check(
        "x = \ny",
        1,
        5,
        unexpected(Expected::Expression, Token::Newline),
    );
    check(
        "sum(x 1)",
        1,
        7,
        unexpected(Expected::ArgSeparator, number("1")),
    );
    check(
        "exp(x,)",
        1,
        7,
        unexpected(Expected::Expression, Token::RParen),
    );
    check(
        "a = 1\n\n  b = a +* 2",
        3,
        10,
        unexpected(Expected::Expression, Token::Star),
    );
}

#[test]
fn unknown_functions_and_argument_counts() {
    check("y = foo(x)", 1, 5, K::UnknownFunction("foo".into()));
    let count = |function: &str, min, max, got| K::ArgCount {
        function: function.into(),
        min,
        max,
        got,
    };
    check("exp(x, y)", 1, 1, count("exp", 1, 1, 2));
    check("y = sum(x, 0, 1, 2)", 1, 5, count("sum", 1, 3, 4));
    check("where(a, b)", 1, 1, count("where", 3, 3, 2));
    check("tanh()", 1, 1, count("tanh", 1, 1, 0));
    check("x + grad(x)", 1, 5, count("grad", 2, 2, 1));
    check(
        "transpose(x, [1, 0], [0, 1])",
        1,
        1,
        count("transpose", 1, 2, 3),
    );
    check("2 * reshape(x)", 1, 5, count("reshape", 2, 2, 1));
    check("fill(1)", 1, 1, count("fill", 2, 2, 1));
}

#[test]
fn malformed_axes_keepdims_and_shape_lists() {
    check("sum(x, y)", 1, 8, unexpected(Expected::Axes, name("y")));
    check(
        "sum(x, 1.5)",
        1,
        8,
        unexpected(Expected::Axes, number("1.5")),
    );
    check(
        "sum(x, [0, 1.5])",
        1,
        12,
        unexpected(Expected::Integer, number("1.5")),
    );
    check(
        "sum(x, [0 1])",
        1,
        11,
        unexpected(Expected::ListSeparator, number("1")),
    );
    check("sum(x, 0, 2)", 1, 11, K::BadKeepdims(2));
    check(
        "sum(x, 0, y)",
        1,
        11,
        unexpected(Expected::Keepdims, name("y")),
    );
    check("reshape(x, [2, -2])", 1, 16, K::BadReshapeDim(-2));
    check("reshape(x, [-1, -1])", 1, 17, K::BadReshapeDim(-1));
    check(
        "reshape(x, 6)",
        1,
        12,
        unexpected(Expected::IntegerList, number("6")),
    );
    check(
        "broadcast_to(x, [2, -3])",
        1,
        21,
        K::NegativeEntry {
            function: "broadcast_to".into(),
            value: -3,
        },
    );
    check(
        "transpose(x, [1 0])",
        1,
        17,
        unexpected(Expected::ListSeparator, number("0")),
    );
    check(
        "expand_dims(x, None)",
        1,
        16,
        unexpected(Expected::Axes, name("None")),
    );
    check(
        "sum(x, 99999999999999999999)",
        1,
        8,
        K::IntegerTooLarge("99999999999999999999".into()),
    );
    check(
        "fill(1, [100000, 100000])",
        1,
        9,
        K::ConstantTooLarge {
            dims: vec![100000, 100000],
            limit: gradjit::text::FILL_LIMIT,
        },
    );
    // axes checked against the operand's rank: a repeated axis, one out of range
    check(
        "sum(x, [1, -1])",
        1,
        8,
        K::Graph(GraphError::RepeatedAxis {
            op: "sum",
            axis: -1,
        }),
    );
    check(
        "y = mean(x, 2)",
        1,
        13,
        K::Graph(GraphError::Axis {
            op: "mean",
            axis: 2,
            rank: 2,
        }),
    );
    check_at("sum(z, -1)", 1, 8, |k| {
        matches!(k, K::Graph(GraphError::UnknownRank { op: "sum", .. }))
    });
}

#[test]
fn ragged_and_mixed_lists() {
    let ragged = |expected: &[usize], found: &[usize]| K::RaggedList {
        expected: expected.to_vec(),
        found: found.to_vec(),
    };
    check("[[1, 2], [3]]", 1, 10, ragged(&[2], &[1]));
    check("y = [[1], [2], []]", 1, 16, ragged(&[1], &[0]));
    check(
        "a = [[[1, 2], [3, 4]],\n     [[5, 6], [7]]]",
        2,
        15,
        ragged(&[2], &[1]),
    );
    check("[[[1]], [2]]", 1, 9, ragged(&[1, 1], &[1]));
    check("[1, [2]]", 1, 5, K::MixedList);
    check("[[1], 2]", 1, 7, K::MixedList);
    check("[x]", 1, 2, unexpected(Expected::ListElement, name("x")));
    check(
        "[1, -y]",
        1,
        6,
        unexpected(Expected::ListElement, name("y")),
    );
    check(
        "[1, 2",
        1,
        6,
        unexpected(Expected::ListSeparator, Token::Eof),
    );
}

#[test]
fn names_functions_and_bindings() {
    check("x = 1\nexp = 2", 2, 1, K::BindFunction("exp".into()));
    check("grad = 1", 1, 1, K::BindFunction("grad".into()));
    check("y = sum + 1", 1, 5, K::FunctionAsValue("sum".into()));
    let early = |name: &str, bound_at| K::UseBeforeBind {
        name: name.into(),
        bound_at,
    };
    check("a = b + 1\nb = 2", 1, 5, early("b", 2));
    check("x = x + 1", 1, 5, early("x", 1));
    check("c = 1\nd = c * e\ne = 3\ne = 4", 2, 9, early("e", 3));
    check("y = grad(w * 2, w)\nw = 1", 1, 10, early("w", 2));
}

#[test]
fn graph_errors_take_the_position_of_the_operator_or_call() {
    check_at("[1, 2] + [1, 2, 3]", 1, 8, |k| {
        matches!(k, K::Graph(GraphError::Broadcast { op: "add", .. }))
    });
    check_at("a = [1, 2]\nb = a * [[1, 2, 3]]", 2, 7, |k| {
        matches!(k, K::Graph(GraphError::Broadcast { op: "mul", .. }))
    });
    check_at("y = [1, 2] @ [1, 2]", 1, 12, |k| {
        matches!(k, K::Graph(GraphError::MatMulRank { .. }))
    });
    check_at("1 + matmul([[1]], [1])", 1, 5, |k| {
        matches!(k, K::Graph(GraphError::MatMulRank { .. }))
    });
    check_at("reshape([1, 2, 3], [2, -1])", 1, 1, |k| {
        matches!(k, K::Graph(GraphError::Reshape { .. }))
    });
    check_at("transpose(x, [0, 0])", 1, 1, |k| {
        matches!(k, K::Graph(GraphError::Permutation { .. }))
    });
    check_at("where(x, [1, 2], 0)", 1, 1, |k| {
        matches!(k, K::Graph(GraphError::Broadcast { op: "where", .. }))
    });
    // an input whose given shape contradicts the placeholder already in the graph
    let g = Graph::new();
    parse(&g, "x + 1", &opts()).expect("parses");
    let mut other = opts();
    other.input_shapes.insert("x".into(), Shape::known(&[3]));
    let e = parse(&g, "y = 2\ny * x", &other).expect_err("x changed shape");
    assert_eq!((e.line, e.column), (2, 5));
    assert_eq!(
        e.kind,
        K::Graph(GraphError::DuplicatePlaceholder { name: "x".into() })
    );
}

#[test]
fn grad_without_a_gradient_names_y_and_x_and_says_why() {
    // grad(3*x, x) depends on x only through its shape
    let e = err("g = grad(grad(3*x, x), x)");
    assert_eq!((e.line, e.column), (1, 5));
    let K::NoGradient { y, x, reason } = &e.kind else {
        panic!("expected no gradient, got `{e}`")
    };
    assert_eq!((y.as_str(), x.as_str()), ("grad(3*x, x)", "x"));
    let NoGradientReason::Blocked {
        no_gradient,
        stopped,
    } = reason
    else {
        panic!("expected a blocked path, got `{e}`")
    };
    assert!(stopped.is_empty());
    assert!(no_gradient.iter().any(|b| b.op == "ones_like"), "{e}");
    // the blocking nodes were made by the inner grad, at column 10
    assert!(no_gradient.iter().all(|b| b.origin
        == Some(Origin {
            line: 1,
            column: 10
        })));
    assert!(e
        .to_string()
        .starts_with("line 1, column 5: no gradient of `grad(3*x, x)` with respect to `x`"));

    let floor = Blocker {
        op: "floor",
        origin: Some(Origin { line: 1, column: 5 }),
    };
    check(
        "y = floor(x) * 2\ng = grad(y, x)",
        2,
        5,
        K::NoGradient {
            y: "y".into(),
            x: "x".into(),
            reason: NoGradientReason::Blocked {
                no_gradient: vec![floor],
                stopped: vec![],
            },
        },
    );
    let e = err("grad(stop_gradient(x) * 2 + (x > 0), x)");
    assert_eq!(
        e.kind,
        K::NoGradient {
            y: "stop_gradient(x) * 2 + (x > 0)".into(),
            x: "x".into(),
            reason: NoGradientReason::Blocked {
                no_gradient: vec![Blocker {
                    op: "greater",
                    origin: Some(Origin {
                        line: 1,
                        column: 32
                    })
                }],
                stopped: vec![Blocker {
                    op: "stop_gradient",
                    origin: Some(Origin { line: 1, column: 6 })
                }],
            },
        }
    );
    assert!(e
        .to_string()
        .contains("a stopped node (`stop_gradient` at line 1, column 6)"));
    check(
        "grad(x * 2, z)",
        1,
        1,
        K::NoGradient {
            y: "x * 2".into(),
            x: "z".into(),
            reason: NoGradientReason::NoPath,
        },
    );
    check("grad(x, x + 1)", 1, 9, K::GradWrtNotName(name("x")));
    check("grad(x, 2)", 1, 9, K::GradWrtNotName(number("2")));
}

#[test]
fn autodiff_errors_are_reported_at_the_call() {
    // a graph poisoned by an earlier operator expression fails every gradient
    let g = Graph::new();
    let a = g.scalar(1.0, DType::F32);
    let b = g.constant(&ndarray::arr1(&[1.0f32, 2.0]).into_dyn());
    let c = g.constant(&ndarray::arr1(&[1.0f32, 2.0, 3.0]).into_dyn());
    let _ = a + b * c; // cannot broadcast: recorded in the graph
    let e = parse(&g, "y = 1\ny + grad(x * x, x)", &opts()).expect_err("poisoned graph");
    assert_eq!((e.line, e.column), (2, 5));
    assert!(
        matches!(e.kind, K::Autodiff(AutodiffError::Graph(_))),
        "{e}"
    );
}

#[test]
fn empty_programs() {
    check("", 1, 1, K::EmptyProgram);
    check("# nothing\n\n;", 3, 2, K::EmptyProgram);
    check("  \n ; ;\n", 3, 1, K::EmptyProgram);
}

#[test]
fn nesting_is_limited_instead_of_overflowing_the_stack() {
    let deep =
        |open: &str, close: &str, n: usize| format!("{}x{}", open.repeat(n), close.repeat(n));
    let n = MAX_DEPTH + 1;
    check(&deep("(", ")", 5000), 1, n as u32, K::TooDeep(MAX_DEPTH));
    check(&deep("-", "", 5000), 1, n as u32, K::TooDeep(MAX_DEPTH));
    check(
        &deep("exp(", ")", 5000),
        1,
        4 * n as u32,
        K::TooDeep(MAX_DEPTH),
    );
    check(
        &deep("[", "]", 5000).replace('x', "1"),
        1,
        n as u32,
        K::TooDeep(MAX_DEPTH),
    );
    check(
        &"2**".repeat(5000).replace("2**", "x**").to_string(),
        1,
        2 + 3 * MAX_DEPTH as u32,
        K::TooDeep(MAX_DEPTH),
    );
    // just inside the limit is fine
    let ok = deep("(", ")", MAX_DEPTH);
    assert!(parse(&Graph::new(), &ok, &opts()).is_ok());
}
