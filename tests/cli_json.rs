//! The JSON of `eval` and `grad`: exact object shapes, the output named `y`,
//! `null` gradients, `"inf"`, `"-inf"`, `"nan"`, and numbers printed with
//! enough digits to round-trip (f32: 9 significant digits, f64: 17). Also
//! the seed examples of the project.

mod cli_support;

use cli_support::*;
use serde_json::{json, Value as Json};

#[test]
fn eval_prints_one_object_with_outputs() {
    let out = ok(&[
        "eval",
        "--json",
        "--feed",
        "x=[[1, 2], [3, 4]]",
        "z = x * 2",
    ]);
    // one JSON object, on one line
    assert_eq!(out.trim_end().lines().count(), 1, "{out}");
    let j: Json = serde_json::from_str(&out).unwrap();
    assert_eq!(j, json!({"outputs": {"z": [[2, 4], [6, 8]]}}));
    // several outputs with --ys
    let j = json(&[
        "eval",
        "--json",
        "--feed",
        "x=3",
        "--ys",
        "a,b",
        "a = x + 1; b = x * [1, 2]",
    ]);
    assert_eq!(j, json!({"outputs": {"a": 4, "b": [3, 6]}}));
}

#[test]
fn grad_prints_one_object_with_ys_and_grads() {
    let out = ok(&[
        "grad", "--json", "--wrt", "x", "--feed", "x=[1, 2]", "y = x*x",
    ]);
    assert_eq!(out.trim_end().lines().count(), 1, "{out}");
    let j: Json = serde_json::from_str(&out).unwrap();
    assert_eq!(j, json!({"ys": {"y": [1, 4]}, "grads": {"x": [2, 4]}}));
}

#[test]
fn the_unnamed_output_is_called_y() {
    let j = json(&["eval", "--json", "--feed", "x=3", "x + 1"]);
    assert_eq!(j, json!({"outputs": {"y": 4}}));
    let j = json(&["grad", "--json", "--wrt", "x", "--feed", "x=3", "x * x"]);
    assert_eq!(j, json!({"ys": {"y": 9}, "grads": {"x": 6}}));
}

#[test]
fn the_unnamed_output_shadows_a_bound_y() {
    // `y` is bound to 5, but the output is the last statement, 2x = 6
    let j = json(&["eval", "--json", "--feed", "x=3", "y = 5; x*2"]);
    assert_eq!(j, json!({"outputs": {"y": 6}}));
    // grad differentiates the output (3y = 3x^2), not the bound y (x^2):
    // d(3x^2)/dx = 6x = 18
    let j = json(&[
        "grad",
        "--json",
        "--wrt",
        "x",
        "--feed",
        "x=3",
        "y = x*x; y*3",
    ]);
    assert_eq!(j, json!({"ys": {"y": 27}, "grads": {"x": 18}}));
    // Ambiguity decided: a name given to --ys (or --wrt) is a name of the
    // program text, so `--ys y` is the bound `y`, not the unnamed output;
    // shadowing only concerns what the default output is called.
    let j = json(&["eval", "--json", "--feed", "x=3", "--ys", "y", "y = 5; x*2"]);
    assert_eq!(j, json!({"outputs": {"y": 5}}));
}

#[test]
fn a_none_gradient_is_null() {
    let j = json(&[
        "grad",
        "--json",
        "--wrt",
        "x,z",
        "--feed",
        "x=2",
        "--feed",
        "z=[1, 2]",
        "y = x*3 + floor(z)",
    ]);
    assert_eq!(
        j,
        json!({"ys": {"y": [7, 8]}, "grads": {"x": 6, "z": null}})
    );
}

#[test]
fn non_finite_values_are_strings() {
    // log(0) = -inf, log(-1) = nan, 1/0 = inf, 1/-0 = -inf
    for dtype in ["f32", "f64"] {
        let j = json(&[
            "eval",
            "--json",
            "--dtype",
            dtype,
            "--feed",
            "x=[0, -1, 1]",
            "log(x)",
        ]);
        assert_eq!(j["outputs"]["y"][0], json!("-inf"), "{j}");
        assert_eq!(j["outputs"]["y"][1], json!("nan"), "{j}");
        assert_eq!(j["outputs"]["y"][2], json!(0), "{j}");
        let j = json(&["eval", "--json", "--dtype", dtype, "1 / 0"]);
        assert_eq!(j, json!({"outputs": {"y": "inf"}}));
        let j = json(&["eval", "--json", "--dtype", dtype, "--", "-1 / 0"]);
        assert_eq!(j, json!({"outputs": {"y": "-inf"}}));
    }
    // in gradients: d sqrt(x)/dx at 0 is inf; where(x > 0, log(x), 0) has
    // gradient nan at 0 (0 * inf), as TensorFlow's
    let j = json(&[
        "grad", "--json", "--wrt", "x", "--feed", "x=[0, 4]", "sqrt(x)",
    ]);
    assert_eq!(
        j,
        json!({"ys": {"y": [0, 2]}, "grads": {"x": ["inf", 0.25]}})
    );
    let j = json(&[
        "grad",
        "--json",
        "--wrt",
        "x",
        "--feed",
        "x=[0, 1]",
        "where(x > 0, log(x), 0)",
    ]);
    assert_eq!(j["grads"]["x"], json!(["nan", 1]));
    // and where(x > 0, sqrt(x), 0) has gradient 0 at 0
    let j = json(&[
        "grad",
        "--json",
        "--wrt",
        "x",
        "--feed",
        "x=[0, 4]",
        "where(x > 0, sqrt(x), 0)",
    ]);
    assert_eq!(j["grads"]["x"], json!([0, 0.25]));
}

/// Checks that every number printed for the one output reads back as the
/// expected value of the dtype, with at most `digits` significant digits.
fn check_round_trip(dtype: &str, program: &str, feeds: &[&str], want: &[f64]) {
    let mut args = vec!["eval", "--json", "--dtype", dtype];
    for f in feeds {
        args.extend_from_slice(&["--feed", f]);
    }
    args.extend_from_slice(&["--", program]);
    let out = ok(&args);
    let nums = raw_numbers(&out);
    assert_eq!(nums.len(), want.len(), "numbers of {out}");
    let digits = if dtype == "f32" { 9 } else { 17 };
    for (s, &w) in nums.iter().zip(want) {
        assert!(
            significant_digits(s) <= digits,
            "`{s}` has more than {digits} significant digits"
        );
        if dtype == "f32" {
            let v: f32 = s
                .parse()
                .unwrap_or_else(|_| panic!("`{s}` is not a number"));
            assert_eq!(
                v.to_bits(),
                (w as f32).to_bits(),
                "`{s}` should read back as {}",
                w as f32
            );
        } else {
            let v: f64 = s
                .parse()
                .unwrap_or_else(|_| panic!("`{s}` is not a number"));
            assert_eq!(v.to_bits(), w.to_bits(), "`{s}` should read back as {w}");
        }
    }
}

#[test]
fn f32_numbers_round_trip() {
    // divisions and square roots are correctly rounded, so these are the
    // exact f32 values
    check_round_trip(
        "f32",
        "[1, 2, 10, 7] / [3, 3, 3, 1e7]",
        &[],
        &[
            f64::from(1.0f32 / 3.0),
            f64::from(2.0f32 / 3.0),
            f64::from(10.0f32 / 3.0),
            f64::from(7.0f32 / 1e7),
        ],
    );
    check_round_trip(
        "f32",
        "sqrt(x)",
        &["x=[2, 3, 1e-30]"],
        &[
            f64::from(2.0f32.sqrt()),
            f64::from(3.0f32.sqrt()),
            f64::from(1e-30f32.sqrt()),
        ],
    );
    // 0.1, the largest f32, the smallest subnormal, 2^24 + 1 (rounds to 2^24)
    check_round_trip(
        "f32",
        "x",
        &["x=[0.1, 3.4028234663852886e38, 1.401298464324817e-45, 16777217, -123456.789]"],
        &[
            f64::from(0.1f32),
            f64::from(f32::MAX),
            f64::from(f32::from_bits(1)),
            16777216.0,
            f64::from("-123456.789".parse::<f32>().unwrap()),
        ],
    );
    // values of 9 digits are needed: 0.1 + 0.2 in f32 is not 0.3 in f32
    check_round_trip("f32", "x + 0.2", &["x=0.1"], &[f64::from(0.1f32 + 0.2f32)]);
}

#[test]
fn f64_numbers_round_trip() {
    check_round_trip(
        "f64",
        "[1, 2, 10, 7] / [3, 3, 3, 1e7]",
        &[],
        &[1.0 / 3.0, 2.0 / 3.0, 10.0 / 3.0, 7.0 / 1e7],
    );
    check_round_trip(
        "f64",
        "sqrt(x)",
        &["x=[2, 3, 1e-300]"],
        &[2f64.sqrt(), 3f64.sqrt(), 1e-300f64.sqrt()],
    );
    check_round_trip(
        "f64",
        "x",
        &["x=[0.1, 1.7976931348623157e308, 5e-324, 9007199254740993, -0.30000000000000004]"],
        &[
            0.1,
            f64::MAX,
            5e-324,
            9007199254740992.0,
            -0.30000000000000004,
        ],
    );
    check_round_trip("f64", "x + 0.2", &["x=0.1"], &[0.1 + 0.2]);
    // negative zero stays a number that reads back as zero
    check_round_trip("f64", "x * 0", &["x=-1"], &[0.0f64.copysign(-1.0)]);
}

#[test]
fn gradient_numbers_round_trip() {
    // d(x/3)/dx = 1/3 in each dtype
    for (dtype, want) in [("f32", f64::from(1.0f32 / 3.0)), ("f64", 1.0 / 3.0)] {
        let out = ok(&[
            "grad", "--json", "--dtype", dtype, "--wrt", "x", "--feed", "x=1", "x / 3",
        ]);
        let nums = raw_numbers(&out);
        // ys then grads
        let g = nums.last().expect("a number");
        if dtype == "f32" {
            assert_eq!(g.parse::<f32>().unwrap(), want as f32, "{out}");
            assert!(significant_digits(g) <= 9, "{g}");
        } else {
            assert_eq!(g.parse::<f64>().unwrap(), want, "{out}");
            assert!(significant_digits(g) <= 17, "{g}");
        }
    }
}

#[test]
fn seed_example_x_squared_plus_three_x() {
    // y = x*x + 3x at 2: y = 10, dy/dx = 2x + 3 = 7
    for e in ENGINES {
        for dtype in ["f32", "f64"] {
            let j = json(&[
                "grad",
                "--json",
                "--engine",
                e,
                "--dtype",
                dtype,
                "--wrt",
                "x",
                "--feed",
                "x=2",
                "y = x*x + 3*x",
            ]);
            assert_eq!(
                j,
                json!({"ys": {"y": 10}, "grads": {"x": 7}}),
                "{e} {dtype}"
            );
        }
    }
}

#[test]
fn seed_example_two_inputs() {
    // z = x*y + y*y at (2, 3): z = 6 + 9 = 15, dz/dx = y = 3, dz/dy = x + 2y = 8
    for e in ENGINES {
        let j = json(&[
            "grad",
            "--json",
            "--engine",
            e,
            "--wrt",
            "x,y",
            "--feed",
            "x=2",
            "--feed",
            "y=3",
            "z = x*y + y*y",
        ]);
        assert_eq!(
            j,
            json!({"ys": {"z": 15}, "grads": {"x": 3, "y": 8}}),
            "{e}"
        );
    }
}
