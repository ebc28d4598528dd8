//! Property tests of the API: the parser never panics, failed calls change nothing,
//! authorized rules described and re-imported decide packets identically, and authorize
//! then revoke restores the world.

use proptest::prelude::*;
use sgsim::api::{self, CallContext};
use sgsim::engine::reference;
use sgsim::model::{Direction, Packet, World};
use sgsim::world_file::{self, Format};
use std::net::IpAddr;

const WORLD: &str = r#"
region_id = "cn-hangzhou"

[[vpcs]]
id = "vpc-1"

[[prefix_lists]]
id = "pl-office"
address_family = "IPv4"
max_entries = 3
entries = ["203.0.113.0/24", "10.9.0.0/16"]

[[prefix_lists]]
id = "pl-v6"
address_family = "IPv6"
max_entries = 2
entries = ["2001:db8:9::/48"]

[[security_groups]]
id = "sg-web"
name = "web"
vpc_id = "vpc-1"
inner_access_policy = "Drop"

[[security_groups]]
id = "sg-db"
vpc_id = "vpc-1"

[[instances]]
id = "i-web"
vpc_id = "vpc-1"
security_groups = ["sg-web"]
private_ips = ["192.168.1.10", "2001:db8::10"]

[[instances]]
id = "i-db"
vpc_id = "vpc-1"
security_groups = ["sg-db"]
private_ips = ["192.168.2.20", "2001:db8::20"]
"#;

fn world() -> World {
    world_file::load_str(WORLD, Format::Toml, "props").expect("props world loads")
}

fn ctx() -> CallContext {
    CallContext::scenario()
}

/// Addresses packets and rules are drawn from, so that they often match.
const V4: &[&str] = &[
    "10.0.0.1",
    "10.9.1.2",
    "203.0.113.7",
    "192.168.2.20",
    "192.168.1.10",
    "172.16.0.1",
];
const V6: &[&str] = &["2001:db8::20", "2001:db8:9::1", "2001:db8::10", "fd00::1"];

/// One permission's fields, written as `Permissions.N.Field=value` without the prefix.
fn permission() -> impl Strategy<Value = Vec<(&'static str, String)>> {
    let proto = prop::sample::select(vec!["TCP", "UDP", "ICMP", "ICMPv6", "GRE", "ALL", "tcp"]);
    let ports = (1u16..40, 0u16..30).prop_map(|(a, d)| format!("{a}/{}", a + d));
    let src_ports = prop::option::of(
        (1u16..60000, 0u16..5000).prop_map(|(a, d)| format!("{a}/{}", a.saturating_add(d))),
    );
    let v4 = (prop::sample::select(V4.to_vec()), 0u8..=32).prop_map(|(a, p)| format!("{a}/{p}"));
    let v6 = (prop::sample::select(V6.to_vec()), 0u8..=128).prop_map(|(a, p)| format!("{a}/{p}"));
    let peer = prop_oneof![
        v4.clone().prop_map(|c| ("SourceCidrIp", c)),
        v6.clone().prop_map(|c| ("Ipv6SourceCidrIp", c)),
        Just(("SourceGroupId", "sg-db".to_string())),
        Just(("SourcePrefixListId", "pl-office".to_string())),
        Just(("SourcePrefixListId", "pl-v6".to_string())),
    ];
    let local = prop::option::of(prop_oneof![
        v4.prop_map(|c| ("DestCidrIp", c)),
        v6.prop_map(|c| ("Ipv6DestCidrIp", c)),
    ]);
    (
        proto,
        ports,
        src_ports,
        peer,
        local,
        prop::bool::ANY,
        1u8..6,
    )
        .prop_map(|(proto, ports, sp, peer, local, drop, prio)| {
            let has_ports = matches!(proto, "TCP" | "UDP" | "tcp");
            let mut f = vec![
                ("IpProtocol", proto.to_string()),
                ("PortRange", if has_ports { ports } else { "-1/-1".into() }),
                ("Policy", if drop { "drop" } else { "accept" }.to_string()),
                ("Priority", prio.to_string()),
                (peer.0, peer.1),
            ];
            if let (true, Some(sp)) = (has_ports, sp) {
                f.push(("SourcePortRange", sp));
            }
            if let Some((k, v)) = local {
                f.push((k, v));
            }
            f
        })
}

fn query(action: &str, perms: &[Vec<(&'static str, String)>]) -> String {
    let mut q = format!("Action={action}&RegionId=cn-hangzhou&SecurityGroupId=sg-web");
    for (i, p) in perms.iter().enumerate() {
        for (k, v) in p {
            q.push_str(&format!("&Permissions.{}.{k}={v}", i + 1));
        }
    }
    q
}

fn packet() -> impl Strategy<Value = (Packet, Direction)> {
    let v4 = prop::sample::select(V4.to_vec());
    let v6 = prop::sample::select(V6.to_vec());
    let peer = prop_oneof![
        v4.prop_map(|a| a.to_string()),
        v6.prop_map(|a| a.to_string())
    ];
    (
        peer,
        prop::sample::select(vec![6u8, 17, 1, 58, 47, 50]),
        1u16..80,
        1u16..65535,
        prop::bool::ANY,
    )
        .prop_map(|(peer, proto, dport, sport, egress)| {
            let peer: IpAddr = peer.parse().unwrap();
            let local: IpAddr = if peer.is_ipv4() {
                "192.168.1.10".parse().unwrap()
            } else {
                "2001:db8::10".parse().unwrap()
            };
            let ports = proto == 6 || proto == 17;
            let (dport, sport) = if ports { (dport, sport) } else { (0, 0) };
            let direction = if egress {
                Direction::Egress
            } else {
                Direction::Ingress
            };
            let (src, dst) = match direction {
                Direction::Ingress => (peer, local),
                Direction::Egress => (local, peer),
            };
            (
                Packet::new(proto, src, sport, dst, dport).unwrap(),
                direction,
            )
        })
}

/// The permission written for egress: peer and local fields swap sides.
fn to_egress(p: &[(&'static str, String)]) -> Vec<(&'static str, String)> {
    p.iter()
        .map(|(k, v)| {
            let k = match *k {
                "SourceCidrIp" => "DestCidrIp",
                "Ipv6SourceCidrIp" => "Ipv6DestCidrIp",
                "SourceGroupId" => "DestGroupId",
                "SourcePrefixListId" => "DestPrefixListId",
                "DestCidrIp" => "SourceCidrIp",
                "Ipv6DestCidrIp" => "Ipv6SourceCidrIp",
                other => other,
            };
            (k, v.clone())
        })
        .collect()
}

fn actions(egress: bool) -> (&'static str, &'static str) {
    if egress {
        ("AuthorizeSecurityGroupEgress", "RevokeSecurityGroupEgress")
    } else {
        ("AuthorizeSecurityGroup", "RevokeSecurityGroup")
    }
}

/// Authorizes each permission on its own in the direction given, keeping those that pass.
fn authorize_each(w: &mut World, perms: &[(Vec<(&'static str, String)>, bool)]) {
    for (p, egress) in perms {
        let p = if *egress { to_egress(p) } else { p.clone() };
        let before = w.clone();
        let r = api::call(w, &query(actions(*egress).0, &[p]), &ctx()).unwrap();
        if r.error.is_some() {
            assert_eq!(*w, before, "a failed call changed the world");
        }
    }
}

/// Plausible values of each parameter the sequences use, so that calls often succeed.
const PLAUSIBLE: &[(&str, &[&str])] = &[
    ("SecurityGroupId", &["sg-web", "sg-db", "sg-000000000001"]),
    (
        "Permissions.1.IpProtocol",
        &["TCP", "udp", "ICMP", "ALL", "ICMPv6"],
    ),
    (
        "Permissions.1.PortRange",
        &["22/22", "1/65535", "-1/-1", "80/90"],
    ),
    (
        "Permissions.1.SourceCidrIp",
        &["10.0.0.0/8", "203.0.113.5/24", "0.0.0.0/0"],
    ),
    ("Permissions.1.DestCidrIp", &["10.0.0.0/8", "192.168.1.10"]),
    (
        "Permissions.1.SourceGroupId",
        &["sg-web", "sg-db", "sg-000000000001"],
    ),
    ("Permissions.1.DestGroupId", &["sg-web", "sg-db"]),
    (
        "Permissions.1.SourcePrefixListId",
        &["pl-office", "pl-v6", "pl-000000000001"],
    ),
    ("Permissions.1.Ipv6SourceCidrIp", &["2001:db8::/32", "::/0"]),
    ("Permissions.1.Policy", &["Drop", "accept"]),
    ("Permissions.1.Priority", &["1", "100", "7"]),
    ("IpProtocol", &["TCP", "ALL"]),
    ("PortRange", &["22/22", "-1/-1"]),
    ("SourceCidrIp", &["10.0.0.0/8", "0.0.0.0/0"]),
    ("DestCidrIp", &["10.0.0.0/8"]),
    (
        "SecurityGroupRuleId.1",
        &["sgr-000000000001", "sgr-000000000002"],
    ),
    (
        "SecurityGroupRuleId",
        &["sgr-000000000001", "sgr-000000000002"],
    ),
    ("PrefixListId", &["pl-office", "pl-v6", "pl-000000000001"]),
    ("PrefixListName", &["lab"]),
    ("Entry.1.Cidr", &["10.0.0.0/8", "2001:db8::/32"]),
    (
        "AddEntry.1.Cidr",
        &["10.8.0.0/16", "11.0.0.0/8", "2001:db8:7::/48"],
    ),
    (
        "RemoveEntry.1.Cidr",
        &["203.0.113.0/24", "10.9.0.0/16", "2001:db8:9::/48"],
    ),
    ("MaxEntries", &["1", "3", "5", "200"]),
    ("AddressFamily", &["IPv4", "IPv6"]),
    ("InstanceId", &["i-web", "i-db"]),
    ("NetworkInterfaceId", &["i-web", "i-db"]),
    ("ClientToken", &["tok-1", "tok-2"]),
    ("SecurityGroupIds", &["[\"sg-web\"]"]),
    ("Direction", &["ingress", "all"]),
    ("InnerAccessPolicy", &["Drop", "Accept"]),
    ("VpcId", &["vpc-1"]),
    ("SecurityGroupType", &["enterprise", "normal"]),
    ("SecurityGroupName", &["web2"]),
    ("Description", &["text"]),
];

/// The parameters worth sending with an action.
fn relevant(action: api::Action) -> &'static [&'static str] {
    use api::Action as A;
    const RULE: &[&str] = &[
        "SecurityGroupId",
        "Permissions.1.IpProtocol",
        "Permissions.1.PortRange",
        "Permissions.1.SourceCidrIp",
        "Permissions.1.DestCidrIp",
        "Permissions.1.SourceGroupId",
        "Permissions.1.DestGroupId",
        "Permissions.1.SourcePrefixListId",
        "Permissions.1.Ipv6SourceCidrIp",
        "Permissions.1.Policy",
        "Permissions.1.Priority",
        "SecurityGroupRuleId.1",
        "ClientToken",
    ];
    const FLAT: &[&str] = &[
        "SecurityGroupId",
        "SecurityGroupRuleId",
        "IpProtocol",
        "PortRange",
        "SourceCidrIp",
        "DestCidrIp",
        "Description",
        "ClientToken",
    ];
    const GROUP: &[&str] = &[
        "SecurityGroupId",
        "Direction",
        "InnerAccessPolicy",
        "VpcId",
        "SecurityGroupType",
        "SecurityGroupName",
        "Description",
        "SecurityGroupIds",
        "ClientToken",
    ];
    const PREFIX: &[&str] = &[
        "PrefixListId",
        "PrefixListName",
        "AddressFamily",
        "MaxEntries",
        "Entry.1.Cidr",
        "AddEntry.1.Cidr",
        "RemoveEntry.1.Cidr",
        "Description",
        "ClientToken",
    ];
    const ENI: &[&str] = &["SecurityGroupId", "InstanceId", "NetworkInterfaceId"];
    match action {
        A::AuthorizeSecurityGroup
        | A::AuthorizeSecurityGroupEgress
        | A::RevokeSecurityGroup
        | A::RevokeSecurityGroupEgress => RULE,
        A::ModifySecurityGroupRule | A::ModifySecurityGroupEgressRule => FLAT,
        A::CreatePrefixList
        | A::ModifyPrefixList
        | A::DeletePrefixList
        | A::DescribePrefixLists
        | A::DescribePrefixListAttributes => PREFIX,
        A::JoinSecurityGroup | A::LeaveSecurityGroup => ENI,
        _ => GROUP,
    }
}

/// One call: an action and, for each of its relevant parameters, whether it is sent and
/// its value (usually plausible, sometimes noise).
fn call_strategy() -> impl Strategy<Value = (api::Action, Vec<(&'static str, String)>)> {
    (
        prop::sample::select(api::Action::ALL.to_vec()),
        prop::collection::vec(
            (
                prop::bool::weighted(0.7),
                any::<prop::sample::Index>(),
                prop::bool::weighted(0.9),
                "[ -~]{0,24}",
            ),
            13,
        ),
    )
        .prop_map(|(action, picks)| {
            let params = relevant(action)
                .iter()
                .zip(picks)
                .filter(|(_, (send, ..))| *send)
                .map(|(name, (_, pick, plausible, noise))| {
                    let values = PLAUSIBLE
                        .iter()
                        .find(|(n, _)| n == name)
                        .map_or(&[][..], |(_, v)| *v);
                    let value = if plausible && !values.is_empty() {
                        pick.get(values).to_string()
                    } else {
                        noise
                    };
                    (*name, value)
                })
                .collect();
            (action, params)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn arbitrary_queries_never_panic(q in any::<String>()) {
        let mut w = world();
        let before = w.clone();
        if let Ok(r) = api::call(&mut w, &q, &ctx()) {
            if r.error.is_some() {
                prop_assert_eq!(w, before);
            }
        }
    }

    #[test]
    fn query_shaped_call_sequences_keep_the_world_valid(
        calls in prop::collection::vec(call_strategy(), 1..8),
    ) {
        let mut w = world();
        for (action, parts) in &calls {
            let mut q = format!("Action={}&RegionId=cn-hangzhou", action.name());
            for (k, v) in parts {
                q.push('&');
                q.push_str(k);
                q.push('=');
                q.push_str(v);
            }
            let before = w.clone();
            let Ok(r) = api::call(&mut w, &q, &ctx()) else {
                prop_assert_eq!(&w, &before);
                continue;
            };
            prop_assert!(r.body.is_object());
            prop_assert!(r.body["RequestId"].is_string());
            if r.error.is_some() {
                prop_assert_eq!(&w, &before);
            } else {
                prop_assert_eq!(r.status, 200);
                // What a successful call leaves can be saved and loaded again, unchanged.
                let text = world_file::to_string(&w, Format::Toml).unwrap();
                let again = world_file::load_str(&text, Format::Toml, "saved");
                prop_assert!(again.is_ok(), "{}: {:?}\n{}", q, again.err(), text);
                prop_assert_eq!(&again.unwrap(), &w);
            }
        }
    }

    #[test]
    fn described_and_reimported_rules_decide_the_same(
        perms in prop::collection::vec((permission(), prop::bool::ANY), 1..12),
        packets in prop::collection::vec(packet(), 1..40),
    ) {
        let mut a = world();
        authorize_each(&mut a, &perms);
        let d = api::call(
            &mut a.clone(),
            "Action=DescribeSecurityGroupAttribute&RegionId=cn-hangzhou&SecurityGroupId=sg-web",
            &ctx(),
        )
        .unwrap();
        prop_assert_eq!(d.status, 200);
        let mut doc: toml::Value =
            toml::from_str(&world_file::to_string(&a, Format::Toml).unwrap()).unwrap();
        let groups = doc
            .get_mut("security_groups")
            .and_then(toml::Value::as_array_mut)
            .unwrap();
        let web = groups
            .iter()
            .position(|g| g.get("id").and_then(toml::Value::as_str) == Some("sg-web"))
            .unwrap();
        groups[web] = toml::Value::try_from(d.body.clone()).unwrap();
        let b = world_file::load_str(&toml::to_string(&doc).unwrap(), Format::Toml, "imported")
            .unwrap();
        prop_assert_eq!(&a.group("sg-web").unwrap().rules, &b.group("sg-web").unwrap().rules);
        for (p, dir) in &packets {
            let da = reference::decide(&a, p, Some("i-web"), *dir).unwrap();
            let db = reference::decide(&b, p, Some("i-web"), *dir).unwrap();
            prop_assert_eq!(da, db);
        }
    }

    #[test]
    fn authorize_then_revoke_restores_the_world(
        perms in prop::collection::vec(permission(), 1..8),
        egress in prop::bool::ANY,
    ) {
        let base = world();
        let (authorize, revoke) = actions(egress);
        let perms: Vec<_> = perms
            .iter()
            .map(|p| if egress { to_egress(p) } else { p.clone() })
            .collect();
        // Keep the permissions that pass on their own, then send them in one call.
        let mut valid = Vec::new();
        for p in &perms {
            let mut scratch = base.clone();
            let r = api::call(&mut scratch, &query(authorize, std::slice::from_ref(p)), &ctx()).unwrap();
            if r.error.is_none() {
                valid.push(p.clone());
            }
        }
        prop_assume!(!valid.is_empty());
        let mut w = base.clone();
        let r = api::call(&mut w, &query(authorize, &valid), &ctx()).unwrap();
        if let Some(e) = &r.error {
            prop_assert_eq!(e.code.as_str(), "InvalidParam.DuplicatePermissions");
            prop_assert_eq!(&w, &base);
            return Ok(());
        }
        prop_assert!(!w.group("sg-web").unwrap().rules.is_empty());
        let r = api::call(&mut w, &query(revoke, &valid), &ctx()).unwrap();
        prop_assert!(r.error.is_none(), "{}", r.body);
        prop_assert_eq!(&w, &base);
    }
}
