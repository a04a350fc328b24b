//! Threads: an `Executable` is `Send + Sync`, and many threads calling one
//! executable at once with different feeds each get their own correct
//! results (compared with the interpreter), through `run` and `run_into`,
//! single-threaded executables and multi-threaded ones alike.

use std::sync::Arc;

use gradjit::exec::{compile, CompileOptions, Executable, PARALLEL_THRESHOLD};
use gradjit::fuse::Fusion;
use gradjit::text::{parse, ParseOptions};
use gradjit::value::ValueViewMut;
use gradjit::{DType, Graph, NodeId, Session, Shape, Value};
use ndarray::{ArrayD, IxDyn};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Executable>();
    send_sync::<Arc<Executable>>();
};

struct Setup {
    exe: Arc<Executable>,
    /// Per feed set: the feeds in the executable's order, and the
    /// interpreter's outputs.
    cases: Vec<(Vec<Value>, Vec<Value>)>,
}

/// A program with fused kernels, reductions of each class, a library
/// matrix product, and its gradient.
fn setup(n: usize, dtype: DType, threads: usize, fusion: Fusion, sets: usize) -> Setup {
    let g = Graph::new();
    let mut opts = ParseOptions::new(dtype);
    opts.input_shapes.insert("x".into(), Shape::known(&[4, n]));
    opts.input_shapes.insert("w".into(), Shape::known(&[n]));
    let p = parse(
        &g,
        "h = tanh(x * w) + exp(-abs(x))\n\
         r = sum(h, 1) + max(h, 1) * 0.5\n\
         c = mean(h, 0)\n\
         m = h @ transpose(h)\n\
         loss = sum(r) + sum(c * w) + sum(m)\n\
         grad(loss, w)",
        &opts,
    )
    .expect("parses");
    let fetch: Vec<NodeId> = vec![p.output, p.bindings["loss"], p.bindings["c"]];
    let ids: Vec<(String, NodeId)> = p.inputs.clone();
    let shapes: Vec<(NodeId, Vec<usize>)> = ids
        .iter()
        .map(|(name, id)| (*id, if name == "x" { vec![4, n] } else { vec![n] }))
        .collect();
    let exe = compile(
        &g,
        &fetch,
        &shapes,
        &CompileOptions {
            fusion,
            threads,
            ..CompileOptions::default()
        },
    )
    .expect("compiles");
    let mut rng = SmallRng::seed_from_u64(n as u64);
    let cases = (0..sets)
        .map(|_| {
            let by_name: Vec<(String, Value)> = ids
                .iter()
                .map(|(name, _)| {
                    let shape = if name == "x" { vec![4, n] } else { vec![n] };
                    let len = shape.iter().product();
                    let data: Vec<f64> = (0..len).map(|_| rng.gen_range(-2.0..2.0)).collect();
                    let a = ArrayD::from_shape_vec(IxDyn(&shape), data).expect("sizes");
                    (name.clone(), Value::from_f64_array(a, dtype))
                })
                .collect();
            let feeds: Vec<(gradjit::Tensor<'_>, &Value)> = ids
                .iter()
                .zip(&by_name)
                .map(|((_, id), (_, v))| (g.tensor(*id), v))
                .collect();
            let t: Vec<_> = fetch.iter().map(|&f| g.tensor(f)).collect();
            let want = Session::new(&g).run(&t, &feeds).expect("interpreter");
            let ordered = exe
                .inputs()
                .iter()
                .map(|(name, _)| {
                    by_name
                        .iter()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.clone())
                        .expect("fed")
                })
                .collect();
            (ordered, want)
        })
        .collect();
    Setup {
        exe: Arc::new(exe),
        cases,
    }
}

fn agree(want: &[Value], got: &[Value], what: &str) {
    assert_eq!(want.len(), got.len(), "{what}");
    for (k, (w, h)) in want.iter().zip(got).enumerate() {
        assert_eq!(w.shape(), h.shape(), "{what}: output {k}");
        let rtol = if w.dtype() == DType::F32 { 1e-4 } else { 1e-11 };
        let scale = w.to_f64_vec().iter().fold(1.0f64, |m, v| m.max(v.abs()));
        for (i, (p, q)) in w.to_f64_vec().iter().zip(h.to_f64_vec()).enumerate() {
            assert!(
                (p - q).abs() <= rtol * scale,
                "{what}: output {k}[{i}]: interp {p}, native {q}"
            );
        }
    }
}

/// 8 threads × `calls` calls on one executable, each thread cycling
/// through the feed sets in its own order, through `run` and `run_into`.
fn hammer(s: &Setup, threads: usize, calls: usize, what: &str) {
    std::thread::scope(|scope| {
        for t in 0..threads {
            let s = &s;
            scope.spawn(move || {
                let mut outs: Vec<Value> = s.cases[0].1.clone();
                for c in 0..calls {
                    let (feeds, want) = &s.cases[(c * (t + 1) + t) % s.cases.len()];
                    let views: Vec<_> = feeds.iter().map(Value::view).collect();
                    if c % 2 == 0 {
                        let got = s.exe.run(&views).expect("runs");
                        agree(want, &got, what);
                    } else {
                        {
                            let mut mv: Vec<ValueViewMut<'_>> =
                                outs.iter_mut().map(Value::view_mut).collect();
                            s.exe.run_into(&views, &mut mv).expect("runs");
                        }
                        agree(want, &outs, what);
                    }
                }
            });
        }
    });
}

#[test]
fn eight_threads_a_thousand_calls_each() {
    for dtype in [DType::F32, DType::F64] {
        let s = setup(37, dtype, 1, Fusion::Fused, 16);
        hammer(&s, 8, 1000, &format!("{dtype} fused"));
    }
    let s = setup(9, DType::F32, 1, Fusion::Unfused, 8);
    hammer(&s, 8, 250, "unfused");
}

/// Executables that themselves split large kernels across a thread pool,
/// called from 8 threads at once.
#[test]
fn eight_threads_calling_a_multithreaded_executable() {
    // enough work (elements times operations) that the pool is used
    let n = PARALLEL_THRESHOLD + 7;
    let s = setup(n, DType::F64, 2, Fusion::Fused, 4);
    hammer(&s, 8, 12, "jit-mt");
}
