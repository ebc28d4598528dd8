//! Random worlds for the analysis tests and for the world matcher's (`tests/it` includes
//! this file): VPC and classic, basic and advanced groups, inner access, group and
//! prefix-list peers, local CIDRs, NIC types, public addresses, secondary ENIs, IPv6).
#![allow(dead_code)]

use proptest::prelude::*;
use sgsim::model::*;
use std::net::IpAddr;

pub const ADDRS: [&str; 11] = [
    "10.0.0.1",
    "10.0.0.2",
    "10.0.0.3",
    "10.0.1.4",
    "192.168.1.10",
    "47.0.0.10",
    "47.0.0.11",
    "8.8.8.8",
    "2001:db8::1",
    "2001:db8::2",
    "2001:db8:1::3",
];
pub const NETS: [&str; 10] = [
    "10.0.0.0/24",
    "10.0.0.1/32",
    "0.0.0.0/0",
    "47.0.0.0/8",
    "10.0.0.0/8",
    "::/0",
    "2001:db8::/64",
    "2001:db8::1/128",
    "192.168.1.10/32",
    "2001:db8::/32",
];
pub const GROUPS: [&str; 4] = ["sg-a", "sg-b", "sg-c", "sg-d"];
pub const VPCS: [Option<&str>; 3] = [None, Some("vpc-1"), Some("vpc-2")];
pub const PORTS: [u16; 6] = [1, 22, 80, 443, 1024, 65535];

pub fn addr(i: usize) -> IpAddr {
    ADDRS[i % ADDRS.len()].parse().unwrap()
}

pub fn net(i: usize) -> ipnet::IpNet {
    NETS[i % NETS.len()].parse().unwrap()
}

#[derive(Debug, Clone)]
pub struct RuleSpec {
    pub egress: bool,
    pub proto: usize,
    pub ports: Option<(usize, usize)>,
    pub sports: Option<(usize, usize)>,
    pub peer: (u8, usize),
    pub local: Option<usize>,
    pub internet: bool,
    pub drop: bool,
    pub priority: u8,
    pub id: u16,
}

pub fn rule_spec() -> impl Strategy<Value = RuleSpec> {
    (
        (
            any::<bool>(),
            prop_oneof![3 => Just(0usize), 2 => Just(5usize), 2 => 0usize..6],
        ),
        prop::option::weighted(0.4, (0usize..6, 0usize..6)),
        prop::option::weighted(0.1, (0usize..6, 0usize..6)),
        (0u8..3, 0usize..10),
        prop::option::weighted(0.25, 0usize..10),
        (any::<bool>(), prop::bool::weighted(0.3), 1u8..4, 0u16..1000),
    )
        .prop_map(
            |((egress, proto), ports, sports, peer, local, (internet, drop, priority, id))| {
                RuleSpec {
                    egress,
                    proto,
                    ports,
                    sports,
                    peer,
                    local,
                    internet,
                    drop,
                    priority,
                    id,
                }
            },
        )
}

pub fn range(p: (usize, usize)) -> PortRange {
    let (a, b) = (PORTS[p.0], PORTS[p.1]);
    PortRange::new(a.min(b), a.max(b)).unwrap()
}

pub fn build_rule(s: &RuleSpec, n: usize) -> Rule {
    let protocol = [
        IpProtocol::Tcp,
        IpProtocol::Udp,
        IpProtocol::Icmp,
        IpProtocol::Icmpv6,
        IpProtocol::Gre,
        IpProtocol::All,
    ][s.proto];
    let peer = match s.peer.0 {
        0 => Peer::Cidr(net(s.peer.1)),
        1 => Peer::Group {
            id: GROUPS[s.peer.1 % GROUPS.len()].to_string(),
            owner_account: None,
            owner_id: None,
        },
        _ => Peer::PrefixList(["pl-4", "pl-6", "pl-missing"][s.peer.1 % 3].to_string()),
    };
    Rule {
        // Ids: unique, in an order unrelated to the rule's position.
        id: format!("sgr-{:04}-{n}", s.id),
        direction: if s.egress {
            Direction::Egress
        } else {
            Direction::Ingress
        },
        protocol,
        port_range: s.ports.map(range),
        source_port_range: s.sports.map(range),
        peer,
        local_cidr: s.local.map(net),
        nic_type: if s.internet {
            NicType::Internet
        } else {
            NicType::Intranet
        },
        policy: if s.drop { Policy::Drop } else { Policy::Accept },
        priority: s.priority,
        description: String::new(),
        create_time: String::new(),
    }
}

#[derive(Debug, Clone)]
pub struct GroupSpec {
    pub enterprise: bool,
    pub vpc: usize,
    pub inner_accept: bool,
    pub rules: Vec<RuleSpec>,
}

#[derive(Debug, Clone)]
pub struct EniSpec {
    pub groups: Vec<usize>,
    pub ips: Vec<usize>,
}

#[derive(Debug, Clone)]
pub struct InstanceSpec {
    pub vpc: usize,
    pub primary: EniSpec,
    pub public: Option<usize>,
    pub secondary: Option<EniSpec>,
}

pub fn eni_spec() -> impl Strategy<Value = EniSpec> {
    (
        prop::collection::vec(0usize..4, 0..3),
        prop::collection::vec(prop_oneof![4 => 0usize..5, 1 => 0usize..11], 1..3),
    )
        .prop_map(|(groups, ips)| EniSpec { groups, ips })
}

pub fn world_spec() -> impl Strategy<Value = (Vec<GroupSpec>, Vec<InstanceSpec>, Vec<usize>)> {
    let group = (
        prop::bool::weighted(0.3),
        0usize..3,
        any::<bool>(),
        prop::collection::vec(rule_spec(), 0..8),
    )
        .prop_map(|(enterprise, vpc, inner_accept, rules)| GroupSpec {
            enterprise,
            vpc,
            inner_accept,
            rules,
        });
    let instance = (
        0usize..3,
        eni_spec(),
        prop::option::of(5usize..8),
        prop::option::weighted(0.3, eni_spec()),
    )
        .prop_map(|(vpc, primary, public, secondary)| InstanceSpec {
            vpc,
            primary,
            public,
            secondary,
        });
    (
        prop::collection::vec(group, 1..5),
        prop::collection::vec(instance, 1..5),
        prop::collection::vec(0usize..10, 0..4),
    )
}

pub fn build_world(groups: &[GroupSpec], instances: &[InstanceSpec], pl: &[usize]) -> World {
    let mut w = World {
        vpcs: vec![Vpc { id: "vpc-1".into() }, Vpc { id: "vpc-2".into() }],
        ..World::default()
    };
    let entries = |fam: Family| {
        let mut v: Vec<PrefixListEntry> = pl
            .iter()
            .map(|&i| net(i))
            .filter(|n| Family::of_net(n) == fam)
            .map(|cidr| PrefixListEntry {
                cidr,
                description: String::new(),
            })
            .collect();
        v.dedup_by_key(|e| e.cidr);
        v
    };
    for (id, fam) in [("pl-4", Family::V4), ("pl-6", Family::V6)] {
        w.prefix_lists.push(PrefixList {
            id: id.into(),
            name: id.into(),
            description: String::new(),
            address_family: fam,
            max_entries: 10,
            entries: entries(fam),
            create_time: String::new(),
        });
    }
    let mut n = 0;
    for (i, g) in groups.iter().enumerate() {
        let rules = g
            .rules
            .iter()
            .map(|r| {
                n += 1;
                build_rule(r, n)
            })
            .collect();
        w.security_groups.push(SecurityGroup {
            id: GROUPS[i].into(),
            name: String::new(),
            description: String::new(),
            group_type: if g.enterprise {
                GroupType::Enterprise
            } else {
                GroupType::Normal
            },
            vpc_id: VPCS[g.vpc].map(String::from),
            owner_id: DEFAULT_ACCOUNT.into(),
            owner_account: None,
            inner_access_policy: if g.inner_accept && !g.enterprise {
                InnerAccessPolicy::Accept
            } else {
                InnerAccessPolicy::Drop
            },
            service_managed: false,
            create_time: String::new(),
            rules,
        });
    }
    let group_ids = |e: &EniSpec| {
        let mut v: Vec<String> = e
            .groups
            .iter()
            .map(|&g| GROUPS[g % groups.len()].to_string())
            .collect();
        v.dedup();
        v
    };
    let ips = |e: &EniSpec| {
        let mut v: Vec<IpAddr> = e.ips.iter().map(|&i| addr(i)).collect();
        v.dedup();
        v
    };
    for (i, inst) in instances.iter().enumerate() {
        w.instances.push(Instance {
            id: format!("i-{i}"),
            vpc_id: VPCS[inst.vpc].map(String::from),
            security_groups: group_ids(&inst.primary),
            private_ips: ips(&inst.primary),
            public_ip: inst.public.map(addr).map(|a| match a {
                IpAddr::V4(a) => a,
                IpAddr::V6(_) => unreachable!("public addresses are drawn from the IPv4 ones"),
            }),
            network_interfaces: inst
                .secondary
                .iter()
                .map(|e| NetworkInterface {
                    id: format!("eni-{i}"),
                    security_groups: group_ids(e),
                    private_ips: ips(e),
                })
                .collect(),
        });
    }
    w
}

pub fn packets() -> impl Strategy<Value = Vec<(Packet, usize, bool)>> {
    prop::collection::vec(
        (
            prop::sample::select(&[6u8, 6, 6, 17, 1, 58, 47][..]),
            prop_oneof![2 => 0usize..5, 1 => 0usize..11],
            prop_oneof![2 => 0usize..5, 1 => 0usize..11],
            prop::sample::select(&PORTS[..]),
            prop::sample::select(&PORTS[..]),
            0usize..15,
            any::<bool>(),
        )
            .prop_filter_map("one family", |(proto, s, d, sp, dp, to, egress)| {
                let (src, dst) = (addr(s), addr(d));
                Packet::new(proto, src, sp, dst, dp)
                    .ok()
                    .map(|p| (p, to, egress))
            }),
        1..30,
    )
}
