//! The world sgsim simulates: groups, rules, instances and their ENIs, prefix lists, and the
//! packets decided against them (SPEC §1–2).
//!
//! Values here are already validated and canonical: wire strings are parsed at the boundary
//! (the API in [`crate::api`], world files in [`crate::world_file`]) and never reach the
//! engine. A [`PortRange`] is always ordered; a CIDR is always stored as its network.

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;

/// The traffic direction a rule applies to and a packet is decided in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// The packet arrives at the target (the target owns the destination address).
    Ingress,
    /// The target sends the packet (the target owns the source address).
    Egress,
}

impl Direction {
    /// The wire form: `ingress` or `egress`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }

    /// Parses `ingress`/`egress`, case-insensitively.
    pub fn parse(s: &str) -> Option<Direction> {
        match s.to_ascii_lowercase().as_str() {
            "ingress" => Some(Direction::Ingress),
            "egress" => Some(Direction::Egress),
            _ => None,
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The protocol of an API rule (`IpProtocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IpProtocol {
    /// TCP (IP protocol 6).
    Tcp,
    /// UDP (17).
    Udp,
    /// ICMP (1), IPv4 packets only.
    Icmp,
    /// ICMPv6 (58), IPv6 packets only.
    Icmpv6,
    /// GRE (47).
    Gre,
    /// Every protocol.
    All,
}

impl IpProtocol {
    /// The wire form as the cloud returns it: `TCP`, `UDP`, `ICMP`, `ICMPv6`, `GRE`, `ALL`.
    pub fn as_str(self) -> &'static str {
        match self {
            IpProtocol::Tcp => "TCP",
            IpProtocol::Udp => "UDP",
            IpProtocol::Icmp => "ICMP",
            IpProtocol::Icmpv6 => "ICMPv6",
            IpProtocol::Gre => "GRE",
            IpProtocol::All => "ALL",
        }
    }

    /// Parses one of the six names, case-insensitively.
    pub fn parse(s: &str) -> Option<IpProtocol> {
        match s.to_ascii_lowercase().as_str() {
            "tcp" => Some(IpProtocol::Tcp),
            "udp" => Some(IpProtocol::Udp),
            "icmp" => Some(IpProtocol::Icmp),
            "icmpv6" => Some(IpProtocol::Icmpv6),
            "gre" => Some(IpProtocol::Gre),
            "all" => Some(IpProtocol::All),
            _ => None,
        }
    }

    /// The IP protocol number this rule protocol matches, `None` for `ALL`.
    pub fn number(self) -> Option<u8> {
        match self {
            IpProtocol::Tcp => Some(PROTO_TCP),
            IpProtocol::Udp => Some(PROTO_UDP),
            IpProtocol::Icmp => Some(PROTO_ICMP),
            IpProtocol::Icmpv6 => Some(PROTO_ICMPV6),
            IpProtocol::Gre => Some(PROTO_GRE),
            IpProtocol::All => None,
        }
    }

    /// Whether rules of this protocol carry ports (TCP and UDP only).
    pub fn has_ports(self) -> bool {
        matches!(self, IpProtocol::Tcp | IpProtocol::Udp)
    }

    /// The address family this protocol is confined to (ICMP: IPv4, ICMPv6: IPv6).
    pub fn family(self) -> Option<Family> {
        match self {
            IpProtocol::Icmp => Some(Family::V4),
            IpProtocol::Icmpv6 => Some(Family::V6),
            _ => None,
        }
    }
}

impl fmt::Display for IpProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// IP protocol number of ICMP.
pub const PROTO_ICMP: u8 = 1;
/// IP protocol number of TCP.
pub const PROTO_TCP: u8 = 6;
/// IP protocol number of UDP.
pub const PROTO_UDP: u8 = 17;
/// IP protocol number of GRE.
pub const PROTO_GRE: u8 = 47;
/// IP protocol number of ICMPv6.
pub const PROTO_ICMPV6: u8 = 58;

/// An address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Family {
    /// IPv4.
    #[serde(rename = "IPv4")]
    V4,
    /// IPv6.
    #[serde(rename = "IPv6")]
    V6,
}

impl Family {
    /// The family of an address.
    pub fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    /// The family of a network.
    pub fn of_net(net: &IpNet) -> Family {
        match net {
            IpNet::V4(_) => Family::V4,
            IpNet::V6(_) => Family::V6,
        }
    }

    /// `IPv4` or `IPv6`.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        }
    }

    /// Parses `IPv4`/`IPv6`, case-insensitively.
    pub fn parse(s: &str) -> Option<Family> {
        match s.to_ascii_lowercase().as_str() {
            "ipv4" => Some(Family::V4),
            "ipv6" => Some(Family::V6),
            _ => None,
        }
    }
}

/// An inclusive, ordered interval of ports. The engine uses 0–65535; the API allows 1–65535
/// and checks that at its boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortRange {
    // INVARIANT: start <= end
    start: u16,
    end: u16,
}

impl PortRange {
    /// Every port, 0–65535.
    pub const ANY: PortRange = PortRange {
        start: 0,
        end: u16::MAX,
    };

    /// A range `start..=end`; `None` when `start > end`.
    pub fn new(start: u16, end: u16) -> Option<PortRange> {
        (start <= end).then_some(PortRange { start, end })
    }

    /// A single port.
    pub fn single(port: u16) -> PortRange {
        PortRange {
            start: port,
            end: port,
        }
    }

    /// First port.
    pub fn start(self) -> u16 {
        self.start
    }

    /// Last port (inclusive).
    pub fn end(self) -> u16 {
        self.end
    }

    /// Whether `port` lies in the range.
    pub fn contains(self, port: u16) -> bool {
        self.start <= port && port <= self.end
    }

    /// Whether this is 0–65535.
    pub fn is_any(self) -> bool {
        self == PortRange::ANY
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.start, self.end)
    }
}

/// A rule's policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Policy {
    /// Allow the packet.
    Accept,
    /// Drop the packet silently.
    Drop,
}

impl Policy {
    /// `Accept` or `Drop`, as the cloud returns it.
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Accept => "Accept",
            Policy::Drop => "Drop",
        }
    }

    /// Lower-case form used in decisions: `accept` or `drop`.
    pub fn as_lower(self) -> &'static str {
        match self {
            Policy::Accept => "accept",
            Policy::Drop => "drop",
        }
    }

    /// Parses accept/drop, case-insensitively.
    pub fn parse(s: &str) -> Option<Policy> {
        match s.to_ascii_lowercase().as_str() {
            "accept" => Some(Policy::Accept),
            "drop" => Some(Policy::Drop),
            _ => None,
        }
    }
}

/// The NIC a classic-network rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NicType {
    /// The public NIC of a classic instance.
    Internet,
    /// The private NIC (always this in a VPC).
    Intranet,
}

impl NicType {
    /// `internet` or `intranet`.
    pub fn as_str(self) -> &'static str {
        match self {
            NicType::Internet => "internet",
            NicType::Intranet => "intranet",
        }
    }

    /// Parses internet/intranet, case-insensitively.
    pub fn parse(s: &str) -> Option<NicType> {
        match s.to_ascii_lowercase().as_str() {
            "internet" => Some(NicType::Internet),
            "intranet" => Some(NicType::Intranet),
            _ => None,
        }
    }
}

/// A security group's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GroupType {
    /// A basic group (`normal`).
    Normal,
    /// An advanced group (`enterprise`).
    Enterprise,
}

impl GroupType {
    /// `normal` or `enterprise`.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupType::Normal => "normal",
            GroupType::Enterprise => "enterprise",
        }
    }

    /// Parses normal/enterprise, case-insensitively.
    pub fn parse(s: &str) -> Option<GroupType> {
        match s.to_ascii_lowercase().as_str() {
            "normal" => Some(GroupType::Normal),
            "enterprise" => Some(GroupType::Enterprise),
            _ => None,
        }
    }
}

/// A basic group's policy for traffic between its members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InnerAccessPolicy {
    /// Members reach each other whatever the rules say.
    Accept,
    /// Members are isolated unless a rule allows the traffic.
    Drop,
}

impl InnerAccessPolicy {
    /// `Accept` or `Drop`.
    pub fn as_str(self) -> &'static str {
        match self {
            InnerAccessPolicy::Accept => "Accept",
            InnerAccessPolicy::Drop => "Drop",
        }
    }

    /// Parses accept/drop, case-insensitively.
    pub fn parse(s: &str) -> Option<InnerAccessPolicy> {
        match s.to_ascii_lowercase().as_str() {
            "accept" => Some(InnerAccessPolicy::Accept),
            "drop" => Some(InnerAccessPolicy::Drop),
            _ => None,
        }
    }
}

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
    /// The public address, owned by the primary ENI.
    pub public_ip: Option<IpAddr>,
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
            self.instance.public_ip
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

    /// The next free id of a kind (`sg-`, `sgr-`, `pl-`): the prefix and 12 zero-padded
    /// decimal digits, one more than the largest such number in the world (SPEC §1).
    pub fn next_id(&self, prefix: &str) -> String {
        let max = self
            .all_ids()
            .filter_map(|id| numbered_id(id, prefix))
            .max()
            .unwrap_or(0);
        format!("{prefix}{:012}", max.saturating_add(1))
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

/// The number `N` of an id `PREFIX` + 12 decimal digits, if `id` has that form.
pub fn numbered_id(id: &str, prefix: &str) -> Option<u64> {
    let digits = id.strip_prefix(prefix)?;
    if digits.len() == 12 && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse().ok()
    } else {
        None
    }
}

/// A packet: the quintuple. Ports are 0 for protocols without ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Packet {
    /// IP protocol number.
    pub protocol: u8,
    /// Source address.
    pub src: IpAddr,
    /// Source port (0 when the protocol has none).
    pub src_port: u16,
    /// Destination address.
    pub dst: IpAddr,
    /// Destination port (0 when the protocol has none).
    pub dst_port: u16,
}

impl Packet {
    /// Whether the protocol carries ports in sgsim's notation (TCP and UDP).
    pub fn has_ports(&self) -> bool {
        self.protocol == PROTO_TCP || self.protocol == PROTO_UDP
    }

    /// The packet's address family (both ends share it).
    pub fn family(&self) -> Family {
        Family::of(&self.src)
    }

    /// The local address for a direction: destination on ingress, source on egress.
    pub fn local(&self, direction: Direction) -> IpAddr {
        match direction {
            Direction::Ingress => self.dst,
            Direction::Egress => self.src,
        }
    }

    /// The peer address for a direction: source on ingress, destination on egress.
    pub fn peer(&self, direction: Direction) -> IpAddr {
        match direction {
            Direction::Ingress => self.src,
            Direction::Egress => self.dst,
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

/// The outcome of deciding a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The packet is allowed.
    Accept,
    /// The packet is dropped.
    Drop,
}

impl Verdict {
    /// `accept` or `drop`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Accept => "accept",
            Verdict::Drop => "drop",
        }
    }
}

impl From<Policy> for Verdict {
    fn from(p: Policy) -> Verdict {
        match p {
            Policy::Accept => Verdict::Accept,
            Policy::Drop => Verdict::Drop,
        }
    }
}

/// Why a packet got its verdict.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Reason {
    /// A rule decided: the deciding rule and its group.
    Rule {
        /// The group holding the rule.
        group: String,
        /// The rule's id.
        rule: String,
    },
    /// Inner access of a basic group with `InnerAccessPolicy = Accept` allowed it.
    InnerAccess {
        /// The group (the first qualifying one in the ENI's list).
        group: String,
    },
    /// No rule matched; the default of the direction and group type applied.
    Default,
}

impl Reason {
    /// `rule`, `inner-access` or `default`.
    pub fn kind(&self) -> &'static str {
        match self {
            Reason::Rule { .. } => "rule",
            Reason::InnerAccess { .. } => "inner-access",
            Reason::Default => "default",
        }
    }

    /// The deciding rule's id, if a rule decided.
    pub fn rule_id(&self) -> Option<&str> {
        match self {
            Reason::Rule { rule, .. } => Some(rule),
            _ => None,
        }
    }

    /// The group named by the reason, if any.
    pub fn group(&self) -> Option<&str> {
        match self {
            Reason::Rule { group, .. } | Reason::InnerAccess { group } => Some(group),
            Reason::Default => None,
        }
    }
}

/// A decision with its explanation and the concrete packet decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Accept or drop.
    pub verdict: Verdict,
    /// Why.
    pub reason: Reason,
    /// The packet as decided (defaults filled in).
    pub packet: Packet,
    /// The target: the id given or resolved (an instance's id for its primary ENI).
    pub target: String,
    /// The direction decided.
    pub direction: Direction,
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
