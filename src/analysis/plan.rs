//! A Terraform plan as API calls (SPEC §8, `sgsim diff --plan`): the `terraform show -json`
//! output of the alicloud provider, whose `alicloud_security_group` and
//! `alicloud_security_group_rule` resource changes become the calls the provider would make,
//! applied to a copy of the world in this order: groups created, rules deleted, rules
//! created, groups deleted. A value unknown until apply (`after_unknown`) is resolved from
//! the plan's `configuration` references when it names a group created by the same plan.

use crate::api::{self, CallContext};
use crate::model::World;
use serde_json::Value;
use std::collections::HashMap;

/// Percent-encodes a query value (RFC 3986 unreserved characters kept).
pub fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

struct Change<'a> {
    address: String,
    kind: &'a str,
    actions: Vec<&'a str>,
    before: Option<&'a Value>,
    after: Option<&'a Value>,
    unknown: Option<&'a Value>,
}

/// The references of a resource's expression, from the plan's configuration.
fn references(plan: &Value, address: &str, field: &str) -> Vec<String> {
    let mut out = Vec::new();
    let resources = plan
        .pointer("/configuration/root_module/resources")
        .and_then(Value::as_array);
    for r in resources.into_iter().flatten() {
        if r.get("address").and_then(Value::as_str) != Some(address) {
            continue;
        }
        if let Some(refs) = r
            .pointer(&format!("/expressions/{field}/references"))
            .and_then(Value::as_array)
        {
            out.extend(refs.iter().filter_map(Value::as_str).map(String::from));
        }
    }
    out
}

/// Applies a plan's changes to `world`; returns how many calls were made.
pub fn apply_plan(world: &mut World, plan_text: &str, origin: &str) -> Result<usize, String> {
    let plan: Value = serde_json::from_str(plan_text)
        .map_err(|e| format!("{origin}: not a terraform plan in JSON: {e}"))?;
    let changes: Vec<Change<'_>> = plan
        .get("resource_changes")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            format!(
                "{origin}: no `resource_changes` array (expected `terraform show -json` output)"
            )
        })?
        .iter()
        .filter_map(|rc| {
            let kind = rc.get("type").and_then(Value::as_str)?;
            if kind != "alicloud_security_group" && kind != "alicloud_security_group_rule" {
                return None;
            }
            let change = rc.get("change")?;
            Some(Change {
                address: rc
                    .get("address")
                    .and_then(Value::as_str)
                    .unwrap_or("?")
                    .to_string(),
                kind,
                actions: change
                    .get("actions")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default(),
                before: change.get("before").filter(|v| !v.is_null()),
                after: change.get("after").filter(|v| !v.is_null()),
                unknown: change.get("after_unknown"),
            })
        })
        .collect();
    let ctx = CallContext::scenario();
    let mut calls = 0usize;
    let mut created: HashMap<String, String> = HashMap::new();
    let mut run = |world: &mut World, c: &Change<'_>, params: Vec<(&str, String)>| {
        let mut q = format!("RegionId={}", encode(&world.region_id));
        for (k, v) in &params {
            q.push_str(&format!("&{k}={}", encode(v)));
        }
        let resp = api::call(world, &q, &ctx)
            .map_err(|e| format!("{origin}: resource `{}`: {e}", c.address))?;
        calls += 1;
        match &resp.error {
            Some(e) => Err(format!(
                "{origin}: resource `{}`: {} failed: HTTP {} {}: {}",
                c.address,
                params.first().map_or("", |p| p.1.as_str()),
                e.status,
                e.code.as_str(),
                e.message
            )),
            None => Ok(resp.body),
        }
    };
    let has = |c: &Change<'_>, a: &str| c.actions.contains(&a);
    let is_update = |c: &Change<'_>| has(c, "update");
    // 1. Groups created.
    for c in changes
        .iter()
        .filter(|c| c.kind == "alicloud_security_group" && has(c, "create"))
    {
        let after = c.after;
        let field = |k: &str| text(after.and_then(|a| a.get(k)));
        let mut p = vec![("Action", "CreateSecurityGroup".to_string())];
        if let Some(v) = field("vpc_id") {
            p.push(("VpcId", v));
        } else if c.unknown.and_then(|u| u.get("vpc_id")) == Some(&Value::Bool(true)) {
            return Err(format!(
                "{origin}: resource `{}`: field `vpc_id` is unknown until apply",
                c.address
            ));
        }
        if let Some(v) = field("name").or_else(|| field("security_group_name")) {
            p.push(("SecurityGroupName", v));
        }
        if let Some(v) = field("description") {
            p.push(("Description", v));
        }
        if let Some(v) = field("security_group_type") {
            p.push(("SecurityGroupType", v));
        }
        let body = run(world, c, p)?;
        let id = body
            .get("SecurityGroupId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if let Some(policy) = field("inner_access_policy") {
            run(
                world,
                c,
                vec![
                    ("Action", "ModifySecurityGroupPolicy".to_string()),
                    ("SecurityGroupId", id.clone()),
                    ("InnerAccessPolicy", policy),
                ],
            )?;
        }
        created.insert(c.address.clone(), id);
    }
    let rule_params = |c: &Change<'_>,
                       v: &Value,
                       after: bool|
     -> Result<Vec<(&'static str, String)>, String> {
        let field = |k: &str| text(v.get(k));
        let unknown =
            |k: &str| after && c.unknown.and_then(|u| u.get(k)) == Some(&Value::Bool(true));
        let resolve = |k: &str| -> Result<Option<String>, String> {
            if let Some(s) = field(k) {
                return Ok(Some(s));
            }
            if !unknown(k) {
                return Ok(None);
            }
            for r in references(&plan, &c.address, k) {
                let base = r.strip_suffix(".id").unwrap_or(&r);
                if let Some(id) = created.get(base) {
                    return Ok(Some(id.clone()));
                }
            }
            Err(format!(
                "{origin}: resource `{}`: field `{k}` is unknown until apply and names no group of this plan",
                c.address
            ))
        };
        let egress = field("type").is_some_and(|t| t.eq_ignore_ascii_case("egress"));
        let action = match (after, egress) {
            (true, false) => "AuthorizeSecurityGroup",
            (true, true) => "AuthorizeSecurityGroupEgress",
            (false, false) => "RevokeSecurityGroup",
            (false, true) => "RevokeSecurityGroupEgress",
        };
        let mut p = vec![("Action", action.to_string())];
        let group = resolve("security_group_id")?
            .ok_or_else(|| format!("{origin}: resource `{}`: no `security_group_id`", c.address))?;
        p.push(("SecurityGroupId", group));
        for (k, name) in [
            ("ip_protocol", "IpProtocol"),
            ("port_range", "PortRange"),
            ("policy", "Policy"),
            ("priority", "Priority"),
            ("nic_type", "NicType"),
            ("description", "Description"),
            ("source_port_range", "SourcePortRange"),
        ] {
            if let Some(s) = field(k) {
                p.push((name, s));
            }
        }
        let peer = [
            ("cidr_ip", "SourceCidrIp", "DestCidrIp"),
            ("ipv6_cidr_ip", "Ipv6SourceCidrIp", "Ipv6DestCidrIp"),
            ("source_security_group_id", "SourceGroupId", "DestGroupId"),
            ("prefix_list_id", "SourcePrefixListId", "DestPrefixListId"),
        ];
        for (k, ing, eg) in peer {
            if let Some(s) = resolve(k)? {
                p.push((if egress { eg } else { ing }, s));
            }
        }
        Ok(p)
    };
    // 2. Rules deleted (deleted, replaced or updated: the old rule goes).
    for c in changes
        .iter()
        .filter(|c| c.kind == "alicloud_security_group_rule" && (has(c, "delete") || is_update(c)))
    {
        if let Some(b) = c.before {
            let p = rule_params(c, b, false)?;
            run(world, c, p)?;
        }
    }
    // 3. Rules created.
    for c in changes
        .iter()
        .filter(|c| c.kind == "alicloud_security_group_rule" && (has(c, "create") || is_update(c)))
    {
        if let Some(a) = c.after {
            let p = rule_params(c, a, true)?;
            run(world, c, p)?;
        }
    }
    // 4. Groups deleted.
    for c in changes
        .iter()
        .filter(|c| c.kind == "alicloud_security_group" && has(c, "delete"))
    {
        if let Some(id) = text(c.before.and_then(|b| b.get("id"))) {
            run(
                world,
                c,
                vec![
                    ("Action", "DeleteSecurityGroup".to_string()),
                    ("SecurityGroupId", id),
                ],
            )?;
        }
    }
    Ok(calls)
}
