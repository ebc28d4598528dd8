//! Writing a world back in the file schema (TOML or JSON); loading the result gives the
//! same world.

use super::{snake_case, Format};
use crate::api::describe::rule_fields;
use crate::model::{ClientTokenRecord, Limits, Rule, World};
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::IpAddr;

#[derive(Serialize)]
struct OutWorld<'a> {
    region_id: &'a str,
    account_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_name: Option<&'a str>,
    #[serde(skip_serializing_if = "is_default_limits")]
    limits: Limits,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    vpcs: Vec<OutId<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    prefix_lists: Vec<OutPrefixList<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    security_groups: Vec<OutGroup<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    instances: Vec<OutInstance<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    client_tokens: &'a Vec<ClientTokenRecord>,
}

fn is_default_limits(l: &Limits) -> bool {
    *l == Limits::default()
}

fn is_empty(s: &&str) -> bool {
    s.is_empty()
}

#[derive(Serialize)]
struct OutId<'a> {
    id: &'a str,
}

#[derive(Serialize)]
struct OutEntry<'a> {
    cidr: String,
    #[serde(skip_serializing_if = "is_empty")]
    description: &'a str,
}

#[derive(Serialize)]
struct OutPrefixList<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "is_empty")]
    name: &'a str,
    #[serde(skip_serializing_if = "is_empty")]
    description: &'a str,
    address_family: &'static str,
    max_entries: u32,
    #[serde(skip_serializing_if = "is_empty")]
    create_time: &'a str,
    entries: Vec<OutEntry<'a>>,
}

#[derive(Serialize)]
struct OutGroup<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "is_empty")]
    name: &'a str,
    #[serde(skip_serializing_if = "is_empty")]
    description: &'a str,
    #[serde(rename = "type")]
    group_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    vpc_id: Option<&'a str>,
    owner_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner_account: Option<&'a str>,
    inner_access_policy: &'static str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    service_managed: bool,
    #[serde(skip_serializing_if = "is_empty")]
    create_time: &'a str,
    rules: Vec<BTreeMap<String, serde_json::Value>>,
}

#[derive(Serialize)]
struct OutEni<'a> {
    id: &'a str,
    security_groups: &'a [String],
    private_ips: Vec<String>,
}

#[derive(Serialize)]
struct OutInstance<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    vpc_id: Option<&'a str>,
    security_groups: &'a [String],
    private_ips: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    public_ip: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    network_interfaces: Vec<OutEni<'a>>,
}

/// A rule as file keys (the API's names in snake case), only the fields that are set: the
/// flat API fields of [`rule_fields`] renamed, plus the id, the direction, the priority as an
/// integer and the creation time.
pub fn rule_to_keys(rule: &Rule) -> BTreeMap<String, serde_json::Value> {
    use serde_json::Value as V;
    let mut m: BTreeMap<String, V> = rule_fields(rule)
        .into_iter()
        .map(|(k, v)| (snake_case(&k), V::String(v)))
        .collect();
    m.insert("id".into(), V::from(rule.id.as_str()));
    m.insert("direction".into(), V::from(rule.direction.as_str()));
    m.insert("priority".into(), V::from(rule.priority));
    if !rule.create_time.is_empty() {
        m.insert("create_time".into(), V::from(rule.create_time.as_str()));
    }
    m
}

/// Writes a world in the file schema; loading the result gives the same world.
pub fn to_string(world: &World, format: Format) -> Result<String, String> {
    let ips = |v: &[IpAddr]| v.iter().map(IpAddr::to_string).collect::<Vec<_>>();
    let out = OutWorld {
        region_id: &world.region_id,
        account_id: &world.account_id,
        account_name: world.account_name.as_deref(),
        limits: world.limits,
        vpcs: world.vpcs.iter().map(|v| OutId { id: &v.id }).collect(),
        prefix_lists: world
            .prefix_lists
            .iter()
            .map(|p| OutPrefixList {
                id: &p.id,
                name: &p.name,
                description: &p.description,
                address_family: p.address_family.as_str(),
                max_entries: p.max_entries,
                create_time: &p.create_time,
                entries: p
                    .entries
                    .iter()
                    .map(|e| OutEntry {
                        cidr: e.cidr.to_string(),
                        description: &e.description,
                    })
                    .collect(),
            })
            .collect(),
        security_groups: world
            .security_groups
            .iter()
            .map(|g| OutGroup {
                id: &g.id,
                name: &g.name,
                description: &g.description,
                group_type: g.group_type.as_str(),
                vpc_id: g.vpc_id.as_deref(),
                owner_id: &g.owner_id,
                // Not where the loader derives it (the world's own account and name).
                owner_account: g.owner_account.as_deref().filter(|a| {
                    g.owner_id != world.account_id || world.account_name.as_deref() != Some(*a)
                }),
                inner_access_policy: g.inner_access_policy.as_str(),
                service_managed: g.service_managed,
                create_time: &g.create_time,
                rules: g.rules.iter().map(rule_to_keys).collect(),
            })
            .collect(),
        instances: world
            .instances
            .iter()
            .map(|i| OutInstance {
                id: &i.id,
                vpc_id: i.vpc_id.as_deref(),
                security_groups: &i.security_groups,
                private_ips: ips(&i.private_ips),
                public_ip: i.public_ip.map(|a| a.to_string()),
                network_interfaces: i
                    .network_interfaces
                    .iter()
                    .map(|n| OutEni {
                        id: &n.id,
                        security_groups: &n.security_groups,
                        private_ips: ips(&n.private_ips),
                    })
                    .collect(),
            })
            .collect(),
        client_tokens: &world.client_tokens,
    };
    match format {
        Format::Toml => toml::to_string_pretty(&out).map_err(|e| e.to_string()),
        Format::Json => serde_json::to_string_pretty(&out)
            .map(|s| s + "\n")
            .map_err(|e| e.to_string()),
    }
}
