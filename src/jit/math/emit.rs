//! Small IR-building helpers shared by all function families.
//!
//! Every kernel is written once against [`Em`], which wraps a
//! [`FunctionBuilder`] together with the 128-bit vector type being computed
//! (`F32X4` or `F64X2`).  Scalars are computed in lane 0 of a vector (see
//! `mod.rs`), so selects are always branch-free `bitselect`s.

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::types::{F32X4, F64X2, I32X4, I64X2, I8X16};
use cranelift_codegen::ir::{ConstantData, Endianness, InstBuilder, MemFlagsData, Type, Value};
use cranelift_frontend::FunctionBuilder;

/// Emission context: the builder, the float vector type and its integer twin.
pub(crate) struct Em<'a, 'f> {
    /// The builder, positioned where code is appended.
    pub b: &'a mut FunctionBuilder<'f>,
    /// `F32X4` or `F64X2`.
    pub ty: Type,
    /// `I32X4` or `I64X2`.
    pub ity: Type,
    /// Whether a fused multiply-add instruction is available.
    pub fma: bool,
    /// Emit constants in a second, distinct form (see [`Em::second_copy`]).
    alt_consts: bool,
}

impl<'a, 'f> Em<'a, 'f> {
    /// A context for the vector type `ty` (`F32X4` or `F64X2`).
    pub fn new(b: &'a mut FunctionBuilder<'f>, ty: Type, fma: bool) -> Self {
        let ity = if ty == F32X4 { I32X4 } else { I64X2 };
        debug_assert!(ty == F32X4 || ty == F64X2);
        Em {
            b,
            ty,
            ity,
            fma,
            alt_consts: false,
        }
    }

    /// True when lanes are `f32`.
    pub fn is_f32(&self) -> bool {
        self.ty == F32X4
    }

    /// Mantissa bits (23 or 52).
    pub fn mant_bits(&self) -> i64 {
        if self.is_f32() {
            23
        } else {
            52
        }
    }

    /// Exponent bias (127 or 1023).
    pub fn bias(&self) -> i64 {
        if self.is_f32() {
            127
        } else {
            1023
        }
    }

    /// Makes this context emit its constants in a form that the e-graph
    /// does not merge with the default one.  Used for the second half of an
    /// `F32X4` computed as two `F64X2`: otherwise every constant is shared
    /// by both halves, stays live across both and gets spilled.
    pub fn second_copy(mut self) -> Self {
        self.alt_consts = true;
        self
    }

    fn vconst_bytes(&mut self, ty: Type, bytes: Vec<u8>) -> Value {
        let c = self.b.func.dfg.constants.insert(ConstantData::from(bytes));
        if self.alt_consts {
            // Same bits, other type, then a free bitcast back.
            let other = if ty == self.ty { self.ity } else { self.ty };
            let v = self.b.ins().vconst(other, c);
            self.b.ins().bitcast(ty, MemFlagsData::new(), v)
        } else {
            self.b.ins().vconst(ty, c)
        }
    }

    /// Float constant `v` (rounded to the lane type) splatted to all lanes.
    pub fn c(&mut self, v: f64) -> Value {
        let bytes = if self.is_f32() {
            (v as f32).to_bits().to_le_bytes().repeat(4)
        } else {
            v.to_bits().to_le_bytes().repeat(2)
        };
        self.vconst_bytes(self.ty, bytes)
    }

    /// Float constant given by its bit pattern, splatted (as the float type).
    pub fn cbits(&mut self, bits: u64) -> Value {
        let bytes = if self.is_f32() {
            (bits as u32).to_le_bytes().repeat(4)
        } else {
            bits.to_le_bytes().repeat(2)
        };
        self.vconst_bytes(self.ty, bytes)
    }

    /// Integer constant splatted to all lanes of the integer twin type.
    pub fn ci(&mut self, v: i64) -> Value {
        let bytes = if self.is_f32() {
            (v as i32).to_le_bytes().repeat(4)
        } else {
            v.to_le_bytes().repeat(2)
        };
        self.vconst_bytes(self.ity, bytes)
    }

    // ---- float arithmetic -------------------------------------------------

    pub fn add(&mut self, a: Value, b: Value) -> Value {
        self.b.ins().fadd(a, b)
    }
    pub fn sub(&mut self, a: Value, b: Value) -> Value {
        self.b.ins().fsub(a, b)
    }
    pub fn mul(&mut self, a: Value, b: Value) -> Value {
        self.b.ins().fmul(a, b)
    }
    pub fn div(&mut self, a: Value, b: Value) -> Value {
        self.b.ins().fdiv(a, b)
    }
    /// `a + k`.
    pub fn addc(&mut self, a: Value, k: f64) -> Value {
        let k = self.c(k);
        self.add(a, k)
    }
    /// `a * k`.
    pub fn mulc(&mut self, a: Value, k: f64) -> Value {
        let k = self.c(k);
        self.mul(a, k)
    }
    /// `a * b + c`, fused when the target has FMA.
    pub fn mla(&mut self, a: Value, b: Value, c: Value) -> Value {
        if self.fma {
            self.b.ins().fma(a, b, c)
        } else {
            let p = self.mul(a, b);
            self.add(p, c)
        }
    }
    /// `a * k + c` with a constant `k`.
    pub fn mlac(&mut self, a: Value, k: f64, c: Value) -> Value {
        let k = self.c(k);
        self.mla(a, k, c)
    }
    /// `a * b + k` with a constant `k`.
    pub fn mla_k(&mut self, a: Value, b: Value, k: f64) -> Value {
        let k = self.c(k);
        self.mla(a, b, k)
    }
    /// Horner evaluation of `coefs[0] + x*(coefs[1] + x*(...))`.
    pub fn poly(&mut self, x: Value, coefs: &[f64]) -> Value {
        let (last, rest) = coefs.split_last().expect("non-empty coefficient list");
        let mut acc = self.c(*last);
        for &k in rest.iter().rev() {
            acc = self.mla_k(acc, x, k);
        }
        acc
    }

    // ---- bit operations on floats ------------------------------------------

    pub fn band(&mut self, a: Value, b: Value) -> Value {
        self.b.ins().band(a, b)
    }
    pub fn bor(&mut self, a: Value, b: Value) -> Value {
        self.b.ins().bor(a, b)
    }
    pub fn bxor(&mut self, a: Value, b: Value) -> Value {
        self.b.ins().bxor(a, b)
    }
    /// `a & !b`.
    pub fn band_not(&mut self, a: Value, b: Value) -> Value {
        self.b.ins().band_not(a, b)
    }
    /// The sign-bit mask as a float vector.
    pub fn sign_mask(&mut self) -> Value {
        let bits = if self.is_f32() {
            0x8000_0000
        } else {
            0x8000_0000_0000_0000
        };
        self.cbits(bits)
    }
    /// `|a|`.
    pub fn abs(&mut self, a: Value) -> Value {
        let m = self.sign_mask();
        self.band_not(a, m)
    }
    /// The sign bit of `a` (all other bits clear).
    pub fn sign_of(&mut self, a: Value) -> Value {
        let m = self.sign_mask();
        self.band(a, m)
    }
    /// `-a`.
    pub fn neg(&mut self, a: Value) -> Value {
        let m = self.sign_mask();
        self.bxor(a, m)
    }

    // ---- comparisons and selection -----------------------------------------

    /// A lane mask (all ones / all zeros) typed as the float vector type.
    pub fn cmp(&mut self, cc: FloatCC, a: Value, b: Value) -> Value {
        let m = self.b.ins().fcmp(cc, a, b);
        self.b.ins().bitcast(self.ty, MemFlagsData::new(), m)
    }
    /// Like [`Em::cmp`] against a constant.
    pub fn cmpc(&mut self, cc: FloatCC, a: Value, k: f64) -> Value {
        let k = self.c(k);
        self.cmp(cc, a, k)
    }
    /// `m ? a : b` lane-wise (`m` is a lane mask).
    pub fn sel(&mut self, m: Value, a: Value, b: Value) -> Value {
        self.b.ins().bitselect(m, a, b)
    }
    /// `min(x, k)` that returns `x` when `x` is NaN (one `minps`).
    pub fn min_c(&mut self, x: Value, k: f64) -> Value {
        let k = self.c(k);
        let m = self.cmp(FloatCC::LessThan, k, x);
        self.sel(m, k, x)
    }
    /// `max(x, k)` that returns `x` when `x` is NaN (one `maxps`).
    pub fn max_c(&mut self, x: Value, k: f64) -> Value {
        let k = self.c(k);
        let m = self.cmp(FloatCC::LessThan, x, k);
        self.sel(m, k, x)
    }
    /// Clamp `x` to `[lo, hi]`, keeping NaN.
    pub fn clamp(&mut self, x: Value, lo: f64, hi: f64) -> Value {
        let x = self.max_c(x, lo);
        self.min_c(x, hi)
    }

    // ---- integer views ------------------------------------------------------

    /// Reinterpret a float vector as the integer twin.
    pub fn int_bits(&mut self, v: Value) -> Value {
        self.b.ins().bitcast(self.ity, MemFlagsData::new(), v)
    }
    /// Reinterpret an integer vector as the float type.
    pub fn float_bits(&mut self, v: Value) -> Value {
        self.b.ins().bitcast(self.ty, MemFlagsData::new(), v)
    }
    pub fn iadd(&mut self, a: Value, b: Value) -> Value {
        self.b.ins().iadd(a, b)
    }
    pub fn isub(&mut self, a: Value, b: Value) -> Value {
        self.b.ins().isub(a, b)
    }
    pub fn iaddc(&mut self, a: Value, k: i64) -> Value {
        let k = self.ci(k);
        self.iadd(a, k)
    }
    pub fn ibandc(&mut self, a: Value, k: i64) -> Value {
        let k = self.ci(k);
        self.b.ins().band(a, k)
    }
    pub fn ishl(&mut self, a: Value, n: i64) -> Value {
        self.b.ins().ishl_imm_u(a, n)
    }
    pub fn ushr(&mut self, a: Value, n: i64) -> Value {
        self.b.ins().ushr_imm_u(a, n)
    }
    /// Lane mask (float typed) of `a == k` on an integer vector.
    pub fn ieqc(&mut self, a: Value, k: i64) -> Value {
        let k = self.ci(k);
        let m = self.b.ins().icmp(IntCC::Equal, a, k);
        self.float_bits(m)
    }

    // ---- rounding and powers of two -------------------------------------------

    /// The magic constant `1.5 * 2^p` used for round-to-nearest.
    pub fn magic(&self) -> f64 {
        if self.is_f32() {
            12582912.0
        } else {
            6755399441055744.0
        }
    }

    /// Round `x * k` to the nearest integer (ties to even), for
    /// `|x * k| < 2^(p-1)`.  Returns `(n as float, n as integer lanes)`.
    /// The integer is only meaningful in its low `p-1` bits.
    pub fn round_mul(&mut self, x: Value, k: f64) -> (Value, Value) {
        let kk = self.c(k);
        let mc = self.c(self.magic());
        let t = self.mla(x, kk, mc);
        self.split_magic(t)
    }

    /// Round `x * k` to the nearest integer `n` (as [`Em::round_mul`]) and
    /// return `(n as float, 2^(n + shift))`, for `n + shift` within the
    /// normal exponent range. One integer add turns the rounding's bits into
    /// the exponent field (the magic constant's bits, the bias and `shift`
    /// folded together).
    pub fn round_mul_pow2(&mut self, x: Value, k: f64, shift: i64) -> (Value, Value) {
        let kk = self.c(k);
        let magic = self.magic();
        let mc = self.c(magic);
        let t = self.mla(x, kk, mc);
        let nf = self.sub(t, mc);
        let mbits = if self.is_f32() {
            (magic as f32).to_bits() as i64
        } else {
            magic.to_bits() as i64
        };
        let ti = self.int_bits(t);
        let biased = self.iaddc(ti, self.bias() + shift - mbits);
        let e = self.ishl(biased, self.mant_bits());
        (nf, self.float_bits(e))
    }

    /// Given `t = v + magic`, returns `(t - magic, bits(t) - bits(magic))`.
    pub fn split_magic(&mut self, t: Value) -> (Value, Value) {
        let magic = self.magic();
        let mc = self.c(magic);
        let nf = self.sub(t, mc);
        let ti = self.int_bits(t);
        let mbits = if self.is_f32() {
            (magic as f32).to_bits() as i64
        } else {
            magic.to_bits() as i64
        };
        let ni = self.iaddc(ti, -mbits);
        (nf, ni)
    }

    /// `2^n` for integer lanes `n` within the normal exponent range.
    pub fn pow2i(&mut self, n: Value) -> Value {
        let bias = self.bias();
        let mb = self.mant_bits();
        let e = self.iaddc(n, bias);
        let e = self.ishl(e, mb);
        self.float_bits(e)
    }

    /// `v * 2^n` in two steps, so that results in the subnormal range are
    /// rounded once and correctly, and overflow gives infinity.  `n` is an
    /// integer vector with `|n| <= 2 * (bias - 1)`; `nf` the same as floats.
    pub fn ldexp2(&mut self, v: Value, nf: Value, n: Value) -> Value {
        // n1 = round(n / 2) via the magic constant, n2 = n - n1.
        let magic = self.magic();
        let half = self.c(0.5);
        let mc = self.c(magic);
        let t = self.mla(nf, half, mc);
        let (_, n1) = self.split_magic(t);
        let n2 = self.isub(n, n1);
        let s1 = self.pow2i(n1);
        let s2 = self.pow2i(n2);
        let v = self.mul(v, s1);
        self.mul(v, s2)
    }

    /// Convert the unsigned integer lanes `e` (< 2^p) to floats exactly.
    pub fn u_to_float(&mut self, e: Value) -> Value {
        let mb = self.mant_bits();
        let two_p = 2f64.powi(mb as i32);
        let tbits = if self.is_f32() {
            (two_p as f32).to_bits() as i64
        } else {
            two_p.to_bits() as i64
        };
        let tb = self.ci(tbits);
        let v = self.b.ins().bor(e, tb);
        let v = self.float_bits(v);
        self.addc(v, -two_p)
    }

    // ---- double-word arithmetic helpers (used by pow) --------------------------

    /// Exact product: returns `(p, e)` with `p + e == a * b` exactly
    /// (barring overflow), using FMA or Dekker's splitting.
    pub fn two_prod(&mut self, a: Value, b: Value) -> (Value, Value) {
        let p = self.mul(a, b);
        if self.fma {
            let np = self.neg(p);
            let e = self.b.ins().fma(a, b, np);
            (p, e)
        } else {
            let (ah, al) = self.split(a);
            let (bh, bl) = self.split(b);
            // e = ((ah*bh - p) + ah*bl + al*bh) + al*bl
            let t = self.mul(ah, bh);
            let t = self.sub(t, p);
            let u = self.mul(ah, bl);
            let t = self.add(t, u);
            let u = self.mul(al, bh);
            let t = self.add(t, u);
            let u = self.mul(al, bl);
            let e = self.add(t, u);
            (p, e)
        }
    }

    /// Veltkamp split into two halves with at most 26 (f64) significant bits.
    fn split(&mut self, a: Value) -> (Value, Value) {
        let k = if self.is_f32() { 4097.0 } else { 134217729.0 };
        let c = self.mulc(a, k);
        let d = self.sub(c, a);
        let hi = self.sub(c, d);
        let lo = self.sub(a, hi);
        (hi, lo)
    }

    /// Knuth's two-sum: `(s, e)` with `s + e == a + b` exactly.
    pub fn two_sum(&mut self, a: Value, b: Value) -> (Value, Value) {
        let s = self.add(a, b);
        let bb = self.sub(s, a);
        let ab = self.sub(s, bb);
        let e1 = self.sub(a, ab);
        let e2 = self.sub(b, bb);
        let e = self.add(e1, e2);
        (s, e)
    }

    /// Fast two-sum, valid when `|a| >= |b|` (or `a == 0`).
    pub fn fast_two_sum(&mut self, a: Value, b: Value) -> (Value, Value) {
        let s = self.add(a, b);
        let t = self.sub(s, a);
        let e = self.sub(b, t);
        (s, e)
    }
}

/// Splits an `F32X4` into two `F64X2` (lanes 0–1 and lanes 2–3), exactly.
pub(crate) fn split_f32x4(b: &mut FunctionBuilder, x: Value) -> (Value, Value) {
    let lo = b.ins().fvpromote_low(x);
    let flags = MemFlagsData::new().with_endianness(Endianness::Little);
    let bytes = b.ins().bitcast(I8X16, flags, x);
    let mask: Vec<u8> = (8..16).chain(8..16).collect();
    let imm = b.func.dfg.immediates.push(ConstantData::from(mask));
    let hi_bytes = b.ins().shuffle(bytes, bytes, imm);
    let hi = b.ins().bitcast(F32X4, flags, hi_bytes);
    let hi = b.ins().fvpromote_low(hi);
    (lo, hi)
}

/// Rounds two `F64X2` to `f32` and packs them into one `F32X4` (`lo` in
/// lanes 0–1, `hi` in lanes 2–3).
pub(crate) fn join_f64x2(b: &mut FunctionBuilder, lo: Value, hi: Value) -> Value {
    let lo = b.ins().fvdemote(lo);
    let hi = b.ins().fvdemote(hi);
    let flags = MemFlagsData::new().with_endianness(Endianness::Little);
    let lo_b = b.ins().bitcast(I8X16, flags, lo);
    let hi_b = b.ins().bitcast(I8X16, flags, hi);
    let mask: Vec<u8> = (0..8).chain(16..24).collect();
    let imm = b.func.dfg.immediates.push(ConstantData::from(mask));
    let v = b.ins().shuffle(lo_b, hi_b, imm);
    b.ins().bitcast(F32X4, flags, v)
}
