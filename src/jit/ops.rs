//! Lowering of each elementwise operation to Cranelift IR, for scalars
//! (`F32`, `F64`) and vectors (`F32X4`, `F64X2`) alike. The semantics are
//! those of `UnaryOp::eval` / `BinaryOp::eval` exactly (ties, NaN, signed
//! zeros); transcendental functions come from [`super::math`].

use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::types::{F32, F32X4, F64};
use cranelift_codegen::ir::{InstBuilder, MemFlagsData, Type, Value};
use cranelift_frontend::FunctionBuilder;

use super::math::{emit_atan2, emit_pow, emit_unary, MathFn, MathImports};
use crate::graph::{BinaryOp, UnaryOp, SELU_SCALE, SELU_SCALE_ALPHA};

/// A constant of type `ty` (splatted for vectors).
pub fn constant(b: &mut FunctionBuilder, ty: Type, v: f64) -> Value {
    let lane = ty.lane_type();
    let s = if lane == F32 {
        b.ins().f32const(v as f32)
    } else {
        b.ins().f64const(v)
    };
    if ty.is_vector() {
        b.ins().splat(ty, s)
    } else {
        s
    }
}

/// `cond(x, y) ? a : c`, branch-free for vectors.
fn select_cmp(
    b: &mut FunctionBuilder,
    cc: FloatCC,
    x: Value,
    y: Value,
    a: Value,
    c: Value,
) -> Value {
    let ty = b.func.dfg.value_type(a);
    let mask = b.ins().fcmp(cc, x, y);
    if ty.is_vector() {
        let mask = b.ins().bitcast(ty, MemFlagsData::new(), mask);
        b.ins().bitselect(mask, a, c)
    } else {
        b.ins().select(mask, a, c)
    }
}

/// Lowers a unary operation.
pub fn unary(b: &mut FunctionBuilder, m: &MathImports, op: UnaryOp, x: Value) -> Value {
    let ty = b.func.dfg.value_type(x);
    let k = |b: &mut FunctionBuilder, v: f64| constant(b, ty, v);
    match op {
        // a vector negation as an xor with a constant sign mask (one
        // instruction; Cranelift's `fneg` builds the mask with two more)
        UnaryOp::Neg if ty.is_vector() => {
            let lane_bits = ty.lane_type().bits();
            let mask: u128 =
                (0..ty.lane_count()).fold(0, |m, l| m | (1u128 << (lane_bits * (l + 1) - 1)));
            let c = b
                .func
                .dfg
                .constants
                .insert(mask.to_le_bytes().to_vec().into());
            let m = b.ins().vconst(ty, c);
            b.ins().bxor(x, m)
        }
        UnaryOp::Neg => b.ins().fneg(x),
        UnaryOp::Abs => b.ins().fabs(x),
        UnaryOp::Sign => {
            // x > 0 → 1, x < 0 → -1, else x itself (keeps ±0 and NaN)
            let (zero, one, minus) = (k(b, 0.0), k(b, 1.0), k(b, -1.0));
            let r = select_cmp(b, FloatCC::LessThan, x, zero, minus, x);
            select_cmp(b, FloatCC::GreaterThan, x, zero, one, r)
        }
        UnaryOp::Exp => emit_unary(b, m, MathFn::Exp, x),
        UnaryOp::Log => emit_unary(b, m, MathFn::Log, x),
        UnaryOp::Log1p => emit_unary(b, m, MathFn::Log1p, x),
        UnaryOp::Expm1 => emit_unary(b, m, MathFn::Expm1, x),
        UnaryOp::Tanh => emit_unary(b, m, MathFn::Tanh, x),
        UnaryOp::Sigmoid => emit_unary(b, m, MathFn::Sigmoid, x),
        UnaryOp::Softplus => emit_unary(b, m, MathFn::Softplus, x),
        UnaryOp::Sin => emit_unary(b, m, MathFn::Sin, x),
        UnaryOp::Cos => emit_unary(b, m, MathFn::Cos, x),
        UnaryOp::Sqrt => b.ins().sqrt(x),
        UnaryOp::Rsqrt => {
            let s = b.ins().sqrt(x);
            let one = k(b, 1.0);
            b.ins().fdiv(one, s)
        }
        UnaryOp::Square => b.ins().fmul(x, x),
        UnaryOp::Reciprocal => {
            let one = k(b, 1.0);
            b.ins().fdiv(one, x)
        }
        UnaryOp::Relu => {
            // x where x > 0 or x is NaN, else +0
            let zero = k(b, 0.0);
            select_cmp(b, FloatCC::UnorderedOrGreaterThan, x, zero, x, zero)
        }
        UnaryOp::Floor => b.ins().floor(x),
        UnaryOp::Ceil => b.ins().ceil(x),
        // `nearest` rounds ties to even
        UnaryOp::Round => b.ins().nearest(x),
        UnaryOp::Relu6 => {
            // relu, then 6 where it is above 6 (NaN stays NaN)
            let r = unary(b, m, UnaryOp::Relu, x);
            let six = k(b, 6.0);
            select_cmp(b, FloatCC::GreaterThan, r, six, six, r)
        }
        UnaryOp::Softsign => {
            let a = b.ins().fabs(x);
            let one = k(b, 1.0);
            let d = b.ins().fadd(one, a);
            b.ins().fdiv(x, d)
        }
        UnaryOp::Elu => {
            let e = emit_unary(b, m, MathFn::Expm1, x);
            let zero = k(b, 0.0);
            select_cmp(b, FloatCC::LessThan, x, zero, e, x)
        }
        UnaryOp::Silu => {
            let s = emit_unary(b, m, MathFn::Sigmoid, x);
            b.ins().fmul(x, s)
        }
        UnaryOp::Selu => {
            let e = emit_unary(b, m, MathFn::Expm1, x);
            let (sa, s) = (k(b, SELU_SCALE_ALPHA), k(b, SELU_SCALE));
            let left = b.ins().fmul(sa, e);
            let right = b.ins().fmul(s, x);
            let zero = k(b, 0.0);
            select_cmp(b, FloatCC::LessThan, x, zero, left, right)
        }
        UnaryOp::Tan => emit_unary(b, m, MathFn::Tan, x),
        UnaryOp::Asin => emit_unary(b, m, MathFn::Asin, x),
        UnaryOp::Acos => emit_unary(b, m, MathFn::Acos, x),
        UnaryOp::Atan => emit_unary(b, m, MathFn::Atan, x),
        UnaryOp::Sinh => emit_unary(b, m, MathFn::Sinh, x),
        UnaryOp::Cosh => emit_unary(b, m, MathFn::Cosh, x),
        UnaryOp::Asinh => emit_unary(b, m, MathFn::Asinh, x),
        UnaryOp::Acosh => emit_unary(b, m, MathFn::Acosh, x),
        UnaryOp::Atanh => emit_unary(b, m, MathFn::Atanh, x),
        UnaryOp::Erf => emit_unary(b, m, MathFn::Erf, x),
        UnaryOp::Erfc => emit_unary(b, m, MathFn::Erfc, x),
        UnaryOp::Gelu => {
            // as `UnaryOp::eval`: (0.5 x) erfc(-x / sqrt 2)
            let root2 = k(b, std::f64::consts::SQRT_2);
            let nx = unary(b, m, UnaryOp::Neg, x);
            let s = b.ins().fdiv(nx, root2);
            let e = emit_unary(b, m, MathFn::Erfc, s);
            let half = k(b, 0.5);
            let hx = b.ins().fmul(half, x);
            b.ins().fmul(hx, e)
        }
    }
}

/// Lowers a binary operation.
pub fn binary(b: &mut FunctionBuilder, m: &MathImports, op: BinaryOp, x: Value, y: Value) -> Value {
    let ty = b.func.dfg.value_type(x);
    let k = |b: &mut FunctionBuilder, v: f64| constant(b, ty, v);
    let truth = |b: &mut FunctionBuilder, cc: FloatCC| {
        let (one, zero) = (k(b, 1.0), k(b, 0.0));
        select_cmp(b, cc, x, y, one, zero)
    };
    match op {
        BinaryOp::Add => b.ins().fadd(x, y),
        BinaryOp::Sub => b.ins().fsub(x, y),
        BinaryOp::Mul => b.ins().fmul(x, y),
        BinaryOp::Div => b.ins().fdiv(x, y),
        BinaryOp::Pow => emit_pow(b, m, x, y),
        BinaryOp::Maximum | BinaryOp::Minimum => {
            // ties pick x; NaN in either gives NaN (x + y is NaN then)
            let cc = if op == BinaryOp::Maximum {
                FloatCC::GreaterThanOrEqual
            } else {
                FloatCC::LessThanOrEqual
            };
            let r = select_cmp(b, cc, x, y, x, y);
            let nan = b.ins().fadd(x, y);
            select_cmp(b, FloatCC::Unordered, x, y, nan, r)
        }
        BinaryOp::Lt => truth(b, FloatCC::LessThan),
        BinaryOp::Le => truth(b, FloatCC::LessThanOrEqual),
        BinaryOp::Gt => truth(b, FloatCC::GreaterThan),
        BinaryOp::Ge => truth(b, FloatCC::GreaterThanOrEqual),
        BinaryOp::Eq => truth(b, FloatCC::Equal),
        // Rust's `!=` is true for NaN: unordered or not equal
        BinaryOp::Ne => truth(b, FloatCC::NotEqual),
        // x * (y > 0): a product, so an infinite x gives NaN where y <= 0
        BinaryOp::ReluGrad => {
            let (one, zero) = (k(b, 1.0), k(b, 0.0));
            let mask = select_cmp(b, FloatCC::GreaterThan, y, zero, one, zero);
            b.ins().fmul(x, mask)
        }
        BinaryOp::MulNoNan => {
            let p = b.ins().fmul(x, y);
            zero_where_zero(b, y, p)
        }
        BinaryOp::DivNoNan => {
            let q = b.ins().fdiv(x, y);
            zero_where_zero(b, y, q)
        }
        BinaryOp::Xlogy => {
            let l = emit_unary(b, m, MathFn::Log, y);
            let p = b.ins().fmul(x, l);
            zero_where_zero(b, x, p)
        }
        BinaryOp::Xdivy => {
            let q = b.ins().fdiv(x, y);
            zero_where_zero(b, x, q)
        }
        BinaryOp::Atan2 => emit_atan2(b, m, x, y),
    }
}

/// `v`, or +0 where `test` is zero: the guard of the no-NaN forms
/// (`mul_no_nan`, `div_no_nan`, `xlogy`, `xdivy`).
fn zero_where_zero(b: &mut FunctionBuilder, test: Value, v: Value) -> Value {
    let ty = b.func.dfg.value_type(v);
    let zero = constant(b, ty, 0.0);
    select_cmp(b, FloatCC::Equal, test, zero, zero, v)
}

/// Lowers `where(c, x, y)`: `x` where `c` is nonzero (NaN counts as nonzero).
pub fn select(b: &mut FunctionBuilder, c: Value, x: Value, y: Value) -> Value {
    let ty = b.func.dfg.value_type(c);
    let zero = constant(b, ty, 0.0);
    select_cmp(b, FloatCC::NotEqual, c, zero, x, y)
}

/// The vector type of a lane type (`F32` → `F32X4`, `F64` → `F64X2`).
pub fn vector_of(lane: Type) -> Type {
    if lane == F64 {
        cranelift_codegen::ir::types::F64X2
    } else {
        F32X4
    }
}
