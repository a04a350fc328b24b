//! Numerically safe forms of what users write naively, so that values and
//! gradients through them stay finite: `log(1 + x)` loses `x` below the
//! precision of 1, `log(sigmoid(x))` is `log(0) = -inf` once `sigmoid`
//! underflows, `log(sum(exp(x)))` overflows for `x` above ~88 (f32).
//!
//! These rules change values on purpose ([`super::Exactness::Stabilizing`]).

use crate::graph::{BinaryOp, Node, NodeId, Op, ReduceOp, UnaryOp};

use super::rewrite::{rules, Outcome, Rewriter, Rule};

/// The rules of the `stabilize` pass.
pub(crate) const RULES: &[Rule] = rules![
    "log1p",                 Stabilizing, "log(1 + x) -> log1p(x)"              => log1p;
    "expm1",                 Stabilizing, "exp(x) - 1 -> expm1(x)"              => expm1;
    "softplus",              Stabilizing, "log1p(exp(x)) -> softplus(x)"        => softplus;
    "log-sigmoid",           Stabilizing, "log(sigmoid(x)) -> -softplus(-x)"    => log_sigmoid;
    "log-one-minus-sigmoid", Stabilizing, "log(1 - sigmoid(x)) -> -softplus(x)" => log_one_minus_sigmoid;
    "logsumexp",             Stabilizing, "log(sum(exp(x))) -> logsumexp(x)"    => logsumexp;
    "log-exp",               Stabilizing, "log(exp(x)) -> x"                    => log_exp;
    "sigmoid",               Stabilizing, "1 / (1 + exp(-x)) -> sigmoid(x)"     => sigmoid;
];

fn arg(rw: &Rewriter<'_>, id: NodeId, u: UnaryOp) -> Option<NodeId> {
    rw.arg_of(id, &Op::Unary(u))
}

/// `x` when `id` is `1 + x` or `x + 1`.
fn one_plus(rw: &Rewriter<'_>, id: NodeId) -> Option<NodeId> {
    let n = rw.node(id);
    if n.op != Op::Binary(BinaryOp::Add) {
        return None;
    }
    let (a, b) = (n.inputs[0], n.inputs[1]);
    if rw.splat(a) == Some(1.0) {
        Some(b)
    } else if rw.splat(b) == Some(1.0) {
        Some(a)
    } else {
        None
    }
}

/// Builds `f(x)` for a unary `f`.
fn un(rw: &mut Rewriter<'_>, u: UnaryOp, x: NodeId) -> Result<NodeId, super::SimplifyError> {
    rw.mk(Op::Unary(u), &[x])
}

fn log1p(rw: &mut Rewriter<'_>, id: NodeId, _n: &Node) -> Outcome {
    let Some(x) = arg(rw, id, UnaryOp::Log).and_then(|s| one_plus(rw, s)) else {
        return Ok(None);
    };
    if !rw.fits(id, x) {
        return Ok(None);
    }
    Ok(Some(un(rw, UnaryOp::Log1p, x)?))
}

fn expm1(rw: &mut Rewriter<'_>, id: NodeId, n: &Node) -> Outcome {
    let Op::Binary(op) = n.op else {
        return Ok(None);
    };
    let (a, b) = (n.inputs[0], n.inputs[1]);
    let e = match op {
        BinaryOp::Sub if rw.splat(b) == Some(1.0) => a,
        BinaryOp::Add if rw.splat(b) == Some(-1.0) => a,
        BinaryOp::Add if rw.splat(a) == Some(-1.0) => b,
        _ => return Ok(None),
    };
    match arg(rw, e, UnaryOp::Exp) {
        Some(x) if rw.fits(id, x) => Ok(Some(un(rw, UnaryOp::Expm1, x)?)),
        _ => Ok(None),
    }
}

fn softplus(rw: &mut Rewriter<'_>, id: NodeId, _n: &Node) -> Outcome {
    match arg(rw, id, UnaryOp::Log1p).and_then(|e| arg(rw, e, UnaryOp::Exp)) {
        Some(x) => Ok(Some(un(rw, UnaryOp::Softplus, x)?)),
        None => Ok(None),
    }
}

fn log_sigmoid(rw: &mut Rewriter<'_>, id: NodeId, _n: &Node) -> Outcome {
    let Some(x) = arg(rw, id, UnaryOp::Log).and_then(|s| arg(rw, s, UnaryOp::Sigmoid)) else {
        return Ok(None);
    };
    let nx = un(rw, UnaryOp::Neg, x)?;
    let sp = un(rw, UnaryOp::Softplus, nx)?;
    Ok(Some(un(rw, UnaryOp::Neg, sp)?))
}

fn log_one_minus_sigmoid(rw: &mut Rewriter<'_>, id: NodeId, _n: &Node) -> Outcome {
    let Some(d) = arg(rw, id, UnaryOp::Log) else {
        return Ok(None);
    };
    let m = rw.node(d);
    if m.op != Op::Binary(BinaryOp::Sub) || rw.splat(m.inputs[0]) != Some(1.0) {
        return Ok(None);
    }
    match arg(rw, m.inputs[1], UnaryOp::Sigmoid) {
        // 1 - sigmoid(x) = sigmoid(-x)
        Some(x) if rw.fits(id, x) => {
            let sp = un(rw, UnaryOp::Softplus, x)?;
            Ok(Some(un(rw, UnaryOp::Neg, sp)?))
        }
        _ => Ok(None),
    }
}

fn logsumexp(rw: &mut Rewriter<'_>, id: NodeId, _n: &Node) -> Outcome {
    let Some(s) = arg(rw, id, UnaryOp::Log) else {
        return Ok(None);
    };
    let m = rw.node(s);
    let Op::Reduce {
        op: ReduceOp::Sum,
        axes,
        keepdims,
    } = m.op
    else {
        return Ok(None);
    };
    match arg(rw, m.inputs[0], UnaryOp::Exp) {
        Some(x) => {
            let lse = Op::Reduce {
                op: ReduceOp::LogSumExp,
                axes,
                keepdims,
            };
            let r = rw.mk(lse, &[x])?;
            rw.replace(id, r)
        }
        None => Ok(None),
    }
}

fn log_exp(rw: &mut Rewriter<'_>, id: NodeId, _n: &Node) -> Outcome {
    match arg(rw, id, UnaryOp::Log).and_then(|e| arg(rw, e, UnaryOp::Exp)) {
        Some(x) => rw.replace(id, x),
        None => Ok(None),
    }
}

fn sigmoid(rw: &mut Rewriter<'_>, id: NodeId, n: &Node) -> Outcome {
    let denominator = match n.op {
        Op::Binary(BinaryOp::Div) if rw.splat(n.inputs[0]) == Some(1.0) => n.inputs[1],
        Op::Unary(UnaryOp::Reciprocal) => n.inputs[0],
        _ => return Ok(None),
    };
    let x = one_plus(rw, denominator)
        .and_then(|e| arg(rw, e, UnaryOp::Exp))
        .and_then(|m| arg(rw, m, UnaryOp::Neg));
    match x {
        Some(x) if rw.fits(id, x) => Ok(Some(un(rw, UnaryOp::Sigmoid, x)?)),
        _ => Ok(None),
    }
}
