//! Convolution and pooling, by their definitions: every output element a
//! loop over its window (NHWC), the gradients scattered back window by
//! window. Native code uses im2col and the GEMM instead.

use ndarray::{Array4, ArrayD, ArrayView4, ArrayViewD, Ix4};

use super::kernels::KernelError;
use crate::graph::{pairwise_sum, Geometry, Window};
use crate::value::Element;

fn four<'a, T>(x: &'a ArrayViewD<'_, T>, what: &str) -> Result<ArrayView4<'a, T>, KernelError> {
    x.view()
        .into_dimensionality::<Ix4>()
        .map_err(|_| format!("the {what} must have rank 4, got {:?}", x.shape()))
}

fn geometry(op: &'static str, x: &[usize], window: &Window) -> Result<Geometry, KernelError> {
    Geometry::new(op, x, window).map_err(|e| e.to_string())
}

/// The window of a filter `[kh, kw, c, o]`.
fn filter_window(f: &[usize], strides: [usize; 2], padding: crate::graph::Padding) -> Window {
    Window {
        ksize: [
            f.first().copied().unwrap_or(1),
            f.get(1).copied().unwrap_or(1),
        ],
        strides,
        padding,
    }
}

/// Every in-bounds window position of output `(i, j)`: `(di, dj, row, col)`.
fn taps(
    g: &Geometry,
    i: usize,
    j: usize,
) -> impl Iterator<Item = (usize, usize, usize, usize)> + '_ {
    (0..g.kh).flat_map(move |di| {
        (0..g.kw).filter_map(move |dj| Some((di, dj, g.row(i, di)?, g.col(j, dj)?)))
    })
}

/// Calls `visit(b, r, col, di, dj, k, d)` for every element `d` of the
/// upstream gradient `dy` (at `[b, i, j, k]`) and every in-bounds input
/// position `(r, col)` its window read at `(di, dj)`.
fn each_read<T: Element>(
    g: &Geometry,
    dy: &ArrayView4<'_, T>,
    mut visit: impl FnMut([usize; 6], T),
) {
    for ((b, i, j, k), &d) in dy.indexed_iter() {
        for (di, dj, r, col) in taps(g, i, j) {
            visit([b, r, col, di, dj, k], d);
        }
    }
}

/// The geometry of a convolution's gradient over an input of `input`'s
/// shape, with the filter and the upstream gradient checked against it.
fn gradient_geometry<'a, T: Element>(
    input: &[usize],
    filter: &[usize],
    strides: [usize; 2],
    padding: crate::graph::Padding,
    grad: &'a ArrayViewD<'_, T>,
) -> Result<(Geometry, ArrayView4<'a, T>), KernelError> {
    let g = geometry("conv2d", input, &filter_window(filter, strides, padding))?;
    check_filter(&g, filter)?;
    let dy = four(grad, "gradient")?;
    if dy.shape() != [g.n, g.oh, g.ow, filter[3]] {
        return Err(format!("a gradient of shape {:?}", dy.shape()));
    }
    Ok((g, dy))
}

fn check_filter(g: &Geometry, f: &[usize]) -> Result<(), KernelError> {
    if f.len() != 4 || f[2] != g.c {
        return Err(format!(
            "a filter of shape {f:?} for an input of {} channels",
            g.c
        ));
    }
    Ok(())
}

/// `conv2d(x, f)`: `out[b, i, j, o] = sum x[b, row, col, c] * f[di, dj, c, o]`.
pub fn conv2d<T: Element>(
    x: &ArrayViewD<'_, T>,
    f: &ArrayViewD<'_, T>,
    strides: [usize; 2],
    padding: crate::graph::Padding,
) -> Result<ArrayD<T>, KernelError> {
    let g = geometry(
        "conv2d",
        x.shape(),
        &filter_window(f.shape(), strides, padding),
    )?;
    check_filter(&g, f.shape())?;
    let (x, f) = (four(x, "input")?, four(f, "filter")?);
    let o = f.shape()[3];
    let mut out = Array4::zeros((g.n, g.oh, g.ow, o));
    let mut terms = Vec::new();
    // the padding holds zeros that are multiplied too (0 * inf is NaN), as
    // in TensorFlow's kernels, which convolve a zero-padded image
    let value = |b: usize, r: Option<usize>, col: Option<usize>, c: usize| match (r, col) {
        (Some(r), Some(col)) => x[[b, r, col, c]],
        _ => T::zero(),
    };
    for ((b, i, j, k), v) in out.indexed_iter_mut() {
        terms.clear();
        for di in 0..g.kh {
            for dj in 0..g.kw {
                let (r, col) = (g.row(i, di), g.col(j, dj));
                terms.extend((0..g.c).map(|c| value(b, r, col, c) * f[[di, dj, c, k]]));
            }
        }
        *v = pairwise_sum(&terms);
    }
    Ok(out.into_dyn())
}

/// The gradient of `conv2d` to its input: each output's gradient times the
/// filter, added where the window read.
pub fn conv2d_backprop_input<T: Element>(
    grad: &ArrayViewD<'_, T>,
    f: &ArrayViewD<'_, T>,
    input: &[usize],
    strides: [usize; 2],
    padding: crate::graph::Padding,
) -> Result<ArrayD<T>, KernelError> {
    let (g, dy) = gradient_geometry(input, f.shape(), strides, padding, grad)?;
    let f = four(f, "filter")?;
    let mut dx = Array4::zeros((g.n, g.h, g.w, g.c));
    each_read(&g, &dy, |[b, r, col, di, dj, k], d| {
        for c in 0..g.c {
            dx[[b, r, col, c]] = dx[[b, r, col, c]] + d * f[[di, dj, c, k]];
        }
    });
    Ok(dx.into_dyn())
}

/// The gradient of `conv2d` to its filter: each output's gradient times the
/// input its window read, added up.
pub fn conv2d_backprop_filter<T: Element>(
    x: &ArrayViewD<'_, T>,
    grad: &ArrayViewD<'_, T>,
    filter: &[usize],
    strides: [usize; 2],
    padding: crate::graph::Padding,
) -> Result<ArrayD<T>, KernelError> {
    let (g, dy) = gradient_geometry(x.shape(), filter, strides, padding, grad)?;
    let (x, o) = (four(x, "input")?, filter[3]);
    let mut df = Array4::zeros((g.kh, g.kw, g.c, o));
    // padding zeros times the gradient count too, as in the forward pass
    for ((b, i, j, k), &d) in dy.indexed_iter() {
        for di in 0..g.kh {
            for dj in 0..g.kw {
                let at = g.row(i, di).zip(g.col(j, dj));
                for c in 0..g.c {
                    let xv = at.map_or(T::zero(), |(r, col)| x[[b, r, col, c]]);
                    df[[di, dj, c, k]] = df[[di, dj, c, k]] + xv * d;
                }
            }
        }
    }
    Ok(df.into_dyn())
}

/// The input position of the first largest element of a window (row-major
/// order, as TensorFlow's `MaxPoolGrad`), if the window holds any.
fn argmax<T: Element>(
    x: &ArrayView4<'_, T>,
    g: &Geometry,
    b: usize,
    i: usize,
    j: usize,
    c: usize,
) -> Option<(usize, usize)> {
    let mut best: Option<((usize, usize), T)> = None;
    for (_, _, r, col) in taps(g, i, j) {
        let v = x[[b, r, col, c]];
        if best.is_none_or(|(_, m)| v > m) {
            best = Some(((r, col), v));
        }
    }
    best.map(|b| b.0)
}

/// `max_pool2d`: each window's largest element (`-inf` for a window wholly
/// in the padding).
pub fn max_pool<T: Element>(
    x: &ArrayViewD<'_, T>,
    window: &Window,
) -> Result<ArrayD<T>, KernelError> {
    let g = geometry("max_pool2d", x.shape(), window)?;
    let x = four(x, "input")?;
    let out = Array4::from_shape_fn((g.n, g.oh, g.ow, g.c), |(b, i, j, c)| {
        argmax(&x, &g, b, i, j, c).map_or(T::neg_infinity(), |(r, col)| x[[b, r, col, c]])
    });
    Ok(out.into_dyn())
}

/// `max_pool2d`'s gradient: each window's gradient to its first maximum,
/// overlapping windows adding up.
pub fn max_pool_grad<T: Element>(
    x: &ArrayViewD<'_, T>,
    grad: &ArrayViewD<'_, T>,
    window: &Window,
) -> Result<ArrayD<T>, KernelError> {
    let g = geometry("max_pool2d", x.shape(), window)?;
    let (x, dy) = (four(x, "input")?, four(grad, "gradient")?);
    if dy.shape() != [g.n, g.oh, g.ow, g.c] {
        return Err(format!("a gradient of shape {:?}", dy.shape()));
    }
    let mut dx = Array4::zeros((g.n, g.h, g.w, g.c));
    for ((b, i, j, c), &d) in dy.indexed_iter() {
        if let Some((r, col)) = argmax(&x, &g, b, i, j, c) {
            dx[[b, r, col, c]] = dx[[b, r, col, c]] + d;
        }
    }
    Ok(dx.into_dyn())
}

/// The gradient of `max_pool2d`'s gradient to its upstream gradient: each
/// window reads `gg` at its first maximum.
pub fn max_pool_grad_grad<T: Element>(
    x: &ArrayViewD<'_, T>,
    gg: &ArrayViewD<'_, T>,
    window: &Window,
) -> Result<ArrayD<T>, KernelError> {
    let g = geometry("max_pool2d", x.shape(), window)?;
    let (x, gg) = (four(x, "input")?, four(gg, "gradient")?);
    if gg.shape() != x.shape() {
        return Err(format!("a gradient of shape {:?}", gg.shape()));
    }
    let out = Array4::from_shape_fn((g.n, g.oh, g.ow, g.c), |(b, i, j, c)| {
        argmax(&x, &g, b, i, j, c).map_or(T::zero(), |(r, col)| gg[[b, r, col, c]])
    });
    Ok(out.into_dyn())
}

/// The number of input elements in window `(i, j)`.
fn count(g: &Geometry, i: usize, j: usize) -> usize {
    taps(g, i, j).count()
}

/// `avg_pool2d`: each window's mean over the elements inside the input.
pub fn avg_pool<T: Element>(
    x: &ArrayViewD<'_, T>,
    window: &Window,
) -> Result<ArrayD<T>, KernelError> {
    let g = geometry("avg_pool2d", x.shape(), window)?;
    let x = four(x, "input")?;
    let out = Array4::from_shape_fn((g.n, g.oh, g.ow, g.c), |(b, i, j, c)| {
        let vals: Vec<T> = taps(&g, i, j)
            .map(|(_, _, r, col)| x[[b, r, col, c]])
            .collect();
        pairwise_sum(&vals) / T::from_f64(vals.len() as f64)
    });
    Ok(out.into_dyn())
}

/// `avg_pool2d`'s gradient: each window's gradient shared evenly among
/// its elements.
pub fn avg_pool_grad<T: Element>(
    grad: &ArrayViewD<'_, T>,
    input: &[usize],
    window: &Window,
) -> Result<ArrayD<T>, KernelError> {
    let g = geometry("avg_pool2d", input, window)?;
    let dy = four(grad, "gradient")?;
    if dy.shape() != [g.n, g.oh, g.ow, g.c] {
        return Err(format!("a gradient of shape {:?}", dy.shape()));
    }
    let mut dx = Array4::zeros((g.n, g.h, g.w, g.c));
    for ((b, i, j, c), &d) in dy.indexed_iter() {
        let share = d / T::from_f64(count(&g, i, j) as f64);
        for (_, _, r, col) in taps(&g, i, j) {
            dx[[b, r, col, c]] = dx[[b, r, col, c]] + share;
        }
    }
    Ok(dx.into_dyn())
}
