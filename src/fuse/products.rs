//! Matrix products with a dimension of 1 are elementwise work: an outer
//! product (`[m,1] @ [1,n]`) is a broadcast multiply, a matrix-vector
//! product (`[m,k] @ [k,1]`) a multiply and a sum along each row,
//! `transpose(A) @ v` a multiply and a sum down each column, and
//! `[1,k] @ [k,n]` a multiply and a column sum. Written that way, fusion
//! puts them in the kernels that produce or consume their large operand,
//! which is then read once instead of being written, read back by a
//! library step, and written again (the backward pass of a dense layer is
//! made of these: `dh = g @ transpose(W)` with one output unit,
//! `dW = transpose(h) @ g`).
//!
//! Values change only by summation order (kernels sum in their documented
//! fixed order instead of the library's), so this runs on the native
//! engines' graphs, after simplification, never on the interpreter's.

use crate::graph::{BinaryOp, Graph, GraphError, Node, NodeId, Op, ReduceOp};

/// Copies `graph` (its nodes in order) with every product that has a unit
/// dimension rewritten as elementwise work. Returns the new graph and the
/// images of `roots`.
///
/// # Errors
/// A [`GraphError`] if a rewritten node does not fit (which would be a bug:
/// every rewrite has the product's shape).
pub fn unit_products(graph: &Graph, roots: &[NodeId]) -> Result<(Graph, Vec<NodeId>), GraphError> {
    let nodes = graph.nodes();
    let out = Graph::new();
    let mut map: Vec<NodeId> = Vec::with_capacity(nodes.len());
    for (i, node) in nodes.iter().enumerate() {
        let new = match &node.op {
            Op::Placeholder { name } => {
                out.add_placeholder(name, node.dtype, node.shape.clone())?
            }
            Op::Constant(lit) => out.add_constant(lit.clone(), node.dtype),
            Op::MatMul => match rewrite(&out, &nodes, node, &map)? {
                Some(r) => r,
                None => out.add_node(Op::MatMul, &inputs(node, &map))?,
            },
            op => out.add_node(op.clone(), &inputs(node, &map))?,
        };
        if let Some(o) = graph.origin(NodeId(i as u32)) {
            out.set_origin(new, o);
        }
        map.push(new);
    }
    let roots = roots.iter().map(|r| map[r.index()]).collect();
    Ok((out, roots))
}

fn inputs(node: &Node, map: &[NodeId]) -> Vec<NodeId> {
    node.inputs.iter().map(|x| map[x.index()]).collect()
}

/// Concrete dimensions of a rank-2 node.
fn dims2(node: &Node) -> Option<(usize, usize)> {
    match node.shape.concrete()?.as_slice() {
        &[r, c] => Some((r, c)),
        _ => None,
    }
}

/// The input of a 2-D transpose.
fn transposed(nodes: &[Node], id: NodeId) -> Option<NodeId> {
    let n = &nodes[id.index()];
    match &n.op {
        Op::Transpose { perm } if dims2(n).is_some() => {
            matches!(perm.as_deref(), None | Some([1, 0])).then_some(n.inputs[0])
        }
        _ => None,
    }
}

/// The rewrite of the product `node`, if it has a unit dimension.
fn rewrite(
    out: &Graph,
    nodes: &[Node],
    node: &Node,
    map: &[NodeId],
) -> Result<Option<NodeId>, GraphError> {
    let (a, b) = (node.inputs[0], node.inputs[1]);
    let (Some((m, k)), Some((_, n))) = (dims2(&nodes[a.index()]), dims2(&nodes[b.index()])) else {
        return Ok(None);
    };
    let (na, nb) = (map[a.index()], map[b.index()]);
    let mul = |x, y| out.add_node(Op::Binary(BinaryOp::Mul), &[x, y]);
    let sum = |x, axis: usize| {
        out.add_node(
            Op::Reduce {
                op: ReduceOp::Sum,
                axes: Some(vec![axis]),
                keepdims: true,
            },
            &[x],
        )
    };
    let reshape = |x, r: usize, c: usize| {
        out.add_node(
            Op::Reshape {
                dims: vec![r as i64, c as i64],
            },
            &[x],
        )
    };
    if k == 1 {
        // [m,1] * [1,n]
        return Ok(Some(mul(na, nb)?));
    }
    if n == 1 && m > 1 {
        if let Some(a0) = transposed(nodes, a) {
            // sum_i a0[i, j] * b[i]: a column sum of a0 * b, then [1,m] -> [m,1]
            let s = sum(mul(map[a0.index()], nb)?, 0)?;
            return Ok(Some(reshape(s, m, 1)?));
        }
        // sum_j a[i, j] * b[j]: a row sum of a * b^T
        let bt = reshape(nb, 1, k)?;
        return Ok(Some(sum(mul(na, bt)?, 1)?));
    }
    if m == 1 && n > 1 {
        // sum_i a[i] * b[i, j]: a column sum of a^T * b
        let at = reshape(na, k, 1)?;
        return Ok(Some(sum(mul(at, nb)?, 0)?));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{DType, Shape};

    fn ops_of(g: &Graph, root: NodeId) -> Vec<String> {
        let mut v = Vec::new();
        let mut cur = Some(root);
        while let Some(id) = cur {
            let n = g.node(id);
            v.push(n.op.name().to_string());
            cur = n
                .inputs
                .iter()
                .copied()
                .find(|x| g.node(*x).op.is_computation());
        }
        v
    }

    #[test]
    fn each_unit_dimension_has_its_form() {
        let g = Graph::new();
        let p = |name: &str, d: &[usize]| {
            g.add_placeholder(name, DType::F32, Shape::known(d))
                .unwrap()
        };
        let (col, row, mat, tall) = (
            p("c", &[5, 1]),
            p("r", &[1, 3]),
            p("m", &[3, 4]),
            p("t", &[5, 4]),
        );
        let mm = |x, y| g.add_node(Op::MatMul, &[x, y]).unwrap();
        let tr = |x| g.add_node(Op::Transpose { perm: None }, &[x]).unwrap();
        let v4 = p("v", &[4, 1]);
        let roots = [
            mm(col, row),      // outer product
            mm(tall, v4),      // matrix-vector
            mm(tr(tall), col), // transpose(A) @ v
            mm(row, mat),      // row vector @ matrix
            mm(mat, tr(mat)),  // no unit dimension
        ];
        let (out, new) = unit_products(&g, &roots).unwrap();
        for (old, new) in roots.iter().zip(&new) {
            assert_eq!(g.node(*old).shape, out.node(*new).shape);
        }
        assert_eq!(ops_of(&out, new[0]), ["mul"]);
        assert_eq!(ops_of(&out, new[1]), ["sum", "mul", "reshape"]);
        assert_eq!(ops_of(&out, new[2]), ["reshape", "sum", "mul"]);
        assert_eq!(ops_of(&out, new[3]), ["sum", "mul", "reshape"]);
        assert_eq!(ops_of(&out, new[4]), ["matmul", "transpose"]);
    }
}
