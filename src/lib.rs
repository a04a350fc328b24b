//! gradjit: a small gradient compiler.
//!
//! `tf.gradients(ys, xs, grad_ys)` for Rust. Build a graph of tensor
//! operations, ask for its gradients — new nodes of the same graph, not
//! numbers — and gradjit simplifies them, fuses their elementwise chains
//! into kernels and compiles the kernels to native code with Cranelift. A
//! reference interpreter over `ndarray` runs any graph too, and is the
//! oracle every native result is tested against.
//!
//! # The seed example, step by step
//!
//! `y = x*x + 3*x`, whose derivative is `2x + 3`:
//!
//! ```
//! use gradjit::exec::{compile, CompileOptions, Engine};
//! use gradjit::simplify::Pipeline;
//! use gradjit::text::print_program;
//! use gradjit::{AsFeed, DType, Graph, Session, Shape};
//! use ndarray::{arr0, arr1};
//!
//! // 1. Build a graph. `x` is an input of any shape; `Tensor`s take operators.
//! let g = Graph::new();
//! let x = g.placeholder("x", DType::F32, Shape::unknown());
//! let y = x * x + 3.0 * x;
//!
//! // 2. Gradients are graph nodes: `d_x` is a `Tensor`, not a number.
//! let d_x = g.gradients(&[y], &[x])?[0].expect("x reaches y");
//!
//! // 3. Simplified, the gradient is what a person would write.
//! let s = Pipeline::standard().run(&g, &[d_x.id()])?;
//! assert_eq!(print_program(&s.graph, &[("d_x", s.roots[0])]), "d_x = x + (3 + x)\n");
//!
//! // 4. Run it, TensorFlow 1 style, on the interpreter or on native code.
//! for engine in [Engine::Interp, Engine::Jit] {
//!     let mut sess = Session::with_engine(&g, engine);
//!     let out = sess.run(&[y, d_x], &[(x, arr0(2.0f32))])?;
//!     assert_eq!(out[0].to_f64_vec(), [10.0]); // y(2) = 4 + 6
//!     assert_eq!(out[1].to_f64_vec(), [7.0]); //  y'(2) = 2*2 + 3
//! }
//!
//! // 5. Or compile once for a shape and call it many times (a training
//! //    loop calls `run_into`, which writes into arrays it owns).
//! let exe = compile(&g, &[d_x.id()], &[(x.id(), vec![3])], &CompileOptions::default())?;
//! let out = exe.run(&[arr1(&[-1.0f32, 0.0, 1.5]).as_feed()])?;
//! assert_eq!(out[0].to_f64_vec(), [1.0, 3.0, 6.0]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The function-style form
//!
//! The same derivative from a Rust closure, as `jax.grad(f)` takes a Python
//! function: [`function::grad`] traces the closure once per argument
//! shapes into a graph like the one above, differentiates, compiles, and
//! returns something to call ([`function::value_and_grad`],
//! [`function::jvp`] and [`function::hessian`] likewise):
//!
//! ```
//! use gradjit::function::grad;
//! use gradjit::{Graph, Tensor, Value};
//! use ndarray::arr1;
//!
//! let dy = grad(|_: &Graph, x: &[Tensor<'_>]| (x[0] * x[0] + 3.0f64 * x[0]).sum());
//! let x = Value::F32(arr1(&[2.0f32, -1.0]).into_dyn());
//! assert_eq!(dy.call(&[x.view()])?[0].to_f64_vec(), [7.0, 1.0]);
//! # Ok::<(), gradjit::function::FunctionError>(())
//! ```
//!
//! The [`guide`] follows this example through every stage, with the
//! printed programs, the kernels and the Cranelift IR.
//!
//! # The expression language
//!
//! The `gradjit` command and [`text::parse`] read programs in a small
//! language (NumPy broadcasting, `@` for matrix products, `grad(y, x)` for
//! a symbolic gradient); [`text::print_program`] writes any graph back in
//! it:
//!
//! ```
//! use gradjit::text::{parse, print_program, ParseOptions};
//! use gradjit::{DType, Graph};
//!
//! let g = Graph::new();
//! let prog = parse(&g, "z = x*y + y*y\ndz = grad(z, y)", &ParseOptions::new(DType::F64))?;
//! let dz = prog.bindings["dz"];
//! println!("{}", print_program(&g, &[("dz", dz)]));
//! # Ok::<(), gradjit::text::ParseError>(())
//! ```
//!
//! # Modules, in the order the data flows
//!
//! | module | what it holds |
//! |---|---|
//! | [`graph`] | [`Graph`], [`Tensor`], [`Op`] (one closed enum, with each operation's scalar math), dtypes, shapes and broadcasting |
//! | [`text`] | the expression language: parser and printer |
//! | [`autodiff`] | [`Graph::gradients`]: `tf.gradients` semantics, one gradient rule per operation |
//! | [`simplify`] | the pass pipeline: CSE, constant folding, algebraic rules, dead nodes, stabilization |
//! | [`fuse`] | the partition of a graph into fused elementwise kernels and library steps |
//! | [`jit`] | Cranelift code for one kernel, the math approximations, the `extern "C"` ABI |
//! | [`interp`] | the reference interpreter |
//! | [`exec`] | [`exec::compile`] and [`exec::Executable`], [`Session`], engines |
//! | [`function`] | `grad`, `value_and_grad`, `jvp`, `hessian` of a Rust closure, traced and compiled per argument shapes |
//! | [`value`] | [`Value`]s and views of either dtype, fed and fetched |
//! | [`dot`] | Graphviz pictures, kernels drawn as clusters |
//!
//! # Errors
//!
//! Fallible functions return a `Result` whose error is an enum of the
//! module ([`exec::ExecError`], [`text::ParseError`], ...), whose messages
//! name the operation and, for program text, the line and column. An
//! operator expression cannot return a `Result`: an invalid one (shapes
//! that do not broadcast) records its error in the graph, and the next
//! fallible call returns it ([`Graph::check`]). Functions that panic say
//! so under `# Panics`.
//!
//! # Examples
//!
//! The repository's `examples/` run with `cargo run --release --example
//! NAME`: `quickstart`, `higher_order` (second derivatives and
//! Hessian-vector products), `train_logistic` and `train_mlp` (gradient
//! descent, compiled once), `fused_vs_unfused` (every engine on one
//! gradient) and `raw_fn_pointer` (the native entry point as an `extern
//! "C" fn`).
#![deny(missing_docs)]

pub mod aot;
pub mod autodiff;
pub mod dot;
pub mod driver;
pub mod exec;
pub mod function;
pub mod fuse;
pub mod graph;
pub mod guide;
pub mod interp;
pub mod jit;
pub mod simplify;
pub mod text;
pub mod value;

pub use autodiff::{GradOptions, GradientOptions, UnconnectedGradients};
pub use exec::{ExecError, Session};
pub use graph::{DType, Graph, NodeId, Op, Shape, Tensor};
pub use value::{AsFeed, Value, ValueView};
