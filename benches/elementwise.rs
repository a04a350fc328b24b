//! B1 (seed) and B2 (chain) of `shared/spec/benchmarks.md`: every engine,
//! a hand-written Rust loop with std math, a copy of the same bytes, and
//! compile time from program text. Throughput is the bytes that must be
//! read and written, so criterion's GB/s is the effective bandwidth.
//!
//! `cargo bench --bench elementwise`; `python3 scripts/bench_table.py`
//! turns criterion's estimates into the README table.

mod common;

use std::collections::HashMap;
use std::hint::black_box;

use common::{case, executable, ordered, outputs, Case};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use gradjit::exec::Engine;
use gradjit::{interp, Value};

const B1: &str = "y = x*x + 3*x\ngrad(y, x)";
const B2: &str = "y = sum(tanh(a*x + b) * sigmoid(c*x) + exp(-x*x))";
const SIZES: [u32; 4] = [10, 16, 20, 24];
const ENGINES: [Engine; 4] = [
    Engine::Interp,
    Engine::JitUnfused,
    Engine::Jit,
    Engine::JitMt,
];

fn b1(n: usize) -> Case {
    case(B1, &[("x", vec![n], false)], &[])
}

fn b2(n: usize) -> Case {
    let v = |s: &'static str| (s, vec![n], false);
    case(B2, &[v("x"), v("a"), v("b"), v("c")], &["x", "a", "b", "c"])
}

fn slice(v: &Value) -> &[f32] {
    match v {
        Value::F32(a) => a.as_slice().expect("contiguous"),
        Value::F64(_) => &[],
    }
}

/// B1 by hand: the gradient 2x + 3 in one loop.
fn b1_by_hand(x: &[f32], out: &mut [f32]) {
    for (o, &x) in out.iter_mut().zip(x) {
        *o = 2.0 * x + 3.0;
    }
}

/// B2 by hand: forward sum and the four gradients in one loop, std math.
fn b2_by_hand(x: &[f32], a: &[f32], b: &[f32], c: &[f32], g: &mut [Vec<f32>; 4]) -> f32 {
    let mut y = 0.0f32;
    let [gx, ga, gb, gc] = g;
    for i in 0..x.len() {
        let (x, a, b, c) = (x[i], a[i], b[i], c[i]);
        let t = (a * x + b).tanh();
        let s = 1.0 / (1.0 + (-(c * x)).exp());
        let e = (-(x * x)).exp();
        y += t * s + e;
        let dt = 1.0 - t * t;
        let ds = s * (1.0 - s);
        gx[i] = dt * a * s + t * ds * c - 2.0 * x * e;
        ga[i] = dt * x * s;
        gb[i] = dt * s;
        gc[i] = t * ds * x;
    }
    y
}

fn run_engines(cr: &mut Criterion, name: &str, make: fn(usize) -> Case, bytes_per: u64) {
    let mut group = cr.benchmark_group(name);
    group.sample_size(10);
    for log in SIZES {
        let n = 1usize << log;
        let c = make(n);
        group.throughput(Throughput::Bytes(bytes_per * n as u64));
        for engine in ENGINES {
            if engine == Engine::Interp {
                let feeds: HashMap<_, _> = c.feeds.iter().map(|(id, v)| (*id, v.view())).collect();
                group.bench_with_input(
                    BenchmarkId::new("interp", format!("2^{log}")),
                    &(),
                    |bch, _| {
                        bch.iter(|| interp::evaluate(&c.graph, &c.fetches, &feeds).expect("runs"))
                    },
                );
                continue;
            }
            let exe = executable(&c, engine);
            let feeds = ordered(&c, &exe);
            let mut outs = outputs(&exe);
            group.bench_with_input(
                BenchmarkId::new(engine.name(), format!("2^{log}")),
                &(),
                |bch, _| {
                    bch.iter(|| {
                        let mut views: Vec<_> = outs.iter_mut().map(Value::view_mut).collect();
                        exe.run_into(black_box(&feeds), &mut views).expect("runs")
                    })
                },
            );
        }
        // the same bytes moved by memcpy: the machine's copy bandwidth
        let src = vec![1.0f32; n * bytes_per as usize / 8];
        let mut dst = vec![0.0f32; src.len()];
        group.bench_with_input(
            BenchmarkId::new("copy", format!("2^{log}")),
            &(),
            |bch, _| bch.iter(|| dst.copy_from_slice(black_box(&src))),
        );
        if name == "B1" {
            let x = slice(&c.feeds[0].1).to_vec();
            let mut out = vec![0.0f32; n];
            group.bench_with_input(
                BenchmarkId::new("handwritten", format!("2^{log}")),
                &(),
                |bch, _| bch.iter(|| b1_by_hand(black_box(&x), &mut out)),
            );
        } else {
            let v: Vec<Vec<f32>> = c.feeds.iter().map(|(_, v)| slice(v).to_vec()).collect();
            let mut g = [vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]];
            group.bench_with_input(
                BenchmarkId::new("handwritten", format!("2^{log}")),
                &(),
                |bch, _| bch.iter(|| b2_by_hand(black_box(&v[0]), &v[1], &v[2], &v[3], &mut g)),
            );
        }
    }
    group.finish();
}

fn elementwise(cr: &mut Criterion) {
    // B1 reads x and writes the gradient; B2 reads x, a, b, c and writes four gradients
    run_engines(cr, "B1", b1, 8);
    run_engines(cr, "B2", b2, 32);
    let mut group = cr.benchmark_group("compile");
    group.sample_size(20);
    for (name, make) in [("B1", b1 as fn(usize) -> Case), ("B2", b2)] {
        group.bench_function(BenchmarkId::new("jit", name), |bch| {
            bch.iter(|| {
                // program text to callable executable: parse, gradients, simplify, fuse, codegen
                let c = make(1 << 10);
                executable(&c, Engine::Jit)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, elementwise);
criterion_main!(benches);
