//! Convolutions and poolings: a convolution is the GEMM of its windows laid out as rows (im2col, in
//! the driver's work area) with the filter; its filter gradient the
//! windows' transpose times the upstream gradient; its input gradient the
//! upstream gradient times the filter's transpose, scattered back window
//! by window (col2im). Poolings walk each window's taps in row-major order,
//! channels innermost in memory; the first maximum wins.

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, InstBuilder, MemFlagsData, Value};

use super::emit::{flags, Em};
use super::gemm::Product;
use super::moves::View;
use crate::exec::layout::LibInput;
use crate::graph::{Geometry, Op, Window};
use crate::jit::ops;

/// A windowed step, with its geometry worked out.
#[derive(Clone, Debug)]
pub struct Windowed {
    /// The operation.
    pub kind: Kind,
    /// Sizes, strides and padding.
    pub g: Geometry,
    /// A convolution's GEMM (`None` for a pooling).
    pub product: Option<Product>,
}

/// What a windowed step computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `conv2d(x, f)`.
    Conv,
    /// Its input gradient, from `(g, f)`.
    ConvInput,
    /// Its filter gradient, from `(x, g)`.
    ConvFilter,
    /// `max_pool2d(x)`.
    MaxPool,
    /// Its gradient, from `(x, g)`.
    MaxPoolGrad,
    /// The gradient of that, from `(x, gg)`.
    MaxPoolGradGrad,
    /// `avg_pool2d(x)`.
    AvgPool,
    /// Its gradient, from `(g, like)`.
    AvgPoolGrad,
}

/// The windowed step `op` of `inputs`; `None` when it is not one (or its
/// operands are read through a permutation, which no plan makes).
pub fn windowed(op: &Op, inputs: &[LibInput]) -> Option<Windowed> {
    if inputs.iter().any(|i| i.perm.is_some()) {
        return None;
    }
    let shape = |k: usize| inputs.get(k).map(|i| i.shape.as_slice());
    let conv_window = |f: &[usize], strides, padding| match *f {
        [kh, kw, _, _] => Some(Window {
            ksize: [kh, kw],
            strides,
            padding,
        }),
        _ => None,
    };
    let (kind, dims, window, out): (Kind, &[usize], Window, usize) = match op {
        &Op::Conv2d { strides, padding } => {
            let f = shape(1)?;
            (
                Kind::Conv,
                shape(0)?,
                conv_window(f, strides, padding)?,
                f[3],
            )
        }
        &Op::Conv2dBackpropInput { strides, padding } => {
            let f = shape(1)?;
            (
                Kind::ConvInput,
                shape(2)?,
                conv_window(f, strides, padding)?,
                f[3],
            )
        }
        &Op::Conv2dBackpropFilter { strides, padding } => {
            let f = shape(2)?;
            (
                Kind::ConvFilter,
                shape(0)?,
                conv_window(f, strides, padding)?,
                f[3],
            )
        }
        Op::MaxPool2d { window } => (Kind::MaxPool, shape(0)?, *window, 0),
        Op::MaxPoolGrad { window } => (Kind::MaxPoolGrad, shape(0)?, *window, 0),
        Op::MaxPoolGradGrad { window } => (Kind::MaxPoolGradGrad, shape(0)?, *window, 0),
        Op::AvgPool2d { window } => (Kind::AvgPool, shape(0)?, *window, 0),
        Op::AvgPoolGrad { window } => (Kind::AvgPoolGrad, shape(1)?, *window, 0),
        _ => return None,
    };
    let g = Geometry::new("window", dims, &window).ok()?;
    let (m, k) = (g.n * g.oh * g.ow, g.kh * g.kw * g.c);
    // the windows as rows `[m, k]`, the filter `[k, out]`, the gradient `[m, out]`
    let product = match kind {
        Kind::Conv => Some(Product::new(
            &View::dense(&[m, k]),
            &View::dense(&[k, out]),
            &[m, out],
        )?),
        Kind::ConvFilter => Some(Product::new(
            &View::dense(&[m, k]).permuted(&[1, 0]),
            &View::dense(&[m, out]),
            &[k, out],
        )?),
        Kind::ConvInput => Some(Product::new(
            &View::dense(&[m, out]),
            &View::dense(&[k, out]).permuted(&[1, 0]),
            &[m, k],
        )?),
        _ => None,
    };
    Some(Windowed { kind, g, product })
}

impl Windowed {
    /// The length of the axis its GEMM contracts (0 for a pooling).
    pub fn contracted(&self) -> usize {
        self.product.as_ref().map_or(0, Product::contracted)
    }

    /// Elements of the work area it needs: the windows as rows of a
    /// convolution (and their gradient), nothing for a pooling.
    pub fn work(&self) -> usize {
        let g = &self.g;
        match self.kind {
            Kind::Conv | Kind::ConvInput | Kind::ConvFilter => {
                g.n * g.oh * g.ow * g.kh * g.kw * g.c
            }
            _ => 0,
        }
    }
}

/// One output position's window: the first input row and column it reads
/// (signed, before clipping) and the window rows and columns inside the
/// input.
struct Pos {
    b: Value,
    /// The output position's index in `[n, oh, ow]`.
    out: Value,
    r0: Value,
    c0: Value,
    di: (Value, Value),
    dj: (Value, Value),
}

impl Em<'_> {
    /// `max(lo_bound, pad - i * stride)` and `min(k, size + pad - i * stride)`:
    /// the window offsets of output index `i` that land inside the input.
    fn inside(
        &mut self,
        i: Value,
        stride: usize,
        pad: usize,
        k: usize,
        size: usize,
    ) -> (Value, Value, Value) {
        let at = self.b.ins().imul_imm_s(i, stride as i64);
        let first = self.b.ins().iadd_imm_s(at, -(pad as i64));
        let zero = self.b.ins().iconst(self.ptr, 0);
        let neg = self.b.ins().ineg(first);
        let lo = self.b.ins().smax(zero, neg);
        let size_v = self.b.ins().iconst(self.ptr, size as i64);
        let room = self.b.ins().isub(size_v, first);
        let kv = self.b.ins().iconst(self.ptr, k as i64);
        let hi = self.b.ins().smin(kv, room);
        (first, lo, hi)
    }

    /// Calls `visit` for every output position of `g`.
    fn positions(&mut self, g: &Geometry, visit: &mut dyn FnMut(&mut Self, &Pos)) {
        let g = *g;
        self.for_count(g.n, &mut |e, b| {
            e.for_count(g.oh, &mut |e, i| {
                let (r0, di_lo, di_hi) = e.inside(i, g.sh, g.pad_top, g.kh, g.h);
                e.for_count(g.ow, &mut |e, j| {
                    let (c0, dj_lo, dj_hi) = e.inside(j, g.sw, g.pad_left, g.kw, g.w);
                    let bi = e.b.ins().imul_imm_s(b, g.oh as i64);
                    let bi = e.b.ins().iadd(bi, i);
                    let bij = e.b.ins().imul_imm_s(bi, g.ow as i64);
                    let out = e.b.ins().iadd(bij, j);
                    let pos = Pos {
                        b,
                        out,
                        r0,
                        c0,
                        di: (di_lo, di_hi),
                        dj: (dj_lo, dj_hi),
                    };
                    visit(e, &pos);
                });
            });
        });
    }

    /// Calls `visit(tap, k)` for every tap of `p`'s window inside the input,
    /// in row-major order: `tap` is the element index of its first channel
    /// in `[n, h, w, c]`, `k` its index among the window's taps
    /// (`di * kw + dj`).
    fn taps(&mut self, g: &Geometry, p: &Pos, visit: &mut dyn FnMut(&mut Self, Value, Value)) {
        let g = *g;
        let (b, r0, c0) = (p.b, p.r0, p.c0);
        self.for_range(p.di.0, p.di.1, &mut |e, di| {
            let r = e.b.ins().iadd(r0, di);
            let br = e.b.ins().imul_imm_s(b, g.h as i64);
            let br = e.b.ins().iadd(br, r);
            let brw = e.b.ins().imul_imm_s(br, g.w as i64);
            let kdi = e.b.ins().imul_imm_s(di, g.kw as i64);
            e.for_range(p.dj.0, p.dj.1, &mut |e, dj| {
                let col = e.b.ins().iadd(c0, dj);
                let at = e.b.ins().iadd(brw, col);
                let tap = e.b.ins().imul_imm_s(at, g.c as i64);
                let k = e.b.ins().iadd(kdi, dj);
                visit(e, tap, k);
            });
        });
    }

    /// Copies (or with `add`, adds) `n` elements from `src` to `dst`, a
    /// vector at a time, then the rest one by one.
    fn run_of(&mut self, n: usize, src: Value, dst: Value, add: bool) {
        let vty = ops::vector_of(self.lane);
        let lanes = vty.lane_count() as usize;
        let full = n / lanes;
        let step = lanes as isize;
        for (ty, count, at, stride) in [
            (vty, full, 0, step),
            (self.lane, n - full * lanes, full * lanes, 1),
        ] {
            let (s, d) = (self.offset(src, at as isize), self.offset(dst, at as isize));
            self.nest(
                &[count],
                &[s, d],
                &[vec![stride], vec![stride]],
                &mut |e, q| {
                    let v = e.b.ins().load(ty, flags(), q[0], 0);
                    let v = if add {
                        let d = e.b.ins().load(ty, flags(), q[1], 0);
                        e.b.ins().fadd(d, v)
                    } else {
                        v
                    };
                    e.b.ins().store(flags(), v, q[1], 0);
                },
            );
        }
    }

    /// The windows of `x` as rows `[n * oh * ow, kh * kw * c]` at `cols`
    /// (zeros for padding); with `back`, the reverse: `cols` added into
    /// `x`'s elements (col2im).
    fn windows_as_rows(&mut self, g: &Geometry, x: Value, cols: Value, back: bool) {
        let g = *g;
        let row = g.kh * g.kw * g.c;
        let (from, len) = if back {
            (x, g.n * g.h * g.w * g.c)
        } else {
            (cols, g.n * g.oh * g.ow * row)
        };
        self.fill(from, len, 0.0);
        self.positions(&g, &mut |e, p| {
            let row_start = e.b.ins().imul_imm_s(p.out, row as i64);
            // a window wholly inside the input: its taps at fixed offsets
            let inside = e.whole_window(&g, p);
            let fast = e.b.create_block();
            let slow = e.b.create_block();
            let done = e.b.create_block();
            e.b.ins().brif(inside, fast, &[], slow, &[]);
            e.b.switch_to_block(fast);
            let br = e.b.ins().imul_imm_s(p.b, g.h as i64);
            let br = e.b.ins().iadd(br, p.r0);
            let brw = e.b.ins().imul_imm_s(br, g.w as i64);
            let first = e.b.ins().iadd(brw, p.c0);
            let first = e.b.ins().imul_imm_s(first, g.c as i64);
            let x0 = e.element(x, first);
            let c_row = e.element(cols, row_start);
            for di in 0..g.kh {
                for dj in 0..g.kw {
                    let x_at = e.offset(x0, ((di * g.w + dj) * g.c) as isize);
                    let c_at = e.offset(c_row, ((di * g.kw + dj) * g.c) as isize);
                    if back {
                        e.run_of(g.c, c_at, x_at, true);
                    } else {
                        e.run_of(g.c, x_at, c_at, false);
                    }
                }
            }
            e.b.ins().jump(done, &[]);
            e.b.switch_to_block(slow);
            e.taps(&g, p, &mut |e, tap, k| {
                let kc = e.b.ins().imul_imm_s(k, g.c as i64);
                let at = e.b.ins().iadd(row_start, kc);
                let c_at = e.element(cols, at);
                let x_at = e.element(x, tap);
                if back {
                    e.run_of(g.c, c_at, x_at, true);
                } else {
                    e.run_of(g.c, x_at, c_at, false);
                }
            });
            e.b.ins().jump(done, &[]);
            e.b.switch_to_block(done);
        });
    }

    /// Whether `p`'s window lies wholly inside the input (no tap clipped).
    fn whole_window(&mut self, g: &Geometry, p: &Pos) -> Value {
        let rows_lo = self.b.ins().icmp_imm_s(IntCC::Equal, p.di.0, 0);
        let rows_hi = self.b.ins().icmp_imm_s(IntCC::Equal, p.di.1, g.kh as i64);
        let cols_lo = self.b.ins().icmp_imm_s(IntCC::Equal, p.dj.0, 0);
        let cols_hi = self.b.ins().icmp_imm_s(IntCC::Equal, p.dj.1, g.kw as i64);
        let rows = self.b.ins().band(rows_lo, rows_hi);
        let cols = self.b.ins().band(cols_lo, cols_hi);
        self.b.ins().band(rows, cols)
    }

    /// Emits the windowed step into `dst` from its operands' bases; `work`
    /// is the work area (`Windowed::work` elements).
    pub fn windowed(&mut self, w: &Windowed, ins: &[Value], dst: Value, work: Value) {
        let g = w.g;
        match (w.kind, &w.product) {
            (Kind::Conv | Kind::ConvFilter, Some(p)) => {
                self.windows_as_rows(&g, ins[0], work, false);
                self.matmul(p, work, ins[1], dst, false);
            }
            (Kind::ConvInput, Some(p)) => {
                self.matmul(p, ins[0], ins[1], work, false);
                self.windows_as_rows(&g, dst, work, true);
            }
            (Kind::MaxPool | Kind::MaxPoolGrad | Kind::MaxPoolGradGrad, _) => {
                self.max_pool(w.kind, &g, ins, dst)
            }
            (Kind::AvgPool | Kind::AvgPoolGrad, _) => {
                self.avg_pool(w.kind == Kind::AvgPoolGrad, &g, ins[0], dst)
            }
            // `windowed` gives every convolution its product
            (Kind::Conv | Kind::ConvFilter | Kind::ConvInput, None) => {}
        }
    }

    fn max_pool(&mut self, kind: Kind, g: &Geometry, ins: &[Value], dst: Value) {
        let g = *g;
        if kind == Kind::MaxPoolGrad {
            self.fill(dst, g.n * g.h * g.w * g.c, 0.0);
        }
        let lanes = ops::vector_of(self.lane).lane_count() as usize;
        // channels a vector at a time where a lane's index fits its lane
        let wide = self.lane == types::F64 || g.n * g.h * g.w * g.c <= i32::MAX as usize;
        let groups = if wide { g.c / lanes } else { 0 };
        self.positions(&g, &mut |e, p| {
            let out_c = e.b.ins().imul_imm_s(p.out, g.c as i64);
            e.for_count(groups, &mut |e, grp| {
                let c0 = e.b.ins().imul_imm_s(grp, lanes as i64);
                e.max_pool_lanes(kind, &g, p, ins, dst, out_c, c0);
            });
            let lo = e.b.ins().iconst(e.ptr, (groups * lanes) as i64);
            let hi = e.b.ins().iconst(e.ptr, g.c as i64);
            e.for_range(lo, hi, &mut |e, c| {
                e.max_pool_channel(kind, &g, p, ins, dst, out_c, c);
            });
        });
    }

    /// One vector of channels from `c0` at output position `p`: each lane
    /// walks the window's taps as [`Em::max_pool_channel`] does, the first
    /// tap taken, then any greater one.
    #[allow(clippy::too_many_arguments)]
    fn max_pool_lanes(
        &mut self,
        kind: Kind,
        g: &Geometry,
        p: &Pos,
        ins: &[Value],
        dst: Value,
        out_c: Value,
        c0: Value,
    ) {
        let (lane, ptr) = (self.lane, self.ptr);
        let vty = ops::vector_of(lane);
        let lanes = vty.lane_count() as u8;
        let (ity, int) = if lane == types::F64 {
            (types::I64X2, types::I64)
        } else {
            (types::I32X4, types::I32)
        };
        let x = ins[0];
        let found = self.b.declare_var(ptr);
        let best = self.b.declare_var(vty);
        let at = self.b.declare_var(ity);
        let zero = self.b.ins().iconst(ptr, 0);
        let ninf = ops::constant(&mut self.b, vty, f64::NEG_INFINITY);
        let zero_i = self.b.ins().iconst(int, 0);
        let none = self.b.ins().splat(ity, zero_i);
        self.b.def_var(found, zero);
        self.b.def_var(best, ninf);
        self.b.def_var(at, none);
        self.taps(g, p, &mut |e, tap, _| {
            let t = e.b.ins().iadd(tap, c0);
            let addr = e.element(x, t);
            let v = e.b.ins().load(vty, flags(), addr, 0);
            let (f, m) = (e.b.use_var(found), e.b.use_var(best));
            let first = e.b.ins().icmp_imm_s(IntCC::Equal, f, 0);
            let first = e.b.ins().bmask(int, first);
            let first = e.b.ins().splat(ity, first);
            let more = e.b.ins().fcmp(FloatCC::GreaterThan, v, m);
            let take = e.b.ins().bor(more, first);
            let take_f = e.b.ins().bitcast(vty, MemFlagsData::new(), take);
            let nm = e.b.ins().bitselect(take_f, v, m);
            let tap_i = if int == types::I64 {
                tap
            } else {
                e.b.ins().ireduce(int, tap)
            };
            let tap_v = e.b.ins().splat(ity, tap_i);
            let old = e.b.use_var(at);
            let na = e.b.ins().bitselect(take, tap_v, old);
            let one = e.b.ins().iconst(ptr, 1);
            e.b.def_var(best, nm);
            e.b.def_var(at, na);
            e.b.def_var(found, one);
        });
        let o = self.b.ins().iadd(out_c, c0);
        let (f, m, a) = (
            self.b.use_var(found),
            self.b.use_var(best),
            self.b.use_var(at),
        );
        let has = self.b.ins().icmp_imm_s(IntCC::NotEqual, f, 0);
        match kind {
            Kind::MaxPool => {
                let d = self.element(dst, o);
                self.b.ins().store(flags(), m, d, 0);
            }
            _ => {
                for l in 0..lanes {
                    // lane `l`'s tap, channel `c0 + l`
                    let tap = self.b.ins().extractlane(a, l);
                    let tap = if int == types::I64 {
                        tap
                    } else {
                        self.b.ins().uextend(ptr, tap)
                    };
                    let t = self.b.ins().iadd(tap, c0);
                    let t = self.b.ins().iadd_imm_s(t, i64::from(l));
                    let ol = self.b.ins().iadd_imm_s(o, i64::from(l));
                    self.max_pool_result(kind, ins, dst, has, m, ol, t);
                }
            }
        }
    }

    /// One channel `c` at output position `p`: the window's taps in order,
    /// the first taken, then any greater one.
    #[allow(clippy::too_many_arguments)]
    fn max_pool_channel(
        &mut self,
        kind: Kind,
        g: &Geometry,
        p: &Pos,
        ins: &[Value],
        dst: Value,
        out_c: Value,
        c: Value,
    ) {
        let (lane, ptr) = (self.lane, self.ptr);
        let x = ins[0];
        let found = self.b.declare_var(ptr);
        let best = self.b.declare_var(lane);
        let at = self.b.declare_var(ptr);
        let zero = self.b.ins().iconst(ptr, 0);
        let ninf = ops::constant(&mut self.b, lane, f64::NEG_INFINITY);
        self.b.def_var(found, zero);
        self.b.def_var(best, ninf);
        self.b.def_var(at, zero);
        self.taps(g, p, &mut |e, tap, _| {
            let t = e.b.ins().iadd(tap, c);
            let addr = e.element(x, t);
            let v = e.b.ins().load(lane, flags(), addr, 0);
            let (f, m) = (e.b.use_var(found), e.b.use_var(best));
            let first = e.b.ins().icmp_imm_s(IntCC::Equal, f, 0);
            let more = e.b.ins().fcmp(FloatCC::GreaterThan, v, m);
            let take = e.b.ins().bor(first, more);
            let nm = e.b.ins().select(take, v, m);
            let old = e.b.use_var(at);
            let na = e.b.ins().select(take, t, old);
            let one = e.b.ins().iconst(ptr, 1);
            e.b.def_var(best, nm);
            e.b.def_var(at, na);
            e.b.def_var(found, one);
        });
        let o = self.b.ins().iadd(out_c, c);
        let (f, m, a) = (
            self.b.use_var(found),
            self.b.use_var(best),
            self.b.use_var(at),
        );
        let has = self.b.ins().icmp_imm_s(IntCC::NotEqual, f, 0);
        self.max_pool_result(kind, ins, dst, has, m, o, a);
    }

    /// Writes one channel's result at pooled index `o`: the maximum `m`,
    /// the upstream gradient added at its input index `a`, or the gradient
    /// of that read from `a` (`has`: the window had a tap).
    #[allow(clippy::too_many_arguments)]
    fn max_pool_result(
        &mut self,
        kind: Kind,
        ins: &[Value],
        dst: Value,
        has: Value,
        m: Value,
        o: Value,
        a: Value,
    ) {
        let lane = self.lane;
        match kind {
            Kind::MaxPool => {
                let d = self.element(dst, o);
                self.b.ins().store(flags(), m, d, 0);
            }
            Kind::MaxPoolGrad => {
                // dst[a] += dy[o] where a window had a tap
                let dy = self.element(ins[1], o);
                let v = self.b.ins().load(lane, flags(), dy, 0);
                let d = self.element(dst, a);
                let old = self.b.ins().load(lane, flags(), d, 0);
                let sum = self.b.ins().fadd(old, v);
                let new = self.b.ins().select(has, sum, old);
                self.b.ins().store(flags(), new, d, 0);
            }
            _ => {
                let src = self.element(ins[1], a);
                let v = self.b.ins().load(lane, flags(), src, 0);
                let zero = ops::constant(&mut self.b, lane, 0.0);
                let r = self.b.ins().select(has, v, zero);
                let d = self.element(dst, o);
                self.b.ins().store(flags(), r, d, 0);
            }
        }
    }

    /// `avg_pool2d(x)` into `dst`, or (with `grad`) its gradient from `x`
    /// holding the upstream gradient: channels a vector at a time, then the
    /// rest one by one (each lane sums the taps in order, as one channel).
    fn avg_pool(&mut self, grad: bool, g: &Geometry, x: Value, dst: Value) {
        let g = *g;
        let lane = self.lane;
        let vty = ops::vector_of(lane);
        let lanes = vty.lane_count() as usize;
        let groups = g.c / lanes;
        if grad {
            self.fill(dst, g.n * g.h * g.w * g.c, 0.0);
        }
        self.positions(&g, &mut |e, p| {
            // the number of taps inside the input, as a float
            let rows = e.b.ins().isub(p.di.1, p.di.0);
            let cols = e.b.ins().isub(p.dj.1, p.dj.0);
            let n = e.b.ins().imul(rows, cols);
            let nf = e.b.ins().fcvt_from_sint(lane, n);
            let out_c = e.b.ins().imul_imm_s(p.out, g.c as i64);
            e.for_count(groups, &mut |e, grp| {
                let c0 = e.b.ins().imul_imm_s(grp, lanes as i64);
                e.avg_pool_channels(vty, grad, &g, p, [x, dst], out_c, c0, nf);
            });
            let lo = e.b.ins().iconst(e.ptr, (groups * lanes) as i64);
            let hi = e.b.ins().iconst(e.ptr, g.c as i64);
            e.for_range(lo, hi, &mut |e, c| {
                e.avg_pool_channels(lane, grad, &g, p, [x, dst], out_c, c, nf);
            });
        });
    }

    /// One channel (`ty` a lane) or a vector of channels from `c` at output
    /// position `p`; `nf` is the number of taps inside the input.
    #[allow(clippy::too_many_arguments)]
    fn avg_pool_channels(
        &mut self,
        ty: cranelift_codegen::ir::Type,
        grad: bool,
        g: &Geometry,
        p: &Pos,
        [x, dst]: [Value; 2],
        out_c: Value,
        c: Value,
        nf: Value,
    ) {
        let nf = if ty.is_vector() {
            self.b.ins().splat(ty, nf)
        } else {
            nf
        };
        let o = self.b.ins().iadd(out_c, c);
        if grad {
            let dy = self.element(x, o);
            let v = self.b.ins().load(ty, flags(), dy, 0);
            let share = self.b.ins().fdiv(v, nf);
            self.taps(g, p, &mut |e, tap, _| {
                let t = e.b.ins().iadd(tap, c);
                let d = e.element(dst, t);
                let old = e.b.ins().load(ty, flags(), d, 0);
                let s = e.b.ins().fadd(old, share);
                e.b.ins().store(flags(), s, d, 0);
            });
        } else {
            let acc = self.b.declare_var(ty);
            let zero = ops::constant(&mut self.b, ty, 0.0);
            self.b.def_var(acc, zero);
            self.taps(g, p, &mut |e, tap, _| {
                let t = e.b.ins().iadd(tap, c);
                let a = e.element(x, t);
                let v = e.b.ins().load(ty, flags(), a, 0);
                let s = e.b.use_var(acc);
                let s = e.b.ins().fadd(s, v);
                e.b.def_var(acc, s);
            });
            let s = self.b.use_var(acc);
            let q = self.b.ins().fdiv(s, nf);
            let d = self.element(dst, o);
            self.b.ins().store(flags(), q, d, 0);
        }
    }
}
