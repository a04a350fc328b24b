//! Static shapes with unknown dimensions, and NumPy broadcasting.

use std::fmt;

/// One dimension of a static shape: `None` when it is only known at run time.
pub type Dim = Option<usize>;

/// A static shape: its rank may be unknown, and so may each dimension.
///
/// Placeholders may leave their shape open, as `tf.placeholder` allows; an
/// executable is specialized to the concrete shapes it is fed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Shape {
    dims: Option<Vec<Dim>>,
}

impl Shape {
    /// A shape of unknown rank.
    pub fn unknown() -> Self {
        Shape { dims: None }
    }

    /// The shape of a scalar (rank 0).
    pub fn scalar() -> Self {
        Shape { dims: Some(vec![]) }
    }

    /// A fully known shape.
    pub fn known(dims: &[usize]) -> Self {
        Shape {
            dims: Some(dims.iter().map(|&d| Some(d)).collect()),
        }
    }

    /// A shape of known rank whose dimensions may be unknown.
    pub fn with_dims(dims: Vec<Dim>) -> Self {
        Shape { dims: Some(dims) }
    }

    /// A shape of known rank with every dimension unknown.
    pub fn of_rank(rank: usize) -> Self {
        Shape {
            dims: Some(vec![None; rank]),
        }
    }

    /// The rank, if known.
    pub fn rank(&self) -> Option<usize> {
        self.dims.as_ref().map(Vec::len)
    }

    /// The dimensions, if the rank is known.
    pub fn dims(&self) -> Option<&[Dim]> {
        self.dims.as_deref()
    }

    /// The concrete dimensions, if every one is known.
    pub fn concrete(&self) -> Option<Vec<usize>> {
        self.dims.as_ref()?.iter().copied().collect()
    }

    /// True when the rank and all dimensions are known.
    pub fn is_concrete(&self) -> bool {
        self.concrete().is_some()
    }

    /// Whether a concrete run-time shape fits this static shape.
    pub fn accepts(&self, actual: &[usize]) -> bool {
        match &self.dims {
            None => true,
            Some(d) => {
                d.len() == actual.len()
                    && d.iter().zip(actual).all(|(s, a)| s.is_none_or(|s| s == *a))
            }
        }
    }

    /// The number of elements, if known (saturating never: `None` on overflow).
    pub fn num_elements(&self) -> Option<usize> {
        checked_product(&self.concrete()?)
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.dims {
            None => f.write_str("[..]"),
            Some(d) => {
                f.write_str("[")?;
                for (i, dim) in d.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    match dim {
                        Some(n) => write!(f, "{n}")?,
                        None => f.write_str("?")?,
                    }
                }
                f.write_str("]")
            }
        }
    }
}

/// The most elements a tensor may have: more than this many `f64`s would
/// not fit in the address space (`isize::MAX` bytes), and asking the
/// allocator for them panics ("capacity overflow"). Shapes beyond it are
/// rejected as too large before anything is allocated.
pub const MAX_ELEMENTS: usize = isize::MAX as usize / std::mem::size_of::<f64>();

/// Whether a tensor of these dimensions may exist: its element count
/// neither overflows `usize` nor exceeds [`MAX_ELEMENTS`].
pub fn fits_in_memory(dims: &[usize]) -> bool {
    checked_product(dims).is_some_and(|n| n <= MAX_ELEMENTS)
}

/// The product of dimensions, or `None` if it overflows `usize`.
pub fn checked_product(dims: &[usize]) -> Option<usize> {
    dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

/// The dimensions `reshape(x, dims)` gives a tensor of dimensions `from`,
/// with TensorFlow's rules: at most one `-1`, inferred from the rest; where
/// `dims` holds a 0, zero-sized dimensions count in neither product, so
/// `[2, 0]` reshaped to `[-1, 0]` is `[2, 0]`. `None` when no such shape
/// holds exactly `from`'s elements.
pub fn reshape_dims(from: &[usize], dims: &[i64]) -> Option<Vec<usize>> {
    if dims.iter().any(|&d| d < -1) || dims.iter().filter(|&&d| d == -1).count() > 1 {
        return None;
    }
    let target_has_zero = dims.contains(&0);
    let positive: Vec<usize> = dims
        .iter()
        .filter(|&&d| d > 0)
        .map(|&d| d as usize)
        .collect();
    let product = checked_product(&positive)?;
    let counted: Vec<usize> = from
        .iter()
        .copied()
        .filter(|&d| d > 0 || !target_has_zero)
        .collect();
    let input = checked_product(&counted)?;
    // `product` is at least 1: zeros are left out of it
    let wild = input / product;
    let out: Vec<usize> = dims
        .iter()
        .map(|&d| if d < 0 { wild } else { d as usize })
        .collect();
    (checked_product(&out)? == checked_product(from)?).then_some(out)
}

/// NumPy broadcasting of two concrete shapes; `None` if they do not match.
pub fn broadcast_concrete(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for (i, o) in out.iter_mut().enumerate() {
        let da = dim_from_right(a, rank, i).unwrap_or(1);
        let db = dim_from_right(b, rank, i).unwrap_or(1);
        *o = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

/// Whether `from` can be broadcast to exactly `to` (one-directional).
pub fn broadcasts_to(from: &[usize], to: &[usize]) -> bool {
    from.len() <= to.len()
        && from
            .iter()
            .rev()
            .zip(to.iter().rev())
            .all(|(&f, &t)| f == t || f == 1)
}

fn dim_from_right<T: Copy>(dims: &[T], rank: usize, i: usize) -> Option<T> {
    let offset = rank - dims.len();
    if i < offset {
        None
    } else {
        Some(dims[i - offset])
    }
}

/// NumPy broadcasting of two static shapes; `Err` carries the two sizes that
/// cannot match.
pub fn broadcast_static(a: &Shape, b: &Shape) -> Result<Shape, (usize, usize)> {
    let (Some(da), Some(db)) = (a.dims(), b.dims()) else {
        return Ok(Shape::unknown());
    };
    let rank = da.len().max(db.len());
    let mut out = Vec::with_capacity(rank);
    for i in 0..rank {
        let x = dim_from_right(da, rank, i).unwrap_or(Some(1));
        let y = dim_from_right(db, rank, i).unwrap_or(Some(1));
        out.push(match (x, y) {
            (Some(p), Some(q)) if p == q => Some(p),
            (Some(1), q) => q,
            (p, Some(1)) => p,
            (Some(p), Some(q)) => return Err((p, q)),
            (None, Some(q)) | (Some(q), None) => Some(q),
            (None, None) => None,
        });
    }
    Ok(Shape::with_dims(out))
}

/// Whether a static shape can broadcast to another (one-directional), as far
/// as is known: `false` only when it certainly cannot.
pub fn may_broadcast_to(from: &Shape, to: &Shape) -> bool {
    let (Some(f), Some(t)) = (from.dims(), to.dims()) else {
        return true;
    };
    f.len() <= t.len()
        && f.iter()
            .rev()
            .zip(t.iter().rev())
            .all(|(f, t)| match (f, t) {
                (Some(a), Some(b)) => a == b || *a == 1,
                _ => true,
            })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting_follows_numpy() {
        assert_eq!(broadcast_concrete(&[3, 1], &[4]), Some(vec![3, 4]));
        assert_eq!(broadcast_concrete(&[], &[2, 5]), Some(vec![2, 5]));
        assert_eq!(broadcast_concrete(&[2, 3], &[3, 2]), None);
        assert_eq!(broadcast_concrete(&[0], &[1]), Some(vec![0]));
        assert_eq!(broadcast_concrete(&[0], &[2]), None);
    }

    #[test]
    fn static_broadcast_keeps_unknowns_where_it_must() {
        let a = Shape::with_dims(vec![None, Some(3)]);
        let b = Shape::known(&[1, 3]);
        assert_eq!(
            broadcast_static(&a, &b).unwrap(),
            Shape::with_dims(vec![None, Some(3)])
        );
        let c = Shape::with_dims(vec![None]);
        assert_eq!(
            broadcast_static(&c, &Shape::known(&[4])).unwrap(),
            Shape::known(&[4])
        );
        assert_eq!(
            broadcast_static(&Shape::known(&[2]), &Shape::known(&[3])),
            Err((2, 3))
        );
        assert_eq!(
            broadcast_static(&Shape::unknown(), &b).unwrap(),
            Shape::unknown()
        );
    }

    #[test]
    fn one_directional_broadcast() {
        assert!(broadcasts_to(&[3, 1], &[2, 3, 4]));
        assert!(!broadcasts_to(&[2, 3, 4], &[3, 4]));
        assert!(!broadcasts_to(&[3], &[4]));
    }

    #[test]
    fn accepts_checks_rank_and_known_dims() {
        let s = Shape::with_dims(vec![None, Some(2)]);
        assert!(s.accepts(&[7, 2]));
        assert!(!s.accepts(&[7, 3]));
        assert!(!s.accepts(&[2]));
        assert!(Shape::unknown().accepts(&[1, 2, 3]));
    }
}
