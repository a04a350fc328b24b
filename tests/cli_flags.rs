//! Every option of `gradjit eval` and `gradjit grad`: `--ys`, `--feed` in
//! each VALUE form (JSON, `.npy` of f32, f64 and integers, `rand`,
//! `randsign`), `--dtype`, `--engine`, `--grad-ys`, `--stop`,
//! `--unconnected`, `--wrt` with bound names, `--` and `@path`.

mod cli_support;

use cli_support::*;
use ndarray::{arr1, arr2, ArrayD, ShapeBuilder};
use ndarray_npy::WriteNpyExt;
use serde_json::{json, Value as Json};

fn grad_json(args: &[&str]) -> Json {
    let mut full = vec!["grad", "--json"];
    full.extend_from_slice(args);
    json(&full)
}

fn write_npy<A: ndarray_npy::WritableElement>(path: &std::path::Path, a: &ArrayD<A>) {
    let f = std::fs::File::create(path).expect("create the .npy file");
    a.write_npy(f).expect("write the .npy file");
}

#[test]
fn feed_json_scalars_and_nested_arrays() {
    let t = eval1(&["--feed", "x=2.5", "x"]);
    assert_tensor(&t, &[], &[2.5], 0.0, 0.0, "scalar");
    // a negative value right after the `=` is not an option
    let t = eval1(&["--feed", "x=-1", "x"]);
    assert_tensor(&t, &[], &[-1.0], 0.0, 0.0, "negative scalar");
    let t = eval1(&["--feed", "x=[[1,2],[3,4]]", "x"]);
    assert_tensor(&t, &[2, 2], &[1.0, 2.0, 3.0, 4.0], 0.0, 0.0, "2-D");
    let t = eval1(&["--feed", "x=[[[1e0], [-2.5]]]", "x"]);
    assert_tensor(&t, &[1, 2, 1], &[1.0, -2.5], 0.0, 0.0, "3-D");
    // the feed gives the input its shape: [1, 3] + [[1], [2]] broadcasts to 2x3
    let t = eval1(&[
        "--feed",
        "x=[[1, 2, 3]]",
        "--feed",
        "z=[[10], [20]]",
        "x + z",
    ]);
    assert_eq!(t.shape, vec![2, 3]);
    // an empty list is a tensor of shape [0]; its sum is 0
    let t = eval1(&["--feed", "x=[]", "sum(x)"]);
    assert_tensor(&t, &[], &[0.0], 0.0, 0.0, "sum of an empty tensor");
}

#[test]
fn feed_npy_files_of_f32_f64_and_integers() {
    let dir = temp_dir("feed_npy");
    let f32_path = dir.join("a32.npy");
    let f64_path = dir.join("a64.npy");
    let i64_path = dir.join("i64.npy");
    let i32_path = dir.join("i32.npy");
    let u8_path = dir.join("u8.npy");
    write_npy(&f32_path, &arr2(&[[0.1f32, -2.0], [3.5, 1e-3]]).into_dyn());
    write_npy(&f64_path, &arr1(&[0.1f64, 1.0 / 3.0, -7.0]).into_dyn());
    write_npy(&i64_path, &arr1(&[1i64, -2, 300]).into_dyn());
    write_npy(&i32_path, &arr2(&[[4i32, -5], [6, 0]]).into_dyn());
    write_npy(&u8_path, &arr1(&[0u8, 255]).into_dyn());
    let feed = |name: &str, p: &std::path::Path| format!("{name}=@{}", p.display());

    // f32 file in an f32 program: exactly those f32 values
    let t = eval1(&["--feed", &feed("x", &f32_path), "x"]);
    assert_eq!(t.shape, vec![2, 2]);
    let got: Vec<f32> = t.data.iter().map(|&v| v as f32).collect();
    assert_eq!(got, vec![0.1f32, -2.0, 3.5, 1e-3]);
    // f32 file in an f64 program: the f32 values, widened exactly
    let t = eval1(&["--dtype", "f64", "--feed", &feed("x", &f32_path), "x"]);
    assert_eq!(t.data, vec![0.1f32 as f64, -2.0, 3.5, 1e-3f32 as f64]);
    // f64 file in an f64 program: exact
    let t = eval1(&["--dtype", "f64", "--feed", &feed("x", &f64_path), "x"]);
    assert_eq!(t.data, vec![0.1, 1.0 / 3.0, -7.0]);
    // f64 file in an f32 program: rounded to f32
    let t = eval1(&["--feed", &feed("x", &f64_path), "x"]);
    let got: Vec<f32> = t.data.iter().map(|&v| v as f32).collect();
    assert_eq!(got, vec![0.1f32, 1.0f32 / 3.0, -7.0]);
    // integer files are converted to the program's dtype
    let t = eval1(&["--feed", &feed("x", &i64_path), "x * 2"]);
    assert_tensor(&t, &[3], &[2.0, -4.0, 600.0], 0.0, 0.0, "i64 npy");
    let t = eval1(&["--dtype", "f64", "--feed", &feed("x", &i32_path), "x / 2"]);
    assert_tensor(&t, &[2, 2], &[2.0, -2.5, 3.0, 0.0], 0.0, 0.0, "i32 npy");
    let t = eval1(&["--feed", &feed("x", &u8_path), "x + 1"]);
    assert_tensor(&t, &[2], &[1.0, 256.0], 0.0, 0.0, "u8 npy");
    // a file in Fortran (column-major) order holds the same logical array
    let fortran_path = dir.join("fortran.npy");
    let fortran = ndarray::Array2::from_shape_vec((2, 3).f(), vec![1i16, 4, 2, 5, 3, 6]).unwrap();
    write_npy(&fortran_path, &fortran.into_dyn());
    let t = eval1(&["--feed", &feed("x", &fortran_path), "x"]);
    assert_tensor(
        &t,
        &[2, 3],
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        0.0,
        0.0,
        "Fortran order",
    );
    // a .npy feed also works for grad
    let j = grad_json(&["--wrt", "x", "--feed", &feed("x", &i64_path), "x*x"]);
    assert_tensor(
        &tensor(&j["grads"]["x"]),
        &[3],
        &[2.0, -4.0, 600.0],
        0.0,
        0.0,
        "grad",
    );
}

#[test]
fn feed_rand_and_randsign() {
    let a = eval1(&["--feed", "x=rand(3,4)", "x"]);
    assert_eq!(a.shape, vec![3, 4]);
    assert!(a.data.iter().all(|v| (-1.0..=1.0).contains(v)), "{a:?}");
    // not a constant, and drawn from both halves of [-1, 1]
    assert!(
        a.data.iter().any(|&v| v < 0.0) && a.data.iter().any(|&v| v > 0.0),
        "{a:?}"
    );
    // a fixed seed: the same values on every run
    let b = eval1(&["--feed", "x=rand(3,4)", "x"]);
    assert_eq!(a, b);
    // and the same on every engine
    for e in ENGINES {
        assert_eq!(
            eval1(&["--engine", e, "--feed", "x=rand(3,4)", "x"]),
            a,
            "{e}"
        );
    }
    let s = eval1(&["--feed", "x=randsign(64)", "x"]);
    assert_eq!(s.shape, vec![64]);
    assert!(s.data.iter().all(|&v| v == 1.0 || v == -1.0), "{s:?}");
    assert!(s.data.contains(&1.0) && s.data.contains(&-1.0), "{s:?}");
    let s = eval1(&["--feed", "x=randsign(2,3,2)", "x"]);
    assert_eq!(s.shape, vec![2, 3, 2]);
    // rand feeds in a computation: sum(x*x) of values in [-1, 1] lies in [0, 12]
    let t = eval1(&["--dtype", "f64", "--feed", "x=rand(3,4)", "sum(x*x)"]);
    let want: f64 = eval1(&["--dtype", "f64", "--feed", "x=rand(3,4)", "x"])
        .data
        .iter()
        .map(|v| v * v)
        .sum();
    assert_tensor(&t, &[], &[want], 1e-12, 0.0, "sum(x*x)");
}

#[test]
fn dtype_f32_rounds_and_f64_does_not() {
    let third32 = eval1(&["1 / 3"]).data[0];
    let third32b = eval1(&["--dtype", "f32", "1 / 3"]).data[0];
    let third64 = eval1(&["--dtype", "f64", "1 / 3"]).data[0];
    // f32 is the default
    assert_eq!(third32, third32b);
    // the f32 result is the f32 quotient; the f64 one the f64 quotient
    assert_eq!(third32 as f32, 1.0f32 / 3.0);
    assert_eq!(third64, 1.0f64 / 3.0);
    assert_ne!(third32, third64);
    // f32 overflows where f64 does not: 1e20 * 1e20
    let t = eval1(&["--feed", "x=1e20", "x * x"]);
    assert_eq!(t.data, vec![f64::INFINITY]);
    let t = eval1(&["--dtype", "f64", "--feed", "x=1e20", "x * x"]);
    assert_eq!(t.data, vec![1e40]);
    // and gradients take the dtype too: d(x/3)/dx
    let g32 = grad_json(&["--wrt", "x", "--feed", "x=1", "x / 3"]);
    let g64 = grad_json(&["--dtype", "f64", "--wrt", "x", "--feed", "x=1", "x / 3"]);
    assert_eq!(number(&g32["grads"]["x"]) as f32, 1.0f32 / 3.0);
    assert_eq!(number(&g64["grads"]["x"]), 1.0f64 / 3.0);
}

/// A small network with broadcasting, a matrix product, reductions and
/// transcendental functions.
const NET: &str = "h = tanh(W @ x + b)\n\
                   p = sigmoid(h) * exp(-h*h) + log1p(h*h)\n\
                   loss = mean(p * p) + sum(logsumexp(h, 0)) / 10";

#[test]
fn engines_agree_on_values_and_gradients() {
    let program = NET;
    let feeds = [
        "--feed",
        "W=rand(5,4)",
        "--feed",
        "x=rand(4,3)",
        "--feed",
        "b=rand(5,1)",
    ];
    for dtype in ["f32", "f64"] {
        let tol = if dtype == "f32" { 2e-5 } else { 1e-12 };
        let mut reference: Option<Json> = None;
        for e in ENGINES {
            let mut args = vec!["--dtype", dtype, "--engine", e, "--wrt", "W,x,b"];
            args.extend_from_slice(&feeds);
            args.push(program);
            let j = grad_json(&args);
            match &reference {
                None => reference = Some(j),
                Some(r) => {
                    for (group, key) in [
                        ("ys", "loss"),
                        ("grads", "W"),
                        ("grads", "x"),
                        ("grads", "b"),
                    ] {
                        let want = tensor(&r[group][key]);
                        let got = tensor(&j[group][key]);
                        assert_tensor(
                            &got,
                            &want.shape,
                            &want.data,
                            tol,
                            tol * 1e-2,
                            &format!("{group}.{key} on {e} ({dtype})"),
                        );
                    }
                }
            }
        }
    }
    // jit is the default engine: identical output
    let mut args = vec!["--wrt", "W,x,b"];
    args.extend_from_slice(&feeds);
    args.push(program);
    let default = grad_json(&args);
    let mut with_jit = vec!["--engine", "jit"];
    with_jit.extend_from_slice(&args);
    assert_eq!(grad_json(&with_jit), default);
}

#[test]
fn ys_names_bound_names_and_inputs() {
    // later statements see the latest binding, and so does --ys
    let j = json(&[
        "eval",
        "--json",
        "--feed",
        "x=4",
        "--ys",
        "a,b,x",
        "a = 1; b = a*2; a = 5; a + b + x",
    ]);
    assert_eq!(j, json!({"outputs": {"a": 5, "b": 2, "x": 4}}));
    // the attached form
    let j = json(&["eval", "--json", "--ys=b", "a = 1; b = a*2; a + b"]);
    assert_eq!(j, json!({"outputs": {"b": 2}}));
    // Ambiguity decided: the unnamed output is reported as `y`, so `--ys y`
    // (and `--wrt y`, `--stop y`) names it when the program has no other `y`
    // (a bound or input `y` keeps its name: see cli_json.rs)
    let j = json(&["eval", "--json", "--feed", "x=4", "--ys", "y,x", "x + 1"]);
    assert_eq!(j, json!({"outputs": {"y": 5, "x": 4}}));
    let j = grad_json(&["--ys", "y", "--wrt", "x", "--feed", "x=4", "x * x"]);
    assert_eq!(j, json!({"ys": {"y": 16}, "grads": {"x": 8}}));
    // d(3y)/dy = 3 where y is the unnamed output x*x; its own gradient is 1
    let j = grad_json(&["--ys", "y", "--wrt", "y,x", "--feed", "x=4", "x * x"]);
    assert_eq!(j, json!({"ys": {"y": 16}, "grads": {"y": 1, "x": 8}}));
}

#[test]
fn grad_ys_one_upstream_gradient_per_y() {
    // x = 3, a = x*x = 9 (scalar), b = x*[1, 2] = [3, 6];
    // grad_ys a: 2, b: [10, 100]: 2 * 2x + 10*1 + 100*2 = 12 + 210 = 222
    let program = "a = x*x; b = x*[1, 2]";
    let j = grad_json(&[
        "--wrt",
        "x",
        "--ys",
        "a,b",
        "--grad-ys",
        "2;[10, 100]",
        "--feed",
        "x=3",
        program,
    ]);
    assert_eq!(j, json!({"ys": {"a": 9, "b": [3, 6]}, "grads": {"x": 222}}));
    // default ones: 2x + 1 + 2 = 9
    let j = grad_json(&["--wrt", "x", "--ys", "a,b", "--feed", "x=3", program]);
    assert_eq!(j["grads"]["x"], json!(9));
    // the attached form with a negative value: d(2x)/dx * -1 = -2
    let j = grad_json(&["--wrt", "x", "--grad-ys=-1", "--feed", "x=3", "2*x"]);
    assert_eq!(j["grads"]["x"], json!(-2));
    // a non-scalar upstream gradient through a matrix product:
    // y = W @ v, dy = g: dW = g v^T; W 1x2, v 2x1 = [[1], [2]], g = [[3]] -> [[3, 6]]
    let j = grad_json(&[
        "--wrt",
        "W",
        "--grad-ys",
        "[[3]]",
        "--feed",
        "W=[[5, 7]]",
        "--feed",
        "v=[[1], [2]]",
        "W @ v",
    ]);
    assert_eq!(j["grads"]["W"], json!([[3, 6]]));
}

#[test]
fn grad_ys_of_the_wrong_shape_or_count_is_an_error() {
    // y is a scalar: [1, 2] has the wrong shape
    let line = fail(&[
        "grad",
        "--wrt",
        "x",
        "--grad-ys",
        "[1, 2]",
        "--feed",
        "x=3",
        "2*x",
    ]);
    assert_mentions(&line, &["--grad-ys"]);
    // y has shape [2]: a scalar is not exactly y's shape (no broadcasting)
    let line = fail(&[
        "grad",
        "--wrt",
        "x",
        "--grad-ys",
        "1",
        "--feed",
        "x=[1, 2]",
        "2*x",
    ]);
    assert_mentions(&line, &["--grad-ys"]);
    // two values for one y
    let line = fail(&[
        "grad",
        "--wrt",
        "x",
        "--grad-ys",
        "1;2",
        "--feed",
        "x=3",
        "2*x",
    ]);
    assert_mentions(&line, &["--grad-ys"]);
    // one value for two ys
    let line = fail(&[
        "grad",
        "--wrt",
        "x",
        "--ys",
        "a,b",
        "--grad-ys",
        "1",
        "--feed",
        "x=3",
        "a = x; b = 2*x",
    ]);
    assert_mentions(&line, &["--grad-ys"]);
}

#[test]
fn stop_follows_tensorflow_stop_gradients() {
    // h = x*x, y = h*x at x = 3: with h stopped only the direct path counts,
    // dy/dx = h = 9 (instead of 3x^2 = 27)
    let program = "h = x*x\ny = h*x";
    let j = grad_json(&["--wrt", "x", "--feed", "x=3", program]);
    assert_eq!(j["grads"]["x"], json!(27));
    let j = grad_json(&["--wrt", "x", "--stop", "h", "--feed", "x=3", program]);
    assert_eq!(j["grads"]["x"], json!(9));
    // a stopped x still gets its own gradient: dy/dh = x = 3
    let j = grad_json(&["--wrt", "h,x", "--stop", "h", "--feed", "x=3", program]);
    assert_eq!(j["grads"], json!({"h": 3, "x": 9}));
    // stopping an input that is also an x: its own gradient, 27
    let j = grad_json(&["--wrt", "x", "--stop", "x", "--feed", "x=3", program]);
    assert_eq!(j["grads"]["x"], json!(27));
    // partial derivatives, TensorFlow's example: a, b = 2a, y = a + b:
    // total derivatives [3, 1]; with both stopped the partials [1, 1]
    let program = "a = sin(x); b = 2*a; y = a + b";
    let j = grad_json(&["--wrt", "a,b", "--feed", "x=0.5", program]);
    assert_eq!(j["grads"], json!({"a": 3, "b": 1}));
    let j = grad_json(&["--wrt", "a,b", "--stop", "a,b", "--feed", "x=0.5", program]);
    assert_eq!(j["grads"], json!({"a": 1, "b": 1}));
    // everything from x passes through a stopped h: None
    let j = grad_json(&[
        "--wrt",
        "x",
        "--stop",
        "h",
        "--feed",
        "x=3",
        "h = x*x; y = 2*h",
    ]);
    assert_eq!(j["grads"]["x"], Json::Null);
}

#[test]
fn unconnected_none_or_zero() {
    // z reaches y only through floor; w not at all (it only feeds an unused binding)
    let program = "u = w*2\ny = x*2 + floor(z)";
    let feeds = [
        "--feed",
        "x=1",
        "--feed",
        "z=[[1, 2, 3], [4, 5, 6]]",
        "--feed",
        "w=[1, 2]",
    ];
    let mut args = vec!["--wrt", "x,z,w", "--ys", "y"];
    args.extend_from_slice(&feeds);
    args.push(program);
    // default none: JSON null
    let j = grad_json(&args);
    assert_eq!(j["grads"]["z"], Json::Null, "{j}");
    assert_eq!(j["grads"]["w"], Json::Null, "{j}");
    // the connected x is unaffected: d sum(2x + floor(z)) / dx = 2 * 6 elements
    assert_eq!(j["grads"]["x"], json!(12));
    let mut none = vec!["--unconnected", "none"];
    none.extend_from_slice(&args);
    assert_eq!(grad_json(&none), j);
    // zero: zeros of x's shape
    let mut zero = vec!["--unconnected", "zero"];
    zero.extend_from_slice(&args);
    let j = grad_json(&zero);
    assert_eq!(j["grads"]["z"], json!([[0, 0, 0], [0, 0, 0]]));
    assert_eq!(j["grads"]["w"], json!([0, 0]));
    assert_eq!(j["grads"]["x"], json!(12));
    // zero also for an x cut off by --stop
    let j = grad_json(&[
        "--unconnected=zero",
        "--wrt",
        "x",
        "--stop",
        "h",
        "--feed",
        "x=[1, 2]",
        "h = x*x; y = 2*h",
    ]);
    assert_eq!(j["grads"]["x"], json!([0, 0]));
}

#[test]
fn wrt_inputs_and_bound_names() {
    // h = x*x, y = 3h at x = 2: dy/dh = 3, dy/dx = 6x = 12
    let j = grad_json(&["--wrt", "h", "--feed", "x=2", "h = x*x; y = 3*h"]);
    assert_eq!(j["grads"], json!({"h": 3}));
    let j = grad_json(&["--wrt", "h,x", "--feed", "x=2", "h = x*x; y = 3*h"]);
    assert_eq!(j["grads"], json!({"h": 3, "x": 12}));
    // the attached form, and an order of the xs that is not the program's
    let j = grad_json(&["--wrt=x,h", "--feed", "x=2", "h = x*x; y = 3*h"]);
    assert_eq!(j["grads"], json!({"x": 12, "h": 3}));
    let keys: Vec<&String> = j["grads"].as_object().unwrap().keys().collect();
    // (a JSON object has no order, but the command keeps --wrt's; serde_json
    // sorts keys unless preserve_order is on, so only the set is checked)
    assert_eq!(keys.len(), 2);
}

#[test]
fn several_ys_are_summed_even_when_one_depends_on_another() {
    // h = x*x, y = 3h: d(h + y)/dx = 2x + 6x = 8x = 24 at 3
    let j = grad_json(&[
        "--wrt",
        "x",
        "--ys",
        "h,y",
        "--feed",
        "x=3",
        "h = x*x; y = 3*h",
    ]);
    assert_eq!(j, json!({"ys": {"h": 9, "y": 27}, "grads": {"x": 24}}));
    // a y that is an input: d x / dx = 1
    let j = grad_json(&["--wrt", "x", "--ys", "x", "--feed", "x=3", "h = x*x"]);
    assert_eq!(j, json!({"ys": {"x": 3}, "grads": {"x": 1}}));
}

#[test]
fn double_dash_ends_the_options() {
    // a program that begins with `-`
    let t = eval1(&["--feed", "x=3", "--", "-x*2"]);
    assert_eq!(t.data, vec![-6.0]);
    let j = grad_json(&["--wrt", "x", "--feed", "x=3", "--", "-x*x"]);
    assert_eq!(j["grads"]["x"], json!(-6));
    // after `--` even an option-like word is the program: `--x` is -(-x)
    let t = eval1(&["--feed", "x=3", "--", "--x"]);
    assert_eq!(t.data, vec![3.0]);
}

#[test]
fn option_values_attached_with_equals() {
    let j = json(&[
        "eval",
        "--json",
        "--feed=x=2",
        "--dtype=f64",
        "--engine=interp",
        "x / 3",
    ]);
    assert_eq!(number(&j["outputs"]["y"]), 2.0f64 / 3.0);
    let j = json(&[
        "grad",
        "--json",
        "--wrt=x",
        "--feed=x=2",
        "--unconnected=none",
        "--engine=jit-mt",
        "x*x",
    ]);
    assert_eq!(j["grads"]["x"], json!(4));
}

#[test]
fn program_from_a_file() {
    let dir = temp_dir("program_file");
    let path = dir.join("prog.gj");
    std::fs::write(
        &path,
        "# the seed program, from a file\nh = x*x\n\ny = h + 3*x   # 10 at x = 2\n",
    )
    .unwrap();
    let at = format!("@{}", path.display());
    let j = json(&["eval", "--json", "--feed", "x=2", &at]);
    assert_eq!(j, json!({"outputs": {"y": 10}}));
    let j = grad_json(&["--wrt", "x", "--feed", "x=2", &at]);
    assert_eq!(j, json!({"ys": {"y": 10}, "grads": {"x": 7}}));
    let out = ok(&["show", "--json", "--feed", "x=2", &at]);
    assert!(out.contains("\"forward\""), "{out}");
}
