//! Writes seeded flow logs for a world (the generator of `sgsim::replay::gen`):
//!
//! `cargo run -q --example replay_gen -- WORLD SEED CONNECTIONS FORMAT [FLIP%] > OUT`
//! with FORMAT `csv`, `sls-json` or `aws`; FLIP% of the records get the other action
//! logged, so the replay has disagreements to show.

use sgsim::replay::gen::{generate, write_aws, write_csv, write_json, GenOptions};
use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [world, seed, n, format, rest @ ..] = args.as_slice() else {
        eprintln!("usage: replay_gen WORLD SEED CONNECTIONS csv|sls-json|aws [FLIP%]");
        std::process::exit(2);
    };
    let world = match sgsim::world_file::load(std::path::Path::new(world)) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let opt = GenOptions {
        seed: seed.parse().unwrap_or(1),
        connections: n.parse().unwrap_or(100),
        flip_percent: rest.first().and_then(|f| f.parse().ok()).unwrap_or(0),
        syn_swap_percent: if format == "aws" { 0 } else { 30 },
        ..GenOptions::default()
    };
    let recs = generate(&world, &opt);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let r = match format.as_str() {
        "csv" => write_csv(&recs, &mut out),
        "sls-json" => write_json(&recs, &mut out),
        "aws" => write_aws(&recs, &mut out),
        f => {
            eprintln!("error: unknown format {f}");
            std::process::exit(2);
        }
    };
    if r.and_then(|()| out.flush()).is_err() {
        std::process::exit(1);
    }
}
