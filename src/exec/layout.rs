//! Where every value of a compiled plan lives, decided once at compile time:
//! in a caller's feed, a caller's output, a constant, or a reusable
//! temporary buffer (planned by liveness, so values never alive together
//! share memory).

use std::ops::Range;

use super::rows::{PerBlock, RowRole, Segment};
use super::views::{reads_writes, transposes_as_views, view_source};
use crate::fuse::{Layout, Plan, ReduceClass, Step};
use crate::graph::kernel::reduce_identity;
use crate::graph::{Node, NodeId, Op, Real, ReduceOp};

/// The home of one value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loc {
    /// The k-th feed.
    Input(usize),
    /// The j-th output.
    Output(usize),
    /// A temporary buffer of the workspace.
    Temp(usize),
    /// A constant owned by the executable.
    Const(usize),
}

/// A reduction computed by a kernel, and how to finish it.
#[derive(Clone, Debug)]
pub struct RedCall {
    /// Where the result goes.
    pub loc: Loc,
    /// How the kernel produces it.
    pub class: ReduceClass,
    /// `Sum`, `Max` or `Min`: how partial results combine.
    pub op: ReduceOp,
    /// The identity to start per-column accumulation from.
    pub identity: f64,
    /// `1/count` for a mean.
    pub scale: Option<f64>,
    /// Elements of the result.
    pub len: usize,
}

/// An operand of a library step: a buffer of a given shape, read through a
/// permutation of its axes when a transpose was folded into the reader.
#[derive(Clone, Debug)]
pub struct LibInput {
    /// The buffer.
    pub loc: Loc,
    /// The shape of the value stored there.
    pub shape: Vec<usize>,
    /// Axes permutation to read it through (a strided view, never a copy).
    pub perm: Option<Vec<usize>>,
}

/// How an operand of a call in a row-blocked segment is addressed for
/// one block of rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockAccess {
    /// The whole buffer, by every block.
    Whole,
    /// The block's rows of `width` elements: at `width × first row` in a
    /// batch-sized buffer, or from the start of a block-sized one (`local`).
    Rows {
        /// Elements per row.
        width: usize,
        /// The buffer holds one block.
        local: bool,
    },
    /// A result every block adds into: accumulator `slot` of its segment.
    Accumulate {
        /// Index into the segment's accumulators.
        slot: usize,
    },
}

impl BlockAccess {
    /// Elements from the buffer's start to the block starting at `row`.
    pub fn offset(self, row: usize) -> usize {
        match self {
            BlockAccess::Rows {
                width,
                local: false,
            } => width * row,
            _ => 0,
        }
    }
}

/// How a call runs per block of a row-blocked segment.
pub type CallRows = PerBlock<BlockAccess>;

/// A result a segment combines over the batch.
#[derive(Clone, Debug)]
pub struct Accumulator {
    /// Its home, written once the chunks are combined.
    pub loc: Loc,
    /// How two partial results combine (`Sum` for a product).
    pub op: ReduceOp,
    /// What each chunk starts from.
    pub identity: f64,
    /// `1/count` for a mean, applied after combining.
    pub scale: Option<f64>,
    /// Elements of the result.
    pub len: usize,
}

/// Calls that run block of rows by block of rows (see `exec::rows`).
///
/// The blocks are grouped into chunks of consecutive blocks, fixed by the
/// shapes alone. Each chunk accumulates into partial results of its own,
/// which are combined in chunk order at the end, so chunks may run on any
/// threads and give the same result on any number of them.
#[derive(Clone, Debug)]
pub struct RunSegment {
    /// The calls, each of which has [`CallRows`].
    pub calls: Range<usize>,
    /// (first row, rows) of each block, in order.
    pub blocks: Vec<(usize, usize)>,
    /// Ranges of `blocks`, in order.
    pub chunks: Vec<Range<usize>>,
    /// Temporaries that hold one block: each running chunk has its own.
    pub locals: Vec<usize>,
    /// The results combined over the batch, by slot.
    pub accumulators: Vec<Accumulator>,
    /// Operations per call, about (chunks go to the pool from
    /// `PARALLEL_THRESHOLD` on).
    pub work: usize,
}

/// At most this many chunks per segment: enough to keep a few threads
/// busy, few enough that partial results stay small and cheap to combine.
const MAX_CHUNKS: usize = 16;

/// Elements of partial results a segment may hold over all its chunks.
const PARTIAL_BUDGET: usize = 1 << 22;

/// `blocks` blocks cut into chunks for accumulators of `acc_len` elements
/// in all.
fn chunks(blocks: usize, acc_len: usize) -> Vec<Range<usize>> {
    let by_memory = PARTIAL_BUDGET / acc_len.max(1);
    let parts = blocks.min(MAX_CHUNKS).min(by_memory).max(1);
    super::rows::split(blocks, parts)
        .map(|(start, len)| start..start + len)
        .collect()
}

/// One step, with its operands resolved to locations.
#[derive(Clone, Debug)]
pub enum Call {
    /// A native kernel.
    Kernel {
        /// Index into the compiled kernels.
        code: usize,
        /// Input locations, in the kernel's order.
        inputs: Vec<Loc>,
        /// Output locations.
        outputs: Vec<Loc>,
        /// Reductions computed in the loop.
        reductions: Vec<RedCall>,
        /// Operations per element (how much work splitting would share).
        ops: usize,
        /// The iteration space.
        layout: Layout,
        /// Per block, inside a row-blocked segment.
        rows: Option<CallRows>,
    },
    /// A non-elementwise node computed by a library routine.
    Library {
        /// The operation.
        op: Op,
        /// Input locations with their shapes, each maybe read transposed.
        inputs: Vec<LibInput>,
        /// Where the result goes.
        output: Loc,
        /// The result's shape.
        shape: Vec<usize>,
        /// Per block, inside a row-blocked segment.
        rows: Option<CallRows>,
    },
}

/// The value homes of a plan.
#[derive(Debug)]
pub struct Homes<T> {
    /// The steps with resolved operands.
    pub calls: Vec<Call>,
    /// Constants, materialized once.
    pub consts: Vec<Vec<T>>,
    /// Sizes of the temporary buffers.
    pub temps: Vec<usize>,
    /// Fetches whose value is copied into its output after the steps (an
    /// input, a constant, or a node fetched twice).
    pub copies: Vec<(usize, Loc)>,
    /// The row-blocked segments, in call order.
    pub segments: Vec<RunSegment>,
}

fn numel(n: &Node) -> usize {
    n.shape.concrete().map_or(0, |d| d.iter().product())
}

/// Decides every value's home. `inputs` are the placeholders in feed order;
/// `code_of[i]` is the compiled-kernel index of the plan's i-th kernel step.
///
/// Inside a row-blocked segment (`segments`, over `plan`'s steps) no home
/// is freed before the segment's end, since every block runs every step; a
/// value made and read only inside one segment lives in a buffer of one
/// block's rows.
pub fn plan_homes<T: Real>(
    nodes: &[Node],
    plan: &Plan,
    inputs: &[NodeId],
    code_of: &[usize],
    segments: &[Segment],
) -> Homes<T> {
    let n = nodes.len();
    let mut home: Vec<Option<Loc>> = vec![None; n];
    for (k, id) in inputs.iter().enumerate() {
        home[id.index()] = Some(Loc::Input(k));
    }
    let view_of = transposes_as_views(nodes, plan);
    let steps_rw: Vec<(Vec<NodeId>, Vec<NodeId>)> = plan
        .steps
        .iter()
        .map(|step| reads_writes(nodes, &view_of, step))
        .collect();
    // last step that reads each node (fetches live to the end)
    let mut last_use = vec![0usize; n];
    for (s, (reads, _)) in steps_rw.iter().enumerate() {
        for r in reads {
            last_use[r.index()] = s;
        }
    }
    // the segment of each step, and the row role of each value a segment makes
    let mut seg_of_step: Vec<Option<usize>> = vec![None; plan.steps.len()];
    let mut made_in: Vec<Option<(usize, RowRole)>> = vec![None; n];
    for (g, seg) in segments.iter().enumerate() {
        for (s, sr) in seg.steps.clone().zip(&seg.rows) {
            seg_of_step[s] = Some(g);
            let (Some(sr), Some((_, writes))) = (sr, steps_rw.get(s)) else {
                continue;
            };
            for (w, role) in writes.iter().zip(&sr.outputs) {
                made_in[w.index()] = Some((g, *role));
            }
        }
    }
    // made by rows in a segment, read only there and not fetched: one block
    let mut local = vec![true; n];
    for f in &plan.fetches {
        local[f.index()] = false;
    }
    for (s, (reads, _)) in steps_rw.iter().enumerate() {
        for r in reads {
            if made_in[r.index()].map(|(g, _)| g) != seg_of_step[s] {
                local[r.index()] = false;
            }
        }
    }
    for (v, m) in local.iter_mut().zip(&made_in) {
        *v &= matches!(m, Some((_, RowRole::Rows(_))));
    }
    let block_rows = |g: usize| segments[g].blocks.iter().map(|b| b.1).max().unwrap_or(0);
    // accumulators are numbered as their writers come
    let access = |id: NodeId, role: RowRole, slot: &mut usize| match role {
        RowRole::Whole => BlockAccess::Whole,
        RowRole::Accumulate => {
            *slot += 1;
            BlockAccess::Accumulate { slot: *slot - 1 }
        }
        RowRole::Rows(width) => BlockAccess::Rows {
            width,
            local: local[id.index()],
        },
    };
    let mut seg_accs: Vec<Vec<Accumulator>> = vec![Vec::new(); segments.len()];
    let mut seg_locals: Vec<Vec<usize>> = vec![Vec::new(); segments.len()];
    let mut pending_free: Vec<usize> = Vec::new();
    let mut seg_calls: Vec<Range<usize>> = vec![0..0; segments.len()];
    let mut copies = Vec::new();
    let mut consts: Vec<Vec<T>> = Vec::new();
    let mut const_home = |id: NodeId, home: &mut Vec<Option<Loc>>| {
        if home[id.index()].is_none() {
            if let Op::Constant(lit) = &nodes[id.index()].op {
                consts.push(lit.values().iter().map(|&v| T::from_f64(v)).collect());
                home[id.index()] = Some(Loc::Const(consts.len() - 1));
            }
        }
    };
    // fetched computed nodes write straight into the caller's output
    let mut out_of: Vec<Option<usize>> = vec![None; n];
    for (j, f) in plan.fetches.iter().enumerate() {
        let computed = nodes[f.index()].op.is_computation() && home[f.index()].is_none();
        if computed && out_of[f.index()].is_none() {
            out_of[f.index()] = Some(j);
        } else {
            copies.push((j, *f));
        }
    }
    let mut temps: Vec<usize> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut calls = Vec::with_capacity(plan.steps.len());
    let mut kernel_no = 0;
    for (s, step) in plan.steps.iter().enumerate() {
        let seg = seg_of_step[s];
        if let Some(g) = seg {
            if segments[g].steps.start == s {
                seg_calls[g] = calls.len()..calls.len();
            }
        }
        let is_view = matches!(step, Step::Library(id) if view_of[id.index()].is_some());
        if !is_view {
            let step_rows = seg.and_then(|g| {
                segments[g]
                    .rows
                    .get(s - segments[g].steps.start)
                    .cloned()
                    .flatten()
            });
            let (reads, writes) = &steps_rw[s];
            for &r in reads {
                const_home(r, &mut home);
            }
            for &w in writes {
                let loc = match out_of[w.index()] {
                    Some(j) => Loc::Output(j),
                    None => {
                        let need = match made_in[w.index()] {
                            Some((g, RowRole::Rows(width))) if local[w.index()] => {
                                width * block_rows(g)
                            }
                            _ => numel(&nodes[w.index()]),
                        };
                        Loc::Temp(take_temp(&mut temps, &mut free, need))
                    }
                };
                home[w.index()] = Some(loc);
            }
            let at = |id: &NodeId| home[id.index()].unwrap_or(Loc::Const(usize::MAX));
            // a kernel's reductions, which the segment's accumulators copy
            let reductions: Vec<RedCall> = match step {
                Step::Kernel(k) => k
                    .reductions
                    .iter()
                    .zip(&k.spec.reductions)
                    .map(|(r, kr)| RedCall {
                        loc: at(&r.node),
                        class: r.class,
                        op: kr.op,
                        identity: reduce_identity(kr.op).unwrap_or(0.0),
                        scale: r.mean.then(|| 1.0 / r.count as f64),
                        len: numel(&nodes[r.node.index()]),
                    })
                    .collect(),
                Step::Library(_) => Vec::new(),
            };
            let rows = match (step_rows, seg) {
                (Some(sr), Some(g)) => {
                    let mut slot = seg_accs[g].len();
                    let inputs = reads
                        .iter()
                        .zip(&sr.inputs)
                        .map(|(&r, &role)| access(r, role, &mut slot))
                        .collect();
                    let outputs: Vec<BlockAccess> = writes
                        .iter()
                        .zip(&sr.outputs)
                        .map(|(&w, &role)| access(w, role, &mut slot))
                        .collect();
                    // a kernel writes its outputs, then its reductions
                    let outputs_before = writes.len() - reductions.len();
                    for (j, (&w, a)) in writes.iter().zip(&outputs).enumerate() {
                        match a {
                            BlockAccess::Accumulate { .. } => {
                                let acc = match j.checked_sub(outputs_before) {
                                    Some(i) => {
                                        let r = &reductions[i];
                                        (r.op, r.identity, r.scale)
                                    }
                                    // a product's share of the batch
                                    None => (ReduceOp::Sum, 0.0, None),
                                };
                                seg_accs[g].push(Accumulator {
                                    loc: at(&w),
                                    op: acc.0,
                                    identity: acc.1,
                                    scale: acc.2,
                                    len: numel(&nodes[w.index()]),
                                });
                            }
                            BlockAccess::Rows { local: true, .. } => {
                                if let Loc::Temp(t) = at(&w) {
                                    seg_locals[g].push(t);
                                }
                            }
                            _ => {}
                        }
                    }
                    Some(CallRows {
                        inputs,
                        outputs,
                        layouts: sr.layouts,
                    })
                }
                _ => None,
            };
            calls.push(match step {
                Step::Kernel(k) => {
                    let c = Call::Kernel {
                        code: code_of[kernel_no],
                        inputs: k.inputs.iter().map(at).collect(),
                        outputs: k.outputs.iter().map(at).collect(),
                        reductions,
                        ops: k.spec.op_count().max(1),
                        layout: k.layout.clone(),
                        rows,
                    };
                    kernel_no += 1;
                    c
                }
                Step::Library(id) => {
                    let node = &nodes[id.index()];
                    Call::Library {
                        op: node.op.clone(),
                        inputs: node
                            .inputs
                            .iter()
                            .map(|&i| {
                                let (src, perm) = view_source(&view_of, i);
                                LibInput {
                                    loc: at(&src),
                                    shape: nodes[src.index()].shape.concrete().unwrap_or_default(),
                                    perm: perm.map(<[usize]>::to_vec),
                                }
                            })
                            .collect(),
                        output: at(id),
                        shape: node.shape.concrete().unwrap_or_default(),
                        rows,
                    }
                }
            });
            // temps whose last reader was this step are free for later
            // steps (inside a segment: after its last step), and so is a
            // temp written but never read (cannot happen for needed nodes)
            let dead = reads
                .iter()
                .filter(|r| last_use[r.index()] == s && out_of[r.index()].is_none())
                .chain(writes.iter().filter(|w| last_use[w.index()] < s));
            for v in dead {
                if let Some(Loc::Temp(t)) = home[v.index()] {
                    if !free.contains(&t) && !pending_free.contains(&t) {
                        pending_free.push(t);
                    }
                }
            }
        }
        let segment_open = seg.is_some_and(|g| segments[g].steps.end > s + 1);
        if !segment_open {
            free.append(&mut pending_free);
        }
        if let Some(g) = seg {
            seg_calls[g].end = calls.len();
        }
    }
    let copies = copies
        .into_iter()
        .map(|(j, f)| {
            const_home(f, &mut home);
            (j, home[f.index()].unwrap_or(Loc::Const(usize::MAX)))
        })
        .collect();
    let segments = seg_calls
        .into_iter()
        .zip(segments)
        .zip(seg_accs.into_iter().zip(seg_locals))
        .map(|((calls, seg), (accumulators, locals))| {
            let acc_len = accumulators.iter().map(|a| a.len).sum();
            RunSegment {
                calls,
                chunks: chunks(seg.blocks.len(), acc_len),
                blocks: seg.blocks.clone(),
                locals,
                accumulators,
                work: seg.work,
            }
        })
        .collect();
    Homes {
        calls,
        consts,
        temps,
        copies,
        segments,
    }
}

/// The best-fitting free temporary of at least `need` elements, else a
/// free one grown to `need`, else a new one.
fn take_temp(temps: &mut Vec<usize>, free: &mut Vec<usize>, need: usize) -> usize {
    let best = free
        .iter()
        .enumerate()
        .filter(|(_, &t)| temps[t] >= need)
        .min_by_key(|(_, &t)| temps[t])
        .map(|(i, _)| i);
    match best {
        Some(i) => free.swap_remove(i),
        None => match free.pop() {
            Some(t) => {
                temps[t] = need;
                t
            }
            None => {
                temps.push(need);
                temps.len() - 1
            }
        },
    }
}
