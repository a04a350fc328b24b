//! The convexity test of fusion groups, shared by grouping and regrouping.
//!
//! A kernel runs as one step, after everything any of its members reads, so
//! a set of nodes may form one kernel only when no value read from outside
//! the set depends — through any step, kernel or library — on a member.
//! (Node-level dependencies are not enough: a kernel that reads the set
//! through one member delays all its members.)

use crate::graph::Node;

/// Scratch space for repeated tests over one graph.
pub(super) struct Convexity {
    seen: Vec<u32>,
    walk: u32,
}

impl Convexity {
    /// Scratch for a graph of `n` nodes.
    pub(super) fn new(n: usize) -> Self {
        Convexity {
            seen: vec![0; n],
            walk: 0,
        }
    }

    /// Whether the nodes for which `inside` holds, whose members are
    /// `readers`, can run as one kernel, given every node's current kernel
    /// (`group`) and each kernel's members.
    pub(super) fn holds(
        &mut self,
        nodes: &[Node],
        group: &[Option<usize>],
        members: &[Vec<usize>],
        inside: impl Fn(usize) -> bool,
        readers: impl Iterator<Item = usize>,
    ) -> bool {
        self.walk += 1;
        let walk = self.walk;
        let mut stack: Vec<usize> = Vec::new();
        for m in readers {
            for inp in &nodes[m].inputs {
                if !inside(inp.index()) {
                    stack.push(inp.index());
                }
            }
        }
        while let Some(x) = stack.pop() {
            if self.seen[x] == walk {
                continue;
            }
            self.seen[x] = walk;
            if inside(x) {
                return false;
            }
            match group[x] {
                // a kernel step waits for every member's inputs
                Some(k) => {
                    for &m in &members[k] {
                        self.seen[m] = walk;
                        if inside(m) {
                            return false;
                        }
                        stack.extend(nodes[m].inputs.iter().map(|inp| inp.index()));
                    }
                }
                None => stack.extend(nodes[x].inputs.iter().map(|inp| inp.index())),
            }
        }
        true
    }
}
