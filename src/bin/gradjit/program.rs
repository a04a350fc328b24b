//! From the command line to a graph: the program text, its feeds, and names.

use std::collections::HashMap;

use gradjit::exec::{CompileOptions, Engine};
use gradjit::graph::Shape;
use gradjit::simplify::Pipeline;
use gradjit::text::{self, ParseOptions, Program};
use gradjit::{DType, Graph, NodeId, Value};

use crate::feeds::parse_value;
use crate::{CliError, Common};

/// A parsed program with its fed values.
pub struct Loaded {
    /// The graph the program was parsed into.
    pub graph: Graph,
    /// The parsed program.
    pub program: Program,
    /// The dtype of every tensor.
    pub dtype: DType,
    /// Each input with its value, in the program's order.
    pub feeds: Vec<(NodeId, Value)>,
    /// Whether the stabilizing rewrites are on (`--stabilize`).
    pub stabilize: bool,
}

impl Loaded {
    /// What `engine` compiles this program under: the one place the pass
    /// list of every engine and of `show` comes from.
    pub fn compile_options(&self, engine: Engine, threads: Option<usize>) -> CompileOptions {
        CompileOptions {
            stabilize: self.stabilize,
            ..CompileOptions::for_engine(engine, threads)
        }
    }

    /// The simplification every engine and `show` run on this program.
    pub fn pipeline(&self) -> Pipeline {
        self.compile_options(Engine::Jit, None)
            .pipeline()
            .unwrap_or_default()
    }
}

/// Checks that no name is given twice to `option`: the JSON output is an
/// object keyed by these names, and a y given twice would count twice in the
/// summed gradients.
pub fn distinct(option: &str, names: &[String]) -> Result<(), CliError> {
    for (i, n) in names.iter().enumerate() {
        if names[..i].contains(n) {
            return Err(CliError::new(format!("{option}: `{n}` is given twice")));
        }
    }
    Ok(())
}

/// Reads `EXPR` (or `@path`).
pub fn source(expr: &str) -> Result<String, CliError> {
    match expr.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| CliError::new(format!("cannot read program file `{path}`: {e}"))),
        None => Ok(expr.to_string()),
    }
}

/// Parses the feeds and the program, and checks that every input is fed and
/// every feed is an input.
pub fn load(common: &Common, targets: &[String]) -> Result<Loaded, CliError> {
    load_with(common, false, targets)
}

/// Like [`load`], but inputs may stay unfed (for `show`, which computes nothing).
///
/// `targets` are the names gradients are taken with respect to or stopped
/// at (`--wrt`, `--stop`): a bound one becomes a node of its own (see
/// `ParseOptions::targets`).
pub fn load_with(
    common: &Common,
    allow_unfed: bool,
    targets: &[String],
) -> Result<Loaded, CliError> {
    let values = load_feeds(common)?;
    load_program(common, values, allow_unfed, targets)
}

/// The `--feed` values, by name, in the order given.
pub type Feeds = Vec<(String, Value)>;

/// Parses every `--feed NAME=VALUE`.
pub fn load_feeds(common: &Common) -> Result<Feeds, CliError> {
    let mut values: Feeds = Vec::new();
    for f in &common.feeds {
        let (name, value) = f
            .split_once('=')
            .ok_or_else(|| CliError::new(format!("--feed `{f}` is not NAME=VALUE")))?;
        let name = name.trim();
        if values.iter().any(|(n, _)| n == name) {
            return Err(CliError::new(format!("input `{name}` is fed twice")));
        }
        let array = parse_value(value, name)
            .map_err(|e| CliError::new(format!("--feed {name}: {}", e.0)))?;
        let dtype: DType = common.dtype.into();
        values.push((name.to_string(), Value::from_f64_array(array, dtype)));
    }
    Ok(values)
}

/// Parses the program with the feeds' shapes and checks that every input is
/// fed (unless `allow_unfed`) and every feed is an input.
pub fn load_program(
    common: &Common,
    values: Feeds,
    allow_unfed: bool,
    targets: &[String],
) -> Result<Loaded, CliError> {
    let dtype: DType = common.dtype.into();
    let src = source(&common.expr)?;
    let input_shapes: HashMap<String, Shape> = values
        .iter()
        .map(|(n, a)| (n.clone(), Shape::known(a.shape())))
        .collect();
    let graph = Graph::new();
    let program = text::parse(
        &graph,
        &src,
        &ParseOptions {
            dtype,
            input_shapes,
            targets: targets.iter().cloned().collect(),
        },
    )?;
    for (name, _) in &values {
        if !program.inputs.iter().any(|(n, _)| n == name) {
            return Err(CliError::new(if program.bindings.contains_key(name) {
                format!("`{name}` is bound in the program, so it is not an input and cannot be fed")
            } else {
                format!("`{name}` is not an input of the program")
            }));
        }
    }
    let mut by_name: HashMap<String, Value> = values.into_iter().collect();
    let mut feeds = Vec::new();
    for (name, id) in &program.inputs {
        match by_name.remove(name) {
            Some(v) => feeds.push((*id, v)),
            None if allow_unfed => {}
            None => {
                let at = graph
                    .origin(*id)
                    .map(|o| format!("line {}, column {}: ", o.line, o.column))
                    .unwrap_or_default();
                return Err(CliError::new(format!(
                    "{at}input `{name}` is not fed (give it with --feed {name}=VALUE)"
                )));
            }
        }
    }
    Ok(Loaded {
        graph,
        program,
        dtype,
        feeds,
        stabilize: common.stabilize,
    })
}

impl Loaded {
    /// The node a name given to `option` (`--ys`, `--wrt`, `--stop`) refers
    /// to; the error names the option.
    pub fn resolve_option(&self, option: &str, name: &str) -> Result<NodeId, CliError> {
        self.resolve(name).map_err(|_| {
            CliError::new(format!(
                "{option}: `{name}` is not an input or a bound name of the program"
            ))
        })
    }

    /// The node a name refers to: its latest binding, or the input, or, for
    /// `y` when the program has no `y`, the unnamed output (which is reported
    /// as `y`).
    pub fn resolve(&self, name: &str) -> Result<NodeId, CliError> {
        self.program
            .bindings
            .get(name)
            .copied()
            .or_else(|| {
                self.program
                    .inputs
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, id)| *id)
            })
            .or_else(|| {
                let unnamed = self.program.statements.last()?.name.is_none();
                (name == "y" && unnamed).then_some(self.program.output)
            })
            .ok_or_else(|| CliError::new(format!("`{name}` is not a name in the program")))
    }

    /// The outputs to report: the names given, or the program's output (named
    /// after its statement, `y` when the last statement is a bare expression).
    pub fn outputs(&self, names: &[String]) -> Result<Vec<(String, NodeId)>, CliError> {
        if names.is_empty() {
            let last = self
                .program
                .statements
                .last()
                .ok_or_else(|| CliError::new("the program is empty"))?;
            let name = last.name.clone().unwrap_or_else(|| "y".to_string());
            return Ok(vec![(name, self.program.output)]);
        }
        distinct("--ys", names)?;
        names
            .iter()
            .map(|n| Ok((n.clone(), self.resolve_option("--ys", n)?)))
            .collect()
    }

    /// The name a node is known by, for messages.
    pub fn name_of(&self, id: NodeId) -> Option<String> {
        self.program
            .inputs
            .iter()
            .map(|(n, i)| (n, *i))
            .chain(self.program.bindings.iter().map(|(n, i)| (n, *i)))
            .find(|(_, i)| *i == id)
            .map(|(n, _)| n.clone())
    }
}
