//! The random rule sets and packets of the matcher property tests (`engine::matcher_prop`,
//! `engine::matcher_update_prop`): engine rules and packets drawn from a small
//! [`RuleSpace`] of addresses, prefix lengths, ports, ids, ranks and protocols, so that
//! rules overlap and tie often. Each test names its own space; the drawing is shared.

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use proptest::prelude::*;
use sgsim::engine::rule::EngineRule;
use sgsim::model::{Family, Packet, Policy, PortRange};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What random rules and packets are drawn from.
#[derive(Debug)]
pub struct RuleSpace {
    /// IPv4 addresses, each drawn with its two low bits flipped at random.
    pub v4_bases: &'static [u32],
    /// IPv4 prefix lengths.
    pub v4_lens: &'static [u8],
    /// IPv6 addresses, each drawn with its two low bits flipped at random.
    pub v6_bases: &'static [u128],
    /// IPv6 prefix lengths.
    pub v6_lens: &'static [u8],
    /// The weights of IPv4 and IPv6 among networks.
    pub net_weights: (u32, u32),
    /// The weights of IPv4 and IPv6 among packets.
    pub packet_weights: (u32, u32),
    /// Ports: the ends of port ranges, and the ports of packets.
    pub ports: &'static [u16],
    /// Rule ids (repeated, so that ties at equal rank fall to the id).
    pub ids: &'static [&'static str],
    /// Ranks are drawn from 1 up to this, excluded.
    pub rank_end: u32,
    /// The protocols of rules (or none: any protocol).
    pub rule_protocols: &'static [u8],
    /// The protocols of packets.
    pub packet_protocols: &'static [u8],
    /// Peers are one network (weight 6) or, with this weight, a list of 0 to
    /// `many_peers - 1` networks of either family (what group and prefix-list peers lower to).
    pub many_weight: u32,
    /// See `many_weight`.
    pub many_peers: usize,
}

/// An IPv4 address of the space, as a number.
pub fn v4_addr(s: &'static RuleSpace) -> impl Strategy<Value = u32> {
    (prop::sample::select(s.v4_bases), 0u32..4).prop_map(|(b, d)| b ^ d)
}

/// An IPv6 address of the space, as a number.
pub fn v6_addr(s: &'static RuleSpace) -> impl Strategy<Value = u128> {
    (prop::sample::select(s.v6_bases), 0u128..4).prop_map(|(b, d)| b ^ d)
}

/// A network of either family (truncated to its prefix).
pub fn any_net(s: &'static RuleSpace) -> BoxedStrategy<IpNet> {
    prop_oneof![
        s.net_weights.0 => (v4_addr(s), prop::sample::select(s.v4_lens))
            .prop_map(|(a, l)| IpNet::V4(Ipv4Net::new(Ipv4Addr::from(a), l).unwrap().trunc())),
        s.net_weights.1 => (v6_addr(s), prop::sample::select(s.v6_lens))
            .prop_map(|(a, l)| IpNet::V6(Ipv6Net::new(Ipv6Addr::from(a), l).unwrap().trunc())),
    ]
    .boxed()
}

/// A port range: any port, or one between two ports of the space.
pub fn ports(s: &'static RuleSpace) -> impl Strategy<Value = PortRange> {
    prop_oneof![
        2 => Just(PortRange::ANY),
        3 => (prop::sample::select(s.ports), prop::sample::select(s.ports))
            .prop_map(|(a, b)| PortRange::new(a.min(b), a.max(b)).unwrap()),
    ]
}

/// An engine rule of group `sg-x`.
pub fn rule(s: &'static RuleSpace) -> impl Strategy<Value = EngineRule> {
    (
        prop::sample::select(s.ids),
        1u32..s.rank_end,
        prop::bool::ANY,
        prop::option::of(prop::sample::select(s.rule_protocols)),
        prop::option::of(prop_oneof![Just(Family::V4), Just(Family::V6)]),
        ports(s),
        ports(s),
        prop_oneof![
            6 => prop::collection::vec(any_net(s), 1..2),
            s.many_weight => prop::collection::vec(any_net(s), 0..s.many_peers),
        ],
        prop::option::of(any_net(s)),
    )
        .prop_map(
            |(id, rank, drop, protocol, family, dst, src, peer, local)| EngineRule {
                id: id.to_string(),
                group: "sg-x".to_string(),
                rank,
                policy: if drop { Policy::Drop } else { Policy::Accept },
                protocol,
                family,
                dst_ports: dst,
                src_ports: src,
                peer,
                local,
            },
        )
}

/// A packet between two addresses of one family of the space.
pub fn packet(s: &'static RuleSpace) -> impl Strategy<Value = Packet> {
    let addrs = prop_oneof![
        s.packet_weights.0 => (v4_addr(s), v4_addr(s)).prop_map(|(a, b)| (
            IpAddr::V4(Ipv4Addr::from(a)),
            IpAddr::V4(Ipv4Addr::from(b))
        )),
        s.packet_weights.1 => (v6_addr(s), v6_addr(s)).prop_map(|(a, b)| (
            IpAddr::V6(Ipv6Addr::from(a)),
            IpAddr::V6(Ipv6Addr::from(b))
        )),
    ];
    (
        prop::sample::select(s.packet_protocols),
        addrs,
        prop::sample::select(s.ports),
        prop::sample::select(s.ports),
    )
        .prop_map(|(protocol, (src, dst), sp, dp)| Packet::new(protocol, src, sp, dst, dp).unwrap())
}
