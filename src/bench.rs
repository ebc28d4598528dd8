//! The library side of `sgsim bench` (SPEC §6): build a matcher from a world, a ClassBench
//! file or a generated set; check it against the reference on seeded packets; then time
//! single-thread lookups of the matcher and of the reference, and batch lookups on several
//! threads. The [`BenchReport`] prints as text ([`BenchReport::to_text`]) or serializes to
//! JSON.
//!
//! Engine-level sources (ClassBench, generated) compare [`Matcher::lookup`] with
//! [`linear_scan`]; a world compares [`WorldMatcher::decide`] with
//! [`reference::decide`], target resolution included.

use crate::classbench;
use crate::engine::compile::WorldMatcher;
use crate::engine::lower::lower_group;
use crate::engine::matcher::Matcher;
use crate::engine::reference;
use crate::engine::rule::{linear_scan, EngineRule};
use crate::engine::target::WorldIndex;
use crate::generate::{self, SplitMix64};
use crate::model::{Direction, Packet, World};
use rayon::prelude::*;
use serde::Serialize;
use std::fmt;
use std::hint::black_box;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// What to benchmark.
#[derive(Debug, Clone)]
pub enum BenchSource {
    /// A world file, decided for one target (`to`) or for every ENI.
    World {
        /// The world file.
        path: PathBuf,
        /// The target (`--to`), if any.
        to: Option<String>,
    },
    /// A ClassBench filter set, with its trace when given, else the trace beside it
    /// (`FILTERS_trace`) when there is one, else packets generated from the rules.
    ClassBench {
        /// The filter set.
        filters: PathBuf,
        /// The trace, if given.
        trace: Option<PathBuf>,
    },
    /// A generated world ([`crate::generate_world`]) of a shape and `instances` instances.
    GeneratedWorld {
        /// The shape.
        shape: crate::generate_world::Shape,
        /// The number of instances.
        instances: usize,
        /// The seed.
        seed: u64,
    },
    /// A generated rule set of `n` rules.
    Generate {
        /// The number of rules.
        n: usize,
        /// The seed.
        seed: u64,
    },
}

/// How to measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Lookups to time per measurement (`--packets`); the packet list repeats as needed.
    pub packets: usize,
    /// Threads for the batch measurement (`--threads`); `None` means every core.
    pub threads: Option<usize>,
    /// Packets checked matcher = reference before timing (`--verify`).
    pub verify: usize,
    /// Seed of generated packets.
    pub seed: u64,
    /// Time budget for the reference's measurement (it is slow on large sets).
    pub reference_budget: Duration,
    /// How many times the single-thread measurement is repeated (`--repeat`); the report
    /// gives the median with the minimum and maximum.
    pub repeat: usize,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            packets: 1_000_000,
            threads: None,
            verify: 10_000,
            seed: 1,
            reference_budget: Duration::from_millis(1500),
            repeat: 5,
        }
    }
}

/// The measurements.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BenchReport {
    /// What was measured (`classbench acl1_1k`, `generated 100000 seed 1`, `world w.toml`).
    pub source: String,
    /// Rules compiled (a world: rules over all its compiled sets).
    pub rules: usize,
    /// Time to compile, in milliseconds.
    pub build_ms: f64,
    /// Heap bytes the matcher owns.
    pub memory_bytes: usize,
    /// `memory_bytes / rules`.
    pub bytes_per_rule: f64,
    /// `allocator` (counted by the binary's global allocator) or `layout` (the matcher's
    /// own count of its arrays).
    pub memory_method: &'static str,
    /// Packets checked matcher = reference before timing.
    pub verified: usize,
    /// Where the timed packets come from (`trace FILE`, `generated from the rules, seed S`,
    /// `generated for the world, seed S`).
    pub packet_source: String,
    /// Distinct packets in the timing set.
    pub packets: usize,
    /// Lookups timed per measurement.
    pub lookups: usize,
    /// Matcher, one thread: the median of the repeated measurements.
    pub matcher_single_thread_lookups_per_s: u64,
    /// The slowest of the repeated single-thread measurements.
    pub matcher_single_thread_min: u64,
    /// The fastest of the repeated single-thread measurements.
    pub matcher_single_thread_max: u64,
    /// How many single-thread measurements were made.
    pub repeats: usize,
    /// Reference, one thread (over at most the time budget).
    pub reference_single_thread_lookups_per_s: u64,
    /// Lookups the reference measurement made.
    pub reference_lookups: usize,
    /// Threads of the batch measurement.
    pub threads: usize,
    /// Matcher, batch on `threads` threads (the lookup phase alone).
    pub matcher_multi_thread_lookups_per_s: u64,
    /// Matcher single-thread over reference single-thread.
    pub speedup_vs_reference: f64,
    /// Batch over single-thread.
    pub speedup_threads: f64,
}

impl BenchReport {
    /// The text form; includes the line `matcher single-thread: N lookups/s`.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let mut line = |l: String| {
            s.push_str(&l);
            s.push('\n');
        };
        line(format!("source: {}", self.source));
        line(format!("rules: {}", self.rules));
        line(format!("build: {:.3} ms", self.build_ms));
        line(format!(
            "memory: {} bytes ({:.1} bytes per rule, {})",
            self.memory_bytes, self.bytes_per_rule, self.memory_method
        ));
        line(format!(
            "verified: {} packets, matcher = reference",
            self.verified
        ));
        line(format!(
            "timed: {} lookups over {} distinct packets ({}), {} times",
            self.lookups, self.packets, self.packet_source, self.repeats
        ));
        line(format!(
            "matcher single-thread: {} lookups/s",
            self.matcher_single_thread_lookups_per_s
        ));
        line(format!(
            "matcher single-thread range: {}-{} lookups/s (median above, of {} runs)",
            self.matcher_single_thread_min, self.matcher_single_thread_max, self.repeats
        ));
        line(format!(
            "reference single-thread: {} lookups/s ({} lookups)",
            self.reference_single_thread_lookups_per_s, self.reference_lookups
        ));
        line(format!(
            "matcher {} threads: {} lookups/s",
            self.threads, self.matcher_multi_thread_lookups_per_s
        ));
        line(format!(
            "speedup: {:.1}x vs reference, {:.2}x on {} threads vs 1",
            self.speedup_vs_reference, self.speedup_threads, self.threads
        ));
        s
    }

    /// The JSON form (one object).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

/// Why a benchmark could not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BenchError {
    /// The input could not be loaded (file, line and problem in the message).
    Input(String),
    /// The matcher could not be built.
    Compile(String),
    /// The matcher disagreed with the reference on a packet (a bug): the first one.
    Mismatch {
        /// How many of the verified packets disagreed.
        count: usize,
        /// The first disagreement.
        first: String,
    },
    /// No packet could be made to time (e.g. a world without ENIs, a target without
    /// addresses).
    NoPackets(String),
}

impl fmt::Display for BenchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BenchError::Input(m) => f.write_str(m),
            BenchError::Compile(m) => write!(f, "cannot compile the matcher: {m}"),
            BenchError::Mismatch { count, first } => write!(
                f,
                "the matcher disagrees with the reference on {count} packets, first: {first}"
            ),
            BenchError::NoPackets(m) => write!(f, "no packets to time: {m}"),
        }
    }
}

impl std::error::Error for BenchError {}

/// Live heap bytes by the counting allocator, if one feeds [`crate::alloc_count`].
fn heap_now() -> Option<usize> {
    crate::alloc_count::allocated()
}

/// Runs a benchmark.
pub fn run(source: &BenchSource, opts: &BenchOptions) -> Result<BenchReport, BenchError> {
    match source {
        BenchSource::ClassBench { filters, trace } => {
            let rules =
                classbench::load_filters(filters).map_err(|e| BenchError::Input(e.to_string()))?;
            let trace = trace.clone().or_else(|| beside_trace(filters));
            let (packets, packet_source) = match &trace {
                Some(t) => (
                    classbench::load_trace(t)
                        .map_err(|e| BenchError::Input(e.to_string()))?
                        .into_iter()
                        .map(|tp| tp.packet)
                        .collect(),
                    format!("trace {}", t.display()),
                ),
                None => (
                    generate::packets(&rules, opts.packets.clamp(1, 100_000), opts.seed),
                    format!("generated from the rules, seed {}", opts.seed),
                ),
            };
            let name = filters.file_name().map_or_else(
                || filters.display().to_string(),
                |n| n.to_string_lossy().to_string(),
            );
            run_rules(
                format!("classbench {name}"),
                &rules,
                &packets,
                packet_source,
                opts,
            )
        }
        BenchSource::Generate { n, seed } => {
            let rules = generate::generate(*n, *seed);
            let packets = generate::packets(&rules, opts.packets.clamp(1, 100_000), opts.seed);
            run_rules(
                format!("generated {n} rules seed {seed}"),
                &rules,
                &packets,
                format!("generated from the rules, seed {}", opts.seed),
                opts,
            )
        }
        BenchSource::GeneratedWorld {
            shape,
            instances,
            seed,
        } => {
            let world = crate::generate_world::world(*shape, *instances, *seed);
            let name = format!("generated world {} of {instances} instances", shape.name());
            run_world(name, &world, None, opts)
        }
        BenchSource::World { path, to } => {
            let world =
                crate::world_file::load(path).map_err(|e| BenchError::Input(e.to_string()))?;
            run_world(
                format!("world {}", path.display()),
                &world,
                to.as_deref(),
                opts,
            )
        }
    }
}

/// The trace beside a filter set (`FILTERS_trace`), when that file exists.
fn beside_trace(filters: &std::path::Path) -> Option<PathBuf> {
    let name = filters.file_name()?.to_string_lossy().to_string();
    let t = filters.with_file_name(format!("{name}_trace"));
    t.is_file().then_some(t)
}

/// Repeats [`time_single`] `repeat` times (at least once): the median, minimum and maximum
/// rate, and the lookups of one measurement.
fn time_repeated<T>(
    items: &[T],
    lookups: usize,
    repeat: usize,
    mut f: impl FnMut(&T) -> usize,
) -> ((u64, u64, u64), usize) {
    let mut rates = Vec::with_capacity(repeat.max(1));
    let mut done = 0;
    for _ in 0..repeat.max(1) {
        let (rate, n) = time_single(items, lookups, &mut f);
        rates.push(rate);
        done = n;
    }
    rates.sort_unstable();
    let median = rates.get(rates.len() / 2).copied().unwrap_or(0);
    let min = rates.first().copied().unwrap_or(0);
    let max = rates.last().copied().unwrap_or(0);
    ((median, min, max), done)
}

fn threads(opts: &BenchOptions) -> usize {
    opts.threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1)
}

/// Times `f` over `lookups` lookups cycling through `items`; lookups per second.
fn time_single<T>(items: &[T], lookups: usize, mut f: impl FnMut(&T) -> usize) -> (u64, usize) {
    time_budget(items, lookups, Duration::MAX, &mut f)
}

/// Like [`time_single`], stopping early once `budget` has elapsed; returns the rate and the
/// lookups made.
fn time_budget<T>(
    items: &[T],
    lookups: usize,
    budget: Duration,
    f: &mut impl FnMut(&T) -> usize,
) -> (u64, usize) {
    if items.is_empty() || lookups == 0 {
        return (0, 0);
    }
    let start = Instant::now();
    let mut done = 0usize;
    let mut acc = 0usize;
    'outer: while done < lookups {
        for chunk in items.chunks(256) {
            for it in chunk {
                acc = acc.wrapping_add(f(black_box(it)));
            }
            done += chunk.len();
            if done >= lookups || start.elapsed() > budget {
                break 'outer;
            }
        }
    }
    black_box(acc);
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    ((done as f64 / secs) as u64, done)
}

/// Times a parallel batch of `lookups` on a pool of `threads` threads.
fn time_multi<T: Sync>(
    items: &[T],
    lookups: usize,
    threads: usize,
    f: impl Fn(&T) -> usize + Sync,
) -> Result<u64, BenchError> {
    if items.is_empty() || lookups == 0 {
        return Ok(0);
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| BenchError::Compile(format!("cannot start {threads} threads: {e}")))?;
    let reps = lookups.div_ceil(items.len()).max(1);
    // Warm the pool.
    pool.install(|| items.par_chunks(4096).map(|c| c.len()).sum::<usize>());
    let start = Instant::now();
    let acc: usize = pool.install(|| {
        (0..reps)
            .into_par_iter()
            .flat_map_iter(|_| items.chunks(4096))
            .map(|chunk| chunk.iter().map(&f).fold(0usize, usize::wrapping_add))
            .reduce(|| 0, usize::wrapping_add)
    });
    black_box(acc);
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    Ok(((reps * items.len()) as f64 / secs) as u64)
}

fn verify_rules(
    rules: &[EngineRule],
    m: &Matcher,
    packets: &[Packet],
    n: usize,
) -> Result<usize, BenchError> {
    // The first `n` of the timed packets (each distinct packet once).
    let sample: Vec<&Packet> = packets.iter().take(n).collect();
    let bad: Vec<String> = sample
        .par_iter()
        .filter_map(|p| {
            let (want, got) = (linear_scan(rules, p), m.lookup(p));
            (want != got).then(|| format!("{p:?}: matcher {got:?}, reference {want:?}"))
        })
        .collect();
    match bad.first() {
        Some(first) => Err(BenchError::Mismatch {
            count: bad.len(),
            first: first.clone(),
        }),
        None => Ok(sample.len()),
    }
}

/// Benchmarks a rule list against the linear scan.
pub fn run_rules(
    source: String,
    rules: &[EngineRule],
    packets: &[Packet],
    packet_source: String,
    opts: &BenchOptions,
) -> Result<BenchReport, BenchError> {
    if packets.is_empty() {
        return Err(BenchError::NoPackets("the packet list is empty".into()));
    }
    let before = heap_now();
    let start = Instant::now();
    let m = Matcher::compile(rules).map_err(|e| BenchError::Compile(e.to_string()))?;
    let build = start.elapsed();
    let (memory_bytes, memory_method) = match (before, heap_now()) {
        (Some(a), Some(b)) => (b.saturating_sub(a), "allocator"),
        _ => (m.heap_bytes(), "layout"),
    };
    let verified = verify_rules(rules, &m, packets, opts.verify)?;
    let (single, lookups) = time_repeated(packets, opts.packets, opts.repeat, |p| {
        m.lookup(p).unwrap_or(0)
    });
    let (reference, reference_lookups) = time_budget(
        packets,
        opts.packets,
        opts.reference_budget,
        &mut |p: &Packet| linear_scan(rules, p).unwrap_or(0),
    );
    let threads = threads(opts);
    let multi = time_multi(packets, opts.packets, threads, |p| m.lookup(p).unwrap_or(0))?;
    Ok(report(
        source,
        rules.len(),
        build,
        memory_bytes,
        memory_method,
        verified,
        packet_source,
        packets.len(),
        lookups,
        single,
        opts.repeat,
        reference,
        reference_lookups,
        threads,
        multi,
    ))
}

#[allow(clippy::too_many_arguments)]
fn report(
    source: String,
    rules: usize,
    build: Duration,
    memory_bytes: usize,
    memory_method: &'static str,
    verified: usize,
    packet_source: String,
    packets: usize,
    lookups: usize,
    single: (u64, u64, u64),
    repeats: usize,
    reference: u64,
    reference_lookups: usize,
    threads: usize,
    multi: u64,
) -> BenchReport {
    BenchReport {
        source,
        rules,
        build_ms: build.as_secs_f64() * 1e3,
        memory_bytes,
        bytes_per_rule: memory_bytes as f64 / rules.max(1) as f64,
        memory_method,
        verified,
        packet_source,
        packets,
        lookups,
        matcher_single_thread_lookups_per_s: single.0,
        matcher_single_thread_min: single.1,
        matcher_single_thread_max: single.2,
        repeats: repeats.max(1),
        reference_single_thread_lookups_per_s: reference,
        reference_lookups,
        threads,
        matcher_multi_thread_lookups_per_s: multi,
        speedup_vs_reference: single.0 as f64 / reference.max(1) as f64,
        speedup_threads: multi as f64 / single.0.max(1) as f64,
    }
}

/// One world query: the packet, its target and direction.
#[derive(Debug, Clone)]
pub struct WorldQuery {
    /// The packet.
    pub packet: Packet,
    /// The target (an ENI, instance or group id).
    pub to: String,
    /// The direction.
    pub direction: Direction,
}

/// Seeded packets for a world: for a target (`to`, or each ENI in turn), a packet whose
/// local end is one of the target's addresses and whose peer end, protocol and ports are
/// aimed at one of its rules of that direction (sometimes random).
pub fn world_packets(world: &World, to: Option<&str>, n: usize, seed: u64) -> Vec<WorldQuery> {
    // (target id, its addresses, its groups as indexes). Each group is lowered once.
    type Aim = (String, Vec<IpAddr>, Vec<usize>);
    let index = WorldIndex::new(world);
    let lowered: Vec<[Vec<EngineRule>; 2]> = world
        .security_groups
        .iter()
        .map(|g| {
            [Direction::Ingress, Direction::Egress].map(|d| lower_group(&index, world, g, d, None))
        })
        .collect();
    let mut targets: Vec<Aim> = Vec::new();
    for e in index.enis() {
        if to.is_some_and(|t| t != e.id) {
            continue;
        }
        targets.push((e.id.clone(), e.private_ips.clone(), e.groups.clone()));
    }
    if let (Some(t), true) = (to, targets.is_empty()) {
        if let Some(g) = index.group_index(t) {
            let addrs = vec![
                IpAddr::from([10, 0, 0, 1]),
                IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]),
            ];
            targets.push((t.to_string(), addrs, vec![g]));
        }
    }
    let mut r = SplitMix64::new(seed);
    let mut out = Vec::with_capacity(n);
    let mut attempts = 0usize;
    while out.len() < n && !targets.is_empty() && attempts < n.saturating_mul(8) {
        attempts += 1;
        let Some((id, addrs, groups)) = targets.get(r.below(targets.len() as u64) as usize) else {
            break;
        };
        let direction = if r.percent(50) {
            Direction::Ingress
        } else {
            Direction::Egress
        };
        // Aimed at a rule of one of the target's groups.
        let group = groups
            .get(r.below(groups.len() as u64) as usize)
            .and_then(|&g| lowered.get(g));
        let rules: &[EngineRule] = match (group, direction) {
            (Some([ingress, _]), Direction::Ingress) => ingress,
            (Some([_, egress]), Direction::Egress) => egress,
            (None, _) => &[],
        };
        let base = generate::packets(rules, 1, r.next_u64()).into_iter().next();
        let Some(base) = base else { break };
        // `base` is ingress-shaped: src = peer. Put one of the target's own addresses of the
        // peer's family at the local end.
        let peer = base.src();
        let local = addrs
            .iter()
            .filter(|a| a.is_ipv4() == peer.is_ipv4())
            .nth(r.below(addrs.len() as u64) as usize % addrs.len().max(1))
            .or_else(|| addrs.iter().find(|a| a.is_ipv4() == peer.is_ipv4()));
        let Some(&local) = local else { continue };
        let packet = match direction {
            Direction::Ingress => base.with_dst(local),
            Direction::Egress => {
                Packet::new(base.protocol, local, base.dst_port, peer, base.src_port)
            }
        };
        // `local` was chosen of the peer's family.
        let Ok(packet) = packet else { continue };
        out.push(WorldQuery {
            packet,
            to: id.clone(),
            direction,
        });
    }
    out
}

/// Benchmarks a world: [`WorldMatcher`] against the reference evaluator.
pub fn run_world(
    source: String,
    world: &World,
    to: Option<&str>,
    opts: &BenchOptions,
) -> Result<BenchReport, BenchError> {
    let queries = world_packets(world, to, opts.packets.clamp(1, 100_000), opts.seed);
    if queries.is_empty() {
        return Err(BenchError::NoPackets(match to {
            Some(t) => format!("target `{t}` has no address or does not exist"),
            None => "the world has no network interface with an address".into(),
        }));
    }
    let before = heap_now();
    let start = Instant::now();
    let m = WorldMatcher::compile(world).map_err(|e| BenchError::Compile(e.to_string()))?;
    let build = start.elapsed();
    let rules: usize = m.compiled_sets().map(|s| s.len()).sum();
    let (memory_bytes, memory_method) = match (before, heap_now()) {
        (Some(a), Some(b)) => (b.saturating_sub(a), "allocator"),
        _ => (
            m.compiled_sets().map(|s| s.matcher().heap_bytes()).sum(),
            "layout",
        ),
    };
    // The reference resolves through the world's index, built once as a user deciding many
    // packets would.
    let index = std::sync::Arc::new(WorldIndex::new(world));
    let sample: Vec<&WorldQuery> = queries.iter().take(opts.verify).collect();
    let bad: Vec<String> = sample
        .par_iter()
        .filter_map(|q| {
            let want = reference::decide_with(&index, world, &q.packet, Some(&q.to), q.direction);
            let got = m.decide(&q.packet, Some(&q.to), q.direction);
            (want != got).then(|| format!("{q:?}: matcher {got:?}, reference {want:?}"))
        })
        .collect();
    if let Some(first) = bad.first() {
        return Err(BenchError::Mismatch {
            count: bad.len(),
            first: first.clone(),
        });
    }
    let score = |d: Result<crate::model::Decision, reference::TargetError>| {
        d.map_or(0, |d| d.verdict as usize)
    };
    let (single, lookups) = time_repeated(&queries, opts.packets, opts.repeat, |q| {
        score(m.decide(&q.packet, Some(&q.to), q.direction))
    });
    let (reference, reference_lookups) = time_budget(
        &queries,
        opts.packets,
        opts.reference_budget,
        &mut |q: &WorldQuery| {
            score(reference::decide_with(
                &index,
                world,
                &q.packet,
                Some(&q.to),
                q.direction,
            ))
        },
    );
    let threads = threads(opts);
    let multi = time_multi(&queries, opts.packets, threads, |q| {
        score(m.decide(&q.packet, Some(&q.to), q.direction))
    })?;
    Ok(report(
        source,
        rules,
        build,
        memory_bytes,
        memory_method,
        sample.len(),
        format!("generated for the world, seed {}", opts.seed),
        queries.len(),
        lookups,
        single,
        opts.repeat,
        reference,
        reference_lookups,
        threads,
        multi,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_bench_reports() {
        let opts = BenchOptions {
            packets: 20_000,
            threads: Some(2),
            verify: 500,
            seed: 3,
            reference_budget: Duration::from_millis(50),
            repeat: 3,
        };
        let r = run(&BenchSource::Generate { n: 500, seed: 1 }, &opts).unwrap();
        assert_eq!(r.rules, 500);
        assert_eq!(r.verified, 500);
        assert!(r.matcher_single_thread_lookups_per_s > 0);
        assert_eq!(r.repeats, 3);
        assert!(r.matcher_single_thread_min <= r.matcher_single_thread_lookups_per_s);
        assert!(r.matcher_single_thread_lookups_per_s <= r.matcher_single_thread_max);
        let text = r.to_text();
        let line = text
            .lines()
            .find(|l| l.starts_with("matcher single-thread: "))
            .unwrap();
        let n = line
            .trim_start_matches("matcher single-thread: ")
            .trim_end_matches(" lookups/s");
        assert!(n.parse::<u64>().is_ok(), "{line}");
        let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(json["rules"], 500);
    }

    #[test]
    fn classbench_bench_uses_the_trace_beside_the_set() {
        let dir = std::env::temp_dir().join(format!("sgsim-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let filters = dir.join("tiny_1k");
        std::fs::write(
            &filters,
            "@10.0.0.0/8\t0.0.0.0/0\t0 : 65535\t22 : 22\t0x06/0xFF\t0x0000/0x0000\n\
             @0.0.0.0/0\t0.0.0.0/0\t0 : 65535\t0 : 65535\t0x00/0x00\t0x0000/0x0000\n",
        )
        .unwrap();
        let opts = BenchOptions {
            packets: 2_000,
            threads: Some(1),
            verify: 100,
            seed: 3,
            reference_budget: Duration::from_millis(20),
            repeat: 2,
        };
        let source = BenchSource::ClassBench {
            filters: filters.clone(),
            trace: None,
        };
        let generated = run(&source, &opts).unwrap();
        assert!(
            generated.packet_source.starts_with("generated"),
            "{generated:?}"
        );
        std::fs::write(
            dir.join("tiny_1k_trace"),
            "167772161\t1\t1000\t22\t6\t0\t0\n3232235521\t1\t1000\t80\t17\t0\t1\n",
        )
        .unwrap();
        let traced = run(&source, &opts).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(traced.packet_source.starts_with("trace "), "{traced:?}");
        assert_eq!(traced.packets, 2);
        assert_eq!(traced.verified, 2);
        assert_eq!(traced.repeats, 2);
        assert!(traced.to_text().contains("tiny_1k_trace"));
    }

    #[test]
    fn world_bench_reports() {
        let world = crate::world_file::load_str(
            r#"
            [[vpcs]]
            id = "vpc-1"
            [[security_groups]]
            id = "sg-web"
            vpc_id = "vpc-1"
            rules = [
              { direction = "ingress", ip_protocol = "TCP", port_range = "22/22", source_cidr_ip = "10.0.0.0/8" },
              { direction = "egress", ip_protocol = "ALL", port_range = "-1/-1", dest_cidr_ip = "0.0.0.0/0", policy = "drop" },
            ]
            [[instances]]
            id = "i-web"
            vpc_id = "vpc-1"
            security_groups = ["sg-web"]
            private_ips = ["192.168.1.10"]
            "#,
            crate::world_file::Format::Toml,
            "w.toml",
        )
        .unwrap();
        let opts = BenchOptions {
            packets: 5_000,
            threads: Some(2),
            verify: 300,
            seed: 3,
            reference_budget: Duration::from_millis(50),
            repeat: 1,
        };
        let r = run_world("world w.toml".into(), &world, None, &opts).unwrap();
        assert_eq!(r.verified, 300);
        assert!(r.rules >= 2);
        let none = run_world("w".into(), &world, Some("i-nothing"), &opts);
        assert!(matches!(none, Err(BenchError::NoPackets(_))));
    }
}
