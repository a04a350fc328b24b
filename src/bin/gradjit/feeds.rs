//! Values given on the command line: JSON numbers and arrays, `.npy` files,
//! and `rand(...)` / `randsign(...)` / `randint(K, ...)` for large inputs
//! without a file.

use std::io::Cursor;

use ndarray::{ArrayD, IxDyn};
use ndarray_npy::ReadNpyExt;
use rand::{Rng, SeedableRng};

use crate::CliError;

/// Parses one VALUE into an `f64` array (converted to the program's dtype later).
///
/// `seed_name` makes each `rand(...)` feed reproducible and distinct.
pub fn parse_value(text: &str, seed_name: &str) -> Result<ArrayD<f64>, CliError> {
    let t = text.trim();
    if let Some(path) = t.strip_prefix('@') {
        return read_npy(path);
    }
    for (prefix, draw) in [
        ("randsign(", Draw::Sign),
        ("randint(", Draw::Int),
        ("rand(", Draw::Uniform),
    ] {
        if let Some(rest) = t.strip_prefix(prefix) {
            let inner = rest
                .strip_suffix(')')
                .ok_or_else(|| CliError::new(format!("`{t}`: missing `)`")))?;
            return random(inner, draw, seed_name);
        }
    }
    let json: serde_json::Value = serde_json::from_str(t)
        .map_err(|e| CliError::new(format!("`{t}` is not a JSON number or array: {e}")))?;
    let mut shape = Vec::new();
    let mut data = Vec::new();
    collect(&json, 0, &mut shape, &mut data)
        .map_err(|why| CliError::new(format!("`{t}`: {why}")))?;
    ArrayD::from_shape_vec(IxDyn(&shape), data).map_err(|e| CliError::new(format!("`{t}`: {e}")))
}

fn collect(
    v: &serde_json::Value,
    depth: usize,
    shape: &mut Vec<usize>,
    data: &mut Vec<f64>,
) -> Result<(), String> {
    match v {
        serde_json::Value::Number(n) => {
            if depth != shape.len() {
                return Err("nested lists are not all the same depth".into());
            }
            data.push(n.as_f64().ok_or("number out of range")?);
            Ok(())
        }
        serde_json::Value::String(s) => {
            let x = match s.as_str() {
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                "nan" => f64::NAN,
                other => return Err(format!("`\"{other}\"` is not a number")),
            };
            if depth != shape.len() {
                return Err("nested lists are not all the same depth".into());
            }
            data.push(x);
            Ok(())
        }
        serde_json::Value::Array(items) => {
            if depth == shape.len() {
                if !data.is_empty() {
                    return Err("nested lists are not all the same depth".into());
                }
                shape.push(items.len());
            } else if depth > shape.len() || shape[depth] != items.len() {
                return Err("nested lists are not all the same length".into());
            }
            for item in items {
                collect(item, depth + 1, shape, data)?;
            }
            // an empty list fixes no deeper dimensions
            Ok(())
        }
        other => Err(format!("`{other}` is not a number")),
    }
}

fn read_npy(path: &str) -> Result<ArrayD<f64>, CliError> {
    let bytes =
        std::fs::read(path).map_err(|e| CliError::new(format!("cannot read `{path}`: {e}")))?;
    macro_rules! try_as {
        ($($t:ty),*) => {$(
            if let Ok(a) = ArrayD::<$t>::read_npy(Cursor::new(&bytes)) {
                return Ok(a.mapv(|v| v as f64));
            }
        )*};
    }
    try_as!(f64, f32, i64, i32, i16, i8, u64, u32, u16, u8);
    if let Ok(a) = ArrayD::<bool>::read_npy(Cursor::new(&bytes)) {
        return Ok(a.mapv(|v| if v { 1.0 } else { 0.0 }));
    }
    Err(CliError::new(format!(
        "`{path}` is not a .npy file of floats or integers"
    )))
}

/// What a random feed draws.
#[derive(Clone, Copy)]
enum Draw {
    /// Uniform in [-1, 1].
    Uniform,
    /// -1 or +1.
    Sign,
    /// Integers in [0, K), K the first argument (labels, indices).
    Int,
}

fn random(args: &str, draw: Draw, seed_name: &str) -> Result<ArrayD<f64>, CliError> {
    // the dimensions, after randint's bound
    let mut shape: Vec<usize> = if args.trim().is_empty() {
        vec![]
    } else {
        args.split(',')
            .map(|d| {
                d.trim()
                    .parse::<usize>()
                    .map_err(|_| CliError::new(format!("`{d}` is not a dimension in rand(...)")))
            })
            .collect::<Result<_, _>>()?
    };
    let bound = match draw {
        Draw::Int => match shape.first() {
            Some(&k) if k > 0 => shape.remove(0),
            _ => {
                return Err(CliError::new(format!(
                "randint({args}): the first argument is how many integers to draw from, at least 1"
            )))
            }
        },
        Draw::Uniform | Draw::Sign => 0,
    };
    let n = gradjit::graph::checked_product(&shape)
        .filter(|&n| n <= 1 << 31)
        .ok_or_else(|| CliError::new(format!("rand({args}) is too large")))?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(fnv1a(seed_name));
    let data: Vec<f64> = (0..n)
        .map(|_| match draw {
            Draw::Sign => {
                if rng.gen::<bool>() {
                    1.0
                } else {
                    -1.0
                }
            }
            Draw::Uniform => rng.gen_range(-1.0..=1.0),
            Draw::Int => rng.gen_range(0..bound) as f64,
        })
        .collect();
    ArrayD::from_shape_vec(IxDyn(&shape), data).map_err(|e| CliError::new(e.to_string()))
}

/// A stable hash, so a feed's random values depend only on its name.
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_values_and_shapes() {
        assert_eq!(parse_value("2.5", "x").unwrap().shape(), &[] as &[usize]);
        let a = parse_value("[[1,2],[3,4]]", "x").unwrap();
        assert_eq!(a.shape(), &[2, 2]);
        assert_eq!(a[[1, 0]], 3.0);
        assert!(parse_value("[[1,2],[3]]", "x").is_err());
        assert!(parse_value("[1,[2]]", "x").is_err());
        assert!(parse_value("\"hello\"", "x").is_err());
        assert_eq!(parse_value("[]", "x").unwrap().shape(), &[0]);
        assert!(parse_value("[\"nan\"]", "x").unwrap()[[0]].is_nan());
    }

    #[test]
    fn rand_is_seeded_and_bounded() {
        let a = parse_value("rand(3,4)", "x").unwrap();
        let b = parse_value("rand(3,4)", "x").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.shape(), &[3, 4]);
        assert!(a.iter().all(|v| (-1.0..=1.0).contains(v)));
        assert_ne!(a, parse_value("rand(3,4)", "y").unwrap());
        let s = parse_value("randsign(100)", "t").unwrap();
        assert!(s.iter().all(|v| *v == 1.0 || *v == -1.0));
        assert!(parse_value("rand(3,x)", "x").is_err());
        // randint(K, dims): integers in [0, K), every one of them drawn
        let l = parse_value("randint(3, 200)", "labels").unwrap();
        assert_eq!(l.shape(), &[200]);
        assert!(l.iter().all(|&v| v == v.trunc() && (0.0..3.0).contains(&v)));
        assert!((0..3).all(|k| l.iter().any(|&v| v == k as f64)));
        assert_eq!(
            parse_value("randint(5)", "k").unwrap().shape(),
            &[] as &[usize]
        );
        assert!(parse_value("randint(0, 4)", "k").is_err());
        assert!(parse_value("randint()", "k").is_err());
    }
}
