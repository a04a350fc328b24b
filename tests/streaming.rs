//! Kernels whose outputs add up to 32 MiB or more (and that accumulate
//! nothing) write them through a per-thread scratch area and streaming
//! stores (`exec::stream`). These tests make outputs that large — one long
//! row, many rows with broadcast row and column inputs, both dtypes, one
//! thread and several, and a destination that is not 16-byte aligned — and
//! require the interpreter's values bit for bit (the operations have no
//! approximation).

use gradjit::exec::{compile, CompileOptions, Engine};
use gradjit::graph::{BinaryOp, DType, Graph, NodeId, Op, UnaryOp};
use gradjit::value::ValueViewMut;
use gradjit::{Session, Shape, Value};
use ndarray::{ArrayD, ArrayViewMutD, IxDyn};

fn value(dims: &[usize], dtype: DType, seed: u64) -> Value {
    let n: usize = dims.iter().product();
    let v: Vec<f64> = (0..n)
        .map(|i| (((i as u64).wrapping_mul(2654435761) ^ seed) % 2001) as f64 / 1000.0 - 1.0)
        .collect();
    match dtype {
        DType::F32 => Value::F32(
            ArrayD::from_shape_vec(IxDyn(dims), v.iter().map(|&x| x as f32).collect()).unwrap(),
        ),
        DType::F64 => Value::F64(ArrayD::from_shape_vec(IxDyn(dims), v).unwrap()),
    }
}

fn same(want: &Value, got: &Value, what: &str) {
    assert_eq!(want.shape(), got.shape(), "{what}");
    let (w, g) = (want.to_f64_vec(), got.to_f64_vec());
    if let Some(i) = (0..w.len()).find(|&i| w[i].to_bits() != g[i].to_bits()) {
        panic!("{what}: element {i}: interp {}, native {}", w[i], g[i]);
    }
}

fn bin(g: &Graph, op: BinaryOp, a: NodeId, b: NodeId) -> NodeId {
    g.add_node(Op::Binary(op), &[a, b]).unwrap()
}

/// Checks `fetches` on the interpreter against `jit` and `jit-mt`.
fn check(g: &Graph, fetches: &[NodeId], feeds: &[(NodeId, Value)], what: &str) {
    let t: Vec<_> = fetches.iter().map(|&id| g.tensor(id)).collect();
    let f: Vec<_> = feeds.iter().map(|(id, v)| (g.tensor(*id), v)).collect();
    let want = Session::new(g).run(&t, &f).unwrap();
    for engine in [Engine::Jit, Engine::JitMt] {
        let got = Session::with_engine(g, engine).run(&t, &f).unwrap();
        for (k, (w, h)) in want.iter().zip(&got).enumerate() {
            same(w, h, &format!("{what} {engine} fetch {k}"));
        }
    }
}

#[test]
fn one_long_row_in_both_dtypes() {
    for (dtype, n) in [(DType::F32, (1 << 23) + 5), (DType::F64, (1 << 22) + 3)] {
        let g = Graph::new();
        let x = g.add_placeholder("x", dtype, Shape::known(&[n])).unwrap();
        let three = g.add_scalar(3.0, dtype);
        let one = g.add_scalar(1.0, dtype);
        let y1 = bin(&g, BinaryOp::Add, bin(&g, BinaryOp::Mul, x, three), one);
        let y2 = bin(&g, BinaryOp::Mul, x, x);
        check(
            &g,
            &[y1, y2],
            &[(x, value(&[n], dtype, 1))],
            &format!("{dtype:?}"),
        );
    }
}

#[test]
fn many_rows_with_broadcast_inputs() {
    let (rows, cols) = (4099, 2051);
    let g = Graph::new();
    let dtype = DType::F32;
    let a = g
        .add_placeholder("a", dtype, Shape::known(&[rows, cols]))
        .unwrap();
    let r = g
        .add_placeholder("r", dtype, Shape::known(&[cols]))
        .unwrap();
    let c = g
        .add_placeholder("c", dtype, Shape::known(&[rows, 1]))
        .unwrap();
    let y = bin(&g, BinaryOp::Add, a, bin(&g, BinaryOp::Mul, r, c));
    let y = g.add_node(Op::Unary(UnaryOp::Neg), &[y]).unwrap();
    check(
        &g,
        &[y],
        &[
            (a, value(&[rows, cols], dtype, 2)),
            (r, value(&[cols], dtype, 3)),
            (c, value(&[rows, 1], dtype, 4)),
        ],
        "rows",
    );
}

#[test]
fn a_destination_that_is_not_aligned() {
    let n = (1 << 23) + 7;
    let g = Graph::new();
    let x = g
        .add_placeholder("x", DType::F32, Shape::known(&[n]))
        .unwrap();
    let y = bin(&g, BinaryOp::Sub, x, bin(&g, BinaryOp::Mul, x, x));
    let feed = value(&[n], DType::F32, 5);
    let want = Session::new(&g)
        .run(&[g.tensor(y)], &[(g.tensor(x), &feed)])
        .unwrap()
        .remove(0);
    for threads in [1, 2] {
        let exe = compile(
            &g,
            &[y],
            &[(x, vec![n])],
            &CompileOptions {
                threads,
                ..CompileOptions::default()
            },
        )
        .unwrap();
        // a start 4 or 8 bytes past a 16-byte boundary
        let mut buf = vec![0f32; n + 2];
        let o = if (buf.as_ptr() as usize + 4) % 16 == 0 {
            2
        } else {
            1
        };
        let view = ArrayViewMutD::from_shape(IxDyn(&[n]), &mut buf[o..o + n]).unwrap();
        assert_ne!(view.as_ptr() as usize % 16, 0);
        exe.run_into(&[feed.view()], &mut [ValueViewMut::from(view)])
            .unwrap();
        let got = Value::F32(ArrayD::from_shape_vec(IxDyn(&[n]), buf[o..o + n].to_vec()).unwrap());
        same(&want, &got, &format!("threads={threads}"));
    }
}
