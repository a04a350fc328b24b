//! The benchmark CNN (B6: two convolutions with max pooling, then a linear
//! layer and the sparse softmax cross-entropy) trained by gradient descent
//! on synthetic 28×28 images whose class is drawn into them.
//!
//! The program is B6's, word for word, parsed with the batch left open, so
//! one graph serves the training batch on the `jit` engine and a few
//! images on the reference interpreter, which must agree with it.
//!
//! Run with `cargo run --release --example train_cnn [N]` (N images,
//! default 256).
//!
//! The data (seeded): class k is a bright 5×5 square at one of ten places
//! (two rows of five) on a noisy background, so a convolution that finds
//! the square and a linear layer that reads where it is can learn it, and
//! chance is 10%.

mod classify;

use std::time::Instant;

use classify::{accuracy_of, agree, Res};

use gradjit::exec::Engine;
use gradjit::text::{parse, ParseOptions};
use gradjit::{DType, Graph, Session, Shape, Tensor, Value};
use ndarray::{s, ArrayD, Axis, IxDyn};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const B6: &str = "c1 = relu(conv2d(X, K1, 1, \"SAME\") + k1); p1 = max_pool2d(c1, 2)
c2 = relu(conv2d(p1, K2, 1, \"SAME\") + k2); p2 = max_pool2d(c2, 2)
logits = reshape(p2, [-1, 1568]) @ W + b
loss = mean(sparse_softmax_cross_entropy(labels, logits))";
const CLASSES: usize = 10;
const STEPS: usize = 40;
const LEARNING_RATE: f32 = 0.1;
/// Images also run on the interpreter in the first step.
const CHECKED: usize = 4;
/// The example fails unless the final accuracy reaches this.
const MIN_ACCURACY: f64 = 0.5;

/// The parameters, each with its shape.
const PARAMS: [(&str, &[usize]); 6] = [
    ("K1", &[3, 3, 1, 16]),
    ("k1", &[16]),
    ("K2", &[3, 3, 16, 32]),
    ("k2", &[32]),
    ("W", &[1568, CLASSES]),
    ("b", &[CLASSES]),
];

fn main() -> Res<()> {
    let n: usize = match std::env::args().nth(1) {
        Some(s) => s.parse()?,
        None => 256,
    };

    // ---- data and initial parameters ----------------------------------------
    let mut rng = StdRng::seed_from_u64(21);
    let labels: Vec<usize> = (0..n).map(|_| rng.gen_range(0..CLASSES)).collect();
    let mut images = ArrayD::from_shape_fn(IxDyn(&[n, 28, 28, 1]), |_| rng.gen_range(-0.3f32..0.3));
    for (b, &k) in labels.iter().enumerate() {
        let (r, c) = (4 + 14 * (k / 5), 1 + 5 * (k % 5));
        images
            .slice_mut(s![b, r..r + 5, c..c + 5, ..])
            .mapv_inplace(|v| v + 1.0);
    }
    let label_values = ArrayD::from_shape_fn(IxDyn(&[n]), |ix| labels[ix[0]] as f32);
    let mut params: Vec<ArrayD<f32>> = PARAMS
        .iter()
        .map(|(name, dims)| {
            // weights U(-1, 1) / sqrt(fan-in), biases zero
            let fan_in: usize = dims[..dims.len() - 1].iter().product();
            let scale = if name.starts_with(char::is_lowercase) {
                0.0
            } else {
                1.0 / (fan_in as f32).sqrt()
            };
            ArrayD::from_shape_fn(IxDyn(dims), |_| scale * rng.gen_range(-1.0f32..1.0))
        })
        .collect();

    // ---- the graph, the batch left open --------------------------------------
    let mut opts = ParseOptions::new(DType::F32);
    opts.input_shapes.insert(
        "X".into(),
        Shape::with_dims(vec![None, Some(28), Some(28), Some(1)]),
    );
    opts.input_shapes
        .insert("labels".into(), Shape::with_dims(vec![None]));
    for (name, dims) in PARAMS {
        opts.input_shapes.insert(name.into(), Shape::known(dims));
    }
    let g = Graph::new();
    let prog = parse(&g, B6, &opts)?;
    let input = |name: &str| -> Res<Tensor<'_>> {
        let id = g.placeholder_named(name).ok_or("an input of the program")?;
        Ok(g.tensor(id))
    };
    let (loss, logits) = (
        g.tensor(prog.bindings["loss"]),
        g.tensor(prog.bindings["logits"]),
    );
    let param_inputs = PARAMS
        .iter()
        .map(|(p, _)| input(p))
        .collect::<Res<Vec<_>>>()?;
    let mut fetches = vec![loss, logits];
    for grad in g.gradients(&[loss], &param_inputs)? {
        fetches.push(grad.ok_or("every parameter reaches the loss")?);
    }
    let (xs, ls) = (input("X")?, input("labels")?);
    let few = |a: &ArrayD<f32>| Value::F32(a.slice_axis(Axis(0), (0..CHECKED).into()).to_owned());
    let (check_x, check_l) = (few(&images), few(&label_values));
    let (x, label_values) = (Value::F32(images), Value::F32(label_values));

    // ---- training ------------------------------------------------------------
    let mut jit = Session::with_engine(&g, Engine::Jit);
    let mut oracle = Session::with_engine(&g, Engine::Interp);
    let mut losses = Vec::with_capacity(STEPS);
    let mut accuracy = 0.0;
    let t0 = Instant::now();
    for step in 0..STEPS {
        let values: Vec<Value> = params.iter().cloned().map(Value::F32).collect();
        if step == 0 {
            check_engines(
                &mut jit,
                &mut oracle,
                &fetches,
                (xs, &check_x),
                (ls, &check_l),
                &param_inputs,
                &values,
            )?;
        }
        let mut feeds = vec![(xs, &x), (ls, &label_values)];
        feeds.extend(param_inputs.iter().copied().zip(values.iter()));
        let out = jit.run(&fetches, &feeds)?;
        losses.push(out[0].to_f64_vec()[0]);
        accuracy = accuracy_of(&out[1], &labels)?;
        for (p, grad) in params.iter_mut().zip(&out[2..]) {
            p.scaled_add(
                -LEARNING_RATE,
                grad.as_array::<f32>().ok_or("f32 gradients")?,
            );
        }
    }
    let elapsed = t0.elapsed();

    // ---- report and checks -------------------------------------------------
    println!("B6 CNN, {n} images of 28x28, {STEPS} steps");
    for s in (0..STEPS).step_by(STEPS / 4).chain([STEPS - 1]) {
        println!("  step {s:>4}   loss {:.4}", losses[s]);
    }
    println!(
        "  {:.1} ms per step (jit: loss, logits and six gradients); accuracy {:.1}%",
        elapsed.as_secs_f64() * 1e3 / STEPS as f64,
        accuracy * 100.0
    );
    let (first, last) = (losses[0], losses[STEPS - 1]);
    assert!(
        last < first / 2.0,
        "the loss fell only from {first} to {last}"
    );
    assert!(
        accuracy >= MIN_ACCURACY,
        "accuracy {accuracy} is below {MIN_ACCURACY}"
    );
    println!(
        "ok: the loss fell {:.1}x; on {CHECKED} images jit and the interpreter agree",
        first / last
    );
    Ok(())
}

/// Runs the step on a few images on both engines and checks they agree.
fn check_engines<'g>(
    jit: &mut Session<'g>,
    oracle: &mut Session<'g>,
    fetches: &[Tensor<'g>],
    x: (Tensor<'g>, &Value),
    labels: (Tensor<'g>, &Value),
    params: &[Tensor<'g>],
    values: &[Value],
) -> Res<()> {
    let mut feeds = vec![x, labels];
    feeds.extend(params.iter().copied().zip(values.iter()));
    agree(&jit.run(fetches, &feeds)?, &oracle.run(fetches, &feeds)?)
}
