//! Lookup statistics for choosing a pre-classification in front of the tables (tests only):
//! per ClassBench trace, how many of the tables a lookup probes could be skipped if the
//! tables were first narrowed by one field's elementary intervals (a table stays when one
//! of its entries' intervals of that field holds the packet's value), and how many
//! intervals that field has (its memory). Run with
//! `SGSIM_CLASSBENCH_DIR=… cargo test --lib matcher::stats -- --ignored --nocapture`.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use super::bits::Bits;
use super::layout::Index;
use super::table::{Classifier, Entry, Query};
use super::Matcher;

/// The fields a pre-classification could cut on.
const FIELDS: [&str; 5] = ["dport", "proto+dport", "peer", "local", "sport"];

/// An entry's interval of field `f` (proto+dport: the protocol above the port; an
/// any-protocol entry covers every protocol, here as the whole span).
fn interval(e: &Entry<u32>, f: usize) -> (u64, u64) {
    let span = |net: u32, len: u8| {
        let lo = u64::from(net);
        (lo, lo | u64::from(!u32::mask(len)))
    };
    match f {
        0 => (u64::from(e.dport_lo), u64::from(e.dport_hi)),
        1 => {
            if e.proto_exact() && e.dport_lo == 0 && e.dport_hi == u16::MAX {
                let p = u64::from(e.proto) << 16;
                (p, p | 0xFFFF)
            } else if e.proto_exact() {
                let p = u64::from(e.proto) << 16;
                (p | u64::from(e.dport_lo), p | u64::from(e.dport_hi))
            } else {
                (0, 0xFF_FFFF)
            }
        }
        2 => span(e.peer, e.peer_len),
        3 => span(e.local, e.local_len),
        _ => (u64::from(e.sport_lo), u64::from(e.sport_hi)),
    }
}

fn value(q: &Query<u32>, f: usize) -> u64 {
    match f {
        0 => u64::from(q.dport),
        1 => u64::from(q.proto) << 16 | u64::from(q.dport),
        2 => u64::from(q.peer),
        3 => u64::from(q.local),
        _ => u64::from(q.sport),
    }
}

/// Per table, per field: its entries' intervals merged and sorted.
fn table_intervals(c: &Classifier<u32>) -> Vec<[Vec<(u64, u64)>; 5]> {
    let entries = c.unpacked_entries();
    c.tables
        .iter()
        .map(|t| {
            let mut ranges: Vec<(u32, u16)> = t
                .groups
                .iter()
                .flat_map(|g| (0..4).map(move |l| (g.starts[l], g.lens[l])))
                .chain(t.stash.iter().map(|s| (s.start, s.len)))
                .filter(|r| r.1 != 0)
                .collect();
            ranges.sort();
            std::array::from_fn(|f| {
                let mut iv: Vec<(u64, u64)> = ranges
                    .iter()
                    .flat_map(|&(s, l)| &entries[s as usize..s as usize + usize::from(l)])
                    .map(|e| interval(e, f))
                    .collect();
                iv.sort();
                let mut merged: Vec<(u64, u64)> = Vec::new();
                for (lo, hi) in iv {
                    match merged.last_mut() {
                        Some(m) if lo <= m.1.saturating_add(1) => m.1 = m.1.max(hi),
                        _ => merged.push((lo, hi)),
                    }
                }
                merged
            })
        })
        .collect()
}

fn holds(iv: &[(u64, u64)], v: u64) -> bool {
    let i = iv.partition_point(|r| r.0 <= v);
    i > 0 && iv[i - 1].1 >= v
}

/// Elementary intervals of a field over all tables (distinct boundaries).
fn elementary(tiv: &[[Vec<(u64, u64)>; 5]], f: usize) -> usize {
    let mut b: Vec<u64> = tiv
        .iter()
        .flat_map(|t| t[f].iter().flat_map(|&(lo, hi)| [lo, hi.saturating_add(1)]))
        .collect();
    b.sort();
    b.dedup();
    b.len()
}

/// The fifteen ClassBench sets with a trace.
const SETS: [&str; 15] = [
    "acl1_1k", "acl2_1k", "acl3_1k", "acl4_1k", "acl5_1k", "fw1_1k", "fw2_1k", "fw3_1k", "fw4_1k",
    "fw5_1k", "ipc1_1k", "ipc2_1k", "acl2_10k", "fw1_10k", "ipc1_10k",
];

/// An IPv4 packet as the IPv4 classifier sees it at ingress (`None` for IPv6).
fn v4_query(p: &crate::model::Packet) -> Option<Query<u32>> {
    let (std::net::IpAddr::V4(src), std::net::IpAddr::V4(dst)) = (p.src(), p.dst()) else {
        return None;
    };
    Some(Query {
        peer: u32::from(src),
        local: u32::from(dst),
        proto: p.protocol,
        sport: p.src_port,
        dport: p.dst_port,
    })
}

/// The folder `SGSIM_CLASSBENCH_DIR` names, if set.
fn classbench_dir() -> Option<std::path::PathBuf> {
    std::env::var_os("SGSIM_CLASSBENCH_DIR").map(std::path::PathBuf::from)
}

#[test]
#[ignore = "statistics over the ClassBench traces; needs SGSIM_CLASSBENCH_DIR"]
fn prefilter_statistics() {
    let Some(dir) = classbench_dir() else {
        return;
    };
    println!("set probed | left after {FIELDS:?} | left after dport&peer, proto+dport&peer, peer&local | elementary intervals");
    for s in SETS {
        let rules = crate::classbench::load_filters(&dir.join(s)).unwrap();
        let trace = crate::classbench::load_trace(&dir.join(format!("{s}_trace"))).unwrap();
        let m = Matcher::compile(&rules).unwrap();
        let parts: Vec<&Classifier<u32>> = match &m.v4 {
            Index::One(c) => vec![c],
            Index::ByProto(p) => p.iter().collect(),
        };
        let tivs: Vec<_> = parts.iter().map(|c| table_intervals(c)).collect();
        let (mut probed, mut left, mut pairs) = (0usize, [0usize; 5], [0usize; 3]);
        for t in &trace {
            let Some(q) = v4_query(&t.packet) else {
                continue;
            };
            let c = m.v4.part(q.proto);
            let k = parts.iter().position(|x| std::ptr::eq(*x, c)).unwrap();
            let best = c.lookup(&q).map_or(u32::MAX, |b| b.0);
            for (ti, tb) in c.tables.iter().enumerate() {
                if tb.min_order >= best {
                    break;
                }
                probed += 1;
                let h: [bool; 5] = std::array::from_fn(|f| holds(&tivs[k][ti][f], value(&q, f)));
                for f in 0..5 {
                    left[f] += usize::from(h[f]);
                }
                pairs[0] += usize::from(h[0] && h[2]);
                pairs[1] += usize::from(h[1] && h[2]);
                pairs[2] += usize::from(h[2] && h[3]);
            }
        }
        let n = trace.len() as f64;
        let per = |x: usize| format!("{:.2}", x as f64 / n);
        let el: Vec<usize> = (0..5)
            .map(|f| tivs.iter().map(|t| elementary(t, f)).sum())
            .collect();
        println!(
            "{s} {} | {} | {} | {el:?} (tables {})",
            per(probed),
            left.map(per).join(" "),
            pairs.map(per).join(" "),
            m.v4.tables()
        );
    }
}

/// Per table of a generated set's IPv4 classifier (`SGSIM_GEN_RULES`, default 100,000 rules,
/// 10,000 aimed packets): its tuple, buckets, entries and best order, and per aimed lookup
/// how often it is probed, passes the filter, and how many of its columns are scanned; the
/// lookups the head decides (which probe nothing), the deciding orders' percentiles, and the
/// classifier's first 40 entries in order. Run
/// with `cargo test --release --lib matcher::stats::generated -- --ignored --nocapture`.
#[test]
#[ignore = "statistics of a generated set"]
fn generated_set_tables() {
    let n: usize = std::env::var("SGSIM_GEN_RULES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let rules = crate::generate::generate(n, 1);
    let packets = crate::generate::packets(&rules, 10_000, 2);
    let m = Matcher::compile(&rules).unwrap();
    let Index::One(c) = &m.v4 else {
        println!("split by protocol: not reported");
        return;
    };
    let k = c.tables.len();
    let (mut probed, mut passed, mut scanned, mut queries) =
        (vec![0; k], vec![0; k], vec![0; k], 0);
    let (mut in_head, mut bests) = (0, Vec::new());
    for p in &packets {
        let Some(q) = v4_query(p) else {
            continue;
        };
        queries += 1;
        let best = c.lookup(&q).map_or(u32::MAX, |b| b.0);
        bests.push(best);
        if c.head.first(&q, &[]).is_some() {
            in_head += 1;
            continue;
        }
        for (ti, t) in c.tables.iter().enumerate() {
            if t.min_order >= best {
                break;
            }
            probed[ti] += 1;
            let pd = super::table::pd_word(q.proto, q.dport) & t.pd_mask;
            let h =
                super::table::hash_folded(u32::masked_fold(u32::pair(q.peer, q.local), t.mask), pd);
            if !super::table::filter_has(&t.filter, t.fshift, h) {
                continue;
            }
            passed[ti] += 1;
            let (g1, g2, tag) = super::table::place(h, t.seed, t.ngroups);
            let groups = if g1 == g2 { vec![g1] } else { vec![g1, g2] };
            for g in groups {
                let g = &t.groups[g];
                for l in 0..4 {
                    if g.tags[l] != tag || g.lens[l] == 0 {
                        continue;
                    }
                    let s = g.starts[l] as usize;
                    let range = s..s + usize::from(g.lens[l]);
                    if c.entries[s].order >= best {
                        continue;
                    }
                    // As `scan`: until an admitted entry that matches or cannot improve.
                    for i in range {
                        scanned[ti] += 1;
                        let e = &c.entries[i];
                        let w = c.columns.word(i).expect("a column per entry");
                        if super::table::column_admits(w, q.proto, q.dport)
                            && (e.order >= best || e.matches_rest(&q))
                        {
                            break;
                        }
                    }
                }
            }
        }
    }
    let per = |x: usize| x as f64 / f64::from(queries.max(1));
    println!("{n} rules: {k} IPv4 tables, {queries} IPv4 packets");
    for (ti, t) in c.tables.iter().enumerate().filter(|(i, _)| probed[*i] > 0) {
        let buckets: usize = t
            .groups
            .iter()
            .map(|g| g.lens.iter().filter(|&&l| l > 0).count())
            .sum();
        let entries: usize = t
            .groups
            .iter()
            .map(|g| g.lens.iter().map(|&l| usize::from(l)).sum::<usize>())
            .sum();
        println!(
            "table {ti:3}: best order {:7}, mask {:016x}, pd {:06x}, {buckets:6} buckets, {entries:7} entries; probed {:.3}, passed {:.3}, columns {:.3}",
            t.min_order, t.mask, t.pd_mask, per(probed[ti]), per(passed[ti]), per(scanned[ti])
        );
    }
    bests.sort_unstable();
    let pct = |p: usize| bests.get((bests.len().max(1) - 1) * p / 100).copied();
    println!(
        "head: {} entries, decides {:.3} of the lookups; deciding order at 10/50/90/100 %: {:?} {:?} {:?} {:?}",
        c.head.len(),
        per(in_head),
        pct(10),
        pct(50),
        pct(90),
        pct(100)
    );
    let mut first = c.unpacked_entries();
    first.sort_by_key(|e| e.order);
    for e in first.iter().take(40) {
        let proto = if e.proto_exact() {
            e.proto.to_string()
        } else {
            "any".to_string()
        };
        println!(
            "  order {:4}: peer /{} local /{} protocol {proto} dport {}-{} sport {}-{}",
            e.order, e.peer_len, e.local_len, e.dport_lo, e.dport_hi, e.sport_lo, e.sport_hi
        );
    }
    let sum = |v: &[usize]| per(v.iter().sum());
    println!(
        "per lookup: probed {:.2}, passed {:.2}, columns {:.2}",
        sum(&probed),
        sum(&passed),
        sum(&scanned)
    );
}

#[test]
#[ignore = "the pre-classification kept per ClassBench set; needs SGSIM_CLASSBENCH_DIR"]
fn pre_classification_shapes() {
    let Some(dir) = classbench_dir() else {
        return;
    };
    for s in SETS {
        let rules = crate::classbench::load_filters(&dir.join(s)).unwrap();
        let m = Matcher::compile(&rules).unwrap();
        let parts: Vec<&Classifier<u32>> = match &m.v4 {
            Index::One(c) => vec![c],
            Index::ByProto(p) => p.iter().collect(),
        };
        let shapes: Vec<String> = parts
            .iter()
            .map(|c| {
                format!(
                    "{}t {} head {}",
                    c.tables.len(),
                    c.pre.describe(),
                    c.head.len()
                )
            })
            .collect();
        println!("{s}: {}", shapes.join(" | "));
    }
}
