//! Running sums and products, and the index of the extreme element along one axis, lane
//! by lane, written plainly.

use ndarray::{ArrayD, ArrayViewD, Axis, IxDyn, Zip};

use super::kernels::KernelError;
use crate::value::Element;

fn check_axis(axis: usize, rank: usize) -> Result<(), KernelError> {
    if axis < rank {
        Ok(())
    } else {
        Err(format!("axis {axis} is out of range for rank {rank}"))
    }
}

/// `cumsum(x, axis, exclusive, reverse)`, or `cumprod` with `product`.
pub fn cumsum<T: Element>(
    x: &ArrayViewD<'_, T>,
    axis: usize,
    exclusive: bool,
    reverse: bool,
    product: bool,
) -> Result<ArrayD<T>, KernelError> {
    check_axis(axis, x.ndim())?;
    let mut out = x.to_owned();
    let step = |a: T, v: T| if product { a * v } else { a + v };
    for mut lane in out.lanes_mut(Axis(axis)) {
        let n = lane.len();
        let mut acc = if product { T::one() } else { T::zero() };
        for k in 0..n {
            let i = if reverse { n - 1 - k } else { k };
            let v = lane[i];
            if exclusive {
                lane[i] = acc;
                acc = step(acc, v);
            } else {
                acc = step(acc, v);
                lane[i] = acc;
            }
        }
    }
    Ok(out)
}

/// `argmax(x, axis)` or `argmin`: the first extreme element's index; a NaN
/// counts as the extreme, as NumPy's.
pub fn arg_extreme<T: Element>(
    x: &ArrayViewD<'_, T>,
    axis: usize,
    min: bool,
) -> Result<ArrayD<T>, KernelError> {
    check_axis(axis, x.ndim())?;
    if x.shape()[axis] == 0 {
        return Err(format!("axis {axis} is empty"));
    }
    let mut dims = x.shape().to_vec();
    dims.remove(axis);
    let mut out = ArrayD::zeros(IxDyn(&dims));
    Zip::from(&mut out)
        .and(x.lanes(Axis(axis)))
        .for_each(|o, lane| {
            let mut best = 0;
            for (i, &v) in lane.iter().enumerate() {
                let b = lane[best];
                let better = if min { v < b } else { v > b };
                if b.is_nan() {
                    break;
                }
                if v.is_nan() || better {
                    best = i;
                }
            }
            *o = T::from_f64(best as f64);
        });
    Ok(out)
}
