//! The policy partition against the reference evaluator on random worlds (group and
//! prefix-list peers, IPv6, NAT, ties, classic NICs, inner access): the regions of a policy
//! are disjoint and cover its space, and every random packet's reference decision (verdict,
//! reason, rule) is its region's; a packet outside the space is one the reference refuses.

mod support;

use proptest::prelude::*;
use sgsim::analysis::policy::{targets, Policy, TargetId, WorldIndex};
use sgsim::analysis::space::Region;
use sgsim::engine::reference;
use sgsim::model::*;
use std::net::IpAddr;
use support::worlds::*;

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
                    let q = if q.has_ports() { *q } else { Packet { src_port: 0, dst_port: 0, ..*q } };
                    packets.push(q);
                    for a in own_addrs(&world, &t) {
                        if a.is_ipv4() == q.src.is_ipv4() {
                            packets.push(match direction {
                                Direction::Ingress => Packet { dst: a, ..q },
                                Direction::Egress => Packet { src: a, ..q },
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
