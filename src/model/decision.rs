//! Packets and the decisions made about them.

use super::{Direction, Family, Policy, PROTO_TCP, PROTO_UDP};
use serde::Serialize;
use std::net::IpAddr;

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
