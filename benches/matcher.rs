//! Criterion benchmarks of the compiled matcher: build and lookup apart, on the ClassBench
//! sets that have a trace and generated sets (100 to 100k rules), with the linear scan as the
//! baseline; batch lookups on one thread and on two; and online updates of a 10,000-rule
//! [`LiveMatcher`] (`cargo bench --bench matcher -- update`).
//!
//! ClassBench sets: the ones shipped in `tests/data/classbench/`, or every set with a trace
//! in the folder `SGSIM_CLASSBENCH_DIR` names (all 1k and 10k sets, for the full figures).
//!
//! Every lookup benchmark first checks its answers against the linear scan on a sample.
//! Run: `cargo bench --bench matcher` (a few minutes); medians go to `benches/README.md`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use sgsim::classbench::{load_filters, load_trace};
use sgsim::engine::matcher::{LiveMatcher, Matcher};
use sgsim::engine::rule::{linear_scan, EngineRule};
use sgsim::model::Packet;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The sets the linear-scan baseline runs on.
const BASELINE: [&str; 6] = [
    "cb_acl1_1k",
    "cb_fw1_1k",
    "cb_ipc1_1k",
    "cb_acl2_10k",
    "cb_fw1_10k",
    "cb_ipc1_10k",
];
const GENERATED: [usize; 4] = [100, 1_000, 10_000, 100_000];

/// `SGSIM_CLASSBENCH_DIR` when set, else the sets shipped for the tests.
fn data_dir() -> PathBuf {
    match std::env::var_os("SGSIM_CLASSBENCH_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/classbench"),
    }
}

/// The names of the ClassBench sets in `dir` that have a trace: 1k sets first, then by name.
fn classbench_names(dir: &Path) -> Vec<String> {
    let entries = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: cannot read the folder: {e}", dir.display()));
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| !n.contains('.') && !n.ends_with("_trace"))
        .filter(|n| dir.join(format!("{n}_trace")).is_file())
        .collect();
    names.sort_by_key(|n| (!n.ends_with("_1k"), n.clone()));
    names
}

/// (name, rules, packets) for every set benchmarked.
fn sets() -> Vec<(String, Vec<EngineRule>, Vec<Packet>)> {
    let mut out = Vec::new();
    let dir = data_dir();
    for name in classbench_names(&dir) {
        let (f, t) = (dir.join(&name), dir.join(format!("{name}_trace")));
        let rules = load_filters(&f).unwrap_or_else(|e| panic!("{e}"));
        let trace = load_trace(&t).unwrap_or_else(|e| panic!("{e}"));
        let packets = trace.into_iter().map(|t| t.packet).collect();
        out.push((format!("cb_{name}"), rules, packets));
    }
    for n in GENERATED {
        let rules = sgsim::generate::generate(n, 1);
        let packets = sgsim::generate::packets(&rules, 10_000, 2);
        out.push((format!("gen_{n}"), rules, packets));
    }
    out
}

/// Asserts the matcher's answers equal the linear scan's on a sample; returns how many of
/// the packets match some rule.
fn check(name: &str, rules: &[EngineRule], m: &Matcher, packets: &[Packet]) -> usize {
    let step = (packets.len() / 500).max(1);
    for p in packets.iter().step_by(step) {
        assert_eq!(m.lookup(p), linear_scan(rules, p), "{name}: {p:?}");
    }
    packets.iter().filter(|p| m.lookup(p).is_some()).count()
}

fn bench(c: &mut Criterion) {
    let sets = sets();

    let mut build = c.benchmark_group("build");
    build
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    for (name, rules, _) in &sets {
        build.throughput(Throughput::Elements(rules.len() as u64));
        build.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| Matcher::compile(black_box(rules)).unwrap())
        });
    }
    build.finish();

    let mut lookup = c.benchmark_group("lookup");
    lookup
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    for (name, rules, packets) in &sets {
        let m = Matcher::compile(rules).unwrap();
        let hits = check(name, rules, &m, packets);
        lookup.throughput(Throughput::Elements(packets.len() as u64));
        lookup.bench_function(BenchmarkId::new("matcher", name), |b| {
            b.iter(|| {
                let mut n = 0usize;
                for p in packets {
                    n += usize::from(m.lookup(black_box(p)).is_some());
                }
                assert_eq!(n, hits);
                n
            })
        });
    }
    // The baseline, at sizes where it finishes: a slice of the packets.
    for (name, rules, packets) in &sets {
        if rules.len() > 10_000 || (name.starts_with("cb_") && !BASELINE.contains(&name.as_str())) {
            continue;
        }
        let few = &packets[..packets
            .len()
            .min(if rules.len() > 2_000 { 200 } else { 2_000 })];
        lookup.throughput(Throughput::Elements(few.len() as u64));
        lookup.bench_function(BenchmarkId::new("linear_scan", name), |b| {
            b.iter(|| {
                few.iter()
                    .filter(|p| linear_scan(rules, black_box(p)).is_some())
                    .count()
            })
        });
    }
    lookup.finish();

    // Batch: the same lookups on a pool of 1 and of 2 threads.
    let mut batch = c.benchmark_group("batch");
    batch
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    for (name, rules, packets) in sets
        .iter()
        .filter(|(n, _, _)| n == "cb_fw1_10k" || n == "gen_100000")
    {
        let m = Matcher::compile(rules).unwrap();
        // Enough work per batch that thread start-up does not dominate.
        let many: Vec<Packet> = packets.iter().cycle().take(200_000).copied().collect();
        for threads in [1usize, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            batch.throughput(Throughput::Elements(many.len() as u64));
            batch.bench_function(BenchmarkId::new(format!("{threads}_threads"), name), |b| {
                b.iter_batched(
                    || (),
                    |()| pool.install(|| m.lookup_batch(black_box(&many))),
                    BatchSize::PerIteration,
                )
            });
        }
    }
    batch.finish();
}

/// Online updates of a [`LiveMatcher`] of 10,000 rules (generated, and ClassBench fw1_10k
/// when present): one insert followed by the removal of that rule (the overlay stays empty
/// between iterations, so no rebuild is timed), one removal of a compiled rule followed by a
/// rebuild (what a fold costs), and lookups with a full overlay (16 inserted + 16 removed).
fn bench_updates(c: &mut Criterion) {
    let mut sets: Vec<(String, Vec<EngineRule>, Vec<Packet>)> = Vec::new();
    let rules = sgsim::generate::generate(10_000, 1);
    let packets = sgsim::generate::packets(&rules, 10_000, 2);
    sets.push(("gen_10000".into(), rules, packets));
    let dir = data_dir();
    if let (Ok(rules), Ok(trace)) = (
        load_filters(&dir.join("fw1_10k")),
        load_trace(&dir.join("fw1_10k_trace")),
    ) {
        sets.push((
            "cb_fw1_10k".into(),
            rules,
            trace.into_iter().map(|t| t.packet).collect(),
        ));
    }
    let mut g = c.benchmark_group("update");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    for (name, rules, packets) in &sets {
        let mut m = LiveMatcher::new(rules.clone()).unwrap();
        let mut new = rules[rules.len() / 2].clone();
        new.id = "bench-new".into();
        g.bench_function(BenchmarkId::new("insert_then_remove", name), |b| {
            b.iter(|| {
                let h = m.insert(black_box(new.clone())).unwrap();
                m.remove(h).unwrap()
            })
        });
        assert_eq!(m.pending(), (0, 0));
        g.bench_function(BenchmarkId::new("remove_then_rebuild", name), |b| {
            b.iter_batched(
                || m.clone(),
                |mut m| {
                    m.remove(rules.len() / 3).unwrap();
                    m.rebuild().unwrap();
                    m
                },
                BatchSize::LargeInput,
            )
        });
        // Lookups with 16 inserted and 16 removed rules pending, checked against a rebuild.
        let mut full = LiveMatcher::new(rules.clone()).unwrap();
        for i in 0..16 {
            let mut r = rules[(i * 613) % rules.len()].clone();
            r.id = format!("bench-{i}");
            full.insert(r).unwrap();
            full.remove((i * 997) % rules.len()).unwrap();
        }
        assert_eq!(full.pending(), (16, 16));
        let mut fresh = full.clone();
        fresh.rebuild().unwrap();
        let step = (packets.len() / 500).max(1);
        for p in packets.iter().step_by(step) {
            assert_eq!(full.lookup(p), fresh.lookup(p), "{name}: {p:?}");
        }
        g.throughput(Throughput::Elements(packets.len() as u64));
        for (label, lm) in [
            ("lookup_overlay_empty", &fresh),
            ("lookup_overlay_32", &full),
        ] {
            g.bench_function(BenchmarkId::new(label, name), |b| {
                b.iter(|| {
                    packets
                        .iter()
                        .filter(|p| lm.lookup(black_box(p)).is_some())
                        .count()
                })
            });
        }
        g.throughput(Throughput::Elements(1));
    }
    g.finish();
}

criterion_group!(benches, bench, bench_updates);
criterion_main!(benches);
