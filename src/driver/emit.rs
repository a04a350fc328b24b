//! The driver's building blocks: where every home is, and loop nests that
//! walk strided operands (fills, copies, combinations) in row-major order.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{BlockArg, InstBuilder, MemFlagsData, Type, Value};
use cranelift_frontend::FunctionBuilder;

use crate::exec::layout::Loc;
use crate::jit::math::{EmitConfig, MathImports};
use crate::jit::ops;

/// What every lowering of a step needs: the builder, the types, and the
/// address of every home, computed once in the entry block (which
/// dominates every step).
pub(super) struct Em<'f> {
    /// The driver function being built.
    pub b: FunctionBuilder<'f>,
    /// The pointer type.
    pub ptr: Type,
    /// The element type (`F32` or `F64`).
    pub lane: Type,
    /// Bytes per element.
    pub size: i64,
    /// The slow paths of the math emitters, declared in this function.
    pub m: MathImports,
    /// What the target has (fused multiply-add).
    pub cfg: EmitConfig,
    /// Base address of each executable input, output, temporary, constant.
    pub inputs: Vec<Value>,
    /// Outputs' base addresses.
    pub outputs: Vec<Value>,
    /// Temporaries' base addresses (inside the scratch block).
    pub temps: Vec<Value>,
    /// Constants' base addresses (in read-only data).
    pub consts: Vec<Value>,
    /// The imported library GEMM products call, if any (else they are
    /// native IR).
    pub gemm: Option<cranelift_codegen::ir::FuncRef>,
    /// Where the GEMM packs a column block of `B` (in the scratch block).
    pub pack: Value,
    /// The runtime's launch (`exec::parallel::gradjit_launch`), in the JIT:
    /// a kernel split across the pool, or streamed, goes through it.
    pub launch: Option<cranelift_codegen::ir::FuncRef>,
    /// Large outputs of light kernels go through streaming stores
    /// (`exec::stream`), by the launch.
    pub streaming: bool,
    /// The runtime's parallel routines and pool, for a JIT driver that runs
    /// on several threads (`exec::parallel`).
    pub parallel: Option<Parallel>,
    /// The function's inputs, outputs and scratch parameters.
    pub params: [Value; 3],
}

/// A JIT driver's way to the executable's thread pool.
#[derive(Clone, Copy)]
pub(super) struct Parallel {
    /// The pool's address (it lives as long as the executable).
    pub pool: i64,
    /// `exec::parallel::gradjit_chunks`.
    pub chunks: cranelift_codegen::ir::FuncRef,
}

/// Memory flags of every access: the plan guarantees the addresses.
pub(super) fn flags() -> MemFlagsData {
    MemFlagsData::new().with_notrap()
}

/// The dimensions and per-operand strides of a nest, with axes of size 1
/// dropped and neighbours merged where every operand walks them as one
/// (fewer, longer loops; the order of elements is unchanged).
pub(super) fn collapse(dims: &[usize], strides: &[Vec<isize>]) -> (Vec<usize>, Vec<Vec<isize>>) {
    let mut d: Vec<usize> = Vec::new();
    let mut s: Vec<Vec<isize>> = vec![Vec::new(); strides.len()];
    for (a, &n) in dims.iter().enumerate() {
        if n == 1 {
            continue;
        }
        let merge = d.last().is_some()
            && strides
                .iter()
                .zip(&s)
                .all(|(st, sk)| sk.last().copied() == Some(st[a] * n as isize));
        if merge {
            if let Some(last) = d.last_mut() {
                *last *= n;
            }
            for (st, sk) in strides.iter().zip(s.iter_mut()) {
                if let Some(l) = sk.last_mut() {
                    *l = st[a];
                }
            }
        } else {
            d.push(n);
            for (st, sk) in strides.iter().zip(s.iter_mut()) {
                sk.push(st[a]);
            }
        }
    }
    (d, s)
}

impl Em<'_> {
    /// The base address of a home.
    pub fn at(&self, loc: Loc) -> Value {
        match loc {
            Loc::Input(k) => self.inputs[k],
            Loc::Output(j) => self.outputs[j],
            Loc::Temp(t) => self.temps[t],
            Loc::Const(c) => self.consts[c],
        }
    }

    /// `base` moved by `elements`.
    pub fn offset(&mut self, base: Value, elements: isize) -> Value {
        if elements == 0 {
            base
        } else {
            self.b.ins().iadd_imm_s(base, elements as i64 * self.size)
        }
    }

    /// Loads a `ty` at `off` bytes from `base`.
    pub fn load_at(&mut self, ty: Type, base: Value, off: i64) -> Value {
        match i32::try_from(off) {
            Ok(o) => self.b.ins().load(ty, flags(), base, o),
            Err(_) => {
                let p = self.b.ins().iadd_imm_s(base, off);
                self.b.ins().load(ty, flags(), p, 0)
            }
        }
    }

    /// Stores `v` at `off` bytes from `base`.
    pub fn store_at(&mut self, v: Value, base: Value, off: i64) {
        match i32::try_from(off) {
            Ok(o) => {
                self.b.ins().store(flags(), v, base, o);
            }
            Err(_) => {
                let p = self.b.ins().iadd_imm_s(base, off);
                self.b.ins().store(flags(), v, p, 0);
            }
        }
    }

    /// Calls `body` once per element of `dims` (row-major), with each
    /// operand's address: operand `k` starts at `bases[k]` and moves
    /// `strides[k][d]` elements along axis `d`. Nothing runs when an axis
    /// is empty.
    pub fn nest(
        &mut self,
        dims: &[usize],
        bases: &[Value],
        strides: &[Vec<isize>],
        body: &mut dyn FnMut(&mut Self, &[Value]),
    ) {
        if dims.contains(&0) {
            return;
        }
        let (d, s) = collapse(dims, strides);
        self.level(&d, &s, 0, bases, body);
    }

    fn level(
        &mut self,
        dims: &[usize],
        strides: &[Vec<isize>],
        axis: usize,
        ptrs: &[Value],
        body: &mut dyn FnMut(&mut Self, &[Value]),
    ) {
        let Some(&n) = dims.get(axis) else {
            body(self, ptrs);
            return;
        };
        let ptr = self.ptr;
        let head = self.b.create_block();
        let inner = self.b.create_block();
        let exit = self.b.create_block();
        let i = self.b.append_block_param(head, ptr);
        let ps: Vec<Value> = ptrs
            .iter()
            .map(|_| self.b.append_block_param(head, ptr))
            .collect();
        let zero = self.b.ins().iconst(ptr, 0);
        let mut args: Vec<BlockArg> = vec![zero.into()];
        args.extend(ptrs.iter().map(|&p| BlockArg::from(p)));
        self.b.ins().jump(head, &args);
        self.b.switch_to_block(head);
        let more = self
            .b
            .ins()
            .icmp_imm_s(IntCC::UnsignedLessThan, i, n as i64);
        self.b.ins().brif(more, inner, &[], exit, &[]);
        self.b.switch_to_block(inner);
        self.level(dims, strides, axis + 1, &ps, body);
        let next = self.b.ins().iadd_imm_s(i, 1);
        let mut args: Vec<BlockArg> = vec![next.into()];
        for (k, &p) in ps.iter().enumerate() {
            let step = strides[k][axis] as i64 * self.size;
            let q = if step == 0 {
                p
            } else {
                self.b.ins().iadd_imm_s(p, step)
            };
            args.push(q.into());
        }
        self.b.ins().jump(head, &args);
        self.b.switch_to_block(exit);
    }

    /// Calls `body` for every `i` in `lo..hi` (signed, run-time bounds).
    pub fn for_range(&mut self, lo: Value, hi: Value, body: &mut dyn FnMut(&mut Self, Value)) {
        let ptr = self.ptr;
        let head = self.b.create_block();
        let inner = self.b.create_block();
        let exit = self.b.create_block();
        let i = self.b.append_block_param(head, ptr);
        self.b.ins().jump(head, &[lo.into()]);
        self.b.switch_to_block(head);
        let more = self.b.ins().icmp(IntCC::SignedLessThan, i, hi);
        self.b.ins().brif(more, inner, &[], exit, &[]);
        self.b.switch_to_block(inner);
        body(self, i);
        let next = self.b.ins().iadd_imm_s(i, 1);
        self.b.ins().jump(head, &[next.into()]);
        self.b.switch_to_block(exit);
    }

    /// [`Em::for_range`] over `0..n`.
    pub fn for_count(&mut self, n: usize, body: &mut dyn FnMut(&mut Self, Value)) {
        let lo = self.b.ins().iconst(self.ptr, 0);
        let hi = self.b.ins().iconst(self.ptr, n as i64);
        self.for_range(lo, hi, body);
    }

    /// `base` moved by `index` (a run-time element count) elements.
    pub fn element(&mut self, base: Value, index: Value) -> Value {
        let bytes = self.b.ins().imul_imm_s(index, self.size);
        self.b.ins().iadd(base, bytes)
    }

    /// Returns `code` from the driver when `cond` is true.
    pub fn fail_if(&mut self, cond: Value, code: i32) {
        let fail = self.b.create_block();
        let cont = self.b.create_block();
        self.b.ins().brif(cond, fail, &[], cont, &[]);
        self.b.switch_to_block(fail);
        let c = self
            .b
            .ins()
            .iconst(cranelift_codegen::ir::types::I32, i64::from(code));
        self.b.ins().return_(&[c]);
        self.b.switch_to_block(cont);
    }

    /// Writes `value` into `len` elements from `base`.
    pub fn fill(&mut self, base: Value, len: usize, value: f64) {
        let v = ops::constant(&mut self.b, self.lane, value);
        self.nest(&[len], &[base], &[vec![1]], &mut |e, p| {
            e.b.ins().store(flags(), v, p[0], 0);
        });
    }

    /// Copies the elements of a strided source into a strided destination,
    /// both walked over `dims` in row-major order.
    pub fn copy(
        &mut self,
        dims: &[usize],
        src: Value,
        src_strides: &[isize],
        dst: Value,
        dst_strides: &[isize],
    ) {
        let lane = self.lane;
        self.nest(
            dims,
            &[src, dst],
            &[src_strides.to_vec(), dst_strides.to_vec()],
            &mut |e, p| {
                let v = e.b.ins().load(lane, flags(), p[0], 0);
                e.b.ins().store(flags(), v, p[1], 0);
            },
        );
    }
}

/// Row-major strides of `dims`, in elements.
pub(super) fn contiguous(dims: &[usize]) -> Vec<isize> {
    let mut s = vec![1isize; dims.len()];
    for i in (0..dims.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * dims[i + 1] as isize;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collapse_merges_contiguous_axes_and_drops_ones() {
        let (d, s) = collapse(&[2, 1, 3, 4], &[vec![12, 12, 4, 1], vec![0, 5, 0, 0]]);
        assert_eq!(d, vec![24]);
        assert_eq!(s, vec![vec![1], vec![0]]);
        // a transposed operand keeps its axes apart
        let (d, s) = collapse(&[3, 4], &[vec![1, 3], vec![4, 1]]);
        assert_eq!(d, vec![3, 4]);
        assert_eq!(s, vec![vec![1, 3], vec![4, 1]]);
    }

    #[test]
    fn contiguous_strides_are_row_major() {
        assert_eq!(contiguous(&[2, 3, 4]), vec![12, 4, 1]);
        assert_eq!(contiguous(&[]), Vec::<isize>::new());
    }
}
