//! Compiled executables never run the interpreter: no file of the code that
//! compiles or runs them names an `interp` routine (its error type aside),
//! and every operation a library step can hold has a native routine.

use std::fs;
use std::path::Path;

use gradjit::exec::routine;
use gradjit::graph::{Padding, ReduceOp, SliceItem, Window};
use gradjit::Op;

/// The Rust files under `dir`, recursively.
fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn compiled_code_names_no_interpreter_routine() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    for dir in ["exec", "jit", "fuse"] {
        sources(&root.join(dir), &mut files);
    }
    // the session runs the interpreter when asked to: it is not compiled code
    files.retain(|f| !f.ends_with("exec/session.rs"));
    assert!(files.len() > 20, "found only {files:?}");
    for f in files {
        let text = fs::read_to_string(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        for (n, line) in text.lines().enumerate() {
            let uses = line.contains("interp::") && !line.contains("interp::InterpError");
            assert!(!uses, "{}:{}: {line}", f.display(), n + 1);
        }
    }
}

#[test]
fn every_library_operation_has_a_native_routine() {
    let window = Window {
        ksize: [2, 2],
        strides: [1, 1],
        padding: Padding::Same,
    };
    let conv = ([1, 1], Padding::Valid);
    let steps = [
        Op::MatMul,
        Op::Reduce {
            op: ReduceOp::Sum,
            axes: Some(vec![0]),
            keepdims: false,
        },
        Op::Reduce {
            op: ReduceOp::Max,
            axes: None,
            keepdims: true,
        },
        Op::SumTo,
        Op::Count { axes: None },
        Op::Slice {
            items: vec![SliceItem::Index(0)],
        },
        Op::SliceGrad { items: vec![] },
        Op::Pad { widths: vec![] },
        Op::Concat { axis: 0 },
        Op::Gather { axis: 0 },
        Op::GatherGrad { axis: 0 },
        Op::OneHot { depth: 3 },
        Op::LabelOneHot { depth: 3 },
        Op::Conv2d {
            strides: conv.0,
            padding: conv.1,
        },
        Op::Conv2dBackpropInput {
            strides: conv.0,
            padding: conv.1,
        },
        Op::Conv2dBackpropFilter {
            strides: conv.0,
            padding: conv.1,
        },
        Op::MaxPool2d { window },
        Op::MaxPoolGrad { window },
        Op::MaxPoolGradGrad { window },
        Op::AvgPool2d { window },
        Op::AvgPoolGrad { window },
        Op::Cumsum {
            axis: 0,
            exclusive: false,
            reverse: false,
        },
        Op::ArgExtreme { axis: 0, min: true },
        Op::Tile { multiples: vec![] },
        Op::Reverse { axes: vec![] },
        Op::Transpose { perm: None },
    ];
    for op in steps {
        assert!(routine(&op).is_some(), "{op:?} has no native routine");
    }
}
