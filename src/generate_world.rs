//! Seeded worlds of real size, for `sgsim bench --generate-world` and the large-world tests:
//!
//! * [`Shape::OneGroup`]: `n` instances (10,000 by default) in one basic group with inner
//!   access Accept and one rule;
//! * [`Shape::ManyGroups`]: `n` instances each in 1–3 of 100 basic groups of 20 rules, half
//!   of which name another group as their peer;
//!
//! with [`batch_lines`], packets for `check --batch` aimed at the instances, and
//! [`scenario_text`], a scenario of the many-groups shape whose steps add rules through the
//! API and check packets whose answers follow from how the world is built.
//!
//! Addresses: instance `k` has the private address `10.1.0.0 + k + 1`; one in ten has a
//! public address in `47.0.0.0/8`; CIDR peers are `/24`s of `172.16.0.0/12`. The same
//! `(shape, n, seed)` gives the same world on every machine.

use crate::generate::SplitMix64;
use crate::model::{
    GroupType, InnerAccessPolicy, Instance, IpProtocol, NicType, Peer, Policy, PortRange, Rule,
    SecurityGroup, Vpc, World,
};
use std::net::{IpAddr, Ipv4Addr};

/// The shape of a generated world.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One basic group, inner access Accept, one rule; every instance in it.
    OneGroup,
    /// 100 groups of 20 rules (half with group peers); each instance in 1–3 of them.
    ManyGroups,
}

impl Shape {
    /// `one-group` or `many-groups`.
    pub fn parse(s: &str) -> Option<Shape> {
        match s {
            "one-group" => Some(Shape::OneGroup),
            "many-groups" => Some(Shape::ManyGroups),
            _ => None,
        }
    }

    /// The shape's name as [`Shape::parse`] reads it.
    pub fn name(self) -> &'static str {
        match self {
            Shape::OneGroup => "one-group",
            Shape::ManyGroups => "many-groups",
        }
    }
}

/// Groups of the many-groups shape.
pub const GROUPS: usize = 100;
/// Rules per group of the many-groups shape.
pub const RULES_PER_GROUP: usize = 20;
/// Destination ports of the many-groups rules, one per rule of a group (53 is UDP).
const PORTS: [u16; RULES_PER_GROUP] = [
    22, 80, 443, 3306, 5432, 6379, 8080, 8443, 9000, 9090, 25, 53, 110, 143, 389, 636, 1433, 2049,
    27017, 11211,
];
/// The region of generated worlds.
pub const REGION: &str = "cn-hangzhou";

fn numbered(prefix: &str, n: usize) -> String {
    format!("{prefix}{n:012}")
}

/// The private address of instance `k` (0-based).
pub fn instance_ip(k: usize) -> IpAddr {
    let base = u32::from(Ipv4Addr::new(10, 1, 0, 0));
    IpAddr::V4(Ipv4Addr::from(base.wrapping_add(
        u32::try_from(k).unwrap_or(u32::MAX).wrapping_add(1),
    )))
}

fn rule(id: usize, ingress: bool, port: u16, peer: Peer, policy: Policy, priority: u8) -> Rule {
    Rule {
        id: numbered("sgr-", id),
        direction: if ingress {
            crate::model::Direction::Ingress
        } else {
            crate::model::Direction::Egress
        },
        protocol: if port == 53 {
            IpProtocol::Udp
        } else {
            IpProtocol::Tcp
        },
        port_range: PortRange::new(port, port),
        source_port_range: None,
        peer,
        local_cidr: None,
        nic_type: NicType::Intranet,
        policy,
        priority,
        description: String::new(),
        create_time: String::new(),
    }
}

fn group(world: &World, n: usize, inner: InnerAccessPolicy, rules: Vec<Rule>) -> SecurityGroup {
    SecurityGroup {
        id: numbered("sg-", n),
        name: String::new(),
        description: String::new(),
        group_type: GroupType::Normal,
        vpc_id: Some("vpc-1".into()),
        owner_id: world.account_id.clone(),
        owner_account: None,
        inner_access_policy: inner,
        service_managed: false,
        create_time: String::new(),
        rules,
    }
}

/// Generates a world of a shape with `n` instances.
pub fn world(shape: Shape, n: usize, seed: u64) -> World {
    let mut r = SplitMix64::new(seed ^ 0x574f_524c_4400);
    let mut w = World {
        region_id: REGION.into(),
        ..World::default()
    };
    w.vpcs.push(Vpc { id: "vpc-1".into() });
    let mut next_rule = 0usize;
    let mut rule_id = || {
        next_rule += 1;
        next_rule
    };
    match shape {
        Shape::OneGroup => {
            let net = ipnet::Ipv4Net::new(Ipv4Addr::new(192, 168, 0, 0), 16).unwrap_or_default();
            let peer = Peer::Cidr(ipnet::IpNet::V4(net));
            let rules = vec![rule(rule_id(), true, 22, peer, Policy::Accept, 1)];
            let g = group(&w, 1, InnerAccessPolicy::Accept, rules);
            w.security_groups.push(g);
        }
        Shape::ManyGroups => {
            for gi in 0..GROUPS {
                let mut rules = Vec::with_capacity(RULES_PER_GROUP);
                for (j, &port) in PORTS.iter().enumerate() {
                    let ingress = j % 4 != 3;
                    let peer = if j % 2 == 0 {
                        let other = (gi + 1 + r.below(GROUPS as u64 - 1) as usize) % GROUPS;
                        Peer::Group {
                            id: numbered("sg-", other + 1),
                            owner_account: None,
                            owner_id: None,
                        }
                    } else {
                        let net = Ipv4Addr::new(172, 16 + r.below(16) as u8, r.below(256) as u8, 0);
                        Peer::Cidr(ipnet::IpNet::V4(
                            ipnet::Ipv4Net::new(net, 24).unwrap_or_default(),
                        ))
                    };
                    let policy = if r.percent(20) {
                        Policy::Drop
                    } else {
                        Policy::Accept
                    };
                    let priority = r.range(2, 100) as u8;
                    rules.push(rule(rule_id(), ingress, port, peer, policy, priority));
                }
                let inner = if gi % 2 == 0 {
                    InnerAccessPolicy::Accept
                } else {
                    InnerAccessPolicy::Drop
                };
                let g = group(&w, gi + 1, inner, rules);
                w.security_groups.push(g);
            }
        }
    }
    for k in 0..n {
        let groups: Vec<String> = match shape {
            Shape::OneGroup => vec![numbered("sg-", 1)],
            Shape::ManyGroups => {
                let mut gs: Vec<String> = Vec::new();
                let want = 1 + r.below(3) as usize;
                while gs.len() < want {
                    let g = numbered("sg-", 1 + r.below(GROUPS as u64) as usize);
                    if !gs.contains(&g) {
                        gs.push(g);
                    }
                }
                gs
            }
        };
        let public_ip = (k % 10 == 0).then(|| {
            Ipv4Addr::from(u32::from(Ipv4Addr::new(47, 0, 0, 0)).wrapping_add(k as u32 + 1))
        });
        w.instances.push(Instance {
            id: numbered("i-", k + 1),
            vpc_id: Some("vpc-1".into()),
            security_groups: groups,
            private_ips: vec![instance_ip(k)],
            public_ip,
            network_interfaces: Vec::new(),
        });
    }
    w
}

/// `n` lines for `check --batch` on a generated world of `instances` instances: packets to
/// (ingress) or from (egress, one in five) a random instance, the other end another instance
/// or an address of `172.16.0.0/12`, on the ports the rules name.
pub fn batch_lines(instances: usize, n: usize, seed: u64) -> Vec<String> {
    let mut r = SplitMix64::new(seed ^ 0x4241_5443_4800);
    let count = instances.max(1) as u64;
    (0..n)
        .map(|_| {
            let local = instance_ip(r.below(count) as usize);
            let peer = if r.percent(50) {
                instance_ip(r.below(count) as usize)
            } else {
                IpAddr::V4(Ipv4Addr::new(
                    172,
                    16 + r.below(16) as u8,
                    r.below(256) as u8,
                    1 + r.below(254) as u8,
                ))
            };
            let port = PORTS
                .get(r.below(PORTS.len() as u64) as usize)
                .copied()
                .unwrap_or(22);
            let proto = if port == 53 { "udp" } else { "tcp" };
            let sport = 1024 + r.below(60000) as u16;
            if r.percent(20) {
                format!("{proto} {local}:{sport} -> {peer}:{port} egress")
            } else {
                format!("{proto} {peer}:{sport} -> {local}:{port}")
            }
        })
        .collect()
}

/// A scenario (SPEC §5) on the many-groups world of `instances` instances with `steps`
/// steps: every fourth step adds an ingress rule (priority 1, its own port, from
/// `198.18.0.0/15`) to the first group of a random instance; the three steps after it check
/// that a packet from `198.18.0.0/15` to that instance on that port is accepted by the new
/// rule, that the same packet from `203.0.113.5` falls to the default drop (no rule of the
/// world names that address), and that the instance's egress to `203.0.113.5` on that port
/// falls to the basic groups' default accept.
pub fn scenario_text(instances: usize, steps: usize, seed: u64) -> Result<String, String> {
    let w = world(Shape::ManyGroups, instances, seed);
    let mut r = SplitMix64::new(seed ^ 0x5343_454e_0000);
    let body = crate::world_file::to_string(&w, crate::world_file::Format::Toml)?;
    let mut out = format!(
        "name = \"generated: {instances} instances, {steps} steps\"\n\
         description = \"sgsim's generated large-world scenario (seed {seed})\"\n\n{body}\n"
    );
    let mut rule_no = GROUPS * RULES_PER_GROUP;
    let mut k = 0usize;
    let (mut target, mut port) = (String::new(), 0u16);
    let mut ip = instance_ip(0);
    for s in 0..steps {
        match s % 4 {
            0 => {
                let i = r.below(instances.max(1) as u64) as usize;
                let Some(inst) = w.instances.get(i) else {
                    break;
                };
                let Some(g) = inst.security_groups.first() else {
                    break;
                };
                target = inst.id.clone();
                ip = instance_ip(i);
                port = 30000 + k as u16;
                k += 1;
                rule_no += 1;
                out.push_str(&format!(
                    "[[steps]]\ncall = \"Action=AuthorizeSecurityGroup&RegionId={REGION}\
                     &SecurityGroupId={g}&Permissions.1.SourceCidrIp=198.18.0.0/15\
                     &Permissions.1.IpProtocol=TCP&Permissions.1.PortRange={port}/{port}\
                     &Permissions.1.Priority=1&Permissions.1.Policy=Accept\"\nexpect = \"ok\"\n\n"
                ));
            }
            1 => out.push_str(&format!(
                "[[steps]]\npacket = \"tcp 198.18.{}.{}:40000 -> {ip}:{port}\"\nto = \"{target}\"\n\
                 expect = \"accept\"\nexpect_rule = \"{}\"\n\n",
                r.below(256),
                1 + r.below(254),
                numbered("sgr-", rule_no)
            )),
            2 => out.push_str(&format!(
                "[[steps]]\npacket = \"tcp 203.0.113.5:40000 -> {ip}:{port}\"\n\
                 expect = \"drop\"\nexpect_reason = \"default\"\n\n"
            )),
            _ => out.push_str(&format!(
                "[[steps]]\npacket = \"tcp {ip}:40000 -> 203.0.113.5:{port}\"\n\
                 direction = \"egress\"\nexpect = \"accept\"\nexpect_reason = \"default\"\n\n"
            )),
        }
    }
    Ok(out)
}
