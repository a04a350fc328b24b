//! Running graphs: the TF1-style [`Session`] that runs fetches with feeds.

mod session;

pub use session::{ExecError, Session};
