//! Why compiling or running failed: the one error type of `exec`.

use crate::graph::GraphError;
use crate::interp::InterpError;

/// Why a session or an executable could not compile or run.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ExecError {
    /// The graph holds an error from building it.
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// Evaluation failed (unfed input, bad feed, run-time shape mismatch).
    #[error(transparent)]
    Interp(#[from] InterpError),
    /// A fetch or feed from another graph.
    #[error("{role} is a tensor of another graph")]
    ForeignTensor {
        /// `fetch` or `feed`.
        role: &'static str,
    },
    /// A feed for a node that is not a placeholder.
    #[error("only placeholders can be fed, but {what} was")]
    NotAPlaceholder {
        /// The node fed.
        what: String,
    },
    /// Feeds given to an executable, in a different number than its inputs.
    #[error("the executable takes {expected} feeds, got {got}")]
    FeedCount {
        /// Inputs it takes.
        expected: usize,
        /// Feeds given.
        got: usize,
    },
    /// A feed of another shape than the executable was compiled for.
    #[error("feed #{index} has shape {got:?}, but the executable was compiled for {expected:?}")]
    FeedShapeChanged {
        /// Which feed.
        index: usize,
        /// The compiled shape.
        expected: Vec<usize>,
        /// The shape given.
        got: Vec<usize>,
    },
    /// A feed of the wrong dtype.
    #[error("feed #{index} is {got}, but the executable computes in {expected}")]
    FeedDTypeAt {
        /// Which feed.
        index: usize,
        /// The executable's dtype.
        expected: crate::graph::DType,
        /// The feed's dtype.
        got: crate::graph::DType,
    },
    /// Output arrays given in a different number than the fetches.
    #[error("the executable has {expected} outputs, got {got} arrays")]
    OutputCount {
        /// Outputs it has.
        expected: usize,
        /// Arrays given.
        got: usize,
    },
    /// An output array of the wrong shape or dtype.
    #[error("output #{index} must be an array of shape {expected:?} in the executable's dtype")]
    OutputShape {
        /// Which output.
        index: usize,
        /// Its shape.
        expected: Vec<usize>,
    },
    /// An output array that is not contiguous in standard layout.
    #[error("output #{index} must be contiguous in standard (row-major) layout")]
    OutputLayout {
        /// Which output.
        index: usize,
    },
    /// Nodes of different dtypes in one compiled graph.
    #[error(
        "the JIT compiles graphs of one dtype; this one mixes f32 and f64 (use the interpreter)"
    )]
    MixedDTypes,
    /// A library step failed at run time.
    #[error("`{op}`: {detail}")]
    Library {
        /// The operation.
        op: &'static str,
        /// What went wrong.
        detail: String,
    },
    /// The thread pool could not be created.
    #[error("cannot start worker threads: {0}")]
    Threads(String),
    /// Simplification failed.
    #[error(transparent)]
    Simplify(#[from] crate::simplify::SimplifyError),
    /// Fusion failed.
    #[error(transparent)]
    Fuse(#[from] crate::fuse::FuseError),
    /// Code generation failed.
    #[error(transparent)]
    Jit(#[from] crate::jit::JitError),
    /// A broken invariant of the executor (a bug: please report it).
    #[error("internal error in the executor: {0}")]
    Internal(&'static str),
    /// The memory for outputs or temporaries could not be allocated.
    #[error("cannot allocate {bytes} bytes for the executable's buffers")]
    OutOfMemory {
        /// The size asked for.
        bytes: usize,
    },
    /// An input of an executable that a list of feed names does not name.
    #[error("the executable reads input `{name}`, which is not among the names given")]
    MissingFeed {
        /// The input's name.
        name: String,
    },
    /// The same placeholder fed twice.
    #[error("input `{name}` is fed twice")]
    FedTwice {
        /// The placeholder's name.
        name: String,
    },
    /// The program has no whole-program function.
    #[error(transparent)]
    Driver(#[from] crate::driver::DriverError),
    /// The whole-program function reported an error.
    #[error("the compiled program failed with code {code}: {message}")]
    RunTime {
        /// The code it returned.
        code: i32,
        /// What the code means.
        message: String,
    },
}
