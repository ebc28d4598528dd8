//! The policy of one target in one direction (SPEC §8): its packet space partitioned by
//! what decides each packet — an inner-access group, a rule of the pooled groups, or the
//! default — computed from the rules' geometry, exactly.
//!
//! The partition is a sweep in evaluation order: inner access first (per group, in the
//! ENI's order), then the pooled rules by priority, drop before accept, then id as bytes;
//! each takes from the still-undecided region what it matches; the rest is the default's.
//! The local addresses of an ENI fall into classes by the NIC in use and the address its
//! rules see (a VPC's public address is seen as the primary private IPv4, SPEC §3), so each
//! class is swept with the rules that apply on its NIC and whose local CIDR holds that
//! address.
//!
//! The types of a policy are here; [`WorldIndex`] (the world prepared, and what a target's
//! policy is computed from) is in `index`, the sweep and [`rules_policy`] in `partition`.

use super::interval::IntervalSet;
use super::space::Region;
use crate::engine::rule::EngineRule;
use crate::engine::target::default_verdict;
use crate::model::{
    Direction, GroupType, NicType, Packet, Policy as RulePolicy, Reason, Verdict, World,
};
use std::net::IpAddr;

mod index;
mod partition;

pub use index::WorldIndex;
pub(super) use partition::rule_rest;
pub use partition::rules_policy;

/// What a policy is computed for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TargetId {
    /// An ENI, by id (an instance's id names its primary ENI).
    Eni(String),
    /// A security group standing as the target.
    Group(String),
}

impl TargetId {
    /// The id.
    pub fn id(&self) -> &str {
        match self {
            TargetId::Eni(s) | TargetId::Group(s) => s,
        }
    }
}

/// Why a target could not be named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownTarget(pub String);

impl std::fmt::Display for UnknownTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "unknown target `{}`: no instance, network interface or security group has this id",
            self.0
        )
    }
}

impl std::error::Error for UnknownTarget {}

/// The targets of lint and audit: every ENI, then every group without members, in world
/// order; `to` (when not empty) restricts them to the ids named (any group may be named).
pub fn targets(world: &World, to: &[String]) -> Result<Vec<TargetId>, UnknownTarget> {
    if !to.is_empty() {
        let mut out = Vec::new();
        for id in to {
            let t = if world.eni(id).is_some() {
                TargetId::Eni(id.clone())
            } else if world.group(id).is_some() {
                TargetId::Group(id.clone())
            } else {
                return Err(UnknownTarget(id.clone()));
            };
            if !out.contains(&t) {
                out.push(t);
            }
        }
        return Ok(out);
    }
    let mut out: Vec<TargetId> = world.enis().map(|e| TargetId::Eni(e.id.into())).collect();
    let mut with_members: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for e in world.enis() {
        with_members.extend(e.security_groups.iter().map(String::as_str));
    }
    out.extend(
        world
            .security_groups
            .iter()
            .filter(|g| !with_members.contains(g.id.as_str()))
            .map(|g| TargetId::Group(g.id.clone())),
    );
    Ok(out)
}

/// A rule of a policy: the lowered rule and the NIC type it applies on.
#[derive(Debug, Clone)]
pub struct PolicyRule {
    /// The rule lowered (peers expanded).
    pub rule: EngineRule,
    /// Its NIC type (classic network only).
    pub nic_type: NicType,
}

/// What decides a part of the space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Decider {
    /// Inner access of the group at this index of [`Policy::inner`].
    Inner(usize),
    /// The rule at this index of [`Policy::rules`].
    Rule(usize),
    /// The default of the direction.
    Default,
}

/// A policy: the space of one target and direction partitioned by decider.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The target.
    pub target: TargetId,
    /// The direction.
    pub direction: Direction,
    /// The type of the target's first group (basic without groups): the defaults'.
    pub group_type: GroupType,
    /// The whole packet space of the target.
    pub space: Region,
    /// The pooled rules in evaluation order (priority, drop first, id as bytes).
    pub rules: Vec<PolicyRule>,
    /// Per rule: the packets of the space it matches.
    pub matched: Vec<Region>,
    /// Per rule: the packets it decides.
    pub decided: Vec<Region>,
    /// The inner-access groups, in the ENI's order, with the packets each decides.
    pub inner: Vec<(String, Region)>,
    /// The packets no rule matches.
    pub default: Region,
}

impl Policy {
    /// The verdict of the default.
    pub fn default_verdict(&self) -> Verdict {
        default_verdict(self.direction, self.group_type)
    }

    /// The verdict a decider gives.
    pub fn verdict(&self, d: Decider) -> Verdict {
        match d {
            Decider::Inner(_) => Verdict::Accept,
            Decider::Rule(i) => self
                .rules
                .get(i)
                .map_or(Verdict::Drop, |r| r.rule.policy.into()),
            Decider::Default => self.default_verdict(),
        }
    }

    /// The reason a decider gives, as the reference names it.
    pub fn reason(&self, d: Decider) -> Reason {
        match d {
            Decider::Inner(i) => Reason::InnerAccess {
                group: self.inner.get(i).map(|g| g.0.clone()).unwrap_or_default(),
            },
            Decider::Rule(i) => match self.rules.get(i) {
                Some(r) => Reason::Rule {
                    group: r.rule.group.clone(),
                    rule: r.rule.id.clone(),
                },
                None => Reason::Default,
            },
            Decider::Default => Reason::Default,
        }
    }

    /// The region a decider decides.
    pub fn region(&self, d: Decider) -> &Region {
        match d {
            Decider::Inner(i) => self.inner.get(i).map_or(&self.default, |g| &g.1),
            Decider::Rule(i) => self.decided.get(i).unwrap_or(&self.default),
            Decider::Default => &self.default,
        }
    }

    /// Every decider with a non-empty region, in evaluation order.
    pub fn pieces(&self) -> impl Iterator<Item = (Decider, &Region)> {
        let inner = self
            .inner
            .iter()
            .enumerate()
            .map(|(i, g)| (Decider::Inner(i), &g.1));
        let rules = self
            .decided
            .iter()
            .enumerate()
            .map(|(i, r)| (Decider::Rule(i), r));
        inner
            .chain(rules)
            .chain(std::iter::once((Decider::Default, &self.default)))
            .filter(|(_, r)| !r.is_empty())
    }

    /// The decider of a packet, or `None` when it is outside the space.
    pub fn decider_of(&self, p: &Packet) -> Option<Decider> {
        self.pieces()
            .find(|(_, r)| r.contains_packet(p, self.direction))
            .map(|(d, _)| d)
    }

    /// The accepted region.
    pub fn accepted(&self) -> Region {
        let mut out = Region::empty();
        for (d, r) in self.pieces() {
            if self.verdict(d) == Verdict::Accept {
                out.extend_disjoint(r.clone());
            }
        }
        out
    }

    /// The id of the rule at an index.
    pub fn rule_id(&self, i: usize) -> &str {
        self.rules.get(i).map_or("", |r| r.rule.id.as_str())
    }
}

/// Evaluation order: priority (rank), drop before accept, id as bytes.
pub fn eval_key(r: &EngineRule) -> (u32, bool, &[u8]) {
    (r.rank, r.policy != RulePolicy::Drop, r.id.as_bytes())
}

/// A class of local addresses decided alike: the NIC in use and the address the rules see.
pub(super) struct LocalClass {
    pub(super) nic: Option<NicType>,
    /// The address the rules' local CIDR is matched on (`None` for a group target, whose
    /// rules constrain the local field geometrically).
    pub(super) seen: Option<IpAddr>,
    pub(super) space: Region,
}

impl LocalClass {
    /// Whether a rule applies in this class (its NIC type, and its local CIDR holds the
    /// address the rules see).
    pub(super) fn applies(&self, pr: &PolicyRule) -> bool {
        if self.nic.is_some_and(|n| n != pr.nic_type) {
            return false;
        }
        if let (Some(seen), Some(n)) = (self.seen, pr.rule.local) {
            if !n.contains(&seen) {
                return false;
            }
        }
        true
    }
}

/// An inner-access group of a target: its members' addresses per family and those of the
/// target's own that are not its peers by inner access (held by no other member).
pub(super) struct InnerGroup {
    pub(super) id: String,
    pub(super) all: std::sync::Arc<[IntervalSet; 2]>,
    pub(super) excluded: [IntervalSet; 2],
}

/// What a policy is computed from ([`WorldIndex::prepare`]).
pub(super) struct Prepared {
    pub(super) group_type: GroupType,
    pub(super) rules: Vec<PolicyRule>,
    pub(super) inner: Vec<InnerGroup>,
    pub(super) classes: Vec<LocalClass>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::reference;
    use crate::model::Family;
    use crate::packet::parse_packet;

    const WORLD: &str = r#"
[[vpcs]]
id = "vpc-1"
[[security_groups]]
id = "sg-web"
vpc_id = "vpc-1"
rules = [
  { id = "sgr-ssh", direction = "ingress", ip_protocol = "TCP", port_range = "22/22", source_cidr_ip = "10.0.0.0/8" },
  { id = "sgr-deny", direction = "ingress", ip_protocol = "TCP", port_range = "1/1024", source_cidr_ip = "10.1.0.0/16", policy = "drop", priority = 1 },
  { id = "sgr-web", direction = "ingress", ip_protocol = "TCP", port_range = "443/443", source_cidr_ip = "0.0.0.0/0", priority = 5 },
  { id = "sgr-v6", direction = "ingress", ip_protocol = "ALL", port_range = "-1/-1", ipv6_source_cidr_ip = "::/0", priority = 7 },
]
[[instances]]
id = "i-web"
vpc_id = "vpc-1"
security_groups = ["sg-web"]
private_ips = ["192.168.1.10", "2001:db8::10"]
public_ip = "47.0.0.10"
[[instances]]
id = "i-two"
vpc_id = "vpc-1"
security_groups = ["sg-web"]
private_ips = ["192.168.1.11"]
"#;

    #[test]
    fn partition_matches_reference() {
        let world =
            crate::world_file::load_str(WORLD, crate::world_file::Format::Toml, "t.toml").unwrap();
        let idx = WorldIndex::new(&world);
        let p = idx
            .policy(&TargetId::Eni("i-web".into()), Direction::Ingress)
            .unwrap();
        for text in [
            "tcp 10.1.2.3 -> 192.168.1.10:22",
            "tcp 10.2.2.3 -> 192.168.1.10:22",
            "tcp 10.2.2.3 -> 47.0.0.10:22",
            "tcp 8.8.8.8 -> 47.0.0.10:443",
            "udp 8.8.8.8 -> 47.0.0.10:443",
            "tcp 192.168.1.11 -> 192.168.1.10:9",
            "icmpv6 2001:db8::1 -> 2001:db8::10",
        ] {
            let pkt = parse_packet(text).unwrap();
            let d = reference::decide(&world, &pkt, Some("i-web"), Direction::Ingress).unwrap();
            let dec = p.decider_of(&pkt).unwrap();
            assert_eq!(p.verdict(dec), d.verdict, "{text}");
            assert_eq!(p.reason(dec), d.reason, "{text}");
        }
        assert!(p
            .decider_of(&parse_packet("tcp 1.1.1.1 -> 192.168.1.11:22").unwrap())
            .is_none());
        // Counts of the IPv4 half: the pieces add up to the space.
        let v4 = |r: &Region| {
            r.boxes()
                .iter()
                .filter(|b| b.family == Family::V4)
                .map(|b| b.count())
                .sum::<u128>()
        };
        let total: u128 = p.pieces().map(|(_, r)| v4(r)).sum();
        assert_eq!(total, v4(&p.space));
    }
}
