//! Run-time tensor values: owned arrays and borrowed views of either dtype.

use std::fmt;

use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD};

use crate::graph::{DType, Real};

/// An owned tensor value of either dtype.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// An `f32` array.
    F32(ArrayD<f32>),
    /// An `f64` array.
    F64(ArrayD<f64>),
}

impl Value {
    /// The element type.
    pub fn dtype(&self) -> DType {
        match self {
            Value::F32(_) => DType::F32,
            Value::F64(_) => DType::F64,
        }
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        match self {
            Value::F32(a) => a.shape(),
            Value::F64(a) => a.shape(),
        }
    }

    /// A borrowed view.
    pub fn view(&self) -> ValueView<'_> {
        match self {
            Value::F32(a) => ValueView::F32(a.view()),
            Value::F64(a) => ValueView::F64(a.view()),
        }
    }

    /// The elements widened to `f64` (exactly), in row-major order.
    pub fn to_f64_vec(&self) -> Vec<f64> {
        self.view().to_f64_vec()
    }

    /// The value widened to an `f64` array (exact).
    pub fn to_f64_array(&self) -> ArrayD<f64> {
        match self {
            Value::F32(a) => a.mapv(f64::from),
            Value::F64(a) => a.clone(),
        }
    }

    /// An `f64` array converted to `dtype` (rounding to nearest for `f32`).
    pub fn from_f64_array(a: ArrayD<f64>, dtype: DType) -> Value {
        match dtype {
            DType::F32 => Value::F32(a.mapv(|v| v as f32)),
            DType::F64 => Value::F64(a),
        }
    }

    /// The typed array, if the dtype is `T`'s.
    pub fn as_array<T: Element>(&self) -> Option<&ArrayD<T>> {
        T::unwrap(self)
    }
}

impl From<ArrayD<f32>> for Value {
    fn from(a: ArrayD<f32>) -> Self {
        Value::F32(a)
    }
}

impl From<ArrayD<f64>> for Value {
    fn from(a: ArrayD<f64>) -> Self {
        Value::F64(a)
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::F32(a) => fmt::Display::fmt(a, f),
            Value::F64(a) => fmt::Display::fmt(a, f),
        }
    }
}

/// A borrowed tensor value of either dtype, in any memory layout.
#[derive(Clone, Debug)]
pub enum ValueView<'a> {
    /// An `f32` view.
    F32(ArrayViewD<'a, f32>),
    /// An `f64` view.
    F64(ArrayViewD<'a, f64>),
}

impl ValueView<'_> {
    /// The element type.
    pub fn dtype(&self) -> DType {
        match self {
            ValueView::F32(_) => DType::F32,
            ValueView::F64(_) => DType::F64,
        }
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        match self {
            ValueView::F32(a) => a.shape(),
            ValueView::F64(a) => a.shape(),
        }
    }

    /// An owned copy in standard layout.
    pub fn to_owned(&self) -> Value {
        match self {
            ValueView::F32(a) => Value::F32(a.to_owned()),
            ValueView::F64(a) => Value::F64(a.to_owned()),
        }
    }

    /// The elements widened to `f64`, in row-major order.
    pub fn to_f64_vec(&self) -> Vec<f64> {
        match self {
            ValueView::F32(a) => a.iter().map(|&v| f64::from(v)).collect(),
            ValueView::F64(a) => a.iter().copied().collect(),
        }
    }
}

/// A mutable borrowed tensor of either dtype: where `run_into` writes.
#[derive(Debug)]
pub enum ValueViewMut<'a> {
    /// An `f32` view.
    F32(ArrayViewMutD<'a, f32>),
    /// An `f64` view.
    F64(ArrayViewMutD<'a, f64>),
}

impl<'a> From<ArrayViewMutD<'a, f32>> for ValueViewMut<'a> {
    fn from(a: ArrayViewMutD<'a, f32>) -> Self {
        ValueViewMut::F32(a)
    }
}

impl<'a> From<ArrayViewMutD<'a, f64>> for ValueViewMut<'a> {
    fn from(a: ArrayViewMutD<'a, f64>) -> Self {
        ValueViewMut::F64(a)
    }
}

impl Value {
    /// A mutable view, for `run_into`.
    pub fn view_mut(&mut self) -> ValueViewMut<'_> {
        match self {
            Value::F32(a) => ValueViewMut::F32(a.view_mut()),
            Value::F64(a) => ValueViewMut::F64(a.view_mut()),
        }
    }
}

/// Anything that can be fed to a session: arrays, views and values of either dtype.
pub trait AsFeed {
    /// Borrows the data as a view.
    fn as_feed(&self) -> ValueView<'_>;
}

impl AsFeed for Value {
    fn as_feed(&self) -> ValueView<'_> {
        self.view()
    }
}

impl AsFeed for ValueView<'_> {
    fn as_feed(&self) -> ValueView<'_> {
        match self {
            ValueView::F32(a) => ValueView::F32(a.view()),
            ValueView::F64(a) => ValueView::F64(a.view()),
        }
    }
}

impl<T: Element, D: ndarray::Dimension> AsFeed for ndarray::Array<T, D> {
    fn as_feed(&self) -> ValueView<'_> {
        T::wrap_view(self.view().into_dyn())
    }
}

impl<T: Element, D: ndarray::Dimension> AsFeed for ndarray::ArrayView<'_, T, D> {
    fn as_feed(&self) -> ValueView<'_> {
        T::wrap_view(self.view().into_dyn())
    }
}

impl<F: AsFeed + ?Sized> AsFeed for &F {
    fn as_feed(&self) -> ValueView<'_> {
        (**self).as_feed()
    }
}

/// An element type that values can hold: the bridge from generic code to [`Value`].
pub trait Element: Real {
    /// The typed array inside a value, if the dtype matches.
    fn unwrap(v: &Value) -> Option<&ArrayD<Self>>;
    /// The typed view inside a value view, if the dtype matches.
    fn unwrap_view<'a>(v: &ValueView<'a>) -> Option<ArrayViewD<'a, Self>>;
    /// The typed view inside a value view, borrowed, if the dtype matches.
    fn view_ref<'s, 'a>(v: &'s ValueView<'a>) -> Option<&'s ArrayViewD<'a, Self>>;
    /// The typed mutable view inside a mutable value view, if the dtype matches.
    fn unwrap_view_mut<'s, 'a>(
        v: &'s mut ValueViewMut<'a>,
    ) -> Option<&'s mut ArrayViewMutD<'a, Self>>;
    /// Wraps an array as a value.
    fn wrap(a: ArrayD<Self>) -> Value;
    /// Wraps a view as a value view.
    fn wrap_view(a: ArrayViewD<'_, Self>) -> ValueView<'_>;
}

impl Element for f32 {
    fn unwrap(v: &Value) -> Option<&ArrayD<f32>> {
        match v {
            Value::F32(a) => Some(a),
            Value::F64(_) => None,
        }
    }
    fn unwrap_view<'a>(v: &ValueView<'a>) -> Option<ArrayViewD<'a, f32>> {
        match v {
            ValueView::F32(a) => Some(a.clone()),
            ValueView::F64(_) => None,
        }
    }
    fn view_ref<'s, 'a>(v: &'s ValueView<'a>) -> Option<&'s ArrayViewD<'a, f32>> {
        match v {
            ValueView::F32(a) => Some(a),
            ValueView::F64(_) => None,
        }
    }
    fn unwrap_view_mut<'s, 'a>(
        v: &'s mut ValueViewMut<'a>,
    ) -> Option<&'s mut ArrayViewMutD<'a, f32>> {
        match v {
            ValueViewMut::F32(a) => Some(a),
            ValueViewMut::F64(_) => None,
        }
    }
    fn wrap(a: ArrayD<f32>) -> Value {
        Value::F32(a)
    }
    fn wrap_view(a: ArrayViewD<'_, f32>) -> ValueView<'_> {
        ValueView::F32(a)
    }
}

impl Element for f64 {
    fn unwrap(v: &Value) -> Option<&ArrayD<f64>> {
        match v {
            Value::F64(a) => Some(a),
            Value::F32(_) => None,
        }
    }
    fn unwrap_view<'a>(v: &ValueView<'a>) -> Option<ArrayViewD<'a, f64>> {
        match v {
            ValueView::F64(a) => Some(a.clone()),
            ValueView::F32(_) => None,
        }
    }
    fn view_ref<'s, 'a>(v: &'s ValueView<'a>) -> Option<&'s ArrayViewD<'a, f64>> {
        match v {
            ValueView::F64(a) => Some(a),
            ValueView::F32(_) => None,
        }
    }
    fn unwrap_view_mut<'s, 'a>(
        v: &'s mut ValueViewMut<'a>,
    ) -> Option<&'s mut ArrayViewMutD<'a, f64>> {
        match v {
            ValueViewMut::F64(a) => Some(a),
            ValueViewMut::F32(_) => None,
        }
    }
    fn wrap(a: ArrayD<f64>) -> Value {
        Value::F64(a)
    }
    fn wrap_view(a: ArrayViewD<'_, f64>) -> ValueView<'_> {
        ValueView::F64(a)
    }
}
