//! Data movement as strided copies: every reshape, transpose, broadcast,
//! reversal, tile, slice, padding and concatenation is a few fills and
//! copies between strided views, worked out here at compile time, so the
//! driver emits only loops.

use crate::exec::layout::LibInput;
use crate::graph::{resolve_slice, Op};

use super::emit::contiguous;

/// Elements of a buffer read (or written) in row-major order of `dims`:
/// element `ix` at `off + sum(ix[d] * strides[d])`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct View {
    /// The logical shape.
    pub dims: Vec<usize>,
    /// Elements between neighbours along each axis (0: broadcast).
    pub strides: Vec<isize>,
    /// The first element's position.
    pub off: isize,
}

impl View {
    /// The row-major value of `dims` stored from its buffer's start.
    pub fn dense(dims: &[usize]) -> Self {
        View {
            dims: dims.to_vec(),
            strides: contiguous(dims),
            off: 0,
        }
    }

    /// A library operand as its step reads it (through its permutation).
    pub fn of(input: &LibInput) -> Self {
        let v = View::dense(&input.shape);
        match &input.perm {
            Some(p) => v.permuted(p),
            None => v,
        }
    }

    /// The axes in the order `perm` lists them.
    pub fn permuted(&self, perm: &[usize]) -> Self {
        View {
            dims: perm.iter().map(|&a| self.dims[a]).collect(),
            strides: perm.iter().map(|&a| self.strides[a]).collect(),
            off: self.off,
        }
    }

    /// Broadcast to `to` (NumPy rules, already checked by inference): new
    /// leading axes and axes of size 1 read one element again and again.
    pub fn broadcast(&self, to: &[usize]) -> Option<Self> {
        let lead = to.len().checked_sub(self.dims.len())?;
        let mut strides = vec![0; to.len()];
        for (i, (&d, &s)) in self.dims.iter().zip(&self.strides).enumerate() {
            let n = to[lead + i];
            if d == n {
                strides[lead + i] = s;
            } else if d != 1 {
                return None;
            }
        }
        Some(View {
            dims: to.to_vec(),
            strides,
            off: self.off,
        })
    }

    /// The axis read backward.
    pub fn reversed(&self, axis: usize) -> Option<Self> {
        let mut v = self.clone();
        let n = *v.dims.get(axis)?;
        if n > 0 {
            v.off += (n as isize - 1) * v.strides[axis];
        }
        v.strides[axis] = -v.strides[axis];
        Some(v)
    }

    /// The view's elements `[start, start + len)` along `axis`.
    pub fn narrowed(&self, axis: usize, start: usize, len: usize) -> Self {
        let mut v = self.clone();
        v.off += start as isize * v.strides[axis];
        v.dims[axis] = len;
        v
    }

    fn numel(&self) -> usize {
        self.dims.iter().product()
    }
}

/// One piece of a data-movement step.
#[derive(Clone, Debug, PartialEq)]
pub enum Move {
    /// Every element of the destination set to a value.
    Fill(f64),
    /// Operand `input`'s view `src` copied into the destination's view
    /// `dst` (same dims), element by element.
    Copy {
        /// Which operand.
        input: usize,
        /// What is read.
        src: View,
        /// Where it goes.
        dst: View,
    },
}

/// The fills and copies that compute the data-movement step `op` of
/// `inputs` into a destination of `shape`, in order; `None` when `op` is
/// not data movement (or its operands do not fit it).
pub fn moves(op: &Op, inputs: &[LibInput], shape: &[usize]) -> Option<Vec<Move>> {
    let out = View::dense(shape);
    let whole = |src: View| -> Option<Vec<Move>> {
        (src.numel() == out.numel()).then(|| {
            // same elements in the same order: read in the source's own shape
            let dst = View {
                dims: src.dims.clone(),
                strides: contiguous(&src.dims),
                off: 0,
            };
            vec![Move::Copy { input: 0, src, dst }]
        })
    };
    let x = inputs.first().map(View::of);
    Some(match op {
        Op::Reshape { .. }
        | Op::ReshapeLike
        | Op::ExpandDims { .. }
        | Op::StopGradient
        | Op::Identity
        | Op::Bind { .. } => whole(x?)?,
        Op::Transpose { perm } => {
            let x = x?;
            let p: Vec<usize> = match perm {
                Some(p) => p.clone(),
                None => (0..x.dims.len()).rev().collect(),
            };
            whole(x.permuted(&p))?
        }
        Op::BroadcastTo { .. } | Op::BroadcastLike => whole(x?.broadcast(shape)?)?,
        Op::Reverse { axes } => {
            let mut v = x?;
            for &a in axes {
                v = v.reversed(a)?;
            }
            whole(v)?
        }
        Op::OnesLike => vec![Move::Fill(1.0)],
        Op::ZerosLike => vec![Move::Fill(0.0)],
        Op::Count { axes } => {
            let x = inputs.first()?;
            let n: usize = match axes {
                None => x.shape.iter().product(),
                Some(ax) => ax
                    .iter()
                    .map(|&a| x.shape.get(a).copied().unwrap_or(1))
                    .product(),
            };
            vec![Move::Fill(n as f64)]
        }
        Op::Tile { multiples } => {
            // x seen as [1, d0, 1, d1, ...] broadcast to [m0, d0, m1, d1, ...]
            let x = x?;
            if multiples.len() != x.dims.len() {
                return None;
            }
            let dims: Vec<usize> = multiples
                .iter()
                .zip(&x.dims)
                .flat_map(|(&m, &d)| [m, d])
                .collect();
            let strides: Vec<isize> = x.strides.iter().flat_map(|&s| [0, s]).collect();
            whole(View {
                dims,
                strides,
                off: x.off,
            })?
        }
        Op::Slice { items } => {
            let x = x?;
            whole(sliced(&x, items)?)?
        }
        Op::SliceGrad { items } => {
            let g = x?;
            let to = sliced(&out, items)?;
            if to.numel() != g.numel() {
                return None;
            }
            vec![Move::Fill(0.0), copy_into(0, g, to)]
        }
        Op::Pad { widths } => {
            let x = x?;
            if widths.len() != x.dims.len() || shape.len() != x.dims.len() {
                return None;
            }
            let mut to = out.clone();
            for (k, (&(before, _), &n)) in widths.iter().zip(&x.dims).enumerate() {
                to = to.narrowed(k, before, n);
            }
            vec![Move::Fill(0.0), copy_into(0, x, to)]
        }
        Op::Concat { axis } => {
            let mut at = 0;
            let mut parts = Vec::with_capacity(inputs.len());
            for (i, input) in inputs.iter().enumerate() {
                let v = View::of(input);
                let n = *v.dims.get(*axis)?;
                parts.push(copy_into(i, v, out.narrowed(*axis, at, n)));
                at += n;
            }
            if Some(&at) != shape.get(*axis) {
                return None;
            }
            parts
        }
        _ => return None,
    })
}

/// A copy of `src` into `dst`'s elements (the same dims).
fn copy_into(input: usize, src: View, dst: View) -> Move {
    Move::Copy { input, src, dst }
}

/// `v[items]` as a view.
fn sliced(v: &View, items: &[crate::graph::SliceItem]) -> Option<View> {
    let axes = resolve_slice(items, &v.dims).ok()?;
    let mut r = View {
        dims: Vec::new(),
        strides: Vec::new(),
        off: v.off,
    };
    for (a, s) in axes.iter().enumerate() {
        if s.len > 0 {
            r.off += s.start as isize * v.strides[a];
        }
        if s.kept {
            r.dims.push(s.len);
            r.strides.push(s.step as isize * v.strides[a]);
        }
    }
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::SliceItem;

    /// What a view reads from a buffer holding 0, 1, 2, ...: the positions.
    fn positions(v: &View) -> Vec<isize> {
        let n: usize = v.dims.iter().product();
        (0..n)
            .map(|mut i| {
                let mut at = v.off;
                for (d, s) in v.dims.iter().zip(&v.strides).rev() {
                    at += (i % d) as isize * s;
                    i /= d;
                }
                at
            })
            .collect()
    }

    fn input(shape: &[usize]) -> LibInput {
        LibInput {
            loc: crate::exec::layout::Loc::Input(0),
            shape: shape.to_vec(),
            perm: None,
        }
    }

    #[test]
    fn transpose_reads_columns_first() {
        let m = moves(&Op::Transpose { perm: None }, &[input(&[2, 3])], &[3, 2]);
        let Some([Move::Copy { src, .. }]) = m.as_deref() else {
            panic!("one copy expected, got {m:?}");
        };
        assert_eq!(positions(src), vec![0, 3, 1, 4, 2, 5]);
    }

    #[test]
    fn reverse_and_broadcast_positions() {
        let v = View::dense(&[2, 3]).reversed(1).unwrap();
        assert_eq!(positions(&v), vec![2, 1, 0, 5, 4, 3]);
        let b = View::dense(&[3]).broadcast(&[2, 3]).unwrap();
        assert_eq!(positions(&b), vec![0, 1, 2, 0, 1, 2]);
        assert!(View::dense(&[2]).broadcast(&[3]).is_none());
    }

    #[test]
    fn slices_follow_python_rules() {
        // x[1:, ::-2] of a [3, 5]
        let items = [
            SliceItem::Range {
                start: Some(1),
                stop: None,
                step: 1,
            },
            SliceItem::Range {
                start: None,
                stop: None,
                step: -2,
            },
        ];
        let v = sliced(&View::dense(&[3, 5]), &items).unwrap();
        assert_eq!(v.dims, vec![2, 3]);
        assert_eq!(positions(&v), vec![9, 7, 5, 14, 12, 10]);
    }

    #[test]
    fn tile_repeats_the_whole() {
        let m = moves(
            &Op::Tile {
                multiples: vec![2, 1],
            },
            &[input(&[1, 3])],
            &[2, 3],
        );
        let Some([Move::Copy { src, .. }]) = m.as_deref() else {
            panic!("one copy expected, got {m:?}");
        };
        assert_eq!(positions(src), vec![0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn concat_writes_each_part_at_its_offset() {
        let m = moves(
            &Op::Concat { axis: 1 },
            &[input(&[2, 1]), input(&[2, 2])],
            &[2, 3],
        )
        .unwrap();
        let dsts: Vec<Vec<isize>> = m
            .iter()
            .map(|mv| match mv {
                Move::Copy { dst, .. } => positions(dst),
                Move::Fill(_) => Vec::new(),
            })
            .collect();
        assert_eq!(dsts, vec![vec![0, 3], vec![1, 2, 4, 5]]);
    }
}
