//! Names that become C identifiers: the prefix of every symbol and macro,
//! and the fields of the header's structs.

use super::AotError;

/// Keywords of C99, C11, C23 and C++20, and the macros of `<stddef.h>`
/// that the header includes: none may name a field or a prefix.
const RESERVED: &[&str] = &[
    // C99
    "auto",
    "break",
    "case",
    "char",
    "const",
    "continue",
    "default",
    "do",
    "double",
    "else",
    "enum",
    "extern",
    "float",
    "for",
    "goto",
    "if",
    "inline",
    "int",
    "long",
    "register",
    "restrict",
    "return",
    "short",
    "signed",
    "sizeof",
    "static",
    "struct",
    "switch",
    "typedef",
    "union",
    "unsigned",
    "void",
    "volatile",
    "while",
    "_Bool",
    "_Complex",
    "_Imaginary",
    // C11
    "_Alignas",
    "_Alignof",
    "_Atomic",
    "_Generic",
    "_Noreturn",
    "_Static_assert",
    "_Thread_local",
    // C23
    "alignas",
    "alignof",
    "bool",
    "constexpr",
    "false",
    "nullptr",
    "static_assert",
    "thread_local",
    "true",
    "typeof",
    "typeof_unqual",
    "_BitInt",
    "_Decimal128",
    "_Decimal32",
    "_Decimal64",
    // C++20
    "and",
    "and_eq",
    "asm",
    "bitand",
    "bitor",
    "catch",
    "char8_t",
    "char16_t",
    "char32_t",
    "class",
    "compl",
    "concept",
    "consteval",
    "constinit",
    "const_cast",
    "co_await",
    "co_return",
    "co_yield",
    "decltype",
    "delete",
    "dynamic_cast",
    "explicit",
    "export",
    "friend",
    "mutable",
    "namespace",
    "new",
    "noexcept",
    "not",
    "not_eq",
    "operator",
    "or",
    "or_eq",
    "private",
    "protected",
    "public",
    "reinterpret_cast",
    "requires",
    "static_cast",
    "template",
    "this",
    "throw",
    "try",
    "typeid",
    "typename",
    "using",
    "virtual",
    "wchar_t",
    "xor",
    "xor_eq",
    // <stddef.h>
    "NULL",
    "offsetof",
];

/// Checks that `name` (given as `what`) is a C identifier that no C or C++
/// standard reserves.
pub fn check_identifier(what: &str, name: &str) -> Result<(), AotError> {
    let mut chars = name.chars();
    let starts = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !starts || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(AotError::Name(format!(
            "{what} `{name}` is not a C identifier (letters, digits and `_`, not starting with a digit)"
        )));
    }
    if RESERVED.contains(&name) {
        return Err(AotError::Name(format!(
            "{what} `{name}` is a keyword of C or C++ (or a macro of <stddef.h>)"
        )));
    }
    Ok(())
}

/// Checks the header's fields: every input and output name a usable
/// identifier, no two outputs with one name, and no output named like an
/// input of another number of elements (their `PREFIX_NAME_COUNT` macros
/// would disagree).
pub fn check_fields(
    inputs: &[(String, usize)],
    outputs: &[(String, usize)],
) -> Result<(), AotError> {
    for (n, _) in inputs {
        check_identifier("input", n)?;
    }
    for (j, (n, count)) in outputs.iter().enumerate() {
        check_identifier("output", n)?;
        if outputs[..j].iter().any(|(m, _)| m == n) {
            return Err(AotError::Name(format!("two outputs are named `{n}`")));
        }
        if let Some((_, c)) = inputs.iter().find(|(m, c)| m == n && c != count) {
            return Err(AotError::Name(format!(
                "output `{n}` has {count} elements, but the input `{n}` has {c}: their {n}_COUNT macros would differ"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        for ok in ["x", "_x", "W1", "d_W1", "step", "X_2"] {
            assert!(check_identifier("name", ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "1x", "a-b", "é", "int", "class", "NULL", "offsetof", "_Bool", "co_await", "a b",
        ] {
            assert!(check_identifier("name", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn fields() {
        let ins = [("x".to_string(), 4)];
        assert!(check_fields(&ins, &[("x".into(), 4), ("d_x".into(), 4)]).is_ok());
        assert!(check_fields(&ins, &[("x".into(), 1)]).is_err());
        assert!(check_fields(&ins, &[("y".into(), 1), ("y".into(), 1)]).is_err());
    }
}
