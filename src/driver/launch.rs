//! Kernel calls: accumulated results start at their identity, the kernel runs once per
//! slab of its leading outer axes (a whole-tensor reduction over one long
//! row in rows of `REDUCE_BLOCK`, its per-row partials in scratch), then
//! the partials are combined in row order and means scaled.

use cranelift_codegen::ir::{FuncRef, InstBuilder, StackSlotData, StackSlotKind, Value};

use super::emit::{flags, Em};
use crate::exec::executable::REDUCE_BLOCK;
use crate::exec::layout::{BlockAccess, RedCall};
use crate::fuse::{Layout, ReduceClass};
use crate::graph::kernel::reduce_identity;
use crate::graph::{BinaryOp, ReduceOp};
use crate::jit::ops;

/// How a kernel's iteration space is cut into calls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shape {
    /// The leading outer axes, one call per element.
    pub lead: Vec<usize>,
    /// Rows per call.
    pub rows: usize,
    /// Elements per row.
    pub inner: usize,
    /// One long row cut into rows of `REDUCE_BLOCK` for whole reductions.
    pub reblock: bool,
    /// Elements of the last, shorter row of a re-blocked reduction.
    pub rem: usize,
}

impl Shape {
    /// The cut of `layout` (as `Typed::launch_rows` makes it).
    pub fn of(layout: &Layout, reds: &[RedCall]) -> Self {
        let any_all = reds.iter().any(|r| r.class == ReduceClass::All);
        let reblock = layout.outer_dims.is_empty() && any_all && layout.inner > REDUCE_BLOCK;
        let (lead, rows, inner) = if reblock {
            (Vec::new(), layout.inner / REDUCE_BLOCK, REDUCE_BLOCK)
        } else {
            match layout.outer_dims.split_last() {
                Some((last, lead)) => (lead.to_vec(), *last, layout.inner),
                None => (Vec::new(), 1, layout.inner),
            }
        };
        Shape {
            rem: if reblock {
                layout.inner % REDUCE_BLOCK
            } else {
                0
            },
            lead,
            rows,
            inner,
            reblock,
        }
    }

    /// Kernel rows over all calls: the per-row partials of each whole
    /// reduction.
    pub fn kernel_rows(&self) -> usize {
        self.lead.iter().product::<usize>() * self.rows + usize::from(self.rem > 0)
    }
}

/// A kernel call of the plan, with its operands' addresses.
pub struct KernelCall<'a> {
    /// The compiled kernel.
    pub f: FuncRef,
    /// Whether it is light (limited by memory): large outputs may stream.
    pub light: bool,
    /// Operations per element (what splitting it across threads shares).
    pub work: usize,
    /// Input addresses, in the kernel's order.
    pub inputs: Vec<Value>,
    /// Output addresses.
    pub outputs: Vec<Value>,
    /// Reductions computed in the loop.
    pub reductions: &'a [RedCall],
    /// Where each reduction goes: its home, a block's rows of it, or the
    /// partial result a block adds into.
    pub sinks: Vec<Value>,
    /// The iteration space.
    pub layout: &'a Layout,
}

/// A kernel call handed to the runtime's launch: the routine, the pool
/// (0: none), where its operands, row strides and steps are staged, and
/// how it may be split.
struct Launched {
    routine: FuncRef,
    pool: i64,
    f: FuncRef,
    slot_ptrs: cranelift_codegen::ir::StackSlot,
    slot_strides: cranelift_codegen::ir::StackSlot,
    steps: cranelift_codegen::ir::StackSlot,
    n_in: usize,
    work: usize,
    flags: usize,
}

/// What a whole-tensor reduction's total does with its destination.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Total {
    /// Stores it (the call covers the whole tensor).
    Store,
    /// Combines it with the partial result there (a block of rows).
    Combine,
}

impl Em<'_> {
    /// Emits one kernel call over its whole iteration space; `partials` is
    /// scratch for the per-row partials of its whole reductions
    /// (`Shape::kernel_rows` elements each).
    pub fn kernel(&mut self, call: &KernelCall<'_>, partials: Value) {
        let (reds, layout) = (call.reductions, call.layout);
        for (r, &at) in reds.iter().zip(&call.sinks) {
            if r.class == ReduceClass::PerColumn || layout.is_empty() {
                self.fill(at, r.len, r.identity);
            }
        }
        if !layout.is_empty() {
            self.kernel_loops(call, partials, Total::Store);
        }
        for (r, &at) in reds.iter().zip(&call.sinks) {
            if let Some(scale) = r.scale {
                // every element of the destination
                self.scale(at, r.len, scale);
            }
        }
    }

    /// Emits one kernel call on a block of `n` rows of a row-blocked
    /// segment: a reduction read by rows (`access`)
    /// starts this block's rows at its identity and is scaled there; one
    /// accumulated over the batch adds into its partial result.
    pub fn kernel_block(
        &mut self,
        call: &KernelCall<'_>,
        partials: Value,
        access: &[BlockAccess],
        n: usize,
    ) {
        let reds = call.reductions;
        for ((r, &at), a) in reds.iter().zip(&call.sinks).zip(access) {
            if let (ReduceClass::PerColumn, BlockAccess::Rows { width, .. }) = (r.class, *a) {
                self.fill(at, width * n, r.identity);
            }
        }
        self.kernel_loops(call, partials, Total::Combine);
        for ((r, &at), a) in reds.iter().zip(&call.sinks).zip(access) {
            if let (Some(scale), BlockAccess::Rows { width, .. }) = (r.scale, *a) {
                self.scale(at, width * n, scale);
            }
        }
    }

    /// Multiplies `len` elements from `at` by `scale`.
    pub fn scale(&mut self, at: Value, len: usize, scale: f64) {
        let lane = self.lane;
        let k = ops::constant(&mut self.b, lane, scale);
        self.nest(&[len], &[at], &[vec![1]], &mut |e, p| {
            let v = e.b.ins().load(lane, flags(), p[0], 0);
            let s = e.b.ins().fmul(v, k);
            e.b.ins().store(flags(), s, p[0], 0);
        });
    }

    /// `op` over `a` then `b`, folded from its identity as
    /// `ReduceOp::eval` folds (so a `-0` sum comes out as the interpreter's).
    pub fn combine2(&mut self, op: ReduceOp, a: Value, b: Value) -> Value {
        let init = reduce_identity(op).unwrap_or(0.0);
        let lane = self.lane;
        let mut acc = ops::constant(&mut self.b, lane, init);
        for v in [a, b] {
            acc = self.combine_one(op, acc, v);
        }
        acc
    }

    fn combine_one(&mut self, op: ReduceOp, a: Value, v: Value) -> Value {
        match op {
            ReduceOp::Max => ops::binary(&mut self.b, &self.m, BinaryOp::Maximum, a, v),
            ReduceOp::Min => ops::binary(&mut self.b, &self.m, BinaryOp::Minimum, a, v),
            _ => self.b.ins().fadd(a, v),
        }
    }

    fn kernel_loops(&mut self, call: &KernelCall<'_>, partials: Value, total: Total) {
        let (f, inputs, outputs) = (call.f, &call.inputs, &call.outputs);
        let (reds, layout) = (call.reductions, call.layout);
        let shape = Shape::of(layout, reds);
        let kernel_rows = shape.kernel_rows();
        let (n_in, n_out) = (inputs.len(), outputs.len());
        let ptr = self.ptr;
        let pb = ptr.bytes() as i32;
        // each whole reduction's partials, starting at the identity
        let mut part = Vec::with_capacity(reds.len());
        let mut next = 0;
        for r in reds {
            if r.class == ReduceClass::All {
                let at = self.offset(partials, next as isize);
                self.fill(at, kernel_rows, r.identity);
                part.push(Some(at));
                next += kernel_rows;
            } else {
                part.push(None);
            }
        }
        let n_ptrs = n_in + n_out + reds.len();
        let slot_ptrs = self.b.create_sized_stack_slot(StackSlotData::new(
            StackSlotKind::ExplicitSlot,
            (n_ptrs.max(1) as u32) * pb as u32,
            3,
        ));
        let slot_strides = self.b.create_sized_stack_slot(StackSlotData::new(
            StackSlotKind::ExplicitSlot,
            (n_in.max(1) as u32) * pb as u32,
            3,
        ));
        // one row stride per input
        let mut in_rows = Vec::with_capacity(n_in);
        for k in 0..n_in {
            let contiguous = layout.input_inner[k] != 0;
            let row = if shape.reblock {
                if contiguous {
                    REDUCE_BLOCK as isize
                } else {
                    0
                }
            } else {
                layout.input_strides[k].last().copied().unwrap_or(0)
            };
            in_rows.push(row);
            let v = self.b.ins().iconst(ptr, row as i64);
            self.b
                .ins()
                .stack_store(ptr, v, slot_strides, k as i32 * pb);
        }
        // bases, and their strides along the leading axes
        let mut bases = Vec::with_capacity(n_ptrs);
        let mut strides: Vec<Vec<isize>> = Vec::with_capacity(n_ptrs);
        let lead_len = shape.lead.len();
        let lead_of = |s: &[isize]| s[..lead_len.min(s.len())].to_vec();
        for (k, &at) in inputs.iter().enumerate() {
            bases.push(at);
            strides.push(lead_of(&layout.input_strides[k]));
        }
        for &at in outputs {
            bases.push(at);
            strides.push(lead_of(&layout.output_strides));
        }
        for (j, &pj) in part.iter().enumerate() {
            match pj {
                Some(p) => {
                    bases.push(p);
                    // slab `s` writes its rows' partials from `s * rows`
                    let mut s = vec![0isize; lead_len];
                    let mut acc = shape.rows as isize;
                    for d in (0..lead_len).rev() {
                        s[d] = acc;
                        acc *= shape.lead[d] as isize;
                    }
                    strides.push(s);
                }
                None => {
                    bases.push(call.sinks[j]);
                    strides.push(lead_of(&layout.reduce_strides[j]));
                }
            }
        }
        let (rows, inner) = (shape.rows as i64, shape.inner as i64);
        // each slab through the streaming routine when its outputs are large,
        // split across the pool when the function runs on one
        let streams = crate::exec::stream::CAN_STREAM
            && crate::exec::stream::streams(
                call.light,
                !reds.is_empty(),
                n_out,
                shape.rows.saturating_mul(shape.inner),
                self.size as usize,
            );
        let split = self
            .parallel
            .filter(|_| total == Total::Store)
            .filter(|_| !reds.iter().any(|r| r.class == ReduceClass::PerColumn));
        let (lead, steps) = (shape.lead.clone(), (in_rows.as_slice(), shape.inner));
        let runtime = self
            .launch
            .filter(|_| split.is_some() || (self.streaming && streams));
        match runtime {
            Some(routine) => {
                let steps = self.operand_steps(steps, layout, reds, n_out);
                let mut flags = 0;
                if streams && self.streaming {
                    flags |= crate::exec::parallel::STREAM;
                }
                if reds.is_empty() {
                    flags |= crate::exec::parallel::SPLIT_COLUMNS;
                }
                let launch = Launched {
                    routine,
                    pool: split.map_or(0, |p| p.pool),
                    f,
                    slot_ptrs,
                    slot_strides,
                    steps,
                    n_in,
                    work: call.work,
                    flags,
                };
                self.nest(&lead, &bases, &strides, &mut |e, p| {
                    e.call_runtime(&launch, p, rows, inner);
                });
            }
            None => self.nest(&lead, &bases, &strides, &mut |e, p| {
                e.call_kernel(f, p, slot_ptrs, slot_strides, rows, inner);
            }),
        }
        if shape.rem > 0 {
            // the last, shorter row of a re-blocked reduction
            let start = (shape.rows * REDUCE_BLOCK) as isize;
            let mut p = Vec::with_capacity(n_ptrs);
            for (k, &base) in bases.iter().enumerate() {
                let off = if k < n_in {
                    start * isize::from(layout.input_inner[k] != 0)
                } else if k < n_in + n_out {
                    start
                } else {
                    match reds[k - n_in - n_out].class {
                        ReduceClass::PerColumn => 0,
                        _ => shape.rows as isize,
                    }
                };
                p.push(self.offset(base, off));
            }
            self.call_kernel(f, &p, slot_ptrs, slot_strides, 1, shape.rem as i64);
        }
        // whole reductions: the partials combined in row order
        for (j, r) in reds.iter().enumerate() {
            let Some(p) = part[j] else { continue };
            let lane = self.lane;
            let init = reduce_identity(r.op).unwrap_or(0.0);
            let acc = self.b.declare_var(lane);
            let v0 = ops::constant(&mut self.b, lane, init);
            self.b.def_var(acc, v0);
            let op = r.op;
            self.nest(&[kernel_rows], &[p], &[vec![1]], &mut |e, q| {
                let v = e.b.ins().load(lane, flags(), q[0], 0);
                let a = e.b.use_var(acc);
                let c = e.combine_one(op, a, v);
                e.b.def_var(acc, c);
            });
            let mut value = self.b.use_var(acc);
            let at = call.sinks[j];
            if total == Total::Combine {
                let old = self.b.ins().load(lane, flags(), at, 0);
                value = self.combine2(op, old, value);
            }
            self.b.ins().store(flags(), value, at, 0);
        }
    }

    /// A stack slot of each operand's step per row, then per column (in
    /// elements), as the runtime's launch steps them: inputs by their row
    /// strides (`in_rows`) and contiguity, outputs as contiguous rows of
    /// `inner`, a reduction's per-row results (or partials) one per row, a
    /// per-column one along the columns.
    fn operand_steps(
        &mut self,
        (in_rows, inner): (&[isize], usize),
        layout: &Layout,
        reds: &[RedCall],
        n_out: usize,
    ) -> cranelift_codegen::ir::StackSlot {
        let ptr = self.ptr;
        let pb = ptr.bytes() as i32;
        let n_in = in_rows.len();
        let n = n_in + n_out + reds.len();
        let slot = self.b.create_sized_stack_slot(StackSlotData::new(
            StackSlotKind::ExplicitSlot,
            (2 * n.max(1)) as u32 * pb as u32,
            3,
        ));
        for k in 0..n {
            let (row, col) = if k < n_in {
                (in_rows[k], isize::from(layout.input_inner[k] != 0))
            } else if k < n_in + n_out {
                (inner as isize, 1)
            } else {
                match reds[k - n_in - n_out].class {
                    ReduceClass::PerColumn => (0, 1),
                    _ => (1, 0),
                }
            };
            for (i, v) in [(k, row), (n + k, col)] {
                let v = self.b.ins().iconst(ptr, v as i64);
                self.b.ins().stack_store(ptr, v, slot, i as i32 * pb);
            }
        }
        slot
    }

    /// Stores the operand addresses in `slot` and returns its address.
    fn stage_ptrs(&mut self, ptrs: &[Value], slot: cranelift_codegen::ir::StackSlot) -> Value {
        let ptr = self.ptr;
        let pb = ptr.bytes() as i32;
        for (k, &p) in ptrs.iter().enumerate() {
            self.b.ins().stack_store(ptr, p, slot, k as i32 * pb);
        }
        self.b.ins().stack_addr(ptr, slot, 0)
    }

    /// Runs the kernel on `rows × inner` with the operands at `ptrs`
    /// through the runtime's launch (`exec::parallel::gradjit_launch`:
    /// split across the pool, streamed, or both).
    fn call_runtime(&mut self, l: &Launched, ptrs: &[Value], rows: i64, inner: i64) {
        let ptr = self.ptr;
        let a = self.stage_ptrs(ptrs, l.slot_ptrs);
        let code = self.b.ins().func_addr(ptr, l.f);
        let st = self.b.ins().stack_addr(ptr, l.slot_strides, 0);
        let sp = self.b.ins().stack_addr(ptr, l.steps, 0);
        let k = |e: &mut Self, v: i64| e.b.ins().iconst(ptr, v);
        let args = [
            k(self, l.pool),
            code,
            a,
            st,
            sp,
            k(self, ptrs.len() as i64),
            k(self, l.n_in as i64),
            k(self, self.size),
            k(self, l.work as i64),
            k(self, rows),
            k(self, inner),
            k(self, l.flags as i64),
        ];
        self.b.ins().call(l.routine, &args);
    }

    /// Stores the operand addresses and calls the kernel on `rows × inner`.
    fn call_kernel(
        &mut self,
        f: FuncRef,
        ptrs: &[Value],
        slot_ptrs: cranelift_codegen::ir::StackSlot,
        slot_strides: cranelift_codegen::ir::StackSlot,
        rows: i64,
        inner: i64,
    ) {
        let ptr = self.ptr;
        let a = self.stage_ptrs(ptrs, slot_ptrs);
        let s = self.b.ins().stack_addr(ptr, slot_strides, 0);
        let r = self.b.ins().iconst(ptr, rows);
        let i = self.b.ins().iconst(ptr, inner);
        self.b.ins().call(f, &[a, s, r, i]);
    }
}
