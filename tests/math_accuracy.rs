//! Accuracy sweeps against Rust's `std` (2 ulp for f32, 4 ulp for f64).
//!
//! Every sweep runs the JIT kernel on segments of 7 elements, so the
//! vector loop (4 or 2 lanes) and the scalar tail both see every region.
//! Each sweep runs for three targets: the host (FMA), the host without FMA
//! (mul + add) and baseline SSE2 x86-64 (fewer points for the last two).
//!
//! f32: dense stride sweeps over each function's interesting domain, a
//! stride sweep over all 2^32 bit patterns, and exhaustive windows around
//! thresholds.  `exhaustive_f32_*` (ignored) check every f32.
//! f64: millions of random bit patterns, random points in the domain, and
//! structured points (thresholds, near multiples of pi/2).
//!
//! References: `std` for exp, exp_m1, ln, ln_1p, tanh, sin, cos, powf.
//! Sigmoid and softplus f32: the same formula evaluated in f64 and rounded
//! once.  Sigmoid and softplus f64: the stable f64 formulas in `common`
//! (`e^x/(1+e^x)` for x < 0, `max(x,0) + ln_1p(e^-|x|)`), each within about
//! 1.5 ulp of the exact value, so the 4 ulp bound leaves ~2.5 ulp for ours.

mod math_support;
use common::*;
use gradjit::jit::math::MathFn;
use math_support as common;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::f32::consts::{FRAC_1_SQRT_2, FRAC_PI_4, SQRT_2};
use std::f64::consts::FRAC_PI_2;

const F32_BOUND: u64 = 2;
const F64_BOUND: u64 = 4;

fn ord32(x: f32) -> i64 {
    let b = x.to_bits();
    if b >> 31 == 1 {
        -((b & 0x7fff_ffff) as i64)
    } else {
        b as i64
    }
}
fn from_ord32(o: i64) -> f32 {
    if o < 0 {
        f32::from_bits((-o) as u32 | 0x8000_0000)
    } else {
        f32::from_bits(o as u32)
    }
}

/// Runs `k` on `xs` in segments of 7 (vector body + scalar tail).
fn run_segments<T: Copy + Default>(k: &Kernel<T>, xs: &[T]) -> Vec<T> {
    let mut out = vec![T::default(); xs.len()];
    for (x, o) in xs.chunks(7).zip(out.chunks_mut(7)) {
        k.run_into(x, o);
    }
    out
}

fn check32(k: &Kernel<f32>, f: MathFn, xs: &[f32], w: &mut Worst<f32>) {
    let got = run_segments(k, xs);
    for (&x, &g) in xs.iter().zip(&got) {
        let r = ref32(f, x);
        w.add(ulp32(g, r), x, g, r);
    }
}

fn check64(k: &Kernel<f64>, f: MathFn, xs: &[f64], w: &mut Worst<f64>) {
    let got = run_segments(k, xs);
    for (&x, &g) in xs.iter().zip(&got) {
        let r = ref64(f, x);
        w.add(ulp64(g, r), x, g, r);
    }
}

/// Interesting f32 domain of each function: ranges sampled densely, and
/// points around which every float within +-2000 ulp is tested.
fn domain32(f: MathFn) -> (Vec<(f32, f32)>, Vec<f32>) {
    match f {
        MathFn::Exp => (
            vec![(-104.0, 89.0), (-1e-3, 1e-3)],
            vec![88.72284, -87.33655, -103.27893, -103.97208, 0.0, 1.0],
        ),
        MathFn::Expm1 => (
            vec![(-30.0, 89.0), (-1e-2, 1e-2)],
            vec![88.72284, 0.0, 0.34657, -0.34657, -17.0],
        ),
        MathFn::Log => (
            vec![(0.0, f32::MAX), (0.5, 2.0)],
            vec![1.0, f32::MIN_POSITIVE, FRAC_1_SQRT_2, SQRT_2],
        ),
        MathFn::Log1p => (
            vec![(-1.0, 0.0), (0.0, f32::MAX), (-0.3, 0.5)],
            vec![-1.0, 0.0, -0.292_893_2, 0.414_213_57, 1.0],
        ),
        MathFn::Tanh => (
            vec![(-12.0, 12.0), (-1.0, 1.0)],
            vec![0.625, -0.625, 9.011, 0.0],
        ),
        MathFn::Sigmoid => (vec![(-120.0, 120.0)], vec![-87.3, -103.9, 0.0, 16.6, 17.3]),
        MathFn::Softplus => (vec![(-120.0, 120.0)], vec![-87.3, -103.9, 0.0, 16.6, 17.3]),
        MathFn::Sin | MathFn::Cos | MathFn::Tan => (
            vec![(-100.0, 100.0), (-1e5, 1e5), (-2.7e8, 2.7e8)],
            vec![0.0, FRAC_PI_4, 268_435_456.0],
        ),
        // the region borders of atan's reduction (u = 7/16, 11/16, 1) as
        // seen through asin's x / sqrt(1 - x^2), and 1
        MathFn::Asin | MathFn::Acos => (
            vec![(-1.0, 1.0), (-1e-3, 1e-3)],
            vec![0.0, 0.400_819, 0.566_528, FRAC_1_SQRT_2, 0.975, 1.0],
        ),
        MathFn::Atan => (
            vec![(-100.0, 100.0), (-2.0, 2.0)],
            vec![0.0, 0.4375, 0.6875, 1.0, 1.454_545_4, 2.285_714_2],
        ),
        MathFn::Sinh | MathFn::Cosh => (
            vec![(-90.0, 90.0), (-2.0, 2.0)],
            vec![0.0, 0.346_573_6, 1.0, 89.415_985],
        ),
        MathFn::Asinh => (
            vec![(-1e4, 1e4), (-3.0, 3.0)],
            vec![0.0, 2.0, 268_435_456.0],
        ),
        MathFn::Acosh => (vec![(1.0, 1e4), (1.0, 3.0)], vec![1.0, 2.0, 268_435_456.0]),
        MathFn::Atanh => (vec![(-1.0, 1.0), (-0.6, 0.6)], vec![0.0, 0.5, 1.0]),
        MathFn::Erf => (
            vec![(-7.0, 7.0), (-1.5, 1.5)],
            vec![0.0, 0.84375, 1.25, 2.857_142_8, 3.9],
        ),
        MathFn::Erfc => (
            vec![(-7.0, 11.0), (-1.5, 1.5)],
            vec![0.0, 0.25, 0.84375, 1.25, 2.857_142_8, 9.2, 10.05],
        ),
    }
}

fn sweep_f32(f: MathFn, t: Target, npts: i64) -> Worst<f32> {
    let mut jit = Jit::for_target(t);
    let k = jit.f32(Op::Unary(f));
    let mut w = Worst::default();
    let (ranges, points) = domain32(f);
    let mut xs = Vec::new();
    for (lo, hi) in ranges {
        let (a, b) = (ord32(lo), ord32(hi));
        let step = ((b - a) / npts).max(1);
        let mut o = a;
        while o <= b {
            xs.push(from_ord32(o));
            if xs.len() == 1 << 16 {
                check32(&k, f, &xs, &mut w);
                xs.clear();
            }
            o += step;
        }
    }
    for p in points {
        for s in [1.0f32, -1.0] {
            let c = ord32(p * s);
            xs.extend((c - 2000..=c + 2000).map(from_ord32));
        }
    }
    if matches!(f, MathFn::Sin | MathFn::Cos | MathFn::Tan) {
        // The floats nearest to k*pi/2 (where sin or cos is tiny), +-3 ulp.
        for kk in 1..200_000i64 {
            let c = ord32((kk as f64 * FRAC_PI_2) as f32);
            xs.extend((c - 3..=c + 3).map(from_ord32));
            if xs.len() > 1 << 16 {
                check32(&k, f, &xs, &mut w);
                xs.clear();
            }
        }
    }
    // All bit patterns with a prime stride.
    let mut b: u64 = 0;
    while b < 1 << 32 {
        xs.push(f32::from_bits(b as u32));
        if xs.len() == 1 << 16 {
            check32(&k, f, &xs, &mut w);
            xs.clear();
        }
        b += if npts > 1_000_000 { 1021 } else { 4099 };
    }
    check32(&k, f, &xs, &mut w);
    w
}

fn f64_points(f: MathFn, n: usize) -> Vec<f64> {
    let mut rng = SmallRng::seed_from_u64(0x5eed ^ f as u64);
    let (lo, hi): (f64, f64) = match f {
        MathFn::Exp => (-746.0, 710.0),
        MathFn::Expm1 => (-40.0, 710.0),
        MathFn::Log => (0.0, 1e300),
        MathFn::Log1p => (-1.0, 1e3),
        MathFn::Tanh => (-25.0, 25.0),
        MathFn::Sigmoid | MathFn::Softplus => (-800.0, 800.0),
        MathFn::Sin | MathFn::Cos | MathFn::Tan => (-1e5, 1e5),
        MathFn::Asin | MathFn::Acos | MathFn::Atanh => (-1.0, 1.0),
        MathFn::Atan => (-100.0, 100.0),
        MathFn::Sinh | MathFn::Cosh => (-712.0, 712.0),
        MathFn::Asinh => (-1e10, 1e10),
        MathFn::Acosh => (1.0, 1e10),
        MathFn::Erf => (-7.0, 7.0),
        MathFn::Erfc => (-7.0, 28.0),
    };
    let mut xs = Vec::with_capacity(3 * n);
    for _ in 0..n {
        xs.push(f64::from_bits(rng.r#gen::<u64>()));
        xs.push(rng.gen_range(lo..hi));
        // Small magnitudes, log-uniform.
        let e: i32 = rng.gen_range(-60..4);
        let s = if rng.r#gen::<bool>() { 1.0 } else { -1.0 };
        xs.push(s * rng.gen_range(1.0..2.0) * 2f64.powi(e));
    }
    match f {
        MathFn::Log => {
            for _ in 0..n / 4 {
                xs.push(rng.gen_range(0.5..2.0));
                xs.push(f64::from_bits(rng.gen_range(1..1u64 << 52))); // subnormal
            }
        }
        MathFn::Log1p => {
            for _ in 0..n / 4 {
                xs.push(rng.gen_range(-1.0..-0.5));
                xs.push(rng.gen_range(-0.3..0.5));
            }
        }
        MathFn::Exp | MathFn::Sigmoid | MathFn::Softplus => {
            for _ in 0..n / 4 {
                xs.push(rng.gen_range(-745.2..-708.0)); // subnormal results
                xs.push(rng.gen_range(700.0..709.8));
            }
        }
        MathFn::Sin | MathFn::Cos | MathFn::Tan => {
            // Doubles nearest to k*pi/2 and neighbours, up to the threshold.
            for k in 1..200_000u64 {
                let c = (k as f64 * FRAC_PI_2).to_bits();
                xs.extend((c - 2..=c + 2).map(f64::from_bits));
            }
            for _ in 0..n / 4 {
                let k: u64 = rng.gen_range(1..2_600_000);
                let c = (k as f64 * FRAC_PI_2).to_bits();
                xs.push(f64::from_bits(c));
                xs.push(rng.gen_range(-4.2e6..4.2e6));
            }
        }
        MathFn::Tanh | MathFn::Expm1 => {
            for _ in 0..n / 4 {
                xs.push(rng.gen_range(-1.0..1.0));
                xs.push(rng.gen_range(-0.7..0.7));
            }
        }
        MathFn::Asin | MathFn::Acos | MathFn::Atanh => {
            // next to the ends, where 1 - x^2 cancels
            for _ in 0..n / 4 {
                let d = 2f64.powi(rng.gen_range(-52..-1)) * rng.gen_range(1.0..2.0);
                let s = if rng.r#gen::<bool>() { 1.0 } else { -1.0 };
                xs.push(s * (1.0 - d));
            }
        }
        MathFn::Atan | MathFn::Sinh | MathFn::Cosh | MathFn::Asinh | MathFn::Erf => {
            for _ in 0..n / 4 {
                xs.push(rng.gen_range(-3.0..3.0));
            }
        }
        MathFn::Acosh => {
            for _ in 0..n / 4 {
                xs.push(rng.gen_range(1.0..3.0));
                xs.push(1.0 + 2f64.powi(rng.gen_range(-52..0)) * rng.gen_range(1.0..2.0));
            }
        }
        MathFn::Erfc => {
            for _ in 0..n / 4 {
                xs.push(rng.gen_range(-2.0..4.0));
                xs.push(rng.gen_range(20.0..27.3)); // subnormal results
            }
        }
    }
    xs
}

fn sweep_f64(f: MathFn, t: Target, n: usize) -> Worst<f64> {
    let mut jit = Jit::for_target(t);
    let k = jit.f64(Op::Unary(f));
    let mut w = Worst::default();
    let xs = f64_points(f, n);
    for c in xs.chunks(1 << 16) {
        check64(&k, f, c, &mut w);
    }
    w
}

macro_rules! acc_tests {
    ($($name32:ident, $name64:ident, $f:expr;)*) => {$(
        #[test]
        fn $name32() {
            for (t, npts) in TARGETS.into_iter().zip([12_000_000, 1_000_000, 300_000]) {
                let w = sweep_f32($f, t, npts);
                println!("{:?} f32 {t:?}: max {} ulp at x={:e} (got {:e}, want {:e}), {} points",
                    $f, w.ulp, w.x, w.got, w.want, w.count);
                assert!(w.ulp <= F32_BOUND, "{:?} f32 {t:?}: {w:?}", $f);
            }
        }
        #[test]
        fn $name64() {
            for (t, n) in TARGETS.into_iter().zip([2_000_000, 300_000, 100_000]) {
                let w = sweep_f64($f, t, n);
                println!("{:?} f64 {t:?}: max {} ulp at x={:e} (got {:e}, want {:e}), {} points",
                    $f, w.ulp, w.x, w.got, w.want, w.count);
                assert!(w.ulp <= F64_BOUND, "{:?} f64 {t:?}: {w:?}", $f);
            }
        }
    )*};
}

acc_tests! {
    exp_f32, exp_f64, MathFn::Exp;
    expm1_f32, expm1_f64, MathFn::Expm1;
    log_f32, log_f64, MathFn::Log;
    log1p_f32, log1p_f64, MathFn::Log1p;
    tanh_f32, tanh_f64, MathFn::Tanh;
    sigmoid_f32, sigmoid_f64, MathFn::Sigmoid;
    softplus_f32, softplus_f64, MathFn::Softplus;
    sin_f32, sin_f64, MathFn::Sin;
    cos_f32, cos_f64, MathFn::Cos;
}

/// The functions computed in f64 lanes for f32 too (and so slower): fewer
/// points, and the same bounds.
macro_rules! acc_tests_f64_lanes {
    ($($name32:ident, $name64:ident, $f:expr;)*) => {$(
        #[test]
        fn $name32() {
            for (t, npts) in TARGETS.into_iter().zip([2_000_000, 300_000, 100_000]) {
                let w = sweep_f32($f, t, npts);
                println!("{:?} f32 {t:?}: max {} ulp at x={:e} (got {:e}, want {:e}), {} points",
                    $f, w.ulp, w.x, w.got, w.want, w.count);
                assert!(w.ulp <= F32_BOUND, "{:?} f32 {t:?}: {w:?}", $f);
            }
        }
        #[test]
        fn $name64() {
            for (t, n) in TARGETS.into_iter().zip([600_000, 150_000, 60_000]) {
                let w = sweep_f64($f, t, n);
                println!("{:?} f64 {t:?}: max {} ulp at x={:e} (got {:e}, want {:e}), {} points",
                    $f, w.ulp, w.x, w.got, w.want, w.count);
                assert!(w.ulp <= F64_BOUND, "{:?} f64 {t:?}: {w:?}", $f);
            }
        }
    )*};
}

acc_tests_f64_lanes! {
    tan_f32, tan_f64, MathFn::Tan;
    asin_f32, asin_f64, MathFn::Asin;
    acos_f32, acos_f64, MathFn::Acos;
    atan_f32, atan_f64, MathFn::Atan;
    sinh_f32, sinh_f64, MathFn::Sinh;
    cosh_f32, cosh_f64, MathFn::Cosh;
    asinh_f32, asinh_f64, MathFn::Asinh;
    acosh_f32, acosh_f64, MathFn::Acosh;
    atanh_f32, atanh_f64, MathFn::Atanh;
    erf_f32, erf_f64, MathFn::Erf;
    erfc_f32, erfc_f64, MathFn::Erfc;
}

/// Pairs `(y, x)` for atan2: every quadrant, ratios across the whole range
/// (so the quotient under- and overflows), equal and near-equal
/// magnitudes, signed zeros and infinities, and random bit patterns.
fn atan2_pairs(n: usize, seed: u64) -> Vec<(f64, f64)> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let specials = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        5e-324,
    ];
    let mut v = Vec::new();
    for &y in &specials {
        for &x in &specials {
            v.push((y, x));
        }
    }
    let sign = |rng: &mut SmallRng| if rng.r#gen::<bool>() { 1.0 } else { -1.0 };
    for _ in 0..n {
        let x = sign(&mut rng) * rng.gen_range(1.0..2.0) * 2f64.powi(rng.gen_range(-30..30));
        let y = sign(&mut rng) * rng.gen_range(1.0..2.0) * 2f64.powi(rng.gen_range(-30..30));
        v.push((y, x));
        let r: f64 = rng.gen_range(0.3..3.0);
        v.push((x * r, x));
        v.push((f64::from_bits(rng.r#gen()), f64::from_bits(rng.r#gen())));
    }
    v
}

#[test]
fn atan2_f32() {
    for (t, n) in TARGETS.into_iter().zip([600_000, 100_000, 50_000]) {
        let mut jit = Jit::for_target(t);
        let k = jit.f32(Op::Atan2);
        let pairs = atan2_pairs(n, 11);
        let y: Vec<f32> = pairs.iter().map(|p| p.0 as f32).collect();
        let x: Vec<f32> = pairs.iter().map(|p| p.1 as f32).collect();
        let mut got = vec![0f32; y.len()];
        for ((yc, xc), gc) in y.chunks(7).zip(x.chunks(7)).zip(got.chunks_mut(7)) {
            gc.copy_from_slice(&k.run2(yc, xc));
        }
        let mut w = Worst::default();
        let mut worst = (0f32, 0f32);
        for i in 0..y.len() {
            // f64's atan2 rounded once
            let r = (y[i] as f64).atan2(x[i] as f64) as f32;
            let u = ulp32(got[i], r);
            if u > w.ulp {
                worst = (y[i], x[i]);
            }
            w.add(u, y[i], got[i], r);
        }
        println!(
            "atan2 f32 {t:?}: max {} ulp at y={:e} x={:e} (got {:e}, want {:e}), {} points",
            w.ulp, worst.0, worst.1, w.got, w.want, w.count
        );
        assert!(w.ulp <= F32_BOUND, "{w:?} {worst:?}");
    }
}

#[test]
fn atan2_f64() {
    for (t, n) in TARGETS.into_iter().zip([600_000, 100_000, 50_000]) {
        let mut jit = Jit::for_target(t);
        let k = jit.f64(Op::Atan2);
        let pairs = atan2_pairs(n, 12);
        let y: Vec<f64> = pairs.iter().map(|p| p.0).collect();
        let x: Vec<f64> = pairs.iter().map(|p| p.1).collect();
        let mut got = vec![0f64; y.len()];
        for ((yc, xc), gc) in y.chunks(7).zip(x.chunks(7)).zip(got.chunks_mut(7)) {
            gc.copy_from_slice(&k.run2(yc, xc));
        }
        let mut w = Worst::default();
        let mut worst = (0f64, 0f64);
        for i in 0..y.len() {
            let r = y[i].atan2(x[i]);
            let u = ulp64(got[i], r);
            if u > w.ulp {
                worst = (y[i], x[i]);
            }
            w.add(u, y[i], got[i], r);
        }
        println!(
            "atan2 f64 {t:?}: max {} ulp at y={:e} x={:e} (got {:e}, want {:e}), {} points",
            w.ulp, worst.0, worst.1, w.got, w.want, w.count
        );
        assert!(w.ulp <= F64_BOUND, "{w:?} {worst:?}");
    }
}

fn pow_pairs32(n: usize) -> (Vec<f32>, Vec<f32>) {
    let mut rng = SmallRng::seed_from_u64(7);
    let (mut a, mut y) = (Vec::new(), Vec::new());
    for _ in 0..n {
        // Random positive base, exponent chosen so the result spans the
        // whole range (including overflow and subnormal underflow).
        let x = f32::from_bits(rng.gen_range(1..0x7f80_0000));
        let t: f64 = rng.gen_range(-160.0..160.0);
        let l = (x as f64).log2();
        if l != 0.0 {
            a.push(x);
            y.push((t / l) as f32);
        }
        // Bases near 1, moderate exponents.
        a.push(rng.gen_range(0.5f32..2.0));
        y.push(rng.gen_range(-300.0f32..300.0));
        // Negative bases with integer exponents.
        a.push(-rng.gen_range(0.01f32..10.0));
        y.push(rng.gen_range(-40i32..40) as f32);
        // Anything.
        a.push(f32::from_bits(rng.r#gen()));
        y.push(f32::from_bits(rng.r#gen()));
    }
    (a, y)
}

fn pow_pairs64(n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut rng = SmallRng::seed_from_u64(8);
    let (mut a, mut y) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let x = f64::from_bits(rng.gen_range(1..0x7ff0_0000_0000_0000));
        let t: f64 = rng.gen_range(-1100.0..1100.0);
        let l = x.log2();
        if l != 0.0 {
            a.push(x);
            y.push(t / l);
        }
        a.push(rng.gen_range(0.5..2.0));
        y.push(rng.gen_range(-2000.0..2000.0));
        // Very close to 1 with huge exponents (needs the double-double log).
        let d: f64 = rng.gen_range(-1e-10..1e-10);
        a.push(1.0 + d);
        y.push(rng.gen_range(-700.0..700.0) / d);
        a.push(-rng.gen_range(0.01..10.0));
        y.push(rng.gen_range(-300i32..300) as f64);
        a.push(f64::from_bits(rng.r#gen()));
        y.push(f64::from_bits(rng.r#gen()));
    }
    (a, y)
}

#[test]
fn pow_f32() {
    for (t, n) in TARGETS.into_iter().zip([2_000_000, 300_000, 100_000]) {
        let mut jit = Jit::for_target(t);
        let k = jit.f32(Op::Pow);
        let (a, y) = pow_pairs32(n);
        let mut w = Worst::default();
        let mut got = vec![0f32; a.len()];
        for ((ac, yc), gc) in a.chunks(7).zip(y.chunks(7)).zip(got.chunks_mut(7)) {
            gc.copy_from_slice(&k.run2(ac, yc));
        }
        let mut worst_pair = (0f32, 0f32);
        for i in 0..a.len() {
            let r = a[i].powf(y[i]);
            let u = ulp32(got[i], r);
            if u > w.ulp {
                worst_pair = (a[i], y[i]);
            }
            w.add(u, a[i], got[i], r);
        }
        println!(
            "pow f32 {t:?}: max {} ulp at a={:e} y={:e} (got {:e}, want {:e}), {} points",
            w.ulp, worst_pair.0, worst_pair.1, w.got, w.want, w.count
        );
        assert!(w.ulp <= F32_BOUND, "{w:?} {worst_pair:?}");
    }
}

#[test]
fn pow_f64() {
    for (t, n) in TARGETS.into_iter().zip([1_000_000, 200_000, 100_000]) {
        let mut jit = Jit::for_target(t);
        let k = jit.f64(Op::Pow);
        let (a, y) = pow_pairs64(n);
        let mut w = Worst::default();
        let mut got = vec![0f64; a.len()];
        for ((ac, yc), gc) in a.chunks(7).zip(y.chunks(7)).zip(got.chunks_mut(7)) {
            gc.copy_from_slice(&k.run2(ac, yc));
        }
        let mut worst_pair = (0f64, 0f64);
        for i in 0..a.len() {
            let r = a[i].powf(y[i]);
            let u = ulp64(got[i], r);
            if u > w.ulp {
                worst_pair = (a[i], y[i]);
            }
            w.add(u, a[i], got[i], r);
        }
        println!(
            "pow f64 {t:?}: max {} ulp at a={:e} y={:e} (got {:e}, want {:e}), {} points",
            w.ulp, worst_pair.0, worst_pair.1, w.got, w.want, w.count
        );
        assert!(w.ulp <= F64_BOUND, "{w:?} {worst_pair:?}");
    }
}
