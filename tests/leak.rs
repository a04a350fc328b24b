//! No leak: compiling and dropping executables leaves resident memory where
//! it levelled off; the JIT's code pages are freed with each executable.
//!
//! Alone in its own test binary, so no other test allocates meanwhile.
//! `GRADJIT_LEAK_COUNT=10000 cargo test --release --test leak -- --nocapture`
//! runs the full-size check (default 600 after a warm-up of 100).

use gradjit::exec::{compile, CompileOptions, Engine};
use gradjit::fuse::Fusion;
use gradjit::text::{parse, ParseOptions};
use gradjit::{DType, Graph, Session, Shape, Value};
use ndarray::{ArrayD, IxDyn};

/// Resident memory of this process, in bytes (`/proc/self/statm`).
fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("resident pages");
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * usize::try_from(page).unwrap_or(4096)
}

/// Compiles (fused and unfused, several kernels, math functions, a library
/// step), runs once, and drops.
fn one(i: usize) {
    let g = Graph::new();
    let mut opts = ParseOptions::new(if i % 2 == 0 { DType::F32 } else { DType::F64 });
    opts.input_shapes.insert("x".into(), Shape::known(&[3, 37]));
    let p = parse(
        &g,
        "h = tanh(x) * exp(-x) + sin(x)\ns = sum(h, 1)\nh @ transpose(h) + s",
        &opts,
    )
    .expect("parses");
    let x = p.inputs[0].1;
    let fusion = if i % 3 == 0 {
        Fusion::Unfused
    } else {
        Fusion::Fused
    };
    let exe = compile(
        &g,
        &[p.output],
        &[(x, vec![3, 37])],
        &CompileOptions {
            fusion,
            ..CompileOptions::default()
        },
    )
    .expect("compiles");
    let v = Value::from_f64_array(ArrayD::from_elem(IxDyn(&[3, 37]), 0.5), opts.dtype);
    let out = exe.run(&[v.view()]).expect("runs");
    assert_eq!(out[0].shape(), &[3, 3]);
    // and through a session, whose cache holds its own executable
    let mut sess = Session::with_engine(&g, Engine::Jit);
    sess.run(&[g.tensor(p.output)], &[(g.tensor(x), &v)])
        .expect("runs");
}

#[test]
fn compiling_and_dropping_executables_does_not_grow_memory() {
    let count: usize = std::env::var("GRADJIT_LEAK_COUNT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(600);
    for i in 0..100 {
        one(i);
    }
    let start = rss();
    let mut peak = start;
    for i in 0..count {
        one(i);
        if i % 100 == 0 {
            peak = peak.max(rss());
        }
    }
    let end = rss();
    let mib = |b: usize| b as f64 / (1 << 20) as f64;
    eprintln!(
        "{count} compiles: RSS {:.1} MiB after warm-up, {:.1} MiB at the end, peak {:.1} MiB",
        mib(start),
        mib(end),
        mib(peak)
    );
    // each executable maps at least one page of code and one of data: a
    // leak of even those would be 8 KiB x count
    let bound = 3 << 20;
    assert!(
        end.saturating_sub(start) < bound,
        "resident memory grew by {:.1} MiB over {count} compiles",
        mib(end.saturating_sub(start))
    );
}
