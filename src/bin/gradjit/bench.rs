//! `gradjit bench`: compile once per engine, call repeatedly, report the
//! compile time and the median time per call.

use std::time::Instant;

use gradjit::exec::{compile, Engine, ENGINES};
use gradjit::interp;
use gradjit::{NodeId, Value, ValueView};

use crate::program::{load_feeds, load_program, Loaded};
use crate::run::{build_gradients, engine};
use crate::{BenchArgs, CliError, UnconnectedArg};

/// One engine's figures.
struct Measured {
    engine: Engine,
    compile_ms: f64,
    median_ms: f64,
    calls: usize,
}

/// The fetches of a bench: the program's output, then the gradients.
fn fetches(loaded: &Loaded, wrt: &[String]) -> Result<Vec<NodeId>, CliError> {
    let mut fetch = vec![loaded.program.output];
    if !wrt.is_empty() {
        let gg = build_gradients(loaded, &[], wrt, None, &[], UnconnectedArg::None)?;
        fetch.extend(gg.grads.iter().filter_map(|(_, _, gx)| *gx));
    }
    Ok(fetch)
}

fn median(mut times: Vec<f64>) -> f64 {
    times.sort_by(f64::total_cmp);
    times.get(times.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The least time a sample of a compiled engine takes: short calls are
/// repeated within a sample until it lasts this long.
const BATCH_SECONDS: f64 = 50e-6;

fn measure(args: &BenchArgs, e: Engine, repeat: usize) -> Result<Measured, CliError> {
    // making the inputs is not compiling: the clock starts at the program text
    let feeds = load_feeds(&args.common)?;
    let start = Instant::now();
    let loaded = load_program(&args.common, feeds, false, &args.wrt)?;
    let fetch = fetches(&loaded, &args.wrt)?;
    let mut times = Vec::with_capacity(repeat);
    let compile_ms;
    if e == Engine::Interp {
        // with stabilizing rewrites on, the interpreter runs the graph the
        // pipeline makes, as `Session` does (making it counts as compiling)
        let stabilized = match loaded.stabilize {
            true => Some(loaded.pipeline().run(&loaded.graph, &fetch)?),
            false => None,
        };
        let (graph, fetch) = match &stabilized {
            Some(s) => (&s.graph, &s.roots),
            None => (&loaded.graph, &fetch),
        };
        let feeds = loaded
            .feeds
            .iter()
            .filter_map(|(id, v)| {
                let name = loaded.name_of(*id)?;
                Some((graph.placeholder_named(&name)?, v.view()))
            })
            .collect();
        compile_ms = start.elapsed().as_secs_f64() * 1e3;
        for _ in 0..repeat {
            let t = Instant::now();
            interp::evaluate(graph, fetch, &feeds)?;
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
    } else {
        let shapes: Vec<(NodeId, Vec<usize>)> = loaded
            .feeds
            .iter()
            .map(|(id, v)| (*id, v.shape().to_vec()))
            .collect();
        let opts = loaded.compile_options(e, args.threads);
        let exe = compile(&loaded.graph, &fetch, &shapes, &opts)?;
        compile_ms = start.elapsed().as_secs_f64() * 1e3;
        let mut ordered: Vec<ValueView<'_>> = Vec::new();
        for (name, _) in exe.inputs() {
            let (_, v) = loaded
                .feeds
                .iter()
                .find(|(id, _)| loaded.name_of(*id).as_deref() == Some(name.as_str()))
                .ok_or_else(|| CliError::new(format!("input `{name}` is not fed")))?;
            ordered.push(v.view());
        }
        // outputs are allocated once: the calls measure the computation
        let mut outs: Vec<Value> = exe
            .output_shapes()
            .iter()
            .map(|s| {
                let zeros = ndarray::ArrayD::<f64>::zeros(s.clone());
                Value::from_f64_array(zeros, exe.dtype())
            })
            .collect();
        let mut views: Vec<_> = outs.iter_mut().map(Value::view_mut).collect();
        // a call shorter than the clock's resolution is timed in batches:
        // enough calls per sample that reading the clock costs under 1%
        // the first call makes the workspace: the fastest of a few says
        // what a call costs
        let mut once = f64::INFINITY;
        for _ in 0..3 {
            let t = Instant::now();
            exe.run_into(&ordered, &mut views)?;
            once = once.min(t.elapsed().as_secs_f64());
        }
        let batch = ((BATCH_SECONDS / once.max(1e-9)) as usize).clamp(1, 100_000);
        for _ in 0..repeat {
            let t = Instant::now();
            for _ in 0..batch {
                exe.run_into(&ordered, &mut views)?;
            }
            times.push(t.elapsed().as_secs_f64() * 1e3 / batch as f64);
        }
    }
    Ok(Measured {
        engine: e,
        compile_ms,
        median_ms: median(times),
        calls: repeat,
    })
}

/// `gradjit bench`.
pub fn bench(args: &BenchArgs) -> Result<String, CliError> {
    crate::program::distinct("--engine", &args.engine)?;
    let engines: Vec<Engine> = if args.engine.is_empty() {
        ENGINES.to_vec()
    } else {
        args.engine
            .iter()
            .map(|e| engine(e))
            .collect::<Result<_, _>>()?
    };
    if args.threads == Some(0) {
        return Err(CliError::new("--threads must be at least 1"));
    }
    let repeat = args.repeat.unwrap_or(20).max(5);
    let results = engines
        .into_iter()
        .map(|e| measure(args, e, repeat))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(if args.common.json {
        let body: Vec<String> = results
            .iter()
            .map(|m| {
                format!(
                    "\"{}\": {{\"compile_ms\": {:.6}, \"median_ms\": {:.6}, \"calls\": {}}}",
                    m.engine, m.compile_ms, m.median_ms, m.calls
                )
            })
            .collect();
        format!("{{\"engines\": {{{}}}}}\n", body.join(", "))
    } else {
        let mut out = format!(
            "{:<12} {:>12} {:>16} {:>6}\n",
            "engine", "compile ms", "median ms/call", "calls"
        );
        for m in &results {
            out.push_str(&format!(
                "{:<12} {:>12.3} {:>16.4} {:>6}\n",
                m.engine.name(),
                m.compile_ms,
                m.median_ms,
                m.calls
            ));
        }
        out
    })
}
