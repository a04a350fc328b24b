//! The expression language's parser: precedence, functions, statements, `grad`.

use std::collections::HashMap;

use gradjit::graph::{
    BinaryOp, DType, Graph, NodeId, Op, Origin, ReduceOp, Shape, UnaryOp, BINARY_OPS, REDUCE_OPS,
    UNARY_OPS,
};
use gradjit::interp::evaluate;
use gradjit::text::{parse, ParseOptions, Program};
use gradjit::value::{Value, ValueView};
use ndarray::{ArrayD, IxDyn};

fn opts() -> ParseOptions {
    ParseOptions::new(DType::F64)
}

/// Options giving `x` the shape [2, 3] and `y` the shape [3, 2].
fn shaped() -> ParseOptions {
    let mut o = opts();
    o.input_shapes.insert("x".into(), Shape::known(&[2, 3]));
    o.input_shapes.insert("y".into(), Shape::known(&[3, 2]));
    o
}

fn parse_with(g: &Graph, src: &str, o: &ParseOptions) -> Program {
    parse(g, src, o).unwrap_or_else(|e| panic!("{src:?} should parse: {e}"))
}

fn parse_ok(g: &Graph, src: &str) -> Program {
    parse_with(g, src, &opts())
}

fn array(shape: &[usize], values: &[f64]) -> ArrayD<f64> {
    ArrayD::from_shape_vec(IxDyn(shape), values.to_vec()).expect("shape matches")
}

/// Evaluates the program's output with the given feeds.
fn eval_with(src: &str, feeds: &[(&str, ArrayD<f64>)]) -> Vec<f64> {
    let g = Graph::new();
    let p = parse_ok(&g, src);
    let values: Vec<(NodeId, Value)> = feeds
        .iter()
        .map(|(name, a)| {
            let id = p
                .inputs
                .iter()
                .find(|(n, _)| n == name)
                .expect("an input")
                .1;
            (id, Value::F64(a.clone()))
        })
        .collect();
    let feeds: HashMap<NodeId, ValueView<'_>> =
        values.iter().map(|(id, v)| (*id, v.view())).collect();
    let out = evaluate(&g, &[p.output], &feeds).unwrap_or_else(|e| panic!("{src:?}: {e}"));
    out[0].to_f64_vec()
}

fn eval(src: &str) -> f64 {
    let v = eval_with(src, &[]);
    assert_eq!(v.len(), 1, "{src:?} is not a scalar");
    v[0]
}

/// Checks that two programs build the very same node.
fn same(a: &str, b: &str) {
    let g = Graph::new();
    let pa = parse_ok(&g, a);
    let pb = parse_ok(&g, b);
    assert_eq!(
        pa.output, pb.output,
        "{a:?} and {b:?} should build the same node"
    );
}

/// The output node's operation.
fn op_of(src: &str, o: &ParseOptions) -> Op {
    let g = Graph::new();
    let p = parse_with(&g, src, o);
    g.node(p.output).op
}

#[test]
fn precedence_follows_the_spec_table() {
    // comparisons are loosest, then + -, then * / @, unary minus, **
    assert_eq!(eval("1 + 2 * 3"), 7.0);
    assert_eq!(eval("(1 + 2) * 3"), 9.0);
    assert_eq!(eval("1 + 2 < 4"), 1.0);
    assert_eq!(eval("4 < 1 + 2"), 0.0);
    assert_eq!(eval("2 * 3 ** 2"), 18.0);
    same("a < b + c * d ** e", "less(a, add(b, mul(c, pow(d, e))))");
    same("a * b + c", "add(mul(a, b), c)");
    same("-a * b", "mul(neg(a), b)");
    same("a == b != c", "not_equal(equal(a, b), c)");
    same("a <= b >= c", "greater_equal(less_equal(a, b), c)");
}

#[test]
fn binary_operators_are_left_associative() {
    assert_eq!(eval("3 > 2 > 1"), 0.0); // (3 > 2) > 1, not Python's chaining
    assert_eq!(eval("1 - 2 - 3"), -4.0);
    assert_eq!(eval("8 / 4 / 2"), 1.0);
    same("a - b + c", "add(sub(a, b), c)");
    same("a / b * c", "mul(div(a, b), c)");
}

#[test]
fn power_is_right_associative_and_binds_tighter_than_unary_minus() {
    assert_eq!(eval("2 ** 3 ** 2"), 512.0);
    assert_eq!(eval("-2 ** 2"), -4.0);
    same("-x ** 2", "neg(pow(x, 2))");
    same("-2 ** 2", "neg(pow(2, 2))");
    same("a ** b ** c", "pow(a, pow(b, c))");
    same("(a ** b) ** c", "pow(pow(a, b), c)");
}

#[test]
fn unary_minus_and_the_exponent_may_start_with_a_minus() {
    assert_eq!(eval("--3"), 3.0);
    assert_eq!(eval("2 ** -1"), 0.5);
    assert_eq!(eval("2 ** --1"), 2.0);
    assert_eq!(eval("2 * -3"), -6.0);
    assert_eq!(eval("1 - -1"), 2.0);
    same("--x", "neg(neg(x))");
    same("2 ** -x", "pow(2, neg(x))");
    same("a - -b", "sub(a, neg(b))");
    same("2 ** -3 ** 2", "pow(2, neg(pow(3, 2)))");
}

#[test]
fn minus_on_a_bare_number_is_a_negative_constant() {
    let g = Graph::new();
    let p = parse_ok(&g, "-3");
    match g.node(p.output).op {
        Op::Constant(lit) => assert_eq!(lit.values(), &[-3.0]),
        other => panic!("expected a constant, got {other:?}"),
    }
    let neg_zero = parse_ok(&g, "- 0").output;
    match g.node(neg_zero).op {
        Op::Constant(lit) => assert!(lit.values()[0] == 0.0 && lit.values()[0].is_sign_negative()),
        other => panic!("expected a constant, got {other:?}"),
    }
    // not on a parenthesized literal, nor on the base of `**`
    assert_eq!(
        g.node(parse_ok(&g, "-(3)").output).op,
        Op::Unary(UnaryOp::Neg)
    );
    assert_eq!(
        g.node(parse_ok(&g, "-3**2").output).op,
        Op::Unary(UnaryOp::Neg)
    );
    same("x - 3", "sub(x, 3)");
    same("-3 * x", "mul(-3, x)");
    assert_eq!(eval("-(3)"), eval("-3"));
}

#[test]
fn number_literals_take_the_usual_forms() {
    assert_eq!(eval("3"), 3.0);
    assert_eq!(eval("3."), 3.0);
    assert_eq!(eval(".5"), 0.5);
    assert_eq!(eval("1e3"), 1000.0);
    assert_eq!(eval("1E-3"), 0.001);
    assert_eq!(eval("2.5e+2"), 250.0);
    assert_eq!(eval("1e999"), f64::INFINITY);
    assert_eq!(eval("-1e999"), f64::NEG_INFINITY);
    // rounded to the program's dtype
    let g = Graph::new();
    let p = parse(&g, "0.1", &ParseOptions::new(DType::F32)).expect("parses");
    match g.node(p.output).op {
        Op::Constant(lit) => assert_eq!(lit.values(), &[f64::from(0.1f32)]),
        other => panic!("expected a constant, got {other:?}"),
    }
    assert_eq!(g.node(p.output).dtype, DType::F32);
}

#[test]
fn list_literals_are_constant_tensors() {
    let g = Graph::new();
    let lit = |src: &str| match g.node(parse_ok(&g, src).output).op {
        Op::Constant(lit) => (lit.shape().to_vec(), lit.values().to_vec()),
        other => panic!("{src:?}: expected a constant, got {other:?}"),
    };
    assert_eq!(lit("[1, 2, 3]"), (vec![3], vec![1.0, 2.0, 3.0]));
    assert_eq!(
        lit("[[1, -2], [3e0, -.5]]"),
        (vec![2, 2], vec![1.0, -2.0, 3.0, -0.5])
    );
    assert_eq!(lit("[[[1], [2]]]"), (vec![1, 2, 1], vec![1.0, 2.0]));
    assert_eq!(lit("[]"), (vec![0], vec![]));
    assert_eq!(lit("[[], []]"), (vec![2, 0], vec![]));
    assert_eq!(lit("[\n  1,\n  2\n]"), (vec![2], vec![1.0, 2.0]));
    assert_eq!(lit("fill(-2, [2, 2])"), (vec![2, 2], vec![-2.0; 4]));
    assert_eq!(lit("fill(1, [0, 3])"), (vec![0, 3], vec![]));
    same("[1, 2]", "[1., 2.0]");
    assert_eq!(eval("sum([[1, 2], [3, 4]])"), 10.0);
    assert_eq!(eval_with("-[1, 2] + 0", &[]), vec![-1.0, -2.0]);
}

#[test]
fn every_elementwise_function_builds_its_op() {
    for u in UNARY_OPS {
        assert_eq!(op_of(&format!("{}(a)", u.name()), &opts()), Op::Unary(u));
    }
    for b in BINARY_OPS {
        assert_eq!(
            op_of(&format!("{}(a, b)", b.name()), &opts()),
            Op::Binary(b)
        );
    }
    assert_eq!(op_of("where(c, a, b)", &opts()), Op::Where);
    assert_eq!(eval("where(1, 2, 3)"), 2.0);
    assert_eq!(eval("where(0, 2, 3)"), 3.0);
    assert_eq!(eval("pow(2, 3) + maximum(1, 4) + minimum(1, 4)"), 13.0);
    same("exp(x) + relu(x)", "add(exp(x), relu(x))");
    same("maximum(a, b)", "maximum(a, b)");
    same("a < b", "less(a, b)");
}

fn reduce(op: ReduceOp, axes: Option<Vec<usize>>, keepdims: bool) -> Op {
    Op::Reduce { op, axes, keepdims }
}

#[test]
fn every_reduction_takes_each_axis_form() {
    let o = shaped(); // x: [2, 3]
    for r in REDUCE_OPS {
        let f = r.name();
        let of = |args: &str| op_of(&format!("{f}(x{args})"), &o);
        assert_eq!(of(""), reduce(r, None, false));
        assert_eq!(of(", 1"), reduce(r, Some(vec![1]), false));
        assert_eq!(of(", -1"), reduce(r, Some(vec![1]), false));
        assert_eq!(of(", [-1, 0]"), reduce(r, Some(vec![0, 1]), false));
        assert_eq!(of(", []"), reduce(r, Some(vec![]), false));
        assert_eq!(of(", 0, 1"), reduce(r, Some(vec![0]), true));
        assert_eq!(of(", [1], 0"), reduce(r, Some(vec![1]), false));
        assert_eq!(of(", None"), reduce(r, None, false));
        assert_eq!(of(", None, 1"), reduce(r, None, true));
    }
    let x = || ("x", array(&[2, 3], &[1., 2., 3., 4., 5., 6.]));
    assert_eq!(eval_with("sum(x, 1)", &[x()]), vec![6.0, 15.0]);
    assert_eq!(
        eval_with("sum(x, [])", &[x()]),
        vec![1., 2., 3., 4., 5., 6.]
    );
    assert_eq!(eval_with("max(x, 0, 1)", &[x()]), vec![4., 5., 6.]);
    assert_eq!(eval_with("mean(x)", &[x()]), vec![3.5]);
}

#[test]
fn shape_functions_take_each_argument_form() {
    let o = shaped();
    let g = Graph::new();
    let shape_of = |src: &str| g.node(parse_with(&g, src, &o).output).shape;
    assert_eq!(shape_of("reshape(x, [3, -1])"), Shape::known(&[3, 2]));
    assert_eq!(shape_of("reshape(x, [6])"), Shape::known(&[6]));
    assert_eq!(shape_of("transpose(x)"), Shape::known(&[3, 2]));
    assert_eq!(shape_of("transpose(x, [1, 0])"), Shape::known(&[3, 2]));
    assert_eq!(
        shape_of("broadcast_to(x, [4, 2, 3])"),
        Shape::known(&[4, 2, 3])
    );
    assert_eq!(shape_of("x @ y"), Shape::known(&[2, 2]));
    assert_eq!(
        shape_of("expand_dims(x, [0, -1])"),
        Shape::known(&[1, 2, 3, 1])
    );
    assert_eq!(shape_of("expand_dims(x, 1)"), Shape::known(&[2, 1, 3]));
    assert_eq!(shape_of("count(x, [1])"), Shape::scalar());
    assert_eq!(op_of("transpose(x)", &o), Op::Transpose { perm: None });
    assert_eq!(
        op_of("transpose(x, [1, 0])", &o),
        Op::Transpose {
            perm: Some(vec![1, 0])
        }
    );
    assert_eq!(
        op_of("reshape(x, [-1])", &o),
        Op::Reshape { dims: vec![-1] }
    );
    assert_eq!(op_of("count(x)", &o), Op::Count { axes: None });
    assert_eq!(
        op_of("count(x, -1)", &o),
        Op::Count {
            axes: Some(vec![1])
        }
    );
    let g = Graph::new();
    assert_eq!(
        parse_with(&g, "matmul(x, y)", &o).output,
        parse_with(&g, "x @ y", &o).output
    );
    let x = ("x", array(&[2, 3], &[1., 2., 3., 4., 5., 6.]));
    let a = "a = [[1, 2, 3], [4, 5, 6]]";
    assert_eq!(eval_with(&format!("{a}; transpose(a) @ a"), &[])[0], 17.0);
    assert_eq!(eval_with("count(x, [1])", &[x]), vec![3.0]);
}

#[test]
fn internal_functions_build_their_ops() {
    for (src, op) in [
        ("stop_gradient(a)", Op::StopGradient),
        ("identity(a)", Op::Identity),
        ("ones_like(a)", Op::OnesLike),
        ("zeros_like(a)", Op::ZerosLike),
        ("sum_to(a, b)", Op::SumTo),
        ("broadcast_like(a, b)", Op::BroadcastLike),
        ("reshape_like(a, b)", Op::ReshapeLike),
        ("relu_grad(a, b)", Op::Binary(BinaryOp::ReluGrad)),
        ("mul_no_nan(a, b)", Op::Binary(BinaryOp::MulNoNan)),
    ] {
        assert_eq!(op_of(src, &opts()), op, "{src}");
    }
    assert_eq!(eval("relu_grad(5, -1) + mul_no_nan(1e999, 0)"), 0.0);
    assert_eq!(eval("sum(ones_like([1, 2, 3]))"), 3.0);
}

#[test]
fn statements_comments_and_newlines() {
    let g = Graph::new();
    let src = "# a comment line\n\na = 1; b = a + 1   # trailing comment\n;;\n  c = (a +\n    b) * sum([1,\n 2])\nc\n";
    let p = parse_ok(&g, src);
    let names: Vec<Option<&str>> = p.statements.iter().map(|s| s.name.as_deref()).collect();
    assert_eq!(names, vec![Some("a"), Some("b"), Some("c"), None]);
    let origins: Vec<(u32, u32)> = p
        .statements
        .iter()
        .map(|s| (s.origin.line, s.origin.column))
        .collect();
    assert_eq!(origins, vec![(3, 1), (3, 8), (5, 3), (8, 1)]);
    assert_eq!(p.output, p.bindings["c"]);
    assert_eq!(eval(src), 9.0);
    assert_eq!(eval("f = exp(0)\n\n\n  f * 2"), 2.0);
    assert_eq!(eval("sum(\n[1, 2],\n0\n)"), 3.0);
}

#[test]
fn rebinding_uses_the_latest_binding() {
    assert_eq!(eval("a = 1; a = a + 1; a = a * 3; a"), 6.0);
    let g = Graph::new();
    let p = parse_ok(&g, "a = x; b = a * 2; a = b + 1");
    assert_eq!(p.bindings["a"], p.output);
    assert_eq!(p.statements[0].node, p.inputs[0].1);
    assert_eq!(p.bindings.len(), 2);
}

#[test]
fn unbound_names_are_inputs_in_order_of_first_appearance() {
    let g = Graph::new();
    let p = parse_with(&g, "h = b + a * b\nz = h + c + a", &shaped());
    let names: Vec<&str> = p.inputs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, vec!["b", "a", "c"]);
    for (name, id) in &p.inputs {
        let n = g.node(*id);
        assert_eq!(n.op, Op::Placeholder { name: name.clone() });
        assert_eq!(n.dtype, DType::F64);
        assert_eq!(n.shape, Shape::unknown());
    }
    let p = parse_with(&g, "x + 1", &shaped());
    assert_eq!(g.node(p.inputs[0].1).shape, Shape::known(&[2, 3]));
    // an input already in the graph keeps its shape when not listed
    let p = parse_ok(&g, "x * 2");
    assert_eq!(g.node(p.inputs[0].1).shape, Shape::known(&[2, 3]));
}

#[test]
fn nodes_record_where_they_were_written() {
    let g = Graph::new();
    let p = parse_ok(&g, "y = (x +\n  exp(-x) * [1, 2])\ny ** 2");
    let origin = |id: NodeId| g.origin(id).map(|o| (o.line, o.column));
    let add = p.bindings["y"];
    assert_eq!(origin(add), Some((1, 8)));
    assert_eq!(origin(p.inputs[0].1), Some((1, 6)));
    let [_, mul] = g.node(add).inputs[..] else {
        panic!("add has two inputs")
    };
    assert_eq!(origin(mul), Some((2, 11)));
    let [exp, list] = g.node(mul).inputs[..] else {
        panic!("mul has two inputs")
    };
    assert_eq!(origin(exp), Some((2, 3)));
    assert_eq!(origin(list), Some((2, 13)));
    assert_eq!(origin(g.node(exp).inputs[0]), Some((2, 7)));
    assert_eq!(origin(p.output), Some((3, 3)));
    assert_eq!(p.statements[1].origin, Origin { line: 3, column: 1 });
}

#[test]
fn grad_in_text() {
    let at = |x: f64| vec![("x", ArrayD::from_elem(IxDyn(&[]), x))];
    assert_eq!(eval_with("grad(x*x + 3*x, x)", &at(2.0)), vec![7.0]);
    // second derivative of x^3 is 6x
    let xs = || ("x", array(&[3], &[1.0, 2.0, -0.5]));
    assert_eq!(
        eval_with("grad(grad(x*x*x, x), x)", &[xs()]),
        vec![6.0, 12.0, -3.0]
    );
    // with respect to a bound name; of sum(y) for a tensor y
    assert_eq!(
        eval_with("h = x * x; grad(3*h + h*h, h)", &[xs()]),
        vec![5.0, 11.0, 3.5]
    );
    assert_eq!(
        eval_with("grad(sum(x) * 2, x)", &[xs()]),
        vec![2.0, 2.0, 2.0]
    );
}

#[test]
fn grad_nodes_take_the_position_of_the_call() {
    let g = Graph::new();
    let p = parse_ok(&g, "y = x * x\ndy = 1 + grad(y, x)");
    let dy = g.node(p.bindings["dy"]).inputs[1];
    assert_eq!(
        g.origin(dy),
        Some(Origin {
            line: 2,
            column: 10
        })
    );
}
