//! `atan`, `atan2`, `asin` and `acos`, in f64 lanes (f32 arguments are
//! computed in f64 and rounded once, see `mod.rs`).
//!
//! Everything reduces to the arctangent of a quotient `u = num / den` in
//! `[0, 1]` (the smaller magnitude over the larger; `swapped` when it is the
//! other way round, so that the angle is `pi/2 - atan(u)`). fdlibm's
//! `s_atan.c` scheme follows: `u` is moved next to 0 by the addition
//! theorem around `c = 0`, `1/2` or `1` (`t = (u - c) / (1 + c u)`, `|t| <=
//! 7/16`), then `atan(c) + atan(t)` with `atan(c)` split in a high and a low
//! part and `atan(t) = t - t^3 P(t^2)` by fdlibm's degree-11 polynomial.
//! Swapped, the base is `pi/2 - atan(c)` (`pi/2`, `atan(2)`, `pi/4`) and `t`
//! changes sign. All regions are computed in every lane and selected.
//!
//! * `atan(x)`: `u = |x|` or `1/|x|`, with the sign of `x`.
//! * `atan2(y, x)`: `u = min(|x|, |y|) / max(|x|, |y|)` (0 where both are 0,
//!   1 where both are infinite), `pi - angle` where `x` has its sign bit set
//!   (its bases `pi - atan(c)` split in two parts too, so that it is rounded
//!   once), then the sign of `y`: C99's special values follow from these
//!   steps.
//! * `asin(x) = atan2(x, sqrt(1 - x^2))` and `acos(x) = atan2(sqrt(1 - x^2),
//!   x)`, with `1 - x^2` from the exact square (one rounding), NaN outside
//!   `[-1, 1]` (the square root of a negative number).

use super::emit::Em;
use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::{InstBuilder, Value};

/// fdlibm's `atan(t) ~ t - t^3 (aT[0] + aT[1] t^2 + ...)` on `|t| <= 7/16`.
const AT: [f64; 11] = [
    0.3333333333333293,
    -0.19999999999876483,
    0.14285714272503466,
    -0.11111110405462356,
    0.09090887133436507,
    -0.0769187620504483,
    0.06661073137387531,
    -0.058335701337905735,
    0.049768779946159324,
    -0.036531572744216916,
    0.016285820115365782,
];

/// `atan(1/2)` as high and low parts (fdlibm's `atanhi[0]`, `atanlo[0]`).
const ATAN_HALF: (f64, f64) = (0.4636476090008061, 2.2698777452961687e-17);
/// `pi/4` as high and low parts.
const PI_4: (f64, f64) = (std::f64::consts::FRAC_PI_4, 3.061616997868383e-17);
/// `pi/2` as high and low parts.
const PI_2: (f64, f64) = (std::f64::consts::FRAC_PI_2, 6.123233995736766e-17);
/// `atan(2) = pi/2 - atan(1/2)` as high and low parts (the sum of the parts
/// above, exactly, then split).
const ATAN_TWO: (f64, f64) = (1.1071487177940904, 9.40447137356638e-17);
/// `pi` as high and low parts (fdlibm's `pi`, `pi_lo`).
const PI: (f64, f64) = (std::f64::consts::PI, 1.2246467991473532e-16);
/// `pi - atan(1/2)`, `pi - atan(2)` and `3 pi/4` as high and low parts (the
/// differences of the parts above, exactly, then split): the bases where
/// `x` is negative, so that `pi - angle` is rounded once.
const PI_MINUS_ATAN_HALF: (f64, f64) = (2.677945044588987, 1.5527705369303147e-16);
const PI_MINUS_ATAN_TWO: (f64, f64) = (2.0344439357957027, 2.8419966179071527e-17);
const PI_3_4: (f64, f64) = (2.356194490192345, 9.184850993605148e-17);

/// Lower ends of the regions around `1/2` and `1`.
const SEVEN_16: f64 = 0.4375;
const ELEVEN_16: f64 = 0.6875;

/// The angle `atan(u)`, or `pi/2 - atan(u)` in the lanes of the mask
/// `swapped`, for `u` in `[0, 1]` or NaN: in `[0, pi/2]`; `pi` minus that in
/// the lanes of the mask `x_neg`.
fn atan01(e: &mut Em, u: Value, swapped: Value, x_neg: Option<Value>) -> Value {
    let r0 = e.cmpc(FloatCC::LessThan, u, SEVEN_16);
    let r1 = e.cmpc(FloatCC::LessThan, u, ELEVEN_16);
    // t = (u - c) / (1 + c u): c = 1/2 as (2u - 1) / (2 + u), c = 1 as
    // (u - 1) / (u + 1); 2u - 1 and u - 1 are exact (Sterbenz)
    let two_u = e.add(u, u);
    let n1 = e.addc(two_u, -1.0);
    let d1 = e.addc(u, 2.0);
    let n2 = e.addc(u, -1.0);
    let d2 = e.addc(u, 1.0);
    let num = e.sel(r1, n1, n2);
    let num = e.sel(r0, u, num);
    let one = e.c(1.0);
    let den = e.sel(r1, d1, d2);
    let den = e.sel(r0, one, den);
    let t = e.div(num, den);
    // the bases: atan(c) or, swapped, pi/2 - atan(c) (pi/2 - pi/4 = pi/4);
    // for a negative x, pi minus those
    let base = |e: &mut Em, part: fn((f64, f64)) -> f64, neg: bool| {
        let table = if neg {
            [PI, PI_2, PI_MINUS_ATAN_HALF, PI_MINUS_ATAN_TWO, PI_3_4]
        } else {
            [(0.0, 0.0), PI_2, ATAN_HALF, ATAN_TWO, PI_4]
        };
        let [zero, pi2, half, two, quarter] = table.map(|c| e.c(part(c)));
        let near0 = e.sel(swapped, pi2, zero);
        let near_half = e.sel(swapped, two, half);
        let v = e.sel(r1, near_half, quarter);
        e.sel(r0, near0, v)
    };
    let mut hi = base(e, |p| p.0, false);
    let mut lo = base(e, |p| p.1, false);
    // the angle decreases with t when swapped, or (not swapped) for a
    // negative x
    let mut flip = swapped;
    if let Some(m) = x_neg {
        let (hn, ln) = (base(e, |p| p.0, true), base(e, |p| p.1, true));
        hi = e.sel(m, hn, hi);
        lo = e.sel(m, ln, lo);
        flip = e.bxor(flip, m);
    }
    let nt = e.neg(t);
    let t = e.sel(flip, nt, t);
    // atan(t) = t - t (s1 + s2), fdlibm's even/odd split of the polynomial
    let z = e.mul(t, t);
    let w = e.mul(z, z);
    let s1 = e.poly(w, &[AT[0], AT[2], AT[4], AT[6], AT[8], AT[10]]);
    let s1 = e.mul(z, s1);
    let s2 = e.poly(w, &[AT[1], AT[3], AT[5], AT[7], AT[9]]);
    let s2 = e.mul(w, s2);
    let s = e.add(s1, s2);
    // hi - ((t s - lo) - t)
    let ts = e.mul(t, s);
    let v = e.sub(ts, lo);
    let v = e.sub(v, t);
    e.sub(hi, v)
}

/// `atan(x)`: odd, `±pi/2` at `±inf`.
pub(crate) fn atan(e: &mut Em, x: Value) -> Value {
    let a = e.abs(x);
    let swapped = e.cmpc(FloatCC::GreaterThan, a, 1.0);
    let one = e.c(1.0);
    let inv = e.div(one, a);
    let u = e.sel(swapped, inv, a);
    let r = atan01(e, u, swapped, None);
    let s = e.sign_of(x);
    e.bor(r, s)
}

/// The angle of `(a, b)` for `a = |x|`, `b = |y|` in `[0, pi/2]` (`pi -
/// angle` in the lanes of the mask `x_neg`), with the sign of `y`.
fn angle(e: &mut Em, b: Value, a: Value, x_neg: Option<Value>, y: Option<Value>) -> Value {
    let swapped = e.cmp(FloatCC::GreaterThan, b, a);
    let num = e.sel(swapped, a, b);
    let den = e.sel(swapped, b, a);
    let q = e.div(num, den);
    // 0/0 and inf/inf are 0 and 1: atan2(±0, ±0) and atan2(±inf, ±inf)
    let equal = e.cmp(FloatCC::Equal, a, b);
    let a_zero = e.cmpc(FloatCC::Equal, a, 0.0);
    let one = e.c(1.0);
    let zero = e.c(0.0);
    let tie = e.sel(a_zero, zero, one);
    let u = e.sel(equal, tie, q);
    let r = atan01(e, u, swapped, x_neg);
    match y {
        Some(y) => {
            let s = e.sign_of(y);
            e.bor(r, s)
        }
        None => r,
    }
}

/// A lane mask of the lanes of `x` whose sign bit is set (`-0` included).
fn sign_bit_set(e: &mut Em, x: Value) -> Value {
    let s = e.sign_of(x);
    let one = e.c(1.0);
    let signed_one = e.bor(one, s);
    e.cmpc(FloatCC::LessThan, signed_one, 0.0)
}

/// `atan2(y, x)` with C99's special values.
pub(crate) fn atan2(e: &mut Em, y: Value, x: Value) -> Value {
    let a = e.abs(x);
    let b = e.abs(y);
    let x_neg = sign_bit_set(e, x);
    angle(e, b, a, Some(x_neg), Some(y))
}

/// `sqrt(1 - x^2)` with `x^2` exact (`p + err`), so that `1 - p` is exact
/// where it cancels (`p >= 1/2`) and the whole is rounded about once; NaN
/// for `|x| > 1`.
fn cos_of_asin(e: &mut Em, x: Value) -> Value {
    let (p, err) = e.two_prod(x, x);
    let one = e.c(1.0);
    let d = e.sub(one, p);
    let d = e.sub(d, err);
    e.b.ins().sqrt(d)
}

/// `asin(x) = atan2(x, sqrt(1 - x^2))`.
pub(crate) fn asin(e: &mut Em, x: Value) -> Value {
    let h = cos_of_asin(e, x);
    let a = e.abs(x);
    angle(e, a, h, None, Some(x))
}

/// `acos(x) = atan2(sqrt(1 - x^2), x)`: in `[0, pi]`.
pub(crate) fn acos(e: &mut Em, x: Value) -> Value {
    let h = cos_of_asin(e, x);
    let a = e.abs(x);
    let x_neg = sign_bit_set(e, x);
    // the angle of (x, h) with h >= 0 (or NaN): no sign to give
    angle(e, h, a, Some(x_neg), None)
}
