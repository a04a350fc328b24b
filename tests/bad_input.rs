//! Bad input, everywhere: the library and the command return errors, never
//! panic, for wrong dtypes and shapes, empty arrays and zero-length
//! dimensions, NaN and infinities, non-contiguous and negatively strided
//! views, shapes too large to exist, and bad option values; zero-size
//! tensors compute correctly on every engine (sums of nothing are 0, means
//! are NaN as in NumPy, max is -inf as in TensorFlow).

use std::process::Command;

use gradjit::exec::{compile, CompileOptions, Engine, ENGINES};
use gradjit::graph::{BinaryOp, Op, ReduceOp, UnaryOp, MAX_ELEMENTS};
use gradjit::text::{parse, ParseOptions};
use gradjit::value::ValueViewMut;
use gradjit::{DType, ExecError, Graph, NodeId, Session, Shape, Value};
use ndarray::{s, Array, ArrayD, IxDyn};

fn reduce(g: &Graph, op: ReduceOp, x: NodeId, axes: Option<Vec<usize>>) -> NodeId {
    g.add_node(
        Op::Reduce {
            op,
            axes,
            keepdims: false,
        },
        &[x],
    )
    .unwrap()
}

/// Runs `fetch` on every engine; each must give a value.
fn on_every_engine(g: &Graph, fetch: &[NodeId], feeds: &[(NodeId, Value)]) -> Vec<Vec<Value>> {
    let t: Vec<_> = fetch.iter().map(|&f| g.tensor(f)).collect();
    let f: Vec<_> = feeds.iter().map(|(id, v)| (g.tensor(*id), v)).collect();
    ENGINES
        .iter()
        .map(|&e| {
            Session::with_engine(g, e)
                .run(&t, &f)
                .unwrap_or_else(|err| panic!("{e}: {err}"))
        })
        .collect()
}

/// Runs on every engine; each must fail.
fn fails_on_every_engine(g: &Graph, fetch: &[NodeId], feeds: &[(NodeId, Value)]) {
    let t: Vec<_> = fetch.iter().map(|&f| g.tensor(f)).collect();
    let f: Vec<_> = feeds.iter().map(|(id, v)| (g.tensor(*id), v)).collect();
    for e in ENGINES {
        assert!(
            Session::with_engine(g, e).run(&t, &f).is_err(),
            "{e} must fail"
        );
    }
}

fn same_bits(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| (x.is_nan() && y.is_nan()) || x.to_bits() == y.to_bits())
}

#[test]
fn zero_size_tensors_on_every_engine() {
    for dtype in [DType::F32, DType::F64] {
        for shape in [vec![0], vec![0, 5], vec![5, 0], vec![2, 0, 3], vec![0, 0]] {
            let g = Graph::new();
            let x = g.add_placeholder("x", dtype, Shape::known(&shape)).unwrap();
            let t = g.add_node(Op::Unary(UnaryOp::Tanh), &[x]).unwrap();
            let e = g.add_node(Op::Binary(BinaryOp::Mul), &[t, x]).unwrap();
            let sum = reduce(&g, ReduceOp::Sum, e, None);
            let mean = reduce(&g, ReduceOp::Mean, e, None);
            let max = reduce(&g, ReduceOp::Max, e, None);
            let min = reduce(&g, ReduceOp::Min, e, None);
            let lse = reduce(&g, ReduceOp::LogSumExp, e, None);
            let last = shape.len() - 1;
            let rows = reduce(&g, ReduceOp::Mean, e, Some(vec![last]));
            let cols = reduce(&g, ReduceOp::Sum, e, Some(vec![0]));
            let fetch = [e, sum, mean, max, min, lse, rows, cols];
            let zeros = Value::from_f64_array(ArrayD::zeros(IxDyn(&shape)), dtype);
            let results = on_every_engine(&g, &fetch, &[(x, zeros)]);
            for (engine, r) in ENGINES.iter().zip(&results) {
                let v: Vec<Vec<f64>> = r.iter().map(Value::to_f64_vec).collect();
                assert_eq!(r[0].shape(), &shape[..], "{engine}");
                assert!(v[0].is_empty());
                assert_eq!(v[1], vec![0.0], "{engine} {shape:?}: sum of nothing");
                assert!(v[2][0].is_nan(), "{engine} {shape:?}: mean of nothing");
                assert_eq!(v[3], vec![f64::NEG_INFINITY], "{engine}: max of nothing");
                assert_eq!(v[4], vec![f64::INFINITY], "{engine}: min of nothing");
                assert_eq!(v[5], vec![f64::NEG_INFINITY], "{engine}: logsumexp");
                let kept: usize = shape[..last].iter().product();
                assert_eq!(v[6].len(), kept, "{engine}");
                if shape[last] == 0 {
                    assert!(
                        v[6].iter().all(|m| m.is_nan()),
                        "{engine}: means of empty rows"
                    );
                }
                let kept: usize = shape[1..].iter().product();
                assert_eq!(v[7].len(), kept, "{engine}");
                if shape[0] == 0 {
                    assert!(
                        v[7].iter().all(|m| *m == 0.0),
                        "{engine}: sums of empty columns"
                    );
                }
                for (a, b) in v.iter().zip(results[0].iter().map(Value::to_f64_vec)) {
                    assert!(same_bits(a, &b), "{engine} differs from interp");
                }
            }
        }
    }
}

#[test]
fn empty_matrix_products_are_zeros() {
    for dtype in [DType::F32, DType::F64] {
        let g = Graph::new();
        let a = g
            .add_placeholder("a", dtype, Shape::known(&[2, 0]))
            .unwrap();
        let b = g
            .add_placeholder("b", dtype, Shape::known(&[0, 3]))
            .unwrap();
        let m = g.add_node(Op::MatMul, &[a, b]).unwrap();
        let feeds = [
            (
                a,
                Value::from_f64_array(ArrayD::zeros(IxDyn(&[2, 0])), dtype),
            ),
            (
                b,
                Value::from_f64_array(ArrayD::zeros(IxDyn(&[0, 3])), dtype),
            ),
        ];
        for r in on_every_engine(&g, &[m], &feeds) {
            assert_eq!(r[0].shape(), &[2, 3]);
            assert_eq!(r[0].to_f64_vec(), vec![0.0; 6]);
        }
    }
}

#[test]
fn nan_and_infinities_pass_through_every_engine() {
    let specials = [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        -0.0,
        0.0,
        f64::MAX,
        f64::MIN_POSITIVE,
        1e-310,
    ];
    for dtype in [DType::F32, DType::F64] {
        let g = Graph::new();
        let x = g.add_placeholder("x", dtype, Shape::known(&[8])).unwrap();
        let mut fetch = vec![];
        for u in gradjit::graph::UNARY_OPS {
            fetch.push(g.add_node(Op::Unary(u), &[x]).unwrap());
        }
        fetch.push(reduce(&g, ReduceOp::Sum, x, None));
        fetch.push(reduce(&g, ReduceOp::Max, x, None));
        fetch.push(reduce(&g, ReduceOp::LogSumExp, x, None));
        let v = Value::from_f64_array(
            ArrayD::from_shape_vec(vec![8], specials.to_vec()).unwrap(),
            dtype,
        );
        let results = on_every_engine(&g, &fetch, &[(x, v)]);
        for (engine, r) in ENGINES.iter().zip(&results) {
            for (k, (a, b)) in r.iter().zip(&results[0]).enumerate() {
                // NaN where the interpreter has NaN, infinities where it has them
                for (p, q) in b.to_f64_vec().iter().zip(a.to_f64_vec()) {
                    assert_eq!(p.is_nan(), q.is_nan(), "{engine} fetch {k}: {p} vs {q}");
                    if p.is_infinite() {
                        assert_eq!(*p, q, "{engine} fetch {k}");
                    }
                }
            }
        }
    }
}

#[test]
fn wrong_dtype_shape_and_count_of_feeds_are_errors() {
    let g = Graph::new();
    let x = g
        .add_placeholder("x", DType::F32, Shape::known(&[3]))
        .unwrap();
    let y = g.add_node(Op::Unary(UnaryOp::Exp), &[x]).unwrap();
    let f64s = Value::F64(ArrayD::zeros(IxDyn(&[3])));
    let short = Value::F32(ArrayD::zeros(IxDyn(&[2])));
    let rank2 = Value::F32(ArrayD::zeros(IxDyn(&[3, 1])));
    for v in [&f64s, &short, &rank2] {
        fails_on_every_engine(&g, &[y], &[(x, v.clone())]);
    }
    fails_on_every_engine(&g, &[y], &[]);
    // a feed for a node that is not a placeholder, and a feed given twice
    let ok = Value::F32(ArrayD::zeros(IxDyn(&[3])));
    fails_on_every_engine(&g, &[y], &[(y, ok.clone())]);
    fails_on_every_engine(&g, &[y], &[(x, ok.clone()), (x, ok.clone())]);

    // an executable checks everything at each call
    let exe = compile(&g, &[y], &[(x, vec![3])], &CompileOptions::default()).unwrap();
    assert!(matches!(
        exe.run(&[f64s.view()]),
        Err(ExecError::FeedDTypeAt { .. })
    ));
    assert!(matches!(
        exe.run(&[short.view()]),
        Err(ExecError::FeedShapeChanged { .. })
    ));
    assert!(matches!(
        exe.run(&[rank2.view()]),
        Err(ExecError::FeedShapeChanged { .. })
    ));
    assert!(matches!(exe.run(&[]), Err(ExecError::FeedCount { .. })));
    assert!(matches!(
        exe.run(&[ok.view(), ok.view()]),
        Err(ExecError::FeedCount { .. })
    ));
    // run_into: wrong count, shape, dtype and layout of outputs
    let mut good = Array::<f32, _>::zeros(IxDyn(&[3]));
    let mut wrong_shape = Array::<f32, _>::zeros(IxDyn(&[4]));
    let mut wrong_dtype = Array::<f64, _>::zeros(IxDyn(&[3]));
    let mut strided = Array::<f32, _>::zeros(IxDyn(&[6]));
    assert!(exe.run_into(&[ok.view()], &mut []).is_err());
    assert!(exe
        .run_into(
            &[ok.view()],
            &mut [ValueViewMut::F32(wrong_shape.view_mut())]
        )
        .is_err());
    assert!(exe
        .run_into(
            &[ok.view()],
            &mut [ValueViewMut::F64(wrong_dtype.view_mut())]
        )
        .is_err());
    let every_other = strided.slice_mut(s![..;2]).into_dyn();
    assert!(matches!(
        exe.run_into(&[ok.view()], &mut [ValueViewMut::F32(every_other)]),
        Err(ExecError::OutputLayout { .. })
    ));
    exe.run_into(&[ok.view()], &mut [ValueViewMut::F32(good.view_mut())])
        .unwrap();
    assert_eq!(good.as_slice().unwrap(), &[1.0, 1.0, 1.0]);
}

/// Feeds in any memory layout: transposed, every other element, reversed
/// (negative strides), broadcast (zero strides), and a view into the
/// middle of a larger array.
#[test]
fn non_contiguous_and_negatively_strided_views() {
    let base = Array::from_shape_fn((6, 8), |(i, j)| (i * 8 + j) as f64 * 0.25 - 3.0);
    let views: Vec<(&str, ndarray::ArrayViewD<'_, f64>)> = vec![
        ("transposed", base.t().into_dyn()),
        ("every other row", base.slice(s![..;2, ..]).into_dyn()),
        ("every other column", base.slice(s![.., 1..;2]).into_dyn()),
        ("reversed rows", base.slice(s![..;-1, ..]).into_dyn()),
        ("reversed both", base.slice(s![..;-1, ..;-3]).into_dyn()),
        ("inner block", base.slice(s![1..5, 2..7]).into_dyn()),
        ("one column", base.slice(s![.., 3..4]).into_dyn()),
    ];
    let row = ndarray::arr1(&[1.0, -2.0, 0.5]);
    let broadcast = row.broadcast((4, 3)).unwrap().into_dyn();
    let mut all = views;
    all.push(("broadcast (zero strides)", broadcast));
    for (what, v) in all {
        let shape = v.shape().to_vec();
        let g = Graph::new();
        let x = g
            .add_placeholder("x", DType::F64, Shape::known(&shape))
            .unwrap();
        let t = g.add_node(Op::Unary(UnaryOp::Tanh), &[x]).unwrap();
        let y = g.add_node(Op::Binary(BinaryOp::Add), &[t, x]).unwrap();
        let s = reduce(&g, ReduceOp::Sum, y, Some(vec![0]));
        let tr = g.add_node(Op::Transpose { perm: None }, &[x]).unwrap();
        let m = g.add_node(Op::MatMul, &[tr, x]).unwrap();
        let owned = Value::F64(v.to_owned());
        let want = Session::new(&g)
            .run(
                &[g.tensor(y), g.tensor(s), g.tensor(m)],
                &[(g.tensor(x), &owned)],
            )
            .unwrap();
        for engine in ENGINES {
            let got = Session::with_engine(&g, engine)
                .run(
                    &[g.tensor(y), g.tensor(s), g.tensor(m)],
                    &[(g.tensor(x), v.view())],
                )
                .unwrap_or_else(|e| panic!("{what} on {engine}: {e}"));
            for (a, b) in want.iter().zip(&got) {
                assert_eq!(a.shape(), b.shape(), "{what} on {engine}");
                for (p, q) in a.to_f64_vec().iter().zip(b.to_f64_vec()) {
                    assert!(
                        (p - q).abs() <= 1e-12 * p.abs().max(1.0),
                        "{what} on {engine}: {p} vs {q}"
                    );
                }
            }
        }
    }
}

#[test]
fn shapes_too_large_to_exist_are_errors() {
    let g = Graph::new();
    // at build time: static shapes whose count overflows, or whose bytes do
    assert!(g
        .add_placeholder("p", DType::F32, Shape::known(&[usize::MAX, 2]))
        .is_err());
    assert!(g
        .add_placeholder("q", DType::F32, Shape::known(&[MAX_ELEMENTS + 1]))
        .is_err());
    let x = g
        .add_placeholder("x", DType::F32, Shape::unknown())
        .unwrap();
    assert!(g
        .add_node(
            Op::BroadcastTo {
                dims: vec![1 << 62]
            },
            &[x]
        )
        .is_err());
    assert!(g
        .add_node(
            Op::BroadcastTo {
                dims: vec![1 << 32, 1 << 32]
            },
            &[x]
        )
        .is_err());
    // at compile time: feed shapes that overflow
    let y = g.add_node(Op::Unary(UnaryOp::Exp), &[x]).unwrap();
    for dims in [vec![usize::MAX, 2], vec![1 << 62], vec![1 << 40, 1 << 40]] {
        assert!(compile(&g, &[y], &[(x, dims)], &CompileOptions::default()).is_err());
    }
    // at run time: a zero-size feed of huge extent whose reduction would not be
    let big = g
        .add_placeholder("big", DType::F32, Shape::of_rank(2))
        .unwrap();
    let r = reduce(&g, ReduceOp::Sum, big, Some(vec![1]));
    let empty = Value::F32(ArrayD::zeros(IxDyn(&[1 << 62, 0])));
    fails_on_every_engine(&g, &[r], &[(big, empty)]);
    // and a shape that exists but that no machine can hold (400 GB)
    let b = g
        .add_node(
            Op::BroadcastTo {
                dims: vec![100_000_000_000],
            },
            &[x],
        )
        .unwrap();
    let s = reduce(&g, ReduceOp::Sum, b, None);
    let one = Value::F32(ArrayD::from_elem(IxDyn(&[]), 1.0));
    fails_on_every_engine(&g, &[s], &[(x, one)]);
}

#[test]
fn program_text_with_huge_shapes_is_an_error() {
    for src in [
        "broadcast_to(x, [4611686018427387904])",
        "broadcast_to(x, [18446744073709551615, 2])",
        "reshape(x, [4294967296, 4294967296])",
        "sum(broadcast_to(x, [100000000000]))",
        "fill(1, [4294967296, 4294967296])",
        "broadcast_to(x, [1e3])",
    ] {
        for dtype in [DType::F32, DType::F64] {
            let g = Graph::new();
            let Ok(p) = parse(&g, src, &ParseOptions::new(dtype)) else {
                continue;
            };
            let Some(&(_, x)) = p.inputs.first() else {
                continue;
            };
            let one = Value::from_f64_array(ArrayD::from_elem(IxDyn(&[]), 1.0), dtype);
            fails_on_every_engine(&g, &[p.output], &[(x, one)]);
        }
    }
}

#[test]
fn thread_counts_beyond_reason_are_errors() {
    let g = Graph::new();
    let x = g
        .add_placeholder("x", DType::F32, Shape::known(&[3]))
        .unwrap();
    let y = g.add_node(Op::Unary(UnaryOp::Exp), &[x]).unwrap();
    let opts = CompileOptions {
        threads: 1_000_000,
        ..CompileOptions::default()
    };
    assert!(matches!(
        compile(&g, &[y], &[(x, vec![3])], &opts),
        Err(ExecError::Threads(_))
    ));
    let mut sess = Session::with_engine(&g, Engine::JitMt);
    sess.set_threads(1_000_000);
    let v = Value::F32(ArrayD::zeros(IxDyn(&[3])));
    assert!(sess.run(&[g.tensor(y)], &[(g.tensor(x), &v)]).is_err());
}

/// Runs the command; returns (exit code, stdout, stderr).
fn cli(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gradjit"))
        .args(args)
        .output()
        .expect("the command runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_command_rejects_bad_input_with_exit_2_and_one_line() {
    let cases: &[&[&str]] = &[
        &["eval", "x", "--feed", "x=1", "--dtype", "f16"],
        &["eval", "x", "--feed", "x=1", "--engine", "foo"],
        &["eval", "x", "--feed", "x"],
        &["eval", "x", "--feed", "=1"],
        &["eval", "x", "--feed", "x=[[1],[2,3]]"],
        &["eval", "x", "--feed", "x=[1,[2]]"],
        &["eval", "x", "--feed", "x=@/nonexistent/file.npy"],
        &["eval", "x", "--feed", "x=rand(99999999999,99999999999)"],
        &["eval", "x", "--feed", "x=rand(18446744073709551616)"],
        &["eval", "x", "--feed", "x=rand(-1)"],
        &["eval", "x", "--feed", "x=rand(3"],
        &["eval", "x", "--feed", "x=1e400"],
        &["eval", "x", "--feed", "x=\"hello\""],
        &["eval", "x", "--feed", "x=1", "--feed", "x=2"],
        &["eval", "x", "--feed", "y=1"],
        &["eval", "x"],
        &["eval", ""],
        &["eval", "@/nonexistent/program"],
        &["eval", "x\u{1}", "--feed", "x=1"],
        &["eval", "x + y", "--feed", "x=[1,2]", "--feed", "y=[1,2,3]"],
        &["eval", "sum(x, 5)", "--feed", "x=[1,2]"],
        &["eval", "broadcast_to(x, [100000000000])", "--feed", "x=1"],
        &[
            "eval",
            "broadcast_to(x, [4611686018427387904])",
            "--feed",
            "x=1",
        ],
        &["eval", "x", "--feed", "x=1", "--ys", "nope"],
        &[
            "grad",
            "x*x",
            "--wrt",
            "x",
            "--feed",
            "x=1",
            "--grad-ys",
            "[1,2]",
        ],
        &[
            "grad",
            "x*x",
            "--wrt",
            "x",
            "--feed",
            "x=1",
            "--grad-ys",
            "1;2",
        ],
        &[
            "grad",
            "x*x",
            "--wrt",
            "x",
            "--feed",
            "x=1",
            "--grad-ys",
            "nan;",
        ],
        &["grad", "x*x", "--wrt", "q", "--feed", "x=1"],
        &["grad", "x*x", "--wrt", "x", "--feed", "x=1", "--stop", "q"],
        &[
            "grad",
            "x*x",
            "--wrt",
            "x",
            "--feed",
            "x=1",
            "--unconnected",
            "maybe",
        ],
        &[
            "grad", "floor(x)", "--wrt", "x", "--feed", "x=1", "--ys", "x,q",
        ],
        &[
            "show",
            "x*x",
            "--feed",
            "x=1",
            "--dot",
            "/nonexistent/dir/f.dot",
        ],
        &["show", "x*", "--feed", "x=1"],
        &["bench", "x*x", "--feed", "x=1", "--threads", "0"],
        &[
            "bench",
            "x*x",
            "--feed",
            "x=1",
            "--threads",
            "1000000",
            "--engine",
            "jit-mt",
        ],
        &[
            "bench",
            "x*x",
            "--feed",
            "x=1",
            "--repeat",
            "18446744073709551616",
        ],
        &["bench", "x*x", "--feed", "x=1", "--engine", "jit,nope"],
        &["frobnicate"],
        &[],
    ];
    for args in cases {
        let (code, _, err) = cli(args);
        assert_eq!(code, Some(2), "{args:?}: exit {code:?}, stderr {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: stderr {err}");
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn the_command_computes_zero_size_and_special_values() {
    for engine in ["interp", "jit", "jit-unfused", "jit-mt"] {
        let (code, out, err) = cli(&[
            "eval",
            "a = sum(x); b = mean(x); c = mean(x, 1); d = max(x, 0); e = x @ transpose(x)",
            "--ys",
            "a,b,c,d,e",
            "--feed",
            "x=[[],[]]",
            "--json",
            "--engine",
            engine,
        ]);
        assert_eq!(code, Some(0), "{engine}: {err}");
        assert_eq!(
            out.trim(),
            r#"{"outputs": {"a": 0, "b": "nan", "c": ["nan", "nan"], "d": [], "e": [[0, 0], [0, 0]]}}"#,
            "{engine}"
        );
        let (code, out, err) = cli(&[
            "eval",
            "relu(x) + 0*x",
            "--feed",
            r#"x=["inf","-inf","nan",-0.0,1]"#,
            "--json",
            "--engine",
            engine,
        ]);
        assert_eq!(code, Some(0), "{engine}: {err}");
        assert_eq!(
            out.trim(),
            r#"{"outputs": {"y": ["nan", "nan", "nan", 0, 1]}}"#,
            "{engine}"
        );
    }
}
