//! Times single-rule updates of a [`LiveMatcher`] (see `benches/README.md`).
//!
//! ```text
//! cargo run --release --example update_loop -- [FILTERS | gen:N] [UPDATES] [TRACE]
//! ```
//!
//! Builds the set (a ClassBench file, or `gen:N` generated rules, default `gen:10000`), then
//! makes `UPDATES` (default 4000) alternating updates: remove a random live rule, insert a
//! rule (a copy of a random original rule under a new id, at a random rank). Each update is
//! timed alone; prints the median, 90th percentile, maximum and mean in microseconds, the
//! rebuilds, and (with `TRACE`, else generated packets) the lookup rate with an empty and
//! with a half-full overlay, both checked against a rebuild.

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

fn main() {
    let args: Vec<String> = std::env::args().collect();
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
