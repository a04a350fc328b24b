//! Row-blocked segments (`exec::rows`) in the driver: the segment's calls
//! run block of rows by block of rows, its blocks grouped into the chunks
//! the plan fixed, each chunk's results over the batch summed into partial
//! results from their identity and combined into the destination in chunk
//! order, whether the chunks ran one after another or at once on
//! threads (`exec::parallel`). So a result has the same bits whichever runs it, on any
//! number of threads.
//!
//! Chunks and blocks are run-time loops (chunk `c` of `C` over `B` blocks
//! starts at block `c·⌊B/C⌋ + min(c, B mod C)`, as the plan splits them),
//! so the code of a block is emitted once per run of blocks of one height.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{FuncRef, InstBuilder, Value};

use super::emit::{flags, Em};
use super::gemm::Product;
use super::launch::KernelCall;
use super::moves::View;
use super::DriverError;
use crate::exec::layout::{BlockAccess, Call, LibInput, Loc, RunSegment};

/// Consecutive blocks of one height.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Run {
    /// Index of its first block.
    pub first: usize,
    /// Blocks in it.
    pub count: usize,
    /// Rows per block.
    pub rows: usize,
    /// Its first row.
    pub row0: usize,
}

/// A segment's blocks, as runs of one height each (the plan cuts a batch
/// into blocks one row higher first, then the rest).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Blocks {
    /// The runs, in order.
    pub runs: Vec<Run>,
}

impl Blocks {
    /// The blocks of `seg`, if they are consecutive rows from row 0, cut
    /// into chunks as `exec::executable::split` cuts them.
    pub fn of(seg: &RunSegment) -> Option<Self> {
        let mut runs: Vec<Run> = Vec::new();
        let mut next = 0;
        for (i, &(r0, n)) in seg.blocks.iter().enumerate() {
            if r0 != next || n == 0 {
                return None;
            }
            next += n;
            match runs.last_mut() {
                Some(r) if r.rows == n => r.count += 1,
                _ => runs.push(Run {
                    first: i,
                    count: 1,
                    rows: n,
                    row0: r0,
                }),
            }
        }
        let b = seg.blocks.len();
        let c = seg.chunks.len();
        if c == 0 || c > b {
            return None;
        }
        let (base, extra) = (b / c, b % c);
        let split = seg.chunks.iter().enumerate().all(|(i, r)| {
            let start = i * base + i.min(extra);
            *r == (start..start + base + usize::from(i < extra))
        });
        split.then_some(Blocks { runs })
    }

    /// Every block height with the first row of the last block of it
    /// (the block reaching furthest into its buffers).
    pub fn heights(&self) -> Vec<(usize, usize)> {
        self.runs
            .iter()
            .map(|r| (r.rows, r.row0 + (r.count - 1) * r.rows))
            .collect()
    }
}

/// Checks that every block of `seg` keeps its operands inside their
/// buffers (`cap`: a home's elements) and calls its kernels as their specs
/// (`spec`, by code) were compiled, as `check_extents` does for whole
/// calls: a block's rows end inside a batch-sized home, a block-sized home
/// holds a block, a partial result holds what a block adds into it.
pub(super) fn check_extents<'s, T: crate::value::Element>(
    seg: &RunSegment,
    calls: Option<&[Call]>,
    cap: &dyn Fn(&Loc) -> Option<usize>,
    spec: &dyn Fn(usize) -> Result<&'s crate::graph::kernel::KernelSpec, DriverError>,
) -> Result<(), DriverError> {
    let bad = |what| Err(DriverError::Plan(what));
    let (Some(blocks), Some(calls)) = (Blocks::of(seg), calls) else {
        return bad("segment blocks");
    };
    let slot_len = |slot: usize| seg.accumulators.get(slot).map(|a| a.len.max(1));
    // what `access` of `loc` holds for a block from row `r0`, past the
    // elements before the block
    let room = |loc: &Loc, access: BlockAccess, r0: usize| -> Option<usize> {
        match access {
            BlockAccess::Accumulate { slot } => slot_len(slot),
            a => cap(loc)?.checked_sub(a.offset(r0)),
        }
    };
    let fits = |loc: &Loc, a: BlockAccess, r0: usize, need: Option<usize>| matches!((room(loc, a, r0), need), (Some(r), Some(n)) if n <= r);
    for a in &seg.accumulators {
        if cap(&a.loc).is_none_or(|c| a.len > c) {
            return bad("an accumulated result is larger than its buffer");
        }
    }
    for (n, r0) in blocks.heights() {
        for call in calls {
            match call {
                Call::Kernel {
                    code,
                    inputs,
                    outputs,
                    reductions,
                    rows: Some(rows),
                    ..
                } => {
                    let Some(l) = rows.layouts.iter().find(|(h, _)| *h == n).map(|(_, l)| l) else {
                        return bad("block layout");
                    };
                    let s = spec(*code)?;
                    super::abi::check::<T>(s, l, inputs.len(), outputs.len(), reductions)?;
                    // `abi::check` matched every stride list to the operands
                    if rows.inputs.len() != inputs.len()
                        || rows.outputs.len() != outputs.len() + reductions.len()
                    {
                        return bad("block layout");
                    }
                    let reach = super::abi::reach(l, reductions);
                    for ((loc, &a), &need) in inputs.iter().zip(&rows.inputs).zip(&reach.inputs) {
                        if !fits(loc, a, r0, need) {
                            return bad("a block's kernel input reaches past its buffer");
                        }
                    }
                    for (loc, &a) in outputs.iter().zip(&rows.outputs) {
                        if !fits(loc, a, r0, reach.output) {
                            return bad("a block's kernel output reaches past its buffer");
                        }
                    }
                    let access = &rows.outputs[outputs.len()..];
                    for ((r, &a), &need) in reductions.iter().zip(access).zip(&reach.reductions) {
                        let filled = match a {
                            BlockAccess::Rows { width, .. } => width.checked_mul(n),
                            _ => Some(0),
                        };
                        if a == BlockAccess::Whole
                            || !fits(&r.loc, a, r0, need)
                            || !fits(&r.loc, a, r0, filled)
                        {
                            return bad("a block's kernel reduction reaches past its buffer");
                        }
                    }
                }
                Call::Library {
                    inputs,
                    output,
                    shape,
                    rows: Some(rows),
                    ..
                } => {
                    let len = |dims: &[usize], a: BlockAccess| -> Option<usize> {
                        let rest: usize = dims.iter().skip(1).product();
                        match a {
                            BlockAccess::Rows { .. } => rest.checked_mul(n),
                            _ => Some(dims.iter().product()),
                        }
                    };
                    if rows.inputs.len() != inputs.len() || rows.outputs.len() != 1 {
                        return bad("block operand count");
                    }
                    for (i, &a) in inputs.iter().zip(&rows.inputs) {
                        if !fits(&i.loc, a, r0, len(&i.shape, a)) {
                            return bad("a block's library operand reaches past its buffer");
                        }
                    }
                    let a = rows.outputs[0];
                    if a == BlockAccess::Whole || !fits(output, a, r0, len(shape, a)) {
                        return bad("a block's library result reaches past its buffer");
                    }
                }
                _ => return bad("segment call without rows"),
            }
        }
    }
    Ok(())
}

/// Each accumulator's offset (in elements) in the segment's partials.
pub(super) fn slot_offsets(seg: &RunSegment, size: usize) -> Option<(Vec<usize>, usize)> {
    let lines = super::SCRATCH_ALIGN / size.max(1);
    let mut at = 0usize;
    let mut offsets = Vec::with_capacity(seg.accumulators.len());
    for a in &seg.accumulators {
        offsets.push(at);
        at = at
            .checked_add(a.len.max(1))?
            .checked_next_multiple_of(lines)?;
    }
    Some((offsets, at))
}

impl Em<'_> {
    /// Emits segment `seg` of the plan on the calling thread; `calls` are
    /// its calls, `partials` the kernels' per-row scratch and `slots` the
    /// segment's partial results (see [`slot_offsets`]).
    pub(super) fn segment(
        &mut self,
        seg: &RunSegment,
        calls: &[Call],
        kernels: &[FuncRef],
        partials: Value,
        slots: Value,
    ) -> Result<(), DriverError> {
        let blocks = Blocks::of(seg).ok_or(DriverError::Plan("segment blocks"))?;
        let mut failed = None;
        self.for_count(seg.chunks.len(), &mut |e, c| {
            if let Err(err) = e.run_chunk(seg, &blocks, calls, kernels, partials, slots, c) {
                failed.get_or_insert(err);
            }
            e.merge(seg, slots, c);
        });
        if let Some(err) = failed {
            return Err(err);
        }
        self.scale_accumulated(seg);
        Ok(())
    }

    /// Emits segment `seg` with its chunks on the thread pool: each runs
    /// `chunk_fn` (see `define_chunk`) on its own `area`, from `chunk0`; the
    /// chunks' partial results are then combined in chunk order.
    pub(super) fn segment_on_pool(
        &mut self,
        seg: &RunSegment,
        chunk_fn: FuncRef,
        area: &super::ChunkArea,
        chunk0: Value,
    ) -> Result<(), DriverError> {
        let par = self
            .parallel
            .ok_or(DriverError::Plan("no thread pool to run chunks on"))?;
        let ptr = self.ptr;
        let k = |e: &mut Self, v: i64| e.b.ins().iconst(ptr, v);
        let f = self.b.ins().func_addr(ptr, chunk_fn);
        let [ins, outs, scratch] = self.params;
        let args = [
            k(self, par.pool),
            f,
            ins,
            outs,
            scratch,
            chunk0,
            k(self, area.stride as i64),
            k(self, seg.chunks.len() as i64),
            k(self, seg.work as i64),
        ];
        self.b.ins().call(par.chunks, &args);
        let first = self.b.ins().iadd_imm_s(chunk0, area.slots as i64);
        self.for_count(seg.chunks.len(), &mut |e, c| {
            let off = e.b.ins().imul_imm_s(c, area.stride as i64);
            let slots = e.b.ins().iadd(first, off);
            e.merge(seg, slots, c);
        });
        self.scale_accumulated(seg);
        Ok(())
    }

    /// Chunk `c` (a run-time value) of `seg`: its partial results at
    /// `slots` start at their identity, then its blocks run.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn run_chunk(
        &mut self,
        seg: &RunSegment,
        blocks: &Blocks,
        calls: &[Call],
        kernels: &[FuncRef],
        partials: Value,
        slots: Value,
        c: Value,
    ) -> Result<(), DriverError> {
        let (offsets, _) =
            slot_offsets(seg, self.size as usize).ok_or(DriverError::Plan("segment partials"))?;
        let slot_at: Vec<Value> = offsets
            .iter()
            .map(|&o| self.offset(slots, o as isize))
            .collect();
        for (a, &p) in seg.accumulators.iter().zip(&slot_at) {
            self.fill(p, a.len.max(1), a.identity);
        }
        let ptr = self.ptr;
        let chunks = seg.chunks.len();
        let nb = seg.blocks.len();
        let (base, extra) = (nb / chunks.max(1), nb % chunks.max(1));
        // this chunk's blocks: [first, first + len)
        let extra_v = self.b.ins().iconst(ptr, extra as i64);
        let before = self.b.ins().icmp(IntCC::UnsignedLessThan, c, extra_v);
        let lo = self.b.ins().select(before, c, extra_v);
        let first = self.b.ins().imul_imm_s(c, base as i64);
        let first = self.b.ins().iadd(first, lo);
        let one = self.b.ins().iconst(ptr, 1);
        let zero = self.b.ins().iconst(ptr, 0);
        let plus = self.b.ins().select(before, one, zero);
        let len = self.b.ins().iadd_imm_s(plus, base as i64);
        let end = self.b.ins().iadd(first, len);
        let mut failed = None;
        for run in &blocks.runs {
            // the chunk's blocks of this run: [max(first, run), min(end, run end))
            let r_first = self.b.ins().iconst(ptr, run.first as i64);
            let r_end = self.b.ins().iconst(ptr, (run.first + run.count) as i64);
            let lo = self.b.ins().umax(first, r_first);
            let hi = self.b.ins().umin(end, r_end);
            self.for_range(lo, hi, &mut |e, b| {
                let k = e.b.ins().iadd_imm_s(b, -(run.first as i64));
                let r0 = e.b.ins().imul_imm_s(k, run.rows as i64);
                let r0 = e.b.ins().iadd_imm_s(r0, run.row0 as i64);
                if let Err(err) = e.run_block(calls, kernels, partials, &slot_at, r0, run.rows) {
                    failed.get_or_insert(err);
                }
            });
        }
        match failed {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }

    /// Chunk `c`'s partial results at `slots` into their destinations: the
    /// first chunk's copied, each later one's combined.
    fn merge(&mut self, seg: &RunSegment, slots: Value, c: Value) {
        let Some((offsets, _)) = slot_offsets(seg, self.size as usize) else {
            return;
        };
        let is_first = self.b.ins().icmp_imm_s(IntCC::Equal, c, 0);
        let copy = self.b.create_block();
        let combine = self.b.create_block();
        let after = self.b.create_block();
        self.b.ins().brif(is_first, copy, &[], combine, &[]);
        self.b.switch_to_block(copy);
        for (a, &o) in seg.accumulators.iter().zip(&offsets) {
            let (d, p) = (self.at(a.loc), self.offset(slots, o as isize));
            self.copy(&[a.len], p, &[1], d, &[1]);
        }
        self.b.ins().jump(after, &[]);
        self.b.switch_to_block(combine);
        for (a, &o) in seg.accumulators.iter().zip(&offsets) {
            let (d, p) = (self.at(a.loc), self.offset(slots, o as isize));
            let (lane, op) = (self.lane, a.op);
            self.nest(&[a.len], &[d, p], &[vec![1], vec![1]], &mut |e, q| {
                let x = e.b.ins().load(lane, flags(), q[0], 0);
                let y = e.b.ins().load(lane, flags(), q[1], 0);
                let v = e.combine2(op, x, y);
                e.b.ins().store(flags(), v, q[0], 0);
            });
        }
        self.b.ins().jump(after, &[]);
        self.b.switch_to_block(after);
    }

    /// Means of the segment's accumulated results: scaled once combined.
    fn scale_accumulated(&mut self, seg: &RunSegment) {
        for a in &seg.accumulators {
            if let Some(scale) = a.scale {
                let d = self.at(a.loc);
                self.scale(d, a.len, scale);
            }
        }
    }

    /// The address of a home at `at` for the block from row `r0` (a
    /// run-time value): its rows, or the partial result `slots` holds.
    fn block_at(
        &mut self,
        at: Value,
        access: BlockAccess,
        r0: Value,
        slots: &[Value],
    ) -> Result<Value, DriverError> {
        Ok(match access {
            BlockAccess::Rows {
                width,
                local: false,
            } => {
                let bytes = self.b.ins().imul_imm_s(r0, width as i64 * self.size);
                self.b.ins().iadd(at, bytes)
            }
            BlockAccess::Accumulate { slot } => *slots
                .get(slot)
                .ok_or(DriverError::Plan("segment partials"))?,
            _ => at,
        })
    }

    /// Every call of a segment (`calls`) on the block of `n` rows from row
    /// `r0`.
    #[allow(clippy::too_many_arguments)]
    fn run_block(
        &mut self,
        calls: &[Call],
        kernels: &[FuncRef],
        partials: Value,
        slots: &[Value],
        r0: Value,
        n: usize,
    ) -> Result<(), DriverError> {
        let bad = DriverError::Plan;
        for call in calls {
            match call {
                Call::Kernel {
                    code,
                    inputs,
                    outputs,
                    reductions,
                    rows: Some(rows),
                    ..
                } => {
                    let f = *kernels.get(*code).ok_or(bad("missing kernel"))?;
                    let layout = rows
                        .layouts
                        .iter()
                        .find(|(h, _)| *h == n)
                        .map(|(_, l)| l)
                        .ok_or(bad("block layout"))?;
                    if rows.inputs.len() != inputs.len()
                        || rows.outputs.len() != outputs.len() + reductions.len()
                    {
                        return Err(bad("block operand count"));
                    }
                    let mut ins = Vec::with_capacity(inputs.len());
                    for (&l, &a) in inputs.iter().zip(&rows.inputs) {
                        let at = self.at(l);
                        ins.push(self.block_at(at, a, r0, slots)?);
                    }
                    let mut outs = Vec::with_capacity(outputs.len());
                    for (&l, &a) in outputs.iter().zip(&rows.outputs) {
                        let at = self.at(l);
                        outs.push(self.block_at(at, a, r0, slots)?);
                    }
                    let access = &rows.outputs[outputs.len()..];
                    let mut sinks = Vec::with_capacity(reductions.len());
                    for (r, &a) in reductions.iter().zip(access) {
                        if a == BlockAccess::Whole {
                            return Err(bad("reduction read whole"));
                        }
                        let at = self.at(r.loc);
                        sinks.push(self.block_at(at, a, r0, slots)?);
                    }
                    let call = KernelCall {
                        f,
                        // blocks fit in cache: never streamed, never split
                        light: false,
                        work: 0,
                        inputs: ins,
                        outputs: outs,
                        reductions,
                        sinks,
                        layout,
                    };
                    self.kernel_block(&call, partials, access, n);
                }
                Call::Library {
                    inputs,
                    output,
                    shape,
                    rows: Some(rows),
                    ..
                } => {
                    let ([a, b], [ra, rb], Some(&ro)) = (
                        inputs.as_slice(),
                        rows.inputs.as_slice(),
                        rows.outputs.first(),
                    ) else {
                        return Err(bad("a blocked library step is not a product"));
                    };
                    let block_input = |i: &LibInput, acc: BlockAccess| {
                        let mut i = i.clone();
                        if let (BlockAccess::Rows { .. }, Some(d)) = (acc, i.shape.first_mut()) {
                            *d = n;
                        }
                        i
                    };
                    let (ba, bb) = (block_input(a, *ra), block_input(b, *rb));
                    let mut out = shape.clone();
                    let accumulate = match ro {
                        BlockAccess::Rows { .. } => {
                            *out.first_mut().ok_or(bad("block rank"))? = n;
                            false
                        }
                        BlockAccess::Accumulate { .. } => true,
                        BlockAccess::Whole => return Err(bad("block result access")),
                    };
                    let p = Product::new(&View::of(&ba), &View::of(&bb), &out)
                        .ok_or(bad("blocked product shapes"))?;
                    let (at_a, at_b, at_o) = (self.at(a.loc), self.at(b.loc), self.at(*output));
                    let pa = self.block_at(at_a, *ra, r0, slots)?;
                    let pb = self.block_at(at_b, *rb, r0, slots)?;
                    let po = self.block_at(at_o, ro, r0, slots)?;
                    self.matmul(&p, pa, pb, po, accumulate);
                }
                _ => return Err(bad("segment call without rows")),
            }
        }
        Ok(())
    }
}
