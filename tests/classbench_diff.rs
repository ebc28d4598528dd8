//! Every ClassBench set that has a trace: every trace packet is decided identically by the
//! compiled matcher and by the linear scan, deciding rule included; the scan's answer never
//! comes after the trace's `idx` column (an upper bound).
//!
//! The sets are the ones shipped in `tests/data/classbench/` (see its README), or every set
//! in the folder `SGSIM_CLASSBENCH_DIR` names when it is set (the full sweep).

use sgsim::classbench::{load_filters, load_trace};
use sgsim::engine::matcher::Matcher;
use sgsim::engine::rule::EngineRule;
use sgsim::engine::rule::{linear_scan, linear_scan_dir};
use sgsim::model::Packet;
use std::net::IpAddr;
use std::path::PathBuf;

/// A ClassBench rule flattened to integers, for a fast first-match scan in debug builds.
struct Flat {
    src: u32,
    src_mask: u32,
    dst: u32,
    dst_mask: u32,
    sport: (u16, u16),
    dport: (u16, u16),
    proto: Option<u8>,
}

fn bits(net: &ipnet::IpNet) -> (u32, u32) {
    match net {
        ipnet::IpNet::V4(n) => (u32::from(n.network()), u32::from(n.netmask())),
        ipnet::IpNet::V6(_) => panic!("ClassBench is IPv4"),
    }
}

fn flatten(rules: &[EngineRule]) -> Vec<Flat> {
    rules
        .iter()
        .map(|r| {
            let (src, src_mask) = bits(&r.peer[0]);
            let (dst, dst_mask) = bits(&r.local.unwrap());
            Flat {
                src,
                src_mask,
                dst,
                dst_mask,
                sport: (r.src_ports.start(), r.src_ports.end()),
                dport: (r.dst_ports.start(), r.dst_ports.end()),
                proto: r.protocol,
            }
        })
        .collect()
}

/// SPEC §7's ground truth: the first line, in file order, that matches (ranks are the line
/// numbers, so this is the linear scan's answer; checked against it on a sample below).
fn first_match(flat: &[Flat], p: &Packet) -> Option<usize> {
    let (IpAddr::V4(s), IpAddr::V4(d)) = (p.src(), p.dst()) else {
        return None;
    };
    let (s, d) = (u32::from(s), u32::from(d));
    flat.iter().position(|f| {
        s & f.src_mask == f.src
            && d & f.dst_mask == f.dst
            && f.sport.0 <= p.src_port
            && p.src_port <= f.sport.1
            && f.dport.0 <= p.dst_port
            && p.dst_port <= f.dport.1
            && f.proto.is_none_or(|x| x == p.protocol)
    })
}

/// `SGSIM_CLASSBENCH_DIR` when set (it must name a folder), else the shipped sets.
fn data_dir() -> PathBuf {
    match std::env::var_os("SGSIM_CLASSBENCH_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            assert!(
                dir.is_dir(),
                "SGSIM_CLASSBENCH_DIR={}: not a folder",
                dir.display()
            );
            dir
        }
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/classbench"),
    }
}

/// The sets with a trace, sorted by name.
fn sets_with_trace() -> Vec<(PathBuf, PathBuf)> {
    let dir = data_dir();
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.contains('.') || name.ends_with("_trace") {
            continue;
        }
        let trace = dir.join(format!("{name}_trace"));
        if trace.is_file() {
            out.push((path, trace));
        }
    }
    out.sort();
    out
}

#[test]
fn matcher_equals_linear_scan_on_every_classbench_trace() {
    let sets = sets_with_trace();
    assert!(
        !sets.is_empty(),
        "no ClassBench set with a trace in {}",
        data_dir().display()
    );
    let mut total = 0usize;
    for (set, trace) in &sets {
        let rules = load_filters(set).unwrap();
        let packets = load_trace(trace).unwrap();
        let m = Matcher::compile(&rules).unwrap();
        let flat = flatten(&rules);
        // The linear scan is the cost here: spread it over the cores.
        let mismatches: Vec<String> = std::thread::scope(|s| {
            let chunks: Vec<_> = packets
                .chunks(packets.len().div_ceil(4).max(1))
                .map(|chunk| {
                    let (rules, m, flat) = (&rules, &m, &flat);
                    s.spawn(move || {
                        let mut bad = Vec::new();
                        for (i, tp) in chunk.iter().enumerate() {
                            let want = first_match(flat, &tp.packet);
                            if i % 64 == 0 {
                                assert_eq!(want, linear_scan(rules, &tp.packet), "first match");
                            }
                            let got = m.lookup(&tp.packet);
                            if want != got {
                                bad.push(format!(
                                    "{:?}: matcher {got:?}, scan {want:?}",
                                    tp.packet
                                ));
                            }
                            if let (Some(w), Some(idx)) = (want, tp.filter) {
                                assert!(w <= idx as usize, "first match after the trace's idx");
                            }
                        }
                        bad
                    })
                })
                .collect();
            chunks.into_iter().flat_map(|h| h.join().unwrap()).collect()
        });
        assert!(
            mismatches.is_empty(),
            "{}: {} mismatches, first: {}",
            set.display(),
            mismatches.len(),
            mismatches[0]
        );
        total += packets.len();
    }
    eprintln!("checked {total} trace packets over {} sets", sets.len());
}

#[test]
fn egress_orientation_on_a_classbench_set() {
    let (set, trace) = sets_with_trace()
        .into_iter()
        .next()
        .expect("a ClassBench set with a trace");
    let rules = load_filters(&set).unwrap();
    let packets = load_trace(&trace).unwrap();
    let m = Matcher::compile(&rules).unwrap();
    for tp in packets.iter().take(2000) {
        let p = &tp.packet;
        // Egress: peer is the destination, local the source.
        assert_eq!(
            m.lookup_dir(p, p.dst(), p.src()),
            linear_scan_dir(&rules, p, p.dst(), p.src())
        );
    }
}
