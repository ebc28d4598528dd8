//! The engine's rule model (SPEC §7): more general than the API's, so research rule sets
//! (ClassBench) load as they are, and the one place where the slow linear scan lives.

use crate::model::{Family, Packet, Policy, PortRange};
use ipnet::IpNet;

/// A rule as the engine sees it: a rank, a policy and the fields a packet is matched on.
///
/// API rules lower to engine rules with their priority as rank, their group and prefix-list
/// peers expanded to address sets, and ports set only for TCP and UDP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineRule {
    /// The rule's id (`sgr-…`, or `cb-000042` for ClassBench line 42).
    pub id: String,
    /// The group holding the rule (empty for rule sets without groups).
    pub group: String,
    /// Smaller is stronger (API rules: their priority 1–100; ClassBench: the line number).
    pub rank: u32,
    /// Accept or drop.
    pub policy: Policy,
    /// The IP protocol number, `None` for any protocol.
    pub protocol: Option<u8>,
    /// The packet family the rule is confined to (ICMP: IPv4, ICMPv6: IPv6), if any.
    pub family: Option<Family>,
    /// Destination ports (`PortRange::ANY` when unset).
    pub dst_ports: PortRange,
    /// Source ports (`PortRange::ANY` when unset).
    pub src_ports: PortRange,
    /// The peer's address set (source on ingress, destination on egress); canonical
    /// networks of either family. An empty set matches nothing.
    pub peer: Vec<IpNet>,
    /// The local CIDR (destination on ingress, source on egress), if set.
    pub local: Option<IpNet>,
}

impl EngineRule {
    /// Whether the rule matches a packet whose peer and local addresses are given.
    pub fn matches(&self, pkt: &Packet, peer: std::net::IpAddr, local: std::net::IpAddr) -> bool {
        self.protocol.is_none_or(|p| p == pkt.protocol)
            && self.family.is_none_or(|f| f == pkt.family())
            && self.dst_ports.contains(pkt.dst_port)
            && self.src_ports.contains(pkt.src_port)
            && self.peer.iter().any(|n| n.contains(&peer))
            && self.local.is_none_or(|n| n.contains(&local))
    }
}

/// The evaluation order of SPEC §3 and §7, defined once: smaller rank first, then drop
/// before accept, then the smaller id as a byte string. The smaller key is the stronger rule.
pub fn order_key(rank: u32, policy: Policy, id: &str) -> (u32, bool, &[u8]) {
    (rank, policy != Policy::Drop, id.as_bytes())
}

/// Whether rule `a` beats rule `b` when both match, by [`order_key`].
pub fn beats(a: &EngineRule, b: &EngineRule) -> bool {
    order_key(a.rank, a.policy, &a.id) < order_key(b.rank, b.policy, &b.id)
}

/// The slow, obviously correct scan: the index of the deciding rule among `rules` for a
/// packet whose peer is `pkt.src()` and local is `pkt.dst()` (ingress), or `None` when no rule
/// matches. The deciding rule has the smallest rank; at equal rank a drop beats an accept,
/// and the first by id (as bytes) among equals decides.
pub fn linear_scan(rules: &[EngineRule], pkt: &Packet) -> Option<usize> {
    linear_scan_dir(rules, pkt, pkt.src(), pkt.dst())
}

/// [`linear_scan`] with the peer and local addresses given (egress swaps them).
pub fn linear_scan_dir(
    rules: &[EngineRule],
    pkt: &Packet,
    peer: std::net::IpAddr,
    local: std::net::IpAddr,
) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, r) in rules.iter().enumerate() {
        if r.matches(pkt, peer, local)
            && best.is_none_or(|b| rules.get(b).is_none_or(|old| beats(r, old)))
        {
            best = Some(i);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(id: &str, rank: u32, policy: Policy, peer: &str) -> EngineRule {
        EngineRule {
            id: id.to_string(),
            group: "sg-a".to_string(),
            rank,
            policy,
            protocol: None,
            family: None,
            dst_ports: PortRange::ANY,
            src_ports: PortRange::ANY,
            peer: vec![peer.parse().unwrap()],
            local: None,
        }
    }

    fn pkt() -> Packet {
        Packet::new(
            6,
            "10.0.0.1".parse().unwrap(),
            1000,
            "10.0.0.2".parse().unwrap(),
            22,
        )
        .unwrap()
    }

    #[test]
    fn smallest_rank_then_drop_then_id() {
        let rules = vec![
            rule("b", 2, Policy::Accept, "10.0.0.0/8"),
            rule("c", 2, Policy::Drop, "10.0.0.0/8"),
            rule("a", 2, Policy::Drop, "0.0.0.0/0"),
            rule("z", 3, Policy::Drop, "0.0.0.0/0"),
        ];
        assert_eq!(linear_scan(&rules, &pkt()), Some(2));
        assert_eq!(linear_scan(&rules[..2], &pkt()), Some(1));
        assert_eq!(linear_scan(&rules[..1], &pkt()), Some(0));
        assert_eq!(linear_scan(&rules[3..], &pkt()), Some(0));
    }

    #[test]
    fn no_match_and_family() {
        let mut r = rule("a", 1, Policy::Accept, "::/0");
        assert_eq!(linear_scan(std::slice::from_ref(&r), &pkt()), None);
        r.peer = vec!["0.0.0.0/0".parse().unwrap()];
        r.family = Some(Family::V6);
        assert_eq!(linear_scan(std::slice::from_ref(&r), &pkt()), None);
    }
}
