//! Arbitrary input never makes the parser panic, and whatever parses prints
//! back to the same nodes.

use gradjit::graph::{DType, Graph, Shape, BINARY_OPS, REDUCE_OPS, UNARY_OPS};
use gradjit::text::{parse, print_program, ParseOptions};
use proptest::prelude::*;

fn opts(dtype: DType) -> ParseOptions {
    let mut o = ParseOptions::new(dtype);
    o.input_shapes.insert("x".into(), Shape::known(&[2, 3]));
    o.input_shapes.insert("y".into(), Shape::known(&[3]));
    o.input_shapes.insert("m".into(), Shape::known(&[3, 2]));
    o
}

/// Parses `src`; when it parses, prints the output and every binding and
/// checks that the printed program reads back as the same nodes.
fn check(src: &str, dtype: DType) -> Result<(), TestCaseError> {
    let g = Graph::new();
    let o = opts(dtype);
    let Ok(p) = parse(&g, src, &o) else {
        return Ok(());
    };
    let mut names: Vec<(String, _)> = p
        .bindings
        .iter()
        .map(|(n, &id)| (format!("{n}_out"), id))
        .collect();
    names.sort();
    names.push(("result_out".to_string(), p.output));
    let outputs: Vec<(&str, _)> = names.iter().map(|(n, id)| (n.as_str(), *id)).collect();
    let text = print_program(&g, &outputs);
    let q = parse(&g, &text, &o);
    prop_assert!(
        q.is_ok(),
        "{src:?} printed as\n{text}\nwhich fails: {:?}",
        q.err()
    );
    if let Ok(q) = q {
        for (name, id) in &outputs {
            prop_assert_eq!(
                q.bindings.get(*name),
                Some(id),
                "{:?} printed as\n{}",
                src,
                text
            );
        }
    }
    Ok(())
}

/// Words of the language: names, every function, numbers, operators, punctuation.
fn words() -> Vec<String> {
    let mut w: Vec<String> = [
        "x",
        "y",
        "m",
        "a",
        "h",
        "None",
        "grad",
        "fill",
        "where",
        "matmul",
        "reshape",
        "transpose",
        "broadcast_to",
        "expand_dims",
        "count",
        "sum_to",
        "broadcast_like",
        "reshape_like",
        "ones_like",
        "zeros_like",
        "identity",
        "stop_gradient",
        "foo",
        "0",
        "1",
        "2",
        "3",
        "-1",
        "1e999",
        ".5",
        "3.",
        "1e-3",
        "+",
        "-",
        "*",
        "**",
        "/",
        "@",
        "<",
        "<=",
        ">",
        ">=",
        "==",
        "!=",
        "=",
        "(",
        ")",
        "[",
        "]",
        ",",
        ";",
        "\n",
        "#",
        "$",
        "1e",
        "..",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    w.extend(UNARY_OPS.iter().map(|u| u.name().to_string()));
    w.extend(BINARY_OPS.iter().map(|b| b.name().to_string()));
    w.extend(REDUCE_OPS.iter().map(|r| r.name().to_string()));
    w
}

/// Sequences of words, joined by spaces or nothing.
fn token_soup() -> impl Strategy<Value = String> {
    let words = words();
    prop::collection::vec((prop::sample::select(words), any::<bool>()), 0..40).prop_map(|ws| {
        ws.into_iter()
            .map(|(w, space)| if space { format!("{w} ") } else { w })
            .collect()
    })
}

/// Token soups shaped like programs: statements of calls and operators.
fn programs() -> impl Strategy<Value = String> {
    let leaf = prop::sample::select(vec![
        "x",
        "y",
        "m",
        "a",
        "2",
        "-1",
        "0.5",
        "[1, 2, 3]",
        "[[1, 2], [3, 4], [5, 6]]",
        "1e999",
    ])
    .prop_map(str::to_string);
    let expr = leaf.prop_recursive(4, 24, 3, |inner| {
        let unary = prop::sample::select(UNARY_OPS.to_vec());
        let binary = prop::sample::select(BINARY_OPS.to_vec());
        let reduce = prop::sample::select(REDUCE_OPS.to_vec());
        let op = prop::sample::select(vec!["+", "-", "*", "/", "**", "@", "<", "=="]);
        prop_oneof![
            (inner.clone(), op, inner.clone()).prop_map(|(a, o, b)| format!("{a} {o} {b}")),
            inner.clone().prop_map(|a| format!("-{a}")),
            inner.clone().prop_map(|a| format!("({a})")),
            (unary, inner.clone()).prop_map(|(u, a)| format!("{}({a})", u.name())),
            (binary, inner.clone(), inner.clone())
                .prop_map(|(b, a, c)| format!("{}({a}, {c})", b.name())),
            (reduce, inner.clone(), -2i32..3, 0..2u8)
                .prop_map(|(r, a, ax, k)| format!("{}({a}, {ax}, {k})", r.name())),
            inner.clone().prop_map(|a| format!("grad({a}, x)")),
            inner.clone().prop_map(|a| format!("grad(sum({a}), y)")),
            inner.clone().prop_map(|a| format!("transpose({a})")),
            inner.clone().prop_map(|a| format!("reshape({a}, [-1])")),
            (inner.clone(), inner.clone(), inner)
                .prop_map(|(c, a, b)| format!("where({c}, {a}, {b})")),
        ]
    });
    prop::collection::vec((prop::sample::select(vec!["a = ", "h = ", ""]), expr), 1..4).prop_map(
        |stmts| {
            stmts
                .into_iter()
                .map(|(lhs, e)| format!("{lhs}{e}\n"))
                .collect()
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_strings_never_panic(src in "\\PC{0,80}") {
        check(&src, DType::F32)?;
    }

    #[test]
    fn strings_of_the_language_alphabet_never_panic(
        src in "[xyma0-9_ .,;()\\[\\]+*/@<>=!#e\n-]{0,60}"
    ) {
        check(&src, DType::F64)?;
    }

    #[test]
    fn token_sequences_never_panic(src in token_soup()) {
        check(&src, DType::F32)?;
    }

    #[test]
    fn program_like_text_parses_or_fails_cleanly_and_round_trips(src in programs()) {
        check(&src, DType::F64)?;
    }
}
