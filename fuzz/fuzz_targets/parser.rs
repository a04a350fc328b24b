//! libFuzzer target (`cargo +nightly fuzz run parser`): any bytes as
//! program text must parse or fail cleanly, print back to the same nodes,
//! and evaluate on the interpreter and the JIT to a value or an error on
//! both. The same properties as `tests/fuzz_parser.rs`, with coverage
//! guidance; copy crashes into `tests/fuzz_corpus/parser/`.
#![no_main]

use gradjit::exec::Engine;
use gradjit::graph::Shape;
use gradjit::text::{parse, print_program, ParseOptions};
use gradjit::{DType, Graph, Session, Value};
use libfuzzer_sys::fuzz_target;
use ndarray::{ArrayD, IxDyn};

fn input_shape(name: &str) -> Vec<usize> {
    match name {
        "x" => vec![2, 3],
        "y" => vec![3],
        "m" => vec![3, 2],
        "a" => vec![0, 3],
        _ => vec![],
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let src = String::from_utf8_lossy(rest);
    let dtype = if flags & 1 == 0 {
        DType::F32
    } else {
        DType::F64
    };
    let g = Graph::new();
    let mut opts = ParseOptions::new(dtype);
    if flags & 2 != 0 {
        for n in ["x", "y", "m", "a"] {
            opts.input_shapes
                .insert(n.into(), Shape::known(&input_shape(n)));
        }
    }
    let Ok(p) = parse(&g, &src, &opts) else {
        return;
    };
    // an output named like an input cannot round-trip (documented in `text`)
    let mut out = "result_out".to_string();
    while p.inputs.iter().any(|(n, _)| *n == out) {
        out.push('_');
    }
    let text = print_program(&g, &[(out.as_str(), p.output)]);
    let again = parse(&g, &text, &opts).expect("printed programs parse");
    assert_eq!(again.bindings.get(&out), Some(&p.output));
    // large literal dimensions could ask for more memory than the fuzzer has
    if src
        .as_bytes()
        .windows(5)
        .any(|w| w.iter().all(u8::is_ascii_digit))
    {
        return;
    }
    let feeds: Vec<(gradjit::Tensor<'_>, Value)> = p
        .inputs
        .iter()
        .map(|(name, id)| {
            let shape = input_shape(name);
            let n: usize = shape.iter().product();
            let data: Vec<f64> = (0..n).map(|i| i as f64 * 0.5 - 1.0).collect();
            let a = ArrayD::from_shape_vec(IxDyn(&shape), data).expect("sizes");
            (g.tensor(*id), Value::from_f64_array(a, dtype))
        })
        .collect();
    let ok: Vec<bool> = [Engine::Interp, Engine::Jit]
        .iter()
        .map(|&e| {
            Session::with_engine(&g, e)
                .run(&[g.tensor(p.output)], &feeds)
                .is_ok()
        })
        .collect();
    assert_eq!(ok[0], ok[1], "the engines disagree on success");
});
