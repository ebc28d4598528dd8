//! The one decision core shared by the reference evaluator and the compiled matcher: a
//! [`WorldIndex`] built once per world (addresses → owning ENIs, ids → ENIs and groups,
//! groups → member ENIs and their shared private-address sets), and the single definition of
//! target resolution (SPEC §3, "Picking the target": the VPC public-IP NAT, the classic NIC
//! in use, group targets), inner access (SPEC §3 step 1), the defaults and the assembly of a
//! [`Decision`].
//!
//! ```
//! use sgsim::engine::target::WorldIndex;
//! use sgsim::model::Direction;
//! use sgsim::packet::parse_packet;
//! let world = sgsim::world_file::load_str(r#"
//!     [[vpcs]]
//!     id = "vpc-1"
//!     [[security_groups]]
//!     id = "sg-web"
//!     vpc_id = "vpc-1"
//!     inner_access_policy = "Accept"
//!     [[instances]]
//!     id = "i-a"
//!     vpc_id = "vpc-1"
//!     security_groups = ["sg-web"]
//!     private_ips = ["192.168.1.10"]
//!     public_ip = "47.0.0.1"
//!     [[instances]]
//!     id = "i-b"
//!     vpc_id = "vpc-1"
//!     security_groups = ["sg-web"]
//!     private_ips = ["192.168.1.11"]
//! "#, sgsim::world_file::Format::Toml, "example.toml").unwrap();
//! let index = WorldIndex::new(&world);
//! // The public address is translated to the primary private IPv4.
//! let p = parse_packet("tcp 192.168.1.11 -> 47.0.0.1:22").unwrap();
//! let t = index.resolve(&p, None, Direction::Ingress).unwrap();
//! assert_eq!((t.id, t.local.to_string().as_str()), ("i-a", "192.168.1.10"));
//! // Another member of an inner-access group: accepted before any rule.
//! assert_eq!(index.inner_access(&t, p.peer(Direction::Ingress)), Some("sg-web"));
//! ```

use crate::model::{
    Decision, Direction, GroupType, InnerAccessPolicy, NicType, Packet, Policy, Reason, Verdict,
    World,
};
use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

/// What the index keeps of one ENI (primary or secondary), in world order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EniEntry {
    /// The ENI's id (the instance's id for a primary ENI).
    pub id: String,
    /// Its VPC (its instance's); `None` in the classic network.
    pub vpc: Option<String>,
    /// Its private addresses, as listed.
    pub private_ips: Vec<IpAddr>,
    /// The public address it owns (primary ENI only).
    pub public_ip: Option<IpAddr>,
    /// Its instance's primary private IPv4 (the VPC NAT's translation).
    pub primary_private_ipv4: Option<IpAddr>,
    /// Its groups that exist, as indexes into `World::security_groups`, in the ENI's order.
    pub groups: Vec<usize>,
    /// Where it is in the world: its instance (an index into `World::instances`) and, for a
    /// secondary ENI, its index in the instance's `network_interfaces`.
    pub at: (usize, Option<usize>),
}

impl EniEntry {
    /// Whether the ENI is in the classic network.
    pub fn is_classic(&self) -> bool {
        self.vpc.is_none()
    }
}

/// The private addresses of a group's member ENIs, built once and shared by every target
/// (and every compiled world) that needs them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberAddrs {
    /// Address → (the first member ENI holding it, whether a member with another id holds
    /// it too).
    owners: HashMap<IpAddr, (usize, bool)>,
}

impl MemberAddrs {
    /// Whether `addr` is a private address of a member ENI other than those with id
    /// `except` (any member when `except` is `None`).
    fn held_by_other(&self, addr: IpAddr, except: Option<&str>, enis: &[EniEntry]) -> bool {
        match (self.owners.get(&addr), except) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(&(first, other)), Some(id)) => {
                other || enis.get(first).is_some_and(|e| e.id != id)
            }
        }
    }

    /// How many distinct addresses the members hold.
    pub fn len(&self) -> usize {
        self.owners.len()
    }

    /// Whether the members hold no address.
    pub fn is_empty(&self) -> bool {
        self.owners.is_empty()
    }
}

/// What the index keeps of one group, parallel to `World::security_groups`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEntry {
    /// The group's id.
    pub id: String,
    /// Its VPC; `None` in the classic network.
    pub vpc: Option<String>,
    /// Basic or advanced.
    pub group_type: GroupType,
    /// Whether inner access grants (a basic group with `InnerAccessPolicy = Accept`).
    pub inner_accept: bool,
    /// The distinct member ENIs (indexes into [`WorldIndex::enis`]), in world order.
    pub members: Vec<usize>,
    /// The members' private addresses, shared.
    pub member_addrs: Arc<MemberAddrs>,
    /// This group's own index, so that a group target can lend a one-group slice.
    index: usize,
}

/// An index of a world, built once per world in time linear in its size.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorldIndex {
    enis: Vec<EniEntry>,
    eni_by_id: HashMap<String, usize>,
    owners: HashMap<IpAddr, Vec<usize>>,
    groups: Vec<GroupEntry>,
    group_by_id: HashMap<String, usize>,
    /// Group id (as ENIs list it, whether or not the group exists) → member ENIs.
    members_by_id: HashMap<String, Vec<usize>>,
    prefix_by_id: HashMap<String, usize>,
}

/// What a resolved target is: an ENI or a group, by index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetRef {
    /// An ENI: an index into [`WorldIndex::enis`] (and into `World::enis()`).
    Eni(usize),
    /// A group standing as the target: an index into `World::security_groups`.
    Group(usize),
}

/// A resolved target (SPEC §3, "Picking the target").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolved<'i> {
    /// The ENI or group.
    pub kind: TargetRef,
    /// The id reported in decisions.
    pub id: &'i str,
    /// The target's groups (indexes into `World::security_groups`), in the ENI's order.
    pub groups: &'i [usize],
    /// The NIC in use in the classic network (`Some`), or `None` in a VPC, where every rule
    /// applies whatever its NIC type.
    pub nic: Option<NicType>,
    /// The local address the rules see: the packet's, or the primary private IPv4 when a
    /// VPC ENI's public IP was addressed.
    pub local: IpAddr,
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

impl WorldIndex {
    /// Indexes a world.
    pub fn new(world: &World) -> WorldIndex {
        let mut group_by_id = HashMap::new();
        for (i, g) in world.security_groups.iter().enumerate() {
            group_by_id.entry(g.id.clone()).or_insert(i);
        }
        let mut prefix_by_id = HashMap::new();
        for (i, p) in world.prefix_lists.iter().enumerate() {
            prefix_by_id.entry(p.id.clone()).or_insert(i);
        }
        let mut members_by_id: HashMap<String, Vec<usize>> = HashMap::new();
        let mut enis = Vec::new();
        let mut eni_by_id = HashMap::new();
        let mut owners: HashMap<IpAddr, Vec<usize>> = HashMap::new();
        let places = world.instances.iter().enumerate().flat_map(|(i, inst)| {
            std::iter::once((i, None))
                .chain((0..inst.network_interfaces.len()).map(move |n| (i, Some(n))))
        });
        for (idx, (e, at)) in world.enis().zip(places).enumerate() {
            let groups: Vec<usize> = e
                .security_groups
                .iter()
                .filter_map(|g| group_by_id.get(g).copied())
                .collect();
            for (k, g) in e.security_groups.iter().enumerate() {
                // An ENI listing a group twice is one member.
                if !e
                    .security_groups
                    .get(..k)
                    .is_some_and(|before| before.contains(g))
                {
                    members_by_id.entry(g.clone()).or_default().push(idx);
                }
            }
            eni_by_id.entry(e.id.to_string()).or_insert(idx);
            let mut owned: Vec<IpAddr> = e.private_ips.to_vec();
            owned.extend(e.public_ip());
            owned.sort();
            owned.dedup();
            for a in owned {
                owners.entry(a).or_default().push(idx);
            }
            enis.push(EniEntry {
                id: e.id.to_string(),
                vpc: e.vpc_id().map(str::to_string),
                private_ips: e.private_ips.to_vec(),
                public_ip: e.public_ip(),
                primary_private_ipv4: e.instance.primary_private_ipv4(),
                groups,
                at,
            });
        }
        let groups = world
            .security_groups
            .iter()
            .enumerate()
            .map(|(index, g)| {
                let members = members_by_id.get(&g.id).cloned().unwrap_or_default();
                let mut addrs = MemberAddrs::default();
                for &m in &members {
                    let Some(e) = enis.get(m) else { continue };
                    for a in &e.private_ips {
                        let slot = addrs.owners.entry(*a).or_insert((m, false));
                        if enis.get(slot.0).is_some_and(|f| f.id != e.id) {
                            slot.1 = true;
                        }
                    }
                }
                GroupEntry {
                    id: g.id.clone(),
                    vpc: g.vpc_id.clone(),
                    group_type: g.group_type,
                    inner_accept: g.group_type == GroupType::Normal
                        && g.inner_access_policy == InnerAccessPolicy::Accept,
                    members,
                    member_addrs: Arc::new(addrs),
                    index,
                }
            })
            .collect();
        WorldIndex {
            enis,
            eni_by_id,
            owners,
            groups,
            group_by_id,
            members_by_id,
            prefix_by_id,
        }
    }

    /// Every ENI, in world order (the order of `World::enis()`).
    pub fn enis(&self) -> &[EniEntry] {
        &self.enis
    }

    /// Every group, parallel to `World::security_groups`.
    pub fn groups(&self) -> &[GroupEntry] {
        &self.groups
    }

    /// The ENI with this id (an instance id names its primary ENI), as an index.
    pub fn eni_index(&self, id: &str) -> Option<usize> {
        self.eni_by_id.get(id).copied()
    }

    /// The group with this id (the first such), as an index.
    pub fn group_index(&self, id: &str) -> Option<usize> {
        self.group_by_id.get(id).copied()
    }

    /// The prefix list with this id (the first such), as an index into `World::prefix_lists`.
    pub fn prefix_list_index(&self, id: &str) -> Option<usize> {
        self.prefix_by_id.get(id).copied()
    }

    /// The ENIs listing the group id `group_id` (its members), in world order.
    pub fn members(&self, group_id: &str) -> impl Iterator<Item = &EniEntry> + '_ {
        self.members_by_id
            .get(group_id)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .filter_map(|&m| self.enis.get(m))
    }

    /// The ENIs owning `addr` (as a private address, or as the public one of a primary ENI),
    /// in world order.
    pub fn owners(&self, addr: IpAddr) -> &[usize] {
        self.owners.get(&addr).map_or(&[], Vec::as_slice)
    }

    /// Finds the target of a packet (SPEC §3, "Picking the target"): the group or ENI `to`
    /// names, or the one ENI owning the local address; then the NIC in use (classic) or the
    /// public-IP NAT (VPC).
    pub fn resolve(
        &self,
        packet: &Packet,
        to: Option<&str>,
        direction: Direction,
    ) -> Result<Resolved<'_>, TargetError> {
        let local = packet.local(direction);
        let owners = self.owners(local);
        let owner_ids = || {
            owners
                .iter()
                .filter_map(|&i| self.enis.get(i).map(|e| e.id.clone()))
                .collect::<Vec<_>>()
        };
        let idx = match to {
            Some(id) if !self.eni_by_id.contains_key(id) => {
                let g = self
                    .group_index(id)
                    .and_then(|g| self.groups.get(g))
                    .ok_or_else(|| TargetError::UnknownTarget(id.to_string()))?;
                // A group target has no public address: the intranet NIC when classic.
                return Ok(Resolved {
                    kind: TargetRef::Group(g.index),
                    id: &g.id,
                    groups: std::slice::from_ref(&g.index),
                    nic: g.vpc.is_none().then_some(NicType::Intranet),
                    local,
                });
            }
            Some(id) => match owners
                .iter()
                .copied()
                .find(|&i| self.enis.get(i).is_some_and(|e| e.id == id))
            {
                Some(i) => i,
                None => {
                    return Err(TargetError::NotOwner {
                        target: id.to_string(),
                        addr: local,
                        candidates: owner_ids(),
                    })
                }
            },
            None => match owners {
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
        let eni = self
            .enis
            .get(idx)
            .ok_or(TargetError::NoOwner { addr: local })?;
        let public = !eni.private_ips.contains(&local) && eni.public_ip == Some(local);
        let (nic, local) = match (eni.is_classic(), public) {
            (true, true) => (Some(NicType::Internet), local),
            (true, false) => (Some(NicType::Intranet), local),
            (false, true) => {
                let private =
                    eni.primary_private_ipv4
                        .ok_or_else(|| TargetError::NoPrivateIpv4 {
                            target: eni.id.clone(),
                        })?;
                (None, private)
            }
            (false, false) => (None, local),
        };
        Ok(Resolved {
            kind: TargetRef::Eni(idx),
            id: &eni.id,
            groups: &eni.groups,
            nic,
            local,
        })
    }

    /// Step 1 of SPEC §3: the first of the target's basic groups with inner access `Accept`
    /// of which `peer` is a private address of another member ENI (any member for a group
    /// target); its id.
    pub fn inner_access(&self, target: &Resolved<'_>, peer: IpAddr) -> Option<&str> {
        let except = match target.kind {
            TargetRef::Eni(_) => Some(target.id),
            TargetRef::Group(_) => None,
        };
        target
            .groups
            .iter()
            .filter_map(|&g| self.groups.get(g))
            .find(|g| g.inner_accept && g.member_addrs.held_by_other(peer, except, &self.enis))
            .map(|g| g.id.as_str())
    }

    /// The type of the target's groups (all of one type); a target without groups counts
    /// as basic.
    pub fn group_type(&self, target: &Resolved<'_>) -> GroupType {
        target
            .groups
            .first()
            .and_then(|&g| self.groups.get(g))
            .map_or(GroupType::Normal, |g| g.group_type)
    }
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

/// What decided a packet, before it is assembled into a [`Decision`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome<'a> {
    /// Inner access of this group.
    InnerAccess(&'a str),
    /// This rule of this group.
    Rule {
        /// The group holding the rule.
        group: &'a str,
        /// The rule's id.
        rule: &'a str,
        /// Its policy.
        policy: Policy,
    },
    /// No rule matched: the default of the direction and this group type.
    Default(GroupType),
}

impl Outcome<'_> {
    /// The verdict of this outcome for a packet decided in `direction`.
    pub fn verdict(self, direction: Direction) -> Verdict {
        match self {
            Outcome::InnerAccess(_) => Verdict::Accept,
            Outcome::Rule { policy, .. } => policy.into(),
            Outcome::Default(t) => default_verdict(direction, t),
        }
    }
}

/// Assembles a decision (SPEC §3): the verdict and reason of an outcome, with the packet,
/// target id and direction.
pub fn decision(
    packet: &Packet,
    direction: Direction,
    target: &str,
    outcome: Outcome<'_>,
) -> Decision {
    let verdict = outcome.verdict(direction);
    let reason = match outcome {
        Outcome::InnerAccess(g) => Reason::InnerAccess {
            group: g.to_string(),
        },
        Outcome::Rule { group, rule, .. } => Reason::Rule {
            group: group.to_string(),
            rule: rule.to_string(),
        },
        Outcome::Default(_) => Reason::Default,
    };
    Decision {
        verdict,
        reason,
        packet: *packet,
        target: target.to_string(),
        direction,
    }
}
