//! The benchmark programs (B1–B6) and the seed programs, with their gradients, on
//! every engine: each agrees with the interpreter; B3 and B4 in f64 also
//! agree with central finite differences through the native engine.

use std::collections::HashMap;

use gradjit::autodiff::{gradients, GradientOptions};
use gradjit::exec::Engine;
use gradjit::graph::Shape;
use gradjit::text::{parse, ParseOptions};
use gradjit::{DType, Graph, NodeId, Session, Value};
use ndarray::ArrayD;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

struct Case {
    graph: Graph,
    fetch: Vec<NodeId>,
    feeds: Vec<(NodeId, Value)>,
}

fn build(src: &str, inputs: &[(&str, &[usize])], wrt: &[&str], dtype: DType, seed: u64) -> Case {
    let graph = Graph::new();
    let shapes: HashMap<String, Shape> = inputs
        .iter()
        .map(|(n, s)| (n.to_string(), Shape::known(s)))
        .collect();
    let prog = parse(
        &graph,
        src,
        &ParseOptions {
            dtype,
            input_shapes: shapes,
            ..Default::default()
        },
    )
    .expect("parses");
    let id = |n: &str| {
        prog.inputs
            .iter()
            .find(|(m, _)| m == n)
            .map(|(_, i)| *i)
            .expect("input")
    };
    let mut fetch = vec![prog.output];
    if !wrt.is_empty() {
        let xs: Vec<NodeId> = wrt.iter().map(|n| id(n)).collect();
        let gs =
            gradients(&graph, &[prog.output], &xs, &GradientOptions::default()).expect("grads");
        fetch.extend(gs.into_iter().map(|g| g.expect("connected")));
    }
    let mut rng = SmallRng::seed_from_u64(seed);
    let feeds = inputs
        .iter()
        .map(|(n, s)| {
            let len: usize = s.iter().product();
            // class labels are integers, the rest uniform in [-1, 1)
            let data: Vec<f64> = (0..len)
                .map(|_| match *n {
                    "labels" => f64::from(rng.gen_range(0..10u8)),
                    _ => rng.gen_range(-1.0..1.0),
                })
                .collect();
            let a = ArrayD::from_shape_vec(s.to_vec(), data).expect("sizes");
            (id(n), Value::from_f64_array(a, dtype))
        })
        .collect();
    Case {
        graph,
        fetch,
        feeds,
    }
}

fn run(c: &Case, engine: Engine) -> Vec<Value> {
    let t: Vec<_> = c.fetch.iter().map(|&i| c.graph.tensor(i)).collect();
    let f: Vec<_> = c
        .feeds
        .iter()
        .map(|(i, v)| (c.graph.tensor(*i), v))
        .collect();
    Session::with_engine(&c.graph, engine)
        .run(&t, &f)
        .expect("runs")
}

const B1: &str = "y = x*x + 3*x\ngrad(y, x)";
const B2: &str = "y = sum(tanh(a*x + b) * sigmoid(c*x) + exp(-x*x))";
const B3: &str = "loss = mean(softplus(-t * (X @ w + b)))";
const B4: &str = "h = tanh(X @ W1 + b1); o = h @ W2 + b2; loss = mean((o - T)**2)";
const B5: &str = "h = relu(X @ W1 + b1); logits = h @ W2 + b2
loss = mean(sparse_softmax_cross_entropy(labels, logits))";
const B6: &str = "c1 = relu(conv2d(X, K1, 1, \"SAME\") + k1); p1 = max_pool2d(c1, 2)
c2 = relu(conv2d(p1, K2, 1, \"SAME\") + k2); p2 = max_pool2d(c2, 2)
logits = reshape(p2, [-1, 1568]) @ W + b
loss = mean(sparse_softmax_cross_entropy(labels, logits))";

fn cases(dtype: DType) -> Vec<(&'static str, Case)> {
    cases_with_rows(dtype, 67)
}

/// The cases, with `n` rows for B3 and B4 (from 1024 on, their steps run
/// in blocks of rows).
fn cases_with_rows(dtype: DType, n: usize) -> Vec<(&'static str, Case)> {
    vec![
        ("B1", build(B1, &[("x", &[1029])], &[], dtype, 1)),
        (
            "B2",
            build(
                B2,
                &[
                    ("x", &[1029]),
                    ("a", &[1029]),
                    ("b", &[1029]),
                    ("c", &[1029]),
                ],
                &["x", "a", "b", "c"],
                dtype,
                2,
            ),
        ),
        (
            "B3",
            build(
                B3,
                &[
                    ("X", &[n, 64]),
                    ("w", &[64, 1]),
                    ("b", &[1]),
                    ("t", &[n, 1]),
                ],
                &["w", "b"],
                dtype,
                3,
            ),
        ),
        (
            "B4",
            build(
                B4,
                &[
                    ("X", &[n, 32]),
                    ("W1", &[32, 64]),
                    ("b1", &[64]),
                    ("W2", &[64, 1]),
                    ("b2", &[1]),
                    ("T", &[n, 1]),
                ],
                &["W1", "b1", "W2", "b2"],
                dtype,
                4,
            ),
        ),
        (
            "B5",
            build(
                B5,
                &[
                    ("X", &[n, 784]),
                    ("W1", &[784, 128]),
                    ("b1", &[128]),
                    ("W2", &[128, 10]),
                    ("b2", &[10]),
                    ("labels", &[n]),
                ],
                &["W1", "b1", "W2", "b2"],
                dtype,
                6,
            ),
        ),
        (
            "B6",
            build(
                B6,
                &[
                    ("X", &[3, 28, 28, 1]),
                    ("K1", &[3, 3, 1, 16]),
                    ("k1", &[16]),
                    ("K2", &[3, 3, 16, 32]),
                    ("k2", &[32]),
                    ("W", &[1568, 10]),
                    ("b", &[10]),
                    ("labels", &[3]),
                ],
                &["K1", "k1", "K2", "k2", "W", "b"],
                dtype,
                7,
            ),
        ),
        (
            "seed2",
            build(
                "z = x*y + y*y",
                &[("x", &[]), ("y", &[])],
                &["x", "y"],
                dtype,
                5,
            ),
        ),
    ]
}

#[test]
fn every_engine_agrees_with_the_interpreter() {
    for dtype in [DType::F32, DType::F64] {
        let rel = if dtype == DType::F32 { 2e-4 } else { 1e-10 };
        for (name, c) in cases(dtype) {
            let want = run(&c, Engine::Interp);
            for engine in [Engine::Jit, Engine::JitUnfused, Engine::JitMt] {
                let got = run(&c, engine);
                for (k, (w, h)) in want.iter().zip(&got).enumerate() {
                    assert_eq!(w.shape(), h.shape(), "{name} {engine} fetch {k}");
                    let w = w.to_f64_vec();
                    let scale = w.iter().fold(1e-3f64, |m, v| m.max(v.abs()));
                    for (p, q) in w.iter().zip(h.to_f64_vec()) {
                        assert!(
                            (p - q).abs() <= rel * scale,
                            "{name} {dtype} {engine} fetch {k}: {p} vs {q}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn native_gradients_of_b3_and_b4_match_finite_differences() {
    // few rows (each step runs whole), and enough for blocks of rows,
    // where fewer elements are probed (each probe compiles and runs twice)
    for (rows, every) in [(67, 7), (2053, 41)] {
        fd_check(rows, every);
    }
}

/// Central differences of B3's and B4's loss against their native
/// gradients at every `every`-th element, with `rows` rows.
fn fd_check(rows: usize, every: usize) {
    for (name, c) in cases_with_rows(DType::F64, rows)
        .into_iter()
        .filter(|(n, _)| *n == "B3" || *n == "B4")
    {
        let base = run(&c, Engine::Jit);
        // inputs with gradients are fed after X (and before t/T): match by position in fetch
        let wrt: Vec<usize> = match name {
            "B3" => vec![1, 2],
            _ => vec![1, 2, 3, 4],
        };
        for (g_index, &feed_index) in wrt.iter().enumerate() {
            let grad = base[1 + g_index].to_f64_vec();
            let (id, v) = &c.feeds[feed_index];
            let orig = v.to_f64_vec();
            for (e, &analytic) in grad.iter().enumerate().step_by(every) {
                let h = 1e-6;
                let loss_at = |delta: f64| {
                    let mut data = orig.clone();
                    data[e] += delta;
                    let a = ArrayD::from_shape_vec(v.shape().to_vec(), data).expect("sizes");
                    let mut feeds: Vec<(NodeId, Value)> = c.feeds.clone();
                    feeds[feed_index] = (*id, Value::F64(a));
                    let t = c.graph.tensor(c.fetch[0]);
                    let f: Vec<_> = feeds.iter().map(|(i, v)| (c.graph.tensor(*i), v)).collect();
                    Session::with_engine(&c.graph, Engine::Jit)
                        .run(&[t], &f)
                        .expect("runs")[0]
                        .to_f64_vec()[0]
                };
                let numeric = (loss_at(h) - loss_at(-h)) / (2.0 * h);
                assert!(
                    (numeric - analytic).abs() <= 1e-6 * (1.0 + analytic.abs()),
                    "{name} ({rows} rows) d/d input {feed_index}[{e}]: analytic {analytic}, numeric {numeric}"
                );
            }
        }
    }
}
