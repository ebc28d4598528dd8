//! Online updates against rebuilds: long random sequences of inserts and removals on a
//! [`LiveMatcher`], checked after every step against the linear scan of the live rules (in
//! handle order) — which is what a rebuild compiles — on random packets and on packets at
//! the corners of the rules, across the overlay folds. `SGSIM_PROPTEST_CASES` raises the case
//! count (default 64).

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use proptest::prelude::*;
use sgsim::engine::matcher::{LiveMatcher, Matcher};
use sgsim::engine::rule::{linear_scan, linear_scan_dir, EngineRule};
use sgsim::generate::SplitMix64;
use sgsim::model::{Family, Packet, Policy, PortRange};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

fn cases() -> u32 {
    std::env::var("SGSIM_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

const V4_BASES: [u32; 5] = [0x0A00_0000, 0x0A00_0001, 0x0A01_0000, 0xC0A8_0001, 0];
const V4_LENS: [u8; 6] = [0, 8, 16, 24, 31, 32];
const V6_BASES: [u128; 3] = [0x2001_0db8_0000_0000_0000_0000_0000_0001, 0, u128::MAX];
const V6_LENS: [u8; 4] = [0, 32, 64, 128];
const PORTS: [u16; 6] = [0, 22, 80, 443, 1024, 65535];

fn v4_addr() -> impl Strategy<Value = u32> {
    (prop::sample::select(&V4_BASES[..]), 0u32..4).prop_map(|(b, d)| b ^ d)
}

fn v6_addr() -> impl Strategy<Value = u128> {
    (prop::sample::select(&V6_BASES[..]), 0u128..4).prop_map(|(b, d)| b ^ d)
}

fn any_net() -> BoxedStrategy<IpNet> {
    prop_oneof![
        4 => (v4_addr(), prop::sample::select(&V4_LENS[..]))
            .prop_map(|(a, l)| IpNet::V4(Ipv4Net::new(Ipv4Addr::from(a), l).unwrap().trunc())),
        1 => (v6_addr(), prop::sample::select(&V6_LENS[..]))
            .prop_map(|(a, l)| IpNet::V6(Ipv6Net::new(Ipv6Addr::from(a), l).unwrap().trunc())),
    ]
    .boxed()
}

fn ports() -> impl Strategy<Value = PortRange> {
    prop_oneof![
        2 => Just(PortRange::ANY),
        3 => (prop::sample::select(&PORTS[..]), prop::sample::select(&PORTS[..]))
            .prop_map(|(a, b)| PortRange::new(a.min(b), a.max(b)).unwrap()),
    ]
}

fn rule() -> impl Strategy<Value = EngineRule> {
    (
        prop::sample::select(&["a", "b", "ab", "sgr-1", "sgr-2"][..]),
        1u32..6,
        prop::bool::ANY,
        prop::option::of(prop::sample::select(&[6u8, 17, 1][..])),
        prop::option::of(prop_oneof![Just(Family::V4), Just(Family::V6)]),
        ports(),
        ports(),
        prop_oneof![6 => prop::collection::vec(any_net(), 1..2), 1 => prop::collection::vec(any_net(), 0..4)],
        prop::option::of(any_net()),
    )
        .prop_map(
            |(id, rank, drop, protocol, family, dst, src, peer, local)| EngineRule {
                id: id.to_string(),
                group: "sg-x".to_string(),
                rank,
                policy: if drop { Policy::Drop } else { Policy::Accept },
                protocol,
                family,
                dst_ports: dst,
                src_ports: src,
                peer,
                local,
            },
        )
}

fn packet() -> impl Strategy<Value = Packet> {
    let addrs = prop_oneof![
        4 => (v4_addr(), v4_addr()).prop_map(|(a, b)| (
            IpAddr::V4(Ipv4Addr::from(a)),
            IpAddr::V4(Ipv4Addr::from(b))
        )),
        1 => (v6_addr(), v6_addr()).prop_map(|(a, b)| (
            IpAddr::V6(Ipv6Addr::from(a)),
            IpAddr::V6(Ipv6Addr::from(b))
        )),
    ];
    (
        prop::sample::select(&[6u8, 17, 1, 58][..]),
        addrs,
        prop::sample::select(&PORTS[..]),
        prop::sample::select(&PORTS[..]),
    )
        .prop_map(|(protocol, (src, dst), sp, dp)| Packet::new(protocol, src, sp, dst, dp).unwrap())
}

/// One step: insert a rule, or remove the live rule at a position (modulo the live count).
#[derive(Debug, Clone)]
enum Op {
    Insert(EngineRule),
    Remove(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => rule().prop_map(Op::Insert),
        1 => (0usize..1000).prop_map(Op::Remove),
    ]
}

/// The live matcher's answer against the scan of its live rules in handle order, both
/// directions.
fn check(m: &LiveMatcher, packets: &[Packet]) -> Result<(), TestCaseError> {
    let live: Vec<(usize, &EngineRule)> = m.live_rules().collect();
    let rules: Vec<EngineRule> = live.iter().map(|(_, r)| (*r).clone()).collect();
    for p in packets {
        for (peer, local) in [(p.src(), p.dst()), (p.dst(), p.src())] {
            let want = linear_scan_dir(&rules, p, peer, local).map(|i| live[i].0);
            prop_assert_eq!(m.lookup_dir(p, peer, local), want, "{:?}", p);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn long_update_sequences_equal_rebuilds(
        initial in prop::collection::vec(rule(), 0..40),
        ops in prop::collection::vec(op(), 50..200),
        packets in prop::collection::vec(packet(), 12),
    ) {
        let mut m = LiveMatcher::new(initial).unwrap();
        for (step, op) in ops.into_iter().enumerate() {
            match op {
                Op::Insert(r) => {
                    let before = m.len();
                    let h = m.insert(r).unwrap();
                    prop_assert_eq!(m.len(), before + 1);
                    prop_assert!(m.live_rules().any(|(x, _)| x == h));
                }
                Op::Remove(k) => {
                    let live: Vec<usize> = m.live_rules().map(|(h, _)| h).collect();
                    if let Some(&h) = live.get(k % live.len().max(1)) {
                        prop_assert!(m.remove(h).unwrap());
                        prop_assert!(!m.remove(h).unwrap(), "removed twice");
                    }
                }
            }
            if step % 3 == 0 {
                check(&m, &packets)?;
            }
        }
        check(&m, &packets)?;
        // A fresh build of the live rules answers the same.
        let rules: Vec<EngineRule> = m.live_rules().map(|(_, r)| r.clone()).collect();
        let fresh = Matcher::compile(&rules).unwrap();
        let handles: Vec<usize> = m.live_rules().map(|(h, _)| h).collect();
        for p in &packets {
            prop_assert_eq!(m.lookup(p), fresh.lookup(p).map(|i| handles[i]));
        }
    }
}

/// A generated 3,000-rule set through 400 random updates (several folds), checked on aimed
/// packets after every 25th update and at the end.
#[test]
fn generated_set_through_many_updates() {
    let rules = sgsim::generate::generate(3000, 5);
    let extra = sgsim::generate::generate(400, 6);
    let packets = sgsim::generate::packets(&rules, 200, 7);
    let mut m = LiveMatcher::new(rules).unwrap();
    let mut r = SplitMix64::new(8);
    for (i, new) in extra.into_iter().enumerate() {
        if r.percent(50) {
            m.insert(new).unwrap();
        } else {
            let live: Vec<usize> = m.live_rules().map(|(h, _)| h).collect();
            let h = live[r.below(live.len() as u64) as usize];
            assert!(m.remove(h).unwrap());
        }
        if i % 25 == 0 || i == 399 {
            let live: Vec<(usize, &EngineRule)> = m.live_rules().collect();
            let scan: Vec<EngineRule> = live.iter().map(|(_, r)| (*r).clone()).collect();
            for p in &packets {
                assert_eq!(
                    m.lookup(p),
                    linear_scan(&scan, p).map(|k| live[k].0),
                    "step {i}: {p:?}"
                );
            }
        }
    }
    assert!(m.rebuilds() >= 2, "{} rebuilds", m.rebuilds());
}
