use sgsim::classbench::{load_filters, load_trace};
use sgsim::engine::matcher::Matcher;
use std::time::Instant;
fn main() {
    let dir = "/work/shared/data/classbench";
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| !n.contains('.') && !n.ends_with("_trace"))
        .collect();
    names.sort();
    for n in names {
        let rules = load_filters(format!("{dir}/{n}").as_ref()).unwrap();
        let pk: Vec<_> = load_trace(format!("{dir}/{n}_trace").as_ref())
            .unwrap()
            .into_iter()
            .map(|t| t.packet)
            .collect();
        let t = Instant::now();
        let m = Matcher::compile(&rules).unwrap();
        let b = t.elapsed();
        let reps = (2_000_000 / pk.len()).max(1);
        let t = Instant::now();
        let mut acc = 0usize;
        for _ in 0..reps {
            for p in &pk {
                acc = acc.wrapping_add(m.lookup(std::hint::black_box(p)).unwrap_or(0));
            }
        }
        let el = t.elapsed().as_secs_f64();
        let pr: usize = pk.iter().map(|p| m.tables_probed(p)).sum();
        print!("probes {:5.1} ", pr as f64 / pk.len() as f64);
        println!("{n:10} rules {:6} tables {:4?} build {:7.2}ms mem {:5.1} B/rule  {:6.2} M lookups/s  {acc}", rules.len(), m.table_counts(), b.as_secs_f64()*1e3, m.heap_bytes() as f64 / rules.len() as f64, (reps*pk.len()) as f64 / el / 1e6);
    }
}
#[allow(dead_code)]
fn unused() {}
