//! Special values, written from C99 Annex F / IEEE 754 semantics.
//!
//! Every case is evaluated both through the vector loop (the whole list at
//! once) and through the scalar tail (one element per call), for every
//! target in `common::TARGETS`, and must match exactly, including the sign
//! of zero; NaN only needs to be NaN.  `pow` is in `special_pow.rs`.

mod math_support;
use common::*;
use gradjit::jit::math::MathFn;
use math_support as common;

const INF32: f32 = f32::INFINITY;
const NAN32: f32 = f32::NAN;
const INF: f64 = f64::INFINITY;
const NAN: f64 = f64::NAN;

fn same32(a: f32, b: f32) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}
fn same64(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

/// Runs `k` on the inputs both as a batch and one at a time.
fn eval<T: Copy + Default>(k: &Kernel<T>, xs: &[T]) -> (Vec<T>, Vec<T>) {
    let batch = k.run(xs);
    let single = xs.iter().map(|&x| k.run(&[x])[0]).collect();
    (batch, single)
}

fn check32(f: MathFn, cases: &[(f32, f32)]) {
    for t in TARGETS {
        let mut jit = Jit::for_target(t);
        let k = jit.f32(Op::Unary(f));
        let xs: Vec<f32> = cases.iter().map(|c| c.0).collect();
        let (batch, single) = eval(&k, &xs);
        for (i, &(x, want)) in cases.iter().enumerate() {
            for got in [batch[i], single[i]] {
                assert!(
                    same32(got, want),
                    "{f:?}({x:e}) f32 {t:?}: got {got:e}, want {want:e}"
                );
            }
        }
    }
}

fn check64(f: MathFn, cases: &[(f64, f64)]) {
    for t in TARGETS {
        let mut jit = Jit::for_target(t);
        let k = jit.f64(Op::Unary(f));
        let xs: Vec<f64> = cases.iter().map(|c| c.0).collect();
        let (batch, single) = eval(&k, &xs);
        for (i, &(x, want)) in cases.iter().enumerate() {
            for got in [batch[i], single[i]] {
                assert!(
                    same64(got, want),
                    "{f:?}({x:e}) f64 {t:?}: got {got:e}, want {want:e}"
                );
            }
        }
    }
}

/// Values that must be close to `std` (within `ulps`) and satisfy `pred`.
fn near32(f: MathFn, xs: &[f32], ulps: u64, pred: impl Fn(f32, f32) -> bool) {
    let mut jit = Jit::new(true);
    let k = jit.f32(Op::Unary(f));
    let (batch, single) = eval(&k, xs);
    for (i, &x) in xs.iter().enumerate() {
        let want = ref32(f, x);
        for got in [batch[i], single[i]] {
            assert!(
                ulp32(got, want) <= ulps && pred(x, got),
                "{f:?}({x:e}) f32: got {got:e}, want {want:e}"
            );
        }
    }
}

fn near64(f: MathFn, xs: &[f64], ulps: u64, pred: impl Fn(f64, f64) -> bool) {
    let mut jit = Jit::new(true);
    let k = jit.f64(Op::Unary(f));
    let (batch, single) = eval(&k, xs);
    for (i, &x) in xs.iter().enumerate() {
        let want = ref64(f, x);
        for got in [batch[i], single[i]] {
            assert!(
                ulp64(got, want) <= ulps && pred(x, got),
                "{f:?}({x:e}) f64: got {got:e}, want {want:e}"
            );
        }
    }
}

const MIN_SUB32: f32 = 1e-45; // 2^-149
const MIN_SUB64: f64 = 5e-324; // 2^-1074

#[test]
fn exp_special() {
    check32(
        MathFn::Exp,
        &[
            (0.0, 1.0),
            (-0.0, 1.0),
            (INF32, INF32),
            (-INF32, 0.0),
            (NAN32, NAN32),
            (89.0, INF32),
            (1e30, INF32),
            (-104.0, 0.0),
            (-1e30, 0.0),
            (f32::MAX, INF32),
            (-f32::MAX, 0.0),
            (MIN_SUB32, 1.0),
            (-MIN_SUB32, 1.0),
        ],
    );
    check64(
        MathFn::Exp,
        &[
            (0.0, 1.0),
            (-0.0, 1.0),
            (INF, INF),
            (-INF, 0.0),
            (NAN, NAN),
            (709.79, INF),
            (1e300, INF),
            (-745.2, 0.0),
            (-745.14, 0.0),
            (-745.1, MIN_SUB64),
            (-1e300, 0.0),
            (MIN_SUB64, 1.0),
        ],
    );
    // Largest finite results, gradual underflow.
    near32(
        MathFn::Exp,
        &[88.722_83, 88.7228, -87.0, -90.0, -100.0, -103.0, -103.9],
        1,
        |_, g| g.is_finite() && g > 0.0,
    );
    near64(
        MathFn::Exp,
        &[709.78, 709.782, -708.5, -720.0, -740.0, -745.0],
        1,
        |_, g| g.is_finite() && g > 0.0,
    );
}

#[test]
fn expm1_special() {
    check32(
        MathFn::Expm1,
        &[
            (0.0, 0.0),
            (-0.0, -0.0),
            (INF32, INF32),
            (-INF32, -1.0),
            (NAN32, NAN32),
            (89.0, INF32),
            (f32::MAX, INF32),
            (-100.0, -1.0),
            (-f32::MAX, -1.0),
            (MIN_SUB32, MIN_SUB32),
            (-MIN_SUB32, -MIN_SUB32),
            (1e-30, 1e-30),
            (-1e-20, -1e-20),
        ],
    );
    check64(
        MathFn::Expm1,
        &[
            (0.0, 0.0),
            (-0.0, -0.0),
            (INF, INF),
            (-INF, -1.0),
            (NAN, NAN),
            (710.0, INF),
            (f64::MAX, INF),
            (-100.0, -1.0),
            (-f64::MAX, -1.0),
            (MIN_SUB64, MIN_SUB64),
            (-MIN_SUB64, -MIN_SUB64),
            (1e-300, 1e-300),
        ],
    );
    near32(
        MathFn::Expm1,
        &[88.72, 1e-5, -1e-5, 0.34, -0.34, 20.0, -17.0],
        1,
        |_, g| g.is_finite(),
    );
    near64(
        MathFn::Expm1,
        &[709.78, 1e-10, -1e-10, 0.34, -0.35, 40.0, -37.0],
        1,
        |_, g| g.is_finite(),
    );
}

#[test]
fn log_special() {
    check32(
        MathFn::Log,
        &[
            (0.0, -INF32),
            (-0.0, -INF32),
            (1.0, 0.0),
            (-1.0, NAN32),
            (-MIN_SUB32, NAN32),
            (-INF32, NAN32),
            (INF32, INF32),
            (NAN32, NAN32),
            (2.0, std::f32::consts::LN_2),
        ],
    );
    check64(
        MathFn::Log,
        &[
            (0.0, -INF),
            (-0.0, -INF),
            (1.0, 0.0),
            (-1.0, NAN),
            (-MIN_SUB64, NAN),
            (-INF, NAN),
            (INF, INF),
            (NAN, NAN),
            (2.0, std::f64::consts::LN_2),
        ],
    );
    // Subnormal and extreme arguments.
    near32(
        MathFn::Log,
        &[
            MIN_SUB32,
            3e-45,
            1e-40,
            f32::MIN_POSITIVE,
            f32::MAX,
            1.0 + f32::EPSILON,
        ],
        1,
        |_, g| g.is_finite(),
    );
    near64(
        MathFn::Log,
        &[
            MIN_SUB64,
            1e-310,
            f64::MIN_POSITIVE,
            f64::MAX,
            1.0 + f64::EPSILON,
        ],
        1,
        |_, g| g.is_finite(),
    );
}

#[test]
fn log1p_special() {
    check32(
        MathFn::Log1p,
        &[
            (0.0, 0.0),
            (-0.0, -0.0),
            (-1.0, -INF32),
            (-1.5, NAN32),
            (-INF32, NAN32),
            (INF32, INF32),
            (NAN32, NAN32),
            (MIN_SUB32, MIN_SUB32),
            (-MIN_SUB32, -MIN_SUB32),
            (1e-30, 1e-30),
        ],
    );
    check64(
        MathFn::Log1p,
        &[
            (0.0, 0.0),
            (-0.0, -0.0),
            (-1.0, -INF),
            (-1.5, NAN),
            (-INF, NAN),
            (INF, INF),
            (NAN, NAN),
            (MIN_SUB64, MIN_SUB64),
            (-MIN_SUB64, -MIN_SUB64),
            (1e-300, 1e-300),
        ],
    );
    near32(
        MathFn::Log1p,
        &[
            -1.0 + f32::EPSILON / 2.0,
            -0.999_999,
            f32::MAX,
            1e-6,
            -1e-6,
            1e30,
        ],
        1,
        |_, g| g.is_finite(),
    );
    near64(
        MathFn::Log1p,
        &[-1.0 + f64::EPSILON / 2.0, f64::MAX, 1e-12, -1e-12],
        1,
        |_, g| g.is_finite(),
    );
}

#[test]
fn tanh_special() {
    check32(
        MathFn::Tanh,
        &[
            (0.0, 0.0),
            (-0.0, -0.0),
            (INF32, 1.0),
            (-INF32, -1.0),
            (NAN32, NAN32),
            (20.0, 1.0),
            (-20.0, -1.0),
            (9.02, 1.0),
            (f32::MAX, 1.0),
            (-f32::MAX, -1.0),
            (MIN_SUB32, MIN_SUB32),
            (-1e-30, -1e-30),
        ],
    );
    check64(
        MathFn::Tanh,
        &[
            (0.0, 0.0),
            (-0.0, -0.0),
            (INF, 1.0),
            (-INF, -1.0),
            (NAN, NAN),
            (25.0, 1.0),
            (-25.0, -1.0),
            (f64::MAX, 1.0),
            (MIN_SUB64, MIN_SUB64),
            (-1e-300, -1e-300),
        ],
    );
}

#[test]
fn sigmoid_special() {
    check32(
        MathFn::Sigmoid,
        &[
            (0.0, 0.5),
            (-0.0, 0.5),
            (INF32, 1.0),
            (-INF32, 0.0),
            (NAN32, NAN32),
            (100.0, 1.0),
            (f32::MAX, 1.0),
            (-200.0, 0.0),
            (-f32::MAX, 0.0),
        ],
    );
    check64(
        MathFn::Sigmoid,
        &[
            (0.0, 0.5),
            (-0.0, 0.5),
            (INF, 1.0),
            (-INF, 0.0),
            (NAN, NAN),
            (40.0, 1.0),
            (f64::MAX, 1.0),
            (-1000.0, 0.0),
            (-f64::MAX, 0.0),
        ],
    );
    // Far negative: tiny positive (gradual underflow), never NaN.
    near32(
        MathFn::Sigmoid,
        &[-88.0, -90.0, -100.0, -103.0],
        1,
        |_, g| g > 0.0 && g.is_finite(),
    );
    near64(MathFn::Sigmoid, &[-700.0, -710.0, -740.0], 1, |_, g| {
        g > 0.0 && g.is_finite()
    });
}

#[test]
fn softplus_special() {
    check32(
        MathFn::Softplus,
        &[
            (INF32, INF32),
            (-INF32, 0.0),
            (NAN32, NAN32),
            (100.0, 100.0),
            (1e30, 1e30),
            (f32::MAX, f32::MAX),
            (-f32::MAX, 0.0),
            (-200.0, 0.0),
            (0.0, std::f32::consts::LN_2),
        ],
    );
    check64(
        MathFn::Softplus,
        &[
            (INF, INF),
            (-INF, 0.0),
            (NAN, NAN),
            (100.0, 100.0),
            (1e300, 1e300),
            (f64::MAX, f64::MAX),
            (-f64::MAX, 0.0),
            (-1000.0, 0.0),
            (0.0, std::f64::consts::LN_2),
        ],
    );
    near32(
        MathFn::Softplus,
        &[-88.0, -100.0, -103.0, 16.0, 17.0, 20.0],
        1,
        |_, g| g > 0.0 && g.is_finite(),
    );
    near64(
        MathFn::Softplus,
        &[-700.0, -740.0, 36.0, 37.0, 40.0],
        1,
        |_, g| g > 0.0 && g.is_finite(),
    );
}

#[test]
fn sin_cos_special() {
    check32(
        MathFn::Sin,
        &[
            (0.0, 0.0),
            (-0.0, -0.0),
            (INF32, NAN32),
            (-INF32, NAN32),
            (NAN32, NAN32),
            (MIN_SUB32, MIN_SUB32),
            (-MIN_SUB32, -MIN_SUB32),
            (-1e-30, -1e-30),
        ],
    );
    check32(
        MathFn::Cos,
        &[
            (0.0, 1.0),
            (-0.0, 1.0),
            (INF32, NAN32),
            (-INF32, NAN32),
            (NAN32, NAN32),
            (MIN_SUB32, 1.0),
        ],
    );
    check64(
        MathFn::Sin,
        &[
            (0.0, 0.0),
            (-0.0, -0.0),
            (INF, NAN),
            (-INF, NAN),
            (NAN, NAN),
            (MIN_SUB64, MIN_SUB64),
            (-MIN_SUB64, -MIN_SUB64),
            (-1e-300, -1e-300),
        ],
    );
    check64(
        MathFn::Cos,
        &[
            (0.0, 1.0),
            (-0.0, 1.0),
            (INF, NAN),
            (-INF, NAN),
            (NAN, NAN),
            (MIN_SUB64, 1.0),
        ],
    );
    // Beyond the inline threshold: the slow path is std itself; mixed with
    // small lanes in the same vector.
    let big32 = [
        268_435_460.0f32,
        1e10,
        -1e22,
        f32::MAX,
        0.5,
        -3.0,
        1e-3,
        1e30,
        12345.678,
        -268_435_456.0,
    ];
    let big64 = [
        4_194_305.0f64,
        1e10,
        -1e22,
        f64::MAX,
        0.5,
        -3.0,
        1e-3,
        1e300,
        12345.678,
        -4_194_304.0,
    ];
    for f in [MathFn::Sin, MathFn::Cos] {
        near32(f, &big32, 1, |_, g| g.abs() <= 1.0);
        near64(f, &big64, 2, |_, g| g.abs() <= 1.0);
        let mut jit = Jit::new(true);
        let k = jit.f32(Op::Unary(f));
        for (&x, &g) in big32.iter().zip(&k.run(&big32)) {
            if x.abs() > 268_435_456.0 {
                assert_eq!(g.to_bits(), ref32(f, x).to_bits(), "{f:?}({x:e})");
            }
        }
    }
}

/// The special values of the version-2 functions, as `std` (C99 Annex F)
/// has them: signed zeros kept by the odd functions, limits at the
/// infinities, NaN outside the domains and for NaN.
#[test]
fn version2_functions() {
    use std::f64::consts::{FRAC_PI_2, PI};
    // (function, [(x, want)]) in f64; f32 wants are the same values rounded
    let table: [(MathFn, Vec<(f64, f64)>); 11] = [
        (
            MathFn::Tan,
            vec![
                (0.0, 0.0),
                (-0.0, -0.0),
                (INF, NAN),
                (-INF, NAN),
                (NAN, NAN),
            ],
        ),
        (
            MathFn::Asin,
            vec![
                (0.0, 0.0),
                (-0.0, -0.0),
                (1.0, FRAC_PI_2),
                (-1.0, -FRAC_PI_2),
                (1.5, NAN),
                (-INF, NAN),
                (NAN, NAN),
            ],
        ),
        (
            MathFn::Acos,
            vec![
                (1.0, 0.0),
                (-1.0, PI),
                (0.0, FRAC_PI_2),
                (-0.0, FRAC_PI_2),
                (2.0, NAN),
                (INF, NAN),
                (NAN, NAN),
            ],
        ),
        (
            MathFn::Atan,
            vec![
                (0.0, 0.0),
                (-0.0, -0.0),
                (INF, FRAC_PI_2),
                (-INF, -FRAC_PI_2),
                (NAN, NAN),
            ],
        ),
        (
            MathFn::Sinh,
            vec![
                (0.0, 0.0),
                (-0.0, -0.0),
                (INF, INF),
                (-INF, -INF),
                (1e3, INF),
                (-1e3, -INF),
                (NAN, NAN),
            ],
        ),
        (
            MathFn::Cosh,
            vec![
                (0.0, 1.0),
                (-0.0, 1.0),
                (INF, INF),
                (-INF, INF),
                (-1e3, INF),
                (NAN, NAN),
            ],
        ),
        (
            MathFn::Asinh,
            vec![
                (0.0, 0.0),
                (-0.0, -0.0),
                (INF, INF),
                (-INF, -INF),
                (NAN, NAN),
            ],
        ),
        (
            MathFn::Acosh,
            vec![
                (1.0, 0.0),
                (INF, INF),
                (0.5, NAN),
                (-1.0, NAN),
                (-INF, NAN),
                (-1e300, NAN),
                (NAN, NAN),
            ],
        ),
        (
            MathFn::Atanh,
            vec![
                (0.0, 0.0),
                (-0.0, -0.0),
                (1.0, INF),
                (-1.0, -INF),
                (2.0, NAN),
                (-INF, NAN),
                (NAN, NAN),
            ],
        ),
        (
            MathFn::Erf,
            vec![
                (0.0, 0.0),
                (-0.0, -0.0),
                (INF, 1.0),
                (-INF, -1.0),
                (10.0, 1.0),
                (NAN, NAN),
            ],
        ),
        (
            MathFn::Erfc,
            vec![
                (0.0, 1.0),
                (-0.0, 1.0),
                (INF, 0.0),
                (-INF, 2.0),
                (30.0, 0.0),
                (-10.0, 2.0),
                (NAN, NAN),
            ],
        ),
    ];
    for (f, cases) in table {
        check64(f, &cases);
        let c32: Vec<(f32, f32)> = cases.iter().map(|&(x, w)| (x as f32, w as f32)).collect();
        check32(f, &c32);
    }
}

/// `atan2` on every pair of signed zeros, ±1, infinities, NaN and the
/// smallest subnormal, exactly as `std` (C99 Annex F.9.1.4).
#[test]
fn atan2_specials() {
    let specials = [0.0, -0.0, 1.0, -1.0, INF, -INF, NAN, MIN_SUB64, -2.5, 1e300];
    let mut ys = Vec::new();
    let mut xs = Vec::new();
    for &y in &specials {
        for &x in &specials {
            ys.push(y);
            xs.push(x);
        }
    }
    for t in TARGETS {
        let mut jit = Jit::for_target(t);
        let k = jit.f64(Op::Atan2);
        let got = k.run2(&ys, &xs);
        for i in 0..ys.len() {
            let want = ys[i].atan2(xs[i]);
            assert!(
                same64(got[i], want),
                "atan2({:e}, {:e}) f64 {t:?}: got {:e}, want {want:e}",
                ys[i],
                xs[i],
                got[i]
            );
        }
        let k = jit.f32(Op::Atan2);
        let (y32, x32): (Vec<f32>, Vec<f32>) = ys
            .iter()
            .zip(&xs)
            .map(|(&y, &x)| (y as f32, x as f32))
            .unzip();
        let got = k.run2(&y32, &x32);
        for i in 0..y32.len() {
            let want = y32[i].atan2(x32[i]);
            assert!(
                same32(got[i], want),
                "atan2({:e}, {:e}) f32 {t:?}: got {:e}, want {want:e}",
                y32[i],
                x32[i],
                got[i]
            );
        }
    }
}
