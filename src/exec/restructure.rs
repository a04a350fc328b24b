//! Library steps that move elements by index, written into the step's
//! destination without allocating: slices and their gradient, padding,
//! concatenation through strided views; gathers, their scatter-add
//! gradient and one-hot rows by index, every index checked before any
//! element is read.

use ndarray::{ArrayBase, ArrayViewD, ArrayViewMutD, Axis, IxDyn, RawData, Slice};

use super::ExecError;
use crate::graph::{hot_index, index_value, resolve_slice, split_at_axis, AxisSlice, SliceItem};
use crate::value::Element;

fn dst_view<'a, T>(dst: &'a mut [T], shape: &[usize]) -> Result<ArrayViewMutD<'a, T>, ExecError> {
    ArrayViewMutD::from_shape(IxDyn(shape), dst)
        .map_err(|_| ExecError::Internal("library result shape"))
}

/// The ndarray slice that reads the resolved axis `a` in its order.
fn axis_slice(a: &AxisSlice) -> Slice {
    if a.len == 0 {
        return Slice::new(0, Some(0), 1);
    }
    let (start, step, last) = (a.start as isize, a.step as isize, a.len as isize - 1);
    if step > 0 {
        Slice::new(start, Some(start + last * step + 1), step)
    } else {
        // a negative step reads [lo, hi) from its back end
        Slice::new(start + last * step, Some(start + 1), step)
    }
}

/// Errors from slicing a shape the plan did not expect.
fn resolved(items: &[SliceItem], dims: &[usize]) -> Result<Vec<AxisSlice>, ExecError> {
    resolve_slice(items, dims).map_err(|e| ExecError::Library {
        op: "slice",
        detail: e.to_string(),
    })
}

/// `x[items]` as a view of `x`, read-only or mutable alike.
fn sliced<S: RawData>(mut v: ArrayBase<S, IxDyn>, items: &[AxisSlice]) -> ArrayBase<S, IxDyn> {
    for (k, a) in items.iter().enumerate() {
        v.slice_axis_inplace(Axis(k), axis_slice(a));
    }
    for (k, a) in items.iter().enumerate().rev() {
        if !a.kept {
            v = v.index_axis_move(Axis(k), 0);
        }
    }
    v
}

/// Writes `src` (of exactly the view's shape) into the view.
fn write<T: Element>(
    mut to: ArrayViewMutD<'_, T>,
    src: &ArrayViewD<'_, T>,
) -> Result<(), ExecError> {
    if to.shape() != src.shape() {
        return Err(ExecError::Internal("library operand shape"));
    }
    to.assign(src);
    Ok(())
}

/// `x[items]` into `dst`.
pub fn slice_into<T: Element>(
    x: &ArrayViewD<'_, T>,
    items: &[SliceItem],
    dst: &mut [T],
    shape: &[usize],
) -> Result<(), ExecError> {
    let axes = resolved(items, x.shape())?;
    write(dst_view(dst, shape)?, &sliced(x.view(), &axes))
}

/// Zeros of `shape` with `g` where a slice of that shape reads.
pub fn slice_grad_into<T: Element>(
    g: &ArrayViewD<'_, T>,
    items: &[SliceItem],
    dst: &mut [T],
    shape: &[usize],
) -> Result<(), ExecError> {
    let axes = resolved(items, shape)?;
    dst.fill(T::zero());
    write(sliced(dst_view(dst, shape)?, &axes), g)
}

/// `x` with zeros around it into `dst`.
pub fn pad_into<T: Element>(
    x: &ArrayViewD<'_, T>,
    widths: &[(usize, usize)],
    dst: &mut [T],
    shape: &[usize],
) -> Result<(), ExecError> {
    if widths.len() != x.ndim() || shape.len() != x.ndim() {
        return Err(ExecError::Internal("pad widths"));
    }
    dst.fill(T::zero());
    let mut to = dst_view(dst, shape)?;
    for (k, (&(before, _), &n)) in widths.iter().zip(x.shape()).enumerate() {
        to.slice_axis_inplace(Axis(k), Slice::from(before..before + n));
    }
    write(to, x)
}

/// The operands one after the other along `axis`, into `dst`.
pub fn concat_into<T: Element>(
    xs: &[ArrayViewD<'_, T>],
    axis: usize,
    dst: &mut [T],
    shape: &[usize],
) -> Result<(), ExecError> {
    let mut to = dst_view(dst, shape)?;
    if axis >= to.ndim() {
        return Err(ExecError::Internal("concat axis"));
    }
    let mut offset = 0;
    for x in xs {
        let n = x.shape().get(axis).copied().unwrap_or(0);
        let part = to
            .view_mut()
            .slice_axis_move(Axis(axis), Slice::from(offset..offset + n));
        write(part, x)?;
        offset += n;
    }
    if offset != shape[axis] {
        return Err(ExecError::Internal("concat sizes"));
    }
    Ok(())
}

/// The indices as positions in `[0, n)`, checked before anything is read:
/// the first bad one is the error, naming `op`.
fn checked_indices<T: Element>(
    op: &'static str,
    idx: &ArrayViewD<'_, T>,
    n: usize,
) -> Result<Vec<usize>, ExecError> {
    idx.iter()
        .map(|v| index_value(v.widen(), n).map_err(|detail| ExecError::Library { op, detail }))
        .collect()
}

/// `gather(params, indices, axis)` into `dst`: whole runs of the axes after
/// `axis` copied per index.
pub fn gather_into<T: Element>(
    params: &ArrayViewD<'_, T>,
    idx: &ArrayViewD<'_, T>,
    axis: usize,
    dst: &mut [T],
) -> Result<(), ExecError> {
    let (outer, n, inner) = split_at_axis(params.shape(), axis);
    let picks = checked_indices("gather", idx, n)?;
    let p = params.as_standard_layout();
    let src = p.as_slice().ok_or(ExecError::Internal("gather layout"))?;
    if dst.len() != outer * picks.len() * inner || src.len() != outer * n * inner {
        return Err(ExecError::Internal("gather result shape"));
    }
    if dst.is_empty() {
        return Ok(());
    }
    for (a, rows) in dst.chunks_exact_mut(picks.len() * inner.max(1)).enumerate() {
        for (row, &k) in rows.chunks_exact_mut(inner.max(1)).zip(&picks) {
            let at = (a * n + k) * inner;
            row.copy_from_slice(&src[at..at + inner]);
        }
    }
    Ok(())
}

/// `gather_grad(g, indices, like, axis)` into `dst` (of `like`'s shape):
/// zeros, then each run of `g` added at its index.
pub fn gather_grad_into<T: Element>(
    g: &ArrayViewD<'_, T>,
    idx: &ArrayViewD<'_, T>,
    axis: usize,
    dst: &mut [T],
    shape: &[usize],
) -> Result<(), ExecError> {
    let (outer, n, inner) = split_at_axis(shape, axis);
    let picks = checked_indices("gather", idx, n)?;
    let gs = g.as_standard_layout();
    let src = gs
        .as_slice()
        .ok_or(ExecError::Internal("gather_grad layout"))?;
    if src.len() != outer * picks.len() * inner || dst.len() != outer * n * inner {
        return Err(ExecError::Internal("gather_grad shapes"));
    }
    dst.fill(T::zero());
    if src.is_empty() {
        return Ok(());
    }
    for (a, runs) in src.chunks_exact(picks.len() * inner).enumerate() {
        for (run, &k) in runs.chunks_exact(inner).zip(&picks) {
            let at = (a * n + k) * inner;
            for (d, &v) in dst[at..at + inner].iter_mut().zip(run) {
                *d = *d + v;
            }
        }
    }
    Ok(())
}

/// `one_hot(indices, depth)` into `dst`; with `strict` (the labels of the
/// sparse cross-entropy) an index outside `[0, depth)` is an error.
pub fn one_hot_into<T: Element>(
    idx: &ArrayViewD<'_, T>,
    depth: usize,
    strict: bool,
    dst: &mut [T],
) -> Result<(), ExecError> {
    if dst.len() != idx.len() * depth {
        return Err(ExecError::Internal("one_hot result shape"));
    }
    let op = if strict {
        "sparse_softmax_cross_entropy"
    } else {
        "one_hot"
    };
    // checked whole first, so that an error leaves nothing half written
    let hot = idx
        .iter()
        .map(|v| hot_index(v.widen(), depth, strict))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|detail| ExecError::Library { op, detail })?;
    dst.fill(T::zero());
    if depth == 0 {
        return Ok(());
    }
    for (row, k) in dst.chunks_exact_mut(depth).zip(hot) {
        if let Some(k) = k {
            row[k] = T::one();
        }
    }
    Ok(())
}
