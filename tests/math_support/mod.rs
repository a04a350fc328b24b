//! Test harness: JIT-compiles kernels that apply one math function to a
//! buffer (a 4/2-lane vector loop plus a scalar tail, so both the vector and
//! the scalar emission run) and helpers to measure ulp errors.
#![allow(dead_code)]

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{F32, F32X4, F64, F64X2, I64};
use cranelift_codegen::ir::{AbiParam, InstBuilder, MemFlagsData, Type, UserFuncName};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{default_libcall_names, Linkage, Module};
use gradjit::jit::math::{emit_atan2, emit_pow, emit_unary, EmitConfig, MathFn, MathImports};

/// A JIT module holding compiled kernels (never freed: tests are short).
pub struct Jit {
    module: JITModule,
    cfg: EmitConfig,
    count: usize,
}

/// What a kernel computes.
#[derive(Clone, Copy, Debug)]
pub enum Op {
    Unary(MathFn),
    Pow,
    /// `atan2(y, x)`, `y` the first input.
    Atan2,
}

/// Which code generation configuration to test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The host with all its features (FMA, AVX, ...).
    Host,
    /// The host without FMA (mul + add code paths).
    HostNoFma,
    /// Baseline x86-64: SSE2 only.
    Sse2,
}

/// All targets, most important first.
pub const TARGETS: [Target; 3] = [Target::Host, Target::HostNoFma, Target::Sse2];

impl Jit {
    /// A JIT for `t`.
    pub fn for_target(t: Target) -> Jit {
        match t {
            Target::Host => Jit::new(true),
            Target::HostNoFma => Jit::new(false),
            Target::Sse2 => Jit::baseline(),
        }
    }

    /// A JIT for the host; `fma = false` disables FMA in both the ISA and
    /// the emitters (exercising the mul+add paths).
    pub fn new(fma: bool) -> Jit {
        Jit::with_native(fma, true)
    }

    /// A JIT for baseline x86-64 (SSE2 only, no host features).
    pub fn baseline() -> Jit {
        Jit::with_native(false, false)
    }

    fn with_native(fma: bool, infer: bool) -> Jit {
        let mut fb = settings::builder();
        fb.set("opt_level", "speed").unwrap();
        let mut ib = cranelift_native::builder_with_options(infer).unwrap();
        if !fma {
            ib.set("has_fma", "false").unwrap();
        }
        let isa = ib.finish(settings::Flags::new(fb)).unwrap();
        let cfg = EmitConfig::from_isa(&*isa);
        assert_eq!(cfg.has_fma, fma && infer && is_x86_feature_detected!("fma"));
        let mut jb = JITBuilder::with_isa(isa, default_libcall_names());
        MathImports::register_symbols(&mut jb);
        Jit {
            module: JITModule::new(jb),
            cfg,
            count: 0,
        }
    }

    /// Compiles `op` over lanes of type `lane` (F32 or F64).  The function
    /// is `extern "C" fn(x, [y,] out, n)`.
    pub fn compile(&mut self, op: Op, lane: Type) -> *const u8 {
        let vty = if lane == F32 { F32X4 } else { F64X2 };
        let lanes = vty.lane_count() as i64;
        let size = lane.bytes() as i64;
        let nin = if matches!(op, Op::Pow | Op::Atan2) {
            2
        } else {
            1
        };
        let mut ctx = self.module.make_context();
        let ptr = I64;
        for _ in 0..nin + 1 {
            ctx.func.signature.params.push(AbiParam::new(ptr));
        }
        ctx.func.signature.params.push(AbiParam::new(ptr));
        let name = format!("k{}", self.count);
        self.count += 1;
        let id = self
            .module
            .declare_function(&name, Linkage::Local, &ctx.func.signature)
            .unwrap();
        ctx.func.name = UserFuncName::user(0, id.as_u32());
        let mut fctx = FunctionBuilderContext::new();
        {
            let mut b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
            let imports = MathImports::declare(&mut self.module, b.func, self.cfg).unwrap();
            let flags = MemFlagsData::new().with_notrap();
            let entry = b.create_block();
            b.append_block_params_for_function_params(entry);
            let vhead = b.create_block();
            let vbody = b.create_block();
            let thead = b.create_block();
            let tbody = b.create_block();
            let exit = b.create_block();
            let vi = b.append_block_param(vhead, ptr);
            let ti = b.append_block_param(thead, ptr);

            b.switch_to_block(entry);
            let params = b.block_params(entry).to_vec();
            let ins: Vec<_> = params[..nin].to_vec();
            let out = params[nin];
            let n = params[nin + 1];
            let nv = b.ins().band_imm_s(n, !(lanes - 1));
            let zero = b.ins().iconst(ptr, 0);
            b.ins().jump(vhead, &[zero.into()]);

            // Vector loop.
            b.switch_to_block(vhead);
            let c = b.ins().icmp(IntCC::UnsignedLessThan, vi, nv);
            b.ins().brif(c, vbody, &[], thead, &[vi.into()]);
            b.switch_to_block(vbody);
            let off = b.ins().imul_imm_s(vi, size);
            let args: Vec<_> = ins
                .iter()
                .map(|&p| {
                    let a = b.ins().iadd(p, off);
                    b.ins().load(vty, flags, a, 0)
                })
                .collect();
            let r = match op {
                Op::Unary(f) => emit_unary(&mut b, &imports, f, args[0]),
                Op::Pow => emit_pow(&mut b, &imports, args[0], args[1]),
                Op::Atan2 => emit_atan2(&mut b, &imports, args[0], args[1]),
            };
            let oa = b.ins().iadd(out, off);
            b.ins().store(flags, r, oa, 0);
            let next = b.ins().iadd_imm_s(vi, lanes);
            b.ins().jump(vhead, &[next.into()]);

            // Scalar tail.
            b.switch_to_block(thead);
            let c = b.ins().icmp(IntCC::UnsignedLessThan, ti, n);
            b.ins().brif(c, tbody, &[], exit, &[]);
            b.switch_to_block(tbody);
            let off = b.ins().imul_imm_s(ti, size);
            let args: Vec<_> = ins
                .iter()
                .map(|&p| {
                    let a = b.ins().iadd(p, off);
                    b.ins().load(lane, flags, a, 0)
                })
                .collect();
            let r = match op {
                Op::Unary(f) => emit_unary(&mut b, &imports, f, args[0]),
                Op::Pow => emit_pow(&mut b, &imports, args[0], args[1]),
                Op::Atan2 => emit_atan2(&mut b, &imports, args[0], args[1]),
            };
            let oa = b.ins().iadd(out, off);
            b.ins().store(flags, r, oa, 0);
            let next = b.ins().iadd_imm_s(ti, 1);
            b.ins().jump(thead, &[next.into()]);

            b.switch_to_block(exit);
            b.ins().return_(&[]);
            b.seal_all_blocks();
            b.finalize(self.module.target_config());
        }
        if let Err(e) = cranelift_codegen::verify_function(&ctx.func, self.module.isa()) {
            panic!("verifier: {e}\n{}", ctx.func.display());
        }
        let disasm = std::env::var_os("JITMATH_DISASM").is_some();
        ctx.set_disasm(disasm);
        self.module.define_function(id, &mut ctx).unwrap();
        if let Some(v) = ctx.compiled_code().and_then(|c| c.vcode.clone()) {
            println!("=== {op:?} {lane}\n{v}");
        }
        self.module.clear_context(&mut ctx);
        self.module.finalize_definitions().unwrap();
        self.module.get_finalized_function(id)
    }

    /// Compiles `op` for f32 and returns a callable kernel.
    pub fn f32(&mut self, op: Op) -> Kernel<f32> {
        Kernel {
            ptr: self.compile(op, F32),
            _t: std::marker::PhantomData,
        }
    }

    /// Compiles `op` for f64 and returns a callable kernel.
    pub fn f64(&mut self, op: Op) -> Kernel<f64> {
        Kernel {
            ptr: self.compile(op, F64),
            _t: std::marker::PhantomData,
        }
    }
}

/// A compiled kernel over `T`.
#[derive(Clone, Copy)]
pub struct Kernel<T> {
    ptr: *const u8,
    _t: std::marker::PhantomData<T>,
}
// SAFETY: `ptr` is the entry of finalized, immutable JIT code that the
// harness never frees (a dropped JITModule leaves its code mapped).
unsafe impl<T> Send for Kernel<T> {}
// SAFETY: as above; calling the code concurrently only reads it.
unsafe impl<T> Sync for Kernel<T> {}

impl<T: Copy + Default> Kernel<T> {
    /// Applies a unary kernel to `x`.
    pub fn run(&self, x: &[T]) -> Vec<T> {
        let mut out = vec![T::default(); x.len()];
        self.run_into(x, &mut out);
        out
    }

    /// Applies a unary kernel to `x` writing into `out`.
    pub fn run_into(&self, x: &[T], out: &mut [T]) {
        assert_eq!(x.len(), out.len());
        // SAFETY: `ptr` was compiled by `compile` with exactly this signature
        // (input, output, length); the lengths are equal, checked above.
        let f: extern "C" fn(*const T, *mut T, usize) = unsafe { std::mem::transmute(self.ptr) };
        f(x.as_ptr(), out.as_mut_ptr(), x.len());
    }

    /// Applies a binary kernel (pow, atan2).
    pub fn run2(&self, a: &[T], y: &[T]) -> Vec<T> {
        assert_eq!(a.len(), y.len());
        let mut out = vec![T::default(); a.len()];
        // SAFETY: as in `run_into`, for the two-input (pow) signature.
        let f: extern "C" fn(*const T, *const T, *mut T, usize) =
            unsafe { std::mem::transmute(self.ptr) };
        f(a.as_ptr(), y.as_ptr(), out.as_mut_ptr(), a.len());
        out
    }
}

/// Position of an f32 on the ordered line of floats (`+0` and `-0` both 0).
fn ord32(x: f32) -> i64 {
    let b = x.to_bits();
    if b >> 31 == 1 {
        -((b & 0x7fff_ffff) as i64)
    } else {
        b as i64
    }
}

/// Position of an f64 on the ordered line of floats.
fn ord64(x: f64) -> i128 {
    let b = x.to_bits();
    if b >> 63 == 1 {
        -((b & 0x7fff_ffff_ffff_ffff) as i128)
    } else {
        b as i128
    }
}

/// Ulp distance between `got` and `want`: counts representable f32 values
/// between them (through zero and the subnormals).  Both NaN is 0; NaN
/// against a number, or an infinity against anything else, is `u64::MAX`.
pub fn ulp32(got: f32, want: f32) -> u64 {
    if got.is_nan() || want.is_nan() {
        return if got.is_nan() && want.is_nan() {
            0
        } else {
            u64::MAX
        };
    }
    if (got.is_infinite() || want.is_infinite()) && got != want {
        return u64::MAX;
    }
    (ord32(got) - ord32(want)).unsigned_abs()
}

/// Ulp distance for f64 (see [`ulp32`]).
pub fn ulp64(got: f64, want: f64) -> u64 {
    if got.is_nan() || want.is_nan() {
        return if got.is_nan() && want.is_nan() {
            0
        } else {
            u64::MAX
        };
    }
    if (got.is_infinite() || want.is_infinite()) && got != want {
        return u64::MAX;
    }
    u64::try_from((ord64(got) - ord64(want)).unsigned_abs()).unwrap_or(u64::MAX)
}

/// Worst case found by a sweep.
#[derive(Clone, Copy, Debug, Default)]
pub struct Worst<T> {
    pub ulp: u64,
    pub x: T,
    pub got: T,
    pub want: T,
    pub count: u64,
}

impl<T: Copy> Worst<T> {
    pub fn add(&mut self, ulp: u64, x: T, got: T, want: T) {
        self.count += 1;
        if ulp > self.ulp || self.count == 1 {
            self.ulp = ulp;
            self.x = x;
            self.got = got;
            self.want = want;
        }
    }
    pub fn merge(&mut self, o: Worst<T>) {
        let c = self.count + o.count;
        if o.ulp > self.ulp {
            *self = o;
        }
        self.count = c;
    }
}

/// f32 references.
pub fn ref32(f: MathFn, x: f32) -> f32 {
    match f {
        MathFn::Exp => x.exp(),
        MathFn::Expm1 => x.exp_m1(),
        MathFn::Log => x.ln(),
        MathFn::Log1p => x.ln_1p(),
        MathFn::Tanh => x.tanh(),
        MathFn::Sin => x.sin(),
        MathFn::Cos => x.cos(),
        // Same formulas in f64, rounded once.
        MathFn::Sigmoid => sigmoid64(x as f64) as f32,
        MathFn::Softplus => softplus64(x as f64) as f32,
        // The f64 references rounded once: within a hair of 0.5 ulp of
        // the exact value, closer than `std`'s f32 functions (some of which,
        // asinh and atanh, are formulas of a few ulp).
        _ => ref64(f, x as f64) as f32,
    }
}

/// f64 references.  Sigmoid and softplus are stable f64 formulas built
/// from `std` (each within ~1.5 ulp of the true value).
pub fn ref64(f: MathFn, x: f64) -> f64 {
    match f {
        MathFn::Exp => x.exp(),
        MathFn::Expm1 => x.exp_m1(),
        MathFn::Log => x.ln(),
        MathFn::Log1p => x.ln_1p(),
        MathFn::Tanh => x.tanh(),
        MathFn::Sin => x.sin(),
        MathFn::Cos => x.cos(),
        MathFn::Sigmoid => sigmoid64(x),
        MathFn::Softplus => softplus64(x),
        MathFn::Tan => x.tan(),
        MathFn::Asin => x.asin(),
        MathFn::Acos => x.acos(),
        MathFn::Atan => x.atan(),
        MathFn::Sinh => x.sinh(),
        MathFn::Cosh => x.cosh(),
        // `std`'s asinh, acosh and atanh are formulas of a few ulp in Rust
        // itself; the `libm` crate's are fdlibm's (within 1 ulp), as its
        // erf and erfc (std has none stable)
        MathFn::Asinh => libm::asinh(x),
        // (libm's acosh, as musl's, gives no NaN for some x < 1)
        MathFn::Acosh if x < 1.0 => f64::NAN,
        MathFn::Acosh => libm::acosh(x),
        MathFn::Atanh => libm::atanh(x),
        MathFn::Erf => libm::erf(x),
        MathFn::Erfc => libm::erfc(x),
    }
}

/// `1 / (1 + e^-x)` for `x >= 0`, `e^x / (1 + e^x)` otherwise.
pub fn sigmoid64(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// `max(x, 0) + ln_1p(e^-|x|)`.
pub fn softplus64(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// Runs `k` on `xs` and accumulates the worst ulp error against `want`.
pub fn sweep32(k: &Kernel<f32>, xs: &[f32], want: impl Fn(f32) -> f32, w: &mut Worst<f32>) {
    let got = k.run(xs);
    for (&x, &g) in xs.iter().zip(&got) {
        let r = want(x);
        w.add(ulp32(g, r), x, g, r);
    }
}

/// f64 version of [`sweep32`].
pub fn sweep64(k: &Kernel<f64>, xs: &[f64], want: impl Fn(f64) -> f64, w: &mut Worst<f64>) {
    let got = k.run(xs);
    for (&x, &g) in xs.iter().zip(&got) {
        let r = want(x);
        w.add(ulp64(g, r), x, g, r);
    }
}

/// f32 bit patterns `lo..hi` (as u32, inclusive of lo) with stride `step`,
/// processed in chunks; calls `f` per chunk.
pub fn for_bits32(lo: u32, hi: u32, step: u32, mut f: impl FnMut(&[f32])) {
    let mut buf = Vec::with_capacity(1 << 16);
    let mut b = lo as u64;
    while b < hi as u64 {
        buf.push(f32::from_bits(b as u32));
        if buf.len() == 1 << 16 {
            f(&buf);
            buf.clear();
        }
        b += step as u64;
    }
    if !buf.is_empty() {
        f(&buf);
    }
}
