//! The gradient rules of the operations that restructure or index a
//! tensor: each scatters (or gathers) the upstream gradient back to where
//! the operand's elements went, with operations that are themselves
//! differentiable.

use super::Builder;
use crate::graph::{GraphError, NodeId, Op, SliceItem};

impl Builder<'_> {
    /// `x`'s size along `axis`, which a rule needs known when it is built.
    fn size_along(
        &self,
        x: NodeId,
        axis: usize,
        op: &'static str,
        detail: &'static str,
    ) -> Result<usize, GraphError> {
        let dims = self.g.node(x).shape;
        let size = dims.dims().and_then(|d| d.get(axis).copied().flatten());
        size.ok_or(GraphError::UnknownSize { op, detail })
    }

    /// `x[items]`: `g` written into zeros of `x`'s shape (StridedSliceGrad).
    pub(super) fn slice_grad(
        &self,
        items: &[SliceItem],
        g: NodeId,
        x: NodeId,
    ) -> Result<NodeId, GraphError> {
        let op = Op::SliceGrad {
            items: items.to_vec(),
        };
        self.op(op, &[g, x])
    }

    /// `slice_grad(g, like)`: its adjoint is the slice itself.
    pub(super) fn slice_of(&self, items: &[SliceItem], g: NodeId) -> Result<NodeId, GraphError> {
        self.op(
            Op::Slice {
                items: items.to_vec(),
            },
            &[g],
        )
    }

    /// `pad(x, widths)`: the middle of `g`, where `x` went.
    pub(super) fn pad_grad(
        &self,
        widths: &[(usize, usize)],
        g: NodeId,
    ) -> Result<NodeId, GraphError> {
        let items = widths
            .iter()
            .map(|&(before, after)| SliceItem::Range {
                start: Some(before as i64),
                stop: (after > 0).then(|| -(after as i64)),
                step: 1,
            })
            .collect();
        self.op(Op::Slice { items }, &[g])
    }

    /// `concat(xs, axis)`: each operand's stretch of `g` along the axis
    /// (ConcatGrad); the operands' sizes there must be known.
    pub(super) fn concat_grads(
        &self,
        axis: usize,
        xs: &[NodeId],
        g: NodeId,
        want: impl Fn(usize) -> bool,
    ) -> Result<Vec<Option<NodeId>>, GraphError> {
        let mut offset = 0i64;
        let mut grads = Vec::with_capacity(xs.len());
        for (k, &x) in xs.iter().enumerate() {
            let detail = "its gradient needs the operands' sizes along the axis";
            let n = self.size_along(x, axis, "concat", detail)? as i64;
            let mut items = vec![SliceItem::ALL; axis];
            items.push(SliceItem::Range {
                start: Some(offset),
                stop: Some(offset + n),
                step: 1,
            });
            offset += n;
            grads.push(if want(k) {
                Some(self.op(Op::Slice { items }, &[g])?)
            } else {
                None
            });
        }
        Ok(grads)
    }

    /// `sparse_softmax_cross_entropy(labels, logits)` to the logits:
    /// `g (softmax(logits) - one_hot(labels))`, `g` broadcast over the classes.
    pub(super) fn sparse_cross_entropy_grad(
        &self,
        labels: NodeId,
        logits: NodeId,
        g: NodeId,
    ) -> Result<NodeId, GraphError> {
        let op = "sparse_softmax_cross_entropy";
        let last = self.axis(op, logits, -1)?;
        let depth =
            self.size_along(logits, last, op, "its gradient needs the number of classes")?;
        let gk = self.op(Op::ExpandDims { axes: vec![last] }, &[g])?;
        let p = self.op(Op::Softmax { axis: -1 }, &[logits])?;
        let hot = self.op(Op::LabelOneHot { depth }, &[labels])?;
        self.mul(gk, self.sub(p, hot)?)
    }
}

impl Builder<'_> {
    /// The gradients of the convolution family, each bilinear in its two
    /// tensor operands, so each one's gradient is another of the family
    /// (TensorFlow's `_Conv2DGrad`, `_Conv2DBackpropInputGrad`,
    /// `_Conv2DBackpropFilterGrad`); the operand lending a shape gets none.
    pub(super) fn conv_grads(
        &self,
        op: &Op,
        (strides, padding): ([usize; 2], crate::graph::Padding),
        ins: &[NodeId],
        g: NodeId,
        want: impl Fn(usize) -> bool,
    ) -> Result<Vec<Option<NodeId>>, GraphError> {
        let conv = Op::Conv2d { strides, padding };
        let input = Op::Conv2dBackpropInput { strides, padding };
        let filter = Op::Conv2dBackpropFilter { strides, padding };
        let (a, b) = (ins[0], ins[1]);
        let pick = |k: usize, build: &dyn Fn() -> Result<NodeId, GraphError>| {
            if want(k) {
                build().map(Some)
            } else {
                Ok(None)
            }
        };
        let (ga, gb) = match op {
            // conv2d(x, f)
            Op::Conv2d { .. } => (
                pick(0, &|| self.op(input.clone(), &[g, b, a]))?,
                pick(1, &|| self.op(filter.clone(), &[a, g, b]))?,
            ),
            // conv2d_backprop_input(dy, f, like): linear in dy and in f
            Op::Conv2dBackpropInput { .. } => (
                pick(0, &|| self.op(conv.clone(), &[g, b]))?,
                pick(1, &|| self.op(filter.clone(), &[g, a, b]))?,
            ),
            // conv2d_backprop_filter(x, dy, like)
            _ => (
                pick(0, &|| self.op(input.clone(), &[b, g, a]))?,
                pick(1, &|| self.op(conv.clone(), &[a, g]))?,
            ),
        };
        let mut grads = vec![ga, gb];
        if ins.len() > 2 {
            grads.push(None);
        }
        Ok(grads)
    }
}

impl Builder<'_> {
    /// For each element of `x`, the product of the other elements of the
    /// lanes `prod(x, axes)` reduces: along the last axis the exclusive
    /// running products from both ends, multiplied by the others' product
    /// over the remaining axes (of the products along the last one). No
    /// division, so zeros are right.
    pub(super) fn others_product(
        &self,
        x: NodeId,
        axes: Option<&[usize]>,
    ) -> Result<NodeId, GraphError> {
        let all: Vec<usize>;
        let axes = match axes {
            Some(a) => a,
            None => {
                let rank = self.g.node(x).shape.rank().ok_or(GraphError::UnknownRank {
                    op: "prod",
                    detail: "its gradient over every axis needs the rank",
                })?;
                all = (0..rank).collect();
                &all
            }
        };
        let Some((&last, rest)) = axes.split_last() else {
            return self.ones_like(x);
        };
        let scan = |reverse| Op::Cumprod {
            axis: last,
            exclusive: true,
            reverse,
        };
        let along = self.mul(self.op(scan(false), &[x])?, self.op(scan(true), &[x])?)?;
        if rest.is_empty() {
            return Ok(along);
        }
        let lanes = Op::Reduce {
            op: crate::graph::ReduceOp::Prod,
            axes: Some(vec![last]),
            keepdims: true,
        };
        let p = self.op(lanes, &[x])?;
        self.mul(along, self.others_product(p, Some(rest))?)
    }
}
