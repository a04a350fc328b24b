//! The benchmark MLP (B4) trained by gradient descent.
//!
//! The model is written in gradjit's expression language and parsed into a
//! graph; its loss and the four gradients are compiled once and called
//! every step with [`Executable::run_into`] into arrays the loop owns. The
//! same training runs on the reference interpreter for comparison.
//!
//! Run with `cargo run --release --example train_mlp [N]` (N examples,
//! default 4096).
//!
//! The data: N points uniform in [-1, 1]^32; the target is the output of a
//! small random "teacher" network, `T = tanh(X @ V1) @ V2` with 4 hidden
//! units, so the 64-unit student can learn it (seeded, so every run is the
//! same).

use std::time::{Duration, Instant};

use gradjit::exec::{compile, CompileOptions, Engine};
use gradjit::text::{parse, ParseOptions};
use gradjit::value::ValueViewMut;
use gradjit::{AsFeed, DType, Graph, Session, Shape, ValueView};
use ndarray::{Array2, ArrayD, Ix2, IxDyn};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The benchmark's program, as `shared/spec/benchmarks.md` gives it.
const MLP: &str = "h = tanh(X @ W1 + b1); o = h @ W2 + b2; loss = mean((o - T)**2)";
const INPUTS: usize = 32;
const HIDDEN: usize = 64;
const STEPS: usize = 300;
const LEARNING_RATE: f32 = 0.2;
/// The example fails unless the loss falls at least this many times.
const LOSS_FACTOR: f32 = 10.0;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// What training changes, in the order of `PARAMS`.
const PARAMS: [&str; 4] = ["W1", "b1", "W2", "b2"];
/// Every input, data first.
const FEEDS: [&str; 6] = ["X", "T", "W1", "b1", "W2", "b2"];

fn main() -> Res<()> {
    let n: usize = match std::env::args().nth(1) {
        Some(s) => s.parse()?,
        None => 4096,
    };

    // ---- data and initial parameters ----------------------------------------
    let mut rng = StdRng::seed_from_u64(7);
    let mut uniform = |shape: &[usize], scale: f32| {
        ArrayD::from_shape_fn(IxDyn(shape), |_| scale * rng.gen_range(-1.0f32..1.0))
    };
    let x = uniform(&[n, INPUTS], 1.0);
    let teacher1 = uniform(&[INPUTS, 4], 0.5).into_dimensionality::<Ix2>()?;
    let teacher2 = uniform(&[4, 1], 1.0).into_dimensionality::<Ix2>()?;
    let x2: Array2<f32> = x.clone().into_dimensionality()?;
    let target = x2.dot(&teacher1).mapv(f32::tanh).dot(&teacher2);
    // scaled to mean 0 and variance 1: predicting 0 gives a loss of 1
    let mean = target.mean().unwrap_or(0.0);
    let std = target.std(0.0).max(1e-6);
    let target = target.mapv(|v| (v - mean) / std).into_dyn();
    // W ~ U(-1, 1) / sqrt(fan-in), biases zero
    let start: [ArrayD<f32>; 4] = [
        uniform(&[INPUTS, HIDDEN], 1.0 / (INPUTS as f32).sqrt()),
        ArrayD::zeros(IxDyn(&[HIDDEN])),
        uniform(&[HIDDEN, 1], 1.0 / (HIDDEN as f32).sqrt()),
        ArrayD::zeros(IxDyn(&[1])),
    ];

    // ---- the graph: parse the program, add the gradients ----------------------
    // matrix products need operands of known rank: give every input its shape
    let shape_of = |name: &str| -> Vec<usize> {
        match name {
            "X" => vec![n, INPUTS],
            "T" => vec![n, 1],
            "W1" => vec![INPUTS, HIDDEN],
            "b1" => vec![HIDDEN],
            "W2" => vec![HIDDEN, 1],
            _ => vec![1],
        }
    };
    let mut opts = ParseOptions::new(DType::F32);
    for name in FEEDS {
        opts.input_shapes
            .insert(name.to_string(), Shape::known(&shape_of(name)));
    }
    let g = Graph::new();
    let prog = parse(&g, MLP, &opts)?;
    let loss = g.tensor(prog.bindings["loss"]);
    let input = |name: &str| -> Res<_> {
        let id = g.placeholder_named(name).ok_or("an input of the program")?;
        Ok(g.tensor(id))
    };
    let [w1, b1, w2, b2] = PARAMS.map(input);
    let params = [w1?, b1?, w2?, b2?];
    let grads = g.gradients(&[loss], &params)?;
    let mut fetches = vec![loss.id()];
    for gr in &grads {
        fetches.push(gr.ok_or("every parameter reaches the loss")?.id());
    }

    // ---- native code: compile once ----------------------------------------------
    let mut shapes = Vec::new();
    for name in FEEDS {
        shapes.push((input(name)?.id(), shape_of(name)));
    }
    let t0 = Instant::now();
    let exe = compile(&g, &fetches, &shapes, &CompileOptions::default())?;
    println!(
        "compiled `{MLP}`\n  and its 4 gradients in {:.1} ms: {} fused kernels, {} library steps",
        t0.elapsed().as_secs_f64() * 1e3,
        exe.kernels().len(),
        exe.library_steps()
    );
    let order: [usize; 6] = exe
        .feed_order(&FEEDS)?
        .try_into()
        .map_err(|_| "the training step reads all six inputs")?;

    let mut jit = start.clone();
    let mut outs: Vec<ArrayD<f32>> = exe
        .output_shapes()
        .iter()
        .map(|s| ArrayD::zeros(IxDyn(s)))
        .collect();
    let mut jit_losses = Vec::with_capacity(STEPS);
    let mut jit_time = Duration::ZERO;
    for _ in 0..STEPS {
        let t0 = Instant::now();
        {
            let [w1, b1, w2, b2] = &jit;
            let all = [&x, &target, w1, b1, w2, b2].map(|a| a.as_feed());
            let feeds: [ValueView<'_>; 6] = std::array::from_fn(|i| all[order[i]].clone());
            let [l, g1, g2, g3, g4] = &mut outs[..] else {
                return Err("five outputs".into());
            };
            exe.run_into(
                &feeds,
                &mut [l, g1, g2, g3, g4].map(|o| ValueViewMut::from(o.view_mut())),
            )?;
        }
        for (p, grad) in jit.iter_mut().zip(&outs[1..]) {
            p.scaled_add(-LEARNING_RATE, grad);
        }
        jit_time += t0.elapsed();
        jit_losses.push(outs[0].first().copied().unwrap_or(f32::NAN));
    }

    // ---- the reference interpreter, the same steps ------------------------------
    let mut interp = start.clone();
    let mut sess = Session::with_engine(&g, Engine::Interp);
    let fetch: Vec<_> = fetches.iter().map(|&id| g.tensor(id)).collect();
    let (xs, ts) = (input("X")?, input("T")?);
    let mut interp_losses = Vec::with_capacity(STEPS);
    let t0 = Instant::now();
    for _ in 0..STEPS {
        let mut feeds = vec![(xs, &x), (ts, &target)];
        feeds.extend(params.iter().copied().zip(interp.iter()));
        let out = sess.run(&fetch, &feeds)?;
        for (p, grad) in interp.iter_mut().zip(&out[1..]) {
            p.scaled_add(-LEARNING_RATE, grad.as_array::<f32>().ok_or("f32")?);
        }
        interp_losses.push(out[0].to_f64_vec()[0] as f32);
    }
    let interp_time = t0.elapsed();

    // ---- report ----------------------------------------------------------------------
    println!("MLP 32-64-1, {n} examples, {STEPS} steps of gradient descent");
    println!("  step   loss (jit)   loss (interp)");
    for s in (0..STEPS).step_by(STEPS / 10).chain([STEPS - 1]) {
        println!(
            "  {:>4}   {:>10.6}   {:>13.6}",
            s, jit_losses[s], interp_losses[s]
        );
    }
    let per_step = |d: Duration| d.as_secs_f64() * 1e3 / STEPS as f64;
    println!(
        "  time per step: jit {:.3} ms, interp {:.3} ms ({:.1}x)",
        per_step(jit_time),
        per_step(interp_time),
        interp_time.as_secs_f64() / jit_time.as_secs_f64()
    );

    // ---- checks ----------------------------------------------------------------------
    let (first, last) = (jit_losses[0], jit_losses[STEPS - 1]);
    assert!(
        last * LOSS_FACTOR <= first,
        "the loss fell from {first} to {last}, less than {LOSS_FACTOR} times"
    );
    for (s, (a, b)) in jit_losses.iter().zip(&interp_losses).enumerate() {
        assert!(
            (a - b).abs() <= 1e-3 * a.abs().max(1e-3),
            "step {s}: jit loss {a}, interp loss {b}"
        );
    }
    println!(
        "ok: the loss fell {:.1}x (at least {LOSS_FACTOR}x required)",
        first / last
    );
    Ok(())
}
