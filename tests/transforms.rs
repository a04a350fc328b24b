//! `hessian`, `jacobian` and `jvp`: against closed forms (Rosenbrock's
//! Hessian, the softmax Jacobian), finite differences in f64, the identity
//! <jvp(f, x, v), u> = <v, vjp(f, x, u)>, on every engine; the double-pullback
//! JVP compiles to one kernel; TensorFlow's "no gradient" errors.

mod common;

use common::{rng, uniform};
use gradjit::exec::{compile, CompileOptions, Engine};
use gradjit::text::{parse, ParseOptions};
use gradjit::{DType, Graph, NodeId, Session, Shape, Value};
use ndarray::{ArrayD, IxDyn};

const ENGINES: [Engine; 4] = [
    Engine::Interp,
    Engine::Jit,
    Engine::JitMt,
    Engine::JitUnfused,
];

/// Parses `src` (inputs of the given shapes, f64) and evaluates its output
/// on `engine`.
fn eval(src: &str, feeds: &[(&str, &ArrayD<f64>)], engine: Engine) -> ArrayD<f64> {
    let g = Graph::new();
    let mut opts = ParseOptions::new(DType::F64);
    for (n, v) in feeds {
        opts.input_shapes
            .insert(n.to_string(), Shape::known(v.shape()));
    }
    let prog = parse(&g, src, &opts).unwrap_or_else(|e| panic!("{src}: {e}"));
    let values: Vec<Value> = feeds
        .iter()
        .map(|(_, v)| Value::F64((*v).clone()))
        .collect();
    // feeds the program does not read are left out
    let fed: Vec<_> = feeds
        .iter()
        .zip(&values)
        .filter_map(|((n, _), v)| Some((g.tensor(g.placeholder_named(n)?), v)))
        .collect();
    let out = Session::with_engine(&g, engine)
        .run(&[g.tensor(prog.output)], &fed)
        .unwrap_or_else(|e| panic!("{src} on {engine}: {e}"));
    out[0].as_array::<f64>().expect("f64").clone()
}

fn assert_near(what: &str, got: &ArrayD<f64>, want: &ArrayD<f64>, tol: f64) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    for (a, b) in got.iter().zip(want) {
        assert!(
            (a - b).abs() <= tol * (1.0 + b.abs()),
            "{what}: {got} against {want}"
        );
    }
}

#[test]
fn rosenbrocks_hessian_in_closed_form() {
    let x = ArrayD::from_shape_vec(IxDyn(&[3]), vec![0.5, -1.2, 2.0]).expect("sizes");
    // f = sum(100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2)
    let src = "f = sum(100*(x[1:] - x[:-1]**2)**2 + (1 - x[:-1])**2)\nhessian(f, x)";
    let mut want = ArrayD::zeros(IxDyn(&[3, 3]));
    for i in 0..2 {
        let (a, b) = (x[i], x[i + 1]);
        want[[i, i]] += 1200.0 * a * a - 400.0 * b + 2.0;
        want[[i, i + 1]] += -400.0 * a;
        want[[i + 1, i]] += -400.0 * a;
        want[[i + 1, i + 1]] += 200.0;
    }
    for e in ENGINES {
        assert_near(&format!("{e}"), &eval(src, &[("x", &x)], e), &want, 1e-12);
    }
}

#[test]
fn the_softmax_jacobian_in_closed_form() {
    let mut r = rng(81);
    let x = uniform(&mut r, &[4], -2.0, 2.0);
    let e: Vec<f64> = x.iter().map(|v| v.exp()).collect();
    let s: f64 = e.iter().sum();
    let p: Vec<f64> = e.iter().map(|v| v / s).collect();
    let want = ArrayD::from_shape_fn(IxDyn(&[4, 4]), |ix| {
        let (i, j) = (ix[0], ix[1]);
        p[i] * (f64::from(u8::from(i == j)) - p[j])
    });
    for eng in ENGINES {
        let got = eval("jacobian(softmax(x), x)", &[("x", &x)], eng);
        assert_near(&format!("{eng}"), &got, &want, 1e-12);
    }
}

/// Central differences of `f` in direction `v`.
fn directional(
    src: &str,
    x: &ArrayD<f64>,
    v: &ArrayD<f64>,
    extra: &[(&str, &ArrayD<f64>)],
) -> ArrayD<f64> {
    let h = 1e-6;
    let at = |t: f64| {
        let xt = x + &(v * t);
        let mut feeds = vec![("x", &xt)];
        feeds.extend_from_slice(extra);
        eval(src, &feeds, Engine::Interp)
    };
    (at(h) - at(-h)) / (2.0 * h)
}

#[test]
fn jvp_matches_finite_differences_and_the_vjp() {
    let mut r = rng(82);
    let (x, v) = (
        uniform(&mut r, &[3, 4], -1.0, 1.0),
        uniform(&mut r, &[3, 4], -1.0, 1.0),
    );
    let w = uniform(&mut r, &[4, 2], -1.0, 1.0);
    for f in [
        "tanh(x)*x",
        "softmax(x @ w)",
        "sum(exp(x) * x, 1)",
        "log_softmax(x)[1:, ::-1]",
        "concat([x*x, sin(x)], 0)",
    ] {
        let u_shape = eval(f, &[("x", &x), ("w", &w)], Engine::Interp)
            .shape()
            .to_vec();
        let u = uniform(&mut r, &u_shape, -1.0, 1.0);
        let fd = directional(f, &x, &v, &[("w", &w)]);
        for e in ENGINES {
            let jv = eval(
                &format!("jvp({f}, x, v)"),
                &[("x", &x), ("v", &v), ("w", &w)],
                e,
            );
            assert_near(&format!("jvp({f}) on {e}"), &jv, &fd, 1e-7);
            // <J v, u> = <v, J^T u>, the second through grad_ys as a product
            let vjp = eval(
                &format!("y = {f}\ngrad(sum(y * u), x)"),
                &[("x", &x), ("u", &u), ("w", &w)],
                e,
            );
            let (a, b) = ((&jv * &u).sum(), (&v * &vjp).sum());
            assert!(
                (a - b).abs() <= 1e-10 * (1.0 + a.abs()),
                "{f} on {e}: {a} vs {b}"
            );
        }
    }
}

#[test]
fn jacobians_and_hessians_match_finite_differences() {
    let mut r = rng(83);
    let x = uniform(&mut r, &[2, 3], -1.0, 1.0);
    for f in ["tanh(x) @ transpose(x)", "cumsum(x * x, 1)", "x[0] * x[1]"] {
        let jac = eval(&format!("jacobian({f}, x)"), &[("x", &x)], Engine::Jit);
        // column k of the Jacobian is the derivative along the unit vector e_k
        for k in 0..x.len() {
            let mut e = ArrayD::zeros(IxDyn(x.shape()));
            e.as_slice_mut().expect("standard")[k] = 1.0;
            let fd = directional(f, &x, &e, &[]);
            let m = fd.len();
            let col: Vec<f64> = (0..m)
                .map(|i| jac.as_slice().expect("standard")[i * x.len() + k])
                .collect();
            let col = ArrayD::from_shape_vec(IxDyn(fd.shape()), col).expect("sizes");
            assert_near(&format!("jacobian({f}) column {k}"), &col, &fd, 1e-7);
        }
        let hess = eval(&format!("hessian({f}, x)"), &[("x", &x)], Engine::Jit);
        let grad = format!("grad({f}, x)");
        for k in 0..x.len() {
            let mut e = ArrayD::zeros(IxDyn(x.shape()));
            e.as_slice_mut().expect("standard")[k] = 1.0;
            let fd = directional(&grad, &x, &e, &[]);
            let n = x.len();
            let col: Vec<f64> = (0..n)
                .map(|i| hess.as_slice().expect("standard")[i * n + k])
                .collect();
            let col = ArrayD::from_shape_vec(IxDyn(fd.shape()), col).expect("sizes");
            assert_near(&format!("hessian({f}) column {k}"), &col, &fd, 1e-6);
        }
    }
}

#[test]
fn the_jvp_of_an_elementwise_function_is_one_kernel() {
    let g = Graph::new();
    let mut opts = ParseOptions::new(DType::F32);
    for n in ["x", "v"] {
        opts.input_shapes.insert(n.into(), Shape::known(&[1000]));
    }
    let prog = parse(&g, "jvp(tanh(x)*x, x, v)", &opts).expect("parses");
    let inputs: Vec<(NodeId, Vec<usize>)> = prog
        .inputs
        .iter()
        .map(|(_, id)| (*id, vec![1000]))
        .collect();
    let exe = compile(&g, &[prog.output], &inputs, &CompileOptions::default()).expect("compiles");
    assert_eq!(exe.kernels().len(), 1, "one kernel");
    assert_eq!(exe.library_steps(), 0, "no library step");
    // no larger than the function's own derivative
    let g2 = Graph::new();
    let prog2 = parse(&g2, "grad(tanh(x)*x, x)", &opts).expect("parses");
    let inputs2: Vec<(NodeId, Vec<usize>)> = prog2
        .inputs
        .iter()
        .map(|(_, id)| (*id, vec![1000]))
        .collect();
    let exe2 =
        compile(&g2, &[prog2.output], &inputs2, &CompileOptions::default()).expect("compiles");
    let ops = |e: &gradjit::exec::Executable| {
        e.kernels().iter().map(|k| k.spec.op_count()).sum::<usize>()
    };
    // the directional derivative multiplies by v: at most twice more, as
    // `a*v + b*v` is not refactored (distributing is not exact in floats)
    assert!(
        ops(&exe) <= ops(&exe2) + 2,
        "{} vs {}",
        ops(&exe),
        ops(&exe2)
    );
}

#[test]
fn no_gradient_is_an_error_naming_y_and_x() {
    let g = Graph::new();
    let mut opts = ParseOptions::new(DType::F64);
    opts.input_shapes.insert("x".into(), Shape::known(&[3]));
    opts.input_shapes.insert("z".into(), Shape::known(&[3]));
    for src in [
        "hessian(sum(3*x), x)",
        "hessian(max(x), x)",
        "jacobian(z * 2, x)",
        "jvp(floor(x), x, z)",
    ] {
        let e = parse(&g, src, &opts).expect_err(src).to_string();
        assert!(e.contains("no gradient of"), "{src}: {e}");
        assert!(e.contains("with respect to `x`"), "{src}: {e}");
    }
    let e = parse(&g, "jvp(x*x, x, [1, 2])", &opts)
        .expect_err("shape")
        .to_string();
    assert!(e.contains("jvp"), "{e}");
}

#[test]
fn transforms_differentiate_again() {
    let x = ArrayD::from_shape_vec(IxDyn(&[2]), vec![0.3, -0.7]).expect("sizes");
    // d/dx sum(jvp(x^3, x, 1)) = d/dx sum(3 x^2) = 6x
    for e in ENGINES {
        let got = eval("grad(sum(jvp(x**3, x, fill(1, [2]))), x)", &[("x", &x)], e);
        assert_near(&format!("{e}"), &got, &(&x * 6.0), 1e-12);
    }
}
