//! `gradjit eval` and `gradjit grad`.

use gradjit::autodiff::{explain_unconnected, gradients, GradientOptions, Unconnected};
use gradjit::exec::Engine;
use gradjit::graph::Literal;
use gradjit::text::print_program;
use gradjit::{NodeId, Session, UnconnectedGradients, Value};

use crate::feeds::parse_value;
use crate::format::{human_value, json_string, json_value};
use crate::program::{load, Loaded};
use crate::{CliError, EvalArgs, GradArgs, UnconnectedArg};

/// Parses `--engine`.
pub fn engine(name: &str) -> Result<Engine, CliError> {
    Ok(name.parse::<Engine>()?)
}

/// Runs `fetches` of a loaded program on an engine.
pub fn execute(
    loaded: &Loaded,
    engine: Engine,
    fetches: &[NodeId],
) -> Result<Vec<Value>, CliError> {
    let g = &loaded.graph;
    let mut sess = Session::with_engine(g, engine);
    sess.set_stabilize(loaded.stabilize);
    let fetch: Vec<_> = fetches.iter().map(|&id| g.tensor(id)).collect();
    let feeds: Vec<_> = loaded
        .feeds
        .iter()
        .map(|(id, v)| (g.tensor(*id), v))
        .collect();
    Ok(sess.run(&fetch, &feeds)?)
}

/// `gradjit eval`.
pub fn eval(args: &EvalArgs) -> Result<String, CliError> {
    let engine = engine(&args.engine)?;
    let loaded = load(&args.common, &[])?;
    let outputs = loaded.outputs(&args.ys)?;
    let ids: Vec<NodeId> = outputs.iter().map(|(_, id)| *id).collect();
    let values = execute(&loaded, engine, &ids)?;
    let named: Vec<(String, Value)> = outputs.into_iter().map(|(n, _)| n).zip(values).collect();
    Ok(if args.common.json {
        format!("{{\"outputs\": {}}}\n", json_object(&named))
    } else {
        named
            .iter()
            .map(|(n, v)| format!("{n} = {}\n", human_value(v)))
            .collect()
    })
}

fn json_object(items: &[(String, Value)]) -> String {
    let body: Vec<String> = items
        .iter()
        .map(|(n, v)| format!("{}: {}", json_string(n), json_value(v)))
        .collect();
    format!("{{{}}}", body.join(", "))
}

/// The gradient nodes of a `grad` call, with what is needed to explain Nones.
pub struct GradGraph {
    /// The ys, named.
    pub ys: Vec<(String, NodeId)>,
    /// The xs, named, with their gradient node (or `None`).
    pub grads: Vec<(String, NodeId, Option<NodeId>)>,
    /// The stop set.
    pub stop: Vec<NodeId>,
    /// Whether upstream gradients were given.
    pub explicit_grad_ys: bool,
}

/// Builds the gradient nodes for `--wrt`, `--ys`, `--grad-ys`, `--stop`, `--unconnected`.
pub fn build_gradients(
    loaded: &Loaded,
    ys: &[String],
    wrt: &[String],
    grad_ys: Option<&str>,
    stop: &[String],
    unconnected: UnconnectedArg,
) -> Result<GradGraph, CliError> {
    let g = &loaded.graph;
    let ys = loaded.outputs(ys)?;
    crate::program::distinct("--wrt", wrt)?;
    let xs: Vec<(String, NodeId)> = wrt
        .iter()
        .map(|n| Ok((n.clone(), loaded.resolve_option("--wrt", n)?)))
        .collect::<Result<_, CliError>>()?;
    let stop_ids: Vec<NodeId> = stop
        .iter()
        .map(|n| loaded.resolve_option("--stop", n))
        .collect::<Result<_, _>>()?;
    let mut gy_ids = Vec::new();
    if let Some(text) = grad_ys {
        let parts: Vec<&str> = text.split(';').collect();
        if parts.len() != ys.len() {
            return Err(CliError::new(format!(
                "--grad-ys gives {} values for {} ys",
                parts.len(),
                ys.len()
            )));
        }
        for (part, (name, y)) in parts.iter().zip(&ys) {
            let a = parse_value(part, &format!("grad_ys:{name}"))
                .map_err(|e| CliError::new(format!("--grad-ys for `{name}`: {}", e.0)))?;
            let node = g.node(*y);
            if node.shape.concrete().as_deref() != Some(a.shape()) {
                return Err(CliError::new(format!(
                    "--grad-ys for `{name}` has shape {:?}, but `{name}` has shape {}",
                    a.shape(),
                    node.shape
                )));
            }
            let lit = Literal::from_array(&a);
            gy_ids.push(g.add_constant(lit, loaded.dtype));
        }
    }
    let opts = GradientOptions {
        grad_ys: gy_ids,
        stop_gradients: stop_ids.clone(),
        unconnected: match unconnected {
            UnconnectedArg::None => UnconnectedGradients::None,
            UnconnectedArg::Zero => UnconnectedGradients::Zero,
        },
    };
    let y_ids: Vec<NodeId> = ys.iter().map(|(_, id)| *id).collect();
    let x_ids: Vec<NodeId> = xs.iter().map(|(_, id)| *id).collect();
    // `show` and `bench` of a program without inputs have no xs: no gradients
    let gs = if x_ids.is_empty() {
        Vec::new()
    } else {
        gradients(g, &y_ids, &x_ids, &opts)?
    };
    Ok(GradGraph {
        ys,
        grads: xs
            .into_iter()
            .zip(gs)
            .map(|((n, x), gx)| (n, x, gx))
            .collect(),
        stop: stop_ids,
        explicit_grad_ys: grad_ys.is_some(),
    })
}

/// Why x has no gradient, in words.
pub fn why_none(loaded: &Loaded, gg: &GradGraph, x_name: &str, x: NodeId) -> String {
    let g = &loaded.graph;
    let y_ids: Vec<NodeId> = gg.ys.iter().map(|(_, id)| *id).collect();
    let ys_text = gg
        .ys
        .iter()
        .map(|(n, _)| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let name = |id: NodeId| match loaded.name_of(id) {
        Some(n) if gg.stop.contains(&id) => format!("`{n}` (in --stop)"),
        _ => g.describe(id),
    };
    match explain_unconnected(g, &y_ids, x, &gg.stop) {
        Unconnected::Connected => "connected".into(),
        Unconnected::NoPath => format!("no path leads from `{x_name}` to {ys_text}"),
        Unconnected::Blocked {
            no_gradient,
            stopped,
        } => {
            let mut why = Vec::new();
            if !no_gradient.is_empty() {
                let list: Vec<String> = no_gradient.iter().map(|&id| name(id)).collect();
                why.push(format!("an op without a gradient ({})", list.join(", ")));
            }
            if !stopped.is_empty() {
                let list: Vec<String> = stopped.iter().map(|&id| name(id)).collect();
                why.push(format!("a stopped node ({})", list.join(", ")));
            }
            format!(
                "every path from `{x_name}` to {ys_text} passes through {}",
                why.join(" or ")
            )
        }
    }
}

/// `gradjit grad`.
pub fn grad(args: &GradArgs) -> Result<String, CliError> {
    let engine = engine(&args.engine)?;
    let targets: Vec<String> = args.wrt.iter().chain(&args.stop).cloned().collect();
    let loaded = load(&args.common, &targets)?;
    let gg = build_gradients(
        &loaded,
        &args.ys,
        &args.wrt,
        args.grad_ys.as_deref(),
        &args.stop,
        args.unconnected,
    )?;
    let mut fetch: Vec<NodeId> = gg.ys.iter().map(|(_, id)| *id).collect();
    fetch.extend(gg.grads.iter().filter_map(|(_, _, gx)| *gx));
    let mut values = execute(&loaded, engine, &fetch)?.into_iter();
    let ys: Vec<(String, Value)> = gg
        .ys
        .iter()
        .map(|(n, _)| (n.clone(), values.next()))
        .filter_map(|(n, v)| v.map(|v| (n, v)))
        .collect();
    let grads: Vec<(String, NodeId, Option<Value>)> = gg
        .grads
        .iter()
        .map(|(n, x, gx)| (n.clone(), *x, gx.and_then(|_| values.next())))
        .collect();
    if args.common.json {
        let body: Vec<String> = grads
            .iter()
            .map(|(n, _, v)| {
                let val = v.as_ref().map_or("null".to_string(), json_value);
                format!("{}: {val}", json_string(n))
            })
            .collect();
        return Ok(format!(
            "{{\"ys\": {}, \"grads\": {{{}}}}}\n",
            json_object(&ys),
            body.join(", ")
        ));
    }
    let mut out = String::new();
    for (n, v) in &ys {
        out.push_str(&format!("{n} = {}\n", human_value(v)));
        if !gg.explicit_grad_ys && !v.shape().is_empty() {
            out.push_str(&format!(
                "note: `{n}` has shape {:?}, not a scalar: its gradients are those of sum({n})\n",
                v.shape()
            ));
        }
    }
    for (n, x, v) in &grads {
        match v {
            Some(v) => out.push_str(&format!("grad {n} = {}\n", human_value(v))),
            None => out.push_str(&format!(
                "grad {n} = None: {}\n",
                why_none(&loaded, &gg, n, *x)
            )),
        }
    }
    out.push_str(&gradient_program(&loaded, &gg)?);
    Ok(out)
}

/// The simplified gradients printed as a program (`d_x = 2*x + 3`), under
/// a title and indented.
fn gradient_program(loaded: &Loaded, gg: &GradGraph) -> Result<String, CliError> {
    let text = simplified_gradients(loaded, gg)?;
    if text.is_empty() {
        return Ok(text);
    }
    let mut out = String::from("gradient program (simplified):\n");
    for line in text.lines() {
        out.push_str(&format!("  {line}\n"));
    }
    Ok(out)
}

/// The simplified gradients printed as a program; empty without any.
pub fn simplified_gradients(loaded: &Loaded, gg: &GradGraph) -> Result<String, CliError> {
    let xs: Vec<String> = gg.grads.iter().map(|(n, _, _)| n.clone()).collect();
    let names = crate::show::gradient_names(loaded, &xs);
    let roots: Vec<(String, NodeId)> = names
        .into_iter()
        .zip(&gg.grads)
        .filter_map(|(n, (_, _, gx))| gx.map(|id| (n, id)))
        .collect();
    if roots.is_empty() {
        return Ok(String::new());
    }
    let ids: Vec<NodeId> = roots.iter().map(|(_, id)| *id).collect();
    let s = loaded.pipeline().run(&loaded.graph, &ids)?;
    let named: Vec<(&str, NodeId)> = roots
        .iter()
        .zip(&s.roots)
        .map(|((n, _), id)| (n.as_str(), *id))
        .collect();
    Ok(print_program(&s.graph, &named))
}
