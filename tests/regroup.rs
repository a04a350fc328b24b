//! Fusion's second thoughts (`fuse::regroup`): a cheap value read by one
//! later kernel is recomputed there instead of stored and loaded, and
//! kernels of one shape that read a common input run as one. Each test
//! checks the plan and that every native engine still computes the
//! interpreter's values.

use gradjit::exec::{compile, CompileOptions, Engine};
use gradjit::graph::{BinaryOp, DType, Graph, NodeId, Op, ReduceOp, UnaryOp};
use gradjit::{Session, Shape, Value};
use ndarray::{ArrayD, IxDyn};

const N: usize = 1003;

fn x_feed() -> Value {
    let v: Vec<f32> = (0..N).map(|i| ((i as f32) * 0.37).sin() * 2.0).collect();
    Value::F32(ArrayD::from_shape_vec(IxDyn(&[N]), v).unwrap())
}

fn agree(g: &Graph, x: NodeId, fetches: &[NodeId]) {
    let feed = x_feed();
    let t: Vec<_> = fetches.iter().map(|&id| g.tensor(id)).collect();
    let want = Session::new(g).run(&t, &[(g.tensor(x), &feed)]).unwrap();
    for engine in [Engine::Jit, Engine::JitUnfused, Engine::JitMt] {
        let got = Session::with_engine(g, engine)
            .run(&t, &[(g.tensor(x), &feed)])
            .unwrap();
        for (w, h) in want.iter().zip(&got) {
            for (p, q) in w.to_f64_vec().iter().zip(h.to_f64_vec()) {
                assert!(
                    (p - q).abs() <= 1e-5 * (1.0 + p.abs()),
                    "{engine}: {p} vs {q}"
                );
            }
        }
    }
}

fn sum_all(g: &Graph, x: NodeId) -> NodeId {
    g.add_node(
        Op::Reduce {
            op: ReduceOp::Sum,
            axes: None,
            keepdims: false,
        },
        &[x],
    )
    .unwrap()
}

fn setup() -> (Graph, NodeId) {
    let g = Graph::new();
    let x = g
        .add_placeholder("x", DType::F32, Shape::known(&[N]))
        .unwrap();
    (g, x)
}

#[test]
fn siblings_reading_one_input_are_one_kernel() {
    let (g, x) = setup();
    let a = g.add_node(Op::Unary(UnaryOp::Exp), &[x]).unwrap();
    let b = g.add_node(Op::Unary(UnaryOp::Sin), &[x]).unwrap();
    let exe = compile(&g, &[a, b], &[(x, vec![N])], &CompileOptions::default()).unwrap();
    assert_eq!(exe.kernels().len(), 1);
    agree(&g, x, &[a, b]);
}

#[test]
fn a_cheap_value_read_by_a_later_kernel_is_recomputed_there() {
    // t = tanh(x) (fetched); u = 1 - t*t; s = sum(t) (a reduction, so the
    // kernel reading it runs later); v = u * s
    let (g, x) = setup();
    let t = g.add_node(Op::Unary(UnaryOp::Tanh), &[x]).unwrap();
    let tt = g.add_node(Op::Binary(BinaryOp::Mul), &[t, t]).unwrap();
    let one = g.add_scalar(1.0, DType::F32);
    let u = g.add_node(Op::Binary(BinaryOp::Sub), &[one, tt]).unwrap();
    let s = sum_all(&g, t);
    let v = g.add_node(Op::Binary(BinaryOp::Mul), &[u, s]).unwrap();
    let exe = compile(&g, &[t, v], &[(x, vec![N])], &CompileOptions::default()).unwrap();
    let kernels = exe.kernels();
    assert_eq!(kernels.len(), 2);
    // the first kernel stores t only; the second reads t, not 1 - t*t
    let first = &kernels[0];
    let second = &kernels[1];
    assert_eq!(first.outputs.len(), 1, "{:?}", first.outputs);
    assert!(second.members.len() >= 3, "{:?}", second.members);
    agree(&g, x, &[t, v]);
}

#[test]
fn an_expensive_value_is_not_recomputed() {
    // as above with u = exp(t): stored once, not computed twice
    let (g, x) = setup();
    let t = g.add_node(Op::Unary(UnaryOp::Tanh), &[x]).unwrap();
    let u = g.add_node(Op::Unary(UnaryOp::Exp), &[t]).unwrap();
    let s = sum_all(&g, t);
    let v = g.add_node(Op::Binary(BinaryOp::Mul), &[u, s]).unwrap();
    let exe = compile(&g, &[t, v], &[(x, vec![N])], &CompileOptions::default()).unwrap();
    assert_eq!(exe.kernels()[0].outputs.len(), 2);
    agree(&g, x, &[t, v]);
}
