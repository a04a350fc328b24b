//! The lexer: program text to tokens with their positions.
//!
//! Newlines end statements, except inside `(...)` or `[...]`, where the lexer
//! drops them so the parser never sees them. `#` comments run to the end of
//! the line. Columns count characters (not bytes), from 1.

use std::fmt;

use super::error::{ParseError, ParseErrorKind};

/// A token of the expression language.
#[derive(Clone, Debug, PartialEq)]
pub enum Token {
    /// A name: letters, digits and `_`, not starting with a digit.
    Ident(String),
    /// A number literal, as written (`3`, `3.`, `.5`, `1e-3`).
    Number(String),
    /// `+`
    Plus,
    /// `-`
    Minus,
    /// `*`
    Star,
    /// `**`
    StarStar,
    /// `/`
    Slash,
    /// `@`
    At,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    EqEq,
    /// `!=`
    NotEq,
    /// `=`
    Assign,
    /// `:=`: a binding that is a node of its own
    BindAssign,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `[`
    LBracket,
    /// `]`
    RBracket,
    /// `,`
    Comma,
    /// `:` (in a slice)
    Colon,
    /// `...` (in a slice)
    Ellipsis,
    /// A string literal in double quotes (`"SAME"`), without the quotes.
    Str(String),
    /// `;`
    Semicolon,
    /// A line break outside brackets.
    Newline,
    /// The end of the program text.
    Eof,
}

impl Token {
    /// The operator or punctuation as written, for the tokens that have one.
    pub fn symbol(&self) -> Option<&'static str> {
        Some(match self {
            Token::Plus => "+",
            Token::Minus => "-",
            Token::Star => "*",
            Token::StarStar => "**",
            Token::Slash => "/",
            Token::At => "@",
            Token::Lt => "<",
            Token::Le => "<=",
            Token::Gt => ">",
            Token::Ge => ">=",
            Token::EqEq => "==",
            Token::NotEq => "!=",
            Token::Assign => "=",
            Token::BindAssign => ":=",
            Token::LParen => "(",
            Token::RParen => ")",
            Token::LBracket => "[",
            Token::RBracket => "]",
            Token::Comma => ",",
            Token::Colon => ":",
            Token::Ellipsis => "...",
            Token::Semicolon => ";",
            Token::Ident(_) | Token::Number(_) | Token::Str(_) | Token::Newline | Token::Eof => {
                return None
            }
        })
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Ident(name) => write!(f, "name `{name}`"),
            Token::Number(text) => write!(f, "number `{text}`"),
            Token::Str(text) => write!(f, "string \"{text}\""),
            Token::Newline => f.write_str("end of line"),
            Token::Eof => f.write_str("end of input"),
            other => write!(f, "`{}`", other.symbol().unwrap_or("?")),
        }
    }
}

/// A token and where it is: line and column from 1, and its byte range.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Spanned {
    pub tok: Token,
    pub line: u32,
    pub column: u32,
    pub start: usize,
    pub end: usize,
}

/// Splits `src` into tokens, ending with [`Token::Eof`].
pub(crate) fn lex(src: &str) -> Result<Vec<Spanned>, ParseError> {
    let mut lx = Lexer {
        src,
        chars: src.char_indices().peekable(),
        line: 1,
        column: 1,
        depth: 0,
        out: Vec::new(),
    };
    lx.run()?;
    Ok(lx.out)
}

struct Lexer<'a> {
    src: &'a str,
    chars: std::iter::Peekable<std::str::CharIndices<'a>>,
    line: u32,
    column: u32,
    /// How many `(` and `[` are open: newlines inside them are dropped.
    depth: usize,
    out: Vec<Spanned>,
}

impl Lexer<'_> {
    fn peek(&mut self) -> Option<char> {
        self.chars.peek().map(|&(_, c)| c)
    }

    /// The byte offset of the next character (the end of the text at the end).
    fn offset(&mut self) -> usize {
        self.chars.peek().map_or(self.src.len(), |&(i, _)| i)
    }

    fn bump(&mut self) -> Option<char> {
        let (_, c) = self.chars.next()?;
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    /// Consumes the next character if it is `c`.
    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn run(&mut self) -> Result<(), ParseError> {
        loop {
            let (line, column, start) = (self.line, self.column, self.offset());
            let Some(c) = self.bump() else {
                self.push(Token::Eof, line, column, start);
                return Ok(());
            };
            let tok = match c {
                ' ' | '\t' | '\r' => continue,
                '#' => {
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.bump();
                    }
                    continue;
                }
                '\n' if self.depth > 0 => continue,
                '\n' => Token::Newline,
                '+' => Token::Plus,
                '-' => Token::Minus,
                '*' if self.eat('*') => Token::StarStar,
                '*' => Token::Star,
                '/' => Token::Slash,
                '@' => Token::At,
                '<' if self.eat('=') => Token::Le,
                '<' => Token::Lt,
                '>' if self.eat('=') => Token::Ge,
                '>' => Token::Gt,
                '=' if self.eat('=') => Token::EqEq,
                '=' => Token::Assign,
                ':' if self.eat('=') => Token::BindAssign,
                ':' => Token::Colon,
                '.' if self.peek() == Some('.') => {
                    self.bump();
                    if !self.eat('.') {
                        return Err(ParseError::new(
                            line,
                            column,
                            ParseErrorKind::UnexpectedChar('.'),
                        ));
                    }
                    Token::Ellipsis
                }
                '!' if self.eat('=') => Token::NotEq,
                '(' | '[' => {
                    self.depth += 1;
                    if c == '(' {
                        Token::LParen
                    } else {
                        Token::LBracket
                    }
                }
                ')' | ']' => {
                    // an unbalanced closer is the parser's to report
                    self.depth = self.depth.saturating_sub(1);
                    if c == ')' {
                        Token::RParen
                    } else {
                        Token::RBracket
                    }
                }
                ',' => Token::Comma,
                '"' => {
                    while self.peek().is_some_and(|c| c != '"' && c != '\n') {
                        self.bump();
                    }
                    if !self.eat('"') {
                        return Err(ParseError::new(
                            line,
                            column,
                            ParseErrorKind::UnterminatedString,
                        ));
                    }
                    let end = self.offset();
                    Token::Str(self.src[start + 1..end - 1].to_string())
                }
                ';' => Token::Semicolon,
                c if c.is_ascii_digit()
                    || (c == '.' && self.peek().is_some_and(|d| d.is_ascii_digit())) =>
                {
                    self.number(start, line, column)?
                }
                c if c.is_alphabetic() || c == '_' => {
                    while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
                        self.bump();
                    }
                    let end = self.offset();
                    Token::Ident(self.src[start..end].to_string())
                }
                other => {
                    return Err(ParseError::new(
                        line,
                        column,
                        ParseErrorKind::UnexpectedChar(other),
                    ))
                }
            };
            self.push(tok, line, column, start);
        }
    }

    fn push(&mut self, tok: Token, line: u32, column: u32, start: usize) {
        let end = self.offset();
        self.out.push(Spanned {
            tok,
            line,
            column,
            start,
            end,
        });
    }

    /// A number literal whose first character has been consumed:
    /// `digits [. digits] [e [+-] digits]`, with digits on at least one side of the point.
    fn number(&mut self, start: usize, line: u32, column: u32) -> Result<Token, ParseError> {
        let digits = |lx: &mut Self| {
            let mut n = 0;
            while lx.peek().is_some_and(|c| c.is_ascii_digit()) {
                lx.bump();
                n += 1;
            }
            n
        };
        // the integer part (or, after a leading `.`, the fraction)
        digits(self);
        if !self.src[start..].starts_with('.') && self.eat('.') {
            digits(self);
        }
        let mut ok = true;
        if self.peek().is_some_and(|c| c == 'e' || c == 'E') {
            self.bump();
            if !self.eat('+') {
                self.eat('-');
            }
            ok = digits(self) > 0;
        }
        // letters glued to a number (`1e3x`, `2.5f`) make it malformed
        while self
            .peek()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
        {
            self.bump();
            ok = false;
        }
        let text = &self.src[start..self.offset()];
        if ok && text.parse::<f64>().is_ok() {
            Ok(Token::Number(text.to_string()))
        } else {
            Err(ParseError::new(
                line,
                column,
                ParseErrorKind::MalformedNumber(text.to_string()),
            ))
        }
    }
}
