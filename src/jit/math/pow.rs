//! `pow(a, y)` with the C99 / Rust `powf` special cases.
//!
//! The magnitude is `exp(y * ln|a|)`:
//! * f32: computed in f64 lanes (`ln` and `exp` in plain double precision
//!   are ~2^-44 relative for every f32 result), then rounded once to f32.
//! * f64: `ln|a|` as a double-double (`2 atanh(f / (2 + f))` series with the
//!   leading terms in double-double), `y * ln|a|` as a double-double, then
//!   `exp` of that pair.
//!
//! The special cases (zero/infinite base, negative base, odd integer
//! exponent, NaN, `pow(x, 0) = pow(1, y) = 1`) are then applied with
//! lane-wise selects in the original type.

use super::emit::{join_f64x2, split_f32x4, Em};
use super::exp::{self, LN2_HI_64, LN2_LO_64, LOG2E};
use super::log::{log_kernel, log_reduce};
use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::types::{F32, F32X4, F64, F64X2};
use cranelift_codegen::ir::{InstBuilder, Value};
use cranelift_frontend::FunctionBuilder;

/// `|y|` is clamped to this before multiplying: beyond it `|y ln|a||` is
/// at least `2^27` (f64) unless `|a| == 1`, so the result is 0 or inf anyway.
const Y_CAP: f64 = 1.208_925_819_614_629_2e24; // 2^80

/// `|a|^y` in f64 lanes for `a`, `y` promoted from f32 (normal in f64),
/// as `2^(y log2|a|)`: `log2|a| = k + ln(m) log2(e)` and the fraction of
/// `p = y log2|a|` is exact, so exact powers of two stay exact (and ties
/// such as `2^-150` round to even in the final conversion).
fn core_for_f32(e: &mut Em, a: Value, y: Value) -> Value {
    let aa = e.abs(a);
    let (kf, f) = log_reduce(e, aa, false);
    let zero = e.c(0.0);
    let lnm = log_kernel(e, zero, f, None);
    let l2 = e.mlac(lnm, LOG2E, kf);
    let yc = e.clamp(y, -Y_CAP, Y_CAP);
    let p = e.mul(yc, l2);
    // f32 results need |p| <= 151; stay inside the normal f64 range.
    let p = e.clamp(p, -400.0, 400.0);
    let (nf, ni) = e.round_mul(p, 1.0);
    let fr = e.sub(p, nf);
    let r = e.mulc(fr, std::f64::consts::LN_2);
    let em = exp::expm1_poly_for_f32(e, r);
    let v = e.addc(em, 1.0);
    let s = e.pow2i(ni);
    e.mul(v, s)
}

/// `|a|^y` in f64 lanes with `ln|a|` and `y ln|a|` in double-double.
/// Garbage (but no trap) for `a` zero, infinite or NaN.
fn core_f64(e: &mut Em, a: Value, y: Value) -> Value {
    let aa = e.abs(a);
    let (kf, f) = log_reduce(e, aa, true);
    // x = f / (2 + f) as xh + xl.
    let two = e.c(2.0);
    let (d, dl) = e.fast_two_sum(two, f);
    let xh = e.div(f, d);
    let (p, pe) = e.two_prod(xh, d);
    let rem = e.sub(f, p);
    let rem = e.sub(rem, pe);
    let xdl = e.mul(xh, dl);
    let rem = e.sub(rem, xdl);
    let xl = e.div(rem, d);
    // x^2 and x^3 as double-doubles.
    let (x2h, x2e) = e.two_prod(xh, xh);
    let t = e.mul(xh, xl);
    let t = e.add(t, t);
    let x2l = e.add(x2e, t);
    let (x3h, x3e) = e.two_prod(x2h, xh);
    let t = e.mla(x2h, xl, x3e);
    let x3l = e.mla(x2l, xh, t);
    // (2/3) x^3 as a double-double.
    let (ch, cl) = (2.0 / 3.0, 3.700_743_415_417_188e-17);
    let chv = e.c(ch);
    let (t3h, t3e) = e.two_prod(x3h, chv);
    let t = e.mulc(x3h, cl);
    let t = e.add(t3e, t);
    let t3l = e.mlac(x3l, ch, t);
    // Tail: x^5 (2/5 + 2/7 x^2 + ... + 2/25 x^20).
    let tail: Vec<f64> = (2..=12).map(|k| 2.0 / (2 * k + 1) as f64).collect();
    let tp = e.poly(x2h, &tail);
    let x5 = e.mul(x3h, x2h);
    let t5 = e.mul(x5, tp);
    // ln m = 2x + t3 + t5.
    let x2 = e.add(xh, xh);
    let (ah, ae) = e.fast_two_sum(x2, t3h);
    let xl2 = e.add(xl, xl);
    let al = e.add(ae, xl2);
    let al = e.add(al, t3l);
    let al = e.add(al, t5);
    // + k ln 2.
    let kh = e.mulc(kf, LN2_HI_64);
    let kl = e.mulc(kf, LN2_LO_64);
    let (bh, be) = e.two_sum(kh, ah);
    let bl = e.add(be, al);
    let bl = e.add(bl, kl);
    let (lh, ll) = e.fast_two_sum(bh, bl);
    // y * ln|a| as ph + pl.
    let yc = e.clamp(y, -Y_CAP, Y_CAP);
    let (ph, pe) = e.two_prod(yc, lh);
    let pl = e.mla(yc, ll, pe);
    // exp(ph + pl).
    let phc = e.clamp(ph, -746.0, 710.0);
    let plc = e.clamp(pl, -1e-3, 1e-3);
    let (nf, ni) = e.round_mul(phc, LOG2E);
    let r = exp::reduce_ln2(e, phc, nf);
    let r = e.add(r, plc);
    let em = exp::expm1_poly(e, r);
    let v = e.addc(em, 1.0);
    e.ldexp2(v, nf, ni)
}

/// Applies the special cases to the magnitude `mag = |a|^y` (same type as
/// `a` and `y`).
fn fixups(e: &mut Em, a: Value, y: Value, mag: Value) -> Value {
    let mb = e.mant_bits();
    let p2 = 2f64.powi(mb as i32);
    let aa = e.abs(a);
    let ay = e.abs(y);
    // Integer / odd-integer tests on |y| via the 2^p rounding trick.
    let big = e.cmpc(FloatCC::GreaterThanOrEqual, ay, p2);
    let t = e.addc(ay, p2);
    let rnd = e.addc(t, -p2);
    let small_int = e.cmp(FloatCC::Equal, rnd, ay);
    let is_int = e.bor(big, small_int);
    let v = e.sel(big, ay, t);
    let vi = e.int_bits(v);
    let low = e.ishl(vi, if e.is_f32() { 31 } else { 63 });
    let low = e.float_bits(low);
    let lt2p = e.cmpc(FloatCC::LessThan, ay, 2.0 * p2);
    let odd = e.band(is_int, lt2p);
    let odd = e.band(low, odd);
    let sa = e.sign_of(a);
    let neg_sign = e.band(odd, sa);
    // Zero and infinite base.
    let az = e.cmpc(FloatCC::Equal, aa, 0.0);
    let ai = e.cmpc(FloatCC::Equal, aa, f64::INFINITY);
    let ylt0 = e.cmpc(FloatCC::LessThan, y, 0.0);
    let to_inf = e.bxor(ylt0, ai);
    let inf = e.c(f64::INFINITY);
    let zero = e.c(0.0);
    let zi_val = e.sel(to_inf, inf, zero);
    let zi = e.bor(az, ai);
    let mag = e.sel(zi, zi_val, mag);
    // Negative finite base with a non-integer exponent.
    let neg = e.cmpc(FloatCC::LessThan, a, 0.0);
    let negfin = e.band_not(neg, ai);
    let bad = e.band_not(negfin, is_int);
    let nan = e.c(f64::NAN);
    let mag = e.sel(bad, nan, mag);
    let res = e.bor(mag, neg_sign);
    // NaN in -> NaN out, then pow(x, 0) = pow(1, y) = 1.
    let nan_in = e.cmp(FloatCC::Unordered, a, y);
    let sum = e.add(a, y);
    let res = e.sel(nan_in, sum, res);
    let y0 = e.cmpc(FloatCC::Equal, y, 0.0);
    let a1 = e.cmpc(FloatCC::Equal, a, 1.0);
    let ones = e.bor(y0, a1);
    let one = e.c(1.0);
    e.sel(ones, one, res)
}

/// Emits `pow(a, y)` for `a`, `y` of the same type (F32, F64, F32X4, F64X2).
pub(crate) fn emit_pow(b: &mut FunctionBuilder, fma: bool, a: Value, y: Value) -> Value {
    let ty = b.func.dfg.value_type(a);
    if ty == F64X2 {
        let mut e = Em::new(b, F64X2, fma);
        let mag = core_f64(&mut e, a, y);
        fixups(&mut e, a, y, mag)
    } else if ty == F64 {
        let av = b.ins().scalar_to_vector(F64X2, a);
        let yv = b.ins().scalar_to_vector(F64X2, y);
        let mut e = Em::new(b, F64X2, fma);
        let mag = core_f64(&mut e, av, yv);
        let r = fixups(&mut e, av, yv, mag);
        b.ins().extractlane(r, 0)
    } else if ty == F32X4 {
        let (alo, ahi) = split_f32x4(b, a);
        let (ylo, yhi) = split_f32x4(b, y);
        let lo = core_for_f32(&mut Em::new(b, F64X2, fma), alo, ylo);
        let hi = core_for_f32(&mut Em::new(b, F64X2, fma).second_copy(), ahi, yhi);
        let mag = join_f64x2(b, lo, hi);
        fixups(&mut Em::new(b, F32X4, fma), a, y, mag)
    } else {
        assert_eq!(ty, F32, "emit_pow: unsupported type {ty}");
        let ad = b.ins().fpromote(F64, a);
        let yd = b.ins().fpromote(F64, y);
        let ad = b.ins().scalar_to_vector(F64X2, ad);
        let yd = b.ins().scalar_to_vector(F64X2, yd);
        let mag = core_for_f32(&mut Em::new(b, F64X2, fma), ad, yd);
        let mag = b.ins().extractlane(mag, 0);
        let mag = b.ins().fdemote(F32, mag);
        let av = b.ins().scalar_to_vector(F32X4, a);
        let yv = b.ins().scalar_to_vector(F32X4, y);
        let mv = b.ins().scalar_to_vector(F32X4, mag);
        let r = fixups(&mut Em::new(b, F32X4, fma), av, yv, mv);
        b.ins().extractlane(r, 0)
    }
}
