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
//! | `stabilize` | | numerically safe forms (`log(1+x) -> log1p(x)`, ...) |
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
//! stabilize   2 -> 2  []
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
//! and is planned as two kernels: `k0` computes `y` (3 operations) and `k1`
//! computes `d_x` (2 operations), each reading `x` once. They share an
//! input but neither uses the other, and a node joins only the kernels of
//! its own inputs, so the two stay apart. The description of `k1` that the
//! code generator receives (a [`KernelSpec`]) is a list of SSA
//! instructions:
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
//! assert_eq!(kernels.len(), 2);
//! let k1 = &kernels[1].spec;
//! assert_eq!(k1.inputs, [InnerAccess::Contiguous]);
//! assert_eq!(
//!     k1.body,
//!     [
//!         KInst::Const(3.0),
//!         KInst::Input(0),
//!         KInst::Binary(BinaryOp::Add, KValue(0), KValue(1)), // 3 + x
//!         KInst::Binary(BinaryOp::Add, KValue(1), KValue(2)), // x + (3 + x)
//!     ]
//! );
//! assert_eq!(k1.outputs, [KValue(3)]);
//! assert_eq!(kernels[1].layout.inner, 1024); // one row of 1024 elements
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
//! `F32X4` (or `F64X2`) unrolled twice, then one vector at a time, then a
//! scalar tail. Transcendental functions (`exp`, `tanh`, ...) are emitted
//! inline as polynomial approximations ([`jit::math`]), not as a library
//! call per element.
//!
//! [`jit::clif_text`] prints the IR before Cranelift optimizes it; for `k1`
//! (this is `gradjit show "y = x*x + 3*x" --wrt x --feed 'x=rand(1024)'
//! --clif` on an x86-64 machine; the text varies with the host's
//! features, so it is not a test):
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
//!     v5 = load.i64 notrap v0+8                 ; d_x's base pointer
//!     v6 = load.i64 notrap v1                   ; x's row stride
//!     v7 = iconst.i64 4
//!     v8 = imul v6, v7  ; v7 = 4
//!     v9 = iconst.i64 4
//!     v10 = imul v3, v9  ; v9 = 4
//!     v11 = iconst.i64 0
//!     v12 = iconst.i64 0
//!     v13 = icmp eq v3, v12  ; v12 = 0
//!     brif v13, block10, block1(v11)  ; v11 = 0
//!
//! block1(v14: i64):                             ; for each row
//!     v15 = icmp ult v14, v2
//!     brif v15, block2, block10
//!
//! block2:
//!     v16 = imul.i64 v14, v8
//!     v17 = iadd.i64 v4, v16
//!     v18 = imul.i64 v14, v10
//!     v19 = iadd.i64 v5, v18
//!     v20 = iconst.i64 4
//!     v21 = imul.i64 v14, v20  ; v20 = 4
//!     v22 = iconst.i64 0
//!     jump block3(v22)  ; v22 = 0
//!
//! block3(v23: i64):                             ; 8 elements at a time
//!     v24 = iconst.i64 8
//!     v25 = iadd v23, v24  ; v24 = 8
//!     v26 = icmp ule v25, v3
//!     brif v26, block4, block5(v23)
//!
//! block4:
//!     v27 = iconst.i64 0
//!     v28 = iadd.i64 v23, v27  ; v27 = 0
//!     v29 = iconst.i64 4
//!     v30 = imul v28, v29  ; v29 = 4
//!     v31 = f32const 0x1.800000p1               ; 3.0
//!     v32 = splat.f32x4 v31  ; v31 = 0x1.800000p1
//!     v33 = iadd.i64 v17, v30
//!     v34 = load.f32x4 notrap v33               ; 4 elements of x
//!     v35 = fadd v32, v34                       ; 3 + x
//!     v36 = fadd v34, v35                       ; x + (3 + x)
//!     v37 = iadd.i64 v19, v30
//!     store notrap v36, v37                     ; into d_x
//!     v38 = iconst.i64 4
//!     v39 = iadd.i64 v23, v38  ; v38 = 4
//!     v40 = iconst.i64 4
//!     v41 = imul v39, v40  ; v40 = 4
//!     v42 = f32const 0x1.800000p1
//!     v43 = splat.f32x4 v42  ; v42 = 0x1.800000p1
//!     v44 = iadd.i64 v17, v41
//!     v45 = load.f32x4 notrap v44               ; the next 4
//!     v46 = fadd v43, v45
//!     v47 = fadd v45, v46
//!     v48 = iadd.i64 v19, v41
//!     store notrap v47, v48
//!     v49 = iconst.i64 8
//!     v50 = iadd.i64 v23, v49  ; v49 = 8
//!     jump block3(v50)
//!
//! block5(v51: i64):                             ; then 4 at a time
//!     v52 = iconst.i64 4
//!     v53 = iadd v51, v52  ; v52 = 4
//!     v54 = icmp ule v53, v3
//!     brif v54, block6, block7(v51)
//!
//! block6:
//!     v55 = iconst.i64 4
//!     v56 = imul.i64 v51, v55  ; v55 = 4
//!     v57 = f32const 0x1.800000p1
//!     v58 = splat.f32x4 v57  ; v57 = 0x1.800000p1
//!     v59 = iadd.i64 v17, v56
//!     v60 = load.f32x4 notrap v59
//!     v61 = fadd v58, v60
//!     v62 = fadd v60, v61
//!     v63 = iadd.i64 v19, v56
//!     store notrap v62, v63
//!     v64 = iconst.i64 4
//!     v65 = iadd.i64 v51, v64  ; v64 = 4
//!     jump block5(v65)
//!
//! block7(v66: i64):                             ; then one at a time
//!     v67 = icmp ult v66, v3
//!     brif v67, block8, block9
//!
//! block8:
//!     v68 = iconst.i64 4
//!     v69 = imul.i64 v66, v68  ; v68 = 4
//!     v70 = f32const 0x1.800000p1
//!     v71 = iadd.i64 v17, v69
//!     v72 = load.f32 notrap v71
//!     v73 = fadd v70, v72  ; v70 = 0x1.800000p1
//!     v74 = fadd v72, v73
//!     v75 = iadd.i64 v19, v69
//!     store notrap v74, v75
//!     v76 = iconst.i64 1
//!     v77 = iadd.i64 v66, v76  ; v76 = 1
//!     jump block7(v77)
//!
//! block9:                                       ; next row
//!     v78 = iconst.i64 1
//!     v79 = iadd.i64 v14, v78  ; v78 = 1
//!     jump block1(v79)
//!
//! block10:
//!     return
//! }
//! ```
//!
//! (The comments after the IR's own `; v7 = 4` annotations are added here.)
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
//! assert_eq!(exe.kernels().len(), 2);
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
