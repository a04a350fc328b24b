//! Logistic regression trained by gradient descent.
//!
//! The loss and its gradients are compiled once into an [`Executable`] and
//! called every step with [`Executable::run_into`], which writes into arrays
//! the loop owns: no array is allocated per step. The same
//! training runs on the reference interpreter (through a [`Session`]) for
//! comparison: both engines print the same losses, up to the rounding of
//! the mean (the interpreter adds the N terms one after another in `f32`;
//! native code adds them in blocks, closer to the exact sum).
//!
//! Run with `cargo run --release --example train_logistic [N]` (N examples,
//! default 16384).
//!
//! The data: N points uniform in [-1, 1]^16, labelled ±1 by a hidden
//! hyperplane (seeded, so every run is the same). The model and loss are the
//! project's benchmark B3:
//!
//! ```text
//! loss = mean(softplus(-t * (X @ w + b)))
//! ```

use std::time::{Duration, Instant};

use gradjit::exec::{compile, CompileOptions, Engine};
use gradjit::value::ValueViewMut;
use gradjit::{AsFeed, DType, Graph, Session, Shape, ValueView};
use ndarray::{ArrayD, IxDyn};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Features per example.
const D: usize = 16;
const STEPS: usize = 200;
const LEARNING_RATE: f32 = 4.0;
/// The example fails unless the loss falls at least this many times.
const LOSS_FACTOR: f32 = 4.0;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// What training changes: the weights and the bias.
#[derive(Clone)]
struct Params {
    w: ArrayD<f32>,
    b: ArrayD<f32>,
}

fn main() -> Res<()> {
    let n: usize = match std::env::args().nth(1) {
        Some(s) => s.parse()?,
        None => 1 << 14,
    };

    // ---- data ------------------------------------------------------------
    let mut rng = StdRng::seed_from_u64(2024);
    let x = ArrayD::from_shape_fn(IxDyn(&[n, D]), |_| rng.gen_range(-1.0f32..1.0));
    let hidden: Vec<f32> = (0..=D).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
    let t = ArrayD::from_shape_fn(IxDyn(&[n, 1]), |i| {
        let z: f32 = (0..D).map(|j| x[[i[0], j]] * hidden[j]).sum::<f32>() + hidden[D] * 0.5;
        if z >= 0.0 {
            1.0
        } else {
            -1.0
        }
    });

    // ---- the graph: loss, gradients, accuracy ------------------------------
    let g = Graph::new();
    let xs = g.placeholder("X", DType::F32, Shape::known(&[n, D]));
    let ts = g.placeholder("t", DType::F32, Shape::known(&[n, 1]));
    let ws = g.placeholder("w", DType::F32, Shape::known(&[D, 1]));
    let bs = g.placeholder("b", DType::F32, Shape::known(&[1]));
    let margin = ts * (xs.matmul(ws) + bs);
    let loss = (-margin).softplus().mean();
    let grads = g.gradients(&[loss], &[ws, bs])?;
    let (dw, db) = (grads[0].ok_or("w")?, grads[1].ok_or("b")?);
    // a comparison is 1.0 where true: the mean is the fraction classified right
    let accuracy = margin.greater(margin.scalar_like(0.0)).mean();

    let start = Params {
        w: ArrayD::zeros(IxDyn(&[D, 1])),
        b: ArrayD::zeros(IxDyn(&[1])),
    };
    let names = ["X", "t", "w", "b"];
    let shapes = [xs, ts, ws, bs].map(|p| (p.id(), p.shape().concrete().unwrap_or_default()));

    // ---- native code: compile once ------------------------------------------
    let t0 = Instant::now();
    let step_exe = compile(
        &g,
        &[loss.id(), dw.id(), db.id()],
        &shapes,
        &CompileOptions::default(),
    )?;
    let compile_time = t0.elapsed();
    let order: [usize; 4] = step_exe
        .feed_order(&names)?
        .try_into()
        .map_err(|_| "the training step reads all four inputs")?;
    println!(
        "compiled the training step in {:.1} ms: {} fused kernels, {} library steps",
        compile_time.as_secs_f64() * 1e3,
        step_exe.kernels().len(),
        step_exe.library_steps()
    );

    let mut jit = start.clone();
    let mut loss_out = ArrayD::<f32>::zeros(IxDyn(&[]));
    let mut dw_out = ArrayD::<f32>::zeros(IxDyn(&[D, 1]));
    let mut db_out = ArrayD::<f32>::zeros(IxDyn(&[1]));
    let mut jit_losses = Vec::with_capacity(STEPS + 1);
    let mut jit_time = Duration::ZERO;
    for _ in 0..STEPS {
        let t0 = Instant::now();
        {
            let all = [x.as_feed(), t.as_feed(), jit.w.as_feed(), jit.b.as_feed()];
            let feeds: [ValueView<'_>; 4] = std::array::from_fn(|i| all[order[i]].clone());
            step_exe.run_into(
                &feeds,
                &mut [
                    ValueViewMut::from(loss_out.view_mut()),
                    dw_out.view_mut().into(),
                    db_out.view_mut().into(),
                ],
            )?;
        }
        jit.w.scaled_add(-LEARNING_RATE, &dw_out);
        jit.b.scaled_add(-LEARNING_RATE, &db_out);
        jit_time += t0.elapsed();
        jit_losses.push(loss_out.first().copied().unwrap_or(f32::NAN));
    }

    // ---- the reference interpreter, the same steps --------------------------
    let mut interp = start.clone();
    let mut sess = Session::with_engine(&g, Engine::Interp);
    let mut interp_losses = Vec::with_capacity(STEPS + 1);
    let t0 = Instant::now();
    for _ in 0..STEPS {
        let out = sess.run(
            &[loss, dw, db],
            &[(xs, &x), (ts, &t), (ws, &interp.w), (bs, &interp.b)],
        )?;
        let grad = |k: usize| out[k].as_array::<f32>().ok_or("an f32 gradient");
        interp.w.scaled_add(-LEARNING_RATE, grad(1)?);
        interp.b.scaled_add(-LEARNING_RATE, grad(2)?);
        interp_losses.push(out[0].to_f64_vec()[0] as f32);
    }
    let interp_time = t0.elapsed();

    // ---- report ----------------------------------------------------------------
    println!("logistic regression, {n} examples x {D} features, {STEPS} steps of gradient descent");
    println!("  step   loss (jit)   loss (interp)");
    for s in (0..STEPS).step_by(STEPS / 8).chain([STEPS - 1]) {
        println!(
            "  {:>4}   {:>10.6}   {:>13.6}",
            s, jit_losses[s], interp_losses[s]
        );
    }
    let acc_exe = compile(&g, &[accuracy.id()], &shapes, &CompileOptions::default())?;
    let acc_order = acc_exe.feed_order(&names)?;
    let all = [x.as_feed(), t.as_feed(), jit.w.as_feed(), jit.b.as_feed()];
    let feeds: Vec<ValueView<'_>> = acc_order.iter().map(|&i| all[i].clone()).collect();
    let acc = acc_exe.run(&feeds)?[0].to_f64_vec()[0];
    println!("  accuracy on the training set: {:.1}%", acc * 100.0);
    let per_step = |d: Duration| d.as_secs_f64() * 1e3 / STEPS as f64;
    println!(
        "  time per step: jit {:.3} ms, interp {:.3} ms ({:.1}x)",
        per_step(jit_time),
        per_step(interp_time),
        interp_time.as_secs_f64() / jit_time.as_secs_f64()
    );

    // ---- checks ------------------------------------------------------------------
    let (first, last) = (jit_losses[0], jit_losses[STEPS - 1]);
    assert!(
        last * LOSS_FACTOR <= first,
        "the loss fell from {first} to {last}, less than {LOSS_FACTOR} times"
    );
    for (s, (a, b)) in jit_losses.iter().zip(&interp_losses).enumerate() {
        assert!(
            (a - b).abs() <= 1e-3 * a.abs().max(1e-2),
            "step {s}: jit loss {a}, interp loss {b}"
        );
    }
    assert!(acc >= 0.95, "accuracy {acc}");
    println!(
        "ok: the loss fell {:.1}x (at least {LOSS_FACTOR}x required)",
        first / last
    );
    Ok(())
}
