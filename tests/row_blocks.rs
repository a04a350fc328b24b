//! Steps that share a leading batch axis run block of rows by block of
//! rows (`Executable::row_blocks`): matrix products with the elementwise
//! work around them, products that contract the batch, reductions over the
//! batch (whole, per column, means, max) and per-row results that live in a
//! block-sized buffer. Every case must give the interpreter's values, with
//! blocks of unequal height (odd batch sizes), in both dtypes, on 1, 2 and
//! 3 threads, and must actually run in blocks.

mod common;

use common::{compile_text, in_feed_order, random_value};
use gradjit::{DType, Graph, Session, Value};
use rand::rngs::SmallRng;
use rand::SeedableRng;

/// A program, the inputs its gradients are taken with respect to, its
/// feeds (name, shape).
type Case<'a> = (&'a str, &'a [&'a str], &'a [(&'a str, &'a [usize])]);

/// Compiles the case's output and gradients on `threads` threads, checks
/// they run in blocks, and compares every value with the interpreter's.
/// `terms`: the most terms any result sums (its rounding scales with it).
fn check(case: &Case, dtype: DType, threads: usize, terms: usize, rng: &mut SmallRng) {
    check_with(case, dtype, threads, terms, rng, true);
}

/// [`check`], requiring blocks only when `blocked` (a random program may
/// be too narrow to fill two blocks).
fn check_with(
    case: &Case,
    dtype: DType,
    threads: usize,
    terms: usize,
    rng: &mut SmallRng,
    blocked: bool,
) {
    let (text, wrt, feeds) = case;
    let values: Vec<Value> = feeds
        .iter()
        .map(|(_, d)| random_value(rng, d, dtype))
        .collect();
    let c = compile_text(text, wrt, feeds, dtype, threads);
    let (g, fetches, exe) = (&c.graph, &c.fetches, &c.exe);
    assert!(
        !blocked || exe.row_blocks().iter().any(|r| r.blocks >= 2),
        "{text}: nothing runs in blocks of rows"
    );
    let names: Vec<&str> = feeds.iter().map(|(n, _)| *n).collect();
    let views = in_feed_order(exe, &names, &values);
    // twice: a call must not depend on what an earlier one left in the
    // executable's buffers
    let first = exe.run(&views).unwrap();
    let got = exe.run(&views).unwrap();
    for (j, (a, b)) in first.iter().zip(&got).enumerate() {
        let (a, b) = (a.to_f64_vec(), b.to_f64_vec());
        let differs = a
            .iter()
            .zip(&b)
            .position(|(x, y)| x.to_bits() != y.to_bits());
        assert!(
            differs.is_none(),
            "{text}: a second call differs at fetch {j}[{differs:?}]"
        );
    }
    let t: Vec<_> = fetches.iter().map(|&id| g.tensor(id)).collect();
    let f: Vec<_> = feeds
        .iter()
        .zip(&values)
        .map(|((n, _), v)| (g.tensor(c.input(n)), v))
        .collect();
    let want = Session::new(g).run(&t, &f).unwrap();
    let eps = match dtype {
        DType::F32 => f32::EPSILON as f64,
        DType::F64 => f64::EPSILON,
    };
    for (j, (w, h)) in want.iter().zip(&got).enumerate() {
        assert_eq!(w.shape(), h.shape(), "{text} fetch {j}");
        let (w, h) = (w.to_f64_vec(), h.to_f64_vec());
        // sums of terms of magnitude up to `scale`, each term rounded
        let scale = w.iter().fold(1.0f64, |m, v| m.max(v.abs()));
        for (i, (p, q)) in w.iter().zip(&h).enumerate() {
            let tol = 8.0 * eps * (terms as f64 + 8.0) * scale;
            assert!(
                (p - q).abs() <= tol,
                "{text} {dtype:?} threads={threads} fetch {j}[{i}]: interp {p:e}, native {q:e}"
            );
        }
    }
}

const N: usize = 3001;

const B4: &str = "h = tanh(X @ W1 + b1); o = h @ W2 + b2; loss = mean((o - T)**2)";
const B4_WRT: [&str; 4] = ["W1", "b1", "W2", "b2"];

/// B4's inputs with `n` rows, 12 features and 20 hidden units.
fn b4_feeds(n: usize) -> [(&'static str, Vec<usize>); 6] {
    [
        ("X", vec![n, 12]),
        ("W1", vec![12, 20]),
        ("b1", vec![20]),
        ("W2", vec![20, 1]),
        ("b2", vec![1]),
        ("T", vec![n, 1]),
    ]
}

/// `(name, shape)` pairs as `compile_text` takes them.
fn refs<'a>(feeds: &'a [(&'static str, Vec<usize>)]) -> Vec<(&'static str, &'a [usize])> {
    feeds.iter().map(|(n, d)| (*n, d.as_slice())).collect()
}

/// For values too narrow to fill several blocks of [`N`] rows.
const LONG: usize = 20_011;

#[test]
fn row_blocked_runs_agree_with_the_interpreter() {
    let cases: &[(Case, usize)] = &[
        // B4: product, bias and tanh, a unit product, the loss, and the
        // gradient's product that contracts the batch
        (
            (
                "h = tanh(X @ W1 + b1); o = h @ W2 + b2; loss = mean((o - T)**2)",
                &["W1", "b1", "W2", "b2"],
                &[
                    ("X", &[N, 12]),
                    ("W1", &[12, 20]),
                    ("b1", &[20]),
                    ("W2", &[20, 1]),
                    ("b2", &[1]),
                    ("T", &[N, 1]),
                ],
            ),
            N * 20,
        ),
        // a product fetched with the work after it
        (
            (
                "p = X @ W; y = p + sigmoid(p + b) * 2",
                &[],
                &[("X", &[N, 7]), ("W", &[7, 9]), ("b", &[9])],
            ),
            7,
        ),
        // a product contracting the batch
        (
            (
                "y = transpose(X) @ tanh(X @ W)",
                &[],
                &[("X", &[LONG, 5]), ("W", &[5, 6])],
            ),
            LONG * 5,
        ),
        // reductions over the batch: per column, whole (mean, max), and a
        // per-row mean that lives in a block-sized buffer
        (
            (
                "a = tanh(X @ W); r = mean(a, 1, 1); c = max(a - r, 0); y = sum(c) + mean(a * r)",
                &["W"],
                &[("X", &[N, 6]), ("W", &[6, 10])],
            ),
            N * 10,
        ),
        // a step that cannot run in blocks before one that can
        (
            (
                "y = transpose(A) @ transpose(B); h = tanh(X @ W); loss = sum(y) + sum(h)",
                &[],
                &[
                    ("A", &[4096, 8]),
                    ("B", &[8, 4096]),
                    ("X", &[4096, 16]),
                    ("W", &[16, 16]),
                ],
            ),
            4096 * 16,
        ),
        // a middle axis reduced while the batch axis is kept: the kernel
        // adds into each block's rows, several blocks per chunk
        (
            (
                "s = sum(tanh(T), 1) + max(-exp(T), 1); y = tanh(s @ W)",
                &[],
                &[("T", &[LONG, 8, 8]), ("W", &[8, 5])],
            ),
            64,
        ),
    ];
    let mut rng = SmallRng::seed_from_u64(7);
    for dtype in [DType::F32, DType::F64] {
        for threads in [1, 2, 3] {
            for (case, terms) in cases {
                check(case, dtype, threads, *terms, &mut rng);
            }
        }
    }
}

#[test]
fn a_training_step_of_b4_is_one_pass_over_the_batch() {
    // forward product, its bias and tanh, the unit product, the loss, the
    // backward kernels and the product contracting the batch, in one run;
    // the reshapes of the bias gradients run after it
    let c = compile_text(B4, &B4_WRT, &refs(&b4_feeds(N)), DType::F32, 1);
    let runs = c.exe.row_blocks();
    assert_eq!(runs.len(), 1, "{runs:?}");
    // two products and the kernels between them
    assert!(runs[0].steps >= 2 + c.exe.kernels().len(), "{runs:?}");
    assert_eq!(runs[0].rows, N);
}

#[test]
fn products_with_large_whole_operands_run_whole() {
    // W (300 x 300) would be repacked for every block of a few dozen rows
    let feeds: [(&str, &[usize]); 2] = [("X", &[4096, 300]), ("W", &[300, 300])];
    let c = compile_text("y = tanh(X @ W) * 2", &[], &feeds, DType::F32, 1);
    assert!(c.exe.row_blocks().is_empty(), "{:?}", c.exe.row_blocks());
}

#[test]
fn small_batches_run_whole() {
    let feeds: [(&str, &[usize]); 2] = [("X", &[100, 4]), ("W", &[4, 3])];
    let c = compile_text("y = tanh(X @ W)", &[], &feeds, DType::F32, 1);
    assert!(c.exe.row_blocks().is_empty());
}

mod random_programs {
    use super::*;
    use proptest::prelude::*;

    const ACTIVATIONS: [&str; 5] = ["tanh", "sigmoid", "relu", "softplus", "exp"];
    const LOSSES: [&str; 4] = ["mean", "sum", "max", "logsumexp"];

    /// A two-layer network of random widths and functions, with a loss
    /// reduced over the batch in one of several ways, and its gradients.
    fn program(act: usize, act2: usize, loss: usize, axis: bool) -> String {
        let (f, g, r) = (ACTIVATIONS[act], ACTIVATIONS[act2], LOSSES[loss]);
        let arg = |x: &str| match f {
            "exp" => format!("exp(-({x})*({x}))"),
            _ => format!("{f}({x})"),
        };
        let h = arg("X @ W1 + b1");
        let out = match g {
            "exp" => "exp(-o*o)".to_string(),
            _ => format!("{g}(o)"),
        };
        let reduce = if axis {
            format!("sum({r}({out} * T, 0))")
        } else {
            format!("{r}({out} * T)")
        };
        format!("h = {h}; o = h @ W2 + b2; loss = {reduce} + mean(h, [0, 1])")
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
        #[test]
        fn random_networks_agree_with_the_interpreter(
            n in 1024usize..5000,
            d in 1usize..24,
            hidden in 1usize..40,
            outs in 1usize..4,
            act in 0usize..5,
            act2 in 0usize..5,
            loss in 0usize..4,
            axis in any::<bool>(),
            f64s in any::<bool>(),
            threads in 1usize..3,
            seed in any::<u64>(),
        ) {
            let text = program(act, act2, loss, axis);
            let feeds: [(&str, &[usize]); 6] = [
                ("X", &[n, d]),
                ("W1", &[d, hidden]),
                ("b1", &[hidden]),
                ("W2", &[hidden, outs]),
                ("b2", &[outs]),
                ("T", &[n, outs]),
            ];
            let case: Case = (&text, &["W1", "b1", "W2", "b2"], &feeds);
            let dtype = if f64s { DType::F64 } else { DType::F32 };
            let mut rng = SmallRng::seed_from_u64(seed);
            check_with(&case, dtype, threads, n * hidden.max(d), &mut rng, false);
        }
    }
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    // chunks of blocks are fixed by the shapes: any number of threads
    // combines the same partial results in the same order
    let text = format!("{B4} + max(h)");
    let feeds = b4_feeds(20_011);
    let names: Vec<&str> = feeds.iter().map(|(n, _)| *n).collect();
    for dtype in [DType::F32, DType::F64] {
        let mut rng = SmallRng::seed_from_u64(3);
        let values: Vec<Value> = feeds
            .iter()
            .map(|(_, d)| random_value(&mut rng, d, dtype))
            .collect();
        let mut first: Option<Vec<Vec<u64>>> = None;
        for threads in [1, 2, 3, 4] {
            let exe = compile_text(&text, &B4_WRT, &refs(&feeds), dtype, threads).exe;
            assert!(exe.row_blocks().iter().any(|r| r.blocks >= 4));
            let views = in_feed_order(&exe, &names, &values);
            let bits: Vec<Vec<u64>> = exe
                .run(&views)
                .unwrap()
                .iter()
                .map(|v| v.to_f64_vec().iter().map(|x| x.to_bits()).collect())
                .collect();
            match &first {
                None => first = Some(bits),
                Some(f) => assert!(f == &bits, "{dtype:?}: {threads} threads differ from one"),
            }
        }
    }
}

#[test]
fn a_plan_of_another_graph_has_no_runs() {
    use gradjit::fuse::{plan, Fusion};
    use gradjit::text::{parse, ParseOptions};
    use gradjit::Shape;
    let g = Graph::new();
    let mut opts = ParseOptions::default();
    for (n, d) in [("X", vec![4096, 8]), ("W", vec![8, 8])] {
        opts.input_shapes.insert(n.to_string(), Shape::known(&d));
    }
    let prog = parse(&g, "y = sum(tanh(X @ W) * 2)", &opts).unwrap();
    let mut p = plan(&g, &[prog.output], Fusion::Fused).unwrap();
    // a graph with fewer nodes than the plan names: refused, not a panic
    let other = Graph::new();
    assert!(gradjit::exec::row_blocks(&other, &mut p, DType::F32).is_empty());
    assert!(!p.steps.is_empty());
}

#[test]
fn concurrent_calls_each_get_the_same_bits() {
    // each call takes a workspace of its own, chunk buffers included
    let feeds = b4_feeds(N);
    let names: Vec<&str> = feeds.iter().map(|(n, _)| *n).collect();
    let exe = compile_text(B4, &B4_WRT, &refs(&feeds), DType::F32, 2).exe;
    assert!(exe.row_blocks().iter().any(|r| r.blocks >= 2));
    let mut rng = SmallRng::seed_from_u64(5);
    let values: Vec<Value> = feeds
        .iter()
        .map(|(_, d)| random_value(&mut rng, d, DType::F32))
        .collect();
    let bits = |out: Vec<Value>| -> Vec<Vec<u64>> {
        out.iter()
            .map(|v| v.to_f64_vec().iter().map(|x| x.to_bits()).collect())
            .collect()
    };
    let want = bits(exe.run(&in_feed_order(&exe, &names, &values)).unwrap());
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                let views = in_feed_order(&exe, &names, &values);
                for _ in 0..20 {
                    assert!(bits(exe.run(&views).unwrap()) == want);
                }
            });
        }
    });
}
