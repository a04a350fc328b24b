//! `exp` of an argument the code generator knows to be `<= 0` (`x * -x`,
//! `-abs(x)`, `-(x*x)`) takes a shorter path with one clamp and no
//! two-step scaling. These sweeps hold it to the general path's contract:
//! within 2 ulp (f32) / 4 ulp (f64) of `std`, gradual underflow, and the
//! special values exact. An argument of unknown sign (`x * x`, `x * y`)
//! still reaches overflow to `+inf`.

mod math_support;
use gradjit::exec::{compile, CompileOptions};
use gradjit::graph::{BinaryOp, DType, Graph, NodeId, Op, UnaryOp};
use gradjit::{Shape, Value};
use math_support::{ulp32, ulp64};
use ndarray::{ArrayD, IxDyn};

/// Builds `exp(arg(x))` for a feed of `n` elements and returns the graph,
/// `x` and the output.
fn program(dtype: DType, n: usize, arg: &str) -> (Graph, NodeId, NodeId) {
    let g = Graph::new();
    let x = g.add_placeholder("x", dtype, Shape::known(&[n])).unwrap();
    let node = |op, args: &[NodeId]| g.add_node(op, args).unwrap();
    let a = match arg {
        "x*-x" => {
            let nx = node(Op::Unary(UnaryOp::Neg), &[x]);
            node(Op::Binary(BinaryOp::Mul), &[x, nx])
        }
        "-abs(x)" => {
            let ax = node(Op::Unary(UnaryOp::Abs), &[x]);
            node(Op::Unary(UnaryOp::Neg), &[ax])
        }
        "-(x*x)" => {
            let sq = node(Op::Binary(BinaryOp::Mul), &[x, x]);
            node(Op::Unary(UnaryOp::Neg), &[sq])
        }
        "x*x" => node(Op::Binary(BinaryOp::Mul), &[x, x]),
        "1/(0-x*x)" => {
            let zero = g.scalar(0.0, dtype).id();
            let sq = node(Op::Binary(BinaryOp::Mul), &[x, x]);
            let d = node(Op::Binary(BinaryOp::Sub), &[zero, sq]);
            node(Op::Unary(UnaryOp::Reciprocal), &[d])
        }
        other => panic!("no program {other}"),
    };
    let y = node(Op::Unary(UnaryOp::Exp), &[a]);
    (g, x, y)
}

/// The argument as the interpreter computes it (exact IEEE operations).
fn arg_of(arg: &str, x: f64) -> f64 {
    match arg {
        "x*-x" => x * -x,
        "-abs(x)" => -x.abs(),
        "-(x*x)" => -(x * x),
        "x*x" => x * x,
        "1/(0-x*x)" => 1.0 / (0.0 - x * x),
        other => panic!("no program {other}"),
    }
}

/// Dense points over `[-hi, hi]`, plus the special values.
fn points(n: usize, hi: f64) -> Vec<f64> {
    let mut xs: Vec<f64> = (0..n)
        .map(|i| -hi + 2.0 * hi * (i as f64) / (n as f64 - 1.0))
        .collect();
    xs.extend([
        0.0,
        -0.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        1e-300,
        -1e-30,
        f32::MIN_POSITIVE as f64,
    ]);
    xs
}

fn run(dtype: DType, arg: &str, xs: &[f64]) -> Vec<f64> {
    let n = xs.len();
    let (g, x, y) = program(dtype, n, arg);
    let exe = compile(&g, &[y], &[(x, vec![n])], &CompileOptions::default()).unwrap();
    let feed = match dtype {
        DType::F32 => Value::F32(
            ArrayD::from_shape_vec(IxDyn(&[n]), xs.iter().map(|&v| v as f32).collect()).unwrap(),
        ),
        DType::F64 => Value::F64(ArrayD::from_shape_vec(IxDyn(&[n]), xs.to_vec()).unwrap()),
    };
    match exe.run(&[feed.view()]).unwrap().remove(0) {
        Value::F32(a) => a.iter().map(|&v| v as f64).collect(),
        Value::F64(a) => a.iter().copied().collect(),
    }
}

fn check(dtype: DType, arg: &str, xs: &[f64]) {
    let got = run(dtype, arg, xs);
    let mut worst = (0u64, 0.0f64);
    for (&x, &g) in xs.iter().zip(&got) {
        let u = match dtype {
            DType::F32 => {
                let xf = x as f32;
                let want = (arg_of(arg, xf as f64) as f32).exp();
                ulp32(g as f32, want)
            }
            DType::F64 => ulp64(g, arg_of(arg, x).exp()),
        };
        if u > worst.0 {
            worst = (u, x);
        }
    }
    let bound = match dtype {
        DType::F32 => 2,
        DType::F64 => 4,
    };
    assert!(
        worst.0 <= bound,
        "exp({arg}) {dtype:?}: {} ulp at x = {:e}",
        worst.0,
        worst.1
    );
}

#[test]
fn exp_of_nonpositive_arguments_f32() {
    // x*x reaches the clamp (-104) and the subnormal range (< -87.3)
    let xs = points(400_003, 10.5);
    for arg in ["x*-x", "-(x*x)"] {
        check(DType::F32, arg, &xs);
    }
    check(DType::F32, "-abs(x)", &points(400_003, 110.0));
}

#[test]
fn exp_of_nonpositive_arguments_f64() {
    // down to the clamp (-746) and through the subnormal range (< -708.4)
    let xs = points(400_003, 27.5);
    for arg in ["x*-x", "-(x*x)"] {
        check(DType::F64, arg, &xs);
    }
    check(DType::F64, "-abs(x)", &points(400_003, 750.0));
}

#[test]
fn a_reciprocal_of_a_zero_has_no_known_sign() {
    // 0 - 0 is +0, and 1/+0 is +inf: exp must reach +inf, not the
    // non-positive path's NaN
    for dtype in [DType::F32, DType::F64] {
        let got = run(dtype, "1/(0-x*x)", &[0.0, -0.0, 1.0, 2.0]);
        assert_eq!(got[0], f64::INFINITY, "{dtype:?}");
        assert_eq!(got[1], f64::INFINITY, "{dtype:?}");
        assert!((got[2] - (-1.0f64).exp()).abs() < 1e-6, "{dtype:?}");
        assert!((got[3] - (-0.25f64).exp()).abs() < 1e-6, "{dtype:?}");
    }
    // (in f32, x*x of a tiny x underflows to 0 where the f64 reference
    // does not: the sweep is f64's)
    check(DType::F64, "1/(0-x*x)", &points(10_001, 30.0));
}

#[test]
fn exp_of_unknown_sign_still_overflows() {
    let got = run(DType::F32, "x*x", &[9.4, 9.5, -9.5, f64::NAN]);
    assert!(got[0].is_finite() && got[0] > 1e38);
    assert_eq!(got[1], f64::INFINITY);
    assert_eq!(got[2], f64::INFINITY);
    assert!(got[3].is_nan());
    check(DType::F32, "x*x", &points(100_001, 9.5));
    check(DType::F64, "x*x", &points(100_001, 26.6));
}
