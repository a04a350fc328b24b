//! One gradient graph run by every engine, with times, and the kernels the
//! fusion made.
//!
//! Run with `cargo run --release --example fused_vs_unfused [N]` (the
//! length of each input, default 2^20).
//!
//! The program is the project's benchmark B2: a sum over a chain of
//! elementwise functions, differentiated with respect to all four inputs.
//! Every engine computes the output and the four gradients in one call:
//!
//! * `interp`: the reference interpreter, one `ndarray` operation at a time;
//! * `jit-unfused`: native code, one kernel per operation, each reading and
//!   writing memory;
//! * `jit`: native code after fusion, one thread;
//! * `jit-mt`: the same on all cores.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use gradjit::exec::{Engine, ENGINES};
use gradjit::graph::kernel::KInst;
use gradjit::simplify::Pipeline;
use gradjit::text::{parse, print_program, ParseOptions};
use gradjit::{DType, Graph, NodeId, Session, Shape, Value, ValueView};
use ndarray::{ArrayD, IxDyn};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const B2: &str = "y = sum(tanh(a*x + b) * sigmoid(c*x) + exp(-x*x))";
const WRT: [&str; 4] = ["x", "a", "b", "c"];

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> Res<()> {
    let n: usize = match std::env::args().nth(1) {
        Some(s) => s.parse()?,
        None => 1 << 20,
    };
    let repeat = (1 << 24) / n.max(1 << 10) + 4;
    let repeat = repeat.min(50);

    let g = Graph::new();
    let prog = parse(&g, B2, &ParseOptions::new(DType::F32))?;
    let y = g.tensor(prog.output);
    let mut xs = Vec::new();
    for name in WRT {
        xs.push(g.tensor(g.placeholder_named(name).ok_or("an input")?));
    }
    let grads = g.gradients(&[y], &xs)?;
    let mut fetches = vec![y];
    for gr in grads {
        fetches.push(gr.ok_or("every input reaches y")?);
    }
    let fetch_ids: Vec<NodeId> = fetches.iter().map(|t| t.id()).collect();

    // what will be compiled: the gradients, simplified for inputs of length n
    let shapes: HashMap<String, Shape> = WRT
        .iter()
        .map(|x| (x.to_string(), Shape::known(&[n])))
        .collect();
    let s = Pipeline::standard().run_with_shapes(&g, &fetch_ids[1..], &shapes)?;
    let names: Vec<String> = WRT.iter().map(|x| format!("d_{x}")).collect();
    let named: Vec<(&str, NodeId)> = names
        .iter()
        .map(String::as_str)
        .zip(s.roots.iter().copied())
        .collect();
    println!("program: {B2}");
    println!(
        "its gradients, simplified ({} -> {} operations):",
        s.nodes_before,
        s.nodes_after()
    );
    for line in print_program(&s.graph, &named).lines() {
        println!("    {line}");
    }

    // seeded inputs in [-1, 1]
    let mut rng = StdRng::seed_from_u64(3);
    let values: Vec<ArrayD<f32>> = WRT
        .iter()
        .map(|_| ArrayD::from_shape_fn(IxDyn(&[n]), |_| rng.gen_range(-1.0f32..1.0)))
        .collect();
    let feeds: Vec<(gradjit::Tensor<'_>, ValueView<'_>)> = xs
        .iter()
        .zip(&values)
        .map(|(t, v)| (*t, ValueView::F32(v.view())))
        .collect();
    let feed_shapes: Vec<(NodeId, Vec<usize>)> = xs.iter().map(|t| (t.id(), vec![n])).collect();

    println!("\nN = {n}, median of {repeat} calls, output and 4 gradients per call");
    println!(
        "  {:<12} {:>11} {:>11} {:>8} {:>14}",
        "engine", "compile ms", "call ms", "kernels", "max rel. diff"
    );
    let mut reference: Vec<Value> = Vec::new();
    let mut fused_kernels = None;
    for engine in ENGINES {
        let mut sess = Session::with_engine(&g, engine);
        let t0 = Instant::now();
        // the executable a session runs, compiled on first use and cached
        let exe = match engine {
            Engine::Interp => None,
            _ => Some(sess.executable(&fetch_ids, &feed_shapes)?),
        };
        let compile_time = t0.elapsed();
        let mut times = Vec::with_capacity(repeat);
        let mut out = Vec::new();
        for _ in 0..repeat {
            let t0 = Instant::now();
            out = sess.run(&fetches, &feeds)?;
            times.push(t0.elapsed());
        }
        times.sort();
        let median: Duration = times[times.len() / 2];
        if engine == Engine::Interp {
            reference = out.clone();
        }
        let diff = max_rel_diff(&reference, &out);
        let compile_ms = match exe {
            Some(_) => format!("{:.2}", compile_time.as_secs_f64() * 1e3),
            None => "-".to_string(),
        };
        println!(
            "  {:<12} {:>11} {:>11.3} {:>8} {:>14.1e}",
            engine.name(),
            compile_ms,
            median.as_secs_f64() * 1e3,
            exe.as_ref()
                .map_or("-".to_string(), |e| e.kernels().len().to_string()),
            diff
        );
        assert!(
            diff < 1e-4,
            "{engine} differs from the interpreter by {diff}"
        );
        if engine == Engine::Jit {
            fused_kernels = exe;
        }
    }

    let exe = fused_kernels.ok_or("the jit engine ran")?;
    println!("\nthe kernels of the fused (jit) executable:");
    for k in exe.kernels() {
        let ops: Vec<&str> = k
            .spec
            .body
            .iter()
            .filter_map(|inst| match inst {
                KInst::Unary(op, _) => Some(op.name()),
                KInst::Binary(op, _, _) => Some(op.symbol().unwrap_or(op.name())),
                KInst::Select(..) => Some("where"),
                KInst::Input(_) | KInst::Const(_) => None,
            })
            .collect();
        println!(
            "  {}: {} inputs, {} outputs, {} reductions in the loop, {} operations:",
            k.spec.name,
            k.inputs.len(),
            k.outputs.len(),
            k.reductions.len(),
            ops.len()
        );
        println!("      {}", ops.join(" "));
    }
    println!(
        "  and {} library steps (matrix products, reductions outside kernels)",
        exe.library_steps()
    );
    Ok(())
}

/// The largest difference between two lists of values, relative to the
/// largest magnitude of each reference value.
fn max_rel_diff(reference: &[Value], got: &[Value]) -> f64 {
    reference
        .iter()
        .zip(got)
        .map(|(r, v)| {
            let (r, v) = (r.to_f64_vec(), v.to_f64_vec());
            let scale = r.iter().fold(1e-30f64, |m, x| m.max(x.abs()));
            r.iter()
                .zip(&v)
                .fold(0.0f64, |m, (a, b)| m.max((a - b).abs() / scale))
        })
        .fold(0.0, f64::max)
}
