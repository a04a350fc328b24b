//! Slicing, padding, concatenation, gathering, one-hot encoding and the
//! sparse cross-entropy, written as plainly as possible: every result
//! element found from its index by the definition.

use ndarray::{ArrayD, ArrayViewD, Axis, Dimension, IxDyn};

use super::kernels::KernelError;
use crate::graph::{
    hot_index, index_value, infer, pairwise_sum, resolve_slice, split_at_axis, AxisSlice, BinaryOp,
    DType, Op, Shape, SliceItem,
};
use crate::value::Element;

/// The result's shape by shape inference on the actual shapes, so that a
/// mismatch is described as at build time.
pub fn result_dims<T: Element>(
    op: &Op,
    xs: &[ArrayViewD<'_, T>],
) -> Result<Vec<usize>, KernelError> {
    let shapes: Vec<Shape> = xs.iter().map(|x| Shape::known(x.shape())).collect();
    let info: Vec<(DType, &Shape)> = shapes.iter().map(|s| (DType::F64, s)).collect();
    let (_, shape) = infer(op, &info, DType::F64, None).map_err(|e| e.to_string())?;
    shape
        .concrete()
        .ok_or_else(|| "the result's shape is unknown".to_string())
}

/// The operand's index that element `ix` of the (unreduced) slice reads.
fn source(resolved: &[AxisSlice], ix: &[usize]) -> Vec<usize> {
    resolved
        .iter()
        .zip(ix)
        .map(|(a, &k)| (a.start as i64 + k as i64 * a.step) as usize)
        .collect()
}

fn lens(resolved: &[AxisSlice]) -> Vec<usize> {
    resolved.iter().map(|a| a.len).collect()
}

/// `a` in row-major order, reshaped (an array from `concatenate` along an
/// inner axis is not row-major, and a reshape reads row-major order).
fn into_dims<T: Element>(a: ArrayD<T>, dims: &[usize]) -> Result<ArrayD<T>, KernelError> {
    a.as_standard_layout()
        .into_owned()
        .into_shape_with_order(IxDyn(dims))
        .map_err(|e| e.to_string())
}

/// `x[items]`.
pub fn slice<T: Element>(
    x: &ArrayViewD<'_, T>,
    items: &[SliceItem],
) -> Result<ArrayD<T>, KernelError> {
    let resolved = resolve_slice(items, x.shape()).map_err(|e| e.to_string())?;
    let full = ArrayD::from_shape_fn(IxDyn(&lens(&resolved)), |ix| {
        x[IxDyn(&source(&resolved, ix.slice()))]
    });
    into_dims(full, &crate::graph::sliced_dims(&resolved))
}

/// Zeros of `like`'s shape with `g` where `like[items]` reads.
pub fn slice_grad<T: Element>(
    g: &ArrayViewD<'_, T>,
    like: &[usize],
    items: &[SliceItem],
) -> Result<ArrayD<T>, KernelError> {
    let resolved = resolve_slice(items, like).map_err(|e| e.to_string())?;
    let full = into_dims(g.to_owned(), &lens(&resolved))?;
    let mut out = ArrayD::zeros(IxDyn(like));
    for (ix, &v) in full.indexed_iter() {
        out[IxDyn(&source(&resolved, ix.slice()))] = v;
    }
    Ok(out)
}

/// `x` with zeros around it.
pub fn pad<T: Element>(
    x: &ArrayViewD<'_, T>,
    widths: &[(usize, usize)],
    dims: &[usize],
) -> Result<ArrayD<T>, KernelError> {
    let mut out = ArrayD::zeros(IxDyn(dims));
    for (ix, &v) in x.indexed_iter() {
        let at: Vec<usize> = ix
            .slice()
            .iter()
            .zip(widths)
            .map(|(&i, w)| i + w.0)
            .collect();
        out[IxDyn(&at)] = v;
    }
    Ok(out)
}

/// The operands one after the other along `axis`.
pub fn concat<T: Element>(xs: &[ArrayViewD<'_, T>], axis: usize) -> Result<ArrayD<T>, KernelError> {
    ndarray::concatenate(Axis(axis), xs).map_err(|e| e.to_string())
}

/// The indices as integers in `[0, n)`, or the first bad one's message.
fn indices<T: Element>(idx: &ArrayViewD<'_, T>, n: usize) -> Result<Vec<usize>, KernelError> {
    idx.iter().map(|v| index_value(v.widen(), n)).collect()
}

/// `params` read at each index along `axis`.
pub fn gather<T: Element>(
    params: &ArrayViewD<'_, T>,
    idx: &ArrayViewD<'_, T>,
    axis: usize,
    dims: &[usize],
) -> Result<ArrayD<T>, KernelError> {
    let (outer, n, inner) = split_at_axis(params.shape(), axis);
    let picks = indices(idx, n)?;
    let p = into_dims(params.to_owned(), &[outer, n, inner])?;
    let out = ArrayD::from_shape_fn(IxDyn(&[outer, picks.len(), inner]), |ix| {
        p[IxDyn(&[ix[0], picks[ix[1]], ix[2]])]
    });
    into_dims(out, dims)
}

/// Zeros of `like`'s shape with each slice of `g` added at its index.
pub fn gather_grad<T: Element>(
    g: &ArrayViewD<'_, T>,
    idx: &ArrayViewD<'_, T>,
    like: &[usize],
    axis: usize,
) -> Result<ArrayD<T>, KernelError> {
    let (outer, n, inner) = split_at_axis(like, axis);
    let picks = indices(idx, n)?;
    let g = into_dims(g.to_owned(), &[outer, picks.len(), inner])?;
    let mut out = ArrayD::zeros(IxDyn(&[outer, n, inner]));
    for ((a, m, b), &v) in g.indexed_iter().map(|(ix, v)| ((ix[0], ix[1], ix[2]), v)) {
        out[IxDyn(&[a, picks[m], b])] = out[IxDyn(&[a, picks[m], b])] + v;
    }
    into_dims(out, like)
}

/// 1 where the last axis's position is the index, else 0; an index outside
/// `[0, depth)` is an error when `strict` (the labels of the sparse
/// cross-entropy), a row of zeros otherwise.
pub fn one_hot<T: Element>(
    idx: &ArrayViewD<'_, T>,
    depth: usize,
    strict: bool,
) -> Result<ArrayD<T>, KernelError> {
    let mut dims = idx.shape().to_vec();
    dims.push(depth);
    let mut out = ArrayD::zeros(IxDyn(&dims));
    for (ix, v) in idx.indexed_iter() {
        let hot = hot_index(v.widen(), depth, strict).map_err(|e| match strict {
            true => format!("a label of sparse_softmax_cross_entropy: {e}"),
            false => e,
        })?;
        if let Some(k) = hot {
            let mut at = ix.slice().to_vec();
            at.push(k);
            out[IxDyn(&at)] = T::one();
        }
    }
    Ok(out)
}

/// `log(sum(exp(shifted))) - shifted[label]` per row of the last axis,
/// `shifted` the logits less their maximum (TensorFlow's kernel).
pub fn sparse_cross_entropy<T: Element>(
    labels: &ArrayViewD<'_, T>,
    logits: &ArrayViewD<'_, T>,
    dims: &[usize],
) -> Result<ArrayD<T>, KernelError> {
    let classes = logits.shape().last().copied().unwrap_or(0);
    let rows = labels.len();
    let picks = indices(labels, classes)?;
    let z = into_dims(logits.to_owned(), &[rows, classes])?;
    let mut out = Vec::with_capacity(rows);
    for (r, row) in z.outer_iter().enumerate() {
        let m = row
            .iter()
            .fold(T::neg_infinity(), |a, &b| BinaryOp::Maximum.eval(a, b));
        let s = pairwise_sum(&row.iter().map(|&v| (v - m).exp()).collect::<Vec<T>>());
        out.push(s.ln() - (row[picks[r]] - m));
    }
    into_dims(
        ArrayD::from_shape_vec(IxDyn(&[rows]), out).map_err(|e| e.to_string())?,
        dims,
    )
}
