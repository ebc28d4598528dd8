//! The reference evaluator: SPEC §3 written as plainly as possible. It is the oracle the
//! compiled matcher is tested against, so it favours obviousness over speed: every decision
//! walks every rule of every group of the target and looks peers up in the world as it is.
//! Target resolution, inner access, the defaults and the assembly of the decision are the
//! [`target`](crate::engine::target) module's (one definition, shared with the compiled
//! matcher; the tests hold a plain linear resolver as their oracle), and the order of rules
//! is [`order_key`].
//!
//! ```
//! use sgsim::engine::reference::decide;
//! use sgsim::model::{Direction, Verdict};
//! use sgsim::packet::parse_packet;
//! let world = sgsim::world_file::load_str(r#"
//!     [[vpcs]]
//!     id = "vpc-1"
//!     [[security_groups]]
//!     id = "sg-web"
//!     vpc_id = "vpc-1"
//!     rules = [{ direction = "ingress", ip_protocol = "TCP", port_range = "22/22", source_cidr_ip = "10.0.0.0/8" }]
//!     [[instances]]
//!     id = "i-web"
//!     vpc_id = "vpc-1"
//!     security_groups = ["sg-web"]
//!     private_ips = ["192.168.1.10"]
//! "#, sgsim::world_file::Format::Toml, "example.toml").unwrap();
//! let p = parse_packet("tcp 10.1.2.3 -> 192.168.1.10:22").unwrap();
//! let d = decide(&world, &p, None, Direction::Ingress).unwrap();
//! assert_eq!(d.verdict, Verdict::Accept);
//! assert_eq!(d.reason.rule_id(), Some("sgr-000000000001"));
//! ```

use crate::engine::rule::order_key;
use crate::engine::target::{decision, Outcome, Resolved, TargetRef, WorldIndex};
pub use crate::engine::target::{default_verdict, TargetError};
use crate::model::{
    Decision, Direction, EniRef, GroupType, NicType, Packet, Peer, Rule, SecurityGroup, World,
};
use std::net::IpAddr;
use std::sync::Arc;

/// What a packet is decided for: an ENI, or a security group standing alone.
#[derive(Debug, Clone, Copy)]
pub enum TargetKind<'w> {
    /// A real ENI (an instance's primary ENI or a secondary one).
    Eni(EniRef<'w>),
    /// A group standing as the target: an ENI that belongs to it alone and owns the local
    /// address as the packet gives it.
    Group(&'w SecurityGroup),
}

/// A resolved target: the groups whose rules apply, the NIC in use and the local address the
/// rules see (after a VPC's public-IP NAT).
#[derive(Debug, Clone)]
pub struct Target<'w> {
    /// The ENI or group.
    pub kind: TargetKind<'w>,
    /// The id reported in decisions: the id given, or the resolved ENI's (an instance's id
    /// for its primary ENI).
    pub id: String,
    /// The target's groups, in the ENI's order.
    pub groups: Vec<&'w SecurityGroup>,
    /// The NIC in use in the classic network (`Some`), or `None` in a VPC, where every rule
    /// applies whatever its NIC type.
    pub nic: Option<NicType>,
    /// The local address the rules see: the packet's, or the primary private IPv4 when a VPC
    /// ENI's public IP was addressed.
    pub local: IpAddr,
    /// The index it was resolved with, and its resolution there (for inner access).
    index: Arc<WorldIndex>,
    at: TargetRef,
    group_indexes: Vec<usize>,
}

impl Target<'_> {
    /// The id of the ENI, if the target is one (`None` for a group target).
    pub fn eni_id(&self) -> Option<&str> {
        match self.kind {
            TargetKind::Eni(e) => Some(e.id),
            TargetKind::Group(_) => None,
        }
    }

    /// The type of the target's groups (all of one type); a target without groups counts
    /// as basic.
    pub fn group_type(&self) -> GroupType {
        self.groups
            .first()
            .map_or(GroupType::Normal, |g| g.group_type)
    }

    /// The target as the index resolved it.
    fn resolved(&self) -> Resolved<'_> {
        Resolved {
            kind: self.at,
            id: &self.id,
            groups: &self.group_indexes,
            nic: self.nic,
            local: self.local,
        }
    }
}

/// Finds the target of a packet (SPEC §3, "Picking the target"), through the world's
/// [`WorldIndex`] (built here; see [`resolve_with`] to reuse one).
pub fn resolve_target<'w>(
    world: &'w World,
    packet: &Packet,
    to: Option<&str>,
    direction: Direction,
) -> Result<Target<'w>, TargetError> {
    resolve_with(
        &Arc::new(WorldIndex::new(world)),
        world,
        packet,
        to,
        direction,
    )
}

/// [`resolve_target`] with the index of `world` given.
pub fn resolve_with<'w>(
    index: &Arc<WorldIndex>,
    world: &'w World,
    packet: &Packet,
    to: Option<&str>,
    direction: Direction,
) -> Result<Target<'w>, TargetError> {
    let r = index.resolve(packet, to, direction)?;
    // INVARIANT: the index was built from `world`, so its indexes are in range; a stale
    // index is reported as an unknown target rather than trusted.
    let stale = || TargetError::UnknownTarget(r.id.to_string());
    let kind = match r.kind {
        TargetRef::Eni(i) => TargetKind::Eni(eni_at(world, index, i).ok_or_else(stale)?),
        TargetRef::Group(g) => TargetKind::Group(world.security_groups.get(g).ok_or_else(stale)?),
    };
    let groups = r
        .groups
        .iter()
        .map(|&g| world.security_groups.get(g).ok_or_else(stale))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Target {
        kind,
        id: r.id.to_string(),
        groups,
        nic: r.nic,
        local: r.local,
        index: Arc::clone(index),
        at: r.kind,
        group_indexes: r.groups.to_vec(),
    })
}

/// The ENI at index `i` of the world's index, as a view of the world.
fn eni_at<'w>(world: &'w World, index: &WorldIndex, i: usize) -> Option<EniRef<'w>> {
    let (inst, secondary) = index.enis().get(i)?.at;
    let instance = world.instances.get(inst)?;
    Some(match secondary {
        None => EniRef {
            id: &instance.id,
            instance,
            security_groups: &instance.security_groups,
            private_ips: &instance.private_ips,
            primary: true,
        },
        Some(n) => {
            let nic = instance.network_interfaces.get(n)?;
            EniRef {
                id: &nic.id,
                instance,
                security_groups: &nic.security_groups,
                private_ips: &nic.private_ips,
                primary: false,
            }
        }
    })
}

/// Whether `addr` is a private address of an ENI that is a member of group `group_id`
/// (restricted to the VPC `vpc` when the referencing group is in one).
fn member_private(world: &World, group_id: &str, addr: IpAddr, vpc: Option<&str>) -> bool {
    world
        .members(group_id)
        .any(|m| (vpc.is_none() || m.vpc_id() == vpc) && m.private_ips.contains(&addr))
}

/// Whether `rule` of `group` matches the packet for this target (SPEC §3, "A rule matches").
pub fn rule_matches(
    world: &World,
    group: &SecurityGroup,
    rule: &Rule,
    packet: &Packet,
    direction: Direction,
    target: &Target<'_>,
) -> bool {
    if rule.direction != direction {
        return false;
    }
    if let Some(nic) = target.nic {
        if rule.nic_type != nic {
            return false;
        }
    }
    if let Some(p) = rule.protocol.number() {
        if p != packet.protocol {
            return false;
        }
    }
    if let Some(f) = rule.protocol.family() {
        if f != packet.family() {
            return false;
        }
    }
    if rule.protocol.has_ports() {
        if let Some(r) = rule.port_range {
            if !r.contains(packet.dst_port) {
                return false;
            }
        }
        if let Some(r) = rule.source_port_range {
            if !r.contains(packet.src_port) {
                return false;
            }
        }
    }
    let peer = packet.peer(direction);
    let peer_ok = match &rule.peer {
        Peer::Cidr(net) => net.contains(&peer),
        Peer::Group { id, .. } => member_private(world, id, peer, group.vpc_id.as_deref()),
        Peer::PrefixList(id) => world
            .prefix_list(id)
            .is_some_and(|pl| pl.entries.iter().any(|e| e.cidr.contains(&peer))),
    };
    if !peer_ok {
        return false;
    }
    rule.local_cidr
        .is_none_or(|net| net.contains(&target.local))
}

/// Step 1 of SPEC §3 for a resolved target (defined once, in
/// [`WorldIndex::inner_access`]): the first qualifying group.
pub fn inner_access_group<'w>(
    packet: &Packet,
    direction: Direction,
    target: &Target<'w>,
) -> Option<&'w SecurityGroup> {
    let id = target
        .index
        .inner_access(&target.resolved(), packet.peer(direction))?;
    target.groups.iter().copied().find(|g| g.id == id)
}

/// Decides a packet for a resolved target.
pub fn decide_for(
    world: &World,
    packet: &Packet,
    direction: Direction,
    target: &Target<'_>,
) -> Decision {
    if let Some(g) = inner_access_group(packet, direction, target) {
        return decision(packet, direction, &target.id, Outcome::InnerAccess(&g.id));
    }
    // Every matching rule of every group, then the strongest by the one evaluation order.
    let best = target
        .groups
        .iter()
        .flat_map(|g| g.rules.iter().map(move |r| (*g, r)))
        .filter(|(g, r)| rule_matches(world, g, r, packet, direction, target))
        .min_by_key(|(_, r)| order_key(u32::from(r.priority), r.policy, &r.id));
    let outcome = match best {
        Some((g, r)) => Outcome::Rule {
            group: &g.id,
            rule: &r.id,
            policy: r.policy,
        },
        None => Outcome::Default(target.group_type()),
    };
    decision(packet, direction, &target.id, outcome)
}

/// Decides a packet (SPEC §3): resolves the target (`to`, or the one ENI owning the local
/// address), then inner access, the pooled rules, and the defaults.
pub fn decide(
    world: &World,
    packet: &Packet,
    to: Option<&str>,
    direction: Direction,
) -> Result<Decision, TargetError> {
    let target = resolve_target(world, packet, to, direction)?;
    Ok(decide_for(world, packet, direction, &target))
}

/// [`decide`] with the index of `world` given, for many decisions on one world.
pub fn decide_with(
    index: &Arc<WorldIndex>,
    world: &World,
    packet: &Packet,
    to: Option<&str>,
    direction: Direction,
) -> Result<Decision, TargetError> {
    let target = resolve_with(index, world, packet, to, direction)?;
    Ok(decide_for(world, packet, direction, &target))
}
