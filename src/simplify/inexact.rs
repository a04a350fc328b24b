//! Identities that are wrong for some inputs, each naming them: off unless
//! [`super::Options::inexact`] is set.

use crate::graph::{BinaryOp, Node, NodeId, Op, UnaryOp};

use super::algebra::{bin, binary, is_zero, like_terms_with, mul_const_const_with, neg, neg_arg};
use super::rewrite::{rules, Outcome, Rewriter, Rule};

/// Rules that are wrong for some inputs; off unless `Options::inexact`.
pub(crate) const RULES: &[Rule] = rules![
    "mul-zero",          Inexact, "x * 0 -> 0 (wrong for inf and NaN: NaN; for x < 0: -0)" => mul_zero;
    "sub-self",          Inexact, "x - x -> 0 (wrong for inf and NaN: NaN)"         => sub_self;
    "div-self",          Inexact, "x / x -> 1 (wrong for 0, inf and NaN: NaN)"      => div_self;
    "add-zero-signed",   Inexact, "x + 0 -> x (wrong for x = -0: +0)"               => add_zero_signed;
    "zero-sub",          Inexact, "0 - x -> -x (wrong for x = +0: +0)"              => zero_sub;
    "neg-sub",           Inexact, "-(a - b) -> b - a (wrong for a = b: -0)"         => neg_sub;
    "like-terms-any",    Inexact, "k1*x + k2*x -> (k1+k2)*x (rounds differently; NaN for inf when signs differ)" => like_terms_any;
    "mul-const-const-any", Inexact, "c1 * (c2 * x) -> (c1*c2) * x (rounds differently; overflow and underflow)" => mul_const_const_any;
    "pow-two",           Inexact, "x ** 2 -> x * x (libm's pow is not correctly rounded: last bit)" => pow_two;
    "pow-zero",          Inexact, "x ** 0 -> 1 (libm gives NaN for a signaling NaN)" => pow_zero;
    "pow-half",          Inexact, "x ** 0.5 -> sqrt(x) (wrong for -0 and -inf)"     => pow_half;
];

fn like_terms_any(rw: &mut Rewriter<'_>, id: NodeId, n: &Node) -> Outcome {
    like_terms_with(rw, id, n, false)
}

fn mul_const_const_any(rw: &mut Rewriter<'_>, id: NodeId, n: &Node) -> Outcome {
    mul_const_const_with(rw, id, n, false)
}

fn mul_zero(rw: &mut Rewriter<'_>, id: NodeId, n: &Node) -> Outcome {
    let Some((BinaryOp::Mul, a, b)) = binary(n) else {
        return Ok(None);
    };
    if is_zero(rw.splat(a), false) || is_zero(rw.splat(b), false) {
        let z = rw.konst(0.0, n.dtype);
        return rw.fit(id, z);
    }
    Ok(None)
}

fn sub_self(rw: &mut Rewriter<'_>, id: NodeId, n: &Node) -> Outcome {
    match binary(n) {
        Some((BinaryOp::Sub, a, b)) if a == b => {
            let z = rw.konst(0.0, n.dtype);
            rw.fit(id, z)
        }
        _ => Ok(None),
    }
}

fn div_self(rw: &mut Rewriter<'_>, id: NodeId, n: &Node) -> Outcome {
    match binary(n) {
        Some((BinaryOp::Div, a, b)) if a == b => {
            let one = rw.konst(1.0, n.dtype);
            rw.fit(id, one)
        }
        _ => Ok(None),
    }
}

fn add_zero_signed(rw: &mut Rewriter<'_>, id: NodeId, n: &Node) -> Outcome {
    match binary(n) {
        Some((BinaryOp::Add, a, b)) => {
            for (z, x) in [(b, a), (a, b)] {
                if is_zero(rw.splat(z), false) && rw.fits(id, x) {
                    return Ok(Some(x));
                }
            }
            Ok(None)
        }
        Some((BinaryOp::Sub, a, b)) if is_zero(rw.splat(b), true) => rw.replace(id, a),
        _ => Ok(None),
    }
}

fn zero_sub(rw: &mut Rewriter<'_>, id: NodeId, n: &Node) -> Outcome {
    match binary(n) {
        Some((BinaryOp::Sub, a, b)) if rw.splat(a) == Some(0.0) && rw.fits(id, b) => {
            Ok(Some(neg(rw, b)?))
        }
        _ => Ok(None),
    }
}

fn neg_sub(rw: &mut Rewriter<'_>, id: NodeId, _n: &Node) -> Outcome {
    let Some(inner) = neg_arg(rw, id) else {
        return Ok(None);
    };
    let m = rw.node(inner);
    match binary(&m) {
        Some((BinaryOp::Sub, a, b)) => Ok(Some(bin(rw, BinaryOp::Sub, b, a)?)),
        _ => Ok(None),
    }
}

fn pow_const(rw: &Rewriter<'_>, n: &Node, exponent: f64) -> Option<NodeId> {
    match binary(n) {
        Some((BinaryOp::Pow, a, b)) if rw.splat(b) == Some(exponent) => Some(a),
        _ => None,
    }
}

fn pow_two(rw: &mut Rewriter<'_>, id: NodeId, n: &Node) -> Outcome {
    match pow_const(rw, n, 2.0) {
        Some(x) if rw.fits(id, x) => Ok(Some(bin(rw, BinaryOp::Mul, x, x)?)),
        _ => Ok(None),
    }
}

fn pow_zero(rw: &mut Rewriter<'_>, id: NodeId, n: &Node) -> Outcome {
    match pow_const(rw, n, 0.0) {
        Some(_) => {
            let one = rw.konst(1.0, n.dtype);
            rw.fit(id, one)
        }
        None => Ok(None),
    }
}

fn pow_half(rw: &mut Rewriter<'_>, id: NodeId, n: &Node) -> Outcome {
    match pow_const(rw, n, 0.5) {
        Some(x) if rw.fits(id, x) => Ok(Some(rw.mk(Op::Unary(UnaryOp::Sqrt), &[x])?)),
        _ => Ok(None),
    }
}
