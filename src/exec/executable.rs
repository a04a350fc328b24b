//! `Executable`'s typed core: a graph compiled for fixed input shapes
//! into one native function (the driver, see `crate::driver`), called
//! many times with checked buffers; and the runtime pieces the function
//! calls on several threads (a kernel launch split across the pool).

use std::sync::Mutex;

use ndarray::ArrayViewD;

use super::layout::{Homes, Loc};
use super::rows::split;
use super::stream;
use super::ExecError;
use crate::fuse::Layout;
use crate::jit::{CompiledKernels, KernelFn};
use crate::value::{Element, ValueView, ValueViewMut};

/// Reusable per-call memory: the function's scratch block, staging for
/// non-contiguous feeds, and the pointer arrays it is called with.
pub(super) struct Workspace<T> {
    staging: Vec<Vec<T>>,
    lines: Vec<Line>,
    in_ptrs: Vec<usize>,
    out_ptrs: Vec<usize>,
}

impl<T: Clone> Workspace<T> {
    fn new(inputs: usize) -> Self {
        Workspace {
            staging: vec![Vec::new(); inputs],
            lines: Vec::new(),
            in_ptrs: Vec::new(),
            out_ptrs: Vec::new(),
        }
    }
}

/// 64 bytes aligned to 64: a unit of the driver's scratch block.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([u8; 64]);

/// The typed core of an executable.
pub(crate) struct Typed<T> {
    /// The plan's steps with their homes (what `plan_text` shows, and what
    /// names a bad index after the function returned its code).
    pub homes: Homes<T>,
    /// Each temporary's byte offset in the scratch block.
    temp_offsets: Vec<usize>,
    pub input_shapes: Vec<Vec<usize>>,
    pub output_shapes: Vec<Vec<usize>>,
    /// The JIT module: the function's and the kernels' code (freed on drop).
    pub kernels: CompiledKernels,
    /// The workspace a call uses in place when no other thread holds it:
    /// one uncontended `try_lock` per call (taking and giving back a
    /// pooled one was two lock pairs, an eighth of B1's call at 2^10).
    primary: Mutex<Workspace<T>>,
    /// Workspaces of calls that found `primary` held (calls on several
    /// threads at once), boxed so that taking one moves a pointer.
    #[allow(clippy::vec_box)]
    pool: Mutex<Vec<Box<Workspace<T>>>>,
    /// The thread pool the function runs on with several threads: the code
    /// holds its address, so the executable keeps it alive.
    _threads: Option<std::sync::Arc<rayon::ThreadPool>>,
    /// The whole-program function.
    pub(super) driver: DriverCall,
}

/// Below this much work (elements times operations per element) a kernel
/// runs on one thread: waking the pool costs tens of microseconds, more than
/// splitting gains (B1's two operations on 2^16 elements stay on one thread,
/// B2's 24 go to all cores).
pub const PARALLEL_THRESHOLD: usize = 1 << 20;

/// Elements per row when a kernel's whole reduction over one long row is
/// run as rows of this many (per-row partials, combined in row order).
pub const REDUCE_BLOCK: usize = 1 << 12;

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
        temp_offsets: Vec<usize>,
        (input_shapes, output_shapes): (Vec<Vec<usize>>, Vec<Vec<usize>>),
        kernels: CompiledKernels,
        threads: Option<std::sync::Arc<rayon::ThreadPool>>,
        driver: DriverCall,
    ) -> Self {
        let inputs = input_shapes.len();
        Typed {
            homes,
            temp_offsets,
            input_shapes,
            output_shapes,
            kernels,
            primary: Mutex::new(Workspace::new(inputs)),
            pool: Mutex::new(Vec::new()),
            _threads: threads,
            driver,
        }
    }

    /// Runs `f` on a workspace: the primary one when it is free, else one
    /// from the pool (made when the pool is empty), given back after.
    fn with_workspace<R>(&self, f: impl FnOnce(&mut Workspace<T>) -> R) -> R {
        if let Ok(mut ws) = self.primary.try_lock() {
            return f(&mut ws);
        }
        let mut ws = self
            .pool
            .lock()
            .ok()
            .and_then(|mut p| p.pop())
            .unwrap_or_else(|| Box::new(Workspace::new(self.input_shapes.len())));
        let r = f(&mut ws);
        if let Ok(mut p) = self.pool.lock() {
            p.push(ws);
        }
        r
    }

    /// Runs the program: typed feeds in, results written into `outs`.
    pub(crate) fn run(
        &self,
        feeds: &[ArrayViewD<'_, T>],
        outs: &mut [&mut [T]],
    ) -> Result<(), ExecError> {
        if feeds.len() != self.input_shapes.len() {
            return Err(ExecError::FeedCount {
                expected: self.input_shapes.len(),
                got: feeds.len(),
            });
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
        self.with_workspace(|ws| self.typed(feeds, outs, ws))
    }

    fn typed(
        &self,
        feeds: &[ArrayViewD<'_, T>],
        outs: &mut [&mut [T]],
        ws: &mut Workspace<T>,
    ) -> Result<(), ExecError> {
        ws.in_ptrs.clear();
        for (k, (f, s)) in feeds.iter().zip(&self.input_shapes).enumerate() {
            if f.shape() != s.as_slice() {
                return Err(ExecError::FeedShapeChanged {
                    index: k,
                    expected: s.clone(),
                    got: f.shape().to_vec(),
                });
            }
            let addr = stage(f, &mut ws.staging[k]);
            ws.in_ptrs.push(addr);
        }
        ws.out_ptrs.clear();
        ws.out_ptrs
            .extend(outs.iter_mut().map(|o| o.as_mut_ptr() as usize));
        self.enter(ws)
    }

    /// Runs the program straight from the caller's values (no typed views
    /// are built: a call of a small program costs little more than the
    /// function itself).
    pub(crate) fn run_direct(
        &self,
        feeds: &[ValueView<'_>],
        outputs: &mut [ValueViewMut<'_>],
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
        self.with_workspace(|ws| self.direct(feeds, outputs, ws))
    }

    fn direct(
        &self,
        feeds: &[ValueView<'_>],
        outputs: &mut [ValueViewMut<'_>],
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
            let addr = stage(v, &mut ws.staging[k]);
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
        self.enter(ws)
    }

    /// Calls the whole-program function on the pointers in `ws`: one per
    /// input and output, checked by the caller against the shapes.
    fn enter(&self, ws: &mut Workspace<T>) -> Result<(), ExecError> {
        let d = self.driver;
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
        // (`typed`, `direct`) checked every feed's shape (a contiguous buffer
        // of exactly its elements, staged when strided) and every output's
        // length, one pointer each (counted above); the outputs are mutable
        // borrows (so they overlap nothing), and the scratch block holds
        // `d.scratch` bytes aligned to 64 (`Line`). The driver touches
        // nothing else (its thread pool, on several threads, is `_threads`).
        let code = unsafe {
            let f = std::mem::transmute::<usize, EntryFn<T>>(d.addr);
            f(
                ws.in_ptrs.as_ptr() as *const *const T,
                ws.out_ptrs.as_ptr() as *const *mut T,
                ws.lines.as_mut_ptr().cast::<u8>(),
            )
        };
        match code {
            0 => Ok(()),
            crate::driver::ERROR_INDEX => {
                Err(self.bad_index(ws).unwrap_or_else(|| run_time_error(code)))
            }
            _ => Err(run_time_error(code)),
        }
    }

    /// Names the index the function stopped at: the first bad one of the
    /// steps in order, read from the homes as the call left them.
    fn bad_index(&self, ws: &Workspace<T>) -> Option<ExecError> {
        let size = std::mem::size_of::<T>();
        let scratch = ws.lines.as_ptr().cast::<u8>();
        let scratch_len = ws.lines.len() * 64;
        let values = |loc: Loc| -> Option<Vec<f64>> {
            let (addr, len) = match loc {
                Loc::Input(k) => (
                    *ws.in_ptrs.get(k)?,
                    self.input_shapes.get(k)?.iter().product::<usize>(),
                ),
                Loc::Output(j) => (
                    *ws.out_ptrs.get(j)?,
                    self.output_shapes.get(j)?.iter().product::<usize>(),
                ),
                Loc::Temp(t) => {
                    let (off, len) = (*self.temp_offsets.get(t)?, *self.homes.temps.get(t)?);
                    if off.checked_add(len.checked_mul(size)?)? > scratch_len {
                        return None;
                    }
                    (scratch as usize + off, len)
                }
                Loc::Const(c) => {
                    return Some(
                        self.homes
                            .consts
                            .get(c)?
                            .iter()
                            .map(|v| v.widen())
                            .collect(),
                    )
                }
            };
            // SAFETY: `addr` is an input of `len` elements the caller lent for
            // this call (shape checked), an output of `len` elements borrowed
            // mutably for it (the function has returned: nothing writes it
            // now), or a temporary's `len` elements inside the scratch block
            // (bounds checked above); all are aligned `T`s, read only here.
            let s = unsafe { std::slice::from_raw_parts(addr as *const T, len) };
            Some(s.iter().map(|v| v.widen()).collect())
        };
        let (op, detail) = crate::driver::first_bad_index(&self.homes, &values)?;
        Some(ExecError::Library { op, detail })
    }
}

/// The address of `v`'s elements, row-major and contiguous: its own when it
/// is, else a copy in `staging`.
fn stage<T: Element>(v: &ArrayViewD<'_, T>, staging: &mut Vec<T>) -> usize {
    match v.as_slice() {
        Some(s) => s.as_ptr() as usize,
        None => {
            staging.clear();
            staging.extend(v.iter().copied());
            staging.as_ptr() as usize
        }
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
/// `may_split_columns` or `stream` (as the planned layouts make them).
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
        // SAFETY: the caller's guarantee for the whole slab (the driver
        // checked, when it was built, that the kernel's code matches the
        // layout and that every operand's buffer holds the extent the layout
        // gives from its base; `ptrs` are those bases moved to this slab).
        // With `stream` (no reductions) the same call runs in chunks whose
        // outputs pass through scratch (`stream::run`'s contract is this
        // one).
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

/// The whole-program function of an executable: its address (valid while
/// the executable's JIT module lives) and the scratch it needs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DriverCall {
    /// Its address, in the executable's JIT module.
    pub addr: usize,
    /// Scratch bytes it needs.
    pub scratch: usize,
}

/// The whole program as one native function (see [`Executable::entry`](super::Executable::entry)).
///
/// `inputs` holds one pointer per input of the executable (in the order of
/// [`Executable::inputs`](super::Executable::inputs)) to its elements, row-major and contiguous;
/// `outputs` one per output (in fetch order) to a buffer of exactly its
/// number of elements; `scratch` points to [`Executable::scratch_bytes`](super::Executable::scratch_bytes)
/// bytes aligned to [`crate::driver::SCRATCH_ALIGN`] (it may be null when
/// that is 0). It returns 0, or a positive code for an error found at run
/// time, after which no element past any buffer has been touched.
pub type EntryFn<T> =
    unsafe extern "C" fn(inputs: *const *const T, outputs: *const *mut T, scratch: *mut u8) -> i32;

/// The error of a code the whole-program function returned.
pub(crate) fn run_time_error(code: i32) -> ExecError {
    let message = usize::try_from(code)
        .ok()
        .and_then(|c| crate::driver::MESSAGES.get(c))
        .unwrap_or(&"unknown error code");
    ExecError::RunTime {
        code,
        message: message.to_string(),
    }
}
