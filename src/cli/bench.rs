//! `sgsim bench`: build time, memory and lookup rates of the compiled matcher, checked
//! against the reference before anything is timed.

use clap::builder::TypedValueParser as _;
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
    /// A generated rule set of N rules (1-10,000,000).
    #[arg(long, value_name = "N", value_parser = count(1, 10_000_000))]
    generate: Option<usize>,
    /// A generated world of real size: `one-group` (instances in one basic group with inner
    /// access Accept and one rule), `many-groups` (instances in 1-3 of 100 groups of 20 rules,
    /// half naming other groups), or `scenario` (a many-groups scenario; needs --write).
    #[arg(long, value_name = "SHAPE", value_parser = clap::builder::PossibleValuesParser::new(["one-group", "many-groups", "scenario"]).map(|s| s.to_ascii_lowercase()), ignore_case = true)]
    generate_world: Option<String>,
    /// Instances of the generated world (default: 10000; 1500 for `scenario`).
    #[arg(long, value_name = "N", requires = "generate_world", value_parser = count(1, 1_000_000))]
    instances: Option<usize>,
    /// Steps of the generated scenario.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 200,
        requires = "generate_world",
        value_parser = count(1, 1_000_000)
    )]
    steps: usize,
    /// Lines of the generated `check --batch` file.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 2000,
        requires = "generate_world",
        value_parser = count(1, 100_000_000)
    )]
    batch_lines: usize,
    /// Write the generated world (DIR/SHAPE.toml) and a `check --batch` file of its packets
    /// (DIR/SHAPE.batch), or the scenario (DIR/scenario.toml), instead of benchmarking.
    #[arg(long, value_name = "DIR", requires = "generate_world")]
    write: Option<PathBuf>,
    /// The generator's seed.
    #[arg(long, value_name = "S", default_value_t = 1)]
    seed: u64,
    /// Lookups per timed measurement (1-1,000,000,000).
    #[arg(long, value_name = "N", default_value_t = 1_000_000, value_parser = count(1, 1_000_000_000))]
    packets: usize,
    /// Threads of the batch measurement (default: every core; 1-1024).
    #[arg(long, value_name = "N", value_parser = count(1, 1024))]
    threads: Option<usize>,
    /// Packets checked matcher = reference before timing (0-100,000,000).
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = count(0, 100_000_000))]
    verify: usize,
    /// How many times the single-thread timing is repeated; the median is reported, with the
    /// minimum and maximum (1-100; `--samples` is the same flag).
    #[arg(long, alias = "samples", value_name = "N", default_value_t = 5, value_parser = count(1, 100))]
    repeat: usize,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// A parser of a count within `lo..=hi`: a too-large number is an error, not a panic.
fn count(lo: u64, hi: u64) -> impl clap::builder::TypedValueParser<Value = usize> {
    use clap::builder::TypedValueParser as _;
    clap::value_parser!(u64)
        .range(lo..=hi)
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
}

/// The flags given that do not apply to the chosen source, by name.
fn inapplicable(args: &BenchArgs, matches: &Given) -> Vec<&'static str> {
    let mut bad = Vec::new();
    let gen_world = args.generate_world.is_some();
    if args.trace.is_some() && args.classbench.is_none() {
        bad.push("--trace (only with --classbench)");
    }
    if args.to.is_some() && args.world.is_none() {
        bad.push("--to (only with --world)");
    }
    if matches.seed && args.classbench.is_some() && args.trace.is_some() {
        bad.push("--seed (a trace is timed as it is)");
    }
    if args.write.is_some() {
        for (given, name) in [
            (matches.packets, "--packets (not with --write)"),
            (matches.threads, "--threads (not with --write)"),
            (matches.verify, "--verify (not with --write)"),
            (matches.repeat, "--repeat (not with --write)"),
            (args.json, "--json (not with --write)"),
        ] {
            if given {
                bad.push(name);
            }
        }
    }
    if !gen_world {
        for (given, name) in [
            (
                args.instances.is_some(),
                "--instances (only with --generate-world)",
            ),
            (
                matches.steps,
                "--steps (only with --generate-world scenario)",
            ),
            (
                matches.batch_lines,
                "--batch-lines (only with --generate-world)",
            ),
            (args.write.is_some(), "--write (only with --generate-world)"),
        ] {
            if given {
                bad.push(name);
            }
        }
    }
    bad
}

/// Which flags with defaults were given on the command line.
#[derive(Debug, Default, Clone, Copy)]
pub struct Given {
    /// `--seed`
    pub seed: bool,
    /// `--packets`
    pub packets: bool,
    /// `--threads`
    pub threads: bool,
    /// `--verify`
    pub verify: bool,
    /// `--repeat` or its alias `--samples`
    pub repeat: bool,
    /// `--steps`
    pub steps: bool,
    /// `--batch-lines`
    pub batch_lines: bool,
}

impl Given {
    /// Reads the flags given from the raw command line (clap's defaults hide them).
    pub fn from_args() -> Given {
        let args: Vec<String> = std::env::args().collect();
        let has = |f: &str| {
            args.iter()
                .any(|a| a == f || a.starts_with(&format!("{f}=")))
        };
        Given {
            seed: has("--seed"),
            packets: has("--packets"),
            threads: has("--threads"),
            verify: has("--verify"),
            repeat: has("--repeat") || has("--samples"),
            steps: has("--steps"),
            batch_lines: has("--batch-lines"),
        }
    }
}

/// Runs `sgsim bench`; returns the exit status.
pub fn run(args: &BenchArgs) -> i32 {
    let bad = inapplicable(args, &Given::from_args());
    if !bad.is_empty() {
        super::error(format!(
            "flags that do not apply here: {} (see --help)",
            bad.join(", ")
        ));
        return 2;
    }
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

/// Writes a generated world and its batch file, or the generated scenario, into `dir`
/// (created when missing). Every file is first written beside its target under a
/// temporary name, and only when all are written are they renamed into place: a failed
/// write leaves no file changed.
fn write_generated(args: &BenchArgs, shape: &str, dir: &Path) -> i32 {
    let files: Result<Vec<(String, String)>, String> = match Shape::parse(shape) {
        Some(s) => {
            let n = args.instances.unwrap_or(10_000);
            let world = generate_world::world(s, n, args.seed);
            sgsim::world_file::to_string(&world, sgsim::world_file::Format::Toml).map(|text| {
                let mut lines =
                    generate_world::batch_lines(n, args.batch_lines, args.seed).join("\n");
                lines.push('\n');
                vec![
                    (format!("{}.toml", s.name()), text),
                    (format!("{}.batch", s.name()), lines),
                ]
            })
        }
        None => {
            let n = args.instances.unwrap_or(1500);
            generate_world::scenario_text(n, args.steps, args.seed)
                .map(|text| vec![("scenario.toml".to_string(), text)])
        }
    };
    match files.and_then(|files| write_all(dir, &files)) {
        Ok(()) => 0,
        Err(e) => {
            super::error(e);
            2
        }
    }
}

/// Writes `files` (name, text) into `dir` all or nothing (see [`write_generated`]).
fn write_all(dir: &Path, files: &[(String, String)]) -> Result<(), String> {
    let reason = |path: &Path, what: &str, e: &std::io::Error| {
        format!(
            "{}: cannot {what}: {}",
            path.display(),
            sgsim::world_file::io_reason(e)
        )
    };
    let created = !dir.is_dir();
    if created {
        std::fs::create_dir_all(dir).map_err(|e| reason(dir, "create the folder", &e))?;
    }
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    // On a failure: the temporary files removed, and the folder when this call made it
    // (only its last level, and only when empty).
    let unstage = |staged: &[(PathBuf, PathBuf)]| {
        for (tmp, _) in staged {
            let _ = std::fs::remove_file(tmp);
        }
        if created {
            let _ = std::fs::remove_dir(dir);
        }
    };
    for (name, text) in files {
        let path = dir.join(name);
        let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        if let Err(e) = std::fs::write(&tmp, text) {
            let _ = std::fs::remove_file(&tmp);
            unstage(&staged);
            return Err(reason(&path, "write", &e));
        }
        staged.push((tmp, path));
    }
    for (i, (tmp, path)) in staged.iter().enumerate() {
        if let Err(e) = std::fs::rename(tmp, path) {
            unstage(staged.get(i..).unwrap_or_default());
            return Err(reason(path, "write", &e));
        }
    }
    Ok(())
}
