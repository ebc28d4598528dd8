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

use super::interval::IntervalSet;
use super::space::{addr_max, net_range, nets_set, PacketBox, ProtoSet, Region};
use super::sweep::Piece;
use crate::engine::lower::lower_rule;
use crate::engine::rule::EngineRule;
use crate::engine::target::default_verdict;
use crate::engine::target::{EniEntry, WorldIndex as CoreIndex};
use crate::model::{
    Direction, Family, GroupType, InnerAccessPolicy, NicType, Packet, Policy as RulePolicy, Reason,
    SecurityGroup, Verdict, World,
};
use std::collections::HashMap;
use std::net::IpAddr;

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

/// A rule in one family as a piece of the sweep (its peer addresses and the box of its other
/// fields), the local field unconstrained unless `local` says; `None` when the rule has no
/// packet of the family.
fn rule_piece(r: &EngineRule, family: Family, direction: Direction, local: bool) -> Option<Piece> {
    let rest = rule_rest(r, family, direction, local)?;
    let peers = nets_set(family, &r.peer);
    if peers.is_empty() {
        return None;
    }
    Some(Piece {
        peers,
        rest: Some(rest),
    })
}

/// The box of a rule's fields other than the peer in one family (its peer field the whole
/// family), or `None` when the rule has no packet of the family.
pub(super) fn rule_rest(
    r: &EngineRule,
    family: Family,
    direction: Direction,
    local: bool,
) -> Option<PacketBox> {
    if r.family.is_some_and(|f| f != family) {
        return None;
    }
    let protos = r.protocol.map_or(ProtoSet::ALL, ProtoSet::one);
    let (dst, src) = (
        (
            u128::from(r.dst_ports.start()),
            u128::from(r.dst_ports.end()),
        ),
        (
            u128::from(r.src_ports.start()),
            u128::from(r.src_ports.end()),
        ),
    );
    let (peer_port, local_port) = match direction {
        Direction::Ingress => (src, dst),
        Direction::Egress => (dst, src),
    };
    let local_iv = match (local, r.local) {
        (true, Some(n)) if Family::of_net(&n) != family => return None,
        (true, Some(n)) => net_range(&n),
        _ => (0, addr_max(family)),
    };
    Some(PacketBox {
        family,
        protos,
        iv: [(0, addr_max(family)), peer_port, local_iv, local_port],
    })
}

/// The peer addresses of a set, per family (IPv4, IPv6).
fn peer_sets(peers: &[IpAddr]) -> [IntervalSet; 2] {
    [Family::V4, Family::V6].map(|family| {
        IntervalSet::from_ranges(
            peers
                .iter()
                .filter(|a| Family::of(a) == family)
                .map(|a| (super::space::addr_num(*a), super::space::addr_num(*a))),
        )
    })
}

/// A world prepared for analysis: the decision core's index (members, owners, groups) and
/// each group's lowered rules per direction, built once.
pub struct WorldIndex<'w> {
    world: &'w World,
    core: CoreIndex,
    lowered: std::sync::Mutex<HashMap<(String, Direction), Vec<PolicyRule>>>,
    bare: std::sync::Mutex<HashMap<(String, Direction), Vec<PolicyRule>>>,
    members: std::sync::Mutex<HashMap<String, MemberAddrs>>,
    atlas: std::sync::OnceLock<super::atlas::Atlas>,
}

/// A group's member addresses per family, and the addresses two members or more hold.
type MemberAddrs = (
    std::sync::Arc<[IntervalSet; 2]>,
    std::sync::Arc<std::collections::HashSet<IpAddr>>,
);

impl<'w> WorldIndex<'w> {
    /// Indexes a world.
    pub fn new(world: &'w World) -> WorldIndex<'w> {
        WorldIndex {
            world,
            core: CoreIndex::new(world),
            lowered: std::sync::Mutex::new(HashMap::new()),
            bare: std::sync::Mutex::new(HashMap::new()),
            members: std::sync::Mutex::new(HashMap::new()),
            atlas: std::sync::OnceLock::new(),
        }
    }

    /// The peer atlas of the world, built on first use.
    pub(super) fn atlas(&self) -> &super::atlas::Atlas {
        self.atlas.get_or_init(|| super::atlas::Atlas::build(self))
    }

    /// The private addresses of every ENI.
    pub(super) fn eni_addrs(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.core
            .enis()
            .iter()
            .flat_map(|e| e.private_ips.iter().copied())
    }

    /// The world indexed.
    pub fn world(&self) -> &'w World {
        self.world
    }

    /// The member ENIs of a group, in world order.
    pub fn members(&self, group: &str) -> Vec<&EniEntry> {
        self.core.members(group).collect()
    }

    /// The private addresses of a group's members per family, and those held by two members
    /// or more; built once per group.
    pub(super) fn member_addrs(&self, group: &str) -> MemberAddrs {
        if let Some(v) = self.members.lock().ok().and_then(|m| m.get(group).cloned()) {
            return v;
        }
        let mut count: HashMap<IpAddr, u32> = HashMap::new();
        for m in self.core.members(group) {
            let mut seen: Vec<IpAddr> = Vec::new();
            for a in &m.private_ips {
                if !seen.contains(a) {
                    seen.push(*a);
                    *count.entry(*a).or_default() += 1;
                }
            }
        }
        let all: Vec<IpAddr> = count.keys().copied().collect();
        let shared: std::collections::HashSet<IpAddr> = count
            .iter()
            .filter(|(_, n)| **n >= 2)
            .map(|(a, _)| *a)
            .collect();
        let v = (
            std::sync::Arc::new(peer_sets(&all)),
            std::sync::Arc::new(shared),
        );
        if let Ok(mut m) = self.members.lock() {
            m.insert(group.to_string(), v.clone());
        }
        v
    }

    pub(super) fn group_rules(&self, g: &SecurityGroup, direction: Direction) -> Vec<PolicyRule> {
        let key = (g.id.clone(), direction);
        if let Some(v) = self.lowered.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return v;
        }
        let v: Vec<PolicyRule> = g
            .rules
            .iter()
            .filter(|r| r.direction == direction)
            .map(|r| PolicyRule {
                rule: lower_rule(&self.core, self.world, g, r),
                nic_type: r.nic_type,
            })
            .collect();
        if let Ok(mut m) = self.lowered.lock() {
            m.insert(key, v.clone());
        }
        v
    }

    /// A group's lowered rules of a direction with their peer lists left empty; built once.
    fn group_rules_bare(&self, g: &SecurityGroup, direction: Direction) -> Vec<PolicyRule> {
        let key = (g.id.clone(), direction);
        if let Some(v) = self.bare.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return v;
        }
        let mut v = self.group_rules(g, direction);
        for r in &mut v {
            r.rule.peer = Vec::new();
        }
        if let Ok(mut m) = self.bare.lock() {
            m.insert(key, v.clone());
        }
        v
    }

    /// The policy of a target in a direction.
    pub fn policy(&self, target: &TargetId, direction: Direction) -> Result<Policy, UnknownTarget> {
        let prep = self.prepare(target, direction, true)?;
        let inner_groups: Vec<(String, [IntervalSet; 2])> = prep
            .inner
            .iter()
            .map(|g| {
                let [a4, a6] = &*g.all;
                let [o4, o6] = &g.excluded;
                (g.id.clone(), [a4.difference(o4), a6.difference(o6)])
            })
            .collect();
        let is_group = matches!(target, TargetId::Group(_));
        Ok(sweep(
            target.clone(),
            direction,
            prep.group_type,
            prep.rules,
            &inner_groups,
            prep.classes,
            is_group,
        ))
    }

    /// What a policy is computed from: the pooled rules in evaluation order, the
    /// inner-access groups and the local classes. Without `peers` the rules' peer lists are
    /// left empty (lint's atoms take them from the atlas).
    pub(super) fn prepare(
        &self,
        target: &TargetId,
        direction: Direction,
        peers: bool,
    ) -> Result<Prepared, UnknownTarget> {
        let world = self.world;
        let (groups, classes, own): (Vec<&SecurityGroup>, Vec<LocalClass>, &[IpAddr]) = match target
        {
            TargetId::Group(id) => {
                let g = world.group(id).ok_or_else(|| UnknownTarget(id.clone()))?;
                let mut space = Region::empty();
                for f in [Family::V4, Family::V6] {
                    space.extend_disjoint(Region::space(f, &IntervalSet::range(0, addr_max(f))));
                }
                let class = LocalClass {
                    nic: g.is_classic().then_some(NicType::Intranet),
                    seen: None,
                    space,
                };
                (vec![g], vec![class], &[])
            }
            TargetId::Eni(id) => {
                let e = self
                    .core
                    .eni_index(id)
                    .and_then(|i| self.core.enis().get(i))
                    .ok_or_else(|| UnknownTarget(id.clone()))?;
                let groups = e
                    .groups
                    .iter()
                    .filter_map(|&g| world.security_groups.get(g))
                    .collect();
                (groups, eni_classes(e), e.private_ips.as_slice())
            }
        };
        let mut groups_dedup: Vec<&SecurityGroup> = Vec::new();
        for g in groups {
            if !groups_dedup.iter().any(|h| h.id == g.id) {
                groups_dedup.push(g);
            }
        }
        let groups = groups_dedup;
        let mut rules: Vec<PolicyRule> = groups
            .iter()
            .flat_map(|g| {
                if peers {
                    self.group_rules(g, direction)
                } else {
                    self.group_rules_bare(g, direction)
                }
            })
            .collect();
        rules.sort_by(|a, b| eval_key(&a.rule).cmp(&eval_key(&b.rule)));
        // Inner access: peers that are private addresses of another member of a basic group
        // with inner access Accept; the first such group of the ENI's list decides.
        let inner: Vec<InnerGroup> = groups
            .iter()
            .filter(|g| {
                g.group_type == GroupType::Normal
                    && g.inner_access_policy == InnerAccessPolicy::Accept
            })
            .map(|g| {
                let (all, shared) = self.member_addrs(&g.id);
                // The target's own addresses are not its peers by inner access, unless
                // another member holds them too.
                let own: Vec<IpAddr> = own
                    .iter()
                    .filter(|a| !shared.contains(a))
                    .copied()
                    .collect();
                InnerGroup {
                    id: g.id.clone(),
                    all,
                    excluded: peer_sets(&own),
                }
            })
            .collect();
        let group_type = groups.first().map_or(GroupType::Normal, |g| g.group_type);
        Ok(Prepared {
            group_type,
            rules,
            inner,
            classes,
        })
    }

    /// The regions that rules weaker than rule `i` (and the default) would decide in `region`
    /// if rule `i` were removed: the continuation of the sweep past it.
    pub fn without_rule(
        &self,
        policy: &Policy,
        i: usize,
        region: &Region,
    ) -> Vec<(Decider, Region)> {
        let mut remaining = region.clone();
        let mut out = Vec::new();
        for (j, m) in policy.matched.iter().enumerate().skip(i + 1) {
            if remaining.is_empty() {
                break;
            }
            let got = remaining.intersect(m);
            if !got.is_empty() {
                remaining = remaining.difference(&got);
                out.push((Decider::Rule(j), got));
            }
        }
        if !remaining.is_empty() {
            out.push((Decider::Default, remaining));
        }
        out
    }
}

/// The sweep: each class's space taken in evaluation order by inner access, then the rules,
/// the rest left to the default (per family, split along the peer: [`super::sweep`]).
fn sweep(
    target: TargetId,
    direction: Direction,
    group_type: GroupType,
    rules: Vec<PolicyRule>,
    inner_groups: &[(String, [IntervalSet; 2])],
    classes: Vec<LocalClass>,
    is_group: bool,
) -> Policy {
    let mut policy = Policy {
        target,
        direction,
        group_type,
        space: Region::empty(),
        matched: vec![Region::empty(); rules.len()],
        decided: vec![Region::empty(); rules.len()],
        inner: inner_groups
            .iter()
            .map(|(g, _)| (g.clone(), Region::empty()))
            .collect(),
        default: Region::empty(),
        rules,
    };
    for class in classes {
        for (fi, family) in [Family::V4, Family::V6].into_iter().enumerate() {
            let space = Region::from_disjoint(
                class
                    .space
                    .boxes()
                    .iter()
                    .filter(|b| b.family == family)
                    .copied()
                    .collect(),
            );
            if space.is_empty() {
                continue;
            }
            let mut pieces: Vec<Piece> = Vec::new();
            let mut owners: Vec<Decider> = Vec::new();
            for (i, (_, sets)) in inner_groups.iter().enumerate() {
                if let Some(set) = sets.get(fi) {
                    if !set.is_empty() {
                        pieces.push(Piece {
                            peers: set.clone(),
                            rest: None,
                        });
                        owners.push(Decider::Inner(i));
                    }
                }
            }
            for (i, pr) in policy.rules.iter().enumerate() {
                if !class.applies(pr) {
                    continue;
                }
                if let Some(p) = rule_piece(&pr.rule, family, direction, is_group) {
                    pieces.push(p);
                    owners.push(Decider::Rule(i));
                }
            }
            let swept = super::sweep::sweep(&space, &pieces);
            for ((owner, m), d) in owners.iter().zip(swept.matched).zip(swept.decided) {
                match *owner {
                    Decider::Rule(i) => {
                        if let Some(slot) = policy.matched.get_mut(i) {
                            slot.extend_disjoint(m);
                        }
                        if let Some(slot) = policy.decided.get_mut(i) {
                            slot.extend_disjoint(d);
                        }
                    }
                    Decider::Inner(i) => {
                        if let Some(slot) = policy.inner.get_mut(i) {
                            slot.1.extend_disjoint(d);
                        }
                    }
                    Decider::Default => {}
                }
            }
            policy.default.extend_disjoint(swept.default);
        }
        policy.space.extend_disjoint(class.space);
    }
    policy
}

/// The policy of a bare rule list (ingress or egress), as for a group standing as the
/// target in a VPC: no inner access, the basic group's default, any local address.
pub fn rules_policy(rules: Vec<EngineRule>, direction: Direction) -> Policy {
    let mut rules: Vec<PolicyRule> = rules
        .into_iter()
        .map(|rule| PolicyRule {
            rule,
            nic_type: NicType::Intranet,
        })
        .collect();
    rules.sort_by(|a, b| eval_key(&a.rule).cmp(&eval_key(&b.rule)));
    let mut space = Region::empty();
    for f in [Family::V4, Family::V6] {
        space.extend_disjoint(Region::space(f, &IntervalSet::range(0, addr_max(f))));
    }
    let class = LocalClass {
        nic: None,
        seen: None,
        space,
    };
    sweep(
        TargetId::Group(String::new()),
        direction,
        GroupType::Normal,
        rules,
        &[],
        vec![class],
        true,
    )
}

fn eni_classes(e: &EniEntry) -> Vec<LocalClass> {
    let classic = e.is_classic();
    let mut points: Vec<(Option<NicType>, IpAddr, IpAddr)> = Vec::new();
    for a in &e.private_ips {
        points.push((classic.then_some(NicType::Intranet), *a, *a));
    }
    if let Some(p) = e.public_ip {
        if !e.private_ips.contains(&p) {
            if classic {
                points.push((Some(NicType::Internet), p, p));
            } else if let Some(private) = e.primary_private_ipv4 {
                points.push((None, p, private));
            }
        }
    }
    let mut classes: Vec<(Option<NicType>, IpAddr, Vec<IpAddr>)> = Vec::new();
    for (nic, local, seen) in points {
        match classes.iter_mut().find(|c| c.0 == nic && c.1 == seen) {
            Some(c) => c.2.push(local),
            None => classes.push((nic, seen, vec![local])),
        }
    }
    classes
        .into_iter()
        .map(|(nic, seen, locals)| {
            let mut space = Region::empty();
            for f in [Family::V4, Family::V6] {
                let set = IntervalSet::from_ranges(
                    locals
                        .iter()
                        .filter(|a| Family::of(a) == f)
                        .map(|a| (super::space::addr_num(*a), super::space::addr_num(*a))),
                );
                if !set.is_empty() {
                    space.extend_disjoint(Region::space(f, &set));
                }
            }
            LocalClass {
                nic,
                seen: Some(seen),
                space,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::reference;
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
