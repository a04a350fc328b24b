//! The window functions of version 2 through `gradjit eval`, `grad` and
//! `show`, on every engine and in both dtypes: `conv2d` (strides that skip
//! and leave a tail, `"VALID"` and `"SAME"` with its odd element of padding
//! after, several channels in and out, batches, odd sizes, windows larger
//! than the input), `max_pool2d` (overlapping windows, `"SAME"` borders,
//! ties going to the first maximum in row-major order, overlapping windows
//! adding up) and `avg_pool2d` (`"SAME"` dividing by the elements inside
//! the input), values and gradients; the errors the spec names; native code
//! only (`show` lists no no native routine) for the functions, their
//! gradients and the benchmarks B5 and B6; B6 at a small batch on every
//! engine, agreeing with the interpreter.
//!
//! Expected values come from small references written here from the
//! definitions (TensorFlow's `tf.nn.conv2d`, `tf.nn.max_pool2d`,
//! `tf.nn.avg_pool2d`, their `"SAME"` rule and registered gradients), never
//! from gradjit's output.

mod cli_support;

use cli_support::*;
use serde_json::Value as Json;

const DTYPES: [&str; 2] = ["f32", "f64"];

/// A value as the program holds it in `dtype`.
fn held(dtype: &str, v: f64) -> f64 {
    if dtype == "f32" {
        f32r(v)
    } else {
        v
    }
}

/// `grad --json` on one engine and dtype, read exactly.
fn grad_on(engine: &str, dtype: &str, args: &[&str]) -> Json {
    let mut full = vec!["grad", "--json", "--engine", engine, "--dtype", dtype];
    full.extend_from_slice(args);
    exact_json(&ok(&full))
}

/// `eval --json` on one engine and dtype, read exactly: the one output.
fn eval_on(engine: &str, dtype: &str, args: &[&str]) -> Tensor {
    let mut full = vec!["eval", "--json", "--engine", engine, "--dtype", dtype];
    full.extend_from_slice(args);
    let j = exact_json(&ok(&full));
    let outs = j["outputs"].as_object().expect("an `outputs` object");
    assert_eq!(outs.len(), 1, "one output expected in {j}");
    tensor(outs.values().next().unwrap())
}

/// Parses JSON with every number read by Rust's correctly rounded
/// `str::parse::<f64>` (serde_json's default reader may be one unit in the
/// last place off for 17-digit numbers, which would blur exact checks).
fn exact_json(text: &str) -> Json {
    fn ws(s: &[u8], i: &mut usize) {
        while *i < s.len() && s[*i].is_ascii_whitespace() {
            *i += 1;
        }
    }
    fn string(s: &[u8], i: &mut usize) -> String {
        assert_eq!(s[*i], b'"');
        *i += 1;
        let mut out = Vec::new();
        while s[*i] != b'"' {
            if s[*i] == b'\\' {
                *i += 1;
            }
            out.push(s[*i]);
            *i += 1;
        }
        *i += 1;
        String::from_utf8(out).expect("UTF-8")
    }
    fn value(s: &[u8], i: &mut usize) -> Json {
        ws(s, i);
        match s[*i] {
            b'{' => {
                *i += 1;
                let mut map = serde_json::Map::new();
                loop {
                    ws(s, i);
                    if s[*i] == b'}' {
                        *i += 1;
                        break;
                    }
                    let k = string(s, i);
                    ws(s, i);
                    assert_eq!(s[*i], b':');
                    *i += 1;
                    let v = value(s, i);
                    map.insert(k, v);
                    ws(s, i);
                    if s[*i] == b',' {
                        *i += 1;
                    }
                }
                Json::Object(map)
            }
            b'[' => {
                *i += 1;
                let mut items = Vec::new();
                loop {
                    ws(s, i);
                    if s[*i] == b']' {
                        *i += 1;
                        break;
                    }
                    items.push(value(s, i));
                    ws(s, i);
                    if s[*i] == b',' {
                        *i += 1;
                    }
                }
                Json::Array(items)
            }
            b'"' => Json::String(string(s, i)),
            b'n' if s[*i..].starts_with(b"null") => {
                *i += 4;
                Json::Null
            }
            _ => {
                let start = *i;
                while *i < s.len()
                    && matches!(s[*i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                {
                    *i += 1;
                }
                let t = std::str::from_utf8(&s[start..*i]).unwrap();
                let v: f64 = t
                    .parse()
                    .unwrap_or_else(|_| panic!("`{t}` is not a number"));
                Json::Number(serde_json::Number::from_f64(v).expect("finite"))
            }
        }
    }
    let s = text.as_bytes();
    let mut i = 0;
    let v = value(s, &mut i);
    ws(s, &mut i);
    assert_eq!(i, s.len(), "one JSON value expected:\n{text}");
    v
}

/// Writes an `.npy` file of little-endian f64 (format 1.0) of `shape`:
/// feeds read exactly, whatever the JSON reader does.
fn write_npy(path: &std::path::Path, values: &[f64], shape: &[usize]) {
    let dims: Vec<String> = shape.iter().map(|d| format!("{d},")).collect();
    let mut header = format!(
        "{{'descr': '<f8', 'fortran_order': False, 'shape': ({}), }}",
        dims.join(" ")
    );
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

/// A feed `name=@file.npy` of `values` of `shape`, in this test's directory.
fn npy_feed(name: &str, values: &[f64], shape: &[usize]) -> String {
    static DIR: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    let dir = DIR.get_or_init(|| temp_dir("cli_windows"));
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let k = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = dir.join(format!("{name}{k}.npy"));
    write_npy(&path, values, shape);
    format!("{name}=@{}", path.display())
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

/// Test data that is not exact in f32, bounded, of both signs, few ties:
/// `(k * a mod 23 - 11) / 7`.
fn data(n: usize, a: usize) -> Vec<f64> {
    (0..n)
        .map(|k| ((k * a + 5) % 23) as f64 / 7.0 - 11.0 / 7.0)
        .collect()
}

/// Small integers with many ties (exact in both dtypes).
fn tied(n: usize) -> Vec<f64> {
    (0..n).map(|k| ((k * 7 + k / 5) % 4) as f64 - 1.0).collect()
}

/// Upstream gradients that add up exactly in f32: small integers and halves.
fn upstream(n: usize) -> Vec<f64> {
    (0..n).map(|k| (k % 7) as f64 - 2.5).collect()
}

// ---------------------------------------------------------------------------
// A reference of the windows, from TensorFlow's definitions

/// Where the windows of one operation lie (NHWC), as TensorFlow places them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Geo {
    n: usize,
    h: usize,
    w: usize,
    c: usize,
    oh: usize,
    ow: usize,
    kh: usize,
    kw: usize,
    sh: usize,
    sw: usize,
    top: usize,
    left: usize,
}

/// One axis: `"VALID"` gives `(n - k) / s + 1` windows, none if the window
/// does not fit; `"SAME"` gives `ceil(n / s)`, padded by
/// `max((out - 1) * s + k - n, 0)`, half before (rounded down).
fn axis(n: usize, k: usize, s: usize, same: bool) -> Option<(usize, usize)> {
    assert!(k > 0 && s > 0);
    if same {
        let out = n.div_ceil(s);
        let total = ((out as i64 - 1) * s as i64 + k as i64 - n as i64).max(0) as usize;
        Some((out, total / 2))
    } else if n < k {
        None
    } else {
        Some(((n - k) / s + 1, 0))
    }
}

fn geo(x: [usize; 4], k: [usize; 2], s: [usize; 2], same: bool) -> Geo {
    let (oh, top) = axis(x[1], k[0], s[0], same).expect("the window fits");
    let (ow, left) = axis(x[2], k[1], s[1], same).expect("the window fits");
    Geo {
        n: x[0],
        h: x[1],
        w: x[2],
        c: x[3],
        oh,
        ow,
        kh: k[0],
        kw: k[1],
        sh: s[0],
        sw: s[1],
        top,
        left,
    }
}

/// The window at output `(b, i, j)`: its taps inside the input, in
/// row-major order of the window, as `(window row, window column, flat
/// offset of the input pixel's channel 0)`.
fn taps(g: &Geo, b: usize, i: usize, j: usize) -> Vec<(usize, usize, usize)> {
    let mut out = Vec::new();
    for di in 0..g.kh {
        let r = (i * g.sh + di) as i64 - g.top as i64;
        if r < 0 || r >= g.h as i64 {
            continue;
        }
        for dj in 0..g.kw {
            let col = (j * g.sw + dj) as i64 - g.left as i64;
            if col < 0 || col >= g.w as i64 {
                continue;
            }
            out.push((di, dj, ((b * g.h + r as usize) * g.w + col as usize) * g.c));
        }
    }
    out
}

/// Every output position `(b, i, j)` with its flat index into `[n, oh, ow]`.
fn positions(g: &Geo) -> Vec<(usize, usize, usize, usize)> {
    let mut out = Vec::new();
    for b in 0..g.n {
        for i in 0..g.oh {
            for j in 0..g.ow {
                out.push((b, i, j, (b * g.oh + i) * g.ow + j));
            }
        }
    }
    out
}

/// Values with the sum of the magnitudes of their terms (for tolerances).
struct Sums {
    value: Vec<f64>,
    mag: Vec<f64>,
}

impl Sums {
    fn zeros(n: usize) -> Self {
        Sums {
            value: vec![0.0; n],
            mag: vec![0.0; n],
        }
    }
    fn add(&mut self, k: usize, v: f64) {
        self.value[k] += v;
        self.mag[k] += v.abs();
    }
}

/// `conv2d(x, f)`: `y[b, i, j, o] = sum over the window's taps and the
/// channels of x[b, r, col, c] * f[di, dj, c, o]`; and its gradients for
/// the upstream `gy`: `dx[b, r, col, c] += gy[b, i, j, o] * f[di, dj, c, o]`,
/// `df[di, dj, c, o] += x[b, r, col, c] * gy[b, i, j, o]`.
fn conv_ref(g: &Geo, x: &[f64], f: &[f64], out: usize, gy: &[f64]) -> (Sums, Sums, Sums) {
    let mut y = Sums::zeros(g.n * g.oh * g.ow * out);
    let mut dx = Sums::zeros(x.len());
    let mut df = Sums::zeros(f.len());
    for (b, i, j, p) in positions(g) {
        for (di, dj, at) in taps(g, b, i, j) {
            for c in 0..g.c {
                for o in 0..out {
                    let fk = ((di * g.kw + dj) * g.c + c) * out + o;
                    let yk = p * out + o;
                    y.add(yk, x[at + c] * f[fk]);
                    dx.add(at + c, gy[yk] * f[fk]);
                    df.add(fk, x[at + c] * gy[yk]);
                }
            }
        }
    }
    (y, dx, df)
}

/// `max_pool2d(x)`: each window's largest element among those inside the
/// input (the padding never wins), and for each output element the flat
/// position of its window's FIRST maximum in row-major order.
fn max_pool_ref(g: &Geo, x: &[f64]) -> (Vec<f64>, Vec<usize>) {
    let mut y = Vec::new();
    let mut at = Vec::new();
    for (b, i, j, _) in positions(g) {
        let t = taps(g, b, i, j);
        for c in 0..g.c {
            let mut best = t[0].2 + c;
            for &(_, _, o) in &t[1..] {
                if x[o + c] > x[best] {
                    best = o + c;
                }
            }
            y.push(x[best]);
            at.push(best);
        }
    }
    (y, at)
}

/// `max_pool2d`'s gradient (`MaxPoolGrad`): each upstream element to its
/// window's first maximum, overlapping windows adding up.
fn max_pool_grad_ref(n: usize, at: &[usize], gy: &[f64]) -> Vec<f64> {
    let mut dx = vec![0.0; n];
    for (&a, &v) in at.iter().zip(gy) {
        dx[a] += v;
    }
    dx
}

/// `avg_pool2d(x)`: each window's mean over the elements inside the input,
/// and its gradient (`AvgPoolGrad`): `gy / count` to each of them.
fn avg_pool_ref(g: &Geo, x: &[f64], gy: &[f64]) -> (Sums, Sums) {
    let mut y = Sums::zeros(g.n * g.oh * g.ow * g.c);
    let mut dx = Sums::zeros(x.len());
    for (b, i, j, p) in positions(g) {
        let t = taps(g, b, i, j);
        let count = t.len() as f64;
        for c in 0..g.c {
            for &(_, _, o) in &t {
                y.add(p * g.c + c, x[o + c] / count);
                dx.add(o + c, gy[p * g.c + c] / count);
            }
        }
    }
    (y, dx)
}

#[test]
fn the_reference_places_windows_as_tensorflow() {
    // tf.nn.conv2d / max_pool2d output sizes and padding
    assert_eq!(axis(5, 3, 1, false), Some((3, 0)));
    assert_eq!(axis(5, 2, 2, false), Some((2, 0)));
    assert_eq!(axis(2, 3, 1, false), None);
    assert_eq!(axis(5, 3, 2, true), Some((3, 1)));
    assert_eq!(axis(5, 2, 2, true), Some((3, 0))); // one after
    assert_eq!(axis(4, 4, 1, true), Some((4, 1))); // 1 before, 2 after
    assert_eq!(axis(7, 4, 3, true), Some((3, 1))); // total 3
    assert_eq!(axis(6, 1, 4, true), Some((2, 0))); // no padding at all
    assert_eq!(axis(2, 4, 1, true), Some((2, 1))); // window larger than input

    // avg_pool2d([[1, 2], [3, 4]], 2, 1, "SAME") = [[2.5, 3], [3.5, 4]]
    let g = geo([1, 2, 2, 1], [2, 2], [1, 1], true);
    let (y, _) = avg_pool_ref(&g, &[1.0, 2.0, 3.0, 4.0], &[0.0; 4]);
    assert_eq!(y.value, [2.5, 3.0, 3.5, 4.0]);
    // max_pool2d([[1, 3, 3], [3, 2, 3], [0, 3, 1]], 2, 1): first maxima at
    // (0, 1), (0, 1), (1, 0), (1, 2)
    let g = geo([1, 3, 3, 1], [2, 2], [1, 1], false);
    let x = [1.0, 3.0, 3.0, 3.0, 2.0, 3.0, 0.0, 3.0, 1.0];
    let (y, at) = max_pool_ref(&g, &x);
    assert_eq!(y, [3.0; 4]);
    assert_eq!(at, [1, 1, 3, 5]);
    // conv2d of a 1x1 filter is a product per pixel
    let g = geo([1, 1, 2, 2], [1, 1], [1, 1], false);
    let (y, dx, df) = conv_ref(&g, &[1.0, 2.0, 3.0, 4.0], &[1.0, 10.0], 1, &[1.0, 1.0]);
    assert_eq!(y.value, [21.0, 43.0]);
    assert_eq!(dx.value, [1.0, 10.0, 1.0, 10.0]);
    assert_eq!(df.value, [4.0, 6.0]);
}

// ---------------------------------------------------------------------------
// conv2d

/// A convolution: input shape, filter shape, strides and padding (`None`
/// for the default, written as the program text gives it).
struct Conv {
    x: [usize; 4],
    f: [usize; 4],
    strides: [usize; 2],
    same: bool,
    /// The arguments after `x, f` in the program text.
    args: &'static str,
}

fn convs() -> Vec<Conv> {
    vec![
        // defaults: stride 1, "VALID"
        Conv {
            x: [2, 5, 7, 3],
            f: [3, 2, 3, 4],
            strides: [1, 1],
            same: false,
            args: "",
        },
        // a stride for both axes, leaving a tail of rows and columns
        Conv {
            x: [2, 5, 7, 3],
            f: [2, 2, 3, 2],
            strides: [2, 2],
            same: false,
            args: ", 2",
        },
        // strides per axis, "VALID" said
        Conv {
            x: [2, 5, 7, 3],
            f: [3, 2, 3, 4],
            strides: [2, 3],
            same: false,
            args: ", [2, 3], \"VALID\"",
        },
        // "SAME", stride 1, odd filter: one element each side
        Conv {
            x: [2, 5, 7, 3],
            f: [3, 3, 3, 2],
            strides: [1, 1],
            same: true,
            args: ", 1, \"SAME\"",
        },
        // "SAME" with even filters: the odd element of padding after
        Conv {
            x: [1, 5, 6, 2],
            f: [4, 2, 2, 3],
            strides: [1, 1],
            same: true,
            args: ", [1, 1], \"SAME\"",
        },
        // "SAME" with strides: padding 2 (1, 1) down, 3 (1, 2) across
        Conv {
            x: [2, 5, 7, 2],
            f: [3, 4, 2, 3],
            strides: [2, 3],
            same: true,
            args: ", [2, 3], \"SAME\"",
        },
        // "SAME" with a stride larger than the filter: no padding, skipping
        Conv {
            x: [3, 5, 4, 2],
            f: [1, 1, 2, 3],
            strides: [2, 3],
            same: true,
            args: ", [2, 3], \"SAME\"",
        },
        // "SAME" with a filter larger than the input
        Conv {
            x: [1, 2, 3, 2],
            f: [4, 5, 2, 1],
            strides: [1, 1],
            same: true,
            args: ", 1, \"SAME\"",
        },
        // the filter exactly the input: one output pixel
        Conv {
            x: [3, 3, 4, 2],
            f: [3, 4, 2, 5],
            strides: [2, 2],
            same: false,
            args: ", 2, \"VALID\"",
        },
        // one channel in and out, stride 3 "SAME" (7: total 2)
        Conv {
            x: [1, 7, 7, 1],
            f: [4, 3, 1, 1],
            strides: [3, 3],
            same: true,
            args: ", 3, \"SAME\"",
        },
    ]
}

#[test]
fn conv2d_values_and_gradients_on_every_engine() {
    for (k, case) in convs().iter().enumerate() {
        let nx: usize = case.x.iter().product();
        let nf: usize = case.f.iter().product();
        let x = data(nx, 7);
        let f = data(nf, 5 + 2 * (k % 3));
        let g = geo(case.x, [case.f[0], case.f[1]], case.strides, case.same);
        let out = case.f[3];
        let yshape = [g.n, g.oh, g.ow, out];
        let gy = upstream(yshape.iter().product());
        let program = format!("conv2d(x, f{})", case.args);
        let feed_x = npy_feed("x", &x, &case.x);
        let feed_f = npy_feed("f", &f, &case.f);
        let feed_gy = nested(&gy, &yshape);
        for dtype in DTYPES {
            let xh: Vec<f64> = x.iter().map(|&v| held(dtype, v)).collect();
            let fh: Vec<f64> = f.iter().map(|&v| held(dtype, v)).collect();
            let (y, dx, df) = conv_ref(&g, &xh, &fh, out, &gy);
            let tol = if dtype == "f32" { 4e-6 } else { 1e-14 };
            for e in ENGINES {
                let what = format!("{program} {dtype} on {e} ({:?} {:?})", case.x, case.f);
                let j = grad_on(
                    e,
                    dtype,
                    &[
                        "--wrt",
                        "x,f",
                        "--feed",
                        &feed_x,
                        "--feed",
                        &feed_f,
                        "--grad-ys",
                        &feed_gy,
                        &program,
                    ],
                );
                check(&tensor(&j["ys"]["y"]), &yshape, &y, tol, &what);
                check(
                    &tensor(&j["grads"]["x"]),
                    &case.x,
                    &dx,
                    tol,
                    &format!("d/dx {what}"),
                );
                check(
                    &tensor(&j["grads"]["f"]),
                    &case.f,
                    &df,
                    tol,
                    &format!("d/df {what}"),
                );
            }
        }
    }
}

/// Asserts a sum within `tol` of the magnitude of its terms (and 1e-300).
fn check(got: &Tensor, shape: &[usize], want: &Sums, tol: f64, what: &str) {
    assert_eq!(got.shape, shape, "shape of {what}");
    for (i, (&g, (&w, &m))) in got
        .data
        .iter()
        .zip(want.value.iter().zip(&want.mag))
        .enumerate()
    {
        assert!(
            (g - w).abs() <= tol * m.max(1e-300),
            "{what}: element {i} is {g}, expected {w} (terms of magnitude {m})\n got {:?}\nwant {:?}",
            got.data,
            want.value
        );
    }
}

#[test]
fn conv2d_of_a_scaled_sum_differentiates_through_the_chain() {
    // y = sum(conv2d(x, f, 2, "SAME") ** 2): dy/dout = 2 * out, exactly as
    // the reference's upstream; f64 only, every engine
    let (xs, fs) = ([2, 5, 5, 2], [3, 3, 2, 2]);
    let x = data(100, 3);
    let f = data(36, 11);
    let g = geo(xs, [3, 3], [2, 2], true);
    let (y0, _, _) = conv_ref(&g, &x, &f, 2, &vec![0.0; 2 * 3 * 3 * 2]);
    let gy: Vec<f64> = y0.value.iter().map(|v| 2.0 * v).collect();
    let (_, dx, df) = conv_ref(&g, &x, &f, 2, &gy);
    let total: f64 = y0.value.iter().map(|v| v * v).sum();
    let feed_x = npy_feed("x", &x, &xs);
    let feed_f = npy_feed("f", &f, &fs);
    for e in ENGINES {
        let j = grad_on(
            e,
            "f64",
            &[
                "--wrt",
                "x,f",
                "--feed",
                &feed_x,
                "--feed",
                &feed_f,
                "sum(conv2d(x, f, 2, \"SAME\") ** 2)",
            ],
        );
        assert_tensor(&tensor(&j["ys"]["y"]), &[], &[total], 1e-13, 0.0, e);
        check(&tensor(&j["grads"]["x"]), &xs, &dx, 1e-12, e);
        check(&tensor(&j["grads"]["f"]), &fs, &df, 1e-12, e);
    }
}

// ---------------------------------------------------------------------------
// pooling

/// A pooling: window, strides, padding and the arguments after `x, ` as
/// the program gives them.
struct Pool {
    k: [usize; 2],
    s: [usize; 2],
    same: bool,
    args: &'static str,
}

fn pools() -> Vec<Pool> {
    vec![
        // strides default to the window: a tail of rows and columns dropped
        Pool {
            k: [2, 2],
            s: [2, 2],
            same: false,
            args: "2",
        },
        Pool {
            k: [2, 3],
            s: [2, 3],
            same: false,
            args: "[2, 3]",
        },
        // overlapping windows
        Pool {
            k: [3, 2],
            s: [1, 1],
            same: false,
            args: "[3, 2], 1",
        },
        Pool {
            k: [3, 3],
            s: [2, 1],
            same: false,
            args: "3, [2, 1], \"VALID\"",
        },
        // "SAME": padding both sides, overlapping
        Pool {
            k: [3, 3],
            s: [2, 2],
            same: true,
            args: "3, 2, \"SAME\"",
        },
        // "SAME": the odd element after, stride 1
        Pool {
            k: [2, 2],
            s: [1, 1],
            same: true,
            args: "2, 1, \"SAME\"",
        },
        // "SAME" with strides per axis and the default-stride form
        Pool {
            k: [2, 3],
            s: [1, 2],
            same: true,
            args: "[2, 3], [1, 2], \"SAME\"",
        },
        Pool {
            k: [2, 2],
            s: [2, 2],
            same: true,
            args: "2, 2, \"SAME\"",
        },
        // a window larger than the input with "SAME"
        Pool {
            k: [6, 9],
            s: [1, 4],
            same: true,
            args: "[6, 9], [1, 4], \"SAME\"",
        },
    ]
}

const POOL_X: [usize; 4] = [2, 5, 7, 3];

#[test]
fn max_pool2d_values_and_gradients_on_every_engine() {
    let n: usize = POOL_X.iter().product();
    // distinct values, ties everywhere, and all negative (padding is no 0)
    let sets = [
        data(n, 7),
        tied(n),
        data(n, 3).iter().map(|v| -v.abs() - 0.25).collect(),
    ];
    for case in pools() {
        let g = geo(POOL_X, case.k, case.s, case.same);
        let yshape = [g.n, g.oh, g.ow, g.c];
        let gy = upstream(yshape.iter().product());
        let program = format!("max_pool2d(x, {})", case.args);
        let feed_gy = nested(&gy, &yshape);
        for (d, x) in sets.iter().enumerate() {
            let feed_x = npy_feed("x", x, &POOL_X);
            for dtype in DTYPES {
                let xh: Vec<f64> = x.iter().map(|&v| held(dtype, v)).collect();
                let (y, at) = max_pool_ref(&g, &xh);
                let dx = max_pool_grad_ref(n, &at, &gy);
                for e in ENGINES {
                    let what = format!("{program} of set {d} {dtype} on {e}");
                    let j = grad_on(
                        e,
                        dtype,
                        &[
                            "--wrt",
                            "x",
                            "--feed",
                            &feed_x,
                            "--grad-ys",
                            &feed_gy,
                            &program,
                        ],
                    );
                    // moved, not computed (JSON keeps 9 digits of an f32);
                    // the gradient adds halves: exact
                    let moved = if dtype == "f32" { 1e-8 } else { 0.0 };
                    assert_tensor(&tensor(&j["ys"]["y"]), &yshape, &y, moved, 0.0, &what);
                    assert_tensor(
                        &tensor(&j["grads"]["x"]),
                        &POOL_X,
                        &dx,
                        0.0,
                        0.0,
                        &format!("d/dx {what}"),
                    );
                }
            }
        }
    }
}

#[test]
fn avg_pool2d_values_and_gradients_on_every_engine() {
    let n: usize = POOL_X.iter().product();
    let sets = [data(n, 7), tied(n)];
    for case in pools() {
        let g = geo(POOL_X, case.k, case.s, case.same);
        let yshape = [g.n, g.oh, g.ow, g.c];
        let gy = upstream(yshape.iter().product());
        let program = format!("avg_pool2d(x, {})", case.args);
        let feed_gy = nested(&gy, &yshape);
        for (d, x) in sets.iter().enumerate() {
            let feed_x = npy_feed("x", x, &POOL_X);
            for dtype in DTYPES {
                let xh: Vec<f64> = x.iter().map(|&v| held(dtype, v)).collect();
                let (y, dx) = avg_pool_ref(&g, &xh, &gy);
                let tol = if dtype == "f32" { 1e-6 } else { 1e-15 };
                for e in ENGINES {
                    let what = format!("{program} of set {d} {dtype} on {e}");
                    let j = grad_on(
                        e,
                        dtype,
                        &[
                            "--wrt",
                            "x",
                            "--feed",
                            &feed_x,
                            "--grad-ys",
                            &feed_gy,
                            &program,
                        ],
                    );
                    check(&tensor(&j["ys"]["y"]), &yshape, &y, tol, &what);
                    check(
                        &tensor(&j["grads"]["x"]),
                        &POOL_X,
                        &dx,
                        tol,
                        &format!("d/dx {what}"),
                    );
                }
            }
        }
    }
}

#[test]
fn max_pool2d_ties_go_to_the_first_maximum_and_overlaps_add_up() {
    // by hand: [[1, 3, 3], [3, 2, 3], [0, 3, 1]], windows 2x2 stride 1; the
    // first maxima are (0, 1), (0, 1), (1, 0), (1, 2); upstream [[1, 2], [4, 8]]
    let x = "x=[[[[1], [3], [3]], [[3], [2], [3]], [[0], [3], [1]]]]";
    let gy = "[[[[1], [2]], [[4], [8]]]]";
    let want = [0.0, 3.0, 0.0, 4.0, 0.0, 8.0, 0.0, 0.0, 0.0];
    // one peak in the middle: all four overlapping windows send it theirs
    let peak = "x=[[[[1], [1], [1]], [[1], [9], [1]], [[1], [1], [1]]]]";
    let peak_want = [0.0, 0.0, 0.0, 0.0, 15.0, 0.0, 0.0, 0.0, 0.0];
    // all equal: the first element of each window; SAME 3x3 stride 1 puts
    // the first in-bounds element of the window at (i-1, j-1) clamped
    let flat = "x=[[[[5], [5], [5]], [[5], [5], [5]], [[5], [5], [5]]]]";
    let gy9 = "[[[[1], [2], [3]], [[4], [5], [6]], [[7], [8], [9]]]]";
    // windows (rows i-1..i+1, cols j-1..j+1): first inside is
    // (max(i-1, 0), max(j-1, 0)): (0,0) gets 1+2+4+5, (0,1) 3+6, (1,0) 7+8, (1,1) 9
    let flat_want = [12.0, 9.0, 0.0, 15.0, 9.0, 0.0, 0.0, 0.0, 0.0];
    for dtype in DTYPES {
        for e in ENGINES {
            for (feed, program, g, want) in [
                (x, "max_pool2d(x, 2, 1)", gy, &want[..]),
                (peak, "max_pool2d(x, 2, 1)", gy, &peak_want[..]),
                (flat, "max_pool2d(x, 3, 1, \"SAME\")", gy9, &flat_want[..]),
            ] {
                let j = grad_on(
                    e,
                    dtype,
                    &["--wrt", "x", "--feed", feed, "--grad-ys", g, program],
                );
                assert_tensor(
                    &tensor(&j["grads"]["x"]),
                    &[1, 3, 3, 1],
                    want,
                    0.0,
                    0.0,
                    &format!("{program} of {feed} {dtype} on {e}"),
                );
            }
        }
    }
}

#[test]
fn same_pooling_counts_only_the_input() {
    // avg of ones is one everywhere, whatever the padding; max of negative
    // numbers stays negative at the border (the padding is never a 0)
    let ones = vec![1.0; 2 * 5 * 4 * 3];
    let feed = npy_feed("x", &ones, &[2, 5, 4, 3]);
    let neg: Vec<f64> = (0..2 * 5 * 4 * 3).map(|k| -1.0 - k as f64).collect();
    let feed_neg = npy_feed("x", &neg, &[2, 5, 4, 3]);
    for dtype in DTYPES {
        for e in ENGINES {
            for program in [
                "avg_pool2d(x, 3, 1, \"SAME\")",
                "avg_pool2d(x, [4, 3], [3, 2], \"SAME\")",
                "avg_pool2d(x, 5, 1, \"SAME\")",
            ] {
                let got = eval_on(e, dtype, &["--feed", &feed, program]);
                assert!(
                    got.data.iter().all(|&v| v == 1.0),
                    "{program} of ones {dtype} on {e}: {:?}",
                    got.data
                );
            }
            // 2x2 stride 2 "SAME" on [5, 4]: the last row of windows holds
            // row 4 only; each window's maximum is its first element
            let got = eval_on(
                e,
                dtype,
                &["--feed", &feed_neg, "max_pool2d(x, 2, 2, \"SAME\")"],
            );
            assert_eq!(got.shape, [2, 3, 2, 3], "{e}");
            let mut want = Vec::new();
            for b in 0..2 {
                for i in 0..3 {
                    for j in 0..2 {
                        for c in 0..3 {
                            want.push(neg[((b * 5 + 2 * i) * 4 + 2 * j) * 3 + c]);
                        }
                    }
                }
            }
            assert_tensor(&got, &[2, 3, 2, 3], &want, 0.0, 0.0, e);
        }
    }
}

// ---------------------------------------------------------------------------
// errors

/// `eval` expecting the error contract on every engine, in both dtypes.
fn fail_all_engines(feeds: &[&str], program: &str, parts: &[&str]) {
    for e in ENGINES {
        for dtype in DTYPES {
            let mut args = vec!["eval", "--engine", e, "--dtype", dtype];
            for f in feeds {
                args.extend_from_slice(&["--feed", f]);
            }
            args.push(program);
            let line = fail(&args);
            assert_mentions(&line, parts);
        }
    }
}

#[test]
fn malformed_window_programs_are_errors() {
    let feeds = [
        "x=rand(1, 4, 4, 2)",
        "f=rand(2, 2, 2, 3)",
        "big=rand(5, 3, 2, 1)",
        "f3=rand(2, 2, 3, 1)",
        "r=rand(4, 4, 2)",
        "r5=rand(1, 1, 4, 4, 2)",
    ];
    for (program, parts) in [
        // a "VALID" window larger than the input
        ("conv2d(x, big)", &["conv2d", "5", "4", "VALID"][..]),
        ("conv2d(x, big, 1, \"VALID\")", &["conv2d", "VALID"]),
        ("max_pool2d(x, 5)", &["max_pool2d", "VALID"]),
        ("avg_pool2d(x, [1, 5])", &["avg_pool2d", "VALID"]),
        (
            "max_pool2d(x, [5, 2], 1, \"VALID\")",
            &["max_pool2d", "VALID"],
        ),
        // padding strings
        ("conv2d(x, f, 1, \"same\")", &["same"]),
        ("conv2d(x, f, 1, \"FULL\")", &["FULL"]),
        ("max_pool2d(x, 2, 2, \"\")", &["VALID"]),
        ("avg_pool2d(x, 2, 2, \"SAME \")", &["SAME"]),
        ("conv2d(x, f, 1, \"SAME)", &["\""]),
        ("max_pool2d(x, 2, 2, \"VALID", &["\""]),
        ("conv2d(x, f, 1, SAME)", &["SAME"]),
        // channels
        ("conv2d(x, f3)", &["conv2d", "2", "3"]),
        // ranks
        ("conv2d(r, f)", &["conv2d"]),
        ("conv2d(r5, f)", &["conv2d"]),
        ("conv2d(x, r)", &["conv2d"]),
        ("max_pool2d(r, 2)", &["max_pool2d"]),
        ("avg_pool2d(r5, 2)", &["avg_pool2d"]),
        // zero strides and windows
        ("conv2d(x, f, 0)", &["conv2d"]),
        ("conv2d(x, f, [1, 0], \"SAME\")", &["conv2d"]),
        ("max_pool2d(x, 0)", &["max_pool2d"]),
        ("max_pool2d(x, [2, 0], 1, \"SAME\")", &["max_pool2d"]),
        ("avg_pool2d(x, 2, 0)", &["avg_pool2d"]),
        ("avg_pool2d(x, 2, [0, 2])", &["avg_pool2d"]),
        // three strides, three window sizes
        ("conv2d(x, f, [1, 1, 1])", &["conv2d"]),
        ("max_pool2d(x, 2, [1, 1, 1])", &["max_pool2d"]),
        ("avg_pool2d(x, [2, 2, 2])", &["avg_pool2d"]),
        ("conv2d(x, f, [1])", &["conv2d"]),
    ] {
        fail_all_engines(&feeds, program, parts);
        // and inside a gradient program
        let mut args = vec!["grad", "--wrt", "x"];
        for f in &feeds {
            args.extend_from_slice(&["--feed", f]);
        }
        let sum = format!("sum({program})");
        args.push(&sum);
        let line = fail(&args);
        assert!(
            line.contains("line 1"),
            "`{program}`: `{line}` has no position"
        );
    }
}

// ---------------------------------------------------------------------------
// show: native code only

/// `show` of `program` with gradients to `wrt`: compiled, no interpreter
/// routine among its library steps.
fn assert_native(program: &str, wrt: &str, feeds: &[&str]) -> String {
    let mut args = vec!["show", "--wrt", wrt];
    for f in feeds {
        args.extend_from_slice(&["--feed", f]);
    }
    args.push(program);
    let out = ok(&args);
    assert!(out.contains("kernels ("), "{program}: {out}");
    assert!(out.contains("library steps"), "{program}: {out}");
    assert!(!out.contains("no native routine"), "{program}: {out}");
    out
}

#[test]
fn window_gradients_compile_to_native_code_only() {
    let x = "x=rand(2, 7, 6, 3)";
    let f = "f=rand(3, 2, 3, 4)";
    for (program, wrt) in [
        ("sum(conv2d(x, f) ** 2)", "x,f"),
        ("sum(conv2d(x, f, [2, 3], \"SAME\") ** 2)", "x,f"),
        ("sum(relu(conv2d(x, f, 2, \"SAME\")) * 3)", "f"),
        ("sum(max_pool2d(x, 2) ** 2)", "x"),
        ("sum(max_pool2d(x, 3, 2, \"SAME\") * x[:, :4, :3, :])", "x"),
        ("sum(avg_pool2d(x, [3, 2], 1, \"SAME\") ** 2)", "x"),
        ("sum(avg_pool2d(max_pool2d(x, 2, 1), 2) ** 3)", "x"),
        ("sum(max_pool2d(relu(conv2d(x, f, 1, \"SAME\")), 2))", "x,f"),
        // second order: the gradients of the backprop operations
        (
            "sum(grad(sum(conv2d(x, f, 2, \"SAME\") ** 2), x) ** 2)",
            "f",
        ),
        (
            "sum(grad(sum(max_pool2d(x, 3, 2, \"SAME\") ** 3), x) ** 2)",
            "x",
        ),
        ("sum(grad(sum(avg_pool2d(x, 2) ** 3), x) ** 2)", "x"),
    ] {
        let feeds: &[&str] = if program.contains("f)") || program.contains("f,") {
            &[x, f]
        } else {
            &[x]
        };
        let out = assert_native(program, wrt, feeds);
        let wanted = if program.contains("conv2d") {
            "conv2d"
        } else {
            "pool"
        };
        assert!(out.contains(wanted), "{program}: {out}");
    }
}

const B5: &str = "h = relu(X @ W1 + b1); logits = h @ W2 + b2; \
                  loss = mean(sparse_softmax_cross_entropy(labels, logits))";
const B6: &str = "c1 = relu(conv2d(X, K1, 1, \"SAME\") + k1); p1 = max_pool2d(c1, 2); \
                  c2 = relu(conv2d(p1, K2, 1, \"SAME\") + k2); p2 = max_pool2d(c2, 2); \
                  logits = reshape(p2, [-1, 1568]) @ W + b; \
                  loss = mean(sparse_softmax_cross_entropy(labels, logits))";

fn b5_feeds(n: usize) -> Vec<String> {
    vec![
        format!("X=rand({n}, 784)"),
        "W1=rand(784, 128)".into(),
        "b1=rand(128)".into(),
        "W2=rand(128, 10)".into(),
        "b2=rand(10)".into(),
        format!("labels=randint(10, {n})"),
    ]
}

fn b6_feeds(n: usize) -> Vec<String> {
    vec![
        format!("X=rand({n}, 28, 28, 1)"),
        "K1=rand(3, 3, 1, 16)".into(),
        "k1=rand(16)".into(),
        "K2=rand(3, 3, 16, 32)".into(),
        "k2=rand(32)".into(),
        "W=rand(1568, 10)".into(),
        "b=rand(10)".into(),
        format!("labels=randint(10, {n})"),
    ]
}

#[test]
fn the_classifier_benchmarks_compile_to_native_code_only() {
    let f5 = b5_feeds(16);
    let f5: Vec<&str> = f5.iter().map(String::as_str).collect();
    let out = assert_native(B5, "W1,b1,W2,b2", &f5);
    assert!(out.contains("matmul"), "{out}");
    for n in [2, 3, 8] {
        let f6 = b6_feeds(n);
        let f6: Vec<&str> = f6.iter().map(String::as_str).collect();
        let out = assert_native(B6, "K1,k1,K2,k2,W,b", &f6);
        for step in [
            "conv2d",
            "max_pool2d",
            "conv2d_backprop_filter",
            "conv2d_backprop_input",
            "max_pool_grad",
        ] {
            assert!(out.contains(step), "B6 should run {step}: {out}");
        }
    }
}

#[test]
fn the_classifier_benchmarks_at_batch_one_compile_to_native_code_only() {
    let f5 = b5_feeds(1);
    let f5: Vec<&str> = f5.iter().map(String::as_str).collect();
    assert_native(B5, "W1,b1,W2,b2", &f5);
    let f6 = b6_feeds(1);
    let f6: Vec<&str> = f6.iter().map(String::as_str).collect();
    assert_native(B6, "K1,k1,K2,k2,W,b", &f6);
}

#[test]
fn the_cnn_benchmark_runs_on_every_engine_and_agrees_with_the_interpreter() {
    // N = 2: small, but every shape of the benchmark's but the batch
    let feeds = b6_feeds(2);
    let wrt = "K1,k1,K2,k2,W,b";
    let names = ["K1", "k1", "K2", "k2", "W", "b"];
    let shapes: [&[usize]; 6] = [
        &[3, 3, 1, 16],
        &[16],
        &[3, 3, 16, 32],
        &[32],
        &[1568, 10],
        &[10],
    ];
    for dtype in DTYPES {
        let mut args: Vec<&str> = vec!["--wrt", wrt];
        for f in &feeds {
            args.extend_from_slice(&["--feed", f]);
        }
        args.push(B6);
        let reference = grad_on("interp", dtype, &args);
        let loss = tensor(&reference["ys"]["loss"]);
        assert_eq!(loss.shape, Vec::<usize>::new());
        assert!(loss.data[0].is_finite() && loss.data[0] >= 0.0, "{loss:?}");
        // the gradients' scale: relative to each tensor's largest element
        let (rtol, scale) = if dtype == "f32" {
            (1e-4, 1e-4)
        } else {
            (1e-10, 1e-11)
        };
        for e in ENGINES.iter().filter(|e| **e != "interp") {
            let j = grad_on(e, dtype, &args);
            let got = tensor(&j["ys"]["loss"]);
            assert_tensor(
                &got,
                &[],
                &loss.data,
                rtol,
                0.0,
                &format!("B6 loss {dtype} on {e}"),
            );
            for (name, shape) in names.iter().zip(shapes) {
                let want = tensor(&reference["grads"][*name]);
                assert_eq!(want.shape, shape, "interp's d{name}");
                let big = want.data.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                assert!(big > 0.0, "d{name} is all zeros on interp {dtype}");
                assert_tensor(
                    &tensor(&j["grads"][*name]),
                    shape,
                    &want.data,
                    rtol,
                    scale * big,
                    &format!("B6 d{name} {dtype} on {e}"),
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------
// found on the way

#[test]
fn json_feeds_are_read_exactly() {
    // the shortest round-trip decimals of f64 values, which an exact reader
    // turns back into the same values: the output must round-trip to them
    let values = [
        0.9642857142857143,
        -0.9642857142857143,
        -1.5357142857142858,
        0.1 + 0.2,
        1.0 / 3.0,
        std::f64::consts::PI,
        2.0f64.sqrt(),
    ];
    let feed = format!("x={}", nested(&values, &[values.len()]));
    for e in ENGINES {
        let got = eval_on(e, "f64", &["--feed", &feed, "x"]);
        assert_tensor(
            &got,
            &[values.len()],
            &values,
            0.0,
            0.0,
            &format!("{feed} on {e}"),
        );
        // the same numbers as a program's literals are read exactly
        let program = format!("{:?} * 1", values[0]);
        let got = eval_on(e, "f64", &[&program]);
        assert_tensor(&got, &[], &values[..1], 0.0, 0.0, &program);
    }
}
