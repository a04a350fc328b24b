//! What the classifier examples (`train_softmax`, `train_cnn`) share: the
//! accuracy of logits against labels, and the check that two engines'
//! fetches agree.

use gradjit::Value;
use ndarray::{Axis, Ix2};

/// The examples' error type.
pub type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// The share of rows whose largest logit (the first, on ties) is their label's.
pub fn accuracy_of(logits: &Value, labels: &[usize]) -> Res<f64> {
    let z = logits.as_array::<f32>().ok_or("f32 logits")?;
    let z = z.view().into_dimensionality::<Ix2>()?;
    let hits = z
        .axis_iter(Axis(0))
        .zip(labels)
        .filter(|(row, &l)| {
            let best = row
                .iter()
                .enumerate()
                .fold(
                    (0, f32::NEG_INFINITY),
                    |b, (i, &v)| if v > b.1 { (i, v) } else { b },
                );
            best.0 == l
        })
        .count();
    Ok(hits as f64 / labels.len().max(1) as f64)
}

/// An error naming the first fetch where `got` and `want` differ by more
/// than `1e-4` of `want`'s largest magnitude.
pub fn agree(got: &[Value], want: &[Value]) -> Res<()> {
    for (k, (a, b)) in got.iter().zip(want).enumerate() {
        let (a, b) = (a.to_f64_vec(), b.to_f64_vec());
        let scale = b.iter().fold(1e-3f64, |m, v| m.max(v.abs()));
        let worst = a
            .iter()
            .zip(&b)
            .fold(0.0f64, |m, (p, q)| m.max((p - q).abs()));
        if worst > 1e-4 * scale {
            return Err(format!("fetch {k}: jit and interpreter differ by {worst}").into());
        }
    }
    Ok(())
}
