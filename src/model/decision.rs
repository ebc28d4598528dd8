//! Packets and the decisions made about them.

use super::{Direction, Family, Policy, PROTO_TCP, PROTO_UDP};
use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A packet: the quintuple. Ports are 0 for protocols without ports.
///
/// Both addresses are of one family: the addresses are private and every constructor
/// checks it ([`Packet::new`]) or takes them typed ([`Packet::v4`], [`Packet::v6`]), so
/// no mixed-family packet exists.
///
/// ```
/// use sgsim::model::Packet;
/// let p = Packet::new(6, "10.0.0.1".parse().unwrap(), 40000, "10.0.0.2".parse().unwrap(), 22).unwrap();
/// assert_eq!(p.dst().to_string(), "10.0.0.2");
/// assert!(Packet::new(6, "10.0.0.1".parse().unwrap(), 1, "::1".parse().unwrap(), 22).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Packet {
    /// IP protocol number.
    pub protocol: u8,
    // INVARIANT: `src` and `dst` are of one family.
    src: IpAddr,
    /// Source port (0 when the protocol has none).
    pub src_port: u16,
    dst: IpAddr,
    /// Destination port (0 when the protocol has none).
    pub dst_port: u16,
}

/// A packet's two addresses were of different families.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MixedFamily;

impl std::fmt::Display for MixedFamily {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the source and destination addresses are of different families")
    }
}

impl std::error::Error for MixedFamily {}

impl Packet {
    /// A packet from its quintuple; an error when the two addresses differ in family.
    pub fn new(
        protocol: u8,
        src: IpAddr,
        src_port: u16,
        dst: IpAddr,
        dst_port: u16,
    ) -> Result<Packet, MixedFamily> {
        if src.is_ipv4() != dst.is_ipv4() {
            return Err(MixedFamily);
        }
        Ok(Packet {
            protocol,
            src,
            src_port,
            dst,
            dst_port,
        })
    }

    /// An IPv4 packet.
    pub fn v4(protocol: u8, src: Ipv4Addr, src_port: u16, dst: Ipv4Addr, dst_port: u16) -> Packet {
        Packet {
            protocol,
            src: IpAddr::V4(src),
            src_port,
            dst: IpAddr::V4(dst),
            dst_port,
        }
    }

    /// An IPv6 packet.
    pub fn v6(protocol: u8, src: Ipv6Addr, src_port: u16, dst: Ipv6Addr, dst_port: u16) -> Packet {
        Packet {
            protocol,
            src: IpAddr::V6(src),
            src_port,
            dst: IpAddr::V6(dst),
            dst_port,
        }
    }

    /// The source address.
    pub fn src(&self) -> IpAddr {
        self.src
    }

    /// The destination address.
    pub fn dst(&self) -> IpAddr {
        self.dst
    }

    /// The same packet with another source address; an error when its family differs.
    pub fn with_src(self, src: IpAddr) -> Result<Packet, MixedFamily> {
        Packet::new(self.protocol, src, self.src_port, self.dst, self.dst_port)
    }

    /// The same packet with another destination address; an error when its family differs.
    pub fn with_dst(self, dst: IpAddr) -> Result<Packet, MixedFamily> {
        Packet::new(self.protocol, self.src, self.src_port, dst, self.dst_port)
    }

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
