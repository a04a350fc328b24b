//! The function-style front end: a Rust closure over [`Tensor`]s traced
//! once per argument shapes into a graph, transformed (`grad`,
//! `value_and_grad`, `jvp`, `hessian`), compiled, and called like a
//! function — what `jax.grad(f)` does for a Python function.
//!
//! ```
//! use gradjit::function::value_and_grad;
//! use gradjit::{Graph, Tensor, Value};
//! use ndarray::{arr1, ArrayD};
//!
//! // f(w) = sum(w * w * 3)
//! let f = value_and_grad(|_: &Graph, args: &[Tensor<'_>]| (args[0] * args[0] * 3.0f64).sum());
//! let w = Value::F64(arr1(&[1.0, -2.0]).into_dyn());
//! let out = f.call(&[w.view()])?;
//! assert_eq!(out[0].to_f64_vec(), [15.0]); // the value
//! assert_eq!(out[1].to_f64_vec(), [6.0, -12.0]); // its gradient, 6w
//! # Ok::<(), gradjit::function::FunctionError>(())
//! ```
//!
//! The closure runs once per distinct list of argument shapes and dtype
//! (the compiled executable is cached for them), so it must build the same
//! computation every time: it sees graph nodes, not numbers.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::autodiff::{self, AutodiffError};
use crate::exec::{compile, CompileOptions, ExecError, Executable};
use crate::graph::{DType, Graph, GraphError, NodeId, Shape, Tensor};
use crate::value::{Value, ValueView};

/// Why a traced function could not be called.
#[derive(Debug, thiserror::Error)]
pub enum FunctionError {
    /// `grad`, `value_and_grad` of a closure whose result is not a scalar.
    #[error("`{transform}` needs a function with a scalar result, got shape {shape}")]
    NotScalar {
        /// The transform.
        transform: &'static str,
        /// The result's shape.
        shape: Shape,
    },
    /// Arguments of different dtypes.
    #[error("arguments of different dtypes ({a} and {b})")]
    MixedDTypes {
        /// The first argument's dtype.
        a: DType,
        /// Another argument's.
        b: DType,
    },
    /// An argument number not below the number of arguments.
    #[error("argnum {argnum} for a call with {args} arguments")]
    ArgNum {
        /// The argument number.
        argnum: usize,
        /// Arguments given.
        args: usize,
    },
    /// A `jvp` call whose tangents do not match the differentiated arguments.
    #[error("{got} tangents for {want} differentiated arguments")]
    Tangents {
        /// Tangents given.
        got: usize,
        /// Arguments differentiated.
        want: usize,
    },
    /// The result does not depend on a differentiated argument.
    #[error("the result does not depend on argument {argnum} through a differentiable path (TensorFlow gives None)")]
    Unconnected {
        /// The argument.
        argnum: usize,
    },
    /// Building the graph failed (shapes that do not fit, ...).
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// Building a derivative failed.
    #[error(transparent)]
    Autodiff(#[from] AutodiffError),
    /// Compiling or running failed.
    #[error(transparent)]
    Exec(#[from] ExecError),
}

/// Which function of the closure a [`Traced`] computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Grad,
    ValueAndGrad,
    Jvp,
    Hessian,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Grad => "grad",
            Kind::ValueAndGrad => "value_and_grad",
            Kind::Jvp => "jvp",
            Kind::Hessian => "hessian",
        }
    }
}

/// A closure `f(graph, args) -> tensor`, transformed, traced and compiled
/// per argument shapes. Made by [`grad`], [`value_and_grad`], [`jvp`] and
/// [`hessian`]; [`Traced::argnums`] picks the arguments differentiated
/// (the first by default).
pub struct Traced<F> {
    f: F,
    kind: Kind,
    argnums: Vec<usize>,
    cache: Mutex<HashMap<TraceKey, Compiled>>,
}

/// What a trace is specialized to: the dtype and every argument's shape.
type TraceKey = (DType, Vec<Vec<usize>>);

/// One trace: the executable and where each argument goes in its feeds.
struct Compiled {
    exe: Executable,
    /// For each executable input, the index of the call's value feeding it.
    feeds: Vec<usize>,
}

fn traced<F>(f: F, kind: Kind) -> Traced<F> {
    Traced {
        f,
        kind,
        argnums: vec![0],
        cache: Mutex::new(HashMap::new()),
    }
}

/// `grad(f)`: the gradient of the scalar `f` with respect to each argument
/// of [`Traced::argnums`] (`jax.grad`).
pub fn grad<F>(f: F) -> Traced<F>
where
    F: for<'g> Fn(&'g Graph, &[Tensor<'g>]) -> Tensor<'g>,
{
    traced(f, Kind::Grad)
}

/// `value_and_grad(f)`: `f`'s value, then its gradients (`jax.value_and_grad`).
pub fn value_and_grad<F>(f: F) -> Traced<F>
where
    F: for<'g> Fn(&'g Graph, &[Tensor<'g>]) -> Tensor<'g>,
{
    traced(f, Kind::ValueAndGrad)
}

/// `jvp(f)`: called with the arguments and then one tangent per
/// differentiated argument, gives `f`'s value and its derivative in the
/// direction of the tangents (`jax.jvp`).
pub fn jvp<F>(f: F) -> Traced<F>
where
    F: for<'g> Fn(&'g Graph, &[Tensor<'g>]) -> Tensor<'g>,
{
    traced(f, Kind::Jvp)
}

/// `hessian(f)`: the second derivatives of `sum(f)` with respect to each
/// differentiated argument, of shape `x.shape + x.shape` (`tf.hessians`).
pub fn hessian<F>(f: F) -> Traced<F>
where
    F: for<'g> Fn(&'g Graph, &[Tensor<'g>]) -> Tensor<'g>,
{
    traced(f, Kind::Hessian)
}

impl<F> Traced<F>
where
    F: for<'g> Fn(&'g Graph, &[Tensor<'g>]) -> Tensor<'g>,
{
    /// Differentiates with respect to these arguments (JAX's `argnums`).
    pub fn argnums(mut self, argnums: &[usize]) -> Self {
        self.argnums = argnums.to_vec();
        self
    }

    /// Calls the transformed function: `grad` gives one gradient per
    /// differentiated argument, `value_and_grad` the value first, `jvp`
    /// (arguments, then tangents) the value and the directional derivative,
    /// `hessian` one Hessian per differentiated argument.
    ///
    /// # Errors
    /// Arguments of mixed dtypes, an argnum out of range, tangents that do
    /// not match, a result that is not a scalar for `grad`, a result that
    /// does not depend on a differentiated argument, or an error building,
    /// compiling or running the graph. Never panics on what it is given.
    pub fn call(&self, values: &[ValueView<'_>]) -> Result<Vec<Value>, FunctionError> {
        let n_args = match self.kind {
            Kind::Jvp => {
                values
                    .len()
                    .checked_sub(self.argnums.len())
                    .ok_or(FunctionError::Tangents {
                        got: values.len(),
                        want: self.argnums.len(),
                    })?
            }
            _ => values.len(),
        };
        if let Some(&argnum) = self.argnums.iter().find(|&&a| a >= n_args) {
            return Err(FunctionError::ArgNum {
                argnum,
                args: n_args,
            });
        }
        let dtype = values.first().map_or(DType::F32, ValueView::dtype);
        if let Some(v) = values.iter().find(|v| v.dtype() != dtype) {
            return Err(FunctionError::MixedDTypes {
                a: dtype,
                b: v.dtype(),
            });
        }
        let shapes: Vec<Vec<usize>> = values.iter().map(|v| v.shape().to_vec()).collect();
        let key = (dtype, shapes);
        // a poisoned cache only means another call panicked mid-insert:
        // its entries are still whole
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if !cache.contains_key(&key) {
            let compiled = self.trace(dtype, &key.1, n_args)?;
            cache.insert(key.clone(), compiled);
        }
        let c = cache
            .get(&key)
            .ok_or(FunctionError::Exec(ExecError::Internal(
                "the trace just cached",
            )))?;
        let feeds: Vec<ValueView<'_>> = c.feeds.iter().map(|&i| values[i].clone()).collect();
        Ok(c.exe.run(&feeds)?)
    }

    /// Runs the closure on placeholders of these shapes, builds the
    /// transform and compiles it.
    fn trace(
        &self,
        dtype: DType,
        shapes: &[Vec<usize>],
        n_args: usize,
    ) -> Result<Compiled, FunctionError> {
        let g = Graph::new();
        let inputs: Vec<Tensor<'_>> = shapes
            .iter()
            .enumerate()
            .map(|(i, s)| g.placeholder(&format!("arg{i}"), dtype, Shape::known(s)))
            .collect();
        let y = (self.f)(&g, &inputs[..n_args]);
        g.check()?;
        let xs: Vec<Tensor<'_>> = self.argnums.iter().map(|&a| inputs[a]).collect();
        let scalar = y.shape().concrete().is_some_and(|d| d.is_empty());
        let unconnected = |argnum| FunctionError::Unconnected { argnum };
        let mut fetches: Vec<NodeId> = Vec::new();
        match self.kind {
            Kind::Grad | Kind::ValueAndGrad => {
                if !scalar {
                    return Err(FunctionError::NotScalar {
                        transform: self.kind.name(),
                        shape: y.shape(),
                    });
                }
                if self.kind == Kind::ValueAndGrad {
                    fetches.push(y.id());
                }
                for (k, d) in g.gradients(&[y], &xs)?.into_iter().enumerate() {
                    fetches.push(d.ok_or(unconnected(self.argnums[k]))?.id());
                }
            }
            Kind::Jvp => {
                fetches.push(y.id());
                let mut total: Option<Tensor<'_>> = None;
                for (k, &x) in xs.iter().enumerate() {
                    let v = inputs[n_args + k];
                    let d = autodiff::jvp(&g, y.id(), x.id(), v.id())?
                        .ok_or(unconnected(self.argnums[k]))?;
                    let d = g.tensor(d);
                    total = Some(match total {
                        Some(t) => t + d,
                        None => d,
                    });
                }
                if let Some(t) = total {
                    fetches.push(t.id());
                }
            }
            Kind::Hessian => {
                for (k, &x) in xs.iter().enumerate() {
                    let h = autodiff::hessian(&g, y.id(), x.id())?
                        .ok_or(unconnected(self.argnums[k]))?;
                    fetches.push(h);
                }
            }
        }
        g.check()?;
        let placeholders: Vec<(NodeId, Vec<usize>)> = inputs
            .iter()
            .zip(shapes)
            .map(|(t, s)| (t.id(), s.clone()))
            .collect();
        let exe = compile(&g, &fetches, &placeholders, &CompileOptions::default())?;
        let feeds = exe
            .inputs()
            .iter()
            .map(|(name, _)| {
                name.strip_prefix("arg")
                    .and_then(|i| i.parse::<usize>().ok())
                    .ok_or(FunctionError::Exec(ExecError::Internal(
                        "an input the trace did not make",
                    )))
            })
            .collect::<Result<_, _>>()?;
        Ok(Compiled { exe, feeds })
    }
}
