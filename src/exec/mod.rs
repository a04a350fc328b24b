//! Running graphs: compiled [`Executable`]s and the TF1-style [`Session`]
//! that runs fetches with feeds on any engine.

mod blocked;
pub(crate) mod compile;
mod engine;
pub(crate) mod executable;
pub(crate) mod layout;
mod library;
pub(crate) mod parallel;
mod reduce;
mod restructure;
pub(crate) mod rows;
mod scan;
mod session;
pub(crate) mod stream;
mod window;

pub use compile::{
    compile, row_blocks, CompileOptions, EntryFn, Executable, RowBlocks, MAX_THREADS,
};
pub use engine::{Engine, UnknownEngine, ENGINES};
pub use executable::PARALLEL_THRESHOLD;
pub use library::{routine, Routine};
pub use session::{ExecError, Session};
