//! Reductions no kernel absorbs (over an axis of size 1, a `sum_to` of a
//! broadcast, a reduction of a library step's result), and `count`, as
//! native library steps: every element of the operand is combined into the
//! destination element it reduces to, in the operand's order. The
//! interpreter sums pairwise instead; the two are compared, not shared.

use ndarray::{ArrayViewD, Dimension};

use super::ExecError;
use crate::graph::{BinaryOp, ReduceOp};
use crate::value::Element;

/// Combines `x` into `dst`: element `ix` of `x` goes to `dst[sum(ix[i] *
/// strides[i])]`, starting from `init`.
fn combine_into<T: Element>(
    x: &ArrayViewD<'_, T>,
    strides: &[usize],
    init: T,
    f: impl Fn(T, T) -> T,
    dst: &mut [T],
) -> Result<(), ExecError> {
    if strides.len() != x.ndim() {
        return Err(ExecError::Internal("reduction strides"));
    }
    dst.fill(init);
    for (ix, &v) in x.indexed_iter() {
        let at: usize = ix.slice().iter().zip(strides).map(|(i, s)| i * s).sum();
        let d = dst
            .get_mut(at)
            .ok_or(ExecError::Internal("reduction destination"))?;
        *d = f(*d, v);
    }
    Ok(())
}

/// The row-major strides of `dims`.
fn strides_of(dims: &[usize]) -> Vec<usize> {
    let mut s = vec![1; dims.len()];
    for i in (0..dims.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * dims[i + 1];
    }
    s
}

/// `op(x, axes)` into `dst` (kept axes in order; `keepdims` does not change
/// the layout).
pub fn reduce_into<T: Element>(
    op: ReduceOp,
    x: &ArrayViewD<'_, T>,
    axes: Option<&[usize]>,
    dst: &mut [T],
) -> Result<(), ExecError> {
    let reduced = |i: usize| axes.is_none_or(|a| a.contains(&i));
    if axes.is_some_and(|a| a.iter().any(|&i| i >= x.ndim())) {
        return Err(ExecError::Internal("reduction axis"));
    }
    let kept: Vec<usize> = (0..x.ndim())
        .filter(|&i| !reduced(i))
        .map(|i| x.shape()[i])
        .collect();
    if dst.len() != kept.iter().product::<usize>() {
        return Err(ExecError::Internal("reduction result size"));
    }
    if kept.len() == x.ndim() {
        // reducing no axis is a copy (signs of zero kept), as the interpreter's
        for (d, &v) in dst.iter_mut().zip(x.iter()) {
            *d = v;
        }
        return Ok(());
    }
    let mut kept_strides = strides_of(&kept).into_iter();
    let strides: Vec<usize> = (0..x.ndim())
        .map(|i| {
            if reduced(i) {
                0
            } else {
                kept_strides.next().unwrap_or(0)
            }
        })
        .collect();
    match op {
        ReduceOp::Sum | ReduceOp::Mean => combine_into(x, &strides, T::zero(), |a, b| a + b, dst)?,
        ReduceOp::Prod => combine_into(x, &strides, T::one(), |a, b| a * b, dst)?,
        ReduceOp::Max => combine_into(
            x,
            &strides,
            T::neg_infinity(),
            |a, b| BinaryOp::Maximum.eval(a, b),
            dst,
        )?,
        ReduceOp::Min => combine_into(
            x,
            &strides,
            T::infinity(),
            |a, b| BinaryOp::Minimum.eval(a, b),
            dst,
        )?,
        // written out as kernels before planning (fuse::composite)
        ReduceOp::LogSumExp => return Err(ExecError::Internal("logsumexp reaches no step")),
    }
    if op == ReduceOp::Mean {
        let n = x.len() / dst.len().max(1);
        let n = T::from_f64(n as f64);
        for d in dst.iter_mut() {
            *d = *d / n;
        }
    }
    Ok(())
}

/// `sum_to(g, like)` into `dst` (of `like`'s shape `to`): `g` summed over
/// its leading axes and where `to` has size 1.
pub fn sum_to_into<T: Element>(
    g: &ArrayViewD<'_, T>,
    to: &[usize],
    dst: &mut [T],
) -> Result<(), ExecError> {
    let lead = g
        .ndim()
        .checked_sub(to.len())
        .ok_or(ExecError::Internal("sum_to rank"))?;
    let dst_strides = strides_of(to);
    let strides: Vec<usize> = (0..g.ndim())
        .map(|i| match i.checked_sub(lead) {
            Some(j) if to[j] != 1 || g.shape()[i] == 1 => dst_strides[j],
            _ => 0,
        })
        .collect();
    if dst.len() != to.iter().product::<usize>() {
        return Err(ExecError::Internal("sum_to result size"));
    }
    combine_into(g, &strides, T::zero(), |a, b| a + b, dst)
}
