//! The world sgsim simulates: groups, rules, instances and their ENIs, prefix lists, and the
//! packets decided against them (SPEC §1–2).
//!
//! Values here are already validated and canonical: wire strings are parsed at the boundary
//! (the API in [`crate::api`], world files in [`crate::world_file`]) and never reach the
//! engine. A [`PortRange`] is always ordered; a CIDR is always stored as its network.

mod decision;
mod kinds;

pub use decision::{Decision, MixedFamily, Packet, Reason, Verdict};
pub use kinds::*;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr};

/// The other end of a rule: who may talk to (ingress) or be talked to by (egress) the target.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Peer {
    /// An IPv4 or IPv6 network (canonical: host bits zero).
    Cidr(IpNet),
    /// The private addresses of the ENIs that are members of a security group.
    Group {
        /// The referenced group's id.
        id: String,
        /// `SourceGroupOwnerAccount`/`DestGroupOwnerAccount` as given, if any.
        owner_account: Option<String>,
        /// `SourceGroupOwnerId`/`DestGroupOwnerId` as given, if any.
        owner_id: Option<String>,
    },
    /// The entries of a prefix list, as they are at decision time.
    PrefixList(String),
}

/// A security-group rule, validated and canonical (SPEC §2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// `sgr-…`, unique in the world.
    pub id: String,
    /// Ingress or egress.
    pub direction: Direction,
    /// The protocol.
    pub protocol: IpProtocol,
    /// Destination ports; `None` means `-1/-1` (any; the only form for non-TCP/UDP rules).
    pub port_range: Option<PortRange>,
    /// Source ports; `None` means any.
    pub source_port_range: Option<PortRange>,
    /// The other end.
    pub peer: Peer,
    /// The quintuple's local CIDR (`DestCidrIp` on ingress, `SourceCidrIp` on egress).
    pub local_cidr: Option<IpNet>,
    /// The NIC type (always `intranet` in a VPC group).
    pub nic_type: NicType,
    /// Accept or drop.
    pub policy: Policy,
    /// 1–100, smaller is stronger.
    pub priority: u8,
    /// Free text, at most 512 characters.
    pub description: String,
    /// ISO 8601 UTC creation time.
    pub create_time: String,
}

impl Rule {
    /// Whether two rules are the same rule by SPEC §4's identity: direction, protocol, port
    /// range, source port range, peer, local CIDR, NIC type, policy and priority.
    pub fn same_identity(&self, other: &Rule) -> bool {
        self.identity() == other.identity()
    }

    /// The fields that make a rule's identity (SPEC §4), comparable and hashable.
    #[allow(clippy::type_complexity)]
    pub fn identity(
        &self,
    ) -> (
        Direction,
        IpProtocol,
        Option<PortRange>,
        Option<PortRange>,
        &Peer,
        Option<IpNet>,
        NicType,
        Policy,
        u8,
    ) {
        (
            self.direction,
            self.protocol,
            self.port_range,
            self.source_port_range,
            &self.peer,
            self.local_cidr,
            self.nic_type,
            self.policy,
            self.priority,
        )
    }

    /// The rule's peer written as the user would: a CIDR, a group id or a prefix-list id.
    pub fn peer_text(&self) -> String {
        match &self.peer {
            Peer::Cidr(net) => net.to_string(),
            Peer::Group { id, .. } => id.clone(),
            Peer::PrefixList(id) => id.clone(),
        }
    }

    /// A one-line summary of the rule's fields, for explanations.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} {} {} port {}",
            self.direction,
            self.policy.as_lower(),
            self.protocol,
            self.port_range
                .map_or_else(|| "-1/-1".to_string(), |p| p.to_string())
        );
        if let Some(sp) = self.source_port_range {
            s.push_str(&format!(" source port {sp}"));
        }
        let peer_word = match self.direction {
            Direction::Ingress => "from",
            Direction::Egress => "to",
        };
        s.push_str(&format!(" {peer_word} {}", self.peer_text()));
        if let Some(local) = self.local_cidr {
            let local_word = match self.direction {
                Direction::Ingress => "to",
                Direction::Egress => "from",
            };
            s.push_str(&format!(" {local_word} local {local}"));
        }
        s.push_str(&format!(
            " priority {} nic {}",
            self.priority,
            self.nic_type.as_str()
        ));
        if !self.description.is_empty() {
            s.push_str(&format!(" ({:?})", self.description));
        }
        s
    }
}

/// A VPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vpc {
    /// `vpc-…`.
    pub id: String,
}

/// A security group (SPEC §1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityGroup {
    /// `sg-…`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Basic or advanced.
    pub group_type: GroupType,
    /// The VPC; `None` for the classic network.
    pub vpc_id: Option<String>,
    /// Owner account id (digits).
    pub owner_id: String,
    /// Owner account name, if known.
    pub owner_account: Option<String>,
    /// Policy between members (always `Drop` for advanced groups).
    pub inner_access_policy: InnerAccessPolicy,
    /// Managed by a cloud service: the API may not change it.
    pub service_managed: bool,
    /// ISO 8601 UTC creation time.
    pub create_time: String,
    /// The group's rules, both directions, in insertion order.
    pub rules: Vec<Rule>,
}

impl SecurityGroup {
    /// Whether the group is in the classic network.
    pub fn is_classic(&self) -> bool {
        self.vpc_id.is_none()
    }
}

/// A network interface: the unit security groups attach to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkInterface {
    /// `eni-…` (or the instance's id for its primary ENI).
    pub id: String,
    /// Groups, all of one type, in the order given.
    pub security_groups: Vec<String>,
    /// Private addresses, IPv4 and IPv6.
    pub private_ips: Vec<IpAddr>,
}

/// An ECS instance: its top-level fields describe its primary ENI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// `i-…`; also the id of the primary ENI.
    pub id: String,
    /// The VPC; `None` for the classic network.
    pub vpc_id: Option<String>,
    /// Groups of the primary ENI.
    pub security_groups: Vec<String>,
    /// Private addresses of the primary ENI; the first IPv4 one is the primary private IP.
    pub private_ips: Vec<IpAddr>,
    /// The public address, owned by the primary ENI: always IPv4 (SPEC §1 and §6).
    pub public_ip: Option<Ipv4Addr>,
    /// Secondary ENIs.
    pub network_interfaces: Vec<NetworkInterface>,
}

impl Instance {
    /// The primary private IPv4 address, if any.
    pub fn primary_private_ipv4(&self) -> Option<IpAddr> {
        self.private_ips.iter().copied().find(|a| a.is_ipv4())
    }
}

/// One entry of a prefix list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixListEntry {
    /// A canonical CIDR of the list's family.
    pub cidr: IpNet,
    /// Free text.
    pub description: String,
}

/// A prefix list (SPEC §1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixList {
    /// `pl-…`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// IPv4 or IPv6; every entry is of this family.
    pub address_family: Family,
    /// 1 to the `prefix_list_entries` limit; counts against rule quotas.
    pub max_entries: u32,
    /// The entries, canonical, distinct.
    pub entries: Vec<PrefixListEntry>,
    /// ISO 8601 UTC creation time.
    pub create_time: String,
}

/// Configurable limits (SPEC §4), with the cloud's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Rules per group, both directions; a prefix-list rule counts as its `max_entries`.
    pub rules_per_group: u32,
    /// Rules across all groups of one ENI.
    pub rules_per_eni: u32,
    /// Groups per ENI.
    pub groups_per_eni: u32,
    /// Distinct groups referenced by one group's rules.
    pub group_references_per_group: u32,
    /// `Permissions.N` per call.
    pub permissions_per_request: u32,
    /// Max entries of a prefix list.
    pub prefix_list_entries: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            rules_per_group: 200,
            rules_per_eni: 1000,
            groups_per_eni: 5,
            group_references_per_group: 20,
            permissions_per_request: 100,
            prefix_list_entries: 200,
        }
    }
}

/// A successful call remembered for `ClientToken` idempotence (SPEC §4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientTokenRecord {
    /// The token.
    pub token: String,
    /// The action it was used with.
    pub action: String,
    /// The business parameters, decoded, sorted by name.
    pub params: Vec<(String, String)>,
    /// The response body returned then.
    pub response: serde_json::Value,
}

/// Default region.
pub const DEFAULT_REGION: &str = "cn-hangzhou";
/// Default caller account id.
pub const DEFAULT_ACCOUNT: &str = "1000000000000000";

/// Everything sgsim simulates: one region of one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct World {
    /// The region every call must name.
    pub region_id: String,
    /// The caller's account id (digits).
    pub account_id: String,
    /// The caller's account name, if any.
    pub account_name: Option<String>,
    /// Limits in force.
    pub limits: Limits,
    /// VPCs.
    pub vpcs: Vec<Vpc>,
    /// Prefix lists.
    pub prefix_lists: Vec<PrefixList>,
    /// Security groups.
    pub security_groups: Vec<SecurityGroup>,
    /// Instances.
    pub instances: Vec<Instance>,
    /// Successful calls with a `ClientToken`.
    pub client_tokens: Vec<ClientTokenRecord>,
}

impl Default for World {
    fn default() -> Self {
        World {
            region_id: DEFAULT_REGION.to_string(),
            account_id: DEFAULT_ACCOUNT.to_string(),
            account_name: None,
            limits: Limits::default(),
            vpcs: Vec::new(),
            prefix_lists: Vec::new(),
            security_groups: Vec::new(),
            instances: Vec::new(),
            client_tokens: Vec::new(),
        }
    }
}

/// A view of one ENI, primary or secondary, with what deciding a packet needs.
#[derive(Debug, Clone, Copy)]
pub struct EniRef<'w> {
    /// The ENI's id (the instance's id for a primary ENI).
    pub id: &'w str,
    /// The instance it belongs to.
    pub instance: &'w Instance,
    /// Its groups.
    pub security_groups: &'w [String],
    /// Its private addresses.
    pub private_ips: &'w [IpAddr],
    /// Whether it is the instance's primary ENI (which owns `public_ip`).
    pub primary: bool,
}

impl<'w> EniRef<'w> {
    /// The public address this ENI owns (primary ENI only).
    pub fn public_ip(&self) -> Option<IpAddr> {
        if self.primary {
            self.instance.public_ip.map(IpAddr::V4)
        } else {
            None
        }
    }

    /// The VPC of the ENI (its instance's).
    pub fn vpc_id(&self) -> Option<&'w str> {
        self.instance.vpc_id.as_deref()
    }

    /// Whether the ENI owns `addr` as a private or (primary only) public address.
    pub fn owns(&self, addr: IpAddr) -> bool {
        self.private_ips.contains(&addr) || self.public_ip() == Some(addr)
    }
}

impl World {
    /// The group with this id.
    pub fn group(&self, id: &str) -> Option<&SecurityGroup> {
        self.security_groups.iter().find(|g| g.id == id)
    }

    /// The group with this id, mutably.
    pub fn group_mut(&mut self, id: &str) -> Option<&mut SecurityGroup> {
        self.security_groups.iter_mut().find(|g| g.id == id)
    }

    /// The prefix list with this id.
    pub fn prefix_list(&self, id: &str) -> Option<&PrefixList> {
        self.prefix_lists.iter().find(|p| p.id == id)
    }

    /// The instance with this id.
    pub fn instance(&self, id: &str) -> Option<&Instance> {
        self.instances.iter().find(|i| i.id == id)
    }

    /// Every ENI of the world: each instance's primary, then its secondaries, in file order.
    pub fn enis(&self) -> impl Iterator<Item = EniRef<'_>> {
        self.instances.iter().flat_map(|inst| {
            std::iter::once(EniRef {
                id: &inst.id,
                instance: inst,
                security_groups: &inst.security_groups,
                private_ips: &inst.private_ips,
                primary: true,
            })
            .chain(inst.network_interfaces.iter().map(move |n| EniRef {
                id: &n.id,
                instance: inst,
                security_groups: &n.security_groups,
                private_ips: &n.private_ips,
                primary: false,
            }))
        })
    }

    /// The ENI with this id (an instance id names its primary ENI).
    pub fn eni(&self, id: &str) -> Option<EniRef<'_>> {
        self.enis().find(|e| e.id == id)
    }

    /// The ENIs that are members of a group.
    pub fn members<'w>(&'w self, group_id: &'w str) -> impl Iterator<Item = EniRef<'w>> + 'w {
        self.enis()
            .filter(move |e| e.security_groups.iter().any(|g| g == group_id))
    }

    /// The rule with this id and the group holding it.
    pub fn rule(&self, id: &str) -> Option<(&SecurityGroup, &Rule)> {
        self.security_groups
            .iter()
            .find_map(|g| g.rules.iter().find(|r| r.id == id).map(|r| (g, r)))
    }

    /// The next free id of a kind (`sg-`, `sgr-`, `pl-`): the prefix and at least 12
    /// zero-padded decimal digits, one more than the largest such number in the world (SPEC
    /// §1); past `…999999999999` the count goes on with 13 digits and more.
    pub fn next_id(&self, prefix: &str) -> String {
        let used: Vec<u64> = self
            .all_ids()
            .filter_map(|id| numbered_id(id, prefix))
            .collect();
        format!("{prefix}{:012}", next_number(&used))
    }

    /// Every id in the world: VPCs, prefix lists, groups, rules, instances and ENIs.
    pub fn all_ids(&self) -> impl Iterator<Item = &str> {
        self.vpcs
            .iter()
            .map(|v| v.id.as_str())
            .chain(self.prefix_lists.iter().map(|p| p.id.as_str()))
            .chain(self.security_groups.iter().flat_map(|g| {
                std::iter::once(g.id.as_str()).chain(g.rules.iter().map(|r| r.id.as_str()))
            }))
            .chain(self.instances.iter().flat_map(|i| {
                std::iter::once(i.id.as_str())
                    .chain(i.network_interfaces.iter().map(|n| n.id.as_str()))
            }))
    }

    /// How many rules a rule counts as against quotas: a prefix-list rule counts as its
    /// list's `max_entries`, any other rule as 1.
    pub fn rule_weight(&self, rule: &Rule) -> u64 {
        match &rule.peer {
            Peer::PrefixList(id) => self.prefix_list(id).map_or(1, |p| u64::from(p.max_entries)),
            _ => 1,
        }
    }

    /// A group's rules as counted against the quota (SPEC §4).
    pub fn group_rule_weight(&self, group: &SecurityGroup) -> u64 {
        group.rules.iter().map(|r| self.rule_weight(r)).sum()
    }
}

/// The number `N` of an id `PREFIX` + at least 12 decimal digits, if `id` has that form
/// and `N` fits in 64 bits.
pub fn numbered_id(id: &str, prefix: &str) -> Option<u64> {
    let digits = id.strip_prefix(prefix)?;
    if digits.len() >= 12 && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse().ok()
    } else {
        None
    }
}

/// The number for a new id, given the numbers in use: one more than the largest, or, when
/// that is `u64::MAX`, the smallest number not in use (ids never repeat).
pub fn next_number(used: &[u64]) -> u64 {
    let max = used.iter().copied().max().unwrap_or(0);
    match max.checked_add(1) {
        Some(n) => n,
        None => {
            let taken: std::collections::HashSet<u64> = used.iter().copied().collect();
            (1..).find(|n| !taken.contains(n)).unwrap_or(1)
        }
    }
}

/// Canonicalises a network: host bits cleared (`10.0.0.5/8` → `10.0.0.0/8`).
pub fn canonical(net: IpNet) -> IpNet {
    net.trunc()
}

/// The /32 or /128 network of one address.
pub fn host_net(addr: IpAddr) -> IpNet {
    match addr {
        IpAddr::V4(a) => IpNet::V4(Ipv4Net::from(a)),
        IpAddr::V6(a) => IpNet::V6(Ipv6Net::from(a)),
    }
}

/// Parses a CIDR or a bare address (a /32 or /128), returning the network as written
/// (not canonicalised) so callers can tell canonical input from non-canonical.
pub fn parse_cidr(s: &str) -> Option<IpNet> {
    // The address is parsed by std (which refuses leading zeros in IPv4 octets), so `a/n`
    // and a bare `a` accept exactly the same addresses; the length is plain decimal.
    let Some((addr, len)) = s.split_once('/') else {
        return s.parse::<IpAddr>().ok().map(host_net);
    };
    let addr: IpAddr = addr.parse().ok()?;
    let canonical_digits = !len.is_empty()
        && len.len() <= 3
        && len.bytes().all(|b| b.is_ascii_digit())
        && (len == "0" || !len.starts_with('0'));
    if !canonical_digits {
        return None;
    }
    IpNet::new(addr, len.parse().ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_parse_strictly_and_alike_with_or_without_a_length() {
        for ok in [
            "10.0.0.5/8",
            "10.0.0.5",
            "0.0.0.0/0",
            "::/0",
            "2001:db8::1",
            "2001:db8::/32",
        ] {
            assert!(parse_cidr(ok).is_some(), "{ok}");
        }
        for bad in [
            "010.0.0.5",
            "010.0.0.5/32",
            "10.0.0.0/08",
            "10.0.0.0/33",
            "10.0.0.0/",
            "/8",
            "::/129",
            "10.0.0.0/+8",
        ] {
            assert!(parse_cidr(bad).is_none(), "{bad}");
        }
        assert_eq!(
            canonical(parse_cidr("10.0.0.5/8").unwrap()).to_string(),
            "10.0.0.0/8"
        );
    }
}
