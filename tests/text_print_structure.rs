//! The printer on the structure functions of version 2: programs with
//! slicing (every item form, `...`, chains, precedence), `pad`, `concat`,
//! `stack`, `gather`, `one_hot` and `sparse_softmax_cross_entropy`, and
//! their gradient graphs (`slice_grad`, `gather_grad`, `label_one_hot`),
//! printed and parsed back give exactly the same nodes, in both dtypes, with
//! static shapes and with dimensions unknown; and a printed program parsed
//! into a fresh graph computes the same values.

use std::collections::HashMap;

use gradjit::graph::{DType, Graph, NodeId, Op, Shape};
use gradjit::interp::evaluate;
use gradjit::text::{parse, print_program, ParseOptions};
use gradjit::value::ValueView;
use ndarray::{ArrayD, IxDyn};

/// Prints `outputs`, parses the text back into the same graph, and checks
/// that every output name is bound to exactly its node and that no node was
/// added; the text printed again from the parse is the same. Returns it.
fn round_trip(g: &Graph, outputs: &[(&str, NodeId)], dtype: DType) -> String {
    let text = print_program(g, outputs);
    let before = g.len();
    let p = parse(g, &text, &ParseOptions::new(dtype))
        .unwrap_or_else(|e| panic!("printed program does not parse: {e}\n{text}"));
    for (name, id) in outputs {
        assert_eq!(p.bindings.get(*name), Some(id), "`{name}` in\n{text}");
    }
    assert_eq!(g.len(), before, "parsing added nodes:\n{text}");
    let again: Vec<(&str, NodeId)> = outputs.iter().map(|(n, _)| (*n, p.bindings[*n])).collect();
    assert_eq!(
        print_program(g, &again),
        text,
        "printing is not a fixed point"
    );
    text
}

/// The inputs of the programs below, with their shapes.
const INPUTS: [(&str, &[usize]); 8] = [
    ("x", &[3, 4, 5]),
    ("m", &[3, 4]),
    ("v", &[5]),
    ("s", &[]),
    ("p", &[4, 3]),
    ("i", &[2, 3]),
    ("l", &[3]),
    ("z", &[3, 6]),
];

/// Parse options of `dtype` whose inputs have static shapes, or only ranks.
fn options(dtype: DType, static_shapes: bool) -> ParseOptions {
    let mut o = ParseOptions::new(dtype);
    for (name, dims) in INPUTS {
        let shape = if static_shapes {
            Shape::known(dims)
        } else {
            Shape::of_rank(dims.len())
        };
        o.input_shapes.insert(name.to_string(), shape);
    }
    o
}

/// Programs whose output uses the structure functions.
const PROGRAMS: [&str; 38] = [
    "x[1]",
    "x[-1, ::-1]",
    "x[1:, -1:0:-2, 3]",
    "x[..., 0]",
    "x[1, ..., 2]",
    "x[...]",
    "x[::2, 1::, :-1:]",
    "x[-100:100, 5:1, ::-3]",
    "x[0][1:][::-1]",
    "-x[0]**2",
    "(-x)[0]**2",
    "(-x[0])**2",
    "2**x[0, 0]",
    "(m + 1)[1:]",
    "(m @ transpose(m))[0]",
    "sum(m, 1)[::-1]",
    "exp(m)[..., 2]",
    "[[1, 2], [3, 4]][1]",
    "[1, -2, 3][::-1] * v[1:4]",
    "m[0] > m[1]",
    "pad(m, [[1, 2], [0, 3]])",
    "pad(v, [[0, 0]]) + pad(s, [])",
    "pad(x[0], [[2, 0], [0, 1]])[1:]",
    "concat([m, m * 2, -m], 1)",
    "concat([m], -1)",
    "concat([x[0][:, :4], m[::-1, ...]], 0)",
    "stack([m, m])",
    "stack([m, -m, m[::-1]], -1)",
    "stack([s, 2 * s, s * s], 0)",
    "gather(p, i)",
    "gather(p, i, 1)",
    "gather(p, [0, 3, 3], -2)[1]",
    "gather(x, i, -1)",
    "one_hot(i, 4)",
    "one_hot(l, 1) * 3",
    "sparse_softmax_cross_entropy(l, z)",
    "mean(sparse_softmax_cross_entropy(l, z[:, ::-1]))",
    "sparse_softmax_cross_entropy(l, z)[1:] ** 2",
];

#[test]
fn structure_programs_round_trip() {
    for dtype in [DType::F32, DType::F64] {
        for static_shapes in [true, false] {
            let g = Graph::new();
            let o = options(dtype, static_shapes);
            let mut outs = Vec::new();
            for src in PROGRAMS {
                let p = parse(&g, src, &o).unwrap_or_else(|e| panic!("`{src}`: {e}"));
                let text = round_trip(&g, &[("y", p.output)], dtype);
                assert!(!text.is_empty(), "{src}");
                outs.push(p.output);
            }
            // all at once, sharing nodes
            let names: Vec<String> = (0..outs.len()).map(|k| format!("out{k}")).collect();
            let outputs: Vec<(&str, NodeId)> = names
                .iter()
                .map(String::as_str)
                .zip(outs.iter().copied())
                .collect();
            round_trip(&g, &outputs, dtype);
        }
    }
}

/// Programs differentiated with `grad`, whose gradient graphs hold the
/// internal ops of the structure functions; and whether building the
/// gradient needs static sizes (`concat`'s split points and the number of
/// classes of `sparse_softmax_cross_entropy`).
const GRADIENTS: [(&str, &str, bool); 9] = [
    ("sum(x[1:, ::-2, 0] ** 2)", "x", false),
    ("sum(m[0] * m[-1][::-1])", "m", false),
    ("sum(pad(m, [[1, 0], [2, 2]]) ** 3)", "m", false),
    ("sum(concat([m, m * m], 0) ** 2)", "m", true),
    ("sum(stack([m, sin(m)], 1))", "m", true),
    ("sum(gather(p, i) ** 2)", "p", false),
    (
        "sum(gather(p, i, 1)[..., ::-1] * gather(p, [2, 0, 0], 1)[:1])",
        "p",
        false,
    ),
    ("sum(sparse_softmax_cross_entropy(l, z))", "z", true),
    (
        "sum(one_hot(l, 6) * z) + sum(sparse_softmax_cross_entropy(l, z * z))",
        "z",
        true,
    ),
];

/// Whether a node of the graph is one of these ops.
fn holds(g: &Graph, name: &str) -> bool {
    g.nodes().iter().any(|n| n.op.name() == name)
}

#[test]
fn gradient_graphs_of_structure_programs_round_trip() {
    for dtype in [DType::F32, DType::F64] {
        for static_shapes in [true, false] {
            let g = Graph::new();
            let o = options(dtype, static_shapes);
            for (src, wrt, needs_sizes) in GRADIENTS {
                if needs_sizes && !static_shapes {
                    continue;
                }
                // first and second derivatives, written in the language
                let program =
                    format!("y = {src}\nd = grad(y, {wrt})\ndd = grad(sum(d * d), {wrt})\n");
                let p = parse(&g, &program, &o).unwrap_or_else(|e| panic!("`{program}`: {e}"));
                let outs: Vec<(&str, NodeId)> = ["y", "d", "dd"]
                    .into_iter()
                    .map(|n| (n, p.bindings[n]))
                    .collect();
                round_trip(&g, &outs, dtype);
                for &(name, id) in &outs {
                    round_trip(&g, &[(name, id)], dtype);
                }
            }
            let mut ops = vec!["slice_grad", "gather_grad", "pad"];
            if static_shapes {
                ops.extend(["label_one_hot", "concat"]);
            }
            for op in ops {
                assert!(holds(&g, op), "no `{op}` node among the gradients");
            }
        }
    }
}

#[test]
fn the_internal_gradient_ops_print_in_the_language() {
    // their printed forms parse back by themselves
    let g = Graph::new();
    let o = options(DType::F64, true);
    let p = parse(
        &g,
        "a = sum(x[1, ::-1] ** 2); da = grad(a, x)\n\
         b = sum(gather(p, i, 1) ** 2); db = grad(b, p)\n\
         c = sum(sparse_softmax_cross_entropy(l, z)); dc = grad(c, z)",
        &o,
    )
    .expect("parses");
    let text = round_trip(
        &g,
        &[
            ("da", p.bindings["da"]),
            ("db", p.bindings["db"]),
            ("dc", p.bindings["dc"]),
        ],
        DType::F64,
    );
    for name in ["slice_grad(", "gather_grad(", "label_one_hot("] {
        assert!(text.contains(name), "`{name}` not printed in\n{text}");
    }
    for node in g.nodes().iter() {
        if let Op::SliceGrad { items } = &node.op {
            assert!(!items.is_empty());
        }
    }
}

/// Values `0.1 k - 1` for a shape, and integer indices `k mod n`.
fn filled(dims: &[usize], index_range: Option<usize>) -> ArrayD<f64> {
    let n: usize = dims.iter().product();
    let v: Vec<f64> = (0..n)
        .map(|k| match index_range {
            Some(r) => (k % r) as f64,
            None => 0.1 * k as f64 - 1.0,
        })
        .collect();
    ArrayD::from_shape_vec(IxDyn(dims), v).expect("sizes match")
}

/// The value of each input: indices for `i` (rows of `p`, in [0, 3)) and
/// `l` (classes of `z`, in [0, 6)).
fn input_value(name: &str, dims: &[usize]) -> ArrayD<f64> {
    match name {
        "i" => filled(dims, Some(3)),
        "l" => ArrayD::from_shape_vec(IxDyn(dims), vec![5.0, 0.0, 2.0]).expect("three labels"),
        _ => filled(dims, None),
    }
}

/// Evaluates `outs` of `g`, whose inputs `inputs` are fed by [`input_value`].
fn values(g: &Graph, inputs: &[(String, NodeId)], outs: &[NodeId]) -> Vec<Vec<f64>> {
    let arrays: Vec<ArrayD<f64>> = inputs
        .iter()
        .map(|(name, _)| {
            let dims = INPUTS
                .iter()
                .find(|(n, _)| n == name)
                .expect("known input")
                .1;
            input_value(name, dims)
        })
        .collect();
    let feeds: HashMap<NodeId, ValueView<'_>> = inputs
        .iter()
        .zip(&arrays)
        .map(|((_, id), a)| (*id, ValueView::F64(a.view())))
        .collect();
    evaluate(g, outs, &feeds)
        .unwrap_or_else(|e| panic!("evaluation fails: {e}"))
        .iter()
        .map(|v| v.to_f64_vec())
        .collect()
}

#[test]
fn printed_programs_compute_the_same_values_in_a_fresh_graph() {
    let o = options(DType::F64, true);
    let mut sources: Vec<String> = PROGRAMS.iter().map(|s| s.to_string()).collect();
    for (src, wrt, _) in GRADIENTS {
        sources.push(format!("y = {src}\ngrad(y, {wrt})"));
        sources.push(format!("y = {src}\ngrad(sum(grad(y, {wrt}) ** 2), {wrt})"));
    }
    for src in &sources {
        let g = Graph::new();
        let p = parse(&g, src, &o).unwrap_or_else(|e| panic!("`{src}`: {e}"));
        let want = values(&g, &p.inputs, &[p.output]);
        let text = print_program(&g, &[("out", p.output)]);
        let fresh = Graph::new();
        let q = parse(&fresh, &text, &o).unwrap_or_else(|e| panic!("`{text}`: {e}"));
        let got = values(&fresh, &q.inputs, &[q.bindings["out"]]);
        assert_eq!(got, want, "`{src}` printed as\n{text}computes other values");
    }
}

#[test]
fn a_slice_of_a_scalar_round_trips() {
    for src in [
        "s[...] + v[...]",
        "sum(x)[...]",
        "stack([s, s[...]])",
        "s[...]",
    ] {
        let g = Graph::new();
        let p =
            parse(&g, src, &options(DType::F64, true)).unwrap_or_else(|e| panic!("`{src}`: {e}"));
        round_trip(&g, &[("y", p.output)], DType::F64);
    }
}
