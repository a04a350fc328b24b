//! A driver function's frame: what it imports (its kernels, constants, the
//! math slow paths and, in the JIT, the library GEMM, streaming stores and
//! the parallel runtime) and where every home is at the start of its body.
//! The driver and, on several threads, each segment's chunk function share
//! it.

use cranelift_codegen::ir::{AbiParam, FuncRef, Function, GlobalValue, InstBuilder, Value};
use cranelift_frontend::FunctionBuilder;
use cranelift_module::{DataId, Linkage, Module};

use super::emit::{self, Em, Parallel};
use super::{codegen, gemm, ChunkArea, DriverError, Naming, Program, ScratchLayout};
use crate::jit::math::{EmitConfig, MathImports};

/// What one function declares to call and read.
pub(super) struct Imports {
    /// The kernels, by code index.
    pub kernels: Vec<FuncRef>,
    consts: Vec<GlobalValue>,
    m: MathImports,
    gemm: Option<FuncRef>,
    launch: Option<FuncRef>,
    streaming: bool,
    parallel: Option<Parallel>,
}

/// Declares in `func` (of `module`) what a function of program `p` calls:
/// its kernels, its constants `consts`, and what `naming` allows.
pub(super) fn declare<M: Module, T>(
    module: &mut M,
    func: &mut Function,
    p: &Program<'_, T>,
    consts: &[DataId],
    naming: &Naming<'_>,
    cfg: EmitConfig,
    size: usize,
) -> Result<Imports, DriverError> {
    let m = MathImports::declare_as(module, func, cfg, naming.libm).map_err(codegen)?;
    let kernels = p
        .kernels
        .iter()
        .map(|&k| module.declare_func_in_func(k, func))
        .collect();
    let consts = consts
        .iter()
        .map(|&d| module.declare_data_in_func(d, func))
        .collect();
    let ptr = module.target_config().pointer_type();
    let mut import = |name: &str, params: usize| {
        let mut sig = module.make_signature();
        sig.params
            .extend(std::iter::repeat_n(AbiParam::new(ptr), params));
        module
            .declare_function(name, Linkage::Import, &sig)
            .map(|id| module.declare_func_in_func(id, func))
            .map_err(codegen)
    };
    let gemm = match naming.library_gemm {
        true => Some(import(gemm::gemm_symbol(size), 11)?),
        false => None,
    };
    let launch = match naming.stream || naming.pool.is_some() {
        true => Some(import(crate::exec::parallel::LAUNCH_SYMBOL, 12)?),
        false => None,
    };
    let parallel = match naming.pool {
        Some(pool) => Some(Parallel {
            pool: pool as i64,
            chunks: import(crate::exec::parallel::CHUNKS_SYMBOL, 9)?,
        }),
        None => None,
    };
    Ok(Imports {
        kernels,
        consts,
        m,
        gemm,
        launch,
        streaming: naming.stream,
        parallel,
    })
}

/// The start of a body over `b`: every home's address from the
/// function's `params` (inputs, outputs, scratch) and, for a chunk
/// function, the block-sized temporaries in its own area (`chunk`).
#[allow(clippy::too_many_arguments)]
pub(super) fn frame<'f, T>(
    mut b: FunctionBuilder<'f>,
    imports: Imports,
    p: &Program<'_, T>,
    layout: &ScratchLayout,
    params: [Value; 3],
    chunk: Option<(Value, &ChunkArea)>,
    size: usize,
    cfg: EmitConfig,
) -> Em<'f> {
    let [ins, outs, scratch] = params;
    let ptr = b.func.dfg.value_type(ins);
    let pb = ptr.bytes() as i32;
    let inputs = p
        .input_slots
        .iter()
        .map(|&s| b.ins().load(ptr, emit::flags(), ins, s as i32 * pb))
        .collect();
    let outputs = (0..p.output_lens.len())
        .map(|j| b.ins().load(ptr, emit::flags(), outs, j as i32 * pb))
        .collect();
    let temps = layout
        .temps
        .iter()
        .enumerate()
        .map(|(t, &o)| {
            let own = chunk.and_then(|(base, area)| {
                let &(_, off) = area.locals.iter().find(|(l, _)| *l == t)?;
                Some((base, off))
            });
            let (base, off) = own.unwrap_or((scratch, o));
            b.ins().iadd_imm_s(base, off as i64)
        })
        .collect();
    let consts = imports
        .consts
        .iter()
        .map(|&g| b.ins().symbol_value(ptr, g))
        .collect();
    let pack = b.ins().iadd_imm_s(scratch, layout.pack as i64);
    let lane = if size == 8 {
        cranelift_codegen::ir::types::F64
    } else {
        cranelift_codegen::ir::types::F32
    };
    Em {
        pack,
        b,
        ptr,
        lane,
        size: size as i64,
        m: imports.m,
        cfg,
        inputs,
        outputs,
        temps,
        consts,
        gemm: imports.gemm,
        launch: imports.launch,
        streaming: imports.streaming,
        parallel: imports.parallel,
        params,
    }
}
