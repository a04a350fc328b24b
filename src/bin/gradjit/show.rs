//! `gradjit show`: the forward graph, the raw and simplified gradient
//! graphs, per-pass node counts and the fused kernels.

use gradjit::dot::{render, DotSpec};
use gradjit::exec::routine;
use gradjit::fuse::Step;
use gradjit::simplify::count_ops;
use gradjit::text::print_program;
use gradjit::{jit, NodeId};

use crate::format::json_string;
use crate::program::{load_with, Loaded};
use crate::run::build_gradients;
use crate::{CliError, ShowArgs, UnconnectedArg};

/// Names for gradient outputs (`d_x`), never clashing with the program's names.
pub fn gradient_names(loaded: &Loaded, xs: &[String]) -> Vec<String> {
    xs.iter()
        .map(|x| {
            let mut name = format!("d_{x}");
            while loaded.resolve(&name).is_ok() {
                name.push('_');
            }
            name
        })
        .collect()
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

fn named(outs: &[(String, NodeId)]) -> Vec<(&str, NodeId)> {
    outs.iter().map(|(n, id)| (n.as_str(), *id)).collect()
}

/// `gradjit show`.
pub fn show(args: &ShowArgs) -> Result<String, CliError> {
    let loaded = load_with(&args.common, true, &args.wrt)?;
    let g = &loaded.graph;
    // printed back as a program, the output must not take an input's name
    // (`x*y` printed as `y = x*y` would read as a use of `y` before its binding)
    let forward: Vec<(String, NodeId)> = loaded
        .outputs(&[])?
        .into_iter()
        .map(|(mut name, id)| {
            while loaded.program.inputs.iter().any(|(n, _)| *n == name) {
                name.push('_');
            }
            (name, id)
        })
        .collect();
    let wrt: Vec<String> = if args.wrt.is_empty() {
        loaded
            .program
            .inputs
            .iter()
            .map(|(n, _)| n.clone())
            .collect()
    } else {
        args.wrt.clone()
    };
    let gg = build_gradients(&loaded, &[], &wrt, None, &[], UnconnectedArg::None)?;
    let names = gradient_names(&loaded, &wrt);
    let raw: Vec<(String, NodeId)> = names
        .iter()
        .zip(&gg.grads)
        .filter_map(|(n, (_, _, gx))| gx.map(|id| (n.clone(), id)))
        .collect();
    let raw_ids: Vec<NodeId> = raw.iter().map(|(_, id)| *id).collect();
    let fwd_ids: Vec<NodeId> = forward.iter().map(|(_, id)| *id).collect();
    let forward_text = print_program(g, &named(&forward));
    let raw_text = print_program(g, &named(&raw));
    let simplified = loaded.pipeline().run(g, &raw_ids)?;
    let simple: Vec<(String, NodeId)> = raw
        .iter()
        .zip(&simplified.roots)
        .map(|((n, _), id)| (n.clone(), *id))
        .collect();
    let simple_text = print_program(&simplified.graph, &named(&simple));
    let counts = (
        count_ops(g, &fwd_ids),
        count_ops(g, &raw_ids),
        count_ops(&simplified.graph, &simplified.roots),
    );
    // the training step (output and gradients) as it is compiled, when
    // every input's shape is known
    let all_fed = loaded.feeds.len() == loaded.program.inputs.len();
    let step_roots: Vec<NodeId> = fwd_ids.iter().chain(&raw_ids).copied().collect();
    // planned by the function `compile` plans with, for the same feeds
    let ordered: Vec<(NodeId, Vec<usize>)> = loaded
        .feeds
        .iter()
        .map(|(id, v)| (*id, v.shape().to_vec()))
        .collect();
    let opts = loaded.compile_options(gradjit::exec::Engine::Jit, None);
    let compiled = if all_fed {
        Some(gradjit::exec::planned(
            &loaded.graph,
            &step_roots,
            &ordered,
            &opts,
        )?)
    } else {
        None
    };
    let kernels: Vec<(String, usize, usize, usize)> = compiled
        .iter()
        .flat_map(|c| c.plan.kernels())
        .map(|k| {
            (
                k.spec.name.clone(),
                k.spec.op_count(),
                k.inputs.len(),
                // a reduction computed in the loop is an output too
                k.outputs.len() + k.reductions.len(),
            )
        })
        .collect();
    if let Some(path) = &args.dot {
        let text = match &compiled {
            Some(c) => {
                let p = &c.plan;
                let (f, gr) = c.roots.split_at(fwd_ids.len());
                let name = |names: &[(String, NodeId)], ids: &[NodeId]| -> Vec<(String, NodeId)> {
                    names
                        .iter()
                        .zip(ids)
                        .map(|((n, _), id)| (n.clone(), *id))
                        .collect()
                };
                let clusters: Vec<(String, Vec<NodeId>)> = p
                    .kernels()
                    .map(|k| {
                        // the reductions computed in the kernel's loop belong to it too
                        let nodes = k.members.iter().copied();
                        let nodes = nodes.chain(k.reductions.iter().map(|r| r.node));
                        (format!("kernel {}", k.spec.name), nodes.collect())
                    })
                    .collect();
                let spec = DotSpec {
                    forward: &name(&forward, f),
                    gradient: &name(&raw, gr),
                    kernels: &clusters,
                };
                render(&c.graph, &spec)
            }
            None => render(
                g,
                &DotSpec {
                    forward: &forward,
                    gradient: &raw,
                    kernels: &[],
                },
            ),
        };
        std::fs::write(path, text)
            .map_err(|e| CliError::new(format!("cannot write `{}`: {e}", path.display())))?;
    }
    if args.common.json {
        let passes: Vec<String> = simplified
            .stats
            .iter()
            .map(|p| {
                format!(
                    "{{\"name\": {}, \"nodes\": {}}}",
                    json_string(p.name),
                    p.nodes_after
                )
            })
            .collect();
        return Ok(format!(
            "{{\"forward\": {{\"nodes\": {}, \"text\": {}}}, \"gradient\": {{\"raw_nodes\": {}, \"simplified_nodes\": {}, \"text\": {}, \"passes\": [{}]}}, \"kernels\": [{}]}}\n",
            counts.0,
            json_string(&forward_text),
            counts.1,
            counts.2,
            json_string(&simple_text),
            passes.join(", "),
            kernels
                .iter()
                .map(|(n, o, i, w)| format!(
                    "{{\"name\": {}, \"ops\": {o}, \"inputs\": {i}, \"outputs\": {w}}}",
                    json_string(n)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let mut out = format!(
        "forward graph ({} operations):\n{}",
        counts.0,
        indent(&forward_text)
    );
    out.push_str(&format!(
        "raw gradient graph ({} operations):\n{}",
        counts.1,
        indent(&raw_text)
    ));
    out.push_str(&format!(
        "simplified gradient graph ({} operations):\n{}",
        counts.2,
        indent(&simple_text)
    ));
    out.push_str("passes (operations after each):\n");
    for p in &simplified.stats {
        out.push_str(&format!(
            "  {:<12} {:>5} -> {:<5} {:>8.3} ms\n",
            p.name,
            p.nodes_before,
            p.nodes_after,
            p.time.as_secs_f64() * 1e3
        ));
    }
    match &compiled {
        None => out.push_str("kernels: feed every input (--feed) to see the compiled kernels\n"),
        Some(c) => {
            let (p, blocks) = (&c.plan, &c.row_blocks);
            out.push_str(&format!("kernels ({}):\n", kernels.len()));
            for (n, o, i, w) in &kernels {
                out.push_str(&format!("  {n}: {o} operations, {i} inputs, {w} outputs\n"));
            }
            let library: Vec<String> = p
                .steps
                .iter()
                .filter_map(|s| match s {
                    Step::Library(id) => Some(library_step(&compiled, *id)),
                    Step::Kernel(_) => None,
                })
                .collect();
            if !library.is_empty() {
                out.push_str(&format!("library steps: {}\n", library.join(", ")));
            }
            for b in blocks {
                let names: Vec<String> = p.steps[b.plan_steps.clone()]
                    .iter()
                    .map(|s| match s {
                        Step::Kernel(k) => k.spec.name.clone(),
                        Step::Library(id) => compiled_name(&compiled, *id).to_string(),
                    })
                    .collect();
                out.push_str(&format!(
                    "in blocks of rows ({} rows, {} blocks): {}\n",
                    b.rows,
                    b.blocks,
                    names.join(", ")
                ));
            }
            // the plan that `compile` lowers, from the executable itself
            let exe = gradjit::exec::compile(&loaded.graph, &step_roots, &ordered, &opts)?;
            out.push_str("plan as compiled (jit):\n");
            out.push_str(&exe.plan_text());
            if args.clif {
                for k in p.kernels() {
                    out.push_str(&format!("\n; kernel {}\n", k.spec.name));
                    out.push_str(&jit::clif_text(&k.spec)?);
                }
            }
        }
    }
    for (name, x, gx) in &gg.grads {
        if gx.is_none() {
            out.push_str(&format!(
                "no gradient for `{name}`: {}\n",
                crate::run::why_none(&loaded, &gg, name, *x)
            ));
        }
    }
    Ok(out)
}

/// A step graph as compiled: prepared, planned, its row-blocked runs.
type Compiled = gradjit::exec::Planned;

fn compiled_name(compiled: &Option<Compiled>, id: NodeId) -> &'static str {
    compiled
        .as_ref()
        .and_then(|c| c.graph.get(id))
        .map_or("?", |n| n.op.name())
}

/// A library step's name, marked where no native routine exists for it
/// (which compiling refuses at run time: a bug).
fn library_step(compiled: &Option<Compiled>, id: NodeId) -> String {
    let name = compiled_name(compiled, id);
    let node = compiled.as_ref().and_then(|c| c.graph.get(id));
    match node.map(|n| routine(&n.op)) {
        Some(None) => format!("{name} (no native routine)"),
        _ => name.to_string(),
    }
}
