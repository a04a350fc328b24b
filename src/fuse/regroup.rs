//! Second thoughts on the greedy grouping, each saving a pass over memory:
//!
//! * **Recomputing cheap values.** Grouping puts a node in the kernel of
//!   its inputs. When a cheap value (a few adds and multiplies, like the
//!   `1 - t*t` of a `tanh` gradient) is read only by one later kernel, and
//!   what it is computed from is written to memory anyway, the later
//!   kernel computes it itself: the earlier kernel stops writing it and the
//!   later one stops reading it.
//! * **Merging siblings.** Two kernels of one shape that read a common
//!   input, neither depending on the other, become one kernel that reads
//!   the input once.
//!
//! Both keep every kernel convex ([`super::convex`]).

use super::convex::Convexity;
use crate::graph::{Node, NodeId, Op};

/// At most this many nodes are recomputed for one value.
const MAX_CONE: usize = 4;

/// Operations cheap enough to compute twice rather than store and load.
fn cheap(op: &Op) -> bool {
    match op {
        Op::Binary(b) => b.facts().cheap,
        Op::Unary(u) => u.facts().cheap,
        Op::Identity | Op::StopGradient => true,
        _ => false,
    }
}

struct State<'a> {
    nodes: &'a [Node],
    group: Vec<Option<usize>>,
    members: Vec<Vec<usize>>,
    users: Vec<Vec<usize>>,
    fetched: Vec<bool>,
    conv: Convexity,
}

impl State<'_> {
    fn shape_of_kernel(&self, k: usize) -> Option<Vec<usize>> {
        let first = *self.members[k].first()?;
        self.nodes[first].shape.concrete()
    }

    /// The nodes kernel `k` reads from outside itself.
    fn reads(&self, k: usize) -> Vec<usize> {
        self.members[k]
            .iter()
            .flat_map(|&m| self.nodes[m].inputs.iter().map(|x| x.index()))
            .filter(|&x| self.group[x] != Some(k))
            .collect()
    }

    fn convex(&mut self, k: usize) -> bool {
        let group = &self.group;
        let inside = |x: usize| group[x] == Some(k);
        self.conv.holds(
            self.nodes,
            group,
            &self.members,
            inside,
            self.members[k].iter().copied(),
        )
    }

    fn reassign(&mut self, xs: &[usize], to: usize) {
        for &x in xs {
            if let Some(from) = self.group[x] {
                self.members[from].retain(|&m| m != x);
            }
            self.group[x] = Some(to);
            self.members[to].push(x);
        }
        self.members[to].sort_unstable();
    }

    /// Whether `x`'s value is written to memory whatever happens to `cone`:
    /// fetched, or read outside its kernel and the cone.
    fn materialized(&self, x: usize, cone: &[usize]) -> bool {
        self.fetched[x]
            || self.users[x]
                .iter()
                .any(|&u| self.group[u] != self.group[x] && !cone.contains(&u))
    }

    /// Moves the cheap computation of `v` into the one kernel that reads
    /// it, when that saves a store and a load. Returns whether it moved.
    fn recompute(&mut self, v: usize) -> bool {
        let Some(k1) = self.group[v] else {
            return false;
        };
        if self.fetched[v] || !cheap(&self.nodes[v].op) {
            return false;
        }
        let readers: Vec<Option<usize>> = self.users[v].iter().map(|&u| self.group[u]).collect();
        let Some(&Some(k2)) = readers.first() else {
            return false;
        };
        if k2 == k1 || readers.iter().any(|&r| r != Some(k2)) {
            return false;
        }
        if self.shape_of_kernel(k2) != self.nodes[v].shape.concrete() {
            return false;
        }
        // v and the cheap values of its kernel that only it needs
        let mut cone = vec![v];
        let mut i = 0;
        while i < cone.len() {
            for inp in &self.nodes[cone[i]].inputs {
                let x = inp.index();
                if self.group[x] == Some(k1)
                    && !cone.contains(&x)
                    && cheap(&self.nodes[x].op)
                    && !self.fetched[x]
                    && self.users[x].iter().all(|u| cone.contains(u))
                {
                    cone.push(x);
                }
            }
            i += 1;
        }
        if cone.len() > MAX_CONE {
            return false;
        }
        // what the cone reads: computed elsewhere, or stored by its kernel anyway
        let k2_reads = self.reads(k2);
        let mut leaves: Vec<usize> = Vec::new();
        for &c in &cone {
            for inp in &self.nodes[c].inputs {
                let x = inp.index();
                if !cone.contains(&x) && !leaves.contains(&x) {
                    leaves.push(x);
                }
            }
        }
        let mut new_reads = 0;
        for x in leaves {
            if self.group[x] == Some(k1) && !self.materialized(x, &cone) {
                return false;
            }
            let constant = matches!(self.nodes[x].op, Op::Constant(_));
            if !constant && !k2_reads.contains(&x) {
                new_reads += 1;
            }
        }
        if new_reads > 1 {
            return false;
        }
        self.reassign(&cone, k2);
        if self.convex(k2) && (self.members[k1].is_empty() || self.convex(k1)) {
            return true;
        }
        self.reassign(&cone, k1);
        false
    }

    /// Merges kernel `b` into `a` when they share an input, have one shape,
    /// and the union is convex. Returns whether it merged.
    fn merge_siblings(&mut self, a: usize, b: usize) -> bool {
        if self.members[a].is_empty()
            || self.members[b].is_empty()
            || self.shape_of_kernel(a) != self.shape_of_kernel(b)
        {
            return false;
        }
        let ra = self.reads(a);
        if !self
            .reads(b)
            .iter()
            .any(|&x| ra.contains(&x) && !matches!(self.nodes[x].op, Op::Constant(_)))
        {
            return false;
        }
        let group = &self.group;
        let inside = |x: usize| group[x] == Some(a) || group[x] == Some(b);
        let readers = self.members[a]
            .iter()
            .chain(&self.members[b])
            .copied()
            .collect::<Vec<_>>();
        if !self.conv.holds(
            self.nodes,
            group,
            &self.members,
            inside,
            readers.into_iter(),
        ) {
            return false;
        }
        let moved = std::mem::take(&mut self.members[b]);
        self.reassign(&moved, a);
        true
    }
}

/// Applies both refinements to a grouping (`group`: each node's kernel,
/// numbered densely, `n` kernels) and returns the new grouping, numbered
/// densely in order of first member.
pub(super) fn regroup(
    nodes: &[Node],
    needed: &[bool],
    fetches: &[NodeId],
    group: Vec<Option<usize>>,
    n: usize,
) -> (Vec<Option<usize>>, usize) {
    let mut members = vec![Vec::new(); n];
    for (i, g) in group.iter().enumerate() {
        if let Some(k) = g {
            members[*k].push(i);
        }
    }
    let mut users = vec![Vec::new(); nodes.len()];
    for (i, node) in nodes.iter().enumerate() {
        if needed[i] {
            for inp in &node.inputs {
                users[inp.index()].push(i);
            }
        }
    }
    let mut fetched = vec![false; nodes.len()];
    for f in fetches {
        fetched[f.index()] = true;
    }
    let mut s = State {
        nodes,
        group,
        members,
        users,
        fetched,
        conv: Convexity::new(nodes.len()),
    };
    // later values first: a moved value's inputs may then follow it
    for v in (0..nodes.len()).rev() {
        if needed[v] {
            s.recompute(v);
        }
    }
    let mut merged = true;
    while merged {
        merged = false;
        for a in 0..n {
            for b in a + 1..n {
                merged |= s.merge_siblings(a, b);
            }
        }
    }
    let mut group = s.group;
    let count = super::renumber(&mut group, n);
    (group, count)
}
