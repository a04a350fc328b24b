//! Running graphs: compiled [`Executable`]s and the TF1-style [`Session`]
//! that runs fetches with feeds on any engine.

pub(crate) mod compile;
mod engine;
pub(crate) mod executable;
pub(crate) mod layout;
pub(crate) mod parallel;
mod routine;
pub(crate) mod rows;
mod session;
pub(crate) mod stream;

pub use compile::{
    compile, row_blocks, CompileOptions, EntryFn, Executable, RowBlocks, MAX_THREADS,
};
pub use engine::{Engine, UnknownEngine, ENGINES};
pub use executable::PARALLEL_THRESHOLD;
pub use routine::{routine, Routine};
pub use session::{ExecError, Session};
