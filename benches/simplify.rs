//! Time of the simplification pipeline on the gradient graphs of the
//! benchmark programs (`shared/spec/benchmarks.md`), specialized to their
//! shapes: the issue asks for under 1 ms each.
//!
//! `cargo bench --bench simplify`

mod common;

use std::collections::HashMap;

use common::case;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use gradjit::graph::Shape;
use gradjit::simplify::{extract, Pipeline};

fn simplify(cr: &mut Criterion) {
    let n = 1 << 16;
    let v = |s: &'static str, d: Vec<usize>| (s, d, false);
    let cases = [
        (
            "B1",
            case("y = x*x + 3*x\ngrad(y, x)", &[v("x", vec![n])], &[]),
        ),
        (
            "B2",
            case(
                "y = sum(tanh(a*x + b) * sigmoid(c*x) + exp(-x*x))",
                &[
                    v("x", vec![n]),
                    v("a", vec![n]),
                    v("b", vec![n]),
                    v("c", vec![n]),
                ],
                &["x", "a", "b", "c"],
            ),
        ),
        (
            "B3",
            case(
                "loss = mean(softplus(-t * (X @ w + b)))",
                &[
                    v("X", vec![n, 64]),
                    v("w", vec![64, 1]),
                    v("b", vec![1]),
                    ("t", vec![n, 1], true),
                ],
                &["w", "b"],
            ),
        ),
        (
            "B4",
            case(
                "h = tanh(X @ W1 + b1); o = h @ W2 + b2; loss = mean((o - T)**2)",
                &[
                    v("X", vec![n, 32]),
                    v("W1", vec![32, 64]),
                    v("b1", vec![64]),
                    v("W2", vec![64, 1]),
                    v("b2", vec![1]),
                    v("T", vec![n, 1]),
                ],
                &["W1", "b1", "W2", "b2"],
            ),
        ),
    ];
    let mut group = cr.benchmark_group("simplify");
    for (name, c) in &cases {
        let (g, roots) = extract(&c.graph, &c.fetches, &HashMap::<String, Shape>::new())
            .expect("the case extracts");
        group.bench_function(BenchmarkId::new("pipeline", name), |b| {
            b.iter(|| Pipeline::standard().run(&g, &roots).expect("simplifies"))
        });
    }
    group.finish();
}

criterion_group!(benches, simplify);
criterion_main!(benches);
