//! The readable packet of a box (SPEC §8's preferences: TCP, a public peer, a well-known
//! local port, peer port 49152), and the rank by which a region picks the box it comes from.

use super::addr::{global_v6, good_peers};
use super::{PacketBox, LOCAL, LOCAL_PORT, PEER, PEER_PORT};
use crate::analysis::interval::IntervalSet;
use crate::model::{Direction, Family, Packet, PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP};
use std::net::{Ipv4Addr, Ipv6Addr};

/// How readable a box's witness is (smaller is better): protocol, public peer, well-known
/// local port, peer port 49152, family.
pub type WitnessRank = (u8, u8, usize, u8, u8);

/// The rank of a box's witness; a region's witness is that of its first box of least rank.
pub fn witness_rank(b: &PacketBox) -> WitnessRank {
    let proto = if b.protos.contains(PROTO_TCP) {
        0
    } else if b.protos.contains(PROTO_UDP) {
        1
    } else if b.protos.contains(PROTO_ICMP) || b.protos.contains(PROTO_ICMPV6) {
        2
    } else {
        3
    };
    let good = good_peers(b.family).intersect(&IntervalSet::range(b.iv[PEER].0, b.iv[PEER].1));
    let not_public = if good.is_empty() {
        2
    } else if b.family == Family::V6 && good.intersect(&global_v6()).is_empty() {
        1
    } else {
        0
    };
    let fam = u8::from(b.family == Family::V6);
    let lp = b.iv[LOCAL_PORT];
    let port = [443u128, 80, 22]
        .iter()
        .position(|p| lp.0 <= *p && *p <= lp.1)
        .unwrap_or(3);
    let pp = b.iv[PEER_PORT];
    let peer_port = u8::from(!(pp.0 <= 49152 && 49152 <= pp.1));
    (proto, not_public, port, peer_port, fam)
}

fn pick_addr(family: Family, r: (u128, u128), prefer_public: bool) -> u128 {
    if prefer_public {
        let mut good = good_peers(family).intersect(&IntervalSet::range(r.0, r.1));
        // IPv6: a global unicast address (2000::/3) reads better than `::3`.
        let global = good.intersect(&global_v6());
        if family == Family::V6 && !global.is_empty() {
            good = global;
        }
        if let Some(&(lo, hi)) = good.ranges().first() {
            return if hi - lo >= 2 { lo + 1 } else { lo };
        }
    }
    if r.1 - r.0 >= 2 {
        r.0 + 1
    } else {
        r.0
    }
}

/// The readable packet of one box.
pub fn box_witness(b: &PacketBox, direction: Direction) -> Packet {
    let proto = [PROTO_TCP, PROTO_UDP, PROTO_ICMP, PROTO_ICMPV6]
        .into_iter()
        .find(|p| b.protos.contains(*p))
        .or_else(|| b.protos.iter().next())
        .unwrap_or(0);
    let within = |r: (u128, u128), prefs: &[u128]| {
        prefs
            .iter()
            .copied()
            .find(|p| r.0 <= *p && *p <= r.1)
            .unwrap_or(r.0)
    };
    let local_port = within(b.iv[LOCAL_PORT], &[443, 80, 22]) as u16;
    let peer_port = within(b.iv[PEER_PORT], &[49152]) as u16;
    let peer = pick_addr(b.family, b.iv[PEER], true);
    let local = pick_addr(b.family, b.iv[LOCAL], false);
    let (src, src_port, dst, dst_port) = match direction {
        Direction::Ingress => (peer, peer_port, local, local_port),
        Direction::Egress => (local, local_port, peer, peer_port),
    };
    match b.family {
        Family::V4 => Packet::v4(
            proto,
            Ipv4Addr::from((src & u128::from(u32::MAX)) as u32),
            src_port,
            Ipv4Addr::from((dst & u128::from(u32::MAX)) as u32),
            dst_port,
        ),
        Family::V6 => Packet::v6(
            proto,
            Ipv6Addr::from(src),
            src_port,
            Ipv6Addr::from(dst),
            dst_port,
        ),
    }
}
