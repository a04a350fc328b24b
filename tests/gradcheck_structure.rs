//! The gradients of the structure functions of version 2 against central
//! finite differences in f64: slicing (steps of both signs, integer items,
//! `...`, empty results), `pad`, `concat`, `stack`, `gather` (repeated
//! indices, other axes) and `sparse_softmax_cross_entropy` (to the logits),
//! alone, under broadcasting, and differentiated twice. Each is checked with
//! static shapes and with dimensions unknown until run time (see
//! `common::check_grad`).

mod common;

use common::{arr, check_grad, check_grad_static, rng, uniform, vars, Input};
use gradjit::graph::{Op, SliceItem};
use gradjit::text::{parse, ParseOptions};
use gradjit::{DType, Graph, Tensor};
use ndarray::ArrayD;

/// Adds an op through `Graph::add_node`.
fn node<'g>(g: &'g Graph, op: Op, inputs: &[Tensor<'g>]) -> Tensor<'g> {
    let ids: Vec<_> = inputs.iter().map(|t| t.id()).collect();
    g.tensor(
        g.add_node(op.clone(), &ids)
            .unwrap_or_else(|e| panic!("{op:?}: {e}")),
    )
}

/// The output of the program `text`, parsed into `g`, whose inputs `x0`,
/// `x1`, ... are the placeholders `xs` of the check.
fn lang<'g>(g: &'g Graph, xs: &[Tensor<'g>], text: &str) -> Tensor<'g> {
    let p = parse(g, text, &ParseOptions::new(DType::F64))
        .unwrap_or_else(|e| panic!("`{text}` does not parse: {e}"));
    for (name, id) in &p.inputs {
        let k: usize = name
            .strip_prefix('x')
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("`{text}`: inputs are named x0, x1, ..."));
        assert_eq!(
            *id,
            xs[k].id(),
            "`{text}`: `{name}` is not the check's input"
        );
    }
    g.tensor(p.output)
}

/// `d/dx sum(y)`, which must exist.
fn grad<'g>(g: &'g Graph, y: Tensor<'g>, x: Tensor<'g>) -> Tensor<'g> {
    g.gradients(&[y], &[x]).expect("gradients")[0].expect("connected")
}

const fn range(start: Option<i64>, stop: Option<i64>, step: i64) -> SliceItem {
    SliceItem::Range { start, stop, step }
}

/// Integer indices as the float tensor the functions read.
fn indices(shape: &[usize], values: &[usize]) -> ArrayD<f64> {
    let v: Vec<f64> = values.iter().map(|&i| i as f64).collect();
    arr(shape, &v)
}

#[test]
fn slice_items_of_every_kind() {
    let mut r = rng(101);
    let cases: Vec<Vec<SliceItem>> = vec![
        vec![SliceItem::Index(1)],
        vec![SliceItem::Index(-1), range(None, None, -1)],
        vec![
            range(Some(1), None, 1),
            range(Some(-1), Some(0), -2),
            SliceItem::Index(2),
        ],
        vec![SliceItem::ALL, SliceItem::ALL, range(None, None, -2)],
        vec![range(Some(-100), Some(100), 2)],
        vec![range(Some(2), Some(0), -1), SliceItem::Index(0)],
        vec![
            SliceItem::Index(0),
            SliceItem::Index(-2),
            SliceItem::Index(4),
        ],
        vec![
            range(None, Some(-1), 3),
            range(Some(10), None, -3),
            range(Some(1), Some(4), 2),
        ],
        vec![SliceItem::ALL, range(Some(1), Some(3), 1)],
    ];
    for items in cases {
        let x = uniform(&mut r, &[3, 4, 5], -2.0, 2.0);
        check_grad(&format!("slice {items:?}"), &vars([x]), |g, xs| {
            node(
                g,
                Op::Slice {
                    items: items.clone(),
                },
                &[xs[0]],
            )
            .sin()
        });
    }
}

#[test]
fn slicing_syntax_chains_and_precedence() {
    let mut r = rng(102);
    for text in [
        "x0[1:, ::-1]",
        "x0[..., 0] * x0[:, :, 4]",
        "x0[0][1:][::-2]",
        "-x0[0]**2",
        "x0[-100:100:2, 3:0:-1, 1]",
        "x0[..., ::-2] * x0[::-1, ..., :3]",
        "x0[1, ..., 2]",
        "x0[2, 3, 4] * x0",
        "sin(x0)[::2] + x0[-1:]",
    ] {
        let x = uniform(&mut r, &[3, 4, 5], -2.0, 2.0);
        check_grad(text, &vars([x]), |g, xs| lang(g, xs, text));
    }
}

#[test]
fn slices_under_broadcasting_and_empty_slices() {
    let mut r = rng(103);
    for (text, sb) in [
        // [3, 5] against [4, 1, 5]
        ("x0[:, 0] * x1", &[4, 1, 5][..]),
        // [4, 5] against [2, 1, 5] reversed
        ("x0[1] + x1[..., ::-1]", &[2, 1, 5]),
        // a slice of a broadcast result
        ("(x0 * x1)[1:, ::-2, 0]", &[4, 1]),
        // empty pieces add nothing, and an empty result's gradient is zero
        ("x0[3:1] * 2", &[1]),
        ("sum(x0[3:1]) + sum(x0[1:2] * x1)", &[5]),
    ] {
        let x = uniform(&mut r, &[3, 4, 5], -2.0, 2.0);
        let b = uniform(&mut r, sb, -2.0, 2.0);
        let inputs = if text.contains("x1") {
            vars([x, b])
        } else {
            vars([x])
        };
        check_grad(text, &inputs, |g, xs| lang(g, xs, text));
    }
}

#[test]
fn slice_grad_scatters_and_differentiates_to_a_slice() {
    let mut r = rng(104);
    for items in [
        vec![SliceItem::Index(1), range(None, None, -2)],
        vec![
            range(Some(2), None, -1),
            SliceItem::ALL,
            SliceItem::Index(-1),
        ],
        vec![range(Some(1), Some(1), 1)],
    ] {
        let like = uniform(&mut r, &[3, 4, 5], -2.0, 2.0);
        let dims = gradjit::graph::sliced_dims(
            &gradjit::graph::resolve_slice(&items, &[3, 4, 5]).expect("valid items"),
        );
        let up = uniform(&mut r, &dims, -2.0, 2.0);
        check_grad(
            &format!("slice_grad {items:?}"),
            &[Input::Var(up), Input::NoGrad(like)],
            |g, xs| {
                node(
                    g,
                    Op::SliceGrad {
                        items: items.clone(),
                    },
                    &[xs[0], xs[1]],
                )
                .sin()
            },
        );
    }
}

#[test]
fn pad_alone_and_broadcast() {
    let mut r = rng(105);
    for (shape, widths) in [
        (vec![2, 3], vec![(1, 2), (0, 1)]),
        (vec![4], vec![(3, 0)]),
        (vec![2, 3, 3], vec![(0, 0), (2, 1), (1, 0)]),
        (vec![2, 2], vec![(0, 0), (0, 0)]),
    ] {
        let x = uniform(&mut r, &shape, -2.0, 2.0);
        check_grad(&format!("pad {shape:?} {widths:?}"), &vars([x]), |g, xs| {
            node(
                g,
                Op::Pad {
                    widths: widths.clone(),
                },
                &[xs[0]],
            )
            .sin()
        });
    }
    let x = uniform(&mut r, &[2, 3, 3], -2.0, 2.0);
    let b = uniform(&mut r, &[1, 6, 1], -2.0, 2.0);
    let text = "pad(x0, [[0, 0], [2, 1], [1, 0]]) * x1";
    check_grad(text, &vars([x, b]), |g, xs| lang(g, xs, text));
    let x = uniform(&mut r, &[3, 1], -2.0, 2.0);
    let b = uniform(&mut r, &[4], -2.0, 2.0);
    let text = "exp(pad(x0 * x1, [[1, 1], [0, 2]]))";
    check_grad(text, &vars([x, b]), |g, xs| lang(g, xs, text));
}

#[test]
fn concat_of_several_operands() {
    let mut r = rng(106);
    type Case<'a> = (&'a str, Vec<Vec<usize>>);
    let cases: [Case<'_>; 7] = [
        ("concat([x0, x1], 0)", vec![vec![2, 3], vec![1, 3]]),
        ("concat([x0, x1, x0], 1)", vec![vec![2, 1], vec![2, 3]]),
        ("concat([x0, x1], -1)", vec![vec![2, 2, 2], vec![2, 2, 3]]),
        ("concat([x0, x1], 1)", vec![vec![2, 1, 2], vec![2, 3, 2]]),
        ("concat([x0], 0)", vec![vec![3, 2]]),
        // broadcast inside an operand: [3, 1] * [1, 4] then [1, 4] below
        ("concat([x0 * x1, x1], 0)", vec![vec![3, 1], vec![1, 4]]),
        (
            "sin(concat([x0, x0 * x0, x1[::-1]], 0))",
            vec![vec![2], vec![3]],
        ),
    ];
    for (text, shapes) in cases {
        let inputs: Vec<Input> = shapes
            .iter()
            .map(|s| Input::Var(uniform(&mut r, s, -2.0, 2.0)))
            .collect();
        check_grad_static(text, &inputs, |g, xs| lang(g, xs, text));
    }
    // the op itself, with an operand repeated
    let a = uniform(&mut r, &[2, 3], -2.0, 2.0);
    let b = uniform(&mut r, &[2, 2], -2.0, 2.0);
    check_grad_static("Concat{1}(a, b, a)", &vars([a, b]), |g, xs| {
        node(g, Op::Concat { axis: 1 }, &[xs[0], xs[1], xs[0]]).sin()
    });
}

#[test]
fn stack_along_every_axis() {
    let mut r = rng(107);
    for (text, shapes) in [
        ("stack([x0, x1])", vec![vec![2, 3]; 2]),
        ("stack([x0, x1, x0 * x1], 1)", vec![vec![2, 3]; 2]),
        ("stack([x0, x1], 2)", vec![vec![2, 3]; 2]),
        ("stack([x0, x1], -1)", vec![vec![4]; 2]),
        ("stack([x0, x1, x0])", vec![vec![]; 2]),
        (
            "sin(stack([x0 + x1, x1], -2))",
            vec![vec![3, 1], vec![3, 1]],
        ),
    ] {
        let inputs: Vec<Input> = shapes
            .iter()
            .map(|s| Input::Var(uniform(&mut r, s, -2.0, 2.0)))
            .collect();
        check_grad(text, &inputs, |g, xs| lang(g, xs, text));
    }
}

#[test]
fn gather_with_repeated_indices_and_other_axes() {
    let mut r = rng(108);
    for (text, pshape, ishape, idx) in [
        ("gather(x0, x1)", vec![4, 3], vec![4], vec![3, 0, 3, 3]),
        (
            "gather(x0, x1, 0)",
            vec![5],
            vec![3, 2],
            vec![0, 1, 2, 3, 4, 4],
        ),
        (
            "gather(x0, x1, 1)",
            vec![2, 5, 2],
            vec![3, 2],
            vec![4, 0, 4, 4, 1, 2],
        ),
        (
            "gather(x0, x1, -1)",
            vec![2, 3, 2],
            vec![5],
            vec![1, 1, 0, 1, 1],
        ),
        ("gather(x0, x1, 1)", vec![3, 4], vec![], vec![2]),
        (
            "gather(x0 * x0, x1, 1)",
            vec![3, 4],
            vec![2, 2],
            vec![3, 3, 3, 0],
        ),
        (
            "sin(gather(x0, x1)[::-1])",
            vec![4, 3],
            vec![4],
            vec![1, 1, 2, 1],
        ),
    ] {
        let p = uniform(&mut r, &pshape, -2.0, 2.0);
        let i = indices(&ishape, &idx);
        check_grad(
            &format!("{text} with {idx:?}"),
            &[Input::Var(p), Input::NoGrad(i)],
            |g, xs| lang(g, xs, text),
        );
    }
    // under broadcasting: gather(p, i) * b, b [2, 1, 3]
    let p = uniform(&mut r, &[4, 3], -2.0, 2.0);
    let b = uniform(&mut r, &[2, 1, 3], -2.0, 2.0);
    let i = indices(&[5], &[0, 2, 2, 0, 1]);
    let text = "gather(x0, x2) * x1";
    check_grad(
        text,
        &[Input::Var(p), Input::Var(b), Input::NoGrad(i)],
        |g, xs| lang(g, xs, text),
    );
    // gather_grad itself: the scatter-add, differentiable in its upstream
    let up = uniform(&mut r, &[2, 4], -2.0, 2.0);
    let i = indices(&[4], &[1, 1, 0, 1]);
    let like = uniform(&mut r, &[2, 3], -2.0, 2.0);
    check_grad(
        "gather_grad(up, i, like, 1)",
        &[Input::Var(up), Input::NoGrad(i), Input::NoGrad(like)],
        |g, xs| node(g, Op::GatherGrad { axis: 1 }, &[xs[0], xs[1], xs[2]]).sin(),
    );
}

#[test]
fn sparse_softmax_cross_entropy_to_the_logits() {
    let mut r = rng(109);
    for (zshape, labels) in [
        (vec![2, 3, 4], vec![3, 0, 1, 1, 2, 0]),
        (vec![5], vec![2]),
        (vec![4, 1], vec![0, 0, 0, 0]),
        (vec![3, 6], vec![5, 5, 0]),
    ] {
        let z = uniform(&mut r, &zshape, -3.0, 3.0);
        let l = indices(&zshape[..zshape.len() - 1], &labels);
        check_grad_static(
            &format!("sparse_softmax_cross_entropy {zshape:?}"),
            &[Input::NoGrad(l), Input::Var(z)],
            |g, xs| node(g, Op::SparseSoftmaxCrossEntropy, &[xs[0], xs[1]]),
        );
    }
    // logits built by broadcasting: x @ W + b, labels of three rows
    let x = uniform(&mut r, &[3, 2], -1.0, 1.0);
    let w = uniform(&mut r, &[2, 4], -1.0, 1.0);
    let b = uniform(&mut r, &[4], -1.0, 1.0);
    let l = indices(&[3], &[1, 3, 1]);
    let text = "mean(sparse_softmax_cross_entropy(x3, x0 @ x1 + x2))";
    check_grad_static(
        text,
        &[
            Input::Var(x),
            Input::Var(w),
            Input::Var(b),
            Input::NoGrad(l),
        ],
        |g, xs| lang(g, xs, text),
    );
}

#[test]
fn second_derivatives_of_the_structure_functions() {
    let mut r = rng(110);
    let x = uniform(&mut r, &[3, 4], -2.0, 2.0);
    // each first derivative is nonlinear in x, so its own gradient is not zero
    for text in [
        "x0[1:, ::-2] ** 3",
        "x0[-1] * x0[0, ::-1]",
        "pad(x0, [[1, 0], [2, 1]]) ** 3",
        "stack([x0, sin(x0)], 1) ** 2",
        "x0[..., 1:][0] ** 2 * x0[2, :3]",
    ] {
        check_grad(&format!("({text})''"), &vars([x.clone()]), |g, xs| {
            let y = lang(g, xs, text);
            grad(g, y, xs[0])
        });
    }
    // concat's gradient needs the operands' sizes along the axis
    let text = "concat([x0, x0 * x0], 1) ** 2";
    check_grad_static(&format!("({text})''"), &vars([x.clone()]), |g, xs| {
        let y = lang(g, xs, text);
        grad(g, y, xs[0])
    });
    // gather: the gradient of the scatter-add is a gather
    let i = indices(&[5], &[2, 0, 2, 2, 1]);
    let text = "gather(x0, x1) ** 3";
    check_grad(
        &format!("({text})''"),
        &[Input::Var(x.clone()), Input::NoGrad(i.clone())],
        |g, xs| {
            let y = lang(g, xs, text);
            grad(g, y, xs[0])
        },
    );
    let i1 = indices(&[2, 2], &[3, 0, 3, 3]);
    let text = "sin(gather(x0, x1, 1))";
    check_grad(
        &format!("({text})''"),
        &[Input::Var(x.clone()), Input::NoGrad(i1)],
        |g, xs| {
            let y = lang(g, xs, text);
            grad(g, y, xs[0])
        },
    );
    // the sparse cross entropy twice: softmax's derivative (weighted by the
    // check, so not the derivative of a constant row sum)
    let z = uniform(&mut r, &[3, 5], -2.0, 2.0);
    let l = indices(&[3], &[4, 0, 2]);
    check_grad_static(
        "sparse_softmax_cross_entropy''",
        &[Input::NoGrad(l.clone()), Input::Var(z.clone())],
        |g, xs| {
            let y = node(g, Op::SparseSoftmaxCrossEntropy, &[xs[0], xs[1]]);
            grad(g, y, xs[1])
        },
    );
    // and weighted per row before the first derivative
    let rows = uniform(&mut r, &[3], 0.5, 1.5);
    check_grad_static(
        "(sparse_softmax_cross_entropy * w)''",
        &[Input::NoGrad(l), Input::Var(z)],
        |g, xs| {
            let y = node(g, Op::SparseSoftmaxCrossEntropy, &[xs[0], xs[1]]) * g.constant(&rows);
            grad(g, y, xs[1])
        },
    );
    // a mixed second derivative through a slice: d/db of d/da sum(a[::-1] * b ** 2)
    let a = uniform(&mut r, &[4], -2.0, 2.0);
    let b = uniform(&mut r, &[4], -2.0, 2.0);
    // (d/da is (b**2)[::-1], with no path back to a)
    check_grad(
        "d/db d/da sum(a[::-1] * b**2)",
        &[Input::NoGrad(a), Input::Var(b)],
        |g, xs| {
            let y = lang(g, xs, "x0[::-1] * x1 ** 2");
            grad(g, y, xs[0])
        },
    );
}
