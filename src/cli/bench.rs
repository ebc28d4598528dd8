//! `sgsim bench`: build time, memory and lookup rates of the compiled matcher, checked
//! against the reference before anything is timed.

use clap::{ArgGroup, Args};
use sgsim::bench::{self, BenchOptions, BenchSource};
use std::path::PathBuf;

/// Arguments of `sgsim bench`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("source").required(true).args(["world", "classbench", "generate"])))]
pub struct BenchArgs {
    /// A world file: its ENIs (or `--to`'s) compiled rule sets.
    #[arg(long, value_name = "FILE")]
    world: Option<PathBuf>,
    /// The target within the world (instance, ENI or group id).
    #[arg(long, value_name = "ID", requires = "world")]
    to: Option<String>,
    /// A ClassBench filter set (line order is priority).
    #[arg(long, value_name = "FILE")]
    classbench: Option<PathBuf>,
    /// The ClassBench trace to time (default: packets generated from the rules).
    #[arg(long, value_name = "FILE", requires = "classbench")]
    trace: Option<PathBuf>,
    /// A generated rule set of N rules.
    #[arg(long, value_name = "N")]
    generate: Option<usize>,
    /// The generator's seed.
    #[arg(long, value_name = "S", default_value_t = 1)]
    seed: u64,
    /// Lookups per timed measurement.
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    packets: usize,
    /// Threads of the batch measurement (default: every core).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Packets checked matcher = reference before timing.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    verify: usize,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Runs `sgsim bench`; returns the exit status.
pub fn run(args: &BenchArgs) -> i32 {
    let source = if let Some(path) = &args.world {
        BenchSource::World {
            path: path.clone(),
            to: args.to.clone(),
        }
    } else if let Some(filters) = &args.classbench {
        BenchSource::ClassBench {
            filters: filters.clone(),
            trace: args.trace.clone(),
        }
    } else {
        BenchSource::Generate {
            n: args.generate.unwrap_or(1000),
            seed: args.seed,
        }
    };
    if args.threads == Some(0) || args.packets == 0 {
        super::error("`--threads` and `--packets` must be at least 1");
        return 2;
    }
    let opts = BenchOptions {
        packets: args.packets,
        threads: args.threads,
        verify: args.verify,
        seed: args.seed,
        ..BenchOptions::default()
    };
    match bench::run(&source, &opts) {
        Ok(report) => {
            if args.json {
                super::out(&format!("{}\n", report.to_json()));
            } else {
                super::out(&report.to_text());
            }
            0
        }
        Err(e) => {
            super::error(e);
            2
        }
    }
}
