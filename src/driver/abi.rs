//! The kernels' calling convention, checked when a driver is built: each
//! kernel's code, as compiled from its spec, addresses its operands the
//! way the extents the driver checked assume.

use super::DriverError;
use crate::exec::layout::RedCall;
use crate::fuse::{Layout, ReduceClass};
use crate::graph::kernel::{InnerAccess, KernelSpec, ReduceKind};
use crate::value::Element;

/// Checks a call of the kernel compiled from `spec` with `inputs` inputs,
/// `outputs` outputs and reductions `reds` over `layout`: the element type,
/// the number of pointers and strides, each input's access along a row (a
/// contiguous row is `inner` elements, a splat one), outputs whose rows are
/// `inner` apart, per-row results one apart, per-column results where the
/// kernel accumulates them, and one stride per outer dimension.
pub(super) fn check<T: Element>(
    spec: &KernelSpec,
    layout: &Layout,
    inputs: usize,
    outputs: usize,
    reds: &[RedCall],
) -> Result<(), DriverError> {
    let bad = |what| Err(DriverError::Plan(what));
    let outer = layout.outer_dims.len();
    let n_in = spec.inputs.len();
    if spec.dtype != T::DTYPE {
        return bad("kernel dtype");
    }
    if inputs != n_in
        || layout.input_strides.len() != n_in
        || layout.input_inner.len() != n_in
        || outputs != spec.outputs.len()
        || reds.len() != spec.reductions.len()
        || layout.reduce_strides.len() != reds.len()
        || layout.reduce_inner.len() != reds.len()
    {
        return bad("kernel operand count");
    }
    let strides_fit = |s: &[isize]| s.len() == outer && s.iter().all(|&x| x >= 0);
    for (k, access) in spec.inputs.iter().enumerate() {
        let contiguous = layout.input_inner[k] != 0;
        if contiguous != (*access == InnerAccess::Contiguous)
            || !strides_fit(&layout.input_strides[k])
        {
            return bad("kernel input access");
        }
    }
    let row = layout.inner as isize;
    if !strides_fit(&layout.output_strides)
        || layout.output_strides.last().is_some_and(|&s| s != row)
    {
        return bad("kernel output layout");
    }
    for (j, (r, kr)) in reds.iter().zip(&spec.reductions).enumerate() {
        let s = &layout.reduce_strides[j];
        let fits = strides_fit(s)
            && match (r.class, kr.kind) {
                (ReduceClass::All, ReduceKind::PerRow) => {
                    s.iter().all(|&x| x == 0) && layout.reduce_inner[j] == 0
                }
                (ReduceClass::PerRow, ReduceKind::PerRow) => {
                    s.last().is_none_or(|&x| x == 1) && layout.reduce_inner[j] == 0
                }
                (ReduceClass::PerColumn, ReduceKind::PerColumn) => layout.reduce_inner[j] == 1,
                _ => false,
            };
        if !fits {
            return bad("kernel reduction layout");
        }
    }
    Ok(())
}

/// How far a kernel call over `layout` reaches from each operand's base
/// (elements; `None` past the address space): each input, every output,
/// each reduction. The extents `check_extents` holds against the homes.
pub(super) struct Reach {
    /// Per input.
    pub inputs: Vec<Option<usize>>,
    /// Any output.
    pub output: Option<usize>,
    /// Per reduction.
    pub reductions: Vec<Option<usize>>,
}

/// The reach of a call over `layout` with reductions `reds` (after
/// [`check`] matched the layout's stride lists to the operands).
pub(super) fn reach(layout: &Layout, reds: &[RedCall]) -> Reach {
    use crate::exec::executable::extent;
    Reach {
        inputs: (0..layout.input_strides.len())
            .map(|k| extent(layout, &layout.input_strides[k], layout.input_inner[k]))
            .collect(),
        output: extent(layout, &layout.output_strides, 1),
        reductions: reds
            .iter()
            .zip(&layout.reduce_strides)
            .map(|(r, s)| match r.class {
                ReduceClass::All => Some(1),
                ReduceClass::PerRow => extent(layout, s, 0),
                ReduceClass::PerColumn => extent(layout, s, 1),
            })
            .collect(),
    }
}
