//! `sinh`, `cosh`, `asinh`, `acosh` and `atanh`, in f64 lanes (f32
//! arguments are computed in f64 and rounded once, see `mod.rs`), composed
//! of the `exp`, `expm1`, `log` and `log1p` kernels with fdlibm's formulas
//! (each region computed in every lane and selected):
//!
//! * `sinh(a) = (t + t/(t+1)) / 2` with `t = expm1(a)`, as `(2t - t^2/(t+1))
//!   / 2` below 1 (no cancellation near 0); `cosh(a) = 1 + t^2 / (2(1+t))`
//!   below `ln(2)/2`, else `(e^a + e^-a) / 2`. Beyond 709, where `e^a`
//!   overflows before `e^a / 2` does, both are `e^(a-1) (e/2)` (`a - 1` is
//!   exact there, `e/2` a two-part constant).
//! * `asinh(a) = log1p(a + a^2 / (1 + sqrt(1 + a^2)))` up to 2, `log(2a + 1 /
//!   (sqrt(a^2 + 1) + a))` up to `2^28`, then `log(a) + ln 2`.
//! * `acosh(x) = log1p(t + sqrt(2t + t^2))` with `t = x - 1` up to 2, then as
//!   `asinh`: `log(2x - 1 / (x + sqrt(x^2 - 1)))`, `log(x) + ln 2`; NaN below 1.
//! * `atanh(a) = log1p(2a + 2a^2 / (1 - a)) / 2` below 1/2, else
//!   `log1p(2a / (1 - a)) / 2`: infinite at 1, NaN beyond.
//!
//! The odd functions are computed on `|x|` and given the sign of `x`.

use super::emit::Em;
use super::{exp, log};
use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::{InstBuilder, Value};

/// Beyond this `e^a` overflows (709.78...) while `e^a / 2` may not.
const HUGE_EXP: f64 = 709.0;
/// Beyond this `sqrt(a^2 + 1)` is `a` in f64 and `a^2` may overflow.
const TWO_28: f64 = 268435456.0;

/// `e/2` as high and low parts.
const HALF_E: (f64, f64) = (1.3591409142295225, 7.228234458646251e-17);

/// `e^(a-1) (e/2)`: `e^a / 2` without overflowing early, for `a > 709`
/// (where `a - 1` is exact).
fn half_exp_big(e: &mut Em, a: Value) -> Value {
    let a1 = e.addc(a, -1.0);
    let w = exp::exp(e, a1);
    let hi = e.mulc(w, HALF_E.0);
    e.mlac(w, HALF_E.1, hi)
}

/// `sinh(x)`: odd.
pub(crate) fn sinh(e: &mut Em, x: Value) -> Value {
    let a = e.abs(x);
    let t = exp::expm1(e, a);
    let t1 = e.addc(t, 1.0);
    let q = e.div(t, t1);
    // below 1: 2t - t * (t / (t + 1))
    let two_t = e.add(t, t);
    let tq = e.mul(t, q);
    let small = e.sub(two_t, tq);
    let mid = e.add(t, q);
    let is_small = e.cmpc(FloatCC::LessThan, a, 1.0);
    let v = e.sel(is_small, small, mid);
    let v = e.mulc(v, 0.5);
    let big = half_exp_big(e, a);
    let is_big = e.cmpc(FloatCC::GreaterThan, a, HUGE_EXP);
    let v = e.sel(is_big, big, v);
    let s = e.sign_of(x);
    e.bor(v, s)
}

/// `cosh(x)`: even, at least 1.
pub(crate) fn cosh(e: &mut Em, x: Value) -> Value {
    let a = e.abs(x);
    // near 0: 1 + t^2 / (2 (1 + t))
    let t = exp::expm1(e, a);
    let w = e.addc(t, 1.0);
    let w2 = e.add(w, w);
    let tt = e.mul(t, t);
    let r = e.div(tt, w2);
    let small = e.addc(r, 1.0);
    // e^a / 2 + (1/2) / e^a
    let ex = exp::exp(e, a);
    let h = e.mulc(ex, 0.5);
    let half = e.c(0.5);
    let inv = e.div(half, ex);
    let mid = e.add(h, inv);
    let is_small = e.cmpc(FloatCC::LessThan, a, std::f64::consts::LN_2 / 2.0);
    let v = e.sel(is_small, small, mid);
    let big = half_exp_big(e, a);
    let is_big = e.cmpc(FloatCC::GreaterThan, a, HUGE_EXP);
    e.sel(is_big, big, v)
}

fn sqrt(e: &mut Em, v: Value) -> Value {
    e.b.ins().sqrt(v)
}

/// `log(a) + ln 2`, for `a` at least `2^28` (or infinite).
fn log_twice(e: &mut Em, a: Value) -> Value {
    let l = log::log(e, a);
    e.addc(l, std::f64::consts::LN_2)
}

/// `asinh(x)`: odd.
pub(crate) fn asinh(e: &mut Em, x: Value) -> Value {
    let a = e.abs(x);
    let aa = e.mul(a, a);
    let aa1 = e.addc(aa, 1.0);
    let root = sqrt(e, aa1);
    // up to 2: log1p(a + a^2 / (1 + sqrt(1 + a^2)))
    let d = e.addc(root, 1.0);
    let q = e.div(aa, d);
    let u = e.add(a, q);
    let small = log::log1p(e, u);
    // up to 2^28: log(2a + 1 / (sqrt(a^2 + 1) + a))
    let d = e.add(root, a);
    let one = e.c(1.0);
    let q = e.div(one, d);
    let a2 = e.add(a, a);
    let u = e.add(a2, q);
    let mid = log::log(e, u);
    let big = log_twice(e, a);
    let is_small = e.cmpc(FloatCC::GreaterThan, a, 2.0);
    let v = e.sel(is_small, mid, small);
    let is_big = e.cmpc(FloatCC::GreaterThan, a, TWO_28);
    let v = e.sel(is_big, big, v);
    let s = e.sign_of(x);
    e.bor(v, s)
}

/// `acosh(x)`: NaN below 1, 0 at 1.
pub(crate) fn acosh(e: &mut Em, x: Value) -> Value {
    // up to 2: log1p(t + sqrt(2t + t^2)), t = x - 1 (exact)
    let t = e.addc(x, -1.0);
    let tt = e.mul(t, t);
    let t2 = e.add(t, t);
    let r = e.add(t2, tt);
    let r = sqrt(e, r);
    let u = e.add(t, r);
    let small = log::log1p(e, u);
    // up to 2^28: log(2x - 1 / (x + sqrt(x^2 - 1)))
    let xx = e.mul(x, x);
    let xx1 = e.addc(xx, -1.0);
    let root = sqrt(e, xx1);
    let d = e.add(x, root);
    let one = e.c(1.0);
    let q = e.div(one, d);
    let x2 = e.add(x, x);
    let u = e.sub(x2, q);
    let mid = log::log(e, u);
    let big = log_twice(e, x);
    let is_mid = e.cmpc(FloatCC::GreaterThan, x, 2.0);
    let v = e.sel(is_mid, mid, small);
    let is_big = e.cmpc(FloatCC::GreaterThan, x, TWO_28);
    let v = e.sel(is_big, big, v);
    // below 1 (-inf included, where the formulas give +inf)
    let below = e.cmpc(FloatCC::LessThan, x, 1.0);
    let nan = e.c(f64::NAN);
    e.sel(below, nan, v)
}

/// `atanh(x)`: odd, `±inf` at `±1`, NaN beyond.
pub(crate) fn atanh(e: &mut Em, x: Value) -> Value {
    let a = e.abs(x);
    let one = e.c(1.0);
    let d = e.sub(one, a);
    let a2 = e.add(a, a);
    // below 1/2: 2a + 2a * a / (1 - a)
    let p = e.mul(a2, a);
    let q = e.div(p, d);
    let u_small = e.add(a2, q);
    // else: 2a / (1 - a)
    let u_big = e.div(a2, d);
    let is_small = e.cmpc(FloatCC::LessThan, a, 0.5);
    let u = e.sel(is_small, u_small, u_big);
    let l = log::log1p(e, u);
    let v = e.mulc(l, 0.5);
    let s = e.sign_of(x);
    e.bor(v, s)
}
