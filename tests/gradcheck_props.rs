//! Property tests: gradients against finite differences for random
//! broadcast-compatible shapes and random reduction axes.

mod common;

use common::{check_grad, distinct, rng, signed, uniform, vars, Input};
use gradjit::graph::{BinaryOp, ReduceOp, REDUCE_OPS};
use proptest::prelude::*;

/// An output shape of rank 0..=3 with dims 1..=3, and an operand shape
/// that broadcasts to it: a suffix of it with some dims replaced by 1.
fn operand_of(out: &[usize], keep: usize, ones_mask: u8) -> Vec<usize> {
    let keep = keep.min(out.len());
    out[out.len() - keep..]
        .iter()
        .enumerate()
        .map(|(i, &d)| if ones_mask & (1 << i) != 0 { 1 } else { d })
        .collect()
}

fn shape_strategy() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..=3, 0..=3)
}

const OPS: [BinaryOp; 7] = [
    BinaryOp::Add,
    BinaryOp::Sub,
    BinaryOp::Mul,
    BinaryOp::Div,
    BinaryOp::Pow,
    BinaryOp::Maximum,
    BinaryOp::Minimum,
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn binary_ops_under_random_broadcasting(
        out in shape_strategy(),
        ka in 0usize..=3, kb in 0usize..=3,
        ma in any::<u8>(), mb in any::<u8>(),
        op in 0usize..OPS.len(),
        seed in any::<u64>(),
    ) {
        let op = OPS[op];
        let sa = operand_of(&out, ka, ma);
        let sb = operand_of(&out, kb, mb);
        let mut r = rng(seed);
        let (a, b) = match op {
            BinaryOp::Div => (uniform(&mut r, &sa, -2.0, 2.0), signed(&mut r, &sb, 0.5, 2.0)),
            BinaryOp::Pow => (uniform(&mut r, &sa, 0.5, 2.0), uniform(&mut r, &sb, -2.0, 2.0)),
            BinaryOp::Maximum | BinaryOp::Minimum => {
                let v = distinct(&mut r, &[&sa, &sb], -2.0, 2.0);
                (v[0].clone(), v[1].clone())
            }
            _ => (uniform(&mut r, &sa, -2.0, 2.0), uniform(&mut r, &sb, -2.0, 2.0)),
        };
        check_grad(&format!("{}({sa:?}, {sb:?})", op.name()), &vars([a, b]), |_, xs| {
            xs[0].binary(op, xs[1]).sin()
        });
    }

    #[test]
    fn where_under_random_broadcasting(
        out in shape_strategy(),
        k in prop::array::uniform3(0usize..=3),
        m in prop::array::uniform3(any::<u8>()),
        seed in any::<u64>(),
    ) {
        let sc = operand_of(&out, k[0], m[0]);
        let sa = operand_of(&out, k[1], m[1]);
        let sb = operand_of(&out, k[2], m[2]);
        let mut r = rng(seed);
        let c = uniform(&mut r, &sc, -1.5, 1.5).mapv(f64::trunc);
        let a = uniform(&mut r, &sa, -2.0, 2.0);
        let b = uniform(&mut r, &sb, -2.0, 2.0);
        check_grad(
            &format!("where({sc:?}, {sa:?}, {sb:?})"),
            &[Input::NoGrad(c), Input::Var(a), Input::Var(b)],
            |g, xs| g.try_select(xs[0], xs[1].exp(), xs[2] * xs[2]).unwrap(),
        );
    }

    #[test]
    fn reductions_over_random_axes(
        shape in prop::collection::vec(1usize..=3, 1..=4),
        axes_mask in any::<u8>(),
        negative in any::<bool>(),
        keepdims in any::<bool>(),
        op in 0usize..REDUCE_OPS.len(),
        seed in any::<u64>(),
    ) {
        let op: ReduceOp = REDUCE_OPS[op];
        let rank = shape.len() as i64;
        let axes: Vec<i64> = (0..rank)
            .filter(|i| axes_mask & (1 << i) != 0)
            .map(|i| if negative { i - rank } else { i })
            .collect();
        let mut r = rng(seed);
        let x = distinct(&mut r, &[&shape], -2.0, 2.0).remove(0);
        check_grad(
            &format!("{}({shape:?}, {axes:?}, keepdims={keepdims})", op.name()),
            &vars([x]),
            |_, xs| xs[0].reduce_axes(op, &axes, keepdims).sin(),
        );
    }
}
