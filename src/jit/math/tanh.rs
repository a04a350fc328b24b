//! `tanh`.
//!
//! Computed on `a = |x|` and given the sign of `x` at the end (so
//! `tanh(-0) = -0`).  For `a < 0.625`: Cephes' odd polynomial (f32) or
//! rational function (f64).  Otherwise `1 - 2 / (e^(2a) + 1)`, with `a`
//! clamped where `tanh` rounds to 1 (so it saturates and never overflows).
//! Both branches are computed and blended.

use super::emit::Em;
use super::exp;
use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::Value;

/// Cephes `tanhf`: `tanh(a) ~ a + a * z * P(z)`, `z = a^2`, `P` ascending.
const TANHF_P: [f64; 5] = [
    -3.333_328_194_22e-1,
    1.333_144_220_36e-1,
    -5.373_971_555_31e-2,
    2.063_908_879_54e-2,
    -5.704_988_727_45e-3,
];

/// Cephes `tanh` (double): `tanh(a) ~ a + a * z * P(z) / Q(z)`, ascending,
/// `Q` monic.
const TANH_P: [f64; 3] = [
    -1.614_687_684_417_084_5e3,
    -9.928_772_310_019_186e1,
    -9.643_991_794_250_523e-1,
];
const TANH_Q: [f64; 4] = [
    4.844_063_053_251_255e3,
    2.235_488_390_601_004_5e3,
    1.128_116_784_916_329_3e2,
    1.0,
];

/// Where the polynomial branch ends.
const SMALL: f64 = 0.625;

/// `tanh(x)`.
pub(crate) fn tanh(e: &mut Em, x: Value) -> Value {
    let a = e.abs(x);
    // tanh(a) rounds to 1 beyond ~9.01 (f32) / ~19.06 (f64).
    let cap = if e.is_f32() { 10.0 } else { 22.0 };
    let a = e.min_c(a, cap);
    let z = e.mul(a, a);
    let small = if e.is_f32() {
        let p = e.poly(z, &TANHF_P);
        let pz = e.mul(p, z);
        e.mla(pz, a, a)
    } else {
        let p = e.poly(z, &TANH_P);
        let q = e.poly(z, &TANH_Q);
        let pz = e.mul(p, z);
        let r = e.div(pz, q);
        e.mla(r, a, a)
    };
    let a2 = e.add(a, a);
    let ex = exp::exp_in_range(e, a2);
    let den = e.addc(ex, 1.0);
    let two = e.c(2.0);
    let q = e.div(two, den);
    let one = e.c(1.0);
    let large = e.sub(one, q);
    let is_small = e.cmpc(FloatCC::LessThan, a, SMALL);
    let r = e.sel(is_small, small, large);
    let s = e.sign_of(x);
    e.bor(r, s)
}
