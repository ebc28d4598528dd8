//! Speed of the analysis (issue item 8), printed; run in release:
//! `cargo test --release --test it analysis::speed -- --ignored --nocapture`.
//! `SGSIM_CLASSBENCH_DIR` (default `../shared/data/classbench`) holds the ClassBench sets.

use sgsim::analysis::policy::{rules_policy, TargetId, WorldIndex};
use sgsim::analysis::{audit, diff, lint};
use sgsim::engine::rule::EngineRule;
use sgsim::model::*;
use std::time::Instant;

/// An API rule of the same shape as a generated engine rule.
fn api_rule(r: &EngineRule) -> Rule {
    let protocol = match (r.protocol, r.family) {
        (Some(6), _) => IpProtocol::Tcp,
        (Some(17), _) => IpProtocol::Udp,
        (Some(1), _) => IpProtocol::Icmp,
        (Some(58), _) => IpProtocol::Icmpv6,
        (Some(47), _) => IpProtocol::Gre,
        _ => IpProtocol::All,
    };
    let ports = |p: PortRange| PortRange::new(p.start().max(1), p.end().max(1));
    let has_ports = protocol.has_ports();
    let peer = r
        .peer
        .first()
        .copied()
        .unwrap_or_else(|| "0.0.0.0/0".parse().unwrap());
    Rule {
        id: r.id.clone(),
        direction: Direction::Ingress,
        protocol,
        port_range: if has_ports { ports(r.dst_ports) } else { None },
        source_port_range: if has_ports && !r.src_ports.is_any() {
            ports(r.src_ports)
        } else {
            None
        },
        local_cidr: r
            .local
            .filter(|l| Family::of_net(l) == Family::of_net(&peer)),
        peer: Peer::Cidr(peer),
        nic_type: NicType::Intranet,
        policy: r.policy,
        priority: r.rank.clamp(1, 100) as u8,
        description: String::new(),
        create_time: String::new(),
    }
}

/// One ENI in five groups holding `n` rules between them.
fn world_with(n: usize, seed: u64) -> World {
    let rules: Vec<Rule> = sgsim::generate::generate(n, seed)
        .iter()
        .map(api_rule)
        .collect();
    let mut w = World {
        vpcs: vec![Vpc { id: "vpc-1".into() }],
        ..World::default()
    };
    let per = n.div_ceil(5).max(1);
    for (i, chunk) in rules.chunks(per).enumerate() {
        w.security_groups.push(SecurityGroup {
            id: format!("sg-{i}"),
            name: String::new(),
            description: String::new(),
            group_type: GroupType::Normal,
            vpc_id: Some("vpc-1".into()),
            owner_id: DEFAULT_ACCOUNT.into(),
            owner_account: None,
            inner_access_policy: InnerAccessPolicy::Accept,
            service_managed: false,
            create_time: String::new(),
            rules: chunk.to_vec(),
        });
    }
    w.instances.push(Instance {
        id: "i-big".into(),
        vpc_id: Some("vpc-1".into()),
        security_groups: w.security_groups.iter().map(|g| g.id.clone()).collect(),
        private_ips: vec!["10.0.1.5".parse().unwrap(), "2001:db8::5".parse().unwrap()],
        public_ip: Some("47.0.0.5".parse().unwrap()),
        network_interfaces: Vec::new(),
    });
    w
}

#[test]
fn small_world_lints() {
    // Speed is measured by the ignored tests below, never asserted.
    let w = world_with(100, 3);
    let f = lint::lint(&w, &[]).unwrap();
    assert!(!f.is_empty());
}

#[test]
#[ignore]
fn eni_with_1000_rules() {
    let w = world_with(1000, 7);
    let t = Instant::now();
    let f = lint::lint(&w, &[]).unwrap();
    eprintln!(
        "lint, ENI with 1000 pooled rules: {:?} ({} findings)",
        t.elapsed(),
        f.len()
    );
    let t = Instant::now();
    let rows = audit::audit(&w, &[], &audit::Source::Internet, Direction::Ingress).unwrap();
    eprintln!(
        "audit from the internet: {:?} ({} rows)",
        t.elapsed(),
        rows.len()
    );
    let mut w2 = w.clone();
    if let Some(g) = w2.security_groups.first_mut() {
        g.rules.truncate(g.rules.len() - 10);
    }
    let t = Instant::now();
    let rows = diff::diff(&w, &w2, &[], false).unwrap();
    eprintln!(
        "diff, 10 rules removed: {:?} ({} rows)",
        t.elapsed(),
        rows.len()
    );
    let t = Instant::now();
    let idx = WorldIndex::new(&w);
    let p = idx
        .policy(&TargetId::Eni("i-big".into()), Direction::Ingress)
        .unwrap();
    let boxes: usize = p.pieces().map(|(_, r)| r.boxes().len()).sum();
    eprintln!("policy alone: {:?} ({boxes} boxes)", t.elapsed());
}

#[test]
#[ignore]
fn classbench_10k_as_one_group() {
    let dir = std::env::var("SGSIM_CLASSBENCH_DIR")
        .unwrap_or_else(|_| "../shared/data/classbench".into());
    let empty = World::default();
    let idx = WorldIndex::new(&empty);
    let names = std::env::var("SGSIM_CLASSBENCH_SETS")
        .unwrap_or_else(|_| "fw1_10k,acl2_10k,ipc1_10k".into());
    for name in names.split(',') {
        let path = std::path::Path::new(&dir).join(name);
        let Ok(rules) = sgsim::classbench::load_filters(&path) else {
            eprintln!("{name}: not found under {dir}");
            continue;
        };
        let n = rules.len();
        let t = Instant::now();
        let p = rules_policy(rules, Direction::Ingress);
        let boxes: usize = p.pieces().map(|(_, r)| r.boxes().len()).sum();
        let tp = t.elapsed();
        // The policy's figures first: a run stopped during the lint still reports them.
        eprintln!("{name}: {n} rules, policy {tp:?} ({boxes} boxes)");
        let t = Instant::now();
        let f = lint::lint_policy(&idx, &p).unwrap();
        let shadowed = f.iter().filter(|f| f.kind == "shadowed").count();
        let redundant = f.iter().filter(|f| f.kind == "redundant").count();
        eprintln!(
            "{name}: lint {:?} ({shadowed} shadowed, {redundant} redundant)",
            t.elapsed()
        );
    }
}

#[test]
#[ignore]
fn lint_of_10000_instance_worlds() {
    use sgsim::generate_world::{world, Shape};
    for shape in [Shape::ManyGroups, Shape::OneGroup] {
        let n: usize = std::env::var("SGSIM_INSTANCES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(10_000);
        let w = world(shape, n, 1);
        let t = Instant::now();
        let f = lint::lint(&w, &[]).unwrap();
        eprintln!(
            "lint, {} world of {n} instances: {:?} ({} findings)",
            shape.name(),
            t.elapsed(),
            f.len()
        );
    }
}
