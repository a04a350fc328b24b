//! `Executable`: a graph compiled for fixed input shapes — its plan, its
//! native kernels and its buffer layout — called many times.

use std::sync::Mutex;

use ndarray::{ArrayViewD, IxDyn};
use smallvec::SmallVec;

use super::blocked::SegmentState;
use super::layout::{Call, Homes, LibInput, Loc, RedCall};
use super::stream;
use super::ExecError;
use crate::fuse::Layout;
use crate::fuse::ReduceClass;
use crate::graph::kernel::{InnerAccess, KernelSpec, ReduceKind};
use crate::jit::{CompiledKernels, KernelFn};
use crate::value::Element;

/// Reusable per-call memory: temporaries and staging for non-contiguous feeds.
pub(super) struct Workspace<T> {
    pub(super) temps: Vec<Vec<T>>,
    staging: Vec<Vec<T>>,
    feeds: Vec<Buf>,
    scratch: Scratch,
    partials: Vec<Vec<T>>,
    /// Per row-blocked segment: its chunks' own buffers (made on first use).
    pub(super) segments: Vec<SegmentState<T>>,
    /// Every home by address, during a segment.
    pub(super) addresses: Vec<Buf>,
    /// The whole-program function's scratch block and pointer arrays.
    lines: Vec<Line>,
    in_ptrs: Vec<usize>,
    out_ptrs: Vec<usize>,
}

/// 64 bytes aligned to 64: a unit of the driver's scratch block.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([u8; 64]);

/// The typed core of an executable.
pub(crate) struct Typed<T> {
    pub homes: Homes<T>,
    pub input_shapes: Vec<Vec<usize>>,
    pub output_shapes: Vec<Vec<usize>>,
    pub kernels: CompiledKernels,
    /// Workspaces of finished calls, boxed so that taking one moves a
    /// pointer (moving the struct itself was a fifth of a small call).
    #[allow(clippy::vec_box)]
    pool: Mutex<Vec<Box<Workspace<T>>>>,
    pub(super) threads: Option<std::sync::Arc<rayon::ThreadPool>>,
    /// The whole-program function that runs instead of the steps.
    pub(super) driver: Option<super::compile::DriverCall>,
}

/// Below this much work (elements times operations per element) a kernel
/// runs on one thread: waking the pool costs tens of microseconds, more than
/// splitting gains (B1's two operations on 2^16 elements stay on one thread,
/// B2's 24 go to all cores).
pub const PARALLEL_THRESHOLD: usize = 1 << 20;

/// A buffer's address and length, for one call.
#[derive(Clone, Copy)]
pub(super) struct Buf {
    pub(super) addr: usize,
    pub(super) len: usize,
}

/// The furthest element (exclusive) a kernel touches from an operand's base.
pub(crate) fn extent(
    layout: &Layout,
    outer_strides: &[isize],
    inner_stride: isize,
) -> Option<usize> {
    if layout.is_empty() {
        return Some(0);
    }
    let mut max = 0isize;
    for (d, s) in layout.outer_dims.iter().zip(outer_strides) {
        if *s < 0 {
            return None;
        }
        max = max.checked_add(s.checked_mul(*d as isize - 1)?)?;
    }
    let row = if inner_stride == 0 {
        1
    } else {
        layout.inner as isize
    };
    usize::try_from(max.checked_add(row)?).ok()
}

impl<T: Element> Typed<T> {
    pub(crate) fn new(
        homes: Homes<T>,
        input_shapes: Vec<Vec<usize>>,
        output_shapes: Vec<Vec<usize>>,
        kernels: CompiledKernels,
        threads: Option<std::sync::Arc<rayon::ThreadPool>>,
        driver: Option<super::compile::DriverCall>,
    ) -> Self {
        Typed {
            homes,
            input_shapes,
            output_shapes,
            kernels,
            pool: Mutex::new(Vec::new()),
            threads,
            driver,
        }
    }

    fn workspace(&self) -> Result<Box<Workspace<T>>, ExecError> {
        if let Some(ws) = self.pool.lock().ok().and_then(|mut p| p.pop()) {
            return Ok(ws);
        }
        // the whole-program function keeps its temporaries in `lines`
        let temps: &[usize] = match self.driver {
            Some(_) => &[],
            None => &self.homes.temps,
        };
        Ok(Box::new(Workspace {
            temps: temps.iter().map(|&n| zeros(n)).collect::<Result<_, _>>()?,
            staging: vec![Vec::new(); self.input_shapes.len()],
            feeds: Vec::new(),
            scratch: Scratch::default(),
            partials: Vec::new(),
            segments: Vec::new(),
            addresses: Vec::new(),
            lines: Vec::new(),
            in_ptrs: Vec::new(),
            out_ptrs: Vec::new(),
        }))
    }

    /// The executor's temporaries in `ws` (a workspace made for the
    /// whole-program function has none until the executor first runs).
    fn executor_temps(&self, ws: &mut Workspace<T>) -> Result<(), ExecError> {
        if ws.temps.len() != self.homes.temps.len() {
            ws.temps = self
                .homes
                .temps
                .iter()
                .map(|&n| zeros(n))
                .collect::<Result<_, _>>()?;
        }
        Ok(())
    }

    fn give_back(&self, ws: Box<Workspace<T>>) {
        if let Ok(mut p) = self.pool.lock() {
            p.push(ws);
        }
    }

    /// Runs the plan: feeds in, results written into `outs`.
    pub(crate) fn run(
        &self,
        feeds: &[ArrayViewD<'_, T>],
        outs: &mut [&mut [T]],
    ) -> Result<(), ExecError> {
        match self.run_with(feeds, outs, self.driver) {
            // the function's code says a bad index; the executor's routines
            // name it (`gather: index 7 is outside [0, 3)`)
            Err(ExecError::RunTime { .. }) => self.run_with(feeds, outs, None),
            r => r,
        }
    }

    /// Runs the plan through `driver` or, without one, the executor's steps.
    fn run_with(
        &self,
        feeds: &[ArrayViewD<'_, T>],
        outs: &mut [&mut [T]],
        driver: Option<super::compile::DriverCall>,
    ) -> Result<(), ExecError> {
        if feeds.len() != self.input_shapes.len() {
            return Err(ExecError::FeedCount {
                expected: self.input_shapes.len(),
                got: feeds.len(),
            });
        }
        for (k, (f, s)) in feeds.iter().zip(&self.input_shapes).enumerate() {
            if f.shape() != s.as_slice() {
                return Err(ExecError::FeedShapeChanged {
                    index: k,
                    expected: s.clone(),
                    got: f.shape().to_vec(),
                });
            }
        }
        if outs.len() != self.output_shapes.len() {
            return Err(ExecError::OutputCount {
                expected: self.output_shapes.len(),
                got: outs.len(),
            });
        }
        for (j, (o, s)) in outs.iter().zip(&self.output_shapes).enumerate() {
            if o.len() != s.iter().product::<usize>() {
                return Err(ExecError::OutputShape {
                    index: j,
                    expected: s.clone(),
                });
            }
        }
        let mut ws = self.workspace()?;
        // contiguous feeds are read in place; others are copied once
        let mut feed_bufs = std::mem::take(&mut ws.feeds);
        feed_bufs.clear();
        for (k, f) in feeds.iter().enumerate() {
            let buf = match f.as_slice() {
                Some(s) => Buf {
                    addr: s.as_ptr() as usize,
                    len: s.len(),
                },
                None => {
                    let st = &mut ws.staging[k];
                    st.clear();
                    st.extend(f.iter().copied());
                    Buf {
                        addr: st.as_ptr() as usize,
                        len: st.len(),
                    }
                }
            };
            feed_bufs.push(buf);
        }
        let result = match driver {
            Some(d) => self.call_driver(d, &feed_bufs, outs, &mut ws),
            None => self
                .executor_temps(&mut ws)
                .and_then(|()| self.steps(&feed_bufs, feeds, outs, &mut ws)),
        };
        ws.feeds = feed_bufs;
        self.give_back(ws);
        result
    }

    /// Runs the whole program through its function, straight from the
    /// caller's values (no typed views are built: a call of a small program
    /// costs little more than the function itself).
    pub(crate) fn run_direct(
        &self,
        d: super::compile::DriverCall,
        feeds: &[crate::value::ValueView<'_>],
        outputs: &mut [crate::value::ValueViewMut<'_>],
    ) -> Result<(), ExecError> {
        if feeds.len() != self.input_shapes.len() {
            return Err(ExecError::FeedCount {
                expected: self.input_shapes.len(),
                got: feeds.len(),
            });
        }
        if outputs.len() != self.output_shapes.len() {
            return Err(ExecError::OutputCount {
                expected: self.output_shapes.len(),
                got: outputs.len(),
            });
        }
        let mut ws = self.workspace()?;
        let r = self.direct(d, feeds, outputs, &mut ws);
        self.give_back(ws);
        r
    }

    fn direct(
        &self,
        d: super::compile::DriverCall,
        feeds: &[crate::value::ValueView<'_>],
        outputs: &mut [crate::value::ValueViewMut<'_>],
        ws: &mut Workspace<T>,
    ) -> Result<(), ExecError> {
        ws.in_ptrs.clear();
        for (k, (f, s)) in feeds.iter().zip(&self.input_shapes).enumerate() {
            let v = T::view_ref(f).ok_or(ExecError::FeedDTypeAt {
                index: k,
                expected: T::DTYPE,
                got: f.dtype(),
            })?;
            if v.shape() != s.as_slice() {
                return Err(ExecError::FeedShapeChanged {
                    index: k,
                    expected: s.clone(),
                    got: v.shape().to_vec(),
                });
            }
            let addr = match v.as_slice() {
                Some(sl) => sl.as_ptr() as usize,
                None => {
                    let st = &mut ws.staging[k];
                    st.clear();
                    st.extend(v.iter().copied());
                    st.as_ptr() as usize
                }
            };
            ws.in_ptrs.push(addr);
        }
        ws.out_ptrs.clear();
        for (j, (o, s)) in outputs.iter_mut().zip(&self.output_shapes).enumerate() {
            let bad = || ExecError::OutputShape {
                index: j,
                expected: s.clone(),
            };
            let arr = T::unwrap_view_mut(o).ok_or_else(bad)?;
            if arr.shape() != s.as_slice() {
                return Err(bad());
            }
            let sl = arr
                .as_slice_mut()
                .ok_or(ExecError::OutputLayout { index: j })?;
            ws.out_ptrs.push(sl.as_mut_ptr() as usize);
        }
        self.enter(d, ws)
    }

    /// Runs the whole program through its function.
    fn call_driver(
        &self,
        d: super::compile::DriverCall,
        feeds: &[Buf],
        outs: &mut [&mut [T]],
        ws: &mut Workspace<T>,
    ) -> Result<(), ExecError> {
        ws.in_ptrs.clear();
        ws.in_ptrs.extend(feeds.iter().map(|b| b.addr));
        ws.out_ptrs.clear();
        ws.out_ptrs
            .extend(outs.iter_mut().map(|o| o.as_mut_ptr() as usize));
        self.enter(d, ws)
    }

    /// Calls the whole-program function on the pointers in `ws`: one per
    /// input and output, checked by the caller against the shapes.
    fn enter(&self, d: super::compile::DriverCall, ws: &mut Workspace<T>) -> Result<(), ExecError> {
        let lines = d.scratch.div_ceil(64);
        if ws.lines.len() < lines {
            ws.lines
                .try_reserve_exact(lines - ws.lines.len())
                .map_err(|_| ExecError::OutOfMemory { bytes: d.scratch })?;
            ws.lines.resize(lines, Line([0; 64]));
        }
        if ws.in_ptrs.len() != self.input_shapes.len()
            || ws.out_ptrs.len() != self.output_shapes.len()
        {
            return Err(ExecError::Internal("driver operand count"));
        }
        // SAFETY: `d.addr` is this executable's driver, built by
        // `driver::define` for elements of `T` with the `EntryFn` signature,
        // alive as long as `self.kernels` (borrowed here). The callers
        // (`run`, `direct`) checked every feed's shape (a contiguous buffer
        // of exactly its elements, staged when strided) and every output's
        // length, one pointer each (counted above); the outputs are mutable
        // borrows (so they overlap nothing), and the scratch block holds
        // `d.scratch` bytes aligned to 64 (`Line`). The driver touches
        // nothing else.
        let code = unsafe {
            let f = std::mem::transmute::<usize, super::compile::EntryFn<T>>(d.addr);
            f(
                ws.in_ptrs.as_ptr() as *const *const T,
                ws.out_ptrs.as_ptr() as *const *mut T,
                ws.lines.as_mut_ptr().cast::<u8>(),
            )
        };
        if code != 0 {
            return Err(super::compile::run_time_error(code));
        }
        Ok(())
    }

    /// The buffer of `loc` for a kernel call. Outputs and temporaries,
    /// which kernels write, are addressed through their mutable borrows
    /// (`as_mut_ptr`): a pointer from a shared borrow must not be written
    /// through. Feeds and constants are only read.
    pub(super) fn buf(
        &self,
        loc: Loc,
        feeds: &[Buf],
        outs: &mut [&mut [T]],
        temps: &mut [Vec<T>],
    ) -> Result<Buf, ExecError> {
        let of = |s: &mut [T]| Buf {
            addr: s.as_mut_ptr() as usize,
            len: s.len(),
        };
        let missing = ExecError::Internal("operand home");
        Ok(match loc {
            Loc::Input(k) => *feeds.get(k).ok_or(missing)?,
            Loc::Output(j) => of(outs.get_mut(j).ok_or(missing)?),
            Loc::Temp(t) => of(temps.get_mut(t).ok_or(missing)?),
            Loc::Const(c) => {
                let s = self.homes.consts.get(c).ok_or(missing)?;
                Buf {
                    addr: s.as_ptr() as usize,
                    len: s.len(),
                }
            }
        })
    }

    /// Runs one library step into `dst`, reading its inputs in place.
    #[allow(clippy::too_many_arguments)]
    fn library<'d>(
        &self,
        op: &crate::graph::Op,
        inputs: &[LibInput],
        feeds: &[ArrayViewD<'_, T>],
        staging: &[Vec<T>],
        outs: &[&mut [T]],
        temps: &[Vec<T>],
        dst: &'d mut [T],
        shape: &[usize],
    ) -> Result<&'d mut [T], ExecError> {
        let mut views: SmallVec<[ArrayViewD<'_, T>; 4]> = SmallVec::new();
        for i in inputs {
            let n: usize = i.shape.iter().product();
            let all: &[T] = match i.loc {
                Loc::Input(k) => feeds[k].as_slice().unwrap_or(&staging[k]),
                Loc::Output(j) => outs[j],
                Loc::Temp(t) => &temps[t],
                Loc::Const(c) => &self.homes.consts[c],
            };
            let data = all
                .get(..n)
                .ok_or(ExecError::Internal("library operand size"))?;
            let v = ArrayViewD::from_shape(IxDyn(&i.shape), data)
                .map_err(|_| ExecError::Internal("library operand shape"))?;
            views.push(match &i.perm {
                Some(p) => v.permuted_axes(IxDyn(p)),
                None => v,
            });
        }
        super::library::run(op, &views, &mut *dst, shape)?;
        Ok(dst)
    }

    fn steps(
        &self,
        feed_bufs: &[Buf],
        feeds: &[ArrayViewD<'_, T>],
        outs: &mut [&mut [T]],
        ws: &mut Workspace<T>,
    ) -> Result<(), ExecError> {
        let calls = &self.homes.calls;
        let mut segments = self.homes.segments.iter().enumerate().peekable();
        let mut c = 0;
        while let Some(call) = calls.get(c) {
            if let Some((index, seg)) = segments.next_if(|(_, s)| s.calls.start == c) {
                self.segment(index, seg, feed_bufs, outs, ws)?;
                c = seg.calls.end.max(c + 1);
            } else {
                self.call(call, feed_bufs, feeds, outs, ws)?;
                c += 1;
            }
        }
        for &(j, loc) in &self.homes.copies {
            if j >= outs.len() {
                return Err(ExecError::Internal("copy target"));
            }
            // the source is borrowed in place: another output is split off
            let (src, dst): (&[T], &mut [T]) = match loc {
                Loc::Output(k) if k < j => {
                    let (lo, hi) = outs.split_at_mut(j);
                    (&*lo[k], &mut *hi[0])
                }
                Loc::Output(k) if k > j && k < outs.len() => {
                    let (lo, hi) = outs.split_at_mut(k);
                    (&*hi[0], &mut *lo[j])
                }
                Loc::Output(_) => return Err(ExecError::Internal("copy source")),
                Loc::Input(k) => (feeds[k].as_slice().unwrap_or(&ws.staging[k]), &mut *outs[j]),
                Loc::Temp(t) => (&ws.temps[t], &mut *outs[j]),
                Loc::Const(c) => (&self.homes.consts[c], &mut *outs[j]),
            };
            let src = src
                .get(..dst.len())
                .ok_or(ExecError::Internal("copy size"))?;
            dst.copy_from_slice(src);
        }
        Ok(())
    }
}

impl<T: Element> Typed<T> {
    /// Runs one call over its whole iteration space.
    fn call(
        &self,
        call: &Call,
        feed_bufs: &[Buf],
        feeds: &[ArrayViewD<'_, T>],
        outs: &mut [&mut [T]],
        ws: &mut Workspace<T>,
    ) -> Result<(), ExecError> {
        let Call::Library {
            op,
            inputs,
            output,
            shape,
            ..
        } = call
        else {
            return self.kernel(call, feed_bufs, outs, ws);
        };
        // the destination is taken out of its home while the inputs are
        // borrowed in place (it is never one of them)
        let n: usize = shape.iter().product();
        match *output {
            Loc::Output(j) => {
                let dst = std::mem::take(&mut outs[j]);
                let r = self.library(op, inputs, feeds, &ws.staging, outs, &ws.temps, dst, shape);
                outs[j] = r?;
            }
            Loc::Temp(t) => {
                let mut buf = std::mem::take(&mut ws.temps[t]);
                let r = match buf.get_mut(..n) {
                    Some(dst) => self
                        .library(op, inputs, feeds, &ws.staging, outs, &ws.temps, dst, shape)
                        .map(|_| ()),
                    None => Err(ExecError::Internal("temp too short")),
                };
                ws.temps[t] = buf;
                r?;
            }
            _ => return Err(ExecError::Internal("library output home")),
        }
        Ok(())
    }

    /// Runs a kernel call over its whole iteration space.
    fn kernel(
        &self,
        call: &Call,
        feed_bufs: &[Buf],
        outs: &mut [&mut [T]],
        ws: &mut Workspace<T>,
    ) -> Result<(), ExecError> {
        let Call::Kernel {
            code,
            inputs,
            outputs,
            reductions,
            ops,
            layout,
            ..
        } = call
        else {
            return Err(ExecError::Internal("not a kernel call"));
        };
        let (f, spec) = self.code(*code)?;
        // accumulated (or never reached) results start at the identity;
        // written before the kernel's pointers are taken, so no new borrow
        // of the buffer comes between taking them and the kernel writing
        // through them
        for r in reductions {
            if r.class == ReduceClass::PerColumn || layout.is_empty() {
                let v = T::from_f64(r.identity);
                dest(r.loc, outs, &mut ws.temps)?.fill(v);
            }
        }
        let mut sc = std::mem::take(&mut ws.scratch);
        sc.start(*ops, false);
        let mut fill = || -> Result<(), ExecError> {
            for l in inputs {
                sc.ins.push(self.buf(*l, feed_bufs, outs, &mut ws.temps)?);
            }
            for l in outputs {
                sc.outs.push(self.buf(*l, feed_bufs, outs, &mut ws.temps)?);
            }
            for r in reductions {
                sc.reds
                    .push(self.buf(r.loc, feed_bufs, outs, &mut ws.temps)?);
            }
            Ok(())
        };
        let filled = fill();
        let mut partials = std::mem::take(&mut ws.partials);
        let r =
            filled.and_then(|_| self.launch(f, spec, layout, reductions, &mut sc, &mut partials));
        ws.scratch = sc;
        r?;
        for (j, r) in reductions.iter().enumerate() {
            let d = dest(r.loc, outs, &mut ws.temps)?;
            if r.class == ReduceClass::All && !layout.is_empty() {
                let total = r.op.eval(partials[j].iter().copied());
                *d.first_mut().ok_or(ExecError::Internal("empty result"))? = total;
            }
            if let Some(scale) = r.scale {
                scale_by(d, scale);
            }
        }
        ws.partials = partials;
        Ok(())
    }

    /// A compiled kernel and the spec it was compiled from.
    pub(super) fn code(&self, code: usize) -> Result<(KernelFn, &KernelSpec), ExecError> {
        self.kernels
            .get(code)
            .zip(self.kernels.spec(code))
            .ok_or(ExecError::Internal("missing kernel"))
    }
}

/// Checks that the kernel's code, as compiled from `spec`, addresses its
/// operands the way the extents computed from `layout` assume: the element
/// type, the number of pointers and strides, each input's access along a
/// row (a contiguous row is `inner` elements, a splat one), outputs whose
/// rows are `inner` apart, per-row results one apart, per-column results
/// where the kernel accumulates them, and one stride per outer dimension.
fn check_abi<T: Element>(
    spec: &KernelSpec,
    layout: &Layout,
    reds: &[RedCall],
    sc: &Scratch,
) -> Result<(), ExecError> {
    let bad = |what| Err(ExecError::Internal(what));
    let outer = layout.outer_dims.len();
    let n_in = spec.inputs.len();
    if spec.dtype != T::DTYPE {
        return bad("kernel dtype");
    }
    if sc.ins.len() != n_in
        || layout.input_strides.len() != n_in
        || layout.input_inner.len() != n_in
        || sc.outs.len() != spec.outputs.len()
        || sc.reds.len() != spec.reductions.len()
        || reds.len() != spec.reductions.len()
        || layout.reduce_strides.len() != reds.len()
        || layout.reduce_inner.len() != reds.len()
    {
        return bad("kernel operand count");
    }
    let strides_fit = |s: &[isize]| s.len() == outer && s.iter().all(|&x| x >= 0);
    for (k, access) in spec.inputs.iter().enumerate() {
        let contiguous = layout.input_inner[k] != 0;
        if contiguous != (*access == InnerAccess::Contiguous)
            || !strides_fit(&layout.input_strides[k])
        {
            return bad("kernel input access");
        }
    }
    let row = layout.inner as isize;
    if !strides_fit(&layout.output_strides)
        || layout.output_strides.last().is_some_and(|&s| s != row)
    {
        return bad("kernel output layout");
    }
    for (j, (r, kr)) in reds.iter().zip(&spec.reductions).enumerate() {
        let s = &layout.reduce_strides[j];
        let fits = strides_fit(s)
            && match (r.class, kr.kind) {
                (ReduceClass::All, ReduceKind::PerRow) => {
                    s.iter().all(|&x| x == 0) && layout.reduce_inner[j] == 0
                }
                (ReduceClass::PerRow, ReduceKind::PerRow) => {
                    s.last().is_none_or(|&x| x == 1) && layout.reduce_inner[j] == 0
                }
                (ReduceClass::PerColumn, ReduceKind::PerColumn) => layout.reduce_inner[j] == 1,
                _ => false,
            };
        if !fits {
            return bad("kernel reduction layout");
        }
    }
    Ok(())
}

/// `n` zeros, or an error when the allocator refuses: a shape too large
/// for the machine must not abort the process.
pub(crate) fn zeros<T: Element>(n: usize) -> Result<Vec<T>, ExecError> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| ExecError::OutOfMemory {
        bytes: n.saturating_mul(std::mem::size_of::<T>()),
    })?;
    v.resize(n, T::zero());
    Ok(v)
}

/// The buffer a computed value is written to: an output or a temporary.
pub(super) fn dest<'a, T>(
    loc: Loc,
    outs: &'a mut [&mut [T]],
    temps: &'a mut [Vec<T>],
) -> Result<&'a mut [T], ExecError> {
    match loc {
        Loc::Output(j) => outs
            .get_mut(j)
            .map(|s| &mut **s)
            .ok_or(ExecError::Internal("output index")),
        Loc::Temp(t) => temps
            .get_mut(t)
            .map(Vec::as_mut_slice)
            .ok_or(ExecError::Internal("temp index")),
        _ => Err(ExecError::Internal(
            "a result written to an input or constant",
        )),
    }
}

/// Per-call scratch for kernel launches, reused so calls do not allocate.
#[derive(Default)]
pub(crate) struct Scratch {
    pub(super) ins: Vec<Buf>,
    pub(super) outs: Vec<Buf>,
    pub(super) reds: Vec<Buf>,
    base: Vec<usize>,
    row_step: Vec<isize>,
    col_step: Vec<isize>,
    strides: Vec<isize>,
    ptrs: Vec<usize>,
    index: Vec<usize>,
    /// Operations per element of the kernel being launched.
    work: usize,
    /// Run on the calling thread only (it is one of the pool's already).
    serial: bool,
}

impl Scratch {
    /// Begins a launch of a kernel of `work` operations per element
    /// (`serial`: on the calling thread only).
    pub(super) fn start(&mut self, work: usize, serial: bool) {
        self.work = work;
        self.serial = serial;
        self.ins.clear();
        self.outs.clear();
        self.reds.clear();
    }
}

/// Multiplies a mean's sum by `1/count`.
pub(super) fn scale_by<T: Element>(d: &mut [T], scale: f64) {
    let k = T::from_f64(scale);
    d.iter_mut().for_each(|v| *v = *v * k);
}

/// Whole-tensor reductions over one long row are cut into rows of this many
/// elements, whose partial results are combined in row order: the summation
/// order is fixed, whatever the thread count.
pub const REDUCE_BLOCK: usize = 1 << 12;

impl<T: Element> Typed<T> {
    /// Calls a kernel over its whole iteration space after checking that
    /// its code fits the layout and every operand's buffer covers every
    /// element the loops touch (the one door through which native code is
    /// entered), then finishes its reductions.
    pub(super) fn launch(
        &self,
        f: KernelFn,
        spec: &KernelSpec,
        layout: &Layout,
        reds: &[RedCall],
        sc: &mut Scratch,
        partials: &mut Vec<Vec<T>>,
    ) -> Result<(), ExecError> {
        check_abi::<T>(spec, layout, reds, sc)?;
        for (k, b) in sc.ins.iter().enumerate() {
            let need = extent(layout, &layout.input_strides[k], layout.input_inner[k])
                .ok_or(ExecError::Internal("kernel input extent"))?;
            if need > b.len {
                return Err(ExecError::Internal("kernel input too short"));
            }
        }
        let need = extent(layout, &layout.output_strides, 1)
            .ok_or(ExecError::Internal("kernel output extent"))?;
        if sc.outs.iter().any(|b| need > b.len) {
            return Err(ExecError::Internal("kernel output too short"));
        }
        for (j, (r, b)) in reds.iter().zip(&sc.reds).enumerate() {
            let need = match r.class {
                ReduceClass::All => 1,
                ReduceClass::PerRow => extent(layout, &layout.reduce_strides[j], 0)
                    .ok_or(ExecError::Internal("reduction extent"))?,
                ReduceClass::PerColumn => extent(layout, &layout.reduce_strides[j], 1)
                    .ok_or(ExecError::Internal("reduction extent"))?,
            };
            if need > b.len {
                return Err(ExecError::Internal("reduction output too short"));
            }
        }
        if !layout.is_empty() {
            self.launch_rows(f, spec.is_light(), layout, reds, sc, partials);
        }
        Ok(())
    }

    /// Runs the kernel over every slab of the leading outer dimensions,
    /// re-blocking a single long row when it feeds whole-tensor reductions.
    /// `light`: the kernel is limited by memory ([`KernelSpec::is_light`]).
    fn launch_rows(
        &self,
        f: KernelFn,
        light: bool,
        layout: &Layout,
        reds: &[RedCall],
        sc: &mut Scratch,
        partials: &mut Vec<Vec<T>>,
    ) {
        let any_all = reds.iter().any(|r| r.class == ReduceClass::All);
        let reblock = layout.outer_dims.is_empty() && any_all && layout.inner > REDUCE_BLOCK;
        let (lead, rows, inner): (&[usize], usize, usize) = if reblock {
            (&[], layout.inner / REDUCE_BLOCK, REDUCE_BLOCK)
        } else {
            match layout.outer_dims.split_last() {
                Some((last, lead)) => (lead, *last, layout.inner),
                None => (&[], 1, layout.inner),
            }
        };
        let slabs: usize = lead.iter().product();
        let rem = if reblock {
            layout.inner % REDUCE_BLOCK
        } else {
            0
        };
        let kernel_rows = slabs * rows + usize::from(rem > 0);
        if partials.len() < reds.len() {
            partials.resize(reds.len(), Vec::new());
        }
        for (j, r) in reds.iter().enumerate() {
            if r.class == ReduceClass::All {
                partials[j].clear();
                partials[j].resize(kernel_rows, T::from_f64(r.identity));
            }
        }
        // per operand: base address, step per row and per column (elements)
        let (n_in, n_out) = (sc.ins.len(), sc.outs.len());
        sc.base.clear();
        sc.row_step.clear();
        sc.col_step.clear();
        sc.strides.clear();
        for (k, b) in sc.ins.iter().enumerate() {
            let contiguous = layout.input_inner[k] != 0;
            let row = if reblock {
                if contiguous {
                    REDUCE_BLOCK as isize
                } else {
                    0
                }
            } else {
                layout.input_strides[k].last().copied().unwrap_or(0)
            };
            sc.base.push(b.addr);
            sc.row_step.push(row);
            sc.col_step.push(isize::from(contiguous));
            sc.strides.push(row);
        }
        for b in &sc.outs {
            sc.base.push(b.addr);
            sc.row_step.push(inner as isize);
            sc.col_step.push(1);
        }
        for (j, r) in reds.iter().enumerate() {
            let (addr, row, col) = match r.class {
                ReduceClass::All => (partials[j].as_mut_ptr() as usize, 1, 0),
                ReduceClass::PerRow => (sc.reds[j].addr, 1, 0),
                ReduceClass::PerColumn => (sc.reds[j].addr, 0, 1),
            };
            sc.base.push(addr);
            sc.row_step.push(row);
            sc.col_step.push(col);
        }
        // row chunks may run in parallel unless columns accumulate
        let pool = self
            .threads
            .as_deref()
            .filter(|_| !sc.serial && !reds.iter().any(|r| r.class == ReduceClass::PerColumn));
        let may_split_columns = reds.is_empty();
        let size = std::mem::size_of::<T>() as isize;
        // large outputs: streaming stores
        let stream = stream::streams(
            light,
            !reds.is_empty(),
            n_out,
            rows.saturating_mul(inner),
            size as usize,
        );
        sc.index.clear();
        sc.index.resize(lead.len(), 0);
        let mut ptrs = std::mem::take(&mut sc.ptrs);
        for slab_no in 0..slabs {
            // this slab's element offset for each operand
            let dot = |s: &[isize]| -> isize {
                sc.index
                    .iter()
                    .zip(s)
                    .map(|(&i, &st)| i as isize * st)
                    .sum()
            };
            ptrs.clear();
            for (k, &b) in sc.base.iter().enumerate() {
                let off = if k < n_in {
                    dot(&layout.input_strides[k])
                } else if k < n_in + n_out {
                    dot(&layout.output_strides)
                } else {
                    let j = k - n_in - n_out;
                    match reds[j].class {
                        ReduceClass::All => (slab_no * rows) as isize,
                        _ => dot(&layout.reduce_strides[j]),
                    }
                };
                ptrs.push((b as isize + off * size) as usize);
            }
            let l = Launch {
                f,
                strides: &sc.strides,
                row_step: &sc.row_step,
                col_step: &sc.col_step,
                n_in,
                size: size as usize,
                work: sc.work,
            };
            // SAFETY: see `run_slab`: the executor's layouts and the extents
            // `launch` checked, for this slab of the leading axes
            unsafe { run_slab(&l, &ptrs, rows, inner, pool, may_split_columns, stream) };
            for d in (0..lead.len()).rev() {
                sc.index[d] += 1;
                if sc.index[d] < lead[d] {
                    break;
                }
                sc.index[d] = 0;
            }
        }
        if rem > 0 {
            // the last, shorter row of a re-blocked reduction
            let start = (rows * REDUCE_BLOCK) as isize;
            ptrs.clear();
            for (k, &b) in sc.base.iter().enumerate() {
                let off = if k < n_in + n_out {
                    start * sc.col_step[k]
                } else {
                    rows as isize * sc.row_step[k]
                };
                ptrs.push((b as isize + off * size) as usize);
            }
            let l = Launch {
                f,
                strides: &sc.strides,
                row_step: &sc.row_step,
                col_step: &sc.col_step,
                n_in,
                size: size as usize,
                work: sc.work,
            };
            // SAFETY: as above, for the last, shorter row
            unsafe { run_slab(&l, &ptrs, 1, rem, None, false, false) };
        }
        sc.ptrs = ptrs;
    }
}

/// A kernel launch as the runtime splits it: the kernel, one row stride
/// per input, each operand's step per row and per column (elements), the
/// number of inputs among the operands, element bytes, and operations per
/// element.
pub(crate) struct Launch<'a> {
    /// The kernel.
    pub f: KernelFn,
    /// One row stride per input.
    pub strides: &'a [isize],
    /// Each operand's step from one row to the next.
    pub row_step: &'a [isize],
    /// Each operand's step from one column to the next.
    pub col_step: &'a [isize],
    /// Inputs among the operands (the first ones).
    pub n_in: usize,
    /// Bytes per element.
    pub size: usize,
    /// Operations per element (how much splitting would share).
    pub work: usize,
}

/// Calls the kernel on `rows × cols` with the operands at `ptrs`, directly
/// or (with `stream`) through [`stream::run`].
///
/// # Safety
/// The kernel's own contract ([`KernelFn`]) for this call, which is also
/// [`stream::run`]'s.
unsafe fn call(l: &Launch<'_>, ptrs: &[usize], rows: usize, cols: usize, stream: bool) {
    if stream {
        let piece = stream::Piece {
            f: l.f,
            ptrs,
            strides: l.strides,
            row_step: l.row_step,
            col_step: l.col_step,
            n_in: l.n_in,
            size: l.size,
        };
        // SAFETY: the caller's guarantee, passed on unchanged.
        unsafe { stream::run(&piece, rows, cols) }
    } else {
        // SAFETY: the caller's guarantee.
        unsafe {
            (l.f)(
                ptrs.as_ptr() as *const *mut u8,
                l.strides.as_ptr(),
                rows,
                cols,
            )
        }
    }
}

/// Calls the kernel on one slab of `rows × inner` (split across the pool
/// when large) with the operands at `ptrs`.
///
/// # Safety
/// Calling the kernel on `(ptrs, l.strides, rows, inner)` is sound (its
/// [`KernelFn`] contract: every operand valid for the extent of the call,
/// written buffers from mutable borrows overlapping no input), `ptrs` and
/// `l.row_step`/`l.col_step` hold one entry per operand, and the operands
/// that `l.col_step` moves along columns are contiguous rows when
/// `may_split_columns` or `stream` (as the executor's layouts make them).
pub(crate) unsafe fn run_slab(
    l: &Launch<'_>,
    ptrs: &[usize],
    rows: usize,
    inner: usize,
    pool: Option<&rayon::ThreadPool>,
    may_split_columns: bool,
    stream: bool,
) {
    let parallel = pool.filter(|p| {
        let t = p.current_num_threads();
        t > 1
            && rows.saturating_mul(inner).saturating_mul(l.work) >= PARALLEL_THRESHOLD
            && (rows >= t || (rows == 1 && may_split_columns))
    });
    let Some(p) = parallel else {
        // SAFETY: the caller's guarantee for the whole slab. (The executor
        // guarantees it so: `f` is the code of the spec that `check_abi`
        // matched against the layout, `launch` checked that every operand's
        // buffer holds the extent that layout gives from its base, `ptrs`
        // are those bases moved to this slab, buffers the kernel writes come
        // from mutable borrows, and none is also an input.) With `stream`
        // (no reductions) the same call runs in chunks whose outputs pass
        // through scratch (`stream::run`'s contract is this one).
        unsafe { call(l, ptrs, rows, inner, stream) };
        return;
    };
    let t = p.current_num_threads();
    let size = l.size as isize;
    // (first row, rows, first column, columns) per chunk
    let chunks: Vec<(usize, usize, usize, usize)> = if rows >= t {
        split(rows, t).map(|(r0, n)| (r0, n, 0, inner)).collect()
    } else {
        split(inner, t).map(|(c0, n)| (0, 1, c0, n)).collect()
    };
    let jobs: Vec<Vec<usize>> = chunks
        .iter()
        .map(|&(r0, _, c0, _)| {
            ptrs.iter()
                .enumerate()
                .map(|(k, &b)| {
                    let off = r0 as isize * l.row_step[k] + c0 as isize * l.col_step[k];
                    (b as isize + off * size) as usize
                })
                .collect()
        })
        .collect();
    p.scope(|s| {
        for (ptrs, &(_, n_rows, _, n_cols)) in jobs.iter().zip(&chunks) {
            s.spawn(move |_| {
                // SAFETY: as in the single-threaded call above, for a chunk
                // of the slab's rows (or, when there is one row and no
                // reduction, of its columns): every chunk stays inside the
                // slab, the chunks write disjoint rows (columns) of the
                // outputs and per-row results, per-column reductions never
                // run split (`pool` is `None` then), and inputs are only read.
                // The scope joins every chunk before the buffers' borrows end.
                // Streaming, as above, is the same call in chunks.
                unsafe { call(l, ptrs, n_rows, n_cols, stream) };
            });
        }
    });
}

/// Splits `n` into `parts` nearly equal (start, len) ranges.
pub(super) fn split(n: usize, parts: usize) -> impl Iterator<Item = (usize, usize)> {
    let base = n / parts;
    let extra = n % parts;
    (0..parts).map(move |i| {
        let start = i * base + i.min(extra);
        (start, base + usize::from(i < extra))
    })
}
