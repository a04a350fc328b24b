//! The JIT module of one executable: compile kernels, hand out their entry
//! points, free the code when dropped.

use std::sync::OnceLock;

use cranelift_codegen::ir::UserFuncName;
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_codegen::Context;
use cranelift_frontend::FunctionBuilderContext;
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{default_libcall_names, FuncId, Linkage, Module};

use super::lower;
use super::math::{EmitConfig, MathImports};
use crate::graph::kernel::KernelSpec;

/// A compiled kernel's entry point.
///
/// `ptrs` holds one base pointer per input, then one per output, then one
/// per reduction; `strides` one row stride (in elements) per input; the
/// kernel computes `rows` rows of `inner` elements. Input `k`'s row `r`
/// starts `r * strides[k]` elements after `ptrs[k]` and is read
/// contiguously (`inner` elements) or as its first element splatted, per
/// the kernel's [`crate::graph::kernel::InnerAccess`]; output row `r` is
/// the `inner` elements from `r * inner`; a per-row reduction writes row
/// `r`'s result at element `r`, a per-column one combines column `c` into
/// element `c` (which the caller initializes). With `rows` or `inner` zero
/// nothing is read or written, not even a splatted input.
///
/// # Safety
/// Every pointer must be aligned for the kernel's dtype and valid for every
/// element just described (reads for inputs, reads and writes for outputs
/// and reductions, with no output overlapping another operand), and the
/// [`CompiledKernels`] that returned the function must still be alive: its
/// code is freed when it is dropped. The safe wrapper in `exec` checks all
/// of this before calling.
pub type KernelFn =
    unsafe extern "C" fn(ptrs: *const *mut u8, strides: *const isize, rows: usize, inner: usize);

/// Why code generation failed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum JitError {
    /// The host is not supported by Cranelift.
    #[error("this machine is not supported by the JIT: {0}")]
    Host(String),
    /// A kernel description is inconsistent.
    #[error("invalid kernel: {0}")]
    Kernel(String),
    /// Cranelift rejected the code.
    #[error("code generation failed: {0}")]
    Codegen(String),
}

/// The host ISA with all its features, made once per process (~60 µs).
fn isa() -> Result<OwnedTargetIsa, JitError> {
    static ISA: OnceLock<Result<OwnedTargetIsa, String>> = OnceLock::new();
    ISA.get_or_init(|| {
        let mut flags = settings::builder();
        let set = |f: &mut settings::Builder, k: &str, v: &str| {
            f.set(k, v).map_err(|e| format!("{k}={v}: {e}"))
        };
        set(&mut flags, "opt_level", "speed")?;
        set(&mut flags, "is_pic", "false")?;
        set(&mut flags, "use_colocated_libcalls", "false")?;
        // the verifier costs 50-80% of compile time: debug builds only
        set(
            &mut flags,
            "enable_verifier",
            if cfg!(debug_assertions) {
                "true"
            } else {
                "false"
            },
        )?;
        let builder = cranelift_native::builder().map_err(|e| e.to_string())?;
        builder
            .finish(settings::Flags::new(flags))
            .map_err(|e| e.to_string())
    })
    .clone()
    .map_err(JitError::Host)
}

/// Compiled kernels and the JIT module that owns their code.
pub struct CompiledKernels {
    module: Option<JITModule>,
    fns: Vec<KernelFn>,
    /// The spec each function was built from: what its code assumes about
    /// its operands, for callers to check buffers against.
    specs: Vec<KernelSpec>,
    /// The addresses of the functions defined beside the kernels, or why
    /// they could not be.
    extra: Option<Result<Vec<usize>, JitError>>,
}

// SAFETY: after `finalize_definitions` the code pages are immutable and the
// module is never touched again except in `drop`, which has exclusive access;
// the function pointers are plain code addresses, callable from any thread.
unsafe impl Send for CompiledKernels {}
// SAFETY: as above: shared access only reads the immutable function pointers.
unsafe impl Sync for CompiledKernels {}

impl CompiledKernels {
    /// The entry point of kernel `i` (in the order given to [`compile`]).
    pub fn get(&self, i: usize) -> Option<KernelFn> {
        self.fns.get(i).copied()
    }

    /// The spec kernel `i` was compiled from (its dtype, operand counts,
    /// access patterns and reduction kinds: what its code assumes).
    pub fn spec(&self, i: usize) -> Option<&KernelSpec> {
        self.specs.get(i)
    }

    /// The addresses of the functions [`compile_with`]'s `extra` defined,
    /// in its order, or its error (`None` when it was not asked for).
    pub(crate) fn extra(&self) -> Option<&Result<Vec<usize>, JitError>> {
        self.extra.as_ref()
    }

    /// The number of kernels.
    pub fn len(&self) -> usize {
        self.fns.len()
    }

    /// True when there are no kernels.
    pub fn is_empty(&self) -> bool {
        self.fns.is_empty()
    }
}

impl Drop for CompiledKernels {
    fn drop(&mut self) {
        if let Some(module) = self.module.take() {
            // SAFETY: `free_memory` requires that no function of the module
            // runs or is called afterwards. The executor calls kernels only
            // while it borrows `self` (so not during or after `drop`), and
            // copies of the pointers handed out by `get` can be called only
            // in `unsafe` code, whose contract (`KernelFn`'s `# Safety`)
            // requires this `CompiledKernels` to be alive.
            unsafe { module.free_memory() };
        }
    }
}

pub(crate) fn new_module() -> Result<(JITModule, EmitConfig), JitError> {
    new_module_with(&[])
}

/// A JIT module whose code may also import `symbols` (name, address).
fn new_module_with(symbols: &[(&str, *const u8)]) -> Result<(JITModule, EmitConfig), JitError> {
    let isa = isa()?;
    let cfg = EmitConfig::from_isa(&*isa);
    let mut jb = JITBuilder::with_isa(isa, default_libcall_names());
    MathImports::register_symbols(&mut jb);
    for &(name, addr) in symbols {
        jb.symbol(name, addr);
    }
    Ok((JITModule::new(jb), cfg))
}

fn build_into<M: Module>(
    module: &mut M,
    ctx: &mut Context,
    fctx: &mut FunctionBuilderContext,
    spec: &KernelSpec,
    cfg: EmitConfig,
    libm: bool,
) -> Result<(), JitError> {
    spec.validate().map_err(JitError::Kernel)?;
    let ptr = module.target_config().pointer_type();
    lower::signature(&mut ctx.func, ptr);
    let m = MathImports::declare_as(module, &mut ctx.func, cfg, libm)
        .map_err(|e| JitError::Codegen(e.to_string()))?;
    let config = module.target_config();
    lower::build(&mut ctx.func, fctx, spec, &m, ptr, config);
    Ok(())
}

/// Declares and defines one kernel as a local function `name` of `module`
/// (a JIT module, or an object file's: with `libm`, its slow paths import
/// the C library's functions instead of gradjit's).
pub(crate) fn define_kernel<M: Module>(
    module: &mut M,
    name: &str,
    spec: &KernelSpec,
    cfg: EmitConfig,
    libm: bool,
) -> Result<FuncId, JitError> {
    let mut ctx = module.make_context();
    let mut fctx = FunctionBuilderContext::new();
    lower::signature(&mut ctx.func, module.target_config().pointer_type());
    let sig = ctx.func.signature.clone();
    let id = module
        .declare_function(name, Linkage::Local, &sig)
        .map_err(|e| JitError::Codegen(e.to_string()))?;
    ctx.func = cranelift_codegen::ir::Function::new();
    ctx.func.name = UserFuncName::user(0, id.as_u32());
    build_into(module, &mut ctx, &mut fctx, spec, cfg, libm)?;
    module
        .define_function(id, &mut ctx)
        .map_err(|e| JitError::Codegen(format!("{}: {e:?}", spec.name)))?;
    Ok(id)
}

/// Defines more functions in a JIT module that already holds the kernels
/// (whose ids it is given, in order); returns the ids to finalize.
pub(crate) type Extra<'a> =
    &'a mut dyn FnMut(&mut JITModule, &[FuncId], EmitConfig) -> Result<Vec<FuncId>, JitError>;

/// Compiles kernels into one new JIT module.
pub fn compile(specs: &[&KernelSpec]) -> Result<CompiledKernels, JitError> {
    compile_with(specs, &[], None)
}

/// Compiles kernels, and what `extra` defines beside them (which may
/// import `symbols`), into one new JIT module; the extra functions'
/// addresses are [`CompiledKernels::extra`]. An error of `extra` is kept
/// there too: the kernels work without it.
pub(crate) fn compile_with(
    specs: &[&KernelSpec],
    symbols: &[(&str, *const u8)],
    extra: Option<Extra<'_>>,
) -> Result<CompiledKernels, JitError> {
    let (mut module, cfg) = new_module_with(symbols)?;
    let mut ids = Vec::with_capacity(specs.len());
    for (i, spec) in specs.iter().enumerate() {
        ids.push(define_kernel(
            &mut module,
            &format!("kernel{i}"),
            spec,
            cfg,
            false,
        )?);
    }
    let extra_ids = extra.map(|f| f(&mut module, &ids, cfg));
    module
        .finalize_definitions()
        .map_err(|e| JitError::Codegen(e.to_string()))?;
    let fns = ids
        .iter()
        .map(|&id| {
            let p = module.get_finalized_function(id);
            // SAFETY: `p` is the entry of a function built by `lower::build`
            // with exactly the `KernelFn` signature in the host's C ABI.
            unsafe { std::mem::transmute::<*const u8, KernelFn>(p) }
        })
        .collect();
    let extra = extra_ids.map(|r| {
        r.map(|ids| {
            ids.iter()
                .map(|&id| module.get_finalized_function(id) as usize)
                .collect()
        })
    });
    Ok(CompiledKernels {
        module: Some(module),
        fns,
        specs: specs.iter().map(|s| (*s).clone()).collect(),
        extra,
    })
}

/// The Cranelift IR of a kernel, as text (for `gradjit show --clif`).
pub fn clif_text(spec: &KernelSpec) -> Result<String, JitError> {
    let (mut module, cfg) = new_module()?;
    let mut ctx = module.make_context();
    let mut fctx = FunctionBuilderContext::new();
    build_into(&mut module, &mut ctx, &mut fctx, spec, cfg, false)?;
    let text = ctx.func.display().to_string();
    // SAFETY: nothing was defined or finalized in this module.
    unsafe { module.free_memory() };
    Ok(text)
}
