//! `gradjit aot` with a real C compiler (`shared/spec/aot.md`): for the
//! seed programs, B2 at N = 1000, B3 and B4 at small N and a program with a
//! gradient that is none, the object is compiled into a C program built
//! with `-std=c99 -Wall -Wextra -Werror -pedantic`, linked as a default
//! (PIE) executable, with `-Wl,-z,text` and as a shared library, without a
//! linker warning; `nm -u` shows only the C library's symbols; two
//! prefixes link into one binary; the results match the interpreter and,
//! with `--target native`, `Executable::entry` (the JIT's whole-program
//! function) bit for bit. Tests that need `cc` skip with a printed reason
//! where there is none.

use std::path::{Path, PathBuf};
use std::process::Command;

use gradjit::autodiff::{gradients, GradientOptions};
use gradjit::exec::{compile, CompileOptions, Engine};
use gradjit::graph::Shape;
use gradjit::text::{parse, ParseOptions};
use gradjit::{DType, Graph, NodeId, Session, Value};
use ndarray::ArrayD;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

const GRADJIT: &str = env!("CARGO_BIN_EXE_gradjit");

/// A program compiled ahead of time.
struct Case {
    prefix: &'static str,
    text: &'static str,
    wrt: &'static [&'static str],
    /// Inputs in the order they first appear in the text.
    inputs: Vec<(&'static str, Vec<usize>)>,
    /// The header's outputs: the y, then each connected gradient.
    outputs: Vec<&'static str>,
    dtype: DType,
}

fn cases(dtype: DType) -> Vec<Case> {
    let n = vec![1000];
    vec![
        Case {
            prefix: "seed",
            text: "y = x*x + 3*x",
            wrt: &["x"],
            inputs: vec![("x", vec![7])],
            outputs: vec!["y", "d_x"],
            dtype,
        },
        Case {
            prefix: "seed2",
            text: "z = x*y + y*y",
            wrt: &["x", "y"],
            inputs: vec![("x", vec![]), ("y", vec![])],
            outputs: vec!["z", "d_x", "d_y"],
            dtype,
        },
        Case {
            prefix: "b2",
            text: "y = sum(tanh(a*x + b) * sigmoid(c*x) + exp(-x*x))",
            wrt: &["x", "a", "b", "c"],
            inputs: vec![
                ("a", n.clone()),
                ("x", n.clone()),
                ("b", n.clone()),
                ("c", n),
            ],
            outputs: vec!["y", "d_x", "d_a", "d_b", "d_c"],
            dtype,
        },
        Case {
            prefix: "b3",
            text: "loss = mean(softplus(-t * (X @ w + b)))",
            wrt: &["w", "b"],
            inputs: vec![
                ("t", vec![37, 1]),
                ("X", vec![37, 64]),
                ("w", vec![64, 1]),
                ("b", vec![1]),
            ],
            outputs: vec!["loss", "d_w", "d_b"],
            dtype,
        },
        Case {
            prefix: "b4",
            text: "h = tanh(X @ W1 + b1); o = h @ W2 + b2; loss = mean((o - T)**2)",
            wrt: &["W1", "b1", "W2", "b2"],
            inputs: vec![
                ("X", vec![29, 32]),
                ("W1", vec![32, 64]),
                ("b1", vec![64]),
                ("W2", vec![64, 1]),
                ("b2", vec![1]),
                ("T", vec![29, 1]),
            ],
            outputs: vec!["loss", "d_W1", "d_b1", "d_W2", "d_b2"],
            dtype,
        },
        Case {
            // a batch large enough to run in blocks of rows, the last
            // blocks one row lower than the first
            prefix: "b4blocks",
            text: "h = tanh(X @ W1 + b1); o = h @ W2 + b2; loss = mean((o - T)**2) + max(h)",
            wrt: &["W1", "b1", "W2", "b2"],
            inputs: vec![
                ("X", vec![3001, 32]),
                ("W1", vec![32, 64]),
                ("b1", vec![64]),
                ("W2", vec![64, 1]),
                ("b2", vec![1]),
                ("T", vec![3001, 1]),
            ],
            outputs: vec!["loss", "d_W1", "d_b1", "d_W2", "d_b2"],
            dtype,
        },
        Case {
            // products with more than one chunk of the contracted axis,
            // transposed operands, and their gradients
            prefix: "prods",
            text: "y = sum(a @ b) + sum(transpose(c) @ d)",
            wrt: &["a", "b", "c", "d"],
            inputs: vec![
                ("a", vec![5, 600]),
                ("b", vec![600, 9]),
                ("c", vec![520, 3]),
                ("d", vec![520, 7]),
            ],
            outputs: vec!["y", "d_a", "d_b", "d_c", "d_d"],
            dtype,
        },
        Case {
            prefix: "b5",
            text: "h = relu(X @ W1 + b1); logits = h @ W2 + b2\nloss = mean(sparse_softmax_cross_entropy(labels, logits))",
            wrt: &["W1", "b1", "W2", "b2"],
            inputs: vec![
                ("X", vec![13, 30]),
                ("W1", vec![30, 16]),
                ("b1", vec![16]),
                ("W2", vec![16, 10]),
                ("b2", vec![10]),
                ("labels", vec![13]),
            ],
            outputs: vec!["loss", "d_W1", "d_b1", "d_W2", "d_b2"],
            dtype,
        },
        Case {
            prefix: "b6",
            text: "c1 = relu(conv2d(X, K1, 1, \"SAME\") + k1); p1 = max_pool2d(c1, 2)\nc2 = relu(conv2d(p1, K2, 1, \"SAME\") + k2); p2 = max_pool2d(c2, 2)\nlogits = reshape(p2, [-1, 1568]) @ W + b\nloss = mean(sparse_softmax_cross_entropy(labels, logits))",
            wrt: &["K1", "k1", "K2", "k2", "W", "b"],
            inputs: vec![
                ("X", vec![2, 28, 28, 1]),
                ("K1", vec![3, 3, 1, 16]),
                ("k1", vec![16]),
                ("K2", vec![3, 3, 16, 32]),
                ("k2", vec![32]),
                ("W", vec![1568, 10]),
                ("b", vec![10]),
                ("labels", vec![2]),
            ],
            outputs: vec!["loss", "d_K1", "d_k1", "d_K2", "d_k2", "d_W", "d_b"],
            dtype,
        },
        Case {
            // no inputs: a constant output, copied from read-only data
            prefix: "noinput",
            text: "y = reshape([1, 2, 3, 4, 5, 6], [2, 3]) * 2",
            wrt: &[],
            inputs: vec![],
            outputs: vec!["y"],
            dtype,
        },
        Case {
            // `k`'s gradient is none: the header has no field for it
            prefix: "nograd",
            text: "y = sum(sin(x) * 2) + floor(k)",
            wrt: &["x", "k"],
            inputs: vec![("x", vec![5]), ("k", vec![])],
            outputs: vec!["y", "d_x"],
            dtype,
        },
    ]
}

/// The C compiler, or `None` with the reason printed.
fn cc() -> Option<&'static str> {
    match Command::new("cc").arg("--version").output() {
        Ok(o) if o.status.success() => Some("cc"),
        _ => {
            eprintln!("skipped: no C compiler `cc` on this machine");
            None
        }
    }
}

fn scratch_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gradjit-aot-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("a temporary directory");
    d
}

fn run(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().expect("the command starts");
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `gradjit aot` for `c` into `dir`; returns the object's path.
fn aot(c: &Case, dir: &Path, target: &str) -> PathBuf {
    let obj = dir.join(format!("{}.o", c.prefix));
    let mut cmd = Command::new(GRADJIT);
    cmd.arg("aot").arg(c.text);
    if !c.wrt.is_empty() {
        cmd.arg("--wrt").arg(c.wrt.join(","));
    }
    for (n, d) in &c.inputs {
        let dims: Vec<String> = d.iter().map(usize::to_string).collect();
        cmd.arg("--shape").arg(format!("{n}=[{}]", dims.join(",")));
    }
    cmd.args(["--dtype", if c.dtype == DType::F32 { "f32" } else { "f64" }]);
    cmd.args(["--target", target, "-o"]).arg(&obj);
    let out = run(&mut cmd);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    obj
}

fn c_type(dtype: DType) -> &'static str {
    if dtype == DType::F32 {
        "float"
    } else {
        "double"
    }
}

/// C code that reads each input of `c` from a file, calls the function
/// and appends each output to another file; `main_name` names the function.
fn c_runner(c: &Case, fn_name: &str) -> String {
    let (p, t) = (c.prefix, c_type(c.dtype));
    let mut s = format!("static int {fn_name}(FILE *in_file, FILE *out_file) {{\n");
    s += &format!("    struct {p}_inputs in;\n    struct {p}_outputs out;\n");
    s += "    unsigned char *raw;\n    void *scratch;\n    int rc;\n    (void)in_file;\n";
    for (n, _) in &c.inputs {
        s += &format!(
            "    {t} *in_{n} = ({t} *)malloc(sizeof({t}) * {p}_{n}_COUNT + 1);\n    \
             if (fread(in_{n}, sizeof({t}), {p}_{n}_COUNT, in_file) != (size_t){p}_{n}_COUNT) return 90;\n    \
             in.{n} = in_{n};\n"
        );
    }
    if c.inputs.is_empty() {
        s += &format!("    in.{p}_unused_ = 0;\n");
    }
    for n in &c.outputs {
        s += &format!("    out.{n} = ({t} *)malloc(sizeof({t}) * {p}_{n}_COUNT + 1);\n");
    }
    s += &format!(
        "    raw = (unsigned char *)malloc({p}_SCRATCH_BYTES + {p}_SCRATCH_ALIGN);\n    \
         scratch = raw + ({p}_SCRATCH_ALIGN - (uintptr_t)raw % {p}_SCRATCH_ALIGN) % {p}_SCRATCH_ALIGN;\n    \
         rc = {p}_run(&in, &out, scratch);\n    \
         if (rc != 0) {{ fprintf(stderr, \"%s\\n\", {p}_error(rc)); return rc; }}\n"
    );
    for n in &c.outputs {
        s += &format!(
            "    if (fwrite(out.{n}, sizeof({t}), {p}_{n}_COUNT, out_file) != (size_t){p}_{n}_COUNT) return 91;\n"
        );
    }
    s += "    free(raw);\n    return 0;\n}\n";
    s
}

const FLAGS: [&str; 5] = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"];

/// Builds `main.c` calling each case's runner in turn, linked with the
/// objects, as a default executable; returns its path.
fn build_main(dir: &Path, cases: &[&Case], objs: &[PathBuf], extra: &[&str]) -> PathBuf {
    let mut src = String::from("#include <stdio.h>\n#include <stdlib.h>\n#include <stdint.h>\n");
    for c in cases {
        src += &format!("#include \"{}.h\"\n", c.prefix);
    }
    for (i, c) in cases.iter().enumerate() {
        src += &c_runner(c, &format!("case{i}"));
    }
    src += "int main(int argc, char **argv) {\n    FILE *in_file, *out_file;\n    int rc = 0;\n";
    src += "    if (argc != 3) return 92;\n    in_file = fopen(argv[1], \"rb\");\n    out_file = fopen(argv[2], \"wb\");\n";
    src += "    if (!in_file || !out_file) return 93;\n";
    for i in 0..cases.len() {
        src += &format!("    if (rc == 0) rc = case{i}(in_file, out_file);\n");
    }
    src += "    fclose(in_file);\n    fclose(out_file);\n    return rc;\n}\n";
    let main_c = dir.join("main.c");
    std::fs::write(&main_c, src).expect("writes main.c");
    let exe = dir.join(format!("main{}", extra.len()));
    let out = run(Command::new("cc")
        .args(FLAGS)
        .arg("-I")
        .arg(dir)
        .arg(&main_c)
        .args(objs)
        .args(extra)
        .arg("-lm")
        .arg("-o")
        .arg(&exe));
    assert!(
        out.stderr.is_empty(),
        "the compiler or linker warned: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

/// Random inputs for `c`, in header order.
fn inputs(c: &Case, seed: u64) -> Vec<ArrayD<f64>> {
    let mut rng = SmallRng::seed_from_u64(seed);
    c.inputs
        .iter()
        .map(|(name, d)| {
            let n: usize = d.iter().product();
            let v: Vec<f64> = (0..n)
                .map(|_| match *name {
                    // class labels: integers in [0, 10)
                    "labels" => f64::from(rng.gen_range(0..10u8)),
                    _ => rng.gen_range(-1.0..1.0),
                })
                .collect();
            let v: Vec<f64> = if c.dtype == DType::F32 {
                v.iter().map(|&x| f64::from(x as f32)).collect()
            } else {
                v
            };
            ArrayD::from_shape_vec(d.clone(), v).expect("sizes")
        })
        .collect()
}

fn to_bytes(dtype: DType, values: impl Iterator<Item = f64>) -> Vec<u8> {
    let mut b = Vec::new();
    for v in values {
        if dtype == DType::F32 {
            b.extend((v as f32).to_le_bytes());
        } else {
            b.extend(v.to_le_bytes());
        }
    }
    b
}

fn from_bytes(dtype: DType, b: &[u8]) -> Vec<f64> {
    if dtype == DType::F32 {
        b.chunks_exact(4)
            .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
            .collect()
    } else {
        b.chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect()
    }
}

/// The graph of `c` with its fetches (y, then connected gradients) and
/// placeholders, for the library's engines.
fn graph(c: &Case) -> (Graph, Vec<NodeId>, Vec<NodeId>) {
    let g = Graph::new();
    let prog = parse(
        &g,
        c.text,
        &ParseOptions {
            dtype: c.dtype,
            input_shapes: c
                .inputs
                .iter()
                .map(|(n, d)| (n.to_string(), Shape::known(d)))
                .collect(),
            ..Default::default()
        },
    )
    .expect("parses");
    let id = |n: &str| {
        prog.inputs
            .iter()
            .find(|(m, _)| m == n)
            .map(|(_, i)| *i)
            .expect("an input")
    };
    let xs: Vec<NodeId> = c.wrt.iter().map(|n| id(n)).collect();
    let mut fetch = vec![prog.output];
    if !xs.is_empty() {
        fetch.extend(
            gradients(&g, &[prog.output], &xs, &GradientOptions::default())
                .expect("gradients")
                .into_iter()
                .flatten(),
        );
    }
    let placeholders = c.inputs.iter().map(|(n, _)| id(n)).collect();
    (g, fetch, placeholders)
}

/// The interpreter's outputs of `c` (and the placeholders' values).
fn reference(c: &Case, xs: &[ArrayD<f64>]) -> (Vec<Vec<f64>>, Vec<Value>) {
    let (g, fetch, ph) = graph(c);
    let values: Vec<Value> = xs
        .iter()
        .map(|a| Value::from_f64_array(a.clone(), c.dtype))
        .collect();
    let t: Vec<_> = fetch.iter().map(|&i| g.tensor(i)).collect();
    let f: Vec<_> = ph
        .iter()
        .zip(&values)
        .map(|(&i, v)| (g.tensor(i), v))
        .collect();
    let out = Session::with_engine(&g, Engine::Interp)
        .run(&t, &f)
        .expect("the interpreter runs");
    (out.iter().map(|v| v.to_f64_vec()).collect(), values)
}

/// `Executable::entry`'s outputs of `c`, through `run_entry`.
fn jit_entry(c: &Case, xs: &[ArrayD<f64>]) -> Vec<f64> {
    let (g, fetch, ph) = graph(c);
    let shapes: Vec<(NodeId, Vec<usize>)> = ph
        .iter()
        .zip(xs)
        .map(|(&i, a)| (i, a.shape().to_vec()))
        .collect();
    let exe = compile(&g, &fetch, &shapes, &CompileOptions::default()).expect("compiles");
    if c.prefix.ends_with("blocks") {
        assert!(
            exe.row_blocks().iter().any(|r| r.blocks > 2),
            "{}",
            c.prefix
        );
    }
    let values: Vec<Value> = xs
        .iter()
        .map(|a| Value::from_f64_array(a.clone(), c.dtype))
        .collect();
    let names: Vec<&str> = c.inputs.iter().map(|(n, _)| *n).collect();
    let order = exe.feed_order(&names).expect("named");
    let views: Vec<_> = order.iter().map(|&k| values[k].view()).collect();
    let mut outs: Vec<Value> = exe
        .output_shapes()
        .iter()
        .map(|s| Value::from_f64_array(ArrayD::zeros(s.clone()), c.dtype))
        .collect();
    let mut ov: Vec<_> = outs.iter_mut().map(Value::view_mut).collect();
    exe.run_entry(&views, &mut ov).expect("the entry runs");
    drop(ov);
    let entry: Vec<f64> = outs.iter().flat_map(|v| v.to_f64_vec()).collect();
    // what `--engine jit` runs: the same function where it runs whole
    let run: Vec<f64> = exe
        .run(&views)
        .expect("runs")
        .iter()
        .flat_map(|v| v.to_f64_vec())
        .collect();
    for (k, (a, b)) in entry.iter().zip(&run).enumerate() {
        assert!(
            a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
            "{}: element {k}: entry {a}, run {b}",
            c.prefix
        );
    }
    entry
}

fn assert_close(what: &str, got: &[f64], want: &[f64], dtype: DType) {
    assert_eq!(got.len(), want.len(), "{what}: element count");
    let tol = if dtype == DType::F32 { 1e-4 } else { 1e-10 };
    let scale = want.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert!(
            (a - b).abs() <= tol * scale,
            "{what}: element {i}: C {a}, interpreter {b}"
        );
    }
}

#[test]
fn c_programs_agree_with_the_interpreter() {
    let Some(_) = cc() else { return };
    for dtype in [DType::F32, DType::F64] {
        let cases = cases(dtype);
        let dir = scratch_dir(&format!("agree-{dtype:?}"));
        let objs: Vec<PathBuf> = cases.iter().map(|c| aot(c, &dir, "x86-64-v2")).collect();
        // every object in one binary: distinct prefixes link together
        let refs: Vec<&Case> = cases.iter().collect();
        let exe = build_main(&dir, &refs, &objs, &[]);
        let ins: Vec<Vec<ArrayD<f64>>> = cases
            .iter()
            .enumerate()
            .map(|(i, c)| inputs(c, 100 + i as u64))
            .collect();
        let got = run_main_each(&exe, &dir, &refs, &ins);
        for ((c, xs), g) in cases.iter().zip(&ins).zip(&got) {
            let want: Vec<f64> = reference(c, xs).0.concat();
            assert_close(&format!("{} ({dtype:?})", c.prefix), g, &want, dtype);
        }
    }
}

/// Like `run_main`, for cases whose inputs differ per case.
fn run_main_each(
    exe: &Path,
    dir: &Path,
    cases: &[&Case],
    ins: &[Vec<ArrayD<f64>>],
) -> Vec<Vec<f64>> {
    let mut bytes = Vec::new();
    for (c, xs) in cases.iter().zip(ins) {
        for x in xs {
            bytes.extend(to_bytes(c.dtype, x.iter().copied()));
        }
    }
    let (fin, fout) = (dir.join("in.bin"), dir.join("out.bin"));
    std::fs::write(&fin, bytes).expect("writes the inputs");
    run(Command::new(exe).arg(&fin).arg(&fout));
    let all = std::fs::read(&fout).expect("reads the outputs");
    let mut at = 0;
    cases
        .iter()
        .zip(ins)
        .map(|(c, xs)| {
            let size = if c.dtype == DType::F32 { 4 } else { 8 };
            let n: usize = reference(c, xs).0.iter().map(Vec::len).sum();
            let v = from_bytes(c.dtype, &all[at..at + n * size]);
            at += n * size;
            v
        })
        .collect()
}

#[test]
fn native_objects_compute_the_jits_bits() {
    let Some(_) = cc() else { return };
    for dtype in [DType::F32, DType::F64] {
        let dir = scratch_dir(&format!("native-{dtype:?}"));
        for (i, c) in cases(dtype).iter().enumerate() {
            let obj = aot(c, &dir, "native");
            let exe = build_main(&dir, &[c], &[obj], &[]);
            let xs = inputs(c, 200 + i as u64);
            let got = run_main_each(&exe, &dir, &[c], std::slice::from_ref(&xs));
            let want = jit_entry(c, &xs);
            assert_eq!(got[0].len(), want.len());
            for (k, (a, b)) in got[0].iter().zip(&want).enumerate() {
                assert!(
                    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
                    "{} ({dtype:?}) element {k}: object {a}, JIT {b}",
                    c.prefix
                );
            }
        }
    }
}

#[test]
fn objects_link_without_text_relocations_and_import_only_libc() {
    let Some(_) = cc() else { return };
    let dir = scratch_dir("link");
    let cases = cases(DType::F32);
    for c in &cases {
        let obj = aot(c, &dir, "x86-64-v2");
        // -z text: no relocation in read-only segments
        build_main(&dir, &[c], std::slice::from_ref(&obj), &["-Wl,-z,text"]);
        let so = dir.join(format!("lib{}.so", c.prefix));
        let out = run(Command::new("cc")
            .args(["-shared", "-Wl,-z,text", "-o"])
            .arg(&so)
            .arg(&obj));
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let nm = run(Command::new("nm").arg("-u").arg(&obj));
        let libc = [
            "memcpy",
            "memmove",
            "memset",
            "sin",
            "cos",
            "tan",
            "sinf",
            "cosf",
            "tanf",
            "fma",
            "fmaf",
            "ceil",
            "ceilf",
            "floor",
            "floorf",
            "trunc",
            "truncf",
            "nearbyint",
            "nearbyintf",
        ];
        for line in String::from_utf8_lossy(&nm.stdout).lines() {
            let sym = line.split_whitespace().last().unwrap_or_default();
            assert!(libc.contains(&sym), "{}: undefined `{sym}`", c.prefix);
        }
        // defined globally: the two functions, nothing else
        let nm = run(Command::new("nm").args(["-g", "--defined-only"]).arg(&obj));
        let mut globals: Vec<String> = String::from_utf8_lossy(&nm.stdout)
            .lines()
            .filter_map(|l| l.split_whitespace().last().map(str::to_string))
            .collect();
        globals.sort();
        assert_eq!(
            globals,
            vec![format!("{}_error", c.prefix), format!("{}_run", c.prefix)]
        );
    }
}

#[test]
fn headers_compile_as_cpp() {
    if Command::new("c++").arg("--version").output().is_err() {
        eprintln!("skipped: no C++ compiler `c++` on this machine");
        return;
    }
    let dir = scratch_dir("cpp");
    let c = &cases(DType::F64)[3];
    aot(c, &dir, "x86-64-v2");
    let src = dir.join("use.cpp");
    std::fs::write(
        &src,
        format!(
            "#include \"{0}.h\"\nint main() {{ return {0}_error(0) == nullptr; }}\n",
            c.prefix
        ),
    )
    .expect("writes");
    run(Command::new("c++")
        .args([
            "-std=c++20",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-c",
            "-o",
        ])
        .arg(dir.join("use.o"))
        .arg(&src));
}

#[test]
fn cross_targets_make_valid_objects() {
    let dir = scratch_dir("cross");
    let c = &cases(DType::F32)[4];
    for (target, machine) in [
        ("aarch64-unknown-linux-gnu", "AArch64"),
        ("x86-64-v3", "X86-64"),
    ] {
        let obj = aot(c, &dir, target);
        let bytes = std::fs::read(&obj).expect("the object");
        assert_eq!(&bytes[..4], b"\x7fELF", "{target}");
        // e_machine: 183 AArch64, 62 x86-64
        let m = u16::from_le_bytes([bytes[18], bytes[19]]);
        let want = if machine == "AArch64" { 183 } else { 62 };
        assert_eq!(m, want, "{target}");
    }
}

#[test]
fn error_messages_are_static_for_any_code() {
    let Some(_) = cc() else { return };
    let dir = scratch_dir("errors");
    let c = &cases(DType::F32)[0];
    let obj = aot(c, &dir, "x86-64-v2");
    let src = dir.join("err.c");
    std::fs::write(
        &src,
        "#include <stdio.h>\n#include \"seed.h\"\nint main(void) {\n    int codes[5] = {0, 1, 2, -1, 1000};\n    int i;\n    for (i = 0; i < 5; i++) {\n        const char *m = seed_error(codes[i]);\n        if (!m) return 1;\n        printf(\"%s\\n\", m);\n    }\n    return 0;\n}\n",
    )
    .expect("writes");
    let exe = dir.join("err");
    run(Command::new("cc")
        .args(FLAGS)
        .arg("-I")
        .arg(&dir)
        .arg(&src)
        .arg(&obj)
        .arg("-lm")
        .arg("-o")
        .arg(&exe));
    let out = run(&mut Command::new(&exe));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 5);
    assert_eq!(text.lines().next(), Some("no error"));
}

/// Runs `gradjit aot` expecting a refusal: exit status 2, one line on
/// stderr, and no file written.
fn refused(args: &[&str], why: &str) {
    let dir = scratch_dir("refused");
    let obj = dir.join("p.o");
    let out = Command::new(GRADJIT)
        .arg("aot")
        .args(args)
        .arg("-o")
        .arg(&obj)
        .output()
        .expect("starts");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    assert!(
        err.contains(why),
        "{args:?}: `{err}` should mention `{why}`"
    );
    assert!(
        !obj.exists() && !dir.join("p.h").exists(),
        "{args:?} wrote a file"
    );
}

#[test]
fn bad_input_is_refused_without_writing() {
    refused(&["y = x*2"], "has no shape");
    refused(&["y = x*2", "--shape", "x=[2]", "--name", "int"], "keyword");
    refused(
        &["y = x*2", "--shape", "x=[2]", "--name", "9lives"],
        "not a C identifier",
    );
    refused(
        &["y = x*2", "--shape", "x=[2]", "--shape", "z=[1]"],
        "not an input",
    );
    refused(
        &["y = x*2", "--shape", "x=[2]", "--feed", "x=[1,2,3]"],
        "--shape x says",
    );
    refused(
        &["y = x*2", "--shape", "x=[2]", "--grad-ys", "1"],
        "--grad-ys",
    );
    refused(
        &["y = x*2", "--shape", "x=[2]", "--engine", "jit"],
        "--engine",
    );
    refused(
        &["y = x*2", "--shape", "x=[2]", "--target", "vax"],
        "--target",
    );
    refused(
        &[
            "y = x*2; d_x = y",
            "--shape",
            "x=[2]",
            "--ys",
            "d_x,y",
            "--wrt",
            "x",
        ],
        "two outputs",
    );
    refused(
        &[
            "y = sum(x) * d_x",
            "--shape",
            "x=[3]",
            "--shape",
            "d_x=[]",
            "--wrt",
            "x",
        ],
        "COUNT macros would differ",
    );
    refused(
        &[
            "y = sum(x)",
            "--shape",
            "x=[3]",
            "--ys",
            "y",
            "--wrt",
            "x",
            "--name",
            "a-b",
        ],
        "C identifier",
    );
}

#[test]
fn an_unwritable_path_writes_nothing() {
    let dir = scratch_dir("unwritable");
    let out = Command::new(GRADJIT)
        .args(["aot", "y = x*2", "--shape", "x=[2]", "-o"])
        .arg(dir.join("p.o"))
        .arg("--header")
        .arg(dir.join("missing-dir").join("p.h"))
        .output()
        .expect("starts");
    assert_eq!(out.status.code(), Some(2));
    assert!(!dir.join("p.o").exists());
}

#[test]
fn the_readme_c_program_trains() {
    let Some(_) = cc() else { return };
    let dir = scratch_dir("readme");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/c/train_logistic.c");
    let text = std::fs::read_to_string(&src).expect("the example");
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("the README");
    assert!(
        readme.contains(&text),
        "the README shows examples/c/train_logistic.c as it is"
    );
    run(Command::new(GRADJIT)
        .args([
            "aot",
            "loss = mean(softplus(-t * (X @ w + b)))",
            "--wrt",
            "w,b",
            "--shape",
            "X=[256,64]",
            "--shape",
            "w=[64,1]",
            "--shape",
            "b=[1]",
            "--shape",
            "t=[256,1]",
            "--name",
            "step",
            "-o",
        ])
        .arg(dir.join("step.o")));
    let exe = dir.join("train");
    run(Command::new("cc")
        .args(FLAGS)
        .arg("-I")
        .arg(&dir)
        .arg(&src)
        .arg(dir.join("step.o"))
        .arg("-lm")
        .arg("-o")
        .arg(&exe));
    // it exits 0 only when the loss fell below half of ln 2
    let out = run(&mut Command::new(&exe));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("step   0  loss 0.693147"), "{text}");
}

#[test]
fn a_bad_index_is_a_run_time_code_from_c() {
    let Some(_) = cc() else { return };
    let dir = scratch_dir("index");
    run(Command::new(GRADJIT)
        .args([
            "aot",
            "y = gather(p, i) * 2",
            "--shape",
            "p=[3]",
            "--shape",
            "i=[2]",
            "--name",
            "pick",
            "-o",
        ])
        .arg(dir.join("pick.o")));
    let src = dir.join("pick.c");
    std::fs::write(
        &src,
        "#include <stdint.h>\n#include <stdio.h>\n#include <string.h>\n#include \"pick.h\"\n\
         static unsigned char raw[pick_SCRATCH_BYTES + pick_SCRATCH_ALIGN];\n\
         int main(void) {\n\
             float p[3] = {1, 2, 3}, good[2] = {2, 0}, bad[2] = {0, 5}, y[2] = {9, 9};\n\
             struct pick_inputs in;\n    struct pick_outputs out;\n    int rc;\n\
             void *s = raw + (pick_SCRATCH_ALIGN - (uintptr_t)raw % pick_SCRATCH_ALIGN) % pick_SCRATCH_ALIGN;\n\
             in.p = p; in.i = good; out.y = y;\n\
             if (pick_run(&in, &out, s) != 0 || y[0] != 6 || y[1] != 2) return 1;\n\
             y[0] = 9; y[1] = 9; in.i = bad;\n\
             rc = pick_run(&in, &out, s);\n\
             if (rc != 2 || y[0] != 9 || y[1] != 9) return 2;\n\
             if (strstr(pick_error(rc), \"index\") == NULL) return 3;\n\
             printf(\"%s\\n\", pick_error(rc));\n\
             return 0;\n\
         }\n",
    )
    .expect("writes");
    let exe = dir.join("pick");
    run(Command::new("cc")
        .args(FLAGS)
        .arg("-I")
        .arg(&dir)
        .arg(&src)
        .arg(dir.join("pick.o"))
        .arg("-lm")
        .arg("-o")
        .arg(&exe));
    // the good index computes, the bad one returns 2 and writes nothing
    run(&mut Command::new(&exe));
}
