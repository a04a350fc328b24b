//! Running graphs: compiled [`Executable`]s and the TF1-style [`Session`]
//! that runs fetches with feeds on any engine.

pub(crate) mod compile;
mod engine;
mod error;
pub(crate) mod executable;
pub(crate) mod layout;
pub(crate) mod parallel;
mod routine;
pub(crate) mod rows;
mod session;
pub(crate) mod stream;
mod views;

pub use compile::{
    compile, planned, row_blocks, CompileOptions, Executable, Planned, RowBlocks, MAX_THREADS,
};
pub use engine::{Engine, UnknownEngine, ENGINES};
pub use error::ExecError;
pub use executable::EntryFn;
pub use executable::PARALLEL_THRESHOLD;
pub use routine::{routine, Routine};
pub use session::Session;
