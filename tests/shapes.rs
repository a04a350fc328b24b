//! Static shape inference, build-time errors, placeholders with unknown
//! dimensions, and hash-consing.

mod common;

use common::arr;
use gradjit::graph::{BinaryOp, GraphError, Literal, ReduceOp, UnaryOp};
use gradjit::interp::InterpError;
use gradjit::{DType, ExecError, Graph, NodeId, Op, Session, Shape, Tensor};
use ndarray::{ArrayD, IxDyn};

fn ph<'g>(g: &'g Graph, name: &str, dims: &[usize]) -> Tensor<'g> {
    g.placeholder(name, DType::F64, Shape::known(dims))
}

fn dims(d: &[Option<usize>]) -> Shape {
    Shape::with_dims(d.to_vec())
}

#[test]
fn reduction_axes_are_checked_at_build_time() {
    let g = Graph::new();
    let x = ph(&g, "x", &[2, 3]);
    let r = |axes: &[i64], keep: bool| g.try_reduce(ReduceOp::Sum, x, Some(axes), keep);
    assert_eq!(
        r(&[2], false).unwrap_err(),
        GraphError::Axis {
            op: "sum",
            axis: 2,
            rank: 2
        }
    );
    assert_eq!(
        r(&[-3], false).unwrap_err(),
        GraphError::Axis {
            op: "sum",
            axis: -3,
            rank: 2
        }
    );
    assert_eq!(
        r(&[1, -1], false).unwrap_err(),
        GraphError::RepeatedAxis {
            op: "sum",
            axis: -1
        }
    );
    let err = g
        .try_reduce(ReduceOp::Max, x, Some(&[0, 0]), false)
        .unwrap_err();
    assert_eq!(err, GraphError::RepeatedAxis { op: "max", axis: 0 });
    assert!(err.to_string().contains("max"), "{err}");
    // valid forms and their shapes
    assert_eq!(r(&[-1], false).unwrap().shape(), Shape::known(&[2]));
    assert_eq!(r(&[-2], true).unwrap().shape(), Shape::known(&[1, 3]));
    assert_eq!(r(&[], false).unwrap().shape(), Shape::known(&[2, 3]));
    assert_eq!(r(&[], true).unwrap().shape(), Shape::known(&[2, 3]));
    assert_eq!(r(&[0, 1], false).unwrap().shape(), Shape::scalar());
    assert_eq!(r(&[1, 0], true).unwrap().shape(), Shape::known(&[1, 1]));
    assert!(g.check().is_ok(), "try_ methods do not poison the graph");
    // the same mistake through the operator-style builder poisons the graph
    let _ = x.reduce_axes(ReduceOp::Mean, &[5], false);
    assert!(matches!(
        g.check(),
        Err(GraphError::Axis {
            op: "mean",
            axis: 5,
            ..
        })
    ));
}

#[test]
fn axes_of_unknown_rank() {
    let g = Graph::new();
    let u = g.placeholder("u", DType::F64, Shape::unknown());
    assert_eq!(
        g.try_reduce(ReduceOp::Sum, u, Some(&[-1]), false)
            .unwrap_err(),
        GraphError::UnknownRank {
            op: "sum",
            detail: "a negative axis"
        }
    );
    assert_eq!(
        g.try_reduce(ReduceOp::Sum, u, Some(&[0]), false)
            .unwrap()
            .shape(),
        Shape::unknown()
    );
    assert_eq!(u.sum().shape(), Shape::scalar());
    // a too-large axis on an unknown rank is found at run time, naming the op
    let s = g.try_reduce(ReduceOp::Sum, u, Some(&[3]), false).unwrap();
    let mut sess = Session::new(&g);
    let err = sess.run(&[s], &[(u, arr(&[2, 2], &[1.0; 4]))]).unwrap_err();
    match &err {
        ExecError::Interp(InterpError::Shape { what, .. }) => {
            assert!(what.contains("sum"), "{what}")
        }
        other => panic!("expected a run-time shape error, got {other:?}"),
    }
}

#[test]
fn static_shapes_with_unknown_dims() {
    let g = Graph::new();
    let a = g.placeholder("a", DType::F64, dims(&[None, Some(3)]));
    let b = ph(&g, "b", &[4, 1]);
    let v = g.placeholder("v", DType::F64, dims(&[None]));
    let u = g.placeholder("u", DType::F64, Shape::unknown());
    assert_eq!((a + b).shape(), Shape::known(&[4, 3]));
    assert_eq!((v + ph(&g, "one", &[1])).shape(), dims(&[None]));
    assert_eq!((u + b).shape(), Shape::unknown());
    assert_eq!(a.sin().shape(), dims(&[None, Some(3)]));
    assert_eq!(
        a.reduce_axes(ReduceOp::Sum, &[1], false).shape(),
        dims(&[None])
    );
    assert_eq!(
        a.reduce_axes(ReduceOp::Sum, &[1], true).shape(),
        dims(&[None, Some(1)])
    );
    assert_eq!(
        a.reduce_axes(ReduceOp::Sum, &[0], true).shape(),
        Shape::known(&[1, 3])
    );
    assert_eq!(a.transpose(None).shape(), dims(&[Some(3), None]));
    assert_eq!(u.transpose(Some(&[1, 0, 2])).shape(), Shape::of_rank(3));
    assert_eq!(a.reshape(&[-1]).shape(), dims(&[None]));
    assert_eq!(a.reshape(&[3, -1]).shape(), dims(&[Some(3), None]));
    assert_eq!(
        a.matmul(ph(&g, "m", &[3, 5])).shape(),
        dims(&[None, Some(5)])
    );
    assert_eq!(a.broadcast_to(&[2, 3]).shape(), Shape::known(&[2, 3]));
    assert!(g.check().is_ok());
}

#[test]
fn reshape_infers_minus_one_and_rejects_bad_dims() {
    let g = Graph::new();
    let x = ph(&g, "x", &[2, 3, 4]);
    let ok = |d: &[i64]| g.try_reshape(x, d).unwrap().shape();
    assert_eq!(ok(&[-1]), Shape::known(&[24]));
    assert_eq!(ok(&[4, -1]), Shape::known(&[4, 6]));
    assert_eq!(ok(&[-1, 1, 2]), Shape::known(&[12, 1, 2]));
    for bad in [
        &[5, -1][..],
        &[-1, -1],
        &[25],
        &[2, -2, 6],
        &[0, -1],
        &[2, 3],
    ] {
        match g.try_reshape(x, bad) {
            Err(GraphError::Reshape { from, to }) => {
                assert_eq!(from, Shape::known(&[2, 3, 4]));
                assert_eq!(to, bad.to_vec());
            }
            other => panic!("reshape {bad:?}: {other:?}"),
        }
    }
    // an empty tensor reshapes to any shape with zero elements
    let e = ph(&g, "e", &[0, 3]);
    assert_eq!(
        g.try_reshape(e, &[3, 0, 7]).unwrap().shape(),
        Shape::known(&[3, 0, 7])
    );
    // unknown dims: resolved at run time, and a mismatch is a run-time error
    let u = g.placeholder("u", DType::F64, dims(&[None, Some(3)]));
    let r = u.reshape(&[-1, 2]);
    let r4 = u.reshape(&[4, -1]);
    let mut sess = Session::new(&g);
    let out = sess
        .run(&[r], &[(u, ArrayD::<f64>::zeros(IxDyn(&[4, 3])))])
        .unwrap();
    assert_eq!(out[0].shape(), &[6, 2]);
    let err = sess
        .run(&[r4], &[(u, ArrayD::<f64>::zeros(IxDyn(&[5, 3])))])
        .unwrap_err();
    match &err {
        ExecError::Interp(InterpError::Shape { what, detail }) => {
            assert!(what.contains("reshape"), "{what}");
            assert!(detail.contains("[5, 3]"), "{detail}");
        }
        other => panic!("expected a run-time reshape error, got {other:?}"),
    }
}

#[test]
fn transpose_rejects_non_permutations() {
    let g = Graph::new();
    let x = ph(&g, "x", &[2, 3]);
    let y = ph(&g, "y", &[2, 3, 4]);
    for (t, perm, rank) in [
        (x, &[0, 0][..], 2),
        (x, &[0, 2], 2),
        (y, &[1, 0], 3),
        (x, &[2, 0, 1], 2),
    ] {
        assert_eq!(
            g.try_transpose(t, Some(perm)).unwrap_err(),
            GraphError::Permutation {
                perm: perm.to_vec(),
                rank
            },
            "perm {perm:?}"
        );
    }
    assert_eq!(
        g.try_transpose(y, Some(&[2, 0, 1])).unwrap().shape(),
        Shape::known(&[4, 2, 3])
    );
    assert_eq!(
        g.try_transpose(y, None).unwrap().shape(),
        Shape::known(&[4, 3, 2])
    );
}

#[test]
fn broadcast_errors() {
    let g = Graph::new();
    let a = ph(&g, "a", &[2, 3]);
    let b = ph(&g, "b", &[3, 2]);
    let err = g.try_binary(BinaryOp::Add, a, b).unwrap_err();
    match &err {
        GraphError::Broadcast {
            op: "add",
            lhs,
            rhs,
            a: x,
            b: y,
        } => {
            assert_eq!((lhs, rhs), (&Shape::known(&[2, 3]), &Shape::known(&[3, 2])));
            // the sizes of one aligned axis that do not match
            assert!([(2, 3), (3, 2)].contains(&(*x, *y)), "{err:?}");
        }
        other => panic!("expected a broadcast error, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("add") && msg.contains("[2, 3]") && msg.contains("[3, 2]"),
        "{msg}"
    );
    let c = ph(&g, "c", &[4]);
    assert!(matches!(
        g.try_select(c, a, a),
        Err(GraphError::Broadcast { op: "where", .. })
    ));
    for (from, to) in [(&[3][..], &[4][..]), (&[2, 3], &[3]), (&[2, 1], &[3, 1])] {
        let t = ph(&g, &format!("t{from:?}"), from);
        let r = g.try_op(Op::BroadcastTo { dims: to.to_vec() }, &[t]);
        assert_eq!(
            r.unwrap_err(),
            GraphError::BroadcastTo {
                op: "broadcast_to",
                from: Shape::known(from),
                to: Shape::known(to)
            }
        );
    }
    // dtypes do not mix
    let f = g.placeholder("f", DType::F32, Shape::known(&[2, 3]));
    assert_eq!(
        g.try_binary(BinaryOp::Mul, a, f).unwrap_err(),
        GraphError::DType {
            op: "mul",
            a: DType::F64,
            b: DType::F32
        }
    );
}

#[test]
fn matmul_shape_errors() {
    let g = Graph::new();
    let v = ph(&g, "v", &[3]);
    let m23 = ph(&g, "m23", &[2, 3]);
    let m45 = ph(&g, "m45", &[4, 5]);
    let m34 = ph(&g, "m34", &[3, 4]);
    assert_eq!(
        g.try_matmul(v, m34).unwrap_err(),
        GraphError::MatMulRank {
            shape: Shape::known(&[3])
        }
    );
    assert_eq!(
        g.try_matmul(m34, v).unwrap_err(),
        GraphError::MatMulRank {
            shape: Shape::known(&[3])
        }
    );
    assert_eq!(
        g.try_matmul(m23, m45).unwrap_err(),
        GraphError::MatMulInner {
            a: Shape::known(&[2, 3]),
            b: Shape::known(&[4, 5])
        }
    );
    let b223 = ph(&g, "b223", &[2, 2, 3]);
    let b334 = ph(&g, "b334", &[3, 3, 4]);
    assert!(matches!(
        g.try_matmul(b223, b334),
        Err(GraphError::Broadcast { op: "matmul", .. })
    ));
    let u = g.placeholder("u", DType::F64, Shape::unknown());
    assert!(matches!(
        g.try_matmul(u, m34),
        Err(GraphError::UnknownRank { op: "matmul", .. })
    ));
    assert_eq!(
        g.try_matmul(b223, m34).unwrap().shape(),
        Shape::known(&[2, 2, 4])
    );
}

#[test]
fn add_node_checks_arity_ids_and_internal_shapes() {
    let g = Graph::new();
    let x = ph(&g, "x", &[2, 3]);
    let y = ph(&g, "y", &[4]);
    assert_eq!(
        g.add_node(Op::Unary(UnaryOp::Sin), &[x.id(), x.id()])
            .unwrap_err(),
        GraphError::Arity {
            op: "sin",
            expected: 1,
            got: 2
        }
    );
    assert!(matches!(
        g.add_node(Op::Placeholder { name: "p".into() }, &[]),
        Err(GraphError::Arity { .. })
    ));
    let beyond = NodeId(1000);
    assert_eq!(
        g.add_node(Op::Unary(UnaryOp::Sin), &[beyond]).unwrap_err(),
        GraphError::UnknownNode(beyond)
    );
    // sum_to: the target must broadcast to the operand
    assert!(matches!(
        g.add_node(Op::SumTo, &[x.id(), y.id()]),
        Err(GraphError::BroadcastTo { .. })
    ));
    assert!(matches!(
        g.add_node(Op::BroadcastLike, &[y.id(), x.id()]),
        Err(GraphError::BroadcastTo { .. })
    ));
    assert!(matches!(
        g.add_node(Op::ReshapeLike, &[x.id(), y.id()]),
        Err(GraphError::Reshape { .. })
    ));
    assert!(matches!(
        g.add_node(Op::ExpandDims { axes: vec![5] }, &[x.id()]),
        Err(GraphError::Axis { .. })
    ));
    assert!(matches!(
        g.add_node(
            Op::Count {
                axes: Some(vec![2])
            },
            &[x.id()]
        ),
        Err(GraphError::Axis { .. })
    ));
    // a constant through add_node is f64
    let c = g.add_node(Op::Constant(Literal::scalar(1.5)), &[]).unwrap();
    assert_eq!(g.node(c).dtype, DType::F64);
    // tensors of another graph
    let h = Graph::new();
    let hx = ph(&h, "x", &[2, 3]);
    assert_eq!(
        g.try_binary(BinaryOp::Add, x, hx).unwrap_err(),
        GraphError::ForeignTensor
    );
    assert!(g.check().is_ok());
    let _ = x + hx; // through an operator: recorded in the graph
    assert_eq!(g.check().unwrap_err(), GraphError::ForeignTensor);
}

#[test]
fn hash_consing_shares_identical_nodes() {
    let g = Graph::new();
    let x = ph(&g, "x", &[3]);
    let y = ph(&g, "y", &[3]);
    let a = x * x;
    let n = g.len();
    let b = x * x;
    assert_eq!(a.id(), b.id(), "x*x built twice is one node");
    assert_eq!(g.len(), n, "no node was added");
    assert_eq!(
        g.try_unary(UnaryOp::Sin, a).unwrap().id(),
        a.sin().id(),
        "same op and inputs"
    );
    assert_ne!((x * y).id(), (x + y).id(), "different ops");
    assert_ne!((x - y).id(), (y - x).id(), "different input order");
    assert_ne!(
        x.reduce_axes(ReduceOp::Sum, &[0], true).id(),
        x.reduce_axes(ReduceOp::Sum, &[0], false).id(),
        "different attributes"
    );
    // normalized axes are the same attribute
    assert_eq!(
        x.reduce_axes(ReduceOp::Sum, &[-1], false).id(),
        x.reduce_axes(ReduceOp::Sum, &[0], false).id()
    );

    // constants: by dtype, by bits, by shape
    let c32 = g.scalar(1.0, DType::F32);
    let c64 = g.scalar(1.0, DType::F64);
    assert_ne!(c32.id(), c64.id(), "constants of different dtype");
    assert_eq!(c32.dtype(), DType::F32);
    assert_eq!(c64.id(), g.scalar(1.0, DType::F64).id());
    assert_ne!(
        g.scalar(0.0, DType::F64).id(),
        g.scalar(-0.0, DType::F64).id(),
        "-0.0 and 0.0 are different constants"
    );
    assert_eq!(
        g.scalar(f64::NAN, DType::F64).id(),
        g.scalar(f64::NAN, DType::F64).id(),
        "a NaN constant is itself"
    );
    assert_ne!(
        g.constant(&arr(&[1], &[1.0])).id(),
        c64.id(),
        "a [1] constant is not a scalar"
    );
    assert_eq!(
        g.constant(&arr(&[2], &[1.0, 2.0])).id(),
        g.constant(&arr(&[2], &[1.0, 2.0])).id()
    );
    assert_ne!(
        g.constant(&arr(&[2], &[1.0, 2.0])).id(),
        g.constant(&arr(&[2], &[2.0, 1.0])).id()
    );
    // values are rounded to the dtype before they are compared
    assert_eq!(
        g.scalar(0.1, DType::F32).id(),
        g.scalar(0.1f32 as f64, DType::F32).id()
    );
    assert_ne!(
        g.scalar(0.1, DType::F64).id(),
        g.scalar(0.1f32 as f64, DType::F64).id()
    );
    // x * 2.0 twice shares the constant and the product
    assert_eq!((x * 2.0_f64).id(), (x * 2.0_f64).id());
}

#[test]
fn placeholders_are_unique_by_name() {
    let g = Graph::new();
    let x = ph(&g, "x", &[3]);
    assert_eq!(ph(&g, "x", &[3]).id(), x.id());
    assert_eq!(
        g.try_placeholder("x", DType::F64, Shape::known(&[4]))
            .unwrap_err(),
        GraphError::DuplicatePlaceholder { name: "x".into() }
    );
    assert_eq!(
        g.try_placeholder("x", DType::F32, Shape::known(&[3]))
            .unwrap_err(),
        GraphError::DuplicatePlaceholder { name: "x".into() }
    );
    assert_eq!(g.placeholder_named("x"), Some(x.id()));
    assert!(g.check().is_ok());
    // the non-try form records the clash
    let again = g.placeholder("x", DType::F64, Shape::unknown());
    assert_eq!(again.id(), x.id());
    assert!(matches!(
        g.check(),
        Err(GraphError::DuplicatePlaceholder { .. })
    ));
}

#[test]
fn gradients_built_twice_reuse_their_nodes() {
    let g = Graph::new();
    let x = ph(&g, "x", &[3]);
    let y = (x * x + x.sin()).sum();
    let d1 = g.gradients(&[y], &[x]).unwrap()[0].unwrap();
    let n = g.len();
    let d2 = g.gradients(&[y], &[x]).unwrap()[0].unwrap();
    assert_eq!(d1.id(), d2.id());
    assert_eq!(g.len(), n);
}

#[test]
fn unknown_dims_are_checked_when_fed() {
    let g = Graph::new();
    let p = g.placeholder("p", DType::F64, dims(&[None, Some(3)]));
    let u = g.placeholder("u", DType::F64, Shape::unknown());
    let y = p.sum();
    let z = u.sum();
    let mut sess = Session::new(&g);
    for rows in [1, 5] {
        let v = ArrayD::<f64>::ones(IxDyn(&[rows, 3]));
        let out = sess.run(&[y], &[(p, v)]).unwrap();
        assert_eq!(out[0].to_f64_vec(), vec![3.0 * rows as f64]);
    }
    for bad in [&[5, 4][..], &[3], &[1, 3, 1]] {
        let err = sess
            .run(&[y], &[(p, ArrayD::<f64>::ones(IxDyn(bad)))])
            .unwrap_err();
        assert_eq!(
            err,
            ExecError::Interp(InterpError::FeedShape {
                name: "p".into(),
                expected: dims(&[None, Some(3)]),
                got: bad.to_vec()
            })
        );
        assert!(err.to_string().contains("`p`"), "{err}");
    }
    // an unknown rank accepts any shape, a scalar included
    for shape in [&[][..], &[2], &[2, 2, 2]] {
        let v = ArrayD::<f64>::ones(IxDyn(shape));
        let n: usize = shape.iter().product();
        assert_eq!(
            sess.run(&[z], &[(u, v)]).unwrap()[0].to_f64_vec(),
            vec![n as f64]
        );
    }
}
