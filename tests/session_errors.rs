//! `Session::run` errors: each is the right variant and its message names
//! the input, op or argument at fault.

mod common;

use common::arr;
use gradjit::graph::{GraphError, Origin};
use gradjit::interp::InterpError;
use gradjit::{DType, ExecError, Graph, Session, Shape, Tensor, Value};
use ndarray::{ArrayD, IxDyn};

fn ones(shape: &[usize]) -> ArrayD<f64> {
    ArrayD::ones(IxDyn(shape))
}

#[test]
fn an_unfed_placeholder_is_named() {
    let g = Graph::new();
    let x = g.placeholder("x", DType::F64, Shape::known(&[2]));
    let weights = g.placeholder("weights", DType::F64, Shape::known(&[2]));
    let y = x * weights;
    let mut sess = Session::new(&g);
    let err = sess.run(&[y], &[(x, ones(&[2]))]).unwrap_err();
    assert_eq!(
        err,
        ExecError::Interp(InterpError::Unfed {
            name: "weights".into()
        })
    );
    assert!(err.to_string().contains("`weights`"), "{err}");
    // nothing fed at all
    let none: &[(Tensor<'_>, Value)] = &[];
    assert!(matches!(
        sess.run(&[x], none),
        Err(ExecError::Interp(InterpError::Unfed { .. }))
    ));
    // the session is still usable after an error
    let out = sess
        .run(&[y], &[(x, ones(&[2])), (weights, arr(&[2], &[2.0, 3.0]))])
        .unwrap();
    assert_eq!(out[0].to_f64_vec(), vec![2.0, 3.0]);
}

#[test]
fn a_feed_of_the_wrong_dtype() {
    let g = Graph::new();
    let x = g.placeholder("x", DType::F64, Shape::known(&[2]));
    let y = x.sin();
    let mut sess = Session::new(&g);
    let err = sess
        .run(&[y], &[(x, ArrayD::<f32>::ones(IxDyn(&[2])))])
        .unwrap_err();
    assert_eq!(
        err,
        ExecError::Interp(InterpError::FeedDType {
            name: "x".into(),
            expected: DType::F64,
            got: DType::F32
        })
    );
    let msg = err.to_string();
    assert!(
        msg.contains("`x`") && msg.contains("f32") && msg.contains("f64"),
        "{msg}"
    );
}

#[test]
fn a_feed_contradicting_the_static_shape() {
    let g = Graph::new();
    let x = g.placeholder("x", DType::F64, Shape::known(&[2]));
    let y = x.sin();
    let mut sess = Session::new(&g);
    for bad in [&[3][..], &[2, 1], &[]] {
        let err = sess.run(&[y], &[(x, ones(bad))]).unwrap_err();
        assert_eq!(
            err,
            ExecError::Interp(InterpError::FeedShape {
                name: "x".into(),
                expected: Shape::known(&[2]),
                got: bad.to_vec()
            })
        );
        assert!(err.to_string().contains("`x`"), "{err}");
    }
    // checked even when the fetch does not need the feed
    let unused = g.placeholder("unused", DType::F64, Shape::known(&[1]));
    let err = sess
        .run(&[y], &[(x, ones(&[2])), (unused, ones(&[4]))])
        .unwrap_err();
    assert!(
        matches!(&err, ExecError::Interp(InterpError::FeedShape { name, .. }) if name == "unused"),
        "{err:?}"
    );
}

#[test]
fn a_run_time_shape_mismatch_names_the_op() {
    let g = Graph::new();
    let a = g.placeholder("a", DType::F64, Shape::unknown());
    let b = g.placeholder("b", DType::F64, Shape::unknown());
    let s = a + b;
    assert!(
        g.check().is_ok(),
        "unknown shapes cannot clash at build time"
    );
    let mut sess = Session::new(&g);
    let err = sess
        .run(&[s], &[(a, ones(&[2])), (b, ones(&[3]))])
        .unwrap_err();
    match &err {
        ExecError::Interp(InterpError::Shape { what, detail }) => {
            assert!(what.contains("add"), "{what}");
            assert!(detail.contains("[2]") && detail.contains("[3]"), "{detail}");
        }
        other => panic!("expected a run-time shape error, got {other:?}"),
    }
    assert!(err.to_string().contains("add"), "{err}");

    // with a place in the program, the message gives its line and column
    let m = a * b;
    g.set_origin(m.id(), Origin { line: 3, column: 7 });
    let err = sess
        .run(&[m], &[(a, ones(&[2])), (b, ones(&[3]))])
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("mul") && msg.contains("line 3, column 7"),
        "{msg}"
    );

    // a matmul whose inner dimensions clash only at run time
    let p = g.placeholder("p", DType::F64, Shape::of_rank(2));
    let q = g.placeholder("q", DType::F64, Shape::of_rank(2));
    let mm = p.matmul(q);
    let err = sess
        .run(&[mm], &[(p, ones(&[2, 3])), (q, ones(&[4, 2]))])
        .unwrap_err();
    assert!(
        matches!(&err, ExecError::Interp(InterpError::Shape { what, .. }) if what.contains("matmul")),
        "{err:?}"
    );
}

#[test]
fn tensors_of_another_graph() {
    let g = Graph::new();
    let h = Graph::new();
    let x = g.placeholder("x", DType::F64, Shape::known(&[2]));
    let hx = h.placeholder("x", DType::F64, Shape::known(&[2]));
    let y = x.sin();
    let hy = hx.sin();
    let mut sess = Session::new(&g);
    let err = sess.run(&[hy], &[(x, ones(&[2]))]).unwrap_err();
    assert_eq!(err, ExecError::ForeignTensor { role: "fetch" });
    assert!(err.to_string().contains("fetch"), "{err}");
    let err = sess.run(&[y], &[(hx, ones(&[2]))]).unwrap_err();
    assert_eq!(err, ExecError::ForeignTensor { role: "feed" });
    assert!(err.to_string().contains("feed"), "{err}");
}

#[test]
fn only_placeholders_can_be_fed_and_only_once() {
    let g = Graph::new();
    let x = g.placeholder("x", DType::F64, Shape::known(&[2]));
    let h = x * x;
    let y = h.sin();
    let mut sess = Session::new(&g);
    let err = sess
        .run(&[y], &[(x, ones(&[2])), (h, ones(&[2]))])
        .unwrap_err();
    match &err {
        ExecError::NotAPlaceholder { what } => assert!(what.contains("mul"), "{what}"),
        other => panic!("expected NotAPlaceholder, got {other:?}"),
    }
    let c = g.scalar(1.0, DType::F64);
    assert!(matches!(
        sess.run(&[y], &[(c, arr(&[], &[2.0]))]),
        Err(ExecError::NotAPlaceholder { .. })
    ));
    let err = sess
        .run(&[y], &[(x, ones(&[2])), (x, ones(&[2]))])
        .unwrap_err();
    assert_eq!(err, ExecError::FedTwice { name: "x".into() });
    assert!(err.to_string().contains("`x`"), "{err}");
}

#[test]
fn a_poisoned_graph_cannot_run() {
    let g = Graph::new();
    let a = g.placeholder("a", DType::F64, Shape::known(&[2]));
    let b = g.placeholder("b", DType::F64, Shape::known(&[3]));
    let _bad = a + b;
    let fine = a.sin();
    let mut sess = Session::new(&g);
    let err = sess.run(&[fine], &[(a, ones(&[2]))]).unwrap_err();
    assert!(
        matches!(
            err,
            ExecError::Graph(GraphError::Broadcast { op: "add", .. })
        ),
        "{err:?}"
    );
}

#[test]
fn feed_order_names_the_missing_input() {
    use gradjit::exec::{compile, CompileOptions};
    let g = Graph::new();
    let x = g.placeholder("x", DType::F32, Shape::unknown());
    let y = g.placeholder("y", DType::F32, Shape::unknown());
    let z = x * y;
    let exe = compile(
        &g,
        &[z.id()],
        &[(x.id(), vec![3]), (y.id(), vec![3])],
        &CompileOptions::default(),
    )
    .unwrap();
    let order = exe.feed_order(&["unused", "y", "x"]).unwrap();
    let names: Vec<&str> = exe.inputs().iter().map(|(n, _)| n.as_str()).collect();
    for (k, name) in names.iter().enumerate() {
        assert_eq!(["unused", "y", "x"][order[k]], *name);
    }
    match exe.feed_order(&["x"]) {
        Err(ExecError::MissingFeed { name }) => assert_eq!(name, "y"),
        other => panic!("{other:?}"),
    }
}
