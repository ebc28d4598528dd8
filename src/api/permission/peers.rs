//! The group-peer and prefix-list rows of SPEC §4's table.

use super::addresses::family_conflict;
use super::Fields;
use crate::api::error::{ApiError, ErrorCode as C};
use crate::model::{Direction, Family, GroupType, IpProtocol, NicType, Peer, SecurityGroup, World};
use ipnet::IpNet;

/// A group peer `gid` of a rule of `group`, in the table's order: an enterprise group on
/// either side (400 `InvalidGroupAuthParameter.OperationDenied`); no such group with the
/// owner fields given (404 `InvalidSourceGroupId.NotFound`); the group itself (403
/// `InvalidParamter.Conflict`); the other network type (403 `InvalidNetworkType.Mismatch`);
/// another VPC (400), or in a classic group a `NicType` other than intranet (403),
/// `InvalidSourceGroupId.Mismatch`. Egress uses the `Dest…` codes.
///
/// The owner fields are stored canonically (those of the named group, and none for the
/// caller's own groups), so the same group peer is one identity however written.
pub(super) fn group_peer(
    world: &World,
    group: &SecurityGroup,
    f: &Fields,
    gid: &str,
    nic_given: Option<NicType>,
) -> Result<Peer, ApiError> {
    let param = f.param(f.names.group);
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
    let Some(named) = named.filter(|g| owner_matches(world, f, g)) else {
        let code = match f.direction {
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
        let message =
            format!("The network type of \"{param}\" does not match that of the security group.");
        return Err(ApiError::param(
            403,
            C::InvalidNetworkTypeMismatch,
            param,
            message,
        ));
    }
    let mismatch = match f.direction {
        Direction::Ingress => C::InvalidSourceGroupIdMismatch,
        Direction::Egress => C::InvalidDestGroupIdMismatch,
    };
    if !group.is_classic() && named.vpc_id != group.vpc_id {
        let message = format!("The specified parameter \"{param}\" is not valid: the security groups are not in the same VPC.");
        return Err(ApiError::param(400, mismatch, param, message));
    }
    if group.is_classic() && nic_given != Some(NicType::Intranet) {
        let message = format!("The specified parameter \"{param}\" is not valid: a security group authorization in the classic network needs NicType intranet.");
        return Err(ApiError::param(403, mismatch, param, message));
    }
    Ok(if named.owner_id == world.account_id {
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
    })
}

/// Whether `g` matches the permission's owner fields (`SourceGroupOwnerAccount`,
/// `SourceGroupOwnerId`; egress `Dest…`), each when given. A group without an owner account
/// name belongs to the caller by default, whose name is the world's `account_name`.
fn owner_matches(world: &World, f: &Fields, g: &SecurityGroup) -> bool {
    let account = g
        .owner_account
        .as_deref()
        .or(if g.owner_id == world.account_id {
            world.account_name.as_deref()
        } else {
            None
        });
    f.get(f.names.owner_account)
        .is_none_or(|a| account == Some(a))
        && f.get(f.names.owner_id).is_none_or(|i| g.owner_id == i)
}

/// A prefix-list peer `plid` of a rule of `group`, in the table's order: no such list (404
/// `InvalidPrefixListId.NotFound`); a classic-network group (400
/// `NotSupported.ClassicNetworkPrefixList`); the list's family differs from the local CIDR's
/// (400 `InvalidParam.PrefixListAddressFamilyMismatch`); then the protocol against the
/// list's family, as for CIDRs.
pub(super) fn prefix_list_peer(
    world: &World,
    group: &SecurityGroup,
    f: &Fields,
    plid: &str,
    local: Option<IpNet>,
    protocol: IpProtocol,
) -> Result<Peer, ApiError> {
    let param = f.param(f.names.prefix_list);
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
    if local.is_some_and(|l| Family::of_net(&l) != list.address_family) {
        let message = format!("The address family of the prefix list \"{plid}\" in \"{param}\" differs from the rule's other addresses.");
        return Err(ApiError::param(
            400,
            C::PrefixListAddressFamilyMismatch,
            param,
            message,
        ));
    }
    family_conflict(protocol, list.address_family, param)?;
    Ok(Peer::PrefixList(list.id.clone()))
}
