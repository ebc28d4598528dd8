//! The reference evaluator: SPEC §3 written as plainly as possible. It is the oracle the
//! compiled matcher is tested against, so it favours obviousness over speed: every decision
//! walks every rule of every group of the target and looks peers up in the world as it is.
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

use crate::model::{
    Decision, Direction, EniRef, GroupType, InnerAccessPolicy, NicType, Packet, Peer, Policy,
    Reason, Rule, SecurityGroup, Verdict, World,
};
use std::fmt;
use std::net::IpAddr;

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
}

/// Why a packet could not be given a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetError {
    /// `to` names nothing in the world.
    UnknownTarget(String),
    /// No ENI owns the local address.
    NoOwner {
        /// The local address.
        addr: IpAddr,
    },
    /// Several ENIs own the local address; `to` must choose.
    Ambiguous {
        /// The local address.
        addr: IpAddr,
        /// The owners' ids.
        candidates: Vec<String>,
    },
    /// The ENI named by `to` does not own the local address.
    NotOwner {
        /// The target named.
        target: String,
        /// The local address.
        addr: IpAddr,
        /// The ENIs that do own it.
        candidates: Vec<String>,
    },
    /// A VPC ENI's public IP was addressed but the ENI has no private IPv4 to translate to.
    NoPrivateIpv4 {
        /// The ENI.
        target: String,
    },
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |c: &[String]| {
            if c.is_empty() {
                "none".to_string()
            } else {
                c.iter()
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        match self {
            TargetError::UnknownTarget(t) => {
                write!(f, "unknown target `{t}`: no instance, network interface or security group has this id")
            }
            TargetError::NoOwner { addr } => write!(
                f,
                "no network interface owns the local address `{addr}`: name a security group with --to"
            ),
            TargetError::Ambiguous { addr, candidates } => write!(
                f,
                "several network interfaces own the local address `{addr}` ({}): choose one with --to",
                list(candidates)
            ),
            TargetError::NotOwner {
                target,
                addr,
                candidates,
            } => write!(
                f,
                "target `{target}` does not own the local address `{addr}` (owned by: {})",
                list(candidates)
            ),
            TargetError::NoPrivateIpv4 { target } => write!(
                f,
                "target `{target}` has a public address but no private IPv4 address to translate it to"
            ),
        }
    }
}

impl std::error::Error for TargetError {}

/// Finds the target of a packet (SPEC §3, "Picking the target").
pub fn resolve_target<'w>(
    world: &'w World,
    packet: &Packet,
    to: Option<&str>,
    direction: Direction,
) -> Result<Target<'w>, TargetError> {
    let local = packet.local(direction);
    let owners: Vec<EniRef<'w>> = world.enis().filter(|e| e.owns(local)).collect();
    let owner_ids = || owners.iter().map(|e| e.id.to_string()).collect::<Vec<_>>();
    let eni = match to {
        Some(id) if world.eni(id).is_none() => {
            let group = world
                .group(id)
                .ok_or_else(|| TargetError::UnknownTarget(id.to_string()))?;
            return Ok(Target {
                kind: TargetKind::Group(group),
                id: group.id.clone(),
                groups: vec![group],
                nic: group.is_classic().then_some(NicType::Intranet),
                local,
            });
        }
        Some(id) => match owners.iter().find(|e| e.id == id) {
            Some(e) => *e,
            None => {
                return Err(TargetError::NotOwner {
                    target: id.to_string(),
                    addr: local,
                    candidates: owner_ids(),
                })
            }
        },
        None => match owners.as_slice() {
            [one] => *one,
            [] => return Err(TargetError::NoOwner { addr: local }),
            _ => {
                return Err(TargetError::Ambiguous {
                    addr: local,
                    candidates: owner_ids(),
                })
            }
        },
    };
    let groups: Vec<&SecurityGroup> = eni
        .security_groups
        .iter()
        .filter_map(|g| world.group(g))
        .collect();
    let public = !eni.private_ips.contains(&local) && eni.public_ip() == Some(local);
    let classic = eni.vpc_id().is_none();
    let (nic, local) = match (classic, public) {
        (true, true) => (Some(NicType::Internet), local),
        (true, false) => (Some(NicType::Intranet), local),
        (false, true) => {
            let private =
                eni.instance
                    .primary_private_ipv4()
                    .ok_or_else(|| TargetError::NoPrivateIpv4 {
                        target: eni.id.to_string(),
                    })?;
            (None, private)
        }
        (false, false) => (None, local),
    };
    Ok(Target {
        kind: TargetKind::Eni(eni),
        id: eni.id.to_string(),
        groups,
        nic,
        local,
    })
}

/// Whether `addr` is a private address of an ENI that is a member of group `group_id`
/// (restricted to the VPC `vpc` when the referencing group is in one), other than `except`.
fn member_private(
    world: &World,
    group_id: &str,
    addr: IpAddr,
    vpc: Option<&str>,
    except: Option<&str>,
) -> bool {
    world.members(group_id).any(|m| {
        Some(m.id) != except
            && (vpc.is_none() || m.vpc_id() == vpc)
            && m.private_ips.contains(&addr)
    })
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
        Peer::Group { id, .. } => member_private(world, id, peer, group.vpc_id.as_deref(), None),
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

/// Step 1 of SPEC §3: the first of the target's basic groups with inner access `Accept`
/// of which the peer address is a private address of another member ENI.
pub fn inner_access_group<'w>(
    world: &World,
    packet: &Packet,
    direction: Direction,
    target: &Target<'w>,
) -> Option<&'w SecurityGroup> {
    let peer = packet.peer(direction);
    target.groups.iter().copied().find(|g| {
        g.group_type == GroupType::Normal
            && g.inner_access_policy == InnerAccessPolicy::Accept
            && member_private(world, &g.id, peer, None, target.eni_id())
    })
}

/// The default verdict when no rule matches: ingress drop; egress accept for basic groups and
/// drop for advanced ones.
pub fn default_verdict(direction: Direction, group_type: GroupType) -> Verdict {
    match (direction, group_type) {
        (Direction::Ingress, _) => Verdict::Drop,
        (Direction::Egress, GroupType::Normal) => Verdict::Accept,
        (Direction::Egress, GroupType::Enterprise) => Verdict::Drop,
    }
}

/// Decides a packet for a resolved target.
pub fn decide_for(
    world: &World,
    packet: &Packet,
    direction: Direction,
    target: &Target<'_>,
) -> Decision {
    let decision = |verdict, reason| Decision {
        verdict,
        reason,
        packet: *packet,
        target: target.id.clone(),
        direction,
    };
    if let Some(g) = inner_access_group(world, packet, direction, target) {
        return decision(
            Verdict::Accept,
            Reason::InnerAccess {
                group: g.id.clone(),
            },
        );
    }
    // Every matching rule of every group, then the strongest: smallest priority, drop before
    // accept, smallest id as bytes.
    let best = target
        .groups
        .iter()
        .flat_map(|g| g.rules.iter().map(move |r| (*g, r)))
        .filter(|(g, r)| rule_matches(world, g, r, packet, direction, target))
        .min_by(|(_, a), (_, b)| {
            let key = |r: &Rule| (r.priority, r.policy != Policy::Drop);
            key(a)
                .cmp(&key(b))
                .then_with(|| a.id.as_bytes().cmp(b.id.as_bytes()))
        });
    match best {
        Some((g, r)) => decision(
            r.policy.into(),
            Reason::Rule {
                group: g.id.clone(),
                rule: r.id.clone(),
            },
        ),
        None => decision(
            default_verdict(direction, target.group_type()),
            Reason::Default,
        ),
    }
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
