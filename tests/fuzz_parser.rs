//! Fuzzing the parser, and what runs after it: random text (bytes, token
//! soups, and mutations of well-formed programs) must parse or fail with a
//! `ParseError`, never panic or overflow the stack; what parses must print
//! back to the same nodes, and must evaluate on the interpreter and the JIT
//! to a value or an error (the same one of the two on both).
//!
//! # Long runs
//!
//! ```text
//! GRADJIT_FUZZ_SECONDS=3600 GRADJIT_FUZZ_SEED=$RANDOM \
//!     cargo test --release --test fuzz_parser -- --nocapture fuzz_parser_random
//! ```
//!
//! `GRADJIT_FUZZ_CASES` sets a number of cases instead. A failing input is
//! printed and written to `target/fuzz-failures/`; copy it into
//! `tests/fuzz_corpus/parser/` (one program per file), where
//! [`corpus_programs_never_panic`] replays every file on every `cargo test`.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use gradjit::exec::Engine;
use gradjit::graph::Shape;
use gradjit::text::{parse, print_program, ParseOptions};
use gradjit::{DType, Graph, Session, Value};
use ndarray::ArrayD;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

const WORDS: &[&str] = &[
    "x",
    "y",
    "m",
    "a",
    "b",
    "h",
    "_",
    "x1",
    "None",
    "grad",
    "fill",
    "where",
    "matmul",
    "reshape",
    "transpose",
    "broadcast_to",
    "expand_dims",
    "count",
    "sum_to",
    "broadcast_like",
    "reshape_like",
    "ones_like",
    "zeros_like",
    "identity",
    "stop_gradient",
    "relu_grad",
    "mul_no_nan",
    "add",
    "sub",
    "mul",
    "div",
    "less",
    "equal",
    "sum",
    "mean",
    "max",
    "min",
    "logsumexp",
    "neg",
    "abs",
    "sign",
    "exp",
    "log",
    "log1p",
    "expm1",
    "sqrt",
    "rsqrt",
    "square",
    "reciprocal",
    "sin",
    "cos",
    "tanh",
    "sigmoid",
    "relu",
    "softplus",
    "floor",
    "ceil",
    "round",
    "relu6",
    "softsign",
    "elu",
    "selu",
    "silu",
    "tan",
    "asin",
    "acos",
    "atan",
    "sinh",
    "cosh",
    "asinh",
    "acosh",
    "atanh",
    "erf",
    "erfc",
    "gelu",
    "atan2",
    "leaky_relu",
    "squared_difference",
    "div_no_nan",
    "xlogy",
    "xdivy",
    "softmax",
    "log_softmax",
    "softmax_cross_entropy",
    "sigmoid_cross_entropy",
    "reverse",
    "tile",
    "squeeze",
    "cumsum",
    "argmax",
    "argmin",
    "pow",
    "maximum",
    "minimum",
    "0",
    "1",
    "2",
    "3",
    "-1",
    "-2",
    "7",
    "1e999",
    "-1e999",
    ".5",
    "3.",
    "1e-3",
    "1e308",
    "4294967296",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999",
    "9223372036854775807",
    "-9223372036854775808",
    "0x10",
    "1_0",
    "+",
    "-",
    "*",
    "**",
    "/",
    "@",
    "<",
    "<=",
    ">",
    ">=",
    "==",
    "!=",
    "=",
    "(",
    ")",
    "[",
    "]",
    ",",
    ";",
    "\n",
    "\r\n",
    "#",
    "$",
    "1e",
    "..",
    "\"",
    "'",
    "\t",
    "é",
    "∑",
    "\u{0}",
    "--",
    "@x",
];

/// A small grammar of mostly well-formed programs, to mutate.
fn program(rng: &mut SmallRng) -> String {
    fn expr(rng: &mut SmallRng, depth: usize) -> String {
        let leaves = [
            "x",
            "y",
            "m",
            "a",
            "2",
            "-1",
            "0.5",
            "[1, 2, 3]",
            "[[1, 2], [3, 4]]",
        ];
        if depth == 0 || rng.gen_bool(0.3) {
            return leaves[rng.gen_range(0..leaves.len())].to_string();
        }
        let d = depth - 1;
        let w = |rng: &mut SmallRng| WORDS[rng.gen_range(9..59)];
        // mostly functions called with their own arity, sometimes any word
        let unary = |rng: &mut SmallRng| WORDS[rng.gen_range(38..56)];
        let binary = |rng: &mut SmallRng| {
            [
                "add", "sub", "mul", "div", "less", "equal", "pow", "maximum", "minimum",
            ][rng.gen_range(0..9)]
        };
        match rng.gen_range(0..11) {
            0 => format!("{}({})", w(rng), expr(rng, d)),
            1 => format!("{}({}, {})", w(rng), expr(rng, d), expr(rng, d)),
            9 => format!("{}({})", unary(rng), expr(rng, d)),
            10 => format!("{}({}, {})", binary(rng), expr(rng, d), expr(rng, d)),
            2 => {
                let ops = ["+", "-", "*", "/", "**", "@", "<", "=="];
                let o = ops[rng.gen_range(0..ops.len())];
                format!("{} {o} {}", expr(rng, d), expr(rng, d))
            }
            3 => format!("-({})", expr(rng, d)),
            4 => format!(
                "sum({}, {}, {})",
                expr(rng, d),
                rng.gen_range(-3..3),
                rng.gen_range(0..2)
            ),
            5 => format!("grad({}, x)", expr(rng, d)),
            6 => format!("reshape({}, [{}, -1])", expr(rng, d), rng.gen_range(0..4)),
            7 => format!(
                "broadcast_to({}, [{}, 3])",
                expr(rng, d),
                ["2", "0", "1", "4294967296"][rng.gen_range(0..4)]
            ),
            _ => format!(
                "where({}, {}, {})",
                expr(rng, d),
                expr(rng, d),
                expr(rng, d)
            ),
        }
    }
    let n = rng.gen_range(1..4);
    (0..n)
        .map(|_| {
            let lhs = ["a = ", "h = ", ""][rng.gen_range(0..3)];
            let depth = rng.gen_range(1..5);
            format!("{lhs}{}\n", expr(rng, depth))
        })
        .collect()
}

/// Random edits: deletions, insertions of words, duplications and swaps.
fn mutate(rng: &mut SmallRng, src: &str) -> String {
    let mut chars: Vec<char> = src.chars().collect();
    for _ in 0..rng.gen_range(1..4) {
        let len = chars.len();
        let at = rng.gen_range(0..=len);
        match rng.gen_range(0..4) {
            0 if len > 0 => {
                let end = (at + rng.gen_range(1..4)).min(len);
                chars.drain(at.min(len)..end);
            }
            1 => {
                let w: Vec<char> = WORDS[rng.gen_range(0..WORDS.len())].chars().collect();
                chars.splice(at..at, w);
            }
            2 if len > 0 => {
                let start = rng.gen_range(0..len);
                let end = (start + rng.gen_range(1..12)).min(len);
                let piece: Vec<char> = chars[start..end].to_vec();
                chars.splice(at..at, piece);
            }
            _ if len > 1 => {
                let (i, j) = (rng.gen_range(0..len), rng.gen_range(0..len));
                chars.swap(i, j);
            }
            _ => {}
        }
    }
    chars.into_iter().collect()
}

fn generate(seed: u64) -> (String, DType, bool) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let src = match rng.gen_range(0..10) {
        0 => {
            // arbitrary characters, weighted to the language's alphabet
            let alphabet: Vec<char> = "xyma01239_ .,;()[]+*/@<>=!#e\n-é∑\u{0}".chars().collect();
            (0..rng.gen_range(0..60))
                .map(|_| {
                    if rng.gen_bool(0.9) {
                        alphabet[rng.gen_range(0..alphabet.len())]
                    } else {
                        char::from_u32(rng.gen_range(0..0x11000)).unwrap_or('?')
                    }
                })
                .collect()
        }
        1..=2 => (0..rng.gen_range(0..40))
            .map(|_| {
                let w = WORDS[rng.gen_range(0..WORDS.len())];
                if rng.gen_bool(0.5) {
                    format!("{w} ")
                } else {
                    w.to_string()
                }
            })
            .collect(),
        3..=5 => program(&mut rng),
        _ => {
            let p = program(&mut rng);
            mutate(&mut rng, &p)
        }
    };
    let dtype = if rng.gen_bool(0.5) {
        DType::F32
    } else {
        DType::F64
    };
    (src, dtype, rng.gen_bool(0.5))
}

/// The shapes inputs are fed with (and, when `static_shapes`, declared with).
fn input_shape(name: &str) -> Vec<usize> {
    match name {
        "x" => vec![2, 3],
        "y" => vec![3],
        "m" => vec![3, 2],
        "a" => vec![0, 3],
        _ => vec![],
    }
}

/// Whether a program could ask for more memory than a test may use: the
/// only ways to make a large tensor from small inputs are `broadcast_to`
/// and `fill` with large dimensions (sizes that overflow are rejected
/// before any allocation; sizes that merely exceed memory are the
/// allocator's to refuse, and Rust aborts then).
fn may_be_huge(src: &str) -> bool {
    let mut run = 0;
    for c in src.chars() {
        run = if c.is_ascii_digit() { run + 1 } else { 0 };
        if run >= 5 {
            return true;
        }
    }
    false
}

/// How far an input got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reached {
    /// It does not parse.
    ParseError,
    /// It parses (and prints back) but was not run.
    Parsed,
    /// Both engines ran it; it failed on both.
    RunError,
    /// Both engines computed a value.
    Value,
}

/// Parses, round-trips, evaluates; `Err` describes a broken property.
fn check(src: &str, dtype: DType, static_shapes: bool) -> Result<Reached, String> {
    let g = Graph::new();
    let mut opts = ParseOptions::new(dtype);
    if static_shapes {
        for n in ["x", "y", "m", "a"] {
            opts.input_shapes
                .insert(n.into(), Shape::known(&input_shape(n)));
        }
    }
    let parsed = catch_unwind(AssertUnwindSafe(|| parse(&g, src, &opts)))
        .map_err(|_| "the parser panicked".to_string())?;
    let Ok(p) = parsed else {
        return Ok(Reached::ParseError);
    };
    // printed back, it reads as the same nodes (under a name no input has:
    // an output named like an input cannot round-trip, as `text` documents)
    let mut out = "result_out".to_string();
    while p.inputs.iter().any(|(n, _)| *n == out) {
        out.push('_');
    }
    let text = catch_unwind(AssertUnwindSafe(|| {
        print_program(&g, &[(out.as_str(), p.output)])
    }))
    .map_err(|_| "the printer panicked".to_string())?;
    let again = catch_unwind(AssertUnwindSafe(|| parse(&g, &text, &opts)))
        .map_err(|_| "the parser panicked on printed text".to_string())?;
    match again {
        Ok(q) if q.bindings.get(&out) == Some(&p.output) => {}
        other => return Err(format!("printed as\n{text}\nwhich reads as {other:?}")),
    }
    if may_be_huge(src) {
        return Ok(Reached::Parsed);
    }
    let feeds: Vec<(gradjit::Tensor<'_>, Value)> = p
        .inputs
        .iter()
        .map(|(name, id)| {
            let shape = input_shape(name);
            let n: usize = shape.iter().product();
            let data: Vec<f64> = (0..n).map(|i| i as f64 * 0.5 - 1.0).collect();
            let a = ArrayD::from_shape_vec(shape, data).expect("sizes match");
            (g.tensor(*id), Value::from_f64_array(a, dtype))
        })
        .collect();
    let mut outcomes = HashMap::new();
    for engine in [Engine::Interp, Engine::Jit] {
        let r = catch_unwind(AssertUnwindSafe(|| {
            Session::with_engine(&g, engine).run(&[g.tensor(p.output)], &feeds)
        }))
        .map_err(|_| format!("{engine} panicked"))?;
        outcomes.insert(engine.to_string(), r.map(|_| ()).map_err(|e| e.to_string()));
    }
    let ok: Vec<_> = outcomes.values().map(Result::is_ok).collect();
    if ok.iter().any(|&o| o != ok[0]) {
        return Err(format!("engines disagree on success: {outcomes:?}"));
    }
    Ok(if ok[0] {
        Reached::Value
    } else {
        Reached::RunError
    })
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// Random text: `GRADJIT_FUZZ_CASES` (default 20000) inputs, or as many as
/// fit in `GRADJIT_FUZZ_SECONDS`, from `GRADJIT_FUZZ_SEED`.
#[test]
fn fuzz_parser_random() {
    let seconds = env_u64("GRADJIT_FUZZ_SECONDS");
    let cases =
        env_u64("GRADJIT_FUZZ_CASES").unwrap_or(if seconds.is_some() { u64::MAX } else { 20_000 });
    let base = env_u64("GRADJIT_FUZZ_SEED").unwrap_or(0x9a55);
    let deadline = seconds.map(|s| Instant::now() + Duration::from_secs(s));
    let start = Instant::now();
    let mut n = 0u64;
    let mut failures = Vec::new();
    let mut reached: HashMap<String, u64> = HashMap::new();
    while n < cases && deadline.is_none_or(|d| Instant::now() < d) {
        let seed = base.wrapping_mul(0x9e37_79b9_7f4a_7c15).wrapping_add(n);
        let (src, dtype, static_shapes) = generate(seed);
        let r = check(&src, dtype, static_shapes);
        if let Ok(how) = &r {
            *reached.entry(format!("{how:?}")).or_default() += 1;
        }
        if let Err(why) = r {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-failures");
            let _ = std::fs::create_dir_all(&dir);
            let _ = std::fs::write(dir.join(format!("parser-{seed}.txt")), &src);
            eprintln!("FAILURE (seed {seed}, {dtype}, static {static_shapes}): {why}\n{src:?}");
            failures.push(seed);
            if failures.len() >= 20 {
                break;
            }
        }
        n += 1;
    }
    let mut reached: Vec<_> = reached.into_iter().collect();
    reached.sort();
    eprintln!(
        "fuzz_parser: {n} inputs in {:.0?} from seed {base}, {} failures; reached {reached:?}",
        start.elapsed(),
        failures.len()
    );
    assert!(failures.is_empty(), "failing seeds: {failures:?}");
}

/// Every file of `tests/fuzz_corpus/parser/` (found by the fuzzer, or
/// written by hand), in both dtypes, with and without static shapes.
#[test]
fn corpus_programs_never_panic() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_corpus/parser");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    assert!(!files.is_empty(), "no corpus in {}", dir.display());
    for f in &files {
        let src = std::fs::read_to_string(f).expect("corpus file reads");
        for dtype in [DType::F32, DType::F64] {
            for static_shapes in [false, true] {
                check(&src, dtype, static_shapes)
                    .unwrap_or_else(|e| panic!("{} ({dtype}, {static_shapes}): {e}", f.display()));
            }
        }
    }
}

/// Nesting far past the parser's depth limit is an error, not a stack
/// overflow; so are long flat programs.
#[test]
fn deep_and_long_text_is_an_error_or_a_value() {
    let n = 100_000;
    let cases = [
        format!("{}x{}", "(".repeat(n), ")".repeat(n)),
        format!("{}x", "-".repeat(n)),
        format!("x{}", "**x".repeat(n)),
        format!("{}1{}", "[".repeat(n), "]".repeat(n)),
        format!("{}x{}", "exp(".repeat(n), ")".repeat(n)),
        format!("{}x{}", "grad(".repeat(2000), ", x)".repeat(2000)),
        "[".repeat(n),
        "(".repeat(n),
        format!("x{}", " + x".repeat(20_000)),
        "y = x\n".repeat(20_000),
    ];
    for src in &cases {
        for dtype in [DType::F32, DType::F64] {
            check(src, dtype, true).unwrap_or_else(|e| panic!("{}...: {e}", &src[..40]));
        }
    }
}
