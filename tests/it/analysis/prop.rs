//! The policy partition against the reference evaluator on random worlds (group and
//! prefix-list peers, IPv6, NAT, ties, classic NICs, inner access): the regions of a policy
//! are disjoint and cover its space, and every random packet's reference decision (verdict,
//! reason, rule) is its region's; a packet outside the space is one the reference refuses.

use crate::support::worlds::*;
use proptest::prelude::*;
use sgsim::analysis::policy::{targets, Policy, TargetId, WorldIndex};
use sgsim::analysis::space::Region;
use sgsim::engine::reference;
use sgsim::model::*;
use std::net::IpAddr;

fn cases() -> u32 {
    std::env::var("SGSIM_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(128)
}

/// Every target of lint and audit, and every group standing as a target.
fn all_targets(world: &World) -> Vec<TargetId> {
    let mut t = targets(world, &[]).unwrap();
    for g in &world.security_groups {
        let id = TargetId::Group(g.id.clone());
        if !t.contains(&id) {
            t.push(id);
        }
    }
    t
}

fn check_partition(p: &Policy) -> Result<(), TestCaseError> {
    let pieces: Vec<&Region> = p.pieces().map(|(_, r)| r).collect();
    let mut union = Region::empty();
    for r in &pieces {
        prop_assert!(
            r.difference(&p.space).is_empty(),
            "a piece leaves the space"
        );
        union.extend_disjoint((*r).clone());
    }
    let boxes = union.boxes();
    for (i, a) in boxes.iter().enumerate() {
        for b in boxes.iter().skip(i + 1) {
            prop_assert!(!a.overlaps(b), "pieces overlap in {:?}", p.target);
        }
    }
    prop_assert!(p.space.difference(&union).is_empty(), "pieces do not cover");
    Ok(())
}

fn own_addrs(world: &World, t: &TargetId) -> Vec<IpAddr> {
    match t {
        TargetId::Eni(id) => world
            .eni(id)
            .map(|e| e.private_ips.iter().copied().chain(e.public_ip()).collect())
            .unwrap_or_default(),
        TargetId::Group(_) => Vec::new(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn partition_equals_reference((groups, instances, pl) in world_spec(), pk in packets()) {
        let world = build_world(&groups, &instances, &pl);
        let idx = WorldIndex::new(&world);
        for t in all_targets(&world) {
            for direction in [Direction::Ingress, Direction::Egress] {
                let p = idx.policy(&t, direction).unwrap();
                check_partition(&p)?;
                let mut packets: Vec<Packet> = Vec::new();
                for (q, _, _) in &pk {
                    let mut q = *q;
        if !q.has_ports() {
            q.src_port = 0;
            q.dst_port = 0;
        }
                    packets.push(q);
                    for a in own_addrs(&world, &t) {
                        if a.is_ipv4() == q.src().is_ipv4() {
                            packets.push(match direction {
                                Direction::Ingress => q.with_dst(a).unwrap(),
                                Direction::Egress => q.with_src(a).unwrap(),
                            });
                        }
                    }
                }
                // Witnesses of every piece too.
                packets.extend(p.pieces().filter_map(|(_, r)| r.witness(direction)));
                for q in packets {
                    let want = reference::decide(&world, &q, Some(t.id()), direction);
                    let got = p.decider_of(&q);
                    match (want, got) {
                        (Ok(d), Some(dec)) => {
                            prop_assert_eq!(p.verdict(dec), d.verdict, "{:?} {:?} {:?}", q, t, direction);
                            prop_assert_eq!(p.reason(dec), d.reason, "{:?} {:?} {:?}", q, t, direction);
                        }
                        (Err(_), None) => {}
                        (w, g) => prop_assert!(false, "{:?} {:?} {:?}: reference {:?}, policy {:?}", q, t, direction, w, g),
                    }
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    /// Lint's factored policy (peer atoms) against the full partition: every decider's
    /// region and every rule's matched region written out box for box alike, and the same
    /// findings, witnesses included.
    #[test]
    fn atoms_equal_the_full_policy((groups, instances, pl) in world_spec()) {
        use sgsim::analysis::lint::lint_policy;
        use sgsim::analysis::policy::Decider;
        let world = build_world(&groups, &instances, &pl);
        let idx = WorldIndex::new(&world);
        let (mut compared, mut all) = (0, 0);
        for t in all_targets(&world) {
            for direction in [Direction::Ingress, Direction::Egress] {
                let full = idx.policy(&t, direction).unwrap();
                all += 1;
                let Some(atoms) = sgsim::analysis::atoms::atom_policy(&idx, &t, direction).unwrap() else {
                    continue;
                };
                compared += 1;
                for (i, m) in full.matched.iter().enumerate() {
                    prop_assert_eq!(&atoms.matched_of(i), m, "matched {} {:?} {:?}", i, t, direction);
                    prop_assert_eq!(&atoms.region_of(Decider::Rule(i)), &full.decided[i], "decided {} {:?} {:?}", i, t, direction);
                    prop_assert_eq!(atoms.witness_of(Decider::Rule(i)), full.decided[i].witness(direction));
                }
                for (i, (_, r)) in full.inner.iter().enumerate() {
                    prop_assert_eq!(&atoms.region_of(Decider::Inner(i)), r, "inner {} {:?}", i, t);
                }
                prop_assert_eq!(&atoms.region_of(Decider::Default), &full.default, "default {:?} {:?}", t, direction);
                prop_assert_eq!(
                    lint_policy(&idx, &atoms).unwrap(),
                    lint_policy(&idx, &full).unwrap(),
                    "findings {:?} {:?}", t, direction
                );
            }
        }
        // The atlas cuts every ENI's own addresses apart, so no policy falls back.
        prop_assert_eq!(compared, all);
    }
}

/// The packets of a test aimed at a target: as generated, and with each of its own
/// addresses as the local end; ports 0 for protocols without ports.
fn aimed(
    world: &World,
    t: &TargetId,
    pk: &[(Packet, usize, bool)],
    direction: Direction,
) -> Vec<Packet> {
    let mut out = Vec::new();
    for (q, _, _) in pk {
        let mut q = *q;
        if !q.has_ports() {
            q.src_port = 0;
            q.dst_port = 0;
        }
        out.push(q);
        for a in own_addrs(world, t) {
            if a.is_ipv4() == q.src().is_ipv4() {
                out.push(match direction {
                    Direction::Ingress => q.with_dst(a).unwrap(),
                    Direction::Egress => q.with_src(a).unwrap(),
                });
            }
        }
    }
    out
}

fn without_rule(world: &World, id: &str) -> World {
    let mut w = world.clone();
    for g in &mut w.security_groups {
        g.rules.retain(|r| r.id != id);
    }
    w
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn lint_claims_hold((groups, instances, pl) in world_spec(), pk in packets()) {
        let world = build_world(&groups, &instances, &pl);
        let findings = sgsim::analysis::lint::lint(&world, &[]).unwrap();
        crate::support::claims::check_findings(&world, &findings).map_err(TestCaseError::fail)?;
        for f in &findings {
            let (Some(rule), Some(direction)) = (&f.rule, f.direction) else { continue };
            match f.kind {
                "redundant" => {
                    let w2 = without_rule(&world, rule);
                    for t in &f.targets {
                        let tid = if world.eni(t).is_some() { TargetId::Eni(t.clone()) } else { TargetId::Group(t.clone()) };
                        for q in aimed(&world, &tid, &pk, direction) {
                            let a = reference::decide(&world, &q, Some(t), direction).map(|d| d.verdict);
                            let b = reference::decide(&w2, &q, Some(t), direction).map(|d| d.verdict);
                            prop_assert_eq!(a, b, "removing redundant {} changed {:?} at {}", rule, q, t);
                        }
                    }
                }
                "shadowed" => {
                    for t in &f.targets {
                        let tid = if world.eni(t).is_some() { TargetId::Eni(t.clone()) } else { TargetId::Group(t.clone()) };
                        for q in aimed(&world, &tid, &pk, direction) {
                            if let Ok(d) = reference::decide(&world, &q, Some(t), direction) {
                                prop_assert_ne!(d.reason.rule_id(), Some(rule.as_str()), "shadowed {} decided {:?}", rule, q);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }

    #[test]
    fn diff_is_exact(
        (groups, instances, pl) in world_spec(),
        pk in packets(),
        (groups2, instances2, pl2) in world_spec(),
        keep_members in any::<bool>(),
    ) {
        let old = build_world(&groups, &instances, &pl);
        let mut new = if keep_members { build_world(&groups, &instances, &pl2) } else { build_world(&groups, &instances2, &pl2) };
        if let (Some(g), Some(g2)) = (new.security_groups.first_mut(), groups2.first()) {
            g.rules = g2.rules.iter().enumerate().map(|(i, r)| build_rule(r, 1000 + i)).collect();
        }
        let rows = sgsim::analysis::diff::diff(&old, &new, &[], false).unwrap();
        crate::support::claims::check_diff(&old, &new, &rows).map_err(TestCaseError::fail)?;
        let mut ts = all_targets(&old);
        for t in all_targets(&new) {
            if !ts.contains(&t) { ts.push(t); }
        }
        ts.retain(|t| targets(&old, &[]).unwrap().contains(t) || targets(&new, &[]).unwrap().contains(t));
        for t in &ts {
            for direction in [Direction::Ingress, Direction::Egress] {
                let mut packets = aimed(&old, t, &pk, direction);
                packets.extend(aimed(&new, t, &pk, direction));
                for q in packets {
                    let a = reference::decide(&old, &q, Some(t.id()), direction).map(|d| d.verdict).ok();
                    let b = reference::decide(&new, &q, Some(t.id()), direction).map(|d| d.verdict).ok();
                    if a != b {
                        let (f, proto, fields) = sgsim::analysis::space::packet_fields(&q, direction);
                        let inside = rows.iter().any(|r| r.target == t.id() && r.direction == direction && r.region.contains(f, proto, fields));
                        prop_assert!(inside, "{:?} at {:?} {:?} changes ({:?} -> {:?}) but lies in no row", q, t, direction, a, b);
                    }
                }
            }
        }
    }
}
