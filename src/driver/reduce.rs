//! Reductions no kernel absorbs (and `sum_to`): the destination starts at the identity and every element of
//! the operand, in its row-major order, is combined into the element it
//! reduces to.

use cranelift_codegen::ir::InstBuilder;

use super::emit::{contiguous, flags, Em};
use super::moves::View;
use crate::exec::layout::LibInput;
use crate::graph::{BinaryOp, Op, ReduceOp};
use crate::jit::ops;

/// How a reduction step combines: the destination strides of each operand
/// axis (0 where the axis is reduced), the operation, and the divisor of a
/// mean.
#[derive(Clone, Debug, PartialEq)]
pub struct Combine {
    /// The operand as read.
    pub src: View,
    /// Destination element of each operand axis.
    pub dst_strides: Vec<isize>,
    /// How elements combine.
    pub op: ReduceOp,
    /// Elements per result, for a mean.
    pub divisor: Option<usize>,
    /// Nothing is reduced: a copy (signs of zero kept).
    pub copy: bool,
}

/// The combination that computes the reduction step `op` of `inputs` into
/// a destination of `len` elements; `None` when `op` is not one.
pub fn combine(op: &Op, inputs: &[LibInput], len: usize) -> Option<Combine> {
    let src = View::of(inputs.first()?);
    let rank = src.dims.len();
    match op {
        Op::Reduce { op, axes, .. } => {
            if *op == ReduceOp::LogSumExp
                || axes.as_ref().is_some_and(|a| a.iter().any(|&i| i >= rank))
            {
                return None;
            }
            let reduced = |i: usize| axes.as_ref().is_none_or(|a| a.contains(&i));
            let kept: Vec<usize> = (0..rank)
                .filter(|&i| !reduced(i))
                .map(|i| src.dims[i])
                .collect();
            if kept.iter().product::<usize>() != len {
                return None;
            }
            let mut ks = contiguous(&kept).into_iter();
            let dst_strides = (0..rank)
                .map(|i| {
                    if reduced(i) {
                        0
                    } else {
                        ks.next().unwrap_or(0)
                    }
                })
                .collect();
            let total: usize = src.dims.iter().product();
            Some(Combine {
                divisor: (*op == ReduceOp::Mean).then(|| total / len.max(1)),
                copy: kept.len() == rank,
                src,
                dst_strides,
                op: *op,
            })
        }
        Op::SumTo => {
            let to = &inputs.get(1)?.shape;
            let lead = rank.checked_sub(to.len())?;
            if to.iter().product::<usize>() != len {
                return None;
            }
            let ds = contiguous(to);
            let dst_strides = (0..rank)
                .map(|i| match i.checked_sub(lead) {
                    Some(j) if to[j] != 1 || src.dims[i] == 1 => ds[j],
                    _ => 0,
                })
                .collect();
            Some(Combine {
                src,
                dst_strides,
                op: ReduceOp::Sum,
                divisor: None,
                copy: false,
            })
        }
        _ => None,
    }
}

impl Em<'_> {
    /// Emits a reduction step from operand base `src` into `dst` (`len`
    /// elements).
    pub fn combine(
        &mut self,
        c: &Combine,
        src: cranelift_codegen::ir::Value,
        dst: cranelift_codegen::ir::Value,
        len: usize,
    ) {
        let src = self.offset(src, c.src.off);
        if c.copy {
            let d = contiguous(&c.src.dims);
            self.copy(&c.src.dims, src, &c.src.strides, dst, &d);
            return;
        }
        let (init, f) = match c.op {
            ReduceOp::Prod => (1.0, None),
            ReduceOp::Max => (f64::NEG_INFINITY, Some(BinaryOp::Maximum)),
            ReduceOp::Min => (f64::INFINITY, Some(BinaryOp::Minimum)),
            _ => (0.0, None),
        };
        self.fill(dst, len, init);
        let (lane, op) = (self.lane, c.op);
        self.nest(
            &c.src.dims,
            &[src, dst],
            &[c.src.strides.clone(), c.dst_strides.clone()],
            &mut |e, p| {
                let v = e.b.ins().load(lane, flags(), p[0], 0);
                let d = e.b.ins().load(lane, flags(), p[1], 0);
                let r = match (f, op) {
                    (Some(f), _) => ops::binary(&mut e.b, &e.m, f, d, v),
                    (None, ReduceOp::Prod) => e.b.ins().fmul(d, v),
                    (None, _) => e.b.ins().fadd(d, v),
                };
                e.b.ins().store(flags(), r, p[1], 0);
            },
        );
        if let Some(n) = c.divisor {
            let k = ops::constant(&mut self.b, lane, n as f64);
            self.nest(&[len], &[dst], &[vec![1]], &mut |e, p| {
                let d = e.b.ins().load(lane, flags(), p[0], 0);
                let q = e.b.ins().fdiv(d, k);
                e.b.ins().store(flags(), q, p[0], 0);
            });
        }
    }
}
