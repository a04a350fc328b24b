//! One plain `ndarray` implementation per operation, generic over the element
//! type. No cleverness: this is the oracle.

use ndarray::{ArrayD, ArrayViewD, Axis, IxDyn, Zip};

use crate::graph::{
    broadcast_concrete, broadcasts_to, checked_product, pairwise_sum, reshape_dims, select,
    BinaryOp, Op, ReduceOp, UnaryOp,
};
use crate::value::Element;

/// A run-time shape problem, described for the message that names the op.
pub type KernelError = String;

/// Computes one node's value from its inputs' values.
///
/// Placeholders and constants are not handled here (they have no inputs to
/// compute from).
pub fn eval_op<T: Element>(op: &Op, xs: &[ArrayViewD<'_, T>]) -> Result<ArrayD<T>, KernelError> {
    match op {
        Op::Placeholder { .. } | Op::Constant(_) => Err("a leaf has no kernel".into()),
        Op::Unary(u) => Ok(unary(*u, &xs[0])),
        Op::Binary(b) => binary(*b, &xs[0], &xs[1]),
        Op::Where => where_(&xs[0], &xs[1], &xs[2]),
        Op::Reduce { op, axes, keepdims } => reduce(*op, &xs[0], axes.as_deref(), *keepdims),
        Op::Reshape { dims } => reshape(&xs[0], &resolve_reshape(xs[0].shape(), dims)?),
        Op::Transpose { perm } => transpose(&xs[0], perm.as_deref()),
        Op::BroadcastTo { dims } => broadcast(&xs[0], dims),
        Op::MatMul => matmul(&xs[0], &xs[1]),
        Op::StopGradient | Op::Identity | Op::Bind { .. } => Ok(xs[0].to_owned()),
        Op::SumTo => sum_to(&xs[0], xs[1].shape()),
        Op::BroadcastLike => broadcast(&xs[0], xs[1].shape()),
        Op::ReshapeLike => reshape(&xs[0], xs[1].shape()),
        Op::ExpandDims { axes } => expand_dims(&xs[0], axes),
        Op::OnesLike => Ok(ArrayD::from_elem(xs[0].raw_dim(), T::one())),
        Op::ZerosLike => Ok(ArrayD::from_elem(xs[0].raw_dim(), T::zero())),
        Op::Softmax { axis } => super::softmax::softmax(&xs[0], *axis, false),
        Op::LogSoftmax { axis } => super::softmax::softmax(&xs[0], *axis, true),
        Op::SoftmaxCrossEntropy => super::softmax::cross_entropy(&xs[0], &xs[1]),
        Op::Reverse { axes } => reverse(&xs[0], axes),
        Op::Cumsum {
            axis,
            exclusive,
            reverse,
        } => super::scan::cumsum(&xs[0], *axis, *exclusive, *reverse, false),
        Op::Cumprod {
            axis,
            exclusive,
            reverse,
        } => super::scan::cumsum(&xs[0], *axis, *exclusive, *reverse, true),
        Op::ArgExtreme { axis, min } => super::scan::arg_extreme(&xs[0], *axis, *min),
        Op::Tile { multiples } => tile(&xs[0], multiples),
        Op::Slice { .. }
        | Op::SliceGrad { .. }
        | Op::Pad { .. }
        | Op::Concat { .. }
        | Op::Gather { .. }
        | Op::GatherGrad { .. }
        | Op::OneHot { .. }
        | Op::LabelOneHot { .. }
        | Op::SparseSoftmaxCrossEntropy => restructure(op, xs),
        Op::Conv2d { .. }
        | Op::Conv2dBackpropInput { .. }
        | Op::Conv2dBackpropFilter { .. }
        | Op::MaxPool2d { .. }
        | Op::MaxPoolGrad { .. }
        | Op::MaxPoolGradGrad { .. }
        | Op::AvgPool2d { .. }
        | Op::AvgPoolGrad { .. } => windowed(op, xs),
        Op::Count { axes } => {
            let shape = xs[0].shape();
            check_axes(axes.as_deref(), shape.len())?;
            let n: usize = match axes {
                None => shape.iter().product(),
                Some(ax) => ax.iter().map(|&a| shape[a]).product(),
            };
            Ok(ArrayD::from_elem(IxDyn(&[]), T::from_f64(n as f64)))
        }
    }
}

/// The operations of [`super::structure`], their operands' shapes checked
/// by shape inference first.
fn restructure<T: Element>(op: &Op, xs: &[ArrayViewD<'_, T>]) -> Result<ArrayD<T>, KernelError> {
    use super::structure as s;
    let dims = s::result_dims(op, xs)?;
    match (op, xs) {
        (Op::Slice { items }, [x]) => s::slice(x, items),
        (Op::SliceGrad { items }, [g, like]) => s::slice_grad(g, like.shape(), items),
        (Op::Pad { widths }, [x]) => s::pad(x, widths, &dims),
        (Op::Concat { axis }, xs) => s::concat(xs, *axis),
        (Op::Gather { axis }, [p, i]) => s::gather(p, i, *axis, &dims),
        (Op::GatherGrad { axis }, [g, i, like]) => s::gather_grad(g, i, like.shape(), *axis),
        (Op::OneHot { depth }, [i]) => s::one_hot(i, *depth, false),
        (Op::LabelOneHot { depth }, [i]) => s::one_hot(i, *depth, true),
        (Op::SparseSoftmaxCrossEntropy, [l, z]) => s::sparse_cross_entropy(l, z, &dims),
        _ => Err(format!("`{}` got {} inputs", op.name(), xs.len())),
    }
}

/// Convolutions and poolings ([`super::window`]).
fn windowed<T: Element>(op: &Op, xs: &[ArrayViewD<'_, T>]) -> Result<ArrayD<T>, KernelError> {
    use super::window as w;
    match (op, xs) {
        (&Op::Conv2d { strides, padding }, [x, f]) => w::conv2d(x, f, strides, padding),
        (&Op::Conv2dBackpropInput { strides, padding }, [g, f, like]) => {
            w::conv2d_backprop_input(g, f, like.shape(), strides, padding)
        }
        (&Op::Conv2dBackpropFilter { strides, padding }, [x, g, like]) => {
            w::conv2d_backprop_filter(x, g, like.shape(), strides, padding)
        }
        (Op::MaxPool2d { window }, [x]) => w::max_pool(x, window),
        (Op::MaxPoolGrad { window }, [x, g]) => w::max_pool_grad(x, g, window),
        (Op::MaxPoolGradGrad { window }, [x, gg]) => w::max_pool_grad_grad(x, gg, window),
        (Op::AvgPool2d { window }, [x]) => w::avg_pool(x, window),
        (Op::AvgPoolGrad { window }, [g, like]) => w::avg_pool_grad(g, like.shape(), window),
        _ => Err(format!("`{}` got {} inputs", op.name(), xs.len())),
    }
}

fn reverse<T: Element>(x: &ArrayViewD<'_, T>, axes: &[usize]) -> Result<ArrayD<T>, KernelError> {
    check_axes(Some(axes), x.ndim())?;
    let mut v = x.view();
    for &a in axes {
        v.invert_axis(Axis(a));
    }
    Ok(v.as_standard_layout().into_owned())
}

/// Element `i` of the result is element `i mod dims` of `x`.
fn tile<T: Element>(x: &ArrayViewD<'_, T>, multiples: &[usize]) -> Result<ArrayD<T>, KernelError> {
    if multiples.len() != x.ndim() {
        return Err(format!(
            "{} multiples for a tensor of rank {}",
            multiples.len(),
            x.ndim()
        ));
    }
    let dims: Vec<usize> = x
        .shape()
        .iter()
        .zip(multiples)
        .map(|(d, m)| d * m)
        .collect();
    let mut out = ArrayD::zeros(IxDyn(&dims));
    for (idx, o) in out.indexed_iter_mut() {
        let at: Vec<usize> = (0..x.ndim()).map(|k| idx[k] % x.shape()[k]).collect();
        *o = x[IxDyn(&at)];
    }
    Ok(out)
}

fn unary<T: Element>(op: UnaryOp, x: &ArrayViewD<'_, T>) -> ArrayD<T> {
    x.mapv(|v| op.eval(v))
}

/// Two operands viewed at their common broadcast shape, and that shape.
type Broadcast<'a, T> = (ArrayViewD<'a, T>, ArrayViewD<'a, T>, Vec<usize>);

fn broadcast_views<'a, T>(
    a: &'a ArrayViewD<'_, T>,
    b: &'a ArrayViewD<'_, T>,
) -> Result<Broadcast<'a, T>, KernelError> {
    let out = broadcast_concrete(a.shape(), b.shape()).ok_or_else(|| {
        format!(
            "shapes {:?} and {:?} cannot broadcast together",
            a.shape(),
            b.shape()
        )
    })?;
    let av = a.broadcast(IxDyn(&out)).ok_or("broadcast failed")?;
    let bv = b.broadcast(IxDyn(&out)).ok_or("broadcast failed")?;
    Ok((av, bv, out))
}

fn binary<T: Element>(
    op: BinaryOp,
    a: &ArrayViewD<'_, T>,
    b: &ArrayViewD<'_, T>,
) -> Result<ArrayD<T>, KernelError> {
    let (av, bv, _) = broadcast_views(a, b)?;
    Ok(Zip::from(&av).and(&bv).map_collect(|&x, &y| op.eval(x, y)))
}

fn where_<T: Element>(
    c: &ArrayViewD<'_, T>,
    a: &ArrayViewD<'_, T>,
    b: &ArrayViewD<'_, T>,
) -> Result<ArrayD<T>, KernelError> {
    let ab = broadcast_concrete(a.shape(), b.shape());
    let out = ab
        .and_then(|ab| broadcast_concrete(c.shape(), &ab))
        .ok_or_else(|| {
            format!(
                "shapes {:?}, {:?} and {:?} cannot broadcast together",
                c.shape(),
                a.shape(),
                b.shape()
            )
        })?;
    let dim = IxDyn(&out);
    let (cv, av, bv) = (
        c.broadcast(dim.clone()).ok_or("broadcast failed")?,
        a.broadcast(dim.clone()).ok_or("broadcast failed")?,
        b.broadcast(dim).ok_or("broadcast failed")?,
    );
    Ok(Zip::from(&cv)
        .and(&av)
        .and(&bv)
        .map_collect(|&c, &x, &y| select(c, x, y)))
}

fn check_axes(axes: Option<&[usize]>, rank: usize) -> Result<(), KernelError> {
    match axes.and_then(|ax| ax.iter().find(|&&a| a >= rank)) {
        Some(a) => Err(format!("axis {a} is out of range for rank {rank}")),
        None => Ok(()),
    }
}

/// Reduces `x` over `axes` (all when `None`): the kept axes are moved to the
/// front, the reduced ones to the back, and each row is reduced in order by
/// [`ReduceOp::eval`]. Reducing no axis (an empty list, or every axis of a
/// scalar) returns `x` unchanged.
pub fn reduce<T: Element>(
    op: ReduceOp,
    x: &ArrayViewD<'_, T>,
    axes: Option<&[usize]>,
    keepdims: bool,
) -> Result<ArrayD<T>, KernelError> {
    let rank = x.ndim();
    check_axes(axes, rank)?;
    let is_reduced = |i: usize| axes.is_none_or(|ax| ax.contains(&i));
    let kept: Vec<usize> = (0..rank).filter(|&i| !is_reduced(i)).collect();
    let gone: Vec<usize> = (0..rank).filter(|&i| is_reduced(i)).collect();
    if gone.is_empty() {
        // reducing no axis is a copy, as in TensorFlow: `sum(x, [])` is `x`,
        // signs of zero included (a sum started from +0 would turn -0 into +0)
        return Ok(x.to_owned());
    }
    let perm: Vec<usize> = kept.iter().chain(gone.iter()).copied().collect();
    let rows: usize = kept.iter().map(|&i| x.shape()[i]).product();
    let cols: usize = gone.iter().map(|&i| x.shape()[i]).product();
    let moved = x.view().permuted_axes(perm);
    let flat = moved.as_standard_layout();
    let flat = flat
        .to_shape((rows, cols))
        .map_err(|e| format!("internal reshape failed: {e}"))?;
    let data: Vec<T> = flat
        .outer_iter()
        .map(|row| op.eval_pairwise(&row.to_vec()))
        .collect();
    let out_shape: Vec<usize> = (0..rank)
        .filter_map(|i| match (is_reduced(i), keepdims) {
            (false, _) => Some(x.shape()[i]),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect();
    ArrayD::from_shape_vec(out_shape, data).map_err(|e| e.to_string())
}

/// Resolves a reshape's `-1` against the actual element count.
pub fn resolve_reshape(from: &[usize], dims: &[i64]) -> Result<Vec<usize>, KernelError> {
    reshape_dims(from, dims).ok_or_else(|| format!("cannot reshape {from:?} into {dims:?}"))
}

fn reshape<T: Element>(x: &ArrayViewD<'_, T>, dims: &[usize]) -> Result<ArrayD<T>, KernelError> {
    if checked_product(dims) != Some(x.len()) {
        return Err(format!("cannot reshape {:?} into {dims:?}", x.shape()));
    }
    let std = x.as_standard_layout().into_owned();
    std.into_shape_with_order(IxDyn(dims))
        .map_err(|e| e.to_string())
}

fn transpose<T: Element>(
    x: &ArrayViewD<'_, T>,
    perm: Option<&[usize]>,
) -> Result<ArrayD<T>, KernelError> {
    let perm: Vec<usize> = match perm {
        Some(p) => p.to_vec(),
        None => (0..x.ndim()).rev().collect(),
    };
    let mut sorted = perm.clone();
    sorted.sort_unstable();
    if sorted != (0..x.ndim()).collect::<Vec<_>>() {
        return Err(format!(
            "{perm:?} is not a permutation of the axes of shape {:?}",
            x.shape()
        ));
    }
    Ok(x.view()
        .permuted_axes(perm)
        .as_standard_layout()
        .into_owned())
}

fn broadcast<T: Element>(x: &ArrayViewD<'_, T>, dims: &[usize]) -> Result<ArrayD<T>, KernelError> {
    if !broadcasts_to(x.shape(), dims) {
        return Err(format!("cannot broadcast {:?} to {dims:?}", x.shape()));
    }
    x.broadcast(IxDyn(dims))
        .map(|v| v.to_owned())
        .ok_or_else(|| format!("cannot broadcast {:?} to {dims:?}", x.shape()))
}

fn sum_to<T: Element>(g: &ArrayViewD<'_, T>, target: &[usize]) -> Result<ArrayD<T>, KernelError> {
    if !broadcasts_to(target, g.shape()) {
        return Err(format!(
            "cannot sum shape {:?} down to {target:?}",
            g.shape()
        ));
    }
    let lead = g.ndim() - target.len();
    let axes: Vec<usize> = (0..g.ndim())
        .filter(|&i| i < lead || (target[i - lead] == 1 && g.shape()[i] != 1))
        .collect();
    let summed = reduce(ReduceOp::Sum, g, Some(&axes), true)?;
    reshape(&summed.view(), target)
}

fn expand_dims<T: Element>(
    x: &ArrayViewD<'_, T>,
    axes: &[usize],
) -> Result<ArrayD<T>, KernelError> {
    let out_rank = x.ndim() + axes.len();
    if axes.iter().any(|&a| a >= out_rank) {
        return Err(format!(
            "axes {axes:?} out of range for a result of rank {out_rank}"
        ));
    }
    let mut rest = x.shape().iter();
    let dims: Vec<usize> = (0..out_rank)
        .map(|i| {
            if axes.contains(&i) {
                1
            } else {
                rest.next().copied().unwrap_or(1)
            }
        })
        .collect();
    reshape(x, &dims)
}

fn matmul<T: Element>(
    a: &ArrayViewD<'_, T>,
    b: &ArrayViewD<'_, T>,
) -> Result<ArrayD<T>, KernelError> {
    let (sa, sb) = (a.shape(), b.shape());
    if sa.len() < 2 || sb.len() < 2 {
        return Err(format!(
            "operands must be at least 2-D, got {sa:?} and {sb:?}"
        ));
    }
    let (m, k) = (sa[sa.len() - 2], sa[sa.len() - 1]);
    let (k2, n) = (sb[sb.len() - 2], sb[sb.len() - 1]);
    if k != k2 {
        return Err(format!("inner dimensions do not match ({sa:?} @ {sb:?})"));
    }
    let batch = broadcast_concrete(&sa[..sa.len() - 2], &sb[..sb.len() - 2])
        .ok_or_else(|| format!("batch axes of {sa:?} and {sb:?} cannot broadcast"))?;
    let nb: usize = batch.iter().product();
    let full = |mut bdims: Vec<usize>, r: usize, c: usize| {
        bdims.push(r);
        bdims.push(c);
        bdims
    };
    let av = a
        .broadcast(IxDyn(&full(batch.clone(), m, k)))
        .ok_or("broadcast failed")?;
    let bv = b
        .broadcast(IxDyn(&full(batch.clone(), k, n)))
        .ok_or("broadcast failed")?;
    let av = av.as_standard_layout();
    let bv = bv.as_standard_layout();
    let a3 = av.to_shape((nb, m, k)).map_err(|e| e.to_string())?;
    let b3 = bv.to_shape((nb, k, n)).map_err(|e| e.to_string())?;
    // a loop of its own, not the GEMM native code uses: each element the
    // pairwise sum of its k products
    let mut out = ndarray::Array3::<T>::zeros((nb, m, n));
    let mut products = vec![T::zero(); k];
    for i in 0..nb {
        for r in 0..m {
            for c in 0..n {
                for (kk, p) in products.iter_mut().enumerate() {
                    *p = a3[[i, r, kk]] * b3[[i, kk, c]];
                }
                out[[i, r, c]] = pairwise_sum(&products);
            }
        }
    }
    out.into_shape_with_order(IxDyn(&full(batch, m, n)))
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::arr1;

    #[test]
    fn reducing_no_axis_is_a_copy() {
        let x = arr1(&[-0.0f32, 1.5, f32::NAN]).into_dyn();
        for op in crate::graph::REDUCE_OPS {
            let y = reduce(op, &x.view(), Some(&[]), false).unwrap();
            assert_eq!(y.shape(), x.shape());
            assert!(y
                .iter()
                .zip(x.iter())
                .all(|(a, b)| a.to_bits() == b.to_bits()));
        }
        // so is summing a gradient to the shape it already has
        let like = [3usize];
        let y = sum_to(&x.view(), &like).unwrap();
        assert!(y[[0]].is_sign_negative() && y[[0]] == 0.0);
        // a real reduction still starts from +0
        let z = reduce(
            ReduceOp::Sum,
            &arr1(&[-0.0f32]).into_dyn().view(),
            None,
            false,
        )
        .unwrap();
        assert!(z[[]].is_sign_positive());
    }
}
