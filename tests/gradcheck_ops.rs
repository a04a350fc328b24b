//! Every differentiable operation's gradient against central finite
//! differences, alone and under broadcasting, at random points away from
//! kinks and ties.

mod common;

use common::{
    check_grad, check_grad_any_rank, check_grad_static, distinct, rng, signed, uniform, vars, Input,
};
use gradjit::graph::{BinaryOp, ReduceOp, UnaryOp, BINARY_OPS, REDUCE_OPS, UNARY_OPS};
use gradjit::{Graph, Op, Tensor};
use ndarray::ArrayD;
use rand::rngs::SmallRng;

/// Adds an internal op through `Graph::add_node`.
fn node<'g>(g: &'g Graph, op: Op, inputs: &[Tensor<'g>]) -> Tensor<'g> {
    let ids: Vec<_> = inputs.iter().map(|t| t.id()).collect();
    g.tensor(
        g.add_node(op.clone(), &ids)
            .unwrap_or_else(|e| panic!("{op:?}: {e}")),
    )
}

/// A random point in the open domain of a unary op, away from its kinks
/// (`None`: the op has no gradient to check).
fn unary_point(op: UnaryOp, r: &mut SmallRng, shape: &[usize]) -> Option<ArrayD<f64>> {
    Some(match op {
        UnaryOp::Neg
        | UnaryOp::Exp
        | UnaryOp::Expm1
        | UnaryOp::Square
        | UnaryOp::Sin
        | UnaryOp::Cos
        | UnaryOp::Tanh
        | UnaryOp::Sigmoid
        | UnaryOp::Softplus
        | UnaryOp::Softsign
        | UnaryOp::Silu
        | UnaryOp::Atan
        | UnaryOp::Sinh
        | UnaryOp::Cosh
        | UnaryOp::Asinh
        | UnaryOp::Erf
        | UnaryOp::Erfc
        | UnaryOp::Gelu => uniform(r, shape, -2.0, 2.0),
        // away from the poles at ±pi/2
        UnaryOp::Tan => uniform(r, shape, -1.2, 1.2),
        // inside (-1, 1), away from the ends where the derivative is infinite
        UnaryOp::Asin | UnaryOp::Acos | UnaryOp::Atanh => uniform(r, shape, -0.8, 0.8),
        // above 1 (also after the broadcast test's factor of at least 0.8)
        UnaryOp::Acosh => uniform(r, shape, 1.3, 3.0),
        // kinks at 0 (and relu6's at 6, beyond this range)
        UnaryOp::Abs
        | UnaryOp::Sign
        | UnaryOp::Relu
        | UnaryOp::Relu6
        | UnaryOp::Elu
        | UnaryOp::Selu => signed(r, shape, 0.1, 2.0),
        // positive domains
        UnaryOp::Log | UnaryOp::Sqrt | UnaryOp::Rsqrt => uniform(r, shape, 0.3, 3.0),
        UnaryOp::Log1p => uniform(r, shape, -0.7, 2.0),
        UnaryOp::Reciprocal => signed(r, shape, 0.3, 2.0),
        // no gradient (checked in conventions.rs)
        UnaryOp::Floor | UnaryOp::Ceil | UnaryOp::Round => return None,
    })
}

#[test]
fn unary_ops_match_finite_differences() {
    let mut r = rng(1);
    for op in UNARY_OPS {
        for shape in [&[][..], &[5][..], &[2, 3][..]] {
            let Some(x) = unary_point(op, &mut r, shape) else {
                continue;
            };
            check_grad(&format!("{}{shape:?}", op.name()), &vars([x]), |_, xs| {
                xs[0].unary(op)
            });
        }
    }
}

#[test]
fn unary_ops_compose_with_broadcasting() {
    // unary(x * b): the gradient reaches x through a broadcast multiply
    let mut r = rng(2);
    for op in UNARY_OPS {
        let Some(x) = unary_point(op, &mut r, &[3, 1]) else {
            continue;
        };
        let b = uniform(&mut r, &[4], 0.8, 1.2);
        check_grad(
            &format!("{}(x[3,1] * b[4])", op.name()),
            &vars([x, b]),
            |_, xs| (xs[0] * xs[1]).unary(op),
        );
    }
}

/// Operand pairs: same shape, the two-way broadcast [3,1] x [4], scalar with
/// matrix both ways, and [1] against [2,3].
const PAIRS: [(&[usize], &[usize]); 6] = [
    (&[2, 3], &[2, 3]),
    (&[3, 1], &[4]),
    (&[4], &[3, 1]),
    (&[], &[2, 3]),
    (&[2, 3], &[]),
    (&[1], &[2, 3]),
];

/// Random operands for a binary op, away from its kinks and ties.
fn binary_point(
    op: BinaryOp,
    r: &mut SmallRng,
    sa: &[usize],
    sb: &[usize],
) -> (ArrayD<f64>, ArrayD<f64>) {
    match op {
        BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul => {
            (uniform(r, sa, -2.0, 2.0), uniform(r, sb, -2.0, 2.0))
        }
        BinaryOp::Div => (uniform(r, sa, -2.0, 2.0), signed(r, sb, 0.5, 2.0)),
        BinaryOp::Pow => (uniform(r, sa, 0.5, 2.0), uniform(r, sb, -2.0, 2.0)),
        // all elements of both operands pairwise apart: no ties
        BinaryOp::Maximum
        | BinaryOp::Minimum
        | BinaryOp::Lt
        | BinaryOp::Le
        | BinaryOp::Gt
        | BinaryOp::Ge
        | BinaryOp::Eq
        | BinaryOp::Ne => {
            let v = distinct(r, &[sa, sb], -2.0, 2.0);
            (v[0].clone(), v[1].clone())
        }
        // relu_grad(g, x): x away from its kink at 0
        BinaryOp::ReluGrad => (uniform(r, sa, -2.0, 2.0), signed(r, sb, 0.1, 2.0)),
        // mul_no_nan(a, b): b away from 0, where it is a * b
        BinaryOp::MulNoNan => (uniform(r, sa, -2.0, 2.0), signed(r, sb, 0.3, 2.0)),
        // div_no_nan(a, b): b away from 0, where it is a / b
        BinaryOp::DivNoNan => (uniform(r, sa, -2.0, 2.0), signed(r, sb, 0.5, 2.0)),
        // xlogy(a, b), xdivy(a, b): a away from 0, where they are a ln b, a / b
        BinaryOp::Xlogy => (signed(r, sa, 0.3, 2.0), uniform(r, sb, 0.5, 2.0)),
        BinaryOp::Xdivy => (signed(r, sa, 0.3, 2.0), signed(r, sb, 0.5, 2.0)),
        // atan2(y, x): every quadrant, away from the origin and from the
        // cut along the negative x axis (y away from 0)
        BinaryOp::Atan2 => (signed(r, sa, 0.3, 2.0), signed(r, sb, 0.3, 2.0)),
    }
}

#[test]
fn binary_ops_match_finite_differences_alone_and_broadcast() {
    let mut r = rng(3);
    for op in BINARY_OPS {
        for (sa, sb) in PAIRS {
            let (a, b) = binary_point(op, &mut r, sa, sb);
            let inputs = if op.is_comparison() {
                // comparisons have no gradient at all
                vec![Input::NoGrad(a), Input::NoGrad(b)]
            } else {
                vars([a, b])
            };
            check_grad(
                &format!("{}({sa:?}, {sb:?})", op.name()),
                &inputs,
                |_, xs| xs[0].binary(op, xs[1]),
            );
        }
    }
}

#[test]
fn operators_and_scalar_literals() {
    let mut r = rng(4);
    let x = uniform(&mut r, &[2, 3], 0.5, 2.0);
    check_grad("x*x + 3x - x/2", &vars([x.clone()]), |_, xs| {
        let x = xs[0];
        x * x + 3.0 * x - x / 2.0
    });
    check_grad("2 - x, 1 / x, -x", &vars([x.clone()]), |_, xs| {
        let x = xs[0];
        (2.0 - x) * (1.0 / x) + (-x)
    });
    check_grad("x ** 2.5", &vars([x]), |_, xs| xs[0].powf(2.5));
}

#[test]
fn where_routes_to_both_branches() {
    let mut r = rng(5);
    let cases: [(&[usize], &[usize], &[usize]); 4] = [
        (&[2, 3], &[2, 3], &[2, 3]),
        (&[3, 1], &[4], &[]),
        (&[], &[2, 3], &[3]),
        (&[2, 3], &[1, 3], &[2, 1]),
    ];
    for (sc, sa, sb) in cases {
        // the condition: nonzero (including negative values) picks `a`
        let c = uniform(&mut r, sc, -1.5, 1.5).mapv(|v| v.trunc());
        let a = uniform(&mut r, sa, -2.0, 2.0);
        let b = uniform(&mut r, sb, -2.0, 2.0);
        check_grad(
            &format!("where({sc:?}, {sa:?}, {sb:?})"),
            &[Input::NoGrad(c), Input::Var(a), Input::Var(b)],
            |g, xs| g.try_select(xs[0], xs[1] * xs[1], xs[2].sin()).unwrap(),
        );
    }
}

#[test]
fn reductions_whole_and_along_axes() {
    let mut r = rng(6);
    let axes_cases: [(Option<&[i64]>, bool); 9] = [
        (None, false),
        (Some(&[0, 1, 2]), true),
        (Some(&[1]), false),
        (Some(&[1]), true),
        (Some(&[-1]), false),
        (Some(&[0, 2]), false),
        (Some(&[2, 0]), true),
        (Some(&[]), false),
        (Some(&[-3, -2]), true),
    ];
    for op in REDUCE_OPS {
        for (axes, keepdims) in axes_cases {
            // distinct values: max and min have no ties
            let x = distinct(&mut r, &[&[2, 3, 4]], -2.0, 2.0).remove(0);
            let name = format!("{}(x[2,3,4], {axes:?}, keepdims={keepdims})", op.name());
            check_grad(&name, &vars([x]), |_, xs| match axes {
                None if !keepdims => xs[0].reduce(op),
                None => unreachable!(),
                Some(ax) => xs[0].reduce_axes(op, ax, keepdims),
            });
        }
    }
}

#[test]
fn reductions_of_broadcast_operands() {
    let mut r = rng(7);
    for op in REDUCE_OPS {
        let v = distinct(&mut r, &[&[3, 1], &[4]], 0.5, 2.5);
        let name = format!("{}(a[3,1] * b[4], axis 0)", op.name());
        check_grad(&name, &vars(v), |_, xs| {
            (xs[0] * xs[1]).reduce_axes(op, &[0], false)
        });
        // the product of distinct positives can still tie; the sum cannot
        let name = format!("{}(a[3,1] + b[4])", op.name());
        let a = ArrayD::from_shape_vec(vec![3, 1], vec![0.0, 10.0, 20.0]).unwrap();
        let b = ArrayD::from_shape_vec(vec![4], vec![0.5, 1.7, 2.3, 3.1]).unwrap();
        check_grad(&name, &vars([a, b]), |_, xs| (xs[0] + xs[1]).reduce(op));
    }
}

#[test]
fn reductions_of_scalars_and_vectors() {
    let mut r = rng(8);
    for op in REDUCE_OPS {
        let s = uniform(&mut r, &[], -2.0, 2.0);
        check_grad(&format!("{}(scalar)", op.name()), &vars([s]), |_, xs| {
            xs[0].reduce(op)
        });
        let v = distinct(&mut r, &[&[5]], -2.0, 2.0).remove(0);
        check_grad(&format!("{}(vector, 0)", op.name()), &vars([v]), |_, xs| {
            xs[0].reduce_axes(op, &[0], false)
        });
    }
}

#[test]
fn reshape_with_and_without_inferred_dim() {
    let mut r = rng(9);
    let dims_cases: [&[i64]; 5] = [&[6, 4], &[-1], &[4, -1, 2], &[24], &[2, 12, 1]];
    for dims in dims_cases {
        let x = uniform(&mut r, &[2, 3, 4], -2.0, 2.0);
        check_grad(&format!("reshape {dims:?}"), &vars([x]), |_, xs| {
            xs[0].reshape(dims).sin()
        });
    }
    // under broadcasting: reshape(x) * b
    let x = uniform(&mut r, &[6], -2.0, 2.0);
    let b = uniform(&mut r, &[4, 1, 1], -2.0, 2.0);
    check_grad("reshape(x, [2, -1]) * b[4,1,1]", &vars([x, b]), |_, xs| {
        xs[0].reshape(&[2, -1]) * xs[1]
    });
    let s = uniform(&mut r, &[], -2.0, 2.0);
    check_grad("reshape(scalar, [1, 1])", &vars([s]), |_, xs| {
        xs[0].reshape(&[1, 1]).exp()
    });
}

#[test]
fn transpose_default_and_permuted() {
    let mut r = rng(10);
    let perms: [Option<&[usize]>; 4] = [None, Some(&[1, 0, 2]), Some(&[2, 0, 1]), Some(&[0, 1, 2])];
    for perm in perms {
        let x = uniform(&mut r, &[2, 3, 4], -2.0, 2.0);
        check_grad(&format!("transpose {perm:?}"), &vars([x]), |_, xs| {
            xs[0].transpose(perm).tanh()
        });
    }
    let x = uniform(&mut r, &[2, 3], -2.0, 2.0);
    let b = uniform(&mut r, &[2], -2.0, 2.0);
    check_grad("transpose(x[2,3]) * b[2]", &vars([x, b]), |_, xs| {
        xs[0].transpose(None) * xs[1]
    });
}

#[test]
fn broadcast_to_sums_back() {
    let mut r = rng(11);
    let cases: [(&[usize], &[usize]); 5] = [
        (&[3, 1], &[2, 3, 4]),
        (&[], &[2, 3]),
        (&[4], &[3, 4]),
        (&[2, 3], &[2, 3]),
        (&[1, 1], &[3, 2]),
    ];
    for (from, to) in cases {
        let x = uniform(&mut r, from, -2.0, 2.0);
        check_grad(
            &format!("broadcast_to {from:?} -> {to:?}"),
            &vars([x]),
            |_, xs| xs[0].broadcast_to(to).sin(),
        );
    }
}

#[test]
fn matmul_plain_batched_and_broadcast_batch() {
    let mut r = rng(12);
    let cases: [(&[usize], &[usize]); 6] = [
        (&[2, 3], &[3, 4]),
        (&[1, 3], &[3, 1]),
        (&[5, 2, 3], &[5, 3, 4]),
        (&[2, 3], &[4, 3, 2]),
        (&[4, 2, 3], &[3, 2]),
        (&[2, 1, 2, 3], &[3, 3, 2]),
    ];
    for (sa, sb) in cases {
        let a = uniform(&mut r, sa, -2.0, 2.0);
        let b = uniform(&mut r, sb, -2.0, 2.0);
        check_grad(
            &format!("matmul {sa:?} @ {sb:?}"),
            &vars([a, b]),
            |_, xs| xs[0].matmul(xs[1]),
        );
    }
    // the same operand on both sides: x @ x^T
    let x = uniform(&mut r, &[3, 2], -2.0, 2.0);
    check_grad("x @ x^T", &vars([x]), |_, xs| {
        xs[0].matmul(xs[0].transpose(None))
    });
}

#[test]
fn identity_and_internal_ops_through_add_node() {
    let mut r = rng(13);
    let x = uniform(&mut r, &[2, 3], -2.0, 2.0);
    check_grad("identity", &vars([x]), |g, xs| {
        node(g, Op::Identity, &[xs[0]]).sin()
    });

    // sum_to(g, like): the gradient flows to g only; `like` lends its shape
    for like in [&[3, 1][..], &[4], &[2, 1, 4], &[], &[2, 3, 4]] {
        let gval = uniform(&mut r, &[2, 3, 4], -2.0, 2.0);
        let lval = uniform(&mut r, like, -2.0, 2.0);
        check_grad(
            &format!("sum_to([2,3,4], {like:?})"),
            &[Input::Var(gval), Input::NoGrad(lval)],
            |g, xs| node(g, Op::SumTo, &[xs[0], xs[1]]).sin(),
        );
    }
    // broadcast_like(g, like)
    for from in [&[3, 1][..], &[], &[4], &[2, 3, 4]] {
        let gval = uniform(&mut r, from, -2.0, 2.0);
        let lval = uniform(&mut r, &[2, 3, 4], -2.0, 2.0);
        check_grad(
            &format!("broadcast_like({from:?}, [2,3,4])"),
            &[Input::Var(gval), Input::NoGrad(lval)],
            |g, xs| node(g, Op::BroadcastLike, &[xs[0], xs[1]]).sin(),
        );
    }
    // reshape_like(g, like)
    let gval = uniform(&mut r, &[2, 6], -2.0, 2.0);
    let lval = uniform(&mut r, &[3, 4], -2.0, 2.0);
    check_grad(
        "reshape_like([2,6], [3,4])",
        &[Input::Var(gval), Input::NoGrad(lval)],
        |g, xs| node(g, Op::ReshapeLike, &[xs[0], xs[1]]).sin(),
    );
    // expand_dims at several output positions
    let axes_cases: [&[usize]; 4] = [&[0], &[2], &[1, 3], &[0, 1, 4]];
    for axes in axes_cases {
        let x = uniform(&mut r, &[2, 3], -2.0, 2.0);
        check_grad(&format!("expand_dims {axes:?}"), &vars([x]), |g, xs| {
            let e = node(
                g,
                Op::ExpandDims {
                    axes: axes.to_vec(),
                },
                &[xs[0]],
            );
            e.sin()
        });
    }
    // ops without a gradient
    for op in [
        Op::OnesLike,
        Op::ZerosLike,
        Op::StopGradient,
        Op::Count { axes: None },
        Op::Count {
            axes: Some(vec![1]),
        },
    ] {
        let x = uniform(&mut r, &[2, 3], -2.0, 2.0);
        check_grad(
            &format!("{} has no gradient", op.name()),
            &[Input::NoGrad(x)],
            |g, xs| node(g, op.clone(), &[xs[0]]),
        );
    }
}

#[test]
fn a_small_network() {
    // tanh(W @ x + b) with a loss, as in the language spec's example
    let mut r = rng(14);
    let w = uniform(&mut r, &[3, 4], -1.0, 1.0);
    let x = uniform(&mut r, &[4, 2], -1.0, 1.0);
    let b = uniform(&mut r, &[3, 1], -1.0, 1.0);
    check_grad("tanh(W @ x + b)", &vars([w, x, b]), |_, xs| {
        let h = (xs[0].matmul(xs[1]) + xs[2]).tanh();
        (h * h).reduce_axes(ReduceOp::LogSumExp, &[0], false)
    });
}

#[test]
fn gradients_of_placeholders_of_unknown_rank() {
    let mut r = rng(15);
    type Build = for<'g> fn(&'g Graph, &[Tensor<'g>]) -> Tensor<'g>;
    let fs: [(&str, Build); 14] = [
        ("sin(a) * b", |_, xs| xs[0].sin() * xs[1]),
        ("a / b", |_, xs| xs[0] / (xs[1] * xs[1] + 1.0)),
        ("maximum(a, b)", |_, xs| xs[0].maximum(xs[1])),
        ("pow(|a| + 1, b)", |_, xs| {
            (xs[0].abs() + 1.0_f64).pow(xs[1])
        }),
        ("where(a > b, a, b * b)", |g, xs| {
            let c = g.try_binary(BinaryOp::Gt, xs[0], xs[1]).unwrap();
            c.select(xs[0], xs[1] * xs[1])
        }),
        ("sum(a * b)", |_, xs| (xs[0] * xs[1]).sum()),
        ("mean(a * b)", |_, xs| (xs[0] * xs[1]).mean()),
        ("mean(a * b, 0)", |_, xs| {
            (xs[0] * xs[1]).reduce_axes(ReduceOp::Mean, &[0], false)
        }),
        ("max(a + b, 1, keepdims)", |_, xs| {
            (xs[0] + xs[1]).reduce_axes(ReduceOp::Max, &[1], true)
        }),
        ("logsumexp(a * b, [0, 1])", |_, xs| {
            (xs[0] * xs[1]).reduce_axes(ReduceOp::LogSumExp, &[0, 1], false)
        }),
        ("min(a - b, [])", |_, xs| {
            (xs[0] - xs[1]).reduce_axes(ReduceOp::Min, &[], false)
        }),
        ("reshape(a * b, [-1])", |_, xs| {
            (xs[0] * xs[1]).reshape(&[-1]).sin()
        }),
        ("transpose(a * b)", |_, xs| {
            (xs[0] * xs[1]).transpose(None).sin()
        }),
        ("broadcast_to(b, [3, 4]) * a", |_, xs| {
            xs[1].broadcast_to(&[3, 4]) * xs[0]
        }),
    ];
    for (name, f) in fs {
        // a [3, 1] and b [4]: distinct, so max and maximum have no ties
        let v = distinct(&mut r, &[&[3, 1], &[4]], -2.0, 2.0);
        check_grad_any_rank(&format!("{name}, a[3,1] b[4]"), &vars(v), f);
    }
}

#[test]
fn deep_graphs_do_not_overflow_the_stack() {
    // a chain of 20000 operations: the gradient walk, the interpreter and
    // the second derivative must not recurse per node
    let g = Graph::new();
    let x = g.placeholder("x", gradjit::DType::F64, gradjit::Shape::scalar());
    let mut y = x;
    for _ in 0..10_000 {
        y = (y * 0.5_f64).sin() + y;
    }
    let d = g.gradients(&[y], &[x]).unwrap()[0].unwrap();
    let mut sess = gradjit::Session::new(&g);
    let xv = ndarray::arr0(0.1f64).into_dyn();
    let out = sess.run(&[y, d], &[(x, &xv)]).unwrap();
    // the same chain in plain Rust, with its derivative by the chain rule
    let (mut v, mut dv) = (0.1f64, 1.0f64);
    for _ in 0..10_000 {
        dv *= 0.5 * (0.5 * v).cos() + 1.0;
        v += (0.5 * v).sin();
    }
    assert!((out[0].to_f64_vec()[0] - v).abs() <= 1e-9 * v.abs());
    assert!((out[1].to_f64_vec()[0] - dv).abs() <= 1e-9 * dv.abs().max(1.0));
}

#[test]
fn softmax_log_softmax_and_cross_entropy() {
    // weighted, since softmax sums to 1 along its axis (a constant)
    let mut r = rng(31);
    for axis in [0, 1, -1] {
        let x = uniform(&mut r, &[3, 4], -2.0, 2.0);
        let w = uniform(&mut r, &[3, 4], -1.0, 1.0);
        let inputs = vars([x]);
        check_grad(&format!("softmax(x, {axis}) * w"), &inputs, |g, xs| {
            xs[0].softmax(axis) * g.constant(&w)
        });
        check_grad(&format!("log_softmax(x, {axis}) * w"), &inputs, |g, xs| {
            xs[0].log_softmax(axis) * g.constant(&w)
        });
    }
    // labels and logits both get gradients; labels sum to 1 per row, where
    // TensorFlow's gradient to the logits (softmax - labels) is the
    // derivative (elsewhere it is TensorFlow's convention, tested in
    // cli_functions.rs)
    let mut labels = uniform(&mut r, &[2, 3, 4], 0.1, 1.0);
    for mut row in labels.lanes_mut(ndarray::Axis(2)) {
        let s = row.sum();
        row.mapv_inplace(|v| v / s);
    }
    let logits = uniform(&mut r, &[2, 3, 4], -3.0, 3.0);
    check_grad(
        "softmax_cross_entropy(labels, logits)",
        &vars([labels, logits]),
        |_, xs| xs[0].softmax_cross_entropy(xs[1]),
    );
}

#[test]
fn reverse_and_tile() {
    let mut r = rng(32);
    let x = uniform(&mut r, &[3, 4], -2.0, 2.0);
    let w = uniform(&mut r, &[6, 4], -1.0, 1.0);
    check_grad("reverse(x, [0, 1])", &vars([x.clone()]), |g, xs| {
        node(g, Op::Reverse { axes: vec![0, 1] }, &[xs[0]]) * xs[0]
    });
    // its gradient reshapes the upstream by the operand's shape
    check_grad_static("tile(x, [2, 1]) * w", &vars([x]), |g, xs| {
        node(
            g,
            Op::Tile {
                multiples: vec![2, 1],
            },
            &[xs[0]],
        ) * g.constant(&w)
    });
}

#[test]
fn cumsum_in_every_mode() {
    let mut r = rng(33);
    let x = uniform(&mut r, &[3, 4], -2.0, 2.0);
    let w = uniform(&mut r, &[3, 4], -1.0, 1.0);
    for axis in [0, 1] {
        for (exclusive, reverse) in [(false, false), (true, false), (false, true), (true, true)] {
            let op = Op::Cumsum {
                axis,
                exclusive,
                reverse,
            };
            check_grad(&format!("{op:?} * w"), &vars([x.clone()]), |g, xs| {
                node(g, op.clone(), &[xs[0]]) * g.constant(&w)
            });
        }
    }
}
