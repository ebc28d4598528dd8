//! Long random sequences of API-like changes on a world (rules authorized, revoked,
//! modified and replaced in bulk, instances joining and leaving groups, addresses and
//! prefix-list entries changing), the compiled world brought up to date with
//! `WorldMatcher::update` after every call (single-rule changes go through the sets'
//! overlays, folded when they grow) and checked against the reference and a fresh compile.
//! `SGSIM_PROPTEST_CASES` raises the case count (default 48).

use crate::support::config;
use crate::support::worlds::*;
use proptest::prelude::*;
use sgsim::engine::compile::WorldMatcher;
use sgsim::engine::reference;
use sgsim::generate_world::{self, Shape};
use sgsim::model::*;

const TARGETS: [Option<&str>; 6] = [None, None, None, Some("i-0"), Some("eni-1"), Some("sg-b")];

/// One API-like change.
#[derive(Debug, Clone)]
enum Call {
    Authorize(usize, RuleSpec),
    Revoke(usize, usize),
    Modify(usize, usize, RuleSpec),
    Replace(usize, Vec<RuleSpec>),
    Join(usize, usize),
    Leave(usize, usize),
    Address(usize, usize),
    PrefixList(Vec<usize>),
}

fn call() -> impl Strategy<Value = Call> {
    prop_oneof![
        6 => (0usize..4, rule_spec()).prop_map(|(g, r)| Call::Authorize(g, r)),
        4 => (0usize..4, 0usize..100).prop_map(|(g, k)| Call::Revoke(g, k)),
        2 => (0usize..4, 0usize..100, rule_spec()).prop_map(|(g, k, r)| Call::Modify(g, k, r)),
        1 => (0usize..4, prop::collection::vec(rule_spec(), 0..45))
            .prop_map(|(g, r)| Call::Replace(g, r)),
        1 => (0usize..5, 0usize..4).prop_map(|(i, g)| Call::Join(i, g)),
        1 => (0usize..5, 0usize..3).prop_map(|(i, k)| Call::Leave(i, k)),
        1 => (0usize..5, 0usize..11).prop_map(|(i, a)| Call::Address(i, a)),
        1 => prop::collection::vec(0usize..10, 0..4).prop_map(Call::PrefixList),
    ]
}

/// Applies a call to the world (calls naming what is not there change nothing).
fn apply(w: &mut World, c: &Call, n: &mut usize) {
    let groups = w.security_groups.len();
    let instances = w.instances.len();
    match c {
        Call::Authorize(g, r) => {
            *n += 1;
            w.security_groups[g % groups].rules.push(build_rule(r, *n));
        }
        Call::Revoke(g, k) => {
            let rules = &mut w.security_groups[g % groups].rules;
            if !rules.is_empty() {
                let k = k % rules.len();
                rules.remove(k);
            }
        }
        Call::Modify(g, k, r) => {
            let rules = &mut w.security_groups[g % groups].rules;
            if !rules.is_empty() {
                let k = k % rules.len();
                let id = rules[k].id.clone();
                *n += 1;
                rules[k] = Rule {
                    id,
                    ..build_rule(r, *n)
                };
            }
        }
        Call::Replace(g, rs) => {
            let rules = rs
                .iter()
                .map(|r| {
                    *n += 1;
                    build_rule(r, *n)
                })
                .collect();
            w.security_groups[g % groups].rules = rules;
        }
        Call::Join(i, g) => {
            let id = w.security_groups[g % groups].id.clone();
            let sgs = &mut w.instances[i % instances].security_groups;
            if !sgs.contains(&id) {
                sgs.push(id);
            }
        }
        Call::Leave(i, k) => {
            let sgs = &mut w.instances[i % instances].security_groups;
            if !sgs.is_empty() {
                let k = k % sgs.len();
                sgs.remove(k);
            }
        }
        Call::Address(i, a) => {
            let ips = &mut w.instances[i % instances].private_ips;
            let a = addr(*a);
            if !ips.contains(&a) {
                ips.push(a);
            }
        }
        Call::PrefixList(nets) => {
            for pl in &mut w.prefix_lists {
                pl.entries = nets
                    .iter()
                    .map(|&i| net(i))
                    .filter(|x| Family::of_net(x) == pl.address_family)
                    .map(|cidr| PrefixListEntry {
                        cidr,
                        description: String::new(),
                    })
                    .collect();
                pl.entries.dedup_by_key(|e| e.cidr);
            }
        }
    }
}

fn agree(
    w: &World,
    m: &WorldMatcher,
    pk: &[(Packet, usize, bool)],
    step: usize,
) -> Result<(), TestCaseError> {
    let fresh = WorldMatcher::compile(w).unwrap();
    for (p, to, _) in pk {
        let to = TARGETS[to % TARGETS.len()];
        for direction in [Direction::Ingress, Direction::Egress] {
            let want = reference::decide(w, p, to, direction);
            let got = m.decide(p, to, direction);
            prop_assert_eq!(
                &got,
                &want,
                "step {}: {:?} to {:?} {:?}",
                step,
                p,
                to,
                direction
            );
            prop_assert_eq!(fresh.decide(p, to, direction), want);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(48))]

    #[test]
    fn long_call_sequences_equal_the_reference(
        (groups, instances, pl) in world_spec(),
        calls in prop::collection::vec(call(), 20..80),
        pk in packets(),
    ) {
        let mut world = build_world(&groups, &instances, &pl);
        let mut m = WorldMatcher::compile(&world).unwrap();
        let mut n = 10_000;
        for (step, c) in calls.iter().enumerate() {
            apply(&mut world, c, &mut n);
            m = m.update(&world).unwrap();
            let s = m.stats();
            if matches!(c, Call::Authorize(..) | Call::Revoke(..) | Call::Modify(..)) {
                // A rule call touches one group: nothing else is recompiled, the index stays.
                prop_assert!(!s.index_rebuilt, "step {}: {:?}", step, s);
                prop_assert!(s.compiled + s.patched <= 6, "step {}: {:?}", step, s);
            }
            agree(&world, &m, &pk, step)?;
        }
    }
}

/// An added rule in one group of a generated world goes through that set's overlay: one
/// set patched, nothing compiled, the index kept; a hundred more fold it.
#[test]
fn rule_calls_patch_one_set_and_fold() {
    let mut world = generate_world::world(Shape::ManyGroups, 300, 7);
    let m0 = WorldMatcher::compile(&world).unwrap();
    let g = 5;
    let mut r: Rule = world.security_groups[g].rules[0].clone();
    r.id = "sgr-999999999000".into();
    r.priority = 1;
    r.policy = Policy::Drop;
    r.direction = Direction::Ingress;
    world.security_groups[g].rules.push(r.clone());
    let mut m = m0.update(&world).unwrap();
    let s = m.stats();
    assert_eq!((s.compiled, s.patched, s.inserted, s.removed), (0, 1, 1, 0));
    assert!(!s.index_rebuilt);
    assert_eq!(s.reused, 2 * generate_world::GROUPS - 1);
    // Nothing changed: everything reused.
    let same = m.update(&world).unwrap();
    assert_eq!(same.stats().reused, 2 * generate_world::GROUPS);
    // Many single-rule calls on the group: patched until the overlay folds.
    let mut compiled = 0;
    for i in 0..100 {
        let mut r = r.clone();
        r.id = format!("sgr-{:012}", 999_999_999_001u64 + i);
        r.priority = 1 + (i % 100) as u8;
        world.security_groups[g].rules.push(r);
        if i % 3 == 0 {
            world.security_groups[g].rules.remove(1);
        }
        m = m.update(&world).unwrap();
        let s = m.stats();
        // The ingress set, and the egress one when the removed rule was egress.
        assert!((1..=2).contains(&(s.compiled + s.patched)), "{s:?}");
        assert!(!s.index_rebuilt);
        compiled += s.compiled;
    }
    assert!((2..=7).contains(&compiled), "{compiled} folds");
    // The world matcher still answers as the reference on the batch packets.
    let fresh = WorldMatcher::compile(&world).unwrap();
    for line in generate_world::batch_lines(300, 300, 3) {
        let (text, direction) = match line.strip_suffix(" egress") {
            Some(t) => (t, Direction::Egress),
            None => (line.as_str(), Direction::Ingress),
        };
        let p = sgsim::packet::parse_packet(text).unwrap();
        let want = reference::decide(&world, &p, None, direction);
        assert_eq!(m.decide(&p, None, direction), want, "{line}");
        assert_eq!(fresh.decide(&p, None, direction), want, "{line}");
    }
    // An instance joining a group rebuilds the index; groups naming it as a peer change.
    world.instances[0]
        .security_groups
        .push(world.security_groups[0].id.clone());
    let m2 = m.update(&world).unwrap();
    assert!(m2.stats().index_rebuilt);
}
