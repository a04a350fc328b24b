//! Steps that move elements by index: every index is checked before
//! anything is written (the driver returns its index error code at the
//! first bad one, which [`first_bad_index`] names afterwards), then gathers
//! copy runs, their gradients add runs into zeros, and one-hot rows get
//! their one.

use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::types::I64;
use cranelift_codegen::ir::{InstBuilder, Value};

use super::emit::{contiguous, flags, Em};
use super::moves::View;
use crate::exec::layout::{Call, Homes, LibInput, Loc};
use crate::graph::{hot_index, index_value, split_at_axis, Op};
use crate::jit::ops;

/// An indexed step, with its sizes worked out.
#[derive(Clone, Debug)]
pub struct Indexed {
    /// What it computes.
    pub kind: Kind,
    /// The indices as read.
    pub indices: View,
    /// Elements before the indexed axis (gathers).
    pub outer: usize,
    /// The indexed axis' size: the range every index must fall in.
    pub n: usize,
    /// Elements after the indexed axis (gathers).
    pub inner: usize,
}

/// What an indexed step computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `gather(params, indices, axis)`.
    Gather,
    /// Its gradient: runs of `g` added at their index into zeros.
    GatherGrad,
    /// One-hot rows; with `strict` an index outside the depth is an error
    /// (sparse cross-entropy's labels), else its row is all zeros.
    OneHot {
        /// Out-of-range indices are errors.
        strict: bool,
    },
}

/// The indexed step `op` of `inputs` (into a destination of `shape`).
pub fn indexed(op: &Op, inputs: &[LibInput], shape: &[usize]) -> Option<Indexed> {
    let view = |k: usize| inputs.get(k).map(View::of);
    Some(match *op {
        Op::Gather { axis } => {
            let params = view(0)?;
            if params.strides != contiguous(&params.dims) || params.off != 0 {
                return None;
            }
            let (outer, n, inner) = split_at_axis(&params.dims, axis);
            Indexed {
                kind: Kind::Gather,
                indices: view(1)?,
                outer,
                n,
                inner,
            }
        }
        Op::GatherGrad { axis } => {
            let g = view(0)?;
            if g.strides != contiguous(&g.dims) || g.off != 0 {
                return None;
            }
            let (outer, n, inner) = split_at_axis(shape, axis);
            Indexed {
                kind: Kind::GatherGrad,
                indices: view(1)?,
                outer,
                n,
                inner,
            }
        }
        Op::OneHot { depth } | Op::LabelOneHot { depth } => Indexed {
            kind: Kind::OneHot {
                strict: matches!(op, Op::LabelOneHot { .. }),
            },
            indices: view(0)?,
            outer: 1,
            n: depth,
            inner: 1,
        },
        _ => return None,
    })
}

/// The step and message of the first bad index in `homes`' steps, in plan
/// order, reading each index operand through `values` (a home's elements,
/// `None` when unreadable): what a function that returned the bad-index
/// code stopped at, named as every engine names it (`gather`, `index 7 is
/// outside [0, 3)`). The steps before it ran, so their results are there.
pub fn first_bad_index<T>(
    homes: &Homes<T>,
    values: &dyn Fn(Loc) -> Option<Vec<f64>>,
) -> Option<(&'static str, String)> {
    for c in &homes.calls {
        let Call::Library {
            op, inputs, shape, ..
        } = c
        else {
            continue;
        };
        let Some(ix) = indexed(op, inputs, shape) else {
            continue;
        };
        let (k, name, strict) = match ix.kind {
            Kind::Gather | Kind::GatherGrad => (1, "gather", true),
            Kind::OneHot { strict: true } => (0, "sparse_softmax_cross_entropy", true),
            Kind::OneHot { strict: false } => (0, "one_hot", false),
        };
        let vals = values(inputs.get(k)?.loc)?;
        let v = &ix.indices;
        let count: usize = v.dims.iter().product();
        for i in 0..count {
            // the i-th index in row-major order, through the view's strides
            let mut rest = i;
            let mut at = v.off;
            for (&d, &st) in v.dims.iter().zip(&v.strides).rev() {
                at += (rest % d) as isize * st;
                rest /= d;
            }
            let x = *vals.get(usize::try_from(at).ok()?)?;
            let checked = match ix.kind {
                Kind::OneHot { .. } => hot_index(x, ix.n, strict).map(|_| ()),
                _ => index_value(x, ix.n).map(|_| ()),
            };
            if let Err(detail) = checked {
                return Some((name, detail));
            }
        }
    }
    None
}

impl Em<'_> {
    /// Calls `visit(position, value)` for every index, in order.
    fn each_index(&mut self, ix: &View, base: Value, visit: &mut dyn FnMut(&mut Self, Value)) {
        let lane = self.lane;
        let at = self.offset(base, ix.off);
        self.nest(
            &ix.dims,
            &[at],
            std::slice::from_ref(&ix.strides),
            &mut |e, p| {
                let v = e.b.ins().load(lane, flags(), p[0], 0);
                visit(e, v);
            },
        );
    }

    /// Whether `v` is an integer (finite, no fraction), and whether it is
    /// one in `[0, n)`.
    fn index_ok(&mut self, v: Value, n: usize) -> (Value, Value) {
        let lane = self.lane;
        let fl = self.b.ins().floor(v);
        let whole = self.b.ins().fcmp(FloatCC::Equal, fl, v);
        let diff = self.b.ins().fsub(v, v);
        let finite = self.b.ins().fcmp(FloatCC::Ordered, diff, diff);
        let integer = self.b.ins().band(whole, finite);
        let zero = ops::constant(&mut self.b, lane, 0.0);
        let top = ops::constant(&mut self.b, lane, n as f64);
        let ge = self.b.ins().fcmp(FloatCC::GreaterThanOrEqual, v, zero);
        let lt = self.b.ins().fcmp(FloatCC::LessThan, v, top);
        let inside = self.b.ins().band(ge, lt);
        let ok = self.b.ins().band(integer, inside);
        (integer, ok)
    }

    /// Emits the indexed step: checks every index (returning `code` from
    /// the driver at a bad one), then writes `dst`. `ins` are the operands'
    /// bases (`params` or `g` first, then the indices; for one-hot the
    /// indices alone).
    pub fn indexed(&mut self, s: &Indexed, ins: &[Value], dst: Value, code: i32) {
        let idx = match s.kind {
            Kind::OneHot { .. } => ins[0],
            _ => ins[1],
        };
        let strict = !matches!(s.kind, Kind::OneHot { strict: false });
        let n = s.n;
        self.each_index(&s.indices, idx, &mut |e, v| {
            let (integer, ok) = e.index_ok(v, n);
            let good = if strict { ok } else { integer };
            let bad = e.b.ins().bxor_imm_s(good, 1);
            e.fail_if(bad, code);
        });
        let count: usize = s.indices.dims.iter().product();
        let (outer, inner) = (s.outer, s.inner);
        match s.kind {
            Kind::Gather | Kind::GatherGrad => {
                let grad = s.kind == Kind::GatherGrad;
                if grad {
                    self.fill(dst, outer * n * inner, 0.0);
                }
                let (src, to) = (ins[0], dst);
                self.for_count(outer, &mut |e, a| {
                    let q = e.b.ins().iconst(e.ptr, 0);
                    let qv = e.b.declare_var(e.ptr);
                    e.b.def_var(qv, q);
                    let ix = s.indices.clone();
                    e.each_index(&ix, idx, &mut |e, v| {
                        let k = e.b.ins().fcvt_to_sint_sat(I64, v);
                        let q = e.b.use_var(qv);
                        // the run at index k of slab a, and run q of the other side
                        let an = e.b.ins().imul_imm_s(a, n as i64);
                        let ak = e.b.ins().iadd(an, k);
                        let wide = e.b.ins().imul_imm_s(ak, inner as i64);
                        let ac = e.b.ins().imul_imm_s(a, count as i64);
                        let aq = e.b.ins().iadd(ac, q);
                        let narrow = e.b.ins().imul_imm_s(aq, inner as i64);
                        let lane = e.lane;
                        if grad {
                            let from = e.element(src, narrow);
                            let into = e.element(to, wide);
                            e.nest(&[inner], &[from, into], &[vec![1], vec![1]], &mut |e, p| {
                                let v = e.b.ins().load(lane, flags(), p[0], 0);
                                let d = e.b.ins().load(lane, flags(), p[1], 0);
                                let s = e.b.ins().fadd(d, v);
                                e.b.ins().store(flags(), s, p[1], 0);
                            });
                        } else {
                            let from = e.element(src, wide);
                            let into = e.element(to, narrow);
                            e.copy(&[inner], from, &[1], into, &[1]);
                        }
                        let q1 = e.b.ins().iadd_imm_s(q, 1);
                        e.b.def_var(qv, q1);
                    });
                });
            }
            Kind::OneHot { .. } => {
                self.fill(dst, count * n, 0.0);
                if n == 0 {
                    return;
                }
                let q0 = self.b.ins().iconst(self.ptr, 0);
                let qv = self.b.declare_var(self.ptr);
                self.b.def_var(qv, q0);
                let lane = self.lane;
                let ix = s.indices.clone();
                self.each_index(&ix, idx, &mut |e, v| {
                    let (_, ok) = e.index_ok(v, n);
                    let k = e.b.ins().fcvt_to_sint_sat(I64, v);
                    let q = e.b.use_var(qv);
                    let row = e.b.ins().imul_imm_s(q, n as i64);
                    let zero = e.b.ins().iconst(e.ptr, 0);
                    // an index outside the depth (not strict) writes nothing:
                    // its row's first element is rewritten with its zero
                    let k = e.b.ins().select(ok, k, zero);
                    let at = e.b.ins().iadd(row, k);
                    let d = e.element(dst, at);
                    let one = ops::constant(&mut e.b, lane, 1.0);
                    let old = e.b.ins().load(lane, flags(), d, 0);
                    let val = e.b.ins().select(ok, one, old);
                    e.b.ins().store(flags(), val, d, 0);
                    let q1 = e.b.ins().iadd_imm_s(q, 1);
                    e.b.def_var(qv, q1);
                });
            }
        }
    }
}
