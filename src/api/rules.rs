//! Rule actions: AuthorizeSecurityGroup[Egress], RevokeSecurityGroup[Egress],
//! ModifySecurityGroup[Egress]Rule.

use super::describe::rule_fields;
use super::error::{missing, with_message, ApiError, ErrorCode as C};
use super::permission::{
    check_duplicates, check_limits, validate_permission, ParamForm, PERMISSION_FIELDS,
};
use super::request::Params;
use super::{named_group, require_all, CallContext};
use crate::model::{Direction, Family, Peer, Rule, World};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// One permission of a call: how it was written and its fields.
type Permission = (ParamForm, BTreeMap<String, String>);

/// The permissions of a call, in order: the flat parameters as one permission, or each
/// `Permissions.N`. Mixing the two: 400 `InvalidParam.Permissions`.
fn permissions(world: &World, p: &Params) -> Result<Vec<Permission>, ApiError> {
    let flat: BTreeMap<String, String> = PERMISSION_FIELDS
        .iter()
        .filter_map(|f| p.get(f).map(|v| (f.to_string(), v.to_string())))
        .collect();
    let indexed = p.objects(
        "Permissions",
        world.limits.permissions_per_request,
        PERMISSION_FIELDS,
    );
    if !flat.is_empty() && !indexed.is_empty() {
        return Err(permissions_conflict());
    }
    if !flat.is_empty() {
        return Ok(vec![(ParamForm::Flat, flat)]);
    }
    Ok(indexed
        .into_iter()
        .map(|(n, fields)| (ParamForm::Indexed(n as usize), fields))
        .collect())
}

fn permissions_conflict() -> ApiError {
    with_message(
        400,
        C::InvalidParamPermissions,
        "Permissions",
        "The specified parameter Permissions cannot coexist with other parameters.",
    )
}

/// Validates every permission of the call (the permission rows, `Permissions.1` first).
fn validate_all(
    world: &World,
    p: &Params,
    direction: Direction,
    perms: Vec<Permission>,
) -> Result<(Vec<Rule>, Vec<ParamForm>), ApiError> {
    let group = named_group(world, p, true)?;
    let mut rules = Vec::with_capacity(perms.len());
    let mut forms = Vec::with_capacity(perms.len());
    for (form, fields) in perms {
        rules.push(validate_permission(world, group, direction, &fields, form)?);
        forms.push(form);
    }
    Ok((rules, forms))
}

/// `AuthorizeSecurityGroup[Egress]`: SPEC §4's table, then the rules that do not exist yet
/// are added with fresh ids, then the limits.
pub(super) fn authorize(
    world: &mut World,
    p: &Params,
    ctx: &CallContext,
    direction: Direction,
) -> Result<Map<String, Value>, ApiError> {
    let group_id = named_group(world, p, true)?.id.clone();
    let perms = permissions(world, p)?;
    if perms.is_empty() {
        return Err(missing("Permissions"));
    }
    let (rules, forms) = validate_all(world, p, direction, perms)?;
    check_duplicates(&rules, &forms)?;
    for mut rule in rules {
        let exists = world
            .group(&group_id)
            .is_some_and(|g| g.rules.iter().any(|r| r.same_identity(&rule)));
        if exists {
            continue;
        }
        rule.id = world.next_id("sgr-");
        rule.create_time = ctx.now.clone();
        if let Some(g) = world.group_mut(&group_id) {
            g.rules.push(rule);
        }
    }
    check_limits(world, &group_id)?;
    Ok(Map::new())
}

/// `RevokeSecurityGroup[Egress]`: by `SecurityGroupRuleId.N` (each must be a rule of the
/// group in this direction) or by permissions (matched by identity; no match changes
/// nothing).
pub(super) fn revoke(
    world: &mut World,
    p: &Params,
    direction: Direction,
) -> Result<Map<String, Value>, ApiError> {
    let group = named_group(world, p, true)?;
    let group_id = group.id.clone();
    let ids = p.list("SecurityGroupRuleId", world.limits.permissions_per_request);
    let perms = permissions(world, p)?;
    if !ids.is_empty() && !perms.is_empty() {
        return Err(permissions_conflict());
    }
    if !ids.is_empty() {
        for (n, id) in &ids {
            let known = group
                .rules
                .iter()
                .any(|r| r.id == *id && r.direction == direction);
            if !known {
                let param = format!("SecurityGroupRuleId.{n}");
                let (code, message) = match direction {
                    Direction::Ingress => (
                        C::InvalidParamSecurityGroupRuleId,
                        format!("The specified parameter \"{param}\" is not valid: the security group rule \"{id}\" does not exist."),
                    ),
                    Direction::Egress => (
                        C::InvalidSecurityGroupRuleRuleNotExist,
                        format!("The security group rule \"{id}\" in \"{param}\" does not exist."),
                    ),
                };
                return Err(with_message(400, code, param, message));
            }
        }
        if let Some(g) = world.group_mut(&group_id) {
            g.rules.retain(|r| !ids.iter().any(|(_, id)| *id == r.id));
        }
        return Ok(Map::new());
    }
    if perms.is_empty() {
        return Err(missing("Permissions"));
    }
    let (rules, _) = validate_all(world, p, direction, perms)?;
    if let Some(g) = world.group_mut(&group_id) {
        g.rules
            .retain(|r| !rules.iter().any(|gone| gone.same_identity(r)));
    }
    Ok(Map::new())
}

/// The kind of a rule's peer, which `Modify…Rule` may not change.
#[derive(PartialEq, Eq)]
enum PeerKind {
    V4,
    V6,
    Group,
    PrefixList,
}

fn peer_kind(peer: &Peer) -> PeerKind {
    match peer {
        Peer::Cidr(n) if Family::of_net(n) == Family::V4 => PeerKind::V4,
        Peer::Cidr(_) => PeerKind::V6,
        Peer::Group { .. } => PeerKind::Group,
        Peer::PrefixList(_) => PeerKind::PrefixList,
    }
}

/// `ModifySecurityGroup[Egress]Rule`: `SecurityGroupRuleId` and the flat rule fields to
/// change (absent: unchanged). The rule as it would become is validated with the Authorize
/// rows; its peer kind and NIC type may not change; it may not become a copy of another
/// rule of the group.
pub(super) fn modify(
    world: &mut World,
    p: &Params,
    direction: Direction,
) -> Result<Map<String, Value>, ApiError> {
    require_all(p, &["SecurityGroupId", "SecurityGroupRuleId"])?;
    let group = named_group(world, p, true)?;
    let group_id = group.id.clone();
    let rule_id = p.get("SecurityGroupRuleId").unwrap_or("");
    let Some(old) = group
        .rules
        .iter()
        .find(|r| r.id == rule_id && r.direction == direction)
    else {
        return Err(with_message(
            404,
            C::SecurityGroupRuleNotFound,
            "SecurityGroupRuleId",
            format!("The target security group rule \"{rule_id}\" does not exist."),
        ));
    };
    let (peer_fields, local_fields): (&[&str], &[&str]) = match direction {
        Direction::Ingress => (
            &[
                "SourceCidrIp",
                "Ipv6SourceCidrIp",
                "SourceGroupId",
                "SourcePrefixListId",
                "SourceGroupOwnerAccount",
                "SourceGroupOwnerId",
            ],
            &["DestCidrIp", "Ipv6DestCidrIp"],
        ),
        Direction::Egress => (
            &[
                "DestCidrIp",
                "Ipv6DestCidrIp",
                "DestGroupId",
                "DestPrefixListId",
                "DestGroupOwnerAccount",
                "DestGroupOwnerId",
            ],
            &["SourceCidrIp", "Ipv6SourceCidrIp"],
        ),
    };
    let mut fields = rule_fields(old);
    // A new peer replaces the old one whole (with its owner fields); the same for the local
    // CIDR.
    if peer_fields.iter().take(4).any(|f| p.has(f)) {
        fields.retain(|k, _| !peer_fields.contains(&k.as_str()));
    }
    if local_fields.iter().any(|f| p.has(f)) {
        fields.retain(|k, _| !local_fields.contains(&k.as_str()));
    }
    for f in PERMISSION_FIELDS {
        if let Some(v) = p.get(f) {
            fields.insert(f.to_string(), v.to_string());
        }
    }
    let mut new = validate_permission(world, group, direction, &fields, ParamForm::Flat)?;
    if peer_kind(&new.peer) != peer_kind(&old.peer) || new.nic_type != old.nic_type {
        return Err(with_message(
            400,
            C::InvalidParamPermissions,
            "Permissions",
            format!("The kind of authorization object and the NicType of the security group rule \"{rule_id}\" cannot be changed."),
        ));
    }
    if let Some(other) = group
        .rules
        .iter()
        .find(|r| r.id != old.id && r.same_identity(&new))
    {
        return Err(with_message(
            400,
            C::InvalidParamDuplicatePermissions,
            "SecurityGroupRuleId",
            format!(
                "There are duplicate permissions: the modified rule \"{rule_id}\" would equal the rule \"{}\".",
                other.id
            ),
        ));
    }
    new.id = old.id.clone();
    new.create_time = old.create_time.clone();
    if let Some(g) = world.group_mut(&group_id) {
        if let Some(slot) = g.rules.iter_mut().find(|r| r.id == new.id) {
            *slot = new;
        }
    }
    check_limits(world, &group_id)?;
    Ok(Map::new())
}
