//! Steps that walk lanes along one axis: running sums and products, and the index of the first extreme
//! element.

use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::{InstBuilder, Value};

use super::emit::{contiguous, flags, Em};
use super::moves::View;
use crate::exec::layout::LibInput;
use crate::graph::Op;
use crate::jit::ops;

/// A walk along one axis of the operand.
#[derive(Clone, Debug, PartialEq)]
pub struct Scan {
    /// The operand as read.
    pub src: View,
    /// The axis walked.
    pub axis: usize,
    /// What is computed.
    pub kind: Kind,
}

/// What a scan computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A running sum (`product`: a running product), each result the
    /// elements before it (`exclusive`) or up to it, walked from the end
    /// (`reverse`).
    Running {
        /// Products instead of sums.
        product: bool,
        /// Without the element itself.
        exclusive: bool,
        /// From the last element back.
        reverse: bool,
    },
    /// The index of the first largest (`min`: smallest) element, a NaN
    /// counting as the extreme.
    Arg {
        /// The smallest instead.
        min: bool,
    },
}

/// The scan `op` of `inputs`; `None` when `op` is not one.
pub fn scan(op: &Op, inputs: &[LibInput]) -> Option<Scan> {
    let src = View::of(inputs.first()?);
    let (axis, kind) = match *op {
        Op::Cumsum {
            axis,
            exclusive,
            reverse,
        }
        | Op::Cumprod {
            axis,
            exclusive,
            reverse,
        } => (
            axis,
            Kind::Running {
                product: matches!(op, Op::Cumprod { .. }),
                exclusive,
                reverse,
            },
        ),
        Op::ArgExtreme { axis, min } => (axis, Kind::Arg { min }),
        _ => return None,
    };
    (axis < src.dims.len()).then_some(Scan { src, axis, kind })
}

impl Em<'_> {
    /// Emits a scan from operand base `src` into `dst`. Returns false when
    /// the step fails whatever the values (an arg-extreme over an empty
    /// axis with results to write).
    pub fn scan(&mut self, s: &Scan, src: Value, dst: Value) -> bool {
        let n = s.src.dims[s.axis];
        let step = s.src.strides[s.axis];
        let mut outer = s.src.dims.clone();
        let mut src_strides = s.src.strides.clone();
        outer.remove(s.axis);
        src_strides.remove(s.axis);
        let (dst_strides, dst_step) = match s.kind {
            Kind::Running { .. } => {
                let mut d = contiguous(&s.src.dims);
                let along = d.remove(s.axis);
                (d, along)
            }
            Kind::Arg { .. } => (contiguous(&outer), 0),
        };
        if n == 0 {
            // nothing to walk: empty running results; no index to give
            return matches!(s.kind, Kind::Running { .. }) || outer.contains(&0);
        }
        let src = self.offset(src, s.src.off);
        let lane = self.lane;
        let kind = s.kind;
        self.nest(
            &outer,
            &[src, dst],
            &[src_strides, dst_strides],
            &mut |e, p| match kind {
                Kind::Running {
                    product,
                    exclusive,
                    reverse,
                } => {
                    let (first, dir) = if reverse {
                        (n as isize - 1, -1)
                    } else {
                        (0, 1)
                    };
                    let s0 = e.offset(p[0], first * step);
                    let d0 = e.offset(p[1], first * dst_step);
                    let acc = e.b.declare_var(lane);
                    let init = ops::constant(&mut e.b, lane, if product { 1.0 } else { 0.0 });
                    e.b.def_var(acc, init);
                    e.nest(
                        &[n],
                        &[s0, d0],
                        &[vec![dir * step], vec![dir * dst_step]],
                        &mut |e, q| {
                            let v = e.b.ins().load(lane, flags(), q[0], 0);
                            let a = e.b.use_var(acc);
                            let next = if product {
                                e.b.ins().fmul(a, v)
                            } else {
                                e.b.ins().fadd(a, v)
                            };
                            e.b.ins()
                                .store(flags(), if exclusive { a } else { next }, q[1], 0);
                            e.b.def_var(acc, next);
                        },
                    );
                }
                Kind::Arg { min } => {
                    let best = e.b.declare_var(lane);
                    let b = e.b.declare_var(lane);
                    let i = e.b.declare_var(lane);
                    let zero = ops::constant(&mut e.b, lane, 0.0);
                    let one = ops::constant(&mut e.b, lane, 1.0);
                    let x0 = e.b.ins().load(lane, flags(), p[0], 0);
                    e.b.def_var(best, zero);
                    e.b.def_var(b, x0);
                    e.b.def_var(i, one);
                    let rest = e.offset(p[0], step);
                    e.nest(&[n - 1], &[rest], &[vec![step]], &mut |e, q| {
                        let v = e.b.ins().load(lane, flags(), q[0], 0);
                        let (bv, iv) = (e.b.use_var(b), e.b.use_var(i));
                        // once the best is NaN nothing replaces it
                        let b_ok = e.b.ins().fcmp(FloatCC::Ordered, bv, bv);
                        let v_nan = e.b.ins().fcmp(FloatCC::Unordered, v, v);
                        let cc = if min {
                            FloatCC::LessThan
                        } else {
                            FloatCC::GreaterThan
                        };
                        let better = e.b.ins().fcmp(cc, v, bv);
                        let wins = e.b.ins().bor(v_nan, better);
                        let take = e.b.ins().band(b_ok, wins);
                        let old = e.b.use_var(best);
                        let nb = e.b.ins().select(take, iv, old);
                        let nv = e.b.ins().select(take, v, bv);
                        e.b.def_var(best, nb);
                        e.b.def_var(b, nv);
                        let ni = e.b.ins().fadd(iv, one);
                        e.b.def_var(i, ni);
                    });
                    let r = e.b.use_var(best);
                    e.b.ins().store(flags(), r, p[1], 0);
                }
            },
        );
        true
    }
}
