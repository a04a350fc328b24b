//! `gradjit show` (`--json` shape, the printed programs read back, `--dot`
//! through Graphviz, `--clif`, `--wrt`) and `gradjit bench` (`--json` shape,
//! `--engine`, `--repeat`, `--threads`, `--wrt`).
//!
//! The simplifier is not pinned here: its output text and counts may change,
//! so only the shape of the JSON and the meaning of its programs are checked.

mod cli_support;

use cli_support::*;
use serde_json::Value as Json;

fn show_json(args: &[&str]) -> Json {
    let mut full = vec!["show", "--json"];
    full.extend_from_slice(args);
    json(&full)
}

fn count(v: &Json, what: &str) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("{what} should be a non-negative integer, got {v}"))
}

fn keys(v: &Json) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .unwrap_or_else(|| panic!("{v} is not an object"))
        .keys()
        .cloned()
        .collect();
    k.sort();
    k
}

/// Checks the object shape the spec gives for `show --json`.
fn check_show_shape(j: &Json) {
    assert_eq!(keys(j), ["forward", "gradient", "kernels"], "{j}");
    assert_eq!(keys(&j["forward"]), ["nodes", "text"], "{j}");
    count(&j["forward"]["nodes"], "forward.nodes");
    assert!(j["forward"]["text"].is_string(), "{j}");
    let g = &j["gradient"];
    assert_eq!(
        keys(g),
        ["passes", "raw_nodes", "simplified_nodes", "text"],
        "{j}"
    );
    let raw = count(&g["raw_nodes"], "gradient.raw_nodes");
    let simplified = count(&g["simplified_nodes"], "gradient.simplified_nodes");
    assert!(
        simplified <= raw,
        "simplification should not add operations: {j}"
    );
    assert!(g["text"].is_string(), "{j}");
    let passes = g["passes"].as_array().expect("gradient.passes is an array");
    for p in passes {
        assert_eq!(keys(p), ["name", "nodes"], "{p}");
        assert!(p["name"].is_string(), "{p}");
        count(&p["nodes"], "passes[].nodes");
    }
    // the count after the last pass is the simplified count
    if let Some(last) = passes.last() {
        assert_eq!(count(&last["nodes"], "nodes"), simplified, "{j}");
    }
    for k in j["kernels"].as_array().expect("kernels is an array") {
        assert_eq!(keys(k), ["inputs", "name", "ops", "outputs"], "{k}");
        assert!(k["name"].is_string(), "{k}");
        assert!(count(&k["ops"], "kernels[].ops") >= 1, "{k}");
        count(&k["inputs"], "kernels[].inputs");
        assert!(count(&k["outputs"], "kernels[].outputs") >= 1, "{k}");
    }
}

#[test]
fn show_json_has_the_specified_shape() {
    let j = show_json(&["--feed", "x=2", "y = x*x + 3*x"]);
    check_show_shape(&j);
    // x*x, 3*x and + are the operations; x and 3 are not counted
    assert_eq!(j["forward"]["nodes"], 3, "{j}");
    // once every input is fed the kernels are known: at least one
    assert!(!j["kernels"].as_array().unwrap().is_empty(), "{j}");
    // a gradient needs at least an operation
    assert!(count(&j["gradient"]["simplified_nodes"], "n") >= 1, "{j}");
    // more shapes: a reduction and a matrix product, two inputs
    let j = show_json(&[
        "--feed",
        "W=rand(3,2)",
        "--feed",
        "v=rand(2,1)",
        "loss = sum(tanh(W @ v))",
    ]);
    check_show_shape(&j);
    // matmul, tanh, sum
    assert_eq!(j["forward"]["nodes"], 3, "{j}");
    // without feeds: still the graphs
    let j = show_json(&["y = x*x + 3*x"]);
    check_show_shape(&j);
    assert_eq!(j["forward"]["nodes"], 3, "{j}");
}

#[test]
fn show_of_a_program_without_inputs() {
    // nothing to differentiate: the gradient graph is empty
    let j = show_json(&["1 + 2"]);
    check_show_shape(&j);
    assert_eq!(j["forward"]["nodes"], 1, "{j}");
    assert_eq!(j["gradient"]["raw_nodes"], 0, "{j}");
    assert_eq!(j["gradient"]["simplified_nodes"], 0, "{j}");
    ok(&["show", "1 + 2"]);
}

/// Evaluates a printed program with the feeds, returning its JSON outputs.
fn eval_text(text: &str, feeds: &[&str], dtype: &str) -> Json {
    let mut args = vec!["eval", "--json", "--dtype", dtype];
    for f in feeds {
        args.extend_from_slice(&["--feed", f]);
    }
    args.extend_from_slice(&["--", text]);
    json(&args)["outputs"].clone()
}

#[test]
fn the_printed_programs_read_back_as_the_same_computation() {
    // forward and gradient texts are programs of the language: evaluated
    // with the same feeds they give the output and the gradient
    for (program, feeds, wrt) in [
        ("y = x*x + 3*x", vec!["x=2"], "x"),
        (
            "loss = sum(tanh(W @ v) * [[1], [2], [3]])",
            vec!["W=rand(3,2)", "v=rand(2,1)"],
            "W",
        ),
        (
            "m = max(x, 1, 1); y = logsumexp(x - m, -1)",
            vec!["x=rand(2,3)"],
            "x",
        ),
        (
            "s = sum(reshape(transpose(x), [-1]) * [1, 2, 3, 4, 5, 6]); s * s",
            vec!["x=rand(2,3)"],
            "x",
        ),
        // the output is called y although an input is called y
        ("x*y + sin(y)", vec!["x=2", "y=3"], "y"),
    ] {
        let mut args = vec!["--dtype", "f64", "--wrt", wrt];
        for f in &feeds {
            args.extend_from_slice(&["--feed", f]);
        }
        args.push(program);
        let j = show_json(&args);
        check_show_shape(&j);
        let mut gargs = vec!["grad", "--json"];
        gargs.extend_from_slice(&args);
        let g = json(&gargs);
        let y = tensor(g["ys"].as_object().unwrap().values().next().unwrap());
        let dx = tensor(&g["grads"][wrt]);

        let forward = j["forward"]["text"].as_str().unwrap();
        let out = eval_text(forward, &feeds, "f64");
        let got = tensor(out.as_object().unwrap().values().next().unwrap());
        assert_tensor(
            &got,
            &y.shape,
            &y.data,
            1e-12,
            1e-12,
            &format!("forward text {forward:?}"),
        );

        // the last statement of the gradient text is the gradient of the one x
        let text = j["gradient"]["text"].as_str().unwrap();
        let out = eval_text(text, &feeds, "f64");
        let got = tensor(out.as_object().unwrap().values().next().unwrap());
        assert_tensor(
            &got,
            &dx.shape,
            &dx.data,
            1e-12,
            1e-12,
            &format!("gradient text {text:?}"),
        );
    }
}

#[test]
fn show_human_output_has_the_graphs_and_kernels() {
    let args = ["--feed", "x=rand(4)", "y = sum(exp(x) * x)"];
    let mut full = vec!["show", "--json"];
    full.extend_from_slice(&args);
    let j = json(&full);
    let mut full = vec!["show"];
    full.extend_from_slice(&args);
    let out = ok(&full);
    // the programs of the JSON, and each kernel's name, appear in the text
    for text in [&j["forward"]["text"], &j["gradient"]["text"]] {
        for line in text.as_str().unwrap().lines() {
            assert!(out.contains(line.trim()), "`{line}` missing from:\n{out}");
        }
    }
    for k in j["kernels"].as_array().unwrap() {
        assert!(
            out.contains(k["name"].as_str().unwrap()),
            "{k} missing from:\n{out}"
        );
    }
    for p in j["gradient"]["passes"].as_array().unwrap() {
        assert!(
            out.contains(p["name"].as_str().unwrap()),
            "{p} missing from:\n{out}"
        );
    }
}

#[test]
fn show_wrt_picks_the_xs() {
    // the gradient of x*y with respect to x alone is y: one statement ends
    // the program, and evaluating it gives y = 3
    let j = show_json(&["--wrt", "x", "--feed", "x=2", "--feed", "y=3", "z = x*y"]);
    check_show_shape(&j);
    let text = j["gradient"]["text"].as_str().unwrap();
    // simplified, d(x*y)/dx is just `y`: x is not an input of that program
    let out = eval_text(text, &["y=3"], "f32");
    assert_eq!(out.as_object().unwrap().len(), 1, "{text}");
    assert_eq!(
        number(out.as_object().unwrap().values().next().unwrap()),
        3.0
    );
    // a wrong --wrt name is an error
    let line = fail(&["show", "--wrt", "q", "--feed", "x=2", "x*x"]);
    assert_mentions(&line, &["`q`"]);
}

#[test]
fn show_dot_writes_a_graphviz_file() {
    let dir = temp_dir("show_dot");
    let path = dir.join("g.dot");
    let p = path.to_str().unwrap();
    ok(&[
        "show",
        "--dot",
        p,
        "--feed",
        "x=rand(3)",
        "--feed",
        "w=rand(3)",
        "y = sum(tanh(w * x))",
    ]);
    let text = std::fs::read_to_string(&path).expect("the dot file is written");
    assert!(text.contains("digraph"), "{text}");
    // kernels are drawn as clusters: Graphviz clusters are subgraphs whose
    // name begins with `cluster`
    assert!(text.contains("subgraph cluster"), "{text}");
    // and also without feeds (no kernels)
    let path2 = dir.join("g2.dot");
    ok(&["show", "--dot", path2.to_str().unwrap(), "y = x*x"]);
    let dot = std::process::Command::new("dot").arg("-V").output();
    if !matches!(dot, Ok(ref o) if o.status.success()) {
        println!("SKIPPED: Graphviz `dot` is not installed; the files were not checked by it");
        return;
    }
    for f in [&path, &path2] {
        let out = std::process::Command::new("dot")
            .arg("-Tsvg")
            .arg(f)
            .output()
            .expect("dot runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "dot -Tsvg {} failed: {stderr}",
            f.display()
        );
        assert!(
            !stderr.contains("Warning") && !stderr.contains("Error"),
            "dot -Tsvg {}: {stderr}",
            f.display()
        );
        let svg = String::from_utf8_lossy(&out.stdout);
        assert!(svg.contains("<svg"), "{svg}");
        // labels break lines rather than showing an escape: no `\n` is drawn
        assert!(
            !svg.contains("\\n"),
            "a literal \\n is drawn in {}:\n{svg}",
            f.display()
        );
    }
    // the operation is a line of its node's label on its own
    let out = std::process::Command::new("dot")
        .arg("-Tsvg")
        .arg(&path)
        .output()
        .expect("dot runs");
    assert!(String::from_utf8_lossy(&out.stdout).contains(">tanh</text>"));
}

#[test]
fn show_clif_prints_cranelift_ir() {
    let out = ok(&[
        "show",
        "--clif",
        "--feed",
        "x=rand(3)",
        "y = sum(exp(x) * x)",
    ]);
    assert!(out.contains("function"), "{out}");
    assert!(out.contains("return"), "{out}");
}

fn bench_json(args: &[&str]) -> Json {
    let mut full = vec!["bench", "--json"];
    full.extend_from_slice(args);
    json(&full)
}

fn check_engine(j: &Json, engine: &str, calls: u64) {
    let e = &j["engines"][engine];
    assert_eq!(keys(e), ["calls", "compile_ms", "median_ms"], "{j}");
    for k in ["compile_ms", "median_ms"] {
        let v = e[k]
            .as_f64()
            .unwrap_or_else(|| panic!("{k} is not a number: {j}"));
        assert!(v.is_finite() && v >= 0.0, "{engine}.{k} = {v}");
    }
    assert_eq!(count(&e["calls"], "calls"), calls, "{j}");
}

#[test]
fn bench_json_shape_with_all_engines() {
    let j = bench_json(&["--repeat", "5", "--feed", "x=rand(8)", "y = sum(x*x)"]);
    assert_eq!(keys(&j), ["engines"], "{j}");
    let mut all: Vec<String> = ENGINES.iter().map(|e| e.to_string()).collect();
    all.sort();
    assert_eq!(keys(&j["engines"]), all, "{j}");
    for e in ENGINES {
        check_engine(&j, e, 5);
    }
}

#[test]
fn bench_options() {
    // chosen engines, more calls, gradients, threads
    let j = bench_json(&[
        "--engine",
        "jit,interp",
        "--repeat",
        "7",
        "--wrt",
        "x",
        "--feed",
        "x=rand(4,3)",
        "y = sum(tanh(x))",
    ]);
    assert_eq!(keys(&j["engines"]), ["interp", "jit"], "{j}");
    check_engine(&j, "jit", 7);
    check_engine(&j, "interp", 7);
    let j = bench_json(&[
        "--engine=jit-mt",
        "--threads",
        "2",
        "--repeat=5",
        "--feed",
        "x=rand(16)",
        "x * 2",
    ]);
    assert_eq!(keys(&j["engines"]), ["jit-mt"], "{j}");
    check_engine(&j, "jit-mt", 5);
    let j = bench_json(&[
        "--engine",
        "jit-unfused",
        "--repeat",
        "5",
        "--feed",
        "x=rand(2,2)",
        "x @ x",
    ]);
    check_engine(&j, "jit-unfused", 5);
    // fewer than 5 calls are not a meaningful median: at least 5 are made
    let j = bench_json(&[
        "--engine", "interp", "--repeat", "1", "--feed", "x=1", "x + 1",
    ]);
    assert!(count(&j["engines"]["interp"]["calls"], "calls") >= 5, "{j}");
    // the human table names each engine
    let out = ok(&[
        "bench",
        "--repeat",
        "5",
        "--engine",
        "jit,interp",
        "--feed",
        "x=1",
        "x + 1",
    ]);
    assert!(out.contains("jit") && out.contains("interp"), "{out}");
    // errors
    let line = fail(&["bench", "--engine", "gpu", "--feed", "x=1", "x"]);
    assert_mentions(&line, &["gpu"]);
    let line = fail(&["bench", "--wrt", "q", "--feed", "x=1", "x"]);
    assert_mentions(&line, &["`q`"]);
}

/// The contract's own example: the simplified gradient of `x*x + 3*x` has
/// at most 2 operations.
#[test]
fn show_simplified_gradient_of_the_seed_program_has_two_operations() {
    // d(x*x + 3*x)/dx simplifies to 2*x + 3: a multiplication and an addition
    let j = show_json(&["--feed", "x=2", "y = x*x + 3*x"]);
    assert_eq!(j["gradient"]["simplified_nodes"], 2, "{j}");
    let j = show_json(&["y = x*x + 3*x"]);
    assert_eq!(j["gradient"]["simplified_nodes"], 2, "{j}");
}

#[test]
fn show_prints_the_plan_as_compiled() {
    // a small elementwise step runs as the whole-program function
    let out = ok(&["show", "--wrt", "x", "--feed", "x=rand(5)", "y = x*x + 3*x"]);
    assert!(out.contains("plan as compiled (jit):"), "{out}");
    assert!(out.contains("1. kernel k0: x -> output #0"), "{out}");
    assert!(out.contains("run: the whole-program function"), "{out}");
    // a product over a batch of 2048 rows runs in blocks, in the function
    let out = ok(&[
        "show",
        "--wrt",
        "w",
        "--feed",
        "X=rand(2048,8)",
        "--feed",
        "w=rand(8,16)",
        "y = sum(tanh(X @ w))",
    ]);
    assert!(out.contains("matmul: X, w -> "), "{out}");
    assert!(out.contains(" blocks of 2048 rows"), "{out}");
    assert!(out.contains("run: the whole-program function"), "{out}");
}
