//! What the JIT's whole-program function calls at run time: a kernel
//! launch whose outputs go through streaming stores (`exec::stream`), and,
//! on several threads (`jit-mt`), with the executable's thread pool passed
//! by address, a launch split across the pool into chunks of rows (or of
//! one row's columns) and a row-blocked segment's chunks run on the pool,
//! each on its own part of the scratch block. Objects written by `gradjit
//! aot` never import them (they run on the caller's thread).

use rayon::ThreadPool;

use super::executable::{run_slab, Launch, PARALLEL_THRESHOLD};
use crate::jit::KernelFn;

/// The symbol of [`gradjit_launch`].
pub(crate) const LAUNCH_SYMBOL: &str = "gradjit_launch";

/// The symbol of [`gradjit_chunks`].
pub(crate) const CHUNKS_SYMBOL: &str = "gradjit_chunks";

/// [`gradjit_launch`]'s flag: the outputs go through streaming stores.
pub(crate) const STREAM: usize = 1;

/// [`gradjit_launch`]'s flag: a single row may be split by columns (the
/// kernel has no reductions).
pub(crate) const SPLIT_COLUMNS: usize = 2;

/// The routines' symbols and addresses, for a JIT module.
pub(crate) fn jit_symbols() -> [(&'static str, *const u8); 2] {
    [
        (LAUNCH_SYMBOL, gradjit_launch as *const u8),
        (CHUNKS_SYMBOL, gradjit_chunks as *const u8),
    ]
}

/// A chunk of a row-blocked segment, compiled as a function of its own:
/// the driver's inputs, outputs and scratch, the chunk's own scratch, and
/// the chunk's index.
pub(crate) type ChunkFn = unsafe extern "C" fn(
    inputs: *const *const u8,
    outputs: *const *mut u8,
    scratch: *mut u8,
    chunk: *mut u8,
    index: usize,
);

/// Runs kernel `f` on one slab of `rows × cols` on `pool`, split as the
/// runtime splits a launch (`exec::executable::run_slab`): `ptrs` holds the
/// `n_ptrs` operands (the first `n_in` inputs), `strides` one row stride
/// per input, `steps` each operand's step per row then per column
/// (`2 * n_ptrs` elements); `size` bytes per element, `work` operations per
/// element; `flags` of [`STREAM`] and [`SPLIT_COLUMNS`].
///
/// # Safety
/// `pool` points to a live thread pool, or is null (one thread: the launch
/// only streams); `f` is a kernel of the signature [`KernelFn`] for these
/// operands, and calling it on `(ptrs, strides,
/// rows, cols)` is sound; each array holds the count above; with
/// [`SPLIT_COLUMNS`] or [`STREAM`] the outputs are contiguous rows. The
/// driver passes exactly a planned launch whose extents it checked when it
/// was built, and the pool the executable owns.
pub(crate) unsafe extern "C" fn gradjit_launch(
    pool: *const ThreadPool,
    f: *const u8,
    ptrs: *const usize,
    strides: *const isize,
    steps: *const isize,
    n_ptrs: usize,
    n_in: usize,
    size: usize,
    work: usize,
    rows: usize,
    cols: usize,
    flags: usize,
) {
    // SAFETY: the caller's guarantee: a live pool (or null: none), a
    // kernel's entry point of this signature, and arrays of the counts
    // given.
    unsafe {
        let launch = Launch {
            f: std::mem::transmute::<*const u8, KernelFn>(f),
            strides: std::slice::from_raw_parts(strides, n_in),
            row_step: std::slice::from_raw_parts(steps, n_ptrs),
            col_step: std::slice::from_raw_parts(steps.add(n_ptrs), n_ptrs),
            n_in,
            size,
            work,
        };
        let ptrs = std::slice::from_raw_parts(ptrs, n_ptrs);
        run_slab(
            &launch,
            ptrs,
            rows,
            cols,
            pool.as_ref(),
            flags & SPLIT_COLUMNS != 0,
            flags & STREAM != 0,
        );
    }
}

/// Runs chunks `0..n` of a row-blocked segment through `f`, on `pool` when
/// the segment's `work` is worth waking it for: chunk `c` gets the chunk
/// scratch at `chunk0 + c * stride`.
///
/// # Safety
/// `pool` points to a live thread pool; `f` is the segment's [`ChunkFn`]
/// for this driver's `inputs`, `outputs` and `scratch`; the `n` chunk
/// areas of `stride` bytes from `chunk0` lie inside the scratch block and
/// are disjoint. The chunks of a segment write disjoint rows of their
/// batch-sized results and their own chunk areas, and only read the rest
/// (see `driver::segment`), so they may run at once.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe extern "C" fn gradjit_chunks(
    pool: *const ThreadPool,
    f: *const u8,
    inputs: *const *const u8,
    outputs: *const *mut u8,
    scratch: *mut u8,
    chunk0: *mut u8,
    stride: usize,
    n: usize,
    work: usize,
) {
    // SAFETY: the caller's guarantee: a chunk function of this signature.
    let f = unsafe { std::mem::transmute::<*const u8, ChunkFn>(f) };
    // addresses cross to the pool's threads as integers
    let (ins, outs, sc, c0) = (
        inputs as usize,
        outputs as usize,
        scratch as usize,
        chunk0 as usize,
    );
    let run = move |c: usize| {
        // SAFETY: the caller's guarantee for chunk `c` (its own area).
        unsafe {
            f(
                ins as *const *const u8,
                outs as *const *mut u8,
                sc as *mut u8,
                (c0 + c * stride) as *mut u8,
                c,
            )
        }
    };
    // SAFETY: `pool` is live (the caller's guarantee).
    let pool = unsafe { pool.as_ref() }
        .filter(|p| p.current_num_threads() > 1 && n > 1 && work >= PARALLEL_THRESHOLD);
    match pool {
        Some(p) => p.scope(|s| {
            for c in 0..n {
                s.spawn(move |_| run(c));
            }
        }),
        None => (0..n).for_each(run),
    }
}
