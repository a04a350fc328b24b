//! The reference interpreter, op by op, against independent reference code
//! written here (plain loops and `std` math), including broadcasting, axis
//! handling and special values. Every result's shape is also checked against
//! the node's static shape.

mod common;

use std::collections::{BTreeMap, HashMap};

use common::{arr, assert_close, rng, uniform};
use gradjit::graph::{BinaryOp, ReduceOp, UnaryOp, BINARY_OPS, REDUCE_OPS, UNARY_OPS};
use gradjit::{DType, Graph, Op, Session, Shape, Tensor, Value};
use ndarray::{ArrayD, Dimension, IxDyn};

/// Evaluates `t` (a graph of constants) and checks the value against its static shape.
fn eval(t: Tensor<'_>) -> ArrayD<f64> {
    let mut sess = Session::new(t.graph());
    let none: &[(Tensor<'_>, Value)] = &[];
    let v = sess
        .run(&[t], none)
        .unwrap_or_else(|e| panic!("run failed: {e}"))
        .remove(0);
    assert_eq!(v.dtype(), t.dtype(), "value dtype vs static dtype");
    assert!(
        t.shape().accepts(v.shape()),
        "value of shape {:?} contradicts the static shape {}",
        v.shape(),
        t.shape()
    );
    v.to_f64_array()
}

fn values(a: &ArrayD<f64>) -> Vec<f64> {
    a.iter().copied().collect()
}

/// The reference math of each unary op, written from its definition.
fn unary_ref(op: UnaryOp, x: f64) -> f64 {
    match op {
        UnaryOp::Neg => -x,
        UnaryOp::Abs => x.abs(),
        UnaryOp::Sign => {
            if x.is_nan() || x == 0.0 {
                x
            } else {
                x.signum()
            }
        }
        UnaryOp::Exp => x.exp(),
        UnaryOp::Log => x.ln(),
        UnaryOp::Log1p => (1.0 + x).ln(),
        UnaryOp::Expm1 => x.exp() - 1.0,
        UnaryOp::Sqrt => x.sqrt(),
        UnaryOp::Rsqrt => x.powf(-0.5),
        UnaryOp::Square => x.powi(2),
        UnaryOp::Reciprocal => x.powi(-1),
        UnaryOp::Sin => x.sin(),
        UnaryOp::Cos => x.cos(),
        UnaryOp::Tanh => (x.exp() - (-x).exp()) / (x.exp() + (-x).exp()),
        UnaryOp::Sigmoid => 1.0 / (1.0 + (-x).exp()),
        UnaryOp::Softplus => (1.0 + x.exp()).ln(),
        UnaryOp::Relu => {
            if x.is_nan() {
                x
            } else {
                x.max(0.0)
            }
        }
        UnaryOp::Floor => x.floor(),
        UnaryOp::Ceil => x.ceil(),
        // half to even: a tie goes to the even neighbour
        UnaryOp::Round => {
            if (x - x.trunc()).abs() == 0.5 {
                2.0 * (x / 2.0).round()
            } else {
                x.round()
            }
        }
        UnaryOp::Relu6 => {
            if x.is_nan() {
                x
            } else {
                x.clamp(0.0, 6.0)
            }
        }
        UnaryOp::Softsign => x / (1.0 + x.abs()),
        UnaryOp::Silu => x / (1.0 + (-x).exp()),
        UnaryOp::Elu => {
            if x < 0.0 {
                x.exp() - 1.0
            } else {
                x
            }
        }
        // scale and alpha of Klambauer et al. (2017)
        UnaryOp::Selu => {
            let (scale, alpha) = (1.050_700_987_355_480_5, 1.673_263_242_354_377_3);
            if x < 0.0 {
                scale * alpha * (x.exp() - 1.0)
            } else {
                scale * x
            }
        }
        UnaryOp::Tan => x.sin() / x.cos(),
        UnaryOp::Asin => x.atan2((1.0 - x * x).sqrt()),
        UnaryOp::Acos => (1.0 - x * x).sqrt().atan2(x),
        UnaryOp::Atan => x.atan2(1.0),
        UnaryOp::Sinh => (x.exp() - (-x).exp()) / 2.0,
        UnaryOp::Cosh => (x.exp() + (-x).exp()) / 2.0,
        // odd: computed on |x| so that nothing cancels
        UnaryOp::Asinh => x.signum() * (x.abs() + (x * x + 1.0).sqrt()).ln(),
        UnaryOp::Acosh => (x + (x * x - 1.0).sqrt()).ln(),
        UnaryOp::Atanh => 0.5 * ((1.0 + x) / (1.0 - x)).ln(),
        UnaryOp::Erf => erf_series(x),
        UnaryOp::Erfc => 1.0 - erf_series(x),
        UnaryOp::Gelu => 0.5 * x * (1.0 + erf_series(x / 2f64.sqrt())),
    }
}

/// `erf(x) = 2/sqrt(pi) e^(-x^2) sum 2^n x^(2n+1) / (2n+1)!!`: a series of
/// terms of one sign (nothing cancels), for moderate `|x|`.
fn erf_series(x: f64) -> f64 {
    let (mut term, mut sum) = (x, x);
    for n in 1..200 {
        term *= 2.0 * x * x / (2 * n + 1) as f64;
        sum += term;
    }
    std::f64::consts::FRAC_2_SQRT_PI * (-x * x).exp() * sum
}

fn dtype_round(dtype: DType, v: f64) -> f64 {
    match dtype {
        DType::F64 => v,
        DType::F32 => v as f32 as f64,
    }
}

#[test]
fn unary_ops_match_reference_math_in_f64_and_f32() {
    let xs = [-2.5, -1.0, -0.3, 0.0, 0.2, 0.7, 1.0, 1.5, 3.0];
    for op in UNARY_OPS {
        let x = arr(&[3, 3], &xs);
        for dtype in [DType::F64, DType::F32] {
            let g = Graph::new();
            let c = match dtype {
                DType::F64 => g.constant(&x),
                DType::F32 => g.constant(&x.mapv(|v| v as f32)),
            };
            let y = c.unary(op);
            assert_eq!(y.shape(), Shape::known(&[3, 3]));
            assert_eq!(y.dtype(), dtype);
            let got = eval(y);
            // the reference at the input as the dtype holds it
            let want: Vec<f64> = xs
                .iter()
                .map(|&v| unary_ref(op, dtype_round(dtype, v)))
                .collect();
            let (rtol, atol) = match dtype {
                DType::F64 => (1e-14, 1e-15),
                DType::F32 => (1e-6, 1e-7),
            };
            assert_close(
                &format!("{}({dtype})", op.name()),
                &values(&got),
                &want,
                rtol,
                atol,
            );
        }
    }
}

#[test]
fn unary_special_values() {
    let g = Graph::new();
    let nan = f64::NAN;
    let inf = f64::INFINITY;
    let x = g.constant(&arr(&[6], &[-1000.0, -0.0, 0.0, 1000.0, nan, inf]));
    let cases: [(UnaryOp, [f64; 6]); 6] = [
        // sign keeps the sign of zero and NaN
        (UnaryOp::Sign, [-1.0, -0.0, 0.0, 1.0, nan, 1.0]),
        // no overflow at +-1000
        (UnaryOp::Sigmoid, [0.0, 0.5, 0.5, 1.0, nan, 1.0]),
        (
            UnaryOp::Softplus,
            [0.0, 2f64.ln(), 2f64.ln(), 1000.0, nan, inf],
        ),
        (UnaryOp::Tanh, [-1.0, -0.0, 0.0, 1.0, nan, 1.0]),
        // relu propagates NaN
        (UnaryOp::Relu, [0.0, 0.0, 0.0, 1000.0, nan, inf]),
        (UnaryOp::Abs, [1000.0, 0.0, 0.0, 1000.0, nan, inf]),
    ];
    for (op, want) in cases {
        let got = eval(x.unary(op));
        assert_close(op.name(), &values(&got), &want, 1e-15, 0.0);
    }
    // the sign of zero is kept bit for bit
    let s = eval(x.sign());
    assert!(s[1].is_sign_negative() && s[2].is_sign_positive());
    // sqrt and log of 0 and of negatives
    let z = g.constant(&arr(&[2], &[0.0, -1.0]));
    let got = values(&eval(z.sqrt()));
    assert!(got[0] == 0.0 && got[1].is_nan());
    let got = values(&eval(z.log()));
    assert!(got[0] == -inf && got[1].is_nan());
    let got = values(&eval(z.reciprocal()));
    assert_eq!(got, vec![inf, -1.0]);
}

/// The reference math of each binary op.
fn binary_ref(op: BinaryOp, a: f64, b: f64) -> f64 {
    let t = |c: bool| if c { 1.0 } else { 0.0 };
    match op {
        BinaryOp::Add => a + b,
        BinaryOp::Sub => a - b,
        BinaryOp::Mul => a * b,
        BinaryOp::Div => a / b,
        BinaryOp::Pow => a.powf(b),
        BinaryOp::Maximum => {
            if a.is_nan() || b.is_nan() {
                f64::NAN
            } else {
                a.max(b)
            }
        }
        BinaryOp::Minimum => {
            if a.is_nan() || b.is_nan() {
                f64::NAN
            } else {
                a.min(b)
            }
        }
        BinaryOp::Lt => t(a < b),
        BinaryOp::Le => t(a <= b),
        BinaryOp::Gt => t(a > b),
        BinaryOp::Ge => t(a >= b),
        BinaryOp::Eq => t(a == b),
        BinaryOp::Ne => t(a != b),
        // TensorFlow's ReluGrad multiplies: inf * 0 is NaN
        BinaryOp::ReluGrad => a * t(b > 0.0),
        BinaryOp::DivNoNan => {
            if b == 0.0 {
                0.0
            } else {
                a / b
            }
        }
        BinaryOp::Xlogy => {
            if a == 0.0 {
                0.0
            } else {
                a * b.ln()
            }
        }
        BinaryOp::Xdivy => {
            if a == 0.0 {
                0.0
            } else {
                a / b
            }
        }
        BinaryOp::MulNoNan => {
            if b == 0.0 {
                0.0
            } else {
                a * b
            }
        }
        // the angle of (b, a) from the positive axis, C99's table at the
        // zeros (rounding the inputs gives -0 too): the sign of a, and pi
        // where b is negative or -0
        BinaryOp::Atan2 => {
            use std::f64::consts::{FRAC_PI_2, PI};
            if a == 0.0 && b == 0.0 {
                if b.is_sign_negative() {
                    PI.copysign(a)
                } else {
                    0.0f64.copysign(a)
                }
            } else if b > 0.0 {
                (a / b).atan()
            } else if b < 0.0 {
                (a / b).atan() + PI.copysign(a)
            } else {
                FRAC_PI_2.copysign(a)
            }
        }
    }
}

/// Index of an operand element for an output index under NumPy broadcasting.
fn operand_index(out: &[usize], dims: &[usize]) -> Vec<usize> {
    let lead = out.len() - dims.len();
    dims.iter()
        .enumerate()
        .map(|(i, &d)| if d == 1 { 0 } else { out[lead + i] })
        .collect()
}

/// `f` applied under broadcasting, by explicit indexing, to an output of shape `out`.
fn broadcast_ref(out: &[usize], ins: &[&ArrayD<f64>], f: impl Fn(&[f64]) -> f64) -> Vec<f64> {
    ndarray::indices(IxDyn(out))
        .into_iter()
        .map(|idx| {
            let idx = idx.slice().to_vec();
            let vals: Vec<f64> = ins
                .iter()
                .map(|a| a[IxDyn(&operand_index(&idx, a.shape()))])
                .collect();
            f(&vals)
        })
        .collect()
}

#[test]
fn binary_ops_broadcast_like_numpy() {
    let mut r = rng(31);
    let cases: [(&[usize], &[usize], &[usize]); 6] = [
        (&[2, 3], &[2, 3], &[2, 3]),
        (&[3, 1], &[4], &[3, 4]),
        (&[4], &[3, 1], &[3, 4]),
        (&[], &[2, 3], &[2, 3]),
        (&[2, 1, 3], &[4, 1], &[2, 4, 3]),
        (&[0, 3], &[1], &[0, 3]),
    ];
    for op in BINARY_OPS {
        for (sa, sb, out) in cases {
            // small integers make ties and exact comparisons likely
            let a = uniform(&mut r, sa, -3.0, 3.0).mapv(f64::round);
            let b = uniform(&mut r, sb, -3.0, 3.0).mapv(f64::round);
            let g = Graph::new();
            let y = g.constant(&a).binary(op, g.constant(&b));
            assert_eq!(y.shape(), Shape::known(out), "{} static shape", op.name());
            let got = eval(y);
            assert_eq!(got.shape(), out);
            let want = broadcast_ref(out, &[&a, &b], |v| binary_ref(op, v[0], v[1]));
            assert_close(
                &format!("{}({sa:?}, {sb:?})", op.name()),
                &values(&got),
                &want,
                1e-15,
                0.0,
            );
        }
    }
}

#[test]
fn binary_special_values() {
    let g = Graph::new();
    let nan = f64::NAN;
    let inf = f64::INFINITY;
    let a = g.constant(&arr(&[5], &[nan, 1.0, inf, -8.0, 0.0]));
    let b = g.constant(&arr(&[5], &[1.0, nan, 0.0, 1.0 / 3.0, 0.0]));
    let check = |op: BinaryOp, want: [f64; 5]| {
        let got = eval(a.binary(op, b));
        assert_close(op.name(), &values(&got), &want, 1e-15, 0.0);
    };
    check(BinaryOp::Maximum, [nan, nan, inf, 1.0 / 3.0, 0.0]);
    check(BinaryOp::Minimum, [nan, nan, 0.0, -8.0, 0.0]);
    // C99 pow: a negative base with a non-integer exponent is NaN; 0^0 = 1; inf^0 = 1
    check(BinaryOp::Pow, [nan, 1.0, 1.0, nan, 1.0]);
    // mul_no_nan: 0 wherever b is 0, even for inf or nan in a
    check(BinaryOp::MulNoNan, [nan, nan, 0.0, -8.0 / 3.0, 0.0]);
    // comparisons with NaN are false, except !=
    check(BinaryOp::Eq, [0.0, 0.0, 0.0, 0.0, 1.0]);
    check(BinaryOp::Ne, [1.0, 1.0, 1.0, 1.0, 0.0]);
    check(BinaryOp::Lt, [0.0, 0.0, 0.0, 1.0, 0.0]);
    // relu_grad(a, b) = a * (b > 0), a product as TensorFlow's ReluGrad: inf * 0 is NaN
    check(BinaryOp::ReluGrad, [nan, 0.0, nan, -8.0, 0.0]);
    check(BinaryOp::Div, [nan, nan, inf, -24.0, nan]);
}

#[test]
fn where_broadcasts_three_operands() {
    let c = arr(&[3, 1], &[1.0, 0.0, -2.0]);
    let a = arr(&[4], &[1.0, 2.0, 3.0, 4.0]);
    let b = arr(&[], &[-7.0]);
    let g = Graph::new();
    let y = g
        .try_select(g.constant(&c), g.constant(&a), g.constant(&b))
        .unwrap();
    assert_eq!(y.shape(), Shape::known(&[3, 4]));
    let got = eval(y);
    #[rustfmt::skip]
    let want = [
        1.0, 2.0, 3.0, 4.0,
        -7.0, -7.0, -7.0, -7.0,
        1.0, 2.0, 3.0, 4.0,
    ];
    assert_eq!(values(&got), want);
    // a NaN condition counts as nonzero: picks a
    let y = g
        .try_select(
            g.constant(&arr(&[2], &[f64::NAN, 0.0])),
            g.constant(&arr(&[2], &[1.0, 2.0])),
            g.constant(&arr(&[2], &[3.0, 4.0])),
        )
        .unwrap();
    assert_eq!(values(&eval(y)), vec![1.0, 4.0]);
    // condition of a larger shape than both branches
    let y = g
        .try_select(
            g.constant(&arr(&[2, 2], &[1.0, 0.0, 0.0, 1.0])),
            g.scalar(5.0, DType::F64),
            g.scalar(6.0, DType::F64),
        )
        .unwrap();
    assert_eq!(y.shape(), Shape::known(&[2, 2]));
    assert_eq!(values(&eval(y)), vec![5.0, 6.0, 6.0, 5.0]);
}

/// The reference of each reduction over a list of values.
fn reduce_ref(op: ReduceOp, v: &[f64]) -> f64 {
    match op {
        ReduceOp::Sum => v.iter().sum(),
        ReduceOp::Mean => v.iter().sum::<f64>() / v.len() as f64,
        ReduceOp::Max => v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        ReduceOp::Min => v.iter().copied().fold(f64::INFINITY, f64::min),
        ReduceOp::LogSumExp => v.iter().map(|x| x.exp()).sum::<f64>().ln(),
        ReduceOp::Prod => v.iter().product(),
    }
}

/// Reduces `x` over `axes` (normalized, all when `None`) by collecting each
/// output element's values with explicit indexing.
fn reduction_ref(op: ReduceOp, x: &ArrayD<f64>, axes: Option<&[usize]>) -> Vec<f64> {
    let mut groups: BTreeMap<Vec<usize>, Vec<f64>> = BTreeMap::new();
    for (idx, &v) in x.indexed_iter() {
        let key: Vec<usize> = idx
            .slice()
            .iter()
            .enumerate()
            .filter(|(i, _)| axes.is_some_and(|ax| !ax.contains(i)))
            .map(|(_, &k)| k)
            .collect();
        groups.entry(key).or_default().push(v);
    }
    groups.values().map(|v| reduce_ref(op, v)).collect()
}

#[test]
fn reductions_over_axes_with_and_without_keepdims() {
    let mut r = rng(32);
    let x = uniform(&mut r, &[2, 3, 4], -2.0, 2.0);
    // (axes as given, normalized, shape without keepdims, shape with)
    type Case = (
        Option<&'static [i64]>,
        Option<&'static [usize]>,
        &'static [usize],
        &'static [usize],
    );
    let cases: [Case; 8] = [
        (None, None, &[], &[1, 1, 1]),
        (Some(&[0]), Some(&[0]), &[3, 4], &[1, 3, 4]),
        (Some(&[1]), Some(&[1]), &[2, 4], &[2, 1, 4]),
        (Some(&[-1]), Some(&[2]), &[2, 3], &[2, 3, 1]),
        (Some(&[2, 0]), Some(&[0, 2]), &[3], &[1, 3, 1]),
        (Some(&[-3, -2]), Some(&[0, 1]), &[4], &[1, 1, 4]),
        (Some(&[0, 1, 2]), Some(&[0, 1, 2]), &[], &[1, 1, 1]),
        (Some(&[]), Some(&[]), &[2, 3, 4], &[2, 3, 4]),
    ];
    for op in REDUCE_OPS {
        for (axes, norm, shape, kept_shape) in cases {
            for keepdims in [false, true] {
                if axes.is_none() && keepdims {
                    continue; // the builder has no keepdims for a full reduction
                }
                let g = Graph::new();
                let c = g.constant(&x);
                let y = match axes {
                    None => c.reduce(op),
                    Some(ax) => g.try_reduce(op, c, Some(ax), keepdims).unwrap(),
                };
                let want_shape = if keepdims { kept_shape } else { shape };
                let name = format!("{}({axes:?}, keepdims={keepdims})", op.name());
                assert_eq!(y.shape(), Shape::known(want_shape), "{name} static shape");
                let got = eval(y);
                assert_eq!(got.shape(), want_shape, "{name}");
                let norm_all: Vec<usize> = (0..3).collect();
                let want = reduction_ref(op, &x, Some(norm.unwrap_or(&norm_all)));
                assert_close(&name, &values(&got), &want, 1e-13, 1e-14);
            }
        }
    }
}

#[test]
fn reductions_of_empty_and_extreme_inputs() {
    let g = Graph::new();
    let empty = g.constant(&ArrayD::<f64>::zeros(IxDyn(&[0, 3])));
    let want = [
        (ReduceOp::Sum, 0.0),
        (ReduceOp::Mean, f64::NAN),
        (ReduceOp::Max, f64::NEG_INFINITY),
        (ReduceOp::Min, f64::INFINITY),
        (ReduceOp::LogSumExp, f64::NEG_INFINITY),
    ];
    for (op, w) in want {
        let got = values(&eval(empty.reduce(op)));
        assert_close(&format!("{}(empty)", op.name()), &got, &[w], 0.0, 0.0);
        // along the empty axis: one result per column
        let got = eval(empty.reduce_axes(op, &[0], false));
        assert_eq!(got.shape(), &[3]);
        assert_close(
            &format!("{}(empty, 0)", op.name()),
            &values(&got),
            &[w; 3],
            0.0,
            0.0,
        );
        // along the other axis: no results
        let got = eval(empty.reduce_axes(op, &[1], true));
        assert_eq!(got.shape(), &[0, 1]);
    }
    // logsumexp is stable for large inputs and exact for infinities
    let big = g.constant(&arr(&[2], &[1000.0, 1000.0]));
    let got = values(&eval(big.reduce(ReduceOp::LogSumExp)));
    assert_close(
        "logsumexp([1000, 1000])",
        &got,
        &[1000.0 + 2f64.ln()],
        1e-15,
        0.0,
    );
    let small = g.constant(&arr(&[2], &[-1000.0, -1000.0]));
    let got = values(&eval(small.reduce(ReduceOp::LogSumExp)));
    assert_close(
        "logsumexp([-1000, -1000])",
        &got,
        &[-1000.0 + 2f64.ln()],
        1e-15,
        0.0,
    );
    let infs = g.constant(&arr(&[2], &[f64::INFINITY, 0.0]));
    let got = values(&eval(infs.reduce(ReduceOp::LogSumExp)));
    assert_eq!(got, vec![f64::INFINITY]);
    // max and min propagate NaN
    let with_nan = g.constant(&arr(&[3], &[1.0, f64::NAN, 3.0]));
    assert!(values(&eval(with_nan.reduce(ReduceOp::Max)))[0].is_nan());
    assert!(values(&eval(with_nan.reduce(ReduceOp::Min)))[0].is_nan());
}

#[test]
fn reshape_transpose_broadcast_to() {
    let x: Vec<f64> = (0..24).map(f64::from).collect();
    let xa = arr(&[2, 3, 4], &x);
    let g = Graph::new();
    let c = g.constant(&xa);
    // reshape keeps row-major order; -1 is inferred
    for (dims, shape) in [
        (&[6, 4][..], &[6, 4][..]),
        (&[-1], &[24]),
        (&[4, -1, 2], &[4, 3, 2]),
        (&[2, 12, 1], &[2, 12, 1]),
    ] {
        let y = c.reshape(dims);
        assert_eq!(y.shape(), Shape::known(shape));
        let got = eval(y);
        assert_eq!(got.shape(), shape);
        assert_eq!(values(&got), x, "reshape {dims:?}");
    }
    // transpose: out[i, j, k] = x[perm...]
    for perm in [None, Some(&[1, 0, 2][..]), Some(&[2, 0, 1])] {
        let p: Vec<usize> = perm.map_or(vec![2, 1, 0], <[usize]>::to_vec);
        let out_shape: Vec<usize> = p.iter().map(|&a| [2, 3, 4][a]).collect();
        let y = c.transpose(perm);
        assert_eq!(y.shape(), Shape::known(&out_shape));
        let got = eval(y);
        assert_eq!(got.shape(), &out_shape[..]);
        for (idx, &v) in got.indexed_iter() {
            let mut src = [0usize; 3];
            for (o, &a) in p.iter().enumerate() {
                src[a] = idx[o];
            }
            assert_eq!(v, xa[IxDyn(&src)], "transpose {perm:?} at {idx:?}");
        }
    }
    // broadcast_to repeats along size-1 and new leading axes
    let col = g.constant(&arr(&[3, 1], &[1.0, 2.0, 3.0]));
    let y = col.broadcast_to(&[2, 3, 2]);
    assert_eq!(y.shape(), Shape::known(&[2, 3, 2]));
    assert_eq!(
        values(&eval(y)),
        vec![1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0]
    );
}

/// Matrix product by the textbook triple loop, batch axes broadcast.
fn matmul_ref(a: &ArrayD<f64>, b: &ArrayD<f64>, out: &[usize]) -> Vec<f64> {
    let k = a.shape()[a.ndim() - 1];
    ndarray::indices(IxDyn(out))
        .into_iter()
        .map(|idx| {
            let idx = idx.slice().to_vec();
            let r = out.len();
            let (i, j) = (idx[r - 2], idx[r - 1]);
            let batch = &idx[..r - 2];
            let pick = |m: &ArrayD<f64>, row: usize, col: usize| {
                let bd = &m.shape()[..m.ndim() - 2];
                let mut full = operand_index(batch, bd);
                full.push(row);
                full.push(col);
                m[IxDyn(&full)]
            };
            (0..k).map(|t| pick(a, i, t) * pick(b, t, j)).sum()
        })
        .collect()
}

#[test]
fn matmul_plain_batched_and_broadcast() {
    let mut r = rng(33);
    let cases: [(&[usize], &[usize], &[usize]); 5] = [
        (&[2, 3], &[3, 4], &[2, 4]),
        (&[5, 2, 3], &[5, 3, 4], &[5, 2, 4]),
        (&[2, 3], &[4, 3, 2], &[4, 2, 2]),
        (&[2, 1, 2, 3], &[3, 3, 2], &[2, 3, 2, 2]),
        (&[2, 0], &[0, 3], &[2, 3]),
    ];
    for (sa, sb, out) in cases {
        let a = uniform(&mut r, sa, -2.0, 2.0);
        let b = uniform(&mut r, sb, -2.0, 2.0);
        let g = Graph::new();
        let y = g.constant(&a).matmul(g.constant(&b));
        assert_eq!(y.shape(), Shape::known(out));
        let got = eval(y);
        assert_eq!(got.shape(), out);
        let want = matmul_ref(&a, &b, out);
        assert_close(
            &format!("matmul {sa:?} @ {sb:?}"),
            &values(&got),
            &want,
            1e-14,
            1e-14,
        );
    }
    // a small one by hand: [[1,2],[3,4]] @ [[5],[6]] = [[17],[39]]
    let g = Graph::new();
    let y = g
        .constant(&arr(&[2, 2], &[1.0, 2.0, 3.0, 4.0]))
        .matmul(g.constant(&arr(&[2, 1], &[5.0, 6.0])));
    assert_eq!(values(&eval(y)), vec![17.0, 39.0]);
}

fn node<'g>(g: &'g Graph, op: Op, inputs: &[Tensor<'g>]) -> Tensor<'g> {
    let ids: Vec<_> = inputs.iter().map(|t| t.id()).collect();
    g.tensor(g.add_node(op, &ids).unwrap())
}

#[test]
fn internal_ops() {
    let g = Graph::new();
    let x: Vec<f64> = (1..=6).map(f64::from).collect();
    let m = g.constant(&arr(&[2, 3], &x));
    let s = |op: Op, ins: &[Tensor<'_>]| {
        let t = node(
            &g,
            op,
            &ins.iter().map(|t| g.tensor(t.id())).collect::<Vec<_>>(),
        );
        (t.shape(), eval(t))
    };
    // sum_to: sums the broadcast axes away
    let like_row = g.constant(&arr(&[1, 3], &[0.0; 3]));
    let like_col = g.constant(&arr(&[2, 1], &[0.0; 2]));
    let like_vec = g.constant(&arr(&[3], &[0.0; 3]));
    let like_scalar = g.scalar(0.0, DType::F64);
    let (sh, v) = s(Op::SumTo, &[m, like_row]);
    assert_eq!(
        (sh, values(&v)),
        (Shape::known(&[1, 3]), vec![5.0, 7.0, 9.0])
    );
    let (sh, v) = s(Op::SumTo, &[m, like_col]);
    assert_eq!((sh, values(&v)), (Shape::known(&[2, 1]), vec![6.0, 15.0]));
    let (sh, v) = s(Op::SumTo, &[m, like_vec]);
    assert_eq!((sh, values(&v)), (Shape::known(&[3]), vec![5.0, 7.0, 9.0]));
    let (sh, v) = s(Op::SumTo, &[m, like_scalar]);
    assert_eq!((sh, values(&v)), (Shape::scalar(), vec![21.0]));
    let (sh, v) = s(Op::SumTo, &[m, m]);
    assert_eq!((sh, values(&v)), (Shape::known(&[2, 3]), x.clone()));
    // broadcast_like and reshape_like take the shape of their second input
    let (sh, v) = s(Op::BroadcastLike, &[like_scalar, m]);
    assert_eq!((sh, values(&v)), (Shape::known(&[2, 3]), vec![0.0; 6]));
    let (sh, v) = s(
        Op::BroadcastLike,
        &[g.constant(&arr(&[3], &[1.0, 2.0, 3.0])), m],
    );
    assert_eq!(
        (sh, values(&v)),
        (Shape::known(&[2, 3]), vec![1.0, 2.0, 3.0, 1.0, 2.0, 3.0])
    );
    let like32 = g.constant(&arr(&[3, 2], &[0.0; 6]));
    let (sh, v) = s(Op::ReshapeLike, &[m, like32]);
    assert_eq!((sh, values(&v)), (Shape::known(&[3, 2]), x.clone()));
    // expand_dims inserts size-1 axes at output positions
    for (axes, shape) in [
        (vec![0], vec![1, 2, 3]),
        (vec![1], vec![2, 1, 3]),
        (vec![2], vec![2, 3, 1]),
        (vec![0, 3], vec![1, 2, 3, 1]),
    ] {
        let (sh, v) = s(Op::ExpandDims { axes: axes.clone() }, &[m]);
        assert_eq!(sh, Shape::known(&shape), "expand_dims {axes:?}");
        assert_eq!(v.shape(), &shape[..]);
        assert_eq!(values(&v), x);
    }
    // ones_like, zeros_like, count, identity, stop_gradient
    let (sh, v) = s(Op::OnesLike, &[m]);
    assert_eq!((sh, values(&v)), (Shape::known(&[2, 3]), vec![1.0; 6]));
    let (sh, v) = s(Op::ZerosLike, &[m]);
    assert_eq!((sh, values(&v)), (Shape::known(&[2, 3]), vec![0.0; 6]));
    let (sh, v) = s(Op::Count { axes: None }, &[m]);
    assert_eq!((sh, values(&v)), (Shape::scalar(), vec![6.0]));
    let (sh, v) = s(
        Op::Count {
            axes: Some(vec![1]),
        },
        &[m],
    );
    assert_eq!((sh, values(&v)), (Shape::scalar(), vec![3.0]));
    let (sh, v) = s(Op::Identity, &[m]);
    assert_eq!((sh, values(&v)), (Shape::known(&[2, 3]), x.clone()));
    let (sh, v) = s(Op::StopGradient, &[m]);
    assert_eq!((sh, values(&v)), (Shape::known(&[2, 3]), x));
}

#[test]
fn the_interpreter_computes_only_what_the_fetches_need() {
    let g = Graph::new();
    let x = g.placeholder("x", DType::F64, Shape::known(&[2]));
    let unfed = g.placeholder("unfed", DType::F64, Shape::known(&[2]));
    let y = x * 2.0_f64;
    let _z = unfed + 1.0_f64;
    let mut sess = Session::new(&g);
    let out = sess.run(&[y], &[(x, arr(&[2], &[1.0, 2.0]))]).unwrap();
    assert_eq!(out[0].to_f64_vec(), vec![2.0, 4.0]);

    // interp::evaluate: a fed intermediate node is not computed from its inputs
    let h = x * x;
    let w = h + 1.0_f64;
    let hv = arr(&[2], &[10.0, 20.0]);
    let feeds: HashMap<_, _> = [(h.id(), gradjit::ValueView::F64(hv.view()))].into();
    let out = gradjit::interp::evaluate(&g, &[w.id()], &feeds).unwrap();
    assert_eq!(out[0].to_f64_vec(), vec![11.0, 21.0]);
}

#[test]
fn f32_graphs_compute_in_f32() {
    let g = Graph::new();
    let x = g.placeholder("x", DType::F32, Shape::known(&[1]));
    // 1 + 1e-8 is 1 in f32
    let y = (x + 1e-8_f64) - x;
    let mut sess = Session::new(&g);
    let out = sess
        .run(&[y], &[(x, ArrayD::<f32>::ones(IxDyn(&[1])))])
        .unwrap();
    assert_eq!(out[0].dtype(), DType::F32);
    assert_eq!(out[0].to_f64_vec(), vec![0.0]);
    // constants are rounded to the graph's dtype: 0.1f32 is not 0.1
    let c = g.scalar(0.1, DType::F32);
    let v = sess.run(&[c], &[] as &[(Tensor<'_>, Value)]).unwrap();
    assert_eq!(v[0].to_f64_vec(), vec![0.1f32 as f64]);
}
