//! gradjit: a small gradient compiler.
//!
//! `tf.gradients(ys, xs)` for Rust: build a graph of tensor operations, ask
//! for symbolic gradients (new graph nodes, not numbers), and run them.
//!
//! ```
//! use gradjit::{DType, Graph, Session, Shape};
//! use ndarray::arr0;
//!
//! let g = Graph::new();
//! let x = g.placeholder("x", DType::F32, Shape::unknown());
//! let y = x * x + 3.0 * x;
//! let grad = g.gradients(&[y], &[x])?[0].expect("connected"); // a node, not a number
//! let mut sess = Session::new(&g);
//! let out = sess.run(&[grad], &[(x, arr0(2.0f32).into_dyn())])?;
//! println!("{}", out[0]); // 7
//! # assert_eq!(out[0].to_f64_vec(), vec![7.0]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

pub mod autodiff;
pub mod exec;
pub mod graph;
pub mod interp;
pub mod simplify;
pub mod value;

pub use autodiff::{GradOptions, GradientOptions, UnconnectedGradients};
pub use exec::{ExecError, Session};
pub use graph::{DType, Graph, NodeId, Op, Shape, Tensor};
pub use value::{AsFeed, Value, ValueView};
