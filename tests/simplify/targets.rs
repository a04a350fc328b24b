//! The targets: the seed programs' gradients in at most 2
//! operations, and each benchmark program's simplified gradient no larger
//! than its gradient derived by hand (the fixtures below).

use std::collections::HashMap;

use gradjit::simplify::{count_ops, extract, Pipeline};
use gradjit::{DType, Graph, NodeId, Shape, Tensor};

use super::lang::{equiv, parse, Env};
use super::{assert_same_bits, eval, random_feeds};

/// A benchmark program with its gradients, raw and derived by hand.
struct Case {
    name: &'static str,
    graph: Graph,
    /// The raw gradients, one per x, as `tf.gradients` builds them.
    raw: Vec<NodeId>,
    /// The same gradients, derived by hand.
    hand: Vec<NodeId>,
    /// Concrete input shapes, by name.
    shapes: HashMap<String, Vec<usize>>,
}

fn ph<'g>(g: &'g Graph, name: &str, dims: &[usize], known: bool) -> Tensor<'g> {
    let shape = if known {
        Shape::known(dims)
    } else {
        Shape::of_rank(dims.len())
    };
    g.placeholder(name, DType::F64, shape)
}

fn grads<'g>(g: &'g Graph, y: Tensor<'g>, xs: &[Tensor<'g>]) -> Vec<NodeId> {
    g.gradients(&[y], xs)
        .expect("gradients")
        .into_iter()
        .map(|t| t.expect("connected").id())
        .collect()
}

/// Builds a case; `known` gives placeholders their shapes, else only ranks.
fn case(name: &'static str, n: usize, known: bool) -> Case {
    let graph = Graph::new();
    let (raw, hand, shapes) = build_case(&graph, name, n, known);
    graph.check().expect("the case builds");
    Case {
        name,
        graph,
        raw,
        hand,
        shapes,
    }
}

type Built = (Vec<NodeId>, Vec<NodeId>, HashMap<String, Vec<usize>>);

fn build_case<'g>(g: &'g Graph, name: &str, n: usize, known: bool) -> Built {
    let mut shapes = HashMap::new();
    let mut input = |name: &str, dims: &[usize]| {
        shapes.insert(name.to_string(), dims.to_vec());
        ph(g, name, dims, known)
    };
    let (raw, hand) = match name {
        // y = x*x + 3*x; hand: 2*x + 3
        "B1" => {
            let x = input("x", &[n]);
            let y = x * x + 3.0 * x;
            (grads(g, y, &[x]), vec![(2.0f64 * x + 3.0f64).id()])
        }
        // y = sum(tanh(a*x + b) * sigmoid(c*x) + exp(-x*x))
        // hand:
        //   t = tanh(a*x + b); s = sigmoid(c*x); e = exp(-x*x)
        //   gu = s * (1 - t*t)          # dy/d(a*x + b)
        //   gv = t * (s * (1 - s))      # dy/d(c*x)
        //   dx = gu*a + gv*c + -2*x*e; da = gu*x; db = gu; dc = gv*x
        "B2" => {
            let (x, a, b, c) = (
                input("x", &[n]),
                input("a", &[n]),
                input("b", &[n]),
                input("c", &[n]),
            );
            let t = (a * x + b).tanh();
            let s = (c * x).sigmoid();
            let e = (-x * x).exp();
            let y = (t * s + e).sum();
            let gu = s * (1.0f64 - t * t);
            let gv = t * (s * (1.0f64 - s));
            let dx = gu * a + gv * c + -2.0f64 * x * e;
            let hand = vec![dx.id(), (gu * x).id(), gu.id(), (gv * x).id()];
            (grads(g, y, &[x, a, b, c]), hand)
        }
        // loss = mean(softplus(-t * (X @ w + b)))
        // hand:
        //   q = -t * (X @ w + b); gz = -t * (sigmoid(q) * (1/N))
        //   dw = transpose(X) @ gz; db = sum(gz, [0])
        "B3" => {
            let (xm, w, b, t) = (
                input("X", &[n, 64]),
                input("w", &[64, 1]),
                input("b", &[1]),
                input("t", &[n, 1]),
            );
            let nt = -t;
            let q = nt * (xm.matmul(w) + b);
            let loss = q.softplus().mean();
            let gz = nt * (q.sigmoid() * (1.0 / n as f64));
            let dw = xm.transpose(None).matmul(gz);
            let db = gz.reduce_axes(gradjit::graph::ReduceOp::Sum, &[0], false);
            (grads(g, loss, &[w, b]), vec![dw.id(), db.id()])
        }
        // h = tanh(X @ W1 + b1); o = h @ W2 + b2; loss = mean((o - T)**2)
        // hand:
        //   gd = (2/N) * (o - T)
        //   dW2 = transpose(h) @ gd; db2 = sum(gd, [0])
        //   gz = (gd @ transpose(W2)) * (1 - h*h)
        //   dW1 = transpose(X) @ gz; db1 = sum(gz, [0])
        "B4" => {
            let (xm, w1, b1, w2, b2, tt) = (
                input("X", &[n, 32]),
                input("W1", &[32, 64]),
                input("b1", &[64]),
                input("W2", &[64, 1]),
                input("b2", &[1]),
                input("T", &[n, 1]),
            );
            let h = (xm.matmul(w1) + b1).tanh();
            let o = h.matmul(w2) + b2;
            let loss = (o - tt).powf(2.0).mean();
            let sum0 = |v: Tensor<'g>| v.reduce_axes(gradjit::graph::ReduceOp::Sum, &[0], false);
            let gd = (2.0 / n as f64) * (o - tt);
            let gz = gd.matmul(w2.transpose(None)) * (1.0f64 - h * h);
            let hand = vec![
                xm.transpose(None).matmul(gz).id(),
                sum0(gz).id(),
                h.transpose(None).matmul(gd).id(),
                sum0(gd).id(),
            ];
            (grads(g, loss, &[w1, b1, w2, b2]), hand)
        }
        _ => unreachable!(),
    };
    (raw, hand, shapes)
}

fn shape_map(c: &Case) -> HashMap<String, Shape> {
    c.shapes
        .iter()
        .map(|(k, v)| (k.clone(), Shape::known(v)))
        .collect()
}

#[test]
fn seed_gradients_take_at_most_two_operations() {
    for shape in [Shape::scalar(), Shape::known(&[1024]), Shape::unknown()] {
        // d/dx (x*x + 3*x) = 2*x + 3
        let g = Graph::new();
        let x = g.placeholder("x", DType::F32, shape.clone());
        let y = x * x + 3.0 * x;
        let raw = grads(&g, y, &[x]);
        let out = Pipeline::standard().run(&g, &raw).unwrap();
        let n = count_ops(&out.graph, &out.roots);
        eprintln!(
            "seed x*x + 3*x, x: {shape}: {} -> {n} ops",
            count_ops(&g, &raw)
        );
        assert!(n <= 2, "x*x + 3*x with x: {shape}: {n} ops");
        // exactly as the module documentation says: (3 + x) + x
        let mut env = Env::new(DType::F32);
        env.shapes.insert("x", shape.clone());
        let want = parse(&out.graph, &env, "(3 + x) + x");
        assert!(equiv(&out.graph, out.roots[0], want));

        // d/dy (x*y + y*y) = x + 2*y, d/dx = y; with unknown shapes x may
        // be larger than y, so the sums back to y's shape stay until the
        // shapes are given (as a compiling engine does)
        let g = Graph::new();
        let x = g.placeholder("x", DType::F32, shape.clone());
        let yv = g.placeholder("y", DType::F32, shape.clone());
        let z = x * yv + yv * yv;
        let raw = grads(&g, z, &[x, yv]);
        let given: HashMap<String, Shape> = ["x", "y"]
            .iter()
            .map(|n| (n.to_string(), Shape::known(&[1024])))
            .collect();
        let (g, raw) = if shape.is_concrete() {
            (g, raw)
        } else {
            extract(&g, &raw, &given).unwrap()
        };
        let out = Pipeline::standard().run(&g, &raw).unwrap();
        let (nx, ny) = (
            count_ops(&out.graph, &out.roots[..1]),
            count_ops(&out.graph, &out.roots[1..]),
        );
        eprintln!(
            "seed x*y + y*y, {shape}: d/dy {} -> {ny} ops, d/dx {} -> {nx} ops",
            count_ops(&g, &raw[1..]),
            count_ops(&g, &raw[..1])
        );
        assert!(ny <= 2 && nx == 0, "x*y + y*y: d/dy {ny} ops, d/dx {nx}");
    }
}

#[test]
fn benchmark_gradients_are_no_larger_than_derived_by_hand() {
    for (name, n) in [
        ("B1", 1 << 20),
        ("B2", 1 << 20),
        ("B3", 1 << 16),
        ("B4", 1 << 16),
    ] {
        for known in [true, false] {
            let c = case(name, n, known);
            // unknown dims are specialized first, as a compiling engine does
            let (g, raw) = extract(&c.graph, &c.raw, &shape_map(&c)).unwrap();
            let (hg, hand) = extract(&c.graph, &c.hand, &shape_map(&c)).unwrap();
            let out = Pipeline::standard()
                .run_with_shapes(&c.graph, &c.raw, &shape_map(&c))
                .unwrap();
            let (before, after, by_hand) = (
                count_ops(&g, &raw),
                count_ops(&out.graph, &out.roots),
                count_ops(&hg, &hand),
            );
            let passes: Vec<String> = out
                .per_pass()
                .iter()
                .map(|(p, k, t)| format!("{p} {k} ({:.0?})", t))
                .collect();
            eprintln!(
                "{} ({}): raw {before} -> simplified {after} ops (by hand {by_hand}) in {:.0?}; {}",
                c.name,
                if known {
                    "static shapes"
                } else {
                    "specialized"
                },
                out.time,
                passes.join(", ")
            );
            assert!(
                after <= by_hand,
                "{}: simplified gradient has {after} ops, by hand {by_hand}",
                c.name
            );
            assert!(out
                .groups
                .iter()
                .all(|gr| gr.stop == gradjit::simplify::Stop::Saturated));
        }
    }
}

#[test]
fn benchmark_gradients_keep_every_bit_and_match_the_hand_derivations() {
    for name in ["B1", "B2", "B3", "B4"] {
        let c = case(name, 6, true);
        let out = Pipeline::standard().run(&c.graph, &c.raw).unwrap();
        for seed in 0..4 {
            let feeds = random_feeds(&c.graph, &|n| c.shapes[n].clone(), seed, false);
            let raw = eval(&c.graph, &c.raw, &feeds).unwrap();
            let simplified = eval(&out.graph, &out.roots, &feeds).unwrap();
            assert_same_bits(&raw, &simplified, name);
            // the fixtures are right: same math, rounded differently
            let hand = eval(&c.graph, &c.hand, &feeds).unwrap();
            for (k, (r, h)) in raw.iter().zip(&hand).enumerate() {
                assert_eq!(r.shape(), h.shape(), "{name}: gradient {k}");
                for (p, q) in r.to_f64_vec().iter().zip(h.to_f64_vec()) {
                    assert!(
                        (p - q).abs() <= 1e-12 * (1.0 + p.abs()),
                        "{name}: gradient {k}: {p} by autodiff, {q} by hand"
                    );
                }
            }
        }
    }
}
