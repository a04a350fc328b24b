//! `log`, `log1p` and `softplus`.
//!
//! `x = 2^k * m` with `m` in `[sqrt(1/2), sqrt(2))` by integer arithmetic on
//! the bits (fdlibm's trick), `f = m - 1` exactly, then `log(1 + f)` by
//! Cephes' `logf` polynomial (f32) or fdlibm's `s = f / (2 + f)` series
//! (f64), plus `k * ln 2` split in two.  `log1p` adds the rounding error of
//! `1 + x` as a first-order correction `c / (1 + x)`.

use super::emit::Em;
use super::exp;
use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::Value;

/// Cephes `logf`: `log(1+f) ~ f - f^2/2 + f^3 * P(f)`, `P` ascending.
const LOGF_P: [f64; 9] = [
    3.333_333_117_4e-1,
    -2.499_999_399_3e-1,
    2.000_071_476_5e-1,
    -1.666_805_766_5e-1,
    1.424_932_278_7e-1,
    -1.242_014_084_6e-1,
    1.167_699_874_0e-1,
    -1.151_461_031_0e-1,
    7.037_683_629_2e-2,
];
const LN2_HI_32: f64 = 0.693359375;
const LN2_LO_32: f64 = -2.121_944_4e-4;

/// fdlibm `e_log.c` coefficients (`Lg1..Lg7`).
const LG: [f64; 7] = [
    6.666_666_666_666_735e-1,
    3.999_999_999_940_942e-1,
    2.857_142_874_366_239e-1,
    2.222_219_843_214_978_4e-1,
    1.818_357_216_161_805e-1,
    1.531_383_769_920_937_3e-1,
    1.479_819_860_511_658_6e-1,
];
/// fdlibm split of `ln 2` (`hi` has 32 significant bits).
const LN2_HI_64: f64 = 6.931_471_803_691_238e-1;
const LN2_LO_64: f64 = 1.908_214_929_270_587_7e-10;

/// Reduction of a positive finite `x`: returns `(k, f)` (both floats) with
/// `x = 2^k * (1 + f)` and `1 + f` in `[sqrt(1/2), sqrt(2))`.  Lanes that are
/// negative, zero, infinite or NaN give garbage that callers override.
pub(crate) fn log_reduce(e: &mut Em, x: Value, subnormals: bool) -> (Value, Value) {
    let (x, kadj) = if subnormals {
        let (min_normal, scale, s) = if e.is_f32() {
            (f32::MIN_POSITIVE as f64, 33_554_432.0, -25.0)
        } else {
            (f64::MIN_POSITIVE, 18_014_398_509_481_984.0, -54.0)
        };
        let tiny = e.cmpc(FloatCC::LessThan, x, min_normal);
        let xs = e.mulc(x, scale);
        let x = e.sel(tiny, xs, x);
        let sadj = e.c(s);
        let zero = e.c(0.0);
        (x, Some(e.sel(tiny, sadj, zero)))
    } else {
        (x, None)
    };
    let (one_bits, sq_bits, mant_mask): (i64, i64, i64) = if e.is_f32() {
        (0x3f80_0000, 0x3f35_04f3, 0x007f_ffff)
    } else {
        (
            0x3ff0_0000_0000_0000,
            0x3fe6_a09e_667f_3bcd,
            0x000f_ffff_ffff_ffff,
        )
    };
    let bits = e.int_bits(x);
    let b2 = e.iaddc(bits, one_bits - sq_bits);
    let mb = e.mant_bits();
    let biased = e.ushr(b2, mb);
    let ef = e.u_to_float(biased);
    let bias = e.bias() as f64;
    let mut kf = e.addc(ef, -bias);
    if let Some(kadj) = kadj {
        kf = e.add(kf, kadj);
    }
    let mbits = e.ibandc(b2, mant_mask);
    let mbits = e.iaddc(mbits, sq_bits);
    let m = e.float_bits(mbits);
    let f = e.addc(m, -1.0);
    (kf, f)
}

/// `k ln 2 + log(1 + f) + corr` for `1 + f` in `[sqrt(1/2), sqrt(2))`, where
/// `corr` is a small correction term (or none).
pub(crate) fn log_kernel(e: &mut Em, kf: Value, f: Value, corr: Option<Value>) -> Value {
    if e.is_f32() {
        // Cephes logf.
        let z = e.mul(f, f);
        let p = e.poly(f, &LOGF_P);
        let fz = e.mul(f, z);
        let mut y = e.mul(p, fz);
        if let Some(c) = corr {
            y = e.add(y, c);
        }
        let y = e.mlac(kf, LN2_LO_32, y);
        let y = e.mlac(z, -0.5, y);
        let r = e.add(f, y);
        e.mlac(kf, LN2_HI_32, r)
    } else {
        // fdlibm log: s = f/(2+f), log(1+f) = f - hfsq + s*(hfsq + R(s^2)).
        let ff = e.mul(f, f);
        let hfsq = e.mulc(ff, 0.5);
        let d = e.addc(f, 2.0);
        let s = e.div(f, d);
        let z = e.mul(s, s);
        let w = e.mul(z, z);
        let t1 = e.poly(w, &[LG[1], LG[3], LG[5]]);
        let t1 = e.mul(w, t1);
        let t2 = e.poly(w, &[LG[0], LG[2], LG[4], LG[6]]);
        let t2 = e.mul(z, t2);
        let rr = e.add(t1, t2);
        let hr = e.add(hfsq, rr);
        let mut lo = e.mulc(kf, LN2_LO_64);
        if let Some(c) = corr {
            lo = e.add(lo, c);
        }
        let v = e.mla(s, hr, lo);
        let v = e.sub(v, hfsq);
        let v = e.add(v, f);
        e.mlac(kf, LN2_HI_64, v)
    }
}

/// Overrides for `log`-like results computed from the argument `u`:
/// `u` NaN or `+inf` gives `u`, `u < 0` gives NaN, `u == 0` gives `-inf`.
fn log_specials(e: &mut Em, u: Value, r: Value) -> Value {
    let finite = e.cmpc(FloatCC::LessThan, u, f64::INFINITY);
    let r = e.sel(finite, r, u);
    let neg = e.cmpc(FloatCC::LessThan, u, 0.0);
    let nan = e.c(f64::NAN);
    let r = e.sel(neg, nan, r);
    let zero = e.cmpc(FloatCC::Equal, u, 0.0);
    let ninf = e.c(f64::NEG_INFINITY);
    e.sel(zero, ninf, r)
}

/// Natural logarithm.
pub(crate) fn log(e: &mut Em, x: Value) -> Value {
    let (kf, f) = log_reduce(e, x, true);
    let r = log_kernel(e, kf, f, None);
    log_specials(e, x, r)
}

/// `log(1 + u_hi + c)` where `u_hi = fl(1 + x)` and `c` its exact rounding error.
fn log1p_from_sum(e: &mut Em, u: Value, c: Value) -> Value {
    let (kf, f) = log_reduce(e, u, false);
    let corr = e.div(c, u);
    log_kernel(e, kf, f, Some(corr))
}

/// `log(1 + x)`, accurate near zero; `log1p(-0) = -0`, `log1p(-1) = -inf`.
pub(crate) fn log1p(e: &mut Em, x: Value) -> Value {
    let one = e.c(1.0);
    let (u, c) = e.two_sum(one, x);
    let r = log1p_from_sum(e, u, c);
    let r = log_specials(e, u, r);
    // log1p has the sign of x (fixes -0).
    let s = e.sign_of(x);
    e.bor(r, s)
}

/// `softplus(x) = max(x, 0) + log1p(exp(-|x|))`.
pub(crate) fn softplus(e: &mut Em, x: Value) -> Value {
    let a = e.abs(x);
    let na = e.neg(a);
    let ex = exp::exp(e, na);
    // 1 >= ex >= 0, so fast two-sum gives the exact error of 1 + ex.
    let one = e.c(1.0);
    let (u, c) = e.fast_two_sum(one, ex);
    let l = log1p_from_sum(e, u, c);
    let m = e.max_c(x, 0.0);
    e.add(m, l)
}
