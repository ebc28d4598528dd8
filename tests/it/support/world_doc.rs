//! Turning a generated world's raw choices into a valid world-file document.

use super::world_gen::*;
use ipnet::IpNet;
use serde_json::{json, Map, Value};
use sgsim::model::canonical;
use std::net::IpAddr;

/// The facts about a group that rules referring to it need.
pub struct GroupFacts {
    pub id: String,
    pub enterprise: bool,
    pub vpc: Option<String>,
    pub owner_id: String,
    pub owner_account: Option<String>,
}

/// Turns raw choices into a valid world file document.
pub fn build_doc(g: &GenWorld) -> Value {
    let mut doc = Map::new();
    if let Some(r) = &g.region {
        doc.insert("region_id".into(), json!(r));
    }
    let account_id = match g.account {
        Some((a, as_int)) => {
            doc.insert(
                "account_id".into(),
                if as_int {
                    json!(a)
                } else {
                    json!(a.to_string())
                },
            );
            a.to_string()
        }
        None => sgsim::model::DEFAULT_ACCOUNT.to_string(),
    };
    if let Some(n) = &g.account_name {
        doc.insert("account_name".into(), json!(n));
    }
    if g.limits {
        doc.insert(
            "limits".into(),
            json!({ "rules_per_group": 150, "groups_per_eni": 4, "prefix_list_entries": 50 }),
        );
    }
    let vpcs: Vec<String> = (0..g.vpcs).map(|i| format!("vpc-{i}")).collect();
    if !vpcs.is_empty() {
        doc.insert(
            "vpcs".into(),
            Value::Array(vpcs.iter().map(|v| json!({ "id": v })).collect()),
        );
    }

    // Prefix lists: canonical, distinct entries of the list's family, at most max_entries.
    let mut lists: Vec<(String, bool)> = Vec::new();
    let mut pl_docs = Vec::new();
    for (i, p) in g.prefix_lists.iter().enumerate() {
        let id = format!("pl-{i}");
        let mut seen = Vec::new();
        let mut entries = Vec::new();
        for (v4, v6, desc) in &p.entries {
            let net = if p.v6 {
                IpNet::V6(v6.trunc())
            } else {
                IpNet::V4(v4.trunc())
            };
            if seen.contains(&net) || seen.len() as u32 >= p.max_entries {
                continue;
            }
            seen.push(net);
            entries.push(match desc {
                Some(d) => json!({ "cidr": net.to_string(), "description": d }),
                None => json!(net.to_string()),
            });
        }
        let mut pl = Map::new();
        pl.insert("id".into(), json!(id));
        if let Some(n) = &p.name {
            pl.insert("name".into(), json!(n));
        }
        pl.insert(
            "address_family".into(),
            json!(if p.v6 { "IPv6" } else { "ipv4" }),
        );
        pl.insert("max_entries".into(), json!(p.max_entries));
        pl.insert("entries".into(), Value::Array(entries));
        pl_docs.push(Value::Object(pl));
        lists.push((id, p.v6));
    }
    if !pl_docs.is_empty() {
        doc.insert("prefix_lists".into(), Value::Array(pl_docs));
    }

    // Groups: their facts first, so rules can refer to any group of the file.
    let facts: Vec<GroupFacts> = g
        .groups
        .iter()
        .enumerate()
        .map(|(i, gg)| {
            let vpc = gg.vpc.and_then(|v| vpcs.get(v).cloned());
            GroupFacts {
                id: format!("sg-{i}"),
                // The classic network has no enterprise groups.
                enterprise: gg.enterprise && vpc.is_some(),
                vpc,
                owner_id: gg
                    .owner_id
                    .map_or_else(|| account_id.clone(), |o| o.to_string()),
                owner_account: gg.owner_account.clone().or_else(|| {
                    (gg.owner_id.is_none()
                        || gg.owner_id.map(|o| o.to_string()) == Some(account_id.clone()))
                    .then(|| g.account_name.clone())
                    .flatten()
                }),
            }
        })
        .collect();
    let protocols = ["TCP", "UDP", "ICMP", "ICMPv6", "GRE", "ALL"];
    let mut group_docs = Vec::new();
    for (gi, gg) in g.groups.iter().enumerate() {
        let me = &facts[gi];
        let mut gd = Map::new();
        gd.insert("id".into(), json!(me.id));
        if let Some(n) = &gg.name {
            gd.insert("name".into(), json!(n));
        }
        if let Some(d) = &gg.description {
            gd.insert("description".into(), json!(d));
        }
        if me.enterprise {
            gd.insert("type".into(), json!("Enterprise"));
        } else if gi % 2 == 0 {
            gd.insert("type".into(), json!("normal"));
        }
        if let Some(v) = &me.vpc {
            gd.insert("vpc_id".into(), json!(v));
        }
        if let Some(o) = gg.owner_id {
            gd.insert(
                "owner_id".into(),
                if o % 2 == 0 {
                    json!(o)
                } else {
                    json!(o.to_string())
                },
            );
        }
        if let Some(a) = &gg.owner_account {
            gd.insert("owner_account".into(), json!(a));
        }
        match (me.enterprise, gg.inner) {
            (_, 0) => {}
            (true, _) => {
                gd.insert("inner_access_policy".into(), json!("drop"));
            }
            (false, 1) => {
                gd.insert("inner_access_policy".into(), json!("ACCEPT"));
            }
            (false, _) => {
                gd.insert("inner_access_policy".into(), json!("Drop"));
            }
        }
        if let Some(s) = gg.service_managed {
            gd.insert("service_managed".into(), json!(s));
        }
        if gg.create_time {
            gd.insert("create_time".into(), json!("2026-01-01T00:00:00Z"));
        }
        let mut rules = Vec::new();
        for (ri, r) in gg.rules.iter().enumerate() {
            rules.push(build_rule(r, gi, ri, me, &facts, &lists, &protocols));
        }
        if !rules.is_empty() {
            gd.insert("rules".into(), Value::Array(rules));
        }
        group_docs.push(Value::Object(gd));
    }
    doc.insert("security_groups".into(), Value::Array(group_docs));

    // Instances: each ENI in groups of the instance's VPC and of one type.
    let groups_per_eni = if g.limits { 4 } else { 5 };
    let mut used_ips: Vec<IpAddr> = Vec::new();
    let mut inst_docs = Vec::new();
    let mut eni_ids = 0;
    for (ii, inst) in g.instances.iter().enumerate() {
        let vpc = inst.vpc.and_then(|v| vpcs.get(v).cloned());
        let eni = |e: &GenEni, used: &mut Vec<IpAddr>| -> Option<(Vec<String>, Vec<String>)> {
            let mut picked: Vec<&GroupFacts> = Vec::new();
            for &i in &e.groups {
                let Some(f) = facts.get(i % facts.len()) else {
                    continue;
                };
                if f.vpc != vpc
                    || picked
                        .iter()
                        .any(|p| p.id == f.id || p.enterprise != f.enterprise)
                    || picked.len() >= groups_per_eni
                {
                    continue;
                }
                picked.push(f);
            }
            if picked.is_empty() {
                return None;
            }
            // Addresses distinct on the ENI (and, for readability, in the world).
            let mut ips = Vec::new();
            for a in &e.ips {
                if !used.contains(a) {
                    used.push(*a);
                    ips.push(a.to_string());
                }
            }
            Some((picked.iter().map(|p| p.id.clone()).collect(), ips))
        };
        let Some((groups, ips)) = eni(&inst.primary, &mut used_ips) else {
            continue;
        };
        let mut d = Map::new();
        d.insert("id".into(), json!(format!("i-{ii}")));
        if let Some(v) = &vpc {
            d.insert("vpc_id".into(), json!(v));
        }
        d.insert("security_groups".into(), json!(groups));
        d.insert("private_ips".into(), json!(ips));
        if let Some(p) = inst.public_ip {
            d.insert("public_ip".into(), json!(p.to_string()));
        }
        let mut enis = Vec::new();
        for e in &inst.enis {
            if let Some((groups, ips)) = eni(e, &mut used_ips) {
                eni_ids += 1;
                enis.push(json!({ "id": format!("eni-{eni_ids}"), "security_groups": groups, "private_ips": ips }));
            }
        }
        if !enis.is_empty() {
            d.insert("network_interfaces".into(), Value::Array(enis));
        }
        inst_docs.push(Value::Object(d));
    }
    if !inst_docs.is_empty() {
        doc.insert("instances".into(), Value::Array(inst_docs));
    }
    if !g.client_tokens.is_empty() {
        let records = g
            .client_tokens
            .iter()
            .map(|(token, action, params, response)| {
                json!({ "token": token, "action": action, "params": params, "response": response })
            })
            .collect();
        doc.insert("client_tokens".into(), Value::Array(records));
    }
    Value::Object(doc)
}

pub fn build_rule(
    r: &GenRule,
    gi: usize,
    ri: usize,
    me: &GroupFacts,
    facts: &[GroupFacts],
    lists: &[(String, bool)],
    protocols: &[&str],
) -> Value {
    let protocol = protocols[r.protocol];
    // ICMP is IPv4 only and ICMPv6 IPv6 only; every address of the rule has one family.
    let v6 = match protocol {
        "ICMP" => false,
        "ICMPv6" => true,
        _ => r.v6,
    };
    let ports = matches!(protocol, "TCP" | "UDP");
    let mut m = Map::new();
    m.insert(
        "direction".into(),
        json!(if r.egress { "Egress" } else { "ingress" }),
    );
    m.insert(
        "ip_protocol".into(),
        json!(mixed_case(protocol, r.case_mask)),
    );
    let range = |(a, b): (u16, u16)| {
        let (a, b) = (a.max(1), b.max(1));
        format!("{}/{}", a.min(b), a.max(b))
    };
    m.insert(
        "port_range".into(),
        json!(if ports {
            range(r.ports)
        } else {
            "-1/-1".into()
        }),
    );
    match r.source_ports {
        1 => {
            m.insert("source_port_range".into(), json!("-1/-1"));
        }
        2 => {
            m.insert("source_port_range".into(), json!(""));
        }
        3 if ports => {
            m.insert("source_port_range".into(), json!(range(r.sports)));
        }
        _ => {}
    }
    let side = |ingress_name: &str, egress_name: &str| -> String {
        if r.egress { egress_name } else { ingress_name }.to_string()
    };
    // The peer: a CIDR, a group (normal, same network, not itself) or a prefix list (VPC
    // groups, the rule's family); a CIDR when the other kinds do not fit.
    let classic = me.vpc.is_none();
    let mut peer_cidr: Option<IpNet> = None;
    let mut nic_forced = None;
    let group_peer = (r.peer_kind == 1)
        .then(|| &facts[r.peer_pick % facts.len()])
        .filter(|f| !me.enterprise && !f.enterprise && f.id != me.id && f.vpc == me.vpc);
    let list_peer = (r.peer_kind == 2 && !classic)
        .then(|| {
            lists
                .iter()
                .filter(|(_, f6)| *f6 == v6)
                .nth(r.peer_pick % lists.len().max(1))
        })
        .flatten();
    if let Some(f) = group_peer {
        m.insert(side("source_group_id", "dest_group_id"), json!(f.id));
        if r.owner & 1 != 0 {
            let key = side("source_group_owner_id", "dest_group_owner_id");
            m.insert(key, json!(f.owner_id));
        }
        if r.owner & 2 != 0 {
            if let Some(a) = &f.owner_account {
                let key = side("source_group_owner_account", "dest_group_owner_account");
                m.insert(key, json!(a));
            }
        }
        if classic {
            nic_forced = Some("intranet");
        }
    } else if let Some((id, _)) = list_peer {
        m.insert(
            side("source_prefix_list_id", "dest_prefix_list_id"),
            json!(id),
        );
    } else {
        let net = if v6 {
            IpNet::V6(r.peer_v6)
        } else {
            IpNet::V4(r.peer_v4)
        };
        let key = match (v6, r.egress) {
            (false, false) => "source_cidr_ip",
            (true, false) => "ipv6_source_cidr_ip",
            (false, true) => "dest_cidr_ip",
            (true, true) => "ipv6_dest_cidr_ip",
        };
        m.insert(key.into(), json!(net.to_string()));
        peer_cidr = Some(net);
    }
    if let Some((l4, l6)) = r.local {
        let local = if v6 { IpNet::V6(l6) } else { IpNet::V4(l4) };
        // SourceCidrIp equal to DestCidrIp is refused, so leave the local CIDR out then.
        let clash = !v6 && peer_cidr.map(canonical) == Some(canonical(local));
        if !clash {
            let key = match (v6, r.egress) {
                (false, false) => "dest_cidr_ip",
                (true, false) => "ipv6_dest_cidr_ip",
                (false, true) => "source_cidr_ip",
                (true, true) => "ipv6_source_cidr_ip",
            };
            m.insert(key.into(), json!(local.to_string()));
        }
    }
    match (nic_forced, r.nic) {
        (Some(n), _) => {
            m.insert("nic_type".into(), json!(n));
        }
        (None, 1) => {
            m.insert("nic_type".into(), json!("Internet"));
        }
        (None, 2) => {
            m.insert("nic_type".into(), json!("intranet"));
        }
        _ => {}
    }
    match r.policy {
        1 => {
            m.insert("policy".into(), json!("accept"));
        }
        2 => {
            m.insert("policy".into(), json!("DROP"));
        }
        _ => {}
    }
    if let Some((p, form)) = r.priority {
        let v = match form {
            0 => json!(p),
            1 => json!(p.to_string()),
            _ => json!(format!("00{p}")),
        };
        m.insert("priority".into(), v);
    }
    if let Some(d) = &r.description {
        m.insert("description".into(), json!(d));
    }
    if let Some(n) = r.id {
        // Unique by construction: numbered ids carry the group and rule index.
        let id = if n % 2 == 0 {
            format!("sgr-{:012}", u64::from(n) * 10_000 + (gi * 100 + ri) as u64)
        } else {
            format!("sgr-g{gi}-r{ri}")
        };
        m.insert("id".into(), json!(id));
    }
    if r.create_time {
        m.insert("create_time".into(), json!("2026-01-01T00:00:00Z"));
    }
    Value::Object(m)
}
