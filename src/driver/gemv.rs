//! Matrix-vector products (`b` one column) in one pass over `a`, in a
//! fixed order the JIT and object files share: one dot
//! product with eight partial sums per row of `a` when its rows are
//! contiguous, or `c += a[:, j] * b[j]` column by column when its columns
//! are. Neither fuses a multiply into an add, as the Rust loops do not.

use cranelift_codegen::ir::{InstBuilder, Value};
use cranelift_frontend::Variable;

use super::emit::Em;
use super::gemm::Mat;
use crate::jit::ops;

/// Partial sums of a row's dot product.
const PARTIALS: usize = 8;

/// How a matrix-vector product walks `a`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Gemv {
    /// Rows of `a` contiguous: a dot product per row.
    Rows,
    /// Columns of `a` contiguous: one column at a time into all of `c`.
    Columns,
}

impl Gemv {
    /// The walk for `t` (`n` is 1), if any:
    /// `b` must be contiguous.
    pub fn of(t: &Mat) -> Option<Self> {
        if t.n != 1 || !(t.b_rs == 1 || t.k <= 1) {
            return None;
        }
        if t.a_cs == 1 || t.k <= 1 {
            Some(Gemv::Rows)
        } else if t.a_rs == 1 || t.m <= 1 {
            Some(Gemv::Columns)
        } else {
            None
        }
    }
}

impl Em<'_> {
    /// Emits `c = a @ b` for a one-column `b`, walking `a` as `g` says.
    pub(super) fn gemv(&mut self, t: &Mat, g: Gemv, a: Value, b: Value, c: Value) {
        match g {
            Gemv::Rows => self.gemv_rows(t, a, b, c),
            Gemv::Columns => self.gemv_columns(t, a, b, c),
        }
    }

    fn gemv_rows(&mut self, t: &Mat, a: Value, b: Value, c: Value) {
        let vty = ops::vector_of(self.lane);
        let lanes = vty.lane_count() as usize;
        let vecs = PARTIALS / lanes;
        let size = self.size;
        let lane = self.lane;
        let (k, a_cs) = (t.k, t.a_cs);
        let full = k / PARTIALS;
        self.nest(&[t.m], &[a, c], &[vec![t.a_rs], vec![1]], &mut |e, q| {
            let zero = ops::constant(&mut e.b, vty, 0.0);
            let accs: Vec<Variable> = (0..vecs)
                .map(|_| {
                    let v = e.b.declare_var(vty);
                    e.b.def_var(v, zero);
                    v
                })
                .collect();
            // a row holds more than one element here only if contiguous
            let step = PARTIALS as isize;
            e.nest(
                &[full],
                &[q[0], b],
                &[vec![step], vec![step]],
                &mut |e, p| {
                    for (v, &acc) in accs.iter().enumerate() {
                        let off = (v * lanes) as i64 * size;
                        let x = e.load_at(vty, p[0], off);
                        let y = e.load_at(vty, p[1], off);
                        let xy = e.b.ins().fmul(x, y);
                        let s = e.b.use_var(acc);
                        let s = e.b.ins().fadd(s, xy);
                        e.b.def_var(acc, s);
                    }
                },
            );
            let mut part = Vec::with_capacity(PARTIALS);
            for &acc in &accs {
                let v = e.b.use_var(acc);
                for l in 0..lanes {
                    part.push(e.b.ins().extractlane(v, l as u8));
                }
            }
            let add = |e: &mut Self, x: Value, y: Value| e.b.ins().fadd(x, y);
            let (s01, s23) = (add(e, part[0], part[1]), add(e, part[2], part[3]));
            let (s45, s67) = (add(e, part[4], part[5]), add(e, part[6], part[7]));
            let (lo, hi) = (add(e, s01, s23), add(e, s45, s67));
            let mut total = add(e, lo, hi);
            for i in full * PARTIALS..k {
                let x = e.load_at(lane, q[0], i as i64 * a_cs as i64 * size);
                let y = e.load_at(lane, b, i as i64 * size);
                let xy = e.b.ins().fmul(x, y);
                total = e.b.ins().fadd(total, xy);
            }
            e.store_at(total, q[1], 0);
        });
    }

    fn gemv_columns(&mut self, t: &Mat, a: Value, b: Value, c: Value) {
        let vty = ops::vector_of(self.lane);
        let lanes = vty.lane_count() as usize;
        let lane = self.lane;
        let m = t.m;
        // vectors down a column only where its elements are adjacent
        let full = if t.a_rs == 1 { m / lanes } else { 0 };
        let a_rs = t.a_rs;
        self.fill(c, m, 0.0);
        self.nest(
            &[t.k],
            &[a, b],
            &[vec![t.a_cs], vec![t.b_rs]],
            &mut |e, q| {
                let bj = e.load_at(lane, q[1], 0);
                let bv = e.b.ins().splat(vty, bj);
                let l = lanes as isize;
                e.nest(&[full], &[q[0], c], &[vec![l], vec![l]], &mut |e, p| {
                    let x = e.load_at(vty, p[0], 0);
                    let old = e.load_at(vty, p[1], 0);
                    let xy = e.b.ins().fmul(x, bv);
                    let s = e.b.ins().fadd(old, xy);
                    e.store_at(s, p[1], 0);
                });
                let rest = m - full * lanes;
                let start = (full * lanes) as isize;
                let a0 = e.offset(q[0], start * a_rs);
                let c0 = e.offset(c, start);
                e.nest(&[rest], &[a0, c0], &[vec![a_rs], vec![1]], &mut |e, p| {
                    let x = e.load_at(lane, p[0], 0);
                    let old = e.load_at(lane, p[1], 0);
                    let xy = e.b.ins().fmul(x, bj);
                    let s = e.b.ins().fadd(old, xy);
                    e.store_at(s, p[1], 0);
                });
            },
        );
    }
}
