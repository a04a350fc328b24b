//! `pow` special values: the C99 Annex F.9.4.4 table (plus overflow,
//! underflow, exact powers of two and large odd/even integer exponents).
//!
//! Every case is evaluated through the vector loop (all cases at once) and
//! through the scalar tail (one call per case), for every target in
//! `common::TARGETS`, and must match exactly (sign of zero included; NaN
//! only needs to be NaN).  Each expected value is also checked against
//! `powf` itself.

mod math_support;
use common::*;
use math_support as common;

const INF32: f32 = f32::INFINITY;
const NAN32: f32 = f32::NAN;
const INF: f64 = f64::INFINITY;
const NAN: f64 = f64::NAN;
const MIN_SUB32: f32 = 1e-45; // 2^-149
const MIN_SUB64: f64 = 5e-324; // 2^-1074

fn same32(a: f32, b: f32) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}
fn same64(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

fn pow_check32(cases: &[(f32, f32, f32)]) {
    for t in TARGETS {
        let mut jit = Jit::for_target(t);
        let k = jit.f32(Op::Pow);
        let a: Vec<f32> = cases.iter().map(|c| c.0).collect();
        let y: Vec<f32> = cases.iter().map(|c| c.1).collect();
        let batch = k.run2(&a, &y);
        for (i, &(a, y, want)) in cases.iter().enumerate() {
            let single = k.run2(&[a], &[y])[0];
            for got in [batch[i], single] {
                assert!(
                    same32(got, want),
                    "pow({a:e}, {y:e}) f32 {t:?}: got {got:e}, want {want:e}"
                );
            }
            assert!(
                same32(want, a.powf(y)),
                "case pow({a:e}, {y:e}) disagrees with std"
            );
        }
    }
}

fn pow_check64(cases: &[(f64, f64, f64)]) {
    for t in TARGETS {
        let mut jit = Jit::for_target(t);
        let k = jit.f64(Op::Pow);
        let a: Vec<f64> = cases.iter().map(|c| c.0).collect();
        let y: Vec<f64> = cases.iter().map(|c| c.1).collect();
        let batch = k.run2(&a, &y);
        for (i, &(a, y, want)) in cases.iter().enumerate() {
            let single = k.run2(&[a], &[y])[0];
            for got in [batch[i], single] {
                assert!(
                    same64(got, want),
                    "pow({a:e}, {y:e}) f64 {t:?}: got {got:e}, want {want:e}"
                );
            }
            assert!(
                same64(want, a.powf(y)),
                "case pow({a:e}, {y:e}) disagrees with std"
            );
        }
    }
}

/// The C99 F.9.4.4 table, instantiated for one float type.
macro_rules! pow_cases {
    ($t:ty, $inf:expr, $nan:expr, $odd_big:expr, $even_big:expr) => {{
        let (inf, nan): ($t, $t) = ($inf, $nan);
        vec![
            // pow(+-0, y), y odd integer < 0: +-inf
            (0.0, -3.0, inf), (-0.0, -3.0, -inf), (-0.0, -1.0, -inf),
            // pow(+-0, -inf) = +inf; y < 0 not an odd integer: +inf
            (0.0, -inf, inf), (-0.0, -inf, inf), (-0.0, -2.0, inf), (-0.0, -0.5, inf), (0.0, -2.5, inf),
            // pow(+-0, y), y odd integer > 0: +-0; other y > 0: +0
            (0.0, 3.0, 0.0), (-0.0, 3.0, -0.0), (-0.0, 2.0, 0.0), (-0.0, 0.5, 0.0), (-0.0, inf, 0.0),
            // pow(-1, +-inf) = 1; pow(1, y) = 1 for any y; pow(x, +-0) = 1 for any x
            (-1.0, inf, 1.0), (-1.0, -inf, 1.0), (1.0, nan, 1.0), (1.0, inf, 1.0), (1.0, -inf, 1.0), (1.0, -7.5, 1.0),
            (nan, 0.0, 1.0), (nan, -0.0, 1.0), (inf, 0.0, 1.0), (-inf, -0.0, 1.0), (0.0, 0.0, 1.0), (-3.0, 0.0, 1.0),
            // finite x < 0, finite non-integer y: NaN
            (-2.0, 0.5, nan), (-8.0, 1.0 / 3.0, nan), (-0.5, -1.5, nan),
            // |x| < 1 with -inf: +inf, |x| > 1: +0; with +inf: the reverse
            (0.5, -inf, inf), (-0.5, -inf, inf), (2.0, -inf, 0.0), (-2.0, -inf, 0.0),
            (0.5, inf, 0.0), (-0.5, inf, 0.0), (2.0, inf, inf), (-2.0, inf, inf),
            // pow(-inf, y): y odd int < 0: -0; y < 0 otherwise: +0; y odd int > 0: -inf; y > 0 otherwise: +inf
            (-inf, -3.0, -0.0), (-inf, -2.0, 0.0), (-inf, -0.5, 0.0), (-inf, 3.0, -inf), (-inf, 2.0, inf), (-inf, 0.5, inf),
            // pow(+inf, y): y < 0: +0, y > 0: +inf
            (inf, -1.0, 0.0), (inf, -inf, 0.0), (inf, 0.5, inf), (inf, inf, inf),
            // NaN otherwise
            (nan, 1.0, nan), (2.0, nan, nan), (-1.0, nan, nan), (nan, nan, nan), (0.0, nan, nan), (inf, nan, nan),
            // Signs from odd integer exponents, exact small cases
            (-2.0, 3.0, -8.0), (-2.0, 2.0, 4.0), (-2.0, -3.0, -0.125), (-1.0, $odd_big, -1.0), (-1.0, $even_big, 1.0),
            (2.0, 10.0, 1024.0), (0.5, -3.0, 8.0), (-0.5, 5.0, -0.03125), (-1.0, -inf, 1.0),
            (1.0, 0.0, 1.0), (0.25, 2.0, 0.0625), (inf, 1e-30, inf), (-inf, 1e30, inf),
        ]
    }};
}

#[test]
fn pow_special_f32() {
    let mut cases: Vec<(f32, f32, f32)> = pow_cases!(f32, INF32, NAN32, 16_777_215.0, 16_777_216.0);
    cases.extend([
        (-1.0, 8_388_609.0, -1.0), // 2^23 + 1 is odd
        (-1.0, 33_554_432.0, 1.0),
        (10.0, 39.0, INF32), // overflow
        (-10.0, 39.0, -INF32),
        (10.0, -46.0, 0.0), // underflow
        (-10.0, -47.0, -0.0),
        (2.0, -149.0, MIN_SUB32), // smallest subnormal, exact
        (2.0, -150.0, 0.0),       // exact tie rounds to even (0)
        (2.0, 127.0, 2f32.powi(127)),
        (2.0, 128.0, INF32),
        (f32::MAX, 2.0, INF32),
        (MIN_SUB32, 0.5, 3.743_392e-23),
    ]);
    pow_check32(&cases);
}

#[test]
fn pow_special_f64() {
    let mut cases: Vec<(f64, f64, f64)> = pow_cases!(
        f64,
        INF,
        NAN,
        9_007_199_254_740_991.0,
        9_007_199_254_740_992.0
    );
    cases.extend([
        (-1.0, 4_503_599_627_370_497.0, -1.0), // 2^52 + 1 is odd
        (-1.0, 1e300, 1.0),
        (10.0, 309.0, INF),
        (-10.0, 309.0, -INF),
        (10.0, -324.0, 0.0),
        (-10.0, -325.0, -0.0),
        (2.0, -1074.0, MIN_SUB64),
        (2.0, -1075.0, 0.0),
        (2.0, 1023.0, 2f64.powi(1023)),
        (2.0, 1024.0, INF),
        (f64::MAX, 2.0, INF),
        (1.0 + f64::EPSILON, 1e300, INF),
        (1.0 - f64::EPSILON / 2.0, 1e300, 0.0),
    ]);
    pow_check64(&cases);
}
