//! Seeded synthetic rule sets of realistic shape, and packets aimed at them, for benchmarks
//! and tests at sizes no public set reaches (100k rules and more).
//!
//! The shape follows what security groups hold: most peers are single hosts (/32, /128) or
//! subnets (/24, /64) drawn from a few address pools so that they overlap and share
//! prefixes; some are wider (/8–/30) and a few are wildcards (`0.0.0.0/0`, `::/0`); about
//! one rule in six is IPv6. Protocols are mostly TCP and UDP on common service ports, some
//! port ranges, ICMP/ICMPv6 (confined to their family, as API rules are) and `ALL`. A fifth
//! of the rules carry a local CIDR, a tenth a source-port range. Ranks run 1–100 with a
//! bias to small numbers, so ranks tie heavily, and a fifth of the rules drop, so ties
//! between drop and accept occur; ids are unique `sgr-` + 12 digits in an order unrelated
//! to the rule's position.
//!
//! The same `(n, seed)` gives the same rules on every machine: the generator uses its own
//! SplitMix64 and no platform-dependent hashing.

use crate::engine::rule::EngineRule;
use crate::model::{
    Family, Packet, Policy, PortRange, PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP,
};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// SplitMix64: a small, fast, seedable generator (Steele, Lea, Flood 2014).
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from a seed.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        // Lemire's multiply-shift; the tiny bias is irrelevant here.
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// True with probability `percent`/100.
    pub fn percent(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo).saturating_add(1))
    }

    /// One element of a non-empty slice (the first when empty is impossible by type).
    pub fn pick<T: Copy>(&mut self, items: &[T], fallback: T) -> T {
        items
            .get(self.below(items.len() as u64) as usize)
            .copied()
            .unwrap_or(fallback)
    }
}

/// Service ports that rules name most often.
const COMMON_PORTS: [u16; 16] = [
    22, 80, 443, 3306, 5432, 6379, 8080, 53, 123, 3389, 9200, 27017, 8443, 25, 11211, 2379,
];

/// Port ranges that rules name often.
const COMMON_RANGES: [(u16, u16); 6] = [
    (1024, 65535),
    (8000, 8999),
    (30000, 32767),
    (1, 1023),
    (5000, 5100),
    (49152, 65535),
];

fn v4(bits: u32, len: u8) -> IpNet {
    Ipv4Net::new(Ipv4Addr::from(bits), len)
        .map(|n| IpNet::V4(n.trunc()))
        .unwrap_or(IpNet::V4(Ipv4Net::default()))
}

fn v6(bits: u128, len: u8) -> IpNet {
    Ipv6Net::new(Ipv6Addr::from(bits), len)
        .map(|n| IpNet::V6(n.trunc()))
        .unwrap_or(IpNet::V6(Ipv6Net::default()))
}

/// An IPv4 address from one of a few pools: private ranges dense enough that peers collide
/// and nest, plus some public space.
fn v4_addr(r: &mut SplitMix64) -> u32 {
    match r.below(10) {
        0..=3 => 0x0A00_0000 | r.below(1 << 16) as u32, // 10.0.0.0/16
        4..=5 => 0xAC10_0000 | r.below(1 << 12) as u32, // 172.16.0.0/20
        6 => 0xC0A8_0000 | r.below(1 << 10) as u32,     // 192.168.0.0/22
        _ => r.next_u64() as u32,                       // anywhere
    }
}

fn v6_addr(r: &mut SplitMix64) -> u128 {
    let base: u128 = 0x2001_0db8 << 96;
    match r.below(4) {
        0..=2 => base | (u128::from(r.below(256)) << 64) | u128::from(r.below(1 << 16)),
        _ => (u128::from(r.next_u64()) << 64) | u128::from(r.next_u64()),
    }
}

fn peer(r: &mut SplitMix64, family: Family) -> IpNet {
    match family {
        Family::V4 => {
            let len = match r.below(100) {
                0..=44 => 32,
                45..=74 => 24,
                75..=94 => r.range(8, 30) as u8,
                _ => 0,
            };
            v4(v4_addr(r), len)
        }
        Family::V6 => {
            let len = match r.below(100) {
                0..=39 => 128,
                40..=79 => 64,
                80..=94 => r.pick(&[48, 56, 96, 112], 48),
                _ => 0,
            };
            v6(v6_addr(r), len)
        }
    }
}

fn local(r: &mut SplitMix64, family: Family) -> IpNet {
    match family {
        Family::V4 => {
            let len = r.pick(&[32, 32, 24, 16], 32);
            v4(0x0A00_0000 | r.below(1 << 16) as u32, len)
        }
        Family::V6 => {
            let len = r.pick(&[128, 64], 128);
            v6(v6_addr(r), len)
        }
    }
}

/// `n` rules from `seed`: the same input gives the same rules.
pub fn generate(n: usize, seed: u64) -> Vec<EngineRule> {
    let mut r = SplitMix64::new(seed ^ 0x5347_5349_4D00_0000);
    // A bijection of 0..10^12 (the multiplier is prime to 10), so ids are unique.
    const MOD: u64 = 1_000_000_000_000;
    let id_mul = 7_919_u64 * 104_729;
    let id_add = r.below(MOD);
    (0..n)
        .map(|i| {
            let family = if r.percent(16) {
                Family::V6
            } else {
                Family::V4
            };
            let rank = match r.below(100) {
                0..=39 => 1,
                40..=69 => r.range(1, 10),
                _ => r.range(1, 100),
            } as u32;
            let policy = if r.percent(20) {
                Policy::Drop
            } else {
                Policy::Accept
            };
            let (protocol, fixed_family) = match r.below(100) {
                0..=54 => (Some(PROTO_TCP), None),
                55..=74 => (Some(PROTO_UDP), None),
                75..=84 => match family {
                    Family::V4 => (Some(PROTO_ICMP), Some(Family::V4)),
                    Family::V6 => (Some(PROTO_ICMPV6), Some(Family::V6)),
                },
                85..=87 => (Some(47), None),
                _ => (None, None),
            };
            let has_ports = matches!(protocol, Some(PROTO_TCP) | Some(PROTO_UDP));
            let dst_ports = if has_ports {
                match r.below(100) {
                    0..=59 => PortRange::single(r.pick(&COMMON_PORTS, 22)),
                    60..=79 => PortRange::single(r.range(1, 65535) as u16),
                    80..=94 => {
                        let (a, b) = r.pick(&COMMON_RANGES, (1, 65535));
                        PortRange::new(a, b).unwrap_or(PortRange::ANY)
                    }
                    _ => PortRange::new(1, 65535).unwrap_or(PortRange::ANY),
                }
            } else {
                PortRange::ANY
            };
            let src_ports = if has_ports && r.percent(10) {
                let (a, b) = r.pick(&COMMON_RANGES, (1, 65535));
                PortRange::new(a, b).unwrap_or(PortRange::ANY)
            } else {
                PortRange::ANY
            };
            let peers = if r.percent(3) {
                // A group or prefix-list peer: several networks.
                (0..r.range(2, 6)).map(|_| peer(&mut r, family)).collect()
            } else {
                vec![peer(&mut r, family)]
            };
            let local = r.percent(20).then(|| local(&mut r, family));
            let id_num = ((i as u64).wrapping_mul(id_mul).wrapping_add(id_add)) % MOD;
            EngineRule {
                id: format!("sgr-{id_num:012}"),
                group: format!("sg-gen-{:03}", r.below(20)),
                rank,
                policy,
                protocol,
                family: fixed_family,
                dst_ports,
                src_ports,
                peer: peers,
                local,
            }
        })
        .collect()
}

fn point_v4(r: &mut SplitMix64, net: &Ipv4Net) -> u32 {
    let host_bits = 32 - u32::from(net.prefix_len());
    let mask = u32::MAX.checked_shr(32 - host_bits).unwrap_or(0);
    if host_bits == 0 {
        return u32::from(net.network());
    }
    u32::from(net.network()) | (r.next_u64() as u32 & mask)
}

fn point_v6(r: &mut SplitMix64, net: &Ipv6Net) -> u128 {
    let host_bits = 128 - u32::from(net.prefix_len());
    if host_bits == 0 {
        return u128::from(net.network());
    }
    let mask = u128::MAX.checked_shr(128 - host_bits).unwrap_or(0);
    let bits = (u128::from(r.next_u64()) << 64) | u128::from(r.next_u64());
    u128::from(net.network()) | (bits & mask)
}

fn port_in(r: &mut SplitMix64, p: PortRange) -> u16 {
    match r.below(4) {
        0 => p.start(),
        1 => p.end(),
        _ => r.range(u64::from(p.start()), u64::from(p.end())) as u16,
    }
}

/// `n` ingress packets aimed at `rules` (a point inside a random rule's fields, ends and
/// corners included), with one in ten fully random; the same input gives the same packets.
pub fn packets(rules: &[EngineRule], n: usize, seed: u64) -> Vec<Packet> {
    let mut r = SplitMix64::new(seed ^ 0x5041_434B_4554_5300);
    (0..n)
        .map(|_| {
            let rule = rules.get(r.below(rules.len() as u64) as usize);
            match rule {
                Some(rule) if !r.percent(10) => aimed(&mut r, rule),
                _ => random_packet(&mut r),
            }
        })
        .collect()
}

fn random_packet(r: &mut SplitMix64) -> Packet {
    let protocol = r.pick(
        &[PROTO_TCP, PROTO_TCP, PROTO_UDP, PROTO_ICMP, 47],
        PROTO_TCP,
    );
    let (src, dst) = if r.percent(16) {
        (
            IpAddr::V6(Ipv6Addr::from(v6_addr(r))),
            IpAddr::V6(Ipv6Addr::from(v6_addr(r))),
        )
    } else {
        (
            IpAddr::V4(Ipv4Addr::from(v4_addr(r))),
            IpAddr::V4(Ipv4Addr::from(0x0A00_0000 | r.below(1 << 16) as u32)),
        )
    };
    let ports = protocol == PROTO_TCP || protocol == PROTO_UDP;
    let src_port = if ports {
        r.range(1024, 65535) as u16
    } else {
        0
    };
    let dst_port = if ports { r.pick(&COMMON_PORTS, 80) } else { 0 };
    one_family(protocol, src, src_port, dst, dst_port)
}

/// A packet whose addresses the generator drew of one family (the unspecified IPv4 pair
/// stands in should they ever differ, which they cannot).
fn one_family(protocol: u8, src: IpAddr, src_port: u16, dst: IpAddr, dst_port: u16) -> Packet {
    Packet::new(protocol, src, src_port, dst, dst_port).unwrap_or_else(|_| {
        Packet::v4(
            protocol,
            Ipv4Addr::UNSPECIFIED,
            src_port,
            Ipv4Addr::UNSPECIFIED,
            dst_port,
        )
    })
}

fn aimed(r: &mut SplitMix64, rule: &EngineRule) -> Packet {
    let Some(peer) = rule.peer.get(r.below(rule.peer.len() as u64) as usize) else {
        return random_packet(r);
    };
    let (src, dst) = match (peer, rule.local) {
        (IpNet::V4(p), Some(IpNet::V4(l))) => v4_pair(point_v4(r, p), point_v4(r, &l)),
        (IpNet::V4(p), None) => {
            let l = 0x0A00_0000 | r.below(1 << 16) as u32;
            v4_pair(point_v4(r, p), l)
        }
        (IpNet::V6(p), Some(IpNet::V6(l))) => (
            IpAddr::V6(Ipv6Addr::from(point_v6(r, p))),
            IpAddr::V6(Ipv6Addr::from(point_v6(r, &l))),
        ),
        (IpNet::V6(p), None) => (
            IpAddr::V6(Ipv6Addr::from(point_v6(r, p))),
            IpAddr::V6(Ipv6Addr::from(v6_addr(r))),
        ),
        _ => return random_packet(r),
    };
    let protocol = match rule.protocol {
        Some(p) => p,
        None => r.pick(&[PROTO_TCP, PROTO_UDP, PROTO_ICMP, PROTO_ICMPV6], PROTO_TCP),
    };
    let src_port = port_in(r, rule.src_ports);
    let dst_port = port_in(r, rule.dst_ports);
    one_family(protocol, src, src_port, dst, dst_port)
}

fn v4_pair(a: u32, b: u32) -> (IpAddr, IpAddr) {
    (IpAddr::V4(Ipv4Addr::from(a)), IpAddr::V4(Ipv4Addr::from(b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_shaped() {
        let a = generate(2000, 7);
        assert_eq!(a, generate(2000, 7));
        assert_ne!(a, generate(2000, 8));
        let ids: std::collections::HashSet<_> = a.iter().map(|r| &r.id).collect();
        assert_eq!(ids.len(), a.len());
        let v6 = a
            .iter()
            .filter(|r| matches!(r.peer.first(), Some(IpNet::V6(_))))
            .count();
        assert!(v6 > 100 && v6 < 600, "{v6}");
        let slash32 = a
            .iter()
            .filter(|r| r.peer.first().is_some_and(|p| p.prefix_len() == 32))
            .count();
        assert!(slash32 > 500, "{slash32}");
        assert!(a.iter().any(|r| r.rank == 1 && r.policy == Policy::Drop));
        assert!(a
            .iter()
            .any(|r| r.peer.first().is_some_and(|p| p.prefix_len() == 0)));
        let p = packets(&a, 1000, 1);
        assert_eq!(p, packets(&a, 1000, 1));
        assert!(p.iter().all(|p| p.src().is_ipv4() == p.dst().is_ipv4()));
        // Aimed packets mostly hit something.
        let hits = p
            .iter()
            .filter(|p| crate::engine::rule::linear_scan(&a, p).is_some())
            .count();
        assert!(hits > 800, "{hits}");
    }
}
