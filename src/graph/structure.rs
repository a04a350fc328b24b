//! The facts of the operations that restructure or index a tensor, shared by
//! shape inference, the interpreter and native code: a slice resolved
//! against a shape by Python's rules, the shapes of `pad`, `concat`,
//! `gather` and `one_hot`, and the one check every engine makes of an index.

use std::fmt;

use super::error::GraphError;
use super::shape::{Dim, Shape};

/// One item of a NumPy basic index `x[...]`, for one axis (an ellipsis is
/// expanded when the program is read).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SliceItem {
    /// An integer: that element, the axis removed (negative counts from the end).
    Index(i64),
    /// `start:stop:step`, each bound optional (clamped to the axis as Python does).
    Range {
        /// First element; `None` is the start in the step's direction.
        start: Option<i64>,
        /// Where the range stops (excluded); `None` runs to the end.
        stop: Option<i64>,
        /// Never 0; negative walks backward.
        step: i64,
    },
}

impl SliceItem {
    /// The whole axis, `:`.
    pub const ALL: SliceItem = SliceItem::Range {
        start: None,
        stop: None,
        step: 1,
    };
}

impl fmt::Display for SliceItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            SliceItem::Index(i) => write!(f, "{i}"),
            SliceItem::Range { start, stop, step } => {
                if let Some(s) = start {
                    write!(f, "{s}")?;
                }
                f.write_str(":")?;
                if let Some(s) = stop {
                    write!(f, "{s}")?;
                }
                if step != 1 {
                    write!(f, ":{step}")?;
                }
                Ok(())
            }
        }
    }
}

/// One axis of a slice resolved against its size: element `k` of the result
/// is element `start + k * step` of the operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AxisSlice {
    /// The first element read (meaningless when `len` is 0).
    pub start: usize,
    /// The stride between elements read, negative backward.
    pub step: i64,
    /// How many elements are read.
    pub len: usize,
    /// False for an integer index, whose axis the result drops.
    pub kept: bool,
}

/// Resolves `items` (at most one per axis, the trailing axes whole) against
/// the operand's dimensions.
///
/// # Errors
/// More items than axes, a zero step, or an integer index outside its axis.
pub fn resolve_slice(items: &[SliceItem], dims: &[usize]) -> Result<Vec<AxisSlice>, GraphError> {
    if items.len() > dims.len() {
        return Err(GraphError::SliceItems {
            items: items.len(),
            rank: dims.len(),
        });
    }
    dims.iter()
        .enumerate()
        .map(|(axis, &n)| resolve_axis(items.get(axis).unwrap_or(&SliceItem::ALL), axis, n))
        .collect()
}

fn resolve_axis(item: &SliceItem, axis: usize, n: usize) -> Result<AxisSlice, GraphError> {
    let size = n as i64;
    match *item {
        SliceItem::Index(i) => {
            let at = if i < 0 { i + size } else { i };
            if at < 0 || at >= size {
                return Err(GraphError::SliceIndex {
                    index: i,
                    axis,
                    size: n,
                });
            }
            Ok(AxisSlice {
                start: at as usize,
                step: 1,
                len: 1,
                kept: false,
            })
        }
        SliceItem::Range { step: 0, .. } => Err(GraphError::SliceStep { axis }),
        SliceItem::Range { start, stop, step } => {
            // Python's slice.indices: negative bounds count from the end, then
            // clamp to [0, n] going forward or [-1, n - 1] going backward
            let (lo, hi) = if step > 0 { (0, size) } else { (-1, size - 1) };
            let bound = |b: i64| {
                let b = if b < 0 { b + size } else { b };
                b.clamp(lo, hi)
            };
            let first = start.map_or(if step > 0 { 0 } else { size - 1 }, bound);
            let end = stop.map_or(if step > 0 { size } else { -1 }, bound);
            let span = if step > 0 { end - first } else { first - end };
            let len = if span <= 0 {
                0
            } else {
                (span + step.abs() - 1) / step.abs()
            };
            Ok(AxisSlice {
                start: first.max(0) as usize,
                step,
                len: len as usize,
                kept: true,
            })
        }
    }
}

/// The result's dimensions: the kept axes' lengths.
pub fn sliced_dims(resolved: &[AxisSlice]) -> Vec<usize> {
    resolved.iter().filter(|a| a.kept).map(|a| a.len).collect()
}

/// The static shape of `x[items]`.
pub(crate) fn slice_shape(items: &[SliceItem], x: &Shape) -> Result<Shape, GraphError> {
    let Some(dims) = x.dims() else {
        return Ok(Shape::unknown());
    };
    if items.len() > dims.len() {
        return Err(GraphError::SliceItems {
            items: items.len(),
            rank: dims.len(),
        });
    }
    let mut out = Vec::with_capacity(dims.len());
    for (axis, &d) in dims.iter().enumerate() {
        let item = items.get(axis).unwrap_or(&SliceItem::ALL);
        match d {
            Some(n) => {
                let a = resolve_axis(item, axis, n)?;
                if a.kept {
                    out.push(Some(a.len));
                }
            }
            None if matches!(item, SliceItem::Index(_)) => {}
            None => out.push(None),
        }
    }
    Ok(Shape::with_dims(out))
}

/// The static shape of `pad(x, widths)`: one `(before, after)` per axis.
pub(crate) fn pad_shape(x: &Shape, widths: &[(usize, usize)]) -> Result<Shape, GraphError> {
    let Some(dims) = x.dims() else {
        return Ok(Shape::of_rank(widths.len()));
    };
    if dims.len() != widths.len() {
        return Err(GraphError::PadWidths {
            got: widths.len(),
            rank: dims.len(),
        });
    }
    let too_large = || GraphError::TooLarge {
        op: "pad",
        shape: x.clone(),
    };
    dims.iter()
        .zip(widths)
        .map(|(&d, &(b, a))| match d {
            Some(n) => n
                .checked_add(b)
                .and_then(|v| v.checked_add(a))
                .map(Some)
                .ok_or_else(too_large),
            None => Ok(None),
        })
        .collect::<Result<Vec<Dim>, _>>()
        .map(Shape::with_dims)
}

/// The static shape of `concat(xs, axis)`: equal ranks, equal sizes off the
/// axis, the axis's sizes added.
pub(crate) fn concat_shape(axis: usize, xs: &[&Shape]) -> Result<Shape, GraphError> {
    let Some(rank) = xs.iter().find_map(|s| s.rank()) else {
        return Ok(Shape::unknown());
    };
    if axis >= rank {
        return Err(GraphError::Axis {
            op: "concat",
            axis: axis as i64,
            rank,
        });
    }
    let mut out: Vec<Dim> = vec![None; rank];
    let mut total = Some(0usize);
    for (k, s) in xs.iter().enumerate() {
        let Some(dims) = s.dims() else {
            total = None;
            continue;
        };
        let differ = || GraphError::ConcatShapes {
            axis,
            lhs: xs[0].clone(),
            rhs: (*s).clone(),
            index: k,
        };
        if dims.len() != rank {
            return Err(differ());
        }
        for (a, (&d, o)) in dims.iter().zip(out.iter_mut()).enumerate() {
            if a == axis {
                continue;
            }
            match (*o, d) {
                (Some(x), Some(y)) if x != y => return Err(differ()),
                (None, d) => *o = d,
                _ => {}
            }
        }
        total = match (total, dims[axis]) {
            (Some(t), Some(n)) => Some(t.checked_add(n).ok_or(GraphError::TooLarge {
                op: "concat",
                shape: (*s).clone(),
            })?),
            _ => None,
        };
    }
    out[axis] = total;
    Ok(Shape::with_dims(out))
}

/// The static shape of `gather(params, indices, axis)`:
/// `params.shape[:axis] + indices.shape + params.shape[axis+1:]`.
pub(crate) fn gather_shape(
    axis: usize,
    params: &Shape,
    indices: &Shape,
) -> Result<Shape, GraphError> {
    let (Some(p), Some(i)) = (params.dims(), indices.dims()) else {
        return Ok(Shape::unknown());
    };
    if axis >= p.len() {
        return Err(GraphError::Axis {
            op: "gather",
            axis: axis as i64,
            rank: p.len(),
        });
    }
    let mut out = p[..axis].to_vec();
    out.extend_from_slice(i);
    out.extend_from_slice(&p[axis + 1..]);
    Ok(Shape::with_dims(out))
}

/// The static shape of `one_hot(indices, depth)`: `indices.shape + [depth]`.
pub(crate) fn one_hot_shape(indices: &Shape, depth: usize) -> Shape {
    match indices.dims() {
        Some(d) => {
            let mut out = d.to_vec();
            out.push(Some(depth));
            Shape::with_dims(out)
        }
        None => Shape::unknown(),
    }
}

/// `[outer, n, inner]`: the sizes before `axis`, at it and after it.
pub fn split_at_axis(dims: &[usize], axis: usize) -> (usize, usize, usize) {
    let outer = dims[..axis.min(dims.len())].iter().product();
    let n = dims.get(axis).copied().unwrap_or(1);
    let inner = dims.get(axis + 1..).map_or(1, |d| d.iter().product());
    (outer, n, inner)
}

/// Reads an index held in a float: the integer it is, if it lies in `[0, n)`.
///
/// # Errors
/// The message every engine gives for the first bad index: `index 7 is
/// outside [0, 5)`, or `index 2.5 is not an integer`.
pub fn index_value(v: f64, n: usize) -> Result<usize, String> {
    if !v.is_finite() || v.fract() != 0.0 {
        return Err(format!("index {v} is not an integer"));
    }
    if v < 0.0 || v >= n as f64 {
        return Err(format!("index {v} is outside [0, {n})"));
    }
    Ok(v as usize)
}

/// The position a `one_hot` row is hot at: `None` for an integer outside
/// `[0, depth)` (a row of zeros, as TensorFlow's), unless `strict` (the
/// labels of the sparse cross-entropy), where that is an error too.
///
/// # Errors
/// A non-integer index, or with `strict` one out of range; the message as
/// [`index_value`]'s.
pub fn hot_index(v: f64, depth: usize, strict: bool) -> Result<Option<usize>, String> {
    match index_value(v, depth) {
        Ok(k) => Ok(Some(k)),
        Err(e) if strict || !v.is_finite() || v.fract() != 0.0 => Err(e),
        Err(_) => Ok(None),
    }
}
