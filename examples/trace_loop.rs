//! A tight-loop timer of [`Matcher::lookup`] over a ClassBench trace, for side-by-side runs
//! against other classifiers' own tight loops (see `benches/README.md`).
//!
//! ```text
//! cargo run --release --example trace_loop -- FILTERS TRACE [MIN_MS] [ANSWERS_OUT]
//! cargo run --release --example trace_loop -- gen:RULES gen:PACKETS [MIN_MS]
//! ```
//!
//! The second form times a generated set (`sgsim::generate`, seed 1) on aimed packets
//! (seed 2).
//! Prints one line: `set rules packets build_ms layout_bytes_per_rule allocator_bytes_per_rule
//! ns_per_lookup mlookups_per_s checksum tables_probed_per_lookup build_wall_ms
//! build_cpu_all_ms`; `build_ms` is the compiling thread's CPU time, `build_wall_ms` the wall
//! time, which on a shared machine also counts the time spent waiting for a CPU, and
//! `build_cpu_all_ms` the CPU time of all the process's threads (sets from 50,000 rules are
//! sorted and built partly on all cores). The loop repeats the trace until it has had `MIN_MS` (default 300) of CPU time; the
//! checksum (sum of the matched rule indexes, unmatched counting as -1, over one pass) lets
//! runs be compared. With `ANSWERS_OUT`, the deciding rule's line number (0-based, `-1` for
//! none) of every trace packet is written there, one a line.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use cap::Cap;
use sgsim::classbench::{load_filters, load_trace};
use sgsim::engine::matcher::Matcher;
use sgsim::model::Packet;
use std::alloc::System;
use std::hint::black_box;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

#[path = "support/cpu.rs"]
mod cpu;
use cpu::process_cpu_ns;

#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, usize::MAX);

#[inline(never)]
fn pass(m: &Matcher, packets: &[Packet]) -> i64 {
    let mut sum = 0i64;
    for p in packets {
        sum += m.lookup(black_box(p)).map_or(-1, |r| r as i64);
    }
    sum
}

/// This thread's on-CPU time in nanoseconds (`/proc/thread-self/schedstat`, Linux), so that
/// time spent waiting for the CPU on a shared machine is not counted; falls back to wall
/// time elsewhere.
fn cpu_ns(start: Instant) -> u128 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|t| t.parse().ok()))
        .unwrap_or_else(|| start.elapsed().as_nanos())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: trace_loop FILTERS TRACE [MIN_MS] [ANSWERS_OUT]");
        std::process::exit(2);
    }
    let filters = Path::new(&args[1]);
    let generated: Option<usize> = args[1].strip_prefix("gen:").and_then(|n| n.parse().ok());
    let rules = match generated {
        Some(n) => sgsim::generate::generate(n, 1),
        None => load_filters(filters).unwrap_or_else(|e| {
            eprintln!("{e}");
            std::process::exit(2)
        }),
    };
    let packets: Vec<Packet> = if generated.is_some() {
        let n: usize = args[2]
            .strip_prefix("gen:")
            .and_then(|n| n.parse().ok())
            .unwrap_or(10_000);
        sgsim::generate::packets(&rules, n, 2)
    } else {
        let trace = load_trace(Path::new(&args[2])).unwrap_or_else(|e| {
            eprintln!("{e}");
            std::process::exit(2)
        });
        trace.iter().map(|t| t.packet).collect()
    };
    let min_ms: u128 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(300);
    let before = ALLOCATOR.allocated();
    let t0 = Instant::now();
    let c0 = cpu_ns(t0);
    let p0 = process_cpu_ns();
    let m = Matcher::compile(&rules).expect("compiles");
    let build_all_ms = process_cpu_ns().saturating_sub(p0) as f64 / 1e6;
    let build_wall_ms = t0.elapsed().as_secs_f64() * 1e3;
    let build_ms = (cpu_ns(t0) - c0) as f64 / 1e6;
    let bytes = ALLOCATOR.allocated().saturating_sub(before);
    if let Some(out) = args.get(4) {
        let mut f = std::io::BufWriter::new(std::fs::File::create(out).expect("answers file"));
        for p in &packets {
            writeln!(f, "{}", m.lookup(p).map_or(-1, |r| r as i64)).expect("write");
        }
    }
    let checksum = pass(&m, &packets);
    let mut n = 0usize;
    let t = cpu_ns(t0);
    let spent = loop {
        black_box(pass(&m, &packets));
        n += packets.len();
        let spent = cpu_ns(t0) - t;
        if spent >= min_ms * 1_000_000 {
            break spent;
        }
    };
    let ns = spent as f64 / n as f64;
    let probed = packets.iter().map(|p| m.tables_probed(p)).sum::<usize>() as f64
        / packets.len().max(1) as f64;
    // The worst case: the packet (of these and of as many random ones) whose lookup probes
    // the most tables, timed alone (`SGSIM_WORST=1`).
    if std::env::var_os("SGSIM_WORST").is_some() {
        let mut r = sgsim::generate::SplitMix64::new(9);
        let random: Vec<Packet> = (0..packets.len())
            .filter_map(|_| {
                let v4 = |r: &mut sgsim::generate::SplitMix64| {
                    std::net::IpAddr::V4(std::net::Ipv4Addr::from(r.next_u64() as u32))
                };
                let (s, d) = (v4(&mut r), v4(&mut r));
                let proto = [6u8, 17, 1, 47][r.below(4) as usize];
                Packet::new(proto, s, r.below(65536) as u16, d, r.below(65536) as u16).ok()
            })
            .collect();
        let worst = packets
            .iter()
            .chain(&random)
            .max_by_key(|p| m.tables_probed(p))
            .copied()
            .expect("a packet");
        let (v4, v6) = m.table_counts();
        let t = cpu_ns(t0);
        let mut k = 0u64;
        while cpu_ns(t0) - t < 100_000_000 {
            for _ in 0..1000 {
                black_box(m.lookup(black_box(&worst)));
            }
            k += 1000;
        }
        let wns = (cpu_ns(t0) - t) as f64 / k as f64;
        println!(
            "worst: {worst:?} probes {} of {v4} IPv4 / {v6} IPv6 tables, {wns:.1} ns ({:.2} M/s); random packets: {:.2} tables probed on average",
            m.tables_probed(&worst),
            1e3 / wns,
            random.iter().map(|p| m.tables_probed(p)).sum::<usize>() as f64 / random.len().max(1) as f64,
        );
    }
    let name = filters
        .file_name()
        .map_or(String::new(), |s| s.to_string_lossy().into_owned());
    println!(
        "{name} {} {} {build_ms:.3} {:.1} {:.1} {ns:.2} {:.2} {checksum} {probed:.2} {build_wall_ms:.3} {build_all_ms:.3}",
        rules.len(),
        packets.len(),
        m.heap_bytes() as f64 / rules.len().max(1) as f64,
        bytes as f64 / rules.len().max(1) as f64,
        1e3 / ns
    );
}
