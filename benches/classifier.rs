//! B5 (classifier) and B6 (cnn) of `shared/spec/benchmarks.md`: a whole
//! training step (loss and gradients) on every engine, B5 also written by
//! hand with `ndarray` (`dot` plus array expressions) as a Rust user would,
//! and compile time from program text.
//!
//! `cargo bench --bench classifier`

mod common;

use std::collections::HashMap;
use std::hint::black_box;

use common::{case, executable, ordered, outputs, Case};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use gradjit::exec::Engine;
use gradjit::{interp, Value};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis, Ix1, Ix2};

const B5: &str = "h = relu(X @ W1 + b1); logits = h @ W2 + b2
loss = mean(sparse_softmax_cross_entropy(labels, logits))";
const B6: &str = "c1 = relu(conv2d(X, K1, 1, \"SAME\") + k1); p1 = max_pool2d(c1, 2)
c2 = relu(conv2d(p1, K2, 1, \"SAME\") + k2); p2 = max_pool2d(c2, 2)
logits = reshape(p2, [-1, 1568]) @ W + b
loss = mean(sparse_softmax_cross_entropy(labels, logits))";
const ENGINES: [Engine; 4] = [
    Engine::Interp,
    Engine::JitUnfused,
    Engine::Jit,
    Engine::JitMt,
];

fn b5(n: usize) -> Case {
    case(
        B5,
        &[
            ("X", vec![n, 784], false),
            ("W1", vec![784, 128], false),
            ("b1", vec![128], false),
            ("W2", vec![128, 10], false),
            ("b2", vec![10], false),
            ("labels", vec![n], false),
        ],
        &["W1", "b1", "W2", "b2"],
    )
}

fn b6(n: usize) -> Case {
    case(
        B6,
        &[
            ("X", vec![n, 28, 28, 1], false),
            ("K1", vec![3, 3, 1, 16], false),
            ("k1", vec![16], false),
            ("K2", vec![3, 3, 16, 32], false),
            ("k2", vec![32], false),
            ("W", vec![1568, 10], false),
            ("b", vec![10], false),
            ("labels", vec![n], false),
        ],
        &["K1", "k1", "K2", "k2", "W", "b"],
    )
}

fn matrix(v: &Value) -> ArrayView2<'_, f32> {
    match v {
        Value::F32(a) => a.view().into_dimensionality::<Ix2>().expect("a matrix"),
        Value::F64(_) => unreachable!("benchmarks are f32"),
    }
}

fn vector(v: &Value) -> ArrayView1<'_, f32> {
    match v {
        Value::F32(a) => a.view().into_dimensionality::<Ix1>().expect("a vector"),
        Value::F64(_) => unreachable!("benchmarks are f32"),
    }
}

/// B5 by hand: loss and gradients with ndarray.
#[allow(clippy::type_complexity)]
fn b5_by_hand(
    x: ArrayView2<f32>,
    w1: ArrayView2<f32>,
    b1: ArrayView1<f32>,
    w2: ArrayView2<f32>,
    b2: ArrayView1<f32>,
    labels: ArrayView1<f32>,
) -> (f32, Array2<f32>, Array1<f32>, Array2<f32>, Array1<f32>) {
    let n = x.nrows() as f32;
    let pre = x.dot(&w1) + b1;
    let h = pre.mapv(|v| v.max(0.0));
    let mut d = h.dot(&w2) + b2;
    let mut loss = 0.0;
    // softmax less the one-hot label, row by row, and the loss beside it
    for (mut row, &l) in d.axis_iter_mut(Axis(0)).zip(labels) {
        let m = row.fold(f32::NEG_INFINITY, |a, &b| a.max(b));
        row.mapv_inplace(|v| (v - m).exp());
        let s = row.sum();
        let k = l as usize;
        loss += s.ln() - row[k].ln();
        row.mapv_inplace(|v| v / s / n);
        row[k] -= 1.0 / n;
    }
    let dw2 = h.t().dot(&d);
    let db2 = d.sum_axis(Axis(0));
    let mut dh = d.dot(&w2.t());
    dh.zip_mut_with(&pre, |g, &p| {
        if p <= 0.0 {
            *g = 0.0
        }
    });
    let dw1 = x.t().dot(&dh);
    let db1 = dh.sum_axis(Axis(0));
    (loss / n, dw1, db1, dw2, db2)
}

fn step(cr: &mut Criterion, name: &str, c: &Case, size: &str, engines: &[Engine]) {
    let mut group = cr.benchmark_group(name);
    group.sample_size(10);
    for &engine in engines {
        if engine == Engine::Interp {
            let feeds: HashMap<_, _> = c.feeds.iter().map(|(id, v)| (*id, v.view())).collect();
            group.bench_function(BenchmarkId::new("interp", size), |bch| {
                bch.iter(|| interp::evaluate(&c.graph, &c.fetches, &feeds).expect("runs"))
            });
            continue;
        }
        let exe = executable(c, engine);
        let feeds = ordered(c, &exe);
        let mut outs = outputs(&exe);
        group.bench_function(BenchmarkId::new(engine.name(), size), |bch| {
            bch.iter(|| {
                let mut views: Vec<_> = outs.iter_mut().map(Value::view_mut).collect();
                exe.run_into(black_box(&feeds), &mut views).expect("runs")
            })
        });
    }
    if name == "B5" {
        let v: Vec<&Value> = c.feeds.iter().map(|(_, v)| v).collect();
        let (x, w1, b1, w2, b2, l) = (
            matrix(v[0]),
            matrix(v[1]),
            vector(v[2]),
            matrix(v[3]),
            vector(v[4]),
            vector(v[5]),
        );
        group.bench_function(BenchmarkId::new("handwritten", size), |bch| {
            bch.iter(|| b5_by_hand(black_box(x), w1, b1, w2, b2, l))
        });
    }
    group.finish();
}

fn classifier(cr: &mut Criterion) {
    step(cr, "B5", &b5(1 << 12), "2^12", &ENGINES);
    step(cr, "B6", &b6(256), "256", &ENGINES);
    let mut group = cr.benchmark_group("compile");
    // compile time does not depend on the batch; few rows keep setup short
    let (small5, small6) = (b5(64), b6(4));
    group.bench_function(BenchmarkId::new("B5", "jit"), |bch| {
        bch.iter(|| executable(&small5, Engine::Jit))
    });
    group.bench_function(BenchmarkId::new("B6", "jit"), |bch| {
        bch.iter(|| executable(&small6, Engine::Jit))
    });
    group.finish();
}

criterion_group!(benches, classifier);
criterion_main!(benches);
