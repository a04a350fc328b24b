//! Convolution and pooling: gradients (and gradients of gradients) against
//! central finite differences in f64, at points without ties, and the
//! engines against the interpreter.

mod common;

use common::{check_grad, distinct, rng, uniform, vars};
use gradjit::graph::{Padding, Window};
use gradjit::{Graph, Op, Tensor};

fn node<'g>(g: &'g Graph, op: Op, inputs: &[Tensor<'g>]) -> Tensor<'g> {
    let ids: Vec<_> = inputs.iter().map(|t| t.id()).collect();
    g.tensor(
        g.add_node(op.clone(), &ids)
            .unwrap_or_else(|e| panic!("{op:?}: {e}")),
    )
}

fn grad<'g>(g: &'g Graph, y: Tensor<'g>, x: Tensor<'g>) -> Tensor<'g> {
    g.gradients(&[y], &[x]).expect("gradients")[0].expect("connected")
}

/// Every stride and padding worth telling apart: odd sizes, strides that
/// skip, `"SAME"` with its odd element of padding after.
const CONVS: [([usize; 2], Padding); 4] = [
    ([1, 1], Padding::Valid),
    ([2, 1], Padding::Valid),
    ([1, 1], Padding::Same),
    ([2, 2], Padding::Same),
];

#[test]
fn conv2d_gradients_to_input_and_filter() {
    let mut r = rng(61);
    let x = uniform(&mut r, &[2, 5, 4, 2], -1.0, 1.0);
    let f = uniform(&mut r, &[3, 2, 2, 3], -1.0, 1.0);
    for (strides, padding) in CONVS {
        let op = Op::Conv2d { strides, padding };
        let out_shape = {
            let g = Graph::new();
            let xt = g.constant(&x);
            let ft = g.constant(&f);
            node(&g, op.clone(), &[xt, ft])
                .shape()
                .concrete()
                .expect("shape")
        };
        let c = uniform(&mut r, &out_shape, -1.0, 1.0);
        check_grad(
            &format!("{op:?} * c"),
            &vars([x.clone(), f.clone()]),
            |g, xs| node(g, op.clone(), &[xs[0], xs[1]]) * g.constant(&c),
        );
    }
}

#[test]
fn conv2d_differentiates_twice() {
    let mut r = rng(62);
    let x = uniform(&mut r, &[1, 4, 5, 2], -1.0, 1.0);
    let f = uniform(&mut r, &[2, 3, 2, 2], -1.0, 1.0);
    for (strides, padding) in CONVS {
        let op = Op::Conv2d { strides, padding };
        // each first gradient is one of the backprop ops, whose own
        // gradients to both of their tensor operands are checked here
        for wrt in [0, 1] {
            check_grad(
                &format!("d/d{wrt} sum(conv**2) of {op:?}"),
                &vars([x.clone(), f.clone()]),
                |g, xs| {
                    let y = node(g, op.clone(), &[xs[0], xs[1]]);
                    let d = grad(g, (y * y).sum(), xs[wrt]);
                    d * d
                },
            );
        }
    }
}

/// Windows that overlap, that skip, and that reach into `"SAME"` padding.
fn windows() -> Vec<Window> {
    vec![
        Window {
            ksize: [2, 2],
            strides: [2, 2],
            padding: Padding::Valid,
        },
        Window {
            ksize: [3, 2],
            strides: [1, 1],
            padding: Padding::Valid,
        },
        Window {
            ksize: [3, 3],
            strides: [2, 2],
            padding: Padding::Same,
        },
        Window {
            ksize: [2, 3],
            strides: [1, 2],
            padding: Padding::Same,
        },
    ]
}

#[test]
fn pooling_gradients() {
    let mut r = rng(63);
    // distinct values: no ties, so the maximum's gradient is defined
    let x = distinct(&mut r, &[&[2, 5, 4, 3]], -2.0, 2.0).remove(0);
    for window in windows() {
        for op in [Op::MaxPool2d { window }, Op::AvgPool2d { window }] {
            check_grad(&format!("{op:?}**2"), &vars([x.clone()]), |g, xs| {
                let y = node(g, op.clone(), &[xs[0]]);
                y * y
            });
            check_grad(
                &format!("grad(sum({op:?}**3))**2"),
                &vars([x.clone()]),
                |g, xs| {
                    let y = node(g, op.clone(), &[xs[0]]);
                    let d = grad(g, (y * y * y).sum(), xs[0]);
                    d * d
                },
            );
        }
    }
}
