//! The iteration space of a kernel: broadcasting turned into strides, with
//! adjacent dimensions merged so that most kernels run as one long row.

/// How a kernel's `outer × inner` loops map onto the tensors' memory.
///
/// The kernel itself loops over `rows` (the last of `outer_dims`) and
/// `inner`; any earlier outer dimensions are looped by the caller, which
/// offsets every pointer by that dimension's stride.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Sizes of the outer dimensions (empty for a single row).
    pub outer_dims: Vec<usize>,
    /// Elements per row.
    pub inner: usize,
    /// For each input, its stride in elements for each outer dimension.
    pub input_strides: Vec<Vec<isize>>,
    /// For each input, its stride along the row: 1 or 0 (broadcast).
    pub input_inner: Vec<isize>,
    /// The outputs' stride in elements for each outer dimension (outputs are contiguous).
    pub output_strides: Vec<isize>,
    /// For each reduction, its result's stride for each outer dimension.
    pub reduce_strides: Vec<Vec<isize>>,
    /// For each reduction, its result's stride along the row: 0 (the row is
    /// reduced) or 1 (columns are kept).
    pub reduce_inner: Vec<isize>,
}

impl Layout {
    /// The total number of elements of the iteration space.
    pub fn len(&self) -> usize {
        self.inner * self.outer_dims.iter().product::<usize>()
    }

    /// True when the iteration space is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn contiguous_strides(shape: &[usize]) -> Vec<isize> {
    let mut strides = vec![0isize; shape.len()];
    let mut acc = 1isize;
    for i in (0..shape.len()).rev() {
        strides[i] = acc;
        acc = acc.saturating_mul(shape[i] as isize);
    }
    strides
}

/// The strides, over the axes of `shape`, of a reduction's result: 0 on
/// reduced axes, the result's contiguous strides on kept ones.
pub fn reduction_strides(shape: &[usize], axes: Option<&[usize]>) -> Vec<isize> {
    let kept: Vec<usize> = (0..shape.len())
        .filter(|i| axes.is_some_and(|ax| !ax.contains(i)))
        .collect();
    let kept_dims: Vec<usize> = kept.iter().map(|&i| shape[i]).collect();
    let kept_strides = contiguous_strides(&kept_dims);
    (0..shape.len())
        .map(|i| match kept.iter().position(|&k| k == i) {
            Some(p) => kept_strides[p],
            None => 0,
        })
        .collect()
}

/// Computes the layout of a kernel whose every value has shape `out`, with
/// inputs of the given shapes (each broadcastable to `out`).
pub fn layout(out: &[usize], inputs: &[&[usize]]) -> Layout {
    layout_with(out, inputs, &[])
}

/// Like [`layout`], with reduction results whose strides over `out`'s axes
/// are given (see [`reduction_strides`]); axes merge only where the
/// reductions agree.
pub fn layout_with(out: &[usize], inputs: &[&[usize]], reductions: &[Vec<isize>]) -> Layout {
    let rank = out.len();
    let out_strides = contiguous_strides(out);
    // per operand (inputs, then the output), strides over `out`'s axes
    let mut operands: Vec<Vec<isize>> = inputs
        .iter()
        .map(|s| {
            let own = contiguous_strides(s);
            let offset = rank - s.len().min(rank);
            (0..rank)
                .map(|j| {
                    if j < offset {
                        0
                    } else {
                        let d = s[j - offset];
                        if d == out[j] && d != 1 {
                            own[j - offset]
                        } else {
                            0
                        }
                    }
                })
                .collect()
        })
        .collect();
    let n_in = operands.len();
    operands.push(out_strides);
    operands.extend(reductions.iter().cloned());
    // drop size-1 axes, then merge neighbours that are contiguous for every operand
    let mut dims: Vec<usize> = Vec::new();
    let mut strides: Vec<Vec<isize>> = vec![Vec::new(); operands.len()];
    for j in 0..rank {
        if out[j] == 1 {
            continue;
        }
        let mergeable = !dims.is_empty()
            && operands.iter().enumerate().all(|(k, op)| {
                let prev = *strides[k].last().unwrap_or(&0);
                prev == op[j] * out[j] as isize
            });
        if mergeable {
            if let Some(last) = dims.last_mut() {
                *last *= out[j];
            }
            for (k, op) in operands.iter().enumerate() {
                if let Some(s) = strides[k].last_mut() {
                    *s = op[j];
                }
            }
        } else {
            dims.push(out[j]);
            for (k, op) in operands.iter().enumerate() {
                strides[k].push(op[j]);
            }
        }
    }
    if dims.is_empty() {
        dims.push(1);
        for s in &mut strides {
            s.push(0);
        }
    }
    let inner = dims.pop().unwrap_or(1);
    let inner_strides: Vec<isize> = strides
        .iter_mut()
        .map(|s| {
            let v = s.pop().unwrap_or(0);
            // a row of one element reads one element either way
            if inner == 1 {
                0
            } else {
                v
            }
        })
        .collect();
    let reduce_strides = strides.split_off(n_in + 1);
    let output_strides = strides.pop().unwrap_or_default();
    Layout {
        outer_dims: dims,
        inner,
        input_strides: strides,
        input_inner: inner_strides[..n_in].to_vec(),
        output_strides,
        reduce_strides,
        reduce_inner: inner_strides[n_in + 1..].to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_shapes_become_one_row() {
        let l = layout(&[4, 5, 6], &[&[4, 5, 6], &[4, 5, 6]]);
        assert_eq!(l.outer_dims, Vec::<usize>::new());
        assert_eq!(l.inner, 120);
        assert_eq!(l.input_inner, vec![1, 1]);
    }

    #[test]
    fn scalars_splat_and_rows_broadcast() {
        let l = layout(&[8, 3], &[&[], &[3], &[8, 1], &[8, 3]]);
        assert_eq!(l.outer_dims, vec![8]);
        assert_eq!(l.inner, 3);
        assert_eq!(l.input_inner, vec![0, 1, 0, 1]);
        assert_eq!(l.input_strides, vec![vec![0], vec![0], vec![1], vec![3]]);
        assert_eq!(l.output_strides, vec![3]);
    }

    #[test]
    fn middle_broadcast_keeps_two_outer_dims() {
        let l = layout(&[2, 3, 4], &[&[2, 1, 4]]);
        assert_eq!(l.outer_dims, vec![2, 3]);
        assert_eq!(l.inner, 4);
        assert_eq!(l.input_strides, vec![vec![4, 0]]);
        assert_eq!(l.output_strides, vec![12, 4]);
    }

    #[test]
    fn size_one_and_empty_shapes() {
        let l = layout(&[], &[&[]]);
        assert_eq!((l.outer_dims.clone(), l.inner), (vec![], 1));
        let l = layout(&[0, 3], &[&[0, 3]]);
        assert_eq!(l.len(), 0);
    }
}
