//! `erf` and `erfc`, in f64 lanes (f32 arguments are computed in f64 and
//! rounded once, see `mod.rs`).
//!
//! fdlibm's `s_erf.c` scheme, its three regions computed in every lane and
//! selected (`a = |x|`):
//! * `a < 0.84375`: `erf(x) = x + x R(x^2)` with a rational `R`;
//!   `erfc(x) = 1 - erf(x)`, as `1/2 - ((x - 1/2) + x R)` from `x = 1/4` on
//!   so that the subtraction loses nothing.
//! * `0.84375 <= a < 1.25`: `erf(a) = erx + P(s)/Q(s)`, `s = a - 1`, where
//!   `erx` is `erf(1)` rounded to 24 bits.
//! * beyond: `erfc(a) = exp(-z^2 - 0.5625 + (z - a)(z + a) + R(1/a^2)) / a`
//!   with `z` the argument cut to its high 21 significant bits, so that
//!   `z^2` is exact, and the sum in the exponent kept as two doubles `s +
//!   err` (`exp(s) (1 + err)`): the accuracy `exp(-a^2)` alone would lose
//!   is kept, with one exponential; `R` has two rational fits, below
//!   and above `a = 1/0.35`. `a` is clamped to 28, where `erfc` is 0 in
//!   f64 (and `erf` is 1 from about 5.9 on): so infinities need no case of
//!   their own, and negative arguments use `erf(-x) = -erf(x)`, `erfc(-x) = 2
//!   - erfc(x)`.

use super::emit::Em;
use super::exp;
use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::Value;

/// `erf(1)` rounded to 24 significant bits.
const ERX: f64 = 0.8450629115104675;
/// `R(z) = PP(z) / QQ(z)` on `|x| < 0.84375`, `z = x^2`; `QQ[0] = 1`.
const PP: [f64; 5] = [
    0.12837916709551256,
    -0.3250421072470015,
    -0.02848174957559851,
    -0.005770270296489442,
    -2.3763016656650163e-05,
];
const QQ: [f64; 6] = [
    1.0,
    0.39791722395915535,
    0.0650222499887673,
    0.005081306281875766,
    0.00013249473800432164,
    -3.960228278775368e-06,
];
/// `erf(1 + s) - erx ~ PA(s) / QA(s)` on `0.84375 <= |x| < 1.25`.
const PA: [f64; 7] = [
    -0.0023621185607526594,
    0.41485611868374833,
    -0.3722078760357013,
    0.31834661990116175,
    -0.11089469428239668,
    0.035478304325618236,
    -0.002166375594868791,
];
const QA: [f64; 7] = [
    1.0,
    0.10642088040084423,
    0.540397917702171,
    0.07182865441419627,
    0.12617121980876164,
    0.01363708391202905,
    0.011984499846799107,
];
/// `RA(s) / SA(s)`, `s = 1/x^2`, on `1.25 <= |x| < 1/0.35`.
const RA: [f64; 8] = [
    -0.009864944034847148,
    -0.6938585727071818,
    -10.558626225323291,
    -62.375332450326006,
    -162.39666946257347,
    -184.60509290671104,
    -81.2874355063066,
    -9.814329344169145,
];
const SA: [f64; 9] = [
    1.0,
    19.651271667439257,
    137.65775414351904,
    434.56587747522923,
    645.3872717332679,
    429.00814002756783,
    108.63500554177944,
    6.570249770319282,
    -0.0604244152148581,
];
/// `RB(s) / SB(s)` on `|x| >= 1/0.35`.
const RB: [f64; 7] = [
    -0.0098649429247001,
    -0.799283237680523,
    -17.757954917754752,
    -160.63638485582192,
    -637.5664433683896,
    -1025.0951316110772,
    -483.5191916086514,
];
const SB: [f64; 8] = [
    1.0,
    30.33806074348246,
    325.7925129965739,
    1536.729586084437,
    3199.8582195085955,
    2553.0504064331644,
    474.52854120695537,
    -22.44095244658582,
];

/// Where the regions start.
const MEDIUM: f64 = 0.84375;
const LARGE: f64 = 1.25;
const SPLIT_R: f64 = 1.0 / 0.35;
/// `erfc` is 0 (f64) beyond.
const CLAMP: f64 = 28.0;

/// The pieces both functions are made of, for `x` and `a = |x|`.
struct Parts {
    /// `x R(x^2)`, `R` of the first region.
    xr: Value,
    /// `P(s)/Q(s)` of the second region.
    pq: Value,
    /// `erfc(a)` for the third region, `a` clamped.
    tail: Value,
    /// Lane masks: `a` is in the first region, in the first two.
    small: Value,
    medium: Value,
}

fn rational(e: &mut Em, s: Value, p: &[f64], q: &[f64]) -> Value {
    let n = e.poly(s, p);
    let d = e.poly(s, q);
    e.div(n, d)
}

fn parts(e: &mut Em, x: Value, a: Value) -> Parts {
    let small = e.cmpc(FloatCC::LessThan, a, MEDIUM);
    let medium = e.cmpc(FloatCC::LessThan, a, LARGE);
    // first region
    let z = e.mul(x, x);
    let r = rational(e, z, &PP, &QQ);
    let xr = e.mul(x, r);
    // second region
    let s = e.addc(a, -1.0);
    let pq = rational(e, s, &PA, &QA);
    // third region
    let ac = e.min_c(a, CLAMP);
    let ac = e.max_c(ac, LARGE);
    let a2 = e.mul(ac, ac);
    let one = e.c(1.0);
    let s = e.div(one, a2);
    let ra = rational(e, s, &RA, &SA);
    let rb = rational(e, s, &RB, &SB);
    let near = e.cmpc(FloatCC::LessThan, ac, SPLIT_R);
    let rs = e.sel(near, ra, rb);
    // z: the low 32 bits of ac cleared
    let zi = e.int_bits(ac);
    let zi = e.ibandc(zi, !0xffff_ffff_i64);
    let zc = e.float_bits(zi);
    let zz = e.mul(zc, zc);
    let nzz = e.neg(zz);
    let arg1 = e.addc(nzz, -0.5625);
    let dm = e.sub(zc, ac);
    let dp = e.add(zc, ac);
    let arg2 = e.mla(dm, dp, rs);
    // e^(arg1 + arg2) with the sum as s + err exactly: e^s (1 + err), one
    // exponential where fdlibm multiplies two (arg1 is exact, s is not)
    let (s, err) = e.two_sum(arg1, arg2);
    let es = exp::exp(e, s);
    let r = e.mla(es, err, es);
    let tail = e.div(r, ac);
    Parts {
        xr,
        pq,
        tail,
        small,
        medium,
    }
}

/// A lane mask of the negative lanes of `x`.
fn negative(e: &mut Em, x: Value) -> Value {
    e.cmpc(FloatCC::LessThan, x, 0.0)
}

/// `erf(x)`: odd, `±1` at `±inf`.
pub(crate) fn erf(e: &mut Em, x: Value) -> Value {
    let a = e.abs(x);
    let p = parts(e, x, a);
    // x + x R, scaled by 8 and back so that a subnormal x R is not
    // rounded twice (fdlibm's tiny case; exact scalings elsewhere)
    let x8 = e.mulc(x, 8.0);
    let xr8 = e.mulc(p.xr, 8.0);
    let v = e.add(x8, xr8);
    let small = e.mulc(v, 0.125);
    // erx + P/Q, given the sign of x
    let m = e.addc(p.pq, ERX);
    let sx = e.sign_of(x);
    let medium = e.bor(m, sx);
    // 1 - erfc(a), given the sign of x; NaN stays NaN
    let one = e.c(1.0);
    let l = e.sub(one, p.tail);
    let large = e.bor(l, sx);
    let v = e.sel(p.medium, medium, large);
    e.sel(p.small, small, v)
}

/// `erfc(x) = 1 - erf(x)`: 2 at `-inf`, 0 at `+inf`.
pub(crate) fn erfc(e: &mut Em, x: Value) -> Value {
    let a = e.abs(x);
    let p = parts(e, x, a);
    let neg = negative(e, x);
    // 1 - (x + x R) below 1/4, else 1/2 - ((x - 1/2) + x R)
    let one = e.c(1.0);
    let sum = e.add(x, p.xr);
    let s1 = e.sub(one, sum);
    let xh = e.addc(x, -0.5);
    let v = e.add(xh, p.xr);
    let half = e.c(0.5);
    let s2 = e.sub(half, v);
    let quarter = e.cmpc(FloatCC::LessThan, x, 0.25);
    let small = e.sel(quarter, s1, s2);
    // (1 - erx) - P/Q, or 1 + (erx + P/Q) for negative x
    let k = e.c(1.0 - ERX);
    let mp = e.sub(k, p.pq);
    let mn = e.addc(p.pq, ERX);
    let mn = e.addc(mn, 1.0);
    let medium = e.sel(neg, mn, mp);
    // erfc(a), or 2 - erfc(a)
    let two = e.c(2.0);
    let ln = e.sub(two, p.tail);
    let large = e.sel(neg, ln, p.tail);
    let v = e.sel(p.medium, medium, large);
    e.sel(p.small, small, v)
}
