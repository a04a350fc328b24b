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
use crate::graph::{BinaryOp, UnaryOp};

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
            KInst::Unary(op, a) => {
                use UnaryOp::*;
                match op {
                    Neg => (neg(a), pos(a)),
                    Abs | Square | Exp | Sqrt | Sigmoid | Softplus | Relu => (true, false),
                    // odd and increasing through 0, or sign-preserving
                    Tanh | Floor | Sign | Reciprocal | Expm1 => (pos(a), neg(a)),
                    Log | Log1p | Rsqrt | Sin | Cos => (false, false),
                }
            }
            KInst::Binary(op, a, b) => {
                use BinaryOp::*;
                match op {
                    Add => (pos(a) && pos(b), neg(a) && neg(b)),
                    Sub => (pos(a) && neg(b), neg(a) && pos(b)),
                    Mul | Div | MulNoNan => {
                        if a == b {
                            (true, false)
                        } else if negation_of(a, b) {
                            (false, true)
                        } else {
                            (
                                (pos(a) && pos(b)) || (neg(a) && neg(b)),
                                (pos(a) && neg(b)) || (neg(a) && pos(b)),
                            )
                        }
                    }
                    Maximum => (pos(a) || pos(b), neg(a) && neg(b)),
                    Minimum => (pos(a) && pos(b), neg(a) || neg(b)),
                    Lt | Le | Gt | Ge | Eq | Ne => (true, false),
                    // `a` where `b > 0`, else +0
                    ReluGrad => (pos(a), neg(a)),
                    Pow => (false, false),
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
