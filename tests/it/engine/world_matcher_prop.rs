//! The compiled world against the reference evaluator: random worlds (VPC and classic, basic
//! and advanced groups, inner access Accept and Drop, group and prefix-list peers, local
//! CIDRs, NIC types, public addresses, secondary ENIs, shared and missing addresses) and
//! random packets, decided for every kind of target (none, instance, ENI, group, unknown) in
//! both directions: the same `Decision` (verdict, reason, rule, group, packet, target) or the
//! same error. Also after the world changes, through `WorldMatcher::update`.
//! `SGSIM_PROPTEST_CASES` raises the case count (default 256).

use crate::support::config;
use crate::support::worlds::*;
use proptest::prelude::*;
use sgsim::engine::compile::{BatchQuery, WorldMatcher};
use sgsim::engine::reference;
use sgsim::engine::target::{TargetRef, WorldIndex};
use sgsim::model::*;
use std::net::IpAddr;

const TARGETS: [Option<&str>; 15] = [
    None,
    None,
    None,
    None,
    None,
    None,
    Some("i-0"),
    Some("i-1"),
    Some("eni-0"),
    Some("eni-1"),
    Some("sg-a"),
    Some("sg-b"),
    Some("sg-c"),
    Some("i-9"),
    Some("i-2"),
];

fn compare(
    world: &World,
    m: &WorldMatcher,
    pk: &[(Packet, usize, bool)],
) -> Result<(), TestCaseError> {
    // Addresses owned by exactly one ENI (private, or a primary's public one).
    let mut owned: Vec<IpAddr> = Vec::new();
    let mut all: Vec<IpAddr> = world
        .enis()
        .flat_map(|e| e.private_ips.iter().copied().chain(e.public_ip()))
        .collect();
    all.sort();
    for a in &all {
        if all.iter().filter(|b| *b == a).count() == 1 {
            owned.push(*a);
        }
    }
    let mut queries = Vec::new();
    let mut extra = Vec::new();
    for (i, (p, _, egress)) in pk.iter().enumerate() {
        // The same packet aimed at an owned address as its local end (no `to`).
        if let Some(&a) = owned.get(i % owned.len().max(1)) {
            let peer = if *egress { p.dst() } else { p.src() };
            if peer.is_ipv4() == a.is_ipv4() {
                let q = if *egress {
                    p.with_src(a).unwrap()
                } else {
                    p.with_dst(a).unwrap()
                };
                extra.push((q, 0usize, *egress));
            }
        }
    }
    for (p, to, egress) in pk.iter().chain(extra.iter()) {
        let to = TARGETS[*to];
        for direction in [Direction::Ingress, Direction::Egress] {
            let want = reference::decide(world, p, to, direction);
            let got = m.decide(p, to, direction);
            prop_assert_eq!(&got, &want, "{:?} to {:?} {:?}", p, to, direction);
        }
        let direction = if *egress {
            Direction::Egress
        } else {
            Direction::Ingress
        };
        queries.push(BatchQuery {
            packet: *p,
            to,
            direction,
        });
    }
    let batch = m.decide_batch(&queries);
    for (q, got) in queries.iter().zip(batch) {
        prop_assert_eq!(got, reference::decide(world, &q.packet, q.to, q.direction));
    }
    Ok(())
}

/// A resolved target, by ids: (target id, ENI or group, group ids, NIC, local address).
type Plain = (String, bool, Vec<String>, Option<NicType>, IpAddr);

/// The oracle of the index: target resolution as a deliberately simple linear walk over
/// `World::enis()` and `World::group()` (what the reference did before the index).
fn linear_resolve(
    world: &World,
    packet: &Packet,
    to: Option<&str>,
    direction: Direction,
) -> Result<Plain, reference::TargetError> {
    use reference::TargetError as E;
    let local = packet.local(direction);
    let owners: Vec<EniRef<'_>> = world.enis().filter(|e| e.owns(local)).collect();
    let ids = || owners.iter().map(|e| e.id.to_string()).collect::<Vec<_>>();
    let eni = match to {
        Some(id) if world.eni(id).is_none() => {
            let g = world
                .group(id)
                .ok_or_else(|| E::UnknownTarget(id.to_string()))?;
            let nic = g.is_classic().then_some(NicType::Intranet);
            return Ok((g.id.clone(), false, vec![g.id.clone()], nic, local));
        }
        Some(id) => *owners
            .iter()
            .find(|e| e.id == id)
            .ok_or_else(|| E::NotOwner {
                target: id.to_string(),
                addr: local,
                candidates: ids(),
            })?,
        None => match owners.as_slice() {
            [one] => *one,
            [] => return Err(E::NoOwner { addr: local }),
            _ => {
                return Err(E::Ambiguous {
                    addr: local,
                    candidates: ids(),
                })
            }
        },
    };
    let groups: Vec<String> = eni
        .security_groups
        .iter()
        .filter_map(|g| world.group(g))
        .map(|g| g.id.clone())
        .collect();
    let public = !eni.private_ips.contains(&local) && eni.public_ip() == Some(local);
    let (nic, local) = match (eni.vpc_id().is_none(), public) {
        (true, true) => (Some(NicType::Internet), local),
        (true, false) => (Some(NicType::Intranet), local),
        (false, true) => (
            None,
            eni.instance
                .primary_private_ipv4()
                .ok_or_else(|| E::NoPrivateIpv4 {
                    target: eni.id.to_string(),
                })?,
        ),
        (false, false) => (None, local),
    };
    Ok((eni.id.to_string(), true, groups, nic, local))
}

/// The oracle of inner access: the first of the target's basic groups with inner access
/// Accept of which the peer is a private address of a member ENI other than the target,
/// walking `World::members`.
fn linear_inner(world: &World, t: &Plain, peer: IpAddr) -> Option<String> {
    let except = t.1.then_some(t.0.as_str());
    t.2.iter()
        .filter_map(|id| world.group(id))
        .find(|g| {
            g.group_type == GroupType::Normal
                && g.inner_access_policy == InnerAccessPolicy::Accept
                && world
                    .members(&g.id)
                    .any(|m| Some(m.id) != except && m.private_ips.contains(&peer))
        })
        .map(|g| g.id.clone())
}

fn index_agrees(world: &World, pk: &[(Packet, usize, bool)]) -> Result<(), TestCaseError> {
    let index = WorldIndex::new(world);
    for (p, to, _) in pk {
        let to = TARGETS[*to];
        for direction in [Direction::Ingress, Direction::Egress] {
            let want = linear_resolve(world, p, to, direction);
            let got = index.resolve(p, to, direction);
            let plain = got
                .as_ref()
                .map(|r| {
                    (
                        r.id.to_string(),
                        matches!(r.kind, TargetRef::Eni(_)),
                        r.groups
                            .iter()
                            .map(|&g| world.security_groups[g].id.clone())
                            .collect::<Vec<_>>(),
                        r.nic,
                        r.local,
                    )
                })
                .map_err(Clone::clone);
            prop_assert_eq!(&plain, &want, "{:?} to {:?} {:?}", p, to, direction);
            if let (Ok(r), Ok(w)) = (&got, &want) {
                // The reference's view of the target is the world's ENI or group.
                let t = reference::resolve_target(world, p, to, direction).unwrap();
                let (kind_id, ips) = match t.kind {
                    reference::TargetKind::Eni(e) => {
                        (e.id.to_string(), Some(e.private_ips.to_vec()))
                    }
                    reference::TargetKind::Group(g) => (g.id.clone(), None),
                };
                prop_assert_eq!(&kind_id, &w.0);
                if let Some(ips) = ips {
                    let e = world.enis().find(|e| e.id == w.0).unwrap();
                    prop_assert_eq!(ips, e.private_ips.to_vec());
                }
                let peer = p.peer(direction);
                prop_assert_eq!(
                    index.inner_access(r, peer).map(str::to_string),
                    linear_inner(world, w, peer),
                    "inner access {:?} to {:?} {:?}",
                    p,
                    to,
                    direction
                );
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn index_equals_linear_resolver(
        (groups, instances, pl) in world_spec(),
        pk in packets(),
    ) {
        let world = build_world(&groups, &instances, &pl);
        index_agrees(&world, &pk)?;
    }

    #[test]
    fn world_matcher_equals_reference(
        (groups, instances, pl) in world_spec(),
        pk in packets(),
        (groups2, instances2, pl2) in world_spec(),
    ) {
        let world = build_world(&groups, &instances, &pl);
        let m = WorldMatcher::compile(&world).unwrap();
        compare(&world, &m, &pk)?;
        // The world changes: a prefix list's entries, a group's rules, the members. The
        // updated matcher follows.
        let mut world2 = build_world(&groups, &instances2, &pl2);
        if let (Some(g), Some(g2)) = (world2.security_groups.first_mut(), groups2.first()) {
            g.rules = g2.rules.iter().enumerate().map(|(i, r)| build_rule(r, 1000 + i)).collect();
        }
        let m2 = m.update(&world2).unwrap();
        compare(&world2, &m2, &pk)?;
    }
}

#[test]
fn update_reuses_unchanged_sets() {
    let groups = vec![
        GroupSpec {
            enterprise: false,
            vpc: 1,
            inner_accept: true,
            rules: vec![],
        },
        GroupSpec {
            enterprise: false,
            vpc: 1,
            inner_accept: true,
            rules: vec![],
        },
    ];
    let eni = |g: usize, ip: usize| EniSpec {
        groups: vec![g],
        ips: vec![ip],
    };
    let instances = vec![
        InstanceSpec {
            vpc: 1,
            primary: eni(0, 0),
            public: None,
            secondary: None,
        },
        InstanceSpec {
            vpc: 1,
            primary: eni(1, 1),
            public: None,
            secondary: None,
        },
    ];
    let mut world = build_world(&groups, &instances, &[]);
    let m = WorldMatcher::compile(&world).unwrap();
    // A rule added to sg-b: only sg-b's ingress list changes (for its ENI and as a target).
    world.security_groups[1].rules.push(Rule {
        id: "sgr-new".into(),
        direction: Direction::Ingress,
        protocol: IpProtocol::Tcp,
        port_range: PortRange::new(22, 22),
        source_port_range: None,
        peer: Peer::Cidr("0.0.0.0/0".parse().unwrap()),
        local_cidr: None,
        nic_type: NicType::Intranet,
        policy: Policy::Accept,
        priority: 1,
        description: String::new(),
        create_time: String::new(),
    });
    let m2 = m.update(&world).unwrap();
    let (compiled, reused) = m2.build_stats();
    assert_eq!(compiled, 1);
    assert!(reused >= 1);
    let p = sgsim::packet::parse_packet("tcp 8.8.8.8:1 -> 10.0.0.2:22").unwrap();
    let d = m2.decide(&p, None, Direction::Ingress).unwrap();
    assert_eq!(d.reason.rule_id(), Some("sgr-new"));
    assert_eq!(
        Ok(d),
        reference::decide(&world, &p, None, Direction::Ingress)
    );
}

#[test]
fn larger_world_compiles_fast_and_agrees() {
    // 4 groups of 60 rules (group and prefix-list peers among them), 120 instances with
    // secondary ENIs: compile once, then every packet agrees with the reference.
    let mut seed = 0x1234_5678_u64;
    let mut next = |n: usize| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 33) as usize) % n
    };
    let groups: Vec<GroupSpec> = (0..4)
        .map(|_| GroupSpec {
            enterprise: next(4) == 0,
            vpc: 1,
            inner_accept: next(2) == 0,
            rules: (0..60)
                .map(|_| RuleSpec {
                    egress: next(2) == 0,
                    proto: next(6),
                    ports: Some((next(6), next(6))),
                    sports: None,
                    peer: (next(3) as u8, next(10)),
                    local: (next(4) == 0).then(|| next(10)),
                    internet: false,
                    drop: next(3) == 0,
                    priority: 1 + next(3) as u8,
                    id: next(1000) as u16,
                })
                .collect(),
        })
        .collect();
    let instances: Vec<InstanceSpec> = (0..120)
        .map(|_| InstanceSpec {
            vpc: 1,
            primary: EniSpec {
                groups: vec![next(4)],
                ips: vec![next(11)],
            },
            public: (next(3) == 0).then(|| 5 + next(3)),
            secondary: (next(3) == 0).then(|| EniSpec {
                groups: vec![next(4), next(4)],
                ips: vec![next(11)],
            }),
        })
        .collect();
    let world = build_world(&groups, &instances, &[0, 6, 9]);
    let m = WorldMatcher::compile(&world).unwrap();
    for i in 0..300 {
        let (s, d) = (addr(next(11)), addr(next(11)));
        if s.is_ipv4() != d.is_ipv4() {
            continue;
        }
        let protocol = [6u8, 17, 1, 58][next(4)];
        let (sp, dp) = (PORTS[next(6)], PORTS[next(6)]);
        let p = Packet::new(protocol, s, sp, d, dp).unwrap();
        let to = [None, Some("i-3"), Some("sg-b")][i % 3];
        for direction in [Direction::Ingress, Direction::Egress] {
            assert_eq!(
                m.decide(&p, to, direction),
                reference::decide(&world, &p, to, direction)
            );
        }
    }
}
