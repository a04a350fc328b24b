//! A training loop calls `Executable::run_into` with arrays it owns: after
//! the first call, a call allocates nothing — kernels, fused reductions,
//! products with a unit dimension, reshapes, transposes and broadcasts —
//! except the packing buffer the GEMM library (`matrixmultiply`) takes for
//! each general matrix product.
//!
//! Alone in its own test binary (a counting global allocator); the counting
//! covers only the calls, on the thread that makes them (the test harness
//! allocates on its own threads meanwhile), one test at a time.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

mod common;

use common::{compile_text, in_feed_order};
use gradjit::value::ValueViewMut;
use gradjit::{DType, Value};
use ndarray::{ArrayD, IxDyn};

struct Counting;

/// Whether an allocation now is one of the calls'.
fn counted() -> bool {
    COUNTING.load(Ordering::Relaxed) && CALLER.with(Cell::get)
}

static COUNTING: AtomicBool = AtomicBool::new(false);
thread_local! {
    /// This thread makes the counted calls.
    static CALLER: Cell<bool> = const { Cell::new(false) };
}
static ALLOCS: AtomicUsize = AtomicUsize::new(0);
/// Tests run on several threads: one counts at a time, the others wait.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

// SAFETY: forwards every call to the system allocator unchanged; only
// counts allocations while `COUNTING` is set.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if counted() {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if counted() {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Compiles `text`'s output and gradients for `feeds` (name, shape), calls
/// it once to warm up, then returns the allocations of 10 calls, the
/// number of library steps and the blocks of its largest row-blocked run.
fn allocations(text: &str, wrt: &[&str], feeds: &[(&str, &[usize])]) -> (usize, usize, usize) {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let exe = compile_text(text, wrt, feeds, DType::F32, 1).exe;
    let values: Vec<Value> = feeds
        .iter()
        .map(|(_, d)| {
            let n: usize = d.iter().product();
            let v: Vec<f32> = (0..n).map(|i| ((i % 97) as f32) * 0.01 - 0.4).collect();
            Value::F32(ArrayD::from_shape_vec(IxDyn(d), v).unwrap())
        })
        .collect();
    // the executable reads its feeds in its own order
    let names: Vec<&str> = feeds.iter().map(|(n, _)| *n).collect();
    let views = in_feed_order(&exe, &names, &values);
    let mut outs: Vec<ArrayD<f32>> = exe
        .output_shapes()
        .iter()
        .map(|s| ArrayD::zeros(IxDyn(s)))
        .collect();
    let mut o: Vec<ValueViewMut<'_>> = outs.iter_mut().map(|a| a.view_mut().into()).collect();
    exe.run_into(&views, &mut o).unwrap();
    ALLOCS.store(0, Ordering::Relaxed);
    CALLER.with(|c| c.set(true));
    COUNTING.store(true, Ordering::Relaxed);
    for _ in 0..10 {
        exe.run_into(&views, &mut o).unwrap();
    }
    COUNTING.store(false, Ordering::Relaxed);
    CALLER.with(|c| c.set(false));
    let blocks = exe.row_blocks().iter().map(|r| r.blocks).max().unwrap_or(1);
    (ALLOCS.load(Ordering::Relaxed), exe.library_steps(), blocks)
}

/// A program, the names its gradients are taken with respect to, its feeds.
type Case<'a> = (&'a str, &'a [&'a str], &'a [(&'a str, &'a [usize])]);

#[test]
fn calls_without_general_products_allocate_nothing() {
    let cases: &[Case] = &[
        // elementwise chain and a whole-tensor sum
        (
            "y = sum(tanh(a*x + b) * sigmoid(c*x) + exp(-x*x))",
            &["x", "a", "b", "c"],
            &[
                ("x", &[5000]),
                ("a", &[5000]),
                ("b", &[5000]),
                ("c", &[5000]),
            ],
        ),
        // products with a unit dimension, reshapes
        (
            "loss = mean(softplus(-t * (X @ w + b)))",
            &["w", "b"],
            &[
                ("X", &[3000, 16]),
                ("w", &[16, 1]),
                ("b", &[1]),
                ("t", &[3000, 1]),
            ],
        ),
        // transposes, reshapes and broadcasts as library steps (the output
        // alone)
        (
            "y = transpose(reshape(broadcast_to(v, [6, 4]), [4, 6]), [1, 0]) * 2 + transpose(A)",
            &[],
            &[("A", &[4, 6]), ("v", &[4])],
        ),
    ];
    let mut library = 0;
    for (text, wrt, feeds) in cases {
        let (allocs, steps, _) = allocations(text, wrt, feeds);
        assert_eq!(allocs, 0, "{text}");
        library += steps;
    }
    // the cases do exercise library steps
    assert!(library >= 4, "{library} library steps");
}

#[test]
fn general_products_allocate_only_their_packing_buffers() {
    // two general products per call (X @ W1 and transpose(X) @ t3), each
    // once per block of rows of the run they are part of
    let (allocs, _, blocks) = allocations(
        "h = tanh(X @ W1 + b1); o = h @ W2 + b2; loss = mean((o - T)**2)",
        &["W1", "b1", "W2", "b2"],
        &[
            ("X", &[3000, 8]),
            ("W1", &[8, 16]),
            ("b1", &[16]),
            ("W2", &[16, 1]),
            ("b2", &[1]),
            ("T", &[3000, 1]),
        ],
    );
    assert!(blocks >= 2, "the products run whole, not in blocks of rows");
    let products = 2 * blocks;
    assert!(
        allocs <= 10 * products,
        "{allocs} allocations in 10 calls of {products} product calls each"
    );
}
