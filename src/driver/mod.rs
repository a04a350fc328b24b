//! The whole program as one native function, the *driver*: a planned
//! program — its kernels, library steps and buffer homes — lowered into
//! one Cranelift function of the C calling convention
//!
//! ```text
//! int32_t run(const T *const *inputs, T *const *outputs, uint8_t *scratch)
//! ```
//!
//! that calls the kernels, runs the library steps as native loops (matrix
//! products as a GEMM in IR, data movement as strided copies, reductions
//! no kernel absorbs) and keeps every temporary at a fixed offset of the
//! caller's scratch block. It lives in a JIT module beside the kernels
//! ([`crate::exec::Executable::entry`]) or in an object file
//! ([`crate::aot`]); either way it calls nothing but its own kernels and
//! the C library. It returns 0, or a positive code for an error found at
//! run time.

mod abi;
mod emit;
mod function;
pub mod gemm;
mod gemv;
mod index;
pub(crate) use index::first_bad_index;
mod launch;
mod moves;
mod reduce;
mod scan;
mod segment;
mod window;

use cranelift_codegen::ir::{types::I32, AbiParam, InstBuilder, Signature, UserFuncName};
use cranelift_codegen::Context;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_module::{DataDescription, DataId, FuncId, Linkage, Module};

use crate::exec::layout::{Call, Homes, LibInput, Loc};
use crate::graph::Op;
use crate::jit::math::EmitConfig;
use crate::value::Element;

use emit::Em;
use launch::{KernelCall, Shape};

/// The alignment of the scratch block, and of every region in it.
pub const SCRATCH_ALIGN: usize = 64;

/// Why a program cannot become one native function.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum DriverError {
    /// A step has native code only in the Rust library so far.
    #[error("`{op}` has no native code in the whole-program function")]
    Unsupported {
        /// The operation's name.
        op: String,
    },
    /// Cranelift rejected the code.
    #[error("code generation failed: {0}")]
    Codegen(String),
    /// The plan does not fit its own homes.
    #[error("inconsistent plan: {0}")]
    Plan(&'static str),
}

/// A planned program, as the driver lowers it.
pub(crate) struct Program<'a, T> {
    /// Steps with their operands' homes and row-blocked segments.
    pub homes: &'a Homes<T>,
    /// Each compiled kernel's function, by code index.
    pub kernels: &'a [FuncId],
    /// The spec each compiled kernel was made from, by code index.
    pub specs: &'a [Option<&'a crate::graph::kernel::KernelSpec>],
    /// Where each of the plan's inputs is in the caller's array of inputs.
    pub input_slots: &'a [usize],
    /// Elements of each of the plan's inputs.
    pub input_lens: &'a [usize],
    /// Elements of each output.
    pub output_lens: &'a [usize],
}

/// A plan to lower into a driver, and the functions its kernels became.
pub(crate) struct Lowering<'a> {
    /// The prepared graph's nodes.
    pub nodes: &'a [crate::graph::Node],
    /// The steps in order.
    pub plan: &'a crate::fuse::Plan,
    /// The placeholders the plan reads, in its input order.
    pub input_ids: &'a [crate::graph::NodeId],
    /// The compiled kernel of each kernel step, by index into `kernels`.
    pub code_of: &'a [usize],
    /// The plan's row-blocked segments (`exec::rows::segments` of it).
    pub segments: &'a [crate::exec::rows::Segment],
    /// The kernels' functions in the module.
    pub kernels: &'a [FuncId],
    /// Where each of the plan's inputs is in the caller's array of inputs.
    pub input_slots: &'a [usize],
    /// Elements of each of the plan's inputs.
    pub input_lens: &'a [usize],
    /// Elements of each output.
    pub output_lens: &'a [usize],
    /// What the target has.
    pub cfg: EmitConfig,
}

/// How a driver is named and what it may import.
pub(crate) struct Naming<'a> {
    /// The function's symbol.
    pub name: &'a str,
    /// Its linkage (exported from an object file).
    pub linkage: Linkage,
    /// What its data symbols start with.
    pub prefix: &'a str,
    /// The math slow paths import the C library's `sinf` ... `tan`.
    pub libm: bool,
    /// Matrix products call the library GEMM (`gemm::jit_symbols`, which
    /// the module must provide) instead of native IR.
    pub library_gemm: bool,
    /// Light kernels with large outputs run through the runtime's
    /// streaming stores (`exec::parallel::gradjit_launch`, from
    /// `exec::parallel::jit_symbols`, which the module must provide);
    /// without it (and a pool), every kernel is called directly.
    pub stream: bool,
    /// The address of the thread pool a JIT driver runs on (`jit-mt`): it
    /// then splits launches and runs segments' chunks on it through
    /// `exec::parallel` (whose `jit_symbols` the module must provide). The
    /// pool must outlive the code.
    pub pool: Option<usize>,
}

/// The driver of `l` in `module`, for elements of `dtype`: its plan's
/// homes, row-blocked segments run block by block. Returns the function and
/// the scratch bytes it needs.
pub(crate) fn lower<M: Module>(
    module: &mut M,
    dtype: crate::graph::DType,
    l: &Lowering<'_>,
    naming: &Naming<'_>,
) -> Result<(FuncId, usize), DriverError> {
    match dtype {
        crate::graph::DType::F32 => lower_typed::<M, f32>(module, l, naming),
        crate::graph::DType::F64 => lower_typed::<M, f64>(module, l, naming),
    }
}

fn lower_typed<M: Module, T: Element>(
    module: &mut M,
    l: &Lowering<'_>,
    naming: &Naming<'_>,
) -> Result<(FuncId, usize), DriverError> {
    let homes =
        crate::exec::layout::plan_homes::<T>(l.nodes, l.plan, l.input_ids, l.code_of, l.segments);
    let mut specs = vec![None; l.kernels.len()];
    let kernel_steps = l.plan.steps.iter().filter_map(|s| match s {
        crate::fuse::Step::Kernel(k) => Some(k),
        crate::fuse::Step::Library(_) => None,
    });
    for (k, &code) in kernel_steps.zip(l.code_of) {
        if let Some(x) = specs.get_mut(code) {
            *x = Some(&k.spec);
        }
    }
    let program = Program {
        homes: &homes,
        kernels: l.kernels,
        specs: &specs,
        input_slots: l.input_slots,
        input_lens: l.input_lens,
        output_lens: l.output_lens,
    };
    let scratch = scratch_layout(&homes, std::mem::size_of::<T>(), naming.pool.is_some())?.bytes;
    let id = define(module, &program, naming, l.cfg)?;
    Ok((id, scratch))
}

/// Where each region of the scratch block is, in bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScratchLayout {
    /// Each temporary's offset.
    pub temps: Vec<usize>,
    /// The per-row partials of kernels' whole reductions.
    pub partials: usize,
    /// A row-blocked segment's partial results over the batch.
    pub slots: usize,
    /// The work area of library steps (a convolution's windows as rows).
    pub work: usize,
    /// Where the GEMM packs a column block of `B`.
    pub pack: usize,
    /// Where the chunk areas of a segment run on several threads start,
    /// and each segment's chunk area (empty on one thread).
    pub chunks: usize,
    /// Each segment's chunk area, on several threads.
    pub areas: Vec<ChunkArea>,
    /// The block's size (0: no scratch is needed).
    pub bytes: usize,
}

/// What one chunk of a segment has to itself when chunks run at once, at
/// byte offsets of its area: the segment's block-sized temporaries, its
/// partial results, and the kernels' per-row partials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkArea {
    /// (temporary, offset) of each block-sized temporary.
    pub locals: Vec<(usize, usize)>,
    /// The partial results (see `segment::slot_offsets`).
    pub slots: usize,
    /// Kernels' per-row partials.
    pub partials: usize,
    /// Bytes from one chunk's area to the next.
    pub stride: usize,
}

fn round_up(n: usize) -> Option<usize> {
    n.checked_add(SCRATCH_ALIGN - 1)
        .map(|v| v / SCRATCH_ALIGN * SCRATCH_ALIGN)
}

/// The scratch block of `homes` for elements of `size` bytes; with
/// `parallel`, every segment's chunks get areas of their own.
pub fn scratch_layout<T>(
    homes: &Homes<T>,
    size: usize,
    parallel: bool,
) -> Result<ScratchLayout, DriverError> {
    let big = DriverError::Plan("scratch larger than the address space");
    let mut at = 0usize;
    let mut temps = Vec::with_capacity(homes.temps.len());
    for &n in &homes.temps {
        temps.push(at);
        let bytes = n.checked_mul(size).ok_or(big.clone())?;
        at = at
            .checked_add(bytes)
            .and_then(round_up)
            .ok_or(big.clone())?;
    }
    let mut partial = 0usize;
    for c in &homes.calls {
        if let Call::Kernel {
            reductions,
            layout,
            rows,
            ..
        } = c
        {
            let all = reductions
                .iter()
                .filter(|r| r.class == crate::fuse::ReduceClass::All)
                .count();
            let blocks = rows.iter().flat_map(|r| r.layouts.iter().map(|(_, l)| l));
            for l in std::iter::once(layout).chain(blocks) {
                let rows = Shape::of(l, reductions).kernel_rows();
                partial = partial.max(all.checked_mul(rows).ok_or(big.clone())?);
            }
        }
    }
    let partials = at;
    let slots = partial
        .checked_mul(size)
        .and_then(|b| at.checked_add(b))
        .and_then(round_up)
        .ok_or(big.clone())?;
    let mut slot_len = 0usize;
    for seg in &homes.segments {
        let (_, len) = segment::slot_offsets(seg, size).ok_or(big.clone())?;
        slot_len = slot_len.max(len);
    }
    let work = slot_len
        .checked_mul(size)
        .and_then(|b| slots.checked_add(b))
        .and_then(round_up)
        .ok_or(big.clone())?;
    let mut work_len = 0usize;
    // the longest contracted axis of any product
    let mut k_max = 0usize;
    for c in &homes.calls {
        if let Call::Library {
            op, inputs, shape, ..
        } = c
        {
            match lowered(op, inputs, shape) {
                Some(Lowered::Window(w)) => {
                    work_len = work_len.max(w.work());
                    k_max = k_max.max(w.contracted());
                }
                Some(Lowered::Product(p)) => k_max = k_max.max(p.contracted()),
                _ => {}
            }
        }
    }
    let pack = work_len
        .checked_mul(size)
        .and_then(|b| work.checked_add(b))
        .and_then(round_up)
        .ok_or(big.clone())?;
    let chunks = k_max
        .checked_mul(gemm::PACK_ROW_BYTES)
        .and_then(|b| pack.checked_add(b))
        .and_then(round_up)
        .ok_or(big.clone())?;
    let mut areas = Vec::new();
    let mut chunk_bytes = 0usize;
    if parallel {
        for seg in &homes.segments {
            let area = chunk_area(seg, &homes.temps, size, partial).ok_or(big.clone())?;
            let all = area
                .stride
                .checked_mul(seg.chunks.len())
                .ok_or(big.clone())?;
            chunk_bytes = chunk_bytes.max(all);
            areas.push(area);
        }
    }
    let bytes = chunks
        .checked_add(chunk_bytes)
        .and_then(round_up)
        .ok_or(big)?;
    Ok(ScratchLayout {
        temps,
        partials,
        slots,
        work,
        pack,
        chunks,
        areas,
        bytes,
    })
}

/// The chunk area of `seg` (`temps`: the temporaries' sizes, `partial`:
/// elements of kernels' per-row partials), `None` past the address space.
fn chunk_area(
    seg: &crate::exec::layout::RunSegment,
    temps: &[usize],
    size: usize,
    partial: usize,
) -> Option<ChunkArea> {
    let mut at = 0usize;
    let mut locals = Vec::with_capacity(seg.locals.len());
    for &t in &seg.locals {
        locals.push((t, at));
        at = round_up(at.checked_add(temps.get(t)?.checked_mul(size)?)?)?;
    }
    let slots = at;
    let (_, slot_len) = segment::slot_offsets(seg, size)?;
    let partials = round_up(slots.checked_add(slot_len.checked_mul(size)?)?)?;
    let stride = round_up(partials.checked_add(partial.checked_mul(size)?)?)?;
    Some(ChunkArea {
        locals,
        slots,
        partials,
        stride,
    })
}

/// How the driver computes one library step.
enum Lowered {
    /// A matrix product.
    Product(gemm::Product),
    /// Fills and strided copies.
    Moves(Vec<moves::Move>),
    /// A convolution or pooling.
    Window(window::Windowed),
    /// Elements moved by index.
    Index(index::Indexed),
    /// A walk along one axis.
    Scan(scan::Scan),
    /// A reduction into the destination.
    Combine(reduce::Combine),
}

/// The lowering of the library step `op` of `inputs` into a result of
/// `shape`: the one place that decides, for `check`, the scratch layout and
/// the emission alike. `None`: the driver has no code for it.
fn lowered(op: &Op, inputs: &[LibInput], shape: &[usize]) -> Option<Lowered> {
    if let (Op::MatMul, [a, b]) = (op, inputs) {
        return gemm::Product::new(&moves::View::of(a), &moves::View::of(b), shape)
            .map(Lowered::Product);
    }
    let len = shape.iter().product();
    moves::moves(op, inputs, shape)
        .map(Lowered::Moves)
        .or_else(|| window::windowed(op, inputs).map(Lowered::Window))
        .or_else(|| index::indexed(op, inputs, shape).map(Lowered::Index))
        .or_else(|| scan::scan(op, inputs).map(Lowered::Scan))
        .or_else(|| reduce::combine(op, inputs, len).map(Lowered::Combine))
}

/// Checks that every step of `homes` has native code in the driver.
pub fn check<T>(homes: &Homes<T>) -> Result<(), DriverError> {
    for c in &homes.calls {
        if let Call::Library {
            op, inputs, shape, ..
        } = c
        {
            if lowered(op, inputs, shape).is_none() {
                return Err(DriverError::Unsupported {
                    op: op.name().to_string(),
                });
            }
        }
    }
    Ok(())
}

/// Checks, when compiling, that every kernel is called as it was compiled
/// (`abi`) and that
/// every kernel operand's buffer holds every element its layout reaches
/// from its base, and every library operand and result fits its home; the
/// function then touches nothing outside the caller's arrays, its scratch
/// and its constants (given arrays of the planned sizes, which the safe
/// callers check).
fn check_extents<T: Element>(p: &Program<'_, T>) -> Result<(), DriverError> {
    let homes = p.homes;
    let cap = |l: &Loc| -> Option<usize> {
        match *l {
            Loc::Input(k) => p.input_lens.get(k).copied(),
            Loc::Output(j) => p.output_lens.get(j).copied(),
            Loc::Temp(t) => homes.temps.get(t).copied(),
            Loc::Const(c) => homes.consts.get(c).map(Vec::len),
        }
    };
    let fits = |l: &Loc, need: Option<usize>| match (cap(l), need) {
        (Some(c), Some(n)) => n <= c,
        _ => false,
    };
    let bad = |what| Err(DriverError::Plan(what));
    let spec = |code: usize| {
        p.specs
            .get(code)
            .copied()
            .flatten()
            .ok_or(DriverError::Plan("a kernel without its spec"))
    };
    for seg in &homes.segments {
        let calls = homes.calls.get(seg.calls.clone());
        segment::check_extents::<T>(seg, calls, &cap, &spec)?;
    }
    for c in &homes.calls {
        match c {
            // checked block by block above
            Call::Kernel { rows: Some(_), .. } | Call::Library { rows: Some(_), .. } => {}
            Call::Kernel {
                code,
                inputs,
                outputs,
                reductions,
                layout,
                ..
            } => {
                abi::check::<T>(
                    spec(*code)?,
                    layout,
                    inputs.len(),
                    outputs.len(),
                    reductions,
                )?;
                let reach = abi::reach(layout, reductions);
                if inputs.iter().zip(&reach.inputs).any(|(l, &n)| !fits(l, n)) {
                    return bad("a kernel input reaches past its buffer");
                }
                if outputs.iter().any(|l| !fits(l, reach.output)) {
                    return bad("a kernel output reaches past its buffer");
                }
                for (r, &need) in reductions.iter().zip(&reach.reductions) {
                    if !fits(&r.loc, need) || !fits(&r.loc, Some(r.len)) {
                        return bad("a kernel reduction reaches past its buffer");
                    }
                }
            }
            Call::Library {
                inputs,
                output,
                shape,
                ..
            } => {
                for i in inputs {
                    if !fits(&i.loc, Some(i.shape.iter().product())) {
                        return bad("a library operand is larger than its buffer");
                    }
                }
                if !fits(output, Some(shape.iter().product())) {
                    return bad("a library result is larger than its buffer");
                }
            }
        }
    }
    for (j, l) in &homes.copies {
        if !fits(l, p.output_lens.get(*j).copied()) {
            return bad("a copied output is larger than its source");
        }
    }
    Ok(())
}

/// The driver's signature.
pub fn signature<M: Module + ?Sized>(module: &M) -> Signature {
    let ptr = module.target_config().pointer_type();
    let mut sig = module.make_signature();
    for _ in 0..3 {
        sig.params.push(AbiParam::new(ptr));
    }
    sig.returns.push(AbiParam::new(I32));
    sig
}

fn codegen(e: impl std::fmt::Display) -> DriverError {
    DriverError::Codegen(e.to_string())
}

/// Defines the constants of `homes` as read-only data named
/// `{prefix}const{c}`.
fn define_consts<M: Module, T: Element>(
    module: &mut M,
    homes: &Homes<T>,
    prefix: &str,
) -> Result<Vec<DataId>, DriverError> {
    let mut ids = Vec::with_capacity(homes.consts.len());
    for (c, values) in homes.consts.iter().enumerate() {
        let id = module
            .declare_data(&format!("{prefix}const{c}"), Linkage::Local, false, false)
            .map_err(codegen)?;
        let mut bytes = Vec::with_capacity(values.len().max(1) * std::mem::size_of::<T>());
        for v in values {
            if std::mem::size_of::<T>() == 8 {
                bytes.extend(v.widen().to_le_bytes());
            } else {
                bytes.extend((v.widen() as f32).to_le_bytes());
            }
        }
        if bytes.is_empty() {
            // a zero-sized object still needs an address
            bytes.resize(std::mem::size_of::<T>(), 0);
        }
        let mut d = DataDescription::new();
        d.define(bytes.into_boxed_slice());
        d.set_align(SCRATCH_ALIGN as u64);
        module.define_data(id, &d).map_err(codegen)?;
        ids.push(id);
    }
    Ok(ids)
}

/// Declares and defines the driver of `p` in `module`, named and linked
/// as `naming` says (with a pool, each segment's chunks in a function of
/// their own, run on it).
pub(crate) fn define<M: Module, T: Element>(
    module: &mut M,
    p: &Program<'_, T>,
    naming: &Naming<'_>,
    cfg: EmitConfig,
) -> Result<FuncId, DriverError> {
    check(p.homes)?;
    check_extents(p)?;
    if naming.pool.is_some() && !naming.library_gemm {
        return Err(DriverError::Plan("chunks on threads need the library GEMM"));
    }
    let size = std::mem::size_of::<T>();
    let layout = scratch_layout(p.homes, size, naming.pool.is_some())?;
    let consts = define_consts(module, p.homes, naming.prefix)?;
    let mut chunk_fns = Vec::new();
    if naming.pool.is_some() {
        for (i, seg) in p.homes.segments.iter().enumerate() {
            chunk_fns.push(define_chunk(
                module, p, naming, cfg, &layout, &consts, i, seg,
            )?);
        }
    }
    let sig = signature(module);
    let (id, mut ctx) = start(module, naming.name, naming.linkage, sig)?;
    let imports = function::declare(module, &mut ctx.func, p, &consts, naming, cfg, size)?;
    let kernel_refs = imports.kernels.clone();
    let chunk_refs: Vec<_> = chunk_fns
        .iter()
        .map(|&f| module.declare_func_in_func(f, &mut ctx.func))
        .collect();
    let config = module.target_config();
    let mut fctx = FunctionBuilderContext::new();
    {
        let mut b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
        let params = enter(&mut b);
        let frame = [params[0], params[1], params[2]];
        let mut em = function::frame(b, imports, p, &layout, frame, None, size, cfg);
        let scratch = frame[2];
        let partials = em.offset_bytes(scratch, layout.partials);
        let work = em.offset_bytes(scratch, layout.work);
        let slots = em.offset_bytes(scratch, layout.slots);
        let chunk0 = em.offset_bytes(scratch, layout.chunks);
        let calls = &p.homes.calls;
        let mut segments = p.homes.segments.iter().enumerate().peekable();
        let mut c = 0;
        while let Some(call) = calls.get(c) {
            if let Some((i, seg)) = segments.next_if(|(_, s)| s.calls.start == c) {
                let seg_calls = calls
                    .get(seg.calls.clone())
                    .ok_or(DriverError::Plan("segment calls"))?;
                match (chunk_refs.get(i), layout.areas.get(i)) {
                    (Some(&f), Some(area)) => em.segment_on_pool(seg, f, area, chunk0)?,
                    _ => em.segment(seg, seg_calls, &kernel_refs, partials, slots)?,
                }
                c = seg.calls.end.max(c + 1);
            } else {
                em.step(call, &kernel_refs, p.specs, partials, work)?;
                c += 1;
            }
        }
        for &(j, loc) in &p.homes.copies {
            let n = *p
                .output_lens
                .get(j)
                .ok_or(DriverError::Plan("copy target"))?;
            let (src, dst) = (em.at(loc), em.at(Loc::Output(j)));
            em.copy(&[n], src, &[1], dst, &[1]);
        }
        let ok = em.b.ins().iconst(I32, 0);
        em.b.ins().return_(&[ok]);
        em.b.seal_all_blocks();
        em.b.finalize(config);
    }
    module.define_function(id, &mut ctx).map_err(codegen)?;
    Ok(id)
}

/// Declares and defines the function of segment `seg` (the `index`-th)
/// that runs one chunk on its own area: `(inputs, outputs, scratch, chunk
/// area, chunk index)`, as `exec::parallel::ChunkFn`.
#[allow(clippy::too_many_arguments)]
fn define_chunk<M: Module, T: Element>(
    module: &mut M,
    p: &Program<'_, T>,
    naming: &Naming<'_>,
    cfg: EmitConfig,
    layout: &ScratchLayout,
    consts: &[DataId],
    index: usize,
    seg: &crate::exec::layout::RunSegment,
) -> Result<FuncId, DriverError> {
    let size = std::mem::size_of::<T>();
    let area = layout
        .areas
        .get(index)
        .ok_or(DriverError::Plan("chunk area"))?;
    let calls = p
        .homes
        .calls
        .get(seg.calls.clone())
        .ok_or(DriverError::Plan("segment calls"))?;
    let blocks = segment::Blocks::of(seg).ok_or(DriverError::Plan("segment blocks"))?;
    let ptr = module.target_config().pointer_type();
    let mut sig = module.make_signature();
    sig.params
        .extend(std::iter::repeat_n(AbiParam::new(ptr), 5));
    let name = format!("{}_chunk{index}", naming.name);
    let (id, mut ctx) = start(module, &name, Linkage::Local, sig)?;
    let imports = function::declare(module, &mut ctx.func, p, consts, naming, cfg, size)?;
    let kernel_refs = imports.kernels.clone();
    let config = module.target_config();
    let mut fctx = FunctionBuilderContext::new();
    {
        let mut b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
        let params = enter(&mut b);
        let (chunk, c) = (params[3], params[4]);
        let frame = [params[0], params[1], params[2]];
        let own = Some((chunk, area));
        let mut em = function::frame(b, imports, p, layout, frame, own, size, cfg);
        let partials = em.offset_bytes(chunk, area.partials);
        let slots = em.offset_bytes(chunk, area.slots);
        em.run_chunk(seg, &blocks, calls, &kernel_refs, partials, slots, c)?;
        em.b.ins().return_(&[]);
        em.b.seal_all_blocks();
        em.b.finalize(config);
    }
    module.define_function(id, &mut ctx).map_err(codegen)?;
    Ok(id)
}

/// What each code `run` returns means, by code.
pub const MESSAGES: [&str; 3] = [
    "no error",
    "argmax or argmin over an empty axis",
    "an index is not an integer or is out of range (gather, one_hot, sparse cross-entropy labels)",
];

/// The code of an arg-extreme over an empty axis.
const ERROR_EMPTY_AXIS: i32 = 1;

/// The code of a bad index.
pub(crate) const ERROR_INDEX: i32 = 2;

impl Em<'_> {
    /// Returns `code` from the driver here; what follows is unreachable.
    fn fail(&mut self, code: i32) {
        let c = self.b.ins().iconst(I32, i64::from(code));
        self.b.ins().return_(&[c]);
        let dead = self.b.create_block();
        self.b.switch_to_block(dead);
    }

    /// `base` moved by `bytes`.
    fn offset_bytes(
        &mut self,
        base: cranelift_codegen::ir::Value,
        bytes: usize,
    ) -> cranelift_codegen::ir::Value {
        self.b.ins().iadd_imm_s(base, bytes as i64)
    }

    /// Lowers one step of the plan.
    fn step(
        &mut self,
        call: &Call,
        kernels: &[cranelift_codegen::ir::FuncRef],
        specs: &[Option<&crate::graph::kernel::KernelSpec>],
        partials: cranelift_codegen::ir::Value,
        work: cranelift_codegen::ir::Value,
    ) -> Result<(), DriverError> {
        match call {
            Call::Kernel {
                code,
                inputs,
                outputs,
                reductions,
                layout,
                ops,
                ..
            } => {
                let f = *kernels
                    .get(*code)
                    .ok_or(DriverError::Plan("missing kernel"))?;
                let call = KernelCall {
                    f,
                    light: specs
                        .get(*code)
                        .copied()
                        .flatten()
                        .is_some_and(|s| s.is_light()),
                    work: *ops,
                    inputs: inputs.iter().map(|&l| self.at(l)).collect(),
                    outputs: outputs.iter().map(|&l| self.at(l)).collect(),
                    reductions,
                    sinks: reductions.iter().map(|r| self.at(r.loc)).collect(),
                    layout,
                };
                self.kernel(&call, partials);
            }
            Call::Library {
                op,
                inputs,
                output,
                shape,
                ..
            } => {
                let dst = self.at(*output);
                let len: usize = shape.iter().product();
                let lowering =
                    lowered(op, inputs, shape).ok_or_else(|| DriverError::Unsupported {
                        op: op.name().to_string(),
                    })?;
                let bases: Vec<_> = inputs.iter().map(|i| self.at(i.loc)).collect();
                match lowering {
                    Lowered::Product(p) => self.matmul(&p, bases[0], bases[1], dst, false),
                    Lowered::Moves(ms) => {
                        for mv in ms {
                            match mv {
                                moves::Move::Fill(v) => self.fill(dst, len, v),
                                moves::Move::Copy {
                                    input,
                                    src,
                                    dst: to,
                                } => {
                                    let s = self.offset(bases[input], src.off);
                                    let d = self.offset(dst, to.off);
                                    self.copy(&src.dims, s, &src.strides, d, &to.strides);
                                }
                            }
                        }
                    }
                    Lowered::Window(w) => self.windowed(&w, &bases, dst, work),
                    Lowered::Index(ix) => self.indexed(&ix, &bases, dst, ERROR_INDEX),
                    Lowered::Scan(sc) => {
                        if !self.scan(&sc, bases[0], dst) {
                            self.fail(ERROR_EMPTY_AXIS);
                        }
                    }
                    Lowered::Combine(c) => self.combine(&c, bases[0], dst, len),
                }
            }
        }
        Ok(())
    }
}

/// Declares function `name` of `module` with `sig`; returns it and a
/// context to build its body in.
fn start<M: Module>(
    module: &mut M,
    name: &str,
    linkage: Linkage,
    sig: Signature,
) -> Result<(FuncId, Context), DriverError> {
    let id = module
        .declare_function(name, linkage, &sig)
        .map_err(codegen)?;
    let mut ctx = Context::new();
    ctx.func.signature = sig;
    ctx.func.name = UserFuncName::user(0, id.as_u32());
    Ok((id, ctx))
}

/// Starts the body at its entry block; returns the function's parameters.
fn enter(b: &mut FunctionBuilder<'_>) -> Vec<cranelift_codegen::ir::Value> {
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.block_params(entry).to_vec()
}

/// Declares and defines `const char *name(int code)`: a static message for
/// any code `run` returns (and for any other).
pub(crate) fn define_error<M: Module>(
    module: &mut M,
    name: &str,
    linkage: Linkage,
    prefix: &str,
) -> Result<FuncId, DriverError> {
    let mut messages = MESSAGES.to_vec();
    messages.push("unknown error code");
    let mut ids = Vec::new();
    for (i, text) in messages.iter().enumerate() {
        let id = module
            .declare_data(&format!("{prefix}message{i}"), Linkage::Local, false, false)
            .map_err(codegen)?;
        let mut d = DataDescription::new();
        let mut bytes = text.as_bytes().to_vec();
        bytes.push(0);
        d.define(bytes.into_boxed_slice());
        module.define_data(id, &d).map_err(codegen)?;
        ids.push(id);
    }
    let ptr = module.target_config().pointer_type();
    let mut sig = module.make_signature();
    sig.params.push(AbiParam::new(I32));
    sig.returns.push(AbiParam::new(ptr));
    let (id, mut ctx) = start(module, name, linkage, sig)?;
    let gvs: Vec<_> = ids
        .iter()
        .map(|&d| module.declare_data_in_func(d, &mut ctx.func))
        .collect();
    let config = module.target_config();
    let mut fctx = FunctionBuilderContext::new();
    {
        let mut b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
        let code = enter(&mut b)[0];
        // the unknown code's message, replaced by the one whose code it is
        let mut r = b.ins().symbol_value(ptr, gvs[MESSAGES.len()]);
        for (i, &g) in gvs[..MESSAGES.len()].iter().enumerate() {
            let m = b.ins().symbol_value(ptr, g);
            let is = b.ins().icmp_imm_s(
                cranelift_codegen::ir::condcodes::IntCC::Equal,
                code,
                i as i64,
            );
            r = b.ins().select(is, m, r);
        }
        b.ins().return_(&[r]);
        b.seal_all_blocks();
        b.finalize(config);
    }
    module.define_function(id, &mut ctx).map_err(codegen)?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::layout::LibInput;

    fn copy_program(input: usize, output: usize) -> Homes<f32> {
        Homes {
            calls: vec![Call::Library {
                op: Op::Identity,
                inputs: vec![LibInput {
                    loc: Loc::Input(0),
                    shape: vec![input],
                    perm: None,
                }],
                output: Loc::Output(0),
                shape: vec![output],
                rows: None,
            }],
            consts: Vec::new(),
            temps: Vec::new(),
            copies: Vec::new(),
            segments: Vec::new(),
        }
    }

    #[test]
    fn operands_larger_than_their_buffers_are_refused() {
        let homes = copy_program(4, 4);
        let p = |input_lens: &'static [usize], output_lens: &'static [usize]| Program {
            homes: &homes,
            kernels: &[],
            specs: &[],
            input_slots: &[0],
            input_lens,
            output_lens,
        };
        assert!(check_extents(&p(&[4], &[4])).is_ok());
        assert!(check_extents(&p(&[3], &[4])).is_err());
        assert!(check_extents(&p(&[4], &[3])).is_err());
        // an input the plan does not know
        assert!(check_extents(&p(&[], &[4])).is_err());
    }

    #[test]
    fn scratch_regions_are_aligned_and_disjoint() {
        let mut homes = copy_program(4, 4);
        homes.temps = vec![3, 100, 1];
        let l = scratch_layout(&homes, 4, false).expect("a layout");
        assert_eq!(l.temps, vec![0, 64, 64 + 448]);
        assert!(l.temps.iter().all(|o| o % SCRATCH_ALIGN == 0));
        assert!(l.partials >= 64 + 448 + 64 && l.bytes >= l.partials);
        assert_eq!(l.bytes % SCRATCH_ALIGN, 0);
    }
}
