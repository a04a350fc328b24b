//! The printer: a graph printed back as a program of the language.
//!
//! Only the nodes the outputs need are printed, in id (topological) order.
//! A node used more than once, or nested too deeply to inline, is bound to a
//! temporary name (`t1`, `t2`, ...); the rest are inlined with the fewest
//! parentheses the precedence table allows. Constants print with the
//! shortest digits that parse back to the same value in their dtype.

use std::collections::HashSet;
use std::fmt::Write;

use crate::graph::{DType, Graph, Literal, Node, NodeId, Op, UnaryOp};

use super::calls::FILL_LIMIT;
use super::syntax::{infix, Level, ALL_AXES, FILL};

/// Nesting beyond which a subexpression is bound to a name (well inside
/// [`super::MAX_DEPTH`], which also counts parentheses and calls).
const MAX_INLINE_DEPTH: usize = 16;

/// Uniform constants with more elements than this print as `fill(v, [dims])`.
const FILL_ABOVE: usize = 4;

/// Prints the nodes `outputs` need as a program, ending with one statement
/// `name = ...` per output, in order.
///
/// Parsing the result into the same graph gives back exactly the same node
/// for each output name (see the [module documentation](super) for the
/// exceptions: NaN constants, input names that are not identifiers).
///
/// Output names should be identifiers, distinct from the names of the
/// inputs the outputs need (`y = x*y` would read as a use of `y` before its
/// binding). Temporaries are named `t1`, `t2`, ..., skipping the names of
/// inputs and outputs.
///
/// # Panics
/// If an output is not a node of `graph`.
pub fn print_program(graph: &Graph, outputs: &[(&str, NodeId)]) -> String {
    let nodes = graph.nodes();
    for (name, id) in outputs {
        assert!(
            id.index() < nodes.len(),
            "output `{name}` ({id}) is not a node of this graph"
        );
    }
    let p = Printer::new(&nodes, outputs);
    let mut out = String::new();
    for (i, temp) in p.temps.iter().enumerate() {
        if let Some(temp) = temp {
            out.push_str(temp);
            out.push_str(if matches!(p.nodes[i].op, Op::Bind { .. }) {
                " := "
            } else {
                " = "
            });
            p.definition(i, &mut out);
            out.push('\n');
        }
    }
    for (name, id) in outputs {
        out.push_str(name);
        out.push_str(" = ");
        p.reference(id.index(), Level::Top, &mut out);
        out.push('\n');
    }
    out
}

struct Printer<'a> {
    nodes: &'a [Node],
    /// The temporary name of each bound node.
    temps: Vec<Option<String>>,
}

impl<'a> Printer<'a> {
    /// Decides which nodes are bound to temporaries.
    fn new(nodes: &'a [Node], outputs: &[(&str, NodeId)]) -> Self {
        let n = nodes.len();
        let mut needed = vec![false; n];
        let mut uses = vec![0usize; n];
        for (_, id) in outputs {
            needed[id.index()] = true;
            uses[id.index()] += 1;
        }
        for i in (0..n).rev() {
            if needed[i] {
                for inp in &nodes[i].inputs {
                    needed[inp.index()] = true;
                    uses[inp.index()] += 1;
                }
            }
        }
        let mut reserved: HashSet<&str> = outputs.iter().map(|(name, _)| *name).collect();
        for (i, node) in nodes.iter().enumerate() {
            if let (true, Op::Placeholder { name }) = (needed[i], &node.op) {
                reserved.insert(name);
            }
        }
        let mut temps: Vec<Option<String>> = vec![None; n];
        // how deeply each inlined node's text nests
        let mut depth = vec![0usize; n];
        let mut counter = 0;
        for i in (0..n).filter(|&i| needed[i]) {
            let bind = match &nodes[i].op {
                Op::Placeholder { .. } => false,
                Op::Bind { .. } => true,
                Op::Constant(lit) => uses[i] > 1 && lit.values().len() > 1,
                _ => {
                    depth[i] = 1 + nodes[i]
                        .inputs
                        .iter()
                        .map(|c| depth[c.index()])
                        .max()
                        .unwrap_or(0);
                    uses[i] > 1 || depth[i] > MAX_INLINE_DEPTH
                }
            };
            if bind {
                depth[i] = 0;
                // a binding keeps its own name where it is free
                if let Op::Bind { name } = &nodes[i].op {
                    if !reserved.contains(name.as_str()) {
                        reserved.insert(name);
                        temps[i] = Some(name.clone());
                        continue;
                    }
                }
                let name = loop {
                    counter += 1;
                    let name = format!("t{counter}");
                    if !reserved.contains(name.as_str()) {
                        break name;
                    }
                };
                temps[i] = Some(name);
            }
        }
        Printer { nodes, temps }
    }

    /// How tightly node `i`'s definition binds when inlined.
    fn level(&self, i: usize) -> Level {
        let node = &self.nodes[i];
        if let Some((level, _)) = infix(&node.op) {
            return level;
        }
        match &node.op {
            Op::Unary(UnaryOp::Neg) => Level::Unary,
            Op::Constant(lit) if lit.shape().is_empty() => match lit.values().first() {
                Some(v) if v.is_sign_negative() && !v.is_nan() => Level::Unary,
                _ => Level::Atom,
            },
            _ => Level::Atom,
        }
    }

    /// Writes node `i` where an expression of at least `need` is required:
    /// its temporary's name, or its definition (parenthesized if it binds
    /// too loosely).
    fn reference(&self, i: usize, need: Level, out: &mut String) {
        if let Some(name) = &self.temps[i] {
            out.push_str(name);
        } else if self.level(i) < need {
            out.push('(');
            self.definition(i, out);
            out.push(')');
        } else {
            self.definition(i, out);
        }
    }

    /// True when node `i` inlines as a bare non-negative number literal,
    /// which a unary minus in front of would turn into a negative constant.
    fn is_bare_number(&self, i: usize) -> bool {
        if self.temps[i].is_some() {
            return false;
        }
        match &self.nodes[i].op {
            Op::Constant(lit) if lit.shape().is_empty() => lit
                .values()
                .first()
                .is_some_and(|v| !v.is_sign_negative() && !v.is_nan()),
            _ => false,
        }
    }

    /// Writes the expression that computes node `i`.
    fn definition(&self, i: usize, out: &mut String) {
        let node = &self.nodes[i];
        let args = &node.inputs;
        if let (Some((level, sym)), [a, b]) = (infix(&node.op), args.as_slice()) {
            let (left, right) = match level {
                Level::Power => (Level::Atom, Level::Unary),
                Level::Compare => (Level::Compare, Level::Sum),
                Level::Sum => (Level::Sum, Level::Product),
                _ => (Level::Product, Level::Unary),
            };
            self.reference(a.index(), left, out);
            match level {
                Level::Product | Level::Power if sym != "@" => out.push_str(sym),
                _ => {
                    out.push(' ');
                    out.push_str(sym);
                    out.push(' ');
                }
            }
            self.reference(b.index(), right, out);
            return;
        }
        // parameters written after the tensor arguments of a call
        let list_usize = |v: &[usize]| list(v.iter());
        let params: Vec<String> = match &node.op {
            Op::Placeholder { name } => {
                out.push_str(name);
                return;
            }
            Op::Constant(lit) => {
                constant(lit, node.dtype, out);
                return;
            }
            // printed as `name := expr`; its definition is the expression
            Op::Bind { .. } => {
                if let Some(x) = args.first() {
                    self.reference(x.index(), Level::Top, out);
                }
                return;
            }
            Op::Unary(UnaryOp::Neg) => {
                out.push('-');
                match args.first() {
                    // `-(3)`: `-3` would be a negative constant
                    Some(x) if self.is_bare_number(x.index()) => {
                        out.push('(');
                        self.definition(x.index(), out);
                        out.push(')');
                    }
                    Some(x) => self.reference(x.index(), Level::Unary, out),
                    None => {}
                }
                return;
            }
            // `x[items]`, binding tighter than any operator
            Op::Slice { items } => {
                if let Some(x) = args.first() {
                    self.reference(x.index(), Level::Atom, out);
                }
                out.push_str(&slice_items(items));
                return;
            }
            // `concat([a, b], axis)`
            Op::Concat { axis } => {
                out.push_str("concat([");
                for (k, a) in args.iter().enumerate() {
                    if k > 0 {
                        out.push_str(", ");
                    }
                    self.reference(a.index(), Level::Top, out);
                }
                out.push_str(&format!("], {axis})"));
                return;
            }
            Op::SliceGrad { items } => vec![slice_items(items)],
            Op::Pad { widths } => vec![list(widths.iter().map(|(b, a)| format!("[{b}, {a}]")))],
            Op::Gather { axis } | Op::GatherGrad { axis } => vec![axis.to_string()],
            Op::Conv2d { strides, padding }
            | Op::Conv2dBackpropInput { strides, padding }
            | Op::Conv2dBackpropFilter { strides, padding } => {
                vec![list_usize(strides), padding.to_string()]
            }
            Op::MaxPool2d { window }
            | Op::MaxPoolGrad { window }
            | Op::MaxPoolGradGrad { window }
            | Op::AvgPool2d { window }
            | Op::AvgPoolGrad { window } => vec![
                list_usize(&window.ksize),
                list_usize(&window.strides),
                window.padding.to_string(),
            ],
            Op::OneHot { depth } | Op::LabelOneHot { depth } => vec![depth.to_string()],
            Op::Reduce { axes, keepdims, .. } => match (axes, keepdims) {
                (None, false) => vec![],
                (None, true) => vec![ALL_AXES.to_string(), "1".to_string()],
                (Some(a), false) => vec![list_usize(a)],
                (Some(a), true) => vec![list_usize(a), "1".to_string()],
            },
            Op::Count { axes } | Op::Transpose { perm: axes } => {
                axes.iter().map(|a| list_usize(a)).collect()
            }
            Op::Reshape { dims } => vec![list(dims.iter())],
            Op::Softmax { axis } | Op::LogSoftmax { axis } => vec![axis.to_string()],
            Op::Cumsum {
                axis,
                exclusive,
                reverse,
            }
            | Op::Cumprod {
                axis,
                exclusive,
                reverse,
            } => vec![
                axis.to_string(),
                u8::from(*exclusive).to_string(),
                u8::from(*reverse).to_string(),
            ],
            Op::ArgExtreme { axis, .. } => vec![axis.to_string()],
            Op::BroadcastTo { dims }
            | Op::ExpandDims { axes: dims }
            | Op::Reverse { axes: dims }
            | Op::Tile { multiples: dims } => vec![list_usize(dims)],
            Op::Unary(_)
            | Op::Binary(_)
            | Op::Where
            | Op::MatMul
            | Op::StopGradient
            | Op::Identity
            | Op::SumTo
            | Op::BroadcastLike
            | Op::ReshapeLike
            | Op::OnesLike
            | Op::ZerosLike
            | Op::SoftmaxCrossEntropy
            | Op::SparseSoftmaxCrossEntropy => vec![],
        };
        out.push_str(node.op.name());
        out.push('(');
        for (k, a) in args.iter().enumerate() {
            if k > 0 {
                out.push_str(", ");
            }
            self.reference(a.index(), Level::Top, out);
        }
        for p in params {
            out.push_str(", ");
            out.push_str(&p);
        }
        out.push(')');
    }
}

/// `[0, 1:3, ::-1]`; no items (a scalar's whole, or any tensor's) is `[...]`.
fn slice_items(items: &[crate::graph::SliceItem]) -> String {
    if items.is_empty() {
        return "[...]".to_string();
    }
    list(items.iter())
}

/// `[a, b, c]`
fn list<T: std::fmt::Display>(items: impl Iterator<Item = T>) -> String {
    let items: Vec<String> = items.map(|v| v.to_string()).collect();
    format!("[{}]", items.join(", "))
}

/// Writes a constant: a number, a list literal, `fill(v, [dims])`, or for
/// NaN, which has no literal, `(0/0)` (inside tensors through `where`).
fn constant(lit: &Literal, dtype: DType, out: &mut String) {
    let values = lit.values();
    if lit.shape().is_empty() {
        match values.first() {
            Some(v) if v.is_nan() => out.push_str("(0/0)"),
            Some(&v) => out.push_str(&number(v, dtype)),
            None => out.push_str("[]"),
        }
        return;
    }
    if values.iter().any(|v| v.is_nan()) {
        let mask: Vec<f64> = values
            .iter()
            .map(|v| f64::from(u8::from(v.is_nan())))
            .collect();
        let base: Vec<f64> = values
            .iter()
            .map(|&v| if v.is_nan() { 0.0 } else { v })
            .collect();
        out.push_str("where(");
        tensor(lit.shape(), &mask, dtype, out);
        out.push_str(", 0/0, ");
        tensor(lit.shape(), &base, dtype, out);
        out.push(')');
        return;
    }
    tensor(lit.shape(), values, dtype, out);
}

/// Writes a tensor constant without NaNs.
fn tensor(shape: &[usize], values: &[f64], dtype: DType, out: &mut String) {
    let first = values.first().copied();
    let splat = first.is_some_and(|f| values.iter().all(|v| v.to_bits() == f.to_bits()));
    let empty_high_rank = values.is_empty() && shape.len() != 1;
    if (splat && values.len() > FILL_ABOVE && values.len() <= FILL_LIMIT) || empty_high_rank {
        let _ = write!(
            out,
            "{FILL}({}, {})",
            number(first.unwrap_or(0.0), dtype),
            list(shape.iter())
        );
        return;
    }
    nested(shape, values, dtype, out);
}

/// Writes `values` as nested lists of `shape` (not empty).
fn nested(shape: &[usize], values: &[f64], dtype: DType, out: &mut String) {
    out.push('[');
    match shape {
        [] => {}
        [_] => {
            for (k, &v) in values.iter().enumerate() {
                if k > 0 {
                    out.push_str(", ");
                }
                out.push_str(&number(v, dtype));
            }
        }
        [n, rest @ ..] => {
            let step = values.len() / (*n).max(1);
            for k in 0..*n {
                if k > 0 {
                    out.push_str(", ");
                }
                let chunk = values.get(k * step..(k + 1) * step).unwrap_or(&[]);
                nested(rest, chunk, dtype, out);
            }
        }
    }
    out.push(']');
}

/// The shortest decimal text that parses back (as `f64`, then rounded to
/// `dtype`) to exactly `v`; `-` in front of negative values (and -0),
/// `1e999` for infinity. Not for NaN.
fn number(v: f64, dtype: DType) -> String {
    let sign = if v.is_sign_negative() { "-" } else { "" };
    let a = v.abs();
    if a.is_infinite() {
        return format!("{sign}1e999");
    }
    let plain = a == 0.0 || (1e-4..1e16).contains(&a);
    let short = match (dtype, plain) {
        (DType::F32, true) => format!("{}", a as f32),
        (DType::F32, false) => format!("{:e}", a as f32),
        (DType::F64, true) => format!("{a}"),
        (DType::F64, false) => format!("{a:e}"),
    };
    let exact = short
        .parse::<f64>()
        .is_ok_and(|p| dtype.round(p).to_bits() == a.to_bits());
    if exact {
        format!("{sign}{short}")
    } else {
        // 17 significant digits name every f64 (and so every f32) exactly
        format!("{sign}{a:.16e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short_and_exact() {
        assert_eq!(number(3.0, DType::F32), "3");
        assert_eq!(number(-0.5, DType::F64), "-0.5");
        assert_eq!(number(-0.0, DType::F32), "-0");
        assert_eq!(number(f64::INFINITY, DType::F32), "1e999");
        assert_eq!(number(f64::NEG_INFINITY, DType::F64), "-1e999");
        assert_eq!(number(DType::F32.round(0.1), DType::F32), "0.1");
        assert_eq!(number(0.1, DType::F64), "0.1");
        assert_eq!(number(1e-7, DType::F64), "1e-7");
        assert_eq!(number(1e300, DType::F64), "1e300");
        assert_eq!(
            number(f64::MIN_POSITIVE, DType::F64),
            "2.2250738585072014e-308"
        );
    }
}
