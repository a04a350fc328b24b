//! Second (and third) derivatives, and Hessian-vector products.
//!
//! Gradients are graphs built from ordinary differentiable operations, so
//! differentiating a gradient is just calling `gradients` again.
//!
//! Run with `cargo run --release --example higher_order`.
//!
//! 1. The derivatives of `tanh`, to the third, against their closed forms.
//! 2. The Hessian of Rosenbrock's function, one Hessian-vector product per
//!    column (`grad_ys` carries the vector), against the Hessian by hand.
//! 3. A Hessian-vector product of the logistic loss in 8 dimensions,
//!    against `Xᵀ diag(s(1-s)) X v / N` computed with `ndarray`.

use gradjit::exec::Engine;
use gradjit::simplify::Pipeline;
use gradjit::text::{parse, print_program, ParseOptions};
use gradjit::{DType, GradOptions, Graph, Session, Shape, Tensor};
use ndarray::{arr0, arr1, Array1, Array2};
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
    let prog = parse(
        &g,
        "f = (1 - x)**2 + 100*(y - x**2)**2",
        &ParseOptions::new(DType::F64),
    )?;
    let f = g.tensor(prog.output);
    let input = |name: &str| g.placeholder_named(name).map(|id| g.tensor(id));
    let (x, y) = (input("x").ok_or("x")?, input("y").ok_or("y")?);
    let gr = g.gradients(&[f], &[x, y])?;
    let (fx, fy) = (gr[0].ok_or("x")?, gr[1].ok_or("y")?);
    // H v = the gradient of (∇f · v): differentiate the gradients with v as
    // their upstream gradient (tf.gradients' grad_ys)
    let vx = g.placeholder("vx", DType::F64, Shape::scalar());
    let vy = g.placeholder("vy", DType::F64, Shape::scalar());
    let opts = GradOptions {
        grad_ys: vec![vx, vy],
        ..GradOptions::default()
    };
    let hv = g.gradients_with(&[fx, fy], &[x, y], &opts)?;
    let (hvx, hvy) = (hv[0].ok_or("x")?, hv[1].ok_or("y")?);

    let mut sess = Session::with_engine(&g, Engine::Jit);
    let mut h = [[0.0; 2]; 2];
    for (col, v) in [[1.0, 0.0], [0.0, 1.0]].into_iter().enumerate() {
        let feeds = [
            (x, arr0(-1.2f64)),
            (y, arr0(1.0)),
            (vx, arr0(v[0])),
            (vy, arr0(v[1])),
        ];
        // the second call reuses the executable compiled by the first
        let out = sess.run(&[hvx, hvy], &feeds)?;
        h[0][col] = out[0].to_f64_vec()[0];
        h[1][col] = out[1].to_f64_vec()[0];
    }
    let (xv, yv) = (-1.2f64, 1.0f64);
    let by_hand = [
        [2.0 - 400.0 * yv + 1200.0 * xv * xv, -400.0 * xv],
        [-400.0 * xv, 200.0],
    ];
    println!("  by Hessian-vector products   by hand");
    for r in 0..2 {
        println!(
            "  [{:>8.3} {:>8.3}]          [{:>8.3} {:>8.3}]",
            h[r][0], h[r][1], by_hand[r][0], by_hand[r][1]
        );
        for c in 0..2 {
            assert!((h[r][c] - by_hand[r][c]).abs() <= 1e-9 * by_hand[r][c].abs().max(1.0));
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
    let dw = grad(&g, loss, w)?;
    let opts = GradOptions {
        grad_ys: vec![v],
        ..GradOptions::default()
    };
    let hv = g.gradients_with(&[dw], &[w], &opts)?[0].ok_or("w")?;
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
