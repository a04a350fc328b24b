//! Shared setup of the benchmark cases of `shared/spec/benchmarks.md`:
//! programs from text, seeded inputs, one compiled executable per engine.
#![allow(dead_code)]

use std::collections::HashMap;

use gradjit::autodiff::{gradients, GradientOptions};
use gradjit::exec::{compile, CompileOptions, Engine, Executable};
use gradjit::graph::Shape;
use gradjit::text::{parse, ParseOptions};
use gradjit::{DType, Graph, NodeId, Value};
use ndarray::ArrayD;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// A benchmark case: its graph, fetches (output, then gradients) and feeds.
pub struct Case {
    pub graph: Graph,
    pub fetches: Vec<NodeId>,
    pub feeds: Vec<(NodeId, Value)>,
}

/// Uniform values in [-1, 1] (or signs ±1), from a fixed seed.
pub fn random(shape: &[usize], seed: u64, signs: bool) -> Value {
    let mut rng = SmallRng::seed_from_u64(seed);
    let n: usize = shape.iter().product();
    let data: Vec<f32> = (0..n)
        .map(|_| {
            if signs {
                if rng.gen::<bool>() {
                    1.0
                } else {
                    -1.0
                }
            } else {
                rng.gen_range(-1.0..=1.0)
            }
        })
        .collect();
    Value::F32(ArrayD::from_shape_vec(shape.to_vec(), data).expect("sizes match"))
}

/// Class labels: integers drawn uniformly from `[0, classes)`, from a fixed seed.
pub fn labels(shape: &[usize], seed: u64, classes: u32) -> Value {
    let mut rng = SmallRng::seed_from_u64(seed);
    let n: usize = shape.iter().product();
    let data: Vec<f32> = (0..n).map(|_| rng.gen_range(0..classes) as f32).collect();
    Value::F32(ArrayD::from_shape_vec(shape.to_vec(), data).expect("sizes match"))
}

/// Parses `src`, adds the gradients of its output with respect to `wrt`
/// (or fetches the output alone), and makes the feeds: an input named
/// `labels` holds class labels in `[0, 10)` (B5, B6), the others uniform
/// values (or signs, where their flag says so).
pub fn case(src: &str, inputs: &[(&str, Vec<usize>, bool)], wrt: &[&str]) -> Case {
    let graph = Graph::new();
    let shapes: HashMap<String, Shape> = inputs
        .iter()
        .map(|(n, s, _)| (n.to_string(), Shape::known(s)))
        .collect();
    let prog = parse(
        &graph,
        src,
        &ParseOptions {
            dtype: DType::F32,
            input_shapes: shapes,
            ..Default::default()
        },
    )
    .expect("benchmark programs parse");
    let mut fetches = vec![prog.output];
    let name = |n: &str| {
        prog.inputs
            .iter()
            .find(|(m, _)| m == n)
            .map(|(_, id)| *id)
            .expect("an input of the program")
    };
    if !wrt.is_empty() {
        let xs: Vec<NodeId> = wrt.iter().map(|n| name(n)).collect();
        let gs = gradients(&graph, &[prog.output], &xs, &GradientOptions::default())
            .expect("gradients build");
        fetches.extend(gs.into_iter().map(|g| g.expect("connected")));
    }
    let feeds = inputs
        .iter()
        .enumerate()
        .map(|(i, (n, s, signs))| {
            let seed = 1000 + i as u64;
            let value = match *n {
                "labels" => labels(s, seed, 10),
                _ => random(s, seed, *signs),
            };
            (name(n), value)
        })
        .collect();
    Case {
        graph,
        fetches,
        feeds,
    }
}

/// Compiles a case for an engine.
pub fn executable(c: &Case, engine: Engine) -> Executable {
    let shapes: Vec<(NodeId, Vec<usize>)> = c
        .feeds
        .iter()
        .map(|(id, v)| (*id, v.shape().to_vec()))
        .collect();
    compile(
        &c.graph,
        &c.fetches,
        &shapes,
        &CompileOptions::for_engine(engine, None),
    )
    .expect("benchmark cases compile")
}

/// Output arrays for `run_into`, allocated once.
pub fn outputs(exe: &Executable) -> Vec<Value> {
    exe.output_shapes()
        .iter()
        .map(|s| Value::from_f64_array(ArrayD::zeros(s.clone()), exe.dtype()))
        .collect()
}

/// The feeds of a case in an executable's input order.
pub fn ordered<'a>(c: &'a Case, exe: &Executable) -> Vec<gradjit::ValueView<'a>> {
    exe.inputs()
        .iter()
        .map(|(name, _)| {
            let id = c.graph.placeholder_named(name).expect("an input");
            c.feeds
                .iter()
                .find(|(f, _)| *f == id)
                .map(|(_, v)| v.view())
                .expect("fed")
        })
        .collect()
}
