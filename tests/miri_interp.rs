//! Small tests of the code that does not enter JIT code, sized to run under
//! Miri (`cargo +nightly miri test --test miri_interp`; see the README's
//! Guarantees): the interpreter and the planner over feeds in every memory
//! layout (transposed, strided, reversed, zero-strided, empty), where
//! `ndarray`'s and `matrixmultiply`'s unsafe code does the indexing. Miri
//! cannot execute the JIT's machine code, so the native engines are covered
//! by the guard-page harness instead. They run in plain `cargo test` too.

use gradjit::fuse::{plan, Fusion};
use gradjit::text::{parse, ParseOptions};
use gradjit::{DType, Graph, Session, Shape, Value};
use ndarray::{s, Array, ArrayD, IxDyn};

fn program(g: &Graph, shape: &[usize]) -> (gradjit::NodeId, gradjit::NodeId) {
    let mut opts = ParseOptions::new(DType::F64);
    opts.input_shapes.insert("x".into(), Shape::known(shape));
    let p = parse(
        g,
        "h = tanh(x) * x + 1\nm = transpose(h) @ h\nsum(m, 0) + mean(h) + max(h) + logsumexp(reshape(h, [-1]))",
        &opts,
    )
    .expect("parses");
    (p.inputs[0].1, p.output)
}

#[test]
fn interpreter_reads_views_of_every_layout() {
    let base = Array::from_shape_fn((4, 3), |(i, j)| (i * 3 + j) as f64 * 0.5 - 2.0);
    let row = ndarray::arr1(&[0.5, -1.0, 2.0]);
    let views = vec![
        base.view().into_dyn(),
        base.t().into_dyn(),
        base.slice(s![..;-1, ..]).into_dyn(),
        base.slice(s![..;2, ..;-1]).into_dyn(),
        base.slice(s![1..3, 1..]).into_dyn(),
        row.broadcast((4, 3)).expect("broadcasts").into_dyn(),
        base.slice(s![0..0, ..]).into_dyn(),
    ];
    for v in views {
        let g = Graph::new();
        let (x, y) = program(&g, v.shape());
        let owned = Value::F64(v.to_owned());
        let want = Session::new(&g)
            .run(&[g.tensor(y)], &[(g.tensor(x), &owned)])
            .expect("runs");
        let got = Session::new(&g)
            .run(&[g.tensor(y)], &[(g.tensor(x), v.view())])
            .expect("runs");
        // Miri perturbs std's math functions by an ulp or two on purpose
        let (w, h) = (want[0].to_f64_vec(), got[0].to_f64_vec());
        assert_eq!(w.len(), h.len());
        for (p, q) in w.iter().zip(&h) {
            assert!(
                (p.is_nan() && q.is_nan()) || (p - q).abs() <= 1e-12 * p.abs().max(1.0),
                "{p} vs {q}"
            );
        }
        // the planner over the same graph specialized to these shapes
        let p = plan(&g, &[y], Fusion::Fused).expect("plans");
        assert!(p.kernels().count() >= 1);
    }
}

#[test]
fn interpreter_handles_empty_and_huge_zero_size_feeds() {
    let g = Graph::new();
    let x = g.placeholder("x", DType::F32, Shape::of_rank(2));
    let s = x.reduce_axes(gradjit::graph::ReduceOp::Sum, &[1], false);
    let empty = ArrayD::<f32>::zeros(IxDyn(&[3, 0]));
    let out = Session::new(&g).run(&[s], &[(x, &empty)]).expect("runs");
    assert_eq!(out[0].to_f64_vec(), vec![0.0; 3]);
    let huge = ArrayD::<f32>::zeros(IxDyn(&[1 << 62, 0]));
    assert!(Session::new(&g).run(&[s], &[(x, &huge)]).is_err());
}
