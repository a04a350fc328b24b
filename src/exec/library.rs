//! Library steps: what is not fused into a native kernel. Matrix products
//! go to a real GEMM (`matrixmultiply`, through `ndarray`) writing straight
//! into the destination, with transposed operands read as strided views;
//! reshapes, transposes and broadcasts copy their input into the destination
//! in order; everything else uses the interpreter's routine.

use ndarray::{ArrayViewD, ArrayViewMut2, Axis, Ix2, IxDyn};

use super::ExecError;
use crate::graph::{broadcast_concrete, Op};
use crate::interp::eval_op;
use crate::value::Element;

/// What runs a library step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Routine {
    /// A matrix product, through the GEMM.
    Gemm,
    /// Data movement: the input copied in some order, or a fill.
    Copy,
    /// A loop of its own over lanes of one axis (`cumsum`, `argmax`).
    Scan,
    /// The interpreter's routine for the operation (reductions no kernel
    /// absorbs, `sum_to`, `count`): correct, but allocating and not native.
    Interpreter,
}

/// The routine that computes the library step `op`.
pub fn routine(op: &Op) -> Routine {
    match op {
        Op::MatMul => Routine::Gemm,
        Op::Reshape { .. }
        | Op::ReshapeLike
        | Op::ExpandDims { .. }
        | Op::StopGradient
        | Op::Identity
        | Op::Bind { .. }
        | Op::Transpose { .. }
        | Op::BroadcastTo { .. }
        | Op::BroadcastLike
        | Op::OnesLike
        | Op::ZerosLike
        | Op::Reverse { .. }
        | Op::Tile { .. } => Routine::Copy,
        Op::Cumsum { .. } | Op::ArgExtreme { .. } => Routine::Scan,
        _ => Routine::Interpreter,
    }
}

/// Computes `op` of `inputs` into `dst` (row-major, of `shape`).
pub fn run<T: Element>(
    op: &Op,
    inputs: &[ArrayViewD<'_, T>],
    dst: &mut [T],
    shape: &[usize],
) -> Result<(), ExecError> {
    let moved = match (op, inputs) {
        (Op::MatMul, [a, b]) => return matmul_into(a, b, dst, shape, false),
        // data movement: the output is the input read in some order
        (
            Op::Reshape { .. }
            | Op::ReshapeLike
            | Op::ExpandDims { .. }
            | Op::StopGradient
            | Op::Identity
            | Op::Bind { .. },
            [x, ..],
        ) => Some(x.view()),
        (Op::Transpose { perm }, [x]) => Some(match perm {
            Some(p) => x.view().permuted_axes(IxDyn(p)),
            None => x.view().reversed_axes(),
        }),
        (Op::BroadcastTo { .. } | Op::BroadcastLike, [x, ..]) => x.broadcast(IxDyn(shape)),
        (Op::Reverse { axes }, [x]) => {
            let mut v = x.view();
            for &a in axes {
                if a >= v.ndim() {
                    return Err(ExecError::Internal("reverse axis"));
                }
                v.invert_axis(Axis(a));
            }
            Some(v)
        }
        (Op::OnesLike | Op::ZerosLike, _) => {
            let v = if matches!(op, Op::OnesLike) {
                T::one()
            } else {
                T::zero()
            };
            dst.fill(v);
            return Ok(());
        }
        _ => None,
    };
    if let Some(v) = moved {
        return copy_in_order(&v, dst);
    }
    match (op, inputs) {
        (Op::Tile { multiples }, [x]) => return tile_into(x, multiples, dst),
        (
            Op::Cumsum {
                axis,
                exclusive,
                reverse,
            },
            [x],
        ) => return super::scan::cumsum_into(x, *axis, *exclusive, *reverse, dst, shape),
        (Op::ArgExtreme { axis, min }, [x]) => {
            return super::scan::arg_extreme_into(x, *axis, *min, dst, shape)
        }
        _ => {}
    }
    // the rest (reductions the kernels do not absorb, `sum_to`, `count`)
    // through the interpreter's routine, which allocates its result; a step
    // `routine` promises native code for never gets here
    if routine(op) != Routine::Interpreter {
        return Err(ExecError::Internal("a native library step has no routine"));
    }
    let r = eval_op(op, inputs).map_err(|detail| ExecError::Library {
        op: op.name(),
        detail,
    })?;
    if r.shape() != shape || r.len() != dst.len() {
        return Err(ExecError::Internal("library result shape"));
    }
    for (d, v) in dst.iter_mut().zip(r.iter()) {
        *d = *v;
    }
    Ok(())
}

/// `dst += a @ b` (a row block's share of a product that contracts the
/// batch axis), through the GEMM.
pub fn accumulate_product<T: Element>(
    op: &Op,
    inputs: &[ArrayViewD<'_, T>],
    dst: &mut [T],
    shape: &[usize],
) -> Result<(), ExecError> {
    match (op, inputs) {
        (Op::MatMul, [a, b]) => matmul_into(a, b, dst, shape, true),
        _ => Err(ExecError::Internal("accumulated step is not a product")),
    }
}

/// `tile(x, multiples)` into `dst`: `x` viewed as `[1, d0, 1, d1, ...]`
/// and broadcast to `[m0, d0, m1, d1, ...]` is the result in row-major
/// order.
fn tile_into<T: Element>(
    x: &ArrayViewD<'_, T>,
    multiples: &[usize],
    dst: &mut [T],
) -> Result<(), ExecError> {
    if multiples.len() != x.ndim() {
        return Err(ExecError::Internal("tile multiples"));
    }
    let spread: Vec<usize> = x.shape().iter().flat_map(|&d| [1, d]).collect();
    let split: Vec<usize> = multiples
        .iter()
        .zip(x.shape())
        .flat_map(|(&m, &d)| [m, d])
        .collect();
    let std = x.as_standard_layout();
    let spread = std
        .view()
        .into_shape_with_order(IxDyn(&spread))
        .map_err(|_| ExecError::Internal("tile view"))?;
    let v = spread
        .broadcast(IxDyn(&split))
        .ok_or(ExecError::Internal("tile broadcast"))?;
    copy_in_order(&v, dst)
}

/// Writes the elements of `v` in row-major order into `dst` (of the same
/// length), without allocating.
fn copy_in_order<T: Element>(v: &ArrayViewD<'_, T>, dst: &mut [T]) -> Result<(), ExecError> {
    if v.len() != dst.len() {
        return Err(ExecError::Internal("library result size"));
    }
    match v.as_slice() {
        Some(s) => dst.copy_from_slice(s),
        None => {
            for (d, x) in dst.iter_mut().zip(v.iter()) {
                *d = *x;
            }
        }
    }
    Ok(())
}

/// `a @ b` over the last two axes, batch axes broadcast, into `dst` (added
/// to what `dst` holds with `accumulate`).
fn matmul_into<T: Element>(
    a: &ArrayViewD<'_, T>,
    b: &ArrayViewD<'_, T>,
    dst: &mut [T],
    shape: &[usize],
    accumulate: bool,
) -> Result<(), ExecError> {
    let bad = |detail: &str| ExecError::Library {
        op: "matmul",
        detail: detail.to_string(),
    };
    let (sa, sb) = (a.shape(), b.shape());
    if sa.len() < 2 || sb.len() < 2 {
        return Err(bad("operands must be at least 2-D"));
    }
    let (m, k) = (sa[sa.len() - 2], sa[sa.len() - 1]);
    let (k2, n) = (sb[sb.len() - 2], sb[sb.len() - 1]);
    if k != k2 {
        return Err(bad("inner dimensions do not match"));
    }
    if sa.len() == 2 && sb.len() == 2 {
        // no batch axes: no index bookkeeping (and no allocation here)
        if shape != [m, n] || dst.len() != m * n {
            return Err(ExecError::Internal("matmul result shape"));
        }
        let rank = |_| ExecError::Internal("matmul operand rank");
        let ai = a.view().into_dimensionality::<Ix2>().map_err(rank)?;
        let bi = b.view().into_dimensionality::<Ix2>().map_err(rank)?;
        return product_2d(&ai, &bi, dst, accumulate);
    }
    let batch = broadcast_concrete(&sa[..sa.len() - 2], &sb[..sb.len() - 2])
        .ok_or_else(|| bad("batch axes cannot broadcast"))?;
    let mut full_a = batch.clone();
    full_a.extend([m, k]);
    let mut full_b = batch.clone();
    full_b.extend([k, n]);
    let mut full_c = batch.clone();
    full_c.extend([m, n]);
    if full_c != shape || dst.len() != full_c.iter().product::<usize>() {
        return Err(ExecError::Internal("matmul result shape"));
    }
    let av = a
        .broadcast(IxDyn(&full_a))
        .ok_or_else(|| bad("broadcast"))?;
    let bv = b
        .broadcast(IxDyn(&full_b))
        .ok_or_else(|| bad("broadcast"))?;
    let nb: usize = batch.iter().product();
    let per = m * n;
    for i in 0..nb {
        // the i-th matrix of each operand, through any strides
        let mut ai = av.view();
        let mut bi = bv.view();
        let mut rest = i;
        for (d, &size) in batch.iter().enumerate().rev() {
            let idx = rest % size;
            rest /= size;
            ai.collapse_axis(Axis(d), idx);
            bi.collapse_axis(Axis(d), idx);
        }
        let ai = ai
            .index_axis_move_all_leading(batch.len())
            .into_dimensionality::<Ix2>()
            .map_err(|_| ExecError::Internal("matmul operand rank"))?;
        let bi = bi
            .index_axis_move_all_leading(batch.len())
            .into_dimensionality::<Ix2>()
            .map_err(|_| ExecError::Internal("matmul operand rank"))?;
        product_2d(&ai, &bi, &mut dst[i * per..(i + 1) * per], accumulate)?;
    }
    Ok(())
}

/// `c = a @ b` (or `c += a @ b` with `accumulate`) for one pair of
/// matrices, `c` row-major: streamed when `b` is one column and the layout
/// allows, else the GEMM.
fn product_2d<T: Element>(
    a: &ndarray::ArrayView2<'_, T>,
    b: &ndarray::ArrayView2<'_, T>,
    c: &mut [T],
    accumulate: bool,
) -> Result<(), ExecError> {
    let (m, n) = (a.nrows(), b.ncols());
    if !accumulate && n == 1 && gemv(a, b, c) {
        return Ok(());
    }
    let mut c =
        ArrayViewMut2::from_shape((m, n), c).map_err(|_| ExecError::Internal("matmul result"))?;
    let beta = if accumulate { T::one() } else { T::zero() };
    ndarray::linalg::general_mat_mul(T::one(), a, b, beta, &mut c);
    Ok(())
}

/// A matrix-vector product `c = a @ b` (b one column) in one streaming pass
/// over `a`, for the two layouts a GEMM handles worst: rows of `a`
/// contiguous (a dot product per row), or columns contiguous (`a` is a
/// transposed row-major matrix: `c += a[:, j] * b[j]` per column). Returns
/// `false` for other layouts.
fn gemv<T: Element>(
    a: &ndarray::ArrayView2<'_, T>,
    b: &ndarray::ArrayView2<'_, T>,
    c: &mut [T],
) -> bool {
    let (m, k) = a.dim();
    let Some(bs) = b.as_slice_memory_order().filter(|s| s.len() == k) else {
        return false;
    };
    if a.strides()[1] == 1 || k <= 1 {
        for (ci, row) in c.iter_mut().zip(a.rows()) {
            let Some(r) = row.to_slice() else {
                return false;
            };
            *ci = dot(r, bs);
        }
        return true;
    }
    if a.strides()[0] == 1 || m <= 1 {
        c.fill(T::zero());
        for (col, &bj) in a.columns().into_iter().zip(bs) {
            let Some(col) = col.to_slice() else {
                return false;
            };
            for (ci, &x) in c.iter_mut().zip(col) {
                *ci = *ci + x * bj;
            }
        }
        return true;
    }
    false
}

/// A dot product with eight partial sums, so the loop vectorizes.
fn dot<T: Element>(x: &[T], y: &[T]) -> T {
    let mut acc = [T::zero(); 8];
    let (xc, xr) = x.split_at(x.len() - x.len() % 8);
    let (yc, yr) = y.split_at(xc.len().min(y.len()));
    for (xs, ys) in xc.chunks_exact(8).zip(yc.chunks_exact(8)) {
        for l in 0..8 {
            acc[l] = acc[l] + xs[l] * ys[l];
        }
    }
    let mut total =
        ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (&a, &b) in xr.iter().zip(yr) {
        total = total + a * b;
    }
    total
}

/// Drops `count` leading axes that were collapsed to length 1.
trait DropLeading<'a, T> {
    fn index_axis_move_all_leading(self, count: usize) -> ArrayViewD<'a, T>;
}

impl<'a, T> DropLeading<'a, T> for ArrayViewD<'a, T> {
    fn index_axis_move_all_leading(self, count: usize) -> ArrayViewD<'a, T> {
        let mut v = self;
        for _ in 0..count {
            v = v.index_axis_move(Axis(0), 0);
        }
        v
    }
}
