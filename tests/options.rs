//! `tf.gradients` options and semantics: grad_ys, stop_gradients,
//! unconnected_gradients, several ys, shared nodes, intermediate xs, and the
//! errors of bad arguments.

mod common;

use common::{arr, assert_close, run};
use gradjit::autodiff::{explain_unconnected, gradients, AutodiffError, Unconnected};
use gradjit::graph::GraphError;
use gradjit::{
    DType, GradOptions, GradientOptions, Graph, NodeId, Shape, Tensor, UnconnectedGradients, Value,
};
use ndarray::ArrayD;

fn f64v(a: &ArrayD<f64>) -> Value {
    Value::F64(a.clone())
}

fn vec_ph<'g>(g: &'g Graph, name: &str, n: usize) -> Tensor<'g> {
    g.placeholder(name, DType::F64, Shape::known(&[n]))
}

#[test]
fn grad_ys_scale_the_result() {
    let g = Graph::new();
    let x = vec_ph(&g, "x", 3);
    let y = x * x;
    let gy = g.constant(&arr(&[3], &[1.0, 2.0, -3.0]));
    let opts = GradOptions {
        grad_ys: vec![gy],
        ..GradOptions::default()
    };
    let d = g.gradients_with(&[y], &[x], &opts).unwrap()[0].unwrap();
    let xv = arr(&[3], &[0.5, 1.0, 2.0]);
    // d/dx sum(gy * x^2) = 2 x gy
    let got = run(&g, &[d], &[(x, f64v(&xv))]).remove(0);
    assert_close("grad_ys constant", &got, &[1.0, 4.0, -12.0], 0.0, 0.0);

    // grad_ys fed at run time, for a scalar y
    let s = (x * x).sum();
    let gs = g.placeholder("gs", DType::F64, Shape::scalar());
    let opts = GradOptions {
        grad_ys: vec![gs],
        ..GradOptions::default()
    };
    let d = g.gradients_with(&[s], &[x], &opts).unwrap()[0].unwrap();
    let got = run(&g, &[d], &[(x, f64v(&xv)), (gs, f64v(&arr(&[], &[10.0])))]).remove(0);
    assert_close("grad_ys fed", &got, &[10.0, 20.0, 40.0], 0.0, 0.0);
}

fn with_gy<'g>(
    g: &'g Graph,
    grad_ys: &[Tensor<'g>],
    ys: &[Tensor<'g>],
) -> Result<Vec<Option<Tensor<'g>>>, AutodiffError> {
    let x = g.tensor(g.placeholder_named("x").expect("x exists"));
    let opts = GradOptions {
        grad_ys: grad_ys.to_vec(),
        ..GradOptions::default()
    };
    g.gradients_with(ys, &[x], &opts)
}

#[test]
fn one_grad_y_per_y_of_exactly_its_shape() {
    let g = Graph::new();
    let x = vec_ph(&g, "x", 3);
    let y = x.sin();
    let y2 = x.cos().sum();
    let three = g.constant(&arr(&[3], &[1.0; 3]));
    let two = g.constant(&arr(&[2], &[1.0; 2]));
    let row = g.constant(&arr(&[1, 3], &[1.0; 3]));
    let f32s = g.constant(&ndarray::ArrayD::<f32>::ones(ndarray::IxDyn(&[3])));

    // the wrong shape: [2] and [1, 3] for a y of shape [3]
    for bad in [two, row] {
        match with_gy(&g, &[bad], &[y]) {
            Err(AutodiffError::GradYShape {
                index: 0,
                expected,
                got,
                ..
            }) => {
                assert_eq!(expected, Shape::known(&[3]));
                assert_eq!(got, bad.shape());
            }
            other => panic!("grad_y of shape {} for [3]: {other:?}", bad.shape()),
        }
    }
    // the wrong dtype
    assert!(
        matches!(
            with_gy(&g, &[f32s], &[y]),
            Err(AutodiffError::GradYShape { index: 0, .. })
        ),
        "an f32 grad_y for an f64 y must be refused"
    );
    // the second y's grad_y is checked too, and the message names its index
    let err = with_gy(&g, &[three, three], &[y, y2]).unwrap_err();
    assert!(
        matches!(err, AutodiffError::GradYShape { index: 1, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("#1"), "{err}");
    // the wrong count
    let err = with_gy(&g, &[three, three], &[y]).unwrap_err();
    assert_eq!(err, AutodiffError::GradYsCount { ys: 1, got: 2 });
    let err = with_gy(&g, &[three], &[y, y2]).unwrap_err();
    assert_eq!(err, AutodiffError::GradYsCount { ys: 2, got: 1 });
    // and the right one works
    assert!(with_gy(&g, &[three], &[y]).is_ok());
}

#[test]
fn stop_gradients_give_partial_derivatives() {
    // z = x*y with y = 2x. Stopped at y: dz/dx = y (not 4x); dz/dy = x
    let g = Graph::new();
    let x = g.placeholder("x", DType::F64, Shape::scalar());
    let y = 2.0 * x;
    let z = x * y;
    let opts = GradOptions {
        stop_gradients: vec![y],
        ..GradOptions::default()
    };
    let gs = g.gradients_with(&[z], &[x, y], &opts).unwrap();
    let full = g.gradients(&[z], &[x]).unwrap()[0].unwrap();
    let out = run(
        &g,
        &[gs[0].unwrap(), gs[1].unwrap(), full],
        &[(x, f64v(&arr(&[], &[3.0])))],
    );
    assert_eq!(out[0], vec![6.0], "dz/dx with y stopped is y = 2x");
    assert_eq!(
        out[1],
        vec![3.0],
        "the stopped y still gets its own gradient x"
    );
    assert_eq!(out[2], vec![12.0], "without stopping, dz/dx = 4x");

    // the x itself stopped: it still gets its gradient
    let opts = GradOptions {
        stop_gradients: vec![x],
        ..GradOptions::default()
    };
    let d = g.gradients_with(&[z], &[x], &opts).unwrap()[0].unwrap();
    assert_eq!(
        run(&g, &[d], &[(x, f64v(&arr(&[], &[3.0])))])[0],
        vec![12.0]
    );

    // every path through the stopped node: None, or zeros
    let w = y.sin();
    let opts = GradOptions {
        stop_gradients: vec![y],
        ..GradOptions::default()
    };
    assert_eq!(g.gradients_with(&[w], &[x], &opts).unwrap()[0], None);
    let opts = GradOptions {
        stop_gradients: vec![y],
        unconnected: UnconnectedGradients::Zero,
        ..GradOptions::default()
    };
    let d = g.gradients_with(&[w], &[x], &opts).unwrap()[0].unwrap();
    assert_eq!(run(&g, &[d], &[(x, f64v(&arr(&[], &[3.0])))])[0], vec![0.0]);
}

#[test]
fn stopping_an_intermediate_node_keeps_the_direct_path() {
    // b = a + x with a = x*x; stopped at a, db/dx = 1
    let g = Graph::new();
    let x = vec_ph(&g, "x", 2);
    let a = x * x;
    let b = a + x;
    let opts = GradOptions {
        stop_gradients: vec![a],
        ..GradOptions::default()
    };
    let d = g.gradients_with(&[b], &[x], &opts).unwrap()[0].unwrap();
    let got = run(&g, &[d], &[(x, f64v(&arr(&[2], &[5.0, -1.0])))]).remove(0);
    assert_eq!(got, vec![1.0, 1.0]);
}

#[test]
fn unconnected_none_or_zeros_of_x_shape() {
    let g = Graph::new();
    let x = vec_ph(&g, "x", 2);
    let w = g.placeholder("w", DType::F64, Shape::known(&[2, 3]));
    let u = g.placeholder("u", DType::F64, Shape::unknown());
    let y = x * x;
    let gs = g.gradients(&[y], &[x, w, u]).unwrap();
    assert!(gs[0].is_some());
    assert_eq!(gs[1], None);
    assert_eq!(gs[2], None);
    let opts = GradOptions {
        unconnected: UnconnectedGradients::Zero,
        ..GradOptions::default()
    };
    let gs = g.gradients_with(&[y], &[x, w, u], &opts).unwrap();
    let (gw, gu) = (gs[1].unwrap(), gs[2].unwrap());
    assert_eq!(gw.shape(), Shape::known(&[2, 3]));
    let mut sess = gradjit::Session::new(&g);
    let out = sess
        .run(
            &[gs[0].unwrap(), gw, gu],
            &[
                (x, f64v(&arr(&[2], &[1.0, 2.0]))),
                (w, f64v(&arr(&[2, 3], &[9.0; 6]))),
                (u, f64v(&arr(&[4, 1], &[9.0; 4]))),
            ],
        )
        .unwrap();
    assert_eq!(out[0].to_f64_vec(), vec![2.0, 4.0]);
    assert_eq!(out[1].shape(), &[2, 3]);
    assert_eq!(out[1].to_f64_vec(), vec![0.0; 6]);
    // an x whose shape is known only at run time gets zeros of the fed shape
    assert_eq!(out[2].shape(), &[4, 1]);
    assert_eq!(out[2].to_f64_vec(), vec![0.0; 4]);
}

#[test]
fn several_ys_are_summed() {
    let g = Graph::new();
    let x = vec_ph(&g, "x", 2);
    let xv = arr(&[2], &[0.5, -1.5]);
    // d(x^2 + sin x) = 2x + cos x
    let d = g.gradients(&[x * x, x.sin()], &[x]).unwrap()[0].unwrap();
    let got = run(&g, &[d], &[(x, f64v(&xv))]).remove(0);
    let want: Vec<f64> = xv.iter().map(|v| 2.0 * v + v.cos()).collect();
    assert_close("ys = [x*x, sin x]", &got, &want, 1e-15, 0.0);

    // y2 depends on y1: y1 = x^2, y2 = 3 y1; d(y1 + y2) = 2x + 6x = 8x
    let y1 = x * x;
    let y2 = 3.0 * y1;
    for ys in [[y1, y2], [y2, y1]] {
        let d = g.gradients(&ys, &[x]).unwrap()[0].unwrap();
        let got = run(&g, &[d], &[(x, f64v(&xv))]).remove(0);
        assert_eq!(got, vec![4.0, -12.0], "ys = {ys:?}");
    }
    // with a grad_y for each: d(2 y1 + 10 y2) = 4x + 60x = 64x
    let opts = GradOptions {
        grad_ys: vec![
            g.constant(&arr(&[2], &[2.0, 2.0])),
            g.constant(&arr(&[2], &[10.0, 10.0])),
        ],
        ..GradOptions::default()
    };
    let d = g.gradients_with(&[y1, y2], &[x], &opts).unwrap()[0].unwrap();
    let got = run(&g, &[d], &[(x, f64v(&xv))]).remove(0);
    assert_eq!(got, vec![32.0, -96.0]);
    // the same y twice counts twice
    let d = g.gradients(&[y1, y1], &[x]).unwrap()[0].unwrap();
    let got = run(&g, &[d], &[(x, f64v(&xv))]).remove(0);
    assert_eq!(got, vec![2.0, -6.0]);
}

#[test]
fn a_node_on_two_paths_adds_its_gradients() {
    let g = Graph::new();
    let x = vec_ph(&g, "x", 2);
    let xv = arr(&[2], &[0.5, -1.5]);
    let cases: Vec<(&str, Tensor<'_>, Vec<f64>)> = vec![
        ("x*x", x * x, xv.iter().map(|v| 2.0 * v).collect()),
        (
            "(x + x) * x",
            (x + x) * x,
            xv.iter().map(|v| 4.0 * v).collect(),
        ),
        // a = sin x used twice: d(a*a + a) = (2a + 1) cos x
        (
            "a*a + a",
            {
                let a = x.sin();
                a * a + a
            },
            xv.iter().map(|v| (2.0 * v.sin() + 1.0) * v.cos()).collect(),
        ),
    ];
    for (name, y, want) in cases {
        let d = g.gradients(&[y], &[x]).unwrap()[0].unwrap();
        let got = run(&g, &[d], &[(x, f64v(&xv))]).remove(0);
        assert_close(name, &got, &want, 1e-15, 0.0);
    }
}

#[test]
fn gradients_with_respect_to_intermediate_nodes_and_to_y_itself() {
    let g = Graph::new();
    let x = g.placeholder("x", DType::F64, Shape::known(&[2, 3]));
    let xv = arr(&[2, 3], &[0.1, 0.2, 0.3, -0.4, 0.5, 0.6]);
    let h = x * x;
    let y = h.sin();
    let gs = g.gradients(&[y], &[x, h, y]).unwrap();
    let out = run(
        &g,
        &[gs[0].unwrap(), gs[1].unwrap(), gs[2].unwrap()],
        &[(x, f64v(&xv))],
    );
    let dh: Vec<f64> = xv.iter().map(|v| (v * v).cos()).collect();
    let dx: Vec<f64> = xv.iter().map(|v| 2.0 * v * (v * v).cos()).collect();
    assert_close("dy/dx", &out[0], &dx, 1e-15, 0.0);
    assert_close("dy/dh", &out[1], &dh, 1e-15, 0.0);
    assert_eq!(out[2], vec![1.0; 6], "dy/dy is ones");

    // a placeholder with respect to itself; and with grad_ys, the grad_y itself
    let gx = g.gradients(&[x], &[x]).unwrap()[0].unwrap();
    let gy = g.constant(&arr(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]));
    let opts = GradOptions {
        grad_ys: vec![gy],
        ..GradOptions::default()
    };
    let gyy = g.gradients_with(&[y], &[y], &opts).unwrap()[0].unwrap();
    let out = run(&g, &[gx, gyy], &[(x, f64v(&xv))]);
    assert_eq!(out[0], vec![1.0; 6]);
    assert_eq!(out[1], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
}

#[test]
fn disconnected_xs_get_none() {
    let g = Graph::new();
    let x = vec_ph(&g, "x", 2);
    let other = vec_ph(&g, "other", 2);
    let c = g.constant(&arr(&[2], &[1.0, 2.0]));
    let y = x * c;
    // `other` is not used: None; a constant used by y is an x like any other
    let gs = g.gradients(&[y], &[other, c, x]).unwrap();
    assert_eq!(gs[0], None);
    let gc = gs[1].expect("a constant used by y is connected");
    let out = run(
        &g,
        &[gc, gs[2].unwrap()],
        &[(x, f64v(&arr(&[2], &[3.0, 4.0])))],
    );
    assert_eq!(out[0], vec![3.0, 4.0]);
    assert_eq!(out[1], vec![1.0, 2.0]);
    // a y computed before x exists cannot depend on it
    let later = vec_ph(&g, "later", 2);
    assert_eq!(g.gradients(&[y], &[later]).unwrap()[0], None);
}

#[test]
fn explain_why_a_gradient_is_none() {
    let g = Graph::new();
    let x = vec_ph(&g, "x", 2);
    let other = vec_ph(&g, "other", 2);
    let f = x.floor();
    let y = f * 2.0 + other;
    let s = x.stop_gradient();
    let z = s + other;
    let ids = |ts: &[Tensor<'_>]| ts.iter().map(|t| t.id()).collect::<Vec<_>>();
    assert_eq!(
        explain_unconnected(&g, &ids(&[y]), other.id(), &[]),
        Unconnected::Connected
    );
    assert_eq!(
        explain_unconnected(&g, &ids(&[other]), x.id(), &[]),
        Unconnected::NoPath
    );
    assert_eq!(
        explain_unconnected(&g, &ids(&[y]), x.id(), &[]),
        Unconnected::Blocked {
            no_gradient: vec![f.id()],
            stopped: vec![],
        }
    );
    assert_eq!(
        explain_unconnected(&g, &ids(&[z]), x.id(), &[]),
        Unconnected::Blocked {
            no_gradient: vec![],
            stopped: vec![s.id()],
        }
    );
    let h = x * 3.0_f64;
    let w = h.sin();
    assert_eq!(
        explain_unconnected(&g, &ids(&[w]), x.id(), &[h.id()]),
        Unconnected::Blocked {
            no_gradient: vec![],
            stopped: vec![h.id()],
        }
    );
}

#[test]
fn bad_arguments_are_errors() {
    let g = Graph::new();
    let x = vec_ph(&g, "x", 2);
    let y = x * x;
    let none = GradientOptions::default();
    assert_eq!(
        gradients(&g, &[], &[x.id()], &none),
        Err(AutodiffError::NoYs)
    );
    assert_eq!(
        gradients(&g, &[y.id()], &[], &none),
        Err(AutodiffError::NoXs)
    );
    assert_eq!(g.gradients(&[], &[x]).unwrap_err(), AutodiffError::NoYs);
    assert_eq!(g.gradients(&[y], &[]).unwrap_err(), AutodiffError::NoXs);

    let beyond = NodeId(g.len() as u32 + 7);
    for (ys, xs, role) in [
        (vec![y.id()], vec![beyond], "x"),
        (vec![beyond], vec![x.id()], "y"),
    ] {
        let err = gradients(&g, &ys, &xs, &none).unwrap_err();
        assert_eq!(err, AutodiffError::NotInGraph { role, id: beyond });
        assert!(err.to_string().contains(&beyond.to_string()), "{err}");
    }
    let opts = GradientOptions {
        stop_gradients: vec![beyond],
        ..GradientOptions::default()
    };
    assert!(matches!(
        gradients(&g, &[y.id()], &[x.id()], &opts),
        Err(AutodiffError::NotInGraph { id, .. }) if id == beyond
    ));

    // a tensor of another graph, as y, x, grad_y or stop node
    let h = Graph::new();
    let hx = vec_ph(&h, "x", 2);
    let foreign = Err(AutodiffError::Graph(GraphError::ForeignTensor));
    assert_eq!(g.gradients(&[y], &[hx]), foreign);
    assert_eq!(g.gradients(&[hx], &[x]), foreign);
    let opts = GradOptions {
        grad_ys: vec![hx],
        ..GradOptions::default()
    };
    assert_eq!(g.gradients_with(&[y], &[x], &opts), foreign);
    let opts = GradOptions {
        stop_gradients: vec![hx],
        ..GradOptions::default()
    };
    assert_eq!(g.gradients_with(&[y], &[x], &opts), foreign);
}

#[test]
fn a_poisoned_graph_reports_its_first_error() {
    let g = Graph::new();
    let a = g.placeholder("a", DType::F64, Shape::known(&[2]));
    let b = g.placeholder("b", DType::F64, Shape::known(&[3]));
    let bad = a + b; // cannot broadcast: recorded in the graph
    let later = (a * a).sin();
    let err = g.gradients(&[later], &[a]).unwrap_err();
    match &err {
        AutodiffError::Graph(GraphError::Broadcast { op, a: 2, b: 3, .. }) => {
            assert_eq!(*op, "add")
        }
        other => panic!("expected the broadcast error, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("[2]") && msg.contains("[3]"), "{msg}");
    // every later fallible call reports it too
    assert!(g.gradients(&[bad], &[b]).is_err());
    assert!(g.check().is_err());
}

#[test]
fn stopped_ys_repeated_xs_and_ys_as_xs() {
    let g = Graph::new();
    let x = vec_ph(&g, "x", 2);
    let xv = arr(&[2], &[0.5, -1.5]);
    let y1 = x * x;
    let y2 = y1.sin();
    // a stopped y passes nothing back: None (as TensorFlow)
    let opts = GradOptions {
        stop_gradients: vec![y1],
        ..GradOptions::default()
    };
    assert_eq!(g.gradients_with(&[y1], &[x], &opts).unwrap(), vec![None]);
    // the same x twice gets the same gradient twice
    let gs = g.gradients(&[y1], &[x, x]).unwrap();
    let out = run(&g, &[gs[0].unwrap(), gs[1].unwrap()], &[(x, f64v(&xv))]);
    assert_eq!(out[0], vec![1.0, -3.0]);
    assert_eq!(out[1], vec![1.0, -3.0]);
    // ys = [y1, y2] with respect to y1: 1 + cos(y1)
    let d = g.gradients(&[y1, y2], &[y1]).unwrap()[0].unwrap();
    let got = run(&g, &[d], &[(x, f64v(&xv))]).remove(0);
    let want: Vec<f64> = xv.iter().map(|v| 1.0 + (v * v).cos()).collect();
    assert_close("d(y1 + sin y1)/dy1", &got, &want, 1e-15, 0.0);
}

/// TensorFlow's answer when an intermediate x is structurally identical to
/// another expression: `h = x*x; y = sin(x*x) + h` has dy/dh = 1 in
/// TensorFlow, where the two `x*x` are different tensors. Hash-consing makes
/// equal expressions one node, so an intermediate x is given a node of its
/// own with `bind` (the language's `h := x*x`, which the command and
/// `grad(y, h)` use for bound names they differentiate with respect to).
#[test]
fn intermediate_xs_are_distinct_from_equal_expressions() {
    let g = Graph::new();
    let x = g.placeholder("x", DType::F64, Shape::scalar());
    let z = g.placeholder("z", DType::F64, Shape::scalar());
    let h = (x * x).bind("h");
    let y = (x * x).sin() + h;
    let dh = g.gradients(&[y], &[h]).unwrap()[0].unwrap();
    let c = g.scalar(2.0, DType::F64).bind("c");
    let w = c * x + 2.0_f64 * z;
    let dc = g.gradients(&[w], &[c]).unwrap()[0].unwrap();
    let out = run(
        &g,
        &[dh, dc],
        &[(x, f64v(&arr(&[], &[1.0]))), (z, f64v(&arr(&[], &[10.0])))],
    );
    assert_eq!(out[0], vec![1.0], "d/dh (sin(x*x) + h), h = x*x");
    assert_eq!(out[1], vec![1.0], "d/dc (c*x + 2*z), c = 2, at x = 1");
}
