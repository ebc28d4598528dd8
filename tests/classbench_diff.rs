//! Every ClassBench set in `shared/data/classbench/` that has a trace: every trace packet is
//! decided identically by the compiled matcher and by the linear scan, deciding rule
//! included; the scan's answer never comes after the trace's `idx` column (an upper bound).

use sgsim::classbench::{load_filters, load_trace};
use sgsim::engine::matcher::Matcher;
use sgsim::engine::rule::{linear_scan, linear_scan_dir};
use std::path::PathBuf;

fn data_dir() -> Option<PathBuf> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let candidates = [
        std::env::var_os("SGSIM_CLASSBENCH_DIR").map(PathBuf::from),
        Some(manifest.join("../shared/data/classbench")),
        Some(PathBuf::from("/work/shared/data/classbench")),
    ];
    candidates.into_iter().flatten().find(|p| p.is_dir())
}

/// The sets with a trace, sorted by name.
fn sets_with_trace() -> Vec<(PathBuf, PathBuf)> {
    let Some(dir) = data_dir() else {
        return Vec::new();
    };
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
        "no ClassBench data found (set SGSIM_CLASSBENCH_DIR)"
    );
    let mut total = 0usize;
    for (set, trace) in &sets {
        let rules = load_filters(set).unwrap();
        let packets = load_trace(trace).unwrap();
        let m = Matcher::compile(&rules).unwrap();
        // The linear scan is the cost here: spread it over the cores.
        let mismatches: Vec<String> = std::thread::scope(|s| {
            let chunks: Vec<_> = packets
                .chunks(packets.len().div_ceil(4).max(1))
                .map(|chunk| {
                    let (rules, m) = (&rules, &m);
                    s.spawn(move || {
                        let mut bad = Vec::new();
                        for tp in chunk {
                            let want = linear_scan(rules, &tp.packet);
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
    let Some((set, trace)) = sets_with_trace().into_iter().next() else {
        return;
    };
    let rules = load_filters(&set).unwrap();
    let packets = load_trace(&trace).unwrap();
    let m = Matcher::compile(&rules).unwrap();
    for tp in packets.iter().take(2000) {
        let p = &tp.packet;
        // Egress: peer is the destination, local the source.
        assert_eq!(
            m.lookup_dir(p, p.dst, p.src),
            linear_scan_dir(&rules, p, p.dst, p.src)
        );
    }
}
