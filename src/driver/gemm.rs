//! Matrix products as native code in the driver: a register-blocked GEMM
//! in Cranelift IR, so an object file needs no library for them.
//!
//! `C = A @ B` over the last two axes, batch axes broadcast. Blocks of
//! [`ROWS`] rows of `C` are computed [`VECS`] vectors of columns at a time
//! (a column block of `B` packed into contiguous rows first), each
//! accumulator walking the contracted axis in order, in chunks of [`KC`]
//! from zero, with a fused multiply-add where the target has one: every
//! element of `C` is the same sum whatever block computes it, and the same
//! sum `matrixmultiply` makes.

use cranelift_codegen::ir::{FuncRef, InstBuilder, Value};
use cranelift_frontend::Variable;

use super::emit::{contiguous, Em};
use super::gemv::Gemv;
use super::moves::View;
use crate::jit::ops;

/// Rows of `C` per block.
pub const ROWS: usize = 4;
/// Vectors of columns per block.
pub const VECS: usize = 2;

/// The contracted axis is summed in chunks of this many steps, each from
/// zero, the chunks added in order: the blocking of `matrixmultiply` (its
/// `KC` for `f32` and `f64`), so that the JIT, which calls it, and an
/// object file, which runs this code, compute the same bits.
pub const KC: usize = 256;

/// Bytes of packed `B` per row of the contracted axis: one block's columns
/// (`VECS` vectors of 16 bytes).
pub const PACK_ROW_BYTES: usize = VECS * 16;

/// A matrix product, worked out from its operands' views: the result's
/// batch axes, each operand's strides along them, and one pair of matrices.
#[derive(Clone, Debug)]
pub struct Product {
    batch: Vec<usize>,
    /// Strides along the batch axes of `a`, `b` and the result.
    strides: [Vec<isize>; 3],
    /// The first elements of `a` and `b`.
    offsets: [isize; 2],
    mat: Mat,
}

impl Product {
    /// `a @ b` (`a` `[.., m, k]`, `b` `[.., k, n]`, batch axes broadcast)
    /// into a row-major result of `shape`; `None` when they do not fit.
    pub fn new(a: &View, b: &View, shape: &[usize]) -> Option<Self> {
        let r = shape.len();
        let (ra, rb) = (a.dims.len(), b.dims.len());
        if r < 2 || ra < 2 || rb < 2 {
            return None;
        }
        let (m, n, k) = (shape[r - 2], shape[r - 1], a.dims[ra - 1]);
        if a.dims[ra - 2] != m || b.dims[rb - 2] != k || b.dims[rb - 1] != n {
            return None;
        }
        let batch = &shape[..r - 2];
        // each operand's batch axes broadcast to the result's
        let batch_strides = |v: &View| -> Option<Vec<isize>> {
            let own = &v.dims[..v.dims.len() - 2];
            let lead = batch.len().checked_sub(own.len())?;
            let mut s = vec![0; batch.len()];
            for (i, &d) in own.iter().enumerate() {
                if d == batch[lead + i] {
                    s[lead + i] = v.strides[i];
                } else if d != 1 {
                    return None;
                }
            }
            Some(s)
        };
        let cs = contiguous(shape);
        Some(Product {
            batch: batch.to_vec(),
            strides: [batch_strides(a)?, batch_strides(b)?, cs[..r - 2].to_vec()],
            offsets: [a.off, b.off],
            mat: Mat {
                m,
                n,
                k,
                a_rs: a.strides[ra - 2],
                a_cs: a.strides[ra - 1],
                b_rs: b.strides[rb - 2],
                b_cs: b.strides[rb - 1],
            },
        })
    }

    /// The length of the contracted axis.
    pub fn contracted(&self) -> usize {
        self.mat.k
    }
}

/// `c = a @ b` (or, with `accumulate` non-zero, `c += a @ b`) for the JIT's
/// driver, through `matrixmultiply` (`c` row-major `m × n`, `a` and `b` of
/// any strides).
///
/// # Safety
/// `a` must be valid for reads of every element `a[i * rsa + p * csa]` of
/// `i < m`, `p < k`, `b` likewise for `b[p * rsb + j * csb]` of `j < n`,
/// and `c` valid for reads and writes of `m * n` elements overlapping
/// neither; the driver passes exactly the operands of a planned product.
pub unsafe extern "C" fn gradjit_gemm_f32(
    m: usize,
    k: usize,
    n: usize,
    a: *const f32,
    rsa: isize,
    csa: isize,
    b: *const f32,
    rsb: isize,
    csb: isize,
    c: *mut f32,
    accumulate: usize,
) {
    let beta = if accumulate != 0 { 1.0 } else { 0.0 };
    // SAFETY: the caller's guarantee (with beta 0, `c` is only written).
    unsafe {
        matrixmultiply::sgemm(
            m, k, n, 1.0, a, rsa, csa, b, rsb, csb, beta, c, n as isize, 1,
        )
    }
}

/// [`gradjit_gemm_f32`] for `f64`.
///
/// # Safety
/// As [`gradjit_gemm_f32`].
pub unsafe extern "C" fn gradjit_gemm_f64(
    m: usize,
    k: usize,
    n: usize,
    a: *const f64,
    rsa: isize,
    csa: isize,
    b: *const f64,
    rsb: isize,
    csb: isize,
    c: *mut f64,
    accumulate: usize,
) {
    let beta = if accumulate != 0 { 1.0 } else { 0.0 };
    // SAFETY: the caller's guarantee (with beta 0, `c` is only written).
    unsafe {
        matrixmultiply::dgemm(
            m, k, n, 1.0, a, rsa, csa, b, rsb, csb, beta, c, n as isize, 1,
        )
    }
}

/// The symbols a JIT driver imports for its products, by dtype size.
pub fn gemm_symbol(size: usize) -> &'static str {
    if size == 8 {
        "gradjit_gemm_f64"
    } else {
        "gradjit_gemm_f32"
    }
}

/// The addresses of the product symbols, for a JIT module.
pub fn jit_symbols() -> [(&'static str, *const u8); 2] {
    [
        ("gradjit_gemm_f32", gradjit_gemm_f32 as *const u8),
        ("gradjit_gemm_f64", gradjit_gemm_f64 as *const u8),
    ]
}

/// Columns of a block: vectors of lanes, or single elements.
#[derive(Clone, Copy)]
enum Cols {
    Vectors(usize),
    Scalars(usize),
}

impl Em<'_> {
    /// Emits `c = a @ b` (`accumulate`: `c += a @ b`) from the operands'
    /// base addresses.
    pub fn matmul(&mut self, p: &Product, a: Value, b: Value, c: Value, accumulate: bool) {
        let a0 = self.offset(a, p.offsets[0]);
        let b0 = self.offset(b, p.offsets[1]);
        let mat = p.mat;
        self.nest(&p.batch, &[a0, b0, c], &p.strides, &mut |e, q| {
            e.matmul_2d(&mat, q[0], q[1], q[2], accumulate);
        });
    }

    fn matmul_2d(&mut self, t: &Mat, a: Value, b: Value, c: Value, accumulate: bool) {
        if !accumulate && t.n == 1 {
            if let Some(g) = Gemv::of(t) {
                return self.gemv(t, g, a, b, c);
            }
        }
        if let Some(f) = self.gemm.filter(|_| t.m > 0 && t.n > 0 && t.k > 0) {
            return self.library_gemm(f, t, a, b, c, accumulate);
        }
        let lanes = ops::vector_of(self.lane).lane_count() as usize;
        let full = t.n / lanes;
        // column blocks: VECS vectors, single vectors, single columns
        let mut plan: Vec<(usize, Cols, usize)> = Vec::new();
        let mut j = 0;
        let wide = full / VECS;
        if wide > 0 {
            plan.push((j, Cols::Vectors(VECS), wide));
            j += wide * VECS * lanes;
        }
        let single = full % VECS;
        if single > 0 {
            plan.push((j, Cols::Vectors(1), single));
            j += single * lanes;
        }
        if t.n > j {
            plan.push((j, Cols::Scalars(1), t.n - j));
        }
        let rows_full = t.m / ROWS;
        let rows_left = t.m % ROWS;
        // (rows per block, blocks, first row)
        let row_groups = [(ROWS, rows_full, 0), (1, rows_left, rows_full * ROWS)];
        for &(j0, cols, count) in &plan {
            let b_j = self.offset(b, j0 as isize * t.b_cs);
            let c_j = self.offset(c, j0 as isize);
            match cols {
                Cols::Vectors(v) => {
                    let width = (v * lanes) as isize;
                    // each column block of B is packed into `k` contiguous
                    // rows first: B's own rows (a power of two apart, say)
                    // would fall into a few cache sets, and a transposed B
                    // reads as vectors too
                    let packed = Mat {
                        b_rs: width,
                        b_cs: 1,
                        ..*t
                    };
                    self.nest(
                        &[count],
                        &[b_j, c_j],
                        &[vec![width * t.b_cs], vec![width]],
                        &mut |e, q| {
                            let pack = e.pack;
                            e.copy(
                                &[t.k, width as usize],
                                q[0],
                                &[t.b_rs, t.b_cs],
                                pack,
                                &[width, 1],
                            );
                            for (rows, blocks, i0) in row_groups {
                                let a_i = e.offset(a, i0 as isize * t.a_rs);
                                let c_ij = e.offset(q[1], (i0 * t.n) as isize);
                                e.nest(
                                    &[blocks],
                                    &[a_i, c_ij],
                                    &[vec![rows as isize * t.a_rs], vec![(rows * t.n) as isize]],
                                    &mut |e, r| {
                                        e.block(&packed, rows, cols, r[0], pack, r[1], accumulate)
                                    },
                                );
                            }
                        },
                    );
                }
                Cols::Scalars(_) => {
                    for (rows, blocks, i0) in row_groups {
                        let a_i = self.offset(a, i0 as isize * t.a_rs);
                        let c_ij = self.offset(c_j, (i0 * t.n) as isize);
                        self.nest(
                            &[blocks, count],
                            &[a_i, b_j, c_ij],
                            &[
                                vec![rows as isize * t.a_rs, 0],
                                vec![0, t.b_cs],
                                vec![(rows * t.n) as isize, 1],
                            ],
                            &mut |e, q| e.block(t, rows, cols, q[0], q[1], q[2], accumulate),
                        );
                    }
                }
            }
        }
    }

    /// The product through the imported library GEMM.
    #[allow(clippy::too_many_arguments)]
    fn library_gemm(
        &mut self,
        f: FuncRef,
        t: &Mat,
        a: Value,
        b: Value,
        c: Value,
        accumulate: bool,
    ) {
        let ptr = self.ptr;
        let k = |e: &mut Self, v: i64| e.b.ins().iconst(ptr, v);
        let args = [
            k(self, t.m as i64),
            k(self, t.k as i64),
            k(self, t.n as i64),
            a,
            k(self, t.a_rs as i64),
            k(self, t.a_cs as i64),
            b,
            k(self, t.b_rs as i64),
            k(self, t.b_cs as i64),
            c,
            k(self, i64::from(accumulate)),
        ];
        self.b.ins().call(f, &args);
    }

    /// One block of `rows` rows and `cols` columns of `C`: the contracted
    /// axis in chunks of [`KC`], each summed from zero, the first stored
    /// (unless `accumulate`) and each later one added to `C`.
    #[allow(clippy::too_many_arguments)]
    fn block(
        &mut self,
        t: &Mat,
        rows: usize,
        cols: Cols,
        a: Value,
        b: Value,
        c: Value,
        accumulate: bool,
    ) {
        let chunks = t.k.div_ceil(KC).max(1);
        let last = t.k - (chunks - 1) * KC;
        let at = |e: &mut Self, ch: usize| {
            let pa = e.offset(a, (ch * KC) as isize * t.a_cs);
            let pb = e.offset(b, (ch * KC) as isize * t.b_rs);
            (pa, pb)
        };
        self.chunk(
            t,
            rows,
            cols,
            a,
            b,
            c,
            if chunks == 1 { last } else { KC },
            !accumulate,
        );
        if chunks > 2 {
            let (a1, b1) = at(self, 1);
            let step = [vec![KC as isize * t.a_cs], vec![KC as isize * t.b_rs]];
            self.nest(&[chunks - 2], &[a1, b1], &step, &mut |e, q| {
                e.chunk(t, rows, cols, q[0], q[1], c, KC, false)
            });
        }
        if chunks > 1 {
            let (al, bl) = at(self, chunks - 1);
            self.chunk(t, rows, cols, al, bl, c, last, false);
        }
    }

    /// `len` steps of the contracted axis for one block, summed from zero
    /// into registers, then stored into `C` (`first`) or added to it.
    #[allow(clippy::too_many_arguments)]
    fn chunk(
        &mut self,
        t: &Mat,
        rows: usize,
        cols: Cols,
        a: Value,
        b: Value,
        c: Value,
        len: usize,
        first: bool,
    ) {
        let vty = ops::vector_of(self.lane);
        let lanes = vty.lane_count() as isize;
        let (ty, per_row) = match cols {
            Cols::Vectors(v) => (vty, v),
            Cols::Scalars(s) => (self.lane, s),
        };
        let zero = ops::constant(&mut self.b, ty, 0.0);
        let accs: Vec<Variable> = (0..rows * per_row)
            .map(|_| {
                let v = self.b.declare_var(ty);
                self.b.def_var(v, zero);
                v
            })
            .collect();
        let size = self.size;
        let has_fma = self.cfg.has_fma;
        let lane = self.lane;
        let (a_rs, b_cs) = (t.a_rs, t.b_cs);
        self.nest(
            &[len],
            &[a, b],
            &[vec![t.a_cs], vec![t.b_rs]],
            &mut |e, q| {
                let mut bv = Vec::with_capacity(per_row);
                for u in 0..per_row {
                    let off = match cols {
                        Cols::Vectors(_) => u as isize * lanes * size as isize,
                        Cols::Scalars(_) => u as isize * b_cs * size as isize,
                    };
                    bv.push(e.load_at(ty, q[1], off as i64));
                }
                for r in 0..rows {
                    let x = e.load_at(lane, q[0], (r as isize * a_rs) as i64 * size);
                    let x = if ty.is_vector() {
                        e.b.ins().splat(ty, x)
                    } else {
                        x
                    };
                    for (u, &y) in bv.iter().enumerate() {
                        let acc = accs[r * per_row + u];
                        let s = e.b.use_var(acc);
                        let s = if has_fma {
                            e.b.ins().fma(x, y, s)
                        } else {
                            let p = e.b.ins().fmul(x, y);
                            e.b.ins().fadd(s, p)
                        };
                        e.b.def_var(acc, s);
                    }
                }
            },
        );
        for r in 0..rows {
            for u in 0..per_row {
                let v = self.b.use_var(accs[r * per_row + u]);
                let off = (r * t.n) as isize * size as isize
                    + match cols {
                        Cols::Vectors(_) => u as isize * lanes * size as isize,
                        Cols::Scalars(_) => u as isize * size as isize,
                    };
                let v = if first {
                    v
                } else {
                    let old = self.load_at(ty, c, off as i64);
                    self.b.ins().fadd(v, old)
                };
                self.store_at(v, c, off as i64);
            }
        }
    }
}

/// One pair of matrices: sizes and element strides.
#[derive(Clone, Copy, Debug)]
pub(super) struct Mat {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub a_rs: isize,
    pub a_cs: isize,
    pub b_rs: isize,
    pub b_cs: isize,
}
