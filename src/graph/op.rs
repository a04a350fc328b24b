//! The closed set of operations and the one definition of their scalar math.

use super::dtype::Real;
use super::literal::Literal;
use super::structure::SliceItem;
use super::window::{Padding, Window};

/// Declares the unary operations once: each variant with its doc, its
/// language name (which is also its `Tensor` method), so that a new one gets
/// its place in [`UNARY_OPS`], its name and its method together; its facts
/// ([`UnaryOp::facts`]) and its math ([`UnaryOp::eval`]) are exhaustive
/// matches beside it.
macro_rules! unary_ops {
    ($($(#[$doc:meta])* $variant:ident => $name:ident;)*) => {
        /// Elementwise operations of one argument.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum UnaryOp {
            $($(#[$doc])* $variant,)*
        }

        /// Every unary operation, in declaration order.
        pub const UNARY_OPS: [UnaryOp; [$(stringify!($variant)),*].len()] =
            [$(UnaryOp::$variant,)*];

        impl UnaryOp {
            /// The function's name in the expression language.
            pub fn name(self) -> &'static str {
                match self {
                    $(UnaryOp::$variant => stringify!($name),)*
                }
            }
        }

        // `neg` beside the `-` operator, as every function has its method
        #[allow(clippy::should_implement_trait)]
        impl<'g> super::Tensor<'g> {
            $($(#[$doc])* pub fn $name(self) -> super::Tensor<'g> {
                self.unary(UnaryOp::$variant)
            })*
        }
    };
}

unary_ops! {
    /// `-x`
    Neg => neg;
    /// `|x|`
    Abs => abs;
    /// -1, 0 or 1 (NaN stays NaN)
    Sign => sign;
    /// `e^x`
    Exp => exp;
    /// natural logarithm
    Log => log;
    /// `ln(1 + x)`
    Log1p => log1p;
    /// `e^x - 1`
    Expm1 => expm1;
    /// square root
    Sqrt => sqrt;
    /// `1 / sqrt(x)`
    Rsqrt => rsqrt;
    /// `x * x`
    Square => square;
    /// `1 / x`
    Reciprocal => reciprocal;
    /// sine
    Sin => sin;
    /// cosine
    Cos => cos;
    /// hyperbolic tangent
    Tanh => tanh;
    /// `1 / (1 + e^-x)`
    Sigmoid => sigmoid;
    /// `ln(1 + e^x)`
    Softplus => softplus;
    /// `max(x, 0)`, NaN propagating
    Relu => relu;
    /// round toward -inf
    Floor => floor;
    /// round toward +inf
    Ceil => ceil;
    /// round to the nearest integer, ties to even
    Round => round;
    /// `min(max(x, 0), 6)`, NaN propagating
    Relu6 => relu6;
    /// `x / (1 + |x|)`
    Softsign => softsign;
    /// `x` where `x >= 0`, else `e^x - 1`
    Elu => elu;
    /// `scale * x` where `x >= 0`, else `scale * alpha * (e^x - 1)`, with
    /// TensorFlow's constants ([`SELU_SCALE`], [`SELU_SCALE_ALPHA`])
    Selu => selu;
    /// `x * sigmoid(x)` (TensorFlow's `silu`, `swish` with beta 1)
    Silu => silu;
    /// tangent
    Tan => tan;
    /// arcsine, in `[-pi/2, pi/2]` (NaN outside `[-1, 1]`)
    Asin => asin;
    /// arccosine, in `[0, pi]` (NaN outside `[-1, 1]`)
    Acos => acos;
    /// arctangent, in `[-pi/2, pi/2]`
    Atan => atan;
    /// hyperbolic sine
    Sinh => sinh;
    /// hyperbolic cosine
    Cosh => cosh;
    /// inverse hyperbolic sine
    Asinh => asinh;
    /// inverse hyperbolic cosine (NaN below 1)
    Acosh => acosh;
    /// inverse hyperbolic tangent (NaN outside `[-1, 1]`, infinite at ±1)
    Atanh => atanh;
    /// the error function `2/sqrt(pi) * integral of e^-t^2 from 0 to x`
    Erf => erf;
    /// the complementary error function `1 - erf(x)`, accurate where it is small
    Erfc => erfc;
    /// `0.5 * x * (1 + erf(x / sqrt(2)))`: TensorFlow's `gelu` with
    /// `approximate=False` (the exact form, not the tanh approximation),
    /// computed as `0.5 * x * erfc(-x / sqrt(2))`, the same function
    Gelu => gelu;
}

/// `selu`'s scale, as TensorFlow's kernel has it.
pub const SELU_SCALE: f64 = 1.050_700_987_355_480_5;
/// `selu`'s scale times its alpha, as TensorFlow's kernel has it.
pub const SELU_SCALE_ALPHA: f64 = 1.758_099_340_847_376_9;

impl UnaryOp {
    /// Looks an operation up by its language name.
    pub fn from_name(name: &str) -> Option<Self> {
        UNARY_OPS.iter().copied().find(|op| op.name() == name)
    }

    /// The scalar math of this operation: the single definition shared by the
    /// interpreter, constant folding and tests.
    pub fn eval<T: Real>(self, x: T) -> T {
        let zero = T::zero();
        let one = T::one();
        match self {
            UnaryOp::Neg => -x,
            UnaryOp::Abs => x.abs(),
            UnaryOp::Sign => {
                if x > zero {
                    one
                } else if x < zero {
                    -one
                } else {
                    // keeps NaN and the sign of zero, as TensorFlow's sign does
                    x
                }
            }
            UnaryOp::Exp => x.exp(),
            UnaryOp::Log => x.ln(),
            UnaryOp::Log1p => x.ln_1p(),
            UnaryOp::Expm1 => x.exp_m1(),
            UnaryOp::Sqrt => x.sqrt(),
            UnaryOp::Rsqrt => one / x.sqrt(),
            UnaryOp::Square => x * x,
            UnaryOp::Reciprocal => one / x,
            UnaryOp::Sin => x.sin(),
            UnaryOp::Cos => x.cos(),
            UnaryOp::Tanh => x.tanh(),
            UnaryOp::Sigmoid => {
                // two branches so that neither exp overflows
                if x >= zero {
                    one / (one + (-x).exp())
                } else {
                    let e = x.exp();
                    e / (one + e)
                }
            }
            UnaryOp::Softplus => {
                // max(x, 0) + log1p(exp(-|x|)) never overflows
                let pos = if x > zero { x } else { zero };
                pos + (-x.abs()).exp().ln_1p()
            }
            UnaryOp::Relu => {
                if x > zero || x.is_nan() {
                    x
                } else {
                    zero
                }
            }
            UnaryOp::Floor => x.floor(),
            UnaryOp::Ceil => x.ceil(),
            UnaryOp::Round => x.round_even(),
            UnaryOp::Relu6 => {
                let r = UnaryOp::Relu.eval(x);
                let six = T::from_f64(6.0);
                if r > six {
                    six
                } else {
                    r
                }
            }
            UnaryOp::Softsign => x / (one + x.abs()),
            UnaryOp::Elu => {
                if x < zero {
                    x.exp_m1()
                } else {
                    x
                }
            }
            UnaryOp::Silu => x * UnaryOp::Sigmoid.eval(x),
            UnaryOp::Selu => {
                if x < zero {
                    T::from_f64(SELU_SCALE_ALPHA) * x.exp_m1()
                } else {
                    T::from_f64(SELU_SCALE) * x
                }
            }
            UnaryOp::Tan => x.tan(),
            UnaryOp::Asin => x.asin(),
            UnaryOp::Acos => x.acos(),
            UnaryOp::Atan => x.atan(),
            UnaryOp::Sinh => x.sinh(),
            UnaryOp::Cosh => x.cosh(),
            UnaryOp::Asinh => x.arsinh(),
            UnaryOp::Acosh => x.arcosh(),
            UnaryOp::Atanh => x.artanh(),
            UnaryOp::Erf => x.erf(),
            UnaryOp::Erfc => x.erfc(),
            UnaryOp::Gelu => {
                // TensorFlow writes (0.5 x) (1 + erf(x / sqrt 2)); 1 + erf
                // cancels where erf tends to -1 (x below about -2), so that
                // its value there is mostly the rounding of erf, which no two
                // implementations share: erfc(-x / sqrt 2) is the same number
                // without the cancellation (TensorFlow's within its rounding)
                let half = T::from_f64(0.5);
                let root2 = T::from_f64(std::f64::consts::SQRT_2);
                half * x * (-x / root2).erfc()
            }
        }
    }
}

/// Elementwise operations of two arguments (with broadcasting).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BinaryOp {
    /// `a + b`
    Add,
    /// `a - b`
    Sub,
    /// `a * b`
    Mul,
    /// `a / b`
    Div,
    /// `a ** b` with C99 `pow` semantics
    Pow,
    /// larger of the two; NaN if either is NaN; ties pick `a`
    Maximum,
    /// smaller of the two; NaN if either is NaN; ties pick `a`
    Minimum,
    /// `a < b` as 1.0 / 0.0
    Lt,
    /// `a <= b` as 1.0 / 0.0
    Le,
    /// `a > b` as 1.0 / 0.0
    Gt,
    /// `a >= b` as 1.0 / 0.0
    Ge,
    /// `a == b` as 1.0 / 0.0
    Eq,
    /// `a != b` as 1.0 / 0.0
    Ne,
    /// Internal: `relu_grad(g, y)` is `g * (y > 0)` (TensorFlow's `ReluGrad`,
    /// read from relu's output `y`; a product, so an infinite or NaN `g` gives
    /// NaN where `y <= 0`; its own derivative with respect to `y` is a
    /// connected zero).
    ReluGrad,
    /// Internal: `mul_no_nan(a, b)` is 0 where `b == 0`, else `a * b`
    /// (TensorFlow's `MulNoNan`, used where a gradient kernel gives 0 for a
    /// zero incoming gradient).
    MulNoNan,
    /// `div_no_nan(a, b)` is 0 where `b == 0`, else `a / b` (TensorFlow's `DivNoNan`).
    DivNoNan,
    /// `xlogy(a, b)` is 0 where `a == 0`, else `a * ln(b)` (TensorFlow's `Xlogy`).
    Xlogy,
    /// Internal: `xdivy(a, b)` is 0 where `a == 0`, else `a / b` (TensorFlow's
    /// `Xdivy`, in the gradient of `xlogy`).
    Xdivy,
    /// `atan2(y, x)`: the angle of the point `(x, y)`, in `[-pi, pi]`, with
    /// C99's signed zeros and infinities (TensorFlow's `Atan2`).
    Atan2,
}

/// Every binary operation, in declaration order.
pub const BINARY_OPS: [BinaryOp; 19] = [
    BinaryOp::Add,
    BinaryOp::Sub,
    BinaryOp::Mul,
    BinaryOp::Div,
    BinaryOp::Pow,
    BinaryOp::Maximum,
    BinaryOp::Minimum,
    BinaryOp::Lt,
    BinaryOp::Le,
    BinaryOp::Gt,
    BinaryOp::Ge,
    BinaryOp::Eq,
    BinaryOp::Ne,
    BinaryOp::ReluGrad,
    BinaryOp::MulNoNan,
    BinaryOp::DivNoNan,
    BinaryOp::Xlogy,
    BinaryOp::Xdivy,
    BinaryOp::Atan2,
];

impl BinaryOp {
    /// The function name in the expression language (`add`, `pow`, `less`, ...).
    pub fn name(self) -> &'static str {
        match self {
            BinaryOp::Add => "add",
            BinaryOp::Sub => "sub",
            BinaryOp::Mul => "mul",
            BinaryOp::Div => "div",
            BinaryOp::Pow => "pow",
            BinaryOp::Maximum => "maximum",
            BinaryOp::Minimum => "minimum",
            BinaryOp::Lt => "less",
            BinaryOp::Le => "less_equal",
            BinaryOp::Gt => "greater",
            BinaryOp::Ge => "greater_equal",
            BinaryOp::Eq => "equal",
            BinaryOp::Ne => "not_equal",
            BinaryOp::ReluGrad => "relu_grad",
            BinaryOp::MulNoNan => "mul_no_nan",
            BinaryOp::DivNoNan => "div_no_nan",
            BinaryOp::Xlogy => "xlogy",
            BinaryOp::Xdivy => "xdivy",
            BinaryOp::Atan2 => "atan2",
        }
    }

    /// The infix operator symbol, for operations that have one.
    pub fn symbol(self) -> Option<&'static str> {
        Some(match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Pow => "**",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Maximum
            | BinaryOp::Minimum
            | BinaryOp::ReluGrad
            | BinaryOp::MulNoNan
            | BinaryOp::DivNoNan
            | BinaryOp::Xlogy
            | BinaryOp::Xdivy
            | BinaryOp::Atan2 => return None,
        })
    }

    /// Looks an operation up by its function name.
    pub fn from_name(name: &str) -> Option<Self> {
        BINARY_OPS.iter().copied().find(|op| op.name() == name)
    }

    /// True for the comparisons, whose result is 1.0 or 0.0 and which have no gradient.
    pub fn is_comparison(self) -> bool {
        self.facts().comparison
    }

    /// The scalar math of this operation: the single definition shared by the
    /// interpreter, constant folding and tests.
    pub fn eval<T: Real>(self, a: T, b: T) -> T {
        let truth = |c: bool| if c { T::one() } else { T::zero() };
        match self {
            BinaryOp::Add => a + b,
            BinaryOp::Sub => a - b,
            BinaryOp::Mul => a * b,
            BinaryOp::Div => a / b,
            BinaryOp::Pow => a.powf(b),
            BinaryOp::Maximum => {
                if a.is_nan() || b.is_nan() {
                    T::nan()
                } else if a >= b {
                    a
                } else {
                    b
                }
            }
            BinaryOp::Minimum => {
                if a.is_nan() || b.is_nan() {
                    T::nan()
                } else if a <= b {
                    a
                } else {
                    b
                }
            }
            BinaryOp::Lt => truth(a < b),
            BinaryOp::Le => truth(a <= b),
            BinaryOp::Gt => truth(a > b),
            BinaryOp::Ge => truth(a >= b),
            BinaryOp::Eq => truth(a == b),
            BinaryOp::Ne => truth(a != b),
            // a product, not a choice: an infinite or NaN `a` gives NaN where b <= 0
            BinaryOp::ReluGrad => a * truth(b > T::zero()),
            BinaryOp::MulNoNan => {
                if b == T::zero() {
                    T::zero()
                } else {
                    a * b
                }
            }
            BinaryOp::DivNoNan => {
                if b == T::zero() {
                    T::zero()
                } else {
                    a / b
                }
            }
            BinaryOp::Xlogy => {
                if a == T::zero() {
                    T::zero()
                } else {
                    a * b.ln()
                }
            }
            BinaryOp::Xdivy => {
                if a == T::zero() {
                    T::zero()
                } else {
                    a / b
                }
            }
            BinaryOp::Atan2 => a.atan2(b),
        }
    }
}

/// The scalar math of `where(cond, a, b)`: `a` where `cond` is nonzero (NaN counts as nonzero).
pub fn select<T: Real>(cond: T, a: T, b: T) -> T {
    if cond != T::zero() {
        a
    } else {
        b
    }
}

/// Reductions over axes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReduceOp {
    /// sum (0 over nothing)
    Sum,
    /// arithmetic mean (NaN over nothing, as NumPy)
    Mean,
    /// maximum (-inf over nothing), NaN propagating
    Max,
    /// minimum (+inf over nothing), NaN propagating
    Min,
    /// `log(sum(exp(x)))`, computed stably (-inf over nothing)
    LogSumExp,
    /// product (1 over nothing)
    Prod,
}

/// Every reduction, in declaration order.
pub const REDUCE_OPS: [ReduceOp; 6] = [
    ReduceOp::Sum,
    ReduceOp::Mean,
    ReduceOp::Max,
    ReduceOp::Min,
    ReduceOp::LogSumExp,
    ReduceOp::Prod,
];

impl ReduceOp {
    /// The function name in the expression language.
    pub fn name(self) -> &'static str {
        match self {
            ReduceOp::Sum => "sum",
            ReduceOp::Mean => "mean",
            ReduceOp::Max => "max",
            ReduceOp::Min => "min",
            ReduceOp::LogSumExp => "logsumexp",
            ReduceOp::Prod => "prod",
        }
    }

    /// Looks a reduction up by its function name.
    pub fn from_name(name: &str) -> Option<Self> {
        REDUCE_OPS.iter().copied().find(|op| op.name() == name)
    }

    /// Reduces a sequence of values: the single definition of each reduction's
    /// math, in the order the values come.
    pub fn eval<T: Real>(self, values: impl Iterator<Item = T> + Clone) -> T {
        let nan_max = |a: T, b: T| BinaryOp::Maximum.eval(a, b);
        let nan_min = |a: T, b: T| BinaryOp::Minimum.eval(a, b);
        match self {
            ReduceOp::Sum => values.fold(T::zero(), |a, b| a + b),
            ReduceOp::Prod => values.fold(T::one(), |a, b| a * b),
            ReduceOp::Mean => {
                let (s, n) = values.fold((T::zero(), 0usize), |(s, n), v| (s + v, n + 1));
                s / T::from_f64(n as f64)
            }
            ReduceOp::Max => values.fold(T::neg_infinity(), nan_max),
            ReduceOp::Min => values.fold(T::infinity(), nan_min),
            ReduceOp::LogSumExp => {
                let m = values.clone().fold(T::neg_infinity(), nan_max);
                if !m.is_finite() {
                    // all -inf gives -inf; any +inf gives +inf; NaN stays NaN
                    return m;
                }
                let s = values.fold(T::zero(), |acc, v| acc + (v - m).exp());
                m + s.ln()
            }
        }
    }
}

impl ReduceOp {
    /// Reduces a slice of values as the interpreter does: sums (and the
    /// sums inside `mean` and `logsumexp`) pairwise, so that their rounding
    /// error grows with the logarithm of the count rather than the count;
    /// `max` and `min` as [`ReduceOp::eval`].
    pub fn eval_pairwise<T: Real>(self, values: &[T]) -> T {
        match self {
            ReduceOp::Sum => pairwise_sum(values),
            ReduceOp::Mean => pairwise_sum(values) / T::from_f64(values.len() as f64),
            ReduceOp::Max | ReduceOp::Min | ReduceOp::Prod => self.eval(values.iter().copied()),
            ReduceOp::LogSumExp => {
                let m = ReduceOp::Max.eval(values.iter().copied());
                if !m.is_finite() {
                    return m;
                }
                let e: Vec<T> = values.iter().map(|&v| (v - m).exp()).collect();
                m + pairwise_sum(&e).ln()
            }
        }
    }
}

/// The pairwise (cascade) sum: runs of at most eight added in order from
/// +0, then the two halves' sums added, recursively.
pub fn pairwise_sum<T: Real>(values: &[T]) -> T {
    if values.len() <= 8 {
        return values.iter().fold(T::zero(), |a, &b| a + b);
    }
    let (l, r) = values.split_at(values.len() / 2);
    pairwise_sum(l) + pairwise_sum(r)
}

/// An operation: what a node computes from its inputs.
///
/// One closed enum, so that every pass (gradients, folding, fusion, lowering,
/// printing) handles every operation or fails to build.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// An input fed at run time. No inputs.
    Placeholder {
        /// The input's name, unique in its graph.
        name: String,
    },
    /// A constant tensor. No inputs.
    Constant(Literal),
    /// Elementwise operation of one input.
    Unary(UnaryOp),
    /// Elementwise operation of two inputs, broadcast.
    Binary(BinaryOp),
    /// `where(cond, a, b)`: three inputs, broadcast.
    Where,
    /// Reduction of one input.
    Reduce {
        /// Which reduction.
        op: ReduceOp,
        /// Sorted, distinct axes; `None` reduces every axis.
        axes: Option<Vec<usize>>,
        /// Keep reduced axes as size 1.
        keepdims: bool,
    },
    /// Reshape to the given dimensions (one may be -1).
    Reshape {
        /// Target dimensions; -1 is inferred.
        dims: Vec<i64>,
    },
    /// Permute axes; `None` reverses them.
    Transpose {
        /// The permutation, or `None` for reversal.
        perm: Option<Vec<usize>>,
    },
    /// Broadcast to a fixed shape.
    BroadcastTo {
        /// The target shape.
        dims: Vec<usize>,
    },
    /// Matrix product over the last two axes, batch axes broadcast. Two inputs.
    MatMul,
    /// The identity, through which no gradient flows.
    StopGradient,
    /// The identity.
    Identity,
    /// A name bound with `name := expr` (or a bound name the gradients are
    /// taken with respect to): its value is `expr`'s, but it is a node of
    /// its own, the instance of `expr`'s operation, as a TensorFlow op's
    /// output is: a gradient with respect to it or a stop at it concerns the
    /// uses of this name only, not every structurally equal expression that
    /// hash-consing would merge with it, and gradient rules built from the
    /// op's output read the name (`autodiff` differentiates it with the
    /// op's rule).
    Bind {
        /// The bound name.
        name: String,
    },
    /// `softmax(x, axis)`: `exp(x - m) / sum(exp(x - m))` along `axis`, `m`
    /// the maximum there (TensorFlow's `Softmax` kernel). Native code runs
    /// it as a max pass and a sum-of-exp pass (`fuse::prepare`).
    Softmax {
        /// The axis; negative counts from the end.
        axis: i64,
    },
    /// `log_softmax(x, axis)`: `(x - m) - log(sum(exp(x - m)))` along `axis`
    /// (TensorFlow's `LogSoftmax` kernel).
    LogSoftmax {
        /// The axis; negative counts from the end.
        axis: i64,
    },
    /// `softmax_cross_entropy(labels, logits)`: `-sum(labels *
    /// log_softmax(logits))` over the last axis, which the result drops
    /// (TensorFlow's `SoftmaxCrossEntropyWithLogits`, its gradient to the
    /// logits `softmax(logits) - labels` even where labels do not sum to 1).
    SoftmaxCrossEntropy,
    /// `reverse(x, axes)`: the elements in reverse order along each axis
    /// (`tf.reverse`).
    Reverse {
        /// Sorted, distinct axes.
        axes: Vec<usize>,
    },
    /// `tile(x, multiples)`: `x` repeated `multiples[i]` times along axis `i`
    /// (`tf.tile`).
    Tile {
        /// One count per axis.
        multiples: Vec<usize>,
    },
    /// `cumsum(x, axis, exclusive, reverse)`: running sums along `axis`
    /// (`tf.cumsum`).
    Cumsum {
        /// The axis.
        axis: usize,
        /// Each sum leaves out its own element.
        exclusive: bool,
        /// Sums run from the end.
        reverse: bool,
    },
    /// Internal: `cumprod(x, axis, exclusive, reverse)`: running products
    /// along `axis` (`tf.math.cumprod`; in `prod`'s gradient).
    Cumprod {
        /// The axis.
        axis: usize,
        /// Each product leaves out its own element.
        exclusive: bool,
        /// Products run from the end.
        reverse: bool,
    },
    /// `argmax(x, axis)` (or `argmin` with `min`): the index of the first
    /// largest (smallest) element along `axis`, as a float; the axis is
    /// dropped. No gradient.
    ArgExtreme {
        /// The axis.
        axis: usize,
        /// The smallest instead of the largest.
        min: bool,
    },
    /// `x[items]`: NumPy's basic indexing (`tf.strided_slice`); an integer
    /// item drops its axis, axes past the items are whole.
    Slice {
        /// One item per leading axis.
        items: Vec<SliceItem>,
    },
    /// Internal: `slice_grad(g, like, [items])` is zeros of `like`'s shape
    /// with `g` written where `like[items]` reads (the gradient of a slice).
    /// Gradient flows to `g` only.
    SliceGrad {
        /// The slice's items.
        items: Vec<SliceItem>,
    },
    /// `pad(x, widths)`: `x` with `before` zeros ahead of and `after` zeros
    /// behind each axis (`tf.pad`, mode `CONSTANT`).
    Pad {
        /// `(before, after)` per axis.
        widths: Vec<(usize, usize)>,
    },
    /// `concat([a, b, ...], axis)`: the operands, which agree off the axis,
    /// one after the other along it (`tf.concat`). Any positive number of inputs.
    Concat {
        /// The axis.
        axis: usize,
    },
    /// `gather(params, indices, axis)`: `params` read at each index along
    /// `axis`, shape `params.shape[:axis] + indices.shape +
    /// params.shape[axis+1:]` (`tf.gather`); an index that is not an integer
    /// in `[0, n)` is an error at run time. No gradient to the indices.
    Gather {
        /// The axis indexed.
        axis: usize,
    },
    /// Internal: `gather_grad(g, indices, like, axis)` is zeros of `like`'s
    /// shape with each slice of `g` added at its index along `axis` (repeated
    /// indices add up): `gather`'s gradient, made dense. Gradient flows to
    /// `g` only.
    GatherGrad {
        /// The axis indexed.
        axis: usize,
    },
    /// `one_hot(indices, depth)`: shape `indices.shape + [depth]`, 1 at each
    /// index and 0 elsewhere; an integer outside `[0, depth)` gives a row of
    /// zeros (`tf.one_hot`), a non-integer is an error. No gradient.
    OneHot {
        /// The number of classes.
        depth: usize,
    },
    /// Internal: `label_one_hot(labels, depth)` is `one_hot` whose index
    /// outside `[0, depth)` is an error naming
    /// `sparse_softmax_cross_entropy`, whose labels it encodes. No gradient.
    LabelOneHot {
        /// The number of classes.
        depth: usize,
    },
    /// `sparse_softmax_cross_entropy(labels, logits)`: `logsumexp(logits) -
    /// logits[label]` per row of the last axis (TensorFlow's
    /// `SparseSoftmaxCrossEntropyWithLogits`), labels of the logits' shape
    /// without it; a label outside `[0, classes)` is an error at run time.
    /// No gradient to the labels.
    SparseSoftmaxCrossEntropy,
    /// `conv2d(x, filter, strides, padding)`: `x` `[batch, height, width,
    /// channels]`, `filter` `[kh, kw, channels, out]` (`tf.nn.conv2d`, NHWC).
    Conv2d {
        /// `[height, width]` steps.
        strides: [usize; 2],
        /// The border rule.
        padding: Padding,
    },
    /// Internal: `conv2d_backprop_input(g, filter, like, strides, padding)`,
    /// `conv2d`'s gradient to an input of `like`'s shape (TensorFlow's
    /// `Conv2DBackpropInput`). No gradient to `like`.
    Conv2dBackpropInput {
        /// `[height, width]` steps.
        strides: [usize; 2],
        /// The border rule.
        padding: Padding,
    },
    /// Internal: `conv2d_backprop_filter(x, g, like, strides, padding)`,
    /// `conv2d`'s gradient to a filter of `like`'s shape (TensorFlow's
    /// `Conv2DBackpropFilter`). No gradient to `like`.
    Conv2dBackpropFilter {
        /// `[height, width]` steps.
        strides: [usize; 2],
        /// The border rule.
        padding: Padding,
    },
    /// `max_pool2d(x, ksize, strides, padding)`: each window's largest
    /// element (`tf.nn.max_pool2d`, NHWC).
    MaxPool2d {
        /// The windows.
        window: Window,
    },
    /// Internal: `max_pool_grad(x, g, ...)`, `max_pool2d`'s gradient: each
    /// window's gradient to its first maximum in row-major order, overlapping
    /// windows adding up (TensorFlow's `MaxPoolGrad`). Its gradient to `x`
    /// is zero.
    MaxPoolGrad {
        /// The windows.
        window: Window,
    },
    /// Internal: `max_pool_grad_grad(x, gg, ...)`: each window reads `gg` at
    /// its first maximum (TensorFlow's `MaxPoolGradGrad`). Its gradient to
    /// `x` is zero.
    MaxPoolGradGrad {
        /// The windows.
        window: Window,
    },
    /// `avg_pool2d(x, ksize, strides, padding)`: each window's mean over the
    /// elements inside the input (`tf.nn.avg_pool2d`, NHWC).
    AvgPool2d {
        /// The windows.
        window: Window,
    },
    /// Internal: `avg_pool_grad(g, like, ...)`, `avg_pool2d`'s gradient to
    /// an input of `like`'s shape (TensorFlow's `AvgPoolGrad`).
    AvgPoolGrad {
        /// The windows.
        window: Window,
    },
    /// Internal: `sum_to(g, like)` sums `g` down to the shape of `like`
    /// (undoing a broadcast). Gradient flows to `g` only.
    SumTo,
    /// Internal: `broadcast_like(g, like)` broadcasts `g` to the shape of `like`.
    BroadcastLike,
    /// Internal: `reshape_like(g, like)` reshapes `g` to the shape of `like`.
    ReshapeLike,
    /// Internal: inserts size-1 axes at the given (sorted) output positions.
    ExpandDims {
        /// Output positions of the new axes.
        axes: Vec<usize>,
    },
    /// Internal: ones of the input's shape; no gradient.
    OnesLike,
    /// Internal: zeros of the input's shape; no gradient.
    ZerosLike,
    /// Internal: the number of elements a reduction over `axes` combines, as a
    /// scalar; depends on the input's shape only, no gradient.
    Count {
        /// Sorted axes; `None` counts all elements.
        axes: Option<Vec<usize>>,
    },
}

impl Op {
    /// The number of inputs this operation takes; `concat` takes any
    /// positive number ([`Op::takes`]).
    pub fn arity(&self) -> usize {
        match self {
            Op::Concat { .. } => 1,
            Op::Placeholder { .. } | Op::Constant(_) => 0,
            Op::Unary(_)
            | Op::Reduce { .. }
            | Op::Reshape { .. }
            | Op::Transpose { .. }
            | Op::BroadcastTo { .. }
            | Op::StopGradient
            | Op::Identity
            | Op::Bind { .. }
            | Op::ExpandDims { .. }
            | Op::OnesLike
            | Op::ZerosLike
            | Op::Count { .. }
            | Op::Softmax { .. }
            | Op::LogSoftmax { .. }
            | Op::Reverse { .. }
            | Op::Tile { .. }
            | Op::Cumsum { .. }
            | Op::Cumprod { .. }
            | Op::ArgExtreme { .. }
            | Op::Slice { .. }
            | Op::Pad { .. }
            | Op::OneHot { .. }
            | Op::LabelOneHot { .. }
            | Op::MaxPool2d { .. }
            | Op::AvgPool2d { .. } => 1,
            Op::Binary(_)
            | Op::MatMul
            | Op::SumTo
            | Op::BroadcastLike
            | Op::ReshapeLike
            | Op::SoftmaxCrossEntropy
            | Op::SliceGrad { .. }
            | Op::Gather { .. }
            | Op::SparseSoftmaxCrossEntropy
            | Op::Conv2d { .. }
            | Op::MaxPoolGrad { .. }
            | Op::MaxPoolGradGrad { .. }
            | Op::AvgPoolGrad { .. } => 2,
            Op::Where
            | Op::GatherGrad { .. }
            | Op::Conv2dBackpropInput { .. }
            | Op::Conv2dBackpropFilter { .. } => 3,
        }
    }

    /// Whether this operation takes `n` inputs.
    pub fn takes(&self, n: usize) -> bool {
        match self {
            Op::Concat { .. } => n >= 1,
            _ => n == self.arity(),
        }
    }

    /// Whether a gradient can flow from this node's output to input `i`
    /// (TensorFlow's registered gradients; `false` also for ops with none).
    pub fn passes_gradient(&self, i: usize) -> bool {
        match self {
            Op::Placeholder { .. }
            | Op::Constant(_)
            | Op::StopGradient
            | Op::OnesLike
            | Op::ZerosLike
            | Op::Count { .. }
            | Op::OneHot { .. }
            | Op::LabelOneHot { .. } => false,
            Op::Unary(u) => u.facts().differentiable,
            Op::Binary(b) => b.facts().differentiable,
            // the condition of `where` has no gradient
            Op::Where => i > 0,
            // the second input only lends its shape
            Op::SumTo
            | Op::BroadcastLike
            | Op::ReshapeLike
            | Op::SliceGrad { .. }
            | Op::AvgPoolGrad { .. } => i == 0,
            Op::Conv2dBackpropInput { .. } | Op::Conv2dBackpropFilter { .. } => i < 2,
            // indices have no gradient: to the params (of gather) or the
            // upstream gradient (of its gradient), to the logits
            Op::Gather { .. } | Op::GatherGrad { .. } => i == 0,
            Op::SparseSoftmaxCrossEntropy => i == 1,
            Op::Reduce { .. }
            | Op::Reshape { .. }
            | Op::Transpose { .. }
            | Op::BroadcastTo { .. }
            | Op::MatMul
            | Op::Identity
            | Op::Bind { .. }
            | Op::ExpandDims { .. }
            | Op::Softmax { .. }
            | Op::LogSoftmax { .. }
            | Op::SoftmaxCrossEntropy
            | Op::Reverse { .. }
            | Op::Tile { .. }
            | Op::Cumsum { .. }
            | Op::Cumprod { .. }
            | Op::Slice { .. }
            | Op::Pad { .. }
            | Op::Concat { .. }
            | Op::Conv2d { .. }
            | Op::MaxPool2d { .. }
            | Op::AvgPool2d { .. }
            // to `x` a connected zero, as TensorFlow's
            | Op::MaxPoolGrad { .. }
            | Op::MaxPoolGradGrad { .. } => true,
            // indices have no gradient (TensorFlow registers none)
            Op::ArgExtreme { .. } => false,
        }
    }

    /// True for operations computed element by element (with broadcasting).
    pub fn is_elementwise(&self) -> bool {
        matches!(self, Op::Unary(_) | Op::Binary(_) | Op::Where)
    }

    /// True for operations that count as "operations" in node counts: not
    /// placeholders or constants.
    pub fn is_computation(&self) -> bool {
        !matches!(
            self,
            Op::Placeholder { .. } | Op::Constant(_) | Op::Bind { .. }
        )
    }

    /// A short name for messages (`tanh`, `sum`, `matmul`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Op::Placeholder { .. } => "placeholder",
            Op::Constant(_) => "constant",
            Op::Unary(u) => u.name(),
            Op::Binary(b) => b.name(),
            Op::Where => "where",
            Op::Reduce { op, .. } => op.name(),
            Op::Reshape { .. } => "reshape",
            Op::Transpose { .. } => "transpose",
            Op::BroadcastTo { .. } => "broadcast_to",
            Op::MatMul => "matmul",
            Op::StopGradient => "stop_gradient",
            Op::Identity => "identity",
            Op::Bind { .. } => "bind",
            Op::SumTo => "sum_to",
            Op::BroadcastLike => "broadcast_like",
            Op::ReshapeLike => "reshape_like",
            Op::ExpandDims { .. } => "expand_dims",
            Op::OnesLike => "ones_like",
            Op::ZerosLike => "zeros_like",
            Op::Count { .. } => "count",
            Op::Softmax { .. } => "softmax",
            Op::LogSoftmax { .. } => "log_softmax",
            Op::SoftmaxCrossEntropy => "softmax_cross_entropy",
            Op::Reverse { .. } => "reverse",
            Op::Tile { .. } => "tile",
            Op::Cumsum { .. } => "cumsum",
            Op::Cumprod { .. } => "cumprod",
            Op::ArgExtreme { min: false, .. } => "argmax",
            Op::ArgExtreme { min: true, .. } => "argmin",
            Op::Slice { .. } => "slice",
            Op::SliceGrad { .. } => "slice_grad",
            Op::Pad { .. } => "pad",
            Op::Concat { .. } => "concat",
            Op::Gather { .. } => "gather",
            Op::GatherGrad { .. } => "gather_grad",
            Op::OneHot { .. } => "one_hot",
            Op::LabelOneHot { .. } => "label_one_hot",
            Op::SparseSoftmaxCrossEntropy => "sparse_softmax_cross_entropy",
            Op::Conv2d { .. } => "conv2d",
            Op::Conv2dBackpropInput { .. } => "conv2d_backprop_input",
            Op::Conv2dBackpropFilter { .. } => "conv2d_backprop_filter",
            Op::MaxPool2d { .. } => "max_pool2d",
            Op::MaxPoolGrad { .. } => "max_pool_grad",
            Op::MaxPoolGradGrad { .. } => "max_pool_grad_grad",
            Op::AvgPool2d { .. } => "avg_pool2d",
            Op::AvgPoolGrad { .. } => "avg_pool_grad",
        }
    }
}
