//! Lint (SPEC §8): anomalies of each target's policies, found exactly on the partition.
//!
//! In the terms of the firewall-anomaly literature (Al-Shaer & Hamed; Liu & Gouda), with
//! "stronger" meaning Alibaba's order — smaller priority number first, and at one priority a
//! drop before an accept (ids only break ties between rules of one policy):
//! * `shadowed` — Al-Shaer & Hamed's *shadowing*, generalised to the union of stronger
//!   rules: the rule matches packets but decides none; `covering` lists exactly the deciders
//!   of the packets it matches (each one is needed, so the set is the smallest).
//! * `redundant` — Liu & Gouda's *downward redundancy*: the rule decides packets, but the
//!   weaker rules (or the default) would decide them alike. (Their *upward* redundancy is
//!   `shadowed` with the same action.)
//! * `tie-overlap` — Al-Shaer & Hamed's *correlation* at one priority: an accept and a drop
//!   of equal priority overlap and the drop wins part of the accept's packets.
//! * `unmatchable`, `empty-peer`, `exposure`, `quota` — sgsim's own.

use super::atoms::atom_policy;
pub use super::facts::Facts;
use super::policy::{targets, Decider, Policy, TargetId, UnknownTarget, WorldIndex};
use super::space::{internet, PacketBox, ProtoSet, Region, LOCAL_PORT, PEER};
use crate::model::{
    Direction, Family, Packet, Peer, Policy as RulePolicy, Verdict, World, PROTO_TCP, PROTO_UDP,
};
use serde_json::{json, Value};

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// For information.
    Info,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
}

impl Severity {
    /// `info`, `low`, `medium` or `high`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// `shadowed`, `redundant`, `unmatchable`, `empty-peer`, `tie-overlap`, `exposure`, `quota`.
    pub kind: &'static str,
    /// Severity.
    pub severity: Severity,
    /// The targets it holds for (ENIs, groups standing as targets).
    pub targets: Vec<String>,
    /// The direction (`None` for quota).
    pub direction: Option<Direction>,
    /// The rule concerned.
    pub rule: Option<String>,
    /// The rule's group (or the group concerned).
    pub group: Option<String>,
    /// That group's name, where the world gives it one (shown beside the id).
    pub group_name: Option<String>,
    /// What covers the rule: rule ids, an inner-access group id, or `default`.
    pub covering: Vec<String>,
    /// Whether a covering rule has the other action (shadowed only).
    pub different_action: Option<bool>,
    /// A packet showing the finding, for the first target.
    pub witness: Option<Packet>,
    /// Per target of `targets` (same order), a packet showing the finding for it: findings
    /// merged across targets keep each target's own witness (its local address differs).
    pub witnesses: Vec<Option<Packet>>,
    /// What the finding means, in words.
    pub detail: String,
    /// A one-line suggestion.
    pub fix: String,
}

impl Finding {
    /// The finding as SPEC §8's JSON object.
    pub fn to_json(&self) -> Value {
        json!({
            "kind": self.kind,
            "severity": self.severity.as_str(),
            "targets": self.targets,
            "direction": self.direction.map(Direction::as_str),
            "rule": self.rule,
            "group": self.group,
            "group_name": self.group_name,
            "covering": self.covering,
            "different_action": self.different_action,
            "witness": self.witness.as_ref().map(crate::packet::format_packet),
            "witnesses": self
                .targets
                .iter()
                .zip(self.witnesses.iter())
                .map(|(t, w)| json!({
                    "target": t,
                    "witness": w.as_ref().map(crate::packet::format_packet),
                }))
                .collect::<Vec<_>>(),
            "detail": self.detail,
            "fix": self.fix,
        })
    }

    /// The finding in one line.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{} {} {}",
            self.severity.as_str(),
            self.kind,
            self.targets.join(",")
        );
        if let Some(d) = self.direction {
            s.push(' ');
            s.push_str(d.as_str());
        }
        if let Some(r) = &self.rule {
            s.push_str(&format!(" {r}"));
        }
        if let Some(g) = &self.group {
            let group = crate::explain::GroupName {
                id: g,
                name: self.group_name.as_deref(),
            };
            // `sgr-1 in sg-web (web)` after a rule, `(sg-web (web))` alone.
            match self.rule {
                Some(_) => s.push_str(&format!(" in {group}")),
                None => s.push_str(&format!(" ({group})")),
            }
        }
        s.push_str(&format!(": {}", self.detail));
        if let Some(w) = &self.witness {
            s.push_str(&format!("; witness: {}", crate::packet::format_packet(w)));
        }
        s.push_str(&format!("; fix: {}", self.fix));
        s
    }
}

/// TCP and UDP ports whose exposure to the internet is reported.
pub const SENSITIVE: [(u8, u16); 19] = [
    (PROTO_TCP, 22),
    (PROTO_TCP, 23),
    (PROTO_TCP, 3389),
    (PROTO_TCP, 445),
    (PROTO_TCP, 135),
    (PROTO_TCP, 139),
    (PROTO_TCP, 1433),
    (PROTO_TCP, 1521),
    (PROTO_TCP, 2375),
    (PROTO_TCP, 2379),
    (PROTO_TCP, 3306),
    (PROTO_TCP, 5432),
    (PROTO_TCP, 5984),
    (PROTO_TCP, 6379),
    (PROTO_TCP, 9200),
    (PROTO_TCP, 11211),
    (PROTO_TCP, 27017),
    (PROTO_UDP, 11211),
    (PROTO_UDP, 161),
];

fn decider_name(p: &Policy, d: Decider) -> String {
    match d {
        Decider::Inner(i) => p.inner.get(i).map(|g| g.0.clone()).unwrap_or_default(),
        Decider::Rule(i) => p.rule_id(i).to_string(),
        Decider::Default => "default".to_string(),
    }
}

/// Lints every target (or those named) in both directions, findings merged across targets
/// that share them.
pub fn lint(world: &World, to: &[String]) -> Result<Vec<Finding>, UnknownTarget> {
    use rayon::prelude::*;
    let idx = WorldIndex::new(world);
    let ts = targets(world, to)?;
    let enis: std::collections::HashMap<&str, crate::model::EniRef<'_>> =
        world.enis().map(|e| (e.id, e)).collect();
    // Targets are linted on all cores; the findings keep the targets' order.
    let per: Vec<Result<Vec<Finding>, UnknownTarget>> = ts
        .par_iter()
        .map(|t| {
            let mut out = Vec::new();
            for direction in [Direction::Ingress, Direction::Egress] {
                match atom_policy(&idx, t, direction)? {
                    Some(p) => out.extend(lint_policy(&idx, &p)?),
                    None => out.extend(lint_policy(&idx, &idx.policy(t, direction)?)?),
                }
            }
            if let TargetId::Eni(id) = t {
                out.extend(enis.get(id.as_str()).and_then(|e| eni_quota(world, e)));
            }
            Ok(out)
        })
        .collect();
    let mut all: Vec<Finding> = Vec::new();
    for r in per {
        all.extend(r?);
    }
    all.extend(group_quota(world, to));
    let mut out = merge(all);
    for f in &mut out {
        f.group_name = f
            .group
            .as_deref()
            .and_then(|g| world.group(g))
            .map(|g| g.name.clone())
            .filter(|n| !n.is_empty());
    }
    Ok(out)
}

fn merge(all: Vec<Finding>) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    let mut by_key: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for f in all {
        let key = format!(
            "{}\u{0}{:?}\u{0}{:?}\u{0}{:?}\u{0}{:?}\u{0}{:?}\u{0}{:?}\u{0}{}",
            f.kind,
            f.severity,
            f.direction,
            f.rule,
            f.group,
            f.covering,
            f.different_action,
            f.detail
        );
        match by_key.get(&key).and_then(|&i| out.get_mut(i)) {
            Some(g) => {
                for t in f.targets {
                    if !g.targets.contains(&t) {
                        g.targets.push(t);
                        g.witnesses.push(f.witness);
                    }
                }
            }
            None => {
                by_key.insert(key, out.len());
                let mut f = f;
                f.witnesses = vec![f.witness; f.targets.len()];
                out.push(f);
            }
        }
    }
    out.sort_by_key(|f| std::cmp::Reverse(f.severity));
    out
}

fn base(p: &Policy, kind: &'static str, severity: Severity) -> Finding {
    Finding {
        kind,
        severity,
        targets: vec![p.target.id().to_string()],
        direction: Some(p.direction),
        rule: None,
        group: None,
        group_name: None,
        covering: Vec::new(),
        different_action: None,
        witness: None,
        witnesses: Vec::new(),
        detail: String::new(),
        fix: String::new(),
    }
}

/// The findings of one policy (quota aside).
pub fn lint_policy(idx: &WorldIndex<'_>, f: &impl Facts) -> Result<Vec<Finding>, UnknownTarget> {
    let world = idx.world();
    let p = f.shell();
    let mut out = Vec::new();
    for (i, pr) in p.rules.iter().enumerate() {
        let r = &pr.rule;
        let with_rule = |mut f: Finding| {
            f.rule = Some(r.id.clone());
            f.group = Some(r.group.clone());
            f
        };
        if !f.matched_any(i) {
            let api = world.rule(&r.id).map(|(_, a)| a);
            let empty_peer = match api.map(|a| &a.peer) {
                Some(Peer::Group { id, .. }) => idx.members(id).is_empty(),
                Some(Peer::PrefixList(id)) => {
                    world.prefix_list(id).is_none_or(|pl| pl.entries.is_empty())
                }
                _ => false,
            };
            let mut f = with_rule(base(
                p,
                if empty_peer {
                    "empty-peer"
                } else {
                    "unmatchable"
                },
                Severity::Medium,
            ));
            if empty_peer {
                f.detail = "the rule's peer group has no members or its prefix list no entries: it matches nothing".into();
                f.fix = format!(
                    "add members or entries to the rule's peer, or remove `{}`",
                    r.id
                );
            } else {
                f.detail = "the rule matches no packet of this target (its local CIDR, family or NIC type never applies)".into();
                f.fix = format!("remove `{}` or correct its local CIDR or NIC type", r.id);
            }
            out.push(f);
            continue;
        }
        if !f.decided_any(i) {
            let (deciders, witness) = f.covering(i);
            let different = deciders
                .iter()
                .any(|d| p.verdict(*d) != Verdict::from(r.policy));
            let covering: Vec<String> = deciders.iter().map(|d| decider_name(p, *d)).collect();
            let mut f = with_rule(base(
                p,
                "shadowed",
                if different {
                    Severity::Medium
                } else {
                    Severity::Low
                },
            ));
            f.detail = format!(
                "every packet the rule matches is decided by a stronger {}: {}",
                if covering.len() == 1 {
                    "rule"
                } else {
                    "set of rules"
                },
                covering.join(", ")
            );
            f.fix = if different {
                format!("the rule never applies although its action differs: raise its priority or remove `{}`", r.id)
            } else {
                format!(
                    "remove `{}`: stronger rules already decide its packets alike",
                    r.id
                )
            };
            f.covering = covering;
            f.different_action = Some(different);
            f.witness = witness;
            out.push(f);
            continue;
        }
        // Downward redundancy: what would decide its packets without it.
        let rest = f.without(idx, i);
        if rest
            .iter()
            .all(|d| p.verdict(*d) == Verdict::from(r.policy))
        {
            let mut finding = with_rule(base(p, "redundant", Severity::Low));
            finding.covering = rest.iter().map(|d| decider_name(p, *d)).collect();
            finding.detail = format!(
                "removing the rule changes no decision: {} would decide its packets alike",
                finding.covering.join(", ")
            );
            finding.fix = format!("remove `{}`", r.id);
            finding.witness = f.decided_witness(i);
            out.push(finding);
        }
        // Correlation at one priority: a drop of the same priority wins part of this accept.
        if r.policy == RulePolicy::Accept {
            let (drops, witness) = f.tie_drops(i);
            let covering: Vec<String> = drops.iter().map(|j| p.rule_id(*j).to_string()).collect();
            if !covering.is_empty() {
                let mut f = with_rule(base(p, "tie-overlap", Severity::Low));
                f.detail = format!(
                    "a drop of the same priority ({}) wins part of the packets this accept matches",
                    covering.join(", ")
                );
                f.fix = format!(
                    "give `{}` and {} different priorities to make the intent explicit",
                    r.id,
                    covering
                        .iter()
                        .map(|c| format!("`{c}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                f.covering = covering;
                f.witness = witness;
                out.push(f);
            }
        }
    }
    if p.direction == Direction::Ingress {
        out.extend(f.exposure()?);
    }
    Ok(out)
}

/// The severity of an exposure from the peers that reach it, per family.
fn exposure_severity(reached: &[(Family, super::interval::IntervalSet)]) -> Option<Severity> {
    let mut best = None;
    for (f, set) in reached {
        let all = internet(*f);
        let sev = if !set.is_empty() && all.difference(set).is_empty() {
            Some(Severity::High)
        } else {
            let min = match f {
                Family::V4 => 1u128 << 16,
                Family::V6 => 1u128 << 80,
            };
            (set.count() >= min).then_some(Severity::Medium)
        };
        best = best.max(sev);
    }
    best
}

fn internet_boxes() -> Vec<PacketBox> {
    let mut out = Vec::new();
    for f in [Family::V4, Family::V6] {
        for &peer in internet(f).ranges() {
            let mut iv = [(0, u128::MAX); 4];
            iv[PEER] = peer;
            out.push(PacketBox {
                family: f,
                protos: ProtoSet::ALL,
                iv,
            });
        }
    }
    out
}

fn from_internet(r: &Region) -> Region {
    let mut out = Region::empty();
    for b in internet_boxes() {
        out.extend_disjoint(r.intersect_box(&b));
    }
    out
}

fn reached(r: &Region) -> Vec<(Family, super::interval::IntervalSet)> {
    [Family::V4, Family::V6]
        .into_iter()
        .map(|f| (f, r.peers(f)))
        .collect()
}

pub(super) fn exposure(p: &Policy, pieces: &[(Decider, &Region)]) -> Vec<Finding> {
    let mut out = Vec::new();
    // Accepted packets from the internet, per decider.
    let open: Vec<(Decider, Region)> = pieces
        .iter()
        .filter(|(d, _)| p.verdict(*d) == Verdict::Accept)
        .map(|(d, r)| (*d, from_internet(r)))
        .filter(|(_, r)| !r.is_empty())
        .collect();
    // Rules that accept every port of a protocol (ALL, TCP/UDP 1-65535).
    let mut all_port_rules = Vec::new();
    for (d, r) in &open {
        let Decider::Rule(i) = d else { continue };
        let Some(pr) = p.rules.get(*i) else { continue };
        let rule = &pr.rule;
        let every_port = match rule.protocol {
            None => true,
            Some(PROTO_TCP) | Some(PROTO_UDP) => {
                rule.dst_ports.start() <= 1 && rule.dst_ports.end() == u16::MAX
            }
            _ => false,
        };
        if !every_port {
            continue;
        }
        let Some(sev) = exposure_severity(&reached(r)) else {
            continue;
        };
        all_port_rules.push(*i);
        let mut f = base(p, "exposure", sev);
        f.rule = Some(rule.id.clone());
        f.group = Some(rule.group.clone());
        f.detail = format!(
            "{} accepts every port of {} from {}",
            rule.id,
            rule.protocol
                .map_or("every protocol".to_string(), crate::packet::protocol_name),
            if sev == Severity::High {
                "every internet address of a family"
            } else {
                "at least 2^16 internet IPv4 or 2^80 IPv6 addresses"
            }
        );
        f.fix = format!(
            "restrict `{}` to the ports and addresses that need it",
            rule.id
        );
        f.witness = r.witness(p.direction);
        out.push(f);
    }
    for (proto, port) in SENSITIVE {
        let mut service = Region::empty();
        let mut parts: Vec<(Decider, Region)> = Vec::new();
        for (d, r) in &open {
            let mut part = Region::empty();
            for f in [Family::V4, Family::V6] {
                let mut iv = [(0, u128::MAX); 4];
                iv[LOCAL_PORT] = (u128::from(port), u128::from(port));
                part.extend_disjoint(r.intersect_box(&PacketBox {
                    family: f,
                    protos: ProtoSet::one(proto),
                    iv,
                }));
            }
            if !part.is_empty() {
                service.extend_disjoint(part.clone());
                parts.push((*d, part));
            }
        }
        let Some(sev) = exposure_severity(&reached(&service)) else {
            continue;
        };
        // The decider reaching the most peers is the finding's rule.
        parts.sort_by_key(|(_, r)| {
            std::cmp::Reverse(
                r.peers(Family::V4)
                    .count()
                    .saturating_add(r.peers(Family::V6).count() >> 96),
            )
        });
        let Some((main, main_region)) = parts.first() else {
            continue;
        };
        if parts
            .iter()
            .all(|(d, _)| matches!(d, Decider::Rule(i) if all_port_rules.contains(i)))
        {
            continue;
        }
        let mut f = base(p, "exposure", sev);
        match main {
            Decider::Rule(i) => {
                f.rule = Some(p.rule_id(*i).to_string());
                f.group = p.rules.get(*i).map(|r| r.rule.group.clone());
            }
            Decider::Inner(i) => f.group = p.inner.get(*i).map(|g| g.0.clone()),
            Decider::Default => {}
        }
        f.covering = parts
            .iter()
            .skip(1)
            .map(|(d, _)| decider_name(p, *d))
            .collect();
        let name = crate::packet::protocol_name(proto);
        f.detail = format!(
            "{name} {port} is accepted from {}",
            if sev == Severity::High {
                "every internet address of a family"
            } else {
                "at least 2^16 internet IPv4 or 2^80 IPv6 addresses"
            }
        );
        f.fix = format!(
            "allow {name} {port} only from the addresses that need it, or add a stronger drop"
        );
        f.witness = main_region.witness(p.direction);
        out.push(f);
    }
    out
}

fn group_quota(world: &World, to: &[String]) -> Vec<Finding> {
    let limit = u64::from(world.limits.rules_per_group);
    world
        .security_groups
        .iter()
        .filter(|g| to.is_empty() || to.contains(&g.id))
        .filter_map(|g| {
            let n = world.group_rule_weight(g);
            (n * 10 >= limit * 9).then(|| Finding {
                kind: "quota",
                severity: Severity::Info,
                targets: vec![g.id.clone()],
                direction: None,
                rule: None,
                group: Some(g.id.clone()),
                group_name: None,
                covering: Vec::new(),
                different_action: None,
                witness: None,
                witnesses: Vec::new(),
                detail: format!("the group holds {n} of its {limit} rules"),
                fix: "merge rules or move peers into a prefix list".into(),
            })
        })
        .collect()
}

fn eni_quota(world: &World, e: &crate::model::EniRef<'_>) -> Option<Finding> {
    let id = e.id;
    let limit = u64::from(world.limits.rules_per_eni);
    let mut seen: Vec<&str> = Vec::new();
    let mut n = 0u64;
    for g in e.security_groups {
        if seen.contains(&g.as_str()) {
            continue;
        }
        seen.push(g);
        n += world.group(g).map_or(0, |g| world.group_rule_weight(g));
    }
    (n * 10 >= limit * 9).then(|| Finding {
        kind: "quota",
        severity: Severity::Info,
        targets: vec![id.to_string()],
        direction: None,
        rule: None,
        group: None,
        group_name: None,
        covering: Vec::new(),
        different_action: None,
        witness: None,
        witnesses: Vec::new(),
        detail: format!("the network interface's groups hold {n} of its {limit} rules"),
        fix: "merge rules or groups, or move peers into prefix lists".into(),
    })
}
