//! Import of a real `DescribeSecurityGroupAttribute` response as a world-file group
//! (SPEC §5 "Import").
//!
//! [`describe_to_group`] turns the response into the world file's own `security_groups`
//! element (snake-case keys), so the world-file loader validates the imported rules exactly
//! as it validates written ones. What `sgsim call … DescribeSecurityGroupAttribute` prints
//! re-imports to the same rules, ids included.

use crate::wire::snake_case;
use serde_json::{Map, Value};

/// Permission fields copied into a world-file rule (by their snake-case names): the rule
/// fields a permission carries, plus its direction and creation time.
fn rule_fields() -> impl Iterator<Item = &'static str> {
    ["Direction"]
        .into_iter()
        .chain(crate::api::permission::PERMISSION_FIELDS.iter().copied())
        .chain(["CreateTime"])
}

/// World-file group keys an imported element may set besides the response's own fields.
pub const PASS_THROUGH: &[&str] = &[
    "type",
    "owner_id",
    "owner_account",
    "service_managed",
    "name",
    "description",
    "vpc_id",
    "inner_access_policy",
];

/// A string field of the response; a number is accepted for `Priority` (and owner ids).
fn text(v: &Value, what: &str) -> Result<Option<Value>, String> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) if s.is_empty() => Ok(None),
        Value::String(s) => Ok(Some(Value::from(s.as_str()))),
        Value::Number(n) => Ok(Some(Value::Number(n.clone()))),
        _ => Err(format!("`{what}` must be a string")),
    }
}

/// Converts a `DescribeSecurityGroupAttribute` response (recognised by its
/// `SecurityGroupId` key) into a world-file `security_groups` element: `id`, `name`,
/// `description`, `vpc_id`, `inner_access_policy` and `rules` (each with its `id` and its
/// fields in snake case). Snake-case keys the element also carries (`type`, `owner_id`,
/// …) are kept, so `type = "enterprise"` beside the response works. Errors name the field.
pub fn describe_to_group(response: &Value) -> Result<Value, String> {
    let obj = response
        .as_object()
        .ok_or("a DescribeSecurityGroupAttribute response must be an object")?;
    let id = obj
        .get("SecurityGroupId")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or("`SecurityGroupId` must be a non-empty string")?;
    let mut group = Map::new();
    group.insert("id".into(), Value::from(id));
    for (from, to) in [
        ("SecurityGroupName", "name"),
        ("Description", "description"),
        ("VpcId", "vpc_id"),
        ("InnerAccessPolicy", "inner_access_policy"),
    ] {
        if let Some(v) = obj.get(from) {
            if let Some(v) = text(v, from)? {
                group.insert(to.into(), v);
            }
        }
    }
    for key in PASS_THROUGH {
        if let Some(v) = obj.get(*key) {
            group.insert((*key).into(), v.clone());
        }
    }
    let perms = match obj.get("Permissions") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(p)) => match p.get("Permission") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a.clone(),
            Some(_) => return Err("`Permissions.Permission` must be an array".into()),
        },
        Some(Value::Array(a)) => a.clone(),
        Some(_) => return Err("`Permissions` must be an object with a `Permission` array".into()),
    };
    let mut rules = Vec::with_capacity(perms.len());
    for (i, perm) in perms.iter().enumerate() {
        let n = i + 1;
        let perm = perm
            .as_object()
            .ok_or_else(|| format!("permission {n} must be an object"))?;
        let mut rule = Map::new();
        if let Some(v) = perm.get("SecurityGroupRuleId") {
            if let Some(v) = text(v, &format!("Permission.{n}.SecurityGroupRuleId"))? {
                rule.insert("id".into(), v);
            }
        }
        for field in rule_fields() {
            if let Some(v) = perm.get(field) {
                if let Some(v) = text(v, &format!("Permission.{n}.{field}"))? {
                    rule.insert(snake_case(field), v);
                }
            }
        }
        rules.push(Value::Object(rule));
    }
    group.insert("rules".into(), Value::Array(rules));
    Ok(Value::Object(group))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts() {
        let v: Value = serde_json::from_str(
            r#"{"RequestId":"x","SecurityGroupId":"sg-1","VpcId":"","Permissions":{"Permission":[
            {"SecurityGroupRuleId":"sgr-1","Direction":"ingress","IpProtocol":"TCP","PortRange":"22/22",
             "SourceCidrIp":"10.0.0.0/8","Priority":1,"SourceGroupName":"","CreateTime":"2018"}]}}"#,
        )
        .unwrap();
        let g = describe_to_group(&v).unwrap();
        assert_eq!(g["id"], "sg-1");
        assert!(g.get("vpc_id").is_none());
        assert_eq!(g["rules"][0]["id"], "sgr-1");
        assert_eq!(g["rules"][0]["priority"], 1);
        assert_eq!(g["rules"][0]["source_cidr_ip"], "10.0.0.0/8");
        assert_eq!(g["rules"][0]["create_time"], "2018");
        assert!(describe_to_group(&Value::from(1)).is_err());
    }
}
