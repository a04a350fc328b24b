//! What the compiler knows of each elementwise operation besides its math,
//! declared once, in exhaustive matches beside the operations: a new
//! operation does not build until its facts are given, and every pass that
//! needs one (gradients, simplification, fusion, the code generator) reads
//! it from here rather than from a list of its own.

use super::op::{BinaryOp, UnaryOp};

/// How the sign of a unary operation's result follows its argument's.
///
/// "Non-negative" means in `[-0, +inf]` or NaN, "non-positive" in
/// `[-inf, +0]` or NaN, as the kernel sign analysis (`jit::signs`) uses
/// them; every rule holds for every input, infinities and signed zeros
/// included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignRule {
    /// Non-negative whatever the argument.
    NonNegative,
    /// Non-negative for a non-negative argument, non-positive for a
    /// non-positive one (a zero stays a zero, of either sign).
    Kept,
    /// Non-negative for a non-positive argument, and conversely.
    Flipped,
    /// Nothing follows: a zero's sign bit decides (`1/x`), or the function
    /// crosses 0 elsewhere (`sin`).
    Unknown,
}

/// The facts of a unary operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnaryFacts {
    /// TensorFlow registers a gradient for it (`floor` has none).
    pub differentiable: bool,
    /// Native code computes it with an inline polynomial approximation
    /// (within the ulp bounds of `jit::math`), not a few exact
    /// instructions: it costs arithmetic, so a kernel holding it is not
    /// light, and the engine fuzzer allows it its rounding.
    pub approximated: bool,
    /// Cheaper to compute twice than to store once and load again.
    pub cheap: bool,
    /// Its result is never `-0`, whatever the argument (so `f(x) + 0` is
    /// `f(x)`).
    pub never_neg_zero: bool,
    /// How its sign follows the argument's.
    pub sign: SignRule,
}

impl UnaryOp {
    /// What the compiler knows of this operation besides its math.
    pub fn facts(self) -> UnaryFacts {
        use SignRule::*;
        use UnaryOp::*;
        let facts = |differentiable, approximated, cheap, never_neg_zero, sign| UnaryFacts {
            differentiable,
            approximated,
            cheap,
            never_neg_zero,
            sign,
        };
        // (differentiable, approximated, cheap, never -0, sign)
        match self {
            Neg => facts(true, false, true, false, Flipped),
            Abs => facts(true, false, true, true, NonNegative),
            // sign(-0) is -0
            Sign => facts(true, false, false, false, Kept),
            Exp => facts(true, true, false, true, NonNegative),
            Log => facts(true, true, false, false, Unknown),
            // log1p(-0) is -0
            Log1p => facts(true, true, false, false, Unknown),
            Expm1 => facts(true, true, false, false, Kept),
            // sqrt(-0) is -0
            Sqrt => facts(true, false, false, false, NonNegative),
            Rsqrt => facts(true, false, false, false, Unknown),
            Square => facts(true, false, true, true, NonNegative),
            Reciprocal => facts(true, false, false, false, Unknown),
            Sin => facts(true, true, false, false, Unknown),
            Cos => facts(true, true, false, false, Unknown),
            Tanh => facts(true, true, false, false, Kept),
            Sigmoid => facts(true, true, false, true, NonNegative),
            Softplus => facts(true, true, false, true, NonNegative),
            // relu(-0) is +0
            Relu => facts(true, false, false, true, NonNegative),
            Floor | Ceil | Round => facts(false, false, false, false, Kept),
            // relu6(-0) is +0, as relu's
            Relu6 => facts(true, false, false, true, NonNegative),
            Softsign => facts(true, false, false, false, Kept),
            Elu | Selu | Silu => facts(true, true, false, false, Kept),
            // tan crosses 0 at every multiple of pi
            Tan => facts(true, true, false, false, Unknown),
            // odd and increasing: a zero keeps its sign
            Asin | Atan | Sinh | Asinh | Atanh | Erf => facts(true, true, false, false, Kept),
            // acos(1) = acosh(1) = +0, erfc(+inf) = +0; cosh is at least 1
            Acos | Cosh | Acosh | Erfc => facts(true, true, false, true, NonNegative),
            // x times a factor in [0, 1]: gelu(-0) = -0
            Gelu => facts(true, true, false, false, Kept),
        }
    }
}

/// The facts of a binary operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BinaryFacts {
    /// TensorFlow registers a gradient for it (comparisons have none).
    pub differentiable: bool,
    /// A comparison: its result is 1.0 or 0.0.
    pub comparison: bool,
    /// Native code computes it with an inline approximation (see
    /// [`UnaryFacts::approximated`]).
    pub approximated: bool,
    /// Cheaper to compute twice than to store once and load again.
    pub cheap: bool,
}

impl BinaryOp {
    /// What the compiler knows of this operation besides its math.
    pub fn facts(self) -> BinaryFacts {
        use BinaryOp::*;
        let facts = |differentiable, comparison, approximated, cheap| BinaryFacts {
            differentiable,
            comparison,
            approximated,
            cheap,
        };
        // (differentiable, comparison, approximated, cheap)
        match self {
            Add | Sub | Mul => facts(true, false, false, true),
            Div | Maximum | Minimum | ReluGrad | MulNoNan | DivNoNan | Xdivy => {
                facts(true, false, false, false)
            }
            Pow | Xlogy | Atan2 => facts(true, false, true, false),
            Lt | Le | Gt | Ge | Eq | Ne => facts(false, true, false, false),
        }
    }
}
