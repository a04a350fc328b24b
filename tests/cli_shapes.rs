//! The shape rows of the function table through `gradjit eval` and
//! `gradjit grad`, on every engine: `reshape` (with -1), `transpose` (default
//! and with a permutation), `broadcast_to`, and `matmul` / `@` in 2-D and
//! batched with broadcast batch axes. Expected values are computed here by
//! index arithmetic, or by hand in the comments.

mod cli_support;

use cli_support::*;
use serde_json::Value as Json;

/// `grad --json` of `args` (options and program) on one engine.
fn grad_json(engine: &str, args: &[&str]) -> Json {
    let mut full = vec!["grad", "--json", "--engine", engine];
    full.extend_from_slice(args);
    json(&full)
}

/// Row-major strides of a shape.
fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// Transposes row-major data of `shape` by `perm` (output axis i is input axis perm[i]).
fn transpose(data: &[f64], shape: &[usize], perm: &[usize]) -> (Vec<usize>, Vec<f64>) {
    let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let in_strides = strides(shape);
    let n = data.len();
    let mut out = Vec::with_capacity(n);
    let out_strides = strides(&out_shape);
    for flat in 0..n {
        let mut src = 0;
        for (i, &p) in perm.iter().enumerate() {
            let idx = (flat / out_strides[i]) % out_shape[i];
            src += idx * in_strides[p];
        }
        out.push(data[src]);
    }
    (out_shape, out)
}

/// A JSON nested list of row-major data.
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

#[test]
fn reshape_with_and_without_minus_one() {
    let x = "x=[[1, 2, 3], [4, 5, 6]]";
    let data = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    for (program, shape) in [
        ("reshape(x, [3, 2])", vec![3, 2]),
        ("reshape(x, [3, -1])", vec![3, 2]),
        ("reshape(x, [-1])", vec![6]),
        ("reshape(x, [1, -1, 2])", vec![1, 3, 2]),
        ("reshape(x, [6, 1])", vec![6, 1]),
    ] {
        eval_all_engines(&["--feed", x, program], &shape, &data, 0.0, 0.0);
    }
    // a one-element tensor to a scalar
    eval_all_engines(
        &["--feed", "x=[[7]]", "reshape(x, [])"],
        &[],
        &[7.0],
        0.0,
        0.0,
    );
}

#[test]
fn transpose_reverses_axes_or_follows_a_permutation() {
    let x2 = "x=[[1, 2, 3], [4, 5, 6]]";
    eval_all_engines(
        &["--feed", x2, "transpose(x)"],
        &[3, 2],
        &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0],
        0.0,
        0.0,
    );
    // a 2x3x4 tensor of 0..24
    let shape = [2, 3, 4];
    let data: Vec<f64> = (0..24).map(f64::from).collect();
    let feed = format!("x={}", nested(&data, &shape));
    for (program, perm) in [
        ("transpose(x)", vec![2, 1, 0]),
        ("transpose(x, [1, 0, 2])", vec![1, 0, 2]),
        ("transpose(x, [2, 0, 1])", vec![2, 0, 1]),
        ("transpose(x, [0, 1, 2])", vec![0, 1, 2]),
    ] {
        let (s, want) = transpose(&data, &shape, &perm);
        eval_all_engines(&["--feed", &feed, program], &s, &want, 0.0, 0.0);
    }
}

#[test]
fn broadcast_to_follows_numpy() {
    eval_all_engines(
        &["--feed", "x=[1, 2, 3]", "broadcast_to(x, [2, 3])"],
        &[2, 3],
        &[1.0, 2.0, 3.0, 1.0, 2.0, 3.0],
        0.0,
        0.0,
    );
    eval_all_engines(
        &["--feed", "x=[[1], [2]]", "broadcast_to(x, [2, 3])"],
        &[2, 3],
        &[1.0, 1.0, 1.0, 2.0, 2.0, 2.0],
        0.0,
        0.0,
    );
    eval_all_engines(
        &["--feed", "x=5", "broadcast_to(x, [2])"],
        &[2],
        &[5.0, 5.0],
        0.0,
        0.0,
    );
    // its gradient sums back: d sum(broadcast_to(x, [2, 3])) / dx = 2 per element
    let j = grad_json(
        "jit",
        &[
            "--wrt",
            "x",
            "--feed",
            "x=[1, 2, 3]",
            "broadcast_to(x, [2, 3])",
        ],
    );
    assert_tensor(
        &tensor(&j["grads"]["x"]),
        &[3],
        &[2.0, 2.0, 2.0],
        0.0,
        0.0,
        "d broadcast_to",
    );
}

#[test]
fn matmul_two_dimensional() {
    // [[1, 2], [3, 4]] @ [[5, 6], [7, 8]] = [[19, 22], [43, 50]]
    let args = [
        "--feed",
        "a=[[1, 2], [3, 4]]",
        "--feed",
        "b=[[5, 6], [7, 8]]",
    ];
    for program in ["a @ b", "matmul(a, b)"] {
        let mut full = args.to_vec();
        full.push(program);
        eval_all_engines(&full, &[2, 2], &[19.0, 22.0, 43.0, 50.0], 0.0, 0.0);
    }
    // 2x3 @ 3x1
    eval_all_engines(
        &[
            "--feed",
            "a=[[1, 2, 3], [4, 5, 6]]",
            "--feed",
            "b=[[1], [0], [-1]]",
            "a @ b",
        ],
        &[2, 1],
        &[-2.0, -2.0],
        0.0,
        0.0,
    );
    // d sum(a @ b) / da = ones @ b^T: row sums of b, [[11, 15], [11, 15]];
    // d / db = a^T @ ones: column sums of a as rows, [[4, 4], [6, 6]]
    for e in ENGINES {
        let mut full = vec!["--wrt", "a,b"];
        full.extend_from_slice(&args);
        full.push("a @ b");
        let j = grad_json(e, &full);
        assert_tensor(
            &tensor(&j["grads"]["a"]),
            &[2, 2],
            &[11.0, 15.0, 11.0, 15.0],
            0.0,
            0.0,
            "da",
        );
        assert_tensor(
            &tensor(&j["grads"]["b"]),
            &[2, 2],
            &[4.0, 4.0, 6.0, 6.0],
            0.0,
            0.0,
            "db",
        );
    }
}

#[test]
fn matmul_batched_with_broadcast_batch_axes() {
    // a: [2, 1, 2, 3], b: [3, 3, 2]: batch axes [2, 1] and [3] broadcast to
    // [2, 3]; the result is [2, 3, 2, 2]
    let a_shape = [2, 1, 2, 3];
    let b_shape = [3, 3, 2];
    let a: Vec<f64> = (0..12).map(|i| f64::from(i) - 5.0).collect();
    let b: Vec<f64> = (0..18).map(|i| f64::from(i % 7) * 0.5 - 1.0).collect();
    let mut want = Vec::new();
    for i in 0..2 {
        for j in 0..3 {
            for r in 0..2 {
                for c in 0..2 {
                    let mut s = 0.0;
                    for k in 0..3 {
                        s += a[i * 6 + r * 3 + k] * b[j * 6 + k * 2 + c];
                    }
                    want.push(s);
                }
            }
        }
    }
    let fa = format!("a={}", nested(&a, &a_shape));
    let fb = format!("b={}", nested(&b, &b_shape));
    for program in ["a @ b", "matmul(a, b)"] {
        eval_all_engines(
            &["--feed", &fa, "--feed", &fb, program],
            &[2, 3, 2, 2],
            &want,
            0.0,
            1e-12,
        );
    }
    // the gradient of the broadcast operand sums over the broadcast batch axis
    // d sum(a @ b) / da[i, 0, r, k] = sum over j, c of b[j, k, c]
    let mut da = Vec::new();
    for _i in 0..2 {
        for _r in 0..2 {
            for k in 0..3 {
                let s: f64 = (0..3)
                    .flat_map(|j| (0..2).map(move |c| (j, c)))
                    .map(|(j, c)| b[j * 6 + k * 2 + c])
                    .sum();
                da.push(s);
            }
        }
    }
    for e in ENGINES {
        let j = grad_json(e, &["--wrt", "a", "--feed", &fa, "--feed", &fb, "a @ b"]);
        assert_tensor(
            &tensor(&j["grads"]["a"]),
            &a_shape,
            &da,
            0.0,
            1e-12,
            "da batched",
        );
    }
}

#[test]
fn gradients_of_reshape_and_transpose_move_back() {
    // w = [[1, 2], [3, 4], [5, 6]]; d sum(reshape(x, [3, 2]) * w) / dx is w
    // laid out as x: [[1, 2, 3], [4, 5, 6]]; through transpose it is w^T:
    // [[1, 3, 5], [2, 4, 6]]
    let x = "x=[[0, 0, 0], [0, 0, 0]]";
    for e in ENGINES {
        let j = grad_json(
            e,
            &[
                "--wrt",
                "x",
                "--feed",
                x,
                "sum(reshape(x, [3, -1]) * [[1, 2], [3, 4], [5, 6]])",
            ],
        );
        let want = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        assert_tensor(
            &tensor(&j["grads"]["x"]),
            &[2, 3],
            &want,
            0.0,
            0.0,
            "d reshape",
        );
        let j = grad_json(
            e,
            &[
                "--wrt",
                "x",
                "--feed",
                x,
                "sum(transpose(x) * [[1, 2], [3, 4], [5, 6]])",
            ],
        );
        let want = [1.0, 3.0, 5.0, 2.0, 4.0, 6.0];
        assert_tensor(
            &tensor(&j["grads"]["x"]),
            &[2, 3],
            &want,
            0.0,
            0.0,
            "d transpose",
        );
    }
}

#[test]
fn reverse_tile_squeeze_and_expand_dims() {
    let x = "x=[[1, 2, 3], [4, 5, 6]]";
    // (program, shape, values), by index arithmetic
    let cases: [(&str, &[usize], &[f64]); 7] = [
        ("reverse(x, [1])", &[2, 3], &[3.0, 2.0, 1.0, 6.0, 5.0, 4.0]),
        (
            "reverse(x, [0, -1])",
            &[2, 3],
            &[6.0, 5.0, 4.0, 3.0, 2.0, 1.0],
        ),
        (
            "tile(x, [2, 1])",
            &[4, 3],
            &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        ),
        (
            "tile(x, [1, 2])",
            &[2, 6],
            &[1.0, 2.0, 3.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 4.0, 5.0, 6.0],
        ),
        ("tile(x, [1, 1])", &[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
        (
            "squeeze(expand_dims(x, 0))",
            &[2, 3],
            &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        ),
        (
            "expand_dims(x, -1)",
            &[2, 3, 1],
            &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        ),
    ];
    for (program, shape, want) in cases {
        eval_all_engines(&["--feed", x, program], shape, want, 0.0, 0.0);
    }
    // squeeze of named axes, and of every size-1 axis
    let y = "y=[[[7], [8]]]";
    eval_all_engines(&["--feed", y, "squeeze(y)"], &[2], &[7.0, 8.0], 0.0, 0.0);
    eval_all_engines(
        &["--feed", y, "squeeze(y, [0])"],
        &[2, 1],
        &[7.0, 8.0],
        0.0,
        0.0,
    );
    eval_all_engines(
        &["--feed", y, "squeeze(y, -1)"],
        &[1, 2],
        &[7.0, 8.0],
        0.0,
        0.0,
    );
    // gradients: reverse's is the reversed upstream, tile's sums the copies
    // (w weights each element so no two copies weigh the same)
    let w = "w=[[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12], [13, 14, 15, 16, 17, 18], [19, 20, 21, 22, 23, 24]]";
    let program = "sum(tile(x, [2, 2]) * w) + sum(reverse(x, [1]) * x)";
    // d/dx[i][j] of the tile term: w[i][j] + w[i][j+3] + w[i+2][j] + w[i+2][j+3];
    // of sum(reverse(x) * x): 2 * x[i][2-j]
    let xv = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
    let wv = |r: usize, c: usize| (r * 6 + c + 1) as f64;
    let want: Vec<f64> = (0..6)
        .map(|k| {
            let (i, j) = (k / 3, k % 3);
            wv(i, j) + wv(i, j + 3) + wv(i + 2, j) + wv(i + 2, j + 3) + 2.0 * xv[i][2 - j]
        })
        .collect();
    for e in ENGINES {
        let j = grad_json(
            e,
            &[
                "--dtype", "f64", "--wrt", "x", "--feed", x, "--feed", w, program,
            ],
        );
        assert_tensor(&tensor(&j["grads"]["x"]), &[2, 3], &want, 0.0, 0.0, e);
    }
    // errors name the function
    for (program, what) in [
        ("squeeze(x, 1)", "squeeze"),
        ("tile(x, [2])", "tile"),
        ("reverse(x, [2])", "reverse"),
    ] {
        let line = fail(&["eval", "--feed", x, program]);
        assert_mentions(&line, &[what]);
    }
}

#[test]
fn cumsum_in_every_mode_and_its_gradient() {
    let x = "x=[[1, 2, 3], [4, 5, 6]]";
    // (program, values), running sums by hand
    let cases: [(&str, [f64; 6]); 5] = [
        ("cumsum(x, 1)", [1.0, 3.0, 6.0, 4.0, 9.0, 15.0]),
        ("cumsum(x, -1, 1)", [0.0, 1.0, 3.0, 0.0, 4.0, 9.0]),
        ("cumsum(x, 1, 0, 1)", [6.0, 5.0, 3.0, 15.0, 11.0, 6.0]),
        ("cumsum(x, 1, 1, 1)", [5.0, 3.0, 0.0, 11.0, 6.0, 0.0]),
        ("cumsum(x, 0)", [1.0, 2.0, 3.0, 5.0, 7.0, 9.0]),
    ];
    for (program, want) in cases {
        eval_all_engines(&["--feed", x, program], &[2, 3], &want, 0.0, 0.0);
    }
    // d/dx[j] of sum(cumsum(x) * w) along a row is the sum of w[k] for k >= j
    let w = "w=[[1, 10, 100], [1000, 10000, 100000]]";
    let want = [111.0, 110.0, 100.0, 111000.0, 110000.0, 100000.0];
    for e in ENGINES {
        let j = grad_json(
            e,
            &[
                "--dtype",
                "f64",
                "--wrt",
                "x",
                "--feed",
                x,
                "--feed",
                w,
                "sum(cumsum(x, 1) * w)",
            ],
        );
        assert_tensor(&tensor(&j["grads"]["x"]), &[2, 3], &want, 0.0, 0.0, e);
    }
    let line = fail(&["eval", "--feed", x, "cumsum(x, 1, 2)"]);
    assert_mentions(&line, &["cumsum", "2"]);
}

#[test]
fn argmax_and_argmin_give_the_first_extreme_and_no_gradient() {
    let x = "x=[[1, 3, 3], [4, 0, 6]]";
    let cases: [(&str, &[usize], &[f64]); 4] = [
        ("argmax(x, 1)", &[2], &[1.0, 2.0]),
        ("argmin(x, -1)", &[2], &[0.0, 1.0]),
        ("argmax(x, 0)", &[3], &[1.0, 0.0, 1.0]),
        ("argmin(x, 0)", &[3], &[0.0, 1.0, 0.0]),
    ];
    for (program, shape, want) in cases {
        eval_all_engines(&["--feed", x, program], shape, want, 0.0, 0.0);
    }
    let j = grad_json("jit", &["--wrt", "x", "--feed", x, "argmax(x, 1)"]);
    assert_eq!(j["grads"]["x"], Json::Null, "{j}");
    // an empty axis has no extreme: an error at run time on every engine
    for e in ENGINES {
        let line = fail(&[
            "eval",
            "--engine",
            e,
            "--feed",
            "y=[[], []]",
            "argmax(y, 1)",
        ]);
        assert_mentions(&line, &["argmax", "empty"]);
    }
}
