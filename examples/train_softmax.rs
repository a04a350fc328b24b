//! A 10-class classifier (B5's network, smaller) trained by gradient
//! descent on sparse integer labels.
//!
//! The model is written in gradjit's expression language; a [`Session`] on
//! the `jit` engine compiles the loss, the logits and the four gradients
//! once (executables are cached per fetch list and feed shapes) and runs
//! them every step. The first steps run on the reference interpreter too,
//! and must agree.
//!
//! Run with `cargo run --release --example train_softmax [N]` (N examples,
//! default 2048).
//!
//! The data (seeded, so every run is the same): ten class centres drawn in
//! [-1, 1]^64; each example is its class's centre plus Gaussian-like noise
//! of the same size, so the classes overlap a little and chance is 10%.

mod classify;

use std::time::Instant;

use classify::{accuracy_of, agree, Res};

use gradjit::exec::Engine;
use gradjit::text::{parse, ParseOptions};
use gradjit::{DType, Graph, Session, Shape, Tensor, Value};
use ndarray::{ArrayD, Ix2, IxDyn};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const MODEL: &str = "h = relu(X @ W1 + b1); logits = h @ W2 + b2
loss = mean(sparse_softmax_cross_entropy(labels, logits))";
const INPUTS: usize = 64;
const HIDDEN: usize = 32;
const CLASSES: usize = 10;
const STEPS: usize = 200;
const LEARNING_RATE: f64 = 0.5;
/// Steps also run on the interpreter, which must agree.
const CHECKED_STEPS: usize = 3;
/// The example fails unless the final accuracy reaches this.
const MIN_ACCURACY: f64 = 0.9;

/// The parameters, in the order training updates them.
const PARAMS: [&str; 4] = ["W1", "b1", "W2", "b2"];

fn main() -> Res<()> {
    let n: usize = match std::env::args().nth(1) {
        Some(s) => s.parse()?,
        None => 2048,
    };

    // ---- data and initial parameters ----------------------------------------
    let mut rng = StdRng::seed_from_u64(11);
    let mut uniform = |shape: &[usize], scale: f32| {
        ArrayD::from_shape_fn(IxDyn(shape), |_| scale * rng.gen_range(-1.0f32..1.0))
    };
    let centres = uniform(&[CLASSES, INPUTS], 1.0).into_dimensionality::<Ix2>()?;
    let noise = uniform(&[n, INPUTS], 1.0);
    let mut rng = StdRng::seed_from_u64(12);
    let labels: Vec<usize> = (0..n).map(|_| rng.gen_range(0..CLASSES)).collect();
    let x = ArrayD::from_shape_fn(IxDyn(&[n, INPUTS]), |ix| {
        centres[[labels[ix[0]], ix[1]]] + noise[[ix[0], ix[1]]]
    });
    let label_values = ArrayD::from_shape_fn(IxDyn(&[n]), |ix| labels[ix[0]] as f32);
    let mut rng = StdRng::seed_from_u64(13);
    let mut uniform = |shape: &[usize], scale: f32| {
        ArrayD::from_shape_fn(IxDyn(shape), |_| scale * rng.gen_range(-1.0f32..1.0))
    };
    let mut params: Vec<ArrayD<f32>> = vec![
        uniform(&[INPUTS, HIDDEN], 1.0 / (INPUTS as f32).sqrt()),
        ArrayD::zeros(IxDyn(&[HIDDEN])),
        uniform(&[HIDDEN, CLASSES], 1.0 / (HIDDEN as f32).sqrt()),
        ArrayD::zeros(IxDyn(&[CLASSES])),
    ];

    // ---- the graph: parse the program, add the gradients ---------------------
    let mut opts = ParseOptions::new(DType::F32);
    for (name, dims) in [
        ("X", vec![n, INPUTS]),
        ("labels", vec![n]),
        ("W1", vec![INPUTS, HIDDEN]),
        ("b1", vec![HIDDEN]),
        ("W2", vec![HIDDEN, CLASSES]),
        ("b2", vec![CLASSES]),
    ] {
        opts.input_shapes
            .insert(name.to_string(), Shape::known(&dims));
    }
    let g = Graph::new();
    let prog = parse(&g, MODEL, &opts)?;
    let input = |name: &str| -> Res<Tensor<'_>> {
        let id = g.placeholder_named(name).ok_or("an input of the program")?;
        Ok(g.tensor(id))
    };
    let (loss, logits) = (
        g.tensor(prog.bindings["loss"]),
        g.tensor(prog.bindings["logits"]),
    );
    let param_inputs = PARAMS.iter().map(|p| input(p)).collect::<Res<Vec<_>>>()?;
    let mut fetches = vec![loss, logits];
    for grad in g.gradients(&[loss], &param_inputs)? {
        fetches.push(grad.ok_or("every parameter reaches the loss")?);
    }
    let (xs, ls) = (input("X")?, input("labels")?);
    let (x, label_values) = (Value::F32(x), Value::F32(label_values));

    // ---- training ------------------------------------------------------------
    let mut jit = Session::with_engine(&g, Engine::Jit);
    let mut oracle = Session::with_engine(&g, Engine::Interp);
    let mut losses = Vec::with_capacity(STEPS);
    let mut accuracy = 0.0;
    let t0 = Instant::now();
    for step in 0..STEPS {
        let values: Vec<Value> = params.iter().cloned().map(Value::F32).collect();
        let mut feeds = vec![(xs, &x), (ls, &label_values)];
        feeds.extend(param_inputs.iter().copied().zip(values.iter()));
        let out = jit.run(&fetches, &feeds)?;
        if step < CHECKED_STEPS {
            let want = oracle.run(&fetches, &feeds)?;
            agree(&out, &want).map_err(|e| format!("step {step}: {e}"))?;
        }
        losses.push(out[0].to_f64_vec()[0]);
        accuracy = accuracy_of(&out[1], &labels)?;
        for (p, grad) in params.iter_mut().zip(&out[2..]) {
            let grad = grad.as_array::<f32>().ok_or("f32 gradients")?;
            p.scaled_add(-LEARNING_RATE as f32, grad);
        }
    }
    let elapsed = t0.elapsed();

    // ---- report and checks -------------------------------------------------
    println!("classifier {INPUTS}-{HIDDEN}-{CLASSES}, {n} examples, {STEPS} steps");
    for s in (0..STEPS).step_by(STEPS / 5).chain([STEPS - 1]) {
        println!("  step {s:>4}   loss {:.4}", losses[s]);
    }
    println!(
        "  {:.2} ms per step (jit, loss, logits and four gradients); accuracy {:.1}%",
        elapsed.as_secs_f64() * 1e3 / STEPS as f64,
        accuracy * 100.0
    );
    let (first, last) = (losses[0], losses[STEPS - 1]);
    assert!(
        last < first / 4.0,
        "the loss fell only from {first} to {last}"
    );
    assert!(
        accuracy >= MIN_ACCURACY,
        "accuracy {accuracy} is below {MIN_ACCURACY}"
    );
    println!(
        "ok: the loss fell {:.1}x; the first {CHECKED_STEPS} steps agree with the interpreter",
        first / last
    );
    Ok(())
}
