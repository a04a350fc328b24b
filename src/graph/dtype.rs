//! Element types and the numeric trait the interpreter and folding share.

use std::fmt;

/// The floating-point element type of a tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    /// IEEE binary32, TensorFlow's default.
    F32,
    /// IEEE binary64.
    F64,
}

impl DType {
    /// Size of one element in bytes.
    pub fn size(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::F64 => 8,
        }
    }

    /// Rounds an `f64` to the nearest value this dtype can hold, returned as `f64`.
    pub fn round(self, v: f64) -> f64 {
        match self {
            DType::F32 => v as f32 as f64,
            DType::F64 => v,
        }
    }

    /// The name used on the command line (`f32`, `f64`).
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F64 => "f64",
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for DType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "f32" => Ok(DType::F32),
            "f64" => Ok(DType::F64),
            other => Err(format!("unknown dtype `{other}` (expected f32 or f64)")),
        }
    }
}

/// A floating-point element type gradjit computes in: `f32` or `f64`.
///
/// The scalar math of every operation is written once, generically over this
/// trait (see [`crate::graph::UnaryOp::eval`]), and shared by the interpreter,
/// constant folding and the tests.
pub trait Real:
    num_traits::Float
    + num_traits::FloatConst
    + ndarray::LinalgScalar
    + ndarray::ScalarOperand
    + std::iter::Sum
    + fmt::Debug
    + fmt::Display
    + Send
    + Sync
    + 'static
{
    /// The dtype of this Rust type.
    const DTYPE: DType;
    /// Converts from `f64`, rounding to nearest.
    fn from_f64(v: f64) -> Self;
    /// Widens to `f64` exactly (named apart from `ToPrimitive::to_f64`, which returns an `Option`).
    fn widen(self) -> f64;
    /// Rounds to the nearest integer, ties to even (`Float::round` takes
    /// ties away from zero).
    fn round_even(self) -> Self;
    /// The error function (`num_traits::Float` has none, and `std`'s is
    /// not stable: the `libm` crate's port of fdlibm/musl, within 1 ulp).
    /// This and the functions below compute f32 in f64 and round once, as
    /// the native code does: within a hair of half an ulp, so that the
    /// engines agree where a later operation magnifies a last-bit difference.
    fn erf(self) -> Self;
    /// The complementary error function `1 - erf(x)`, accurate where it is
    /// small (the `libm` crate's, as [`Real::erf`]).
    fn erfc(self) -> Self;
    /// The inverse hyperbolic sine, fdlibm's (the `libm` crate's, within 1
    /// ulp): `std`'s `asinh` is a formula that loses several ulp in f32.
    fn arsinh(self) -> Self;
    /// The inverse hyperbolic cosine, fdlibm's, NaN below 1 (see
    /// [`Real::arsinh`]).
    fn arcosh(self) -> Self;
    /// The inverse hyperbolic tangent, fdlibm's (see [`Real::arsinh`]).
    fn artanh(self) -> Self;
}

impl Real for f32 {
    const DTYPE: DType = DType::F32;
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    fn widen(self) -> f64 {
        self as f64
    }
    fn round_even(self) -> Self {
        self.round_ties_even()
    }
    fn erf(self) -> Self {
        libm::erf(self as f64) as f32
    }
    fn erfc(self) -> Self {
        libm::erfc(self as f64) as f32
    }
    fn arsinh(self) -> Self {
        libm::asinh(self as f64) as f32
    }
    fn arcosh(self) -> Self {
        // musl's acosh leaves arguments below 1 to the caller
        if self < 1.0 {
            f32::NAN
        } else {
            libm::acosh(self as f64) as f32
        }
    }
    fn artanh(self) -> Self {
        libm::atanh(self as f64) as f32
    }
}

impl Real for f64 {
    const DTYPE: DType = DType::F64;
    fn from_f64(v: f64) -> Self {
        v
    }
    fn widen(self) -> f64 {
        self
    }
    fn round_even(self) -> Self {
        self.round_ties_even()
    }
    fn erf(self) -> Self {
        libm::erf(self)
    }
    fn erfc(self) -> Self {
        libm::erfc(self)
    }
    fn arsinh(self) -> Self {
        libm::asinh(self)
    }
    fn arcosh(self) -> Self {
        // musl's acosh leaves arguments below 1 to the caller
        if self < 1.0 {
            f64::NAN
        } else {
            libm::acosh(self)
        }
    }
    fn artanh(self) -> Self {
        libm::atanh(self)
    }
}
