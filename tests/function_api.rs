//! The function-style front end: `grad`, `value_and_grad`, `jvp` and
//! `hessian` of Rust closures, against closed forms, with argument
//! selection, one trace per shapes, and errors as `Result`s.

use gradjit::function::{grad, hessian, jvp, value_and_grad, FunctionError};
use gradjit::{Graph, Tensor, Value};
use ndarray::{arr1, arr2, ArrayD};

fn f64s(v: &[f64]) -> Value {
    Value::F64(arr1(v).into_dyn())
}

#[test]
fn value_and_grad_of_a_logistic_loss() {
    // loss(w, b) = mean(softplus(-t * (X @ w + b))): B3's loss as a closure
    let x = Value::F64(arr2(&[[1.0, 2.0], [-1.0, 0.5], [0.3, -0.2]]).into_dyn());
    let t = Value::F64(arr2(&[[1.0], [-1.0], [1.0]]).into_dyn());
    let w = Value::F64(arr2(&[[0.1], [-0.3]]).into_dyn());
    let b = f64s(&[0.05]);
    let f = value_and_grad(|_: &Graph, a: &[Tensor<'_>]| {
        (-(a[3] * (a[0].matmul(a[1]) + a[2]))).softplus().mean()
    })
    .argnums(&[1, 2]);
    let out = f
        .call(&[x.view(), w.view(), b.view(), t.view()])
        .expect("runs");
    // by hand: z_i = t_i (x_i . w + b); d loss / d z_i = -sigmoid(-z_i) / n
    let (xs, ts) = ([[1.0, 2.0], [-1.0, 0.5], [0.3, -0.2]], [1.0, -1.0, 1.0]);
    let (mut l, mut dw, mut db) = (0.0, [0.0; 2], 0.0);
    for i in 0..3 {
        let m = -ts[i] * (xs[i][0] * 0.1 + xs[i][1] * -0.3 + 0.05);
        l += (1.0 + f64::exp(m)).ln() / 3.0;
        let s = 1.0 / (1.0 + f64::exp(-m)) / 3.0;
        for k in 0..2 {
            dw[k] += -ts[i] * xs[i][k] * s;
        }
        db += -ts[i] * s;
    }
    let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
    assert!(close(out[0].to_f64_vec()[0], l));
    let got_dw = out[1].to_f64_vec();
    assert!(
        close(got_dw[0], dw[0]) && close(got_dw[1], dw[1]),
        "{got_dw:?}"
    );
    assert!(close(out[2].to_f64_vec()[0], db));
}

#[test]
fn grad_is_cached_per_shape_and_right_for_each() {
    let f = grad(|_: &Graph, a: &[Tensor<'_>]| (a[0] * a[0] * a[0]).sum());
    for v in [vec![1.0, 2.0], vec![0.5, -1.0, 3.0], vec![2.0]] {
        let out = f.call(&[f64s(&v).view()]).expect("runs");
        let want: Vec<f64> = v.iter().map(|x| 3.0 * x * x).collect();
        assert_eq!(out[0].to_f64_vec(), want);
    }
    // f32 arguments trace again
    let x = Value::F32(arr1(&[2.0f32]).into_dyn());
    assert_eq!(f.call(&[x.view()]).expect("runs")[0].to_f64_vec(), [12.0]);
}

#[test]
fn jvp_is_the_directional_derivative() {
    let f = jvp(|_: &Graph, a: &[Tensor<'_>]| a[0].tanh() * a[0]);
    let (x, v) = ([0.5, -1.0], [1.0, 2.0]);
    let out = f.call(&[f64s(&x).view(), f64s(&v).view()]).expect("runs");
    for i in 0..2 {
        let t = f64::tanh(x[i]);
        let want = (t + (1.0 - t * t) * x[i]) * v[i];
        assert!((out[0].to_f64_vec()[i] - t * x[i]).abs() < 1e-15);
        assert!((out[1].to_f64_vec()[i] - want).abs() < 1e-14);
    }
}

#[test]
fn hessian_of_rosenbrock() {
    let (a, b) = (0.7, -0.4);
    let out = hessian(|_: &Graph, a: &[Tensor<'_>]| {
        let (x0, x1): (Tensor<'_>, Tensor<'_>) = (a[0], a[1]);
        (1.0f64 - x0).square() + (x1 - x0.square()).square() * 100.0
    })
    .argnums(&[0, 1])
    .call(&[f64s(&[a]).view(), f64s(&[b]).view()])
    .expect("runs");
    // d2/dx0^2 = 2 - 400 (x1 - 3 x0^2), d2/dx1^2 = 200
    assert!((out[0].to_f64_vec()[0] - (2.0 - 400.0 * (b - 3.0 * a * a))).abs() < 1e-9);
    assert_eq!(out[1].to_f64_vec(), [200.0]);
}

#[test]
fn errors_are_results() {
    let x = f64s(&[1.0, 2.0]);
    let not_scalar = grad(|_: &Graph, a: &[Tensor<'_>]| a[0] * 2.0);
    assert!(matches!(
        not_scalar.call(&[x.view()]),
        Err(FunctionError::NotScalar { .. })
    ));
    let f = grad(|_: &Graph, a: &[Tensor<'_>]| a[0].sum()).argnums(&[3]);
    assert!(matches!(
        f.call(&[x.view()]),
        Err(FunctionError::ArgNum { .. })
    ));
    let two = grad(|_: &Graph, a: &[Tensor<'_>]| (a[0] * a[1]).sum());
    let y = Value::F32(ArrayD::zeros(ndarray::IxDyn(&[2])));
    assert!(matches!(
        two.call(&[x.view(), y.view()]),
        Err(FunctionError::MixedDTypes { .. })
    ));
    let unconnected = grad(|_: &Graph, a: &[Tensor<'_>]| a[1].sum()).argnums(&[0]);
    assert!(matches!(
        unconnected.call(&[x.view(), x.view()]),
        Err(FunctionError::Unconnected { argnum: 0 })
    ));
    let j = jvp(|_: &Graph, a: &[Tensor<'_>]| a[0] * 2.0).argnums(&[0, 1]);
    assert!(matches!(
        j.call(&[x.view()]),
        Err(FunctionError::Tangents { .. })
    ));
    // shapes that do not broadcast: the graph's error, not a panic
    let bad = grad(|_: &Graph, a: &[Tensor<'_>]| (a[0] + a[1]).sum());
    let z = f64s(&[1.0, 2.0, 3.0]);
    assert!(matches!(
        bad.call(&[x.view(), z.view()]),
        Err(FunctionError::Graph(_))
    ));
}
