//! The full evaluation of one packet (SPEC §8, `sgsim explain`): the target, NIC and NAT,
//! the groups, inner access, and every rule of those groups in evaluation order with the
//! first field that failed, then the decision (the reference's).

use crate::engine::lower::lower_rule;
use crate::engine::reference::{self, Target, TargetError};
use crate::model::{Decision, Direction, NicType, Packet, Policy as RulePolicy, World};
use std::net::IpAddr;

/// One rule as evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleTrace {
    /// The rule's id.
    pub id: String,
    /// Its group.
    pub group: String,
    /// Its priority.
    pub priority: u8,
    /// Its policy.
    pub policy: RulePolicy,
    /// Whether it matched.
    pub matched: bool,
    /// The first field that failed: `direction`, `nic_type`, `protocol`, `port`,
    /// `source_port`, `peer`, `local`.
    pub failed: Option<&'static str>,
}

/// The whole evaluation of one packet.
#[derive(Debug, Clone)]
pub struct Explanation<'w> {
    /// The resolved target.
    pub target: Target<'w>,
    /// The NIC in use (classic network), `None` in a VPC.
    pub nic: Option<NicType>,
    /// The local address the rules see when a VPC translated the public address.
    pub nat: Option<IpAddr>,
    /// The group whose inner access decided, if any.
    pub inner_access: Option<String>,
    /// Every rule of the target's groups, in evaluation order.
    pub rules: Vec<RuleTrace>,
    /// The decision.
    pub decision: Decision,
}

/// Evaluates one packet fully.
pub fn explain<'w>(
    world: &'w World,
    packet: &Packet,
    to: Option<&str>,
    direction: Direction,
) -> Result<Explanation<'w>, TargetError> {
    let target = reference::resolve_target(world, packet, to, direction)?;
    let decision = reference::decide_for(world, packet, direction, &target);
    let inner = reference::inner_access_group(packet, direction, &target).map(|g| g.id.clone());
    let peer = packet.peer(direction);
    let index = crate::engine::target::WorldIndex::new(world);
    let mut rules = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for g in &target.groups {
        if seen.contains(&g.id.as_str()) {
            continue;
        }
        seen.push(&g.id);
        for r in &g.rules {
            let low = lower_rule(&index, world, g, r);
            let failed = if r.direction != direction {
                Some("direction")
            } else if target.nic.is_some_and(|n| n != r.nic_type) {
                Some("nic_type")
            } else if low.protocol.is_some_and(|p| p != packet.protocol)
                || low.family.is_some_and(|f| f != packet.family())
            {
                Some("protocol")
            } else if !low.dst_ports.contains(packet.dst_port) {
                Some("port")
            } else if !low.src_ports.contains(packet.src_port) {
                Some("source_port")
            } else if !low.peer.iter().any(|n| n.contains(&peer)) {
                Some("peer")
            } else if low.local.is_some_and(|n| !n.contains(&target.local)) {
                Some("local")
            } else {
                None
            };
            rules.push(RuleTrace {
                id: r.id.clone(),
                group: g.id.clone(),
                priority: r.priority,
                policy: r.policy,
                matched: failed.is_none(),
                failed,
            });
        }
    }
    rules.sort_by(|a, b| {
        (a.priority, a.policy != RulePolicy::Drop, a.id.as_bytes()).cmp(&(
            b.priority,
            b.policy != RulePolicy::Drop,
            b.id.as_bytes(),
        ))
    });
    let local = packet.local(direction);
    Ok(Explanation {
        nic: target.nic,
        nat: (target.local != local).then_some(target.local),
        target,
        inner_access: inner,
        rules,
        decision,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::parse_packet;

    #[test]
    fn first_failing_field_and_order() {
        let world = crate::world_file::load_str(
            r#"
[[vpcs]]
id = "vpc-1"
[[security_groups]]
id = "sg-web"
vpc_id = "vpc-1"
rules = [
  { id = "sgr-b", direction = "ingress", ip_protocol = "TCP", port_range = "22/22", source_cidr_ip = "10.0.0.0/8" },
  { id = "sgr-a", direction = "ingress", ip_protocol = "TCP", port_range = "80/80", source_cidr_ip = "10.0.0.0/8" },
  { id = "sgr-c", direction = "ingress", ip_protocol = "TCP", port_range = "22/22", source_cidr_ip = "10.0.0.0/8", policy = "drop" },
  { id = "sgr-d", direction = "egress", ip_protocol = "ALL", port_range = "-1/-1", dest_cidr_ip = "0.0.0.0/0" },
  { id = "sgr-e", direction = "ingress", ip_protocol = "ICMP", port_range = "-1/-1", source_cidr_ip = "0.0.0.0/0" },
  { id = "sgr-f", direction = "ingress", ip_protocol = "TCP", port_range = "22/22", source_cidr_ip = "172.16.0.0/12" },
  { id = "sgr-g", direction = "ingress", ip_protocol = "TCP", port_range = "22/22", source_cidr_ip = "10.0.0.0/8", dest_cidr_ip = "192.168.9.0/24", priority = 2 },
]
[[instances]]
id = "i-web"
vpc_id = "vpc-1"
security_groups = ["sg-web"]
private_ips = ["192.168.1.10"]
public_ip = "47.0.0.10"
"#,
            crate::world_file::Format::Toml,
            "t.toml",
        )
        .unwrap();
        let p = parse_packet("tcp 10.1.1.1 -> 47.0.0.10:22").unwrap();
        let e = explain(&world, &p, None, Direction::Ingress).unwrap();
        let got: Vec<(&str, Option<&str>)> =
            e.rules.iter().map(|r| (r.id.as_str(), r.failed)).collect();
        assert_eq!(
            got,
            vec![
                ("sgr-c", None),
                ("sgr-a", Some("port")),
                ("sgr-b", None),
                ("sgr-d", Some("direction")),
                ("sgr-e", Some("protocol")),
                ("sgr-f", Some("peer")),
                ("sgr-g", Some("local")),
            ]
        );
        assert_eq!(e.nat, Some("192.168.1.10".parse().unwrap()));
        assert_eq!(e.decision.reason.rule_id(), Some("sgr-c"));
        // Every rule's verdict agrees with the reference's matcher.
        for r in &e.rules {
            let (g, rule) = world.rule(&r.id).unwrap();
            assert_eq!(
                r.matched,
                reference::rule_matches(&world, g, rule, &p, Direction::Ingress, &e.target)
            );
        }
    }
}
