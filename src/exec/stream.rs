//! Streaming stores for large kernel outputs.
//!
//! A store to memory that is not in cache first reads the line it writes
//! ("read for ownership"), so a kernel writing an output larger than the
//! cache moves its bytes three times instead of twice. Cranelift has no
//! non-temporal store, so for such kernels the runtime runs the kernel on
//! chunks whose outputs go to a small per-thread scratch area (which stays
//! in L1/L2), then copies each chunk to its destination with
//! non-temporal stores (`movntdq`), which skip the read.
//!
//! Measured on the project's machine for B1 at N = 2^24 (one thread): a
//! plain store loop 12.5 ms, compute-into-scratch then stream 6.1 ms.

use std::cell::RefCell;

use crate::jit::KernelFn;

/// Light kernels (see `KernelSpec::is_light`) with no reductions whose
/// outputs add up to at least this many bytes in one slab are run
/// streaming (below it the outputs may well stay in cache for the next
/// step, where streaming would evict them). Measured: a compute-bound
/// kernel (B2's) loses ~20% streamed, its stores no longer overlapping its
/// arithmetic.
pub(crate) const STREAM_MIN_BYTES: usize = 32 << 20;

/// Whether a kernel's slab is run streaming: a kernel limited by memory
/// (`light`), accumulating nothing, whose `outputs` of `slab` elements of
/// `size` bytes each add up to [`STREAM_MIN_BYTES`] (measured: a
/// compute-bound kernel stops overlapping its stores with its arithmetic,
/// and re-blocked reductions gain nothing).
pub(crate) fn streams(
    light: bool,
    reductions: bool,
    outputs: usize,
    slab: usize,
    size: usize,
) -> bool {
    let bytes = slab.saturating_mul(outputs).saturating_mul(size);
    CAN_STREAM && light && !reductions && outputs > 0 && bytes >= STREAM_MIN_BYTES
}

/// Elements per chunk and output: small enough that every output's chunk
/// stays in L1/L2 together, large enough that calls are few.
const CHUNK_BYTES: usize = 32 << 10;

/// Whether this target has a streaming store to use.
pub(crate) const CAN_STREAM: bool = cfg!(target_arch = "x86_64");

/// Per-thread scratch: chunk buffers and the kernel's pointer list.
#[derive(Default)]
struct Scratch {
    /// `u128` elements: 16-byte aligned chunks for any element type.
    buf: Vec<u128>,
    ptrs: Vec<usize>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// One kernel call over `rows × cols` elements, described as the
/// function passes it: base pointers (inputs, then outputs; no reductions), per
/// input row strides, and each operand's step per row and per column (in
/// elements).
pub(crate) struct Piece<'a> {
    /// The kernel.
    pub f: KernelFn,
    /// Inputs' then outputs' base pointers.
    pub ptrs: &'a [usize],
    /// One row stride per input (elements).
    pub strides: &'a [isize],
    /// Each operand's step from one row to the next (elements).
    pub row_step: &'a [isize],
    /// Each operand's step from one column to the next (0 or 1).
    pub col_step: &'a [isize],
    /// The number of inputs (the rest of `ptrs` are outputs).
    pub n_in: usize,
    /// Bytes per element.
    pub size: usize,
}

/// Runs `piece` over `rows × cols` in chunks of at most one row, writing
/// outputs through the scratch area and streaming stores.
///
/// # Safety
/// The same as calling `piece.f` on `(piece.ptrs, piece.strides, rows,
/// cols)` directly: every operand valid for the extent of that call, the
/// kernel's ABI matching, outputs written through pointers from mutable
/// borrows, and outputs laid out as contiguous rows of `cols` elements.
pub(crate) unsafe fn run(piece: &Piece<'_>, rows: usize, cols: usize) {
    let n_out = piece.ptrs.len() - piece.n_in;
    let chunk = (CHUNK_BYTES / piece.size).max(1);
    SCRATCH.with(|s| {
        let mut s = s.borrow_mut();
        let s = &mut *s;
        let words = (chunk * piece.size).div_ceil(16);
        if s.buf.len() < words * n_out {
            // once per thread: later calls reuse it
            s.buf.resize(words * n_out, 0);
        }
        s.ptrs.clear();
        s.ptrs.extend_from_slice(piece.ptrs);
        for r in 0..rows {
            let mut c0 = 0;
            while c0 < cols {
                let len = chunk.min(cols - c0);
                for k in 0..piece.ptrs.len() {
                    s.ptrs[k] = if k < piece.n_in {
                        let off = r as isize * piece.row_step[k] + c0 as isize * piece.col_step[k];
                        (piece.ptrs[k] as isize + off * piece.size as isize) as usize
                    } else {
                        s.buf[(k - piece.n_in) * words..].as_mut_ptr() as usize
                    };
                }
                // SAFETY: the inputs are the caller's, moved to row `r` and
                // column `c0` of the call, so this one-row call of `len`
                // elements reads inside their extent; the outputs are
                // scratch chunks of `chunk >= len` elements each, disjoint,
                // owned by this thread.
                unsafe {
                    (piece.f)(
                        s.ptrs.as_ptr() as *const *mut u8,
                        piece.strides.as_ptr(),
                        1,
                        len,
                    )
                };
                for j in 0..n_out {
                    let dst = piece.ptrs[piece.n_in + j] + (r * cols + c0) * piece.size;
                    let src = s.buf[j * words..].as_ptr() as *const u8;
                    // SAFETY: `dst` is element `r * cols + c0` of output `j`,
                    // whose rows of `cols` elements the caller guarantees, so
                    // `len` elements fit; `src` holds the `len` elements the
                    // kernel just wrote; the two do not overlap (scratch is
                    // this module's own).
                    unsafe { stream_copy(src, dst as *mut u8, len * piece.size) };
                }
                c0 += len;
            }
        }
    });
    fence();
}

/// Copies `n` bytes with non-temporal stores where the destination is
/// 16-byte aligned (plain copies for the unaligned head and the tail).
///
/// # Safety
/// `src` readable and `dst` writable for `n` bytes, not overlapping.
unsafe fn stream_copy(src: *const u8, dst: *mut u8, n: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{__m128i, _mm_loadu_si128, _mm_stream_si128};
        let head = (dst as usize).wrapping_neg() % 16;
        let head = head.min(n);
        // SAFETY: the caller guarantees both ranges; `head <= n`.
        unsafe { std::ptr::copy_nonoverlapping(src, dst, head) };
        let mut i = head;
        while i + 16 <= n {
            // SAFETY: bytes `i..i + 16` are inside both ranges; `dst + i` is
            // 16-byte aligned (after the head), as `movntdq` requires; SSE2
            // is part of every x86-64.
            unsafe {
                let v = _mm_loadu_si128(src.add(i) as *const __m128i);
                _mm_stream_si128(dst.add(i) as *mut __m128i, v);
            }
            i += 16;
        }
        // SAFETY: the remaining `n - i` bytes are inside both ranges.
        unsafe { std::ptr::copy_nonoverlapping(src.add(i), dst.add(i), n - i) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        // SAFETY: the caller guarantees both ranges.
        unsafe { std::ptr::copy_nonoverlapping(src, dst, n) };
    }
}

/// Orders the streaming stores before anything that follows (they are
/// weakly ordered): later steps, and other threads after the join.
fn fence() {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `sfence` has no preconditions; SSE is part of every x86-64.
    unsafe {
        std::arch::x86_64::_mm_sfence()
    };
}
