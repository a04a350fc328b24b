//! Softmax, log-softmax and the softmax cross-entropy, lane by lane along
//! one axis, with the formulas of TensorFlow's kernels: shift by the lane's
//! maximum, then sum the exponentials.

use ndarray::{ArrayD, ArrayViewD, Axis, IxDyn, Zip};

use super::kernels::KernelError;
use crate::graph::{normalize_axes, pairwise_sum, BinaryOp};
use crate::value::Element;

fn lane_max<'a, T: Element>(lane: impl Iterator<Item = &'a T>) -> T {
    lane.fold(T::neg_infinity(), |a, &b| BinaryOp::Maximum.eval(a, b))
}

fn axis_of(op: &'static str, axis: i64, rank: usize) -> Result<usize, KernelError> {
    normalize_axes(op, &[axis], Some(rank))
        .map(|a| a[0])
        .map_err(|e| e.to_string())
}

/// `softmax(x, axis)`, or `log_softmax(x, axis)` when `log`.
pub fn softmax<T: Element>(
    x: &ArrayViewD<'_, T>,
    axis: i64,
    log: bool,
) -> Result<ArrayD<T>, KernelError> {
    let name = if log { "log_softmax" } else { "softmax" };
    let ax = axis_of(name, axis, x.ndim())?;
    let mut out = x.to_owned();
    for mut lane in out.lanes_mut(Axis(ax)) {
        let m = lane_max(lane.iter());
        lane.mapv_inplace(|v| v - m);
        let s = pairwise_sum(&lane.iter().map(|v| v.exp()).collect::<Vec<T>>());
        if log {
            let l = s.ln();
            lane.mapv_inplace(|v| v - l);
        } else {
            lane.mapv_inplace(|v| v.exp() / s);
        }
    }
    Ok(out)
}

/// `softmax_cross_entropy(labels, logits)` over the last axis:
/// `sum(labels * (log(sum(exp(shifted))) - shifted))`, `shifted` the
/// logits less their maximum.
pub fn cross_entropy<T: Element>(
    labels: &ArrayViewD<'_, T>,
    logits: &ArrayViewD<'_, T>,
) -> Result<ArrayD<T>, KernelError> {
    if labels.shape() != logits.shape() {
        return Err(format!(
            "labels of shape {:?} and logits of shape {:?} differ",
            labels.shape(),
            logits.shape()
        ));
    }
    let Some((_, lead)) = logits.shape().split_last() else {
        return Err("the logits need a class axis".into());
    };
    let last = Axis(logits.ndim() - 1);
    let mut out = ArrayD::zeros(IxDyn(lead));
    Zip::from(&mut out)
        .and(labels.lanes(last))
        .and(logits.lanes(last))
        .for_each(|o, l, z| {
            let m = lane_max(z.iter());
            let s = pairwise_sum(&z.iter().map(|&v| (v - m).exp()).collect::<Vec<T>>());
            let lse = s.ln();
            let terms: Vec<T> = l
                .iter()
                .zip(z.iter())
                .map(|(&li, &zi)| li * (lse - (zi - m)))
                .collect();
            *o = pairwise_sum(&terms);
        });
    Ok(out)
}
