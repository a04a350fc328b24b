//! Printing values: numbers with enough digits to round-trip, and JSON.

use gradjit::{DType, Value};

/// Formats a number with `digits` significant digits, trailing zeros
/// dropped (C's `%.{digits}g`), so it reads back as the same value of its
/// dtype; non-finite values as `inf`, `-inf`, `nan`.
pub fn number(v: f64, dtype: DType) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.into();
    }
    let digits = match dtype {
        DType::F32 => 9,
        DType::F64 => 17,
    };
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let sci = format!("{:.*e}", digits - 1, v);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits_only: String = mantissa.chars().filter(|c| *c != '.').collect();
    let digits_only = digits_only.trim_end_matches('0');
    let digits_only = if digits_only.is_empty() {
        "0"
    } else {
        digits_only
    };
    if exp < -4 || exp >= digits as i32 {
        let (first, rest) = digits_only.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        format!("{sign}{first}{frac}e{exp}")
    } else if exp < 0 {
        let zeros = "0".repeat((-exp - 1) as usize);
        format!("{sign}0.{zeros}{digits_only}")
    } else {
        let int_len = exp as usize + 1;
        if digits_only.len() <= int_len {
            let zeros = "0".repeat(int_len - digits_only.len());
            format!("{sign}{digits_only}{zeros}")
        } else {
            let (i, f) = digits_only.split_at(int_len);
            format!("{sign}{i}.{f}")
        }
    }
}

/// A number as JSON: non-finite values become the strings `"inf"`, `"-inf"`, `"nan"`.
pub fn json_number(v: f64, dtype: DType) -> String {
    let s = number(v, dtype);
    if v.is_finite() {
        s
    } else {
        format!("\"{s}\"")
    }
}

/// A value as JSON: a number for a scalar, nested arrays otherwise.
pub fn json_value(v: &Value) -> String {
    let data = v.to_f64_vec();
    let mut out = String::new();
    nested(&mut out, v.shape(), &data, v.dtype(), &json_number);
    out
}

/// A value for people: like JSON, but non-finite numbers unquoted.
pub fn human_value(v: &Value) -> String {
    let data = v.to_f64_vec();
    let mut out = String::new();
    nested(&mut out, v.shape(), &data, v.dtype(), &number);
    out
}

fn nested(
    out: &mut String,
    shape: &[usize],
    data: &[f64],
    dtype: DType,
    fmt: &dyn Fn(f64, DType) -> String,
) {
    match shape.split_first() {
        None => out.push_str(&fmt(data.first().copied().unwrap_or(f64::NAN), dtype)),
        Some((&n, rest)) => {
            let stride: usize = rest.iter().product();
            out.push('[');
            for i in 0..n {
                if i > 0 {
                    out.push_str(", ");
                }
                let chunk = data.get(i * stride..(i + 1) * stride).unwrap_or(&[]);
                nested(out, rest, chunk, dtype, fmt);
            }
            out.push(']');
        }
    }
}

/// A JSON string literal.
pub fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_with_g_formatting() {
        assert_eq!(number(7.0, DType::F32), "7");
        assert_eq!(number(0.1f32 as f64, DType::F32), "0.100000001");
        assert_eq!(number(0.1, DType::F64), "0.10000000000000001");
        assert_eq!(number(1e20, DType::F64), "1e20");
        assert_eq!(number(-2.5e-7, DType::F32), "-2.5e-7");
        assert_eq!(number(123456789.0f32 as f64, DType::F32), "123456792");
        assert_eq!(number(f64::NEG_INFINITY, DType::F32), "-inf");
        for v in [1.0f32 / 3.0, 3.4028235e38, 1e-45, -7.25e-12, 16777217.0] {
            let s = number(v as f64, DType::F32);
            assert_eq!(s.parse::<f32>().unwrap(), v, "{s}");
        }
        for v in [
            1.0f64 / 3.0,
            1.7976931348623157e308,
            5e-324,
            std::f64::consts::PI,
        ] {
            let s = number(v, DType::F64);
            assert_eq!(s.parse::<f64>().unwrap(), v, "{s}");
        }
    }
}
