//! Random valid worlds for the round-trip properties. The generator draws raw choices;
//! `build_doc` turns them into a world file that is valid by construction (SPEC §4's rows
//! and §5's refusals are respected).

use super::arb::*;
use ipnet::{Ipv4Net, Ipv6Net};
use proptest::prelude::*;
use serde_json::Value;
use std::net::IpAddr;

// file that is valid by construction (SPEC §4's rows and §5's refusals are respected).

#[derive(Debug, Clone)]
pub struct GenRule {
    pub egress: bool,
    pub protocol: usize,
    pub v6: bool,
    pub ports: (u16, u16),
    pub source_ports: u8,
    pub sports: (u16, u16),
    pub peer_kind: u8,
    pub peer_pick: usize,
    pub peer_v4: Ipv4Net,
    pub peer_v6: Ipv6Net,
    pub local: Option<(Ipv4Net, Ipv6Net)>,
    pub owner: u8,
    pub nic: u8,
    pub policy: u8,
    pub priority: Option<(u8, u8)>,
    pub description: Option<String>,
    pub id: Option<u16>,
    pub create_time: bool,
    pub case_mask: u8,
}

pub fn arb_v4_net() -> impl Strategy<Value = Ipv4Net> {
    (arb_v4(), 0u8..=32).prop_map(|(a, l)| Ipv4Net::new(a, l).unwrap())
}

pub fn arb_v6_net() -> impl Strategy<Value = Ipv6Net> {
    (arb_v6(), 0u8..=128).prop_map(|(a, l)| Ipv6Net::new(a, l).unwrap())
}

pub fn arb_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-zA-Z0-9 _.-]{0,20}",
        1 => "(?s).{0,20}",
        1 => prop::sample::select(vec!["\"", "'''", "\\", "a\nb", "\u{0}", "é中🦀", "# not a comment", "[x]"]).prop_map(String::from),
    ]
}

pub fn arb_gen_rule() -> impl Strategy<Value = GenRule> {
    (
        (
            any::<bool>(),
            0usize..6,
            any::<bool>(),
            any::<(u16, u16)>(),
            0u8..4,
            any::<(u16, u16)>(),
        ),
        (
            0u8..4,
            any::<usize>(),
            arb_v4_net(),
            arb_v6_net(),
            prop::option::of((arb_v4_net(), arb_v6_net())),
        ),
        (
            0u8..4,
            0u8..3,
            0u8..3,
            prop::option::of((1u8..=100, 0u8..3)),
        ),
        (
            prop::option::of(arb_text()),
            prop::option::of(any::<u16>()),
            any::<bool>(),
            any::<u8>(),
        ),
    )
        .prop_map(
            |(
                (egress, protocol, v6, ports, source_ports, sports),
                (peer_kind, peer_pick, peer_v4, peer_v6, local),
                (owner, nic, policy, priority),
                (description, id, create_time, case_mask),
            )| GenRule {
                egress,
                protocol,
                v6,
                ports,
                source_ports,
                sports,
                peer_kind,
                peer_pick,
                peer_v4,
                peer_v6,
                local,
                owner,
                nic,
                policy,
                priority,
                description,
                id,
                create_time,
                case_mask,
            },
        )
}

#[derive(Debug, Clone)]
pub struct GenGroup {
    pub enterprise: bool,
    pub vpc: Option<usize>,
    pub inner: u8,
    pub name: Option<String>,
    pub description: Option<String>,
    pub owner_id: Option<u32>,
    pub owner_account: Option<String>,
    pub service_managed: Option<bool>,
    pub create_time: bool,
    pub rules: Vec<GenRule>,
}

pub fn arb_gen_group() -> impl Strategy<Value = GenGroup> {
    (
        (
            any::<bool>(),
            prop::option::weighted(0.8, 0usize..2),
            0u8..3,
        ),
        (
            prop::option::of(arb_text()),
            prop::option::of(arb_text()),
            prop::option::weighted(0.3, any::<u32>()),
        ),
        (
            prop::option::weighted(0.3, "[a-z]{1,10}"),
            prop::option::of(any::<bool>()),
            any::<bool>(),
        ),
        prop::collection::vec(arb_gen_rule(), 0..6),
    )
        .prop_map(
            |(
                (enterprise, vpc, inner),
                (name, description, owner_id),
                (owner_account, service_managed, create_time),
                rules,
            )| GenGroup {
                enterprise,
                vpc,
                inner,
                name,
                description,
                owner_id,
                owner_account,
                service_managed,
                create_time,
                rules,
            },
        )
}

#[derive(Debug, Clone)]
pub struct GenPrefixList {
    pub v6: bool,
    pub max_entries: u32,
    pub entries: Vec<(Ipv4Net, Ipv6Net, Option<String>)>,
    pub name: Option<String>,
}

pub fn arb_gen_prefix_list() -> impl Strategy<Value = GenPrefixList> {
    (
        any::<bool>(),
        1u32..6,
        prop::collection::vec(
            (arb_v4_net(), arb_v6_net(), prop::option::of(arb_text())),
            0..5,
        ),
        prop::option::of(arb_text()),
    )
        .prop_map(|(v6, max_entries, entries, name)| GenPrefixList {
            v6,
            max_entries,
            entries,
            name,
        })
}

#[derive(Debug, Clone)]
pub struct GenEni {
    pub groups: Vec<usize>,
    pub ips: Vec<IpAddr>,
}

#[derive(Debug, Clone)]
pub struct GenInstance {
    pub vpc: Option<usize>,
    pub primary: GenEni,
    pub public_ip: Option<std::net::Ipv4Addr>,
    pub enis: Vec<GenEni>,
}

pub fn arb_gen_eni() -> impl Strategy<Value = GenEni> {
    (
        prop::collection::vec(0usize..8, 1..4),
        prop::collection::vec(arb_ip(), 0..4),
    )
        .prop_map(|(groups, ips)| GenEni { groups, ips })
}

pub fn arb_gen_instance() -> impl Strategy<Value = GenInstance> {
    (
        prop::option::weighted(0.8, 0usize..2),
        arb_gen_eni(),
        prop::option::of(arb_v4()),
        prop::collection::vec(arb_gen_eni(), 0..3),
    )
        .prop_map(|(vpc, primary, public_ip, enis)| GenInstance {
            vpc,
            primary,
            public_ip,
            enis,
        })
}

/// A `client_tokens` record: token, action, parameters, response.
pub type GenToken = (String, String, Vec<(String, String)>, Value);

#[derive(Debug, Clone)]
pub struct GenWorld {
    pub region: Option<String>,
    pub account: Option<(u64, bool)>,
    pub account_name: Option<String>,
    pub limits: bool,
    pub vpcs: usize,
    pub prefix_lists: Vec<GenPrefixList>,
    pub groups: Vec<GenGroup>,
    pub instances: Vec<GenInstance>,
    pub client_tokens: Vec<GenToken>,
}

/// A JSON value as API responses hold them: no nulls, integers that TOML can hold.
pub fn arb_response() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        arb_text().prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        3 => "[A-Za-z]{1,10}",
                        1 => prop::sample::select(vec!["a.b", "a b", "\"", "é", "[x]", "1"])
                            .prop_map(String::from),
                    ],
                    inner
                ),
                0..4
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

pub fn arb_client_token() -> impl Strategy<Value = GenToken> {
    (
        "[A-Za-z0-9-]{1,64}",
        prop::sample::select(vec!["AuthorizeSecurityGroup", "CreateSecurityGroup"])
            .prop_map(String::from),
        prop::collection::vec(("[A-Za-z.0-9]{1,20}", arb_text()), 0..4),
        prop::collection::vec(("[A-Za-z]{1,10}", arb_response()), 0..4)
            .prop_map(|kv| Value::Object(kv.into_iter().collect())),
    )
}

pub fn arb_gen_world() -> impl Strategy<Value = GenWorld> {
    (
        (
            prop::option::of("[a-z]{2}-[a-z]{3,9}"),
            prop::option::of((0u64..=u64::from(u32::MAX) * 1000, any::<bool>())),
            prop::option::of(arb_text()),
            any::<bool>(),
            0usize..3,
        ),
        prop::collection::vec(arb_gen_prefix_list(), 0..3),
        prop::collection::vec(arb_gen_group(), 1..5),
        prop::collection::vec(arb_gen_instance(), 0..4),
        prop::collection::vec(arb_client_token(), 0..3),
    )
        .prop_map(
            |(
                (region, account, account_name, limits, vpcs),
                prefix_lists,
                groups,
                instances,
                client_tokens,
            )| GenWorld {
                region,
                account,
                account_name,
                limits,
                vpcs,
                prefix_lists,
                groups,
                instances,
                client_tokens,
            },
        )
}

pub fn mixed_case(s: &str, mask: u8) -> String {
    s.chars()
        .enumerate()
        .map(|(i, c)| {
            if mask & (1 << (i % 8)) != 0 {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}
