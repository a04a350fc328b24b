//! The expression language through `gradjit eval`: every row of the
//! operator table (precedence and associativity), number and list literals,
//! statements, comments, bindings and NumPy broadcasting. Expected values are
//! worked out by hand in the comments.

mod cli_support;

use cli_support::*;

/// A constant program's scalar value, in f64 so that the arithmetic is exact.
fn value(program: &str) -> f64 {
    let t = eval1(&["--dtype", "f64", "--", program]);
    assert!(t.shape.is_empty(), "`{program}` should be a scalar: {t:?}");
    t.data[0]
}

fn check(program: &str, want: f64) {
    let got = value(program);
    assert_eq!(got, want, "`{program}`");
}

#[test]
fn level1_comparisons_give_one_or_zero() {
    // x = [1, 2, 3] against 2
    let x = "x=[1, 2, 3]";
    for (op, want) in [
        ("<", [1.0, 0.0, 0.0]),
        ("<=", [1.0, 1.0, 0.0]),
        (">", [0.0, 0.0, 1.0]),
        (">=", [0.0, 1.0, 1.0]),
        ("==", [0.0, 1.0, 0.0]),
        ("!=", [1.0, 0.0, 1.0]),
    ] {
        let program = format!("x {op} 2");
        eval_all_engines(&["--feed", x, &program], &[3], &want, 0.0, 0.0);
    }
}

#[test]
fn comparisons_chain_left_to_right_not_as_in_python() {
    // (3 > 2) > 1 = 1 > 1 = 0; Python's chaining would give 1
    check("3 > 2 > 1", 0.0);
    // (1 < 2) < 3 = 1 < 3 = 1
    check("1 < 2 < 3", 1.0);
    // (3 > 2) == 1 = 1
    check("3 > 2 == 1", 1.0);
    // (2 == 2) != 0 = 1
    check("2 == 2 != 0", 1.0);
}

#[test]
fn comparisons_are_looser_than_addition() {
    // 2 < (1 + 2) = 1; (2 < 1) + 2 would be 2
    check("2 < 1 + 2", 1.0);
    // (1 + 1) == 2 = 1
    check("1 + 1 == 2", 1.0);
    // (2 * 3) >= 6 = 1
    check("2 * 3 >= 6", 1.0);
}

#[test]
fn level2_addition_and_subtraction_are_left_associative() {
    check("1 + 2", 3.0);
    check("1 - 2", -1.0);
    // (10 - 4) - 3 = 3, not 10 - (4 - 3) = 9
    check("10 - 4 - 3", 3.0);
    // (10 - 4) + 3 = 9, not 10 - 7 = 3
    check("10 - 4 + 3", 9.0);
    // binary minus followed by a unary minus
    check("3 - -1", 4.0);
}

#[test]
fn level3_multiplication_division_and_matmul() {
    check("2 * 3", 6.0);
    check("3 / 4", 0.75);
    // (24 / 4) / 2 = 3, not 24 / 2 = 12
    check("24 / 4 / 2", 3.0);
    // (8 / 2) * 4 = 16, not 8 / 8 = 1
    check("8 / 2 * 4", 16.0);
    // tighter than + and -
    check("2 + 3 * 4", 14.0);
    check("20 - 6 / 2", 17.0);
    // @ is at the level of *, left-associative; with a = [[1, 2]],
    // b = [[3], [4]], c = [[10], [100]]:
    // (a @ b) * c = [[11]] * [[10], [100]] = [[110], [1100]] (2x1), while
    // a @ (b * c) = [[1, 2]] @ [[30], [400]] = [[830]] (1x1)
    let args = [
        "--feed",
        "a=[[1, 2]]",
        "--feed",
        "b=[[3], [4]]",
        "--feed",
        "c=[[10], [100]]",
        "a @ b * c",
    ];
    eval_all_engines(&args, &[2, 1], &[110.0, 1100.0], 0.0, 0.0);
    // c * a @ b = (c * a) @ b; with c = [[1, 2]], a = [[1, 2], [3, 4]],
    // b = [[1], [1]]: c * a = [[1, 4], [3, 8]], @ b = [[5], [11]] (2x1), while
    // c * (a @ b) = [[1, 2]] * [[3], [7]] = [[3, 6], [7, 14]] (2x2)
    let args = [
        "--feed",
        "c=[[1, 2]]",
        "--feed",
        "a=[[1, 2], [3, 4]]",
        "--feed",
        "b=[[1], [1]]",
        "c * a @ b",
    ];
    eval_all_engines(&args, &[2, 1], &[5.0, 11.0], 0.0, 0.0);
    // @ is tighter than +: a @ b + 1 = [[12]]
    let args = [
        "--feed",
        "a=[[1, 2]]",
        "--feed",
        "b=[[3], [4]]",
        "a @ b + 1",
    ];
    eval_all_engines(&args, &[1, 1], &[12.0], 0.0, 0.0);
}

#[test]
fn level4_unary_minus() {
    check("-3", -3.0);
    // tighter than *: (-2) * 3, and binary minus after it
    check("-2 * 3", -6.0);
    check("-2 - 3", -5.0);
    // the operand of unary minus may itself start with a minus
    eval_all_engines(&["--feed", "x=3", "--", "--x"], &[], &[3.0], 0.0, 0.0);
    eval_all_engines(&["--feed", "x=3", "--", "---x"], &[], &[-3.0], 0.0, 0.0);
    eval_all_engines(&["--feed", "x=3", "--", "-x"], &[], &[-3.0], 0.0, 0.0);
    check("2 * -3", -6.0);
}

#[test]
fn level5_power_is_right_associative_and_tighter_than_unary_minus() {
    check("2 ** 3", 8.0);
    // 2 ** (3 ** 2) = 2 ** 9 = 512, not (2 ** 3) ** 2 = 64
    check("2**3**2", 512.0);
    // -(x**2): -9 at x = 3, not (-3)**2 = 9
    eval_all_engines(&["--feed", "x=3", "--", "-x**2"], &[], &[-9.0], 0.0, 0.0);
    check("-2 ** 2", -4.0);
    check("(-2) ** 2", 4.0);
    // the right side of ** may start with a minus
    check("2 ** -1", 0.5);
    // 2 ** -(1 ** 2) = 0.5
    check("2 ** -1 ** 2", 0.5);
    // 2 ** --2 = 4
    check("2 ** --2", 4.0);
    // tighter than * and /: 2 * (3 ** 2) = 18; 36 / (2 ** 2) = 9
    check("2 * 3 ** 2", 18.0);
    check("36 / 2 ** 2", 9.0);
}

#[test]
fn parentheses_override_precedence() {
    check("(1 + 2) * 3", 9.0);
    check("10 - (4 - 3)", 9.0);
    check("(2 ** 3) ** 2", 64.0);
    check("2 < (1 > 0)", 0.0);
}

#[test]
fn number_literal_forms() {
    check("3", 3.0);
    check("3.", 3.0);
    check(".5", 0.5);
    check("1e3", 1000.0);
    check("1E-3", 0.001);
    check("2.5e+2", 250.0);
    // in an f32 program a literal is rounded to f32
    // (the printed number reads back as that f32, not as the f64 0.1)
    let t = eval1(&["0.1"]);
    assert_eq!(t.data[0] as f32, 0.1f32);
    assert_ne!(t.data[0], 0.1f64);
}

#[test]
fn list_literals_are_constant_tensors() {
    let t = eval1(&["--dtype", "f64", "[1, 2, 3]"]);
    assert_tensor(&t, &[3], &[1.0, 2.0, 3.0], 0.0, 0.0, "[1, 2, 3]");
    // numbers may carry a leading minus; nested lists of equal lengths
    let t = eval1(&["--dtype", "f64", "[[1, -2], [-.5, 4e0]]"]);
    assert_tensor(
        &t,
        &[2, 2],
        &[1.0, -2.0, -0.5, 4.0],
        0.0,
        0.0,
        "nested list",
    );
    let t = eval1(&["--dtype", "f64", "[[[1], [2]], [[3], [4]]]"]);
    assert_tensor(&t, &[2, 2, 1], &[1.0, 2.0, 3.0, 4.0], 0.0, 0.0, "3-D list");
    // a list literal in arithmetic
    let t = eval1(&["--dtype", "f64", "--feed", "x=2", "x * [1, 2] + 1"]);
    assert_tensor(&t, &[2], &[3.0, 5.0], 0.0, 0.0, "x * [1, 2] + 1");
}

#[test]
fn binary_operators_broadcast_like_numpy() {
    // [[1], [2]] (2x1) + [10, 20, 30] (3) -> 2x3
    let args = [
        "--feed",
        "a=[[1], [2]]",
        "--feed",
        "b=[10, 20, 30]",
        "a + b",
    ];
    eval_all_engines(
        &args,
        &[2, 3],
        &[11.0, 21.0, 31.0, 12.0, 22.0, 32.0],
        0.0,
        0.0,
    );
    // a scalar against a 2x2, and a 1x3 against a 2x1 under comparison
    let args = ["--feed", "m=[[1, 2], [3, 4]]", "10 / m * 2"];
    eval_all_engines(&args, &[2, 2], &[20.0, 10.0, 20.0 / 3.0, 5.0], 1e-6, 0.0);
    let args = [
        "--feed",
        "r=[[1, 2, 3]]",
        "--feed",
        "c=[[2], [3]]",
        "r >= c",
    ];
    eval_all_engines(&args, &[2, 3], &[0.0, 1.0, 1.0, 0.0, 0.0, 1.0], 0.0, 0.0);
}

#[test]
fn statements_comments_and_newlines() {
    // `;` and newlines separate statements, `#` comments run to the end of
    // the line, newlines inside parentheses and brackets do not end a
    // statement, blank lines and empty statements are allowed
    let program = "# a comment line\n\
                   a = 1 # a comment after a statement\n\
                   \n\
                   ;; b = (a +\n\
                   \x20   2) ; c = [1,\n\
                   \x20   2]\n\
                   \n\
                   b * c  # the last statement is the output\n";
    let t = eval1(&["--dtype", "f64", program]);
    assert_tensor(&t, &[2], &[3.0, 6.0], 0.0, 0.0, "program with comments");
}

#[test]
fn later_statements_see_the_latest_binding() {
    // a = 1; a = a + 1 (= 2); b = a * 3 (= 6); a = 10; output b + a = 16
    check("a = 1; a = a + 1; b = a * 3; a = 10; b + a", 16.0);
}

#[test]
fn the_output_is_the_last_statement_named_after_it() {
    let j = json(&["eval", "--json", "a = 2; b = a * 5"]);
    assert_eq!(j, serde_json::json!({"outputs": {"b": 10}}));
    // an unnamed last statement is called `y`
    let j = json(&["eval", "--json", "a = 2; a * 5"]);
    assert_eq!(j, serde_json::json!({"outputs": {"y": 10}}));
}

#[test]
fn identifiers_use_letters_digits_and_underscores() {
    let t = eval1(&[
        "--dtype",
        "f64",
        "--feed",
        "_in_1=4",
        "--feed",
        "X2=3",
        "out_2 = _in_1 - X2",
    ]);
    assert_eq!(t.data, vec![1.0]);
}

#[test]
fn inputs_take_the_dtype_of_the_program() {
    // 1/3 fed as f64 JSON: rounded to f32 in an f32 program
    let t = eval1(&["--feed", "x=0.3333333333333333", "x"]);
    assert_eq!(t.data[0] as f32, 1.0f32 / 3.0);
    assert_ne!(t.data[0], 1.0f64 / 3.0);
    let t = eval1(&["--dtype", "f64", "--feed", "x=0.3333333333333333", "x"]);
    assert_eq!(t.data, vec![1.0f64 / 3.0]);
}
