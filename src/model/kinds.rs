//! The small enumerated kinds of the model (directions, protocols, policies, …) and port
//! ranges, each with its wire spelling and a case-insensitive parser.

use ipnet::IpNet;
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
        // Without a lowercase copy: every `check --batch` line's last word is tried.
        named(
            s,
            &[
                ("ingress", Direction::Ingress),
                ("egress", Direction::Egress),
            ],
        )
    }
}

/// The value whose name is `s`, case-insensitively (ASCII), without a lowercase copy.
pub(crate) fn named<T: Copy>(s: &str, names: &[(&str, T)]) -> Option<T> {
    names
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(s))
        .map(|&(_, v)| v)
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
        named(
            s,
            &[
                ("tcp", IpProtocol::Tcp),
                ("udp", IpProtocol::Udp),
                ("icmp", IpProtocol::Icmp),
                ("icmpv6", IpProtocol::Icmpv6),
                ("gre", IpProtocol::Gre),
                ("all", IpProtocol::All),
            ],
        )
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
        named(s, &[("ipv4", Family::V4), ("ipv6", Family::V6)])
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
        named(s, &[("accept", Policy::Accept), ("drop", Policy::Drop)])
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
        named(
            s,
            &[
                ("internet", NicType::Internet),
                ("intranet", NicType::Intranet),
            ],
        )
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
        named(
            s,
            &[
                ("normal", GroupType::Normal),
                ("enterprise", GroupType::Enterprise),
            ],
        )
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
        named(
            s,
            &[
                ("accept", InnerAccessPolicy::Accept),
                ("drop", InnerAccessPolicy::Drop),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_in_any_case() {
        assert_eq!(Direction::parse("ingress"), Some(Direction::Ingress));
        assert_eq!(Direction::parse("EGRESS"), Some(Direction::Egress));
        assert_eq!(Direction::parse("Egress "), None);
        assert_eq!(Direction::parse("192.168.1.10:22"), None);
        assert_eq!(IpProtocol::parse("Tcp"), Some(IpProtocol::Tcp));
        assert_eq!(IpProtocol::parse("icmpV6"), Some(IpProtocol::Icmpv6));
        assert_eq!(IpProtocol::parse("ALL"), Some(IpProtocol::All));
        assert_eq!(IpProtocol::parse("any"), None);
        assert_eq!(Family::parse("IPv6"), Some(Family::V6));
        assert_eq!(Policy::parse("Drop"), Some(Policy::Drop));
        assert_eq!(NicType::parse("INTRANET"), Some(NicType::Intranet));
        assert_eq!(GroupType::parse("Enterprise"), Some(GroupType::Enterprise));
        assert_eq!(
            InnerAccessPolicy::parse("ACCEPT"),
            Some(InnerAccessPolicy::Accept)
        );
        assert_eq!(GroupType::parse("basic"), None);
    }
}
