//! Support for the integration tests of the `gradjit` command: running the
//! built binary, checking the error contract (exit status 2, one line on
//! stderr, nothing on stdout), and reading values out of its JSON.
//!
//! Everything here follows `shared/spec/language-and-cli.md`; nothing is
//! taken from the program's own output.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value as Json;

/// The four engines of `--engine`.
pub const ENGINES: [&str; 4] = ["interp", "jit", "jit-mt", "jit-unfused"];

/// What one run of the command gave.
#[derive(Debug)]
pub struct Run {
    /// The exit status (`None` when killed by a signal, i.e. a crash).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs `gradjit` with these arguments.
pub fn run(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_gradjit"))
        .args(args)
        .output()
        .expect("the gradjit binary runs");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

/// Runs `gradjit`, asserts success, and returns stdout.
pub fn ok(args: &[&str]) -> String {
    let r = run(args);
    assert_eq!(
        r.code,
        Some(0),
        "gradjit {args:?} failed\nstdout: {}\nstderr: {}",
        r.stdout,
        r.stderr
    );
    r.stdout
}

/// Runs `gradjit`, asserts success, and parses stdout as exactly one JSON value.
pub fn json(args: &[&str]) -> Json {
    let out = ok(args);
    serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("gradjit {args:?} printed invalid JSON ({e}):\n{out}"))
}

/// Runs `gradjit` expecting a user error: exit status 2, nothing on stdout,
/// exactly one line on stderr, which is returned (without its newline).
pub fn fail(args: &[&str]) -> String {
    let r = run(args);
    assert_eq!(
        r.code,
        Some(2),
        "gradjit {args:?} should exit with status 2\nstdout: {}\nstderr: {}",
        r.stdout,
        r.stderr
    );
    assert!(
        r.stdout.is_empty(),
        "gradjit {args:?} printed on stdout on error: {}",
        r.stdout
    );
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "gradjit {args:?} should print exactly one line on stderr, got:\n{}",
        r.stderr
    );
    assert!(
        !lines[0].trim().is_empty(),
        "gradjit {args:?} printed an empty error line"
    );
    lines[0].to_string()
}

/// Asserts that an error line contains every one of `parts`.
pub fn assert_mentions(line: &str, parts: &[&str]) {
    for p in parts {
        assert!(line.contains(p), "error `{line}` should mention `{p}`");
    }
}

/// Asserts that an error line gives this position of the program text.
pub fn assert_at(line: &str, l: u32, c: u32) {
    let want = format!("line {l}, column {c}");
    assert!(line.contains(&want), "error `{line}` should say `{want}`");
}

/// A tensor read from JSON: its shape and its elements in row-major order.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    /// The shape (empty for a scalar).
    pub shape: Vec<usize>,
    /// The elements.
    pub data: Vec<f64>,
}

/// Reads a VALUE of the JSON output: a number, one of the strings `"inf"`,
/// `"-inf"`, `"nan"`, or nested arrays of equal lengths of those.
pub fn tensor(v: &Json) -> Tensor {
    fn walk(v: &Json, depth: usize, shape: &mut Vec<usize>, data: &mut Vec<f64>) {
        match v {
            Json::Array(items) => {
                if depth == shape.len() {
                    shape.push(items.len());
                } else {
                    assert_eq!(shape[depth], items.len(), "ragged JSON array: {v}");
                }
                for item in items {
                    walk(item, depth + 1, shape, data);
                }
            }
            other => {
                assert_eq!(depth, shape.len(), "JSON array of mixed depth");
                data.push(number(other));
            }
        }
    }
    let mut shape = Vec::new();
    let mut data = Vec::new();
    walk(v, 0, &mut shape, &mut data);
    assert_eq!(
        data.len(),
        shape.iter().product::<usize>(),
        "JSON array of mixed depth: {v}"
    );
    Tensor { shape, data }
}

/// One JSON scalar: a number or `"inf"`, `"-inf"`, `"nan"`.
pub fn number(v: &Json) -> f64 {
    match v {
        Json::Number(n) => n.as_f64().expect("a finite number"),
        Json::String(s) if s == "inf" => f64::INFINITY,
        Json::String(s) if s == "-inf" => f64::NEG_INFINITY,
        Json::String(s) if s == "nan" => f64::NAN,
        other => panic!("`{other}` is not a number"),
    }
}

/// `eval --json` of `args` (without `eval` and `--json`), the one output.
pub fn eval1(args: &[&str]) -> Tensor {
    // options first: `args` may end with `--` and a program
    let mut full = vec!["eval", "--json"];
    full.extend_from_slice(args);
    let j = json(&full);
    let outs = j["outputs"]
        .as_object()
        .unwrap_or_else(|| panic!("no `outputs` object in {j}"));
    assert_eq!(outs.len(), 1, "one output expected in {j}");
    tensor(outs.values().next().unwrap())
}

/// `eval --json` on every engine, asserting that each gives `want` (shape and
/// elements) within `rtol` relative or `atol` absolute error.
pub fn eval_all_engines(args: &[&str], shape: &[usize], want: &[f64], rtol: f64, atol: f64) {
    for e in ENGINES {
        let mut full = vec!["--engine", e];
        full.extend_from_slice(args);
        let got = eval1(&full);
        assert_tensor(&got, shape, want, rtol, atol, &format!("{args:?} on {e}"));
    }
}

/// Asserts a tensor's shape and elements. NaN matches NaN and infinities
/// must match exactly.
pub fn assert_tensor(
    got: &Tensor,
    shape: &[usize],
    want: &[f64],
    rtol: f64,
    atol: f64,
    what: &str,
) {
    assert_eq!(got.shape, shape, "shape of {what}: got {got:?}");
    assert_eq!(got.data.len(), want.len(), "element count of {what}");
    for (i, (&g, &w)) in got.data.iter().zip(want).enumerate() {
        let okay = if w.is_nan() {
            g.is_nan()
        } else if w.is_infinite() {
            g == w
        } else {
            (g - w).abs() <= atol + rtol * w.abs()
        };
        assert!(
            okay,
            "{what}: element {i} is {g}, expected {w}\n got {:?}\nwant {want:?}",
            got.data
        );
    }
}

/// Rounds to f32, as an f32 program holds its values.
pub fn f32r(v: f64) -> f64 {
    v as f32 as f64
}

/// A directory for this test's files, fresh on each run.
pub fn temp_dir(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("cli_tests")
        .join(format!("{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the test directory");
    dir
}

/// The number tokens of a JSON text exactly as printed (outside strings), in
/// order: to check digits, not just values.
pub fn raw_numbers(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    let mut current = String::new();
    while let Some(c) = chars.next() {
        if in_string {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        if c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E') {
            current.push(c);
            continue;
        }
        if !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        if c == '"' {
            in_string = true;
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The significant digits of a decimal number as printed (`0.00123e4` has 3).
pub fn significant_digits(s: &str) -> usize {
    let mantissa = s.split(['e', 'E']).next().unwrap_or(s);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let trimmed = digits.trim_start_matches('0');
    trimmed.len().max(1)
}
