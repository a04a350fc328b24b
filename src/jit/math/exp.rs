//! `exp`, `expm1` and `sigmoid`.
//!
//! Cephes-style: `n = round(x / ln 2)`, `r = x - n ln 2` with `ln 2` split in
//! two constants (Cody–Waite) so that `n * hi` is exact, `e^r` by a
//! polynomial on `|r| <= ln(2)/2`, then scaling by `2^n`.  The general `exp`
//! scales in two steps so gradual underflow is rounded once and correctly.

use super::emit::Em;
use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::Value;

/// `log2(e)`.
pub(crate) const LOG2E: f64 = std::f64::consts::LOG2_E;

/// Cephes `expf` split of `ln 2`: `0.693359375` has 9 significant bits.
const LN2_HI_32: f64 = 0.693359375;
const LN2_LO_32: f64 = -2.121_944_4e-4;
/// `ln 2` rounded to 42 significant bits (`n * hi` exact for `|n| < 2^11`)
/// and the rest (`ln 2 - hi`, rounded to f64).
pub(crate) const LN2_HI_64: f64 = 0.693_147_180_559_890_3;
pub(crate) const LN2_LO_64: f64 = 5.497_923_018_708_371e-14;

/// `e^r ~ 1 + r + r^2 * P(r)` for f32, `P` ascending: a degree-4
/// near-minimax fit of `(e^r - 1 - r) / r^2` on `|r| <= ln(2)/2` weighted by
/// `r^2 / e^r` (Lawson's iteration, `scripts/expf_fit.py`): relative error of
/// `e^r` at most 3.1e-9 (0.05 ulp), one term fewer than Cephes' `expf`.
const EXPF_P: [f64; 5] = [
    0.499_999_934_122_609_9,
    0.166_665_201_055_462_31,
    0.041_668_394_259_157_85,
    0.008_368_780_622_224_174,
    0.001_381_446_475_205_260_3,
];

/// Taylor coefficients `1/k!` for `k = 2..=14` (f64 `expm1` core).  On
/// `|r| <= 0.347` the first omitted term is below `2^-61` relative.
const EXP_P64: [f64; 13] = [
    1.0 / 2.0,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5040.0,
    1.0 / 40320.0,
    1.0 / 362880.0,
    1.0 / 3628800.0,
    1.0 / 39916800.0,
    1.0 / 479001600.0,
    1.0 / 6227020800.0,
    1.0 / 87178291200.0,
];

/// Clamp bounds for `exp`: below `lo` the result is `+0`, above `hi` it is `+inf`.
fn exp_bounds(e: &Em) -> (f64, f64) {
    if e.is_f32() {
        (-104.0, 89.0)
    } else {
        (-746.0, 710.0)
    }
}

/// `ln 2` split in two for the lane type: `n * hi` is exact.
fn ln2_split(e: &Em) -> (f64, f64) {
    if e.is_f32() {
        (LN2_HI_32, LN2_LO_32)
    } else {
        (LN2_HI_64, LN2_LO_64)
    }
}

/// `x - n ln 2` with a two-constant Cody–Waite split.
pub(crate) fn reduce_ln2(e: &mut Em, x: Value, nf: Value) -> Value {
    let (hi, lo) = ln2_split(e);
    let r = e.mlac(nf, -hi, x);
    e.mlac(nf, -lo, r)
}

/// `e^r - 1` for `|r| <= ln(2)/2 (+ a little)`, with relative accuracy
/// near zero (`r + r^2 * P(r)`).  `-0` gives `+0`.
pub(crate) fn expm1_poly(e: &mut Em, r: Value) -> Value {
    let z = e.mul(r, r);
    let p = if e.is_f32() {
        e.poly(r, &EXPF_P)
    } else {
        e.poly(r, &EXP_P64)
    };
    e.mla(p, z, r)
}

/// f64 `e^r - 1` with only the Taylor terms up to `r^10 / 10!` (relative
/// error below 2^-42 on `|r| <= 0.347`): enough for results rounded to f32.
pub(crate) fn expm1_poly_for_f32(e: &mut Em, r: Value) -> Value {
    let z = e.mul(r, r);
    let p = e.poly(r, &EXP_P64[..9]);
    e.mla(p, z, r)
}

/// `e^x` for `x` already clamped to the `exp` bounds (NaN allowed).
pub(crate) fn exp_clamped(e: &mut Em, x: Value) -> Value {
    let (nf, ni) = e.round_mul(x, LOG2E);
    let r = reduce_ln2(e, x, nf);
    let p = expm1_poly(e, r);
    let p = e.addc(p, 1.0);
    e.ldexp2(p, nf, ni)
}

/// `e^x` for `0 <= x <= 64` (what `tanh` needs): a single scaling step,
/// and `x - n ln 2` with one constant, `ln 2` rounded to the lane type.
/// That constant's error shifts `r` by at most `n * 1.9e-9` (f32) /
/// `n * 2.3e-17` (f64), a relative error of `e^x` that `tanh`'s
/// `2 / (e^x + 1)` divides by `e^x` again: negligible for every `n`.
pub(crate) fn exp_in_range(e: &mut Em, x: Value) -> Value {
    let (nf, s) = e.round_mul_pow2(x, LOG2E, 0);
    let r = e.mlac(nf, -std::f64::consts::LN_2, x);
    let p = expm1_poly(e, r);
    // s (1 + p) = s p + s: `s p` is exact, so this is the same rounding
    e.mla(p, s, s)
}

/// `x - n ln 2` as `r + r_lo`: `r` rounded, `r_lo` its rounding error
/// (`x - n hi` is exact).
fn reduce_ln2_split(e: &mut Em, x: Value, nf: Value) -> (Value, Value) {
    let (ln2_hi, ln2_lo) = ln2_split(e);
    let r1 = e.mlac(nf, -ln2_hi, x);
    let c = e.mulc(nf, ln2_lo);
    let r = e.sub(r1, c);
    let d = e.sub(r1, r);
    let rl = e.sub(d, c);
    (r, rl)
}

/// `e^x` for `x <= 0` (or NaN; `-inf` gives `+0`): one clamp, and the
/// scaling in one exact step plus one correctly rounded one. With `n >= -150`
/// (f32) / `-1077` (f64) after the clamp, `p * 2^(n + k)` is a normal number
/// (`p >= 0.7`) and exact, and `* 2^-k` rounds a subnormal result once.
pub(crate) fn exp_nonpos(e: &mut Em, x: Value) -> Value {
    let (lo, _) = exp_bounds(e);
    let k = if e.is_f32() { 25 } else { 56 };
    let xc = e.max_c(x, lo);
    let (nf, s) = e.round_mul_pow2(xc, LOG2E, k);
    let r = reduce_ln2(e, xc, nf);
    let p = expm1_poly(e, r);
    // s (1 + p) = s p + s: `s p` is exact, so this is the same rounding
    let v = e.mla(p, s, s);
    e.mulc(v, 2f64.powi(-(k as i32)))
}

/// `exp(x)`: overflow to `+inf`, gradual underflow, `exp(-inf) = 0`, NaN kept.
pub(crate) fn exp(e: &mut Em, x: Value) -> Value {
    let (lo, hi) = exp_bounds(e);
    let xc = e.clamp(x, lo, hi);
    exp_clamped(e, xc)
}

/// `expm1(x) = e^x - 1`, accurate near zero, keeps the sign of zero.
///
/// With `t = 2^(n-1)`: `e^x - 1 = 2 * (t * expm1(r) + (t - 1/2))`; the final
/// doubling is exact, so the large-`x` case overflows exactly like `exp`.
/// `expm1(r) = r + (r^2 P(r) + r_lo)` is never rounded as a whole: `t * r +
/// (t - 1/2)` is exact for `|n| <= 1`, where cancellation would otherwise
/// double the error, and `r_lo` is the rounding error of the reduction.
pub(crate) fn expm1(e: &mut Em, x: Value) -> Value {
    // Below -30 (f32) / -50 (f64) the result rounds to -1.
    let (lo, hi) = if e.is_f32() {
        (-30.0, 89.0)
    } else {
        (-50.0, 710.0)
    };
    let xc = e.clamp(x, lo, hi);
    // t = 2^(n-1)
    let (nf, t) = e.round_mul_pow2(xc, LOG2E, -1);
    let (r, rl) = reduce_ln2_split(e, xc, nf);
    let z = e.mul(r, r);
    let p = if e.is_f32() {
        e.poly(r, &EXPF_P)
    } else {
        e.poly(r, &EXP_P64)
    };
    let tail = e.mla(p, z, rl);
    let tm = e.addc(t, -0.5);
    let head = e.mla(t, r, tm);
    let v = e.mla(t, tail, head);
    let v = e.add(v, v);
    // For tiny |x| (including subnormals and -0) expm1(x) rounds to x.
    let ax = e.abs(x);
    let tiny_lim = if e.is_f32() { 2.98e-8 } else { 5.55e-17 };
    let tiny = e.cmpc(FloatCC::LessThan, ax, tiny_lim);
    e.sel(tiny, x, v)
}

/// `sigmoid(x) = 1 / (1 + e^-x)`, computed as `e^x / (1 + e^x)` for negative
/// `x` so that it underflows gradually instead of to 0 at `x ~ -88`.
pub(crate) fn sigmoid(e: &mut Em, x: Value) -> Value {
    let a = e.abs(x);
    let na = e.neg(a);
    let ex = exp_nonpos(e, na);
    let neg = e.cmpc(FloatCC::LessThan, x, 0.0);
    let one = e.c(1.0);
    let num = e.sel(neg, ex, one);
    let den = e.addc(ex, 1.0);
    e.div(num, den)
}
