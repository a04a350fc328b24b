//! Vectorized transcendental functions emitted inline as Cranelift IR.
//!
//! Every function accepts `F32`, `F64`, `F32X4` or `F64X2` values and emits a
//! branch-free polynomial / rational approximation with range reduction
//! (Cephes / fdlibm / musl style).  Scalars are computed in lane 0 of a
//! 128-bit vector so that all selects are `bitselect`s (no branches).  The
//! only branch is the cold large-argument path of `sin`/`cos`/`tan`, which
//! calls an imported Rust function per lane (see [`trig`]).
//!
//! Accuracy, measured by the crate's tests against Rust's `std` (f32:
//! exhaustively over all 2^32 inputs; f64: millions of random and
//! structured points), with and without FMA and on baseline SSE2; `asinh`,
//! `acosh`, `atanh`, `erf` and `erfc` against the `libm` crate (fdlibm's,
//! where `std`'s are formulas of a few ulp or missing), and the f32 column
//! of the functions computed in f64 lanes against the f64 reference rounded
//! once (`tests/math_accuracy.rs`, sampled):
//!
//! | function | f32 max ulp | f64 max ulp |
//! |----------|-------------|-------------|
//! | exp      | 1 | 1 |
//! | expm1    | 1 | 2 |
//! | log      | 1 | 1 |
//! | log1p    | 1 | 1 |
//! | tanh     | 2 (ours is within 1 ulp of the exact value; `std`'s `tanhf` is up to 1.5 ulp off) | 2 |
//! | sigmoid  | 2 | 2 |
//! | softplus | 2 | 2 |
//! | sin, cos | 1 | 2 |
//! | pow      | 1 (sampled) | 1 (sampled) |
//! | tan      | 1 | 3 |
//! | asin, acos | 0 | 2 |
//! | atan, atan2 | 0 | 1 |
//! | sinh, cosh | 0 | 2 |
//! | asinh, acosh, atanh | 0 | 1 |
//! | erf      | 0 | 1 |
//! | erfc     | 0 | 4 against `libm`, whose own error reaches 2 ulp there (ours is 2 ulp from the exact value at that point) |
//!
//! Special values (signed zeros, infinities, NaN, overflow, gradual
//! underflow, the C99 `pow` and `atan2` tables, NaN outside a domain)
//! match `std` exactly.
//!
//! Implementation notes:
//! * f32 `sin`/`cos`/`tan` and f32 `pow` are computed in f64 lanes (an
//!   `F32X4` is split into two `F64X2`) and rounded once; so are all the
//!   inverse trigonometric and hyperbolic functions, `sinh`, `cosh`, `erf`
//!   and `erfc`, which have f64 algorithms only (half the f32 throughput of
//!   an f32 algorithm, for results within 1 ulp); everything else is
//!   computed in the argument's own precision.
//! * Target requirements: baseline x86-64 (SSE2) is enough; FMA is used only
//!   when [`EmitConfig::has_fma`] is set ([`EmitConfig::from_isa`] sets it
//!   when the ISA has FMA and AVX).
//! * Clamps compile to single `minps`/`maxps` (compare + `bitselect`) with
//!   the operands ordered so that a NaN argument passes through unchanged.
//!
//! Usage, per function being built:
//! 1. once per JIT module: [`MathImports::register_symbols`] on the
//!    `JITBuilder`;
//! 2. per function: [`MathImports::declare`] (declares the slow-path
//!    functions and imports them into the function);
//! 3. [`emit_unary`] / [`emit_pow`] / [`emit_atan2`] at the builder's
//!    current position.
//!
//! Emitting `sin`/`cos`/`tan` switches the builder to a new block (the join point
//! after the slow path); other functions stay in the current block.

mod atan;
mod emit;
mod erf;
mod exp;
mod hyperbolic;
mod log;
mod pow;
mod tanh;
pub mod trig;

use cranelift_codegen::ir::types::{F32, F32X4, F64, F64X2};
use cranelift_codegen::ir::{AbiParam, FuncRef, Function, InstBuilder, Signature, Value};
use cranelift_codegen::isa::TargetIsa;
use cranelift_frontend::FunctionBuilder;
use cranelift_jit::JITBuilder;
use cranelift_module::{Linkage, Module, ModuleResult};
use emit::Em;

/// Which transcendental function to emit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MathFn {
    /// `e^x`.
    Exp,
    /// `e^x - 1`, accurate near 0.
    Expm1,
    /// Natural logarithm.
    Log,
    /// `ln(1 + x)`, accurate near 0.
    Log1p,
    /// Hyperbolic tangent.
    Tanh,
    /// Logistic function `1 / (1 + e^-x)`.
    Sigmoid,
    /// `ln(1 + e^x)`, computed as `max(x, 0) + ln_1p(e^-|x|)`.
    Softplus,
    /// Sine (radians).
    Sin,
    /// Cosine (radians).
    Cos,
    /// Tangent (radians).
    Tan,
    /// Arcsine.
    Asin,
    /// Arccosine.
    Acos,
    /// Arctangent.
    Atan,
    /// Hyperbolic sine.
    Sinh,
    /// Hyperbolic cosine.
    Cosh,
    /// Inverse hyperbolic sine.
    Asinh,
    /// Inverse hyperbolic cosine.
    Acosh,
    /// Inverse hyperbolic tangent.
    Atanh,
    /// The error function.
    Erf,
    /// The complementary error function `1 - erf(x)`.
    Erfc,
}

impl MathFn {
    /// All functions, in declaration order.
    pub const ALL: [MathFn; 20] = [
        MathFn::Exp,
        MathFn::Expm1,
        MathFn::Log,
        MathFn::Log1p,
        MathFn::Tanh,
        MathFn::Sigmoid,
        MathFn::Softplus,
        MathFn::Sin,
        MathFn::Cos,
        MathFn::Tan,
        MathFn::Asin,
        MathFn::Acos,
        MathFn::Atan,
        MathFn::Sinh,
        MathFn::Cosh,
        MathFn::Asinh,
        MathFn::Acosh,
        MathFn::Atanh,
        MathFn::Erf,
        MathFn::Erfc,
    ];
}

/// Target features the emitters care about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct EmitConfig {
    /// Emit fused multiply-adds (`fma`).  Only set this when the target has
    /// FMA and AVX: otherwise Cranelift lowers a vector `fma` to a library
    /// call per lane.
    pub has_fma: bool,
}

impl EmitConfig {
    /// Reads the flags of `isa` (`has_fma` and `has_avx` on x86-64; the
    /// other backends always have a fused multiply-add).
    pub fn from_isa(isa: &dyn TargetIsa) -> Self {
        let flags = isa.isa_flags();
        let get = |name: &str| {
            flags
                .iter()
                .find(|v| v.name == name)
                .and_then(|v| v.as_bool())
        };
        let has_fma = match (get("has_fma"), get("has_avx")) {
            (Some(fma), Some(avx)) => fma && avx,
            (Some(fma), None) => fma,
            _ => !matches!(
                isa.triple().architecture,
                target_lexicon::Architecture::X86_64
            ),
        };
        EmitConfig { has_fma }
    }
}

/// Slow-path symbols, `(name, address, is_f64)`, in the order of
/// [`MathImports`]' fields.
fn slow_symbols() -> [(&'static str, *const u8, bool); 6] {
    [
        (
            "gradjit_math_sin_f32",
            gradjit_math_sin_f32 as *const u8,
            false,
        ),
        (
            "gradjit_math_cos_f32",
            gradjit_math_cos_f32 as *const u8,
            false,
        ),
        (
            "gradjit_math_tan_f32",
            gradjit_math_tan_f32 as *const u8,
            false,
        ),
        (
            "gradjit_math_sin_f64",
            gradjit_math_sin_f64 as *const u8,
            true,
        ),
        (
            "gradjit_math_cos_f64",
            gradjit_math_cos_f64 as *const u8,
            true,
        ),
        (
            "gradjit_math_tan_f64",
            gradjit_math_tan_f64 as *const u8,
            true,
        ),
    ]
}

/// What the emitters need from the enclosing function: the target
/// configuration and the imported slow-path functions of `sin`/`cos`/`tan`.
///
/// The `FuncRef`s belong to one [`Function`]: declare a new `MathImports`
/// for every function you build.
#[derive(Clone, Copy, Debug)]
pub struct MathImports {
    /// Target configuration used by the emitters.
    pub cfg: EmitConfig,
    sin_f32: FuncRef,
    cos_f32: FuncRef,
    tan_f32: FuncRef,
    sin_f64: FuncRef,
    cos_f64: FuncRef,
    tan_f64: FuncRef,
}

impl MathImports {
    /// Declares the slow-path functions in `module` (imported symbols, see
    /// [`MathImports::register_symbols`]) and references them from `func`.
    /// Use `builder.func` when a `FunctionBuilder` already borrows `func`.
    // `ModuleResult` is the `Module` trait's own (large) error type.
    #[allow(clippy::result_large_err)]
    pub fn declare<M: Module + ?Sized>(
        module: &mut M,
        func: &mut Function,
        cfg: EmitConfig,
    ) -> ModuleResult<Self> {
        Self::declare_as(module, func, cfg, false)
    }

    /// Like [`MathImports::declare`], but with `libm` the slow paths are
    /// the C library's own `sinf` ... `tan` (what the Rust functions behind
    /// gradjit's symbols call): an object file written ahead of time may
    /// import nothing else.
    #[allow(clippy::result_large_err)]
    pub fn declare_as<M: Module + ?Sized>(
        module: &mut M,
        func: &mut Function,
        cfg: EmitConfig,
        libm: bool,
    ) -> ModuleResult<Self> {
        const LIBM: [&str; 6] = ["sinf", "cosf", "tanf", "sin", "cos", "tan"];
        let call_conv = module.isa().default_call_conv();
        let mut refs = [None; 6];
        for (i, (own, _, is_f64)) in slow_symbols().into_iter().enumerate() {
            let name = if libm { LIBM[i] } else { own };
            let t = if is_f64 { F64 } else { F32 };
            let mut sig = Signature::new(call_conv);
            sig.params.push(AbiParam::new(t));
            sig.returns.push(AbiParam::new(t));
            let id = module.declare_function(name, Linkage::Import, &sig)?;
            refs[i] = Some(module.declare_func_in_func(id, func));
        }
        let [Some(sin_f32), Some(cos_f32), Some(tan_f32), Some(sin_f64), Some(cos_f64), Some(tan_f64)] =
            refs
        else {
            unreachable!("all six slow-path functions are declared above")
        };
        Ok(MathImports {
            cfg,
            sin_f32,
            cos_f32,
            tan_f32,
            sin_f64,
            cos_f64,
            tan_f64,
        })
    }

    /// Makes the slow-path functions visible to JIT code: call once on the
    /// `JITBuilder` before creating the `JITModule`.
    pub fn register_symbols(jb: &mut JITBuilder) {
        for (name, ptr, _) in slow_symbols() {
            jb.symbol(name, ptr);
        }
    }
}

/// Emits `f(x)` at the builder's current position and returns the result
/// (same type as `x`).
///
/// # Panics
/// If `x` is not of type `F32`, `F64`, `F32X4` or `F64X2`.
pub fn emit_unary(b: &mut FunctionBuilder, imports: &MathImports, f: MathFn, x: Value) -> Value {
    let ty = b.func.dfg.value_type(x);
    assert!(
        [F32, F64, F32X4, F64X2].contains(&ty),
        "jit::math: unsupported type {ty}"
    );
    // functions computed in f64 lanes whatever the argument's type: f32
    // values are promoted, computed in f64 and rounded once (within 1 ulp of
    // the exact value), so each needs only an f64 algorithm
    let in_f64: Option<fn(&mut Em, Value) -> Value> = match f {
        MathFn::Sin => return trig::emit_trig(b, imports, x, trig::Trig::Sin),
        MathFn::Cos => return trig::emit_trig(b, imports, x, trig::Trig::Cos),
        MathFn::Tan => return trig::emit_trig(b, imports, x, trig::Trig::Tan),
        MathFn::Asin => Some(atan::asin),
        MathFn::Acos => Some(atan::acos),
        MathFn::Atan => Some(atan::atan),
        MathFn::Sinh => Some(hyperbolic::sinh),
        MathFn::Cosh => Some(hyperbolic::cosh),
        MathFn::Asinh => Some(hyperbolic::asinh),
        MathFn::Acosh => Some(hyperbolic::acosh),
        MathFn::Atanh => Some(hyperbolic::atanh),
        MathFn::Erf => Some(erf::erf),
        MathFn::Erfc => Some(erf::erfc),
        _ => None,
    };
    if let Some(emit) = in_f64 {
        return in_f64_lanes(b, imports, &[x], |e, v| emit(e, v[0]));
    }
    in_vector(b, imports, x, |e, v| match f {
        MathFn::Exp => exp::exp(e, v),
        MathFn::Expm1 => exp::expm1(e, v),
        MathFn::Log => log::log(e, v),
        MathFn::Log1p => log::log1p(e, v),
        MathFn::Tanh => tanh::tanh(e, v),
        MathFn::Sigmoid => exp::sigmoid(e, v),
        MathFn::Softplus => log::softplus(e, v),
        _ => unreachable!("handled above"),
    })
}

/// Runs `emit` on the arguments `xs` (all of one type) in `F64X2` lanes: f64
/// values as [`in_vector`] does; f32 ones promoted exactly (an `F32X4` as two
/// `F64X2`), computed in f64 and rounded once to f32.
fn in_f64_lanes(
    b: &mut FunctionBuilder,
    imports: &MathImports,
    xs: &[Value],
    emit: impl Fn(&mut Em, &[Value]) -> Value,
) -> Value {
    let fma = imports.cfg.has_fma;
    let ty = b.func.dfg.value_type(xs[0]);
    match ty {
        F64X2 => emit(&mut Em::new(b, F64X2, fma), xs),
        F64 => {
            let vs: Vec<Value> = xs
                .iter()
                .map(|&x| b.ins().scalar_to_vector(F64X2, x))
                .collect();
            let r = emit(&mut Em::new(b, F64X2, fma), &vs);
            b.ins().extractlane(r, 0)
        }
        F32X4 => {
            let (lo, hi): (Vec<Value>, Vec<Value>) =
                xs.iter().map(|&x| emit::split_f32x4(b, x)).unzip();
            let lo = emit(&mut Em::new(b, F64X2, fma), &lo);
            // constants of the second half apart, as in `trig` (else they
            // stay live across both halves and are spilled)
            let hi = emit(&mut Em::new(b, F64X2, fma).second_copy(), &hi);
            emit::join_f64x2(b, lo, hi)
        }
        _ => {
            let vs: Vec<Value> = xs
                .iter()
                .map(|&x| {
                    let d = b.ins().fpromote(F64, x);
                    b.ins().scalar_to_vector(F64X2, d)
                })
                .collect();
            let r = emit(&mut Em::new(b, F64X2, fma), &vs);
            let r = b.ins().extractlane(r, 0);
            b.ins().fdemote(F32, r)
        }
    }
}

/// Runs `emit` on `x` as a vector: a scalar is computed in lane 0 of a
/// 128-bit vector (so every select is a `bitselect`) and taken back out.
fn in_vector(
    b: &mut FunctionBuilder,
    imports: &MathImports,
    x: Value,
    emit: impl FnOnce(&mut Em, Value) -> Value,
) -> Value {
    let ty = b.func.dfg.value_type(x);
    let (vty, v) = match ty {
        F32 => (F32X4, b.ins().scalar_to_vector(F32X4, x)),
        F64 => (F64X2, b.ins().scalar_to_vector(F64X2, x)),
        _ => (ty, x),
    };
    let r = emit(&mut Em::new(b, vty, imports.cfg.has_fma), v);
    if ty.is_vector() {
        r
    } else {
        b.ins().extractlane(r, 0)
    }
}

/// Emits `e^x` for an `x` known to be `<= 0` or NaN (see `exp::exp_nonpos`):
/// the same values as [`MathFn::Exp`] there, in fewer instructions. For a
/// positive `x` the result is meaningless.
pub(crate) fn emit_exp_nonpos(b: &mut FunctionBuilder, imports: &MathImports, x: Value) -> Value {
    in_vector(b, imports, x, exp::exp_nonpos)
}

/// Emits `pow(a, y)` with the semantics of Rust's `f32::powf` / `f64::powf`
/// (C99 `pow` special cases).  `a` and `y` must have the same type.
///
/// # Panics
/// If the types differ or are not `F32`, `F64`, `F32X4` or `F64X2`.
pub fn emit_pow(b: &mut FunctionBuilder, imports: &MathImports, a: Value, y: Value) -> Value {
    let ty = b.func.dfg.value_type(a);
    assert_eq!(
        ty,
        b.func.dfg.value_type(y),
        "jit::math: pow operand types differ"
    );
    pow::emit_pow(b, imports.cfg.has_fma, a, y)
}

/// Emits `atan2(y, x)` with the semantics of Rust's `f32::atan2` /
/// `f64::atan2` (C99's signed zeros and infinities), computed in f64 lanes.
/// `y` and `x` must have the same type.
///
/// # Panics
/// If the types differ or are not `F32`, `F64`, `F32X4` or `F64X2`.
pub fn emit_atan2(b: &mut FunctionBuilder, imports: &MathImports, y: Value, x: Value) -> Value {
    let ty = b.func.dfg.value_type(y);
    assert_eq!(
        ty,
        b.func.dfg.value_type(x),
        "jit::math: atan2 operand types differ"
    );
    assert!(
        [F32, F64, F32X4, F64X2].contains(&ty),
        "jit::math: unsupported type {ty}"
    );
    in_f64_lanes(b, imports, &[y, x], |e, v| atan::atan2(e, v[0], v[1]))
}

/// Slow path of `sin` for `f32` (called per lane for large arguments).
pub extern "C" fn gradjit_math_sin_f32(x: f32) -> f32 {
    x.sin()
}
/// Slow path of `cos` for `f32`.
pub extern "C" fn gradjit_math_cos_f32(x: f32) -> f32 {
    x.cos()
}
/// Slow path of `sin` for `f64`.
pub extern "C" fn gradjit_math_sin_f64(x: f64) -> f64 {
    x.sin()
}
/// Slow path of `cos` for `f64`.
pub extern "C" fn gradjit_math_cos_f64(x: f64) -> f64 {
    x.cos()
}
/// Slow path of `tan` for `f32`.
pub extern "C" fn gradjit_math_tan_f32(x: f32) -> f32 {
    x.tan()
}
/// Slow path of `tan` for `f64`.
pub extern "C" fn gradjit_math_tan_f64(x: f64) -> f64 {
    x.tan()
}
