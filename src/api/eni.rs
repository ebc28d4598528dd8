//! JoinSecurityGroup and LeaveSecurityGroup: an ENI (an instance's primary, by
//! `InstanceId`, or any ENI, by `NetworkInterfaceId`) joins or leaves a group.

use super::error::{with_message, ApiError, ErrorCode as C};
use super::permission::check_limits;
use super::request::Params;
use super::{named_group, require_all};
use crate::model::World;
use serde_json::{Map, Value};

/// The group list of the ENI with this id, mutably.
pub(super) fn eni_groups_mut<'w>(
    world: &'w mut World,
    eni_id: &str,
) -> Option<&'w mut Vec<String>> {
    for inst in &mut world.instances {
        if inst.id == eni_id {
            return Some(&mut inst.security_groups);
        }
        if let Some(n) = inst.network_interfaces.iter_mut().find(|n| n.id == eni_id) {
            return Some(&mut n.security_groups);
        }
    }
    None
}

/// `JoinSecurityGroup` (`join`) or `LeaveSecurityGroup` (`!join`).
pub(super) fn join(
    world: &mut World,
    p: &Params,
    join: bool,
) -> Result<Map<String, Value>, ApiError> {
    require_all(p, &["SecurityGroupId"])?;
    let group = named_group(world, p, false)?;
    let group_id = group.id.clone();
    let eni_id = match (p.get("InstanceId"), p.get("NetworkInterfaceId")) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(with_message(
                400,
                C::InvalidParamPermissions,
                "InstanceId",
                "Exactly one of the parameters \"InstanceId\" and \"NetworkInterfaceId\" must be given.",
            ))
        }
        (Some(i), None) => {
            if world.instance(i).is_none() {
                return Err(with_message(
                    404,
                    C::InvalidInstanceIdNotFound,
                    "InstanceId",
                    format!("The specified InstanceId \"{i}\" does not exist."),
                ));
            }
            i.to_string()
        }
        (None, Some(n)) => {
            if world.eni(n).is_none() {
                return Err(with_message(
                    404,
                    C::InvalidNetworkInterfaceIdNotFound,
                    "NetworkInterfaceId",
                    format!("The specified NetworkInterfaceId \"{n}\" does not exist."),
                ));
            }
            n.to_string()
        }
    };
    let param = if p.has("InstanceId") {
        "InstanceId"
    } else {
        "NetworkInterfaceId"
    };
    let Some(eni) = world.eni(&eni_id) else {
        return Ok(Map::new());
    };
    let member = eni.security_groups.contains(&group_id);
    if join {
        if eni.vpc_id() != group.vpc_id.as_deref() {
            return Err(with_message(
                400,
                C::InvalidInstanceIdMismatch,
                param,
                format!("The specified {param} \"{eni_id}\" and the security group \"{group_id}\" are not in the same VPC or network type."),
            ));
        }
        if member {
            return Err(with_message(
                403,
                C::InvalidInstanceIdAlreadyExists,
                param,
                format!("The specified {param} \"{eni_id}\" is already in the security group \"{group_id}\"."),
            ));
        }
        let mixed = eni
            .security_groups
            .iter()
            .filter_map(|g| world.group(g))
            .any(|g| g.group_type != group.group_type);
        if mixed {
            return Err(with_message(
                400,
                C::InvalidSecurityGroupTypeMismatch,
                "SecurityGroupId",
                format!("The network interface \"{eni_id}\" cannot belong to basic and advanced security groups at once."),
            ));
        }
        if eni.security_groups.len() as u64 >= u64::from(world.limits.groups_per_eni) {
            return Err(with_message(
                400,
                C::InstanceSecurityGroupLimitExceeded,
                param,
                format!(
                    "The network interface \"{eni_id}\" already belongs to {} security groups, the most allowed.",
                    eni.security_groups.len()
                ),
            ));
        }
        if let Some(groups) = eni_groups_mut(world, &eni_id) {
            groups.push(group_id.clone());
        }
        // The ENI's rules now include the group's (403 AuthorizationLimitExceed).
        check_limits(world, &group_id)?;
    } else {
        if !member {
            return Err(with_message(
                403,
                C::InvalidInstanceIdNotInSecurityGroup,
                param,
                format!("The specified {param} \"{eni_id}\" is not in the security group \"{group_id}\"."),
            ));
        }
        if eni.security_groups.len() <= 1 {
            return Err(with_message(
                403,
                C::InstanceLastSecurityGroup,
                param,
                format!("The security group \"{group_id}\" is the last one of \"{eni_id}\"; a network interface must keep at least one."),
            ));
        }
        if let Some(groups) = eni_groups_mut(world, &eni_id) {
            groups.retain(|g| *g != group_id);
        }
    }
    Ok(Map::new())
}
