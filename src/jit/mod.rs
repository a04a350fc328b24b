//! Native code: each fused kernel is lowered to one Cranelift function (a
//! vector loop over `F32X4` / `F64X2`, unrolled, plus a scalar tail) and
//! compiled in a JIT module that the caller owns.
//!
//! Transcendental functions are emitted inline as vectorized polynomial
//! approximations ([`math`]), never as one library call per element.

mod lower;
pub mod math;
mod module;
pub(crate) mod ops;
mod signs;

pub use module::{clif_text, compile, CompiledKernels, JitError, KernelFn};
pub(crate) use module::{compile_with, define_kernel};
