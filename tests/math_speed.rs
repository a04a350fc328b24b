//! Rough speed figures (ignored; run with
//! `cargo test --release --test math_speed -- --ignored --nocapture`).
//! Elements per nanosecond over 2^20 elements, best of several runs, for the
//! JIT kernels (vector loop) and a plain Rust loop calling `std`.

mod math_support;
use common::*;
use gradjit::jit::math::MathFn;
use math_support as common;
use std::hint::black_box;
use std::time::Instant;

const N: usize = 1 << 20;

fn best<F: FnMut()>(mut f: F) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..15 {
        let t = Instant::now();
        f();
        best = best.min(t.elapsed().as_secs_f64());
    }
    N as f64 / (best * 1e9)
}

fn std32(f: MathFn, x: f32) -> f32 {
    match f {
        MathFn::Sigmoid => 1.0 / (1.0 + (-x).exp()),
        MathFn::Softplus => x.max(0.0) + (-x.abs()).exp().ln_1p(),
        _ => ref32(f, x),
    }
}

#[test]
#[ignore]
fn speed() {
    let mut jit = Jit::new(true);
    println!(
        "{:<10} {:>12} {:>12} {:>7} {:>12} {:>12} {:>7}",
        "fn", "jit f32x4", "std f32", "ratio", "jit f64x2", "std f64", "ratio"
    );
    for f in MathFn::ALL {
        let (lo, hi) = match f {
            MathFn::Log => (0.01f64, 100.0),
            MathFn::Log1p => (-0.9, 100.0),
            _ => (-10.0, 10.0),
        };
        let x32: Vec<f32> = (0..N)
            .map(|i| (lo + (hi - lo) * i as f64 / N as f64) as f32)
            .collect();
        let x64: Vec<f64> = x32.iter().map(|&v| v as f64).collect();
        let mut o32 = vec![0f32; N];
        let mut o64 = vec![0f64; N];
        let k32 = jit.f32(Op::Unary(f));
        let k64 = jit.f64(Op::Unary(f));
        let j32 = best(|| k32.run_into(black_box(&x32), &mut o32));
        let s32 = best(|| {
            for (o, &x) in o32.iter_mut().zip(black_box(&x32)) {
                *o = std32(f, x);
            }
        });
        let j64 = best(|| k64.run_into(black_box(&x64), &mut o64));
        let s64 = best(|| {
            for (o, &x) in o64.iter_mut().zip(black_box(&x64)) {
                *o = ref64(f, x);
            }
        });
        black_box((&o32, &o64));
        println!(
            "{:<10} {:>12.3} {:>12.3} {:>7.2} {:>12.3} {:>12.3} {:>7.2}",
            format!("{f:?}"),
            j32,
            s32,
            j32 / s32,
            j64,
            s64,
            j64 / s64
        );
    }
    // pow
    let a32: Vec<f32> = (0..N).map(|i| 0.01 + 10.0 * i as f32 / N as f32).collect();
    let y32: Vec<f32> = (0..N)
        .map(|i| -5.0 + 10.0 * ((i * 7919) % N) as f32 / N as f32)
        .collect();
    let a64: Vec<f64> = a32.iter().map(|&v| v as f64).collect();
    let y64: Vec<f64> = y32.iter().map(|&v| v as f64).collect();
    let k32 = jit.f32(Op::Pow);
    let k64 = jit.f64(Op::Pow);
    let j32 = best(|| {
        black_box(k32.run2(black_box(&a32), &y32));
    });
    let s32 = best(|| {
        let o: Vec<f32> = a32.iter().zip(&y32).map(|(a, y)| a.powf(*y)).collect();
        black_box(o);
    });
    let j64 = best(|| {
        black_box(k64.run2(black_box(&a64), &y64));
    });
    let s64 = best(|| {
        let o: Vec<f64> = a64.iter().zip(&y64).map(|(a, y)| a.powf(*y)).collect();
        black_box(o);
    });
    println!(
        "{:<10} {:>12.3} {:>12.3} {:>7.2} {:>12.3} {:>12.3} {:>7.2}",
        "Pow",
        j32,
        s32,
        j32 / s32,
        j64,
        s64,
        j64 / s64
    );
}
