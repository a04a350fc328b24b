//! Row-blocked segments: a run of plan steps that share a leading batch
//! axis runs block of rows by block of rows, so what one step writes the
//! next reads while it is still in cache, and a value no step outside the
//! run reads lives in a block-sized buffer instead of a batch-sized one.
//!
//! This is how a matrix product and the elementwise work around it become
//! one pass over the batch: in `tanh(X @ W + b)` each block's product is
//! consumed by the kernel right after it is made, and in a gradient's
//! `transpose(X) @ g` each block of `g` is added into the product as soon as
//! the kernel that makes it has run. Summation over the batch (per-column
//! reductions, whole-tensor reductions, contracted products) then goes block
//! by block in block order: the order is fixed by the shapes alone.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use super::views::{reads_writes, transposes_as_views, view_source, Views};
use crate::fuse::{
    classify, kernel_reduction, layout_with, reduction_strides, KernelStep, Layout, Plan,
    ReduceClass, Step,
};
use crate::graph::{Node, NodeId, Op};

/// Smallest batch worth cutting into blocks.
pub const MIN_BATCH: usize = 1024;

/// Bytes of batch-axis data (every value a segment reads or writes by
/// rows) one block should span: a fraction of a core's L2, so a block's
/// values stay there between the steps that pass them on.
pub const BLOCK_BYTES: usize = 256 << 10;

/// Blocks hold a multiple of this many rows (a whole number of vectors).
const ROW_ALIGN: usize = 16;

/// How one operand of a step in a segment follows the blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowRole {
    /// Read whole by every block: it has no batch axis.
    Whole,
    /// Its leading axis is the batch: each block reads or writes its own
    /// rows of `width` elements each.
    Rows(usize),
    /// A result combined over the batch: every block adds into it.
    Accumulate,
}

/// How one step of a segment reads and writes per block: `R` says it for
/// each operand ([`RowRole`] while planning, `BlockAccess` once homes are
/// known).
#[derive(Clone, Debug)]
pub struct PerBlock<R> {
    /// A kernel's inputs, or a library node's inputs (through transposes
    /// read as views, their source).
    pub inputs: Vec<R>,
    /// A kernel's outputs then its reductions, or the library node.
    pub outputs: Vec<R>,
    /// A kernel's iteration space for each block height: (rows, layout).
    pub layouts: Vec<(usize, Layout)>,
}

/// A step's operands by their row roles.
pub type StepRows = PerBlock<RowRole>;

/// A run of plan steps executed block by block.
#[derive(Clone, Debug)]
pub struct Segment {
    /// The plan's steps it spans.
    pub steps: Range<usize>,
    /// (first row, rows) of each block, in order.
    pub blocks: Vec<(usize, usize)>,
    /// Per step of `steps`: `None` for a transpose read as a view (no work).
    pub rows: Vec<Option<StepRows>>,
    /// Operations per call, about: what splitting it across threads shares.
    pub work: usize,
}

fn dims(nodes: &[Node], id: NodeId) -> Option<Vec<usize>> {
    nodes.get(id.index())?.shape.concrete()
}

fn is_view(views: &Views, step: &Step) -> bool {
    matches!(step, Step::Library(id) if views.get(id.index()).is_some_and(Option::is_some))
}

/// The batch sizes a segment starting at `step` could have.
fn candidates(nodes: &[Node], views: &Views, step: &Step) -> Vec<usize> {
    match step {
        Step::Kernel(k) => k
            .members
            .first()
            .and_then(|&m| dims(nodes, m))
            .and_then(|d| d.first().copied())
            .into_iter()
            .collect(),
        Step::Library(id) => {
            let node = &nodes[id.index()];
            match (&node.op, node.inputs.as_slice()) {
                // the rows of `a`'s stored value, read plainly (rows of the
                // product) or transposed (the contracted axis)
                (Op::MatMul, [a, _]) => dims(nodes, view_source(views, *a).0)
                    .filter(|d| d.len() == 2)
                    .map(|d| d[0])
                    .into_iter()
                    .collect(),
                _ => Vec::new(),
            }
        }
    }
    .into_iter()
    .filter(|&n| n >= MIN_BATCH)
    .collect()
}

/// How `step` runs in blocks of a batch of `n` rows (layouts not yet
/// filled in), or `None` when it cannot.
fn step_roles(nodes: &[Node], views: &Views, step: &Step, n: usize) -> Option<StepRows> {
    match step {
        Step::Kernel(k) => {
            let out = dims(nodes, *k.members.first()?)?;
            if out.first() != Some(&n) || out.contains(&0) {
                return None;
            }
            let numel = |d: &[usize]| d.iter().product::<usize>();
            let mut inputs = Vec::with_capacity(k.inputs.len());
            for &i in &k.inputs {
                let s = dims(nodes, i)?;
                inputs.push(if s.len() == out.len() && s[0] == n {
                    RowRole::Rows(numel(&s) / n)
                } else {
                    RowRole::Whole
                });
            }
            let mut outputs = vec![RowRole::Rows(numel(&out) / n); k.outputs.len()];
            for r in &k.reductions {
                let (_, axes) = kernel_reduction(&nodes[r.node.index()].op)?;
                outputs.push(match axes {
                    Some(ax) if !ax.contains(&0) => RowRole::Rows(numel(&dims(nodes, r.node)?) / n),
                    // accumulated in the loop (per column) or from per-row
                    // partials (whole): both continue from block to block
                    _ if r.class != ReduceClass::PerRow => RowRole::Accumulate,
                    _ => return None,
                });
            }
            Some(StepRows {
                inputs,
                outputs,
                layouts: Vec::new(),
            })
        }
        Step::Library(id) => {
            let node = &nodes[id.index()];
            let (Op::MatMul, [a, b]) = (&node.op, node.inputs.as_slice()) else {
                return None;
            };
            let (sa, pa) = view_source(views, *a);
            let (sb, pb) = view_source(views, *b);
            let (da, db) = (dims(nodes, sa)?, dims(nodes, sb)?);
            if da.len() != 2 || db.len() != 2 || da.contains(&0) || db.contains(&0) {
                return None;
            }
            let out = dims(nodes, *id)?;
            let plain = |p: Option<&[usize]>| p.is_none_or(|p| p == [0, 1]);
            let swapped = |p: Option<&[usize]>| p == Some(&[1, 0][..]);
            let (inputs, output) = if plain(pa) && da[0] == n {
                // each block of rows of `a` makes the same rows of the product
                (
                    vec![RowRole::Rows(da[1]), RowRole::Whole],
                    RowRole::Rows(out[1]),
                )
            } else if swapped(pa) && da[0] == n && plain(pb) && db[0] == n {
                // the batch is contracted: each block adds its share
                (
                    vec![RowRole::Rows(da[1]), RowRole::Rows(db[1])],
                    RowRole::Accumulate,
                )
            } else {
                return None;
            };
            Some(StepRows {
                inputs,
                outputs: vec![output],
                layouts: Vec::new(),
            })
        }
    }
}

/// A kernel's layout for a block of `rows` rows, if it has the structure
/// its compiled code was made for (the same inputs splatted, the same
/// reductions per row or per column).
fn block_layout(nodes: &[Node], k: &KernelStep, sr: &StepRows, rows: usize) -> Option<Layout> {
    let mut out = dims(nodes, *k.members.first()?)?;
    *out.first_mut()? = rows;
    let mut ins = Vec::with_capacity(k.inputs.len());
    for (&i, role) in k.inputs.iter().zip(&sr.inputs) {
        let mut s = dims(nodes, i)?;
        if let RowRole::Rows(_) = role {
            *s.first_mut()? = rows;
        }
        ins.push(s);
    }
    let refs: Vec<&[usize]> = ins.iter().map(Vec::as_slice).collect();
    let mut reds = Vec::with_capacity(k.reductions.len());
    for r in &k.reductions {
        let (_, axes) = kernel_reduction(&nodes[r.node.index()].op)?;
        reds.push(reduction_strides(&out, axes));
    }
    let l = layout_with(&out, &refs, &reds);
    let same_classes = k
        .reductions
        .iter()
        .enumerate()
        .all(|(j, r)| classify(&l.reduce_strides[j], l.reduce_inner[j]) == Some(r.class));
    (l.input_inner == k.layout.input_inner
        && l.reduce_inner == k.layout.reduce_inner
        && same_classes)
        .then_some(l)
}

/// A segment found at some step: its steps and the steps moved before it.
struct Found {
    members: Vec<usize>,
    hoisted: Vec<usize>,
    segment: Segment,
}

/// A step taken into a segment: what it reads and writes, and how it runs
/// per block (`None` for a transpose read as a view).
struct Member {
    step: usize,
    reads: Vec<NodeId>,
    writes: Vec<NodeId>,
    rows: Option<StepRows>,
}

/// Tries to grow a segment of batch `n` from step `first`. A later step
/// that cannot run in blocks but reads nothing the segment makes is moved
/// before the segment; one that reads the segment's results (or a value
/// of such a step) runs after it. `Err(j)`: step `j` is a product too
/// costly to run in the segment's blocks ([`costly_product`]).
#[allow(clippy::too_many_arguments)]
fn grow(
    nodes: &[Node],
    views: &Views,
    steps: &[Step],
    placed: &[bool],
    excluded: &HashSet<usize>,
    first: usize,
    n: usize,
    elem_bytes: usize,
) -> Result<Option<Found>, usize> {
    let mut made: HashMap<NodeId, RowRole> = HashMap::new();
    let mut members: Vec<Member> = Vec::new();
    let mut hoisted = Vec::new();
    let mut passed = false;
    // values of steps left to run after the segment
    let mut later: HashSet<NodeId> = HashSet::new();
    for (j, step) in steps.iter().enumerate().skip(first) {
        if placed[j] {
            continue;
        }
        let (reads, writes) = reads_writes(nodes, views, step);
        if is_view(views, step) {
            members.push(Member {
                step: j,
                reads,
                writes,
                rows: None,
            });
            continue;
        }
        if reads.iter().any(|r| later.contains(r)) {
            // needs a step that runs after the segment
            later.extend(writes);
            continue;
        }
        let roles = match excluded.contains(&j) {
            true => None,
            false => step_roles(nodes, views, step, n),
        };
        let blockable = roles.filter(|sr| {
            reads.iter().zip(&sr.inputs).all(|(r, role)| {
                made.get(r)
                    .is_none_or(|m| m == role && *m != RowRole::Accumulate)
            })
        });
        match blockable {
            Some(sr) => {
                passed |= reads.iter().any(|r| made.contains_key(r));
                for (w, role) in writes.iter().zip(&sr.outputs) {
                    made.insert(*w, *role);
                }
                members.push(Member {
                    step: j,
                    reads,
                    writes,
                    rows: Some(sr),
                });
            }
            // the segment starts with a step it runs
            None if j == first => return Ok(None),
            None if !reads.iter().any(|r| made.contains_key(r)) => hoisted.push(j),
            // reads what the segment makes: runs after it
            None => later.extend(writes),
        }
    }
    // trailing views belong after the segment (they do no work either way)
    while members.last().is_some_and(|m| m.rows.is_none()) {
        members.pop();
    }
    let working = members.iter().filter(|m| m.rows.is_some()).count();
    if working < 2 || !passed {
        return Ok(None);
    }
    let parts = n.div_ceil(block_height(&members, elem_bytes));
    if parts < 2 {
        return Ok(None);
    }
    let blocks: Vec<(usize, usize)> = split(n, parts).collect();
    let mut heights: Vec<usize> = blocks.iter().map(|b| b.1).collect();
    heights.dedup();
    let lowest = heights.iter().copied().min().unwrap_or(0);
    if let Some(j) = costly_product(nodes, steps, &members, lowest) {
        return Err(j);
    }
    for m in &mut members {
        let (Some(sr), Step::Kernel(k)) = (&mut m.rows, &steps[m.step]) else {
            continue;
        };
        for &h in &heights {
            let Some(l) = block_layout(nodes, k, sr, h) else {
                return Ok(None);
            };
            sr.layouts.push((h, l));
        }
    }
    let work = work_per_row(nodes, steps, &members, n).saturating_mul(n);
    Ok(Some(Found {
        members: members.iter().map(|m| m.step).collect(),
        hoisted,
        segment: Segment {
            steps: 0..0,
            blocks,
            rows: members.into_iter().map(|m| m.rows).collect(),
            work,
        },
    }))
}

/// Rows per block: every batch-axis value the members read or write
/// (each once) spans about [`BLOCK_BYTES`] together.
fn block_height(members: &[Member], elem_bytes: usize) -> usize {
    let mut widths: HashMap<NodeId, usize> = HashMap::new();
    for m in members {
        let Some(sr) = &m.rows else { continue };
        let roles = m.reads.iter().zip(&sr.inputs);
        for (v, role) in roles.chain(m.writes.iter().zip(&sr.outputs)) {
            if let RowRole::Rows(w) = role {
                widths.insert(*v, *w);
            }
        }
    }
    let row_bytes = widths
        .values()
        .sum::<usize>()
        .max(1)
        .saturating_mul(elem_bytes);
    (BLOCK_BYTES / row_bytes / ROW_ALIGN * ROW_ALIGN).max(ROW_ALIGN)
}

/// A product that would re-read (and the GEMM repack) more of its whole
/// operand and accumulated result for every block than the block's own
/// rows of `lowest` height: not worth running in blocks.
fn costly_product(
    nodes: &[Node],
    steps: &[Step],
    members: &[Member],
    lowest: usize,
) -> Option<usize> {
    members.iter().find_map(|m| {
        let (Some(sr), Step::Library(_)) = (&m.rows, &steps[m.step]) else {
            return None;
        };
        let mut fixed = 0usize;
        let mut own = 0usize;
        let roles = m.reads.iter().zip(&sr.inputs);
        for (v, role) in roles.chain(m.writes.iter().zip(&sr.outputs)) {
            match role {
                RowRole::Rows(w) => own = own.saturating_add(w.saturating_mul(lowest)),
                _ => {
                    let d = dims(nodes, *v).unwrap_or_default();
                    fixed = fixed.saturating_add(d.iter().product());
                }
            }
        }
        (fixed > own).then_some(m.step)
    })
}

/// Operations per row of the batch, about: a kernel's per element times its
/// widest row, a product's multiply-adds.
fn work_per_row(nodes: &[Node], steps: &[Step], members: &[Member], n: usize) -> usize {
    let mut work = 0usize;
    for m in members {
        let Some(sr) = &m.rows else { continue };
        let per_row = match &steps[m.step] {
            Step::Kernel(k) => {
                // a kernel whose first member is a row sum still reads whole rows
                let width = k
                    .members
                    .iter()
                    .chain(&k.inputs)
                    .filter_map(|&v| dims(nodes, v))
                    .map(|d| d.iter().product::<usize>() / n)
                    .max()
                    .unwrap_or(0);
                k.spec.op_count().max(1).saturating_mul(width)
            }
            Step::Library(_) => {
                let w = |r: &[RowRole]| {
                    r.iter()
                        .map(|role| match role {
                            RowRole::Rows(w) => *w,
                            _ => 1,
                        })
                        .product::<usize>()
                };
                // (k) x (n) per row, or (m) x (n) contracted
                match (sr.inputs.as_slice(), sr.outputs.as_slice()) {
                    ([a, RowRole::Whole], [o]) => w(&[*a, *o]),
                    ([a, b], _) => w(&[*a, *b]),
                    _ => 0,
                }
            }
        };
        work = work.saturating_add(per_row);
    }
    work
}

/// [`grow`], leaving out of the segment each product too costly to run in
/// its blocks (its whole operands outweigh a block's rows), then trying
/// again without it.
fn grow_affordable(
    nodes: &[Node],
    views: &Views,
    steps: &[Step],
    placed: &[bool],
    first: usize,
    n: usize,
    elem_bytes: usize,
) -> Option<Found> {
    let mut excluded = HashSet::new();
    loop {
        match grow(nodes, views, steps, placed, &excluded, first, n, elem_bytes) {
            Ok(found) => return found,
            Err(j) if j != first && excluded.insert(j) => {}
            Err(_) => return None,
        }
    }
}

/// Whether every node `plan` names is one of `nodes` (a plan made from
/// another graph finds no segments rather than indexing out of bounds).
fn of_these_nodes(nodes: &[Node], plan: &Plan) -> bool {
    let known = |id: &NodeId| {
        nodes
            .get(id.index())
            .is_some_and(|n| n.inputs.iter().all(|i| i.index() < nodes.len()))
    };
    plan.fetches.iter().all(known)
        && plan.steps.iter().all(|s| match s {
            Step::Kernel(k) => k
                .inputs
                .iter()
                .chain(&k.outputs)
                .chain(&k.members)
                .chain(k.reductions.iter().map(|r| &r.node))
                .all(known),
            Step::Library(id) => known(id),
        })
}

/// Finds the row-blocked segments of `plan`, reordering its steps so each
/// segment's steps are contiguous (of the steps that sat between its
/// steps, those independent of it move before it, the others after it). `elem_bytes`: the element size.
pub fn segments(nodes: &[Node], plan: &mut Plan, elem_bytes: usize) -> Vec<Segment> {
    if !of_these_nodes(nodes, plan) {
        return Vec::new();
    }
    let views = transposes_as_views(nodes, plan);
    let steps = std::mem::take(&mut plan.steps);
    let mut placed = vec![false; steps.len()];
    let mut order: Vec<usize> = Vec::with_capacity(steps.len());
    let mut found = Vec::new();
    let mut i = 0;
    while i < steps.len() {
        if placed[i] {
            i += 1;
            continue;
        }
        let hit = if is_view(&views, &steps[i]) {
            None
        } else {
            candidates(nodes, &views, &steps[i])
                .into_iter()
                .find_map(|n| grow_affordable(nodes, &views, &steps, &placed, i, n, elem_bytes))
        };
        match hit {
            Some(mut f) => {
                for &j in &f.hoisted {
                    placed[j] = true;
                    order.push(j);
                }
                let start = order.len();
                for &j in &f.members {
                    placed[j] = true;
                    order.push(j);
                }
                f.segment.steps = start..order.len();
                found.push(f.segment);
                // steps it passed over without taking (views after its
                // last step, steps that run after it) are placed as the
                // scan reaches them
                i += 1;
            }
            None => {
                placed[i] = true;
                order.push(i);
                i += 1;
            }
        }
    }
    let mut slots: Vec<Option<Step>> = steps.into_iter().map(Some).collect();
    plan.steps = order.iter().filter_map(|&j| slots[j].take()).collect();
    found
}

/// Splits `n` into `parts` nearly equal (start, len) ranges.
pub(crate) fn split(n: usize, parts: usize) -> impl Iterator<Item = (usize, usize)> {
    let base = n / parts;
    let extra = n % parts;
    (0..parts).map(move |i| {
        let start = i * base + i.min(extra);
        (start, base + usize::from(i < extra))
    })
}
