//! Constant tensor data, comparable bit for bit so constants hash-cons.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use ndarray::ArrayD;

use super::dtype::{DType, Real};

/// The value of a constant: a shape and its elements in row-major order.
///
/// Elements are held as `f64` already rounded to the constant's dtype, and
/// compared by their bits, so `-0.0` and `0.0` are different constants and a
/// NaN equals itself: exactly what hash-consing needs.
#[derive(Clone, Debug)]
pub struct Literal {
    shape: Vec<usize>,
    values: Arc<[f64]>,
}

impl Literal {
    /// A scalar constant.
    pub fn scalar(value: f64) -> Self {
        Literal {
            shape: vec![],
            values: Arc::from(vec![value]),
        }
    }

    /// A constant of the given shape; `None` if the element count does not match.
    pub fn new(shape: Vec<usize>, values: Vec<f64>) -> Option<Self> {
        if super::shape::checked_product(&shape)? != values.len() {
            return None;
        }
        Some(Literal {
            shape,
            values: Arc::from(values),
        })
    }

    /// A constant from an array.
    pub fn from_array<T: Real>(a: &ArrayD<T>) -> Self {
        Literal {
            shape: a.shape().to_vec(),
            values: a.iter().map(|v| v.widen()).collect(),
        }
    }

    /// The same values rounded to a dtype.
    pub fn rounded(&self, dtype: DType) -> Self {
        Literal {
            shape: self.shape.clone(),
            values: self.values.iter().map(|&v| dtype.round(v)).collect(),
        }
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The elements in row-major order.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// The single value of a scalar or of a tensor whose elements are all
    /// equal (bitwise); `None` otherwise or when empty.
    pub fn splat_value(&self) -> Option<f64> {
        let first = *self.values.first()?;
        self.values
            .iter()
            .all(|v| v.to_bits() == first.to_bits())
            .then_some(first)
    }

    /// The value as an array of `T`.
    pub fn to_array<T: Real>(&self) -> ArrayD<T> {
        let data: Vec<T> = self.values.iter().map(|&v| T::from_f64(v)).collect();
        // the element count was checked when the literal was made
        ArrayD::from_shape_vec(self.shape.clone(), data)
            .unwrap_or_else(|_| unreachable!("literal shape matches its data"))
    }
}

impl PartialEq for Literal {
    fn eq(&self, other: &Self) -> bool {
        self.shape == other.shape
            && self.values.len() == other.values.len()
            && self
                .values
                .iter()
                .zip(other.values.iter())
                .all(|(a, b)| a.to_bits() == b.to_bits())
    }
}

impl Eq for Literal {}

impl Hash for Literal {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.shape.hash(state);
        for v in self.values.iter() {
            v.to_bits().hash(state);
        }
    }
}
