//! The pipeline itself: custom passes, fixpoint groups and their limits,
//! statistics.

use gradjit::simplify::{
    count_ops, Algebra, Cse, Options, Pass, PassOutcome, Pipeline, SimplifyError, Step, Stop, Work,
};
use gradjit::{DType, Graph};

use super::lang::{parse, Env};

/// A user-written pass: replaces the roots by their first input, once.
struct FirstInput;

impl Pass for FirstInput {
    fn name(&self) -> &'static str {
        "first-input"
    }
    fn run(&self, work: &mut Work, _options: &Options) -> Result<PassOutcome, SimplifyError> {
        let mut changed = false;
        for r in &mut work.roots {
            if let Some(&first) = work.graph.node(*r).inputs.first() {
                *r = first;
                changed = true;
            }
        }
        Ok(PassOutcome {
            changed,
            fired: vec![],
        })
    }
}

#[test]
fn custom_passes_run_in_order() {
    let g = Graph::new();
    let y = parse(&g, &Env::new(DType::F32), "exp(sin(x))");
    let out = Pipeline::new()
        .then(FirstInput)
        .then(FirstInput)
        .run(&g, &[y])
        .unwrap();
    let names: Vec<&str> = out.stats.iter().map(|s| s.name).collect();
    assert_eq!(names, ["first-input", "first-input"]);
    assert_eq!(
        (
            out.nodes_before,
            out.stats[0].nodes_after,
            out.nodes_after()
        ),
        (2, 1, 0)
    );
    assert_eq!(out.graph.len(), 1, "only x is left");
}

#[test]
fn fixpoint_groups_stop_at_their_limit_and_report_it() {
    let g = Graph::new();
    // each round of FirstInput peels one operation: three rounds to a leaf
    let y = parse(&g, &Env::new(DType::F32), "exp(sin(cos(x)))");
    let group = |limit| Step::Fixpoint {
        name: "peel",
        passes: vec![Box::new(FirstInput)],
        limit,
    };
    let out = Pipeline::new().then_step(group(2)).run(&g, &[y]).unwrap();
    assert_eq!(out.groups[0].stop, Stop::RoundLimit);
    assert_eq!(out.groups[0].rounds, 2);
    assert_eq!(out.nodes_after(), 1);
    let out = Pipeline::new().then_step(group(10)).run(&g, &[y]).unwrap();
    assert_eq!(out.groups[0].stop, Stop::Saturated);
    assert_eq!(
        out.groups[0].rounds, 4,
        "three that change, one that does not"
    );
}

#[test]
fn statistics_chain_and_groups_are_skipped_when_nothing_changed() {
    let env = Env::new(DType::F32);
    let g = Graph::new();
    let y = parse(&g, &env, "(x * 1 + 0 * 1) * ones_like(y)");
    let out = Pipeline::standard()
        .with_stabilize(true)
        .run(&g, &[y])
        .unwrap();
    assert_eq!(out.nodes_before, 5);
    assert_eq!(out.stats[0].nodes_before, out.nodes_before);
    for pair in out.stats.windows(2) {
        assert_eq!(pair[0].nodes_after, pair[1].nodes_before);
    }
    assert_eq!(out.stats.last().unwrap().nodes_after, out.nodes_after());
    // stabilize changed nothing, so the second canonicalize was skipped
    assert_eq!(out.groups.len(), 2);
    assert_eq!(out.groups[1].rounds, 0);
    let fired: Vec<&str> = out
        .stats
        .iter()
        .flat_map(|s| s.fired.iter().map(|f| f.0))
        .collect();
    assert!(fired.contains(&"mul-one"), "{fired:?}");
    let per_pass: Vec<&str> = out.per_pass().iter().map(|p| p.0).collect();
    assert_eq!(per_pass, ["cse", "fold", "algebra", "dce", "stabilize"]);
    // after a stabilize rewrite, canonicalize runs again
    let z = parse(&g, &env, "log(1 + x) * 1");
    let out = Pipeline::standard()
        .with_stabilize(true)
        .run(&g, &[z])
        .unwrap();
    assert!(out.groups[1].rounds > 0);
    assert_eq!(count_ops(&out.graph, &out.roots), 1);
}

#[test]
fn passes_can_be_composed_by_hand() {
    let g = Graph::new();
    let y = parse(&g, &Env::new(DType::F64), "x * y + y * x");
    let p = Pipeline::new().then_step(Step::Fixpoint {
        name: "mine",
        passes: vec![Box::new(Cse), Box::new(Algebra)],
        limit: 4,
    });
    let out = p.run(&g, &[y]).unwrap();
    assert_eq!(out.nodes_after(), 2, "2 * (x * y)");
    assert!(format!("{p:?}").contains("mine(cse, algebra) x4"));
}
