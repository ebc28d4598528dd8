//! [`WorldIndex`]: a world prepared for analysis, with the rules of each group lowered once
//! per direction, the members' addresses of each group, and what a policy is computed from
//! for a target ([`WorldIndex::prepare`]: the pooled rules, inner access, the local classes).

use super::partition::sweep;
use super::{
    eval_key, Decider, InnerGroup, LocalClass, Policy, PolicyRule, Prepared, TargetId,
    UnknownTarget,
};
use crate::analysis::interval::IntervalSet;
use crate::analysis::space::{addr_max, Region};
use crate::engine::lower::lower_rule;
use crate::engine::target::{EniEntry, WorldIndex as CoreIndex};
use crate::model::{
    Direction, Family, GroupType, InnerAccessPolicy, NicType, SecurityGroup, World,
};
use std::collections::HashMap;
use std::net::IpAddr;

/// The peer addresses of a set, per family (IPv4, IPv6).
fn peer_sets(peers: &[IpAddr]) -> [IntervalSet; 2] {
    [Family::V4, Family::V6].map(|family| {
        IntervalSet::from_ranges(peers.iter().filter(|a| Family::of(a) == family).map(|a| {
            (
                crate::analysis::space::addr_num(*a),
                crate::analysis::space::addr_num(*a),
            )
        }))
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
    atlas: std::sync::OnceLock<crate::analysis::atlas::Atlas>,
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
    pub(in crate::analysis) fn atlas(&self) -> &crate::analysis::atlas::Atlas {
        self.atlas
            .get_or_init(|| crate::analysis::atlas::Atlas::build(self))
    }

    /// The private addresses of every ENI.
    pub(in crate::analysis) fn eni_addrs(&self) -> impl Iterator<Item = IpAddr> + '_ {
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
    pub(in crate::analysis) fn member_addrs(&self, group: &str) -> MemberAddrs {
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

    pub(in crate::analysis) fn group_rules(
        &self,
        g: &SecurityGroup,
        direction: Direction,
    ) -> Vec<PolicyRule> {
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
    pub(in crate::analysis) fn prepare(
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

/// The local classes of an ENI: its private addresses (classic: on the intranet NIC), and its
/// public address (classic: on the internet NIC; VPC: seen as the primary private IPv4).
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
                    locals.iter().filter(|a| Family::of(a) == f).map(|a| {
                        (
                            crate::analysis::space::addr_num(*a),
                            crate::analysis::space::addr_num(*a),
                        )
                    }),
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
