//! Bad input never panics: every error class of the contract ends with exit
//! status 2, nothing on stdout, and exactly one line on stderr naming the
//! problem and, for program text, `line L, column C` (counted by hand from
//! the test input, both from 1). Also the human-readable explanations of
//! `grad` (a None gradient says why; a non-scalar y gets a note).

mod cli_support;

use cli_support::*;

#[test]
fn parse_errors_give_line_and_column() {
    // `x +* 2`: the `*` is column 4
    let line = fail(&["eval", "--feed", "x=1", "x +* 2"]);
    assert_at(&line, 1, 4);
    assert_mentions(&line, &["*"]);
    // the `)` of line 2, `b = (a + )`, is column 10
    let line = fail(&["eval", "a = 1\nb = (a + )"]);
    assert_at(&line, 2, 10);
    // an unclosed parenthesis runs to the end of the text: after `(1 + 2` on
    // line 3 (the last line, 6 characters), the end is column 7 of line 3
    let line = fail(&["eval", "a = 1\n\nb = (1 + 2"]);
    assert!(line.contains("line 3"), "{line}");
    // a character that starts no token: `$` at column 5
    let line = fail(&["eval", "1 + $"]);
    assert_at(&line, 1, 5);
    assert_mentions(&line, &["$"]);
    // a malformed number: `1e` at column 3 of line 2
    let line = fail(&["eval", "# comment\na=1e + 2"]);
    assert_at(&line, 2, 3);
    // a list literal holds numbers, not expressions: `x` at column 5
    let line = fail(&["eval", "--feed", "x=1", "[1, x]"]);
    assert_at(&line, 1, 5);
    // two expressions without an operator: `2` at column 3
    let line = fail(&["eval", "1 2"]);
    assert_at(&line, 1, 3);
    // columns count characters, not bytes: `$` after `é + ` is column 5
    let line = fail(&["eval", "é + $"]);
    assert_at(&line, 1, 5);
    // a Windows line ending is one line break: `$` at line 2, column 5
    let line = fail(&["eval", "a = 1\r\nb = $"]);
    assert_at(&line, 2, 5);
    // tabs count as one column each: the `)` after `\t\t(` is column 4
    let line = fail(&["eval", "\t\t()"]);
    assert_at(&line, 1, 4);
}

#[test]
fn an_empty_program_is_an_error() {
    let line = fail(&["eval", ""]);
    assert!(!line.is_empty());
    fail(&["eval", "# only a comment\n\n;"]);
}

#[test]
fn unknown_function() {
    // `foo` starts at column 5
    let line = fail(&["eval", "--feed", "x=1", "y = foo(x)"]);
    assert_at(&line, 1, 5);
    assert_mentions(&line, &["foo"]);
    // a known function with a wrong number of arguments: `pow` at line 2, column 1
    let line = fail(&["eval", "--feed", "x=1", "a = 1\npow(x)"]);
    assert_at(&line, 2, 1);
    assert_mentions(&line, &["pow"]);
}

#[test]
fn unfed_input() {
    // `x` is used at column 1; `z` at column 5
    let line = fail(&["eval", "x + 1"]);
    assert_mentions(&line, &["`x`"]);
    assert_at(&line, 1, 1);
    let line = fail(&["grad", "--wrt", "x", "--feed", "x=1", "x + z"]);
    assert_mentions(&line, &["`z`"]);
    assert_at(&line, 1, 5);
    fail(&["bench", "--repeat", "5", "x + 1"]);
}

#[test]
fn shape_mismatch() {
    // `+` of [2] and [3] on line 2 column 5 (`  x + z`: x at 3, + at 5)
    let line = fail(&[
        "eval",
        "--feed",
        "x=[1, 2]",
        "--feed",
        "z=[1, 2, 3]",
        "a = 1\n  x + z",
    ]);
    assert_mentions(&line, &["[2]", "[3]"]);
    assert_at(&line, 2, 5);
    // matmul inner dimensions: `@` at column 3
    let line = fail(&[
        "eval",
        "--feed",
        "x=[[1, 2]]",
        "--feed",
        "z=[[1, 2]]",
        "x @ z",
    ]);
    assert_at(&line, 1, 3);
    assert_mentions(&line, &["matmul"]);
    // matmul of a vector: operands must be at least 2-D; `matmul` at column 1
    let line = fail(&["eval", "--feed", "x=[1, 2]", "matmul(x, x)"]);
    assert_at(&line, 1, 1);
    // reshape to a different size: [2] to [3]
    let line = fail(&["eval", "--feed", "x=[1, 2]", "reshape(x, [3])"]);
    assert_at(&line, 1, 1);
    assert_mentions(&line, &["reshape"]);
    // broadcast_to a shape it does not broadcast to
    let line = fail(&["eval", "--feed", "x=[1, 2]", "broadcast_to(x, [3])"]);
    assert_mentions(&line, &["broadcast_to"]);
    // transpose with a permutation that is not one
    let line = fail(&["eval", "--feed", "x=[[1, 2]]", "transpose(x, [0, 0])"]);
    assert_mentions(&line, &["transpose"]);
    // an axis out of range
    let line = fail(&["eval", "--feed", "x=[1, 2]", "sum(x, 1)"]);
    assert_mentions(&line, &["sum"]);
    // where with branches that do not broadcast
    let line = fail(&["eval", "--feed", "x=[1, 2]", "where(x, x, [1, 2, 3])"]);
    assert_mentions(&line, &["where"]);
}

#[test]
fn axis_arguments() {
    // a repeated axis: `sum` at column 1, the axis list at column 8
    let line = fail(&["eval", "--feed", "x=[[1]]", "sum(x, [0, 0])"]);
    assert_mentions(&line, &["repeated"]);
    assert!(line.contains("line 1, column "), "{line}");
    // 1 and -1 are the same axis of a 2-D tensor
    let line = fail(&["eval", "--feed", "x=[[1]]", "sum(x, [1, -1])"]);
    assert_mentions(&line, &["repeated"]);
    // keepdims must be 1 or 0: `2` at column 11
    let line = fail(&["eval", "--feed", "x=[1]", "sum(x, 0, 2)"]);
    assert_at(&line, 1, 11);
    assert_mentions(&line, &["keepdims"]);
    // only one -1 in reshape: the second at column 17
    let line = fail(&["eval", "--feed", "x=[1, 2]", "reshape(x, [-1, -1])"]);
    assert_at(&line, 1, 17);
}

#[test]
fn use_before_binding() {
    // `b` at line 1, column 5 is bound only on line 2
    let line = fail(&["eval", "a = b + 1\nb = 2"]);
    assert_at(&line, 1, 5);
    assert_mentions(&line, &["`b`"]);
    // a statement that uses its own name before any binding
    let line = fail(&["eval", "--feed", "x=1", "x = x + 1"]);
    assert_at(&line, 1, 5);
    assert_mentions(&line, &["`x`"]);
}

#[test]
fn binding_a_function_name() {
    let line = fail(&["eval", "exp = 3"]);
    assert_at(&line, 1, 1);
    assert_mentions(&line, &["exp"]);
    let line = fail(&["eval", "a = 1\n  sum = a"]);
    assert_at(&line, 2, 3);
    assert_mentions(&line, &["sum"]);
}

#[test]
fn ragged_list_in_the_program_and_in_a_feed() {
    // `[[1, 2], [3]]`: the second inner list starts at column 10
    let line = fail(&["eval", "[[1, 2], [3]]"]);
    assert_at(&line, 1, 10);
    let line = fail(&["eval", "--feed", "x=[[1, 2], [3]]", "x"]);
    assert_mentions(&line, &["x"]);
    // numbers and lists mixed
    fail(&["eval", "--feed", "x=[1, [2]]", "x"]);
    fail(&["eval", "[1, [2]]"]);
}

#[test]
fn bad_json_feed() {
    let line = fail(&["eval", "--feed", "x=[1, 2", "x"]);
    assert_mentions(&line, &["x"]);
    fail(&["eval", "--feed", "x=hello", "x"]);
    fail(&["eval", "--feed", "x={\"a\": 1}", "x"]);
    fail(&["eval", "--feed", "x=[true]", "x"]);
    fail(&["eval", "--feed", "x=1e400", "x"]);
    // not NAME=VALUE
    let line = fail(&["eval", "--feed", "x", "x"]);
    assert_mentions(&line, &["x"]);
    // rand with a bad dimension
    fail(&["eval", "--feed", "x=rand(2,a)", "x"]);
    fail(&["eval", "--feed", "x=rand(2", "x"]);
    // fed twice
    fail(&["eval", "--feed", "x=1", "--feed", "x=2", "x"]);
}

#[test]
fn feeding_a_name_that_is_not_an_input() {
    let line = fail(&["eval", "--feed", "x=1", "--feed", "q=2", "x + 1"]);
    assert_mentions(&line, &["`q`"]);
    // a bound name is not an input either
    let line = fail(&["eval", "--feed", "x=1", "--feed", "a=2", "a = x + 1"]);
    assert_mentions(&line, &["`a`"]);
}

#[test]
fn wrong_names_in_options() {
    // the message names the bad name and the option that gave it
    let line = fail(&["grad", "--wrt", "q", "--feed", "x=1", "x*2"]);
    assert_mentions(&line, &["`q`", "--wrt"]);
    let line = fail(&["grad", "--wrt", "x,q2", "--feed", "x=1", "x*2"]);
    assert_mentions(&line, &["`q2`", "--wrt"]);
    let line = fail(&["grad", "--wrt", "x", "--ys", "nope", "--feed", "x=1", "x*2"]);
    assert_mentions(&line, &["`nope`", "--ys"]);
    let line = fail(&[
        "grad", "--wrt", "x", "--stop", "nope", "--feed", "x=1", "x*2",
    ]);
    assert_mentions(&line, &["`nope`", "--stop"]);
    let line = fail(&["eval", "--ys", "nope", "--feed", "x=1", "x*2"]);
    assert_mentions(&line, &["`nope`", "--ys"]);
    let line = fail(&["show", "--wrt", "nope", "--feed", "x=1", "x*2"]);
    assert_mentions(&line, &["`nope`", "--wrt"]);
    let line = fail(&["bench", "--wrt", "nope", "--feed", "x=1", "x*2"]);
    assert_mentions(&line, &["`nope`", "--wrt"]);
    // a function name is not a name of the program
    let line = fail(&["grad", "--wrt", "exp", "--feed", "x=1", "exp(x)"]);
    assert_mentions(&line, &["`exp`", "--wrt"]);
}

#[test]
fn a_name_given_twice() {
    // Ambiguity decided: a JSON object cannot hold a name twice (and a y
    // given twice would silently double its gradient, as tf.gradients sums
    // its ys), so a name repeated in --ys, --wrt or bench's --engine is an
    // error naming it
    let line = fail(&["eval", "--ys", "a,a", "--feed", "x=1", "a = x*2"]);
    assert_mentions(&line, &["`a`", "--ys"]);
    let line = fail(&["grad", "--wrt", "x,x", "--feed", "x=1", "x*2"]);
    assert_mentions(&line, &["`x`", "--wrt"]);
    let line = fail(&[
        "grad", "--wrt", "x", "--ys", "a,a", "--feed", "x=1", "a = x*2",
    ]);
    assert_mentions(&line, &["`a`", "--ys"]);
    let line = fail(&[
        "bench", "--engine", "jit,jit", "--repeat", "5", "--feed", "x=1", "x",
    ]);
    assert_mentions(&line, &["jit", "--engine"]);
    // a name repeated in --stop stops it once: harmless, not an error
    ok(&[
        "grad",
        "--wrt",
        "x",
        "--stop",
        "h,h",
        "--feed",
        "x=1",
        "h = x*x; y = h*x",
    ]);
}

#[test]
fn unreadable_files() {
    let dir = temp_dir("unreadable");
    let missing = dir.join("missing.gj");
    let at = format!("@{}", missing.display());
    let line = fail(&["eval", &at]);
    assert_mentions(&line, &["missing.gj"]);
    // a .npy feed that does not exist, and one that is not a .npy file
    let missing_npy = dir.join("missing.npy");
    let feed = format!("x=@{}", missing_npy.display());
    let line = fail(&["eval", "--feed", &feed, "x"]);
    assert_mentions(&line, &["missing.npy"]);
    let garbage = dir.join("garbage.npy");
    std::fs::write(&garbage, "this is not a NumPy file").unwrap();
    let feed = format!("x=@{}", garbage.display());
    let line = fail(&["eval", "--feed", &feed, "x"]);
    assert_mentions(&line, &["garbage.npy"]);
    // a directory is not a readable program
    let at = format!("@{}", dir.display());
    fail(&["eval", &at]);
    // a program file with a parse error gives the position in the file
    let prog = dir.join("bad.gj");
    std::fs::write(&prog, "a = 1\n\nb = a +\n").unwrap();
    let at = format!("@{}", prog.display());
    let line = fail(&["eval", &at]);
    assert!(line.contains("line 3"), "{line}");
    // --dot into a directory that does not exist
    let dot = dir.join("no/such/dir/g.dot");
    fail(&[
        "show",
        "--dot",
        dot.to_str().unwrap(),
        "--feed",
        "x=1",
        "x*x",
    ]);
}

#[test]
fn bad_option_values() {
    let line = fail(&["eval", "--dtype", "f16", "--feed", "x=1", "x"]);
    assert_mentions(&line, &["f16"]);
    let line = fail(&["eval", "--engine", "gpu", "--feed", "x=1", "x"]);
    assert_mentions(&line, &["gpu"]);
    let line = fail(&[
        "grad", "--engine", "gpu", "--wrt", "x", "--feed", "x=1", "x",
    ]);
    assert_mentions(&line, &["gpu"]);
    let line = fail(&[
        "grad",
        "--unconnected",
        "maybe",
        "--wrt",
        "x",
        "--feed",
        "x=1",
        "x",
    ]);
    assert_mentions(&line, &["maybe"]);
    let line = fail(&["bench", "--threads", "0", "--feed", "x=1", "x"]);
    assert_mentions(&line, &["threads"]);
    fail(&["bench", "--repeat", "many", "--feed", "x=1", "x"]);
    // the possible values are named
    let line = fail(&["eval", "--dtype", "f16", "--feed", "x=1", "x"]);
    assert_mentions(&line, &["f32", "f64"]);
    // an unknown option, an unknown subcommand, no subcommand, no program,
    // a missing required option: each named
    let line = fail(&["eval", "--frobnicate", "x"]);
    assert_mentions(&line, &["--frobnicate"]);
    let line = fail(&["evaluate", "1"]);
    assert_mentions(&line, &["evaluate"]);
    let line = fail(&[]);
    assert_mentions(&line, &["eval", "grad", "show", "bench"]);
    let line = fail(&["eval"]);
    assert_mentions(&line, &["EXPR"]);
    let line = fail(&["grad", "--feed", "x=1", "x*2"]);
    assert_mentions(&line, &["--wrt"]);
    // a program beginning with `-` needs `--`, and the message says so
    let line = fail(&["eval", "--feed", "x=1", "-x"]);
    assert_mentions(&line, &["'-x'", "--"]);
}

#[test]
fn grad_with_no_gradient_in_the_program() {
    // grad(y, x) with no path: exit 2 naming y and x; `grad` at line 2, column 6
    let line = fail(&[
        "eval",
        "--feed",
        "z=1",
        "--feed",
        "x=1",
        "y = 2*z\ny2 = grad(y, x)",
    ]);
    assert_mentions(&line, &["`y`", "`x`"]);
    assert_at(&line, 2, 6);
    // through a comparison: no gradient; the comparison is named with its place
    let line = fail(&["eval", "--feed", "x=1", "grad(x > 0, x)"]);
    assert_mentions(&line, &["`x`"]);
    assert_at(&line, 1, 1);
    // the second argument must be a name
    fail(&["eval", "--feed", "x=1", "grad(x*x, 2*x)"]);
}

/// `grad` (human-readable) of `args`; returns stdout.
fn grad_text(args: &[&str]) -> String {
    let mut full = vec!["grad"];
    full.extend_from_slice(args);
    ok(&full)
}

#[test]
fn a_none_gradient_says_why() {
    // no path: z only feeds an unused binding
    let out = grad_text(&[
        "--wrt",
        "z",
        "--feed",
        "x=1",
        "--feed",
        "z=2",
        "a = z*2\ny = x*3",
    ]);
    assert!(out.contains("no path"), "{out}");
    // through an op without a gradient: names floor and its place, line 2 column 5
    let out = grad_text(&["--wrt", "z", "--feed", "z=2", "a = 1\ny = floor(z) * a"]);
    assert!(out.contains("floor"), "{out}");
    assert!(out.contains("line 2, column 5"), "{out}");
    // through a comparison
    let out = grad_text(&["--wrt", "x", "--feed", "x=2", "y = (x > 1) * 3"]);
    assert!(out.contains("line 1, column"), "{out}");
    // through a stopped node given with --stop: names it
    let out = grad_text(&[
        "--wrt",
        "x",
        "--stop",
        "h",
        "--feed",
        "x=2",
        "h = x*x; y = h*2",
    ]);
    assert!(out.contains("`h`"), "{out}");
    assert!(out.contains("stop"), "{out}");
    // through stop_gradient in the program: names it and its place (column 5)
    let out = grad_text(&[
        "--wrt",
        "x",
        "--feed",
        "x=2",
        "h = stop_gradient(x*x); y = h*2",
    ]);
    assert!(out.contains("stop_gradient"), "{out}");
    assert!(out.contains("line 1, column 5"), "{out}");
}

#[test]
fn a_non_scalar_y_gets_a_note_about_sum() {
    let out = grad_text(&["--wrt", "x", "--feed", "x=[1, 2]", "y = x*x"]);
    assert!(out.contains("sum(y)"), "{out}");
    // not for a scalar y, nor when --grad-ys gives the upstream gradient
    let out = grad_text(&["--wrt", "x", "--feed", "x=[1, 2]", "y = sum(x*x)"]);
    assert!(!out.contains("sum(y)"), "{out}");
    let out = grad_text(&[
        "--wrt",
        "x",
        "--grad-ys",
        "[1, 1]",
        "--feed",
        "x=[1, 2]",
        "y = x*x",
    ]);
    assert!(!out.contains("sum(y)"), "{out}");
    // the note names the y it is about
    let out = grad_text(&[
        "--wrt",
        "x",
        "--ys",
        "h",
        "--feed",
        "x=[1, 2]",
        "h = x*x; y = sum(h)",
    ]);
    assert!(out.contains("sum(h)"), "{out}");
}

#[test]
fn bad_input_never_panics() {
    // a sample of odd programs: each either succeeds or exits 2 with one line
    for program in [
        ")",
        "(((",
        "[",
        "[[]]",
        "[]",
        "sum()",
        "sum(x, [0, 1, 2, 3, 4, 5])",
        "reshape(x, [-2])",
        "x ** ** 2",
        "grad(x, x)",
        "grad(grad(x, x), x)",
        "transpose(x, [5])",
        "broadcast_to(x, [-1])",
        "1e99999",
        "where(x)",
        "\u{00e9} = 1",
        "x = ",
        "= 1",
        "@",
        ";;;\n\n",
        "x @ x @ x",
        "logsumexp(x, [])",
    ] {
        let r = run(&[
            "eval",
            "--json",
            "--feed",
            "x=[[1, 2], [3, 4]]",
            "--",
            program,
        ]);
        match r.code {
            Some(0) => {
                serde_json::from_str::<serde_json::Value>(&r.stdout)
                    .unwrap_or_else(|e| panic!("`{program}`: invalid JSON ({e}): {}", r.stdout));
            }
            Some(2) => {
                assert!(r.stdout.is_empty(), "`{program}`: {}", r.stdout);
                assert_eq!(r.stderr.lines().count(), 1, "`{program}`: {}", r.stderr);
            }
            other => panic!("`{program}`: exit {other:?}\n{}", r.stderr),
        }
    }
}

#[test]
fn a_closed_stdout_is_not_a_panic() {
    // `gradjit eval ... | head -c 10`: the reader goes away before the ~1 MB
    // of output is written; the command stops quietly (as `cat` would under
    // SIGPIPE, but with status 0 and no panic message)
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_gradjit"))
        .args(["eval", "--feed", "x=rand(100000)", "x"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("gradjit runs");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("gradjit ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}
