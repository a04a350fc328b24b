//! Tests of the `simplify` module: golden rules, the seed and benchmark
//! targets, random graphs before and after, stabilize, shape specialization.

mod golden;
mod lang;
mod pipeline;
mod props;
mod specialize;
mod stabilize;
mod targets;

use std::collections::HashMap;

use gradjit::interp::{self, InterpError};
use gradjit::{DType, Graph, NodeId, Op, Value};
use ndarray::ArrayD;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// Values that break careless rules.
const SPECIAL: [f64; 14] = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    2.0,
    0.5,
    3.0,
    -2.5,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NAN,
    1e-40,
    1e30,
    -7.0,
];

/// A random array: mostly uniform in [-3, 3], with special values mixed in.
pub fn random_value(rng: &mut SmallRng, shape: &[usize], dtype: DType, specials: bool) -> Value {
    let n: usize = shape.iter().product();
    let data: Vec<f64> = (0..n)
        .map(|_| {
            if specials && rng.gen_bool(0.3) {
                SPECIAL[rng.gen_range(0..SPECIAL.len())]
            } else {
                rng.gen_range(-3.0..3.0)
            }
        })
        .collect();
    let a = ArrayD::from_shape_vec(shape.to_vec(), data).expect("shape matches");
    Value::from_f64_array(a, dtype)
}

/// Random feeds, by placeholder name, for every placeholder of `g`.
pub fn random_feeds(
    g: &Graph,
    shape_of: &dyn Fn(&str) -> Vec<usize>,
    seed: u64,
    specials: bool,
) -> HashMap<String, Value> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut out = HashMap::new();
    for n in g.nodes().iter() {
        if let Op::Placeholder { name } = &n.op {
            let v = random_value(&mut rng, &shape_of(name), n.dtype, specials);
            out.insert(name.clone(), v);
        }
    }
    out
}

/// Evaluates `roots` of `g` with feeds given by name (names `g` lacks are skipped).
pub fn eval(
    g: &Graph,
    roots: &[NodeId],
    feeds: &HashMap<String, Value>,
) -> Result<Vec<Value>, InterpError> {
    let map = feeds
        .iter()
        .filter_map(|(name, v)| g.placeholder_named(name).map(|id| (id, v.view())))
        .collect();
    interp::evaluate(g, roots, &map)
}

/// Bitwise equality, any NaN equal to any NaN.
pub fn same_bits(a: &Value, b: &Value) -> bool {
    a.shape() == b.shape()
        && a.dtype() == b.dtype()
        && a.to_f64_vec()
            .iter()
            .zip(b.to_f64_vec())
            .all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
}

/// Asserts that two lists of values are bitwise equal, naming `what` otherwise.
pub fn assert_same_bits(a: &[Value], b: &[Value], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: number of values");
    for (k, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            same_bits(x, y),
            "{what}: value {k} differs\nbefore: {:?}\n after: {:?}",
            x.to_f64_vec(),
            y.to_f64_vec()
        );
    }
}
