//! Differential tests: every native engine against the reference
//! interpreter, on every elementwise op, both dtypes, lengths around the
//! vector width and unroll factor, broadcasting, and random graphs.
//!
//! Ops without an approximation must agree bit for bit (NaN with NaN);
//! approximated ops within the ulp bound documented in `jit::math` (2 ulp
//! f32, 4 ulp f64 against std) plus the interpreter's own rounding, so
//! 4 ulp f32 and 8 ulp f64 here.

mod math_support;
use gradjit::exec::{compile, CompileOptions, Engine};
use gradjit::graph::{BinaryOp, DType, Graph, NodeId, Op, UnaryOp, BINARY_OPS, UNARY_OPS};
use gradjit::{Session, Shape, Value};
use math_support::{ulp32, ulp64};
use ndarray::ArrayD;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestRunner};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

const LENGTHS: [usize; 20] = [
    0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 70, 1000,
];
const ENGINES: [Engine; 3] = [Engine::Jit, Engine::JitUnfused, Engine::JitMt];

/// Distance in representable values of the dtype (0 for two NaNs).
fn ulps(a: f64, b: f64, dtype: DType) -> u64 {
    match dtype {
        DType::F32 => ulp32(a as f32, b as f32),
        DType::F64 => ulp64(a, b),
    }
}

fn special_values(rng: &mut SmallRng, n: usize, dtype: DType) -> Vec<f64> {
    let specials = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        0.5,
        2.0,
        100.0,
        -100.0,
        1e-30,
        -3.5,
    ];
    (0..n)
        .map(|_| {
            let v = if rng.gen_bool(0.2) {
                specials[rng.gen_range(0..specials.len())]
            } else {
                rng.gen_range(-4.0..4.0)
            };
            dtype.round(v)
        })
        .collect()
}

fn value(data: Vec<f64>, shape: &[usize], dtype: DType) -> Value {
    let a = ArrayD::from_shape_vec(shape.to_vec(), data).expect("shape matches data");
    Value::from_f64_array(a, dtype)
}

/// Runs fetches on the interpreter and every native engine and compares.
fn check(
    g: &Graph,
    fetch: &[NodeId],
    feeds: &[(NodeId, Value)],
    tol: &dyn Fn(usize) -> u64,
) -> Result<(), String> {
    let t: Vec<_> = fetch.iter().map(|&id| g.tensor(id)).collect();
    let f: Vec<_> = feeds.iter().map(|(id, v)| (g.tensor(*id), v)).collect();
    let want = Session::new(g).run(&t, &f).map_err(|e| e.to_string())?;
    let dtype = want[0].dtype();
    for engine in ENGINES {
        let got = Session::with_engine(g, engine)
            .run(&t, &f)
            .map_err(|e| format!("{engine}: {e}"))?;
        for (k, (w, h)) in want.iter().zip(&got).enumerate() {
            if w.shape() != h.shape() {
                return Err(format!(
                    "{engine}: fetch {k} shape {:?} vs {:?}",
                    h.shape(),
                    w.shape()
                ));
            }
            for (i, (p, q)) in w.to_f64_vec().iter().zip(h.to_f64_vec()).enumerate() {
                let d = ulps(*p, q, dtype);
                if d > tol(k) {
                    return Err(format!(
                        "{engine}: fetch {k} element {i}: interp {p:e}, native {q:e} ({d} ulp)"
                    ));
                }
            }
        }
    }
    Ok(())
}

fn bound(dtype: DType, approx: bool) -> u64 {
    match (approx, dtype) {
        (false, _) => 0,
        (true, DType::F32) => 4,
        (true, DType::F64) => 8,
    }
}

#[test]
fn every_unary_op_at_every_length() {
    let mut rng = SmallRng::seed_from_u64(1);
    for dtype in [DType::F32, DType::F64] {
        for op in UNARY_OPS {
            for n in LENGTHS {
                let g = Graph::new();
                let x = g.add_placeholder("x", dtype, Shape::known(&[n])).unwrap();
                let y = g.add_node(Op::Unary(op), &[x]).unwrap();
                let feeds = vec![(x, value(special_values(&mut rng, n, dtype), &[n], dtype))];
                let b = bound(dtype, op.facts().approximated);
                check(&g, &[y], &feeds, &|_| b)
                    .unwrap_or_else(|e| panic!("{op:?} {dtype} n={n}: {e}"));
            }
        }
    }
}

#[test]
fn every_binary_op_with_every_broadcast_pattern() {
    let mut rng = SmallRng::seed_from_u64(2);
    let patterns: [(&[usize], &[usize]); 7] = [
        (&[37], &[37]),
        (&[5, 9], &[9]),
        (&[5, 9], &[5, 1]),
        (&[5, 9], &[]),
        (&[], &[6, 3]),
        (&[2, 1, 7], &[2, 3, 7]),
        (&[4, 1], &[1, 6]),
    ];
    for dtype in [DType::F32, DType::F64] {
        for op in BINARY_OPS {
            for (sa, sb) in patterns {
                let g = Graph::new();
                let a = g.add_placeholder("a", dtype, Shape::known(sa)).unwrap();
                let b = g.add_placeholder("b", dtype, Shape::known(sb)).unwrap();
                let y = g.add_node(Op::Binary(op), &[a, b]).unwrap();
                let na: usize = sa.iter().product();
                let nb: usize = sb.iter().product();
                let feeds = vec![
                    (a, value(special_values(&mut rng, na, dtype), sa, dtype)),
                    (b, value(special_values(&mut rng, nb, dtype), sb, dtype)),
                ];
                let tol = bound(dtype, op.facts().approximated);
                check(&g, &[y], &feeds, &|_| tol)
                    .unwrap_or_else(|e| panic!("{op:?} {dtype} {sa:?} {sb:?}: {e}"));
            }
        }
    }
}

#[test]
fn where_broadcasts_all_three_operands() {
    let mut rng = SmallRng::seed_from_u64(3);
    for dtype in [DType::F32, DType::F64] {
        let g = Graph::new();
        let c = g
            .add_placeholder("c", dtype, Shape::known(&[4, 1]))
            .unwrap();
        let a = g.add_placeholder("a", dtype, Shape::known(&[13])).unwrap();
        let b = g.add_placeholder("b", dtype, Shape::known(&[])).unwrap();
        let y = g.add_node(Op::Where, &[c, a, b]).unwrap();
        let feeds = vec![
            (c, value(vec![0.0, 1.0, f64::NAN, -0.0], &[4, 1], dtype)),
            (a, value(special_values(&mut rng, 13, dtype), &[13], dtype)),
            (b, value(vec![7.0], &[], dtype)),
        ];
        check(&g, &[y], &feeds, &|_| 0).unwrap();
    }
}

/// A random elementwise graph: inputs of broadcast-compatible shapes, a
/// chain of random ops, some intermediates fetched too.
fn random_graph(seed: u64, dtype: DType, exact_only: bool) -> Result<(), String> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let rows = [1, 3, 4, 5][rng.gen_range(0..4)];
    let cols = LENGTHS[rng.gen_range(0..LENGTHS.len())];
    let full = [rows, cols];
    let shapes: [&[usize]; 4] = [&full, &full[1..], &[], &[rows, 1]];
    let g = Graph::new();
    let mut feeds = Vec::new();
    let mut pool: Vec<NodeId> = Vec::new();
    for k in 0..rng.gen_range(1..4) {
        let shape = if k == 0 {
            &full[..]
        } else {
            shapes[rng.gen_range(0..4)]
        };
        let id = g
            .add_placeholder(&format!("x{k}"), dtype, Shape::known(shape))
            .map_err(|e| e.to_string())?;
        let n: usize = shape.iter().product();
        feeds.push((id, value(special_values(&mut rng, n, dtype), shape, dtype)));
        pool.push(id);
    }
    pool.push(g.add_scalar(dtype.round(rng.gen_range(-2.0..2.0)), dtype));
    let exact_unary: Vec<UnaryOp> = UNARY_OPS
        .iter()
        .copied()
        .filter(|u| !u.facts().approximated)
        .collect();
    let exact_binary: Vec<BinaryOp> = BINARY_OPS
        .iter()
        .copied()
        .filter(|b| !b.facts().approximated)
        .collect();
    let mut fetch = Vec::new();
    let mut approx = false;
    for _ in 0..rng.gen_range(1..14) {
        let pick = |rng: &mut SmallRng| pool[rng.gen_range(0..pool.len())];
        let node = match rng.gen_range(0..10) {
            0..=3 => {
                let op = if exact_only {
                    exact_unary[rng.gen_range(0..exact_unary.len())]
                } else {
                    UNARY_OPS[rng.gen_range(0..UNARY_OPS.len())]
                };
                approx |= op.facts().approximated;
                g.add_node(Op::Unary(op), &[pick(&mut rng)])
            }
            4..=8 => {
                let op = if exact_only {
                    exact_binary[rng.gen_range(0..exact_binary.len())]
                } else {
                    BINARY_OPS[rng.gen_range(0..BINARY_OPS.len())]
                };
                approx |= op.facts().approximated;
                g.add_node(Op::Binary(op), &[pick(&mut rng), pick(&mut rng)])
            }
            _ => g.add_node(Op::Where, &[pick(&mut rng), pick(&mut rng), pick(&mut rng)]),
        }
        .map_err(|e| e.to_string())?;
        if rng.gen_bool(0.2) {
            fetch.push(node);
        }
        pool.push(node);
    }
    fetch.push(*pool.last().unwrap_or(&feeds[0].0));
    let dt = dtype;
    check(&g, &fetch, &feeds, &|_| {
        if approx {
            u64::MAX
        } else {
            bound(dt, false)
        }
    })?;
    if approx {
        // chains amplify approximation error: require agreement in value class
        // and a loose relative bound
        check_loose(&g, &fetch, &feeds)?;
    }
    Ok(())
}

fn check_loose(g: &Graph, fetch: &[NodeId], feeds: &[(NodeId, Value)]) -> Result<(), String> {
    let t: Vec<_> = fetch.iter().map(|&id| g.tensor(id)).collect();
    let f: Vec<_> = feeds.iter().map(|(id, v)| (g.tensor(*id), v)).collect();
    let want = Session::new(g).run(&t, &f).map_err(|e| e.to_string())?;
    let got = Session::with_engine(g, Engine::Jit)
        .run(&t, &f)
        .map_err(|e| e.to_string())?;
    let rel = if want[0].dtype() == DType::F32 {
        1e-3
    } else {
        1e-9
    };
    let mut mismatches = 0usize;
    let mut total = 0usize;
    for (w, h) in want.iter().zip(&got) {
        for (p, q) in w.to_f64_vec().iter().zip(h.to_f64_vec()) {
            total += 1;
            let same =
                (p.is_nan() && q.is_nan()) || p == &q || (p - q).abs() <= rel * p.abs().max(1.0);
            if !same {
                mismatches += 1;
            }
        }
    }
    // a cancellation can amplify one rounding difference; it cannot make many
    if mismatches * 50 > total.max(50) {
        return Err(format!(
            "{mismatches} of {total} elements differ beyond {rel}"
        ));
    }
    Ok(())
}

#[test]
fn random_exact_graphs_match_bit_for_bit() {
    let mut runner = TestRunner::new(Config {
        cases: 120,
        rng_seed: RngSeed::Fixed(7),
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&(any::<u64>(), any::<bool>()), |(seed, f64s)| {
            let dtype = if f64s { DType::F64 } else { DType::F32 };
            random_graph(seed, dtype, true).map_err(TestCaseError::fail)
        })
        .unwrap();
}

#[test]
fn random_graphs_with_transcendentals_agree() {
    let mut runner = TestRunner::new(Config {
        cases: 120,
        rng_seed: RngSeed::Fixed(11),
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&(any::<u64>(), any::<bool>()), |(seed, f64s)| {
            let dtype = if f64s { DType::F64 } else { DType::F32 };
            random_graph(seed, dtype, false).map_err(TestCaseError::fail)
        })
        .unwrap();
}

#[test]
fn large_arrays_and_threads() {
    let n = (1 << 17) + 3;
    let g = Graph::new();
    let x = g
        .add_placeholder("x", DType::F32, Shape::known(&[n]))
        .unwrap();
    let y = g.add_node(Op::Unary(UnaryOp::Tanh), &[x]).unwrap();
    let z = g.add_node(Op::Binary(BinaryOp::Mul), &[y, x]).unwrap();
    let data: Vec<f64> = (0..n).map(|i| ((i as f64) * 1e-4).sin() * 3.0).collect();
    let feeds = vec![(x, value(data, &[n], DType::F32))];
    check(&g, &[z, y], &feeds, &|_| 4).unwrap();
    for threads in [1, 2, 3] {
        let exe = compile(
            &g,
            &[z],
            &[(x, vec![n])],
            &CompileOptions {
                threads,
                ..CompileOptions::default()
            },
        )
        .unwrap();
        let out = exe.run(&[feeds[0].1.view()]).unwrap();
        let single = Session::with_engine(&g, Engine::Jit)
            .run(&[g.tensor(z)], &[(g.tensor(x), &feeds[0].1)])
            .unwrap();
        assert_eq!(
            out[0], single[0],
            "threads={threads} must not change elementwise results"
        );
    }
}

#[test]
fn reductions_fused_into_kernels() {
    use gradjit::graph::ReduceOp;
    let mut rng = SmallRng::seed_from_u64(5);
    let cases: [(&[usize], Option<&[usize]>); 9] = [
        (&[5000], None),
        (&[70], None),
        (&[0], None),
        (&[7, 9], Some(&[1])),
        (&[7, 9], Some(&[0])),
        (&[3, 4, 5], Some(&[1])),
        (&[3, 4, 5], Some(&[0, 1])),
        (&[3, 4, 5], Some(&[1, 2])),
        (&[66, 17], None),
    ];
    for dtype in [DType::F32, DType::F64] {
        for (shape, axes) in cases {
            for op in [ReduceOp::Sum, ReduceOp::Mean, ReduceOp::Max, ReduceOp::Min] {
                for keepdims in [false, true] {
                    let g = Graph::new();
                    let x = g.add_placeholder("x", dtype, Shape::known(shape)).unwrap();
                    let b = g
                        .add_placeholder("b", dtype, Shape::known(&shape[shape.len() - 1..]))
                        .unwrap();
                    let z = g.add_node(Op::Binary(BinaryOp::Mul), &[x, b]).unwrap();
                    let t = g.add_node(Op::Unary(UnaryOp::Tanh), &[z]).unwrap();
                    let r = g
                        .add_node(
                            Op::Reduce {
                                op,
                                axes: axes.map(<[usize]>::to_vec),
                                keepdims,
                            },
                            &[t],
                        )
                        .unwrap();
                    let n: usize = shape.iter().product();
                    let feeds = vec![
                        (
                            x,
                            value(
                                (0..n).map(|_| rng.gen_range(-2.0..2.0)).collect(),
                                shape,
                                dtype,
                            ),
                        ),
                        (
                            b,
                            value(
                                (0..shape[shape.len() - 1])
                                    .map(|_| rng.gen_range(-2.0..2.0))
                                    .collect(),
                                &shape[shape.len() - 1..],
                                dtype,
                            ),
                        ),
                    ];
                    check_loose_all(&g, &[r], &feeds)
                        .unwrap_or_else(|e| panic!("{op:?} {shape:?} {axes:?} {keepdims}: {e}"));
                }
            }
        }
    }
}

/// Every element within a relative bound (sums are reassociated).
fn check_loose_all(g: &Graph, fetch: &[NodeId], feeds: &[(NodeId, Value)]) -> Result<(), String> {
    let t: Vec<_> = fetch.iter().map(|&id| g.tensor(id)).collect();
    let f: Vec<_> = feeds.iter().map(|(id, v)| (g.tensor(*id), v)).collect();
    let want = Session::new(g).run(&t, &f).map_err(|e| e.to_string())?;
    let rel = if want[0].dtype() == DType::F32 {
        1e-4
    } else {
        1e-12
    };
    for engine in ENGINES {
        let got = Session::with_engine(g, engine)
            .run(&t, &f)
            .map_err(|e| format!("{engine}: {e}"))?;
        for (w, h) in want.iter().zip(&got) {
            if w.shape() != h.shape() {
                return Err(format!(
                    "{engine}: shape {:?} vs {:?}",
                    h.shape(),
                    w.shape()
                ));
            }
            let scale: f64 = w.to_f64_vec().iter().map(|v| v.abs()).fold(1.0, f64::max);
            for (p, q) in w.to_f64_vec().iter().zip(h.to_f64_vec()) {
                let ok =
                    (p.is_nan() && q.is_nan()) || p == &q || (p - q).abs() <= rel * scale * 10.0;
                if !ok {
                    return Err(format!("{engine}: interp {p}, native {q}"));
                }
            }
        }
    }
    Ok(())
}

#[test]
fn reductions_of_all_rows_and_columns_need_no_library_step() {
    use gradjit::graph::ReduceOp;
    for (shape, axes) in [
        (&[5000usize][..], None),
        (&[7, 9][..], Some(vec![1])),
        (&[7, 9][..], Some(vec![0])),
        (&[3, 4, 5][..], Some(vec![1])),
    ] {
        let g = Graph::new();
        let x = g
            .add_placeholder("x", DType::F32, Shape::known(shape))
            .unwrap();
        let t = g.add_node(Op::Unary(UnaryOp::Tanh), &[x]).unwrap();
        let r = g
            .add_node(
                Op::Reduce {
                    op: ReduceOp::Sum,
                    axes: axes.clone(),
                    keepdims: false,
                },
                &[t],
            )
            .unwrap();
        let exe = compile(&g, &[r], &[(x, shape.to_vec())], &CompileOptions::default()).unwrap();
        assert_eq!(exe.library_steps(), 0, "{shape:?} {axes:?}");
        assert_eq!(exe.kernels().len(), 1);
        assert!(
            exe.kernels()[0].outputs.is_empty(),
            "tanh(x) is never written"
        );
    }
}
