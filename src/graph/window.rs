//! The geometry of windows slid over images: `conv2d` and the pooling
//! operations (NHWC), with TensorFlow's `"VALID"` and `"SAME"` padding.
//! Shape inference, the interpreter and native code all place windows
//! through [`Geometry`].

use std::fmt;

use super::error::GraphError;
use super::shape::{Dim, Shape};

/// How a window meets the border (TensorFlow's `padding`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Padding {
    /// Windows lie wholly inside the input.
    Valid,
    /// `ceil(size / stride)` windows per axis, the input padded evenly (the
    /// odd element after it).
    Same,
}

impl Padding {
    /// The language's string for it.
    pub fn name(self) -> &'static str {
        match self {
            Padding::Valid => "VALID",
            Padding::Same => "SAME",
        }
    }

    /// Reads `"VALID"` or `"SAME"`.
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "VALID" => Some(Padding::Valid),
            "SAME" => Some(Padding::Same),
            _ => None,
        }
    }
}

impl fmt::Display for Padding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.name())
    }
}

/// A window's size (pooling; a convolution's comes from its filter), its
/// strides and its padding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Window {
    /// `[height, width]` of the window.
    pub ksize: [usize; 2],
    /// `[height, width]` steps between windows.
    pub strides: [usize; 2],
    /// The border rule.
    pub padding: Padding,
}

/// Where every window of one operation lies: input `[n, h, w, c]`, output
/// `[n, oh, ow, ·]`, window `[kh, kw]`; output position `(i, j)` reads input
/// rows `i * sh - pad_top + di` and columns `j * sw - pad_left + dj`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// Batch.
    pub n: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Input channels.
    pub c: usize,
    /// Output height.
    pub oh: usize,
    /// Output width.
    pub ow: usize,
    /// Window height.
    pub kh: usize,
    /// Window width.
    pub kw: usize,
    /// Vertical stride.
    pub sh: usize,
    /// Horizontal stride.
    pub sw: usize,
    /// Rows of padding above.
    pub pad_top: usize,
    /// Columns of padding to the left.
    pub pad_left: usize,
}

/// Output size and padding before, along one axis of size `n`.
fn out_dim(
    op: &'static str,
    n: usize,
    k: usize,
    s: usize,
    padding: Padding,
) -> Result<(usize, usize), GraphError> {
    if k == 0 || s == 0 {
        return Err(GraphError::Window {
            op,
            detail: "window sizes and strides must be at least 1".into(),
        });
    }
    match padding {
        Padding::Valid if n < k => Err(GraphError::Window {
            op,
            detail: format!("a window of {k} does not fit in {n} with padding \"VALID\""),
        }),
        Padding::Valid => Ok(((n - k) / s + 1, 0)),
        Padding::Same => {
            let out = n.div_ceil(s);
            let needed = ((out.max(1) - 1) * s + k).saturating_sub(n);
            Ok((out, needed / 2))
        }
    }
}

impl Geometry {
    /// The geometry of windows of `window` over an input of `dims` (rank 4).
    ///
    /// # Errors
    /// A rank other than 4, a zero size or stride, or a `"VALID"` window
    /// larger than the input.
    pub fn new(op: &'static str, dims: &[usize], window: &Window) -> Result<Self, GraphError> {
        let &[n, h, w, c] = dims else {
            return Err(GraphError::Window {
                op,
                detail: format!("the input must be [batch, height, width, channels], got {dims:?}"),
            });
        };
        let [kh, kw] = window.ksize;
        let [sh, sw] = window.strides;
        let (oh, pad_top) = out_dim(op, h, kh, sh, window.padding)?;
        let (ow, pad_left) = out_dim(op, w, kw, sw, window.padding)?;
        Ok(Geometry {
            n,
            h,
            w,
            c,
            oh,
            ow,
            kh,
            kw,
            sh,
            sw,
            pad_top,
            pad_left,
        })
    }

    /// The input row that output row `i` reads at window row `di`, if inside.
    pub fn row(&self, i: usize, di: usize) -> Option<usize> {
        (i * self.sh + di)
            .checked_sub(self.pad_top)
            .filter(|&r| r < self.h)
    }

    /// The input column that output column `j` reads at window column `dj`, if inside.
    pub fn col(&self, j: usize, dj: usize) -> Option<usize> {
        (j * self.sw + dj)
            .checked_sub(self.pad_left)
            .filter(|&c| c < self.w)
    }
}

/// The static shape of a windowed operation's output, `[n, oh, ow, channels]`.
pub(crate) fn window_shape(
    op: &'static str,
    x: &Shape,
    window: &Window,
    channels: Dim,
) -> Result<Shape, GraphError> {
    let Some(dims) = x.dims() else {
        return Ok(Shape::of_rank(4));
    };
    let &[n, h, w, _] = dims else {
        return Err(GraphError::Window {
            op,
            detail: format!("the input must be [batch, height, width, channels], got {x}"),
        });
    };
    let one = |d: Dim, k: usize, s: usize| -> Result<Dim, GraphError> {
        d.map(|d| out_dim(op, d, k, s, window.padding).map(|o| o.0))
            .transpose()
    };
    let oh = one(h, window.ksize[0], window.strides[0])?;
    let ow = one(w, window.ksize[1], window.strides[1])?;
    Ok(Shape::with_dims(vec![n, oh, ow, channels]))
}

/// The static shape of `conv2d(x, filter)`: the filter `[kh, kw, c, out]`
/// with `x`'s channels.
pub(crate) fn conv_shape(
    x: &Shape,
    filter: &Shape,
    strides: [usize; 2],
    padding: Padding,
) -> Result<Shape, GraphError> {
    let op = "conv2d";
    let f = match filter.dims() {
        None => return Ok(Shape::of_rank(4)),
        Some(f) if f.len() == 4 => f,
        Some(_) => {
            return Err(GraphError::Window {
                op,
                detail: format!("the filter must be [height, width, in, out], got {filter}"),
            })
        }
    };
    if let (Some(Some(xc)), Some(fc)) = (x.dims().and_then(|d| d.get(3).copied()), f[2]) {
        if xc != fc {
            return Err(GraphError::Window {
                op,
                detail: format!("input of {xc} channels, filter for {fc}"),
            });
        }
    }
    let (Some(kh), Some(kw)) = (f[0], f[1]) else {
        return Ok(Shape::of_rank(4));
    };
    let window = Window {
        ksize: [kh, kw],
        strides,
        padding,
    };
    window_shape(op, x, &window, f[3])
}
