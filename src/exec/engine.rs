//! Which executor runs a graph.

use std::fmt;
use std::str::FromStr;

/// The executor behind a session or a benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Engine {
    /// The reference interpreter: one `ndarray` operation at a time.
    Interp,
    /// Fused native code on one thread.
    Jit,
    /// Fused native code on all cores.
    JitMt,
    /// Native code, one kernel per operation (for comparison).
    JitUnfused,
}

/// Every engine, in the order benchmarks report them.
pub const ENGINES: [Engine; 4] = [
    Engine::Interp,
    Engine::JitUnfused,
    Engine::Jit,
    Engine::JitMt,
];

impl Engine {
    /// The engine's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Interp => "interp",
            Engine::Jit => "jit",
            Engine::JitMt => "jit-mt",
            Engine::JitUnfused => "jit-unfused",
        }
    }
}

impl fmt::Display for Engine {
    /// The engine's name; width and alignment apply (`{:>12}`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// An engine name that is not one of gradjit's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown engine `{0}` (expected interp, jit, jit-mt or jit-unfused)")]
pub struct UnknownEngine(pub String);

impl FromStr for Engine {
    type Err = UnknownEngine;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "interp" => Engine::Interp,
            "jit" | "jit-fused" => Engine::Jit,
            "jit-mt" | "jit-fused-mt" => Engine::JitMt,
            "jit-unfused" => Engine::JitUnfused,
            other => return Err(UnknownEngine(other.to_string())),
        })
    }
}
