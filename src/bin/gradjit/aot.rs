//! `gradjit aot`: a program and its gradients as an object file and a C
//! header (`shared/spec/aot.md`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use gradjit::aot::header::{render, Header};
use gradjit::aot::{self, names, Target};
use gradjit::graph::Shape;
use gradjit::text::{self, ParseOptions};
use gradjit::{DType, Graph, NodeId};

use crate::feeds::parse_value;
use crate::program::{source, Loaded};
use crate::run::{build_gradients, simplified_gradients, why_none};
use crate::{AotArgs, CliError};

/// Parses `--shape NAME=[D0,D1,...]`.
fn parse_shape(text: &str) -> Result<(String, Vec<usize>), CliError> {
    let bad = || CliError::new(format!("--shape `{text}` is not NAME=[D0,D1,...]"));
    let (name, dims) = text.split_once('=').ok_or_else(bad)?;
    let dims: Vec<usize> = serde_json::from_str(dims.trim()).map_err(|_| bad())?;
    Ok((name.trim().to_string(), dims))
}

/// Every input's shape, from `--shape` and `--feed` (whose value gives only
/// its shape), checked to agree.
fn input_shapes(args: &AotArgs) -> Result<Vec<(String, Vec<usize>)>, CliError> {
    let mut shapes: Vec<(String, Vec<usize>)> = Vec::new();
    for s in &args.shapes {
        let (name, dims) = parse_shape(s)?;
        if shapes.iter().any(|(n, _)| *n == name) {
            return Err(CliError::new(format!("--shape of `{name}` is given twice")));
        }
        shapes.push((name, dims));
    }
    let mut fed: Vec<String> = Vec::new();
    for f in &args.feeds {
        let (name, value) = f
            .split_once('=')
            .ok_or_else(|| CliError::new(format!("--feed `{f}` is not NAME=VALUE")))?;
        let name = name.trim().to_string();
        if fed.contains(&name) {
            return Err(CliError::new(format!("input `{name}` is fed twice")));
        }
        let dims = parse_value(value, &name)
            .map_err(|e| CliError::new(format!("--feed {name}: {}", e.0)))?
            .shape()
            .to_vec();
        match shapes.iter().find(|(n, _)| *n == name) {
            Some((_, d)) if *d != dims => {
                return Err(CliError::new(format!(
                    "--feed {name} has shape {dims:?}, but --shape {name} says {d:?}"
                )))
            }
            Some(_) => {}
            None => shapes.push((name.clone(), dims)),
        }
        fed.push(name);
    }
    Ok(shapes)
}

/// `gradjit aot`.
pub fn aot(args: &AotArgs) -> Result<String, CliError> {
    let dtype: DType = args.dtype.into();
    let target: Target = args.target.parse()?;
    let prefix = match &args.name {
        Some(n) => n.clone(),
        None => args
            .output
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string(),
    };
    let shapes = input_shapes(args)?;
    let src = source(&args.expr)?;
    let graph = Graph::new();
    let targets: Vec<String> = args.wrt.iter().chain(&args.stop).cloned().collect();
    let program = text::parse(
        &graph,
        &src,
        &ParseOptions {
            dtype,
            input_shapes: shapes
                .iter()
                .map(|(n, d)| (n.clone(), Shape::known(d)))
                .collect::<HashMap<_, _>>(),
            targets: targets.into_iter().collect(),
        },
    )?;
    for (name, _) in &shapes {
        if !program.inputs.iter().any(|(n, _)| n == name) {
            return Err(CliError::new(format!(
                "--shape or --feed of `{name}`, which is not an input of the program"
            )));
        }
    }
    let mut inputs: Vec<(String, NodeId, Vec<usize>)> = Vec::new();
    for (name, id) in &program.inputs {
        let dims = shapes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, d)| d.clone())
            .ok_or_else(|| {
                CliError::new(format!(
                    "input `{name}` has no shape (give it with --shape {name}=[D0,D1,...] or --feed)"
                ))
            })?;
        inputs.push((name.clone(), *id, dims));
    }
    let loaded = Loaded {
        graph,
        program,
        dtype,
        feeds: Vec::new(),
        stabilize: false,
    };
    // the outputs: the ys, then each connected gradient
    let mut outputs: Vec<(String, NodeId)> = Vec::new();
    let mut notes = Vec::new();
    let mut gradients = String::new();
    if args.wrt.is_empty() {
        if !args.stop.is_empty() {
            return Err(CliError::new("--stop needs --wrt"));
        }
        outputs = loaded.outputs(&args.ys)?;
    } else {
        let gg = build_gradients(
            &loaded,
            &args.ys,
            &args.wrt,
            None,
            &args.stop,
            args.unconnected,
        )?;
        outputs.extend(gg.ys.iter().cloned());
        for (x, xid, gx) in &gg.grads {
            match gx {
                Some(id) => outputs.push((format!("d_{x}"), *id)),
                None => notes.push(format!(
                    "d_{x} has no field: the gradient with respect to `{x}` is none ({})",
                    why_none(&loaded, &gg, x, *xid)
                )),
            }
        }
        gradients = simplified_gradients(&loaded, &gg)?;
    }
    let count = |id: NodeId| -> Result<usize, CliError> {
        loaded
            .graph
            .node(id)
            .shape
            .concrete()
            .map(|d| d.iter().product())
            .ok_or_else(|| {
                CliError::new(format!(
                    "the shape of {} is unknown",
                    loaded.graph.describe(id)
                ))
            })
    };
    let in_fields: Vec<(String, usize)> = inputs
        .iter()
        .map(|(n, _, d)| (n.clone(), d.iter().product()))
        .collect();
    let out_fields: Vec<(String, usize)> = outputs
        .iter()
        .map(|(n, id)| Ok((n.clone(), count(*id)?)))
        .collect::<Result<_, CliError>>()?;
    names::check_fields(&in_fields, &out_fields)?;
    let ids: Vec<NodeId> = outputs.iter().map(|(_, id)| *id).collect();
    let object = aot::compile(&aot::Program {
        graph: &loaded.graph,
        inputs: &inputs,
        outputs: &ids,
        dtype,
        prefix: &prefix,
        target: &target,
        stabilize: false,
    })?;
    let header = render(&Header {
        prefix: &prefix,
        dtype,
        inputs: &in_fields,
        outputs: &out_fields,
        scratch_bytes: object.scratch_bytes,
        scratch_align: gradjit::driver::SCRATCH_ALIGN,
        program: &src,
        gradients: &gradients,
        target: target.name(),
        notes: &notes,
    });
    let header_path = args
        .header
        .clone()
        .unwrap_or_else(|| args.output.with_extension("h"));
    write_both(&args.output, &object.bytes, &header_path, header.as_bytes())?;
    Ok(String::new())
}

/// Writes both files, or neither: the object is removed again when the
/// header cannot be written.
fn write_both(obj: &Path, obj_bytes: &[u8], hdr: &Path, hdr_bytes: &[u8]) -> Result<(), CliError> {
    let fail = |p: &PathBuf, e: std::io::Error| {
        CliError::new(format!("cannot write `{}`: {e}", p.display()))
    };
    std::fs::write(obj, obj_bytes).map_err(|e| fail(&obj.to_path_buf(), e))?;
    if let Err(e) = std::fs::write(hdr, hdr_bytes) {
        let _ = std::fs::remove_file(obj);
        return Err(fail(&hdr.to_path_buf(), e));
    }
    Ok(())
}
