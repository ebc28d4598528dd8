//! The compiled matcher against the linear scan on random rule sets: overlaps, ties at equal
//! rank (drop wins, then the smallest id, then the first index), /0, /32, /128, ports 0, 1
//! and 65535, IPv6, multi-network peers (what group and prefix-list peers lower to), local
//! CIDRs, ICMP-style family confinement, and both directions; packets random and at the edges
//! of every rule. `SGSIM_PROPTEST_CASES` raises the case count (default 256).

use crate::support::config;
use crate::support::rules::{packet, rule, v4_addr, v6_addr, RuleSpace};
use proptest::prelude::*;
use sgsim::engine::matcher::Matcher;
use sgsim::engine::rule::{linear_scan_dir, EngineRule};
use sgsim::model::{Family, Packet, Policy, PortRange};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Addresses at and near the ends of the families and of common networks; prefix lengths
/// from /0 to /32 and /128; ports 0, 1, 65535 and the common ones.
static SPACE: RuleSpace = RuleSpace {
    v4_bases: &[
        0x0A00_0000,
        0x0A00_0001,
        0x0A00_0100,
        0x0A01_0000,
        0xC0A8_0001,
        0x0000_0000,
        0xFFFF_FFFF,
    ],
    v4_lens: &[0, 1, 8, 16, 24, 30, 31, 32],
    v6_bases: &[
        0x2001_0db8_0000_0000_0000_0000_0000_0001,
        0x2001_0db8_0000_0001_0000_0000_0000_0000,
        0x2001_0db8_0000_0000_0000_0000_0000_0000,
        0,
        u128::MAX,
    ],
    v6_lens: &[0, 1, 32, 64, 120, 127, 128],
    net_weights: (4, 2),
    packet_weights: (3, 2),
    ports: &[0, 1, 22, 80, 443, 1024, 65534, 65535],
    ids: &["a", "b", "ab", "b0", "sgr-1", "sgr-10", "sgr-2"],
    rank_end: 5,
    rule_protocols: &[6, 17, 1, 58, 47, 0],
    packet_protocols: &[6, 17, 1, 58, 47, 0, 255],
    many_weight: 2,
    many_peers: 6,
};

/// Packets at the edges of every rule: first and last address of the peer and local nets,
/// port interval ends, the rule's protocol.
fn edge_packets(rules: &[EngineRule]) -> Vec<Packet> {
    let mut out = Vec::new();
    for r in rules {
        for p in &r.peer {
            for peer in [p.network(), p.broadcast()] {
                let locals: Vec<IpAddr> = match (r.local, peer) {
                    (Some(l), _) if Family::of_net(&l) == Family::of(&peer) => {
                        vec![l.network(), l.broadcast()]
                    }
                    (_, IpAddr::V4(_)) => vec![IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))],
                    (_, IpAddr::V6(_)) => vec![IpAddr::V6(Ipv6Addr::LOCALHOST)],
                };
                for local in locals {
                    for (sp, dp) in [
                        (r.src_ports.start(), r.dst_ports.start()),
                        (r.src_ports.end(), r.dst_ports.end()),
                    ] {
                        let protocol = r.protocol.unwrap_or(6);
                        out.push(Packet::new(protocol, peer, sp, local, dp).unwrap());
                    }
                }
            }
        }
    }
    out
}

fn check(rules: &[EngineRule], m: &Matcher, p: &Packet) -> Result<(), TestCaseError> {
    // Ingress: peer = source; egress: peer = destination.
    prop_assert_eq!(
        m.lookup_dir(p, p.src(), p.dst()),
        linear_scan_dir(rules, p, p.src(), p.dst()),
        "ingress {:?}",
        p
    );
    prop_assert_eq!(m.lookup(p), linear_scan_dir(rules, p, p.src(), p.dst()));
    prop_assert_eq!(
        m.lookup_dir(p, p.dst(), p.src()),
        linear_scan_dir(rules, p, p.dst(), p.src()),
        "egress {:?}",
        p
    );
    Ok(())
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn matcher_equals_linear_scan(
        rules in prop::collection::vec(rule(&SPACE), 0..40),
        packets in prop::collection::vec(packet(&SPACE), 1..40),
    ) {
        let m = Matcher::compile(&rules).unwrap();
        for p in packets.iter().chain(edge_packets(&rules).iter()) {
            check(&rules, &m, p)?;
        }
        // Batch answers in input order.
        let batch = m.lookup_batch(&packets);
        let one: Vec<_> = packets.iter().map(|p| m.lookup(p)).collect();
        prop_assert_eq!(batch, one);
    }

    #[test]
    fn larger_sets_equal_linear_scan(
        rules in prop::collection::vec(rule(&SPACE), 64..200),
        packets in prop::collection::vec(packet(&SPACE), 1..60),
    ) {
        // Past 64 entries the compiler builds several layouts and keeps the cheapest.
        let m = Matcher::compile(&rules).unwrap();
        for p in packets.iter().chain(edge_packets(&rules).iter().step_by(3)) {
            check(&rules, &m, p)?;
        }
    }

    #[test]
    fn mixed_family_queries_match_nothing(
        rules in prop::collection::vec(rule(&SPACE), 0..30),
        packet in packet(&SPACE),
        a in v4_addr(&SPACE),
        b in v6_addr(&SPACE),
    ) {
        // No valid packet makes a query whose addresses differ in family: the matcher
        // answers None for every such query (and never panics), whatever the rules.
        let m = Matcher::compile(&rules).unwrap();
        let (a, b) = (IpAddr::V4(Ipv4Addr::from(a)), IpAddr::V6(Ipv6Addr::from(b)));
        for (peer, local) in [(a, b), (b, a)] {
            prop_assert_eq!(m.lookup_dir(&packet, peer, local), None);
        }
        // The packet's own family differs from the peer's and the local's.
        let other = if packet.src().is_ipv4() { b } else { a };
        prop_assert_eq!(m.lookup_dir(&packet, other, other), None);
    }
}

#[test]
fn many_rules_many_tables() {
    // Enough rules that buckets overflow and several tables of one tuple exist.
    let rules = sgsim::generate::generate(5000, 3);
    let m = Matcher::compile(&rules).unwrap();
    for p in sgsim::generate::packets(&rules, 3000, 4) {
        assert_eq!(m.lookup(&p), linear_scan_dir(&rules, &p, p.src(), p.dst()));
        assert_eq!(
            m.lookup_dir(&p, p.dst(), p.src()),
            linear_scan_dir(&rules, &p, p.dst(), p.src())
        );
    }
    // Many /0 rules on distinct ports: the fallback tuples with exact ports.
    let wild: Vec<EngineRule> = (0..3000u16)
        .map(|i| EngineRule {
            id: format!("w{i:05}"),
            group: String::new(),
            rank: u32::from(i % 7),
            policy: if i % 3 == 0 {
                Policy::Drop
            } else {
                Policy::Accept
            },
            protocol: Some(6),
            family: None,
            dst_ports: PortRange::single(i),
            src_ports: PortRange::ANY,
            peer: vec!["0.0.0.0/0".parse().unwrap()],
            local: None,
        })
        .collect();
    let m = Matcher::compile(&wild).unwrap();
    let (t4, _) = m.table_counts();
    assert!(t4 < 20, "{t4} tables");
    for port in 0..3100u16 {
        let p = Packet::new(
            6,
            "1.2.3.4".parse().unwrap(),
            1,
            "10.0.0.1".parse().unwrap(),
            port,
        )
        .unwrap();
        assert_eq!(m.lookup(&p), linear_scan_dir(&wild, &p, p.src(), p.dst()));
    }
}
