//! One permission of `AuthorizeSecurityGroup[Egress]`: the permission rows of SPEC §4's
//! validation table, checked top to bottom, and the call-level limits.
//!
//! This is the single code path that turns wire fields into a [`Rule`]: API calls use it
//! for each `Permissions.N` (or the flat parameters), and world files use it for each rule
//! as a one-permission call of its direction on its group.

use super::error::{ApiError, ErrorCode as C};
use crate::model::{
    canonical, Direction, Family, GroupType, IpProtocol, NicType, Peer, Policy, PortRange, Rule,
    SecurityGroup, World,
};
use ipnet::IpNet;
use std::collections::{BTreeMap, BTreeSet};

/// How a permission was written, which decides the parameter names errors use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamForm {
    /// The deprecated flat parameters (`PortRange`), also used for world-file rules and
    /// the single-rule fields of `Modify…Rule`.
    Flat,
    /// `Permissions.N.*`, N counting from 1.
    Indexed(usize),
}

impl ParamForm {
    /// The full name of a field in this form (`Permissions.2.PortRange` or `PortRange`).
    pub fn name(self, field: &str) -> String {
        match self {
            ParamForm::Flat => field.to_string(),
            ParamForm::Indexed(n) => format!("Permissions.{n}.{field}"),
        }
    }
}

/// The rule fields a permission may carry, by their API names.
pub const PERMISSION_FIELDS: &[&str] = &[
    "IpProtocol",
    "PortRange",
    "SourcePortRange",
    "SourceCidrIp",
    "Ipv6SourceCidrIp",
    "SourceGroupId",
    "SourceGroupOwnerAccount",
    "SourceGroupOwnerId",
    "SourcePrefixListId",
    "DestCidrIp",
    "Ipv6DestCidrIp",
    "DestGroupId",
    "DestGroupOwnerAccount",
    "DestGroupOwnerId",
    "DestPrefixListId",
    "NicType",
    "Policy",
    "Priority",
    "Description",
];

/// The names of the peer and local fields for a direction.
struct Names {
    peer_v4: &'static str,
    peer_v6: &'static str,
    group: &'static str,
    owner_account: &'static str,
    owner_id: &'static str,
    prefix_list: &'static str,
    local_v4: &'static str,
    local_v6: &'static str,
}

fn names(direction: Direction) -> Names {
    match direction {
        Direction::Ingress => Names {
            peer_v4: "SourceCidrIp",
            peer_v6: "Ipv6SourceCidrIp",
            group: "SourceGroupId",
            owner_account: "SourceGroupOwnerAccount",
            owner_id: "SourceGroupOwnerId",
            prefix_list: "SourcePrefixListId",
            local_v4: "DestCidrIp",
            local_v6: "Ipv6DestCidrIp",
        },
        Direction::Egress => Names {
            peer_v4: "DestCidrIp",
            peer_v6: "Ipv6DestCidrIp",
            group: "DestGroupId",
            owner_account: "DestGroupOwnerAccount",
            owner_id: "DestGroupOwnerId",
            prefix_list: "DestPrefixListId",
            local_v4: "SourceCidrIp",
            local_v6: "Ipv6SourceCidrIp",
        },
    }
}

fn invalid(status: u16, code: C, param: String) -> ApiError {
    let message = format!("The specified parameter \"{param}\" is not valid.");
    ApiError::param(status, code, param, message)
}

/// Parses `a/b` with integers a and b (either may be negative, as in `-1/-1`).
fn parse_pair(s: &str) -> Option<(i64, i64)> {
    let (a, b) = s.split_once('/')?;
    let int = |t: &str| -> Option<i64> {
        let digits = t.strip_prefix('-').unwrap_or(t);
        if digits.is_empty() || digits.len() > 12 || !digits.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        t.parse().ok()
    };
    Some((int(a)?, int(b)?))
}

/// A TCP/UDP port range within 1–65535, ordered.
fn api_port_range(a: i64, b: i64) -> Option<PortRange> {
    let a = u16::try_from(a).ok().filter(|p| *p >= 1)?;
    let b = u16::try_from(b).ok().filter(|p| *p >= 1)?;
    PortRange::new(a, b)
}

/// Parses an IPv4 CIDR or address, canonical form returned.
fn parse_v4(s: &str) -> Option<IpNet> {
    crate::model::parse_cidr(s)
        .filter(|n| matches!(n, IpNet::V4(_)))
        .map(canonical)
}

/// Parses an IPv6 CIDR or address, canonical form returned.
fn parse_v6(s: &str) -> Option<IpNet> {
    crate::model::parse_cidr(s)
        .filter(|n| matches!(n, IpNet::V6(_)))
        .map(canonical)
}

/// Validates one permission of an Authorize call on `group` (the permission rows of SPEC §4,
/// in order) and returns the rule it describes, with an empty `id` and `create_time` for the
/// caller to fill in. `fields` maps API field names (without the `Permissions.N.` prefix) to
/// values; an empty value counts as absent. The call-level checks (duplicates, limits) are
/// [`check_duplicates`] and [`check_limits`].
pub fn validate_permission(
    world: &World,
    group: &SecurityGroup,
    direction: Direction,
    fields: &BTreeMap<String, String>,
    form: ParamForm,
) -> Result<Rule, ApiError> {
    let get = |name: &str| {
        fields
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };
    let n = names(direction);

    // IpProtocol.
    let Some(proto_text) = get("IpProtocol") else {
        let param = form.name("IpProtocol");
        let message = format!("The input parameter \"{param}\" that is mandatory for processing this request is not supplied.");
        return Err(ApiError::param(400, C::MissingParameter, param, message));
    };
    let protocol = IpProtocol::parse(proto_text).ok_or_else(|| {
        let param = form.name("IpProtocol");
        let message = format!("The specified parameter \"{param}\" is not valid: only case insensitive TCP, UDP, ICMP, ICMPv6, GRE or ALL are supported.");
        ApiError::param(400, C::InvalidIpProtocolValueNotSupported, param, message)
    })?;

    // PortRange.
    let Some(port_text) = get("PortRange") else {
        let param = form.name("PortRange");
        let message = format!(
            "The specified parameter \"{param}\" is not valid: the port range must be given."
        );
        return Err(ApiError::param(
            400,
            C::InvalidPortRangeMalformed,
            param,
            message,
        ));
    };
    let port_error = |code: C| {
        let param = form.name("PortRange");
        let message = format!("The specified parameter \"{param}\" is not valid: please specify the PortRange or SourcePortRange in integer, less than 65535, and separate the range with '/'.");
        ApiError::param(400, code, param, message)
    };
    let (a, b) = parse_pair(port_text).ok_or_else(|| port_error(C::InvalidParamPortRange))?;
    let port_range = if protocol.has_ports() {
        if (a, b) == (-1, -1) {
            let param = form.name("PortRange");
            let message = format!(
                "The specified parameter \"{param}\" does not match the protocol {protocol}: TCP and UDP need a port range from 1 to 65535."
            );
            return Err(ApiError::param(400, C::OperationDenied, param, message));
        }
        let in_range = |p: i64| (1..=65535).contains(&p);
        if !in_range(a) || !in_range(b) {
            return Err(port_error(C::InvalidParamPortRange));
        }
        match api_port_range(a, b) {
            Some(r) => Some(r),
            None => {
                let param = form.name("PortRange");
                let message = format!("The specified parameter \"{param}\" is not valid: the start port exceeds the end port.");
                return Err(ApiError::param(
                    400,
                    C::InvalidIpProtocolMalformed,
                    param,
                    message,
                ));
            }
        }
    } else {
        if (a, b) != (-1, -1) {
            return Err(port_error(C::InvalidParamPortRange));
        }
        None
    };

    // SourcePortRange.
    let source_port_range = match get("SourcePortRange") {
        None => None,
        Some(text) => {
            let bad = || {
                invalid(
                    400,
                    C::InvalidSourcePortRangeMalformed,
                    form.name("SourcePortRange"),
                )
            };
            let (a, b) = parse_pair(text).ok_or_else(bad)?;
            if (a, b) == (-1, -1) {
                None
            } else if !protocol.has_ports() {
                return Err(bad());
            } else {
                Some(api_port_range(a, b).ok_or_else(bad)?)
            }
        }
    };

    // Policy, Priority, NicType, Description.
    let policy = match get("Policy") {
        None => Policy::Accept,
        Some(p) => Policy::parse(p)
            .ok_or_else(|| invalid(400, C::InvalidPolicyMalformed, form.name("Policy")))?,
    };
    let priority = match get("Priority") {
        None => 1,
        Some(p) => {
            if !p.bytes().all(|c| c.is_ascii_digit()) {
                return Err(invalid(
                    400,
                    C::InvalidPriorityMalformed,
                    form.name("Priority"),
                ));
            }
            let digits = p.trim_start_matches('0');
            match digits.parse::<u8>() {
                Ok(v) if (1..=100).contains(&v) => v,
                _ => {
                    return Err(invalid(
                        400,
                        C::InvalidPriorityValueNotSupported,
                        form.name("Priority"),
                    ))
                }
            }
        }
    };
    let nic_given = match get("NicType") {
        None => None,
        Some(t) => Some(NicType::parse(t).ok_or_else(|| {
            invalid(
                400,
                C::InvalidNicTypeValueNotSupported,
                form.name("NicType"),
            )
        })?),
    };
    let description = get("Description").unwrap_or("").to_string();
    if description.chars().count() > 512 {
        return Err(invalid(
            400,
            C::InvalidDescriptionMalformed,
            form.name("Description"),
        ));
    }

    // The peer, with the cloud's precedence: CIDR beats group; a prefix list loses to any.
    let peer_v4_text = get(n.peer_v4);
    let peer_v6_text = get(n.peer_v6);
    let group_text = get(n.group);
    let has_cidr_peer = peer_v4_text.is_some() || peer_v6_text.is_some();
    let group_text = if has_cidr_peer { None } else { group_text };
    let prefix_text = if has_cidr_peer || group_text.is_some() {
        None
    } else {
        get(n.prefix_list)
    };
    if !has_cidr_peer && group_text.is_none() && prefix_text.is_none() {
        let (code, what) = match direction {
            Direction::Ingress => (
                C::MissingParameterSource,
                "SourceCidrIp, Ipv6SourceCidrIp, SourceGroupId or SourcePrefixListId",
            ),
            Direction::Egress => (
                C::MissingParameterDest,
                "DestCidrIp, Ipv6DestCidrIp, DestGroupId or DestPrefixListId",
            ),
        };
        let (param, place) = match form {
            ParamForm::Indexed(i) => (format!("Permissions.{i}"), format!("\"Permissions.{i}\"")),
            ParamForm::Flat => (n.peer_v4.to_string(), "the request".to_string()),
        };
        let message = format!("One of the parameters {what} in {place} must be specified.");
        return Err(ApiError::param(400, code, param, message));
    }
    let (peer_ip_code, local_ip_code) = match direction {
        Direction::Ingress => (C::InvalidParamSourceIp, C::InvalidParamDestIp),
        Direction::Egress => (C::InvalidParamDestIp, C::InvalidParamSourceIp),
    };
    if peer_v4_text.is_some() && peer_v6_text.is_some() {
        let param = form.name(n.peer_v6);
        let message = format!(
            "\"{}\" and \"{param}\" cannot both be given.",
            form.name(n.peer_v4)
        );
        return Err(ApiError::param(400, peer_ip_code, param, message));
    }
    let local_v4_text = get(n.local_v4);
    let local_v6_text = get(n.local_v6);
    if local_v4_text.is_some() && local_v6_text.is_some() {
        let param = form.name(n.local_v6);
        let message = format!(
            "\"{}\" and \"{param}\" cannot both be given.",
            form.name(n.local_v4)
        );
        return Err(ApiError::param(400, local_ip_code, param, message));
    }

    // CIDR syntax, field by field (SourceCidrIp, DestCidrIp, then the IPv6 ones).
    let v4_code = |field: &str| -> C {
        match (form, field) {
            (ParamForm::Flat, "SourceCidrIp") => C::InvalidSourceCidrIpMalformed,
            (ParamForm::Flat, _) => C::InvalidDestCidrIpMalformed,
            (_, "SourceCidrIp") => C::InvalidParamSourceCidrIp,
            _ => C::InvalidParamDestCidrIp,
        }
    };
    let v4 = |field: &'static str, text: Option<&str>| -> Result<Option<IpNet>, ApiError> {
        text.map(|t| parse_v4(t).ok_or_else(|| invalid(400, v4_code(field), form.name(field))))
            .transpose()
    };
    let v6 = |field: &'static str, text: Option<&str>| -> Result<Option<IpNet>, ApiError> {
        let code = if field.starts_with("Ipv6Source") {
            C::InvalidParamIpv6SourceCidrIp
        } else {
            C::InvalidParamIpv6DestCidrIp
        };
        text.map(|t| parse_v6(t).ok_or_else(|| invalid(400, code, form.name(field))))
            .transpose()
    };
    // Checked in the order SourceCidrIp, DestCidrIp, Ipv6SourceCidrIp, Ipv6DestCidrIp.
    let (peer_v4, local_v4) = match direction {
        Direction::Ingress => {
            let p = v4(n.peer_v4, peer_v4_text)?;
            (p, v4(n.local_v4, local_v4_text)?)
        }
        Direction::Egress => {
            let l = v4(n.local_v4, local_v4_text)?;
            (v4(n.peer_v4, peer_v4_text)?, l)
        }
    };
    let (peer_v6, local_v6) = match direction {
        Direction::Ingress => {
            let p = v6(n.peer_v6, peer_v6_text)?;
            (p, v6(n.local_v6, local_v6_text)?)
        }
        Direction::Egress => {
            let l = v6(n.local_v6, local_v6_text)?;
            (v6(n.peer_v6, peer_v6_text)?, l)
        }
    };
    let peer_cidr = peer_v4.or(peer_v6);
    let local_cidr = local_v4.or(local_v6);
    if let (Some(p), Some(l)) = (peer_cidr, local_cidr) {
        if Family::of_net(&p) != Family::of_net(&l) {
            let param = form.name(if local_v4.is_some() {
                n.local_v4
            } else {
                n.local_v6
            });
            let message = format!("The specified parameter \"{param}\" conflicts with the family of the authorization object.");
            return Err(ApiError::param(
                400,
                C::InvalidParameterConflict,
                param,
                message,
            ));
        }
    }
    // SourceCidrIp equal to DestCidrIp (after canonicalisation).
    let (src_v4, dst_v4) = match direction {
        Direction::Ingress => (peer_v4, local_v4),
        Direction::Egress => (local_v4, peer_v4),
    };
    if let (Some(s), Some(d)) = (src_v4, dst_v4) {
        if s == d {
            let param = form.name("DestCidrIp");
            let message = format!(
                "The specified \"{}\" should be different from \"{param}\".",
                form.name("SourceCidrIp")
            );
            return Err(ApiError::param(
                400,
                C::InvalidParamterConflict,
                param,
                message,
            ));
        }
    }
    // Protocol versus address family.
    for (net, field) in [
        (
            peer_cidr,
            if peer_v4.is_some() {
                n.peer_v4
            } else {
                n.peer_v6
            },
        ),
        (
            local_cidr,
            if local_v4.is_some() {
                n.local_v4
            } else {
                n.local_v6
            },
        ),
    ] {
        let Some(net) = net else { continue };
        family_conflict(protocol, Family::of_net(&net), form.name(field))?;
    }

    let vpc_group = !group.is_classic();
    let peer = if let Some(net) = peer_cidr {
        Peer::Cidr(net)
    } else if let Some(gid) = group_text {
        let param = form.name(n.group);
        let owner_account = get(n.owner_account).map(str::to_string);
        let owner_id = get(n.owner_id).map(str::to_string);
        let named = world.group(gid);
        if group.group_type == GroupType::Enterprise
            || named.is_some_and(|g| g.group_type == GroupType::Enterprise)
        {
            let message = format!("The specified parameter \"{param}\" is not valid: advanced security groups cannot reference or be referenced by security groups.");
            return Err(ApiError::param(
                400,
                C::InvalidGroupAuthParameterOperationDenied,
                param,
                message,
            ));
        }
        // A group without an owner account name belongs to the caller by default, whose
        // name is the world's `account_name`.
        let owner_matches = |g: &SecurityGroup| {
            let account = g
                .owner_account
                .as_deref()
                .or(if g.owner_id == world.account_id {
                    world.account_name.as_deref()
                } else {
                    None
                });
            owner_account.as_deref().is_none_or(|a| account == Some(a))
                && owner_id.as_deref().is_none_or(|i| g.owner_id == i)
        };
        let Some(named) = named.filter(|g| owner_matches(g)) else {
            let code = match direction {
                Direction::Ingress => C::InvalidSourceGroupIdNotFound,
                Direction::Egress => C::InvalidDestGroupIdNotFound,
            };
            let message = format!("The specified parameter \"{param}\" is not valid: the security group \"{gid}\" does not exist.");
            return Err(ApiError::param(404, code, param, message));
        };
        if named.id == group.id {
            let message =
                format!("The specified SecurityGroupId should be different from \"{param}\".");
            return Err(ApiError::param(
                403,
                C::InvalidParamterConflict,
                param,
                message,
            ));
        }
        if named.is_classic() != group.is_classic() {
            let message = format!(
                "The network type of \"{param}\" does not match that of the security group."
            );
            return Err(ApiError::param(
                403,
                C::InvalidNetworkTypeMismatch,
                param,
                message,
            ));
        }
        let mismatch = match direction {
            Direction::Ingress => C::InvalidSourceGroupIdMismatch,
            Direction::Egress => C::InvalidDestGroupIdMismatch,
        };
        if vpc_group && named.vpc_id != group.vpc_id {
            let message = format!("The specified parameter \"{param}\" is not valid: the security groups are not in the same VPC.");
            return Err(ApiError::param(400, mismatch, param, message));
        }
        if !vpc_group && nic_given != Some(NicType::Intranet) {
            let message = format!("The specified parameter \"{param}\" is not valid: a security group authorization in the classic network needs NicType intranet.");
            return Err(ApiError::param(403, mismatch, param, message));
        }
        // The owner fields are stored canonically (those of the named group, and none for
        // the caller's own groups), so the same group peer is one identity however written.
        if named.owner_id == world.account_id {
            Peer::Group {
                id: named.id.clone(),
                owner_account: None,
                owner_id: None,
            }
        } else {
            Peer::Group {
                id: named.id.clone(),
                owner_account: named.owner_account.clone(),
                owner_id: Some(named.owner_id.clone()),
            }
        }
    } else {
        // Neither a CIDR nor a group: the prefix list (its absence returned earlier).
        let plid = prefix_text.unwrap_or_default();
        let param = form.name(n.prefix_list);
        let Some(list) = world.prefix_list(plid) else {
            let message = format!("The specified parameter \"{param}\" is not valid: the prefix list \"{plid}\" does not exist.");
            return Err(ApiError::param(
                404,
                C::InvalidPrefixListIdNotFound,
                param,
                message,
            ));
        };
        if group.is_classic() {
            let message = format!("The specified parameter \"{param}\" is not valid: prefix lists are not supported in classic-network security groups.");
            return Err(ApiError::param(
                400,
                C::NotSupportedClassicNetworkPrefixList,
                param,
                message,
            ));
        }
        if let Some(l) = local_cidr {
            if Family::of_net(&l) != list.address_family {
                let message = format!("The address family of the prefix list \"{plid}\" in \"{param}\" differs from the rule's other addresses.");
                return Err(ApiError::param(
                    400,
                    C::PrefixListAddressFamilyMismatch,
                    param,
                    message,
                ));
            }
        }
        family_conflict(protocol, list.address_family, param)?;
        Peer::PrefixList(list.id.clone())
    };

    let nic_type = if vpc_group {
        NicType::Intranet
    } else {
        nic_given.unwrap_or(NicType::Internet)
    };
    Ok(Rule {
        id: String::new(),
        direction,
        protocol,
        port_range,
        source_port_range,
        peer,
        local_cidr,
        nic_type,
        policy,
        priority,
        description,
        create_time: String::new(),
    })
}

/// ICMP with an IPv6 address, or ICMPv6 with an IPv4 address.
fn family_conflict(protocol: IpProtocol, family: Family, param: String) -> Result<(), ApiError> {
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

/// Two identical permissions (by SPEC §4's identity) in one call: 400
/// `InvalidParam.DuplicatePermissions`, naming the later one. `rules[i]` came from
/// `forms[i]`.
pub fn check_duplicates(rules: &[Rule], forms: &[ParamForm]) -> Result<(), ApiError> {
    for (i, r) in rules.iter().enumerate() {
        if let Some(j) = rules[..i].iter().position(|e| e.same_identity(r)) {
            let later = forms.get(i).copied().unwrap_or(ParamForm::Flat);
            let earlier = forms.get(j).copied().unwrap_or(ParamForm::Flat);
            let param = later.name("*").trim_end_matches(".*").to_string();
            let message = format!(
                "The permission \"{param}\" duplicates \"{}\".",
                earlier.name("*").trim_end_matches(".*")
            );
            return Err(ApiError::param(
                400,
                C::InvalidParamDuplicatePermissions,
                param,
                message,
            ));
        }
    }
    Ok(())
}

/// The limits of SPEC §4 for group `group_id` in `world` as it would be after a change:
/// referenced groups, rules per group (a prefix-list rule counts as its list's
/// `max_entries`), then rules per ENI for every member ENI of the group.
pub fn check_limits(world: &World, group_id: &str) -> Result<(), ApiError> {
    let Some(group) = world.group(group_id) else {
        return Ok(());
    };
    let limits = world.limits;
    let referenced: BTreeSet<&str> = group
        .rules
        .iter()
        .filter_map(|r| match &r.peer {
            Peer::Group { id, .. } => Some(id.as_str()),
            _ => None,
        })
        .collect();
    if referenced.len() as u64 > u64::from(limits.group_references_per_group) {
        let message = format!(
            "The security group \"{group_id}\" would reference {} security groups; at most {} are allowed.",
            referenced.len(),
            limits.group_references_per_group
        );
        return Err(ApiError::new(
            400,
            C::AuthorizedGroupRuleLimitExceed,
            message,
        ));
    }
    let weight = world.group_rule_weight(group);
    if weight > u64::from(limits.rules_per_group) {
        let message = format!(
            "The security group \"{group_id}\" would hold {weight} rules; at most {} are allowed.",
            limits.rules_per_group
        );
        return Err(ApiError::new(403, C::AuthorizationLimitExceed, message));
    }
    for eni in world.members(group_id) {
        let total: u64 = eni
            .security_groups
            .iter()
            .filter_map(|g| world.group(g))
            .map(|g| world.group_rule_weight(g))
            .sum();
        if total > u64::from(limits.rules_per_eni) {
            let message = format!(
                "The network interface \"{}\" would be governed by {total} rules; at most {} are allowed.",
                eni.id, limits.rules_per_eni
            );
            return Err(ApiError::new(403, C::AuthorizationLimitExceed, message));
        }
    }
    Ok(())
}
