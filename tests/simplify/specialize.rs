//! `extract`: dead-node removal and shape specialization.

use std::collections::HashMap;

use gradjit::graph::Origin;
use gradjit::simplify::{count_ops, extract, Pipeline, SimplifyError};
use gradjit::{DType, Graph, NodeId, Shape};

use super::{assert_same_bits, eval, random_feeds};

fn shapes(list: &[(&str, &[usize])]) -> HashMap<String, Shape> {
    list.iter()
        .map(|(n, d)| (n.to_string(), Shape::known(d)))
        .collect()
}

#[test]
fn unknown_dims_become_static_and_values_stay() {
    let g = Graph::new();
    let x = g.placeholder("x", DType::F64, Shape::of_rank(2));
    let w = g.placeholder("w", DType::F64, Shape::of_rank(2));
    let y = (x.matmul(w).tanh() * x.matmul(w)).sum();
    let grads: Vec<NodeId> = g
        .gradients(&[y], &[x, w])
        .unwrap()
        .into_iter()
        .map(|t| t.unwrap().id())
        .collect();
    let given = shapes(&[("x", &[5, 3]), ("w", &[3, 2])]);
    let (h, roots) = extract(&g, &grads, &given).unwrap();
    assert!(h.nodes().iter().all(|n| n.shape.is_concrete()));
    assert_eq!(h.node(roots[0]).shape, Shape::known(&[5, 3]));
    let feeds = random_feeds(&g, &|n| given[n].concrete().unwrap(), 7, false);
    let before = eval(&g, &grads, &feeds).unwrap();
    assert_same_bits(&before, &eval(&h, &roots, &feeds).unwrap(), "extract");
    // once shapes are static, every shape rule fires
    let loose = Pipeline::standard().run(&g, &grads).unwrap();
    let tight = Pipeline::standard().run(&h, &roots).unwrap();
    assert!(count_ops(&tight.graph, &tight.roots) < count_ops(&loose.graph, &loose.roots));
    assert_same_bits(
        &before,
        &eval(&tight.graph, &tight.roots, &feeds).unwrap(),
        "specialized and simplified",
    );
}

#[test]
fn contradictions_are_rejected() {
    let g = Graph::new();
    let x = g.placeholder("x", DType::F32, Shape::with_dims(vec![None, Some(3)]));
    let y = x.exp();
    for given in [shapes(&[("x", &[5, 4])]), shapes(&[("x", &[3])])] {
        match extract(&g, &[y.id()], &given) {
            Err(SimplifyError::ShapeContradiction { name, .. }) => assert_eq!(name, "x"),
            other => panic!("expected a contradiction, got {other:?}"),
        }
    }
    // shapes that fit each input but not each other
    let a = g.placeholder("a", DType::F32, Shape::of_rank(2));
    let b = g.placeholder("b", DType::F32, Shape::of_rank(2));
    let p = a.matmul(b);
    g.set_origin(p.id(), Origin { line: 2, column: 7 });
    let err = extract(&g, &[p.id()], &shapes(&[("a", &[2, 3]), ("b", &[4, 5])])).unwrap_err();
    assert!(matches!(err, SimplifyError::Specialize { .. }));
    assert!(err.to_string().contains("line 2, column 7"), "{err}");
}

#[test]
fn origins_are_kept_and_bad_roots_rejected() {
    let g = Graph::new();
    let x = g.placeholder("x", DType::F32, Shape::unknown());
    let y = x.sin();
    g.set_origin(y.id(), Origin { line: 3, column: 1 });
    let (h, roots) = extract(&g, &[y.id()], &shapes(&[("x", &[2]), ("unused", &[9])])).unwrap();
    assert_eq!(h.origin(roots[0]), Some(Origin { line: 3, column: 1 }));
    assert!(matches!(
        extract(&g, &[NodeId(99)], &HashMap::new()),
        Err(SimplifyError::UnknownNode(NodeId(99)))
    ));
    assert!(Pipeline::standard().run(&g, &[NodeId(99)]).is_err());
    // a graph holding a build error is refused
    let bad = x + g.placeholder("z", DType::F64, Shape::unknown());
    assert!(matches!(
        extract(&g, &[bad.id()], &HashMap::new()),
        Err(SimplifyError::Graph(_))
    ));
}
