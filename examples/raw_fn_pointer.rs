//! Compile once, take the native entry point as an `extern "C" fn`, and call
//! it directly on raw buffers; then the safe wrapper that does the same.
//!
//! Run with `cargo run --release --example raw_fn_pointer [N]` (default
//! 1000000 elements).
//!
//! The gradient of the seed program `y = x*x + 3*x` simplifies to
//! `d_x = x + (3 + x)`: one fused kernel with one input and one output.
//! Every kernel has the same C signature ([`gradjit::jit::KernelFn`]):
//!
//! ```text
//! unsafe extern "C" fn(ptrs: *const *mut u8, strides: *const isize, rows: usize, inner: usize)
//! ```
//!
//! `ptrs` holds one base pointer per input, then one per output; `strides`
//! one row stride (in elements) per input; the kernel computes `rows` rows
//! of `inner` elements. The loop lengths are arguments, so the same code
//! serves any length.

use std::time::{Duration, Instant};

use gradjit::exec::{compile, CompileOptions};
use gradjit::graph::kernel::InnerAccess;
use gradjit::jit::KernelFn;
use gradjit::value::ValueViewMut;
use gradjit::{AsFeed, DType, Graph, Shape};
use ndarray::{ArrayD, IxDyn};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> Res<()> {
    let n: usize = match std::env::args().nth(1) {
        Some(s) => s.parse()?,
        None => 1_000_000,
    };

    // ---- compile once ----------------------------------------------------------
    let g = Graph::new();
    let x = g.placeholder("x", DType::F32, Shape::unknown());
    let y = x * x + 3.0 * x;
    let dx = g.gradients(&[y], &[x])?[0].ok_or("x is connected")?;
    let exe = compile(
        &g,
        &[dx.id()],
        &[(x.id(), vec![n])],
        &CompileOptions::default(),
    )?;
    let [kernel] = exe.kernels() else {
        return Err("the seed gradient fuses into one kernel".into());
    };
    println!(
        "kernel {}: {} operations, inputs read as {:?}, {} output; {} library steps",
        kernel.spec.name,
        kernel.spec.op_count(),
        kernel.spec.inputs,
        kernel.spec.outputs.len(),
        exe.library_steps()
    );
    assert_eq!(kernel.spec.inputs, [InnerAccess::Contiguous]);
    let f: KernelFn = exe.kernel_fn(0).ok_or("kernel 0 exists")?;

    let xs: Vec<f32> = (0..n).map(|i| (i % 1000) as f32 / 100.0 - 5.0).collect();

    // ---- 1. the raw entry point -------------------------------------------------
    let mut raw_out = vec![0.0f32; n];
    // the best of 5 calls each, so that neither pays for first touching memory
    let mut raw_time = Duration::MAX;
    for _ in 0..5 {
        let t0 = Instant::now();
        // SAFETY: the kernel reads `rows * inner` = n elements from ptrs[0]
        // and writes as many at ptrs[1]; both buffers hold n f32. With one
        // row the input's row stride is never used.
        unsafe { call(f, &xs, &mut raw_out, 1, n)? };
        raw_time = raw_time.min(t0.elapsed());
    }

    // ---- 2. the safe wrapper: checks shapes, dtypes and lengths, then calls -------
    let x_arr = ArrayD::from_shape_vec(IxDyn(&[n]), xs.clone())?;
    let mut safe_out = ArrayD::<f32>::zeros(IxDyn(&[n]));
    let mut safe_time = Duration::MAX;
    for _ in 0..5 {
        let t0 = Instant::now();
        exe.run_into(
            &[x_arr.as_feed()],
            &mut [ValueViewMut::from(safe_out.view_mut())],
        )?;
        safe_time = safe_time.min(t0.elapsed());
    }

    println!("\n   x        raw call   run_into   by hand (2x + 3)");
    for i in [0, 1, 250, 500, 999].into_iter().filter(|&i| i < n) {
        println!(
            "  {:>6.2}  {:>9.2}  {:>9.2}  {:>9.2}",
            xs[i],
            raw_out[i],
            safe_out[i],
            2.0 * xs[i] + 3.0
        );
    }
    assert!(raw_out.iter().zip(safe_out.iter()).all(|(a, b)| a == b));
    assert!(xs.iter().zip(&raw_out).all(|(x, d)| *d == x + (3.0 + x)));
    println!(
        "\n{n} elements, best of 5 calls: raw call {:.3} ms, run_into {:.3} ms; identical results",
        raw_time.as_secs_f64() * 1e3,
        safe_time.as_secs_f64() * 1e3
    );

    // ---- 3. the same code at other lengths and as rows ----------------------------
    // 7 elements: no full vector, the scalar tail only
    let short = [-3.0f32, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0];
    let mut short_out = [0.0f32; 7];
    // SAFETY: 7 elements in, 7 out.
    unsafe { call(f, &short, &mut short_out, 1, short.len())? };
    println!("7 elements with the same function: {short_out:?}");
    assert_eq!(short_out, short.map(|x| 2.0 * x + 3.0));
    // 3 rows of 4, the input's rows 4 elements apart
    let grid: Vec<f32> = (0..12).map(|i| i as f32).collect();
    let mut grid_out = vec![0.0f32; 12];
    // SAFETY: rows 0..3 of the input start at 0, 4, 8 and hold 4 elements;
    // the output is 12 contiguous elements.
    unsafe { call(f, &grid, &mut grid_out, 3, 4)? };
    println!("3 rows of 4: {grid_out:?}");
    assert!(grid.iter().zip(&grid_out).all(|(x, d)| *d == 2.0 * x + 3.0));

    // ---- 4. what the safe wrapper refuses -----------------------------------------
    let wrong = ArrayD::<f32>::zeros(IxDyn(&[n + 1]));
    match exe.run_into(&[wrong.as_feed()], &mut [safe_out.view_mut().into()]) {
        Err(e) => println!("run_into with {} elements: error: {e}", n + 1),
        Ok(()) => return Err("a feed of the wrong length was accepted".into()),
    }
    Ok(())
}

/// Calls a one-input, one-output kernel on `rows` rows of `inner` elements,
/// the input's rows `inner` elements apart.
///
/// The lengths are checked in every build, since a short buffer would be
/// read or written past its end.
///
/// # Safety
/// `f` must be a kernel of one contiguous `f32` input and one output.
unsafe fn call(
    f: KernelFn,
    input: &[f32],
    output: &mut [f32],
    rows: usize,
    inner: usize,
) -> Res<()> {
    let need = rows.checked_mul(inner).ok_or("rows * inner overflows")?;
    if input.len() < need || output.len() < need {
        return Err(format!(
            "{rows} rows of {inner} need {need} elements; the buffers hold {} and {}",
            input.len(),
            output.len()
        )
        .into());
    }
    let ptrs: [*mut u8; 2] = [
        input.as_ptr() as *mut u8, // read only: the kernel never writes inputs
        output.as_mut_ptr() as *mut u8,
    ];
    let strides: [isize; 1] = [inner as isize];
    // SAFETY: the caller's contract above.
    unsafe { f(ptrs.as_ptr(), strides.as_ptr(), rows, inner) };
    Ok(())
}
