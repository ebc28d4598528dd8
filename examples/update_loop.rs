//! Times single-rule updates of a [`LiveMatcher`] (see `benches/README.md`).
//!
//! ```text
//! cargo run --release --example update_loop -- [FILTERS | gen:N] [UPDATES] [TRACE]
//! cargo run --release --example update_loop -- world:RULES [INSTANCES] [CALLS]
//! ```
//!
//! Builds the set (a ClassBench file, or `gen:N` generated rules, default `gen:10000`), then
//! makes `UPDATES` (default 4000) alternating updates: remove a random live rule, insert a
//! rule (a copy of a random original rule under a new id, at a random rank). Each update is
//! timed alone; prints the median, 90th percentile, maximum and mean in microseconds, the
//! rebuilds, and (with `TRACE`, else generated packets) the lookup rate with an empty and
//! with a half-full overlay, both checked against a rebuild.
//!
//! `world:RULES`: the generated many-groups world (`INSTANCES` instances, default 10,000)
//! plus a group `sg-big` of `RULES` ingress rules holding the first 100 instances; times
//! (CPU time of the thread) `WorldMatcher::update` after nothing changed, and after `CALLS`
//! (default 400) alternating calls on `sg-big` (revoke a random rule, authorize a new one),
//! with what each update did (patched / compiled sets), a fresh compile of the world and
//! of the big group's set for comparison, and decisions per second to `sg-big`'s members
//! with 0–32 changes pending in its overlay; every figure checked against the reference.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use sgsim::classbench::{load_filters, load_trace};
use sgsim::engine::matcher::{LiveMatcher, Matcher};
use sgsim::engine::rule::EngineRule;
use sgsim::generate::SplitMix64;
use sgsim::model::Packet;
use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

/// The process's on-CPU time (all threads): the world compile runs on rayon's threads.
#[path = "support/cpu.rs"]
mod cpu;
use cpu::process_cpu_ns as cpu_ns;

fn rate(m: &LiveMatcher, packets: &[Packet]) -> f64 {
    let t = Instant::now();
    let mut n = 0usize;
    while t.elapsed().as_millis() < 200 {
        for p in packets {
            black_box(m.lookup(black_box(p)));
        }
        n += packets.len();
    }
    n as f64 / t.elapsed().as_secs_f64() / 1e6
}

fn agree(m: &LiveMatcher, packets: &[Packet]) -> bool {
    let live: Vec<(usize, &EngineRule)> = m.live_rules().collect();
    let rules: Vec<EngineRule> = live.iter().map(|(_, r)| (*r).clone()).collect();
    let fresh = Matcher::compile(&rules).expect("compiles");
    packets
        .iter()
        .all(|p| m.lookup(p) == fresh.lookup(p).map(|i| live[i].0))
}

/// One pass of lookups (a symbol of its own per pending count, for callgrind's
/// `--toggle-collect=update_loop::pending_pass*`).
#[inline(never)]
fn pending_pass<const N: usize>(m: &LiveMatcher, packets: &[Packet]) -> usize {
    // `N` kept in the code, so that the four instances are not folded into one.
    packets
        .iter()
        .filter_map(|p| m.lookup(black_box(p)))
        .sum::<usize>()
        + black_box(N)
}

/// Lookups per second (millions, CPU time) of one state, and the checksum of one pass.
fn pending_rate<const N: usize>(m: &LiveMatcher, packets: &[Packet]) -> (f64, usize) {
    let sum = pending_pass::<N>(m, packets);
    // `UPDATE_LOOP_MS=0` (under callgrind): the one checksum pass only.
    let budget: u64 = std::env::var("UPDATE_LOOP_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(150);
    let t = cpu_ns();
    let mut n = 0usize;
    while cpu_ns() - t < budget * 1_000_000 {
        black_box(pending_pass::<N>(m, packets));
        n += packets.len();
    }
    let secs = ((cpu_ns() - t) as f64 / 1e9).max(1e-9);
    (n as f64 / secs / 1e6, sum)
}

/// CPU microseconds of one call.
fn cpu_us<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let t = cpu_ns();
    let out = f();
    (out, (cpu_ns() - t) as f64 / 1e3)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// A rule of the big group: TCP to port `k`'s, from a /24 of 10.0.0.0/8.
fn big_rule(k: usize) -> sgsim::model::Rule {
    use sgsim::model::*;
    let net = std::net::Ipv4Addr::new(10, (k >> 8) as u8, k as u8, 0);
    Rule {
        id: format!("sgr-big{k:07}"),
        direction: Direction::Ingress,
        protocol: IpProtocol::Tcp,
        port_range: PortRange::new(1000 + (k % 500) as u16, 1000 + (k % 500) as u16),
        source_port_range: None,
        peer: Peer::Cidr(ipnet::IpNet::V4(ipnet::Ipv4Net::new(net, 24).unwrap())),
        local_cidr: None,
        nic_type: NicType::Intranet,
        policy: if k.is_multiple_of(5) {
            Policy::Drop
        } else {
            Policy::Accept
        },
        priority: 1 + (k % 100) as u8,
        description: String::new(),
        create_time: String::new(),
    }
}

fn world_mode(rules: usize, instances: usize, calls: usize) {
    use sgsim::engine::compile::WorldMatcher;
    use sgsim::engine::reference;
    use sgsim::generate_world::{world, Shape};
    use sgsim::model::Direction;
    let mut w = world(Shape::ManyGroups, instances, 7);
    let mut big = w.security_groups[0].clone();
    big.id = "sg-big".into();
    big.rules = (0..rules).map(big_rule).collect();
    w.security_groups.push(big);
    for inst in w.instances.iter_mut().take(100) {
        inst.security_groups.push("sg-big".into());
    }
    let members: Vec<std::net::IpAddr> = w
        .instances
        .iter()
        .take(100)
        .map(|i| i.private_ips[0])
        .collect();
    let mut r = SplitMix64::new(11);
    let packets: Vec<Packet> = (0..2000)
        .map(|_| {
            let k = r.below(rules as u64 * 2) as usize;
            let src = std::net::Ipv4Addr::new(10, (k >> 8) as u8, k as u8, 7);
            let dst = members[r.below(100) as usize];
            Packet::new(6, src.into(), 40000, dst, 1000 + (k % 500) as u16).unwrap()
        })
        .collect();
    let (m0, compile_us) = cpu_us(|| WorldMatcher::compile(&w).unwrap());
    let set_rules: Vec<EngineRule> = {
        let index = sgsim::engine::target::WorldIndex::new(&w);
        let g = w.security_groups.last().unwrap();
        sgsim::engine::lower::lower_group(&index, &w, g, Direction::Ingress, None)
    };
    let (_, set_us) =
        cpu_us(|| sgsim::engine::compile::CompiledRules::new(set_rules.clone()).unwrap());
    let mut same: Vec<f64> = (0..20)
        .map(|_| cpu_us(|| m0.update(&w).unwrap()).1)
        .collect();
    let check = |m: &WorldMatcher, w: &sgsim::model::World| {
        packets.iter().take(300).all(|p| {
            m.decide(p, None, Direction::Ingress)
                == reference::decide(w, p, None, Direction::Ingress)
        })
    };
    let mut m = m0.clone();
    let mut times = Vec::new();
    let (mut patched, mut compiled) = (0, 0);
    let mut next = rules;
    let mut rates: Vec<(usize, f64)> = Vec::new();
    let gi = w.security_groups.len() - 1;
    for i in 0..calls {
        if i % 2 == 0 {
            let n = w.security_groups[gi].rules.len();
            w.security_groups[gi]
                .rules
                .remove(r.below(n as u64) as usize);
        } else {
            w.security_groups[gi].rules.push(big_rule(next));
            next += 1;
        }
        let (m2, us) = cpu_us(|| m.update(&w).unwrap());
        m = m2;
        times.push(us);
        let s = m.stats();
        patched += s.patched;
        compiled += s.compiled;
        let pending = m
            .compiled_sets()
            .map(|c| {
                let (a, d) = c.live().pending();
                a + d
            })
            .max()
            .unwrap_or(0);
        if [0usize, 8, 16, 32].contains(&pending) && !rates.iter().any(|x| x.0 == pending) {
            assert!(
                check(&m, &w),
                "disagrees with the reference at {pending} pending"
            );
            let t = cpu_ns();
            let mut n = 0usize;
            while cpu_ns() - t < 200_000_000 {
                for p in &packets {
                    black_box(m.decide(black_box(p), None, Direction::Ingress).ok());
                }
                n += packets.len();
            }
            rates.push((pending, n as f64 / ((cpu_ns() - t) as f64 / 1e9) / 1e6));
        }
    }
    let ok = check(&m, &w);
    let mean = times.iter().sum::<f64>() / times.len().max(1) as f64;
    println!(
        "world rules {rules} instances {instances} compile_ms {:.1} set_compile_ms {:.2} update_nothing_changed_us {:.0} calls {calls} update_median_us {:.0} update_mean_us {:.0} patched {patched} compiled {compiled} decide_mps_by_pending {:?} exact {ok}",
        compile_us / 1e3,
        set_us / 1e3,
        median(&mut same),
        median(&mut times),
        mean,
        rates.iter().map(|(p, r)| format!("{p}:{r:.2}")).collect::<Vec<_>>(),
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(n) = args.get(1).and_then(|a| a.strip_prefix("world:")) {
        let instances = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10_000);
        let calls = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(400);
        world_mode(n.parse().expect("world:RULES"), instances, calls);
        return;
    }
    let src = args.get(1).map_or("gen:10000", String::as_str);
    let updates: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(4000);
    let rules = match src.strip_prefix("gen:") {
        Some(n) => sgsim::generate::generate(n.parse().expect("gen:N"), 1),
        None => load_filters(Path::new(src)).expect("filter set"),
    };
    let packets: Vec<Packet> = match args.get(3) {
        Some(t) => load_trace(Path::new(t))
            .expect("trace")
            .into_iter()
            .map(|t| t.packet)
            .collect(),
        None => sgsim::generate::packets(&rules, 20_000, 2),
    };
    let n = rules.len();
    let t = Instant::now();
    let mut m = LiveMatcher::new(rules.clone()).expect("compiles");
    let build_ms = t.elapsed().as_secs_f64() * 1e3;
    let empty_rate = rate(&m, &packets);
    let mut r = SplitMix64::new(3);
    // Lookups with 0, 8, 16 and 32 changes pending (half inserts, half removals), on
    // clones of the same build, in interleaved rounds.
    let mut states: Vec<LiveMatcher> = Vec::new();
    for pending in [0usize, 8, 16, 32] {
        let mut c = m.clone();
        for i in 0..pending / 2 {
            let live: Vec<usize> = c.live_rules().map(|(h, _)| h).collect();
            c.remove(live[r.below(live.len() as u64) as usize])
                .expect("remove");
            let mut new = rules[r.below(n as u64) as usize].clone();
            new.id = format!("pending-{i:06}");
            new.rank = r.below(n as u64) as u32;
            c.insert(new).expect("insert");
        }
        assert_eq!(c.rebuilds(), m.rebuilds(), "no fold below the threshold");
        assert!(agree(&c, &packets));
        states.push(c);
    }
    let mut by_pending: Vec<Vec<f64>> = vec![Vec::new(); 4];
    for _ in 0..3 {
        by_pending[0].push(pending_rate::<0>(&states[0], &packets).0);
        by_pending[1].push(pending_rate::<8>(&states[1], &packets).0);
        by_pending[2].push(pending_rate::<16>(&states[2], &packets).0);
        by_pending[3].push(pending_rate::<32>(&states[3], &packets).0);
    }
    let pending_mps: Vec<String> = [0, 8, 16, 32]
        .iter()
        .zip(&mut by_pending)
        .map(|(p, v)| format!("{p}:{:.2}", median(v)))
        .collect();
    println!(
        "{src} lookups_mps_by_pending {pending_mps:?} (CPU time, median of 3 interleaved rounds)"
    );
    let mut times = Vec::with_capacity(updates);
    let mut half_rate = None;
    let start_rebuilds = m.rebuilds();
    for i in 0..updates {
        let t = Instant::now();
        if i % 2 == 0 {
            let live: Vec<usize> = m.live_rules().map(|(h, _)| h).take(n).collect();
            let h = live[r.below(live.len() as u64) as usize];
            let t = Instant::now();
            m.remove(h).expect("remove");
            times.push(t.elapsed().as_secs_f64() * 1e6);
            continue;
        }
        let mut new = rules[r.below(n as u64) as usize].clone();
        new.id = format!("new-{i:06}");
        new.rank = r.below(n as u64) as u32;
        m.insert(new).expect("insert");
        times.push(t.elapsed().as_secs_f64() * 1e6);
        let (a, d) = m.pending();
        if half_rate.is_none() && a + d >= 16 {
            half_rate = Some((rate(&m, &packets), a, d, agree(&m, &packets)));
        }
    }
    let ok = agree(&m, &packets);
    let mean = times.iter().sum::<f64>() / times.len().max(1) as f64;
    times.sort_by(f64::total_cmp);
    let q = |f: f64| {
        times
            .get(((times.len() as f64 - 1.0) * f) as usize)
            .copied()
            .unwrap_or(0.0)
    };
    println!(
        "{src} rules {n} build_ms {build_ms:.2} updates {updates} median_us {:.2} p90_us {:.2} max_us {:.0} mean_us {:.2} rebuilds {} lookups_empty_mps {empty_rate:.2} lookups_overlay {:?} exact_at_end {ok}",
        q(0.5),
        q(0.9),
        q(1.0),
        mean,
        m.rebuilds() - start_rebuilds,
        half_rate.map(|(r, a, d, ok)| format!("{r:.2} M/s with {a} inserted + {d} removed pending, exact {ok}")),
    );
}
