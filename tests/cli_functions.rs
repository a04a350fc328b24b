//! The function table through `gradjit eval` and `gradjit grad`, on every
//! engine, against values computed here from std math (and by hand in the
//! comments): the elementwise functions and their derivatives, the
//! reductions with every axis form, `grad` and `stop_gradient` (the shape
//! functions are in cli_shapes.rs).

mod cli_support;

use cli_support::*;
use serde_json::Value as Json;
use std::f64::consts::{FRAC_2_SQRT_PI, FRAC_PI_2, FRAC_PI_4, PI, SQRT_2};

/// `[a, b, c]` as a JSON feed.
fn list(xs: &[f64]) -> String {
    let items: Vec<String> = xs.iter().map(|v| format!("{v:?}")).collect();
    format!("[{}]", items.join(", "))
}

/// `grad --json` of `args` (options and program) on one engine.
fn grad_json(engine: &str, args: &[&str]) -> Json {
    let mut full = vec!["grad", "--json", "--engine", engine];
    full.extend_from_slice(args);
    json(&full)
}

const GENERAL: [f64; 5] = [-1.5, -0.5, 0.0, 0.5, 2.0];
const POSITIVE: [f64; 4] = [0.25, 1.0, 2.5, 4.0];
const ABOVE_MINUS_ONE: [f64; 4] = [-0.5, 0.0, 0.5, 3.0];

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// The one-argument functions: name, inputs, value, derivative.
#[allow(clippy::type_complexity)]
fn unary_table() -> Vec<(&'static str, &'static [f64], fn(f64) -> f64, fn(f64) -> f64)> {
    vec![
        ("neg", &GENERAL, |x| -x, |_| -1.0),
        ("abs", &GENERAL, f64::abs, sign),
        // sign has gradient zero (not none)
        ("sign", &GENERAL, sign, |_| 0.0),
        ("exp", &GENERAL, f64::exp, f64::exp),
        ("log", &POSITIVE, f64::ln, |x| 1.0 / x),
        ("log1p", &ABOVE_MINUS_ONE, f64::ln_1p, |x| 1.0 / (1.0 + x)),
        ("expm1", &GENERAL, f64::exp_m1, f64::exp),
        ("sqrt", &POSITIVE, f64::sqrt, |x| 0.5 / x.sqrt()),
        (
            "rsqrt",
            &POSITIVE,
            |x| 1.0 / x.sqrt(),
            |x| -0.5 * x.powf(-1.5),
        ),
        ("square", &GENERAL, |x| x * x, |x| 2.0 * x),
        ("reciprocal", &POSITIVE, |x| 1.0 / x, |x| -1.0 / (x * x)),
        ("sin", &GENERAL, f64::sin, f64::cos),
        ("cos", &GENERAL, f64::cos, |x| -x.sin()),
        ("tanh", &GENERAL, f64::tanh, |x| 1.0 - x.tanh() * x.tanh()),
        ("sigmoid", &GENERAL, sigmoid, |x| {
            sigmoid(x) * (1.0 - sigmoid(x))
        }),
        // relu at 0 sends 0, as TensorFlow
        (
            "relu",
            &GENERAL,
            |x| x.max(0.0),
            |x| if x > 0.0 { 1.0 } else { 0.0 },
        ),
        ("softplus", &GENERAL, |x| x.exp().ln_1p(), sigmoid),
        // version 2. relu6 has gradient 0 at both kinks (Relu6Grad)
        (
            "relu6",
            &ACTIVATION,
            |x| x.clamp(0.0, 6.0),
            |x| if x > 0.0 && x < 6.0 { 1.0 } else { 0.0 },
        ),
        (
            "softsign",
            &ACTIVATION,
            |x| x / (1.0 + x.abs()),
            |x| 1.0 / ((1.0 + x.abs()) * (1.0 + x.abs())),
        ),
        // elu at 0 has gradient 1 (EluGrad reads y < 0)
        (
            "elu",
            &ACTIVATION,
            |x| if x < 0.0 { x.exp_m1() } else { x },
            |x| if x < 0.0 { x.exp() } else { 1.0 },
        ),
        (
            "selu",
            &ACTIVATION,
            |x| SELU_SCALE * if x < 0.0 { SELU_ALPHA * x.exp_m1() } else { x },
            |x| SELU_SCALE * if x < 0.0 { SELU_ALPHA * x.exp() } else { 1.0 },
        ),
        (
            "silu",
            &ACTIVATION,
            |x| x * sigmoid(x),
            |x| sigmoid(x) * (1.0 + x * (1.0 - sigmoid(x))),
        ),
        // version 2, tf.math: derivatives as TensorFlow's registered
        // gradients (equal to the textbook ones away from the domain ends)
        ("tan", &GENERAL, f64::tan, |x| 1.0 / (x.cos() * x.cos())),
        ("asin", &INSIDE, f64::asin, |x| 1.0 / (1.0 - x * x).sqrt()),
        ("acos", &INSIDE, f64::acos, |x| -1.0 / (1.0 - x * x).sqrt()),
        ("atan", &GENERAL, f64::atan, |x| 1.0 / (1.0 + x * x)),
        ("sinh", &GENERAL, f64::sinh, f64::cosh),
        ("cosh", &GENERAL, f64::cosh, f64::sinh),
        (
            "asinh",
            &GENERAL,
            |x| x.signum() * (x.abs() + (x * x + 1.0).sqrt()).ln(),
            |x| 1.0 / (x * x + 1.0).sqrt(),
        ),
        (
            "acosh",
            &ABOVE_ONE,
            |x| (x + (x * x - 1.0).sqrt()).ln(),
            |x| 1.0 / (x * x - 1.0).sqrt(),
        ),
        (
            "atanh",
            &INSIDE,
            |x| 0.5 * ((1.0 + x) / (1.0 - x)).ln(),
            |x| 1.0 / (1.0 - x * x),
        ),
        ("erf", &GENERAL, erf, |x| FRAC_2_SQRT_PI * (-x * x).exp()),
        (
            "erfc",
            &GENERAL,
            |x| 1.0 - erf(x),
            |x| -FRAC_2_SQRT_PI * (-x * x).exp(),
        ),
        // x Phi(x), Phi the standard normal CDF; its derivative Phi + x phi
        (
            "gelu",
            &ACTIVATION,
            |x| 0.5 * x * (1.0 + erf(x / SQRT_2)),
            |x| 0.5 * (1.0 + erf(x / SQRT_2)) + x * (-0.5 * x * x).exp() / (2.0 * PI).sqrt(),
        ),
    ]
}

/// Inside `(-1, 1)`, where asin, acos and atanh are defined.
const INSIDE: [f64; 5] = [-0.9, -0.5, 0.0, 0.5, 0.9];
/// Above 1, where acosh is differentiable.
const ABOVE_ONE: [f64; 4] = [1.25, 2.0, 3.5, 10.0];

/// `erf(x) = 2/sqrt(pi) e^(-x^2) sum 2^n x^(2n+1) / (2n+1)!!` (Abramowitz and
/// Stegun 7.1.6): its terms have one sign, so nothing cancels.
fn erf(x: f64) -> f64 {
    let (mut term, mut sum) = (x, x);
    for n in 1..200 {
        term *= 2.0 * x * x / (2 * n + 1) as f64;
        sum += term;
    }
    FRAC_2_SQRT_PI * (-x * x).exp() * sum
}

/// Around both kinks of relu6.
const ACTIVATION: [f64; 7] = [-1.5, -0.5, 0.0, 0.5, 2.0, 6.0, 7.0];
/// selu's constants (Klambauer et al., 2017; TensorFlow's kernel).
const SELU_SCALE: f64 = 1.050_700_987_355_480_5;
const SELU_ALPHA: f64 = 1.673_263_242_354_377_3;

/// sign(0) = 0, unlike `f64::signum`.
fn sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

#[test]
fn elementwise_one_argument_values_in_f64() {
    for (name, xs, f, _) in unary_table() {
        let feed = format!("x={}", list(xs));
        let program = format!("{name}(x)");
        let want: Vec<f64> = xs.iter().map(|&x| f(x)).collect();
        eval_all_engines(
            &["--dtype", "f64", "--feed", &feed, &program],
            &[xs.len()],
            &want,
            1e-13,
            1e-15,
        );
    }
}

#[test]
fn elementwise_one_argument_values_in_f32() {
    for (name, xs, f, _) in unary_table() {
        let feed = format!("x={}", list(xs));
        let program = format!("{name}(x)");
        // the f32 input is exact for these values; the result is rounded to f32
        let want: Vec<f64> = xs.iter().map(|&x| f32r(f(x))).collect();
        eval_all_engines(
            &["--feed", &feed, &program],
            &[xs.len()],
            &want,
            4e-7,
            1e-12,
        );
    }
}

#[test]
fn elementwise_one_argument_derivatives() {
    for (name, xs, _, df) in unary_table() {
        let feed = format!("x={}", list(xs));
        let program = format!("{name}(x)");
        let want: Vec<f64> = xs.iter().map(|&x| df(x)).collect();
        for e in ENGINES {
            let j = grad_json(
                e,
                &["--dtype", "f64", "--wrt", "x", "--feed", &feed, &program],
            );
            let got = tensor(&j["grads"]["x"]);
            assert_tensor(
                &got,
                &[xs.len()],
                &want,
                1e-12,
                1e-14,
                &format!("d {name} on {e}"),
            );
        }
    }
}

#[test]
fn floor_values_and_no_gradient() {
    let xs = [-1.5, -0.5, 0.0, 0.5, 2.0];
    let feed = format!("x={}", list(&xs));
    eval_all_engines(
        &["--feed", &feed, "floor(x)"],
        &[5],
        &[-2.0, -1.0, 0.0, 0.0, 2.0],
        0.0,
        0.0,
    );
    // the gradient of floor is none: JSON null, or zeros with --unconnected zero
    let j = grad_json("jit", &["--wrt", "x", "--feed", &feed, "floor(x)"]);
    assert_eq!(j["grads"]["x"], Json::Null, "{j}");
    let j = grad_json(
        "jit",
        &[
            "--wrt",
            "x",
            "--unconnected",
            "zero",
            "--feed",
            &feed,
            "floor(x)",
        ],
    );
    assert_tensor(&tensor(&j["grads"]["x"]), &[5], &[0.0; 5], 0.0, 0.0, "zero");
}

#[test]
fn ceil_and_round_half_to_even_values_and_no_gradient() {
    let xs = [-2.5, -1.5, -0.5, 0.2, 0.5, 1.5, 2.5, 2.6];
    let feed = format!("x={}", list(&xs));
    let cases: [(&str, [f64; 8]); 2] = [
        ("ceil(x)", [-2.0, -1.0, -0.0, 1.0, 1.0, 2.0, 3.0, 3.0]),
        // ties go to the even neighbour
        ("round(x)", [-2.0, -2.0, -0.0, 0.0, 0.0, 2.0, 2.0, 3.0]),
    ];
    for (program, want) in cases {
        eval_all_engines(&["--feed", &feed, program], &[8], &want, 0.0, 0.0);
        let j = grad_json("jit", &["--wrt", "x", "--feed", &feed, program]);
        assert_eq!(j["grads"]["x"], Json::Null, "{program}: {j}");
    }
}

#[test]
fn leaky_relu_sends_alpha_at_zero() {
    // TensorFlow's alpha is a 32-bit attribute: 0.2 is 0.2f32 in f64 too
    let xs = [-2.0, 0.0, 3.0];
    let feed = format!("x={}", list(&xs));
    for (program, alpha) in [("leaky_relu(x)", f32r(0.2)), ("leaky_relu(x, 0.5)", 0.5)] {
        eval_all_engines(
            &["--dtype", "f64", "--feed", &feed, program],
            &[3],
            &[-2.0 * alpha, 0.0, 3.0],
            0.0,
            0.0,
        );
        for e in ENGINES {
            let j = grad_json(
                e,
                &["--dtype", "f64", "--wrt", "x", "--feed", &feed, program],
            );
            let got = tensor(&j["grads"]["x"]);
            assert_tensor(&got, &[3], &[alpha, alpha, 1.0], 0.0, 0.0, program);
        }
    }
}

#[test]
fn no_nan_quotients_xlogy_and_squared_difference() {
    // (program, a, b, value, d/da, d/db), by hand from TensorFlow's kernels
    // and registered gradients (DivNoNanGrad, XlogyGrad, SquaredDifference)
    let ln3 = 3f64.ln();
    type Case = (
        &'static str,
        [f64; 3],
        [f64; 3],
        [f64; 3],
        [f64; 3],
        [f64; 3],
    );
    let cases: [Case; 3] = [
        // 0 where b = 0; d/da = div_no_nan(1, b), d/db = div_no_nan(-a/b, b)
        (
            "div_no_nan(a, b)",
            [1.0, 2.0, 0.0],
            [0.0, 4.0, 0.0],
            [0.0, 0.5, 0.0],
            [0.0, 0.25, 0.0],
            [0.0, -0.125, 0.0],
        ),
        // 0 where a = 0, even for b = 0; d/da = log(b) where a != 0, d/db = a / b
        (
            "xlogy(a, b)",
            [0.0, 2.0, -1.0],
            [0.0, 3.0, 1.0],
            [0.0, 2.0 * ln3, 0.0],
            [0.0, ln3, 0.0],
            [0.0, 2.0 / 3.0, -1.0],
        ),
        // (a - b)^2, d/da = 2 (a - b) = -d/db
        (
            "squared_difference(a, b)",
            [3.0, -1.0, 0.5],
            [1.0, 1.0, 0.5],
            [4.0, 4.0, 0.0],
            [4.0, -4.0, 0.0],
            [-4.0, 4.0, 0.0],
        ),
    ];
    for (program, a, b, value, da, db) in cases {
        let (fa, fb) = (format!("a={}", list(&a)), format!("b={}", list(&b)));
        let args = ["--dtype", "f64", "--feed", &fa, "--feed", &fb, program];
        eval_all_engines(&args, &[3], &value, 1e-15, 0.0);
        for e in ENGINES {
            let mut full = vec!["--wrt", "a,b"];
            full.extend_from_slice(&args);
            let j = grad_json(e, &full);
            let what = format!("{program} on {e}");
            assert_tensor(&tensor(&j["grads"]["a"]), &[3], &da, 1e-15, 0.0, &what);
            assert_tensor(&tensor(&j["grads"]["b"]), &[3], &db, 1e-15, 0.0, &what);
        }
    }
}

#[test]
fn atan2_quadrants_zeros_and_its_gradient() {
    // atan2(y, x) in each quadrant, on the axes and at the origin (C99's
    // signed zeros: atan2(0, -1) = pi, atan2(0, 0) = 0)
    let y = [1.0, 1.0, -1.0, -1.0, 0.0, 0.0, 2.0, 0.0];
    let x = [1.0, -1.0, -1.0, 1.0, -1.0, 3.0, 0.0, 0.0];
    let value = [
        FRAC_PI_4,
        3.0 * FRAC_PI_4,
        -3.0 * FRAC_PI_4,
        -FRAC_PI_4,
        PI,
        0.0,
        FRAC_PI_2,
        0.0,
    ];
    // Atan2Grad: d/dy = x / (x^2 + y^2), d/dx = -y / (x^2 + y^2); NaN at
    // the origin (0 / 0), as TensorFlow's
    let nan = f64::NAN;
    let dy = [0.5, -0.5, -0.5, 0.5, -1.0, 1.0 / 3.0, 0.0, nan];
    let dx = [-0.5, -0.5, 0.5, 0.5, 0.0, 0.0, -0.5, nan];
    let (fy, fx) = (format!("y={}", list(&y)), format!("x={}", list(&x)));
    for dtype in ["f32", "f64"] {
        let args = [
            "--dtype",
            dtype,
            "--feed",
            &fy,
            "--feed",
            &fx,
            "atan2(y, x)",
        ];
        let want: Vec<f64> = if dtype == "f32" {
            value.iter().map(|&v| f32r(v)).collect()
        } else {
            value.to_vec()
        };
        // f32 results print with 9 significant digits
        let rtol = if dtype == "f32" { 1e-8 } else { 1e-15 };
        eval_all_engines(&args, &[8], &want, rtol, 0.0);
        for e in ENGINES {
            let mut full = vec!["--wrt", "y,x"];
            full.extend_from_slice(&args);
            let j = grad_json(e, &full);
            let what = format!("atan2 {dtype} on {e}");
            assert_tensor(&tensor(&j["grads"]["y"]), &[8], &dy, 1e-7, 0.0, &what);
            assert_tensor(&tensor(&j["grads"]["x"]), &[8], &dx, 1e-7, 0.0, &what);
        }
    }
}

#[test]
fn version2_functions_at_their_special_points() {
    // by hand: domain ends and the values TensorFlow's kernels give there
    // (feeds are JSON, which has no infinity: 1e30 stands for it)
    let inf = f64::INFINITY;
    let big = 1e30;
    let nan = f64::NAN;
    let cases: [(&str, &[f64], &[f64]); 8] = [
        ("asin(x)", &[1.0, -1.0, 2.0], &[FRAC_PI_2, -FRAC_PI_2, nan]),
        ("acos(x)", &[1.0, -1.0, -2.0], &[0.0, PI, nan]),
        (
            "atan(x)",
            &[big, -big, 1.0],
            &[FRAC_PI_2, -FRAC_PI_2, FRAC_PI_4],
        ),
        ("acosh(x)", &[1.0, 0.5, -1.0], &[0.0, nan, nan]),
        ("atanh(x)", &[1.0, -1.0, 2.0], &[inf, -inf, nan]),
        ("erf(x)", &[0.0, big, -big], &[0.0, 1.0, -1.0]),
        ("erfc(x)", &[0.0, big, -big], &[1.0, 0.0, 2.0]),
        // gelu(x) = x Phi(x): 0 at 0, x for large x, 0 far below
        ("gelu(x)", &[0.0, 10.0, -40.0], &[0.0, 10.0, -0.0]),
    ];
    for (program, xs, want) in cases {
        let feed = format!("x={}", list(xs));
        for dtype in ["f32", "f64"] {
            let w: Vec<f64> = want
                .iter()
                .map(|&v| if dtype == "f32" { f32r(v) } else { v })
                .collect();
            // f32 results print with 9 significant digits
            let rtol = if dtype == "f32" { 1e-8 } else { 0.0 };
            let args = ["--dtype", dtype, "--feed", &feed, program];
            eval_all_engines(&args, &[3], &w, rtol, 0.0);
        }
    }
    // d acosh at 1 is 1 / sinh(0) = inf (AcoshGrad reads the output)
    for e in ENGINES {
        let j = grad_json(
            e,
            &[
                "--dtype", "f64", "--wrt", "x", "--feed", "x=[1.0]", "acosh(x)",
            ],
        );
        assert_tensor(&tensor(&j["grads"]["x"]), &[1], &[inf], 0.0, 0.0, e);
    }
}

#[test]
fn pow_and_the_power_operator() {
    // pow([2, 9, 0.5], [3, 0.5, -2]) = [8, 3, 4]
    let args = ["--feed", "a=[2, 9, 0.5]", "--feed", "b=[3, 0.5, -2]"];
    for program in ["pow(a, b)", "a ** b"] {
        let mut full = args.to_vec();
        full.push(program);
        eval_all_engines(&full, &[3], &[8.0, 3.0, 4.0], 1e-6, 0.0);
    }
    // d/da = b a^(b-1) = [12, 1/6, -16]; d/db = a^b ln a = [8 ln 2, 3 ln 9, 4 ln 0.5]
    for e in ENGINES {
        let mut full = vec!["--dtype", "f64", "--wrt", "a,b"];
        full.extend_from_slice(&args);
        full.push("pow(a, b)");
        let j = grad_json(e, &full);
        let da = tensor(&j["grads"]["a"]);
        assert_tensor(
            &da,
            &[3],
            &[12.0, 1.0 / 6.0, -16.0],
            1e-12,
            0.0,
            "d pow / da",
        );
        let db = tensor(&j["grads"]["b"]);
        let want = [8.0 * 2f64.ln(), 3.0 * 9f64.ln(), 4.0 * 0.5f64.ln()];
        assert_tensor(&db, &[3], &want, 1e-12, 0.0, "d pow / db");
    }
    // the gradient with respect to b is 0 wherever a <= 0: (-2)^2 = 4, 0^2 = 0
    let j = grad_json(
        "interp",
        &[
            "--wrt",
            "b",
            "--feed",
            "a=[-2, 0]",
            "--feed",
            "b=[2, 2]",
            "pow(a, b)",
        ],
    );
    assert_tensor(&tensor(&j["ys"]["y"]), &[2], &[4.0, 0.0], 0.0, 0.0, "pow");
    assert_tensor(
        &tensor(&j["grads"]["b"]),
        &[2],
        &[0.0, 0.0],
        0.0,
        0.0,
        "d/db",
    );
}

#[test]
fn maximum_and_minimum_send_ties_to_the_first_argument() {
    let args = ["--feed", "a=[1, 5, 3]", "--feed", "b=[4, 2, 3]"];
    for (f, value, da, db) in [
        ("maximum", [4.0, 5.0, 3.0], [0.0, 1.0, 1.0], [1.0, 0.0, 0.0]),
        ("minimum", [1.0, 2.0, 3.0], [1.0, 0.0, 1.0], [0.0, 1.0, 0.0]),
    ] {
        let program = format!("{f}(a, b)");
        let mut full = args.to_vec();
        full.push(&program);
        eval_all_engines(&full, &[3], &value, 0.0, 0.0);
        for e in ENGINES {
            let mut full = vec!["--wrt", "a,b"];
            full.extend_from_slice(&args);
            full.push(&program);
            let j = grad_json(e, &full);
            assert_tensor(&tensor(&j["grads"]["a"]), &[3], &da, 0.0, 0.0, f);
            assert_tensor(&tensor(&j["grads"]["b"]), &[3], &db, 0.0, 0.0, f);
        }
    }
}

#[test]
fn where_picks_a_where_cond_is_nonzero() {
    // cond = [1, 0, -2]: nonzero (even negative) picks a
    let args = [
        "--feed",
        "c=[1, 0, -2]",
        "--feed",
        "a=[10, 20, 30]",
        "--feed",
        "b=[1, 2, 3]",
        "where(c, a, b)",
    ];
    eval_all_engines(&args, &[3], &[10.0, 2.0, 30.0], 0.0, 0.0);
    for e in ENGINES {
        let mut full = vec!["--wrt", "a,b,c"];
        full.extend_from_slice(&args);
        let j = grad_json(e, &full);
        assert_tensor(
            &tensor(&j["grads"]["a"]),
            &[3],
            &[1.0, 0.0, 1.0],
            0.0,
            0.0,
            "a",
        );
        assert_tensor(
            &tensor(&j["grads"]["b"]),
            &[3],
            &[0.0, 1.0, 0.0],
            0.0,
            0.0,
            "b",
        );
        // no gradient flows to the condition, as in TensorFlow
        assert_eq!(j["grads"]["c"], Json::Null, "{j}");
    }
    // a comparison as the condition, with broadcasting of a scalar branch
    let args = ["--feed", "x=[-1, 2, -3]", "where(x > 0, x, 0)"];
    eval_all_engines(&args, &[3], &[0.0, 2.0, 0.0], 0.0, 0.0);
}

/// x = [[1, 5, 3], [4, 2, 6]]
const X23: &str = "x=[[1, 5, 3], [4, 2, 6]]";

#[test]
fn reductions_over_all_axes() {
    let lse = |v: &[f64]| {
        let m = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        m + v.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
    };
    let all = [1.0, 5.0, 3.0, 4.0, 2.0, 6.0];
    for (program, want) in [
        ("sum(x)", 21.0),
        ("mean(x)", 3.5),
        ("max(x)", 6.0),
        ("min(x)", 1.0),
        ("logsumexp(x)", lse(&all)),
    ] {
        eval_all_engines(
            &["--dtype", "f64", "--feed", X23, program],
            &[],
            &[want],
            1e-13,
            0.0,
        );
    }
}

#[test]
fn reductions_with_an_axis_a_list_and_negative_axes() {
    let lse = |v: &[f64]| v.iter().map(|x| x.exp()).sum::<f64>().ln();
    let cases: Vec<(&str, Vec<usize>, Vec<f64>)> = vec![
        ("sum(x, 0)", vec![3], vec![5.0, 7.0, 9.0]),
        ("sum(x, 1)", vec![2], vec![9.0, 12.0]),
        ("sum(x, -1)", vec![2], vec![9.0, 12.0]),
        ("sum(x, -2)", vec![3], vec![5.0, 7.0, 9.0]),
        ("sum(x, [0, 1])", vec![], vec![21.0]),
        ("sum(x, [1, 0])", vec![], vec![21.0]),
        ("sum(x, [-1, 0])", vec![], vec![21.0]),
        ("sum(x, [1])", vec![2], vec![9.0, 12.0]),
        // an empty list reduces nothing
        ("sum(x, [])", vec![2, 3], vec![1.0, 5.0, 3.0, 4.0, 2.0, 6.0]),
        ("mean(x, 0)", vec![3], vec![2.5, 3.5, 4.5]),
        ("mean(x, -1)", vec![2], vec![3.0, 4.0]),
        ("max(x, 0)", vec![3], vec![4.0, 5.0, 6.0]),
        ("max(x, 1)", vec![2], vec![5.0, 6.0]),
        ("min(x, 0)", vec![3], vec![1.0, 2.0, 3.0]),
        ("min(x, -1)", vec![2], vec![1.0, 2.0]),
        (
            "logsumexp(x, 1)",
            vec![2],
            vec![lse(&[1.0, 5.0, 3.0]), lse(&[4.0, 2.0, 6.0])],
        ),
        (
            "logsumexp(x, [0])",
            vec![3],
            vec![lse(&[1.0, 4.0]), lse(&[5.0, 2.0]), lse(&[3.0, 6.0])],
        ),
    ];
    for (program, shape, want) in cases {
        eval_all_engines(
            &["--dtype", "f64", "--feed", X23, program],
            &shape,
            &want,
            1e-13,
            0.0,
        );
    }
}

#[test]
fn reductions_with_keepdims() {
    let cases: Vec<(&str, Vec<usize>, Vec<f64>)> = vec![
        ("sum(x, 1, 1)", vec![2, 1], vec![9.0, 12.0]),
        ("sum(x, 1, 0)", vec![2], vec![9.0, 12.0]),
        ("sum(x, -2, 1)", vec![1, 3], vec![5.0, 7.0, 9.0]),
        ("sum(x, [0, 1], 1)", vec![1, 1], vec![21.0]),
        ("mean(x, 0, 1)", vec![1, 3], vec![2.5, 3.5, 4.5]),
        ("max(x, -1, 1)", vec![2, 1], vec![5.0, 6.0]),
        ("min(x, [0, -1], 1)", vec![1, 1], vec![1.0]),
        // keepdims keeps shapes that broadcast back: x - max(x, 1, 1)
        (
            "x - max(x, 1, 1)",
            vec![2, 3],
            vec![-4.0, 0.0, -2.0, -2.0, -4.0, 0.0],
        ),
    ];
    for (program, shape, want) in cases {
        eval_all_engines(
            &["--dtype", "f64", "--feed", X23, program],
            &shape,
            &want,
            1e-13,
            0.0,
        );
    }
    // a 3-D tensor: x[i, j, k] = 4i + 2j + k + 1; sum over i and k (the last
    // axis, negative) leaves j: j = 0: 1+2+5+6 = 14, j = 1: 3+4+7+8 = 22
    let x3 = "x=[[[1, 2], [3, 4]], [[5, 6], [7, 8]]]";
    eval_all_engines(
        &["--feed", x3, "sum(x, [0, -1])"],
        &[2],
        &[14.0, 22.0],
        0.0,
        0.0,
    );
    eval_all_engines(
        &["--feed", x3, "sum(x, [0, -1], 1)"],
        &[1, 2, 1],
        &[14.0, 22.0],
        0.0,
        0.0,
    );
}

#[test]
fn reduction_gradients() {
    let x = "x=[1, 3, 3, 2]";
    for (program, want) in [
        ("sum(x)", [1.0, 1.0, 1.0, 1.0]),
        ("mean(x)", [0.25, 0.25, 0.25, 0.25]),
        // ties split the gradient evenly
        ("max(x)", [0.0, 0.5, 0.5, 0.0]),
        ("min(x)", [1.0, 0.0, 0.0, 0.0]),
        ("min(x * [1, 1, 1, 0.5])", [0.5, 0.0, 0.0, 0.25]),
    ] {
        for e in ENGINES {
            let j = grad_json(e, &["--wrt", "x", "--feed", x, program]);
            assert_tensor(&tensor(&j["grads"]["x"]), &[4], &want, 0.0, 0.0, program);
        }
    }
    // logsumexp: the gradient is softmax
    let xs = [1.0, 3.0, 3.0, 2.0];
    let z: f64 = xs.iter().map(|v: &f64| v.exp()).sum();
    let soft: Vec<f64> = xs.iter().map(|v| v.exp() / z).collect();
    for e in ENGINES {
        let j = grad_json(
            e,
            &["--dtype", "f64", "--wrt", "x", "--feed", x, "logsumexp(x)"],
        );
        assert_tensor(
            &tensor(&j["grads"]["x"]),
            &[4],
            &soft,
            1e-12,
            0.0,
            "logsumexp",
        );
    }
}

#[test]
fn grad_in_the_language_and_its_nesting() {
    // y = x^3 at x = 3: dy/dx = 3x^2 = 27, d2 = 6x = 18, d3 = 6
    let x = "x=3";
    eval_all_engines(&["--feed", x, "grad(x**3, x)"], &[], &[27.0], 1e-6, 0.0);
    eval_all_engines(
        &["--feed", x, "grad(grad(x**3, x), x)"],
        &[],
        &[18.0],
        1e-6,
        0.0,
    );
    eval_all_engines(
        &["--feed", x, "d = grad(x*x*x, x); grad(grad(d, x), x)"],
        &[],
        &[6.0],
        1e-6,
        0.0,
    );
    // with respect to a bound name: h = x*x = 2.25, d sin(h) / dh = cos(2.25)
    eval_all_engines(
        &[
            "--dtype",
            "f64",
            "--feed",
            "x=1.5",
            "h = x*x; y = sin(h); grad(y, h)",
        ],
        &[],
        &[2.25f64.cos()],
        1e-13,
        0.0,
    );
    // the gradient of sum(y) for a non-scalar y: d sum(x*x) / dx = 2x
    eval_all_engines(
        &["--feed", "x=[1, 2, 3]", "grad(x*x, x)"],
        &[3],
        &[2.0, 4.0, 6.0],
        0.0,
        0.0,
    );
    // the seed program through grad: d(x*x + 3*x)/dx at 2 is 7
    eval_all_engines(
        &["--feed", "x=2", "grad(x*x + 3*x, x)"],
        &[],
        &[7.0],
        0.0,
        0.0,
    );
}

#[test]
fn grad_without_a_gradient_is_an_error_naming_y_and_x() {
    // no path at all
    let line = fail(&[
        "eval",
        "--feed",
        "x=1",
        "--feed",
        "z=2",
        "a = z*2\nb = grad(a, x)",
    ]);
    assert_mentions(&line, &["`a`", "`x`"]);
    assert_at(&line, 2, 5);
    // only through an operation without a gradient
    let line = fail(&["eval", "--feed", "x=1", "y = floor(x); grad(y, x)"]);
    assert_mentions(&line, &["`y`", "`x`", "floor"]);
    // grad(3*x, x) depends on x only through its shape: no second derivative
    let line = fail(&["eval", "--feed", "x=1", "g = grad(3*x, x); grad(g, x)"]);
    assert_mentions(&line, &["`g`", "`x`"]);
}

#[test]
fn stop_gradient_passes_the_value_and_blocks_the_gradient() {
    eval_all_engines(
        &["--feed", "x=[1, -2]", "stop_gradient(x*x)"],
        &[2],
        &[1.0, 4.0],
        0.0,
        0.0,
    );
    // d (stop_gradient(x) * x) / dx = x
    eval_all_engines(
        &["--feed", "x=[1, -2]", "grad(stop_gradient(x) * x, x)"],
        &[2],
        &[1.0, -2.0],
        0.0,
        0.0,
    );
    for e in ENGINES {
        let j = grad_json(
            e,
            &["--wrt", "x", "--feed", "x=3", "stop_gradient(x) * x + x*x"],
        );
        // x (stopped factor) + 2x = 9
        assert_eq!(number(&j["grads"]["x"]), 9.0, "{j}");
        let j = grad_json(e, &["--wrt", "x", "--feed", "x=3", "stop_gradient(x*x)"]);
        assert_eq!(j["grads"]["x"], Json::Null, "{j}");
    }
}

/// `--wrt` and `grad(y, name)` with a bound name differentiate with respect
/// to that binding only, as TensorFlow does with an op instance, even when
/// an equal expression appears unbound: d/dh (sin(x*x) + h) = 1.
#[test]
fn gradients_with_respect_to_a_binding_ignore_equal_expressions() {
    let program = "h = x*x\ny = sin(x*x) + h";
    let j = json(&["grad", "--json", "--wrt", "h", "--feed", "x=0.5", program]);
    assert_eq!(number(&j["grads"]["h"]), 1.0);
    let j = json(&[
        "eval",
        "--json",
        "--feed",
        "x=0.5",
        "h = x*x\ngrad(sin(x*x) + h, h)",
    ]);
    assert_eq!(number(&j["outputs"]["y"]), 1.0);
    // and --stop h stops only the uses of h: d/dx (sin(x*x) + h) = 2x cos(x*x)
    let j = json(&[
        "grad", "--json", "--wrt", "x", "--stop", "h", "--feed", "x=0.5", program,
    ]);
    let want = (2.0 * 0.5 * 0.25f32.cos()) as f64;
    assert!((number(&j["grads"]["x"]) - want).abs() < 1e-6);
}

/// `softmax` of one row, from the definition.
fn softmax_row(z: &[f64]) -> Vec<f64> {
    let s: f64 = z.iter().map(|v| v.exp()).sum();
    z.iter().map(|v| v.exp() / s).collect()
}

#[test]
fn softmax_log_softmax_and_cross_entropy_values_and_gradients() {
    let z = [[1.0, 2.0, 3.0], [-1.0, 0.0, 5.0]];
    // labels that do not sum to 1 in the first row
    let l = [[0.2, 0.3, 0.6], [1.0, 0.0, 0.0]];
    let p: Vec<Vec<f64>> = z.iter().map(|r| softmax_row(r)).collect();
    let flat = |m: &[Vec<f64>]| m.iter().flatten().copied().collect::<Vec<f64>>();
    let zf = "z=[[1, 2, 3], [-1, 0, 5]]";
    let lf = "l=[[0.2, 0.3, 0.6], [1, 0, 0]]";
    let f64_args = |program: &'static str| ["--dtype", "f64", "--feed", zf, program];
    let with_l = |program: &'static str| ["--dtype", "f64", "--feed", zf, "--feed", lf, program];
    eval_all_engines(&f64_args("softmax(z)"), &[2, 3], &flat(&p), 1e-14, 0.0);
    let logp: Vec<Vec<f64>> = p
        .iter()
        .map(|r| r.iter().map(|v| v.ln()).collect())
        .collect();
    eval_all_engines(
        &f64_args("log_softmax(z, -1)"),
        &[2, 3],
        &flat(&logp),
        1e-14,
        0.0,
    );
    // softmax along axis 0: each column sums to 1
    let col: Vec<Vec<f64>> = (0..3).map(|j| softmax_row(&[z[0][j], z[1][j]])).collect();
    let by_rows: Vec<f64> = (0..2)
        .flat_map(|i| (0..3).map(move |j| (i, j)))
        .map(|(i, j)| col[j][i])
        .collect();
    eval_all_engines(&f64_args("softmax(z, 0)"), &[2, 3], &by_rows, 1e-14, 0.0);
    // cross-entropy -sum(l log p) per row; gradient to z is p - l even where
    // l does not sum to 1, and to l it is -log p (TensorFlow's)
    let ce: Vec<f64> = (0..2)
        .map(|i| -(0..3).map(|j| l[i][j] * logp[i][j]).sum::<f64>())
        .collect();
    eval_all_engines(
        &with_l("softmax_cross_entropy(l, z)"),
        &[2],
        &ce,
        1e-14,
        0.0,
    );
    let dz: Vec<f64> = (0..6).map(|k| p[k / 3][k % 3] - l[k / 3][k % 3]).collect();
    let dl: Vec<f64> = flat(&logp).iter().map(|v| -v).collect();
    for e in ENGINES {
        let mut args = vec!["--wrt", "l,z"];
        args.extend_from_slice(&with_l("softmax_cross_entropy(l, z)"));
        let j = grad_json(e, &args);
        assert_tensor(&tensor(&j["grads"]["z"]), &[2, 3], &dz, 1e-14, 1e-16, e);
        assert_tensor(&tensor(&j["grads"]["l"]), &[2, 3], &dl, 1e-14, 1e-16, e);
    }
}

#[test]
fn softmax_and_logsumexp_run_no_interpreter_routine() {
    // compiled code runs its own loops, not the oracle's: show marks any
    // library step that would call the interpreter
    for (program, labels) in [
        ("softmax_cross_entropy(l, z)", true),
        ("sum(log_softmax(z) * l)", true),
        ("sum(softmax(z) * l)", true),
        ("logsumexp(z, 1)", false),
        ("logsumexp(z) * sum(l)", true),
        ("sum(z)", false),
    ] {
        let mut args = vec!["show", "--wrt", "z", "--feed", "z=rand(8,5)", program];
        if labels {
            args.extend_from_slice(&["--feed", "l=rand(8,5)"]);
        }
        let out = ok(&args);
        assert!(out.contains("kernels ("), "{program}: {out}");
        assert!(!out.contains("no native routine"), "{program}: {out}");
    }
}

#[test]
fn sigmoid_cross_entropy_is_tensorflows_composition() {
    // max(z, 0) - z l + log(1 + exp(-|z|)); d/dz = sigmoid(z) - l (at 0 too:
    // 1 - l - 1/2 through the branches TensorFlow's composition takes), d/dl = -z
    let z: [f64; 4] = [-2.0, 0.0, 3.0, -40.0];
    let l = [0.3, 1.0, 0.0, 0.5];
    let value: Vec<f64> = z
        .iter()
        .zip(&l)
        .map(|(&z, &l)| z.max(0.0) - z * l + (-z.abs()).exp().ln_1p())
        .collect();
    let dz: Vec<f64> = z.iter().zip(&l).map(|(&z, &l)| sigmoid(z) - l).collect();
    let dl: Vec<f64> = z.iter().map(|z| -z).collect();
    let (fz, fl) = (format!("z={}", list(&z)), format!("l={}", list(&l)));
    let args = [
        "--dtype",
        "f64",
        "--feed",
        &fz,
        "--feed",
        &fl,
        "sigmoid_cross_entropy(l, z)",
    ];
    eval_all_engines(&args, &[4], &value, 1e-14, 0.0);
    for e in ENGINES {
        let mut full = vec!["--wrt", "l,z"];
        full.extend_from_slice(&args);
        let j = grad_json(e, &full);
        assert_tensor(&tensor(&j["grads"]["z"]), &[4], &dz, 1e-14, 1e-16, e);
        assert_tensor(&tensor(&j["grads"]["l"]), &[4], &dl, 0.0, 0.0, e);
    }
}
