//! B3's logistic regression trained from a Rust function: the loss is a
//! closure over `Tensor`s, and `value_and_grad` traces it once, compiles
//! the loss and its two gradients to native code, and gives a callable —
//! what `jax.value_and_grad(loss)` does for a Python function.
//!
//! Run with `cargo run --release --example closure_api [N]` (N examples,
//! default 4096).
//!
//! The data (seeded): N points uniform in [-1, 1]^16, labelled ±1 by the
//! sign of a random "teacher" direction, so the classes are separable and
//! the loss can fall far.

use gradjit::function::value_and_grad;
use gradjit::{Graph, Tensor, Value};
use ndarray::{Array2, ArrayD, IxDyn};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const FEATURES: usize = 16;
const STEPS: usize = 200;
const LEARNING_RATE: f64 = 1.0;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> Res<()> {
    let n: usize = match std::env::args().nth(1) {
        Some(s) => s.parse()?,
        None => 4096,
    };
    let mut rng = StdRng::seed_from_u64(5);
    let x = Array2::from_shape_fn((n, FEATURES), |_| rng.gen_range(-1.0f32..1.0));
    let teacher: Vec<f32> = (0..FEATURES).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
    let t = Array2::from_shape_fn((n, 1), |(i, _)| {
        let s: f32 = (0..FEATURES).map(|k| x[[i, k]] * teacher[k]).sum();
        if s >= 0.0 {
            1.0
        } else {
            -1.0
        }
    });

    // the model as a Rust function: arguments X, w, b, t
    let step = value_and_grad(|_: &Graph, a: &[Tensor<'_>]| {
        let (x, w, b, t) = (a[0], a[1], a[2], a[3]);
        (-(t * (x.matmul(w) + b))).softplus().mean()
    })
    .argnums(&[1, 2]);

    let (x, t) = (Value::F32(x.into_dyn()), Value::F32(t.into_dyn()));
    let mut w = ArrayD::<f32>::zeros(IxDyn(&[FEATURES, 1]));
    let mut b = ArrayD::<f32>::zeros(IxDyn(&[1]));
    let mut losses = Vec::with_capacity(STEPS);
    for _ in 0..STEPS {
        let (wv, bv) = (Value::F32(w.clone()), Value::F32(b.clone()));
        // traced and compiled on the first call; every later call runs native code
        let out = step.call(&[x.view(), wv.view(), bv.view(), t.view()])?;
        losses.push(out[0].to_f64_vec()[0]);
        let (dw, db) = (
            out[1].as_array::<f32>().ok_or("f32")?,
            out[2].as_array::<f32>().ok_or("f32")?,
        );
        w.scaled_add(-LEARNING_RATE as f32, dw);
        b.scaled_add(-LEARNING_RATE as f32, db);
    }

    println!("logistic regression from a closure, {n} examples x {FEATURES} features");
    for s in (0..STEPS).step_by(STEPS / 4).chain([STEPS - 1]) {
        println!("  step {s:>4}   loss {:.6}", losses[s]);
    }
    let (first, last) = (losses[0], losses[STEPS - 1]);
    // all weights zero: every margin is 0 and the loss is ln 2
    assert!(
        (first - std::f64::consts::LN_2).abs() < 1e-5,
        "first loss {first}"
    );
    assert!(
        last < first / 4.0,
        "the loss fell only from {first} to {last}"
    );
    println!("ok: the loss fell from ln 2 = {first:.6} to {last:.6}");
    Ok(())
}
