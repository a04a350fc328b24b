//! The whole program as one `extern "C"` function: B4's training step (two
//! matrix products, `tanh`, a mean and four gradients: several kernels and
//! library steps) called through one raw pointer, beside the checked
//! `run_entry` and the executor's `run`.
//!
//! Run with `cargo run --release --example raw_whole_program [N]` (default
//! 4096 rows).
//!
//! [`Executable::entry`] gives the function `gradjit aot` writes into an
//! object file:
//!
//! ```text
//! unsafe extern "C" fn(inputs: *const *const T, outputs: *const *mut T, scratch: *mut u8) -> i32
//! ```
//!
//! `inputs` holds one pointer per input (in the order of
//! `Executable::inputs`), `outputs` one per output (in fetch order), and
//! `scratch` a block of `scratch_bytes()` bytes aligned to 64: every
//! temporary of the plan lives at a fixed offset in it, so a call allocates
//! nothing.

use gradjit::driver::SCRATCH_ALIGN;
use gradjit::exec::{compile, CompileOptions, EntryFn, Executable};
use gradjit::text::{parse, ParseOptions};
use gradjit::value::Value;
use gradjit::{DType, Graph, Shape};
use ndarray::ArrayD;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const B4: &str = "h = tanh(X @ W1 + b1); o = h @ W2 + b2; loss = mean((o - T)**2)";

/// 64 bytes aligned to 64: a scratch block is a vector of these.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([u8; 64]);

fn main() -> Res<()> {
    let n: usize = match std::env::args().nth(1) {
        Some(s) => s.parse()?,
        None => 4096,
    };
    let shapes: [(&str, Vec<usize>); 6] = [
        ("X", vec![n, 32]),
        ("W1", vec![32, 64]),
        ("b1", vec![64]),
        ("W2", vec![64, 1]),
        ("b2", vec![1]),
        ("T", vec![n, 1]),
    ];
    // ---- compile once ----------------------------------------------------------
    let g = Graph::new();
    let prog = parse(
        &g,
        B4,
        &ParseOptions {
            dtype: DType::F32,
            input_shapes: shapes
                .iter()
                .map(|(k, d)| (k.to_string(), Shape::known(d)))
                .collect(),
            ..Default::default()
        },
    )?;
    let id = |name: &str| -> Res<gradjit::NodeId> {
        Ok(prog
            .inputs
            .iter()
            .find(|(k, _)| k == name)
            .ok_or("an input of B4")?
            .1)
    };
    let wrt: Vec<_> = ["W1", "b1", "W2", "b2"]
        .iter()
        .map(|k| id(k).map(|i| g.tensor(i)))
        .collect::<Res<_>>()?;
    let grads = g.gradients(&[g.tensor(prog.output)], &wrt)?;
    let mut fetches = vec![prog.output];
    for d in grads {
        fetches.push(d.ok_or("every weight reaches the loss")?.id());
    }
    let feeds: Vec<_> = shapes
        .iter()
        .map(|(k, d)| id(k).map(|i| (i, d.clone())))
        .collect::<Res<_>>()?;
    let exe = compile(&g, &fetches, &feeds, &CompileOptions::default())?;
    println!(
        "B4 at N = {n}: {} kernels and {} library steps in one function, {} bytes of scratch",
        exe.kernels().len(),
        exe.library_steps(),
        exe.scratch_bytes()
    );

    // ---- inputs, in the executable's order --------------------------------------
    let mut rng = SmallRng::seed_from_u64(4);
    let values: Vec<Vec<f32>> = exe
        .inputs()
        .iter()
        .map(|(_, d)| {
            (0..d.iter().product::<usize>())
                .map(|_| rng.gen_range(-1.0..1.0))
                .collect()
        })
        .collect();

    // ---- the raw call ------------------------------------------------------------
    let raw = call_raw(&exe, &values)?;

    // ---- the checked call and the executor ----------------------------------------
    let arrays: Vec<Value> = exe
        .inputs()
        .iter()
        .zip(&values)
        .map(|((_, d), v)| Ok(Value::F32(ArrayD::from_shape_vec(d.clone(), v.clone())?)))
        .collect::<Res<_>>()?;
    let views: Vec<_> = arrays.iter().map(Value::view).collect();
    let mut checked: Vec<Value> = exe
        .output_shapes()
        .iter()
        .map(|s| Value::F32(ArrayD::zeros(s.clone())))
        .collect();
    let mut outs: Vec<_> = checked.iter_mut().map(Value::view_mut).collect();
    exe.run_entry(&views, &mut outs)?;
    drop(outs);
    let executor = exe.run(&views)?;
    let names = ["loss", "d_W1", "d_b1", "d_W2", "d_b2"];
    for (j, name) in names.iter().enumerate() {
        let c = checked[j].to_f64_vec();
        let e = executor[j].to_f64_vec();
        let same = raw[j]
            .iter()
            .zip(&c)
            .all(|(a, b)| f64::from(*a).to_bits() == b.to_bits());
        let scale = e.iter().fold(1.0f64, |m, v| m.max(v.abs()));
        let diff = c
            .iter()
            .zip(&e)
            .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
        println!(
            "{name:>5}: {} elements, raw == run_entry bit for bit: {same}, largest difference from run: {:.1e} of {scale:.3}",
            c.len(),
            diff
        );
        if !same || diff > 1e-4 * scale {
            return Err(format!("{name}: the calls disagree").into());
        }
    }
    println!("ok: one function pointer computes B4's loss and its four gradients");
    Ok(())
}

/// Calls the whole-program function on raw buffers, as C would.
fn call_raw(exe: &Executable, values: &[Vec<f32>]) -> Res<Vec<Vec<f32>>> {
    let f: EntryFn<f32> = exe.entry::<f32>()?;
    let mut outputs: Vec<Vec<f32>> = exe
        .output_shapes()
        .iter()
        .map(|s| vec![0.0; s.iter().product()])
        .collect();
    // what the function's contract asks, checked here in every build
    for ((_, d), v) in exe.inputs().iter().zip(values) {
        if v.len() != d.iter().product::<usize>() {
            return Err("an input of the wrong length".into());
        }
    }
    if values.len() != exe.inputs().len() || SCRATCH_ALIGN != 64 {
        return Err("the inputs do not match the executable".into());
    }
    let mut scratch = vec![Line([0; 64]); exe.scratch_bytes().div_ceil(64)];
    let ins: Vec<*const f32> = values.iter().map(|v| v.as_ptr()).collect();
    let outs: Vec<*mut f32> = outputs.iter_mut().map(|v| v.as_mut_ptr()).collect();
    // SAFETY: one pointer per input, each to exactly its shape's elements
    // (checked above); one per output, each to a vector of exactly its
    // elements, none overlapping another or an input; `scratch_bytes` of
    // scratch aligned to 64 (`Line`); `exe`, which owns the code, outlives
    // the call.
    let code = unsafe { f(ins.as_ptr(), outs.as_ptr(), scratch.as_mut_ptr().cast()) };
    if code != 0 {
        return Err(format!("the program failed with code {code}").into());
    }
    Ok(outputs)
}
