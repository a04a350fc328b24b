//! The structure functions of version 2 through `gradjit eval`, `grad` and
//! `show`, on every engine and in both dtypes: NumPy basic slicing `x[...]`
//! (Python's clamping, negative steps, empty results, `...`, chains,
//! precedence), `pad`, `concat`, `stack`, `gather`, `one_hot`,
//! `sparse_softmax_cross_entropy` and the `randint` feed, with their
//! gradients, the errors the spec names, and native code only (`show` lists
//! no step without a native routine).
//!
//! Expected values come from small references written here from the
//! definitions (CPython's `slice.indices`, NumPy's indexing, `tf.pad`,
//! `tf.concat`, `tf.stack`, `tf.gather`, `tf.one_hot`, TensorFlow's sparse
//! cross entropy), never from gradjit's output.

mod cli_support;

use cli_support::*;
use serde_json::Value as Json;

const DTYPES: [&str; 2] = ["f32", "f64"];

/// The tolerance of a value that is moved, not computed: what the JSON
/// printing of the dtype preserves (9 digits for f32, exact for f64).
fn moved(dtype: &str) -> f64 {
    if dtype == "f32" {
        1e-8
    } else {
        0.0
    }
}

/// A value as the program holds it in `dtype`.
fn held(dtype: &str, v: f64) -> f64 {
    if dtype == "f32" {
        f32r(v)
    } else {
        v
    }
}

/// `eval --json` on one engine and dtype.
fn eval_on(engine: &str, dtype: &str, args: &[&str]) -> Tensor {
    let mut full = vec!["--engine", engine, "--dtype", dtype];
    full.extend_from_slice(args);
    eval1(&full)
}

/// `grad --json` on one engine and dtype.
fn grad_on(engine: &str, dtype: &str, args: &[&str]) -> Json {
    let mut full = vec!["grad", "--json", "--engine", engine, "--dtype", dtype];
    full.extend_from_slice(args);
    json(&full)
}

/// A JSON nested list of row-major data (a bare number for a scalar).
fn nested(data: &[f64], shape: &[usize]) -> String {
    match shape.split_first() {
        None => format!("{:?}", data[0]),
        Some((&n, rest)) => {
            let stride: usize = rest.iter().product();
            let items: Vec<String> = (0..n)
                .map(|i| nested(&data[i * stride..(i + 1) * stride], rest))
                .collect();
            format!("[{}]", items.join(", "))
        }
    }
}

/// The shape JSON shows: nested arrays stop at the first empty axis
/// (`[0, 4, 5]` prints as `[]`, `[3, 0, 5]` as `[[], [], []]`).
fn printed(shape: &[usize]) -> Vec<usize> {
    match shape.iter().position(|&d| d == 0) {
        Some(k) => shape[..=k].to_vec(),
        None => shape.to_vec(),
    }
}

/// `--grad-ys` options giving `w` of `shape`, when JSON can say it (a
/// tensor with no elements keeps the default, all of none).
fn grad_ys(w: &[f64], shape: &[usize]) -> Vec<String> {
    if w.is_empty() {
        vec![]
    } else {
        vec!["--grad-ys".to_string(), nested(w, shape)]
    }
}

/// Row-major strides of a shape.
fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// The multi-index of a flat row-major position.
fn unflatten(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for a in (0..shape.len()).rev() {
        idx[a] = flat % shape[a];
        flat /= shape[a];
    }
    idx
}

/// Test data that is not exact in f32: `1 + k/10` and a sign.
fn data(n: usize) -> Vec<f64> {
    (0..n)
        .map(|k| {
            let v = 1.0 + k as f64 / 10.0;
            if k % 3 == 1 {
                -v
            } else {
                v
            }
        })
        .collect()
}

/// Upstream gradients that add up exactly in f32: small integers and halves.
fn upstream(n: usize) -> Vec<f64> {
    (0..n).map(|k| (k % 7) as f64 - 2.5).collect()
}

/// Adds `w[k]` at `src[k]` into zeros of length `n` (a gather's transpose).
fn scatter(n: usize, src: &[usize], w: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; n];
    for (&s, &v) in src.iter().zip(w) {
        out[s] += v;
    }
    out
}

// ---------------------------------------------------------------------------
// Slicing: a reference of NumPy's basic indexing

#[derive(Clone, Copy, Debug)]
enum Item {
    Index(i64),
    Range(Option<i64>, Option<i64>, Option<i64>),
    Ellipsis,
}

/// Reads the text between the brackets of `x[...]`.
fn parse_items(text: &str) -> Vec<Item> {
    text.split(',')
        .map(|s| {
            let s = s.trim();
            if s == "..." {
                Item::Ellipsis
            } else if s.contains(':') {
                let parts: Vec<&str> = s.split(':').collect();
                assert!(parts.len() <= 3, "bad test item {s}");
                let part = |k: usize| {
                    parts
                        .get(k)
                        .map(|t| t.trim())
                        .filter(|t| !t.is_empty())
                        .map(|t| t.parse::<i64>().expect("an integer"))
                };
                Item::Range(part(0), part(1), part(2))
            } else {
                Item::Index(s.parse().expect("an integer"))
            }
        })
        .collect()
}

/// CPython's `PySlice_AdjustIndices`, then `range(start, stop, step)`: the
/// elements a slice of an axis of `n` reads.
fn python_slice(start: Option<i64>, stop: Option<i64>, step: i64, n: i64) -> Vec<i64> {
    let adjust = |v: Option<i64>, default: i64| match v {
        None => default,
        Some(mut v) => {
            if v < 0 {
                v += n;
                if v < 0 {
                    v = if step < 0 { -1 } else { 0 };
                }
            } else if v >= n {
                v = if step < 0 { n - 1 } else { n };
            }
            v
        }
    };
    let start = adjust(start, if step < 0 { n - 1 } else { 0 });
    let stop = adjust(stop, if step < 0 { -1 } else { n });
    let mut out = Vec::new();
    let mut i = start;
    while (step > 0 && i < stop) || (step < 0 && i > stop) {
        out.push(i);
        i += step;
    }
    out
}

/// NumPy's `x[text]` for `x` of `shape`: the result's shape and, for each of
/// its elements in row-major order, the flat position in `x` it reads.
fn np_index(shape: &[usize], text: &str) -> Result<(Vec<usize>, Vec<usize>), String> {
    let raw = parse_items(text);
    let ellipses = raw.iter().filter(|i| matches!(i, Item::Ellipsis)).count();
    if ellipses > 1 {
        return Err("two ellipses".into());
    }
    let named = raw.len() - ellipses;
    if named > shape.len() {
        return Err("too many indices".into());
    }
    let mut items = Vec::new();
    for it in &raw {
        match it {
            Item::Ellipsis => {
                items.extend(std::iter::repeat_n(
                    Item::Range(None, None, None),
                    shape.len() - named,
                ));
            }
            other => items.push(*other),
        }
    }
    while items.len() < shape.len() {
        items.push(Item::Range(None, None, None));
    }
    // per axis: the elements read, and whether the axis stays
    let mut axes: Vec<(Vec<usize>, bool)> = Vec::new();
    for (a, (it, &n)) in items.iter().zip(shape).enumerate() {
        let n = n as i64;
        match *it {
            Item::Index(i) => {
                let j = if i < 0 { i + n } else { i };
                if j < 0 || j >= n {
                    return Err(format!("index {i} out of axis {a}"));
                }
                axes.push((vec![j as usize], false));
            }
            Item::Range(start, stop, step) => {
                let step = step.unwrap_or(1);
                if step == 0 {
                    return Err("zero step".into());
                }
                let picked = python_slice(start, stop, step, n);
                axes.push((picked.iter().map(|&v| v as usize).collect(), true));
            }
            Item::Ellipsis => unreachable!(),
        }
    }
    let out_shape: Vec<usize> = axes
        .iter()
        .filter(|(_, kept)| *kept)
        .map(|(v, _)| v.len())
        .collect();
    let st = strides(shape);
    // every combination of the per-axis choices, row-major
    let mut offsets = vec![0usize];
    for (a, (picked, _)) in axes.iter().enumerate() {
        let mut next = Vec::with_capacity(offsets.len() * picked.len());
        for &o in &offsets {
            for &p in picked {
                next.push(o + p * st[a]);
            }
        }
        offsets = next;
    }
    Ok((out_shape, offsets))
}

/// `x[a][b]...`: the chain of index texts applied one after the other.
fn np_chain(shape: &[usize], texts: &[&str]) -> (Vec<usize>, Vec<usize>) {
    let mut cur_shape = shape.to_vec();
    let mut cur: Vec<usize> = (0..shape.iter().product()).collect();
    for t in texts {
        let (s, off) = np_index(&cur_shape, t).expect("valid test index");
        cur = off.iter().map(|&o| cur[o]).collect();
        cur_shape = s;
    }
    (cur_shape, cur)
}

#[test]
fn the_slice_reference_is_pythons() {
    // the reference itself, against lists by hand (`list(range(n))[s]`)
    assert_eq!(python_slice(None, None, -1, 4), [3, 2, 1, 0]);
    assert_eq!(python_slice(Some(-100), Some(100), 1, 4), [0, 1, 2, 3]);
    assert_eq!(python_slice(Some(5), Some(-10), -1, 4), [3, 2, 1, 0]);
    assert_eq!(python_slice(Some(1), Some(-1), 2, 5), [1, 3]);
    assert_eq!(python_slice(Some(3), Some(1), 1, 5), Vec::<i64>::new());
    assert_eq!(python_slice(Some(-1), Some(-5), -2, 4), [3, 1]);
    assert_eq!(python_slice(None, Some(-5), -1, 4), [3, 2, 1, 0]);
    assert_eq!(python_slice(Some(-5), None, -1, 4), Vec::<i64>::new());
    assert_eq!(np_index(&[2, 3], "..., 1").unwrap(), (vec![2], vec![1, 4]));
    assert_eq!(
        np_index(&[2, 3], "-1, ::-2").unwrap(),
        (vec![2], vec![5, 3])
    );
}

const X_SHAPE: [usize; 3] = [3, 4, 5];

/// Indexes of a [3, 4, 5] tensor, valid ones, with Python's corner cases.
const SLICES: [&str; 34] = [
    "1",
    "-1",
    "-3",
    "1:",
    ":, 1",
    ":, -2",
    "..., 1",
    "1, ..., 2",
    "...",
    "..., 1, 2, 3",
    "1, 2, 3",
    "2, -1, ...",
    "::-1",
    "::-2, 1:3, -1",
    "-100:100",
    "5:",
    "0:0",
    ":, 3:1",
    ":, 3:1:-1",
    ":, 100:-100:-1",
    "1:-1:2",
    ":, ::-3",
    "-1:-5:-1",
    "..., ::2",
    ":, :, 10:",
    ":, :, ::-2",
    "2:0:-1, ..., 4",
    "::4",
    ":, -100:2",
    ":, :, -1:-6:-2",
    ":, :, 4:-6:-1",
    "::1, ::1, ::1",
    "-2:, 1::2",
    ":, -1::-1, 1:4:2",
];

#[test]
fn slices_read_as_numpy_on_every_engine() {
    let n: usize = X_SHAPE.iter().product();
    let x = data(n);
    for (k, idx) in SLICES.iter().enumerate() {
        // alternate the dtypes: every case in one, every engine in both
        let dtype = DTYPES[k % 2];
        let feed = format!("x={}", nested(&x, &X_SHAPE));
        let program = format!("x[{idx}]");
        let (shape, src) = np_index(&X_SHAPE, idx).unwrap();
        let want: Vec<f64> = src.iter().map(|&s| held(dtype, x[s])).collect();
        for e in ENGINES {
            let got = eval_on(e, dtype, &["--feed", &feed, &program]);
            assert_tensor(
                &got,
                &printed(&shape),
                &want,
                moved(dtype),
                0.0,
                &format!("{program} {dtype} on {e}"),
            );
        }
    }
}

#[test]
fn slice_gradients_scatter_into_zeros() {
    let n: usize = X_SHAPE.iter().product();
    let x = data(n);
    let feed = format!("x={}", nested(&x, &X_SHAPE));
    for (k, idx) in SLICES.iter().enumerate() {
        let dtype = DTYPES[(k + 1) % 2];
        let program = format!("x[{idx}]");
        let (shape, src) = np_index(&X_SHAPE, idx).unwrap();
        let w = upstream(src.len());
        let gy = grad_ys(&w, &shape);
        let want = scatter(n, &src, &w);
        for e in ENGINES {
            let mut args = vec!["--wrt", "x", "--feed", &feed];
            args.extend(gy.iter().map(String::as_str));
            args.push(&program);
            let j = grad_on(e, dtype, &args);
            assert_tensor(
                &tensor(&j["grads"]["x"]),
                &X_SHAPE,
                &want,
                0.0,
                0.0,
                &format!("d {program} {dtype} on {e}"),
            );
        }
    }
}

#[test]
fn slices_chain_left_to_right() {
    let n: usize = X_SHAPE.iter().product();
    let x = data(n);
    let feed = format!("x={}", nested(&x, &X_SHAPE));
    for (k, chain) in [
        &["0", "1:"][..],
        &["1:", "::-1", "0"],
        &["..., 0", "-1"],
        &[":, 1", "::2, 2:"],
        &["::-1", "::-1"],
        &["1", "2", "3"],
        &["5:", ":, 1"],
        &[":, ::-1", ":, 1:3", "..., 4"],
    ]
    .iter()
    .enumerate()
    {
        let dtype = DTYPES[k % 2];
        let program: String = std::iter::once("x".to_string())
            .chain(chain.iter().map(|t| format!("[{t}]")))
            .collect();
        let (shape, src) = np_chain(&X_SHAPE, chain);
        let want: Vec<f64> = src.iter().map(|&s| held(dtype, x[s])).collect();
        let w = upstream(src.len());
        let gy = grad_ys(&w, &shape);
        let dwant = scatter(n, &src, &w);
        for e in ENGINES {
            let got = eval_on(e, dtype, &["--feed", &feed, &program]);
            assert_tensor(
                &got,
                &printed(&shape),
                &want,
                moved(dtype),
                0.0,
                &format!("{program} on {e}"),
            );
            let mut args = vec!["--wrt", "x", "--feed", &feed];
            args.extend(gy.iter().map(String::as_str));
            args.push(&program);
            let j = grad_on(e, dtype, &args);
            assert_tensor(
                &tensor(&j["grads"]["x"]),
                &X_SHAPE,
                &dwant,
                0.0,
                0.0,
                &format!("d {program} on {e}"),
            );
        }
    }
}

#[test]
fn indexing_binds_tighter_than_every_operator() {
    // x = [[2, 3], [4, 5]]
    let feed = "x=[[2, 3], [4, 5]]";
    let e1 = std::f64::consts::E;
    for (program, shape, want) in [
        // -((x[0])**2), not (-x[0])**2 nor -(x**2)[0] read differently
        ("-x[0]**2", vec![2], vec![-4.0, -9.0]),
        ("(-x[0])**2", vec![2], vec![4.0, 9.0]),
        ("(-x)[0]**2", vec![2], vec![4.0, 9.0]),
        ("-x[0][1]", vec![], vec![-3.0]),
        ("2**x[0]", vec![2], vec![4.0, 8.0]),
        ("x[1]**x[0]", vec![2], vec![16.0, 125.0]),
        ("2*x[1] - x[0]", vec![2], vec![6.0, 7.0]),
        ("x[0] + x[:, 1]", vec![2], vec![5.0, 8.0]),
        ("x[0:1] @ x", vec![1, 2], vec![16.0, 21.0]),
        ("(x + 1)[1, ::-1]", vec![2], vec![6.0, 5.0]),
        ("exp(x - 4)[1, 0]", vec![], vec![1.0]),
        ("exp(x - 3)[..., 0][1]", vec![], vec![e1]),
        ("sum(x, 0)[...]", vec![2], vec![6.0, 8.0]),
        ("sum(x)[...]", vec![], vec![14.0]),
        ("x[1] > x[0][::-1]", vec![2], vec![1.0, 1.0]),
        ("h = x * 10; h[-1][-1]", vec![], vec![50.0]),
        ("[[1, 2], [3, 4]][1][0] * x[0, 0]", vec![], vec![6.0]),
    ] {
        eval_all_engines(
            &["--dtype", "f64", "--feed", feed, "--", program],
            &shape,
            &want,
            1e-15,
            0.0,
        );
    }
    // its gradient: d/dx sum(-x[0]**2) = -2 x on row 0, zeros on row 1
    for e in ENGINES {
        let j = grad_on(e, "f32", &["--wrt", "x", "--feed", feed, "--", "-x[0]**2"]);
        assert_tensor(
            &tensor(&j["grads"]["x"]),
            &[2, 2],
            &[-4.0, -6.0, 0.0, 0.0],
            0.0,
            0.0,
            e,
        );
    }
}

#[test]
fn slices_feed_into_computation_and_its_gradient() {
    // sum(sin(x[1:, ::-2])) with d/dx = cos(x) where read
    let n: usize = X_SHAPE.iter().product();
    let x = data(n);
    let feed = format!("x={}", nested(&x, &X_SHAPE));
    let (shape, src) = np_index(&X_SHAPE, "1:, ::-2").unwrap();
    let want: Vec<f64> = src.iter().map(|&s| x[s].sin()).collect();
    let mut dwant = vec![0.0; n];
    for &s in &src {
        dwant[s] += x[s].cos();
    }
    for e in ENGINES {
        let got = eval_on(e, "f64", &["--feed", &feed, "sin(x[1:, ::-2])"]);
        assert_tensor(&got, &shape, &want, 1e-13, 1e-15, e);
        let j = grad_on(
            e,
            "f64",
            &["--wrt", "x", "--feed", &feed, "sum(sin(x[1:, ::-2]))"],
        );
        assert_tensor(&tensor(&j["grads"]["x"]), &X_SHAPE, &dwant, 1e-13, 1e-15, e);
        // the same in f32, looser
        let j = grad_on(
            e,
            "f32",
            &["--wrt", "x", "--feed", &feed, "sum(sin(x[1:, ::-2]))"],
        );
        assert_tensor(&tensor(&j["grads"]["x"]), &X_SHAPE, &dwant, 1e-5, 1e-6, e);
    }
    // two overlapping slices of one tensor add up: x[:2] + x[1:]
    let v = [1.0, 2.0, 3.0];
    for e in ENGINES {
        let j = grad_on(
            e,
            "f64",
            &["--wrt", "x", "--feed", "x=[1, 2, 3]", "x[:2] * x[1:]"],
        );
        // d/dx sum(x0 x1 + x1 x2) = [x1, x0 + x2, x1]
        assert_tensor(
            &tensor(&j["grads"]["x"]),
            &[3],
            &[v[1], v[0] + v[2], v[1]],
            0.0,
            0.0,
            e,
        );
    }
}

// ---------------------------------------------------------------------------
// pad

/// `tf.pad(x, widths)` for `x` of `shape`: the output shape and, for each
/// output element, the input position it copies (None for a padding zero).
fn pad_ref(shape: &[usize], widths: &[(usize, usize)]) -> (Vec<usize>, Vec<Option<usize>>) {
    let out: Vec<usize> = shape
        .iter()
        .zip(widths)
        .map(|(&d, &(b, a))| d + b + a)
        .collect();
    let st = strides(shape);
    let n: usize = out.iter().product();
    let src = (0..n)
        .map(|flat| {
            let idx = unflatten(flat, &out);
            let mut off = 0;
            for a in 0..shape.len() {
                let i = idx[a] as i64 - widths[a].0 as i64;
                if i < 0 || i >= shape[a] as i64 {
                    return None;
                }
                off += i as usize * st[a];
            }
            Some(off)
        })
        .collect();
    (out, src)
}

fn widths_text(widths: &[(usize, usize)]) -> String {
    let pairs: Vec<String> = widths.iter().map(|(b, a)| format!("[{b}, {a}]")).collect();
    format!("[{}]", pairs.join(", "))
}

#[test]
fn pad_adds_zeros_and_its_gradient_is_a_slice() {
    for (k, (shape, widths)) in [
        (vec![2, 3], vec![(1, 2), (0, 1)]),
        (vec![4], vec![(2, 0)]),
        (vec![4], vec![(0, 3)]),
        (vec![2, 2, 3], vec![(0, 0), (1, 1), (2, 0)]),
        (vec![2, 3], vec![(0, 0), (0, 0)]),
        (vec![1, 1], vec![(3, 3), (1, 2)]),
        (vec![], vec![]),
    ]
    .into_iter()
    .enumerate()
    {
        let n: usize = shape.iter().product();
        let x = data(n);
        let feed = format!("x={}", nested(&x, &shape));
        let program = format!("pad(x, {})", widths_text(&widths));
        let (out, src) = pad_ref(&shape, &widths);
        let w = upstream(src.len());
        let gy = nested(&w, &out);
        let mut dwant = vec![0.0; n];
        for (k, s) in src.iter().enumerate() {
            if let Some(s) = s {
                dwant[*s] += w[k];
            }
        }
        for dtype in DTYPES {
            let want: Vec<f64> = src
                .iter()
                .map(|s| s.map_or(0.0, |s| held(dtype, x[s])))
                .collect();
            for e in ENGINES {
                let what = format!("{program} {shape:?} {dtype} on {e} (case {k})");
                let got = eval_on(e, dtype, &["--feed", &feed, &program]);
                assert_tensor(&got, &out, &want, moved(dtype), 0.0, &what);
                let j = grad_on(
                    e,
                    dtype,
                    &["--wrt", "x", "--feed", &feed, "--grad-ys", &gy, &program],
                );
                assert_tensor(&tensor(&j["grads"]["x"]), &shape, &dwant, 0.0, 0.0, &what);
            }
        }
    }
    // in a computation: d/dx sum(pad(x, ...)**2) = 2x, padding adds nothing
    for e in ENGINES {
        let j = grad_on(
            e,
            "f64",
            &[
                "--wrt",
                "x",
                "--feed",
                "x=[[1, -2], [3, 0.5]]",
                "sum(pad(x * 1, [[2, 1], [0, 3]])**2)",
            ],
        );
        assert_tensor(
            &tensor(&j["grads"]["x"]),
            &[2, 2],
            &[2.0, -4.0, 6.0, 1.0],
            0.0,
            0.0,
            e,
        );
    }
}

// ---------------------------------------------------------------------------
// concat and stack

/// `tf.concat(xs, axis)` for operands of `shapes`: the output shape and, for
/// each output element, (operand, position in it).
fn concat_ref(shapes: &[Vec<usize>], axis: i64) -> (Vec<usize>, Vec<(usize, usize)>) {
    let rank = shapes[0].len();
    let axis = if axis < 0 { axis + rank as i64 } else { axis } as usize;
    let outer: usize = shapes[0][..axis].iter().product();
    let inner: usize = shapes[0][axis + 1..].iter().product();
    let mut out = shapes[0].clone();
    out[axis] = shapes.iter().map(|s| s[axis]).sum();
    let mut src = Vec::new();
    for o in 0..outer {
        for (k, s) in shapes.iter().enumerate() {
            let chunk = s[axis] * inner;
            for i in 0..chunk {
                src.push((k, o * chunk + i));
            }
        }
    }
    (out, src)
}

/// `tf.stack(xs, axis)`: `concat` of each operand with a new axis of 1.
fn stack_ref(shape: &[usize], count: usize, axis: i64) -> (Vec<usize>, Vec<(usize, usize)>) {
    let axis = if axis < 0 {
        axis + shape.len() as i64 + 1
    } else {
        axis
    } as usize;
    let mut one = shape.to_vec();
    one.insert(axis, 1);
    concat_ref(&vec![one; count], axis as i64)
}

/// Checks a program combining named operands into one output against the
/// reference map `src`, in value and in gradient (with an upstream of the
/// output's shape), on every engine and dtype.
fn check_combination(
    program: &str,
    names: &[&str],
    shapes: &[Vec<usize>],
    out: &[usize],
    src: &[(usize, usize)],
) {
    let values: Vec<Vec<f64>> = shapes
        .iter()
        .enumerate()
        .map(|(k, s)| data(s.iter().product::<usize>() + 5 * k).split_off(5 * k))
        .collect();
    let feeds: Vec<String> = names
        .iter()
        .zip(shapes)
        .zip(&values)
        .map(|((n, s), v)| format!("{n}={}", nested(v, s)))
        .collect();
    let w = upstream(src.len());
    let gy = nested(&w, out);
    let mut dwant: Vec<Vec<f64>> = values.iter().map(|v| vec![0.0; v.len()]).collect();
    for (k, &(op, at)) in src.iter().enumerate() {
        dwant[op][at] += w[k];
    }
    let wrt = names.join(",");
    for dtype in DTYPES {
        let want: Vec<f64> = src
            .iter()
            .map(|&(op, at)| held(dtype, values[op][at]))
            .collect();
        for e in ENGINES {
            let what = format!("{program} {shapes:?} {dtype} on {e}");
            let mut args: Vec<&str> = Vec::new();
            for f in &feeds {
                args.extend_from_slice(&["--feed", f]);
            }
            args.push(program);
            let got = eval_on(e, dtype, &args);
            assert_tensor(&got, out, &want, moved(dtype), 0.0, &what);
            let mut gargs = vec!["--wrt", &wrt, "--grad-ys", &gy];
            gargs.extend_from_slice(&args);
            let j = grad_on(e, dtype, &gargs);
            for (k, n) in names.iter().enumerate() {
                assert_tensor(
                    &tensor(&j["grads"][*n]),
                    &shapes[k],
                    &dwant[k],
                    0.0,
                    0.0,
                    &format!("d/d{n} of {what}"),
                );
            }
        }
    }
}

#[test]
fn concat_joins_along_an_axis() {
    /// Program, operand names, their shapes, the axis.
    type Case = (&'static str, &'static [&'static str], Vec<Vec<usize>>, i64);
    let cases: [Case; 7] = [
        (
            "concat([a, b], 0)",
            &["a", "b"],
            vec![vec![2, 3], vec![1, 3]],
            0,
        ),
        (
            "concat([a, b, c], 1)",
            &["a", "b", "c"],
            vec![vec![2, 1], vec![2, 3], vec![2, 2]],
            1,
        ),
        (
            "concat([a, b], -1)",
            &["a", "b"],
            vec![vec![2, 2, 2], vec![2, 2, 3]],
            -1,
        ),
        (
            "concat([a, b], 1)",
            &["a", "b"],
            vec![vec![2, 2, 2], vec![2, 3, 2]],
            1,
        ),
        (
            "concat([a, b], -3)",
            &["a", "b"],
            vec![vec![1, 2, 2], vec![2, 2, 2]],
            -3,
        ),
        ("concat([a], 0)", &["a"], vec![vec![3, 2]], 0),
        ("concat([a, b], 0)", &["a", "b"], vec![vec![3], vec![2]], 0),
    ];
    for (program, names, shapes, axis) in cases {
        let (out, src) = concat_ref(&shapes, axis);
        check_combination(program, names, &shapes, &out, &src);
    }
}

#[test]
fn stack_adds_an_axis() {
    for (program, count, shape, axis) in [
        ("stack([a, b])", 2, vec![2, 3], 0),
        ("stack([a, b, c], 1)", 3, vec![2, 3], 1),
        ("stack([a, b], 2)", 2, vec![2, 3], 2),
        ("stack([a, b], -1)", 2, vec![2, 3], -1),
        ("stack([a, b, c], -2)", 3, vec![4], -2),
        ("stack([a])", 1, vec![3], 0),
        ("stack([a, b])", 2, vec![], 0),
    ] {
        let names = &["a", "b", "c"][..count];
        let shapes = vec![shape.clone(); count];
        let (out, src) = stack_ref(&shape, count, axis);
        check_combination(program, names, &shapes, &out, &src);
    }
}

#[test]
fn concat_and_stack_of_expressions() {
    // concat([a, 2*a, b[::-1]], 0) with a = [1, 2], b = [3, 4, 5]
    for e in ENGINES {
        let args = [
            "--dtype",
            "f64",
            "--feed",
            "a=[1, 2]",
            "--feed",
            "b=[3, 4, 5]",
            "concat([a, 2*a, b[::-1]], 0)",
        ];
        let got = eval1(&[&["--engine", e][..], &args].concat());
        assert_tensor(
            &got,
            &[7],
            &[1.0, 2.0, 2.0, 4.0, 5.0, 4.0, 3.0],
            0.0,
            0.0,
            e,
        );
        // upstream [1..7]: d/da = w0..1 + 2 w2..3, d/db = reversed w4..6
        let j = grad_on(
            e,
            "f64",
            &[
                &["--wrt", "a,b", "--grad-ys", "[1, 2, 3, 4, 5, 6, 7]"][..],
                &args[2..],
            ]
            .concat(),
        );
        assert_tensor(&tensor(&j["grads"]["a"]), &[2], &[7.0, 10.0], 0.0, 0.0, e);
        assert_tensor(
            &tensor(&j["grads"]["b"]),
            &[3],
            &[7.0, 6.0, 5.0],
            0.0,
            0.0,
            e,
        );
        // stack of a tensor and its square: d/da sum(stack([a, a*a], 1)) = 1 + 2a
        let j = grad_on(
            e,
            "f32",
            &["--wrt", "a", "--feed", "a=[1, -2]", "stack([a, a*a], 1)"],
        );
        assert_tensor(&tensor(&j["grads"]["a"]), &[2], &[3.0, -3.0], 0.0, 0.0, e);
        // concat broadcast inside: concat([x + r, x], 0) with r a row
        let j = grad_on(
            e,
            "f64",
            &[
                "--wrt",
                "r",
                "--feed",
                "x=[[1, 2], [3, 4]]",
                "--feed",
                "r=[10, 20]",
                "--grad-ys",
                "[[1, 2], [3, 4], [5, 6], [7, 8]]",
                "concat([x + r, x], 0)",
            ],
        );
        assert_tensor(&tensor(&j["grads"]["r"]), &[2], &[4.0, 6.0], 0.0, 0.0, e);
    }
}

// ---------------------------------------------------------------------------
// gather

/// `tf.gather(params, indices, axis)`: the output shape and, per output
/// element, the position in `params` it reads.
fn gather_ref(
    pshape: &[usize],
    ishape: &[usize],
    idx: &[usize],
    axis: i64,
) -> (Vec<usize>, Vec<usize>) {
    let axis = if axis < 0 {
        axis + pshape.len() as i64
    } else {
        axis
    } as usize;
    let outer: usize = pshape[..axis].iter().product();
    let n = pshape[axis];
    let inner: usize = pshape[axis + 1..].iter().product();
    let mut out = pshape[..axis].to_vec();
    out.extend_from_slice(ishape);
    out.extend_from_slice(&pshape[axis + 1..]);
    let mut src = Vec::new();
    for o in 0..outer {
        for &i in idx {
            for k in 0..inner {
                src.push((o * n + i) * inner + k);
            }
        }
    }
    (out, src)
}

#[test]
fn gather_reads_rows_and_its_gradient_adds_repeats() {
    /// Params shape, indices shape, indices, axis.
    type Case = (Vec<usize>, Vec<usize>, Vec<usize>, Option<i64>);
    let cases: [Case; 7] = [
        (vec![4, 3], vec![3], vec![3, 0, 3], None),
        (vec![4, 3], vec![3], vec![3, 0, 3], Some(0)),
        (vec![2, 5], vec![2, 2], vec![4, 0, 4, 4], Some(1)),
        (vec![2, 3, 2], vec![], vec![2], Some(1)),
        (vec![2, 3, 2], vec![2, 3], vec![1, 1, 0, 1, 1, 1], Some(-1)),
        (vec![5], vec![3, 2], vec![0, 1, 2, 3, 4, 4], None),
        (vec![3, 2], vec![4], vec![2, 2, 2, 2], Some(-2)),
    ];
    for (pshape, ishape, idx, axis) in cases {
        let n: usize = pshape.iter().product();
        let p = data(n);
        let fi: Vec<f64> = idx.iter().map(|&i| i as f64).collect();
        let feed_p = format!("p={}", nested(&p, &pshape));
        let feed_i = format!("i={}", nested(&fi, &ishape));
        let program = match axis {
            None => "gather(p, i)".to_string(),
            Some(a) => format!("gather(p, i, {a})"),
        };
        let (out, src) = gather_ref(&pshape, &ishape, &idx, axis.unwrap_or(0));
        let w = upstream(src.len());
        let gy = nested(&w, &out);
        let dwant = scatter(n, &src, &w);
        for dtype in DTYPES {
            let want: Vec<f64> = src.iter().map(|&s| held(dtype, p[s])).collect();
            for e in ENGINES {
                let what = format!("{program} p{pshape:?} i={idx:?} {dtype} on {e}");
                let got = eval_on(e, dtype, &["--feed", &feed_p, "--feed", &feed_i, &program]);
                assert_tensor(&got, &out, &want, moved(dtype), 0.0, &what);
                let j = grad_on(
                    e,
                    dtype,
                    &[
                        "--wrt",
                        "p,i",
                        "--feed",
                        &feed_p,
                        "--feed",
                        &feed_i,
                        "--grad-ys",
                        &gy,
                        &program,
                    ],
                );
                assert_tensor(&tensor(&j["grads"]["p"]), &pshape, &dwant, 0.0, 0.0, &what);
                // no gradient to the indices (None, as tf.gradients)
                assert!(j["grads"]["i"].is_null(), "d/di of {what}: {j}");
            }
        }
    }
}

#[test]
fn gather_in_a_loss_and_many_repeats_on_every_engine() {
    // d/dp sum(gather(p, i)**2): 2 p[r] times how often r appears
    let p = [
        [0.5, -1.0, 2.0],
        [1.5, 0.25, -3.0],
        [4.0, 1.0, -0.5],
        [2.0, 2.5, 1.0],
    ];
    let counts = [1.0, 0.0, 0.0, 2.0];
    let dwant: Vec<f64> = (0..12)
        .map(|k| 2.0 * p[k / 3][k % 3] * counts[k / 3])
        .collect();
    let feed_p = format!("p={}", serde_json::to_string(&p).unwrap());
    for dtype in DTYPES {
        for e in ENGINES {
            let j = grad_on(
                e,
                dtype,
                &[
                    "--wrt",
                    "p",
                    "--feed",
                    &feed_p,
                    "--feed",
                    "i=[3, 0, 3]",
                    "sum(gather(p, i) ** 2)",
                ],
            );
            assert_tensor(&tensor(&j["grads"]["p"]), &[4, 3], &dwant, 0.0, 0.0, e);
        }
    }
    // twenty thousand indices into fifty rows: every engine's scatter-add
    // (threads included) counts each repeat once
    let feed_i = "i=randint(50, 20000)";
    let feeds = ["--feed", "p=rand(50, 4)", "--feed", feed_i];
    let idx = eval1(
        &[
            &["--dtype", "f32", "--ys", "i"][..],
            &feeds,
            &["gather(p, i)"],
        ]
        .concat(),
    );
    assert_eq!(idx.shape, [20000]);
    let mut count = [0.0f64; 50];
    for &v in &idx.data {
        assert!(
            v.fract() == 0.0 && (0.0..50.0).contains(&v),
            "randint gave {v}"
        );
        count[v as usize] += 1.0;
    }
    assert!(
        count.iter().all(|&c| c > 0.0),
        "20000 draws miss a row of 50"
    );
    let dwant: Vec<f64> = (0..200).map(|k| count[k / 4]).collect();
    for dtype in DTYPES {
        for e in ENGINES {
            let mut args = vec!["--wrt", "p"];
            args.extend_from_slice(&feeds);
            args.push("gather(p, i)");
            let j = grad_on(e, dtype, &args);
            assert_tensor(
                &tensor(&j["grads"]["p"]),
                &[50, 4],
                &dwant,
                0.0,
                0.0,
                &format!("{dtype} on {e}"),
            );
        }
    }
}

#[test]
fn randint_draws_fixed_integers_in_range() {
    let a = eval1(&["--feed", "k=randint(7, 3, 40)", "k"]);
    let b = eval1(&["--engine", "interp", "--feed", "k=randint(7, 3, 40)", "k"]);
    assert_eq!(a.shape, [3, 40]);
    assert_eq!(a, b, "randint uses a fixed seed");
    assert!(a
        .data
        .iter()
        .all(|&v| v.fract() == 0.0 && (0.0..7.0).contains(&v)));
    // all of 0..7 appear among 120 draws
    for k in 0..7 {
        assert!(a.data.contains(&f64::from(k)), "{k} never drawn");
    }
    let one = eval1(&["--feed", "k=randint(1, 5)", "k"]);
    assert_tensor(&one, &[5], &[0.0; 5], 0.0, 0.0, "randint(1, 5)");
}

// ---------------------------------------------------------------------------
// one_hot

#[test]
fn one_hot_sets_one_per_row_and_zeros_outside() {
    for (ishape, idx, depth) in [
        (vec![3], vec![0.0, 2.0, 1.0], 3),
        (vec![2, 2], vec![-1.0, 3.0, 2.0, 0.0], 3),
        (vec![], vec![2.0], 4),
        (vec![4], vec![0.0, 1.0, -5.0, 0.0], 1),
        (vec![2], vec![7.0, 100.0], 5),
    ] {
        let mut out = ishape.clone();
        out.push(depth);
        let want: Vec<f64> = idx
            .iter()
            .flat_map(|&i| (0..depth).map(move |d| if i == d as f64 { 1.0 } else { 0.0 }))
            .collect();
        let feed = format!("i={}", nested(&idx, &ishape));
        let program = format!("one_hot(i, {depth})");
        for dtype in DTYPES {
            for e in ENGINES {
                let got = eval_on(e, dtype, &["--feed", &feed, &program]);
                assert_tensor(
                    &got,
                    &out,
                    &want,
                    0.0,
                    0.0,
                    &format!("{program} {feed} {dtype} on {e}"),
                );
            }
        }
    }
    // no gradient to the indices: None, or zeros with --unconnected zero
    for e in ENGINES {
        let args = [
            "--wrt",
            "i,q",
            "--feed",
            "i=[1, 0]",
            "--feed",
            "q=[[1, 2], [3, 4]]",
            "sum(one_hot(i, 2) * q)",
        ];
        let j = grad_on(e, "f64", &args);
        assert!(j["grads"]["i"].is_null(), "{j}");
        assert_tensor(
            &tensor(&j["grads"]["q"]),
            &[2, 2],
            &[0.0, 1.0, 1.0, 0.0],
            0.0,
            0.0,
            e,
        );
        let j = grad_on(e, "f64", &[&["--unconnected", "zero"][..], &args].concat());
        assert_tensor(&tensor(&j["grads"]["i"]), &[2], &[0.0, 0.0], 0.0, 0.0, e);
    }
}

// ---------------------------------------------------------------------------
// sparse_softmax_cross_entropy

/// Per row of `z` (rows of `classes`): `logsumexp(row) - row[label]`, and
/// the gradient `softmax(row) - one_hot(label)`.
fn sparse_ce_ref(z: &[f64], classes: usize, labels: &[usize]) -> (Vec<f64>, Vec<f64>) {
    let mut loss = Vec::new();
    let mut grad = Vec::new();
    for (r, &l) in labels.iter().enumerate() {
        let row = &z[r * classes..(r + 1) * classes];
        let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let s: f64 = row.iter().map(|v| (v - m).exp()).sum();
        loss.push(m + s.ln() - row[l]);
        for (c, v) in row.iter().enumerate() {
            let p = (v - m).exp() / s;
            grad.push(p - if c == l { 1.0 } else { 0.0 });
        }
    }
    (loss, grad)
}

#[test]
fn sparse_softmax_cross_entropy_values_and_gradients() {
    let cases: [(Vec<usize>, Vec<f64>, Vec<usize>); 5] = [
        (
            vec![2, 3],
            vec![0.5, -1.0, 2.0, 1.5, 0.25, -3.0],
            vec![2, 0],
        ),
        (
            vec![2, 2, 4],
            (0..16).map(|k| (k as f64 * 0.7).sin() * 3.0).collect(),
            vec![3, 0, 1, 1],
        ),
        (vec![4], vec![1.0, 2.0, 3.0, 4.0], vec![1]),
        // large logits: the value stays finite and exact
        (
            vec![2, 3],
            vec![1000.0, 0.0, -1000.0, -800.0, -810.0, 790.0],
            vec![1, 2],
        ),
        (vec![3, 1], vec![5.0, -2.0, 0.0], vec![0, 0, 0]),
    ];
    for (zshape, z, labels) in cases {
        let classes = *zshape.last().unwrap();
        let lshape = &zshape[..zshape.len() - 1];
        let fl: Vec<f64> = labels.iter().map(|&l| l as f64).collect();
        let feed_z = format!("z={}", nested(&z, &zshape));
        let feed_l = format!("l={}", nested(&fl, lshape));
        let gup = upstream(labels.len());
        let gy = nested(&gup, lshape);
        for dtype in DTYPES {
            let zh: Vec<f64> = z.iter().map(|&v| held(dtype, v)).collect();
            let (loss, dz) = sparse_ce_ref(&zh, classes, &labels);
            let dz: Vec<f64> = dz
                .iter()
                .enumerate()
                .map(|(k, v)| v * gup[k / classes])
                .collect();
            let (rtol, atol) = if dtype == "f32" {
                (2e-6, 2e-6)
            } else {
                (1e-13, 1e-14)
            };
            for e in ENGINES {
                let what = format!("sparse_softmax_cross_entropy {feed_l} {feed_z} {dtype} on {e}");
                let args = [
                    "--feed",
                    &feed_l,
                    "--feed",
                    &feed_z,
                    "sparse_softmax_cross_entropy(l, z)",
                ];
                let got = eval_on(e, dtype, &args);
                assert_tensor(&got, lshape, &loss, rtol, atol, &what);
                let j = grad_on(
                    e,
                    dtype,
                    &[&["--wrt", "z,l", "--grad-ys", &gy][..], &args].concat(),
                );
                assert_tensor(&tensor(&j["grads"]["z"]), &zshape, &dz, rtol, atol, &what);
                assert!(j["grads"]["l"].is_null(), "d/dl of {what}: {j}");
            }
        }
    }
}

#[test]
fn sparse_cross_entropy_with_randint_labels_is_the_mean_loss() {
    // a classifier's loss: mean over rows, labels drawn by randint
    let feeds = ["--feed", "l=randint(5, 6)", "--feed", "z=rand(6, 5)"];
    let program = "mean(sparse_softmax_cross_entropy(l, z))";
    let l = eval1(&[&["--dtype", "f64", "--ys", "l"][..], &feeds, &[program]].concat());
    let z = eval1(&[&["--dtype", "f64", "--ys", "z"][..], &feeds, &[program]].concat());
    let labels: Vec<usize> = l.data.iter().map(|&v| v as usize).collect();
    let (loss, dz) = sparse_ce_ref(&z.data, 5, &labels);
    let mean = loss.iter().sum::<f64>() / 6.0;
    let dz: Vec<f64> = dz.iter().map(|v| v / 6.0).collect();
    for e in ENGINES {
        let j = grad_on(
            e,
            "f64",
            &[
                &["--wrt", "z"][..],
                &feeds,
                &["mean(sparse_softmax_cross_entropy(l, z))"],
            ]
            .concat(),
        );
        assert_tensor(&tensor(&j["ys"]["y"]), &[], &[mean], 1e-13, 0.0, e);
        assert_tensor(&tensor(&j["grads"]["z"]), &[6, 5], &dz, 1e-12, 1e-15, e);
    }
}

// ---------------------------------------------------------------------------
// errors

/// Runs `eval` expecting the error contract on every engine.
fn fail_all_engines(args: &[&str], parts: &[&str]) {
    for e in ENGINES {
        let mut full = vec!["eval", "--engine", e];
        full.extend_from_slice(args);
        let line = fail(&full);
        assert_mentions(&line, parts);
    }
}

#[test]
fn bad_indices_are_run_time_errors_on_every_engine() {
    let p = ["--feed", "p=[[1, 2], [3, 4], [5, 6]]"];
    for (i, parts) in [
        ("i=[0, 7, 1]", &["gather", "index 7 is outside [0, 3)"][..]),
        ("i=[3]", &["gather", "index 3 is outside [0, 3)"]),
        ("i=[-1, 0]", &["gather", "index -1 is outside [0, 3)"]),
        ("i=[0, 1.5]", &["gather", "1.5", "not an integer"]),
        (
            "i=[[0, 1], [2, 9]]",
            &["gather", "index 9 is outside [0, 3)"],
        ),
        ("i=7", &["gather", "index 7 is outside [0, 3)"]),
    ] {
        for dtype in DTYPES {
            fail_all_engines(
                &[&p[..], &["--dtype", dtype, "--feed", i, "gather(p, i)"]].concat(),
                parts,
            );
        }
    }
    // along axis 1 the range is [0, 2)
    fail_all_engines(
        &[&p[..], &["--feed", "i=[1, 2]", "gather(p, i, 1)"]].concat(),
        &["gather", "index 2 is outside [0, 2)"],
    );
    // also inside a gradient program
    for e in ENGINES {
        let line = fail(&[
            "grad",
            "--engine",
            e,
            "--wrt",
            "p",
            "--feed",
            "p=[1, 2, 3]",
            "--feed",
            "i=[0, 5]",
            "sum(gather(p, i) ** 2)",
        ]);
        assert_mentions(&line, &["gather", "index 5 is outside [0, 3)"]);
    }
    // one_hot: a non-integer is an error (out of range is a zero row)
    fail_all_engines(
        &["--feed", "i=[1, 0.5]", "one_hot(i, 3)"],
        &["one_hot", "0.5", "not an integer"],
    );
    // sparse labels outside [0, classes) or not integers
    let z = ["--feed", "z=[[1, 2, 3], [4, 5, 6]]"];
    for (l, parts) in [
        (
            "l=[0, 3]",
            &["sparse_softmax_cross_entropy", "index 3 is outside [0, 3)"][..],
        ),
        (
            "l=[-1, 0]",
            &["sparse_softmax_cross_entropy", "index -1 is outside [0, 3)"],
        ),
        (
            "l=[2.5, 0]",
            &["sparse_softmax_cross_entropy", "2.5", "not an integer"],
        ),
    ] {
        fail_all_engines(
            &[&z[..], &["--feed", l, "sparse_softmax_cross_entropy(l, z)"]].concat(),
            parts,
        );
        for e in ENGINES {
            let line = fail(
                &[
                    &["grad", "--engine", e, "--wrt", "z"][..],
                    &z,
                    &["--feed", l, "sparse_softmax_cross_entropy(l, z)"],
                ]
                .concat(),
            );
            assert_mentions(&line, &["sparse_softmax_cross_entropy"]);
        }
    }
}

/// Writes a one-dimensional `.npy` file of little-endian f64 (format 1.0).
fn write_npy(path: &std::path::Path, values: &[f64]) {
    let mut header = format!(
        "{{'descr': '<f8', 'fortran_order': False, 'shape': ({},), }}",
        values.len()
    );
    // magic (6) + version (2) + length (2) + header, padded to 64 with '\n'
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for v in values {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(path, bytes).expect("write the .npy file");
}

#[test]
fn the_first_bad_index_is_named_even_on_threads() {
    // 300000 indices, bad ones at positions 120000 (11) and 250000 (13):
    // the message names the first
    let mut idx = vec![0.0; 300_000];
    for (k, v) in idx.iter_mut().enumerate() {
        *v = (k % 3) as f64;
    }
    idx[120_000] = 11.0;
    idx[250_000] = 13.0;
    let path = temp_dir("first_bad_index").join("idx.npy");
    write_npy(&path, &idx);
    let feed_i = format!("i=@{}", path.display());
    fail_all_engines(
        &["--feed", "p=rand(3, 4)", "--feed", &feed_i, "gather(p, i)"],
        &["gather", "index 11 is outside [0, 3)"],
    );
    let feed_l = format!("l=@{}", path.display());
    fail_all_engines(
        &[
            "--feed",
            "z=rand(300000, 3)",
            "--feed",
            &feed_l,
            "sparse_softmax_cross_entropy(l, z)",
        ],
        &["sparse_softmax_cross_entropy", "index 11 is outside [0, 3)"],
    );
}

#[test]
fn malformed_structure_programs_are_errors() {
    let x = ["--feed", "x=[[1, 2, 3], [4, 5, 6]]"];
    for (program, parts) in [
        // slicing
        ("x[2]", &["2", "outside"][..]),
        ("x[-3]", &["-3", "outside"]),
        ("x[0, 3]", &["3", "outside"]),
        ("x[:, -4]", &["-4", "outside"]),
        ("x[0][3]", &["3", "outside"]),
        ("x[0, 1, 2]", &["line 1"]),
        ("x[::0]", &["step", "0"]),
        ("x[1:2:0]", &["step", "0"]),
        ("x[..., ...]", &["..."]),
        ("x[..., 0, ...]", &["..."]),
        ("x[]", &["line 1"]),
        ("x[1.5]", &["line 1"]),
        // concat
        ("concat([x, [[1, 2]]], 0)", &["concat"]),
        ("concat([x, [1, 2, 3]], 0)", &["concat"]),
        ("concat([x, x], 2)", &["concat"]),
        ("concat([x, x], -3)", &["concat"]),
        ("concat(x, 0)", &["line 1"]),
        ("concat([], 0)", &["line 1"]),
        // stack
        ("stack([x, [1, 2, 3]])", &["stack"]),
        ("stack([x, x], 3)", &["stack"]),
        // pad
        ("pad(x, [[1, 2]])", &["pad"]),
        ("pad(x, [[1, 2], [0, 0], [1, 1]])", &["pad"]),
        ("pad(x, [[1, 2], [-1, 0]])", &["pad", "-1"]),
        ("pad(x, [[1, 2], [0, 1, 2]])", &["pad"]),
        // gather and one_hot arguments
        ("gather(x, [0], 2)", &["gather"]),
        ("one_hot([0, 1], -1)", &["one_hot"]),
        (
            "sparse_softmax_cross_entropy([0, 1, 0], x)",
            &["sparse_softmax_cross_entropy"],
        ),
    ] {
        let line = fail(&[&["eval"][..], &x, &[program]].concat());
        assert_mentions(&line, parts);
        assert!(
            line.contains("line 1"),
            "`{program}`: `{line}` gives no position"
        );
    }
}

#[test]
fn the_gradient_with_respect_to_indices_is_an_error() {
    for (program, feeds) in [
        (
            "grad(sum(gather(p, i)), i)",
            &["p=[1, 2, 3]", "i=[0, 2]"][..],
        ),
        ("grad(sum(one_hot(i, 3)), i)", &["i=[0, 2]"]),
        (
            "grad(sum(sparse_softmax_cross_entropy(l, z)), l)",
            &["l=[0, 2]", "z=rand(2, 3)"],
        ),
    ] {
        let mut args = vec!["eval"];
        for f in feeds {
            args.extend_from_slice(&["--feed", f]);
        }
        args.push(program);
        let line = fail(&args);
        assert_mentions(&line, &["no gradient"]);
    }
    // gather(p, i, 1) * i: i reaches the output directly too, so it has a
    // gradient, gather(p, i, 1) with p = [[1, 2, 3]], i = [0, 2] -> [[1, 3]]
    for e in ENGINES {
        let j = grad_on(
            e,
            "f64",
            &[
                "--wrt",
                "i",
                "--feed",
                "p=[[1, 2, 3]]",
                "--feed",
                "i=[0, 2]",
                "gather(p, i, 1) * i",
            ],
        );
        assert_tensor(&tensor(&j["grads"]["i"]), &[2], &[1.0, 3.0], 0.0, 0.0, e);
    }
}

// ---------------------------------------------------------------------------
// show

#[test]
fn structure_programs_compile_to_native_code_only() {
    for (program, wrt, feeds) in [
        (
            "sparse_softmax_cross_entropy(l, z)",
            "z",
            &["l=[1, 0, 2]", "z=rand(3, 4)"][..],
        ),
        (
            "mean(sparse_softmax_cross_entropy(l, z))",
            "z",
            &["l=randint(4, 8)", "z=rand(8, 4)"],
        ),
        (
            "sum(gather(p, i) ** 2)",
            "p",
            &["p=rand(4, 3)", "i=[3, 0, 3]"],
        ),
        (
            "sum(gather(p, i, 1) * 2)",
            "p",
            &["p=rand(4, 3)", "i=[[2, 0], [1, 1]]"],
        ),
        ("sum(x[1:, ::-1] ** 2)", "x", &["x=rand(3, 4)"]),
        ("sum(x[..., 0] * x[-1])", "x", &["x=rand(4, 4)"]),
        ("sum(x[0][1:] * 3)", "x", &["x=rand(3, 4)"]),
        ("sum(pad(x, [[1, 0], [2, 1]]) ** 2)", "x", &["x=rand(3, 4)"]),
        ("sum(concat([x, 2 * x], 1) ** 2)", "x", &["x=rand(3, 4)"]),
        ("sum(stack([x, x * x], 1))", "x", &["x=rand(3, 4)"]),
        (
            "sum(one_hot(i, 4) * q)",
            "q",
            &["i=[0, 3, 5]", "q=rand(3, 4)"],
        ),
    ] {
        let mut args = vec!["show", "--wrt", wrt];
        for f in feeds {
            args.extend_from_slice(&["--feed", f]);
        }
        args.push(program);
        let out = ok(&args);
        assert!(out.contains("kernels ("), "{program}: {out}");
        assert!(!out.contains("no native routine"), "{program}: {out}");
    }
}

#[test]
fn gather_of_no_indices_is_empty() {
    // tf.gather(p, []) has shape [0, 3]; along axis 1, [2, 0]; its gradient is zeros
    for e in ENGINES {
        let p = "p=[[1, 2, 3], [4, 5, 6]]";
        let got = eval_on(e, "f32", &["--feed", p, "--feed", "i=[]", "gather(p, i)"]);
        assert_tensor(&got, &[0], &[], 0.0, 0.0, e);
        let got = eval_on(
            e,
            "f32",
            &["--feed", p, "--feed", "i=[]", "gather(p, i, 1)"],
        );
        assert_tensor(&got, &[2, 0], &[], 0.0, 0.0, e);
        let j = grad_on(
            e,
            "f64",
            &["--wrt", "p", "--feed", p, "--feed", "i=[]", "gather(p, i)"],
        );
        assert_tensor(&tensor(&j["grads"]["p"]), &[2, 3], &[0.0; 6], 0.0, 0.0, e);
    }
}

#[test]
fn nan_and_infinite_indices_are_not_integers() {
    // JSON has no NaN: through .npy files; -0 is the index 0
    let dir = temp_dir("nan_indices");
    let nan = dir.join("nan.npy");
    write_npy(&nan, &[0.0, f64::NAN, 1.0]);
    let inf = dir.join("inf.npy");
    write_npy(&inf, &[0.0, f64::INFINITY, 2.0]);
    let negz = dir.join("negz.npy");
    write_npy(&negz, &[-0.0, 2.0, 1.0]);
    let at = |p: &std::path::Path| format!("i=@{}", p.display());
    for path in [&nan, &inf] {
        let i = at(path);
        fail_all_engines(
            &["--feed", "p=[1, 2, 3]", "--feed", &i, "gather(p, i)"],
            &["gather", "not an integer"],
        );
        fail_all_engines(
            &["--feed", &i, "one_hot(i, 3)"],
            &["one_hot", "not an integer"],
        );
        fail_all_engines(
            &[
                "--feed",
                "z=rand(3, 3)",
                "--feed",
                &i,
                "sparse_softmax_cross_entropy(i, z)",
            ],
            &["sparse_softmax_cross_entropy", "not an integer"],
        );
    }
    let i = at(&negz);
    for dtype in DTYPES {
        for e in ENGINES {
            let got = eval_on(
                e,
                dtype,
                &["--feed", "p=[1, 2, 3]", "--feed", &i, "gather(p, i)"],
            );
            assert_tensor(&got, &[3], &[1.0, 3.0, 2.0], 0.0, 0.0, e);
            let got = eval_on(e, dtype, &["--feed", &i, "one_hot(i, 3)"]);
            let want = [1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0];
            assert_tensor(&got, &[3, 3], &want, 0.0, 0.0, e);
        }
    }
}
