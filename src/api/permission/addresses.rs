//! The peer and local address rows of SPEC §4's table: which peer field counts, the two
//! families given at once, CIDR syntax, the family conflict between peer and local, a
//! source equal to its destination, and the protocol against the address family.

use super::{Fields, ParamForm};
use crate::api::error::{invalid, ApiError, ErrorCode as C};
use crate::model::{canonical, parse_cidr, Direction, Family, IpProtocol};
use ipnet::IpNet;

/// A CIDR field that was given: its API name, its text and the family its name asks for.
#[derive(Debug, Clone, Copy)]
pub(super) struct CidrField<'a> {
    name: &'static str,
    text: &'a str,
    family: Family,
}

/// The peer field that counts, with the cloud's precedence: a CIDR beats a group; a prefix
/// list loses to any other. The losing fields are ignored, not checked.
#[derive(Debug, Clone, Copy)]
pub(super) enum PeerField<'a> {
    /// `SourceCidrIp` or `Ipv6SourceCidrIp` (egress: `Dest…`), not yet parsed.
    Cidr(CidrField<'a>),
    /// The group id of `SourceGroupId` (egress: `DestGroupId`).
    Group(&'a str),
    /// The prefix-list id of `SourcePrefixListId` (egress: `DestPrefixListId`).
    PrefixList(&'a str),
}

/// The address fields of a permission that passed [`peer_fields`].
#[derive(Debug, Clone, Copy)]
pub(super) struct GivenAddresses<'a> {
    peer: PeerField<'a>,
    local: Option<CidrField<'a>>,
}

/// The peer with its CIDR parsed and canonical.
#[derive(Debug, Clone, Copy)]
pub(super) enum PeerAddress<'a> {
    /// A CIDR peer.
    Cidr(IpNet),
    /// A group id, for the group-peer rows.
    Group(&'a str),
    /// A prefix-list id, for the prefix-list rows.
    PrefixList(&'a str),
}

/// The addresses of a permission that passed [`cidrs`].
#[derive(Debug, Clone, Copy)]
pub(super) struct Addresses<'a> {
    /// The peer.
    pub(super) peer: PeerAddress<'a>,
    /// The local CIDR, canonical.
    pub(super) local: Option<IpNet>,
}

/// The rows "no peer field at all" (400 `MissingParameter.Source`/`.Dest`), "IPv4 and IPv6
/// peer fields both given" and "IPv4 and IPv6 local fields both given".
pub(super) fn peer_fields<'a>(f: &Fields<'a>) -> Result<GivenAddresses<'a>, ApiError> {
    let n = &f.names;
    let peer_v4 = f.get(n.peer_v4);
    let peer_v6 = f.get(n.peer_v6);
    let peer = if let Some(text) = peer_v4 {
        PeerField::Cidr(CidrField {
            name: n.peer_v4,
            text,
            family: Family::V4,
        })
    } else if let Some(text) = peer_v6 {
        PeerField::Cidr(CidrField {
            name: n.peer_v6,
            text,
            family: Family::V6,
        })
    } else if let Some(id) = f.get(n.group) {
        PeerField::Group(id)
    } else if let Some(id) = f.get(n.prefix_list) {
        PeerField::PrefixList(id)
    } else {
        return Err(no_peer(f));
    };
    let (peer_code, local_code) = match f.direction {
        Direction::Ingress => (C::InvalidParamSourceIp, C::InvalidParamDestIp),
        Direction::Egress => (C::InvalidParamDestIp, C::InvalidParamSourceIp),
    };
    if peer_v4.is_some() && peer_v6.is_some() {
        return Err(both_families(f, n.peer_v4, n.peer_v6, peer_code));
    }
    let local = match (f.get(n.local_v4), f.get(n.local_v6)) {
        (Some(_), Some(_)) => {
            return Err(both_families(f, n.local_v4, n.local_v6, local_code));
        }
        (Some(text), None) => Some(CidrField {
            name: n.local_v4,
            text,
            family: Family::V4,
        }),
        (None, Some(text)) => Some(CidrField {
            name: n.local_v6,
            text,
            family: Family::V6,
        }),
        (None, None) => None,
    };
    Ok(GivenAddresses { peer, local })
}

/// 400 `MissingParameter.Source` (egress: `MissingParameter.Dest`).
fn no_peer(f: &Fields) -> ApiError {
    let (code, what) = match f.direction {
        Direction::Ingress => (
            C::MissingParameterSource,
            "SourceCidrIp, Ipv6SourceCidrIp, SourceGroupId or SourcePrefixListId",
        ),
        Direction::Egress => (
            C::MissingParameterDest,
            "DestCidrIp, Ipv6DestCidrIp, DestGroupId or DestPrefixListId",
        ),
    };
    let (param, place) = match f.form {
        ParamForm::Indexed(i) => (format!("Permissions.{i}"), format!("\"Permissions.{i}\"")),
        ParamForm::Flat => (f.names.peer_v4.to_string(), "the request".to_string()),
    };
    let message = format!("One of the parameters {what} in {place} must be specified.");
    ApiError::param(400, code, param, message)
}

/// An IPv4 and an IPv6 field of the same role both given, naming the IPv6 one.
fn both_families(f: &Fields, v4: &str, v6: &str, code: C) -> ApiError {
    let param = f.param(v6);
    let message = format!("\"{}\" and \"{param}\" cannot both be given.", f.param(v4));
    ApiError::param(400, code, param, message)
}

/// The rows from "malformed IPv4 CIDR" to "ICMP with an IPv6 address; ICMPv6 with an IPv4
/// address", in order. CIDRs are parsed field by field in the order of [`CIDR_FIELDS`] and
/// compared canonical.
pub(super) fn cidrs<'a>(
    f: &Fields,
    given: &GivenAddresses<'a>,
    protocol: IpProtocol,
) -> Result<Addresses<'a>, ApiError> {
    let peer_cidr = match given.peer {
        PeerField::Cidr(field) => Some(field),
        PeerField::Group(_) | PeerField::PrefixList(_) => None,
    };
    // At most one peer and one local field, parsed in the order of `CIDR_FIELDS`.
    let local_first = match (peer_cidr, given.local) {
        (Some(p), Some(l)) => rank(l) < rank(p),
        _ => false,
    };
    let parse = |field: Option<CidrField>| field.map(|c| parse_field(f, c)).transpose();
    let (peer_net, local_net) = if local_first {
        let l = parse(given.local)?;
        (parse(peer_cidr)?, l)
    } else {
        let p = parse(peer_cidr)?;
        (p, parse(given.local)?)
    };
    if let (Some(p), Some(l), Some(field)) = (peer_net, local_net, given.local) {
        if Family::of_net(&p) != Family::of_net(&l) {
            let param = f.param(field.name);
            let message = format!("The specified parameter \"{param}\" conflicts with the family of the authorization object.");
            return Err(ApiError::param(
                400,
                C::InvalidParameterConflict,
                param,
                message,
            ));
        }
        if matches!(p, IpNet::V4(_)) && p == l {
            let param = f.param("DestCidrIp");
            let message = format!(
                "The specified \"{}\" should be different from \"{param}\".",
                f.param("SourceCidrIp")
            );
            return Err(ApiError::param(
                400,
                C::InvalidParamterConflict,
                param,
                message,
            ));
        }
    }
    for (net, field) in [(peer_net, peer_cidr), (local_net, given.local)] {
        if let (Some(net), Some(field)) = (net, field) {
            family_conflict(protocol, Family::of_net(&net), f.param(field.name))?;
        }
    }
    let peer = match (peer_net, given.peer) {
        (Some(net), _) => PeerAddress::Cidr(net),
        (None, PeerField::Group(id)) => PeerAddress::Group(id),
        (None, PeerField::PrefixList(id)) => PeerAddress::PrefixList(id),
        // A CIDR field parses or fails above.
        (None, PeerField::Cidr(field)) => return Err(malformed(f, field)),
    };
    Ok(Addresses {
        peer,
        local: local_net,
    })
}

/// The CIDR fields in the order their syntax is checked.
const CIDR_FIELDS: [&str; 4] = [
    "SourceCidrIp",
    "DestCidrIp",
    "Ipv6SourceCidrIp",
    "Ipv6DestCidrIp",
];

/// A field's place in [`CIDR_FIELDS`].
fn rank(field: CidrField) -> usize {
    CIDR_FIELDS
        .iter()
        .position(|n| *n == field.name)
        .unwrap_or(CIDR_FIELDS.len())
}

/// Parses a CIDR field of the family its name asks for, canonical.
fn parse_field(f: &Fields, field: CidrField) -> Result<IpNet, ApiError> {
    parse_cidr(field.text)
        .filter(|n| Family::of_net(n) == field.family)
        .map(canonical)
        .ok_or_else(|| malformed(f, field))
}

/// The code of a malformed CIDR: `InvalidParam.SourceCidrIp` for a `Permissions.N` field,
/// `InvalidSourceCidrIp.Malformed` for a flat one, `InvalidParam.Ipv6SourceCidrIp` for
/// IPv6 in either form (and the `Dest…` ones alike).
fn malformed(f: &Fields, field: CidrField) -> ApiError {
    let source = field.name.contains("Source");
    let code = match (field.family, f.form, source) {
        (Family::V6, _, true) => C::InvalidParamIpv6SourceCidrIp,
        (Family::V6, _, false) => C::InvalidParamIpv6DestCidrIp,
        (Family::V4, ParamForm::Flat, true) => C::InvalidSourceCidrIpMalformed,
        (Family::V4, ParamForm::Flat, false) => C::InvalidDestCidrIpMalformed,
        (Family::V4, ParamForm::Indexed(_), true) => C::InvalidParamSourceCidrIp,
        (Family::V4, ParamForm::Indexed(_), false) => C::InvalidParamDestCidrIp,
    };
    invalid(400, code, f.param(field.name))
}

/// ICMP with an IPv6 address, or ICMPv6 with an IPv4 address (the address in `param`).
pub(super) fn family_conflict(
    protocol: IpProtocol,
    family: Family,
    param: String,
) -> Result<(), ApiError> {
    match (protocol, family) {
        (IpProtocol::Icmp, Family::V6) => {
            let message = format!(
                "The specified protocol ICMP conflicts with the IPv6 address in \"{param}\"."
            );
            Err(ApiError::param(
                400,
                C::Ipv4ProtocolConflictWithIpv6Address,
                param,
                message,
            ))
        }
        (IpProtocol::Icmpv6, Family::V4) => {
            let message = format!(
                "The specified protocol ICMPv6 conflicts with the IPv4 address in \"{param}\"."
            );
            Err(ApiError::param(
                400,
                C::Ipv6ProtocolConflictWithIpv4Address,
                param,
                message,
            ))
        }
        _ => Ok(()),
    }
}
