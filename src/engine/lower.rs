//! Lowering a group's API rules to the engine's rules (SPEC §3 and §7), per group, direction
//! and NIC:
//! * the group's rules in that direction (a NIC given: only those of that NIC type; `None`,
//!   a VPC target: all);
//! * rank = priority; protocol = its number (`ALL`: any); ICMP confined to IPv4 and ICMPv6
//!   to IPv6 through `family`; ports only for TCP and UDP rules;
//! * a group peer expands to the private addresses (both families) of the group's member
//!   ENIs — only those in the referencing group's VPC when it has one; a prefix-list peer to
//!   the list's entries as they are now; a missing prefix list to nothing.
//!
//! ```
//! use sgsim::engine::lower::lower_group;
//! use sgsim::engine::target::WorldIndex;
//! use sgsim::model::Direction;
//! let world = sgsim::world_file::load_str(r#"
//!     [[vpcs]]
//!     id = "vpc-1"
//!     [[security_groups]]
//!     id = "sg-web"
//!     vpc_id = "vpc-1"
//!     rules = [{ direction = "ingress", ip_protocol = "TCP", port_range = "22/22", source_group_id = "sg-ops" }]
//!     [[security_groups]]
//!     id = "sg-ops"
//!     vpc_id = "vpc-1"
//!     [[instances]]
//!     id = "i-ops"
//!     vpc_id = "vpc-1"
//!     security_groups = ["sg-ops"]
//!     private_ips = ["192.168.1.10"]
//! "#, sgsim::world_file::Format::Toml, "example.toml").unwrap();
//! let index = WorldIndex::new(&world);
//! let rules = lower_group(&index, &world, &world.security_groups[0], Direction::Ingress, None);
//! assert_eq!(rules[0].peer, vec!["192.168.1.10/32".parse().unwrap()]);
//! ```

use crate::engine::rule::EngineRule;
use crate::engine::target::WorldIndex;
use crate::model::{Direction, NicType, Peer, PortRange, Rule, SecurityGroup, World};
use ipnet::IpNet;

/// Lowers one API rule of `group` to an engine rule, expanding group and prefix-list peers
/// against `world` (indexed by `index`) as it is now.
pub fn lower_rule(
    index: &WorldIndex,
    world: &World,
    group: &SecurityGroup,
    rule: &Rule,
) -> EngineRule {
    let (dst_ports, src_ports) = if rule.protocol.has_ports() {
        (
            rule.port_range.unwrap_or(PortRange::ANY),
            rule.source_port_range.unwrap_or(PortRange::ANY),
        )
    } else {
        (PortRange::ANY, PortRange::ANY)
    };
    let peer = match &rule.peer {
        Peer::Cidr(net) => vec![*net],
        Peer::Group { id, .. } => {
            let vpc = group.vpc_id.as_deref();
            let mut nets: Vec<IpNet> = index
                .members(id)
                .filter(|m| vpc.is_none() || m.vpc.as_deref() == vpc)
                .flat_map(|m| m.private_ips.iter().map(|a| crate::model::host_net(*a)))
                .collect();
            nets.sort();
            nets.dedup();
            nets
        }
        Peer::PrefixList(id) => index
            .prefix_list_index(id)
            .and_then(|i| world.prefix_lists.get(i))
            .map(|pl| pl.entries.iter().map(|e| e.cidr).collect())
            .unwrap_or_default(),
    };
    EngineRule {
        id: rule.id.clone(),
        group: group.id.clone(),
        rank: u32::from(rule.priority),
        policy: rule.policy,
        protocol: rule.protocol.number(),
        family: rule.protocol.family(),
        dst_ports,
        src_ports,
        peer,
        local: rule.local_cidr,
    }
}

/// The lowered rules of one group for a direction and NIC (`None`: a VPC target, every NIC
/// type applies), in rule order.
pub fn lower_group(
    index: &WorldIndex,
    world: &World,
    group: &SecurityGroup,
    direction: Direction,
    nic: Option<NicType>,
) -> Vec<EngineRule> {
    group
        .rules
        .iter()
        .filter(|r| r.direction == direction && nic.is_none_or(|n| r.nic_type == n))
        .map(|r| lower_rule(index, world, group, r))
        .collect()
}

/// The lowered rules of several groups, in group order then rule order (what a target's
/// rules are, pooled).
pub fn lower_groups(
    index: &WorldIndex,
    world: &World,
    groups: &[&SecurityGroup],
    direction: Direction,
    nic: Option<NicType>,
) -> Vec<EngineRule> {
    groups
        .iter()
        .flat_map(|g| lower_group(index, world, g, direction, nic))
        .collect()
}
