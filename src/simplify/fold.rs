//! Constant folding: an operation of constants becomes a constant, computed
//! by the interpreter's kernel for that operation, so folding and
//! interpreting can never disagree.

use ndarray::ArrayD;

use crate::graph::{DType, Literal, Node, NodeId, Op};
use crate::interp;
use crate::value::Element;

use super::rewrite::{rules, Outcome, Rewriter, Rule};

/// The rules of the `fold` pass.
pub(crate) const RULES: &[Rule] = rules![
    // f(c1, c2, ...) -> c, for at most `fold_limit` finite elements
    "fold-constant", Exact, "op(constants) -> constant"            => fold_constant;
    // count(x, axes) -> n when the counted dims are known
    "count-known",   Exact, "count(x) -> n"                        => count_known;
];

/// How many elements folding may read per element it is allowed to produce.
const WORK_PER_ELEMENT: usize = 64;

fn fold_constant(rw: &mut Rewriter<'_>, _id: NodeId, n: &Node) -> Outcome {
    if n.inputs.is_empty() || !n.inputs.iter().all(|&i| rw.is_const(i)) {
        return Ok(None);
    }
    // broadcasts stay virtual (the `algebra` shape rules handle them): never
    // materialize what a scalar and a shape describe
    if matches!(
        n.op,
        Op::BroadcastTo { .. } | Op::BroadcastLike | Op::OnesLike | Op::ZerosLike
    ) {
        return Ok(None);
    }
    let Some(dims) = n.shape.concrete() else {
        return Ok(None);
    };
    let limit = rw.options.fold_limit;
    let Some(out_elements) = n.shape.num_elements().filter(|&k| k <= limit) else {
        return Ok(None);
    };
    // nor spend long folding: bound the elements read (a matrix product
    // reads its inner dimension once per output element)
    let inner = match n.op {
        Op::MatMul => rw
            .shape(n.inputs[0])
            .dims()
            .and_then(|d| d.last().copied().flatten()),
        _ => Some(1),
    };
    let read: usize = n
        .inputs
        .iter()
        .map(|&i| rw.shape(i).num_elements().unwrap_or(usize::MAX))
        .fold(0usize, usize::saturating_add);
    let work = read.saturating_add(out_elements.saturating_mul(inner.unwrap_or(usize::MAX)));
    if work > limit.saturating_mul(WORK_PER_ELEMENT) {
        return Ok(None);
    }
    let lits: Vec<Literal> = n
        .inputs
        .iter()
        .filter_map(|&i| match rw.op(i) {
            Op::Constant(lit) => Some(lit),
            _ => None,
        })
        .collect();
    let folded = match n.dtype {
        DType::F32 => eval::<f32>(&n.op, &lits),
        DType::F64 => eval::<f64>(&n.op, &lits),
    };
    // never fold to a value the printer cannot write back (NaN, inf)
    Ok(folded
        .filter(|lit| lit.shape() == dims.as_slice() && lit.values().iter().all(|v| v.is_finite()))
        .map(|lit| rw.g.add_constant(lit, n.dtype)))
}

/// Evaluates `op` on constant operands with the interpreter's kernel.
fn eval<T: Element>(op: &Op, lits: &[Literal]) -> Option<Literal> {
    let arrays: Vec<ArrayD<T>> = lits.iter().map(Literal::to_array).collect();
    let views: Vec<_> = arrays.iter().map(ArrayD::view).collect();
    interp::eval_op(op, &views)
        .ok()
        .map(|a| Literal::from_array(&a))
}

fn count_known(rw: &mut Rewriter<'_>, _id: NodeId, n: &Node) -> Outcome {
    let Op::Count { axes } = &n.op else {
        return Ok(None);
    };
    let shape = rw.shape(n.inputs[0]);
    let Some(dims) = shape.dims() else {
        return Ok(None);
    };
    let counted: Option<Vec<usize>> = match axes {
        None => dims.iter().copied().collect(),
        Some(ax) => ax.iter().map(|&a| dims.get(a).copied().flatten()).collect(),
    };
    let Some(count) = counted.and_then(|c| crate::graph::checked_product(&c)) else {
        return Ok(None);
    };
    // the interpreter computes the count as `T::from_f64(n as f64)`: the same rounding
    Ok(Some(rw.konst(count as f64, n.dtype)))
}
