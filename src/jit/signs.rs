//! Which kernel values are known to be non-negative or non-positive, so
//! that a function whose argument has a known sign can skip the half of
//! its range reduction that cannot occur (`exp` of `x * -x` never
//! overflows).
//!
//! "Non-negative" means in `[-0, +inf]` or NaN, "non-positive" in
//! `[-inf, +0]` or NaN: NaN passes through every fast path unchanged, so it
//! never needs to be excluded. A zero is both. Every rule holds in IEEE
//! arithmetic for every input, infinities and signed zeros included.

use crate::graph::kernel::{KInst, KValue, KernelSpec};
use crate::graph::{BinaryOp, SignRule, UnaryOp};

/// The sign facts of every value of a kernel body.
pub(crate) struct Signs {
    nonneg: Vec<bool>,
    nonpos: Vec<bool>,
}

impl Signs {
    /// Analyses `spec`'s body in one forward pass.
    pub(crate) fn of(spec: &KernelSpec) -> Signs {
        let n = spec.body.len();
        let mut s = Signs {
            nonneg: Vec::with_capacity(n),
            nonpos: Vec::with_capacity(n),
        };
        for (i, inst) in spec.body.iter().enumerate() {
            let (pos, neg) = s.rule(spec, inst);
            debug_assert_eq!(s.nonneg.len(), i);
            s.nonneg.push(pos);
            s.nonpos.push(neg);
        }
        s
    }

    /// True when `v` is `<= 0` or NaN.
    pub(crate) fn nonpos(&self, v: KValue) -> bool {
        self.nonpos[v.index()]
    }

    /// `(non-negative, non-positive)` for one instruction.
    fn rule(&self, spec: &KernelSpec, inst: &KInst) -> (bool, bool) {
        let pos = |v: KValue| self.nonneg[v.index()];
        let neg = |v: KValue| self.nonpos[v.index()];
        // `b` is `-a` (or `a` is `-b`): their product is `-(a*a)`
        let negation_of = |a: KValue, b: KValue| {
            matches!(spec.body[b.index()], KInst::Unary(UnaryOp::Neg, x) if x == a)
                || matches!(spec.body[a.index()], KInst::Unary(UnaryOp::Neg, x) if x == b)
        };
        match *inst {
            KInst::Input(_) => (false, false),
            KInst::Const(c) => (c >= 0.0, c <= 0.0),
            KInst::Unary(op, a) => match op.facts().sign {
                SignRule::NonNegative => (true, false),
                SignRule::Kept => (pos(a), neg(a)),
                SignRule::Flipped => (neg(a), pos(a)),
                SignRule::Unknown => (false, false),
            },
            KInst::Binary(op, a, b) => {
                use BinaryOp::*;
                match op {
                    Add => (pos(a) && pos(b), neg(a) && neg(b)),
                    Sub => (pos(a) && neg(b), neg(a) && pos(b)),
                    Mul | Div | MulNoNan if a == b => (true, false),
                    Mul | Div | MulNoNan if negation_of(a, b) => (false, true),
                    Mul | MulNoNan => (
                        (pos(a) && pos(b)) || (neg(a) && neg(b)),
                        (pos(a) && neg(b)) || (neg(a) && pos(b)),
                    ),
                    // dividing by a zero gives an infinity signed by the
                    // zero's sign bit, which a known sign does not fix
                    Div => (false, false),
                    Maximum => (pos(a) || pos(b), neg(a) && neg(b)),
                    Minimum => (pos(a) && pos(b), neg(a) || neg(b)),
                    Lt | Le | Gt | Ge | Eq | Ne => (true, false),
                    // `a * (b > 0)`: a product with 0 or 1
                    ReluGrad => (pos(a), neg(a)),
                    // a quotient's sign is a zero's sign bit's to decide
                    Pow | DivNoNan | Xdivy | Xlogy | Atan2 => (false, false),
                }
            }
            KInst::Select(_, x, y) => (pos(x) && pos(y), neg(x) && neg(y)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::kernel::InnerAccess;
    use crate::graph::DType;

    fn spec(body: Vec<KInst>) -> KernelSpec {
        KernelSpec {
            name: "t".into(),
            dtype: DType::F32,
            inputs: vec![InnerAccess::Contiguous],
            body,
            outputs: vec![],
            reductions: vec![],
        }
    }

    #[test]
    fn products_of_a_value_and_its_negation_are_nonpositive() {
        let x = KValue(0);
        let s = Signs::of(&spec(vec![
            KInst::Input(0),
            KInst::Unary(UnaryOp::Neg, x),
            KInst::Binary(BinaryOp::Mul, x, KValue(1)),
            KInst::Binary(BinaryOp::Mul, KValue(1), x),
            KInst::Binary(BinaryOp::Mul, x, x),
            KInst::Unary(UnaryOp::Neg, KValue(4)),
            KInst::Unary(UnaryOp::Abs, x),
            KInst::Unary(UnaryOp::Neg, KValue(6)),
            KInst::Binary(BinaryOp::Add, KValue(2), KValue(7)),
        ]));
        let nonpos: Vec<bool> = (0..9).map(|i| s.nonpos(KValue(i))).collect();
        assert_eq!(
            nonpos,
            [false, false, true, true, false, true, false, true, true]
        );
    }

    /// Values at every sign boundary, both zeros and infinities included.
    const SPECIAL: [f64; 11] = [
        f64::NEG_INFINITY,
        -3.5,
        -1.0,
        -0.25,
        -0.0,
        0.0,
        0.25,
        1.0,
        3.5,
        f64::INFINITY,
        f64::NAN,
    ];

    /// Whether `r` is what the facts claim: `[-0, +inf]` (or NaN) when
    /// non-negative, `[-inf, +0]` (or NaN) when non-positive.
    fn holds(facts: (bool, bool), r: f64) -> bool {
        let nonneg = r.is_nan() || r >= 0.0;
        let nonpos = r.is_nan() || r <= 0.0;
        (!facts.0 || nonneg) && (!facts.1 || nonpos)
    }

    #[test]
    fn every_rule_holds_on_every_special_value() {
        use crate::graph::{BINARY_OPS, UNARY_OPS};
        let at = |s: &Signs, v: usize| (s.nonneg[v], s.nonpos[v]);
        for op in UNARY_OPS {
            for &a in &SPECIAL {
                let s = Signs::of(&spec(vec![KInst::Const(a), KInst::Unary(op, KValue(0))]));
                let r = op.eval(a);
                assert!(holds(at(&s, 1), r), "{op:?}({a}) = {r} vs {:?}", at(&s, 1));
            }
        }
        for op in BINARY_OPS {
            for &a in &SPECIAL {
                // the same value twice, and a value with its negation
                let s = Signs::of(&spec(vec![
                    KInst::Const(a),
                    KInst::Binary(op, KValue(0), KValue(0)),
                    KInst::Unary(UnaryOp::Neg, KValue(0)),
                    KInst::Binary(op, KValue(0), KValue(2)),
                ]));
                let (same, neg) = (op.eval(a, a), op.eval(a, -a));
                assert!(holds(at(&s, 1), same), "{op:?}({a}, {a}) = {same}");
                assert!(holds(at(&s, 3), neg), "{op:?}({a}, -{a}) = {neg}");
                for &b in &SPECIAL {
                    let s = Signs::of(&spec(vec![
                        KInst::Const(a),
                        KInst::Const(b),
                        KInst::Binary(op, KValue(0), KValue(1)),
                    ]));
                    let r = op.eval(a, b);
                    assert!(
                        holds(at(&s, 2), r),
                        "{op:?}({a}, {b}) = {r} vs {:?}",
                        at(&s, 2)
                    );
                }
            }
        }
    }

    #[test]
    fn unknown_signs_stay_unknown() {
        let x = KValue(0);
        let s = Signs::of(&spec(vec![
            KInst::Input(0),
            KInst::Const(-2.0),
            KInst::Binary(BinaryOp::Mul, x, KValue(1)),
            KInst::Binary(BinaryOp::Sub, KValue(1), x),
            KInst::Unary(UnaryOp::Sin, KValue(1)),
            KInst::Binary(BinaryOp::Pow, KValue(1), KValue(1)),
        ]));
        assert!(s.nonpos(KValue(1)));
        for i in [0, 2, 3, 4, 5] {
            assert!(!s.nonpos(KValue(i)), "value {i}");
        }
    }
}
