//! Online updates against rebuilds: long random sequences of inserts and removals on a
//! [`LiveMatcher`], checked after every step against the linear scan of the live rules (in
//! handle order) — which is what a rebuild compiles — on random packets and on packets at
//! the corners of the rules, across the overlay folds. `SGSIM_PROPTEST_CASES` raises the case
//! count (default 64).

use crate::support::config;
use crate::support::rules::{packet, rule, RuleSpace};
use proptest::prelude::*;
use sgsim::engine::matcher::{LiveMatcher, Matcher};
use sgsim::engine::rule::{linear_scan, linear_scan_dir, EngineRule};
use sgsim::generate::SplitMix64;
use sgsim::model::Packet;

/// Fewer addresses, lengths and ports than the matcher's own test: updates overlap often.
static SPACE: RuleSpace = RuleSpace {
    v4_bases: &[0x0A00_0000, 0x0A00_0001, 0x0A01_0000, 0xC0A8_0001, 0],
    v4_lens: &[0, 8, 16, 24, 31, 32],
    v6_bases: &[0x2001_0db8_0000_0000_0000_0000_0000_0001, 0, u128::MAX],
    v6_lens: &[0, 32, 64, 128],
    net_weights: (4, 1),
    packet_weights: (4, 1),
    ports: &[0, 22, 80, 443, 1024, 65535],
    ids: &["a", "b", "ab", "sgr-1", "sgr-2"],
    rank_end: 6,
    rule_protocols: &[6, 17, 1],
    packet_protocols: &[6, 17, 1, 58],
    many_weight: 1,
    many_peers: 4,
};

/// One step: insert a rule, or remove the live rule at a position (modulo the live count).
#[derive(Debug, Clone)]
enum Op {
    Insert(EngineRule),
    Remove(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => rule(&SPACE).prop_map(Op::Insert),
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
    #![proptest_config(config(64))]

    #[test]
    fn long_update_sequences_equal_rebuilds(
        initial in prop::collection::vec(rule(&SPACE), 0..40),
        ops in prop::collection::vec(op(), 50..200),
        packets in prop::collection::vec(packet(&SPACE), 12),
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
