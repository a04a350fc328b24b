//! Library steps: what is not fused into a native kernel. Matrix products
//! go to a real GEMM (`matrixmultiply`, through `ndarray`) writing straight
//! into the destination, with transposed operands read as strided views;
//! reshapes, transposes and broadcasts copy their input into the destination
//! in order; slices, padding, concatenation and gathers move elements by
//! index ([`super::restructure`]); convolutions are GEMMs over the
//! windows and poolings walk them ([`super::window`]); reductions no kernel
//! absorbs combine elements into their result ([`super::reduce`]). No step
//! runs the interpreter's routines.

use ndarray::{ArrayViewD, ArrayViewMut2, Axis, Ix2, IxDyn};

use super::{reduce, restructure, window, ExecError};
use crate::graph::{broadcast_concrete, Op, ReduceOp};
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
    /// Elements combined into the result element they reduce to
    /// (reductions no kernel absorbs, `sum_to`, `count`).
    Reduce,
    /// Windows walked over an image (pooling and its gradients).
    Window,
    /// Elements moved by index (`gather`, its gradient, `one_hot`), every
    /// index checked before anything is read.
    Index,
}

/// The routine that computes the library step `op`; `None` for the
/// operations that never are one (leaves; elementwise work, which kernels
/// do; the composites `fuse` writes out as kernels).
pub fn routine(op: &Op) -> Option<Routine> {
    Some(match op {
        Op::MatMul
        | Op::Conv2d { .. }
        | Op::Conv2dBackpropInput { .. }
        | Op::Conv2dBackpropFilter { .. } => Routine::Gemm,
        Op::MaxPool2d { .. }
        | Op::MaxPoolGrad { .. }
        | Op::MaxPoolGradGrad { .. }
        | Op::AvgPool2d { .. }
        | Op::AvgPoolGrad { .. } => Routine::Window,
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
        | Op::Tile { .. }
        | Op::Slice { .. }
        | Op::SliceGrad { .. }
        | Op::Pad { .. }
        | Op::Concat { .. } => Routine::Copy,
        Op::Gather { .. } | Op::GatherGrad { .. } | Op::OneHot { .. } | Op::LabelOneHot { .. } => {
            Routine::Index
        }
        Op::Cumsum { .. } | Op::Cumprod { .. } | Op::ArgExtreme { .. } => Routine::Scan,
        Op::Reduce {
            op: ReduceOp::Sum | ReduceOp::Mean | ReduceOp::Max | ReduceOp::Min | ReduceOp::Prod,
            ..
        }
        | Op::SumTo
        | Op::Count { .. } => Routine::Reduce,
        Op::Placeholder { .. }
        | Op::Constant(_)
        | Op::Unary(_)
        | Op::Binary(_)
        | Op::Where
        | Op::Reduce {
            op: ReduceOp::LogSumExp,
            ..
        }
        | Op::Softmax { .. }
        | Op::LogSoftmax { .. }
        | Op::SoftmaxCrossEntropy
        | Op::SparseSoftmaxCrossEntropy => return None,
    })
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
        ) => return super::scan::cumsum_into(x, *axis, *exclusive, *reverse, false, dst, shape),
        (
            Op::Cumprod {
                axis,
                exclusive,
                reverse,
            },
            [x],
        ) => return super::scan::cumsum_into(x, *axis, *exclusive, *reverse, true, dst, shape),
        (Op::ArgExtreme { axis, min }, [x]) => {
            return super::scan::arg_extreme_into(x, *axis, *min, dst, shape)
        }
        (&Op::Conv2d { strides, padding }, [x, f]) => {
            return window::conv2d_into(x, f, strides, padding, dst)
        }
        (&Op::Conv2dBackpropInput { strides, padding }, [g, f, like]) => {
            return window::conv2d_backprop_input_into(g, f, strides, padding, dst, like.shape())
        }
        (&Op::Conv2dBackpropFilter { strides, padding }, [x, g, like]) => {
            return window::conv2d_backprop_filter_into(x, g, strides, padding, dst, like.shape())
        }
        (Op::MaxPool2d { window: win }, [x]) => return window::max_pool_into(x, win, dst),
        (Op::MaxPoolGrad { window: win }, [x, g]) => {
            return window::max_pool_grad_into(x, g, win, dst)
        }
        (Op::MaxPoolGradGrad { window: win }, [x, gg]) => {
            return window::max_pool_grad_grad_into(x, gg, win, dst)
        }
        (Op::AvgPool2d { window: win }, [x]) => return window::avg_pool_into(x, win, dst),
        (Op::AvgPoolGrad { window: win }, [g, like]) => {
            return window::avg_pool_grad_into(g, like.shape(), win, dst)
        }
        (Op::Reduce { op, axes, .. }, [x]) => {
            return reduce::reduce_into(*op, x, axes.as_deref(), dst)
        }
        (Op::SumTo, [g, like]) => return reduce::sum_to_into(g, like.shape(), dst),
        (Op::Count { axes }, [x]) => {
            let n: usize = match axes {
                None => x.len(),
                Some(ax) => ax
                    .iter()
                    .map(|&a| x.shape().get(a).copied().unwrap_or(1))
                    .product(),
            };
            dst.fill(T::from_f64(n as f64));
            return Ok(());
        }
        (Op::Slice { items }, [x]) => return restructure::slice_into(x, items, dst, shape),
        (Op::SliceGrad { items }, [g, _]) => {
            return restructure::slice_grad_into(g, items, dst, shape)
        }
        (Op::Pad { widths }, [x]) => return restructure::pad_into(x, widths, dst, shape),
        (Op::Concat { axis }, xs) => return restructure::concat_into(xs, *axis, dst, shape),
        (Op::Gather { axis }, [p, i]) => return restructure::gather_into(p, i, *axis, dst),
        (Op::GatherGrad { axis }, [g, i, _]) => {
            return restructure::gather_grad_into(g, i, *axis, dst, shape)
        }
        (Op::OneHot { depth }, [i]) => return restructure::one_hot_into(i, *depth, false, dst),
        (Op::LabelOneHot { depth }, [i]) => return restructure::one_hot_into(i, *depth, true, dst),
        _ => {}
    }
    Err(ExecError::Internal(
        "a library step without a native routine",
    ))
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
pub(super) fn product_2d<T: Element>(
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
