//! The seed programs: symbolic gradients as graph nodes, then their values.
//!
//! Run with `cargo run --release --example quickstart`.

use gradjit::{DType, Graph, Session, Shape};
use ndarray::arr0;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // y = x*x + 3x, dy/dx at x = 2 is 2*2 + 3 = 7
    let g = Graph::new();
    let x = g.placeholder("x", DType::F32, Shape::unknown());
    let y = x * x + 3.0 * x;
    let grad = g.gradients(&[y], &[x])?[0].ok_or("x is connected to y")?;
    let mut sess = Session::new(&g);
    let out = sess.run(&[grad], &[(x, arr0(2.0f32).into_dyn())])?;
    println!("d(x*x + 3*x)/dx at x=2: {}", out[0]);

    // z = x*y + y*y, dz/dx = y = 3 and dz/dy = x + 2y = 8 at x = 2, y = 3
    let g = Graph::new();
    let x = g.placeholder("x", DType::F32, Shape::unknown());
    let y = g.placeholder("y", DType::F32, Shape::unknown());
    let z = x * y + y * y;
    let grads = g.gradients(&[z], &[x, y])?;
    let (gx, gy) = (
        grads[0].ok_or("x is connected")?,
        grads[1].ok_or("y is connected")?,
    );
    let mut sess = Session::new(&g);
    let two = arr0(2.0f32).into_dyn();
    let three = arr0(3.0f32).into_dyn();
    let out = sess.run(&[gx, gy], &[(x, &two), (y, &three)])?;
    println!("d(x*y + y*y)/dx at x=2, y=3: {}", out[0]);
    println!("d(x*y + y*y)/dy at x=2, y=3: {}", out[1]);
    Ok(())
}
