//! Random graphs of every operation (broadcasting, both dtypes, known and
//! unknown shapes), evaluated by the interpreter before and after the
//! exact pipeline: every bit of every value must agree, for forward graphs
//! and for their gradient graphs, and simplification never adds operations.

use std::collections::HashMap;

use gradjit::autodiff::{gradients, GradientOptions, UnconnectedGradients};
use gradjit::graph::{Literal, BINARY_OPS, REDUCE_OPS, UNARY_OPS};
use gradjit::simplify::{count_ops, extract, Pipeline};
use gradjit::{DType, Graph, NodeId, Op, Shape};
use proptest::prelude::*;

use super::lang::render;
use super::{assert_same_bits, eval, random_feeds};

/// How to build one random graph.
#[derive(Clone, Debug)]
struct Recipe {
    f64: bool,
    unknown: bool,
    steps: Vec<(u8, u16, u16, u16, u8)>,
    seed: u64,
}

fn recipe() -> impl Strategy<Value = Recipe> {
    (
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(
            (
                any::<u8>(),
                any::<u16>(),
                any::<u16>(),
                any::<u16>(),
                any::<u8>(),
            ),
            1..20,
        ),
        any::<u64>(),
    )
        .prop_map(|(f64, unknown, steps, seed)| Recipe {
            f64,
            unknown,
            steps,
            seed,
        })
}

/// Inputs: x [3], y [2, 3], s [], c [2, 1], m [3, 2].
const INPUTS: [(&str, &[usize]); 5] = [
    ("x", &[3]),
    ("y", &[2, 3]),
    ("s", &[]),
    ("c", &[2, 1]),
    ("m", &[3, 2]),
];

const SCALARS: [f64; 9] = [0.0, -0.0, 1.0, -1.0, 2.0, 0.5, 3.0, -2.0, 4.0];

fn feed_shape(name: &str) -> Vec<usize> {
    INPUTS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, d)| d.to_vec())
        .unwrap_or_default()
}

/// Builds the graph a recipe describes; returns it with its roots.
fn build(r: &Recipe) -> (Graph, Vec<NodeId>) {
    let dtype = if r.f64 { DType::F64 } else { DType::F32 };
    let g = Graph::new();
    let mut pool: Vec<NodeId> = Vec::new();
    for (name, dims) in INPUTS {
        let shape = match (r.unknown, name) {
            (true, "x" | "y") => Shape::unknown(),
            (true, "c") => Shape::of_rank(2),
            _ => Shape::known(dims),
        };
        pool.push(g.add_placeholder(name, dtype, shape).expect("an input"));
    }
    for v in SCALARS {
        pool.push(g.add_scalar(v, dtype));
    }
    let vec3 = Literal::new(vec![3], vec![1.0, -0.0, 2.5]).expect("a vector");
    pool.push(g.add_constant(vec3, dtype));
    let first_op = pool.len();
    for &(sel, i, j, k, p) in &r.steps {
        // a third of the picks take the newest node, so that chains form
        let pick = |v: u16| match v % 3 {
            0 => pool[pool.len() - 1],
            _ => pool[v as usize % pool.len()],
        };
        let (a, b, c) = (pick(i), pick(j), pick(k));
        let scalar = g.add_scalar(SCALARS[p as usize % SCALARS.len()], dtype);
        let rank = g.node(a).shape.rank();
        let p = p as usize;
        let (op, inputs): (Op, Vec<NodeId>) = match sel as usize % 56 {
            s @ 0..=17 => (Op::Unary(UNARY_OPS[s]), vec![a]),
            s @ 18..=32 => (Op::Binary(BINARY_OPS[s - 18]), vec![a, b]),
            33 => (Op::Where, vec![a, b, c]),
            34 => {
                let axes = match (p / 5 % 4, rank) {
                    (0, _) => None,
                    (1, Some(r)) if r > 0 => Some(vec![0]),
                    (2, Some(r)) if r > 0 => Some(vec![r - 1]),
                    (3, _) => Some(vec![]),
                    _ => None,
                };
                let reduce = Op::Reduce {
                    op: REDUCE_OPS[p % 5],
                    axes,
                    keepdims: p / 20 % 2 == 1,
                };
                (reduce, vec![a])
            }
            35 => {
                let dims = [vec![-1], vec![1, -1], vec![-1, 1]][p % 3].clone();
                (Op::Reshape { dims }, vec![a])
            }
            36 => {
                let perm = match (p % 3, rank) {
                    (1, Some(r)) => Some((0..r).rev().collect()),
                    (2, Some(r)) => Some((0..r).collect()),
                    _ => None,
                };
                (Op::Transpose { perm }, vec![a])
            }
            37 => {
                let mut dims = g.node(a).shape.concrete().unwrap_or_else(|| vec![2, 3]);
                if p % 2 == 0 {
                    dims.insert(0, 2);
                }
                (Op::BroadcastTo { dims }, vec![a])
            }
            38 => (Op::MatMul, vec![a, b]),
            39 => (Op::StopGradient, vec![a]),
            40 => (Op::Identity, vec![a]),
            41 => (Op::SumTo, vec![a, b]),
            42 => (Op::BroadcastLike, vec![a, b]),
            43 => (Op::ReshapeLike, vec![a, b]),
            44 => (Op::ExpandDims { axes: vec![0] }, vec![a]),
            45 => (Op::OnesLike, vec![a]),
            46 => (Op::ZerosLike, vec![a]),
            47 => (Op::Count { axes: None }, vec![a]),
            48 => (
                Op::Count {
                    axes: Some(vec![0]),
                },
                vec![a],
            ),
            // patterns the rules look for, more often than chance would
            49 => (Op::Binary(BINARY_OPS[p % 5]), vec![a, scalar]),
            50 => (Op::Binary(BINARY_OPS[p % 5]), vec![scalar, a]),
            51 => (Op::Binary(BINARY_OPS[p % 4]), vec![a, a]),
            52 => (Op::Unary(UNARY_OPS[0]), vec![a]),
            53 => (
                Op::Binary(BINARY_OPS[p % 2]),
                vec![a, g.add_node(Op::Unary(UNARY_OPS[0]), &[b]).unwrap_or(b)],
            ),
            54 => (Op::OnesLike, vec![a]),
            _ => (Op::Binary(BINARY_OPS[2 + p % 2]), vec![a, b]),
        };
        if let Ok(id) = g.add_node(op, &inputs) {
            pool.push(id);
        }
    }
    let mut roots: Vec<NodeId> = pool[first_op.min(pool.len())..]
        .iter()
        .rev()
        .take(2)
        .copied()
        .collect();
    if roots.is_empty() {
        roots.push(pool[0]);
    }
    (g, roots)
}

/// Simplifies with the exact pipeline and checks values bit for bit.
fn check(g: &Graph, roots: &[NodeId], seed: u64, what: &str) -> Result<(), TestCaseError> {
    let feeds = random_feeds(g, &feed_shape, seed, true);
    // a graph that fails at run time (shapes fed against unknown dims) says nothing
    let Ok(before) = eval(g, roots, &feeds) else {
        return Ok(());
    };
    let exact = Pipeline::standard().with_stabilize(false);
    let out = exact
        .run(g, roots)
        .map_err(|e| TestCaseError::fail(format!("{what}: {e}")))?;
    let after = eval(&out.graph, &out.roots, &feeds)
        .map_err(|e| TestCaseError::fail(format!("{what}: simplified graph fails: {e}")))?;

    let show = || {
        let r = |g: &Graph, ids: &[NodeId]| {
            ids.iter()
                .map(|&i| render(g, i))
                .collect::<Vec<_>>()
                .join("\n        ")
        };
        format!(
            "{what}\nbefore: {}\n after: {}",
            r(g, roots),
            r(&out.graph, &out.roots)
        )
    };
    assert_same_bits(&before, &after, &show());
    prop_assert!(
        count_ops(&out.graph, &out.roots) <= count_ops(g, roots),
        "{} ops became {}: {}",
        count_ops(g, roots),
        count_ops(&out.graph, &out.roots),
        show()
    );
    // specialized to the fed shapes, it still computes the same
    let shapes: HashMap<String, Shape> = INPUTS
        .iter()
        .map(|(n, d)| (n.to_string(), Shape::known(d)))
        .collect();
    if let Ok((sg, sroots)) = extract(g, roots, &shapes) {
        let out = exact
            .run(&sg, &sroots)
            .map_err(|e| TestCaseError::fail(format!("{what} (specialized): {e}")))?;
        let after = eval(&out.graph, &out.roots, &feeds)
            .map_err(|e| TestCaseError::fail(format!("{what} (specialized): {e}")))?;
        assert_same_bits(&before, &after, &format!("{what} (specialized)"));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn forward_graphs_keep_every_bit(r in recipe()) {
        let (g, roots) = build(&r);
        check(&g, &roots, r.seed, "forward")?;
    }

    #[test]
    fn gradient_graphs_keep_every_bit(r in recipe(), zero in any::<bool>()) {
        let (g, roots) = build(&r);
        let xs: Vec<NodeId> = INPUTS.iter().filter_map(|(n, _)| g.placeholder_named(n)).collect();
        let opts = GradientOptions {
            unconnected: if zero { UnconnectedGradients::Zero } else { UnconnectedGradients::None },
            ..Default::default()
        };
        let Ok(gs) = gradients(&g, &roots[..1], &xs, &opts) else {
            return Ok(());
        };
        let grads: Vec<NodeId> = gs.into_iter().flatten().collect();
        if !grads.is_empty() {
            check(&g, &grads, r.seed, "gradient")?;
        }
    }
}
