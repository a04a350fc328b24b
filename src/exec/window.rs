//! Convolution and pooling as native library steps. A convolution is a
//! GEMM: the input's windows laid out as rows (im2col, zeros for the
//! padding) times the filter viewed as `[kh * kw * c, out]`; its filter
//! gradient is the windows' transpose times the upstream gradient; its
//! input gradient the upstream gradient times the filter's transpose,
//! scattered back window by window (col2im). Pooling walks the windows,
//! channels innermost (contiguous in NHWC).

use ndarray::{ArrayView2, ArrayViewD};

use super::library::product_2d;
use super::ExecError;
use crate::graph::{Geometry, Padding, Window};
use crate::value::Element;

fn geometry(op: &'static str, dims: &[usize], window: &Window) -> Result<Geometry, ExecError> {
    Geometry::new(op, dims, window).map_err(|e| ExecError::Library {
        op,
        detail: e.to_string(),
    })
}

fn filter_window(f: &[usize], strides: [usize; 2], padding: Padding) -> Result<Window, ExecError> {
    match f {
        &[kh, kw, _, _] => Ok(Window {
            ksize: [kh, kw],
            strides,
            padding,
        }),
        _ => Err(ExecError::Internal("conv2d filter rank")),
    }
}

fn contiguous<'a, T: Element>(
    x: &'a ArrayViewD<'_, T>,
) -> Result<std::borrow::Cow<'a, [T]>, ExecError> {
    match x.as_slice() {
        Some(s) => Ok(std::borrow::Cow::Borrowed(s)),
        None => Ok(std::borrow::Cow::Owned(x.iter().copied().collect())),
    }
}

fn matrix<T>(data: &[T], rows: usize, cols: usize) -> Result<ArrayView2<'_, T>, ExecError> {
    ArrayView2::from_shape((rows, cols), data).map_err(|_| ExecError::Internal("conv2d matrix"))
}

/// The windows of `x` as rows `[n * oh * ow, kh * kw * c]`, zeros where a
/// window reaches into the padding.
fn im2col<T: Element>(x: &[T], g: &Geometry) -> Vec<T> {
    let row_len = g.kh * g.kw * g.c;
    let mut cols = vec![T::zero(); g.n * g.oh * g.ow * row_len];
    for (p, row) in cols.chunks_exact_mut(row_len.max(1)).enumerate() {
        let (b, i, j) = (p / (g.oh * g.ow), p / g.ow % g.oh, p % g.ow);
        for di in 0..g.kh {
            let Some(r) = g.row(i, di) else { continue };
            for dj in 0..g.kw {
                let Some(col) = g.col(j, dj) else { continue };
                let from = ((b * g.h + r) * g.w + col) * g.c;
                let to = (di * g.kw + dj) * g.c;
                row[to..to + g.c].copy_from_slice(&x[from..from + g.c]);
            }
        }
    }
    cols
}

/// `conv2d(x, f)` into `dst` (`[n, oh, ow, out]`).
pub fn conv2d_into<T: Element>(
    x: &ArrayViewD<'_, T>,
    f: &ArrayViewD<'_, T>,
    strides: [usize; 2],
    padding: Padding,
    dst: &mut [T],
) -> Result<(), ExecError> {
    let g = geometry(
        "conv2d",
        x.shape(),
        &filter_window(f.shape(), strides, padding)?,
    )?;
    let (k, out) = (g.kh * g.kw * g.c, f.shape()[3]);
    let m = g.n * g.oh * g.ow;
    if f.shape()[2] != g.c || dst.len() != m * out {
        return Err(ExecError::Internal("conv2d shapes"));
    }
    let cols = im2col(&contiguous(x)?, &g);
    let fs = contiguous(f)?;
    product_2d(&matrix(&cols, m, k)?, &matrix(&fs, k, out)?, dst, false)
}

/// `conv2d`'s filter gradient into `dst` (`[kh, kw, c, out]`).
pub fn conv2d_backprop_filter_into<T: Element>(
    x: &ArrayViewD<'_, T>,
    grad: &ArrayViewD<'_, T>,
    strides: [usize; 2],
    padding: Padding,
    dst: &mut [T],
    filter: &[usize],
) -> Result<(), ExecError> {
    let g = geometry(
        "conv2d",
        x.shape(),
        &filter_window(filter, strides, padding)?,
    )?;
    let (k, out) = (g.kh * g.kw * g.c, filter[3]);
    let m = g.n * g.oh * g.ow;
    if grad.len() != m * out || dst.len() != k * out {
        return Err(ExecError::Internal("conv2d gradient shapes"));
    }
    let cols = im2col(&contiguous(x)?, &g);
    let dy = contiguous(grad)?;
    product_2d(&matrix(&cols, m, k)?.t(), &matrix(&dy, m, out)?, dst, false)
}

/// `conv2d`'s input gradient into `dst` (`[n, h, w, c]`).
pub fn conv2d_backprop_input_into<T: Element>(
    grad: &ArrayViewD<'_, T>,
    f: &ArrayViewD<'_, T>,
    strides: [usize; 2],
    padding: Padding,
    dst: &mut [T],
    input: &[usize],
) -> Result<(), ExecError> {
    let g = geometry(
        "conv2d",
        input,
        &filter_window(f.shape(), strides, padding)?,
    )?;
    let (k, out) = (g.kh * g.kw * g.c, f.shape()[3]);
    let m = g.n * g.oh * g.ow;
    if grad.len() != m * out || dst.len() != g.n * g.h * g.w * g.c || f.shape()[2] != g.c {
        return Err(ExecError::Internal("conv2d gradient shapes"));
    }
    let (dy, fs) = (contiguous(grad)?, contiguous(f)?);
    let mut dcols = vec![T::zero(); m * k];
    product_2d(
        &matrix(&dy, m, out)?,
        &matrix(&fs, k, out)?.t(),
        &mut dcols,
        false,
    )?;
    dst.fill(T::zero());
    for (p, row) in dcols.chunks_exact(k.max(1)).enumerate() {
        let (b, i, j) = (p / (g.oh * g.ow), p / g.ow % g.oh, p % g.ow);
        for di in 0..g.kh {
            let Some(r) = g.row(i, di) else { continue };
            for dj in 0..g.kw {
                let Some(col) = g.col(j, dj) else { continue };
                let to = ((b * g.h + r) * g.w + col) * g.c;
                let from = (di * g.kw + dj) * g.c;
                for (d, &v) in dst[to..to + g.c].iter_mut().zip(&row[from..from + g.c]) {
                    *d = *d + v;
                }
            }
        }
    }
    Ok(())
}

/// Calls `visit(out, taps)` for every output position `out` (an index into
/// `[n, oh, ow]`) with the input offsets `(b, r, col)`-flattened (times `c`)
/// of its window's elements in row-major order.
fn each_window(g: &Geometry, mut visit: impl FnMut(usize, &[usize])) {
    let mut taps = Vec::with_capacity(g.kh * g.kw);
    for b in 0..g.n {
        for i in 0..g.oh {
            for j in 0..g.ow {
                taps.clear();
                for di in 0..g.kh {
                    let Some(r) = g.row(i, di) else { continue };
                    for dj in 0..g.kw {
                        if let Some(col) = g.col(j, dj) {
                            taps.push(((b * g.h + r) * g.w + col) * g.c);
                        }
                    }
                }
                visit((b * g.oh + i) * g.ow + j, &taps);
            }
        }
    }
}

/// For each output element, the input offset of its window's first maximum.
fn argmaxes<T: Element>(x: &[T], g: &Geometry, mut visit: impl FnMut(usize, Option<usize>)) {
    each_window(g, |out, taps| {
        for c in 0..g.c {
            let mut best: Option<(usize, T)> = None;
            for &t in taps {
                let v = x[t + c];
                if best.is_none_or(|(_, m)| v > m) {
                    best = Some((t + c, v));
                }
            }
            visit(out * g.c + c, best.map(|b| b.0));
        }
    });
}

/// The geometry of a pooling over `dims`, with the operands' and the
/// destination's lengths checked: each is the input's size (`false`) or the
/// pooled size (`true`).
fn pool_geometry(
    op: &'static str,
    dims: &[usize],
    window: &Window,
    lens: &[(usize, bool)],
) -> Result<Geometry, ExecError> {
    let g = geometry(op, dims, window)?;
    let (input, output) = (g.n * g.h * g.w * g.c, g.n * g.oh * g.ow * g.c);
    if lens
        .iter()
        .any(|&(len, pooled)| len != if pooled { output } else { input })
    {
        return Err(ExecError::Internal("pooling shapes"));
    }
    Ok(g)
}

/// `max_pool2d(x)` into `dst`.
pub fn max_pool_into<T: Element>(
    x: &ArrayViewD<'_, T>,
    window: &Window,
    dst: &mut [T],
) -> Result<(), ExecError> {
    let g = pool_geometry("max_pool2d", x.shape(), window, &[(dst.len(), true)])?;
    let xs = contiguous(x)?;
    argmaxes(&xs, &g, |o, at| {
        dst[o] = at.map_or(T::neg_infinity(), |a| xs[a])
    });
    Ok(())
}

/// `max_pool2d`'s gradient into `dst` (of `x`'s shape).
pub fn max_pool_grad_into<T: Element>(
    x: &ArrayViewD<'_, T>,
    grad: &ArrayViewD<'_, T>,
    window: &Window,
    dst: &mut [T],
) -> Result<(), ExecError> {
    let lens = [(grad.len(), true), (dst.len(), false)];
    let g = pool_geometry("max_pool2d", x.shape(), window, &lens)?;
    let (xs, dy) = (contiguous(x)?, contiguous(grad)?);
    dst.fill(T::zero());
    argmaxes(&xs, &g, |o, at| {
        if let Some(a) = at {
            dst[a] = dst[a] + dy[o];
        }
    });
    Ok(())
}

/// The gradient of `max_pool2d`'s gradient into `dst` (the pooled shape).
pub fn max_pool_grad_grad_into<T: Element>(
    x: &ArrayViewD<'_, T>,
    gg: &ArrayViewD<'_, T>,
    window: &Window,
    dst: &mut [T],
) -> Result<(), ExecError> {
    let lens = [(gg.len(), false), (dst.len(), true)];
    let g = pool_geometry("max_pool2d", x.shape(), window, &lens)?;
    let (xs, ggs) = (contiguous(x)?, contiguous(gg)?);
    argmaxes(&xs, &g, |o, at| dst[o] = at.map_or(T::zero(), |a| ggs[a]));
    Ok(())
}

/// `avg_pool2d(x)` into `dst`.
pub fn avg_pool_into<T: Element>(
    x: &ArrayViewD<'_, T>,
    window: &Window,
    dst: &mut [T],
) -> Result<(), ExecError> {
    let g = pool_geometry("avg_pool2d", x.shape(), window, &[(dst.len(), true)])?;
    let xs = contiguous(x)?;
    each_window(&g, |out, taps| {
        let n = T::from_f64(taps.len() as f64);
        for c in 0..g.c {
            let s = taps.iter().fold(T::zero(), |acc, &t| acc + xs[t + c]);
            dst[out * g.c + c] = s / n;
        }
    });
    Ok(())
}

/// `avg_pool2d`'s gradient into `dst` (of the input's shape `input`).
pub fn avg_pool_grad_into<T: Element>(
    grad: &ArrayViewD<'_, T>,
    input: &[usize],
    window: &Window,
    dst: &mut [T],
) -> Result<(), ExecError> {
    let lens = [(grad.len(), true), (dst.len(), false)];
    let g = pool_geometry("avg_pool2d", input, window, &lens)?;
    let dy = contiguous(grad)?;
    dst.fill(T::zero());
    each_window(&g, |out, taps| {
        let n = T::from_f64(taps.len() as f64);
        for c in 0..g.c {
            let share = dy[out * g.c + c] / n;
            for &t in taps {
                dst[t + c] = dst[t + c] + share;
            }
        }
    });
    Ok(())
}
