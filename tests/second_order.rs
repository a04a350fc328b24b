//! Second derivatives: gradients of gradients, against finite differences of
//! the first derivative and against closed forms.

mod common;

use common::{assert_close, check_grad, rng, run, signed, uniform, vars, Input};
use gradjit::graph::{BinaryOp, ReduceOp, UnaryOp, BINARY_OPS, REDUCE_OPS, UNARY_OPS};
use gradjit::{DType, Graph, Shape, Tensor, Value};
use ndarray::{ArrayD, IxDyn};

/// `d/dx sum(y)`, which must exist.
fn grad<'g>(g: &'g Graph, y: Tensor<'g>, x: Tensor<'g>) -> Tensor<'g> {
    g.gradients(&[y], &[x]).expect("gradients")[0].expect("connected")
}

/// The second derivative of `sum(f(x))` by the symbolic route, evaluated at `x`.
fn second<F>(x: &ArrayD<f64>, f: F) -> Vec<f64>
where
    F: for<'g> Fn(Tensor<'g>) -> Tensor<'g>,
{
    let g = Graph::new();
    let xt = g.placeholder("x", DType::F64, Shape::known(x.shape()));
    let d1 = grad(&g, f(xt), xt);
    let d2 = grad(&g, d1, xt);
    run(&g, &[d2], &[(xt, Value::F64(x.clone()))]).remove(0)
}

#[test]
fn closed_forms_of_second_derivatives() {
    let mut r = rng(21);
    let x = uniform(&mut r, &[7], -2.0, 2.0);
    let xs: Vec<f64> = x.iter().copied().collect();
    let tol = (1e-12, 1e-12);

    // (x^3)'' = 6x
    let want: Vec<f64> = xs.iter().map(|v| 6.0 * v).collect();
    assert_close("(x*x*x)''", &second(&x, |x| x * x * x), &want, tol.0, tol.1);
    assert_close(
        "(x**3)''",
        &second(&x, |x| x.powf(3.0)),
        &want,
        1e-10,
        1e-10,
    );
    // sin'' = -sin
    let want: Vec<f64> = xs.iter().map(|v| -v.sin()).collect();
    assert_close("sin''", &second(&x, |x| x.sin()), &want, tol.0, tol.1);
    // tanh'' = -2 tanh (1 - tanh^2)
    let want: Vec<f64> = xs
        .iter()
        .map(|v| -2.0 * v.tanh() * (1.0 - v.tanh() * v.tanh()))
        .collect();
    assert_close("tanh''", &second(&x, |x| x.tanh()), &want, 1e-10, 1e-12);
    // sigmoid'' = s (1 - s) (1 - 2 s)
    let want: Vec<f64> = xs
        .iter()
        .map(|v| {
            let s = 1.0 / (1.0 + (-v).exp());
            s * (1.0 - s) * (1.0 - 2.0 * s)
        })
        .collect();
    assert_close(
        "sigmoid''",
        &second(&x, |x| x.sigmoid()),
        &want,
        1e-10,
        1e-12,
    );
    // exp'' = exp, log'' = -1/x^2 (x > 0)
    let want: Vec<f64> = xs.iter().map(|v| v.exp()).collect();
    assert_close("exp''", &second(&x, |x| x.exp()), &want, tol.0, tol.1);
    let xp = x.mapv(|v| v.abs() + 0.5);
    let want: Vec<f64> = xp.iter().map(|v| -1.0 / (v * v)).collect();
    assert_close("log''", &second(&xp, |x| x.log()), &want, tol.0, tol.1);
    // (x^3)''' = 6
    let g = Graph::new();
    let xt = g.placeholder("x", DType::F64, Shape::known(&[7]));
    let d3 = grad(&g, grad(&g, grad(&g, xt * xt * xt, xt), xt), xt);
    let got = run(&g, &[d3], &[(xt, Value::F64(x.clone()))]).remove(0);
    assert_close("(x^3)'''", &got, &[6.0; 7], tol.0, tol.1);
}

#[test]
fn mixed_partial_of_a_product_is_one() {
    for shape in [&[][..], &[3][..]] {
        let g = Graph::new();
        let x = g.placeholder("x", DType::F64, Shape::known(shape));
        let y = g.placeholder("y", DType::F64, Shape::known(shape));
        let z = x * y;
        let dzdx = grad(&g, z, x);
        let gs = g.gradients(&[dzdx], &[y, x]).unwrap();
        let dxy = gs[0].expect("d2z/dxdy is connected");
        // d2z/dx2: dz/dx = y does not depend on x
        assert!(gs[1].is_none(), "d2(x*y)/dx2 should be None");
        let dyx = grad(&g, grad(&g, z, y), x);
        let n = shape.iter().product::<usize>();
        let xv = Value::F64(ArrayD::from_elem(IxDyn(shape), 2.0));
        let yv = Value::F64(ArrayD::from_elem(IxDyn(shape), -5.0));
        let out = run(&g, &[dxy, dyx], &[(x, xv), (y, yv)]);
        assert_close("d2(xy)/dxdy", &out[0], &vec![1.0; n], 0.0, 0.0);
        assert_close("d2(xy)/dydx", &out[1], &vec![1.0; n], 0.0, 0.0);
    }
}

/// A function of one tensor.
type Unary = for<'g> fn(Tensor<'g>) -> Tensor<'g>;

#[test]
fn second_derivatives_match_finite_differences_of_the_first() {
    let mut r = rng(22);
    let x = uniform(&mut r, &[2, 3], 0.3, 2.0);
    let fs: [(&str, Unary); 6] = [
        ("x^3", |x| x * x * x),
        ("sin", |x| x.sin()),
        ("tanh", |x| x.tanh()),
        ("sigmoid", |x| x.sigmoid()),
        ("x * exp(-x^2)", |x| x * (-(x * x)).exp()),
        ("log(x) * sqrt(x)", |x| x.log() * x.sqrt()),
    ];
    for (name, f) in fs {
        check_grad(&format!("({name})''"), &vars([x.clone()]), |g, xs| {
            grad(g, f(xs[0]), xs[0])
        });
    }
}

/// Whether the first derivative of a unary op still depends on x
/// (TensorFlow: `neg`'s is `-g` and `sign`'s a constant zero, so no path).
fn unary_second_connected(op: UnaryOp) -> bool {
    match op {
        UnaryOp::Neg | UnaryOp::Sign | UnaryOp::Floor | UnaryOp::Ceil | UnaryOp::Round => false,
        UnaryOp::Abs
        | UnaryOp::Exp
        | UnaryOp::Log
        | UnaryOp::Log1p
        | UnaryOp::Expm1
        | UnaryOp::Sqrt
        | UnaryOp::Rsqrt
        | UnaryOp::Square
        | UnaryOp::Reciprocal
        | UnaryOp::Sin
        | UnaryOp::Cos
        | UnaryOp::Tanh
        | UnaryOp::Sigmoid
        | UnaryOp::Softplus
        | UnaryOp::Relu
        | UnaryOp::Relu6
        | UnaryOp::Softsign
        | UnaryOp::Elu
        | UnaryOp::Selu
        | UnaryOp::Silu
        | UnaryOp::Tan
        | UnaryOp::Asin
        | UnaryOp::Acos
        | UnaryOp::Atan
        | UnaryOp::Sinh
        | UnaryOp::Cosh
        | UnaryOp::Asinh
        | UnaryOp::Acosh
        | UnaryOp::Atanh
        | UnaryOp::Erf
        | UnaryOp::Erfc
        | UnaryOp::Gelu => true,
    }
}

#[test]
fn every_unary_op_differentiates_twice() {
    let mut r = rng(23);
    for op in UNARY_OPS {
        let x = match op {
            UnaryOp::Floor | UnaryOp::Ceil | UnaryOp::Round => continue,
            UnaryOp::Log | UnaryOp::Sqrt | UnaryOp::Rsqrt => uniform(&mut r, &[5], 0.3, 3.0),
            UnaryOp::Log1p => uniform(&mut r, &[5], -0.7, 2.0),
            // kinks at 0 (relu6's other one at 6 is beyond this range)
            UnaryOp::Abs
            | UnaryOp::Sign
            | UnaryOp::Relu
            | UnaryOp::Relu6
            | UnaryOp::Softsign
            | UnaryOp::Elu
            | UnaryOp::Selu
            | UnaryOp::Reciprocal => signed(&mut r, &[5], 0.3, 2.0),
            // inside the domains, away from poles and infinite derivatives
            UnaryOp::Tan => uniform(&mut r, &[5], -1.2, 1.2),
            UnaryOp::Asin | UnaryOp::Acos | UnaryOp::Atanh => uniform(&mut r, &[5], -0.8, 0.8),
            UnaryOp::Acosh => uniform(&mut r, &[5], 1.3, 3.0),
            _ => uniform(&mut r, &[5], -2.0, 2.0),
        };
        let input = if unary_second_connected(op) {
            Input::Var(x)
        } else {
            Input::NoGrad(x)
        };
        check_grad(&format!("{}''", op.name()), &[input], |g, xs| {
            grad(g, xs[0].unary(op), xs[0])
        });
    }
}

/// Which inputs the first derivatives of a binary op still depend on.
fn binary_second_connected(op: BinaryOp) -> (bool, bool) {
    match op {
        // constant first derivatives, or only masks from comparisons
        BinaryOp::Add
        | BinaryOp::Sub
        | BinaryOp::Maximum
        | BinaryOp::Minimum
        | BinaryOp::Lt
        | BinaryOp::Le
        | BinaryOp::Gt
        | BinaryOp::Ge
        | BinaryOp::Eq
        | BinaryOp::Ne => (false, false),
        BinaryOp::Mul
        | BinaryOp::Div
        | BinaryOp::Pow
        | BinaryOp::MulNoNan
        | BinaryOp::DivNoNan
        | BinaryOp::Xdivy
        | BinaryOp::Atan2
        // d/da xlogy = xlogy([a != 0], b) depends on b only, d/db = xdivy(a, b) on both
        | BinaryOp::Xlogy => (true, true),
        // relu_grad(g, x) w.r.t. x is a connected zero; w.r.t. g it is a mask
        BinaryOp::ReluGrad => (false, true),
    }
}

#[test]
fn every_binary_op_differentiates_twice() {
    let mut r = rng(24);
    let pairs: [(&[usize], &[usize]); 3] = [(&[2, 3], &[2, 3]), (&[3, 1], &[4]), (&[], &[2, 2])];
    for op in BINARY_OPS {
        for (sa, sb) in pairs {
            let (a, b) = match op {
                BinaryOp::Pow => (
                    uniform(&mut r, sa, 0.5, 2.0),
                    uniform(&mut r, sb, -2.0, 2.0),
                ),
                BinaryOp::Div | BinaryOp::ReluGrad | BinaryOp::MulNoNan | BinaryOp::DivNoNan => {
                    (uniform(&mut r, sa, -2.0, 2.0), signed(&mut r, sb, 0.3, 2.0))
                }
                // a away from 0, where xlogy and xdivy are a ln b and a / b
                BinaryOp::Xlogy => (signed(&mut r, sa, 0.3, 2.0), uniform(&mut r, sb, 0.5, 2.0)),
                BinaryOp::Xdivy => (signed(&mut r, sa, 0.3, 2.0), signed(&mut r, sb, 0.5, 2.0)),
                // away from the origin and the cut along the negative x axis
                BinaryOp::Atan2 => (signed(&mut r, sa, 0.3, 2.0), signed(&mut r, sb, 0.3, 2.0)),
                _ => (
                    uniform(&mut r, sa, -2.0, 2.0),
                    uniform(&mut r, sb, 3.0, 4.0),
                ),
            };
            let (ca, cb) = binary_second_connected(op);
            let inputs = [
                if ca { Input::Var(a) } else { Input::NoGrad(a) },
                if cb { Input::Var(b) } else { Input::NoGrad(b) },
            ];
            let wa = signed(&mut r, sa, 0.5, 1.5);
            let wb = signed(&mut r, sb, 0.5, 1.5);
            check_grad(
                &format!("{}({sa:?}, {sb:?})''", op.name()),
                &inputs,
                |g, xs| {
                    let y = xs[0].binary(op, xs[1]);
                    let gs = g.gradients(&[y], &[xs[0], xs[1]]).unwrap();
                    // the first derivatives, each weighted so no error cancels
                    let mut terms = Vec::new();
                    if let Some(ga) = gs[0] {
                        terms.push((ga * g.constant(&wa)).sum());
                    }
                    if let Some(gb) = gs[1] {
                        terms.push((gb * g.constant(&wb)).sum());
                    }
                    terms
                        .into_iter()
                        .reduce(|p, q| p + q)
                        .unwrap_or_else(|| g.scalar(0.0, DType::F64))
                },
            );
        }
    }
}

#[test]
fn reductions_and_matmul_differentiate_twice() {
    let mut r = rng(25);
    for op in REDUCE_OPS {
        let x = uniform(&mut r, &[3, 4], -2.0, 2.0);
        // only logsumexp's gradient (the softmax) and prod's (the others'
        // products) depend on x
        let input = if matches!(op, ReduceOp::LogSumExp | ReduceOp::Prod) {
            Input::Var(x)
        } else {
            Input::NoGrad(x)
        };
        let w = signed(&mut r, &[3, 4], 0.5, 1.5);
        check_grad(&format!("{}(x, 1)''", op.name()), &[input], |g, xs| {
            let d = grad(g, xs[0].reduce_axes(op, &[1], false), xs[0]);
            d * g.constant(&w)
        });
    }
    let a = uniform(&mut r, &[2, 3, 4], -2.0, 2.0);
    let b = uniform(&mut r, &[4, 2], -2.0, 2.0);
    let wa = signed(&mut r, &[2, 3, 4], 0.5, 1.5);
    let wb = signed(&mut r, &[4, 2], 0.5, 1.5);
    check_grad("matmul''", &vars([a, b]), |g, xs| {
        let y = xs[0].matmul(xs[1]).sin();
        let gs = g.gradients(&[y], &[xs[0], xs[1]]).unwrap();
        (gs[0].unwrap() * g.constant(&wa)).sum() + (gs[1].unwrap() * g.constant(&wb)).sum()
    });
}

#[test]
fn hessian_vector_product() {
    // f(x) = 1/2 x^T A x + sum(sin x) + (sum x)^2 / 2, x a column [n, 1]
    // H = (A + A^T)/2 + diag(-sin x) + ones; Hv = (A + A^T)/2 v - sin(x) v + sum(v)
    let n = 4;
    let mut r = rng(26);
    let a = uniform(&mut r, &[n, n], -1.0, 1.0);
    let x = uniform(&mut r, &[n, 1], -2.0, 2.0);
    let v = uniform(&mut r, &[n, 1], -1.0, 1.0);
    let sum_v: f64 = v.iter().sum();
    let want: Vec<f64> = (0..n)
        .map(|i| {
            let sym: f64 = (0..n)
                .map(|j| 0.5 * (a[[i, j]] + a[[j, i]]) * v[[j, 0]])
                .sum();
            sym - x[[i, 0]].sin() * v[[i, 0]] + sum_v
        })
        .collect();

    let g = Graph::new();
    let xt = g.placeholder("x", DType::F64, Shape::known(&[n, 1]));
    let vt = g.placeholder("v", DType::F64, Shape::known(&[n, 1]));
    let at = g.constant(&a);
    let s = xt.sum();
    let f = 0.5 * xt.transpose(None).matmul(at).matmul(xt) + xt.sin().sum() + 0.5 * s * s;
    let gx = grad(&g, f, xt);
    let hv = grad(&g, gx * vt, xt);
    let feeds = |xv: &ArrayD<f64>| vec![(xt, Value::F64(xv.clone())), (vt, Value::F64(v.clone()))];
    let got = run(&g, &[hv], &feeds(&x)).remove(0);
    assert_close("Hv vs closed form", &got, &want, 1e-12, 1e-12);

    // and against central differences of the gradient along v
    let h = 1e-5;
    let plus = run(&g, &[gx], &feeds(&(&x + &(&v * h)))).remove(0);
    let minus = run(&g, &[gx], &feeds(&(&x - &(&v * h)))).remove(0);
    let fd: Vec<f64> = plus
        .iter()
        .zip(&minus)
        .map(|(p, m)| (p - m) / (2.0 * h))
        .collect();
    assert_close("Hv vs differences of the gradient", &got, &fd, 1e-6, 1e-8);
}

#[test]
fn softmax_and_cross_entropy_differentiate_twice() {
    let mut r = rng(25);
    let x = uniform(&mut r, &[2, 5], -2.0, 2.0);
    let w = uniform(&mut r, &[2, 5], -1.0, 1.0);
    let labels = uniform(&mut r, &[2, 5], 0.0, 1.0);
    let inputs = vars([x]);
    // each first derivative weighted again, so that no second derivative is
    // the derivative of a constant
    check_grad("softmax''", &inputs, |g, xs| {
        let w = g.constant(&w);
        grad(g, xs[0].softmax(-1) * w, xs[0]) * w
    });
    check_grad("log_softmax''", &inputs, |g, xs| {
        let w = g.constant(&w);
        grad(g, xs[0].log_softmax(0) * w, xs[0]) * w
    });
    check_grad("softmax_cross_entropy'' (logits)", &inputs, |g, xs| {
        let l = g.constant(&labels);
        grad(g, l.softmax_cross_entropy(xs[0]), xs[0]) * g.constant(&w)
    });
}
