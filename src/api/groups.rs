//! Group actions: CreateSecurityGroup, DeleteSecurityGroup, DescribeSecurityGroups,
//! DescribeSecurityGroupAttribute, ModifySecurityGroupPolicy.

use super::describe::group_attribute_fields;
use super::error::{invalid, with_message, ApiError, ErrorCode as C};
use super::request::Params;
use super::{named_group, require_all, well_formed, CallContext};
use crate::model::{Direction, GroupType, InnerAccessPolicy, NicType, Peer, SecurityGroup, World};
use serde_json::{Map, Value};

/// `CreateSecurityGroup`: `VpcId`, `SecurityGroupType`, `SecurityGroupName`,
/// `Description` → `SecurityGroupId`.
pub(super) fn create(
    world: &mut World,
    p: &Params,
    ctx: &CallContext,
) -> Result<Map<String, Value>, ApiError> {
    let group_type = match p.get("SecurityGroupType") {
        None => GroupType::Normal,
        Some(t) => GroupType::parse(t).ok_or_else(|| {
            invalid(
                400,
                C::InvalidSecurityGroupTypeValueNotSupported,
                "SecurityGroupType",
            )
        })?,
    };
    let vpc_id = p.get("VpcId");
    if let Some(v) = vpc_id {
        if !world.vpcs.iter().any(|x| x.id == v) {
            return Err(with_message(
                404,
                C::InvalidVpcIdNotFound,
                "VpcId",
                format!("The specified VpcId \"{v}\" does not exist."),
            ));
        }
    }
    if group_type == GroupType::Enterprise && vpc_id.is_none() {
        return Err(with_message(
            400,
            C::InvalidSecurityGroupTypeValueNotSupported,
            "SecurityGroupType",
            "The specified parameter \"SecurityGroupType\" is not valid: advanced (enterprise) security groups need a VpcId.",
        ));
    }
    let name = p.get("SecurityGroupName").unwrap_or("");
    if !name.is_empty() {
        let len = name.chars().count();
        let starts_with_letter = name.chars().next().is_some_and(char::is_alphabetic);
        if !(2..=128).contains(&len) || !starts_with_letter {
            return Err(with_message(
                400,
                C::InvalidSecurityGroupNameMalformed,
                "SecurityGroupName",
                "The specified parameter \"SecurityGroupName\" is not valid: it must be 2 to 128 characters long and start with a letter.",
            ));
        }
    }
    let id = world.next_id("sg-");
    world.security_groups.push(SecurityGroup {
        id: id.clone(),
        name: name.to_string(),
        description: p.get("Description").unwrap_or("").to_string(),
        group_type,
        vpc_id: vpc_id.map(str::to_string),
        owner_id: world.account_id.clone(),
        owner_account: world.account_name.clone(),
        inner_access_policy: match group_type {
            GroupType::Normal => InnerAccessPolicy::Accept,
            GroupType::Enterprise => InnerAccessPolicy::Drop,
        },
        service_managed: false,
        create_time: ctx.now.clone(),
        rules: Vec::new(),
    });
    let mut m = Map::new();
    m.insert("SecurityGroupId".into(), Value::from(id));
    Ok(m)
}

/// `DeleteSecurityGroup`: refused (403 `DependencyViolation`) while an ENI is a member or
/// another group's rule names the group.
pub(super) fn delete(world: &mut World, p: &Params) -> Result<Map<String, Value>, ApiError> {
    let group = named_group(world, p, true)?;
    let id = group.id.clone();
    if let Some(eni) = world.members(&id).next() {
        return Err(with_message(
            403,
            C::DependencyViolation,
            "SecurityGroupId",
            format!(
                "There is still an instance in the specified security group: the network interface \"{}\" is a member of \"{id}\".",
                eni.id
            ),
        ));
    }
    let referrer = world.security_groups.iter().find(|g| {
        g.id != id
            && g.rules
                .iter()
                .any(|r| matches!(&r.peer, Peer::Group { id: gid, .. } if *gid == id))
    });
    if let Some(g) = referrer {
        return Err(with_message(
            403,
            C::DependencyViolation,
            "SecurityGroupId",
            format!(
                "The specified security group \"{id}\" is referenced by a rule of the security group \"{}\".",
                g.id
            ),
        ));
    }
    world.security_groups.retain(|g| g.id != id);
    Ok(Map::new())
}

/// `DescribeSecurityGroups`: optional `VpcId`, `SecurityGroupIds` (a JSON array of ids);
/// every match on one page.
pub(super) fn describe_all(world: &World, p: &Params) -> Result<Map<String, Value>, ApiError> {
    let ids: Option<Vec<String>> = match p.get("SecurityGroupIds") {
        None => None,
        Some(text) => {
            let bad = || invalid(400, C::InvalidSecurityGroupIdsMalformed, "SecurityGroupIds");
            let v: Value = serde_json::from_str(text).map_err(|_| bad())?;
            let arr = v.as_array().ok_or_else(bad)?;
            let mut ids = Vec::new();
            for item in arr {
                let s = item.as_str().ok_or_else(bad)?;
                if !well_formed(s, "sg-") {
                    return Err(bad());
                }
                ids.push(s.to_string());
            }
            Some(ids)
        }
    };
    let vpc = p.get("VpcId");
    let groups: Vec<Value> = world
        .security_groups
        .iter()
        .filter(|g| vpc.is_none_or(|v| g.vpc_id.as_deref() == Some(v)))
        .filter(|g| ids.as_ref().is_none_or(|ids| ids.contains(&g.id)))
        .map(|g| {
            let mut m = Map::new();
            m.insert("SecurityGroupId".into(), Value::from(g.id.as_str()));
            m.insert("SecurityGroupName".into(), Value::from(g.name.as_str()));
            m.insert("Description".into(), Value::from(g.description.as_str()));
            m.insert(
                "VpcId".into(),
                Value::from(g.vpc_id.as_deref().unwrap_or("")),
            );
            m.insert(
                "SecurityGroupType".into(),
                Value::from(g.group_type.as_str()),
            );
            m.insert("CreationTime".into(), Value::from(g.create_time.as_str()));
            m.insert("ServiceManaged".into(), Value::from(g.service_managed));
            Value::Object(m)
        })
        .collect();
    let mut m = Map::new();
    m.insert("RegionId".into(), Value::from(world.region_id.as_str()));
    m.insert("TotalCount".into(), Value::from(groups.len()));
    m.insert("PageNumber".into(), Value::from(1));
    m.insert("PageSize".into(), Value::from(groups.len().max(10)));
    let mut list = Map::new();
    list.insert("SecurityGroup".into(), Value::Array(groups));
    m.insert("SecurityGroups".into(), Value::Object(list));
    Ok(m)
}

/// `DescribeSecurityGroupAttribute`: `SecurityGroupId`, optional `Direction`
/// (ingress/egress/all) and `NicType` (without it, the rules of both NIC types; in a VPC
/// group every rule is intranet, so it filters nothing).
pub(super) fn describe_attribute(
    world: &World,
    p: &Params,
) -> Result<Map<String, Value>, ApiError> {
    let group = named_group(world, p, false)?;
    let direction = match p.get("Direction").map(str::to_ascii_lowercase).as_deref() {
        None | Some("all") => None,
        Some(d) => Some(
            Direction::parse(d)
                .ok_or_else(|| invalid(400, C::InvalidDirectionValueNotSupported, "Direction"))?,
        ),
    };
    let nic = match p.get("NicType") {
        None => None,
        Some(n) => Some(
            NicType::parse(n)
                .ok_or_else(|| invalid(400, C::InvalidNicTypeValueNotSupported, "NicType"))?,
        ),
    };
    let nic = if group.is_classic() { nic } else { None };
    let rules = group
        .rules
        .iter()
        .filter(|r| direction.is_none_or(|d| r.direction == d))
        .filter(|r| nic.is_none_or(|n| r.nic_type == n));
    Ok(group_attribute_fields(world, group, rules))
}

/// `ModifySecurityGroupPolicy`: `SecurityGroupId`, `InnerAccessPolicy` (Accept/Drop);
/// advanced groups cannot change it.
pub(super) fn modify_policy(world: &mut World, p: &Params) -> Result<Map<String, Value>, ApiError> {
    require_all(p, &["SecurityGroupId", "InnerAccessPolicy"])?;
    let group = named_group(world, p, true)?;
    let id = group.id.clone();
    let text = p.get("InnerAccessPolicy").unwrap_or("");
    let policy = InnerAccessPolicy::parse(text).ok_or_else(|| {
        with_message(
            400,
            C::InvalidPolicyMalformed,
            "InnerAccessPolicy",
            "The specified parameter \"InnerAccessPolicy\" is not valid: only 'Accept' and 'Drop' are supported.",
        )
    })?;
    if group.group_type == GroupType::Enterprise {
        return Err(with_message(
            400,
            C::InvalidParameterInnerAccessPolicy,
            "InnerAccessPolicy",
            "The InnerAccessPolicy attribute of enterprise level security group can't be modified.",
        ));
    }
    if let Some(g) = world.group_mut(&id) {
        g.inner_access_policy = policy;
    }
    Ok(Map::new())
}
