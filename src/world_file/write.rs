//! Writing a world back in the file schema (TOML or JSON); loading the result gives the
//! same world.

use super::Format;
use crate::model::{ClientTokenRecord, Direction, Limits, Peer, Rule, World};
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
    rules: Vec<BTreeMap<&'static str, serde_json::Value>>,
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

/// A rule as file keys (the API's names in snake case), only the fields that are set.
pub fn rule_to_keys(rule: &Rule) -> BTreeMap<&'static str, serde_json::Value> {
    use serde_json::Value as V;
    let mut m = BTreeMap::new();
    let s = |v: &str| V::String(v.to_string());
    m.insert("id", s(&rule.id));
    m.insert("direction", s(rule.direction.as_str()));
    m.insert("ip_protocol", s(rule.protocol.as_str()));
    m.insert(
        "port_range",
        s(&rule
            .port_range
            .map_or_else(|| "-1/-1".into(), |p| p.to_string())),
    );
    if let Some(sp) = rule.source_port_range {
        m.insert("source_port_range", s(&sp.to_string()));
    }
    let ingress = rule.direction == Direction::Ingress;
    let (v4, v6, gid, gacc, gown, pl) = if ingress {
        (
            "source_cidr_ip",
            "ipv6_source_cidr_ip",
            "source_group_id",
            "source_group_owner_account",
            "source_group_owner_id",
            "source_prefix_list_id",
        )
    } else {
        (
            "dest_cidr_ip",
            "ipv6_dest_cidr_ip",
            "dest_group_id",
            "dest_group_owner_account",
            "dest_group_owner_id",
            "dest_prefix_list_id",
        )
    };
    match &rule.peer {
        Peer::Cidr(net) => {
            let key = if net.addr().is_ipv4() { v4 } else { v6 };
            m.insert(key, s(&net.to_string()));
        }
        Peer::Group {
            id,
            owner_account,
            owner_id,
        } => {
            m.insert(gid, s(id));
            if let Some(a) = owner_account {
                m.insert(gacc, s(a));
            }
            if let Some(o) = owner_id {
                m.insert(gown, s(o));
            }
        }
        Peer::PrefixList(id) => {
            m.insert(pl, s(id));
        }
    }
    if let Some(local) = rule.local_cidr {
        let key = match (ingress, local.addr().is_ipv4()) {
            (true, true) => "dest_cidr_ip",
            (true, false) => "ipv6_dest_cidr_ip",
            (false, true) => "source_cidr_ip",
            (false, false) => "ipv6_source_cidr_ip",
        };
        m.insert(key, s(&local.to_string()));
    }
    m.insert("nic_type", s(rule.nic_type.as_str()));
    m.insert("policy", s(rule.policy.as_str()));
    m.insert("priority", V::from(rule.priority));
    if !rule.description.is_empty() {
        m.insert("description", s(&rule.description));
    }
    if !rule.create_time.is_empty() {
        m.insert("create_time", s(&rule.create_time));
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
                owner_account: g.owner_account.as_deref(),
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
