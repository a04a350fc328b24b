//! `Executable::entry`: the whole program as one native function (the
//! driver) agrees with the interpreter on the benchmark programs and on
//! every data-movement and reduction step it lowers, in f32 and f64, with
//! vector tails, broadcasting and transposed operands; and it agrees with
//! the executor that runs the same kernels.

mod common;

use common::{compile_text, in_feed_order, random_value};
use gradjit::exec::{Engine, ExecError};
use gradjit::{DType, Session, Value};

/// A program's text and its inputs' names and shapes.
type Program = (&'static str, &'static [(&'static str, &'static [usize])]);

/// Runs `text` (with gradients of its output with respect to `wrt`) through
/// the driver, the executor and the interpreter, and compares.
fn agree(text: &str, wrt: &[&str], feeds: &[(&str, &[usize])], seed: u64) {
    for dtype in [DType::F32, DType::F64] {
        let c = compile_text(text, wrt, feeds, dtype, 1);
        let mut rng = common::rng(seed);
        let values: Vec<Value> = feeds
            .iter()
            .map(|(name, d)| {
                if name.starts_with("idx") || *name == "labels" {
                    // indices: integers in [0, 3)
                    let v = random_value(&mut rng, d, DType::F64).to_f64_array();
                    Value::from_f64_array(v.mapv(|x| ((x + 1.0) * 1.5).floor()), dtype)
                } else {
                    random_value(&mut rng, d, dtype)
                }
            })
            .collect();
        let names: Vec<&str> = feeds.iter().map(|(n, _)| *n).collect();
        let views = in_feed_order(&c.exe, &names, &values);
        let mut outs: Vec<Value> = c
            .exe
            .output_shapes()
            .iter()
            .map(|s| Value::from_f64_array(ndarray::ArrayD::zeros(s.clone()), dtype))
            .collect();
        let mut out_views: Vec<_> = outs.iter_mut().map(Value::view_mut).collect();
        c.exe
            .run_entry(&views, &mut out_views)
            .unwrap_or_else(|e| panic!("{text}: {e}"));
        drop(out_views);
        // on two threads: the same chunks, the same bits
        let mt = compile_text(text, wrt, feeds, dtype, 2);
        let executor = mt
            .exe
            .run(&in_feed_order(&mt.exe, &names, &values))
            .expect("the executor runs");
        let fetch: Vec<_> = c.fetches.iter().map(|&i| c.graph.tensor(i)).collect();
        let fed: Vec<_> = feeds
            .iter()
            .zip(&values)
            .map(|((n, _), v)| (c.graph.tensor(c.input(n)), v))
            .collect();
        let interp = Session::with_engine(&c.graph, Engine::Interp)
            .run(&fetch, &fed)
            .expect("the interpreter runs");
        let tol = if dtype == DType::F32 { 2e-4 } else { 1e-11 };
        for (j, got) in outs.iter().enumerate() {
            let got = got.to_f64_array();
            let exec = executor[j].to_f64_array();
            for (i, (a, b)) in got.iter().zip(exec.iter()).enumerate() {
                assert!(
                    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
                    "{text} ({dtype:?}): output {j} element {i}: one thread {a}, two {b}"
                );
            }
            for (what, want) in [("interpreter", &interp[j]), ("executor", &executor[j])] {
                let want = want.to_f64_array();
                assert_eq!(got.shape(), want.shape(), "{text}: output {j}");
                let scale = want.iter().fold(1.0f64, |m, v| m.max(v.abs()));
                for (i, (a, b)) in got.iter().zip(want.iter()).enumerate() {
                    let ok = (a.is_nan() && b.is_nan()) || (a - b).abs() <= tol * scale;
                    assert!(
                        ok,
                        "{text} ({dtype:?}): output {j} element {i}: driver {a}, {what} {b}"
                    );
                }
            }
        }
    }
}

#[test]
fn benchmark_programs() {
    agree("y = x*x + 3*x\ngrad(y, x)", &[], &[("x", &[1029])], 1);
    let n = [1029];
    agree(
        "y = sum(tanh(a*x + b) * sigmoid(c*x) + exp(-x*x))",
        &["x", "a", "b", "c"],
        &[("x", &n), ("a", &n), ("b", &n), ("c", &n)],
        2,
    );
    for rows in [67, 2048] {
        agree(
            "loss = mean(softplus(-t * (X @ w + b)))",
            &["w", "b"],
            &[
                ("X", &[rows, 64]),
                ("w", &[64, 1]),
                ("b", &[1]),
                ("t", &[rows, 1]),
            ],
            3,
        );
        agree(
            "h = tanh(X @ W1 + b1); o = h @ W2 + b2; loss = mean((o - T)**2)",
            &["W1", "b1", "W2", "b2"],
            &[
                ("X", &[rows, 32]),
                ("W1", &[32, 64]),
                ("b1", &[64]),
                ("W2", &[64, 1]),
                ("b2", &[1]),
                ("T", &[rows, 1]),
            ],
            4,
        );
    }
}

#[test]
fn whole_reductions_over_long_rows() {
    // one row longer than the re-blocking size, with a shorter last block
    agree("sum(x*x) + max(x)", &["x"], &[("x", &[3 * 4096 + 77])], 5);
    agree("mean(exp(x), 1)", &["x"], &[("x", &[5, 9001])], 6);
}

#[test]
fn products_of_every_layout() {
    // vector blocks, single vectors and scalar columns; transposed operands
    for (m, k, n) in [(1, 1, 1), (3, 5, 7), (9, 4, 8), (13, 17, 19), (4, 0, 3)] {
        agree(
            "y = a @ b",
            &["a", "b"],
            &[("a", &[m, k]), ("b", &[k, n])],
            7,
        );
    }
    agree(
        "y = transpose(a) @ b",
        &["a", "b"],
        &[("a", &[6, 5]), ("b", &[6, 9])],
        8,
    );
    agree(
        "y = a @ transpose(b)",
        &["a", "b"],
        &[("a", &[6, 5]), ("b", &[9, 5])],
        9,
    );
    agree(
        "y = a @ b",
        &["a", "b"],
        &[("a", &[2, 3, 4, 5]), ("b", &[5, 6])],
        10,
    );
    agree(
        "y = a @ b",
        &["a", "b"],
        &[("a", &[1, 4, 5]), ("b", &[3, 5, 2])],
        11,
    );
}

#[test]
fn data_movement() {
    let cases: [Program; 12] = [
        ("y = transpose(x) * 2", &[("x", &[3, 5])]),
        ("y = transpose(x, [2, 0, 1]) + 1", &[("x", &[2, 3, 4])]),
        ("y = reshape(x, [4, 3]) * x[0, 0]", &[("x", &[3, 4])]),
        ("y = reverse(x, [1]) * 3", &[("x", &[2, 5])]),
        ("y = tile(x, [2, 3]) - 1", &[("x", &[2, 3])]),
        ("y = x[1:, ::-2] * 2", &[("x", &[4, 7])]),
        ("y = x[..., 1] + 1", &[("x", &[3, 4, 5])]),
        ("y = pad(x, [[1, 2], [0, 3]]) * 2", &[("x", &[2, 3])]),
        (
            "y = concat([x, z * 2], 1)",
            &[("x", &[2, 3]), ("z", &[2, 4])],
        ),
        (
            "y = concat([x, z], 0) * 2",
            &[("x", &[1, 3]), ("z", &[2, 3])],
        ),
        ("y = broadcast_to(x, [4, 3]) * 2", &[("x", &[3])]),
        ("y = stack([x, z], 1) + 0", &[("x", &[4]), ("z", &[4])]),
    ];
    for (i, (text, feeds)) in cases.iter().enumerate() {
        let wrt: Vec<&str> = feeds.iter().map(|(n, _)| *n).collect();
        agree(text, &wrt, feeds, 20 + i as u64);
    }
}

#[test]
fn reductions_without_kernels() {
    let cases: [Program; 6] = [
        ("y = sum(x, 0)", &[("x", &[1, 5])]),
        ("y = max(transpose(x) @ x, 0)", &[("x", &[3, 4])]),
        ("y = min(transpose(x) @ x, 1)", &[("x", &[3, 4])]),
        ("y = prod(x, 1)", &[("x", &[4, 3])]),
        ("y = mean(transpose(x) @ x, 1)", &[("x", &[3, 4])]),
        ("y = x + z", &[("x", &[4, 3]), ("z", &[1, 3])]),
    ];
    for (i, (text, feeds)) in cases.iter().enumerate() {
        let wrt: Vec<&str> = feeds.iter().map(|(n, _)| *n).collect();
        agree(text, &wrt, feeds, 40 + i as u64);
    }
}

#[test]
fn windows() {
    let cases: [Program; 7] = [
        (
            "y = conv2d(x, k, 1, \"SAME\")",
            &[("x", &[2, 5, 6, 3]), ("k", &[3, 3, 3, 4])],
        ),
        (
            "y = conv2d(x, k, [2, 1], \"VALID\")",
            &[("x", &[1, 7, 5, 2]), ("k", &[2, 3, 2, 3])],
        ),
        (
            "y = conv2d(x, k, 2, \"SAME\")",
            &[("x", &[2, 6, 7, 1]), ("k", &[3, 2, 1, 5])],
        ),
        ("y = max_pool2d(x, 2)", &[("x", &[2, 5, 4, 3])]),
        ("y = max_pool2d(x, 3, 2, \"SAME\")", &[("x", &[1, 7, 6, 2])]),
        (
            "y = avg_pool2d(x, [2, 3], 1, \"SAME\")",
            &[("x", &[2, 4, 5, 3])],
        ),
        ("y = avg_pool2d(x, 2)", &[("x", &[1, 6, 4, 2])]),
    ];
    for (i, (text, feeds)) in cases.iter().enumerate() {
        let wrt: Vec<&str> = feeds.iter().map(|(n, _)| *n).collect();
        agree(text, &wrt, feeds, 80 + i as u64);
    }
    // the gradient of max pooling's gradient
    agree(
        "y = max_pool2d(x, 2); g = grad(sum(y * y), x); z = sum(g * g)",
        &["x"],
        &[("x", &[1, 4, 4, 2])],
        90,
    );
    // channels a vector at a time and the rest one by one (4 lanes of f32,
    // 2 of f64), windows clipped at the edges and wholly inside
    let wide: [Program; 4] = [
        ("y = max_pool2d(x, 3, 2, \"SAME\")", &[("x", &[2, 7, 6, 6])]),
        ("y = avg_pool2d(x, 3, 1, \"SAME\")", &[("x", &[1, 5, 6, 9])]),
        (
            "y = max_pool2d(x, 2); g = grad(sum(y * y), x); z = sum(g * g)",
            &[("x", &[2, 4, 6, 5])],
        ),
        (
            "y = conv2d(x, k, 1, \"SAME\")",
            &[("x", &[2, 6, 5, 7]), ("k", &[3, 3, 7, 4])],
        ),
    ];
    for (i, (text, feeds)) in wide.iter().enumerate() {
        let wrt: Vec<&str> = feeds.iter().map(|(n, _)| *n).collect();
        agree(text, &wrt, feeds, 91 + i as u64);
    }
}

#[test]
fn indexing_and_classifiers() {
    let cases: [Program; 4] = [
        (
            "y = gather(p, idx, 0) * 2",
            &[("p", &[3, 4]), ("idx", &[5])],
        ),
        (
            "y = gather(p, idx, 1) * 2",
            &[("p", &[2, 3, 2]), ("idx", &[2, 2])],
        ),
        (
            "y = one_hot(idx, 4) * 2 + 0 * sum(p)",
            &[("idx", &[2, 3]), ("p", &[1])],
        ),
        (
            "y = mean(sparse_softmax_cross_entropy(labels, z))",
            &[("labels", &[6]), ("z", &[6, 10])],
        ),
    ];
    for (i, (text, feeds)) in cases.iter().enumerate() {
        let wrt: Vec<&str> = feeds
            .iter()
            .map(|(n, _)| *n)
            .filter(|n| !n.starts_with("idx") && *n != "labels")
            .collect();
        agree(text, &wrt, feeds, 100 + i as u64);
    }
    agree(
        "h = relu(X @ W1 + b1); logits = h @ W2 + b2\nloss = mean(sparse_softmax_cross_entropy(labels, logits))",
        &["W1", "b1", "W2", "b2"],
        &[
            ("X", &[33, 20]),
            ("W1", &[20, 16]),
            ("b1", &[16]),
            ("W2", &[16, 10]),
            ("b2", &[10]),
            ("labels", &[33]),
        ],
        110,
    );
    agree(
        "c1 = relu(conv2d(X, K1, 1, \"SAME\") + k1); p1 = max_pool2d(c1, 2)\nc2 = relu(conv2d(p1, K2, 1, \"SAME\") + k2); p2 = max_pool2d(c2, 2)\nlogits = reshape(p2, [-1, 1568]) @ W + b\nloss = mean(sparse_softmax_cross_entropy(labels, logits))",
        &["K1", "k1", "K2", "k2", "W", "b"],
        &[
            ("X", &[2, 28, 28, 1]),
            ("K1", &[3, 3, 1, 16]),
            ("k1", &[16]),
            ("K2", &[3, 3, 16, 32]),
            ("k2", &[32]),
            ("W", &[1568, 10]),
            ("b", &[10]),
            ("labels", &[2]),
        ],
        111,
    );
}

#[test]
fn bad_indices_are_errors_at_run_time() {
    for (idx, why) in [(7.0, "outside"), (1.5, "integer"), (f64::NAN, "NaN")] {
        let c = compile_text(
            "y = gather(p, i, 0)",
            &[],
            &[("p", &[3, 2]), ("i", &[2])],
            DType::F64,
            1,
        );
        let p = Value::from_f64_array(ndarray::ArrayD::zeros(vec![3, 2]), DType::F64);
        let i = Value::from_f64_array(ndarray::arr1(&[0.0, idx]).into_dyn(), DType::F64);
        let fed = [p, i];
        let views = in_feed_order(&c.exe, &["p", "i"], &fed);
        let mut out =
            Value::from_f64_array(ndarray::ArrayD::from_elem(vec![2, 2], 9.0), DType::F64);
        let err = c
            .exe
            .run_entry(&views, &mut [out.view_mut()])
            .expect_err(why);
        // the function's code 2, named as every engine names a bad index
        assert!(
            matches!(err, ExecError::Library { op: "gather", .. }),
            "{why}: {err}"
        );
        let text = err.to_string();
        let want = if why == "outside" {
            "index 7 is outside [0, 3)"
        } else {
            "is not an integer"
        };
        assert!(text.contains(want), "{why}: {text}");
        // checked before anything was written
        assert!(out.to_f64_array().iter().all(|&v| v == 9.0), "{why}");
    }
    // and the element type is checked
    let d = compile_text("y = x * 2", &[], &[("x", &[3])], DType::F32, 1);
    assert!(d.exe.entry::<f64>().is_err());
    assert!(d.exe.entry::<f32>().is_ok());
}

#[test]
fn scans() {
    let cases: [Program; 5] = [
        ("y = cumsum(x, 1) * 2", &[("x", &[3, 5])]),
        ("y = cumsum(x, 0, 1, 1) * 2", &[("x", &[4, 3])]),
        ("y = cumprod(x, 1, 0, 1) + 0", &[("x", &[2, 6])]),
        ("y = argmax(x, 1) + 0 * x[:, 0]", &[("x", &[3, 9])]),
        ("y = argmin(x, 0) + 0 * x[0]", &[("x", &[7, 2])]),
    ];
    for (i, (text, feeds)) in cases.iter().enumerate() {
        let wrt: Vec<&str> = feeds.iter().map(|(n, _)| *n).collect();
        agree(text, &wrt, feeds, 60 + i as u64);
    }
}
