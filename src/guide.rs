//! # Guide: from `y = x*x + 3*x` to native code
//!
//! This page follows the seed program through every stage of the compiler,
//! with what each stage prints. It is a module of documentation only, like
//! egg's tutorials: nothing here is code you call.
//!
//! ```text
//! program text ──text──▶ Graph ──autodiff──▶ Graph + gradient nodes
//!     ──simplify──▶ smaller Graph ──fuse──▶ Plan of kernels ──jit──▶ native code
//!                                           └──interp (oracle, no fusion)──▶ numbers
//! ```
//!
//! | stage | module | in | out |
//! |---|---|---|---|
//! | 1. build | [`graph`], [`text`] | Rust expressions or program text | a [`Graph`]: hash-consed nodes in topological order |
//! | 2. differentiate | [`autodiff`] | ys, xs | new nodes: the gradients |
//! | 3. simplify | [`simplify`] | a graph and its roots | a fresh, smaller graph, with statistics |
//! | 4. fuse | [`fuse`] | a graph of known shapes | a [`fuse::Plan`]: kernels and library steps |
//! | 5. generate code | [`jit`] | one [`KernelSpec`] | a native function, `extern "C"` |
//! | 6. run | [`exec`] | a graph, fetches, feed shapes | an [`Executable`], called many times |
//!
//! The numbers and programs below come from a run of the code shown (the
//! doc tests on this page check the printed programs).
//!
//! ## 1. A graph
//!
//! A [`Graph`] is an append-only arena of nodes. A node is an operation
//! (one closed enum, [`Op`]) applied to earlier nodes, so node ids are a
//! topological order. Nodes are *hash-consed*: asking for `x*x` twice gives
//! the same node, which makes common subexpressions shared from the start.
//! [`Tensor`] handles are `Copy` and take operators, so the program reads
//! like the math:
//!
//! ```
//! use gradjit::{DType, Graph, Shape};
//! use gradjit::text::{parse, ParseOptions};
//!
//! let g = Graph::new();
//! let x = g.placeholder("x", DType::F32, Shape::unknown());
//! let y = x * x + 3.0 * x;
//! // the same program as text, parsed into the same graph, is the same node
//! let prog = parse(&g, "y = x*x + 3*x", &ParseOptions::new(DType::F32))?;
//! assert_eq!(g.tensor(prog.output), y);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! `x` is a placeholder: an input fed at run time, here of any shape
//! (`Shape::unknown()`, as `tf.placeholder` allows). Every node has a
//! dtype and a static shape inferred when it is built; an expression that
//! cannot be built (shapes that do not broadcast) records its error in the
//! graph, and the next fallible call returns it ([`Graph::check`]).
//!
//! ## 2. Gradients are nodes
//!
//! [`Graph::gradients`] is `tf.gradients(ys, xs)`. It marks the nodes that
//! lie between the ys and the xs, seeds each y with `ones_like(y)`, and
//! visits the marked nodes once, in reverse id order. Each node's gradient
//! is the sum of what its users sent it (so a value used twice is right by
//! construction), and one gradient rule per operation sends a part to
//! each of its inputs: `d(a*b)` sends `g*b` to `a` and `a*g` to `b`. The
//! rules live in one exhaustive `match` ([`autodiff`]), and every rule is
//! written with ordinary differentiable operations, never an opaque
//! gradient kernel, so a gradient can be differentiated again.
//!
//! No number is computed. The gradient is a node, and the printer
//! ([`text::print_program`]) writes the graph back as a program:
//!
//! ```
//! use gradjit::text::print_program;
//! use gradjit::{DType, Graph, Shape};
//!
//! let g = Graph::new();
//! let x = g.placeholder("x", DType::F32, Shape::unknown());
//! let y = x * x + 3.0 * x;
//! let d_x = g.gradients(&[y], &[x])?[0].expect("x reaches y");
//! assert_eq!(
//!     print_program(&g, &[("d_x", d_x.id())]),
//!     "t1 = x*x
//! t2 = 3*x
//! t3 = ones_like(t1 + t2)
//! t4 = sum_to(t3, t1)
//! d_x = sum_to(3*sum_to(t3, t2), x) + sum_to(t4*x, x) + sum_to(x*t4, x)
//! "
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Reading it bottom-up: `3*x` sends `3*g` to `x`, `x*x` sends `g*x` and
//! `x*g` (one per operand), and the three parts are added. Since `x` may
//! have any shape, each part is summed back to the shape of the operand it
//! flows to (`sum_to`: the gradient of broadcasting), and `t3`, the seed,
//! is `ones_like(y)`. Fourteen operations for what a person writes as
//! `2*x + 3`: the raw gradient is correct, not small.
//!
//! [`Graph::gradients_with`] takes `tf.gradients`' other arguments:
//! `grad_ys` (the upstream gradient of each y, which is how a
//! Hessian-vector product is written), `stop_gradients`, and what an
//! unconnected x gets. `examples/higher_order.rs` differentiates gradients.
//!
//! ## 3. Simplification
//!
//! [`simplify::Pipeline::standard`] is an explicit list of passes, run on a
//! copy of what the roots need:
//!
//! | step | passes | what it does |
//! |---|---|---|
//! | `canonicalize`, to a fixpoint (at most 8 rounds) | `cse`, `fold`, `algebra` | operands of commutative operations in one order, constant folding, a table of named algebraic identities |
//! | `dce` | | drops dead nodes |
//! | `stabilize` | | numerically safe forms (`log(1+x) -> log1p(x)`, ...), when turned on |
//! | `canonicalize` again, `dce` | | (skipped when nothing changed since) |
//!
//! On the gradient above:
//!
//! ```
//! use gradjit::simplify::Pipeline;
//! use gradjit::text::print_program;
//! use gradjit::{DType, Graph, Shape};
//!
//! let g = Graph::new();
//! let x = g.placeholder("x", DType::F32, Shape::unknown());
//! let y = x * x + 3.0 * x;
//! let d_x = g.gradients(&[y], &[x])?[0].expect("x reaches y");
//! let s = Pipeline::standard().run(&g, &[d_x.id()])?;
//! assert_eq!((s.nodes_before, s.nodes_after()), (14, 2));
//! assert_eq!(print_program(&s.graph, &[("d_x", s.roots[0])]), "d_x = x + (3 + x)\n");
//! for p in &s.stats {
//!     println!("{:<10} {:>2} -> {:<2} {:?}", p.name, p.nodes_before, p.nodes_after, p.fired);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! prints, per pass, the operations the roots need before and after, and
//! the rules that fired:
//!
//! ```text
//! cse        14 -> 12 [("commute", 2)]
//! fold       12 -> 12 []
//! algebra    12 -> 2  [("ones-zeros-like", 1), ("sum-to-noop", 4), ("mul-one", 2),
//!                      ("like-operand", 1), ("broadcast-operand", 1), ("commute", 2)]
//! cse         2 -> 2  []
//! fold        2 -> 2  []
//! algebra     2 -> 2  []
//! dce         2 -> 2  []
//! dce         2 -> 2  []
//! ```
//!
//! `cse` put the operands of `t4*x` and `x*t4` in one order (`commute`),
//! which made them one node. `algebra` then replaced the seed
//! `ones_like(...)` by a broadcast 1 (`ones-zeros-like`), dropped the
//! broadcasts that change no shape (`broadcast-operand`, `like-operand`),
//! multiplied the 1s away (`mul-one`) and removed the four `sum_to` that
//! sum nothing (`sum-to-noop`: an elementwise result has its operand's
//! shape when every other operand is a scalar, whatever that shape is).
//! What is left is `(3 + x) + x`, its operands in canonical order. The
//! second round changed nothing, so the group stopped
//! ([`simplify::Stop::Saturated`]); [`simplify::rules`] lists every rule
//! with its identity.
//! The rules are exact by default: `x + (3 + x)` gives bitwise the same
//! numbers as the raw graph for every `x`, including infinities and NaN
//! ([`simplify::Exactness`]).
//!
//! Where shapes stay unknown, some rules cannot prove their shapes equal.
//! Compiling specializes the graph to the shapes it is fed first
//! ([`simplify::Pipeline::run_with_shapes`]); for the second seed program
//! with scalar `x` and `y`:
//!
//! ```
//! use std::collections::HashMap;
//! use gradjit::simplify::Pipeline;
//! use gradjit::text::print_program;
//! use gradjit::{DType, Graph, Shape};
//!
//! let g = Graph::new();
//! let x = g.placeholder("x", DType::F32, Shape::unknown());
//! let y = g.placeholder("y", DType::F32, Shape::unknown());
//! let z = x * y + y * y;
//! let d = g.gradients(&[z], &[x, y])?;
//! let roots = [d[0].expect("x").id(), d[1].expect("y").id()];
//! let scalars = HashMap::from([("x".into(), Shape::scalar()), ("y".into(), Shape::scalar())]);
//! let s = Pipeline::standard().run_with_shapes(&g, &roots, &scalars)?;
//! let text = print_program(&s.graph, &[("d_x", s.roots[0]), ("d_y", s.roots[1])]);
//! assert_eq!(text, "d_x = y\nd_y = x + 2*y\n");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## 4. Fusion
//!
//! [`fuse::plan`] partitions a graph of known shapes into steps. A *kernel*
//! is a convex group of elementwise nodes of one shape: no path leaves the
//! group and comes back, so the group can run as one loop, with every
//! intermediate value in a register. Values used outside the group (or
//! fetched) are its outputs; inputs of other shapes are read through
//! strides (broadcasting is never materialized); reductions join the loop
//! of their producers where they can. What is not elementwise (matrix
//! products, transposes, some reductions) is a *library step*.
//!
//! A training step fetches the output and its gradient. For `x` of 1024
//! elements the step simplifies to
//!
//! ```text
//! y = x*x + 3*x
//! d_x = x + (3 + x)
//! ```
//!
//! and is planned as one kernel, `k0`, that reads `x` once and writes
//! both values. (Grouping first makes two kernels, one per value, since a
//! node joins the kernels of its own inputs; kernels of one shape that read
//! a common input are then merged.) The description of `k0` that the code
//! generator receives (a [`KernelSpec`]) is a list of SSA instructions:
//!
//! ```
//! use std::collections::HashMap;
//! use gradjit::fuse::{plan, Fusion};
//! use gradjit::graph::kernel::{InnerAccess, KInst, KValue};
//! use gradjit::graph::BinaryOp;
//! use gradjit::simplify::Pipeline;
//! use gradjit::{DType, Graph, Shape};
//!
//! let g = Graph::new();
//! let x = g.placeholder("x", DType::F32, Shape::unknown());
//! let y = x * x + 3.0 * x;
//! let d_x = g.gradients(&[y], &[x])?[0].expect("x reaches y");
//! let shapes = HashMap::from([("x".to_string(), Shape::known(&[1024]))]);
//! let s = Pipeline::standard().run_with_shapes(&g, &[y.id(), d_x.id()], &shapes)?;
//! let p = plan(&s.graph, &s.roots, Fusion::Fused)?;
//! let kernels: Vec<_> = p.kernels().collect();
//! assert_eq!(kernels.len(), 1);
//! let k0 = &kernels[0].spec;
//! assert_eq!(k0.inputs, [InnerAccess::Contiguous]);
//! assert_eq!(
//!     k0.body,
//!     [
//!         KInst::Input(0),
//!         KInst::Binary(BinaryOp::Mul, KValue(0), KValue(0)), // x*x
//!         KInst::Const(3.0),
//!         KInst::Binary(BinaryOp::Mul, KValue(2), KValue(0)), // 3*x
//!         KInst::Binary(BinaryOp::Add, KValue(1), KValue(3)), // y
//!         KInst::Binary(BinaryOp::Add, KValue(2), KValue(0)), // 3 + x
//!         KInst::Binary(BinaryOp::Add, KValue(0), KValue(5)), // d_x = x + (3 + x)
//!     ]
//! );
//! assert_eq!(k0.outputs, [KValue(4), KValue(6)]);
//! assert_eq!(kernels[0].layout.inner, 1024); // one row of 1024 elements
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! `gradjit show` prints the kernels of a program, and `--dot FILE` draws
//! them (`docs/seed.svg` in the repository is this example).
//!
//! ## 5. Code generation
//!
//! [`jit`] lowers each kernel to one Cranelift function with one C
//! signature for all kernels ([`jit::KernelFn`]):
//!
//! ```text
//! unsafe extern "C" fn(ptrs: *const *mut u8, strides: *const isize, rows: usize, inner: usize)
//! ```
//!
//! `ptrs` holds the inputs' base pointers, then the outputs' (then the
//! reductions'); `strides` each input's row stride in elements. The loop
//! lengths are arguments, so one function serves every length. Cranelift
//! does not vectorize, so the lowering writes the vector loop itself:
//! `F32X4` (or `F64X2`) unrolled (four times for short bodies without
//! transcendental functions like this one, twice otherwise), then one
//! vector at a time, then a scalar tail. The row loop carries each
//! operand's row pointer, and the main loop tests its condition at the
//! bottom. Transcendental functions (`exp`, `tanh`, ...) are emitted inline
//! as polynomial approximations ([`jit::math`]), not as a library call per
//! element.
//!
//! [`jit::clif_text`] prints the IR before Cranelift optimizes it; for `k0`
//! (this is `gradjit show "y = x*x + 3*x" --wrt x --feed 'x=rand(1024)'
//! --clif` on an x86-64 machine, with two of the four unrolled copies left
//! out; the text varies with the host's features, so it is not a test):
//!
//! ```text
//! function u0:0(i64, i64, i64, i64) system_v {
//!     sig0 = (f32) -> f32 system_v        ; math library fallbacks, declared
//!     sig1 = (f32) -> f32 system_v        ; in every kernel, unused here
//!     sig2 = (f64) -> f64 system_v
//!     sig3 = (f64) -> f64 system_v
//!     fn0 = u0:0 sig0
//!     fn1 = u0:1 sig1
//!     fn2 = u0:2 sig2
//!     fn3 = u0:3 sig3
//!
//! block0(v0: i64, v1: i64, v2: i64, v3: i64):   ; ptrs, strides, rows, inner
//!     v4 = load.i64 notrap v0                   ; x's base pointer
//!     v5 = load.i64 notrap v0+8                 ; y's
//!     v6 = load.i64 notrap v0+16                ; d_x's
//!     v7 = load.i64 notrap v1                   ; x's row stride
//!     v8 = iconst.i64 4
//!     v9 = imul v7, v8  ; v8 = 4                ; ... in bytes
//!     v10 = iconst.i64 4
//!     v11 = imul v3, v10  ; v10 = 4             ; a row, in bytes
//!     v12 = iconst.i64 4
//!     v13 = iconst.i64 0
//!     v14 = iconst.i64 0
//!     v15 = icmp eq v3, v14  ; v14 = 0
//!     brif v15, block9, block1(v13, v4, v5, v6)  ; v13 = 0
//!
//! block1(v16: i64, v17: i64, v18: i64, v19: i64):  ; each row, its pointers
//!     v20 = icmp ult v16, v2
//!     brif v20, block2, block9
//!
//! block2:
//!     v21 = iconst.i64 0
//!     v22 = iconst.i64 64
//!     v23 = icmp.i64 uge v11, v22  ; v22 = 64
//!     brif v23, block3(v21), block4(v21)  ; v21 = 0, v21 = 0
//!
//! block3(v24: i64):                             ; 16 elements at a time
//!     v25 = iadd.i64 v17, v24
//!     v26 = load.f32x4 notrap v25               ; 4 elements of x
//!     v27 = fmul v26, v26                       ; x*x
//!     v28 = f32const 0x1.800000p1               ; 3.0
//!     v29 = splat.f32x4 v28  ; v28 = 0x1.800000p1
//!     v30 = fmul v29, v26                       ; 3*x
//!     v31 = fadd v27, v30                       ; y
//!     v32 = fadd v29, v26                       ; 3 + x
//!     v33 = fadd v26, v32                       ; d_x = x + (3 + x)
//!     v34 = iadd.i64 v18, v24
//!     store notrap v31, v34
//!     v35 = iadd.i64 v19, v24
//!     store notrap v33, v35
//!     v36 = iadd.i64 v17, v24
//!     v37 = load.f32x4 notrap v36+16            ; the next 4
//!     ...                                       ; (the same, at +16, +32, +48)
//!     store notrap v66, v68+48
//!     v69 = iconst.i64 64
//!     v70 = iadd v24, v69  ; v69 = 64
//!     v71 = iconst.i64 64
//!     v72 = iadd v70, v71  ; v71 = 64
//!     v73 = icmp ule v72, v11                   ; 16 more fit?
//!     brif v73, block3(v70), block4(v70)
//!
//! block4(v74: i64):                             ; then 4 at a time
//!     v75 = iconst.i64 16
//!     v76 = iadd v74, v75  ; v75 = 16
//!     v77 = icmp ule v76, v11
//!     brif v77, block5, block6(v74)
//!
//! block5:
//!     v78 = iadd.i64 v17, v74
//!     v79 = load.f32x4 notrap v78
//!     v80 = fmul v79, v79
//!     v81 = f32const 0x1.800000p1
//!     v82 = splat.f32x4 v81  ; v81 = 0x1.800000p1
//!     v83 = fmul v82, v79
//!     v84 = fadd v80, v83
//!     v85 = fadd v82, v79
//!     v86 = fadd v79, v85
//!     v87 = iadd.i64 v18, v74
//!     store notrap v84, v87
//!     v88 = iadd.i64 v19, v74
//!     store notrap v86, v88
//!     jump block4(v76)
//!
//! block6(v89: i64):                             ; then one at a time
//!     v90 = icmp ult v89, v11
//!     brif v90, block7, block8
//!
//! block7:
//!     v91 = iadd.i64 v17, v89
//!     v92 = load.f32 notrap v91
//!     v93 = fmul v92, v92
//!     v94 = f32const 0x1.800000p1
//!     v95 = fmul v94, v92  ; v94 = 0x1.800000p1
//!     v96 = fadd v93, v95
//!     v97 = fadd v94, v92  ; v94 = 0x1.800000p1
//!     v98 = fadd v92, v97
//!     v99 = iadd.i64 v18, v89
//!     store notrap v96, v99
//!     v100 = iadd.i64 v19, v89
//!     store notrap v98, v100
//!     v101 = iconst.i64 4
//!     v102 = iadd.i64 v89, v101  ; v101 = 4
//!     jump block6(v102)
//!
//! block8:                                       ; next row: advance the pointers
//!     v103 = iconst.i64 1
//!     v104 = iadd.i64 v16, v103  ; v103 = 1
//!     v105 = iadd.i64 v17, v9
//!     v106 = iadd.i64 v18, v11
//!     v107 = iadd.i64 v19, v11
//!     jump block1(v104, v105, v106, v107)
//!
//! block9:
//!     return
//! }
//! ```
//!
//! (The comments after the IR's own `; v8 = 4` annotations are added here.)
//! The repeated constants and address arithmetic are left for Cranelift's
//! optimizer (`opt_level=speed`), which folds them before emitting machine
//! code.
//!
//! ## 6. Running
//!
//! [`exec::compile`] does stages 3 to 5 for given feed shapes and plans
//! where every value lives (feeds are read in place, outputs written in
//! place, temporaries reused by liveness). The [`Executable`] it returns is
//! called many times:
//!
//! ```
//! use gradjit::exec::{compile, CompileOptions};
//! use gradjit::value::ValueViewMut;
//! use gradjit::{AsFeed, DType, Graph, Shape};
//! use ndarray::{Array1, ArrayD, IxDyn};
//!
//! let g = Graph::new();
//! let x = g.placeholder("x", DType::F32, Shape::unknown());
//! let y = x * x + 3.0 * x;
//! let d_x = g.gradients(&[y], &[x])?[0].expect("x reaches y");
//! let exe = compile(&g, &[y.id(), d_x.id()], &[(x.id(), vec![1024])], &CompileOptions::default())?;
//! assert_eq!(exe.kernels().len(), 1);
//!
//! let xs = Array1::linspace(-1.0f32, 1.0, 1024);
//! // run: allocates the outputs
//! let out = exe.run(&[xs.as_feed()])?;
//! assert_eq!(out[1].to_f64_vec()[0], -1.0 + (3.0 + -1.0));
//! // run_into: writes into the caller's arrays (what a training loop calls)
//! let mut ys = ArrayD::<f32>::zeros(IxDyn(&[1024]));
//! let mut ds = ArrayD::<f32>::zeros(IxDyn(&[1024]));
//! exe.run_into(&[xs.as_feed()], &mut [ValueViewMut::from(ys.view_mut()), ds.view_mut().into()])?;
//! assert_eq!(ds[1023], 1.0 + (3.0 + 1.0));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Steps that share a leading batch axis — a matrix product, the kernels
//! after it, a product that sums over the batch like `transpose(X) @ g` —
//! run block of rows by block of rows, so what one step writes the next
//! reads from cache ([`Executable::row_blocks`] lists these runs; a whole
//! training step of an MLP is one run, one pass over `X`). Sums over the
//! batch are combined in an order fixed by the shapes, on any number of
//! threads.
//!
//! The only door into native code is the safe wrapper inside `run`, which
//! checks every feed's shape and dtype and every buffer's length before the
//! call. [`Executable::kernel_fn`] hands out the raw entry point for those
//! who want to call it themselves (`examples/raw_fn_pointer.rs`).
//!
//! A [`Session`] runs fetches with feeds as TensorFlow 1 did, on any
//! [`exec::Engine`]: `interp` (the reference interpreter), `jit` (fused
//! native code), `jit-mt` (the same on all cores) or `jit-unfused` (one
//! kernel per operation, for comparison). A compiling session caches one
//! executable per fetch list and feed shapes.
//!
//! ## The oracle
//!
//! [`interp`] evaluates the raw graph one operation at a time on
//! `ndarray`, with each operation's scalar math taken from the one
//! definition in [`graph`] ([`graph::UnaryOp::eval`], ...). Constant
//! folding uses the same kernels, so folding and interpreting cannot
//! disagree. The tests hold every native result to it, before and after
//! every pass, and hold gradients to finite differences.
//!
//! ## Where to go next
//!
//! * `examples/quickstart.rs`: both seed programs, printed and run;
//! * `examples/higher_order.rs`: second derivatives, Hessian-vector products;
//! * `examples/train_logistic.rs`, `examples/train_mlp.rs`: training loops
//!   that compile once and call `run_into` every step;
//! * `examples/fused_vs_unfused.rs`: one gradient on every engine, with
//!   times and the kernels;
//! * `examples/raw_fn_pointer.rs`: the `extern "C"` entry point.
//!
//! [`Graph`]: crate::Graph
//! [`Graph::check`]: crate::Graph::check
//! [`Graph::gradients`]: crate::Graph::gradients
//! [`Graph::gradients_with`]: crate::Graph::gradients_with
//! [`Op`]: crate::Op
//! [`Tensor`]: crate::Tensor
//! [`Session`]: crate::Session
//! [`Executable`]: crate::exec::Executable
//! [`Executable::kernel_fn`]: crate::exec::Executable::kernel_fn
//! [`Executable::row_blocks`]: crate::exec::Executable::row_blocks
//! [`KernelSpec`]: crate::graph::kernel::KernelSpec
//! [`graph`]: crate::graph
//! [`graph::UnaryOp::eval`]: crate::graph::UnaryOp::eval
//! [`text`]: crate::text
//! [`text::print_program`]: crate::text::print_program
//! [`autodiff`]: crate::autodiff
//! [`simplify`]: crate::simplify
//! [`simplify::Pipeline::standard`]: crate::simplify::Pipeline::standard
//! [`simplify::Pipeline::run_with_shapes`]: crate::simplify::Pipeline::run_with_shapes
//! [`simplify::Stop::Saturated`]: crate::simplify::Stop::Saturated
//! [`simplify::Exactness`]: crate::simplify::Exactness
//! [`simplify::rules`]: crate::simplify::rules
//! [`fuse`]: crate::fuse
//! [`fuse::Plan`]: crate::fuse::Plan
//! [`fuse::plan`]: crate::fuse::plan
//! [`jit`]: crate::jit
//! [`jit::KernelFn`]: crate::jit::KernelFn
//! [`jit::math`]: crate::jit::math
//! [`jit::clif_text`]: crate::jit::clif_text
//! [`exec`]: crate::exec
//! [`exec::compile`]: crate::exec::compile
//! [`exec::Engine`]: crate::exec::Engine
//! [`interp`]: crate::interp
