//! The `stabilize` pass: numerically safe forms, their accuracy, and
//! gradients that stay finite.

use std::collections::HashMap;

use gradjit::simplify::Pipeline;
use gradjit::{DType, Graph, Shape, Value};
use ndarray::ArrayD;

use super::eval;
use super::lang::{equiv, parse, render, Env};

fn check(line: &str) {
    let (lhs, rhs) = line.split_once("=>").expect("a => b");
    let env = Env::new(DType::F32);
    let g = Graph::new();
    let start = parse(&g, &env, lhs);
    let out = Pipeline::standard()
        .with_stabilize(true)
        .run(&g, &[start])
        .unwrap();
    let want = parse(&out.graph, &env, rhs);
    assert!(
        equiv(&out.graph, out.roots[0], want),
        "{line}\n   got: {}\n  want: {}",
        render(&out.graph, out.roots[0]),
        render(&out.graph, want)
    );
    // and nothing happens with stabilize off
    let off = Pipeline::standard()
        .with_stabilize(false)
        .run(&g, &[start])
        .unwrap();
    assert!(!off.stats.iter().any(|s| s.name == "stabilize"));
}

#[test]
fn rules() {
    check("log(1 + x) => log1p(x)");
    check("log(x + 1) => log1p(x)");
    check("exp(x) - 1 => expm1(x)");
    check("exp(x) + -1 => expm1(x)");
    check("log(1 + exp(x)) => softplus(x)");
    check("log(sigmoid(x)) => -softplus(-x)");
    check("log(1 - sigmoid(x)) => -softplus(x)");
    check("log(sum(exp(a), [1])) => logsumexp(a, [1])");
    check("log(sum(exp(a))) => logsumexp(a)");
    check("log(exp(x)) => x");
    check("1 / (1 + exp(-x)) => sigmoid(x)");
    check("reciprocal(1 + exp(-x)) => sigmoid(x)");
    // the shape guard: log(1 + x) with a broadcasting 1 keeps its shape
    check("log(broadcast_to(1, [2, 4]) + x) => log(broadcast_to(1, [2, 4]) + x)");
}

/// Evaluates one-input `src` at each of `xs` (x: [n]), before and after.
fn before_after(src: &str, xs: &[f64], dtype: DType) -> (Vec<f64>, Vec<f64>) {
    let mut env = Env::new(dtype);
    env.shapes.insert("x", Shape::known(&[xs.len()]));
    let g = Graph::new();
    let y = parse(&g, &env, src);
    let out = Pipeline::standard()
        .with_stabilize(true)
        .run(&g, &[y])
        .unwrap();
    let x = Value::from_f64_array(
        ArrayD::from_shape_vec(vec![xs.len()], xs.to_vec()).unwrap(),
        dtype,
    );
    let feeds = HashMap::from([("x".to_string(), x)]);
    (
        eval(&g, &[y], &feeds).unwrap()[0].to_f64_vec(),
        eval(&out.graph, &out.roots, &feeds).unwrap()[0].to_f64_vec(),
    )
}

#[test]
fn stabilized_forms_are_accurate_where_the_naive_ones_are_not() {
    let xs = [1e-10, 1e-6, -0.25, 0.5, 3.0, 40.0, -60.0, -200.0, 200.0];
    type Reference = fn(f64) -> f64;
    let cases: [(&str, Reference); 6] = [
        ("log(1 + x)", |x| x.ln_1p()),
        ("exp(x) - 1", |x| x.exp_m1()),
        ("log(1 + exp(x))", |x| x.max(0.0) + (-x.abs()).exp().ln_1p()),
        ("log(sigmoid(x))", |x| {
            -((-x).max(0.0) + (-x.abs()).exp().ln_1p())
        }),
        ("log(1 - sigmoid(x))", |x| {
            -(x.max(0.0) + (-x.abs()).exp().ln_1p())
        }),
        ("1 / (1 + exp(-x))", |x| 1.0 / (1.0 + (-x).exp())),
    ];
    for (src, exact) in cases {
        let (_, after) = before_after(src, &xs, DType::F32);
        for (x, v) in xs.iter().zip(after) {
            let want = exact(*x);
            if !want.is_finite() || want.abs() > f64::from(f32::MAX) {
                continue;
            }
            let tol = 4.0 * f64::from(f32::EPSILON) * want.abs() + 1e-44;
            assert!((v - want).abs() <= tol, "{src} at {x}: {v}, want {want}");
        }
    }
    // where the naive form breaks down
    let (before, after) = before_after("log(sigmoid(x))", &[-200.0], DType::F32);
    assert_eq!((before[0], after[0]), (f64::NEG_INFINITY, -200.0));
    let (before, after) = before_after("log(1 + x)", &[1e-10], DType::F32);
    assert_eq!(before[0], 0.0);
    assert!((after[0] - 1e-10).abs() < 1e-16);
}

#[test]
fn logsumexp_does_not_overflow() {
    let mut env = Env::new(DType::F64);
    env.shapes.insert("x", Shape::known(&[2]));
    let g = Graph::new();
    let y = parse(&g, &env, "log(sum(exp(x)))");
    let out = Pipeline::standard()
        .with_stabilize(true)
        .run(&g, &[y])
        .unwrap();
    let x = Value::F64(ArrayD::from_shape_vec(vec![2], vec![1000.0, 1000.0]).unwrap());
    let feeds = HashMap::from([("x".to_string(), x)]);
    assert_eq!(
        eval(&g, &[y], &feeds).unwrap()[0].to_f64_vec(),
        [f64::INFINITY]
    );
    let v = eval(&out.graph, &out.roots, &feeds).unwrap()[0].to_f64_vec()[0];
    assert!((v - (1000.0 + 2f64.ln())).abs() < 1e-9);
}

#[test]
fn gradients_through_a_stabilized_forward_graph_stay_finite() {
    // d/dx log(sigmoid(x)) = 1 - sigmoid(x): raw, 0/0 once sigmoid underflows
    let g = Graph::new();
    let x = g.placeholder("x", DType::F32, Shape::known(&[3]));
    let y = x.sigmoid().log();
    let raw = g.gradients(&[y], &[x]).unwrap()[0].unwrap();
    let stable = Pipeline::stabilize_only().run(&g, &[y.id()]).unwrap();
    let h = &stable.graph;
    let hx = h.tensor(h.placeholder_named("x").unwrap());
    let hy = h.tensor(stable.roots[0]);
    let grad = h.gradients(&[hy], &[hx]).unwrap()[0].unwrap();
    let xv = Value::F32(ArrayD::from_shape_vec(vec![3], vec![-200.0, 0.0, 200.0]).unwrap());
    let feeds = HashMap::from([("x".to_string(), xv)]);
    let before = eval(&g, &[raw.id()], &feeds).unwrap()[0].to_f64_vec();
    let after = eval(h, &[grad.id()], &feeds).unwrap()[0].to_f64_vec();
    assert!(before[0].is_nan());
    assert_eq!(after, [1.0, 0.5, 0.0]);
}
