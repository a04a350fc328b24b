//! Differential fuzzing of the engines: random programs in the expression
//! language, with random feeds (empty and zero-length dimensions, NaN, ±inf,
//! ±0, large and tiny values, values exactly at kinks), run on every engine;
//! every native engine must agree with the interpreter, or every engine must
//! fail.
//!
//! A case may also carry the same program written another way, as
//! TensorFlow would build the same graph (see [`Case::same`]): aliases
//! (`k = h`) replaced by the names they alias, a reshape's `-1` by the size
//! TensorFlow infers for it (zero-size inputs included), and a gradient
//! with respect to a name `w` through a bound `k = f(w)` by `f`'s gradient
//! rule applied to the gradient with respect to `k` (the rules TensorFlow
//! builds from the op's output reading `k`). The interpreter must give it
//! the same outcome, within the same tolerance: where the engines share a
//! departure from TensorFlow, they agree with each other but not with this.
//!
//! The programs use every function of the language, the version-2 ones
//! included (slicing, `pad`, `concat`, `stack`, `gather`, `one_hot`, the
//! cross-entropies, `prod`, `cumsum`, `conv2d`, the poolings, ...; see
//! [`generator_covers_every_function`]). Indices (`gather`, `one_hot`,
//! `sparse_softmax_cross_entropy`) are list literals, `argmax`es, or feeds
//! named `i0`, `i1`, ... of integers, which the perturbations below leave
//! alone; convolutions and poolings read new rank-4 feeds.
//!
//! `cargo fuzz` needs libFuzzer and nightly sanitizers, which this project's
//! stable toolchain and CI do not have, so this is a deterministic,
//! long-runnable generator driven from `cargo test` (see "Long runs").
//!
//! # What "agree" means (the documented tolerance)
//!
//! * The same outcome: a value on every engine, or an error on every engine
//!   (the error text may differ: the interpreter reports shape problems at
//!   run time, the compiler when it specializes shapes).
//! * The same shapes, exactly.
//! * Elementwise, `p` (interpreter) and `q` (native) agree when both are
//!   NaN, when they are equal (infinities included), or when
//!   `|p - q| <= (rtol + n * eps) * max(1, |p|, |q|) + 64 * |p - p'|`:
//!   - `rtol` = 1e-3 for f32 and 1e-9 for f64: the native math functions
//!     are within a few ulp of std (`jit::math`), and chains of operations
//!     amplify that;
//!   - `n * eps` (n the largest feed's element count, eps the dtype's
//!     machine epsilon) is the classic bound on the rounding error of a sum
//!     of n terms, which fused kernels add in another order than the
//!     interpreter's left-to-right loop;
//!   - `p'` is the interpreter's value for feeds each perturbed by a random
//!     relative amount up to 2^-16 (f32) or 2^-45 (f64), the largest over six
//!     such perturbations, and for the program with the result of every
//!     approximated function (and `**`, and `grad`, and the argument of
//!     `sin` and `cos`) scaled by `1 ± 8 ulp`:
//!     where the output is ill-conditioned (a sum that cancels,
//!     `1e30 - 1e30`; a comparison or `floor` of an approximated value that
//!     sits on the boundary, `x <= expm1(log1p(x))`; `pow` of a negative
//!     base to an exponent that is 1 give or take an ulp), a reordering or
//!     an ulp moves it far, and this term says how far. An element that
//!     any of these perturbations, or rounding every approximated result to
//!     a multiple of 2^-18 (or, with sin or cos, scaling by up to 2^-13),
//!     turns to or from NaN or infinity is not compared.
//! * In a program with an approximated function (exp, log, tanh, sin, pow,
//!   ...), a discontinuous operation downstream (floor, sign, a comparison,
//!   a tie in max) can turn a one-ulp difference into a large one: there, up
//!   to one element in 50 of each output may differ beyond the bound. A
//!   program built from exactly rounded operations gets no such allowance.
//!
//! # Long runs
//!
//! ```text
//! GRADJIT_FUZZ_SECONDS=3600 GRADJIT_FUZZ_SEED=$RANDOM \
//!     cargo test --release --test fuzz_engines -- --nocapture fuzz_engines_random
//! ```
//!
//! `GRADJIT_FUZZ_CASES` sets a number of cases instead of a duration,
//! `GRADJIT_FUZZ_FIRST` the first case's number (to rerun a run's end: the
//! summary names the slowest case's seed), `GRADJIT_FUZZ_VERBOSE=1` prints
//! every case that fails alike on every engine, and `GRADJIT_FUZZ_STRICT=1`
//! fails the cases that show a known, reported disagreement ([`KNOWN_BUGS`],
//! none at present: the gather-after-concat layout and `"SAME"` padding
//! times an infinite tap were fixed in the interpreter) instead of counting
//! them. A
//! failing case is printed in the corpus format and written to
//! `target/fuzz-failures/`; copy it into `tests/fuzz_corpus/engines/`, where
//! [`corpus_cases_agree`] replays every file on every `cargo test`. A case's
//! `# same:` line, where it has one, is its TensorFlow-equivalent program
//! (statements separated by `;`).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use gradjit::exec::{Engine, ENGINES};
use gradjit::graph::{Shape, BINARY_OPS, UNARY_OPS};
use gradjit::text::{parse, ParseOptions};
use gradjit::{DType, Graph, Session, Value};
use ndarray::ArrayD;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// One generated case: a program and its feeds.
#[derive(Clone, Debug)]
struct Case {
    dtype: DType,
    /// Whether the parser is told the inputs' shapes (else they are unknown
    /// until run time).
    static_shapes: bool,
    feeds: Vec<(String, Vec<usize>, Vec<f64>)>,
    program: String,
    /// The same program as TensorFlow would build it, written without
    /// aliases, inferred reshape sizes or gradients through bound ops'
    /// rules (statements separated by `;`); the corpus format's `# same:`.
    same: Option<String>,
}

/// The functions native code approximates (within a few ulp, not exactly),
/// as the operations' facts say.
static APPROX: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    let unary = UNARY_OPS.iter().filter(|u| u.facts().approximated);
    let binary = BINARY_OPS.iter().filter(|b| b.facts().approximated);
    unary
        .map(|u| u.name())
        .chain(binary.map(|b| b.name()))
        .collect()
});
const BINARY: [&str; 18] = [
    "+",
    "-",
    "*",
    "/",
    "**",
    "<",
    "<=",
    ">",
    ">=",
    "==",
    "!=",
    "maximum",
    "minimum",
    "pow",
    "atan2",
    "xlogy",
    "div_no_nan",
    "squared_difference",
];
const REDUCE: [&str; 6] = ["sum", "mean", "max", "min", "logsumexp", "prod"];
/// Functions built from approximated ones (exp, log) that the operations'
/// facts do not list: their results are approximated too.
const COMPOSITES: [&str; 6] = [
    "logsumexp",
    "softmax",
    "log_softmax",
    "softmax_cross_entropy",
    "sparse_softmax_cross_entropy",
    "sigmoid_cross_entropy",
];
/// Disagreements found and reported but not fixed yet, by a fragment of the
/// interpreter's error: a case that shows one is
/// counted as known (and printed with `GRADJIT_FUZZ_VERBOSE=1`), not
/// failed, unless `GRADJIT_FUZZ_STRICT=1`.
const KNOWN_BUGS: [(&str, &str); 0] = [];

/// Elementwise functions applied to an operation's result before a
/// gradient of it is taken (see [`Gen::differentiate`]): the upstream
/// gradient then varies from element to element.
const COTANGENT: [&str; 7] = ["square", "sin", "tanh", "sigmoid", "exp", "neg", "softplus"];
/// Ops whose gradient rule, written out, stands for a gradient through a
/// name bound to their result (see [`Gen::bound_output`]); `pow` is both a
/// base and an exponent.
const RULED: [&str; 11] = [
    "exp",
    "sqrt",
    "rsqrt",
    "reciprocal",
    "tanh",
    "sigmoid",
    "relu",
    "log",
    "abs",
    "pow_base",
    "pow_exp",
];
/// Functions whose gradient is infinite at 0: fed a kink's output, they
/// send an infinite gradient into it.
const STEEP: [&str; 4] = ["log", "sqrt", "reciprocal", "rsqrt"];
/// Dimensions around the vector width (4 f32 / 2 f64 lanes) and the unroll
/// factor (2), zero and one.
const DIMS: [usize; 14] = [0, 1, 1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33, 65];

/// Broadcasts two shapes by NumPy's rules.
fn broadcast(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let r = a.len().max(b.len());
    (0..r)
        .map(|i| {
            let x = if i + a.len() >= r {
                a[i + a.len() - r]
            } else {
                1
            };
            let y = if i + b.len() >= r {
                b[i + b.len() - r]
            } else {
                1
            };
            match (x, y) {
                _ if x == y => Some(x),
                (1, _) => Some(y),
                (_, 1) => Some(x),
                _ => None,
            }
        })
        .collect()
}

/// `reshape(x, dims)`'s dimensions for `x` of dimensions `from`, or `None`
/// where TensorFlow's Reshape fails; as TensorFlow's kernel computes them:
/// where `dims` holds a 0, zero-size dimensions are left out of both
/// products, and the `-1` is their quotient, rounded down.
fn tf_reshape(from: &[usize], dims: &[i64]) -> Option<Vec<usize>> {
    if dims.iter().any(|&d| d < -1) || dims.iter().filter(|&&d| d == -1).count() > 1 {
        return None;
    }
    let has_zero = dims.contains(&0);
    let product: usize = dims
        .iter()
        .filter(|&&d| d > 0)
        .map(|&d| d as usize)
        .product();
    let mut input = 1usize;
    let mut input_has_zero = false;
    for &d in from {
        if d > 0 || !has_zero {
            input *= d;
        } else {
            input_has_zero = true;
        }
    }
    let mut out: Vec<usize> = dims.iter().map(|&d| d.max(0) as usize).collect();
    if let Some(u) = dims.iter().position(|&d| d == -1) {
        let missing = input / product;
        if !input_has_zero && missing * product != input {
            return None;
        }
        out[u] = missing;
    }
    (out.iter().product::<usize>() == from.iter().product::<usize>()).then_some(out)
}

fn list<T: ToString>(xs: &[T]) -> String {
    xs.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `text` with every whole word `from` replaced by `to`.
fn replace_word(text: &str, from: &str, to: &str) -> String {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(from) {
        let end = at + from.len();
        let before = rest[..at].chars().next_back().is_some_and(word);
        let after = rest[end..].chars().next().is_some_and(word);
        out.push_str(&rest[..at]);
        out.push_str(if before || after { from } else { to });
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Whether `text` mentions the name `name`.
fn mentions(text: &str, name: &str) -> bool {
    replace_word(text, name, "") != text
}

/// A statement of a generated program, and what it is in the program's
/// TensorFlow-equivalent form (see [`Case::same`]).
enum Same {
    /// The same text.
    Text,
    /// Left out (an alias).
    Dropped,
    /// Other text.
    Other(String),
}

struct Gen {
    rng: SmallRng,
    /// Names in scope with their shapes (`None`: possibly invalid).
    scope: Vec<(String, Option<Vec<usize>>)>,
    inputs: Vec<(String, Vec<usize>)>,
    approx: bool,
    /// No `grad(...)` in what [`Gen::expr`] generates (see
    /// [`Gen::bound_output`]).
    no_grad: bool,
    /// Bound names so far.
    names: usize,
    /// Aliases and the names they stand for.
    aliases: Vec<(String, String)>,
    /// Text and its TensorFlow-equivalent form: reshapes with the `-1`
    /// inferred, in the order generated (inner before outer).
    rewrites: Vec<(String, String)>,
    /// Inputs made as the program is generated (a convolution's image and
    /// filter, indices), fed after the first ones.
    feeds: Vec<(String, Vec<usize>, Vec<f64>)>,
    /// Feeds' elements at kinks half of the time (see [`element`]).
    kinks: bool,
    /// Whether the parser is told the inputs' shapes ([`Case::static_shapes`]).
    static_shapes: bool,
}

type Typed = (String, Option<Vec<usize>>);

impl Gen {
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.rng.gen_range(0..xs.len())]
    }

    fn fresh(&mut self) -> String {
        self.names += 1;
        format!("t{}", self.names - 1)
    }

    /// The name `name` stands for: itself, or the name it aliases.
    fn root(&self, name: &str) -> String {
        self.aliases
            .iter()
            .find(|(k, _)| k == name)
            .map_or_else(|| name.to_string(), |(_, h)| h.clone())
    }

    /// `k = name`: the same tensor under another name.
    fn alias(&mut self, name: &str, shape: Option<Vec<usize>>) -> String {
        let k = self.fresh();
        let root = self.root(name);
        self.aliases.push((k.clone(), root));
        self.scope.push((k.clone(), shape));
        k
    }

    /// `a` through a kink (relu, abs, a maximum or minimum with 0, a where)
    /// into a function whose gradient is infinite at 0: at a kink the
    /// gradient arriving there is infinite (`log(relu(x))` at x <= 0).
    fn kink(&mut self, a: &str) -> String {
        let inner = match self.rng.gen_range(0..5) {
            0 => format!("relu({a})"),
            1 => format!("abs({a})"),
            2 => format!("maximum({a}, 0)"),
            3 => format!("minimum({a}, 0)"),
            _ => format!("where(({a} > 0), {a}, 0)"),
        };
        let outer = *self.pick(&STEEP);
        self.approx |= outer == "log";
        format!("{outer}({inner})")
    }

    fn number(&mut self) -> String {
        let v = match self.rng.gen_range(0..10) {
            0 => 0.0,
            1 => 1.0,
            2 => -1.0,
            3 => 0.5,
            4 => 1e30,
            5 => 1e-30,
            _ => (self.rng.gen_range(-30.0..30.0f64) * 8.0).round() / 8.0,
        };
        format!("{v:?}")
    }

    fn leaf(&mut self) -> Typed {
        if self.rng.gen_bool(0.2) || self.scope.is_empty() {
            return (self.number(), Some(vec![]));
        }
        let (n, s) = self.scope[self.rng.gen_range(0..self.scope.len())].clone();
        (n, s)
    }

    /// Another operand for `shape`: regenerated (as a scalar, or a reduction
    /// of it) when it would not broadcast, most of the time.
    fn partner(&mut self, shape: &Option<Vec<usize>>, depth: usize) -> Typed {
        let (t, s) = self.expr(depth);
        let fits = match (shape, &s) {
            (Some(a), Some(b)) => broadcast(a, b).is_some(),
            _ => true,
        };
        if fits || self.rng.gen_bool(0.1) {
            (t, s)
        } else if self.rng.gen_bool(0.5) {
            (self.number(), Some(vec![]))
        } else {
            (format!("sum({t})"), s.map(|_| vec![]))
        }
    }

    fn expr(&mut self, depth: usize) -> Typed {
        if depth == 0 || self.rng.gen_bool(0.25) {
            return self.leaf();
        }
        let d = depth - 1;
        match self.rng.gen_range(0..27) {
            0..=5 => {
                let f = self.pick(&UNARY_OPS).name();
                self.approx |= APPROX.contains(&f);
                let (a, s) = self.expr(d);
                (format!("{f}({a})"), s)
            }
            6..=11 => {
                let op = *self.pick(&BINARY);
                self.approx |= APPROX.contains(&op) || op == "**";
                let (a, sa) = self.expr(d);
                let (b, sb) = self.partner(&sa, d);
                let s = match (&sa, &sb) {
                    (Some(x), Some(y)) => broadcast(x, y),
                    _ => None,
                };
                let text = if op.chars().all(|c| c.is_alphanumeric() || c == '_') {
                    format!("{op}({a}, {b})")
                } else {
                    format!("({a} {op} {b})")
                };
                (text, s)
            }
            12 => {
                let (c, sc) = self.expr(d);
                let (a, sa) = self.partner(&sc, d);
                let (b, sb) = self.partner(&sc, d);
                let s = match (sc, sa, sb) {
                    (Some(x), Some(y), Some(z)) => {
                        broadcast(&x, &y).and_then(|w| broadcast(&w, &z))
                    }
                    _ => None,
                };
                (format!("where({c}, {a}, {b})"), s)
            }
            13..=15 => {
                let f = *self.pick(&REDUCE);
                self.approx |= f == "logsumexp";
                let (a, s) = self.expr(d);
                self.reduction(f, a, s)
            }
            16 => {
                let (a, s) = self.expr(d);
                let Some(s) = s else {
                    return (format!("reshape({a}, [-1])"), None);
                };
                let n: usize = s.iter().product();
                let dims: Vec<i64> = if self.rng.gen_bool(if n == 0 { 0.7 } else { 0.03 }) {
                    self.zero_target(&s)
                } else if s.len() >= 2 && s[0] > 0 && self.rng.gen_bool(0.5) {
                    vec![s[0] as i64, -1]
                } else {
                    vec![-1]
                };
                let out = tf_reshape(&s, &dims);
                let text = format!("reshape({a}, [{}])", list(&dims));
                if let (Some(out), true) = (&out, dims.contains(&-1)) {
                    // the same reshape with the size TensorFlow infers
                    let same = format!("reshape({a}, [{}])", list(out));
                    self.rewrites.push((text.clone(), same));
                }
                (text, out)
            }
            17 => {
                let (a, s) = self.expr(d);
                let s = s.map(|mut s| {
                    s.reverse();
                    s
                });
                (format!("transpose({a})"), s)
            }
            18 => {
                let (a, s) = self.expr(d);
                match s {
                    Some(s) if s.len() >= 2 => {
                        let r = s.len();
                        let mut out = s.clone();
                        out[r - 1] = s[r - 2];
                        let text = if self.rng.gen_bool(0.5) {
                            format!("({a} @ transpose({a}, [{}]))", perm(r))
                        } else {
                            format!("matmul({a}, transpose({a}, [{}]))", perm(r))
                        };
                        (text, Some(out))
                    }
                    Some(s) => {
                        let k = *self.pick(&[2usize, 3]);
                        let mut out = vec![k];
                        out.extend(&s);
                        let dims: Vec<String> = out.iter().map(usize::to_string).collect();
                        (
                            format!("broadcast_to({a}, [{}])", dims.join(", ")),
                            Some(out),
                        )
                    }
                    None => (format!("stop_gradient({a})"), None),
                }
            }
            19 => {
                let (a, s) = self.expr(d);
                (self.kink(&a), s)
            }
            20..=25 => self.structure(d),
            _ if self.no_grad => self.leaf(),
            _ => {
                if !self.aliases.is_empty() && self.rng.gen_bool(0.15) {
                    // with respect to an alias, of what reads the name it
                    // aliases: the same tensor
                    let (k, h) = self.aliases[self.rng.gen_range(0..self.aliases.len())].clone();
                    let s = self.scope.iter().find(|(n, _)| *n == k);
                    let s = s.and_then(|(_, s)| s.clone());
                    let (p, _) = self.partner(&s, d);
                    return (format!("grad(({h} * {p}), {k})"), s);
                }
                // a gradient with respect to an input, or a bound name (an
                // op's result, or an alias)
                let (x, s) = if self.rng.gen_bool(0.7) {
                    let (x, s) = self.inputs[self.rng.gen_range(0..self.inputs.len())].clone();
                    (x, Some(s))
                } else {
                    self.scope[self.rng.gen_range(0..self.scope.len())].clone()
                };
                let y = if self.rng.gen_bool(0.15) {
                    self.kink(&x)
                } else {
                    self.expr(d).0
                };
                (format!("grad({y}, {x})"), s)
            }
        }
    }

    /// A reshape target with a 0 (and mostly a `-1`) for `s`: for a
    /// zero-size `s`, TensorFlow infers the `-1` from the nonzero sizes.
    fn zero_target(&mut self, s: &[usize]) -> Vec<i64> {
        let nonzero: Vec<usize> = s.iter().copied().filter(|&d| d > 0).collect();
        let mut dims: Vec<i64> = (0..self.rng.gen_range(0..3))
            .map(|_| match self.rng.gen_range(0..4) {
                0 => 0,
                1 if !nonzero.is_empty() => nonzero[self.rng.gen_range(0..nonzero.len())] as i64,
                2 => 2,
                _ => 1,
            })
            .collect();
        if !dims.contains(&0) {
            let at = self.rng.gen_range(0..=dims.len());
            dims.insert(at, 0);
        }
        if self.rng.gen_bool(0.8) {
            let at = self.rng.gen_range(0..=dims.len());
            dims.insert(at, -1);
        }
        dims
    }

    /// Ends the program (pushing its statements to `out`) with a gradient
    /// through a name bound to an op's result, `k = f(w)`: `grad(y, w)`,
    /// where `y` reads `w` only through `k`, as the output, or bound to `j`
    /// and the output `grad(z, k)`, `z` made from `j` (a gradient with
    /// respect to a bound output, of rules that read it).
    ///
    /// In the TensorFlow-equivalent form, `grad(y, w)` is `f`'s gradient
    /// rule applied to `grad(y, k)`, reading `k` where TensorFlow's rule
    /// reads the op's output: the chain rule, as `tf.gradients` applies it.
    /// Where the gradient is the output, the rule is written with public
    /// operations, as TensorFlow's kernels compute it (ReluGrad is `g * (y >
    /// 0)`, SqrtGrad is 0 where `g` is); where it is differentiated again,
    /// with the internal ones the gradient graph holds (`relu_grad`,
    /// `mul_no_nan`), whose own gradients are TensorFlow's.
    fn bound_output(&mut self, out: &mut Vec<(String, Same)>) {
        let (w, ws) = self.scope[self.rng.gen_range(0..self.scope.len())].clone();
        let f = *self.pick(&RULED);
        let c = *self.pick(&["2", "3", "0.5", "-1", "1.5", "0", "-2"]);
        self.approx |= !matches!(f, "sqrt" | "rsqrt" | "reciprocal" | "relu" | "abs");
        let k = self.fresh();
        let call = match f {
            "pow_base" => format!("pow({w}, {c})"),
            "pow_exp" => format!("pow({c}, {w})"),
            _ => format!("{f}({w})"),
        };
        out.push((format!("{k} = {call}"), Same::Text));
        self.scope.push((k.clone(), ws.clone()));
        let kk = if self.rng.gen_bool(0.3) {
            let a = self.alias(&k, ws.clone());
            out.push((format!("{a} = {k}"), Same::Dropped));
            a
        } else {
            k.clone()
        };
        // y reads w only through k: k, the other inputs, numbers; no
        // gradients (whose rules could read w)
        let root = self.root(&w);
        let mut scope: Vec<Typed> = self
            .inputs
            .iter()
            .filter(|(x, _)| *x != root)
            .map(|(x, s)| (x.clone(), Some(s.clone())))
            .collect();
        scope.push((kk.clone(), ws.clone()));
        let scope = std::mem::replace(&mut self.scope, scope);
        self.no_grad = true;
        let depth = self.rng.gen_range(1..3);
        let (mut y, _) = self.expr(depth);
        if !mentions(&y, &kk) {
            let (p, _) = self.partner(&ws, 1);
            y = format!("({kk} * {p})");
        }
        if self.rng.gen_bool(0.3) {
            // an infinite gradient into k where k is 0
            let outer = *self.pick(&STEEP);
            y = format!("{outer}({y})");
        }
        self.no_grad = false;
        self.scope = scope;
        let g = format!("grad({y}, {kk})");
        if self.rng.gen_bool(0.5) {
            let rule = rule(f, &g, &w, &kk, c, true);
            out.push((format!("grad({y}, {w})"), Same::Other(rule)));
            return;
        }
        let j = self.fresh();
        let rule = rule(f, &g, &w, &kk, c, false);
        out.push((
            format!("{j} = grad({y}, {w})"),
            Same::Other(format!("{j} = {rule}")),
        ));
        self.scope.push((j.clone(), ws.clone()));
        let z = match self.rng.gen_range(0..3) {
            0 => j,
            1 => {
                let u = self.pick(&UNARY_OPS).name();
                self.approx |= APPROX.contains(&u);
                format!("{u}({j})")
            }
            _ => {
                let (p, _) = self.partner(&ws, 1);
                format!("({j} * {p})")
            }
        };
        let wrt = if self.rng.gen_bool(0.5) { k } else { kk };
        out.push((format!("grad({z}, {wrt})"), Same::Text));
    }

    fn reduction(&mut self, f: &str, a: String, s: Option<Vec<usize>>) -> Typed {
        let rank = s.as_ref().map_or(1, Vec::len);
        match self.rng.gen_range(0..4) {
            0 => (format!("{f}({a})"), s.map(|_| vec![])),
            1 if rank > 0 => {
                let ax = self.rng.gen_range(0..rank);
                let neg = self.rng.gen_bool(0.3);
                let axis = if neg {
                    format!("{}", ax as i64 - rank as i64)
                } else {
                    ax.to_string()
                };
                let keep = self.rng.gen_bool(0.4);
                let out = s.map(|mut s| {
                    if keep {
                        s[ax] = 1;
                    } else {
                        s.remove(ax);
                    }
                    s
                });
                (format!("{f}({a}, {axis}, {})", u8::from(keep)), out)
            }
            2 if rank > 1 => {
                let ax = [0, rank - 1];
                let out = s.map(|s| s[1..rank - 1].to_vec());
                (format!("{f}({a}, [{}, {}])", ax[0], ax[1]), out)
            }
            _ => {
                // sometimes an axis out of range: an error on every engine
                let ax = rank + self.rng.gen_range(0..2);
                (format!("{f}({a}, {ax})"), None)
            }
        }
    }
}

/// Whether a feed's name is that of indices (`i0`, `i1`, ...): integers,
/// never perturbed.
fn is_index(name: &str) -> bool {
    name.starts_with('i')
}

/// The length of `range(n)[start:stop:step]`, as Python (and NumPy's basic
/// indexing) clamps the bounds.
fn slice_len(n: usize, start: Option<i64>, stop: Option<i64>, step: i64) -> usize {
    let n = n as i64;
    let (b, e) = if step > 0 {
        let clamp = |v: i64| if v < 0 { (v + n).max(0) } else { v.min(n) };
        (start.map_or(0, clamp), stop.map_or(n, clamp))
    } else {
        let clamp = |v: i64| if v < 0 { (v + n).max(-1) } else { v.min(n - 1) };
        (start.map_or(n - 1, clamp), stop.map_or(-1, clamp))
    };
    let (span, step) = if step > 0 {
        (e - b, step)
    } else {
        (b - e, -step)
    };
    if span > 0 {
        ((span + step - 1) / step) as usize
    } else {
        0
    }
}

/// A convolution's or pooling's output size along an axis of `n` for a
/// window of `k` and stride `s`; `None` where a `"VALID"` window does not
/// fit (an error).
fn window_out(n: usize, k: usize, s: usize, same: bool) -> Option<usize> {
    if same {
        Some(n.div_ceil(s))
    } else {
        (n >= k).then(|| (n - k) / s + 1)
    }
}

/// `axis` (in `0..rank`) written as is or, now and then, counted from the
/// end (which needs the rank as the program is read: `known`).
fn axis_text(rng: &mut SmallRng, axis: usize, rank: usize, known: bool) -> String {
    if known && rng.gen_bool(0.3) {
        (axis as i64 - rank as i64).to_string()
    } else {
        axis.to_string()
    }
}

/// Integer values as a list literal of `shape` (rank 0 to 2).
fn int_literal(shape: &[usize], values: &[i64]) -> String {
    match shape {
        [] => values[0].to_string(),
        [_] => format!("[{}]", list(values)),
        [_, m] => {
            let rows: Vec<String> = values
                .chunks(*m)
                .map(|r| format!("[{}]", list(r)))
                .collect();
            format!("[{}]", rows.join(", "))
        }
        _ => unreachable!("index literals have rank 2 at most"),
    }
}

/// The version-2 functions: slicing, padding, concatenation, stacking,
/// gathering, one-hot rows, cross-entropies, cumulative sums, softmax,
/// argmax, reversal, tiling, new axes, convolution and pooling.
impl Gen {
    /// An expression of rank `min` or more, most of the time (a few tries).
    fn ranked(&mut self, d: usize, min: usize) -> Typed {
        let mut t = self.expr(d);
        for _ in 0..3 {
            if t.1.as_ref().is_some_and(|s| s.len() >= min) {
                break;
            }
            t = self.expr(d);
        }
        t
    }

    /// A new float input of `shape` (an image, a filter), fed after the
    /// first ones and differentiable like them.
    fn feed(&mut self, shape: Vec<usize>) -> String {
        let name = format!("x{}", self.inputs.len());
        let n: usize = shape.iter().product();
        let values = (0..n).map(|_| element(&mut self.rng, self.kinks)).collect();
        self.inputs.push((name.clone(), shape.clone()));
        self.scope.push((name.clone(), Some(shape.clone())));
        self.feeds.push((name.clone(), shape, values));
        name
    }

    /// Indices into an axis of `n`: integers in `[0, n)`, as a list literal,
    /// a new input `i<k>`, or the `argmax` (or `argmin`) of a tensor in
    /// scope. With probability `outside`, one lies outside (`n` or -1).
    fn indices(&mut self, n: usize, outside: f64) -> (String, Vec<usize>) {
        let from_arg = self.rng.gen_bool(0.25);
        if from_arg && n > 0 {
            let fits: Vec<(String, Vec<usize>)> = self
                .scope
                .iter()
                .filter_map(|(t, s)| {
                    let s = s.as_ref()?;
                    let last = *s.last()?;
                    (last >= 1 && last <= n && !is_index(t)).then(|| (t.clone(), s.clone()))
                })
                .collect();
            if !fits.is_empty() {
                let (t, s) = fits[self.rng.gen_range(0..fits.len())].clone();
                let f = *self.pick(&["argmax", "argmin"]);
                return (format!("{f}({t}, -1)"), s[..s.len() - 1].to_vec());
            }
        }
        let rank = self.rng.gen_range(0..3);
        let mut shape: Vec<usize> = (0..rank)
            .map(|_| *self.pick(&[0usize, 1, 2, 3, 4, 6]))
            .collect();
        if n == 0 && !self.rng.gen_bool(outside) {
            // nothing to index with but an empty list
            shape = vec![0];
        }
        self.index_values(shape, n, outside)
    }

    /// Indices of `shape` in `[0, n)` (one outside now and then), as a list
    /// literal or a new input.
    fn index_values(&mut self, shape: Vec<usize>, n: usize, outside: f64) -> (String, Vec<usize>) {
        let count: usize = shape.iter().product();
        let mut values: Vec<i64> = (0..count)
            .map(|_| self.rng.gen_range(0..n.max(1)) as i64)
            .collect();
        if count > 0 && (n == 0 || self.rng.gen_bool(outside)) {
            let at = self.rng.gen_range(0..count);
            values[at] = if self.rng.gen_bool(0.5) { n as i64 } else { -1 };
        }
        let literal = shape.len() <= 2 && (shape.len() < 2 || count > 0) && count <= 12;
        if literal && self.rng.gen_bool(0.4) {
            return (int_literal(&shape, &values), shape);
        }
        let k = self.feeds.iter().filter(|(f, _, _)| is_index(f)).count();
        let name = format!("i{k}");
        let values = values.iter().map(|&v| v as f64).collect();
        self.feeds.push((name.clone(), shape.clone(), values));
        (name, shape)
    }

    /// Another tensor of `a`'s shape `s`: an elementwise function of `a`,
    /// `a` times a number, or a generated expression that has that shape.
    fn like(&mut self, a: &str, s: &Option<Vec<usize>>, d: usize) -> String {
        match self.rng.gen_range(0..3) {
            0 => {
                let (b, sb) = self.expr(d);
                if sb == *s && s.is_some() {
                    return b;
                }
                let u = self.pick(&UNARY_OPS).name();
                format!("{u}({a})")
            }
            1 => {
                let u = self.pick(&UNARY_OPS).name();
                format!("{u}({a})")
            }
            _ => format!("({a} * {})", self.number()),
        }
    }

    /// A `[batch, height, width, channels]` tensor: a new input (or a
    /// rank-4 tensor in scope), at times through an elementwise function.
    fn image(&mut self) -> (String, Vec<usize>) {
        let small: Vec<(String, Vec<usize>)> = self
            .scope
            .iter()
            .filter_map(|(t, s)| {
                let s = s.as_ref()?;
                (s.len() == 4 && s.iter().product::<usize>() <= 2048)
                    .then(|| (t.clone(), s.clone()))
            })
            .collect();
        let (t, s) = if !small.is_empty() && self.rng.gen_bool(0.4) {
            small[self.rng.gen_range(0..small.len())].clone()
        } else {
            let batch = *self.pick(&[0usize, 1, 1, 2, 3]);
            let h = *self.pick(&[1usize, 2, 3, 4, 5, 7]);
            let w = *self.pick(&[1usize, 2, 3, 4, 5, 7]);
            let c = *self.pick(&[1usize, 1, 2, 3, 4]);
            let s = vec![batch, h, w, c];
            (self.feed(s.clone()), s)
        };
        if self.rng.gen_bool(0.3) {
            let u = self.pick(&UNARY_OPS).name();
            (format!("{u}({t})"), s)
        } else {
            (t, s)
        }
    }

    /// `[kh, kw]` or one number for both, each in `1..=max`.
    fn pair(&mut self, max: usize) -> (String, [usize; 2]) {
        let a = self.rng.gen_range(1..=max);
        if self.rng.gen_bool(0.5) {
            (a.to_string(), [a, a])
        } else {
            let b = self.rng.gen_range(1..=max);
            (format!("[{a}, {b}]"), [a, b])
        }
    }

    /// A window's strides and padding as trailing arguments (each may be
    /// left out: strides default to `default`, padding to `"VALID"`).
    fn window_args(&mut self, default: [usize; 2]) -> (String, [usize; 2], bool) {
        match self.rng.gen_range(0..4) {
            0 => (String::new(), default, false),
            1 => {
                let (t, s) = self.pair(3);
                (format!(", {t}"), s, false)
            }
            _ => {
                let (t, s) = self.pair(3);
                let same = self.rng.gen_bool(0.5);
                let p = if same { "SAME" } else { "VALID" };
                (format!(", {t}, \"{p}\""), s, same)
            }
        }
    }

    /// Now and then, the gradient of `t` (through an elementwise function,
    /// so that the gradient arriving at `t` varies) with respect to an input
    /// or a bound name that `t` reads.
    fn differentiate(&mut self, t: Typed) -> Typed {
        if self.no_grad || !self.rng.gen_bool(0.3) {
            return t;
        }
        let read: Vec<Typed> = self
            .scope
            .iter()
            .filter(|(n, _)| !is_index(n) && mentions(&t.0, n))
            .cloned()
            .collect();
        if read.is_empty() {
            return t;
        }
        let (x, s) = read[self.rng.gen_range(0..read.len())].clone();
        let y = match self.rng.gen_range(0..4) {
            0 => t.0,
            1 => format!("({} * {})", t.0, t.0),
            _ => {
                let u = *self.pick(&COTANGENT);
                format!("{u}({})", t.0)
            }
        };
        (format!("grad({y}, {x})"), s)
    }

    /// One of the version-2 functions, its gradient at times.
    fn structure(&mut self, d: usize) -> Typed {
        let t = match self.rng.gen_range(0..20) {
            0..=2 => {
                let (a, s) = self.ranked(d, 1);
                self.slice(a, s)
            }
            3 => self.pad(d),
            4 => self.concat(d),
            5 => self.stack(d),
            6 | 7 => self.gather(d),
            8 => self.one_hot(),
            9 => self.cross_entropy(d),
            10 => self.cumsum(d),
            11 => self.softmax(d),
            12 | 13 => self.rearrange(d),
            14 => self.conv2d(),
            15 | 16 => self.pool(),
            17 => {
                let (a, s) = self.ranked(d, 1);
                self.reduction("prod", a, s)
            }
            18 => {
                let (a, s) = self.expr(d);
                let alpha = if self.rng.gen_bool(0.5) {
                    format!(", {}", self.pick(&["0.2", "0.01", "-0.5", "1.5", "0"]))
                } else {
                    String::new()
                };
                (format!("leaky_relu({a}{alpha})"), s)
            }
            _ => {
                let (a, s) = self.expr(d);
                let b = self.like(&a, &s, d);
                (format!("sigmoid_cross_entropy({b}, {a})"), s)
            }
        };
        self.differentiate(t)
    }

    /// `a[...]`: integers, slices (negative steps, bounds past the ends),
    /// `...`.
    fn slice(&mut self, a: String, s: Option<Vec<usize>>) -> Typed {
        // an index binds tighter than a sign: `(-1.0)[...]`
        let a = if a.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
            format!("({a})")
        } else {
            a
        };
        let Some(s) = s else {
            return (format!("{a}[::-1]"), None);
        };
        let rank = s.len();
        let ellipsis = self
            .rng
            .gen_bool(if self.static_shapes { 0.3 } else { 0.02 });
        if rank == 0 {
            return if ellipsis || self.rng.gen_bool(0.8) {
                (format!("{a}[...]"), Some(s))
            } else {
                // an error: a scalar has no axis to index
                (format!("{a}[0]"), None)
            };
        }
        // the items named: the first `lead` axes, and with `...`, the last `tail`
        let lead = self.rng.gen_range(if ellipsis { 0 } else { 1 }..=rank);
        let tail = if ellipsis {
            self.rng.gen_range(0..=rank - lead)
        } else {
            0
        };
        let mut items = Vec::new();
        let mut out = Vec::new();
        let mut ok = true;
        let mut item = |g: &mut Self, n: usize, items: &mut Vec<String>, out: &mut Vec<usize>| {
            let n64 = n as i64;
            match g.rng.gen_range(0..6) {
                0 => {
                    // an integer: the axis goes; outside it is an error
                    let i = if n > 0 && g.rng.gen_bool(0.95) {
                        g.rng.gen_range(-n64..n64)
                    } else {
                        ok = false;
                        if g.rng.gen_bool(0.5) {
                            n64
                        } else {
                            -n64 - 1
                        }
                    };
                    items.push(i.to_string());
                }
                1 => {
                    items.push(":".to_string());
                    out.push(n);
                }
                2 => {
                    items.push("::-1".to_string());
                    out.push(n);
                }
                _ => {
                    let bound = |g: &mut Self| {
                        g.rng
                            .gen_bool(0.7)
                            .then(|| g.rng.gen_range(-n64 - 2..=n64 + 2))
                    };
                    let start = bound(g);
                    let stop = bound(g);
                    let step = *g.pick(&[1i64, 1, 2, 3, -1, -1, -2, -3]);
                    let text = |v: Option<i64>| v.map_or(String::new(), |v| v.to_string());
                    let t = if step == 1 && g.rng.gen_bool(0.5) {
                        format!("{}:{}", text(start), text(stop))
                    } else {
                        format!("{}:{}:{step}", text(start), text(stop))
                    };
                    items.push(t);
                    out.push(slice_len(n, start, stop, step));
                }
            }
        };
        for &n in &s[..lead] {
            item(self, n, &mut items, &mut out);
        }
        let mut tail_items = Vec::new();
        let mut tail_out = Vec::new();
        for &n in &s[rank - tail..] {
            item(self, n, &mut tail_items, &mut tail_out);
        }
        if ellipsis {
            items.push("...".to_string());
        }
        out.extend(&s[lead..rank - tail]);
        items.extend(tail_items);
        out.extend(tail_out);
        (format!("{a}[{}]", items.join(", ")), ok.then_some(out))
    }

    /// `pad(x, [[before, after], ...])`, a pair for every axis (now and then
    /// one too few or too many: an error).
    fn pad(&mut self, d: usize) -> Typed {
        let (a, s) = self.ranked(d, 1);
        let (rank, known) = match &s {
            Some(s) if !s.is_empty() => (s.len(), true),
            _ => (self.rng.gen_range(1..4), false),
        };
        let wrong = self.rng.gen_bool(0.03);
        let rank = if wrong { rank + 1 } else { rank };
        let widths: Vec<[usize; 2]> = (0..rank)
            .map(|_| [self.rng.gen_range(0..3), self.rng.gen_range(0..3)])
            .collect();
        let text: Vec<String> = widths.iter().map(|[b, e]| format!("[{b}, {e}]")).collect();
        let out = s
            .filter(|_| known && !wrong)
            .map(|s| s.iter().zip(&widths).map(|(n, [b, e])| n + b + e).collect());
        (format!("pad({a}, [{}])", text.join(", ")), out)
    }

    /// `concat([a, b, ...], axis)`: the others of `a`'s shape but along
    /// `axis`, where they are a slice of `a` or of the same length.
    fn concat(&mut self, d: usize) -> Typed {
        let (a, s) = self.ranked(d, 1);
        let Some(s) = s.filter(|s| !s.is_empty()) else {
            let b = self.like(&a, &None, d);
            return (format!("concat([{a}, {b}], 0)"), None);
        };
        let rank = s.len();
        let axis = self.rng.gen_range(0..rank);
        let mut parts = vec![a.clone()];
        let mut total = s[axis];
        for _ in 0..self.rng.gen_range(1..3) {
            let (b, sb) = self.expr(d);
            let fits = sb.as_ref().is_some_and(|sb| {
                sb.len() == rank && (0..rank).all(|i| i == axis || sb[i] == s[i])
            });
            if fits && self.rng.gen_bool(0.7) {
                total += sb.map_or(0, |sb| sb[axis]);
                parts.push(b);
            } else if self.rng.gen_bool(0.5) {
                total += s[axis];
                let b = self.like(&a, &Some(s.clone()), d);
                parts.push(b);
            } else {
                // a slice of `a` along the axis
                let n = s[axis] as i64;
                let lo = self.rng.gen_range(-n - 1..=n + 1);
                let step = *self.pick(&[1i64, 2, -1]);
                let colons = vec![":"; axis].join(", ");
                let sep = if axis > 0 { ", " } else { "" };
                let a = if a.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
                    format!("({a})")
                } else {
                    a.clone()
                };
                parts.push(format!("{a}[{colons}{sep}{lo}::{step}]"));
                total += slice_len(s[axis], Some(lo), None, step);
            }
        }
        let mut out = s.clone();
        out[axis] = total;
        let axis = axis_text(&mut self.rng, axis, rank, self.static_shapes);
        (format!("concat([{}], {axis})", parts.join(", ")), Some(out))
    }

    /// `stack([a, b, ...][, axis])`: operands of one shape.
    fn stack(&mut self, d: usize) -> Typed {
        let (a, s) = self.expr(d);
        let mut parts = vec![a.clone()];
        for _ in 0..self.rng.gen_range(0..3) {
            let b = self.like(&a, &s, d);
            parts.push(b);
        }
        let Some(s) = s else {
            return (format!("stack([{}])", parts.join(", ")), None);
        };
        let axis = self.rng.gen_range(0..=s.len());
        let mut out = s.clone();
        out.insert(axis, parts.len());
        let text = if axis == 0 && self.rng.gen_bool(0.3) {
            format!("stack([{}])", parts.join(", "))
        } else {
            let axis = axis_text(&mut self.rng, axis, s.len() + 1, self.static_shapes);
            format!("stack([{}], {axis})", parts.join(", "))
        };
        (text, Some(out))
    }

    /// `gather(params, indices[, axis])`.
    fn gather(&mut self, d: usize) -> Typed {
        let (p, s) = self.ranked(d, 1);
        let s = match s {
            Some(s) if !s.is_empty() => s,
            _ => {
                let (i, _) = self.index_values(vec![2], 1, 0.0);
                return (format!("gather({p}, {i})"), None);
            }
        };
        let rank = s.len();
        let axis = if self.rng.gen_bool(0.4) {
            0
        } else {
            self.rng.gen_range(0..rank)
        };
        let (i, is) = self.indices(s[axis], 0.03);
        let mut out = s[..axis].to_vec();
        out.extend(&is);
        out.extend(&s[axis + 1..]);
        let text = if axis == 0 && self.rng.gen_bool(0.5) {
            format!("gather({p}, {i})")
        } else {
            let axis = axis_text(&mut self.rng, axis, rank, self.static_shapes);
            format!("gather({p}, {i}, {axis})")
        };
        (text, Some(out))
    }

    /// `one_hot(indices, depth)`, with now and then an index outside
    /// `[0, depth)` (a row of zeros); times a tensor, to be differentiable.
    fn one_hot(&mut self) -> Typed {
        let depth = *self.pick(&[0usize, 1, 2, 3, 5]);
        let (i, mut s) = self.indices(depth, 0.2);
        s.push(depth);
        (format!("one_hot({i}, {depth})"), Some(s))
    }

    /// `sparse_softmax_cross_entropy(labels, logits)` or
    /// `softmax_cross_entropy(labels, logits)`.
    fn cross_entropy(&mut self, d: usize) -> Typed {
        let (z, s) = self.ranked(d, 1);
        let Some(s) = s.filter(|s| !s.is_empty()) else {
            let b = self.like(&z, &None, d);
            return (format!("softmax_cross_entropy({b}, {z})"), None);
        };
        let out = s[..s.len() - 1].to_vec();
        if self.rng.gen_bool(0.6) {
            let c = s[s.len() - 1];
            let (labels, _) = self.index_values(out.clone(), c, 0.02);
            (
                format!("sparse_softmax_cross_entropy({labels}, {z})"),
                Some(out),
            )
        } else {
            let labels = match self.rng.gen_range(0..3) {
                0 => {
                    let b = self.like(&z, &Some(s.clone()), d);
                    format!("softmax({b})")
                }
                _ => self.like(&z, &Some(s.clone()), d),
            };
            (format!("softmax_cross_entropy({labels}, {z})"), Some(out))
        }
    }

    /// `cumsum(x, axis[, exclusive[, reverse]])`.
    fn cumsum(&mut self, d: usize) -> Typed {
        let (a, s) = self.ranked(d, 1);
        let rank = s.as_ref().map_or(1, Vec::len);
        let (axis, s) = if rank == 0 {
            // an error: a scalar has no axis
            ("0".to_string(), None)
        } else {
            let ax = self.rng.gen_range(0..rank);
            (axis_text(&mut self.rng, ax, rank, self.static_shapes), s)
        };
        let flags = match self.rng.gen_range(0..3) {
            0 => String::new(),
            1 => format!(", {}", self.rng.gen_range(0..2)),
            _ => format!(
                ", {}, {}",
                self.rng.gen_range(0..2),
                self.rng.gen_range(0..2)
            ),
        };
        (format!("cumsum({a}, {axis}{flags})"), s)
    }

    /// `softmax(x[, axis])`, `log_softmax(x[, axis])`, `argmax(x, axis)`,
    /// `argmin(x, axis)`.
    fn softmax(&mut self, d: usize) -> Typed {
        let (a, s) = self.ranked(d, 1);
        let rank = s.as_ref().map_or(1, Vec::len).max(1);
        let ax = self.rng.gen_range(0..rank);
        let axis = axis_text(&mut self.rng, ax, rank, self.static_shapes);
        let f = *self.pick(&["softmax", "log_softmax", "softmax", "argmax", "argmin"]);
        if f.starts_with("arg") {
            let out = s.filter(|s| !s.is_empty()).map(|mut s| {
                s.remove(ax);
                s
            });
            return (format!("{f}({a}, {axis})"), out);
        }
        let s = s.filter(|s| !s.is_empty());
        // the default axis, -1, needs the rank as the program is read
        if self.static_shapes && self.rng.gen_bool(0.3) {
            (format!("{f}({a})"), s)
        } else {
            (format!("{f}({a}, {axis})"), s)
        }
    }

    /// `reverse(x, axes)`, `tile(x, [multiples])`, `expand_dims(x, axis)`,
    /// `squeeze(x[, axes])`.
    fn rearrange(&mut self, d: usize) -> Typed {
        let (a, s) = self.expr(d);
        let Some(s) = s else {
            return (format!("reverse({a}, 0)"), None);
        };
        let rank = s.len();
        match self.rng.gen_range(0..4) {
            0 if rank > 0 => {
                let mut axes: Vec<usize> = (0..rank).filter(|_| self.rng.gen_bool(0.5)).collect();
                if axes.is_empty() {
                    axes.push(self.rng.gen_range(0..rank));
                }
                let axes: Vec<String> = axes
                    .iter()
                    .map(|&x| axis_text(&mut self.rng, x, rank, self.static_shapes))
                    .collect();
                (format!("reverse({a}, [{}])", axes.join(", ")), Some(s))
            }
            1 => {
                let big = s.iter().product::<usize>() > 4096;
                let m: Vec<usize> = (0..rank)
                    .map(|_| self.rng.gen_range(if big { 1..2 } else { 0..4 }))
                    .collect();
                let out = s.iter().zip(&m).map(|(n, k)| n * k).collect();
                (format!("tile({a}, [{}])", list(&m)), Some(out))
            }
            2 if self.static_shapes => {
                // a size-1 axis to squeeze, inserted where there is none
                let (a, s) = if s.contains(&1) {
                    (a, s)
                } else {
                    let ax = self.rng.gen_range(0..=rank);
                    let mut out = s.clone();
                    out.insert(ax, 1);
                    (format!("expand_dims({a}, {ax})"), out)
                };
                let rank = s.len();
                let axes: Vec<usize> = (0..rank)
                    .filter(|&x| s[x] == 1 && self.rng.gen_bool(0.7))
                    .collect();
                let out: Vec<usize> = (0..rank)
                    .filter(|&x| !(s[x] == 1 && (axes.is_empty() || axes.contains(&x))))
                    .map(|x| s[x])
                    .collect();
                if axes.is_empty() {
                    (format!("squeeze({a})"), Some(out))
                } else {
                    (format!("squeeze({a}, [{}])", list(&axes)), Some(out))
                }
            }
            _ => {
                let ax = self.rng.gen_range(0..=rank);
                let mut out = s.clone();
                out.insert(ax, 1);
                let axis = axis_text(&mut self.rng, ax, rank + 1, self.static_shapes);
                (format!("expand_dims({a}, {axis})"), Some(out))
            }
        }
    }

    /// `conv2d(x, w[, strides[, padding]])`: `x` an image, `w` a new filter
    /// of its channels (now and then not: an error).
    fn conv2d(&mut self) -> Typed {
        let (x, xs) = self.image();
        let mut k = [self.rng.gen_range(1..4), self.rng.gen_range(1..4)];
        if self.rng.gen_bool(0.9) {
            // mostly a window that fits
            k = [k[0].min(xs[1]), k[1].min(xs[2])];
        }
        let c = if self.rng.gen_bool(0.97) {
            xs[3]
        } else {
            xs[3] + 1
        };
        let o = *self.pick(&[1usize, 2, 3]);
        let w = self.feed(vec![k[0], k[1], c, o]);
        let w = if self.rng.gen_bool(0.2) {
            let u = self.pick(&UNARY_OPS).name();
            format!("{u}({w})")
        } else {
            w
        };
        let (args, st, same) = self.window_args([1, 1]);
        let out = (c == xs[3])
            .then(|| {
                let h = window_out(xs[1], k[0], st[0], same)?;
                let w = window_out(xs[2], k[1], st[1], same)?;
                Some(vec![xs[0], h, w, o])
            })
            .flatten();
        (format!("conv2d({x}, {w}{args})"), out)
    }

    /// `max_pool2d(x, ksize[, strides[, padding]])` or `avg_pool2d(...)`.
    fn pool(&mut self) -> Typed {
        let (x, xs) = self.image();
        let f = *self.pick(&["max_pool2d", "avg_pool2d"]);
        let (kt, k) = self.pair(3);
        let (args, st, same) = self.window_args(k);
        let out = window_out(xs[1], k[0], st[0], same)
            .zip(window_out(xs[2], k[1], st[1], same))
            .map(|(h, w)| vec![xs[0], h, w, xs[3]]);
        (format!("{f}({x}, {kt}{args})"), out)
    }
}

/// `f`'s gradient rule (TensorFlow's, as the spec gives it) for `y = f(x)`
/// and upstream gradient `g`, reading `y` where TensorFlow reads the op's
/// output; `c` is `pow`'s constant. `public`: written with the language's
/// own operations rather than the internal ones.
fn rule(f: &str, g: &str, x: &str, y: &str, c: &str, public: bool) -> String {
    // mul_no_nan(a, g): 0 where g is 0 (TensorFlow's SqrtGrad, RsqrtGrad,
    // ReciprocalGrad), else a * g
    let no_nan = |a: String| {
        if public {
            format!("where(({g} == 0), 0, ({a} * {g}))")
        } else {
            format!("mul_no_nan({a}, {g})")
        }
    };
    match f {
        "exp" => format!("({g} * {y})"),
        "sqrt" => no_nan(format!("(0.5 / {y})")),
        "rsqrt" => no_nan(format!("(-0.5 * (({y} * {y}) * {y}))")),
        "reciprocal" => no_nan(format!("-({y} * {y})")),
        "tanh" => format!("({g} * (1 - ({y} * {y})))"),
        "sigmoid" => format!("({g} * ({y} * (1 - {y})))"),
        // ReluGrad: g * (y > 0), a product (NaN for an infinite g at y <= 0)
        "relu" if public => format!("({g} * ({y} > 0))"),
        "relu" => format!("relu_grad({g}, {y})"),
        "log" => format!("({g} / {x})"),
        "abs" => format!("({g} * sign({x}))"),
        "pow_base" => format!("(({g} * {c}) * pow({x}, ({c} - 1)))"),
        // d/db a^b = a^b log(a), with log(a) taken as 0 where a <= 0
        "pow_exp" => {
            format!("(({g} * {y}) * where(({c} > 0), log(where(({c} > 0), {c}, 1)), 0))")
        }
        _ => unreachable!("{f} has no rule here"),
    }
}

fn perm(rank: usize) -> String {
    let mut p: Vec<usize> = (0..rank).collect();
    p.swap(rank - 1, rank - 2);
    p.iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A feed value: mostly moderate numbers, some special values; with
/// `kinks`, half of them exactly at a kink (0, -0) or a small integer.
fn element(rng: &mut SmallRng, kinks: bool) -> f64 {
    if kinks && rng.gen_bool(0.5) {
        return [0.0, -0.0, 0.0, 1.0, -1.0, 2.0, -0.5][rng.gen_range(0..7)];
    }
    const SPECIAL: [f64; 12] = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        1e30,
        -1e30,
        1e-30,
        100.0,
        -88.5,
    ];
    if rng.gen_bool(0.08) {
        SPECIAL[rng.gen_range(0..SPECIAL.len())]
    } else {
        rng.gen_range(-3.0..3.0)
    }
}

fn generate(seed: u64) -> Case {
    let mut rng = SmallRng::seed_from_u64(seed);
    let dtype = if rng.gen_bool(0.5) {
        DType::F32
    } else {
        DType::F64
    };
    let rank = rng.gen_range(0..4);
    let mut base: Vec<usize> = (0..rank)
        .map(|_| DIMS[rng.gen_range(0..DIMS.len())])
        .collect();
    // large inputs test the engines' splitting and blocking, not
    // TensorFlow's semantics: they get no TensorFlow-equivalent form (it
    // would cost one more interpreter run where a run costs most)
    let mut large = true;
    if rank > 0 && rng.gen_bool(0.03) {
        // past the parallel threshold now and then (jit-mt splits)
        base = vec![300, 257];
    } else if rank > 0 && rng.gen_bool(0.03) {
        // a long leading axis now and then (steps run in blocks of rows)
        base[0] = 1100 + rng.gen_range(0..64);
    } else {
        large = false;
    }
    let n_inputs = rng.gen_range(1..4);
    let kinks = rng.gen_bool(0.25);
    let static_shapes = rng.gen_bool(0.5);
    let mut inputs = Vec::new();
    let mut feeds = Vec::new();
    for k in 0..n_inputs {
        // a broadcast variant of the base shape: leading axes dropped, some set to 1
        let drop = if k == 0 {
            0
        } else {
            rng.gen_range(0..=base.len())
        };
        let shape: Vec<usize> = base[drop..]
            .iter()
            .map(|&d| if k > 0 && rng.gen_bool(0.3) { 1 } else { d })
            .collect();
        let n: usize = shape.iter().product();
        let values = (0..n).map(|_| element(&mut rng, kinks)).collect();
        let name = format!("x{k}");
        inputs.push((name.clone(), shape.clone()));
        feeds.push((name, shape, values));
    }
    let mut g = Gen {
        rng,
        scope: inputs
            .iter()
            .map(|(n, s)| (n.clone(), Some(s.clone())))
            .collect(),
        inputs,
        approx: false,
        no_grad: false,
        names: 0,
        aliases: Vec::new(),
        rewrites: Vec::new(),
        feeds: Vec::new(),
        kinks,
        static_shapes,
    };
    let mut statements: Vec<(String, Same)> = Vec::new();
    let count = g.rng.gen_range(1..5);
    for i in 0..count {
        let last = i + 1 == count;
        if last && !large && g.rng.gen_bool(0.05) {
            g.bound_output(&mut statements);
            break;
        }
        if !last && g.rng.gen_bool(0.1) {
            // an alias: the same tensor
            let (h, shape) = g.scope[g.rng.gen_range(0..g.scope.len())].clone();
            let k = g.alias(&h, shape);
            statements.push((format!("{k} = {h}"), Same::Dropped));
            continue;
        }
        let depth = g.rng.gen_range(1..5);
        let (text, shape) = g.expr(depth);
        if last {
            statements.push((text, Same::Text));
        } else if g.scope.iter().any(|(n, _)| *n == text) {
            // a bare name: an alias too
            let k = g.alias(&text, shape);
            statements.push((format!("{k} = {text}"), Same::Dropped));
        } else {
            let name = g.fresh();
            statements.push((format!("{name} = {text}"), Same::Text));
            g.scope.push((name, shape));
        }
    }
    let program: Vec<&str> = statements.iter().map(|(p, _)| p.as_str()).collect();
    let program = program.join("\n");
    feeds.append(&mut g.feeds);
    // the TensorFlow-equivalent form: rules written out, reshapes' -1
    // inferred (outer reshapes first: their text holds the inner ones),
    // aliases replaced by what they alias. Only where the inputs' shapes are
    // static does the parser know a reshape's sizes either way: otherwise
    // they would let it find, as it parses, a mismatch in a statement that
    // never runs (the output alone is run)
    if !static_shapes {
        g.rewrites.clear();
    }
    let mut same = Vec::new();
    for (text, how) in &statements {
        let mut t = match how {
            Same::Text => text.clone(),
            Same::Dropped => continue,
            Same::Other(t) => t.clone(),
        };
        for (from, to) in g.rewrites.iter().rev() {
            t = t.replace(from, to);
        }
        for (k, h) in &g.aliases {
            t = replace_word(&t, k, h);
        }
        same.push(t);
    }
    let same = same.join("; ");
    Case {
        dtype,
        static_shapes,
        feeds,
        same: (!large && same != program.replace('\n', "; ")).then_some(same),
        program,
    }
}

/// What one engine produced.
type Outcome = Result<Vec<Value>, String>;

fn run_engine(case: &Case, engine: Engine) -> Outcome {
    run_with(case, engine, 0.0)
}

/// Runs `case` on `engine` with every feed element scaled by a random
/// factor in `[1 - perturb, 1 + perturb]` (from a seed that `perturb` picks).
fn run_with(case: &Case, engine: Engine, perturb: f64) -> Outcome {
    let graph = Graph::new();
    let mut opts = ParseOptions::new(case.dtype);
    if case.static_shapes {
        for (name, shape, _) in &case.feeds {
            opts.input_shapes.insert(name.clone(), Shape::known(shape));
        }
    }
    let prog = parse(&graph, &case.program, &opts).map_err(|e| format!("parse: {e}"))?;
    let mut feeds = Vec::new();
    for (name, shape, values) in &case.feeds {
        let Some((_, id)) = prog.inputs.iter().find(|(n, _)| n == name) else {
            continue;
        };
        let mut rng = SmallRng::seed_from_u64(perturb.to_bits() ^ values.len() as u64);
        // indices (`i0`, ...) stay integers
        let perturb = if is_index(name) { 0.0 } else { perturb };
        let values: Vec<f64> = values
            .iter()
            .map(|v| v * (1.0 + perturb * rng.gen_range(-1.0..=1.0)))
            .collect();
        let a = ArrayD::from_shape_vec(shape.clone(), values).map_err(|e| e.to_string())?;
        feeds.push((graph.tensor(*id), Value::from_f64_array(a, case.dtype)));
    }
    let mut session = Session::with_engine(&graph, engine);
    session
        .run(&[graph.tensor(prog.output)], &feeds)
        .map_err(|e| format!("run: {e}"))
}

/// `src` with every approximated function call (and `**` group, and
/// `grad(...)`, whose graph holds them) multiplied by `k`: `exp(x)` becomes
/// `((exp(x))*k)`; the arguments of `sin` and `cos` are scaled too.
fn wrap_approximations(src: &str, k: &str) -> String {
    wrap_with(src, "((", &format!(")*{k})"))
}

/// `src` with every approximated result (as in [`wrap_approximations`])
/// rounded to a multiple of 2^-18: a value an ulp off an integer becomes
/// that integer, as a slightly different approximation could make it.
fn snap_approximations(src: &str) -> String {
    wrap_with(src, "(floor((", ") * 262144 + 0.5) / 262144)")
}

/// `src` with `open` and `close` around every approximated result.
fn wrap_with(src: &str, open: &str, close: &str) -> String {
    let b = src.as_bytes();
    let close_of = |open: usize| -> Option<usize> {
        let mut depth = 0usize;
        for (i, &c) in b.iter().enumerate().skip(open) {
            match c {
                b'(' => depth += 1,
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(i);
                    }
                }
                _ => {}
            }
        }
        None
    };
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let names: Vec<&str> = APPROX
        .iter()
        .copied()
        .chain(COMPOSITES)
        .chain(["grad"])
        .collect();
    for name in names {
        for (at, _) in src.match_indices(&format!("{name}(")) {
            let word_start = at == 0 || !(b[at - 1].is_ascii_alphanumeric() || b[at - 1] == b'_');
            if let (true, Some(end)) = (word_start, close_of(at + name.len())) {
                spans.push((at, end));
                // sin and cos of a large argument hang on its last ulp too
                if (name == "sin" || name == "cos") && end > at + name.len() + 1 {
                    spans.push((at + name.len() + 1, end - 1));
                }
            }
        }
    }
    for (at, _) in src.match_indices("**") {
        // the parenthesized group the generator puts around `a ** b`
        let mut depth = 0usize;
        let open = (0..at).rev().find(|&i| match b[i] {
            b')' => {
                depth += 1;
                false
            }
            b'(' if depth == 0 => true,
            b'(' => {
                depth -= 1;
                false
            }
            _ => false,
        });
        if let Some((o, end)) = open.and_then(|o| Some((o, close_of(o)?))) {
            spans.push((o, end));
        }
    }
    spans.sort_unstable();
    spans.dedup();
    let mut out = String::with_capacity(src.len() * 2);
    for (i, ch) in src.char_indices() {
        for _ in spans.iter().filter(|s| s.0 == i) {
            out.push_str(open);
        }
        out.push(ch);
        for _ in spans.iter().filter(|s| s.1 == i) {
            out.push_str(close);
        }
    }
    out
}

fn uses_approximation(program: &str) -> bool {
    APPROX.iter().any(|f| program.contains(&format!("{f}(")))
        || program.contains("**")
        || COMPOSITES
            .iter()
            .any(|f| program.contains(&format!("{f}(")))
        || program.contains("grad(")
}

/// Compares every engine with the interpreter (see the module's tolerance);
/// `Ok(Some(error))` where every engine fails (the interpreter's error).
fn check(case: &Case) -> Result<Option<String>, String> {
    let outcomes: Vec<(Engine, Outcome)> = ENGINES
        .iter()
        .map(|&e| {
            let r = catch_unwind(AssertUnwindSafe(|| run_engine(case, e)))
                .unwrap_or_else(|_| Err("PANIC".to_string()));
            (e, r)
        })
        .collect();
    let (_, want) = &outcomes[0];
    for (engine, got) in &outcomes {
        if let Err(e) = got {
            if e == "PANIC" {
                return Err(format!("{engine} panicked"));
            }
        }
    }
    // the same program as TensorFlow builds it, on the interpreter
    let same = case.same.as_ref().map(|program| {
        let same = Case {
            program: program.clone(),
            same: None,
            ..case.clone()
        };
        catch_unwind(AssertUnwindSafe(|| run_engine(&same, Engine::Interp)))
            .unwrap_or_else(|_| Err("PANIC".to_string()))
    });
    match (want, &same) {
        (_, Some(Err(e))) if e == "PANIC" => {
            return Err("interp panicked on the same program".to_string())
        }
        (Err(e), Some(Ok(_))) => {
            return Err(format!(
                "interp fails ({e}) but succeeds on the same program as TensorFlow builds it"
            ))
        }
        (Ok(_), Some(Err(e))) => {
            return Err(format!(
                "interp fails on the same program as TensorFlow builds it ({e}), not on this one"
            ))
        }
        _ => {}
    }
    let want = match want {
        Err(e) => {
            let strict = env_u64("GRADJIT_FUZZ_STRICT").is_some_and(|v| v > 0);
            if let Some((_, bug)) = KNOWN_BUGS.iter().find(|(k, _)| e.contains(k)) {
                if !strict {
                    return Ok(Some(format!("known bug ({bug}): {e}")));
                }
            }
            return match outcomes.iter().find(|(_, o)| o.is_ok()) {
                Some((engine, _)) => Err(format!("interp fails ({e}) but {engine} succeeds")),
                None => Ok(Some(e.clone())),
            };
        }
        Ok(w) => w,
    };
    let approx = uses_approximation(&case.program);
    let (rtol, eps, perturb) = match case.dtype {
        DType::F32 => (1e-3, f64::from(f32::EPSILON), 2f64.powi(-16)),
        DType::F64 => (1e-9, f64::EPSILON, 2f64.powi(-45)),
    };
    let n = case
        .feeds
        .iter()
        .map(|(_, _, v)| v.len())
        .max()
        .unwrap_or(1) as f64;
    let rtol = rtol + n * eps;
    // the interpreter on perturbed feeds: how sensitive each element is
    let mut moved = Vec::new();
    // six draws: a sum that cancels to near zero and is then compared is
    // seen to change sign by at least one of them but once in 64
    for d in [
        perturb,
        -perturb / 2.0,
        perturb / 3.0,
        -perturb,
        perturb / 2.0,
        -perturb / 3.0,
    ] {
        let m = catch_unwind(AssertUnwindSafe(|| run_with(case, Engine::Interp, d)))
            .map_err(|_| "interp panicked on perturbed feeds".to_string())?;
        moved.push((m.ok(), true));
    }
    // ... and with every approximated function's result moved by 8 ulp
    let ulps8 = match case.dtype {
        DType::F32 => 2f64.powi(-21),
        DType::F64 => 2f64.powi(-50),
    };
    let mut shifts = vec![
        (
            wrap_approximations(&case.program, &format!("{:?}", 1.0 + ulps8)),
            true,
        ),
        (
            wrap_approximations(&case.program, &format!("{:?}", 1.0 - ulps8)),
            true,
        ),
        // rounded: only whether an element turns to or from NaN or inf counts
        (snap_approximations(&case.program), false),
    ];
    if case.program.contains("sin(") || case.program.contains("cos(") {
        // sin of a huge argument is anything: a few more tries to see it move
        for k in [
            1.0 + 2f64.powi(-17),
            1.0 - 2f64.powi(-15),
            1.0 + 2f64.powi(-13),
        ] {
            shifts.push((wrap_approximations(&case.program, &format!("{k:?}")), false));
        }
    }
    for (program, spread) in shifts {
        let shifted = Case {
            program,
            ..case.clone()
        };
        let m = catch_unwind(AssertUnwindSafe(|| run_engine(&shifted, Engine::Interp)))
            .map_err(|_| "interp panicked on shifted approximations".to_string())?;
        moved.push((m.ok(), spread));
    }
    for (engine, got) in &outcomes[1..] {
        let got = got
            .as_ref()
            .map_err(|e| format!("{engine} fails ({e}) but interp succeeds"))?;
        agree(&engine.to_string(), want, got, &moved, rtol, approx)?;
    }
    if let Some(Ok(got)) = &same {
        agree(
            "the same program on interp",
            want,
            got,
            &moved,
            rtol,
            approx,
        )
        .map_err(|e| format!("{e} (written as TensorFlow builds it)"))?;
    }
    Ok(None)
}

/// Whether `got` (from `who`) agrees with the interpreter's `want`, within
/// the module's tolerance; `moved`: the interpreter's perturbed runs, and
/// whether each one's spread counts.
fn agree(
    who: &str,
    want: &[Value],
    got: &[Value],
    moved: &[(Option<Vec<Value>>, bool)],
    rtol: f64,
    approx: bool,
) -> Result<(), String> {
    for (k, (w, h)) in want.iter().zip(got).enumerate() {
        if w.dtype() != h.dtype() || w.shape() != h.shape() {
            return Err(format!(
                "{who}: output {k} is {} {:?}, interp gives {} {:?}",
                h.dtype(),
                h.shape(),
                w.dtype(),
                w.shape()
            ));
        }
        let (wv, hv) = (w.to_f64_vec(), h.to_f64_vec());
        // a perturbed run that failed tells nothing
        let mv: Vec<(Vec<f64>, bool)> = moved
            .iter()
            .filter_map(|(m, s)| {
                let v = m.as_ref()?.get(k)?;
                (v.shape() == w.shape()).then(|| (v.to_f64_vec(), *s))
            })
            .collect();
        let mut bad = Vec::new();
        for (i, (p, q)) in wv.iter().zip(&hv).enumerate() {
            let mut unstable = false;
            let mut spread = 0.0f64;
            for (m, counts) in &mv {
                let p2 = m[i];
                unstable |= p.is_finite() != p2.is_finite() || p.is_nan() != p2.is_nan();
                if *counts && p.is_finite() && p2.is_finite() {
                    spread = spread.max((p - p2).abs());
                }
            }
            let ok = unstable
                || (p.is_nan() && q.is_nan())
                || p == q
                || (p - q).abs() <= rtol * p.abs().max(q.abs()).max(1.0) + 64.0 * spread;
            if !ok {
                bad.push(format!("[{i}] interp {p:e} vs {q:e}"));
            }
        }
        let allowed = if approx { wv.len() / 50 } else { 0 };
        if bad.len() > allowed {
            bad.truncate(5);
            return Err(format!("{who}: output {k} differs at {}", bad.join(", ")));
        }
    }
    Ok(())
}

/// The corpus format: `#` header lines (`# same:` optional), then the
/// program.
fn render(case: &Case) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# dtype: {}", case.dtype);
    let _ = writeln!(s, "# static: {}", case.static_shapes);
    for (name, shape, values) in &case.feeds {
        let vals: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
        let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
        let _ = writeln!(s, "# feed: {name} [{}] {}", dims.join(","), vals.join(" "));
    }
    if let Some(same) = &case.same {
        let _ = writeln!(s, "# same: {same}");
    }
    s.push_str(case.program.trim_end());
    s.push('\n');
    s
}

fn read(text: &str) -> Result<Case, String> {
    let mut case = Case {
        dtype: DType::F32,
        static_shapes: false,
        feeds: Vec::new(),
        program: String::new(),
        same: None,
    };
    for line in text.lines() {
        if let Some(d) = line.strip_prefix("# dtype: ") {
            case.dtype = match d.trim() {
                "f64" => DType::F64,
                _ => DType::F32,
            };
        } else if let Some(s) = line.strip_prefix("# same: ") {
            case.same = Some(s.trim().to_string());
        } else if let Some(s) = line.strip_prefix("# static: ") {
            case.static_shapes = s.trim() == "true";
        } else if let Some(f) = line.strip_prefix("# feed: ") {
            let mut parts = f.split_whitespace();
            let name = parts.next().ok_or("feed name")?.to_string();
            let dims = parts.next().ok_or("feed shape")?;
            let dims = dims.trim_start_matches('[').trim_end_matches(']');
            let shape: Vec<usize> = if dims.is_empty() {
                vec![]
            } else {
                dims.split(',')
                    .map(|d| d.parse().map_err(|_| format!("dimension {d}")))
                    .collect::<Result<_, _>>()?
            };
            let values: Vec<f64> = parts
                .map(|v| v.parse().map_err(|_| format!("value {v}")))
                .collect::<Result<_, _>>()?;
            case.feeds.push((name, shape, values));
        } else {
            case.program.push_str(line);
            case.program.push('\n');
        }
    }
    Ok(case)
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

fn save_failure(case: &Case, why: &str, seed: u64) -> String {
    let text = format!("# {why}\n{}", render(case));
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-failures");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join(format!("engines-{seed}.case")), &text);
    text
}

/// Random programs: `GRADJIT_FUZZ_CASES` (default 1500) cases, or as many as
/// fit in `GRADJIT_FUZZ_SECONDS`, from `GRADJIT_FUZZ_SEED` (default fixed).
/// The summary counts the cases where every engine fails alike (an
/// ill-typed program, an index outside its range) and those that show a
/// [`KNOWN_BUGS`] entry; with `GRADJIT_FUZZ_VERBOSE=1`, each of those is
/// printed with its error.
#[test]
fn fuzz_engines_random() {
    let seconds = env_u64("GRADJIT_FUZZ_SECONDS");
    let cases =
        env_u64("GRADJIT_FUZZ_CASES").unwrap_or(if seconds.is_some() { u64::MAX } else { 1500 });
    let base = env_u64("GRADJIT_FUZZ_SEED").unwrap_or(0x6a17);
    let deadline = seconds.map(|s| Instant::now() + Duration::from_secs(s));
    let start = Instant::now();
    // `GRADJIT_FUZZ_FIRST`: the first case's number (to rerun the end of a run)
    let first = env_u64("GRADJIT_FUZZ_FIRST").unwrap_or(0);
    let mut n = first;
    let cases = cases.saturating_add(first);
    let mut slowest = (Duration::ZERO, 0u64);
    let mut errors = 0u64;
    let mut known = 0u64;
    let verbose = env_u64("GRADJIT_FUZZ_VERBOSE").is_some_and(|v| v > 0);
    let mut failures = Vec::new();
    while n < cases && deadline.is_none_or(|d| Instant::now() < d) {
        let seed = base.wrapping_mul(0x9e37_79b9_7f4a_7c15).wrapping_add(n);
        let case = generate(seed);
        let began = Instant::now();
        let outcome = check(&case);
        slowest = slowest.max((began.elapsed(), seed));
        if let Ok(Some(e)) = &outcome {
            if e.starts_with("known bug") {
                known += 1;
            } else {
                errors += 1;
            }
            if verbose {
                eprintln!("error everywhere (seed {seed}): {e}\n{}", case.program);
            }
        }
        if let Err(why) = outcome {
            let text = save_failure(&case, &why, seed);
            eprintln!("FAILURE (seed {seed}):\n{text}");
            failures.push(seed);
            if failures.len() >= 20 {
                break;
            }
        }
        n += 1;
    }
    eprintln!(
        "fuzz_engines: {} cases ({errors} an error on every engine, {known} showing a known \
         bug) in {:.0?} from seed {base}, {} failures",
        n - first,
        start.elapsed(),
        failures.len()
    );
    eprintln!("slowest case: seed {} in {:.1?}", slowest.1, slowest.0);
    assert!(failures.is_empty(), "failing seeds: {failures:?}");
}

/// Every case in `tests/fuzz_corpus/engines/` (cases the fuzzer found, and
/// hand-written ones) still agrees.
#[test]
fn corpus_cases_agree() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_corpus/engines");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    assert!(!files.is_empty(), "no corpus in {}", dir.display());
    let mut failed = HashMap::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("corpus file reads");
        let case = read(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        if let Err(why) = check(&case) {
            failed.insert(f.display().to_string(), why);
        }
    }
    assert!(failed.is_empty(), "{failed:#?}");
}

/// Whether `program` calls `f` (`f(` not inside a longer name).
fn calls(program: &str, f: &str) -> bool {
    let b = program.as_bytes();
    program
        .match_indices(&format!("{f}("))
        .any(|(at, _)| at == 0 || !(b[at - 1].is_ascii_alphanumeric() || b[at - 1] == b'_'))
}

/// The `y` of every `grad(y, x)` in `program`.
fn grad_targets(program: &str) -> Vec<&str> {
    let b = program.as_bytes();
    let mut ys = Vec::new();
    for (at, _) in program.match_indices("grad(") {
        if at > 0 && (b[at - 1].is_ascii_alphanumeric() || b[at - 1] == b'_') {
            continue;
        }
        let start = at + 5;
        let mut depth = 0usize;
        for (i, &c) in b.iter().enumerate().skip(start) {
            match c {
                b'(' | b'[' => depth += 1,
                b')' | b']' => depth = depth.saturating_sub(1),
                b',' if depth == 0 => {
                    ys.push(&program[start..i]);
                    break;
                }
                _ => {}
            }
        }
    }
    ys
}

/// The default run's programs use every function of the language (the
/// version-2 ones included), slicing, and gradients through each of the
/// structural and windowed functions; prints how many programs use each.
#[test]
fn generator_covers_every_function() {
    let base = env_u64("GRADJIT_FUZZ_SEED").unwrap_or(0x6a17);
    let programs: Vec<String> = (0..1500u64)
        .map(|n| generate(base.wrapping_mul(0x9e37_79b9_7f4a_7c15).wrapping_add(n)).program)
        .collect();
    let structural = [
        "pad",
        "concat",
        "stack",
        "gather",
        "cumsum",
        "prod",
        "conv2d",
        "max_pool2d",
        "avg_pool2d",
        "sparse_softmax_cross_entropy",
        "softmax_cross_entropy",
        "sigmoid_cross_entropy",
        "softmax",
        "log_softmax",
        "reverse",
        "tile",
        "expand_dims",
    ];
    let others = [
        "one_hot",
        "argmax",
        "argmin",
        "squeeze",
        "leaky_relu",
        "xlogy",
        "div_no_nan",
        "squared_difference",
        "atan2",
        "sum",
        "mean",
        "max",
        "min",
        "logsumexp",
    ];
    let unary = UNARY_OPS.iter().map(|u| u.name());
    let mut missing = Vec::new();
    let mut counts = Vec::new();
    for f in structural.iter().chain(&others).copied().chain(unary) {
        let n = programs.iter().filter(|p| calls(p, f)).count();
        // a gradient taken of a call of `f`
        let g = programs
            .iter()
            .filter(|p| grad_targets(p).iter().any(|y| calls(y, f)))
            .count();
        counts.push(format!("{f} {n} ({g} under grad)"));
        if n < 5 || (structural.contains(&f) && g == 0) {
            missing.push(f);
        }
    }
    // `x[`, `f(x)[`, `(a)[`: an index, not a list
    let sliced = programs
        .iter()
        .filter(|p| {
            p.as_bytes()
                .windows(2)
                .any(|w| w[1] == b'[' && (w[0].is_ascii_alphanumeric() || w[0] == b')'))
        })
        .count();
    let ellipsis = programs.iter().filter(|p| p.contains("...")).count();
    let negative = programs.iter().filter(|p| p.contains(":-")).count();
    eprintln!(
        "programs calling each function: {}; slicing {sliced}, `...` {ellipsis}, \
         negative steps {negative}",
        counts.join(", ")
    );
    assert!(missing.is_empty(), "rarely or never generated: {missing:?}");
}

#[test]
fn slice_lengths_are_pythons() {
    // len(range(n)[start:stop:step])
    assert_eq!(slice_len(5, None, None, 1), 5);
    assert_eq!(slice_len(5, None, None, -1), 5);
    assert_eq!(slice_len(5, Some(-7), Some(9), 2), 3);
    assert_eq!(slice_len(5, Some(3), Some(1), 1), 0);
    assert_eq!(slice_len(5, Some(3), Some(1), -1), 2);
    assert_eq!(slice_len(5, Some(-1), None, -2), 3);
    assert_eq!(slice_len(5, Some(9), Some(-9), -3), 2);
    assert_eq!(slice_len(0, None, None, -1), 0);
    assert_eq!(slice_len(0, Some(2), Some(-2), 1), 0);
}

#[test]
fn approximations_are_wrapped() {
    assert_eq!(
        wrap_approximations("t0 = (x ** exp(y))\nsin(t0) + grad(t0, x)", "K"),
        "t0 = (((x ** ((exp(y))*K)))*K)\n((sin(((t0)*K)))*K) + ((grad(t0, x))*K)"
    );
    assert_eq!(
        wrap_approximations("expm1(x) + maximum(x, 1)", "K"),
        "((expm1(x))*K) + maximum(x, 1)"
    );
}

#[test]
fn reshape_sizes_are_tensorflows() {
    assert_eq!(tf_reshape(&[0, 3], &[-1, 0]), Some(vec![3, 0]));
    assert_eq!(tf_reshape(&[9, 0, 5], &[0, -1, 2]), Some(vec![0, 22, 2]));
    assert_eq!(tf_reshape(&[0], &[-1, 0]), Some(vec![1, 0]));
    assert_eq!(tf_reshape(&[0, 3], &[-1, 3]), Some(vec![0, 3]));
    assert_eq!(tf_reshape(&[2, 3], &[3, -1]), Some(vec![3, 2]));
    assert_eq!(tf_reshape(&[2, 3], &[-1, 0]), None);
    assert_eq!(tf_reshape(&[2, 3], &[4, -1]), None);
}

#[test]
fn aliases_are_replaced_as_words() {
    assert_eq!(
        replace_word("t1 + t11 * grad(t1, x_t1)", "t1", "x0"),
        "x0 + t11 * grad(x0, x_t1)"
    );
    assert!(mentions("(t2 * t3)", "t3") && !mentions("(t2 * t31)", "t3"));
}

#[test]
fn corpus_format_round_trips() {
    for seed in 0..20 {
        let case = generate(seed);
        let back = read(&render(&case)).expect("reads");
        assert_eq!(render(&back), render(&case));
    }
}

/// Prints every engine's outputs for the case file named by
/// `GRADJIT_FUZZ_REPLAY` (a debugging aid: `cargo test --test fuzz_engines
/// -- --ignored --nocapture replay`).
#[test]
#[ignore]
fn replay() {
    let Ok(path) = std::env::var("GRADJIT_FUZZ_REPLAY") else {
        return;
    };
    let case = read(&std::fs::read_to_string(path).expect("reads")).expect("parses");
    for e in ENGINES {
        match run_engine(&case, e) {
            Ok(v) => eprintln!(
                "{e}: {:?}",
                v.iter().map(Value::to_f64_vec).collect::<Vec<_>>()
            ),
            Err(err) => eprintln!("{e}: error {err}"),
        }
    }
    if let Some(same) = &case.same {
        let same = Case {
            program: same.clone(),
            same: None,
            ..case.clone()
        };
        match run_engine(&same, Engine::Interp) {
            Ok(v) => eprintln!(
                "same program, interp: {:?}",
                v.iter().map(Value::to_f64_vec).collect::<Vec<_>>()
            ),
            Err(err) => eprintln!("same program, interp: error {err}"),
        }
    }
    eprintln!("{:?}", check(&case));
}
