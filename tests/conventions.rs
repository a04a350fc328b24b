//! TensorFlow's gradient conventions at kinks, ties and singular points.
//!
//! Every expected value here is written from the convention stated in the
//! language spec ("Gradient conventions follow TensorFlow's registered
//! gradients..."), not from the library's output.

mod common;

use common::{arr, assert_grad, grads64, grads_at};
use gradjit::graph::{BinaryOp, ReduceOp};
use gradjit::{DType, Graph, Op, Tensor, UnconnectedGradients};

const NAN: f64 = f64::NAN;
const INF: f64 = f64::INFINITY;

#[test]
fn relu_at_zero_sends_zero() {
    let x = arr(&[4], &[-1.0, 0.0, -0.0, 2.0]);
    let g = grads64(&[x], |_, xs| xs[0].relu());
    assert_grad("relu'", &g[0], &[4], &[0.0, 0.0, 0.0, 1.0], 0.0);
}

#[test]
fn abs_at_zero_is_sign_of_zero() {
    let x = arr(&[3], &[-2.0, 0.0, 3.0]);
    let g = grads64(&[x], |_, xs| xs[0].abs());
    assert_grad("abs'", &g[0], &[3], &[-1.0, 0.0, 1.0], 0.0);
}

#[test]
fn sign_has_a_connected_zero_gradient() {
    let x = arr(&[3], &[-2.0, 0.0, 3.0]);
    let g = grads64(&[x], |_, xs| xs[0].sign());
    assert_grad("sign'", &g[0], &[3], &[0.0, 0.0, 0.0], 0.0);
    // and through a chain: d/dx sign(x) * x = sign(x) (+ 0 from the sign)
    let x = arr(&[3], &[-2.0, 0.5, 3.0]);
    let g = grads64(&[x], |_, xs| xs[0].sign() * xs[0]);
    assert_grad("(sign(x) * x)'", &g[0], &[3], &[-1.0, 1.0, 1.0], 0.0);
}

#[test]
fn maximum_and_minimum_send_ties_to_the_first_operand() {
    let a = arr(&[3], &[1.0, 2.0, 3.0]);
    let b = arr(&[3], &[1.0, 0.0, 3.0]);
    // maximum: tie, a larger, tie
    let g = grads64(&[a.clone(), b.clone()], |_, xs| xs[0].maximum(xs[1]));
    assert_grad("maximum' a", &g[0], &[3], &[1.0, 1.0, 1.0], 0.0);
    assert_grad("maximum' b", &g[1], &[3], &[0.0, 0.0, 0.0], 0.0);
    // with the operands swapped the ties go to the new first operand
    let g = grads64(&[b.clone(), a.clone()], |_, xs| xs[0].maximum(xs[1]));
    assert_grad("maximum(b, a)' b", &g[0], &[3], &[1.0, 0.0, 1.0], 0.0);
    assert_grad("maximum(b, a)' a", &g[1], &[3], &[0.0, 1.0, 0.0], 0.0);
    // minimum: tie, b smaller, tie
    let g = grads64(&[a, b], |_, xs| xs[0].minimum(xs[1]));
    assert_grad("minimum' a", &g[0], &[3], &[1.0, 0.0, 1.0], 0.0);
    assert_grad("minimum' b", &g[1], &[3], &[0.0, 1.0, 0.0], 0.0);
}

#[test]
fn maximum_ties_under_broadcasting() {
    // a [2,1] against b [3]: a wins (or ties) in columns 0 and 1, b in column 2
    let a = arr(&[2, 1], &[1.0, 2.0]);
    let b = arr(&[3], &[1.0, 1.0, 3.0]);
    let g = grads64(&[a.clone(), b.clone()], |_, xs| xs[0].maximum(xs[1]));
    assert_grad("maximum' a[2,1]", &g[0], &[2, 1], &[2.0, 2.0], 0.0);
    assert_grad("maximum' b[3]", &g[1], &[3], &[0.0, 0.0, 2.0], 0.0);
    // minimum: row 0 ties (a) in columns 0, 1 and a wins column 2; row 1: b, b, a
    let g = grads64(&[a, b], |_, xs| xs[0].minimum(xs[1]));
    assert_grad("minimum' a[2,1]", &g[0], &[2, 1], &[3.0, 1.0], 0.0);
    assert_grad("minimum' b[3]", &g[1], &[3], &[1.0, 1.0, 0.0], 0.0);
}

#[test]
fn max_and_min_reductions_split_ties_evenly() {
    let x = arr(&[3], &[1.0, 3.0, 3.0]);
    let g = grads64(&[x], |_, xs| xs[0].reduce(ReduceOp::Max));
    assert_grad("max'", &g[0], &[3], &[0.0, 0.5, 0.5], 0.0);
    let x = arr(&[3], &[1.0, 1.0, 3.0]);
    let g = grads64(&[x], |_, xs| xs[0].reduce(ReduceOp::Min));
    assert_grad("min'", &g[0], &[3], &[0.5, 0.5, 0.0], 0.0);
    // all equal: thirds
    let x = arr(&[3], &[2.0, 2.0, 2.0]);
    let g = grads64(&[x], |_, xs| xs[0].reduce(ReduceOp::Max));
    let third = 1.0 / 3.0;
    assert_grad("max' all tied", &g[0], &[3], &[third; 3], 1e-15);

    // along an axis: each row splits its own ties
    let x = arr(&[2, 3], &[1.0, 3.0, 3.0, 2.0, 2.0, 2.0]);
    for keepdims in [false, true] {
        let g = grads64(std::slice::from_ref(&x), |_, xs| {
            xs[0].reduce_axes(ReduceOp::Max, &[1], keepdims)
        });
        let want = [0.0, 0.5, 0.5, third, third, third];
        assert_grad("max(x, 1)'", &g[0], &[2, 3], &want, 1e-15);
    }
    // along axis 0 with an upstream gradient that is not all ones
    let x = arr(&[2, 2], &[1.0, 3.0, 1.0, 2.0]);
    let g = grads64(std::slice::from_ref(&x), |g, xs| {
        let m = xs[0].reduce_axes(ReduceOp::Max, &[0], false);
        m * g.constant(&arr(&[2], &[10.0, 100.0]))
    });
    assert_grad(
        "max(x, 0)' * [10, 100]",
        &g[0],
        &[2, 2],
        &[5.0, 100.0, 5.0, 0.0],
        0.0,
    );
    let g = grads64(&[x], |_, xs| xs[0].reduce_axes(ReduceOp::Min, &[-1], true));
    assert_grad("min(x, -1)'", &g[0], &[2, 2], &[1.0, 0.0, 1.0, 0.0], 0.0);
}

#[test]
fn floor_and_comparisons_have_no_gradient() {
    let x = arr(&[2, 2], &[0.5, -1.5, 2.0, 3.25]);
    let y = arr(&[2, 2], &[1.0, -1.5, 0.0, 4.0]);
    type Build = for<'g> fn(&'g Graph, &[Tensor<'g>]) -> Tensor<'g>;
    let cases: [(&str, Build); 9] = [
        ("floor(x)", |_, xs| xs[0].floor() + xs[1].floor()),
        ("x < y", |g, xs| {
            g.try_binary(BinaryOp::Lt, xs[0], xs[1]).unwrap()
        }),
        ("x <= y", |g, xs| {
            g.try_binary(BinaryOp::Le, xs[0], xs[1]).unwrap()
        }),
        ("x > y", |g, xs| {
            g.try_binary(BinaryOp::Gt, xs[0], xs[1]).unwrap()
        }),
        ("x >= y", |g, xs| {
            g.try_binary(BinaryOp::Ge, xs[0], xs[1]).unwrap()
        }),
        ("x == y", |g, xs| {
            g.try_binary(BinaryOp::Eq, xs[0], xs[1]).unwrap()
        }),
        ("x != y", |g, xs| {
            g.try_binary(BinaryOp::Ne, xs[0], xs[1]).unwrap()
        }),
        // only the condition of `where` sees x and y
        ("where(x > y, 1, 2)", |g, xs| {
            let c = g.try_binary(BinaryOp::Gt, xs[0], xs[1]).unwrap();
            c.select(g.scalar(1.0, DType::F64), g.scalar(2.0, DType::F64))
        }),
        // floor inside a longer, otherwise differentiable chain
        ("exp(floor(x * y)) * 3", |_, xs| {
            (xs[0] * xs[1]).floor().exp() * 3.0
        }),
    ];
    for (name, build) in cases {
        let g = grads64(&[x.clone(), y.clone()], build);
        assert!(
            g[0].is_none() && g[1].is_none(),
            "{name}: expected None, got {g:?}"
        );
        let g = grads_at(
            DType::F64,
            &[x.clone(), y.clone()],
            UnconnectedGradients::Zero,
            build,
        );
        assert_grad(
            &format!("{name} with Zero, x"),
            &g[0],
            &[2, 2],
            &[0.0; 4],
            0.0,
        );
        assert_grad(
            &format!("{name} with Zero, y"),
            &g[1],
            &[2, 2],
            &[0.0; 4],
            0.0,
        );
    }
}

#[test]
fn guarded_sqrt_rsqrt_reciprocal_give_zero_where_log_and_div_give_nan() {
    let x = arr(&[3], &[0.0, 4.0, -1.0]);
    let guarded = |f: for<'g> fn(Tensor<'g>) -> Tensor<'g>| {
        grads64(std::slice::from_ref(&x), move |g, xs| {
            let pos = g.try_binary(BinaryOp::Gt, xs[0], g.scalar(0.0, DType::F64));
            pos.unwrap().select(f(xs[0]), g.scalar(0.0, DType::F64))
        })
    };
    // d sqrt = 1/(2 sqrt x): 1/4 at 4; 0 where the incoming gradient is 0
    assert_grad(
        "where(x>0, sqrt x, 0)'",
        &guarded(|x| x.sqrt())[0],
        &[3],
        &[0.0, 0.25, 0.0],
        0.0,
    );
    // d rsqrt = -1/2 x^-3/2: -1/16 at 4
    assert_grad(
        "where(x>0, rsqrt x, 0)'",
        &guarded(|x| x.rsqrt())[0],
        &[3],
        &[0.0, -0.0625, 0.0],
        0.0,
    );
    // d (1/x) = -1/x^2: -1/16 at 4, and 0 at 0 where the incoming gradient is 0
    assert_grad(
        "where(x>0, reciprocal x, 0)'",
        &guarded(|x| x.reciprocal())[0],
        &[3],
        &[0.0, -0.0625, 0.0],
        0.0,
    );
    // log: 0 * (1/0) = NaN at 0; at -1: 0 * (1/-1) = -0, which equals 0
    assert_grad(
        "where(x>0, log x, 0)'",
        &guarded(|x| x.log())[0],
        &[3],
        &[NAN, 0.25, 0.0],
        0.0,
    );
    // division 1/x: the gradient w.r.t. the divisor is 0 * (-1/0/0) = NaN at 0
    assert_grad(
        "where(x>0, 1/x, 0)'",
        &guarded(|x| 1.0 / x)[0],
        &[3],
        &[NAN, -0.0625, 0.0],
        0.0,
    );
}

#[test]
fn singular_points_give_infinities_not_errors() {
    let x = arr(&[1], &[0.0]);
    // d sqrt(x) at 0 = +inf, d log(x) at 0 = +inf
    assert_grad(
        "sqrt'(0)",
        &grads64(std::slice::from_ref(&x), |_, xs| xs[0].sqrt())[0],
        &[1],
        &[INF],
        0.0,
    );
    assert_grad(
        "log'(0)",
        &grads64(std::slice::from_ref(&x), |_, xs| xs[0].log())[0],
        &[1],
        &[INF],
        0.0,
    );
    // d rsqrt(x) = -1/2 x^-3/2 and d (1/x) = -1/x^2: -inf at +0
    assert_grad(
        "rsqrt'(0)",
        &grads64(std::slice::from_ref(&x), |_, xs| xs[0].rsqrt())[0],
        &[1],
        &[-INF],
        0.0,
    );
    assert_grad(
        "reciprocal'(0)",
        &grads64(std::slice::from_ref(&x), |_, xs| xs[0].reciprocal())[0],
        &[1],
        &[-INF],
        0.0,
    );
    // the same in f32
    let g = grads_at(DType::F32, &[x], UnconnectedGradients::None, |_, xs| {
        xs[0].sqrt() + xs[0].log()
    });
    assert_grad("(sqrt + log)'(0) f32", &g[0], &[1], &[INF], 0.0);
}

#[test]
fn pow_gradient_wrt_exponent_is_zero_for_nonpositive_base() {
    let a = arr(&[4], &[-2.0, 0.0, 3.0, 0.5]);
    let b = arr(&[4], &[2.0, 2.0, 2.0, -1.0]);
    let g = grads64(&[a, b], |_, xs| xs[0].pow(xs[1]));
    // d/da a^b = b a^(b-1)
    assert_grad("pow' a", &g[0], &[4], &[-4.0, 0.0, 6.0, -4.0], 1e-15);
    // d/db a^b = a^b ln a, and 0 where a <= 0
    let want = [0.0, 0.0, 9.0 * 3f64.ln(), 2.0 * 0.5f64.ln()];
    assert_grad("pow' b", &g[1], &[4], &want, 1e-15);
    // a negative base with an integer exponent under broadcasting
    let a = arr(&[2, 1], &[-3.0, 0.0]);
    let b = arr(&[3], &[1.0, 2.0, 3.0]);
    let g = grads64(&[a, b], |_, xs| xs[0].pow(xs[1]));
    // d/da: sum over b of b a^(b-1): a=-3: 1 - 6 + 27 = 22; a=0: 1 + 0 + 0 = 1
    assert_grad("pow' a broadcast", &g[0], &[2, 1], &[22.0, 1.0], 1e-15);
    assert_grad("pow' b broadcast", &g[1], &[3], &[0.0, 0.0, 0.0], 0.0);
}

#[test]
fn relu_and_abs_second_derivatives_are_connected_zeros() {
    let x = arr(&[4], &[-1.0, 0.0, 0.5, 2.0]);
    for (name, f) in [
        (
            "relu",
            (|x| x.relu()) as for<'g> fn(Tensor<'g>) -> Tensor<'g>,
        ),
        ("abs", |x| x.abs()),
    ] {
        let g = grads64(std::slice::from_ref(&x), |g, xs| {
            g.gradients(&[f(xs[0])], &[xs[0]]).unwrap()[0].unwrap()
        });
        assert_grad(&format!("{name}''"), &g[0], &[4], &[0.0; 4], 0.0);
    }
}

#[test]
fn gradient_depending_only_on_shape_has_no_gradient() {
    // grad(3*x, x) = 3 (through x's shape only): no gradient w.r.t. x
    let x = arr(&[2], &[1.0, -2.0]);
    let g = grads64(std::slice::from_ref(&x), |g, xs| {
        g.gradients(&[xs[0] * 3.0], &[xs[0]]).unwrap()[0].unwrap()
    });
    assert!(
        g[0].is_none(),
        "d/dx grad(3*x, x) should be None, got {:?}",
        g[0]
    );
    let g = grads_at(
        DType::F64,
        std::slice::from_ref(&x),
        UnconnectedGradients::Zero,
        |g, xs| g.gradients(&[xs[0] * 3.0], &[xs[0]]).unwrap()[0].unwrap(),
    );
    assert_grad("d/dx grad(3*x, x) with Zero", &g[0], &[2], &[0.0, 0.0], 0.0);
    // and the first derivative itself is 3 everywhere
    let g = grads64(&[x], |_, xs| xs[0] * 3.0);
    assert_grad("grad(3*x, x)", &g[0], &[2], &[3.0, 3.0], 0.0);
}

#[test]
fn stop_gradient_blocks_the_flow() {
    let x = arr(&[2], &[1.5, -2.0]);
    let g = grads64(std::slice::from_ref(&x), |_, xs| {
        xs[0].sin().stop_gradient() * 2.0
    });
    assert!(g[0].is_none(), "stop_gradient: expected None");
    // one path stopped, the other not: d/dx (x * stop(x)) = stop(x) = x
    let g = grads64(&[x], |_, xs| xs[0] * xs[0].stop_gradient());
    assert_grad("x * stop(x)", &g[0], &[2], &[1.5, -2.0], 0.0);
}

#[test]
fn saturating_functions_have_finite_gradients_in_f32() {
    let vals = [-100.0, -60.0, -20.0, -1.0, 0.0, 1.0, 20.0, 60.0, 100.0];
    let x = arr(&[9], &vals);
    fn sig(v: f64) -> f64 {
        1.0 / (1.0 + (-v).exp())
    }
    type F = for<'g> fn(Tensor<'g>) -> Tensor<'g>;
    type Deriv = fn(f64) -> f64;
    let cases: [(&str, F, Deriv); 3] = [
        ("sigmoid", |x| x.sigmoid(), |v| sig(v) * (1.0 - sig(v))),
        ("softplus", |x| x.softplus(), sig),
        ("tanh", |x| x.tanh(), |v| 1.0 - v.tanh() * v.tanh()),
    ];
    for (name, f, d) in cases {
        let g = grads_at(
            DType::F32,
            std::slice::from_ref(&x),
            UnconnectedGradients::None,
            |_, xs| f(xs[0]),
        );
        let got = g[0].as_ref().expect("connected");
        for (v, gv) in vals.iter().zip(got.iter()) {
            assert!(gv.is_finite(), "{name}'({v}) in f32 is {gv}");
            let want = d(*v);
            assert!(
                (gv - want).abs() <= 1e-6 + 1e-6 * want.abs(),
                "{name}'({v}) = {gv}, want {want}"
            );
        }
    }
    // logsumexp: the gradient is the softmax, finite even at +-100
    for row in [
        [100.0, 100.0, -100.0],
        [-100.0, -100.0, -100.0],
        [100.0, 0.0, -100.0],
    ] {
        let x = arr(&[3], &row);
        let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let z: f64 = row.iter().map(|v| (v - m).exp()).sum();
        let want: Vec<f64> = row.iter().map(|v| (v - m).exp() / z).collect();
        let g = grads_at(DType::F32, &[x], UnconnectedGradients::None, |_, xs| {
            xs[0].reduce(ReduceOp::LogSumExp)
        });
        // f32 rounds y = logsumexp near 100 to ~8e-6, hence the tolerance
        assert_grad(
            &format!("logsumexp'({row:?}) f32"),
            &g[0],
            &[3],
            &want,
            2e-5,
        );
    }
}

#[test]
fn empty_tensors_have_empty_or_zero_gradients() {
    // y = reduce(a[0,3] * b[3]): no element of b is used, so its gradient is
    // a sum over nothing: zeros; a's gradient is empty
    let a = arr(&[0, 3], &[]);
    let b = arr(&[3], &[1.0, 2.0, 3.0]);
    for op in gradjit::graph::REDUCE_OPS {
        for axis in [None, Some(0)] {
            let g = grads64(&[a.clone(), b.clone()], |_, xs| {
                let p = xs[0] * xs[1];
                match axis {
                    None => p.reduce(op),
                    Some(ax) => p.reduce_axes(op, &[ax], false),
                }
            });
            let name = format!("{}(a[0,3] * b, {axis:?})", op.name());
            assert_grad(&format!("{name}, a"), &g[0], &[0, 3], &[], 0.0);
            assert_grad(&format!("{name}, b"), &g[1], &[3], &[0.0; 3], 0.0);
        }
    }
}

#[test]
fn full_reduction_with_keepdims_through_add_node() {
    // Reduce { axes: None, keepdims: true }, which the builder does not offer
    let x = arr(&[2, 2], &[1.0, 3.0, 3.0, 2.0]);
    let reduce = |op: ReduceOp| {
        grads64(std::slice::from_ref(&x), move |g, xs| {
            let r = Op::Reduce {
                op,
                axes: None,
                keepdims: true,
            };
            g.tensor(g.add_node(r, &[xs[0].id()]).unwrap())
        })
        .remove(0)
    };
    assert_grad(
        "sum keepdims",
        &reduce(ReduceOp::Sum),
        &[2, 2],
        &[1.0; 4],
        0.0,
    );
    assert_grad(
        "mean keepdims",
        &reduce(ReduceOp::Mean),
        &[2, 2],
        &[0.25; 4],
        0.0,
    );
    assert_grad(
        "max keepdims",
        &reduce(ReduceOp::Max),
        &[2, 2],
        &[0.0, 0.5, 0.5, 0.0],
        0.0,
    );
    assert_grad(
        "min keepdims",
        &reduce(ReduceOp::Min),
        &[2, 2],
        &[1.0, 0.0, 0.0, 0.0],
        0.0,
    );
    // the softmax of [1, 3, 3, 2]
    let z: f64 = [1.0f64, 3.0, 3.0, 2.0].iter().map(|v| v.exp()).sum();
    let want: Vec<f64> = [1.0f64, 3.0, 3.0, 2.0]
        .iter()
        .map(|v| v.exp() / z)
        .collect();
    assert_grad(
        "logsumexp keepdims",
        &reduce(ReduceOp::LogSumExp),
        &[2, 2],
        &want,
        1e-15,
    );
}
