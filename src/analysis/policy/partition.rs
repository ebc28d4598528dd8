//! The sweep that partitions a target's space by decider, and the policy of a bare rule
//! list ([`rules_policy`]).

use super::{eval_key, Decider, LocalClass, Policy, PolicyRule, TargetId};
use crate::analysis::interval::IntervalSet;
use crate::analysis::space::{addr_max, net_range, nets_set, PacketBox, ProtoSet, Region};
use crate::analysis::sweep::Piece;
use crate::engine::rule::EngineRule;
use crate::model::{Direction, Family, GroupType, NicType};

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
pub(in crate::analysis) fn rule_rest(
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

/// The sweep: each class's space taken in evaluation order by inner access, then the rules,
/// the rest left to the default (per family, split along the peer: [`crate::analysis::sweep`]).
pub(super) fn sweep(
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
            let space = class.space.of_family(family);
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
            let swept = crate::analysis::sweep::sweep(&space, &pieces);
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
