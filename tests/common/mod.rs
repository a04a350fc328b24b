//! Shared test support: seeded random inputs and a finite-difference
//! gradient checker (the first of the "three oracles").
//!
//! [`check_grad`] builds a function of several tensor inputs in an `f64`
//! graph, takes the loss `sum(y * w)` for a fixed random weight tensor `w` of
//! y's shape (so every output element matters, each with its own weight), asks
//! for the symbolic gradients, evaluates them with the interpreter, and
//! compares them element by element with central differences of the loss.
//! It does so twice: once with placeholders of fully known shapes, and once
//! with placeholders whose rank is known but whose dimensions are not (so the
//! gradients always take the run-time `sum_to` path). It also checks that
//! passing `w` as `grad_ys` for `y` gives the same gradients as the loss.
#![allow(dead_code)]

use gradjit::{DType, GradOptions, Graph, Session, Shape, Tensor, Value};
use ndarray::{ArrayD, IxDyn};
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

/// A seeded random generator, the same sequence on every run.
pub fn rng(seed: u64) -> SmallRng {
    SmallRng::seed_from_u64(seed)
}

/// Values drawn uniformly from `[lo, hi)`.
pub fn uniform(rng: &mut SmallRng, shape: &[usize], lo: f64, hi: f64) -> ArrayD<f64> {
    ArrayD::from_shape_simple_fn(IxDyn(shape), || rng.gen_range(lo..hi))
}

/// Values with magnitude in `[lo, hi)` and a random sign: away from 0 when `lo > 0`.
pub fn signed(rng: &mut SmallRng, shape: &[usize], lo: f64, hi: f64) -> ArrayD<f64> {
    ArrayD::from_shape_simple_fn(IxDyn(shape), || {
        let m = rng.gen_range(lo..hi);
        if rng.gen_bool(0.5) {
            m
        } else {
            -m
        }
    })
}

/// Arrays of the given shapes whose elements, all arrays together, are
/// pairwise at least `(hi - lo) / (2 n)` apart (n the total count), in
/// shuffled order: no ties anywhere, even after a finite-difference step.
pub fn distinct(rng: &mut SmallRng, shapes: &[&[usize]], lo: f64, hi: f64) -> Vec<ArrayD<f64>> {
    let n: usize = shapes.iter().map(|s| s.iter().product::<usize>()).sum();
    let step = (hi - lo) / n as f64;
    let mut vals: Vec<f64> = (0..n)
        .map(|i| lo + step * (i as f64 + 0.25 + 0.5 * rng.gen::<f64>()))
        .collect();
    vals.shuffle(rng);
    let mut it = vals.into_iter();
    shapes
        .iter()
        .map(|s| {
            let len = s.iter().product();
            let data: Vec<f64> = it.by_ref().take(len).collect();
            ArrayD::from_shape_vec(IxDyn(s), data).expect("sizes match")
        })
        .collect()
}

/// An input of the function under test.
#[derive(Clone, Debug)]
pub enum Input {
    /// Differentiated: its symbolic gradient is checked against finite differences.
    Var(ArrayD<f64>),
    /// Fed, but with no gradient expected: `tf.gradients` must return `None`.
    NoGrad(ArrayD<f64>),
}

impl Input {
    fn value(&self) -> &ArrayD<f64> {
        match self {
            Input::Var(a) | Input::NoGrad(a) => a,
        }
    }
}

/// Shorthand: every array is a differentiated input.
pub fn vars(arrays: impl IntoIterator<Item = ArrayD<f64>>) -> Vec<Input> {
    arrays.into_iter().map(Input::Var).collect()
}

/// Tolerances and step of a finite-difference check.
#[derive(Clone, Copy, Debug)]
pub struct Tol {
    /// Relative tolerance, against the larger of the two magnitudes.
    pub rtol: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// The step is `rel_step * max(1, |x|)`.
    pub rel_step: f64,
}

impl Default for Tol {
    fn default() -> Self {
        Tol {
            rtol: 1e-5,
            atol: 1e-6,
            rel_step: 1e-6,
        }
    }
}

/// Whether `a` and `b` agree within `tol` (both NaN counts as agreement, as
/// do equal infinities).
pub fn close(a: f64, b: f64, rtol: f64, atol: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a.is_infinite() || b.is_infinite() {
        return a == b;
    }
    (a - b).abs() <= atol + rtol * a.abs().max(b.abs())
}

/// Asserts two value lists agree element by element, naming the worst element.
#[track_caller]
pub fn assert_close(what: &str, got: &[f64], want: &[f64], rtol: f64, atol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    let mut worst: Option<(usize, f64)> = None;
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        if !close(g, w, rtol, atol) {
            let err = if g.is_finite() && w.is_finite() {
                (g - w).abs() / (atol + rtol * g.abs().max(w.abs()))
            } else {
                f64::INFINITY
            };
            if worst.is_none_or(|(_, e)| err > e) {
                worst = Some((i, err));
            }
        }
    }
    if let Some((i, err)) = worst {
        panic!(
            "{what}: element {i} is {} but should be {} ({err:.3e} times the tolerance)\n got: {got:?}\nwant: {want:?}",
            got[i], want[i]
        );
    }
}

/// A weight tensor of the given shape, drawn from a generator seeded by
/// `seed`, with values in `[0.5, 1.5)` and random signs.
pub fn weights(shape: &[usize], seed: u64) -> ArrayD<f64> {
    signed(&mut rng(seed ^ 0x5eed), shape, 0.5, 1.5)
}

/// Runs `fetches` on `feeds` with the interpreter, widened to `f64`.
pub fn run(g: &Graph, fetches: &[Tensor<'_>], feeds: &[(Tensor<'_>, Value)]) -> Vec<Vec<f64>> {
    let mut sess = Session::new(g);
    sess.run(fetches, feeds)
        .unwrap_or_else(|e| panic!("run failed: {e}"))
        .iter()
        .map(Value::to_f64_vec)
        .collect()
}

/// Checks the symbolic gradients of `build` against central differences,
/// with the default tolerances.
#[track_caller]
pub fn check_grad<F>(name: &str, inputs: &[Input], build: F)
where
    F: for<'g> Fn(&'g Graph, &[Tensor<'g>]) -> Tensor<'g>,
{
    check_grad_tol(name, inputs, Tol::default(), build)
}

/// [`check_grad`] with explicit tolerances.
#[track_caller]
pub fn check_grad_tol<F>(name: &str, inputs: &[Input], tol: Tol, build: F)
where
    F: for<'g> Fn(&'g Graph, &[Tensor<'g>]) -> Tensor<'g>,
{
    for mode in [Static::Shapes, Static::Rank] {
        check_once(name, inputs, tol, mode, &build);
    }
}

/// [`check_grad`] with static shapes only, for functions whose gradient
/// needs the operand's shape when it is built (`tile`).
#[track_caller]
pub fn check_grad_static<F>(name: &str, inputs: &[Input], build: F)
where
    F: for<'g> Fn(&'g Graph, &[Tensor<'g>]) -> Tensor<'g>,
{
    check_once(name, inputs, Tol::default(), Static::Shapes, &build);
}

/// [`check_grad`], also with placeholders of unknown rank (for functions
/// whose ops accept that: no matmul, no negative axes, no permutations).
#[track_caller]
pub fn check_grad_any_rank<F>(name: &str, inputs: &[Input], build: F)
where
    F: for<'g> Fn(&'g Graph, &[Tensor<'g>]) -> Tensor<'g>,
{
    for mode in [Static::Shapes, Static::Rank, Static::Nothing] {
        check_once(name, inputs, Tol::default(), mode, &build);
    }
}

/// What the placeholders of a check know statically.
#[derive(Clone, Copy, Debug)]
enum Static {
    /// Their full shapes.
    Shapes,
    /// Their ranks only.
    Rank,
    /// Nothing.
    Nothing,
}

fn check_once<F>(name: &str, inputs: &[Input], tol: Tol, mode: Static, build: &F)
where
    F: for<'g> Fn(&'g Graph, &[Tensor<'g>]) -> Tensor<'g>,
{
    let label = match mode {
        Static::Shapes => format!("{name} (static shapes)"),
        Static::Rank => format!("{name} (dims unknown until run time)"),
        Static::Nothing => format!("{name} (rank unknown until run time)"),
    };
    let label = label.as_str();
    let g = Graph::new();
    let xs: Vec<Tensor<'_>> = inputs
        .iter()
        .enumerate()
        .map(|(i, inp)| {
            let dims = inp.value().shape();
            let shape = match mode {
                Static::Shapes => Shape::known(dims),
                Static::Rank => Shape::of_rank(dims.len()),
                Static::Nothing => Shape::unknown(),
            };
            g.placeholder(&format!("x{i}"), DType::F64, shape)
        })
        .collect();
    let y = build(&g, &xs);
    g.check()
        .unwrap_or_else(|e| panic!("{label}: building failed: {e}"));
    assert_eq!(y.dtype(), DType::F64, "{label}: the output should be f64");

    let feeds = |vals: &[ArrayD<f64>]| -> Vec<(Tensor<'_>, Value)> {
        xs.iter()
            .zip(vals)
            .map(|(&x, v)| (x, Value::F64(v.clone())))
            .collect()
    };
    let base: Vec<ArrayD<f64>> = inputs.iter().map(|i| i.value().clone()).collect();
    let mut sess = Session::new(&g);
    let y_shape = sess
        .run(&[y], &feeds(&base))
        .unwrap_or_else(|e| panic!("{label}: forward run failed: {e}"))[0]
        .shape()
        .to_vec();
    let w = weights(&y_shape, y_shape.len() as u64 + 17);
    let wt = g.constant(&w);
    let loss = (y * wt).sum();

    let grads = g
        .gradients(&[loss], &xs)
        .unwrap_or_else(|e| panic!("{label}: gradients failed: {e}"));
    // the same gradients through grad_ys = w
    let opts = GradOptions {
        grad_ys: vec![wt],
        ..GradOptions::default()
    };
    let grads_gy = g
        .gradients_with(&[y], &xs, &opts)
        .unwrap_or_else(|e| panic!("{label}: gradients with grad_ys failed: {e}"));

    let loss_at = |sess: &mut Session<'_>, vals: &[ArrayD<f64>]| -> f64 {
        let out = sess
            .run(&[loss], &feeds(vals))
            .unwrap_or_else(|e| panic!("{label}: loss run failed: {e}"));
        out[0].to_f64_vec()[0]
    };

    for (i, inp) in inputs.iter().enumerate() {
        let x = &base[i];
        match inp {
            Input::NoGrad(_) => {
                assert!(
                    grads[i].is_none(),
                    "{label}: input {i} should have no gradient"
                );
                assert!(grads_gy[i].is_none(), "{label}: input {i} (grad_ys)");
            }
            Input::Var(_) => {
                let gi = grads[i].unwrap_or_else(|| panic!("{label}: input {i} has no gradient"));
                let gi2 = grads_gy[i].unwrap_or_else(|| panic!("{label}: input {i} (grad_ys)"));
                let out = sess
                    .run(&[gi, gi2], &feeds(&base))
                    .unwrap_or_else(|e| panic!("{label}: gradient run failed: {e}"));
                assert_eq!(
                    out[0].shape(),
                    x.shape(),
                    "{label}: gradient of input {i} has the wrong shape"
                );
                let sym = out[0].to_f64_vec();
                let sym_gy = out[1].to_f64_vec();
                let mut fd = Vec::with_capacity(x.len());
                for j in 0..x.len() {
                    let v = x.as_slice().expect("standard layout")[j];
                    let h = tol.rel_step * v.abs().max(1.0);
                    let mut plus = base.clone();
                    plus[i].as_slice_mut().expect("standard layout")[j] = v + h;
                    let mut minus = base.clone();
                    minus[i].as_slice_mut().expect("standard layout")[j] = v - h;
                    let d = loss_at(&mut sess, &plus) - loss_at(&mut sess, &minus);
                    fd.push(d / (2.0 * h));
                }
                assert_close(
                    &format!("{label}: d loss / d input {i} vs finite differences"),
                    &sym,
                    &fd,
                    tol.rtol,
                    tol.atol,
                );
                assert_close(
                    &format!("{label}: input {i}, grad_ys = w vs loss = sum(y * w)"),
                    &sym_gy,
                    &sym,
                    1e-12,
                    1e-12,
                );
            }
        }
    }
}

/// An array from a shape and row-major values (panics if they do not match).
pub fn arr(shape: &[usize], values: &[f64]) -> ArrayD<f64> {
    ArrayD::from_shape_vec(IxDyn(shape), values.to_vec()).expect("values fill the shape")
}

/// The gradients of `sum(build(xs))` with respect to every input, evaluated
/// by the interpreter at `inputs` in a graph of `dtype` (placeholders of
/// known shape), widened to `f64`; `None` where `tf.gradients` gives none.
pub fn grads_at<F>(
    dtype: DType,
    inputs: &[ArrayD<f64>],
    unconnected: gradjit::UnconnectedGradients,
    build: F,
) -> Vec<Option<ArrayD<f64>>>
where
    F: for<'g> Fn(&'g Graph, &[Tensor<'g>]) -> Tensor<'g>,
{
    let g = Graph::new();
    let xs: Vec<Tensor<'_>> = inputs
        .iter()
        .enumerate()
        .map(|(i, v)| g.placeholder(&format!("x{i}"), dtype, Shape::known(v.shape())))
        .collect();
    let y = build(&g, &xs);
    let opts = GradOptions {
        unconnected,
        ..GradOptions::default()
    };
    let grads = g
        .gradients_with(&[y], &xs, &opts)
        .unwrap_or_else(|e| panic!("gradients failed: {e}"));
    let feeds: Vec<(Tensor<'_>, Value)> = xs
        .iter()
        .zip(inputs)
        .map(|(&x, v)| (x, Value::from_f64_array(v.clone(), dtype)))
        .collect();
    let mut sess = Session::new(&g);
    grads
        .iter()
        .map(|gr| {
            gr.map(|t| {
                let out = sess
                    .run(&[t], &feeds)
                    .unwrap_or_else(|e| panic!("run failed: {e}"));
                assert_eq!(out[0].dtype(), dtype, "gradient of another dtype");
                out[0].to_f64_array()
            })
        })
        .collect()
}

/// [`grads_at`] in `f64` with `None` for unconnected inputs.
pub fn grads64<F>(inputs: &[ArrayD<f64>], build: F) -> Vec<Option<ArrayD<f64>>>
where
    F: for<'g> Fn(&'g Graph, &[Tensor<'g>]) -> Tensor<'g>,
{
    grads_at(
        DType::F64,
        inputs,
        gradjit::UnconnectedGradients::None,
        build,
    )
}

/// Asserts a gradient exists, has the expected shape, and matches `want`
/// (exactly, up to `tol`; NaN matches NaN and infinities must be equal).
#[track_caller]
pub fn assert_grad(what: &str, got: &Option<ArrayD<f64>>, shape: &[usize], want: &[f64], tol: f64) {
    let got = got
        .as_ref()
        .unwrap_or_else(|| panic!("{what}: expected a gradient, got None"));
    assert_eq!(got.shape(), shape, "{what}: shape");
    let got: Vec<f64> = got.iter().copied().collect();
    assert_close(what, &got, want, tol, tol);
}

/// A program in the expression language compiled with its gradients.
pub struct Compiled {
    /// The graph it was parsed into.
    pub graph: Graph,
    /// Its output, then its gradients with respect to the `wrt` inputs.
    pub fetches: Vec<gradjit::NodeId>,
    /// Each input's name and placeholder.
    pub inputs: Vec<(String, gradjit::NodeId)>,
    /// The executable, for the given feed shapes.
    pub exe: gradjit::exec::Executable,
}

impl Compiled {
    /// The placeholder of input `name`.
    pub fn input(&self, name: &str) -> gradjit::NodeId {
        self.inputs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, id)| *id)
            .unwrap_or_else(|| panic!("no input {name}"))
    }
}

/// Parses `text` with inputs of the given (name, shape) and compiles its
/// output and its gradients with respect to `wrt` on `threads` threads.
pub fn compile_text(
    text: &str,
    wrt: &[&str],
    feeds: &[(&str, &[usize])],
    dtype: DType,
    threads: usize,
) -> Compiled {
    use gradjit::exec::{compile, CompileOptions};
    use gradjit::text::{parse, ParseOptions};
    let graph = Graph::new();
    let mut opts = ParseOptions {
        dtype,
        ..ParseOptions::default()
    };
    for (n, d) in feeds {
        opts.input_shapes.insert(n.to_string(), Shape::known(d));
    }
    let prog = parse(&graph, text, &opts).expect("the program parses");
    let input = |name: &str| {
        prog.inputs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, id)| *id)
            .unwrap_or_else(|| panic!("no input {name}"))
    };
    let mut fetches = vec![prog.output];
    let xs: Vec<Tensor<'_>> = wrt.iter().map(|n| graph.tensor(input(n))).collect();
    if !xs.is_empty() {
        let grads = graph
            .gradients(&[graph.tensor(prog.output)], &xs)
            .expect("gradients");
        fetches.extend(
            grads
                .iter()
                .map(|d| d.expect("every x reaches the output").id()),
        );
    }
    let shapes: Vec<_> = feeds.iter().map(|(n, d)| (input(n), d.to_vec())).collect();
    let exe = compile(
        &graph,
        &fetches,
        &shapes,
        &CompileOptions {
            threads,
            ..CompileOptions::default()
        },
    )
    .expect("compiles");
    drop(xs);
    Compiled {
        graph,
        fetches,
        inputs: prog.inputs.clone(),
        exe,
    }
}

/// Values drawn uniformly from `[-1, 1)` in `dtype`.
pub fn random_value(rng: &mut SmallRng, dims: &[usize], dtype: DType) -> Value {
    let n: usize = dims.iter().product();
    let v: Vec<f64> = (0..n).map(|_| rng.gen_range(-1.0..1.0)).collect();
    match dtype {
        DType::F32 => Value::F32(
            ArrayD::from_shape_vec(IxDyn(dims), v.iter().map(|&x| x as f32).collect())
                .expect("sizes match"),
        ),
        DType::F64 => Value::F64(ArrayD::from_shape_vec(IxDyn(dims), v).expect("sizes match")),
    }
}

/// `values` (named by `names`, in that order) arranged as `exe` reads its
/// feeds.
pub fn in_feed_order<'v>(
    exe: &gradjit::exec::Executable,
    names: &[&str],
    values: &'v [Value],
) -> Vec<gradjit::value::ValueView<'v>> {
    exe.feed_order(names)
        .expect("every input is named")
        .iter()
        .map(|&k| values[k].view())
        .collect()
}
