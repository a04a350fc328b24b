//! The seed programs: a symbolic gradient is a graph, so it can be printed as
//! a program, simplified, and only then run.
//!
//! Run with `cargo run --release --example quickstart`.
//!
//! 1. `y = x*x + 3*x`: dy/dx = 2x + 3, so 7 at x = 2.
//! 2. `z = x*y + y*y`: dz/dx = y and dz/dy = x + 2y, so 3 and 8 at (2, 3).

use std::collections::HashMap;

use gradjit::exec::Engine;
use gradjit::simplify::Pipeline;
use gradjit::text::print_program;
use gradjit::{DType, Graph, Session, Shape};
use ndarray::arr0;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // ---- 1. y = x*x + 3*x --------------------------------------------------
    let g = Graph::new();
    let x = g.placeholder("x", DType::F32, Shape::unknown());
    let y = x * x + 3.0 * x;
    // `gradients` adds nodes to the graph and returns them: no number yet
    let dy_dx = g.gradients(&[y], &[x])?[0].ok_or("x is connected to y")?;

    println!("program:\n{}", indent(&print_program(&g, &[("y", y.id())])));
    // the gradient as the chain rule built it, seeded with ones_like(y)
    println!(
        "gradient as built:\n{}",
        indent(&print_program(&g, &[("d_x", dy_dx.id())]))
    );
    // the same gradient after the standard simplification pipeline (this
    // is what the native engines compile)
    let simple = Pipeline::standard().run(&g, &[dy_dx.id()])?;
    println!(
        "gradient simplified ({} -> {} operations):\n{}",
        simple.nodes_before,
        simple.nodes_after(),
        indent(&print_program(&simple.graph, &[("d_x", simple.roots[0])]))
    );

    // the reference interpreter, then native code: the same numbers
    for engine in [Engine::Interp, Engine::Jit] {
        let mut sess = Session::with_engine(&g, engine);
        let out = sess.run(&[y, dy_dx], &[(x, arr0(2.0f32))])?;
        println!(
            "{:>6}: at x = 2, y = {}, dy/dx = {}   (by hand: 10 and 2*2 + 3 = 7)",
            engine.name(),
            out[0],
            out[1]
        );
        assert_eq!(out[0].to_f64_vec(), [10.0]);
        assert_eq!(out[1].to_f64_vec(), [7.0]);
    }

    // ---- 2. z = x*y + y*y, two gradients at once ----------------------------
    println!();
    let g = Graph::new();
    let x = g.placeholder("x", DType::F32, Shape::unknown());
    let y = g.placeholder("y", DType::F32, Shape::unknown());
    let z = x * y + y * y;
    let grads = g.gradients(&[z], &[x, y])?;
    let (dz_dx, dz_dy) = (
        grads[0].ok_or("x is connected")?,
        grads[1].ok_or("y is connected")?,
    );

    println!("program:\n{}", indent(&print_program(&g, &[("z", z.id())])));
    // x and y may have any shape, so sums back to their shapes (`sum_to`)
    // stay; once the shapes are known (here: scalars), they go
    let scalars = HashMap::from([
        ("x".to_string(), Shape::scalar()),
        ("y".to_string(), Shape::scalar()),
    ]);
    let simple = Pipeline::standard().run_with_shapes(&g, &[dz_dx.id(), dz_dy.id()], &scalars)?;
    println!(
        "gradients simplified for scalar x and y:\n{}",
        indent(&print_program(
            &simple.graph,
            &[("d_x", simple.roots[0]), ("d_y", simple.roots[1])]
        ))
    );
    let mut sess = Session::with_engine(&g, Engine::Jit);
    let out = sess.run(&[z, dz_dx, dz_dy], &[(x, arr0(2.0f32)), (y, arr0(3.0f32))])?;
    println!(
        "at x = 2, y = 3: z = {}, dz/dx = {}, dz/dy = {}   (by hand: 15, y = 3, x + 2y = 8)",
        out[0], out[1], out[2]
    );
    assert_eq!(out[0].to_f64_vec(), [15.0]);
    assert_eq!(out[1].to_f64_vec(), [3.0]);
    assert_eq!(out[2].to_f64_vec(), [8.0]);
    Ok(())
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}\n")).collect()
}
