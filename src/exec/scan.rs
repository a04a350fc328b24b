//! Library steps that walk lanes along one axis, written into the step's
//! destination: running sums (`cumsum`) and the index of the extreme
//! element (`argmax`, `argmin`).

use ndarray::{ArrayViewD, ArrayViewMutD, Axis, IxDyn, Zip};

use super::ExecError;
use crate::value::Element;

fn dst_view<'a, T>(dst: &'a mut [T], shape: &[usize]) -> Result<ArrayViewMutD<'a, T>, ExecError> {
    ArrayViewMutD::from_shape(IxDyn(shape), dst)
        .map_err(|_| ExecError::Internal("scan result shape"))
}

/// `cumsum(x, axis, exclusive, reverse)` (`cumprod` with `product`) into
/// `dst` (of `x`'s shape).
#[allow(clippy::too_many_arguments)]
pub fn cumsum_into<T: Element>(
    x: &ArrayViewD<'_, T>,
    axis: usize,
    exclusive: bool,
    reverse: bool,
    product: bool,
    dst: &mut [T],
    shape: &[usize],
) -> Result<(), ExecError> {
    if x.shape() != shape || axis >= shape.len() {
        return Err(ExecError::Internal("cumsum operand shape"));
    }
    let mut out = dst_view(dst, shape)?;
    Zip::from(out.lanes_mut(Axis(axis)))
        .and(x.lanes(Axis(axis)))
        .for_each(|mut o, l| {
            let n = l.len();
            let mut acc = if product { T::one() } else { T::zero() };
            for k in 0..n {
                let i = if reverse { n - 1 - k } else { k };
                let v = l[i];
                let next = if product { acc * v } else { acc + v };
                o[i] = if exclusive { acc } else { next };
                acc = next;
            }
        });
    Ok(())
}

/// `argmax(x, axis)` (`argmin` with `min`) into `dst` (`x`'s shape without
/// the axis): the first extreme element's index, a NaN counting as the
/// extreme.
pub fn arg_extreme_into<T: Element>(
    x: &ArrayViewD<'_, T>,
    axis: usize,
    min: bool,
    dst: &mut [T],
    shape: &[usize],
) -> Result<(), ExecError> {
    let op = if min { "argmin" } else { "argmax" };
    if axis >= x.ndim() || x.ndim() != shape.len() + 1 {
        return Err(ExecError::Internal("argmax operand shape"));
    }
    if x.shape()[axis] == 0 {
        return Err(ExecError::Library {
            op,
            detail: format!("axis {axis} is empty"),
        });
    }
    let mut out = dst_view(dst, shape)?;
    Zip::from(&mut out)
        .and(x.lanes(Axis(axis)))
        .for_each(|o, lane| {
            let (mut best, mut b) = (0usize, lane[0]);
            for (i, &v) in lane.iter().enumerate().skip(1) {
                if b.is_nan() {
                    break;
                }
                if v.is_nan() || (if min { v < b } else { v > b }) {
                    (best, b) = (i, v);
                }
            }
            *o = T::from_f64(best as f64);
        });
    Ok(())
}
