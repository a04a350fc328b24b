//! Static shape and dtype inference: what each operation's output will be,
//! and the build-time errors when inputs cannot match.

use super::error::GraphError;
use super::op::Op;
use super::shape::{broadcast_static, fits_in_memory, may_broadcast_to, reshape_dims, Dim, Shape};
use super::structure::{concat_shape, gather_shape, one_hot_shape, pad_shape, slice_shape};
use super::window::{conv_shape, window_shape, Window};
use super::DType;

/// An input's dtype and static shape, as inference sees it.
pub type InputInfo<'a> = (DType, &'a Shape);

/// Infers the dtype and static shape of `op` applied to `inputs`.
///
/// `dtype` is used only for nodes without inputs (placeholders, constants).
pub fn infer(
    op: &Op,
    inputs: &[InputInfo<'_>],
    dtype: DType,
    placeholder_shape: Option<&Shape>,
) -> Result<(DType, Shape), GraphError> {
    if !op.takes(inputs.len()) {
        return Err(GraphError::Arity {
            op: op.name(),
            expected: op.arity(),
            got: inputs.len(),
        });
    }
    let name = op.name();
    let dt = match inputs.first() {
        Some(&(d, _)) => {
            for &(other, _) in &inputs[1..] {
                if other != d {
                    return Err(GraphError::DType {
                        op: name,
                        a: d,
                        b: other,
                    });
                }
            }
            d
        }
        None => dtype,
    };
    let s = |i: usize| inputs[i].1;
    let shape = match op {
        Op::Placeholder { .. } => placeholder_shape.cloned().unwrap_or_else(Shape::unknown),
        Op::Constant(lit) => Shape::known(lit.shape()),
        Op::Unary(_)
        | Op::StopGradient
        | Op::Identity
        | Op::Bind { .. }
        | Op::OnesLike
        | Op::ZerosLike => s(0).clone(),
        Op::Binary(_) => broadcast2(name, s(0), s(1))?,
        Op::Where => {
            let ab = broadcast2(name, s(1), s(2))?;
            broadcast2(name, s(0), &ab)?
        }
        Op::Reduce { axes, keepdims, .. } => reduce_shape(name, s(0), axes.as_deref(), *keepdims)?,
        Op::Count { axes } => {
            reduce_shape(name, s(0), axes.as_deref(), false)?;
            Shape::scalar()
        }
        Op::Softmax { axis } | Op::LogSoftmax { axis } => {
            normalize_axes(name, &[*axis], s(0).rank())?;
            s(0).clone()
        }
        Op::SoftmaxCrossEntropy => cross_entropy_shape(name, s(0), s(1))?,
        Op::Reverse { axes } => {
            reduce_shape(name, s(0), Some(axes), true)?;
            s(0).clone()
        }
        Op::Tile { multiples } => tile_shape(s(0), multiples)?,
        Op::Cumsum { axis, .. } | Op::Cumprod { axis, .. } => {
            reduce_shape(name, s(0), Some(&[*axis]), true)?;
            s(0).clone()
        }
        Op::ArgExtreme { axis, .. } => reduce_shape(name, s(0), Some(&[*axis]), false)?,
        Op::Reshape { dims } => reshape_shape(s(0), dims)?,
        Op::Transpose { perm } => transpose_shape(s(0), perm.as_deref())?,
        Op::BroadcastTo { dims } => {
            let to = Shape::known(dims);
            if !may_broadcast_to(s(0), &to) {
                return Err(GraphError::BroadcastTo {
                    op: name,
                    from: s(0).clone(),
                    to,
                });
            }
            to
        }
        Op::MatMul => matmul_shape(s(0), s(1))?,
        Op::SumTo => {
            if !may_broadcast_to(s(1), s(0)) {
                return Err(GraphError::BroadcastTo {
                    op: name,
                    from: s(1).clone(),
                    to: s(0).clone(),
                });
            }
            s(1).clone()
        }
        Op::BroadcastLike => {
            if !may_broadcast_to(s(0), s(1)) {
                return Err(GraphError::BroadcastTo {
                    op: name,
                    from: s(0).clone(),
                    to: s(1).clone(),
                });
            }
            s(1).clone()
        }
        Op::ReshapeLike => {
            if let (Some(a), Some(b)) = (s(0).num_elements(), s(1).num_elements()) {
                if a != b {
                    return Err(GraphError::Reshape {
                        from: s(0).clone(),
                        to: dims_as_i64(s(1)),
                    });
                }
            }
            s(1).clone()
        }
        Op::ExpandDims { axes } => expand_shape(s(0), axes)?,
        Op::Slice { items } => slice_shape(items, s(0))?,
        Op::SliceGrad { items } => {
            same_shape(name, s(0), &slice_shape(items, s(1))?)?;
            s(1).clone()
        }
        Op::Pad { widths } => pad_shape(s(0), widths)?,
        Op::Concat { axis } => {
            let shapes: Vec<&Shape> = inputs.iter().map(|i| i.1).collect();
            concat_shape(*axis, &shapes)?
        }
        Op::Gather { axis } => gather_shape(*axis, s(0), s(1))?,
        Op::GatherGrad { axis } => {
            same_shape(name, s(0), &gather_shape(*axis, s(2), s(1))?)?;
            s(2).clone()
        }
        Op::OneHot { depth } | Op::LabelOneHot { depth } => one_hot_shape(s(0), *depth),
        Op::SparseSoftmaxCrossEntropy => sparse_labels_shape(s(0), s(1))?,
        Op::Conv2d { strides, padding } => conv_shape(s(0), s(1), *strides, *padding)?,
        Op::Conv2dBackpropInput { strides, padding } => {
            let y = conv_shape(s(2), s(1), *strides, *padding)?;
            same_shape(name, s(0), &y)?;
            s(2).clone()
        }
        Op::Conv2dBackpropFilter { strides, padding } => {
            let y = conv_shape(s(0), s(2), *strides, *padding)?;
            same_shape(name, s(1), &y)?;
            s(2).clone()
        }
        Op::MaxPool2d { window } | Op::AvgPool2d { window } => pooled(name, s(0), window)?,
        Op::MaxPoolGrad { window } => {
            same_shape(name, s(1), &pooled(name, s(0), window)?)?;
            s(0).clone()
        }
        Op::MaxPoolGradGrad { window } => {
            same_shape(name, s(1), s(0))?;
            pooled(name, s(0), window)?
        }
        Op::AvgPoolGrad { window } => {
            same_shape(name, s(0), &pooled(name, s(1), window)?)?;
            s(1).clone()
        }
    };
    if let Some(d) = shape.dims() {
        let known: Vec<usize> = d.iter().flatten().copied().collect();
        if !fits_in_memory(&known) {
            return Err(GraphError::TooLarge { op: name, shape });
        }
    }
    Ok((dt, shape))
}

/// Two shapes that must be one where known.
fn same_shape(op: &'static str, a: &Shape, b: &Shape) -> Result<(), GraphError> {
    if may_broadcast_to(a, b) && may_broadcast_to(b, a) {
        return Ok(());
    }
    Err(GraphError::ShapesDiffer {
        op,
        lhs: a.clone(),
        rhs: b.clone(),
    })
}

/// A pooling's output: the windows' grid, `x`'s channels.
fn pooled(op: &'static str, x: &Shape, window: &Window) -> Result<Shape, GraphError> {
    let channels = x.dims().and_then(|d| d.get(3).copied()).flatten();
    window_shape(op, x, window, channels)
}

/// Labels of the logits' shape without its last axis, which is the result's.
fn sparse_labels_shape(labels: &Shape, logits: &Shape) -> Result<Shape, GraphError> {
    let bad = || GraphError::SparseLabels {
        labels: labels.clone(),
        logits: logits.clone(),
    };
    let rows = match logits.dims() {
        None => return Ok(labels.clone()),
        Some([]) => return Err(bad()),
        Some([lead @ .., _]) => Shape::with_dims(lead.to_vec()),
    };
    if !may_broadcast_to(labels, &rows) || !may_broadcast_to(&rows, labels) {
        return Err(bad());
    }
    Ok(rows)
}

fn dims_as_i64(s: &Shape) -> Vec<i64> {
    s.dims()
        .map(|d| d.iter().map(|x| x.map_or(-1, |v| v as i64)).collect())
        .unwrap_or_default()
}

fn broadcast2(op: &'static str, a: &Shape, b: &Shape) -> Result<Shape, GraphError> {
    broadcast_static(a, b).map_err(|(x, y)| GraphError::Broadcast {
        op,
        lhs: a.clone(),
        rhs: b.clone(),
        a: x,
        b: y,
    })
}

/// Normalizes user axes (negative counts from the end) to sorted, distinct
/// non-negative axes, checking them against the rank where it is known.
pub fn normalize_axes(
    op: &'static str,
    axes: &[i64],
    rank: Option<usize>,
) -> Result<Vec<usize>, GraphError> {
    let mut out = Vec::with_capacity(axes.len());
    for &a in axes {
        let norm = match rank {
            Some(r) => {
                let r = r as i64;
                if a < -r || a >= r {
                    return Err(GraphError::Axis {
                        op,
                        axis: a,
                        rank: r as usize,
                    });
                }
                if a < 0 {
                    a + r
                } else {
                    a
                }
            }
            None if a < 0 => {
                return Err(GraphError::UnknownRank {
                    op,
                    detail: "a negative axis",
                })
            }
            None => a,
        } as usize;
        if out.contains(&norm) {
            return Err(GraphError::RepeatedAxis { op, axis: a });
        }
        out.push(norm);
    }
    out.sort_unstable();
    Ok(out)
}

/// `x` repeated `multiples[i]` times along axis `i`: one multiple per axis.
fn tile_shape(x: &Shape, multiples: &[usize]) -> Result<Shape, GraphError> {
    match x.dims() {
        None => Ok(Shape::with_dims(vec![None; multiples.len()])),
        Some(d) if d.len() != multiples.len() => Err(GraphError::Multiples {
            got: multiples.len(),
            rank: d.len(),
        }),
        Some(d) => d
            .iter()
            .zip(multiples)
            .map(|(&n, &m)| match n {
                Some(n) => n.checked_mul(m).map(Some).ok_or(GraphError::TooLarge {
                    op: "tile",
                    shape: x.clone(),
                }),
                None => Ok(None),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Shape::with_dims),
    }
}

/// `labels` and `logits` of one shape, the class axis last: the result
/// has the other axes.
fn cross_entropy_shape(
    op: &'static str,
    labels: &Shape,
    logits: &Shape,
) -> Result<Shape, GraphError> {
    let both = broadcast2(op, labels, logits)?;
    let same =
        |s: &Shape| s.rank().is_none_or(|r| Some(r) == both.rank()) && may_broadcast_to(&both, s);
    if !same(labels) || !same(logits) {
        return Err(GraphError::ShapesDiffer {
            op,
            lhs: labels.clone(),
            rhs: logits.clone(),
        });
    }
    match both.dims() {
        None => Ok(Shape::unknown()),
        Some([]) => Err(GraphError::Axis {
            op,
            axis: -1,
            rank: 0,
        }),
        Some([lead @ .., _]) => Ok(Shape::with_dims(lead.to_vec())),
    }
}

fn reduce_shape(
    op: &'static str,
    x: &Shape,
    axes: Option<&[usize]>,
    keepdims: bool,
) -> Result<Shape, GraphError> {
    let Some(dims) = x.dims() else {
        return Ok(match (axes, keepdims) {
            (None, false) => Shape::scalar(),
            _ => Shape::unknown(),
        });
    };
    let rank = dims.len();
    if let Some(ax) = axes {
        if let Some(&bad) = ax.iter().find(|&&a| a >= rank) {
            return Err(GraphError::Axis {
                op,
                axis: bad as i64,
                rank,
            });
        }
    }
    let reduced = |i: usize| axes.is_none_or(|ax| ax.contains(&i));
    let out: Vec<Dim> = dims
        .iter()
        .enumerate()
        .filter_map(|(i, &d)| match (reduced(i), keepdims) {
            (false, _) => Some(d),
            (true, true) => Some(Some(1)),
            (true, false) => None,
        })
        .collect();
    Ok(Shape::with_dims(out))
}

fn reshape_shape(x: &Shape, dims: &[i64]) -> Result<Shape, GraphError> {
    let bad = || GraphError::Reshape {
        from: x.clone(),
        to: dims.to_vec(),
    };
    if dims.iter().any(|&d| d < -1) || dims.iter().filter(|&&d| d == -1).count() > 1 {
        return Err(bad());
    }
    match x.concrete() {
        Some(from) => reshape_dims(&from, dims)
            .map(|d| Shape::known(&d))
            .ok_or_else(bad),
        None => Ok(Shape::with_dims(
            dims.iter()
                .map(|&d| if d < 0 { None } else { Some(d as usize) })
                .collect(),
        )),
    }
}

fn transpose_shape(x: &Shape, perm: Option<&[usize]>) -> Result<Shape, GraphError> {
    match (x.dims(), perm) {
        (None, None) => Ok(Shape::unknown()),
        (Some(d), None) => Ok(Shape::with_dims(d.iter().rev().copied().collect())),
        (dims, Some(p)) => {
            let rank = p.len();
            let mut seen = vec![false; rank];
            for &a in p {
                if a >= rank || seen[a] {
                    return Err(GraphError::Permutation {
                        perm: p.to_vec(),
                        rank: dims.map_or(rank, <[Dim]>::len),
                    });
                }
                seen[a] = true;
            }
            match dims {
                None => Ok(Shape::of_rank(rank)),
                Some(d) if d.len() != rank => Err(GraphError::Permutation {
                    perm: p.to_vec(),
                    rank: d.len(),
                }),
                Some(d) => Ok(Shape::with_dims(p.iter().map(|&a| d[a]).collect())),
            }
        }
    }
}

fn matmul_shape(a: &Shape, b: &Shape) -> Result<Shape, GraphError> {
    let (Some(da), Some(db)) = (a.dims(), b.dims()) else {
        return Err(GraphError::UnknownRank {
            op: "matmul",
            detail: "matrix products need operands of known rank",
        });
    };
    for (s, d) in [(a, da), (b, db)] {
        if d.len() < 2 {
            return Err(GraphError::MatMulRank { shape: s.clone() });
        }
    }
    let (m, k1) = (da[da.len() - 2], da[da.len() - 1]);
    let (k2, n) = (db[db.len() - 2], db[db.len() - 1]);
    if let (Some(x), Some(y)) = (k1, k2) {
        if x != y {
            return Err(GraphError::MatMulInner {
                a: a.clone(),
                b: b.clone(),
            });
        }
    }
    let batch_a = Shape::with_dims(da[..da.len() - 2].to_vec());
    let batch_b = Shape::with_dims(db[..db.len() - 2].to_vec());
    let batch = broadcast2("matmul", &batch_a, &batch_b)?;
    let mut out = batch.dims().map(<[Dim]>::to_vec).unwrap_or_default();
    out.push(m);
    out.push(n);
    Ok(Shape::with_dims(out))
}

fn expand_shape(x: &Shape, axes: &[usize]) -> Result<Shape, GraphError> {
    let Some(d) = x.dims() else {
        return Ok(Shape::unknown());
    };
    let out_rank = d.len() + axes.len();
    let mut out = Vec::with_capacity(out_rank);
    let mut rest = d.iter();
    for i in 0..out_rank {
        if axes.contains(&i) {
            out.push(Some(1));
        } else {
            out.push(*rest.next().ok_or(GraphError::Axis {
                op: "expand_dims",
                axis: i as i64,
                rank: out_rank,
            })?);
        }
    }
    if let Some(&bad) = axes.iter().find(|&&a| a >= out_rank) {
        return Err(GraphError::Axis {
            op: "expand_dims",
            axis: bad as i64,
            rank: out_rank,
        });
    }
    Ok(Shape::with_dims(out))
}
