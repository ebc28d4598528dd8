//! `sgsim bench`: build time, memory and lookup rates of the compiled matcher, checked
//! against the reference before anything is timed.

use clap::{ArgGroup, Args};
use sgsim::bench::{self, BenchOptions, BenchSource};
use sgsim::generate_world::{self, Shape};
use std::path::{Path, PathBuf};

/// Arguments of `sgsim bench`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("source").required(true).args(["world", "classbench", "generate", "generate_world"])))]
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
    /// The ClassBench trace to time (default: the trace beside the set, `FILE_trace`, when
    /// there is one, else packets generated from the rules).
    #[arg(long, value_name = "FILE", requires = "classbench")]
    trace: Option<PathBuf>,
    /// A generated rule set of N rules.
    #[arg(long, value_name = "N")]
    generate: Option<usize>,
    /// A generated world of real size: `one-group` (instances in one basic group with inner
    /// access Accept and one rule), `many-groups` (instances in 1-3 of 100 groups of 20 rules,
    /// half naming other groups), or `scenario` (a many-groups scenario; needs --write).
    #[arg(long, value_name = "SHAPE", value_parser = ["one-group", "many-groups", "scenario"])]
    generate_world: Option<String>,
    /// Instances of the generated world (default: 10000; 1500 for `scenario`).
    #[arg(long, value_name = "N", requires = "generate_world")]
    instances: Option<usize>,
    /// Steps of the generated scenario.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 200,
        requires = "generate_world"
    )]
    steps: usize,
    /// Lines of the generated `check --batch` file.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 2000,
        requires = "generate_world"
    )]
    batch_lines: usize,
    /// Write the generated world (DIR/SHAPE.toml) and a `check --batch` file of its packets
    /// (DIR/SHAPE.batch), or the scenario (DIR/scenario.toml), instead of benchmarking.
    #[arg(long, value_name = "DIR", requires = "generate_world")]
    write: Option<PathBuf>,
    /// The generator's seed.
    #[arg(long, value_name = "S", default_value_t = 1)]
    seed: u64,
    /// Lookups per timed measurement.
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    packets: usize,
    /// Threads of the batch measurement (default: every core).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// How many times the single-thread timing is repeated (the median is reported, with the
    /// minimum and maximum).
    #[arg(long, value_name = "N", default_value_t = 5)]
    repeat: usize,
    /// Packets checked matcher = reference before timing.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    verify: usize,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Runs `sgsim bench`; returns the exit status.
pub fn run(args: &BenchArgs) -> i32 {
    if let Some(shape) = &args.generate_world {
        if let Some(dir) = &args.write {
            return write_generated(args, shape, dir);
        }
    }
    let source = if let Some(shape) = &args.generate_world {
        let Some(shape) = Shape::parse(shape) else {
            super::error("`--generate-world scenario` writes a scenario file: add --write DIR");
            return 2;
        };
        BenchSource::GeneratedWorld {
            shape,
            instances: args.instances.unwrap_or(10_000),
            seed: args.seed,
        }
    } else if let Some(path) = &args.world {
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
    if args.threads == Some(0) || args.packets == 0 || args.repeat == 0 {
        super::error("`--threads`, `--packets` and `--repeat` must be at least 1");
        return 2;
    }
    let opts = BenchOptions {
        packets: args.packets,
        threads: args.threads,
        verify: args.verify,
        seed: args.seed,
        repeat: args.repeat,
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

/// Writes a generated world and its batch file, or the generated scenario, into `dir`.
fn write_generated(args: &BenchArgs, shape: &str, dir: &Path) -> i32 {
    let write = |name: String, text: String| -> Result<(), String> {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| {
            format!(
                "{}: cannot write: {}",
                path.display(),
                sgsim::world_file::io_reason(&e)
            )
        })
    };
    let done = match Shape::parse(shape) {
        Some(s) => {
            let n = args.instances.unwrap_or(10_000);
            let world = generate_world::world(s, n, args.seed);
            sgsim::world_file::to_string(&world, sgsim::world_file::Format::Toml)
                .and_then(|text| write(format!("{}.toml", s.name()), text))
                .and_then(|()| {
                    let mut lines =
                        generate_world::batch_lines(n, args.batch_lines, args.seed).join("\n");
                    lines.push('\n');
                    write(format!("{}.batch", s.name()), lines)
                })
        }
        None => {
            let n = args.instances.unwrap_or(1500);
            generate_world::scenario_text(n, args.steps, args.seed)
                .and_then(|text| write("scenario.toml".into(), text))
        }
    };
    match done {
        Ok(()) => 0,
        Err(e) => {
            super::error(e);
            2
        }
    }
}
