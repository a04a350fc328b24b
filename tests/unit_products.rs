//! Matrix products with a dimension of 1 (outer products, matrix-vector,
//! `transpose(A) @ v`, row vector times matrix) are compiled as elementwise
//! work fused with their neighbours. Every native engine must give the
//! interpreter's values (up to summation order: a relative tolerance scaled
//! by the number of terms), at sizes around the vector width and unroll
//! factor, in both dtypes, with elementwise work before and after the
//! product and the product itself fetched.

use gradjit::exec::Engine;
use gradjit::graph::{BinaryOp, DType, Graph, NodeId, Op, UnaryOp};
use gradjit::{Session, Shape, Value};
use ndarray::{ArrayD, IxDyn};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

const ENGINES: [Engine; 3] = [Engine::Jit, Engine::JitUnfused, Engine::JitMt];

#[derive(Clone, Copy, Debug)]
enum Form {
    Outer,
    MatVec,
    TransposedMatVec,
    RowTimesMatrix,
}

fn feed(rng: &mut SmallRng, dims: &[usize], dtype: DType) -> Value {
    let n: usize = dims.iter().product();
    let v: Vec<f64> = (0..n).map(|_| rng.gen_range(-1.0..1.0)).collect();
    match dtype {
        DType::F32 => Value::F32(
            ArrayD::from_shape_vec(IxDyn(dims), v.iter().map(|&x| x as f32).collect()).unwrap(),
        ),
        DType::F64 => Value::F64(ArrayD::from_shape_vec(IxDyn(dims), v).unwrap()),
    }
}

/// A program: its graph, its placeholders with their shapes, its fetches.
type Program = (Graph, Vec<(NodeId, Vec<usize>)>, Vec<NodeId>);

/// `tanh(a) @ b` in the given form, then `sigmoid(p) * p` after it;
/// fetches the product and the work after it.
fn program(form: Form, m: usize, k: usize, dtype: DType) -> Program {
    let g = Graph::new();
    let p =
        |name: &str, d: Vec<usize>| (g.add_placeholder(name, dtype, Shape::known(&d)).unwrap(), d);
    let node = |op, args: &[NodeId]| g.add_node(op, args).unwrap();
    let (a, b) = match form {
        Form::Outer => (p("a", vec![m, 1]), p("b", vec![1, k])),
        Form::MatVec => (p("a", vec![m, k]), p("b", vec![k, 1])),
        Form::TransposedMatVec => (p("a", vec![k, m]), p("b", vec![k, 1])),
        Form::RowTimesMatrix => (p("a", vec![1, k]), p("b", vec![k, m])),
    };
    let ta = node(Op::Unary(UnaryOp::Tanh), &[a.0]);
    let left = match form {
        Form::TransposedMatVec => node(Op::Transpose { perm: None }, &[ta]),
        _ => ta,
    };
    let prod = node(Op::MatMul, &[left, b.0]);
    let after = node(Op::Unary(UnaryOp::Sigmoid), &[prod]);
    let after = node(Op::Binary(BinaryOp::Mul), &[after, prod]);
    (g, vec![a, b], vec![prod, after])
}

fn close(want: f64, got: f64, terms: usize, dtype: DType) -> bool {
    if want.is_nan() {
        return got.is_nan();
    }
    let eps = match dtype {
        DType::F32 => f32::EPSILON as f64,
        DType::F64 => f64::EPSILON,
    };
    // |a|,|b| <= 1: each sum is within terms * eps of its exact value
    (want - got).abs() <= 4.0 * eps * (terms as f64 + 4.0)
}

fn check(form: Form, m: usize, k: usize, dtype: DType, rng: &mut SmallRng) {
    let (g, phs, fetches) = program(form, m, k, dtype);
    let feeds: Vec<(NodeId, Value)> = phs
        .iter()
        .map(|(id, d)| (*id, feed(rng, d, dtype)))
        .collect();
    let t: Vec<_> = fetches.iter().map(|&id| g.tensor(id)).collect();
    let f: Vec<_> = feeds.iter().map(|(id, v)| (g.tensor(*id), v)).collect();
    let want = Session::new(&g).run(&t, &f).unwrap();
    let terms = match form {
        Form::Outer => 1,
        _ => k,
    };
    for engine in ENGINES {
        let got = Session::with_engine(&g, engine).run(&t, &f).unwrap();
        for (j, (w, h)) in want.iter().zip(&got).enumerate() {
            assert_eq!(
                w.shape(),
                h.shape(),
                "{form:?} {m}x{k} {dtype:?} {engine} fetch {j}"
            );
            for (i, (p, q)) in w.to_f64_vec().iter().zip(h.to_f64_vec()).enumerate() {
                assert!(
                    close(*p, q, terms, dtype),
                    "{form:?} m={m} k={k} {dtype:?} {engine} fetch {j}[{i}]: interp {p:e}, native {q:e}"
                );
            }
        }
    }
}

#[test]
fn unit_products_agree_with_the_interpreter() {
    let mut rng = SmallRng::seed_from_u64(11);
    let sizes = [2, 3, 4, 5, 7, 8, 9, 16, 17, 33, 64, 65];
    for dtype in [DType::F32, DType::F64] {
        for form in [
            Form::Outer,
            Form::MatVec,
            Form::TransposedMatVec,
            Form::RowTimesMatrix,
        ] {
            for &m in &sizes {
                for &k in &sizes {
                    check(form, m, k, dtype, &mut rng);
                }
            }
            // large enough for the multi-threaded path
            check(form, 20_000, 64, dtype, &mut rng);
        }
    }
}
