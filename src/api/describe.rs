//! Rules as the cloud describes them: the 26 string fields of a
//! `DescribeSecurityGroupAttribute` permission, and a rule's API fields (the flat form),
//! which `Modify…Rule` starts from.

use crate::model::{Direction, Family, Peer, Rule, SecurityGroup, World};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The 26 fields of `Permissions.Permission[]`, in the SDK's order.
pub const PERMISSION_JSON_FIELDS: [&str; 26] = [
    "SecurityGroupRuleId",
    "Direction",
    "IpProtocol",
    "PortRange",
    "SourcePortRange",
    "SourceCidrIp",
    "Ipv6SourceCidrIp",
    "SourceGroupId",
    "SourceGroupName",
    "SourceGroupOwnerAccount",
    "SourcePrefixListId",
    "SourcePrefixListName",
    "DestCidrIp",
    "Ipv6DestCidrIp",
    "DestGroupId",
    "DestGroupName",
    "DestGroupOwnerAccount",
    "DestPrefixListId",
    "DestPrefixListName",
    "PortRangeListId",
    "PortRangeListName",
    "NicType",
    "Policy",
    "Priority",
    "Description",
    "CreateTime",
];

/// A rule's API fields in the flat form (`IpProtocol`, `PortRange`, `SourceCidrIp`…), the
/// way an Authorize call would write it; unused fields are left out. Validating these
/// fields as a permission of the rule's direction on its group gives the rule back.
pub fn rule_fields(rule: &Rule) -> BTreeMap<String, String> {
    let mut f = BTreeMap::new();
    let mut put = |k: &str, v: String| {
        if !v.is_empty() {
            f.insert(k.to_string(), v);
        }
    };
    put("IpProtocol", rule.protocol.as_str().to_string());
    put(
        "PortRange",
        rule.port_range
            .map_or_else(|| "-1/-1".to_string(), |p| p.to_string()),
    );
    if let Some(sp) = rule.source_port_range {
        put("SourcePortRange", sp.to_string());
    }
    let (src, dst) = match rule.direction {
        Direction::Ingress => ("Source", "Dest"),
        Direction::Egress => ("Dest", "Source"),
    };
    match &rule.peer {
        Peer::Cidr(net) => match Family::of_net(net) {
            Family::V4 => put(&format!("{src}CidrIp"), net.to_string()),
            Family::V6 => put(&format!("Ipv6{src}CidrIp"), net.to_string()),
        },
        Peer::Group {
            id,
            owner_account,
            owner_id,
        } => {
            put(&format!("{src}GroupId"), id.clone());
            if let Some(a) = owner_account {
                put(&format!("{src}GroupOwnerAccount"), a.clone());
            }
            if let Some(i) = owner_id {
                put(&format!("{src}GroupOwnerId"), i.clone());
            }
        }
        Peer::PrefixList(id) => put(&format!("{src}PrefixListId"), id.clone()),
    }
    if let Some(local) = rule.local_cidr {
        match Family::of_net(&local) {
            Family::V4 => put(&format!("{dst}CidrIp"), local.to_string()),
            Family::V6 => put(&format!("Ipv6{dst}CidrIp"), local.to_string()),
        }
    }
    put("NicType", rule.nic_type.as_str().to_string());
    put("Policy", rule.policy.as_str().to_string());
    put("Priority", rule.priority.to_string());
    put("Description", rule.description.clone());
    f
}

/// One element of `Permissions.Permission[]`: all 26 fields, strings, unused ones `""`.
pub fn permission_json(world: &World, rule: &Rule) -> Value {
    let mut m: Map<String, Value> = PERMISSION_JSON_FIELDS
        .iter()
        .map(|k| (k.to_string(), Value::from("")))
        .collect();
    let mut set = |k: &str, v: String| {
        m.insert(k.to_string(), Value::from(v));
    };
    set("SecurityGroupRuleId", rule.id.clone());
    set("Direction", rule.direction.as_str().to_string());
    set("IpProtocol", rule.protocol.as_str().to_string());
    set(
        "PortRange",
        rule.port_range
            .map_or_else(|| "-1/-1".to_string(), |p| p.to_string()),
    );
    set(
        "SourcePortRange",
        rule.source_port_range
            .map_or_else(String::new, |p| p.to_string()),
    );
    let fields = rule_fields(rule);
    for k in [
        "SourceCidrIp",
        "Ipv6SourceCidrIp",
        "DestCidrIp",
        "Ipv6DestCidrIp",
        "SourceGroupId",
        "DestGroupId",
        "SourceGroupOwnerAccount",
        "DestGroupOwnerAccount",
        "SourcePrefixListId",
        "DestPrefixListId",
    ] {
        if let Some(v) = fields.get(k) {
            set(k, v.clone());
        }
    }
    let side = match rule.direction {
        Direction::Ingress => "Source",
        Direction::Egress => "Dest",
    };
    match &rule.peer {
        Peer::Group { id, .. } => {
            if let Some(g) = world.group(id) {
                set(&format!("{side}GroupName"), g.name.clone());
            }
        }
        Peer::PrefixList(id) => {
            if let Some(pl) = world.prefix_list(id) {
                set(&format!("{side}PrefixListName"), pl.name.clone());
            }
        }
        Peer::Cidr(_) => {}
    }
    set("NicType", rule.nic_type.as_str().to_string());
    set("Policy", rule.policy.as_str().to_string());
    set("Priority", rule.priority.to_string());
    set("Description", rule.description.clone());
    set("CreateTime", rule.create_time.clone());
    Value::Object(m)
}

/// The fields of a `DescribeSecurityGroupAttribute` body besides `RequestId`, for the rules
/// `rules` of `group`.
pub fn group_attribute_fields<'r>(
    world: &World,
    group: &SecurityGroup,
    rules: impl Iterator<Item = &'r Rule>,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("RegionId".into(), Value::from(world.region_id.as_str()));
    m.insert("SecurityGroupId".into(), Value::from(group.id.as_str()));
    m.insert("SecurityGroupName".into(), Value::from(group.name.as_str()));
    m.insert(
        "Description".into(),
        Value::from(group.description.as_str()),
    );
    m.insert(
        "VpcId".into(),
        Value::from(group.vpc_id.as_deref().unwrap_or("")),
    );
    m.insert(
        "InnerAccessPolicy".into(),
        Value::from(group.inner_access_policy.as_str()),
    );
    let perms: Vec<Value> = rules.map(|r| permission_json(world, r)).collect();
    let mut p = Map::new();
    p.insert("Permission".into(), Value::Array(perms));
    m.insert("Permissions".into(), Value::Object(p));
    m
}
