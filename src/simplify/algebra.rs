//! Algebraic identities on values: `x*1`, `x+0`, `--x`, like terms,
//! constant reassociation, and the internal gradient operations
//! (`mul_no_nan`, `relu_grad`) with constant operands.
//!
//! Exact rules keep every bit of every result; the reasoning for the
//! guarded ones is written beside them. Inexact rules are in `inexact`.

use crate::graph::{BinaryOp, DType, Node, NodeId, Op, UnaryOp};

use super::rewrite::{rules, Outcome, Rewriter, Rule};

/// The exact rules of the `algebra` pass (shape rules are in `shapes`).
pub(crate) const RULES: &[Rule] = rules![
    "mul-one",          Exact, "x * 1 -> x"                                 => mul_one;
    "div-one",          Exact, "x / 1 -> x"                                 => div_one;
    "mul-neg-one",      Exact, "x * -1 -> -x, x / -1 -> -x"                 => mul_neg_one;
    "pow-one",          Exact, "x ** 1 -> x"                                => pow_one;
    // -0 is the identity of +: x + -0 = x and x - +0 = x + -0
    "add-zero",         Exact, "x + -0 -> x, x - 0 -> x, x + 0 -> x if x is never -0" => add_zero;
    "neg-neg",          Exact, "--x -> x"                                   => neg_neg;
    // rounding is symmetric, so signs factor out of * and / exactly
    "neg-neg-mul",      Exact, "(-a) * (-b) -> a * b, (-a) / (-b) -> a / b" => neg_neg_mul;
    "neg-into-const",   Exact, "c * -x -> (-c) * x, -(c * x) -> (-c) * x"   => neg_into_const;
    // a - b is a + (-b) by definition
    "add-neg",          Exact, "a + -b -> a - b, -a + b -> b - a, a - -b -> a + b" => add_neg;
    "like-terms",       Exact, "x + x -> 2*x, k1*x + k2*x -> (k1+k2)*x if exact" => like_terms;
    "mul-const-const",  Exact, "c1 * (c2 * x) -> (c1*c2) * x if c2 = ±2^k (k >= 0), |c1| >= 1" => mul_const_const;
    // x / 2^k and x * 2^-k round the same real number
    "div-pow2",         Exact, "x / 2^k -> x * 2^-k"                        => div_pow2;
    "identity",         Exact, "identity(x) -> x, stop_gradient(x) -> x"    => identity;
    "where-same",       Exact, "where(c, a, a) -> a"                        => where_same;
    "where-const",      Exact, "where(1, a, b) -> a, where(0, a, b) -> b"   => where_const;
    // a comparison is exactly 1.0 or +0.0
    "where-mask",       Exact, "where(a < b, 1, 0) -> a < b (any comparison)" => where_mask;
    "mul-no-nan-const", Exact, "mul_no_nan(a, 0) -> 0, mul_no_nan(a, c) -> a * c (c != 0)" => mul_no_nan_const;
    "relu-grad-one",    Exact, "relu_grad(1, x) -> x > 0"                   => relu_grad_one;
    "relu-grad-const",  Exact, "relu_grad(0, x) -> 0, relu_grad(g, c) -> g if c > 0" => relu_grad_const;
    "reduce-trivial",   Exact, "reduce(x, no axes) -> x, reduce(x, every axis) -> reduce(x)" => reduce_trivial;
];

pub(super) fn binary(n: &Node) -> Option<(BinaryOp, NodeId, NodeId)> {
    match n.op {
        Op::Binary(b) => Some((b, n.inputs[0], n.inputs[1])),
        _ => None,
    }
}

pub(super) fn neg_arg(rw: &Rewriter<'_>, id: NodeId) -> Option<NodeId> {
    rw.arg_of(id, &Op::Unary(UnaryOp::Neg))
}

pub(super) fn neg(rw: &mut Rewriter<'_>, x: NodeId) -> Result<NodeId, super::SimplifyError> {
    rw.mk(Op::Unary(UnaryOp::Neg), &[x])
}

pub(super) fn bin(
    rw: &mut Rewriter<'_>,
    op: BinaryOp,
    a: NodeId,
    b: NodeId,
) -> Result<NodeId, super::SimplifyError> {
    rw.mk(Op::Binary(op), &[a, b])
}

/// `±2^k` for a normal `c` (a zero significand).
fn is_pow2(c: f64) -> bool {
    c.is_normal() && c.to_bits() & ((1u64 << 52) - 1) == 0
}

/// `±2^k` with `k >= 0` (so multiplying by it is exact unless it overflows).
fn is_pow2_at_least_one(c: f64) -> bool {
    is_pow2(c) && c.abs() >= 1.0
}

fn mul_one(rw: &mut Rewriter<'_>, id: NodeId, n: &Node) -> Outcome {
    let Some((BinaryOp::Mul, a, b)) = binary(n) else {
        return Ok(None);
    };
    for (one, x) in [(b, a), (a, b)] {
        if rw.splat(one) == Some(1.0) {
            if let Some(r) = rw.fit(id, x)? {
                return Ok(Some(r));
            }
        }
    }
    Ok(None)
}

fn div_one(rw: &mut Rewriter<'_>, id: NodeId, n: &Node) -> Outcome {
    match binary(n) {
        Some((BinaryOp::Div, a, b)) if rw.splat(b) == Some(1.0) => rw.fit(id, a),
        _ => Ok(None),
    }
}

fn mul_neg_one(rw: &mut Rewriter<'_>, id: NodeId, n: &Node) -> Outcome {
    let candidates = match binary(n) {
        Some((BinaryOp::Mul, a, b)) => vec![(b, a), (a, b)],
        Some((BinaryOp::Div, a, b)) => vec![(b, a)],
        _ => return Ok(None),
    };
    for (m1, x) in candidates {
        if rw.splat(m1) == Some(-1.0) && rw.fits(id, x) {
            return Ok(Some(neg(rw, x)?));
        }
    }
    Ok(None)
}

fn pow_one(rw: &mut Rewriter<'_>, id: NodeId, n: &Node) -> Outcome {
    match binary(n) {
        Some((BinaryOp::Pow, a, b)) if rw.splat(b) == Some(1.0) => rw.fit(id, a),
        _ => Ok(None),
    }
}

pub(super) fn is_zero(v: Option<f64>, negative: bool) -> bool {
    v.is_some_and(|v| v == 0.0 && v.is_sign_negative() == negative)
}

fn add_zero(rw: &mut Rewriter<'_>, id: NodeId, n: &Node) -> Outcome {
    match binary(n) {
        Some((BinaryOp::Add, a, b)) => {
            for (z, x) in [(b, a), (a, b)] {
                let s = rw.splat(z);
                if is_zero(s, true) || (is_zero(s, false) && rw.never_neg_zero(x)) {
                    if let Some(r) = rw.fit(id, x)? {
                        return Ok(Some(r));
                    }
                }
            }
            Ok(None)
        }
        Some((BinaryOp::Sub, a, b)) => {
            let s = rw.splat(b);
            if is_zero(s, false) || (is_zero(s, true) && rw.never_neg_zero(a)) {
                rw.fit(id, a)
            } else {
                Ok(None)
            }
        }
        _ => Ok(None),
    }
}

fn neg_neg(rw: &mut Rewriter<'_>, id: NodeId, _n: &Node) -> Outcome {
    match neg_arg(rw, id).and_then(|x| neg_arg(rw, x)) {
        Some(x) => rw.replace(id, x),
        None => Ok(None),
    }
}

fn neg_neg_mul(rw: &mut Rewriter<'_>, _id: NodeId, n: &Node) -> Outcome {
    let Some((op @ (BinaryOp::Mul | BinaryOp::Div), a, b)) = binary(n) else {
        return Ok(None);
    };
    match (neg_arg(rw, a), neg_arg(rw, b)) {
        (Some(x), Some(y)) => Ok(Some(bin(rw, op, x, y)?)),
        _ => Ok(None),
    }
}

/// `-c` for a constant `c`, folded; `None` if it does not fold.
fn negated_const(rw: &mut Rewriter<'_>, c: NodeId) -> Result<Option<NodeId>, super::SimplifyError> {
    if !rw.is_const(c) {
        return Ok(None);
    }
    let m = neg(rw, c)?;
    Ok(rw.is_const(m).then_some(m))
}

fn neg_into_const(rw: &mut Rewriter<'_>, id: NodeId, n: &Node) -> Outcome {
    // c * -x -> (-c) * x ; -x / c -> x / (-c)
    if let Some((op @ (BinaryOp::Mul | BinaryOp::Div), a, b)) = binary(n) {
        let pairs = if op == BinaryOp::Mul {
            vec![(a, b, true), (b, a, false)]
        } else {
            vec![(b, a, false)]
        };
        for (c, x, c_first) in pairs {
            if let Some(inner) = neg_arg(rw, x) {
                if let Some(nc) = negated_const(rw, c)? {
                    let (p, q) = if c_first { (nc, inner) } else { (inner, nc) };
                    return Ok(Some(bin(rw, op, p, q)?));
                }
            }
        }
        return Ok(None);
    }
    // -(c * x) -> (-c) * x ; -(x / c) -> x / (-c) ; -(c / x) -> (-c) / x
    let Some(inner) = neg_arg(rw, id) else {
        return Ok(None);
    };
    let m = rw.node(inner);
    let Some((op @ (BinaryOp::Mul | BinaryOp::Div), a, b)) = binary(&m) else {
        return Ok(None);
    };
    for (c, first) in [(a, true), (b, false)] {
        if let Some(nc) = negated_const(rw, c)? {
            let r = if first {
                bin(rw, op, nc, b)?
            } else {
                bin(rw, op, a, nc)?
            };
            return rw.replace(id, r);
        }
    }
    Ok(None)
}

fn add_neg(rw: &mut Rewriter<'_>, _id: NodeId, n: &Node) -> Outcome {
    match binary(n) {
        Some((BinaryOp::Add, a, b)) => {
            if let Some(y) = neg_arg(rw, b) {
                return Ok(Some(bin(rw, BinaryOp::Sub, a, y)?));
            }
            if let Some(x) = neg_arg(rw, a) {
                return Ok(Some(bin(rw, BinaryOp::Sub, b, x)?));
            }
            Ok(None)
        }
        Some((BinaryOp::Sub, a, b)) => match neg_arg(rw, b) {
            Some(y) => Ok(Some(bin(rw, BinaryOp::Add, a, y)?)),
            None => Ok(None),
        },
        _ => Ok(None),
    }
}

/// The core of a term `k * core`: a node, or the product of two nodes
/// (so that `(-x) * e` and `e * x` have the same core).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Core {
    Node(NodeId),
    Mul(NodeId, NodeId),
}

/// A term `k * core`; `exact` when its value is exactly `k` times the
/// core's computed value (only negations and scalings by `±2^j`, `j >= 0`,
/// which are exact unless they overflow).
#[derive(Clone, Copy, Debug)]
struct Term {
    k: f64,
    core: Core,
    exact: bool,
}

fn term(rw: &Rewriter<'_>, id: NodeId, depth: u32) -> Term {
    let plain = Term {
        k: 1.0,
        core: Core::Node(id),
        exact: true,
    };
    if depth == 0 {
        return plain;
    }
    if let Some(x) = neg_arg(rw, id) {
        let t = term(rw, x, depth - 1);
        return Term { k: -t.k, ..t };
    }
    let n = rw.node(id);
    let Some((BinaryOp::Mul, a, b)) = binary(&n) else {
        return plain;
    };
    for (c, x) in [(a, b), (b, a)] {
        if let Some(v) = rw.scalar(c) {
            let t = term(rw, x, depth - 1);
            return Term {
                k: v * t.k,
                core: t.core,
                exact: t.exact && is_pow2_at_least_one(v),
            };
        }
    }
    // (-a) * b is exactly -(a * b)
    let strip = |x: NodeId| match neg_arg(rw, x) {
        Some(inner) => (-1.0, inner),
        None => (1.0, x),
    };
    let ((ka, pa), (kb, pb)) = (strip(a), strip(b));
    Term {
        k: ka * kb,
        core: Core::Mul(pa.min(pb), pa.max(pb)),
        exact: true,
    }
}

/// Builds `k * core`.
fn build_term(
    rw: &mut Rewriter<'_>,
    k: f64,
    core: Core,
    dtype: DType,
) -> Result<NodeId, super::SimplifyError> {
    let c = match core {
        Core::Node(x) => x,
        Core::Mul(p, q) => bin(rw, BinaryOp::Mul, p, q)?,
    };
    if k == 1.0 {
        Ok(c)
    } else if k == -1.0 {
        neg(rw, c)
    } else {
        let kc = rw.konst(k, dtype);
        bin(rw, BinaryOp::Mul, kc, c)
    }
}

pub(super) fn like_terms_with(
    rw: &mut Rewriter<'_>,
    id: NodeId,
    n: &Node,
    exact_only: bool,
) -> Outcome {
    let (sign, a, b) = match binary(n) {
        Some((BinaryOp::Add, a, b)) => (1.0, a, b),
        Some((BinaryOp::Sub, a, b)) => (-1.0, a, b),
        _ => return Ok(None),
    };
    if a == b && sign > 0.0 {
        // x + x -> 2*x, without looking into x
        let two = rw.konst(2.0, n.dtype);
        let r = bin(rw, BinaryOp::Mul, two, a)?;
        return rw.replace(id, r);
    }
    let (ta, mut tb) = (term(rw, a, 4), term(rw, b, 4));
    tb.k *= sign;
    if ta.core != tb.core {
        return Ok(None);
    }
    // both exact and of one sign: a + b is one rounding of (ka + kb) * core,
    // and an overflow of either is an overflow of the sum
    let exact = ta.exact
        && tb.exact
        && ta.k.signum() == tb.k.signum()
        && is_pow2_at_least_one(ta.k)
        && is_pow2_at_least_one(tb.k);
    if exact_only && !exact {
        return Ok(None);
    }
    let k = ta.k + tb.k;
    if n.dtype.round(k) != k || !k.is_finite() {
        return Ok(None);
    }
    let r = if k == 0.0 {
        let zero = rw.konst(0.0, n.dtype);
        return rw.fit(id, zero);
    } else {
        build_term(rw, k, ta.core, n.dtype)?
    };
    rw.replace(id, r)
}

fn like_terms(rw: &mut Rewriter<'_>, id: NodeId, n: &Node) -> Outcome {
    like_terms_with(rw, id, n, true)
}

/// `c1 * (c2 * x)` with scalar constants: `(c1, c2, x)`.
fn const_const(rw: &Rewriter<'_>, n: &Node) -> Option<(f64, f64, NodeId)> {
    let (BinaryOp::Mul, a, b) = binary(n)? else {
        return None;
    };
    for (c, inner) in [(a, b), (b, a)] {
        let Some(c1) = rw.scalar(c) else { continue };
        let m = rw.node(inner);
        let Some((BinaryOp::Mul, p, q)) = binary(&m) else {
            continue;
        };
        for (c, x) in [(p, q), (q, p)] {
            if let Some(c2) = rw.scalar(c) {
                return Some((c1, c2, x));
            }
        }
    }
    None
}

pub(super) fn mul_const_const_with(
    rw: &mut Rewriter<'_>,
    id: NodeId,
    n: &Node,
    exact_only: bool,
) -> Outcome {
    let Some((c1, c2, x)) = const_const(rw, n) else {
        return Ok(None);
    };
    // c2 * x is exact (or overflows, and then so does c1 * c2 * x as |c1| >= 1)
    if exact_only && !(is_pow2_at_least_one(c2) && c1.abs() >= 1.0) {
        return Ok(None);
    }
    let c = Rewriter::eval2(BinaryOp::Mul, c1, c2, n.dtype);
    let exact_product = Rewriter::eval2(BinaryOp::Div, c, c2, n.dtype) == c1;
    if !c.is_finite() || (exact_only && !exact_product) {
        return Ok(None);
    }
    let kc = rw.konst(c, n.dtype);
    let r = bin(rw, BinaryOp::Mul, kc, x)?;
    rw.replace(id, r)
}

fn mul_const_const(rw: &mut Rewriter<'_>, id: NodeId, n: &Node) -> Outcome {
    mul_const_const_with(rw, id, n, true)
}

fn div_pow2(rw: &mut Rewriter<'_>, _id: NodeId, n: &Node) -> Outcome {
    let Some((BinaryOp::Div, a, b)) = binary(n) else {
        return Ok(None);
    };
    let Some(c) = rw.scalar(b) else {
        return Ok(None);
    };
    let inv = Rewriter::eval2(BinaryOp::Div, 1.0, c, n.dtype);
    // 1/c must itself be exact, never 0 or inf
    if !is_pow2(c)
        || inv == 0.0
        || !inv.is_finite()
        || Rewriter::eval2(BinaryOp::Mul, inv, c, n.dtype) != 1.0
    {
        return Ok(None);
    }
    let k = rw.konst(inv, n.dtype);
    Ok(Some(bin(rw, BinaryOp::Mul, a, k)?))
}

fn identity(rw: &mut Rewriter<'_>, id: NodeId, n: &Node) -> Outcome {
    match n.op {
        Op::Identity | Op::StopGradient | Op::Bind { .. } => rw.replace(id, n.inputs[0]),
        _ => Ok(None),
    }
}

fn where_same(rw: &mut Rewriter<'_>, id: NodeId, n: &Node) -> Outcome {
    match n.op {
        Op::Where if n.inputs[1] == n.inputs[2] => rw.fit(id, n.inputs[1]),
        _ => Ok(None),
    }
}

fn where_const(rw: &mut Rewriter<'_>, id: NodeId, n: &Node) -> Outcome {
    if n.op != Op::Where {
        return Ok(None);
    }
    match rw.splat(n.inputs[0]) {
        // NaN counts as nonzero
        Some(c) if c != 0.0 => rw.fit(id, n.inputs[1]),
        Some(_) => rw.fit(id, n.inputs[2]),
        None => Ok(None),
    }
}

fn where_mask(rw: &mut Rewriter<'_>, id: NodeId, n: &Node) -> Outcome {
    if n.op != Op::Where {
        return Ok(None);
    }
    let c = n.inputs[0];
    let is_comparison = matches!(rw.op(c), Op::Binary(b) if b.is_comparison());
    let one_zero = rw.splat(n.inputs[1]) == Some(1.0) && is_zero(rw.splat(n.inputs[2]), false);
    if is_comparison && one_zero {
        rw.fit(id, c)
    } else {
        Ok(None)
    }
}

fn relu_grad_one(rw: &mut Rewriter<'_>, id: NodeId, n: &Node) -> Outcome {
    let Some((BinaryOp::ReluGrad, g, x)) = binary(n) else {
        return Ok(None);
    };
    if rw.splat(g) != Some(1.0) {
        return Ok(None);
    }
    // 1 where x > 0, else +0: the comparison itself (NaN > 0 is 0 too)
    let zero = rw.konst(0.0, n.dtype);
    let r = bin(rw, BinaryOp::Gt, x, zero)?;
    rw.fit(id, r)
}

fn mul_no_nan_const(rw: &mut Rewriter<'_>, id: NodeId, n: &Node) -> Outcome {
    let Some((BinaryOp::MulNoNan, a, b)) = binary(n) else {
        return Ok(None);
    };
    match rw.splat(b) {
        // 0 where b == 0, whatever a is
        Some(c) if is_zero(Some(c), false) || is_zero(Some(c), true) => {
            let zero = rw.konst(0.0, n.dtype);
            rw.fit(id, zero)
        }
        // b is never 0: a * b everywhere
        Some(_) => Ok(Some(bin(rw, BinaryOp::Mul, a, b)?)),
        None => Ok(None),
    }
}

fn relu_grad_const(rw: &mut Rewriter<'_>, id: NodeId, n: &Node) -> Outcome {
    let Some((BinaryOp::ReluGrad, g, x)) = binary(n) else {
        return Ok(None);
    };
    let zero = || rw.konst(0.0, n.dtype);
    if is_zero(rw.splat(g), false) {
        let z = zero();
        return rw.fit(id, z);
    }
    match rw.splat(x) {
        Some(c) if c > 0.0 => rw.fit(id, g),
        // g * 0 where x <= 0 or NaN: -0, or NaN for an infinite g, so no
        // constant stands for it
        _ => Ok(None),
    }
}

fn reduce_trivial(rw: &mut Rewriter<'_>, id: NodeId, n: &Node) -> Outcome {
    let Op::Reduce { op, axes, keepdims } = &n.op else {
        return Ok(None);
    };
    let x = n.inputs[0];
    match axes {
        // reducing no axis is a copy
        Some(a) if a.is_empty() => rw.replace(id, x),
        Some(a) if Some(a.len()) == rw.shape(x).rank() => {
            let all = Op::Reduce {
                op: *op,
                axes: None,
                keepdims: *keepdims,
            };
            let r = rw.mk(all, &[x])?;
            rw.replace(id, r)
        }
        _ => Ok(None),
    }
}
