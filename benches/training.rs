//! B3 (logistic) and B4 (mlp) of `shared/spec/benchmarks.md`: a whole
//! training step (loss and gradients) on every engine, the same step written
//! by hand with `ndarray` (`dot` plus array expressions) as a Rust user
//! would, the step's matrix products alone as that user writes them
//! (`matmuls-only`) and as the executable runs its general ones
//! (`gemm-only`, to show their share), and
//! compile time from program text.
//!
//! `cargo bench --bench training`

mod common;

use std::collections::HashMap;
use std::hint::black_box;

use common::{case, executable, ordered, outputs, Case};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use gradjit::exec::Engine;
use gradjit::{interp, Value};
use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, Axis, Ix2};

const B3: &str = "loss = mean(softplus(-t * (X @ w + b)))";
const B4: &str = "h = tanh(X @ W1 + b1); o = h @ W2 + b2; loss = mean((o - T)**2)";
const N: usize = 1 << 16;
const ENGINES: [Engine; 4] = [
    Engine::Interp,
    Engine::JitUnfused,
    Engine::Jit,
    Engine::JitMt,
];

fn b3() -> Case {
    case(
        B3,
        &[
            ("X", vec![N, 64], false),
            ("w", vec![64, 1], false),
            ("b", vec![1], false),
            ("t", vec![N, 1], true),
        ],
        &["w", "b"],
    )
}

fn b4() -> Case {
    case(
        B4,
        &[
            ("X", vec![N, 32], false),
            ("W1", vec![32, 64], false),
            ("b1", vec![64], false),
            ("W2", vec![64, 1], false),
            ("b2", vec![1], false),
            ("T", vec![N, 1], false),
        ],
        &["W1", "b1", "W2", "b2"],
    )
}

fn matrix(v: &Value) -> ArrayView2<'_, f32> {
    match v {
        Value::F32(a) => a.view().into_dimensionality::<Ix2>().expect("a matrix"),
        Value::F64(_) => unreachable!("benchmarks are f32"),
    }
}

fn scalar_vec(v: &Value) -> Vec<f32> {
    v.to_f64_vec().iter().map(|&x| x as f32).collect()
}

/// B3 by hand: loss and gradients with ndarray.
fn b3_by_hand(
    x: ArrayView2<f32>,
    w: ArrayView2<f32>,
    b: f32,
    t: ArrayView2<f32>,
) -> (f32, Array2<f32>, f32) {
    let n = x.nrows() as f32;
    let z = x.dot(&w) + b;
    let m = &z * &t * -1.0;
    let loss = m.mapv(|v| v.max(0.0) + (-v.abs()).exp().ln_1p()).sum() / n;
    let g = &t * &m.mapv(|v| -1.0 / (1.0 + (-v).exp()) / n);
    let dw = x.t().dot(&g);
    let db = g.sum();
    (loss, dw, db)
}

/// B4 by hand: loss and gradients with ndarray.
#[allow(clippy::type_complexity)]
fn b4_by_hand(
    x: ArrayView2<f32>,
    w1: ArrayView2<f32>,
    b1: &[f32],
    w2: ArrayView2<f32>,
    b2: f32,
    t: ArrayView2<f32>,
) -> (f32, Array2<f32>, Array2<f32>, Array2<f32>, f32) {
    let n = x.nrows() as f32;
    let b1 = ndarray::ArrayView1::from(b1);
    let h = (x.dot(&w1) + b1).mapv(f32::tanh);
    let d = h.dot(&w2) + b2 - t;
    let loss = d.mapv(|v| v * v).sum() / n;
    let go = d * (2.0 / n);
    let dw2 = h.t().dot(&go);
    let db2 = go.sum();
    let ga = go.dot(&w2.t()) * h.mapv(|v| 1.0 - v * v);
    let dw1 = x.t().dot(&ga);
    let db1 = ga.sum_axis(Axis(0)).insert_axis(Axis(0));
    (loss, dw1, db1, dw2, db2)
}

fn training(cr: &mut Criterion) {
    for (name, make) in [("B3", b3 as fn() -> Case), ("B4", b4)] {
        let c = make();
        let mut group = cr.benchmark_group(name);
        group.sample_size(20);
        for engine in ENGINES {
            if engine == Engine::Interp {
                let feeds: HashMap<_, _> = c.feeds.iter().map(|(id, v)| (*id, v.view())).collect();
                group.bench_function(BenchmarkId::new("interp", "2^16"), |bch| {
                    bch.iter(|| interp::evaluate(&c.graph, &c.fetches, &feeds).expect("runs"))
                });
                continue;
            }
            let exe = executable(&c, engine);
            let feeds = ordered(&c, &exe);
            let mut outs = outputs(&exe);
            group.bench_function(BenchmarkId::new(engine.name(), "2^16"), |bch| {
                bch.iter(|| {
                    let mut views: Vec<_> = outs.iter_mut().map(Value::view_mut).collect();
                    exe.run_into(black_box(&feeds), &mut views).expect("runs")
                })
            });
        }
        let v: Vec<&Value> = c.feeds.iter().map(|(_, v)| v).collect();
        if name == "B3" {
            let (x, w, b, t) = (
                matrix(v[0]),
                matrix(v[1]),
                scalar_vec(v[2])[0],
                matrix(v[3]),
            );
            group.bench_function(BenchmarkId::new("handwritten", "2^16"), |bch| {
                bch.iter(|| b3_by_hand(black_box(x), w, b, t))
            });
            let g = Array2::<f32>::ones((N, 1));
            group.bench_function(BenchmarkId::new("matmuls-only", "2^16"), |bch| {
                bch.iter(|| (black_box(x).dot(&w), x.t().dot(&g)))
            });
        } else {
            let (x, w1, b1, w2, b2, t) = (
                matrix(v[0]),
                matrix(v[1]),
                scalar_vec(v[2]),
                matrix(v[3]),
                scalar_vec(v[4])[0],
                matrix(v[5]),
            );
            group.bench_function(BenchmarkId::new("handwritten", "2^16"), |bch| {
                bch.iter(|| b4_by_hand(black_box(x), w1, &b1, w2, b2, t))
            });
            let (h, go, ga) = (
                Array2::<f32>::ones((N, 64)),
                Array2::<f32>::ones((N, 1)),
                Array2::<f32>::ones((N, 64)),
            );
            group.bench_function(BenchmarkId::new("matmuls-only", "2^16"), |bch| {
                bch.iter(|| {
                    (
                        black_box(x).dot(&w1),
                        h.dot(&w2),
                        h.t().dot(&go),
                        go.dot(&w2.t()),
                        x.t().dot(&ga),
                    )
                })
            });
            // the step's two general products as the executable runs them
            // whole: matrixmultiply into preallocated results (its other
            // products have a unit dimension and run inside its kernels)
            let (mut c1, mut c2) = (
                Array2::<f32>::zeros((N, 64)),
                Array2::<f32>::zeros((32, 64)),
            );
            group.bench_function(BenchmarkId::new("gemm-only", "2^16"), |bch| {
                bch.iter(|| {
                    general_mat_mul(1.0, black_box(&x), &w1, 0.0, &mut c1);
                    general_mat_mul(1.0, &x.t(), &ga, 0.0, &mut c2);
                })
            });
        }
        group.bench_function(BenchmarkId::new("compile", "jit"), |bch| {
            bch.iter(|| executable(&make_small(name), Engine::Jit))
        });
        group.finish();
    }
}

/// The same program with few rows: compile time does not depend on N, and
/// making 2^16-row inputs is not compiling.
fn make_small(name: &str) -> Case {
    let n = 64;
    if name == "B3" {
        case(
            B3,
            &[
                ("X", vec![n, 64], false),
                ("w", vec![64, 1], false),
                ("b", vec![1], false),
                ("t", vec![n, 1], true),
            ],
            &["w", "b"],
        )
    } else {
        case(
            B4,
            &[
                ("X", vec![n, 32], false),
                ("W1", vec![32, 64], false),
                ("b1", vec![64], false),
                ("W2", vec![64, 1], false),
                ("b2", vec![1], false),
                ("T", vec![n, 1], false),
            ],
            &["W1", "b1", "W2", "b2"],
        )
    }
}

criterion_group!(benches, training);
criterion_main!(benches);
