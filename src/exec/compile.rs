//! `compile`: from a graph, its fetches and its feeds' shapes to an
//! [`Executable`] — specialize shapes, simplify, fuse, generate code, plan
//! buffers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use ndarray::ArrayViewD;
use smallvec::SmallVec;

use super::engine::Engine;
use super::executable::{DriverCall, EntryFn, Typed};
use super::layout::{plan_homes, Homes, Loc};
use super::ExecError;
use crate::driver::{DriverError, Lowering, Naming};
use crate::fuse::{plan, prepare, Fusion, KernelStep, Plan, Step};
use crate::graph::{DType, Graph, NodeId, Op, Shape};
use crate::jit::{self, KernelFn};
use crate::simplify::{extract, PassStats, Pipeline};
use crate::value::{Element, Value, ValueView, ValueViewMut};

/// How to compile.
#[derive(Clone, Debug)]
pub struct CompileOptions {
    /// Fused kernels, or one per operation.
    pub fusion: Fusion,
    /// Run the simplification pipeline first.
    pub simplify: bool,
    /// Turn the pipeline's stabilizing rewrites on (`log(1 + x)` to
    /// `log1p(x)`, ...): exact finite values where TensorFlow's forms
    /// overflow. Off by default, so values are TensorFlow's.
    pub stabilize: bool,
    /// Threads for large kernels (1: the calling thread only; at most
    /// [`MAX_THREADS`]).
    pub threads: usize,
}

impl CompileOptions {
    /// What an engine compiles: `jit-unfused` one kernel per operation,
    /// `jit-mt` on `threads` threads (default: all cores), the others fused
    /// on one thread. Every engine that compiles simplifies first.
    pub fn for_engine(engine: Engine, threads: Option<usize>) -> Self {
        CompileOptions {
            stabilize: false,
            fusion: if engine == Engine::JitUnfused {
                Fusion::Unfused
            } else {
                Fusion::Fused
            },
            simplify: true,
            threads: match engine {
                Engine::JitMt => threads
                    .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from)),
                _ => 1,
            },
        }
    }
}

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions {
            fusion: Fusion::Fused,
            simplify: true,
            stabilize: false,
            threads: 1,
        }
    }
}

impl CompileOptions {
    /// The simplification every engine runs before it computes (`None`
    /// when `simplify` is off): the one pass list that compiling, the
    /// interpreter with stabilizing rewrites, and `gradjit show` share.
    pub fn pipeline(&self) -> Option<Pipeline> {
        self.simplify
            .then(|| Pipeline::standard().with_stabilize(self.stabilize))
    }
}

enum TypedExec {
    F32(Typed<f32>),
    F64(Typed<f64>),
}

/// A graph compiled for fixed input shapes: call it many times.
///
/// It owns its JIT module (freed on drop): the whole program as one
/// native function ([`Executable::entry`]) and its kernels. A call
/// compiles nothing, and its temporaries live in a scratch block that the
/// next call reuses. [`Executable::run`] allocates the outputs;
/// [`Executable::run_into`] writes into the caller's arrays and allocates
/// nothing after its first call on one thread (`tests/no_alloc.rs`) but a
/// general matrix product's packing buffer (`matrixmultiply` takes one per
/// product, and per block of rows for a product in a row-blocked run, see
/// [`Executable::row_blocks`]); on several threads a split launch also
/// allocates its jobs. It is `Send + Sync`: concurrent calls each take
/// their own scratch block.
pub struct Executable {
    /// The whole program as one native function.
    entry: DriverCall,
    inputs: Vec<(String, Vec<usize>)>,
    outputs: Vec<Vec<usize>>,
    dtype: DType,
    kernels: Vec<KernelStep>,
    library_steps: usize,
    row_blocks: Vec<RowBlocks>,
    stats: Vec<PassStats>,
    typed: TypedExec,
}

/// One compiled function per distinct kernel body: the bodies, and the
/// body of each kernel step of `plan` in order.
pub(crate) fn distinct_kernels(
    plan: &Plan,
) -> (Vec<&crate::graph::kernel::KernelSpec>, Vec<usize>) {
    let mut specs: Vec<&crate::graph::kernel::KernelSpec> = Vec::new();
    let mut code_of = Vec::new();
    for k in plan.kernels() {
        let code = match specs.iter().position(|s| s.same_code(&k.spec)) {
            Some(c) => c,
            None => {
                specs.push(&k.spec);
                specs.len() - 1
            }
        };
        code_of.push(code);
    }
    (specs, code_of)
}

/// A run of steps that an executable runs block of rows by block of rows
/// (a matrix product with the elementwise work around it, say), so values
/// passed between them stay in cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowBlocks {
    /// The plan's steps it spans (transposes read as views among them do no work).
    pub plan_steps: std::ops::Range<usize>,
    /// Steps that do work (kernels and library routines).
    pub steps: usize,
    /// Rows of the batch axis they share.
    pub rows: usize,
    /// Blocks the rows are cut into.
    pub blocks: usize,
}

/// The most threads an executable may ask for: far more than any machine
/// has cores, and few enough that creating the pool cannot exhaust the
/// process's threads (a million took minutes, then failed).
pub const MAX_THREADS: usize = 1024;

/// Shared thread pools, one per thread count, created once per process.
fn thread_pool(threads: usize) -> Result<Option<Arc<rayon::ThreadPool>>, ExecError> {
    if threads <= 1 {
        return Ok(None);
    }
    if threads > MAX_THREADS {
        return Err(ExecError::Threads(format!(
            "{threads} threads asked for, at most {MAX_THREADS} allowed"
        )));
    }
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<rayon::ThreadPool>>>> = OnceLock::new();
    let pools = POOLS.get_or_init(|| Mutex::new(HashMap::new()));
    let mut pools = pools
        .lock()
        .map_err(|_| ExecError::Internal("thread pool lock"))?;
    if let Some(p) = pools.get(&threads) {
        return Ok(Some(p.clone()));
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| ExecError::Threads(e.to_string()))?;
    let pool = Arc::new(pool);
    pools.insert(threads, pool.clone());
    Ok(Some(pool))
}

/// The front half of compiling: specialized, simplified, prepared and
/// planned, with the inputs the plan still reads.
pub(crate) struct Front {
    /// The prepared graph's nodes.
    pub nodes: Vec<crate::graph::Node>,
    /// The fetched nodes.
    pub roots: Vec<NodeId>,
    /// The placeholders read, in feed order: node, name, shape.
    pub inputs: Vec<(NodeId, String, Vec<usize>)>,
    /// The one dtype of every value.
    pub dtype: DType,
    /// Steps in order (reordered around the row-blocked runs).
    pub plan: Plan,
    /// The runs of steps that execute in blocks of rows.
    pub segments: Vec<super::rows::Segment>,
    /// What the simplification pipeline did.
    pub stats: Vec<PassStats>,
    /// The prepared graph (whose nodes `nodes` are).
    pub graph: Graph,
}

/// Specializes the fetches of `graph` to the feeds' shapes, simplifies,
/// prepares and plans them (the part of [`compile`] that `gradjit aot`
/// shares).
pub(crate) fn front(
    graph: &Graph,
    fetches: &[NodeId],
    feeds: &[(NodeId, Vec<usize>)],
    opts: &CompileOptions,
) -> Result<Front, ExecError> {
    graph.check()?;
    let mut shapes = HashMap::new();
    for (id, dims) in feeds {
        match graph.get(*id).map(|n| n.op) {
            Some(Op::Placeholder { name }) => {
                shapes.insert(name, Shape::known(dims));
            }
            _ => {
                return Err(ExecError::NotAPlaceholder {
                    what: graph.describe(*id),
                })
            }
        }
    }
    let (g, roots) = extract(graph, fetches, &shapes)?;
    let (g, roots, stats) = match opts.pipeline() {
        Some(p) => {
            let s = p.run(&g, &roots)?;
            (s.graph, s.roots, s.stats)
        }
        None => (g, roots, Vec::new()),
    };
    let (g, roots) = prepare(g, roots, opts.fusion)?;
    let nodes = g.nodes().to_vec();
    // the placeholders the simplified graph still reads, in feed order
    let mut needed = vec![false; nodes.len()];
    for r in &roots {
        needed[r.index()] = true;
    }
    for i in (0..nodes.len()).rev() {
        if needed[i] {
            for inp in &nodes[i].inputs {
                needed[inp.index()] = true;
            }
        }
    }
    let mut inputs: Vec<(NodeId, String, Vec<usize>)> = Vec::new();
    let mut dtype = None;
    for (i, n) in nodes.iter().enumerate() {
        if !needed[i] {
            continue;
        }
        if *dtype.get_or_insert(n.dtype) != n.dtype {
            return Err(ExecError::MixedDTypes);
        }
        if let Op::Placeholder { name } = &n.op {
            let dims = match shapes.get(name).and_then(Shape::concrete) {
                Some(d) => d,
                None => return Err(crate::interp::InterpError::Unfed { name: name.clone() }.into()),
            };
            inputs.push((NodeId(i as u32), name.clone(), dims));
        }
    }
    let dtype = dtype.unwrap_or(DType::F32);
    let mut plan = plan(&g, &roots, opts.fusion)?;
    // the fused engine also runs steps that share a batch axis block by
    // block; the unfused one stays one whole pass per operation
    let segments = match opts.fusion {
        Fusion::Fused => super::rows::segments(&nodes, &mut plan, dtype.size()),
        Fusion::Unfused => Vec::new(),
    };
    Ok(Front {
        nodes,
        roots,
        inputs,
        dtype,
        plan,
        segments,
        stats,
        graph: g,
    })
}

/// A program planned as [`compile`] plans it, before code generation: the
/// prepared graph, its fetched nodes, the steps in the order they run and
/// the runs of them in blocks of rows. What `gradjit show` lists.
#[derive(Debug)]
pub struct Planned {
    /// The specialized, simplified and prepared graph.
    pub graph: Graph,
    /// The fetched nodes in it, in fetch order.
    pub roots: Vec<NodeId>,
    /// The steps, in the order they run.
    pub plan: Plan,
    /// The runs of steps executed in blocks of rows.
    pub row_blocks: Vec<RowBlocks>,
}

/// Plans `fetches` of `graph` for the feeds' shapes exactly as [`compile`]
/// does (the same function: specialize, simplify, prepare, plan, cut the
/// row-blocked runs), without generating code.
///
/// # Errors
/// As [`compile`]'s planning: a graph error, a feed that is not a
/// placeholder, an unfed input, mixed dtypes.
pub fn planned(
    graph: &Graph,
    fetches: &[NodeId],
    feeds: &[(NodeId, Vec<usize>)],
    opts: &CompileOptions,
) -> Result<Planned, ExecError> {
    let f = front(graph, fetches, feeds, opts)?;
    Ok(Planned {
        row_blocks: f.segments.iter().map(RowBlocks::of).collect(),
        graph: f.graph,
        roots: f.roots,
        plan: f.plan,
    })
}

/// Compiles the nodes `fetches` of `graph` for inputs of the given shapes.
///
/// `feeds` gives the concrete shape of each placeholder that will be fed;
/// every placeholder the fetches need must be among them.
pub fn compile(
    graph: &Graph,
    fetches: &[NodeId],
    feeds: &[(NodeId, Vec<usize>)],
    opts: &CompileOptions,
) -> Result<Executable, ExecError> {
    let Front {
        nodes,
        roots,
        inputs,
        dtype,
        plan,
        segments,
        stats,
        ..
    } = front(graph, fetches, feeds, opts)?;
    let row_blocks = segments.iter().map(RowBlocks::of).collect();
    let (specs, code_of) = distinct_kernels(&plan);
    let input_ids: Vec<NodeId> = inputs.iter().map(|(id, _, _)| *id).collect();
    let input_shapes: Vec<Vec<usize>> = inputs.iter().map(|(_, _, d)| d.clone()).collect();
    let output_shapes: Vec<Vec<usize>> = roots
        .iter()
        .map(|r| nodes[r.index()].shape.concrete().unwrap_or_default())
        .collect();
    // the whole program as one function, beside the kernels, row-blocked
    // segments run block by block
    let output_lens: Vec<usize> = output_shapes.iter().map(|s| s.iter().product()).collect();
    let identity: Vec<usize> = (0..input_ids.len()).collect();
    let input_lens: Vec<usize> = input_shapes.iter().map(|s| s.iter().product()).collect();
    // the driver splits work across this pool by its address: the
    // executable keeps it (and the static registry every pool is in) alive
    let pool = thread_pool(opts.threads)?;
    let pool_addr = pool.as_ref().map(|p| Arc::as_ptr(p) as usize);
    let mut driver_result: Option<Result<usize, DriverError>> = None;
    let mut define_driver = |module: &mut cranelift_jit::JITModule,
                             ids: &[cranelift_module::FuncId],
                             cfg: jit::math::EmitConfig|
     -> Result<Vec<cranelift_module::FuncId>, jit::JitError> {
        let lowering = Lowering {
            nodes: &nodes,
            plan: &plan,
            input_ids: &input_ids,
            code_of: &code_of,
            segments: &segments,
            kernels: ids,
            input_slots: &identity,
            input_lens: &input_lens,
            output_lens: &output_lens,
            cfg,
        };
        let naming = Naming {
            name: "gradjit_run",
            linkage: cranelift_module::Linkage::Local,
            prefix: "gradjit_",
            libm: false,
            library_gemm: true,
            stream: super::stream::CAN_STREAM,
            pool: pool_addr,
        };
        match crate::driver::lower(module, dtype, &lowering, &naming) {
            Ok((id, scratch)) => {
                driver_result = Some(Ok(scratch));
                Ok(vec![id])
            }
            Err(e) => {
                driver_result = Some(Err(e));
                Ok(Vec::new())
            }
        }
    };
    let mut symbols = crate::driver::gemm::jit_symbols().to_vec();
    symbols.extend(super::parallel::jit_symbols());
    let compiled = jit::compile_with(&specs, &symbols, Some(&mut define_driver))?;
    let entry = match (driver_result, compiled.extra()) {
        (Some(Ok(scratch)), Some(Ok(addrs))) => match addrs.first() {
            Some(&addr) => Ok(DriverCall { addr, scratch }),
            None => Err(DriverError::Plan("the driver was not finalized")),
        },
        (Some(Err(e)), _) => Err(e),
        _ => Err(DriverError::Plan("the driver was not built")),
    }?;
    fn checked<T>(h: Homes<T>) -> Result<Homes<T>, ExecError> {
        let bad = |l: &Loc| matches!(l, Loc::Const(usize::MAX));
        let calls_ok = h.calls.iter().all(|c| match c {
            super::layout::Call::Kernel {
                inputs,
                outputs,
                reductions,
                ..
            } => !inputs.iter().chain(outputs).any(bad) && !reductions.iter().any(|r| bad(&r.loc)),
            super::layout::Call::Library { inputs, output, .. } => {
                !inputs.iter().any(|i| bad(&i.loc)) && !bad(output)
            }
        });
        let accumulators_ok = h
            .segments
            .iter()
            .all(|s| !s.accumulators.iter().any(|a| bad(&a.loc)));
        if calls_ok && accumulators_ok && !h.copies.iter().any(|(_, l)| bad(l)) {
            Ok(h)
        } else {
            Err(ExecError::Internal("a value has no home"))
        }
    }
    fn typed<T: Element>(
        homes: Homes<T>,
        shapes: (Vec<Vec<usize>>, Vec<Vec<usize>>),
        compiled: jit::CompiledKernels,
        pool: Option<Arc<rayon::ThreadPool>>,
        entry: DriverCall,
    ) -> Result<Typed<T>, ExecError> {
        let homes = checked(homes)?;
        let size = std::mem::size_of::<T>();
        let offsets = crate::driver::scratch_layout(&homes, size, pool.is_some())?.temps;
        Ok(Typed::new(homes, offsets, shapes, compiled, pool, entry))
    }
    let shapes = (input_shapes, output_shapes.clone());
    let typed = match dtype {
        DType::F32 => TypedExec::F32(typed(
            plan_homes::<f32>(&nodes, &plan, &input_ids, &code_of, &segments),
            shapes,
            compiled,
            pool,
            entry,
        )?),
        DType::F64 => TypedExec::F64(typed(
            plan_homes::<f64>(&nodes, &plan, &input_ids, &code_of, &segments),
            shapes,
            compiled,
            pool,
            entry,
        )?),
    };
    let Plan { steps, .. } = plan;
    let library_steps = steps
        .iter()
        .filter(|s| matches!(s, Step::Library(_)))
        .count();
    let kernels = steps
        .into_iter()
        .filter_map(|s| match s {
            Step::Kernel(k) => Some(k),
            Step::Library(_) => None,
        })
        .collect();
    Ok(Executable {
        entry,
        inputs: inputs.into_iter().map(|(_, n, d)| (n, d)).collect(),
        outputs: output_shapes,
        dtype,
        kernels,
        library_steps,
        row_blocks,
        stats,
        typed,
    })
}

impl RowBlocks {
    fn of(s: &super::rows::Segment) -> Self {
        RowBlocks {
            plan_steps: s.steps.clone(),
            steps: s.rows.iter().flatten().count(),
            rows: s.blocks.iter().map(|b| b.1).sum(),
            blocks: s.blocks.len(),
        }
    }
}

/// Finds the runs of `plan`'s steps (a fused plan of `graph`, the graph
/// the plan was made from, as [`compile`] makes it) that run in blocks of
/// rows, reordering the plan's steps as the executable does. For showing a
/// plan as it will run.
pub fn row_blocks(graph: &Graph, plan: &mut Plan, dtype: DType) -> Vec<RowBlocks> {
    let nodes = graph.nodes();
    super::rows::segments(&nodes, plan, dtype.size())
        .iter()
        .map(RowBlocks::of)
        .collect()
}

impl Executable {
    /// The inputs to feed, in order: each placeholder's name and shape.
    pub fn inputs(&self) -> &[(String, Vec<usize>)] {
        &self.inputs
    }

    /// Where each input of the executable is in `names`: for feeds listed in
    /// the order of `names`, `feeds[order[k]]` is the executable's input
    /// `k`. Compute it once, then arrange each call's feeds without
    /// allocating. Names the executable does not read are ignored (the
    /// simplified graph may no longer need them).
    ///
    /// # Errors
    /// [`ExecError::MissingFeed`] for an input `names` does not name.
    pub fn feed_order(&self, names: &[&str]) -> Result<Vec<usize>, ExecError> {
        self.inputs
            .iter()
            .map(|(name, _)| {
                names
                    .iter()
                    .position(|n| n == name)
                    .ok_or_else(|| ExecError::MissingFeed { name: name.clone() })
            })
            .collect()
    }

    /// The shapes of the outputs, one per fetch.
    pub fn output_shapes(&self) -> &[Vec<usize>] {
        &self.outputs
    }

    /// The element type of every value.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The fused kernels, in execution order.
    pub fn kernels(&self) -> &[KernelStep] {
        &self.kernels
    }

    /// The number of steps that run outside native kernels (library routines).
    pub fn library_steps(&self) -> usize {
        self.library_steps
    }

    /// The plan as this executable runs it, one step a line: each kernel
    /// and library step in order with the homes it reads and writes
    /// (inputs by name, outputs by position, temporaries and constants by
    /// number), the runs in blocks of rows, and the whole-program function
    /// with its scratch (what `gradjit show` prints).
    pub fn plan_text(&self) -> String {
        match &self.typed {
            TypedExec::F32(t) => self.plan_text_of(&t.homes),
            TypedExec::F64(t) => self.plan_text_of(&t.homes),
        }
    }

    fn plan_text_of<T>(&self, homes: &Homes<T>) -> String {
        let at = |l: &Loc| match *l {
            Loc::Input(k) => self
                .inputs
                .get(k)
                .map_or_else(|| format!("input #{k}"), |(n, _)| n.clone()),
            Loc::Output(j) => format!("output #{j}"),
            Loc::Temp(t) => format!("temp {t}"),
            Loc::Const(c) => format!("const {c}"),
        };
        let list = |ls: &mut dyn Iterator<Item = String>| ls.collect::<Vec<_>>().join(", ");
        let mut out = String::new();
        let mut kernel = 0;
        for (i, c) in homes.calls.iter().enumerate() {
            let line = match c {
                super::layout::Call::Kernel {
                    inputs,
                    outputs,
                    reductions,
                    ..
                } => {
                    let name = self
                        .kernels
                        .get(kernel)
                        .map_or("?", |k| k.spec.name.as_str());
                    kernel += 1;
                    let writes = outputs.iter().map(at).chain(
                        reductions
                            .iter()
                            .map(|r| format!("{} (reduced)", at(&r.loc))),
                    );
                    format!(
                        "kernel {name}: {} -> {}",
                        list(&mut inputs.iter().map(at)),
                        list(&mut writes.into_iter())
                    )
                }
                super::layout::Call::Library {
                    op, inputs, output, ..
                } => format!(
                    "{}: {} -> {}",
                    op.name(),
                    list(&mut inputs.iter().map(|i| match &i.perm {
                        Some(p) => format!("{} read as transpose{p:?}", at(&i.loc)),
                        None => at(&i.loc),
                    })),
                    at(output)
                ),
            };
            out.push_str(&format!("  {:>3}. {line}\n", i + 1));
        }
        for (j, l) in &homes.copies {
            out.push_str(&format!("       output #{j} <- copy of {}\n", at(l)));
        }
        for seg in &homes.segments {
            let rows: usize = seg.blocks.iter().map(|b| b.1).sum();
            out.push_str(&format!(
                "  steps {}-{} in {} blocks of {} rows ({} chunks)\n",
                seg.calls.start + 1,
                seg.calls.end,
                seg.blocks.len(),
                rows,
                seg.chunks.len()
            ));
        }
        out.push_str(&format!(
            "  run: the whole-program function ({} bytes of scratch)\n",
            self.entry.scratch
        ));
        out
    }

    /// The runs of steps executed in blocks of rows, in execution order.
    pub fn row_blocks(&self) -> &[RowBlocks] {
        &self.row_blocks
    }

    /// What the simplification pipeline did.
    pub fn simplify_stats(&self) -> &[PassStats] {
        &self.stats
    }

    /// The native entry point of the `i`-th kernel of [`Executable::kernels`].
    ///
    /// Calling it is `unsafe` (see [`KernelFn`] for the ABI), and valid only
    /// while this executable is alive (its code is freed on drop); the safe
    /// way is [`Executable::run`], which checks every buffer first.
    pub fn kernel_fn(&self, i: usize) -> Option<KernelFn> {
        let code = match &self.typed {
            TypedExec::F32(t) => kernel_code(&t.homes, i),
            TypedExec::F64(t) => kernel_code(&t.homes, i),
        }?;
        match &self.typed {
            TypedExec::F32(t) => t.kernels.get(code),
            TypedExec::F64(t) => t.kernels.get(code),
        }
    }

    /// Runs with feeds in the order of [`Executable::inputs`]; returns one
    /// value per fetch.
    pub fn run(&self, feeds: &[ValueView<'_>]) -> Result<Vec<Value>, ExecError> {
        match &self.typed {
            TypedExec::F32(t) => run_alloc::<f32>(t, feeds, &self.outputs),
            TypedExec::F64(t) => run_alloc::<f64>(t, feeds, &self.outputs),
        }
    }

    /// Runs with feeds in the order of [`Executable::inputs`], writing each
    /// fetch into the caller's array (standard layout, exactly its shape):
    /// a training loop that reuses its arrays allocates no value buffer per
    /// call (see [`Executable`] for the small allocations that remain).
    pub fn run_into(
        &self,
        feeds: &[ValueView<'_>],
        outputs: &mut [ValueViewMut<'_>],
    ) -> Result<(), ExecError> {
        // the whole-program function straight from the caller's values
        match &self.typed {
            TypedExec::F32(t) => t.run_direct(feeds, outputs),
            TypedExec::F64(t) => t.run_direct(feeds, outputs),
        }
    }
}

impl Executable {
    /// The whole program as one native function: the kernels, the library
    /// steps and the buffer plan lowered into one Cranelift function, the
    /// same code `gradjit aot` writes into an object file, with two
    /// differences that do not change a bit: there the slow paths of
    /// `sin`/`cos`/`tan` call the C library's functions (here gradjit's,
    /// which call them), and matrix products run a GEMM in IR (here
    /// `matrixmultiply`, which sums in the same order: see `driver::gemm`).
    /// It is what `run`, `run_into` and `run_entry` call, on every engine;
    /// with several threads it splits its work across the executable's
    /// thread pool (which the executable keeps alive), in chunks fixed by
    /// the shapes, so the bits do not depend on the thread count.
    ///
    /// It returns 0, or 1 for an `argmax`/`argmin` over an empty axis, or 2
    /// for an index that is not an integer or is out of range, before any
    /// output is written by the step that reads it.
    ///
    /// # Errors
    /// [`ExecError::FeedDTypeAt`] when `T` is not the executable's dtype.
    ///
    /// # Safety of calling it
    /// The contract of [`EntryFn`]: every pointer valid for its elements,
    /// outputs not overlapping each other or the inputs, and this
    /// executable alive (its code is freed on drop).
    /// [`Executable::run_entry`] is the checked way to call it.
    pub fn entry<T: Element>(&self) -> Result<EntryFn<T>, ExecError> {
        if T::DTYPE != self.dtype {
            return Err(ExecError::FeedDTypeAt {
                index: 0,
                expected: self.dtype,
                got: T::DTYPE,
            });
        }
        // SAFETY: `addr` is the finalized entry of the driver, built by
        // `driver::define` with exactly this signature in the host's C ABI,
        // for elements of `T` (checked above).
        Ok(unsafe { std::mem::transmute::<usize, EntryFn<T>>(self.entry.addr) })
    }

    /// Bytes of scratch [`Executable::entry`] needs (aligned to
    /// [`crate::driver::SCRATCH_ALIGN`]).
    pub fn scratch_bytes(&self) -> usize {
        self.entry.scratch
    }

    /// Runs the program through [`Executable::entry`], after checking every
    /// array: feeds in the order of [`Executable::inputs`] (copied when not
    /// contiguous), outputs of exactly their shapes in standard layout.
    pub fn run_entry(
        &self,
        feeds: &[ValueView<'_>],
        outputs: &mut [ValueViewMut<'_>],
    ) -> Result<(), ExecError> {
        match &self.typed {
            TypedExec::F32(t) => t.run_direct(feeds, outputs),
            TypedExec::F64(t) => t.run_direct(feeds, outputs),
        }
    }
}

fn kernel_code<T>(homes: &Homes<T>, i: usize) -> Option<usize> {
    homes
        .calls
        .iter()
        .filter_map(|c| match c {
            super::layout::Call::Kernel { code, .. } => Some(*code),
            super::layout::Call::Library { .. } => None,
        })
        .nth(i)
}

/// Lists of per-call views and slices live on the stack up to this many.
const INLINE: usize = 8;

fn typed_feeds<'a, T: Element>(
    feeds: &[ValueView<'a>],
) -> Result<SmallVec<[ArrayViewD<'a, T>; INLINE]>, ExecError> {
    feeds
        .iter()
        .enumerate()
        .map(|(k, f)| {
            T::unwrap_view(f).ok_or(ExecError::FeedDTypeAt {
                index: k,
                expected: T::DTYPE,
                got: f.dtype(),
            })
        })
        .collect()
}

fn run_alloc<T: Element>(
    t: &Typed<T>,
    feeds: &[ValueView<'_>],
    shapes: &[Vec<usize>],
) -> Result<Vec<Value>, ExecError> {
    let views = typed_feeds::<T>(feeds)?;
    let mut bufs: Vec<Vec<T>> = shapes
        .iter()
        .map(|s| zeros(s.iter().product()))
        .collect::<Result<_, _>>()?;
    {
        let mut outs: Vec<&mut [T]> = bufs.iter_mut().map(Vec::as_mut_slice).collect();
        t.run(&views, &mut outs)?;
    }
    bufs.into_iter()
        .zip(shapes)
        .map(|(b, s)| {
            ndarray::ArrayD::from_shape_vec(s.clone(), b)
                .map(T::wrap)
                .map_err(|_| ExecError::Internal("output shape"))
        })
        .collect()
}

/// `n` zeros, or an error when the allocator refuses: a shape too large
/// for the machine must not abort the process.
fn zeros<T: Element>(n: usize) -> Result<Vec<T>, ExecError> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| ExecError::OutOfMemory {
        bytes: n.saturating_mul(std::mem::size_of::<T>()),
    })?;
    v.resize(n, T::zero());
    Ok(v)
}
