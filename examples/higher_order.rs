//! Second (and third) derivatives, and Hessian-vector products.
//!
//! Gradients are graphs built from ordinary differentiable operations, so
//! differentiating a gradient is just calling `gradients` again.
//!
//! Run with `cargo run --release --example higher_order`.
//!
//! 1. The derivatives of `tanh`, to the third, against their closed forms.
//! 2. The Hessian of Rosenbrock's function with `hessian(f, p)` in the
//!    language, against the Hessian by hand.
//! 3. A Hessian-vector product of the logistic loss in 8 dimensions, as
//!    the `jvp` of its gradient along `v`, against `Xᵀ diag(s(1-s)) X v / N`
//!    computed with `ndarray`.

use gradjit::exec::Engine;
use gradjit::simplify::Pipeline;
use gradjit::text::{parse, print_program, ParseOptions};
use gradjit::{DType, Graph, Session, Shape, Tensor};
use ndarray::{arr1, Array1, Array2};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> Res<()> {
    tanh_derivatives()?;
    rosenbrock_hessian()?;
    logistic_hvp()
}

/// The one gradient of `sum(y)` with respect to `x`.
fn grad<'g>(g: &'g Graph, y: Tensor<'g>, x: Tensor<'g>) -> Res<Tensor<'g>> {
    Ok(g.gradients(&[y], &[x])?[0].ok_or("connected")?)
}

fn tanh_derivatives() -> Res<()> {
    println!("1. derivatives of tanh");
    let g = Graph::new();
    let x = g.placeholder("x", DType::F64, Shape::unknown());
    let y = x.tanh();
    // y is elementwise, so the gradient of sum(y) is the derivative at each x
    let d1 = grad(&g, y, x)?;
    let d2 = grad(&g, d1, x)?;
    let d3 = grad(&g, d2, x)?;
    let s = Pipeline::standard().run(&g, &[d1.id(), d2.id()])?;
    print!(
        "{}",
        indent(&print_program(
            &s.graph,
            &[("d1", s.roots[0]), ("d2", s.roots[1])]
        ))
    );

    let xs = arr1(&[-1.0f64, 0.0, 0.5, 2.0]);
    let mut sess = Session::with_engine(&g, Engine::Jit);
    let out = sess.run(&[d1, d2, d3], &[(x, &xs)])?;
    println!("      x       d1 = 1-t²      d2 = -2t(1-t²)  d3 = -2(1-t²)(1-3t²)   (t = tanh x)");
    for (i, &xv) in xs.iter().enumerate() {
        let t = xv.tanh();
        let by_hand = [
            1.0 - t * t,
            -2.0 * t * (1.0 - t * t),
            -2.0 * (1.0 - t * t) * (1.0 - 3.0 * t * t),
        ];
        let got: Vec<f64> = out.iter().map(|v| v.to_f64_vec()[i]).collect();
        println!(
            "  {xv:>6.2}  {:>14.10}  {:>14.10}  {:>14.10}",
            got[0], got[1], got[2]
        );
        for (a, b) in got.iter().zip(by_hand) {
            assert!((a - b).abs() <= 1e-12, "{a} vs {b} at x = {xv}");
        }
    }
    println!("  (each equals its closed form to 1e-12)\n");
    Ok(())
}

fn rosenbrock_hessian() -> Res<()> {
    println!("2. Hessian of f = (1 - x)**2 + 100*(y - x**2)**2 at (x, y) = (-1.2, 1)");
    let g = Graph::new();
    let mut opts = ParseOptions::new(DType::F64);
    opts.input_shapes.insert("p".into(), Shape::known(&[2]));
    // `hessian(f, p)`: one graph, tf.hessians' value, simplified and compiled
    let prog = parse(
        &g,
        "x = p[0]; y = p[1]\nf = (1 - x)**2 + 100*(y - x**2)**2\nhessian(f, p)",
        &opts,
    )?;
    let p = g.tensor(g.placeholder_named("p").ok_or("p")?);
    let mut sess = Session::with_engine(&g, Engine::Jit);
    let out = sess.run(&[g.tensor(prog.output)], &[(p, arr1(&[-1.2f64, 1.0]))])?;
    let h = out[0].to_f64_vec();
    let (xv, yv) = (-1.2f64, 1.0f64);
    let by_hand = [
        [2.0 - 400.0 * yv + 1200.0 * xv * xv, -400.0 * xv],
        [-400.0 * xv, 200.0],
    ];
    println!("  hessian(f, p)            by hand");
    for r in 0..2 {
        println!(
            "  [{:>8.3} {:>8.3}]      [{:>8.3} {:>8.3}]",
            h[2 * r],
            h[2 * r + 1],
            by_hand[r][0],
            by_hand[r][1]
        );
        for c in 0..2 {
            let got = h[2 * r + c];
            assert!((got - by_hand[r][c]).abs() <= 1e-9 * by_hand[r][c].abs().max(1.0));
        }
    }
    println!();
    Ok(())
}

fn logistic_hvp() -> Res<()> {
    const N: usize = 512;
    const D: usize = 8;
    println!("3. Hessian-vector product of mean(softplus(-t * (X @ w))), X: [{N}, {D}]");
    let mut rng = StdRng::seed_from_u64(1);
    let mut uniform =
        |shape: (usize, usize)| Array2::from_shape_fn(shape, |_| rng.gen_range(-1.0..1.0));
    let xa: Array2<f64> = uniform((N, D));
    let wa = uniform((D, 1));
    let va = uniform((D, 1));
    let ta = xa.dot(&uniform((D, 1))).mapv(|z: f64| z.signum());

    let g = Graph::new();
    let x = g.placeholder("X", DType::F64, Shape::known(&[N, D]));
    let t = g.placeholder("t", DType::F64, Shape::known(&[N, 1]));
    let w = g.placeholder("w", DType::F64, Shape::known(&[D, 1]));
    let v = g.placeholder("v", DType::F64, Shape::known(&[D, 1]));
    let loss = (-t * x.matmul(w)).softplus().mean();
    // forward over reverse: the directional derivative of the gradient
    // along v is H v (jvp applies the pullback twice; no new rules)
    let dw = grad(&g, loss, w)?;
    let hv = g.jvp(dw, w, v)?.ok_or("connected")?;
    let s = Pipeline::standard().run(&g, &[hv.id()])?;
    println!(
        "  the Hessian-vector product graph: {} operations, {} after simplification",
        s.nodes_before,
        s.nodes_after()
    );

    let mut sess = Session::with_engine(&g, Engine::Jit);
    let out = sess.run(
        &[hv],
        &[
            (x, xa.view()),
            (t, ta.view()),
            (w, wa.view()),
            (v, va.view()),
        ],
    )?;
    let got = Array1::from(out[0].to_f64_vec());

    // by hand: s = sigmoid(t * Xw), H = Xᵀ diag(s(1-s)) X / N
    let sig = (&ta * &xa.dot(&wa)).mapv(|z| 1.0 / (1.0 + (-z).exp()));
    let weight = &sig * &sig.mapv(|s| 1.0 - s);
    let by_hand = xa.t().dot(&(&weight * &xa.dot(&va))) / N as f64;
    let by_hand = Array1::from_iter(by_hand.iter().copied());
    let err = (&got - &by_hand)
        .mapv(f64::abs)
        .fold(0.0f64, |a, &b| a.max(b));
    println!("  H v (gradjit): {:.6}", got);
    println!("  H v (by hand): {:.6}", by_hand);
    println!("  largest difference: {err:.1e}");
    assert!(err < 1e-12, "Hessian-vector product differs by {err}");
    Ok(())
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}\n")).collect()
}
