//! Ahead of time: a program and its gradients compiled into a relocatable
//! object file (ELF, Mach-O or COFF, as the target's) that a C, C++ or Rust
//! program links and calls, with no gradjit, Rust or JIT at run time.
//!
//! The object holds the whole program as one function, `PREFIX_run` (the
//! driver of [`crate::driver`]: the same code [`crate::exec::Executable::entry`]
//! runs in the JIT), its kernels and constants, and `PREFIX_error`; every
//! other symbol is local, and the only undefined ones are the C library's
//! (`memcpy`, and `sinf` ... `tan` for large arguments of the circular
//! functions). The header that declares it is [`header`]'s; the contract
//! of both is `shared/spec/aot.md`.

pub mod header;
pub mod names;

use std::str::FromStr;

use cranelift_codegen::isa::{self, OwnedTargetIsa};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_module::{default_libcall_names, Linkage};
use cranelift_object::{ObjectBuilder, ObjectModule};

use crate::driver::DriverError;
use crate::driver::{Lowering, Naming};
use crate::exec::compile::{distinct_kernels, front};
use crate::exec::{CompileOptions, ExecError};
use crate::fuse::Fusion;
use crate::graph::{DType, Graph, NodeId};
use crate::jit::math::EmitConfig;

/// The machine an object file is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// x86-64 with SSE4.2 and POPCNT (`x86-64-v2`): CPUs of the last
    /// fifteen years.
    X86_64V2,
    /// x86-64 with AVX2, FMA, BMI1/2 and LZCNT (`x86-64-v3`).
    X86_64V3,
    /// This machine, with every feature it has.
    Native,
    /// A target triple (`aarch64-unknown-linux-gnu`), with its baseline
    /// features.
    Triple(String),
}

impl Target {
    /// The target's name as given on the command line.
    pub fn name(&self) -> &str {
        match self {
            Target::X86_64V2 => "x86-64-v2",
            Target::X86_64V3 => "x86-64-v3",
            Target::Native => "native",
            Target::Triple(t) => t,
        }
    }
}

impl FromStr for Target {
    type Err = AotError;
    fn from_str(s: &str) -> Result<Self, AotError> {
        Ok(match s {
            "x86-64-v2" => Target::X86_64V2,
            "x86-64-v3" => Target::X86_64V3,
            "native" => Target::Native,
            t => {
                let triple = target_lexicon::Triple::from_str(t).map_err(|e| {
                    AotError::Target(format!(
                        "`{t}` is not x86-64-v2, x86-64-v3, native or a target triple ({e})"
                    ))
                })?;
                isa::lookup(triple).map_err(|e| {
                    AotError::Target(format!(
                        "`{t}`: Cranelift cannot generate code for it ({e})"
                    ))
                })?;
                Target::Triple(t.to_string())
            }
        })
    }
}

/// Why an object file could not be made.
#[derive(Debug, thiserror::Error)]
pub enum AotError {
    /// The target is unknown or unsupported.
    #[error("--target {0}")]
    Target(String),
    /// Compiling the program failed.
    #[error(transparent)]
    Exec(#[from] ExecError),
    /// The program has a step the whole-program function cannot run yet.
    #[error(transparent)]
    Driver(#[from] DriverError),
    /// A name is not usable in C.
    #[error("{0}")]
    Name(String),
    /// Cranelift could not write the object.
    #[error("code generation failed: {0}")]
    Codegen(String),
}

fn codegen(e: impl std::fmt::Display) -> AotError {
    AotError::Codegen(e.to_string())
}

/// The code generator for `target`, with position-independent code.
fn target_isa(target: &Target) -> Result<OwnedTargetIsa, AotError> {
    let mut flags = settings::builder();
    for (k, v) in [
        ("opt_level", "speed"),
        ("is_pic", "true"),
        ("use_colocated_libcalls", "false"),
    ] {
        flags.set(k, v).map_err(codegen)?;
    }
    let builder = match target {
        Target::Native => {
            cranelift_native::builder().map_err(|e| AotError::Target(e.to_string()))?
        }
        Target::X86_64V2 | Target::X86_64V3 => {
            let triple = target_lexicon::Triple::from_str("x86_64-unknown-linux-gnu")
                .map_err(|e| AotError::Target(e.to_string()))?;
            let mut b = isa::lookup(triple).map_err(|e| AotError::Target(e.to_string()))?;
            b.enable(target.name()).map_err(codegen)?;
            b
        }
        Target::Triple(t) => {
            let triple = target_lexicon::Triple::from_str(t)
                .map_err(|e| AotError::Target(format!("{t}: {e}")))?;
            isa::lookup(triple).map_err(|e| AotError::Target(format!("{t}: {e}")))?
        }
    };
    builder
        .finish(settings::Flags::new(flags))
        .map_err(|e| AotError::Target(e.to_string()))
}

/// A program to compile ahead of time.
pub struct Program<'a> {
    /// The graph.
    pub graph: &'a Graph,
    /// Every input of the program, in the order of the header's struct:
    /// its name, placeholder and shape.
    pub inputs: &'a [(String, NodeId, Vec<usize>)],
    /// The outputs, in the order of the header's struct.
    pub outputs: &'a [NodeId],
    /// The dtype of every value.
    pub dtype: DType,
    /// The C identifier every symbol starts with.
    pub prefix: &'a str,
    /// The machine.
    pub target: &'a Target,
    /// Turn on the stabilizing rewrites.
    pub stabilize: bool,
}

/// An object file, and what its header needs to know.
pub struct Object {
    /// The file's bytes.
    pub bytes: Vec<u8>,
    /// Scratch the function needs, in bytes.
    pub scratch_bytes: usize,
}

/// Compiles `p` into an object file defining `PREFIX_run` and
/// `PREFIX_error`.
pub fn compile(p: &Program<'_>) -> Result<Object, AotError> {
    names::check_identifier("--name", p.prefix)?;
    let opts = CompileOptions {
        fusion: Fusion::Fused,
        simplify: true,
        stabilize: p.stabilize,
        threads: 1,
    };
    let feeds: Vec<(NodeId, Vec<usize>)> = p
        .inputs
        .iter()
        .map(|(_, id, shape)| (*id, shape.clone()))
        .collect();
    // planned as the JIT plans it (blocks of rows included), so both
    // compute the same bits
    let f = front(p.graph, p.outputs, &feeds, &opts)?;
    if f.dtype != p.dtype {
        return Err(ExecError::MixedDTypes.into());
    }
    // the plan's inputs are the placeholders it still reads: where each is
    // among the program's
    let slots: Vec<usize> = f
        .inputs
        .iter()
        .map(|(_, name, _)| {
            p.inputs
                .iter()
                .position(|(n, _, _)| n == name)
                .ok_or(AotError::Exec(ExecError::MissingFeed {
                    name: name.clone(),
                }))
        })
        .collect::<Result<_, _>>()?;
    let input_ids: Vec<NodeId> = f.inputs.iter().map(|(id, _, _)| *id).collect();
    let input_lens: Vec<usize> = f
        .inputs
        .iter()
        .map(|(_, _, d)| d.iter().product())
        .collect();
    let output_lens: Vec<usize> = f
        .roots
        .iter()
        .map(|r| {
            f.nodes[r.index()]
                .shape
                .concrete()
                .map_or(0, |d| d.iter().product())
        })
        .collect();
    let isa = target_isa(p.target)?;
    let cfg = EmitConfig::from_isa(&*isa);
    let builder = ObjectBuilder::new(isa, p.prefix, default_libcall_names()).map_err(codegen)?;
    let mut module = ObjectModule::new(builder);
    let (specs, code_of) = distinct_kernels(&f.plan);
    let mut ids = Vec::with_capacity(specs.len());
    for (i, spec) in specs.iter().enumerate() {
        ids.push(
            crate::jit::define_kernel(
                &mut module,
                &format!("{}_kernel{i}", p.prefix),
                spec,
                cfg,
                true,
            )
            .map_err(codegen)?,
        );
    }
    let run = format!("{}_run", p.prefix);
    let data = format!("{}_", p.prefix);
    let lowering = Lowering {
        nodes: &f.nodes,
        plan: &f.plan,
        input_ids: &input_ids,
        code_of: &code_of,
        segments: &f.segments,
        kernels: &ids,
        input_slots: &slots,
        input_lens: &input_lens,
        output_lens: &output_lens,
        cfg,
    };
    let naming = Naming {
        name: &run,
        linkage: Linkage::Export,
        prefix: &data,
        libm: true,
        library_gemm: false,
        stream: false,
        pool: None,
    };
    let (_, scratch_bytes) = crate::driver::lower(&mut module, p.dtype, &lowering, &naming)?;
    crate::driver::define_error(
        &mut module,
        &format!("{}_error", p.prefix),
        Linkage::Export,
        &data,
    )?;
    let product = module.finish();
    let bytes = product.emit().map_err(codegen)?;
    Ok(Object {
        bytes,
        scratch_bytes,
    })
}
