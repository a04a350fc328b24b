//! `prod` and its gradient, TensorFlow's `_ProdGrad`: the product of the
//! other elements, right where elements are 0 (no division); `cumprod`'s
//! gradient; against finite differences, closed forms and every engine.

mod common;

use common::{check_grad, rng, uniform, vars};
use gradjit::exec::Engine;
use gradjit::graph::ReduceOp;
use gradjit::{DType, Graph, Op, Session, Shape, Tensor, Value};
use ndarray::{ArrayD, IxDyn};

fn node<'g>(g: &'g Graph, op: Op, inputs: &[Tensor<'g>]) -> Tensor<'g> {
    let ids: Vec<_> = inputs.iter().map(|t| t.id()).collect();
    g.tensor(
        g.add_node(op.clone(), &ids)
            .unwrap_or_else(|e| panic!("{op:?}: {e}")),
    )
}

fn prod(axes: Option<Vec<usize>>, keepdims: bool) -> Op {
    Op::Reduce {
        op: ReduceOp::Prod,
        axes,
        keepdims,
    }
}

#[test]
fn prod_gradients_match_finite_differences() {
    let mut r = rng(71);
    let x = uniform(&mut r, &[3, 4, 2], 0.5, 1.5);
    for (axes, keepdims) in [
        (None, false),
        (Some(vec![1]), false),
        (Some(vec![0, 2]), true),
        (Some(vec![0, 1, 2]), false),
        (Some(vec![]), false),
    ] {
        let copy = axes.as_ref().is_some_and(Vec::is_empty);
        let op = prod(axes, keepdims);
        check_grad(&format!("{op:?}"), &vars([x.clone()]), |g, xs| {
            node(g, op.clone(), &[xs[0]])
        });
        if copy {
            // reducing no axis is a copy, whose gradient is constant
            continue;
        }
        // second order: the gradient's own gradient
        check_grad(&format!("grad {op:?}"), &vars([x.clone()]), |g, xs| {
            let y = node(g, op.clone(), &[xs[0]]).sum();
            let d = g.gradients(&[y], &[xs[0]]).expect("gradients")[0].expect("connected");
            d * d
        });
    }
}

#[test]
fn cumprod_gradient_matches_finite_differences() {
    let mut r = rng(72);
    let x = uniform(&mut r, &[3, 4], 0.5, 1.5);
    for axis in [0, 1] {
        for (exclusive, reverse) in [(false, false), (true, false), (false, true), (true, true)] {
            let op = Op::Cumprod {
                axis,
                exclusive,
                reverse,
            };
            check_grad(&format!("{op:?}"), &vars([x.clone()]), |g, xs| {
                node(g, op.clone(), &[xs[0]])
            });
        }
    }
}

/// `prod(x, axes)` and its gradient on `engine`, from the program text.
fn run(
    engine: Engine,
    x: &[f64],
    dims: &[usize],
    axes: Option<Vec<usize>>,
) -> (Vec<f64>, Vec<f64>) {
    let g = Graph::new();
    let xt = g.placeholder("x", DType::F64, Shape::known(dims));
    let y = node(&g, prod(axes, false), &[xt]);
    let d = g.gradients(&[y], &[xt]).expect("gradients")[0].expect("connected");
    let feed = Value::F64(ArrayD::from_shape_vec(IxDyn(dims), x.to_vec()).expect("sizes"));
    let out = Session::with_engine(&g, engine)
        .run(&[y, d], &[(xt, &feed)])
        .expect("runs");
    (out[0].to_f64_vec(), out[1].to_f64_vec())
}

/// `x`, its dims, the axes, `prod(x, axes)` and its gradient.
type Case = (
    &'static [f64],
    &'static [usize],
    Option<Vec<usize>>,
    &'static [f64],
    &'static [f64],
);

#[test]
fn the_gradient_is_right_where_elements_are_zero() {
    // each element's gradient is the product of the others, written out
    let cases: [Case; 4] = [
        (&[2.0, 0.0, 3.0], &[3], None, &[0.0], &[0.0, 6.0, 0.0]),
        (&[0.0, 0.0, 3.0], &[3], None, &[0.0], &[0.0, 0.0, 0.0]),
        // rows [2, 0] and [5, 4]; per row
        (
            &[2.0, 0.0, 5.0, 4.0],
            &[2, 2],
            Some(vec![1]),
            &[0.0, 20.0],
            &[0.0, 2.0, 4.0, 5.0],
        ),
        // over both axes: one zero, so only its gradient is nonzero
        (
            &[2.0, 0.0, 5.0, 4.0],
            &[2, 2],
            None,
            &[0.0],
            &[0.0, 40.0, 0.0, 0.0],
        ),
    ];
    for engine in [
        Engine::Interp,
        Engine::Jit,
        Engine::JitMt,
        Engine::JitUnfused,
    ] {
        for (x, dims, axes, want_y, want_d) in &cases {
            let (y, d) = run(engine, x, dims, axes.clone());
            assert_eq!(&y, want_y, "{engine} prod of {x:?} over {axes:?}");
            assert_eq!(
                &d, want_d,
                "{engine} gradient of prod of {x:?} over {axes:?}"
            );
        }
    }
}
