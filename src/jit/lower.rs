//! One kernel as one Cranelift function: a loop over rows, and in each row
//! an unrolled vector loop, a single-vector loop and a scalar tail.
//!
//! The function's ABI (see [`super::KernelFn`]):
//!
//! ```text
//! extern "C" fn(ptrs: *const *mut u8, strides: *const isize, rows: usize, inner: usize)
//! ```
//!
//! `ptrs` holds the inputs', the outputs' and the reductions' base
//! pointers; `strides` the
//! inputs' row strides in elements. Row `r` of input `k` starts at
//! `ptrs[k] + r * strides[k]` elements; outputs are contiguous rows of
//! `inner` elements.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{F32, F64};
use cranelift_codegen::ir::{AbiParam, BlockArg, Function, InstBuilder, MemFlagsData, Type, Value};
use cranelift_codegen::isa::TargetFrontendConfig;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};

use super::math::{emit_exp_nonpos, MathImports};
use super::ops;
use super::signs::Signs;
use crate::graph::kernel::{reduce_identity, InnerAccess, KInst, KernelSpec, ReduceKind};
use crate::graph::{BinaryOp, DType, ReduceOp, UnaryOp};

/// Vector iterations per step of the main loop: [`LIGHT_UNROLL`] for light
/// kernels, this for the others and for every kernel with per-row
/// reductions (one vector accumulator per copy: a documented summation
/// order).
const UNROLL: i64 = 2;

/// Vector iterations per step for light kernels without per-row reductions
/// ([`KernelSpec::is_light`]), whose loop overhead would otherwise show.
const LIGHT_UNROLL: i64 = 4;

/// Fills in the signature of a kernel function.
pub fn signature(func: &mut Function, ptr: Type) {
    for _ in 0..4 {
        func.signature.params.push(AbiParam::new(ptr));
    }
}

/// Per-row state: where each input's row starts (or its splatted value),
/// where outputs and column reductions go, and the row accumulators.
struct Row {
    in_ptr: Vec<Value>,
    splat: Vec<Option<Value>>,
    out_ptr: Vec<Value>,
    red_ptr: Vec<Value>,
}

/// Accumulators of one per-row reduction: one vector per unrolled copy
/// (`UNROLL`) and a scalar.
struct Acc {
    vec: Vec<Variable>,
    scalar: Variable,
}

/// Combines an accumulator with a value by the reduction's operation.
fn combine(b: &mut FunctionBuilder, m: &MathImports, op: ReduceOp, acc: Value, v: Value) -> Value {
    match op {
        ReduceOp::Max => ops::binary(b, m, BinaryOp::Maximum, acc, v),
        ReduceOp::Min => ops::binary(b, m, BinaryOp::Minimum, acc, v),
        // sums (means are sums the caller scales)
        _ => b.ins().fadd(acc, v),
    }
}

/// Emits the body once for values at byte offset `off + imm` of each row,
/// with values of type `ty` (a lane type or a vector type). The offset is a
/// loop variable in bytes and `imm` a constant, so every access folds into
/// one addressing mode.
#[allow(clippy::too_many_arguments)]
fn emit_body(
    b: &mut FunctionBuilder,
    m: &MathImports,
    spec: &KernelSpec,
    row: &Row,
    off: Value,
    imm: i32,
    ty: Type,
    accs: &[Option<Acc>],
    unroll: usize,
    signs: &Signs,
) {
    let flags = MemFlagsData::new().with_notrap();
    let mut vals: Vec<Value> = Vec::with_capacity(spec.body.len());
    for inst in &spec.body {
        let v = match *inst {
            KInst::Input(k) => match row.splat[k] {
                Some(s) if ty.is_vector() => b.ins().splat(ty, s),
                Some(s) => s,
                None => {
                    let addr = b.ins().iadd(row.in_ptr[k], off);
                    b.ins().load(ty, flags, addr, imm)
                }
            },
            KInst::Const(c) => ops::constant(b, ty, c),
            KInst::Unary(UnaryOp::Exp, a) if signs.nonpos(a) => {
                emit_exp_nonpos(b, m, vals[a.index()])
            }
            KInst::Unary(u, a) => ops::unary(b, m, u, vals[a.index()]),
            KInst::Binary(op, x, y) => ops::binary(b, m, op, vals[x.index()], vals[y.index()]),
            KInst::Select(c, x, y) => {
                ops::select(b, vals[c.index()], vals[x.index()], vals[y.index()])
            }
        };
        vals.push(v);
    }
    for (j, out) in spec.outputs.iter().enumerate() {
        let addr = b.ins().iadd(row.out_ptr[j], off);
        b.ins().store(flags, vals[out.index()], addr, imm);
    }
    for (j, red) in spec.reductions.iter().enumerate() {
        let v = vals[red.value.index()];
        match (red.kind, &accs[j]) {
            (ReduceKind::PerColumn, _) => {
                let addr = b.ins().iadd(row.red_ptr[j], off);
                let old = b.ins().load(ty, flags, addr, imm);
                let new = combine(b, m, red.op, old, v);
                b.ins().store(flags, new, addr, imm);
            }
            (ReduceKind::PerRow, Some(acc)) => {
                let var = if ty.is_vector() {
                    acc.vec[unroll]
                } else {
                    acc.scalar
                };
                let old = b.use_var(var);
                let new = combine(b, m, red.op, old, v);
                b.def_var(var, new);
            }
            (ReduceKind::PerRow, None) => {}
        }
    }
}

/// Vector iterations per step of the main loop.
fn unroll_of(spec: &KernelSpec) -> i64 {
    let per_row = spec.reductions.iter().any(|r| r.kind == ReduceKind::PerRow);
    if spec.is_light() && !per_row {
        LIGHT_UNROLL
    } else {
        UNROLL
    }
}

/// Builds the IR of `spec` into `func` (whose signature must be set).
///
/// Row pointers are carried by the row loop (so nothing row-dependent is
/// recomputed per vector), and each loop tests its condition at the
/// bottom: one taken branch per iteration.
pub fn build(
    func: &mut Function,
    fctx: &mut FunctionBuilderContext,
    spec: &KernelSpec,
    m: &MathImports,
    ptr: Type,
    config: TargetFrontendConfig,
) {
    let lane = match spec.dtype {
        DType::F32 => F32,
        DType::F64 => F64,
    };
    let vty = ops::vector_of(lane);
    let lanes = i64::from(vty.lane_count());
    let size = i64::from(lane.bytes());
    let unroll = unroll_of(spec);
    let signs = Signs::of(spec);
    let n_in = spec.inputs.len();
    let n_out = spec.outputs.len();
    let n_red = spec.reductions.len();
    // row-loop pointers: inputs, outputs, then per-row reductions
    let row_reds: Vec<usize> = (0..n_red)
        .filter(|&j| spec.reductions[j].kind == ReduceKind::PerRow)
        .collect();
    let n_ptrs = n_in + n_out + row_reds.len();

    let mut b = FunctionBuilder::new(func, fctx);
    let entry = b.create_block();
    let row_head = b.create_block();
    let row_body = b.create_block();
    let vec_body = b.create_block();
    let one_head = b.create_block();
    let one_body = b.create_block();
    let tail_head = b.create_block();
    let tail_body = b.create_block();
    let row_next = b.create_block();
    let exit = b.create_block();

    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    let params = b.block_params(entry).to_vec();
    let (ptrs, strides, rows, inner) = (params[0], params[1], params[2], params[3]);
    let flags = MemFlagsData::new().with_notrap();
    let mut bases = Vec::with_capacity(n_in + n_out + n_red);
    for k in 0..(n_in + n_out + n_red) {
        bases.push(
            b.ins()
                .load(ptr, flags, ptrs, (k as i32) * ptr.bytes() as i32),
        );
    }
    // how far each row pointer advances from one row to the next
    let mut steps = Vec::with_capacity(n_ptrs);
    for k in 0..n_in {
        let s = b
            .ins()
            .load(ptr, flags, strides, (k as i32) * ptr.bytes() as i32);
        steps.push(b.ins().imul_imm_s(s, size));
    }
    let row_bytes = b.ins().imul_imm_s(inner, size);
    let size_v = b.ins().iconst(ptr, size);
    steps.extend(std::iter::repeat_n(row_bytes, n_out));
    steps.extend(std::iter::repeat_n(size_v, row_reds.len()));
    let mut start: Vec<BlockArg> = vec![b.ins().iconst(ptr, 0).into()];
    start.extend(bases[..n_in + n_out].iter().map(|&v| BlockArg::from(v)));
    start.extend(
        row_reds
            .iter()
            .map(|&j| BlockArg::from(bases[n_in + n_out + j])),
    );
    // an empty row reads nothing, not even a splatted value
    let empty = b.ins().icmp_imm_s(IntCC::Equal, inner, 0);
    b.ins().brif(empty, exit, &[], row_head, &start);

    // for r in 0..rows, with the row's pointers
    b.switch_to_block(row_head);
    let r = b.append_block_param(row_head, ptr);
    let row_ptrs: Vec<Value> = (0..n_ptrs)
        .map(|_| b.append_block_param(row_head, ptr))
        .collect();
    let more = b.ins().icmp(IntCC::UnsignedLessThan, r, rows);
    b.ins().brif(more, row_body, &[], exit, &[]);

    b.switch_to_block(row_body);
    let mut row = Row {
        in_ptr: row_ptrs[..n_in].to_vec(),
        splat: Vec::with_capacity(n_in),
        out_ptr: row_ptrs[n_in..n_in + n_out].to_vec(),
        red_ptr: Vec::with_capacity(n_red),
    };
    for k in 0..n_in {
        row.splat.push(match spec.inputs[k] {
            InnerAccess::Splat => Some(b.ins().load(lane, flags, row.in_ptr[k], 0)),
            InnerAccess::Contiguous => None,
        });
    }
    // per-row results go to ptr[r]; per-column ones accumulate at ptr[c]
    let mut accs: Vec<Option<Acc>> = Vec::with_capacity(n_red);
    let mut next_row_red = n_in + n_out;
    for (j, red) in spec.reductions.iter().enumerate() {
        match red.kind {
            ReduceKind::PerColumn => {
                row.red_ptr.push(bases[n_in + n_out + j]);
                accs.push(None);
            }
            ReduceKind::PerRow => {
                row.red_ptr.push(row_ptrs[next_row_red]);
                next_row_red += 1;
                let id = reduce_identity(red.op).unwrap_or(0.0);
                let mut vec = Vec::new();
                for _ in 0..unroll {
                    let var = b.declare_var(vty);
                    let init = ops::constant(&mut b, vty, id);
                    b.def_var(var, init);
                    vec.push(var);
                }
                let scalar = b.declare_var(lane);
                let init = ops::constant(&mut b, lane, id);
                b.def_var(scalar, init);
                accs.push(Some(Acc { vec, scalar }));
            }
        }
    }

    // the loops count in bytes (`row_bytes` = inner * size), so an access
    // is row pointer + offset + constant: one addressing mode, no multiply
    let vec_bytes = lanes * size;
    let step = vec_bytes * unroll;
    let zero = b.ins().iconst(ptr, 0);
    let fits = b
        .ins()
        .icmp_imm_s(IntCC::UnsignedGreaterThanOrEqual, row_bytes, step);
    b.ins()
        .brif(fits, vec_body, &[zero.into()], one_head, &[zero.into()]);

    // unrolled vector loop: do { body } while off + step <= row_bytes
    b.switch_to_block(vec_body);
    let off = b.append_block_param(vec_body, ptr);
    for u in 0..unroll {
        let imm = (vec_bytes * u) as i32;
        emit_body(
            &mut b, m, spec, &row, off, imm, vty, &accs, u as usize, &signs,
        );
    }
    let next = b.ins().iadd_imm_s(off, step);
    let end = b.ins().iadd_imm_s(next, step);
    let again = b.ins().icmp(IntCC::UnsignedLessThanOrEqual, end, row_bytes);
    b.ins()
        .brif(again, vec_body, &[next.into()], one_head, &[next.into()]);

    // single vectors: while off + vec_bytes <= row_bytes
    b.switch_to_block(one_head);
    let off = b.append_block_param(one_head, ptr);
    let end = b.ins().iadd_imm_s(off, vec_bytes);
    let fits = b.ins().icmp(IntCC::UnsignedLessThanOrEqual, end, row_bytes);
    b.ins().brif(fits, one_body, &[], tail_head, &[off.into()]);
    b.switch_to_block(one_body);
    emit_body(&mut b, m, spec, &row, off, 0, vty, &accs, 0, &signs);
    b.ins().jump(one_head, &[end.into()]);

    // scalar tail: while off < row_bytes
    b.switch_to_block(tail_head);
    let off = b.append_block_param(tail_head, ptr);
    let more = b.ins().icmp(IntCC::UnsignedLessThan, off, row_bytes);
    b.ins().brif(more, tail_body, &[], row_next, &[]);
    b.switch_to_block(tail_body);
    emit_body(&mut b, m, spec, &row, off, 0, lane, &accs, 0, &signs);
    let next = b.ins().iadd_imm_s(off, size);
    b.ins().jump(tail_head, &[next.into()]);

    b.switch_to_block(row_next);
    // combine each row accumulator in a fixed order and store it
    for (j, red) in spec.reductions.iter().enumerate() {
        let Some(acc) = &accs[j] else { continue };
        let mut v = b.use_var(acc.vec[0]);
        for var in &acc.vec[1..] {
            let w = b.use_var(*var);
            v = combine(&mut b, m, red.op, v, w);
        }
        let mut total = b.ins().extractlane(v, 0);
        for l in 1..lanes {
            let x = b.ins().extractlane(v, l as u8);
            total = combine(&mut b, m, red.op, total, x);
        }
        let tail = b.use_var(acc.scalar);
        total = combine(&mut b, m, red.op, total, tail);
        b.ins().store(flags, total, row.red_ptr[j], 0);
    }
    let mut next: Vec<BlockArg> = vec![b.ins().iadd_imm_s(r, 1).into()];
    for (p, s) in row_ptrs.iter().zip(&steps) {
        next.push(b.ins().iadd(*p, *s).into());
    }
    b.ins().jump(row_head, &next);

    b.switch_to_block(exit);
    b.ins().return_(&[]);
    b.seal_all_blocks();
    b.finalize(config);
}
