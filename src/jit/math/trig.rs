//! `sin`, `cos` and `tan`.
//!
//! Fast path (inline): `q = round(|x| * 2/pi)`, `r = |x| - q * pi/2` by
//! Cody–Waite with `pi/2` split so that every `q * part` is exact, then
//! fdlibm's kernels on `|r| <= pi/4` (both are evaluated and the quadrant
//! `q mod 4` selects and negates; `sin` takes the sign of `x` at the end).
//! `tan` divides the two kernels: `sin r / cos r` for even `q`, `-cos r /
//! sin r` for odd `q` (each kernel within about 0.6 ulp, so the quotient
//! within about 2), with the sign of `x`.
//!
//! * f32 is computed in f64 lanes (musl's `__rem_pio2f` medium case and
//!   `__sindf`/`__cosdf` kernels), then rounded once to f32.  Valid for
//!   `|x| <= 2^28` ([`THRESHOLD_F32`]).
//! * f64 uses a four-part split (31 + 31 + 31 + 53 bits), exact products for
//!   `q < 2^22`, fdlibm `__sin`/`__cos` kernels.  Valid for `|x| <= 2^22`
//!   ([`THRESHOLD_F64`]).
//!
//! If any lane has `|x|` above the threshold (or is infinite), a cold block
//! calls the imported Rust functions (`f32::sin` etc.) once per lane.

use super::emit::{join_f64x2, split_f32x4, Em};
use super::MathImports;
use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::types::{F32, F32X4, F64, F64X2};
use cranelift_codegen::ir::{FuncRef, InstBuilder, Value};
use cranelift_frontend::FunctionBuilder;

/// Which function of the angle to compute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Trig {
    /// Sine.
    Sin,
    /// Cosine.
    Cos,
    /// Tangent.
    Tan,
}

/// Largest `|x|` handled inline for `f32` (larger goes to the slow path).
pub const THRESHOLD_F32: f64 = 268_435_456.0; // 2^28
/// Largest `|x|` handled inline for `f64` (larger goes to the slow path).
pub const THRESHOLD_F64: f64 = 4_194_304.0; // 2^22

const TWO_OVER_PI: f64 = std::f64::consts::FRAC_2_PI;

/// musl `__rem_pio2f`: first 25 bits of pi/2 and the rest.
const PIO2_1_25: f64 = 1.570_796_310_901_641_8;
const PIO2_1T_25: f64 = 1.589_325_477_352_819_7e-8;

/// pi/2 in four parts (31, 31, 31, 53 significant bits): each part is what
/// the previous ones leave of pi/2, rounded to that many bits.
const PIO2_4: [f64; 4] = [
    1.570_796_326_734_125_6,
    6.077_100_503_593_46e-11,
    2.912_732_054_822_7e-20,
    1.270_655_876_013_987_9e-29,
];

/// musl `__sindf`: `sin(r) ~ r + r^3 * S(r^2)`, ascending.
const SINDF: [f64; 4] = [
    -0.166_666_666_416_265_24,
    0.008_333_329_385_889_463,
    -0.000_198_393_348_360_966_32,
    0.000_002_718_311_493_989_822,
];
/// musl `__cosdf`: `cos(r) ~ 1 + r^2 * C(r^2)`, ascending.
const COSDF: [f64; 4] = [
    -0.499_999_997_251_031,
    0.041_666_623_323_739_06,
    -0.001_388_676_377_460_993,
    0.000_024_390_448_796_277_41,
];
/// fdlibm `__sin` `S1..S6`.
const SIN64: [f64; 6] = [
    -1.666_666_666_666_663_2e-1,
    8.333_333_333_322_49e-3,
    -1.984_126_982_985_795e-4,
    2.755_731_370_707_006_8e-6,
    -2.505_076_025_340_686_3e-8,
    1.589_690_995_211_55e-10,
];
/// fdlibm `__cos` `C1..C6`.
const COS64: [f64; 6] = [
    4.166_666_666_666_66e-2,
    -1.388_888_888_887_411e-3,
    2.480_158_728_947_673e-5,
    -2.755_731_435_139_066_3e-7,
    2.087_572_321_298_175e-9,
    -1.135_964_755_778_819_5e-11,
];

/// Inline `sin`/`cos`/`tan` of an `F64X2` whose lanes are f64 (`f32_kernels`
/// false) or promoted f32 values (`f32_kernels` true).
fn fast_f64x2(e: &mut Em, x: Value, which: Trig, f32_kernels: bool) -> Value {
    let a = e.abs(x);
    let (nf, ni) = e.round_mul(a, TWO_OVER_PI);
    let (s, c) = if f32_kernels {
        let r = e.mlac(nf, -PIO2_1_25, a);
        let w = e.mulc(nf, PIO2_1T_25);
        let r = e.sub(r, w);
        let z = e.mul(r, r);
        // sin: r + r*z*S(z); cos: 1 + z*C(z).
        let sp = e.poly(z, &SINDF);
        let rz = e.mul(r, z);
        let s = e.mla(rz, sp, r);
        let cp = e.poly(z, &COSDF);
        let c = e.mla_k(z, cp, 1.0);
        (s, c)
    } else {
        let mut r = a;
        for p in PIO2_4 {
            r = e.mlac(nf, -p, r);
        }
        let z = e.mul(r, r);
        // fdlibm __sin(r, 0): r + v*(S1 + z*R), v = r^3.
        let sr = e.poly(z, &SIN64[1..]);
        let t = e.mla_k(z, sr, SIN64[0]);
        let v = e.mul(z, r);
        let s = e.mla(v, t, r);
        // fdlibm __cos(r, 0): w + (((1 - w) - hz) + z*R), w = 1 - z/2.
        let cr = e.poly(z, &COS64);
        let cr = e.mul(z, cr);
        let hz = e.mulc(z, 0.5);
        let one = e.c(1.0);
        let w = e.sub(one, hz);
        let t = e.sub(one, w);
        let t = e.sub(t, hz);
        let t = e.mla(z, cr, t);
        let c = e.add(w, t);
        (s, c)
    };
    if which == Trig::Tan {
        // tan(r + pi/2) = -cos r / sin r; tan is odd
        let odd = e.ibandc(ni, 1);
        let odd = e.ieqc(odd, 1);
        let num = e.sel(odd, c, s);
        let den = e.sel(odd, s, c);
        let v = e.div(num, den);
        let nv = e.neg(v);
        let v = e.sel(odd, nv, v);
        let sx = e.sign_of(x);
        return e.bxor(v, sx);
    }
    let is_cos = which == Trig::Cos;
    // Quadrant: cos(x) = sin(x + pi/2).
    let q = if is_cos { e.iaddc(ni, 1) } else { ni };
    let odd = e.ibandc(q, 1);
    let odd = e.ieqc(odd, 1);
    let v = e.sel(odd, c, s);
    let neg = e.ibandc(q, 2);
    let neg = e.ishl(neg, 62);
    let neg = e.float_bits(neg);
    let v = e.bxor(v, neg);
    if is_cos {
        v
    } else {
        let sx = e.sign_of(x);
        e.bxor(v, sx)
    }
}

/// Inline fast path for any supported type.
fn fast(b: &mut FunctionBuilder, fma: bool, x: Value, which: Trig) -> Value {
    let ty = b.func.dfg.value_type(x);
    if ty == F64X2 {
        fast_f64x2(&mut Em::new(b, F64X2, fma), x, which, false)
    } else if ty == F64 {
        let v = b.ins().scalar_to_vector(F64X2, x);
        let r = fast_f64x2(&mut Em::new(b, F64X2, fma), v, which, false);
        b.ins().extractlane(r, 0)
    } else if ty == F32X4 {
        let (lo, hi) = split_f32x4(b, x);
        let lo = fast_f64x2(&mut Em::new(b, F64X2, fma), lo, which, true);
        let hi = fast_f64x2(&mut Em::new(b, F64X2, fma).second_copy(), hi, which, true);
        join_f64x2(b, lo, hi)
    } else {
        let xd = b.ins().fpromote(F64, x);
        let v = b.ins().scalar_to_vector(F64X2, xd);
        let r = fast_f64x2(&mut Em::new(b, F64X2, fma), v, which, true);
        let r = b.ins().extractlane(r, 0);
        b.ins().fdemote(F32, r)
    }
}

/// Calls `f` on every lane of `x` (or on `x` itself for a scalar).
fn per_lane_call(b: &mut FunctionBuilder, f: FuncRef, x: Value) -> Value {
    let ty = b.func.dfg.value_type(x);
    if !ty.is_vector() {
        let call = b.ins().call(f, &[x]);
        return b.inst_results(call)[0];
    }
    let mut acc = x;
    for i in 0..ty.lane_count() as u8 {
        let xi = b.ins().extractlane(x, i);
        let call = b.ins().call(f, &[xi]);
        let ri = b.inst_results(call)[0];
        acc = b.ins().insertlane(acc, ri, i);
    }
    acc
}

/// Emits `sin(x)`, `cos(x)` or `tan(x)` with the inline fast path and a
/// cold per-lane library call for large or infinite arguments.
pub(crate) fn emit_trig(
    b: &mut FunctionBuilder,
    imports: &MathImports,
    x: Value,
    which: Trig,
) -> Value {
    let ty = b.func.dfg.value_type(x);
    let lane = ty.lane_type();
    let (thr, f) = if lane == F32 {
        let f = match which {
            Trig::Sin => imports.sin_f32,
            Trig::Cos => imports.cos_f32,
            Trig::Tan => imports.tan_f32,
        };
        (b.ins().f32const(THRESHOLD_F32 as f32), f)
    } else {
        let f = match which {
            Trig::Sin => imports.sin_f64,
            Trig::Cos => imports.cos_f64,
            Trig::Tan => imports.tan_f64,
        };
        (b.ins().f64const(THRESHOLD_F64), f)
    };
    let ax = b.ins().fabs(x);
    let cond = if ty.is_vector() {
        let thr = b.ins().splat(ty, thr);
        let big = b.ins().fcmp(FloatCC::GreaterThan, ax, thr);
        b.ins().vany_true(big)
    } else {
        b.ins().fcmp(FloatCC::GreaterThan, ax, thr)
    };
    let fast_block = b.create_block();
    let slow_block = b.create_block();
    let merge = b.create_block();
    let res = b.append_block_param(merge, ty);
    b.ins().brif(cond, slow_block, &[], fast_block, &[]);
    b.set_cold_block(slow_block);

    b.switch_to_block(fast_block);
    b.seal_block(fast_block);
    let r = fast(b, imports.cfg.has_fma, x, which);
    b.ins().jump(merge, &[r.into()]);

    b.switch_to_block(slow_block);
    b.seal_block(slow_block);
    let r = per_lane_call(b, f, x);
    b.ins().jump(merge, &[r.into()]);

    b.switch_to_block(merge);
    b.seal_block(merge);
    res
}
