//! Allow-lists (SPEC §5's `reachable_from` steps): the whole accepted space from a source
//! to a target checked against a list of services, exactly, with a witness when it breaks.

use super::audit::Source;
use super::policy::{TargetId, WorldIndex};
use super::space::{PacketBox, ProtoSet, Region, LOCAL_PORT, PEER_PORT};
use crate::model::{Decision, Direction, Family, World, PROTO_TCP, PROTO_UDP};

/// A service: protocols and, for TCP and UDP, a range of destination ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Service {
    /// The protocols.
    pub protos: ProtoSet,
    /// The destination ports (TCP and UDP only; `None`: every port).
    pub ports: Option<(u16, u16)>,
}

impl Service {
    /// Parses `PROTO [PORT | PORT-PORT]`: `tcp 443`, `udp 1000-2000`, `icmp`, `icmpv6`,
    /// `gre`, a protocol number, `all`; a bare `tcp` is every port.
    pub fn parse(s: &str) -> Result<Service, String> {
        let mut parts = s.split_whitespace();
        let proto = parts.next().ok_or_else(|| "empty service".to_string())?;
        let protos = if proto.eq_ignore_ascii_case("all") {
            ProtoSet::ALL
        } else {
            ProtoSet::one(
                crate::packet::parse_protocol(proto)
                    .ok_or_else(|| format!("invalid service `{s}`: unknown protocol `{proto}`"))?,
            )
        };
        let ports = match parts.next() {
            None => None,
            Some(p) => {
                if !(protos == ProtoSet::one(PROTO_TCP) || protos == ProtoSet::one(PROTO_UDP)) {
                    return Err(format!(
                        "invalid service `{s}`: only tcp and udp take ports"
                    ));
                }
                let (a, b) = p.split_once('-').unwrap_or((p, p));
                let port = |x: &str| {
                    x.parse::<u16>()
                        .ok()
                        .filter(|v| *v >= 1)
                        .ok_or_else(|| format!("invalid service `{s}`: port `{x}` is not 1-65535"))
                };
                let (a, b) = (port(a)?, port(b)?);
                if a > b {
                    return Err(format!("invalid service `{s}`: start exceeds end"));
                }
                Some((a, b))
            }
        };
        if parts.next().is_some() {
            return Err(format!(
                "invalid service `{s}`: expected `PROTO [PORT | PORT-PORT]`"
            ));
        }
        Ok(Service { protos, ports })
    }

    /// The packets of the service in a direction (the port is the packet's destination
    /// port: local on ingress, the peer's on egress).
    pub fn region(&self, direction: Direction) -> Region {
        let mut boxes = Vec::new();
        for family in [Family::V4, Family::V6] {
            let mut iv = [(0u128, u128::MAX); 4];
            if let Some((a, b)) = self.ports {
                let d = match direction {
                    Direction::Ingress => LOCAL_PORT,
                    Direction::Egress => PEER_PORT,
                };
                if let Some(slot) = iv.get_mut(d) {
                    *slot = (u128::from(a), u128::from(b));
                }
            }
            boxes.push(PacketBox {
                family,
                protos: self.protos,
                iv,
            });
        }
        Region::from_disjoint(boxes)
    }
}

/// How an allow-list broke: a packet that shows it, and the reference's decision of it.
#[derive(Debug, Clone)]
pub struct Broken {
    /// `only` (accepted outside the list) or `all` (a listed packet not accepted).
    pub which: &'static str,
    /// The decision of the witness.
    pub decision: Decision,
}

fn services(list: &[String], direction: Direction) -> Result<Region, String> {
    let mut r = Region::empty();
    for s in list {
        r = r.union(&Service::parse(s)?.region(direction));
    }
    Ok(r)
}

/// Checks an allow-list: with `expect_only`, nothing from `from` outside the services is
/// accepted; with `expect_all`, every packet of those services from `from` is.
pub fn check(
    world: &World,
    from: &str,
    to: &str,
    direction: Direction,
    expect_only: Option<&[String]>,
    expect_all: Option<&[String]>,
) -> Result<Option<Broken>, String> {
    let idx = WorldIndex::new(world);
    let source = Source::parse(from)?.region(&idx)?;
    let target = if world.eni(to).is_some() {
        TargetId::Eni(to.to_string())
    } else if world.group(to).is_some() {
        TargetId::Group(to.to_string())
    } else {
        return Err(format!(
            "unknown target `{to}`: no instance, network interface or security group has this id"
        ));
    };
    let policy = idx.policy(&target, direction).map_err(|e| e.to_string())?;
    let accepted = policy.accepted().intersect(&source);
    let witness = |r: &Region, which: &'static str| -> Result<Option<Broken>, String> {
        let Some(w) = r.witness(direction) else {
            return Ok(None);
        };
        let decision = crate::engine::reference::decide(world, &w, Some(to), direction)
            .map_err(|e| e.to_string())?;
        Ok(Some(Broken { which, decision }))
    };
    if let Some(list) = expect_only {
        let extra = accepted.difference(&services(list, direction)?);
        if let Some(b) = witness(&extra, "only")? {
            return Ok(Some(b));
        }
    }
    if let Some(list) = expect_all {
        let wanted = services(list, direction)?
            .intersect(&source)
            .intersect(&policy.space);
        let missing = wanted.difference(&accepted);
        if let Some(b) = witness(&missing, "all")? {
            return Ok(Some(b));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_parse() {
        assert_eq!(Service::parse("tcp 443").unwrap().ports, Some((443, 443)));
        assert_eq!(
            Service::parse("udp 1000-2000").unwrap().ports,
            Some((1000, 2000))
        );
        assert_eq!(Service::parse("tcp").unwrap().ports, None);
        assert_eq!(Service::parse("all").unwrap().protos, ProtoSet::ALL);
        assert_eq!(Service::parse("50").unwrap().protos, ProtoSet::one(50));
        for bad in ["", "tcp 0", "icmp 5", "tcp 9-1", "tcp 1 2", "xyz"] {
            assert!(Service::parse(bad).is_err(), "{bad}");
        }
    }
}
