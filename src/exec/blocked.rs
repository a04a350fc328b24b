//! Running a row-blocked segment (see `exec::rows`): every block of rows
//! runs every call of the segment in order; chunks of consecutive blocks
//! run on the pool's threads, each with its own block-sized temporaries and
//! partial results, which are combined in chunk order at the end.
//!
//! Chunks share the batch-sized buffers by address: each block reads and
//! writes only its own rows of them, values read whole were made before the
//! segment, and results combined over the batch go to the chunk's own
//! partials, so no two chunks touch the same element and nothing a chunk
//! reads is written during the segment by anyone else.

use std::ops::Range;

use ndarray::{ArrayViewD, IxDyn};
use smallvec::SmallVec;

use super::executable::{dest, scale_by, zeros, Buf, Scratch, Typed, Workspace};
use super::layout::{BlockAccess, Call, Loc, RunSegment};
use super::ExecError;
use crate::fuse::ReduceClass;
use crate::value::Element;

/// A shape, kept inline for the usual ranks (no allocation per block).
type Dims = SmallVec<[usize; 4]>;

/// One chunk's own memory.
struct ChunkState<T> {
    /// The segment's block-sized temporaries (`RunSegment::locals`).
    locals: Vec<Vec<T>>,
    /// Partial results, by accumulator slot.
    partials: Vec<Vec<T>>,
    /// Launch scratch.
    scratch: Scratch,
    /// Per-row partials of a whole-tensor reduction, for one launch.
    rows: Vec<Vec<T>>,
    /// The first error a block met.
    error: Option<ExecError>,
}

/// The chunks' memory of one segment, kept in a workspace across calls.
pub(crate) struct SegmentState<T> {
    chunks: Vec<ChunkState<T>>,
}

impl<T: Element> SegmentState<T> {
    /// Memory for `seg`'s chunks (`temps`: the workspace's temporary sizes).
    fn new(seg: &RunSegment, temps: &[usize]) -> Result<Self, ExecError> {
        let chunk = || -> Result<ChunkState<T>, ExecError> {
            Ok(ChunkState {
                locals: seg
                    .locals
                    .iter()
                    .map(|&t| zeros(temps.get(t).copied().unwrap_or(0)))
                    .collect::<Result<_, _>>()?,
                partials: seg
                    .accumulators
                    .iter()
                    .map(|a| zeros(a.len.max(1)))
                    .collect::<Result<_, _>>()?,
                scratch: Scratch::default(),
                rows: Vec::new(),
                error: None,
            })
        };
        Ok(SegmentState {
            chunks: (0..seg.chunks.len())
                .map(|_| chunk())
                .collect::<Result<_, _>>()?,
        })
    }
}

/// Where every home is during a segment, by address.
struct Env<'a> {
    feeds: &'a [Buf],
    /// Outputs, then temporaries, then constants.
    homes: &'a [Buf],
    outputs: usize,
    temps: usize,
    /// Temporaries each chunk has its own copy of.
    locals: &'a [usize],
}

impl Env<'_> {
    /// The buffer of `loc`, a chunk's own for a block-sized temporary.
    fn at<T>(&self, loc: Loc, locals: &mut [Vec<T>]) -> Result<Buf, ExecError> {
        let missing = ExecError::Internal("operand home");
        if let Loc::Temp(t) = loc {
            if let Some(i) = self.locals.iter().position(|&l| l == t) {
                let v = locals.get_mut(i).ok_or(missing)?;
                return Ok(Buf {
                    addr: v.as_mut_ptr() as usize,
                    len: v.len(),
                });
            }
        }
        let at = |i: usize| self.homes.get(i).copied();
        match loc {
            Loc::Input(k) => self.feeds.get(k).copied(),
            Loc::Output(j) => (j < self.outputs).then(|| at(j)).flatten(),
            Loc::Temp(t) => (t < self.temps).then(|| at(self.outputs + t)).flatten(),
            Loc::Const(c) => at(self.outputs + self.temps + c),
        }
        .ok_or(missing)
    }
}

/// `b` from `off` elements on, for a block's rows (the kernel's launch
/// checks the extent it needs).
fn shifted(b: Buf, off: usize, size: usize) -> Result<Buf, ExecError> {
    let len = b
        .len
        .checked_sub(off)
        .ok_or(ExecError::Internal("block outside its buffer"))?;
    region(b, off, len, size)
}

/// `len` elements of `b` from `off` on, checked to be inside it.
fn region(b: Buf, off: usize, len: usize, size: usize) -> Result<Buf, ExecError> {
    let end = off
        .checked_add(len)
        .ok_or(ExecError::Internal("block region"))?;
    if end > b.len {
        return Err(ExecError::Internal("block outside its buffer"));
    }
    Ok(Buf {
        addr: b.addr + off * size,
        len,
    })
}

/// A block's own rows of a home, to write.
///
/// # Safety
/// `b` lies inside a buffer of `T`s that stays valid while the slice lives,
/// taken from a mutable borrow, and no other reference to these elements
/// lives meanwhile: in a segment, a block's rows of a result are written by
/// that block alone and read by no other (see the module doc).
unsafe fn rows_of<'a, T>(b: Buf) -> &'a mut [T] {
    // SAFETY: the caller's guarantee; `Buf` addresses are of `T`s, so aligned.
    unsafe { std::slice::from_raw_parts_mut(b.addr as *mut T, b.len) }
}

impl<T: Element> Typed<T> {
    /// Runs the `index`-th segment of the plan, `seg`.
    pub(super) fn segment(
        &self,
        index: usize,
        seg: &RunSegment,
        feed_bufs: &[Buf],
        outs: &mut [&mut [T]],
        ws: &mut Workspace<T>,
    ) -> Result<(), ExecError> {
        let calls = self
            .homes
            .calls
            .get(seg.calls.clone())
            .ok_or(ExecError::Internal("segment calls"))?;
        while ws.segments.len() <= index {
            ws.segments.push(SegmentState { chunks: Vec::new() });
        }
        if ws.segments[index].chunks.len() != seg.chunks.len() {
            ws.segments[index] = SegmentState::new(seg, &self.homes.temps)?;
        }
        let state = &mut ws.segments[index];
        for chunk in &mut state.chunks {
            for (p, a) in chunk.partials.iter_mut().zip(&seg.accumulators) {
                p.fill(T::from_f64(a.identity));
            }
        }
        // every home by address, taken from the mutable borrows of the
        // outputs and temporaries (chunks write through them)
        let mut homes = std::mem::take(&mut ws.addresses);
        homes.clear();
        for o in outs.iter_mut() {
            homes.push(Buf {
                addr: o.as_mut_ptr() as usize,
                len: o.len(),
            });
        }
        for t in ws.temps.iter_mut() {
            homes.push(Buf {
                addr: t.as_mut_ptr() as usize,
                len: t.len(),
            });
        }
        for c in &self.homes.consts {
            homes.push(Buf {
                addr: c.as_ptr() as usize,
                len: c.len(),
            });
        }
        let env = Env {
            feeds: feed_bufs,
            homes: &homes,
            outputs: outs.len(),
            temps: ws.temps.len(),
            locals: &seg.locals,
        };
        let pool = self.threads.as_deref().filter(|p| {
            // waking the pool costs more than a small segment's work
            p.current_num_threads() > 1
                && seg.chunks.len() > 1
                && seg.work >= super::executable::PARALLEL_THRESHOLD
        });
        let serial = pool.is_some();
        let run = |chunk: &mut ChunkState<T>, blocks: &Range<usize>| {
            let Some(blocks) = seg.blocks.get(blocks.clone()) else {
                chunk.error = Some(ExecError::Internal("segment chunk"));
                return;
            };
            for &(r0, n) in blocks {
                for call in calls {
                    if let Err(e) = self.block(call, r0, n, &env, chunk, serial) {
                        chunk.error = Some(e);
                        return;
                    }
                }
            }
        };
        match pool {
            Some(p) => p.scope(|s| {
                for (chunk, blocks) in state.chunks.iter_mut().zip(&seg.chunks) {
                    let run = &run;
                    s.spawn(move |_| run(chunk, blocks));
                }
            }),
            None => {
                for (chunk, blocks) in state.chunks.iter_mut().zip(&seg.chunks) {
                    run(chunk, blocks);
                }
            }
        }
        ws.addresses = homes;
        // every chunk's error is taken, so none is left for a later call
        let mut first_error = None;
        for chunk in &mut state.chunks {
            if let Some(e) = chunk.error.take() {
                first_error.get_or_insert(e);
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        // partial results combined in chunk order
        for (slot, acc) in seg.accumulators.iter().enumerate() {
            let d = dest(acc.loc, outs, &mut ws.temps)?
                .get_mut(..acc.len)
                .ok_or(ExecError::Internal("accumulator home"))?;
            for (c, chunk) in state.chunks.iter().enumerate() {
                let p = chunk
                    .partials
                    .get(slot)
                    .and_then(|p| p.get(..acc.len))
                    .ok_or(ExecError::Internal("partial result"))?;
                if c == 0 {
                    d.copy_from_slice(p);
                } else {
                    for (x, y) in d.iter_mut().zip(p) {
                        *x = acc.op.eval([*x, *y].into_iter());
                    }
                }
            }
            if let Some(scale) = acc.scale {
                scale_by(d, scale);
            }
        }
        Ok(())
    }

    /// Runs `call` on the block of `n` rows from row `r0`. `serial`: the
    /// chunk is on one of the pool's threads already.
    fn block(
        &self,
        call: &Call,
        r0: usize,
        n: usize,
        env: &Env<'_>,
        chunk: &mut ChunkState<T>,
        serial: bool,
    ) -> Result<(), ExecError> {
        let size = std::mem::size_of::<T>();
        match call {
            Call::Kernel {
                code,
                inputs,
                outputs,
                reductions,
                ops,
                rows: Some(rows),
                ..
            } => {
                let (f, spec) = self.code(*code)?;
                let layout = rows
                    .layouts
                    .iter()
                    .find(|(h, _)| *h == n)
                    .map(|(_, l)| l)
                    .ok_or(ExecError::Internal("block layout"))?;
                if rows.inputs.len() != inputs.len()
                    || rows.outputs.len() != outputs.len() + reductions.len()
                {
                    return Err(ExecError::Internal("block operand count"));
                }
                let red_access = &rows.outputs[outputs.len()..];
                let sc = &mut chunk.scratch;
                sc.start(*ops, serial);
                for (l, a) in inputs.iter().zip(&rows.inputs) {
                    let b = env.at(*l, &mut chunk.locals)?;
                    sc.ins.push(shifted(b, a.offset(r0), size)?);
                }
                for (l, a) in outputs.iter().zip(&rows.outputs) {
                    let b = env.at(*l, &mut chunk.locals)?;
                    sc.outs.push(shifted(b, a.offset(r0), size)?);
                }
                for (r, a) in reductions.iter().zip(red_access) {
                    let b = match a {
                        BlockAccess::Accumulate { slot } => {
                            let p = chunk
                                .partials
                                .get_mut(*slot)
                                .ok_or(ExecError::Internal("partial result"))?;
                            Buf {
                                addr: p.as_mut_ptr() as usize,
                                len: p.len(),
                            }
                        }
                        _ => shifted(env.at(r.loc, &mut chunk.locals)?, a.offset(r0), size)?,
                    };
                    sc.reds.push(b);
                }
                // results a kernel adds its rows into (a middle axis
                // reduced) start this block's rows at the identity
                for (r, a) in reductions.iter().zip(red_access) {
                    if let (ReduceClass::PerColumn, BlockAccess::Rows { width, .. }) = (r.class, *a)
                    {
                        let b = env.at(r.loc, &mut chunk.locals)?;
                        let b = region(b, a.offset(r0), width * n, size)?;
                        // SAFETY: `region` checked the rows are inside the
                        // home's buffer; they are this block's alone.
                        unsafe { rows_of::<T>(b) }.fill(T::from_f64(r.identity));
                    }
                }
                self.launch(f, spec, layout, reductions, sc, &mut chunk.rows)?;
                for (j, (r, a)) in reductions.iter().zip(red_access).enumerate() {
                    match *a {
                        BlockAccess::Accumulate { slot } => {
                            if r.class == ReduceClass::All {
                                let total = r.op.eval(chunk.rows[j].iter().copied());
                                let p = chunk
                                    .partials
                                    .get_mut(slot)
                                    .and_then(|p| p.first_mut())
                                    .ok_or(ExecError::Internal("partial result"))?;
                                *p = r.op.eval([*p, total].into_iter());
                            }
                        }
                        BlockAccess::Rows { width, .. } => {
                            if let Some(scale) = r.scale {
                                let b = env.at(r.loc, &mut chunk.locals)?;
                                let b = region(b, a.offset(r0), width * n, size)?;
                                // SAFETY: `region` checked the rows are
                                // inside the home's buffer; they are this
                                // block's alone.
                                scale_by(unsafe { rows_of::<T>(b) }, scale);
                            }
                        }
                        BlockAccess::Whole => {
                            return Err(ExecError::Internal("reduction read whole"))
                        }
                    }
                }
                Ok(())
            }
            Call::Library {
                op,
                inputs,
                output,
                shape,
                rows: Some(rows),
            } => {
                let mut views: SmallVec<[ArrayViewD<'_, T>; 4]> = SmallVec::new();
                for (i, a) in inputs.iter().zip(&rows.inputs) {
                    let mut dims: Dims = i.shape.iter().copied().collect();
                    if let BlockAccess::Rows { .. } = a {
                        *dims.first_mut().ok_or(ExecError::Internal("block rank"))? = n;
                    }
                    let len = dims.iter().product();
                    let b = region(env.at(i.loc, &mut chunk.locals)?, a.offset(r0), len, size)?;
                    // SAFETY: `region` checked the `len` elements are inside
                    // the buffer, an allocation of `T`s (so aligned) valid
                    // for the segment; they are read only while the view
                    // lives: a block's input rows were written earlier in
                    // this block by this chunk, and whole inputs before the
                    // segment (see the module doc).
                    let v = unsafe { ArrayViewD::from_shape_ptr(IxDyn(&dims), b.addr as *const T) };
                    views.push(match &i.perm {
                        Some(p) => v.permuted_axes(IxDyn(p)),
                        None => v,
                    });
                }
                match rows.outputs.first() {
                    Some(&a @ BlockAccess::Rows { .. }) => {
                        let mut dims: Dims = shape.iter().copied().collect();
                        *dims.first_mut().ok_or(ExecError::Internal("block rank"))? = n;
                        let len = dims.iter().product();
                        let b =
                            region(env.at(*output, &mut chunk.locals)?, a.offset(r0), len, size)?;
                        // SAFETY: `region` checked the rows are inside the
                        // home's buffer; they are this block's alone, and
                        // not one of the inputs (a result has a home of its
                        // own).
                        let d = unsafe { rows_of::<T>(b) };
                        super::library::run(op, &views, d, &dims)
                    }
                    Some(BlockAccess::Accumulate { slot }) => {
                        let p = chunk
                            .partials
                            .get_mut(*slot)
                            .ok_or(ExecError::Internal("partial result"))?;
                        super::library::accumulate_product(op, &views, p, shape)
                    }
                    _ => Err(ExecError::Internal("block result access")),
                }
            }
            _ => Err(ExecError::Internal("segment call without rows")),
        }
    }
}
